#!/usr/bin/env bats
# shellcheck disable=SC2016
#
# vlsink-export: JSON lines and journal files in; GeoJSON, GPX, CSV and SVG
# out, each checked by a tool that knows the format (jq, xmllint).
#
# Journal input is only ever tested with --directory and --file on journal
# files made here by systemd-journal-remote from export-format text: never
# the machine's own journal.  Most fixtures carry none of the fields journald
# adds about the sender (_SYSTEMD_UNIT, _UID, ...), so they are read with
# --trust=identifier; units.export claims them (systemd-journal-remote keeps
# them as written), for the default, --trust=units, whose user vlsink-conn is
# given a UID in a private /etc/passwd (as_conn_user).  tests/systemd.bats
# tests the default against journald itself.
#
# GPX is validated with xmllint against tests/cases/export/gpx-1.1-subset.xsd,
# NOT the complete GPX 1.1 schema: no Debian package ships gpx.xsd and the
# tests run offline.  The subset was written from the GPX 1.1 specification
# for the elements vlsink-export writes (see the file's header); it is
# stricter than the full schema, and a test below shows it rejects what the
# full schema rejects for those elements.

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

: "${VLSINK_EXPORT:=$BATS_TEST_DIRNAME/../build/std/vlsink-export}"
: "${VLSINK:=$BATS_TEST_DIRNAME/../build/std/vlsink}"

C=$BATS_TEST_DIRNAME/cases/export
XSD=$C/gpx-1.1-subset.xsd

setup() {
	[[ -x $VLSINK_EXPORT ]] ||
		fail "vlsink-export binary not found or not executable: $VLSINK_EXPORT (build it, or set VLSINK_EXPORT)"
	T=$BATS_TEST_TMPDIR
	OUT=$T/out
	ERR=$T/err
}

# ex ARGS...: runs vlsink-export, stdout in $OUT, stderr in $ERR, $status.
ex() {
	status=0
	"$VLSINK_EXPORT" "$@" >"$OUT" 2>"$ERR" 3>&- || status=$?
}

# as_conn_user UID|- COMMAND...: COMMAND with an /etc/passwd of its own, bind
# mounted in a private mount namespace, in which vlsink-conn has UID or (-)
# does not exist.  The host's users are never touched.
as_conn_user() {
	local uid=$1
	shift
	command -v unshare >/dev/null || skip "unshare not installed (Debian package util-linux)"
	grep -v '^vlsink-conn:' /etc/passwd >"$T/passwd"
	[[ $uid == - ]] || echo "vlsink-conn:x:$uid:$uid:vlsink connection:/:/usr/sbin/nologin" >>"$T/passwd"
	unshare --map-root-user --mount true 2>/dev/null ||
		skip "no private mount namespace for a private /etc/passwd (unshare --map-root-user --mount)"
	unshare --map-root-user --mount sh -c 'mount --bind "$1" /etc/passwd && shift && exec "$@"' sh "$T/passwd" "$@"
}

# exu UID|- ARGS...: ex, with vlsink-conn's UID as in as_conn_user.
exu() {
	local uid=$1
	shift
	status=0
	as_conn_user "$uid" "$VLSINK_EXPORT" "$@" >"$OUT" 2>"$ERR" 3>&- || status=$?
}

need() { # COMMAND DEBIAN-PACKAGE
	command -v "$1" >/dev/null || skip "$1 not installed (Debian package $2)"
}

# make_journal EXPORT-TEXT FILE.journal: a real journal file, written by
# systemd-journal-remote from journal export format; no journald involved.
make_journal() {
	local jr
	for jr in /lib/systemd/systemd-journal-remote /usr/lib/systemd/systemd-journal-remote ""; do
		[[ -x $jr ]] && break
	done
	[[ -n $jr ]] || skip "systemd-journal-remote not installed (Debian package systemd-journal-remote)"
	mkdir -p "$(dirname "$2")"
	"$jr" --output="$2" - <"$1" 2>"$T/journal-remote.err" ||
		fail "systemd-journal-remote failed: $(cat "$T/journal-remote.err")"
}

# gen_lines N: N valid JSON records of three vehicles, one second apart.
gen_lines() {
	awk -v n="$1" 'BEGIN {
		for (i = 0; i < n; i++) {
			s = i % 86400
			printf "{\"vehicle\":\"v-%d\",\"time\":\"2026-03-01T%02d:%02d:%02d.000Z\",\"lat\":52.%07d,\"lon\":13.%07d,\"speed\":1.500,\"format\":\"csv\"}\n",
				i % 3, int(s / 3600), int(s / 60) % 60, s % 60, i % 10000000, (i * 7) % 10000000
		}
	}'
}

# The vehicles and their positions in fleet.jsonl and in vlsink.export.
FLEET_COUNTS='[["bus-1",4],["tram-2",3],["van-3",2]]'

@test "--version and --help" {
	ex --version
	assert_equal "$status" 0
	assert_equal "$(cat "$OUT")" "vlsink-export 0.1.0"
	ex --help
	assert_equal "$status" 0
	for opt in --input --directory --file --vehicle --since --until --trust --output-format --width --height \
		--max-vehicles --help --version; do
		grep -q -- "$opt" "$OUT" || fail "--help does not mention $opt"
	done
	[[ ! -s $ERR ]]
}

