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
#  2. FLEET_COUNT concurrent connections from FLEET_SOURCES loopback
#     addresses, one record a second each for FLEET_SECONDS once all
#     instances run: records delivered vs sent (checked per vehicle),
#     PSS per instance (mid-run), container PID 1 VmRSS/Pss before, during
#     and after.
#  3. Records/s through ONE connection into the journal (ONE_LINES NMEA
#     lines) against jbench, a bare sd_journal_sendv loop with the same 14
#     fields (tests/bench/jbench.c), run as a transient unit with the
#     LogRateLimit settings of vlsink@.service; ONE_ROUNDS interleaved
#     rounds, medians. Rate = records / (start until the last record is
#     stored). Target: vlsink >= 0.9x jbench.
#
# Environment: SEQ_COUNT (300) SEQ_ROUNDS (3) LAT_COUNT (50) FLEET_COUNT
# (1000) FLEET_SECONDS (30) FLEET_SOURCES (8) ONE_LINES (100000) ONE_ROUNDS
# (3) BENCH_PARTS ("1 2 3": the parts to run) BENCH_BREAKDOWN=1 (also:
# closed-loop latency of the bare unit with one sandboxing option switched
# back on at a time, as a markdown table: BREAKDOWN_ROUNDS (3) interleaved
# rounds of BREAKDOWN_COUNT (40) connections per option, medians) JBENCH, GEN
# (prebuilt tests/bench/jbench.c, gen-nmea.c; compiled into a temp dir
# otherwise). CT_* knobs of tests/lib/container.bash apply.

# shellcheck disable=SC2015,SC2016,SC2317

# shellcheck source=sd-common.bash
source "$(dirname "${BASH_SOURCE[0]}")/sd-common.bash" || exit 2

