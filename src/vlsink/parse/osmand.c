/* OsmAnd / Traccar Client: one HTTP/1.x request a frame.  The position is in
 * the query, a form body, or the JSON body of recent clients; the reply is
 * the HTTP response the client waits for before it sends its next point.
 * The request line and headers are checked strictly: anything the framer
 * let through that is not plain HTTP/1.x is a 400, never a guess. */
#include <math.h>
#include <string.h>

#include "core/json.h"
#include "core/scan.h"
#include "vlsink/parse/proto.h"

/* A decoded parameter value: ids and numbers are far shorter. */
#define VALUE_MAX 64
#define KEY_MAX 16
/* The longest method token taken before it is called a syntax error. */
#define METHOD_MAX 16

enum {
	F_ID = 1 << 0,
	F_LAT = 1 << 1,
	F_LON = 1 << 2,
	F_TIME = 1 << 3,
	F_SPEED = 1 << 4,
	F_COURSE = 1 << 5,
	F_ALT = 1 << 6,
	F_ACC = 1 << 7,
	F_HDOP = 1 << 8,
	F_VALID = 1 << 9,
};

struct fix {
	unsigned seen;
	int valid;
	char id[VEHICLE_MAX + 1];
	double lat, lon, speed, course, alt, acc, hdop;
	int64_t time_ms;
};

enum ctype { CT_NONE, CT_FORM, CT_JSON, CT_OTHER };

struct request {
	int get, close;
	const char *query, *body;
	size_t query_n, body_n;
	enum ctype ctype;
};