@test "usage errors exit 64 with one line on stderr and nothing on stdout" {
	local -a cases=(
		"--bogus"
		"-x"
		"--output-format=kml"
		"--since=yesterday"
		"--until=2026-13-01"
		"--since=2026-03-01T08:00:00+02:00"
		"--since=2026-03-02 --until=2026-03-01"
		"--input=- --directory=/nonexistent"
		"--directory=/nonexistent --file=/nonexistent.journal"
		"--vehicle=bus/1"
		"--trust=anyone"
		"--trust="
		"--input=- --trust=identifier"
		"--width=900"
		"--output-format=svg --width=50"
		"--output-format=svg --height=100000"
		"--max-vehicles=0"
		"--max-vehicles=100001"
		"--input"
		"--input=-- extra"
		"extra-argument"
	)
	local c
	for c in "${cases[@]}"; do
		# shellcheck disable=SC2086
		ex $c </dev/null
		[[ $status == 64 ]] || fail "'$c': exit $status, expected 64: $(cat "$ERR")"
		[[ ! -s $OUT ]] || fail "'$c': wrote to stdout"
		[[ $(wc -l <"$ERR") == 1 ]] || fail "'$c': expected one line on stderr: $(cat "$ERR")"
		grep -q "^vlsink-export: .*vlsink-export --help" "$ERR" || fail "'$c': $(cat "$ERR")"
	done
}

@test "geojson: a FeatureCollection with one LineString of [lon, lat] per vehicle, times in properties" {
	need jq jq
	ex --input="$C/fleet.jsonl"
	assert_equal "$status" 0
	[[ ! -s $ERR ]]
	# RFC 7946: FeatureCollection of Features, each with a geometry and
	# properties; positions [lon, lat] in range; no crs member.  The fixture
	# is near 52.5 N 13.4 E, so a swapped pair would be caught.
	jq -e '
		.type == "FeatureCollection" and (keys == ["features", "type"])
		and (.features | length) == 3
		and all(.features[];
			.type == "Feature" and (has("geometry") and has("properties"))
			and .geometry.type == "LineString" and (.geometry | has("crs") | not)
			and (.geometry.coordinates | length) >= 2
			and all(.geometry.coordinates[];
				length == 2 and (.[0] > 13 and .[0] < 14) and (.[1] > 52 and .[1] < 53))
			and (.properties.times | length) == (.geometry.coordinates | length))' "$OUT"
	run jq -c '[.features[] | [.properties.vehicle, (.geometry.coordinates | length)]]' "$OUT"
	assert_output "$FLEET_COUNTS"
	run jq -c '.features[0] | [.geometry.coordinates[0], .geometry.coordinates[3], .properties.times[0], .properties.times[3]]' "$OUT"
	assert_output '[[13.4,52.5],[13.4,52.503],"2026-03-01T08:00:00.000Z","2026-03-01T08:03:00.000Z"]'
	# tram-2 goes east: longitude changes, latitude does not.
	run jq -c '.features[1].geometry.coordinates' "$OUT"
	assert_output '[[13.41,52.51],[13.412,52.51],[13.414,52.51]]'
	# Seven decimals, longitude first, as written.
	grep -q '"coordinates":\[\[13.4000000,52.5000000\],\[13.4000000,52.5010000\]' "$OUT"
}

@test "geojson: a vehicle seen once is a Point, nothing selected is an empty collection" {
	need jq jq
	ex --input="$C/fleet.jsonl" --vehicle=van-3 --until=2026-03-01T08:05:30Z
	assert_equal "$status" 0
	run jq -c '.features[] | [.geometry, .properties]' "$OUT"
	assert_output '[{"type":"Point","coordinates":[13.39,52.49]},{"vehicle":"van-3","times":["2026-03-01T08:05:00.000Z"]}]'

	ex --input="$C/fleet.jsonl" --vehicle=nobody
	assert_equal "$status" 0
	run jq -c . "$OUT"
	assert_output '{"type":"FeatureCollection","features":[]}'
}

@test "geojson: records without vehicle or time: vehicle null, times null" {
	need jq jq
	printf '%s\n' '{"lat":52.5,"lon":13.4}' '{"time":"2026-03-01T08:00:00Z","lat":52.6,"lon":13.5,"alt":10}' >"$T/in"
	ex --input="$T/in"
	assert_equal "$status" 0
	run jq -c '.features[] | [.geometry.type, .properties]' "$OUT"
	assert_output '["LineString",{"vehicle":null,"times":[null,"2026-03-01T08:00:00.000Z"]}]'
	# Without a time a record cannot lie in a range.
	ex --input="$T/in" --since=2026-01-01
	run jq -c '.features[] | .geometry' "$OUT"
	assert_output '{"type":"Point","coordinates":[13.5,52.6]}'
}

@test "gpx: validates against the GPX 1.1 schema subset, one trk per vehicle" {
	need xmllint libxml2-utils
	ex --input="$C/fleet.jsonl" --output-format=gpx
	assert_equal "$status" 0
	run xmllint --noout --schema "$XSD" "$OUT"
	assert_success
	grep -q '^<gpx version="1.1" creator="vlsink-export" xmlns="http://www.topografix.com/GPX/1/1">$' "$OUT"
	local x='xmllint --xpath'
	run $x 'count(//*[local-name()="trk"])' "$OUT"
	assert_output 3
	for v in bus-1:4 tram-2:3 van-3:2; do
		run $x "count(//*[local-name()='trk'][*[local-name()='name']='${v%:*}']//*[local-name()='trkpt'])" "$OUT"
		assert_output "${v#*:}"
	done
	# lat and lon where they belong; ele and time when known.
	grep -q '<trkpt lat="52.5000000" lon="13.4000000"><time>2026-03-01T08:00:00.000Z</time></trkpt>' "$OUT"
	grep -q '<trkpt lat="52.5100000" lon="13.4100000"><ele>35.00</ele><time>2026-03-01T08:00:30.000Z</time></trkpt>' "$OUT"
}

