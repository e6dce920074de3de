/* The PROXY protocol header (HAProxy's doc/proxy-protocol.txt, versions 1
 * and 2) that a load balancer sends ahead of the stream to say who the
 * client is.  A pure parser over the bytes received so far; no I/O. */
#ifndef VLSINK_PROXY_H
#define VLSINK_PROXY_H

#include <stddef.h>

/* Version 1 is one text line of at most 107 bytes with its CRLF. */
#define PROXY_V1_MAX 107
/* The spec designs both versions to fit the smallest TCP segment every host
 * must accept (576 - 40 bytes); a longer version 2 header is refused, which
 * still leaves 284 bytes of TLVs after the longest (UNIX) address block. */
#define PROXY_MAX 536
/* The spec asks for at least 3 s, to cover a TCP retransmission. */
#define PROXY_TIMEOUT_MS 5000

/* Which versions --proxy-protocol accepts; 0 is off. */
enum proxy_accept { PROXY_V1 = 1, PROXY_V2 = 2, PROXY_ANY = 3 };

enum proxy_kind {
	PROXY_CLIENT, /* The client's address and port are given. */
	PROXY_LOCAL,  /* v2 LOCAL, v1 UNKNOWN, v2 UNSPEC: the connection's own endpoints stand. */
	PROXY_UNIX,   /* The client came over a UNIX socket: it has no address. */
};

struct proxy_header {
	int version;            /* 1 or 2. */
	enum proxy_kind kind;
	int family;             /* AF_INET or AF_INET6 for PROXY_CLIENT. */
	unsigned char addr[16]; /* The client's address, network order (4 bytes for AF_INET). */
	unsigned port;          /* The client's port. */
	size_t need;            /* When proxy_parse() returns 0: at least this many more bytes. */
	const char *why;        /* When it returns -1. */
};

/* p[0, n) are the first bytes of the connection.  Returns the header's
 * length (> 0, at most PROXY_MAX) with h filled; 0 when they are a valid
 * beginning of a header, h->need being a lower bound of the bytes still
 * missing (reading that many never reads past the header); or -1 with
 * h->why.  accept is a set of enum proxy_accept bits. */
int proxy_parse(const unsigned char *p, size_t n, int accept, struct proxy_header *h);

#endif
