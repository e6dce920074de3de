#!/usr/bin/env bats
# shellcheck disable=SC2016
#
# Slowloris and idle connections.  vlsink ends a connection that completes
# no line for --idle-timeout seconds (default 300 on sockets; bytes that
# never make a line do not count), so idle or trickling connections cannot
# hold systemd's MaxConnections for long; vlsink.socket's
# MaxConnectionsPerSource keeps one source from taking every slot even
# meanwhile.  The single-connection behaviour of the timeout is in
# process.bats; here: the default, and a flood of idle connections against
# the installed units under a real systemd (a throwaway container, as in
# systemd.bats), with the limits lowered by drop-ins so that a flood of 40
# connections is enough:
#
#   vlsink.socket.d:    MaxConnections=40, MaxConnectionsPerSource=20
#   vlsink@.service.d:  ExecStart=vlsink --sink=journal --idle-timeout=3
#
# The flood comes from 127.0.0.2, the other vehicles from 127.0.0.3 (all of
# 127/8 is local on the container's loopback).
#
# A slow machine makes these tests wait longer, never fail: every wait is for
# an event, bounded by a time scaled by the load (loaded); the tests that are
# about the idle timeout scale the timeout itself when the test starts, and
# the one about the per-source ratio does without it (the floods hold their
# slots until stopped).

load 'lib/common'
load 'lib/container'
load 'lib/e2e'

SOCKET_DROPIN=/etc/systemd/system/vlsink.socket.d/slowloris.conf
SERVICE_DROPIN=/etc/systemd/system/vlsink@.service.d/slowloris.conf

# The flood and the well-behaved vehicles are tests/lib/e2e_client.py's
# `flood` and `burst` (inside the container; see its docstring).

setup_file() {
	e2e_setup_file_installed
}

setup() {
	common_setup
}

teardown() {
	common_teardown
	[ -n "${CT_SKIP_REASON:-}" ] && return 0
	[ -n "${CT_LEADER:-}" ] || return 0
	e2e_stop_bg
}

teardown_file() {
	e2e_teardown_file
}

# loaded SECS: SECS times the machine's load per CPU (at least 1, at most
# 20), so that a bound on a wait grows with the machine's slowness.
loaded() {
	local l n
	read -r l _ </proc/loadavg
	n=$(nproc)
	awk -v s="$1" -v l="$l" -v n="$n" 'BEGIN { f = l / n; f = f < 1 ? 1 : f > 20 ? 20 : f; printf "%d\n", s * f + 0.999 }'
}

# wait_for SECS CMD...: ct_wait_until, its bound scaled by the load and by
# the sanitized build's slowness.
wait_for() {
	local secs=$1
	shift
	ct_wait_until "$(($(loaded "$secs") * E2E_SCALE))" "$@"
}

# limits MAX PER-SOURCE [IDLE]: vlsink.socket with these limits, instances
# with --idle-timeout=IDLE, 3 by default (drop-ins; the socket restarted with
# no connection open).
limits() {
	local idle=${3:-3}
	printf '[Socket]\nMaxConnections=%s\nMaxConnectionsPerSource=%s\n' "$1" "$2" | ct_write "$SOCKET_DROPIN"
	printf '[Service]\nExecStart=\nExecStart=/usr/local/bin/vlsink --sink=journal --idle-timeout=%s\n' "$idle" |
		ct_write "$SERVICE_DROPIN"
	ct_exec systemctl daemon-reload
	ct_exec systemctl restart vlsink.socket
	run ct_exec systemctl show vlsink.socket -p MaxConnections -p MaxConnectionsPerSource
	assert_line "MaxConnections=$1"
	assert_line "MaxConnectionsPerSource=$2"
	run ct_exec systemctl show -P ExecStart vlsink@probe.service
	assert_output --partial "argv[]=/usr/local/bin/vlsink --sink=journal --idle-timeout=$idle ;"
}

# idle_for_test: the idle timeout of a test about it, 3 s on a quiet machine
# and longer on a loaded one, so that the other vehicles are through before
# it fires.
idle_for_test() {
	loaded 3
}

