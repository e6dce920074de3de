/* probe.so: an LD_PRELOAD shim for tests/confine.bats.  The first time the
 * process reads its connection, that is after vlsink's whole set-up (and so
 * after any sandbox vlsink puts on itself), it tries each action below in a
 * freshly forked child and prints one line per action to stderr (the unit's
 * journal), then lets the read go on as if nothing had happened:
 *
 *   PROBE <tag> <action> <verdict> <detail> <class>
 *
 *   verdict  allowed | denied | killed | timeout | n/a
 *   detail   the errno name (denied; or allowed past the permission check,
 *            see below), the signal name (killed), or "-"
 *   class    forbid:  vlsink never needs it, and the vlsink@.service of
 *                     2026-11-30 denied it: any unit must deny it
 *            sandbox: vlsink never needs it, but that unit allowed it:
 *                     vlsink's own sandbox should deny it
 *            need:    vlsink does it (journal socket, fork, own signals)
 *            info:    harmless either way, reported only
 *
 * and, when every action has run, "PROBE <tag> done <count>".
 *
 * Build:  cc -shared -fPIC -O2 -o probe.so probe.c -ldl
 *
 * Environment:
 *   PROBE_TAG=WORD        the tag of every line (default "-")
 *   PROBE_PEER_PID=PID    another connection's vlsink: signalled (0),
 *                         ptraced, read; its actions are n/a without it
 *   PROBE_TCP=A.B.C.D:P   a TCP listener in the host's network (default
 *                         127.0.0.1:10111; not vlsink.socket's own port, whose
 *                         connection would start a probe of its own)
 *   PROBE_ABSTRACT=NAME   an abstract AF_UNIX listener in the host's network
 *                         namespace (default vlsink-probe)
 *   PROBE_MARK=NAME       a file the test put in /tmp, /var/tmp and /dev/shm:
 *                         seeing it means sharing the host's (default
 *                         vlsink-probe-mark)
 *   PROBE_WRITABLE=PATH   a regular file the process may write, beside the
 *                         FIFO of --sink=fifo when there is one (default
 *                         /run/vlsink-probe/writable): opened as vlsink
 *                         opens its FIFO
 * and a System V shared memory segment of the key 0x766c736b ("vlsk") that
 * the test made: seeing it means sharing the host's IPC namespace.
 *
 * Actions that could change the machine if allowed are made harmless:
 * created files are removed, IPC objects and keys die with the child, and
 * mount, sethostname, reboot, init_module and clock_adjtime get one argument
 * the kernel rejects only after its permission check, so that this errno
 * (the "reached" column of the table) means allowed; clock_settime is tried
 * only when not root.  A child that a seccomp filter kills is reported as
 * killed and the probe goes on.  Single-threaded programs only. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/io_uring.h>
#include <linux/keyctl.h>
#include <linux/perf_event.h>
#include <linux/reboot.h>
#include <linux/userfaultfd.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/personality.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/timex.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#ifndef AF_SMC
#define AF_SMC 43
#endif
#ifndef AF_XDP
#define AF_XDP 44
#endif
#ifndef AF_QIPCRTR
#define AF_QIPCRTR 42
#endif
#ifndef NETLINK_ROUTE
#define NETLINK_ROUTE 0
#endif
#ifndef NETLINK_AUDIT
#define NETLINK_AUDIT 9
#endif

/* Exit statuses of a child besides an errno (all errnos are below 134). */
#define X_NA 254

struct action {
	const char *name;
	int (*fn)(const struct action *);
	const char *path;
	int a, b, c;
	int reached; /* this errno means allowed: refused after the permission check */
	const char *cls;
};

static ssize_t (*real_read)(int, void *, size_t);
static ssize_t (*real_readv)(int, const struct iovec *, int);
static ssize_t (*real_recv)(int, void *, size_t, int);
static ssize_t (*real_recvfrom)(int, void *, size_t, int, struct sockaddr *, socklen_t *);
static ssize_t (*real_recvmsg)(int, struct msghdr *, int);

static int conn_fd = -1; /* the connection; -1: nothing to probe */
static int probed;
static const char *tag = "-";
static pid_t peer;
static const char *mark = "vlsink-probe-mark";
static const char *writable = "/run/vlsink-probe/writable";
static const char *abstract_name = "vlsink-probe";
static struct sockaddr_in tcp_target;
static char secret = 'v'; /* what process_vm_readv reads from the reader */

