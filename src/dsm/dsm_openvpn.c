/*
 * dsm_openvpn.c - OpenVPN server (2.x community edition): client authentication, session
 * set-up and tear-down, TLS/certificate failures and server status, as logged to syslog
 * (appname "openvpn", or "openvpn-<instance>" / "ovpn-<instance>" from --daemon NAME).
 *
 * Messages about one client carry a prefix naming it: "1.2.3.4:51234 " before the
 * authentication completes, "bob/1.2.3.4:51234 " (common name / real address) afterwards, and
 * "[bob] " on a few lines. The texts mapped:
 *   TLS: Username/Password authentication succeeded for username 'bob'   VPN login succeeded
 *   AUTH-FAILED / ... authentication failed for username / Auth
 *     Username/Password verification failed                             VPN login failed
 *   VERIFY ERROR: depth=0, error=...: CN=bob                            certificate rejected
 *   VERIFY OK: depth=0, CN=bob                                          certificate accepted
 *   TLS: Initial packet from [AF_INET]1.2.3.4:51234                     session attempt
 *   [bob] Peer Connection Initiated with [AF_INET]1.2.3.4:51234         session established
 *   MULTI: Learn: 10.8.0.6 -> bob/1.2.3.4:51234 (MULTI_sva: pool...)    VPN address assigned
 *   SIGTERM[soft,remote-exit] received, client-instance exiting /
 *     client-instance restarting / Inactivity timeout                   VPN logout
 *   TLS Error: TLS handshake failed / TLS key negotiation failed        handshake failed
 *   Initialization Sequence Completed                                   server started
 *   SIGTERM[hard,] received, process exiting                            server stopped
 *   OpenVPN 2.x.y ... built on ...                                      version banner
 * username = the common name or the authenticated user; sourceip/port = the client's real
 * address; the address given out inside the tunnel is the property vpn_ip.
 *
 * Invariants: reads stay inside ev->message; strings point into it; no allocation.
 */
#include "dsm/app_common.h"

#define T DSM_T_OPENVPN

enum {
    Q_LOGIN_OK = 1,
    Q_LOGIN_FAILED,
    Q_PEER_INITIATED,
    Q_ADDRESS,
    Q_LOGOUT,
    Q_TLS_FAILED,
    Q_VERIFY_ERROR,
    Q_STARTED,
    Q_STOPPED,
    Q_VERIFY_OK,
    Q_VERSION,
    Q_INACTIVITY,
    Q_INITIAL_PACKET,
};

static const struct qid_def openvpn_qids[] = {
    {DSM_QID(T, Q_LOGIN_OK), "OpenVPN Login Succeeded",
     "Username/password authentication succeeded", LLC_VPN_LOGIN_SUCCEEDED, 1},
    {DSM_QID(T, Q_LOGIN_FAILED), "OpenVPN Login Failed",
     "Username/password authentication failed (AUTH-FAILED)", LLC_VPN_LOGIN_FAILED, 5},
    {DSM_QID(T, Q_PEER_INITIATED), "OpenVPN Session Established",
     "Peer Connection Initiated: the tunnel to a client is up", LLC_SESSION_OPENED, 1},
    {DSM_QID(T, Q_ADDRESS), "OpenVPN Tunnel Address Assigned",
     "MULTI: Learn: a tunnel address was bound to a client", LLC_MISC_NETWORK_COMMUNICATION, 1},
    {DSM_QID(T, Q_LOGOUT), "OpenVPN Logout", "The client instance exited or restarted",
     LLC_VPN_LOGOUT, 1},
    {DSM_QID(T, Q_TLS_FAILED), "OpenVPN TLS Handshake Failed",
     "TLS key negotiation / handshake with a peer failed", LLC_REMOTE_ACCESS_LOGIN_FAILED, 3},
    {DSM_QID(T, Q_VERIFY_ERROR), "OpenVPN Certificate Verification Failed",
     "VERIFY ERROR: the client's certificate was rejected", LLC_VPN_LOGIN_FAILED, 5},
    {DSM_QID(T, Q_STARTED), "OpenVPN Server Started", "Initialization Sequence Completed",
     LLC_SERVICE_STARTED, 1},
    {DSM_QID(T, Q_STOPPED), "OpenVPN Server Stopped", "The OpenVPN process is exiting",
     LLC_SERVICE_STOPPED, 3},
    {DSM_QID(T, Q_VERIFY_OK), "OpenVPN Certificate Verified",
     "VERIFY OK: a certificate was accepted", LLC_GENERAL_AUTH_SUCCEEDED, 1},
    {DSM_QID(T, Q_VERSION), "OpenVPN Version Banner", "Start-up banner with the version",
     LLC_SYSTEM_STATUS, 1},
    {DSM_QID(T, Q_INACTIVITY), "OpenVPN Inactivity Timeout",
     "A client session timed out (ping-restart / inactive)", LLC_SESSION_TERMINATED, 2},
    {DSM_QID(T, Q_INITIAL_PACKET), "OpenVPN Connection Attempt",
     "TLS: Initial packet from a new peer", LLC_SESSION_OPENED, 1},
    {DSM_QID_UNKNOWN(T), "OpenVPN Unknown Event", "An OpenVPN message that has no mapping",
     LLC_UNKNOWN, 3},
};

