/*
 * dsm_suricata.c - Suricata IDS/IPS: EVE JSON records and fast.log / syslog alert lines.
 * Also home of the pieces shared with Snort (and Zeek): the classtype table lookup, the "fast"
 * alert line parser and the JSON walker (declared in app_common.h).
 *
 * EVE: one JSON object per line, {"timestamp": "2017-04-07T22:24:37.251547+0100",
 * "event_type": "alert", "src_ip", "src_port", "dest_ip", "dest_port", "proto",
 * "alert": {"action", "gid", "signature_id", "rev", "signature", "category", "severity"}...}.
 * It may arrive bare (the syslog header did not parse) or after a syslog header (eve-log
 * filetype: syslog). Before any JSON parsing the message must start with '{' and contain the
 * key "event_type" (the generic JSON DSM comes later in the try order and must get every
 * other object). event_type picks the QID; for alerts the category (classtype description)
 * does, and alert.severity (1 high .. 3 low) sets the event severity. Protocol records (dns,
 * http, tls, ssh, fileinfo, anomaly, flow, smtp, dhcp, drop, stats) get one QID each, with
 * their key fields as properties.
 *
 * fast.log: "05/01/2024-12:00:00.123456  [**] [1:2010935:3] ET POLICY ... [**]
 * [Classification: Potential Corporate Privacy Violation] [Priority: 1] {TCP}
 * 10.0.0.1:1234 -> 10.0.0.2:80" (optionally "[Drop] " / "[wDrop] " first); the syslog alert
 * output writes the same without the time. Lines are taken under appname "suricata", or under
 * any appname when they start with a fast.log time that has a four-digit year (Snort's
 * alert_fast writes none or two digits, so the Snort DSM keeps those).
 *
 * JSON is read by a small walker of our own (dsm_app_json_collect, shared with Snort and Zeek)
 * instead of a DOM library: one pass, no allocation, the wanted paths looked up in a table;
 * jansson's per-object allocations made EVE parsing ~10x slower than the text DSMs.
 *
 * Invariants: reads stay inside ev->message; nothing is allocated outside the arena; the event
 * is touched only after the whole object was found well-formed.
 */
#include "dsm/app_common.h"

#define T DSM_T_SURICATA

enum {
    Q_FLOW = 70,
    Q_DNS,
    Q_HTTP,
    Q_TLS,
    Q_SSH,
    Q_ANOMALY,
    Q_FILEINFO,
    Q_STATS,
    Q_DROP,
    Q_SMTP,
    Q_DHCP,
};

#define SURI_CLASS(n, sn, desc, llc, sev)                                                          \
    {DSM_QID(T, n), "Suricata: " desc, "Suricata alert of classtype " sn, llc, sev},

static const struct qid_def suricata_qids[] = {
    {DSM_QID(T, IDS_CLASS_NONE), "Suricata Alert", "An alert without a known classification",
     LLC_SUSPICIOUS_ACTIVITY, 5},
    IDS_CLASSES(SURI_CLASS){DSM_QID(T, Q_FLOW), "Suricata Flow Record",
                            "EVE flow/netflow record: a flow ended", LLC_MISC_NETWORK_COMMUNICATION,
                            1},
    {DSM_QID(T, Q_DNS), "Suricata DNS Transaction", "EVE dns record", LLC_DNS_QUERY, 1},
    {DSM_QID(T, Q_HTTP), "Suricata HTTP Transaction", "EVE http record", LLC_WEB_ACCESS_ALLOWED, 1},
    {DSM_QID(T, Q_TLS), "Suricata TLS Handshake", "EVE tls record", LLC_MISC_NETWORK_COMMUNICATION,
     1},
    {DSM_QID(T, Q_SSH), "Suricata SSH Session", "EVE ssh record", LLC_SESSION_OPENED, 1},
    {DSM_QID(T, Q_ANOMALY), "Suricata Protocol Anomaly",
     "EVE anomaly record: decoder/stream/app-layer anomaly", LLC_SUSPICIOUS_PACKET, 3},
    {DSM_QID(T, Q_FILEINFO), "Suricata File Observed", "EVE fileinfo record",
     LLC_MISC_NETWORK_COMMUNICATION, 1},
    {DSM_QID(T, Q_STATS), "Suricata Engine Statistics", "EVE stats record", LLC_HEALTH_STATUS, 0},
    {DSM_QID(T, Q_DROP), "Suricata Packet Dropped", "EVE drop record: IPS dropped a packet",
     LLC_IPS_DENY, 5},
    {DSM_QID(T, Q_SMTP), "Suricata SMTP Transaction", "EVE smtp record",
     LLC_MISC_NETWORK_COMMUNICATION, 1},
    {DSM_QID(T, Q_DHCP), "Suricata DHCP Transaction", "EVE dhcp record",
     LLC_MISC_NETWORK_COMMUNICATION, 1},
    {DSM_QID_UNKNOWN(T), "Suricata Unknown Event", "A Suricata record that has no mapping",
     LLC_UNKNOWN, 3},
};

