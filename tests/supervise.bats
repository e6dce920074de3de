#!/usr/bin/env bats
# Supervision: a reader that owns the connection and a worker that it
# restarts.  The crashes come from the test build's trigger (make hooks:
# VLSINK_CRASH_ON=MARKER makes the worker crash on a line holding MARKER,
# VLSINK_CRASH_ON_FIX=MARKER on a merged fix whose lines hold it as it goes
# out), or from signals sent to the worker from outside.

load 'lib/common'

setup_file() {
	hooks_build
}

setup() {
	common_setup
	hooks_bin
}

teardown() {
	common_teardown
}

send() {
	timeout $((60 * T_SCALE)) socat -t $((10 * T_SCALE)) -T $((20 * T_SCALE)) - "TCP:127.0.0.1:$PORT" <"$1"
}

# csv_lines N [POISON...]: N CSV lines of vehicle v1, line i at i seconds
# past midnight, so that line numbers and fix times map 1:1; the lines
# named carry the marker POISON as their vehicle.
csv_lines() {
	local n=$1
	shift
	awk -v n="$n" -v poison=" $* " 'BEGIN {
		for (i = 1; i <= n; i++)
			printf "%s,2026-01-01T%02d:%02d:%02dZ,48.%04d,11.5\n", \
				index(poison, " " i " ") ? "POISON" : "v1", i / 3600, i / 60 % 60, i % 60, i % 10000
	}'
}

# The line numbers of the delivered records (JSON), one a line, sorted.
delivered() {
	jq -r '.time' "$1" | awk -F'[T:.]' '{ print $2 * 3600 + $3 * 60 + $4 }' | sort -n
}

# The pid of the connection's worker: the child of the vlsink that
# systemd-socket-activate started.
worker_pid() {
	local reader
	reader=$(pgrep -P "$SSA_PID" | head -n 1) || return 1
	pgrep -P "$reader" | head -n 1
}

@test "one poison line among 10,000 over TCP: that line quarantined, 9,999 records once, one connection, exit 0" {
	csv_lines 10000 5000 >"$T/in"
	ssa_start --accept -- env VLSINK_CRASH_ON=POISON "$HOOKS" --merge=none --date=2026-01-01
	send "$T/in" >/dev/null
	wait_until $((30 * T_SCALE)) file_has "$T/ssa.err" 'died with code'
	grep -q 'died with code 0' "$T/ssa.err"
	assert_equal "$(grep -c 'Connection from' "$T/ssa.err")" 1
	assert_equal "$(grep -c 'quarantined (worker-crash)' "$T/ssa.err")" 1
	grep -q 'line 5000 quarantined (worker-crash): the worker .* on it: "POISON,2026-01-01T01:23:20Z,48.5000,11.5"' \
		"$T/ssa.err"
	run delivered "$T/ssa.out"
	assert_equal "${#lines[@]}" 9999
	assert_equal "$(delivered "$T/ssa.out" | uniq -d | wc -l)" 0
	assert_equal "$(seq 1 10000 | grep -vx 5000)" "$(delivered "$T/ssa.out")"
	summary "$T/ssa.err" | grep -q ': eof: 9999 accepted, 0 ignored, 1 rejected (worker-crash 1), .* 1 worker crash(es), 1 restart(s)'
}

@test "a merged NMEA run with a poison line: the same records as a run without supervision" {
	gen_nmea 10000 | awk 'NR == 5001 { print "$GPTXT,01,01,02,POISON*00" } { print }' >"$T/in"
	"$VLSINK" --no-supervise --vehicle=bus-1 --date=2026-01-01 <"$T/in" 2>/dev/null | jq -c 'del(.peer)' >"$T/ref"
	assert_equal "$(line_count "$T/ref")" 5000
	ssa_start --accept -- env VLSINK_CRASH_ON=POISON "$HOOKS" --vehicle=bus-1 --date=2026-01-01
	send "$T/in" >/dev/null
	wait_until $((30 * T_SCALE)) file_has "$T/ssa.err" 'died with code'
	grep -q 'died with code 0' "$T/ssa.err"
	grep -q 'line 5001 quarantined (worker-crash)' "$T/ssa.err"
	jq -c 'del(.peer)' "$T/ssa.out" >"$T/got"
	cmp "$T/ref" "$T/got"
}

