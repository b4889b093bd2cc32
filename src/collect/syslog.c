/*
 * syslog.c - parsing one raw syslog message (RFC 5424 or RFC 3164) into the event's fields.
 *
 * Input is ev->payload: raw bytes, NOT NUL-terminated, possibly binary garbage from the
 * network. Every read is bounded by the payload end; nothing is allocated except the text of
 * the collector address when the message carries no hostname (written into the batch arena).
 * All other slices (hostname, appname, procid, msgid, message) point into the payload.
 *
 * Recognition, in order:
 *   1. "<PRI>" (1-3 digits, value 0..191). A '<' that does not open a valid PRI (<999>, <abc>,
 *      unterminated) makes the whole message UNPARSED. No '<' at all: RFC 3164 without PRI
 *      (facility and priority stay 255, severity is left untouched).
 *   2. "<PRI>1 " is RFC 5424: TIMESTAMP HOSTNAME APP-NAME PROCID MSGID, each may be the
 *      NILVALUE "-"; RFC 3339 timestamps with 1-9 fraction digits (kept to the millisecond)
 *      and Z or +-hh:mm (an offset-less time is read as collector-local time). Structured
 *      data ([id k="v"]..., escapes \" \\ \]) is validated and skipped: it stays in the payload
 *      and ev->message is the MSG after it, with a leading UTF-8 BOM removed. Malformed SD
 *      is kept as part of the message. A header that does not fit falls through to 3.
 *   3. RFC 3164: "Mmm dd hh:mm:ss" (day space- or zero-padded or one digit, optional
 *      ".fff" fraction, optional year "Mmm dd yyyy hh:mm:ss", a leading '*' or '.' as
 *      Cisco marks unsynced clocks), or an RFC 3339 timestamp in its place (rsyslog). Then
 *      HOSTNAME, unless the token after the time looks like a tag (ends with ':' or holds
 *      '['): then the hostname is the text of ev->collectorip. Then TAG[PID]: -> appname and
 *      procid; a token without ':' or '[' is not taken as a tag (the message keeps it).
 *      A valid PRI followed by text that has no timestamp is still RFC 3164 as RFC 3164
 *      section 4.3.3 describes (no header: the rest is the MSG, devicetime 0). A payload
 *      without PRI and without timestamp, or a PRI with nothing after it, is UNPARSED.
 *
 * RFC 3164 time has no year and no zone: it is read in the collector's local time zone and
 * the year is the one of ev->starttime, or the previous year when that puts the date more
 * than one day after starttime (a "Dec 31" line received on Jan 1). Local-time conversion
 * goes through a small per-thread cache keyed on (year, month, day, hour), so the zone
 * lookup (localtime_r) runs about once per hour of log time per parser thread, not once per
 * event; whole hours keep DST transitions right.
 *
 * Severity (0-10 column) from the syslog severity (0 emerg .. 7 debug):
 *   0 emerg -> 10, 1 alert -> 9, 2 crit -> 8, 3 err -> 7, 4 warning -> 5, 5 notice -> 4,
 *   6 info -> 3, 7 debug -> 1.
 *
 * UNPARSED: flag STRM_EV_UNPARSED, message = the whole payload, facility/priority 255, no
 * devicetime/appname/procid/msgid; hostname = collector address text, so that log-source
 * mapping still works. The message of parsed events has trailing CR/LF/NUL trimmed.
 */
#include "collect/collect.h"

#include <string.h>
#include <time.h>

static const uint8_t syslog_sev_map[8] = {10, 9, 8, 7, 5, 4, 3, 1};

#define DAY_MS 86400000LL

static inline bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static inline struct strm_str mkstr(const char *p, const char *e)
{
    struct strm_str s = {p, (uint32_t)(e - p)};
    return s;
}

/* Reads exactly n digits at p (bounded by end); returns -1 when they are not there. */
static int read_digits(const char *p, const char *end, int n)
{
    if (end - p < n) return -1;
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!is_digit(p[i])) return -1;
        v = v * 10 + (p[i] - '0');
    }
    return v;
}

/* ---------------------------------------------------------------- time conversion */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

struct hour_slot {
    int key; /* ((year * 13 + mon) * 32 + day) * 24 + hour; 0 = empty */
    int64_t epoch;
};

#define HOUR_SLOTS 8
static _Thread_local struct hour_slot hour_cache[HOUR_SLOTS];

