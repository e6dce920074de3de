/* A strict, bounded JSON validator for the collector: is a byte range exactly
 * one JSON object?  No allocation, no recursion, no dependency beyond libc. */
#ifndef VLSINK_JSON_H
#define VLSINK_JSON_H

#include <stddef.h>

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
	JSON_TRUNCATED,  /* Ended inside the object. */
	JSON_TRAILING,   /* Something other than whitespace after the object. */
	JSON_ERR_COUNT
};

/* Checks p[0, n) and returns JSON_OK or why not; *at (if not NULL) gets the
 * offset of the offending byte (n when the input ended too early). */
enum json_err json_check_object(const char *p, size_t n, size_t *at);

/* 1 when p[0, n) is exactly one JSON object, else 0. */
int json_valid_object(const char *p, size_t n);

/* A short name for a reason, such as "bad-number". */
const char *json_reason(enum json_err e);

#endif
