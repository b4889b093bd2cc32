/*
 * dsm_postfix.c - Postfix MTA: smtpd, smtp/lmtp/local delivery agents, qmgr, cleanup,
 * postscreen and master, as logged to syslog with appname "postfix/<daemon>" (or
 * "postfix-<instance>/<daemon>", "postfix/submission/smtpd" for master.cf services).
 *
 * Messages are "[QUEUEID: ]text". The text shapes mapped:
 *   connect from host[ip] / disconnect from host[ip] ...           session open/close
 *   lost connection after CMD from host[ip]                        session terminated
 *   NOQUEUE: reject: RCPT from host[ip]: 554 5.7.1 <..>: reason;
 *     from=<a> to=<b> proto=ESMTP helo=<h>                         mail rejected
 *   QID: milter-reject: / QID: reject: (header/body checks)        mail rejected
 *   warning: host[ip]: SASL LOGIN authentication failed: ...       mail login failed
 *   QID: client=host[ip], sasl_method=PLAIN, sasl_username=bob     mail login succeeded
 *   QID: client=host[ip]                                           message accepted
 *   QID: to=<b>, relay=host[ip]:25, ..., status=sent|deferred|bounced (...)
 *   QID: from=<a>, size=N, nrcpt=N (queue active)                  message queued
 *   QID: removed, QID: message-id=<...>                            queue bookkeeping
 *   warning: hostname x does not resolve to address ip            forward-confirmed rDNS failed
 *   postscreen: CONNECT from [ip]:port to [ip]:port, PASS NEW/OLD, DNSBL rank N,
 *     PREGREET, DISCONNECT                                         screening
 *   master: daemon started / terminating on signal N               service start/stop
 * Fields: client/relay addresses, the SASL username, queue id, from/to, status and the SMTP
 * reply as properties. Any other postfix text gets the unknown QID.
 *
 * Invariants: reads stay inside ev->message; strings point into it; no allocation.
 */
#include "dsm/app_common.h"

#define T DSM_T_POSTFIX

enum {
    Q_CONNECT = 1,
    Q_DISCONNECT,
    Q_REJECT,
    Q_SASL_FAILED,
    Q_SASL_OK,
    Q_CLIENT,
    Q_SENT,
    Q_DEFERRED,
    Q_BOUNCED,
    Q_NO_RESOLVE,
    Q_LOST,
    Q_QUEUED,
    Q_REMOVED,
    Q_MESSAGE_ID,
    Q_PS_PASS,
    Q_PS_DNSBL,
    Q_PS_PREGREET,
    Q_STARTED,
    Q_STOPPED,
};

