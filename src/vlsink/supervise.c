/* The reader and supervisor of a connection.  It reads and frames, writes
 * each line into the shared ring, and watches the worker through a pidfd.
 * When the worker dies abnormally, the line it was on is quarantined (one
 * entry at PRIORITY=3), a new worker is forked from this process, as the
 * first one was, and resumes at the last checkpoint.  More than
 * --restart-limit crashes in its period end the connection, as an OTP
 * supervisor gives up past its intensity. */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/escape.h"
#include "core/exits.h"
#include "core/log.h"
#include "core/stop.h"
#include "vlsink/input.h"
#include "vlsink/sandbox.h"
#include "vlsink/supervise.h"

struct super {
	struct conn *c;
	struct worker_ctx w;
	size_t ctl_size;
	char *ring; /* The reader's writable view. */
	uint64_t head, framed;
	size_t entry_max;
	pid_t pid;  /* 0: no worker. */
	int pidfd;  /* -1: pidfd_open is unavailable; waitpid on a tick instead. */
	int64_t crash_at[RESTART_MAX_LIMIT + 1];
	int ncrash;
	struct reply_sink *out; /* The replies' way to the connection (main.c's). */
	int blocked;            /* The peer took no reply for REPLY_STALL_MS. */
};

static size_t ring_room(const struct super *s)
{
	return RING_SIZE - (size_t)(s->head - atomic_load(&s->w.sh->tail));
}

/* Room for any entry, and for the padding that may come before it. */
static int ring_fits(const struct super *s)
{
	return ring_room(s) >= 2 * s->entry_max;
}

static void ring_push(struct super *s, enum lb_event ev, const struct lb_line *l)
{
	size_t at = s->head % RING_SIZE, need = RING_HDR + ((l->n + 7) & ~(size_t)7);
	/* The protocol rides with each frame: the worker was forked before
	 * the first bytes decided it. */
	uint32_t len = (uint32_t)l->n, e = (uint32_t)ev | (uint32_t)s->c->proto << RING_PROTO_SHIFT;

	if (RING_SIZE - at < need) {
		uint32_t pad = RING_PAD;
		memcpy(s->ring + at, &pad, 4);
		s->head += RING_SIZE - at;
		at = 0;
	}
	memcpy(s->ring + at, &len, 4);
	memcpy(s->ring + at + 4, &e, 4);
	memcpy(s->ring + at + RING_HDR, l->p, l->n);
	s->head += need;
	s->framed++;
}

static void publish(struct super *s)
{
	struct shared *sh = s->w.sh;

	if (atomic_load(&sh->head) == s->head)
		return;
	atomic_store(&sh->head, s->head);
	if (atomic_exchange(&sh->want_data, 0)) {
		uint64_t one = 1;
		(void)!write(s->w.data_efd, &one, sizeof(one));
	}
}

static void wake_worker(struct super *s)
{
	uint64_t one = 1;

	(void)!write(s->w.data_efd, &one, sizeof(one));
}

/* The replies the worker released go out, in order, each once: the ring
 * holds them in the order of their lines, and the sink drops any for a
 * line at or before the last it took.  A worker waiting for room is woken.
 * Never blocks; once the peer has taken nothing for REPLY_STALL_MS while
 * its replies fill the buffer, the connection is given up (reply-blocked). */
static void pass_replies(struct super *s)
{
	struct reply_ring *ring = &s->w.sh->replies;

	if (!s->out)
		return;
	(void)reply_write(s->out);
	if (reply_take(ring, s->out) && atomic_exchange(&ring->want_space, 0))
		wake_worker(s);
	(void)reply_write(s->out);
	if (reply_stalled(s->out, monotonic_ms()) && !reply_fits(s->out))
		s->blocked = 1;
}

