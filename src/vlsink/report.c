/* Rejects and the summary, worded once for both the journal (fields and
 * MESSAGE=) and stderr. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/clock.h"
#include "core/escape.h"
#include "vlsink/report.h"

void report_init(struct report *rp, struct sink *sink, const struct peer *peer)
{
	memset(rp, 0, sizeof(*rp));
	rp->sink = sink;
	rp->peer = peer;
	limiter_init(&rp->limit, monotonic_ms());
}

static const char *who(const struct peer *peer)
{
	return peer->text[0] ? peer->text : "stdin";
}

static void field(struct event *ev, const char *name, uint64_t v)
{
	if (ev->nfields == EVENT_FIELDS)
		return;
	ev->field[ev->nfields].name = name;
	snprintf(ev->field[ev->nfields].value, sizeof(ev->field[0].value), "%" PRIu64, v);
	ev->nfields++;
}

static void text_field(struct event *ev, const char *name, const char *v)
{
	if (ev->nfields == EVENT_FIELDS)
		return;
	ev->field[ev->nfields].name = name;
	snprintf(ev->field[ev->nfields].value, sizeof(ev->field[0].value), "%s", v);
	ev->nfields++;
}

/* A line turned away: a warning with the reason and the line's number. */
static void warn(struct report *rp, const char *vehicle, enum reason why, const char *msg, const char *raw)
{
	char text[600];
	struct event ev = { 0 };

	snprintf(text, sizeof(text), "%s: %s", who(rp->peer), msg);
	ev.priority = 4;
	ev.vehicle = vehicle;
	ev.message = msg;
	ev.text = text;
	ev.raw = raw;
	text_field(&ev, "REJECT_REASON", reason_name(why));
	field(&ev, "LINE_NUMBER", rp->t.lines);
	sink_event(rp->sink, rp->peer, &ev);
}

void report_reject(struct report *rp, const char *vehicle, enum reason why, const char *line, size_t len)
{
	char sample[SAMPLE_SIZE], more[64] = "", msg[512];
	uint64_t skipped;

	rp->t.rejected++;
	rp->t.by_reason[why]++;
	if (!limiter_take(&rp->limit, monotonic_ms(), &skipped))
		return;
	escape_sample(sample, sizeof(sample), line, len, 0);
	if (skipped)
		snprintf(more, sizeof(more), " (%" PRIu64 " earlier rejects not logged)", skipped);
	/* A binary frame is not parsed at all: say where reading goes on. */
	snprintf(msg, sizeof(msg), "line %" PRIu64 " rejected (%s): \"%s\"%s%s", rp->t.lines, reason_name(why),
		 sample, why == R_BINARY ? ", skipped to the next text frame" : "", more);
	warn(rp, vehicle, why, msg, sample);
}

void report_refused(struct report *rp, const char *device)
{
	char msg[256];

	/* The line that showed the device is the one turned away. */
	rp->t.rejected++;
	rp->t.by_reason[R_UNKNOWN_DEVICE]++;
	snprintf(msg, sizeof(msg), "device %s is not in the devices file: connection closed after line %" PRIu64,
		 device, rp->t.lines);
	warn(rp, device, R_UNKNOWN_DEVICE, msg, NULL);
}

void report_proxy(struct report *rp, const char *why, const char *got, size_t n)
{
	char sample[SAMPLE_SIZE], msg[512], text[600];
	struct event ev = { 0 };

	escape_sample(sample, sizeof(sample), got, n, 0);
	if (n)
		snprintf(msg, sizeof(msg), "no valid PROXY protocol header (%s): \"%s\": connection closed", why,
			 sample);
	else
		snprintf(msg, sizeof(msg), "no valid PROXY protocol header (%s): connection closed", why);
	snprintf(text, sizeof(text), "%s: %s", who(rp->peer), msg);
	ev.priority = 4;
	ev.message = msg;
	ev.text = text;
	ev.raw = n ? sample : NULL;
	text_field(&ev, "END_REASON", "proxy-header");
	text_field(&ev, "PROXY_ERROR", why);
	field(&ev, "BYTES_READ", n);
	sink_event(rp->sink, rp->peer, &ev);
}

