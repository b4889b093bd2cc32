/*
 * dsm_apache.c - Apache HTTP Server: access log (Common, Combined and vhost_combined Log
 * Format) and error log (2.2 and 2.4 layouts), as forwarded over syslog.
 *
 * Access lines follow mod_log_config's formats:
 *   common          %h %l %u %t "%r" %>s %b
 *   combined        common + "%{Referer}i" "%{User-agent}i"
 *   vhost_combined  %v:%p + combined
 * The Common Log Format parser lives here and is shared with nginx (its default "combined"
 * format is the same line). A line is taken when the appname is one Apache uses (httpd,
 * apache, apache2, apache-access, apache-error) or, for any appname, when the message is a
 * CLF line exactly: three tokens, a bracketed "dd/Mon/yyyy:HH:MM:SS +zzzz", a quoted request,
 * a 3-digit status and a byte count. The status class gives the QID.
 *
 * Error lines: 2.4 "[Wed Oct 11 14:32:52.123456 2000] [core:error] [pid 1:tid 2] [client
 * 1.2.3.4:5678] AH00126: text", 2.2 "[Wed Oct 11 14:32:52 2000] [error] [client 1.2.3.4]
 * text"; over syslog (ErrorLog syslog:) the leading time is left out. The AHnnnnn message id
 * maps to a specific QID when known (denials, authentication failures, start/stop), else the
 * level does; 2.2 lines (no ids) are matched on their well-known texts.
 *
 * Invariants: reads stay inside ev->message; strings point into the message; no allocation.
 */
#include "dsm/app_common.h"

#define T DSM_T_APACHE

enum {
    Q_ERR_EMERG = 20,
    Q_ERR_ALERT,
    Q_ERR_CRIT,
    Q_ERR_ERROR,
    Q_ERR_WARN,
    Q_ERR_NOTICE,
    Q_ERR_INFO,
    Q_ERR_DEBUG,
    Q_CLIENT_DENIED = 30,
    Q_AUTH_FAILED,
    Q_STARTED,
    Q_STOPPING,
    Q_FILE_NOT_FOUND,
    Q_RESTART,
    Q_INVALID_URI,
    Q_TIMEOUT,
};

static const struct qid_def apache_qids[] = {
    APP_WEB_QIDS(T, "Apache"),
    {DSM_QID(T, Q_ERR_EMERG), "Apache Emergency", "Error log level emerg", LLC_SYSTEM_CRITICAL, 9},
    {DSM_QID(T, Q_ERR_ALERT), "Apache Alert", "Error log level alert", LLC_SYSTEM_CRITICAL, 8},
    {DSM_QID(T, Q_ERR_CRIT), "Apache Critical", "Error log level crit", LLC_SYSTEM_CRITICAL, 7},
    {DSM_QID(T, Q_ERR_ERROR), "Apache Error", "Error log level error", LLC_SYSTEM_ERROR_MSG, 5},
    {DSM_QID(T, Q_ERR_WARN), "Apache Warning", "Error log level warn", LLC_SYSTEM_WARNING, 3},
    {DSM_QID(T, Q_ERR_NOTICE), "Apache Notice", "Error log level notice", LLC_SYSTEM_NOTICE, 2},
    {DSM_QID(T, Q_ERR_INFO), "Apache Information", "Error log level info", LLC_SYSTEM_INFORMATION,
     1},
    {DSM_QID(T, Q_ERR_DEBUG), "Apache Debug", "Error log level debug/trace", LLC_SYSTEM_DEBUG, 0},
    {DSM_QID(T, Q_CLIENT_DENIED), "Apache Client Denied by Server Configuration",
     "Access to a resource was denied by an access rule (AH01630, AH01797)", LLC_WEB_ACCESS_DENIED,
     4},
    {DSM_QID(T, Q_AUTH_FAILED), "Apache User Authentication Failed",
     "Basic/digest authentication failed: unknown user or password mismatch (AH01617, AH01618)",
     LLC_WEB_LOGIN_FAILED, 5},
    {DSM_QID(T, Q_STARTED), "Apache Server Started", "The server is resuming normal operations",
     LLC_SERVICE_STARTED, 1},
    {DSM_QID(T, Q_STOPPING), "Apache Server Shutting Down", "Caught SIGTERM, shutting down",
     LLC_SERVICE_STOPPED, 3},
    {DSM_QID(T, Q_FILE_NOT_FOUND), "Apache File Does Not Exist",
     "A request named a file that does not exist", LLC_WEB_ACCESS_DENIED, 2},
    {DSM_QID(T, Q_RESTART), "Apache Graceful Restart", "Graceful restart requested",
     LLC_SYSTEM_CONFIGURATION, 2},
    {DSM_QID(T, Q_INVALID_URI), "Apache Invalid URI in Request",
     "A request carried an invalid URI (AH00126)", LLC_SUSPICIOUS_PATTERN, 4},
    {DSM_QID(T, Q_TIMEOUT), "Apache Request Timeout", "Timeout reading from a client",
     LLC_APPLICATION_ERROR, 2},
    {DSM_QID_UNKNOWN(T), "Apache Unknown Event", "An Apache message that has no mapping",
     LLC_UNKNOWN, 3},
};

