/* The self-sandbox: after set-up, vlsink confines itself to what serving
 * the connection still needs, with a seccomp-bpf allowlist, Landlock and
 * no_new_privs, instead of leaving it all to per-instance namespaces that
 * PID 1 would build for every connection. */
#ifndef VLSINK_SANDBOX_H
#define VLSINK_SANDBOX_H

/* What the process may still do once confined. */
struct sandbox {
	int journal;      /* Sends journal entries (a datagram socket, memfds). */
	const char *fifo; /* Opens this FIFO for writing (NULL: never): the FIFO
			   * opener alone (sink/opener.c). */
	int opener;       /* Passes descriptors back over its socket. */
	int supervisor;   /* Forks, signals and reaps its worker. */
	int log;          /* Sends its diagnostics to journald (core/log.c). */
};

/* How far confinement went, for the summary and --version. */
struct sandbox_state {
	int seccomp;      /* 1: the allowlist is installed. */
	int landlock;     /* Landlock ABI in force, 0: the kernel has none. */
	const char *off;  /* Why there is no sandbox at all, or NULL. */
};

/* Confines the calling process for good; children inherit it.  0, or a
 * negative errno with *step naming what failed (the process is then
 * unchanged or only partly confined: the caller must not go on). */
int sandbox_enter(const struct sandbox *sb, struct sandbox_state *st, const char **step);

/* A worker narrows its inherited sandbox: no forking, no signals but to
 * itself.  0, or a negative errno. */
int sandbox_narrow(void);

/* The Landlock ABI this kernel offers (0: none), for --version. */
int sandbox_landlock_abi(void);

/* "seccomp, landlock 7" and the like, or why it is off; for the summary. */
const char *sandbox_describe(const struct sandbox_state *st, char *buf, unsigned size);

#endif
