#!/usr/bin/env bats
# The parsers, table-driven: the case files under tests/cases run through
# vlsink on stdin (format in tests/lib/cases.bash).  The few cases that are
# easier to generate than to write down follow the tables.

load 'lib/common'
load 'lib/cases'

setup() {
	[[ -x $VLSINK ]] || fail "no vlsink at $VLSINK (make, or set VLSINK)"
}

# nmea BODY (lib/common.bash): "$BODY*HH", the XOR of the bytes between '$'
# and '*'; tests/harness/helpers.bats checks it against the reference example.

# Runs a case file in a bash of its own: bats traces every command of a test.
cases() {
	VLSINK=$VLSINK bash "$BATS_TEST_DIRNAME/lib/cases.bash" "$BATS_TEST_DIRNAME/cases/$1.cases"
}

# n copies of a string (without newlines).
repeat() {
	yes "$1" | head -n "$2" | tr -d '\n'
}

@test "nmea.cases" {
	cases nmea
}

@test "tpv.cases" {
	cases tpv
}

@test "csv.cases" {
	cases csv
}

@test "ident.cases" {
	cases ident
}

@test "merge.cases" {
	cases merge
}

@test "filter.cases" {
	cases filter
}

@test "h02.cases" {
	cases h02
}

@test "gps103.cases" {
	cases gps103
}

@test "gl200.cases" {
	cases gl200
}

@test "osmand.cases" {
	cases osmand
}

# The replies a stream of frames gets (--reply-fd, as on a socket): the
# frame -> reply table of the man page's TRACKER PROTOCOLS.
replies() {
	"$VLSINK" --sink=stdout --format=json --reply-fd=3 "$@" \
		3>"$BATS_TEST_TMPDIR/replies" >/dev/null 2>"$BATS_TEST_TMPDIR/err"
	REPLIES=$(cat "$BATS_TEST_TMPDIR/replies"; echo .)
	REPLIES=${REPLIES%.}
}

@test "gl200 replies: +SACK:GTHBD to a heartbeat always; +SACK:<count> under --ack to reports taken, none to a reject" {
	local fri='+RESP:GTFRI,020102,135790246811220,,0,0,1,1,4.3,92,70.0,121.354335,31.222073,20090214013254,0460,0000,18d8,6141,00,,20090214093254,11F0$'
	local nofix='+RESP:GTFRI,020102,135790246811220,,0,0,1,0,4.3,92,70.0,121.354335,31.222073,20090214013254,0460,0000,18d8,6141,00,,20090214093254,11F1$'
	local inf='+RESP:GTINF,C30302,860201067023286,,41,89880000000000000000,14,99,0,0.0,,3.77,0,1,2,,,20260908143011,30,,25.9,,,20260909020028,46B4$'
	local hbd='+ACK:GTHBD,060100,135790246811220,,20100214093254,11F2$'
	replies --protocol=gl200 < <(printf '%s\n' "$hbd" "$fri" "$nofix" "$inf")
	assert_equal "$REPLIES" '+SACK:GTHBD,060100,11F2$'
	replies --protocol=gl200 --ack < <(printf '%s\n' "$hbd" "$fri" "$nofix" "$inf")
	assert_equal "$REPLIES" '+SACK:GTHBD,060100,11F2$+SACK:11F0$+SACK:46B4$'
}

@test "osmand replies: 200 to a position and to an id alone, 400 and close to a reject, 405 and close to PUT, close after HTTP/1.0" {
	local ok=$'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'
	local pos=$'GET /?id=1&timestamp=1377177267&lat=60.0&lon=30.0 HTTP/1.1\r\n\r\n'
	local beat=$'GET /?id=1 HTTP/1.1\r\n\r\n'
	replies --protocol=osmand < <(printf '%s' "$pos" "$beat" $'GET /?lat=60.0&lon=30.0 HTTP/1.1\r\n\r\n' "$pos")
	assert_equal "$REPLIES" "$ok$ok"$'HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n'
	replies --protocol=osmand < <(printf '%s' $'PUT /?id=1 HTTP/1.1\r\n\r\n' "$pos")
	assert_equal "$REPLIES" $'HTTP/1.1 405 Method Not Allowed\r\nAllow: GET, POST\r\nContent-Length: 0\r\nConnection: close\r\n\r\n'
	replies --protocol=osmand < <(printf '%s' "${pos/HTTP\/1.1/HTTP/1.0}" "$pos")
	assert_equal "$REPLIES" $'HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n'
}

