/* Who is at the other end of the connection, as records and journal fields
 * name it. */
#ifndef VLSINK_PEER_H
#define VLSINK_PEER_H

struct peer {
	char addr[64]; /* Numeric address, empty when unknown. */
	char port[12]; /* Decimal port, empty when unknown. */
	char text[80]; /* "addr:port" ("[addr]:port" for IPv6), for records. */
	char via[80];  /* The balancer's text when a PROXY header named the client. */
};

#endif
