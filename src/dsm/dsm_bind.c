/*
 * dsm_bind.c - ISC BIND 9 (named): query log, security denials, zone transfers, dynamic
 * updates, lame servers, response rate limiting and server start/stop, as named sends them to
 * syslog (appname "named").
 *
 * Most messages about a request start with the client part
 *   client @0x7f3a2c001234 10.0.0.5#53211 (example.com): [view NAME: ]TEXT
 * (older releases omit "@0x..." and the "(name)"); with print-category/print-severity the
 * message is led by "queries: info: ". The TEXT then says what happened:
 *   query: example.com IN A +E(0)K (10.0.0.1)          -> DNS query (name, class, type, flags,
 *                                                         the server address it arrived on)
 *   query (cache) 'example.com/A/IN' denied            -> query denied (allow-query)
 *   zone transfer 'example.com/AXFR/IN' denied         -> transfer denied (allow-transfer)
 *   transfer of 'example.com/IN': AXFR started|ended   -> outgoing transfer
 *   update 'example.com/IN' denied                     -> dynamic update denied
 *   updating zone 'example.com/IN': adding an RR ...   -> dynamic update applied
 *   rate limit drop|slip response to 10.0.0.0/24 ...   -> RRL
 * and server messages carry no client part ("lame server resolving ...", "transfer of
 * 'zone/IN' from 1.2.3.4#53: Transfer completed", "zone x/IN: loaded serial N", "starting
 * BIND ...", "exiting", "received control channel command ...", "refused notify ...",
 * "notify question section contains no SOA", "DNS format error from ...", "error (network
 * unreachable) resolving 'name/A/IN': ...").
 * Only appname "named" is taken (or a log source typed BIND); unmatched named text gets the
 * unknown QID. The syslog header's time is the device time (named writes none of its own).
 *
 * Invariants: reads stay inside ev->message; strings point into it; no allocation.
 */
#include "dsm/app_common.h"

#define T DSM_T_BIND

enum {
    Q_QUERY = 1,
    Q_QUERY_DENIED,
    Q_XFR_DENIED,
    Q_XFR_STARTED,
    Q_XFR_ENDED,
    Q_XFR_IN_DONE,
    Q_UPDATE_DENIED,
    Q_UPDATE,
    Q_LAME,
    Q_RATE_LIMIT,
    Q_STARTED,
    Q_STOPPED,
    Q_ZONE_LOADED,
    Q_CONTROL,
    Q_NOTIFY_REFUSED,
    Q_NOTIFY_MALFORMED,
    Q_RESOLVE_ERROR,
    Q_FORMERR,
};

