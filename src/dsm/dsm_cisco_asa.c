/*
 * dsm_cisco_asa.c - Cisco ASA, PIX, FWSM and Firepower Threat Defense (FTD).
 *
 * Every message carries "%ASA-<sev>-<id>: <text>" (or %FTD-, %PIX-, %FWSM-), after an
 * optional syslog header whose timestamp may hold a year ("Nov 25 2024 10:00:00") and an
 * optional device id ("fw01 : %ASA-..."). The six-digit id is the event id and maps to a QID
 * by binary search; some ids are refined by a word of the text (106100 permitted/denied,
 * 430002/430003 Allow/Block).
 *
 * Connection texts name endpoints as "iface:ip/port", optionally followed by the mapped
 * (NAT) socket in parentheses: "for outside:1.2.3.4/51234 (1.2.3.4/51234) to
 * inside:10.0.0.5/443 (203.0.113.5/443)". A generic scanner collects the first endpoints of
 * any of the shapes the messages use (iface:ip/port, ip/port, iface/ip(port), bare ip) with
 * their mapped twins, and the id decides who is source: "Built outbound" lists the responder
 * first, so it is swapped. For the initiator the real address is pre-NAT and the mapped one
 * post-NAT; for the responder it is the other way round (the client aimed at the mapped
 * address). FTD connection events (430002/430003) and the VPN/AAA messages are "Key: value"
 * or "Group <g> User <u> IP <ip>" texts read by small key lookups.
 *
 * Recognition: "%ASA-" (or the other three) within the first 160 bytes of the message, or
 * of the payload when the syslog header parser kept it there. Reads are bounded; strings
 * point into the payload or the arena.
 */
#include "dsm/dsm.h"

#include <string.h>

#define T DSM_T_CISCO_ASA
#define N(a) (sizeof(a) / sizeof((a)[0]))

enum {
    Q_106001 = 1,
    Q_106006,
    Q_106007,
    Q_106014,
    Q_106015,
    Q_106021,
    Q_106023,
    Q_106100_PERMIT,
    Q_106100_DENY,
    Q_302013,
    Q_302014,
    Q_302015,
    Q_302016,
    Q_302020,
    Q_302021,
    Q_305011,
    Q_305012,
    Q_313001,
    Q_313004,
    Q_313005,
    Q_401004,
    Q_419001,
    Q_430002_ALLOW,
    Q_430002_BLOCK,
    Q_430003,
    Q_502103,
    Q_605004,
    Q_605005,
    Q_611101,
    Q_611102,
    Q_111008,
    Q_111009,
    Q_113004,
    Q_113005,
    Q_113019,
    Q_716001,
    Q_716002,
    Q_722022,
    Q_722023,
    Q_722051,
    Q_733100,
    Q_710003,
    Q_IPS_ATTACK,
    Q_IPS_RECON,
};

