# Shared helpers for the vlsink bats files: where the binary is, per-test
# scratch files, background processes that teardown always ends, free TCP
# ports, NMEA lines with correct checksums, and poll-wait loops.
#
# Load with:  load 'lib/common'   then call common_setup / common_teardown
# from setup / teardown.  common_setup sets T, OUT, ERR and the fixed NMEA
# sentences RMC, GGA and GSV (see RMC_BODY below).

# shellcheck disable=SC2034 # Variables set here are read by the test files.
load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

# The repository (from this file's place, so that suites below tests/, such
# as tests/harness, find the same build).
TOP=$(cd "${BASH_SOURCE[0]%/*}/../.." && pwd)
: "${VLSINK:=$TOP/build/std/vlsink}"
export VLSINK

# Sanitizer builds (make check sets VLSINK_SANITIZED=1) run several times
# slower: every wait below scales.
if [[ ${VLSINK_SANITIZED:-0} == 1 ]]; then
	T_SCALE=3
else
	T_SCALE=1
fi

# What the summary's SANDBOX= says of a confined session (CONFINED_RE: the
# plain build that ct_install installs), and of a session of the build under
# test, $VLSINK (SANDBOX_RE: sanitizer builds run unconfined, vlsink(1)).
CONFINED_RE='^seccomp(, landlock [1-9][0-9]*| \(no landlock in this kernel\))$'
if [[ ${VLSINK_SANITIZED:-0} == 1 ]]; then
	SANDBOX_RE='^off \(sanitizer build\)$'
else
	SANDBOX_RE=$CONFINED_RE
fi

# The test build with the worker's crash trigger (make hooks; VLSINK_CRASH_ON,
# src/vlsink/worker.c), instrumented in the sanitizer pass: hooks_build from
# setup_file, then hooks_bin from setup sets HOOKS (a missing build fails).
hooks_build() {
	if [[ ${VLSINK_SANITIZED:-0} == 1 ]]; then
		make -s -C "$TOP" SANITIZE=address,undefined hooks >/dev/null 2>&1 || true
	else
		make -s -C "$TOP" hooks >/dev/null 2>&1 || true
	fi
}

hooks_bin() {
	if [[ ${VLSINK_SANITIZED:-0} == 1 ]]; then
		HOOKS=$TOP/build/san-hooks/vlsink
	else
		HOOKS=$TOP/build/hooks/vlsink
	fi
	[[ -x $HOOKS ]] || fail "the test build is missing: $HOOKS (make hooks)"
}

common_setup() {
	[[ -x $VLSINK ]] || fail "vlsink binary not found or not executable: $VLSINK (run make, or set VLSINK)"
	T=$BATS_TEST_TMPDIR
	OUT=$T/out
	ERR=$T/err
	BG_PIDS=()
	BG_GROUPS=()
	# The fixed sentences below (RMC_BODY...), with their checksums.
	RMC=$(nmea "$RMC_BODY")
	GGA=$(nmea "$GGA_BODY")
	GSV=$(nmea "$GSV_BODY")
}

common_teardown() {
	local p
	# Process groups first (launchers that fork), then single processes.
	for p in "${BG_GROUPS[@]}"; do
		kill -TERM -- "-$p" 2>/dev/null || true
	done
	for p in "${BG_PIDS[@]}"; do
		kill -TERM "$p" 2>/dev/null || true
	done
	for p in "${BG_GROUPS[@]}" "${BG_PIDS[@]}"; do
		wait_gone "$p" 5 || kill -KILL "$p" 2>/dev/null || true
	done
	for p in "${BG_GROUPS[@]}"; do
		kill -KILL -- "-$p" 2>/dev/null || true
	done
	return 0
}

# Tests hold their ends of FIFOs on fds 5-7; background processes must not
# inherit them, or a reader would never see EOF.
#
# bg CMD...: starts CMD in the background with fd 3 (bats' own output) and
# fds 5-7 closed, so that bats never waits on it; the pid is in BG_PID and is
# ended by teardown.  Redirect the command's own stdio as needed, e.g.
#   bg "$VLSINK" <in >out 2>err
bg() {
	"$@" 3>&- 5>&- 6>&- 7>&- &
	BG_PID=$!
	BG_PIDS+=("$BG_PID")
}

# track PID: has teardown end a process started with a plain "&", which is
# what a command whose redirections open FIFOs needs (a redirection on a
# call to bg would be opened by this shell, and block it):
#   "$VLSINK" <"$T/fifo" >"$OUT" 2>"$ERR" 3>&- &
#   track $!
track() {
	BG_PID=$1
	BG_PIDS+=("$1")
}

# bg_group CMD...: like bg, but in a new session and process group (for
# launchers such as systemd-socket-activate that fork children); teardown
# ends the whole group.  BG_PID is the group's leader.
bg_group() {
	setsid "$@" 3>&- 5>&- 6>&- 7>&- &
	BG_PID=$!
	BG_GROUPS+=("$BG_PID")
}

