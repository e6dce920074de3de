/* vlsink-replay: plays an NMEA capture (or any line file) or a generated
 * track to HOST:PORT over many TCP connections at once, one per simulated
 * vehicle, in real time, at a fixed rate or as fast as the peer reads.
 *
 * One thread, non-blocking sockets and ppoll(): 1000 vehicles at 1 Hz cost
 * next to nothing.  Each connection announces its vehicle with
 * "$PGID,<prefix><n>*hh" (Traccar's T55 convention, which vlsink honours),
 * then sends its lines; when done it shuts down its sending side and waits a
 * little for the peer to close, so that on exit the peer has read everything.
 *
 * With --protocol=h02, gps103, gl200 or osmand, FILE holds frames of that
 * tracker protocol instead, one per line (or each ending in its own
 * terminator), sent with the protocol's framing and no $PGID: the frames
 * name their device, "{id}" in a frame standing for the vehicle's id.
 * What the peer sends back (the protocols' acknowledgements, OsmAnd's HTTP
 * responses) is read as it comes, counted and, with --replies, printed;
 * sending never waits for it.
 *
 * Generated tracks (--generate): line k of a vehicle carries the fix time
 * 2026-01-01T00:00:00Z + (FIRST + k) seconds, RMC on even k, GGA on odd k,
 * correct checksums, moving along a square of its own; so every record can be
 * traced back to exactly one line.
 *
 * Build: cc -std=c11 -D_GNU_SOURCE -O2 -o vlsink-replay vlsink-replay.c
 * Usage and exit status: vlsink-replay --help.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum {
	EXIT_PARTIAL = 1,      /* some connection failed or was dropped */
	EXIT_USAGE = 64,       /* bad option or argument */
	EXIT_NOINPUT = 66,     /* FILE unreadable, or has no line to send */
	EXIT_UNAVAILABLE = 69, /* no connection could be made at all */
	EXIT_SOFTWARE = 70,    /* out of memory, poll failure */
};

#define CONNECT_TIMEOUT 10.0  /* seconds for a connect() to complete */
#define CONNECTS_IN_FLIGHT 64 /* at most this many connect()s at once */
#define LINE_MAX_GEN 160      /* longest generated or announce line */
#define BUF_MIN 16384         /* per-connection output buffer */
#define GEN_EPOCH 1767225600  /* 2026-01-01T00:00:00Z */
#define LEG_SECONDS 300       /* one side of a generated square */
#define TIMER_SLACK 0.005     /* seconds a due line may wait for company */

static const char *prog = "vlsink-replay";

