/* One message shape for everything the programs say on stderr:
 * "PROGRAM: what failed: why". */
#ifndef VLSINK_LOG_H
#define VLSINK_LOG_H

/* "vlsink" unless a program's main says otherwise. */
extern const char *program_name;

void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A one-line usage error, then exit status 64 (EX_USAGE). */
void usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
