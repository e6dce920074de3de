/* Which devices may report (--devices=PATH): vehicle ids, and peer
 * addresses or networks for vehicles known only by their address.  Loaded
 * once per connection (each connection is a process of its own), so a
 * changed file applies to the next connection. */
#ifndef VLSINK_DEVICES_H
#define VLSINK_DEVICES_H

#include <stddef.h>

#include "core/record.h"

/* A fixed cap with a reason: a fleet's list, not a database; 65536 ids of
 * up to 64 bytes are about 5 MiB, allocated only as the file holds them. */
#define DEVICES_MAX 65536
#define DEVICES_FILE_MAX (8 << 20)

struct net {
	unsigned char addr[16]; /* IPv4 as ::ffff:a.b.c.d. */
	unsigned prefix;        /* Bits that must match, of 128. */
};

struct devices {
	char (*id)[VEHICLE_MAX + 1]; /* Sorted, for bsearch. */
	size_t nid;
	struct net *net;
	size_t nnet;
};

/* Parses the file's text: one entry a line, "# comment" and blank lines
 * skipped, an id, or "addr:IP" / "addr:IP/PREFIX".  0, or -1 with *line
 * the first bad line (1-based) and *why the reason. */
int devices_parse(struct devices *d, const char *text, size_t n, size_t *line, const char **why);
int devices_load(struct devices *d, const char *path, size_t *line, const char **why);
void devices_free(struct devices *d);
int devices_has_id(const struct devices *d, const char *id);
/* addr is numeric text, as the peer's. */
int devices_has_addr(const struct devices *d, const char *addr);

#endif