__attribute__((format(printf, 1, 2))) static void warnx(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

__attribute__((format(printf, 2, 3), noreturn)) static void die(int status, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(status);
}

static void usage(void)
{
	printf("Usage: %s [OPTION]... HOST:PORT [FILE]\n"
	       "Play FILE (an NMEA capture, gpsd JSON or CSV lines; '-' is stdin) or a\n"
	       "generated track to HOST:PORT, one TCP connection per simulated vehicle.\n"
	       "\n"
	       "  --protocol=P       what FILE holds: nmea (the default: NMEA, gpsd JSON or\n"
	       "                     CSV lines), or frames of h02 (each sent ending in\n"
	       "                     '#'), gps103 (';'), gl200 (Queclink text, '$') or\n"
	       "                     osmand (HTTP): see FRAMES below\n"
	       "  --replies          print what the peer sends back on stdout, one line per\n"
	       "                     read: \"ID< BYTES\" (escaped as \\r, \\n, \\xhh)\n"
	       "  --vehicles=N       N concurrent connections (default 1)\n"
	       "  --prefix=STR       vehicle ids are STR1..STRN (default \"sim-\"); each\n"
	       "                     connection first sends $PGID,<id>*hh, and the file's\n"
	       "                     own identification lines ($PGID, $PCPTI, IMEI) are\n"
	       "                     left out\n"
	       "  --file-ids         send no $PGID; the file's identification lines are sent\n"
	       "                     (and counted) like any other\n"
	       "  --generate         built-in track instead of FILE: RMC and GGA lines,\n"
	       "                     line k carries the time 2026-01-01T00:00:00Z +\n"
	       "                     (FIRST + k) s, RMC on even k, GGA on odd k\n"
	       "  --first=FIRST      sequence number of the first generated line (default 0)\n"
	       "  --rate=HZ          lines per second per vehicle (default 1)\n"
	       "  --speed=X          pace by the file's timestamps (NMEA RMC/GGA/GLL/ZDA,\n"
	       "                     gpsd \"time\", CSV time), X times real time; with\n"
	       "                     --generate, one line per 1/X s\n"
	       "  --fast             as fast as the peer reads\n"
	       "  --count=N          data lines per vehicle (default: FILE once; generated:\n"
	       "                     no limit); FILE is looped to reach N\n"
	       "  --duration=SECS    stop sending after SECS (FILE is looped until then)\n"
	       "  --idle             connect and send nothing; hold the connections until\n"
	       "                     --duration, a signal, or the peer closes them\n"
	       "  --close-wait=SECS  after the last line, wait this long for the peer to\n"
	       "                     close (default 5; 0 closes at once)\n"
	       "  --per-vehicle      print \"ID LINES RESULT\" per vehicle on stdout; RESULT is\n"
	       "                     ok, failed, dropped or not-started\n"
	       "  -q, --quiet        no report on stderr\n"
	       "  -h, --help         show this help and exit\n"
	       "\n"
	       "Lines are sent as they are in FILE (a last line without LF gets one,\n"
	       "empty lines are left out); generated lines end in CRLF.  The report on\n"
	       "stderr gives connections made, failed and dropped by the peer, lines sent\n"
	       "(total, per vehicle min/max), the bytes the peer sent back and the elapsed\n"
	       "time.  SIGINT/SIGTERM stop\n"
	       "sending and end normally; a second one exits at once.  The soft open-file\n"
	       "limit is raised to the hard one.\n"
	       "\n"
	       "FRAMES (--protocol other than nmea): a frame is a line of FILE, or the text\n"
	       "up to the protocol's terminator ('#', ';', '$'), which is added when the\n"
	       "line has none; line ends between frames are not sent.  osmand: a line\n"
	       "starting with '/' or '?' is a URL path and query, sent as\n"
	       "\"GET PATH HTTP/1.1\" with Host: HOST:PORT; any other line (\"POST / HTTP/1.1\")\n"
	       "starts a whole request, sent raw: it and the lines after it up to an\n"
	       "empty line, with CRLF line ends, then a body of Content-Length bytes\n"
	       "from the file.  In every other frame \"{id}\" stands for the vehicle's\n"
	       "id (--prefix and its number).  --speed and --generate are for nmea only;\n"
	       "--count counts frames.\n"
	       "\n"
	       "Exit status:\n"
	       "  0   every connection was made and none was closed by the peer before\n"
	       "      its lines were sent (with --idle: every connection was made)\n"
	       "  1   some connections failed or were dropped by the peer\n"
	       "  64  usage error\n"
	       "  66  FILE cannot be read or has no line to send\n"
	       "  69  no connection could be made at all\n"
	       "  70  internal error (out of memory, poll failure)\n",
	       prog);
}

/* ---- time --------------------------------------------------------------- */

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Gregorian date of a count of days since 1970-01-01 (Hinnant's algorithm). */
static void civil_from_days(long long z, int *y, int *m, int *d)
{
	z += 719468;
	long long era = (z >= 0 ? z : z - 146096) / 146097;
	long long doe = z - era * 146097;
	long long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	long long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	long long mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

/* ---- options ------------------------------------------------------------ */

enum protocol { P_NMEA, P_H02, P_GPS103, P_GL200, P_OSMAND };
static const char *const protocol_names[] = {"nmea", "h02", "gps103", "gl200", "osmand"};
/* The byte that ends a frame of each text protocol; OsmAnd has none (its
 * requests are framed by their HTTP head and body). */
static const char terminator[P_OSMAND + 1] = {[P_H02] = '#', [P_GPS103] = ';', [P_GL200] = '$'};

static struct {
	const char *target;
	const char *file;
	const char *prefix;
	unsigned long vehicles;
	int file_ids;
	int generate;
	unsigned long long first;
	double rate;  /* lines/s per vehicle; 0 with --speed or --fast */
	double speed; /* real-time factor; 0 unless --speed */
	int fast;
	unsigned long long count; /* 0: default */
	int have_count;
	double duration; /* 0: none */
	int idle;
	double close_wait;
	int per_vehicle;
	int quiet;
	enum protocol protocol;
	int replies;
} opt = {
	.prefix = "sim-",
	.vehicles = 1,
	.rate = 1.0,
	.close_wait = 5.0,
};

static unsigned long long parse_ull(const char *name, const char *s, unsigned long long max)
{
	char *end;
	errno = 0;
	if (*s < '0' || *s > '9')
		die(EXIT_USAGE, "%s: not a number: '%s'", name, s);
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		die(EXIT_USAGE, "%s: not a number in 0-%llu: '%s'", name, max, s);
	return v;
}

static double parse_pos_double(const char *name, const char *s, int zero_ok)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || !(v >= 0.0) || v > 1e9 || (!zero_ok && v == 0.0))
		die(EXIT_USAGE, "%s: not a %s number: '%s'", name, zero_ok ? "non-negative" : "positive", s);
	return v;
}

static void parse_options(int argc, char **argv)
{
	enum {
		O_VEHICLES = 256, O_PREFIX, O_FILE_IDS, O_GENERATE, O_FIRST, O_RATE, O_SPEED,
		O_FAST, O_COUNT, O_DURATION, O_IDLE, O_CLOSE_WAIT, O_PER_VEHICLE, O_PROTOCOL, O_REPLIES,
	};
	static const struct option longopts[] = {
		{"vehicles", required_argument, NULL, O_VEHICLES},
		{"prefix", required_argument, NULL, O_PREFIX},
		{"file-ids", no_argument, NULL, O_FILE_IDS},
		{"generate", no_argument, NULL, O_GENERATE},
		{"first", required_argument, NULL, O_FIRST},
		{"rate", required_argument, NULL, O_RATE},
		{"speed", required_argument, NULL, O_SPEED},
		{"fast", no_argument, NULL, O_FAST},
		{"count", required_argument, NULL, O_COUNT},
		{"duration", required_argument, NULL, O_DURATION},
		{"idle", no_argument, NULL, O_IDLE},
		{"close-wait", required_argument, NULL, O_CLOSE_WAIT},
		{"per-vehicle", no_argument, NULL, O_PER_VEHICLE},
		{"protocol", required_argument, NULL, O_PROTOCOL},
		{"replies", no_argument, NULL, O_REPLIES},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int pacing = 0, c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "qh", longopts, NULL)) != -1) {
		switch (c) {
		case O_VEHICLES:
			opt.vehicles = (unsigned long)parse_ull("--vehicles", optarg, 1000000);
			if (opt.vehicles == 0)
				die(EXIT_USAGE, "--vehicles: must be at least 1");
			break;
		case O_PREFIX:
			opt.prefix = optarg;
			if (strlen(optarg) > 64 || strpbrk(optarg, "*$,\r\n \t"))
				die(EXIT_USAGE, "--prefix: at most 64 characters, none of '*$,' or blanks");
			break;
		case O_FILE_IDS: opt.file_ids = 1; break;
		case O_GENERATE: opt.generate = 1; break;
		case O_FIRST: opt.first = parse_ull("--first", optarg, 1000000000000ULL); break;
		case O_RATE:
			opt.rate = parse_pos_double("--rate", optarg, 0);
			pacing++;
			break;
		case O_SPEED:
			opt.speed = parse_pos_double("--speed", optarg, 0);
			pacing++;
			break;
		case O_FAST:
			opt.fast = 1;
			pacing++;
			break;
		case O_COUNT:
			opt.count = parse_ull("--count", optarg, ULLONG_MAX / 2);
			opt.have_count = 1;
			break;
		case O_DURATION: opt.duration = parse_pos_double("--duration", optarg, 0); break;
		case O_IDLE: opt.idle = 1; break;
		case O_CLOSE_WAIT: opt.close_wait = parse_pos_double("--close-wait", optarg, 1); break;
		case O_PER_VEHICLE: opt.per_vehicle = 1; break;
		case O_PROTOCOL: {
			size_t k = 0;
			while (k < sizeof protocol_names / sizeof *protocol_names && strcmp(optarg, protocol_names[k]) != 0)
				k++;
			if (k == sizeof protocol_names / sizeof *protocol_names)
				die(EXIT_USAGE, "--protocol: one of nmea, h02, gps103, gl200, osmand: '%s'", optarg);
			opt.protocol = (enum protocol)k;
			break;
		}
		case O_REPLIES: opt.replies = 1; break;
		case 'q': opt.quiet = 1; break;
		case 'h': usage(); exit(0);
		default:
			if (optopt)
				die(EXIT_USAGE, "unknown option or missing argument: -%c (see --help)", optopt);
			die(EXIT_USAGE, "unknown option or bad argument: %s (see --help)", argv[optind - 1]);
		}
	}
	if (pacing > 1)
		die(EXIT_USAGE, "--rate, --speed and --fast exclude each other");
	if (opt.speed > 0 || opt.fast)
		opt.rate = 0;
	if (opt.generate && opt.speed > 0) { /* one generated line per second */
		opt.rate = opt.speed;
		opt.speed = 0;
	}
	if (optind >= argc)
		die(EXIT_USAGE, "missing HOST:PORT (see --help)");
	opt.target = argv[optind++];
	if (optind < argc)
		opt.file = argv[optind++];
	if (optind < argc)
		die(EXIT_USAGE, "too many arguments (see --help)");
	if (opt.generate && opt.file)
		die(EXIT_USAGE, "--generate and FILE exclude each other");
	if (opt.idle && (opt.generate || opt.file))
		die(EXIT_USAGE, "--idle sends nothing: no FILE or --generate");
	if (!opt.idle && !opt.generate && !opt.file)
		die(EXIT_USAGE, "nothing to send: give FILE, --generate or --idle");
	if (opt.file_ids && !opt.file)
		die(EXIT_USAGE, "--file-ids needs FILE");
	if (opt.protocol != P_NMEA && (opt.generate || opt.speed > 0 || opt.file_ids))
		die(EXIT_USAGE, "--generate, --speed and --file-ids are for --protocol=nmea");
}

