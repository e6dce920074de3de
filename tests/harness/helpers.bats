#!/usr/bin/env bats
# The shared test helpers themselves (tests/lib/common.bash), not vlsink:
# not part of `bats tests` (make check); run with `bats tests/harness`.

load '../lib/common'

@test "the checksum helper agrees with the NMEA reference example" {
	assert_equal "$(nmea 'GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,')" \
		'$GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,*47'
}