/* --- the actions: each returns 0 (done), an errno, or -1 (n/a) ---------------- */

static int ret(long r)
{
	return r < 0 ? errno : 0;
}

static int closed(long fd)
{
	if (fd < 0)
		return errno;
	close((int)fd);
	return 0;
}

static int do_open(const struct action *x)
{
	return closed(open(x->path, x->a | O_CLOEXEC));
}

/* With the flags vlsink opens its FIFO with, which a filter could allow. */
static int do_open_as_fifo(const struct action *x)
{
	return closed(open(x->path ? x->path : writable, O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
}

static int do_open_peer(const struct action *x)
{
	char p[64];

	if (!peer)
		return -1;
	snprintf(p, sizeof(p), "/proc/%d/%s", (int)peer, x->path);
	return closed(open(p, O_RDONLY | O_CLOEXEC));
}

static int do_see_mark(const struct action *x)
{
	char p[256];

	snprintf(p, sizeof(p), "%s/%s", x->path, mark);
	return closed(open(p, O_RDONLY | O_CLOEXEC));
}

static void scratch(char *p, size_t n, const char *dir)
{
	snprintf(p, n, "%s/vlsink-probe-%d", strcmp(dir, "/") ? dir : "", (int)getpid());
}

static int do_create(const struct action *x)
{
	char p[256];

	scratch(p, sizeof(p), x->path);
	int fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return errno;
	close(fd);
	unlink(p);
	return 0;
}

static int do_mkdir(const struct action *x)
{
	char p[256];

	scratch(p, sizeof(p), x->path);
	if (mkdir(p, 0700) < 0)
		return errno;
	rmdir(p);
	return 0;
}

static int do_mknod(const struct action *x)
{
	char p[256];

	scratch(p, sizeof(p), x->path);
	if (syscall(SYS_mknodat, AT_FDCWD, p, (mode_t)x->a | 0600, (dev_t)makedev(x->b, x->c)) < 0)
		return errno;
	unlink(p);
	return 0;
}

static int do_chmod_suid(const struct action *x)
{
	char p[256];

	scratch(p, sizeof(p), x->path);
	int fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return errno;
	int r = ret(syscall(SYS_fchmod, fd, 04700));
	close(fd);
	unlink(p);
	return r;
}

/* Its owner and mode, unchanged: only the permission is in question. */
static int do_chown_same(const struct action *x)
{
	struct stat st;

	if (stat(x->path, &st) < 0)
		return errno;
	if (x->a)
		return ret(syscall(SYS_fchmodat, AT_FDCWD, x->path, st.st_mode & 07777));
	return ret(syscall(SYS_fchownat, AT_FDCWD, x->path, st.st_uid, st.st_gid, 0));
}

static int do_socket(const struct action *x)
{
	return closed(syscall(SYS_socket, x->a, x->b | SOCK_CLOEXEC, x->c));
}

static int connect_to(int family, int type, const struct sockaddr *sa, socklen_t len)
{
	int fd = (int)syscall(SYS_socket, family, type | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno;
	int r = ret(syscall(SYS_connect, fd, sa, len));
	close(fd);
	return r;
}

static int do_connect_unix(const struct action *x)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	socklen_t len;

	if (x->path) {
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", x->path);
		len = sizeof(sa);
	} else {
		size_t n = strnlen(abstract_name, sizeof(sa.sun_path) - 1);
		memcpy(sa.sun_path + 1, abstract_name, n);
		len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
	}
	return connect_to(AF_UNIX, x->a, (struct sockaddr *)&sa, len);
}

/* What libsystemd does: one unconnected datagram, sent to the path. */
static int do_send_unix(const struct action *x)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	static const char entry[] = "MESSAGE=vlsink probe\nPRIORITY=7\n";

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", x->path);
	int fd = (int)syscall(SYS_socket, AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno;
	int r = ret(syscall(SYS_sendto, fd, entry, sizeof(entry) - 1, 0, &sa, (socklen_t)sizeof(sa)));
	close(fd);
	return r;
}

static int do_bind_abstract(const struct action *x)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char name[64];

	(void)x;
	int n = snprintf(name, sizeof(name), "vlsink-probe-bound-%d", (int)getpid());
	memcpy(sa.sun_path + 1, name, (size_t)n);
	int fd = (int)syscall(SYS_socket, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno;
	int r = ret(syscall(SYS_bind, fd, &sa, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n)));
	close(fd);
	return r;
}

static int do_connect_tcp(const struct action *x)
{
	(void)x;
	return connect_to(AF_INET, SOCK_STREAM, (struct sockaddr *)&tcp_target, sizeof(tcp_target));
}

static int do_exec(const struct action *x)
{
	static char a0[] = "sh", a1[] = "-c", a2[] = "exit 0";
	char *const argv[] = { a0, a1, a2, NULL };
	char *const envp[] = { NULL };

	syscall(SYS_execve, x->path, argv, envp);
	return errno;
}

static int do_fork(const struct action *x)
{
	(void)x;
	pid_t p = fork();
	if (p < 0)
		return errno;
	if (p == 0)
		_exit(0);
	int st;
	if (waitpid(p, &st, 0) < 0)
		return errno;
	return 0;
}

/* a: 0 the reader (this child's parent), 1 the peer, 2 PID 1. */
static pid_t target(const struct action *x)
{
	switch (x->a) {
	case 0:
		return getppid();
	case 1:
		return peer;
	default:
		return 1;
	}
}

static int do_kill(const struct action *x)
{
	pid_t p = target(x);
	return p ? ret(syscall(SYS_kill, p, 0)) : -1;
}

static int do_ptrace_seize(const struct action *x)
{
	pid_t p = target(x);
	/* PTRACE_SEIZE has PTRACE_ATTACH's permission check and does not stop
	 * the tracee; the child's exit detaches. */
	return p ? ret(syscall(SYS_ptrace, PTRACE_SEIZE, p, NULL, NULL)) : -1;
}

static int do_traceme(const struct action *x)
{
	(void)x;
	return ret(syscall(SYS_ptrace, PTRACE_TRACEME, 0, NULL, NULL));
}

static int do_vm_read(const struct action *x)
{
	pid_t p = target(x);
	char c;
	struct iovec local = { &c, 1 }, remote = { &secret, 1 };

	if (!p)
		return -1;
	if (syscall(SYS_process_vm_readv, p, &local, 1UL, &remote, 1UL, 0UL) < 0)
		return errno;
	return 0;
}

static int do_setid(const struct action *x)
{
	switch (x->a) {
	case 0:
		return ret(syscall(SYS_setuid, 0));
	case 1:
		return ret(syscall(SYS_setgid, 0));
	default:
		return ret(syscall(SYS_setgroups, 0, NULL));
	}
}

static int do_unshare(const struct action *x)
{
	return ret(syscall(SYS_unshare, x->a));
}

static int do_chroot(const struct action *x)
{
	(void)x;
	return ret(syscall(SYS_chroot, "/"));
}

static int do_mount(const struct action *x)
{
	(void)x;
	/* A file system type that does not exist: ENODEV comes after the
	 * permission check, so nothing is ever mounted. */
	return ret(syscall(SYS_mount, "vlsink-probe", "/tmp", "vlsink-probe-nofs", 0UL, NULL));
}

static int do_sethostname(const struct action *x)
{
	char name[80];

	(void)x;
	memset(name, 'v', sizeof(name));
	return ret(syscall(SYS_sethostname, name, sizeof(name)));
}

static int do_clock_adjtime(const struct action *x)
{
	struct timex tx = { .modes = ADJ_TICK, .tick = 1 };

	(void)x;
	return ret(syscall(SYS_clock_adjtime, CLOCK_REALTIME, &tx));
}

static int do_clock_settime(const struct action *x)
{
	struct timespec now;

	(void)x;
	if (geteuid() == 0)
		return -1;
	if (clock_gettime(CLOCK_REALTIME, &now) < 0)
		return errno;
	return ret(syscall(SYS_clock_settime, CLOCK_REALTIME, &now));
}

static int do_reboot(const struct action *x)
{
	(void)x;
	return ret(syscall(SYS_reboot, LINUX_REBOOT_MAGIC1, 0, LINUX_REBOOT_CMD_CAD_OFF, NULL));
}

static int do_init_module(const struct action *x)
{
	(void)x;
	return ret(syscall(SYS_init_module, NULL, 0UL, ""));
}

static int do_syslog(const struct action *x)
{
	(void)x;
	/* SYSLOG_ACTION_SIZE_BUFFER: reads nothing, checked like a read. */
	return ret(syscall(SYS_syslog, 10, NULL, 0));
}

static int do_mmap_wx(const struct action *x)
{
	(void)x;
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? errno : 0;
}

static int do_mprotect_x(const struct action *x)
{
	(void)x;
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return errno;
	return ret(syscall(SYS_mprotect, p, 4096UL, PROT_READ | PROT_EXEC));
}

/* getpid through the i386 entry (number 20, which is writev natively): a
 * filter that judged it by the native table would let it through. */
static int do_compat_i386(const struct action *x)
{
	(void)x;
#if defined(__x86_64__)
	long r;
	__asm__ volatile("int $0x80" : "=a"(r) : "a"(20L) : "r8", "r9", "r10", "r11", "memory");
	return r < 0 ? (int)-r : 0;
#else
	return -1;
#endif
}

static int do_personality(const struct action *x)
{
	(void)x;
	return ret(syscall(SYS_personality, PER_LINUX | READ_IMPLIES_EXEC));
}

static int do_sched_fifo(const struct action *x)
{
	struct sched_param sp = { .sched_priority = 1 };

	(void)x;
	return ret(syscall(SYS_sched_setscheduler, 0, SCHED_FIFO, &sp));
}

static int do_nice(const struct action *x)
{
	(void)x;
	return ret(syscall(SYS_setpriority, PRIO_PROCESS, 0, -5));
}

static int do_tiocsti(const struct action *x)
{
	char c = ' ';

	(void)x;
	int fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return errno;
	int r = ret(syscall(SYS_ioctl, fd, TIOCSTI, &c));
	close(fd);
	return r;
}

static int do_bpf(const struct action *x)
{
	union bpf_attr attr;

	(void)x;
	memset(&attr, 0, sizeof(attr));
	attr.map_type = BPF_MAP_TYPE_ARRAY;
	attr.key_size = 4;
	attr.value_size = 4;
	attr.max_entries = 1;
	return closed(syscall(SYS_bpf, BPF_MAP_CREATE, &attr, sizeof(attr)));
}

static int do_perf(const struct action *x)
{
	struct perf_event_attr pe;

	(void)x;
	memset(&pe, 0, sizeof(pe));
	pe.type = PERF_TYPE_SOFTWARE;
	pe.size = sizeof(pe);
	pe.config = PERF_COUNT_SW_TASK_CLOCK;
	pe.disabled = 1;
	pe.exclude_kernel = 1;
	pe.exclude_hv = 1;
	return closed(syscall(SYS_perf_event_open, &pe, 0, -1, -1, 0UL));
}

static int do_io_uring(const struct action *x)
{
	struct io_uring_params p;

	(void)x;
	memset(&p, 0, sizeof(p));
	return closed(syscall(SYS_io_uring_setup, 4U, &p));
}

static int do_userfaultfd(const struct action *x)
{
	(void)x;
	return closed(syscall(SYS_userfaultfd, O_CLOEXEC | UFFD_USER_MODE_ONLY));
}

static int do_memfd(const struct action *x)
{
	(void)x;
	return closed(syscall(SYS_memfd_create, "vlsink-probe", MFD_CLOEXEC));
}

static int do_add_key(const struct action *x)
{
	(void)x;
	return ret(syscall(SYS_add_key, "user", "vlsink-probe", "x", 1UL, KEY_SPEC_PROCESS_KEYRING));
}

static int do_user_keyring(const struct action *x)
{
	(void)x;
	return ret(syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_USER_KEYRING, 0L));
}

