/*
 * dsm_sophos.c - Sophos Firewall (XG / SFOS) and Sophos UTM (SG).
 *
 * Both write space-separated key=value pairs with double-quoted values.
 *   - Sophos Firewall: device="SFW" date= time= timezone= device_name= device_id= log_id=
 *     log_type= log_component= log_subtype= status= ... (SFOS 19+ uses timestamp= with an
 *     offset instead of date/time). log_id is twelve digits: log type (2), component (2),
 *     subtype (2), severity (1), message id (5). The QID is chosen by log_type, then
 *     log_subtype/status: Firewall Allowed/Denied, IPS Detect/Drop, Content Filtering
 *     Allowed/Denied, Anti-Virus, Event (admin login, user authentication, VPN, system).
 *   - Sophos UTM: id="2001" severity= sys= sub= name= action= fwrule= srcip= dstip= proto=
 *     srcport= dstport=: the numeric id is the event id; packet filter, IPS, web and
 *     authentication events are told apart by sub/name/action.
 *
 * Normalized: src/dst IP and port, protocol, user, MACs, NAT (tran_src_ip/port ->
 * post-NAT source, tran_dst_ip/port -> post-NAT destination), devicetime (SFOS timestamp
 * with its offset, else date+time in ctx->tz_min: the timezone field is a name like "CEST",
 * not an offset). Properties: action, rule, interfaces, application, url, threat, bytes.
 *
 * Recognition: SFOS needs "log_type=" and "log_id=" in the first 400 bytes; UTM needs the
 * message to start with id=" and hold sys=" and sub=". Reads are bounded (dsm_kv_scan).
 */
#include "dsm/dsm.h"

#include <string.h>
#include <strings.h>

#define T DSM_T_SOPHOS
#define N(a) (sizeof(a) / sizeof((a)[0]))

enum {
    Q_FW_ALLOW = 1,
    Q_FW_DENY,
    Q_IPS_DETECT,
    Q_IPS_DROP,
    Q_WEB_ALLOW,
    Q_WEB_DENY,
    Q_VIRUS,
    Q_ADMIN_LOGIN_OK,
    Q_ADMIN_LOGIN_FAIL,
    Q_AUTH_OK,
    Q_AUTH_FAIL,
    Q_VPN,
    Q_SYSTEM,
    Q_ATP,
    Q_APP_DENY,
};

static const struct qid_def so_qids[] = {
    {DSM_QID(T, Q_FW_ALLOW), "Sophos Firewall Allowed", "A firewall rule allowed the traffic",
     LLC_FIREWALL_PERMIT, 1},
    {DSM_QID(T, Q_FW_DENY), "Sophos Firewall Denied",
     "A firewall rule denied or dropped the traffic", LLC_FIREWALL_DENY, 4},
    {DSM_QID(T, Q_IPS_DETECT), "Sophos IPS Detect", "IPS detected an attack signature or anomaly",
     LLC_MISC_EXPLOIT, 6},
    {DSM_QID(T, Q_IPS_DROP), "Sophos IPS Drop", "IPS dropped an attack", LLC_IPS_DENY, 6},
    {DSM_QID(T, Q_WEB_ALLOW), "Sophos Web Allowed", "Web filtering allowed a request",
     LLC_WEB_ACCESS_ALLOWED, 1},
    {DSM_QID(T, Q_WEB_DENY), "Sophos Web Denied", "Web filtering denied a request",
     LLC_WEB_POLICY_VIOLATION, 4},
    {DSM_QID(T, Q_VIRUS), "Sophos Virus Detected", "Anti-virus detected malware",
     LLC_VIRUS_DETECTED, 8},
    {DSM_QID(T, Q_ADMIN_LOGIN_OK), "Sophos Admin Login Succeeded", "An administrator logged in",
     LLC_ADMIN_LOGIN_SUCCEEDED, 3},
    {DSM_QID(T, Q_ADMIN_LOGIN_FAIL), "Sophos Admin Login Failed", "An administrator login failed",
     LLC_ADMIN_LOGIN_FAILED, 6},
    {DSM_QID(T, Q_AUTH_OK), "Sophos User Authentication Succeeded", "A user authenticated",
     LLC_GENERAL_AUTH_SUCCEEDED, 2},
    {DSM_QID(T, Q_AUTH_FAIL), "Sophos User Authentication Failed", "A user authentication failed",
     LLC_GENERAL_AUTH_FAILED, 5},
    {DSM_QID(T, Q_VPN), "Sophos VPN Event", "A VPN connection event",
     LLC_MISC_NETWORK_COMMUNICATION, 2},
    {DSM_QID(T, Q_SYSTEM), "Sophos System Event", "A system event", LLC_SYSTEM_STATUS, 2},
    {DSM_QID(T, Q_ATP), "Sophos Advanced Threat Protection",
     "ATP detected traffic to a known malicious host", LLC_BOTNET, 8},
    {DSM_QID(T, Q_APP_DENY), "Sophos Application Denied",
     "Application control denied an application", LLC_APP_POLICY_VIOLATION, 4},
    {DSM_QID_UNKNOWN(T), "Sophos Unknown Event", "A Sophos log this DSM does not map", LLC_UNKNOWN,
     3},
};

