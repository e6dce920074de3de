/* vlsink-export: vlsink's records read back, from the journal or from JSON
 * lines, and written as GeoJSON, GPX, CSV or an SVG quick-look.  Wiring,
 * options and every diagnostic are here; the stages are export_*.c. */
#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/exits.h"
#include "export.h"
#include "core/log.h"
#include "core/proc.h"
#include "core/scan.h"

/* Invalid records are all counted; the first few are shown, which is
 * enough to see what is wrong without flooding a terminal. */
#define DIAG_MAX 10
#define DIAG_SHOWN "10"
/* Fixed caps on repeated options: more than anyone types, and a bound on
 * the journal's match list. */
#define VEHICLES_MAX 256
#define FILES_MAX 256
#define MAX_VEHICLES_DEFAULT 10000
#define MAX_VEHICLES_LIMIT 100000

enum out { OUT_GEOJSON, OUT_GPX, OUT_CSV, OUT_SVG };

struct options {
	enum out out;
	const char *input; /* JSON lines: a path, or "-". */
	struct journal_opts j;
	const char *files[FILES_MAX + 1];
	const char *vehicles[VEHICLES_MAX];
	size_t nfiles;
	int64_t since, until;
	int have_since, have_until;
	struct svg_size size;
	int size_given, trust_given;
	size_t max_vehicles;
};

static const char usage_text[] =
	"Usage: vlsink-export [OPTION]...\n"
	"Read vlsink's position records back and write them as tracks.\n"
	"\n"
	"Input (default: the local journal):\n"
	"  --input=FILE|-        JSON lines as vlsink writes them (- for stdin)\n"
	"  --directory=DIR       journal files in DIR\n"
	"  --file=FILE           this journal file (repeatable)\n"
	"Selection:\n"
	"  --vehicle=ID          only this vehicle (repeatable: any of them)\n"
	"  --since=TIME          positions at or after TIME\n"
	"  --until=TIME          positions at or before TIME\n"
	"                        TIME: YYYY-MM-DD, YYYY-MM-DD HH:MM:SS (UTC),\n"
	"                        ISO 8601 with Z, or @UNIXSECONDS; compared with\n"
	"                        the fix time (the journal's time when none)\n"
	"  --trust=WRITER        which journal entries are vlsink's: units (the\n"
	"                        default): those journald saw come from user\n"
	"                        " CONN_USER " in vlsink@ units; identifier: any with\n"
	"                        SYSLOG_IDENTIFIER=vlsink, which every local user\n"
	"                        can write\n"
	"Output (standard output):\n"
	"  --output-format=FMT   geojson (default), gpx, csv or svg\n"
	"  --width=PX            SVG width, 200-10000 (default 800)\n"
	"  --height=PX           SVG height, 150-10000 (default 600)\n"
	"  --max-vehicles=N      vehicles held for grouped output, 1-100000\n"
	"                        (default 10000)\n"
	"  -h, --help            show this help and exit\n"
	"  -V, --version         show the version and exit\n"
	"\n"
	"Exit status: 0 done; 64 usage error; 65 invalid records skipped (the rest\n"
	"written) or too many vehicles (nothing written); 66 input error;\n"
	"67 no user " CONN_USER " (needed by --trust=units); 70 out of memory;\n"
	"74 output error.  See vlsink-export(1).\n";

static unsigned number_arg(const char *name, const char *v, unsigned lo, unsigned hi)
{
	unsigned n;

	if (scan_uint(v, strlen(v), hi, &n) || n < lo)
		usage_error("--%s=%s: expected a number from %u to %u", name, v, lo, hi);
	return n;
}

static int64_t when_arg(const char *name, const char *v)
{
	int64_t ms;

	if (parse_when(v, &ms))
		usage_error("--%s=%s: expected YYYY-MM-DD, YYYY-MM-DD HH:MM:SS, ISO 8601 with Z, or @SECONDS",
			    name, v);
	return ms;
}