@test "gpx: the schema subset rejects what GPX 1.1 rejects; longitude 180 is written as -180" {
	need xmllint libxml2-utils
	ex --input="$C/fleet.jsonl" --output-format=gpx
	# The subset has teeth: elements out of order, a longitude of 180, a
	# missing creator and a wrong version all fail.
	sed 's|<ele>35.00</ele><time>\([^<]*\)</time>|<time>\1</time><ele>35.00</ele>|' "$OUT" >"$T/order.gpx"
	sed '0,/lon="13.4000000"/s//lon="180.0000000"/' "$OUT" >"$T/lon.gpx"
	sed 's/ creator="vlsink-export"//' "$OUT" >"$T/creator.gpx"
	sed 's/version="1.1"/version="1.0"/' "$OUT" >"$T/version.gpx"
	for f in order lon creator version; do
		! cmp -s "$OUT" "$T/$f.gpx" || fail "$f: the edit did not apply"
		run xmllint --noout --schema "$XSD" "$T/$f.gpx"
		assert_failure
	done

	printf '%s\n' '{"vehicle":"ship-9","lat":-16.5,"lon":180}' '{"vehicle":"ship-9","lat":-16.6,"lon":-179.9}' >"$T/in"
	ex --input="$T/in" --output-format=gpx
	assert_equal "$status" 0
	run xmllint --noout --schema "$XSD" "$OUT"
	assert_success
	grep -q '<trkpt lat="-16.5000000" lon="-180.0000000">' "$OUT"
}

@test "csv: header vehicle,time,lat,lon,speed,course,alt,accuracy,archive and one row per record, in input order" {
	ex --input="$C/fleet.jsonl" --output-format=csv
	assert_equal "$status" 0
	run head -n 1 "$OUT"
	assert_output 'vehicle,time,lat,lon,speed,course,alt,accuracy,archive'
	assert_equal "$(wc -l <"$OUT")" 10
	run awk -F, '{ print NF }' "$OUT"
	assert_output "$(printf '9\n%.0s' {1..10})"
	run sed -n '2p;3p;9p' "$OUT"
	assert_output 'bus-1,2026-03-01T08:00:00.000Z,52.5000000,13.4000000,8.000,0.00,,,
tram-2,2026-03-01T08:00:30.000Z,52.5100000,13.4100000,,,35.00,,
van-3,2026-03-01T08:05:00.000Z,52.4900000,13.3900000,,,,,'
}

@test "svg: well-formed, one polyline per vehicle in distinct colours, markers, labels, axes, scale bar" {
	need xmllint libxml2-utils
	ex --input="$C/fleet.jsonl" --output-format=svg
	assert_equal "$status" 0
	run xmllint --noout "$OUT"
	assert_success
	local x='xmllint --xpath'
	run $x 'concat(/*/@width, "x", /*/@height)' "$OUT"
	assert_output 800x600
	run $x 'count(//*[local-name()="polyline"])' "$OUT"
	assert_output 3
	run $x 'count(//*[local-name()="circle"])' "$OUT"
	assert_output 3
	# Distinct colours.
	run bash -c "grep -o '<polyline[^>]*stroke=\"#[0-9a-f]*\"' '$OUT' | grep -o '#[0-9a-f]*' | sort -u | wc -l"
	assert_output 3
	# A label per vehicle, degree labels on the axes, a scale bar.
	for v in bus-1 tram-2 van-3; do
		grep -q "font-weight=\"bold\"[^>]*>$v</text>" "$OUT" || fail "no label for $v"
	done
	grep -qE '>52\.[0-9]+°N</text>' "$OUT"
	grep -qE '>13\.[0-9]+°E</text>' "$OUT"
	grep -qE '>[0-9]+ (m|km)</text>' "$OUT"
	grep -q '>3 vehicles, 9 positions, 2026-03-01 08:00:00 to 08:06:00 UTC</text>' "$OUT"
	# North up: bus-1 drives north, so its last point is higher (smaller
	# y) than its first; tram-2 drives east, so x grows.
	read -r x0 y0 x1 y1 < <(awk '/<title>bus-1 /{f=1} f && /points=/{
		sub(/.*points="/, ""); sub(/".*/, ""); n = split($0, p, /[ ,]/); print p[1], p[2], p[n-1], p[n]; exit }' "$OUT")
	awk -v a="$y0" -v b="$y1" -v c="$x0" -v d="$x1" 'BEGIN { exit !(b < a - 20 && c == d) }' ||
		fail "bus-1 does not go up: $x0,$y0 -> $x1,$y1"

	ex --input="$C/fleet.jsonl" --output-format=svg --width=1200 --height=400
	run xmllint --xpath 'concat(/*/@width, "x", /*/@height, " ", /*/@viewBox)' "$OUT"
	assert_output '1200x400 0 0 1200 400'
}

@test "svg: no positions still makes a picture" {
	need xmllint libxml2-utils
	ex --input=- --output-format=svg </dev/null
	assert_equal "$status" 0
	run xmllint --noout "$OUT"
	assert_success
	grep -q '>no positions</text>' "$OUT"
	grep -q '>0 vehicles, 0 positions</text>' "$OUT"
}

