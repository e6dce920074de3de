#!/usr/bin/env bats
# The pipeline under valgrind memcheck: zero errors and zero leaks of any
# kind (definite, indirect, possible, still reachable), on the normal paths
# and on the error paths that end a process early: vlsink to stdout in every
# format, to a FIFO read by cat (and waited for), into vlsink-collect and
# its file, behind systemd-socket-activate --accept over TCP (end of
# stream, reset, idle timeout), a failing sink, SIGTERM.
#
# Skipped in the sanitizer pass: valgrind cannot run ASan-instrumented
# binaries (both replace malloc and claim the same address space).
# vlsink runs --no-sandbox here: valgrind implements no seccomp() and its
# translated code lives in executable memory that the filter would refuse.

load 'lib/common'

VG_OPTS=(--leak-check=full --show-leak-kinds=all --errors-for-leak-kinds=all
	--error-exitcode=99 --track-origins=yes)

setup_file() {
	export VG_SKIP=''
	if [[ ${VLSINK_SANITIZED:-0} == 1 ]]; then
		VG_SKIP="valgrind cannot run ASan-instrumented binaries (VLSINK_SANITIZED=1)"
	elif ! command -v valgrind >/dev/null; then
		VG_SKIP="valgrind not installed"
	elif ! valgrind -q "$VLSINK" --version >/dev/null 2>"$BATS_FILE_TMPDIR/vg.probe"; then
		VG_SKIP="valgrind cannot run this binary: $(head -n 1 "$BATS_FILE_TMPDIR/vg.probe")"
	fi
	COLLECT=$(dirname "$VLSINK")/vlsink-collect
	export COLLECT
}

setup() {
	[[ -z $VG_SKIP ]] || skip "$VG_SKIP"
	common_setup
	[[ -x $COLLECT ]] || fail "no collector at $COLLECT"
}

teardown() {
	common_teardown
}

# vg TAG CMD...: CMD under memcheck, its report in $T/vg.TAG.<pid>.  For a
# background run, use "valgrind -q "${VG_OPTS[@]}" --log-file=... CMD &":
# valgrind execs its tool, so $! is the program's pid.
vg() {
	local tag=$1
	shift
	valgrind -q "${VG_OPTS[@]}" --log-file="$T/vg.$tag.%p" "$@"
}

# vg_clean TAG: memcheck ran for TAG and reported nothing.
vg_clean() {
	local f found=0
	for f in "$T"/vg."$1".*; do
		[[ -e $f ]] || continue
		found=1
		# This valgrind does not know pidfd_open (syscall 434) and says so;
		# it fails it with ENOSYS, and vlsink's reader then watches its
		# worker with waitpid on a tick instead: not an error of vlsink's.
		if grep -qv -e 'unhandled amd64-linux syscall: 434' -e 'write your own handler' \
			-e README_MISSING_SYSCALL_OR_IOCTL -e 'we consider this a bug' -e bug_reports.html "$f"; then
			cat "$f"
			fail "valgrind reported errors or leaks for $1 (above)"
		fi
	done
	((found)) || fail "no valgrind report for $1: did it run?"
}

# A stream with something of everything: NMEA (RMC, GGA, GSV), ids, gpsd
# TPV and SKY, CSV with and without a header, rejects of every kind, a long
# line, control bytes, and a last line without LF.
mixed_input() {
	gen_nmea 300
	printf '%s\r\n' "$GSV" "${RMC/\*/0*}" 'junk' "$(nmea PGID,bus-42)" "$RMC" \
		"$(nmea 'GPRMC,123519,V,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W')"
	printf 'a\0b\n\x01\x7f\n'
	printf '%*s\n' 5000 '' | tr ' ' y
	printf '{"class":"TPV","mode":3,"time":"2026-01-01T00:00:00.000Z","lat":1.5,"lon":2.5,"alt":3,"speed":1,"track":2}\n'
	printf '{"class":"SKY","satellites":[{"PRN":1}]}\n{"class":"TPV","mode":1}\n{"class":"TPV","lat":NaN}\n'
	printf 'IMEI 123456789012345\n'
	printf 'id,time,lat,lon\nbus-1,1767225600,52.5,13.4,1.5,90,34\nbus-2,2026-01-01T00:00:00Z,91,0\n'
	printf 'bus-3,2026-02-30T00:00:00Z,1,2\n'
	printf '%s' "$RMC"
}