/* ---- the file ----------------------------------------------------------- */

struct line {
	size_t off, len; /* in file_data, terminator included */
	double t;        /* seconds since the first timestamp (--speed) */
	size_t ids;      /* "{id}" marks in a frame */
};

static char *file_data;
static struct line *lines; /* the lines to send, identification lines left out */
static size_t nlines;
static double file_span; /* t of the last line */
static size_t longest;

static int is_id_line(const char *p, size_t n)
{
	return (n >= 6 && !memcmp(p, "$PGID,", 6)) || (n >= 7 && !memcmp(p, "$PCPTI,", 7)) ||
	       (n >= 5 && !memcmp(p, "IMEI ", 5));
}

static int two_digits(const char *p)
{
	if (p[0] < '0' || p[0] > '9' || p[1] < '0' || p[1] > '9')
		return -1;
	return (p[0] - '0') * 10 + (p[1] - '0');
}

/* Seconds of the day from "hhmmss[.ss]" or "hh:mm:ss[.sss]"; -1 if neither. */
static double time_of_day(const char *p, const char *end, int colons)
{
	ptrdiff_t step = colons ? 3 : 2;
	if (end - p < 2 * step + 2)
		return -1;
	int h = two_digits(p), m = two_digits(p + step), s = two_digits(p + 2 * step);
	if (h < 0 || m < 0 || s < 0 || h > 23 || m > 59 || s > 60)
		return -1;
	if (colons && (p[2] != ':' || p[5] != ':'))
		return -1;
	double t = h * 3600 + m * 60 + s;
	const char *q = p + 2 + 2 * step;
	if (q < end && *q == '.') {
		double scale = 0.1;
		for (q++; q < end && *q >= '0' && *q <= '9'; q++) {
			t += (*q - '0') * scale;
			scale /= 10;
		}
	}
	return t;
}

/* The n-th comma-separated field of a line (0 is the sentence name). */
static const char *field(const char *p, const char *end, int n)
{
	for (; n > 0; n--) {
		p = memchr(p, ',', (size_t)(end - p));
		if (!p)
			return NULL;
		p++;
	}
	return p;
}

/* The time of day a line carries, or -1. */
static double line_time(const char *p, size_t n)
{
	const char *end = p + n, *f;
	if (n > 7 && (p[0] == '$' || p[0] == '!')) {
		const char *type = p + 3;
		if (!memcmp(type, "RMC,", 4) || !memcmp(type, "GGA,", 4) || !memcmp(type, "ZDA,", 4))
			f = field(p, end, 1);
		else if (!memcmp(type, "GLL,", 4))
			f = field(p, end, 5);
		else
			return -1;
		return f ? time_of_day(f, end, 0) : -1;
	}
	if (p[0] == '{') { /* gpsd: "time":"2026-11-25T08:00:00.000Z" */
		const char *k = memmem(p, n, "\"time\":\"", 8);
		if (!k || end - k < 8 + 19 || k[8 + 10] != 'T')
			return -1;
		return time_of_day(k + 8 + 11, end, 1);
	}
	/* CSV: id,time,... with ISO 8601 or Unix seconds. */
	f = field(p, end, 1);
	if (!f)
		return -1;
	if (end - f >= 19 && f[10] == 'T')
		return time_of_day(f + 11, end, 1);
	if (f < end && *f >= '0' && *f <= '9') {
		long long v = 0;
		for (; f < end && *f >= '0' && *f <= '9' && v < 100000000000LL; f++)
			v = v * 10 + (*f - '0');
		if (f == end || *f == ',' || *f == '.')
			return (double)(v % 86400);
	}
	return -1;
}

