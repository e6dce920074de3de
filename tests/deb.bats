#!/usr/bin/env bats
# shellcheck disable=SC2016
#
# The Debian package through its life under a real systemd: built twice from
# this tree (scripts/build-deb.sh: the tree's version, then the same with
# +test1 as the upgrade), then installed with apt-get, used, upgraded while a
# connection is open, removed and purged in a throwaway container
# (tests/lib/container.bash: its dpkg database and every file apt writes live
# in the container's tmpfs, never on this machine).
#
# The tests run in file order on one container, each starting from where the
# one before left the package. Runs once: the package holds the normal build,
# so the sanitizer pass of `make check` skips this file.

load 'lib/common'
load 'lib/container'
load 'lib/e2e'

DEBS=/root/debs

setup_file() {
	if [[ ${VLSINK_SANITIZED:-0} == 1 ]]; then
		export CT_SKIP_REASON="tests the package, which holds the normal build; not repeated in the sanitizer pass"
		return 0
	fi
	V1=$(dpkg-parsechangelog -l "$TOP/debian/changelog" -S Version) || return 1
	export V1 V2=$V1+test1
	# make check names one directory for both of its passes (VLSINK_DEB_DIR,
	# emptied when it starts): the trixie pass installs the packages the
	# first pass built from the same tree.
	export OUT=${VLSINK_DEB_DIR:-$BATS_FILE_TMPDIR/deb}
	local arch
	arch=$(dpkg-architecture -qDEB_HOST_ARCH) || return 1
	export DEB1=$OUT/vlsink_${V1}_$arch.deb DEB2=$OUT/vlsink_${V2}_$arch.deb
	if [[ ! -f $DEB1 || ! -f $DEB2 ]]; then
		rm -rf "$OUT/1" "$OUT/2"
		"$TOP/scripts/build-deb.sh" "$OUT/1" >/dev/null || return 1
		"$TOP/scripts/build-deb.sh" "$OUT/2" "$V2" >/dev/null || return 1
		mv "$OUT/1/${DEB1##*/}" "$OUT/2/${DEB2##*/}" "$OUT/" || return 1
	fi
	e2e_setup_file || return 1
	[ -n "$CT_SKIP_REASON" ] && return 0
	{
		ct_copy_in "$DEB1" "$DEBS/${DEB1##*/}" &&
			ct_copy_in "$DEB2" "$DEBS/${DEB2##*/}" &&
			# man-db's trigger would rebuild the index on every install
			# (seconds each); without this file it does nothing.
			ct_exec rm -f /var/lib/man-db/auto-update &&
			# A policy-rc.d that forbids starting services (this machine
			# has one, as Docker images do) would keep the maintainer
			# scripts from doing what they do on a Debian system.
			ct_exec rm -f /usr/sbin/policy-rc.d
	} || {
		ct_stop
		return 1
	}
}

setup() {
	e2e_setup
	T=$BATS_TEST_TMPDIR
}

teardown() {
	[ -n "${CT_SKIP_REASON:-}" ] && return 0
	e2e_stop_bg
}

teardown_file() {
	e2e_teardown_file
}

# --- helpers -----------------------------------------------------------------

# apt ARGS...: apt-get inside the container, without questions or network.
apt() {
	ct_exec env DEBIAN_FRONTEND=noninteractive apt-get -y -q --no-install-recommends "$@"
}

# pkg_status: dpkg's status and version of vlsink in the container.
pkg_status() {
	ct_exec dpkg-query -W -f '${db:Status-Abbrev}${Version}\n' vlsink 2>/dev/null || true
}

# conn_open NAME: a TCP connection to vlsink.socket from inside the container
# that stays open until conn_close NAME; conn_send NAME FILE sends FILE's lines
# on it. socat reads a FIFO that a sleeping process holds open, so the
# connection sees no end of input between sends.
conn_open() {
	ct_exec mkfifo "$E2E_TMP/$1.fifo"
	e2e_bg "$1" "socat -u OPEN:$E2E_TMP/$1.fifo,rdonly TCP:127.0.0.1:10110"
	e2e_bg "$1-hold" "sleep 600 >$E2E_TMP/$1.fifo"
}

