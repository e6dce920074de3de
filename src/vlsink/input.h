/* The connection: which descriptor it is, who is calling, and reading it
 * with the idle timeout and the stop signals in view. */
#ifndef VLSINK_INPUT_H
#define VLSINK_INPUT_H

#include <stdint.h>
#include <sys/types.h>

#include "vlsink/peer.h"
#include "vlsink/parse/proxy.h"

/* fd 0, or fd 3 under LISTEN_FDS=1 (its LISTEN_FDNAMES name into
 * name[0, cap), else ""); exits 66 when what was passed is not one
 * connection. */
int input_open(char *name, size_t cap);
int input_is_socket(int fd);
void input_peer(int fd, struct peer *peer);

enum proxy_end { PH_OK, PH_BAD, PH_TIMEOUT, PH_EOF, PH_RESET, PH_STOP, PH_ERROR };

/* Reads the PROXY protocol header (accept: enum proxy_accept bits) by
 * deadline (monotonic ms), and not one byte after it: on a socket it peeks,
 * then reads exactly the header's bytes; elsewhere it reads no more than
 * proxy_parse() says is missing.  Only poll, recv, read and the clock: no
 * file or socket is opened.  buf holds PROXY_MAX bytes; *got is how many
 * were taken (or seen, for PH_BAD), for a sample of what came. */
enum proxy_end input_proxy(int fd, int accept, int64_t deadline, struct proxy_header *h, unsigned char *buf,
			   size_t *got);
/* The client the header named becomes the peer (the balancer's own text is
 * kept in via); a LOCAL or UNKNOWN header leaves the peer as it is. */
void input_peer_proxied(struct peer *peer, const struct proxy_header *h);

enum input_end { IN_DATA, IN_EOF, IN_STOP, IN_IDLE, IN_RESET, IN_ERROR, IN_WAKE, IN_AGAIN };

/* Waits for input, but not past idle_deadline (monotonic ms, 0 for none),
 * and reads at most room bytes.  IN_DATA with *got > 0, IN_WAKE when wake
 * (monotonic ms, 0 for none) came first or out_fd (-1 for none) can be
 * written, or why the stream ended. */
enum input_end input_read(int fd, char *buf, size_t room, int64_t idle_deadline, int64_t wake, int out_fd,
			  size_t *got);
/* One read of a descriptor poll() found ready: IN_DATA, IN_AGAIN (nothing
 * after all), or why the stream ended. */
enum input_end input_take(int fd, char *buf, size_t room, size_t *got);

#endif
