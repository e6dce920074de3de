/* vlsink-export: records read back from the journal or from JSON lines,
 * grouped by vehicle where the output format needs it, and written as
 * GeoJSON, GPX, CSV or an SVG quick-look. */
#ifndef VLSINK_EXPORT_H
#define VLSINK_EXPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "core/record.h"

#define TIME_NONE INT64_MIN

/* Record fields as vlsink writes them: the JSON key and the journal field
 * name of each, so that both inputs are checked by the same rules. */
enum slot {
	F_VEHICLE, F_TIME, F_LAT, F_LON, F_SPEED, F_COURSE, F_ALT, F_HDOP, F_MODE, F_QUALITY, F_SATS, F_ACCURACY,
	F_FORMAT, F_PEER, F_ROLLOVER, F_ARCHIVE, F_COUNT
};

/* The journal field of a slot, or NULL (peer: two fields, read apart). */
const char *journal_field(enum slot f);

/* export_parse.c: pure functions over byte ranges.  Each returns NULL when
 * the text is accepted, else a short reason for the diagnostic. */
const char *json_record(const char *p, size_t n, struct record *r, size_t *at);
const char *journal_value(enum slot f, const char *p, size_t n, struct record *r);
int parse_when(const char *s, int64_t *ms);

/* export_in.c: where records come from. */
struct input;

struct fix {
	struct record rec; /* rec.vehicle is empty when the record names none. */
	int64_t seen_ms;   /* When the journal received it; TIME_NONE for JSON lines. */
};

/* IN_UNTRUSTED: a journal position entry that says SYSLOG_IDENTIFIER=vlsink
 * but that vlsink's units cannot be shown to have written (see input.c). */
enum in_event { IN_FIX, IN_BAD, IN_UNTRUSTED, IN_END, IN_ERROR };

struct in_bad {
	const char *why;
	char where[48];
	char sample[112];
};

/* Which journal entries are vlsink's: those written by its units (what
 * journald itself recorded about the sender), or any with its identifier. */
enum trust { TRUST_UNITS, TRUST_IDENTIFIER };

/* The user of every vlsink@ instance (units/vlsink@.service, User=). */
#define CONN_USER "vlsink-conn"

struct journal_opts {
	const char *directory;
	const char **files; /* NULL-terminated, or NULL. */
	const char *const *vehicles;
	size_t nvehicles;
	enum trust trust;
	uid_t conn_uid; /* CONN_USER's, with TRUST_UNITS. */
};

int input_lines(struct input **in, const char *path);
int input_journal(struct input **in, const struct journal_opts *o, const char **what);
enum in_event input_next(struct input *in, struct fix *f, struct in_bad *bad, int *err);
void input_close(struct input *in);

/* export_spool.c: positions grouped by vehicle with memory that grows with
 * the number of vehicles, not of positions; the rest waits in a temporary
 * file. */
struct point {
	int64_t time_ms; /* TIME_NONE when unknown. */
	double lat, lon;
	double alt; /* NaN when unknown. */
};

struct bounds {
	double lat_min, lat_max, lon_min, lon_max;
	int64_t t_min, t_max; /* TIME_NONE when no position has a time. */
	uint64_t points;
};

/* Positions travel to and from the temporary file in blocks of this many:
 * about 1 KiB, the memory each vehicle costs. */
#define SPOOL_BLOCK 32

struct walk {
	int64_t next;  /* File offset of the next block, -1 at the end of the chain. */
	unsigned i, n; /* Position in the block held below. */
	int tail;      /* Reading the vehicle's in-memory block. */
	struct point pt[SPOOL_BLOCK];
};

struct spool;

int spool_open(struct spool **s, size_t max_vehicles);
int spool_add(struct spool *s, const struct record *r);
void spool_sort(struct spool *s);
size_t spool_vehicles(const struct spool *s);
const char *spool_id(const struct spool *s, size_t i);
uint64_t spool_count(const struct spool *s, size_t i);
const struct bounds *spool_bounds(const struct spool *s);
void spool_walk(const struct spool *s, size_t i, struct walk *w);
int spool_next(const struct spool *s, size_t i, struct walk *w, struct point *p);
void spool_close(struct spool *s);

/* dedupe.c: one point per vehicle and instant, the first one. */
struct dedupe;

int dedupe_open(struct dedupe **d, size_t max_vehicles);
/* 1 when r's vehicle already had a point at r's time: drop it. */
int dedupe_drop(struct dedupe *d, const struct record *r);
void dedupe_close(struct dedupe *d);

/* The writers.  Grouped ones return 0 or a negative errno from reading the
 * spool back; errors on the output stream are left in its error flag. */
void csv_header(FILE *out);
void csv_row(FILE *out, const struct record *r);
int geojson_write(FILE *out, const struct spool *s);
int gpx_write(FILE *out, const struct spool *s);
void xml_text(FILE *out, const char *s);

struct svg_size {
	unsigned width, height;
};

int svg_write(FILE *out, const struct spool *s, const struct svg_size *size);

#endif
