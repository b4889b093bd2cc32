/*
 * dsm_panos.c - Palo Alto Networks PAN-OS firewalls (syslog CSV and LEEF).
 *
 * The default syslog format is one CSV record per log entry, in the field order the PAN-OS
 * 9.x-11.x "Syslog Field Descriptions" define for each log type. The first fields are
 * common: FUTURE_USE, Receive Time, Serial Number, Type, Subtype, FUTURE_USE, Generated
 * Time; TRAFFIC and THREAT continue with Source/Destination Address, NAT Source/Destination
 * IP, Rule, Source/Destination User, Application, Virtual System, Source/Destination Zone,
 * Inbound/Outbound Interface, Log Action, FUTURE_USE, Session ID, Repeat Count, Source/
 * Destination Port, NAT Source/Destination Port, Flags, Protocol, Action (index 7..30), then
 * TRAFFIC has Bytes, Bytes Sent, Bytes Received, Packets, Start Time, Elapsed Time,
 * Category and THREAT has URL/Filename, Threat ID, Category, Severity, Direction. SYSTEM has
 * Virtual System, Event ID, Object, -, -, Module, Severity, Description (7..14); CONFIG has
 * Host, Virtual System, Command, Admin, Client, Result, Configuration Path (7..13);
 * GLOBALPROTECT has Virtual System, Event ID, Stage, Auth Method, Tunnel Type, Source User,
 * Source Region, Machine Name, Public IP (7..15) and Status at 28; USERID and AUTH have
 * Virtual System, Source IP, User (7..9). Fields may be double-quoted (and then contain
 * commas); the splitter keeps the slice between the quotes.
 *
 * Event id: "TYPE:subtype" with the action for allowed traffic ("TRAFFIC:end:allow") and
 * "TRAFFIC:deny"/"TRAFFIC:drop" otherwise; a few are refined by a field (URL action, SYSTEM
 * auth event ids, GlobalProtect status). The LEEF form (LEEF:1.0|Palo Alto Networks|...)
 * carries the same fields as named attributes (cat, Subtype, src, dst, srcPostNAT, ...) and
 * is mapped through the same ids.
 *
 * Recognition: the CSV shape (digits, comma, "yyyy/mm/dd hh:mm:ss", serial, known type) or
 * "LEEF:" with vendor "Palo Alto Networks". Reads are bounded; nothing is allocated outside
 * the arena; the field table lives on the stack.
 */
#include "dsm/dsm.h"

#include <string.h>
#include <strings.h>

#define T DSM_T_PANOS
#define N(a) (sizeof(a) / sizeof((a)[0]))
#define PAN_MAX_FIELDS 128

enum {
    Q_TRAFFIC_START = 1,
    Q_TRAFFIC_END,
    Q_TRAFFIC_DENY,
    Q_TRAFFIC_DROP,
    Q_THREAT_VULN,
    Q_THREAT_VIRUS,
    Q_THREAT_SPYWARE,
    Q_THREAT_URL_ALLOW,
    Q_THREAT_URL_BLOCK,
    Q_THREAT_FILE,
    Q_THREAT_SCAN,
    Q_THREAT_FLOOD,
    Q_THREAT_PACKET,
    Q_THREAT_WILDFIRE,
    Q_THREAT_DATA,
    Q_SYSTEM_AUTH_OK,
    Q_SYSTEM_AUTH_FAIL,
    Q_SYSTEM_GENERAL,
    Q_SYSTEM_OTHER,
    Q_CONFIG,
    Q_GP_OK,
    Q_GP_FAIL,
    Q_GP_LOGOUT,
    Q_USERID,
    Q_AUTH_OK,
    Q_AUTH_FAIL,
};

