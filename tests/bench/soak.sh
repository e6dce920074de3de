#!/usr/bin/env bash
# soak.sh - a fleet held for minutes through the installed units, under a
# real systemd. A BENCHMARK, not a test: it prints figures and a verdict
# line per claim, and exits 0 whenever it produced figures (claims met or
# not); 2 on a setup failure (not root, no nspawn, build or install failed,
# the container did not boot).
#
# Usage: tests/bench/soak.sh          (make soak; root)
#        SOAK_SECONDS=60 tests/bench/soak.sh      (a short run)
#
# Boots ONE throwaway systemd in systemd-nspawn over a tmpfs overlay of /
# (tests/lib/container.bash; never the host's systemd, never over the
# host's root), installs the build into it (make install DESTDIR=...
# PREFIX=/usr/local), enables vlsink.socket, and runs, one after the other:
#   journal  SOAK_VEHICLES simulated vehicles (one connection each, from
#            SOAK_SOURCES loopback addresses), one NMEA record a second each
#            (RMC/GGA alternating, a GSV line every 10th) for SOAK_SECONDS,
#            through vlsink.socket and vlsink@.service into the journal;
#   fifo     the same through the documented FIFO drop-in
#            (share/doc/vlsink/units/vlsink@.service.d/fifo.conf),
#            vlsink-collect.socket and the collector, into
#            /var/lib/vlsink/positions.jsonl.
# Each run reports:
#   - every record delivered exactly once: per vehicle, the fix times of
#     records 0..N-1 (tests/lib/e2e_client.py check: missing, duplicated,
#     unexpected, torn lines);
#   - no instance failed: `systemctl list-units --failed`, PID 1's
#     "Failed with result" for vlsink@ instances, every connection's end
#     reason, `systemctl show -p NRefused vlsink.socket`, the collector's
#     NRestarts;
#   - memory flat: every SOAK_SAMPLE seconds (default 60; a quarter of the
#     run when that is shorter than 4 minutes; the last one 2 s before the
#     records end) the container's PID 1
#     (VmRSS, Pss), the PSS per vlsink instance (sum over instances /
#     count), journald's and the collector's RSS. "flat" = the last sample
#     taken while the fleet runs is at most max(512 KiB, 2%) above the first
#     taken once every instance runs.
#
# Environment: SOAK_SECONDS (600) SOAK_VEHICLES (500) SOAK_SOURCES (8)
# SOAK_SAMPLE (60) SOAK_RUNS ("journal fifo"). CT_* knobs of
# tests/lib/container.bash apply.

# shellcheck disable=SC2015,SC2016,SC2317

# shellcheck source=sd-common.bash
source "$(dirname "${BASH_SOURCE[0]}")/sd-common.bash" || exit 2

