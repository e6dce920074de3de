/* The record that every parser fills and every sink consumes, and the
 * reasons a line can be turned away.  Nothing here does I/O. */
#ifndef VLSINK_RECORD_H
#define VLSINK_RECORD_H

#include <stddef.h>
#include <stdint.h>

/* Vehicle ids end up in journal fields, JSON and CSV; keeping them short and
 * to a safe alphabet means no sink ever has to escape them. */
#define VEHICLE_MAX 64

/* The largest accuracy a parser may accept, in metres: the sinks' widths
 * and the exporter's checks count on it. */
#define ACCURACY_MAX 1000000

enum source_format {
	SRC_NMEA_RMC,
	SRC_NMEA_GGA,
	SRC_NMEA_GLL,
	SRC_GPSD_TPV,
	SRC_CSV,
	SRC_H02,
	SRC_GPS103,
	SRC_GL200,
	SRC_OSMAND,
};

enum {
	HAVE_TIME = 1 << 0,
	HAVE_SPEED = 1 << 1,
	HAVE_COURSE = 1 << 2,
	HAVE_ALT = 1 << 3,
	HAVE_MODE = 1 << 4,    /* 2D or 3D fix (GSA, TPV). */
	HAVE_QUALITY = 1 << 5, /* GGA fix quality. */
	HAVE_SATS = 1 << 6,    /* Satellites used (GGA, GSA). */
	HAVE_HDOP = 1 << 7,    /* Horizontal dilution of precision (GGA, GSA). */
	/* Not a field: the date was moved forward past GPS week rollovers. */
	ROLLOVER_FIXED = 1 << 8,
	HAVE_ACCURACY = 1 << 9, /* Horizontal accuracy in metres (OsmAnd). */
	/* Not a field: a buffered or history report, sent late by the device
	 * (Queclink +BUFF, H02 V4/NBR history, GPS103 stored reports). */
	ARCHIVED = 1 << 10,
};

struct record {
	int64_t time_ms; /* Milliseconds since the Unix epoch, UTC. */
	double lat, lon; /* Degrees, WGS84 as sent. */
	double speed;    /* Metres per second. */
	double course;   /* Degrees true. */
	double alt;      /* Metres above mean sea level. */
	double hdop;
	double accuracy; /* Metres, HAVE_ACCURACY. */
	unsigned mode;    /* 2 or 3. */
	unsigned quality; /* GGA: 1 GPS, 2 DGPS, 4 RTK fixed, 5 RTK float, 6 dead reckoning... */
	unsigned sats;
	unsigned have;
	enum source_format format;
	char vehicle[VEHICLE_MAX + 1]; /* From the line itself (CSV); else empty. */
};

/* What a parser makes of one line. */
enum verdict {
	V_RECORD,  /* A position: the record is filled. */
	V_IGNORED, /* Well-formed, but no position (GSV, SKY, a header...). */
	V_IDENT,   /* An identification sentence: the id is filled. */
	V_QUALITY, /* No position, but fix quality for the epoch (GSA). */
	V_REJECT,  /* Turned away: the reason is set. */
};

enum reason {
	R_NONE,
	R_TOO_LONG,
	R_BAD_CHECKSUM,
	R_NO_CHECKSUM,
	R_SYNTAX,
	R_NO_FIX,
	R_OUT_OF_RANGE,
	R_BAD_TIME,
	R_CONTROL_CHAR,
	R_UNKNOWN_DEVICE, /* Names a vehicle not in --devices. */
	R_WORKER_CRASH,   /* The worker died on it: quarantined (vlsink). */
	R_BINARY,         /* A binary frame on a text protocol's connection. */
	R_COUNT
};

enum checksum_mode { CK_LENIENT, CK_STRICT, CK_OFF };

const char *reason_name(enum reason r);
const char *format_name(enum source_format f);

#endif