static const struct qid_def pan_qids[] = {
    {DSM_QID(T, Q_TRAFFIC_START), "PAN-OS Traffic Session Start",
     "A session was allowed and started", LLC_FIREWALL_SESSION_OPENED, 1},
    {DSM_QID(T, Q_TRAFFIC_END), "PAN-OS Traffic Session End", "An allowed session ended",
     LLC_FIREWALL_SESSION_CLOSED, 1},
    {DSM_QID(T, Q_TRAFFIC_DENY), "PAN-OS Traffic Denied", "A session was denied by security policy",
     LLC_FIREWALL_DENY, 4},
    {DSM_QID(T, Q_TRAFFIC_DROP), "PAN-OS Traffic Dropped", "Traffic was dropped by security policy",
     LLC_FIREWALL_DENY, 4},
    {DSM_QID(T, Q_THREAT_VULN), "PAN-OS Vulnerability Exploit Detected",
     "Vulnerability protection matched an exploit attempt", LLC_MISC_EXPLOIT, 7},
    {DSM_QID(T, Q_THREAT_VIRUS), "PAN-OS Virus Detected", "Antivirus detected a virus",
     LLC_VIRUS_DETECTED, 8},
    {DSM_QID(T, Q_THREAT_SPYWARE), "PAN-OS Spyware Detected",
     "Anti-spyware detected spyware or command-and-control traffic", LLC_SPYWARE, 8},
    {DSM_QID(T, Q_THREAT_URL_ALLOW), "PAN-OS URL Access Allowed",
     "URL filtering logged an allowed request", LLC_WEB_ACCESS_ALLOWED, 1},
    {DSM_QID(T, Q_THREAT_URL_BLOCK), "PAN-OS URL Access Blocked", "URL filtering blocked a request",
     LLC_WEB_POLICY_VIOLATION, 4},
    {DSM_QID(T, Q_THREAT_FILE), "PAN-OS File Blocking", "A file matched a file blocking profile",
     LLC_MISC_POLICY_VIOLATION, 4},
    {DSM_QID(T, Q_THREAT_SCAN), "PAN-OS Scan Detected", "Zone protection detected a scan",
     LLC_HOST_PORT_SCAN, 6},
    {DSM_QID(T, Q_THREAT_FLOOD), "PAN-OS Flood Detected", "Zone protection detected a flood",
     LLC_FLOOD, 7},
    {DSM_QID(T, Q_THREAT_PACKET), "PAN-OS Packet Based Attack",
     "Zone protection dropped a malformed or suspicious packet", LLC_SUSPICIOUS_PACKET, 5},
    {DSM_QID(T, Q_THREAT_WILDFIRE), "PAN-OS WildFire Verdict", "WildFire analysed a file",
     LLC_MALICIOUS_SOFTWARE, 6},
    {DSM_QID(T, Q_THREAT_DATA), "PAN-OS Data Filtering", "Data filtering matched sensitive content",
     LLC_DATA_LOSS, 6},
    {DSM_QID(T, Q_SYSTEM_AUTH_OK), "PAN-OS Admin Authentication Succeeded",
     "An administrator authenticated", LLC_ADMIN_LOGIN_SUCCEEDED, 3},
    {DSM_QID(T, Q_SYSTEM_AUTH_FAIL), "PAN-OS Admin Authentication Failed",
     "An administrator failed to authenticate", LLC_ADMIN_LOGIN_FAILED, 6},
    {DSM_QID(T, Q_SYSTEM_GENERAL), "PAN-OS System General", "A general system event",
     LLC_SYSTEM_INFORMATION, 2},
    {DSM_QID(T, Q_SYSTEM_OTHER), "PAN-OS System Event", "A system daemon event", LLC_SYSTEM_STATUS,
     3},
    {DSM_QID(T, Q_CONFIG), "PAN-OS Configuration Change", "The configuration was changed",
     LLC_DEVICE_CONFIG_CHANGE, 4},
    {DSM_QID(T, Q_GP_OK), "PAN-OS GlobalProtect Login Succeeded",
     "A GlobalProtect user authenticated", LLC_VPN_LOGIN_SUCCEEDED, 2},
    {DSM_QID(T, Q_GP_FAIL), "PAN-OS GlobalProtect Login Failed",
     "A GlobalProtect authentication failed", LLC_VPN_LOGIN_FAILED, 5},
    {DSM_QID(T, Q_GP_LOGOUT), "PAN-OS GlobalProtect Logout", "A GlobalProtect user disconnected",
     LLC_VPN_LOGOUT, 1},
    {DSM_QID(T, Q_USERID), "PAN-OS User-ID Mapping", "User-ID mapped a user to an address",
     LLC_AUTH_UNKNOWN, 1},
    {DSM_QID(T, Q_AUTH_OK), "PAN-OS Authentication Succeeded",
     "Authentication policy: a user authenticated", LLC_GENERAL_AUTH_SUCCEEDED, 2},
    {DSM_QID(T, Q_AUTH_FAIL), "PAN-OS Authentication Failed",
     "Authentication policy: authentication failed", LLC_GENERAL_AUTH_FAILED, 5},
    {DSM_QID_UNKNOWN(T), "PAN-OS Unknown Event", "A PAN-OS log this DSM does not map", LLC_UNKNOWN,
     3},
};

