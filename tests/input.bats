#!/usr/bin/env bats
# Both input modes through a real TCP connection on 127.0.0.1 (fd 3 with
# LISTEN_FDS=1, and inetd style on stdin), the peer from getpeername() or
# from REMOTE_ADDR/REMOTE_PORT, and the descriptors vlsink refuses.

load 'lib/common'

setup() {
	common_setup
}

teardown() {
	common_teardown
}

# send FILE: one client connection that sends FILE, half-closes, and prints
# what comes back until the server closes.
send() {
	timeout $((20 * T_SCALE)) socat -t $((10 * T_SCALE)) -T $((10 * T_SCALE)) \
		- "TCP:127.0.0.1:$PORT" <"$1"
}

@test "systemd-socket-activate --accept: the connection on fd 3, the peer from getpeername" {
	printf '%s\r\n%s\r\n' "$RMC" "$GGA" >"$T/in"
	ssa_start --accept -- "$VLSINK"
	send "$T/in" >"$T/back"
	wait_until 10 file_has "$T/ssa.err" 'died with code'
	grep -q 'died with code 0' "$T/ssa.err"
	assert_equal "$(cat "$T/back")" "" # Nothing goes back to the client.
	cport=$(ssa_client_port)
	[[ -n $cport && $cport != "$PORT" ]]
	assert_equal "$(line_count "$T/ssa.out")" 1 # One fix: the RMC and GGA merged.
	run jq -r '"\(.vehicle) \(.peer) \(.format)"' "$T/ssa.out"
	assert_output "127.0.0.1 127.0.0.1:$cport nmea-gga"
	summary "$T/ssa.err" | grep -q "127.0.0.1:$cport 127.0.0.1: eof: 2 accepted, 0 ignored, 0 rejected, $(stat -c %s "$T/in") bytes"
}

@test "socket input: --vehicle and an identification sentence take over from the peer address" {
	{
		printf '%s\r\n' "$RMC"
		printf '%s\r\n' "$(nmea PGID,truck-9)"
		printf '%s\r\n' "$GGA"
	} >"$T/in"
	ssa_start --accept -- "$VLSINK" --vehicle=bus-7 --format=csv
	send "$T/in" >/dev/null
	wait_until 10 file_has "$T/ssa.err" 'died with code'
	cport=$(ssa_client_port)
	run cut -d, -f1,8,9 "$T/ssa.out"
	assert_output "bus-7,nmea-rmc,127.0.0.1:$cport
truck-9,nmea-gga,127.0.0.1:$cport"
}

@test "systemd-socket-activate --inetd: the connection on stdin, records back on it" {
	printf '%s\n%s\n' "$RMC" "$GGA" >"$T/in"
	ssa_start --accept --inetd -- "$VLSINK"
	send "$T/in" >"$T/back"
	wait_until 10 file_has "$T/ssa.err" 'died with code'
	grep -q 'died with code 0' "$T/ssa.err"
	cport=$(ssa_client_port)
	run jq -r '"\(.vehicle) \(.peer) \(.format) \(.speed != null) \(.alt != null)"' "$T/back"
	assert_output "127.0.0.1 127.0.0.1:$cport nmea-gga true true"
	summary "$T/ssa.err" | grep -q "127.0.0.1:$cport 127.0.0.1: eof: 2 accepted"
}

@test "a large stream through TCP arrives whole and in order" {
	gen_nmea 50000 >"$T/in"
	ssa_start --accept -- "$VLSINK" --format=raw
	send "$T/in" >/dev/null
	wait_until 30 file_has "$T/ssa.err" 'died with code'
	grep -q 'died with code 0' "$T/ssa.err"
	cmp <(tr -d '\r' <"$T/in") "$T/ssa.out"
}

@test "a listening socket passed by mistake (no --accept): clear error, exit 66, client closed" {
	ssa_start -- "$VLSINK"
	exec 5<>"/dev/tcp/127.0.0.1/$PORT"
	printf '%s\r\n' "$RMC" >&5 || true
	# The client sees its connection closed (EOF or reset), not a hang.
	rc=0
	read -r -t $((10 * T_SCALE)) -u 5 reply || rc=$?
	exec 5<&-
	((rc > 0 && rc <= 128)) # > 128 would be the timeout.
	assert_equal "${reply:-}" ""
	# systemd-socket-activate execs vlsink in this mode: its status is vlsink's.
	wait_exit "$SSA_PID" 10
	assert_equal "$status" 66
	grep -q 'vlsink: input fd 3 is a listening socket' "$T/ssa.err"
	assert_equal "$(grep -c '^vlsink:' "$T/ssa.err")" 1
	assert_equal "$(cat "$T/ssa.out")" ""
}

