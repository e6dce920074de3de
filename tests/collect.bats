#!/usr/bin/env bats
# shellcheck disable=SC2016,SC2030,SC2031,SC2086
# (SC2016: sh -c scripts take their arguments as "$1"; SC2030/SC2031: bats runs
# each test in a subshell, PIDS is per test on purpose; SC2086: $WRAP is split
# into words on purpose.)
#
# vlsink-collect: the central FIFO's reader.  Checks that valid records pass
# through unchanged and in order, that hostile input is rejected without harm,
# that concurrent writers' records arrive whole and exactly once, and that a
# full disk pauses the collector (and, through the FIFO, the writers) without
# losing or repeating a record.
#
# VLSINK_COLLECT: the binary (default: next to $VLSINK if set, else
# build/std/vlsink-collect); VLSINK: the vlsink binary used as a writer;
# VLSINK_COLLECT_WRAPPER: a command to run the collector under, e.g.
# "valgrind -q --error-exitcode=99 --leak-check=full".

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

setup_file() {
	# Unless named, the collector next to $VLSINK (so that a sanitizer run
	# of the suite tests both from the same build), else the standard build.
	if [ -z "${VLSINK_COLLECT:-}" ] && [ -n "${VLSINK:-}" ] && [ -x "$(dirname "$VLSINK")/vlsink-collect" ]; then
		VLSINK_COLLECT=$(dirname "$VLSINK")/vlsink-collect
	fi
	export C="${VLSINK_COLLECT:-$BATS_TEST_DIRNAME/../build/std/vlsink-collect}"
	export V="${VLSINK:-$BATS_TEST_DIRNAME/../build/std/vlsink}"
	export WRAP="${VLSINK_COLLECT_WRAPPER:-}"
}

setup() {
	[ -x "$C" ] || fail "no collector at $C: build it first (make)"
	T=$BATS_TEST_TMPDIR
	PIDS=()
	HOLDER=
}

teardown() {
	local p
	for p in "${PIDS[@]}"; do
		kill -KILL "$p" 2>/dev/null || true
	done
	for p in "${PIDS[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	# The tmpfs lives only in the holder's mount namespace: it goes with it.
	if [ -n "$HOLDER" ]; then
		kill -KILL "$HOLDER" 2>/dev/null || true
		wait "$HOLDER" 2>/dev/null || true
	fi
	exec 7>&- 2>/dev/null || true
}

# The collector, under the wrapper if one is set.  In the background it is
# started as `env ... $WRAP "$C"` instead, so that $! is its pid, not that of
# a subshell running this function.
collect() {
	$WRAP "$C" "$@"
}

need_vlsink() {
	[ -x "$V" ] || fail "no vlsink at $V: build it first (make)"
}

# gen_csv ID COUNT: COUNT CSV positions of vehicle ID, one second apart.
gen_csv() {
	awk -v v="$1" -v n="$2" 'BEGIN { for (i = 1; i <= n; i++)
		printf "%s,%d,59.%06d,18.068700,9.5,120,\n", v, 1764057600 + i, i % 1000000 }'
}

# gen_fixed COUNT: COUNT JSON records of exactly 100 bytes each, LF included.
gen_fixed() {
	awk -v n="$1" 'BEGIN { pad = sprintf("%74s", ""); gsub(/ /, "x", pad)
		for (i = 1; i <= n; i++) printf "{\"seq\":\"%06d\",\"pad\":\"%s\"}\n", i, pad }'
}

# wait_for SECONDS COMMAND...: polls COMMAND until it succeeds.
wait_for() {
	local deadline=$((SECONDS + $1))
	shift
	until "$@"; do
		[ "$SECONDS" -lt "$deadline" ] || { echo "timed out waiting for: $*" >&2; return 1; }
		sleep 0.05
	done
}

# reap PID: waits for a child of this shell (not in a subshell, as `run`
# would); its exit status goes to RC.
reap() {
	RC=0
	wait "$1" || RC=$?
}

lines_are() { [ -e "$1" ] && [ "$(wc -l < "$1")" -eq "$2" ]; }
has() { grep -q -e "$2" "$1" 2>/dev/null; }

# Bytes waiting in a FIFO, without taking any.
fifo_queued() {
	perl -MFcntl -e 'sysopen(my $f, $ARGV[0], O_RDWR | O_NONBLOCK) or die "$ARGV[0]: $!";
		my $n = pack("L", 0); ioctl($f, 0x541B, $n) or die "FIONREAD: $!";
		print unpack("L", $n), "\n"' "$1"
}
queued_is() { [ "$(fifo_queued "$1")" -eq "$2" ]; }