static const struct qid_def bind_qids[] = {
    {DSM_QID(T, Q_QUERY), "BIND DNS Query", "A client sent a query (query log)", LLC_DNS_QUERY, 1},
    {DSM_QID(T, Q_QUERY_DENIED), "BIND DNS Query Denied",
     "A query was refused by allow-query / allow-query-cache / allow-recursion", LLC_ACCESS_DENIED,
     4},
    {DSM_QID(T, Q_XFR_DENIED), "BIND Zone Transfer Denied",
     "A zone transfer request was refused by allow-transfer", LLC_DNS_RECON, 5},
    {DSM_QID(T, Q_XFR_STARTED), "BIND Zone Transfer Started",
     "An outgoing AXFR/IXFR to a client started", LLC_ACCESS_PERMITTED, 2},
    {DSM_QID(T, Q_XFR_ENDED), "BIND Zone Transfer Ended", "An outgoing AXFR/IXFR ended",
     LLC_ACCESS_PERMITTED, 2},
    {DSM_QID(T, Q_XFR_IN_DONE), "BIND Zone Transfer Received",
     "An incoming zone transfer from a primary completed", LLC_SYSTEM_INFORMATION, 1},
    {DSM_QID(T, Q_UPDATE_DENIED), "BIND Dynamic Update Denied",
     "A dynamic update was refused by allow-update / update-policy", LLC_ACCESS_DENIED, 5},
    {DSM_QID(T, Q_UPDATE), "BIND Dynamic Update Applied", "A dynamic update changed a zone",
     LLC_SYSTEM_CONFIGURATION, 3},
    {DSM_QID(T, Q_LAME), "BIND Lame Server", "A delegated server is not authoritative (lame)",
     LLC_MISC_SYSTEM, 2},
    {DSM_QID(T, Q_RATE_LIMIT), "BIND Response Rate Limited",
     "Response rate limiting dropped or truncated (slipped) a response", LLC_RATE_LIMITING, 4},
    {DSM_QID(T, Q_STARTED), "BIND Server Started", "named is starting", LLC_SERVICE_STARTED, 1},
    {DSM_QID(T, Q_STOPPED), "BIND Server Stopped", "named is shutting down / exiting",
     LLC_SERVICE_STOPPED, 3},
    {DSM_QID(T, Q_ZONE_LOADED), "BIND Zone Loaded", "A zone was loaded", LLC_SYSTEM_INFORMATION, 1},
    {DSM_QID(T, Q_CONTROL), "BIND Control Command", "rndc sent a control channel command",
     LLC_SYSTEM_CONFIGURATION, 2},
    {DSM_QID(T, Q_NOTIFY_REFUSED), "BIND Notify Refused",
     "A NOTIFY from a server that is not a primary of the zone was refused", LLC_ACCESS_DENIED, 3},
    {DSM_QID(T, Q_NOTIFY_MALFORMED), "BIND Malformed Notify",
     "A NOTIFY arrived without an SOA in its question section", LLC_DNS_PROTOCOL_ANOMALY, 3},
    {DSM_QID(T, Q_RESOLVE_ERROR), "BIND Resolution Error",
     "Recursive resolution failed (unreachable, timed out, unexpected RCODE)", LLC_MISC_SYSTEM, 2},
    {DSM_QID(T, Q_FORMERR), "BIND DNS Format Error", "A server answered with a malformed response",
     LLC_DNS_PROTOCOL_ANOMALY, 3},
    {DSM_QID_UNKNOWN(T), "BIND Unknown Event", "A named message that has no mapping", LLC_UNKNOWN,
     3},
};

/* 'name/TYPE/CLASS' or 'name/CLASS' at q -> properties. */
static void quoted_name(const char *q, const char *end, struct dsm_props *pr, bool three)
{
    const char *s = memchr(q, '\'', (size_t)(end - q));
    if (!s) return;
    s++;
    const char *e = memchr(s, '\'', (size_t)(end - s));
    if (!e) return;
    const char *sl1 = memchr(s, '/', (size_t)(e - s));
    if (!sl1) {
        dsm_props_add(pr, "dns_name", s, (size_t)(e - s));
        return;
    }
    dsm_props_add(pr, three ? "dns_name" : "zone", s, (size_t)(sl1 - s));
    const char *sl2 = memchr(sl1 + 1, '/', (size_t)(e - sl1 - 1));
    if (three && sl2) {
        dsm_props_add(pr, "dns_type", sl1 + 1, (size_t)(sl2 - sl1 - 1));
        dsm_props_add(pr, "dns_class", sl2 + 1, (size_t)(e - sl2 - 1));
    } else {
        dsm_props_add(pr, "dns_class", sl1 + 1, (size_t)(e - sl1 - 1));
    }
}

/* "ip#port" -> ip and port. */
static bool ip_hash_port(const char *p, size_t n, struct strm_ip *ip, uint16_t *port)
{
    const char *h = memchr(p, '#', n);
    if (!h) return dsm_set_ip(ip, p, n);
    if (!dsm_set_ip(ip, p, (size_t)(h - p))) return false;
    dsm_set_port(port, h + 1, (size_t)(p + n - h - 1));
    return true;
}

