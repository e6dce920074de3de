/* The connection: which descriptor it is, who is calling, and reading it
 * with the idle timeout and the stop signals in view. */
#ifndef VLSINK_INPUT_H
#define VLSINK_INPUT_H

#include <stdint.h>
#include <sys/types.h>

#include "peer.h"

/* fd 0, or fd 3 under LISTEN_FDS=1; exits 66 when what was passed is not
 * one connection. */
int input_open(void);
int input_is_socket(int fd);
void input_peer(int fd, struct peer *peer);

enum input_end { IN_DATA, IN_EOF, IN_STOP, IN_IDLE, IN_RESET, IN_ERROR, IN_WAKE, IN_AGAIN };

/* Waits for input, but not past idle_deadline (monotonic ms, 0 for none),
 * and reads at most room bytes.  IN_DATA with *got > 0, IN_WAKE when wake
 * (monotonic ms, 0 for none) came first, or why the stream ended. */
enum input_end input_read(int fd, char *buf, size_t room, int64_t idle_deadline, int64_t wake, size_t *got);
/* One read of a descriptor poll() found ready: IN_DATA, IN_AGAIN (nothing
 * after all), or why the stream ended. */
enum input_end input_take(int fd, char *buf, size_t room, size_t *got);

#endif
