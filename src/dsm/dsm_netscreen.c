/*
 * dsm_netscreen.c - Juniper NetScreen / ScreenOS firewalls.
 *
 * ScreenOS writes "NetScreen device_id=<name> [<vsys>]system-<level>-<id>(<type>): <text>",
 * e.g. the traffic log
 *   NetScreen device_id=fw1 [Root]system-notification-00257(traffic): start_time="..."
 *   duration=0 policy_id=2 service=http proto=6 src zone=Trust dst zone=Untrust
 *   action=Permit sent=0 rcvd=0 src=10.0.0.1 dst=1.2.3.4 src_port=51234 dst_port=80
 *   src-xlated ip=203.0.113.5 port=40001 dst-xlated ip=1.2.3.4 port=80 session_id=12
 * The five-digit message id (00257) is the event id. Traffic logs are key=value with a few
 * two-word keys ("src zone", "src-xlated ip ... port"), read with a small scanner that knows
 * them; traffic QIDs are refined by action (Permit/Deny/Reject/Tunnel). Screen attacks
 * ("Port scan! From a:p to b:q, proto TCP (zone Untrust, int ethernet3). Occurred 1 times.")
 * come at critical/alert/emergency level; their QID comes from the message id when known,
 * else from the attack name. Admin logins ("Admin user "x" logged in for Telnet management
 * from 10.0.0.5:1029") carry the user and source.
 *
 * Recognition: "NetScreen device_id=" within the first bytes of the message. Reads are
 * bounded by the message end; nothing is allocated outside the arena.
 */
#include "dsm/dsm.h"

#include <string.h>

#define T DSM_T_NETSCREEN
#define N(a) (sizeof(a) / sizeof((a)[0]))

enum {
    Q_TRAFFIC_PERMIT = 1,
    Q_TRAFFIC_DENY,
    Q_TRAFFIC_REJECT,
    Q_TRAFFIC_TUNNEL,
    Q_ADMIN_LOGIN,
    Q_ADMIN_LOGIN_FAILED,
    Q_ADMIN_LOGOUT,
    Q_CONFIG_CHANGE,
    Q_PORT_SCAN,
    Q_ADDRESS_SWEEP,
    Q_SYN_FLOOD,
    Q_ICMP_FLOOD,
    Q_UDP_FLOOD,
    Q_LAND,
    Q_PING_OF_DEATH,
    Q_IP_SPOOF,
    Q_TEARDROP,
    Q_ATTACK_OTHER,
};

