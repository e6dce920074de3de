/*
 * gen-nmea: write N lines of realistic, deterministic NMEA 0183 to stdout.
 *
 * Usage: gen-nmea [LINES] [--talkers] [--protocol=P]
 *
 *   LINES      number of lines to write (default 1000000)
 *   --talkers  vary the talker ID per sentence among GP, GN and GL
 *              (default: always GP)
 *   --protocol=h02|gps103|gl200|osmand
 *              LINES frames of that tracker protocol instead, one per
 *              simulated second, of the same track: H02 "*HQ,...,V1,...#",
 *              GPS103 "imei:...,tracker,...;", Queclink "+RESP:GTFRI,...$"
 *              (one point each), OsmAnd "GET /?id=...&lat=... HTTP/1.1"
 *              requests; no line ends between frames but OsmAnd's CRLFs,
 *              as the devices send them
 *
 * A simulated vehicle drives along a track (speed changes, stops, turns),
 * starting 2026-01-01 00:00:00 UTC. Each simulated second gives one $xxRMC
 * line followed by one $xxGGA line, so the first line is always an RMC and
 * an odd LINES ends on an RMC. Every line carries a correct XOR checksum
 * (two upper-case hex digits) and ends in CRLF. The output depends only on
 * the arguments (fixed PRNG seed), never on the clock or the environment.
 *
 * Self-contained: no libm (sin/cos are computed locally), so it builds with
 *   cc -std=c11 -O2 -o gen-nmea tests/bench/gen-nmea.c
 */

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OUTBUF_SIZE (1u << 20)
#define LINE_MAX_LEN 320u

static const double PI = 3.14159265358979323846;
static const double METERS_PER_DEG_LAT = 111320.0;
static const double MPS_TO_KNOTS = 1.0 / 0.514444;

/* ---- deterministic PRNG (splitmix64) ---------------------------------- */

static uint64_t rng_state = 0x9E3779B97F4A7C15u;
/* separate stream for talker IDs, so --talkers does not change the track */
static uint64_t talker_state = 0x243F6A8885A308D3u;

static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15u);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
}

static uint64_t rng_next(void)
{
    return splitmix64(&rng_state);
}

/* uniform in [0, 1) */
static double rng_unit(void)
{
    return (double)(rng_next() >> 11) * (1.0 / 9007199254740992.0);
}

/* uniform in [lo, hi) */
static double rng_range(double lo, double hi)
{
    return lo + (hi - lo) * rng_unit();
}

/* ---- small math without libm ------------------------------------------ */

/* sine of an angle in radians; range reduction then a Taylor series */
static double sin_rad(double x)
{
    const double two_pi = 2.0 * PI;
    /* reduce to [-pi, pi] */
    if (x > PI || x < -PI) {
        long long k = (long long)(x / two_pi);
        x -= (double)k * two_pi;
        if (x > PI)
            x -= two_pi;
        else if (x < -PI)
            x += two_pi;
    }
    /* reduce to [-pi/2, pi/2] using sin(pi - x) = sin(x) */
    if (x > PI / 2.0)
        x = PI - x;
    else if (x < -PI / 2.0)
        x = -PI - x;
    double x2 = x * x;
    double term = x;
    double sum = x;
    for (int n = 1; n <= 10; n++) {
        term *= -x2 / (double)((2 * n) * (2 * n + 1));
        sum += term;
    }
    return sum;
}

static double sin_deg(double deg)
{
    return sin_rad(deg * (PI / 180.0));
}

static double cos_deg(double deg)
{
    return sin_rad((deg + 90.0) * (PI / 180.0));
}

static double clamp(double v, double lo, double hi)
{
    return v < lo ? lo : (v > hi ? hi : v);
}

static double fabs_d(double v)
{
    return v < 0.0 ? -v : v;
}

/* round a non-negative double to the nearest integer */
static uint64_t round_u64(double v)
{
    return (uint64_t)(v + 0.5);
}

/* ---- output buffer ---------------------------------------------------- */

static char outbuf[OUTBUF_SIZE];
static size_t outlen;

static void out_flush(void)
{
    if (outlen == 0)
        return;
    if (fwrite(outbuf, 1, outlen, stdout) != outlen) {
        fprintf(stderr, "gen-nmea: write error: %s\n", strerror(errno));
        exit(1);
    }
    outlen = 0;
}

/* ---- line builder ----------------------------------------------------- */

