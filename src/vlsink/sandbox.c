/* The self-sandbox.  A seccomp-bpf allowlist built here from fixed tables
 * (no compiler at run time: building it costs microseconds), Landlock with
 * no file rights at all (the FIFO opener, sink/opener.c: writing files in
 * the FIFO's directory, to reopen the FIFO), and no_new_privs.  A refused system call is a bug or an attack: the process
 * says which call it was on stderr and dies of SIGSYS, so a supervised
 * worker is quarantined like any other crash. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <linux/sockios.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/log.h"
#include "vlsink/sandbox.h"

/* The architecture whose system call numbers the tables below hold.  A
 * call made with another one (i386 or x32 on x86_64, arm on aarch64) is
 * numbered from another table, so the filter kills it before looking at
 * the number.  A build that cannot name its architecture installs no
 * filter at all: sandbox_enter fails and vlsink exits 70. */
#if defined(__x86_64__) && !defined(__ILP32__)
#define SB_ARCH AUDIT_ARCH_X86_64
#define SB_X32_BIT 0x40000000u
#elif defined(__aarch64__) && !defined(__ILP32__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define SB_ARCH AUDIT_ARCH_AARCH64
#endif

/* The sanitizers' runtime needs what the sandbox refuses: LeakSanitizer
 * ptraces the process at exit, symbolizing execs a helper. */
#if defined(__SANITIZE_ADDRESS__)
#define SB_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SB_SANITIZER 1
#endif
#endif
#ifndef SB_SANITIZER
#define SB_SANITIZER 0
#endif

/* Landlock's ABI, as the kernel defines it (older C headers lack parts). */
#ifndef SYS_landlock_create_ruleset
#define SYS_landlock_create_ruleset 444
#define SYS_landlock_add_rule 445
#define SYS_landlock_restrict_self 446
#endif
struct ll_ruleset {
	uint64_t fs, net, scoped;
};
struct ll_beneath {
	uint64_t allowed;
	int32_t fd;
} __attribute__((packed));
#define LL_VERSION 1u
#define LL_RULE_PATH 1
#define LL_FS_WRITE_FILE (1ull << 1)

/* The filter: instructions, built into a fixed array. */
#define PROG_MAX 400
struct prog {
	struct sock_filter f[PROG_MAX];
	unsigned n;
	int full;
};

#define DENY SECCOMP_RET_TRAP
#define ARG_LO(i) (offsetof(struct seccomp_data, args) + 8 * (size_t)(i) + (__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? 0 : 4))
#define ARG_HI(i) (offsetof(struct seccomp_data, args) + 8 * (size_t)(i) + (__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? 4 : 0))

static void emit(struct prog *p, uint16_t code, uint32_t k, uint8_t jt, uint8_t jf)
{
	if (p->n == PROG_MAX) {
		p->full = 1;
		return;
	}
	p->f[p->n++] = (struct sock_filter)BPF_JUMP(code, k, jt, jf);
}

static void ret(struct prog *p, uint32_t action)
{
	emit(p, BPF_RET | BPF_K, action, 0, 0);
}

static void load(struct prog *p, uint32_t off)
{
	emit(p, BPF_LD | BPF_W | BPF_ABS, off, 0, 0);
}

/* "If the call is nr, then <a body of len instructions>", the body always
 * ending in a return; other calls skip it. */
static void on(struct prog *p, long nr, unsigned len)
{
	emit(p, BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)nr, 0, (uint8_t)len);
}

/* A rule for one system call: what its body checks before it allows. */
enum rule_kind { R_ALLOW, R_FAIL, R_IN, R_WITHOUT, R_PAIR };
struct rule {
	long nr;
	enum rule_kind kind;
	unsigned arg, arg2;
	uint32_t k, k2;     /* R_FAIL: the errno; R_WITHOUT: the mask; R_PAIR: the two values. */
	const uint32_t *v;  /* R_IN: the values argument arg may take... */
	unsigned nv;        /* ... and how many. */
};
#define RULES_MAX 128
struct rules {
	struct rule r[RULES_MAX];
	unsigned n;
	int full;
};

static void add(struct rules *rs, struct rule r)
{
	if (rs->n == RULES_MAX)
		rs->full = 1;
	else
		rs->r[rs->n++] = r;
}

static void allow(struct rules *rs, long nr)
{
	add(rs, (struct rule){ .nr = nr, .kind = R_ALLOW });
}

