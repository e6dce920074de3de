/* Strict JSON object validation (RFC 8259, plus the I-JSON rules that strings
 * are valid UTF-8 without lone surrogates).  One pass, no allocation: nesting
 * is an explicit bit stack of JSON_MAX_DEPTH entries, not recursion, so no
 * input can grow the C stack.  Duplicate keys are not detected: that would
 * need memory in proportion to the input. */
#include <stdint.h>
#include <string.h>

#include "json.h"

struct scan {
	const unsigned char *p;
	size_t n, i;
};

static int is_ws(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void skip_ws(struct scan *s)
{
	while (s->i < s->n && is_ws(s->p[s->i]))
		s->i++;
}

static int is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static int hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Four hex digits after "\u" at s->i; the code unit, or -1 (error set). */
static long hex4(struct scan *s, enum json_err *err)
{
	long v = 0;

	for (int k = 0; k < 4; k++, s->i++) {
		if (s->i >= s->n) {
			*err = JSON_TRUNCATED;
			return -1;
		}
		int h = hex_value(s->p[s->i]);
		if (h < 0) {
			*err = JSON_BAD_STRING;
			return -1;
		}
		v = v * 16 + h;
	}
	return v;
}

static enum json_err escape(struct scan *s)
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
static enum json_err utf8(struct scan *s)
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

/* A string; s->i is at the opening quote. */
static enum json_err string(struct scan *s)
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
static int glued(const struct scan *s)
{
	if (s->i >= s->n)
		return 0;
	unsigned char c = s->p[s->i];
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '.' || c == '+' ||
	       c == '-' || c == '_' || c >= 0x80;
}

static enum json_err number(struct scan *s)
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

static enum json_err literal(struct scan *s)
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

/* An object key and its colon; s->i is at the key's first byte. */
static enum json_err key(struct scan *s)
{
	enum json_err e;

	skip_ws(s);
	if (s->i >= s->n)
		return JSON_TRUNCATED;
	if (s->p[s->i] != '"')
		return JSON_SYNTAX;
	if ((e = string(s)) != JSON_OK)
		return e;
	skip_ws(s);
	if (s->i >= s->n)
		return JSON_TRUNCATED;
	if (s->p[s->i] != ':')
		return JSON_SYNTAX;
	s->i++;
	return JSON_OK;
}

static enum json_err check(struct scan *s)
{
	uint32_t is_object = 0; /* Bit d-1 set: level d is an object. */
	int depth = 0, want_value = 1;
	enum json_err e;

	skip_ws(s);
	if (s->i >= s->n)
		return JSON_EMPTY;
	if (s->p[s->i] != '{') {
		unsigned char c = s->p[s->i];
		return c == '[' || c == '"' || c == '-' || is_digit(c) || c == 't' || c == 'f' || c == 'n'
			       ? JSON_NOT_OBJECT
			       : JSON_SYNTAX;
	}
	for (;;) {
		skip_ws(s);
		if (want_value) {
			if (s->i >= s->n)
				return JSON_TRUNCATED;
			unsigned char c = s->p[s->i];
			if (c == '{' || c == '[') {
				if (depth == JSON_MAX_DEPTH)
					return JSON_TOO_DEEP;
				if (c == '{')
					is_object |= UINT32_C(1) << depth;
				else
					is_object &= ~(UINT32_C(1) << depth);
				depth++;
				s->i++;
				skip_ws(s);
				if (s->i < s->n && s->p[s->i] == (c == '{' ? '}' : ']')) {
					s->i++;
					depth--;
					want_value = 0;
				} else if (c == '{' && (e = key(s)) != JSON_OK) {
					return e;
				}
				continue;
			}
			if (c == '"')
				e = string(s);
			else if (c == '-' || is_digit(c) || c == '+' || c == '.')
				e = number(s);
			else
				e = literal(s);
			if (e != JSON_OK)
				return e;
			want_value = 0;
			continue;
		}
		if (depth == 0)
			return s->i == s->n ? JSON_OK : JSON_TRAILING;
		if (s->i >= s->n)
			return JSON_TRUNCATED;
		int obj = ((is_object >> (depth - 1)) & 1) != 0;
		unsigned char c = s->p[s->i];
		if (c == ',') {
			s->i++;
			if (obj && (e = key(s)) != JSON_OK)
				return e;
			want_value = 1;
		} else if (c == (obj ? '}' : ']')) {
			s->i++;
			depth--;
		} else {
			return JSON_SYNTAX;
		}
	}
}

enum json_err json_check_object(const char *p, size_t n, size_t *at)
{
	struct scan s = { (const unsigned char *)p, n, 0 };
	enum json_err e = check(&s);

	if (at)
		*at = s.i;
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