@test "the worker killed with SIGSEGV and SIGKILL while lines stream: every other line once" {
	for round in 1 2 3; do
		rm -f "$T"/chunk.* "$T/ssa.out" "$T/ssa.err"
		csv_lines 20000 >"$T/in"
		split -l 250 "$T/in" "$T/chunk."
		ssa_start --accept -- "$VLSINK" --merge=none --restart-limit=50/60 --date=2026-01-01
		{
			for f in "$T"/chunk.*; do
				cat "$f"
				sleep 0.04
			done
		} | timeout $((60 * T_SCALE)) socat -t $((10 * T_SCALE)) - "TCP:127.0.0.1:$PORT" &
		local feeder=$!
		local kills=0 sig pid
		for sig in SEGV KILL SEGV KILL SEGV KILL; do
			sleep "0.$((RANDOM % 20 + 5))"
			pid=$(worker_pid) || break
			[[ -n $pid ]] || break
			kill "-$sig" "$pid" 2>/dev/null && kills=$((kills + 1))
			# The next worker must be there before the next kill.
			wait_until 5 bash -c "r=\$(pgrep -P $SSA_PID | head -n 1); [[ -n \$r && \$(pgrep -P \$r | head -n 1) != $pid ]]" || true
		done
		wait "$feeder" || true
		wait_until $((30 * T_SCALE)) file_has "$T/ssa.err" 'died with code'
		grep -q 'died with code 0' "$T/ssa.err"
		((kills >= 3)) || fail "round $round: only $kills kills landed"
		# Not one record twice, and every missing line one that was quarantined.
		assert_equal "$(delivered "$T/ssa.out" | uniq -d)" ""
		local missing quarantined
		missing=$(comm -23 <(seq 1 20000 | sort) <(delivered "$T/ssa.out" | sort) | sort -n)
		quarantined=$(sed -n 's/.*line \([0-9]*\) quarantined (worker-crash).*/\1/p' "$T/ssa.err" | sort -n)
		assert_equal "$(comm -23 <(echo "$missing") <(echo "$quarantined"))" ""
		summary "$T/ssa.err" | grep -q " $kills worker crash(es), $kills restart(s)"
		kill -TERM -- "-$SSA_PID" 2>/dev/null || true
		wait_gone "$SSA_PID" 5 || true
	done
}

@test "a worker that dies while idle costs nothing: no quarantine, every line once" {
	csv_lines 20 >"$T/in"
	ssa_start --accept -- "$VLSINK" --merge=none --date=2026-01-01
	exec 5<>"/dev/tcp/127.0.0.1/$PORT"
	head -n 10 "$T/in" >&5
	wait_until 10 lines_at_least "$T/ssa.out" 10
	pid=$(worker_pid)
	kill -KILL "$pid"
	wait_until 10 file_has "$T/ssa.err" 'between lines; restarted, no line lost'
	tail -n 10 "$T/in" >&5
	exec 5>&-
	wait_until 10 file_has "$T/ssa.err" 'died with code'
	grep -q 'died with code 0' "$T/ssa.err"
	assert_equal "$(seq 1 20)" "$(delivered "$T/ssa.out")"
	! grep -q quarantined "$T/ssa.err"
	summary "$T/ssa.err" | grep -q ': eof: 20 accepted, 0 ignored, 0 rejected, .* 1 worker crash(es), 1 restart(s)'
}

