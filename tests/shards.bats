#!/usr/bin/env bats
# shellcheck disable=SC2016
#
# vlsink.socket split over 4 listening sockets on port 10110 (make install
# SHARDS=4, scripts/gen-units.sh --shards) under a real systemd
# (tests/lib/container.bash: a throwaway systemd in systemd-nspawn over an
# overlay of /, never the machine's own): the kernel spreads connections
# over vlsink.socket, vlsink-s2.socket, vlsink-s3.socket and
# vlsink-s4.socket (ReusePort=yes); each starts its own template, whose
# instances land in their own slice; the administrator's drop-ins of
# vlsink@.service reach every shard; and every record is read back with the
# README's recipe (journalctl -t vlsink _UID=...) and with vlsink-export.
#
# Runs once, against the normal build; the sanitizer pass skips it (as
# tests/systemd.bats).

load 'lib/common'
load 'lib/container'
load 'lib/e2e'

SOCKETS=(vlsink.socket vlsink-s2.socket vlsink-s3.socket vlsink-s4.socket)
TEMPLATES=(vlsink vlsink-s2 vlsink-s3 vlsink-s4)
DROPINS=/etc/systemd/system/vlsink@.service.d
EXAMPLES=/usr/local/share/doc/vlsink/units/vlsink@.service.d

setup_file() {
	export SHARDS=4
	e2e_setup_file_installed
}

setup() {
	e2e_setup
}

teardown() {
	[ -n "${CT_SKIP_REASON:-}" ] && return 0
	e2e_stop_bg
	if ct_exec sh -c 'ls /etc/systemd/system/vlsink@.service.d/*.conf' >/dev/null 2>&1; then
		ct_exec sh -c 'rm -f /etc/systemd/system/vlsink@.service.d/*.conf'
		ct_exec systemctl daemon-reload
	fi
}

teardown_file() {
	e2e_teardown_file
}

# accepted: "SOCKET NACCEPTED" per shard
accepted() {
	local u
	for u in "${SOCKETS[@]}"; do
		echo "$u $(ct_exec systemctl show -P NAccepted "$u")"
	done
}

# spread BEFORE AFTER N: every shard accepted some of the N connections
# made between the two accepted outputs, and they add up to N.
spread() {
	awk -v n="$3" 'NR == FNR { a[$1] = $2; next }
		{ d = $2 - a[$1]; s += d; printf "%s %d\n", $1, d; if (d <= 0) bad = 1 }
		END { if (s != n) { printf "sum %d, expected %d\n", s, n; bad = 1 } exit bad }' \
		<(echo "$1") <(echo "$2")
}

# records_by_recipe PREFIX: the README's recipe, every record of vehicles
# PREFIX*, as journal JSON (SOURCE_FORMAT marks a record)
records_by_recipe() {
	ct_sh 'journalctl --no-pager -q -t vlsink _UID="$(id -u vlsink-conn)" -o json |
		jq -c --arg p "$1" "select(.SOURCE_FORMAT and (.VEHICLE_ID | startswith(\$p)))"' "$1"
}

# gen_files TAG N [HEADER-FORMAT]: N one-record CSV streams of vehicles
# TAG-0 .. TAG-(N-1) in $E2E_TMP/TAG.I.csv, each preceded by
# printf HEADER-FORMAT I (a PROXY header) when given; sets FILES
gen_files() {
	local tag=$1 n=$2 hdr=${3:-} i
	FILES=()
	for ((i = 0; i < n; i++)); do
		FILES+=("$E2E_TMP/$tag.$i.csv")
	done
	ct_sh 'c=$1 tag=$2 n=$3 hdr=$4 dir=$5
		i=0
		while [ "$i" -lt "$n" ]; do
			{ [ -z "$hdr" ] || printf "$hdr" "$i" "$i"; python3 "$c" gen csv "$tag-$i" 1; } >"$dir/$tag.$i.csv" || exit 1
			i=$((i + 1))
		done' "$E2E_CLIENT" "$tag" "$n" "$hdr" "$E2E_TMP"
}

@test "make install SHARDS=4: four sockets on port 10110, each its own template; vlsink.socket's totals divided; restart and stop go to all" {
	local u
	run ct_sh 'ss -Hltn "sport = :10110" | wc -l'
	assert_output 4
	for u in "${SOCKETS[@]}"; do
		assert_equal "$(ct_exec systemctl is-active "$u")" active
		assert_equal "$(ct_exec systemctl show -P ReusePort "$u")" yes
		assert_equal "$(ct_exec systemctl show -P MaxConnections "$u")" 3072
		assert_equal "$(ct_exec systemctl show -P MaxConnectionsPerSource "$u")" 64
		# every other limit as vlsink.socket's
		for prop in Backlog KeepAlive KeepAliveTimeUSec TriggerLimitBurst TriggerLimitIntervalUSec Accept; do
			assert_equal "$(ct_exec systemctl show -P "$prop" "$u")" "$(ct_exec systemctl show -P "$prop" vlsink.socket)"
		done
	done
	# systemd-analyze verify, with the man page of Documentation=: silent
	for u in s2 s3 s4; do
		run ct_exec systemd-analyze verify "/usr/local/lib/systemd/system/vlsink-$u.socket" \
			"/usr/local/lib/systemd/system/vlsink-$u@.service"
		[ "$status" -eq 0 ] && [ -z "$output" ] || fail "verify vlsink-$u: $output"
	done
	# Stopping vlsink.socket stops every shard (PartOf=); starting it
	# starts them (Wants= in vlsink.socket.d/10-shards.conf).
	ct_exec systemctl stop vlsink.socket
	for u in "${SOCKETS[@]}"; do
		assert_equal "$(ct_exec systemctl is-active "$u")" inactive
	done
	ct_exec systemctl start vlsink.socket
	for u in "${SOCKETS[@]}"; do
		assert_equal "$(ct_exec systemctl is-active "$u")" active
	done
	# PID 1 said nothing about the units (a dependency on itself, a bad line)
	run ct_sh 'journalctl -q --no-pager _PID=1 -p warning | grep -i "vlsink" || true'
	assert_output ''
}