static int spawn(struct super *s, int fd)
{
	struct shared *sh = s->w.sh;
	pid_t parent = getpid();

	atomic_store(&sh->started, 0);
	atomic_store(&sh->done, 0);
	atomic_store(&sh->want_data, 0);
	pid_t pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		/* The worker owns nothing of the connection and cannot write
		 * the lines it is given; it does not outlive the reader. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(EXIT_SOFTWARE);
		if (s->pidfd >= 0)
			close(s->pidfd);
		if (fd != s->c->sink->fd)
			close(fd);
		if (mprotect(s->ring, RING_SIZE, PROT_READ) < 0 || (s->c->opt->sandbox && sandbox_narrow() < 0))
			_exit(EXIT_SOFTWARE);
		worker_run(&s->w);
	}
	s->pid = pid;
	s->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	return 0;
}

/* The line numbered seq, still in the ring after the checkpoint. */
static int find_line(const struct super *s, uint64_t seq, const char **p, size_t *n)
{
	const struct checkpoint *k = &s->w.sh->ck[atomic_load(&s->w.sh->current)];
	uint64_t off = k->tail_off, at = k->tail_seq;

	while (off != s->head) {
		const char *e = s->ring + off % RING_SIZE;
		uint32_t len;
		memcpy(&len, e, 4);
		if (len == RING_PAD) {
			off += RING_SIZE - off % RING_SIZE;
			continue;
		}
		if (++at == seq) {
			*p = e + RING_HDR;
			*n = len;
			return 0;
		}
		off += RING_HDR + ((len + 7) & ~(uint64_t)7);
	}
	return -1;
}

static void how(int status, char *buf, size_t cap, const char **name, char *value, size_t vcap)
{
	if (WIFSIGNALED(status)) {
		int sig = WTERMSIG(status);
		const char *abbrev = sigabbrev_np(sig);
		snprintf(buf, cap, "killed by signal %d (SIG%s)", sig, abbrev ? abbrev : "?");
		*name = "SIGNAL";
		snprintf(value, vcap, "%d", sig);
	} else {
		snprintf(buf, cap, "exited with status %d", WEXITSTATUS(status));
		*name = "EXIT_STATUS";
		snprintf(value, vcap, "%d", WEXITSTATUS(status));
	}
}

/* What a crash cost: line seq, the fix held after it, or a fix it closed. */
enum cost { C_LINE, C_HELD_FIX, C_FIX };

/* One entry for what a crash cost; p[0, n) is the line, or the fix's lines. */
static void quarantine_event(struct super *s, uint64_t seq, enum cost what, const char *p, size_t n, int status)
{
	struct conn *c = s->c;
	const struct checkpoint *k = &s->w.sh->ck[atomic_load(&s->w.sh->current)];
	char sample[SAMPLE_SIZE] = "", died[64], msg[512], text[600];
	struct event ev = { 0 };

	if (p)
		escape_sample(sample, sizeof(sample), p, n, 0);
	ev.priority = 3;
	ev.vehicle = k->st.ident[0] ? k->st.ident : c->vehicle;
	ev.field[0].name = "REJECT_REASON";
	snprintf(ev.field[0].value, sizeof(ev.field[0].value), "%s", reason_name(R_WORKER_CRASH));
	how(status, died, sizeof(died), &ev.field[1].name, ev.field[1].value, sizeof(ev.field[1].value));
	ev.field[2].name = "LINE_NUMBER";
	snprintf(ev.field[2].value, sizeof(ev.field[2].value), "%" PRIu64, seq);
	ev.nfields = 3;
	if (what != C_LINE)
		snprintf(msg, sizeof(msg),
			 "fix %s line %" PRIu64 " quarantined (worker-crash): the worker %s delivering it: \"%s\"",
			 what == C_FIX ? "closed by" : "held after", seq, died, sample);
	else
		snprintf(msg, sizeof(msg), "line %" PRIu64 " quarantined (worker-crash): the worker %s on it: \"%s\"",
			 seq, died, sample);
	snprintf(text, sizeof(text), "%s: %s", c->peer.text[0] ? c->peer.text : "stdin", msg);
	ev.message = msg;
	ev.text = text;
	ev.raw = sample;
	sink_event(c->sink, &c->peer, &ev);
}

static void event(struct super *s, int priority, const char *msg, const char *name, const char *value)
{
	struct conn *c = s->c;
	char text[600];
	struct event ev = { 0 };

	snprintf(text, sizeof(text), "%s: %s", c->peer.text[0] ? c->peer.text : "stdin", msg);
	ev.priority = priority;
	ev.vehicle = conn_vehicle(c);
	ev.message = msg;
	ev.text = text;
	if (name) {
		ev.field[0].name = name;
		snprintf(ev.field[0].value, sizeof(ev.field[0].value), "%s", value);
		ev.nfields = 1;
	}
	sink_event(c->sink, &c->peer, &ev);
}

/* More than restart_max crashes within restart_period seconds. */
static int over_limit(struct super *s)
{
	const struct config *o = s->c->opt;
	int64_t now = monotonic_ms();

	if (s->ncrash == o->restart_max + 1) {
		memmove(s->crash_at, s->crash_at + 1, sizeof(s->crash_at[0]) * (size_t)o->restart_max);
		s->ncrash--;
	}
	s->crash_at[s->ncrash++] = now;
	return s->ncrash == o->restart_max + 1 && now - s->crash_at[0] < (int64_t)o->restart_period * 1000;
}

enum fate { W_RUNNING, W_DONE, W_ENDED };

/* The worker is gone: W_DONE when it finished as asked, W_ENDED when the
 * connection must end (sink failure, refused device, restart limit), else
 * W_RUNNING: a new one runs. */
static enum fate reaped(struct super *s, int status, int fd)
{
	struct conn *c = s->c;
	struct shared *sh = s->w.sh;
	struct checkpoint *k = &sh->ck[atomic_load(&sh->current)];
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	const char *p = NULL;
	size_t n = 0;

	s->pid = 0;
	if (s->pidfd >= 0)
		close(s->pidfd);
	s->pidfd = -1;
	if (code == EXIT_OK && (atomic_load(&sh->closing) || atomic_load(&sh->hangup)))
		return W_DONE;
	if (code == EXIT_OUTPUT || code == EXIT_NOPERM)
		return W_ENDED;
	c->rp.t.crashes++;
	uint64_t started = atomic_load(&sh->started), done = atomic_load(&sh->done);
	unsigned fix = atomic_exchange(&sh->fix_at, 0);
	int kept = 0;
	/* What lies before the checkpoint is never done again. */
	for (int i = 0; i < sh->nquarantine; i++)
		if (sh->quarantine[i] > k->tail_seq)
			sh->quarantine[kept++] = sh->quarantine[i];
	sh->nquarantine = kept;
	kept = 0;
	for (int i = 0; i < sh->nfix_quarantine; i++)
		if (sh->fix_quarantine[i].line > k->tail_seq)
			sh->fix_quarantine[kept++] = sh->fix_quarantine[i];
	sh->nfix_quarantine = kept;
	/* Died delivering the fix held at the checkpoint: the fix is dropped
	 * from it, or every new worker would close it again.  Died delivering
	 * a fix its line closed: the line is done again without that fix.
	 * Died between lines (idle, flushing, checkpointing): nothing is
	 * lost, its lines since the checkpoint are simply done again. */
	if (atomic_exchange(&sh->closing_fix, 0) &&
	    conn_held(c, &k->st, s->w.raw[atomic_load(&sh->current)], &p, &n) == 0) {
		quarantine_event(s, k->tail_seq, C_HELD_FIX, p, n, status);
		conn_drop_held(c, &k->st);
	} else if (fix && fix < 32 && started != done && started > k->tail_seq) {
		quarantine_event(s, started, C_FIX, sh->fix_sample, sh->fix_len, status);
		if (sh->nfix_quarantine < QUARANTINE_MAX) {
			sh->fix_quarantine[sh->nfix_quarantine].line = started;
			sh->fix_quarantine[sh->nfix_quarantine++].k = fix;
		}
	} else if (started != done && started > k->tail_seq) {
		(void)find_line(s, started, &p, &n);
		quarantine_event(s, started, C_LINE, p, n, status);
		if (sh->nquarantine < QUARANTINE_MAX)
			sh->quarantine[sh->nquarantine++] = started;
	} else {
		char died[64], msg[200], value[16];
		const char *name;
		how(status, died, sizeof(died), &name, value, sizeof(value));
		snprintf(msg, sizeof(msg), "the worker %s between lines; restarted, no line lost", died);
		event(s, 4, msg, name, value);
	}
	if (over_limit(s)) {
		char msg[200], value[32];
		snprintf(msg, sizeof(msg),
			 "worker crashed %d times within %d s (--restart-limit=%d/%d): connection closed, lines "
			 "after line %" PRIu64 " not processed",
			 c->opt->restart_max + 1, c->opt->restart_period, c->opt->restart_max, c->opt->restart_period,
			 k->tail_seq);
		snprintf(value, sizeof(value), "%d", c->opt->restart_max);
		event(s, 3, msg, "RESTART_LIMIT", value);
		c->gave_up = 1;
		return W_ENDED;
	}
	/* A crash between making a checkpoint stand and releasing its
	 * replies: they are released now, before the new worker stages
	 * after them. */
	atomic_store(&sh->replies.released, k->reply_head);
	atomic_store(&sh->replies.want_space, 0);
	if (spawn(s, fd) < 0) {
		note("fork: %s", strerror(errno));
		c->gave_up = 1;
		return W_ENDED;
	}
	c->rp.t.restarts++;
	return W_RUNNING;
}

static enum fate check_worker(struct super *s, int fd)
{
	int status;

	if (!s->pid)
		return W_ENDED;
	pid_t r = waitpid(s->pid, &status, WNOHANG);
	if (r != s->pid)
		return W_RUNNING;
	return reaped(s, status, fd);
}

static int setup(struct super *s, struct conn *c)
{
	size_t raw = conn_raw_size(c), page = (size_t)sysconf(_SC_PAGESIZE);

	memset(s, 0, sizeof(*s));
	s->c = c;
	s->pidfd = -1;
	s->entry_max = RING_HDR + ((c->opt->max_line + 7) & ~(size_t)7);
	s->ctl_size = (sizeof(struct shared) + 2 * raw + page - 1) / page * page;
	void *ctl = mmap(NULL, s->ctl_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (ctl == MAP_FAILED)
		return -1;
	void *ring = mmap(NULL, RING_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (ring == MAP_FAILED)
		return -1;
	s->w.c = c;
	s->w.sh = ctl;
	s->w.raw[0] = (char *)ctl + sizeof(struct shared);
	s->w.raw[1] = s->w.raw[0] + raw;
	s->ring = ring;
	s->w.ring = ring;
	s->out = c->replies;
	s->w.data_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	s->w.space_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->w.data_efd < 0 || s->w.space_efd < 0)
		return -1;
	conn_save(c, &s->w.sh->ck[0].st, s->w.raw[0]);
	return 0;
}

static const char *const end_names[] = {
	[IN_EOF] = "eof",	       [IN_STOP] = "signal", [IN_IDLE] = "idle-timeout",
	[IN_RESET] = "reset",	       [IN_ERROR] = "input-error",
};

int supervise(struct conn *c, int fd)
{
	struct super s;
	int idle = c->opt->idle_timeout;
	int64_t deadline = idle ? monotonic_ms() + (int64_t)idle * 1000 : 0;
	enum input_end ending = IN_DATA;
	int closed = 0;
	enum fate f = W_RUNNING;
	uint64_t bytes = 0;

	if (setup(&s, c) < 0 || spawn(&s, fd) < 0)
		die(EXIT_SOFTWARE, "cannot set up the worker: %s", strerror(errno));
	for (;;) {
		/* Frame what has been read, as far as the ring has room. */
		struct lb_line l;
		enum lb_event ev = LB_NONE;
		uint64_t before = s.framed;
		int backlog = 0;
		while (f == W_RUNNING) {
			/* A full ring stops reading too: the sender waits in TCP. */
			if (!ring_fits(&s)) {
				backlog = 1;
				break;
			}
			if (!conn_detect(c, 0) || (ev = linebuf_next(&c->lb, &l)) == LB_NONE)
				break;
			ring_push(&s, ev, &l);
		}
		if (!backlog && ending == IN_EOF && !closed && f == W_RUNNING) {
			if (conn_detect(c, 1) && (ev = linebuf_finish(&c->lb, &l)) != LB_NONE)
				ring_push(&s, ev, &l);
		}
		publish(&s);
		pass_replies(&s);
		if (s.blocked)
			break;
		if (idle && (s.framed != before || backlog))
			deadline = monotonic_ms() + (int64_t)idle * 1000;
		if (ending != IN_DATA && !backlog && !closed) {
			atomic_store(&s.w.sh->closing, 1);
			wake_worker(&s);
			closed = 1;
		}
		if (f != W_RUNNING)
			break;
		if (ending == IN_DATA && stop_requested()) {
			ending = IN_STOP;
			/* The worker too: a sink it waits for gets the grace period. */
			kill(s.pid, SIGTERM);
			continue;
		}

		struct pollfd pfd[4];
		int n = 0, in = -1, space = -1, child = -1;
		if (s.pidfd >= 0) {
			child = n;
			pfd[n++] = (struct pollfd){ s.pidfd, POLLIN, 0 };
		}
		if (ending == IN_DATA && !backlog) {
			in = n;
			pfd[n++] = (struct pollfd){ fd, POLLIN, 0 };
		}
		if (backlog) {
			atomic_store(&s.w.sh->want_space, 1);
			if (ring_fits(&s))
				continue;
		}
		/* The worker says so there too when it released replies (an
		 * NMEA stream has none: its reader waits as it always did). */
		if (backlog || (c->proto != PROTO_NMEA && c->proto != PROTO_AUTO)) {
			space = n;
			pfd[n++] = (struct pollfd){ s.w.space_efd, POLLIN, 0 };
		}
		int ms = s.pidfd < 0 ? 50 : -1;
		if (s.out && reply_unsent(s.out)) {
			pfd[n++] = (struct pollfd){ s.out->fd, POLLOUT, 0 };
			int64_t left = s.out->stall_since + REPLY_STALL_MS - monotonic_ms();
			int wait = left <= 0 ? 0 : left > REPLY_STALL_MS ? REPLY_STALL_MS : (int)left;
			if (ms < 0 || wait < ms)
				ms = wait;
		}
		/* Lines waiting for the worker are not an idle sender. */
		if (ending == IN_DATA && idle && !backlog) {
			int64_t left = deadline - monotonic_ms();
			if (left <= 0) {
				ending = IN_IDLE;
				continue;
			}
			if (ms < 0 || left < ms)
				ms = left > 86400000 ? 86400000 : (int)left;
		}
		int r = stop_poll(pfd, (nfds_t)n, ms);
		if (r < 0 && errno != EINTR) {
			note("input: poll: %s", strerror(errno));
			ending = IN_ERROR;
			continue;
		}
		if (space >= 0 && (pfd[space].revents & POLLIN)) {
			uint64_t v;
			(void)!read(s.w.space_efd, &v, sizeof(v));
		}
		if (child < 0 || (r > 0 && pfd[child].revents))
			f = check_worker(&s, fd);
		if (in >= 0 && r > 0 && pfd[in].revents) {
			size_t room, got = 0;
			char *buf = linebuf_space(&c->lb, &room);
			enum input_end e = input_take(fd, buf, room, &got);
			if (e == IN_DATA) {
				bytes += got;
				linebuf_commit(&c->lb, got);
			} else if (e != IN_AGAIN) {
				ending = e;
			}
		}
	}
	if (s.pid) {
		kill(s.pid, SIGKILL);
		waitpid(s.pid, NULL, 0);
	}
	/* What the last worker released still goes out, as far as the peer
	 * takes it. */
	while (s.out && !s.blocked) {
		pass_replies(&s);
		if (atomic_load(&s.w.sh->replies.tail) == atomic_load(&s.w.sh->replies.released)) {
			s.blocked = reply_drain(s.out) < 0;
			break;
		}
		if (reply_drain(s.out) < 0)
			s.blocked = 1;
	}
	const struct checkpoint *k = &s.w.sh->ck[atomic_load(&s.w.sh->current)];
	uint64_t crashes = c->rp.t.crashes, restarts = c->rp.t.restarts;
	conn_restore(c, &k->st, s.w.raw[atomic_load(&s.w.sh->current)]);
	c->rp.t.bytes = bytes;
	c->rp.t.crashes = crashes;
	c->rp.t.restarts = restarts;
	if (ending == IN_DATA)
		ending = IN_EOF;
	c->rp.t.end = c->gave_up ? "restart-limit" : c->refused ? "unknown-device" : end_names[ending];
	if (c->hangup)
		c->rp.t.end = "reply-close";
	if (s.blocked)
		c->rp.t.end = "reply-blocked";
	if (c->failed)
		c->rp.t.end = "sink-error";
	return c->failed ? -1 : 0;
}