/*
 * Local wall time (given as seconds since the epoch as if it were UTC) to epoch seconds.
 * mktime() is not used: glibc's mktime re-reads the zone file (a stat per call), which at
 * a cache miss per hour of log time still cost more than all of the parsing. localtime_r
 * only does that once. The fixed point t + gmtoff(t) == naive is found in a few steps; in a
 * DST gap (a local time that does not exist) the last estimate is taken.
 */
static int64_t local_to_epoch(int64_t naive)
{
    static _Thread_local long last_off;
    time_t t = (time_t)(naive - last_off);
    for (int i = 0; i < 4; i++) {
        struct tm tm;
        if (!localtime_r(&t, &tm)) return naive;
        last_off = tm.tm_gmtoff;
        time_t t2 = (time_t)(naive - tm.tm_gmtoff);
        if (t2 == t) break;
        t = t2;
    }
    return (int64_t)t;
}

/* Epoch seconds of local time y-m-d h:00:00 (cached per thread). */
static int64_t local_hour_epoch(int y, int mon, int d, int h)
{
    int key = ((y * 13 + mon) * 32 + d) * 24 + h;
    struct hour_slot *s = &hour_cache[(unsigned)key % HOUR_SLOTS];
    if (s->key == key && key != 0) return s->epoch;
    s->key = key;
    s->epoch = local_to_epoch(days_from_civil(y, (unsigned)mon, (unsigned)d) * 86400 + h * 3600);
    return s->epoch;
}

static int64_t local_ms(int y, int mon, int d, int h, int mi, int sec, int ms)
{
    return (local_hour_epoch(y, mon, d, h) + mi * 60 + sec) * 1000 + ms;
}

/* The local-time year that starttime falls in, cached per thread as a [lo, hi) range. */
static _Thread_local int64_t year_lo = 1, year_hi = 0;
static _Thread_local int year_val;

static int year_of(int64_t t_ms)
{
    if (t_ms >= year_lo && t_ms < year_hi) return year_val;
    time_t t = (time_t)(t_ms / 1000);
    struct tm tm;
    if (!localtime_r(&t, &tm)) return 1970;
    int y = tm.tm_year + 1900;
    year_val = y;
    year_lo = local_ms(y, 1, 1, 0, 0, 0, 0);
    year_hi = local_ms(y + 1, 1, 1, 0, 0, 0, 0);
    return y;
}

struct ts_fields {
    int year; /* 0 = not given */
    int mon, day, hour, min, sec, ms;
    bool has_tz;
    int tz_min; /* offset east of UTC, minutes */
};

static int64_t ts_to_ms(const struct ts_fields *t, int64_t starttime)
{
    if (t->has_tz) {
        int64_t days = days_from_civil(t->year, (unsigned)t->mon, (unsigned)t->day);
        int64_t s = days * 86400 + t->hour * 3600 + t->min * 60 + t->sec - t->tz_min * 60;
        return s * 1000 + t->ms;
    }
    if (t->year) return local_ms(t->year, t->mon, t->day, t->hour, t->min, t->sec, t->ms);
    int y = year_of(starttime);
    int64_t v = local_ms(y, t->mon, t->day, t->hour, t->min, t->sec, t->ms);
    if (v - DAY_MS > starttime) /* v is bounded (year <= 9999); starttime may be anything */
        v = local_ms(y - 1, t->mon, t->day, t->hour, t->min, t->sec, t->ms);
    return v;
}

/* Optional ".f..." fraction: up to 9 digits, kept to ms. Returns the new position. */
static const char *parse_frac(const char *p, const char *end, int *ms)
{
    *ms = 0;
    if (p < end && *p == '.' && p + 1 < end && is_digit(p[1])) {
        p++;
        int n = 0, v = 0;
        while (p < end && is_digit(*p) && n < 9) {
            if (n < 3) v = v * 10 + (*p - '0');
            p++;
            n++;
        }
        for (; n < 3; n++)
            v *= 10;
        *ms = v;
    }
    return p;
}

static bool valid_clock(const struct ts_fields *t)
{
    return t->mon >= 1 && t->mon <= 12 && t->day >= 1 && t->day <= 31 && t->hour <= 23 &&
           t->min <= 59 && t->sec <= 60;
}

/*
 * RFC 3339: YYYY-MM-DDThh:mm:ss[.frac](Z|+hh:mm|-hh:mm). The offset may be absent (then
 * has_tz is false). Returns the position after the timestamp or NULL.
 */
