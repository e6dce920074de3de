#!/usr/bin/env bats
# shellcheck disable=SC2016
#
# systemd-journal-remote itself, not vlsink: a limit of Debian 12's build
# that README "Scale-out" documents. In the scale-out setup of
# tests/scaleout.bats (tests/lib/scaleout.bash, a throwaway container).
# Not part of `bats tests` (make check); run with `bats tests/harness`.

load '../lib/common'
load '../lib/container'
load '../lib/e2e'
load '../lib/scaleout'

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
	assert_output "vehicle,time,lat,lon,speed,course,alt,accuracy,archive
$v,2026-11-25T00:00:00.000Z,1.0000000,2.0000000,,,,,"
	# it exists in the central journal only: no ingest host ever saw it
	run ct_exec "$EXPORT" --vehicle="$v" --output-format=csv
	assert_output vehicle,time,lat,lon,speed,course,alt,accuracy,archive
	run ct_exec journalctl --no-pager -q -o cat -u systemd-journal-remote.service
	assert_output --partial 'Certificate checking disabled.'
}
