/* Set-up helpers.  They report nothing: callers say what went wrong. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proc.h"
#include "scan.h"

void ensure_std_fds(void)
{
	for (int fd = 0; fd < 3; fd++) {
		if (fcntl(fd, F_GETFD) < 0 && errno == EBADF) {
			int n = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
			if (n >= 0 && n != fd)
				close(n);
		}
	}
}

enum listen listen_fds(int allow_parent)
{
	return listen_fds_named(allow_parent, NULL, 0);
}

enum listen listen_fds_named(int allow_parent, char *name, size_t cap)
{
	const char *fds = getenv("LISTEN_FDS"), *pid = getenv("LISTEN_PID"), *names = getenv("LISTEN_FDNAMES");
	unsigned n, p;

	if (!fds)
		return LISTEN_NONE;
	if (pid) {
		if (scan_uint(pid, strlen(pid), 0x7fffffff, &p))
			return LISTEN_NONE;
		if ((pid_t)p != getpid() && !(allow_parent && (pid_t)p == getppid()))
			return LISTEN_NONE;
	}
	if (scan_uint(fds, strlen(fds), 1024, &n) || n != 1)
		return LISTEN_BAD;
	/* One descriptor, one name: a list of several is not ours to pick from. */
	if (name && cap) {
		name[0] = '\0';
		if (names && !strchr(names, ':') && strlen(names) < cap)
			memcpy(name, names, strlen(names) + 1);
	}
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDNAMES");
	return LISTEN_ONE;
}

int is_listening(int fd)
{
	int listening = 0;
	socklen_t len = sizeof(listening);
	struct stat st;

	return fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode) &&
	       getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) == 0 && listening;
}
