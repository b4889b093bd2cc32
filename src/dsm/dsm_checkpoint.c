/*
 * dsm_checkpoint.c - Check Point Security Gateways and Management (Log Exporter).
 *
 * Log Exporter sends either its "syslog" format, an RFC 5424 line whose body is a bracketed
 * list of key:"value" pairs separated by "; "
 *   <134>1 2024-05-01T12:00:00Z mgmt CheckPoint 1234 - [action:"Drop"; ifdir:"inbound";
 *   origin:"10.0.0.1"; src:"203.0.113.9"; dst:"10.0.0.5"; proto:"6"; service:"443";
 *   s_port:"51234"; product:"VPN-1 & FireWall-1"; rule_name:"Cleanup"; ...]
 * or CEF ("CEF:0|Check Point|<product>|...|act=Drop src=... dst=..."), read with the shared
 * CEF helpers. Both carry the blade in "product" and the verdict in "action"; audit logs
 * (SmartConsole) carry "operation" (Log In, Failed Log In, Log Out, Publish, Install Policy).
 * The event id is "<product>:<action>"; the QID is chosen by the blade class (firewall, IPS,
 * Anti-Bot, Anti-Virus/Threat Emulation, URL Filtering, Application Control, VPN, audit) and
 * the action class (accept, drop, reject, detect, prevent, block, login, ...).
 *
 * NAT: xlatesrc/xlatesport -> post-NAT source, xlatedst/xlatedport -> post-NAT destination
 * (CEF: sourceTranslatedAddress/Port, destinationTranslatedAddress/Port). devicetime: the
 * "time" epoch (CEF "rt").
 *
 * Recognition: the bracket list ('[' then key:") within the first 256 bytes of the payload,
 * or a CEF header whose vendor is "Check Point". Reads are bounded; strings point into the
 * payload or the arena.
 */
#include "dsm/dsm.h"

#include <string.h>
#include <strings.h>

#define T DSM_T_CHECKPOINT
#define N(a) (sizeof(a) / sizeof((a)[0]))

enum {
    Q_FW_ACCEPT = 1,
    Q_FW_DROP,
    Q_FW_REJECT,
    Q_VPN,
    Q_IPS_DETECT,
    Q_IPS_PREVENT,
    Q_BOT_DETECT,
    Q_BOT_PREVENT,
    Q_AV_DETECT,
    Q_AV_PREVENT,
    Q_URL_ALLOW,
    Q_URL_BLOCK,
    Q_APP_ALLOW,
    Q_APP_BLOCK,
    Q_ADMIN_LOGIN,
    Q_ADMIN_LOGIN_FAIL,
    Q_ADMIN_LOGOUT,
    Q_POLICY_CHANGE,
};

static const struct qid_def cp_qids[] = {
    {DSM_QID(T, Q_FW_ACCEPT), "Check Point Firewall Accept", "The firewall accepted a connection",
     LLC_FIREWALL_PERMIT, 1},
    {DSM_QID(T, Q_FW_DROP), "Check Point Firewall Drop", "The firewall dropped a connection",
     LLC_FIREWALL_DENY, 4},
    {DSM_QID(T, Q_FW_REJECT), "Check Point Firewall Reject", "The firewall rejected a connection",
     LLC_FIREWALL_DENY, 4},
    {DSM_QID(T, Q_VPN), "Check Point VPN Encrypt/Decrypt", "VPN traffic was encrypted or decrypted",
     LLC_FIREWALL_PERMIT, 1},
    {DSM_QID(T, Q_IPS_DETECT), "Check Point IPS Detect", "IPS detected an attack", LLC_MISC_EXPLOIT,
     6},
    {DSM_QID(T, Q_IPS_PREVENT), "Check Point IPS Prevent", "IPS prevented an attack", LLC_IPS_DENY,
     6},
    {DSM_QID(T, Q_BOT_DETECT), "Check Point Anti-Bot Detect", "Anti-Bot detected bot communication",
     LLC_BOTNET, 8},
    {DSM_QID(T, Q_BOT_PREVENT), "Check Point Anti-Bot Prevent",
     "Anti-Bot blocked bot communication", LLC_BOTNET, 7},
    {DSM_QID(T, Q_AV_DETECT), "Check Point Anti-Virus Detect", "Anti-Virus detected malware",
     LLC_VIRUS_DETECTED, 8},
    {DSM_QID(T, Q_AV_PREVENT), "Check Point Anti-Virus Prevent", "Anti-Virus blocked malware",
     LLC_VIRUS_DETECTED, 7},
    {DSM_QID(T, Q_URL_ALLOW), "Check Point URL Filtering Allow", "URL filtering allowed a request",
     LLC_WEB_ACCESS_ALLOWED, 1},
    {DSM_QID(T, Q_URL_BLOCK), "Check Point URL Filtering Block", "URL filtering blocked a request",
     LLC_WEB_POLICY_VIOLATION, 4},
    {DSM_QID(T, Q_APP_ALLOW), "Check Point Application Control Allow",
     "Application control allowed an application", LLC_APP_ACTION_ALLOWED, 1},
    {DSM_QID(T, Q_APP_BLOCK), "Check Point Application Control Block",
     "Application control blocked an application", LLC_APP_POLICY_VIOLATION, 4},
    {DSM_QID(T, Q_ADMIN_LOGIN), "Check Point Admin Login",
     "An administrator logged in to management", LLC_ADMIN_LOGIN_SUCCEEDED, 3},
    {DSM_QID(T, Q_ADMIN_LOGIN_FAIL), "Check Point Admin Login Failed",
     "An administrator login to management failed", LLC_ADMIN_LOGIN_FAILED, 6},
    {DSM_QID(T, Q_ADMIN_LOGOUT), "Check Point Admin Logout",
     "An administrator logged out of management", LLC_HOST_LOGOUT, 1},
    {DSM_QID(T, Q_POLICY_CHANGE), "Check Point Policy Change", "Policy published or installed",
     LLC_DEVICE_CONFIG_CHANGE, 4},
    {DSM_QID_UNKNOWN(T), "Check Point Unknown Event", "A Check Point log this DSM does not map",
     LLC_UNKNOWN, 3},
};