static void parse_options(int argc, char **argv, struct options *o)
{
	enum {
		OPT_INPUT = 256, OPT_DIRECTORY, OPT_FILE, OPT_VEHICLE, OPT_SINCE, OPT_UNTIL, OPT_TRUST, OPT_FORMAT,
		OPT_WIDTH, OPT_HEIGHT, OPT_MAXV
	};
	static const struct option longopts[] = {
		{ "input", required_argument, NULL, OPT_INPUT },
		{ "directory", required_argument, NULL, OPT_DIRECTORY },
		{ "file", required_argument, NULL, OPT_FILE },
		{ "vehicle", required_argument, NULL, OPT_VEHICLE },
		{ "since", required_argument, NULL, OPT_SINCE },
		{ "until", required_argument, NULL, OPT_UNTIL },
		{ "trust", required_argument, NULL, OPT_TRUST },
		{ "output-format", required_argument, NULL, OPT_FORMAT },
		{ "width", required_argument, NULL, OPT_WIDTH },
		{ "height", required_argument, NULL, OPT_HEIGHT },
		{ "max-vehicles", required_argument, NULL, OPT_MAXV },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	static const char *const formats[] = { [OUT_GEOJSON] = "geojson", [OUT_GPX] = "gpx", [OUT_CSV] = "csv",
					       [OUT_SVG] = "svg" };
	char id[VEHICLE_MAX + 1];
	int c, k;

	memset(o, 0, sizeof(*o));
	o->out = OUT_GEOJSON;
	o->size.width = 800;
	o->size.height = 600;
	o->max_vehicles = MAX_VEHICLES_DEFAULT;
	o->j.vehicles = o->vehicles;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "hV", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_INPUT:
			if (!*optarg)
				usage_error("--input=: expected a file name or -");
			o->input = optarg;
			break;
		case OPT_DIRECTORY:
			if (!*optarg)
				usage_error("--directory=: expected a directory");
			o->j.directory = optarg;
			break;
		case OPT_FILE:
			if (!*optarg)
				usage_error("--file=: expected a journal file");
			if (o->nfiles == FILES_MAX)
				usage_error("--file: at most %d files", FILES_MAX);
			o->files[o->nfiles++] = optarg;
			break;
		case OPT_VEHICLE:
			if (scan_vehicle(optarg, strlen(optarg), id))
				usage_error("--vehicle=%s: expected 1-%d of A-Z a-z 0-9 . _ - : @", optarg,
					    VEHICLE_MAX);
			if (o->j.nvehicles == VEHICLES_MAX)
				usage_error("--vehicle: at most %d vehicles", VEHICLES_MAX);
			o->vehicles[o->j.nvehicles++] = optarg;
			break;
		case OPT_SINCE:
			o->since = when_arg("since", optarg);
			o->have_since = 1;
			break;
		case OPT_UNTIL:
			o->until = when_arg("until", optarg);
			o->have_until = 1;
			break;
		case OPT_TRUST:
			if (strcmp(optarg, "units") == 0)
				o->j.trust = TRUST_UNITS;
			else if (strcmp(optarg, "identifier") == 0)
				o->j.trust = TRUST_IDENTIFIER;
			else
				usage_error("--trust=%s: expected units or identifier", optarg);
			o->trust_given = 1;
			break;
		case OPT_FORMAT:
			for (k = 0; k < 4 && strcmp(optarg, formats[k]) != 0; k++)
				;
			if (k == 4)
				usage_error("--output-format=%s: expected geojson, gpx, csv or svg", optarg);
			o->out = (enum out)k;
			break;
		case OPT_WIDTH:
			o->size.width = number_arg("width", optarg, 200, 10000);
			o->size_given = 1;
			break;
		case OPT_HEIGHT:
			o->size.height = number_arg("height", optarg, 150, 10000);
			o->size_given = 1;
			break;
		case OPT_MAXV:
			o->max_vehicles = number_arg("max-vehicles", optarg, 1, MAX_VEHICLES_LIMIT);
			break;
		case 'h':
			print_exit(usage_text);
		case 'V':
			print_exit("vlsink-export " VERSION "\n");
		default:
			bad_option(argv);
		}
	}
	if (optind < argc)
		usage_error("unexpected argument '%s'", argv[optind]);
	if (o->input && (o->j.directory || o->nfiles))
		usage_error("--input reads JSON lines; it does not go with --directory or --file");
	if (o->input && o->trust_given)
		usage_error("--trust applies to the journal; JSON lines say nothing of who wrote them");
	if (o->j.directory && o->nfiles)
		usage_error("--directory and --file are alternatives");
	if (o->have_since && o->have_until && o->since > o->until)
		usage_error("--since is later than --until");
	if (o->size_given && o->out != OUT_SVG)
		usage_error("--width and --height apply to --output-format=svg");
	if (o->nfiles)
		o->j.files = o->files;
}