/* Sorted by event id. */
static const struct dsm_qid_map pan_map[] = {
    {"AUTH", DSM_QID(T, Q_AUTH_OK)},
    {"CONFIG", DSM_QID(T, Q_CONFIG)},
    {"GLOBALPROTECT", DSM_QID(T, Q_GP_OK)},
    {"SYSTEM:auth", DSM_QID(T, Q_SYSTEM_AUTH_OK)},
    {"SYSTEM:general", DSM_QID(T, Q_SYSTEM_GENERAL)},
    {"THREAT:data", DSM_QID(T, Q_THREAT_DATA)},
    {"THREAT:file", DSM_QID(T, Q_THREAT_FILE)},
    {"THREAT:flood", DSM_QID(T, Q_THREAT_FLOOD)},
    {"THREAT:ml-virus", DSM_QID(T, Q_THREAT_VIRUS)},
    {"THREAT:packet", DSM_QID(T, Q_THREAT_PACKET)},
    {"THREAT:scan", DSM_QID(T, Q_THREAT_SCAN)},
    {"THREAT:spyware", DSM_QID(T, Q_THREAT_SPYWARE)},
    {"THREAT:url", DSM_QID(T, Q_THREAT_URL_ALLOW)},
    {"THREAT:virus", DSM_QID(T, Q_THREAT_VIRUS)},
    {"THREAT:vulnerability", DSM_QID(T, Q_THREAT_VULN)},
    {"THREAT:wildfire", DSM_QID(T, Q_THREAT_WILDFIRE)},
    {"THREAT:wildfire-virus", DSM_QID(T, Q_THREAT_VIRUS)},
    {"TRAFFIC:deny", DSM_QID(T, Q_TRAFFIC_DENY)},
    {"TRAFFIC:drop", DSM_QID(T, Q_TRAFFIC_DROP)},
    {"TRAFFIC:end:allow", DSM_QID(T, Q_TRAFFIC_END)},
    {"TRAFFIC:start:allow", DSM_QID(T, Q_TRAFFIC_START)},
    {"USERID", DSM_QID(T, Q_USERID)},
};

struct pan_f {
    const char *p;
    uint32_t n;
};

static inline bool eq(struct pan_f f, const char *lit)
{
    size_t n = strlen(lit);
    return f.n == n && memcmp(f.p, lit, n) == 0;
}

static inline bool starts(struct pan_f f, const char *lit)
{
    size_t n = strlen(lit);
    return f.n >= n && memcmp(f.p, lit, n) == 0;
}

/* Splits CSV into fields; quoted fields keep the text between the quotes. */
static int pan_split(const char *p, const char *e, struct pan_f *f, int max)
{
    int n = 0;
    while (n < max) {
        if (p < e && *p == '"') {
            const char *a = ++p;
            while (p < e) {
                if (*p == '"') {
                    if (p + 1 < e && p[1] == '"') {
                        p += 2;
                        continue;
                    }
                    break;
                }
                p++;
            }
            f[n].p = a;
            f[n].n = (uint32_t)(p - a);
            n++;
            if (p < e) p++; /* closing quote */
            while (p < e && *p != ',')
                p++;
        } else {
            const char *a = p;
            while (p < e && *p != ',')
                p++;
            f[n].p = a;
            f[n].n = (uint32_t)(p - a);
            n++;
        }
        if (p >= e) break;
        p++; /* comma */
    }
    return n;
}

static bool pan_is_time(const char *p, size_t n)
{
    return n == 19 && p[4] == '/' && p[7] == '/' && p[10] == ' ' && p[13] == ':';
}

/* memmem on a field; NULL for an empty one */
static const char *pan_find(struct pan_f f, const char *lit)
{
    if (!f.p || !f.n) return NULL;
    return strm_memmem(f.p, f.n, lit, strlen(lit));
}

static void set_user(struct strm_event *ev, struct strm_arena *arena, struct pan_f f)
{
    if (f.n > 0 && f.n < 256 && !ev->username.len) dsm_set_str(&ev->username, arena, f.p, f.n);
}

static void prop(struct dsm_props *pr, const char *k, struct pan_f f)
{
    if (f.n) dsm_props_add(pr, k, f.p, f.n);
}