void report_summary(struct report *rp, const char *vehicle)
{
	const struct tally *t = &rp->t;
	char reasons[256] = "", *p = reasons, undelivered[160] = "", msg[700], text[800];
	size_t left = sizeof(reasons);
	const char *suppressed = rp->limit.suppressed ? ", some rejects not logged" : "";
	struct event ev = { 0 };

	for (int r = 1; r < R_COUNT; r++) {
		if (!t->by_reason[r])
			continue;
		int k = snprintf(p, left, "%s%s %" PRIu64, p == reasons ? " (" : ", ", reason_name((enum reason)r),
				 t->by_reason[r]);
		if (k < 0 || (size_t)k >= left)
			break;
		p += k;
		left -= (size_t)k;
	}
	if (p != reasons && left > 1)
		memcpy(p, ")", 2);
	if (t->undelivered)
		snprintf(undelivered, sizeof(undelivered), ", %" PRIu64 " not delivered", t->undelivered);
	char by[160] = "", filtered[200] = "";
	uint64_t nfiltered = 0;
	size_t bl = 0;
	for (int k = 0; k < FL_COUNT; k++) {
		if (!t->filtered[k])
			continue;
		nfiltered += t->filtered[k];
		int w = snprintf(by + bl, sizeof(by) - bl, "%s%s %" PRIu64, bl ? ", " : "",
				 filter_name((enum filter_kind)k), t->filtered[k]);
		if (w > 0 && (size_t)w < sizeof(by) - bl)
			bl += (size_t)w;
	}
	if (nfiltered)
		snprintf(filtered, sizeof(filtered), ", %" PRIu64 " filtered (%s)", nfiltered, by);
	/* Said only when it happened, so the usual summary reads as before. */
	if (rp->protocol && strcmp(rp->protocol, "nmea") != 0) {
		size_t k = strlen(undelivered);
		snprintf(undelivered + k, sizeof(undelivered) - k, ", protocol %s", rp->protocol);
	}
	if (t->replies) {
		size_t k = strlen(undelivered);
		snprintf(undelivered + k, sizeof(undelivered) - k, ", %" PRIu64 " replies", t->replies);
	}
	if (t->crashes || t->restarts) {
		size_t k = strlen(undelivered);
		snprintf(undelivered + k, sizeof(undelivered) - k, ", %" PRIu64 " worker crash(es), %" PRIu64 " restart(s)",
			 t->crashes, t->restarts);
	}
	snprintf(msg, sizeof(msg),
		 "%s: %s: %" PRIu64 " accepted, %" PRIu64 " ignored, %" PRIu64 " rejected%s, %" PRIu64 " bytes%s%s%s",
		 who(rp->peer), t->end, t->accepted, t->ignored, t->rejected, reasons, t->bytes, filtered, suppressed,
		 undelivered);
	snprintf(text, sizeof(text),
		 "%s%s%s: %s: %" PRIu64 " accepted, %" PRIu64 " ignored, %" PRIu64 " rejected%s, %" PRIu64
		 " bytes%s%s%s",
		 who(rp->peer), vehicle ? " " : "", vehicle ? vehicle : "", t->end, t->accepted, t->ignored,
		 t->rejected, reasons, t->bytes, filtered, suppressed, undelivered);
	/* A balancer's health check (a LOCAL header, then nothing) is logged
	 * at debug priority: every few seconds, it says nothing about vehicles. */
	ev.priority = rp->local && !t->bytes ? 7 : 6;
	ev.vehicle = vehicle;
	ev.message = msg;
	ev.text = text;
	text_field(&ev, "END_REASON", t->end);
	field(&ev, "LINES_ACCEPTED", t->accepted);
	field(&ev, "LINES_IGNORED", t->ignored);
	field(&ev, "LINES_REJECTED", t->rejected);
	field(&ev, "BYTES_READ", t->bytes);
	field(&ev, "REJECTS_SUPPRESSED", rp->limit.suppressed);
	field(&ev, "RECORDS_UNDELIVERED", t->undelivered);
	field(&ev, "RECORDS_WRITTEN", t->records);
	field(&ev, "RECORDS_FILTERED", nfiltered);
	field(&ev, "MERGE_CONFLICTS", t->conflicts);
	field(&ev, "WORKER_CRASHES", t->crashes);
	field(&ev, "WORKER_RESTARTS", t->restarts);
	if (rp->protocol)
		text_field(&ev, "PROTOCOL", rp->protocol);
	if (t->replies)
		field(&ev, "REPLIES", t->replies);
	if (nfiltered)
		text_field(&ev, "FILTERED_BY", by);
	if (rp->sandbox)
		text_field(&ev, "SANDBOX", rp->sandbox);
	if (rp->peer->via[0])
		text_field(&ev, "PROXY_VIA", rp->peer->via);
	sink_event(rp->sink, rp->peer, &ev);
}