@test "past the restart limit: exit 75, one entry, nothing after the limit delivered" {
	csv_lines 200 20 30 40 50 60 70 80 90 >"$T/in"
	ssa_start --accept -- env VLSINK_CRASH_ON=POISON "$HOOKS" --merge=none --date=2026-01-01
	exec 5<>"/dev/tcp/127.0.0.1/$PORT"
	head -n 15 "$T/in" >&5
	wait_until 10 lines_at_least "$T/ssa.out" 15
	tail -n +16 "$T/in" >&5
	wait_until $((30 * T_SCALE)) file_has "$T/ssa.err" 'died with code'
	exec 5>&-
	grep -q 'died with code 75' "$T/ssa.err"
	assert_equal "$(grep -c 'worker crashed 6 times within 60 s (--restart-limit=5/60): connection closed' "$T/ssa.err")" 1
	assert_equal "$(grep -c 'quarantined (worker-crash)' "$T/ssa.err")" 6
	grep -q 'line 70 quarantined' "$T/ssa.err"
	summary "$T/ssa.err" | grep -q ': restart-limit: .* 6 worker crash(es), 5 restart(s)'
	# Delivered: lines 1 to some point before the sixth poison line, each
	# once, and every record whole.
	jq -e . "$T/ssa.out" >/dev/null
	last=$(delivered "$T/ssa.out" | tail -n 1)
	((last >= 15 && last < 70))
	assert_equal "$(delivered "$T/ssa.out")" "$(seq 1 "$last" | grep -vxE '20|30|40|50|60')"
}

@test "sanitizer build: an AddressSanitizer report in the worker is a crash, quarantined the same way" {
	[[ ${VLSINK_SANITIZED:-0} == 1 ]] || skip "needs the sanitizer build (make check, VLSINK_SANITIZED=1)"
	csv_lines 1000 500 >"$T/in"
	ssa_start --accept -- env VLSINK_CRASH_ON=POISON "$HOOKS" --merge=none --date=2026-01-01
	send "$T/in" >/dev/null
	wait_until $((30 * T_SCALE)) file_has "$T/ssa.err" 'died with code'
	grep -q 'died with code 0' "$T/ssa.err"
	grep -q 'AddressSanitizer: heap-buffer-overflow' "$T/ssa.err"
	grep -q 'line 500 quarantined (worker-crash): the worker exited with status 1 on it' "$T/ssa.err"
	assert_equal "$(seq 1 1000 | grep -vx 500)" "$(delivered "$T/ssa.out")"
}

@test "SIGTERM to a supervised connection: what was framed is delivered, summary, exit 0" {
	csv_lines 100 >"$T/in"
	ssa_start --accept -- "$VLSINK" --merge=none --date=2026-01-01
	exec 5<>"/dev/tcp/127.0.0.1/$PORT"
	cat "$T/in" >&5
	wait_until 10 lines_at_least "$T/ssa.out" 100
	reader=$(pgrep -P "$SSA_PID" | head -n 1)
	kill -TERM "$reader"
	wait_until 10 file_has "$T/ssa.err" 'died with code'
	exec 5>&-
	grep -q 'died with code 0' "$T/ssa.err"
	assert_equal "$(seq 1 100)" "$(delivered "$T/ssa.out")"
	summary "$T/ssa.err" | grep -q ': signal: 100 accepted'
}

@test "--supervise on a pipe, --no-supervise on a socket, --restart-limit checked" {
	csv_lines 50 10 >"$T/in"
	VLSINK_CRASH_ON=POISON "$HOOKS" --supervise --merge=none <"$T/in" >"$OUT" 2>"$ERR"
	grep -q 'line 10 quarantined' "$ERR"
	assert_equal "$(line_count "$OUT")" 49
	for arg in --restart-limit=0/60 --restart-limit=5 --restart-limit=5/0 --restart-limit=101/60 --restart-limit=5/3601; do
		vl "$arg" </dev/null
		assert_equal "$status" 64 "vlsink $arg"
		grep -qF -- "--restart-limit=" "$ERR"
	done
	csv_lines 5 >"$T/in"
	ssa_start --accept -- "$VLSINK" --no-supervise --merge=none
	send "$T/in" >/dev/null
	wait_until 10 file_has "$T/ssa.err" 'died with code'
	grep -q 'died with code 0' "$T/ssa.err"
	assert_equal "$(line_count "$T/ssa.out")" 5
}

