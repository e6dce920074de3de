#!/usr/bin/env bats
# Line framing: line ends, empty and overlong lines, control bytes, the
# --max-line bounds, and memory that stays flat whatever arrives.

load 'lib/common'

setup() {
	common_setup
}

teardown() {
	common_teardown
}

# pad_tpv LEN: a valid gpsd TPV line of exactly LEN bytes (no line end),
# padded in its "device" string.
pad_tpv() {
	local head='{"class":"TPV","device":"' tail='","mode":2,"lat":1.5,"lon":2.5}'
	local n=$(($1 - ${#head} - ${#tail})) pad
	printf -v pad '%*s' "$n" ''
	printf '%s%s%s' "$head" "${pad// /d}" "$tail"
}

@test "LF and CRLF line ends are both accepted; raw output drops the CR" {
	a=$(rmc_at 1) b=$(rmc_at 2) c=$(rmc_at 3)
	printf '%s\n%s\r\n%s\r\n' "$a" "$b" "$c" >"$T/in"
	vl --format=raw <"$T/in"
	assert_equal "$status" 0
	assert_equal "$(cat "$OUT")" "$a"$'\n'"$b"$'\n'"$c"
	assert_equal "$(summary_counts)" "3 0 0"
	assert_equal "$(summary_bytes)" "$(stat -c %s "$T/in")"
}

@test "a final line without a terminator is still processed" {
	a=$(rmc_at 1) b=$(rmc_at 2)
	printf '%s\n%s' "$a" "$b" >"$T/in"
	vl --format=raw <"$T/in"
	assert_equal "$status" 0
	assert_equal "$(cat "$OUT")" "$a"$'\n'"$b"
	assert_equal "$(summary_counts)" "2 0 0"

	# A CR with no LF after it at the end of the stream is a line end too.
	printf '%s\r' "$b" >"$T/in"
	vl --format=raw <"$T/in"
	assert_equal "$status" 0
	assert_equal "$(cat "$OUT")" "$b"
	assert_equal "$(summary_counts)" "1 0 0"
}

@test "empty lines are ignored, never rejected" {
	a=$(rmc_at 1)
	printf '\n\r\n\n%s\n\n\r\n' "$a" >"$T/in"
	vl --format=raw <"$T/in"
	assert_equal "$status" 0
	assert_equal "$(cat "$OUT")" "$a"
	assert_equal "$(summary_counts)" "1 5 0"
	refute grep -q "rejected (" "$ERR"
}

@test "an overlong line is rejected as too-long and dropped whole, never split" {
	good=$(rmc_at 7)
	# Whatever follows the first 1024 bytes of an overlong line, even a
	# complete valid sentence, must not come out as a line of its own.
	for junk in 1025 1030 1100 2000 5000 70000 200000; do
		printf '%*s' "$junk" '' | tr ' ' x >"$T/in"
		printf '%s\n%s\n' "$(rmc_at 1)" "$good" >>"$T/in"
		vl --format=raw <"$T/in"
		assert_equal "$status" 0
		assert_equal "$(cat "$OUT")" "$good"
		assert_equal "$(summary_counts)" "1 0 1"
		assert_equal "$(reason_count too-long)" 1
	done
	# A line just over the cap that ends in a valid sentence, sent in CRLF.
	printf -v pad '%*s' 1000 ''
	printf '%s%s\r\n%s\r\n' "${pad// /y}" "$(rmc_at 1)" "$good" >"$T/in"
	vl --format=raw <"$T/in"
	assert_equal "$(cat "$OUT")" "$good"
	assert_equal "$(reason_count too-long)" 1
	# The reject message carries a short escaped sample, not the line.
	run grep -c 'rejected (too-long)' "$ERR"
	assert_output 1
	(($(grep 'rejected (too-long)' "$ERR" | wc -c) < 400))
}

@test "a line of exactly --max-line bytes is accepted, with or without CR" {
	for n in 1024 1023; do
		line=$(pad_tpv "$n")
		assert_equal "${#line}" "$n"
		for end in $'\n' $'\r\n' ''; do
			printf '%s%s' "$line" "$end" >"$T/in"
			vl --format=raw <"$T/in"
			assert_equal "$status" 0
			assert_equal "$(cat "$OUT")" "$line"
			assert_equal "$(summary_counts)" "1 0 0"
		done
	done
	line=$(pad_tpv 1025)
	for end in $'\n' $'\r\n' ''; do
		printf '%s%s%s\n' "$line" "$end" "$(rmc_at 1)" >"$T/in"
		vl --format=raw <"$T/in"
		assert_equal "$status" 0
		if [[ -n $end ]]; then
			assert_equal "$(summary_counts)" "1 0 1"
		else # No line end: the RMC is part of the overlong line.
			assert_equal "$(summary_counts)" "0 0 1"
		fi
		assert_equal "$(reason_count too-long)" 1
	done
	# The same boundary with another --max-line.
	rmc=$(rmc_at 1)
	printf '%s\r\n' "$rmc" >"$T/in"
	vl --format=raw --max-line="${#rmc}" <"$T/in"
	assert_equal "$(cat "$OUT")" "$rmc"
	vl --format=raw --max-line="$((${#rmc} - 1))" <"$T/in"
	assert_equal "$(cat "$OUT")" ""
	assert_equal "$(reason_count too-long)" 1
}

@test "a 1 MiB line without a newline, then EOF: one too-long, exit 0" {
	{
		printf '$GPGGA,'
		head -c $((1048576 - 7)) /dev/zero | tr '\0' 7
	} >"$T/in"
	vl <"$T/in"
	assert_equal "$status" 0
	assert_equal "$(cat "$OUT")" ""
	assert_equal "$(summary_counts)" "0 0 1"
	assert_equal "$(reason_count too-long)" 1
	assert_equal "$(summary_bytes)" 1048576
}

@test "a 1 MiB line, then a valid line: the valid line is accepted" {
	good=$(rmc_at 9)
	{
		printf '$GPGGA,'
		head -c $((1048576 - 7)) /dev/zero | tr '\0' 7
		printf '\r\n%s\r\n' "$good"
	} >"$T/in"
	vl --format=raw <"$T/in"
	assert_equal "$status" 0
	assert_equal "$(cat "$OUT")" "$good"
	assert_equal "$(summary_counts)" "1 0 1"
}

@test "a NUL or other control byte inside a line rejects that line only" {
	rmc=$(rmc_at 1) good=$(rmc_at 2)
	{
		printf '%s\0\n' "$rmc"
		printf '\0%s\n' "$rmc"
		printf '%s\n' "${rmc:0:20}"$'\x01'"${rmc:21}"
		printf '%s\n' "${rmc:0:20}"$'\t'"${rmc:21}"
		printf '%s\n' "${rmc:0:20}"$'\x7f'"${rmc:21}"
		printf '%s\n' "${rmc:0:20}"$'\e'"${rmc:21}"
		printf '%s\n' "$good"
	} >"$T/in"
	vl --format=raw <"$T/in"
	assert_equal "$status" 0
	assert_equal "$(cat "$OUT")" "$good"
	assert_equal "$(summary_counts)" "1 0 6"
	assert_equal "$(reason_count control-char)" 6
	# The sample is escaped: no raw control byte reaches stderr.
	refute grep -qP '[\x00-\x08\x0b-\x1f\x7f]' "$ERR"
	grep -q 'rejected (control-char).*\\x00' "$ERR"
}

@test "CR-only line ends make one long line; the next LF line is accepted" {
	a=$(rmc_at 1) b=$(rmc_at 2) c=$(rmc_at 3) good=$(rmc_at 4)
	{
		printf '%s\r%s\r%s\r\n' "$a" "$b" "$c" # Short: a line with CRs inside.
		for i in $(seq 1 20); do printf '%s\r' "$(rmc_at "$i")"; done
		printf '\n%s\n' "$good" # Over 1024 bytes: too-long.
	} >"$T/in"
	vl --format=raw <"$T/in"
	assert_equal "$status" 0
	assert_equal "$(cat "$OUT")" "$good"
	assert_equal "$(summary_counts)" "1 0 2"
	assert_equal "$(reason_count control-char)" 1
	assert_equal "$(reason_count too-long)" 1
}

@test "lines split across reads in any place frame the same" {
	a=$(rmc_at 1) b=$(rmc_at 2) c=$(rmc_at 3)
	printf -v long '%*s' 1500 ''
	long=${long// /z}
	mkfifo "$T/in"
	"$VLSINK" --format=raw <"$T/in" >"$OUT" 2>"$ERR" 3>&- &
	track $!
	vpid=$!
	{
		for piece in "${a:0:10}" "${a:10}"$'\r' $'\n'"${b:0:1}" "${b:1}" $'\r' $'\n' \
			"${long:0:700}" "${long:700:700}" "${long:1400}"$'\r' $'\n'"$c" $'\r'; do
			printf '%s' "$piece"
			sleep 0.05
		done
	} >"$T/in"
	wait_exit "$vpid" 10
	assert_equal "$status" 0
	assert_equal "$(cat "$OUT")" "$a"$'\n'"$b"$'\n'"$c"
	assert_equal "$(summary_counts)" "3 0 1"
	assert_equal "$(reason_count too-long)" 1
}

@test "--max-line accepts 64-4000 and refuses anything else as a usage error" {
	for v in 63 4001 0 -1 abc 1024x '' 99999999999; do
		vl --max-line="$v" </dev/null
		assert_equal "$status" 64
		assert_equal "$(wc -l <"$ERR")" 1
		grep -q -- '--max-line' "$ERR"
		assert_equal "$(cat "$OUT")" ""
	done
	for v in 64 4000; do
		vl --max-line="$v" </dev/null
		assert_equal "$status" 0
	done
	# 4000 really is the cap: a 4000-byte line passes, 4001 does not.
	for n in 4000 4001; do
		pad_tpv "$n" >"$T/in"
		vl --format=raw --max-line=4000 <"$T/in"
		assert_equal "$status" 0
		if ((n == 4000)); then
			assert_equal "$(summary_counts)" "1 0 0"
			assert_equal "$(wc -c <"$OUT")" 4001
		else
			assert_equal "$(summary_counts)" "0 0 1"
		fi
	done
}

@test "resident memory does not grow with the number of lines or their length" {
	[[ ${VLSINK_SANITIZED:-0} != 1 ]] || skip "peak RSS is meaningless under ASan (shadow memory, quarantine)"
	[[ -x /usr/bin/time ]] || skip "GNU time (/usr/bin/time) not installed"
	gen_nmea 10 >/dev/null || fail "cannot build the NMEA generator"

	gen_nmea 10000 | rss_kib "$T/rss.small" "$VLSINK" >/dev/null 2>"$T/err.small"
	gen_nmea 1000000 | rss_kib "$T/rss.large" "$VLSINK" >/dev/null 2>"$T/err.large"
	assert_equal "$(summary_counts "$T/err.small")" "10000 0 0"
	assert_equal "$(summary_counts "$T/err.large")" "1000000 0 0"
	small=$(tail -n 1 "$T/rss.small") large=$(tail -n 1 "$T/rss.large")
	echo "peak RSS: 10k lines $small KiB, 1M lines $large KiB"
	((large - small < 1024))

	# An 8 MiB line costs no more than a short one.
	{
		printf '$GPRMC,'
		head -c $((8 * 1048576)) /dev/zero | tr '\0' 1
		printf '\n'
		gen_nmea 10000
	} | rss_kib "$T/rss.long" "$VLSINK" >/dev/null 2>"$T/err.long"
	assert_equal "$(summary_counts "$T/err.long")" "10000 0 1"
	long=$(tail -n 1 "$T/rss.long")
	echo "peak RSS: 8 MiB line + 10k lines $long KiB"
	((long - small < 1024))
}

@test "gpsd's SKY past --max-line is ignored, not logged; a TPV that long is too-long" {
	local sats="" i
	for ((i = 1; i <= 30; i++)); do
		sats+="${sats:+,}{\"PRN\":$i,\"el\":40.0,\"az\":83.0,\"ss\":46.0,\"used\":true,\"gnssid\":0,\"svid\":$i}"
	done
	local sky="{\"class\":\"SKY\",\"device\":\"/dev/ttyACM0\",\"satellites\":[$sats]}"
	local tpv="{\"class\":\"TPV\",\"device\":\"/dev/ttyACM0\",\"mode\":3,\"lat\":1.5,\"lon\":2.5,\"x\":\"$(printf '%*s' 1100 '' | tr ' ' x)\"}"
	((${#sky} > 1500)) || fail "SKY is only ${#sky} bytes"
	printf '%s\n%s\n%s\n' "$sky" "$tpv" "$sky" >"$T/in"
	vl <"$T/in"
	assert_equal "$status" 0
	summary | grep -q ': eof: 0 accepted, 2 ignored, 1 rejected (too-long 1)'
	run grep -c 'rejected' "$ERR"
	assert_output 2
	grep -q 'line 2 rejected (too-long)' "$ERR"
}