struct line {
    char buf[LINE_MAX_LEN];
    size_t len;
};

static void put_ch(struct line *l, char c)
{
    l->buf[l->len++] = c;
}

static void put_str(struct line *l, const char *s)
{
    while (*s)
        l->buf[l->len++] = *s++;
}

/* unsigned integer, zero-padded to at least `width` digits */
static void put_uint(struct line *l, uint64_t v, int width)
{
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + (int)(v % 10u));
        v /= 10u;
    } while (v != 0);
    while (n < width)
        tmp[n++] = '0';
    while (n > 0)
        l->buf[l->len++] = tmp[--n];
}

/* fixed-point decimal: value rounded to `decimals` places, at least one
 * integer digit; handles negative values */
static void put_fixed(struct line *l, double value, int decimals)
{
    uint64_t scale = 1;
    for (int i = 0; i < decimals; i++)
        scale *= 10u;
    if (value < 0.0) {
        uint64_t r = round_u64(-value * (double)scale);
        if (r == 0) {
            value = 0.0; /* avoid "-0.0" */
        } else {
            put_ch(l, '-');
            value = -value;
        }
    }
    uint64_t r = round_u64(value * (double)scale);
    put_uint(l, r / scale, 1);
    if (decimals > 0) {
        put_ch(l, '.');
        put_uint(l, r % scale, decimals);
    }
}

/* latitude/longitude as [d]ddmm.mmmm,H  (deg_digits = 2 or 3) */
static void put_coord(struct line *l, double deg, int deg_digits, char pos,
                      char neg)
{
    char hemi = deg < 0.0 ? neg : pos;
    /* total ten-thousandths of a minute; splitting an integer cannot give
     * a minute field of 60.0000 */
    uint64_t total = round_u64(fabs_d(deg) * 60.0 * 10000.0);
    uint64_t d = total / 600000u;
    uint64_t rem = total % 600000u;
    put_uint(l, d, deg_digits);
    put_uint(l, rem / 10000u, 2);
    put_ch(l, '.');
    put_uint(l, rem % 10000u, 4);
    put_ch(l, ',');
    put_ch(l, hemi);
}

static const char HEX[] = "0123456789ABCDEF";

/* append *hh and CRLF (checksum over the bytes between '$' and '*'), then
 * copy the line into the output buffer */
static void finish_line(struct line *l)
{
    unsigned char sum = 0;
    for (size_t i = 1; i < l->len; i++)
        sum ^= (unsigned char)l->buf[i];
    put_ch(l, '*');
    put_ch(l, HEX[sum >> 4]);
    put_ch(l, HEX[sum & 0x0F]);
    put_ch(l, '\r');
    put_ch(l, '\n');
    if (outlen + l->len > OUTBUF_SIZE)
        out_flush();
    memcpy(outbuf + outlen, l->buf, l->len);
    outlen += l->len;
}

/* ---- simulation ------------------------------------------------------- */

struct sim {
    /* calendar, UTC */
    int year, month, day, hour, minute, second;
    /* kinematics */
    double lat, lon;       /* degrees */
    double speed;          /* m/s */
    double target_speed;   /* m/s */
    double course;         /* degrees true, [0, 360) */
    double turn_rate;      /* deg/s */
    int turn_left;         /* seconds of a sharp turn still to go */
    int stop_left;         /* seconds still to stand still */
    int cruise_left;       /* seconds until a new target speed */
    /* receiver state */
    int sats;
    double hdop;
    double alt;            /* metres above mean sea level */
    double geoid;          /* geoid separation, metres */
};

