/* What vlsink's journal sink and its diagnostics share about journald's
 * native socket. */
#ifndef VLSINK_JOURNALD_H
#define VLSINK_JOURNALD_H

#include <stdint.h>

#define JOURNAL_SOCKET "/run/systemd/journal/socket"

/* Waits until journald has received every datagram sent on the n
 * descriptors (those < 0 are skipped), then a little more for it to handle
 * the last; at most STOP_GRACE_MS, less once a stop has been asked for
 * (*stop_deadline as in stop_may_wait). */
void journald_drain(const int *fd, int n, int64_t *stop_deadline);

#endif