static const char *parse_rfc3339(const char *p, const char *end, struct ts_fields *t)
{
    memset(t, 0, sizeof(*t));
    if (end - p < 19 || p[4] != '-' || p[7] != '-' || (p[10] != 'T' && p[10] != 't') ||
        p[13] != ':' || p[16] != ':')
        return NULL;
    t->year = read_digits(p, end, 4);
    t->mon = read_digits(p + 5, end, 2);
    t->day = read_digits(p + 8, end, 2);
    t->hour = read_digits(p + 11, end, 2);
    t->min = read_digits(p + 14, end, 2);
    t->sec = read_digits(p + 17, end, 2);
    if (t->year < 0 || t->mon < 0 || t->day < 0 || t->hour < 0 || t->min < 0 || t->sec < 0 ||
        !valid_clock(t))
        return NULL;
    p = parse_frac(p + 19, end, &t->ms);
    if (p < end && (*p == 'Z' || *p == 'z')) {
        t->has_tz = true;
        return p + 1;
    }
    if (p < end && (*p == '+' || *p == '-')) {
        int sign = *p == '-' ? -1 : 1;
        int hh = read_digits(p + 1, end, 2);
        if (hh < 0) return NULL;
        const char *q = p + 3;
        if (q < end && *q == ':') q++;
        int mm = read_digits(q, end, 2);
        if (mm < 0 || hh > 23 || mm > 59) return NULL;
        t->has_tz = true;
        t->tz_min = sign * (hh * 60 + mm);
        return q + 2;
    }
    return p;
}

static int month_of(const char *p)
{
    /* Case-insensitive three-letter month, packed lower case. */
    unsigned k =
        ((unsigned)(p[0] | 0x20) << 16) | ((unsigned)(p[1] | 0x20) << 8) | (unsigned)(p[2] | 0x20);
#define M3(a, b, c) (((unsigned)(a) << 16) | ((unsigned)(b) << 8) | (unsigned)(c))
    switch (k) {
    case M3('j', 'a', 'n'):
        return 1;
    case M3('f', 'e', 'b'):
        return 2;
    case M3('m', 'a', 'r'):
        return 3;
    case M3('a', 'p', 'r'):
        return 4;
    case M3('m', 'a', 'y'):
        return 5;
    case M3('j', 'u', 'n'):
        return 6;
    case M3('j', 'u', 'l'):
        return 7;
    case M3('a', 'u', 'g'):
        return 8;
    case M3('s', 'e', 'p'):
        return 9;
    case M3('o', 'c', 't'):
        return 10;
    case M3('n', 'o', 'v'):
        return 11;
    case M3('d', 'e', 'c'):
        return 12;
    }
#undef M3
    return 0;
}

/*
 * BSD date: Mmm dd hh:mm:ss[.fff] or Mmm dd yyyy hh:mm:ss[.fff]; day as "dd", " d" or "d".
 * Must be followed by a space or the end. Returns the position after it or NULL.
 */
static const char *parse_bsd_time(const char *p, const char *end, struct ts_fields *t)
{
    memset(t, 0, sizeof(*t));
    if (p < end && (*p == '*' || *p == '.')) p++;
    if (end - p < 14 || p[3] != ' ') return NULL;
    t->mon = month_of(p);
    if (!t->mon) return NULL;
    p += 4;
    if (*p == ' ') p++;
    if (p >= end || !is_digit(*p)) return NULL;
    t->day = *p++ - '0';
    if (p < end && is_digit(*p)) t->day = t->day * 10 + (*p++ - '0');
    if (p >= end || *p != ' ') return NULL;
    p++;
    int y = read_digits(p, end, 4);
    if (y >= 0 && p + 4 < end && p[4] == ' ') {
        t->year = y;
        p += 5;
    }
    if (end - p < 8 || p[2] != ':' || p[5] != ':') return NULL;
    t->hour = read_digits(p, end, 2);
    t->min = read_digits(p + 3, end, 2);
    t->sec = read_digits(p + 6, end, 2);
    if (t->hour < 0 || t->min < 0 || t->sec < 0 || !valid_clock(t)) return NULL;
    p = parse_frac(p + 8, end, &t->ms);
    if (p < end && *p != ' ') return NULL;
    return p;
}

/* ---------------------------------------------------------------- helpers */

struct ip_text_cache {
    struct strm_ip ip;
    char text[64];
    size_t len;
    bool valid;
};
static _Thread_local struct ip_text_cache ip_cache;

