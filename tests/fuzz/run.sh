#!/bin/bash
# Builds the libFuzzer harnesses under build/fuzz/ and runs each for a while
# on a seed corpus made from the project's own fixtures.
#
#   tests/fuzz/run.sh [OPTIONS] [SECONDS_PER_HARNESS]     (default 60)
#
#   --build-only     build the harnesses, run nothing
#   --replay         build, then run every file in tests/fuzz/crashers/
#                    through its harness (named by the file's prefix); no fuzzing
#   --jobs N         run N harnesses at a time (default 1)
#   --keep-corpus    start from the work corpus of the last run, not afresh
#   --only LIST      comma-separated harnesses (linebuf,framer,nmea,tpv,csv,line,json,merge,devices,
#                    proxy,h02,gps103,gl200,osmand)
#
# Prints, per harness: executions, exec/s, coverage (cov: edges, ft:
# features) and crashes.  Exits 1 if a harness crashed or a replay failed,
# 2 on a usage or build error.  Writes only under build/fuzz/.
set -uo pipefail

cd "$(dirname "$0")/../.." || exit 2
ROOT=$PWD
FUZZ=$ROOT/tests/fuzz
OUT=$ROOT/build/fuzz
CC=${FUZZ_CC:-clang}
# shellcheck disable=SC2054 # the commas belong to -fsanitize=
CFLAGS=(-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
	-std=c11 -D_GNU_SOURCE -Isrc -Isrc/core -Isrc/vlsink -Wall -Wextra)

build_only=0 replay=0 jobs=1 keep=0 only="" seconds=60
while (($#)); do
	case $1 in
	--build-only) build_only=1 ;;
	--replay) replay=1 ;;
	--jobs) jobs=${2:?--jobs needs a number}; shift ;;
	--jobs=*) jobs=${1#*=} ;;
	--keep-corpus) keep=1 ;;
	--only) only=${2:?--only needs a list}; shift ;;
	--only=*) only=${1#*=} ;;
	-h | --help) sed -n '2,17s/^# \{0,1\}//p' "$0"; exit 0 ;;
	-*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
	*) seconds=$1 ;;
	esac
	shift
done
[[ $seconds =~ ^[0-9]+$ && $seconds -gt 0 ]] || { echo "run.sh: seconds: expected a positive number" >&2; exit 2; }
[[ $jobs =~ ^[0-9]+$ && $jobs -gt 0 ]] || { echo "run.sh: --jobs: expected a positive number" >&2; exit 2; }

# The parsers and the core they call; never main.c, the sinks or the collector.
CORE_PURE=(src/core/scan.c src/core/calendar.c src/core/format.c src/core/record.c src/core/json.c)
PARSE_SRCS=(src/vlsink/parse/parse.c src/vlsink/parse/nmea.c src/vlsink/parse/tpv.c src/vlsink/parse/csv.c "${CORE_PURE[@]}")
JSON_FLAGS=(-DHAVE_JSON_VALID)

harnesses=(linebuf framer nmea tpv csv line json merge devices proxy h02 gps103 gl200 osmand)
if [[ -n $only ]]; then
	IFS=, read -ra want <<<"$only"
	for h in "${want[@]}"; do
		[[ " ${harnesses[*]} " == *" $h "* ]] || { echo "run.sh: no harness '$h' (have: ${harnesses[*]})" >&2; exit 2; }
	done
	harnesses=("${want[@]}")
fi

srcs_for() {
	case $1 in
	linebuf | framer) echo src/core/linebuf.c src/core/scan.c src/core/calendar.c ;;
	json) echo src/core/json.c src/core/scan.c src/core/calendar.c ;;
	merge) echo "${PARSE_SRCS[@]}" src/vlsink/fix/merge.c ;;
	devices) echo src/vlsink/devices.c src/core/scan.c src/core/calendar.c ;;
	proxy) echo src/vlsink/parse/proxy.c ;;
	h02 | gps103 | gl200 | osmand) echo "src/vlsink/parse/$1.c" "${PARSE_SRCS[@]}" ;;
	*) echo "${PARSE_SRCS[@]}" ;;
	esac
}

dict_for() {
	case $1 in
	nmea) echo "$FUZZ/dict/nmea.dict" ;;
	tpv | json) echo "$FUZZ/dict/json.dict" ;;
	csv) echo "$FUZZ/dict/csv.dict" ;;
	line | linebuf | merge) echo "$OUT/all.dict" ;;
	framer) echo "$FUZZ/dict/framer.dict" ;;
	devices) echo "$FUZZ/dict/devices.dict" ;;
	proxy) echo "$FUZZ/dict/proxy.dict" ;;
	h02) echo "$FUZZ/dict/h02.dict" ;;
	gps103) echo "$FUZZ/dict/gps103.dict" ;;
	gl200) echo "$FUZZ/dict/gl200.dict" ;;
	osmand) echo "$FUZZ/dict/osmand.dict" ;;
	esac
}

