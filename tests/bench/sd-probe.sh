#!/bin/bash
# sd-probe.sh - measurements taken INSIDE the benchmark container (copied in
# by tests/bench/systemd-bench.sh and tests/bench/soak.sh; never run it on
# the host: it talks to the systemd it finds).  One call per measurement, so
# that polling costs one nsenter, not one per poll.
#
#   sd-probe.sh mem PID            "VmRSS_KiB Pss_KiB" of PID ("0 0" if gone)
#   sd-probe.sh unit-mem UNIT      the same for UNIT's main process
#   sd-probe.sh pss COMM           "COUNT PSS_KiB RSS_KiB": processes named
#                                  COMM (exactly), Pss and Rss summed
#   sd-probe.sh idle SECS          wait until vlsink.socket has no connection
#                                  left; prints the time (epoch seconds)
#   sd-probe.sh ramp N SECS A0     wait until N vlsink processes run; gives
#                                  up early once vlsink.socket has accepted N
#                                  connections since NAccepted was A0 and no
#                                  vlsink@ unit is activating any more (the
#                                  rest failed), or after SECS; prints "TIME
#                                  RUNNING", fails unless all N run
#   sd-probe.sh failures SINCE     PID 1's "Failed with result" of vlsink@
#                                  units since SINCE, counted by result, and
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
	pids=$(pgrep -x "$1")
	if [ -z "$pids" ]; then
		echo "0 0 0"
		exit 0
	fi
	for p in $pids; do cat "/proc/$p/smaps_rollup" 2>/dev/null; done |
		awk -v n="$(echo "$pids" | wc -w)" '/^Pss:/ { s += $2 } /^Rss:/ { r += $2 } END { printf "%d %d %d\n", n, s, r }'
	;;
idle)
	end=$(($(date +%s) + $1))
	until [ "$(systemctl show -P NConnections vlsink.socket)" = 0 ]; do
		[ "$(date +%s)" -lt "$end" ] || exit 1
		sleep 0.05
	done
	now
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
		sed -n "s/^\(vlsink@[^ ]*\): Failed with result '\([^']*\)'.*/\2 \1/p" >/tmp/sd-probe.failed
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
*)
	echo "sd-probe.sh: unknown command $cmd" >&2
	exit 64
	;;
esac
