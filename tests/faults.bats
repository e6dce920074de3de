#!/usr/bin/env bats
# shellcheck disable=SC2119,SC2120 # helpers with an optional FILE argument
# Faults around vlsink and vlsink-collect, injected with an LD_PRELOAD shim
# (tests/shim/faultinject.c, built here): write() and fdatasync() on one
# descriptor fail with a chosen errno, or write short, on chosen calls.
# Each test says in its name what the fault costs; together they are the
# fault-cost table of docs/reliability.md.  Faults that need no shim (a reader that
# goes away, a real full disk, a journal that is absent or restarts) are in
# sinks.bats, collect.bats, journal.bats and systemd.bats.
#
# Every test checks the shim's log too: a fault that was never injected
# would make a test pass for nothing.

load 'lib/common'

setup_file() {
	local src=$BATS_TEST_DIRNAME/shim/faultinject.c so=$BATS_FILE_TMPDIR/faultinject.so
	export SHIM_ERR=''
	if ! "${CC:-cc}" -shared -fPIC -O2 -std=c11 -Wall -Wextra -o "$so" "$src" -ldl \
		2>"$BATS_FILE_TMPDIR/shim.log"; then
		SHIM_ERR="cannot build the fault shim: $(head -n 5 "$BATS_FILE_TMPDIR/shim.log")"
		return 0
	fi
	# An ASan runtime linked dynamically (gcc) must come first in the
	# library list, or it refuses to start; the shim goes right after it.
	# Its write() interceptor then calls the shim's write(), which calls
	# libc's: both layers see every call.
	local asan
	asan=$(ldd "$VLSINK" 2>/dev/null | awk '/libasan|libclang_rt\.asan/ { print $3; exit }')
	export SHIM_PRELOAD=${asan:+$asan:}$so
	# The crash simulator (tests/shim/crashsim.c) for tests/crashcheck.py.
	export CRASH_SO=$BATS_FILE_TMPDIR/crashsim.so
	"${CC:-cc}" -shared -fPIC -O2 -std=c11 -Wall -Wextra -o "$CRASH_SO" "$BATS_TEST_DIRNAME/shim/crashsim.c" -ldl \
		2>>"$BATS_FILE_TMPDIR/shim.log" || CRASH_SO=
	export CRASH_PRELOAD=${asan:+$asan:}$CRASH_SO
	# The collector next to $VLSINK, so that the sanitizer pass tests both.
	COLLECT=$(dirname "$VLSINK")/vlsink-collect
	export COLLECT
}

setup() {
	common_setup
	[[ -z $SHIM_ERR ]] || skip "$SHIM_ERR"
	FLOG=$T/faults
	# Fault the (canonical) path of files the test makes.
	T=$(realpath "$T")
}

teardown() {
	common_teardown
}

# faulted VAR=VALUE... -- CMD...: runs CMD with the shim and the FAULT_*
# settings given; the shim logs each injected fault to $FLOG.  Redirections
# are the caller's.
faulted() {
	local -a vars=()
	while [[ $1 != -- ]]; do
		vars+=("$1")
		shift
	done
	shift
	env LD_PRELOAD="$SHIM_PRELOAD" FAULT_LOG="$FLOG" "${vars[@]}" "$@"
}

# injected [PATTERN]: how many faults the shim logged (matching PATTERN).
injected() {
	if [[ -f $FLOG ]]; then grep -c -- "${1:-.}" "$FLOG" || true; else echo 0; fi
}

# not_delivered [FILE]: N from "sink failed: N record(s) not delivered".
not_delivered() {
	sed -nE 's/.*sink failed: ([0-9]+) record\(s\) not delivered.*/\1/p' "${1:-$ERR}"
}

# A mixed input: NMEA from the generator, with lines that are ignored and
# rejected in between, and gpsd and CSV positions.
mixed_input() { # LINES
	{
		gen_nmea "$1"
		printf '%s\r\n' "$(nmea "$GSV_BODY")" 'garbage' "$(nmea "$RMC_BODY")"
		printf '{"class":"TPV","mode":3,"time":"2026-01-01T00:00:00.000Z","lat":1.5,"lon":2.5,"alt":3}\n'
		printf 'bus-1,1767225600,52.5,13.4,1.5,90,34\n'
	}
}

