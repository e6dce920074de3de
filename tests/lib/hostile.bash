# shellcheck shell=bash
# shellcheck disable=SC2154 # $output: set by bats' run
# Helpers for tests/hostile.bats: vlsink behind systemd-socket-activate
# --accept on 127.0.0.1 (under GNU time, for its peak RSS), a scripted TCP
# client (python3, standard library), and one runner that sends a case's
# hostile bytes followed by valid lines on one connection and checks
# everything a hostile case must satisfy; plus the same bytes into
# vlsink-collect.
#
# Load after lib/common.

# The system's python3 when there is one (a pyenv shim costs a start-up).
if [[ -x /usr/bin/python3 ]]; then PY=/usr/bin/python3; else PY=python3; fi

# Peak RSS bounds (KiB): absolute, and above the baseline of a connection
# that sends two valid lines (measured once per file).  vlsink keeps one
# fixed buffer, so hostile bytes must not cost more than a few pages.
: "${HOSTILE_RSS_MAX_KIB:=8192}"
: "${HOSTILE_RSS_GROWTH_KIB:=768}"

# The scripted client.  argv: PORT ACTION...
#   send:FILE          send FILE at full speed
#   slow:FILE:SECS     send FILE one byte at a time, SECS apart
#   sleep:SECS         pause
#   wait:PATH:SECS     wait until PATH exists (fail after SECS)
#   reset              close with SO_LINGER 0: the peer gets an RST, mid-line
#                      if that is where the bytes stopped; ends the script
# Without reset, the client half-closes and waits (30 s at most) for the
# server to close.  Prints "sent N" and "closed" or "reset"; exit 1 when the
# connection fails.
HOSTILE_CLIENT_PY='
import os, socket, struct, sys, time
port = int(sys.argv[1])
s = socket.create_connection(("127.0.0.1", port), timeout=60)
sent = 0
for act in sys.argv[2:]:
    kind, _, arg = act.partition(":")
    if kind == "send":
        with open(arg, "rb") as f:
            data = f.read()
        s.sendall(data)
        sent += len(data)
    elif kind == "slow":
        path, _, secs = arg.rpartition(":")
        with open(path, "rb") as f:
            data = f.read()
        for i in range(len(data)):
            s.sendall(data[i:i + 1])
            sent += 1
            if i + 1 < len(data):
                time.sleep(float(secs))
    elif kind == "sleep":
        time.sleep(float(arg))
    elif kind == "wait":
        path, _, secs = arg.rpartition(":")
        end = time.monotonic() + float(secs)
        while not os.path.exists(path):
            if time.monotonic() > end:
                sys.exit("client: %s did not appear" % path)
            time.sleep(0.05)
    elif kind == "reset":
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()
        print("sent %d" % sent)
        print("reset")
        sys.exit(0)
    else:
        sys.exit("client: unknown action " + act)
print("sent %d" % sent)
s.shutdown(socket.SHUT_WR)
s.settimeout(30)
while s.recv(65536):
    pass
s.close()
print("closed")
'

# hostile_client ACTION...: the client against $PORT.
hostile_client() {
	timeout $((90 * T_SCALE)) "$PY" -c "$HOSTILE_CLIENT_PY" "$PORT" "$@"
}

# hostile_server VLSINK-ARGS...: vlsink behind systemd-socket-activate
# --accept, stdout (records) in $T/ssa.out, stderr in $T/ssa.err, each
# connection's peak RSS appended to $T/rss.  GNU time forks vlsink, so
# LISTEN_PID (the pid of time) is dropped: LISTEN_FDS=1 alone means fd 3.
hostile_server() {
	: >"$T/rss"
	if [[ -x /usr/bin/time ]]; then
		ssa_start --accept -- env -u LISTEN_PID /usr/bin/time -a -f %M -o "$T/rss" "$VLSINK" "$@"
	else
		ssa_start --accept -- "$VLSINK" "$@"
	fi
}

# connections_done N: N connections have ended (their vlsink exited).
connections_done() {
	local n
	n=$(grep -c 'died with code' "$T/ssa.err" 2>/dev/null) || true
	((${n:-0} >= $1))
}