connections() {
	ct_exec systemctl show -P NConnections vlsink.socket
}

connections_are() {
	[[ $(connections) == "$1" ]]
}

flood_log() {
	ct_exec cat "$E2E_TMP/$1.log" 2>/dev/null
}

flood_has() { # NAME REGEX
	flood_log "$1" | grep -qE "$2"
}

# closes NAME MIN MAX: how many of the flood's connections the server closed
# between MIN and MAX seconds after they were opened.
closes() {
	flood_log "$1" | awk -v lo="$2" -v hi="$3" '$1 == "closed" && $4 >= lo && $4 < hi { n++ } END { print n + 0 }'
}

# closes_by_timeout NAME IDLE: how many closed at the idle timeout or later
# (a tenth of a second less, for the clocks' rounding).
closes_by_timeout() {
	closes "$1" "$(awk -v i="$2" 'BEGIN { print i - 0.1 }')" 1e9
}

# good SRC PREFIX COUNT LINES: the vehicles, run to their end; then their
# records must all be in the journal, each once.
good() {
	run e2e_client burst "$@"
	echo "$output"
	assert_success
	refute_output --partial failed
	local i expect=()
	for ((i = 0; i < $3; i++)); do expect+=(--expect "$2-$i:0:$4"); done
	run e2e_wait_check "$(loaded 20)" -- "${expect[@]}"
	echo "$output" | tail -n 3
	assert_success
}

idle_summaries() { # SOURCE: summary entries ended by the idle timeout
	e2e_journal END_REASON=idle-timeout REMOTE_ADDR="$1" | wc -l
}

idle_bytes() { # SOURCE: "COUNT BYTES_READ" of its idle-timeout summaries
	e2e_journal END_REASON=idle-timeout REMOTE_ADDR="$1" | jq -r .BYTES_READ | sort -n | uniq -c
}

# socket_log REGEX: how many of vlsink.socket's log lines match REGEX.
socket_log() {
	ct_exec journalctl --no-pager -q -o cat -u vlsink.socket | grep -cE -- "$1" || true
}

# socket_logged N REGEX: at least N of vlsink.socket's log lines match.
socket_logged() {
	(($(socket_log "$2") >= $1))
}

# dropped_at N: PID 1 has said it dropped a connection with N open.
dropped_at() {
	socket_logged 1 "Too many incoming connections \\($1\\), dropping"
}

idle_summaries_are() { # SOURCE N
	(($(idle_summaries "$1") == $2))
}

@test "--help: --idle-timeout defaults to 300 s on sockets, none on pipes and files" {
	vl --help </dev/null
	assert_equal "$status" 0
	grep -qE -- '--idle-timeout=SECS .*' "$OUT"
	grep -qF 'default 300 on sockets, none on pipes/files' "$OUT"
}

@test "without --idle-timeout, vlsink on a socket waits at most 300 s for a line; on a pipe it waits forever" {
	command -v strace >/dev/null || skip "strace not installed"
	command -v systemd-socket-activate >/dev/null || skip "systemd-socket-activate not installed"
	# strace forks vlsink: LISTEN_PID (strace's) is dropped, LISTEN_FDS=1
	# alone means fd 3.  LeakSanitizer cannot run under ptrace.
	ssa_start --accept -- env -u LISTEN_PID ASAN_OPTIONS=detect_leaks=0 \
		strace -o "$T/trace" -e trace=ppoll "$VLSINK"
	exec 5<>"/dev/tcp/127.0.0.1/$PORT"
	wait_until "$(loaded 10)" file_has "$T/trace" 'ppoll\('
	exec 5>&-
	wait_until "$(loaded 10)" file_has "$T/ssa.err" 'died with code'
	run grep -m 1 'ppoll(' "$T/trace"
	echo "$output"
	# The time left, just under 300 s, on the first wait (the supervising
	# reader also watches its worker's pidfd in the same wait); a loaded
	# machine may take a while to get there, not 50 s.
	assert_output --regexp 'ppoll\(\[(\{fd=[0-9]+, events=POLLIN\}, )?\{fd=3, events=POLLIN\}\], [12], \{tv_sec=(2[5-9][0-9]|300), tv_nsec=[0-9]+\}'
	# A pipe: no timeout at all.
	mkfifo "$T/in"
	ASAN_OPTIONS=detect_leaks=0 strace -o "$T/trace2" -e trace=ppoll "$VLSINK" <"$T/in" >/dev/null 2>&1 3>&- &
	track $!
	local spid=$!
	exec 5>"$T/in"
	wait_until "$(loaded 10)" file_has "$T/trace2" 'ppoll\('
	exec 5>&-
	wait_exit "$spid" "$(loaded 10)"
	run grep -m 1 'ppoll(' "$T/trace2"
	echo "$output"
	assert_output --regexp 'ppoll\(\[\{fd=0, events=POLLIN\}\], 1, NULL'
}

