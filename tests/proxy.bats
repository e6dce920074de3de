#!/usr/bin/env bats
# --proxy-protocol: the PROXY protocol header a load balancer sends ahead of
# the stream.  The header table (tests/cases/proxy.headers) through vlsink on
# stdin, then real sockets under systemd-socket-activate: each version, a
# header split across reads, the lines right behind it, bad and missing
# headers, and --devices deciding by the proxied address.  HAProxy itself
# in front of vlsink is tests/balancer.bats.

load 'lib/common'

setup() {
	common_setup
	RMC=$(nmea 'GPRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W')
	GGA=$(nmea 'GPGGA,123520,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,')
}

teardown() {
	common_teardown
}

# v2_header IPV4 PORT [CMD]: a version 2 header, TCP over IPv4, from IPV4:PORT
# to 192.0.2.1:10110; CMD 21 (PROXY, the default) or 20 (LOCAL).
v2_header() {
	local a b c d port=$2
	IFS=. read -r a b c d <<<"$1"
	printf '\r\n\r\n\0\r\nQUIT\n'
	# shellcheck disable=SC2059 # the format is built of \xHH escapes
	printf "$(printf '\\x%02x' "0x${3:-21}" 0x11 0 12 "$a" "$b" "$c" "$d" 192 0 2 1 \
		$((port >> 8)) $((port & 255)) 39 126)"
}

# send FILE: FILE's bytes to vlsink on $PORT, then waits for its answer (the
# close); the output is vlsink's, under systemd-socket-activate.
send() {
	timeout $((20 * T_SCALE)) socat -t $((10 * T_SCALE)) - "TCP:127.0.0.1:$PORT" <"$1" >/dev/null
}

# Connections systemd-socket-activate has seen end (each vlsink's summary or
# its one PROXY diagnostic).
ended() {
	[[ $(grep -cE 'eof: |no valid PROXY protocol header|unknown-device|not in the devices file' "$T/ssa.err") -ge $1 ]]
}

