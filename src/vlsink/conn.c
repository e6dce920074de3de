/* The read loop and what becomes of each line.  Data flows one way: input
 * -> framer -> parser -> sink, with the report counting on the side. */
#include <string.h>

#include "core/clock.h"
#include "vlsink/conn.h"
#include "vlsink/input.h"

const char *conn_vehicle(const struct conn *c)
{
	return c->ident[0] ? c->ident : c->vehicle;
}

/* An epoch is held at most this long after its last sentence: a receiver
 * that sends one fix a second has sent the whole cycle by then. */
#define MERGE_HOLD_MS 1000

int conn_init(struct conn *c)
{
	const struct config *o = c->opt;

	c->merging = o->merge && !(o->sink != SINK_JOURNAL && o->format == OUT_RAW);
	filter_init(&c->filter, &o->filter);
	/* Without merging, the sentences of one fix are each a record of the
	 * same time: the duplicate filter would keep only the first. */
	if (!c->merging)
		c->filter.o.duplicate = 0;
	if (linebuf_init(&c->lb, o->max_line) < 0)
		return -1;
	return c->merging ? merge_init(&c->merge, o->max_line) : 0;
}

void conn_free(struct conn *c)
{
	linebuf_free(&c->lb);
	if (c->merging)
		merge_free(&c->merge);
}

static void deliver(struct conn *c, const struct record *r, const char *line, size_t n)
{
	const char *vehicle = r->vehicle[0] ? r->vehicle : conn_vehicle(c);
	struct origin o = { vehicle, c->peer.text[0] ? c->peer.text : NULL };
	enum filter_kind k = filter_check(&c->filter, r, vehicle, c->session.now_ms);

	if (k != FL_KEEP) {
		c->rp.t.filtered[k]++;
		return;
	}
	c->rp.t.records++;
	if (c->failed || sink_put(c->sink, r, &o, &c->peer, line, n) < 0) {
		c->failed = 1;
		c->undelivered++;
	}
}

/* Every epoch the merger has closed goes out, oldest first. */
static void deliver_merged(struct conn *c)
{
	struct record r;
	const char *raw;
	size_t n;

	while (merge_next(&c->merge, &r, &raw, &n)) {
		unsigned k = ++c->fixes;
		if (k < 32 && (c->fix_drop & 1u << k))
			continue;
		if (c->fix_watch)
			c->fix_watch(c, k, raw, n);
		deliver(c, &r, raw, n);
		if (c->fix_watch)
			c->fix_watch(c, 0, NULL, 0);
	}
	c->rp.t.conflicts = c->merge.conflicts;
}

void conn_close_epoch(struct conn *c)
{
	if (!c->merging)
		return;
	merge_close(&c->merge);
	deliver_merged(c);
}

/* With --devices, the connection's own vehicle (its identification, else
 * --vehicle, else the peer's address) must be listed; checked when it is
 * first needed and again whenever a new identification comes.  0: go on. */
static int check_identity(struct conn *c)
{
	const char *v = conn_vehicle(c);
	int ok;

	if (!c->devices || c->identity_ok)
		return 0;
	if (c->ident[0] || c->opt->vehicle)
		ok = devices_has_id(c->devices, v);
	else
		ok = devices_has_addr(c->devices, c->peer.addr);
	if (ok) {
		c->identity_ok = 1;
		return 0;
	}
	report_refused(&c->rp, v ? v : "(unknown peer)");
	c->refused = 1;
	return -1;
}

/* A line or frame that names its device: what was held belongs to the
 * device that sent it, and a new name is checked against --devices.
 * 0: go on. */
static int take_identity(struct conn *c, const char *id)
{
	if (strcmp(c->ident, id) != 0) {
		conn_close_epoch(c);
		c->identity_ok = 0;
	}
	memcpy(c->ident, id, sizeof(c->ident));
	return check_identity(c);
}