/* AHnnnnn message ids with a specific QID; sorted by id. */
static const struct dsm_qid_map apache_ah_map[] = {
    {"AH00094", DSM_QID(T, Q_STARTED)},        {"AH00126", DSM_QID(T, Q_INVALID_URI)},
    {"AH00128", DSM_QID(T, Q_FILE_NOT_FOUND)}, {"AH00169", DSM_QID(T, Q_STOPPING)},
    {"AH00489", DSM_QID(T, Q_STARTED)},        {"AH00493", DSM_QID(T, Q_RESTART)},
    {"AH01382", DSM_QID(T, Q_TIMEOUT)},        {"AH01617", DSM_QID(T, Q_AUTH_FAILED)},
    {"AH01618", DSM_QID(T, Q_AUTH_FAILED)},    {"AH01630", DSM_QID(T, Q_CLIENT_DENIED)},
    {"AH01797", DSM_QID(T, Q_CLIENT_DENIED)},
};

/* ---------------------------------------------------------------- CLF (shared with nginx) */

/* "dd/Mon/yyyy:HH:MM:SS +zzzz" (26 bytes) -> ms. */
static bool clf_time(const char *p, size_t n, int64_t *ms)
{
    if (n != 26 || p[2] != '/' || p[6] != '/' || p[11] != ':' || p[14] != ':' || p[17] != ':' ||
        p[20] != ' ' || (p[21] != '+' && p[21] != '-'))
        return false;
    int d = app_num(p, 2), mo = app_month(p + 3), y = app_num(p + 7, 4), h = app_num(p + 12, 2),
        mi = app_num(p + 15, 2), s = app_num(p + 18, 2), zh = app_num(p + 22, 2),
        zm = app_num(p + 24, 2);
    if (d < 1 || d > 31 || mo == 0 || y < 0 || h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 ||
        s > 60 || zh < 0 || zm < 0)
        return false;
    int tz = (zh * 60 + zm) * (p[21] == '-' ? -1 : 1);
    *ms = app_mktime(y, mo, d, h, mi, s, 0, tz);
    return true;
}

/* A double-quoted field at *pp (which must point at '"'); handles \" escapes. */
static bool clf_quoted(const char **pp, const char *end, const char **s, size_t *sl)
{
    const char *p = *pp;
    if (p >= end || *p != '"') return false;
    p++;
    const char *b = p;
    while (p < end && *p != '"') {
        if (*p == '\\' && p + 1 < end) p++;
        p++;
    }
    if (p >= end) return false;
    *s = b;
    *sl = (size_t)(p - b);
    *pp = p + 1;
    return true;
}

