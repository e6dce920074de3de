#!/usr/bin/env bats
# shellcheck disable=SC2016
#
# Scale-out beyond one machine with existing tools (README "Scale-out"):
# every ingest host runs vlsink.socket and forwards its journal with
# systemd-journal-upload to a central systemd-journal-remote; vlsink-export
# --directory reads the central journal back.
#
# Both ends run in one throwaway systemd container (tests/lib/container.bash;
# never the host's systemd or journal), talking over the container's own
# loopback. The build is installed with `make install` (e2e_install) and the
# configuration of examples/scale-out/ is installed as the README says; the
# test adds only two drop-ins of its own, sorted after the examples:
#   /etc/systemd/journal-upload.conf.d/90-test.conf   URL= on loopback
#   /etc/systemd/system/systemd-journal-upload.service.d/90-test.conf
#                                                     RestartSec=200ms (10s)
# HTTP by default (50-vlsink-http.conf on the central side); the HTTPS tests
# switch to the documented HTTPS setup with certificates from
# examples/scale-out/make-certs.sh (use_https) and back (use_http).
#
# Runs once, against the normal build (like tests/systemd.bats); the
# sanitizer pass of `make check` skips it.

load 'lib/common'
load 'lib/container'
load 'lib/e2e'

SO=$BATS_TEST_DIRNAME/../examples/scale-out
REMOTE_DIR=/var/log/journal/remote
EXPORT=/usr/local/bin/vlsink-export
SYSD=/etc/systemd/system
UPLOAD_CONF=/etc/systemd/journal-upload.conf.d
PKI=/root/pki

# --- configuration, as documented ----------------------------------------------

# example SRC DEST: installs examples/scale-out/SRC as DEST in the container
example() {
	ct_copy_in "$SO/$1" "$2"
}

# upload_url URL: the test's URL= override (the example says central.example.net)
upload_url() {
	printf '[Upload]\nURL=%s\n' "$1" | ct_write "$UPLOAD_CONF/90-test.conf"
}

_setup_file_impl() {
	e2e_install || return 1
	# central host
	example central/journal-remote.conf.d/50-vlsink.conf \
		/etc/systemd/journal-remote.conf.d/50-vlsink.conf || return 1
	example central/systemd-journal-remote.socket.d/50-vlsink.conf \
		"$SYSD/systemd-journal-remote.socket.d/50-vlsink.conf" || return 1
	example central/systemd-journal-remote.service.d/50-vlsink-http.conf \
		"$SYSD/systemd-journal-remote.service.d/50-vlsink-http.conf" || return 1
	# ingest host
	example ingest/journal-upload.conf.d/50-vlsink.conf "$UPLOAD_CONF/50-vlsink.conf" || return 1
	example ingest/systemd-journal-upload.service.d/50-vlsink-retry.conf \
		"$SYSD/systemd-journal-upload.service.d/50-vlsink-retry.conf" || return 1
	upload_url http://127.0.0.1:19532 || return 1
	printf '[Service]\nRestartSec=200ms\n' |
		ct_write "$SYSD/systemd-journal-upload.service.d/90-test.conf" || return 1
	ct_exec systemctl daemon-reload || return 1
	ct_exec systemctl enable --quiet --now vlsink.socket systemd-journal-remote.socket || return 1
	ct_exec systemctl enable --quiet --now systemd-journal-upload.service || return 1
	printf 'http\n' | ct_write /run/e2e-scaleout-mode || return 1
	# the pipeline is up once the boot's journal has reached the central host
	ct_wait_until "$((30 * E2E_SCALE))" ct_exec test -s "$REMOTE_DIR/remote-127.0.0.1.journal" || {
		echo "setup: nothing reached $REMOTE_DIR in 30 s" >&2
		services_log >&2
		return 1
	}
}

setup_file() {
	if [[ ${VLSINK_SANITIZED:-0} == 1 ]]; then
		export CT_SKIP_REASON="installs and tests the normal build (make install); not repeated in the sanitizer pass"
		return 0
	fi
	local b
	for b in systemd-journal-remote systemd-journal-upload; do
		if [[ ! -x /lib/systemd/$b ]]; then
			export CT_SKIP_REASON="needs /lib/systemd/$b (Debian package systemd-journal-remote)"
			return 0
		fi
	done
	e2e_setup_file || return 1
	[ -n "$CT_SKIP_REASON" ] && return 0
	_setup_file_impl || {
		ct_stop
		return 1
	}
}