@test "--vehicle and --since/--until select from JSON lines" {
	need jq jq
	ex --input=- --vehicle=tram-2 --vehicle=van-3 <"$C/fleet.jsonl"
	assert_equal "$status" 0
	run jq -c '[.features[] | [.properties.vehicle, (.geometry.coordinates | length)]]' "$OUT"
	assert_output '[["tram-2",3],["van-3",2]]'

	ex --input="$C/fleet.jsonl" --since="2026-03-01 08:01:00" --until=2026-03-01T08:02:30Z
	run jq -c '[.features[] | [.properties.vehicle, .properties.times]]' "$OUT"
	assert_output '[["bus-1",["2026-03-01T08:01:00.000Z","2026-03-01T08:02:00.000Z"]],["tram-2",["2026-03-01T08:01:30.000Z","2026-03-01T08:02:30.000Z"]]]'

	# @seconds and a fraction; bounds are inclusive.
	ex --input="$C/fleet.jsonl" --output-format=csv --since=@1772352360 --until=@1772352360.000
	run cut -d, -f1,2 "$OUT"
	assert_output 'vehicle,time
van-3,2026-03-01T08:06:00.000Z'
	ex --input="$C/fleet.jsonl" --output-format=csv --until=2026-03-01
	assert_equal "$(wc -l <"$OUT")" 1
}

@test "invalid lines are counted and skipped, the first 10 shown; the valid ones are written, exit 65" {
	need jq jq
	ex --input="$C/bad.jsonl"
	assert_equal "$status" 65
	run jq -c '[.features[] | [.properties.vehicle, .properties.times]]' "$OUT"
	assert_output '[["bus-1",["2026-03-01T08:00:00.000Z","2026-03-01T08:02:10.000Z","2026-03-01T08:02:20.000Z"]]]'
	assert_equal "$(wc -l <"$ERR")" 11
	run sed -n 's/^vlsink-export: \(line [0-9]*: [^:]*\): .*/\1/p' "$ERR"
	assert_output 'line 2: lat out of range
line 3: unknown key
line 4: duplicate key
line 5: bad time
line 6: bad vehicle id
line 7: bad lat
line 8: no lat/lon
line 9: string with escapes
line 10: syntax
line 11: not a JSON object'
	run tail -n 1 "$ERR"
	assert_output 'vlsink-export: 14 invalid records skipped (only the first 10 shown)'
	# The sample shows the fault: the unknown key is in it.
	grep -q 'line 3: unknown key: ".*colour' "$ERR"
}

@test "the rollover flag vlsink writes is read back; any other value of it is refused" {
	local rec='"vehicle":"bus-1","time":"2019-04-07T00:00:00.000Z","lat":48.1173000,"lon":11.5166667,"format":"nmea-rmc"'
	printf '{%s,"rollover":true}\n' "$rec" >"$T/in"
	ex --input="$T/in" --output-format=csv
	assert_equal "$status" 0
	assert_equal "$(wc -l <"$OUT")" 2
	printf '{%s,"rollover":%s}\n' "$rec" false "$rec" '"true"' "$rec" 1 "$rec" null >"$T/in"
	ex --input="$T/in" --output-format=csv
	assert_equal "$status" 65
	run sed -n 's/^vlsink-export: \(line [0-9]*: [^:]*\): .*/\1/p' "$ERR"
	assert_output 'line 1: bad rollover
line 2: bad rollover
line 3: bad rollover
line 4: bad rollover'
}

@test "accuracy, the archive flag and the tracker protocols' formats are read back; other values of them refused" {
	local rec='"vehicle":"car-1","time":"2026-12-01T08:30:00.000Z","lat":52.5200080,"lon":13.4049540'
	r() { printf '{%s,%s}\n' "${rec/08:30:00/08:3$1:00}" "$2"; }
	{
		r 1 '"accuracy":12.5,"format":"osmand"'
		r 2 '"format":"gl200","archive":true'
		r 3 '"format":"h02"'
		r 4 '"format":"gps103"'
	} >"$T/in"
	ex --input="$T/in" --output-format=csv
	assert_equal "$status" 0
	[[ ! -s $ERR ]] || fail "$(cat "$ERR")"
	assert_output_file() { run cat "$OUT"; assert_output "$1"; }
	assert_output_file 'vehicle,time,lat,lon,speed,course,alt,accuracy,archive
car-1,2026-12-01T08:31:00.000Z,52.5200080,13.4049540,,,,12.5,
car-1,2026-12-01T08:32:00.000Z,52.5200080,13.4049540,,,,,1
car-1,2026-12-01T08:33:00.000Z,52.5200080,13.4049540,,,,,
car-1,2026-12-01T08:34:00.000Z,52.5200080,13.4049540,,,,,'

	printf '{%s,"accuracy":%s}\n' "$rec" -1 "$rec" 1000000.1 "$rec" '"12.5"' "$rec" null >"$T/in"
	printf '{%s,"archive":%s}\n' "$rec" false "$rec" '"true"' "$rec" 1 >>"$T/in"
	printf '{%s,"format":"%s"}\n' "$rec" H02 "$rec" traccar >>"$T/in"
	ex --input="$T/in" --output-format=csv
	assert_equal "$status" 65
	run sed -n 's/^vlsink-export: \(line [0-9]*: [^:]*\): .*/\1/p' "$ERR"
	assert_output 'line 1: accuracy out of range
line 2: accuracy out of range
line 3: bad accuracy
line 4: bad accuracy
line 5: bad archive
line 6: bad archive
line 7: bad archive
line 8: bad format
line 9: bad format'
}

