#!/usr/bin/env bats
# shellcheck disable=SC1003,SC2016,SC2034,SC2153
# (single quotes hold literal $ and \; the HOSTILE_* settings are read by
# lib/hostile.bash; BG_PID is set by lib/common.bash)
#
# Hostile input over a real TCP connection: vlsink behind
# systemd-socket-activate --accept on 127.0.0.1, one connection per case,
# records to a file.  Every case: no crash (exit 0, the summary on stderr),
# the reject reasons expected, escaped diagnostics, peak RSS flat (GNU time;
# not in the sanitizer pass), and two valid lines sent after the garbage on
# the same connection come out as records.  The same bytes then go into
# vlsink-collect's stdin: it survives them and writes the valid record
# after them.
#
# The parsers' verdicts on single lines are pinned in tests/cases/ and the
# framing from files in framing.bats; this file is about the whole process
# taking such bytes from a socket, and going on.

load 'lib/common'
load 'lib/hostile'

setup_file() {
	rss_baselines
}

setup() {
	common_setup
	command -v systemd-socket-activate >/dev/null || skip "systemd-socket-activate not installed"
	command -v "$PY" >/dev/null || skip "python3 not installed (the test client)"
	HOSTILE_PAUSE='' HOSTILE_ARGS='' HOSTILE_END=''
}

teardown() {
	common_teardown
}

# nmeab 'BODY': "$BODY*hh" with the right checksum, BODY given with \xNN
# escapes for arbitrary bytes.
nmeab() {
	"$PY" -c '
import sys
b = sys.argv[1].encode("ascii").decode("unicode_escape").encode("latin-1")
c = 0
for x in b:
    c ^= x
sys.stdout.buffer.write(b"$" + b + b"*%02X" % c)' "$1"
}

# bytes 'TEXT': TEXT with \xNN escapes, as bytes.
bytes() {
	printf '%b' "$1"
}

# seeded_random BYTES: reproducible random bytes; the seed is printed (set
# HOSTILE_SEED to replay a failure).
seeded_random() {
	local seed=${HOSTILE_SEED:-$SRANDOM}
	echo "random seed: $seed (HOSTILE_SEED=$seed replays it)" >&2
	"$PY" -c '
import random, sys
sys.stdout.buffer.write(random.Random(int(sys.argv[1])).randbytes(int(sys.argv[2])))' "$seed" "$1"
}

@test "1 MiB of random binary: rejected line by line, the valid lines after it accepted, memory flat" {
	seeded_random 1048576 >"$T/garbage" 2>"$T/seed"
	cat "$T/seed"
	# Pinned: one random stream in 256 starts with '*', which --protocol=auto
	# rightly takes for H02 (seed 3686962915); this test is the NMEA framer's.
	HOSTILE_ARGS=--protocol=nmea hostile_tcp "$T/garbage" 2 control-char:+
	# Whatever the random lines were rejected for, the counts add up.
	local i r lines
	read -r _ i r < <(summary_counts "$T/ssa.err")
	lines=$(($(tr -cd '\n' <"$T/garbage" | wc -c) + 1))
	echo "$lines random lines: $i ignored, $r rejected"
	((r >= lines - 2 - i && r <= lines))
	assert_equal "$(summary_bytes "$T/ssa.err")" $(($(stat -c %s "$T/garbage") + $(stat -c %s "$T/after")))
	hostile_collect "$T/garbage" 1
}

@test "a 1 MiB line without a newline, a pause, then LF and valid lines: one too-long, the valid lines accepted" {
	# Printable bytes, so that nothing but the length is wrong with it;
	# the pause makes vlsink drain the socket with no LF in sight.
	{
		printf '$GPRMC,'
		seeded_random 1048569 2>/dev/null | tr -c 'A-Za-z0-9,.' ','
	} >"$T/garbage"
	HOSTILE_PAUSE=0.5 hostile_tcp "$T/garbage" 2 too-long:1
	hostile_collect "$T/garbage" 1
}

