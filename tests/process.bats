#!/usr/bin/env bats
# Process behaviour: options and exit codes, SIGTERM/SIGINT, the idle
# timeout, the summary, bounded reject logging, and one run under valgrind.

load 'lib/common'

setup() {
	common_setup
}

teardown() {
	common_teardown
}

@test "--help: exit 0, every option and the exit codes on stdout" {
	vl --help </dev/null
	assert_equal "$status" 0
	assert_equal "$(cat "$ERR")" ""
	for opt in --sink= --format= --checksum= --max-line= --vehicle= --date= --idle-timeout= \
		--help --version journal stdout fifo:PATH json csv raw strict lenient off LISTEN_FDS; do
		grep -qF -- "$opt" "$OUT" || fail "--help does not mention '$opt'"
	done
	for code in 64 66 74; do
		grep -qw "$code" "$OUT" || fail "--help does not mention exit status $code"
	done
	vl -h </dev/null
	assert_equal "$status" 0
	grep -q -- '--idle-timeout' "$OUT"
}

@test "--version: exit 0, name and version" {
	vl --version </dev/null
	assert_equal "$status" 0
	run cat "$OUT"
	assert_output --regexp '^vlsink [0-9]+\.[0-9]+\.[0-9]+$'
	vl -V </dev/null
	assert_equal "$status" 0
}

@test "an unknown option, a missing or extra value, a stray argument: exit 64, one line" {
	for args in --bogus -x --bogus=1 --sink --format --help=yes --version=1 extra -; do
		vl $args </dev/null
		assert_equal "$status" 64 "vlsink $args"
		assert_equal "$(wc -l <"$ERR")" 1 "vlsink $args"
		assert_equal "$(cat "$OUT")" ""
		grep -qE '^vlsink: .*(unknown option|unexpected argument).*--help' "$ERR"
		grep -qF -- "${args%%=*}" "$ERR" || fail "message does not name '$args': $(cat "$ERR")"
	done
}

@test "bad values are usage errors (exit 64) with a one-line message naming the option" {
	for arg in --sink=foo --sink=fifo: --sink= --format=xml --checksum=maybe --vehicle='a b' \
		--vehicle= --vehicle="$(printf '%*s' 65 '' | tr ' ' v)" --date=2026-02-30 --date=2026-13-01 \
		--date=26-01-01 --idle-timeout=0 --idle-timeout=86401 --idle-timeout=1s --max-line=63 --rollover=maybe --rollover=; do
		vl "$arg" </dev/null
		assert_equal "$status" 64 "vlsink $arg"
		assert_equal "$(wc -l <"$ERR")" 1 "vlsink $arg"
		grep -qF -- "${arg%%=*}=" "$ERR" || fail "message does not name '$arg': $(cat "$ERR")"
	done
	# The good values of the same options are accepted.
	for arg in --checksum=strict --checksum=off --vehicle=a.b_c-d:e@f --date=2024-02-29 \
		--idle-timeout=1 --idle-timeout=86400 --format=csv --rollover=fix --rollover=keep; do
		vl "$arg" </dev/null
		assert_equal "$status" 0 "vlsink $arg"
	done
}

@test "--format with --sink=journal is a usage error" {
	vl --sink=journal --format=json </dev/null
	assert_equal "$status" 64
	assert_equal "$(wc -l <"$ERR")" 1
	grep -q -- '--format' "$ERR"
	vl --format=csv --sink=journal </dev/null
	assert_equal "$status" 64
}

# uid_is PID UID: the process's real, effective, saved and filesystem uid.
uid_is() { [[ $(awk '/^Uid:/ { print $2, $3, $4, $5 }' "/proc/$1/status" 2>/dev/null) == "$2 $2 $2 $2" ]]; }