static void set_user(struct strm_event *ev, const char *p, size_t n)
{
    if (n == 0 || app_eq(p, n, "UNDEF")) return;
    ev->username.p = p;
    ev->username.len = (uint32_t)n;
}

/* "[AF_INET]1.2.3.4:51234" / "[AF_INET6]::1:51234" / "1.2.3.4:51234" at p. */
static void real_addr(struct strm_event *ev, const char *p, const char *end)
{
    if (p < end && *p == '[') {
        const char *rb = memchr(p, ']', (size_t)(end - p));
        if (!rb) return;
        p = rb + 1;
    }
    const char *e = p;
    while (e < end && *e != ' ' && *e != ',')
        e++;
    /* the port follows the last ':' (IPv6 addresses have more) */
    const char *c = e;
    while (c > p && c[-1] != ':')
        c--;
    if (c > p + 1 && dsm_set_ip(&ev->sourceip, p, (size_t)(c - 1 - p)))
        dsm_set_port(&ev->sourceport, c, (size_t)(e - c));
    else
        dsm_set_ip(&ev->sourceip, p, (size_t)(e - p));
}

/* 'quoted' after needle -> username. */
static void quoted_user(struct strm_event *ev, const char *x, const char *end, const char *needle)
{
    const char *f = app_find(x, (size_t)(end - x), needle);
    if (!f) return;
    const char *s = f + strlen(needle), *e = memchr(s, '\'', (size_t)(end - s));
    if (e) set_user(ev, s, (size_t)(e - s));
}

static uint32_t classify(const char *x, const char *end, struct strm_event *ev,
                         struct dsm_props *pr, bool has_client)
{
    size_t n = (size_t)(end - x);
    if (app_find(x, n, "authentication succeeded for username '")) {
        quoted_user(ev, x, end, "for username '");
        return Q_LOGIN_OK;
    }
    if (app_find(x, n, "AUTH-FAILED") || app_find(x, n, "authentication failed for username") ||
        app_find(x, n, "Username/Password verification failed") ||
        app_find(x, n, "PLUGIN_AUTH_USER_PASS_VERIFY failed")) {
        quoted_user(ev, x, end, "username '");
        return Q_LOGIN_FAILED;
    }
    if (app_starts(x, n, "VERIFY ERROR") || app_starts(x, n, "VERIFY OK")) {
        const char *cn = app_find(x, n, "CN=");
        if (cn) {
            const char *s = cn + 3, *e = s;
            while (e < end && *e != ',' && *e != ' ')
                e++;
            if (!ev->username.len) set_user(ev, s, (size_t)(e - s));
        }
        const char *er = app_find(x, n, "error=");
        if (er) {
            const char *s = er + 6, *e = memchr(s, ':', (size_t)(end - s));
            dsm_props_add(pr, "error", s, (size_t)((e ? e : end) - s));
        }
        return x[7] == 'E' ? Q_VERIFY_ERROR : Q_VERIFY_OK;
    }
    if (app_starts(x, n, "TLS: Initial packet from ")) {
        real_addr(ev, x + 25, end);
        return Q_INITIAL_PACKET;
    }
    const char *pc = app_find(x, n, "Peer Connection Initiated with ");
    if (pc) {
        real_addr(ev, pc + 31, end);
        return Q_PEER_INITIATED;
    }
    if (app_starts(x, n, "MULTI: Learn: ") || app_starts(x, n, "MULTI_sva: pool returned")) {
        const char *s = x + 14, *e;
        if (x[5] == '_') { /* "MULTI_sva: pool returned IPv4=10.8.0.6, IPv6=..." */
            const char *v4 = app_find(x, n, "IPv4=");
            if (!v4) return Q_ADDRESS;
            s = v4 + 5;
        }
        e = s;
        while (e < end && *e != ' ' && *e != ',')
            e++;
        dsm_props_add(pr, "vpn_ip", s, (size_t)(e - s));
        const char *arrow = app_find(x, n, " -> ");
        if (arrow) { /* "bob/1.2.3.4:51234" */
            const char *u = arrow + 4, *sl = memchr(u, '/', (size_t)(end - u));
            if (sl) {
                if (!ev->username.len) set_user(ev, u, (size_t)(sl - u));
                real_addr(ev, sl + 1, end);
            }
        }
        return Q_ADDRESS;
    }
    if (app_find(x, n, "client-instance exiting") || app_find(x, n, "client-instance restarting"))
        return Q_LOGOUT;
    if (app_find(x, n, "Inactivity timeout")) return Q_INACTIVITY;
    if (app_starts(x, n, "TLS Error: TLS handshake failed") ||
        app_starts(x, n, "TLS Error: TLS key negotiation failed"))
        return Q_TLS_FAILED;
    if (app_starts(x, n, "Initialization Sequence Completed")) return Q_STARTED;
    if (!has_client && app_find(x, n, "process exiting")) return Q_STOPPED;
    if (app_starts(x, n, "OpenVPN ") && app_find(x, n, "built on")) {
        const char *v = x + 8, *e = memchr(v, ' ', (size_t)(end - v));
        dsm_props_add(pr, "version", v, (size_t)((e ? e : end) - v));
        return Q_VERSION;
    }
    return 0;
}