static const struct qid_def ns_qids[] = {
    {DSM_QID(T, Q_TRAFFIC_PERMIT), "NetScreen Traffic Permitted", "Traffic permitted by policy",
     LLC_FIREWALL_PERMIT, 1},
    {DSM_QID(T, Q_TRAFFIC_DENY), "NetScreen Traffic Denied", "Traffic denied by policy",
     LLC_FIREWALL_DENY, 4},
    {DSM_QID(T, Q_TRAFFIC_REJECT), "NetScreen Traffic Rejected", "Traffic rejected by policy",
     LLC_FIREWALL_DENY, 4},
    {DSM_QID(T, Q_TRAFFIC_TUNNEL), "NetScreen Traffic Tunneled",
     "Traffic permitted into a VPN tunnel", LLC_FIREWALL_PERMIT, 1},
    {DSM_QID(T, Q_ADMIN_LOGIN), "NetScreen Admin Login Succeeded", "An administrator logged in",
     LLC_ADMIN_LOGIN_SUCCEEDED, 3},
    {DSM_QID(T, Q_ADMIN_LOGIN_FAILED), "NetScreen Admin Login Failed",
     "An administrator login attempt failed", LLC_ADMIN_LOGIN_FAILED, 6},
    {DSM_QID(T, Q_ADMIN_LOGOUT), "NetScreen Admin Logout", "An administrator logged out",
     LLC_HOST_LOGOUT, 1},
    {DSM_QID(T, Q_CONFIG_CHANGE), "NetScreen Configuration Changed",
     "The device configuration was changed", LLC_DEVICE_CONFIG_CHANGE, 4},
    {DSM_QID(T, Q_PORT_SCAN), "NetScreen Port Scan", "Screen detected a port scan",
     LLC_HOST_PORT_SCAN, 6},
    {DSM_QID(T, Q_ADDRESS_SWEEP), "NetScreen Address Sweep", "Screen detected an IP address sweep",
     LLC_NETWORK_SWEEP, 5},
    {DSM_QID(T, Q_SYN_FLOOD), "NetScreen SYN Flood", "Screen detected a SYN flood", LLC_TCP_DOS, 7},
    {DSM_QID(T, Q_ICMP_FLOOD), "NetScreen ICMP Flood", "Screen detected an ICMP flood",
     LLC_ICMP_DOS, 6},
    {DSM_QID(T, Q_UDP_FLOOD), "NetScreen UDP Flood", "Screen detected a UDP flood", LLC_UDP_DOS, 6},
    {DSM_QID(T, Q_LAND), "NetScreen Land Attack", "Screen detected a land attack", LLC_MISC_DOS, 7},
    {DSM_QID(T, Q_PING_OF_DEATH), "NetScreen Ping of Death", "Screen detected a ping of death",
     LLC_ICMP_DOS, 7},
    {DSM_QID(T, Q_IP_SPOOF), "NetScreen IP Spoofing", "Screen detected IP spoofing", LLC_IP_SPOOF,
     6},
    {DSM_QID(T, Q_TEARDROP), "NetScreen Teardrop Attack", "Screen detected a teardrop attack",
     LLC_OVERLAPPING_FRAGMENTS, 7},
    {DSM_QID(T, Q_ATTACK_OTHER), "NetScreen Screen Attack", "Screen detected an attack",
     LLC_SUSPICIOUS_PACKET, 5},
    {DSM_QID_UNKNOWN(T), "NetScreen Unknown Event", "A ScreenOS event this DSM does not map",
     LLC_UNKNOWN, 3},
};

/* Message id -> QID, sorted. Traffic (00257) is refined by action below. */
static const struct dsm_qid_map ns_map[] = {
    {"00016", DSM_QID(T, Q_PORT_SCAN)},          {"00017", DSM_QID(T, Q_ADDRESS_SWEEP)},
    {"00018", DSM_QID(T, Q_CONFIG_CHANGE)},      {"00257", DSM_QID(T, Q_TRAFFIC_PERMIT)},
    {"00515", DSM_QID(T, Q_ADMIN_LOGIN)},        {"00518", DSM_QID(T, Q_ADMIN_LOGIN_FAILED)},
    {"00519", DSM_QID(T, Q_ADMIN_LOGIN_FAILED)}, {"00528", DSM_QID(T, Q_ADMIN_LOGIN)},
    {"00767", DSM_QID(T, Q_CONFIG_CHANGE)},
};

/* Attack names in screen messages (text before the '!'). */
static const struct {
    const char *text;
    uint32_t n;
} ns_attacks[] = {
    {"Port scan", Q_PORT_SCAN},         {"address sweep", Q_ADDRESS_SWEEP},
    {"SYN flood", Q_SYN_FLOOD},         {"ICMP flood", Q_ICMP_FLOOD},
    {"UDP flood", Q_UDP_FLOOD},         {"Land attack", Q_LAND},
    {"Ping of Death", Q_PING_OF_DEATH}, {"IP spoofing", Q_IP_SPOOF},
    {"Teardrop", Q_TEARDROP},
};

static inline const char *nfind(const char *p, const char *e, const char *lit, size_t n)
{
    if (p >= e) return NULL;
    return strm_memmem(p, (size_t)(e - p), lit, n);
}
#define NFIND(p, e, lit) nfind(p, e, lit, sizeof(lit) - 1)

