/* One message shape for everything the programs say on stderr:
 * "PROGRAM: what failed: why". */
#ifndef VLSINK_LOG_H
#define VLSINK_LOG_H

/* Each program's main sets it before saying anything. */
void log_init(const char *name);
const char *program(void);

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