@test "a flood of 40 idle and trickling connections from one source: other vehicles get through (per-source cap), the idle ones close at the idle timeout, the slots come back" {
	e2e_setup
	local idle
	idle=$(idle_for_test)
	limits 40 20 "$idle"
	local t0=$SECONDS
	ct_exec rm -f "$E2E_TMP/flood.log"
	e2e_bg flood "python3 $E2E_CLIENT flood --timeout $((idle * 20)) 127.0.0.2 40 $E2E_TMP/flood.log"
	wait_for 20 flood_has flood '^connected 40$' || { e2e_bg_show flood; fail "the flood did not connect"; }
	# 20 held, 20 closed at once by PID 1 (MaxConnectionsPerSource=20).
	wait_for 10 connections_are 20 || fail "socket holds $(connections) connections, not 20"
	# While the flood holds its 20 slots, 10 vehicles from another
	# source connect and deliver, each its 3 records.
	good 127.0.0.3 "$(e2e_vid good)" 10 3
	local refused held
	refused=$(closes flood 0 "$idle")
	held=$(flood_log flood | grep -c '^closed' || true)
	echo "flood: $refused refused at once; $((held - refused)) closed by the time the vehicles were done"
	assert_equal "$refused" 20
	[[ $held == 20 ]] || fail "the flood's connections timed out before the other vehicles were through: machine too slow for a $idle s timeout?"

	# The idle timeout frees the held slots: every one closed $idle s (a
	# little more: the instance starts after the accept) after it was
	# opened, trickling or not.
	e2e_bg_wait flood "$(loaded $((idle * 20)))" || fail "flood still running"
	flood_log flood | tail -n 3
	flood_has flood '^open 0$' || fail "the flood still had connections open at its end"
	assert_equal "$(closes_by_timeout flood "$idle")" 20
	wait_for 10 connections_are 0 || fail "socket still holds $(connections) connections"
	wait_for 10 idle_summaries_are 127.0.0.2 20 || fail "$(idle_summaries 127.0.0.2) idle-timeout summaries from 127.0.0.2, not 20"
	# Trickled bytes did not count as activity: the 10 silent ones read
	# nothing, the 10 trickling ones some bytes, all ended by the timeout.
	run idle_bytes 127.0.0.2
	echo "$output"
	assert_line --regexp '^ *10 0$'
	assert_line --regexp '^ *[0-9]+ [1-9][0-9]*$'
	# PID 1 said why it dropped the other 20.
	wait_for 10 socket_logged 20 'Too many incoming connections \([0-9]+\) from source .*127\.0\.0\.2'
	assert_equal "$(socket_log 'Too many incoming connections \([0-9]+\) from source .*127\.0\.0\.2')" 20

	# The slots are free again: 20 connections from the flood's source
	# itself are all served.
	good 127.0.0.2 "$(e2e_vid after)" 20 1
	echo "# flood test: $((SECONDS - t0)) s, idle timeout $idle s" >&3
}

