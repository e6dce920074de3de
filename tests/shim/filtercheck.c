/* Checks the seccomp filter of src/vlsink/sandbox.c without a kernel: for
 * every kind of vlsink process, an interpreter runs the filter (a binary
 * search on the call's number) and, beside it, the same rules looked up one
 * after the other as a plain list, on every call number, on x32's numbering
 * and another architecture, and on argument values taken from the rules
 * themselves.  Every verdict must agree, and a few must be what vlsink(1)
 * says they are.  Prints what it checked; exits 1 on any difference.
 *
 *   cc -std=c11 -D_GNU_SOURCE -Isrc -o filtercheck tests/shim/filtercheck.c
 */
#include "vlsink/sandbox.c"

void log_line(int priority, const char *text, size_t len)
{
	(void)priority;
	(void)text;
	(void)len;
}

/* The verdict of p on d; *bad is set for a program the kernel would
 * refuse or one that runs off its end. */
static uint32_t run(const struct prog *p, const struct seccomp_data *d, int *bad)
{
	uint32_t a = 0;
	unsigned pc = 0;

	while (pc < p->n) {
		struct sock_filter f = p->f[pc];
		switch (f.code) {
		case BPF_LD | BPF_W | BPF_ABS:
			if (f.k % 4 || f.k + 4 > sizeof(*d)) {
				*bad = 1;
				return 0;
			}
			memcpy(&a, (const char *)d + f.k, 4);
			pc++;
			break;
		case BPF_JMP | BPF_JEQ | BPF_K:
			pc += 1u + (a == f.k ? f.jt : f.jf);
			break;
		case BPF_JMP | BPF_JGE | BPF_K:
			pc += 1u + (a >= f.k ? f.jt : f.jf);
			break;
		case BPF_JMP | BPF_JSET | BPF_K:
			pc += 1u + ((a & f.k) ? f.jt : f.jf);
			break;
		case BPF_RET | BPF_K:
			return f.k;
		default:
			*bad = 1;
			return 0;
		}
	}
	*bad = 1;
	return 0;
}

/* The rules as the filter was before the search: one after the other, the
 * first for a call deciding it. */
static void build_list(struct prog *p, const struct rules *rs)
{
	prologue(p);
	for (unsigned i = 0; i < rs->n; i++)
		emit_rule(p, &rs->r[i]);
	ret(p, DENY);
}

static uint32_t vals[256];
static unsigned nvals;

static void add_val(uint32_t v)
{
	for (unsigned i = 0; i < nvals; i++)
		if (vals[i] == v)
			return;
	if (nvals < N(vals))
		vals[nvals++] = v;
}

static unsigned failures;

static void expect(const char *what, uint32_t got, uint32_t want, unsigned config)
{
	if (got == want)
		return;
	if (++failures <= 20)
		printf("config %u: %s: verdict %#x, expected %#x\n", config, what, got, want);
}

static uint32_t verdict(const struct prog *p, long nr, const uint64_t *args)
{
	struct seccomp_data d = { .nr = (int)nr, .arch = SB_ARCH };
	int bad = 0;

	for (int i = 0; i < 6; i++)
		d.args[i] = args[i];
	uint32_t v = run(p, &d, &bad);
	return bad ? 0xdeadu : v;
}

