/*
 * dsm_pfsense.c - pfSense and OPNsense firewalls: the packet filter log (filterlog) and the
 * webConfigurator logins.
 *
 * filterlog writes one CSV line per logged packet, in the layout of the pfSense "Raw Filter
 * Log Format": rule number, sub rule, anchor, tracker (label on OPNsense), real interface,
 * reason, action, direction, IP version; then for IPv4: TOS, ECN, TTL, ID, offset, flags,
 * protocol id, protocol text; for IPv6: class, flow label, hop limit, protocol text, protocol
 * id; then length, source, destination; then for TCP and UDP source port, destination port,
 * data length (TCP continues with flags, sequence, ack, window, urg, options); ICMP and
 * others carry protocol-specific data which is not normalized.
 *
 * The event id is "filterlog:<action>" (pass, block, match, rdr, nat, binat...); a reason
 * other than "match" (bad-offset, fragment, short, normalize, ...) makes the QID the
 * suspicious-packet one. php-fpm lines of the webConfigurator ("Successful login for user
 * 'admin' from: 10.0.0.5", "webConfigurator authentication error for user 'x' from: ...")
 * and OPNsense's "Web GUI authentication error for 'x' from 10.0.0.5" map to admin login
 * QIDs.
 *
 * Recognition: appname "filterlog" (or a message that begins with "filterlog"), or appname
 * php-fpm/php/audit with one of the login phrases. Reads are bounded; fields are slices of
 * the message; nothing is allocated outside the arena.
 */
#include "dsm/dsm.h"

#include <string.h>

#define T DSM_T_PFSENSE
#define N(a) (sizeof(a) / sizeof((a)[0]))
#define PF_MAX 40

enum {
    Q_PASS = 1,
    Q_BLOCK,
    Q_MATCH,
    Q_NAT,
    Q_BAD_PACKET,
    Q_LOGIN_OK,
    Q_LOGIN_FAIL,
};

static const struct qid_def pf_qids[] = {
    {DSM_QID(T, Q_PASS), "pfSense Filter Pass", "The packet filter passed a packet (logged rule)",
     LLC_FIREWALL_PERMIT, 1},
    {DSM_QID(T, Q_BLOCK), "pfSense Filter Block", "The packet filter blocked a packet",
     LLC_FIREWALL_DENY, 4},
    {DSM_QID(T, Q_MATCH), "pfSense Filter Match", "A packet matched a logging rule",
     LLC_MISC_NETWORK_COMMUNICATION, 1},
    {DSM_QID(T, Q_NAT), "pfSense Filter NAT", "A packet was translated (rdr/nat/binat)",
     LLC_NAT_SUCCEEDED, 1},
    {DSM_QID(T, Q_BAD_PACKET), "pfSense Filter Bad Packet",
     "The packet filter logged a malformed or abnormal packet", LLC_SUSPICIOUS_PACKET, 5},
    {DSM_QID(T, Q_LOGIN_OK), "pfSense WebConfigurator Login Succeeded",
     "An administrator logged in to the web interface", LLC_ADMIN_LOGIN_SUCCEEDED, 3},
    {DSM_QID(T, Q_LOGIN_FAIL), "pfSense WebConfigurator Login Failed",
     "A web interface login failed", LLC_ADMIN_LOGIN_FAILED, 6},
    {DSM_QID_UNKNOWN(T), "pfSense Unknown Event", "A pfSense/OPNsense log this DSM does not map",
     LLC_UNKNOWN, 3},
};

static const struct dsm_qid_map pf_map[] = {
    {"filterlog:binat", DSM_QID(T, Q_NAT)},         {"filterlog:block", DSM_QID(T, Q_BLOCK)},
    {"filterlog:match", DSM_QID(T, Q_MATCH)},       {"filterlog:nat", DSM_QID(T, Q_NAT)},
    {"filterlog:pass", DSM_QID(T, Q_PASS)},         {"filterlog:rdr", DSM_QID(T, Q_NAT)},
    {"php:login-failed", DSM_QID(T, Q_LOGIN_FAIL)}, {"php:login-ok", DSM_QID(T, Q_LOGIN_OK)},
};

struct pf_f {
    const char *p;
    uint32_t n;
};

static inline bool appname_is(const struct strm_event *ev, const char *lit)
{
    size_t n = strlen(lit);
    return ev->appname.len == n && memcmp(ev->appname.p, lit, n) == 0;
}

static void prop(struct dsm_props *pr, const char *k, struct pf_f f)
{
    if (f.n) dsm_props_add(pr, k, f.p, f.n);
}