@test "400 connections spread over all 4 shards, each shard's instances in its own slice; every record read back by the README's recipe and by vlsink-export" {
	local before after prefix t u unit
	prefix=$(e2e_vid spread)
	# 40 connections held open meanwhile, to see the instances of each shard
	e2e_bg hold 'exec python3 -c "
import socket, time
s = [socket.create_connection((\"127.0.0.1\", 10110)) for _ in range(40)]
time.sleep(120)"'
	_held() { (($(ct_exec systemctl list-units --plain --no-legend --state=running 'vlsink*@*' | wc -l) >= 40)); }
	ct_wait_until $((30 * E2E_SCALE)) _held || fail "40 instances did not start: $(ct_exec systemctl list-units --all 'vlsink*@*' | tail -n 3)"
	for t in "${TEMPLATES[@]}"; do
		unit=$(ct_exec systemctl list-units --plain --no-legend --state=running "$t@*" | awk 'NR == 1 { print $1 }')
		[[ -n $unit ]] || fail "no running instance of $t@ among 40"
		assert_equal "$(ct_exec systemctl show -P Slice "$unit")" "system-${t//-/\\x2d}.slice"
		assert_equal "$(ct_exec stat -c %U "/proc/$(ct_exec systemctl show -P MainPID "$unit")")" vlsink-conn
	done
	ct_exec systemctl stop e2e-hold.service

	before=$(accepted)
	run e2e_client storm --count 400 --sources 8 --prefix "$prefix" --timeout 180
	assert_success
	assert_equal "${lines[-1]%% connect_seconds*}" "connected 400 sent 400 closed 400"
	after=$(accepted)
	run spread "$before" "$after" 400
	echo "# per shard: $(echo "$output" | paste -sd ' ')" >&3
	assert_success

	# The README's recipe (_UID covers every shard): every record once.
	_all_there() { (($(records_by_recipe "$prefix-" | wc -l) >= 400)); }
	ct_wait_until $((60 * E2E_SCALE)) _all_there || fail "$(records_by_recipe "$prefix-" | wc -l) of 400 records by the recipe"
	run ct_sh 'journalctl --no-pager -q -t vlsink _UID="$(id -u vlsink-conn)" -o json | python3 "$1" check --journal --storm "$2:400"' \
		"$E2E_CLIENT" "$prefix"
	assert_success
	# ... and those journald attributed to a unit came from the four templates
	# (the spread above says every shard served some)
	run ct_sh 'journalctl --no-pager -q -t vlsink _UID="$(id -u vlsink-conn)" -o json |
		jq -r --arg p "$1-" "select(.SOURCE_FORMAT and (.VEHICLE_ID | startswith(\$p))) | ._SYSTEMD_UNIT // empty" |
		sed "s/@.*//" | sort -u | grep -vx "vlsink\|vlsink-s[234]" || true' "$prefix"
	assert_output ""
	# vlsink-export (trusting units, the default): each vehicle once
	run ct_sh '/usr/local/bin/vlsink-export --output-format=csv | grep -c "^$1-"' "$prefix"
	assert_output 400
	run ct_sh '/usr/local/bin/vlsink-export --output-format=csv | grep "^$1-" | cut -d, -f1 | sort | uniq -d' "$prefix"
	assert_output ''
}

@test "the administrator's drop-ins of vlsink@.service reach every shard, not the collector: --devices on each one" {
	local before after ok bad u
	ok=$(e2e_vid known) bad=$(e2e_vid unknown)
	ct_exec sh -c "mkdir -p /etc/vlsink && seq 0 39 | sed 's/^/$ok-/' >/etc/vlsink/devices"
	ct_exec cp "$EXAMPLES/devices.conf" "$DROPINS/devices.conf"
	ct_exec systemctl daemon-reload
	for u in "${TEMPLATES[@]}"; do
		run ct_exec systemctl show -P ExecStart "$u@probe.service"
		[[ $output == *"--devices=/etc/vlsink/devices"* ]] || fail "$u@: $output"
		run ct_exec systemctl show -P DropInPaths "$u@probe.service"
		[[ $output == *"vlsink@.service.d/devices.conf"* || $output == *"$u@.service.d/devices.conf"* ]] || fail "$u@: $output"
	done
	run ct_exec systemctl show -P DropInPaths vlsink-collect.service vlsink-h02@probe.service
	refute_output --partial devices.conf

	gen_files "$ok" 40
	run e2e_client send "${FILES[@]}"
	# the unknown devices alone: every shard turns some away
	gen_files "$bad" 40
	before=$(accepted)
	run e2e_client send "${FILES[@]}"
	after=$(accepted)
	run spread "$before" "$after" 40
	echo "# unknown devices per shard: $(echo "$output" | paste -sd ' ')" >&3
	assert_success
	_known_there() { (($(records_by_recipe "$ok-" | wc -l) >= 40)); }
	ct_wait_until $((30 * E2E_SCALE)) _known_there || fail "$(records_by_recipe "$ok-" | wc -l) of 40 known devices' records"
	run records_by_recipe "$bad-"
	assert_output ''
}

@test "the PROXY drop-in reaches every shard: the balancer's header names the vehicle on each one" {
	local tag before after u
	tag=$(e2e_vid proxied)
	# nginx sends version 1: the drop-in's documented change
	ct_sh 'sed "s/--proxy-protocol=v2/--proxy-protocol=v1/" "$1/proxy.conf" >"$2/proxy.conf"' "$EXAMPLES" "$DROPINS"
	ct_exec systemctl daemon-reload
	for u in "${TEMPLATES[@]}"; do
		run ct_exec systemctl show -P ExecStart "$u@probe.service"
		[[ $output == *"--proxy-protocol=v1"* ]] || fail "$u@: $output"
	done
	gen_files "$tag" 60 'PROXY TCP4 198.51.100.%d 127.0.0.1 400%02d 10110\r\n'
	before=$(accepted)
	run e2e_client send "${FILES[@]}"
	assert_success
	after=$(accepted)
	run spread "$before" "$after" 60
	assert_success
	_proxied_there() { (($(records_by_recipe "$tag-" | wc -l) >= 60)); }
	ct_wait_until $((30 * E2E_SCALE)) _proxied_there || fail "$(records_by_recipe "$tag-" | wc -l) of 60 records"
	# every record's peer is the address its header named, on every shard
	run ct_sh 'journalctl --no-pager -q -t vlsink _UID="$(id -u vlsink-conn)" -o json |
		jq -r --arg p "$1-" "select(.SOURCE_FORMAT and (.VEHICLE_ID | startswith(\$p)))
			| select(.REMOTE_ADDR != (\"198.51.100.\" + (.VEHICLE_ID | ltrimstr(\$p)))) | .VEHICLE_ID"' "$tag"
	assert_output ''
	run ct_sh 'journalctl --no-pager -q -t vlsink _UID="$(id -u vlsink-conn)" -o json |
		jq -r --arg p "$1-" "select(.SOURCE_FORMAT and (.VEHICLE_ID | startswith(\$p))) | ._SYSTEMD_UNIT // empty" |
		sed "s/@.*//" | sort -u | grep -vx "vlsink\|vlsink-s[234]" || true' "$tag"
	assert_output ""
}

@test "the package's way: the installed gen-units writes the shards into /etc/systemd/system; they listen and share the load, PID 1 warns of nothing" {
	local before after prefix u t0
	prefix=$(e2e_vid etc)
	# a packaged host has no shards beside its units: take make install's away
	ct_exec sh -c 'rm -rf /usr/local/lib/systemd/system/vlsink-s[0-9]* /usr/local/lib/systemd/system/vlsink.socket.d'
	run ct_exec /usr/local/libexec/vlsink/gen-units --from=/usr/local/lib/systemd/system --shards=4 \
		--etc=/etc/systemd/system /etc/systemd/system
	assert_success
	t0=$(ct_exec date +%s.%N)
	ct_exec systemctl daemon-reload
	ct_exec systemctl restart vlsink.socket
	run ct_sh 'ss -Hltn "sport = :10110" | wc -l'
	assert_output 4
	for u in "${SOCKETS[@]}"; do
		assert_equal "$(ct_exec systemctl is-active "$u")" active
		assert_equal "$(ct_exec systemctl show -P MaxConnections "$u")" 3072
		[[ $(ct_exec systemctl show -P FragmentPath "$u") == /etc/systemd/system/* || $u == vlsink.socket ]] ||
			fail "$u from $(ct_exec systemctl show -P FragmentPath "$u")"
	done
	before=$(accepted)
	run e2e_client storm --count 200 --sources 4 --prefix "$prefix" --timeout 120
	assert_success
	after=$(accepted)
	run spread "$before" "$after" 200
	assert_success
	run e2e_wait_check 60 _UID="$(ct_exec id -u vlsink-conn)" -- --storm "$prefix:200"
	assert_success
	# vlsink.socket.d is every shard's here: Wants= on itself is dropped silently
	run ct_sh 'journalctl -q --no-pager --since="@$1" _PID=1 -p warning | grep -i vlsink || true' "$t0"
	assert_output ''
}