conn_send() {
	ct_sh 'cat "$1" >"$2"' "$2" "$E2E_TMP/$1.fifo"
}

# conn_close NAME: ends the input; socat closes and should exit 0.
conn_close() {
	ct_exec systemctl stop "e2e-$1-hold.service"
	e2e_bg_wait "$1" 20
	[ "$E2E_RC" -eq 0 ] || { e2e_bg_show "$1"; fail "socat $1 exited with $E2E_RC"; }
}

# recipe V SEQ0:COUNT: the README's recipe, `journalctl -u 'vlsink@*'
# VEHICLE_ID=V -o json`, holds exactly records SEQ0..SEQ0+COUNT-1 of V.
recipe() {
	ct_sh 'journalctl --no-pager -q -u "vlsink@*" VEHICLE_ID="$1" -o json |
		python3 "$2" check --journal --expect "$1:$3"' "$1" "$E2E_CLIENT" "$2"
}

_recipe_ok() { recipe "$@" >/dev/null; }

# wait_recipe SECS V SEQ0:COUNT: waits until `recipe` passes, prints its report.
wait_recipe() {
	ct_wait_until "$1" _recipe_ok "$2" "$3"
	recipe "$2" "$3"
}

# units_of V: the units (connections) V's records came from, one a line.
units_of() {
	ct_sh 'journalctl --no-pager -q -u "vlsink@*" VEHICLE_ID="$1" -o json |
		jq -r "select(.SOURCE_FORMAT) | ._SYSTEMD_UNIT" | sort -u' "$1"
}

listening() {
	ct_sh '[ -n "$(ss -Hltn "sport = :10110")" ]'
}

# sysusers_names: "u NAME" and "g NAME" of every user and group the
# installed sysusers.d file declares.
sysusers_names() {
	ct_exec awk '$1 == "u" || $1 == "g" { print $1, $2 }' /usr/lib/sysusers.d/vlsink.conf
}

# --- tests -------------------------------------------------------------------

@test "the package: lintian finds no error or warning, files where Debian puts them, one version" {
	run lintian --fail-on error,warning "$DEB1"
	echo "$output"
	assert_success
	run dpkg-deb -c "$DEB1"
	for f in ./usr/bin/vlsink ./usr/bin/vlsink-collect ./usr/bin/vlsink-export \
		./usr/share/man/man1/vlsink.1.gz ./usr/share/man/man1/vlsink-collect.1.gz \
		./usr/share/man/man1/vlsink-export.1.gz ./lib/systemd/system/vlsink.socket \
		./lib/systemd/system/vlsink@.service ./lib/systemd/system/vlsink-collect.socket \
		./lib/systemd/system/vlsink-collect.service ./usr/lib/sysusers.d/vlsink.conf \
		./usr/share/doc/vlsink/units/vlsink@.service.d/fifo.conf \
		./usr/share/doc/vlsink/examples/README.md ./usr/share/doc/vlsink/copyright \
		./lib/systemd/system/vlsink-h02.socket ./lib/systemd/system/vlsink-h02@.service \
		./lib/systemd/system/vlsink-gps103.socket ./lib/systemd/system/vlsink-gps103@.service \
		./lib/systemd/system/vlsink-gl200.socket ./lib/systemd/system/vlsink-gl200@.service \
		./lib/systemd/system/vlsink-osmand.socket ./lib/systemd/system/vlsink-osmand@.service; do
		[[ $output == *" $f"$'\n'* || $output == *" $f" ]] || fail "missing from the package: $f"
	done
	dpkg-deb -x "$DEB1" "$T/x"
	! grep -rl '@BINDIR@' "$T/x" || fail "@BINDIR@ left in the files above"
	grep -q '^ExecStart=/usr/bin/vlsink ' "$T/x/lib/systemd/system/vlsink@.service"
	grep -q '^ExecStart=/usr/bin/vlsink ' "$T/x/lib/systemd/system/vlsink-h02@.service"
	grep -q '^ExecStart=/usr/bin/vlsink-collect ' "$T/x/lib/systemd/system/vlsink-collect.service"
	# One version: the changelog's is the package's and the binary's.
	assert_equal "$(dpkg-deb -f "$DEB1" Version)" "$V1"
	assert_equal "$("$T/x/usr/bin/vlsink" --version | head -n 1)" "vlsink $V1"
	assert_equal "$(make -s -C "$TOP" -p -n all 2>/dev/null | sed -n 's/^VERSION := //p')" "$V1"
	# The man pages name it in their title line, by hand: they must agree.
	for page in "$TOP"/man/*.1; do
		grep -q "^\.TH .* \"vlsink $V1\"" "$page" || fail "${page##*/}: .TH does not say vlsink $V1"
	done
}