@test "NUL and every other control byte inside a line: each line rejected as control-char, escaped in the message" {
	local rmc c
	rmc=$(rmc_at 1)
	{
		for c in $(seq 0 31) 127; do
			((c == 10)) && continue
			printf '%s' "${rmc:0:20}"
			# shellcheck disable=SC2059 # the format is the escape
			printf "\\x$(printf %02x "$c")"
			printf '%s\n' "${rmc:21}"
		done
		head -c 1000 /dev/zero
		printf '\n'
	} >"$T/garbage"
	hostile_tcp "$T/garbage" 2 control-char:33
	grep -q 'rejected (control-char): "\$GPRMC,000001.00,A,5\\x00' "$T/ssa.err"
	hostile_collect "$T/garbage" 1
}

@test "CR-only line ends: the CR-separated lines are one line (control-char, or too-long past --max-line)" {
	local i
	{
		for i in 1 2 3; do printf '%s\r' "$(rmc_at "$i")"; done
		printf '\n'
		for i in $(seq 1 20); do printf '%s\r' "$(rmc_at "$i")"; done
		printf '\n'
		# And a stream that never sends an LF again until the valid lines.
		for i in $(seq 1 200); do printf '%s\r' "$(rmc_at "$i")"; done
	} >"$T/garbage"
	hostile_tcp "$T/garbage" 2 control-char:1 too-long:2
	hostile_collect "$T/garbage" 1
}

@test "invalid (and non-ASCII) UTF-8 in \$PGID, \$PCPTI, IMEI and CSV ids: syntax, and no id is taken from them" {
	{
		nmeab 'PGID,\xff\xfe'
		printf '\r\n'
		nmeab 'PGID,caf\xc3\xa9'
		printf '\r\n'
		nmeab 'PCPTI,\xc3\x28,123519,4807.038,N'
		printf '\r\n'
		bytes 'IMEI \xed\xa0\x80\r\n'
		bytes 'IMEI \xc0\xaf\r\n'
		bytes 'IMEI 35\xf4\x90\x80\x80\r\n'
		bytes '\xf8\x88\x80\x80\x80,2026-01-01T00:00:00Z,1,2\r\n'
		bytes 'bus-\xe9,2026-01-01T00:00:00Z,1,2\r\n'
		bytes '\xef\xbb\xbfbus-1,2026-01-01T00:00:00Z,1,2\r\n'
	} >"$T/garbage"
	hostile_tcp "$T/garbage" 2 syntax:9
	# The RMC after them is still the peer's: no identification took hold.
	assert_equal "$(tail -n 2 "$T/ssa.out" | head -n 1 | jq -r .vehicle)" 127.0.0.1
	hostile_collect "$T/garbage" 1
}

@test "1e308, -0, NaN, inf in gpsd TPV, CSV and NMEA: out-of-range or syntax; -0 is a plain 0" {
	{
		printf '%s\n' \
			'{"class":"TPV","mode":3,"lat":1e308,"lon":0}' \
			'{"class":"TPV","mode":3,"lat":0,"lon":-1e309}' \
			'{"class":"TPV","mode":3,"lat":1,"lon":2,"speed":1e308}' \
			'{"class":"TPV","mode":3,"lat":1,"lon":2,"alt":-1e308}' \
			'{"class":"TPV","mode":3,"lat":NaN,"lon":0}' \
			'{"class":"TPV","mode":3,"lat":0,"lon":inf}' \
			'{"class":"TPV","mode":3,"lat":-Infinity,"lon":0}' \
			'{"class":"TPV","mode":3,"lat":-0,"lon":-0.0,"speed":-0,"track":-0e5,"alt":-0}' \
			'v,2026-01-01T00:00:00Z,1e308,0' \
			'v,2026-01-01T00:00:00Z,NaN,0' \
			'v,2026-01-01T00:00:00Z,0,inf' \
			'v,2026-01-01T00:00:00Z,0,0,1e308' \
			'v,1e308,0,0' \
			'v,2026-01-01T00:00:00Z,-0,-0.0,-0,-0,-0'
		nmea 'GPRMC,123519,A,1e308,N,01131.000,E,022.4,084.4,230394,,'
		printf '\r\n'
		nmea 'GPRMC,123519,A,4807.038,N,01131.000,E,NaN,084.4,230394,,'
		printf '\r\n'
		nmea 'GPRMC,123519,A,4807.038,N,01131.000,E,022.4,inf,230394,,'
		printf '\r\n'
		nmea 'GPRMC,123519,A,-0,N,-0,E,-0,-0,230394,,'
		printf '\r\n'
		nmea 'GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,1e308,M,46.9,M,,'
		printf '\r\n'
	} >"$T/garbage"
	# The zero filter would drop the -0 fixes this looks at.
	HOSTILE_ARGS=--keep-zero hostile_tcp "$T/garbage" 4 out-of-range:4 syntax:12 bad-time:1
	# The -0 records: zeros without a sign.
	run jq -c '[.lat, .lon, .speed, .course, .alt]' <(sed -n '1,2p' "$T/ssa.out")
	assert_output $'[0,0,0,0,0]\n[0,0,0,0,0]'
	refute grep -qiE -- '-0\.0+[,}]|nan|inf' "$T/ssa.out"
	# JSON-wise only NaN, inf and -Infinity are not numbers.
	hostile_collect "$T/garbage" 6
}