@test "--max-speed across a worker restart: the dropped fix it remembers comes back with the checkpoint" {
	# A wrong first fix, a good one dropped against it, the crash, then a
	# good fix that agrees with the dropped one: kept, as without a crash.
	printf '%s\n' v1,2026-01-01T00:00:00Z,53.5,13.4 v1,2026-01-01T00:01:00Z,52.505,13.4 \
		POISON,2026-01-01T00:01:30Z,52.5,13.4 v1,2026-01-01T00:02:00Z,52.51,13.4 \
		v1,2026-01-01T00:03:00Z,52.515,13.4 >"$T/in"
	VLSINK_CRASH_ON=POISON "$HOOKS" --supervise --max-speed=50 <"$T/in" >"$OUT" 2>"$ERR"
	grep -q 'line 3 quarantined' "$ERR"
	run jq -r .time "$OUT"
	assert_output $'2026-01-01T00:00:00.000Z\n2026-01-01T00:02:00.000Z\n2026-01-01T00:03:00.000Z'
	summary | grep -q 'filtered (max-speed 1)'
}

# mixed_lines N [POISON...]: N lines, line i a record of time i seconds past
# midnight (a CSV line, an RMC, a GGA, in turn, each shorter than the
# smallest --max-line), so that a record's time names its line, merged or
# not; the lines named are CSV lines of vehicle POISON.
mixed_lines() {
	python3 - "$@" <<'PY'
import functools, sys
n, poison = int(sys.argv[1]), set(map(int, sys.argv[2:]))
def nmea(body):
    return "$%s*%02X" % (body, functools.reduce(lambda a, c: a ^ ord(c), body, 0))
for i in range(1, n + 1):
    h, m, s = i // 3600, i // 60 % 60, i % 60
    if i in poison or i % 3 == 1:
        print("%s,2026-01-01T%02d:%02d:%02dZ,48.%04d,11.5" % ("POISON" if i in poison else "v1", h, m, s, i % 10000))
    elif i % 3 == 2:
        print(nmea("GPRMC,%02d%02d%02d,A,4807.04,N,01131.00,E,22.4,84.4,010126,," % (h, m, s)))
    else:
        print(nmea("GPGGA,%02d%02d%02d,4807.04,N,01131.00,E,1,08,0.9,545.4,M,,M,," % (h, m, s)))
PY
}

# seconds: ISO times on stdin, the time's seconds past midnight on stdout.
seconds() {
	awk -F'[T:.]' '{ print $2 * 3600 + $3 * 60 + $4 }'
}

# once_each GOT N POISON...: GOT (record times, in seconds) holds the record
# of every line 1..N but the poison lines, each once.  Says how many records
# came more than once and how many extra copies there were.
once_each() {
	local got=$1 n=$2
	shift 2
	local total unique
	total=$(wc -l <"$got")
	unique=$(sort -un "$got" | wc -l)
	echo "$total records, $((total - unique)) extra copies of $(sort -n "$got" | uniq -d | wc -l) records"
	assert_equal "$((total - unique))" 0
	# Compared quietly: a failure shows the first differences only.
	seq 1 "$n" | grep -vxF -f <(printf '%s\n' "$@") >"$got.want"
	sort -n "$got" | diff "$got.want" - | head -n 20 || true
	sort -n "$got" | cmp -s "$got.want" -
}

POISON_LINES=(1000 3000 5000 7000 9000 11000 13000 15000 17000 19000)

