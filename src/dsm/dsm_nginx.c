/*
 * dsm_nginx.c - nginx: access log (the default "combined" log_format) and error log, as sent
 * by nginx's own syslog output (access_log/error_log syslog:server=..., tag "nginx") or by a
 * file forwarder.
 *
 * Access: "$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent
 * "$http_referer" "$http_user_agent"", the same line as Apache's combined format, so the
 * shared CLF parser in dsm_apache.c reads it; only lines whose appname starts with "nginx" (or
 * whose log source says nginx) are taken, because the shape alone cannot tell the servers
 * apart. The status class gives the QID.
 *
 * Error: "yyyy/mm/dd HH:MM:SS [level] pid#tid: *cid message, client: a, server: s, request:
 * "...", upstream: "...", host: "..."". This shape is distinctive, so it is recognized under
 * any appname. A few messages have their own QID (limit_req "limiting requests", limit_conn
 * "limiting connections", "access forbidden by rule", auth_basic "password mismatch" / "was
 * not found in", open() failures, upstream failures, TLS handshake failures), the rest map by
 * level. The time has no zone: ctx->tz_min applies.
 *
 * Invariants: reads stay inside ev->message; strings point into it; no allocation.
 */
#include "dsm/app_common.h"

#define T DSM_T_NGINX

enum {
    Q_ERR_EMERG = 20,
    Q_ERR_ALERT,
    Q_ERR_CRIT,
    Q_ERR_ERROR,
    Q_ERR_WARN,
    Q_ERR_NOTICE,
    Q_ERR_INFO,
    Q_ERR_DEBUG,
    Q_RATE_LIMIT = 30,
    Q_CONN_LIMIT,
    Q_FORBIDDEN_RULE,
    Q_AUTH_FAILED,
    Q_FILE_NOT_FOUND,
    Q_UPSTREAM_ERROR,
    Q_TLS_HANDSHAKE,
};

static const struct qid_def nginx_qids[] = {
    APP_WEB_QIDS(T, "nginx"),
    {DSM_QID(T, Q_ERR_EMERG), "nginx Emergency", "Error log level emerg", LLC_SYSTEM_CRITICAL, 9},
    {DSM_QID(T, Q_ERR_ALERT), "nginx Alert", "Error log level alert", LLC_SYSTEM_CRITICAL, 8},
    {DSM_QID(T, Q_ERR_CRIT), "nginx Critical", "Error log level crit", LLC_SYSTEM_CRITICAL, 7},
    {DSM_QID(T, Q_ERR_ERROR), "nginx Error", "Error log level error", LLC_SYSTEM_ERROR_MSG, 5},
    {DSM_QID(T, Q_ERR_WARN), "nginx Warning", "Error log level warn", LLC_SYSTEM_WARNING, 3},
    {DSM_QID(T, Q_ERR_NOTICE), "nginx Notice", "Error log level notice", LLC_SYSTEM_NOTICE, 2},
    {DSM_QID(T, Q_ERR_INFO), "nginx Information", "Error log level info", LLC_SYSTEM_INFORMATION,
     1},
    {DSM_QID(T, Q_ERR_DEBUG), "nginx Debug", "Error log level debug", LLC_SYSTEM_DEBUG, 0},
    {DSM_QID(T, Q_RATE_LIMIT), "nginx Request Rate Limited",
     "limit_req delayed or rejected a request (limiting requests, excess)", LLC_RATE_LIMITING, 4},
    {DSM_QID(T, Q_CONN_LIMIT), "nginx Connection Limited",
     "limit_conn rejected a connection (limiting connections by zone)", LLC_RATE_LIMITING, 4},
    {DSM_QID(T, Q_FORBIDDEN_RULE), "nginx Access Forbidden by Rule",
     "An allow/deny rule refused the request", LLC_WEB_ACCESS_DENIED, 4},
    {DSM_QID(T, Q_AUTH_FAILED), "nginx Basic Authentication Failed",
     "auth_basic: unknown user or password mismatch", LLC_WEB_LOGIN_FAILED, 5},
    {DSM_QID(T, Q_FILE_NOT_FOUND), "nginx File Not Found",
     "open() of a requested file failed (No such file or directory)", LLC_WEB_ACCESS_DENIED, 2},
    {DSM_QID(T, Q_UPSTREAM_ERROR), "nginx Upstream Error",
     "Connecting to or reading from an upstream failed or timed out", LLC_APPLICATION_ERROR, 5},
    {DSM_QID(T, Q_TLS_HANDSHAKE), "nginx TLS Handshake Failed", "SSL_do_handshake() failed",
     LLC_SUSPICIOUS_PACKET, 3},
    {DSM_QID_UNKNOWN(T), "nginx Unknown Event", "An nginx message that has no mapping", LLC_UNKNOWN,
     3},
};