/* A position without a fix time is placed by the journal's receive time;
 * without either, it cannot be said to lie in a time range. */
static int keep(const struct options *o, const struct fix *f)
{
	if (o->j.nvehicles) {
		size_t k = 0;
		while (k < o->j.nvehicles && strcmp(o->vehicles[k], f->rec.vehicle) != 0)
			k++;
		if (k == o->j.nvehicles)
			return 0;
	}
	if (!o->have_since && !o->have_until)
		return 1;
	int64_t t = (f->rec.have & HAVE_TIME) ? f->rec.time_ms : f->seen_ms;
	if (t == TIME_NONE)
		return 0;
	return (!o->have_since || t >= o->since) && (!o->have_until || t <= o->until);
}

/* The UID that vouches for journal entries, looked up rather than assumed:
 * sysusers.d picks it when the package is installed. */
static void conn_user(struct options *o)
{
	struct passwd *pw;

	if (o->input || o->j.trust != TRUST_UNITS)
		return;
	errno = 0;
	pw = getpwnam(CONN_USER);
	if (pw) {
		o->j.conn_uid = pw->pw_uid;
		return;
	}
	/* getpwnam(3) names these for "not found". */
	if (errno == 0 || errno == ENOENT || errno == ESRCH || errno == EBADF || errno == EPERM)
		die(EXIT_NOUSER,
		    "user " CONN_USER ": no such user: vlsink's units run as it (sysusers.d/vlsink.conf), and "
		    "only its UID shows an entry is theirs (--trust=identifier reads every entry; see "
		    "vlsink-export(1))");
	die(EXIT_NOUSER, "user " CONN_USER ": %s", strerror(errno));
}

static int open_input(const struct options *o, struct input **in)
{
	const char *what = o->input;
	int r = o->input ? input_lines(in, o->input) : input_journal(in, &o->j, &what);

	if (r == 0)
		return 0;
	if (r == -ENOMEM) {
		note("out of memory");
		return EXIT_SOFTWARE;
	}
	if (r == -ENODATA)
		note("%s: no journal files found", what);
	else
		note("%s: %s", strcmp(what, "-") ? what : "stdin", strerror(-r));
	return EXIT_INPUT;
}

static int output_failed(int e)
{
	note("standard output: %s", strerror(e ? e : EIO));
	return EXIT_OUTPUT;
}

static int spool_failed(int r)
{
	if (r == -ENOMEM) {
		note("out of memory");
		return EXIT_SOFTWARE;
	}
	note("temporary file: %s", strerror(-r));
	return EXIT_OUTPUT;
}

static int worse(int a, int b)
{
	static const int rank[] = { EXIT_OK, EXIT_DATA, EXIT_INPUT, EXIT_OUTPUT, EXIT_SOFTWARE, EXIT_USAGE };
	int ra = 0, rb = 0;

	for (int k = 0; k < 6; k++) {
		ra = rank[k] == a ? k : ra;
		rb = rank[k] == b ? k : rb;
	}
	return ra >= rb ? a : b;
}