mkdir -p "$OUT" || exit 2
cat "$FUZZ"/dict/*.dict >"$OUT/all.dict"

# Rebuilds only when a source, header or this script is newer than the binary.
build() {
	local h=$1 flags=() bin=$OUT/fuzz-$1 f
	[[ $h != linebuf ]] && flags=("${JSON_FLAGS[@]}")
	if [[ -x $bin ]]; then
		local stale=0
		for f in "$FUZZ/fuzz-$h.c" "$FUZZ"/*.h "$0" src/*/*.h $(srcs_for "$h"); do
			[[ $f -nt $bin ]] && stale=1
		done
		((stale)) || return 0
	fi
	# shellcheck disable=SC2046
	"$CC" "${CFLAGS[@]}" "${flags[@]}" -o "$OUT/fuzz-$h" "$FUZZ/fuzz-$h.c" $(srcs_for "$h") -lm \
		2>"$OUT/build-$h.log" || { cat "$OUT/build-$h.log" >&2; return 1; }
}

# Two compilers at a time: each harness is one clang run over a few files.
pids=() names=()
for h in "${harnesses[@]}"; do
	build "$h" &
	pids+=($!) names+=("$h")
	if ((${#pids[@]} >= 2)); then
		wait "${pids[0]}" || { echo "run.sh: building fuzz-${names[0]} failed" >&2; wait; exit 2; }
		pids=("${pids[@]:1}") names=("${names[@]:1}")
	fi
done
for i in "${!pids[@]}"; do
	wait "${pids[$i]}" || { echo "run.sh: building fuzz-${names[$i]} failed" >&2; wait; exit 2; }
done
echo "built: ${harnesses[*]/#/build/fuzz/fuzz-}"
((build_only)) && exit 0

if ((replay)); then
	fail=0 count=0
	for f in "$FUZZ"/crashers/*; do
		[[ -f $f ]] || continue
		b=$(basename "$f") h=${b%%-*}
		if [[ ! -f $FUZZ/fuzz-$h.c ]]; then
			echo "replay $b: skipped (no harness '$h'; name crashers HARNESS-what)"
			continue
		fi
		if [[ ! -x $OUT/fuzz-$h ]]; then
			build "$h" || { echo "run.sh: building fuzz-$h failed" >&2; exit 2; }
		fi
		count=$((count + 1))
		if "$OUT/fuzz-$h" -runs=1 "$f" >"$OUT/replay-$b.log" 2>&1; then
			echo "replay $b: ok"
		else
			echo "replay $b: CRASH (see build/fuzz/replay-$b.log)"
			tail -n 30 "$OUT/replay-$b.log" | grep -E 'ERROR|SUMMARY|invariant|framer|#[0-9]+ 0x' | head -n 12
			fail=1
		fi
	done
	echo "replayed $count crasher(s)"
	exit "$fail"
fi

# Seeds: every line of the fixtures, one file each (the parser harnesses
# take one line); for the stream harnesses also whole files, and for the
# framer each of those behind a 9-byte header of line cap and read sizes.
seeds=$OUT/seeds
rm -rf "$seeds"
mkdir -p "$seeds/line" "$seeds/stream" "$seeds/linebuf" "$seeds/devices" "$seeds/proxy" "$seeds/framer"
# The protocol framings: a stream of each behind a header naming it (the
# first byte's remainder by 4: H02, GPS103, Queclink, HTTP).
printf '\x00\x05\x10\x7f\x01\x02\x03\x80\x04*HQ,1,V1#\r\n$\x01\x02*HQ,2,#x*HQ,3' >"$seeds/framer/h02"
printf '\x01\x05\x10\x7f\x01\x02\x03\x80\x04##,imei:1,A;1;\r\nimei:1,tracker;;x' >"$seeds/framer/gps103"
printf '\x02\x05\x10\x7f\x01\x02\x03\x80\x04+RESP:GTFRI,1$+RSP\x01\x02+ACK:GTHBD,1$\r\n+BUFF:x' >"$seeds/framer/gl200"
printf '\x03\x05\x10\x7f\x01\x02\x03\x80\x04GET /?id=1 HTTP/1.1\r\nHost: a\r\n\r\nPOST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc\r\nPOST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n' >"$seeds/framer/http"
printf '# fleet\nbus-1\n  bus-2\r\naddr:192.0.2.0/24\naddr:2001:db8::/32\naddr:10.1.2.3\n' >"$seeds/devices/fleet"
# PROXY headers: the header lines of tests/cases/proxy.headers (commands,
# comments and expectations skipped), decoded, each with a line after it.
n=0
while IFS= read -r l; do
	[[ -z $l || $l == '#'* || $l == *vlsink* || $l == 'peer '* || $l == 'refused '* ]] && continue
	[[ $l == '(empty)' ]] && l=''
	n=$((n + 1))
	printf '%b$GPRMC,1\n' "$l" >"$seeds/proxy/h$n"
done <tests/cases/proxy.headers
nseed=0
# A line as the framer hands it on: without its CR.
add_line() {
	nseed=$((nseed + 1))
	printf '%s' "${1%$'\r'}" >"$seeds/line/s$nseed"
}
shopt -s nullglob
for f in examples/*.nmea examples/*.jsonl examples/*.csv; do
	while IFS= read -r l || [[ -n $l ]]; do
		add_line "$l"
	done <"$f"
	cp "$f" "$seeds/stream/$(basename "$f")"
done
# Case files: blocks split by blank lines; in each, '#' lines are comments,
# the first other line is the command, then input and expected alternate
# ("+ {" lines are further records of the input before them).
# shellcheck disable=SC2094 # reads the .cases file, writes under build/
for f in tests/cases/*.cases; do
	block=0 pos=0
	while IFS= read -r l || [[ -n $l ]]; do
		if [[ -z $l ]]; then
			pos=0
			continue
		fi
		[[ $l == '#'* || $l == '+ {'* ]] && continue
		if ((pos == 0)); then
			block=$((block + 1))
			: >"$seeds/stream/$(basename "$f" .cases)-$block"
		elif ((pos % 2 == 1)); then
			if [[ $l == "\$'"*"'" ]]; then
				l=${l:2:${#l}-3}
				l=${l//\\\'/\'}
				printf -v l '%b' "$l"
			fi
			add_line "$l"
			printf '%s\n' "$l" >>"$seeds/stream/$(basename "$f" .cases)-$block"
		fi
		pos=$((pos + 1))
	done <"$f"
done
i=0
for s in "$seeds"/stream/* "$seeds"/line/*; do
	i=$((i + 1))
	# Line caps of 64 and 200, reads of 1..128 bytes and of 4 KiB.
	case $((i % 4)) in
	0) hdr='\x00\x00\x01\x07\x3f\x7f\xff\x80\x10' ;;
	1) hdr='\x88\xff\xff\xff\xff\xff\xff\xff\xff' ;;
	2) hdr='\x40\x02\x11\x00\x80\x05\x7f\x20\x83' ;;
	3) hdr='\x10\x00\x00\x00\x00\x00\x00\x00\x00' ;;
	esac
	{ printf '%b' "$hdr"; cat "$s"; } >"$seeds/linebuf/$(basename "$s")"
done
echo "seeds: $(find "$seeds/line" -type f | wc -l) lines, $(find "$seeds/stream" -type f | wc -l) streams"

seed_dirs_for() {
	case $1 in
	linebuf) echo "$seeds/linebuf" ;;
	framer) echo "$seeds/linebuf $seeds/framer" ;;
	line | merge) echo "$seeds/line $seeds/stream" ;;
	devices) echo "$seeds/devices" ;;
	proxy) echo "$seeds/proxy" ;;
	*) echo "$seeds/line" ;;
	esac
}

run_one() {
	local h=$1
	local corpus=$OUT/corpus-$h art=$OUT/artifacts/$h log=$OUT/fuzz-$h.log
	((keep)) || rm -rf "$corpus"
	rm -rf "$art"
	mkdir -p "$corpus" "$art"
	# shellcheck disable=SC2046
	"$OUT/fuzz-$h" -max_total_time="$seconds" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
		-dict="$(dict_for "$h")" -print_final_stats=1 -artifact_prefix="$art/" \
		"$corpus" $(seed_dirs_for "$h") >"$log" 2>&1
	echo $? >"$OUT/fuzz-$h.rc"
}

echo "fuzzing ${harnesses[*]} for ${seconds}s each, $jobs at a time; logs in build/fuzz/fuzz-*.log"
running=0
for h in "${harnesses[@]}"; do
	run_one "$h" &
	running=$((running + 1))
	if ((running >= jobs)); then
		wait -n
		running=$((running - 1))
	fi
done
wait

status=0
printf '%-8s %12s %9s %7s %8s %8s  %s\n' harness executions exec/s cov ft crashes artifact
for h in "${harnesses[@]}"; do
	log=$OUT/fuzz-$h.log
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)
	ft=$(grep -o 'ft: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)
	arts=("$OUT/artifacts/$h"/*)
	rc=$(cat "$OUT/fuzz-$h.rc" 2>/dev/null || echo 99)
	crashes=${#arts[@]}
	((rc != 0 && crashes == 0)) && crashes="rc=$rc"
	printf '%-8s %12s %9s %7s %8s %8s  %s\n' "$h" "${execs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" \
		"$crashes" "$(first=${arts[0]:-}; echo "${first#"$ROOT"/}")"
	if [[ $crashes != 0 ]]; then
		status=1
		grep -E 'ERROR: |SUMMARY: |invariant failed|^framer:' "$log" | head -n 3 | sed 's/^/    /'
	fi
done
exit "$status"