@test "vlsink to stdout, json, csv and raw: no memory error, no leak" {
	mixed_input >"$T/in"
	local fmt
	for fmt in json csv raw; do
		REMOTE_ADDR=192.0.2.7 REMOTE_PORT=4242 "$VLSINK" --no-sandbox --format="$fmt" <"$T/in" >"$T/expected" 2>/dev/null 3>&-
		status=0
		REMOTE_ADDR=192.0.2.7 REMOTE_PORT=4242 vg "stdout-$fmt" "$VLSINK" --no-sandbox --format="$fmt" \
			<"$T/in" >"$OUT" 2>"$ERR" 3>&- || status=$?
		assert_equal "$status" 0
		vg_clean "stdout-$fmt"
		cmp "$T/expected" "$OUT"
		summary | grep -qE ': eof: [1-9][0-9]* accepted, [1-9][0-9]* ignored, [1-9][0-9]* rejected'
	done
	# The other options' paths: strict checksums, a date, a vehicle.
	status=0
	vg options "$VLSINK" --no-sandbox --checksum=strict --date=2026-01-01 --vehicle=v-1 --max-line=4000 \
		<"$T/in" >"$OUT" 2>"$ERR" 3>&- || status=$?
	assert_equal "$status" 0
	vg_clean options
}

@test "vlsink to a FIFO, waited for until cat reads it: no memory error, no leak" {
	mixed_input >"$T/in"
	"$VLSINK" --no-sandbox --format=raw <"$T/in" >"$T/expected" 2>/dev/null 3>&-
	mkfifo "$T/fifo"
	valgrind -q "${VG_OPTS[@]}" --log-file="$T/vg.fifo.%p" \
		"$VLSINK" --no-sandbox --format=raw --sink=fifo:"$T/fifo" <"$T/in" >"$OUT" 2>"$ERR" 3>&- &
	track $!
	local vpid=$!
	wait_until 30 file_has "$ERR" 'no reader, waiting'
	cat "$T/fifo" >"$T/got" 3>&- &
	track $!
	local reader=$!
	wait_exit "$vpid" 60
	assert_equal "$status" 0
	wait_exit "$reader" 10
	vg_clean fifo
	cmp "$T/expected" "$T/got"
}

@test "vlsink into vlsink-collect through a FIFO, and the collector on garbage: no memory error, no leak" {
	mixed_input >"$T/in"
	"$VLSINK" --no-sandbox <"$T/in" >"$T/expected" 2>/dev/null 3>&-
	mkfifo "$T/fifo"
	# As under ListenFIFO=: the collector holds the FIFO read-write on fd 3.
	LISTEN_FDS=1 valgrind -q "${VG_OPTS[@]}" --log-file="$T/vg.collect.%p" \
		"$COLLECT" --output="$T/positions.jsonl" 3<>"$T/fifo" 2>"$T/collect.err" &
	track $!
	local cpid=$!
	status=0
	vg writer "$VLSINK" --no-sandbox --sink=fifo:"$T/fifo" <"$T/in" >/dev/null 2>"$ERR" 3>&- || status=$?
	assert_equal "$status" 0
	vg_clean writer
	wait_until 60 lines_at_least "$T/positions.jsonl" "$(line_count "$T/expected")"
	kill -TERM "$cpid"
	wait_exit "$cpid" 60
	assert_equal "$status" 0
	vg_clean collect
	cmp "$T/expected" "$T/positions.jsonl"
	grep -q 'summary: .* end=signal' "$T/collect.err"

	# Garbage of every kind into the collector's stdin, to standard output.
	{
		cat "$T/expected"
		head -c 20000 /dev/urandom
		printf '\n{"a":[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]}\n{"s":"\\ud800"}\n{"n":01}\n'
		printf '%*s\n' 6000 '' | tr ' ' x
		printf '{"ok":true}'
	} >"$T/garbage"
	status=0
	vg collect-garbage "$COLLECT" --output=- <"$T/garbage" >"$OUT" 2>"$ERR" || status=$?
	assert_equal "$status" 0
	vg_clean collect-garbage
	assert_equal "$(tail -n 1 "$OUT")" '{"ok":true}'
}

