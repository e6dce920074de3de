#!/usr/bin/env bash
# systemd-bench.sh - vlsink under a real systemd: spawn rate, 1000 held
# connections, one-connection journal throughput. A BENCHMARK, not a test:
# it prints figures, ratios and a verdict per target, and exits 0 whenever
# it produced figures (target met or not); 2 on a setup failure (not root,
# no nspawn, build or install failed, the container did not boot).
#
# Usage: tests/bench/systemd-bench.sh          (make bench-systemd; root)
#
# Boots ONE throwaway systemd in systemd-nspawn over a tmpfs overlay of /
# (tests/lib/container.bash; never the host's systemd, never over the host's
# root), installs the build into it (make install DESTDIR=<container root>
# PREFIX=/usr/local), enables vlsink.socket and drives it from inside the
# container's private network. Everything is torn down on exit, also on
# failure and Ctrl-C.
#
#  1. Connections/s that vlsink.socket sustains: sequential connect, one
#     valid NMEA line, close (the client does not wait), SEQ_COUNT
#     connections per variant in SEQ_ROUNDS interleaved rounds; a round is
#     done when every instance has finished (NConnections back to 0,
#     NAccepted up by the round's count) and its lines are in the journal.
#     Four variants of the SAME socket and unit, by drop-in:
#       vlsink hardened   the unit as installed
#       cat    hardened   ExecStart=/bin/cat (the floor of the spawn cost; its
#                         stdout is the journal, as the unit says, so each
#                         connection's line lands there too)
#       vlsink bare       a drop-in resetting every sandboxing option, and
#                         vlsink --no-sandbox
#       vlsink namespaced the sandbox PID 1 built per connection until
#                         2026-11-30 (DynamicUser=, ProtectSystem=, ...,
#                         SystemCallFilter=), vlsink --no-sandbox
#       cat    bare       both
#       unsupervised hardened  vlsink --no-supervise: what supervision costs
#     Also the closed-loop latency (LAT_COUNT connections, each waiting for
#     the server to close). Target: vlsink >= 0.8x cat (hardened unit).
#  2. A fleet: FLEET_COUNT vehicles connecting at once from a cold start
#     (a reconnect storm) from FLEET_SOURCES loopback addresses (127.0.x.y;
#     vlsink.socket allows 256 connections per source), each sending one
#     numbered NMEA record a second for FLEET_SECONDS, then closing; the
#     client is tests/bench/fleet.c (epoll, one process). Once into the
#     journal, once through the FIFO drop-in and vlsink-collect
#     (/var/lib/vlsink/positions.jsonl); FLEET_UNIT=installed runs the unit
#     as installed, bare the same with part 1's "bare" drop-in. Figures:
#     records delivered/sent (each exactly once, checked per vehicle); the
#     time from the first connect until all are connected (client side)
#     and until the first record of every vehicle is stored; PID 1 VmRSS
#     before, peak (sampled every 2 s), after; journald's and the
#     collector's CPU time (their units' CPUUsageNSec); PSS per connection
#     half-way; NRefused; failed instances and units. Verdicts: 100%
#     delivered, all delivering within 2 min, PID 1 under 300 MiB. Needs
#     2 x FLEET_COUNT free pids on the host (kernel.pid_max counts the
#     container's processes too; a reader and a worker per connection).
#     Container setup: net.core.somaxconn and net.ipv4.tcp_max_syn_backlog
#     of its network namespace raised to FLEET_COUNT + 4096 (at least
#     16384; the listen queue is still capped by vlsink.socket's Backlog=,
#     and the kernel's ListenOverflows say when it was too short); the
#     collector started before the storm.
#  3. Records/s through ONE connection into the journal (ONE_LINES NMEA
#     lines) against jbench, a bare sd_journal_sendv loop with the same 14
#     fields (tests/bench/jbench.c), run as a transient unit with the
#     LogRateLimit settings of vlsink@.service; ONE_ROUNDS interleaved
#     rounds, medians. Rate = records / (start until the last record is
#     stored). Target: vlsink >= 0.9x jbench.
#
#     Parameters of a fleet run, for a matrix: CT_RELEASE (the container's
#     root, tests/lib/container.bash: empty for the host's release, e.g.
#     trixie), SHARDS (listening sockets on the port, make install SHARDS=,
#     scripts/gen-units.sh --shards), FLEET_COUNT (1000, 4000, 10000).
#     Per run, besides the above: connections accepted per shard; "all
#     served" (the last vehicle's first record stored); PID 1 ms/instance
#     (its CPU, /proc/PID/stat, per accepted connection) and instance
#     ms/instance (system.slice's cpu.stat less journald's: the instances'
#     cgroups, fork to exit; the client runs in bench.slice), each split by
#     phase: storm (first connect until all served), steady state (all
#     served until the records end: CPU per fix, at one fix a second per
#     vehicle; needs FLEET_SECONDS well beyond the storm) and teardown
#     (records end until all instances are gone); journald's CPU; and a
#     RESULT line with the figures of the matrix. FLEET_BREAKDOWN=1 (the
#     default) first splits one connection's instance CPU: closed-loop
#     connections (BREAKDOWN_COUNT, 100) with ExecStart=/bin/true (what
#     PID 1's child does before exec, and exit) against vlsink reading one
#     line (the difference: vlsink from exec to its record and exit).
#     10,000 needs PID 1 to hold a descriptor per connection (two on
#     systemd 257, which keeps a pidfd per instance): the bench refuses a
#     FLEET_COUNT whose FLEET_COUNT (2 x FLEET_COUNT on 257) + 1024 exceed
#     the container PID 1's limit, and says why (see there).
#
# Environment: SEQ_COUNT (300) SEQ_ROUNDS (3) LAT_COUNT (50) FLEET_COUNT
# (10000) FLEET_SECONDS (60) FLEET_SOURCES (one per 200 vehicles)
# FLEET_UNIT (installed | bare) FLEET_DROPIN (a file: one more drop-in for
# vlsink@.service in part 2, for experiments) FLEET_SINKS ("journal fifo") ONE_LINES
# (100000) ONE_ROUNDS (3) BENCH_PARTS ("1 2 3": the parts to run)
# BENCH_BREAKDOWN=1 (also: closed-loop latency of the bare unit with one
# sandboxing option switched back on at a time, as a markdown table:
# BREAKDOWN_ROUNDS (3) interleaved rounds of BREAKDOWN_COUNT (40)
# connections per option, medians) JBENCH, GEN, FLEET (prebuilt
# tests/bench/jbench.c, gen-nmea.c, fleet.c; compiled into a temp dir
# otherwise). CT_* knobs of tests/lib/container.bash apply.

# shellcheck disable=SC2015,SC2016,SC2317

# shellcheck source=sd-common.bash
source "$(dirname "${BASH_SOURCE[0]}")/sd-common.bash" || exit 2

