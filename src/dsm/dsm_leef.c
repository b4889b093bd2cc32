/*
 * dsm_leef.c - the generic LEEF DSM (IBM Log Event Extended Format 1.0 and 2.0) for any
 * product that sends LEEF and has no DSM of its own.
 *
 * Recognized: "LEEF:1.0|" or "LEEF:2.0|" within the first LEEF_SCAN bytes of the payload
 * and a complete header (dsm_leef_header: vendor, product, version, event id, and for 2.0
 * the attribute delimiter). As with CEF the syslog parser takes "LEEF" for the tag, so the
 * payload is searched.
 *
 * Predefined LEEF attributes mapped to columns: src, dst, srcPort, dstPort, proto, usrName,
 * srcMAC, dstMAC, srcPreNAT/dstPreNAT/srcPostNAT/dstPostNAT and their ...Port forms, sev
 * (1-10, the event's severity), devTime read with devTimeFormat (a Java SimpleDateFormat
 * pattern; interpreted here for the letters y M d H h a m s S z Z X and quoted literals;
 * without a format: epoch ms, "MMM dd yyyy HH:mm:ss", ISO 8601). cat, identHostName,
 * policy and the rest become properties under their own names; the header's vendor,
 * product and event id are stored as leef.vendor, leef.product, leef.eventid.
 *
 * QIDs by severity band as for CEF: Low (sev 0-3), Medium (4-6), High (7-8), Very-High
 * (9-10), and "LEEF Event" when there is no sev attribute; an unreadable sev gives the
 * unknown QID.
 */
#include "dsm/dsm_priv.h"

#include <string.h>

#define LEEF_SCAN 512

enum {
    LEEF_QID_LOW = 1,
    LEEF_QID_MEDIUM = 2,
    LEEF_QID_HIGH = 3,
    LEEF_QID_VERY_HIGH = 4,
    LEEF_QID_EVENT = 5,
};

static const struct qid_def leef_qids[] = {
    {DSM_QID(DSM_T_LEEF, LEEF_QID_LOW), "LEEF Low Severity Event",
     "A LEEF event with sev 0-3 from a product without its own DSM", LLC_UNKNOWN, 2},
    {DSM_QID(DSM_T_LEEF, LEEF_QID_MEDIUM), "LEEF Medium Severity Event",
     "A LEEF event with sev 4-6 from a product without its own DSM", LLC_UNKNOWN, 5},
    {DSM_QID(DSM_T_LEEF, LEEF_QID_HIGH), "LEEF High Severity Event",
     "A LEEF event with sev 7-8 from a product without its own DSM", LLC_UNKNOWN, 7},
    {DSM_QID(DSM_T_LEEF, LEEF_QID_VERY_HIGH), "LEEF Very-High Severity Event",
     "A LEEF event with sev 9-10 from a product without its own DSM", LLC_UNKNOWN, 9},
    {DSM_QID(DSM_T_LEEF, LEEF_QID_EVENT), "LEEF Event",
     "A LEEF event without a sev attribute from a product without its own DSM", LLC_UNKNOWN, 3},
    {DSM_QID_UNKNOWN(DSM_T_LEEF), "LEEF Unknown Event",
     "A LEEF event whose sev attribute is not a number from 0 to 10", LLC_UNKNOWN, 3},
};

/* ---------------------------------------------------------------- devTimeFormat */

static int month_of(const char *p, size_t n)
{
    static const char names[] = "janfebmaraprmayjunjulaugsepoctnovdec";
    if (n < 3) return -1;
    char a[3];
    for (int i = 0; i < 3; i++)
        a[i] = (p[i] >= 'A' && p[i] <= 'Z') ? (char)(p[i] + 32) : p[i];
    for (int i = 0; i < 12; i++)
        if (memcmp(names + i * 3, a, 3) == 0) return i + 1;
    return -1;
}

/* Reads up to max digits (at least min). */
static bool rd_num(const char **p, const char *end, int min, int max, int *out)
{
    int v = 0, n = 0;
    while (*p < end && n < max && **p >= '0' && **p <= '9') {
        v = v * 10 + (**p - '0');
        (*p)++;
        n++;
    }
    *out = v;
    return n >= min;
}