static const struct qid_def asa_qids[] = {
    {DSM_QID(T, Q_106001), "ASA Inbound TCP Connection Denied",
     "106001: inbound TCP connection denied", LLC_FIREWALL_DENY, 5},
    {DSM_QID(T, Q_106006), "ASA Inbound UDP Denied", "106006: inbound UDP denied",
     LLC_FIREWALL_DENY, 5},
    {DSM_QID(T, Q_106007), "ASA Inbound UDP DNS Denied", "106007: inbound UDP (DNS) denied",
     LLC_FIREWALL_DENY, 5},
    {DSM_QID(T, Q_106014), "ASA Inbound ICMP Denied", "106014: inbound ICMP denied",
     LLC_FIREWALL_DENY, 4},
    {DSM_QID(T, Q_106015), "ASA TCP No Connection Denied",
     "106015: TCP packet without connection denied", LLC_FIREWALL_DENY, 3},
    {DSM_QID(T, Q_106021), "ASA Reverse Path Check Denied",
     "106021: packet failed the reverse path check (spoofing)", LLC_IP_SPOOF, 6},
    {DSM_QID(T, Q_106023), "ASA Access Group Denied", "106023: packet denied by access group",
     LLC_ACL_DENY, 5},
    {DSM_QID(T, Q_106100_PERMIT), "ASA Access List Permitted",
     "106100: access list permitted a flow", LLC_ACL_PERMIT, 1},
    {DSM_QID(T, Q_106100_DENY), "ASA Access List Denied", "106100: access list denied a flow",
     LLC_ACL_DENY, 5},
    {DSM_QID(T, Q_302013), "ASA Built TCP Connection", "302013: TCP connection built",
     LLC_FIREWALL_SESSION_OPENED, 1},
    {DSM_QID(T, Q_302014), "ASA Teardown TCP Connection", "302014: TCP connection torn down",
     LLC_FIREWALL_SESSION_CLOSED, 1},
    {DSM_QID(T, Q_302015), "ASA Built UDP Connection", "302015: UDP connection built",
     LLC_FIREWALL_SESSION_OPENED, 1},
    {DSM_QID(T, Q_302016), "ASA Teardown UDP Connection", "302016: UDP connection torn down",
     LLC_FIREWALL_SESSION_CLOSED, 1},
    {DSM_QID(T, Q_302020), "ASA Built ICMP Connection", "302020: ICMP connection built",
     LLC_FIREWALL_SESSION_OPENED, 1},
    {DSM_QID(T, Q_302021), "ASA Teardown ICMP Connection", "302021: ICMP connection torn down",
     LLC_FIREWALL_SESSION_CLOSED, 1},
    {DSM_QID(T, Q_305011), "ASA Built Translation", "305011: NAT translation built",
     LLC_NAT_SUCCEEDED, 1},
    {DSM_QID(T, Q_305012), "ASA Teardown Translation", "305012: NAT translation torn down",
     LLC_NAT_SUCCEEDED, 1},
    {DSM_QID(T, Q_313001), "ASA ICMP Denied", "313001: ICMP packet denied", LLC_FIREWALL_DENY, 3},
    {DSM_QID(T, Q_313004), "ASA ICMP No Matching Session",
     "313004: ICMP reply without session denied", LLC_FIREWALL_DENY, 3},
    {DSM_QID(T, Q_313005), "ASA ICMP Error No Connection",
     "313005: ICMP error without matching connection", LLC_SUSPICIOUS_PACKET, 4},
    {DSM_QID(T, Q_401004), "ASA Shunned Packet", "401004: packet from a shunned host dropped",
     LLC_IPS_DENY, 6},
    {DSM_QID(T, Q_419001), "ASA Dropping TCP Packet", "419001: TCP packet dropped (invalid)",
     LLC_SUSPICIOUS_PACKET, 4},
    {DSM_QID(T, Q_430002_ALLOW), "FTD Connection Start Allowed",
     "430002: connection start event, allowed", LLC_FIREWALL_PERMIT, 1},
    {DSM_QID(T, Q_430002_BLOCK), "FTD Connection Blocked",
     "430002: connection blocked by access control", LLC_FIREWALL_DENY, 5},
    {DSM_QID(T, Q_430003), "FTD Connection End", "430003: connection end event",
     LLC_FIREWALL_SESSION_CLOSED, 1},
    {DSM_QID(T, Q_502103), "ASA User Privilege Level Changed",
     "502103: user privilege level changed", LLC_USER_ACCOUNT_CHANGED, 5},
    {DSM_QID(T, Q_605004), "ASA Admin Login Denied", "605004: management login denied",
     LLC_ADMIN_LOGIN_FAILED, 6},
    {DSM_QID(T, Q_605005), "ASA Admin Login Permitted", "605005: management login permitted",
     LLC_ADMIN_LOGIN_SUCCEEDED, 3},
    {DSM_QID(T, Q_611101), "ASA User Authentication Succeeded",
     "611101: user authentication succeeded", LLC_ADMIN_LOGIN_SUCCEEDED, 3},
    {DSM_QID(T, Q_611102), "ASA User Authentication Failed", "611102: user authentication failed",
     LLC_ADMIN_LOGIN_FAILED, 6},
    {DSM_QID(T, Q_111008), "ASA User Executed Command", "111008: user executed a command",
     LLC_AUDIT_USER_ACTION, 2},
    {DSM_QID(T, Q_111009), "ASA User Executed Configuration Command",
     "111009: user executed a configuration command", LLC_DEVICE_CONFIG_CHANGE, 3},
    {DSM_QID(T, Q_113004), "ASA AAA Authentication Succeeded",
     "113004: AAA user authentication successful", LLC_AUTH_SERVER_LOGIN_SUCCEEDED, 2},
    {DSM_QID(T, Q_113005), "ASA AAA Authentication Rejected",
     "113005: AAA user authentication rejected", LLC_AUTH_SERVER_LOGIN_FAILED, 5},
    {DSM_QID(T, Q_113019), "ASA VPN Session Disconnected", "113019: VPN session disconnected",
     LLC_VPN_LOGOUT, 2},
    {DSM_QID(T, Q_716001), "ASA WebVPN Session Started", "716001: WebVPN session started",
     LLC_VPN_LOGIN_SUCCEEDED, 2},
    {DSM_QID(T, Q_716002), "ASA WebVPN Session Terminated", "716002: WebVPN session terminated",
     LLC_VPN_LOGOUT, 2},
    {DSM_QID(T, Q_722022), "ASA AnyConnect Connection Established",
     "722022: SVC connection established", LLC_VPN_LOGIN_SUCCEEDED, 2},
    {DSM_QID(T, Q_722023), "ASA AnyConnect Connection Terminated",
     "722023: SVC connection terminated", LLC_VPN_LOGOUT, 2},
    {DSM_QID(T, Q_722051), "ASA AnyConnect Address Assigned",
     "722051: address assigned to VPN session", LLC_REMOTE_ACCESS_LOGIN_SUCCEEDED, 2},
    {DSM_QID(T, Q_733100), "ASA Threat Detection Rate Exceeded",
     "733100: threat detection drop rate exceeded", LLC_MISC_DOS, 7},
    {DSM_QID(T, Q_710003), "ASA Management Access Denied",
     "710003: TCP/UDP access to the device denied", LLC_ACL_DENY, 4},
    {DSM_QID(T, Q_IPS_ATTACK), "ASA IPS Attack Signature",
     "400xxx: built-in IPS attack signature matched", LLC_SUSPICIOUS_PACKET, 6},
    {DSM_QID(T, Q_IPS_RECON), "ASA IPS Informational Signature",
     "400xxx: built-in IPS informational (recon) signature matched", LLC_ICMP_RECON, 4},
    {DSM_QID_UNKNOWN(T), "Cisco ASA Unknown Event", "An ASA message this DSM does not map",
     LLC_UNKNOWN, 3},
};

