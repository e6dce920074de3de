#!/usr/bin/env bats
# Real receivers: the captures of gpsd's regression suite, when they sit in
# ../shared/corpus/gpsd (they are not part of the project).  Each *.log goes
# through vlsink with its '#' header stripped, and every position record is
# compared with gpsd's own decoding in the *.log.chk beside it.
#
# gpsd merges a whole reporting cycle into one TPV, so records are matched to
# TPVs by fix time, not line by line: a record agrees when some TPV of the
# same time has latitude and longitude within 1e-6 degrees of it (and, for
# RMC, speed within 0.01 m/s).  Captures of binary protocols (bu303-moving is
# SiRF, navisys-gr701w u-blox UBX) carry no NMEA text: vlsink rejects their
# lines, gpsd decodes them, and they make no comparisons, which is right.

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

CORPUS=$BATS_TEST_DIRNAME/../../shared/corpus/gpsd
VLSINK=${VLSINK:-$BATS_TEST_DIRNAME/../build/std/vlsink}

# Merged records against the .chk, per fix (see the program).
MERGED=$(<"$BATS_TEST_DIRNAME/lib/fixes.jq")

# Reads the records (as $r) and the .chk (raw lines) and prints one
# line: RMC and GGA/GLL comparisons made, then every problem found.
#
# gpsd reports at the end of a cycle, and learns which sentence ends it from
# the first cycles; a capture may also stop mid-cycle.  So the first and last
# RMC of a capture may have no TPV of their time; any other RMC must have
# one.  GGA and GLL are compared whenever gpsd reported their time (a GGA
# before the first RMC is dated today by vlsink, and gpsd reports no time
# without a date).
COMPARE='
def near(a; b; tol): (a - b | fabs) <= tol;
def agrees($x):
	near(.lat; $x.lat; 1e-6) and near(.lon; $x.lon; 1e-6) and
	($x.format != "nmea-rmc" or $x.speed == null or
	 (.speed != null and near(.speed; $x.speed; 0.01)));
[inputs | fromjson? | select(type == "object" and .class == "TPV" and .time != null
	and .lat != null and .lon != null)] as $tpv
| ($tpv | group_by(.time) | map({key: .[0].time, value: .}) | from_entries) as $by_time
| ($r | map(select(.format | startswith("nmea-")) | select(.time != null))) as $recs
| ($recs | map(select(.format == "nmea-rmc")) | length) as $nrmc
| reduce ($recs | to_entries[]) as {key: $i, value: $x}
	({rmc: 0, pos: 0, nth_rmc: 0, problems: []};
	 ($by_time[$x.time] // []) as $c
	 | if $c == [] then
		if $x.format == "nmea-rmc" and .nth_rmc != 0 and .nth_rmc != $nrmc - 1 then
			.problems += ["no gpsd report at \($x.time) for the RMC record \($x | tojson)"]
		else . end
	   elif any($c[]; agrees($x)) then
		if $x.format == "nmea-rmc" then .rmc += 1 else .pos += 1 end
	   else
		.problems += ["disagrees: \($x | tojson) vs gpsd \($c | map({lat, lon, speed}) | tojson)"]
	   end
	 | if $x.format == "nmea-rmc" then .nth_rmc += 1 else . end)
| "\(.rmc) \(.pos) \(.problems | join("; "))"
'

setup_file() {
	[[ -d $CORPUS ]] || return 0
	local log
	for log in "$CORPUS"/*.log; do
		local base=$BATS_FILE_TMPDIR/${log##*/}
		grep -av '^#' "$log" >"$base.in" || true
		local rc=0
		"$VLSINK" --sink=stdout --format=json --merge=none --rollover=keep <"$base.in" >"$base.out" 2>"$base.err" || rc=$?
		echo "$rc" >"$base.rc"
		"$VLSINK" --sink=stdout --format=json --rollover=keep <"$base.in" >"$base.merged" 2>/dev/null || true
	done
}

setup() {
	[[ -d $CORPUS ]] || skip "no gpsd corpus at $CORPUS"
	[[ -x $VLSINK ]] || fail "no vlsink at $VLSINK (make, or set VLSINK)"
	compgen -G "$CORPUS/*.log" >/dev/null || fail "no captures in $CORPUS"
}

@test "corpus: vlsink exits 0 and accounts for every line of every capture" {
	local log base lines summary bad=""
	for log in "$CORPUS"/*.log; do
		base=$BATS_FILE_TMPDIR/${log##*/}
		lines=$(wc -l <"$base.in")
		summary=$(grep -a ': eof: ' "$base.err" || true)
		if [[ $(<"$base.rc") != 0 ]]; then
			bad+="${log##*/}: exit status $(<"$base.rc")"$'\n'
		elif [[ ! $summary =~ eof:\ ([0-9]+)\ accepted,\ ([0-9]+)\ ignored,\ ([0-9]+)\ rejected ]]; then
			bad+="${log##*/}: no summary line: $(tail -n 1 "$base.err")"$'\n'
		elif ((BASH_REMATCH[1] + BASH_REMATCH[2] + BASH_REMATCH[3] != lines)); then
			bad+="${log##*/}: $lines lines, but: $summary"$'\n'
		fi
	done
	[[ -z $bad ]] || fail "$bad"
}