static void load_frames(size_t len);

static void load_file(void)
{
	int fd = strcmp(opt.file, "-") ? open(opt.file, O_RDONLY | O_CLOEXEC) : 0;
	if (fd < 0)
		die(EXIT_NOINPUT, "%s: %s", opt.file, strerror(errno));
	size_t cap = 1 << 16, len = 0;
	file_data = malloc(cap + 1);
	if (!file_data)
		die(EXIT_SOFTWARE, "out of memory");
	for (;;) {
		if (len == cap) {
			char *n = cap < SIZE_MAX / 4 ? realloc(file_data, cap * 2 + 1) : NULL;
			if (!n)
				die(EXIT_SOFTWARE, "out of memory");
			file_data = n;
			cap *= 2;
		}
		ssize_t r = read(fd, file_data + len, cap - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			die(EXIT_NOINPUT, "%s: %s", opt.file, strerror(errno));
		if (r == 0)
			break;
		len += (size_t)r;
	}
	if (fd > 0)
		close(fd);
	if (len > 0 && file_data[len - 1] != '\n')
		file_data[len++] = '\n'; /* the +1 of every allocation */
	if (opt.protocol != P_NMEA) {
		load_frames(len);
		return;
	}

	size_t ncap = 1024;
	lines = malloc(ncap * sizeof *lines);
	if (!lines)
		die(EXIT_SOFTWARE, "out of memory");
	double t0 = -1, last = -1, day = 0, t = 0;
	for (size_t off = 0; off < len;) {
		const char *p = file_data + off;
		const char *nl = memchr(p, '\n', len - off);
		size_t n = (size_t)(nl - p) + 1, body = n - 1;
		if (body > 0 && p[body - 1] == '\r')
			body--;
		off += n;
		if (body == 0 || (!opt.file_ids && is_id_line(p, body)))
			continue;
		double tod = opt.speed > 0 ? line_time(p, body) : -1;
		if (tod >= 0) {
			if (last >= 0 && tod < last - 43200)
				day += 86400; /* past midnight */
			last = tod;
			if (t0 < 0)
				t0 = tod + day;
			t = tod + day - t0;
			if (t < file_span) /* out of order: send at once */
				t = file_span;
			file_span = t;
		}
		if (nlines == ncap) {
			struct line *nw = realloc(lines, ncap * 2 * sizeof *lines);
			if (!nw)
				die(EXIT_SOFTWARE, "out of memory");
			lines = nw;
			ncap *= 2;
		}
		lines[nlines++] = (struct line){.off = (size_t)(p - file_data), .len = n, .t = t};
		if (n > longest)
			longest = n;
	}
	if (nlines == 0)
		die(EXIT_NOINPUT, "%s: no line to send", opt.file);
}

/* ---- frames of the tracker protocols ------------------------------------ */

#define PUT(lit) frame_put(lit, sizeof(lit) - 1)
#define ID_MAX 96 /* --prefix (64) and a vehicle number */

static size_t id_marks(const char *p, size_t n);

static char *frame_data;
static size_t frame_len, frame_cap;

static void frame_put(const char *p, size_t n)
{
	if (frame_cap - frame_len < n + 1) {
		size_t cap = frame_cap ? frame_cap : 1 << 16;
		while (cap - frame_len < n + 1) {
			if (cap > SIZE_MAX / 4)
				die(EXIT_SOFTWARE, "out of memory");
			cap *= 2;
		}
		char *nd = realloc(frame_data, cap);
		if (!nd)
			die(EXIT_SOFTWARE, "out of memory");
		frame_data = nd;
		frame_cap = cap;
	}
	memcpy(frame_data + frame_len, p, n);
	frame_len += n;
}

static void frame_add(size_t start)
{
	size_t n = frame_len - start;
	if (nlines % 1024 == 0) {
		struct line *nw = realloc(lines, (nlines + 1024) * sizeof *lines);
		if (!nw)
			die(EXIT_SOFTWARE, "out of memory");
		lines = nw;
	}
	lines[nlines++] = (struct line){.off = start, .len = n, .t = 0, .ids = id_marks(frame_data + start, n)};
	if (n > longest)
		longest = n;
}

/* "Content-Length: N" among the header lines p[0..n), or 0. */
static size_t content_length(const char *p, size_t n)
{
	static const char key[] = "content-length:";
	for (size_t i = 0; i + sizeof key - 1 <= n; i++) {
		if ((i == 0 || p[i - 1] == '\n') && !strncasecmp(p + i, key, sizeof key - 1)) {
			size_t v = 0;
			for (i += sizeof key - 1; i < n && (p[i] == ' ' || p[i] == '\t'); i++)
				;
			for (; i < n && p[i] >= '0' && p[i] <= '9' && v < 100000000; i++)
				v = v * 10 + (size_t)(p[i] - '0');
			return v;
		}
	}
	return 0;
}

/* An OsmAnd frame from the file at p[0..end): a URL path made into a GET
 * request, or a raw request with its body.  Returns where the next one
 * starts. */
static const char *osmand_frame(const char *p, const char *end)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));
	const char *eol = nl ? nl : end;
	size_t start = frame_len;
	size_t n = (size_t)(eol - p);

	if (n > 0 && p[n - 1] == '\r')
		n--;
	if (p[0] == '/' || p[0] == '?') {
		PUT("GET ");
		if (p[0] == '?')
			PUT("/");
		frame_put(p, n);
		PUT(" HTTP/1.1\r\nHost: ");
		frame_put(opt.target, strlen(opt.target));
		PUT("\r\nUser-Agent: vlsink-replay\r\n\r\n");
		frame_add(start);
		return nl ? nl + 1 : end;
	}
	/* A raw request: header lines up to an empty one, then the body. */
	const char *q = p;
	size_t headers = frame_len;
	for (;;) {
		nl = memchr(q, '\n', (size_t)(end - q));
		eol = nl ? nl : end;
		n = (size_t)(eol - q);
		if (n > 0 && q[n - 1] == '\r')
			n--;
		frame_put(q, n);
		PUT("\r\n");
		q = nl ? nl + 1 : end;
		if (n == 0 || q == end)
			break;
	}
	if (n != 0)
		PUT("\r\n");
	size_t body = content_length(frame_data + headers, frame_len - headers);
	if (body > (size_t)(end - q))
		die(EXIT_NOINPUT, "%s: a request's Content-Length (%zu) runs past the end of the file", opt.file, body);
	frame_put(q, body);
	frame_add(start);
	/* Sent raw: a replaced "{id}" would make Content-Length wrong. */
	lines[nlines - 1].ids = 0;
	return q + body;
}