/* Value of `key=` (preceded by a space) in [p,e): quoted or up to the next space. */
static bool ns_kv(const char *p, const char *e, const char *key, size_t kl, const char **v,
                  size_t *vl)
{
    const char *q = p;
    while ((q = nfind(q, e, key, kl)) != NULL) {
        if (q == p || q[-1] == ' ') {
            const char *a = q + kl, *b;
            if (a < e && *a == '"') {
                a++;
                b = a;
                while (b < e && *b != '"')
                    b++;
            } else {
                b = a;
                while (b < e && *b != ' ')
                    b++;
            }
            *v = a;
            *vl = (size_t)(b - a);
            return true;
        }
        q += kl;
    }
    return false;
}
#define NSKV(p, e, key, v, vl) ns_kv(p, e, key, sizeof(key) - 1, v, vl)

/* "ip:port" (IPv4) into ip and port. */
static void ns_ipport(const char *a, const char *b, struct strm_ip *ip, uint16_t *port)
{
    const char *c = NULL;
    int n = 0;
    for (const char *q = a; q < b; q++)
        if (*q == ':') {
            c = q;
            n++;
        }
    if (n == 1) {
        dsm_set_ip(ip, a, (size_t)(c - a));
        dsm_set_port(port, c + 1, (size_t)(b - c - 1));
    } else {
        dsm_set_ip(ip, a, (size_t)(b - a));
    }
}

static void ns_traffic(struct strm_event *ev, struct dsm_props *pr, const char *p, const char *e,
                       uint32_t *qn)
{
    const char *v;
    size_t n;
    if (NSKV(p, e, "src=", &v, &n)) dsm_set_ip(&ev->sourceip, v, n);
    if (NSKV(p, e, "dst=", &v, &n)) dsm_set_ip(&ev->destinationip, v, n);
    if (NSKV(p, e, "src_port=", &v, &n)) dsm_set_port(&ev->sourceport, v, n);
    if (NSKV(p, e, "dst_port=", &v, &n)) dsm_set_port(&ev->destinationport, v, n);
    if (NSKV(p, e, "proto=", &v, &n)) ev->protocolid = dsm_protocol(v, n);
    if (NSKV(p, e, "action=", &v, &n)) {
        dsm_props_add(pr, "action", v, n);
        if (n >= 4 && memcmp(v, "Deny", 4) == 0)
            *qn = Q_TRAFFIC_DENY;
        else if (n >= 6 && memcmp(v, "Reject", 6) == 0)
            *qn = Q_TRAFFIC_REJECT;
        else if (n >= 6 && memcmp(v, "Tunnel", 6) == 0)
            *qn = Q_TRAFFIC_TUNNEL;
    }
    static const char *const keys[][2] = {
        {"policy_id=", "policy"}, {"service=", "service"},   {"sent=", "bytesout"},
        {"rcvd=", "bytesin"},     {"duration=", "duration"}, {"session_id=", "sessionid"},
        {"src zone=", "srczone"}, {"dst zone=", "dstzone"},
    };
    for (size_t i = 0; i < N(keys); i++)
        if (ns_kv(p, e, keys[i][0], strlen(keys[i][0]), &v, &n) && n > 0)
            dsm_props_add(pr, keys[i][1], v, n);
    /* reason is last and holds spaces ("Close - TCP FIN") */
    const char *r = NFIND(p, e, " reason=");
    if (r && e > r + 8) dsm_props_add(pr, "reason", r + 8, (size_t)(e - r - 8));
    /* "src-xlated ip=A port=P dst-xlated ip=B port=Q" */
    const char *sx = NFIND(p, e, "src-xlated ip=");
    const char *dx = NFIND(p, e, "dst-xlated ip=");
    if (sx) {
        const char *se = dx && dx > sx ? dx : e;
        if (NSKV(sx, se, "ip=", &v, &n) && dsm_set_ip(&ev->postnatsourceip, v, n)) {
            ev->prenatsourceip = ev->sourceip;
            ev->prenatsourceport = ev->sourceport;
        }
        if (NSKV(sx, se, "port=", &v, &n)) dsm_set_port(&ev->postnatsourceport, v, n);
    }
    if (dx) {
        const char *de = sx && sx > dx ? sx : e;
        struct strm_ip ip;
        uint16_t port = 0;
        memset(&ip, 0, sizeof(ip));
        if (NSKV(dx, de, "port=", &v, &n)) dsm_set_port(&port, v, n);
        /* an unchanged destination is no translation */
        if (NSKV(dx, de, "ip=", &v, &n) && dsm_set_ip(&ip, v, n) &&
            (strm_ip_cmp(&ip, &ev->destinationip) != 0 || port != ev->destinationport)) {
            ev->postnatdestinationip = ip;
            ev->postnatdestinationport = port;
            ev->prenatdestinationip = ev->destinationip;
            ev->prenatdestinationport = ev->destinationport;
        }
    }
}