static const struct dsm_qid_map asa_map[] = {
    {"106001", DSM_QID(T, Q_106001)},       {"106006", DSM_QID(T, Q_106006)},
    {"106007", DSM_QID(T, Q_106007)},       {"106014", DSM_QID(T, Q_106014)},
    {"106015", DSM_QID(T, Q_106015)},       {"106021", DSM_QID(T, Q_106021)},
    {"106023", DSM_QID(T, Q_106023)},       {"106100", DSM_QID(T, Q_106100_PERMIT)},
    {"111008", DSM_QID(T, Q_111008)},       {"111009", DSM_QID(T, Q_111009)},
    {"113004", DSM_QID(T, Q_113004)},       {"113005", DSM_QID(T, Q_113005)},
    {"113019", DSM_QID(T, Q_113019)},       {"302013", DSM_QID(T, Q_302013)},
    {"302014", DSM_QID(T, Q_302014)},       {"302015", DSM_QID(T, Q_302015)},
    {"302016", DSM_QID(T, Q_302016)},       {"302020", DSM_QID(T, Q_302020)},
    {"302021", DSM_QID(T, Q_302021)},       {"305011", DSM_QID(T, Q_305011)},
    {"305012", DSM_QID(T, Q_305012)},       {"313001", DSM_QID(T, Q_313001)},
    {"313004", DSM_QID(T, Q_313004)},       {"313005", DSM_QID(T, Q_313005)},
    {"401004", DSM_QID(T, Q_401004)},       {"419001", DSM_QID(T, Q_419001)},
    {"430002", DSM_QID(T, Q_430002_ALLOW)}, {"430003", DSM_QID(T, Q_430003)},
    {"502103", DSM_QID(T, Q_502103)},       {"605004", DSM_QID(T, Q_605004)},
    {"605005", DSM_QID(T, Q_605005)},       {"611101", DSM_QID(T, Q_611101)},
    {"611102", DSM_QID(T, Q_611102)},       {"710003", DSM_QID(T, Q_710003)},
    {"716001", DSM_QID(T, Q_716001)},       {"716002", DSM_QID(T, Q_716002)},
    {"722022", DSM_QID(T, Q_722022)},       {"722023", DSM_QID(T, Q_722023)},
    {"722051", DSM_QID(T, Q_722051)},       {"733100", DSM_QID(T, Q_733100)},
};

static inline const char *afind(const char *p, const char *e, const char *lit, size_t n)
{
    if (p >= e) return NULL;
    return strm_memmem(p, (size_t)(e - p), lit, n);
}
#define AFIND(p, e, lit) afind(p, e, lit, sizeof(lit) - 1)

struct asa_ep {
    struct strm_ip ip, mip;
    uint16_t port, mport;
    bool has_mapped;
    const char *ifn;
    size_t ifl;
};