# rss_ok FILE LABEL: the last peak RSS in FILE is within the bounds (not
# checked in the sanitizer pass: shadow memory and quarantine).
rss_ok() {
	local file=$1 label=$2 kib
	[[ -x /usr/bin/time ]] || return 0
	kib=$(grep -E '^[0-9]+$' "$file" | tail -n 1)
	[[ -n $kib ]] || fail "$label: no peak RSS in $file: $(cat "$file")"
	echo "$label: peak RSS $kib KiB (baseline ${RSS_BASE:-?} KiB)"
	[[ ${VLSINK_SANITIZED:-0} != 1 ]] || return 0
	((kib < HOSTILE_RSS_MAX_KIB)) || fail "$label: peak RSS $kib KiB, bound $HOSTILE_RSS_MAX_KIB KiB"
	if [[ -n ${RSS_BASE:-} ]]; then
		((kib < RSS_BASE + HOSTILE_RSS_GROWTH_KIB)) ||
			fail "$label: peak RSS $kib KiB, $((kib - RSS_BASE)) KiB above the baseline"
	fi
}

# The valid lines sent after every case's garbage: an RMC (fix time
# 2026-01-01T01:10:42Z) and a CSV position of vehicle after-1.
hostile_after() {
	printf '%s\r\n' "$(rmc_at 4242)" 'after-1,2026-01-01T02:00:00Z,52.5,13.4'
}

# the_after_records_arrived FILE: the last two records in FILE are the two
# valid lines sent after the garbage.
the_after_records_arrived() {
	local f=$1
	[[ $(tail -n 2 "$f" | jq -r '"\(.format) \(.time)"' | tr '\n' ' ') == \
		"nmea-rmc 2026-01-01T01:10:42.000Z csv 2026-01-01T02:00:00.000Z " ]] || return 1
	[[ $(tail -n 1 "$f" | jq -r .vehicle) == after-1 ]]
}

# hostile_tcp GARBAGE ACCEPTED [REASON:COUNT]...: one TCP connection sends
# GARBAGE, then (after HOSTILE_PAUSE seconds, if set) CRLF and the two valid
# lines of hostile_after, and half-closes.  Checks: vlsink exits 0 with its
# summary (end eof); ACCEPTED records in all, the last two being the valid
# lines; every record valid JSON; each REASON rejected COUNT times ("+": at
# least once) and, when every count is given, no other rejects; a reject
# message on stderr for each reason when few enough were rejected to be
# logged; peak RSS within bounds.  Extra vlsink options: HOSTILE_ARGS.
hostile_tcp() {
	local garbage=$1 accepted=$2
	shift 2
	{
		printf '\r\n'
		hostile_after
	} >"$T/after"
	# shellcheck disable=SC2086
	hostile_server --sink=stdout --format=json ${HOSTILE_ARGS:-}
	local -a acts=("send:$garbage")
	[[ -n ${HOSTILE_PAUSE:-} ]] && acts+=("sleep:$HOSTILE_PAUSE")
	acts+=("send:$T/after")
	run hostile_client "${acts[@]}"
	echo "$output"
	assert_success
	assert_line closed
	wait_until 20 connections_done 1 || fail "vlsink did not end: $(tail -n 5 "$T/ssa.err")"
	hostile_checks "$accepted" "$@"
}

