/* The stop request (SIGTERM, SIGINT), owned here and asked for through
 * functions, never through a shared variable.  The two signals are blocked
 * except while waiting in stop_poll(), so one that arrives between a check
 * and a wait is never missed, and no system call elsewhere is cut short. */
#ifndef VLSINK_STOP_H
#define VLSINK_STOP_H

#include <poll.h>
#include <stdint.h>

/* Once stopping, how long an absent journal, reader or consumer is still
 * waited for. */
#define STOP_GRACE_MS 5000

/* Installs the handlers, blocks the two signals and ignores SIGPIPE. */
void stop_init(void);
/* True once a stop signal has come: delivered in a stop_poll(), or pending
 * when the last one returned. */
int stop_requested(void);
/* poll(2) with the stop signals let in until one has come: -1 with errno
 * EINTR when one comes meanwhile; once stopping, a plain wait.  timeout_ms
 * < 0 waits without limit; nfds 0 just sleeps. */
int stop_poll(struct pollfd *fds, nfds_t nfds, int timeout_ms);
/* For loops that wait on the outside world: true while running, and for
 * STOP_GRACE_MS once a stop has been asked for (*deadline starts at 0). */
int stop_may_wait(int64_t *deadline);

#endif