@test "apt-get install: users created, vlsink.socket enabled and listening, the collector's socket left off" {
	run apt install "$DEBS/${DEB1##*/}"
	echo "$output"
	assert_success
	assert_equal "$(pkg_status)" "ii $V1"
	run sysusers_names
	[ -n "$output" ] || fail "the sysusers.d file declares nobody"
	while read -r kind name; do
		if [ "$kind" = u ]; then
			ct_exec getent passwd "$name" >/dev/null || fail "user $name was not created"
		else
			ct_exec getent group "$name" >/dev/null || fail "group $name was not created"
		fi
	done <<<"$output"
	assert_equal "$(ct_exec systemctl is-enabled vlsink.socket)" enabled
	ct_exec systemctl is-active --quiet vlsink.socket
	listening || fail "nothing listens on 10110"
	assert_equal "$(ct_exec systemctl is-enabled vlsink-collect.socket)" disabled
	run ct_exec systemctl is-active vlsink-collect.socket vlsink-collect.service
	assert_output $'inactive\ninactive'
	# the tracker protocols' ports: installed, disabled, not listening
	run ct_exec systemctl is-enabled vlsink-h02.socket vlsink-gps103.socket vlsink-gl200.socket vlsink-osmand.socket
	assert_output $'disabled\ndisabled\ndisabled\ndisabled'
	run ct_exec systemctl is-active vlsink-h02.socket vlsink-gps103.socket vlsink-gl200.socket vlsink-osmand.socket
	assert_output $'inactive\ninactive\ninactive\ninactive'
	run ct_exec ss -Htln '( sport = :5013 or sport = :5001 or sport = :5004 or sport = :5055 )'
	assert_output ''
	assert_equal "$(ct_exec vlsink --version | head -n 1)" "vlsink $V1"
	assert_equal "$(ct_exec man -w vlsink-export)" /usr/share/man/man1/vlsink-export.1.gz
	ct_exec grep -q '/usr/bin/vlsink --sink=fifo:' /usr/share/doc/vlsink/units/vlsink@.service.d/fifo.conf
}

@test "three vehicles over TCP, read back with the README's journalctl recipe" {
	local fmt v
	for fmt in nmea tpv csv; do
		v=$(e2e_vid "$fmt")
		e2e_gen "$fmt" "$v" 25 0 "$E2E_TMP/$fmt.in"
		conn_open "$fmt"
		conn_send "$fmt" "$E2E_TMP/$fmt.in"
	done
	# Each connection is closed only once its records are in the journal:
	# journald names the unit from the sender's cgroup, which an exited
	# sender no longer has (see the README).
	for fmt in nmea tpv csv; do
		v=$(e2e_vid "$fmt")
		run wait_recipe 20 "$v" 0:25
		echo "$output"
		assert_success
		assert_equal "$(units_of "$v" | wc -l)" 1
		conn_close "$fmt"
	done
}

