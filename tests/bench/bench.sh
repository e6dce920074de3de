#!/usr/bin/env bash
# bench.sh - throughput and memory benchmark for vlsink. NOT a test: it
# prints figures and a verdict, and exits 0 whether or not the target is met.
#
# Usage: tests/bench/bench.sh [LINES]          (LINES default 1000000)
#
# Environment:
#   VLSINK       binary under test        (default build/std/vlsink)
#   VLSINK_ARGS  its arguments            (default --sink=stdout --format=json
#                                          --date=2026-01-01; none if VLSINK
#                                          is a `cat`, the stand-in)
#   GEN          NMEA generator           (default build/std/gen-nmea; if that
#                                          is missing, tests/bench/gen-nmea.c
#                                          is compiled into the temp dir)
#   GPSDECODE    reference decoder        (default gpsdecode from PATH,
#                                          Debian package gpsd-clients)
#   RUNS         timed runs per contender (default 5; the median is reported)
#   BASELINE     another vlsink build to time beside this one, on the same
#                inputs in the same run (make bench BASELINE_REV=REV builds
#                the revision REV for this); unset: no comparison
#   PROTOCOLS    tracker protocols to time beside NMEA, each on the same
#                track as frames (GEN --protocol=P, one position a frame,
#                as many positions as the NMEA input has fixes) through
#                vlsink --protocol=P (default "h02 gps103 gl200 osmand";
#                empty: none)
#
# Every contender reads the same generated file on stdin and writes to
# /dev/null:  CMD < FILE > /dev/null.  Peak RSS comes from one extra run
# under GNU time (/usr/bin/time -f %M), which also serves as the warm-up.
#
# Exit status: 0 when the figures were produced (target met or not);
# 2 on a setup failure (no vlsink, no generator, temp dir, bad argument);
# 1 when vlsink itself fails on the valid input (no figures to give).

# The per-contender results (med_*, rss_*, out_*, rc_*, fail_*) are set
# indirectly with printf -v, which shellcheck cannot follow.
# shellcheck disable=SC2154

set -u -o pipefail
export LC_ALL=C # '.' as the decimal point in EPOCHREALTIME and awk

die() { echo "bench.sh: $*" >&2; exit 2; }

orig_pwd=$PWD
script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd) || die "cannot find script dir"
root=$(cd "$script_dir/../.." && pwd) || die "cannot find repo root"