bool dsm_app_clf_parse(const char *p, size_t n, struct app_clf *c)
{
    const char *end = p + n, *t[4];
    size_t tl[4];
    memset(c, 0, sizeof(*c));
    int k = 0;
    /* three (CLF) or four (vhost_combined) tokens before the bracketed time */
    for (;;) {
        while (p < end && *p == ' ')
            p++;
        if (p >= end) return false;
        if (*p == '[') break;
        if (k == 4 || !app_tok(&p, end, &t[k], &tl[k])) return false;
        k++;
    }
    if (k == 3) {
        c->host = t[0], c->host_len = tl[0];
        c->user = t[2], c->user_len = tl[2];
    } else if (k == 4) {
        c->vhost = t[0], c->vhost_len = tl[0];
        c->host = t[1], c->host_len = tl[1];
        c->user = t[3], c->user_len = tl[3];
    } else {
        return false;
    }
    if (end - p < 28 || p[27] != ']' || !clf_time(p + 1, 26, &c->time_ms)) return false;
    p += 28;
    if (end - p < 2 || p[0] != ' ') return false;
    p++;
    const char *r;
    size_t rl;
    if (!clf_quoted(&p, end, &r, &rl)) return false;
    /* request line: METHOD URI PROTO; "-" or garbage leaves method empty and uri the whole */
    const char *sp1 = memchr(r, ' ', rl);
    if (sp1) {
        const char *sp2 = r + rl;
        while (sp2 > sp1 && sp2[-1] != ' ')
            sp2--;
        c->method = r, c->method_len = (size_t)(sp1 - r);
        if (sp2 - 1 > sp1 && app_starts(sp2, (size_t)(r + rl - sp2), "HTTP/")) {
            c->uri = sp1 + 1, c->uri_len = (size_t)(sp2 - 1 - (sp1 + 1));
            c->proto = sp2, c->proto_len = (size_t)(r + rl - sp2);
        } else {
            c->uri = sp1 + 1, c->uri_len = (size_t)(r + rl - sp1 - 1);
        }
    } else {
        c->uri = r, c->uri_len = rl;
    }
    const char *st, *by;
    size_t stl, byl;
    if (!app_tok(&p, end, &st, &stl) || stl != 3 || !app_all_digits(st, 3)) return false;
    c->status = (unsigned)app_num(st, 3);
    if (!app_tok(&p, end, &by, &byl) || !(app_all_digits(by, byl) || app_eq(by, byl, "-")))
        return false;
    c->bytes = by, c->bytes_len = byl;
    if (p == end) return true;
    if (end - p < 2 || p[0] != ' ' || p[1] != '"') return false;
    p++;
    if (!clf_quoted(&p, end, &c->referer, &c->referer_len)) return false;
    if (end - p >= 2 && p[0] == ' ' && p[1] == '"') {
        p++;
        if (!clf_quoted(&p, end, &c->agent, &c->agent_len)) return false;
    }
    return true; /* trailing custom fields (e.g. "$http_x_forwarded_for") are allowed */
}

void dsm_app_clf_apply(const struct app_clf *c, struct strm_event *ev, struct dsm_props *pr)
{
    dsm_set_ip(&ev->sourceip, c->host, c->host_len); /* stays null for a resolved hostname */
    if (c->user_len && !app_eq(c->user, c->user_len, "-")) {
        ev->username.p = c->user;
        ev->username.len = (uint32_t)c->user_len;
    }
    ev->devicetime = c->time_ms;
    if (c->vhost_len) {
        const char *colon = memchr(c->vhost, ':', c->vhost_len);
        size_t hl = colon ? (size_t)(colon - c->vhost) : c->vhost_len;
        dsm_props_add(pr, "vhost", c->vhost, hl);
        if (colon) dsm_set_port(&ev->destinationport, colon + 1, c->vhost_len - hl - 1);
    }
    if (c->method_len) dsm_props_add(pr, "method", c->method, c->method_len);
    dsm_props_add(pr, "url", c->uri, c->uri_len);
    if (c->proto_len) dsm_props_add(pr, "protocol", c->proto, c->proto_len);
    char st[4] = {(char)('0' + c->status / 100), (char)('0' + c->status / 10 % 10),
                  (char)('0' + c->status % 10), 0};
    dsm_props_add(pr, "status", st, 3);
    dsm_props_add(pr, "bytes", c->bytes, c->bytes_len);
    if (c->referer_len && !app_eq(c->referer, c->referer_len, "-"))
        dsm_props_add(pr, "referer", c->referer, c->referer_len);
    if (c->agent_len && !app_eq(c->agent, c->agent_len, "-"))
        dsm_props_add(pr, "user_agent", c->agent, c->agent_len);
    ev->protocolid = 6;
}

