/*
 * dsm_fortigate.c - Fortinet FortiGate (FortiOS) firewalls.
 *
 * FortiOS sends one line of space-separated key=value pairs per log (values with spaces are
 * double-quoted), as the FortiOS Log Message Reference defines them: date= time= devname=
 * devid= [eventtime= tz=] logid= type= subtype= level= vd= and then the fields of the log
 * type (srcip srcport srcintf dstip dstport dstintf proto action policyid service transip
 * transport sentbyte rcvdbyte ... for traffic; virus/url/attack/app for UTM; user ui status
 * msg for events).
 *
 * logid is ten digits: type (2) subtype (2) message id (6). It is the event id and maps to a
 * QID where the message id has a fixed meaning (admin login 32001/32002, logout 32003,
 * configuration 44546/44547, SSL VPN tunnel up/down 39424/39425/39947/39948, SSL VPN login
 * failure 39426, ...). Traffic and UTM logs share logids across actions, so their QID comes
 * from type/subtype and the action (traffic: accept/deny/close/timeout/...; UTM:
 * blocked/passed/dropped/detected).
 *
 * devicetime: date + time read in the log's "tz" offset when present, else ctx->tz_min.
 * Source NAT (transip/transport) goes to post-NAT source, destination NAT (tranip/tranport)
 * to post-NAT destination.
 *
 * Recognition: "devid=" and "logid=" within the first 300 bytes of the message. Reads are
 * bounded (dsm_kv_scan); nothing is allocated outside the arena.
 */
#include "dsm/dsm.h"

#include <string.h>

#define T DSM_T_FORTIGATE
#define N(a) (sizeof(a) / sizeof((a)[0]))

enum {
    Q_TRAFFIC_ACCEPT = 1,
    Q_TRAFFIC_DENY,
    Q_TRAFFIC_CLOSE,
    Q_TRAFFIC_LOCAL,
    Q_VIRUS,
    Q_VIRUS_BLOCKED,
    Q_WEB_BLOCKED,
    Q_WEB_ALLOWED,
    Q_IPS_DROPPED,
    Q_IPS_DETECTED,
    Q_APP_BLOCKED,
    Q_APP_ALLOWED,
    Q_DNS_QUERY,
    Q_DNS_BLOCKED,
    Q_ADMIN_LOGIN_OK,
    Q_ADMIN_LOGIN_FAIL,
    Q_ADMIN_LOGOUT,
    Q_CONFIG,
    Q_SSLVPN_UP,
    Q_SSLVPN_DOWN,
    Q_SSLVPN_FAIL,
    Q_EVENT_SYSTEM,
    Q_EVENT_USER,
    Q_EVENT_VPN,
    Q_AUTH_FAIL,
    Q_AUTH_OK,
};

