#!/usr/bin/env bats
# The tracker protocols over real TCP (systemd-socket-activate --accept, one
# vlsink per connection): detection, the replies each device waits for
# (byte for byte, in order, only for accepted frames, never before their
# records are delivered), frames split across reads, binary frames, a peer
# that never reads its replies, and a worker crash in the middle, supervised
# and not.  The frames are real ones (Traccar's test vectors): the replies
# need the parsers of issue 18.

load 'lib/common'

setup_file() {
	hooks_build
}

setup() {
	common_setup
	PEER=$BATS_TEST_DIRNAME/lib/tcppeer.py
	ID=359586015829802
	LOGON="##,imei:$ID,A;"
	BEAT="$ID;"
	FIX="imei:$ID,tracker,0809231429,13554900601,F,062947.294,A,2234.4026,N,11354.3277,E,0.00,;"
	SOS="imei:$ID,help me,0809231429,13554900601,F,062948.294,A,2234.4026,N,11354.3277,E,0.00,;"
	H02_ID=865205030330012
	H02_BEAT="*HQ,$H02_ID,HTBT,100#"
	H02_FIX="*HQ,4210051415,V1,164549,A,0956.3869,N,08406.7068,W,000.00,000,221215,FFFFFBFF,712,01,0,0,6#"
	H02_FIX2="*HQ,4300256455,V1,111817,A,1935.5128,N,04656.3243,E,0.00,100,170913,FFE7FBFF#"
	GL_HBD='+ACK:GTHBD,060100,135790246811220,,20100214093254,11F0$'
	GL_FRI='+RESP:GTFRI,060100,135790246811220,,0,0,1,1,4.3,92,70.0,121.354335,31.222073,20090214013254,0460,0000,18d8,6141,00,2000.0,20090214093254,11F0$'
	OSM_GET=$'GET /?id=123456&lat=52.5&lon=13.4&timestamp=1700000000&speed=10 HTTP/1.1\r\nHost: t\r\n\r\n'
	OK=$'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'
}

teardown() {
	common_teardown
}

# serve [SSA-OPTIONS...] -- [VLSINK-OPTIONS...]: vlsink behind
# systemd-socket-activate --accept; records in $T/ssa.out, diagnostics in
# $T/ssa.err.
serve() {
	local ssa=()
	while [[ $1 != -- ]]; do
		ssa+=("$1")
		shift
	done
	shift
	ssa_start --accept "${ssa[@]}" -- "$VLSINK" "$@"
}

# peer MODE ARGS...: one connection (lib/tcppeer.py); what came back in $T/back.
peer() {
	timeout $((60 * T_SCALE)) python3 "$PEER" "$PORT" "$@" >"$T/back"
}

# The summary of the Nth connection (1 by default) once its vlsink ended.
done_summary() {
	local n=${1:-1}
	wait_until 20 lines_at_least_re "$T/ssa.err" ': [a-z-]+: [0-9]+ accepted' "$n"
	grep -E ': [a-z-]+: [0-9]+ accepted' "$T/ssa.err" | sed -n "${n}p"
}

lines_at_least_re() { # FILE REGEX N
	(($(grep -cE "$2" "$1") >= $3))
}

# bytes FILE: its bytes, escaped, for comparisons that show CR and LF.
bytes() {
	od -An -c "$1" | tr -s ' \n' ' '
}

@test "gps103 over TCP, supervised: LOAD to the log-on, ON to the heartbeat, the SOS echo, a record for each fix" {
	printf '%s' "$LOGON" "$BEAT" "$FIX" "$SOS" "$BEAT" >"$T/in"
	serve -- --sink=stdout
	peer send "$T/in"
	assert_equal "$(cat "$T/back")" "LOADON**,imei:$ID,E;ON"
	run done_summary
	assert_output --regexp ": eof: 2 accepted, 3 ignored, 0 rejected, [0-9]+ bytes, protocol gps103, 4 replies$"
	assert_equal "$(jq -r .vehicle "$T/ssa.out" | sort -u)" "$ID"
	assert_equal "$(line_count "$T/ssa.out")" 2
}