# fill_fifo FIFO FILE: grows the FIFO to 1 MiB and puts FILE into it in one
# write; the data stays while fd 7 holds the FIFO open.
fill_fifo() {
	perl -MFcntl -e 'sysopen(my $f, $ARGV[0], O_RDWR) or die "$ARGV[0]: $!";
		fcntl($f, 1031, 1 << 20) or die "F_SETPIPE_SZ: $!";
		open(my $in, "<", $ARGV[1]) or die; local $/; my $d = <$in>;
		(syswrite($f, $d) // -1) == length($d) or die "short write"' "$1" "$2"
}

# All lines valid JSON (so none torn), and the file ends in a newline.
all_whole() {
	[ ! -s "$1" ] || [ "$(tail -c1 "$1" | od -An -c | tr -d ' ')" = '\n' ] || return 1
	jq -e . < "$1" > /dev/null
}

# A private mount namespace holding a tmpfs of $1 KiB at $T/mnt; the test
# reaches it through /proc/$HOLDER/root and runs commands in it with
# nsenter -t $HOLDER -m (which execs them: $! stays their pid).
make_small_disk() {
	[ "$(id -u)" -eq 0 ] || skip "mounting a tmpfs needs root"
	if ! command -v unshare > /dev/null || ! command -v nsenter > /dev/null; then
		skip "needs unshare and nsenter"
	fi
	MNT=$T/mnt
	mkdir -p "$MNT"
	unshare -m --propagation private sh -c \
		'mount -t tmpfs -o size="$2"k vlsink-test "$1" && exec sleep 600' sh "$MNT" "$1" 3>&- &
	HOLDER=$!
	wait_for 5 holder_ready
	DISK=/proc/$HOLDER/root$MNT
	[ "$(stat -f -c %T "$DISK")" = tmpfs ] || fail "tmpfs not mounted"
}

holder_ready() {
	[ "$(cat "/proc/$HOLDER/comm" 2>/dev/null)" = sleep ]
}

@test "--help, --version and one-line usage errors" {
	run collect --help
	assert_success
	assert_output --partial 'Usage: vlsink-collect'
	run collect --version
	assert_success
	assert_output 'vlsink-collect 0.1.0'
	run collect --sync=sometimes
	assert_failure 64
	assert_output "vlsink-collect: --sync=sometimes: expected batch or none (try 'vlsink-collect --help')"
	run collect --bogus
	assert_failure 64
	assert_equal "${#lines[@]}" 1
	run collect --output=
	assert_failure 64
	run collect extra
	assert_failure 64
	assert_output --partial "unexpected argument 'extra'"
}

@test "input: LISTEN_FDS other than 1 is refused, fd 3 must be open" {
	run env LISTEN_FDS=2 "$C" --output=- < /dev/null
	assert_failure 66
	assert_output --partial 'LISTEN_FDS=2: expected exactly one descriptor'
	run env LISTEN_FDS=1 "$C" --output=- 3<&-
	assert_failure 66
	assert_output --partial 'input fd 3'
	# LISTEN_FDS meant for another process: stdin is read instead.
	echo '{"a":1}' > "$T/in"
	run env LISTEN_FDS=1 LISTEN_PID=1 "$C" --output="$T/out" < "$T/in" 3<&-
	assert_success
	assert_equal "$(cat "$T/out")" '{"a":1}'
	# LISTEN_PID naming the parent: the documented ExecStart=/bin/sh -c
	# 'vlsink-collect --output=- | command' drop-in, where it names the shell.
	mkfifo "$T/fifo"
	exec 7<> "$T/fifo"
	echo '{"b":2}' >&7
	LISTEN_FDS=1 sh -c 'export LISTEN_PID=$$; "$1" --output="$2" < /dev/null 7>&- & c=$!; i=0
		until [ -s "$2" ] || [ $i -ge 200 ]; do sleep 0.05; i=$((i + 1)); done
		kill -TERM $c; wait $c' sh "$C" "$T/piped" 3<&7 2> /dev/null
	assert_equal "$(cat "$T/piped")" '{"b":2}'
}

@test "output that cannot be created: exit 73; new files get mode 0640 and are appended to" {
	run collect --output="$T/no/such/dir/out" < /dev/null
	assert_failure 73
	assert_output --partial "cannot open $T/no/such/dir/out"
	echo '{"old":true}' > "$T/kept"
	echo '{"new":true}' | collect --output="$T/kept" 2> /dev/null
	assert_equal "$(cat "$T/kept")" $'{"old":true}\n{"new":true}'
	(umask 022 && echo '{"a":1}' | collect --output="$T/fresh" 2> /dev/null)
	assert_equal "$(stat -c %a "$T/fresh")" 640
}

# set_state FILE SYNCED END: the state vlsink-collect keeps in FILE.state,
# as if a collector had been stopped while writing a batch that began at
# byte SYNCED and would have ended at END: the newer of its two slots (at
# byte 512), with the file's identity kept and the CRC made again.
set_state() {
	python3 -c '
import re, sys, zlib
path, synced, end = sys.argv[1], sys.argv[2], sys.argv[3]
with open(path + ".state", "r+b") as f:
    f.seek(512)
    line = f.read(512).rstrip(b"\0").decode()
    line = re.sub(r" crc=\w+\n$", "", line)
    line = re.sub(r"seq=\d+", "seq=99", line)
    line = re.sub(r"synced=\d+ end=\d+", "synced=%s end=%s" % (synced, end), line)
    line += " crc=%08x\n" % zlib.crc32(line.encode())
    f.seek(512)
    f.write(line.encode().ljust(512, b"\0"))
' "$@"
}

@test "a foreign tail is never cut: a file or stdout not ending in LF is kept whole, records start on a new line" {
	local msg='ends in a line without LF that vlsink-collect cannot prove its own: left as it is, records start on a new line after it'
	# A file the collector did not create (no state): the whole file a
	# line without LF, once cut off as a "fragment" of ours.
	printf 'operator notes' > "$T/f1"
	run collect --output="$T/f1" < /dev/null
	assert_success
	assert_line --index 0 "vlsink-collect: $T/f1: $msg"
	assert_equal "$(cat "$T/f1")" 'operator notes'
	collect --output="$T/f1" <<< '{"d":4}' 2> /dev/null
	assert_equal "$(cat "$T/f1")" $'operator notes\n{"d":4}'
	# A short JSON fragment, in a file without state: not provably ours.
	printf '{"a":1}\n{"b":' > "$T/f2"
	run collect --output="$T/f2" <<< '{"d":4}'
	assert_success
	refute_output --partial 'cut off'
	assert_equal "$(cat "$T/f2")" $'{"a":1}\n{"b":\n{"d":4}'
	# stdout appended to a user's file: never cut (through /proc/self/fd/1
	# or otherwise), ended with LF.
	printf 'operator notes' > "$T/f3"
	collect --output=- <<< '{"d":4}' >> "$T/f3" 2> "$T/err3"
	assert_equal "$(cat "$T/f3")" $'operator notes\n{"d":4}'
	grep -qF "vlsink-collect: stdout: $msg" "$T/err3"
	# stdout on a file through a plain > (offset 0): nothing to end.
	printf '{"b":' > "$T/f4"
	collect --output=- <<< '{"d":4}' > "$T/f4" 2> /dev/null
	assert_equal "$(cat "$T/f4")" '{"d":4}'
	# Our own file, but bytes after the size last recorded: another
	# program's, kept.
	collect --output="$T/f5" <<< '{"a":1}' 2> /dev/null
	printf '{"b":2,"c":' >> "$T/f5"
	run collect --output="$T/f5" <<< '{"d":4}'
	assert_success
	assert_line --index 0 "vlsink-collect: $T/f5: 11 bytes after the 8 that vlsink-collect recorded were written by another program: left as they are"
	assert_line --index 1 "vlsink-collect: $T/f5: $msg"
	assert_equal "$(cat "$T/f5")" $'{"a":1}\n{"b":2,"c":\n{"d":4}'
	# Our own file, replaced by another one of the same name: not ours.
	collect --output="$T/f6" <<< '{"a":1}' 2> /dev/null
	rm "$T/f6"
	printf '{"x":' > "$T/f6"
	run collect --output="$T/f6" < /dev/null
	assert_line --index 0 "vlsink-collect: $T/f6: $msg"
	assert_equal "$(cat "$T/f6")" '{"x":'
	# A file ending in LF is not touched.
	printf '{"a":1}\n' > "$T/f7"
	run collect --output="$T/f7" <<< '{"d":4}'
	assert_equal "$output" "$(tail -n 1 <<< "$output")"
	assert_equal "$(cat "$T/f7")" $'{"a":1}\n{"d":4}'
}

@test "a partial record of our own (the state file proves it) is cut off at start; whole records of the batch kept" {
	collect --output="$T/out" <<< '{"a":1}' 2> /dev/null
	printf '{"b":2}\n{"c":3,"d":' >> "$T/out"
	# The last collector was writing bytes 8 to 40 when it stopped.
	set_state "$T/out" 8 40
	run collect --output="$T/out" <<< '{"e":5}'
	assert_success
	assert_line --index 0 "vlsink-collect: $T/out: cut off a partial record of 11 bytes at its end, left by a collector stopped while writing it: \"{\\\"c\\\":3,\\\"d\\\":\""
	assert_equal "$(cat "$T/out")" $'{"a":1}\n{"b":2}\n{"e":5}'
	# Longer than the batch it was writing: not all ours, nothing cut.
	printf '{"f":' >> "$T/out"
	set_state "$T/out" 24 27
	run collect --output="$T/out" < /dev/null
	assert_line --index 0 --partial 'bytes after the 27 that vlsink-collect recorded were written by another program'
	assert_equal "$(tail -n 1 "$T/out")" '{"f":'
	# A line longer than any record, though within the batch: not ours.
	local big
	big=$(head -c 5000 /dev/zero | tr '\0' x)
	printf '%s' "$big" >> "$T/out"
	local size
	size=$(stat -c %s "$T/out")
	set_state "$T/out" $((size - 5000)) $((size + 100))
	run collect --output="$T/out" <<< '{"g":7}'
	assert_line --index 0 --partial 'cannot prove its own: left as it is'
	assert_equal "$(tail -n 2 "$T/out")" "$big"$'\n{"g":7}'
}

@test "a new output file: its directory is fsynced after O_CREAT, before any batch; the state file is renamed in and its directory synced" {
	command -v strace > /dev/null || skip "needs strace"
	mkdir "$T/d"
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 strace -f -o "$T/trace" -e trace=fsync,fdatasync,openat,renameat,pwrite64,write \
		"$C" --output="$T/d/positions.jsonl" <<< '{"a":1}' 2> /dev/null 3>&-
	assert_equal "$(cat "$T/d/positions.jsonl")" '{"a":1}'
	# One line per call, the pid cut off: openat, the descriptor, the rest.
	sed -E 's/^[0-9]+ +//' "$T/trace" > "$T/calls"
	local out dir
	out=$(sed -nE 's|^openat\(AT_FDCWD, "'"$T"'/d/positions.jsonl", [^)]*O_CREAT[^)]*\) = ([0-9]+)$|\1|p' "$T/calls")
	dir=$(sed -nE 's|^openat\(AT_FDCWD, "'"$T"'/d", O_RDONLY[^)]*O_DIRECTORY[^)]*\) = ([0-9]+)$|\1|p' "$T/calls")
	[ -n "$out" ] && [ -n "$dir" ] || fail "no O_CREAT or directory open in: $(cat "$T/calls")"
	# Reduce to C (created), D (directory fsynced), R (state renamed in),
	# W (batch written), S (output synced).
	awk -v o="$out" -v d="$dir" '
		/O_CREAT/ && /positions.jsonl"/ && !/state/ { printf "C" }
		$0 ~ "^fsync\\(" d "\\) += 0" { printf "D" }
		/^renameat\(.*positions.jsonl.state.tmp.*positions.jsonl.state"\) = 0/ { printf "R" }
		$0 ~ "^write\\(" o ", " { printf "W" }
		$0 ~ "^fdatasync\\(" o "\\) += 0" { printf "S" }
		END { print "" }' "$T/calls" > "$T/seq"
	run cat "$T/seq"
	assert_output 'CDRDWS'
}

@test "valid records pass through unchanged and in order, to a file and to stdout" {
	need_vlsink
	local ex=$BATS_TEST_DIRNAME/../examples
	cat "$ex"/truck-7.jsonl "$ex"/van-3.csv "$ex"/bus-42.nmea | "$V" --format=json > "$T/recs" 2> /dev/null
	[ "$(wc -l < "$T/recs")" -ge 5 ] || fail "vlsink made too few records"
	# Plus JSON that vlsink never writes but that is valid all the same.
	cat >> "$T/recs" <<-'EOF'
	{}
	 { "a" : [1, -0, 2.5e-3, 1E+5, true, false, null, {"b": {}}, []] } 
	{"s":"\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00 é 😀 ✓"}
	{"a":	1}
	EOF
	run collect --output="$T/out" < "$T/recs"
	assert_success
	assert_output --regexp "summary: $(wc -l < "$T/recs") record\(s\) written, 0 rejected"
	cmp "$T/recs" "$T/out"
	collect --output=- < "$T/recs" 2> /dev/null > "$T/stdout"
	cmp "$T/recs" "$T/stdout"
	collect --output=- --sync=none < "$T/recs" 2> /dev/null | cat > "$T/piped"
	cmp "$T/recs" "$T/piped"
}

@test "CR LF becomes LF; a last line without LF is written with one" {
	printf '{"a":1}\r\n{"b":2}' | collect --output="$T/out" 2> /dev/null
	assert_equal "$(od -An -c "$T/out" | tr -s ' \n' ' ')" ' { " a " : 1 } \n { " b " : 2 } \n '
}

@test "invalid JSON is rejected with its reason, and the line after it still gets through" {
	local cases=$T/cases
	# reason <TAB> line
	cat > "$cases" <<-'EOF'
	not-object	[1,2]
	not-object	"just a string"
	not-object	null
	not-object	42
	empty	   
	syntax	hello
	syntax	{"a":1,}
	syntax	{,}
	syntax	{"a" 1}
	syntax	{"a"::1}
	syntax	{1:2}
	syntax	{'a':1}
	syntax	{"a":[1,]}
	syntax	{"a":[1 2]}
	syntax	{"a":{"b"}}
	syntax	{"a":tru}
	syntax	{"a":truex}
	syntax	{"a":NaN}
	syntax	{"a":Infinity}
	bad-number	{"a":-Infinity}
	bad-number	{"a":01}
	bad-number	{"a":-01}
	bad-number	{"a":1.}
	bad-number	{"a":.5}
	bad-number	{"a":1e}
	bad-number	{"a":1.5e+}
	bad-number	{"a":+1}
	bad-number	{"a":0x10}
	bad-number	{"a":1.2.3}
	bad-string	{"a":"\x"}
	bad-string	{"a":"\u12G4"}
	bad-string	{"a":"\ud800"}
	bad-string	{"a":"\udc00"}
	bad-string	{"a":"\ud800\u0041"}
	truncated	{"a":1
	truncated	{"a":"abc
	truncated	{"a":[1,2
	truncated	{"a":
	truncated	{
	trailing	{"a":1}x
	trailing	{"a":1}{"b":2}
	trailing	{"a":1},
	EOF
	local n=0 why line
	while IFS=$'\t' read -r why line; do
		n=$((n + 1))
		printf '%s\n{"after":%d}\n' "$line" "$n" > "$T/in"
		run collect --output="$T/out$n" < "$T/in"
		assert_success
		assert_line --index 0 --partial "line 1 rejected ($why"
		assert_equal "$(cat "$T/out$n")" "{\"after\":$n}"
	done < "$cases"
	[ "$n" -eq 42 ]
}

@test "raw control bytes, bad UTF-8 and NUL bytes are rejected" {
	local n=0 why
	while read -r why; do
		read -r fmt
		n=$((n + 1))
		# shellcheck disable=SC2059
		{ printf "$fmt"; printf '\n{"after":%d}\n' "$n"; } > "$T/in"
		run collect --output="$T/out$n" < "$T/in"
		assert_success
		assert_line --index 0 --partial "line 1 rejected ($why"
		assert_equal "$(cat "$T/out$n")" "{\"after\":$n}"
	done <<-'EOF'
	bad-string
	{"a":"x\001y"}
	bad-string
	{"a":"tab\tinside"}
	syntax
	{"a":1\000}
	bad-string
	{"a":"nul\000"}
	syntax
	\000{"a":1}
	bad-utf8
	{"a":"\303("}
	bad-utf8
	{"a":"\351"}
	bad-utf8
	{"a":"\300\257"}
	bad-utf8
	{"a":"\355\240\200"}
	bad-utf8
	{"a":"\364\220\200\200"}
	bad-utf8
	{"a":"\370\210\200\200\200"}
	syntax
	{"a":1\033}
	EOF
	[ "$n" -eq 12 ]
	# The sample is escaped: no raw control byte reaches the log.
	printf '{"a":"\001\033[31m"\n' | collect --output="$T/o" 2> "$T/err"
	run grep -c $'[\x01\x1b]' "$T/err"
	assert_output 0
	grep -qF '\x01\x1b[31m' "$T/err"
}

@test "nesting: 16 levels pass, 17 and 3990 are rejected as too-deep, 100000 as too-long" {
	deep() { local s='{"a":' e='}' i; for ((i = 1; i < $1; i++)); do s+='['; e="]$e"; done; echo "${s}1${e}"; }
	many() { head -c "$1" /dev/zero | tr '\0' "$2"; }
	{ deep 16; deep 17; echo "{\"a\":$(many 3990 '[')"; many 100000 '['; echo; echo "{\"a\":$(many 3000 '{')"; echo '{"ok":1}'; } > "$T/in"
	run collect --output="$T/out" < "$T/in"
	assert_success
	assert_line --partial 'line 2 rejected (too-deep at byte 20)'
	assert_line --partial 'line 3 rejected (too-deep at byte 20)'
	assert_line --partial 'line 4 rejected (too-long'
	assert_line --partial 'line 5 rejected (syntax at byte 6)'
	assert_equal "$(cat "$T/out")" "$(deep 16)"$'\n{"ok":1}'
}

@test "overlong lines: 4000 bytes pass, 4001 and 1 MiB without a newline are dropped whole" {
	mk() { printf '{"p":"%s"}' "$(head -c $(($1 - 8)) /dev/zero | tr '\0' x)"; }
	{ mk 4000; echo; mk 4001; echo; mk 4000; printf '\r\n'; head -c 1048576 /dev/zero | tr '\0' '{'; echo '{"tail":1}'; echo '{"next":1}'; } > "$T/in"
	run collect --output="$T/out" < "$T/in"
	assert_success
	assert_line --partial "line 2 rejected (too-long): \"{\\\"p\\\":\\\"$(printf 'x%.0s' {1..58})...\""
	assert_line --partial 'line 4 rejected (too-long)'
	assert_output --partial 'summary: 3 record(s) written, 2 rejected (2 too long'
	assert_equal "$(sed -n 1p "$T/out")" "$(mk 4000)"
	assert_equal "$(sed -n 2p "$T/out")" "$(mk 4000)"
	assert_equal "$(sed -n 3p "$T/out")" '{"next":1}'
	lines_are "$T/out" 3
}

@test "random binary: no crash, bounded rate-limited diagnostics, valid lines around it written" {
	local i
	for i in 1 2 3; do
		{ echo '{"before":1}'; head -c 100000 /dev/urandom; printf '\n{"after":1}\n'; } > "$T/in"
		run collect --output="$T/out$i" < "$T/in"
		assert_success
		assert_equal "$(cat "$T/out$i")" $'{"before":1}\n{"after":1}'
		# At most 10 reject messages at once, each short.
		[ "$(grep -c 'line [0-9]* rejected (' <<< "$output")" -le 10 ]
		[ "$(awk '{ if (length($0) > m) m = length($0) } END { print m }' <<< "$output")" -le 400 ]
	done
	# 1000 bad lines: 10 messages, the rest counted.
	yes 'garbage' | head -n 1000 > "$T/bad"
	run collect --output="$T/o" < "$T/bad"
	assert_success
	assert_equal "$(grep -c 'rejected (syntax' <<< "$output")" 10
	assert_output --partial 'summary: 0 record(s) written, 1000 rejected (0 too long, 990 not reported)'
}

@test "20 concurrent vlsink writers through a real FIFO: every record exactly once, none torn" {
	need_vlsink
	local fifo=$T/fifo i
	mkfifo "$fifo"
	# As under ListenFIFO=: fd 3 is the FIFO opened read-write.
	env LISTEN_FDS=1 $WRAP "$C" --output="$T/out" 3<> "$fifo" 2> "$T/err" &
	local cpid=$!
	PIDS+=("$cpid")
	local wp=()
	for i in $(seq 1 20); do
		gen_csv "w$i" 2000 > "$T/in$i"
		"$V" --format=json < "$T/in$i" > "$T/exp$i" 2> /dev/null
		"$V" --sink=fifo:"$fifo" --format=json < "$T/in$i" 2>> "$T/werr" 3>&- &
		wp+=($!)
		PIDS+=($!)
	done
	for i in "${wp[@]}"; do
		wait "$i" || fail "a writer failed: $(cat "$T/werr")"
	done
	wait_for 60 lines_are "$T/out" 40000
	kill -TERM "$cpid"
	reap "$cpid"
	assert_equal "$RC" 0
	run cat "$T/err"
	assert_output --partial 'summary: 40000 record(s) written, 0 rejected'
	all_whole "$T/out"
	cat "$T"/exp* | sort > "$T/want"
	sort "$T/out" > "$T/got"
	cmp "$T/want" "$T/got"
	for i in $(seq 1 20); do
		grep -F "\"vehicle\":\"w$i\"," "$T/out" | cmp - "$T/exp$i"
	done
}

@test "input fd left non-blocking (as PID 1 may pass it): still read correctly" {
	gen_fixed 3000 > "$T/recs"
	mkfifo "$T/fifo"
	exec 7<> "$T/fifo"
	perl -MFcntl -MPOSIX=dup2 -e 'sysopen(my $f, $ARGV[0], O_RDWR | O_NONBLOCK) or die;
		dup2(fileno($f), 3) or die; shift; exec @ARGV or die' \
		"$T/fifo" env LISTEN_FDS=1 "$C" --output="$T/out" 2> "$T/err" &
	local cpid=$!
	PIDS+=("$cpid")
	cat "$T/recs" >&7 3>&- &
	PIDS+=($!)
	wait_for 20 lines_are "$T/out" 3000
	kill -TERM "$cpid"
	reap "$cpid"
	assert_equal "$RC" 0
	cmp "$T/recs" "$T/out"
}

@test "SIGTERM: writes what was read, prints the summary, exits 0" {
	mkfifo "$T/fifo"
	exec 7<> "$T/fifo"
	env LISTEN_FDS=1 $WRAP "$C" --output="$T/out" 3<&7 2> "$T/err" &
	local cpid=$!
	PIDS+=("$cpid")
	gen_fixed 100 >&7
	wait_for 10 lines_are "$T/out" 100
	kill -TERM "$cpid"
	reap "$cpid"
	assert_equal "$RC" 0
	run cat "$T/err"
	assert_output --partial 'summary: 100 record(s) written, 0 rejected (0 too long, 0 not reported), 10000 bytes read, 10000 bytes written, end=signal'
	gen_fixed 100 | cmp - "$T/out"
	# SIGINT alike (once it is running: a record has gone through).
	env LISTEN_FDS=1 $WRAP "$C" --output="$T/out2" 3<&7 2> "$T/err2" &
	cpid=$!
	PIDS+=("$cpid")
	gen_fixed 1 >&7
	wait_for 20 lines_are "$T/out2" 1
	kill -INT "$cpid"
	reap "$cpid"
	assert_equal "$RC" 0
	grep -q 'end=signal' "$T/err2"
}

@test "restart mid-stream: a line cut by the read buffer is finished, the next collector starts clean" {
	# 5000 records of 100 bytes wait in the FIFO.  The first collector reads
	# one buffer (69538 bytes: 695 records and 38 bytes of the next), blocks
	# writing it into a pipe nobody reads yet, and gets SIGTERM there.
	gen_fixed 5000 > "$T/recs"
	mkfifo "$T/fifo" "$T/outpipe"
	exec 7<> "$T/fifo"
	fill_fifo "$T/fifo" "$T/recs"
	queued_is "$T/fifo" 500000
	(
		exec 3>&-
		until [ -e "$T/go" ]; do sleep 0.05; done
		exec cat > "$T/out1"
	) < "$T/outpipe" &
	PIDS+=($!)
	local reader=$!
	env LISTEN_FDS=1 $WRAP "$C" --output=- 3<&7 > "$T/outpipe" 2> "$T/err1" &
	local c1=$!
	PIDS+=("$c1")
	wait_for 10 queued_is "$T/fifo" $((500000 - 69538))
	kill -TERM "$c1"
	touch "$T/go"
	reap "$c1"
	assert_equal "$RC" 0
	wait "$reader"
	run cat "$T/err1"
	assert_output --partial 'summary: 696 record(s) written, 0 rejected'
	head -n 696 "$T/recs" | cmp - "$T/out1"
	queued_is "$T/fifo" $((500000 - 69600))
	env LISTEN_FDS=1 $WRAP "$C" --output="$T/out2" 3<&7 2> "$T/err2" &
	local c2=$!
	PIDS+=("$c2")
	wait_for 20 lines_are "$T/out2" 4304
	kill -TERM "$c2"
	reap "$c2"
	assert_equal "$RC" 0
	run cat "$T/err2"
	assert_output --partial 'summary: 4304 record(s) written, 0 rejected'
	cat "$T/out1" "$T/out2" | cmp - "$T/recs"
}

@test "--sync=batch: fdatasync after every write, before the next read; --sync=none: never" {
	command -v strace > /dev/null || skip "needs strace"
	gen_fixed 20000 > "$T/recs"
	# LeakSanitizer cannot run under ptrace.
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 strace -o "$T/trace" -e trace=read,write,fdatasync "$C" --output="$T/out" < "$T/recs" 2> /dev/null 3>&-
	cmp "$T/recs" "$T/out"
	# Reduce the trace to R (read of stdin), W (write to the file), S (sync).
	awk '/^read\(0,/ { printf "R" } /^write\(3,/ { printf "W" } /^fdatasync\(3\)/ { printf "S" } END { print "" }' \
		"$T/trace" > "$T/seq"
	run cat "$T/seq"
	# 2000000 bytes in reads of at most 69538: at least 29 batches.
	assert_output --regexp '^(RWS){29,}R$'
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 strace -o "$T/trace2" -e trace=fdatasync "$C" --output="$T/out2" --sync=none < "$T/recs" 2> /dev/null
	cmp "$T/recs" "$T/out2"
	run grep -c fdatasync "$T/trace2"
	assert_output 0
}

@test "stdout to a reader that went away: exit 74 with a message" {
	run bash -c '{ echo "{\"a\":1}"; sleep 0.5; echo "{\"b\":2}"; sleep 0.5; } | "$C" --output=- 2> "$1/err" | head -n 1; echo "rc=${PIPESTATUS[1]}"' sh "$T"
	assert_line '{"a":1}'
	assert_line 'rc=74'
	run cat "$T/err"
	assert_output --partial 'vlsink-collect: stdout: write: Broken pipe'
	assert_output --partial 'end=output-error'
}

@test "SIGTERM while stdout is stuck (a pipe nobody reads): 5 s grace, then exit 74 saying how many records were not written" {
	# 2000 records of 100 bytes; the first read takes 69,538 bytes (695
	# whole records), the pipe holds 65,536 of them and nobody reads.
	gen_fixed 2000 > "$T/recs"
	mkfifo "$T/outpipe"
	exec 6<> "$T/outpipe"
	env $WRAP "$C" --output=- < "$T/recs" > "$T/outpipe" 2> "$T/err" 6>&- &
	local cpid=$!
	PIDS+=("$cpid")
	wait_for 10 queued_is "$T/outpipe" 65536
	sleep 0.3
	local t0 ms
	t0=$(date +%s%N)
	kill -TERM "$cpid"
	reap "$cpid"
	ms=$((($(date +%s%N) - t0) / 1000000))
	exec 6>&-
	echo "exited $RC after $ms ms"
	assert_equal "$RC" 74
	((ms >= 4500 && ms < 8000))
	run cat "$T/err"
	assert_output --partial 'vlsink-collect: stdout: took nothing for 5 s after the stop signal: giving up'
	# 655 whole records and 36 bytes of the 656th went out.
	assert_output --partial 'vlsink-collect: stdout: 40 record(s) read but not written'
	assert_output --partial 'summary: 655 record(s) written, 0 rejected (0 too long, 0 not reported), 69538 bytes read, 65536 bytes written, end=stopped-while-blocked'
}

@test "disk full: the collector pauses, writers block, nothing is lost or doubled when space returns" {
	need_vlsink
	make_small_disk 512
	# Leave two pages: the first batch is cut off in the middle of a record.
	head -c $((512 * 1024 - 8192)) /dev/zero > "$DISK/filler" || true
	gen_csv full 2000 > "$T/in"
	"$V" --format=json < "$T/in" > "$T/want" 2> /dev/null
	mkfifo "$T/fifo"
	exec 7<> "$T/fifo"
	nsenter -t "$HOLDER" -m -- env LISTEN_FDS=1 $WRAP "$C" --output="$MNT/positions.jsonl" 3<&7 2> "$T/err" &
	local cpid=$!
	PIDS+=("$cpid")
	"$V" --sink=fifo:"$T/fifo" --format=json < "$T/in" 2> "$T/werr" 3>&- 7>&- &
	local wpid=$!
	PIDS+=("$wpid")
	wait_for 10 has "$T/err" 'No space left on device; input paused'
	sleep 0.5
	local q1 q2
	q1=$(fifo_queued "$T/fifo")
	sleep 2
	q2=$(fifo_queued "$T/fifo")
	# The writer cannot finish: the FIFO is full (its 16 pages hold ~3.7 KiB
	# batches) and nobody reads it.
	kill -0 "$wpid"
	[ "$q1" -ge 49152 ] && [ "$q1" -eq "$q2" ] || fail "FIFO holds $q1, then $q2 bytes"
	# What is in the file is whole records only, the cut-off one removed.
	local partial
	partial=$(wc -l < "$DISK/positions.jsonl")
	[ "$partial" -gt 0 ] && [ "$partial" -lt 2000 ]
	all_whole "$DISK/positions.jsonl"
	head -n "$partial" "$T/want" | cmp - "$DISK/positions.jsonl"
	# Space returns: everything arrives, once, in order.
	rm "$DISK/filler"
	wait "$wpid"
	wait_for 20 lines_are "$DISK/positions.jsonl" 2000
	kill -TERM "$cpid"
	reap "$cpid"
	assert_equal "$RC" 0
	cmp "$T/want" "$DISK/positions.jsonl"
	run cat "$T/err"
	assert_equal "$(grep -c 'input paused' <<< "$output")" 1
	assert_output --partial 'writable again after'
	assert_output --partial 'summary: 2000 record(s) written, 0 rejected'
}

@test "SIGKILL while paused on a full disk: no torn record, loss bounded by one read buffer" {
	make_small_disk 1024
	gen_fixed 5000 > "$T/recs"
	head -c $((1024 * 1024 - 8192)) /dev/zero > "$DISK/filler" || true
	mkfifo "$T/fifo"
	exec 7<> "$T/fifo"
	fill_fifo "$T/fifo" "$T/recs"
	# Of the two pages left, the state file takes one.
	nsenter -t "$HOLDER" -m -- env LISTEN_FDS=1 "$C" --output="$MNT/out" 3<&7 2> "$T/err1" &
	local c1=$!
	PIDS+=("$c1")
	wait_for 10 has "$T/err1" 'input paused'
	kill -KILL "$c1"
	wait "$c1" || true
	# 4096 bytes fitted: 40 whole records kept, the torn 41st cut off.
	all_whole "$DISK/out"
	lines_are "$DISK/out" 40
	rm "$DISK/filler"
	nsenter -t "$HOLDER" -m -- env LISTEN_FDS=1 $WRAP "$C" --output="$MNT/out" 3<&7 2> "$T/err2" &
	local c2=$!
	PIDS+=("$c2")
	wait_for 10 queued_is "$T/fifo" 0
	wait_for 10 has "$T/err2" 'line 1 rejected'
	sleep 0.3
	kill -TERM "$c2"
	reap "$c2"
	assert_equal "$RC" 0
	all_whole "$DISK/out"
	# Lost: the rest of the first read (records 41-695 and 38 bytes of the
	# 696th); the second collector rejects that record's 62-byte tail.  The
	# 40 records the first one wrote and did not sync are kept: the state
	# file proves them its own.
	run cat "$T/err2"
	assert_output --partial 'line 1 rejected (syntax'
	assert_output --partial 'summary: 4304 record(s) written, 1 rejected'
	{ head -n 40 "$T/recs"; tail -n 4304 "$T/recs"; } | cmp - "$DISK/out"
	[ $((5000 - 40 - 4304)) -le $((69538 / 100 + 1)) ]
}

@test "SIGTERM while paused on a full disk: exit 74, saying how many records were not written" {
	make_small_disk 256
	gen_fixed 300 > "$T/recs"
	# Two pages left: one for the state file, one for records.
	head -c $((256 * 1024 - 8192)) /dev/zero > "$DISK/filler" || true
	nsenter -t "$HOLDER" -m -- env $WRAP "$C" --output="$MNT/out" < "$T/recs" 2> "$T/err" &
	local cpid=$!
	PIDS+=("$cpid")
	wait_for 10 has "$T/err" 'input paused'
	kill -TERM "$cpid"
	reap "$cpid"
	assert_equal "$RC" 74
	all_whole "$DISK/out"
	lines_are "$DISK/out" 40
	run cat "$T/err"
	assert_output --partial "$MNT/out: 260 record(s) read but not written"
	assert_output --partial 'summary: 40 record(s) written, 0 rejected (0 too long, 0 not reported), 30000 bytes read, 4000 bytes written, end=stopped-while-stalled'
}