static void host_from_collector(struct strm_event *ev, struct strm_arena *arena)
{
    ev->hostname.p = NULL;
    ev->hostname.len = 0;
    if (strm_ip_is_null(&ev->collectorip) || !arena) return;
    if (!ip_cache.valid || memcmp(ip_cache.ip.b, ev->collectorip.b, 16) != 0) {
        ip_cache.len = strm_ip_format(&ev->collectorip, ip_cache.text, sizeof(ip_cache.text));
        ip_cache.ip = ev->collectorip;
        ip_cache.valid = true;
    }
    if (ip_cache.len) ev->hostname = strm_arena_strdup(arena, ip_cache.text, ip_cache.len);
}

/* Trailing CR, LF and NUL are framing residue, not message text. */
static const char *trim_end(const char *p, const char *end)
{
    while (end > p && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == '\0'))
        end--;
    return end;
}

static void set_message(struct strm_event *ev, const char *p, const char *end)
{
    if (end - p >= 3 && (unsigned char)p[0] == 0xEF && (unsigned char)p[1] == 0xBB &&
        (unsigned char)p[2] == 0xBF)
        p += 3;
    end = trim_end(p, end);
    ev->message = mkstr(p, end);
}

/* Non-empty run of bytes other than space; returns its end or NULL when empty. */
static const char *token_end(const char *p, const char *end)
{
    const char *q = p;
    while (q < end && *q != ' ')
        q++;
    return q > p ? q : NULL;
}

static struct strm_str nil_or(const char *p, const char *e)
{
    if (e - p == 1 && *p == '-') return mkstr(p, p);
    return mkstr(p, e);
}

/* ---------------------------------------------------------------- RFC 5424 */

/* Skips structured data at p. Returns the position after it, or NULL when malformed. */
static const char *skip_sd(const char *p, const char *end)
{
    if (p < end && *p == '-') return p + 1;
    if (p >= end || *p != '[') return NULL;
    while (p < end && *p == '[') {
        p++;
        const char *id = p;
        while (p < end && *p != ' ' && *p != '=' && *p != ']' && *p != '"')
            p++;
        if (p == id || p >= end) return NULL;
        for (;;) {
            if (p >= end) return NULL;
            if (*p == ']') {
                p++;
                break;
            }
            if (*p != ' ') return NULL;
            p++;
            const char *name = p;
            while (p < end && *p != ' ' && *p != '=' && *p != ']' && *p != '"')
                p++;
            if (p == name || end - p < 2 || p[0] != '=' || p[1] != '"') return NULL;
            p += 2;
            while (p < end && *p != '"') {
                if (*p == '\\' && p + 1 < end) p++;
                p++;
            }
            if (p >= end) return NULL;
            p++; /* closing quote */
        }
    }
    return p;
}

static bool parse_5424(struct strm_event *ev, struct strm_arena *arena, const char *p,
                       const char *end)
{
    /* VERSION "1" SP was checked by the caller; p is at TIMESTAMP. */
    int64_t devtime = 0;
    if (p < end && *p == '-') {
        p++;
    } else {
        struct ts_fields t;
        p = parse_rfc3339(p, end, &t);
        if (!p) return false;
        devtime = ts_to_ms(&t, ev->starttime);
    }
    const char *f[4][2];
    for (int i = 0; i < 4; i++) {
        if (p >= end || *p != ' ') return false;
        p++;
        const char *e = token_end(p, end);
        if (!e) return false;
        f[i][0] = p;
        f[i][1] = e;
        p = e;
    }
    ev->devicetime = devtime;
    struct strm_str host = nil_or(f[0][0], f[0][1]);
    if (host.len)
        ev->hostname = host;
    else
        host_from_collector(ev, arena);
    ev->appname = nil_or(f[1][0], f[1][1]);
    ev->procid = nil_or(f[2][0], f[2][1]);
    ev->msgid = nil_or(f[3][0], f[3][1]);
    if (p >= end || p + 1 >= end) { /* no SD (lenient) or a lone trailing space */
        ev->message = mkstr(end, end);
        return true;
    }
    p++; /* SP before SD */
    const char *sd_end = skip_sd(p, end);
    if (sd_end && (sd_end == end || *sd_end == ' ')) {
        p = sd_end < end ? sd_end + 1 : end;
    }
    /* else: malformed SD stays in the message */
    set_message(ev, p, end);
    return true;
}

/* ---------------------------------------------------------------- RFC 3164 */