@test "gps103 over TCP, --no-supervise: the same replies" {
	printf '%s' "$LOGON" "$BEAT" "$FIX" "$SOS" "$BEAT" >"$T/in"
	serve -- --sink=stdout --no-supervise
	peer send "$T/in"
	assert_equal "$(cat "$T/back")" "LOADON**,imei:$ID,E;ON"
	run done_summary
	assert_output --partial "protocol gps103, 4 replies"
}

@test "a rejected frame gets no reply; the frames after it do" {
	printf '%s' "$LOGON" "imei:$ID,tracker,0809231429,13554900601,F,062947.294,V,2234.4026,N,11354.3277,E,0.00,;" \
		"$BEAT" >"$T/in"
	for mode in --supervise --no-supervise; do
		: >"$T/ssa.err"
		serve -- --sink=stdout "$mode"
		peer send "$T/in"
		assert_equal "$(cat "$T/back")" "LOADON"
		run done_summary
		assert_output --partial ": eof: 0 accepted, 2 ignored, 1 rejected (no-fix 1)"
		kill -TERM -- "-$SSA_PID"
		wait_gone "$SSA_PID" 5
	done
}

@test "h02 over TCP: the heartbeat echoed, records for fixes; supervised and not" {
	printf '%s\r\n' "$H02_BEAT" "$H02_FIX" "$H02_BEAT" >"$T/in"
	for mode in --supervise --no-supervise; do
		: >"$T/ssa.err"
		serve -- --sink=stdout "$mode"
		peer send "$T/in"
		assert_equal "$(cat "$T/back")" "*HQ,$H02_ID,HTBT#*HQ,$H02_ID,HTBT#"
		run done_summary
		assert_output --partial ": eof: 1 accepted, 2 ignored, 0 rejected"
		assert_output --partial "protocol h02, 2 replies"
		kill -TERM -- "-$SSA_PID"
		wait_gone "$SSA_PID" 5
	done
}

@test "h02: binary frames among text frames are rejected, the stream resynchronised, later frames decoded" {
	{
		printf '%s' "$H02_FIX"
		printf '$\x42\x10\x05\x14\x15\x16\x45\x49\x22\x12\x15\x09\x56\x38\x69\x08\x40\x67\x06\x8c\x00\x00\x00\xff\xff\xfb\xff\x00\x00\x02\x3a'
		printf '%s' "$H02_BEAT"
		printf '$\x01\x02\x03'
		printf '%s' "$H02_FIX2"
	} >"$T/in"
	serve -- --sink=stdout
	peer send "$T/in"
	assert_equal "$(cat "$T/back")" "*HQ,$H02_ID,HTBT#"
	run done_summary
	assert_output --partial ": eof: 2 accepted, 1 ignored, 2 rejected (binary-frame 2)"
	grep -q 'line 2 rejected (binary-frame): "\$B\\x10\\x05.*, skipped to the next text frame' "$T/ssa.err"
	grep -q 'line 4 rejected (binary-frame): "\$\\x01\\x02\\x03", skipped to the next text frame' "$T/ssa.err"
	assert_equal "$(line_count "$T/ssa.out")" 2
}

@test "gl200: the heartbeat's +SACK:GTHBD; a report acknowledged only with --ack, after its record" {
	printf '%s' "$GL_HBD" "$GL_FRI" >"$T/in"
	serve -- --sink=stdout
	peer send "$T/in"
	assert_equal "$(cat "$T/back")" '+SACK:GTHBD,060100,11F0$'
	run done_summary
	assert_output --partial ": eof: 1 accepted, 1 ignored, 0 rejected"
	kill -TERM -- "-$SSA_PID"
	wait_gone "$SSA_PID" 5
	: >"$T/ssa.err"
	serve -- --sink=stdout --ack
	peer send "$T/in"
	assert_equal "$(cat "$T/back")" '+SACK:GTHBD,060100,11F0$+SACK:11F0$'
	assert_equal "$(line_count "$T/ssa.out")" 1
}

