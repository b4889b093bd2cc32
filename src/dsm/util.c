/*
 * util.c - helpers for DSM authors: QID setting and map search, numbers, addresses, ports,
 * MACs, protocol names, device time formats, key=value scanning, custom properties and a
 * case-insensitive substring search.
 *
 * Everything here runs per event on parser threads: no allocation except in the caller's
 * arena, no locale, no libc time conversion (dates go through days_from_civil), and every
 * read is bounded by the (pointer, length) the caller passes; inputs are never assumed to be
 * NUL-terminated.
 *
 * CEF and LEEF header/extension parsing lives in cef_leef.c.
 */
#include "dsm/dsm.h"

#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

static inline bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static inline char lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
}

/* ---------------------------------------------------------------- QIDs */

void dsm_set_qid(struct strm_event *ev, uint32_t qid)
{
    const struct qid_def *q = qid_lookup(qid);
    ev->qid = qid;
    if (q) {
        ev->category = q->category;
        ev->severity = q->severity;
    } else {
        ev->category = LLC_UNKNOWN;
    }
    ev->highlevelcategory = dsm_category_high(ev->category);
}

/* strcmp order between id[0..len) and the NUL-terminated s. */
static int cmp_id(const char *id, size_t len, const char *s)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char a = (unsigned char)id[i], b = (unsigned char)s[i];
        if (b == 0) return 1; /* s is a proper prefix of id */
        if (a != b) return a < b ? -1 : 1;
    }
    return s[len] ? -1 : 0;
}

uint32_t dsm_qid_find(const struct dsm_qid_map *map, size_t n, const char *id, size_t len,
                      uint32_t fallback)
{
    if (!map || !id) return fallback;
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = cmp_id(id, len, map[mid].event_id);
        if (c == 0) return map[mid].qid;
        if (c > 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return fallback;
}

/* ---------------------------------------------------------------- numbers, addresses */

bool dsm_parse_uint(const char *p, size_t len, uint64_t max, uint64_t *out)
{
    if (!p || len == 0 || len > 20) return false;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (!is_digit(p[i])) return false;
        unsigned d = (unsigned)(p[i] - '0');
        if (v > (UINT64_MAX - d) / 10) return false;
        v = v * 10 + d;
    }
    if (v > max) return false;
    *out = v;
    return true;
}

bool dsm_set_ip(struct strm_ip *ip, const char *p, size_t len)
{
    if (!p || len == 0 || len > 64) return false;
    struct strm_ip tmp;
    if (strm_ip_parse(&tmp, p, len) != 0) return false;
    *ip = tmp;
    return true;
}