# floods SRC...: one flood of 40 idle and trickling connections from each,
# held until floods_stop (the flood's own end is an hour away).
floods() {
	local s
	for s in "$@"; do
		ct_exec rm -f "$E2E_TMP/f$s.log"
		e2e_bg "f$s" "python3 $E2E_CLIENT flood --timeout 3600 127.0.0.$s 40 $E2E_TMP/f$s.log"
	done
	for s in "$@"; do
		wait_for 20 flood_has "f$s" '^connected 40$' || { e2e_bg_show "f$s"; fail "flood $s did not connect"; }
	done
}

# floods_stop SRC...: ends the floods (their connections closed, so each
# instance reads EOF and ends), then waits until the socket holds none.
floods_stop() {
	local s
	for s in "$@"; do ct_exec systemctl stop "e2e-f$s.service"; done
	wait_for 20 connections_are 0 || fail "socket still holds $(connections) connections after the floods ended"
}

@test "four hostile addresses at once: at the unit's ratio (MaxConnections/MaxConnectionsPerSource = 48) they hold 8 of 96 slots and vehicles from other addresses get in; at the old ratio (4) they hold every slot" {
	e2e_setup
	# vlsink.socket's 12288 and 256, scaled down by 128.  The idle timeout
	# is out of the way: what is measured is what the floods hold, and they
	# hold it until stopped, however slow the machine.
	limits 96 2 3600
	floods 2 3 4 5
	wait_for 10 connections_are 8 || fail "socket holds $(connections) connections, not 8"
	local s
	for s in 10 11 12 13 14; do
		good "127.0.0.$s" "$(e2e_vid "ratio48-$s")" 2 1
	done
	# The vehicles' instances end; the floods' 8 slots stay held.
	wait_for 10 connections_are 8 || fail "socket holds $(connections) connections after the vehicles, not 8"
	echo "# 4 hostile addresses held 8 slots; 10 vehicles from 5 other addresses delivered" >&3
	floods_stop 2 3 4 5

	# The ratio the unit had before (4096 / 1024), scaled the same way.
	limits 96 24 3600
	floods 2 3 4 5
	wait_for 10 connections_are 96 || fail "socket holds $(connections) connections, not 96"
	local v
	v=$(e2e_vid ratio4)
	run e2e_client burst 127.0.0.10 "$v" 1 1
	echo "$output"
	wait_for 10 dropped_at 96 || fail "PID 1 did not drop the vehicle's connection"
	assert_equal "$(e2e_record_count "$v-0")" 0
	echo "# 4 hostile addresses at the old ratio held all 96 slots; a vehicle from another address was dropped" >&3
	floods_stop 2 3 4 5
}

@test "without a per-source cap the same flood takes every slot, and only the idle timeout brings the port back" {
	e2e_setup
	local idle
	idle=$(idle_for_test)
	limits 40 40 "$idle"
	local v
	v=$(e2e_vid locked-out)
	ct_exec rm -f "$E2E_TMP/flood2.log"
	e2e_bg flood2 "python3 $E2E_CLIENT flood --timeout $((idle * 20)) 127.0.0.2 40 $E2E_TMP/flood2.log"
	wait_for 20 flood_has flood2 '^connected 40$' || { e2e_bg_show flood2; fail "the flood did not connect"; }
	wait_for 10 connections_are 40 || fail "socket holds $(connections) connections, not 40"
	# Another vehicle is dropped at once: its record never arrives.
	run e2e_client burst 127.0.0.3 "$v" 1 1
	echo "$output"
	wait_for 10 dropped_at 40 || fail "PID 1 did not drop the vehicle's connection"
	assert_equal "$(socket_log 'Too many incoming connections \(40\), dropping')" 1
	[[ $(flood_log flood2 | grep -c '^closed' || true) == 0 ]] ||
		fail "the flood's connections timed out before the vehicle tried: machine too slow for a $idle s timeout?"
	# The idle timeout later the flood is gone and the vehicle gets through.
	e2e_bg_wait flood2 "$(loaded $((idle * 20)))" || fail "flood still running"
	assert_equal "$(closes_by_timeout flood2 "$idle")" 40
	wait_for 10 connections_are 0 || fail "socket still holds $(connections) connections"
	good 127.0.0.3 "$v" 1 1
	assert_equal "$(e2e_record_count "$v-0")" 1
}