/* ---------------------------------------------------------------- error log */

/* "Wed Oct 11 14:32:52[.123456] 2000" -> ms in zone tz_min. */
static bool err_time(const char *p, size_t n, int tz_min, int64_t *ms)
{
    if (n < 24 || p[3] != ' ' || p[7] != ' ' || p[10] != ' ' || p[13] != ':' || p[16] != ':')
        return false;
    int mo = app_month(p + 4);
    int d = p[8] == ' ' ? app_num(p + 9, 1) : app_num(p + 8, 2);
    int h = app_num(p + 11, 2), mi = app_num(p + 14, 2), s = app_num(p + 17, 2);
    size_t i = 19;
    int frac = 0;
    if (p[i] == '.') {
        size_t f = i + 1;
        while (i + 1 < n && p[i + 1] >= '0' && p[i + 1] <= '9')
            i++;
        frac = app_frac_ms(p + f, i + 1 - f);
        i++;
    }
    if (i + 5 != n || p[i] != ' ') return false;
    int y = app_num(p + i + 1, 4);
    if (mo == 0 || d < 1 || h < 0 || mi < 0 || s < 0 || y < 0) return false;
    *ms = app_mktime(y, mo, d, h, mi, s, frac, tz_min);
    return true;
}

struct level {
    const char *name;
    uint32_t n;
};
static const struct level levels[] = {
    {"emerg", Q_ERR_EMERG}, {"alert", Q_ERR_ALERT},   {"crit", Q_ERR_CRIT}, {"error", Q_ERR_ERROR},
    {"warn", Q_ERR_WARN},   {"notice", Q_ERR_NOTICE}, {"info", Q_ERR_INFO}, {"debug", Q_ERR_DEBUG},
};

static uint32_t level_n(const char *p, size_t n)
{
    for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
        if (app_eq(p, n, levels[i].name)) return levels[i].n;
    if (app_starts(p, n, "trace") && n == 6) return Q_ERR_DEBUG;
    return 0;
}

/* Next "[...]" at *pp; the content without brackets. */
static bool bracket(const char **pp, const char *end, const char **s, size_t *sl)
{
    const char *p = *pp;
    while (p < end && *p == ' ')
        p++;
    if (p >= end || *p != '[') return false;
    const char *rb = memchr(p, ']', (size_t)(end - p));
    if (!rb) return false;
    *s = p + 1;
    *sl = (size_t)(rb - p - 1);
    *pp = rb + 1;
    return true;
}

