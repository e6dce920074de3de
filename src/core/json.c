/* The scanner.  Every token is checked in full before it is handed out, so
 * a caller that stops early has still seen only valid JSON, and one that
 * reads to JSON_DONE has validated the whole text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "scan.h"

/* What the scanner expects next. */
enum { WANT_VALUE, WANT_FIRST_MEMBER, WANT_FIRST_ELEMENT, WANT_KEY, AFTER_VALUE, FINISHED };

static int is_ws(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void skip_ws(struct json *s)
{
	while (s->i < s->n && is_ws(s->p[s->i]))
		s->i++;
}

static int is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

/* Four hex digits after "\u" at s->i; the code unit, or -1 (error set). */
static long hex4(struct json *s, enum json_err *err)
{
	long v = 0;

	for (int k = 0; k < 4; k++, s->i++) {
		if (s->i >= s->n) {
			*err = JSON_TRUNCATED;
			return -1;
		}
		int h = scan_hexdigit(s->p[s->i]);
		if (h < 0) {
			*err = JSON_BAD_STRING;
			return -1;
		}
		v = v * 16 + h;
	}
	return v;
}

static enum json_err escape(struct json *s)
{
	enum json_err err = JSON_OK;

	if (s->i >= s->n)
		return JSON_TRUNCATED;
	switch (s->p[s->i]) {
	case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
		s->i++;
		return JSON_OK;
	case 'u':
		break;
	default:
		return JSON_BAD_STRING;
	}
	s->i++;
	long u = hex4(s, &err);
	if (u < 0)
		return err;
	if (u >= 0xdc00 && u <= 0xdfff) {
		s->i -= 4;
		return JSON_BAD_STRING; /* A low surrogate with no high one before it. */
	}
	if (u < 0xd800 || u > 0xdbff)
		return JSON_OK;
	/* A high surrogate must be followed at once by an escaped low one. */
	if (s->i + 2 > s->n)
		return JSON_TRUNCATED;
	if (s->p[s->i] != '\\' || s->p[s->i + 1] != 'u')
		return JSON_BAD_STRING;
	s->i += 2;
	u = hex4(s, &err);
	if (u < 0)
		return err;
	if (u < 0xdc00 || u > 0xdfff) {
		s->i -= 4;
		return JSON_BAD_STRING;
	}
	return JSON_OK;
}

/* One UTF-8 sequence of two or more bytes at s->i (Unicode table 3-7: no
 * overlong forms, no surrogates, nothing above U+10FFFF). */
static enum json_err utf8(struct json *s)
{
	unsigned char c = s->p[s->i];
	unsigned char lo = 0x80, hi = 0xbf;
	int more;

	if (c >= 0xc2 && c <= 0xdf) {
		more = 1;
	} else if (c >= 0xe0 && c <= 0xef) {
		more = 2;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		more = 3;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
	} else {
		return JSON_BAD_UTF8;
	}
	s->i++;
	for (int k = 0; k < more; k++, s->i++) {
		if (s->i >= s->n)
			return JSON_TRUNCATED;
		unsigned char t = s->p[s->i];
		if (t < lo || t > hi)
			return JSON_BAD_UTF8;
		lo = 0x80;
		hi = 0xbf;
	}
	return JSON_OK;
}

/* A string; s->i is at the opening quote.  *escaped is set if it holds a
 * backslash escape. */
static enum json_err string(struct json *s, int *escaped)
{
	s->i++;
	for (;;) {
		/* Plain printable ASCII is by far the common case. */
		while (s->i < s->n && s->p[s->i] >= 0x20 && s->p[s->i] < 0x80 && s->p[s->i] != '"' &&
		       s->p[s->i] != '\\')
			s->i++;
		if (s->i >= s->n)
			return JSON_TRUNCATED;
		unsigned char c = s->p[s->i];
		enum json_err e;
		if (c == '"') {
			s->i++;
			return JSON_OK;
		}
		if (c < 0x20)
			return JSON_BAD_STRING;
		if (c == '\\') {
			s->i++;
			*escaped = 1;
			e = escape(s);
		} else {
			e = utf8(s);
		}
		if (e != JSON_OK)
			return e;
	}
}

/* After a number or a literal only a delimiter may follow: this is what
 * catches "01", "1.2.3", "1e5x" and "truex". */
static int glued(const struct json *s)
{
	if (s->i >= s->n)
		return 0;
	unsigned char c = s->p[s->i];
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '.' || c == '+' ||
	       c == '-' || c == '_' || c >= 0x80;
}

static enum json_err number(struct json *s)
{
	if (s->p[s->i] == '-')
		s->i++;
	if (s->i >= s->n)
		return JSON_TRUNCATED;
	if (s->p[s->i] == '0') {
		s->i++;
	} else if (is_digit(s->p[s->i])) {
		while (s->i < s->n && is_digit(s->p[s->i]))
			s->i++;
	} else {
		return JSON_BAD_NUMBER;
	}
	if (s->i < s->n && s->p[s->i] == '.') {
		s->i++;
		if (s->i >= s->n || !is_digit(s->p[s->i]))
			return JSON_BAD_NUMBER;
		while (s->i < s->n && is_digit(s->p[s->i]))
			s->i++;
	}
	if (s->i < s->n && (s->p[s->i] == 'e' || s->p[s->i] == 'E')) {
		s->i++;
		if (s->i < s->n && (s->p[s->i] == '+' || s->p[s->i] == '-'))
			s->i++;
		if (s->i >= s->n || !is_digit(s->p[s->i]))
			return JSON_BAD_NUMBER;
		while (s->i < s->n && is_digit(s->p[s->i]))
			s->i++;
	}
	return glued(s) ? JSON_BAD_NUMBER : JSON_OK;
}

static enum json_err literal(struct json *s)
{
	static const char *const words[] = { "true", "false", "null" };

	for (size_t k = 0; k < sizeof(words) / sizeof(words[0]); k++) {
		size_t len = strlen(words[k]);
		if ((unsigned char)words[k][0] != s->p[s->i])
			continue;
		if (s->n - s->i < len)
			return memcmp(s->p + s->i, words[k], s->n - s->i) != 0 ? JSON_SYNTAX : JSON_TRUNCATED;
		if (memcmp(s->p + s->i, words[k], len) != 0)
			return JSON_SYNTAX;
		s->i += len;
		return glued(s) ? JSON_SYNTAX : JSON_OK;
	}
	return JSON_SYNTAX;
}

void json_init(struct json *j, const char *p, size_t n)
{
	memset(j, 0, sizeof(*j));
	j->p = (const unsigned char *)p;
	j->n = n;
	j->state = WANT_VALUE;
}

static enum json_type fail(struct json *j, struct json_token *t, enum json_err e)
{
	j->err = e;
	j->state = FINISHED;
	t->type = JSON_FAIL;
	return JSON_FAIL;
}

static enum json_type emit(struct json_token *t, enum json_type type, const unsigned char *p, size_t n,
			   int depth)
{
	t->type = type;
	t->p = (const char *)p;
	t->n = n;
	t->depth = depth;
	return type;
}

static enum json_type open_container(struct json *j, struct json_token *t, unsigned char c)
{
	if (j->depth == JSON_MAX_DEPTH)
		return fail(j, t, JSON_TOO_DEEP);
	if (c == '{')
		j->is_object |= UINT32_C(1) << j->depth;
	else
		j->is_object &= ~(UINT32_C(1) << j->depth);
	emit(t, c == '{' ? JSON_OBJECT_START : JSON_ARRAY_START, j->p + j->i, 1, j->depth);
	j->depth++;
	j->i++;
	j->state = c == '{' ? WANT_FIRST_MEMBER : WANT_FIRST_ELEMENT;
	return t->type;
}

static enum json_type close_container(struct json *j, struct json_token *t)
{
	int obj = ((j->is_object >> (j->depth - 1)) & 1) != 0;

	j->depth--;
	emit(t, obj ? JSON_OBJECT_END : JSON_ARRAY_END, j->p + j->i, 1, j->depth);
	j->i++;
	j->state = AFTER_VALUE;
	return t->type;
}

static enum json_type value(struct json *j, struct json_token *t)
{
	size_t from = j->i;
	enum json_err e;

	if (j->i >= j->n)
		return fail(j, t, JSON_TRUNCATED);
	unsigned char c = j->p[j->i];
	if (c == '{' || c == '[')
		return open_container(j, t, c);
	t->escaped = 0;
	if (c == '"') {
		if ((e = string(j, &t->escaped)) != JSON_OK)
			return fail(j, t, e);
		emit(t, JSON_STRING, j->p + from + 1, j->i - from - 2, j->depth);
	} else if (c == '-' || is_digit(c) || c == '+' || c == '.') {
		if ((e = number(j)) != JSON_OK)
			return fail(j, t, e);
		emit(t, JSON_NUMBER, j->p + from, j->i - from, j->depth);
	} else {
		if ((e = literal(j)) != JSON_OK)
			return fail(j, t, e);
		emit(t, c == 't' ? JSON_TRUE : c == 'f' ? JSON_FALSE : JSON_NULL, j->p + from, j->i - from,
		     j->depth);
	}
	j->state = AFTER_VALUE;
	return t->type;
}

/* An object member's name and its colon; j->i is at the name's first byte
 * or the whitespace before it. */
static enum json_type key(struct json *j, struct json_token *t)
{
	enum json_err e;

	skip_ws(j);
	if (j->i >= j->n)
		return fail(j, t, JSON_TRUNCATED);
	if (j->p[j->i] != '"')
		return fail(j, t, JSON_SYNTAX);
	size_t from = j->i;
	t->escaped = 0;
	if ((e = string(j, &t->escaped)) != JSON_OK)
		return fail(j, t, e);
	emit(t, JSON_KEY, j->p + from + 1, j->i - from - 2, j->depth);
	skip_ws(j);
	if (j->i >= j->n)
		return fail(j, t, JSON_TRUNCATED);
	if (j->p[j->i] != ':')
		return fail(j, t, JSON_SYNTAX);
	j->i++;
	j->state = WANT_VALUE;
	return JSON_KEY;
}

enum json_type json_next(struct json *j, struct json_token *t)
{
	for (;;) {
		skip_ws(j);
		switch (j->state) {
		case WANT_VALUE:
			if (j->depth == 0 && j->i >= j->n)
				return fail(j, t, JSON_EMPTY);
			return value(j, t);
		case WANT_FIRST_MEMBER:
			if (j->i < j->n && j->p[j->i] == '}')
				return close_container(j, t);
			return key(j, t);
		case WANT_FIRST_ELEMENT:
			if (j->i < j->n && j->p[j->i] == ']')
				return close_container(j, t);
			return value(j, t);
		case WANT_KEY:
			return key(j, t);
		case AFTER_VALUE:
			if (j->depth == 0) {
				if (j->i != j->n)
					return fail(j, t, JSON_TRAILING);
				j->state = FINISHED;
				return emit(t, JSON_DONE, j->p + j->i, 0, 0);
			}
			if (j->i >= j->n)
				return fail(j, t, JSON_TRUNCATED);
			int obj = ((j->is_object >> (j->depth - 1)) & 1) != 0;
			unsigned char c = j->p[j->i];
			if (c == ',') {
				j->i++;
				j->state = obj ? WANT_KEY : WANT_VALUE;
				continue;
			}
			if (c == (obj ? '}' : ']'))
				return close_container(j, t);
			return fail(j, t, JSON_SYNTAX);
		default:
			t->type = j->err == JSON_OK ? JSON_DONE : JSON_FAIL;
			return t->type;
		}
	}
}

int json_number_value(const struct json_token *t, double *v)
{
	char buf[64], *end;

	if (!memchr(t->p, 'e', t->n) && !memchr(t->p, 'E', t->n))
		return scan_decimal(t->p, t->n, v);
	if (t->n >= sizeof(buf))
		return -1;
	memcpy(buf, t->p, t->n);
	buf[t->n] = '\0';
	*v = strtod(buf, &end);
	return end == buf + t->n ? 0 : -1;
}

enum json_err json_check_object(const char *p, size_t n, size_t *at)
{
	struct json j;
	struct json_token t;
	enum json_err e = JSON_OK;

	json_init(&j, p, n);
	skip_ws(&j);
	if (j.i >= n) {
		e = JSON_EMPTY;
	} else if (j.p[j.i] != '{') {
		unsigned char c = j.p[j.i];
		e = c == '[' || c == '"' || c == '-' || is_digit(c) || c == 't' || c == 'f' || c == 'n'
			    ? JSON_NOT_OBJECT
			    : JSON_SYNTAX;
	} else {
		enum json_type type;
		while ((type = json_next(&j, &t)) != JSON_DONE && type != JSON_FAIL)
			;
		e = j.err;
	}
	if (at)
		*at = j.i;
	return e;
}

int json_valid_object(const char *p, size_t n)
{
	return json_check_object(p, n, NULL) == JSON_OK;
}

const char *json_reason(enum json_err e)
{
	static const char *const names[JSON_ERR_COUNT] = {
		[JSON_OK] = "ok",
		[JSON_EMPTY] = "empty",
		[JSON_NOT_OBJECT] = "not-object",
		[JSON_TOO_DEEP] = "too-deep",
		[JSON_BAD_STRING] = "bad-string",
		[JSON_BAD_UTF8] = "bad-utf8",
		[JSON_BAD_NUMBER] = "bad-number",
		[JSON_SYNTAX] = "syntax",
		[JSON_TRUNCATED] = "truncated",
		[JSON_TRAILING] = "trailing",
	};

	return (unsigned)e < JSON_ERR_COUNT ? names[e] : "unknown";
}