/*
 * Parses v with a SimpleDateFormat pattern. Supported letters: yyyy/yy, M/MM/MMM/MMMM, d/dd,
 * H/HH, h/hh with a, m/mm, s/ss, S..SSS, z (UTC/GMT or a +hh:mm offset), Z/X/XX/XXX.
 * Others (E, day names) are skipped as a word. Returns false on any mismatch.
 */
static bool leef_time_fmt(const char *fmt, size_t flen, const char *v, size_t vlen, int tz_min,
                          int64_t *ms)
{
    const char *p = v, *end = v + vlen;
    int y = -1, mo = 1, d = 1, h = 0, mi = 0, s = 0, frac = 0, off = tz_min, pm = -1;
    size_t i = 0;
    while (i < flen) {
        char c = fmt[i];
        size_t run = 1;
        while (i + run < flen && fmt[i + run] == c)
            run++;
        if (c == '\'') {
            size_t j = i + 1;
            while (j < flen && fmt[j] != '\'') {
                if (p >= end || *p != fmt[j]) return false;
                p++;
                j++;
            }
            i = j + 1;
            continue;
        }
        int n = (int)run, val;
        switch (c) {
        case 'y':
            if (!rd_num(&p, end, n == 2 ? 2 : 4, n == 2 ? 2 : 4, &val)) return false;
            y = n == 2 ? 2000 + val : val;
            break;
        case 'M':
            if (n >= 3) {
                mo = month_of(p, (size_t)(end - p));
                if (mo < 0) return false;
                p += 3;
                while (n > 3 && p < end && ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
                    p++;
            } else if (!rd_num(&p, end, 1, 2, &mo)) {
                return false;
            }
            break;
        case 'd':
            if (p < end && *p == ' ' && n == 2) p++; /* space-padded day */
            if (!rd_num(&p, end, 1, 2, &d)) return false;
            break;
        case 'H':
        case 'k':
            if (!rd_num(&p, end, 1, 2, &h)) return false;
            break;
        case 'h':
        case 'K':
            if (!rd_num(&p, end, 1, 2, &h)) return false;
            break;
        case 'a':
            if (end - p < 2) return false;
            pm = (p[0] == 'P' || p[0] == 'p') ? 1 : 0;
            p += 2;
            break;
        case 'm':
            if (!rd_num(&p, end, 1, 2, &mi)) return false;
            break;
        case 's':
            if (!rd_num(&p, end, 1, 2, &s)) return false;
            break;
        case 'S': {
            const char *st = p;
            if (!rd_num(&p, end, 1, 9, &frac)) return false;
            int digits = (int)(p - st);
            while (digits > 3) {
                frac /= 10;
                digits--;
            }
            while (digits < 3) {
                frac *= 10;
                digits++;
            }
            break;
        }
        case 'z':
        case 'Z':
        case 'X': {
            if (p < end && (*p == 'Z' || *p == 'z')) {
                off = 0;
                p++;
                break;
            }
            if (end - p >= 3 && (memcmp(p, "UTC", 3) == 0 || memcmp(p, "GMT", 3) == 0)) {
                off = 0;
                p += 3;
                if (p >= end || (*p != '+' && *p != '-')) break;
            }
            if (p >= end || (*p != '+' && *p != '-')) return false;
            int sign = *p == '-' ? -1 : 1, oh, om = 0;
            p++;
            if (!rd_num(&p, end, 2, 2, &oh)) return false;
            if (p < end && *p == ':') p++;
            if (p < end && *p >= '0' && *p <= '9' && !rd_num(&p, end, 2, 2, &om)) return false;
            off = sign * (oh * 60 + om);
            break;
        }
        case 'E':
            while (p < end && ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
                p++;
            break;
        default:
            if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return false;
            for (size_t k = 0; k < run; k++) {
                if (p >= end || *p != c) return false;
                p++;
            }
        }
        i += run;
    }
    if (p != end || y < 0) return false;
    if (pm >= 0) {
        if (h < 1 || h > 12) return false;
        h = h % 12 + (pm ? 12 : 0);
    }
    /* Reuse the ISO parser for validation and arithmetic. */
    char iso[48];
    int sign = off < 0 ? '-' : '+';
    int ao = off < 0 ? -off : off;
    int n = snprintf(iso, sizeof iso, "%04d-%02d-%02dT%02d:%02d:%02d.%03d%c%02d:%02d", y, mo, d, h,
                     mi, s, frac, sign, ao / 60, ao % 60);
    if (n <= 0 || (size_t)n >= sizeof iso) return false;
    return dsm_parse_time(DSM_TIME_ISO8601, iso, (size_t)n, 0, ms);
}

static bool leef_time_default(const char *v, size_t vlen, int tz_min, int64_t *ms)
{
    return dsm_parse_time(DSM_TIME_EPOCH, v, vlen, tz_min, ms) ||
           dsm_parse_time(DSM_TIME_MON_D_Y_HMS, v, vlen, tz_min, ms) ||
           dsm_parse_time(DSM_TIME_ISO8601, v, vlen, tz_min, ms) ||
           dsm_parse_time(DSM_TIME_YMD_HMS, v, vlen, tz_min, ms);
}

/* ---------------------------------------------------------------- attributes */

struct leef_fill {
    struct dsm_props props;
    struct strm_event *ev;
    struct strm_arena *arena;
    const struct dsm_ctx *ctx;
    const char *time, *time_fmt;
    size_t time_len, time_fmt_len;
    int sev; /* -1 none, -2 unreadable */
};

static bool key_is(const char *k, size_t klen, const char *name)
{
    size_t n = strlen(name);
    return klen == n && memcmp(k, name, n) == 0;
}

static bool leef_field(const char *k, size_t klen, const char *v, size_t vlen, void *arg)
{
    struct leef_fill *f = arg;
    struct strm_event *ev = f->ev;
    bool used = false;
    if (key_is(k, klen, "src"))
        used = dsm_set_ip(&ev->sourceip, v, vlen);
    else if (key_is(k, klen, "dst"))
        used = dsm_set_ip(&ev->destinationip, v, vlen);
    else if (key_is(k, klen, "srcPort"))
        used = dsm_set_port(&ev->sourceport, v, vlen);
    else if (key_is(k, klen, "dstPort"))
        used = dsm_set_port(&ev->destinationport, v, vlen);
    else if (key_is(k, klen, "proto")) {
        uint8_t p = dsm_protocol(v, vlen);
        if (p) {
            ev->protocolid = p;
            used = true;
        }
    } else if (key_is(k, klen, "usrName")) {
        if (vlen) {
            dsm_set_str(&ev->username, f->arena, v, vlen);
            used = true;
        }
    } else if (key_is(k, klen, "srcMAC"))
        used = dsm_set_mac(ev->sourcemac, v, vlen);
    else if (key_is(k, klen, "dstMAC"))
        used = dsm_set_mac(ev->destinationmac, v, vlen);
    else if (key_is(k, klen, "srcPreNAT"))
        used = dsm_set_ip(&ev->prenatsourceip, v, vlen);
    else if (key_is(k, klen, "dstPreNAT"))
        used = dsm_set_ip(&ev->prenatdestinationip, v, vlen);
    else if (key_is(k, klen, "srcPostNAT"))
        used = dsm_set_ip(&ev->postnatsourceip, v, vlen);
    else if (key_is(k, klen, "dstPostNAT"))
        used = dsm_set_ip(&ev->postnatdestinationip, v, vlen);
    else if (key_is(k, klen, "srcPreNATPort"))
        used = dsm_set_port(&ev->prenatsourceport, v, vlen);
    else if (key_is(k, klen, "dstPreNATPort"))
        used = dsm_set_port(&ev->prenatdestinationport, v, vlen);
    else if (key_is(k, klen, "srcPostNATPort"))
        used = dsm_set_port(&ev->postnatsourceport, v, vlen);
    else if (key_is(k, klen, "dstPostNATPort"))
        used = dsm_set_port(&ev->postnatdestinationport, v, vlen);
    else if (key_is(k, klen, "devTime")) {
        f->time = v;
        f->time_len = vlen;
        used = true;
    } else if (key_is(k, klen, "devTimeFormat")) {
        f->time_fmt = v;
        f->time_fmt_len = vlen;
        used = true;
    } else if (key_is(k, klen, "sev")) {
        uint64_t s;
        f->sev = dsm_parse_uint(v, vlen, 10, &s) ? (int)s : -2;
        used = f->sev >= 0;
    }
    if (used) return true;
    char key[64];
    size_t n = klen < sizeof key - 1 ? klen : sizeof key - 1;
    memcpy(key, k, n);
    key[n] = 0;
    dsm_props_add(&f->props, key, v, vlen);
    return true;
}

static bool leef_parse(struct strm_event *ev, struct strm_arena *arena, const struct dsm_ctx *ctx)
{
    const char *p = ev->payload.p;
    size_t len = ev->payload.len;
    if (!p || len < 14) return false;
    size_t lim = len < LEEF_SCAN ? len : LEEF_SCAN;
    const char *c = memchr(p, 'L', lim);
    while (c && (size_t)(p + lim - c) >= 5 && memcmp(c, "LEEF:", 5) != 0)
        c = memchr(c + 1, 'L', (size_t)(p + lim - c - 1));
    if (!c || (size_t)(p + lim - c) < 5) return false;
    struct dsm_leef h;
    if (!dsm_leef_header(c, len - (size_t)(c - p), &h)) return false;

    struct leef_fill f;
    dsm_props_init(&f.props);
    f.ev = ev;
    f.arena = arena;
    f.ctx = ctx;
    f.time = f.time_fmt = NULL;
    f.time_len = f.time_fmt_len = 0;
    f.sev = -1;
    dsm_props_add(&f.props, "leef.vendor", h.vendor.p, h.vendor.len);
    dsm_props_add(&f.props, "leef.product", h.product.p, h.product.len);
    dsm_props_add(&f.props, "leef.eventid", h.event_id.p, h.event_id.len);
    dsm_leef_scan(&h, leef_field, &f);
    if (f.time) {
        int64_t ms = 0;
        bool ok = f.time_fmt ? leef_time_fmt(f.time_fmt, f.time_fmt_len, f.time, f.time_len,
                                             ctx->tz_min, &ms)
                             : false;
        if (!ok) ok = leef_time_default(f.time, f.time_len, ctx->tz_min, &ms);
        if (ok)
            ev->devicetime = ms;
        else
            dsm_props_add(&f.props, "devTime", f.time, f.time_len);
    }
    uint32_t qid = f.sev == -1   ? DSM_QID(DSM_T_LEEF, LEEF_QID_EVENT)
                   : f.sev == -2 ? DSM_QID_UNKNOWN(DSM_T_LEEF)
                   : f.sev <= 3  ? DSM_QID(DSM_T_LEEF, LEEF_QID_LOW)
                   : f.sev <= 6  ? DSM_QID(DSM_T_LEEF, LEEF_QID_MEDIUM)
                   : f.sev <= 8  ? DSM_QID(DSM_T_LEEF, LEEF_QID_HIGH)
                                 : DSM_QID(DSM_T_LEEF, LEEF_QID_VERY_HIGH);
    dsm_set_qid(ev, qid);
    if (f.sev >= 0) ev->severity = (uint8_t)f.sev;
    dsm_props_commit(&f.props, ev, arena);
    ev->devicetype = DSM_T_LEEF;
    return true;
}

const struct dsm_def dsm_leef = {
    .name = "leef",
    .display = "Universal LEEF",
    .type_id = DSM_T_LEEF,
    .qids = leef_qids,
    .n_qids = sizeof leef_qids / sizeof leef_qids[0],
    .init = NULL,
    .parse = leef_parse,
};