static const struct qid_def postfix_qids[] = {
    {DSM_QID(T, Q_CONNECT), "Postfix SMTP Connection Opened", "A client connected",
     LLC_SESSION_OPENED, 1},
    {DSM_QID(T, Q_DISCONNECT), "Postfix SMTP Connection Closed", "A client disconnected",
     LLC_SESSION_CLOSED, 1},
    {DSM_QID(T, Q_REJECT), "Postfix Mail Rejected",
     "A message or recipient was rejected (access restrictions, RBL, milter, checks)",
     LLC_MAIL_REJECTED, 3},
    {DSM_QID(T, Q_SASL_FAILED), "Postfix SASL Authentication Failed", "An SMTP AUTH attempt failed",
     LLC_MAIL_LOGIN_FAILED, 5},
    {DSM_QID(T, Q_SASL_OK), "Postfix SASL Authentication Succeeded",
     "A client authenticated with SMTP AUTH (sasl_username)", LLC_MAIL_LOGIN_SUCCEEDED, 1},
    {DSM_QID(T, Q_CLIENT), "Postfix Message Accepted from Client",
     "smtpd assigned a queue id to a client's message", LLC_MISC_NETWORK_COMMUNICATION, 1},
    {DSM_QID(T, Q_SENT), "Postfix Mail Delivered", "status=sent", LLC_MAIL_DELIVERED, 1},
    {DSM_QID(T, Q_DEFERRED), "Postfix Mail Deferred",
     "status=deferred: delivery failed temporarily, will retry", LLC_MAIL_REJECTED, 2},
    {DSM_QID(T, Q_BOUNCED), "Postfix Mail Bounced", "status=bounced: delivery failed permanently",
     LLC_MAIL_REJECTED, 3},
    {DSM_QID(T, Q_NO_RESOLVE), "Postfix Client Hostname Does Not Resolve",
     "The client's reverse DNS name does not resolve back to its address", LLC_SUSPICIOUS_ACTIVITY,
     3},
    {DSM_QID(T, Q_LOST), "Postfix Lost Connection", "The client dropped the connection",
     LLC_SESSION_TERMINATED, 2},
    {DSM_QID(T, Q_QUEUED), "Postfix Message Queued", "qmgr: message in the active queue",
     LLC_APPLICATION_INFO, 1},
    {DSM_QID(T, Q_REMOVED), "Postfix Message Removed", "qmgr: message removed from the queue",
     LLC_APPLICATION_INFO, 1},
    {DSM_QID(T, Q_MESSAGE_ID), "Postfix Message Received", "cleanup: message-id recorded",
     LLC_APPLICATION_INFO, 1},
    {DSM_QID(T, Q_PS_PASS), "Postfix Postscreen Client Passed",
     "postscreen: client passed the tests (PASS NEW / PASS OLD)", LLC_ACCESS_PERMITTED, 1},
    {DSM_QID(T, Q_PS_DNSBL), "Postfix Postscreen DNSBL Listed",
     "postscreen: client listed on DNS blocklists", LLC_MAIL_POLICY_VIOLATION, 4},
    {DSM_QID(T, Q_PS_PREGREET), "Postfix Postscreen Pregreet",
     "postscreen: client spoke before its turn (spambot behaviour)", LLC_SUSPICIOUS_ACTIVITY, 4},
    {DSM_QID(T, Q_STARTED), "Postfix Started", "master: daemon started", LLC_SERVICE_STARTED, 1},
    {DSM_QID(T, Q_STOPPED), "Postfix Stopped", "master: terminating on signal", LLC_SERVICE_STOPPED,
     3},
    {DSM_QID_UNKNOWN(T), "Postfix Unknown Event", "A Postfix message that has no mapping",
     LLC_UNKNOWN, 3},
};

/* "host[ip]" or "[ip]:port" starting somewhere in p: sets ip (and port when ":port"). */
static void host_bracket(const char *p, const char *end, struct strm_ip *ip, uint16_t *port,
                         struct dsm_props *pr, const char *hostkey)
{
    const char *lb = memchr(p, '[', (size_t)(end - p));
    if (!lb) return;
    const char *rb = memchr(lb, ']', (size_t)(end - lb));
    if (!rb) return;
    const char *h = lb;
    while (h > p && h[-1] != ' ' && h[-1] != '=')
        h--;
    if (hostkey && lb > h && !app_eq(h, (size_t)(lb - h), "unknown"))
        dsm_props_add(pr, hostkey, h, (size_t)(lb - h));
    dsm_set_ip(ip, lb + 1, (size_t)(rb - lb - 1));
    if (port && rb + 1 < end && rb[1] == ':') {
        const char *d = rb + 2, *de = d;
        while (de < end && *de >= '0' && *de <= '9')
            de++;
        dsm_set_port(port, d, (size_t)(de - d));
    }
}

/* Value of "key=" up to ',' or ' ' (or '>' for <...> values, brackets removed). */
static bool kv(const char *p, const char *end, const char *key, const char **v, size_t *vl)
{
    const char *k = app_find(p, (size_t)(end - p), key);
    while (k && k > p && k[-1] != ' ' && k[-1] != ',' && k[-1] != ';') {
        size_t kl = strlen(key);
        k = app_find(k + kl, (size_t)(end - k - kl), key);
    }
    if (!k) return false;
    const char *s = k + strlen(key), *e = s;
    if (s < end && *s == '<') {
        s++;
        e = memchr(s, '>', (size_t)(end - s));
        if (!e) e = end;
    } else {
        while (e < end && *e != ',' && *e != ' ')
            e++;
    }
    *v = s;
    *vl = (size_t)(e - s);
    return true;
}

static void add_kv(const char *p, const char *end, const char *key, const char *prop,
                   struct dsm_props *pr)
{
    const char *v;
    size_t vl;
    if (kv(p, end, key, &v, &vl)) dsm_props_add(pr, prop, v, vl);
}