/* ---------------------------------------------------------------- shared IDS pieces */

struct ids_class {
    uint8_t n;
    const char *shortname, *desc;
};
#define CLASS_ROW(n, sn, desc, llc, sev) {n, sn, desc},
static const struct ids_class ids_classes[] = {IDS_CLASSES(CLASS_ROW)};

uint32_t dsm_app_ids_class(const char *p, size_t n)
{
    if (!p || n == 0) return IDS_CLASS_NONE;
    for (size_t i = 0; i < sizeof(ids_classes) / sizeof(ids_classes[0]); i++) {
        const struct ids_class *c = &ids_classes[i];
        if (c->desc[0] == p[0] && app_eq(p, n, c->desc)) return c->n;
        if (c->shortname[0] == p[0] && app_eq(p, n, c->shortname)) return c->n;
    }
    return IDS_CLASS_NONE;
}

bool dsm_app_ids_fast_time(const char *p, size_t n, int tz_min, int64_t ref_ms, int64_t *ms)
{
    /* mm/dd[/yy|/yyyy]-HH:MM:SS[.ffffff] */
    if (n < 14 || p[2] != '/') return false;
    int mo = app_num(p, 2), d = app_num(p + 3, 2), y;
    size_t i = 5;
    if (p[5] == '/') {
        size_t yd = 0;
        while (6 + yd < n && p[6 + yd] >= '0' && p[6 + yd] <= '9')
            yd++;
        if (yd != 2 && yd != 4) return false;
        y = app_num(p + 6, yd);
        if (yd == 2) y += 2000;
        i = 6 + yd;
    } else {
        /* no year: the receive time's year, or the one before for a date after it */
        int64_t days = (ref_ms > 0 ? ref_ms : 0) / 86400000;
        int yy = 1970;
        while (days >= (((yy % 4 == 0 && yy % 100 != 0) || yy % 400 == 0) ? 366 : 365)) {
            days -= ((yy % 4 == 0 && yy % 100 != 0) || yy % 400 == 0) ? 366 : 365;
            yy++;
        }
        y = yy;
    }
    if (i + 9 > n || p[i] != '-' || p[i + 3] != ':' || p[i + 6] != ':') return false;
    int h = app_num(p + i + 1, 2), mi = app_num(p + i + 4, 2), s = app_num(p + i + 7, 2);
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || s < 0) return false;
    int frac = 0;
    if (i + 9 < n && p[i + 9] == '.') frac = app_frac_ms(p + i + 10, n - i - 10);
    *ms = app_mktime(y, mo, d, h, mi, s, frac, tz_min);
    if (p[5] != '/' && ref_ms > 0 && *ms > ref_ms + 86400000LL)
        *ms = app_mktime(y - 1, mo, d, h, mi, s, frac, tz_min);
    return true;
}

