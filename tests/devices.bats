#!/usr/bin/env bats
# --devices=PATH: which devices may report.  A connection whose own device
# (its identification, else --vehicle, else its peer's address) is not
# listed gets one unknown-device entry and is closed, exit 77; a line that
# names its own vehicle (CSV) is rejected alone; no record is ever written
# for an unknown device.

load 'lib/common'

teardown() {
	common_teardown
}

setup() {
	common_setup
	printf '%s\n' '# the fleet' 'bus-1' '  bus-2  ' '' 'addr:192.0.2.0/24' 'addr:2001:db8::/32' >"$T/devices"
	P1=$(nmea PGID,bus-1) P2=$(nmea PGID,bus-2) P9=$(nmea PGID,bus-9)
	RMC2=$(nmea 'GPRMC,123520,A,4807.038,N,01131.000,E,022.4,084.4,230324,003.1,W')
}

# run_vl [ENV...] -- ARGS...: vlsink on $T/in, records in $OUT, status in $status.
run_vl() {
	local env=()
	while [[ $1 != -- ]]; do env+=("$1"); shift; done
	shift
	status=0
	env -u REMOTE_ADDR -u REMOTE_PORT "${env[@]}" "$VLSINK" --devices="$T/devices" "$@" \
		<"$T/in" >"$OUT" 2>"$ERR" || status=$?
}

@test "a listed device reports as usual" {
	printf '%s\r\n' "$P1" "$RMC" "$GGA" >"$T/in"
	run_vl --
	assert_equal "$status" 0
	assert_equal "$(jq -r .vehicle "$OUT")" bus-1
	summary | grep -q ': eof: 2 accepted'
}

@test "an unknown device: one unknown-device diagnostic, the connection closed, no record, exit 77" {
	printf '%s\r\n' "$P9" "$RMC" "$GGA" >"$T/in"
	run_vl --
	assert_equal "$status" 77
	assert_equal "$(line_count "$OUT")" 0
	assert_equal "$(grep -c 'device bus-9 is not in the devices file: connection closed after line 1' "$ERR")" 1
	summary | grep -q ': unknown-device: 0 accepted, 0 ignored, 1 rejected (unknown-device 1)'
}

@test "a late identification naming an unknown device: what came before is delivered, nothing after" {
	printf '%s\r\n' "$P1" "$RMC" "$P9" "$RMC2" >"$T/in"
	run_vl --
	assert_equal "$status" 77
	run jq -r '"\(.vehicle) \(.time)"' "$OUT"
	assert_output "bus-1 2024-03-23T12:35:19.000Z"
	grep -q 'device bus-9 is not in the devices file: connection closed after line 3' "$ERR"
	# And the other way round: a known id after an unknown peer address.
	printf '%s\r\n' "$P2" "$RMC" >"$T/in"
	run_vl REMOTE_ADDR=198.51.100.7 --
	assert_equal "$status" 0
	assert_equal "$(jq -r .vehicle "$OUT")" bus-2
}

@test "vehicles known by address: addr: entries and networks, IPv4 and IPv6" {
	printf '%s\r\n' "$RMC" >"$T/in"
	run_vl REMOTE_ADDR=192.0.2.77 REMOTE_PORT=4000 --
	assert_equal "$status" 0
	assert_equal "$(jq -r .vehicle "$OUT")" 192.0.2.77
	run_vl REMOTE_ADDR=2001:db8::5 REMOTE_PORT=4000 --
	assert_equal "$status" 0
	run_vl REMOTE_ADDR=192.0.3.1 REMOTE_PORT=4000 --
	assert_equal "$status" 77
	assert_equal "$(line_count "$OUT")" 0
	run_vl REMOTE_ADDR=2001:db9::5 REMOTE_PORT=4000 --
	assert_equal "$status" 77
	# --vehicle names the device: it is the one looked up, not the address.
	run_vl REMOTE_ADDR=192.0.2.77 -- --vehicle=bus-7
	assert_equal "$status" 77
	run_vl REMOTE_ADDR=198.51.100.7 -- --vehicle=bus-2
	assert_equal "$status" 0
}

@test "lines that name their own vehicle (CSV): an unknown one is rejected alone, the stream goes on" {
	printf '%s\n' 'bus-1,2026-01-01T00:00:00Z,52.5,13.4' 'bus-8,2026-01-01T00:00:01Z,52.5,13.4' \
		'bus-2,2026-01-01T00:00:02Z,52.5,13.4' >"$T/in"
	run_vl --
	assert_equal "$status" 0
	run jq -r .vehicle "$OUT"
	assert_output $'bus-1\nbus-2'
	grep -q 'line 2 rejected (unknown-device): "bus-8,' "$ERR"
	summary | grep -q 'eof: 2 accepted, 0 ignored, 1 rejected (unknown-device 1)'
}

@test "a bad devices file: exit 78 with the line and why, before reading anything" {
	printf '%s\n' 'bus-1' 'bus 2' >"$T/devices"
	printf '%s\r\n' "$P1" "$RMC" >"$T/in"
	run_vl --
	assert_equal "$status" 78
	grep -q "devices: line 2: expected a vehicle id" "$ERR"
	printf '%s\n' 'addr:300.1.1.1' >"$T/devices"
	run_vl --
	assert_equal "$status" 78
	grep -q "line 1: not a numeric IPv4 or IPv6 address" "$ERR"
	printf '%s\n' 'addr:10.0.0.0/33' >"$T/devices"
	run_vl --
	assert_equal "$status" 78
	grep -q "line 1: bad prefix length" "$ERR"
	rm "$T/devices"
	run_vl --
	assert_equal "$status" 78
	grep -q "No such file or directory" "$ERR"
}

@test "the file is read by every connection: a device added is let in on its next connection" {
	command -v systemd-socket-activate >/dev/null || skip "systemd-socket-activate not installed (package systemd)"
	printf '%s\r\n' "$P9" "$RMC" >"$T/in"
	ssa_start --accept -- "$VLSINK" --devices="$T/devices"
	timeout 10 socat -t 5 - "TCP:127.0.0.1:$PORT" <"$T/in" >/dev/null
	wait_until 10 file_has "$T/ssa.err" 'died with code 77'
	echo bus-9 >>"$T/devices"
	timeout 10 socat -t 5 - "TCP:127.0.0.1:$PORT" <"$T/in" >/dev/null
	wait_until 10 file_has "$T/ssa.err" 'died with code 0'
	assert_equal "$(jq -r .vehicle "$T/ssa.out")" bus-9
}
