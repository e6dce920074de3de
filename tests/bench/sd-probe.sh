#!/bin/bash
# sd-probe.sh - measurements taken INSIDE the benchmark container (copied in
# by tests/bench/systemd-bench.sh and tests/bench/soak.sh; never run it on
# the host: it talks to the systemd it finds).  One call per measurement, so
# that polling costs one nsenter, not one per poll.
#
#   sd-probe.sh mem PID            "VmRSS_KiB Pss_KiB" of PID ("0 0" if gone)
#   sd-probe.sh unit-mem UNIT      the same for UNIT's main process
#   sd-probe.sh pss COMM           "COUNT PSS_KiB RSS_KiB": processes named
#                                  COMM (exactly), Pss and Rss summed (exited
#                                  ones that wait to be reaped not counted)
#   sd-probe.sh idle SECS          wait until vlsink.socket and its shards
#                                  (vlsink-sK.socket) have no connection
#                                  left; prints the time (epoch seconds)
#   sd-probe.sh sockets            vlsink.socket and its shards, one a line
#   sd-probe.sh sum PROP           PROP of every one of them, summed
#   sd-probe.sh each PROP          "SOCKET VALUE" of every one of them
#   sd-probe.sh ramp N SECS A0     wait until N vlsink processes run; gives
#                                  up early once vlsink.socket has accepted N
#                                  connections since NAccepted was A0 and no
#                                  vlsink@ unit is activating any more (the
#                                  rest failed), or after SECS; prints "TIME
#                                  RUNNING", fails unless all N run
#   sd-probe.sh failures SINCE     PID 1's "Failed with result" of vlsink@
#                                  and vlsink-sK@ units since SINCE, counted by result, and
#                                  the log of the first failed unit
#   sd-probe.sh wait-entry SINCE SECS MATCH...  wait until the journal holds
#                                  an entry matching MATCH... at or after
#                                  SINCE (epoch seconds); prints the time
#   sd-probe.sh wait-count SINCE SECS N MATCH...  wait until N entries match
#                                  (one line each with -o cat); prints the
#                                  count, also when it fails after SECS
#   sd-probe.sh jstats SINCE MATCH...  "COUNT FIRST_US LAST_US": entries
#                                  with a SOURCE_FORMAT field (records) since
#                                  SINCE, and journald's receive timestamps
#                                  of the first and the last
#   sd-probe.sh jrecords SINCE MATCH...  those records as JSON lines with
#                                  VEHICLE_ID, FIX_TIME, SOURCE_FORMAT only
#                                  (for e2e_client.py check --journal)
#   sd-probe.sh cpu UNIT           CPU time of UNIT's cgroup so far,
#                                  microseconds (usage_usec of its cgroup v2
#                                  cpu.stat, also under a hybrid hierarchy,
#                                  where CPUAccounting= has no cpuacct
#                                  controller to use in a container); 0 if
#                                  the unit has no cgroup
#   sd-probe.sh tcpstat            "NAME VALUE" lines: the TcpExt counters
#                                  of this network namespace that say a
#                                  storm overflowed the listen queue, or
#                                  that keepalive gave up on connections
#   sd-probe.sh firsts FILE        "VEHICLES LAST_US": from journal records
#                                  (jrecords lines) in FILE, the number of
#                                  vehicles and the latest of their first
#                                  records' receive times
#   sd-probe.sh first-seen FILE PREFIX N SECS STOP  follow the
#                                  collector's FILE until N vehicles named
#                                  PREFIX* have a record in it; prints
#                                  "EPOCH COUNT" (the time the last of them
#                                  was first seen, polled every 0.2 s);
#                                  fails after SECS or once STOP exists
#
# journalctl's --after-cursor skips matching entries when combined with
# field matches on systemd 252 (measured), hence --since=@EPOCH.USEC.
set -u

now() { date +%s.%N; }

records() { # SINCE MATCH...
	local since=$1
	shift
	journalctl -q --no-pager --since="@$since" -o json \
		--output-fields=VEHICLE_ID,FIX_TIME,SOURCE_FORMAT "$@" | grep -F '"SOURCE_FORMAT"'
}

sockets() {
	systemctl list-units --all --plain --no-legend --type=socket 'vlsink.socket' 'vlsink-s[0-9]*.socket' |
		awk '{ print $1 }'
}

sum() { # PROP
	# shellcheck disable=SC2046
	systemctl show -P "$1" $(sockets) | awk '{ s += $1 } END { print s + 0 }'
}

mem() {
	local pid=$1 rss pss
	rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" 2>/dev/null)
	pss=$(awk '/^Pss:/ { print $2 }' "/proc/$pid/smaps_rollup" 2>/dev/null)
	echo "${rss:-0} ${pss:-0}"
}

cmd=${1:?command}
shift
case $cmd in
mem) mem "$1" ;;
unit-mem)
	pid=$(systemctl show -P MainPID "$1")
	if [ "${pid:-0}" = 0 ]; then echo "0 0"; else mem "$pid"; fi
	;;
pss)
	# one awk over all the files: a cat per process takes seconds with
	# thousands; a process that has exited and is not yet reaped has an
	# empty smaps_rollup and is not counted
	# shellcheck disable=SC2016
	pgrep -x "$1" | sed 's|.*|/proc/&/smaps_rollup|' | xargs -r awk '
		/^Rss:/ { r += $2; n++ } /^Pss:/ { s += $2 }
		END { printf "%d %d %d\n", n, s, r }' 2>/dev/null |
		awk '{ n += $1; s += $2; r += $3 } END { printf "%d %d %d\n", n, s, r }'
	;;