bool dsm_app_ids_fast_parse(const char *p, size_t n, struct app_ids_fast *a)
{
    const char *end = p + n;
    memset(a, 0, sizeof(*a));
    while (p < end && *p == ' ')
        p++;
    if (p < end && *p >= '0' && *p <= '9') { /* leading time */
        const char *s = p;
        while (p < end && *p != ' ')
            p++;
        a->time = s;
        a->time_len = (size_t)(p - s);
        a->year_digits =
            (a->time_len > 5 && s[5] == '/') ? (a->time_len > 10 && s[10] == '-' ? 4 : 2) : 0;
        while (p < end && *p == ' ')
            p++;
    }
    if (app_starts(p, (size_t)(end - p), "[Drop] "))
        p += 7;
    else if (app_starts(p, (size_t)(end - p), "[wDrop] "))
        p += 8;
    if (app_starts(p, (size_t)(end - p), "[**] ")) p += 5;
    /* [gid:sid:rev] */
    if (p >= end || *p != '[') return false;
    const char *rb = memchr(p, ']', (size_t)(end - p));
    if (!rb) return false;
    const char *sid = p + 1;
    size_t sidl = (size_t)(rb - sid);
    int colons = 0;
    for (size_t i = 0; i < sidl; i++) {
        if (sid[i] == ':')
            colons++;
        else if (sid[i] < '0' || sid[i] > '9')
            return false;
    }
    if (colons != 2) return false;
    a->sid = sid;
    a->sid_len = sidl;
    p = rb + 1;
    while (p < end && *p == ' ')
        p++;
    /* message up to " [**]", " [Classification: " or " [Priority: " */
    const char *me = end;
    const char *c1 = app_find(p, (size_t)(end - p), " [**]");
    const char *c2 = app_find(p, (size_t)(end - p), " [Classification: ");
    const char *c3 = app_find(p, (size_t)(end - p), " [Priority: ");
    if (c1 && c1 < me) me = c1;
    if (c2 && c2 < me) me = c2;
    if (c3 && c3 < me) me = c3;
    if (me == end) return false;
    a->msg = p;
    a->msg_len = (size_t)(me - p);
    if (a->msg_len >= 2 && p[0] == '"' && me[-1] == '"') { /* Snort 3 quotes it */
        a->msg++;
        a->msg_len -= 2;
    }
    if (c2) {
        const char *s = c2 + 18, *e = memchr(s, ']', (size_t)(end - s));
        if (e) {
            a->cls = s;
            a->cls_len = (size_t)(e - s);
        }
    }
    if (c3) {
        const char *s = c3 + 12;
        int v = 0, k = 0;
        while (s < end && *s >= '0' && *s <= '9' && k < 3)
            v = v * 10 + (*s++ - '0'), k++;
        a->priority = v;
    }
    /* {PROTO} src -> dst */
    const char *lb = memchr(me, '{', (size_t)(end - me));
    if (lb) {
        const char *rbr = memchr(lb, '}', (size_t)(end - lb));
        if (rbr) {
            a->proto = lb + 1;
            a->proto_len = (size_t)(rbr - lb - 1);
            const char *q = rbr + 1, *t;
            size_t tl;
            if (app_tok(&q, end, &t, &tl)) {
                a->src = t, a->src_len = tl;
                if (app_tok(&q, end, &t, &tl) && app_eq(t, tl, "->") && app_tok(&q, end, &t, &tl))
                    a->dst = t, a->dst_len = tl;
            }
        }
    }
    return true;
}

void dsm_app_ids_fast_apply(const struct app_ids_fast *a, uint16_t type, struct strm_event *ev,
                            struct dsm_props *pr, const struct dsm_ctx *ctx)
{
    int64_t ms;
    if (a->time_len && dsm_app_ids_fast_time(a->time, a->time_len, ctx->tz_min, ev->starttime, &ms))
        ev->devicetime = ms;
    if (a->src_len) app_set_ip_port(&ev->sourceip, &ev->sourceport, a->src, a->src_len);
    if (a->dst_len) app_set_ip_port(&ev->destinationip, &ev->destinationport, a->dst, a->dst_len);
    if (a->proto_len) ev->protocolid = dsm_protocol(a->proto, a->proto_len);
    dsm_props_add(pr, "signature", a->msg, a->msg_len);
    dsm_props_add(pr, "sid", a->sid, a->sid_len);
    if (a->cls_len) dsm_props_add(pr, "classification", a->cls, a->cls_len);
    dsm_set_qid(ev, DSM_QID(type, dsm_app_ids_class(a->cls, a->cls_len)));
    uint8_t sev = app_ids_severity(a->priority);
    if (sev) ev->severity = sev;
    ev->devicetype = type;
}