# The records of FILE[1] without faults, in $T/expected.
expected_of() { # INPUT [VLSINK-ARGS...]
	local in=$1
	shift
	"$VLSINK" "$@" <"$in" >"$T/expected" 2>"$T/expected.err" 3>&- ||
		fail "unfaulted run failed: $(cat "$T/expected.err")"
}

# whole_prefix GOT EXPECTED: GOT is EXPECTED's first lines, each whole.
whole_prefix() {
	local n
	n=$(wc -l <"$1")
	[[ ! -s $1 || $(tail -c 1 "$1" | od -An -tx1 | tr -d ' ') == 0a ]] || return 1
	head -n "$n" "$2" | cmp -s - "$1"
}

# --- vlsink, stdout sink -------------------------------------------------------

@test "stdout EIO on the first write: exit 74, every record of the batch reported not delivered, nothing written" {
	printf '%s\r\n' "$(nmea "$RMC_BODY")" "$(nmea "$GGA_BODY")" "$(rmc_at 5)" >"$T/in"
	status=0
	# One record per line, so that records and accepted lines can be
	# counted against each other (here and below).
	faulted FAULT_WRITE_FD=1 FAULT_WRITE_ERRNO=EIO -- "$VLSINK" --merge=none <"$T/in" >"$OUT" 2>"$ERR" 3>&- || status=$?
	assert_equal "$status" 74
	assert_equal "$(injected 'fd=1 .*-> EIO')" 1
	assert_equal "$(not_delivered)" 3
	assert_equal "$(cat "$OUT")" ""
	summary | grep -q ': sink-error: 3 accepted'
}

@test "stdout EIO or ENOSPC mid-stream: exit 74 at once; batches before are whole, the rest counted as not delivered; reading stops" {
	gen_nmea 20000 >"$T/in"
	expected_of "$T/in"
	local total size e n got
	total=$(line_count "$T/expected")
	size=$(stat -c %s "$T/in")
	for e in EIO ENOSPC; do
		rm -f "$FLOG"
		status=0
		faulted FAULT_WRITE_FD=1 FAULT_WRITE_ERRNO="$e" FAULT_WRITE_AFTER=3 -- \
			"$VLSINK" <"$T/in" >"$OUT" 2>"$ERR" 3>&- || status=$?
		assert_equal "$status" 74
		assert_equal "$(injected "-> $e")" 1
		n=$(not_delivered)
		got=$(line_count "$OUT")
		echo "$e: $got records written, $n reported not delivered, of $total"
		((n > 0 && got > 0))
		# What was written is whole records, the first ones, once.
		whole_prefix "$OUT" "$T/expected" || fail "$e: output is not a whole-record prefix"
		((got + n <= total))
		# It stopped reading at the failure, long before the end.
		(($(summary_bytes) < size / 2))
		summary | grep -q ': sink-error: '
	done
}

@test "stdout short write, then EIO: the whole records that got out are not counted lost, the torn one is" {
	gen_nmea 2000 >"$T/in"
	local n whole accepted
	status=0
	faulted FAULT_WRITE_FD=1 FAULT_WRITE_SEQ=short:500,EIO FAULT_WRITE_AFTER=2 FAULT_WRITE_TIMES=2 -- \
		"$VLSINK" --merge=none <"$T/in" >"$OUT" 2>"$ERR" 3>&- || status=$?
	assert_equal "$status" 74
	n=$(not_delivered)
	# Complete lines in the output are the records delivered; a torn
	# last one (no LF) is not.
	whole=$(grep -c '' <(sed -n '/}$/p' "$OUT"))
	accepted=$(summary | sed -nE 's/.*sink-error: ([0-9]+) accepted.*/\1/p')
	echo "whole $whole, not delivered $n, accepted $accepted"
	[ "$(tail -c1 "$OUT" | od -An -c | tr -d ' ')" != '\n' ] # the torn record is there
	assert_equal "$((whole + n))" "$accepted"
	summary | grep -q "$n not delivered"
}

