/* Input discovery and the read side of the connection.  Nothing here knows
 * what a line is. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/exits.h"
#include "core/log.h"
#include "core/proc.h"
#include "core/scan.h"
#include "core/stop.h"
#include "vlsink/input.h"

int input_open(char *name, size_t cap)
{
	const char *fds = getenv("LISTEN_FDS");
	struct stat st;
	int fd = STDIN_FILENO;

	name[0] = '\0';
	switch (listen_fds_named(0, name, cap)) {
	case LISTEN_NONE:
		break;
	case LISTEN_ONE:
		fd = 3;
		break;
	case LISTEN_BAD:
		die(EXIT_INPUT, "LISTEN_FDS=%s: expected exactly one connection (Accept=yes)", fds);
	}
	if (fstat(fd, &st) < 0)
		die(EXIT_INPUT, "input fd %d: %s", fd, strerror(errno));
	if (is_listening(fd))
		die(EXIT_INPUT,
		    "input fd %d is a listening socket: vlsink serves one accepted connection "
		    "(use Accept=yes or systemd-socket-activate --accept)",
		    fd);
	return fd;
}

int input_is_socket(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
}

static void peer_text(struct peer *peer, unsigned port, int v6)
{
	if (port)
		snprintf(peer->port, sizeof(peer->port), "%u", port);
	if (!peer->port[0])
		snprintf(peer->text, sizeof(peer->text), "%s", peer->addr);
	else
		snprintf(peer->text, sizeof(peer->text), v6 ? "[%s]:%s" : "%s:%s", peer->addr, peer->port);
}

/* The peer from a binary address (4 bytes for AF_INET, 16 for AF_INET6):
 * IPv4-mapped IPv6 addresses are named as IPv4, as --devices expects. */
static void peer_set(struct peer *peer, int family, const unsigned char *addr, unsigned port)
{
	int v6 = 0;

	peer->addr[0] = peer->port[0] = peer->text[0] = '\0';
	if (family == AF_INET6 && IN6_IS_ADDR_V4MAPPED((const struct in6_addr *)(const void *)addr)) {
		family = AF_INET;
		addr += 12;
	}
	if (!inet_ntop(family, addr, peer->addr, sizeof(peer->addr)))
		return;
	v6 = family == AF_INET6;
	peer_text(peer, port, v6);
}

void input_peer(int fd, struct peer *peer)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t len = sizeof(ss);
	unsigned port = 0;
	int v6 = 0;

	memset(peer, 0, sizeof(*peer));
	if (getpeername(fd, (struct sockaddr *)&ss, &len) == 0) {
		if (ss.ss_family == AF_INET) {
			struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
			peer_set(peer, AF_INET, (const unsigned char *)&sin->sin_addr, ntohs(sin->sin_port));
		} else if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
			peer_set(peer, AF_INET6, sin6->sin6_addr.s6_addr, ntohs(sin6->sin6_port));
		}
		return;
	}
	if (errno != ENOTSOCK)
		return;
	/* inetd-style launchers say who is calling in the environment; it is
	 * checked like any other input. */
	const char *a = getenv("REMOTE_ADDR"), *p = getenv("REMOTE_PORT");
	struct in6_addr buf;
	if (!a)
		return;
	if (inet_pton(AF_INET, a, &buf) == 1) {
		snprintf(peer->addr, sizeof(peer->addr), "%s", a);
	} else if (inet_pton(AF_INET6, a, &buf) == 1) {
		snprintf(peer->addr, sizeof(peer->addr), "%s", a);
		v6 = 1;
	} else {
		return;
	}
	if (p && scan_uint(p, strlen(p), 65535, &port))
		port = 0;
	peer_text(peer, port, v6);
}

void input_peer_proxied(struct peer *peer, const struct proxy_header *h)
{
	if (h->kind == PROXY_LOCAL)
		return;
	snprintf(peer->via, sizeof(peer->via), "%s", peer->text);
	if (h->kind == PROXY_UNIX)
		peer->addr[0] = peer->port[0] = peer->text[0] = '\0';
	else
		peer_set(peer, h->family, h->addr, h->port);
}