SEQ_COUNT=${SEQ_COUNT:-300}
SEQ_ROUNDS=${SEQ_ROUNDS:-3}
LAT_COUNT=${LAT_COUNT:-50}
FLEET_COUNT=${FLEET_COUNT:-1000}
FLEET_SECONDS=${FLEET_SECONDS:-30}
FLEET_SOURCES=${FLEET_SOURCES:-8}
ONE_LINES=${ONE_LINES:-100000}
ONE_ROUNDS=${ONE_ROUNDS:-3}
BENCH_PARTS=${BENCH_PARTS:-1 2 3}
for v in SEQ_COUNT SEQ_ROUNDS LAT_COUNT FLEET_COUNT FLEET_SECONDS FLEET_SOURCES ONE_LINES ONE_ROUNDS; do
	[[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer, got '${!v}'"
done
((FLEET_SOURCES <= 254)) || die "FLEET_SOURCES must be at most 254"

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
if part 1; then

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

VARIANTS=("vlsink hardened" "cat hardened" "vlsink bare" "cat bare" "unsupervised hardened" "vlsink namespaced")

# seq_round "EXE SANDBOX" N: one open-loop round; adds to the variant's sums
seq_round() {
	local key=$1 n=$2 exe out start end a0 a1 recs
	exe=${key%% *}
	a0=$(sock_prop NAccepted)
	out=$(ct_exec python3 "$CLIENT" seq --count "$n") || return 1
	start=$(kv start_realtime "$out")
	FAILS_[$key]=$((${FAILS_[$key]:-0} + $(kv failed "$out")))
	end=$(probe idle 300) || {
		echo "  $key: instances still running 300 s after the round" >&2
		return 1
	}
	a1=$(sock_prop NAccepted)
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

# ---- 2. many concurrent connections ------------------------------------------
if part 2; then

echo
echo "-- 2. $FLEET_COUNT concurrent connections, one record a second each for $FLEET_SECONDS s --"
refused0=$(sock_prop NRefused)
accepted0=$(sock_prop NAccepted)
read -r m1_rss0 m1_pss0 < <(pid1_mem)
read -r jd_rss0 _ < <(probe unit-mem systemd-journald.service)
t_start=$(date +%s.%N)
ct_exec rm -f "$B/go" "$B/fleet.status" "$B/fleet.out" "$B/fleet.err" "$B/fleet.sent"
ct_exec systemd-run --quiet --collect --unit=bench-fleet -p LimitNOFILE=65536 \
	-p StandardOutput="file:$B/fleet.out" -p StandardError="file:$B/fleet.err" \
	python3 "$CLIENT" fleet --timeout 300 --count "$FLEET_COUNT" --seconds "$FLEET_SECONDS" \
	--sources "$FLEET_SOURCES" --prefix fleet --go-file "$B/go" --sent-file "$B/fleet.sent" \
	--status-file "$B/fleet.status" || die "cannot start the fleet client"
# the records start once every instance runs (or the rest have failed)
ramp_ok=1
read -r t_run n_run < <(probe ramp "$FLEET_COUNT" 300 "$accepted0") || ramp_ok=0
conn_status=$(ct_exec cat "$B/fleet.status" 2>/dev/null)
ct_exec touch "$B/go"
t_go=$(date +%s.%N)
sleep $((FLEET_SECONDS / 2))
read -r n_inst pss_sum rss_sum < <(probe pss vlsink)
read -r m1_rss1 m1_pss1 < <(pid1_mem)
read -r jd_rss1 _ < <(probe unit-mem systemd-journald.service)
conns_mid=$(sock_prop NConnections)
_fleet_done() { ct_exec grep -q '^done' "$B/fleet.status"; }
ct_wait_until $((FLEET_SECONDS + 330)) _fleet_done || echo "  the fleet client did not finish" >&2
fleet_out=$(ct_exec cat "$B/fleet.out")
t_idle=$(probe idle 120) || t_idle=""
# how long a new connection waits right after the fleet has gone (PID 1 and
# the kernel are still tearing down 1000 sandboxes)
after_lat=()
for i in 1 2 3; do
	out=$(ct_exec python3 "$CLIENT" seq --count 1 --wait) &&
		after_lat+=("$(calc "printf \"%.0f\", $(kv seconds "$out") * 1000")")
done
sleep 2
read -r m1_rss2 m1_pss2 < <(pid1_mem)
check_out=$(sd_check 30 1 2 fleet- "$B/fleet.sent" \
	"$(printf '%q jrecords %q -t vlsink | grep -F %q' "$PROBE" "$t_start" '"VEHICLE_ID":"fleet-')" --journal)
check_rc=$?
sent=$(kv records "$fleet_out")
client_failed=$(kv failed "$fleet_out")
delivered=$(sed -n 's/^records \([0-9]*\),.*/\1/p' <<<"$check_out")
failed_units=$(ct_exec systemctl list-units --failed --plain --no-legend | wc -l)
failures=$(probe failures "$t_start")
inst_failed=$(head -n 1 <<<"$failures")

echo "  client:    $fleet_out"
if ((ramp_ok)); then
	echo "  ramp:      ${conn_status:-?}; all $FLEET_COUNT instances running" \
		"$(calc "printf \"%.1f\", $t_run - $t_start") s after the first connect" \
		"($(calc "printf \"%.1f\", $FLEET_COUNT / ($t_run - $t_start)") instances/s)"
else
	echo "  ramp:      ${conn_status:-?}; NOT all instances ran: at most ${n_run:-?} of $FLEET_COUNT," \
		"$(calc "printf \"%.1f\", ${t_run:-$t_start} - $t_start") s after the first connect"
fi
echo "  records:   sent $sent, delivered $delivered once each ($(head -n 1 <<<"$check_out" | sed 's/^records [0-9]*, //'))"
echo "  mid-run:   $n_inst instances, NConnections $conns_mid; PSS per instance" \
	"$(calc "printf \"%.0f\", $pss_sum / ($n_inst ? $n_inst : 1)") KiB (sum $(calc "printf \"%.1f\", $pss_sum / 1024") MiB)," \
	"RSS per instance $(calc "printf \"%.0f\", $rss_sum / ($n_inst ? $n_inst : 1)") KiB"
printf '  %-26s %10s %10s %10s\n' "container PID 1, KiB" before during after
printf '  %-26s %10s %10s %10s\n' VmRSS "$m1_rss0" "$m1_rss1" "$m1_rss2"
printf '  %-26s %10s %10s %10s\n' Pss "$m1_pss0" "$m1_pss1" "$m1_pss2"
echo "  PID 1 growth: during +$((m1_rss1 - m1_rss0)) KiB RSS" \
	"($(calc "printf \"%.1f\", ($m1_rss1 - $m1_rss0) / ($n_inst ? $n_inst : 1)") KiB per held connection)," \
	"after the connections ended +$((m1_rss2 - m1_rss0)) KiB RSS / +$((m1_pss2 - m1_pss0)) KiB Pss;" \
	"journald RSS $jd_rss0 -> $jd_rss1 KiB"
echo "  all instances gone $([[ -n $t_idle ]] && calc "printf \"%.1f\", $t_idle - $t_go" || echo "NOT within 120") s after the go;" \
	"NRefused +$(($(sock_prop NRefused) - refused0)); failed units now $failed_units;" \
	"instances failed: ${inst_failed:-none}"
echo "  one new connection right after the $FLEET_COUNT had gone, 3 in a row, closed loop: ${after_lat[*]/%/ ms}" \
	"(idle: ${LAT_["vlsink hardened"]:-?} ms, part 1)"
if [[ -n $inst_failed ]]; then
	echo "  log of the first failed instance:"
	tail -n +2 <<<"$failures" | sed 's/^/    | /'
fi
if [[ $check_rc == 0 && $delivered == "$sent" && $client_failed == 0 && -z $inst_failed ]]; then
	echo "VERDICT $FLEET_COUNT connections: all served, every record delivered exactly once ($delivered/$sent)"
else
	echo "VERDICT $FLEET_COUNT connections: NOT all served: $client_failed connections failed," \
		"instances failed: ${inst_failed:-none}; records delivered once $delivered of $sent sent on live connections"
fi

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