/* Parses "ip[/port]" or "ip(port)"; false when ip does not parse. */
static bool asa_ipport(const char *a, const char *b, struct strm_ip *ip, uint16_t *port)
{
    const char *s = NULL;
    if (b > a && b[-1] == ')') {
        const char *o = memchr(a, '(', (size_t)(b - a));
        if (!o) return false;
        if (!dsm_set_ip(ip, a, (size_t)(o - a))) return false;
        dsm_set_port(port, o + 1, (size_t)(b - 1 - o - 1));
        return true;
    }
    for (const char *q = a; q < b; q++)
        if (*q == '/') s = q;
    if (!s) return dsm_set_ip(ip, a, (size_t)(b - a));
    if (!dsm_set_ip(ip, a, (size_t)(s - a))) return false;
    dsm_set_port(port, s + 1, (size_t)(b - s - 1));
    return true;
}

/* One endpoint token: "iface:ip/port", "iface/ip(port)", "ip/port", "ip". */
static bool asa_endpoint(const char *a, const char *b, struct asa_ep *ep)
{
    while (b > a && (b[-1] == ',' || b[-1] == ';' || (b[-1] == ':' && b - a > 1)))
        b--;
    if (a >= b || !((*a >= '0' && *a <= '9') || (*a >= 'a' && *a <= 'z') ||
                    (*a >= 'A' && *a <= 'Z') || *a == ':'))
        return false;
    if (asa_ipport(a, b, &ep->ip, &ep->port)) return true;
    /* interface prefix: up to the first ':' (or '/' for the 106100 form) */
    for (const char *q = a; q < b; q++) {
        if (*q == ':' || *q == '/') {
            if (asa_ipport(q + 1, b, &ep->ip, &ep->port)) {
                ep->ifn = a;
                ep->ifl = (size_t)(q - a);
                return true;
            }
            return false;
        }
    }
    return false;
}

/* Collects up to `max` endpoints (with mapped twins) from the text. */
static int asa_endpoints(const char *p, const char *e, struct asa_ep *eps, int max, uint8_t *proto)
{
    int n = 0;
    const char *q = p;
    while (q < e) {
        while (q < e && *q == ' ')
            q++;
        const char *t = q;
        while (t < e && *t != ' ')
            t++;
        if (t == q) break;
        if (n == max && *q != '(') break; /* done, but the last endpoint's mapped twin may follow */
        if (*q == '(' && n > 0 && t[-1] == ')') {
            struct asa_ep *last = &eps[n - 1];
            if (!last->has_mapped && asa_ipport(q + 1, t - 1, &last->mip, &last->mport))
                last->has_mapped = true;
        } else if (*q == '"' || *q == '[') {
            /* acl names and hash pairs: skip */
        } else {
            struct asa_ep ep;
            memset(&ep, 0, sizeof(ep));
            bool digit_or_colon = false;
            for (const char *c = q; c < t; c++)
                if (*c == '.' || *c == ':') {
                    digit_or_colon = true;
                    break;
                }
            if (digit_or_colon && asa_endpoint(q, t, &ep)) {
                eps[n++] = ep;
            } else if (n == 0 && proto && *proto == 0) {
                bool alpha = true;
                for (const char *c = q; c < t; c++)
                    if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z'))) alpha = false;
                if (alpha && t - q <= 6) *proto = dsm_protocol(q, (size_t)(t - q));
            }
        }
        q = t;
    }
    return n;
}

/* "Key: value," (FTD) or "Key = value," (VPN) lookups. */
static bool asa_key(const char *p, const char *e, const char *key, size_t kl, const char **v,
                    size_t *vl)
{
    const char *q = p;
    while ((q = afind(q, e, key, kl)) != NULL) {
        if (q == p || q[-1] == ' ' || q[-1] == ',') {
            const char *a = q + kl;
            while (a < e && *a == ' ')
                a++;
            const char *b = a;
            while (b < e && *b != ',')
                b++;
            while (b > a && (b[-1] == ' ' || b[-1] == '.'))
                b--;
            *v = a;
            *vl = (size_t)(b - a);
            return true;
        }
        q += kl;
    }
    return false;
}
#define ASAKEY(p, e, key, v, vl) asa_key(p, e, key, sizeof(key) - 1, v, vl)

/* "Word <value>" (AnyConnect/WebVPN: Group <g> User <u> IP <ip>). */
static bool asa_angle(const char *p, const char *e, const char *key, size_t kl, const char **v,
                      size_t *vl)
{
    const char *q = afind(p, e, key, kl);
    if (!q) return false;
    const char *a = q + kl, *b = memchr(a, '>', (size_t)(e - a));
    if (!b) return false;
    *v = a;
    *vl = (size_t)(b - a);
    return true;
}
#define ASAANGLE(p, e, key, v, vl) asa_angle(p, e, key, sizeof(key) - 1, v, vl)