@test "gl200: a binary Queclink frame is rejected and the text frames after it are read" {
	{
		printf '+RSP\x00\x44\x3f\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f'
		printf '%s' "$GL_HBD"
	} >"$T/in"
	serve -- --sink=stdout
	peer send "$T/in"
	assert_equal "$(cat "$T/back")" '+SACK:GTHBD,060100,11F0$'
	run done_summary
	assert_output --partial "1 rejected (binary-frame 1)"
	assert_output --partial "protocol gl200"
}

@test "osmand keep-alive: two requests on one connection, each answered before the next is sent" {
	printf '%s' "$OSM_GET" >"$T/r1"
	printf '%s' "${OSM_GET/timestamp=1700000000/timestamp=1700000060}" >"$T/r2"
	printf '%s' "$OK" >"$T/ok"
	for mode in --supervise --no-supervise; do
		: >"$T/ssa.err"
		serve -- --sink=stdout "$mode"
		peer turns "$T/r1" ${#OK} "$T/r2" ${#OK}
		assert_equal "$(bytes "$T/back")" "$(cat "$T/ok" "$T/ok" >"$T/ok2"; bytes "$T/ok2")"
		run done_summary
		assert_output --partial ": eof: 2 accepted, 0 ignored, 0 rejected"
		assert_equal "$(line_count "$T/ssa.out")" 2
		kill -TERM -- "-$SSA_PID"
		wait_gone "$SSA_PID" 5
	done
}

@test "osmand: a chunked request is answered 411 and the connection closed; nothing after it is read" {
	printf 'POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n%s' "$OSM_GET" >"$T/in"
	serve -- --sink=stdout
	peer send "$T/in"
	assert_equal "$(head -n 1 "$T/back")" $'HTTP/1.1 411 Length Required\r'
	grep -q '^Connection: close' "$T/back"
	run done_summary
	assert_output --partial ": reply-close: 0 accepted, 0 ignored, 1 rejected (syntax 1)"
	assert_equal "$(line_count "$T/ssa.out")" 0
}

@test "osmand: a request over --max-line is answered 413, a bad Content-Length 400; both close" {
	printf 'POST /?id=1 HTTP/1.1\r\nContent-Length: 5000\r\n\r\n' >"$T/in"
	head -c 5000 /dev/zero | tr '\0' x >>"$T/in"
	serve -- --sink=stdout --no-supervise
	peer send "$T/in"
	assert_equal "$(head -n 1 "$T/back")" $'HTTP/1.1 413 Content Too Large\r'
	run done_summary
	assert_output --partial ": reply-close: 0 accepted, 0 ignored, 1 rejected (too-long 1)"
	kill -TERM -- "-$SSA_PID"
	wait_gone "$SSA_PID" 5
	: >"$T/ssa.err"
	printf 'POST /?id=1 HTTP/1.1\r\nContent-Length: +5\r\n\r\nhello' >"$T/in"
	serve -- --sink=stdout
	peer send "$T/in"
	assert_equal "$(head -n 1 "$T/back")" $'HTTP/1.1 400 Bad Request\r'
	run done_summary
	assert_output --partial ": reply-close: 0 accepted, 0 ignored, 1 rejected (syntax 1)"
}

@test "frames split across reads at every offset: the same records and replies as in one piece" {
	printf '%s' "$LOGON" "$BEAT" "$FIX" "$SOS" "$BEAT" >"$T/in"
	serve -- --sink=stdout
	peer bytewise "$T/in"
	assert_equal "$(cat "$T/back")" "LOADON**,imei:$ID,E;ON"
	run done_summary
	assert_output --partial ": eof: 2 accepted, 3 ignored, 0 rejected"
	kill -TERM -- "-$SSA_PID"
	wait_gone "$SSA_PID" 5
	: >"$T/ssa.err"
	printf '%s' "$OSM_GET" "${OSM_GET/timestamp=1700000000/timestamp=1700000060}" >"$T/in"
	serve -- --sink=stdout --no-supervise
	peer bytewise "$T/in"
	printf '%s%s' "$OK" "$OK" >"$T/ok2"
	assert_equal "$(bytes "$T/back")" "$(bytes "$T/ok2")"
}

@test "inetd style (the connection on stdin): replies go back on it; on a pipe, only to --reply-fd" {
	mkfifo "$T/fifo"
	cat "$T/fifo" >"$T/recs" &
	track $!
	printf '%s' "$LOGON" "$FIX" "$BEAT" >"$T/in"
	serve --inetd -- --sink=fifo:"$T/fifo"
	peer send "$T/in"
	assert_equal "$(cat "$T/back")" "LOADON"
	wait_until 20 file_has "$T/recs" '"vehicle":"359586015829802"'
	# A pipe: replies nowhere, or to the descriptor named.
	"$VLSINK" --sink=stdout <"$T/in" >"$OUT" 2>"$ERR"
	assert_equal "$(line_count "$OUT")" 1
	"$VLSINK" --sink=stdout --reply-fd=4 <"$T/in" >"$OUT" 2>"$ERR" 4>"$T/replies"
	assert_equal "$(cat "$T/replies")" "LOADON"
	assert_equal "$(line_count "$OUT")" 1
}

@test "auto-detection: each protocol from its first bytes; digits then ',' stay CSV" {
	local -A first=(
		[gps103]="$LOGON$BEAT" [h02]="$H02_BEAT" [gl200]="$GL_HBD" [osmand]="$OSM_GET"
		[nmea]="bus-7,1700000000,52.5,13.4"$'\n'
	)
	local p n=0
	for p in gps103 h02 gl200 osmand nmea; do
		n=$((n + 1))
		printf '%s' "${first[$p]}" >"$T/in"
		[[ $n == 1 ]] && serve -- --sink=stdout
		peer send "$T/in"
		run done_summary "$n"
		if [[ $p == nmea ]]; then
			assert_output --regexp ': eof: 1 accepted, 0 ignored, 0 rejected, [0-9]+ bytes$'
		else
			assert_output --partial "protocol $p"
		fi
	done
	# A CSV line starting with digits.
	printf '4711,1700000000,52.5,13.4\n' >"$T/in"
	peer send "$T/in"
	run done_summary 6
	assert_output --regexp ': eof: 1 accepted, 0 ignored, 0 rejected, [0-9]+ bytes$'
}

@test "--protocol=NAME pins the protocol whatever the first bytes; the socket's name pins it under auto" {
	# A GPS103 heartbeat read as NMEA: a CSV syntax error, no reply.
	printf '%s' "$BEAT" >"$T/in"
	serve -- --sink=stdout --protocol=nmea
	peer send "$T/in"
	assert_equal "$(cat "$T/back")" ""
	run done_summary
	assert_output --regexp ': eof: 0 accepted, 0 ignored, 1 rejected \(syntax 1\), [0-9]+ bytes$'
	kill -TERM -- "-$SSA_PID"
	wait_gone "$SSA_PID" 5
	# Bytes that auto would call NMEA, on an h02 socket: H02 junk.
	: >"$T/ssa.err"
	printf 'hello#%s' "$H02_BEAT" >"$T/in"
	serve --fdname=h02 -- --sink=stdout
	peer send "$T/in"
	assert_equal "$(cat "$T/back")" "*HQ,$H02_ID,HTBT#"
	run done_summary
	assert_output --partial ": eof: 0 accepted, 1 ignored, 1 rejected (syntax 1)"
	assert_output --partial "protocol h02"
	kill -TERM -- "-$SSA_PID"
	wait_gone "$SSA_PID" 5
	# A name that is no protocol (systemd before 257 says "connection").
	: >"$T/ssa.err"
	serve --fdname=connection -- --sink=stdout
	peer send "$T/in"
	run done_summary
	assert_output --regexp ': eof: 0 accepted, 0 ignored, 1 rejected'
	refute_output --partial "protocol"
}

# fill_fifo PATH: writes into the FIFO until it holds no more.
fill_fifo() {
	python3 -c 'import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_NONBLOCK)
try:
    while True:
        os.write(fd, b"x" * 4096)
except BlockingIOError:
    pass' "$1"
}

@test "no reply before its frame's records are delivered: a full FIFO holds the heartbeat's ON back" {
	printf '%s' "$FIX" "$BEAT" >"$T/in"
	for mode in --supervise --no-supervise; do
		: >"$T/ssa.err"
		rm -f "$T/fifo"
		mkfifo "$T/fifo"
		exec 7<>"$T/fifo" # Held open, not read.
		fill_fifo "$T/fifo"
		serve -- --sink=fifo:"$T/fifo" "$mode"
		timeout $((60 * T_SCALE)) python3 "$PEER" "$PORT" hold "$T/in" 3 >"$T/back" &
		track $!
		wait_until 20 file_has "$T/back" '==$'
		# The fix's record waits for room in the FIFO: no ON yet.
		assert_equal "$(cat "$T/back")" "=="
		timeout $((10 * T_SCALE)) cat <&7 >"$T/recs" &
		wait_until 20 file_has "$T/back" '^ON$'
		wait_until 20 file_has "$T/recs" '"vehicle":"359586015829802"'
		run done_summary
		assert_output --partial ": eof: 1 accepted, 1 ignored, 0 rejected"
		kill -TERM -- "-$SSA_PID"
		wait_gone "$SSA_PID" 5
		exec 7>&-
	done
}

@test "a peer that never reads its replies is closed (reply-blocked); reading never hangs, what was read is delivered" {
	for i in $(seq 200); do printf '%s' "$H02_BEAT"; done >"$T/in"
	for mode in --supervise --no-supervise; do
		: >"$T/ssa.err"
		serve -- --sink=stdout "$mode"
		timeout $((90 * T_SCALE)) python3 "$PEER" "$PORT" noread "$T/in" 30 >"$T/sent" &
		local client=$!
		track "$client"
		run done_summary
		assert_output --regexp ": reply-blocked: 0 accepted, [1-9][0-9]* ignored, 0 rejected"
		grep -q 'died with code 0' "$T/ssa.err"
		kill "$client" 2>/dev/null || true
		kill -TERM -- "-$SSA_PID"
		wait_gone "$SSA_PID" 5
	done
}

# VLSINK_HOOKS: another crash-trigger build than lib/common's.
@test "a worker crash mid-stream neither loses nor repeats a reply" {
	hooks_bin
	# Heartbeats numbered by their last field; the crash is on the frame
	# after the fix, whose reply must come once, and every other once.
	: >"$T/in"
	for i in $(seq 1 40); do
		printf '*HQ,%s,HTBT,%d#' "$H02_ID" "$i" >>"$T/in"
		[[ $i == 20 ]] && printf '%s' "*HQ,4210051415,V1,164549,A,0956.3869,N,08406.7068,W,000.00,000,221215,CRASHME,712,01,0,0,6#" >>"$T/in"
	done
	VLSINK_CRASH_ON=CRASHME VLSINK=${VLSINK_HOOKS:-$HOOKS} serve -E VLSINK_CRASH_ON -- --sink=stdout
	peer send "$T/in"
	local want
	want=$(for i in $(seq 1 40); do printf '*HQ,%s,HTBT#' "$H02_ID"; done)
	assert_equal "$(cat "$T/back")" "$want"
	run done_summary
	assert_output --partial ": eof: 0 accepted, 40 ignored, 1 rejected (worker-crash 1)"
	assert_output --partial "40 replies, 1 worker crash(es), 1 restart(s)"
}
