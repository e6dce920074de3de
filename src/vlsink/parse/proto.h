/* The tracker protocols vlsink reads beside NMEA: which one a connection
 * speaks, and the pure parser of each.  A parser gets one whole frame, as
 * the framer cut it, and fills a frame_out: the positions it carries (a
 * Queclink report may carry several), the device id it names, and the
 * reply its device waits for.  No parser does I/O; the reply is bytes for
 * the caller to write once the frame has been accepted. */
#ifndef VLSINK_PROTO_H
#define VLSINK_PROTO_H

#include <stddef.h>

#include "core/record.h"
#include "vlsink/parse/session.h"

enum protocol {
	PROTO_AUTO,   /* Decided from the connection's first bytes. */
	PROTO_NMEA,   /* NMEA 0183 (with T55 ids), gpsd JSON, CSV: lines. */
	PROTO_H02,    /* "*HQ,...#" */
	PROTO_GPS103, /* "imei:...;", "##,imei:...,A;", "<id>;" */
	PROTO_GL200,  /* Queclink @Track text: "+RESP:GT...$", "+BUFF:...$", "+ACK:GTHBD...$" */
	PROTO_OSMAND, /* HTTP/1.1 requests of the OsmAnd / Traccar Client app */
	PROTO_COUNT
};

/* A Queclink report carries at most 15 points (its <Number> field). */
#define FRAME_POINTS_MAX 15
/* The longest reply any protocol sends: an SOS echo with a 64-byte id. */
#define REPLY_MAX 160

struct frame_out {
	struct record rec[FRAME_POINTS_MAX]; /* rec[0..nrec) are positions. */
	unsigned nrec;
	/* The device id the frame names (every frame of these protocols does,
	 * but an OsmAnd request may not: then it is a reject). */
	char id[VEHICLE_MAX + 1];
	enum reason why; /* Set with V_REJECT. */
	/* What the device waits for, to be written only if the frame was
	 * accepted (and for OsmAnd, its 400 on a reject). */
	char reply[REPLY_MAX];
	size_t reply_n;
	int close_after_reply; /* OsmAnd: 400, or "Connection: close". */
};

/* Each returns V_RECORD (nrec >= 1), V_IDENT (a log-on: id set),
 * V_IGNORED (a heartbeat or a report without position: id may be set,
 * reply may be set), or V_REJECT (why set; no reply but OsmAnd's 400).
 * A report whose fix the device marks invalid is V_REJECT with R_NO_FIX.
 * p[0..n) is one frame without its terminator ('#', ';', '$'); an OsmAnd
 * frame is one whole HTTP request: request line, headers, the blank line
 * and the body of Content-Length bytes. */
enum verdict h02_parse(const struct session *s, const char *p, size_t n, struct frame_out *out);
enum verdict gps103_parse(const struct session *s, const char *p, size_t n, struct frame_out *out);
enum verdict gl200_parse(const struct session *s, const char *p, size_t n, struct frame_out *out);
enum verdict osmand_parse(const struct session *s, const char *p, size_t n, struct frame_out *out);

const char *protocol_name(enum protocol p);
/* The protocol named s[0, n), or PROTO_COUNT. */
enum protocol protocol_from_name(const char *s, size_t n);
/* The protocol of a connection whose first bytes are p[0, n): PROTO_AUTO
 * while more bytes could still change the answer and eof is 0; anything
 * not recognised is PROTO_NMEA. */
enum protocol protocol_detect(const char *p, size_t n, int eof);

#endif