/* The file's frames into frame_data, then in place of file_data. */
static void load_frames(size_t len)
{
	const char *p = file_data, *end = file_data + len;
	char t = terminator[opt.protocol];

	while (p < end) {
		if (*p == '\n' || *p == '\r' || *p == ' ' || *p == '\t') {
			p++;
			continue;
		}
		if (opt.protocol == P_OSMAND) {
			p = osmand_frame(p, end);
			continue;
		}
		size_t start = frame_len, n = 0;
		while (p + n < end && p[n] != t && p[n] != '\n')
			n++;
		size_t body = n;
		while (body > 0 && p[body - 1] == '\r')
			body--;
		frame_put(p, body);
		frame_put(&t, 1);
		frame_add(start);
		p += n + (p + n < end);
	}
	free(file_data);
	file_data = frame_data;
	if (nlines == 0)
		die(EXIT_NOINPUT, "%s: no frame to send", opt.file);
}

/* Occurrences of "{id}" in a frame, replaced by the vehicle's id when it
 * is sent. */
static size_t id_marks(const char *p, size_t n)
{
	size_t k = 0;
	for (const char *q = p; (q = memmem(q, n - (size_t)(q - p), "{id}", 4)) != NULL; q += 4)
		k++;
	return k;
}

/* ---- generated track ---------------------------------------------------- */

static double cos_small(double x) /* |x| < 1.4: enough terms for 1e-8 */
{
	double x2 = x * x;
	return 1 - x2 / 2 * (1 - x2 / 12 * (1 - x2 / 30 * (1 - x2 / 56 * (1 - x2 / 90))));
}

static size_t nmea_finish(char *buf, size_t cap, int n)
{
	/* buf holds "$...": append "*hh\r\n" */
	if (n < 0 || (size_t)n + 6 > cap)
		return 0;
	unsigned sum = 0;
	for (int i = 1; i < n; i++)
		sum ^= (unsigned char)buf[i];
	return (size_t)n + (size_t)snprintf(buf + n, cap - (size_t)n, "*%02X\r\n", sum);
}

static int fmt_coord(char *out, size_t cap, double deg, int lat)
{
	const char *hemi = lat ? (deg < 0 ? "S" : "N") : (deg < 0 ? "W" : "E");
	if (deg < 0)
		deg = -deg;
	long long micro = (long long)(deg * 60.0 * 100000.0 + 0.5); /* 1e-5 minutes */
	long long d = micro / 6000000, m = micro % 6000000;
	return snprintf(out, cap, lat ? "%02lld%02lld.%05lld,%s" : "%03lld%02lld.%05lld,%s",
			d, m / 100000, m % 100000, hemi);
}

/* Line k of vehicle v (1-based) into buf; returns its length. */
static size_t gen_line(char *buf, size_t cap, unsigned long v, unsigned long long k)
{
	unsigned long long s = opt.first + k;
	long long epoch = GEN_EPOCH + (long long)s;
	long long days = epoch / 86400, sod = epoch % 86400;
	int y, mo, d;
	civil_from_days(days, &y, &mo, &d);

	/* A square of its own per vehicle: north, east, south, west. */
	double lat0 = 48.0 + (double)((v - 1) % 40) * 0.1;
	double lon0 = 8.0 + (double)((v - 1) / 40 % 100) * 0.1;
	double mps = 8.0 + (double)(v % 8);
	double side = mps * LEG_SECONDS;
	unsigned leg = (unsigned)(s / LEG_SECONDS % 4);
	double along = mps * (double)(s % LEG_SECONDS);
	static const double dir_north[4] = {1, 0, -1, 0}, dir_east[4] = {0, 1, 0, -1};
	static const double start_north[4] = {0, 1, 1, 0}, start_east[4] = {0, 0, 1, 1};
	double north = start_north[leg] * side + dir_north[leg] * along;
	double east = start_east[leg] * side + dir_east[leg] * along;
	double course = 90.0 * (double)leg;
	double lat = lat0 + north / 111320.0;
	double lon = lon0 + east / (111320.0 * cos_small(lat0 * 3.14159265358979323846 / 180.0));
	char la[32], lo[32];
	fmt_coord(la, sizeof la, lat, 1);
	fmt_coord(lo, sizeof lo, lon, 0);
	int h = (int)(sod / 3600), mi = (int)(sod / 60 % 60), se = (int)(sod % 60);
	int n;
	if (k % 2 == 0)
		n = snprintf(buf, cap, "$GPRMC,%02d%02d%02d.00,A,%s,%s,%.2f,%.1f,%02d%02d%02d,,,A",
			     h, mi, se, la, lo, mps / 0.514444, course, d, mo, y % 100);
	else
		n = snprintf(buf, cap, "$GPGGA,%02d%02d%02d.00,%s,%s,1,08,0.9,%.1f,M,47.0,M,,",
			     h, mi, se, la, lo, 35.0 + (double)(s % 10) * 0.1);
	return nmea_finish(buf, cap, n);
}