static const char reply_ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
static const char reply_ok_close[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
static const char reply_400[] = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
static const char reply_405[] =
	"HTTP/1.1 405 Method Not Allowed\r\nAllow: GET, POST\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
_Static_assert(sizeof(reply_405) <= REPLY_MAX && sizeof(reply_ok_close) <= REPLY_MAX, "replies fit");

static void set_reply(struct frame_out *out, const char *r, size_t n, int close)
{
	memcpy(out->reply, r, n);
	out->reply_n = n;
	out->close_after_reply = close;
}

static enum verdict reject(struct frame_out *out, enum reason why)
{
	out->nrec = 0;
	out->why = why;
	set_reply(out, reply_400, sizeof(reply_400) - 1, 1);
	return V_REJECT;
}

static int lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

static int ieq(const char *p, size_t n, const char *lit)
{
	size_t l = strlen(lit);

	if (n != l)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (lower((unsigned char)p[i]) != lit[i])
			return 0;
	return 1;
}

static int is_tchar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* The next line of the head: [p, *eol) without its CRLF or LF; *next after
 * it.  -1 if no line end. */
static int head_line(const char *p, size_t n, size_t at, size_t *eol, size_t *next)
{
	const char *nl = memchr(p + at, '\n', n - at);

	if (!nl)
		return -1;
	size_t e = (size_t)(nl - p);
	*next = e + 1;
	if (e > at && p[e - 1] == '\r')
		e--;
	*eol = e;
	return 0;
}

static void trim(const char **p, size_t *n)
{
	while (*n && (**p == ' ' || **p == '\t')) {
		(*p)++;
		(*n)--;
	}
	while (*n && ((*p)[*n - 1] == ' ' || (*p)[*n - 1] == '\t'))
		(*n)--;
}

/* Does a comma-separated header value hold the token? */
static int has_token(const char *p, size_t n, const char *tok)
{
	size_t start = 0;

	for (size_t i = 0; i <= n; i++) {
		if (i < n && p[i] != ',')
			continue;
		const char *t = p + start;
		size_t tn = i - start;
		trim(&t, &tn);
		if (ieq(t, tn, tok))
			return 1;
		start = i + 1;
	}
	return 0;
}

static enum ctype content_type(const char *p, size_t n)
{
	const char *semi = memchr(p, ';', n);
	size_t m = semi ? (size_t)(semi - p) : n;

	trim(&p, &m);
	if (ieq(p, m, "application/x-www-form-urlencoded"))
		return CT_FORM;
	if (ieq(p, m, "application/json"))
		return CT_JSON;
	return CT_OTHER;
}

/* Request line and headers: H_BAD is a 400, H_METHOD a 405. */
enum head { H_OK, H_BAD, H_METHOD };

static enum head read_head(const char *p, size_t n, struct request *rq)
{
	size_t at = 0, eol, next, cl = 0;
	int have_cl = 0, http10;

	memset(rq, 0, sizeof(*rq));
	/* RFC 9112: empty lines before a request line are skipped. */
	while (at < n && (p[at] == '\r' || p[at] == '\n'))
		at++;
	if (head_line(p, n, at, &eol, &next))
		return H_BAD;
	const char *sp1 = memchr(p + at, ' ', eol - at);
	if (!sp1)
		return H_BAD;
	size_t mn = (size_t)(sp1 - (p + at));
	if (mn == 0 || mn > METHOD_MAX)
		return H_BAD;
	for (size_t i = 0; i < mn; i++)
		if (p[at + i] < 'A' || p[at + i] > 'Z')
			return H_BAD;
	const char *t = sp1 + 1;
	const char *sp2 = memchr(t, ' ', (size_t)(p + eol - t));
	if (!sp2 || sp2 == t || *t != '/')
		return H_BAD;
	const char *v = sp2 + 1;
	size_t vn = (size_t)(p + eol - v);
	if (vn == 8 && !memcmp(v, "HTTP/1.1", 8))
		http10 = 0;
	else if (vn == 8 && !memcmp(v, "HTTP/1.0", 8))
		http10 = 1;
	else
		return H_BAD;
	for (const char *c = t; c < sp2; c++)
		if (*c < 0x21 || *c > 0x7e)
			return H_BAD;
	const char *q = memchr(t, '?', (size_t)(sp2 - t));
	if (q) {
		rq->query = q + 1;
		rq->query_n = (size_t)(sp2 - q - 1);
	}
	/* The frame is a close: HTTP/1.0 has no persistent connection unless
	 * negotiated, and vlsink does not negotiate it. */
	rq->close = http10;
	if (mn == 3 && !memcmp(p + at, "GET", 3))
		rq->get = 1;
	else if (!(mn == 4 && !memcmp(p + at, "POST", 4)))
		return H_METHOD;

	for (at = next;;) {
		if (head_line(p, n, at, &eol, &next))
			return H_BAD;
		if (eol == at)
			break;
		const char *colon = memchr(p + at, ':', eol - at);
		if (!colon || colon == p + at)
			return H_BAD;
		size_t nn = (size_t)(colon - (p + at));
		for (size_t i = 0; i < nn; i++)
			if (!is_tchar(p[at + i]))
				return H_BAD;
		const char *val = colon + 1;
		size_t valn = (size_t)(p + eol - val);
		for (size_t i = 0; i < valn; i++)
			if ((val[i] < 0x20 || val[i] > 0x7e) && val[i] != '\t')
				return H_BAD;
		trim(&val, &valn);
		const char *name = p + at;
		if (ieq(name, nn, "content-length")) {
			unsigned len;
			if (scan_uint(val, valn, 100000000, &len) || (have_cl && len != cl))
				return H_BAD;
			cl = len;
			have_cl = 1;
		} else if (ieq(name, nn, "transfer-encoding")) {
			return H_BAD;
		} else if (ieq(name, nn, "connection")) {
			if (has_token(val, valn, "close"))
				rq->close = 1;
		} else if (ieq(name, nn, "content-type")) {
			if (rq->ctype != CT_NONE)
				return H_BAD;
			rq->ctype = content_type(val, valn);
		}
		at = next;
	}
	if (n - next != cl)
		return H_BAD;
	rq->body = p + next;
	rq->body_n = cl;
	return H_OK;
}

/* Percent-decoding ('+' is a space, as in forms).  -1 on a bad escape or a
 * result over cap; *dn gets the length. */
static int decode(const char *p, size_t n, char *dst, size_t cap, size_t *dn)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)p[i];
		if (c == '%') {
			int hi, lo;
			if (i + 2 >= n)
				return -1;
			hi = scan_hexdigit((unsigned char)p[i + 1]);
			lo = scan_hexdigit((unsigned char)p[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			c = hi * 16 + lo;
			i += 2;
		} else if (c == '+') {
			c = ' ';
		}
		if (k == cap)
			return -1;
		dst[k++] = (char)c;
	}
	*dn = k;
	return 0;
}

static int escapes_ok(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] == '%' && (i + 2 >= n || scan_hexdigit((unsigned char)p[i + 1]) < 0 ||
				    scan_hexdigit((unsigned char)p[i + 2]) < 0))
			return 0;
	return 1;
}

/* Unix seconds (up to 10 digits, with a fraction) or milliseconds (12 or 13
 * digits), told apart by size as no client sends a year past 2199; or
 * ISO 8601 with a zone.  A time without a zone is refused. */
