#!/usr/bin/env bats
# Epoch merging over time: what the case tables (tests/cases/merge.cases)
# cannot show, a fix held for its epoch's last sentence and let go when the
# stream pauses, idles out, stops or ends.

load 'lib/common'

setup() {
	common_setup
	mkfifo "$T/in"
}

teardown() {
	exec 5>&- 2>/dev/null || true
	common_teardown
}

# start_vlsink ARGS...: vlsink reading the FIFO $T/in (held open on fd 5),
# records to $OUT; its pid in $vpid.
start_vlsink() {
	"$VLSINK" "$@" <"$T/in" >"$OUT" 2>"$ERR" 3>&- &
	track $!
	vpid=$!
	exec 5>"$T/in"
}

@test "a held fix goes out about a second after its last sentence, the connection still open" {
	start_vlsink
	printf '%s\r\n%s\r\n' "$RMC" "$GGA" >&5
	local t0=$SECONDS
	wait_until 10 test -s "$OUT"
	alive "$vpid"
	((SECONDS - t0 <= 3 * T_SCALE))
	run jq -c '[.format, .speed != null, .alt != null]' "$OUT"
	assert_output '["nmea-gga",true,true]'
}

@test "two fixes of an RMC and a GGA each on a live connection: two records, in order" {
	start_vlsink --date=2024-03-23
	printf '%s\r\n%s\r\n' "$RMC" "$GGA" >&5
	printf '%s\r\n%s\r\n' "$(nmea 'GPRMC,123520,A,4807.038,N,01131.000,E,022.4,084.4,230324,003.1,W')" \
		"$(nmea 'GPGGA,123520,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,')" >&5
	# The first epoch ends with the second's first sentence; the second
	# holds RMC and GGA, which the first taught is a whole cycle.
	wait_until 10 bash -c "[[ \$(wc -l <'$OUT') == 2 ]]"
	run jq -r .time "$OUT"
	assert_output $'2024-03-23T12:35:19.000Z\n2024-03-23T12:35:20.000Z'
}

@test "idle timeout mid-epoch: the held fix is delivered, then the connection ends" {
	start_vlsink --idle-timeout=1
	printf '%s\r\n' "$RMC" >&5
	wait_exit "$vpid" $((10 * T_SCALE))
	assert_equal "$status" 0
	assert_equal "$(line_count "$OUT")" 1
	summary | grep -q ': idle-timeout: 1 accepted'
}

# Bytes the process has read so far, and whether it waits in ppoll (271 on
# x86_64, 73 on aarch64).
rchar() { awk '/^rchar/ { print $2 }' "/proc/$1/io"; }
in_ppoll() { read -r nr _ <"/proc/$1/syscall" && [[ $nr == 271 || $nr == 73 ]]; }

@test "SIGTERM mid-epoch: the fix read so far is delivered" {
	start_vlsink
	wait_until 10 in_ppoll "$vpid"
	local base
	base=$(rchar "$vpid")
	printf '%s\r\n' "$RMC" >&5
	# Read, then stopped at once: well inside the second the fix would
	# otherwise be held.
	wait_until 10 bash -c "(( \$(awk '/^rchar/ { print \$2 }' /proc/$vpid/io) >= $base + ${#RMC} + 2 ))"
	kill -TERM "$vpid"
	wait_exit "$vpid" 10
	assert_equal "$status" 0
	assert_equal "$(line_count "$OUT")" 1
	summary | grep -q ': signal: 1 accepted'
}

@test "end of input mid-epoch: the fix is delivered" {
	printf '%s\r\n' "$RMC" >"$T/one"
	"$VLSINK" <"$T/one" >"$OUT" 2>"$ERR"
	assert_equal "$(line_count "$OUT")" 1
}

@test "a new identification sentence ends the epoch: a fix is never given to the next vehicle" {
	printf '%s\r\n%s\r\n%s\r\n' "$(nmea PGID,bus-1)" "$RMC" "$(nmea PGID,bus-2)" >"$T/two"
	printf '%s\r\n' "$(nmea 'GPRMC,123520,A,4807.038,N,01131.000,E,022.4,084.4,230324,003.1,W')" >>"$T/two"
	"$VLSINK" <"$T/two" >"$OUT" 2>"$ERR"
	run jq -r '"\(.vehicle) \(.time)"' "$OUT"
	assert_output $'bus-1 2024-03-23T12:35:19.000Z\nbus-2 2024-03-23T12:35:20.000Z'
}

@test "--format=raw is not merged: every accepted line as received" {
	printf '%s\r\n%s\r\n' "$RMC" "$GGA" >"$T/two"
	"$VLSINK" --format=raw <"$T/two" >"$OUT" 2>"$ERR"
	assert_equal "$(cat "$OUT")" "$RMC"$'\n'"$GGA"
}

@test "multi-GNSS: a fix short of one of its cycle's GSAs is held no longer than any other" {
	start_vlsink --date=2022-07-31
	local s
	for s in 1 2 3; do
		printf '%s\r\n%s\r\n%s\r\n' \
			"$(nmea "GNRMC,12000$s,A,5957.00$s,N,01100.60$s,E,1.0,90.0,310722,,,A")" \
			"$(nmea "GNGGA,12000$s,5957.00$s,N,01100.60$s,E,1,09,1.$s,168.9,M,39.5,M,,")" \
			"$(nmea 'GNGSA,A,3,01,02,03,04,05,,,,,,,,2.0,1.2,1.5,1')" >&5
		# The GLONASS GSA is missing from the third cycle.
		((s == 3)) || printf '%s\r\n' "$(nmea 'GNGSA,A,3,65,66,67,68,,,,,,,,,2.0,1.3,1.5,2')" >&5
	done
	# The cycle learnt holds two GSAs: the third fix waits for the hold,
	# not for the next cycle nor the end of the stream.
	wait_until 10 lines_at_least "$OUT" 3
	alive "$vpid"
	run jq -r '"\(.time) \(.hdop)"' "$OUT"
	assert_output $'2022-07-31T12:00:01.000Z 1.1\n2022-07-31T12:00:02.000Z 1.2\n2022-07-31T12:00:03.000Z 1.3'
}