/* Builds the event id and QID from type, subtype, action and a few extras. */
static uint32_t pan_qid(struct pan_f type, struct pan_f sub, struct pan_f action,
                        struct pan_f extra, struct dsm_props *pr)
{
    char id[64];
    size_t n = 0;
    bool traffic = eq(type, "TRAFFIC");
    if (type.n > 24 || sub.n > 24 || action.n > 12) return DSM_QID_UNKNOWN(T);
    memcpy(id, type.p, type.n);
    n = type.n;
    if (traffic) {
        if (eq(action, "allow") && sub.n) {
            id[n++] = ':';
            memcpy(id + n, sub.p, sub.n);
            n += sub.n;
            memcpy(id + n, ":allow", 6);
            n += 6;
        } else {
            const char *w = eq(sub, "drop") || starts(action, "drop") ? ":drop" : ":deny";
            memcpy(id + n, w, 5);
            n += 5;
        }
    } else if ((eq(type, "THREAT") || eq(type, "SYSTEM")) && sub.n) {
        id[n++] = ':';
        memcpy(id + n, sub.p, sub.n);
        n += sub.n;
    }
    dsm_props_add(pr, "eventid", id, n);
    uint32_t qid = dsm_qid_find(pan_map, N(pan_map), id, n, 0);
    uint32_t q = qid ? qid - DSM_QID(T, 0) : 0;
    if (q == Q_THREAT_URL_ALLOW && action.n && !eq(action, "alert") && !eq(action, "allow") &&
        !eq(action, "continue") && !eq(action, "override"))
        q = Q_THREAT_URL_BLOCK;
    if (q == Q_SYSTEM_AUTH_OK &&
        (starts(extra, "auth-fail") || strm_memmem(extra.p, extra.n, "fail", 4)))
        q = Q_SYSTEM_AUTH_FAIL;
    if (q == Q_GP_OK) {
        if (strm_memmem(extra.p, extra.n, "logout", 6) ||
            strm_memmem(extra.p, extra.n, "disconnect", 10))
            q = Q_GP_LOGOUT;
        else if (eq(action, "failure"))
            q = Q_GP_FAIL;
    }
    if (q == Q_AUTH_OK && strm_memmem(extra.p, extra.n, "fail", 4)) q = Q_AUTH_FAIL;
    if (!q && eq(type, "SYSTEM")) q = Q_SYSTEM_OTHER;
    return q ? DSM_QID(T, q) : DSM_QID_UNKNOWN(T);
}

static const uint8_t pan_v4any[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0};

static void pan_clear_any(struct strm_ip *ip)
{
    if (memcmp(ip->b, pan_v4any, 16) == 0) memset(ip, 0, sizeof(*ip));
}

static void pan_nat(struct strm_event *ev)
{
    /* 0.0.0.0 in the NAT columns, or an unchanged socket, means "no translation" */
    pan_clear_any(&ev->postnatsourceip);
    pan_clear_any(&ev->postnatdestinationip);
    if (strm_ip_cmp(&ev->postnatdestinationip, &ev->destinationip) == 0 &&
        ev->postnatdestinationport == ev->destinationport)
        memset(&ev->postnatdestinationip, 0, sizeof(ev->postnatdestinationip));
    if (!strm_ip_is_null(&ev->postnatsourceip)) {
        ev->prenatsourceip = ev->sourceip;
        ev->prenatsourceport = ev->sourceport;
    } else {
        ev->postnatsourceport = 0;
    }
    if (!strm_ip_is_null(&ev->postnatdestinationip)) {
        ev->prenatdestinationip = ev->destinationip;
        ev->prenatdestinationport = ev->destinationport;
    } else {
        ev->postnatdestinationport = 0;
    }
}