#define SHM_KEY 0x766c736b

static int do_see_shm(const struct action *x)
{
	(void)x;
	return shmget(SHM_KEY, 0, 0) < 0 ? errno : 0;
}

static int do_sysv(const struct action *x)
{
	int id;

	switch (x->a) {
	case 0:
		if ((id = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600)) < 0)
			return errno;
		shmctl(id, IPC_RMID, NULL);
		return 0;
	case 1:
		if ((id = msgget(IPC_PRIVATE, IPC_CREAT | 0600)) < 0)
			return errno;
		msgctl(id, IPC_RMID, NULL);
		return 0;
	default:
		if ((id = semget(IPC_PRIVATE, 1, IPC_CREAT | 0600)) < 0)
			return errno;
		semctl(id, 0, IPC_RMID);
		return 0;
	}
}

#ifdef SYS_iopl
static int do_iopl(const struct action *x)
{
	(void)x;
	return ret(syscall(SYS_iopl, 3));
}
#endif

#define F "forbid"
#define S "sandbox"
#define N "need"
#define I "info"
#define RO O_RDONLY
#define DIR_ O_RDONLY | O_DIRECTORY

static const struct action actions[] = {
	/* Files to read. */
	{ "read-/etc/passwd", do_open, "/etc/passwd", RO, 0, 0, 0, S },
	{ "read-/etc/shadow", do_open, "/etc/shadow", RO, 0, 0, 0, F },
	{ "read-/proc/1/environ", do_open, "/proc/1/environ", RO, 0, 0, 0, F },
	{ "read-/proc/1/cmdline", do_open, "/proc/1/cmdline", RO, 0, 0, 0, F },
	{ "read-/proc/self/environ", do_open, "/proc/self/environ", RO, 0, 0, 0, I },
	{ "read-peer-environ", do_open_peer, "environ", 0, 0, 0, 0, F },
	{ "read-peer-cmdline", do_open_peer, "cmdline", 0, 0, 0, 0, F },
	{ "read-positions.jsonl", do_open, "/var/lib/vlsink/positions.jsonl", RO, 0, 0, 0, F },
	{ "read-/home-file", do_open, "/home/vlsink-probe/readable", RO, 0, 0, 0, F },
	{ "opendir-/home", do_open, "/home", DIR_, 0, 0, 0, F },
	{ "opendir-/root", do_open, "/root", DIR_, 0, 0, 0, F },
	{ "read-/sys/kernel/notes", do_open, "/sys/kernel/notes", RO, 0, 0, 0, S },
	{ "see-host-/tmp", do_see_mark, "/tmp", 0, 0, 0, 0, F },
	{ "see-host-/var/tmp", do_see_mark, "/var/tmp", 0, 0, 0, 0, F },
	{ "see-host-/dev/shm", do_see_mark, "/dev/shm", 0, 0, 0, 0, S },
	/* Files to write. */
	{ "create-in-/", do_create, "/", 0, 0, 0, 0, F },
	{ "create-in-/etc", do_create, "/etc", 0, 0, 0, 0, F },
	{ "create-in-/var", do_create, "/var", 0, 0, 0, 0, F },
	{ "create-in-/var/lib/vlsink", do_create, "/var/lib/vlsink", 0, 0, 0, 0, F },
	{ "create-in-/run", do_create, "/run", 0, 0, 0, 0, F },
	{ "create-in-/run/lock", do_create, "/run/lock", 0, 0, 0, 0, S },
	{ "create-in-/tmp", do_create, "/tmp", 0, 0, 0, 0, S },
	{ "create-in-/var/tmp", do_create, "/var/tmp", 0, 0, 0, 0, S },
	{ "create-in-/dev/shm", do_create, "/dev/shm", 0, 0, 0, 0, S },
	{ "mkdir-in-/tmp", do_mkdir, "/tmp", 0, 0, 0, 0, S },
	{ "mkfifo-in-/tmp", do_mknod, "/tmp", S_IFIFO, 0, 0, 0, S },
	{ "mknod-chr-1:3-in-/tmp", do_mknod, "/tmp", S_IFCHR, 1, 3, 0, F },
	{ "chmod-setuid-own-file", do_chmod_suid, "/tmp", 0, 0, 0, 0, F },
	{ "write-file-beside-fifo", do_open_as_fifo, NULL, 0, 0, 0, 0, S },
	{ "write-/proc/self/mem", do_open_as_fifo, "/proc/self/mem", 0, 0, 0, 0, S },
	{ "chown-/etc/hostname", do_chown_same, "/etc/hostname", 0, 0, 0, 0, F },
	{ "chmod-/etc/hostname", do_chown_same, "/etc/hostname", 1, 0, 0, 0, F },
	/* Sockets. */
	{ "socket-inet-tcp", do_socket, NULL, AF_INET, SOCK_STREAM, 0, 0, F },
	{ "socket-inet-udp", do_socket, NULL, AF_INET, SOCK_DGRAM, 0, 0, F },
	{ "socket-inet-ping", do_socket, NULL, AF_INET, SOCK_DGRAM, IPPROTO_ICMP, 0, F },
	{ "socket-inet-raw", do_socket, NULL, AF_INET, SOCK_RAW, IPPROTO_ICMP, 0, F },
	{ "socket-inet6-tcp", do_socket, NULL, AF_INET6, SOCK_STREAM, 0, 0, F },
	{ "socket-inet6-udp", do_socket, NULL, AF_INET6, SOCK_DGRAM, 0, 0, F },
	{ "socket-netlink-route", do_socket, NULL, AF_NETLINK, SOCK_RAW, NETLINK_ROUTE, 0, F },
	{ "socket-netlink-audit", do_socket, NULL, AF_NETLINK, SOCK_RAW, NETLINK_AUDIT, 0, F },
	{ "socket-packet", do_socket, NULL, AF_PACKET, SOCK_DGRAM, 0, 0, F },
	{ "socket-unix-stream", do_socket, NULL, AF_UNIX, SOCK_STREAM, 0, 0, I },
	{ "socket-unix-dgram", do_socket, NULL, AF_UNIX, SOCK_DGRAM, 0, 0, N },
	{ "socket-unix-seqpacket", do_socket, NULL, AF_UNIX, SOCK_SEQPACKET, 0, 0, I },
	{ "socket-vsock", do_socket, NULL, AF_VSOCK, SOCK_STREAM, 0, 0, F },
	{ "socket-alg", do_socket, NULL, AF_ALG, SOCK_SEQPACKET, 0, 0, F },
	{ "socket-bluetooth", do_socket, NULL, AF_BLUETOOTH, SOCK_RAW, 0, 0, F },
	{ "socket-key", do_socket, NULL, AF_KEY, SOCK_RAW, 2 /* PF_KEY_V2 */, 0, F },
	{ "socket-can", do_socket, NULL, AF_CAN, SOCK_RAW, 1 /* CAN_RAW */, 0, F },
	{ "socket-tipc", do_socket, NULL, AF_TIPC, SOCK_RDM, 0, 0, F },
	{ "socket-xdp", do_socket, NULL, AF_XDP, SOCK_RAW, 0, 0, F },
	{ "socket-rds", do_socket, NULL, AF_RDS, SOCK_SEQPACKET, 0, 0, F },
	{ "socket-smc", do_socket, NULL, AF_SMC, SOCK_STREAM, 0, 0, F },
	{ "socket-qipcrtr", do_socket, NULL, AF_QIPCRTR, SOCK_DGRAM, 0, 0, F },
	{ "send-journal-socket", do_send_unix, "/run/systemd/journal/socket", 0, 0, 0, 0, N },
	{ "connect-journal-socket", do_connect_unix, "/run/systemd/journal/socket", SOCK_DGRAM, 0, 0, 0, S },
	{ "connect-journal-stdout", do_connect_unix, "/run/systemd/journal/stdout", SOCK_STREAM, 0, 0, 0, I },
	{ "connect-systemd-private", do_connect_unix, "/run/systemd/private", SOCK_STREAM, 0, 0, 0, F },
	{ "connect-dbus-system", do_connect_unix, "/run/dbus/system_bus_socket", SOCK_STREAM, 0, 0, 0, S },
	{ "connect-userdb", do_connect_unix, "/run/systemd/userdb/io.systemd.Multiplexer", SOCK_STREAM, 0, 0, 0,
	  F },
	{ "connect-host-abstract", do_connect_unix, NULL, SOCK_STREAM, 0, 0, 0, F },
	{ "bind-abstract", do_bind_abstract, NULL, 0, 0, 0, 0, S },
	{ "connect-host-tcp", do_connect_tcp, NULL, 0, 0, 0, 0, F },
	/* Processes. */
	{ "fork", do_fork, NULL, 0, 0, 0, 0, N },
	{ "signal-own-reader", do_kill, NULL, 0, 0, 0, 0, N },
	{ "exec-/bin/sh", do_exec, "/bin/sh", 0, 0, 0, 0, S },
	{ "signal-pid1", do_kill, NULL, 2, 0, 0, 0, F },
	{ "signal-peer", do_kill, NULL, 1, 0, 0, 0, S },
	{ "ptrace-seize-reader", do_ptrace_seize, NULL, 0, 0, 0, 0, F },
	{ "ptrace-seize-peer", do_ptrace_seize, NULL, 1, 0, 0, 0, F },
	{ "ptrace-traceme", do_traceme, NULL, 0, 0, 0, 0, F },
	{ "process_vm_readv-reader", do_vm_read, NULL, 0, 0, 0, 0, S },
	{ "process_vm_readv-peer", do_vm_read, NULL, 1, 0, 0, EFAULT, F },
	{ "setuid-0", do_setid, NULL, 0, 0, 0, 0, F },
	{ "setgid-0", do_setid, NULL, 1, 0, 0, 0, F },
	{ "setgroups-none", do_setid, NULL, 2, 0, 0, 0, F },
	{ "unshare-user+mount", do_unshare, NULL, CLONE_NEWUSER | CLONE_NEWNS, 0, 0, 0, F },
	{ "unshare-user+net", do_unshare, NULL, CLONE_NEWUSER | CLONE_NEWNET, 0, 0, 0, F },
	{ "unshare-mount", do_unshare, NULL, CLONE_NEWNS, 0, 0, 0, F },
	{ "chroot", do_chroot, NULL, 0, 0, 0, 0, F },
	{ "mount", do_mount, NULL, 0, 0, 0, ENODEV, F },
	{ "sethostname", do_sethostname, NULL, 0, 0, 0, EINVAL, F },
	{ "clock_adjtime", do_clock_adjtime, NULL, 0, 0, 0, EINVAL, F },
	{ "clock_settime", do_clock_settime, NULL, 0, 0, 0, 0, F },
	{ "reboot", do_reboot, NULL, 0, 0, 0, 0, F },
	{ "init_module", do_init_module, NULL, 0, 0, 0, ENOEXEC, F },
	{ "syslog-read", do_syslog, NULL, 0, 0, 0, 0, F },
#ifdef SYS_iopl
	{ "iopl", do_iopl, NULL, 0, 0, 0, 0, F },
#endif
	/* Memory, scheduling, kernel interfaces. */
	{ "mmap-write+exec", do_mmap_wx, NULL, 0, 0, 0, 0, F },
	{ "mprotect-to-exec", do_mprotect_x, NULL, 0, 0, 0, 0, F },
	{ "i386-system-call", do_compat_i386, NULL, 0, 0, 0, 0, S },
	{ "personality", do_personality, NULL, 0, 0, 0, 0, F },
	{ "sched-fifo", do_sched_fifo, NULL, 0, 0, 0, 0, F },
	{ "nice-below-0", do_nice, NULL, 0, 0, 0, 0, F },
	{ "tiocsti-/dev/tty", do_tiocsti, NULL, 0, 0, 0, 0, F },
	{ "bpf-map-create", do_bpf, NULL, 0, 0, 0, 0, F },
	{ "perf_event_open-self", do_perf, NULL, 0, 0, 0, 0, F },
	{ "io_uring_setup", do_io_uring, NULL, 0, 0, 0, 0, S },
	{ "userfaultfd-user-mode", do_userfaultfd, NULL, 0, 0, 0, 0, S },
	{ "memfd_create", do_memfd, NULL, 0, 0, 0, 0, N },
	{ "add_key", do_add_key, NULL, 0, 0, 0, 0, F },
	{ "keyctl-user-keyring", do_user_keyring, NULL, 0, 0, 0, 0, F },
	{ "see-host-sysv-shm", do_see_shm, NULL, 0, 0, 0, 0, F },
	{ "shmget", do_sysv, NULL, 0, 0, 0, 0, S },
	{ "msgget", do_sysv, NULL, 1, 0, 0, 0, S },
	{ "semget", do_sysv, NULL, 2, 0, 0, 0, S },
};

