/*
 * generic.c - the field vocabulary shared by the generic JSON and key=value DSMs.
 *
 * Devices that log JSON or key=value have no fixed schema, but most reuse a few names for
 * the fields STRM normalizes: ECS-style dotted names (source.ip, destination.port,
 * user.name, event.action, event.outcome, @timestamp, log.level) and flat ones (src, src_ip,
 * srcip, dst, dest_ip, spt, dpt, sport, dport, proto, user, username, action, level...).
 * A key is matched case-insensitively against one sorted table (binary search on a
 * lower-cased copy of at most 40 bytes); anything that does not match becomes a custom
 * property under its own name.
 *
 * Besides filling columns, gen_state remembers what the fields say about the event: an
 * action word (allow/accept/permit/pass vs deny/drop/block/reject), an outcome
 * (success/failure), whether it is about a login/authentication, and a log level. gen_qid
 * turns that into one of a generic DSM's QIDs (enum gen_qid), in this order: authentication
 * with an outcome, permit/deny action, error/warning level, network (source and destination
 * address), info level; else the DSM's unknown QID.
 *
 * Values are only read; strings that must outlive the line's buffer (username) are copied
 * into the arena, properties are copied by dsm_props.
 */
#include "dsm/dsm_priv.h"

#include <string.h>

enum gen_fid {
    GF_SRC_IP = 1,
    GF_DST_IP,
    GF_SRC_PORT,
    GF_DST_PORT,
    GF_PROTO,
    GF_USER,
    GF_ACTION,
    GF_OUTCOME,
    GF_CATEGORY,
    GF_LEVEL,
    GF_TIME,
    GF_SRC_MAC,
    GF_DST_MAC,
    GF_SRC_NAT_IP,
    GF_SRC_NAT_PORT,
    GF_DST_NAT_IP,
    GF_DST_NAT_PORT,
};

/* Sorted by name (strcmp), all lower case. */
static const struct {
    const char *name;
    uint8_t fid;
} gen_names[] = {
    {"@timestamp", GF_TIME},
    {"act", GF_ACTION},
    {"action", GF_ACTION},
    {"client.ip", GF_SRC_IP},
    {"client.port", GF_SRC_PORT},
    {"client_ip", GF_SRC_IP},
    {"clientip", GF_SRC_IP},
    {"daddr", GF_DST_IP},
    {"datetime", GF_TIME},
    {"dest_ip", GF_DST_IP},
    {"dest_port", GF_DST_PORT},
    {"destination.address", GF_DST_IP},
    {"destination.ip", GF_DST_IP},
    {"destination.mac", GF_DST_MAC},
    {"destination.nat.ip", GF_DST_NAT_IP},
    {"destination.nat.port", GF_DST_NAT_PORT},
    {"destination.port", GF_DST_PORT},
    {"destination_ip", GF_DST_IP},
    {"destination_port", GF_DST_PORT},
    {"destip", GF_DST_IP},
    {"destport", GF_DST_PORT},
    {"dmac", GF_DST_MAC},
    {"dport", GF_DST_PORT},
    {"dpt", GF_DST_PORT},
    {"dst", GF_DST_IP},
    {"dst_addr", GF_DST_IP},
    {"dst_ip", GF_DST_IP},
    {"dst_mac", GF_DST_MAC},
    {"dst_nat_ip", GF_DST_NAT_IP},
    {"dst_nat_port", GF_DST_NAT_PORT},
    {"dst_port", GF_DST_PORT},
    {"dstaddr", GF_DST_IP},
    {"dstip", GF_DST_IP},
    {"dstmac", GF_DST_MAC},
    {"dstport", GF_DST_PORT},
    {"event.action", GF_ACTION},
    {"event.category", GF_CATEGORY},
    {"event.outcome", GF_OUTCOME},
    {"event_type", GF_CATEGORY},
    {"eventtype", GF_CATEGORY},
    {"level", GF_LEVEL},
    {"log.level", GF_LEVEL},
    {"loglevel", GF_LEVEL},
    {"network.transport", GF_PROTO},
    {"outcome", GF_OUTCOME},
    {"proto", GF_PROTO},
    {"protocol", GF_PROTO},
    {"result", GF_OUTCOME},
    {"saddr", GF_SRC_IP},
    {"server.ip", GF_DST_IP},
    {"server.port", GF_DST_PORT},
    {"severity", GF_LEVEL},
    {"smac", GF_SRC_MAC},
    {"source.address", GF_SRC_IP},
    {"source.ip", GF_SRC_IP},
    {"source.mac", GF_SRC_MAC},
    {"source.nat.ip", GF_SRC_NAT_IP},
    {"source.nat.port", GF_SRC_NAT_PORT},
    {"source.port", GF_SRC_PORT},
    {"source_ip", GF_SRC_IP},
    {"source_port", GF_SRC_PORT},
    {"sport", GF_SRC_PORT},
    {"spt", GF_SRC_PORT},
    {"src", GF_SRC_IP},
    {"src_addr", GF_SRC_IP},
    {"src_ip", GF_SRC_IP},
    {"src_mac", GF_SRC_MAC},
    {"src_nat_ip", GF_SRC_NAT_IP},
    {"src_nat_port", GF_SRC_NAT_PORT},
    {"src_port", GF_SRC_PORT},
    {"srcaddr", GF_SRC_IP},
    {"srcip", GF_SRC_IP},
    {"srcmac", GF_SRC_MAC},
    {"srcport", GF_SRC_PORT},
    {"suser", GF_USER},
    {"time", GF_TIME},
    {"timestamp", GF_TIME},
    {"ts", GF_TIME},
    {"type", GF_CATEGORY},
    {"user", GF_USER},
    {"user.name", GF_USER},
    {"user_name", GF_USER},
    {"username", GF_USER},
    {"usrname", GF_USER},
};

