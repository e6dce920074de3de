#!/usr/bin/env bats
# shellcheck disable=SC2016
#
# Scale-out beyond one machine with existing tools (docs/scale.md "Scale-out"):
# every ingest host runs vlsink.socket and forwards its journal with
# systemd-journal-upload to a central systemd-journal-remote; vlsink-export
# --directory reads the central journal back.
#
# Both ends run in one throwaway systemd container (tests/lib/container.bash;
# never the host's systemd or journal), talking over the container's own
# loopback, installed and configured as the README says (tests/lib/scaleout.bash).
#
# Runs once, against the normal build (like tests/systemd.bats); the
# sanitizer pass of `make check` skips it.

load 'lib/common'
load 'lib/container'
load 'lib/e2e'
load 'lib/scaleout'

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
	assert_output vehicle,time,lat,lon,speed,course,alt,accuracy,archive
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
	[ "$(head -n1 "$T/expected.csv")" = vehicle,time,lat,lon,speed,course,alt,accuracy,archive ] ||
		fail "unexpected header: $(head -n1 "$T/expected.csv")"
	[ "$(sed 1d "$T/expected.csv" | wc -l)" -eq 80 ] || fail "expected 80 rows: $(cat "$T/expected.csv")"

	# the whole central journal, these vehicles' rows
	run ct_exec "$EXPORT" --directory="$REMOTE_DIR" --output-format=csv
	assert_success
	assert_line -n 0 vehicle,time,lat,lon,speed,course,alt,accuracy,archive
	grep -E "^($bus|$van|$truck)," <<<"$output" | sort >"$T/got.csv"
	sed 1d "$T/expected.csv" | sort >"$T/want.csv"
	diff "$T/want.csv" "$T/got.csv" || fail "central export differs from the sent positions"
	for v in "$bus:40" "$van:25" "$truck:15"; do
		[ "$(grep -c "^${v%%:*}," "$T/got.csv")" -eq "${v##*:}" ] || fail "not ${v##*:} rows for ${v%%:*}"
	done

	# --vehicle on the central journal: that vehicle only, all of it
	run ct_exec "$EXPORT" --directory="$REMOTE_DIR" --vehicle="$van" --output-format=csv
	assert_success
	assert_line -n 0 vehicle,time,lat,lon,speed,course,alt,accuracy,archive
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
	# 1 record (the RMC and GGA of one fix), 1 reject, 1 summary
	_both_have_3() {
		(($(e2e_journal VEHICLE_ID="$v" | wc -l) == 3)) &&
			(($(central_json VEHICLE_ID="$v" | wc -l) == 3))
	}
	ct_wait_until "$((20 * E2E_SCALE))" _both_have_3 ||
		fail "local $(e2e_journal VEHICLE_ID="$v" | wc -l), central $(central_json VEHICLE_ID="$v" | wc -l) entries"
	e2e_journal VEHICLE_ID="$v" | jq -c -S 'del(.__CURSOR)' >"$T/local"
	central_json VEHICLE_ID="$v" | jq -c -S 'del(.__CURSOR)' >"$T/central"
	diff "$T/local" "$T/central" || fail "entries changed on the way"
	# the record fields, and the ingest host's own trusted fields
	run jq -r 'select(.SOURCE_FORMAT == "nmea-gga") | [.VEHICLE_ID, .FIX_TIME, .LATITUDE, .LONGITUDE,
		.SPEED_MPS, .COURSE_DEG, .REMOTE_ADDR, .PRIORITY, (._SYSTEMD_UNIT | startswith("vlsink@")),
		(._MACHINE_ID | length), ._HOSTNAME != null] | join(" ")' "$T/central"
	assert_output "$v 2024-03-23T12:35:19.000Z 48.1173000 11.5166667 11.524 84.40 127.0.0.1 6 true 32 true"
	run jq -r 'select(.SOURCE_FORMAT == "nmea-gga") | [.ALTITUDE_M, .FIX_QUALITY, .RAW_LINE] | join(" ")' "$T/central"
	assert_output "545.40 1 $(nmea "$RMC_BODY")
$(nmea "$GGA_BODY")"
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