static const struct qid_def fgt_qids[] = {
    {DSM_QID(T, Q_TRAFFIC_ACCEPT), "FortiGate Traffic Accepted",
     "Forward traffic accepted by policy", LLC_FIREWALL_PERMIT, 1},
    {DSM_QID(T, Q_TRAFFIC_DENY), "FortiGate Traffic Denied", "Traffic denied by policy",
     LLC_FIREWALL_DENY, 4},
    {DSM_QID(T, Q_TRAFFIC_CLOSE), "FortiGate Session Closed",
     "An accepted session ended (close, timeout, reset)", LLC_FIREWALL_SESSION_CLOSED, 1},
    {DSM_QID(T, Q_TRAFFIC_LOCAL), "FortiGate Local Traffic",
     "Traffic to or from the FortiGate itself", LLC_MISC_NETWORK_COMMUNICATION, 1},
    {DSM_QID(T, Q_VIRUS), "FortiGate Virus Detected", "Antivirus detected an infected file",
     LLC_VIRUS_DETECTED, 8},
    {DSM_QID(T, Q_VIRUS_BLOCKED), "FortiGate Virus Blocked", "Antivirus blocked an infected file",
     LLC_VIRUS_DETECTED, 7},
    {DSM_QID(T, Q_WEB_BLOCKED), "FortiGate Web Filter Blocked", "Web filtering blocked a URL",
     LLC_WEB_POLICY_VIOLATION, 4},
    {DSM_QID(T, Q_WEB_ALLOWED), "FortiGate Web Filter Passed", "Web filtering let a URL pass",
     LLC_WEB_ACCESS_ALLOWED, 1},
    {DSM_QID(T, Q_IPS_DROPPED), "FortiGate IPS Attack Dropped", "IPS dropped an attack",
     LLC_IPS_DENY, 7},
    {DSM_QID(T, Q_IPS_DETECTED), "FortiGate IPS Attack Detected", "IPS detected an attack",
     LLC_MISC_EXPLOIT, 7},
    {DSM_QID(T, Q_APP_BLOCKED), "FortiGate Application Blocked",
     "Application control blocked an application", LLC_APP_POLICY_VIOLATION, 4},
    {DSM_QID(T, Q_APP_ALLOWED), "FortiGate Application Allowed",
     "Application control let an application pass", LLC_APP_ACTION_ALLOWED, 1},
    {DSM_QID(T, Q_DNS_QUERY), "FortiGate DNS Query", "DNS filter logged a query", LLC_DNS_QUERY, 1},
    {DSM_QID(T, Q_DNS_BLOCKED), "FortiGate DNS Query Blocked", "DNS filter blocked a query",
     LLC_WEB_POLICY_VIOLATION, 4},
    {DSM_QID(T, Q_ADMIN_LOGIN_OK), "FortiGate Admin Login Succeeded", "An administrator logged in",
     LLC_ADMIN_LOGIN_SUCCEEDED, 3},
    {DSM_QID(T, Q_ADMIN_LOGIN_FAIL), "FortiGate Admin Login Failed",
     "An administrator login failed", LLC_ADMIN_LOGIN_FAILED, 6},
    {DSM_QID(T, Q_ADMIN_LOGOUT), "FortiGate Admin Logout", "An administrator logged out",
     LLC_HOST_LOGOUT, 1},
    {DSM_QID(T, Q_CONFIG), "FortiGate Configuration Changed",
     "An administrator changed the configuration", LLC_DEVICE_CONFIG_CHANGE, 4},
    {DSM_QID(T, Q_SSLVPN_UP), "FortiGate SSL VPN Tunnel Up", "An SSL VPN tunnel came up",
     LLC_VPN_LOGIN_SUCCEEDED, 2},
    {DSM_QID(T, Q_SSLVPN_DOWN), "FortiGate SSL VPN Tunnel Down", "An SSL VPN tunnel went down",
     LLC_VPN_LOGOUT, 1},
    {DSM_QID(T, Q_SSLVPN_FAIL), "FortiGate SSL VPN Login Failed", "An SSL VPN login failed",
     LLC_VPN_LOGIN_FAILED, 5},
    {DSM_QID(T, Q_EVENT_SYSTEM), "FortiGate System Event", "A system event", LLC_SYSTEM_STATUS, 2},
    {DSM_QID(T, Q_EVENT_USER), "FortiGate User Event", "A user authentication event",
     LLC_AUTH_UNKNOWN, 3},
    {DSM_QID(T, Q_EVENT_VPN), "FortiGate VPN Event", "A VPN event", LLC_MISC_NETWORK_COMMUNICATION,
     2},
    {DSM_QID(T, Q_AUTH_FAIL), "FortiGate User Authentication Failed",
     "Firewall user authentication failed", LLC_GENERAL_AUTH_FAILED, 5},
    {DSM_QID(T, Q_AUTH_OK), "FortiGate User Authentication Succeeded",
     "Firewall user authentication succeeded", LLC_GENERAL_AUTH_SUCCEEDED, 2},
    {DSM_QID_UNKNOWN(T), "FortiGate Unknown Event", "A FortiGate log this DSM does not map",
     LLC_UNKNOWN, 3},
};