bool dsm_set_port(uint16_t *port, const char *p, size_t len)
{
    uint64_t v;
    if (!dsm_parse_uint(p, len, 65535, &v)) return false;
    *port = (uint16_t)v;
    return true;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    c = lower(c);
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

bool dsm_set_mac(uint8_t mac[6], const char *p, size_t len)
{
    uint8_t m[6];
    if (!p) return false;
    if (len == 17) { /* aa:bb:cc:dd:ee:ff or aa-bb-... */
        char sep = p[2];
        if (sep != ':' && sep != '-') return false;
        for (int i = 0; i < 6; i++) {
            int h = hexval(p[i * 3]), l = hexval(p[i * 3 + 1]);
            if (h < 0 || l < 0 || (i < 5 && p[i * 3 + 2] != sep)) return false;
            m[i] = (uint8_t)(h << 4 | l);
        }
    } else if (len == 14) { /* aabb.ccdd.eeff (Cisco) */
        int k = 0;
        for (size_t i = 0; i < 14; i++) {
            if (i == 4 || i == 9) {
                if (p[i] != '.') return false;
                continue;
            }
            int v = hexval(p[i]);
            if (v < 0) return false;
            if (k % 2 == 0)
                m[k / 2] = (uint8_t)(v << 4);
            else
                m[k / 2] |= (uint8_t)v;
            k++;
        }
    } else {
        return false;
    }
    memcpy(mac, m, 6);
    return true;
}

void dsm_set_str(struct strm_str *s, struct strm_arena *arena, const char *p, size_t len)
{
    if (!p || len == 0) {
        s->p = NULL;
        s->len = 0;
        return;
    }
    *s = strm_arena_strdup(arena, p, len);
}

/* ---------------------------------------------------------------- protocols */

static const struct {
    const char *name;
    uint8_t num;
} protocols[] = {
    {"ah", 51},    {"egp", 8},    {"eigrp", 88},     {"esp", 50},       {"ggp", 3},
    {"gre", 47},   {"hopopt", 0}, {"icmp", 1},       {"icmp6", 58},     {"icmpv6", 58},
    {"igmp", 2},   {"igp", 9},    {"ip", 0},         {"ipencap", 4},    {"ipip", 4},
    {"ipv4", 4},   {"ipv6", 41},  {"ipv6-icmp", 58}, {"ipv6-frag", 44}, {"ipv6-route", 43},
    {"l2tp", 115}, {"ospf", 89},  {"ospfigp", 89},   {"pim", 103},      {"rdp", 27},
    {"rsvp", 46},  {"sctp", 132}, {"tcp", 6},        {"udp", 17},       {"udplite", 136},
    {"vrrp", 112},
};

uint8_t dsm_protocol(const char *p, size_t len)
{
    if (!p || len == 0 || len > 12) return 0;
    if (is_digit(p[0])) {
        uint64_t v;
        return dsm_parse_uint(p, len, 255, &v) ? (uint8_t)v : 0;
    }
    char buf[16];
    for (size_t i = 0; i < len; i++)
        buf[i] = lower(p[i]);
    buf[len] = 0;
    /* the names nearly every line carries, before the walk over the table */
    if (len == 3 && memcmp(buf, "tcp", 3) == 0) return 6;
    if (len == 3 && memcmp(buf, "udp", 3) == 0) return 17;
    if (len == 4 && memcmp(buf, "icmp", 4) == 0) return 1;
    for (size_t i = 0; i < sizeof protocols / sizeof protocols[0]; i++)
        if (strcmp(buf, protocols[i].name) == 0) return protocols[i].num;
    return 0;
}

/* ---------------------------------------------------------------- time */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? (unsigned)-3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static bool valid_date(int y, int m, int d)
{
    static const uint8_t mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1 || y > 9999 || m < 1 || m > 12 || d < 1) return false;
    int max = mdays[m - 1];
    if (m == 2 && (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))) max = 29;
    return d <= max;
}

struct tparse {
    const char *p, *end;
};

static int t_digits(struct tparse *t, int n)
{
    if (t->end - t->p < n) return -1;
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!is_digit(t->p[i])) return -1;
        v = v * 10 + (t->p[i] - '0');
    }
    t->p += n;
    return v;
}

/* One or two digits. */
static int t_digits12(struct tparse *t)
{
    if (t->p < t->end && is_digit(t->p[0]) && t->end - t->p >= 2 && is_digit(t->p[1]))
        return t_digits(t, 2);
    return t_digits(t, 1);
}

static bool t_char(struct tparse *t, char c)
{
    if (t->p < t->end && *t->p == c) {
        t->p++;
        return true;
    }
    return false;
}

/* Optional .fff or ,fff (1-9 digits): milliseconds. */
static int t_frac(struct tparse *t)
{
    if (t->p + 1 < t->end && (*t->p == '.' || *t->p == ',') && is_digit(t->p[1])) {
        t->p++;
        int ms = 0, n = 0;
        while (t->p < t->end && is_digit(*t->p)) {
            if (n < 3) ms = ms * 10 + (*t->p - '0');
            n++;
            t->p++;
        }
        if (n > 9) return -1;
        for (; n < 3; n++)
            ms *= 10;
        return ms;
    }
    return 0;
}

/* hh:mm[:ss][.fff]; returns ms of the day or -1. */
static int64_t t_clock(struct tparse *t, bool need_sec)
{
    int h = t_digits(t, 2);
    if (h < 0 || h > 23 || !t_char(t, ':')) return -1;
    int mi = t_digits(t, 2);
    if (mi < 0 || mi > 59) return -1;
    int s = 0;
    if (t_char(t, ':')) {
        s = t_digits(t, 2);
        if (s < 0 || s > 60) return -1;
    } else if (need_sec) {
        return -1;
    }
    int ms = t_frac(t);
    if (ms < 0) return -1;
    return ((int64_t)h * 3600 + mi * 60 + s) * 1000 + ms;
}

/*
 * Optional zone: Z, +hh:mm, +hhmm, +hh, UTC/GMT (optionally preceded by one space).
 * Returns true and sets *off_min when one is there; false (nothing consumed) otherwise.
 * *bad is set when a zone starts but is malformed.
 */
