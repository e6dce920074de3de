/* The names of source formats and reject reasons, as records, journal
 * fields and diagnostics show them. */
#include "record.h"

static const char *const reasons[R_COUNT] = {
	[R_NONE] = "none",
	[R_TOO_LONG] = "too-long",
	[R_BAD_CHECKSUM] = "bad-checksum",
	[R_NO_CHECKSUM] = "no-checksum",
	[R_SYNTAX] = "syntax",
	[R_NO_FIX] = "no-fix",
	[R_OUT_OF_RANGE] = "out-of-range",
	[R_BAD_TIME] = "bad-time",
	[R_CONTROL_CHAR] = "control-char",
	[R_UNKNOWN_DEVICE] = "unknown-device",
	[R_WORKER_CRASH] = "worker-crash",
	[R_BINARY] = "binary-frame",
};

const char *reason_name(enum reason r)
{
	return reasons[r];
}

const char *format_name(enum source_format f)
{
	static const char *const names[] = {
		[SRC_NMEA_RMC] = "nmea-rmc", [SRC_NMEA_GGA] = "nmea-gga", [SRC_NMEA_GLL] = "nmea-gll",
		[SRC_GPSD_TPV] = "gpsd-tpv", [SRC_CSV] = "csv",
		[SRC_H02] = "h02", [SRC_GPS103] = "gps103", [SRC_GL200] = "gl200", [SRC_OSMAND] = "osmand",
	};
	return names[f];
}
