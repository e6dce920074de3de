/* journald reads a datagram sender's unit from /proc/PID when it takes the
 * entry, so a process that exits while journald lags behind leaves entries
 * without _SYSTEMD_UNIT (no log stream pins its context: vlsink has none).
 * A datagram counts against the sender's socket (SIOCOUTQ) until journald
 * has received it; 20 ms more covers handling the last one. */
#include <stddef.h>

#include <linux/sockios.h>
#include <sys/ioctl.h>

#include "clock.h"
#include "journald.h"
#include "stop.h"

#define SETTLE_MS 20

void journald_drain(const int *fd, int n, int64_t *stop_deadline)
{
	int64_t deadline = monotonic_ms() + STOP_GRACE_MS;
	int any = 0;

	for (int i = 0; i < n; i++) {
		if (fd[i] < 0)
			continue;
		any = 1;
		for (;;) {
			int queued = 0;
			if (ioctl(fd[i], SIOCOUTQ, &queued) < 0 || queued == 0)
				break;
			if (monotonic_ms() >= deadline || (stop_requested() && !stop_may_wait(stop_deadline)))
				return;
			stop_poll(NULL, 0, 10);
		}
	}
	if (any)
		stop_poll(NULL, 0, SETTLE_MS);
}