# Resolve an executable: a name without '/' via PATH, a relative path
# against the caller's working directory (for env values) or the repo root
# (for defaults). Prints the absolute path, or nothing.
resolve() { # base value
    local base=$1 v=$2
    if [[ $v != */* ]]; then
        command -v -- "$v" 2>/dev/null || true
        return
    fi
    [[ $v == /* ]] || v=$base/$v
    [[ -f $v && -x $v ]] && echo "$v"
    return 0
}

LINES=${1:-1000000}
[[ $LINES =~ ^[1-9][0-9]*$ ]] || die "LINES must be a positive integer, got '$LINES'"
RUNS=${RUNS:-5}
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive integer, got '$RUNS'"
SMALL=100000
((SMALL > LINES)) && SMALL=$LINES
TARGET=10

if [[ -n ${VLSINK:-} ]]; then vlsink=$(resolve "$orig_pwd" "$VLSINK"); vl_name=$VLSINK
else vlsink=$(resolve "$root" build/std/vlsink); vl_name=build/std/vlsink; fi
[[ -n $vlsink ]] || die "vlsink not found or not executable: $vl_name (build it with make, or set VLSINK)"

if [[ -n ${VLSINK_ARGS+set} ]]; then
    read -r -a vl_args <<<"$VLSINK_ARGS"
    vl_note="args from VLSINK_ARGS"
elif [[ $(basename -- "$vlsink") == cat ]]; then
    vl_args=()
    vl_note="STAND-IN: VLSINK is cat, run without vlsink flags; its figures are not vlsink's"
else
    vl_args=(--sink=stdout --format=json --date=2026-01-01)
    vl_note=""
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vlsink-bench.XXXXXX") || die "mktemp failed"
trap 'rm -rf -- "$tmp"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [[ -n ${GEN:-} ]]; then
    gen=$(resolve "$orig_pwd" "$GEN")
    [[ -n $gen ]] || die "generator not found or not executable: $GEN"
else
    gen=$(resolve "$root" build/std/gen-nmea)
    if [[ -z $gen ]]; then
        echo "note: build/std/gen-nmea missing, compiling tests/bench/gen-nmea.c with ${CC:-cc}"
        "${CC:-cc}" -std=c11 -O2 -o "$tmp/gen-nmea" "$script_dir/gen-nmea.c" ||
            die "cannot compile the generator"
        gen=$tmp/gen-nmea
    fi
fi

gpsdecode=$(resolve "$orig_pwd" "${GPSDECODE:-gpsdecode}")
gd_skip=""
if [[ -z $gpsdecode ]]; then
    gd_skip="gpsdecode not found (${GPSDECODE:-gpsdecode}; install Debian package gpsd-clients)"
fi

gnutime=/usr/bin/time
if ! [[ -x $gnutime ]] || ! "$gnutime" -f %M -o "$tmp/probe" true 2>/dev/null; then
    gnutime=""
fi

# ---- helpers ---------------------------------------------------------

now() { echo "${EPOCHREALTIME:-$(date +%s.%N)}"; }

median() { # numbers... -> median
    printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 }
        END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# peak_run NAME FILE CMD...: run CMD < FILE once under GNU time; sets
# rss_NAME (KiB, or n/a), out_NAME (number of output lines matching
# $count_pat, default all), rc_NAME.
count_pat=""
peak_run() {
    local name=$1 file=$2 rss=n/a rc n
    shift 2
    if [[ -n $gnutime ]]; then
        set -- "$gnutime" -f %M -o "$tmp/rss" "$@"
    fi
    n=$({ "$@" <"$file" 2>"$tmp/err.$name"; echo $? >"$tmp/rc"; } | grep -c -e "$count_pat")
    rc=$(<"$tmp/rc")
    if [[ -n $gnutime ]]; then
        rss=$(tail -n 1 "$tmp/rss")
        [[ $rss =~ ^[0-9]+$ ]] || rss=n/a
    fi
    printf -v "rss_$name" '%s' "$rss"
    printf -v "out_$name" '%s' "$n"
    printf -v "rc_$name" '%s' "$rc"
}

# timed NAME CMD...: RUNS runs of CMD < $file > /dev/null; sets med_NAME
# (median wall seconds) and fail_NAME (last non-zero exit status or empty).
timed() {
    local name=$1 i t0 t1 rc fail="" ts=()
    shift
    for ((i = 0; i < RUNS; i++)); do
        t0=$(now)
        "$@" <"$file" >/dev/null 2>>"$tmp/err.$name"
        rc=$?
        t1=$(now)
        ((rc != 0)) && fail=$rc
        ts+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f", b - a }')")
    done
    printf -v "med_$name" '%s' "$(median "${ts[@]}")"
    printf -v "fail_$name" '%s' "$fail"
}

calc() { awk "BEGIN { $1 }"; }

# ---- machine context -------------------------------------------------

cpu=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null)
[[ -n $cpu ]] || cpu=$(lscpu 2>/dev/null | awk -F': *' '/^Model name/ { print $2; exit }')
echo "== vlsink benchmark (figures, not a test) =="
echo "date:     $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "machine:  $(uname -srm), nproc $(nproc 2>/dev/null || echo '?'), CPU ${cpu:-unknown}"
echo "vlsink:   $vlsink${vl_args[*]:+ ${vl_args[*]}}"
[[ -n $vl_note ]] && echo "          ($vl_note)"
if [[ -n $gd_skip ]]; then
    echo "gpsdecode: SKIPPED: $gd_skip"
else
    echo "gpsdecode: $gpsdecode ($("$gpsdecode" -V 2>&1 | head -n 1)) -j"
fi
[[ -n $gnutime ]] || echo "peak RSS: n/a (GNU time not at /usr/bin/time; Debian package time)"
echo "runs:     $RUNS per contender, median wall time"

# ---- input -----------------------------------------------------------

file=$tmp/track.nmea
t0=$(now)
"$gen" "$LINES" >"$file" || die "generator failed: $gen $LINES"
t1=$(now)
have=$(wc -l <"$file")
((have == LINES)) || die "generator wrote $have lines, expected $LINES"
bytes=$(wc -c <"$file")
echo "input:    $LINES lines, $bytes bytes ($(calc "printf \"%.1f\", $bytes / 1048576") MiB), \
RMC+GGA each second, generated in $(calc "printf \"%.3f\", $t1 - $t0") s"

small=$tmp/small.nmea
"$gen" "$SMALL" >"$small" || die "generator failed: $gen $SMALL"

# one 1 MiB line (an NMEA-looking prefix, no newline inside), then CRLF,
# then SMALL valid lines
long=$tmp/longline.nmea
{
    printf '%s' "\$GPGGA,"
    head -c $((1048576 - 7)) /dev/zero | tr '\0' '7'
    printf '\r\n'
    cat "$small"
} >"$long" || die "cannot write $long"

# ---- measurements ----------------------------------------------------

peak_run cat "$file" cat
timed cat cat

peak_run vl "$file" "$vlsink" "${vl_args[@]}"
if ((rc_vl != 0)); then
    echo "bench.sh: vlsink exited with status $rc_vl on the generated input:" >&2
    head -n 5 "$tmp/err.vl" >&2
    exit 1
fi
timed vl "$vlsink" "${vl_args[@]}"
if [[ -n $fail_vl ]]; then
    echo "bench.sh: vlsink exited with status $fail_vl in a timed run:" >&2
    head -n 5 "$tmp/err.vl" >&2
    exit 1
fi

if [[ -z $gd_skip ]]; then
    count_pat='"class":"TPV"'
    peak_run gd "$file" "$gpsdecode" -j
    count_pat=""
    if ((rc_gd != 0)); then
        gd_skip="gpsdecode exited with status $rc_gd: $(head -n 1 "$tmp/err.gd")"
    else
        timed gd "$gpsdecode" -j
        [[ -n $fail_gd ]] && gd_skip="gpsdecode exited with status $fail_gd in a timed run"
    fi
fi

# The same build with one record per sentence: what merging costs.
timed vlnone "$vlsink" "${vl_args[@]}" --merge=none

# The same build with and without the reader/worker split, timed in this
# run on the same input: what supervision costs.
timed vlsup "$vlsink" "${vl_args[@]}" --supervise
timed vlnosup "$vlsink" "${vl_args[@]}" --no-supervise

# The same build unconfined: what the sandbox (a BPF program run on every
# system call) costs.
timed vlsb "$vlsink" "${vl_args[@]}"
timed vlnosb "$vlsink" "${vl_args[@]}" --no-sandbox

# What confining costs a connection: a whole run on an empty input, many
# times, with and without, interleaved.
startup() { # ARGS...: seconds for STARTS runs
    local t0 i
    t0=$(now)
    for ((i = 0; i < STARTS; i++)); do "$vlsink" "$@" </dev/null >/dev/null 2>&1; done
    calc "print $(now) - $t0"
}
STARTS=${STARTS:-500}
su_sb=0 su_nosb=0
for r in 1 2 3; do
    su_sb=$(calc "print $su_sb + $(startup --sink=stdout)")
    su_nosb=$(calc "print $su_nosb + $(startup --sink=stdout --no-sandbox)")
done

# A TPV-heavy input: gpsd's own reports of the same track, one TPV a fix.
tpv_file=""
if [[ -z $gd_skip ]]; then
    tpv_file=$tmp/track.tpv
    "$gpsdecode" -j <"$file" 2>/dev/null | grep '"class":"TPV"' >"$tpv_file"
    tpv_lines=$(wc -l <"$tpv_file")
    saved_file=$file
    file=$tpv_file
    timed vltpv "$vlsink" "${vl_args[@]}"
    file=$saved_file
fi

baseline=""
if [[ -n ${BASELINE:-} ]]; then
    baseline=$(resolve "$orig_pwd" "$BASELINE")
    [[ -n $baseline ]] || die "baseline not found or not executable: $BASELINE"
    timed base "$baseline" "${vl_args[@]}"
    if [[ -n $tpv_file ]]; then
        saved_file=$file
        file=$tpv_file
        timed basetpv "$baseline" "${vl_args[@]}"
        file=$saved_file
    fi
fi

# The tracker protocols: frames per second and positions per second beside
# NMEA's, timed in this run.  A protocol vlsink does not know (exit 64) is
# reported, not timed.
read -r -a protocols <<<"${PROTOCOLS-h02 gps103 gl200 osmand}"
frames=$(((LINES + 1) / 2))
declare -A pskip=()
count_pat='"lat":'
for p in "${protocols[@]}"; do
    [[ $p =~ ^[a-z0-9]+$ ]] || die "PROTOCOLS: bad name '$p'"
    "$gen" "$frames" --protocol="$p" >"$tmp/frames.$p" || die "generator failed: $gen $frames --protocol=$p"
    saved_file=$file
    file=$tmp/frames.$p
    peak_run "p_$p" "$file" "$vlsink" "${vl_args[@]}" --protocol="$p"
    rc=rc_p_$p
    # The summary says how the stream ended and how many frames were
    # handled: a connection the protocol closes early (OsmAnd after a
    # 400) has no rate to compare.
    summary=$(grep -E ': [a-z-]+: [0-9]+ accepted, [0-9]+ ignored, [0-9]+ rejected' "$tmp/err.p_$p" | tail -n 1)
    handled=$(sed -E 's/.*: ([0-9]+) accepted, ([0-9]+) ignored, ([0-9]+) rejected.*/\1 \2 \3/' <<<"$summary" |
        awk '{ print $1 + $2 + $3 }')
    if ((${!rc} == 64)); then
        pskip[$p]="vlsink refuses --protocol=$p (exit 64): $(head -n 1 "$tmp/err.p_$p")"
    elif [[ $handled != "$frames" ]]; then
        pskip[$p]="vlsink handled ${handled:-no} frames of $frames (exit ${!rc}): ${summary#*: }"
    else
        timed "p_$p" "$vlsink" "${vl_args[@]}" --protocol="$p"
    fi
    file=$saved_file
done
count_pat=""

peak_run vlsmall "$small" "$vlsink" "${vl_args[@]}"
peak_run vllong "$long" "$vlsink" "${vl_args[@]}"

# ---- report ----------------------------------------------------------

lps() { calc "printf \"%.0f\", $LINES / $1"; }
mibs() { calc "printf \"%.1f\", $bytes / 1048576 / $1"; }

echo
printf '%-10s %10s %14s %9s %14s %11s\n' contender "median s" "lines/s" "MiB/s" "peak RSS KiB" "out lines"
row() { # label med rss out
    printf '%-10s %10.4f %14s %9s %14s %11s\n' "$1" "$2" "$(lps "$2")" "$(mibs "$2")" "$3" "$4"
}
row vlsink "$med_vl" "$rss_vl" "$out_vl"
if [[ -z $gd_skip ]]; then
    row gpsdecode "$med_gd" "$rss_gd" "$out_gd"
else
    printf '%-10s %s\n' gpsdecode "skipped: $gd_skip"
fi
row cat "$med_cat" "$rss_cat" "$out_cat"

echo
if [[ -z $gd_skip ]]; then
    ratio_gd=$(calc "printf \"%.2f\", $med_gd / $med_vl")
    echo "vlsink/gpsdecode speed: ${ratio_gd}x"
fi
echo "vlsink/cat speed:       $(calc "printf \"%.3f\", $med_cat / $med_vl")x (cat = I/O floor)"

echo
echo "merging: --merge=epoch $(lps "$med_vl") lines/s, --merge=none $(lps "$med_vlnone") lines/s:" \
    "$(calc "printf \"%.3f\", $med_vlnone / $med_vl")x (target: at least 0.8x)"