struct so_state {
    struct strm_event *ev;
    struct strm_arena *arena;
    struct strm_str log_id, log_type, component, subtype, status, date, time, timestamp;
    struct strm_str utm_id, sub, name, action;
    struct dsm_props pr; /* last: not cleared with the rest (2 KiB per line) */
};

#define K(lit) (kl == sizeof(lit) - 1 && memcmp(k, lit, sizeof(lit) - 1) == 0)
#define S(dst) ((dst).p = v, (dst).len = (uint32_t)vl)

static bool so_kv(const char *k, size_t kl, const char *v, size_t vl, void *arg)
{
    struct so_state *st = arg;
    struct strm_event *ev = st->ev;
    if (kl < 2) return true;
    if (K("src_ip") || K("srcip") || K("sourceip"))
        dsm_set_ip(&ev->sourceip, v, vl);
    else if (K("dst_ip") || K("dstip") || K("destinationip"))
        dsm_set_ip(&ev->destinationip, v, vl);
    else if (K("src_port") || K("srcport"))
        dsm_set_port(&ev->sourceport, v, vl);
    else if (K("dst_port") || K("dstport"))
        dsm_set_port(&ev->destinationport, v, vl);
    else if (K("protocol") || K("proto"))
        ev->protocolid = dsm_protocol(v, vl);
    else if ((K("user_name") || K("user")) && vl && !ev->username.len)
        dsm_set_str(&ev->username, st->arena, v, vl);
    else if (K("src_mac") || K("srcmac"))
        dsm_set_mac(ev->sourcemac, v, vl);
    else if (K("dst_mac") || K("dstmac"))
        dsm_set_mac(ev->destinationmac, v, vl);
    else if (K("tran_src_ip"))
        dsm_set_ip(&ev->postnatsourceip, v, vl);
    else if (K("tran_src_port"))
        dsm_set_port(&ev->postnatsourceport, v, vl);
    else if (K("tran_dst_ip"))
        dsm_set_ip(&ev->postnatdestinationip, v, vl);
    else if (K("tran_dst_port"))
        dsm_set_port(&ev->postnatdestinationport, v, vl);
    else if (K("log_id"))
        S(st->log_id);
    else if (K("log_type"))
        S(st->log_type);
    else if (K("log_component"))
        S(st->component);
    else if (K("log_subtype"))
        S(st->subtype);
    else if (K("status"))
        S(st->status);
    else if (K("date"))
        S(st->date);
    else if (K("time"))
        S(st->time);
    else if (K("timestamp"))
        S(st->timestamp);
    else if (K("id"))
        S(st->utm_id);
    else if (K("sub"))
        S(st->sub);
    else if (K("name"))
        S(st->name);
    else if (K("action")) {
        S(st->action);
        dsm_props_add(&st->pr, "action", v, vl);
    } else if (vl == 0)
        return true;
    else if (K("fw_rule_id") || K("fwrule"))
        dsm_props_add(&st->pr, "rule", v, vl);
    else if (K("in_interface") || K("initf"))
        dsm_props_add(&st->pr, "ifin", v, vl);
    else if (K("out_interface") || K("outitf"))
        dsm_props_add(&st->pr, "ifout", v, vl);
    else if (K("application") || K("app_name"))
        dsm_props_add(&st->pr, "application", v, vl);
    else if (K("url"))
        dsm_props_add(&st->pr, "url", v, vl);
    else if (K("categoryname") || (K("category") && !(v[0] >= '0' && v[0] <= '9')))
        dsm_props_add(&st->pr, "category", v, vl);
    else if (K("virus") || K("malware") || K("signature_msg") || K("threatname"))
        dsm_props_add(&st->pr, "threat", v, vl);
    else if (K("sent_bytes"))
        dsm_props_add(&st->pr, "bytesout", v, vl);
    else if (K("recv_bytes"))
        dsm_props_add(&st->pr, "bytesin", v, vl);
    else if (K("srczone"))
        dsm_props_add(&st->pr, "srczone", v, vl);
    else if (K("dstzone"))
        dsm_props_add(&st->pr, "dstzone", v, vl);
    else if (K("message"))
        dsm_props_add(&st->pr, "msg", v, vl);
    else if (K("reason"))
        dsm_props_add(&st->pr, "reason", v, vl);
    return true;
}