/* Skips "category: severity: " prefixes (print-category / print-severity). */
static const char *skip_prefixes(const char *p, const char *end)
{
    for (int i = 0; i < 2; i++) {
        const char *q = p;
        while (q < end && ((*q >= 'a' && *q <= 'z') || *q == '-' || *q == '_'))
            q++;
        if (q == p || q + 1 >= end) break;
        if (*q == ' ' && app_starts(p, (size_t)(end - p), "debug ")) { /* "debug 3: " */
            q++;
            while (q < end && *q >= '0' && *q <= '9')
                q++;
        }
        if (q + 1 >= end || *q != ':' || q[1] != ' ') break;
        if (app_starts(p, (size_t)(end - p), "client")) break;
        p = q + 2;
    }
    return p;
}

static uint32_t client_text(const char *x, const char *end, struct strm_event *ev,
                            struct dsm_props *pr)
{
    size_t n = (size_t)(end - x);
    if (app_starts(x, n, "view ")) { /* "view internal: " */
        const char *c = memchr(x, ':', n);
        if (c) {
            dsm_props_add(pr, "view", x + 5, (size_t)(c - x - 5));
            x = c + 1;
            while (x < end && *x == ' ')
                x++;
            n = (size_t)(end - x);
        }
    }
    if (app_starts(x, n, "query: ")) {
        const char *p = x + 7, *t[4];
        size_t tl[4];
        int k = 0;
        while (k < 4 && app_tok(&p, end, &t[k], &tl[k]))
            k++;
        if (k >= 1) dsm_props_add(pr, "dns_name", t[0], tl[0]);
        if (k >= 2) dsm_props_add(pr, "dns_class", t[1], tl[1]);
        if (k >= 3) dsm_props_add(pr, "dns_type", t[2], tl[2]);
        if (k >= 4) dsm_props_add(pr, "flags", t[3], tl[3]);
        const char *lp = memchr(p, '(', (size_t)(end - p));
        if (lp) {
            const char *rp = memchr(lp, ')', (size_t)(end - lp));
            if (rp) dsm_set_ip(&ev->destinationip, lp + 1, (size_t)(rp - lp - 1));
        }
        ev->protocolid = 17;
        ev->destinationport = 53;
        return Q_QUERY;
    }
    if (app_find(x, n, "rate limit")) return Q_RATE_LIMIT;
    if (app_starts(x, n, "query") && app_find(x, n, "denied")) {
        quoted_name(x, end, pr, true);
        return Q_QUERY_DENIED;
    }
    if (app_starts(x, n, "zone transfer") && app_find(x, n, "denied")) {
        quoted_name(x, end, pr, true);
        return Q_XFR_DENIED;
    }
    if (app_starts(x, n, "transfer of '")) {
        quoted_name(x, end, pr, false);
        if (app_find(x, n, "started")) return Q_XFR_STARTED;
        if (app_find(x, n, "ended") || app_find(x, n, "completed")) return Q_XFR_ENDED;
        return 0;
    }
    if (app_starts(x, n, "update '") && app_find(x, n, "denied")) {
        quoted_name(x, end, pr, false);
        return Q_UPDATE_DENIED;
    }
    if (app_starts(x, n, "updating zone '")) {
        quoted_name(x, end, pr, false);
        return Q_UPDATE;
    }
    return 0;
}