@test "latitudes of 91 and longitudes of 181 in every format: out-of-range; 90 and 180 themselves pass" {
	{
		nmea 'GPRMC,123519,A,9100.000,N,01131.000,E,022.4,084.4,230394,,'
		printf '\r\n'
		nmea 'GPRMC,123519,A,9000.001,S,01131.000,E,022.4,084.4,230394,,'
		printf '\r\n'
		nmea 'GPGGA,123519,4807.038,N,18100.000,W,1,08,0.9,545.4,M,46.9,M,,'
		printf '\r\n'
		nmea 'GPGLL,4807.038,N,18000.001,E,123519,A,A'
		printf '\r\n'
		printf '%s\n' \
			'{"class":"TPV","mode":3,"lat":91,"lon":0}' \
			'{"class":"TPV","mode":3,"lat":-90.0000001,"lon":0}' \
			'{"class":"TPV","mode":3,"lat":0,"lon":181}' \
			'{"class":"TPV","mode":3,"lat":0,"lon":-180.5}' \
			'v,2026-01-01T00:00:00Z,91,0' \
			'v,2026-01-01T00:00:00Z,-91,0' \
			'v,2026-01-01T00:00:00Z,0,181' \
			'v,2026-01-01T00:00:00Z,0,-181' \
			'v,2026-01-01T00:00:00Z,90,180' \
			'{"class":"TPV","mode":3,"lat":-90,"lon":-180}'
	} >"$T/garbage"
	hostile_tcp "$T/garbage" 4 out-of-range:12
	run jq -c '[.lat, .lon]' <(sed -n '1,2p' "$T/ssa.out")
	assert_output $'[90,180]\n[-90,-180]'
	hostile_collect "$T/garbage" 6
}

@test "\$ alone, * alone, a checksum *ZZ and their kin: syntax or bad-checksum, never a record" {
	local rmc
	rmc=$(nmea "$RMC_BODY")
	{
		printf '%s\r\n' '$' '*' '*ZZ' '$$$$$$$$' '********' '$*00' \
			'$*' '$*ZZ' "${rmc%??}ZZ" "${rmc%??}" "${rmc%??}Z" '$GPRMC*' '$GPRMC,*00' \
			"${rmc}X" "${rmc}*00" "${rmc/\*/**}"
	} >"$T/garbage"
	hostile_tcp "$T/garbage" 2 syntax:6 bad-checksum:10
	hostile_collect "$T/garbage" 1
}