/* ---------------------------------------------------------------- JSON walk (shared) */

#define JSON_DEPTH 16
#define JSON_PATH_OVER 255 /* path too long: members below are walked but not reported */

static const char *json_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

/* p at '"': the body and what follows the closing quote; NULL when unterminated. memchr finds
 * the candidate quote and any backslash before it (both vectorized), so plain strings cost two
 * scans; an escape restarts the search after the escaped byte. */
static const char *json_string(const char *p, const char *end, const char **s, size_t *sl,
                               bool *escaped)
{
    const char *b = ++p;
    *escaped = false;
    /* a byte loop: keys and values are short, shorter than what two memchr calls cost */
    for (;;) {
        while (p < end && *p != '"' && *p != '\\')
            p++;
        if (p >= end) return NULL;
        if (*p == '"') {
            *s = b;
            *sl = (size_t)(p - b);
            return p + 1;
        }
        *escaped = true;
        if (end - p < 2) return NULL; /* a backslash that escapes nothing */
        p += 2;                       /* skip the escaped byte (it may be the quote) */
    }
}

static void json_slot(struct app_jslots *s, const char *path, size_t plen, const struct app_jval *v)
{
    for (size_t i = 0; i < s->n; i++) {
        const struct app_jfield *f = &s->fields[i];
        if (f->path_len == plen && f->path[0] == path[0] && f->path[plen - 1] == path[plen - 1] &&
            !s->v[i].p && memcmp(f->path, path, plen) == 0) {
            s->v[i] = *v;
            return;
        }
    }
}

bool dsm_app_json_collect(const char *p, size_t n, struct app_jslots *s)
{
    const char *end = p + n;
    char path[160];
    struct {
        char close;
        uint8_t plen;
    } st[JSON_DEPTH];
    int sp = 0, state = 0; /* 0 after an opening bracket, 1 after a comma, 2 after a value */
    memset(s->v, 0, sizeof(s->v[0]) * (s->n < APP_JSON_MAX_FIELDS ? s->n : APP_JSON_MAX_FIELDS));
    if (s->n > APP_JSON_MAX_FIELDS) return false;
    p = json_ws(p, end);
    if (p >= end || *p != '{') return false;
    st[sp].close = '}';
    st[sp].plen = 0;
    sp++;
    p++;
    while (sp > 0) {
        p = json_ws(p, end);
        if (p >= end) return false;
        char c = *p;
        if (state == 2) {
            if (c == ',') {
                p++;
                state = 1;
            } else if (c == st[sp - 1].close) {
                p++;
                sp--;
            } else {
                return false;
            }
            continue;
        }
        if (state == 0 && c == st[sp - 1].close) {
            p++;
            sp--;
            state = 2;
            continue;
        }
        size_t plen = st[sp - 1].plen;
        if (st[sp - 1].close == '}') { /* "key": */
            const char *k;
            size_t kl;
            bool kesc;
            if (c != '"' || !(p = json_string(p, end, &k, &kl, &kesc))) return false;
            p = json_ws(p, end);
            if (p >= end || *p != ':') return false;
            p = json_ws(p + 1, end);
            if (p >= end) return false;
            if (plen != JSON_PATH_OVER) {
                size_t np = plen + (plen ? 1 : 0) + kl;
                if (np < sizeof(path) && np < JSON_PATH_OVER) {
                    if (plen) path[plen] = '.';
                    memcpy(path + plen + (plen ? 1 : 0), k, kl);
                    plen = np;
                } else {
                    plen = JSON_PATH_OVER;
                }
            }
            c = *p;
        }
        if (c == '{' || c == '[') {
            if (sp == JSON_DEPTH) return false;
            st[sp].close = c == '{' ? '}' : ']';
            st[sp].plen = (uint8_t)plen;
            sp++;
            p++;
            state = 0;
            continue;
        }
        struct app_jval v = {0};
        if (c == '"') {
            const char *b;
            size_t bl;
            bool esc;
            if (!(p = json_string(p, end, &b, &bl, &esc))) return false;
            v.p = b;
            v.n = (uint32_t)bl;
            v.type = APP_J_STR;
            v.escaped = esc;
        } else if (c == '-' || (c >= '0' && c <= '9')) {
            const char *b = p;
            bool digit = false;
            while (p < end && ((*p >= '0' && *p <= '9') || *p == '-' || *p == '+' || *p == '.' ||
                               *p == 'e' || *p == 'E')) {
                digit |= *p >= '0' && *p <= '9';
                p++;
            }
            if (!digit) return false;
            v.p = b;
            v.n = (uint32_t)(p - b);
            v.type = APP_J_NUM;
        } else if (end - p >= 4 && memcmp(p, "true", 4) == 0) {
            v.p = p, v.n = 4, v.type = APP_J_TRUE, p += 4;
        } else if (end - p >= 5 && memcmp(p, "false", 5) == 0) {
            v.p = p, v.n = 5, v.type = APP_J_FALSE, p += 5;
        } else if (end - p >= 4 && memcmp(p, "null", 4) == 0) {
            v.p = p, v.n = 4, v.type = APP_J_NULL, p += 4;
        } else {
            return false;
        }
        if (plen && plen != JSON_PATH_OVER) json_slot(s, path, plen, &v);
        state = 2;
    }
    return true; /* trailing text after the object is ignored */
}