int main(void)
{
	unsigned long cases = 0;
	unsigned tmin = UINT_MAX, tmax = 0, lmin = UINT_MAX, lmax = 0;

	for (unsigned config = 0; config < 32; config++) {
		struct sandbox sb = {
			.journal = config & 1,
			.fifo = (config & 2) ? "/run/vlsink/positions" : NULL,
			.opener = (config >> 2) & 1,
			.supervisor = (config >> 3) & 1,
			.log = (config >> 4) & 1,
		};
		struct rules rs;
		struct prog tree, list;
		rules_for(&rs, &sb);
		build(&tree, &sb);
		build_list(&list, &rs);
		if (tree.full || list.full || rs.full) {
			printf("config %u: the filter does not fit\n", config);
			return 1;
		}
		tmin = tree.n < tmin ? tree.n : tmin;
		tmax = tree.n > tmax ? tree.n : tmax;
		lmin = list.n < lmin ? list.n : lmin;
		lmax = list.n > lmax ? list.n : lmax;

		nvals = 0;
		add_val(0);
		add_val(1);
		add_val(UINT32_MAX);
		for (unsigned i = 0; i < rs.n; i++) {
			const struct rule *r = &rs.r[i];
			add_val(r->k);
			add_val(r->k2);
			add_val(~r->k);
			for (unsigned j = 0; j < r->nv; j++) {
				add_val(r->v[j]);
				add_val(r->v[j] + 1);
			}
		}
		for (long nr = 0; nr < 1024; nr++) {
			int ruled = 0, pair = 0;
			for (unsigned i = 0; i < rs.n; i++) {
				ruled |= rs.r[i].nr == nr;
				pair |= rs.r[i].nr == nr && rs.r[i].kind == R_PAIR;
			}
			unsigned nx = ruled ? nvals : 1;
			for (unsigned x = 0; x < nx; x++)
				for (unsigned y = 0; y < nx; y++)
					for (unsigned hi = 0; hi < (ruled ? 2u : 1u); hi++) {
						/* Even arguments take x, odd ones y: every value
						 * in each, and every pair where two arguments are
						 * checked together.  hi puts a bit in the upper
						 * halves, which no rule allows. */
						if (!pair && x != y && x && y)
							continue;
						uint64_t args[6], h = hi ? (uint64_t)1 << 32 : 0;
						for (int i = 0; i < 6; i++)
							args[i] = h | (i % 2 ? vals[y] : vals[x]);
						uint32_t want = verdict(&list, nr, args), got = verdict(&tree, nr, args);
						char what[64];
						snprintf(what, sizeof(what), "call %ld (%#x, %#x, upper %u)", nr, vals[x], vals[y], hi);
						expect(what, got, want, config);
						if (want == 0xdeadu)
							expect("the plain list ran off its end", want, 0, config);
						cases++;
					}
		}

		/* What vlsink(1), SANDBOX, says, whatever the list holds. */
		uint64_t none[6] = { 0 }, exec_map[6] = { 0, 4096, PROT_READ | PROT_EXEC, 0, 0, 0 };
		uint64_t rw_map[6] = { 0, 4096, PROT_READ | PROT_WRITE, 0, 0, 0 };
		uint64_t dgram[6] = { AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, 0, 0, 0 };
		uint64_t tcp[6] = { AF_INET, SOCK_STREAM, 0, 0, 0, 0 };
		uint64_t fifo_open[6] = { (uint64_t)AT_FDCWD, 0, FIFO_FLAGS, 0, 0, 0 };
		uint64_t fork_flags[6] = { FORK_FLAGS, 0, 0, 0, 0, 0 };
		uint64_t thread[6] = { FORK_FLAGS | CLONE_VM | CLONE_THREAD, 0, 0, 0, 0, 0 };
		expect("read", verdict(&tree, SYS_read, none), SECCOMP_RET_ALLOW, config);
		expect("execve", verdict(&tree, SYS_execve, none), DENY, config);
		expect("ptrace", verdict(&tree, SYS_ptrace, none), DENY, config);
		expect("clone3", verdict(&tree, SYS_clone3, none), SECCOMP_RET_ERRNO | ENOSYS, config);
		expect("mmap, executable", verdict(&tree, SYS_mmap, exec_map), DENY, config);
		expect("mmap", verdict(&tree, SYS_mmap, rw_map), SECCOMP_RET_ALLOW, config);
		expect("socket(AF_INET)", verdict(&tree, SYS_socket, tcp), DENY, config);
		expect("socket(AF_UNIX, SOCK_DGRAM)", verdict(&tree, SYS_socket, dgram),
		       sb.journal ? SECCOMP_RET_ALLOW : DENY, config);
		expect("openat of the FIFO", verdict(&tree, SYS_openat, fifo_open), sb.fifo ? SECCOMP_RET_ALLOW : DENY,
		       config);
		expect("fork", verdict(&tree, SYS_clone, fork_flags), sb.supervisor ? SECCOMP_RET_ALLOW : DENY, config);
		expect("a thread", verdict(&tree, SYS_clone, thread), DENY, config);
		expect("sendmsg", verdict(&tree, SYS_sendmsg, none),
		       sb.journal || sb.opener || sb.log ? SECCOMP_RET_ALLOW : DENY, config);
		expect("x32", verdict(&tree, SYS_read | SB_X32_BIT, none), SECCOMP_RET_KILL_PROCESS, config);
		struct seccomp_data foreign = { .nr = SYS_read, .arch = AUDIT_ARCH_I386 };
		int bad = 0;
		expect("another architecture", run(&tree, &foreign, &bad), SECCOMP_RET_KILL_PROCESS, config);
		cases += 15;
	}
	printf("filter check: 32 kinds of process, %lu verdicts; the search %u-%u instructions, "
	       "the plain list %u-%u; %u differences\n",
	       cases, tmin, tmax, lmin, lmax, failures);
	return failures ? 1 : 0;
}