static const enum lb_mode modes[PROTO_COUNT] = {
	[PROTO_AUTO] = LBM_LINE,  [PROTO_NMEA] = LBM_LINE,    [PROTO_H02] = LBM_STAR,
	[PROTO_GPS103] = LBM_SEMI, [PROTO_GL200] = LBM_DOLLAR, [PROTO_OSMAND] = LBM_HTTP,
};

int conn_detect(struct conn *c, int eof)
{
	size_t n;
	const char *p;

	if (c->proto == PROTO_AUTO) {
		p = linebuf_peek(&c->lb, &n);
		c->proto = protocol_detect(p, n, eof);
		if (c->proto == PROTO_AUTO)
			return 0;
	}
	if (!c->rp.protocol) {
		linebuf_mode(&c->lb, modes[c->proto]);
		c->rp.protocol = protocol_name(c->proto);
	}
	return 1;
}

/* A reply for the frame being handled; staged, written once the frame's
 * records are delivered (sink/reply.c). */
static void reply(struct conn *c, const char *p, size_t n, int close_after)
{
	if (close_after)
		c->hangup = 1;
	if (!n)
		return;
	c->rp.t.replies++;
	if (c->replies)
		reply_put(c->replies, c->rp.t.lines, p, n, close_after);
}

/* Framing errors of an HTTP request: the client gets a status, and the
 * connection ends, since where the next request starts is unknown.  Also
 * the 400 of a rejected request whose parser worded none. */
static void http_error(struct conn *c, enum lb_event ev)
{
	static const char too_long[] = "HTTP/1.1 413 Content Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
	static const char no_length[] = "HTTP/1.1 411 Length Required\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
	static const char bad[] = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

	if (ev == LB_TOO_LONG)
		reply(c, too_long, sizeof(too_long) - 1, 1);
	else if (ev == LB_NO_LENGTH)
		reply(c, no_length, sizeof(no_length) - 1, 1);
	else
		reply(c, bad, sizeof(bad) - 1, 1);
}

typedef enum verdict (*frame_parser)(const struct session *, const char *, size_t, struct frame_out *);

static const frame_parser parsers[PROTO_COUNT] = {
	[PROTO_H02] = h02_parse,
	[PROTO_GPS103] = gps103_parse,
	[PROTO_GL200] = gl200_parse,
	[PROTO_OSMAND] = osmand_parse,
};

/* A frame of the tracker protocols: its records go through the filters
 * (no epochs to merge: each carries a whole fix), its reply is staged. */
static void conn_frame(struct conn *c, enum lb_event ev, const struct lb_line *l)
{
	static const enum reason unframed[] = {
		[LB_TOO_LONG] = R_TOO_LONG, [LB_CONTROL] = R_CONTROL_CHAR, [LB_BINARY] = R_BINARY,
		[LB_NO_LENGTH] = R_SYNTAX,  [LB_BAD_LENGTH] = R_SYNTAX,
	};
	struct frame_out out;
	struct tally *t = &c->rp.t;

	if (ev != LB_LINE) {
		report_reject(&c->rp, conn_vehicle(c), unframed[ev], l->p, l->n);
		if (c->proto == PROTO_OSMAND)
			http_error(c, ev);
		return;
	}
	memset(&out, 0, sizeof(out));
	enum verdict v = parsers[c->proto](&c->session, l->p, l->n, &out);
	if (out.reply_n > sizeof(out.reply))
		out.reply_n = 0;
	if (v != V_REJECT && out.id[0] && take_identity(c, out.id))
		return;
	switch (v) {
	case V_RECORD:
		if (out.nrec == 0 || out.nrec > FRAME_POINTS_MAX) {
			report_reject(&c->rp, conn_vehicle(c), R_SYNTAX, l->p, l->n);
			return;
		}
		if (check_identity(c))
			return;
		t->accepted++;
		for (unsigned i = 0; i < out.nrec; i++)
			deliver(c, &out.rec[i], l->p, l->n);
		break;
	case V_IDENT:
	case V_IGNORED:
	case V_QUALITY:
		t->ignored++;
		break;
	case V_REJECT:
		report_reject(&c->rp, conn_vehicle(c), out.why, l->p, l->n);
		/* OsmAnd answers a rejected request (400) and closes. */
		if (c->proto == PROTO_OSMAND && out.reply_n)
			reply(c, out.reply, out.reply_n, 1);
		else if (c->proto == PROTO_OSMAND)
			http_error(c, LB_BAD_LENGTH);
		return;
	}
	reply(c, out.reply, out.reply_n, out.close_after_reply);
}

