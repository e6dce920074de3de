/* The allowlist: a sorted array of ids and a short list of networks.  The
 * parser is pure; loading reads the file whole, bounded. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/scan.h"
#include "vlsink/devices.h"

static int cmp_id(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* IPv4 or IPv6 text to 16 bytes, IPv4 mapped into ::ffff:0:0/96. */
static int parse_addr(const char *s, unsigned char out[16], unsigned *bits)
{
	struct in_addr v4;

	if (inet_pton(AF_INET, s, &v4) == 1) {
		memset(out, 0, 10);
		out[10] = out[11] = 0xff;
		memcpy(out + 12, &v4, 4);
		*bits = 32;
		return 0;
	}
	if (inet_pton(AF_INET6, s, out) == 1) {
		*bits = 128;
		return 0;
	}
	return -1;
}

static const char *parse_net(const char *p, size_t n, struct net *out)
{
	char buf[64];
	unsigned bits, prefix;
	const char *slash = memchr(p, '/', n);
	size_t an = slash ? (size_t)(slash - p) : n;

	if (an == 0 || an >= sizeof(buf))
		return "expected an address after addr:";
	memcpy(buf, p, an);
	buf[an] = '\0';
	if (parse_addr(buf, out->addr, &bits))
		return "not a numeric IPv4 or IPv6 address";
	prefix = bits;
	if (slash && scan_uint(slash + 1, n - an - 1, bits, &prefix))
		return "bad prefix length";
	out->prefix = prefix + (128 - bits);
	return NULL;
}

static void trim(const char **p, size_t *n)
{
	while (*n && (**p == ' ' || **p == '\t')) {
		(*p)++;
		(*n)--;
	}
	while (*n && ((*p)[*n - 1] == ' ' || (*p)[*n - 1] == '\t' || (*p)[*n - 1] == '\r'))
		(*n)--;
}

int devices_parse(struct devices *d, const char *text, size_t n, size_t *line, const char **why)
{
	const char *p = text, *end = text + n;
	size_t lineno = 0, ids = 0, nets = 0;

	memset(d, 0, sizeof(*d));
	/* Two passes: count, then fill arrays of exactly that size. */
	for (int pass = 0; pass < 2; pass++) {
		p = text;
		lineno = 0;
		ids = nets = 0;
		while (p < end) {
			const char *lf = memchr(p, '\n', (size_t)(end - p));
			const char *s = p;
			size_t len = (size_t)((lf ? lf : end) - p);
			p = lf ? lf + 1 : end;
			lineno++;
			trim(&s, &len);
			if (len == 0 || s[0] == '#')
				continue;
			if (len > 5 && !memcmp(s, "addr:", 5)) {
				struct net tmp = { { 0 }, 0 };
				const char *bad = parse_net(s + 5, len - 5, pass ? &d->net[nets] : &tmp);
				if (bad) {
					*line = lineno;
					*why = bad;
					devices_free(d);
					return -1;
				}
				nets++;
				continue;
			}
			char tmp[VEHICLE_MAX + 1] = "";
			if (scan_vehicle(s, len, pass ? d->id[ids] : tmp)) {
				*line = lineno;
				*why = "expected a vehicle id (1-64 of A-Z a-z 0-9 . _ - : @) or addr:IP[/PREFIX]";
				devices_free(d);
				return -1;
			}
			if (++ids > DEVICES_MAX) {
				*line = lineno;
				*why = "more than 65536 entries";
				devices_free(d);
				return -1;
			}
		}
		if (pass == 0) {
			d->id = calloc(ids ? ids : 1, sizeof(*d->id));
			d->net = calloc(nets ? nets : 1, sizeof(*d->net));
			if (!d->id || !d->net) {
				*line = 0;
				*why = strerror(ENOMEM);
				devices_free(d);
				return -1;
			}
		}
	}
	d->nid = ids;
	d->nnet = nets;
	qsort(d->id, d->nid, sizeof(*d->id), cmp_id);
	return 0;
}

int devices_load(struct devices *d, const char *path, size_t *line, const char **why)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

	*line = 0;
	if (fd < 0 || fstat(fd, &st) < 0) {
		*why = strerror(errno);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > DEVICES_FILE_MAX) {
		*why = S_ISREG(st.st_mode) ? "larger than 8 MiB" : "not a regular file";
		close(fd);
		return -1;
	}
	char *text = malloc((size_t)st.st_size + 1);
	size_t got = 0;
	while (text && got < (size_t)st.st_size) {
		ssize_t r = read(fd, text + got, (size_t)st.st_size - got);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	if (!text || got != (size_t)st.st_size) {
		*why = text ? "short read" : strerror(ENOMEM);
		free(text);
		return -1;
	}
	int r = devices_parse(d, text, got, line, why);
	free(text);
	return r;
}

void devices_free(struct devices *d)
{
	free(d->id);
	free(d->net);
	memset(d, 0, sizeof(*d));
}

int devices_has_id(const struct devices *d, const char *id)
{
	return id && d->nid && bsearch(id, d->id, d->nid, sizeof(*d->id), cmp_id) != NULL;
}

int devices_has_addr(const struct devices *d, const char *addr)
{
	unsigned char a[16];
	unsigned bits;

	if (!addr || parse_addr(addr, a, &bits))
		return 0;
	for (size_t i = 0; i < d->nnet; i++) {
		const struct net *n = &d->net[i];
		unsigned full = n->prefix / 8, rest = n->prefix % 8;
		if (memcmp(a, n->addr, full) != 0)
			continue;
		if (rest && ((a[full] ^ n->addr[full]) & (0xff << (8 - rest)) & 0xff))
			continue;
		return 1;
	}
	return 0;
}