SEQ_COUNT=${SEQ_COUNT:-300}
SEQ_ROUNDS=${SEQ_ROUNDS:-3}
LAT_COUNT=${LAT_COUNT:-50}
FLEET_COUNT=${FLEET_COUNT:-10000}
FLEET_SECONDS=${FLEET_SECONDS:-60}
# One source per 150 vehicles: with SHARDS=4 each shard takes 64 per
# source, and a source's connections are spread over the shards by hash.
FLEET_SOURCES=${FLEET_SOURCES:-$(((${FLEET_COUNT//[!0-9]/} + 149) / 150))}
SHARDS=${SHARDS:-1}
FLEET_BREAKDOWN=${FLEET_BREAKDOWN:-1}
FLEET_UNIT=${FLEET_UNIT:-installed}
FLEET_SINKS=${FLEET_SINKS:-journal fifo}
ONE_LINES=${ONE_LINES:-100000}
ONE_ROUNDS=${ONE_ROUNDS:-3}
BENCH_PARTS=${BENCH_PARTS:-1 2 3}
for v in SHARDS SEQ_COUNT SEQ_ROUNDS LAT_COUNT FLEET_COUNT FLEET_SECONDS FLEET_SOURCES ONE_LINES ONE_ROUNDS; do
	[[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer, got '${!v}'"
done
((FLEET_SOURCES <= 254 * 256)) || die "FLEET_SOURCES must be at most $((254 * 256))"
((FLEET_COUNT <= 256 * FLEET_SOURCES)) ||
	die "FLEET_SOURCES=$FLEET_SOURCES: vlsink.socket takes 256 connections per source, $FLEET_COUNT need $(((FLEET_COUNT + 255) / 256))"
# make install (ct_install) reads it: vlsink.socket and SHARDS - 1 more
export SHARDS
# CT_RELEASE is tests/lib/container.bash's (branch trixie): refuse it rather
# than boot the host's release under another name.
if [[ -n ${CT_RELEASE:-} ]] && ! grep -q 'CT_RELEASE' "$sd_root/tests/lib/container.bash"; then
	die "CT_RELEASE=$CT_RELEASE: this tests/lib/container.bash cannot boot another release yet (branch trixie adds it)"
fi
[[ $FLEET_UNIT == installed || $FLEET_UNIT == bare ]] || die "FLEET_UNIT must be installed or bare, got '$FLEET_UNIT'"
for s in $FLEET_SINKS; do
	[[ $s == journal || $s == fifo ]] || die "FLEET_SINKS: unknown sink '$s' (journal, fifo)"
done
if [[ " $BENCH_PARTS " == *" 2 "* ]]; then
	# Every process of the container takes a pid of the host too, and
	# kernel.pid_max of the host's namespace bounds them all: a fleet needs
	# a reader and a worker per connection.
	pid_max=$(cat /proc/sys/kernel/pid_max) tasks=$(awk '{ split($4, a, "/"); print a[2] }' /proc/loadavg)
	((pid_max - tasks >= 2 * FLEET_COUNT + 2000)) ||
		die "kernel.pid_max $pid_max with $tasks tasks running leaves too few pids for $FLEET_COUNT connections" \
			"(2 each, + 2000); raise it on the host: sysctl -w kernel.pid_max=4194304"
	# PID 1 holds every accepted connection until its instance ends; the
	# container's PID 1 would otherwise inherit this shell's descriptor limit
	# (nspawn's --rlimit= cannot raise the hard limit without
	# CAP_SYS_RESOURCE, nor can the container's PID 1 raise its own; its
	# DefaultLimitNOFILE= applies to services only)
	CT_NSPAWN_ARGS="${CT_NSPAWN_ARGS:-} --rlimit=RLIMIT_NOFILE=$((2 * FLEET_COUNT + 65536))"
fi

sd_setup sdbench

# jbench and the NMEA track, on the host, then into the container
if [[ -n ${JBENCH:-} ]]; then
	jbench=$JBENCH
else
	jbench=$sd_tmp/jbench
	# shellcheck disable=SC2046
	"${CC:-cc}" -std=c11 -O2 -o "$jbench" "$sd_dir/jbench.c" \
		$(pkg-config --cflags --libs libsystemd 2>/dev/null || echo -lsystemd) ||
		die "cannot compile tests/bench/jbench.c (libsystemd-dev)"
fi
[[ -x $jbench ]] || die "jbench not executable: $jbench"
if [[ -n ${FLEET:-} ]]; then
	fleet=$FLEET
else
	fleet=$sd_tmp/fleet
	"${CC:-cc}" -std=c11 -D_GNU_SOURCE -O2 -o "$fleet" "$sd_dir/fleet.c" || die "cannot compile tests/bench/fleet.c"
fi
[[ -x $fleet ]] || die "fleet not executable: $fleet"
if [[ -n ${GEN:-} ]]; then
	gen=$GEN
elif [[ -x $sd_root/build/std/gen-nmea ]]; then
	gen=$sd_root/build/std/gen-nmea
else
	gen=$sd_tmp/gen-nmea
	"${CC:-cc}" -std=c11 -O2 -o "$gen" "$sd_dir/gen-nmea.c" || die "cannot compile tests/bench/gen-nmea.c"
fi
"$gen" "$ONE_LINES" >"$sd_tmp/track.nmea" || die "generator failed: $gen"
sd_copy "$jbench" "$LIBEXEC/jbench"
sd_copy "$sd_tmp/track.nmea" "$B/track.nmea"

sd_header "vlsink under systemd: benchmark (figures, not a test)"

part() { [[ " $BENCH_PARTS " == *" $1 "* ]]; }
declare -A N_ T_ FIN_ REC_ LAT_ EXP_ FAILS_

# ---- 1. connection rate ------------------------------------------------------
# (write_variant and exposure serve part 2 too)
# The sandboxing options of vlsink@.service until 2026-11-30, when PID 1
# built the whole sandbox for every connection (tests/fixtures holds that
# unit); "namespaced" puts them back, without vlsink's own sandbox.
NAMESPACED=(
	"DynamicUser=yes" "PrivateNetwork=yes" "IPAddressDeny=any" "RestrictAddressFamilies=AF_UNIX"
	"PrivateDevices=yes" "DevicePolicy=closed" "PrivateTmp=yes" "PrivateUsers=yes" "PrivateIPC=yes"
	"ProtectSystem=strict" "ProtectHome=yes" "ProtectProc=invisible" "ProcSubset=pid" "ProtectClock=yes"
	"ProtectHostname=yes" "RestrictNamespaces=yes" "RestrictRealtime=yes" "RestrictSUIDSGID=yes"
	"LockPersonality=yes" "MemoryDenyWriteExecute=yes" "RemoveIPC=yes"
	"SystemCallArchitectures=native" "SystemCallFilter=@system-service"
	"SystemCallFilter=~@privileged @resources" "SystemCallErrorNumber=EPERM"
)

write_variant() { # EXE SANDBOX: EXE vlsink, cat or unsupervised; SANDBOX hardened (as installed), bare or namespaced
	local exe=$1 sb=$2 args="--sink=journal"
	ct_exec rm -f "$DROPINS/zz-bench-cat.conf" "$DROPINS/zz-bench-bare.conf" || return 1
	[[ $exe == unsupervised ]] && args+=" --no-supervise"
	[[ $sb != hardened ]] && args+=" --no-sandbox"
	if [[ $exe == cat ]]; then
		printf '[Service]\nExecStart=\nExecStart=/bin/cat\n' | ct_write "$DROPINS/zz-bench-cat.conf" || return 1
	elif [[ $args != --sink=journal ]]; then
		printf '[Service]\nExecStart=\nExecStart=/usr/local/bin/vlsink %s\n' "$args" |
			ct_write "$DROPINS/zz-bench-cat.conf" || return 1
	fi
	if [[ $sb == namespaced ]]; then
		printf '[Service]\n%s\n' "${NAMESPACED[@]}" | ct_write "$DROPINS/zz-bench-bare.conf" || return 1
	elif [[ $sb == bare ]]; then
		# every sandboxing option back to systemd's default (resource
		# limits stay), and vlsink --no-sandbox: rated 9.6 like a bare unit
		ct_write "$DROPINS/zz-bench-bare.conf" <<-'EOF' || return 1
			[Service]
			User=
			Group=
			CapabilityBoundingSet=~
			AmbientCapabilities=
			NoNewPrivileges=no
			KeyringMode=private
			UMask=0022
		EOF
	fi
	ct_exec systemctl daemon-reload
}

exposure() { # rating of vlsink@.service as loaded (drop-ins included)
	ct_exec systemd-analyze security --no-pager vlsink@probe.service 2>/dev/null |
		awk '/Overall exposure level/ { for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+\.[0-9]+$/) print $i }'
}

if part 1; then

VARIANTS=("vlsink hardened" "cat hardened" "vlsink bare" "cat bare" "unsupervised hardened" "vlsink namespaced")

# seq_round "EXE SANDBOX" N: one open-loop round; adds to the variant's sums
seq_round() {
	local key=$1 n=$2 exe out start end a0 a1 recs
	exe=${key%% *}
	a0=$(probe sum NAccepted)
	out=$(ct_exec python3 "$CLIENT" seq --count "$n") || return 1
	start=$(kv start_realtime "$out")
	FAILS_[$key]=$((${FAILS_[$key]:-0} + $(kv failed "$out")))
	end=$(probe idle 300) || {
		echo "  $key: instances still running 300 s after the round" >&2
		return 1
	}
	a1=$(probe sum NAccepted)
	if [[ $exe != cat ]]; then
		recs=$(probe wait-count "$start" 20 "$n" -t vlsink SOURCE_FORMAT=nmea-rmc)
	else
		recs=$(probe wait-count "$start" 20 "$n" -t cat)
	fi
	N_[$key]=$((${N_[$key]:-0} + n))
	T_[$key]=$(calc "print ${T_[$key]:-0} + $end - $start")
	FIN_[$key]=$((${FIN_[$key]:-0} + a1 - a0))
	REC_[$key]=$((${REC_[$key]:-0} + recs))
}

echo
echo "-- 1. connection rate: sequential connect, one NMEA line, close --"
per_round=$(((SEQ_COUNT + SEQ_ROUNDS - 1) / SEQ_ROUNDS))
for key in "${VARIANTS[@]}"; do
	write_variant "${key%% *}" "${key##* }" || die "cannot write the drop-ins for $key"
	EXP_[$key]=$(exposure)
	ct_exec python3 "$CLIENT" seq --count 5 --wait >/dev/null # warm-up
done
for ((r = 1; r <= SEQ_ROUNDS; r++)); do
	for key in "${VARIANTS[@]}"; do
		write_variant "${key%% *}" "${key##* }" || die "cannot write the drop-ins for $key"
		seq_round "$key" "$per_round" || die "round $r of '$key' failed"
	done
	echo "  round $r of $SEQ_ROUNDS done"
done
for key in "${VARIANTS[@]}"; do
	write_variant "${key%% *}" "${key##* }" || die "cannot write the drop-ins for $key"
	out=$(ct_exec python3 "$CLIENT" seq --count "$LAT_COUNT" --wait) || die "closed loop '$key' failed"
	LAT_[$key]=$(calc "printf \"%.1f\", $(kv seconds "$out") * 1000 / $(kv connections "$out")")
done
write_variant vlsink hardened || die "cannot restore the installed unit"

printf '\n%-17s %8s %9s %16s %16s %14s\n' variant exposure* "conn/s" "instances done" "lines in journal" "closed-loop ms"
for key in "${VARIANTS[@]}"; do
	printf '%-17s %8s %9.1f %16s %16s %14s\n' "$key" "${EXP_[$key]:-?}" \
		"$(calc "print ${N_[$key]} / ${T_[$key]}")" "${FIN_[$key]}/${N_[$key]}" \
		"${REC_[$key]}/${N_[$key]}" "${LAT_[$key]}"
done
rate() { calc "printf \"%.1f\", ${N_[$1]} / ${T_[$1]}"; }
r_h=$(calc "printf \"%.2f\", $(rate "vlsink hardened") / $(rate "cat hardened")")
r_b=$(calc "printf \"%.2f\", $(rate "vlsink bare") / $(rate "cat bare")")
echo "  $((per_round * SEQ_ROUNDS)) connections per variant in $SEQ_ROUNDS interleaved rounds; conn/s = connections /" \
	"(first connect until every instance has finished); failed connects:" \
	"$(for k in "${VARIANTS[@]}"; do printf '%s ' "${FAILS_[$k]:-0}"; done)"
echo "  * systemd-analyze security of the loaded unit with the drop-ins (online); --offline=yes rates the" \
	"installed file $(ct_exec systemd-analyze security --offline=yes --no-pager "$UNITDIR/vlsink@.service" 2>/dev/null |
		awk '/Overall exposure level/ { for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+\.[0-9]+$/) print $i }')"
echo "  vlsink/cat: hardened ${r_h}x, bare ${r_b}x"
r_hb=$(calc "printf \"%.2f\", $(rate "vlsink hardened") / $(rate "vlsink bare")")
r_nb=$(calc "printf \"%.2f\", $(rate "vlsink namespaced") / $(rate "vlsink bare")")
echo "  the sandbox: hardened (cheap unit options + vlsink's own sandbox) $(rate "vlsink hardened") conn/s," \
	"namespaced (the unit until 2026-11-30) $(rate "vlsink namespaced"), bare $(rate "vlsink bare"):" \
	"${r_hb}x and ${r_nb}x of bare; closed loop ${LAT_["vlsink hardened"]}, ${LAT_["vlsink namespaced"]}" \
	"and ${LAT_["vlsink bare"]} ms per connection"
if calc "exit !($r_hb >= 0.7)"; then
	echo "VERDICT target 1a (hardened >= 0.7x bare conn/s): met (${r_hb}x; the namespaced unit: ${r_nb}x)"
else
	echo "VERDICT target 1a (hardened >= 0.7x bare conn/s): NOT met (${r_hb}x; the namespaced unit: ${r_nb}x)"
fi
r_s=$(calc "printf \"%.2f\", $(rate "vlsink hardened") / $(rate "unsupervised hardened")")
echo "  supervision: hardened vlsink $(rate "vlsink hardened") conn/s vs --no-supervise" \
	"$(rate "unsupervised hardened") (${r_s}x; target 0.95x); closed loop ${LAT_["vlsink hardened"]} ms vs" \
	"${LAT_["unsupervised hardened"]} ms"
if calc "exit !($r_h >= 0.8)"; then
	echo "VERDICT target 1 (vlsink >= 0.8x cat, hardened unit): met (${r_h}x)"
else
	echo "VERDICT target 1 (vlsink >= 0.8x cat, hardened unit): NOT met (${r_h}x)"
fi

if [[ ${BENCH_BREAKDOWN:-0} == 1 ]]; then
	echo
	echo "-- 1b. what each option costs: the bare unit + one option, closed loop, vlsink --"
	# Each option of the namespaced unit and of the installed one, alone
	# on top of the bare unit; "vlsink's own sandbox" is the bare unit
	# running vlsink without --no-sandbox.
	opts=("" "SANDBOX" "User=vlsink-conn" "NoNewPrivileges=yes" "CapabilityBoundingSet=" "UMask=0077"
		"${NAMESPACED[@]}")
	write_variant vlsink bare || die "cannot write the bare drop-in"
	one_option() { # OPTION: its drop-in on the bare unit ("" none, SANDBOX vlsink's own)
		ct_exec rm -f "$DROPINS/zzz-bench-one.conf"
		if [[ $1 == SANDBOX ]]; then
			printf '[Service]\nExecStart=\nExecStart=/usr/local/bin/vlsink --sink=journal\n' |
				ct_write "$DROPINS/zzz-bench-one.conf"
		elif [[ -n $1 ]]; then
			# DynamicUser= needs the name that the unit gives it
			printf '[Service]\n%s\n%s\n' "$1" "$([[ $1 == DynamicUser=yes ]] && echo User=vlsink-conn)" |
				ct_write "$DROPINS/zzz-bench-one.conf"
		fi
		ct_exec systemctl daemon-reload
	}
	# BREAKDOWN_ROUNDS interleaved rounds of BREAKDOWN_COUNT closed-loop
	# connections per option; the median round counts.
	declare -A MS_=()
	for ((r = 1; r <= ${BREAKDOWN_ROUNDS:-3}; r++)); do
		for i in "${!opts[@]}"; do
			one_option "${opts[$i]}"
			ct_exec python3 "$CLIENT" seq --count 2 --wait >/dev/null
			out=$(ct_exec python3 "$CLIENT" seq --count "${BREAKDOWN_COUNT:-40}" --wait) || continue
			MS_[$i]+=" $(calc "printf \"%.2f\", $(kv seconds "$out") * 1000 / $(kv connections "$out")")"
		done
	done
	base=""
	printf '| %-44s | %7s | %7s | %-11s |\n' "option (alone, on the bare unit)" "ms/conn" "+ms" "in the unit"
	printf '|%s|%s|%s|%s|\n' "----------------------------------------------" "---------" "---------" "-------------"
	for i in "${!opts[@]}"; do
		o=${opts[$i]}
		# shellcheck disable=SC2086
		ms=$(median ${MS_[$i]})
		[[ -z $base ]] && base=$ms
		where=no
		if [[ $o == SANDBOX ]] || grep -qxF -- "$o" "$sd_root/units/vlsink@.service"; then
			where=yes
		fi
		[[ -z $o ]] && where="(bare)"
		name=$o
		[[ $o == SANDBOX ]] && name="vlsink's own sandbox (no --no-sandbox)"
		printf '| %-44s | %7.1f | %7s | %-11s |\n' "${name:-none: the bare unit}" "$ms" \
			"$(calc "printf \"%+.1f\", $ms - $base")" "$where"
	done
	ct_exec rm -f "$DROPINS/zzz-bench-one.conf"
	write_variant vlsink hardened || die "cannot restore the installed unit"
fi

fi

# ---- 2. a fleet: FLEET_COUNT connections at once ------------------------------
if part 2; then

POSITIONS=/var/lib/vlsink/positions.jsonl
case $FLEET_UNIT in
installed) write_variant vlsink hardened ;;
bare) write_variant vlsink bare ;;
esac || die "cannot write the drop-ins for FLEET_UNIT=$FLEET_UNIT"
if [[ -n ${FLEET_DROPIN:-} ]]; then
	ct_write "$DROPINS/zz-bench-extra.conf" <"$FLEET_DROPIN" && ct_exec systemctl daemon-reload ||
		die "cannot install FLEET_DROPIN=$FLEET_DROPIN"
	echo "  extra drop-in (FLEET_DROPIN): $(tr '\n' ' ' <"$FLEET_DROPIN")"
fi
sd_copy "$fleet" "$LIBEXEC/fleet"
pid1_cpu() { # user + system CPU seconds of the container's PID 1, from the host
	awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.2f\n", ($12 + $13) / hz }' "/proc/$CT_LEADER/stat"
}
# the release and systemd of the container, for the RESULT lines
RELEASE=${CT_RELEASE_NAME:-$(ct_sh '. /etc/os-release && echo "${VERSION_CODENAME:-$ID}"')}
SYSTEMD_VERSION=$(ct_exec systemctl --version | awk 'NR == 1 { print $2 }')
# PID 1 holds every accepted connection until its instance ends: one
# descriptor per connection on 252 (the instances have no journal stream;
# with one, two while an instance starts).  257 also keeps a pidfd for each
# instance's process (a 10,000 storm there failed 4,211 instances with
# "Failed to spawn executor: Too many open files" at a limit of 20,000).
# At the limit, instances fail with 'resources' and their connections are
# closed unread.
per_conn=1
((${SYSTEMD_VERSION%%[!0-9]*} >= 257)) && per_conn=2
pid1_need=$((per_conn * FLEET_COUNT + 1024))
pid1_nofile=$(awk '/^Max open files/ { print $4 }' "/proc/$CT_LEADER/limits")
echo "PID 1 of the container: LimitNOFILE $pid1_nofile (needs $per_conn x $FLEET_COUNT + 1024 on systemd $SYSTEMD_VERSION);" \
	"host kernel.pid_max $(cat /proc/sys/kernel/pid_max) (needs 2 x $FLEET_COUNT free); client LimitNOFILE $((FLEET_COUNT + 1024))"
[[ $pid1_nofile == unlimited ]] || ((pid1_nofile >= pid1_need)) ||
	die "the container's PID 1 may open $pid1_nofile files, too few for $FLEET_COUNT connections" \
		"($pid1_need: on systemd $SYSTEMD_VERSION PID 1 holds $per_conn per connection until its instance ends)." \
		"nspawn --rlimit= and the container's own settings cannot raise a hard limit without CAP_SYS_RESOURCE," \
		"which this machine's bounding set lacks (CapBnd $(awk '/^CapBnd/ { print $2 }' /proc/self/status));" \
		"run the bench from a shell whose hard limit is higher: as real root, ulimit -Hn $((2 * FLEET_COUNT + 65536))" \
		"(or prlimit --pid \$\$ --nofile=N:N, or LimitNOFILE= of the unit or session that runs it), at most" \
		"fs.nr_open ($(cat /proc/sys/fs/nr_open)). On a real host systemd raises its own limit to fs.nr_open."
# A storm waits in the listen queue until PID 1 accepts it, and PID 1 accepts
# slowly while it starts instances. The queue is min(Backlog= of
# vlsink.socket, net.core.somaxconn) long, fixed at listen(); a connection
# completed beyond it is dropped by the server while the client believes it
# is connected, and is reset once it sends. Both sysctls belong to the
# network namespace: here the container's, on a real host the host's.
fleet_queue=$((FLEET_COUNT + 4096 > 4096 * 4 ? FLEET_COUNT + 4096 : 4096 * 4))
ct_exec sysctl -q -w net.core.somaxconn="$fleet_queue" net.ipv4.tcp_max_syn_backlog="$fleet_queue" &&
	ct_exec systemctl restart vlsink.socket || die "cannot set the listen queue sysctls"
# every shard restarted with it (PartOf=vlsink.socket), each listening
n_sock=$(probe sockets | wc -l)
((n_sock == SHARDS)) || die "SHARDS=$SHARDS but $n_sock vlsink sockets: $(probe sockets | paste -sd ' ')"
for u in $(probe sockets); do
	[[ $(ct_exec systemctl is-active "$u") == active ]] || die "$u is not listening"
done
echo "shards:     $SHARDS listening socket(s) on port 10110: $(probe sockets | paste -sd ' ')" \
	"(MaxConnections $(sock_prop MaxConnections), MaxConnectionsPerSource $(sock_prop MaxConnectionsPerSource) each)"
echo "listen queue: vlsink.socket Backlog=$(sock_prop Backlog), net.core.somaxconn and" \
	"net.ipv4.tcp_max_syn_backlog $fleet_queue in the container: a queue of" \
	"$(($(sock_prop Backlog) < fleet_queue ? $(sock_prop Backlog) : fleet_queue)) connections"
declare -a FLEET_VERDICTS=() FLEET_RESULTS=()

# CPU counters, read from the host (PID 1 can be too busy to answer in a
# storm): PID 1's ticks; system.slice's usage_usec (every instance of every
# shard, alive or gone: a cgroup's cpu.stat keeps its dead children's time;
# the client runs in bench.slice) and journald's.
cgbase=/proc/$CT_LEADER/root/sys/fs/cgroup/unified
[[ -r $cgbase/system.slice/cpu.stat ]] || cgbase=/proc/$CT_LEADER/root/sys/fs/cgroup
[[ -r $cgbase/system.slice/cpu.stat ]] || die "cannot read the container's system.slice/cpu.stat under $cgbase"
cg_usec() { awk '$1 == "usage_usec" { print $2; exit }' "$cgbase/$1/cpu.stat" 2>/dev/null || echo 0; }
counters() { # "PID1_TICKS SYSTEM_SLICE_USEC JOURNALD_USEC"
	echo "$(awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$CT_LEADER/stat")" \
		"$(cg_usec system.slice) $(cg_usec system.slice/systemd-journald.service)"
}
HZ=$(getconf CLK_TCK)
phase() { # FROM TO: "WALL PID1_S INSTANCES_S JOURNALD_S" between two times, interpolated in the samples
	awk -v a="$1" -v b="$2" -v hz="$HZ" '
		function at(T, c, i) {
			if (T <= t[1]) return v[1, c]
			for (i = 2; i <= n; i++)
				if (t[i] >= T) return v[i - 1, c] + (v[i, c] - v[i - 1, c]) * (T - t[i - 1]) / (t[i] - t[i - 1])
			return v[n, c]
		}
		NF >= 6 { n++; t[n] = $1; for (c = 4; c <= 6; c++) v[n, c] = $c }
		END {
			j = (at(b, 6) - at(a, 6)) / 1e6
			printf "%.1f %.3f %.3f %.3f\n", b - a, (at(b, 4) - at(a, 4)) / hz, (at(b, 5) - at(a, 5)) / 1e6 - j, j
		}' "$sd_tmp/samples"
}

# What one connection costs, split (FLEET_BREAKDOWN=1): closed-loop
# connections with ExecStart=/bin/true, whose instance is PID 1's child
# setting up (user, limits, the journal stream) and exec'ing a program that
# exits at once, against vlsink reading one line and closing.
if [[ $FLEET_BREAKDOWN == 1 ]]; then
	echo
	echo "-- 2a. one connection, split: closed loop, ExecStart=/bin/true vs vlsink (one NMEA line) --"
	bd_count=${BREAKDOWN_COUNT:-100}
	declare -A BD_=()
	for exe in true vlsink true vlsink; do
		ct_exec rm -f "$DROPINS/zz-bench-cat.conf"
		[[ $exe == true ]] && printf '[Service]\nExecStart=\nExecStart=/bin/true\n' | ct_write "$DROPINS/zz-bench-cat.conf"
		ct_exec systemctl daemon-reload
		ct_exec python3 "$CLIENT" seq --count 3 --wait >/dev/null
		probe idle 60 >/dev/null
		read -r p0 s0 j0 < <(counters)
		out=$(ct_exec python3 "$CLIENT" seq --count "$bd_count" --wait) || die "closed loop ($exe) failed"
		probe idle 60 >/dev/null
		sleep 1
		read -r p1 s1 j1 < <(counters)
		BD_[$exe]+=" $(calc "printf \"%.2f %.2f %.2f\", ($p1 - $p0) * 1000 / $HZ / $bd_count, ($s1 - $s0 - ($j1 - $j0)) / 1000 / $bd_count, $(kv seconds "$out") * 1000 / $bd_count")"
	done
	ct_exec rm -f "$DROPINS/zz-bench-cat.conf"
	ct_exec systemctl daemon-reload
	bd() { # EXE FIELD: the mean of the two rounds
		awk -v f="$2" '{ for (i = f; i <= NF; i += 3) { s += $i; n++ } } END { printf "%.1f", s / n }' <<<"${BD_[$1]}"
	}
	printf '  %-34s %10s %10s\n' "ms per connection (2 rounds of $bd_count)" /bin/true vlsink
	printf '  %-34s %10s %10s\n' "PID 1 (accept, fork, unit)" "$(bd true 1)" "$(bd vlsink 1)"
	printf '  %-34s %10s %10s\n' "instance cgroup (fork to exit)" "$(bd true 2)" "$(bd vlsink 2)"
	printf '  %-34s %10s %10s\n' "closed-loop wall" "$(bd true 3)" "$(bd vlsink 3)"
	echo "  so, per connection: PID 1 $(bd vlsink 1) ms; set-up by PID 1's child before exec (and exit)" \
		"$(bd true 2) ms; vlsink from exec to its record and exit $(calc "printf \"%.1f\", $(bd vlsink 2) - $(bd true 2)") ms"
	BD_LINE="pid1=$(bd vlsink 1) setup=$(bd true 2) vlsink_start=$(calc "printf \"%.1f\", $(bd vlsink 2) - $(bd true 2)")"