static int timestamp(const char *p, size_t n, int64_t *ms)
{
	size_t digits = 0;

	while (digits < n && p[digits] >= '0' && p[digits] <= '9')
		digits++;
	if (digits == n && n >= 12 && n <= 13) {
		int64_t v = 0;
		for (size_t i = 0; i < n; i++)
			v = v * 10 + (p[i] - '0');
		if (v > INT64_C(7258118399999))
			return -1;
		*ms = v;
		return 0;
	}
	if (digits > 0 && digits <= 11 && (digits == n || p[digits] == '.')) {
		if (digits == 11)
			return -1;
		return scan_epoch(p, n, ms);
	}
	return scan_iso8601(p, n, ms);
}

static int once(struct fix *f, unsigned bit)
{
	if (f->seen & bit)
		return -1;
	f->seen |= bit;
	return 0;
}

static int number(const char *p, size_t n, double *v)
{
	return scan_decimal(p, n, v);
}

/* One query or form parameter, decoded.  R_NONE or why not. */
static enum reason param(struct fix *f, const char *k, size_t kn, const char *v, size_t vn)
{
	char key[KEY_MAX], val[VALUE_MAX];
	size_t keyn, valn;
	double d;

	/* A key too long to be one of ours is someone else's. */
	if (decode(k, kn, key, sizeof(key), &keyn))
		return escapes_ok(k, kn) ? R_NONE : R_SYNTAX;
#define IS(lit) (keyn == sizeof(lit) - 1 && !memcmp(key, lit, keyn))
	int known = IS("id") || IS("deviceid") || IS("lat") || IS("lon") || IS("location") ||
		    IS("timestamp") || IS("speed") || IS("bearing") || IS("heading") || IS("altitude") ||
		    IS("accuracy") || IS("hdop") || IS("valid");
	if (!known) {
		/* Checked for a well-formed encoding, then left alone. */
		if (!escapes_ok(v, vn))
			return R_SYNTAX;
		return R_NONE;
	}
	if (decode(v, vn, val, sizeof(val), &valn))
		return R_SYNTAX;
	if (IS("id") || IS("deviceid")) {
		if (once(f, F_ID) || scan_vehicle(val, valn, f->id))
			return R_SYNTAX;
	} else if (IS("lat")) {
		if (once(f, F_LAT) || number(val, valn, &f->lat))
			return R_SYNTAX;
	} else if (IS("lon")) {
		if (once(f, F_LON) || number(val, valn, &f->lon))
			return R_SYNTAX;
	} else if (IS("location")) {
		const char *comma = memchr(val, ',', valn);
		if (!comma || once(f, F_LAT) || once(f, F_LON) ||
		    number(val, (size_t)(comma - val), &f->lat) ||
		    number(comma + 1, valn - (size_t)(comma - val) - 1, &f->lon))
			return R_SYNTAX;
	} else if (IS("timestamp")) {
		if (once(f, F_TIME))
			return R_SYNTAX;
		if (timestamp(val, valn, &f->time_ms))
			return R_BAD_TIME;
	} else if (IS("valid")) {
		if (once(f, F_VALID))
			return R_SYNTAX;
		if ((valn == 4 && !memcmp(val, "true", 4)) || (valn == 1 && val[0] == '1'))
			f->valid = 1;
		else if ((valn == 5 && !memcmp(val, "false", 5)) || (valn == 1 && val[0] == '0'))
			f->valid = 0;
		else
			return R_SYNTAX;
	} else {
		if (number(val, valn, &d))
			return R_SYNTAX;
		if (IS("speed")) {
			if (once(f, F_SPEED))
				return R_SYNTAX;
			/* Traccar Client sends knots. */
			f->speed = d * KNOT_MPS;
		} else if (IS("bearing") || IS("heading")) {
			if (once(f, F_COURSE))
				return R_SYNTAX;
			f->course = d;
		} else if (IS("altitude")) {
			if (once(f, F_ALT))
				return R_SYNTAX;
			f->alt = d;
		} else if (IS("accuracy")) {
			if (once(f, F_ACC))
				return R_SYNTAX;
			f->acc = d;
		} else {
			if (once(f, F_HDOP))
				return R_SYNTAX;
			f->hdop = d;
		}
	}
#undef IS
	return R_NONE;
}

/* a=1&b=2: pieces split on '&', each on its first '='. */
static enum reason params(struct fix *f, const char *p, size_t n)
{
	size_t start = 0;