# hostile_checks ACCEPTED [REASON:COUNT]...: the checks of hostile_tcp, on
# the connection that ended last ($T/ssa.out, $T/ssa.err, $T/rss).
hostile_checks() {
	local accepted=$1 spec reason count sum=0 exact=1 end=${HOSTILE_END:-eof}
	shift
	grep -q 'died with code 0' "$T/ssa.err" || fail "vlsink failed: $(tail -n 5 "$T/ssa.err")"
	local s
	s=$(summary "$T/ssa.err")
	echo "summary: $s"
	[[ $s == *": $end: "* ]] || fail "no summary with end=$end on stderr"
	assert_equal "$(summary_counts "$T/ssa.err" | cut -d' ' -f1)" "$accepted"
	assert_equal "$(line_count "$T/ssa.out")" "$accepted"
	jq -e -c . "$T/ssa.out" >/dev/null || fail "a record is not valid JSON"
	the_after_records_arrived "$T/ssa.out" || fail "the valid lines after the garbage: $(tail -n 2 "$T/ssa.out")"
	local rejected
	rejected=$(summary_counts "$T/ssa.err" | cut -d' ' -f3)
	for spec in "$@"; do
		reason=${spec%%:*} count=${spec#*:}
		local got
		got=$(reason_count "$reason" "$T/ssa.err")
		if [[ $count == + ]]; then
			exact=0
			((got >= 1)) || fail "no line rejected as $reason"
		else
			assert_equal "$got" "$count"
			sum=$((sum + count))
		fi
		if ((rejected <= 10)); then
			grep -q "rejected ($reason): " "$T/ssa.err" || fail "no reject message for $reason"
		fi
	done
	if ((exact)); then
		assert_equal "$rejected" "$sum"
	fi
	# Diagnostics are escaped: no raw control byte or high byte on stderr.
	! LC_ALL=C grep -qP '[\x00-\x08\x0b-\x1f\x7f-\xff]' "$T/ssa.err" || fail "raw bytes in the diagnostics"
	RSS_BASE=${RSS_BASE_VLSINK:-} rss_ok "$T/rss" vlsink
}

# hostile_collect GARBAGE WRITTEN: vlsink-collect reads GARBAGE, then LF and
# one valid record, from stdin into a file: it exits 0 with its summary,
# WRITTEN records in all (the valid JSON objects among the garbage, and the
# last one), every line of the file one JSON object, memory flat.
hostile_collect() {
	local garbage=$1 written=$2 collect
	collect=$(dirname "$VLSINK")/vlsink-collect
	[[ -x $collect ]] || fail "no collector next to $VLSINK"
	{
		cat "$garbage"
		printf '\n{"after":1}\n'
	} >"$T/collect.in"
	local -a wrap=()
	[[ -x /usr/bin/time ]] && wrap=(/usr/bin/time -f %M -o "$T/rss.collect")
	status=0
	"${wrap[@]}" "$collect" --output="$T/collect.out" <"$T/collect.in" 2>"$T/collect.err" 3>&- || status=$?
	assert_equal "$status" 0
	local s
	s=$(grep 'vlsink-collect: summary: ' "$T/collect.err")
	echo "collector: $s"
	[[ $s == *"end=eof"* ]] || fail "collector: no summary: $(tail -n 3 "$T/collect.err")"
	[[ $s == *": $written record(s) written, "* ]] || fail "collector: expected $written record(s) written"
	assert_equal "$(line_count "$T/collect.out")" "$written"
	assert_equal "$(tail -n 1 "$T/collect.out")" '{"after":1}'
	jq -e -c . "$T/collect.out" >/dev/null || fail "collector wrote a line that is not JSON"
	! LC_ALL=C grep -qP '[\x00-\x08\x0b-\x1f\x7f-\xff]' "$T/collect.err" || fail "raw bytes in the collector's diagnostics"
	[[ ${#wrap[@]} == 0 ]] || RSS_BASE=${RSS_BASE_COLLECT:-} rss_ok "$T/rss.collect" vlsink-collect
}

# rss_baselines: the peak RSS of vlsink and of vlsink-collect on two valid
# lines, into RSS_BASE_VLSINK and RSS_BASE_COLLECT (exported; empty without
# GNU time).  For setup_file.
rss_baselines() {
	export RSS_BASE_VLSINK='' RSS_BASE_COLLECT=''
	[[ -x /usr/bin/time ]] || return 0
	local d=$BATS_FILE_TMPDIR
	{
		rmc_at 1
		printf '\r\nv,2026-01-01T00:00:00Z,1,2\n'
	} >"$d/base.in"
	/usr/bin/time -f %M -o "$d/base.rss" "$VLSINK" <"$d/base.in" >/dev/null 2>&1 3>&-
	RSS_BASE_VLSINK=$(tail -n 1 "$d/base.rss")
	printf '{"a":1}\n{"b":2}\n' >"$d/base.json"
	/usr/bin/time -f %M -o "$d/base.rss" "$(dirname "$VLSINK")/vlsink-collect" --output="$d/base.out" \
		<"$d/base.json" >/dev/null 2>&1 3>&-
	RSS_BASE_COLLECT=$(tail -n 1 "$d/base.rss")
}
