# shellcheck shell=bash
# shellcheck disable=SC2016,SC2034
#
# tests/lib/e2e.bash - end-to-end helpers on top of tests/lib/container.bash,
# for tests/journal.bats, systemd.bats, slowloris.bats, scaleout.bats (and
# tests/lib/scaleout.bash): one throwaway systemd
# container per .bats file, vlsink installed into it, streams of several
# simulated vehicles sent from inside its network namespace, and the
# journal (or the collector's file) checked record by record.
#
# Load after lib/container:
#   load lib/container
#   load lib/e2e
#   setup_file()    { e2e_setup_file; ...; }
#   setup()         { e2e_setup; }
#   teardown_file() { e2e_teardown_file; }
#
# Streams come from tests/lib/e2e_client.py (copied into the container as
# $E2E_CLIENT; see its docstring): record k of a generated stream carries
# the fix time 2026-11-25T00:00:00Z + k seconds, so `check` can tell exactly
# which records arrived, which are missing and which came twice.
#
# Vehicle ids: every test uses ids of its own (e2e_vid NAME), so that tests
# sharing one container and one journal never count each other's records.

E2E_TOP=$(cd "${BASH_SOURCE[0]%/*}/../.." && pwd)
# Inside the container (written by e2e_setup_file).
E2E_CLIENT=/usr/local/libexec/vlsink-e2e/e2e_client.py
E2E_TMP=/tmp/e2e
# Sanitizer builds run several times slower (see lib/common.bash).
if [[ ${VLSINK_SANITIZED:-0} == 1 ]]; then E2E_SCALE=3; else E2E_SCALE=1; fi

_e2e_err() { printf 'e2e: %s\n' "$*" >&2; }

# e2e_setup_file: boots the container (or records why it cannot) and copies
# the client in. Call first thing in setup_file; set CT_PREBOOT before.
e2e_setup_file() {
	if ! CT_SKIP_REASON=$(ct_can_run); then
		export CT_SKIP_REASON
		return 0
	fi
	export CT_SKIP_REASON=''
	ct_start || return 1
	echo "# container: $CT_RELEASE_NAME, systemd $CT_SYSTEMD_VERSION, booted in $CT_BOOT_MS ms" >&3
	if ! ct_copy_in "$E2E_TOP/tests/lib/e2e_client.py" "$E2E_CLIENT" ||
		! ct_exec mkdir -p "$E2E_TMP"; then
		ct_stop
		return 1
	fi
}

e2e_setup() {
	[ -z "${CT_SKIP_REASON:-}" ] || skip "$CT_SKIP_REASON"
}

e2e_teardown_file() {
	ct_stop
}

# e2e_vid NAME: a vehicle id unique to this test (ids allow A-Z a-z 0-9 . _ - : @)
e2e_vid() {
	printf 't%s-%s\n' "$BATS_TEST_NUMBER" "$1"
}

# e2e_client ARGS...: runs the client inside the container.
e2e_client() {
	ct_exec python3 "$E2E_CLIENT" "$@"
}

# e2e_gen FORMAT VEHICLE COUNT SEQ0 DEST: writes a generated stream to DEST
# inside the container.
e2e_gen() {
	ct_sh 'python3 "$1" gen "$2" "$3" "$4" --seq0 "$5" >"$6"' "$E2E_CLIENT" "$@"
}