@test "journal: ACCURACY_M and ARCHIVE=1 are read back; other values of them refused" {
	entry() { # SECONDS EXTRA-FIELD...
		printf '__REALTIME_TIMESTAMP=%s000000\nMESSAGE=car-1\nPRIORITY=6\nSYSLOG_IDENTIFIER=vlsink\nVEHICLE_ID=car-1\n' "$1"
		printf 'FIX_TIME=2026-12-01T08:30:%02d.000Z\nLATITUDE=52.5200080\nLONGITUDE=13.4049540\n' "$(($1 % 60))"
		shift
		printf '%s\n' "$@"
		echo
	}
	{
		entry 1796113801 ACCURACY_M=12.5 SOURCE_FORMAT=osmand
		entry 1796113802 ARCHIVE=1 SOURCE_FORMAT=gl200
		entry 1796113803 SOURCE_FORMAT=h02
		entry 1796113804 ACCURACY_M=-0.5
		entry 1796113805 ACCURACY_M=ten
		entry 1796113806 ARCHIVE=0
		entry 1796113807 ARCHIVE=yes
	} >"$T/acc.export"
	make_journal "$T/acc.export" "$T/journal/acc.journal"
	ex --trust=identifier --directory="$T/journal" --output-format=csv
	assert_equal "$status" 65
	run cat "$OUT"
	assert_output 'vehicle,time,lat,lon,speed,course,alt,accuracy,archive
car-1,2026-12-01T08:30:01.000Z,52.5200080,13.4049540,,,,12.5,
car-1,2026-12-01T08:30:02.000Z,52.5200080,13.4049540,,,,,1
car-1,2026-12-01T08:30:03.000Z,52.5200080,13.4049540,,,,,'
	run sed -n 's/^vlsink-export: journal entry of [^:]*:[^:]*:[^:]*: \([^:]*\): \(.*\)/\1: \2/p' "$ERR"
	assert_output 'accuracy out of range: "ACCURACY_M=-0.5"
bad accuracy: "ACCURACY_M=ten"
bad archive: "ARCHIVE=0"
bad archive: "ARCHIVE=yes"'
}

@test "diagnostics stay bounded: thousands of bad lines, overlong lines, control bytes" {
	{
		for ((i = 0; i < 3000; i++)); do echo '{"lat":1,"lon":2,"x":3}'; done
		head -c 100000 /dev/zero | tr '\0' 'a'
		echo
		printf '{"lat":1,\001"lon":2}\n'
		printf '{"vehicle":"ok-1","lat":1.5,"lon":2.5}\r\n'
	} >"$T/in"
	ex --input="$T/in" --output-format=csv
	assert_equal "$status" 65
	assert_equal "$(wc -l <"$ERR")" 11
	(($(wc -c <"$ERR") < 2000)) || fail "stderr too large: $(wc -c <"$ERR") bytes"
	run tail -n 1 "$ERR"
	assert_output 'vlsink-export: 3002 invalid records skipped (only the first 10 shown)'
	run tail -n 1 "$OUT"
	assert_output 'ok-1,,1.5000000,2.5000000,,,,,'

	# The overlong line and the control byte are named for what they are.
	tail -n 3 "$T/in" >"$T/in2"
	ex --input="$T/in2" --output-format=csv
	assert_equal "$status" 65
	grep -q '^vlsink-export: line 1: line too long: "aaaa.*\.\.\."$' "$ERR"
	grep -q '^vlsink-export: line 2: control character: "{\\"lat\\":1,\\x01\\"lon\\":2}"$' "$ERR"
}

@test "journal --directory: vlsink's position entries; rejects, summaries and other programs skipped" {
	need jq jq
	make_journal "$C/vlsink.export" "$T/journal/vlsink.journal"
	ex --trust=identifier --directory="$T/journal"
	assert_equal "$status" 0
	[[ ! -s $ERR ]] || fail "$(cat "$ERR")"
	run jq -c '[.features[] | [.properties.vehicle, (.geometry.coordinates | length)]]' "$OUT"
	assert_output "$FLEET_COUNTS"
	# gpsd-bridge's entry names bus-1 too, at 10 N 10 E: it is not there.
	run jq -c '.features[0].geometry.coordinates' "$OUT"
	assert_output '[[13.4,52.5],[13.4,52.501],[13.4,52.502],[13.4,52.503]]'
	# Every field vlsink writes comes back: speed, course, altitude, time,
	# and no time for the entry without FIX_TIME.
	ex --trust=identifier --directory="$T/journal" --output-format=csv
	assert_equal "$status" 0
	run cat "$OUT"
	assert_output 'vehicle,time,lat,lon,speed,course,alt,accuracy,archive
bus-1,2026-03-01T08:00:00.000Z,52.5000000,13.4000000,8.000,0.00,,,
tram-2,2026-03-01T08:00:30.000Z,52.5100000,13.4100000,,,35.00,,
bus-1,2026-03-01T08:01:00.000Z,52.5010000,13.4000000,8.100,0.00,,,
tram-2,2026-03-01T08:01:30.000Z,52.5100000,13.4120000,,,35.50,,
bus-1,2026-03-01T08:02:00.000Z,52.5020000,13.4000000,8.200,0.00,,,
tram-2,2026-03-01T08:02:30.000Z,52.5100000,13.4140000,,,36.00,,
bus-1,2026-03-01T08:03:00.000Z,52.5030000,13.4000000,8.300,0.00,,,
van-3,2025-06-01T10:00:00.000Z,52.4900000,13.3900000,,,,,
van-3,,52.4900000,13.3910000,,,,,'
}