static uint32_t postscreen(const char *x, const char *end, struct strm_event *ev,
                           struct dsm_props *pr)
{
    size_t n = (size_t)(end - x);
    if (app_starts(x, n, "CONNECT from ")) {
        host_bracket(x + 13, end, &ev->sourceip, &ev->sourceport, pr, NULL);
        const char *to = app_find(x, n, " to [");
        if (to) host_bracket(to + 4, end, &ev->destinationip, &ev->destinationport, pr, NULL);
        return Q_CONNECT;
    }
    uint32_t q = 0;
    if (app_starts(x, n, "PASS "))
        q = Q_PS_PASS;
    else if (app_starts(x, n, "DNSBL rank"))
        q = Q_PS_DNSBL;
    else if (app_starts(x, n, "PREGREET"))
        q = Q_PS_PREGREET;
    else if (app_starts(x, n, "DISCONNECT"))
        q = Q_DISCONNECT;
    if (q) {
        const char *f = app_find(x, n, "[");
        if (f) host_bracket(f, end, &ev->sourceip, &ev->sourceport, pr, NULL);
    }
    return q;
}

static uint32_t smtp_text(const char *x, const char *end, struct strm_event *ev,
                          struct dsm_props *pr)
{
    size_t n = (size_t)(end - x);
    if (app_starts(x, n, "connect from ")) {
        host_bracket(x + 13, end, &ev->sourceip, NULL, pr, "client_host");
        return Q_CONNECT;
    }
    if (app_starts(x, n, "disconnect from ")) {
        host_bracket(x + 16, end, &ev->sourceip, NULL, pr, "client_host");
        return Q_DISCONNECT;
    }
    if (app_starts(x, n, "lost connection after ")) {
        const char *f = app_find(x, n, " from ");
        if (f) host_bracket(f + 6, end, &ev->sourceip, NULL, pr, "client_host");
        return Q_LOST;
    }
    if (app_starts(x, n, "reject: ") || app_starts(x, n, "milter-reject: ")) {
        const char *f = app_find(x, n, " from ");
        if (f) host_bracket(f + 6, end, &ev->sourceip, NULL, pr, "client_host");
        const char *c = f ? app_find(f, (size_t)(end - f), "]: ") : NULL;
        if (c) { /* "554 5.7.1 <x>: Relay access denied" up to ';' */
            const char *s = c + 3, *e = memchr(s, ';', (size_t)(end - s));
            dsm_props_add(pr, "reply", s, (size_t)((e ? e : end) - s));
        }
        add_kv(x, end, "from=", "from", pr);
        add_kv(x, end, "to=", "to", pr);
        add_kv(x, end, "helo=", "helo", pr);
        return Q_REJECT;
    }
    if (app_starts(x, n, "warning: ")) {
        if (app_find(x, n, "authentication failed")) {
            host_bracket(x + 9, end, &ev->sourceip, NULL, pr, "client_host");
            const char *v;
            size_t vl;
            if (kv(x, end, "sasl_username=", &v, &vl) && vl) {
                ev->username.p = v;
                ev->username.len = (uint32_t)vl;
            }
            return Q_SASL_FAILED;
        }
        if (app_starts(x + 9, n - 9, "hostname ") && app_find(x, n, "does not resolve")) {
            const char *a = app_find(x, n, "to address ");
            if (a) {
                const char *s = a + 11, *e = s;
                while (e < end && *e != ':' && *e != ' ')
                    e++;
                /* IPv6 addresses contain ':'; take the whole token then */
                const char *e2 = s;
                while (e2 < end && *e2 != ' ')
                    e2++;
                if (!dsm_set_ip(&ev->sourceip, s, (size_t)(e - s)))
                    dsm_set_ip(&ev->sourceip, s, (size_t)(e2 - s - (e2[-1] == ':')));
            }
            const char *h = x + 18, *he = memchr(h, ' ', (size_t)(end - h));
            if (he) dsm_props_add(pr, "client_host", h, (size_t)(he - h));
            return Q_NO_RESOLVE;
        }
        return 0;
    }
    if (app_starts(x, n, "client=")) {
        host_bracket(x + 7, end, &ev->sourceip, NULL, pr, "client_host");
        const char *v;
        size_t vl;
        if (kv(x, end, "sasl_username=", &v, &vl) && vl) {
            ev->username.p = v;
            ev->username.len = (uint32_t)vl;
            add_kv(x, end, "sasl_method=", "sasl_method", pr);
            return Q_SASL_OK;
        }
        return Q_CLIENT;
    }
    const char *st = app_find(x, n, "status=");
    if (st && app_starts(x, n, "to=")) {
        add_kv(x, end, "to=", "to", pr);
        const char *r = app_find(x, n, "relay=");
        if (r) {
            const char *re = r + 6;
            while (re < end && *re != ',')
                re++;
            dsm_props_add(pr, "relay", r + 6, (size_t)(re - r - 6));
            host_bracket(r + 6, re, &ev->destinationip, &ev->destinationport, pr, NULL);
        }
        add_kv(x, end, "dsn=", "dsn", pr);
        const char *s = st + 7, *e = s;
        while (e < end && *e != ' ' && *e != ',')
            e++;
        dsm_props_add(pr, "status", s, (size_t)(e - s));
        if (app_eq(s, (size_t)(e - s), "sent")) return Q_SENT;
        if (app_eq(s, (size_t)(e - s), "deferred")) return Q_DEFERRED;
        if (app_eq(s, (size_t)(e - s), "bounced")) return Q_BOUNCED;
        return 0;
    }
    if (app_starts(x, n, "from=")) {
        add_kv(x, end, "from=", "from", pr);
        add_kv(x, end, "size=", "size", pr);
        add_kv(x, end, "nrcpt=", "nrcpt", pr);
        return Q_QUEUED;
    }
    if (app_eq(x, n, "removed")) return Q_REMOVED;
    if (app_starts(x, n, "message-id=")) {
        add_kv(x, end, "message-id=", "message_id", pr);
        return Q_MESSAGE_ID;
    }
    if (app_starts(x, n, "daemon started")) return Q_STARTED;
    if (app_starts(x, n, "terminating on signal")) return Q_STOPPED;
    return 0;
}