@test "stdout EINTR on every other write: retried, costs nothing, output byte for byte as without faults" {
	mixed_input 20000 >"$T/in"
	expected_of "$T/in"
	status=0
	faulted FAULT_WRITE_FD=1 FAULT_WRITE_ERRNO=EINTR FAULT_WRITE_EVERY=2 -- \
		"$VLSINK" <"$T/in" >"$OUT" 2>"$ERR" 3>&- || status=$?
	assert_equal "$status" 0
	(($(injected '-> EINTR') >= 10))
	cmp "$T/expected" "$OUT"
	assert_equal "$(summary_counts)" "$(summary_counts "$T/expected.err")"
}

@test "stdout EAGAIN on every other write: polled and retried, costs nothing, byte for byte" {
	mixed_input 20000 >"$T/in"
	expected_of "$T/in" --format=csv
	status=0
	faulted FAULT_WRITE_FD=1 FAULT_WRITE_ERRNO=EAGAIN FAULT_WRITE_EVERY=2 -- \
		"$VLSINK" --format=csv <"$T/in" >"$OUT" 2>"$ERR" 3>&- || status=$?
	assert_equal "$status" 0
	(($(injected '-> EAGAIN') >= 10))
	cmp "$T/expected" "$OUT"
}

@test "stdout short writes (777 bytes, ending mid-record) on every write: continued where they stopped, byte for byte" {
	mixed_input 20000 >"$T/in"
	expected_of "$T/in"
	status=0
	faulted FAULT_WRITE_FD=1 FAULT_WRITE_SHORT=777 -- "$VLSINK" <"$T/in" >"$OUT" 2>"$ERR" 3>&- || status=$?
	assert_equal "$status" 0
	(($(injected '-> short 777') >= 100))
	cmp "$T/expected" "$OUT"
	# The same, raw, and the three kinds of fault in turn.
	expected_of "$T/in" --format=raw
	rm -f "$FLOG"
	status=0
	faulted FAULT_WRITE_FD=1 FAULT_WRITE_SEQ=EINTR,short:half,EAGAIN,pass,short:1 -- \
		"$VLSINK" --format=raw <"$T/in" >"$OUT" 2>"$ERR" 3>&- || status=$?
	assert_equal "$status" 0
	(($(injected) >= 20))
	cmp "$T/expected" "$OUT"
}

@test "stderr failing (EIO on every write): only the diagnostics are lost; records all delivered, exit 0" {
	mixed_input 2000 >"$T/in"
	expected_of "$T/in"
	status=0
	faulted FAULT_WRITE_FD=2 FAULT_WRITE_ERRNO=EIO -- "$VLSINK" <"$T/in" >"$OUT" 2>"$ERR" 3>&- || status=$?
	assert_equal "$status" 0
	# The reject message and the summary were both attempted, and lost.
	assert_equal "$(injected 'fd=2 .*-> EIO')" 2
	assert_equal "$(cat "$ERR")" ""
	cmp "$T/expected" "$OUT"
}

# --- vlsink, FIFO sink -----------------------------------------------------------

# fifo_run VLSINK-ARGS... -- FAULT-SETTINGS...: vlsink writes $T/in into the
# FIFO $T/fifo, read by cat into $T/got; status in $status.
fifo_run() {
	local -a args=()
	while [[ $1 != -- ]]; do
		args+=("$1")
		shift
	done
	shift
	rm -f "$T/fifo" "$T/got"
	mkfifo "$T/fifo"
	cat "$T/fifo" >"$T/got" 3>&- &
	track $!
	local reader=$!
	status=0
	faulted FAULT_WRITE_PATH="$T/fifo" "$@" -- \
		"$VLSINK" --sink=fifo:"$T/fifo" "${args[@]}" <"$T/in" >"$OUT" 2>"$ERR" 3>&- || status=$?
	local rc=$status
	wait_exit "$reader" 10
	status=$rc
}