/* ---- connections -------------------------------------------------------- */

enum state { ST_WAITING, ST_CONNECTING, ST_SENDING, ST_CLOSING, ST_DONE };
enum result { RES_NONE, RES_OK, RES_FAILED, RES_DROPPED };
static const char *const result_names[] = {"not-started", "ok", "failed", "dropped"};

struct vehicle {
	int fd;
	enum state st;
	enum result res;
	int connected;
	unsigned long long k;     /* data lines put in the buffer so far */
	unsigned long long sent;  /* data lines written whole */
	unsigned long long inbuf; /* data lines in the buffer */
	double base;              /* line k is due at line_due(i, k, base) */
	double deadline;          /* connect or close-wait deadline */
	double closed_after;      /* seconds from the start until the peer closed */
	char *buf;
	size_t len, off;
	unsigned long long reply_bytes, reply_reads;
};

static struct vehicle *veh;
static struct addrinfo *target;
static size_t bufsize;
static double t_start;
static double t_stop; /* when sending stops: --duration or a signal; 0 if not yet */
static volatile sig_atomic_t signals;

static void on_signal(int sig)
{
	(void)sig;
	if (++signals > 1)
		_exit(130);
}

static void resolve(void)
{
	char host[256];
	const char *t = opt.target, *port;
	size_t hl;
	if (!t)
		die(EXIT_USAGE, "missing HOST:PORT (see --help)");
	if (t[0] == '[') {
		const char *rb = strchr(t, ']');
		if (!rb || rb[1] != ':')
			die(EXIT_USAGE, "bad target '%s': expected HOST:PORT or [V6ADDR]:PORT", t);
		hl = (size_t)(rb - t - 1);
		t++;
		port = rb + 2;
	} else {
		const char *c = strrchr(t, ':');
		if (!c)
			die(EXIT_USAGE, "bad target '%s': expected HOST:PORT", t);
		hl = (size_t)(c - t);
		port = c + 1;
	}
	if (hl == 0 || hl >= sizeof host || !*port)
		die(EXIT_USAGE, "bad target '%s': expected HOST:PORT", opt.target);
	memcpy(host, t, hl);
	host[hl] = 0;
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_family = AF_UNSPEC};
	int rc = getaddrinfo(host, port, &hints, &target);
	if (rc)
		die(EXIT_USAGE, "%s: %s", opt.target, gai_strerror(rc));
}

static void raise_nofile(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    (rlim_t)opt.vehicles + 16 > rl.rlim_cur)
		die(EXIT_USAGE, "--vehicles=%lu: the open-file limit is %llu (raise the hard limit, ulimit -Hn)",
		    opt.vehicles, (unsigned long long)rl.rlim_cur);
}

static void finish(struct vehicle *v, enum result r, double t)
{
	if (v->fd >= 0)
		close(v->fd);
	v->fd = -1;
	v->st = ST_DONE;
	v->res = r;
	v->closed_after = t - t_start;
	free(v->buf);
	v->buf = NULL;
}

/* Has this vehicle any line left to send? */
static int lines_left(const struct vehicle *v, double t)
{
	if (opt.idle || (t_stop > 0 && t >= t_stop))
		return 0;
	if (opt.have_count)
		return v->k < opt.count;
	if (opt.file && opt.duration <= 0)
		return v->k < nlines;
	return 1;
}

static double line_due(size_t i, unsigned long long k, double base)
{
	if (opt.fast)
		return 0;
	if (opt.speed > 0) {
		unsigned long long loop = k / nlines;
		const struct line *l = &lines[k % nlines];
		return base + ((double)loop * (file_span + 1.0) + l->t) / opt.speed;
	}
	/* Vehicles spread evenly over one interval. */
	return base + ((double)i / (double)opt.vehicles + (double)k) / opt.rate;
}

static void start_closing(struct vehicle *v, double t)
{
	if (opt.close_wait <= 0) {
		finish(v, RES_OK, t);
		return;
	}
	shutdown(v->fd, SHUT_WR);
	v->st = ST_CLOSING;
	v->deadline = t + opt.close_wait;
}