static bool pan_csv(struct strm_event *ev, struct strm_arena *arena, const struct dsm_ctx *ctx,
                    const char *m, const char *e)
{
    struct pan_f f[PAN_MAX_FIELDS];
    int nf = pan_split(m, e, f, PAN_MAX_FIELDS);
    if (nf < 7) return false;
    struct pan_f none = {"", 0};
#define F(i) ((i) < nf ? f[i] : none)
    struct pan_f type = f[3], sub = f[4];
    struct dsm_props pr;
    dsm_props_init(&pr);
    struct pan_f action = none, extra = none;
    int64_t ms;
    if (pan_is_time(f[6].p, f[6].n) &&
        dsm_parse_time(DSM_TIME_YMD_HMS, f[6].p, f[6].n, ctx->tz_min, &ms))
        ev->devicetime = ms;
    prop(&pr, "serial", f[2]);
    if (eq(type, "TRAFFIC") || eq(type, "THREAT")) {
        dsm_set_ip(&ev->sourceip, F(7).p, F(7).n);
        dsm_set_ip(&ev->destinationip, F(8).p, F(8).n);
        dsm_set_ip(&ev->postnatsourceip, F(9).p, F(9).n);
        dsm_set_ip(&ev->postnatdestinationip, F(10).p, F(10).n);
        prop(&pr, "rule", F(11));
        set_user(ev, arena, F(12));
        prop(&pr, "dstuser", F(13));
        prop(&pr, "application", F(14));
        prop(&pr, "vsys", F(15));
        prop(&pr, "srczone", F(16));
        prop(&pr, "dstzone", F(17));
        prop(&pr, "ifin", F(18));
        prop(&pr, "ifout", F(19));
        prop(&pr, "sessionid", F(22));
        dsm_set_port(&ev->sourceport, F(24).p, F(24).n);
        dsm_set_port(&ev->destinationport, F(25).p, F(25).n);
        dsm_set_port(&ev->postnatsourceport, F(26).p, F(26).n);
        dsm_set_port(&ev->postnatdestinationport, F(27).p, F(27).n);
        ev->protocolid = dsm_protocol(F(29).p, F(29).n);
        action = F(30);
        prop(&pr, "action", action);
        if (eq(type, "TRAFFIC")) {
            prop(&pr, "bytes", F(31));
            prop(&pr, "bytesout", F(32));
            prop(&pr, "bytesin", F(33));
            prop(&pr, "packets", F(34));
            prop(&pr, "duration", F(36));
            prop(&pr, "urlcategory", F(37));
        } else {
            if (eq(sub, "url"))
                prop(&pr, "url", F(31));
            else
                prop(&pr, "filename", F(31));
            prop(&pr, "threat", F(32));
            prop(&pr, "threatcategory", F(33));
            prop(&pr, "threatseverity", F(34));
            prop(&pr, "direction", F(35));
        }
        pan_nat(ev);
    } else if (eq(type, "SYSTEM")) {
        extra = F(8);
        prop(&pr, "vsys", F(7));
        prop(&pr, "systemevent", F(8));
        prop(&pr, "object", F(9));
        prop(&pr, "module", F(12));
        prop(&pr, "level", F(13));
        prop(&pr, "description", F(14));
        /* "... User 'admin' ... From: 10.0.0.5." / "from '10.0.0.5'" */
        struct pan_f d = F(14);
        const char *u = pan_find(d, "ser '");
        if (u) {
            const char *a = u + 5, *b = memchr(a, '\'', (size_t)(d.p + d.n - a));
            if (b) {
                struct pan_f uf = {a, (uint32_t)(b - a)};
                set_user(ev, arena, uf);
            }
        }
        /* general: "User admin logged in via Web from 10.0.0.50 using https" */
        const char *li = pan_find(d, " logged in via ");
        if (li && d.n > 5 && memcmp(d.p, "User ", 5) == 0 && li > d.p + 5) {
            struct pan_f uf = {d.p + 5, (uint32_t)(li - d.p - 5)};
            set_user(ev, arena, uf);
            extra = (struct pan_f){"auth-success", 12};
            sub = (struct pan_f){"auth", 4};
        }
        /* the source address follows "From: ", "from '" or "from " (5 bytes each) */
        const char *fr = NULL;
        if ((fr = pan_find(d, "rom: ")) == NULL && (fr = pan_find(d, "rom '")) == NULL &&
            (fr = pan_find(d, " from ")) != NULL)
            fr++;
        if (fr) {
            const char *a = fr + 5, *b = a, *de = d.p + d.n;
            while (b < de && *b != ' ' && *b != '\'' && *b != ',')
                b++;
            if (b > a && b[-1] == '.') b--;
            dsm_set_ip(&ev->sourceip, a, (size_t)(b - a));
        }
    } else if (eq(type, "CONFIG")) {
        dsm_set_ip(&ev->sourceip, F(7).p, F(7).n);
        prop(&pr, "vsys", F(8));
        prop(&pr, "command", F(9));
        set_user(ev, arena, F(10));
        prop(&pr, "client", F(11));
        prop(&pr, "result", F(12));
        prop(&pr, "path", F(13));
    } else if (eq(type, "GLOBALPROTECT")) {
        extra = F(8);
        prop(&pr, "vsys", F(7));
        prop(&pr, "gpevent", F(8));
        prop(&pr, "stage", F(9));
        prop(&pr, "authmethod", F(10));
        set_user(ev, arena, F(12));
        dsm_set_ip(&ev->sourceip, F(15).p, F(15).n);
        dsm_set_ip(&ev->postnatsourceip, F(17).p, F(17).n);
        pan_clear_any(&ev->postnatsourceip);
        action = F(28);
        prop(&pr, "status", action);
        prop(&pr, "reason", F(25));
    } else if (eq(type, "USERID") || eq(type, "AUTH")) {
        prop(&pr, "vsys", F(7));
        dsm_set_ip(&ev->sourceip, F(8).p, F(8).n);
        set_user(ev, arena, F(9));
        if (eq(type, "AUTH")) {
            extra = F(20);
            prop(&pr, "description", F(18));
        }
    }
    dsm_set_qid(ev, pan_qid(type, sub, action, extra, &pr));
    dsm_props_commit(&pr, ev, arena);
    ev->devicetype = T;
    return true;
#undef F
}