fi

# fleet_run SINK: one storm of FLEET_COUNT vehicles into SINK (journal, fifo)
fleet_run() {
	local sink=$1 prefix="fleet${1:0:1}-" t0 refused0 jcpu0 ccpu0 p1cpu0 p1cpu1 tcp0 tcp1 tcpd sampler seen_pid=''
	echo
	echo "-- 2. $sink: $FLEET_COUNT vehicles connecting at once, one record a second each for $FLEET_SECONDS s --"
	if [[ $sink == fifo ]]; then
		ct_exec mkdir -p "$DROPINS" &&
			ct_exec cp /usr/local/share/doc/vlsink/units/vlsink@.service.d/fifo.conf "$DROPINS/fifo.conf" &&
			ct_exec systemctl daemon-reload &&
			ct_exec systemctl enable --quiet --now vlsink-collect.socket &&
			ct_exec systemctl start vlsink-collect.service || die "cannot set up the FIFO drop-in"
		# The collector runs before the storm, as it would after a cell
		# outage. Left to be started by the first record in the FIFO, its
		# start job waits behind the storm's instances in PID 1's queue
		# (measured: minutes at 10,000), and the instances block on the
		# full FIFO meanwhile.
	else
		ct_exec rm -f "$DROPINS/fifo.conf"
		ct_exec systemctl daemon-reload
	fi
	echo "  unit: $FLEET_UNIT ($(ct_exec systemctl show -P ExecStart vlsink@probe.service |
		sed 's/.*argv\[\]=\([^;]*\);.*/\1/'); exposure $(exposure))"
	probe idle 120 >/dev/null || echo "  instances of an earlier part still running" >&2
	refused0=$(probe sum NRefused)
	local acc0
	acc0=$(probe each NAccepted)
	tcp0=$(probe tcpstat)
	drops0=$(softnet_drops)
	jcpu0=$(probe cpu systemd-journald.service)
	ccpu0=$(probe cpu vlsink-collect.service)
	read -r m1_rss0 _ < <(pid1_mem)
	p1cpu0=$(pid1_cpu)
	ct_exec rm -f "$B/fleet.status" "$B/fleet.out" "$B/fleet.err" "$B/fleet.sent"

	# every 2 s, from the host (PID 1 can be too busy to answer for tens
	# of seconds in a storm): PID 1's VmRSS and the vlsink processes of
	# the container (live and not yet reaped; a reader and a worker per
	# connection), until the stop file exists or the container is gone
	rm -f "$sd_tmp/samples" "$sd_tmp/stop"
	(
		while [[ ! -e $sd_tmp/stop ]] && [[ -e /proc/$CT_LEADER ]]; do
			echo "$(date +%s.%N) $(awk '/^VmRSS:/ { print $2 }' "/proc/$CT_LEADER/status")" \
				"$(pgrep --ns "$CT_LEADER" --nslist pid -c -x vlsink) $(counters)" >>"$sd_tmp/samples"
			sleep 1
		done
	) &
	sampler=$!
	if [[ $sink == fifo ]]; then # the collector's file has no receive times: watch it
		ct_exec rm -f "$B/seen.stop"
		probe first-seen "$POSITIONS" "$prefix" "$FLEET_COUNT" $((FLEET_SECONDS + 1830)) "$B/seen.stop" >"$sd_tmp/seen" &
		seen_pid=$!
	fi
	t0=$(date +%s.%N)
	ct_exec systemd-run --quiet --collect --unit="bench-fleet-$sink" --slice=bench.slice -p LimitNOFILE=$((FLEET_COUNT + 1024)) \
		-p StandardOutput="file:$B/fleet.out" -p StandardError="file:$B/fleet.err" \
		"$LIBEXEC/fleet" --count "$FLEET_COUNT" --seconds "$FLEET_SECONDS" --sources "$FLEET_SOURCES" \
		--prefix "${prefix%-}" --timeout 1800 --sent-file "$B/fleet.sent" --status-file "$B/fleet.status" ||
		die "cannot start the fleet client"

	# PSS of the instances: half-way through the records, or later, once
	# 1000 processes run (PID 1 may start none for a minute), or 100 once
	# the records are all due (a slow unit never has many at once)
	sleep $((FLEET_SECONDS / 2))
	local n_proc pss_sum t_pss i c
	for ((i = 0; i < FLEET_SECONDS + 1800; i++)); do
		c=$(pgrep --ns "$CT_LEADER" --nslist pid -c -x vlsink)
		((c >= (FLEET_COUNT < 500 ? 2 * FLEET_COUNT : 1000))) && break
		((c >= 100 && i >= FLEET_SECONDS / 2)) && break
		ct_exec grep -q '^done' "$B/fleet.status" && break
		sleep 1
	done
	t_pss=$(calc "printf \"%.0f\", $(date +%s.%N) - $t0")
	read -r n_proc pss_sum _ < <(probe pss vlsink)
	_fleet_done() { ct_exec grep -q '^done' "$B/fleet.status"; }
	ct_wait_until $((FLEET_SECONDS + 1830)) _fleet_done || echo "  the fleet client did not finish" >&2
	local out t_idle
	out=$(ct_exec cat "$B/fleet.out")
	t_idle=$(probe idle 900) || t_idle=""
	touch "$sd_tmp/stop"
	wait "$sampler"
	sleep 2
	read -r m1_rss2 _ < <(pid1_mem)
	p1cpu1=$(pid1_cpu)
	local jcpu1 ccpu1
	jcpu1=$(probe cpu systemd-journald.service)
	ccpu1=$(probe cpu vlsink-collect.service)

	# every record exactly once, per vehicle; when the last vehicle's first
	# record was stored
	local check rc n_first t_first
	if [[ $sink == journal ]]; then
		check=$(sd_check 120 5 2 "$prefix" "$B/fleet.sent" \
			"$(printf '%q jrecords %q -t vlsink | grep -F %q | tee %q' "$PROBE" "$t0" "\"VEHICLE_ID\":\"$prefix" \
				"$B/fleet.jsonl")" --journal)
		rc=$?
		read -r n_first t_first < <(probe firsts "$B/fleet.jsonl")
		t_first=$(calc "printf \"%.6f\", $t_first / 1e6")
	else
		check=$(sd_check 120 5 2 "$prefix" "$B/fleet.sent" "$(printf 'grep -F %q %q' "\"vehicle\":\"$prefix" "$POSITIONS")")
		rc=$?
		ct_exec touch "$B/seen.stop"
		wait "$seen_pid"
		read -r t_first n_first <"$sd_tmp/seen"
	fi

	local sent cfailed first_connect all_connected delivered failed_units failures inst_failed refused
	sent=$(kv records "$out")
	cfailed=$(kv failed "$out")
	first_connect=$(kv first_connect "$out")
	all_connected=$(kv all_connected "$out")
	delivered=$(sed -n 's/^records \([0-9]*\),.*/\1/p' <<<"$check")
	failed_units=$(ct_exec systemctl list-units --failed --plain --no-legend | awk '{ print $1 }' | paste -sd ' ')
	failures=$(probe failures "$t0")
	inst_failed=$(head -n 1 <<<"$failures")
	refused=$(($(probe sum NRefused) - refused0))
	tcp1=$(probe tcpstat)
	drops1=$(softnet_drops)
	tcpd=$(awk 'NR == FNR { a[$1] = $2; next } { printf "%s%s +%d", n++ ? ", " : "", $1, $2 - a[$1] }' \
		<(echo "$tcp0") <(echo "$tcp1"))
	local peak_rss peak_procs t_conn t_deliv
	read -r peak_rss peak_procs < <(awk '$2 > r { r = $2 } $3 > c { c = $3 } END { print r + 0, c + 0 }' "$sd_tmp/samples")
	t_conn=$(calc "printf \"%.1f\", ${all_connected:-0} - ${first_connect:-0}")
	t_deliv=$(calc "printf \"%.1f\", ${t_first:-0} - ${first_connect:-0}")

	echo "  client:     $out"
	echo "  kernel:     $tcpd (TcpExt of the container's network namespace; ListenOverflows: connections" \
		"the client completed that the full listen queue dropped; TCPAbortOnTimeout: connections whose keepalive" \
		"probes went unanswered, reset by the kernel); the host's backlog drops +$((drops1 - drops0)) (packets the" \
		"loopback device dropped: more at once than net.core.netdev_max_backlog" \
		"$(cat /proc/sys/net/core/netdev_max_backlog) per CPU, /proc/net/softnet_stat)"
	echo "  resets:     $(kv reset "$out") vehicles were reset after their last record (not failures: the records" \
		"below say whether all arrived)"
	echo "  records:    sent $sent, delivered $delivered once each ($(head -n 1 <<<"$check" | sed 's/^records [0-9]*, //'))"
	echo "  storm:      all $(kv connected "$out") connected ${t_conn} s after the first connect (client side:" \
		"handshake done, which a full listen queue hides, see kernel:); first record of ${n_first:-0} of $FLEET_COUNT vehicles stored, the last" \
		"${t_deliv} s after the first connect ($([[ $sink == fifo ]] && echo "seen in $POSITIONS, polled" ||
			echo "journald's receive time"))"
	echo "  instances:  at most $peak_procs vlsink processes at once (2 per connection; sampled every 2 s);" \
		"at $t_pss s: $n_proc live, PSS $(calc "printf \"%.0f\", $pss_sum / ($n_proc ? $n_proc : 1)")" \
		"KiB per process (sum $(calc "printf \"%.1f\", $pss_sum / 1024") MiB)"
	echo "  ramp:       vlsink processes every 10 s: $(awk -v t0="$t0" '$1 >= t0 + 10 * k { printf "%s%d", k ? " " : "", $3; k++ }' "$sd_tmp/samples")"
	echo "  PID 1 RSS:  before $m1_rss0 KiB, peak $peak_rss KiB (sampled every 2 s), after $m1_rss2 KiB"
	echo "  CPU:        PID 1 $(calc "printf \"%.1f\", $p1cpu1 - $p1cpu0") s, journald $(calc "printf \"%.1f\", ($jcpu1 - $jcpu0) / 1e6") s, collector" \
		"$(calc "printf \"%.1f\", ($ccpu1 - $ccpu0) / 1e6") s, over $(calc "printf \"%.0f\", $(date +%s.%N) - $t0") s" \
		"(PID 1: /proc/PID/stat; the others: their units' cgroup cpu.stat)"
	echo "  journal:    $(ct_exec journalctl --disk-usage 2>/dev/null | sed 's/.*take up //; s/ in the file system.//')" \
		"in the container's /run (RuntimeMaxUse=4G; $(ct_exec df -h --output=size /run | tail -n 1 | tr -d ' ') tmpfs)"
	echo "  ends:       all instances gone $([[ -n $t_idle ]] && calc "printf \"%.1f\", $t_idle - $t0" || echo "NOT within 900") s" \
		"after the first connect; NRefused +$refused; instances failed: ${inst_failed:-none}; failed units: ${failed_units:-none}"

	# Where the CPU went, by phase, per accepted connection (per fix in the
	# steady state), from the samples' counters.
	local acc1 n_acc t_s t_c t_e storm steady teardown whole a b
	acc1=$(probe each NAccepted)
	n_acc=$(awk 'NR == FNR { a[$1] = $2; next } { s += $2 - a[$1] } END { print s + 0 }' <(echo "$acc0") <(echo "$acc1"))
	echo "  shards:     connections accepted: $(awk 'NR == FNR { a[$1] = $2; next } { printf "%s%s %d", n++ ? ", " : "", $1, $2 - a[$1] }' \
		<(echo "$acc0") <(echo "$acc1"))"
	t_e=$(awk 'END { print $1 }' "$sd_tmp/samples")
	[[ -n $t_idle ]] && t_e=$t_idle
	t_s=$t_e
	[[ ${n_first:-0} == "$FLEET_COUNT" ]] && t_s=$(calc "printf \"%.6f\", ${t_first:-0}")
	t_c=$(calc "printf \"%.6f\", $t0 + $FLEET_SECONDS")
	storm=$(phase "$t0" "$t_s")
	# a storm may outlast the records: teardown starts when both are over
	teardown=$(phase "$(calc "printf \"%.6f\", ($t_c > $t_s ? $t_c : $t_s)")" "$t_e")
	whole=$(phase "$t0" "$t_e")
	a=$(calc "printf \"%.6f\", $t_s + 3") b=$(calc "printf \"%.6f\", $t_c - 2")
	steady=''
	calc "exit !($b - $a >= 10)" && steady=$(phase "$a" "$b")
	per() { calc "printf \"%.2f\", $1 * 1000 / ($n_acc ? $n_acc : 1)"; }
	printf '  cost:       %-30s %8s %10s %12s %10s  (ms per connection)\n' phase "wall s" "PID 1" instances journald
	for ph in storm teardown whole; do
		read -r w pc ic jc <<<"${!ph}"
		printf '              %-30s %8s %10s %12s %10s\n' \
			"$(case $ph in storm) echo "storm (to all served)" ;; teardown) echo "teardown (served, records end: idle)" ;;
				whole) echo "whole run" ;; esac)" "$w" "$(per "$pc")" "$(per "$ic")" "$(per "$jc")"
	done
	local steady_fix='-'
	if [[ -n $steady ]]; then
		read -r w pc ic jc <<<"$steady"
		fix() { calc "printf \"%.3f\", $1 * 1000 / (($n_acc ? $n_acc : 1) * $w)"; }
		steady_fix="vlsink=$(fix "$ic") journald=$(fix "$jc") pid1=$(fix "$pc")"
		printf '              %-30s %8s %10s %12s %10s  (ms per fix, %d connections at 1 Hz)\n' \
			"steady state (all served)" "$w" "$(fix "$pc")" "$(fix "$ic")" "$(fix "$jc")" "$n_acc"
	else
		echo "              steady state: none (the storm lasted until the records' end; raise FLEET_SECONDS)"
	fi
	read -r _ pc ic _ <<<"$storm"
	read -r _ tpc tic _ <<<"$teardown"
	read -r _ _ wic wjc <<<"$whole"
	FLEET_RESULTS+=("RESULT release=$RELEASE systemd=$SYSTEMD_VERSION shards=$SHARDS count=$FLEET_COUNT sink=$sink\
 served_s=$t_deliv delivered=$delivered/$sent accepted=$n_acc pid1_ms_per_inst=$(per "$pc")\
 inst_ms_per_inst=$(per "$wic") storm_inst_ms=$(per "$ic") journald_s=$(calc "printf \"%.1f\", $wjc")\
 steady_ms_per_fix:$steady_fix teardown_ms:pid1=$(per "$tpc"),inst=$(per "$tic") failed=${inst_failed:-none}\
