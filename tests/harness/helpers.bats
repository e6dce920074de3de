#!/usr/bin/env bats
# The shared test helpers themselves (tests/lib/common.bash), not vlsink:
# not part of `bats tests` (make check); run with `bats tests/harness`.

load '../lib/common'

@test "the checksum helper agrees with the NMEA reference example" {
	assert_equal "$(nmea 'GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,')" \
		'$GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,*47'
}

# lib/cases.bash, on frames of the tracker protocols: each input a frame
# with its terminator, an HTTP request as $'...', an input starting with
# '#' as $'...', and "+ RECORD" lines read as more records of one input.
@test "the case runner: protocol frames, HTTP requests, '+' record lines" {
	local dir=$BATS_TEST_TMPDIR
	cat >"$dir/ok.cases" <<'CASES'
# Frames no parser accepts, a framing reject, an HTTP request refused (last)
vlsink --protocol=gps103
imei:;
reject syntax
$'##,imei:;'
reject syntax

vlsink --protocol=h02
$'$\x01\x02'
reject binary-frame

vlsink
$'POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n'
reject syntax
CASES
	run bash "$TOP/tests/lib/cases.bash" "$dir/ok.cases"
	assert_success
	assert_output "ok.cases: 3 cases, 0 failed"
	# A "+" line is one more record expected from the input above it.
	printf '%s\n' 'vlsink --protocol=gps103' 'imei:;' 'reject syntax' '+ {"vehicle":"x"}' >"$dir/plus.cases"
	run bash "$TOP/tests/lib/cases.bash" "$dir/plus.cases"
	assert_failure
	assert_output --partial "records differ"
	assert_output --partial 'then: {"vehicle":"x"}'
}