static bool t_zone(struct tparse *t, int *off_min, bool *bad)
{
    struct tparse s = *t;
    t_char(&s, ' ');
    if (s.p >= s.end) return false;
    char c = *s.p;
    if (c == 'Z' || c == 'z') {
        s.p++;
        *off_min = 0;
        *t = s;
        return true;
    }
    if (s.end - s.p >= 3 && (memcmp(s.p, "UTC", 3) == 0 || memcmp(s.p, "GMT", 3) == 0)) {
        s.p += 3;
        *off_min = 0;
        *t = s;
        if (t->p < t->end && (*t->p == '+' || *t->p == '-')) { /* UTC+02:00 */
            return t_zone(t, off_min, bad);
        }
        return true;
    }
    if (c != '+' && c != '-') return false;
    s.p++;
    int h = t_digits(&s, 2);
    if (h < 0 || h > 14) {
        *bad = true;
        return false;
    }
    int m = 0;
    if (t_char(&s, ':')) {
        m = t_digits(&s, 2);
        if (m < 0) {
            *bad = true;
            return false;
        }
    } else if (s.end - s.p >= 2 && is_digit(s.p[0])) {
        m = t_digits(&s, 2);
        if (m < 0) {
            *bad = true;
            return false;
        }
    }
    if (m > 59) {
        *bad = true;
        return false;
    }
    *off_min = (c == '-' ? -1 : 1) * (h * 60 + m);
    *t = s;
    return true;
}

static int t_month(struct tparse *t)
{
    static const char names[] = "janfebmaraprmayjunjulaugsepoctnovdec";
    if (t->end - t->p < 3) return -1;
    char a = lower(t->p[0]), b = lower(t->p[1]), c = lower(t->p[2]);
    for (int i = 0; i < 12; i++) {
        if (names[i * 3] == a && names[i * 3 + 1] == b && names[i * 3 + 2] == c) {
            t->p += 3;
            return i + 1;
        }
    }
    return -1;
}

static bool t_done(struct tparse *t)
{
    while (t->p < t->end && (*t->p == ' ' || *t->p == '\t' || *t->p == '\r' || *t->p == '\n'))
        t->p++;
    return t->p == t->end;
}

static bool t_epoch(const char *p, size_t len, int64_t *ms)
{
    size_t i = 0;
    uint64_t v = 0; /* 19 digits fit (nanoseconds); int64_t would overflow past 9.2e18 */
    while (i < len && is_digit(p[i])) {
        if (i >= 19) return false;
        v = v * 10 + (uint64_t)(p[i] - '0');
        i++;
    }
    size_t ndig = i;
    if (ndig == 0) return false;
    int64_t frac_ms = 0;
    bool has_frac = false;
    if (i < len && p[i] == '.') {
        has_frac = true;
        i++;
        size_t n = 0;
        while (i < len && is_digit(p[i])) {
            if (n < 3) frac_ms = frac_ms * 10 + (p[i] - '0');
            n++;
            i++;
        }
        if (n == 0 || n > 9) return false;
        for (; n < 3; n++)
            frac_ms *= 10;
    }
    while (i < len && (p[i] == ' ' || p[i] == '\r' || p[i] == '\n'))
        i++;
    if (i != len) return false;
    if (!has_frac && ndig == 13)
        *ms = (int64_t)v;
    else if (!has_frac && ndig == 16)
        *ms = (int64_t)(v / 1000);
    else if (!has_frac && ndig == 19)
        *ms = (int64_t)(v / 1000000);
    else if (ndig <= 12)
        *ms = (int64_t)v * 1000 + frac_ms;
    else
        return false;
    return true;
}