enum proxy_end input_proxy(int fd, int accept, int64_t deadline, struct proxy_header *h, unsigned char *buf,
			   size_t *got)
{
	int peek = 1;
	size_t have = 0;

	*got = 0;
	for (;;) {
		int r = proxy_parse(buf, have, accept, h);
		if (r != 0)
			return r > 0 ? PH_OK : PH_BAD;
		struct pollfd pfd = { fd, POLLIN, 0 };
		int64_t left = deadline - monotonic_ms();
		if (stop_requested())
			return PH_STOP;
		if (left <= 0)
			return PH_TIMEOUT;
		int k = stop_poll(&pfd, 1, (int)left);
		if (k < 0 && errno != EINTR)
			return PH_ERROR;
		if (k <= 0)
			continue;
		/* On a socket, look at what has come and take only the header's
		 * bytes of it; elsewhere, read no more than the parser says is
		 * still missing.  Either way the first line is left unread. */
		ssize_t m = peek ? recv(fd, buf + have, PROXY_MAX - have, MSG_PEEK | MSG_DONTWAIT)
				 : read(fd, buf + have, h->need);
		if (m < 0 && peek && errno == ENOTSOCK) {
			peek = 0;
			continue;
		}
		if (m == 0)
			return PH_EOF;
		if (m < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return errno == ECONNRESET ? PH_RESET : PH_ERROR;
		}
		if (peek) {
			size_t end = have + (size_t)m;
			r = proxy_parse(buf, end, accept, h);
			if (r < 0) {
				*got = end;
				return PH_BAD;
			}
			/* Incomplete: every byte seen belongs to the header. */
			size_t take = r > 0 ? (size_t)r - have : (size_t)m;
			while (take) {
				ssize_t t = read(fd, buf + have, take);
				if (t <= 0)
					return t == 0 ? PH_EOF : errno == ECONNRESET ? PH_RESET : PH_ERROR;
				have += (size_t)t;
				take -= (size_t)t;
			}
		} else {
			have += (size_t)m;
		}
		*got = have;
	}
}

enum input_end input_read(int fd, char *buf, size_t room, int64_t idle_deadline, int64_t wake, int out_fd,
			  size_t *got)
{
	for (;;) {
		struct pollfd pfd[2] = { { fd, POLLIN, 0 }, { out_fd, POLLOUT, 0 } };
		nfds_t nfds = 1;
		int64_t now = monotonic_ms();
		int ms = -1;
		if (stop_requested())
			return IN_STOP;
		if (idle_deadline) {
			int64_t left = idle_deadline - now;
			if (left <= 0)
				return IN_IDLE;
			ms = left > 86400000 ? 86400000 : (int)left;
		}
		if (wake) {
			int64_t left = wake - now;
			if (left <= 0)
				return IN_WAKE;
			if (ms < 0 || left < ms)
				ms = (int)left;
		}
		if (out_fd == fd)
			pfd[0].events |= POLLOUT;
		else if (out_fd >= 0)
			nfds = 2;
		int r = stop_poll(pfd, nfds, ms);
		if (r < 0 && errno != EINTR) {
			note("input: poll: %s", strerror(errno));
			return IN_ERROR;
		}
		if (r <= 0)
			continue;
		if ((pfd[0].revents & POLLOUT) || (nfds == 2 && pfd[1].revents))
			return IN_WAKE;
		enum input_end e = input_take(fd, buf, room, got);
		if (e != IN_AGAIN)
			return e;
	}
}

enum input_end input_take(int fd, char *buf, size_t room, size_t *got)
{
	ssize_t n = read(fd, buf, room);

	if (n > 0) {
		*got = (size_t)n;
		return IN_DATA;
	}
	if (n == 0)
		return IN_EOF;
	if (errno == EINTR || errno == EAGAIN)
		return IN_AGAIN;
	if (errno == ECONNRESET || errno == ETIMEDOUT || errno == EHOSTUNREACH)
		return IN_RESET;
	note("input: read: %s", strerror(errno));
	return IN_ERROR;
}