static bool is(struct strm_str s, const char *lit)
{
    size_t n = strlen(lit);
    return s.len == n && strncasecmp(s.p, lit, n) == 0;
}

static bool has(struct strm_str s, const char *lit)
{
    return s.p && s.len && strm_memmem(s.p, s.len, lit, strlen(lit)) != NULL;
}

static uint32_t so_qid_sfos(const struct so_state *st)
{
    struct strm_str t = st->log_type, sub = st->subtype, c = st->component, s = st->status;
    bool denied = is(sub, "Denied") || is(sub, "Drop") || is(s, "Deny") || is(sub, "Blocked");
    if (is(t, "Firewall")) return denied ? Q_FW_DENY : Q_FW_ALLOW;
    if (is(t, "IPS"))
        return (is(sub, "Drop") || is(sub, "Reset") || has(sub, "Drop")) ? Q_IPS_DROP
                                                                         : Q_IPS_DETECT;
    if (is(t, "Content Filtering")) {
        if (has(c, "Application")) return denied ? Q_APP_DENY : Q_WEB_ALLOW;
        return denied ? Q_WEB_DENY : Q_WEB_ALLOW;
    }
    if (is(t, "Anti-Virus") || is(t, "Anti Virus") || is(t, "Malware")) return Q_VIRUS;
    if (is(t, "ATP")) return Q_ATP;
    if (is(t, "Event")) {
        bool fail = is(s, "Failed") || is(s, "Failure");
        bool ok = is(s, "Successful") || is(s, "Success");
        if (is(sub, "Admin") && (has(c, "GUI") || has(c, "CLI") || has(c, "Admin") ||
                                 has(st->name, "login") || ok || fail))
            return fail ? Q_ADMIN_LOGIN_FAIL : Q_ADMIN_LOGIN_OK;
        if (is(sub, "Authentication") || has(c, "Authentication"))
            return fail ? Q_AUTH_FAIL : Q_AUTH_OK;
        if (has(c, "VPN") || has(c, "IPSec")) return Q_VPN;
        return Q_SYSTEM;
    }
    return 0;
}

static uint32_t so_qid_utm(const struct so_state *st)
{
    struct strm_str sub = st->sub, name = st->name, a = st->action;
    if (is(sub, "packetfilter")) {
        if (has(name, "accepted") || is(a, "accept") || is(a, "pass")) return Q_FW_ALLOW;
        return Q_FW_DENY;
    }
    if (is(sub, "ips")) return is(a, "drop") ? Q_IPS_DROP : Q_IPS_DETECT;
    if (is(sub, "http")) {
        if (has(name, "virus")) return Q_VIRUS;
        return is(a, "block") ? Q_WEB_DENY : Q_WEB_ALLOW;
    }
    if (is(sub, "auth") || has(name, "uthentication")) {
        if (has(name, "failed") || is(a, "fail")) return Q_AUTH_FAIL;
        return Q_AUTH_OK;
    }
    if (has(name, "virus")) return Q_VIRUS;
    if (is(sub, "system")) return Q_SYSTEM;
    return 0;
}