bool dsm_parse_time(enum dsm_time_fmt fmt, const char *p, size_t len, int tz_min, int64_t *ms)
{
    if (!p || len == 0 || len > 64) return false;
    struct tparse t = {p, p + len};
    while (t.p < t.end && *t.p == ' ')
        t.p++;
    int y, mo, d, off = tz_min;
    int64_t clock;
    bool bad = false;
    switch (fmt) {
    case DSM_TIME_ISO8601:
        y = t_digits(&t, 4);
        if (y < 0 || !t_char(&t, '-')) return false;
        mo = t_digits(&t, 2);
        if (mo < 0 || !t_char(&t, '-')) return false;
        d = t_digits(&t, 2);
        if (d < 0 || !(t_char(&t, 'T') || t_char(&t, ' ') || t_char(&t, 't'))) return false;
        clock = t_clock(&t, false);
        if (clock < 0) return false;
        t_zone(&t, &off, &bad);
        break;
    case DSM_TIME_YMD_HMS: {
        y = t_digits(&t, 4);
        if (y < 0 || t.p >= t.end || (*t.p != '/' && *t.p != '-')) return false;
        char sep = *t.p++;
        mo = t_digits(&t, 2);
        if (mo < 0 || !t_char(&t, sep)) return false;
        d = t_digits(&t, 2);
        if (d < 0 || !(t_char(&t, ' ') || t_char(&t, 'T'))) return false;
        clock = t_clock(&t, true);
        if (clock < 0) return false;
        break;
    }
    case DSM_TIME_CLF:
        d = t_digits12(&t);
        if (d < 0 || !t_char(&t, '/')) return false;
        mo = t_month(&t);
        if (mo < 0 || !t_char(&t, '/')) return false;
        y = t_digits(&t, 4);
        if (y < 0 || !t_char(&t, ':')) return false;
        clock = t_clock(&t, true);
        if (clock < 0) return false;
        t_zone(&t, &off, &bad);
        break;
    case DSM_TIME_MON_D_Y_HMS:
        mo = t_month(&t);
        if (mo < 0 || !t_char(&t, ' ')) return false;
        t_char(&t, ' ');
        d = t_digits12(&t);
        if (d < 0 || !t_char(&t, ' ')) return false;
        y = t_digits(&t, 4);
        if (y < 0 || !t_char(&t, ' ')) return false;
        clock = t_clock(&t, true);
        if (clock < 0) return false;
        t_zone(&t, &off, &bad);
        break;
    case DSM_TIME_EPOCH:
        return t_epoch(t.p, (size_t)(t.end - t.p), ms);
    default:
        return false;
    }
    if (bad || !t_done(&t) || !valid_date(y, mo, d)) return false;
    *ms = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400000LL + clock - (int64_t)off * 60000;
    return true;
}

/* ---------------------------------------------------------------- key=value */

static inline bool is_key_char(char c)
{
    unsigned char u = (unsigned char)c;
    /* u | 0x20 is a lower-case letter exactly when u is a letter of either case */
    return (unsigned)((u | 0x20) - 'a') < 26u || (unsigned)(u - '0') < 10u || u == '_' ||
           u == '.' || u == '-';
}

int dsm_kv_scan(const char *p, size_t len, char sep, dsm_kv_fn fn, void *arg)
{
    if (!p || !fn) return 0;
    int n = 0;
    size_t i = 0;
    while (i < len) {
        /* skip separators and blanks between pairs */
        while (i < len && (p[i] == sep || p[i] == ' ' || p[i] == '\t'))
            i++;
        size_t ks = i;
        while (i < len && is_key_char(p[i]))
            i++;
        if (i == ks || i >= len || p[i] != '=') {
            /* not a pair: skip this token */
            if (i == ks) i++;
            while (i < len && p[i] != sep)
                i++;
            continue;
        }
        size_t ke = i++;
        const char *v;
        size_t vl;
        if (i < len && p[i] == '"') {
            size_t vs = ++i;
            while (i < len && p[i] != '"') {
                if (p[i] == '\\' && i + 1 < len) i++;
                i++;
            }
            if (i > len) i = len;
            v = p + vs;
            vl = i - vs;
            if (i < len) i++; /* closing quote */
            while (i < len && p[i] != sep)
                i++;
        } else {
            size_t vs = i;
            while (i < len && p[i] != sep)
                i++;
            vl = i - vs;
            v = p + vs;
            if (sep != ' ')
                while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\r' || v[vl - 1] == '\n'))
                    vl--;
            else
                while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n'))
                    vl--;
        }
        n++;
        if (!fn(p + ks, ke - ks, v, vl, arg)) break;
    }
    return n;
}

/* ---------------------------------------------------------------- properties */

void dsm_props_init(struct dsm_props *pr)
{
    pr->len = 0;
    pr->overflow = false;
}

/*
 * Per byte: whether a key byte becomes '_' ('=', tab, LF, CR) and, for a value byte, the
 * letter of its escape (0: copied as is). Tables instead of compares: dsm_props_add runs for
 * every property of every event and was the largest single item of the parse profile.
 */
static const uint8_t props_val_esc[256] = {['\t'] = 't', ['\n'] = 'n', ['\r'] = 'r', ['\\'] = '\\'};
static const uint8_t props_key_bad[256] = {['='] = 1, ['\t'] = 1, ['\n'] = 1, ['\r'] = 1};