static bool openvpn_appname(const struct strm_event *ev)
{
    const char *a = ev->appname.p;
    size_t n = ev->appname.len;
    return app_eq(a, n, "openvpn") || app_starts(a, n, "openvpn-") || app_starts(a, n, "ovpn-") ||
           app_starts(a, n, "openvpn@");
}

static bool openvpn_parse(struct strm_event *ev, struct strm_arena *arena,
                          const struct dsm_ctx *ctx)
{
    if (!openvpn_appname(ev)) return false;
    if (!ev->message.p) return false;
    const char *x = ev->message.p, *end = x + ev->message.len;
    struct dsm_props pr;
    dsm_props_init(&pr);
    bool has_client = false;
    /* client prefix: "cn/ip:port " or "ip:port " */
    const char *t, *p = x;
    size_t tl;
    if (app_tok(&p, end, &t, &tl) && tl > 2 && t[tl - 1] != ':') {
        const char *sl = memchr(t, '/', tl);
        const char *a = sl ? sl + 1 : t;
        size_t al = (size_t)(t + tl - a);
        const char *c = a + al;
        while (c > a && c[-1] != ':')
            c--;
        struct strm_ip ip;
        uint16_t port;
        if (c > a + 1 && dsm_set_ip(&ip, a, (size_t)(c - 1 - a)) &&
            dsm_set_port(&port, c, (size_t)(a + al - c))) {
            ev->sourceip = ip;
            ev->sourceport = port;
            if (sl) set_user(ev, t, (size_t)(sl - t));
            has_client = true;
            x = p;
            while (x < end && *x == ' ')
                x++;
        }
    }
    if (x < end && *x == '[') { /* "[bob] Peer Connection Initiated ..." */
        const char *rb = memchr(x, ']', (size_t)(end - x));
        if (rb && rb + 1 < end && rb[1] == ' ') {
            if (!ev->username.len) set_user(ev, x + 1, (size_t)(rb - x - 1));
            has_client = true;
            x = rb + 2;
        }
    }
    uint32_t qn = classify(x, end, ev, &pr, has_client);
    dsm_props_commit(&pr, ev, arena);
    dsm_set_qid(ev, qn ? DSM_QID(T, qn) : DSM_QID_UNKNOWN(T));
    ev->devicetype = T;
    return true;
}

const struct dsm_def dsm_openvpn = {
    .name = "openvpn",
    .display = "OpenVPN",
    .type_id = T,
    .qids = openvpn_qids,
    .n_qids = sizeof(openvpn_qids) / sizeof(openvpn_qids[0]),
    .init = NULL,
    .parse = openvpn_parse,
};