@test "FIFO EAGAIN and EINTR on alternate writes: each batch written again whole; costs nothing, every record once, none torn" {
	mixed_input 3000 >"$T/in"
	expected_of "$T/in"
	fifo_run -- FAULT_WRITE_SEQ=EAGAIN,pass,EINTR,pass
	assert_equal "$status" 0
	(($(injected '-> EAGAIN') >= 10 && $(injected '-> EINTR') >= 10))
	cmp "$T/expected" "$T/got"
	# Every write that reached the FIFO was a batch of whole records.
	jq -e -c . "$T/got" >/dev/null
}

@test "FIFO EPIPE 3 times (reader still there): reopened at once and the batch written again; costs a reopen and 2 log lines each, nothing lost or doubled" {
	mixed_input 3000 >"$T/in"
	expected_of "$T/in" --format=raw
	fifo_run --format=raw -- FAULT_WRITE_ERRNO=EPIPE FAULT_WRITE_AFTER=5 FAULT_WRITE_TIMES=3
	assert_equal "$status" 0
	assert_equal "$(injected '-> EPIPE')" 3
	assert_equal "$(grep -c 'reader went away, waiting for another' "$ERR")" 3
	assert_equal "$(grep -c 'reader present, delivering' "$ERR")" 3
	cmp "$T/expected" "$T/got"
	assert_equal "$(summary_counts)" "$(summary_counts "$T/expected.err")"
}

@test "FIFO short write (impossible up to PIPE_BUF): vlsink refuses to go on torn: exit 74, the batch counted not delivered" {
	mixed_input 3000 >"$T/in"
	expected_of "$T/in"
	fifo_run -- FAULT_WRITE_SHORT=100 FAULT_WRITE_AFTER=3 FAULT_WRITE_TIMES=1
	assert_equal "$status" 74
	assert_equal "$(injected '-> short 100')" 1
	grep -qE "$T/fifo: short write of 100 of [0-9]+ bytes" "$ERR"
	local n
	n=$(not_delivered)
	((n > 0))
	# Whole batches, then the 100 bytes the kernel took: the start of a
	# record, without its LF, which a collector rejects as not JSON.
	cmp -n "$(stat -c %s "$T/got")" "$T/got" "$T/expected"
	[[ $(tail -c 1 "$T/got" | od -An -tx1 | tr -d ' ') != 0a ]]
	local last
	last=$(sed -nE 's/.*size=([0-9]+) -> short 100/\1/p' "$FLOG")
	((last > 100))
	summary | grep -q ': sink-error: '
}

@test "FIFO EIO: exit 74 at once, the records not delivered counted" {
	mixed_input 3000 >"$T/in"
	expected_of "$T/in"
	fifo_run -- FAULT_WRITE_ERRNO=EIO FAULT_WRITE_AFTER=4
	assert_equal "$status" 74
	assert_equal "$(injected '-> EIO')" 1
	grep -q "$T/fifo: Input/output error" "$ERR"
	((n = $(not_delivered), n > 0))
	whole_prefix "$T/got" "$T/expected"
	(($(line_count "$T/got") + n <= $(line_count "$T/expected")))
}

# --- vlsink-collect ----------------------------------------------------------------

# gen_fixed COUNT: COUNT JSON records of exactly 100 bytes each, LF included.
gen_fixed() {
	awk -v n="$1" 'BEGIN { pad = sprintf("%74s", ""); gsub(/ /, "x", pad)
		for (i = 1; i <= n; i++) printf "{\"seq\":\"%06d\",\"pad\":\"%s\"}\n", i, pad }'
}