@test "journal: entries with the identifier but no sign of vlsink's units are not exported by default, and said so" {
	need jq jq
	make_journal "$C/vlsink.export" "$T/journal/vlsink.journal"
	# The fixture has none of the fields journald writes about the sender
	# (only _BOOT_ID, which every entry has): nobody vouches for it.
	journalctl --directory="$T/journal" -o json |
		jq -e -s 'length > 0 and all(.[]; [keys[] | select(startswith("_") and (startswith("__") | not) and . != "_BOOT_ID")] == [])' >/dev/null
	exu 991 --directory="$T/journal"
	assert_equal "$status" 0
	run jq -c . "$OUT"
	assert_output '{"type":"FeatureCollection","features":[]}'
	run cat "$ERR"
	assert_output "vlsink-export: 9 position entries with SYSLOG_IDENTIFIER=vlsink skipped: not written by user vlsink-conn in a vlsink@ unit (--trust=identifier reads them; see vlsink-export(1))"
	# --vehicle narrows what is counted; --trust=units is the default.
	exu 991 --directory="$T/journal" --vehicle=van-3 --trust=units --output-format=csv
	assert_equal "$status" 0
	assert_equal "$(cat "$OUT")" vehicle,time,lat,lon,speed,course,alt,accuracy,archive
	grep -q "^vlsink-export: 2 position entries with SYSLOG_IDENTIFIER=vlsink skipped" "$ERR"
}

@test "journal: a vlsink@ unit is trusted only with vlsink-conn's _UID (journald's stale unit on a forger's entry)" {
	make_journal "$C/units.export" "$T/journal/units.journal"
	# Seven bus-1 entries; vlsink-conn is UID 991 in them.  Exported: a
	# vlsink@ unit as 991, and 991 without a unit (journald behind, the
	# instance gone).  Skipped: a vlsink@ unit as 1000 (a forger on a
	# recycled PID, given the cached unit), 1000 without a unit, 991 in
	# another unit, a vlsink@ unit without _UID.
	exu 991 --directory="$T/journal" --output-format=csv
	assert_equal "$status" 0
	run cat "$OUT"
	assert_output 'vehicle,time,lat,lon,speed,course,alt,accuracy,archive
bus-1,2026-03-01T08:00:00.000Z,52.5000000,13.4000000,,,,,
bus-1,2026-03-01T08:01:00.000Z,52.5010000,13.4000000,,,,,
bus-1,2026-03-01T08:03:00.000Z,52.5030000,13.4000000,,,,,'
	run cat "$ERR"
	assert_output "vlsink-export: 4 position entries with SYSLOG_IDENTIFIER=vlsink skipped: not written by user vlsink-conn in a vlsink@ unit (--trust=identifier reads them; see vlsink-export(1))"

	# The UID is vlsink-conn's as the system says, not a number built in:
	# where vlsink-conn is 1000, the forger's two entries without another
	# unit are the ones read.
	exu 1000 --directory="$T/journal" --output-format=csv
	assert_equal "$status" 0
	run cut -d, -f3,4 "$OUT"
	assert_output 'lat,lon
10.0000000,10.0000000
11.0000000,11.0000000'
	grep -q "^vlsink-export: 5 position entries .* skipped" "$ERR"

	# --trust=identifier takes all seven, and needs no vlsink-conn.
	exu - --directory="$T/journal" --output-format=csv --trust=identifier
	assert_equal "$status" 0
	assert_equal "$(wc -l <"$OUT")" 8
	[[ ! -s $ERR ]] || fail "$(cat "$ERR")"
}

@test "journal: without the user vlsink-conn, --trust=units cannot tell vlsink's entries: exit 67, nothing written" {
	make_journal "$C/units.export" "$T/journal/units.journal"
	exu - --directory="$T/journal"
	assert_equal "$status" 67
	[[ ! -s $OUT ]]
	run cat "$ERR"
	assert_output --regexp '^vlsink-export: user vlsink-conn: no such user: .*--trust=identifier reads every entry; see vlsink-export\(1\)\)$'
	# JSON lines do not need it.
	exu - --input="$C/fleet.jsonl" --output-format=csv
	assert_equal "$status" 0
}

@test "journal: the instances of vlsink@ and of a tracker port's vlsink-NAME@ template are trusted, no other unit" {
	local unit n=0
	for unit in vlsink@1-127.0.0.1:10110-127.0.0.1:40000.service vlsink-h02@2-127.0.0.1:5013-127.0.0.1:40001.service \
		vlsink-osmand@3-127.0.0.1:5055-127.0.0.1:40002.service vlsink-collect.service vlsink-h02.service \
		vlsink-@4.service vlsink-H02@5.service vlsinkx@6.service vlsink-h02@.service vlsink-h.02@7.service \
		other@8.service vlsink@9.scope; do
		n=$((n + 1))
		printf '__REALTIME_TIMESTAMP=%s000000\nMESSAGE=car-%s\nPRIORITY=6\nSYSLOG_IDENTIFIER=vlsink\n' $((1796113800 + n)) $n
		printf 'VEHICLE_ID=car-%s\nLATITUDE=52.5\nLONGITUDE=13.4\n_UID=991\n_SYSTEMD_UNIT=%s\n\n' $n "$unit"
	done >"$T/units.export"
	make_journal "$T/units.export" "$T/journal/units.journal"
	# vlsink-conn is 991, as in every entry: the unit decides.
	exu 991 --directory="$T/journal" --output-format=csv
	assert_equal "$status" 0
	run cut -d, -f1 "$OUT"
	assert_output 'vehicle
car-1
car-2
car-3'
	grep -q "^vlsink-export: 9 position entries with SYSLOG_IDENTIFIER=vlsink skipped" "$ERR"
}

