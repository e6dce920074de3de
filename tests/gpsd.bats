#!/usr/bin/env bats
# Against gpsd itself: a real capture replayed through gpsd's own gpsfake in
# pipe mode, which writes what `gpspipe -w -r` relays from a receiver (raw
# NMEA and gpsd's JSON reports, TPV among them), goes through vlsink; every
# fix gpsd reported must come out as exactly one vlsink record, at the same
# position to 1e-6 degrees.  Once with the whole stream (NMEA and TPV of each
# fix merged), once with the NMEA alone.
#
# gpsd reports a cycle several times as its sentences arrive, so its fixes
# are its distinct TPV times; gpsd 3.22 also moves the dates of old captures
# by 1024 weeks, so times are matched by time of day.

load 'lib/common'

CORPUS=$BATS_TEST_DIRNAME/../../shared/corpus/gpsd
GPSD_DIR=$BATS_TEST_DIRNAME/../build/deps/gpsd/usr/sbin

# Records against gpsd's TPVs, per fix (see the program).
COMPARE=$(<"$BATS_TEST_DIRNAME/lib/fixes.jq")

setup() {
	common_setup
	command -v gpsfake >/dev/null || skip "gpsfake not installed (Debian package gpsd-clients)"
	[[ -x $GPSD_DIR/gpsd ]] || skip "no gpsd binary in build/deps (make deps-gpsd)"
	if [[ ! -d $CORPUS ]]; then
		[[ ${CI:-} != true ]] || fail "no gpsd corpus at $CORPUS"
		skip "no gpsd corpus at $CORPUS"
	fi
}

# replay LOG: gpsfake's pipe-mode output for LOG in $T/stream.
replay() {
	PATH=$GPSD_DIR:$PATH timeout $((60 * T_SCALE)) gpsfake -1 -p -q "$CORPUS/$1" >"$T/stream" 2>"$T/gpsfake.err" ||
		fail "gpsfake failed: $(tail -n 3 "$T/gpsfake.err")"
	grep -q '"class":"TPV"' "$T/stream" || fail "gpsfake reported no TPV: $(head -c 300 "$T/stream")"
}

# check NAME FILE: vlsink over FILE, compared with the TPVs of $T/stream.
check() {
	local fixes recs agree shared extra
	"$VLSINK" <"$2" >"$T/$1.json" 2>"$T/$1.err" || fail "vlsink failed: $(tail -n 3 "$T/$1.err")"
	read -r fixes recs agree shared extra < <(jq -nrR --slurpfile r "$T/$1.json" "$COMPARE" "$T/stream")
	echo "$1: $fixes gpsd fixes, $recs records, $agree agree, $shared shared times, $extra of no gpsd time"
	((fixes > 0)) || fail "$1: gpsd reported no fix"
	assert_equal "$shared" 0
	assert_equal "$agree" "$fixes"
	# gpsd reports once it knows the cycle: the first fix may have no TPV.
	((extra <= 1)) || fail "$1: $extra records at times gpsd did not report"
}

# bu353-glonass and beidou-gb are multi-GNSS receivers, two GSAs a fix
# (GPS and GLONASS, GPS and BeiDou).  furuno_gl_ga is one too, but the gpsd
# of build/deps reports no fix after its first cycle (mode 1): corpus.bats
# compares it with the .chk of a later gpsd instead.
@test "gpsfake: one record per gpsd fix, from NMEA and TPV merged and from NMEA alone" {
	local log
	for log in haicom-305N.log bu353s4.log garmin-10x.log bu353-glonass.log beidou-gb.log; do
		replay "$log"
		check merged "$T/stream"
		grep -a '^\$' "$T/stream" >"$T/nmea"
		check nmea "$T/nmea"
		# With gpsd's TPV in the stream, the positions are gpsd's own.
		(($(grep -c '"format":"gpsd-tpv"' "$T/merged.json") > 0))
	done
}
