/* Invariants of the tracker protocols' parsers (parse/proto.h): what a
 * frame_out may carry with each verdict, that every record is in range and
 * formats within RECORD_MAX, and that the parse does not depend on what the
 * caller left in the frame_out before. */
#ifndef VLSINK_FUZZ_CHECK_FRAME_H
#define VLSINK_FUZZ_CHECK_FRAME_H

#include "check.h"
#include "vlsink/parse/proto.h"

typedef enum verdict (*frame_parser)(const struct session *, const char *, size_t, struct frame_out *);

static inline void fuzz_check_frame_record(const struct record *r, enum source_format f, const char *id)
{
	/* No fix quality but the hdop a Queclink report gives. */
	CHECK((r->have & (HAVE_MODE | HAVE_QUALITY | HAVE_SATS)) == 0);
	CHECK(!(r->have & HAVE_HDOP) || f == SRC_GL200);
	CHECK(r->format == f);
	fuzz_check_record(r);
	/* The connection's id names the records, never the record itself. */
	CHECK(r->vehicle[0] == '\0');
	fuzz_check_format(r, id[0] ? id : NULL);
}

/* Parses p[0..n) into a dirty frame_out, checks what the verdict carries,
 * parses again into a differently dirty one and checks the same comes out.
 * Returns the verdict; *out holds the first parse. */
static inline enum verdict fuzz_check_frame(frame_parser parse, enum source_format f, const char *p, size_t n,
					    struct frame_out *out)
{
	static struct frame_out again;
	struct session s = { .checksum = CK_LENIENT, .now_ms = FUZZ_NOW_MS };

	memset(out, 0xFF, sizeof(*out));
	enum verdict v = parse(&s, p, n, out);
	CHECK(v == V_RECORD || v == V_IGNORED || v == V_IDENT || v == V_REJECT);
	CHECK(out->nrec <= FRAME_POINTS_MAX);
	CHECK(out->reply_n <= REPLY_MAX);
	CHECK(fuzz_safe_id(out->id, sizeof(out->id), v == V_REJECT || v == V_IGNORED));
	if (out->id[0])
		CHECK(memmem(p, n, out->id, strlen(out->id)) != NULL);
	for (size_t i = 0; i < out->reply_n; i++)
		CHECK(out->reply[i] >= 0x20 && out->reply[i] <= 0x7e);
	switch (v) {
	case V_RECORD:
		CHECK(out->nrec >= 1);
		CHECK(out->id[0] != '\0');
		for (unsigned i = 0; i < out->nrec; i++)
			fuzz_check_frame_record(&out->rec[i], f, out->id);
		break;
	case V_REJECT:
		CHECK(out->why > R_NONE && out->why < R_COUNT && reason_name(out->why) != NULL);
		CHECK(out->nrec == 0 && out->reply_n == 0);
		break;
	default:
		CHECK(out->nrec == 0);
		break;
	}

	memset(&again, 0x00, sizeof(again));
	CHECK(parse(&s, p, n, &again) == v);
	CHECK(again.nrec == out->nrec && again.reply_n == out->reply_n);
	CHECK(memcmp(again.reply, out->reply, out->reply_n) == 0);
	CHECK(strcmp(again.id, out->id) == 0);
	if (v == V_REJECT)
		CHECK(again.why == out->why);
	for (unsigned i = 0; i < out->nrec; i++) {
		const struct record *a = &again.rec[i], *b = &out->rec[i];
		CHECK(a->have == b->have && !memcmp(&a->lat, &b->lat, sizeof(double)) &&
		      !memcmp(&a->lon, &b->lon, sizeof(double)));
		CHECK(!(a->have & HAVE_TIME) || a->time_ms == b->time_ms);
		CHECK(!(a->have & HAVE_SPEED) || !memcmp(&a->speed, &b->speed, sizeof(double)));
		CHECK(!(a->have & HAVE_COURSE) || !memcmp(&a->course, &b->course, sizeof(double)));
		CHECK(!(a->have & HAVE_ALT) || !memcmp(&a->alt, &b->alt, sizeof(double)));
	}
	return v;
}

#endif