@test "journal --file (repeatable) and --vehicle (any of them); invalid entries counted, exit 65" {
	need jq jq
	make_journal "$C/vlsink.export" "$T/a/vlsink.journal"
	make_journal "$C/bad.export" "$T/b/bad.journal"
	ex --trust=identifier --file="$T/a/vlsink.journal" --vehicle=tram-2 --vehicle=van-3
	assert_equal "$status" 0
	run jq -c '[.features[] | [.properties.vehicle, (.geometry.coordinates | length)]]' "$OUT"
	assert_output '[["tram-2",3],["van-3",2]]'

	# Two files are read as one journal, in time order; bad.journal has
	# two valid and two invalid bus-1 entries.  Both files hold bus-1 at
	# 08:00:00: one point per vehicle and instant, the first.
	ex --trust=identifier --file="$T/a/vlsink.journal" --file="$T/b/bad.journal" --vehicle=bus-1 --output-format=gpx
	assert_equal "$status" 65
	run sed -n 's/.*<time>\(.*\)<\/time>.*/\1/p' "$OUT"
	assert_output '2026-03-01T08:00:00.000Z
2026-03-01T08:00:30.000Z
2026-03-01T08:01:00.000Z
2026-03-01T08:02:00.000Z
2026-03-01T08:03:00.000Z'
	run cat "$ERR"
	assert_output 'vlsink-export: journal entry of 2026-03-01T08:00:10.200Z: bad lat: "LATITUDE=north"
vlsink-export: journal entry of 2026-03-01T08:00:20.200Z: lat out of range: "LATITUDE=95.0000000"
vlsink-export: 1 point dropped: same vehicle, same time as an earlier one (the first is kept)
vlsink-export: 2 invalid records skipped'
}

@test "journal --since/--until apply to FIX_TIME, else to the journal's receive time" {
	need jq jq
	make_journal "$C/vlsink.export" "$T/journal/vlsink.journal"
	ex --trust=identifier --directory="$T/journal" --since="2026-03-01 08:01:00" --until=2026-03-01T08:04:00Z
	assert_equal "$status" 0
	run jq -c '[.features[] | [.properties.vehicle, (.geometry.coordinates | length)]]' "$OUT"
	assert_output '[["bus-1",3],["tram-2",2]]'
	# van-3's replayed entry was received at 08:03:20 but its fix is from
	# 2025; its entry without FIX_TIME was received at 08:04:20.
	ex --trust=identifier --directory="$T/journal" --since=2026-03-01T08:04:00Z --output-format=csv
	run cat "$OUT"
	assert_output 'vehicle,time,lat,lon,speed,course,alt,accuracy,archive
van-3,,52.4900000,13.3910000,,,,,'
	ex --trust=identifier --directory="$T/journal" --until=2025-12-31 --output-format=csv
	run cat "$OUT"
	assert_output 'vehicle,time,lat,lon,speed,course,alt,accuracy,archive
van-3,2025-06-01T10:00:00.000Z,52.4900000,13.3900000,,,,,'
}

@test "input errors exit 66" {
	ex --input="$T/missing.jsonl"
	assert_equal "$status" 66
	grep -q "^vlsink-export: $T/missing.jsonl: No such file or directory$" "$ERR"
	[[ ! -s $OUT ]]

	# The journal, read by --trust=units (the default), with a vlsink-conn.
	mkdir "$T/empty"
	exu 991 --directory="$T/empty"
	assert_equal "$status" 66
	grep -q "^vlsink-export: $T/empty: no journal files found$" "$ERR"

	exu 991 --file="$T/missing.journal"
	assert_equal "$status" 66
	grep -q "missing.journal: No such file or directory" "$ERR"

	# A read error: a directory as the JSON lines input.
	ex --input="$T/empty"
	assert_equal "$status" 66
	grep -q "Is a directory" "$ERR"
}

@test "output errors exit 74: a full disk, an unusable temporary directory" {
	[[ -w /dev/full ]] || skip "no /dev/full"
	local f
	for f in csv geojson gpx svg; do
		status=0
		"$VLSINK_EXPORT" --input="$C/fleet.jsonl" --output-format=$f >/dev/full 2>"$ERR" || status=$?
		[[ $status == 74 ]] || fail "$f: exit $status, expected 74"
		grep -q "^vlsink-export: standard output: No space left on device$" "$ERR"
	done

	# More than a block (32 positions) of one vehicle goes to the temporary
	# file.
	gen_lines 200 >"$T/in"
	TMPDIR=$T/nonexistent ex --input="$T/in"
	assert_equal "$status" 74
	grep -q "^vlsink-export: temporary file: No such file or directory$" "$ERR"
	[[ ! -s $OUT ]]
}

@test "grouped formats: more vehicles than --max-vehicles is refused, nothing written, exit 65" {
	ex --input="$C/fleet.jsonl" --max-vehicles=2
	assert_equal "$status" 65
	[[ ! -s $OUT ]]
	grep -q "more than 2 vehicles (--max-vehicles); nothing written" "$ERR"
	ex --input="$C/fleet.jsonl" --max-vehicles=3
	assert_equal "$status" 0
	# CSV groups nothing, so the cap does not apply.
	ex --input="$C/fleet.jsonl" --max-vehicles=1 --output-format=csv
	assert_equal "$status" 0
	assert_equal "$(wc -l <"$OUT")" 10
}