@test "--user=NAME as root (and \$VLSINK_USER): becomes NAME before reading, its ids and group, the given groups less root's, no capability" {
	[[ $(id -u) == 0 ]] || skip "needs root (this machine's CI runs as root)"
	# A process that changed its uid is not dumpable, and LeakSanitizer
	# cannot stop such a process to look for leaks: the rest of ASan stays.
	[[ -n ${VLSINK_SANITIZED:-} ]] && export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
	local uid gid vpid
	uid=$(id -u nobody)
	gid=$(id -g nobody)
	for how in option env; do
		rm -f "$T/in"
		mkfifo "$T/in"
		if [[ $how == option ]]; then
			setpriv --groups=0,4 -- "$VLSINK" --user=nobody --format=raw <"$T/in" >"$OUT" 2>"$ERR" 3>&- &
		else
			VLSINK_USER=nobody setpriv --groups=0,4 -- "$VLSINK" --format=raw <"$T/in" >"$OUT" 2>"$ERR" 3>&- &
		fi
		vpid=$!
		track "$vpid"
		exec 5>"$T/in"
		wait_until 10 uid_is "$vpid" "$uid" || fail "$how: still uid $(awk '/^Uid:/' "/proc/$vpid/status")"
		run grep -E '^(Gid|Groups|CapPrm|CapEff|CapAmb):' "/proc/$vpid/status"
		assert_line --regexp "^Gid:[[:space:]]+$gid[[:space:]]+$gid[[:space:]]+$gid[[:space:]]+$gid\$"
		assert_line --regexp '^Groups:[[:space:]]+4[[:space:]]*$'
		assert_line --regexp '^CapPrm:[[:space:]]+0+$'
		assert_line --regexp '^CapEff:[[:space:]]+0+$'
		printf '%s\n' "$RMC" >&5
		exec 5>&-
		wait_exit "$vpid" 10
		assert_equal "$status" 0
		assert_equal "$(cat "$OUT")" "$RMC"
	done
}

@test "--user: no such user exit 67, a root user exit 64, another user without root exit 70; already that user, or VLSINK_USER empty: nothing to do" {
	vl --user=no-such-user-vlsink </dev/null
	assert_equal "$status" 67
	assert_equal "$(cat "$ERR")" "vlsink: --user=no-such-user-vlsink: no such user"
	vl --user=root </dev/null
	assert_equal "$status" 64
	grep -q -- '--user=root: that user has uid or gid 0' "$ERR"
	VLSINK_USER=no-such-user-vlsink vl </dev/null
	assert_equal "$status" 67
	VLSINK_USER= vl </dev/null
	assert_equal "$status" 0
	[[ $(id -u) == 0 ]] || skip "the rest needs root to start as another user"
	[[ -n ${VLSINK_SANITIZED:-} ]] && export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
	run setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$VLSINK" --user=daemon </dev/null
	assert_equal "$status" 70
	assert_output "vlsink: --user=daemon: cannot become that user without being root"
	run setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$VLSINK" --user=nobody </dev/null
	assert_equal "$status" 0
}

# signal_mid_stream SIGNAL: vlsink reads a pipe that stays open; after the
# signal it delivers what it parsed, writes the summary and exits 0.
signal_mid_stream() {
	mkfifo "$T/in"
	"$VLSINK" --format=raw <"$T/in" >"$OUT" 2>"$ERR" 3>&- &
	track $!
	vpid=$!
	exec 5>"$T/in"
	printf '%s\n%s\n%s\n' "$RMC" 'garbage' "$GGA" >&5
	printf '%s' "${RMC:0:20}" >&5 # An incomplete line: not a record.
	wait_until 10 lines_at_least "$OUT" 2
	kill "-$1" "$vpid"
	wait_exit "$vpid" 10
	exec 5>&-
	assert_equal "$status" 0
	assert_equal "$(cat "$OUT")" "$RMC"$'\n'"$GGA"
	summary | grep -q 'stdin: signal: 2 accepted, 0 ignored, 1 rejected (syntax 1)'
}

@test "SIGTERM mid-stream: stops reading, delivers, writes the summary, exit 0" {
	signal_mid_stream TERM
}

@test "SIGINT mid-stream: the same as SIGTERM" {
	signal_mid_stream INT
}

# slow_sink_sigterm ARGS...: vlsink ARGS on 100,000 generated lines, blocked
# writing into a FIFO nobody reads yet, sent SIGTERM; then a reader comes
# within the grace period.  Leaves the records in $T/got and the accepted
# line count in $accepted.
slow_sink_sigterm() {
	gen_nmea 100000 >"$T/in"
	mkfifo "$T/out"
	exec 7<>"$T/out" # A reader that does not read, yet.
	"$VLSINK" "$@" <"$T/in" >"$T/out" 2>"$ERR" 3>&- 7>&- &
	track $!
	vpid=$!
	wait_until 20 settled "$vpid" 0 # Blocked writing, the handlers set up.
	kill -TERM "$vpid"
	cat "$T/out" >"$T/got" 3>&- 7>&- &
	track $!
	reader=$!
	wait_exit "$vpid" 10
	assert_equal "$status" 0
	exec 7>&-
	wait_exit "$reader" 10
	accepted=$(summary_counts | cut -d' ' -f1)
	summary | grep -q 'stdin: signal: '
	((accepted > 0 && accepted < 100000))
	jq -c . "$T/got" >/dev/null # Every line whole.
}

