/*
 * dsm_squid.c - Squid web proxy: access.log in Squid's native format, as written to syslog
 * (access_log syslog:...) or forwarded from the file.
 *
 * The native ("squid") logformat is
 *   %ts.%03tu %6tr %>a %Ss/%03>Hs %<st %rm %ru %[un %Sh/%<a %mt
 *   time.ms elapsed client action/status bytes method URL user hierarchy/from content-type
 * e.g. "1714564800.123    150 10.0.0.5 TCP_MISS/200 1234 GET http://example.com/ - "
 *      "HIER_DIRECT/93.184.216.34 text/html".
 * The line is recognized by shape under any appname: an epoch with milliseconds, a number, an
 * address, then "UPPER_CASE/ddd". The action ("result code") gives the QID: cache hits,
 * misses, denials (407 = proxy authentication required), CONNECT tunnels, redirects and
 * errors (NONE/TAG_NONE with an error status). The time is absolute (UTC epoch).
 *
 * Invariants: reads stay inside ev->message; strings point into it; no allocation.
 */
#include "dsm/app_common.h"

#define T DSM_T_SQUID

enum {
    Q_HIT = 1,
    Q_MISS,
    Q_DENIED,
    Q_TUNNEL,
    Q_AUTH_REQUIRED,
    Q_ERROR,
    Q_REDIRECT,
};

static const struct qid_def squid_qids[] = {
    {DSM_QID(T, Q_HIT), "Squid Object Served from Cache",
     "TCP_HIT, TCP_MEM_HIT, TCP_IMS_HIT, TCP_REFRESH_UNMODIFIED...: served from the cache",
     LLC_OBJECT_CACHED, 1},
    {DSM_QID(T, Q_MISS), "Squid Object Not Cached",
     "TCP_MISS, TCP_REFRESH_MODIFIED...: fetched from the origin or a peer", LLC_OBJECT_NOT_CACHED,
     1},
    {DSM_QID(T, Q_DENIED), "Squid Web Access Denied", "TCP_DENIED: refused by an http_access rule",
     LLC_WEB_ACCESS_DENIED, 4},
    {DSM_QID(T, Q_TUNNEL), "Squid Tunnel Established", "TCP_TUNNEL: a CONNECT tunnel was allowed",
     LLC_WEB_ACCESS_ALLOWED, 1},
    {DSM_QID(T, Q_AUTH_REQUIRED), "Squid Proxy Authentication Required",
     "TCP_DENIED/407: the client has not authenticated to the proxy", LLC_WEB_LOGIN_FAILED, 3},
    {DSM_QID(T, Q_ERROR), "Squid Request Error",
     "NONE or TAG_NONE with an error status: the request failed", LLC_APPLICATION_ERROR, 3},
    {DSM_QID(T, Q_REDIRECT), "Squid Request Redirected", "TCP_REDIRECT: redirected by a helper",
     LLC_WEB_ACCESS_ALLOWED, 1},
    {DSM_QID_UNKNOWN(T), "Squid Unknown Event", "A Squid action that has no mapping", LLC_UNKNOWN,
     3},
};

static uint32_t action_n(const char *a, size_t n, unsigned status)
{
    if (app_find(a, n, "DENIED")) return status == 407 ? Q_AUTH_REQUIRED : Q_DENIED;
    if (app_find(a, n, "TUNNEL")) return Q_TUNNEL;
    if (app_find(a, n, "REDIRECT")) return Q_REDIRECT;
    if (app_find(a, n, "HIT") || app_find(a, n, "UNMODIFIED")) return Q_HIT;
    if (app_find(a, n, "MISS") || app_find(a, n, "REFRESH") || app_find(a, n, "MODIFIED"))
        return status >= 500 ? Q_ERROR : Q_MISS;
    if (app_starts(a, n, "NONE") || app_starts(a, n, "TAG_NONE") || app_find(a, n, "ERR"))
        return Q_ERROR;
    return 0;
}

static bool squid_parse(struct strm_event *ev, struct strm_arena *arena, const struct dsm_ctx *ctx)
{
    const char *p = ev->message.p;
    size_t n = ev->message.len;
    (void)ctx;
    if (!p || n < 30 || p[0] < '1' || p[0] > '9') return false;
    const char *end = p + n, *t[10];
    size_t tl[10];
    int k = 0;
    while (k < 10 && app_tok(&p, end, &t[k], &tl[k]))
        k++;
    if (k < 7) return false;
    /* time.ms */
    const char *dot = memchr(t[0], '.', tl[0]);
    if (!dot || dot == t[0] || !app_all_digits(t[0], (size_t)(dot - t[0])) ||
        !app_all_digits(dot + 1, (size_t)(t[0] + tl[0] - dot - 1)))
        return false;
    if (!app_all_digits(t[1], tl[1])) return false;
    const char *slash = memchr(t[3], '/', tl[3]);
    if (!slash || slash == t[3] || t[3][0] < 'A' || t[3][0] > 'Z') return false;
    size_t al = (size_t)(slash - t[3]), sl = (size_t)(t[3] + tl[3] - slash - 1);
    if (sl != 3 || !app_all_digits(slash + 1, 3)) return false;
    struct strm_ip cip;
    if (!dsm_set_ip(&cip, t[2], tl[2])) return false;
    int64_t ms;
    if (!dsm_parse_time(DSM_TIME_EPOCH, t[0], tl[0], 0, &ms)) return false;
    unsigned status = (unsigned)app_num(slash + 1, 3);
    uint32_t qn = action_n(t[3], al, status);

    ev->sourceip = cip;
    ev->devicetime = ms;
    ev->protocolid = 6;
    struct dsm_props pr;
    dsm_props_init(&pr);
    dsm_props_add(&pr, "action", t[3], al);
    dsm_props_add(&pr, "status", slash + 1, 3);
    dsm_props_add(&pr, "elapsed_ms", t[1], tl[1]);
    dsm_props_add(&pr, "bytes", t[4], tl[4]);
    dsm_props_add(&pr, "method", t[5], tl[5]);
    dsm_props_add(&pr, "url", t[6], tl[6]);
    if (k > 7 && !app_eq(t[7], tl[7], "-")) {
        ev->username.p = t[7];
        ev->username.len = (uint32_t)tl[7];
    }
    if (k > 8) {
        const char *hs = memchr(t[8], '/', tl[8]);
        size_t hl = hs ? (size_t)(hs - t[8]) : tl[8];
        dsm_props_add(&pr, "hierarchy", t[8], hl);
        if (hs) dsm_set_ip(&ev->destinationip, hs + 1, (size_t)(t[8] + tl[8] - hs - 1));
    }
    if (k > 9 && !app_eq(t[9], tl[9], "-")) dsm_props_add(&pr, "content_type", t[9], tl[9]);
    /* CONNECT host:port names the destination port */
    if (app_eq(t[5], tl[5], "CONNECT")) {
        const char *c = memchr(t[6], ':', tl[6]);
        if (c) dsm_set_port(&ev->destinationport, c + 1, (size_t)(t[6] + tl[6] - c - 1));
    }
    dsm_props_commit(&pr, ev, arena);
    dsm_set_qid(ev, qn ? DSM_QID(T, qn) : DSM_QID_UNKNOWN(T));
    ev->devicetype = T;
    return true;
}

const struct dsm_def dsm_squid = {
    .name = "squid",
    .display = "Squid Web Proxy",
    .type_id = T,
    .qids = squid_qids,
    .n_qids = sizeof(squid_qids) / sizeof(squid_qids[0]),
    .init = NULL,
    .parse = squid_parse,
};