static const struct {
    const char *name;
    uint32_t n;
} levels[] = {
    {"emerg", Q_ERR_EMERG}, {"alert", Q_ERR_ALERT},   {"crit", Q_ERR_CRIT}, {"error", Q_ERR_ERROR},
    {"warn", Q_ERR_WARN},   {"notice", Q_ERR_NOTICE}, {"info", Q_ERR_INFO}, {"debug", Q_ERR_DEBUG},
};

/* Texts that refine the QID; the first match wins. */
static const struct {
    const char *text;
    uint32_t n;
} texts[] = {
    {"limiting requests", Q_RATE_LIMIT},
    {"limiting connections", Q_CONN_LIMIT},
    {"access forbidden by rule", Q_FORBIDDEN_RULE},
    {"password mismatch", Q_AUTH_FAILED},
    {"was not found in \"", Q_AUTH_FAILED},
    {"(2: No such file or directory)", Q_FILE_NOT_FOUND},
    {"while connecting to upstream", Q_UPSTREAM_ERROR},
    {"while reading response header from upstream", Q_UPSTREAM_ERROR},
    {"no live upstreams", Q_UPSTREAM_ERROR},
    {"SSL_do_handshake() failed", Q_TLS_HANDSHAKE},
};

/* "key: value" context after ", key: " (value quoted or up to the next ", "). */
static bool ctx_field(const char *p, size_t n, const char *key, const char **v, size_t *vl)
{
    const char *k = app_find(p, n, key);
    if (!k) return false;
    const char *s = k + strlen(key), *end = p + n;
    if (s < end && *s == '"') {
        s++;
        const char *q = s;
        while (q < end && *q != '"') {
            if (*q == '\\' && q + 1 < end) q++;
            q++;
        }
        *v = s;
        *vl = (size_t)((q < end ? q : end) - s);
        return true;
    }
    const char *q = s;
    while (q < end && !(*q == ',' && q + 1 < end && q[1] == ' '))
        q++;
    *v = s;
    *vl = (size_t)(q - s);
    return true;
}