struct cp_state {
    struct strm_event *ev;
    struct strm_arena *arena;
    struct strm_str product, action, operation, time;
    struct strm_str cs[7], cslabel[7];
    struct dsm_props pr; /* last: not cleared with the rest (2 KiB per line) */
};

#define K(lit) (kl == sizeof(lit) - 1 && memcmp(k, lit, sizeof(lit) - 1) == 0)
#define S(dst) ((dst).p = v, (dst).len = (uint32_t)vl)

/* Fields common to both forms (syslog key names, and CEF names where they differ). */
static bool cp_field(const char *k, size_t kl, const char *v, size_t vl, void *arg)
{
    struct cp_state *st = arg;
    struct strm_event *ev = st->ev;
    if (K("src"))
        dsm_set_ip(&ev->sourceip, v, vl);
    else if (K("dst"))
        dsm_set_ip(&ev->destinationip, v, vl);
    else if (K("s_port") || K("spt"))
        dsm_set_port(&ev->sourceport, v, vl);
    else if (K("service") || K("dpt")) {
        if (!dsm_set_port(&ev->destinationport, v, vl)) dsm_props_add(&st->pr, "service", v, vl);
    } else if (K("proto"))
        ev->protocolid = dsm_protocol(v, vl);
    else if (K("xlatesrc") || K("sourceTranslatedAddress"))
        dsm_set_ip(&ev->postnatsourceip, v, vl);
    else if (K("xlatedst") || K("destinationTranslatedAddress"))
        dsm_set_ip(&ev->postnatdestinationip, v, vl);
    else if (K("xlatesport") || K("sourceTranslatedPort"))
        dsm_set_port(&ev->postnatsourceport, v, vl);
    else if (K("xlatedport") || K("destinationTranslatedPort"))
        dsm_set_port(&ev->postnatdestinationport, v, vl);
    else if (K("product"))
        S(st->product);
    else if (K("action") || K("act")) {
        S(st->action);
        dsm_props_add(&st->pr, "action", v, vl);
    } else if (K("operation"))
        S(st->operation);
    else if (K("time") || K("rt"))
        S(st->time);
    else if ((K("user") || K("src_user_name") || K("administrator") || K("suser")) && vl &&
             !ev->username.len)
        dsm_set_str(&ev->username, st->arena, v, vl);
    else if (K("client_ip") && strm_ip_is_null(&ev->sourceip))
        dsm_set_ip(&ev->sourceip, v, vl);
    else if (K("rule_name"))
        dsm_props_add(&st->pr, "rule", v, vl);
    else if (K("rule"))
        dsm_props_add(&st->pr, "rulenumber", v, vl);
    else if (K("ifdir"))
        dsm_props_add(&st->pr, "direction", v, vl);
    else if (K("ifname") || K("deviceInboundInterface"))
        dsm_props_add(&st->pr, "ifin", v, vl);
    else if (K("origin"))
        dsm_props_add(&st->pr, "origin", v, vl);
    else if (K("protection_name"))
        dsm_props_add(&st->pr, "threat", v, vl);
    else if (K("attack"))
        dsm_props_add(&st->pr, "attack", v, vl);
    else if (K("malware_family"))
        dsm_props_add(&st->pr, "malwarefamily", v, vl);
    else if (K("malware_action"))
        dsm_props_add(&st->pr, "malwareaction", v, vl);
    else if (K("appi_name") || K("app"))
        dsm_props_add(&st->pr, "application", v, vl);
    else if (K("resource") || K("request"))
        dsm_props_add(&st->pr, "url", v, vl);
    else if (K("matched_category"))
        dsm_props_add(&st->pr, "urlcategory", v, vl);
    else if (K("severity"))
        dsm_props_add(&st->pr, "threatseverity", v, vl);
    else if (K("inzone"))
        dsm_props_add(&st->pr, "srczone", v, vl);
    else if (K("outzone"))
        dsm_props_add(&st->pr, "dstzone", v, vl);
    else if (K("sent_bytes") || K("out"))
        dsm_props_add(&st->pr, "bytesout", v, vl);
    else if (K("received_bytes") || K("in"))
        dsm_props_add(&st->pr, "bytesin", v, vl);
    else if (kl == 3 && k[0] == 'c' && k[1] == 's' && k[2] >= '1' && k[2] <= '6')
        S(st->cs[k[2] - '0']);
    else if (kl == 8 && memcmp(k, "cs", 2) == 0 && k[2] >= '1' && k[2] <= '6' &&
             memcmp(k + 3, "Label", 5) == 0)
        S(st->cslabel[k[2] - '0']);
    return true;
}

