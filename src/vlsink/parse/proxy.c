/* The PROXY protocol header, versions 1 (text) and 2 (binary), checked as
 * strictly as HAProxy's proxy-protocol.txt words it: anything that does not
 * match exactly is refused, since the header decides whose address the
 * records carry. */
#include <arpa/inet.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "vlsink/parse/proxy.h"

static const unsigned char v2_sig[12] = { 0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A };
static const char v1_sig[] = "PROXY ";

/* The shortest headers: "PROXY UNKNOWN\r\n", and version 2's fixed part. */
#define V1_MIN 15
#define V2_FIXED 16

#define TLV_CRC32C 0x03

static int bad(struct proxy_header *h, const char *why)
{
	h->why = why;
	return -1;
}

static int more(struct proxy_header *h, size_t need)
{
	h->need = need;
	return 0;
}

/* A decimal of 1-max_digits digits without a leading zero ("0" itself is
 * fine: the spec forbids leading zeros so that nothing reads as octal). */
static int dec(const char *p, size_t n, size_t max_digits, unsigned max, unsigned *out)
{
	unsigned v = 0;

	if (n == 0 || n > max_digits || (n > 1 && p[0] == '0'))
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (unsigned)(p[i] - '0');
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

/* Exactly four decimals 0-255, one dot between each. */
static int ipv4(const char *p, size_t n, unsigned char *out)
{
	size_t start = 0, part = 0;

	for (size_t i = 0; i <= n; i++) {
		if (i < n && p[i] != '.')
			continue;
		unsigned v;
		if (part == 4 || dec(p + start, i - start, 3, 255, &v))
			return -1;
		out[part++] = (unsigned char)v;
		start = i + 1;
	}
	return part == 4 ? 0 : -1;
}

/* Hex groups of 1-4 digits, one "::" at most, 128 bits in all (and the
 * dotted tail that inet_ntop writes for IPv4-mapped addresses). */
static int ipv6(const char *p, size_t n, unsigned char *out)
{
	char text[INET6_ADDRSTRLEN];

	if (n == 0 || n >= sizeof(text) || strspn(p, "0123456789abcdefABCDEF:.") < n)
		return -1;
	memcpy(text, p, n);
	text[n] = '\0';
	return inet_pton(AF_INET6, text, out) == 1 ? 0 : -1;
}

/* What follows "PROXY ": "UNKNOWN..." or "TCP4|TCP6 SRC DST SPORT DPORT". */
static int v1_fields(const char *p, size_t n, struct proxy_header *h)
{
	const char *f[4];
	size_t len[4], k = 0, start = 0;

	if (n >= 7 && !memcmp(p, "UNKNOWN", 7) && (n == 7 || p[7] == ' ')) {
		/* The receiver must ignore the rest of the line. */
		h->kind = PROXY_LOCAL;
		return 0;
	}
	if (n < 5 || (memcmp(p, "TCP4 ", 5) != 0 && memcmp(p, "TCP6 ", 5) != 0))
		return bad(h, "protocol is not TCP4, TCP6 or UNKNOWN");
	int v4 = p[3] == '4';
	p += 5;
	n -= 5;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && p[i] != ' ')
			continue;
		if (k == 4)
			return bad(h, "more than four fields after the protocol");
		f[k] = p + start;
		len[k++] = i - start;
		start = i + 1;
	}
	if (k != 4)
		return bad(h, "fewer than four fields after the protocol");
	unsigned char dst[16];
	unsigned dport;
	if (v4 ? ipv4(f[0], len[0], h->addr) : ipv6(f[0], len[0], h->addr))
		return bad(h, v4 ? "bad TCP4 source address" : "bad TCP6 source address");
	if (v4 ? ipv4(f[1], len[1], dst) : ipv6(f[1], len[1], dst))
		return bad(h, v4 ? "bad TCP4 destination address" : "bad TCP6 destination address");
	if (dec(f[2], len[2], 5, 65535, &h->port))
		return bad(h, "bad source port");
	if (dec(f[3], len[3], 5, 65535, &dport))
		return bad(h, "bad destination port");
	h->kind = PROXY_CLIENT;
	h->family = v4 ? AF_INET : AF_INET6;
	return 0;
}

static int v1(const unsigned char *p, size_t n, struct proxy_header *h)
{
	size_t lim = n < PROXY_V1_MAX ? n : PROXY_V1_MAX, i;

	h->version = 1;
	if (memcmp(p, v1_sig, n < 6 ? n : 6) != 0)
		return bad(h, "not a PROXY protocol header");
	/* Refuse what can never become a header as soon as it shows, so that a
	 * client talking to the port directly is turned away at once. */
	for (i = 0; i < lim; i++) {
		if (p[i] == '\n')
			break;
		if (p[i] == '\r' && i + 1 < n && p[i + 1] != '\n')
			return bad(h, "a CR not followed by LF");
		if ((p[i] < 0x20 || p[i] > 0x7E) && p[i] != '\r')
			return bad(h, "a control or non-ASCII byte in the version 1 line");
	}
	if (i == lim) {
		if (n >= PROXY_V1_MAX)
			return bad(h, "no CRLF within 107 bytes");
		return more(h, n < V1_MIN ? V1_MIN - n : 1);
	}
	if (i == 0 || p[i - 1] != '\r')
		return bad(h, "a line ending in LF without CR");
	if (i + 1 < V1_MIN)
		return bad(h, "version 1 line too short");
	if (v1_fields((const char *)p + 6, i - 7, h))
		return -1;
	return (int)(i + 1);
}

/* CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), bit by bit: the
 * header is a few hundred bytes once per connection. */
static uint32_t crc32c(const unsigned char *p, size_t n, size_t zero_from, size_t zero_to)
{
	uint32_t crc = 0xFFFFFFFFu;

	for (size_t i = 0; i < n; i++) {
		crc ^= i >= zero_from && i < zero_to ? 0 : p[i];
		for (int b = 0; b < 8; b++)
			crc = crc & 1 ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
	}
	return ~crc;
}

/* The TLVs after the address block: each one's framing within the header,
 * and a CRC32C one checked against the header. */
static int v2_tlvs(const unsigned char *p, size_t from, size_t end, struct proxy_header *h)
{
	while (from < end) {
		if (end - from < 3)
			return bad(h, "a TLV cut short by the header's length");
		size_t len = (size_t)p[from + 1] << 8 | p[from + 2];
		if (len > end - from - 3)
			return bad(h, "a TLV longer than the header");
		if (p[from] == TLV_CRC32C) {
			if (len != 4)
				return bad(h, "a CRC32C TLV not 4 bytes long");
			uint32_t want = (uint32_t)p[from + 3] << 24 | (uint32_t)p[from + 4] << 16 |
					(uint32_t)p[from + 5] << 8 | p[from + 6];
			if (crc32c(p, end, from + 3, from + 7) != want)
				return bad(h, "CRC32C mismatch");
		}
		from += 3 + len;
	}
	return 0;
}

static int v2(const unsigned char *p, size_t n, struct proxy_header *h)
{
	h->version = 2;
	if (memcmp(p, v2_sig, n < 12 ? n : 12) != 0)
		return bad(h, "not a PROXY protocol header");
	if (n > 12 && (p[12] >> 4) != 2)
		return bad(h, "version 2 signature with another version");
	if (n > 12 && (p[12] & 0x0F) > 1)
		return bad(h, "command neither LOCAL nor PROXY");
	if (n > 13 && ((p[13] >> 4) > 3 || (p[13] & 0x0F) > 2))
		return bad(h, "unknown address family or transport");
	if (n < V2_FIXED)
		return more(h, V2_FIXED - n);
	size_t total = V2_FIXED + ((size_t)p[14] << 8 | p[15]);
	if (total > PROXY_MAX)
		return bad(h, "version 2 header longer than 536 bytes");
	if (n < total)
		return more(h, total - n);

	int family = p[13] >> 4, transport = p[13] & 0x0F;
	if ((p[12] & 0x0F) == 0 || family == 0) {
		/* LOCAL (a balancer's own connection, such as a health check),
		 * or an unspecified family: the block is ignored, as the spec
		 * says, and the connection's endpoints stand. */
		h->kind = PROXY_LOCAL;
		return (int)total;
	}
	if (transport == 0)
		return bad(h, "an address family without a transport");
	if (transport == 2)
		return bad(h, "a datagram transport, not a stream");
	size_t block = family == 1 ? 12 : family == 2 ? 36 : 216;
	if (total - V2_FIXED < block)
		return bad(h, "address block shorter than its family needs");
	if (v2_tlvs(p, V2_FIXED + block, total, h))
		return -1;
	if (family == 3) {
		h->kind = PROXY_UNIX;
		return (int)total;
	}
	size_t alen = family == 1 ? 4 : 16;
	h->kind = PROXY_CLIENT;
	h->family = family == 1 ? AF_INET : AF_INET6;
	memcpy(h->addr, p + V2_FIXED, alen);
	h->port = (unsigned)p[V2_FIXED + 2 * alen] << 8 | p[V2_FIXED + 2 * alen + 1];
	return (int)total;
}

int proxy_parse(const unsigned char *p, size_t n, int accept, struct proxy_header *h)
{
	memset(h, 0, sizeof(*h));
	if (n == 0)
		return more(h, (accept & PROXY_V1) ? V1_MIN : V2_FIXED);
	if (p[0] == v2_sig[0]) {
		if (accept & PROXY_V2)
			return v2(p, n, h);
		if (!memcmp(p, v2_sig, n < 12 ? n : 12))
			return bad(h, "a version 2 header where version 1 was expected");
	} else if (p[0] == (unsigned char)v1_sig[0]) {
		if (accept & PROXY_V1)
			return v1(p, n, h);
		if (!memcmp(p, v1_sig, n < 6 ? n : 6))
			return bad(h, "a version 1 header where version 2 was expected");
	}
	return bad(h, "not a PROXY protocol header");
}
