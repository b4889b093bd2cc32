/*
 * dsm_junos.c - Juniper Junos OS / SRX: security flow sessions, screens, IDP, UTM and the
 * management daemons (mgd, sshd, login).
 *
 * Junos writes every message as "TAG: text" where TAG is the event tag in upper case
 * (RT_FLOW_SESSION_CREATE, UI_COMMIT, SSHD_LOGIN_FAILED...). Two wire forms exist:
 *   - BSD ("standard") syslog: the tag opens the MSG, the fields are in the text, e.g.
 *     "RT_FLOW_SESSION_CREATE: session created 10.0.0.1/51234->93.184.216.34/443 0x0
 *      junos-https 203.0.113.5/40001->93.184.216.34/443 0x0 ... 6 allow-web trust untrust..."
 *   - structured-data (RFC 5424, "structured-data" format): the tag is the MSGID and the
 *     fields are key="value" pairs in "[junos@2636.1.1.1.2.NN ...]", which syslog_parse
 *     leaves in the payload (the message is what follows the SD).
 * The tag is the event id; it maps to a QID by binary search. Recognition is fast: the tag
 * must be upper case letters/digits/underscores and either be in the map or carry a Junos
 * prefix (RT_, UI_...), or the payload must hold "[junos@2636".
 *
 * BSD flow text is positional and its layout grew over releases (connection tags "0x0",
 * NAT rule types), so it is read by shape, not by index: the first "a/p->b/q" is the
 * original tuple, the second the translated one, the first plain number at most 255 after
 * it is the protocol, then policy, zones, session id. Screens name the attack in their text
 * ("SYN flood!", "TCP port scan!"), which refines the QID.
 *
 * Invariants: every read is bounded by the message/payload end; strings point into the
 * payload or the arena; nothing is allocated outside the arena.
 */
#include "dsm/dsm.h"

#include <string.h>

#define T DSM_T_JUNOS

enum {
    Q_FLOW_CREATE = 1,
    Q_FLOW_CLOSE,
    Q_FLOW_DENY,
    Q_FLOW_REJECT,
    Q_SCREEN_SYN_FLOOD,
    Q_SCREEN_PORT_SCAN,
    Q_SCREEN_TCP,
    Q_SCREEN_ICMP_FLOOD,
    Q_SCREEN_IP_SWEEP,
    Q_SCREEN_ICMP,
    Q_SCREEN_UDP_FLOOD,
    Q_SCREEN_UDP,
    Q_SCREEN_IP,
    Q_SCREEN_SESSION_LIMIT,
    Q_IDP_ATTACK,
    Q_UTM_URL_BLOCKED,
    Q_UTM_URL_PERMITTED,
    Q_UTM_VIRUS,
    Q_UI_LOGIN,
    Q_UI_AUTH,
    Q_UI_LOGOUT,
    Q_UI_COMMIT,
    Q_UI_COMMIT_COMPLETED,
    Q_UI_CMDLINE,
    Q_SSHD_LOGIN_FAILED,
    Q_LOGIN_FAILED,
};