static void fail(struct rules *rs, long nr, int err)
{
	add(rs, (struct rule){ .nr = nr, .kind = R_FAIL, .k = (uint32_t)err });
}

/* nr is allowed when argument arg is one of v[0..nv). */
static void allow_in(struct rules *rs, long nr, unsigned arg, const uint32_t *v, unsigned nv)
{
	add(rs, (struct rule){ .nr = nr, .kind = R_IN, .arg = arg, .v = v, .nv = nv });
}

/* nr is allowed when argument arg has none of the bits of mask. */
static void allow_without(struct rules *rs, long nr, unsigned arg, uint32_t mask)
{
	add(rs, (struct rule){ .nr = nr, .kind = R_WITHOUT, .arg = arg, .k = mask });
}

/* nr is allowed when argument a0 is v0 and a1 is v1. */
static void allow_pair(struct rules *rs, long nr, unsigned a0, uint32_t v0, unsigned a1, uint32_t v1)
{
	add(rs, (struct rule){ .nr = nr, .kind = R_PAIR, .arg = a0, .k = v0, .arg2 = a1, .k2 = v1 });
}

/* Argument arg's lower word into A; a call whose upper word is not zero
 * jumps deny instructions further, to the body's refusal. */
static void load_low(struct prog *p, unsigned arg, unsigned deny)
{
	load(p, ARG_HI(arg));
	emit(p, BPF_JMP | BPF_JEQ | BPF_K, 0, 0, (uint8_t)deny);
	load(p, ARG_LO(arg));
}

static void emit_rule(struct prog *p, const struct rule *r)
{
	switch (r->kind) {
	case R_ALLOW:
		on(p, r->nr, 1);
		ret(p, SECCOMP_RET_ALLOW);
		break;
	case R_FAIL:
		on(p, r->nr, 1);
		ret(p, SECCOMP_RET_ERRNO | r->k);
		break;
	case R_IN:
		on(p, r->nr, r->nv + 5);
		load_low(p, r->arg, r->nv + 1);
		for (unsigned i = 0; i < r->nv; i++)
			emit(p, BPF_JMP | BPF_JEQ | BPF_K, r->v[i], (uint8_t)(r->nv - i), 0);
		ret(p, DENY);
		ret(p, SECCOMP_RET_ALLOW);
		break;
	case R_WITHOUT:
		on(p, r->nr, 6);
		load_low(p, r->arg, 2);
		emit(p, BPF_JMP | BPF_JSET | BPF_K, r->k, 0, 1);
		ret(p, DENY);
		ret(p, SECCOMP_RET_ALLOW);
		break;
	case R_PAIR:
		on(p, r->nr, 10);
		load_low(p, r->arg, 6);
		emit(p, BPF_JMP | BPF_JEQ | BPF_K, r->k, 0, 4);
		load_low(p, r->arg2, 2);
		emit(p, BPF_JMP | BPF_JEQ | BPF_K, r->k2, 1, 0);
		ret(p, DENY);
		ret(p, SECCOMP_RET_ALLOW);
		break;
	}
}

/* The rules in order of their call's number; of two for one call, the
 * first added stands (a stable sort, then the later ones dropped). */
static void sort_rules(struct rules *rs)
{
	for (unsigned i = 1; i < rs->n; i++) {
		struct rule r = rs->r[i];
		unsigned j = i;
		for (; j > 0 && rs->r[j - 1].nr > r.nr; j--)
			rs->r[j] = rs->r[j - 1];
		rs->r[j] = r;
	}
	unsigned kept = 0;
	for (unsigned i = 0; i < rs->n; i++)
		if (!kept || rs->r[kept - 1].nr != rs->r[i].nr)
			rs->r[kept++] = rs->r[i];
	rs->n = kept;
}

/* Calls looked up one by one at a leaf of the search. */
#define LEAF_RULES 4

/* A binary search on the call's number down to leaves of a few rules, so
 * that a call passes some ten comparisons, not a hundred.  That matters
 * once per call and once per filter: the kernel runs the filter for every
 * call number when it is installed, to cache the calls always allowed. */
static void search(struct prog *p, const struct rule *r, unsigned n)
{
	if (n <= LEAF_RULES) {
		for (unsigned i = 0; i < n; i++)
			emit_rule(p, &r[i]);
		ret(p, DENY);
		return;
	}
	unsigned half = n / 2, at = p->n;
	emit(p, BPF_JMP | BPF_JGE | BPF_K, (uint32_t)r[half].nr, 0, 0);
	search(p, r, half);
	if (p->full)
		return;
	if (p->n - at - 1 > UINT8_MAX) {
		p->full = 1;
		return;
	}
	p->f[at].jt = (uint8_t)(p->n - at - 1);
	search(p, r + half, n - half);
}

