#!/usr/bin/env bats
# vlsink's own sandbox (vlsink(1), SANDBOX): every input mode with every
# sink runs a whole session confined (seccomp filter mode, no_new_privs, in
# the reader and in the worker) and delivers exactly what an unconfined run
# delivers; stopping, the idle timeout, a FIFO reader that goes away and a
# crashed worker all work under the filter.  The journal sink is run
# confined by the container suites (journal.bats, systemd.bats), which check
# its SANDBOX= field; tests/confine.bats tries the forbidden actions.

load 'lib/common'
load 'lib/confine'

setup_file() {
	hooks_build
	confine_build "$BATS_FILE_TMPDIR/probe.so" 2>"$BATS_FILE_TMPDIR/probe.log" || true
}

setup() {
	common_setup
	hooks_bin
	gen_nmea 400 >"$T/in.nmea" || fail "gen-nmea failed"
}

teardown() {
	common_teardown
}

# confined PID: PID runs under a seccomp filter with no_new_privs (with
# FILTERS filters at least), or, in a sanitizer build, unconfined.
confined() {
	local pid=$1 filters=${2:-1} st
	st=$(grep -E '^(Seccomp|Seccomp_filters|NoNewPrivs):' "/proc/$pid/status") || fail "no process $pid"
	if [[ ${VLSINK_SANITIZED:-0} == 1 ]]; then
		grep -qE '^Seccomp:\s+0$' <<<"$st" || fail "a sanitizer build is confined? $st"
		return 0
	fi
	grep -qE '^Seccomp:\s+2$' <<<"$st" || fail "process $pid is not in seccomp filter mode: $st"
	grep -qE '^NoNewPrivs:\s+1$' <<<"$st" || fail "process $pid lacks no_new_privs: $st"
	(($(awk '/^Seccomp_filters:/ { print $2 }' <<<"$st") >= filters)) || fail "process $pid: fewer than $filters filters: $st"
}

# The workers under PID (the FIFO opener has a name of its own).
children() {
	pgrep -P "$1" -x vlsink || true
}

# opener_confined PID: the FIFO opener under PID runs confined too.
opener_confined() {
	local o
	o=$(pgrep -P "$1" -x vlsink-opener) || fail "no FIFO opener under $1"
	confined "$o"
}

# session MODE SINK OUTFILE [ARGS...]: one whole session of in.nmea, held
# open half-way while the processes are checked; MODE pipe, socket
# (supervised, fd 3 from systemd-socket-activate --accept) or
# socket-single (--no-supervise); SINK stdout or fifo.  Records in OUTFILE,
# the summary on stderr in $T/session.err.
session() {
	local mode=$1 sink=$2 out=$3 args=() pid
	shift 3
	args=("$@")
	[[ $mode == socket-single ]] && args+=(--no-supervise)
	local sinkarg=--sink=stdout
	if [[ $sink == fifo ]]; then
		rm -f "$T/fifo"
		mkfifo -m 600 "$T/fifo"
		sinkarg=--sink=fifo:$T/fifo
		cat "$T/fifo" >"$out" 3>&- &
		track $!
	fi
	head -n 200 "$T/in.nmea" >"$T/part1"
	tail -n +201 "$T/in.nmea" >"$T/part2"
	if [[ $mode == pipe ]]; then
		rm -f "$T/input"
		mkfifo "$T/input"
		if [[ $sink == fifo ]]; then
			"$VLSINK" "$sinkarg" "${args[@]}" <"$T/input" >/dev/null 2>"$T/session.err" 3>&- &
		else
			"$VLSINK" "$sinkarg" "${args[@]}" <"$T/input" >"$out" 2>"$T/session.err" 3>&- &
		fi
		pid=$!
		track "$pid"
		exec 6>"$T/input"
		cat "$T/part1" >&6
		wait_until 10 grep -q . "$out" || fail "no record from the first half"
		confined "$pid"
		[ -z "$(children "$pid")" ] || fail "a pipe has one process (and a FIFO opener)"
		[[ $sink != fifo ]] || opener_confined "$pid"
		cat "$T/part2" >&6
		exec 6>&-
		wait_exit "$pid" 20
	else
		local o=$out
		[[ $sink == fifo ]] && o=/dev/null
		ssa_start --accept -- "$VLSINK" "$sinkarg" "${args[@]}"
		exec 6> >(exec socat -u - "TCP:127.0.0.1:$PORT" 2>/dev/null)
		cat "$T/part1" >&6
		_inst() { pid=$(pgrep -P "$SSA_PID" -x vlsink | head -n 1) && [ -n "$pid" ]; }
		wait_until 10 _inst || fail "no instance"
		wait_until 10 grep -q . "$([[ $sink == fifo ]] && echo "$out" || echo "$T/ssa.out")" ||
			fail "no record from the first half"
		confined "$pid"
		[[ $sink != fifo ]] || opener_confined "$pid"
		if [[ $mode == socket ]]; then
			local w
			w=$(children "$pid")
			[ -n "$w" ] || fail "no worker under the reader $pid"
			# the worker narrows what it inherits: one filter more
			confined "$w" 2
		fi
		cat "$T/part2" >&6
		exec 6>&-
		wait_gone "$pid" 20 || fail "the instance did not end"
		[[ $sink == fifo ]] || cp "$T/ssa.out" "$out"
		cp "$T/ssa.err" "$T/session.err"
		status=0
	fi
	if [[ $sink == fifo ]]; then
		wait_until 10 test "$(wc -l <"$out")" -ge "$(wc -l <"$T/expected" 2>/dev/null || echo 1)" || true
	fi
}