static void asa_user(struct strm_event *ev, struct strm_arena *arena, const char *v, size_t n)
{
    if (n > 0 && n < 256 && !ev->username.len) dsm_set_str(&ev->username, arena, v, n);
}

/* Text between `open` and `close` after the lead string. */
static bool asa_between(const char *p, const char *e, const char *lead, size_t ll, char close,
                        const char **v, size_t *vl)
{
    const char *q = afind(p, e, lead, ll);
    if (!q) return false;
    const char *a = q + ll, *b = memchr(a, close, (size_t)(e - a));
    if (!b) return false;
    *v = a;
    *vl = (size_t)(b - a);
    return true;
}

static void asa_ftd(struct strm_event *ev, struct strm_arena *arena, struct dsm_props *pr,
                    const char *p, const char *e)
{
    const char *v;
    size_t n;
    if (ASAKEY(p, e, "SrcIP:", &v, &n)) dsm_set_ip(&ev->sourceip, v, n);
    if (ASAKEY(p, e, "DstIP:", &v, &n)) dsm_set_ip(&ev->destinationip, v, n);
    if (ASAKEY(p, e, "SrcPort:", &v, &n)) dsm_set_port(&ev->sourceport, v, n);
    if (ASAKEY(p, e, "DstPort:", &v, &n)) dsm_set_port(&ev->destinationport, v, n);
    if (ASAKEY(p, e, "Protocol:", &v, &n)) ev->protocolid = dsm_protocol(v, n);
    if (ASAKEY(p, e, "User:", &v, &n) && !(n == 12 && memcmp(v, "No Authentic", 12) == 0) &&
        memchr(v, ' ', n) == NULL)
        asa_user(ev, arena, v, n);
    if (ASAKEY(p, e, "NAT_InitiatorAddr:", &v, &n) && dsm_set_ip(&ev->postnatsourceip, v, n))
        ev->prenatsourceip = ev->sourceip;
    if (ASAKEY(p, e, "NAT_InitiatorPort:", &v, &n)) dsm_set_port(&ev->postnatsourceport, v, n);
    static const char *const keys[][2] = {
        {"AccessControlRuleAction:", "action"},  {"AccessControlRuleName:", "rule"},
        {"IngressInterface:", "ifin"},           {"EgressInterface:", "ifout"},
        {"ApplicationProtocol:", "application"}, {"URL:", "url"},
        {"InitiatorBytes:", "bytesout"},         {"ResponderBytes:", "bytesin"},
        {"InitiatorPackets:", "packetsout"},     {"ResponderPackets:", "packetsin"},
        {"ConnectionDuration:", "duration"},     {"ACPolicy:", "policy"},
    };
    for (size_t i = 0; i < N(keys); i++)
        if (asa_key(p, e, keys[i][0], strlen(keys[i][0]), &v, &n) && n > 0)
            dsm_props_add(pr, keys[i][1], v, n);
}

/* Sets the event's addresses from the endpoints; `swap` when the first is the responder. */
static void asa_set_eps(struct strm_event *ev, struct dsm_props *pr, struct asa_ep *eps, int n,
                        bool swap)
{
    if (n <= 0) return;
    struct asa_ep *s = &eps[0], *d = n > 1 ? &eps[1] : NULL;
    if (swap && d) {
        s = &eps[1];
        d = &eps[0];
    }
    ev->sourceip = s->ip;
    ev->sourceport = s->port;
    if (s->ifl) dsm_props_add(pr, "ifin", s->ifn, s->ifl);
    if (s->has_mapped && (strm_ip_cmp(&s->ip, &s->mip) != 0 || s->port != s->mport)) {
        ev->prenatsourceip = s->ip;
        ev->prenatsourceport = s->port;
        ev->postnatsourceip = s->mip;
        ev->postnatsourceport = s->mport;
    }
    if (!d) return;
    ev->destinationip = d->ip;
    ev->destinationport = d->port;
    if (d->ifl) dsm_props_add(pr, "ifout", d->ifn, d->ifl);
    if (d->has_mapped && (strm_ip_cmp(&d->ip, &d->mip) != 0 || d->port != d->mport)) {
        ev->prenatdestinationip = d->mip;
        ev->prenatdestinationport = d->mport;
        ev->postnatdestinationip = d->ip;
        ev->postnatdestinationport = d->port;
    }
}