void dsm_props_add(struct dsm_props *pr, const char *key, const char *v, size_t vlen)
{
    if (!key || !*key || (!v && vlen) || pr->len >= sizeof pr->buf) return;
    /* One pass: write, escaping, and roll back when the pair does not fit. */
    char *o = pr->buf + pr->len, *end = pr->buf + sizeof pr->buf;
    if (pr->len) *o++ = '\t';
    const char *k = key;
    for (; *k && o < end; k++)
        *o++ = props_key_bad[(unsigned char)*k] ? '_' : *k;
    if (*k || o == end) goto overflow;
    *o++ = '=';
    if ((size_t)(end - o) >= 2 * vlen) { /* room even if every byte is escaped */
        size_t i = 0;
#ifdef __SSE2__
        /* sixteen bytes at a time while none of them needs an escape (nearly always) */
        const __m128i ct = _mm_set1_epi8('\t'), cn = _mm_set1_epi8('\n'), cr = _mm_set1_epi8('\r'),
                      cb = _mm_set1_epi8('\\');
        for (; i + 16 <= vlen; i += 16, o += 16) {
            __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(v + i));
            __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, ct), _mm_cmpeq_epi8(x, cn)),
                                     _mm_or_si128(_mm_cmpeq_epi8(x, cr), _mm_cmpeq_epi8(x, cb)));
            if (_mm_movemask_epi8(m)) break;
            _mm_storeu_si128((__m128i *)(void *)o, x);
        }
#endif
        for (; i < vlen; i++) {
            uint8_t e = props_val_esc[(unsigned char)v[i]];
            if (e) {
                *o++ = '\\';
                *o++ = (char)e;
            } else {
                *o++ = v[i];
            }
        }
        pr->len = (size_t)(o - pr->buf);
        return;
    }
    for (size_t i = 0; i < vlen; i++) {
        char c = v[i], e;
        switch (c) {
        case '\t':
            e = 't';
            break;
        case '\n':
            e = 'n';
            break;
        case '\r':
            e = 'r';
            break;
        case '\\':
            e = '\\';
            break;
        default:
            if (o == end) goto overflow;
            *o++ = c;
            continue;
        }
        if (end - o < 2) goto overflow;
        *o++ = '\\';
        *o++ = e;
    }
    pr->len = (size_t)(o - pr->buf);
    return;
overflow:
    pr->overflow = true; /* pr->len unchanged: the partial pair is dropped */
}

void dsm_props_commit(struct dsm_props *pr, struct strm_event *ev, struct strm_arena *arena)
{
    if (pr->len == 0) return;
    struct strm_str s = strm_arena_strdup(arena, pr->buf, pr->len);
    if (s.p) ev->properties = s;
}

bool dsm_props_get(struct strm_str props, const char *key, char *out, size_t outlen)
{
    if (!props.p || !key || !out || outlen == 0) return false;
    size_t klen = strlen(key);
    const char *p = props.p, *end = props.p + props.len;
    while (p < end) {
        const char *e = memchr(p, '\t', (size_t)(end - p));
        if (!e) e = end;
        if ((size_t)(e - p) > klen && memcmp(p, key, klen) == 0 && p[klen] == '=') {
            size_t o = 0;
            for (const char *q = p + klen + 1; q < e; q++) {
                char c = *q;
                if (c == '\\' && q + 1 < e) {
                    q++;
                    c = *q == 't' ? '\t' : *q == 'n' ? '\n' : *q == 'r' ? '\r' : *q;
                }
                if (o + 1 >= outlen) return false;
                out[o++] = c;
            }
            out[o] = 0;
            return true;
        }
        p = e + 1;
    }
    return false;
}

/* ---------------------------------------------------------------- search */

const char *dsm_memcasemem(const char *p, size_t len, const char *needle)
{
    if (!p || !needle) return NULL;
    size_t n = strlen(needle);
    if (n == 0) return p;
    if (n > len) return NULL;
    char f = lower(needle[0]);
    char F = (f >= 'a' && f <= 'z') ? (char)(f - 32) : f;
    for (size_t i = 0; i + n <= len; i++) {
        if (p[i] != f && p[i] != F) continue;
        size_t k = 1;
        while (k < n && lower(p[i + k]) == lower(needle[k]))
            k++;
        if (k == n) return p + i;
    }
    return NULL;
}