@test "pipe input: REMOTE_ADDR and REMOTE_PORT name the peer" {
	printf '%s\n' "$RMC" >"$T/in"
	REMOTE_ADDR=192.0.2.7 REMOTE_PORT=4242 vl <"$T/in"
	assert_equal "$status" 0
	run jq -r '"\(.vehicle) \(.peer)"' "$OUT"
	assert_output "192.0.2.7 192.0.2.7:4242"
	summary | grep -q '^vlsink: 192.0.2.7:4242 192.0.2.7: eof: 1 accepted'

	REMOTE_ADDR=2001:db8::1 REMOTE_PORT=4242 vl <"$T/in"
	run jq -r '"\(.vehicle) \(.peer)"' "$OUT"
	assert_output "2001:db8::1 [2001:db8::1]:4242"

	REMOTE_ADDR=192.0.2.7 vl <"$T/in" # No port: the address alone.
	run jq -r '"\(.vehicle) \(.peer)"' "$OUT"
	assert_output "192.0.2.7 192.0.2.7"

	REMOTE_ADDR=192.0.2.7 REMOTE_PORT=99999 vl <"$T/in" # A bad port is dropped.
	run jq -r '"\(.vehicle) \(.peer)"' "$OUT"
	assert_output "192.0.2.7 192.0.2.7"

	REMOTE_ADDR=192.0.2.7 REMOTE_PORT=4242 vl --vehicle=bus-7 <"$T/in"
	run jq -r '"\(.vehicle) \(.peer)"' "$OUT"
	assert_output "bus-7 192.0.2.7:4242"
}

@test "pipe input: an invalid REMOTE_ADDR is ignored" {
	printf '%s\n' "$RMC" >"$T/in"
	for addr in not-an-ip '192.0.2.7; rm -rf /' 999.1.1.1 '' '"x"' '192.0.2.7 ' \
		"$(printf '%*s' 200 '' | tr ' ' 1)"; do
		REMOTE_ADDR=$addr REMOTE_PORT=4242 vl <"$T/in"
		assert_equal "$status" 0
		run jq -c 'keys' "$OUT"
		assert_output '["course","format","lat","lon","speed","time"]'
		summary | grep -q '^vlsink: stdin: eof: 1 accepted'
	done
}

@test "socket input: REMOTE_ADDR in the environment does not override getpeername" {
	printf '%s\n' "$RMC" >"$T/in"
	ssa_start --accept -E REMOTE_ADDR=192.0.2.99 -E REMOTE_PORT=1 -- "$VLSINK"
	send "$T/in" >/dev/null
	wait_until 10 file_has "$T/ssa.err" 'died with code'
	cport=$(ssa_client_port)
	run jq -r '.peer' "$T/ssa.out"
	assert_output "127.0.0.1:$cport"
}

@test "LISTEN_FDS: anything but one fd is an input error (exit 66)" {
	for n in 2 0 x; do
		LISTEN_FDS=$n vl </dev/null
		assert_equal "$status" 66
		assert_equal "$(wc -l <"$ERR")" 1
		grep -q "LISTEN_FDS=$n" "$ERR"
	done
}

@test "LISTEN_FDS=1: fd 3 is read, stdin is not; LISTEN_PID of another process is ignored" {
	printf '%s\n' "$RMC" >"$T/fd3"
	printf '%s\n' "$GGA" >"$T/fd0"
	# LISTEN_PID=$$ in bash -c is the pid that vlsink gets by exec.
	run bash -c 'LISTEN_FDS=1 LISTEN_PID=$$ exec "$1" --format=raw 3<"$2/fd3" <"$2/fd0" 2>/dev/null' x "$VLSINK" "$T"
	assert_success
	assert_output "$RMC"
	run bash -c 'LISTEN_FDS=1 LISTEN_PID=1 exec "$1" --format=raw 3<"$2/fd3" <"$2/fd0" 2>/dev/null' x "$VLSINK" "$T"
	assert_success
	assert_output "$GGA"
	# LISTEN_FDS=1 with fd 3 closed: an input error.
	run bash -c 'LISTEN_FDS=1 LISTEN_PID=$$ exec "$1" 3<&- </dev/null' x "$VLSINK"
	assert_equal "$status" 66
	assert_output --partial 'input fd 3'
}

@test "an unreadable input (a directory) is an input error, exit 66" {
	vl <"$T"
	assert_equal "$status" 66
	grep -q 'input: read' "$ERR"
	summary | grep -q 'input-error'
}