@test "stdout: poison lines with every --merge and a small or large --max-line cost those lines, no record twice" {
	mixed_lines 20000 "${POISON_LINES[@]}" >"$T/in"
	local merge max
	for merge in none epoch; do
		for max in 64 4000; do
			echo "--merge=$merge --max-line=$max"
			VLSINK_CRASH_ON=POISON "$HOOKS" --supervise --restart-limit=50/60 --merge="$merge" \
				--max-line="$max" --date=2026-01-01 --format=csv <"$T/in" >"$OUT" 2>"$ERR"
			assert_equal "$(grep -c 'quarantined (worker-crash)' "$ERR")" 10
			cut -d, -f2 "$OUT" | seconds >"$T/got"
			once_each "$T/got" 20000 "${POISON_LINES[@]}"
		done
	done
}

@test "FIFO: poison lines with every --merge and a small or large --max-line cost those lines, no record twice" {
	mixed_lines 20000 "${POISON_LINES[@]}" >"$T/in"
	mkfifo "$T/fifo"
	local merge max reader
	for merge in none epoch; do
		for max in 64 4000; do
			echo "--merge=$merge --max-line=$max"
			cat "$T/fifo" >"$T/fifo.out" 3>&- &
			track $!
			reader=$!
			VLSINK_CRASH_ON=POISON "$HOOKS" --supervise --restart-limit=50/60 --merge="$merge" \
				--max-line="$max" --date=2026-01-01 --format=csv --sink=fifo:"$T/fifo" <"$T/in" >"$OUT" 2>"$ERR"
			wait_exit "$reader" 10
			assert_equal "$(grep -c 'quarantined (worker-crash)' "$ERR")" 10
			cut -d, -f2 "$T/fifo.out" | seconds >"$T/got"
			once_each "$T/got" 20000 "${POISON_LINES[@]}"
		done
	done
}

@test "journal: poison lines with every --merge and a small or large --max-line cost those lines, no record twice" {
	need_private_mount
	mixed_lines 20000 "${POISON_LINES[@]}" >"$T/in"
	local merge max vpid
	for merge in none epoch; do
		for max in 64 4000; do
			echo "--merge=$merge --max-line=$max"
			rm -f "$T/journal"
			VLSINK_CRASH_ON=POISON in_private_run "$HOOKS" --supervise --restart-limit=50/60 --merge="$merge" \
				--max-line="$max" --date=2026-01-01 --sink=journal <"$T/in" >"$OUT" 2>"$ERR" 3>&- &
			track $!
			vpid=$!
			wait_until 10 file_has "$ERR" 'journal socket absent, waiting'
			fake_journal "$vpid"
			wait_exit "$vpid" $((60 * T_SCALE))
			assert_equal "$status" 0
			wait_until 10 file_has "$T/journal" '^LINES_ACCEPTED='
			kill "$BG_PID"
			assert_equal "$(grep -c '^REJECT_REASON=worker-crash$' "$T/journal")" 10
			sed -n 's/^FIX_TIME=//p' "$T/journal" | seconds >"$T/got"
			once_each "$T/got" 20000 "${POISON_LINES[@]}"
		done
	done
}

