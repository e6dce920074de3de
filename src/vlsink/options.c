/* vlsink's command line: what each option means, its range, and the help
 * text that says so. */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/calendar.h"
#include "core/log.h"
#include "core/scan.h"
#include "vlsink/options.h"

/* In --format=raw a record is the line and its LF, and the FIFO sink writes
 * it in one atomic write. */
_Static_assert(MAX_LINE_LIMIT + 1 <= PIPE_BUF, "a raw record must fit one atomic pipe write");

static const char usage_text[] =
	"Usage: vlsink [OPTION]...\n"
	"Read vehicle positions (NMEA 0183 RMC/GGA/GLL, gpsd TPV JSON, CSV, or the\n"
	"H02, GPS103, Queclink and OsmAnd tracker protocols) from one connection, one\n"
	"frame at a time, and write a record for every position.\n"
	"\n"
	"Input is standard input, or fd 3 when started with LISTEN_FDS=1 (systemd\n"
	"Accept=yes, systemd-socket-activate --accept).\n"
	"\n"
	"  --protocol=NAME      auto, nmea, h02, gps103, gl200 or osmand (default auto:\n"
	"                       from the connection's first bytes, or the socket's\n"
	"                       FileDescriptorName= when it names a protocol)\n"
	"  --ack                acknowledge Queclink reports (+SACK) once delivered\n"
	"  --reply-fd=N         write the devices' replies to fd N when the input is\n"
	"                       not a socket (default: on a socket, to it; else none)\n"
	"  --sink=SINK          journal, stdout or fifo:PATH (default stdout)\n"
	"  --format=FORMAT      json, csv or raw, for stdout and fifo (default json)\n"
	"  --checksum=MODE      NMEA checksums: strict, lenient or off (default lenient)\n"
	"  --max-line=BYTES     longest line or frame (a whole HTTP request) accepted,\n"
	"                       64-4000 (default 1024)\n"
	"  --vehicle=ID         vehicle id when the stream does not name one\n"
	"  --date=YYYY-MM-DD    date of GGA/GLL sentences before the first RMC\n"
	"                       (default: today, UTC)\n"
	"  --rollover=MODE      RMC dates before 2019-04-07: fix moves them on by\n"
	"                       1024-week GPS rollovers while not in the future,\n"
	"                       keep leaves them (default fix)\n"
	"  --devices=PATH       only the devices listed in PATH may report (ids, or\n"
	"                       addr:IP[/PREFIX] for vehicles known by address)\n"
	"  --idle-timeout=SECS  close a connection that completes no line for SECS,\n"
	"                       1-86400 (default 300 on sockets, none on pipes/files)\n"
	"  --supervise          a reader process and a worker process that it restarts\n"
	"                       when a line crashes it (default on sockets)\n"
	"  --no-supervise       one process (default on pipes and files)\n"
	"  --sandbox            confine the process after set-up: a seccomp allowlist\n"
	"                       and Landlock leave it only what serving the\n"
	"                       connection needs (default; see vlsink(1), SANDBOX)\n"
	"  --no-sandbox         do not confine it (for valgrind and debuggers)\n"
	"  --restart-limit=N/SECS  more than N worker crashes in SECS seconds end the\n"
	"                       connection with exit 75 (default 5/60; N 1-100,\n"
	"                       SECS 1-3600)\n"
	"  --proxy-protocol=VERSION  the connection starts with a PROXY protocol\n"
	"                       header (v1, v2 or any) from a load balancer, read\n"
	"                       within 5 s; its client becomes the peer (default off)\n"
	"  --log=TARGET         where diagnostics go: stderr, journal (journald's\n"
	"                       native socket, one entry each: an instance needs no\n"
	"                       log stream) or auto (default: journal in a systemd\n"
	"                       service whose stderr is /dev/null, else stderr)\n"
	"  --user=NAME          started as root, become NAME (its uid and group; the\n"
	"                       supplementary groups given, less root's) before\n"
	"                       reading anything (default: $VLSINK_USER, else stay)\n"
	"  --merge=MODE         epoch: the sentences of one fix (RMC, GGA, GLL, GSA,\n"
	"                       TPV of one time) make one record (default);\n"
	"                       none: one record per sentence\n"
	"Position filters (per vehicle; a filtered fix is counted in the summary):\n"
	"  --keep-zero          keep 0,0 positions (dropped by default)\n"
	"  --keep-duplicates    keep a fix with the same time as the vehicle's last\n"
	"                       record (dropped by default; kept with --merge=none)\n"
	"  --max-future=SECS    drop fixes more than SECS ahead of the clock\n"
	"  --max-past=SECS      drop fixes more than SECS behind the clock\n"
	"  --max-speed=M/S      drop a jump from the last kept position faster than\n"
	"                       this; a fix that agrees with the one dropped before\n"
	"                       it is kept (the kept one was the outlier)\n"
	"  --min-period=SECS    drop fixes less than SECS after the last kept one\n"
	"  --min-distance=M     drop fixes less than M metres from the last kept one\n"
	"  --max-hdop=N         drop fixes whose HDOP is above N\n"
	"  -h, --help           show this help and exit\n"
	"  -V, --version        show the version and exit\n"
	"\n"
	"Exit status: 0 stream ended and every record delivered; 64 usage error;\n"
	"65 no valid PROXY protocol header; 66 input error; 70 internal error;\n"
	"74 sink failure (records not delivered); 75 the worker crashed more often\n"
	"than --restart-limit allows; 77 the device is not in --devices; 78 the\n"
	"--devices file is unusable.\n"
	"See vlsink(1).\n";