static bool postfix_parse(struct strm_event *ev, struct strm_arena *arena,
                          const struct dsm_ctx *ctx)
{
    const char *a = ev->appname.p;
    size_t an = ev->appname.len;
    if (!(app_starts(a, an, "postfix/") || app_starts(a, an, "postfix-"))) return false;
    if (!ev->message.p) return false;
    const char *x = ev->message.p, *end = x + ev->message.len;
    struct dsm_props pr;
    dsm_props_init(&pr);
    const char *daemon = a ? memrchr(a, '/', an) : NULL;
    daemon = daemon ? daemon + 1 : a;
    size_t dn = a ? (size_t)(a + an - daemon) : 0;
    if (dn) dsm_props_add(&pr, "daemon", daemon, dn);
    /* queue id: "NOQUEUE: " or an upper-case hex / long-form id followed by ": " */
    const char *q = x;
    while (q < end &&
           ((*q >= '0' && *q <= '9') || (*q >= 'A' && *q <= 'Z') || (*q >= 'a' && *q <= 'z')))
        q++;
    if (q > x && q + 1 < end && q[0] == ':' && q[1] == ' ' && q - x >= 6 &&
        !app_starts(x, (size_t)(end - x), "warning")) {
        if (!app_eq(x, (size_t)(q - x), "NOQUEUE"))
            dsm_props_add(&pr, "queue_id", x, (size_t)(q - x));
        x = q + 2;
    }
    uint32_t qn =
        app_eq(daemon, dn, "postscreen") ? postscreen(x, end, ev, &pr) : smtp_text(x, end, ev, &pr);
    if (!qn && app_eq(daemon, dn, "postscreen")) qn = smtp_text(x, end, ev, &pr);
    ev->protocolid = 6;
    dsm_props_commit(&pr, ev, arena);
    dsm_set_qid(ev, qn ? DSM_QID(T, qn) : DSM_QID_UNKNOWN(T));
    ev->devicetype = T;
    return true;
}

const struct dsm_def dsm_postfix = {
    .name = "postfix",
    .display = "Postfix",
    .type_id = T,
    .qids = postfix_qids,
    .n_qids = sizeof(postfix_qids) / sizeof(postfix_qids[0]),
    .init = NULL,
    .parse = postfix_parse,
};