${BD_LINE:+ one_conn_ms:$BD_LINE}")
	if [[ -n $inst_failed ]]; then
		echo "  log of the first failed instance:"
		tail -n +2 <<<"$failures" | sed 's/^/    | /'
	fi
	# journald about itself (refused streams, suppressed messages, rotation)
	ct_exec journalctl -q --no-pager --since="@$t0" -u systemd-journald.service -o cat |
		sed 's/[0-9][0-9]*/N/g' | sort | uniq -c | sort -rn | head -n 4 | sed 's/^/  journald:  /'
	if [[ $cfailed != 0 ]]; then
		echo "  client errors (first lines):"
		ct_exec head -n 5 "$B/fleet.err" | sed 's/^/    | /'
	fi
	if [[ $rc == 0 && $delivered == "$sent" && $cfailed == 0 && $sent == $((FLEET_COUNT * FLEET_SECONDS)) ]]; then
		FLEET_VERDICTS+=("VERDICT fleet $sink: 100% delivered, each record once, checked per vehicle ($delivered/$sent)")
	else
		FLEET_VERDICTS+=("VERDICT fleet $sink: NOT 100% delivered: $delivered delivered once of $sent sent\
 ($((FLEET_COUNT * FLEET_SECONDS)) planned), $cfailed connections failed")
	fi
	if [[ ${n_first:-0} == "$FLEET_COUNT" ]] && calc "exit !($t_conn < 120 && $t_deliv < 120)"; then
		FLEET_VERDICTS+=("VERDICT fleet $sink: all connected and delivering in < 2 min (${t_deliv} s)")
	else
		FLEET_VERDICTS+=("VERDICT fleet $sink: NOT all connected and delivering in < 2 min\
 (${n_first:-0} of $FLEET_COUNT delivering after ${t_deliv} s)")
	fi
	if ((peak_rss < 300 * 1024 && m1_rss2 < 300 * 1024)); then
		FLEET_VERDICTS+=("VERDICT fleet $sink: PID 1 < 300 MiB (peak $((peak_rss / 1024)) MiB)")
	else
		FLEET_VERDICTS+=("VERDICT fleet $sink: PID 1 NOT < 300 MiB (peak $((peak_rss / 1024)) MiB)")
	fi
}