#define N(a) (unsigned)(sizeof(a) / sizeof((a)[0]))

/* What every vlsink process needs while it serves a connection: its
 * descriptors, memory that is never executable, signals, clocks, exit. */
static const long plain[] = {
	SYS_read, SYS_readv, SYS_write, SYS_writev, SYS_recvfrom, SYS_recvmsg,
	SYS_close, SYS_lseek, SYS_fstat, SYS_ppoll, SYS_munmap, SYS_mremap, SYS_brk,
	SYS_madvise, SYS_rt_sigaction, SYS_rt_sigprocmask, SYS_rt_sigpending,
	SYS_rt_sigtimedwait, SYS_rt_sigreturn, SYS_sigaltstack, SYS_clock_gettime,
	SYS_clock_getres, SYS_clock_nanosleep, SYS_nanosleep, SYS_gettimeofday,
	SYS_getpid, SYS_getppid, SYS_gettid, SYS_getuid, SYS_geteuid, SYS_getgid,
	SYS_getegid, SYS_exit, SYS_exit_group, SYS_restart_syscall, SYS_futex,
	SYS_sched_yield, SYS_getrandom, SYS_getsockopt, SYS_getpeername,
	SYS_getsockname, SYS_shutdown, SYS_set_robust_list,
#ifdef SYS_poll
	SYS_poll,
#endif
#ifdef SYS_time
	SYS_time,
#endif
};
static const uint32_t fcntl_cmds[] = { F_GETFD, F_SETFD, F_GETFL, F_SETFL, F_ADD_SEALS, F_GET_SEALS, F_GETPIPE_SZ };
/* isatty() (stdio), bytes waiting, the journal socket's queue. */
static const uint32_t ioctl_reqs[] = { TCGETS, FIONREAD, SIOCOUTQ };
/* PR_GET_NAME: libsystemd names the memfd of a large journal entry after
 * the thread (and asserts that the call succeeds). */
static const uint32_t prctl_opts[] = { PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS, PR_GET_NO_NEW_PRIVS, PR_GET_NAME };
static const uint32_t prctl_worker[] = { PR_GET_NAME };
static const uint32_t seccomp_ops[] = { SECCOMP_SET_MODE_FILTER };
static const uint32_t abort_sig[] = { SIGABRT };
/* Flags of the fork() a supervisor makes: no shared memory, no thread,
 * no namespace. */
#define FORK_FLAGS ((uint32_t)(CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID | CSIGNAL))
/* How sink_fifo.c opens the FIFO: no creating, no truncating, no reading. */
#define FIFO_FLAGS ((uint32_t)(O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY))
/* memfd_create's flag for an executable memfd (Linux 6.3), refused. */
#define SB_MFD_EXEC 0x10u

/* The calls a process of this kind may make, in no order. */
static void rules_for(struct rules *rs, const struct sandbox *sb)
{
	rs->n = 0;
	rs->full = 0;
	for (unsigned i = 0; i < N(plain); i++)
		allow(rs, plain[i]);
	/* fstat() is newfstatat(fd, "", buf, AT_EMPTY_PATH): no path lookups. */
	static const uint32_t empty_path[] = { AT_EMPTY_PATH };
	allow_in(rs, SYS_newfstatat, 3, empty_path, N(empty_path));
	allow_without(rs, SYS_mmap, 2, PROT_EXEC);
	allow_without(rs, SYS_mprotect, 2, PROT_EXEC);
	allow_in(rs, SYS_fcntl, 1, fcntl_cmds, N(fcntl_cmds));
	allow_in(rs, SYS_ioctl, 1, ioctl_reqs, N(ioctl_reqs));
	allow_in(rs, SYS_prctl, 0, prctl_opts, N(prctl_opts));
	allow_in(rs, SYS_seccomp, 0, seccomp_ops, N(seccomp_ops));
	allow_in(rs, SYS_tgkill, 2, abort_sig, N(abort_sig));
	/* glibc falls back to clone() and friends on ENOSYS. */
	fail(rs, SYS_clone3, ENOSYS);
	if (sb->journal) {
		/* The journal sink's one unconnected datagram socket
		 * (sink_journal.c); it never connects, and passes a large
		 * entry as a sealed memfd. */
		allow_pair(rs, SYS_socket, 0, AF_UNIX, 1, SOCK_DGRAM | SOCK_CLOEXEC);
		allow(rs, SYS_setsockopt);
		allow(rs, SYS_sendmsg);
		allow(rs, SYS_sendto);
		allow_without(rs, SYS_memfd_create, 1, MFD_HUGETLB | SB_MFD_EXEC);
		/* Whether the journal socket exists (sink_journal.c). */
#ifdef SYS_access
		allow(rs, SYS_access);
#endif
		allow(rs, SYS_faccessat);
#ifdef SYS_faccessat2
		allow(rs, SYS_faccessat2);
#endif
	}
	if (sb->fifo) {
		static const uint32_t flags[] = { FIFO_FLAGS };
		allow_in(rs, SYS_openat, 2, flags, N(flags));
#ifdef SYS_open
		allow_in(rs, SYS_open, 1, flags, N(flags));
#endif
	}
	/* The opener passes descriptors; diagnostics for journald go by
	 * datagram on core/log.c's socket, opened before. */
	if (sb->opener || sb->log)
		allow(rs, SYS_sendmsg);
	if (sb->supervisor) {
		allow_without(rs, SYS_clone, 0, ~FORK_FLAGS);
		allow(rs, SYS_wait4);
		allow(rs, SYS_waitid);
		allow(rs, SYS_kill);
		allow(rs, SYS_pidfd_open);
		allow(rs, SYS_pidfd_send_signal);
		allow(rs, SYS_eventfd2);
	}
}