void conn_line(struct conn *c, enum lb_event ev, const struct lb_line *l)
{
	struct parse_out out;
	struct tally *t = &c->rp.t;

	t->lines++;
	c->fixes = 0;
	if (c->proto != PROTO_NMEA && c->proto != PROTO_AUTO) {
		conn_frame(c, ev, l);
		return;
	}
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
	/* A line may name its vehicle (an identification sentence, a T55 id
	 * prefix): a held fix belongs to the vehicle that sent it, and the
	 * line's own record to the one it names. */
	if (out.id[0] && take_identity(c, out.id))
		return;
	switch (v) {
	case V_RECORD:
		/* A line that names its own vehicle (CSV) is turned away alone;
		 * a connection whose own device is unknown ends. */
		if (c->devices && out.rec.vehicle[0] && !devices_has_id(c->devices, out.rec.vehicle)) {
			report_reject(&c->rp, out.rec.vehicle, R_UNKNOWN_DEVICE, l->p, l->n);
			break;
		}
		if (!out.rec.vehicle[0] && check_identity(c))
			return;
		t->accepted++;
		if (c->merging && out.rec.format != SRC_CSV) {
			merge_add(&c->merge, &out.rec, 0, l->p, l->n);
			deliver_merged(c);
			c->merge_fed = 1;
		} else {
			/* Records leave in the order their lines came. */
			conn_close_epoch(c);
			deliver(c, &out.rec, l->p, l->n);
		}
		break;
	case V_QUALITY:
		if (c->merging)
			merge_add(&c->merge, &out.rec, 1, l->p, l->n);
		t->ignored++;
		break;
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

/* Replies whose records are delivered go out.  When room for one more is
 * wanted (or the stream ends: all), waits for the peer to take them, at
 * most until it has taken nothing for REPLY_STALL_MS: -1 then. */
static int send_replies(struct conn *c, int all)
{
	struct reply_sink *r = c->replies;

	if (!r)
		return 0;
	if (!c->failed && sink_flush(c->sink) < 0)
		c->failed = 1;
	if (c->failed)
		return 0;
	reply_release(r);
	(void)reply_write(r);
	if (!all && reply_fits(r))
		return 0;
	return reply_drain(r);
}

int conn_serve(struct conn *c, int fd)
{
	struct lb_line l;
	enum lb_event ev;
	struct tally *t = &c->rp.t;
	int idle = c->opt->idle_timeout;
	int64_t deadline = idle ? monotonic_ms() + (int64_t)idle * 1000 : 0;

	for (;;) {
		/* Deliver what this batch produced before blocking for more;
		 * only then may its replies go out. */
		if (!c->failed && sink_flush(c->sink) < 0)
			c->failed = 1;
		if (c->failed)
			return -1;
		if (c->replies) {
			reply_release(c->replies);
			(void)reply_write(c->replies);
		}
		if (c->hangup) {
			t->end = send_replies(c, 1) < 0 ? "reply-blocked" : "reply-close";
			break;
		}
		size_t room, n = 0;
		char *space = linebuf_space(&c->lb, &room);
		int64_t wake = c->merging && merge_pending(&c->merge) ? c->merge_wake : 0;
		int out = c->replies && reply_unsent(c->replies) ? c->replies->fd : -1;
		enum input_end e = input_read(fd, space, room, deadline, wake, out, &n);
		if (e == IN_WAKE) {
			conn_close_epoch(c);
			continue;
		}
		if (e != IN_DATA) {
			t->end = end_names[e];
			if (e == IN_EOF && conn_detect(c, 1) && (ev = linebuf_finish(&c->lb, &l)) != LB_NONE)
				conn_line(c, ev, &l);
			conn_close_epoch(c);
			break;
		}
		t->bytes += (uint64_t)n;
		linebuf_commit(&c->lb, n);
		c->session.now_ms = realtime_ms();
		uint64_t before = t->lines;
		int blocked = 0;
		while (!c->refused && !c->hangup && conn_detect(c, 0)) {
			/* A frame has at most one reply: room for it first. */
			if (c->replies && !reply_fits(c->replies) && send_replies(c, 0) < 0) {
				blocked = 1;
				break;
			}
			if ((ev = linebuf_next(&c->lb, &l)) == LB_NONE)
				break;
			conn_line(c, ev, &l);
		}
		if (c->refused || blocked) {
			t->end = blocked ? "reply-blocked" : "unknown-device";
			conn_close_epoch(c);
			break;
		}
		if (c->merge_fed) {
			c->merge_wake = monotonic_ms() + MERGE_HOLD_MS;
			c->merge_fed = 0;
		}
		if (idle && t->lines != before)
			deadline = monotonic_ms() + (int64_t)idle * 1000;
	}
	if (!c->failed && sink_flush(c->sink) < 0)
		c->failed = 1;
	if (!c->failed && send_replies(c, 1) < 0 && !strcmp(t->end, "eof"))
		t->end = "reply-blocked";
	return c->failed ? -1 : 0;
}

void conn_quarantined(struct conn *c)
{
	c->rp.t.lines++;
	c->rp.t.rejected++;
	c->rp.t.by_reason[R_WORKER_CRASH]++;
}

size_t conn_raw_size(const struct conn *c)
{
	return c->merging ? (size_t)MERGE_SLOTS * MERGE_LINES * (c->opt->max_line + 1) : 0;
}

/* The merger's buffers were allocated before the first worker was forked,
 * so their addresses are the same in every worker: the struct is copied as
 * it is, the bytes it points to beside it. */
void conn_save(const struct conn *c, struct conn_state *s, char *raw)
{
	s->session = c->session;
	s->t = c->rp.t;
	s->limit = c->rp.limit;
	s->filter = c->filter;
	s->merge = c->merge;
	memcpy(s->ident, c->ident, sizeof(s->ident));
	s->identity_ok = c->identity_ok;
	s->refused = c->refused;
	s->failed = c->failed;
	s->hangup = c->hangup;
	s->undelivered = c->undelivered;
	if (!c->merging)
		return;
	size_t slot = MERGE_LINES * (c->opt->max_line + 1);
	for (int i = 0; i < MERGE_SLOTS; i++)
		memcpy(raw + (size_t)i * slot, c->merge.ep[i].raw, c->merge.ep[i].raw_len);
}

int conn_held(const struct conn *c, const struct conn_state *s, const char *raw, const char **p, size_t *n)
{
	if (!c->merging || !merge_pending(&s->merge))
		return -1;
	*p = raw + (size_t)s->merge.cur * MERGE_LINES * (c->opt->max_line + 1);
	*n = s->merge.ep[s->merge.cur].raw_len;
	return 0;
}

void conn_drop_held(const struct conn *c, struct conn_state *s)
{
	if (c->merging)
		merge_discard(&s->merge);
}

void conn_restore(struct conn *c, const struct conn_state *s, const char *raw)
{
	c->session = s->session;
	c->rp.t = s->t;
	c->rp.limit = s->limit;
	c->filter = s->filter;
	memcpy(c->ident, s->ident, sizeof(c->ident));
	c->identity_ok = s->identity_ok;
	c->refused = s->refused;
	c->failed = s->failed;
	c->hangup = s->hangup;
	c->undelivered = s->undelivered;
	if (!c->merging)
		return;
	c->merge = s->merge;
	size_t slot = MERGE_LINES * (c->opt->max_line + 1);
	for (int i = 0; i < MERGE_SLOTS; i++)
		memcpy(c->merge.ep[i].raw, raw + (size_t)i * slot, c->merge.ep[i].raw_len);
}