# e2e_bg NAME 'SCRIPT' [UNIT-PROPERTY...]: runs SCRIPT (sh) inside the
# container as the transient unit e2e-NAME.service, in the background.
# Its stdout/stderr go to $E2E_TMP/NAME.out/.err and its exit status to
# $E2E_TMP/NAME.rc when it ends. A unit of its own means: a process that
# outlives a failed test ends with the container, its own journald rate-limit
# bucket (set out of reach here: LogRateLimitIntervalSec=0 would mean
# "the default"), and no host process to clean up.
e2e_bg() {
	local name=$1 script=$2
	shift 2
	local -a props=()
	local p
	for p in "$@"; do props+=(-p "$p"); done
	ct_exec rm -f "$E2E_TMP/$name.rc" "$E2E_TMP/$name.out" "$E2E_TMP/$name.err"
	ct_exec systemd-run --quiet --collect --unit="e2e-$name" \
		-p LogRateLimitIntervalSec=1s -p LogRateLimitBurst=1000000 \
		-p StandardOutput="file:$E2E_TMP/$name.out" -p StandardError="file:$E2E_TMP/$name.err" \
		"${props[@]}" \
		/bin/sh -c "$script"'
		echo $? >'"$E2E_TMP/$name.rc"
}

# e2e_bg_done NAME: true once the background script has ended.
e2e_bg_done() {
	ct_exec test -s "$E2E_TMP/$1.rc"
}

# e2e_bg_wait NAME SECS: waits for the end of e2e_bg NAME; sets E2E_RC to
# its exit status (fails when it is still running after SECS).
e2e_bg_wait() {
	if ! ct_wait_until "$(($2 * E2E_SCALE))" e2e_bg_done "$1"; then
		_e2e_err "background job $1 still running after $2 s"
		e2e_bg_show "$1"
		return 1
	fi
	E2E_RC=$(ct_exec cat "$E2E_TMP/$1.rc")
}

# e2e_bg_show NAME: its stdout and stderr (for failure messages)
e2e_bg_show() {
	ct_sh 'for f in "$1.out" "$1.err"; do [ -s "$f" ] && { echo "--- ${f##*/}"; head -c 4000 "$f"; }; done; true' \
		"$E2E_TMP/$1" >&2
}

# e2e_journal [JOURNALCTL-ARGS...]: vlsink's journal entries as JSON lines.
e2e_journal() {
	ct_exec journalctl --no-pager -q -o json -t vlsink "$@"
}

# e2e_record_count VEHICLE: records of VEHICLE, any format.
e2e_record_count() {
	ct_sh 'journalctl --no-pager -q -o json -t vlsink VEHICLE_ID="$1" 2>/dev/null |
		jq -c "select(.SOURCE_FORMAT)" | wc -l' "$1"
}

_e2e_at_least() { # N VEHICLE
	(($(e2e_record_count "$2") >= $1))
}

# e2e_wait_records SECS N VEHICLE: waits until the journal holds at least N
# records of VEHICLE (journald stores entries asynchronously).
e2e_wait_records() {
	ct_wait_until "$(($1 * E2E_SCALE))" _e2e_at_least "$2" "$3"
}