static bool parse_error(struct strm_event *ev, struct strm_arena *arena, const struct dsm_ctx *ctx,
                        bool by_app)
{
    const char *p = ev->message.p, *end = p + ev->message.len, *b;
    size_t bl;
    int64_t t = 0;
    if (!bracket(&p, end, &b, &bl)) return false;
    if (bl >= 24 && err_time(b, bl, ctx->tz_min, &t)) {
        if (!bracket(&p, end, &b, &bl)) return false;
    } else if (!by_app) {
        return false;
    }
    /* "[module:level]" (2.4) or "[level]" (2.2) */
    const char *colon = memchr(b, ':', bl);
    const char *lv = colon ? colon + 1 : b;
    size_t lvl = colon ? (size_t)(b + bl - colon - 1) : bl;
    uint32_t n = level_n(lv, lvl);
    if (!n) return false;
    struct dsm_props pr;
    dsm_props_init(&pr);
    dsm_props_add(&pr, "level", lv, lvl);
    if (colon) dsm_props_add(&pr, "module", b, (size_t)(colon - b));
    /* optional [pid ...], [client ...], [remote ...] */
    for (;;) {
        const char *q = p;
        if (!bracket(&q, end, &b, &bl)) break;
        if (app_starts(b, bl, "pid ")) {
            /* nothing to keep */
        } else if (app_starts(b, bl, "client ")) {
            app_set_ip_port(&ev->sourceip, &ev->sourceport, b + 7, bl - 7);
        } else if (!app_starts(b, bl, "remote ")) {
            break;
        }
        p = q;
    }
    while (p < end && *p == ' ')
        p++;
    const char *msg = p;
    size_t ml = (size_t)(end - p);
    uint32_t qid = DSM_QID(T, n);
    if (ml > 8 && msg[0] == 'A' && msg[1] == 'H' && msg[7] == ':' && app_all_digits(msg + 2, 5)) {
        dsm_props_add(&pr, "message_id", msg, 7);
        qid = dsm_qid_find(apache_ah_map, sizeof(apache_ah_map) / sizeof(apache_ah_map[0]), msg, 7,
                           qid);
        msg += 8;
        ml -= 8;
        while (ml && *msg == ' ')
            msg++, ml--;
    } else if (app_starts(msg, ml, "client denied by server configuration")) {
        qid = DSM_QID(T, Q_CLIENT_DENIED);
    } else if (app_starts(msg, ml, "File does not exist")) {
        qid = DSM_QID(T, Q_FILE_NOT_FOUND);
    } else if (app_starts(msg, ml, "caught SIGTERM")) {
        qid = DSM_QID(T, Q_STOPPING);
    } else if (app_find(msg, ml, "resuming normal operations")) {
        qid = DSM_QID(T, Q_STARTED);
    } else if (app_starts(msg, ml, "user ") && app_find(msg, ml, "authentication failure")) {
        qid = DSM_QID(T, Q_AUTH_FAILED);
    }
    /* user NAME: authentication failure / user NAME not found */
    if (qid == DSM_QID(T, Q_AUTH_FAILED) && app_starts(msg, ml, "user ")) {
        const char *u = msg + 5, *ue = u;
        while (ue < msg + ml && *ue != ':' && *ue != ' ')
            ue++;
        if (ue > u) {
            ev->username.p = u;
            ev->username.len = (uint32_t)(ue - u);
        }
    }
    if (t) ev->devicetime = t;
    dsm_props_commit(&pr, ev, arena);
    dsm_set_qid(ev, qid);
    ev->devicetype = T;
    return true;
}

/* ---------------------------------------------------------------- parse */

static bool apache_appname(const struct strm_event *ev)
{
    const char *a = ev->appname.p;
    size_t n = ev->appname.len;
    return app_eq(a, n, "httpd") || app_eq(a, n, "apache") || app_eq(a, n, "apache2") ||
           app_starts(a, n, "apache-") || app_starts(a, n, "apache2-") ||
           app_starts(a, n, "httpd-") || app_starts(a, n, "apache_");
}

static bool apache_parse(struct strm_event *ev, struct strm_arena *arena, const struct dsm_ctx *ctx)
{
    const char *m = ev->message.p;
    size_t n = ev->message.len;
    if (n < 20 || !m) return false;
    bool by_app = apache_appname(ev);
    /* fast shape gate for foreign appnames: CLF starts with an address or name, error with '[' */
    if (m[0] == '[') {
        return parse_error(ev, arena, ctx, by_app);
    }
    if (!by_app && !memchr(m, '[', n < 80 ? n : 80)) return false;
    struct app_clf c;
    if (!dsm_app_clf_parse(m, n, &c)) {
        if (!by_app) return false;
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

const struct dsm_def dsm_apache = {
    .name = "apache",
    .display = "Apache HTTP Server",
    .type_id = T,
    .qids = apache_qids,
    .n_qids = sizeof(apache_qids) / sizeof(apache_qids[0]),
    .init = NULL,
    .parse = apache_parse,
};
