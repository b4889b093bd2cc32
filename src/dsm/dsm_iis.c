/*
 * dsm_iis.c - Microsoft IIS web server: W3C extended log lines, one per syslog message, as
 * forwarded by NXLog or another file shipper.
 *
 * A forwarded line has no "#Fields:" directive next to it, so the field order cannot be read
 * from the file; the DSM assumes IIS's default W3C field set (IIS 7 and later):
 *   date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent)
 *   cs(Referer) sc-status sc-substatus sc-win32-status time-taken
 * and IIS 6's default (s-sitename after time, no cs(Referer) nor time-taken) when the third
 * field is a site name "W3SVCn". The line is recognized by shape under any appname: it starts
 * "yyyy-mm-dd HH:MM:SS ", has exactly 15 (or 14) space-separated fields, the addresses parse
 * and the status fields are numbers. W3C times are UTC. "-" means empty; spaces inside values
 * are written as '+' by IIS, so splitting on spaces is exact. The status class gives the QID,
 * as for Apache.
 *
 * Invariants: reads stay inside ev->message; strings point into it; no allocation.
 */
#include "dsm/app_common.h"

#define T DSM_T_IIS

static const struct qid_def iis_qids[] = {
    APP_WEB_QIDS(T, "IIS"),
    {DSM_QID_UNKNOWN(T), "IIS Unknown Event", "An IIS line that has no mapping", LLC_UNKNOWN, 3},
};

enum {
    F_DATE,
    F_TIME,
    F_SIP,
    F_METHOD,
    F_STEM,
    F_QUERY,
    F_SPORT,
    F_USER,
    F_CIP,
    F_UA,
    F_REF,
    F_STATUS,
    F_SUB,
    F_WIN32,
    F_TAKEN,
    F_COUNT
};

static bool dash(const char *p, size_t n)
{
    return n == 1 && p[0] == '-';
}

static bool iis_parse(struct strm_event *ev, struct strm_arena *arena, const struct dsm_ctx *ctx)
{
    const char *m = ev->message.p;
    size_t n = ev->message.len;
    (void)ctx;
    if (!m || n < 40 || m[4] != '-' || m[7] != '-' || m[10] != ' ' || m[13] != ':' ||
        m[16] != ':' || m[19] != ' ')
        return false;
    int y = app_num(m, 4), mo = app_num(m + 5, 2), d = app_num(m + 8, 2), h = app_num(m + 11, 2),
        mi = app_num(m + 14, 2), s = app_num(m + 17, 2);
    if (y < 0 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || s < 0)
        return false;
    const char *t[16], *p = m, *end = m + n;
    size_t tl[16];
    int k = 0;
    while (k < 16 && app_tok(&p, end, &t[k], &tl[k]))
        k++;
    if (app_tok(&p, end, &t[0], &tl[0])) return false; /* more than 16 fields */
    /* normalize to the IIS 7+ layout: idx[f] is the token of field f, -1 when absent */
    int idx[F_COUNT];
    if (k == 15) {
        for (int f = 0; f < F_COUNT; f++)
            idx[f] = f;
    } else if (k == 14 && app_starts(t[2], tl[2], "W3SVC")) {
        static const int v6[F_COUNT] = {0, 1, 3, 4, 5, 6, 7, 8, 9, 10, -1, 11, 12, 13, -1};
        memcpy(idx, v6, sizeof(idx));
    } else {
        return false;
    }
    const char *st = t[idx[F_STATUS]];
    size_t stl = tl[idx[F_STATUS]];
    if (stl != 3 || !app_all_digits(st, 3) || !app_all_digits(t[idx[F_SUB]], tl[idx[F_SUB]]) ||
        !app_all_digits(t[idx[F_WIN32]], tl[idx[F_WIN32]]))
        return false;
    struct strm_ip sip, cip;
    if (!dsm_set_ip(&sip, t[idx[F_SIP]], tl[idx[F_SIP]]) ||
        !dsm_set_ip(&cip, t[idx[F_CIP]], tl[idx[F_CIP]]))
        return false;
    uint16_t sport;
    if (!dsm_set_port(&sport, t[idx[F_SPORT]], tl[idx[F_SPORT]])) return false;

    ev->sourceip = cip;
    ev->destinationip = sip;
    ev->destinationport = sport;
    ev->protocolid = 6;
    ev->devicetime = app_mktime(y, mo, d, h, mi, s, 0, 0);
    if (!dash(t[idx[F_USER]], tl[idx[F_USER]])) {
        ev->username.p = t[idx[F_USER]];
        ev->username.len = (uint32_t)tl[idx[F_USER]];
    }
    struct dsm_props pr;
    dsm_props_init(&pr);
    dsm_props_add(&pr, "method", t[idx[F_METHOD]], tl[idx[F_METHOD]]);
    dsm_props_add(&pr, "url", t[idx[F_STEM]], tl[idx[F_STEM]]);
    if (!dash(t[idx[F_QUERY]], tl[idx[F_QUERY]]))
        dsm_props_add(&pr, "query", t[idx[F_QUERY]], tl[idx[F_QUERY]]);
    dsm_props_add(&pr, "status", st, 3);
    dsm_props_add(&pr, "substatus", t[idx[F_SUB]], tl[idx[F_SUB]]);
    dsm_props_add(&pr, "win32_status", t[idx[F_WIN32]], tl[idx[F_WIN32]]);
    if (!dash(t[idx[F_UA]], tl[idx[F_UA]]))
        dsm_props_add(&pr, "user_agent", t[idx[F_UA]], tl[idx[F_UA]]);
    if (idx[F_REF] >= 0 && !dash(t[idx[F_REF]], tl[idx[F_REF]]))
        dsm_props_add(&pr, "referer", t[idx[F_REF]], tl[idx[F_REF]]);
    if (idx[F_TAKEN] >= 0) dsm_props_add(&pr, "time_taken", t[idx[F_TAKEN]], tl[idx[F_TAKEN]]);
    if (k == 14) dsm_props_add(&pr, "site", t[2], tl[2]);
    dsm_props_commit(&pr, ev, arena);
    dsm_set_qid(ev, DSM_QID(T, app_web_status_n((unsigned)app_num(st, 3))));
    ev->devicetype = T;
    return true;
}

const struct dsm_def dsm_iis = {
    .name = "iis",
    .display = "Microsoft IIS",
    .type_id = T,
    .qids = iis_qids,
    .n_qids = sizeof(iis_qids) / sizeof(iis_qids[0]),
    .init = NULL,
    .parse = iis_parse,
};
