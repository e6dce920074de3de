/* One message shape for everything vlsink says on stderr:
 * "vlsink: what failed: why". */
#ifndef VLSINK_LOG_H
#define VLSINK_LOG_H

void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