/* The architecture, then the number: a call of another architecture, or
 * x32's numbering, kills the process before any rule is looked at. */
static void prologue(struct prog *p)
{
	p->n = 0;
	p->full = 0;
#ifdef SB_ARCH
	load(p, offsetof(struct seccomp_data, arch));
	emit(p, BPF_JMP | BPF_JEQ | BPF_K, SB_ARCH, 1, 0);
	ret(p, SECCOMP_RET_KILL_PROCESS);
#endif
	load(p, offsetof(struct seccomp_data, nr));
#ifdef SB_X32_BIT
	emit(p, BPF_JMP | BPF_JGE | BPF_K, SB_X32_BIT, 0, 1);
	ret(p, SECCOMP_RET_KILL_PROCESS);
#endif
}

static void build(struct prog *p, const struct sandbox *sb)
{
	struct rules rs;

	rules_for(&rs, sb);
	sort_rules(&rs);
	prologue(p);
	p->full |= rs.full;
	search(p, rs.r, rs.n);
}

/* The worker's layer on top: what only its supervisor may do. */
static void build_narrow(struct prog *p)
{
	static const long forbidden[] = {
		SYS_clone, SYS_wait4, SYS_waitid, SYS_kill, SYS_pidfd_open,
		SYS_pidfd_send_signal, SYS_eventfd2, SYS_seccomp,
#ifdef SYS_fork
		SYS_fork, SYS_vfork,
#endif
	};
	p->n = 0;
	p->full = 0;
	load(p, offsetof(struct seccomp_data, nr));
	emit_rule(p, &(struct rule){ .nr = SYS_prctl, .kind = R_IN, .arg = 0, .v = prctl_worker, .nv = N(prctl_worker) });
	for (unsigned i = 0; i < N(forbidden); i++) {
		on(p, forbidden[i], 1);
		ret(p, DENY);
	}
	ret(p, SECCOMP_RET_ALLOW);
}

static int install(struct prog *p)
{
	struct sock_fprog fp = { .len = (unsigned short)p->n, .filter = p->f };

	if (p->full)
		return -E2BIG;
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fp) < 0)
		return -errno;
	return 0;
}

/* Async-signal-safe: names the call, then dies of SIGSYS (the handler was
 * reset on entry, so the next refused call kills). */
static void refused(int sig, siginfo_t *si, void *uc)
{
	char msg[96] = "sandbox: refused system call ", num[12];
	size_t n = strlen(msg), k = 0;
	unsigned v = (unsigned)si->si_syscall;

	(void)sig;
	(void)uc;
	do
		num[k++] = (char)('0' + v % 10);
	while ((v /= 10) && k < sizeof(num));
	while (k)
		msg[n++] = num[--k];
	static const char tail[] = " (a bug: please report it)";
	memcpy(msg + n, tail, sizeof(tail) - 1);
	n += sizeof(tail) - 1;
	log_line(3, msg, n);
	syscall(SYS_ptrace, 0, 0, 0, 0);
	_exit(128 + SIGSYS);
}