static bool parse_error(struct strm_event *ev, struct strm_arena *arena, const struct dsm_ctx *ctx)
{
    const char *p = ev->message.p, *end = p + ev->message.len;
    size_t n = ev->message.len;
    /* "yyyy/mm/dd HH:MM:SS [" */
    if (n < 28 || p[4] != '/' || p[7] != '/' || p[10] != ' ' || p[13] != ':' || p[16] != ':' ||
        p[19] != ' ' || p[20] != '[')
        return false;
    int y = app_num(p, 4), mo = app_num(p + 5, 2), d = app_num(p + 8, 2), h = app_num(p + 11, 2),
        mi = app_num(p + 14, 2), s = app_num(p + 17, 2);
    if (y < 0 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || mi < 0 || s < 0) return false;
    const char *lv = p + 21, *rb = memchr(lv, ']', (size_t)(end - lv));
    if (!rb) return false;
    uint32_t qn = 0;
    for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
        if (app_eq(lv, (size_t)(rb - lv), levels[i].name)) qn = levels[i].n;
    if (!qn) return false;
    const char *q = rb + 1;
    /* " pid#tid:" */
    if (q >= end || *q != ' ') return false;
    q++;
    const char *hash = q;
    while (hash < end && *hash >= '0' && *hash <= '9')
        hash++;
    if (hash == q || hash >= end || *hash != '#') return false;
    const char *colon = hash + 1;
    while (colon < end && *colon >= '0' && *colon <= '9')
        colon++;
    if (colon >= end || *colon != ':') return false;
    q = colon + 1;
    while (q < end && *q == ' ')
        q++;
    struct dsm_props pr;
    dsm_props_init(&pr);
    dsm_props_add(&pr, "level", lv, (size_t)(rb - lv));
    if (q < end && *q == '*') { /* connection id */
        const char *c = q + 1;
        while (q < end && *q != ' ')
            q++;
        dsm_props_add(&pr, "connection", c, (size_t)(q - c));
        while (q < end && *q == ' ')
            q++;
    }
    const char *msg = q;
    size_t ml = (size_t)(end - q);
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
        if (app_find(msg, ml, texts[i].text)) {
            qn = texts[i].n;
            break;
        }
    const char *v;
    size_t vl;
    if (ctx_field(msg, ml, ", client: ", &v, &vl)) dsm_set_ip(&ev->sourceip, v, vl);
    if (ctx_field(msg, ml, ", server: ", &v, &vl)) dsm_props_add(&pr, "server", v, vl);
    if (ctx_field(msg, ml, ", request: ", &v, &vl)) {
        const char *sp = memchr(v, ' ', vl);
        if (sp) {
            const char *sp2 = memchr(sp + 1, ' ', (size_t)(v + vl - sp - 1));
            dsm_props_add(&pr, "method", v, (size_t)(sp - v));
            dsm_props_add(&pr, "url", sp + 1, (size_t)((sp2 ? sp2 : v + vl) - sp - 1));
        }
    }
    if (ctx_field(msg, ml, ", upstream: ", &v, &vl)) dsm_props_add(&pr, "upstream", v, vl);
    if (ctx_field(msg, ml, ", host: ", &v, &vl)) dsm_props_add(&pr, "host", v, vl);
    if (ctx_field(msg, ml, ", zone: ", &v, &vl)) dsm_props_add(&pr, "zone", v, vl);
    if (qn == Q_AUTH_FAILED) { /* user "bob": password mismatch / user "bob" was not found */
        const char *u = app_find(msg, ml, "user \"");
        if (u) {
            u += 6;
            const char *ue = memchr(u, '"', (size_t)(end - u));
            if (ue) {
                ev->username.p = u;
                ev->username.len = (uint32_t)(ue - u);
            }
        }
    }
    ev->devicetime = app_mktime(y, mo, d, h, mi, s, 0, ctx->tz_min);
    dsm_props_commit(&pr, ev, arena);
    dsm_set_qid(ev, DSM_QID(T, qn));
    ev->devicetype = T;
    return true;
}

static bool nginx_parse(struct strm_event *ev, struct strm_arena *arena, const struct dsm_ctx *ctx)
{
    const char *m = ev->message.p;
    size_t n = ev->message.len;
    if (!m || n < 20) return false;
    bool by_app = app_starts(ev->appname.p, ev->appname.len, "nginx");
    if (m[0] >= '1' && m[0] <= '2' && m[4] == '/' && parse_error(ev, arena, ctx)) return true;
    if (!by_app) return false;
    struct app_clf c;
    if (!dsm_app_clf_parse(m, n, &c)) {
        dsm_set_qid(ev, DSM_QID_UNKNOWN(T));
        ev->devicetype = T;
        return true;
    }
    struct dsm_props pr;
    dsm_props_init(&pr);
    dsm_app_clf_apply(&c, ev, &pr);
    dsm_props_commit(&pr, ev, arena);
    dsm_set_qid(ev, DSM_QID(T, app_web_status_n(c.status)));
    ev->devicetype = T;
    return true;
}

const struct dsm_def dsm_nginx = {
    .name = "nginx",
    .display = "nginx",
    .type_id = T,
    .qids = nginx_qids,
    .n_qids = sizeof(nginx_qids) / sizeof(nginx_qids[0]),
    .init = NULL,
    .parse = nginx_parse,
};