static const struct qid_def junos_qids[] = {
    {DSM_QID(T, Q_FLOW_CREATE), "Junos Flow Session Created",
     "A security flow session was created (permitted by policy)", LLC_FIREWALL_PERMIT, 1},
    {DSM_QID(T, Q_FLOW_CLOSE), "Junos Flow Session Closed", "A security flow session was closed",
     LLC_FIREWALL_SESSION_CLOSED, 1},
    {DSM_QID(T, Q_FLOW_DENY), "Junos Flow Session Denied",
     "A session was denied by security policy", LLC_FIREWALL_DENY, 4},
    {DSM_QID(T, Q_FLOW_REJECT), "Junos Flow Session Rejected",
     "A session was rejected by security policy", LLC_FIREWALL_DENY, 4},
    {DSM_QID(T, Q_SCREEN_SYN_FLOOD), "Junos Screen SYN Flood", "Screen detected a TCP SYN flood",
     LLC_TCP_DOS, 7},
    {DSM_QID(T, Q_SCREEN_PORT_SCAN), "Junos Screen TCP Port Scan",
     "Screen detected a TCP port scan", LLC_HOST_PORT_SCAN, 6},
    {DSM_QID(T, Q_SCREEN_TCP), "Junos Screen TCP Attack", "Screen detected a TCP anomaly or attack",
     LLC_TCP_DOS, 6},
    {DSM_QID(T, Q_SCREEN_ICMP_FLOOD), "Junos Screen ICMP Flood", "Screen detected an ICMP flood",
     LLC_ICMP_DOS, 6},
    {DSM_QID(T, Q_SCREEN_IP_SWEEP), "Junos Screen Address Sweep",
     "Screen detected an ICMP/IP address sweep", LLC_NETWORK_SWEEP, 5},
    {DSM_QID(T, Q_SCREEN_ICMP), "Junos Screen ICMP Attack", "Screen detected an ICMP anomaly",
     LLC_ICMP_RECON, 5},
    {DSM_QID(T, Q_SCREEN_UDP_FLOOD), "Junos Screen UDP Flood", "Screen detected a UDP flood",
     LLC_UDP_DOS, 6},
    {DSM_QID(T, Q_SCREEN_UDP), "Junos Screen UDP Scan", "Screen detected a UDP port scan or sweep",
     LLC_UDP_RECON, 5},
    {DSM_QID(T, Q_SCREEN_IP), "Junos Screen IP Anomaly",
     "Screen detected an IP option/spoofing/fragment anomaly", LLC_SUSPICIOUS_PACKET, 5},
    {DSM_QID(T, Q_SCREEN_SESSION_LIMIT), "Junos Screen Session Limit",
     "Screen source/destination session limit reached", LLC_MISC_DOS, 5},
    {DSM_QID(T, Q_IDP_ATTACK), "Junos IDP Attack Detected", "IDP detected an attack", LLC_IPS_DENY,
     7},
    {DSM_QID(T, Q_UTM_URL_BLOCKED), "Junos Web Filter URL Blocked",
     "UTM web filtering blocked a URL", LLC_WEB_POLICY_VIOLATION, 4},
    {DSM_QID(T, Q_UTM_URL_PERMITTED), "Junos Web Filter URL Permitted",
     "UTM web filtering permitted a URL", LLC_WEB_ACCESS_ALLOWED, 1},
    {DSM_QID(T, Q_UTM_VIRUS), "Junos Anti-Virus Virus Detected", "UTM anti-virus detected a virus",
     LLC_VIRUS_DETECTED, 8},
    {DSM_QID(T, Q_UI_LOGIN), "Junos User Login", "A user logged in to the management CLI",
     LLC_ADMIN_LOGIN_SUCCEEDED, 3},
    {DSM_QID(T, Q_UI_AUTH), "Junos User Authenticated", "A user was authenticated for management",
     LLC_GENERAL_AUTH_SUCCEEDED, 2},
    {DSM_QID(T, Q_UI_LOGOUT), "Junos User Logout", "A user logged out of the management CLI",
     LLC_HOST_LOGOUT, 1},
    {DSM_QID(T, Q_UI_COMMIT), "Junos Configuration Commit Requested",
     "A user requested a configuration commit", LLC_DEVICE_CONFIG_CHANGE, 4},
    {DSM_QID(T, Q_UI_COMMIT_COMPLETED), "Junos Configuration Commit Completed",
     "A configuration commit completed", LLC_CONFIG_MODIFIED, 4},
    {DSM_QID(T, Q_UI_CMDLINE), "Junos CLI Command", "A user entered a CLI command",
     LLC_AUDIT_USER_ACTION, 1},
    {DSM_QID(T, Q_SSHD_LOGIN_FAILED), "Junos SSH Login Failed", "SSH login failed",
     LLC_SSH_LOGIN_FAILED, 5},
    {DSM_QID(T, Q_LOGIN_FAILED), "Junos Login Failed", "Login failed", LLC_ADMIN_LOGIN_FAILED, 5},
    {DSM_QID_UNKNOWN(T), "Junos Unknown Event", "A Junos event this DSM does not map", LLC_UNKNOWN,
     3},
};