/* "Mmm dd yyyy hh:mm:ss" right after the PRI: the device's own clock, read in tz_min. */
static void asa_devicetime(struct strm_event *ev, const struct dsm_ctx *ctx)
{
    const char *p = ev->payload.p;
    if (!p || ev->payload.len < 25 || *p != '<') return;
    const char *e = p + ev->payload.len;
    const char *gt = memchr(p, '>', 5);
    if (!gt) return;
    p = gt + 1;
    if (p < e && *p == ':') p++;
    if (e - p < 20 || p[7] < '0' || p[7] > '9' || p[11] != ' ' || p[14] != ':') return;
    int64_t ms;
    if (dsm_parse_time(DSM_TIME_MON_D_Y_HMS, p, 20, ctx->tz_min, &ms)) ev->devicetime = ms;
}

static const char *asa_marker(const char *p, size_t len)
{
    size_t lim = len < 160 ? len : 160;
    const char *q = p, *e = p + lim;
    while ((q = memchr(q, '%', (size_t)(e - q))) != NULL) {
        size_t rest = (size_t)(p + len - q);
        if (rest > 12 && ((memcmp(q + 1, "ASA-", 4) == 0 || memcmp(q + 1, "FTD-", 4) == 0 ||
                           memcmp(q + 1, "PIX-", 4) == 0))) {
            /* optional message class: "%ASA-session-6-302013" */
            const char *c = q + 5, *ce = p + len;
            if (c < ce && *c >= 'a' && *c <= 'z') {
                while (c < ce && c - q < 32 && ((*c >= 'a' && *c <= 'z') || *c == '-') &&
                       !(c[-1] == '-' && *c >= '0' && *c <= '9'))
                    c++;
                return c;
            }
            return q + 5;
        }
        if (rest > 13 && memcmp(q + 1, "FWSM-", 5) == 0) return q + 6;
        q++;
    }
    return NULL;
}