static bool has(struct strm_str s, const char *lit)
{
    return s.p && s.len && strm_memmem(s.p, s.len, lit, strlen(lit)) != NULL;
}

static bool is(struct strm_str s, const char *lit)
{
    size_t n = strlen(lit);
    return s.len == n && strncasecmp(s.p, lit, n) == 0;
}

static uint32_t cp_qid(const struct cp_state *st)
{
    struct strm_str a = st->action.len ? st->action : st->operation, p = st->product;
    if (is(a, "Log In") || is(a, "Login")) return Q_ADMIN_LOGIN;
    if (is(a, "Failed Log In") || is(a, "Failed Login")) return Q_ADMIN_LOGIN_FAIL;
    if (is(a, "Log Out") || is(a, "Logout")) return Q_ADMIN_LOGOUT;
    if (is(a, "Publish") || is(a, "Install Policy") || has(a, "Policy")) return Q_POLICY_CHANGE;
    bool accept = is(a, "Accept") || is(a, "Allow") || is(a, "Inform") || is(a, "Ask");
    bool block =
        is(a, "Drop") || is(a, "Reject") || is(a, "Block") || is(a, "Prevent") || is(a, "Redirect");
    if (has(p, "IPS") || has(p, "SmartDefense"))
        return is(a, "Detect") ? Q_IPS_DETECT : Q_IPS_PREVENT;
    if (has(p, "Anti-Bot")) return is(a, "Detect") ? Q_BOT_DETECT : Q_BOT_PREVENT;
    if (has(p, "Anti-Virus") || has(p, "Anti-Malware") || has(p, "Threat Emulation"))
        return is(a, "Detect") ? Q_AV_DETECT : Q_AV_PREVENT;
    if (has(p, "URL Filtering")) return block ? Q_URL_BLOCK : Q_URL_ALLOW;
    if (has(p, "Application Control")) return block ? Q_APP_BLOCK : Q_APP_ALLOW;
    if (is(a, "Encrypt") || is(a, "Decrypt") || is(a, "Key Install")) return Q_VPN;
    if (is(a, "Drop")) return Q_FW_DROP;
    if (is(a, "Reject")) return Q_FW_REJECT;
    if (accept) return Q_FW_ACCEPT;
    return 0;
}

static void cp_finish(struct cp_state *st, const struct dsm_ctx *ctx)
{
    struct strm_event *ev = st->ev;
    for (int i = 1; i <= 6; i++) {
        if (!st->cs[i].len || !st->cslabel[i].len) continue;
        if (is(st->cslabel[i], "Rule Name"))
            dsm_props_add(&st->pr, "rule", st->cs[i].p, st->cs[i].len);
        else if (is(st->cslabel[i], "Protection Name") || is(st->cslabel[i], "Threat Name"))
            dsm_props_add(&st->pr, "threat", st->cs[i].p, st->cs[i].len);
    }
    int64_t ms;
    (void)ctx;
    if (st->time.len && st->time.p[0] >= '0' && st->time.p[0] <= '9' &&
        dsm_parse_time(DSM_TIME_EPOCH, st->time.p, st->time.len, 0, &ms))
        ev->devicetime = ms;
    /* 0.0.0.0 / port 0 in xlate* means "not translated" */
    static const uint8_t v4any[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0};
    if (memcmp(ev->postnatsourceip.b, v4any, 16) == 0)
        memset(&ev->postnatsourceip, 0, sizeof(ev->postnatsourceip));
    if (memcmp(ev->postnatdestinationip.b, v4any, 16) == 0) {
        memset(&ev->postnatdestinationip, 0, sizeof(ev->postnatdestinationip));
        ev->postnatdestinationport = 0;
    }
    if (!strm_ip_is_null(&ev->postnatsourceip)) {
        ev->prenatsourceip = ev->sourceip;
        ev->prenatsourceport = ev->sourceport;
    }
    if (!strm_ip_is_null(&ev->postnatdestinationip)) {
        ev->prenatdestinationip = ev->destinationip;
        ev->prenatdestinationport = ev->destinationport;
    }
    if (st->product.len) dsm_props_add(&st->pr, "product", st->product.p, st->product.len);
    char id[160];
    size_t n = 0;
    struct strm_str a = st->action.len ? st->action : st->operation;
    if (st->product.len + a.len + 1 < sizeof(id)) {
        memcpy(id, st->product.p ? st->product.p : "", st->product.len);
        n = st->product.len;
        id[n++] = ':';
        if (a.len) memcpy(id + n, a.p, a.len);
        n += a.len;
        dsm_props_add(&st->pr, "eventid", id, n);
    }
    uint32_t q = cp_qid(st);
    dsm_props_commit(&st->pr, ev, st->arena);
    dsm_set_qid(ev, q ? DSM_QID(T, q) : DSM_QID_UNKNOWN(T));
    ev->devicetype = T;
}