static int hex4(const char *p)
{
    int v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= c - '0';
        else if (c >= 'a' && c <= 'f')
            v |= c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            v |= c - 'A' + 10;
        else
            return -1;
    }
    return v;
}

size_t dsm_app_json_unescape(const char *p, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o < cap;) {
        char c = p[i];
        if (c != '\\' || i + 1 >= n) {
            out[o++] = c;
            i++;
            continue;
        }
        char e = p[i + 1];
        i += 2;
        switch (e) {
        case 'n':
            out[o++] = '\n';
            break;
        case 't':
            out[o++] = '\t';
            break;
        case 'r':
            out[o++] = '\r';
            break;
        case 'b':
            out[o++] = '\b';
            break;
        case 'f':
            out[o++] = '\f';
            break;
        case 'u': {
            long cp = i + 4 <= n ? hex4(p + i) : -1;
            if (cp < 0) {
                out[o++] = '?';
                break;
            }
            i += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF && i + 6 <= n && p[i] == '\\' && p[i + 1] == 'u') {
                long lo = hex4(p + i + 2);
                if (lo >= 0xDC00 && lo <= 0xDFFF) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    i += 6;
                }
            }
            char u[4];
            size_t k;
            if (cp < 0x80) {
                u[0] = (char)cp, k = 1;
            } else if (cp < 0x800) {
                u[0] = (char)(0xC0 | (cp >> 6)), u[1] = (char)(0x80 | (cp & 0x3F)), k = 2;
            } else if (cp < 0x10000) {
                u[0] = (char)(0xE0 | (cp >> 12)), u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
                u[2] = (char)(0x80 | (cp & 0x3F)), k = 3;
            } else {
                u[0] = (char)(0xF0 | (cp >> 18)), u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
                u[2] = (char)(0x80 | ((cp >> 6) & 0x3F)), u[3] = (char)(0x80 | (cp & 0x3F));
                k = 4;
            }
            if (o + k > cap) return o;
            memcpy(out + o, u, k);
            o += k;
            break;
        }
        default:
            out[o++] = e;
            break; /* \" \\ \/ and anything else verbatim */
        }
    }
    return o;
}

void dsm_app_json_props(const struct app_jslots *s, struct dsm_props *pr)
{
    char buf[1024];
    for (size_t i = 0; i < s->n; i++) {
        const char *p;
        size_t n;
        if (s->fields[i].prop && app_jstr(s, i, buf, sizeof buf, &p, &n))
            dsm_props_add(pr, s->fields[i].prop, p, n);
    }
}

/* ---------------------------------------------------------------- EVE */

