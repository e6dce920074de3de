/* H02: a stub until its parser lands (issue 18); every frame is turned away. */
#include "vlsink/parse/proto.h"

enum verdict h02_parse(const struct session *s, const char *p, size_t n, struct frame_out *out)
{
	(void)s;
	(void)p;
	(void)n;
	out->nrec = 0;
	out->reply_n = 0;
	out->why = R_SYNTAX;
	return V_REJECT;
}