static bool pf_filterlog(struct strm_event *ev, struct strm_arena *arena, const char *p,
                         const char *e)
{
    struct pf_f f[PF_MAX];
    int nf = 0;
    while (nf < PF_MAX) {
        const char *a = p;
        while (p < e && *p != ',')
            p++;
        f[nf].p = a;
        f[nf].n = (uint32_t)(p - a);
        nf++;
        if (p >= e) break;
        p++;
    }
    if (nf < 9) return false;
    struct pf_f none = {"", 0};
#define F(i) ((i) < nf ? f[i] : none)
    struct dsm_props pr;
    dsm_props_init(&pr);
    prop(&pr, "rule", f[0]);
    prop(&pr, "tracker", f[3]);
    prop(&pr, "ifin", f[4]);
    prop(&pr, "reason", f[5]);
    prop(&pr, "action", f[6]);
    prop(&pr, "direction", f[7]);
    int i; /* index of "length" */
    uint8_t proto = 0;
    if (f[8].n == 1 && f[8].p[0] == '4') {
        uint64_t x;
        if (dsm_parse_uint(F(15).p, F(15).n, 255, &x))
            proto = (uint8_t)x;
        else
            proto = dsm_protocol(F(16).p, F(16).n);
        i = 17;
    } else if (f[8].n == 1 && f[8].p[0] == '6') {
        uint64_t x;
        if (dsm_parse_uint(F(13).p, F(13).n, 255, &x))
            proto = (uint8_t)x;
        else
            proto = dsm_protocol(F(12).p, F(12).n);
        i = 14;
    } else {
        i = -1;
    }
    if (i > 0) {
        ev->protocolid = proto;
        prop(&pr, "length", F(i));
        dsm_set_ip(&ev->sourceip, F(i + 1).p, F(i + 1).n);
        dsm_set_ip(&ev->destinationip, F(i + 2).p, F(i + 2).n);
        if (proto == 6 || proto == 17) {
            dsm_set_port(&ev->sourceport, F(i + 3).p, F(i + 3).n);
            dsm_set_port(&ev->destinationport, F(i + 4).p, F(i + 4).n);
            if (proto == 6) prop(&pr, "tcpflags", F(i + 6));
        } else if ((proto == 1 || proto == 58) && !memchr(F(i + 3).p, '=', F(i + 3).n)) {
            prop(&pr, "icmptype", F(i + 3));
        }
    }
    char id[48];
    size_t idl = 0;
    if (f[6].n < 24) {
        memcpy(id, "filterlog:", 10);
        memcpy(id + 10, f[6].p, f[6].n);
        idl = 10 + f[6].n;
    }
    dsm_props_add(&pr, "eventid", id, idl);
    uint32_t qid = dsm_qid_find(pf_map, N(pf_map), id, idl, DSM_QID_UNKNOWN(T));
    if (f[5].n && !(f[5].n == 5 && memcmp(f[5].p, "match", 5) == 0) && qid != DSM_QID_UNKNOWN(T))
        qid = DSM_QID(T, Q_BAD_PACKET);
    dsm_props_commit(&pr, ev, arena);
    dsm_set_qid(ev, qid);
    ev->devicetype = T;
    return true;
#undef F
}

/* webConfigurator logins (pfSense php-fpm, OPNsense audit). */
static bool pf_login(struct strm_event *ev, struct strm_arena *arena, const char *p, const char *e)
{
    size_t len = (size_t)(e - p);
    bool ok = strm_memmem(p, len, "Successful login for user '", 27) != NULL;
    bool fail = !ok && (strm_memmem(p, len, "authentication error for ", 25) != NULL);
    if (!ok && !fail) return false;
    const char *u = memchr(p, '\'', len);
    struct strm_str user = {NULL, 0};
    if (u) {
        const char *b = memchr(u + 1, '\'', (size_t)(e - u - 1));
        if (b) {
            user.p = u + 1;
            user.len = (uint32_t)(b - u - 1);
        }
    }
    const char *fr = strm_memmem(p, len, "from: ", 6);
    size_t skip = 6;
    if (!fr) {
        fr = strm_memmem(p, len, " from ", 6);
        skip = 6;
    }
    if (user.len) dsm_set_str(&ev->username, arena, user.p, user.len);
    if (fr) {
        const char *a = fr + skip, *b = a;
        while (b < e && *b != ' ' && *b != ',')
            b++;
        dsm_set_ip(&ev->sourceip, a, (size_t)(b - a));
    }
    struct dsm_props pr;
    dsm_props_init(&pr);
    const char *id = ok ? "php:login-ok" : "php:login-failed";
    dsm_props_add(&pr, "eventid", id, strlen(id));
    dsm_props_commit(&pr, ev, arena);
    dsm_set_qid(ev, dsm_qid_find(pf_map, N(pf_map), id, strlen(id), DSM_QID_UNKNOWN(T)));
    ev->devicetype = T;
    return true;
}

static bool pf_parse(struct strm_event *ev, struct strm_arena *arena, const struct dsm_ctx *ctx)
{
    (void)ctx;
    const char *m = ev->message.p;
    if (!m || ev->message.len < 10) return false;
    const char *e = m + ev->message.len;
    if (appname_is(ev, "filterlog")) return pf_filterlog(ev, arena, m, e);
    if (ev->message.len > 12 && memcmp(m, "filterlog", 9) == 0) {
        /* header not parsed: "filterlog[123]: csv" or "filterlog: csv" */
        const char *c = memchr(m, ':', ev->message.len < 24 ? ev->message.len : 24);
        if (!c) return false;
        c++;
        while (c < e && *c == ' ')
            c++;
        return pf_filterlog(ev, arena, c, e);
    }
    if (appname_is(ev, "php-fpm") || appname_is(ev, "php") || appname_is(ev, "php-cgi") ||
        appname_is(ev, "audit"))
        return pf_login(ev, arena, m, e);
    return false;
}

const struct dsm_def dsm_pfsense = {
    .name = "pfsense",
    .display = "pfSense",
    .type_id = T,
    .qids = pf_qids,
    .n_qids = N(pf_qids),
    .init = NULL,
    .parse = pf_parse,
};