@test "grouped output reads the temporary file back in order across blocks" {
	need jq jq
	gen_lines 10000 >"$T/in"
	TMPDIR=$T ex --input="$T/in"
	assert_equal "$status" 0
	# 3334, 3333 and 3333 positions, in input order: the times of each
	# vehicle step by 3 seconds.
	run jq -c '[.features[] | [.properties.vehicle, (.geometry.coordinates | length),
		([.properties.times | map(.[11:19] | split(":") | map(tonumber) | .[0] * 3600 + .[1] * 60 + .[2])
		  | . as $t | range(1; length) | $t[.] - $t[. - 1]] | unique)]]' "$OUT"
	assert_output '[["v-0",3334,[3]],["v-1",3333,[3]],["v-2",3333,[3]]]'
	# The same positions, to the digit, as CSV gives for v-1 (the second
	# feature, on the third line).
	sed -n 3p "$OUT" | grep -o '\[[0-9.-]*,[0-9.-]*\]' >"$T/geojson.v-1"
	ex --input="$T/in" --output-format=csv
	awk -F, '$1 == "v-1" { print "[" $4 "," $3 "]" }' "$OUT" >"$T/csv.v-1"
	assert_equal "$(wc -l <"$T/csv.v-1")" 3333
	diff "$T/csv.v-1" "$T/geojson.v-1"
	# No temporary file is left behind.
	[[ -z $(find "$T" -maxdepth 1 -name 'vlsink-export.*') ]]
}

@test "memory does not grow with the input: peak RSS of 10k and 1M records within 1 MiB (csv, geojson)" {
	[[ -x /usr/bin/time ]] || skip "GNU time not installed (Debian package time)"
	gen_lines 10000 >"$T/small"
	gen_lines 1000000 >"$T/big"
	local f small big
	for f in csv geojson; do
		TMPDIR=$T /usr/bin/time -f %M -o "$T/rss.small" "$VLSINK_EXPORT" --input="$T/small" --output-format=$f >/dev/null
		TMPDIR=$T /usr/bin/time -f %M -o "$T/rss.big" "$VLSINK_EXPORT" --input="$T/big" --output-format=$f >"$T/big.out"
		small=$(tail -n 1 "$T/rss.small") big=$(tail -n 1 "$T/rss.big")
		echo "$f: $small KiB for 10k records, $big KiB for 1M" >&3
		((big - small <= 1024)) || fail "$f: peak RSS grew from $small KiB to $big KiB"
	done
	# The 1M-record run did write every record (the last run was geojson).
	run jq '[.features[].geometry.coordinates | length] | add' "$T/big.out"
	assert_output 1000000
}

@test "end to end: vlsink's own stdout into vlsink-export" {
	need jq jq
	[[ -x $VLSINK ]] || skip "vlsink binary not found: $VLSINK"
	local ex_dir=$BATS_TEST_DIRNAME/../examples
	{
		"$VLSINK" --vehicle=bus-42 <"$ex_dir/bus-42.nmea"
		"$VLSINK" <"$ex_dir/van-3.csv"
	} 2>/dev/null >"$T/in"
	ex --input=- <"$T/in"
	assert_equal "$status" 0
	[[ ! -s $ERR ]] || fail "$(cat "$ERR")"
	run jq -c '[.features[] | .properties.vehicle]' "$OUT"
	assert_output '["bus-42","van-3"]'
	assert_equal "$(jq '[.features[].geometry.coordinates | length] | add' "$OUT")" "$(wc -l <"$T/in")"
}

@test "one point per vehicle and instant: later points of the same time are dropped and counted, the first kept" {
	need jq jq
	local ex_dir=$BATS_TEST_DIRNAME/../examples
	# One record per sentence: the RMC and the GGA of each fix share a time.
	"$VLSINK" --merge=none --vehicle=bus-42 <"$ex_dir/bus-42.nmea" 2>/dev/null >"$T/in"
	local recs fixes
	recs=$(wc -l <"$T/in")
	fixes=$(jq -r .time "$T/in" | sort -u | wc -l)
	((recs > fixes))
	for fmt in gpx csv geojson; do
		ex --input="$T/in" --output-format=$fmt
		assert_equal "$status" 0
		grep -q "^vlsink-export: $((recs - fixes)) points dropped: same vehicle, same time" "$ERR"
	done
	# The CSV (last but one run) has each time once, and the first of each
	# time is the RMC's (it has a speed).
	ex --input="$T/in" --output-format=csv
	assert_equal "$(tail -n +2 "$OUT" | cut -d, -f2 | sort | uniq -d)" ""
	assert_equal "$(($(wc -l <"$OUT") - 1))" "$fixes"
	run awk -F, 'NR > 1 && $5 == "" { n++ } END { print n + 0 }' "$OUT"
	assert_output 0
	# Merged records need no dropping.
	"$VLSINK" --vehicle=bus-42 <"$ex_dir/bus-42.nmea" 2>/dev/null >"$T/merged"
	ex --input="$T/merged" --output-format=gpx
	assert_equal "$status" 0
	[[ ! -s $ERR ]] || fail "$(cat "$ERR")"
	assert_equal "$(grep -c '<trkpt' "$OUT")" "$fixes"
}
