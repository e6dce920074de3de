/* Samples are cut before they are escaped, so their size is bounded by
 * SAMPLE_MAX whatever the input, and cut again if dst is smaller. */
#include <string.h>

#include "escape.h"

size_t escape_sample(char *dst, size_t cap, const char *p, size_t n, size_t at)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0, i = at > 40 && n > SAMPLE_MAX ? at - 40 : 0;

	if (i + SAMPLE_MAX > n)
		i = n > SAMPLE_MAX ? n - SAMPLE_MAX : 0;
	size_t stop = i + SAMPLE_MAX;
	if (i > 0) {
		memcpy(dst, "...", 3);
		o = 3;
	}
	for (; i < n && i < stop && o + 8 < cap; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c == '"' || c == '\\') {
			dst[o++] = '\\';
			dst[o++] = (char)c;
		} else if (c < 0x20 || c >= 0x7f) {
			dst[o++] = '\\';
			dst[o++] = 'x';
			dst[o++] = hex[c >> 4];
			dst[o++] = hex[c & 15];
		} else {
			dst[o++] = (char)c;
		}
	}
	if (i < n) {
		memcpy(dst + o, "...", 3);
		o += 3;
	}
	dst[o] = '\0';
	return o;
}