/* strcmp for the short names of the table: inline, no call per probe of the search */
static inline int name_cmp(const char *a, const char *b)
{
    while (*a && *a == *b) {
        a++;
        b++;
    }
    return (unsigned char)*a - (unsigned char)*b;
}

static int gen_lookup(const char *k, size_t klen)
{
    char buf[41];
    if (klen == 0 || klen >= sizeof buf) return 0;
    for (size_t i = 0; i < klen; i++) {
        char c = k[i];
        buf[i] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
    }
    buf[klen] = 0;
    size_t lo = 0, hi = sizeof gen_names / sizeof gen_names[0];
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = name_cmp(buf, gen_names[mid].name);
        if (c == 0) return gen_names[mid].fid;
        if (c > 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

/* Does v (case-insensitively) start with one of the words? */
static bool starts_with_any(const char *v, size_t vlen, const char *const *words)
{
    for (; *words; words++) {
        size_t n = strlen(*words);
        if (vlen < n) continue;
        size_t i = 0;
        while (i < n && ((v[i] >= 'A' && v[i] <= 'Z') ? v[i] + 32 : v[i]) == (*words)[i])
            i++;
        if (i == n) return true;
    }
    return false;
}

static bool mentions_auth(const char *v, size_t vlen)
{
    return dsm_memcasemem(v, vlen, "login") || dsm_memcasemem(v, vlen, "logon") ||
           dsm_memcasemem(v, vlen, "authentic") || dsm_memcasemem(v, vlen, "signin") ||
           dsm_memcasemem(v, vlen, "sign-in") || dsm_memcasemem(v, vlen, "log-in");
}

static const char *const words_allow[] = {"allow", "accept", "permit", "pass", "grant", NULL};
static const char *const words_deny[] = {"deny",   "denied", "drop",    "block",
                                         "reject", "refuse", "prevent", NULL};
static const char *const words_ok[] = {"success", "succeeded", "ok", "true", "pass", NULL};
static const char *const words_fail[] = {"fail", "error", "denied", "false", "reject", NULL};
static const char *const words_err[] = {"err",   "crit",   "alert", "emerg",
                                        "fatal", "severe", "high",  NULL};
static const char *const words_warn[] = {"warn", "medium", NULL};
static const char *const words_info[] = {"info", "notice", "debug", "trace", "low", NULL};

void gen_init(struct gen_state *g)
{
    dsm_props_init(&g->props);
    g->has_src = g->has_dst = g->has_time = g->has_user = false;
    g->action = g->outcome = g->level = 0;
    g->auth = false;
}

bool gen_time(const char *v, size_t vlen, int tz_min, int64_t *ms)
{
    static const enum dsm_time_fmt fmts[] = {DSM_TIME_ISO8601, DSM_TIME_EPOCH, DSM_TIME_YMD_HMS,
                                             DSM_TIME_CLF, DSM_TIME_MON_D_Y_HMS};
    for (size_t i = 0; i < sizeof fmts / sizeof fmts[0]; i++)
        if (dsm_parse_time(fmts[i], v, vlen, tz_min, ms)) return true;
    return false;
}

void gen_field(struct gen_state *g, struct strm_event *ev, struct strm_arena *arena,
               const struct dsm_ctx *ctx, const char *k, size_t klen, const char *v, size_t vlen)
{
    int fid = gen_lookup(k, klen);
    bool used = false;
    int64_t ms;
    switch (fid) {
    case GF_SRC_IP:
        used = g->has_src = dsm_set_ip(&ev->sourceip, v, vlen);
        break;
    case GF_DST_IP:
        used = g->has_dst = dsm_set_ip(&ev->destinationip, v, vlen);
        break;
    case GF_SRC_PORT:
        used = dsm_set_port(&ev->sourceport, v, vlen);
        break;
    case GF_DST_PORT:
        used = dsm_set_port(&ev->destinationport, v, vlen);
        break;
    case GF_SRC_NAT_IP:
        used = dsm_set_ip(&ev->postnatsourceip, v, vlen);
        break;
    case GF_DST_NAT_IP:
        used = dsm_set_ip(&ev->postnatdestinationip, v, vlen);
        break;
    case GF_SRC_NAT_PORT:
        used = dsm_set_port(&ev->postnatsourceport, v, vlen);
        break;
    case GF_DST_NAT_PORT:
        used = dsm_set_port(&ev->postnatdestinationport, v, vlen);
        break;
    case GF_SRC_MAC:
        used = dsm_set_mac(ev->sourcemac, v, vlen);
        break;
    case GF_DST_MAC:
        used = dsm_set_mac(ev->destinationmac, v, vlen);
        break;
    case GF_PROTO: {
        uint8_t p = dsm_protocol(v, vlen);
        if (p) ev->protocolid = p;
        break; /* also kept as a property: "http" is not an IP protocol */
    }
    case GF_USER:
        if (vlen && !g->has_user) {
            dsm_set_str(&ev->username, arena, v, vlen);
            g->has_user = used = ev->username.len > 0;
        }
        break;
    case GF_TIME:
        if (!g->has_time && gen_time(v, vlen, ctx->tz_min, &ms)) {
            ev->devicetime = ms;
            g->has_time = true;
        }
        break;
    case GF_ACTION:
        if (starts_with_any(v, vlen, words_deny))
            g->action = 2;
        else if (starts_with_any(v, vlen, words_allow))
            g->action = 1;
        if (mentions_auth(v, vlen)) g->auth = true;
        if (dsm_memcasemem(v, vlen, "fail")) g->outcome = 2;
        dsm_props_add(&g->props, "action", v, vlen);
        return;
    case GF_OUTCOME:
        if (starts_with_any(v, vlen, words_fail))
            g->outcome = 2;
        else if (starts_with_any(v, vlen, words_ok))
            g->outcome = 1;
        break;
    case GF_CATEGORY:
        if (mentions_auth(v, vlen) || dsm_memcasemem(v, vlen, "authentication")) g->auth = true;
        break;
    case GF_LEVEL:
        if (starts_with_any(v, vlen, words_err))
            g->level = 3;
        else if (starts_with_any(v, vlen, words_warn))
            g->level = 2;
        else if (starts_with_any(v, vlen, words_info))
            g->level = 1;
        break;
    default:
        break;
    }
    if (used) return;
    char key[64];
    size_t n = klen < sizeof key - 1 ? klen : sizeof key - 1;
    memcpy(key, k, n);
    key[n] = 0;
    dsm_props_add(&g->props, key, v, vlen);
}

uint32_t gen_qid(const struct gen_state *g, uint16_t type)
{
    if (g->auth && g->outcome) {
        return DSM_QID(type, g->outcome == 1 ? GEN_QID_AUTH_OK : GEN_QID_AUTH_FAILED);
    }
    if (g->auth && g->action) {
        return DSM_QID(type, g->action == 1 ? GEN_QID_AUTH_OK : GEN_QID_AUTH_FAILED);
    }
    if (g->action == 1) return DSM_QID(type, GEN_QID_PERMITTED);
    if (g->action == 2) return DSM_QID(type, GEN_QID_DENIED);
    if (g->level == 3) return DSM_QID(type, GEN_QID_ERROR);
    if (g->level == 2) return DSM_QID(type, GEN_QID_WARNING);
    if (g->has_src && g->has_dst) return DSM_QID(type, GEN_QID_NETWORK);
    if (g->level == 1) return DSM_QID(type, GEN_QID_INFO);
    return DSM_QID_UNKNOWN(type);
}