SOAK_SECONDS=${SOAK_SECONDS:-600}
SOAK_VEHICLES=${SOAK_VEHICLES:-500}
SOAK_SOURCES=${SOAK_SOURCES:-8}
SOAK_RUNS=${SOAK_RUNS:-journal fifo}
for v in SOAK_SECONDS SOAK_VEHICLES SOAK_SOURCES; do
	[[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer, got '${!v}'"
done
((SOAK_SOURCES <= 254)) || die "SOAK_SOURCES must be at most 254"
if [[ -n ${SOAK_SAMPLE:-} ]]; then
	[[ $SOAK_SAMPLE =~ ^[1-9][0-9]*$ ]] || die "SOAK_SAMPLE must be a positive integer"
elif ((SOAK_SECONDS < 240)); then
	SOAK_SAMPLE=$(((SOAK_SECONDS + 3) / 4))
else
	SOAK_SAMPLE=60
fi
for r in $SOAK_RUNS; do
	[[ $r == journal || $r == fifo ]] || die "SOAK_RUNS: unknown run '$r' (journal, fifo)"
done

POSITIONS=/var/lib/vlsink/positions.jsonl
FIFO_DROPIN=$DROPINS/fifo.conf

sd_setup soak
sd_header "vlsink soak: $SOAK_VEHICLES vehicles at 1 Hz for $SOAK_SECONDS s per run (figures, not a test)"
echo "runs:      $SOAK_RUNS; samples every $SOAK_SAMPLE s"

# flat BEFORE AFTER: "flat" or "GROWS" (max(512 KiB, 2%) allowed)
flat() {
	calc "d = $2 - $1; lim = $1 * 0.02; if (lim < 512) lim = 512; print (d <= lim) ? \"flat\" : \"GROWS\""
}

declare -A AFTER_PID1
verdicts=()

soak_run() {
	local run=$1 prefix="soak-$1" t0 t_all refused0 accepted0 restarts0=0 next now
	echo
	echo "-- run: $run --"
	if [[ $run == fifo ]]; then
		ct_exec mkdir -p "$DROPINS" &&
			ct_exec cp /usr/local/share/doc/vlsink/units/vlsink@.service.d/fifo.conf "$FIFO_DROPIN" &&
			ct_exec systemctl daemon-reload &&
			ct_exec systemctl enable --quiet --now vlsink-collect.socket || die "cannot set up the FIFO drop-in"
		restarts0=$(ct_exec systemctl show -P NRestarts vlsink-collect.service)
	else
		ct_exec rm -f "$FIFO_DROPIN"
		ct_exec systemctl daemon-reload
	fi
	echo "  vlsink@.service ExecStart: $(ct_exec systemctl show -P ExecStart vlsink@probe.service | sed 's/.*argv\[\]=\([^;]*\);.*/\1/')"
	refused0=$(sock_prop NRefused)
	accepted0=$(sock_prop NAccepted)
	ct_exec rm -f "$B/$run.status" "$B/$run.out" "$B/$run.err" "$B/$run.sent"

	local -a rows=()
	sample() { # LABEL: one row of the memory table
		local n pss p1r p1p jr cr cp
		read -r n pss _ < <(probe pss vlsink)
		read -r p1r p1p < <(pid1_mem)
		read -r jr _ < <(probe unit-mem systemd-journald.service)
		read -r cr cp < <(probe unit-mem vlsink-collect.service)
		rows+=("$(printf '%-9s %7s %6s %9s %9s %9s %10s %10s %10s' "$1" \
			"$(calc "printf \"%.0f\", $(date +%s.%N) - $t0")" "$n" \
			"$(calc "printf \"%.0f\", $pss / ($n ? $n : 1)")" "$p1r" "$p1p" "$jr" "$cr" "$cp")")
	}
	t0=$(date +%s.%N)
	sample before
	ct_exec systemd-run --quiet --collect --unit="soak-$run" -p LimitNOFILE=65536 \
		-p StandardOutput="file:$B/$run.out" -p StandardError="file:$B/$run.err" \
		python3 "$CLIENT" fleet --timeout 300 --count "$SOAK_VEHICLES" --seconds "$SOAK_SECONDS" \
		--sources "$SOAK_SOURCES" --prefix "$prefix" --sent-file "$B/$run.sent" \
		--status-file "$B/$run.status" || die "cannot start the fleet client"
	local n_run
	if read -r t_all n_run < <(probe ramp "$SOAK_VEHICLES" "$((SOAK_SECONDS < 300 ? 300 : SOAK_SECONDS))" "$accepted0"); then
		echo "  all $SOAK_VEHICLES instances running $(calc "printf \"%.1f\", $t_all - $t0") s after the start"
	else
		echo "  NOT all $SOAK_VEHICLES instances ran: at most ${n_run:-?}," \
			"$(calc "printf \"%.1f\", ${t_all:-$t0} - $t0") s after the start"
	fi
	sample running
	local first_row=${#rows[@]} t_send t_end
	# the client writes "sending EPOCH" when its records begin
	_sending() { ct_exec grep -q -e '^sending' -e '^closing' -e '^done' "$B/$run.status"; }
	ct_wait_until 300 _sending || die "the fleet client never started sending"
	t_send=$(ct_exec awk '$1 == "sending" { print $2 }' "$B/$run.status")
	[[ -n $t_send ]] || t_send=$t0
	# samples every SOAK_SAMPLE s from the start, the last one 2 s before
	# the records end (after that, instances are exiting)
	t_end=$(calc "printf \"%.3f\", $t_send + $SOAK_SECONDS - 2")
	next=$(calc "printf \"%.3f\", $t0 + $SOAK_SAMPLE")
	now=$(date +%s.%N)
	while calc "exit !($next <= $now)"; do # slots that passed during the ramp
		next=$(calc "printf \"%.3f\", $next + $SOAK_SAMPLE")
	done
	while now=$(date +%s.%N) && calc "exit !($now < $t_end)"; do
		if calc "exit !($now >= $next)"; then
			sample "t+$(calc "printf \"%.0f\", $now - $t0")"
			next=$(calc "printf \"%.3f\", $next + $SOAK_SAMPLE")
		fi
		sleep 0.5
	done
	sample last
	local last_row=$((${#rows[@]} - 1))
	_done() { ct_exec grep -q '^done' "$B/$run.status"; }
	ct_wait_until 330 _done || echo "  the client did not finish" >&2
	local out
	out=$(ct_exec cat "$B/$run.out")
	probe idle 120 >/dev/null || echo "  instances still running 120 s after the client ended" >&2
	sleep 2
	sample after
	AFTER_PID1[$run]=$(pid1_mem)

	# every record, exactly once
	local check rc
	if [[ $run == journal ]]; then
		check=$(sd_check 60 2 3 soak- "$B/$run.sent" \
			"$(printf '%q jrecords %q -t vlsink' "$PROBE" "$t0")" --journal)
	else
		check=$(sd_check 60 2 3 soak- "$B/$run.sent" "$(printf 'cat %q' "$POSITIONS")")
	fi
	rc=$?

	# nothing failed
	local failed_units pid1_failed ends refused restarts=0
	failed_units=$(ct_exec systemctl list-units --failed --plain --no-legend | awk '{ print $1 }' | paste -sd ' ')
	local failures
	failures=$(probe failures "$t0")
	pid1_failed=$(head -n 1 <<<"$failures")
	if [[ $run == journal ]]; then
		ends=$(ct_exec journalctl -q --no-pager --since="@$t0" -t vlsink -o json --output-fields=END_REASON |
			grep -o '"END_REASON":"[^"]*"' | cut -d'"' -f4 | sort | uniq -c | awk '{ printf "%s%s %s", s, $2, $1; s = ", " }')
	else
		# in FIFO mode the summary is a line on stderr, i.e. in the journal
		ends=$(ct_exec journalctl -q --no-pager --since="@$t0" -t vlsink _TRANSPORT=stdout -o cat |
			sed -n 's/^vlsink: [^ ]* [^ ]*: \([a-z-]*\): .*/\1/p' | sort | uniq -c |
			awk '{ printf "%s%s %s", s, $2, $1; s = ", " }')
		restarts=$(($(ct_exec systemctl show -P NRestarts vlsink-collect.service) - restarts0))
	fi
	refused=$(($(sock_prop NRefused) - refused0))

	echo "  client: $out"
	echo "  check:  $(paste -sd ';' <<<"$check" | sed 's/;/; /g')"
	echo "  connection end reasons: ${ends:-none}; instances failed (PID 1): ${pid1_failed:-none};" \
		"failed units: ${failed_units:-none}; NRefused +$refused$([[ $run == fifo ]] && echo "; collector restarts +$restarts")"
	if [[ -n $pid1_failed ]]; then
		echo "  log of the first failed instance:"
		tail -n +2 <<<"$failures" | sed 's/^/    | /'
	fi
	printf '  %-9s %7s %6s %9s %9s %9s %10s %10s %10s\n' sample "t s" inst "PSS/inst" "PID1 RSS" "PID1 Pss" \
		"journald" "coll RSS" "coll Pss"
	printf '  %s\n' "${rows[@]}"
	echo "  (KiB; PSS/inst = sum of the vlsink instances' Pss / their number)"

	# verdicts
	local sent delivered p_first p_last c_first c_last i_first i_last ok_fail
	sent=$(kv records "$out")
	delivered=$(sed -n 's/^records \([0-9]*\),.*/\1/p' <<<"$check")
	# row: label, t, instances, PSS/inst, PID 1 RSS, PID 1 Pss, journald, collector RSS, Pss
	read -r _ _ _ i_first p_first _ _ c_first _ <<<"${rows[first_row - 1]}"
	read -r _ _ _ i_last p_last _ _ c_last _ <<<"${rows[last_row]}"
	local ml
	ml="PID 1 RSS $p_first -> $p_last KiB ($(flat "$p_first" "$p_last")), PSS/instance $i_first -> $i_last KiB ($(flat "$i_first" "$i_last"))"
	[[ $run == fifo ]] && ml+=", collector RSS $c_first -> $c_last KiB ($(flat "$c_first" "$c_last"))"
	if [[ $rc == 0 && $delivered == "$sent" ]]; then
		verdicts+=("VERDICT $run: every record delivered exactly once ($delivered/$sent)")
	else
		verdicts+=("VERDICT $run: records NOT delivered exactly once ($delivered of $sent; $(tail -n 2 <<<"$check" | head -n 1))")
	fi
	ok_fail=$([[ -z $pid1_failed && -z $failed_units && $refused == 0 && $restarts == 0 &&
		$ends == "eof $SOAK_VEHICLES" ]] && echo "no instance failed" || echo "FAILURES")
	verdicts+=("VERDICT $run: $ok_fail (end reasons: ${ends:-none}; instances failed: ${pid1_failed:-none}; NRefused +$refused)")
	verdicts+=("VERDICT $run: memory $([[ $ml == *GROWS* ]] && echo "NOT flat" || echo flat) while the fleet ran: $ml")
	echo "  memory while the fleet ran: $ml"
}

for r in $SOAK_RUNS; do
	soak_run "$r"
done

echo
if [[ -n ${AFTER_PID1[journal]:-} && -n ${AFTER_PID1[fifo]:-} ]]; then
	echo "PID 1 (VmRSS Pss KiB) after the journal run: ${AFTER_PID1[journal]}; after the fifo run: ${AFTER_PID1[fifo]}"
fi
printf '%s\n' "${verdicts[@]}"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) (nproc $(nproc))"
exit 0