@test "corpus: every RMC, GGA and GLL agrees with gpsd's decoding of the same fix" {
	local log base result rmc pos problems with_fix bad="" report=""
	for log in "$CORPUS"/*.log; do
		base=$BATS_FILE_TMPDIR/${log##*/}
		[[ -e $log.chk ]] || continue
		result=$(jq -nrR --slurpfile r "$base.out" "$COMPARE" "$log.chk")
		read -r rmc pos problems <<<"$result"
		with_fix=$(grep -acE '^\$[A-Z]{2}RMC,[^,]*,A,' "$base.in" || true)
		report+="${log##*/}: $rmc RMC and $pos GGA/GLL records agree"$'\n'
		if [[ -n $problems ]]; then
			bad+="${log##*/}: $problems"$'\n'
		elif ((with_fix > 0 && rmc == 0)); then
			bad+="${log##*/}: $with_fix RMC sentences with a fix, but no record compared"$'\n'
		fi
	done
	printf '%s' "$report"
	[[ -z $bad ]] || fail "$bad"
}

@test "corpus, merged: one record per fix, agreeing with gpsd's within 1e-6 degrees" {
	local log base fixes recs agree shared extra bad="" report=""
	for log in "$CORPUS"/*.log; do
		base=$BATS_FILE_TMPDIR/${log##*/}
		[[ -e $log.chk ]] || continue
		read -r fixes recs agree shared extra < <(jq -nrR --slurpfile r "$base.merged" "$MERGED" "$log.chk")
		report+="${log##*/}: $fixes gpsd fixes, $recs records, $agree agree, $extra of no gpsd time"$'\n'
		# Binary captures (SiRF, UBX) carry no NMEA for vlsink to read.
		if ((recs == 0)) && ! grep -aqE '^\$[A-Z]{2}(RMC|GGA|GLL),' "$base.in"; then
			continue
		fi
		((shared == 0)) || bad+="${log##*/}: $shared times with more than one record"$'\n'
		((agree == fixes)) || bad+="${log##*/}: $agree of $fixes gpsd fixes have one agreeing record"$'\n'
		# gpsd learns the cycle before it reports, and may report no time
		# at all without a valid RMC: one record of no gpsd time at most,
		# unless gpsd reported none.
		((extra <= 1 || fixes == 0)) || bad+="${log##*/}: $extra records at times gpsd did not report"$'\n'
	done
	printf '%s' "$report"
	[[ -z $bad ]] || fail "$bad"
}

# Per fix time, gpsd's mode and HDOP: the mode of its last TPV of that time,
# the HDOP of the last SKY reported before it (gpsd reports a cycle's SKY
# before, or between, the TPVs of its fix).  Prints one line per merged
# record that gpsd reported with a fix: its time, then "ok" or both values.
MODE_HDOP='
reduce (inputs | fromjson? | select(type == "object")) as $o ({sky: null, by: {}};
	if $o.class == "SKY" and $o.hdop != null then .sky = $o.hdop
	elif $o.class == "TPV" and $o.time != null then .by[$o.time[11:23]] = {mode: $o.mode, hdop: .sky}
	else . end)
| .by as $g
| $r[] | select(.time != null) | .time[11:23] as $k | select($g[$k].mode >= 2)
| if .mode == $g[$k].mode and .hdop == $g[$k].hdop then "\($k) ok"
  else "\($k) vlsink \(.mode)/\(.hdop), gpsd \($g[$k].mode)/\($g[$k].hdop)" end
'

# Multi-GNSS receivers send one GSA per satellite system (GN talker), two or
# more in one cycle (furuno_gl_ga after the GGA, bu353-glonass and beidou-gb
# between GGA and RMC).  Every GSA of a cycle belongs to that cycle's fix.
@test "corpus, merged, multi-GNSS: every fix has the mode and HDOP gpsd gave it" {
	local log base most lines bad="" report="" found=0
	for log in "$CORPUS"/*.log; do
		base=$BATS_FILE_TMPDIR/${log##*/}
		[[ -e $log.chk ]] || continue
		# The most GN GSAs with a fix between two RMCs.
		most=$(awk '/^\$..RMC,/ { if (n > m) m = n; n = 0 } /^\$GNGSA,[AM],[23],/ { n++ }
			END { if (n > m) m = n; print m + 0 }' "$base.in")
		((most >= 2)) || continue
		found=$((found + 1))
		lines=$(jq -nrR --slurpfile r "$base.merged" "$MODE_HDOP" "$log.chk")
		report+="${log##*/}: up to $most GSAs a fix, $(grep -c ' ok$' <<<"$lines") of $(grep -c . <<<"$lines") fixes agree"$'\n'
		[[ -n $lines ]] || bad+="${log##*/}: no fix to compare"$'\n'
		bad+=$(grep -v ' ok$' <<<"$lines" | sed "s|^|${log##*/}: |")
	done
	printf '%s' "$report"
	((found > 0)) || fail "no capture with two GSAs in one cycle"
	[[ -z $bad ]] || fail "$bad"
}