/* --- running them ----------------------------------------------------------------- */

static void say(const char *name, const char *verdict, const char *detail, const char *cls)
{
	char line[256];
	int n = snprintf(line, sizeof(line), "PROBE %s %s %s %s %s\n", tag, name, verdict, detail, cls);

	if (n > 0 && (size_t)n < sizeof(line))
		(void)!write(STDERR_FILENO, line, (size_t)n);
}

static const char *errname(int e)
{
	const char *s = strerrorname_np(e);
	return s ? s : "E?";
}

/* One action in a child of its own; waits at most 3 s for it. */
static void run(const struct action *x)
{
	int st = 0, waited = 0;
	pid_t pid = fork();

	if (pid < 0) {
		say(x->name, "n/a", errname(errno), x->cls);
		return;
	}
	if (pid == 0) {
		int r = x->fn(x);
		_exit(r < 0 ? X_NA : r > 250 ? 250 : r);
	}
	for (;;) {
		pid_t w = waitpid(pid, &st, WNOHANG);
		if (w == pid)
			break;
		if (w < 0 && errno != EINTR) {
			say(x->name, "n/a", errname(errno), x->cls);
			return;
		}
		if (waited >= 3000) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			say(x->name, "timeout", "-", x->cls);
			return;
		}
		/* ppoll, fork, wait4, kill and write: the reader's own system
		 * calls, which a sandbox of vlsink's must allow it anyway. */
		struct timespec ts = { 0, 5000000 };
		ppoll(NULL, 0, &ts, NULL);
		waited += 5;
	}
	if (WIFSIGNALED(st)) {
		const char *s = sigabbrev_np(WTERMSIG(st));
		char sig[16];
		snprintf(sig, sizeof(sig), "SIG%s", s ? s : "?");
		say(x->name, "killed", sig, x->cls);
	} else if (WEXITSTATUS(st) == 0) {
		say(x->name, "allowed", "-", x->cls);
	} else if (WEXITSTATUS(st) == X_NA) {
		say(x->name, "n/a", "-", x->cls);
	} else if (WEXITSTATUS(st) == x->reached) {
		say(x->name, "allowed", errname(x->reached), x->cls);
	} else {
		say(x->name, "denied", errname(WEXITSTATUS(st)), x->cls);
	}
}