echo "supervision: --supervise $(lps "$med_vlsup") lines/s, --no-supervise $(lps "$med_vlnosup") lines/s:" \
    "$(calc "printf \"%.3f\", $med_vlnosup / $med_vlsup")x (target: at least 0.85x)"
echo "sandbox: confined $(lps "$med_vlsb") lines/s, --no-sandbox $(lps "$med_vlnosb") lines/s (timed one after the other):" \
    "$(calc "printf \"%.3f\", $med_vlnosb / $med_vlsb")x"
echo "confining a connection: $((3 * STARTS)) runs on an empty input, confined $(calc "printf \"%.0f\", $su_sb / (3 * $STARTS) * 1e6") us," \
    "--no-sandbox $(calc "printf \"%.0f\", $su_nosb / (3 * $STARTS) * 1e6") us each (process start included):" \
    "+$(calc "printf \"%.0f\", ($su_sb - $su_nosb) / (3 * $STARTS) * 1e6") us"
if [[ -n $tpv_file ]]; then
    echo
    echo "TPV input: $tpv_lines gpsd TPV lines (gpsdecode -j of the same track)"
    printf '  vlsink    %10.4f s %14s lines/s\n' "$med_vltpv" "$(calc "printf \"%.0f\", $tpv_lines / $med_vltpv")"