# same MODE SINK: a confined session delivers what an unconfined run does.
same() {
	local mode=$1 sink=$2
	"$VLSINK" --no-sandbox --vehicle=bus-1 <"$T/in.nmea" >"$T/expected" 2>/dev/null 3>&-
	[ "$(wc -l <"$T/expected")" -ge 150 ] || fail "few records unconfined: $(wc -l <"$T/expected")"
	session "$mode" "$sink" "$T/got" --vehicle=bus-1
	[ "$status" -eq 0 ] || fail "$mode $sink: exit $status: $(cat "$T/session.err")"
	if grep -q "refused system call" "$T/session.err"; then
		fail "$mode $sink: $(cat "$T/session.err")"
	fi
	# the peer differs between pipe and socket; the rest is equal
	diff <(jq -c 'del(.peer)' "$T/expected") <(jq -c 'del(.peer)' "$T/got") ||
		fail "$mode $sink: records differ from an unconfined run"
}

@test "the filter's binary search decides every call as the plain list of its rules does, for every kind of process" {
	# tests/shim/filtercheck.c: an interpreter runs both on every call
	# number and on argument values taken from the rules.
	local cflags=(-std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror)
	[[ ${VLSINK_SANITIZED:-0} == 1 ]] && cflags+=(-fsanitize=address,undefined -fno-sanitize-recover=all)
	"${CC:-cc}" "${cflags[@]}" -I"$TOP/src" -o "$T/filtercheck" "$TOP/tests/shim/filtercheck.c" ||
		fail "tests/shim/filtercheck.c does not build"
	run "$T/filtercheck"
	assert_success
	assert_output --regexp '^filter check: 32 kinds of process, [0-9]{6,} verdicts; .*; 0 differences$'
}

@test "confined: pipe input, stdout sink (one process)" { same pipe stdout; }
@test "confined: pipe input, FIFO sink" { same pipe fifo; }
@test "confined: socket input, stdout sink (reader and worker)" { same socket stdout; }
@test "confined: socket input, FIFO sink (reader and worker)" { same socket fifo; }
@test "confined: socket input --no-supervise, stdout sink" { same socket-single stdout; }
@test "confined: socket input --no-supervise, FIFO sink" { same socket-single fifo; }

@test "SIGTERM and the idle timeout end a confined connection as usual" {
	ssa_start --accept -- "$VLSINK" --sink=stdout --idle-timeout=3
	exec 6> >(exec socat -u - "TCP:127.0.0.1:$PORT" 2>/dev/null)
	head -n 20 "$T/in.nmea" >&6
	local pid
	_inst() { pid=$(pgrep -P "$SSA_PID" -x vlsink | head -n 1) && [ -n "$pid" ]; }
	wait_until 10 _inst || fail "no instance"
	confined "$pid"
	wait_gone "$pid" 10 || fail "the idle timeout did not end the instance"
	exec 6>&-
	grep -q ': idle-timeout: 20 accepted' "$T/ssa.err" || fail "$(cat "$T/ssa.err")"
	if grep -q "refused system call" "$T/ssa.err"; then fail "$(cat "$T/ssa.err")"; fi

	: >"$T/ssa.err"
	exec 6> >(exec socat -u - "TCP:127.0.0.1:$PORT" 2>/dev/null)
	head -n 20 "$T/in.nmea" >&6
	wait_until 10 _inst || fail "no second instance"
	wait_until 10 grep -q . "$T/ssa.out" || fail "no record"
	kill -TERM "$pid"
	wait_gone "$pid" 10 || fail "SIGTERM did not end the instance"
	exec 6>&-
	grep -q ': signal: 20 accepted' "$T/ssa.err" || fail "$(cat "$T/ssa.err")"
	if grep -q "refused system call" "$T/ssa.err"; then fail "$(cat "$T/ssa.err")"; fi
	true
}