/* "Attack! From a:p to b:q, proto TCP (zone Untrust, int ethernet3). Occurred 1 times." */
static void ns_attack(struct strm_event *ev, struct dsm_props *pr, const char *p, const char *e,
                      uint32_t *qn)
{
    const char *bang = memchr(p, '!', (size_t)(e - p));
    if (!bang) return;
    dsm_props_add(pr, "threat", p, (size_t)(bang - p));
    if (*qn == 0) {
        for (size_t i = 0; i < N(ns_attacks); i++)
            if (nfind(p, bang, ns_attacks[i].text, strlen(ns_attacks[i].text))) {
                *qn = ns_attacks[i].n;
                break;
            }
        if (*qn == 0) *qn = Q_ATTACK_OTHER;
    }
    const char *f = NFIND(bang, e, "From ");
    if (f) {
        const char *a = f + 5, *b = a;
        while (b < e && *b != ' ' && *b != ',')
            b++;
        ns_ipport(a, b, &ev->sourceip, &ev->sourceport);
        const char *t = NFIND(b, e, " to ");
        if (t) {
            a = t + 4;
            b = a;
            while (b < e && *b != ' ' && *b != ',')
                b++;
            ns_ipport(a, b, &ev->destinationip, &ev->destinationport);
        }
    }
    const char *pp = NFIND(bang, e, "proto ");
    if (pp) {
        const char *a = pp + 6, *b = a;
        while (b < e && *b != ' ' && *b != ',' && *b != ')')
            b++;
        ev->protocolid = dsm_protocol(a, (size_t)(b - a));
    }
    const char *z = NFIND(bang, e, "(zone ");
    if (z) {
        const char *a = z + 6, *b = a;
        while (b < e && *b != ',' && *b != ')')
            b++;
        dsm_props_add(pr, "srczone", a, (size_t)(b - a));
    }
    const char *in = NFIND(bang, e, " int ");
    if (in) {
        const char *a = in + 5, *b = a;
        while (b < e && *b != ')' && *b != ',')
            b++;
        dsm_props_add(pr, "ifin", a, (size_t)(b - a));
    }
}

/*
 * Admin texts: user in double quotes (or "by <user> via"), source as "from a.b.c.d:port",
 * "from host a.b.c.d" or "at host a.b.c.d".
 */
static void ns_admin(struct strm_event *ev, struct strm_arena *arena, const char *p, const char *e)
{
    const char *u = NFIND(p, e, "user \"");
    if (u) {
        const char *a = u + 6, *b = memchr(a, '"', (size_t)(e - a));
        if (b && b > a) dsm_set_str(&ev->username, arena, a, (size_t)(b - a));
    } else if ((u = NFIND(p, e, " by ")) != NULL) {
        const char *a = u + 4, *b = a;
        if (e - a > 6 && memcmp(a, "admin ", 6) == 0) a += 6;
        b = a;
        while (b < e && *b != ' ' && *b != '.')
            b++;
        if (b > a) dsm_set_str(&ev->username, arena, a, (size_t)(b - a));
    }
    const char *f = NFIND(p, e, " host ");
    if (f) {
        const char *a = f + 6, *b = a;
        while (b < e && *b != ' ' && *b != ',')
            b++;
        if (b > a && b[-1] == '.') b--;
        dsm_set_ip(&ev->sourceip, a, (size_t)(b - a));
        return;
    }
    f = NFIND(p, e, " from ");
    if (f) {
        const char *a = f + 6, *b = a;
        while (b < e && *b != ' ' && *b != ',')
            b++;
        if (b > a && b[-1] == '.') b--;
        ns_ipport(a, b, &ev->sourceip, &ev->sourceport);
    }
}