@test "SIGTERM while the sink is slow: every record parsed is delivered, none read after" {
	# One record per line here, so that lines and records can be counted
	# against each other; the merged twin follows.
	slow_sink_sigterm --merge=none
	assert_equal "$(line_count "$T/got")" "$accepted"
}

@test "SIGTERM while the sink is slow, merging: every fix parsed is delivered, the one held included" {
	slow_sink_sigterm
	# gen-nmea sends an RMC and a GGA a second, RMC first: the fixes are the
	# accepted lines halved, a last RMC without its GGA a fix of its own.
	assert_equal "$(line_count "$T/got")" $(((accepted + 1) / 2))
	run jq -r .time "$T/got"
	assert_equal "$(sort -u <<<"$output" | wc -l)" "$(line_count "$T/got")" # One record per fix time.
}

@test "SIGTERM while the sink never reads: gives up after the grace period, exit 74" {
	gen_nmea 100000 >"$T/in"
	mkfifo "$T/out"
	exec 7<>"$T/out"
	"$VLSINK" <"$T/in" >"$T/out" 2>"$ERR" 3>&- 7>&- &
	track $!
	vpid=$!
	wait_until 20 settled "$vpid" 0 # Blocked writing, the handlers set up.
	kill -TERM "$vpid"
	start=$SECONDS
	wait_exit "$vpid" 15
	exec 7>&-
	assert_equal "$status" 74
	((SECONDS - start >= 3))
	grep -qE 'sink failed: [1-9][0-9]* record\(s\) not delivered' "$ERR"
	summary | grep -q 'sink-error'
}

@test "idle timeout: a connection that sends nothing is closed after ~1 s, exit 0" {
	ssa_start --accept -- "$VLSINK" --idle-timeout=1
	exec 5<>"/dev/tcp/127.0.0.1/$PORT"
	start=$EPOCHREALTIME
	rc=0
	read -r -t $((15 * T_SCALE)) -u 5 reply || rc=$?
	end=$EPOCHREALTIME
	exec 5<&-
	((rc > 0 && rc <= 128)) # Closed by the server, not our timeout.
	wait_until 10 file_has "$T/ssa.err" 'died with code'
	grep -q 'died with code 0' "$T/ssa.err"
	summary "$T/ssa.err" | grep -q 'idle-timeout: 0 accepted, 0 ignored, 0 rejected, 0 bytes'
	ms=$(((${end/./} - ${start/./}) / 1000))
	echo "closed after $ms ms"
	((ms >= 900 && ms < 10000 * T_SCALE))
}

@test "idle timeout: a sender trickling bytes without completing a line is closed too" {
	ssa_start --accept -- "$VLSINK" --idle-timeout=1
	exec 5<>"/dev/tcp/127.0.0.1/$PORT"
	start=$SECONDS
	sent=0
	for i in $(seq 1 40); do
		printf 'x' >&5 2>/dev/null || break
		sent=$((sent + 1))
		file_has "$T/ssa.err" ': idle-timeout: ' && break
		sleep 0.3
	done
	exec 5>&-
	wait_until 10 file_has "$T/ssa.err" 'died with code'
	summary "$T/ssa.err" | grep -qE 'idle-timeout: 0 accepted, 0 ignored, 0 rejected, [1-9][0-9]* bytes'
	((sent < 40)) # Closed long before the trickle ended.
	((SECONDS - start < 8 * T_SCALE))
}

@test "idle timeout: complete lines keep a connection open; silence then closes it" {
	ssa_start --accept -- "$VLSINK" --idle-timeout=2 --format=raw
	exec 5<>"/dev/tcp/127.0.0.1/$PORT"
	for i in 1 2 3 4 5; do
		printf '%s\r\n' "$(rmc_at "$i")" >&5
		sleep 0.55
	done
	refute file_has "$T/ssa.err" ': idle-timeout: '
	wait_until 10 file_has "$T/ssa.err" 'died with code'
	exec 5>&-
	summary "$T/ssa.err" | grep -q 'idle-timeout: 5 accepted'
	assert_equal "$(line_count "$T/ssa.out")" 5
}