# reopened BIN [ENV...]: a FIFO reader that goes away, the FIFO made anew:
# the confined writer reopens it.
reopened() {
	local bin=$1
	shift
	rm -f "$T/fifo"
	mkfifo -m 600 "$T/fifo"
	head -n 100 "$T/in.nmea" >"$T/a"
	tail -n +101 "$T/in.nmea" >"$T/b"
	mkfifo "$T/input"
	env "$@" "$bin" --sink=fifo:"$T/fifo" --vehicle=bus-1 --no-supervise <"$T/input" >/dev/null 2>"$ERR" 3>&- &
	local pid=$!
	track "$pid"
	exec 6>"$T/input"
	timeout 20 head -n 5 "$T/fifo" >"$T/first" 3>&- 6>&- &
	local r1=$!
	cat "$T/a" >&6
	wait "$r1" || fail "the first reader got nothing"
	confined "$pid"
	# no reader now: the next write fails with EPIPE, and vlsink waits to
	# reopen the FIFO for the next reader
	cat "$T/b" >&6
	wait_until 10 grep -q "reader went away, waiting for another" "$ERR" ||
		fail "the reader never went away: $(cat "$ERR")"
	# as vlsink-collect.socket does when restarted (RemoveOnStop=yes)
	rm -f "$T/fifo"
	mkfifo -m 600 "$T/fifo"
	cat "$T/fifo" >"$T/rest" 3>&- 6>&- &
	track $!
	exec 6>&-
	wait_gone "$pid" 20 || fail "still running: $(cat "$ERR")"
	status=$(exit_status "$pid")
	[ "$status" -eq 0 ] || fail "exit $status: $(cat "$ERR")"
	if grep -q "refused system call" "$ERR"; then fail "$(cat "$ERR")"; fi
	[ "$(wc -l <"$T/rest")" -gt 50 ] || fail "only $(wc -l <"$T/rest") records after the reopen: $(cat "$ERR")"
}

@test "a FIFO reader that goes away, the FIFO made anew: the confined writer reopens it (through its FIFO opener)" {
	reopened "$VLSINK"
}

@test "the same without Landlock (a kernel before 5.13)" {
	reopened "$HOOKS" VLSINK_NO_LANDLOCK=1
}

@test "a worker that crashes under the sandbox is replaced by a fork of the confined reader" {
	{
		head -n 100 "$T/in.nmea"
		echo "POISON-LINE"
		tail -n +101 "$T/in.nmea"
	} >"$T/poisoned"
	ssa_start --accept -- env VLSINK_CRASH_ON=POISON-LINE "$HOOKS" --sink=stdout --vehicle=bus-1
	timeout 60 socat -u - "TCP:127.0.0.1:$PORT" <"$T/poisoned"
	wait_until 20 grep -q ': eof: ' "$T/ssa.err" || fail "no summary: $(cat "$T/ssa.err")"
	grep -q 'worker-crash\|killed by signal' "$T/ssa.err" || fail "no crash reported: $(cat "$T/ssa.err")"
	if grep -q "refused system call" "$T/ssa.err"; then fail "$(cat "$T/ssa.err")"; fi
	"$VLSINK" --no-sandbox --vehicle=bus-1 <"$T/in.nmea" >"$T/expected" 2>/dev/null 3>&-
	diff <(jq -c 'del(.peer)' "$T/expected") <(jq -c 'del(.peer)' "$T/ssa.out") ||
		fail "records differ from an unconfined run without the poison line"
}

@test "--no-sandbox leaves the process unconfined (what the checks above would see without the sandbox)" {
	mkfifo "$T/input"
	"$VLSINK" --no-sandbox <"$T/input" >"$OUT" 2>"$ERR" 3>&- &
	local pid=$!
	track "$pid"
	exec 6>"$T/input"
	head -n 10 "$T/in.nmea" >&6
	wait_until 10 grep -q . "$OUT" || fail "no record"
	run grep -E '^Seccomp:' "/proc/$pid/status"
	assert_output --regexp '^Seccomp:\s+0$'
	exec 6>&-
	wait_exit "$pid" 10
}