/* Sorted by event_id (strcmp). */
static const struct dsm_qid_map junos_map[] = {
    {"AV_VIRUS_DETECTED_MT", DSM_QID(T, Q_UTM_VIRUS)},
    {"IDP_ATTACK_LOG_EVENT", DSM_QID(T, Q_IDP_ATTACK)},
    {"IDP_ATTACK_LOG_EVENT_LS", DSM_QID(T, Q_IDP_ATTACK)},
    {"LOGIN_FAILED", DSM_QID(T, Q_LOGIN_FAILED)},
    {"RT_FLOW_SESSION_CLOSE", DSM_QID(T, Q_FLOW_CLOSE)},
    {"RT_FLOW_SESSION_CLOSE_LS", DSM_QID(T, Q_FLOW_CLOSE)},
    {"RT_FLOW_SESSION_CREATE", DSM_QID(T, Q_FLOW_CREATE)},
    {"RT_FLOW_SESSION_CREATE_LS", DSM_QID(T, Q_FLOW_CREATE)},
    {"RT_FLOW_SESSION_DENY", DSM_QID(T, Q_FLOW_DENY)},
    {"RT_FLOW_SESSION_DENY_LS", DSM_QID(T, Q_FLOW_DENY)},
    {"RT_FLOW_SESSION_REJECT", DSM_QID(T, Q_FLOW_REJECT)},
    {"RT_IDP_ATTACK_LOG_EVENT", DSM_QID(T, Q_IDP_ATTACK)},
    {"RT_SCREEN_ICMP", DSM_QID(T, Q_SCREEN_ICMP)},
    {"RT_SCREEN_IP", DSM_QID(T, Q_SCREEN_IP)},
    {"RT_SCREEN_SESSION_LIMIT", DSM_QID(T, Q_SCREEN_SESSION_LIMIT)},
    {"RT_SCREEN_TCP", DSM_QID(T, Q_SCREEN_TCP)},
    {"RT_SCREEN_TCP_DST_IP", DSM_QID(T, Q_SCREEN_TCP)},
    {"RT_SCREEN_TCP_SRC_IP", DSM_QID(T, Q_SCREEN_TCP)},
    {"RT_SCREEN_UDP", DSM_QID(T, Q_SCREEN_UDP)},
    {"SSHD_LOGIN_FAILED", DSM_QID(T, Q_SSHD_LOGIN_FAILED)},
    {"UI_AUTH_EVENT", DSM_QID(T, Q_UI_AUTH)},
    {"UI_CMDLINE_READ_LINE", DSM_QID(T, Q_UI_CMDLINE)},
    {"UI_COMMIT", DSM_QID(T, Q_UI_COMMIT)},
    {"UI_COMMIT_COMPLETED", DSM_QID(T, Q_UI_COMMIT_COMPLETED)},
    {"UI_LOGIN_EVENT", DSM_QID(T, Q_UI_LOGIN)},
    {"UI_LOGOUT_EVENT", DSM_QID(T, Q_UI_LOGOUT)},
    {"WEBFILTER_URL_BLOCKED", DSM_QID(T, Q_UTM_URL_BLOCKED)},
    {"WEBFILTER_URL_PERMITTED", DSM_QID(T, Q_UTM_URL_PERMITTED)},
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* Screen attack names (as the text writes them) that refine the screen QID. */
static const struct {
    const char *text;
    uint32_t n;
} junos_screens[] = {
    {"SYN flood", Q_SCREEN_SYN_FLOOD},   {"UDP port scan", Q_SCREEN_UDP},
    {"UDP sweep", Q_SCREEN_UDP},         {"port scan", Q_SCREEN_PORT_SCAN},
    {"ICMP flood", Q_SCREEN_ICMP_FLOOD}, {"sweep", Q_SCREEN_IP_SWEEP},
    {"UDP flood", Q_SCREEN_UDP_FLOOD},
};

static inline bool is_tag_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

static inline const char *jfind(const char *p, const char *e, const char *lit, size_t n)
{
    if (p >= e) return NULL;
    return strm_memmem(p, (size_t)(e - p), lit, n);
}
#define JFIND(p, e, lit) jfind(p, e, lit, sizeof(lit) - 1)

/* "ip/port" or "ip(port)" in [p,e): sets ip and port; false when not that shape. */
static bool junos_ipport(const char *p, const char *e, struct strm_ip *ip, uint16_t *port)
{
    const char *sep = NULL;
    if (e > p && e[-1] == ')') {
        e--;
        for (const char *q = p; q < e; q++)
            if (*q == '(') sep = q;
    } else {
        for (const char *q = p; q < e; q++)
            if (*q == '/') sep = q;
    }
    if (!sep) return false;
    if (!dsm_set_ip(ip, p, (size_t)(sep - p))) return false;
    dsm_set_port(port, sep + 1, (size_t)(e - sep - 1));
    return true;
}

/* A "src/p->dst/q" token [p,e) into the four fields; false when not that shape. */
static bool junos_tuple(const char *p, const char *e, struct strm_ip *sip, uint16_t *sport,
                        struct strm_ip *dip, uint16_t *dport)
{
    const char *arrow = JFIND(p, e, "->");
    if (!arrow) return false;
    if (!junos_ipport(p, arrow, sip, sport)) return false;
    return junos_ipport(arrow + 2, e, dip, dport);
}

static inline const char *skip_sp(const char *p, const char *e)
{
    while (p < e && *p == ' ')
        p++;
    return p;
}

static inline const char *tok_end(const char *p, const char *e)
{
    while (p < e && *p != ' ')
        p++;
    return p;
}

/* The text between quotes after `lead` (e.g. "user '"), or false. */
static bool junos_quoted_after(const char *p, const char *e, const char *lead, size_t n,
                               const char **v, size_t *vlen)
{
    const char *a = jfind(p, e, lead, n);
    if (!a) return false;
    a += n;
    const char *b = a;
    while (b < e && *b != '\'')
        b++;
    if (b >= e) return false;
    *v = a;
    *vlen = (size_t)(b - a);
    return true;
}

/* KEY=value or KEY="value" in free text (UTM and IDP messages). */
static bool junos_kv(const char *p, const char *e, const char *key, const char **v, size_t *vlen)
{
    size_t kl = strlen(key);
    const char *q = p;
    while ((q = jfind(q, e, key, kl)) != NULL) {
        const char *a = q + kl;
        if ((q == p || q[-1] == ' ' || q[-1] == ',') && a < e && *a == '=') {
            a++;
            const char *b;
            if (a < e && *a == '"') {
                a++;
                b = a;
                while (b < e && *b != '"')
                    b++;
            } else {
                b = a;
                while (b < e && *b != ' ' && *b != ',')
                    b++;
            }
            *v = a;
            *vlen = (size_t)(b - a);
            return true;
        }
        q = a;
    }
    return false;
}

/*
 * The structured-data parameters the DSM reads, indexed in one pass over the SD element
 * (a line carries some 30 of them; looking each name up with its own substring search cost
 * more than the rest of the parse). A parameter is NAME="value" where NAME starts the SD or
 * follows a space or '['; the value runs to the next unescaped quote; the first occurrence
 * of a name wins.
 */
enum jsd_key {
    JSD_SOURCE_ADDRESS,
    JSD_SOURCE_PORT,
    JSD_DESTINATION_ADDRESS,
    JSD_DESTINATION_PORT,
    JSD_NAT_SOURCE_ADDRESS,
    JSD_NAT_SOURCE_PORT,
    JSD_NAT_DESTINATION_ADDRESS,
    JSD_NAT_DESTINATION_PORT,
    JSD_PROTOCOL_ID,
    JSD_PROTOCOL_NAME,
    JSD_USERNAME,
    JSD_USER_NAME,
    JSD_POLICY_NAME,
    JSD_SOURCE_ZONE_NAME,
    JSD_DESTINATION_ZONE_NAME,
    JSD_APPLICATION,
    JSD_NESTED_APPLICATION,
    JSD_SERVICE_NAME,
    JSD_REASON,
    JSD_ACTION,
    JSD_ATTACK_NAME,
    JSD_THREAT_SEVERITY,
    JSD_INTERFACE_NAME,
    JSD_PACKET_INCOMING_INTERFACE,
    JSD_BYTES_FROM_CLIENT,
    JSD_BYTES_FROM_SERVER,
    JSD_PACKETS_FROM_CLIENT,
    JSD_PACKETS_FROM_SERVER,
    JSD_ELAPSED_TIME,
    JSD_URL,
    JSD_CATEGORY,
    JSD_SESSION_ID_32,
    JSD__COUNT,
};

/* The field index of an SD parameter name, -1 for names nothing reads. */
static int jsd_key(const char *k, size_t n)
{
#define JK(lit, id)                                                                                \
    if (memcmp(k, lit, sizeof(lit) - 1) == 0) return id
    switch (n) {
    case 3:
        JK("url", JSD_URL);
        return -1;
    case 6:
        JK("reason", JSD_REASON);
        JK("action", JSD_ACTION);
        return -1;
    case 8:
        JK("username", JSD_USERNAME);
        JK("category", JSD_CATEGORY);
        return -1;
    case 9:
        JK("user-name", JSD_USER_NAME);
        return -1;
    case 11:
        JK("source-port", JSD_SOURCE_PORT);
        JK("protocol-id", JSD_PROTOCOL_ID);
        JK("policy-name", JSD_POLICY_NAME);
        JK("application", JSD_APPLICATION);
        JK("attack-name", JSD_ATTACK_NAME);
        return -1;
    case 12:
        JK("service-name", JSD_SERVICE_NAME);
        JK("elapsed-time", JSD_ELAPSED_TIME);
        return -1;
    case 13:
        JK("protocol-name", JSD_PROTOCOL_NAME);
        JK("session-id-32", JSD_SESSION_ID_32);
        return -1;
    case 14:
        JK("source-address", JSD_SOURCE_ADDRESS);
        JK("interface-name", JSD_INTERFACE_NAME);
        return -1;
    case 15:
        JK("nat-source-port", JSD_NAT_SOURCE_PORT);
        JK("threat-severity", JSD_THREAT_SEVERITY);
        return -1;
    case 16:
        JK("destination-port", JSD_DESTINATION_PORT);
        JK("source-zone-name", JSD_SOURCE_ZONE_NAME);
        return -1;
    case 17:
        JK("bytes-from-client", JSD_BYTES_FROM_CLIENT);
        JK("bytes-from-server", JSD_BYTES_FROM_SERVER);
        return -1;
    case 18:
        JK("nat-source-address", JSD_NAT_SOURCE_ADDRESS);
        JK("nested-application", JSD_NESTED_APPLICATION);
        return -1;
    case 19:
        JK("destination-address", JSD_DESTINATION_ADDRESS);
        JK("packets-from-client", JSD_PACKETS_FROM_CLIENT);
        JK("packets-from-server", JSD_PACKETS_FROM_SERVER);
        return -1;
    case 20:
        JK("nat-destination-port", JSD_NAT_DESTINATION_PORT);
        return -1;
    case 21:
        JK("destination-zone-name", JSD_DESTINATION_ZONE_NAME);
        return -1;
    case 23:
        JK("nat-destination-address", JSD_NAT_DESTINATION_ADDRESS);
        return -1;
    case 25:
        JK("packet-incoming-interface", JSD_PACKET_INCOMING_INTERFACE);
        return -1;
    default:
        return -1;
    }
#undef JK
}

struct jsd {
    const char *v[JSD__COUNT]; /* NULL: absent */
    uint32_t n[JSD__COUNT];
};

static void jsd_index(struct jsd *x, const char *p, const char *e)
{
    memset(x->v, 0, sizeof x->v);
    const char *q = p;
    while (q < e) {
        const char *ks = q;
        while (q < e && *q != '=' && *q != ' ' && *q != '[' && *q != '"')
            q++;
        bool at_start = ks == p || ks[-1] == ' ' || ks[-1] == '[';
        if (q > ks && at_start && e - q >= 2 && q[0] == '=' && q[1] == '"') {
            const char *a = q + 2, *b = a;
            while (b < e && *b != '"') {
                if (*b == '\\' && b + 1 < e) b++;
                b++;
            }
            int k = jsd_key(ks, (size_t)(q - ks));
            if (k >= 0 && !x->v[k]) {
                x->v[k] = a;
                x->n[k] = (uint32_t)(b - a);
            }
            q = b < e ? b + 1 : e;
        } else if (q < e) {
            q++;
        }
    }
}

static bool jsd_get(const struct jsd *x, int k, const char **v, size_t *n)
{
    if (!x->v[k]) return false;
    *v = x->v[k];
    *n = x->n[k];
    return true;
}

static void jsd_prop(struct dsm_props *pr, const struct jsd *x, int k, const char *name)
{
    const char *v;
    size_t n;
    if (jsd_get(x, k, &v, &n) && n > 0 && !(n == 3 && memcmp(v, "N/A", 3) == 0))
        dsm_props_add(pr, name, v, n);
}

/* Fields from the structured-data form (x: its parameters, jsd_index). */
static void junos_parse_sd(struct strm_event *ev, struct strm_arena *arena, struct dsm_props *pr,
                           const struct jsd *x)
{
    static const struct {
        uint8_t key;
        uint8_t is_port;
        size_t off; /* of the strm_ip or port in struct strm_event */
    } addr[] = {
        {JSD_SOURCE_ADDRESS, 0, offsetof(struct strm_event, sourceip)},
        {JSD_SOURCE_PORT, 1, offsetof(struct strm_event, sourceport)},
        {JSD_DESTINATION_ADDRESS, 0, offsetof(struct strm_event, destinationip)},
        {JSD_DESTINATION_PORT, 1, offsetof(struct strm_event, destinationport)},
        {JSD_NAT_SOURCE_ADDRESS, 0, offsetof(struct strm_event, postnatsourceip)},
        {JSD_NAT_SOURCE_PORT, 1, offsetof(struct strm_event, postnatsourceport)},
        {JSD_NAT_DESTINATION_ADDRESS, 0, offsetof(struct strm_event, postnatdestinationip)},
        {JSD_NAT_DESTINATION_PORT, 1, offsetof(struct strm_event, postnatdestinationport)},
    };
    static const struct {
        uint8_t key;
        const char *name;
    } props[] = {
        {JSD_POLICY_NAME, "policy"},
        {JSD_SOURCE_ZONE_NAME, "srczone"},
        {JSD_DESTINATION_ZONE_NAME, "dstzone"},
        {JSD_APPLICATION, "application"},
        {JSD_NESTED_APPLICATION, "nestedapp"},
        {JSD_SERVICE_NAME, "service"},
        {JSD_REASON, "reason"},
        {JSD_ACTION, "action"},
        {JSD_ATTACK_NAME, "threat"},
        {JSD_THREAT_SEVERITY, "threatseverity"},
        {JSD_INTERFACE_NAME, "ifin"},
        {JSD_PACKET_INCOMING_INTERFACE, "ifin"},
        {JSD_BYTES_FROM_CLIENT, "bytesout"},
        {JSD_BYTES_FROM_SERVER, "bytesin"},
        {JSD_PACKETS_FROM_CLIENT, "packetsout"},
        {JSD_PACKETS_FROM_SERVER, "packetsin"},
        {JSD_ELAPSED_TIME, "duration"},
        {JSD_URL, "url"},
        {JSD_CATEGORY, "urlcategory"},
        {JSD_SESSION_ID_32, "sessionid"},
    };
    const char *v;
    size_t n;
    for (size_t i = 0; i < N(addr); i++) {
        if (!jsd_get(x, addr[i].key, &v, &n)) continue;
        char *f = (char *)ev + addr[i].off;
        if (addr[i].is_port)
            dsm_set_port((uint16_t *)(void *)f, v, n);
        else
            dsm_set_ip((struct strm_ip *)(void *)f, v, n);
    }
    if (jsd_get(x, JSD_PROTOCOL_ID, &v, &n)) {
        uint64_t u;
        if (dsm_parse_uint(v, n, 255, &u)) ev->protocolid = (uint8_t)u;
    } else if (jsd_get(x, JSD_PROTOCOL_NAME, &v, &n)) {
        ev->protocolid = dsm_protocol(v, n);
    }
    if ((jsd_get(x, JSD_USERNAME, &v, &n) || jsd_get(x, JSD_USER_NAME, &v, &n)) && n > 0 &&
        !(n == 3 && memcmp(v, "N/A", 3) == 0))
        dsm_set_str(&ev->username, arena, v, n);
    for (size_t i = 0; i < N(props); i++)
        jsd_prop(pr, x, props[i].key, props[i].name);
}

static bool is_all_digits(const char *p, const char *e)
{
    if (p >= e) return false;
    for (; p < e; p++)
        if (*p < '0' || *p > '9') return false;
    return true;
}

/* "pkts(bytes)" token into two properties. */
static void junos_pkts_bytes(struct dsm_props *pr, const char *p, const char *e, const char *pk,
                             const char *by)
{
    const char *o = memchr(p, '(', (size_t)(e - p));
    if (!o || e[-1] != ')') return;
    dsm_props_add(pr, pk, p, (size_t)(o - p));
    dsm_props_add(pr, by, o + 1, (size_t)(e - 1 - o - 1));
}

/* BSD text of RT_FLOW_SESSION_*: read by shape (see the file comment). */
static void junos_parse_flow(struct strm_event *ev, struct dsm_props *pr, const char *p,
                             const char *e, bool close, bool deny)
{
    if (close) {
        /* "session closed REASON: tuple ..." */
        const char *c = JFIND(p, e, "session closed ");
        if (c) {
            c += 15;
            const char *r = JFIND(c, e, ": ");
            if (r) {
                dsm_props_add(pr, "reason", c, (size_t)(r - c));
                p = r + 2;
            }
        }
    }
    int stage = 0; /* 0 want tuple, 1 want service, 2 want nat tuple or protocol ... */
    const char *q = skip_sp(p, e);
    int after_proto = 0;
    while (q < e) {
        const char *t = tok_end(q, e);
        size_t tl = (size_t)(t - q);
        if (stage == 0) {
            if (JFIND(q, t, "->") && junos_tuple(q, t, &ev->sourceip, &ev->sourceport,
                                                 &ev->destinationip, &ev->destinationport))
                stage = 1;
        } else if (stage == 1) {
            if (!(tl > 2 && q[0] == '0' && q[1] == 'x')) {
                dsm_props_add(pr, "service", q, tl);
                stage = 2;
            }
        } else if (stage == 2) {
            if (JFIND(q, t, "->")) {
                junos_tuple(q, t, &ev->postnatsourceip, &ev->postnatsourceport,
                            &ev->postnatdestinationip, &ev->postnatdestinationport);
            } else {
                /* protocol: plain number (create/close) or "6(0)" (deny) */
                const char *pe = t;
                if (deny) {
                    const char *o = memchr(q, '(', tl);
                    if (o) pe = o;
                }
                uint64_t x;
                if (is_all_digits(q, pe) && dsm_parse_uint(q, (size_t)(pe - q), 255, &x)) {
                    ev->protocolid = (uint8_t)x;
                    stage = 3;
                }
            }
        } else {
            after_proto++;
            if (after_proto == 1)
                dsm_props_add(pr, "policy", q, tl);
            else if (after_proto == 2)
                dsm_props_add(pr, "srczone", q, tl);
            else if (after_proto == 3)
                dsm_props_add(pr, "dstzone", q, tl);
            else if (!deny && after_proto == 4)
                dsm_props_add(pr, "sessionid", q, tl);
            else if (close && after_proto == 5)
                junos_pkts_bytes(pr, q, t, "packetsout", "bytesout");
            else if (close && after_proto == 6)
                junos_pkts_bytes(pr, q, t, "packetsin", "bytesin");
            else if (close && after_proto == 7)
                dsm_props_add(pr, "duration", q, tl);
            else
                break;
        }
        q = skip_sp(t, e);
    }
    if (deny) {
        /* the text ends with the reason ("... No policy reject" / "policy deny") */
        static const char *const reasons[] = {"policy deny", "policy reject", "No policy"};
        for (size_t i = 0; i < N(reasons); i++)
            if (jfind(p, e, reasons[i], strlen(reasons[i]))) {
                dsm_props_add(pr, "reason", reasons[i], strlen(reasons[i]));
                break;
            }
    }
}

/* Screens: "ATTACK! source: ip[:port], destination: ip[:port], zone name: z, ..." */
static void junos_parse_screen(struct strm_event *ev, struct dsm_props *pr, const char *p,
                               const char *e, uint32_t *qn)
{
    const char *bang = memchr(p, '!', (size_t)(e - p));
    if (bang) {
        dsm_props_add(pr, "threat", skip_sp(p, bang), (size_t)(bang - skip_sp(p, bang)));
        for (size_t i = 0; i < N(junos_screens); i++)
            if (jfind(p, bang, junos_screens[i].text, strlen(junos_screens[i].text))) {
                *qn = junos_screens[i].n;
                break;
            }
    }
    static const char *const keys[2] = {"source: ", "destination: "};
    for (int k = 0; k < 2; k++) {
        const char *a = jfind(p, e, keys[k], strlen(keys[k]));
        if (!a) continue;
        a += strlen(keys[k]);
        const char *b = a;
        while (b < e && *b != ',' && *b != ' ')
            b++;
        /* IPv4 "ip:port"; an IPv6 address holds several ':' and no port */
        const char *colon = NULL;
        int ncolon = 0;
        for (const char *c = a; c < b; c++)
            if (*c == ':') {
                colon = c;
                ncolon++;
            }
        struct strm_ip *ip = k == 0 ? &ev->sourceip : &ev->destinationip;
        uint16_t *port = k == 0 ? &ev->sourceport : &ev->destinationport;
        if (ncolon == 1) {
            dsm_set_ip(ip, a, (size_t)(colon - a));
            dsm_set_port(port, colon + 1, (size_t)(b - colon - 1));
        } else {
            dsm_set_ip(ip, a, (size_t)(b - a));
        }
    }
    static const char *const more[3][2] = {
        {"zone name: ", "srczone"}, {"interface name: ", "ifin"}, {"action: ", "action"}};
    for (int k = 0; k < 3; k++) {
        size_t kl = strlen(more[k][0]);
        const char *a = jfind(p, e, more[k][0], kl);
        if (!a) continue;
        a += kl;
        const char *b = a;
        while (b < e && *b != ',' && *b != '.')
            b++;
        if (k == 1) /* interface names hold dots: ge-0/0/0.0 */
            while (b < e && *b != ',')
                b++;
        dsm_props_add(pr, more[k][1], a, (size_t)(b - a));
    }
}

/* UTM/IDP free text: "a(p)->b(q)" or "<a/p->b/q>" tuple and KEY=value pairs. */
static void junos_parse_utm(struct strm_event *ev, struct strm_arena *arena, struct dsm_props *pr,
                            const char *p, const char *e)
{
    const char *q = skip_sp(p, e);
    while (q < e) {
        const char *t = tok_end(q, e);
        const char *a = q, *b = t;
        if (b > a && a[0] == '<') a++;
        if (b > a && b[-1] == ',') b--;
        if (b > a && b[-1] == '>') b--;
        if (JFIND(a, b, "->") && junos_tuple(a, b, &ev->sourceip, &ev->sourceport,
                                             &ev->destinationip, &ev->destinationport))
            break;
        q = skip_sp(t, e);
    }
    static const char *const keys[][2] = {
        {"ACTION", "action"},   {"action", "action"},     {"CATEGORY", "urlcategory"},
        {"PROFILE", "profile"}, {"URL", "url"},           {"url", "url"},
        {"name", "threat"},     {"virus-name", "threat"}, {"threat-severity", "threatseverity"},
        {"REASON", "reason"},
    };
    for (size_t i = 0; i < N(keys); i++) {
        const char *v;
        size_t n;
        if (junos_kv(p, e, keys[i][0], &v, &n) && n > 0) dsm_props_add(pr, keys[i][1], v, n);
    }
    const char *v;
    size_t n;
    const char *un = JFIND(p, e, " username ");
    if (un) {
        const char *a = un + 10, *b = tok_end(a, e);
        if (b > a && !(b - a == 3 && memcmp(a, "N/A", 3) == 0))
            dsm_set_str(&ev->username, arena, a, (size_t)(b - a));
    }
    if (junos_kv(p, e, "protocol", &v, &n)) ev->protocolid = dsm_protocol(v, n);
    const char *fp = JFIND(p, e, " for ");
    if (fp && !ev->protocolid) {
        const char *a = fp + 5, *b = tok_end(a, e);
        ev->protocolid = dsm_protocol(a, (size_t)(b - a));
    }
}

/* Management events: user names and remote hosts in quotes. */
static void junos_parse_mgmt(struct strm_event *ev, struct strm_arena *arena, struct dsm_props *pr,
                             const char *p, const char *e)
{
    const char *v;
    size_t n;
    if (junos_quoted_after(p, e, "ser '", 5, &v, &n) && n > 0)
        dsm_set_str(&ev->username, arena, v, n);
    else {
        /* LOGIN_FAILED: "Login failed for user admin from host 1.2.3.4" */
        const char *a = JFIND(p, e, "for user ");
        if (a) {
            a += 9;
            const char *b = tok_end(a, e);
            if (b > a) dsm_set_str(&ev->username, arena, a, (size_t)(b - a));
        }
    }
    if (junos_quoted_after(p, e, "from host '", 11, &v, &n))
        dsm_set_ip(&ev->sourceip, v, n);
    else if (junos_quoted_after(p, e, "-connection '", 13, &v, &n)) {
        /* "ssh-connection 'src sport dst dport'" */
        const char *e2 = v + n, *a = v, *b = tok_end(a, e2);
        dsm_set_ip(&ev->sourceip, a, (size_t)(b - a));
        a = skip_sp(b, e2);
        b = tok_end(a, e2);
        dsm_set_port(&ev->sourceport, a, (size_t)(b - a));
        a = skip_sp(b, e2);
        b = tok_end(a, e2);
        dsm_set_ip(&ev->destinationip, a, (size_t)(b - a));
        a = skip_sp(b, e2);
        b = tok_end(a, e2);
        dsm_set_port(&ev->destinationport, a, (size_t)(b - a));
    } else {
        const char *a = JFIND(p, e, "from host ");
        if (a) {
            a += 10;
            const char *b = tok_end(a, e);
            dsm_set_ip(&ev->sourceip, a, (size_t)(b - a));
        }
    }
    if (junos_quoted_after(p, e, "command '", 9, &v, &n)) dsm_props_add(pr, "command", v, n);
    if (junos_quoted_after(p, e, "class '", 7, &v, &n)) dsm_props_add(pr, "class", v, n);
}

static void junos_nat_clean(struct strm_ip *nat, uint16_t *nport, const struct strm_ip *orig,
                            uint16_t oport)
{
    static const uint8_t v4any[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0};
    if (memcmp(nat->b, v4any, 16) == 0 || (strm_ip_cmp(nat, orig) == 0 && *nport == oport)) {
        memset(nat, 0, sizeof(*nat));
        *nport = 0;
    }
}

static bool junos_prefix_ok(const char *t, size_t n)
{
    return (n > 3 && (memcmp(t, "RT_", 3) == 0 || memcmp(t, "UI_", 3) == 0)) ||
           (n > 5 && memcmp(t, "SSHD_", 5) == 0) || (n > 9 && memcmp(t, "CHASSISD_", 9) == 0);
}

static bool junos_parse(struct strm_event *ev, struct strm_arena *arena, const struct dsm_ctx *ctx)
{
    (void)ctx;
    const char *m = ev->message.p, *me = m ? m + ev->message.len : NULL;
    const char *tag = NULL;
    size_t tlen = 0;
    const char *text = m; /* the free text after the tag */

    /* structured form: the tag is the MSGID */
    if (ev->msgid.len >= 5 && ev->msgid.p[0] >= 'A' && ev->msgid.p[0] <= 'Z') {
        size_t i = 0;
        while (i < ev->msgid.len && is_tag_char(ev->msgid.p[i]))
            i++;
        if (i == ev->msgid.len) {
            tag = ev->msgid.p;
            tlen = i;
        }
    }
    if (!tag) {
        if (!m || ev->message.len < 6 || m[0] < 'A' || m[0] > 'Z') return false;
        size_t i = 0;
        while (i < ev->message.len && i < 64 && is_tag_char(m[i]))
            i++;
        if (i < 5 || i >= ev->message.len || m[i] != ':') return false;
        tag = m;
        tlen = i;
        text = m + i + 1;
        /* RT_IDP: "IDP_ATTACK_LOG_EVENT: IDP: ..." -- tag as it stands */
    }
    uint32_t qid = dsm_qid_find(junos_map, N(junos_map), tag, tlen, 0);
    const char *pl = ev->payload.p, *pe = pl ? pl + ev->payload.len : NULL;
    const char *sd = NULL;
    if (pl && ev->payload.len > 12) sd = JFIND(pl, pe, "[junos@2636");
    if (qid == 0) {
        if (!sd && !junos_prefix_ok(tag, tlen)) return false;
        qid = DSM_QID_UNKNOWN(T);
    }

    struct dsm_props pr;
    dsm_props_init(&pr);
    uint32_t n = qid - DSM_QID(T, 0);
    if (sd) {
        const char *sde = memchr(sd, ']', (size_t)(pe - sd));
        if (!sde) sde = pe;
        struct jsd x;
        jsd_index(&x, sd, sde);
        junos_parse_sd(ev, arena, &pr, &x);
        if (n >= Q_SCREEN_SYN_FLOOD && n <= Q_SCREEN_SESSION_LIMIT) {
            const char *v;
            size_t vl;
            if (jsd_get(&x, JSD_ATTACK_NAME, &v, &vl))
                for (size_t i = 0; i < N(junos_screens); i++)
                    if (jfind(v, v + vl, junos_screens[i].text, strlen(junos_screens[i].text))) {
                        n = junos_screens[i].n;
                        qid = DSM_QID(T, n);
                        break;
                    }
        }
    } else if (text && text < me) {
        switch (n) {
        case Q_FLOW_CREATE:
        case Q_FLOW_CLOSE:
        case Q_FLOW_DENY:
        case Q_FLOW_REJECT:
            junos_parse_flow(ev, &pr, text, me, n == Q_FLOW_CLOSE,
                             n == Q_FLOW_DENY || n == Q_FLOW_REJECT);
            break;
        case Q_SCREEN_ICMP:
        case Q_SCREEN_IP:
        case Q_SCREEN_SESSION_LIMIT:
        case Q_SCREEN_TCP:
        case Q_SCREEN_UDP: {
            uint32_t nn = n;
            junos_parse_screen(ev, &pr, text, me, &nn);
            if (nn != n) qid = DSM_QID(T, nn);
            if (n == Q_SCREEN_TCP)
                ev->protocolid = 6;
            else if (n == Q_SCREEN_UDP)
                ev->protocolid = 17;
            else if (n == Q_SCREEN_ICMP)
                ev->protocolid = 1;
            break;
        }
        case Q_IDP_ATTACK:
        case Q_UTM_URL_BLOCKED:
        case Q_UTM_URL_PERMITTED:
        case Q_UTM_VIRUS:
            junos_parse_utm(ev, arena, &pr, text, me);
            break;
        case Q_UI_LOGIN:
        case Q_UI_AUTH:
        case Q_UI_LOGOUT:
        case Q_UI_COMMIT:
        case Q_UI_CMDLINE:
        case Q_SSHD_LOGIN_FAILED:
        case Q_LOGIN_FAILED:
            junos_parse_mgmt(ev, arena, &pr, text, me);
            break;
        default:
            break;
        }
    }
    /* prenat = original addresses when a translation was logged; 0.0.0.0 or an unchanged
       socket is no translation */
    junos_nat_clean(&ev->postnatsourceip, &ev->postnatsourceport, &ev->sourceip, ev->sourceport);
    junos_nat_clean(&ev->postnatdestinationip, &ev->postnatdestinationport, &ev->destinationip,
                    ev->destinationport);
    if (!strm_ip_is_null(&ev->postnatsourceip)) {
        ev->prenatsourceip = ev->sourceip;
        ev->prenatsourceport = ev->sourceport;
    }
    if (!strm_ip_is_null(&ev->postnatdestinationip)) {
        ev->prenatdestinationip = ev->destinationip;
        ev->prenatdestinationport = ev->destinationport;
    }
    dsm_props_add(&pr, "eventid", tag, tlen);
    dsm_props_commit(&pr, ev, arena);
    dsm_set_qid(ev, qid);
    ev->devicetype = T;
    return true;
}

const struct dsm_def dsm_junos = {
    .name = "junos",
    .display = "Juniper Junos OS",
    .type_id = T,
    .qids = junos_qids,
    .n_qids = N(junos_qids),
    .init = NULL,
    .parse = junos_parse,
};