@test "a sentence of 10,000 commas (and a CSV line of them): too-long; 1,000 commas within --max-line: syntax" {
	local c10k c1k
	printf -v c10k '%*s' 10000 ''
	printf -v c1k '%*s' 1000 ''
	c10k=${c10k// /,} c1k=${c1k// /,}
	{
		nmea "GPRMC$c10k"
		printf '\r\n'
		printf 'v%s\n' "$c10k"
		nmea "GPRMC$c1k"
		printf '\r\n'
		nmea "GPGGA$c1k"
		printf '\r\n'
		printf 'v%s\n' "$c1k"
	} >"$T/garbage"
	hostile_tcp "$T/garbage" 2 too-long:2 syntax:3
	hostile_collect "$T/garbage" 1
	# With --max-line=4000 the long ones are still too long.
	common_teardown
	BG_GROUPS=() BG_PIDS=()
	HOSTILE_ARGS=--max-line=4000 hostile_tcp "$T/garbage" 2 too-long:2 syntax:3
}

@test "deeply nested and unterminated JSON: syntax (or too-long), never a deep recursion; 16 levels still pass" {
	local d15 e15 d16 e16 a500 o200
	printf -v d15 '%*s' 15 ''
	printf -v d16 '%*s' 16 ''
	printf -v a500 '%*s' 500 ''
	printf -v o200 '%*s' 200 ''
	d15=${d15// /[} e15=${d15//[/]} d16=${d16// /[} e16=${d16//[/]}
	a500=${a500// /[} o200=${o200// /'{"a":'}
	{
		printf '%s\n' \
			"{\"class\":\"TPV\",\"mode\":3,\"lat\":1,\"lon\":2,\"x\":$d15$e15}" \
			"{\"class\":\"TPV\",\"mode\":3,\"lat\":1,\"lon\":2,\"x\":$d16$e16}" \
			"{\"class\":\"TPV\",\"mode\":3,\"lat\":1,\"lon\":2,\"x\":$a500" \
			"{\"class\":\"TPV\",\"x\":$o200" \
			'{"class":"TPV","mode":3,"lat":1,"lon":2' \
			'{"class":"TPV","device":"abc' \
			'{"class":"TPV","device":"abc\' \
			'{"class":"TPV","lat":1,"lon":2,"x":{"y":{"z":' \
			'{' '{"' '}' '[' \
			'{"class":"TPV","mode":3,"lat":1,"lon":2}}' \
			'[{"class":"TPV","mode":3,"lat":1,"lon":2}]'
		printf '{"class":"TPV","x":'
		head -c 100000 /dev/zero | tr '\0' '['
		printf '\n'
	} >"$T/garbage"
	hostile_tcp "$T/garbage" 3 syntax:13 too-long:1
	# Only the 16-level object is one JSON object for the collector too.
	hostile_collect "$T/garbage" 2
}

@test "a slow sender (1 byte a second, then the rest at once): the line is accepted, the idle timeout not tripped" {
	local first
	first=$(rmc_at 77)
	printf '%s' "${first:0:5}" >"$T/slow"
	printf '%s\r\n' "${first:5}" >"$T/rest"
	hostile_after >"$T/after"
	hostile_server --sink=stdout --format=json --idle-timeout=60
	local t0=$SECONDS
	run hostile_client "slow:$T/slow:1" "send:$T/rest" "send:$T/after"
	echo "$output"
	assert_success
	assert_line closed
	((SECONDS - t0 >= 4))
	wait_until 20 connections_done 1
	hostile_checks 3
	assert_equal "$(head -n 1 "$T/ssa.out" | jq -r .time)" 2026-01-01T00:01:17.000Z
}

@test "a sender that resets the connection mid-line: end reset, exit 0, the lines before it delivered, the partial one dropped" {
	hostile_after >"$T/after"
	printf '%s' "$(rmc_at 99 | cut -c 1-40)" >"$T/partial"
	hostile_server --sink=stdout --format=json
	# The valid lines first; once their records are out, half a line, then
	# an RST (SO_LINGER 0) while vlsink waits for the rest.
	bg_group timeout 60 "$PY" -c "$HOSTILE_CLIENT_PY" "$PORT" \
		"send:$T/after" "wait:$T/go:30" "send:$T/partial" "sleep:0.3" reset >"$T/client" 2>&1
	local cpid=$BG_PID
	wait_until 20 lines_at_least "$T/ssa.out" 2 || fail "the valid lines were not delivered"
	touch "$T/go"
	wait_exit "$cpid" 30
	cat "$T/client"
	assert_equal "$status" 0
	grep -qx reset "$T/client"
	wait_until 20 connections_done 1 || fail "vlsink did not end after the reset"
	HOSTILE_END=reset hostile_checks 2
	assert_equal "$(summary_bytes "$T/ssa.err")" $(($(stat -c %s "$T/after") + 40))
}