static bool asa_parse(struct strm_event *ev, struct strm_arena *arena, const struct dsm_ctx *ctx)
{
    const char *m = ev->message.p, *e;
    const char *s = NULL;
    if (m && ev->message.len > 12) {
        s = asa_marker(m, ev->message.len);
        e = m + ev->message.len;
    }
    if (!s) {
        m = ev->payload.p;
        if (!m || ev->payload.len < 12) return false;
        s = asa_marker(m, ev->payload.len);
        if (!s) return false;
        e = m + ev->payload.len;
    }
    /* s: "<sev>-<id>: text" */
    if (e - s < 9 || s[0] < '0' || s[0] > '7' || s[1] != '-') return false;
    const char *id = s + 2, *ide = id;
    while (ide < e && *ide >= '0' && *ide <= '9')
        ide++;
    if (ide - id < 6 || ide >= e || *ide != ':') return false;
    size_t idl = (size_t)(ide - id);
    const char *text = ide + 1;
    while (text < e && *text == ' ')
        text++;
    uint32_t qid = dsm_qid_find(asa_map, N(asa_map), id, idl, DSM_QID_UNKNOWN(T));
    uint32_t qn = qid == DSM_QID_UNKNOWN(T) ? 0 : qid - DSM_QID(T, 0);
    if (qn == 0 && idl == 6 && id[0] == '4' && id[1] == '0' && id[2] == '0')
        qn = (id[3] == '0' && id[4] <= '1') ? Q_IPS_RECON : Q_IPS_ATTACK;

    struct dsm_props pr;
    dsm_props_init(&pr);
    dsm_props_add(&pr, "eventid", id, idl);
    struct asa_ep eps[3];
    memset(eps, 0, sizeof(eps));
    const char *v;
    size_t n;
    uint8_t proto = 0;
    switch (qn) {
    case Q_302013:
    case Q_302015: {
        /* "Built {inbound|outbound} TCP connection ID for A (A') to B (B')" */
        bool outbound = text + 14 < e && memcmp(text, "Built outbound", 14) == 0;
        const char *f = AFIND(text, e, " for ");
        int k = f ? asa_endpoints(f, e, eps, 2, NULL) : 0;
        asa_set_eps(ev, &pr, eps, k, outbound);
        ev->protocolid = qn == Q_302013 ? 6 : 17;
        break;
    }
    case Q_302014:
    case Q_302016: {
        const char *f = AFIND(text, e, " for ");
        int k = f ? asa_endpoints(f, e, eps, 2, NULL) : 0;
        asa_set_eps(ev, &pr, eps, k, false);
        ev->protocolid = qn == Q_302014 ? 6 : 17;
        if (ASAKEY(text, e, "duration", &v, &n)) {
            const char *b = v;
            while (b < v + n && *b != ' ')
                b++;
            dsm_props_add(&pr, "duration", v, (size_t)(b - v));
        }
        const char *by = AFIND(text, e, " bytes ");
        if (by) {
            const char *a = by + 7, *b = a;
            while (b < e && *b >= '0' && *b <= '9')
                b++;
            dsm_props_add(&pr, "bytes", a, (size_t)(b - a));
            while (b < e && *b == ' ')
                b++;
            const char *r = b;
            while (b < e && *b != '(')
                b++;
            while (b > r && b[-1] == ' ')
                b--;
            if (b > r) dsm_props_add(&pr, "reason", r, (size_t)(b - r));
        }
        break;
    }
    case Q_302020:
    case Q_302021: {
        /* "... ICMP connection for faddr F/i gaddr G/i laddr L/i" */
        bool outbound = AFIND(text, e, "outbound") != NULL;
        const char *fa = AFIND(text, e, "faddr "), *ga = AFIND(text, e, "gaddr "),
                   *la = AFIND(text, e, "laddr ");
        struct asa_ep f, g, l;
        memset(&f, 0, sizeof(f));
        memset(&g, 0, sizeof(g));
        memset(&l, 0, sizeof(l));
        if (fa) asa_endpoints(fa + 6, e, &f, 1, NULL);
        if (ga) asa_endpoints(ga + 6, e, &g, 1, NULL);
        if (la) asa_endpoints(la + 6, e, &l, 1, NULL);
        if (outbound) {
            ev->sourceip = l.ip;
            ev->destinationip = f.ip;
            if (ga && strm_ip_cmp(&g.ip, &l.ip) != 0) {
                ev->prenatsourceip = l.ip;
                ev->postnatsourceip = g.ip;
            }
        } else {
            ev->sourceip = f.ip;
            ev->destinationip = l.ip;
            if (ga && strm_ip_cmp(&g.ip, &l.ip) != 0) {
                ev->prenatdestinationip = g.ip;
                ev->postnatdestinationip = l.ip;
            }
        }
        ev->protocolid = 1;
        break;
    }
    case Q_305011:
    case Q_305012: {
        /* "Built dynamic TCP translation from inside:10.0.0.5/51234 to outside:203.0.113.5/40001"
         */
        const char *f = AFIND(text, e, " from ");
        int k = f ? asa_endpoints(f, e, eps, 2, NULL) : 0;
        const char *w = AFIND(text, e, "translation");
        if (w) {
            const char *b = w - 1, *a = b;
            while (a > text && a[-1] != ' ')
                a--;
            ev->protocolid = dsm_protocol(a, (size_t)(b - a));
        }
        if (k >= 1) {
            ev->sourceip = eps[0].ip;
            ev->sourceport = eps[0].port;
            ev->prenatsourceip = eps[0].ip;
            ev->prenatsourceport = eps[0].port;
        }
        if (k >= 2) {
            ev->postnatsourceip = eps[1].ip;
            ev->postnatsourceport = eps[1].port;
        }
        break;
    }
    default: {
        if (qn == Q_430002_ALLOW || qn == Q_430003) {
            asa_ftd(ev, arena, &pr, text, e);
            if (qn == Q_430002_ALLOW && ASAKEY(text, e, "AccessControlRuleAction:", &v, &n) &&
                n >= 5 && (memcmp(v, "Block", 5) == 0 || memcmp(v, "Reset", 5) == 0))
                qn = Q_430002_BLOCK;
            break;
        }
        /* Group/user/IP style (VPN, AAA) */
        if (ASAANGLE(text, e, "User <", &v, &n)) asa_user(ev, arena, v, n);
        if (ASAANGLE(text, e, "Group <", &v, &n)) dsm_props_add(&pr, "group", v, n);
        if (ASAANGLE(text, e, "IP <", &v, &n)) dsm_set_ip(&ev->sourceip, v, n);
        if (ASAANGLE(text, e, "IPv4 Address <", &v, &n)) dsm_set_ip(&ev->postnatsourceip, v, n);
        if (ASAKEY(text, e, "Username =", &v, &n)) asa_user(ev, arena, v, n);
        if (ASAKEY(text, e, "Group =", &v, &n)) dsm_props_add(&pr, "group", v, n);
        if (ASAKEY(text, e, "IP =", &v, &n)) dsm_set_ip(&ev->sourceip, v, n);
        if (ASAKEY(text, e, "Reason:", &v, &n)) dsm_props_add(&pr, "reason", v, n);
        if (ASAKEY(text, e, "Uname:", &v, &n)) {
            const char *b = v;
            while (b < v + n && *b != ' ')
                b++;
            asa_user(ev, arena, v, (size_t)(b - v));
        }
        if (qn == Q_113004 || qn == Q_113005) {
            const char *u = AFIND(text, e, "user = ");
            if (u) {
                const char *a = u + 7, *b = a;
                while (b < e && *b != ' ' && *b != ':')
                    b++;
                asa_user(ev, arena, a, (size_t)(b - a));
            }
        }
        if (asa_between(text, e, "user IP = ", 10, ' ', &v, &n) ||
            ASAKEY(text, e, "user IP =", &v, &n))
            dsm_set_ip(&ev->sourceip, v, n);
        if (ASAKEY(text, e, "IP address:", &v, &n)) dsm_set_ip(&ev->sourceip, v, n);
        if (asa_between(text, e, "for user \"", 10, '"', &v, &n) ||
            asa_between(text, e, "User '", 6, '\'', &v, &n))
            asa_user(ev, arena, v, n);
        if (qn == Q_733100 && asa_between(text, e, "[ ", 2, ']', &v, &n))
            dsm_props_add(&pr, "threat", v, n);
        if (qn == Q_111008 && asa_between(text, e, "executed the '", 14, '\'', &v, &n))
            dsm_props_add(&pr, "command", v, n);
        if (qn == Q_111009 && asa_between(text, e, "executed cmd: ", 14, '\n', &v, &n))
            dsm_props_add(&pr, "command", v, n);
        else if (qn == Q_111009) {
            const char *c = AFIND(text, e, "executed cmd: ");
            if (c) dsm_props_add(&pr, "command", c + 14, (size_t)(e - c - 14));
        }
        if (qn == Q_106023 || qn == Q_106100_PERMIT || qn == Q_106001 || qn == Q_106006 ||
            qn == Q_106007 || qn == Q_106014 || qn == Q_106015 || qn == Q_106021 ||
            qn == Q_313001 || qn == Q_313004 || qn == Q_313005 || qn == Q_401004 ||
            qn == Q_419001 || qn == Q_710003 || qn == Q_605004 || qn == Q_605005 ||
            qn == Q_IPS_ATTACK || qn == Q_IPS_RECON || qn == 0) {
            const char *start = text;
            if (qn == Q_106100_PERMIT) {
                /* "access-list NAME permitted|denied|est-allowed tcp ..." */
                const char *a = text + 12, *b = a;
                if (e - text > 12) {
                    while (b < e && *b != ' ')
                        b++;
                    dsm_props_add(&pr, "acl", a, (size_t)(b - a));
                    if (AFIND(b, b + 8 < e ? b + 8 : e, "denied")) qn = Q_106100_DENY;
                    start = b;
                }
            }
            if (qn == Q_IPS_ATTACK || qn == Q_IPS_RECON) {
                const char *a = text, *b = AFIND(text, e, " from ");
                if (b) dsm_props_add(&pr, "threat", a, (size_t)(b - a));
            }
            if (qn == Q_401004) {
                const char *sh = AFIND(text, e, "packet: ");
                if (sh) start = sh + 8;
            }
            int k = asa_endpoints(start, e, eps, 2, &proto);
            asa_set_eps(ev, &pr, eps, k, false);
            if (proto) ev->protocolid = proto;
            if (qn == Q_106001 || qn == Q_106015) ev->protocolid = 6;
            if (qn == Q_106006 || qn == Q_106007) ev->protocolid = 17;
            if (qn == Q_106014 || qn == Q_313001 || qn == Q_313004 || qn == Q_313005)
                ev->protocolid = 1;
            if (asa_between(text, e, "access-group \"", 14, '"', &v, &n))
                dsm_props_add(&pr, "acl", v, n);
            const char *oi = AFIND(text, e, "on interface ");
            if (oi) {
                const char *a = oi + 13, *b = a;
                while (b < e && *b != ' ' && *b != ',')
                    b++;
                dsm_props_add(&pr, "ifin", a, (size_t)(b - a));
            }
        }
        break;
    }
    }
    if (qn) qid = DSM_QID(T, qn);
    asa_devicetime(ev, ctx);
    dsm_props_commit(&pr, ev, arena);
    dsm_set_qid(ev, qid);
    ev->devicetype = T;
    return true;
}

const struct dsm_def dsm_cisco_asa = {
    .name = "cisco_asa",
    .display = "Cisco Adaptive Security Appliance (ASA)",
    .type_id = T,
    .qids = asa_qids,
    .n_qids = N(asa_qids),
    .init = NULL,
    .parse = asa_parse,
};