/* logids with a fixed meaning, sorted. */
static const struct dsm_qid_map fgt_map[] = {
    {"0100032001", DSM_QID(T, Q_ADMIN_LOGIN_OK)}, {"0100032002", DSM_QID(T, Q_ADMIN_LOGIN_FAIL)},
    {"0100032003", DSM_QID(T, Q_ADMIN_LOGOUT)},   {"0100044545", DSM_QID(T, Q_CONFIG)},
    {"0100044546", DSM_QID(T, Q_CONFIG)},         {"0100044547", DSM_QID(T, Q_CONFIG)},
    {"0101039424", DSM_QID(T, Q_SSLVPN_UP)},      {"0101039425", DSM_QID(T, Q_SSLVPN_DOWN)},
    {"0101039426", DSM_QID(T, Q_SSLVPN_FAIL)},    {"0101039947", DSM_QID(T, Q_SSLVPN_UP)},
    {"0101039948", DSM_QID(T, Q_SSLVPN_DOWN)},    {"0102043008", DSM_QID(T, Q_AUTH_OK)},
    {"0102043009", DSM_QID(T, Q_AUTH_FAIL)},
};

struct fgt_state {
    struct strm_event *ev;
    struct strm_arena *arena;
    struct strm_str date, time, tz, logid, type, subtype, action, status;
    bool have_devid;
    struct dsm_props pr; /* last: not cleared with the rest (2 KiB per line), see fgt_parse */
};

#define K(lit) (kl == sizeof(lit) - 1 && memcmp(k, lit, sizeof(lit) - 1) == 0)
#define S(dst) ((dst).p = v, (dst).len = (uint32_t)vl)

static bool fgt_kv(const char *k, size_t kl, const char *v, size_t vl, void *arg)
{
    struct fgt_state *st = arg;
    struct strm_event *ev = st->ev;
    if (kl == 0) return true;
    switch (k[0]) {
    case 'a':
        if (K("action")) {
            S(st->action);
            dsm_props_add(&st->pr, "action", v, vl);
        } else if (K("app"))
            dsm_props_add(&st->pr, "application", v, vl);
        else if (K("attack"))
            dsm_props_add(&st->pr, "threat", v, vl);
        return true;
    case 'd':
        if (K("date"))
            S(st->date);
        else if (K("dstip"))
            dsm_set_ip(&ev->destinationip, v, vl);
        else if (K("dstport"))
            dsm_set_port(&ev->destinationport, v, vl);
        else if (K("dstintf"))
            dsm_props_add(&st->pr, "ifout", v, vl);
        else if (K("devid"))
            st->have_devid = true;
        else if (K("devname"))
            dsm_props_add(&st->pr, "devname", v, vl);
        else if (K("duration"))
            dsm_props_add(&st->pr, "duration", v, vl);
        else if (K("dstmac"))
            dsm_set_mac(ev->destinationmac, v, vl);
        return true;
    case 'h':
        if (K("hostname")) dsm_props_add(&st->pr, "urlhost", v, vl);
        return true;
    case 'l':
        if (K("logid"))
            S(st->logid);
        else if (K("level"))
            dsm_props_add(&st->pr, "level", v, vl);
        else if (K("logdesc"))
            dsm_props_add(&st->pr, "logdesc", v, vl);
        return true;
    case 'p':
        if (K("proto"))
            ev->protocolid = dsm_protocol(v, vl);
        else if (K("policyid"))
            dsm_props_add(&st->pr, "policy", v, vl);
        return true;
    case 'q':
        if (K("qname")) dsm_props_add(&st->pr, "query", v, vl);
        return true;
    case 'r':
        if (K("rcvdbyte"))
            dsm_props_add(&st->pr, "bytesin", v, vl);
        else if (K("rcvdpkt"))
            dsm_props_add(&st->pr, "packetsin", v, vl);
        else if (K("remip") && strm_ip_is_null(&ev->sourceip))
            dsm_set_ip(&ev->sourceip, v, vl);
        else if (K("reason"))
            dsm_props_add(&st->pr, "reason", v, vl);
        return true;
    case 's':
        if (K("srcip"))
            dsm_set_ip(&ev->sourceip, v, vl);
        else if (K("srcport"))
            dsm_set_port(&ev->sourceport, v, vl);
        else if (K("srcintf"))
            dsm_props_add(&st->pr, "ifin", v, vl);
        else if (K("subtype"))
            S(st->subtype);
        else if (K("service"))
            dsm_props_add(&st->pr, "service", v, vl);
        else if (K("sentbyte"))
            dsm_props_add(&st->pr, "bytesout", v, vl);
        else if (K("sentpkt"))
            dsm_props_add(&st->pr, "packetsout", v, vl);
        else if (K("srcmac"))
            dsm_set_mac(ev->sourcemac, v, vl);
        else if (K("status"))
            S(st->status);
        else if (K("sessionid"))
            dsm_props_add(&st->pr, "sessionid", v, vl);
        return true;
    case 't':
        if (K("time"))
            S(st->time);
        else if (K("type"))
            S(st->type);
        else if (K("tz"))
            S(st->tz);
        else if (K("transip")) {
            dsm_set_ip(&ev->postnatsourceip, v, vl);
        } else if (K("transport"))
            dsm_set_port(&ev->postnatsourceport, v, vl);
        else if (K("tranip"))
            dsm_set_ip(&ev->postnatdestinationip, v, vl);
        else if (K("tranport"))
            dsm_set_port(&ev->postnatdestinationport, v, vl);
        else if (K("tunneltype"))
            dsm_props_add(&st->pr, "tunneltype", v, vl);
        return true;
    case 'u':
        if ((K("user") || K("unauthuser")) && vl && !ev->username.len)
            dsm_set_str(&ev->username, st->arena, v, vl);
        else if (K("url"))
            dsm_props_add(&st->pr, "url", v, vl);
        else if (K("ui"))
            dsm_props_add(&st->pr, "ui", v, vl);
        return true;
    case 'v':
        if (K("virus"))
            dsm_props_add(&st->pr, "threat", v, vl);
        else if (K("vd"))
            dsm_props_add(&st->pr, "vdom", v, vl);
        return true;
    case 'c':
        if (K("catdesc"))
            dsm_props_add(&st->pr, "urlcategory", v, vl);
        else if (K("cfgpath"))
            dsm_props_add(&st->pr, "cfgpath", v, vl);
        return true;
    case 'm':
        if (K("msg")) dsm_props_add(&st->pr, "msg", v, vl);
        return true;
    default:
        return true;
    }
}