static void probe(int fd)
{
	char line[64];

	if (probed || fd != conn_fd)
		return;
	probed = 1;
	for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
		run(&actions[i]);
	int n = snprintf(line, sizeof(line), "PROBE %s done %zu\n", tag, sizeof(actions) / sizeof(actions[0]));
	if (n > 0 && (size_t)n < sizeof(line))
		(void)!write(STDERR_FILENO, line, (size_t)n);
}

/* Everything the probe needs to know is taken before vlsink starts: the
 * connection is fd 3 with LISTEN_FDS=1, stdin otherwise, and only a socket. */
__attribute__((constructor)) static void init(void)
{
	const char *s;
	struct stat st;

	real_read = (ssize_t(*)(int, void *, size_t))dlsym(RTLD_NEXT, "read");
	real_readv = (ssize_t(*)(int, const struct iovec *, int))dlsym(RTLD_NEXT, "readv");
	real_recv = (ssize_t(*)(int, void *, size_t, int))dlsym(RTLD_NEXT, "recv");
	real_recvfrom = (ssize_t(*)(int, void *, size_t, int, struct sockaddr *, socklen_t *))dlsym(RTLD_NEXT, "recvfrom");
	real_recvmsg = (ssize_t(*)(int, struct msghdr *, int))dlsym(RTLD_NEXT, "recvmsg");
	if ((s = getenv("PROBE_TAG")) && *s && !strpbrk(s, " \n"))
		tag = s;
	if ((s = getenv("PROBE_PEER_PID")))
		peer = (pid_t)atoi(s);
	if ((s = getenv("PROBE_MARK")) && *s)
		mark = s;
	if ((s = getenv("PROBE_WRITABLE")) && *s)
		writable = s;
	if ((s = getenv("PROBE_ABSTRACT")) && *s)
		abstract_name = s;
	tcp_target.sin_family = AF_INET;
	tcp_target.sin_port = htons(10111);
	tcp_target.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((s = getenv("PROBE_TCP")) && *s) {
		char host[64];
		const char *colon = strrchr(s, ':');
		if (colon && (size_t)(colon - s) < sizeof(host)) {
			memcpy(host, s, (size_t)(colon - s));
			host[colon - s] = '\0';
			inet_pton(AF_INET, host, &tcp_target.sin_addr);
			tcp_target.sin_port = htons((unsigned short)atoi(colon + 1));
		}
	}
	s = getenv("LISTEN_FDS");
	int fd = s && !strcmp(s, "1") ? 3 : 0;
	if (fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode))
		conn_fd = fd;
}

ssize_t read(int fd, void *buf, size_t n)
{
	probe(fd);
	return real_read(fd, buf, n);
}

ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen);
ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen)
{
	if (n > buflen)
		abort();
	probe(fd);
	return real_read(fd, buf, n);
}

ssize_t readv(int fd, const struct iovec *iov, int cnt)
{
	probe(fd);
	return real_readv(fd, iov, cnt);
}

ssize_t recv(int fd, void *buf, size_t n, int flags)
{
	probe(fd);
	return real_recv(fd, buf, n, flags);
}

ssize_t recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *sa, socklen_t *len)
{
	probe(fd);
	return real_recvfrom(fd, buf, n, flags, sa, len);
}

ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
	probe(fd);
	return real_recvmsg(fd, msg, flags);
}
