#!/usr/bin/env bats
# shellcheck disable=SC2016
#
# The tracker protocols' own ports under a real systemd (tests/lib/container.bash:
# a throwaway systemd in systemd-nspawn over an overlay of /, never the
# machine's own): the build installed with `make install`, the four
# generated sockets enabled as vlsink(1) says (TRACKER PORTS), one device
# per protocol sending real frames from inside the container's network
# with vlsink-replay, and its records read back with the documented
# recipe, journalctl -t vlsink _UID="$(id -u vlsink-conn)" VEHICLE_ID=...
#
# Runs once, against the normal build; the sanitizer pass skips it (as
# tests/systemd.bats).

load 'lib/common'
load 'lib/container'
load 'lib/e2e'

PORTS=(h02:5013 gps103:5001 gl200:5004 osmand:5055)
# vlsink-replay from the build, copied in (it is not installed).
REPLAY_IN=/usr/local/libexec/vlsink-e2e/vlsink-replay

enable_ports() {
	ct_exec systemctl enable --now vlsink-h02.socket vlsink-gps103.socket vlsink-gl200.socket \
		vlsink-osmand.socket || return 1
	ct_copy_in "$E2E_TOP/build/std/vlsink-replay" "$REPLAY_IN"
}

setup_file() {
	[[ -x $BATS_TEST_DIRNAME/../build/std/vlsink-replay ]] || {
		echo "build/std/vlsink-replay missing: make all" >&2
		return 1
	}
	e2e_setup_file_installed enable_ports
}

setup() {
	e2e_setup
}

teardown() {
	[ -n "${CT_SKIP_REASON:-}" ] && return 0
	e2e_stop_bg
}

teardown_file() {
	e2e_teardown_file
}

# records ID: the device's records, by the documented recipe, one JSON
# object a line.
records() {
	ct_sh 'journalctl --no-pager -q -t vlsink _UID="$(id -u vlsink-conn)" VEHICLE_ID="$1" -o json |
		jq -c "select(.LATITUDE)"' "$1"
}

_have_records() { # N ID
	(($(records "$2" | wc -l) >= $1))
}

# send TAG PROTOCOL PORT FRAMES...: one connection of vlsink-replay inside
# the container, the frames one a line; its replies in $E2E_TMP/replies.TAG.
send() {
	local tag=$1 p=$2 port=$3
	shift 3
	printf '%s\n' "$@" | ct_write "$E2E_TMP/frames.$tag"
	ct_sh '"$1" --protocol="$2" --fast --close-wait=2 --replies "127.0.0.1:$3" "$4" >"$5"' \
		"$REPLAY_IN" "$p" "$port" "$E2E_TMP/frames.$tag" "$E2E_TMP/replies.$tag"
}