setup() {
	e2e_setup
	T=$BATS_TEST_TMPDIR
}

teardown() {
	[ -n "${CT_SKIP_REASON:-}" ] && return 0
	# a test that failed half-way leaves both ends running for the next one
	ct_exec systemctl start systemd-journal-remote.socket || true
	if ! ct_exec systemctl is-active --quiet systemd-journal-upload.service; then
		ct_exec systemctl reset-failed systemd-journal-upload.service
		ct_exec systemctl start systemd-journal-upload.service || true
	fi
}

teardown_file() {
	e2e_teardown_file
}

# --- helpers -------------------------------------------------------------------

# central_json [JOURNALCTL-MATCHES...]: vlsink's entries in the central
# journal, as JSON lines
central_json() {
	ct_exec journalctl --directory="$REMOTE_DIR" --no-pager -q -o json -t vlsink "$@"
}

# central_check VEHICLE... -- CHECK-ARGS...: e2e_client.py check --journal
# over the central journal's entries of the VEHICLEs
central_check() {
	local -a m=()
	while (($#)) && [[ $1 != -- ]]; do
		m+=("VEHICLE_ID=$1")
		shift
	done
	shift
	ct_sh 'n=$1 c=$2 d=$3; shift 3
		journalctl --directory="$d" --no-pager -q -o json -t vlsink "${@:1:n}" 2>/dev/null |
			python3 "$c" check --journal "${@:n+1}"' \
		"${#m[@]}" "$E2E_CLIENT" "$REMOTE_DIR" "${m[@]}" "$@"
}

_central_checked() { central_check "$@" >/dev/null; }

# wait_central SECS VEHICLE... -- CHECK-ARGS...: waits until the central
# journal passes the check, then prints the report and returns its status
# (on failure with the last words of both ends)
wait_central() {
	local secs=$1
	shift
	ct_wait_until "$((secs * E2E_SCALE))" _central_checked "$@"
	central_check "$@" || {
		services_log
		return 1
	}
}

# services_log: the last lines the uploader, the central service and PID 1
# logged about them
services_log() {
	echo "--- journal of systemd-journal-upload/-remote (last 25 lines):"
	ct_exec journalctl --no-pager -q -o short-precise -n 25 -u systemd-journal-upload.service \
		-u systemd-journal-remote.service -u systemd-journal-remote.socket
	echo "--- upload state: $(ct_exec cat /var/lib/private/systemd/journal-upload/state 2>&1 | tail -n 1)"
}

# central_count VEHICLE: the central journal's records of VEHICLE
central_count() {
	ct_sh 'journalctl --directory="$1" --no-pager -q -o json -t vlsink VEHICLE_ID="$2" 2>/dev/null |
		jq -c "select(.SOURCE_FORMAT)" | wc -l' "$REMOTE_DIR" "$1"
}

# gen_send FORMAT:VEHICLE:COUNT...: generates each stream in the container
# ($E2E_TMP/VEHICLE.FORMAT) and sends them all at once to vlsink.socket
# (127.0.0.1:10110, one connection each); sets EXPECT (check arguments)
gen_send() {
	local spec fmt v n
	local -a files=()
	EXPECT=()
	for spec in "$@"; do
		IFS=: read -r fmt v n <<<"$spec"
		e2e_gen "$fmt" "$v" "$n" 0 "$E2E_TMP/$v.$fmt" || return 1
		files+=("$E2E_TMP/$v.$fmt")
		EXPECT+=(--expect "$v:0:$n")
	done
	e2e_client send "${files[@]}" >/dev/null
}

upload_restarts() {
	ct_exec systemctl show -P NRestarts systemd-journal-upload.service
}

# upload_logged TEXT: the uploader has logged TEXT since the last `mark`
upload_logged() {
	ct_sh 'journalctl --no-pager -q -o cat -u systemd-journal-upload.service --since="$1" |
		grep -qF -- "$2"' "$MARK" "$1"
}

mark() {
	MARK=$(ct_exec date '+%Y-%m-%d %H:%M:%S.%N' | cut -c1-26)
	sleep 0.01
}

# mode: http or https, what the two ends are configured for now
mode() { ct_exec cat /run/e2e-scaleout-mode; }

# use_https: the documented HTTPS setup. Certificates from make-certs.sh
# (central "localhost", ingest host "ingest-a", both from the CA in $PKI),
# installed where the example configuration expects them; the central host
# drops the HTTP drop-in and hands its key over with LoadCredential=, the
# uploader too; the uploader then uses https://localhost:19532.
use_https() {
	[[ $(mode) == https ]] && return 0
	if ! ct_exec test -e "$PKI/ca.pem"; then
		example make-certs.sh /root/make-certs.sh || return 1
		ct_sh 'sh /root/make-certs.sh "$1" localhost ingest-a >/dev/null &&
			cd "$1" &&
			install -m 0600 localhost.key /etc/ssl/private/journal-remote.pem &&
			install -m 0644 localhost.pem /etc/ssl/certs/journal-remote.pem &&
			install -D -m 0644 ca.pem /etc/ssl/ca/trusted.pem &&
			install -m 0600 ingest-a.key /etc/ssl/private/journal-upload.pem &&
			install -m 0644 ingest-a.pem /etc/ssl/certs/journal-upload.pem' "$PKI" || return 1
	fi
	ct_exec systemctl stop systemd-journal-upload.service systemd-journal-remote.socket \
		systemd-journal-remote.service || return 1
	ct_exec rm -f "$SYSD/systemd-journal-remote.service.d/50-vlsink-http.conf"
	example central/systemd-journal-remote.service.d/50-vlsink-credentials.conf \
		"$SYSD/systemd-journal-remote.service.d/50-vlsink-credentials.conf" || return 1
	example ingest/systemd-journal-upload.service.d/50-vlsink-credentials.conf \
		"$SYSD/systemd-journal-upload.service.d/50-vlsink-credentials.conf" || return 1
	upload_url https://localhost:19532 || return 1
	ct_exec systemctl daemon-reload || return 1
	ct_exec systemctl start systemd-journal-remote.socket systemd-journal-upload.service || return 1
	printf 'https\n' | ct_write /run/e2e-scaleout-mode
}

use_http() {
	[[ $(mode) == http ]] && return 0
	ct_exec systemctl stop systemd-journal-upload.service systemd-journal-remote.socket \
		systemd-journal-remote.service || return 1
	ct_exec rm -f "$SYSD/systemd-journal-remote.service.d/50-vlsink-credentials.conf" \
		"$SYSD/systemd-journal-upload.service.d/50-vlsink-credentials.conf" \
		"$UPLOAD_CONF/91-test.conf"
	example central/systemd-journal-remote.service.d/50-vlsink-http.conf \
		"$SYSD/systemd-journal-remote.service.d/50-vlsink-http.conf" || return 1
	upload_url http://127.0.0.1:19532 || return 1
	ct_exec systemctl daemon-reload || return 1
	ct_exec systemctl start systemd-journal-remote.socket systemd-journal-upload.service || return 1
	printf 'http\n' | ct_write /run/e2e-scaleout-mode
}

# --- tests ---------------------------------------------------------------------

@test "the example configuration loads as installed: drop-ins in effect, no parser warning" {
	use_http
	run ct_exec systemctl show -P DropInPaths systemd-journal-remote.socket
	assert_output --partial systemd-journal-remote.socket.d/50-vlsink.conf
	run ct_exec systemctl show -P DropInPaths systemd-journal-remote.service
	assert_output --partial systemd-journal-remote.service.d/50-vlsink-http.conf
	run ct_exec systemctl show -P DropInPaths systemd-journal-upload.service
	assert_output --partial systemd-journal-upload.service.d/50-vlsink-retry.conf
	# the socket drop-in: one listener on 19532, keepalive on
	run ct_exec systemctl show systemd-journal-remote.socket -p Listen -p KeepAlive -p KeepAliveTimeUSec
	assert_line 'Listen=[::]:19532 (Stream)'
	assert_line 'KeepAlive=yes'
	assert_line 'KeepAliveTimeUSec=2min'
	run ct_exec systemctl show systemd-journal-upload.service -p Restart -p StartLimitIntervalUSec
	assert_line 'Restart=always'
	assert_line 'StartLimitIntervalUSec=0'
	run ct_exec systemd-analyze verify systemd-journal-remote.socket systemd-journal-remote.service \
		systemd-journal-upload.service
	assert_success
	# both programs have read their configuration files (the remote service
	# starts on the first upload) and complained about nothing in them
	ct_wait_until 10 ct_exec systemctl is-active --quiet systemd-journal-remote.service ||
		fail "systemd-journal-remote.service is not running: $(services_log)"
	run ct_exec journalctl --no-pager -q -o cat -u systemd-journal-remote.service \
		-u systemd-journal-upload.service
	refute_output --partial 'Unknown'
	refute_output --partial 'Failed to parse'
	refute_output --partial 'ignoring'
	run ct_exec systemctl is-active systemd-journal-upload.service
	assert_output active
}

@test "3 vehicles sent to vlsink.socket reach the central journal once each; vlsink-export --directory lists exactly their positions" {
	use_http
	local bus van truck
	bus=$(e2e_vid bus) van=$(e2e_vid van) truck=$(e2e_vid truck)
	# sent while the uploader is stopped: in the local journal only, which
	# shows that --directory reads the central journal and nothing else
	ct_exec systemctl stop systemd-journal-upload.service
	gen_send "nmea:$bus:40" "csv:$van:25" "tpv:$truck:15"
	e2e_wait_records 10 15 "$truck" || fail "records did not reach the local journal"
	run ct_exec "$EXPORT" --vehicle="$truck" --output-format=csv
	assert_line -n 15 --partial "$truck,"
	run ct_exec "$EXPORT" --directory="$REMOTE_DIR" --vehicle="$bus" --vehicle="$van" \
		--vehicle="$truck" --output-format=csv
	assert_output vehicle,time,lat,lon,speed,course,alt
	# started again, the uploader resumes after its saved cursor (--save-state):
	# every record once, nothing else for these vehicles
	ct_exec systemctl start systemd-journal-upload.service
	run wait_central 30 "$bus" "$van" "$truck" -- "${EXPECT[@]}" --only-expected
	echo "$output"
	assert_success
	# SplitMode=host over HTTP: one file, named after the uploader's address
	ct_exec test -s "$REMOTE_DIR/remote-127.0.0.1.journal"

	# what vlsink makes of the same streams, straight into the exporter:
	# the positions the central journal must give back
	ct_sh 'for f in "$@"; do /usr/local/bin/vlsink --format=json <"$f" 2>/dev/null; done |
		'"$EXPORT"' --input=- --output-format=csv' \
		"$E2E_TMP/$bus.nmea" "$E2E_TMP/$van.csv" "$E2E_TMP/$truck.tpv" >"$T/expected.csv"
	[ "$(head -n1 "$T/expected.csv")" = vehicle,time,lat,lon,speed,course,alt ] ||
		fail "unexpected header: $(head -n1 "$T/expected.csv")"
	[ "$(sed 1d "$T/expected.csv" | wc -l)" -eq 80 ] || fail "expected 80 rows: $(cat "$T/expected.csv")"

	# the whole central journal, these vehicles' rows
	run ct_exec "$EXPORT" --directory="$REMOTE_DIR" --output-format=csv
	assert_success
	assert_line -n 0 vehicle,time,lat,lon,speed,course,alt
	grep -E "^($bus|$van|$truck)," <<<"$output" | sort >"$T/got.csv"
	sed 1d "$T/expected.csv" | sort >"$T/want.csv"
	diff "$T/want.csv" "$T/got.csv" || fail "central export differs from the sent positions"
	for v in "$bus:40" "$van:25" "$truck:15"; do
		[ "$(grep -c "^${v%%:*}," "$T/got.csv")" -eq "${v##*:}" ] || fail "not ${v##*:} rows for ${v%%:*}"
	done

	# --vehicle on the central journal: that vehicle only, all of it
	run ct_exec "$EXPORT" --directory="$REMOTE_DIR" --vehicle="$van" --output-format=csv
	assert_success
	assert_line -n 0 vehicle,time,lat,lon,speed,course,alt
	diff <(grep "^$van," "$T/want.csv") <(sed 1d <<<"$output" | sort) ||
		fail "--vehicle=$van: $output"
	# and a grouped format from the same place: one GeoJSON feature per vehicle
	run ct_exec "$EXPORT" --directory="$REMOTE_DIR" --vehicle="$bus" --vehicle="$truck"
	assert_success
	run jq -c '[.features[] | [.properties.vehicle, (.geometry.coordinates | length)]] | sort' <<<"$output"
	assert_output "[[\"$bus\",40],[\"$truck\",15]]"
}

@test "every field survives the trip: central entries equal the ingest host's, cursor aside" {
	use_http
	local v
	v=$(e2e_vid fields)
	{
		printf '%s\r\n' "$(nmea "PGID,$v")" "$(nmea "$RMC_BODY")" "$(nmea "$GGA_BODY")"
		printf '%s\r\n' 'not a position' "$(nmea "$GSV_BODY")"
	} | ct_write "$E2E_TMP/fields.nmea"
	run e2e_client send "$E2E_TMP/fields.nmea"
	assert_success
	# 2 records, 1 reject, 1 summary
	_both_have_4() {
		(($(e2e_journal VEHICLE_ID="$v" | wc -l) == 4)) &&
			(($(central_json VEHICLE_ID="$v" | wc -l) == 4))
	}
	ct_wait_until "$((20 * E2E_SCALE))" _both_have_4 ||
		fail "local $(e2e_journal VEHICLE_ID="$v" | wc -l), central $(central_json VEHICLE_ID="$v" | wc -l) entries"
	e2e_journal VEHICLE_ID="$v" | jq -c -S 'del(.__CURSOR)' >"$T/local"
	central_json VEHICLE_ID="$v" | jq -c -S 'del(.__CURSOR)' >"$T/central"
	diff "$T/local" "$T/central" || fail "entries changed on the way"
	# the record fields, and the ingest host's own trusted fields
	run jq -r 'select(.SOURCE_FORMAT == "nmea-rmc") | [.VEHICLE_ID, .FIX_TIME, .LATITUDE, .LONGITUDE,
		.SPEED_MPS, .COURSE_DEG, .REMOTE_ADDR, .PRIORITY, (._SYSTEMD_UNIT | startswith("vlsink@")),
		(._MACHINE_ID | length), ._HOSTNAME != null] | join(" ")' "$T/central"
	assert_output "$v 2024-03-23T12:35:19.000Z 48.1173000 11.5166667 11.524 84.40 127.0.0.1 6 true 32 true"
	run jq -r 'select(.SOURCE_FORMAT == "nmea-gga") | [.ALTITUDE_M, .RAW_LINE] | join(" ")' "$T/central"
	assert_output "545.40 $(nmea "$GGA_BODY")"
	run jq -r 'select(.REJECT_REASON) | [.PRIORITY, .REJECT_REASON, .LINE_NUMBER] | join(" ")' "$T/central"
	assert_output "4 syntax 4"
	run jq -r 'select(.END_REASON) | [.LINES_ACCEPTED, .LINES_REJECTED] | join(" ")' "$T/central"
	assert_output "2 1"
	[ "$(ct_exec cat /etc/machine-id)" = "$(jq -r ._MACHINE_ID "$T/central" | sort -u)" ] ||
		fail "_MACHINE_ID is not the ingest host's"
}

@test "central host down: records wait in the ingest journal and arrive once each when it is back (50-vlsink-retry.conf)" {
	use_http
	local v n0
	v=$(e2e_vid outage)
	ct_exec systemctl stop systemd-journal-remote.socket systemd-journal-remote.service
	n0=$(upload_restarts)
	gen_send "csv:$v:30"
	e2e_wait_records 10 30 "$v" || fail "records did not reach the local journal"
	# the uploader fails on every attempt and is restarted, not given up:
	# 8 restarts in under 10 s would trip the default start limit (5 in 10 s)
	_retried() { (($(upload_restarts) >= n0 + 8)); }
	ct_wait_until "$((15 * E2E_SCALE))" _retried ||
		fail "uploader not restarted: NRestarts $(upload_restarts) (was $n0)"
	run ct_exec systemctl show -P Result systemd-journal-upload.service
	refute_output start-limit-hit
	[ "$(central_count "$v")" -eq 0 ] || fail "records reached a stopped central host"
	ct_exec systemctl start systemd-journal-remote.socket
	run wait_central 30 "$v" -- "${EXPECT[@]}" --only-expected
	echo "$output"
	assert_success
	run ct_exec systemctl is-active systemd-journal-upload.service
	assert_output active
}

@test "HTTPS with make-certs.sh certificates and LoadCredential= keys: records arrive; a wrong CA on the uploader stops them" {
	command -v openssl >/dev/null || skip "needs openssl (Debian package openssl)"
	use_https
	run ct_exec systemctl show -P ExecStart systemd-journal-remote.service
	assert_output --partial 'argv[]=/lib/systemd/systemd-journal-remote --listen-https=-3'
	local v w
	v=$(e2e_vid tls) w=$(e2e_vid tls-wrong-ca)
	gen_send "nmea:$v:20"
	run wait_central 30 "$v" -- "${EXPECT[@]}" --only-expected
	echo "$output"
	assert_success
	# the keys reached the services as credentials, not as readable files
	ct_exec test -s /run/credentials/systemd-journal-upload.service/journal-upload.key
	ct_exec test -s /run/credentials/systemd-journal-remote.service/journal-remote.key
	run ct_exec stat -c %a /etc/ssl/private/journal-upload.pem /etc/ssl/private/journal-remote.pem
	assert_output $'600\n600'
	# a plain-HTTP client gets nowhere
	run ct_exec curl -sS -m 5 -o /dev/null -w '%{http_code}' \
		-H 'Content-Type: application/vnd.fdo.journal' --data-binary x http://127.0.0.1:19532/upload
	refute_output 202

	# the uploader checks the central host's certificate: with another CA
	# it refuses to send, and the records wait in the local journal
	ct_sh 'sh /root/make-certs.sh /root/pki-other localhost other >/dev/null &&
		install -m 0644 /root/pki-other/ca.pem /etc/ssl/ca/other.pem'
	printf '[Upload]\nTrustedCertificateFile=/etc/ssl/ca/other.pem\n' | ct_write "$UPLOAD_CONF/91-test.conf"
	mark
	ct_exec systemctl restart systemd-journal-upload.service
	gen_send "csv:$w:10"
	ct_wait_until "$((10 * E2E_SCALE))" upload_logged 'SSL certificate problem' ||
		fail "no certificate error: $(ct_exec journalctl --no-pager -q -o cat -u systemd-journal-upload.service | tail -n 5)"
	e2e_wait_records 10 10 "$w"
	sleep 0.5
	[ "$(central_count "$w")" -eq 0 ] || fail "uploaded despite an untrusted server certificate"
	# the right CA again: they follow
	ct_exec rm -f "$UPLOAD_CONF/91-test.conf"
	ct_exec systemctl restart systemd-journal-upload.service
	run wait_central 30 "$w" -- "${EXPECT[@]}" --only-expected
	echo "$output"
	assert_success
}

@test "documented limit: Debian 12's systemd-journal-remote checks no client certificate, anyone who reaches the port can add positions" {
	# Debian builds journal-remote without GnuTLS: TrustedCertificateFile=
	# is read but client certificates are not checked ("Certificate
	# checking disabled."). The README says to restrict port 19532 to the
	# ingest hosts for that reason. Should a later build check them, this
	# test fails and the README needs updating.
	command -v openssl >/dev/null || skip "needs openssl (Debian package openssl)"
	command -v curl >/dev/null || skip "needs curl (Debian package curl)"
	use_https
	local v
	v=$(e2e_vid forged)
	# a complete vlsink record in the journal export format, POSTed by curl
	# with no client certificate at all (but checking the server's)
	printf '%s\n' "__REALTIME_TIMESTAMP=1795600000000000" "SYSLOG_IDENTIFIER=vlsink" \
		"PRIORITY=6" "MESSAGE=$v at 1.0000000,2.0000000" "VEHICLE_ID=$v" \
		"FIX_TIME=2026-11-25T00:00:00.000Z" "LATITUDE=1.0000000" "LONGITUDE=2.0000000" \
		"SOURCE_FORMAT=csv" "" | ct_write "$E2E_TMP/forged.export"
	run ct_exec curl -sS -m 10 --cacert "$PKI/ca.pem" -H 'Content-Type: application/vnd.fdo.journal' \
		--data-binary "@$E2E_TMP/forged.export" https://localhost:19532/upload
	assert_success
	_forged_there() { (($(central_count "$v") == 1)); }
	ct_wait_until "$((10 * E2E_SCALE))" _forged_there || fail "the forged entry was not stored"
	run ct_exec "$EXPORT" --directory="$REMOTE_DIR" --vehicle="$v" --output-format=csv
	assert_success
	assert_output "vehicle,time,lat,lon,speed,course,alt
$v,2026-11-25T00:00:00.000Z,1.0000000,2.0000000,,,"
	# it exists in the central journal only: no ingest host ever saw it
	run ct_exec "$EXPORT" --vehicle="$v" --output-format=csv
	assert_output vehicle,time,lat,lon,speed,course,alt
	run ct_exec journalctl --no-pager -q -o cat -u systemd-journal-remote.service
	assert_output --partial 'Certificate checking disabled.'
}