int sandbox_landlock_abi(void)
{
	long v = syscall(SYS_landlock_create_ruleset, NULL, 0, LL_VERSION);
	return v < 0 ? 0 : (int)v;
}

/* Every file right this ABI knows is handled, and none granted but
 * writing the FIFO; TCP is off, and from ABI 6 so are abstract sockets
 * and signals to processes outside the sandbox (other connections). */
static int landlock(const struct sandbox *sb, int abi)
{
	struct ll_ruleset rs = { 0, 0, 0 };
	size_t size = abi >= 4 ? (abi >= 6 ? sizeof(rs) : offsetof(struct ll_ruleset, scoped))
			       : offsetof(struct ll_ruleset, net);

	rs.fs = (1ull << 13) - 1;
	if (abi >= 2)
		rs.fs |= 1ull << 13; /* refer */
	if (abi >= 3)
		rs.fs |= 1ull << 14; /* truncate */
	if (abi >= 5)
		rs.fs |= 1ull << 15; /* ioctl on devices */
	if (abi >= 4)
		rs.net = 3; /* bind and connect TCP */
	if (abi >= 6)
		rs.scoped = 3; /* abstract unix sockets, signals */
	int fd = (int)syscall(SYS_landlock_create_ruleset, &rs, size, 0);
	if (fd < 0)
		return -errno;
	int r = 0;
	if (sb->fifo) {
		/* The FIFO's directory, not its inode: a FIFO made anew at the
		 * same path (vlsink-collect.socket restarted) can be reopened.
		 * The filter lets no open create or truncate a file. */
		char dir[PATH_MAX];
		const char *slash = strrchr(sb->fifo, '/');
		if (!slash)
			snprintf(dir, sizeof(dir), ".");
		else if (slash == sb->fifo)
			snprintf(dir, sizeof(dir), "/");
		else
			snprintf(dir, sizeof(dir), "%.*s", (int)(slash - sb->fifo), sb->fifo);
		struct ll_beneath b = { LL_FS_WRITE_FILE, open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC) };
		if (b.fd < 0 || syscall(SYS_landlock_add_rule, fd, LL_RULE_PATH, &b, 0) < 0)
			r = -errno;
		if (b.fd >= 0)
			close(b.fd);
	}
	if (!r && syscall(SYS_landlock_restrict_self, fd, 0) < 0)
		r = -errno;
	close(fd);
	return r;
}

int sandbox_enter(const struct sandbox *sb, struct sandbox_state *st, const char **step)
{
	struct prog p;

	memset(st, 0, sizeof(*st));
	if (SB_SANITIZER) {
		st->off = "sanitizer build";
		return 0;
	}
#ifndef SB_ARCH
	*step = "seccomp: no architecture check known for this build's architecture";
	return -ENOSYS;
#endif
	*step = "prctl(PR_SET_NO_NEW_PRIVS)";
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	int abi = sandbox_landlock_abi();
#ifdef VLSINK_TEST_HOOKS
	/* Test builds only (make hooks): what a kernel without Landlock sees. */
	if (getenv("VLSINK_NO_LANDLOCK"))
		abi = 0;
#endif
	if (abi > 0) {
		*step = "Landlock";
		int r = landlock(sb, abi);
		if (r < 0)
			return r;
		st->landlock = abi;
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = refused;
	sa.sa_flags = SA_SIGINFO | SA_RESETHAND;
	sigemptyset(&sa.sa_mask);
	*step = "sigaction(SIGSYS)";
	if (sigaction(SIGSYS, &sa, NULL) < 0)
		return -errno;
	build(&p, sb);
	*step = "seccomp";
	int r = install(&p);
	if (r < 0)
		return r;
	st->seccomp = 1;
	return 0;
}

int sandbox_narrow(void)
{
	struct prog p;

	if (SB_SANITIZER)
		return 0;
	build_narrow(&p);
	return install(&p);
}

const char *sandbox_describe(const struct sandbox_state *st, char *buf, unsigned size)
{
	if (st->off)
		snprintf(buf, size, "off (%s)", st->off);
	else if (!st->seccomp)
		snprintf(buf, size, "off");
	else if (st->landlock)
		snprintf(buf, size, "seccomp, landlock %d", st->landlock);
	else
		snprintf(buf, size, "seccomp (no landlock in this kernel)");
	return buf;
}

_Static_assert(PROG_MAX <= BPF_MAXINSNS, "a seccomp filter holds at most BPF_MAXINSNS instructions");