idle)
	end=$(($(date +%s) + $1))
	until [ "$(sum NConnections)" = 0 ]; do
		[ "$(date +%s)" -lt "$end" ] || exit 1
		sleep 0.05
	done
	now
	;;
sockets) sockets ;;
sum) sum "$1" ;;
each)
	for u in $(sockets); do echo "$u $(systemctl show -P "$1" "$u")"; done
	;;
ramp)
	n=$1 end=$(($(date +%s) + $2)) a0=$3
	while :; do
		r=$(pgrep -c -x vlsink)
		if [ "$r" -ge "$n" ]; then
			echo "$(now) $r"
			exit 0
		fi
		a=$(($(systemctl show -P NAccepted vlsink.socket) - a0))
		if { [ "$a" -ge "$n" ] &&
			[ -z "$(systemctl list-units --all --plain --no-legend --state=activating 'vlsink@*')" ]; } ||
			[ "$(date +%s)" -ge "$end" ]; then
			echo "$(now) $r"
			exit 1
		fi
		sleep 0.2
	done
	;;
failures)
	journalctl -q --no-pager --since="@$1" _PID=1 -o cat |
		sed -n "s/^\(vlsink\(-s[0-9]*\)\{0,1\}@[^ ]*\): Failed with result '\([^']*\)'.*/\3 \1/p" >/tmp/sd-probe.failed
	awk '{ c[$1]++ } END { for (r in c) printf "%s%s %d", s++ ? ", " : "", r, c[r]; print "" }' /tmp/sd-probe.failed
	u=$(awk 'NR == 1 { print $2 }' /tmp/sd-probe.failed)
	u=${u%.service}.service
	[ "$u" != .service ] && journalctl -q --no-pager --since="@$1" -u "$u" -o short-monotonic | tail -n 8
	rm -f /tmp/sd-probe.failed
	;;
wait-entry)
	since=$1 end=$(($(date +%s) + $2))
	shift 2
	until journalctl -q --no-pager --since="@$since" -o cat "$@" | grep -q .; do
		[ "$(date +%s)" -lt "$end" ] || exit 1
		sleep 0.05
	done
	now
	;;
wait-count)
	since=$1 end=$(($(date +%s) + $2)) n=$3
	shift 3
	while :; do
		c=$(journalctl -q --no-pager --since="@$since" -o cat "$@" | wc -l)
		[ "$c" -ge "$n" ] && break
		[ "$(date +%s)" -lt "$end" ] || { echo "$c"; exit 1; }
		sleep 0.1
	done
	echo "$c"
	;;
jstats)
	since=$1
	shift
	records "$since" "$@" | grep -o '"__REALTIME_TIMESTAMP":"[0-9]*"' |
		awk -F'"' 'NR == 1 { f = $4 } { l = $4; n++ } END { printf "%d %s %s\n", n, (n ? f : 0), (n ? l : 0) }'
	;;
jrecords)
	since=$1
	shift
	records "$since" "$@"
	;;
cpu)
	cg=$(systemctl show -P ControlGroup "$1")
	f=/sys/fs/cgroup/unified$cg/cpu.stat
	[ -e "$f" ] || f=/sys/fs/cgroup$cg/cpu.stat
	if [ -n "$cg" ] && [ -r "$f" ]; then awk '$1 == "usage_usec" { print $2 }' "$f"; else echo 0; fi
	;;
tcpstat)
	awk '$1 == "TcpExt:" && !h { for (i = 2; i <= NF; i++) k[i] = $i; h = 1; next }
		$1 == "TcpExt:" { for (i = 2; i <= NF; i++) v[k[i]] = $i }
		END { n = split("ListenOverflows ListenDrops SyncookiesSent SyncookiesFailed TCPAbortOnData TCPAbortOnMemory" \
				" TCPKeepAlive TCPAbortOnTimeout", w)
			for (j = 1; j <= n; j++) print w[j], v[w[j]] + 0 }' /proc/net/netstat
	;;
firsts)
	awk 'match($0, /"VEHICLE_ID":"[^"]*"/) {
			v = substr($0, RSTART + 14, RLENGTH - 15)
			if (!match($0, /"__REALTIME_TIMESTAMP":"[0-9]*"/)) next
			t = substr($0, RSTART + 24, RLENGTH - 25) + 0
			if (!(v in f) || t < f[v]) f[v] = t
		}
		END { for (v in f) { n++; if (f[v] > l) l = f[v] } printf "%d %.0f\n", n, l }' "$1"
	;;
first-seen)
	python3 -c '
import os, re, sys, time
path, prefix, want, end, stop = sys.argv[1], sys.argv[2].encode(), int(sys.argv[3]), time.time() + int(sys.argv[4]), sys.argv[5]
pat = re.compile(rb"\"vehicle\":\"(" + re.escape(prefix) + rb"[^\"]*)\"")
seen, off, tail, last = set(), 0, b"", 0.0
while True:
    try:
        with open(path, "rb") as f:
            f.seek(off)
            data = f.read()
    except FileNotFoundError:
        data = b""
    off += len(data)
    data = tail + data
    cut = data.rfind(b"\n") + 1
    tail = data[cut:]
    n = len(seen)
    seen.update(pat.findall(data[:cut]))
    if len(seen) > n:
        last = time.time()
    if len(seen) >= want:
        print("%.6f %d" % (last, len(seen)))
        sys.exit(0)
    if time.time() >= end or os.path.exists(stop):
        print("%.6f %d" % (last, len(seen)))
        sys.exit(1)
    time.sleep(0.2)
' "$@"
	;;
*)
	echo "sd-probe.sh: unknown command $cmd" >&2
	exit 64
	;;
esac