# collect_run FAULT-SETTINGS... [-- COLLECTOR-ARGS...]: the collector reads
# $T/recs and appends to $T/out; status in $status, stderr in $ERR.
collect_run() {
	local -a vars=() args=()
	while (($#)) && [[ $1 != -- ]]; do
		vars+=("$1")
		shift
	done
	[[ ${1:-} == -- ]] && shift
	args=("$@")
	status=0
	faulted FAULT_WRITE_PATH="$T/out" "${vars[@]}" -- \
		"$COLLECT" --output="$T/out" "${args[@]}" <"$T/recs" >/dev/null 2>"$ERR" 3>&- || status=$?
}

@test "collector output ENOSPC twice: input paused, retried every second; costs ~2 s, each record written exactly once, in order" {
	gen_fixed 2000 >"$T/recs" # 200,000 bytes: three reads
	local t0=$SECONDS
	collect_run FAULT_WRITE_ERRNO=ENOSPC FAULT_WRITE_AFTER=2 FAULT_WRITE_TIMES=2
	assert_equal "$status" 0
	assert_equal "$(injected '-> ENOSPC')" 2
	((SECONDS - t0 >= 1))
	cmp "$T/recs" "$T/out"
	assert_equal "$(grep -c 'write: No space left on device; input paused, retrying every second' "$ERR")" 1
	grep -q 'writable again after [0-9]* s, input resumed' "$ERR"
	grep -q 'summary: 2000 record(s) written, 0 rejected .* 200000 bytes read, 200000 bytes written, end=eof' "$ERR"
}

@test "collector output cut short mid-record, then ENOSPC (a disk filling up): the torn tail is cut back and written again; each record once" {
	gen_fixed 2000 >"$T/recs"
	# The second batch: 150 bytes go in (a record and a half), then the
	# disk is full twice.  Meanwhile the file must hold only whole records.
	collect_run FAULT_WRITE_SEQ=short:150,ENOSPC,ENOSPC FAULT_WRITE_AFTER=2 FAULT_WRITE_TIMES=3
	assert_equal "$status" 0
	assert_equal "$(injected)" 3
	grep -q -- '-> short 150' "$FLOG"
	# The retries continued from the last whole record (byte 100 of the
	# batch), not from where the short write stopped, nor from the start.
	local first second third sizes
	mapfile -t sizes < <(sed -nE 's/.*size=([0-9]+) .*/\1/p' "$FLOG")
	first=${sizes[0]} second=${sizes[1]} third=${sizes[2]}
	assert_equal "$second" $((first - 150))
	assert_equal "$third" $((first - 100))
	cmp "$T/recs" "$T/out"
	grep -q 'summary: 2000 record(s) written' "$ERR"
}

@test "collector output EINTR, EAGAIN and short writes in turn on every write: continued where they stopped; costs nothing, byte for byte" {
	gen_fixed 5000 >"$T/recs"
	collect_run FAULT_WRITE_SEQ=EINTR,short:333,EAGAIN,short:half,short:1
	assert_equal "$status" 0
	(($(injected) >= 20))
	cmp "$T/recs" "$T/out"
	refute grep -q 'input paused' "$ERR"
}

@test "collector fdatasync EIO twice: the batch is cut back and written again from memory before it counts (a retried sync proves nothing); each record once" {
	gen_fixed 2000 >"$T/recs"
	collect_run FAULT_SYNC_ERRNO=EIO FAULT_SYNC_AFTER=2 FAULT_SYNC_TIMES=2
	assert_equal "$status" 0
	assert_equal "$(injected 'fdatasync .*-> EIO')" 2
	cmp "$T/recs" "$T/out"
	# The second batch (bytes 69,500-138,999) failed to sync: back to the
	# size of the first, once said, written again, and again after the
	# second failure.
	assert_equal "$(grep -c 'fdatasync: Input/output error; input paused, retrying every second' "$ERR")" 1
	assert_equal "$(grep -c "$T/out: cut back to 69500 bytes, its size when last synced: the batch of 69500 bytes is written again from memory" "$ERR")" 1
	grep -q 'writable again after' "$ERR"
	grep -q 'summary: 2000 record(s) written' "$ERR"
	# In the system calls: after each failed sync (which the shim answers,
	# so it is not traced), ftruncate to 69500, then the whole batch again,
	# then a sync that succeeds; the batch counts only then.
	command -v strace >/dev/null || skip "needs strace for the system-call check"
	rm -f "$T/out" "$T/out.state" "$FLOG"
	status=0
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 strace -o "$T/trace" -e trace=read,write,ftruncate,fdatasync \
		env LD_PRELOAD="$SHIM_PRELOAD" FAULT_LOG="$FLOG" FAULT_WRITE_PATH="$T/out" \
		FAULT_SYNC_ERRNO=EIO FAULT_SYNC_AFTER=2 FAULT_SYNC_TIMES=2 \
		"$COLLECT" --output="$T/out" <"$T/recs" >/dev/null 2>"$ERR" 3>&- || status=$?
	assert_equal "$status" 0
	cmp "$T/recs" "$T/out"
	# R read of stdin, W write of a whole batch to the output, T ftruncate
	# to 69500, S successful fdatasync of the output.
	awk '/^read\(0,/ { printf "R" } /^write\(3, .*, 69500\) += 69500/ { printf "W" }
		/^ftruncate\(3, 69500\) += 0/ { printf "T" } /^fdatasync\(3\) += 0/ { printf "S" } END { print "" }' \
		"$T/trace" >"$T/seq"
	run cat "$T/seq"
	assert_output --regexp '^RWSRWTWTWSR'
}

@test "collector fdatasync failing for good, then SIGTERM: exit 74; the batch is cut back out of the file and reported read but not written (never counted)" {
	gen_fixed 2000 >"$T/recs"
	# Not through faulted: $! must be the collector's pid, not a subshell's.
	env LD_PRELOAD="$SHIM_PRELOAD" FAULT_LOG="$FLOG" FAULT_WRITE_PATH="$T/out" FAULT_SYNC_ERRNO=EIO \
		"$COLLECT" --output="$T/out" <"$T/recs" >/dev/null 2>"$ERR" 3>&- &
	track $!
	local cpid=$!
	wait_until 10 file_has "$ERR" 'fdatasync: Input/output error; input paused'
	# Cut back at once, not only when the retry comes: a kill meanwhile
	# must not leave pages the kernel may have dropped.
	assert_equal "$(stat -c %s "$T/out")" 0
	kill -TERM "$cpid"
	wait_exit "$cpid" 10
	assert_equal "$status" 74
	# The first read (69,538 bytes of the 100-byte records: 695 whole ones)
	# was written and cut off again; none of it counts.
	grep -q "$T/out: 695 record(s) read but not written" "$ERR"
	grep -q 'summary: 0 record(s) written, .* end=stopped-while-stalled' "$ERR"
	assert_equal "$(stat -c %s "$T/out")" 0
}

@test "collector output EPERM (not a disk-full kind of error): exit 74 at once, the records read but not written counted" {
	gen_fixed 2000 >"$T/recs"
	collect_run FAULT_WRITE_ERRNO=EPERM FAULT_WRITE_AFTER=2
	assert_equal "$status" 74
	assert_equal "$(injected '-> EPERM')" 1
	grep -q "$T/out: write: Operation not permitted" "$ERR"
	# The second read's 695 records (bytes 69,500-139,037 of the input).
	grep -q "$T/out: 695 record(s) read but not written" "$ERR"
	grep -q 'summary: 695 record(s) written, .* end=output-error' "$ERR"
	head -n 695 "$T/recs" | cmp - "$T/out"
}

@test "collector power cut at every write, truncate, sync and rename (unsynced data dropped, kept or torn; EIO with Linux's dropped pages): every record counted as durable is there once, nothing torn after restart" {
	[[ -n $CRASH_SO ]] || skip "cannot build the crash shim"
	command -v python3 >/dev/null || skip "needs python3"
	local mode out
	for mode in plain eio; do
		mkdir -p "$T/$mode"
		local -a extra=()
		# The third sync of the output (the second batch's) fails.
		[[ $mode == eio ]] && extra=(--eio-at 3)
		out=$(python3 "$BATS_TEST_DIRNAME/crashcheck.py" "$COLLECT" "$CRASH_PRELOAD" "$T/$mode" "${extra[@]}") ||
			fail "$mode: $out"
		echo "# crash check, $mode: $out" >&3
		[[ $out =~ ^cut\ points:\ ([0-9]+), ]] && ((BASH_REMATCH[1] >= 30)) || fail "$mode: too few cut points: $out"
		[[ $out == *'counted at the end: 24' ]]
	done
}