@test "upgrade with a connection open: the socket restarts, the connection lives on and its records keep arriving" {
	local v unit pid0 inv0 sock0
	v=$(e2e_vid up)
	e2e_gen nmea "$v" 20 0 "$E2E_TMP/up1.in"
	e2e_gen nmea "$v" 20 20 "$E2E_TMP/up2.in"
	conn_open up
	conn_send up "$E2E_TMP/up1.in"
	run wait_recipe 20 "$v" 0:20
	echo "$output"
	assert_success
	unit=$(units_of "$v")
	[[ $unit == vlsink@*.service && $unit != *$'\n'* ]] || fail "not one instance: $unit"
	pid0=$(ct_exec systemctl show -P MainPID "$unit")
	inv0=$(ct_exec systemctl show -P InvocationID "$unit")
	sock0=$(ct_exec systemctl show -P InvocationID vlsink.socket)

	run apt install "$DEBS/${DEB2##*/}"
	echo "$output"
	assert_success
	assert_equal "$(pkg_status)" "ii $V2"
	assert_equal "$(ct_exec vlsink --version | head -n 1)" "vlsink $V2"
	# The upgrade did restart the listening socket (so the survival below
	# is not for want of a restart) and left it enabled and listening.
	[ "$(ct_exec systemctl show -P InvocationID vlsink.socket)" != "$sock0" ] ||
		fail "vlsink.socket was not restarted by the upgrade"
	ct_exec systemctl is-active --quiet vlsink.socket
	assert_equal "$(ct_exec systemctl is-enabled vlsink.socket)" enabled
	listening || fail "nothing listens on 10110 after the upgrade"
	# The instance is the same process, still running the old binary.
	assert_equal "$(ct_exec systemctl show -P ActiveState "$unit")" active
	assert_equal "$(ct_exec systemctl show -P MainPID "$unit")" "$pid0"
	assert_equal "$(ct_exec systemctl show -P InvocationID "$unit")" "$inv0"
	assert_equal "$(ct_exec readlink "/proc/$pid0/exe")" "/usr/bin/vlsink (deleted)"

	conn_send up "$E2E_TMP/up2.in"
	run wait_recipe 20 "$v" 0:40
	echo "$output"
	assert_success
	assert_equal "$(units_of "$v")" "$unit"
	conn_close up

	# A new connection is served by the new package.
	v=$(e2e_vid new)
	e2e_gen csv "$v" 5 0 "$E2E_TMP/new.in"
	conn_open new
	conn_send new "$E2E_TMP/new.in"
	run wait_recipe 20 "$v" 0:5
	echo "$output"
	assert_success
	conn_close new
}

