/* The line dispatcher: which parser a line of an NMEA connection goes to
 * (NMEA 0183, gpsd JSON or CSV), by its first bytes. */
#ifndef VLSINK_PARSE_H
#define VLSINK_PARSE_H

#include <stddef.h>

#include "vlsink/parse/session.h"

enum verdict parse_line(struct session *s, const char *p, size_t n, struct parse_out *out);
/* A line over --max-line, from its first bytes: V_IGNORED or V_REJECT. */
enum verdict parse_overlong(const char *p, size_t n);

#endif