	for (size_t i = 0; i <= n; i++) {
		if (i < n && p[i] != '&')
			continue;
		const char *kv = p + start;
		size_t kvn = i - start;
		start = i + 1;
		if (kvn == 0)
			continue;
		const char *eq = memchr(kv, '=', kvn);
		size_t kn = eq ? (size_t)(eq - kv) : kvn;
		enum reason why = param(f, kv, kn, eq ? eq + 1 : kv + kvn, eq ? kvn - kn - 1 : 0);
		if (why != R_NONE)
			return why;
	}
	return R_NONE;
}

enum jctx { J_OTHER, J_ROOT, J_LOCATION, J_COORDS };

static int key_is(const struct json_token *k, const char *lit)
{
	return !k->escaped && k->n == strlen(lit) && !memcmp(k->p, lit, k->n);
}

/* A coords member; negative speed, heading and accuracy are the clients'
 * "unknown" and are left out. */
static enum reason json_coord(struct fix *f, const struct json_token *k, const struct json_token *v)
{
	double d;
	static const struct {
		const char *key;
		unsigned bit;
		int unknown_below_zero;
	} members[] = {
		{ "latitude", F_LAT, 0 }, { "longitude", F_LON, 0 }, { "accuracy", F_ACC, 1 },
		{ "speed", F_SPEED, 1 },  { "heading", F_COURSE, 1 }, { "altitude", F_ALT, 0 },
	};

	for (size_t i = 0; i < sizeof(members) / sizeof(members[0]); i++) {
		if (!key_is(k, members[i].key))
			continue;
		if (v->type == JSON_NULL)
			return R_NONE;
		if (v->type != JSON_NUMBER || json_number_value(v, &d))
			return R_SYNTAX;
		if (members[i].unknown_below_zero && d < 0)
			return R_NONE;
		if (once(f, members[i].bit))
			return R_SYNTAX;
		switch (members[i].bit) {
		case F_LAT: f->lat = d; break;
		case F_LON: f->lon = d; break;
		case F_ACC: f->acc = d; break;
		case F_SPEED: f->speed = d; break; /* Metres per second already. */
		case F_COURSE: f->course = d; break;
		default: f->alt = d; break;
		}
	}
	return R_NONE;
}

/* {"location":{"timestamp":"...","coords":{...},...},"device_id":"..."} */
static enum reason json_body(struct fix *f, const char *p, size_t n)
{
	struct json j;
	struct json_token t, key = { 0 };
	enum jctx ctx[JSON_MAX_DEPTH + 1];
	enum json_type type;
	int have_key = 0;

	json_init(&j, p, n);
	if (json_next(&j, &t) != JSON_OBJECT_START)
		return R_SYNTAX;
	ctx[1] = J_ROOT;
	while ((type = json_next(&j, &t)) != JSON_DONE) {
		if (type == JSON_FAIL)
			return R_SYNTAX;
		if (type == JSON_OBJECT_END || type == JSON_ARRAY_END)
			continue;
		if (type == JSON_KEY) {
			key = t;
			have_key = 1;
			continue;
		}
		enum jctx in = ctx[t.depth];
		int keyed = have_key && in != J_OTHER;
		have_key = 0;
		if (type == JSON_OBJECT_START || type == JSON_ARRAY_START) {
			enum jctx child = J_OTHER;
			if (keyed && in == J_ROOT && key_is(&key, "location")) {
				if (type != JSON_OBJECT_START)
					return R_SYNTAX; /* A batch of locations: not taken. */
				child = J_LOCATION;
			} else if (keyed && in == J_LOCATION && key_is(&key, "coords") && type == JSON_OBJECT_START) {
				child = J_COORDS;
			}
			ctx[t.depth + 1] = child;
			continue;
		}
		if (!keyed)
			continue;
		enum reason why = R_NONE;
		if (in == J_ROOT && key_is(&key, "device_id")) {
			if ((t.type != JSON_STRING && t.type != JSON_NUMBER) || t.escaped || once(f, F_ID) ||
			    scan_vehicle(t.p, t.n, f->id))
				return R_SYNTAX;
		} else if (in == J_LOCATION && key_is(&key, "timestamp")) {
			if ((t.type != JSON_STRING && t.type != JSON_NUMBER) || t.escaped || once(f, F_TIME))
				return R_SYNTAX;
			if (timestamp(t.p, t.n, &f->time_ms))
				return R_BAD_TIME;
		} else if (in == J_COORDS) {
			why = json_coord(f, &key, &t);
		}
		if (why != R_NONE)
			return why;
	}
	return R_NONE;
}
_Static_assert(JSON_MAX_DEPTH + 1 > 3, "room for root, location and coords");