enum {
    F_TS,
    F_ET,
    F_SRC,
    F_SPORT,
    F_DST,
    F_DPORT,
    F_PROTO,
    F_A_CAT,
    F_A_SEV,
    F_DNS_NAME,
    F_DNS3_NAME,
    F_DNS3_TYPE,
};

/* Paths read from an EVE record; the ones with a property name become properties. */
static const struct app_jfield eve_fields[] = {
    [F_TS] = APP_JF("timestamp", NULL),
    [F_ET] = APP_JF("event_type", "event_type"),
    [F_SRC] = APP_JF("src_ip", NULL),
    [F_SPORT] = APP_JF("src_port", NULL),
    [F_DST] = APP_JF("dest_ip", NULL),
    [F_DPORT] = APP_JF("dest_port", NULL),
    [F_PROTO] = APP_JF("proto", NULL),
    [F_A_CAT] = APP_JF("alert.category", "classification"),
    [F_A_SEV] = APP_JF("alert.severity", "ids_severity"),
    [F_DNS_NAME] = APP_JF("dns.rrname", "query"),
    [F_DNS3_NAME] = APP_JF("dns.queries.rrname", NULL), /* EVE dns version 3 */
    [F_DNS3_TYPE] = APP_JF("dns.queries.rrtype", NULL),
    APP_JF("app_proto", "app_proto"),
    APP_JF("flow_id", "flow_id"),
    APP_JF("in_iface", "interface"),
    APP_JF("alert.signature", "signature"),
    APP_JF("alert.signature_id", "signature_id"),
    APP_JF("alert.action", "action"),
    APP_JF("dns.type", "dns_type"),
    APP_JF("dns.rrtype", "qtype"),
    APP_JF("dns.rcode", "rcode"),
    APP_JF("http.hostname", "host"),
    APP_JF("http.url", "url"),
    APP_JF("http.http_method", "method"),
    APP_JF("http.status", "status"),
    APP_JF("http.http_user_agent", "user_agent"),
    APP_JF("http.length", "bytes"),
    APP_JF("tls.sni", "server_name"),
    APP_JF("tls.version", "tls_version"),
    APP_JF("tls.subject", "subject"),
    APP_JF("ssh.client.software_version", "client_software"),
    APP_JF("ssh.server.software_version", "server_software"),
    APP_JF("anomaly.type", "anomaly_type"),
    APP_JF("anomaly.event", "anomaly"),
    APP_JF("anomaly.layer", "layer"),
    APP_JF("fileinfo.filename", "filename"),
    APP_JF("fileinfo.size", "size"),
    APP_JF("fileinfo.sha256", "sha256"),
    APP_JF("flow.state", "state"),
    APP_JF("flow.reason", "reason"),
    APP_JF("flow.bytes_toserver", "bytes_toserver"),
    APP_JF("flow.bytes_toclient", "bytes_toclient"),
    APP_JF("smtp.helo", "helo"),
    APP_JF("smtp.mail_from", "from"),
    APP_JF("dhcp.assigned_ip", "assigned_ip"),
    APP_JF("dhcp.client_mac", "client_mac"),
};

static const struct {
    const char *type;
    uint32_t n;
} eve_types[] = {
    {"flow", Q_FLOW},   {"netflow", Q_FLOW}, {"dns", Q_DNS},         {"http", Q_HTTP},
    {"tls", Q_TLS},     {"ssh", Q_SSH},      {"anomaly", Q_ANOMALY}, {"fileinfo", Q_FILEINFO},
    {"stats", Q_STATS}, {"drop", Q_DROP},    {"smtp", Q_SMTP},       {"dhcp", Q_DHCP},
};