/* Writes what is buffered. 0: all written; 1: would block; -1: peer gone. */
static int flush(struct vehicle *v)
{
	while (v->off < v->len) {
		ssize_t w = send(v->fd, v->buf + v->off, v->len - v->off, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 1;
		if (w < 0)
			return -1;
		v->off += (size_t)w;
	}
	v->sent += v->inbuf;
	v->inbuf = 0;
	v->off = v->len = 0;
	return 0;
}

/* The vehicle's id: what $PGID announces, and what "{id}" stands for. */
static size_t vehicle_id(char *dst, size_t cap, size_t i)
{
	int n = snprintf(dst, cap, "%s%zu", opt.prefix, i + 1);
	return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}

/* A frame with its "{id}" marks replaced; dst has room for ID_MAX per mark. */
static size_t with_ids(char *dst, const struct line *l, size_t i)
{
	char id[ID_MAX];
	size_t idn = vehicle_id(id, sizeof id, i), n = 0;
	const char *p = file_data + l->off, *end = p + l->len, *m;

	while ((m = memmem(p, (size_t)(end - p), "{id}", 4)) != NULL) {
		memcpy(dst + n, p, (size_t)(m - p));
		n += (size_t)(m - p);
		memcpy(dst + n, id, idn);
		n += idn;
		p = m + 4;
	}
	memcpy(dst + n, p, (size_t)(end - p));
	return n + (size_t)(end - p);
}

/* Sends what is due, a few buffers at most, so that one fast peer cannot
 * starve the others. */
static void pump(struct vehicle *v, size_t i, double t)
{
	for (int rounds = 0; rounds < 4; rounds++) {
		int r = flush(v);
		if (r < 0) {
			finish(v, RES_DROPPED, t);
			return;
		}
		if (r > 0)
			return;
		while (lines_left(v, t) && line_due(i, v->k, v->base) <= t) {
			if (opt.generate) {
				if (bufsize - v->len < LINE_MAX_GEN)
					break;
				v->len += gen_line(v->buf + v->len, bufsize - v->len, (unsigned long)i + 1, v->k);
			} else {
				const struct line *l = &lines[v->k % nlines];
				if (bufsize - v->len < l->len + l->ids * ID_MAX)
					break;
				v->len += l->ids ? with_ids(v->buf + v->len, l, i)
						 : (memcpy(v->buf + v->len, file_data + l->off, l->len), l->len);
			}
			v->k++;
			v->inbuf++;
		}
		if (v->len == 0) {
			if (!lines_left(v, t))
				start_closing(v, t);
			return;
		}
	}
}

static void on_connected(struct vehicle *v, size_t i, double t)
{
	int one = 1;
	setsockopt(v->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	v->st = ST_SENDING;
	v->connected = 1;
	v->base = t;
	if (opt.idle)
		return;
	v->buf = malloc(bufsize);
	if (!v->buf)
		die(EXIT_SOFTWARE, "out of memory");
	if (!opt.file_ids && opt.protocol == P_NMEA) {
		int n = snprintf(v->buf, bufsize, "$PGID,%s%zu", opt.prefix, i + 1);
		v->len = nmea_finish(v->buf, bufsize, n);
	}
}

static void start_connect(struct vehicle *v, double t)
{
	int fd = socket(target->ai_family, target->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
			target->ai_protocol);
	if (fd < 0) {
		warnx("socket: %s", strerror(errno));
		finish(v, RES_FAILED, t);
		return;
	}
	v->fd = fd;
	v->deadline = t + CONNECT_TIMEOUT;
	v->st = ST_CONNECTING; /* also when connect() is done at once: POLLOUT says so */
	if (connect(fd, target->ai_addr, target->ai_addrlen) < 0 && errno != EINPROGRESS)
		finish(v, RES_FAILED, t);
}

static void report(double elapsed)
{
	unsigned long made = 0, failed = 0, dropped = 0, closed = 0;
	unsigned long long total = 0, mn = ULLONG_MAX, mx = 0, rbytes = 0, rreads = 0;
	double cmin = 1e18, cmax = 0;
	for (size_t i = 0; i < opt.vehicles; i++) {
		const struct vehicle *v = &veh[i];
		made += v->connected != 0;
		failed += v->res == RES_FAILED;
		if (v->res == RES_DROPPED) {
			dropped++;
			closed++;
			cmin = v->closed_after < cmin ? v->closed_after : cmin;
			cmax = v->closed_after > cmax ? v->closed_after : cmax;
		}
		total += v->sent;
		rbytes += v->reply_bytes;
		rreads += v->reply_reads;
		mn = v->sent < mn ? v->sent : mn;
		mx = v->sent > mx ? v->sent : mx;
		if (opt.per_vehicle) {
			if (opt.file_ids)
				printf("#%zu %llu %s\n", i + 1, v->sent, result_names[v->res]);
			else
				printf("%s%zu %llu %s\n", opt.prefix, i + 1, v->sent, result_names[v->res]);
		}
	}
	fflush(stdout);
	if (opt.quiet)
		return;
	fprintf(stderr, "%s: %lu connections made, %lu failed, %lu %s by the peer\n", prog, made, failed,
		dropped, opt.idle ? "closed" : "dropped");
	if (closed)
		fprintf(stderr, "%s: closed by the peer %.3f-%.3f s after the start\n", prog, cmin, cmax);
	if (!opt.idle)
		fprintf(stderr, "%s: %llu %s sent, per vehicle min %llu max %llu\n", prog, total,
			opt.protocol == P_NMEA ? "lines" : "frames", mn, mx);
	fprintf(stderr, "%s: %llu bytes received from the peer in %llu reads\n", prog, rbytes, rreads);
	fprintf(stderr, "%s: elapsed %.3f s", prog, elapsed);
	if (!opt.idle && elapsed > 0)
		fprintf(stderr, ", %.0f %s/s", (double)total / elapsed, opt.protocol == P_NMEA ? "lines" : "frames");
	fputc('\n', stderr);
}

/* One pass over the vehicles: timeouts, sending what is due, and the poll
 * set.  Returns the number of descriptors to poll; *wake is the next timer. */
static size_t prepare(struct pollfd *pfd, size_t *map, double t, double *wake, unsigned *in_flight)
{
	size_t n = 0;
	*wake = t + 3600;
	if (t_stop > 0 && t_stop < *wake)
		*wake = t_stop;
	for (size_t i = 0; i < opt.vehicles; i++) {
		struct vehicle *v = &veh[i];
		short ev = POLLIN; /* the peer never sends: readable means closed */
		double w = *wake;
		switch (v->st) {
		case ST_WAITING:
		case ST_DONE:
			continue;
		case ST_CONNECTING:
			if (t >= v->deadline) {
				finish(v, RES_FAILED, t);
				--*in_flight;
				continue;
			}
			ev = POLLOUT;
			w = v->deadline;
			break;
		case ST_SENDING:
			if (opt.idle) {
				if (t_stop > 0 && t >= t_stop) {
					finish(v, RES_OK, t);
					continue;
				}
				break;
			}
			pump(v, i, t);
			if (v->st == ST_DONE)
				continue;
			if (v->st == ST_CLOSING) {
				w = v->deadline;
			} else if (v->off < v->len) {
				ev |= POLLOUT;
				/* A peer that stopped reading: give up close-wait after
				 * sending has ended. */
				if (t_stop > 0 && t >= t_stop + opt.close_wait) {
					finish(v, RES_OK, t);
					continue;
				}
				if (t_stop > 0)
					w = t_stop + opt.close_wait;
			} else if (lines_left(v, t)) {
				w = line_due(i, v->k, v->base);
			}
			break;
		case ST_CLOSING:
			if (t >= v->deadline) {
				finish(v, RES_OK, t);
				continue;
			}
			w = v->deadline;
			break;
		}
		if (w < *wake)
			*wake = w;
		pfd[n] = (struct pollfd){.fd = v->fd, .events = ev};
		map[n++] = i;
	}
	return n;
}

static void print_reply(size_t i, const char *p, size_t n)
{
	char id[ID_MAX];

	vehicle_id(id, sizeof id, i);
	printf("%s< ", id);
	for (size_t k = 0; k < n; k++) {
		unsigned char c = (unsigned char)p[k];
		if (c == '\r')
			fputs("\\r", stdout);
		else if (c == '\n')
			fputs("\\n", stdout);
		else if (c == '\\')
			fputs("\\\\", stdout);
		else if (c < 0x20 || c >= 0x7f)
			printf("\\x%02x", c);
		else
			putchar(c);
	}
	putchar('\n');
}

static void handle(struct vehicle *v, size_t i, short revents, double t, unsigned *in_flight)
{
	char scratch[4096];
	ssize_t got;
	switch (v->st) {
	case ST_CONNECTING: {
		int err = 0;
		socklen_t el = sizeof err;
		--*in_flight;
		if (getsockopt(v->fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0 || err)
			finish(v, RES_FAILED, t);
		else
			on_connected(v, i, t);
		break;
	}
	case ST_SENDING:
	case ST_CLOSING:
		if (!(revents & (POLLIN | POLLERR | POLLHUP)))
			break; /* POLLOUT: pumped on the next pass */
		got = recv(v->fd, scratch, sizeof scratch, MSG_DONTWAIT);
		if (got > 0) {
			/* Replies are counted (and printed) as they come; sending
			 * never waits for them. */
			v->reply_bytes += (unsigned long long)got;
			v->reply_reads++;
			if (opt.replies)
				print_reply(i, scratch, (size_t)got);
			break;
		}
		if (got < 0 && (errno == EAGAIN || errno == EINTR))
			break;
		/* EOF or reset: fine after the last line, a drop before. */
		finish(v, v->st == ST_CLOSING ? RES_OK : RES_DROPPED, t);
		break;
	default:
		break;
	}
}

int main(int argc, char **argv)
{
	parse_options(argc, argv);
	resolve();
	raise_nofile();
	if (opt.file)
		load_file();
	bufsize = longest * 2 > BUF_MIN ? longest * 2 : BUF_MIN;

	/* SIGINT/SIGTERM are blocked but during ppoll(), so none is missed. */
	sigset_t block, during_poll;
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &during_poll);
	sigdelset(&during_poll, SIGINT);
	sigdelset(&during_poll, SIGTERM);
	struct sigaction sa = {.sa_handler = on_signal};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	veh = calloc(opt.vehicles, sizeof *veh);
	struct pollfd *pfd = calloc(opt.vehicles, sizeof *pfd);
	size_t *map = calloc(opt.vehicles, sizeof *map);
	if (!veh || !pfd || !map)
		die(EXIT_SOFTWARE, "out of memory");
	for (size_t i = 0; i < opt.vehicles; i++)
		veh[i].fd = -1;

	t_start = now();
	if (opt.duration > 0)
		t_stop = t_start + opt.duration;
	size_t next_connect = 0;
	unsigned in_flight = 0;
	int stopping = 0;

	for (;;) {
		double t = now(), wake;
		if (signals && !stopping) {
			stopping = 1;
			next_connect = opt.vehicles; /* connect no more */
			if (t_stop == 0 || t_stop > t)
				t_stop = t;
			for (size_t i = 0; i < opt.vehicles; i++)
				if (veh[i].st == ST_CONNECTING || veh[i].st == ST_WAITING)
					finish(&veh[i], RES_NONE, t);
		}
		while (next_connect < opt.vehicles && in_flight < CONNECTS_IN_FLIGHT) {
			start_connect(&veh[next_connect++], t);
			in_flight++;
		}
		size_t n = prepare(pfd, map, t, &wake, &in_flight);
		if (n == 0 && next_connect >= opt.vehicles)
			break; /* every vehicle is done */
		if (n == 0)
			continue;

		/* Timers are coalesced to TIMER_SLACK: lines are at most that late,
		 * and 1000 vehicles at 1 Hz cost some 200 wake-ups a second, not
		 * 1000 polls of 1000 descriptors. */
		double wait = wake - t;
		if (wait <= 0)
			wait = 0;
		else if (wait < TIMER_SLACK)
			wait = TIMER_SLACK;
		struct timespec ts = {.tv_sec = (time_t)wait,
				      .tv_nsec = (long)((wait - (double)(time_t)wait) * 1e9)};
		int r = ppoll(pfd, n, &ts, &during_poll);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			die(EXIT_SOFTWARE, "ppoll: %s", strerror(errno));
		t = now();
		for (size_t j = 0; j < n && r > 0; j++)
			if (pfd[j].revents)
				handle(&veh[map[j]], map[j], pfd[j].revents, t, &in_flight);
	}

	report(now() - t_start);
	unsigned long made = 0, failed = 0, dropped = 0;
	for (size_t i = 0; i < opt.vehicles; i++) {
		made += veh[i].connected != 0;
		failed += veh[i].res == RES_FAILED;
		dropped += veh[i].res == RES_DROPPED;
	}
	freeaddrinfo(target);
	free(veh);
	free(pfd);
	free(map);
	free(lines);
	free(file_data);
	if (made == 0)
		return EXIT_UNAVAILABLE;
	if (failed || (dropped && !opt.idle))
		return EXIT_PARTIAL;
	return 0;
}