int main(int argc, char **argv)
{
	static char obuf[1 << 16];
	struct options o;
	struct input *in = NULL;
	struct spool *s = NULL;
	struct dedupe *seen = NULL;
	struct fix f;
	struct in_bad bad;
	uint64_t invalid = 0, duplicates = 0, untrusted = 0;
	int status = EXIT_OK, r, err = 0;
	enum in_event ev;

	log_init("vlsink-export");
	ensure_std_fds();
	signal(SIGPIPE, SIG_IGN);
	parse_options(argc, argv, &o);
	conn_user(&o);
	if ((r = open_input(&o, &in)) != 0)
		return r;
	setvbuf(stdout, obuf, _IOFBF, sizeof(obuf));
	if (o.out == OUT_CSV)
		csv_header(stdout);
	else if ((r = spool_open(&s, o.max_vehicles)) < 0)
		status = spool_failed(r);
	if (status == EXIT_OK && dedupe_open(&seen, o.max_vehicles) < 0)
		status = spool_failed(-ENOMEM);

	while (status == EXIT_OK && (ev = input_next(in, &f, &bad, &err)) != IN_END) {
		if (ev == IN_ERROR) {
			note("%s: %s", o.input ? (strcmp(o.input, "-") ? o.input : "stdin") : "journal",
			     strerror(-err));
			status = EXIT_INPUT;
			break;
		}
		if (ev == IN_UNTRUSTED) {
			untrusted++;
			continue;
		}
		if (ev == IN_BAD) {
			if (++invalid <= DIAG_MAX)
				note("%s: %s: \"%s\"", bad.where, bad.why, bad.sample);
			continue;
		}
		if (!keep(&o, &f))
			continue;
		if (dedupe_drop(seen, &f.rec)) {
			duplicates++;
			continue;
		}
		if (o.out == OUT_CSV) {
			csv_row(stdout, &f.rec);
			if (ferror(stdout))
				status = output_failed(errno);
			continue;
		}
		if ((r = spool_add(s, &f.rec)) == -E2BIG) {
			note("more than %zu vehicles (--max-vehicles); nothing written: select fewer "
			     "with --vehicle, --since, --until, or use --output-format=csv",
			     o.max_vehicles);
			status = EXIT_DATA;
		} else if (r < 0) {
			status = spool_failed(r);
		}
	}
	input_close(in);
	dedupe_close(seen);
	/* Not an error: anyone on the host can add such entries, and so could
	 * fail every export. */
	if (untrusted)
		note("%llu position entr%s with SYSLOG_IDENTIFIER=vlsink skipped: not written by user " CONN_USER
		     " in a vlsink@ unit (--trust=identifier reads them; see vlsink-export(1))",
		     (unsigned long long)untrusted, untrusted == 1 ? "y" : "ies");
	if (duplicates)
		note("%llu point%s dropped: same vehicle, same time as an earlier one (the first is kept)",
		     (unsigned long long)duplicates, duplicates == 1 ? "" : "s");

	/* After an input error the positions read so far are still written. */
	if (s && (status == EXIT_OK || status == EXIT_INPUT)) {
		spool_sort(s);
		r = o.out == OUT_GPX ? gpx_write(stdout, s) : o.out == OUT_SVG ? svg_write(stdout, s, &o.size)
									 : geojson_write(stdout, s);
		if (r < 0)
			status = worse(status, spool_failed(r));
	}
	spool_close(s);
	errno = 0;
	if (fflush(stdout) == EOF || ferror(stdout))
		status = status == EXIT_OUTPUT ? status : worse(status, output_failed(errno));
	if (invalid) {
		note("%llu invalid record%s skipped%s", (unsigned long long)invalid, invalid == 1 ? "" : "s",
		     invalid > DIAG_MAX ? " (only the first " DIAG_SHOWN " shown)" : "");
		status = worse(status, EXIT_DATA);
	}
	return status;
}
