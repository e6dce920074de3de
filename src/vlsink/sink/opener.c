/* The FIFO opener: a small process forked before confinement, the only one of
 * a connection that may open a path.  It opens the FIFO of --sink=fifo when
 * asked and passes the descriptor back only when it is a FIFO, so the
 * process that parses the stream never holds the right to open a file:
 * neither another file beside the FIFO nor /proc/self/mem. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/exits.h"
#include "core/log.h"
#include "vlsink/sandbox.h"
#include "vlsink/sink/opener.h"

#define OPEN_FLAGS (O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY)

/* The reply: 0 and the descriptor, or an errno and none. */
static void reply(int sock, int err, int fd)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} c;
	struct iovec iov = { &err, sizeof(err) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (fd >= 0) {
		memset(&c, 0, sizeof(c));
		m.msg_control = c.buf;
		m.msg_controllen = sizeof(c.buf);
		struct cmsghdr *h = CMSG_FIRSTHDR(&m);
		h->cmsg_level = SOL_SOCKET;
		h->cmsg_type = SCM_RIGHTS;
		h->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(h), &fd, sizeof(int));
	}
	(void)!sendmsg(sock, &m, MSG_NOSIGNAL);
}

/* The opener's life: a request is any message; the stream's end (its
 * parent gone or done) ends it. */
static void serve(int sock, const char *path)
{
	char req[16];

	for (;;) {
		ssize_t n = recv(sock, req, sizeof(req), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			_exit(EXIT_OK);
		int fd = open(path, OPEN_FLAGS), err = 0;
		struct stat st;
		if (fd < 0)
			err = errno;
		else if (fstat(fd, &st) < 0 || !S_ISFIFO(st.st_mode))
			err = EINVAL;
		reply(sock, err, err ? -1 : fd);
		if (fd >= 0)
			close(fd);
	}
}

static void child(int sock, const char *path, pid_t parent)
{
	const char *step = "";
	struct sandbox sb = { .fifo = path, .opener = 1 };
	struct sandbox_state st;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(EXIT_SOFTWARE);
	prctl(PR_SET_NAME, "vlsink-opener");
	/* The stop signals are the parent's to handle: the opener serves
	 * until the parent closes its end or dies. */
	signal(SIGTERM, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	/* Nothing of the connection: stdin may be its socket. */
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null < 0 || dup2(null, STDIN_FILENO) < 0 || dup2(null, STDOUT_FILENO) < 0)
		_exit(EXIT_SOFTWARE);
	if (sock > 3)
		close_range(3, (unsigned)sock - 1, 0);
	close_range((unsigned)sock + 1, ~0u, 0);
	int r = sandbox_enter(&sb, &st, &step);
	if (r < 0) {
		note("FIFO opener: cannot confine the process: %s: %s", step, strerror(-r));
		_exit(EXIT_SOFTWARE);
	}
	char ready = 1;
	if (write(sock, &ready, 1) != 1)
		_exit(EXIT_SOFTWARE);
	serve(sock, path);
}

int opener_start(int *sock, const char *path)
{
	int sv[2];
	pid_t parent = getpid();

	*sock = -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(sv[0]);
		close(sv[1]);
		return -e;
	}
	if (pid == 0) {
		close(sv[0]);
		child(sv[1], path, parent);
	}
	close(sv[1]);
	/* Confined, or gone: the parent does not go on with an opener that
	 * could not confine itself. */
	char ready = 0;
	ssize_t n;
	do
		n = read(sv[0], &ready, 1);
	while (n < 0 && errno == EINTR);
	if (n != 1 || ready != 1) {
		close(sv[0]);
		return -ECHILD;
	}
	*sock = sv[0];
	return 0;
}

/* One reply: the descriptor, or a negative errno (-EAGAIN: none waiting
 * with MSG_DONTWAIT, -EPIPE: the opener is gone). */
static int reply_of(int sock, int flags)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} c;
	int err = 0, fd = -1;
	struct iovec iov = { &err, sizeof(err) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = c.buf,
			    .msg_controllen = sizeof(c.buf) };
	ssize_t n;

	do
		n = recvmsg(sock, &m, MSG_CMSG_CLOEXEC | flags);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	if (n == 0)
		return -EPIPE;
	for (struct cmsghdr *h = CMSG_FIRSTHDR(&m); h; h = CMSG_NXTHDR(&m, h))
		if (h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_RIGHTS && h->cmsg_len == CMSG_LEN(sizeof(int)))
			memcpy(&fd, CMSG_DATA(h), sizeof(int));
	if (n != sizeof(err) || (m.msg_flags & MSG_CTRUNC) || (err == 0) != (fd >= 0) || err < 0) {
		if (fd >= 0)
			close(fd);
		return -EPROTO;
	}
	return err ? -err : fd;
}

/* Replies left by a process that died between request and reply (a
 * crashed worker) are stale: their descriptors are closed unread. */
static void drain(int sock)
{
	for (;;) {
		int fd = reply_of(sock, MSG_DONTWAIT);
		if (fd == -EAGAIN || fd == -EPIPE)
			return;
		if (fd >= 0)
			close(fd);
	}
}

int opener_open(int sock)
{
	static const char req = 'o';

	drain(sock);
	if (write(sock, &req, 1) != 1)
		return errno == EPIPE || errno == ECONNRESET ? -EPIPE : -errno;
	return reply_of(sock, 0);
}