/* LEEF attributes -> fields */
struct pan_leef {
    struct strm_event *ev;
    struct strm_arena *arena;
    struct dsm_props *pr;
    struct pan_f type, sub, action, extra;
    const struct dsm_ctx *ctx;
};

static bool pan_leef_kv(const char *k, size_t kl, const char *v, size_t vl, void *arg)
{
    struct pan_leef *L = arg;
    struct strm_event *ev = L->ev;
    struct pan_f val = {v, (uint32_t)vl};
#define K(lit) (kl == sizeof(lit) - 1 && memcmp(k, lit, sizeof(lit) - 1) == 0)
    if (K("cat"))
        L->type = val;
    else if (K("Subtype"))
        L->sub = val;
    else if (K("action")) {
        L->action = val;
        prop(L->pr, "action", val);
    } else if (K("src"))
        dsm_set_ip(&ev->sourceip, v, vl);
    else if (K("dst"))
        dsm_set_ip(&ev->destinationip, v, vl);
    else if (K("srcPostNAT"))
        dsm_set_ip(&ev->postnatsourceip, v, vl);
    else if (K("dstPostNAT"))
        dsm_set_ip(&ev->postnatdestinationip, v, vl);
    else if (K("srcPort"))
        dsm_set_port(&ev->sourceport, v, vl);
    else if (K("dstPort"))
        dsm_set_port(&ev->destinationport, v, vl);
    else if (K("srcPostNATPort"))
        dsm_set_port(&ev->postnatsourceport, v, vl);
    else if (K("dstPostNATPort"))
        dsm_set_port(&ev->postnatdestinationport, v, vl);
    else if (K("proto"))
        ev->protocolid = dsm_protocol(v, vl);
    else if (K("usrName") || K("SourceUser"))
        set_user(ev, L->arena, val);
    else if (K("RuleName"))
        prop(L->pr, "rule", val);
    else if (K("Application"))
        prop(L->pr, "application", val);
    else if (K("SourceZone"))
        prop(L->pr, "srczone", val);
    else if (K("DestinationZone"))
        prop(L->pr, "dstzone", val);
    else if (K("IngressInterface"))
        prop(L->pr, "ifin", val);
    else if (K("EgressInterface"))
        prop(L->pr, "ifout", val);
    else if (K("totalBytes"))
        prop(L->pr, "bytes", val);
    else if (K("srcBytes"))
        prop(L->pr, "bytesout", val);
    else if (K("dstBytes"))
        prop(L->pr, "bytesin", val);
    else if (K("totalPackets"))
        prop(L->pr, "packets", val);
    else if (K("URLCategory"))
        prop(L->pr, "urlcategory", val);
    else if (K("ThreatID"))
        prop(L->pr, "threat", val);
    else if (K("Miscellaneous") || K("URL"))
        prop(L->pr, "url", val);
    else if (K("sev"))
        prop(L->pr, "threatseverity", val);
    else if (K("EventID") || K("Status"))
        L->extra = val;
    else if (K("devTime") || K("GeneratedTime")) {
        int64_t ms;
        if (vl == 19 && dsm_parse_time(DSM_TIME_YMD_HMS, v, vl, L->ctx->tz_min, &ms))
            ev->devicetime = ms;
        /* "Nov 25 2026 10:10:00 GMT" */
        else if (vl >= 20 &&
                 dsm_parse_time(DSM_TIME_MON_D_Y_HMS, v, 20,
                                vl >= 24 && memcmp(v + 21, "GMT", 3) == 0 ? 0 : L->ctx->tz_min,
                                &ms))
            ev->devicetime = ms;
    }
    return true;
#undef K
}