# e2e_check_journal [JOURNALCTL-MATCHES...] -- CHECK-ARGS...: pipes vlsink's
# journal entries through `e2e_client.py check --journal CHECK-ARGS`;
# the report is on stdout, the status says whether every record is there
# exactly once.
e2e_check_journal() {
	local -a matches=()
	while (($#)) && [[ $1 != -- ]]; do
		matches+=("$1")
		shift
	done
	[[ ${1:-} == -- ]] && shift
	ct_sh 'n=$1; shift; client=$1; shift
		journalctl --no-pager -q -o json -t vlsink "${@:1:n}" | python3 "$client" check --journal "${@:n+1}"' \
		"${#matches[@]}" "$E2E_CLIENT" "${matches[@]}" "$@"
}

_e2e_checked() { # same arguments as e2e_check_journal
	e2e_check_journal "$@" >/dev/null
}

# e2e_wait_check SECS [JOURNALCTL-MATCHES...] -- CHECK-ARGS...: waits until
# the journal check passes, then prints the report (also when it never
# passes) and returns its status.
e2e_wait_check() {
	local secs=$1
	shift
	ct_wait_until "$((secs * E2E_SCALE))" _e2e_checked "$@"
	e2e_check_journal "$@"
}

# e2e_install: `make install DESTDIR=<container root> PREFIX=/usr/local`,
# then the sysusers.d user and daemon-reload inside the container
# (ct_install). The build happens on the host, in the repository, as for any
# install; nothing is written to the host outside build/.
e2e_install() {
	ct_install "$E2E_TOP" "$BATS_FILE_TMPDIR/install.log"
}

# e2e_setup_file_installed [HOOK]: setup_file of the suites that test what
# `make install` installs (systemd.bats, slowloris.bats, scaleout.bats).
# Skipped in the sanitizer pass: the container runs the normal build, and
# the instances' MemoryMax= and sandbox do not fit an ASan binary
# (tests/journal.bats covers the sanitized binary against journald).
# Otherwise boots the container (e2e_setup_file), installs the build
# (e2e_install), enables vlsink.socket and runs HOOK, the suite's own setup
# (called in an || list: set -e is off, HOOK checks its steps with
# `|| return 1`). On any failure the container is stopped.
e2e_setup_file_installed() {
	if [[ ${VLSINK_SANITIZED:-0} == 1 ]]; then
		export CT_SKIP_REASON="installs and tests the normal build (make install); not repeated in the sanitizer pass"
		return 0
	fi
	e2e_setup_file || return 1
	[ -n "$CT_SKIP_REASON" ] && return 0
	{
		e2e_install &&
			ct_exec systemctl enable --now vlsink.socket &&
			"${1:-true}"
	} || {
		ct_stop
		return 1
	}
}

# e2e_stop_bg: stops every e2e_bg unit still running (for teardown).
e2e_stop_bg() {
	ct_exec sh -c 'systemctl stop "e2e-*" 2>/dev/null; true'
}

# e2e_journald_up: starts journald again if a test stopped it (its socket
# file gone or the service inactive), for the tests after it (teardown).
e2e_journald_up() {
	if ! ct_exec test -S /run/systemd/journal/socket ||
		! ct_exec systemctl is-active --quiet systemd-journald.service; then
		ct_exec systemctl start systemd-journald.socket systemd-journald-dev-log.socket \
			systemd-journald.service || true
	fi
}

# e2e_journald_restart_check NAME VEHICLE SINK: 5000 CSV records of VEHICLE
# through SINK (a command reading them on stdin: vlsink itself, or the
# socat to vlsink.socket) in the background; the first 1000
# go at once, the other 4000 (paced over ~2 s) only once 500 are stored
# and a journald restart has been queued; all 5000 must arrive exactly once.
# The gate, not the machine's speed, puts the restart in the middle of the
# stream (systemd 257 restarts journald more slowly than 252).
e2e_journald_restart_check() {
	local name=$1 v=$2 sink=$3 pid0 pid1 go=$E2E_TMP/$1.go
	ct_exec rm -f "$go"
	pid0=$(ct_exec systemctl show -P MainPID systemd-journald.service)
	e2e_bg "$name" "{ python3 $E2E_CLIENT gen csv $v 1000
		while [ ! -e $go ]; do sleep 0.05; done
		python3 $E2E_CLIENT gen csv $v 4000 --seq0 1000 --pace 100:0.05 | tail -n +2; } | $sink"
	e2e_wait_records 20 500 "$v" || { e2e_bg_show "$name"; fail "stream did not start"; }
	ct_exec systemctl restart --no-block systemd-journald.service
	ct_exec touch "$go"
	_e2e_restarted() {
		local p
		p=$(ct_exec systemctl show -P MainPID systemd-journald.service)
		[[ $p != 0 && $p != "$pid0" ]]
	}
	ct_wait_until 30 _e2e_restarted || fail "journald was not restarted"
	pid1=$(ct_exec systemctl show -P MainPID systemd-journald.service)
	e2e_bg_wait "$name" 60
	e2e_bg_show "$name"
	assert_equal "$E2E_RC" 0
	echo "journald $pid0 -> $pid1"
	run e2e_wait_check 20 VEHICLE_ID="$v" -- --expect "$v:0:5000"
	echo "$output"
	assert_success
}