@test "the collector: off until enabled, then its FIFO survives an upgrade while the collector is restarted" {
	local v sock0 pid0
	ct_exec mkdir -p /etc/systemd/system/vlsink@.service.d
	ct_exec cp /usr/share/doc/vlsink/units/vlsink@.service.d/fifo.conf /etc/systemd/system/vlsink@.service.d/
	ct_exec systemctl daemon-reload
	ct_exec systemctl enable --now vlsink-collect.socket
	v=$(e2e_vid fifo)
	e2e_gen tpv "$v" 10 0 "$E2E_TMP/fifo.in"
	run e2e_client send --port 10110 "$E2E_TMP/fifo.in"
	assert_success
	_in_file() {
		ct_sh 'python3 "$1" check --expect "$2" </var/lib/vlsink/positions.jsonl' "$E2E_CLIENT" "$1" >/dev/null
	}
	ct_wait_until 20 _in_file "$v:0:10" || fail "the records did not reach /var/lib/vlsink/positions.jsonl"
	ct_exec systemctl is-active --quiet vlsink-collect.service
	sock0=$(ct_exec systemctl show -P InvocationID vlsink-collect.socket)
	pid0=$(ct_exec systemctl show -P MainPID vlsink-collect.service)

	# An upgrade (here a reinstall: the same maintainer scripts run).
	run apt install --reinstall "$DEBS/${DEB2##*/}"
	echo "$output"
	assert_success
	assert_equal "$(ct_exec systemctl show -P InvocationID vlsink-collect.socket)" "$sock0"
	assert_equal "$(ct_exec systemctl is-enabled vlsink-collect.socket)" enabled
	ct_exec test -p /run/vlsink/positions
	ct_exec systemctl is-active --quiet vlsink-collect.service
	[ "$(ct_exec systemctl show -P MainPID vlsink-collect.service)" != "$pid0" ] ||
		fail "the collector was not restarted by the upgrade"

	v=$(e2e_vid fifo2)
	e2e_gen csv "$v" 10 0 "$E2E_TMP/fifo2.in"
	run e2e_client send --port 10110 "$E2E_TMP/fifo2.in"
	assert_success
	ct_wait_until 20 _in_file "$v:0:10" || fail "records sent after the upgrade did not reach the file"

	# Back to the journal sink for the tests below; the collector stays on.
	ct_exec rm /etc/systemd/system/vlsink@.service.d/fifo.conf
	ct_exec rmdir /etc/systemd/system/vlsink@.service.d
	ct_exec systemctl daemon-reload
}

@test "apt-get remove: sockets stopped, open connections ended, port closed, binaries gone; state and users kept" {
	local v unit
	v=$(e2e_vid rm)
	e2e_gen nmea "$v" 10 0 "$E2E_TMP/rm.in"
	conn_open rm
	conn_send rm "$E2E_TMP/rm.in"
	run wait_recipe 20 "$v" 0:10
	assert_success
	unit=$(units_of "$v")

	run apt remove vlsink
	echo "$output"
	assert_success
	assert_equal "$(pkg_status)" "rc $V2"
	run ct_exec systemctl is-active vlsink.socket vlsink-collect.socket vlsink-collect.service "$unit"
	assert_output $'inactive\ninactive\ninactive\ninactive'
	# The open connection was ended by the removal: no connection to port
	# 10110 is established any more (socat -u, which only sends, has not
	# noticed yet).
	run ct_exec ss -Htn state established '( sport = :10110 )'
	assert_output ''
	! listening || fail "something still listens on 10110"
	run ct_exec bash -c 'exec 3<>/dev/tcp/127.0.0.1/10110'
	assert_failure
	for f in /usr/bin/vlsink /usr/bin/vlsink-collect /usr/bin/vlsink-export \
		/lib/systemd/system/vlsink.socket /lib/systemd/system/vlsink@.service \
		/usr/share/man/man1/vlsink.1.gz; do
		! ct_exec test -e "$f" || fail "$f is still there"
	done
	run ct_exec systemctl is-enabled vlsink.socket
	assert_failure
	# The FIFO's runtime directory goes with the package (left behind, it
	# would keep vlsink-collect.socket from starting after a reinstall).
	! ct_exec test -e /run/vlsink || fail "/run/vlsink is still there"
	# Kept until purge: the collector's file and the users.
	ct_exec test -s /var/lib/vlsink/positions.jsonl
	ct_exec getent passwd vlsink >/dev/null
}

@test "apt-get purge: the state directory and the units' enablement links go, the users stay" {
	ct_exec test -L /etc/systemd/system/sockets.target.wants/vlsink.socket ||
		fail "no enablement link left by the removal (expected until purge)"
	run apt purge vlsink
	echo "$output"
	assert_success
	[ -z "$(pkg_status)" ] || [[ $(pkg_status) == un* ]] || fail "still known to dpkg: $(pkg_status)"
	! ct_exec test -e /var/lib/vlsink || fail "/var/lib/vlsink is still there"
	run ct_exec find /etc/systemd/system -name 'vlsink*'
	assert_output ''
	# Debian leaves system users in place on purge.
	ct_exec getent passwd vlsink >/dev/null
}