@test "the summary counts accepted, ignored, rejected lines and bytes" {
	{
		printf '%s\r\n' "$RMC" "$GGA" "$GSV"          # 2 accepted, 1 ignored
		printf '\r\n'                                # ignored (empty)
		printf '{"class":"SKY","satellites":[]}\n'   # ignored
		printf '%s\r\n' "${RMC/\*/0*}"               # bad-checksum
		printf '%s\r\n' "$(nmea 'GPRMC,123519,V,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W')" # no-fix
		printf 'hello world\n'                       # syntax
		printf '%*s\n' 2000 '' | tr ' ' y            # too-long
		printf 'a\001b\n'                            # control-char
		printf 'bus-1,2026-01-01T00:00:00Z,52.5,13.4\n' # accepted
	} >"$T/in"
	vl <"$T/in"
	assert_equal "$status" 0
	assert_equal "$(line_count "$OUT")" 2 # The RMC and GGA of one fix make one record.
	run summary
	assert_output "vlsink: stdin: eof: 3 accepted, 3 ignored, 5 rejected (too-long 1, bad-checksum 1, syntax 1, no-fix 1, control-char 1), $(stat -c %s "$T/in") bytes"
}

@test "reject logging is bounded; the summary says so; the next valid line is accepted" {
	{
		for i in $(seq 1 1000); do printf 'garbage line %d\n' "$i"; done
		printf '%s\n' "$RMC"
	} >"$T/in"
	vl --format=raw <"$T/in"
	assert_equal "$status" 0
	assert_equal "$(cat "$OUT")" "$RMC"
	n=$(grep -c 'rejected (syntax)' "$ERR")
	echo "$n reject messages"
	((n >= 1 && n <= 12))
	run summary
	assert_output --partial ': 1 accepted, 0 ignored, 1000 rejected (syntax 1000), '
	assert_output --partial 'some rejects not logged'
	assert_equal "$(wc -l <"$ERR")" $((n + 1))
}

# vlsink runs --no-sandbox under valgrind, which implements no seccomp().
@test "under valgrind: a mixed stream, no memory error, no leak" {
	[[ ${VLSINK_SANITIZED:-0} != 1 ]] || skip "valgrind does not run ASan-instrumented binaries"
	command -v valgrind >/dev/null || skip "valgrind not installed"
	if ! valgrind -q "$VLSINK" --version >/dev/null 2>"$ERR"; then
		# Valgrind 3.19 cannot read clang's DWARF 5 debug info, for one.
		skip "valgrind cannot run this binary: $(grep -m 1 'debuginfo\|Valgrind' "$ERR")"
	fi
	{
		gen_nmea 500
		printf '%s\r\n' "$GSV" "${RMC/\*/0*}" 'junk'
		printf 'a\0b\n'
		printf '%*s\n' 5000 '' | tr ' ' y
		printf '{"class":"TPV","mode":3,"time":"2026-01-01T00:00:00.000Z","lat":1.5,"lon":2.5,"alt":3}\n'
		printf 'bus-1,1767225600,52.5,13.4,1.5,90,34\n'
		printf '%s' "$RMC"
	} >"$T/in"
	for fmt in json raw; do
		status=0
		REMOTE_ADDR=192.0.2.7 REMOTE_PORT=4242 valgrind -q --leak-check=full --error-exitcode=99 \
			"$VLSINK" --no-sandbox --format=$fmt <"$T/in" >"$OUT" 2>"$ERR" || status=$?
		assert_equal "$status" 0 "valgrind, --format=$fmt: $(head -n 20 "$ERR")"
		# json: 250 merged RMC+GGA fixes, the TPV, the CSV and the last RMC;
		# raw: every accepted line as it came.
		assert_equal "$(line_count "$OUT")" "$([[ $fmt == raw ]] && echo 503 || echo 253)"
		refute grep -q '^==[0-9]*==' "$ERR"
	done
	# The FIFO sink and its wait for a reader, too.
	mkfifo "$T/fifo"
	cat "$T/fifo" >"$T/got" 3>&- &
	track $!
	status=0
	valgrind -q --leak-check=full --error-exitcode=99 "$VLSINK" --no-sandbox --sink=fifo:"$T/fifo" <"$T/in" \
		>/dev/null 2>"$ERR" || status=$?
	assert_equal "$status" 0 "$(head -n 20 "$ERR")"
	wait_exit "$BG_PID" 10
	assert_equal "$(line_count "$T/got")" 253 # Merged, as with --format=json.
}