fi
if [[ -n $baseline ]]; then
    echo
    echo "baseline: $baseline (timed in this run, on the same inputs)"
    printf '  NMEA  baseline %14s lines/s, this build %14s lines/s: %sx\n' "$(lps "$med_base")" "$(lps "$med_vl")" \
        "$(calc "printf \"%.3f\", $med_base / $med_vl")"
    if [[ -n $tpv_file ]]; then
        printf '  TPV   baseline %14s lines/s, this build %14s lines/s: %sx\n' \
            "$(calc "printf \"%.0f\", $tpv_lines / $med_basetpv")" "$(calc "printf \"%.0f\", $tpv_lines / $med_vltpv")" \
            "$(calc "printf \"%.3f\", $med_basetpv / $med_vltpv")"
    fi
fi

if ((${#protocols[@]} > 0)); then
    echo
    echo "tracker protocols: the same track, one position a frame, $frames frames (NMEA: $LINES lines, 2 a position);"
    echo "vlsink ${vl_args[*]} --protocol=P, timed in this run beside NMEA:"
    nmea_pps=$(calc "printf \"%.0f\", $frames / $med_vl")
    printf '  %-8s %10s %12s %12s %9s %12s %11s %5s\n' protocol "median s" "frames/s" "positions/s" "vs NMEA" "peak RSS KiB" "records out" exit
    printf '  %-8s %10.4f %12s %12s %9s %12s %11s %5s\n' nmea "$med_vl" "$(lps "$med_vl") (lines)" "$nmea_pps" 1.000 \
        "$rss_vl" "$out_vl" "$rc_vl"
    for p in "${protocols[@]}"; do
        if [[ -n ${pskip[$p]:-} ]]; then
            printf '  %-8s not measured: %s\n' "$p" "${pskip[$p]}"
            continue
        fi
        med=med_p_$p rss=rss_p_$p out=out_p_$p rc=rc_p_$p
        printf '  %-8s %10.4f %12s %12s %9s %12s %11s %5s\n' "$p" "${!med}" \
            "$(calc "printf \"%.0f\", $frames / ${!med}")" "$(calc "printf \"%.0f\", $frames / ${!med}")" \
            "$(calc "printf \"%.3f\", $med_vl / ${!med}")" "${!rss}" "${!out}" "${!rc}"
    done
    echo "  (vs NMEA: positions/s over NMEA's; records out below $frames mean frames were rejected: see exit and"
    echo "  the first reject of each, then rates are of frames turned away, not of records)"
    for p in "${protocols[@]}"; do
        out=out_p_$p
        [[ -n ${pskip[$p]:-} || ${!out} == "$frames" ]] && continue
        echo "  $p: $(grep -m 1 -i 'reject' "$tmp/err.p_$p" | cut -c 1-160)"
    done
fi

echo
echo "sanity:"
ok() { [[ $1 == "$2" ]] && echo OK || echo MISMATCH; }
echo "  vlsink wrote $out_vl records for $(((LINES + 1) / 2)) RMC+GGA fixes: $(ok "$out_vl" "$(((LINES + 1) / 2))")"
if [[ -z $gd_skip ]]; then
    echo "  gpsdecode decoded $out_gd TPV records from $(((LINES + 1) / 2)) RMC+GGA epochs" \
        "(one per epoch; the last epoch is not flushed)"
fi

echo
echo "flat memory (vlsink peak RSS, KiB):"
echo "  $SMALL lines:  $rss_vlsmall ($out_vlsmall records, exit $rc_vlsmall)"
echo "  $LINES lines:  $rss_vl"
if [[ $rss_vl =~ ^[0-9]+$ && $rss_vlsmall =~ ^[0-9]+$ ]]; then
    d=$((rss_vl - rss_vlsmall))
    ad=$((d < 0 ? -d : d))
    if ((LINES == SMALL)); then
        echo "  (same input size: no comparison)"
    elif ((ad <= 512)); then
        echo "  delta ${d} KiB: flat"
    else
        echo "  delta ${d} KiB: NOT flat (grows with input)"
    fi
fi
echo "  1 MiB line + $SMALL lines: $rss_vllong ($out_vllong records of $SMALL valid lines," \
    "exit $rc_vllong)"
if [[ $rss_vllong =~ ^[0-9]+$ && $rss_vlsmall =~ ^[0-9]+$ ]]; then
    echo "  delta vs $SMALL lines: $((rss_vllong - rss_vlsmall)) KiB (a 1 MiB line buffered whole is ~1024)"
fi

echo
if [[ -n $gd_skip ]]; then
    echo "target ${TARGET}x gpsdecode: NOT measured (gpsdecode skipped: $gd_skip)"
elif calc "exit !($ratio_gd >= $TARGET)"; then
    echo "target ${TARGET}x gpsdecode: met (ratio $ratio_gd)"
else
    echo "target ${TARGET}x gpsdecode: NOT met (ratio $ratio_gd)"
fi
exit 0