/* The bracketed key:"value"; list. */
static void cp_scan_syslog(const char *p, const char *e, struct cp_state *st)
{
    while (p < e) {
        while (p < e && (*p == ' ' || *p == ';' || *p == '['))
            p++;
        const char *k = p;
        while (p < e && *p != ':' && *p != ']' && *p != ' ')
            p++;
        if (p + 1 >= e || *p != ':' || p[1] != '"') return;
        size_t kl = (size_t)(p - k);
        p += 2;
        const char *v = p;
        bool esc = false;
        while (p < e && *p != '"') {
            if (*p == '\\' && p + 1 < e) {
                esc = true;
                p++;
            }
            p++;
        }
        size_t vl = (size_t)(p - v);
        if (esc) {
            /* values with \" or \\ are unescaped into the arena */
            char *buf = strm_arena_alloc(st->arena, vl + 1);
            if (buf) {
                size_t o = 0;
                for (size_t i = 0; i < vl; i++) {
                    if (v[i] == '\\' && i + 1 < vl) i++;
                    buf[o++] = v[i];
                }
                v = buf;
                vl = o;
            }
        }
        cp_field(k, kl, v, vl, st);
        if (p < e) p++; /* closing quote */
    }
}

static bool cp_parse(struct strm_event *ev, struct strm_arena *arena, const struct dsm_ctx *ctx)
{
    const char *pl = ev->payload.p;
    size_t len = ev->payload.len;
    if (!pl || len < 20) return false;
    const char *e = pl + len;
    struct cp_state st;
    /* CEF: the vendor decides. Looked up in the payload: the syslog parser may take
       "CEF:0|..." for a tag. */
    {
        size_t lim = len < 128 ? len : 128;
        const char *c = strm_memmem(pl, lim, "CEF:", 4);
        if (c) {
            struct dsm_cef h;
            if (!dsm_cef_header(c, len - (size_t)(c - pl), &h) || h.vendor.len != 11 ||
                memcmp(h.vendor.p, "Check Point", 11) != 0)
                return false;
            memset(&st, 0, offsetof(struct cp_state, pr));
            st.ev = ev;
            st.arena = arena;
            dsm_props_init(&st.pr);
            st.product = h.product;
            dsm_cef_scan(&h, arena, cp_field, &st);
            if (!st.action.len && h.name.len) st.action = h.name;
            cp_finish(&st, ctx);
            return true;
        }
    }
    /* syslog format: '[' followed by key:" */
    size_t lim = len < 256 ? len : 256;
    const char *b = memchr(pl, '[', lim);
    if (!b) return false;
    const char *k = b + 1;
    while (k < e && ((*k >= 'a' && *k <= 'z') || *k == '_' || (*k >= '0' && *k <= '9')))
        k++;
    if (k == b + 1 || k + 1 >= e || k[0] != ':' || k[1] != '"') return false;
    memset(&st, 0, offsetof(struct cp_state, pr));
    st.ev = ev;
    st.arena = arena;
    dsm_props_init(&st.pr);
    const char *be = e;
    while (be > b && be[-1] != ']')
        be--;
    if (be <= b) be = e;
    cp_scan_syslog(b + 1, be, &st);
    cp_finish(&st, ctx);
    return true;
}

const struct dsm_def dsm_checkpoint = {
    .name = "checkpoint",
    .display = "Check Point",
    .type_id = T,
    .qids = cp_qids,
    .n_qids = N(cp_qids),
    .init = NULL,
    .parse = cp_parse,
};