static bool pan_leef(struct strm_event *ev, struct strm_arena *arena, const struct dsm_ctx *ctx,
                     const char *m, size_t len)
{
    struct dsm_leef h;
    if (!dsm_leef_header(m, len, &h)) return false;
    if (h.vendor.len < 10 || memcmp(h.vendor.p, "Palo Alto ", 10) != 0) return false;
    struct dsm_props pr;
    dsm_props_init(&pr);
    struct pan_f none = {"", 0};
    struct pan_leef L = {ev, arena, &pr, none, none, none, none, ctx};
    dsm_leef_scan(&h, pan_leef_kv, &L);
    if (!L.type.n) {
        /* no cat attribute: derive the type from the header event id ("trafficdeny") */
        const char *id = h.event_id.p;
        size_t il = h.event_id.len;
        if (il >= 7 && strncasecmp(id, "traffic", 7) == 0) {
            L.type = (struct pan_f){"TRAFFIC", 7};
            if (!L.action.n)
                L.action = (il >= 12 && strncasecmp(id + 7, "allow", 5) == 0)
                               ? (struct pan_f){"allow", 5}
                               : (struct pan_f){"deny", 4};
        } else if (il >= 6 && strncasecmp(id, "threat", 6) == 0) {
            L.type = (struct pan_f){"THREAT", 6};
        }
    }
    pan_nat(ev);
    dsm_props_add(&pr, "leefevent", h.event_id.p, h.event_id.len);
    dsm_set_qid(ev, pan_qid(L.type, L.sub, L.action, L.extra, &pr));
    dsm_props_commit(&pr, ev, arena);
    ev->devicetype = T;
    return true;
}

static bool pan_known_type(const char *p, size_t n)
{
    static const char *const types[] = {"TRAFFIC",    "THREAT", "SYSTEM",        "CONFIG",
                                        "USERID",     "AUTH",   "GLOBALPROTECT", "HIPMATCH",
                                        "DECRYPTION", "TUNNEL", "SCTP",          "CORRELATION"};
    for (size_t i = 0; i < N(types); i++)
        if (strlen(types[i]) == n && memcmp(types[i], p, n) == 0) return true;
    return false;
}

static bool pan_parse(struct strm_event *ev, struct strm_arena *arena, const struct dsm_ctx *ctx)
{
    const char *m = ev->message.p;
    size_t len = ev->message.len;
    if (!m || len < 30) return false;
    const char *e = m + len;
    /* LEEF: the syslog parser may take "LEEF:1.0|..." for a tag, so look in the payload */
    const char *pl = ev->payload.p;
    if (pl && ev->payload.len > 40) {
        size_t lim = ev->payload.len < 96 ? ev->payload.len : 96;
        const char *lf = strm_memmem(pl, lim, "LEEF:", 5);
        if (lf) return pan_leef(ev, arena, ctx, lf, ev->payload.len - (size_t)(lf - pl));
    }
    /* CSV: "<digits>,yyyy/mm/dd hh:mm:ss,<serial>,<TYPE>," */
    const char *p = m;
    while (p < e && p - m < 12 && *p >= '0' && *p <= '9')
        p++;
    if (p == m || p + 21 > e || *p != ',' || !pan_is_time(p + 1, 19) || p[20] != ',') return false;
    const char *s = p + 21, *se = memchr(s, ',', (size_t)(e - s) < 40 ? (size_t)(e - s) : 40);
    if (!se) return false;
    const char *t = se + 1, *te = t;
    while (te < e && te - t < 16 && *te != ',')
        te++;
    if (te >= e || !pan_known_type(t, (size_t)(te - t))) return false;
    return pan_csv(ev, arena, ctx, m, e);
}

const struct dsm_def dsm_panos = {
    .name = "panos",
    .display = "Palo Alto PA Series",
    .type_id = T,
    .qids = pan_qids,
    .n_qids = N(pan_qids),
    .init = NULL,
    .parse = pan_parse,
};