@test "vlsink behind systemd-socket-activate --accept: end of stream, reset mid-line, idle timeout; no memory error, no leak" {
	command -v systemd-socket-activate >/dev/null || skip "systemd-socket-activate not installed"
	mixed_input >"$T/in"
	# valgrind runs the program in its own process: LISTEN_PID matches.
	ssa_start --accept -- valgrind -q "${VG_OPTS[@]}" --log-file="$T/vg.tcp.%p" \
		"$VLSINK" --no-sandbox --idle-timeout=2
	# 1: the whole stream, then a half-close.
	timeout $((60 * T_SCALE)) socat -t 30 -T 60 - "TCP:127.0.0.1:$PORT" <"$T/in" >/dev/null
	wait_until 60 bash -c "[[ \$(grep -c 'died with code' '$T/ssa.err') -ge 1 ]]"
	# 2: a line and a half, then an RST.
	python3 -c '
import socket, struct, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(sys.argv[2].encode() + b"\r\n" + sys.argv[2][:30].encode())
time.sleep(2)
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
s.close()' "$PORT" "$RMC"
	# 3: nothing at all, until the idle timeout.
	exec 5<>"/dev/tcp/127.0.0.1/$PORT"
	wait_until 60 bash -c "[[ \$(grep -c 'died with code' '$T/ssa.err') -ge 3 ]]"
	exec 5>&-
	run grep -c 'died with code 0' "$T/ssa.err"
	assert_output 3
	grep -q ': eof: ' "$T/ssa.err"
	grep -q ': reset: 1 accepted' "$T/ssa.err"
	grep -q ': idle-timeout: 0 accepted' "$T/ssa.err"
	vg_clean tcp
	# Three connections, each a reader and its worker (supervised).
	local reports=("$T"/vg.tcp.*)
	assert_equal "${#reports[@]}" 6
}

@test "error paths: sink failure (exit 74), SIGTERM mid-stream, FIFO never read (exit 74), usage error: no memory error, no leak" {
	mixed_input >"$T/in"
	status=0
	vg full "$VLSINK" --no-sandbox <"$T/in" >/dev/full 2>"$ERR" 3>&- || status=$?
	assert_equal "$status" 74
	vg_clean full
	grep -q 'record(s) not delivered' "$ERR"

	status=0
	vg usage "$VLSINK" --no-sandbox --sink=bogus </dev/null >/dev/null 2>"$ERR" 3>&- || status=$?
	assert_equal "$status" 64
	vg_clean usage

	# SIGTERM while reading a pipe that stays open.
	mkfifo "$T/pipe"
	valgrind -q "${VG_OPTS[@]}" --log-file="$T/vg.term.%p" \
		"$VLSINK" --no-sandbox <"$T/pipe" >"$OUT" 2>"$ERR" 3>&- &
	track $!
	local vpid=$!
	exec 5>"$T/pipe"
	head -n 100 "$T/in" >&5
	wait_until 60 lines_at_least "$OUT" 50
	kill -TERM "$vpid"
	wait_exit "$vpid" 60
	exec 5>&-
	assert_equal "$status" 0
	vg_clean term
	summary | grep -q ': signal: '

	# A FIFO nobody reads, then SIGTERM: the grace period runs out.
	mkfifo "$T/fifo"
	valgrind -q "${VG_OPTS[@]}" --log-file="$T/vg.fifo-term.%p" \
		"$VLSINK" --no-sandbox --sink=fifo:"$T/fifo" <"$T/in" >/dev/null 2>"$ERR" 3>&- &
	track $!
	vpid=$!
	wait_until 60 file_has "$ERR" 'no reader, waiting'
	kill -TERM "$vpid"
	wait_exit "$vpid" 60
	assert_equal "$status" 74
	vg_clean fifo-term
}