for s in $FLEET_SINKS; do
	fleet_run "$s"
done
ct_exec rm -f "$DROPINS/fifo.conf"
write_variant vlsink hardened || die "cannot restore the installed unit"
echo
printf '%s\n' "${FLEET_VERDICTS[@]}" "${FLEET_RESULTS[@]}"

fi

# ---- 3. one connection into the journal ----------------------------------------
if part 3; then

echo
echo "-- 3. records/s through one connection into the journal vs a bare sd_journal_sendv loop --"
vl_wall=() vl_st=() jb_wall=() jb_st=()
one_vlsink() {
	local t0 out t1 st n f l
	t0=$(date +%s.%N)
	out=$(ct_exec python3 "$CLIENT" one --timeout 300 --file "$B/track.nmea") || return 1
	t1=$(probe wait-entry "$t0" 120 -t vlsink END_REASON=eof) || return 1
	st=$(probe jstats "$t0" -t vlsink)
	read -r n f l <<<"$st"
	((n == ONE_LINES)) || echo "  vlsink: $n of $ONE_LINES records in the journal" >&2
	vl_wall+=("$(calc "print $n / ($t1 - $t0)")")
	vl_st+=("$(calc "print ($n - 1) / (($l - $f) / 1e6)")")
	printf '  run %d vlsink: %6d records, %.2f s wall, %.2f s first to last stored\n' \
		"$1" "$n" "$(calc "print $t1 - $t0")" "$(calc "print ($l - $f) / 1e6")"
}
one_jbench() {
	local t0 t1 st n f l
	t0=$(date +%s.%N)
	ct_exec systemd-run --quiet --collect --unit="bench-jbench-$1" \
		-p LogRateLimitIntervalSec=1s -p LogRateLimitBurst=1000000 \
		-p StandardOutput="file:$B/jbench.out" -p StandardError="file:$B/jbench.err" \
		"$LIBEXEC/jbench" -n "$ONE_LINES" "$B/track.nmea" || return 1
	t1=$(probe wait-entry "$t0" 120 -t jbench JBENCH_END=1) || return 1
	st=$(probe jstats "$t0" -t jbench)
	read -r n f l <<<"$st"
	((n == ONE_LINES)) || echo "  jbench: $n of $ONE_LINES entries in the journal" >&2
	jb_wall+=("$(calc "print $n / ($t1 - $t0)")")
	jb_st+=("$(calc "print ($n - 1) / (($l - $f) / 1e6)")")
	printf '  run %d jbench: %6d entries, %.2f s wall, %.2f s first to last stored\n' \
		"$1" "$n" "$(calc "print $t1 - $t0")" "$(calc "print ($l - $f) / 1e6")"
}
probe idle 120 >/dev/null
ct_exec python3 "$CLIENT" seq --count 3 --wait >/dev/null # warm-up
for ((r = 1; r <= ONE_ROUNDS; r++)); do
	one_vlsink "$r" || die "one-connection run $r (vlsink) failed"
	one_jbench "$r" || die "jbench run $r failed"