/* TAG[PID]: or TAG: at p; sets appname/procid and returns where the MSG starts. */
static const char *parse_tag(struct strm_event *ev, const char *p, const char *end)
{
    const char *lim = end - p > 48 ? p + 48 : end;
    const char *q = p;
    while (q < lim && *q != '[' && *q != ':' && *q != ' ' && (unsigned char)*q > 0x20 && *q != 0x7f)
        q++;
    if (q == p || q >= end) return p;
    if (*q == '[') {
        const char *plim = end - q > 130 ? q + 130 : end;
        const char *r = q + 1;
        while (r < plim && *r != ']')
            r++;
        if (r >= plim) return p;
        ev->appname = mkstr(p, q);
        ev->procid = mkstr(q + 1, r);
        r++;
        if (r < end && *r == ':') r++;
        if (r < end && *r == ' ') r++;
        return r;
    }
    if (*q == ':') {
        ev->appname = mkstr(p, q);
        q++;
        if (q < end && *q == ' ') q++;
        return q;
    }
    return p; /* a word without ':' or '[' is message text, not a tag */
}

static bool parse_3164(struct strm_event *ev, struct strm_arena *arena, const char *p,
                       const char *end, bool have_pri)
{
    struct ts_fields t;
    const char *q = NULL;
    if (p < end && is_digit(*p))
        q = parse_rfc3339(p, end, &t);
    else
        q = parse_bsd_time(p, end, &t);
    if (q && (q == end || *q == ' ')) {
        ev->devicetime = ts_to_ms(&t, ev->starttime);
        p = q;
    } else if (have_pri) {
        /* RFC 3164 4.3.3: a PRI and no header; the rest is the MSG. */
        host_from_collector(ev, arena);
        set_message(ev, p, end);
        return ev->message.len > 0;
    } else {
        return false;
    }
    while (p < end && *p == ' ')
        p++;
    const char *te = p;
    while (te < end && *te != ' ')
        te++;
    bool tag_first = te > p && (te[-1] == ':' || memchr(p, '[', (size_t)(te - p)) != NULL);
    if (te > p && !tag_first) {
        ev->hostname = mkstr(p, te);
        p = te;
        while (p < end && *p == ' ')
            p++;
    } else {
        host_from_collector(ev, arena);
    }
    p = parse_tag(ev, p, end);
    set_message(ev, p, end);
    return true;
}

/* ---------------------------------------------------------------- entry */

static void reset_fields(struct strm_event *ev)
{
    static const struct strm_str none = {NULL, 0};
    ev->facility = 255;
    ev->priority = 255;
    ev->devicetime = 0;
    ev->hostname = none;
    ev->appname = none;
    ev->procid = none;
    ev->msgid = none;
    ev->message = none;
}

enum syslog_format syslog_parse(struct strm_event *ev, struct strm_arena *arena)
{
    const char *p = ev->payload.p;
    const char *end = p ? p + ev->payload.len : p;
    if (ev->starttime <= 0) ev->starttime = strm_now_ms();
    reset_fields(ev);
    ev->flags &= (uint8_t)~STRM_EV_UNPARSED;

    bool have_pri = false;
    unsigned pri = 0;
    if (p && p < end && *p == '<') {
        const char *q = p + 1;
        int nd = 0;
        while (q < end && is_digit(*q) && nd < 3) {
            pri = pri * 10 + (unsigned)(*q - '0');
            q++;
            nd++;
        }
        if (nd == 0 || q >= end || *q != '>' || pri > 191) goto unparsed;
        have_pri = true;
        p = q + 1;
        if (p >= end) goto unparsed;
    }
    if (!p) goto unparsed;

    if (have_pri && end - p >= 2 && p[0] == '1' && p[1] == ' ') {
        if (parse_5424(ev, arena, p + 2, end)) {
            ev->facility = (uint8_t)(pri >> 3);
            ev->priority = (uint8_t)(pri & 7);
            ev->severity = syslog_sev_map[pri & 7];
            return SYSLOG_RFC5424;
        }
        reset_fields(ev);
    }
    while (have_pri && p < end && *p == ' ') /* "<13> Jun 14 ..." */
        p++;
    if (parse_3164(ev, arena, p, end, have_pri)) {
        if (have_pri) {
            ev->facility = (uint8_t)(pri >> 3);
            ev->priority = (uint8_t)(pri & 7);
            ev->severity = syslog_sev_map[pri & 7];
        }
        return SYSLOG_RFC3164;
    }

unparsed:
    reset_fields(ev);
    ev->flags |= STRM_EV_UNPARSED;
    ev->message = ev->payload;
    host_from_collector(ev, arena);
    return SYSLOG_UNPARSED;
}