@test "no case file is left out of this suite" {
	local f names=""
	for f in "$BATS_TEST_DIRNAME"/cases/*.cases; do
		f=${f##*/}
		names+="${f%.cases} "
	done
	assert_equal "$names" "csv filter gl200 gps103 h02 ident merge nmea osmand tpv "
}

@test "an RMC of 3990 commas fits --max-line=4000 and is a syntax error" {
	local line
	line=$(nmea "GPRMC$(repeat , 3990)")
	((${#line} <= 4000))
	case_check "3990 commas" "checksummed" "vlsink --max-line=4000" \
		"$line" "reject syntax"
}

@test "a GSV of 3990 commas is merely ignored, and so is one with fields" {
	case_check "GSV commas" "checksummed" "vlsink --max-line=4000" \
		"$(nmea "GPGSV$(repeat , 3990)")" "ignored" \
		"$(nmea "GPGSV$(repeat ,1 1990)")" "ignored"
}

@test "10,000 commas are too long for the default --max-line, and for 4000" {
	local line
	line=$(nmea "GPRMC$(repeat , 10000)")
	case_check "10000 commas" "default max-line" "vlsink" "$line" "reject too-long"
	case_check "10000 commas" "max-line 4000" "vlsink --max-line=4000" "$line" "reject too-long"
}

@test "a CSV line of 3990 commas is a syntax error" {
	case_check "csv commas" "" "vlsink --max-line=4000" \
		"bus$(repeat , 3990)" "reject syntax"
}

@test "JSON nested 1,990 deep is refused without recursing that far" {
	case_check "deep JSON" "arrays" "vlsink --max-line=4000" \
		"{\"class\":\"TPV\",\"x\":$(repeat '[' 1990)$(repeat ']' 1990)}" "reject syntax"
	case_check "deep JSON" "objects" "vlsink --max-line=4000" \
		"{\"class\":\"SKY\",\"x\":$(repeat '{"a":' 660)1$(repeat '}' 660)}" "reject syntax"
	case_check "deep JSON" "unterminated" "vlsink --max-line=4000" \
		"$(repeat '[' 3999)" "reject syntax"
}

@test "GGA before any RMC and without --date is dated today (UTC)" {
	# A minute ago, so that the day is the one the fix was taken on even
	# when the test runs just after midnight.
	local now t day tod
	now=$(date -u +%s)
	t=$((now - 60))
	day=$(date -u -d "@$t" +%Y-%m-%d)
	tod=$(date -u -d "@$t" +%H%M%S)
	case_check "today" "" "vlsink" \
		"$(nmea "GPGGA,$tod,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,")" \
		"{\"time\":\"${day}T${tod:0:2}:${tod:2:2}:${tod:4:2}.000Z\",\"lat\":48.1173000,\"lon\":11.5166667,\"alt\":545.40,\"quality\":1,\"sats\":8,\"hdop\":0.90,\"format\":\"nmea-gga\"}"
}

@test "without RMC or --date, later GGA follow the first instead of the clock" {
	# The first is dated today; one two hours earlier in the day then
	# belongs to the next day, as the stream does not run backwards.
	local now t day tod t2 day2 tod2
	now=$(date -u +%s)
	t=$((now - 60))
	day=$(date -u -d "@$t" +%Y-%m-%d)
	tod=$(date -u -d "@$t" +%H%M%S)
	t2=$((t - 7200 + 86400))
	day2=$(date -u -d "@$t2" +%Y-%m-%d)
	tod2=$(date -u -d "@$t2" +%H%M%S)
	case_check "following" "" "vlsink" \
		"$(nmea "GPGGA,$tod,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,")" \
		"{\"time\":\"${day}T${tod:0:2}:${tod:2:2}:${tod:4:2}.000Z\",\"lat\":48.1173000,\"lon\":11.5166667,\"alt\":545.40,\"quality\":1,\"sats\":8,\"hdop\":0.90,\"format\":\"nmea-gga\"}" \
		"$(nmea "GPGGA,$tod2,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,")" \
		"{\"time\":\"${day2}T${tod2:0:2}:${tod2:2:2}:${tod2:4:2}.000Z\",\"lat\":48.1173000,\"lon\":11.5166667,\"alt\":545.40,\"quality\":1,\"sats\":8,\"hdop\":0.90,\"format\":\"nmea-gga\"}"
}