# fix_lines FIRST LAST [HELD]: an RMC and a GGA for each second FIRST..LAST
# (one merged fix each), then, with HELD, an RMC alone of second HELD: a fix
# held until the input ends or its hold time is up.
fix_lines() {
	python3 - "$@" <<'PY'
import functools, sys
def nmea(body):
    return "$%s*%02X" % (body, functools.reduce(lambda a, c: a ^ ord(c), body, 0))
def hms(i):
    return "%02d%02d%02d" % (i // 3600, i // 60 % 60, i % 60)
first, last = int(sys.argv[1]), int(sys.argv[2])
for i in range(first, last + 1):
    print(nmea("GPRMC,%s,A,4807.04,N,01131.00,E,22.4,84.4,010126,," % hms(i)))
    print(nmea("GPGGA,%s,4807.04,N,01131.00,E,1,08,0.9,545.4,M,,M,," % hms(i)))
if len(sys.argv) > 3:
    print(nmea("GPRMC,%s,A,4807.04,N,01131.00,E,22.4,84.4,010126,," % hms(int(sys.argv[3]))))
PY
}

@test "a held fix that crashes the worker when the input ends: that fix quarantined (one entry), every other fix once, exit 0" {
	fix_lines 1 100 101 >"$T/in"
	status=0
	VLSINK_CRASH_ON_FIX=000141 "$HOOKS" --supervise --vehicle=bus-1 --format=csv <"$T/in" >"$OUT" 2>"$ERR" || status=$?
	assert_equal "$status" 0
	assert_equal "$(grep -c 'quarantined (worker-crash)' "$ERR")" 1
	grep -q 'fix held after line 201 quarantined (worker-crash): the worker .* delivering it: "\$GPRMC,000141,' "$ERR"
	cut -d, -f2 "$OUT" | seconds >"$T/got"
	assert_equal "$(cat "$T/got")" "$(seq 1 100)"
	summary | grep -q ': eof: 201 accepted, 0 ignored, 0 rejected, .* 1 worker crash(es), 1 restart(s)'
}

@test "a held fix that crashes the worker when its hold time is up: that fix quarantined (one entry), the stream goes on, exit 0" {
	mkfifo "$T/in"
	VLSINK_CRASH_ON_FIX=000051 "$HOOKS" --supervise --vehicle=bus-1 --format=csv <"$T/in" >"$OUT" 2>"$ERR" 3>&- &
	track $!
	local vpid=$!
	exec 5>"$T/in"
	fix_lines 1 50 51 >&5
	# Nothing more comes: the fix of second 51 is closed by its hold time.
	wait_until 10 file_has "$ERR" 'fix held after line 101 quarantined \(worker-crash\): .* delivering it: "\$GPRMC,000051,'
	fix_lines 52 100 >&5
	exec 5>&-
	wait_exit "$vpid" 10
	assert_equal "$status" 0
	assert_equal "$(grep -c 'quarantined (worker-crash)' "$ERR")" 1
	cut -d, -f2 "$OUT" | seconds >"$T/got"
	assert_equal "$(cat "$T/got")" "$(seq 1 100 | grep -vx 51)"
	summary | grep -q ': eof: 199 accepted, 0 ignored, 0 rejected, .* 1 worker crash(es), 1 restart(s)'
}

@test "a fix closed by a line that crashes the worker: that fix quarantined (one entry), the line and every other fix once, exit 0" {
	fix_lines 1 100 >"$T/in"
	local marker line first
	# The fix of second 51 goes out when its GGA (line 102) completes it;
	# the first fix, before the cycle is known, when the RMC of second 2
	# (line 3) begins the next.
	for marker in 000051:102 000001:3; do
		line=${marker#*:} marker=${marker%:*}
		status=0
		VLSINK_CRASH_ON_FIX=$marker "$HOOKS" --supervise --vehicle=bus-1 --format=csv <"$T/in" >"$OUT" 2>"$ERR" || status=$?
		assert_equal "$status" 0
		assert_equal "$(grep -c 'quarantined (worker-crash)' "$ERR")" 1
		grep -q "fix closed by line $line quarantined (worker-crash): the worker .* delivering it: \"\\\$GPRMC,$marker," "$ERR"
		cut -d, -f2 "$OUT" | seconds >"$T/got"
		first=$((10#$marker))
		assert_equal "$(cat "$T/got")" "$(seq 1 100 | grep -vx "$first")"
		summary | grep -q ': eof: 200 accepted, 0 ignored, 0 rejected, .* 1 worker crash(es), 1 restart(s)'
	done
}
