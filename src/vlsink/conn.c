/* The read loop and what becomes of each line.  Data flows one way: input
 * -> framer -> parser -> sink, with the report counting on the side. */
#include <string.h>

#include "core/clock.h"
#include "conn.h"
#include "input.h"

const char *conn_vehicle(const struct conn *c)
{
	return c->ident[0] ? c->ident : c->vehicle;
}

static void handle(struct conn *c, enum lb_event ev, const struct lb_line *l)
{
	struct parse_out out;
	struct tally *t = &c->rp.t;

	t->lines++;
	if (ev == LB_TOO_LONG) {
		if (parse_overlong(l->p, l->n) == V_IGNORED) {
			t->ignored++;
			return;
		}
		report_reject(&c->rp, conn_vehicle(c), R_TOO_LONG, l->p, l->n);
		return;
	}
	if (ev == LB_CONTROL) {
		report_reject(&c->rp, conn_vehicle(c), R_CONTROL_CHAR, l->p, l->n);
		return;
	}
	enum verdict v = parse_line(&c->session, l->p, l->n, &out);
	/* Before the record goes out: a T55 id prefix names the line's own
	 * vehicle as well as the later ones. */
	if (out.id[0])
		memcpy(c->ident, out.id, sizeof(c->ident));
	switch (v) {
	case V_RECORD: {
		struct origin o = { out.rec.vehicle[0] ? out.rec.vehicle : conn_vehicle(c),
				    c->peer.text[0] ? c->peer.text : NULL };
		t->accepted++;
		if (c->failed || sink_put(c->sink, &out.rec, &o, &c->peer, l->p, l->n) < 0) {
			c->failed = 1;
			c->undelivered++;
		}
		break;
	}
	case V_IDENT:
	case V_IGNORED:
		t->ignored++;
		break;
	case V_REJECT:
		report_reject(&c->rp, conn_vehicle(c), out.why, l->p, l->n);
		break;
	}
}

static const char *const end_names[] = {
	[IN_EOF] = "eof",	       [IN_STOP] = "signal", [IN_IDLE] = "idle-timeout",
	[IN_RESET] = "reset",	       [IN_ERROR] = "input-error",
};

int conn_serve(struct conn *c, int fd)
{
	struct lb_line l;
	enum lb_event ev;
	struct tally *t = &c->rp.t;
	int idle = c->opt->idle_timeout;
	int64_t deadline = idle ? monotonic_ms() + (int64_t)idle * 1000 : 0;

	for (;;) {
		/* Deliver what this batch produced before blocking for more. */
		if (!c->failed && sink_flush(c->sink) < 0)
			c->failed = 1;
		if (c->failed)
			return -1;
		size_t room, n = 0;
		char *space = linebuf_space(&c->lb, &room);
		enum input_end e = input_read(fd, space, room, deadline, &n);
		if (e != IN_DATA) {
			t->end = end_names[e];
			if (e == IN_EOF && (ev = linebuf_finish(&c->lb, &l)) != LB_NONE)
				handle(c, ev, &l);
			break;
		}
		t->bytes += (uint64_t)n;
		linebuf_commit(&c->lb, n);
		c->session.now_ms = realtime_ms();
		uint64_t before = t->lines;
		while ((ev = linebuf_next(&c->lb, &l)) != LB_NONE)
			handle(c, ev, &l);
		if (idle && t->lines != before)
			deadline = monotonic_ms() + (int64_t)idle * 1000;
	}
	if (!c->failed && sink_flush(c->sink) < 0)
		c->failed = 1;
	return c->failed ? -1 : 0;
}