static bool ns_parse(struct strm_event *ev, struct strm_arena *arena, const struct dsm_ctx *ctx)
{
    (void)ctx;
    const char *m = ev->message.p;
    if (!m || ev->message.len < 40) return false;
    const char *e = m + ev->message.len;
    size_t lim = ev->message.len < 96 ? ev->message.len : 96;
    const char *nd = strm_memmem(m, lim, "NetScreen device_id=", 20);
    if (!nd) return false;
    /* [vsys]system-level-NNNNN(type): */
    const char *sys = NFIND(nd, e, "]system-");
    uint32_t qid = DSM_QID_UNKNOWN(T);
    uint32_t qn = 0;
    const char *text = e, *id = NULL;
    struct dsm_props pr;
    dsm_props_init(&pr);
    if (sys) {
        const char *lv = sys + 8, *dash = lv;
        while (dash < e && *dash != '-' && dash - lv < 16)
            dash++;
        if (dash + 6 <= e && *dash == '-') {
            id = dash + 1;
            bool digits = true;
            for (int i = 0; i < 5; i++)
                if (id[i] < '0' || id[i] > '9') digits = false;
            if (digits) {
                qid = dsm_qid_find(ns_map, N(ns_map), id, 5, DSM_QID_UNKNOWN(T));
                dsm_props_add(&pr, "eventid", id, 5);
                dsm_props_add(&pr, "level", lv, (size_t)(dash - lv));
            } else {
                id = NULL;
            }
        }
        const char *colon = NFIND(sys, e, "): ");
        if (colon)
            text = colon + 3;
        else if ((colon = memchr(sys, ':', (size_t)(e - sys))) != NULL)
            text = colon + 1;
        while (text < e && *text == ' ')
            text++;
    }
    if (qid != DSM_QID_UNKNOWN(T)) qn = qid - DSM_QID(T, 0);
    if (id && memcmp(id, "00257", 5) == 0) {
        ns_traffic(ev, &pr, text, e, &qn);
    } else if (text < e && memchr(text, '!', (size_t)(e - text)) && NFIND(text, e, "From ")) {
        ns_attack(ev, &pr, text, e, &qn);
    } else if (qn == Q_ADMIN_LOGIN || qn == Q_ADMIN_LOGIN_FAILED ||
               (text < e && NFIND(text, e, "Admin user \""))) {
        ns_admin(ev, arena, text, e);
        if (qn == 0) {
            if (NFIND(text, e, "failed"))
                qn = Q_ADMIN_LOGIN_FAILED;
            else if (NFIND(text, e, "logged out"))
                qn = Q_ADMIN_LOGOUT;
            else if (NFIND(text, e, "logged in"))
                qn = Q_ADMIN_LOGIN;
        }
    } else if (qn == Q_CONFIG_CHANGE || qn == Q_ADMIN_LOGOUT) {
        ns_admin(ev, arena, text, e);
    }
    if (qn) qid = DSM_QID(T, qn);
    dsm_props_commit(&pr, ev, arena);
    dsm_set_qid(ev, qid);
    ev->devicetype = T;
    return true;
}

const struct dsm_def dsm_netscreen = {
    .name = "netscreen",
    .display = "Juniper NetScreen ScreenOS",
    .type_id = T,
    .qids = ns_qids,
    .n_qids = N(ns_qids),
    .init = NULL,
    .parse = ns_parse,
};