alive() {
	kill -0 "$1" 2>/dev/null
}

# wait_gone PID SECONDS: true once PID has exited (scaled timeout).
wait_gone() {
	local pid=$1 limit=$(($2 * T_SCALE * 10)) i
	for ((i = 0; i < limit; i++)); do
		alive "$pid" || return 0
		sleep 0.1
	done
	! alive "$pid"
}

# wait_until SECONDS CMD...: polls CMD every 0.05 s until it succeeds;
# false after SECONDS (scaled).
wait_until() {
	local limit=$(($1 * T_SCALE * 20)) i
	shift
	for ((i = 0; i < limit; i++)); do
		"$@" && return 0
		sleep 0.05
	done
	"$@"
}

# exit_status PID: waits for a background child and prints its exit status.
exit_status() {
	local rc=0
	wait "$1" || rc=$?
	echo "$rc"
}

# wait_exit PID SECONDS: waits for a background child of this shell and sets
# $status; fails the test when it has not exited in time.
wait_exit() {
	wait_gone "$1" "$2" || fail "process $1 still running after $2 s (x$T_SCALE)"
	status=$(exit_status "$1")
}

file_has() { # FILE REGEX
	[[ -f $1 ]] && grep -qE -- "$2" "$1"
}

line_count() {
	if [[ -f $1 ]]; then wc -l <"$1"; else echo 0; fi
}

lines_at_least() { # FILE N
	(($(line_count "$1") >= $2))
}

# fdinfo_pos PID FD: the file offset of a process's descriptor.
fdinfo_pos() {
	sed -n 's/^pos:[[:space:]]*//p' "/proc/$1/fdinfo/$2" 2>/dev/null
}

# settled PID FD: true when the offset has moved from 0 and then not for
# half a second: the process has read, and is now blocked elsewhere.
settled() {
	local a b
	a=$(fdinfo_pos "$1" "$2")
	sleep 0.5
	b=$(fdinfo_pos "$1" "$2")
	[[ -n $a && $a != 0 && $a == "$b" ]]
}

# vl ARGS...: runs vlsink with stdout in $OUT and stderr in $ERR, status in
# $status.  Input comes from the caller's redirection.
vl() {
	status=0
	"$VLSINK" "$@" >"$OUT" 2>"$ERR" 3>&- || status=$?
}

# The summary vlsink writes last on stderr.
summary() {
	grep -E ': (eof|reset|idle-timeout|signal|input-error|sink-error|unknown-device|restart-limit): ' "${1:-$ERR}" | tail -n 1
}