# Every case of tests/cases/proxy.headers (format in its header).
@test "proxy.headers: valid headers name the peer, must-fail headers are refused" {
	local file=$BATS_TEST_DIRNAME/cases/proxy.headers line cmd="" hdr="" name="" fails=0 total=0
	local -a opts
	while IFS= read -r line || [[ -n $line ]]; do
		if [[ -z $line ]]; then
			cmd="" name=""
			continue
		fi
		if [[ $line == '#'* ]]; then
			[[ -z $cmd ]] && name=${line#\# }
			continue
		fi
		if [[ -z $cmd ]]; then
			cmd=$line
			read -r -a opts <<<"${cmd#vlsink}"
			hdr=""
			continue
		fi
		if [[ -z $hdr ]]; then
			hdr=$line
			continue
		fi
		total=$((total + 1))
		[[ $hdr == '(empty)' ]] && hdr=""
		printf '%b' "$hdr" >"$T/in"
		[[ $line == 'peer '* ]] && printf '%s\n' "$RMC" >>"$T/in"
		status=0
		REMOTE_ADDR=192.0.2.9 REMOTE_PORT=4000 "$VLSINK" --sink=stdout --rollover=keep "${opts[@]}" \
			<"$T/in" >"$OUT" 2>"$ERR" || status=$?
		local problem=""
		case $line in
		'peer '*)
			local want=${line#peer } got vehicle addr
			got=$(jq -r '.peer // "none"' "$OUT")
			vehicle=$(jq -r '.vehicle // "none"' "$OUT")
			addr=$want
			[[ $addr == none ]] || { addr=${addr%:*}; addr=${addr#[}; addr=${addr%]}; }
			local o
			for o in "${opts[@]}"; do
				[[ $o == --vehicle=* ]] && addr=${o#--vehicle=}
			done
			((status == 0)) || problem+="exit $status; "
			[[ $(line_count "$OUT") == 1 ]] || problem+="$(line_count "$OUT") records; "
			[[ $got == "$want" ]] || problem+="peer '$got'; "
			[[ $vehicle == "$addr" ]] || problem+="vehicle '$vehicle', expected '$addr'; "
			;;
		'refused '*)
			((status == 65)) || problem+="exit $status, expected 65; "
			[[ ! -s $OUT ]] || problem+="a record; "
			[[ $(line_count "$ERR") == 1 ]] || problem+="$(line_count "$ERR") lines on stderr; "
			grep -qF "no valid PROXY protocol header (${line#refused })" "$ERR" || problem+="not the reason; "
			;;
		*) problem+="malformed expectation; " ;;
		esac
		if [[ -n $problem ]]; then
			fails=$((fails + 1))
			printf 'FAIL %s\n  %s\n  header: %s\n  want: %s\n  %s\n  stdout: %s\n  stderr: %s\n' "$name" "$cmd" \
				"$hdr" "$line" "$problem" "$(cat "$OUT")" "$(cat "$ERR")"
		fi
		hdr=""
	done <"$file"
	echo "proxy.headers: $total cases, $fails failed"
	((total >= 60))
	((fails == 0))
}

@test "--proxy-protocol: only v1, v2 or any; the help names it" {
	run "$VLSINK" --proxy-protocol=v3
	assert_failure 64
	assert_output --partial "--proxy-protocol=v3: expected v1, v2 or any"
	run "$VLSINK" --help
	assert_output --partial "--proxy-protocol=VERSION"
	assert_output --partial "65 no valid PROXY protocol header"
}

@test "v1 over a socket: the vehicle's address and port, and every line in the same segment as the header" {
	ssa_start --accept -- "$VLSINK" --proxy-protocol=v1 --merge=none --rollover=keep
	printf 'PROXY TCP4 198.51.100.7 192.0.2.1 40001 10110\r\n%s\r\n%s\r\n%s\r\n' "$RMC" "$GGA" "$RMC" >"$T/in"
	send "$T/in"
	wait_until 10 ended 1
	assert_equal "$(line_count "$T/ssa.out")" 3
	assert_equal "$(jq -r '"\(.vehicle) \(.peer)"' "$T/ssa.out" | sort -u)" "198.51.100.7 198.51.100.7:40001"
	# The summary counts the lines' bytes, not the header's.
	assert_equal "$(summary "$T/ssa.err" | sed -E 's/.*, ([0-9]+) bytes.*/\1/')" $((3 * (${#RMC} + 2) - ${#RMC} + ${#GGA}))
}

@test "v2 over a socket, and any: the client's address; a header split across reads is waited for" {
	ssa_start --accept -- "$VLSINK" --proxy-protocol=any --rollover=keep
	{ v2_header 198.51.100.8 40002; printf '%s\n' "$RMC"; } >"$T/in"
	send "$T/in"
	printf 'PROXY TCP6 2001:db8::9 2001:db8::1 40003 10110\r\n%s\n' "$RMC" >"$T/in"
	send "$T/in"
	# The header in three pieces, the line after it with the last one.
	{ v2_header 198.51.100.10 40004 | head -c 7; sleep 0.3; v2_header 198.51.100.10 40004 | tail -c +8 | head -c 10
	  sleep 0.3; v2_header 198.51.100.10 40004 | tail -c +18; printf '%s\n' "$RMC"; sleep 0.3; } |
		timeout $((20 * T_SCALE)) socat -t $((10 * T_SCALE)) - "TCP:127.0.0.1:$PORT" >/dev/null
	wait_until 10 ended 3
	run jq -r .peer "$T/ssa.out"
	assert_output $'198.51.100.8:40002\n[2001:db8::9]:40003\n198.51.100.10:40004'
	refute grep -q 'PROXY' "$T/ssa.err"
}

@test "a bad header, a missing one, a timeout: one diagnostic each, no record, exit 65" {
	ssa_start --accept -- "$VLSINK" --proxy-protocol=v2 --rollover=keep
	printf '%s\n' "$RMC" >"$T/in"
	send "$T/in"
	wait_until 10 ended 1
	# A connection that sends nothing: closed after 5 s, well before
	# socat's own 10 s idle limit.
	sleep $((10 * T_SCALE)) 3>&- | timeout $((20 * T_SCALE)) socat -T $((10 * T_SCALE)) - "TCP:127.0.0.1:$PORT" \
		>/dev/null 3>&- &
	track $!
	# And one that sends half a header and then nothing.
	{ v2_header 198.51.100.8 40002 | head -c 20; sleep $((10 * T_SCALE)); } 3>&- |
		timeout $((20 * T_SCALE)) socat -T $((10 * T_SCALE)) - "TCP:127.0.0.1:$PORT" >/dev/null 3>&- &
	track $!
	wait_until 15 ended 3
	assert_equal "$(line_count "$T/ssa.out")" 0
	cat "$T/ssa.err"
	assert_equal "$(grep -c 'no valid PROXY protocol header (not a PROXY protocol header): "$GPRMC' "$T/ssa.err")" 1
	assert_equal "$(grep -c 'no valid PROXY protocol header (none within 5 s): connection closed' "$T/ssa.err")" 1
	assert_equal "$(grep -c 'no valid PROXY protocol header (none within 5 s): "\\x0d\\x0a' "$T/ssa.err")" 1
	# Nothing else was said about these connections: no summary.
	refute grep -q ' eof: ' "$T/ssa.err"
}

@test "LOCAL (a health check) keeps the balancer's address; with no line it costs no record and no reject" {
	ssa_start --accept -- "$VLSINK" --proxy-protocol=v2 --rollover=keep
	v2_header 0.0.0.0 0 20 >"$T/in"
	send "$T/in"
	{ v2_header 0.0.0.0 0 20; printf '%s\n' "$RMC"; } >"$T/in"
	send "$T/in"
	wait_until 10 ended 2
	run jq -r .peer "$T/ssa.out"
	assert_output --regexp '^127\.0\.0\.1:[0-9]+$'
	assert_equal "$(grep -c ': eof: 0 accepted, 0 ignored, 0 rejected, 0 bytes' "$T/ssa.err")" 1
	refute grep -q 'PROXY\|rejected (' "$T/ssa.err"
}

@test "--devices: addr: rules match the proxied address, not the balancer's" {
	printf 'addr:198.51.100.0/24\n' >"$T/devices"
	ssa_start --accept -- "$VLSINK" --proxy-protocol=v2 --devices="$T/devices" --rollover=keep
	{ v2_header 198.51.100.7 40001; printf '%s\n' "$RMC"; } >"$T/in"
	send "$T/in"
	{ v2_header 203.0.113.5 40002; printf '%s\n' "$RMC"; } >"$T/in"
	send "$T/in"
	wait_until 10 ended 2
	assert_equal "$(jq -r .peer "$T/ssa.out")" "198.51.100.7:40001"
	assert_equal "$(grep -c '^vlsink: 203.0.113.5:40002: device 203.0.113.5 is not in the devices file' "$T/ssa.err")" 1
}

@test "a LOCAL header, then a reset (as HAProxy ends its checks): no record, no warning" {
	ssa_start --accept -- "$VLSINK" --proxy-protocol=v2 --rollover=keep
	v2_header 0.0.0.0 0 20 >"$T/in"
	# SO_LINGER with a zero timeout: close() sends a reset.
	timeout 10 python3 -c '
import socket, struct, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(open(sys.argv[2], "rb").read())
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
s.close()' "$PORT" "$T/in"
	wait_until 10 ended 1 || wait_until 10 file_has "$T/ssa.err" ': reset: '
	cat "$T/ssa.err"
	assert_equal "$(line_count "$T/ssa.out")" 0
	summary "$T/ssa.err" | grep -qE ': (eof|reset): 0 accepted, 0 ignored, 0 rejected, 0 bytes'
	refute grep -q 'PROXY\|rejected (' "$T/ssa.err"
}