static bool parse_eve(struct strm_event *ev, struct strm_arena *arena, const struct dsm_ctx *ctx,
                      const char *m, size_t n)
{
    struct app_jslots s;
    s.fields = eve_fields;
    s.n = sizeof(eve_fields) / sizeof(eve_fields[0]);
    if (!dsm_app_json_collect(m, n, &s)) return false;
    char buf[256];
    const char *et, *p;
    size_t etl, l;
    if (!app_jstr(&s, F_ET, buf, sizeof buf, &et, &etl) || etl == 0) return false;
    uint32_t qid = DSM_QID_UNKNOWN(T);
    if (app_eq(et, etl, "alert")) {
        qid = DSM_QID(T, app_jstr(&s, F_A_CAT, buf, sizeof buf, &p, &l) ? dsm_app_ids_class(p, l)
                                                                        : IDS_CLASS_NONE);
    } else {
        for (size_t i = 0; i < sizeof(eve_types) / sizeof(eve_types[0]); i++)
            if (app_eq(et, etl, eve_types[i].type)) {
                qid = DSM_QID(T, eve_types[i].n);
                break;
            }
    }
    int64_t ms;
    if (app_jstr(&s, F_TS, buf, sizeof buf, &p, &l) &&
        dsm_parse_time(DSM_TIME_ISO8601, p, l, ctx->tz_min, &ms))
        ev->devicetime = ms;
    if (app_jstr(&s, F_SRC, buf, sizeof buf, &p, &l)) dsm_set_ip(&ev->sourceip, p, l);
    if (app_jstr(&s, F_DST, buf, sizeof buf, &p, &l)) dsm_set_ip(&ev->destinationip, p, l);
    uint64_t u;
    if (app_juint(&s, F_SPORT, 65535, &u)) ev->sourceport = (uint16_t)u;
    if (app_juint(&s, F_DPORT, 65535, &u)) ev->destinationport = (uint16_t)u;
    if (app_jstr(&s, F_PROTO, buf, sizeof buf, &p, &l)) ev->protocolid = dsm_protocol(p, l);
    struct dsm_props pr;
    dsm_props_init(&pr);
    dsm_app_json_props(&s, &pr);
    if (!s.v[F_DNS_NAME].p && app_jstr(&s, F_DNS3_NAME, buf, sizeof buf, &p, &l)) {
        dsm_props_add(&pr, "query", p, l);
        if (app_jstr(&s, F_DNS3_TYPE, buf, sizeof buf, &p, &l)) dsm_props_add(&pr, "qtype", p, l);
    }
    dsm_props_commit(&pr, ev, arena);
    dsm_set_qid(ev, qid);
    uint8_t sev = app_juint(&s, F_A_SEV, 9, &u) ? app_ids_severity((int)u) : 0;
    if (sev) ev->severity = sev;
    ev->devicetype = T;
    return true;
}

/* ---------------------------------------------------------------- parse */

static bool suricata_parse(struct strm_event *ev, struct strm_arena *arena,
                           const struct dsm_ctx *ctx)
{
    const char *m = ev->message.p;
    size_t n = ev->message.len;
    if (!m || n < 2) return false;
    while (n && *m == ' ')
        m++, n--;
    if (n && m[0] == '{') {
        if (!app_find(m, n, "\"event_type\"")) return false;
        return parse_eve(ev, arena, ctx, m, n);
    }
    bool by_app = app_appname_is(ev, "suricata");
    if (!by_app && !(n > 20 && m[2] == '/' && m[5] == '/' && m[10] == '-')) return false;
    struct app_ids_fast a;
    if (!dsm_app_ids_fast_parse(m, n, &a)) {
        if (!by_app) return false;
        dsm_set_qid(ev, DSM_QID_UNKNOWN(T));
        ev->devicetype = T;
        return true;
    }
    if (!by_app && a.year_digits != 4) return false;
    struct dsm_props pr;
    dsm_props_init(&pr);
    if (app_starts(m, n, "[Drop]") || app_find(m, a.sid - m, "[Drop] "))
        dsm_props_add(&pr, "action", "drop", 4);
    dsm_app_ids_fast_apply(&a, T, ev, &pr, ctx);
    dsm_props_commit(&pr, ev, arena);
    return true;
}

const struct dsm_def dsm_suricata = {
    .name = "suricata",
    .display = "Suricata",
    .type_id = T,
    .qids = suricata_qids,
    .n_qids = sizeof(suricata_qids) / sizeof(suricata_qids[0]),
    .init = NULL,
    .parse = suricata_parse,
};
