/* Stop signals.  The flag is this file's alone; a handler sets it.  The
 * signals are blocked outside ppoll(), and ppoll() does not deliver a pending
 * one when a descriptor is ready at once (or the timeout is zero), so after
 * every wait that a signal did not cut short one sigpending() looks for it:
 * one system call per wake, instead of one per question asked. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "stop.h"

static volatile sig_atomic_t flag;
static sigset_t wait_mask;

static void on_signal(int sig)
{
	(void)sig;
	flag = 1;
}

void stop_init(void)
{
	struct sigaction sa;
	sigset_t block;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);

	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, &wait_mask);
	sigdelset(&wait_mask, SIGTERM);
	sigdelset(&wait_mask, SIGINT);
}

static void look_pending(void)
{
	sigset_t p;

	if (!flag && sigpending(&p) == 0 && (sigismember(&p, SIGTERM) == 1 || sigismember(&p, SIGINT) == 1))
		flag = 1;
}

int stop_requested(void)
{
	return flag;
}

int stop_poll(struct pollfd *fds, nfds_t nfds, int timeout_ms)
{
	struct timespec ts = { timeout_ms / 1000, (long)(timeout_ms % 1000) * 1000000 };

	/* Once stopping, waits go on (the grace period) and are not cut short
	 * by a second signal. */
	int r = ppoll(nfds ? fds : NULL, nfds, timeout_ms < 0 ? NULL : &ts, flag ? NULL : &wait_mask);
	if (r >= 0) {
		int e = errno;
		look_pending();
		errno = e;
	}
	return r;
}

int stop_may_wait(int64_t *deadline)
{
	if (!stop_requested())
		return 1;
	if (!*deadline)
		*deadline = monotonic_ms() + STOP_GRACE_MS;
	return monotonic_ms() < *deadline;
}
