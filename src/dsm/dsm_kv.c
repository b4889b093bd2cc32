/*
 * dsm_kv.c - the generic key=value DSM: lines that are mostly key=value pairs.
 *
 * Recognized: the syslog MSG holds at least KV_MIN_PAIRS pairs (dsm_kv_scan: a key is
 * [A-Za-z0-9_.-]+, values may be "double quoted") whose text covers at least
 * KV_MIN_COVER_PCT percent of the message, so that prose with an "a=b" in it is not taken.
 * The separator is a comma when the message separates its pairs with commas (as many
 * appliances do: "a=1, b=2"), a TAB when it has tabs, else a space. Rejection is cheap:
 * fewer than KV_MIN_PAIRS '=' bytes ends it before any scanning.
 *
 * The first scan only measures (ev untouched); the second fills the event through the
 * shared vocabulary of generic.c (src, dst, spt, dpt, srcip, dstip, src_port, user,
 * proto, action, outcome, level, time...), the other pairs become properties. The QID comes
 * from gen_qid, as for JSON.
 */
#include "dsm/dsm_priv.h"

#include <string.h>

#define KV_MIN_PAIRS 3
#define KV_MIN_COVER_PCT 60

static const struct qid_def kv_qids[] = {
    GEN_QID_ROWS(DSM_T_KV, "Key-Value"),
};

struct kv_measure {
    int pairs;
    size_t covered;
};

static bool kv_count(const char *k, size_t klen, const char *v, size_t vlen, void *arg)
{
    struct kv_measure *m = arg;
    m->pairs++;
    /* key, '=', value and its quotes if any: the value slice sits after "k=" */
    m->covered += (size_t)(v - k) + vlen + (v > k + klen + 1 ? 1 : 0) + 1; /* + separator */
    return true;
}

struct kv_fill {
    struct gen_state g;
    struct strm_event *ev;
    struct strm_arena *arena;
    const struct dsm_ctx *ctx;
};

static bool kv_field(const char *k, size_t klen, const char *v, size_t vlen, void *arg)
{
    struct kv_fill *f = arg;
    gen_field(&f->g, f->ev, f->arena, f->ctx, k, klen, v, vlen);
    return true;
}

static char kv_separator(const char *p, size_t len, size_t eqs)
{
    size_t commas = 0, tabs = 0;
    for (size_t i = 0; i < len; i++) {
        if (p[i] == ',') commas++;
        if (p[i] == '\t') tabs++;
    }
    if (tabs + 1 >= eqs) return '\t';
    if (commas + 1 >= eqs) {
        /* commas between pairs: "=x, k=" patterns; a comma in most values is not enough */
        size_t between = 0;
        for (size_t i = 0; i + 1 < len; i++) {
            if (p[i] != ',') continue;
            size_t j = i + 1;
            while (j < len && p[j] == ' ')
                j++;
            size_t ks = j;
            while (j < len && p[j] != '=' && p[j] != ' ' && p[j] != ',')
                j++;
            if (j > ks && j < len && p[j] == '=') between++;
        }
        if (between + 1 >= eqs) return ',';
    }
    return ' ';
}

static bool kv_parse(struct strm_event *ev, struct strm_arena *arena, const struct dsm_ctx *ctx)
{
    const char *p = ev->message.p;
    size_t len = ev->message.len;
    if (!p || len < 6) return false;
    size_t eqs = 0;
    for (const char *q = p, *end = p + len; (q = memchr(q, '=', (size_t)(end - q))) != NULL; q++)
        eqs++;
    if (eqs < KV_MIN_PAIRS) return false;
    while (len && (p[len - 1] == ' ' || p[len - 1] == '\r' || p[len - 1] == '\n'))
        len--;
    while (len && *p == ' ') {
        p++;
        len--;
    }
    if (len && (*p == '{' || *p == '<')) return false; /* JSON, XML */
    char sep = kv_separator(p, len, eqs);
    struct kv_measure m = {0, 0};
    dsm_kv_scan(p, len, sep, kv_count, &m);
    if (m.pairs < KV_MIN_PAIRS || m.covered * 100 < len * KV_MIN_COVER_PCT) return false;

    struct kv_fill f;
    gen_init(&f.g);
    f.ev = ev;
    f.arena = arena;
    f.ctx = ctx;
    dsm_kv_scan(p, len, sep, kv_field, &f);
    dsm_set_qid(ev, gen_qid(&f.g, DSM_T_KV));
    dsm_props_commit(&f.g.props, ev, arena);
    ev->devicetype = DSM_T_KV;
    return true;
}

const struct dsm_def dsm_kv = {
    .name = "kv",
    .display = "Universal Key-Value",
    .type_id = DSM_T_KV,
    .qids = kv_qids,
    .n_qids = sizeof kv_qids / sizeof kv_qids[0],
    .init = NULL,
    .parse = kv_parse,
};
