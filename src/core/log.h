/* One message shape for everything the programs say on stderr:
 * "PROGRAM: what failed: why".  vlsink may say it to journald instead, as
 * native datagrams (log_to_journal). */
#ifndef VLSINK_LOG_H
#define VLSINK_LOG_H

#include <stddef.h>

/* Each program's main sets it before saying anything. */
void log_init(const char *name);
const char *program(void);

/* From here on every message is sent to journald as an entry of its own
 * (PRIORITY, SYSLOG_IDENTIFIER, MESSAGE), by datagram; one it does not
 * take is written on stderr after all.  0, or -errno. */
int log_to_journal(void);
/* Back to stderr (the socket is closed). */
void log_to_stderr(void);
/* Whether messages go to journald: log_to_journal() was called. */
int log_journal(void);
/* The socket messages went out on to journald, or -1 if none did (for
 * journald_drain). */
int log_journal_fd(void);
/* A systemd service (INVOCATION_ID) whose stderr is /dev/null, and
 * journald's socket exists: a message on stderr would be lost, one sent to
 * journald would not. */
int log_stderr_lost(void);
/* One message, without the program's name, which this adds; priority as
 * in syslog(3) (3 an error, 4 a warning).  Async-signal-safe: for the
 * sandbox's SIGSYS handler. */
void log_line(int priority, const char *text, size_t len);

void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A message, then exit with status. */
void die(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));
/* A one-line usage error, then exit status 64 (EX_USAGE). */
void usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
/* The usage error for what getopt_long could not take (the default case). */
void bad_option(char **argv) __attribute__((noreturn));
/* --help and --version: text on stdout, exit 0. */
void print_exit(const char *text) __attribute__((noreturn));

#endif
