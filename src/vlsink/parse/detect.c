/* Which protocol a connection speaks, from its first bytes (--protocol=auto),
 * and the protocols' names.  Pure: the caller says when no more will come. */
#include <string.h>

#include "vlsink/parse/proto.h"

static const char *const names[PROTO_COUNT] = {
	[PROTO_AUTO] = "auto", [PROTO_NMEA] = "nmea", [PROTO_H02] = "h02",
	[PROTO_GPS103] = "gps103", [PROTO_GL200] = "gl200", [PROTO_OSMAND] = "osmand",
};

const char *protocol_name(enum protocol p)
{
	return names[p];
}

enum protocol protocol_from_name(const char *s, size_t n)
{
	for (int p = 0; p < PROTO_COUNT; p++)
		if (strlen(names[p]) == n && memcmp(names[p], s, n) == 0)
			return (enum protocol)p;
	return PROTO_COUNT;
}

static const struct {
	const char *head;
	enum protocol proto;
} heads[] = {
	{ "*", PROTO_H02 },	   { "##,", PROTO_GPS103 },   { "imei:", PROTO_GPS103 },
	{ "+RESP:", PROTO_GL200 }, { "+BUFF:", PROTO_GL200 }, { "+ACK:", PROTO_GL200 },
	{ "+RSP", PROTO_GL200 },   { "+BSP", PROTO_GL200 },   { "+EVT", PROTO_GL200 },
	{ "+BVT", PROTO_GL200 },   { "+INF", PROTO_GL200 },   { "+BNF", PROTO_GL200 },
	{ "+HBD", PROTO_GL200 },   { "+CRD", PROTO_GL200 },   { "+BRD", PROTO_GL200 },
	{ "+LGN", PROTO_GL200 },   { "GET ", PROTO_OSMAND },  { "POST ", PROTO_OSMAND },
	{ "HEAD ", PROTO_OSMAND }, { "PUT ", PROTO_OSMAND },
};

enum protocol protocol_detect(const char *p, size_t n, int eof)
{
	int maybe = 0;
	size_t d = 0;

	for (size_t i = 0; i < sizeof(heads) / sizeof(heads[0]); i++) {
		size_t k = strlen(heads[i].head);
		if (n >= k && memcmp(p, heads[i].head, k) == 0)
			return heads[i].proto;
		if (n < k && memcmp(p, heads[i].head, n) == 0)
			maybe = 1;
	}
	/* A GPS103 heartbeat is the bare id and ';'; a CSV line starts with
	 * digits too, but a ',' follows them. */
	while (d < n && d <= VEHICLE_MAX && p[d] >= '0' && p[d] <= '9')
		d++;
	if (d > 0 && d < n && p[d] == ';')
		return PROTO_GPS103;
	if (d > 0 && d == n && d <= VEHICLE_MAX)
		maybe = 1;
	return maybe && !eof ? PROTO_AUTO : PROTO_NMEA;
}
