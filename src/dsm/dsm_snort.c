/*
 * dsm_snort.c - Snort 2 and Snort 3 IDS/IPS alerts: the fast alert line (alert_fast), the
 * syslog alert (alert_syslog) and Snort 3's alert_json.
 *
 *   alert_fast    "05/01-12:00:00.123456  [**] [1:1000001:1] msg [**] [Classification: X]
 *                  [Priority: 2] {TCP} 1.2.3.4:1 -> 5.6.7.8:2" (year only with -y: "05/01/24-")
 *   alert_syslog  "snort[1234]: [1:1000001:1] msg [Classification: X] [Priority: 2]: {TCP}
 *                  1.2.3.4:1 -> 5.6.7.8:2"
 *   alert_json    {"timestamp": "05/01-12:00:00.123456", "pkt_num": 1, "proto": "TCP",
 *                  "pkt_gen": "raw", "pkt_len": 60, "dir": "C2S", "src_ap": "1.2.3.4:1",
 *                  "dst_ap": "5.6.7.8:2", "rule": "1:1000001:1", "action": "allow",
 *                  "msg": "...", "class": "...", "priority": 2}
 * The line parser and the classtype table are shared with Suricata (dsm_suricata.c); the
 * classification picks the QID (same number as in Suricata's table, so the same category),
 * the priority the event severity. Fast lines are taken under appname snort/snort3, or under
 * any appname when they start with a Snort time (no year or a two-digit one; four-digit years
 * are Suricata's). JSON is taken only when it holds "src_ap" or "pkt_num" and a "rule" key,
 * checked before parsing, because the generic JSON DSM comes later in the try order.
 *
 * JSON is read with the shared zero-allocation walker (dsm_app_json_collect in dsm_suricata.c).
 *
 * Invariants: reads stay inside ev->message; nothing is allocated outside the arena; the event
 * is touched only after the whole line was recognized.
 */
#include "dsm/app_common.h"

#define T DSM_T_SNORT

#define SNORT_CLASS(n, sn, desc, llc, sev)                                                         \
    {DSM_QID(T, n), "Snort: " desc, "Snort alert of classtype " sn, llc, sev},

static const struct qid_def snort_qids[] = {
    {DSM_QID(T, IDS_CLASS_NONE), "Snort Alert", "An alert without a known classification",
     LLC_SUSPICIOUS_ACTIVITY, 5},
    IDS_CLASSES(SNORT_CLASS){DSM_QID_UNKNOWN(T), "Snort Unknown Event",
                             "A Snort message that has no mapping", LLC_UNKNOWN, 3},
};

enum {
    F_TS,
    F_RULE,
    F_SRC_AP,
    F_DST_AP,
    F_SRC_ADDR,
    F_DST_ADDR,
    F_SPORT,
    F_DPORT,
    F_PROTO,
    F_CLASS,
    F_PRIORITY
};

static const struct app_jfield alert_json_fields[] = {
    [F_TS] = APP_JF("timestamp", NULL),
    [F_RULE] = APP_JF("rule", "sid"),
    [F_SRC_AP] = APP_JF("src_ap", NULL),
    [F_DST_AP] = APP_JF("dst_ap", NULL),
    [F_SRC_ADDR] = APP_JF("src_addr", NULL),
    [F_DST_ADDR] = APP_JF("dst_addr", NULL),
    [F_SPORT] = APP_JF("src_port", NULL),
    [F_DPORT] = APP_JF("dst_port", NULL),
    [F_PROTO] = APP_JF("proto", NULL),
    [F_CLASS] = APP_JF("class", "classification"),
    [F_PRIORITY] = APP_JF("priority", NULL),
    APP_JF("msg", "signature"),
    APP_JF("action", "action"),
    APP_JF("dir", "direction"),
    APP_JF("pkt_len", "pkt_len"),
};