# fifo_probe BIN [ENV...]: one connection of BIN with the FIFO sink, the
# confinement probe (tests/shim/probe.c) preloaded: its lines in $T/probe.
fifo_probe() {
	local bin=$1
	shift
	# Sanitizer builds run unconfined (vlsink(1), SANDBOX) and an ASan
	# binary will not start behind a preloaded probe: in that pass the probe
	# looks at the confinement of the normal builds, made by the first pass.
	if [[ ${VLSINK_SANITIZED:-0} == 1 ]]; then
		bin=${bin/\/build\/san-hooks\//\/build\/hooks\/}
		bin=${bin/\/build\/san\//\/build\/std\/}
		[[ -x $bin && $bin != */san* ]] || fail "the normal build is missing: $bin"
	fi
	[[ -s $BATS_FILE_TMPDIR/probe.so ]] || fail "cannot build the probe: $(cat "$BATS_FILE_TMPDIR/probe.log")"
	rm -f "$T/fifo"
	mkfifo -m 600 "$T/fifo"
	echo "a regular file beside the FIFO" >"$T/writable"
	cat "$T/fifo" >"$T/records" 3>&- &
	track $!
	ssa_start --accept -- env "$@" LD_PRELOAD="$BATS_FILE_TMPDIR/probe.so" PROBE_TAG=fifo \
		PROBE_WRITABLE="$T/writable" "$bin" --sink=fifo:"$T/fifo"
	printf 'probe-1,2026-11-25T00:00:00Z,48.0,11.0\n' | socat -u - "TCP:127.0.0.1:$PORT"
	wait_until 120 grep -q '^PROBE fifo done ' "$T/ssa.err" || fail "no complete probe table: $(cat "$T/ssa.err")"
	grep '^PROBE fifo ' "$T/ssa.err" >"$T/probe"
	wait_until 10 grep -q probe-1 "$T/records" || fail "the record did not reach the FIFO: $(cat "$T/ssa.err")"
	[ "$(cat "$T/writable")" = "a regular file beside the FIFO" ] || fail "the file beside the FIFO was written"
}

# shut ACTION: the probe saw ACTION denied or killed.
shut() {
	grep -qE "^PROBE fifo $1 (denied|killed) " "$T/probe" || fail "$1: $(grep " $1 " "$T/probe")"
}

@test "FIFO sink: no file beside the FIFO, and not /proc/self/mem, can be opened for writing (the FIFO opener alone opens, and only a FIFO)" {
	fifo_probe "$VLSINK"
	shut write-file-beside-fifo
	shut write-/proc/self/mem
	# a call of the i386 ABI is judged by its architecture, not its number
	[[ $(uname -m) != x86_64 ]] || shut i386-system-call
	# the probe saw what it reports on
	grep -qE '^PROBE fifo fork allowed ' "$T/probe" || fail "$(cat "$T/probe")"
}

@test "FIFO sink without Landlock (a kernel before 5.13): the same, by the filter alone" {
	fifo_probe "$HOOKS" VLSINK_NO_LANDLOCK=1
	shut write-file-beside-fifo
	shut write-/proc/self/mem
	grep -qE '^PROBE fifo fork allowed ' "$T/probe" || fail "$(cat "$T/probe")"
	# and the FIFO, made anew, is still reopened: the reopen test above
	# without Landlock
}

@test "the FIFO replaced by a regular file while vlsink waits to reopen it: the opener refuses it (not a FIFO), nothing written to it" {
	rm -f "$T/fifo"
	mkfifo -m 600 "$T/fifo"
	mkfifo "$T/input"
	"$VLSINK" --sink=fifo:"$T/fifo" --vehicle=bus-1 --no-supervise <"$T/input" >/dev/null 2>"$ERR" 3>&- &
	local pid=$!
	track "$pid"
	exec 6>"$T/input"
	timeout 20 head -n 5 "$T/fifo" >/dev/null 3>&- 6>&- &
	local r1=$!
	head -n 100 "$T/in.nmea" >&6
	wait "$r1" || fail "the first reader got nothing"
	tail -n +101 "$T/in.nmea" >&6
	wait_until 10 grep -q "reader went away, waiting for another" "$ERR" ||
		fail "the reader never went away: $(cat "$ERR")"
	rm -f "$T/fifo"
	echo "not for vlsink" >"$T/fifo"
	exec 6>&-
	wait_gone "$pid" 20 || fail "still running: $(cat "$ERR")"
	status=$(exit_status "$pid")
	[ "$status" -eq 74 ] || fail "exit $status: $(cat "$ERR")"
	grep -q "fifo: not a FIFO" "$ERR" || fail "$(cat "$ERR")"
	[ "$(cat "$T/fifo")" = "not for vlsink" ] || fail "the regular file was written"
	if grep -q "refused system call" "$ERR"; then fail "$(cat "$ERR")"; fi
}