done
mv_w=$(median "${vl_wall[@]}") mv_s=$(median "${vl_st[@]}")
mj_w=$(median "${jb_wall[@]}") mj_s=$(median "${jb_st[@]}")
r_w=$(calc "printf \"%.2f\", $mv_w / $mj_w")
r_s=$(calc "printf \"%.2f\", $mv_s / $mj_s")
printf '\n  %-34s %12s %12s %7s\n' "median of $ONE_ROUNDS, records/s" vlsink jbench ratio
printf '  %-34s %12.0f %12.0f %6sx\n' "start until all stored (wall)" "$mv_w" "$mj_w" "$r_w"
printf '  %-34s %12.0f %12.0f %6sx\n' "first to last stored (journald)" "$mv_s" "$mj_s" "$r_s"
echo "  $ONE_LINES NMEA lines (RMC+GGA); vlsink: one TCP connection to vlsink.socket, hardened unit" \
	"(its spawn is in the wall time); jbench: 14 fields per entry (vlsink sends 13 for RMC, 12 for GGA)"
if calc "exit !($r_w >= 0.9)"; then
	echo "VERDICT target 3 (vlsink >= 0.9x bare sd_journal_sendv loop): met (${r_w}x wall, ${r_s}x stored)"
else
	echo "VERDICT target 3 (vlsink >= 0.9x bare sd_journal_sendv loop): NOT met (${r_w}x wall, ${r_s}x stored)"
fi

fi

echo
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) (nproc $(nproc); includes this run's own instances, which" \
	"count while they set up namespaces); other work on the machine skews absolute rates more than the side-by-side ratios"
exit 0