static int in_range(double v, double lo, double hi)
{
	return isfinite(v) && v >= lo && v <= hi;
}

static enum reason fill(const struct fix *f, struct record *r)
{
	memset(r, 0, sizeof(*r));
	if (!in_range(f->lat, -90, 90) || !in_range(f->lon, -180, 180))
		return R_OUT_OF_RANGE;
	r->lat = f->lat;
	r->lon = f->lon;
	if (f->seen & F_TIME) {
		r->time_ms = f->time_ms;
		r->have |= HAVE_TIME;
	}
	/* A query's negative speed or bearing is an iOS client's "unknown". */
	if ((f->seen & F_SPEED) && f->speed >= 0) {
		if (!in_range(f->speed, 0, 2000))
			return R_OUT_OF_RANGE;
		r->speed = f->speed;
		r->have |= HAVE_SPEED;
	}
	if ((f->seen & F_COURSE) && f->course >= 0) {
		if (!in_range(f->course, 0, 360))
			return R_OUT_OF_RANGE;
		r->course = f->course;
		r->have |= HAVE_COURSE;
	}
	if (f->seen & F_ALT) {
		if (!in_range(f->alt, -20000, 1e6))
			return R_OUT_OF_RANGE;
		r->alt = f->alt;
		r->have |= HAVE_ALT;
	}
	if ((f->seen & F_ACC) && f->acc >= 0) {
		if (!in_range(f->acc, 0, 1e6))
			return R_OUT_OF_RANGE;
		r->accuracy = f->acc;
		r->have |= HAVE_ACCURACY;
	}
	if (f->seen & F_HDOP) {
		if (!in_range(f->hdop, 0, 100))
			return R_OUT_OF_RANGE;
		r->hdop = f->hdop;
		r->have |= HAVE_HDOP;
	}
	r->format = SRC_OSMAND;
	return R_NONE;
}

enum verdict osmand_parse(const struct session *s, const char *p, size_t n, struct frame_out *out)
{
	struct request rq;
	struct fix f;
	enum reason why;

	(void)s;
	out->nrec = 0;
	out->reply_n = 0;
	out->close_after_reply = 0;
	out->id[0] = '\0';
	enum head h = read_head(p, n, &rq);
	if (h == H_METHOD) {
		out->why = R_SYNTAX;
		set_reply(out, reply_405, sizeof(reply_405) - 1, 1);
		return V_REJECT;
	}
	if (h != H_OK)
		return reject(out, R_SYNTAX);

	memset(&f, 0, sizeof(f));
	f.valid = 1;
	why = R_NONE;
	if (rq.query)
		why = params(&f, rq.query, rq.query_n);
	if (why == R_NONE && rq.body_n) {
		enum ctype ct = rq.ctype == CT_NONE ? CT_FORM : rq.ctype;
		if (ct == CT_FORM)
			why = params(&f, rq.body, rq.body_n);
		else if (ct == CT_JSON)
			why = json_body(&f, rq.body, rq.body_n);
		else
			why = R_SYNTAX;
	}
	/* The id, when one was read, goes with a reject too: the diagnostic
	 * names the device. */
	if (f.seen & F_ID)
		memcpy(out->id, f.id, sizeof(out->id));
	if (why != R_NONE)
		return reject(out, why);
	if (!(f.seen & F_ID))
		return reject(out, R_SYNTAX);
	if (!f.valid)
		return reject(out, R_NO_FIX);
	unsigned ll = f.seen & (F_LAT | F_LON);
	if (ll == 0) {
		/* An id and no position: the client saying it is alive. */
		set_reply(out, rq.close ? reply_ok_close : reply_ok,
			  rq.close ? sizeof(reply_ok_close) - 1 : sizeof(reply_ok) - 1, rq.close);
		return V_IGNORED;
	}
	if (ll != (F_LAT | F_LON))
		return reject(out, R_SYNTAX);
	if ((why = fill(&f, &out->rec[0])) != R_NONE)
		return reject(out, why);
	out->nrec = 1;
	set_reply(out, rq.close ? reply_ok_close : reply_ok,
		  rq.close ? sizeof(reply_ok_close) - 1 : sizeof(reply_ok) - 1, rq.close);
	return V_RECORD;
}
