/* Process set-up shared by the three programs: descriptors 0-2, and the
 * descriptor systemd passes (sd_listen_fds(3) protocol). */
#ifndef VLSINK_PROC_H
#define VLSINK_PROC_H

#include <stddef.h>

/* Opens /dev/null on any of fds 0-2 that is closed, so that no later open()
 * is handed one of them and written to by accident. */
void ensure_std_fds(void);

enum listen {
	LISTEN_NONE, /* No descriptor was passed to this process. */
	LISTEN_ONE,  /* Exactly one: fd 3.  The variables are removed. */
	LISTEN_BAD,  /* LISTEN_FDS is not 1. */
};

/* LISTEN_FDS and LISTEN_PID.  A LISTEN_PID naming another process means the
 * variables are not ours, unless allow_parent and it names our parent (a
 * shell started by ExecStart= to run a pipeline). */
enum listen listen_fds(int allow_parent);
/* The same, and the descriptor's name (LISTEN_FDNAMES, FileDescriptorName=)
 * into name[0, cap), "" when none was given or it does not fit. */
enum listen listen_fds_named(int allow_parent, char *name, size_t cap);

/* 1 when fd is a listening socket (Accept=no passed by mistake). */
int is_listening(int fd);

#endif