# The instance part needs --protocol (the frame branch, issue 18).
@test "the four ports listen with vlsink.socket's limits; an instance has its own name, slice and protocol, and vlsink.socket's user" {
	local pair p port prop
	for pair in "${PORTS[@]}"; do
		p=${pair%:*} port=${pair#*:}
		ct_sh '[ -n "$(ss -Hltn "sport = :$1")" ]' "$port" || fail "nothing listens on $port ($p)"
		for prop in MaxConnections MaxConnectionsPerSource Backlog KeepAlive TriggerLimitBurst; do
			assert_equal "$(ct_exec systemctl show -P "$prop" "vlsink-$p.socket")" \
				"$(ct_exec systemctl show -P "$prop" vlsink.socket)"
		done
		assert_equal "$(ct_exec systemctl show -P FileDescriptorName "vlsink-$p.socket")" "$p"
		# systemd-analyze verify, with the man page of Documentation=
		run ct_exec systemd-analyze verify "/usr/local/lib/systemd/system/vlsink-$p.socket" \
			"/usr/local/lib/systemd/system/vlsink-$p@.service"
		[ "$status" -eq 0 ] && [ -z "$output" ] || fail "verify vlsink-$p: $output"
	done
	# One connection held open on the H02 port.
	e2e_bg hold 'exec python3 -c "import socket, time; s = socket.create_connection((\"127.0.0.1\", 5013)); time.sleep(60)"'
	_one_instance() { [[ $(ct_exec systemctl list-units --plain --no-legend --state=running 'vlsink-h02@*') == vlsink-h02@* ]]; }
	ct_wait_until 10 _one_instance || fail "no vlsink-h02@ instance: $(ct_exec systemctl list-units --all 'vlsink*')"
	local unit pid
	unit=$(ct_exec systemctl list-units --plain --no-legend --state=running 'vlsink-h02@*' | awk '{ print $1 }')
	[[ $unit == vlsink-h02@*-127.0.0.1:5013-127.0.0.1:*.service ]] || fail "instance named $unit"
	assert_equal "$(ct_exec systemctl show -P Slice "$unit")" 'system-vlsink\x2dh02.slice'
	pid=$(ct_exec systemctl show -P MainPID "$unit")
	# The protocol reaches the instance as an option: systemd passes an
	# instance that reads its connection on standard input no LISTEN_FDS
	# and no LISTEN_FDNAMES, whatever the socket's FileDescriptorName= says.
	run ct_sh 'tr "\0" " " <"/proc/$1/cmdline"' "$pid"
	assert_output '/usr/local/bin/vlsink --protocol=h02 --sink=journal --log=journal '
	run ct_sh 'tr "\0" "\n" <"/proc/$1/environ" | grep "^LISTEN_" || true' "$pid"
	assert_output ''
	assert_equal "$(ct_exec stat -c %U "/proc/$pid")" vlsink-conn
	ct_exec systemctl stop e2e-hold.service
}

# Needs the parsers and the frame branch (--protocol): issue 18.
@test "one device per protocol on its Traccar port: records by the journalctl recipe, with the protocol's fields; vlsink-export trusts their units" {
	local h02=355000000000001 gl200=862170010196747 osm=358000000000004 gps103=359586015829802
	send h02 h02 5013 "*HQ,$h02,V1,083000,A,5231.2005,N,01324.2972,E,12.50,90,011226,FFFFFBFF#"
	send gps103 gps103 5001 'imei:359586015829802,tracker,0809231929,13554900601,F,112909.397,A,2234.4669,N,11354.3287,E,0.11,;'
	send gl200 gl200 5004 \
		"+RESP:GTFRI,060228,$gl200,,0,0,1,1,4.3,92,70.0,121.354335,31.222073,20090214013254,0460,0000,18d8,6141,00,2000.0,20090214093254,11F0\$" \
		"+BUFF:GTFRI,060228,$gl200,,0,0,1,1,4.3,92,70.0,121.354400,31.222100,20090214013154,0460,0000,18d8,6141,00,2000.0,20090214093254,11F1\$" \
		"+ACK:GTHBD,060228,$gl200,,20090214093254,11F2\$"
	send osmand osmand 5055 "/?id=$osm&timestamp=1796113800&lat=52.520008&lon=13.404954&speed=10&bearing=90&altitude=34&accuracy=12.46"

	local id
	for id in $h02 $gps103 $osm; do
		ct_wait_until $((15 * E2E_SCALE)) _have_records 1 "$id" || fail "no record of $id: $(ct_exec journalctl -q -t vlsink -n 20)"
	done
	ct_wait_until $((15 * E2E_SCALE)) _have_records 2 "$gl200" || fail "not two records of $gl200"

	run records $h02
	assert_equal "${#lines[@]}" 1
	jq -e '.SOURCE_FORMAT == "h02" and .LATITUDE == "52.5200083" and .LONGITUDE == "13.4049533"
		and (._SYSTEMD_UNIT // "vlsink-h02@" | startswith("vlsink-h02@"))' <<<"$output"
	run records $gps103
	assert_equal "${#lines[@]}" 1
	jq -e '.SOURCE_FORMAT == "gps103" and .LATITUDE == "22.5744483" and .LONGITUDE == "113.9054783"' <<<"$output"
	run records $osm
	assert_equal "${#lines[@]}" 1
	jq -e '.SOURCE_FORMAT == "osmand" and .ACCURACY_M == "12.5" and .LATITUDE == "52.5200080"
		and .FIX_TIME == "2026-12-01T08:30:00.000Z" and (has("ARCHIVE") | not)' <<<"$output"
	run records $gl200
	assert_equal "${#lines[@]}" 2
	run jq -r -s 'map([.SOURCE_FORMAT, .FIX_TIME, (.ARCHIVE // "-")] | join(" ")) | sort | .[]' <<<"$output"
	assert_output 'gl200 2009-02-14T01:31:54.000Z 1
gl200 2009-02-14T01:32:54.000Z -'

	# What each device waits for came back (the replies' bytes are the
	# parsers' business: tests/parsers.bats).
	ct_exec grep -q '< HTTP/1.1 200' "$E2E_TMP/replies.osmand" || fail "no HTTP 200: $(ct_exec cat "$E2E_TMP/replies.osmand")"
	ct_exec grep -q '< +SACK:GTHBD' "$E2E_TMP/replies.gl200" || fail "no heartbeat acknowledgement: $(ct_exec cat "$E2E_TMP/replies.gl200")"

	# vlsink-export, trusting units (the default): the instances of the
	# vlsink-NAME@ templates are vlsink's; accuracy and the archive flag in
	# its CSV.
	run ct_sh '/usr/local/bin/vlsink-export --vehicle="$1" --vehicle="$2" --output-format=csv | cut -d, -f1-4,8,9 | sort' \
		$osm $gl200
	assert_success
	assert_output "$osm,2026-12-01T08:30:00.000Z,52.5200080,13.4049540,12.5,
$gl200,2009-02-14T01:31:54.000Z,31.2221000,121.3544000,,1
$gl200,2009-02-14T01:32:54.000Z,31.2220730,121.3543350,,
vehicle,time,lat,lon,accuracy,archive"
}

# Needs the frame branch: the port's protocol is pinned.
@test "a port reads only its protocol: a GPS103 frame on the H02 port gives no record" {
	local stray=359586015829811 h02=355000000000012
	send stray gps103 5013 "imei:$stray,tracker,0809231929,13554900601,F,112909.397,A,2234.4669,N,11354.3287,E,0.11,;"
	send h02 h02 5013 "*HQ,$h02,V1,083000,A,5231.2005,N,01324.2972,E,12.50,90,011226,FFFFFBFF#"
	ct_wait_until $((15 * E2E_SCALE)) _have_records 1 "$h02" || fail "no record of $h02"
	run records "$stray"
	assert_output ''
}
