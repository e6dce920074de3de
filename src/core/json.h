/* The one JSON scanner: a pull tokenizer over a byte range, strict to RFC
 * 8259 plus the I-JSON rule that strings are valid UTF-8 without lone
 * surrogates.  No allocation and no recursion: nesting is a bit stack of
 * JSON_MAX_DEPTH entries.  gpsd's TPV parser, the collector's validator and
 * the exporter's record reader all read JSON through it. */
#ifndef VLSINK_JSON_H
#define VLSINK_JSON_H

#include <stddef.h>
#include <stdint.h>

/* Containers nest at most this deep; the outer object is level 1. */
#define JSON_MAX_DEPTH 16

enum json_err {
	JSON_OK,
	JSON_EMPTY,      /* Nothing but whitespace. */
	JSON_NOT_OBJECT, /* Valid start of a value, but not "{". */
	JSON_TOO_DEEP,   /* More than JSON_MAX_DEPTH nested containers. */
	JSON_BAD_STRING, /* Control byte, bad escape or lone surrogate in a string. */
	JSON_BAD_UTF8,   /* Malformed, overlong or out-of-range UTF-8. */
	JSON_BAD_NUMBER, /* Not the JSON number grammar (leading zero, "1.", NaN, ...). */
	JSON_SYNTAX,     /* Anything else out of place, or a bad literal. */
	JSON_TRUNCATED,  /* Ended inside the value. */
	JSON_TRAILING,   /* Something other than whitespace after the value. */
	JSON_ERR_COUNT
};

enum json_type {
	JSON_OBJECT_START,
	JSON_OBJECT_END,
	JSON_ARRAY_START,
	JSON_ARRAY_END,
	JSON_KEY,    /* An object member's name; its value comes next. */
	JSON_STRING,
	JSON_NUMBER,
	JSON_TRUE,
	JSON_FALSE,
	JSON_NULL,
	JSON_DONE, /* The value ended, and nothing but whitespace after it. */
	JSON_FAIL, /* Not JSON: json.err says why, json.i where. */
};

struct json_token {
	enum json_type type;
	const char *p; /* KEY, STRING: the text between the quotes, escapes as
			* sent; NUMBER: the number's text. */
	size_t n;
	int escaped;   /* The string holds a backslash escape. */
	int depth;     /* Containers around it: an object's members are at 1. */
};

struct json {
	const unsigned char *p;
	size_t n, i;
	uint32_t is_object; /* Bit d-1 set: container level d is an object. */
	int depth, state;
	enum json_err err;
};

void json_init(struct json *j, const char *p, size_t n);
enum json_type json_next(struct json *j, struct json_token *t);

/* A NUMBER token's value: plain decimals exactly as the parsers' own
 * scanner reads them, exponents through strtod.  0, or -1 if out of reach. */
int json_number_value(const struct json_token *t, double *v);

/* Is p[0, n) exactly one JSON object?  JSON_OK or why not; *at (if not
 * NULL) gets the offset of the offending byte (n when it ended too early). */
enum json_err json_check_object(const char *p, size_t n, size_t *at);
int json_valid_object(const char *p, size_t n);

/* A short name for a reason, such as "bad-number". */
const char *json_reason(enum json_err e);

#endif