static int is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
    static const int dim[12] = {31, 28, 31, 30, 31, 30,
                                31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

static void sim_init(struct sim *s)
{
    memset(s, 0, sizeof *s);
    s->year = 2026;
    s->month = 1;
    s->day = 1;
    /* start at Greenwich, heading east: the track wanders across the prime
     * meridian, so both E and W longitudes (000mm.mmmm) occur */
    s->lat = 51.476852;
    s->lon = -0.001400;
    s->speed = 0.0;
    s->target_speed = 13.9;
    s->course = 87.3;
    s->cruise_left = 120;
    s->sats = 9;
    s->hdop = 0.9;
    s->alt = 34.5;
    s->geoid = 44.7;
}

static void sim_tick_clock(struct sim *s)
{
    if (++s->second < 60)
        return;
    s->second = 0;
    if (++s->minute < 60)
        return;
    s->minute = 0;
    if (++s->hour < 24)
        return;
    s->hour = 0;
    if (++s->day <= days_in_month(s->year, s->month))
        return;
    s->day = 1;
    if (++s->month <= 12)
        return;
    s->month = 1;
    s->year++;
}

/* advance the vehicle by one second */
static void sim_step(struct sim *s)
{
    /* speed: cruise towards a target; now and then stop for a while */
    if (s->stop_left > 0) {
        s->stop_left--;
        s->target_speed = 0.0;
        if (s->stop_left == 0) {
            s->target_speed = rng_range(5.0, 30.0);
            s->cruise_left = (int)rng_range(30.0, 400.0);
        }
    } else if (--s->cruise_left <= 0) {
        if (rng_unit() < 0.25) {
            s->stop_left = (int)rng_range(5.0, 90.0);
            s->target_speed = 0.0;
        } else {
            s->target_speed = rng_range(5.0, 33.0);
        }
        s->cruise_left = (int)rng_range(30.0, 400.0);
    }
    double dv = s->target_speed - s->speed;
    s->speed += clamp(dv, -3.0, 2.0) + rng_range(-0.15, 0.15);
    if (s->speed < 0.05 && s->target_speed == 0.0)
        s->speed = rng_range(0.0, 0.05); /* receiver jitter while stopped */
    s->speed = clamp(s->speed, 0.0, 45.0);

    /* course: gentle wander plus occasional sharp turns while moving */
    if (s->speed > 1.0) {
        if (s->turn_left > 0) {
            s->turn_left--;
        } else {
            s->turn_rate = clamp(s->turn_rate + rng_range(-0.4, 0.4),
                                 -2.0, 2.0);
            if (rng_unit() < 0.004) {
                s->turn_left = 9;
                s->turn_rate = rng_unit() < 0.5 ? -10.0 : 10.0;
            }
        }
        s->course += s->turn_rate;
        while (s->course >= 360.0)
            s->course -= 360.0;
        while (s->course < 0.0)
            s->course += 360.0;
    }

    /* position */
    double dist = s->speed; /* metres in one second */
    s->lat += dist * cos_deg(s->course) / METERS_PER_DEG_LAT;
    s->lon += dist * sin_deg(s->course) /
              (METERS_PER_DEG_LAT * cos_deg(s->lat));
    if (s->lat > 75.0 || s->lat < -75.0) {
        /* keep away from the poles: turn back */
        s->course = 180.0 - s->course;
        if (s->course < 0.0)
            s->course += 360.0;
        s->lat = clamp(s->lat, -75.0, 75.0);
    }
    if (s->lon >= 180.0)
        s->lon -= 360.0;
    else if (s->lon < -180.0)
        s->lon += 360.0;

    /* receiver quality */
    if (rng_unit() < 0.02)
        s->sats = (int)clamp(s->sats + (rng_unit() < 0.5 ? -1 : 1), 5, 16);
    s->hdop = clamp(6.5 / (double)s->sats + rng_range(-0.05, 0.05), 0.5, 3.0);
    s->alt = clamp(s->alt + rng_range(-0.3, 0.3), -20.0, 900.0);
    s->geoid = clamp(s->geoid + rng_range(-0.002, 0.002), 20.0, 60.0);

    sim_tick_clock(s);
}

static const char *pick_talker(int vary)
{
    static const char *const talkers[3] = {"GP", "GN", "GL"};
    if (!vary)
        return "GP";
    return talkers[splitmix64(&talker_state) % 3u];
}

static void put_time(struct line *l, const struct sim *s)
{
    put_uint(l, (uint64_t)s->hour, 2);
    put_uint(l, (uint64_t)s->minute, 2);
    put_uint(l, (uint64_t)s->second, 2);
    put_str(l, ".00,");
}

static void emit_rmc(const struct sim *s, const char *talker)
{
    struct line l;
    l.len = 0;
    put_ch(&l, '$');
    put_str(&l, talker);
    put_str(&l, "RMC,");
    put_time(&l, s);
    put_str(&l, "A,");
    put_coord(&l, s->lat, 2, 'N', 'S');
    put_ch(&l, ',');
    put_coord(&l, s->lon, 3, 'E', 'W');
    put_ch(&l, ',');
    put_fixed(&l, s->speed * MPS_TO_KNOTS, 3);
    put_ch(&l, ',');
    put_fixed(&l, s->course, 2);
    put_ch(&l, ',');
    put_uint(&l, (uint64_t)s->day, 2);
    put_uint(&l, (uint64_t)s->month, 2);
    put_uint(&l, (uint64_t)(s->year % 100), 2);
    /* magnetic variation (empty), its direction (empty), mode A */
    put_str(&l, ",,,A");
    finish_line(&l);
}

static void emit_gga(const struct sim *s, const char *talker)
{
    struct line l;
    l.len = 0;
    put_ch(&l, '$');
    put_str(&l, talker);
    put_str(&l, "GGA,");
    put_time(&l, s);
    put_coord(&l, s->lat, 2, 'N', 'S');
    put_ch(&l, ',');
    put_coord(&l, s->lon, 3, 'E', 'W');
    put_str(&l, ",1,");
    put_uint(&l, (uint64_t)s->sats, 2);
    put_ch(&l, ',');
    put_fixed(&l, s->hdop, 1);
    put_ch(&l, ',');
    put_fixed(&l, s->alt, 1);
    put_str(&l, ",M,");
    put_fixed(&l, s->geoid, 1);
    /* DGPS age and station ID empty */
    put_str(&l, ",M,,");
    finish_line(&l);
}

/* ---- tracker protocols' frames ---------------------------------------- */

enum protocol { P_NMEA, P_H02, P_GPS103, P_GL200, P_OSMAND };

static void emit(struct line *l)
{
    if (outlen + l->len > OUTBUF_SIZE)
        out_flush();
    memcpy(outbuf + outlen, l->buf, l->len);
    outlen += l->len;
}

/* days since 1970-01-01 of a proleptic Gregorian date (Hinnant) */
static long long days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    long long era = (y >= 0 ? y : y - 399) / 400;
    long long yoe = y - era * 400;
    long long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void put_date_time(struct line *l, const struct sim *s)
{
    put_uint(l, (uint64_t)s->year, 4);
    put_uint(l, (uint64_t)s->month, 2);
    put_uint(l, (uint64_t)s->day, 2);
    put_uint(l, (uint64_t)s->hour, 2);
    put_uint(l, (uint64_t)s->minute, 2);
    put_uint(l, (uint64_t)s->second, 2);
}

static void emit_frame(const struct sim *s, enum protocol p, unsigned long long n)
{
    struct line l;
    l.len = 0;
    switch (p) {
    case P_H02:
        put_str(&l, "*HQ,4210051415,V1,");
        put_uint(&l, (uint64_t)s->hour, 2);
        put_uint(&l, (uint64_t)s->minute, 2);
        put_uint(&l, (uint64_t)s->second, 2);
        put_str(&l, ",A,");
        put_coord(&l, s->lat, 2, 'N', 'S');
        put_ch(&l, ',');
        put_coord(&l, s->lon, 3, 'E', 'W');
        put_ch(&l, ',');
        put_fixed(&l, s->speed * MPS_TO_KNOTS, 2);
        put_ch(&l, ',');
        put_uint(&l, (uint64_t)s->course, 1);
        put_ch(&l, ',');
        put_uint(&l, (uint64_t)s->day, 2);
        put_uint(&l, (uint64_t)s->month, 2);
        put_uint(&l, (uint64_t)(s->year % 100), 2);
        put_str(&l, ",FFFFFBFF#");
        break;
    case P_GPS103:
        put_str(&l, "imei:359586015829802,tracker,");
        put_uint(&l, (uint64_t)(s->year % 100), 2);
        put_uint(&l, (uint64_t)s->month, 2);
        put_uint(&l, (uint64_t)s->day, 2);
        put_uint(&l, (uint64_t)s->hour, 2);
        put_uint(&l, (uint64_t)s->minute, 2);
        put_str(&l, ",,F,");
        put_uint(&l, (uint64_t)s->hour, 2);
        put_uint(&l, (uint64_t)s->minute, 2);
        put_uint(&l, (uint64_t)s->second, 2);
        put_str(&l, ".000,A,");
        put_coord(&l, s->lat, 2, 'N', 'S');
        put_ch(&l, ',');
        put_coord(&l, s->lon, 3, 'E', 'W');
        put_ch(&l, ',');
        put_fixed(&l, s->speed * MPS_TO_KNOTS, 2);
        put_ch(&l, ',');
        put_fixed(&l, s->course, 2);
        put_ch(&l, ';');
        break;
    case P_GL200:
        /* version, IMEI, name, report id and type, one point; then the
         * point: accuracy (an HDOP-like 1 to 50), speed in km/h, azimuth,
         * altitude, longitude, latitude, UTC time, cell; then mileage,
         * send time and count */
        put_str(&l, "+RESP:GTFRI,060228,862170010196747,,0,0,1,");
        put_uint(&l, round_u64(s->hdop) ? round_u64(s->hdop) : 1, 1);
        put_ch(&l, ',');
        put_fixed(&l, s->speed * 3.6, 1);
        put_ch(&l, ',');
        put_uint(&l, (uint64_t)s->course, 1);
        put_ch(&l, ',');
        put_fixed(&l, s->alt, 1);
        put_ch(&l, ',');
        put_fixed(&l, s->lon, 6);
        put_ch(&l, ',');
        put_fixed(&l, s->lat, 6);
        put_ch(&l, ',');
        put_date_time(&l, s);
        put_str(&l, ",0262,0001,18d8,6141,00,,");
        put_date_time(&l, s);
        put_ch(&l, ',');
        put_ch(&l, HEX[(n >> 12) & 15]);
        put_ch(&l, HEX[(n >> 8) & 15]);
        put_ch(&l, HEX[(n >> 4) & 15]);
        put_ch(&l, HEX[n & 15]);
        put_ch(&l, '$');
        break;
    case P_OSMAND: {
        long long t = days_from_civil(s->year, s->month, s->day) * 86400 + s->hour * 3600 +
                      s->minute * 60 + s->second;
        put_str(&l, "GET /?id=123456&timestamp=");
        put_uint(&l, (uint64_t)t, 1);
        put_str(&l, "&lat=");
        put_fixed(&l, s->lat, 6);
        put_str(&l, "&lon=");
        put_fixed(&l, s->lon, 6);
        put_str(&l, "&speed=");
        put_fixed(&l, s->speed * MPS_TO_KNOTS, 2);
        put_str(&l, "&bearing=");
        put_fixed(&l, s->course, 1);
        put_str(&l, "&altitude=");
        put_fixed(&l, s->alt, 1);
        put_str(&l, "&accuracy=");
        put_fixed(&l, s->hdop * 4.0, 1);
        put_str(&l, " HTTP/1.1\r\nHost: bench\r\n\r\n");
        break;
    }
    case P_NMEA:
        break;
    }
    emit(&l);
}

static void usage(void)
{
    fprintf(stderr, "usage: gen-nmea [LINES] [--talkers] [--protocol=h02|gps103|gl200|osmand]\n");
}

int main(int argc, char **argv)
{
    unsigned long long lines = 1000000ull;
    int vary_talkers = 0;
    int have_count = 0;
    enum protocol proto = P_NMEA;
    static const char *const proto_names[] = {"nmea", "h02", "gps103", "gl200", "osmand"};

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--talkers") == 0) {
            vary_talkers = 1;
        } else if (strncmp(a, "--protocol=", 11) == 0) {
            int k = 0;
            while (k < 5 && strcmp(a + 11, proto_names[k]) != 0)
                k++;
            if (k == 5) {
                fprintf(stderr, "gen-nmea: unknown protocol '%s'\n", a + 11);
                return 2;
            }
            proto = (enum protocol)k;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage();
            return 0;
        } else if (!have_count && a[0] >= '0' && a[0] <= '9') {
            char *end;
            errno = 0;
            lines = strtoull(a, &end, 10);
            if (errno != 0 || *end != '\0') {
                fprintf(stderr, "gen-nmea: bad line count '%s'\n", a);
                return 2;
            }
            have_count = 1;
        } else {
            fprintf(stderr, "gen-nmea: unexpected argument '%s'\n", a);
            usage();
            return 2;
        }
    }

    struct sim s;
    sim_init(&s);
    unsigned long long written = 0;
    while (proto != P_NMEA && written < lines) {
        emit_frame(&s, proto, written++);
        sim_step(&s);
    }
    while (written < lines) {
        emit_rmc(&s, pick_talker(vary_talkers));
        if (++written == lines)
            break;
        emit_gga(&s, pick_talker(vary_talkers));
        ++written;
        sim_step(&s);
    }
    out_flush();
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "gen-nmea: write error: %s\n", strerror(errno));
        return 1;
    }
    return 0;
}