/* A year: a filter window beyond that filters nothing a tracker sends. */
#define SECS_LIMIT 31536000

/* A positive decimal up to hi, for the filters' thresholds. */
static double decimal_arg(const char *name, const char *v, double hi)
{
	double d;

	if (scan_decimal(v, strlen(v), &d) || !(d > 0) || d > hi)
		usage_error("--%s=%s: expected a number above 0, at most %g", name, v, hi);
	return d;
}

static int number_arg(const char *name, const char *v, int lo, int hi)
{
	unsigned n;

	if (scan_uint(v, strlen(v), (unsigned)hi, &n) || (int)n < lo)
		usage_error("--%s=%s: expected a number from %d to %d", name, v, lo, hi);
	return (int)n;
}

void config_parse(int argc, char **argv, struct config *o)
{
	enum {
		O_SINK = 256, O_FORMAT, O_CHECKSUM, O_MAX_LINE, O_VEHICLE, O_DATE, O_IDLE, O_MERGE, O_KEEP_ZERO,
		O_KEEP_DUP, O_FUTURE, O_PAST, O_SPEED, O_PERIOD, O_DISTANCE, O_HDOP, O_ROLLOVER, O_DEVICES,
		O_SUPERVISE, O_NO_SUPERVISE, O_RESTART_LIMIT, O_SANDBOX, O_NO_SANDBOX, O_PROXY, O_PROTOCOL,
		O_ACK, O_REPLY_FD, O_LOG, O_USER
	};
	static const struct option longopts[] = {
		{ "sink", required_argument, NULL, O_SINK },
		{ "format", required_argument, NULL, O_FORMAT },
		{ "checksum", required_argument, NULL, O_CHECKSUM },
		{ "max-line", required_argument, NULL, O_MAX_LINE },
		{ "vehicle", required_argument, NULL, O_VEHICLE },
		{ "date", required_argument, NULL, O_DATE },
		{ "idle-timeout", required_argument, NULL, O_IDLE },
		{ "merge", required_argument, NULL, O_MERGE },
		{ "keep-zero", no_argument, NULL, O_KEEP_ZERO },
		{ "keep-duplicates", no_argument, NULL, O_KEEP_DUP },
		{ "max-future", required_argument, NULL, O_FUTURE },
		{ "max-past", required_argument, NULL, O_PAST },
		{ "max-speed", required_argument, NULL, O_SPEED },
		{ "min-period", required_argument, NULL, O_PERIOD },
		{ "min-distance", required_argument, NULL, O_DISTANCE },
		{ "max-hdop", required_argument, NULL, O_HDOP },
		{ "rollover", required_argument, NULL, O_ROLLOVER },
		{ "devices", required_argument, NULL, O_DEVICES },
		{ "supervise", no_argument, NULL, O_SUPERVISE },
		{ "no-supervise", no_argument, NULL, O_NO_SUPERVISE },
		{ "restart-limit", required_argument, NULL, O_RESTART_LIMIT },
		{ "sandbox", no_argument, NULL, O_SANDBOX },
		{ "no-sandbox", no_argument, NULL, O_NO_SANDBOX },
		{ "proxy-protocol", required_argument, NULL, O_PROXY },
		{ "protocol", required_argument, NULL, O_PROTOCOL },
		{ "ack", no_argument, NULL, O_ACK },
		{ "reply-fd", required_argument, NULL, O_REPLY_FD },
		{ "log", required_argument, NULL, O_LOG },
		{ "user", required_argument, NULL, O_USER },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c, format_given = 0;
	unsigned y, m, d;
	char id[VEHICLE_MAX + 1];

	memset(o, 0, sizeof(*o));
	o->sink = SINK_STDOUT;
	o->format = OUT_JSON;
	o->checksum = CK_LENIENT;
	o->max_line = MAX_LINE_DEFAULT;
	o->merge = 1;
	o->filter.zero = 1;
	o->filter.duplicate = 1;
	o->supervise = -1;
	o->sandbox = 1;
	o->restart_max = RESTART_MAX;
	o->restart_period = RESTART_PERIOD;
	o->protocol = PROTO_AUTO;
	o->reply_fd = -1;
	o->user = getenv("VLSINK_USER");
	if (o->user && !*o->user)
		o->user = NULL;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "hV", longopts, NULL)) != -1) {
		switch (c) {
		case O_SINK:
			if (!strcmp(optarg, "journal")) {
				o->sink = SINK_JOURNAL;
			} else if (!strcmp(optarg, "stdout")) {
				o->sink = SINK_STDOUT;
			} else if (!strncmp(optarg, "fifo:", 5) && optarg[5]) {
				o->sink = SINK_FIFO;
				o->fifo_path = optarg + 5;
			} else {
				usage_error("--sink=%s: expected journal, stdout or fifo:PATH", optarg);
			}
			break;
		case O_FORMAT:
			format_given = 1;
			if (!strcmp(optarg, "json"))
				o->format = OUT_JSON;
			else if (!strcmp(optarg, "csv"))
				o->format = OUT_CSV;
			else if (!strcmp(optarg, "raw"))
				o->format = OUT_RAW;
			else
				usage_error("--format=%s: expected json, csv or raw", optarg);
			break;
		case O_CHECKSUM:
			if (!strcmp(optarg, "strict"))
				o->checksum = CK_STRICT;
			else if (!strcmp(optarg, "lenient"))
				o->checksum = CK_LENIENT;
			else if (!strcmp(optarg, "off"))
				o->checksum = CK_OFF;
			else
				usage_error("--checksum=%s: expected strict, lenient or off", optarg);
			break;
		case O_MAX_LINE:
			o->max_line = (size_t)number_arg("max-line", optarg, MAX_LINE_MIN, MAX_LINE_LIMIT);
			break;
		case O_VEHICLE:
			if (scan_vehicle(optarg, strlen(optarg), id))
				usage_error("--vehicle=%s: expected 1-%d of A-Z a-z 0-9 . _ - : @", optarg,
					    VEHICLE_MAX);
			o->vehicle = optarg;
			break;
		case O_DATE:
			if (strlen(optarg) != 10 || optarg[4] != '-' || optarg[7] != '-' ||
			    scan_uint(optarg, 4, 9999, &y) || scan_uint(optarg + 5, 2, 12, &m) ||
			    scan_uint(optarg + 8, 2, 31, &d) || !valid_date((int)y, m, d))
				usage_error("--date=%s: expected a date as YYYY-MM-DD", optarg);
			o->have_date = 1;
			o->date_days = days_from_civil((int)y, m, d);
			break;
		case O_MERGE:
			if (!strcmp(optarg, "epoch"))
				o->merge = 1;
			else if (!strcmp(optarg, "none"))
				o->merge = 0;
			else
				usage_error("--merge=%s: expected epoch or none", optarg);
			break;
		case O_KEEP_ZERO:
			o->filter.zero = 0;
			break;
		case O_KEEP_DUP:
			o->filter.duplicate = 0;
			break;
		case O_FUTURE:
			o->filter.future_ms = (int64_t)number_arg("max-future", optarg, 1, SECS_LIMIT) * 1000;
			break;
		case O_PAST:
			o->filter.past_ms = (int64_t)number_arg("max-past", optarg, 1, SECS_LIMIT) * 1000;
			break;
		case O_PERIOD:
			o->filter.min_period_ms = (int64_t)number_arg("min-period", optarg, 1, SECS_LIMIT) * 1000;
			break;
		case O_SPEED:
			o->filter.max_speed = decimal_arg("max-speed", optarg, 2000);
			break;
		case O_DISTANCE:
			o->filter.min_distance = decimal_arg("min-distance", optarg, 1e6);
			break;
		case O_HDOP:
			o->filter.max_hdop = decimal_arg("max-hdop", optarg, 100);
			break;
		case O_ROLLOVER:
			if (!strcmp(optarg, "fix"))
				o->keep_rollover = 0;
			else if (!strcmp(optarg, "keep"))
				o->keep_rollover = 1;
			else
				usage_error("--rollover=%s: expected fix or keep", optarg);
			break;
		case O_DEVICES:
			if (!optarg[0])
				usage_error("--devices=: expected a file of device ids");
			o->devices = optarg;
			break;
		case O_SUPERVISE:
			o->supervise = 1;
			break;
		case O_NO_SUPERVISE:
			o->supervise = 0;
			break;
		case O_SANDBOX:
			o->sandbox = 1;
			break;
		case O_NO_SANDBOX:
			o->sandbox = 0;
			break;
		case O_RESTART_LIMIT: {
			const char *slash = strchr(optarg, '/');
			unsigned n, secs;
			if (!slash || scan_uint(optarg, (size_t)(slash - optarg), RESTART_MAX_LIMIT, &n) || n < 1 ||
			    scan_uint(slash + 1, strlen(slash + 1), RESTART_PERIOD_LIMIT, &secs) || secs < 1)
				usage_error("--restart-limit=%s: expected N/SECS, N 1-%d, SECS 1-%d", optarg,
					    RESTART_MAX_LIMIT, RESTART_PERIOD_LIMIT);
			o->restart_max = (int)n;
			o->restart_period = (int)secs;
			break;
		}
		case O_PROXY:
			if (!strcmp(optarg, "v1"))
				o->proxy = PROXY_V1;
			else if (!strcmp(optarg, "v2"))
				o->proxy = PROXY_V2;
			else if (!strcmp(optarg, "any"))
				o->proxy = PROXY_ANY;
			else
				usage_error("--proxy-protocol=%s: expected v1, v2 or any", optarg);
			break;
		case O_PROTOCOL:
			o->protocol = protocol_from_name(optarg, strlen(optarg));
			if (o->protocol == PROTO_COUNT)
				usage_error("--protocol=%s: expected auto, nmea, h02, gps103, gl200 or osmand", optarg);
			break;
		case O_ACK:
			o->ack = 1;
			break;
		case O_REPLY_FD:
			/* 0-2 are the input and the diagnostics' own. */
			o->reply_fd = number_arg("reply-fd", optarg, 3, 1023);
			break;
		case O_LOG:
			if (!strcmp(optarg, "auto"))
				o->log = LOG_AUTO;
			else if (!strcmp(optarg, "stderr"))
				o->log = LOG_STDERR;
			else if (!strcmp(optarg, "journal"))
				o->log = LOG_JOURNAL;
			else
				usage_error("--log=%s: expected auto, stderr or journal", optarg);
			break;
		case O_USER:
			if (!*optarg)
				usage_error("--user=: expected a user name");
			o->user = optarg;
			break;
		case O_IDLE:
			o->idle_timeout = number_arg("idle-timeout", optarg, 1, IDLE_LIMIT);
			o->idle_given = 1;
			break;
		case 'h':
			print_exit(usage_text);
		case 'V':
			print_exit("vlsink " VERSION "\n");
		default:
			bad_option(argv);
		}
	}
	if (optind < argc)
		usage_error("unexpected argument '%s'", argv[optind]);
	if (format_given && o->sink == SINK_JOURNAL)
		usage_error("--format applies to the stdout and fifo sinks, not to the journal");
}