static uint32_t server_text(const char *x, const char *end, struct strm_event *ev,
                            struct dsm_props *pr)
{
    size_t n = (size_t)(end - x);
    if (app_starts(x, n, "lame server resolving '")) {
        quoted_name(x, end, pr, false);
        const char *c = app_find(x, n, "): ");
        if (c) ip_hash_port(c + 3, (size_t)(end - c - 3), &ev->destinationip, &ev->destinationport);
        return Q_LAME;
    }
    if (app_starts(x, n, "transfer of '")) {
        quoted_name(x, end, pr, false);
        const char *f = app_find(x, n, "' from ");
        if (f) {
            const char *s = f + 7, *c = memchr(s, ':', (size_t)(end - s));
            if (c) ip_hash_port(s, (size_t)(c - s), &ev->sourceip, &ev->sourceport);
        }
        return Q_XFR_IN_DONE;
    }
    if (app_starts(x, n, "zone ")) {
        const char *c = memchr(x, ':', n);
        if (c) {
            const char *sl = memchr(x + 5, '/', (size_t)(c - x - 5));
            dsm_props_add(pr, "zone", x + 5, (size_t)((sl ? sl : c) - x - 5));
        }
        if (app_find(x, n, "loaded serial")) return Q_ZONE_LOADED;
        if (app_find(x, n, "refused notify")) {
            const char *f = app_find(x, n, "non-");
            const char *cc = f ? memchr(f, ':', (size_t)(end - f)) : NULL;
            if (cc && cc + 2 < end)
                ip_hash_port(cc + 2, (size_t)(end - cc - 2), &ev->sourceip, &ev->sourceport);
            return Q_NOTIFY_REFUSED;
        }
        return 0;
    }
    if (app_starts(x, n, "notify question section")) return Q_NOTIFY_MALFORMED;
    if (app_starts(x, n, "DNS format error from ")) {
        const char *s = x + 22, *e = memchr(s, ' ', (size_t)(end - s));
        if (e) ip_hash_port(s, (size_t)(e - s), &ev->destinationip, &ev->destinationport);
        return Q_FORMERR;
    }
    if (app_find(x, n, " resolving '") &&
        (app_starts(x, n, "error (") || app_starts(x, n, "timed out") ||
         app_find(x, n, "unexpected RCODE") || app_find(x, n, "unreachable"))) {
        quoted_name(x, end, pr, true);
        const char *c = app_find(x, n, "': ");
        if (c) ip_hash_port(c + 3, (size_t)(end - c - 3), &ev->destinationip, &ev->destinationport);
        return Q_RESOLVE_ERROR;
    }
    if (app_starts(x, n, "starting BIND")) return Q_STARTED;
    if (app_eq(x, n, "exiting") || app_starts(x, n, "shutting down")) return Q_STOPPED;
    if (app_starts(x, n, "received control channel command")) return Q_CONTROL;
    if (app_find(x, n, "rate limit")) return Q_RATE_LIMIT;
    return 0;
}

static bool bind_parse(struct strm_event *ev, struct strm_arena *arena, const struct dsm_ctx *ctx)
{
    if (!app_appname_is(ev, "named")) return false;
    if (!ev->message.p || ev->message.len == 0) return false;
    const char *p = ev->message.p, *end = p + ev->message.len;
    struct dsm_props pr;
    dsm_props_init(&pr);
    p = skip_prefixes(p, end);
    uint32_t qn;
    if (app_starts(p, (size_t)(end - p), "client ")) {
        const char *q = p + 7, *t;
        size_t tl;
        if (!app_tok(&q, end, &t, &tl)) goto unknown;
        if (tl > 1 && t[0] == '@' && !app_tok(&q, end, &t, &tl)) goto unknown;
        if (tl && t[tl - 1] == ':') tl--; /* "client 1.2.3.4#5353: query: ..." */
        ip_hash_port(t, tl, &ev->sourceip, &ev->sourceport);
        /* skip " (name)" and the ':' that ends the client part */
        while (q < end && *q == ' ')
            q++;
        if (q < end && *q == '(') {
            const char *rp = memchr(q, ')', (size_t)(end - q));
            if (!rp) goto unknown;
            q = rp + 1;
        }
        if (q < end && *q == ':') q++;
        while (q < end && *q == ' ')
            q++;
        qn = client_text(q, end, ev, &pr);
    } else {
        qn = server_text(p, end, ev, &pr);
    }
    dsm_props_commit(&pr, ev, arena);
    dsm_set_qid(ev, qn ? DSM_QID(T, qn) : DSM_QID_UNKNOWN(T));
    ev->devicetype = T;
    return true;
unknown:
    dsm_set_qid(ev, DSM_QID_UNKNOWN(T));
    ev->devicetype = T;
    return true;
}

const struct dsm_def dsm_bind = {
    .name = "bind",
    .display = "ISC BIND",
    .type_id = T,
    .qids = bind_qids,
    .n_qids = sizeof(bind_qids) / sizeof(bind_qids[0]),
    .init = NULL,
    .parse = bind_parse,
};