static inline bool str_is(struct strm_str s, const char *lit)
{
    size_t n = strlen(lit);
    return s.len == n && memcmp(s.p, lit, n) == 0;
}

static inline bool str_starts(struct strm_str s, const char *lit)
{
    size_t n = strlen(lit);
    return s.len >= n && memcmp(s.p, lit, n) == 0;
}

static uint32_t fgt_qid(struct fgt_state *st)
{
    uint32_t qid =
        st->logid.len ? dsm_qid_find(fgt_map, N(fgt_map), st->logid.p, st->logid.len, 0) : 0;
    if (qid) return qid;
    struct strm_str a = st->action, sub = st->subtype;
    if (str_is(st->type, "traffic")) {
        if (str_is(sub, "local") && !str_is(a, "deny")) return DSM_QID(T, Q_TRAFFIC_LOCAL);
        if (str_is(a, "deny") || str_is(a, "blocked") || str_is(a, "ip-conn"))
            return DSM_QID(T, Q_TRAFFIC_DENY);
        if (str_is(a, "accept") || str_is(a, "start") || str_is(a, "dns"))
            return DSM_QID(T, Q_TRAFFIC_ACCEPT);
        if (a.len) return DSM_QID(T, Q_TRAFFIC_CLOSE);
        return DSM_QID_UNKNOWN(T);
    }
    if (str_is(st->type, "utm")) {
        bool blocked = str_is(a, "blocked") || str_is(a, "block") || str_is(a, "dropped") ||
                       str_is(a, "reset") || str_is(a, "deny");
        if (str_is(sub, "virus")) return DSM_QID(T, blocked ? Q_VIRUS_BLOCKED : Q_VIRUS);
        if (str_is(sub, "webfilter")) return DSM_QID(T, blocked ? Q_WEB_BLOCKED : Q_WEB_ALLOWED);
        if (str_is(sub, "ips") || str_is(sub, "anomaly"))
            return DSM_QID(T, blocked ? Q_IPS_DROPPED : Q_IPS_DETECTED);
        if (str_is(sub, "app-ctrl")) return DSM_QID(T, blocked ? Q_APP_BLOCKED : Q_APP_ALLOWED);
        if (str_is(sub, "dns"))
            return DSM_QID(T, blocked || str_is(a, "redirect") ? Q_DNS_BLOCKED : Q_DNS_QUERY);
        return DSM_QID_UNKNOWN(T);
    }
    if (str_is(st->type, "event")) {
        if (str_is(sub, "user")) {
            if (str_starts(st->status, "fail")) return DSM_QID(T, Q_AUTH_FAIL);
            if (str_starts(st->status, "success")) return DSM_QID(T, Q_AUTH_OK);
            return DSM_QID(T, Q_EVENT_USER);
        }
        if (str_is(sub, "vpn")) return DSM_QID(T, Q_EVENT_VPN);
        return DSM_QID(T, Q_EVENT_SYSTEM);
    }
    return DSM_QID_UNKNOWN(T);
}