static bool so_parse(struct strm_event *ev, struct strm_arena *arena, const struct dsm_ctx *ctx)
{
    const char *m = ev->message.p;
    size_t len = ev->message.len;
    if (!m || len < 24) return false;
    size_t lim = len < 400 ? len : 400;
    bool sfos = false, utm = false;
    int64_t utm_time = 0;
    if (strm_memmem(m, lim, "log_type=", 9) && strm_memmem(m, lim, "log_id=", 7)) {
        sfos = true;
    } else {
        /* UTM: the message starts with id="; when the syslog parser did not understand the
           UTM time stamp ("2026:11:25-10:03:00 host prog[pid]: id=..."), skip to it */
        const char *id = m;
        if (len > 20 && m[4] == ':' && m[7] == ':' && m[10] == '-') {
            char buf[19];
            memcpy(buf, m, 19);
            buf[4] = buf[7] = '-';
            buf[10] = ' ';
            int64_t ms;
            if (dsm_parse_time(DSM_TIME_YMD_HMS, buf, 19, ctx->tz_min, &ms)) utm_time = ms;
            const char *c = strm_memmem(m, len < 120 ? len : 120, ": id=\"", 6);
            id = c ? c + 2 : m;
        }
        size_t rest = len - (size_t)(id - m);
        if (rest > 8 && memcmp(id, "id=\"", 4) == 0 &&
            strm_memmem(id, rest < 400 ? rest : 400, " sys=\"", 6) &&
            strm_memmem(id, rest < 400 ? rest : 400, " sub=\"", 6)) {
            utm = true;
            m = id;
            len = rest;
        }
    }
    if (!sfos && !utm) return false;
    struct so_state st;
    memset(&st, 0, offsetof(struct so_state, pr));
    st.ev = ev;
    st.arena = arena;
    dsm_props_init(&st.pr);
    dsm_kv_scan(m, len, ' ', so_kv, &st);
    uint32_t q;
    if (sfos) {
        q = so_qid_sfos(&st);
        if (st.log_id.len) dsm_props_add(&st.pr, "eventid", st.log_id.p, st.log_id.len);
        if (st.log_type.len) dsm_props_add(&st.pr, "logtype", st.log_type.p, st.log_type.len);
        if (st.subtype.len) dsm_props_add(&st.pr, "subtype", st.subtype.p, st.subtype.len);
        int64_t ms;
        if (st.timestamp.len &&
            dsm_parse_time(DSM_TIME_ISO8601, st.timestamp.p, st.timestamp.len, ctx->tz_min, &ms))
            ev->devicetime = ms;
        else if (st.date.len == 10 && st.time.len == 8) {
            char buf[19];
            memcpy(buf, st.date.p, 10);
            buf[10] = ' ';
            memcpy(buf + 11, st.time.p, 8);
            if (dsm_parse_time(DSM_TIME_YMD_HMS, buf, 19, ctx->tz_min, &ms)) ev->devicetime = ms;
        }
    } else {
        q = so_qid_utm(&st);
        if (utm_time) ev->devicetime = utm_time;
        dsm_props_add(&st.pr, "eventid", st.utm_id.p, st.utm_id.len);
        if (st.name.len) dsm_props_add(&st.pr, "name", st.name.p, st.name.len);
    }
    if (!strm_ip_is_null(&ev->postnatsourceip)) {
        ev->prenatsourceip = ev->sourceip;
        ev->prenatsourceport = ev->sourceport;
    }
    if (!strm_ip_is_null(&ev->postnatdestinationip)) {
        ev->prenatdestinationip = ev->destinationip;
        ev->prenatdestinationport = ev->destinationport;
    }
    dsm_props_commit(&st.pr, ev, arena);
    dsm_set_qid(ev, q ? DSM_QID(T, q) : DSM_QID_UNKNOWN(T));
    ev->devicetype = T;
    return true;
}

const struct dsm_def dsm_sophos = {
    .name = "sophos",
    .display = "Sophos Firewall",
    .type_id = T,
    .qids = so_qids,
    .n_qids = N(so_qids),
    .init = NULL,
    .parse = so_parse,
};