# nmea BODY: prints "$BODY*hh" with the right XOR checksum, no line end.
# The loop runs in a bash of its own: bats' debug traps make every statement
# of a test's shell an order of magnitude slower.
nmea() {
	bash -c '
		body=$1 sum=0
		for ((i = 0; i < ${#body}; i++)); do
			printf -v c "%d" "'"'"'${body:i:1}"
			sum=$((sum ^ c))
		done
		printf "\$%s*%02X" "$body" "$sum"' nmea "$1"
}

# A few fixed sentences with known decodings.
#   RMC: 2024-03-23T12:35:19Z (after the last GPS week rollover, so
#   --rollover=fix leaves it alone), 48.1173 N, 11.516667 E, 22.4 kn, 84.4 deg
RMC_BODY='GPRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,230324,003.1,W'
#   GGA: 12:35:19 (date from the RMC before it), 545.4 m
GGA_BODY='GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,'
GSV_BODY='GPGSV,2,1,08,01,40,083,46,02,17,308,41,12,07,344,39,14,22,228,45'

# rmc_at N: a valid RMC whose time is N seconds after 2026-01-01 00:00:00
# (N < 86400), so that lines of a stream can be told apart.
rmc_at() {
	local n=$1
	nmea "$(printf 'GPRMC,%02d%02d%02d.00,A,5128.6111,N,00000.0840,W,10.0,87.30,010126,,,A' \
		$((n / 3600)) $((n / 60 % 60)) $((n % 60)))"
}

# gen_nmea LINES: realistic NMEA (RMC+GGA, CRLF) from the bench generator,
# built from tests/bench/gen-nmea.c into the file's tmpdir when the Makefile
# has not built it.
gen_nmea() {
	local gen=$TOP/build/std/gen-nmea
	if [[ ! -x $gen ]]; then
		gen=$BATS_FILE_TMPDIR/gen-nmea
		if [[ ! -x $gen ]]; then
			"${CC:-cc}" -std=c11 -O2 -o "$gen.tmp.$$" "$TOP/tests/bench/gen-nmea.c" &&
				mv "$gen.tmp.$$" "$gen" || return 1
		fi
	fi
	"$gen" "$@"
}

# The journal sink without the machine's journal: a private mount namespace
# with a fake journal socket (root only).
#
# in_private_run CMD...: runs CMD with an empty tmpfs over the journal
# socket's directory, in a mount namespace of its own: the machine's journal
# can be neither seen nor written.  Everything execs (this function, unshare,
# bash), so the pid of "in_private_run CMD &" is the pid of CMD.
in_private_run() {
	exec unshare -m -- bash -c '
		for d in /run/systemd/journal /run/systemd /run; do
			[[ -d $d ]] && break
		done
		mount -t tmpfs -o mode=0755 tmpfs "$d" || exit 125
		exec "$@"' in_private_run "$@"
}

need_private_mount() {
	unshare -m -- mount -t tmpfs tmpfs "$BATS_TEST_TMPDIR" 2>/dev/null ||
		skip "needs root to mount a tmpfs in a private mount namespace (unshare -m)"
}

# fake_journal PID: binds a datagram socket at the journal's path inside
# PID's mount namespace and appends what arrives to $T/journal.  Refuses
# unless PID's mount namespace is another than this shell's.
fake_journal() {
	[[ $(readlink "/proc/$1/ns/mnt") != "$(readlink /proc/self/ns/mnt)" ]] ||
		fail "process $1 is not in a private mount namespace"
	nsenter -t "$1" -m -- sh -c '
		mkdir -p /run/systemd/journal &&
		exec socat -u UNIX-RECV:/run/systemd/journal/socket,unlink-early \
			OPEN:"$0",creat,append' "$T/journal" 3>&- 5>&- 6>&- 7>&- &
	track $!
	# vlsink may deliver and exit as soon as the socket appears.
	wait_until 10 bash -c "[[ ! -e /proc/$1 ]] || nsenter -t $1 -m -- test -S /run/systemd/journal/socket"
}

# free_port: prints a TCP port on 127.0.0.1 that nobody listens on right now,
# below the ephemeral range so that client sockets do not take it.  Callers
# still retry on a clash (see ssa_start).
free_port() {
	local port i f sl local_addr rest
	local -A used=()
	for f in /proc/net/tcp /proc/net/tcp6; do
		[[ -r $f ]] || continue
		while read -r sl local_addr rest; do
			[[ $local_addr == *:* ]] && used[$((16#${local_addr##*:}))]=1
		done <"$f"
	done
	for ((i = 0; i < 200; i++)); do
		port=$((20000 + (SRANDOM % 12000)))
		if [[ -z ${used[$port]:-} ]]; then
			echo "$port"
			return 0
		fi
	done
	return 1
}

# ssa_start [SSA-OPTIONS...] -- CMD...: runs systemd-socket-activate on a free
# 127.0.0.1 port, retrying on another port when the one picked was taken.
# Sets PORT, SSA_PID; its stdout is $T/ssa.out, its stderr $T/ssa.err.
ssa_start() {
	local opts=() try
	while [[ $1 != -- ]]; do
		opts+=("$1")
		shift
	done
	shift
	for ((try = 0; try < 10; try++)); do
		PORT=$(free_port) || fail "no free port"
		: >"$T/ssa.err"
		bg_group systemd-socket-activate -l "127.0.0.1:$PORT" "${opts[@]}" "$@" \
			</dev/null >"$T/ssa.out" 2>"$T/ssa.err"
		SSA_PID=$BG_PID
		local i
		for ((i = 0; i < 200 * T_SCALE; i++)); do
			grep -q "^Listening on 127.0.0.1:$PORT" "$T/ssa.err" && return 0
			alive "$SSA_PID" || break
			sleep 0.05
		done
		kill -TERM -- "-$SSA_PID" 2>/dev/null || true
	done
	fail "systemd-socket-activate did not start: $(cat "$T/ssa.err")"
}

# The client port systemd-socket-activate saw for the last connection.
ssa_client_port() {
	sed -n 's/^Connection from 127\.0\.0\.1:\([0-9]*\) to .*/\1/p' "$T/ssa.err" | tail -n 1
}

# rss_kib FILE CMD...: runs CMD under GNU time, its stdin and stdout as
# given by the caller, and writes its peak resident set size (KiB) to FILE.
rss_kib() {
	local file=$1
	shift
	/usr/bin/time -f %M -o "$file" "$@"
}

# summary_counts [FILE]: "ACCEPTED IGNORED REJECTED" from the summary.
summary_counts() {
	summary "$@" | sed -E 's/.*: ([0-9]+) accepted, ([0-9]+) ignored, ([0-9]+) rejected.*/\1 \2 \3/'
}

# reason_count REASON [FILE]: how many lines the summary says were rejected
# for REASON (0 when it does not name it).
reason_count() {
	local n
	n=$(summary "${2:-$ERR}" | sed -nE "s/.*[(, ]$1 ([0-9]+)[,)].*/\\1/p")
	echo "${n:-0}"
}

# summary_bytes [FILE]: the byte count of the summary.
summary_bytes() {
	summary "$@" | sed -E 's/.*, ([0-9]+) bytes.*/\1/'
}