/* "+0200" / "-0500" -> minutes east; false when not that shape. */
static bool fgt_tz(struct strm_str tz, int *min)
{
    if (tz.len != 5 || (tz.p[0] != '+' && tz.p[0] != '-')) return false;
    for (int i = 1; i < 5; i++)
        if (tz.p[i] < '0' || tz.p[i] > '9') return false;
    int m = ((tz.p[1] - '0') * 10 + (tz.p[2] - '0')) * 60 + (tz.p[3] - '0') * 10 + (tz.p[4] - '0');
    *min = tz.p[0] == '-' ? -m : m;
    return true;
}

static bool fgt_parse(struct strm_event *ev, struct strm_arena *arena, const struct dsm_ctx *ctx)
{
    const char *m = ev->message.p;
    size_t len = ev->message.len;
    if (!m || len < 40) return false;
    size_t lim = len < 300 ? len : 300;
    const char *lg = strm_memmem(m, lim, "logid=", 6);
    if (!lg || !strm_memmem(m, lim, "devid=", 6)) return false;
    /* the kv scan writes into ev directly: make sure this is a FortiOS logid first */
    const char *lv = lg + 6;
    if (lv < m + len && *lv == '"') lv++;
    if (m + len - lv < 10) return false;
    for (int i = 0; i < 10; i++)
        if (lv[i] < '0' || lv[i] > '9') return false;
    struct fgt_state st;
    memset(&st, 0, offsetof(struct fgt_state, pr));
    st.ev = ev;
    st.arena = arena;
    dsm_props_init(&st.pr);
    dsm_kv_scan(m, len, ' ', fgt_kv, &st);
    if (st.date.len == 10 && st.time.len == 8) {
        char buf[20];
        memcpy(buf, st.date.p, 10);
        buf[10] = ' ';
        memcpy(buf + 11, st.time.p, 8);
        int tz = ctx->tz_min;
        fgt_tz(st.tz, &tz);
        int64_t ms;
        if (dsm_parse_time(DSM_TIME_YMD_HMS, buf, 19, tz, &ms)) ev->devicetime = ms;
    }
    if (!strm_ip_is_null(&ev->postnatsourceip)) {
        ev->prenatsourceip = ev->sourceip;
        ev->prenatsourceport = ev->sourceport;
    }
    if (!strm_ip_is_null(&ev->postnatdestinationip)) {
        ev->prenatdestinationip = ev->destinationip;
        ev->prenatdestinationport = ev->destinationport;
    }
    dsm_props_add(&st.pr, "eventid", st.logid.p, st.logid.len);
    if (st.subtype.len) dsm_props_add(&st.pr, "subtype", st.subtype.p, st.subtype.len);
    if (st.status.len) dsm_props_add(&st.pr, "status", st.status.p, st.status.len);
    dsm_props_commit(&st.pr, ev, arena);
    dsm_set_qid(ev, fgt_qid(&st));
    ev->devicetype = T;
    return true;
}

const struct dsm_def dsm_fortigate = {
    .name = "fortigate",
    .display = "Fortinet FortiGate Security Gateway",
    .type_id = T,
    .qids = fgt_qids,
    .n_qids = N(fgt_qids),
    .init = NULL,
    .parse = fgt_parse,
};