static bool parse_json(struct strm_event *ev, struct strm_arena *arena, const struct dsm_ctx *ctx,
                       const char *m, size_t n)
{
    struct app_jslots s;
    s.fields = alert_json_fields;
    s.n = sizeof(alert_json_fields) / sizeof(alert_json_fields[0]);
    if (!dsm_app_json_collect(m, n, &s) || !s.v[F_RULE].p) return false;
    char buf[256];
    const char *p;
    size_t l;
    int64_t ms;
    uint64_t u;
    if (app_jstr(&s, F_TS, buf, sizeof buf, &p, &l) &&
        dsm_app_ids_fast_time(p, l, ctx->tz_min, ev->starttime, &ms))
        ev->devicetime = ms;
    if (app_jstr(&s, F_SRC_AP, buf, sizeof buf, &p, &l))
        app_set_ip_port(&ev->sourceip, &ev->sourceport, p, l);
    if (app_jstr(&s, F_DST_AP, buf, sizeof buf, &p, &l))
        app_set_ip_port(&ev->destinationip, &ev->destinationport, p, l);
    if (app_jstr(&s, F_SRC_ADDR, buf, sizeof buf, &p, &l)) dsm_set_ip(&ev->sourceip, p, l);
    if (app_jstr(&s, F_DST_ADDR, buf, sizeof buf, &p, &l)) dsm_set_ip(&ev->destinationip, p, l);
    if (app_juint(&s, F_SPORT, 65535, &u)) ev->sourceport = (uint16_t)u;
    if (app_juint(&s, F_DPORT, 65535, &u)) ev->destinationport = (uint16_t)u;
    if (app_jstr(&s, F_PROTO, buf, sizeof buf, &p, &l)) ev->protocolid = dsm_protocol(p, l);
    uint32_t qid =
        DSM_QID(T, app_jstr(&s, F_CLASS, buf, sizeof buf, &p, &l) ? dsm_app_ids_class(p, l)
                                                                  : IDS_CLASS_NONE);
    struct dsm_props pr;
    dsm_props_init(&pr);
    dsm_app_json_props(&s, &pr);
    dsm_props_commit(&pr, ev, arena);
    dsm_set_qid(ev, qid);
    uint8_t sev = app_juint(&s, F_PRIORITY, 9, &u) ? app_ids_severity((int)u) : 0;
    if (sev) ev->severity = sev;
    ev->devicetype = T;
    return true;
}

static bool snort_parse(struct strm_event *ev, struct strm_arena *arena, const struct dsm_ctx *ctx)
{
    const char *m = ev->message.p;
    size_t n = ev->message.len;
    if (!m || n < 2) return false;
    while (n && *m == ' ')
        m++, n--;
    if (n && m[0] == '{') {
        if (!app_find(m, n, "\"rule\"") ||
            !(app_find(m, n, "\"src_ap\"") || app_find(m, n, "\"pkt_num\"")))
            return false;
        return parse_json(ev, arena, ctx, m, n);
    }
    bool by_app = app_appname_is(ev, "snort") || app_appname_is(ev, "snort3");
    if (!by_app && !(n > 20 && m[2] == '/' && (m[5] == '-' || (m[5] == '/' && m[8] == '-'))))
        return false;
    struct app_ids_fast a;
    if (!dsm_app_ids_fast_parse(m, n, &a)) {
        if (!by_app) return false;
        dsm_set_qid(ev, DSM_QID_UNKNOWN(T));
        ev->devicetype = T;
        return true;
    }
    struct dsm_props pr;
    dsm_props_init(&pr);
    dsm_app_ids_fast_apply(&a, T, ev, &pr, ctx);
    dsm_props_commit(&pr, ev, arena);
    return true;
}

const struct dsm_def dsm_snort = {
    .name = "snort",
    .display = "Snort",
    .type_id = T,
    .qids = snort_qids,
    .n_qids = sizeof(snort_qids) / sizeof(snort_qids[0]),
    .init = NULL,
    .parse = snort_parse,
};
