/*
 * agg.c - GROUP BY and the aggregate functions: hash aggregation over one store scan.
 *
 * Each matching row is reduced to a group key: the GROUP BY values serialized into bytes
 * (a type byte, then the value's bytes; strings length-prefixed), so equal values give equal
 * keys whatever their type. An open-addressing table maps key hashes to groups; groups are
 * also kept in arrival order, which is the output order when there is no ORDER BY. A query
 * with aggregates and no GROUP BY has exactly one group, created before the scan, so it
 * yields one row even when nothing matches (COUNT 0, the other aggregates null).
 *
 * A group holds:
 *  - first: the values of every SELECT item and ORDER BY key without an aggregate, taken
 *    from the group's first row (QRadar returns the first value of a non-aggregated column);
 *  - one state per aggregate node of the query (count, sum, Welford mean and M2 for AVG and
 *    STDEV, a value for MIN/MAX/FIRST/LAST, an exact hash set for UNIQUECOUNT, HyperLogLog
 *    registers for DISTINCTCOUNT).
 * Strings that never change (keys, first values, set members) live in the run's arena;
 * strings that may be replaced (MIN, MAX, LAST) own a malloc'd buffer.
 *
 * After the scan each group becomes a row: the aggregates' final values are published
 * through aql_group_view so aql_eval can compute expressions over them (SUM(x) / COUNT(*)),
 * then HAVING filters, the result is sorted by the ORDER BY keys and cut at LIMIT.
 * Memory is bounded by the group limit (aql_set_group_limit): one more group is an error
 * that says so, never an out-of-memory kill.
 *
 * DISTINCTCOUNT is HyperLogLog with 2^11 one-byte registers per group (2 KiB, standard
 * error about 2.3%), small-range corrected by linear counting, fed by a 64-bit hash.
 */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#define XXH_INLINE_ALL
#include <xxhash.h>
#include <strings.h>
#include <sys/mman.h>
#include <unistd.h>

#include "aql/aql_int.h"

_Thread_local const struct aql_group_view *aql_group_view;

static size_t group_limit = 50000000; /* search.max_memory is the real bound */

void aql_set_group_limit(size_t n)
{
    group_limit = n ? n : 1;
}

static const char *const agg_names[] = {
    [AQL_AGG_COUNT] = "COUNT",
    [AQL_AGG_SUM] = "SUM",
    [AQL_AGG_AVG] = "AVG",
    [AQL_AGG_MIN] = "MIN",
    [AQL_AGG_MAX] = "MAX",
    [AQL_AGG_FIRST] = "FIRST",
    [AQL_AGG_LAST] = "LAST",
    [AQL_AGG_UNIQUECOUNT] = "UNIQUECOUNT",
    [AQL_AGG_DISTINCTCOUNT] = "DISTINCTCOUNT",
    [AQL_AGG_STDEV] = "STDEV",
    [AQL_AGG_STDEVP] = "STDEVP",
};

int aql_agg_lookup(const char *name, size_t len, enum aql_agg *out)
{
    for (size_t i = 0; i < sizeof agg_names / sizeof agg_names[0]; i++)
        if (strlen(agg_names[i]) == len && strncasecmp(agg_names[i], name, len) == 0) {
            *out = (enum aql_agg)i;
            return 0;
        }
    return -1;
}

const char *aql_agg_name(enum aql_agg a)
{
    return (size_t)a < sizeof agg_names / sizeof agg_names[0] ? agg_names[a] : "?";
}

/* ---------------------------------------------------------------- hashing and keys */

/* XXH3: a group key or a UNIQUECOUNT value is hashed per row, and FNV-1a's byte at a time
 * was a visible share of a GROUP BY on addresses; its bits also feed DISTINCTCOUNT. */
static uint64_t hash_bytes(const uint8_t *p, size_t n)
{
    return XXH3_64bits(p, n);
}

struct keybuf {
    uint8_t *p;
    size_t len, cap;
};

static int kb_put(struct keybuf *k, const void *src, size_t n)
{
    if (k->len + n > k->cap) {
        size_t ncap = k->cap ? k->cap * 2 : 256;
        while (ncap < k->len + n)
            ncap *= 2;
        uint8_t *np = realloc(k->p, ncap);
        if (!np) return STRM_ERR_NOMEM;
        k->p = np;
        k->cap = ncap;
    }
    memcpy(k->p + k->len, src, n);
    k->len += n;
    return 0;
}

/* Appends v's canonical bytes: equal values, equal bytes. */
static int kb_value(struct keybuf *k, const struct aql_value *v)
{
    uint8_t t = (uint8_t)v->type;
    int rc = kb_put(k, &t, 1);
    if (rc) return rc;
    switch (v->type) {
    case AQL_T_NULL:
        return 0;
    case AQL_T_STR: {
        uint32_t n = v->u.s.len;
        if ((rc = kb_put(k, &n, sizeof n)) != 0) return rc;
        return n ? kb_put(k, v->u.s.p, n) : 0;
    }
    case AQL_T_IP:
        return kb_put(k, v->u.ip.b, 16);
    case AQL_T_MAC:
        return kb_put(k, v->u.mac, 6);
    case AQL_T_DOUBLE: {
        double d = v->u.d == 0 ? 0 : v->u.d; /* -0 == 0 */
        return kb_put(k, &d, sizeof d);
    }
    default:
        return kb_put(k, &v->u.i, sizeof v->u.i);
    }
}

/* ---------------------------------------------------------------- states */

#define HLL_P 11
#define HLL_M (1u << HLL_P)

struct uset {
    uint64_t *hash; /* 0: empty slot (a real hash of 0 is stored as 1) */
    const uint8_t **key;
    uint32_t *klen;
    size_t n, cap;
};

/*
 * One aggregate's state in a group. A query whose aggregates are all COUNT, SUM, AVG, STDEV
 * or STDEVP stores only the fields before v (gctx.stride): with a million groups that halves
 * the memory the scan touches.
 */
struct agg_state {
    uint64_t n; /* rows with a value */
    int64_t isum;
    bool inexact; /* AVG: a double value or an overflowing sum: use the running mean */
    double dsum, mean, m2;
    /* only when gctx.owns: */
    struct aql_value v; /* MIN, MAX, FIRST, LAST */
    char *buf;          /* v's string, when it may be replaced */
    size_t bufcap;
    struct uset set;
    uint8_t *hll;
};

struct group {
    uint64_t hash;
    const uint8_t *key;
    size_t klen;
    struct aql_value *first; /* q->nitems + q->nkeys; only non-aggregate ones are set */
    struct agg_state *st;    /* q->naggs */
};

struct gslot {
    uint64_t hash;
    struct group *g; /* NULL: empty */
};

/*
 * GROUP BY one fixed-width column (an address or an integer) with only COUNT and integer
 * SUM aggregates, the shape of "top talkers" and "bytes per port": the rows are folded
 * into a flat table keyed by the column's raw bytes, with the counts and sums inline in the
 * slot, so a row costs one hash and one probe (a cache line), not a key serialization, an
 * expression walk and a pointer chase to its group. When the scan ends the table becomes
 * ordinary groups in arrival order (fast_flush), so HAVING, ORDER BY, the merge of parallel
 * parts and the results work as for any query.
 */
#define FAST_MAX_AGGS 8
/* Past this many groups the table is handed over to the ordinary groups and the rest of the
 * scan goes the ordinary way: with millions of groups (a flow store's source addresses) the
 * flat table would cost as much memory again as the groups it becomes. */
#define FAST_MAX_GROUPS (1u << 18)
/* ... unless the rows fold well: while the groups are under a sixteenth of the rows folded
 * (more than 16 rows a group: a source address column, not a flow store's unique pairs),
 * up to FAST_CAP_GROUPS. On 50M events (314k source addresses) the top 10 took 0.69 s
 * against 1.39 s handed over; 5M flows with 1.87M source addresses are faster handed over
 * (0.37 s against 0.85 s kept to 2^20). */
#define FAST_ROWS_PER_GROUP 16
#define FAST_CAP_GROUPS (1u << 21)
static size_t fast_max_groups = FAST_MAX_GROUPS;
static bool fast_by_rows = true; /* the rule above; off while a test sets the limit */

void aql_set_fast_groups(size_t n)
{
    fast_max_groups = n;
    fast_by_rows = n == FAST_MAX_GROUPS;
}

struct fastgroups {
    bool on;
    int col;    /* the GROUP BY column */
    int width;  /* its bytes in struct strm_event (16 for an address) */
    size_t off; /* its offset there */
    int naggs;
    const struct aql_node *sumarg[FAST_MAX_AGGS]; /* SUM's argument, NULL: a count */
    size_t stride;  /* bytes per slot: key[2], arrival + 1, then n and sum per aggregate */
    uint64_t *slot; /* cap slots of stride bytes */
    size_t cap, n;
    /* keys of 1 or 2 bytes (category, ports, protocol...): instead of the slots, a table
     * indexed by the key's bits, per key its row count then a sum per aggregate (dw words),
     * and the keys in arrival order; a row finds its group without a hash or a probe, and
     * 64k ports of one SUM take 1 MiB, a fifth of the hashed slots at half load */
    uint64_t *direct;
    uint16_t *dorder; /* direct's keys in arrival order (n of them) */
    size_t dw;
    uint64_t rows; /* folded into it */
};

/* Whether n more rows (at most n new groups) stay in the flat table. */
static bool fast_keeps(const struct fastgroups *f, size_t n)
{
    if (f->n + n <= fast_max_groups) return true;
    return fast_by_rows && f->n + n <= FAST_CAP_GROUPS &&
           (uint64_t)f->n * FAST_ROWS_PER_GROUP < f->rows;
}

struct gctx;
static void fast_setup(struct gctx *c);

struct gctx {
    const struct aql_query *q;
    size_t stride; /* bytes per agg_state in a group */
    bool owns;     /* some aggregate keeps a value, a set or HyperLogLog registers */
    struct strm_arena arena;
    struct keybuf kb;
    struct keybuf bk;      /* the keys of a batch of rows */
    struct group **groups; /* arrival order */
    size_t ngroups, gcap;
    /* open addressing: the hash beside the group, so a probe rarely touches a group that is
     * not the one (a miss on a million groups is a cache miss per touched group) */
    struct gslot *table;
    size_t tcap;
    int err;
    char errmsg[160];
    struct fastgroups fast; /* GROUP BY one fixed-width column (fast_setup) */
    int vec_sumcol;         /* cb_group_vec: the column the SUMs read (-1: none) */
    struct strm_event *vev; /* vec_as_events' events */
};

static void gctx_init(struct gctx *c, const struct aql_query *q)
{
    memset(c, 0, sizeof *c);
    c->q = q;
    for (size_t k = 0; k < q->naggs; k++) {
        int fn = q->aggs[k]->u.agg.fn;
        c->owns |= fn != AQL_AGG_COUNT && fn != AQL_AGG_SUM && fn != AQL_AGG_AVG &&
                   fn != AQL_AGG_STDEV && fn != AQL_AGG_STDEVP;
    }
    c->stride =
        c->owns ? sizeof(struct agg_state) : (offsetof(struct agg_state, v) + 7) & ~(size_t)7;
    strm_arena_init(&c->arena, 4u << 20); /* big chunks: on huge pages (arena.c) */
    fast_setup(c);
}

/* *acc += v for an integer SUM; STRM_ERR_INVAL (the message in c->errmsg) on overflow. */
static int sum_add(struct gctx *c, int64_t *acc, int64_t v)
{
    if (!__builtin_add_overflow(*acc, v, acc)) return 0;
    snprintf(c->errmsg, sizeof c->errmsg, "SUM overflows a 64-bit integer");
    return STRM_ERR_INVAL;
}

/* State k of group g. */
static inline struct agg_state *gst(const struct gctx *c, const struct group *g, size_t k)
{
    return (struct agg_state *)(void *)((char *)g->st + k * c->stride);
}

static int state_set_value(struct agg_state *s, const struct aql_value *v)
{
    s->v = *v;
    if (v->type != AQL_T_STR) return 0;
    if (v->u.s.len > s->bufcap) {
        size_t ncap = s->bufcap ? s->bufcap : 32;
        while (ncap < v->u.s.len)
            ncap *= 2;
        char *nb = realloc(s->buf, ncap);
        if (!nb) return STRM_ERR_NOMEM;
        s->buf = nb;
        s->bufcap = ncap;
    }
    memcpy(s->buf, v->u.s.p, v->u.s.len);
    s->v.u.s.p = s->buf;
    return 0;
}

static int uset_add(struct gctx *c, struct uset *u, const uint8_t *key, size_t klen)
{
    uint64_t h = hash_bytes(key, klen);
    if (!h) h = 1;
    if (u->n * 10 >= u->cap * 7) {
        size_t ncap = u->cap ? u->cap * 2 : 16;
        uint64_t *nh = calloc(ncap, sizeof *nh);
        const uint8_t **nk = calloc(ncap, sizeof *nk);
        uint32_t *nl = calloc(ncap, sizeof *nl);
        if (!nh || !nk || !nl) {
            free(nh);
            free(nk);
            free(nl);
            return STRM_ERR_NOMEM;
        }
        for (size_t i = 0; i < u->cap; i++) {
            if (!u->hash[i]) continue;
            size_t j = u->hash[i] & (ncap - 1);
            while (nh[j])
                j = (j + 1) & (ncap - 1);
            nh[j] = u->hash[i];
            nk[j] = u->key[i];
            nl[j] = u->klen[i];
        }
        free(u->hash);
        free(u->key);
        free(u->klen);
        u->hash = nh;
        u->key = nk;
        u->klen = nl;
        u->cap = ncap;
    }
    size_t j = h & (u->cap - 1);
    while (u->hash[j]) {
        if (u->hash[j] == h && u->klen[j] == klen && memcmp(u->key[j], key, klen) == 0) return 0;
        j = (j + 1) & (u->cap - 1);
    }
    uint8_t *copy = strm_arena_alloc(&c->arena, klen ? klen : 1);
    if (!copy) return STRM_ERR_NOMEM;
    memcpy(copy, key, klen);
    u->hash[j] = h;
    u->key[j] = copy;
    u->klen[j] = (uint32_t)klen;
    u->n++;
    return 0;
}

static int64_t hll_estimate(const uint8_t *reg)
{
    if (!reg) return 0;
    double sum = 0;
    unsigned zeros = 0;
    for (unsigned i = 0; i < HLL_M; i++) {
        sum += ldexp(1.0, -reg[i]);
        zeros += reg[i] == 0;
    }
    double m = HLL_M, alpha = 0.7213 / (1 + 1.079 / m);
    double e = alpha * m * m / sum;
    if (e <= 2.5 * m && zeros) e = m * log(m / zeros);
    return (int64_t)llround(e);
}

/* UNIQUECOUNT's (exact) or DISTINCTCOUNT's (HyperLogLog) step for a value v (not NULL). */
static int distinct_add(struct gctx *c, struct agg_state *s, enum aql_agg fn,
                        const struct aql_value *v)
{
    c->kb.len = 0;
    int rc = kb_value(&c->kb, v);
    if (rc) return rc;
    if (fn == AQL_AGG_UNIQUECOUNT) return uset_add(c, &s->set, c->kb.p, c->kb.len);
    if (!s->hll && !(s->hll = calloc(HLL_M, 1))) return STRM_ERR_NOMEM;
    uint64_t h = hash_bytes(c->kb.p, c->kb.len);
    unsigned idx = (unsigned)(h >> (64 - HLL_P));
    uint64_t w = (h << HLL_P) | (1ull << (HLL_P - 1));
    uint8_t rank = (uint8_t)(__builtin_clzll(w) + 1);
    if (rank > s->hll[idx]) s->hll[idx] = rank;
    return 0;
}

static int state_update(struct gctx *c, const struct aql_node *a, struct agg_state *s,
                        const struct strm_event *ev)
{
    if (!a->l) { /* COUNT(*) */
        s->n++;
        return 0;
    }
    struct aql_value v;
    aql_eval(a->l, ev, &v);
    enum aql_agg fn = (enum aql_agg)a->u.agg.fn;
    if (v.type == AQL_T_NULL) return 0;
    s->n++;
    switch (fn) {
    case AQL_AGG_COUNT:
        return 0;
    case AQL_AGG_SUM:
        if (v.type == AQL_T_DOUBLE) {
            s->dsum += v.u.d;
            return 0;
        }
        return sum_add(c, &s->isum, v.u.i);
    case AQL_AGG_AVG:
    case AQL_AGG_STDEV:
    case AQL_AGG_STDEVP: {
        double x = v.type == AQL_T_DOUBLE ? v.u.d : (double)v.u.i;
        /* AVG of integers is their exact sum / n, whatever the order rows came in */
        if (v.type == AQL_T_DOUBLE || __builtin_add_overflow(s->isum, v.u.i, &s->isum))
            s->inexact = true;
        double d = x - s->mean; /* Welford: stable for large values */
        s->mean += d / (double)s->n;
        s->m2 += d * (x - s->mean);
        return 0;
    }
    case AQL_AGG_MIN:
        if (s->n == 1 || aql_value_cmp(&v, &s->v) < 0) return state_set_value(s, &v);
        return 0;
    case AQL_AGG_MAX:
        if (s->n == 1 || aql_value_cmp(&v, &s->v) > 0) return state_set_value(s, &v);
        return 0;
    case AQL_AGG_FIRST:
        return s->n == 1 ? state_set_value(s, &v) : 0;
    case AQL_AGG_LAST:
        return state_set_value(s, &v);
    case AQL_AGG_UNIQUECOUNT:
    case AQL_AGG_DISTINCTCOUNT:
        return distinct_add(c, s, fn, &v);
    }
    return 0;
}

static void state_final(const struct aql_node *a, const struct agg_state *s, struct aql_value *out)
{
    enum aql_agg fn = (enum aql_agg)a->u.agg.fn;
    out->type = AQL_T_NULL;
    switch (fn) {
    case AQL_AGG_COUNT:
        out->type = AQL_T_INT;
        out->u.i = (int64_t)s->n;
        return;
    case AQL_AGG_UNIQUECOUNT:
        out->type = AQL_T_INT;
        out->u.i = (int64_t)s->set.n;
        return;
    case AQL_AGG_DISTINCTCOUNT:
        out->type = AQL_T_INT;
        out->u.i = hll_estimate(s->hll);
        return;
    case AQL_AGG_SUM:
        if (!s->n) return;
        out->type = a->type;
        if (a->type == AQL_T_DOUBLE)
            out->u.d = s->dsum;
        else
            out->u.i = s->isum;
        return;
    case AQL_AGG_AVG:
        if (!s->n) return;
        out->type = AQL_T_DOUBLE;
        out->u.d = s->inexact ? s->mean : (double)((long double)s->isum / (long double)s->n);
        return;
    case AQL_AGG_STDEV:
        if (s->n < 2) return;
        out->type = AQL_T_DOUBLE;
        out->u.d = sqrt(s->m2 / (double)(s->n - 1));
        return;
    case AQL_AGG_STDEVP:
        if (!s->n) return;
        out->type = AQL_T_DOUBLE;
        out->u.d = sqrt(s->m2 / (double)s->n);
        return;
    default:
        if (s->n) *out = s->v;
        return;
    }
}

/* ---------------------------------------------------------------- groups */

static bool has_agg(const struct aql_node *n)
{
    if (!n) return false;
    return n->kind == AQL_N_AGG || has_agg(n->l) || has_agg(n->r);
}

/* The SELECT item or ORDER BY key expression i (items first). */
static const struct aql_node *out_expr(const struct aql_query *q, size_t i)
{
    return i < q->nitems ? q->items[i].expr : q->keys[i - q->nitems].expr;
}

static struct group *group_new(struct gctx *c, uint64_t h, const uint8_t *kp, size_t klen,
                               const struct strm_event *ev)
{
    const struct aql_query *q = c->q;
    if (c->ngroups >= group_limit) {
        snprintf(c->errmsg, sizeof c->errmsg,
                 "too many groups (more than %zu): narrow the WHERE clause or the time range, "
                 "or group by fewer columns",
                 group_limit);
        c->err = STRM_ERR_FULL;
        return NULL;
    }
    size_t nout = q->nitems + q->nkeys;
    struct group *g = strm_arena_alloc(&c->arena, sizeof *g);
    struct aql_value *first = strm_arena_alloc(&c->arena, (nout ? nout : 1) * sizeof *first);
    struct agg_state *st = strm_arena_alloc(&c->arena, (q->naggs ? q->naggs : 1) * c->stride);
    uint8_t *key = strm_arena_alloc(&c->arena, klen ? klen : 1);
    if (!g || !first || !st || !key) goto nomem;
    memset(st, 0, (q->naggs ? q->naggs : 1) * c->stride);
    if (klen) memcpy(key, kp, klen);
    g->hash = h;
    g->key = key;
    g->klen = klen;
    g->first = first;
    g->st = st;
    for (size_t i = 0; i < nout; i++) {
        first[i].type = AQL_T_NULL;
        const struct aql_node *e = out_expr(q, i);
        if (!ev || has_agg(e)) continue;
        aql_eval(e, ev, &first[i]);
        if (first[i].type == AQL_T_STR) {
            first[i].u.s = strm_arena_strdup(&c->arena, first[i].u.s.p, first[i].u.s.len);
            if (!first[i].u.s.p) goto nomem;
        }
    }
    if (c->ngroups == c->gcap) {
        size_t ncap = c->gcap ? c->gcap * 2 : 64;
        struct group **ng = realloc(c->groups, ncap * sizeof *ng);
        if (!ng) goto nomem;
        c->groups = ng;
        c->gcap = ncap;
    }
    c->groups[c->ngroups++] = g;
    return g;
nomem:
    c->err = STRM_ERR_NOMEM;
    return NULL;
}

/* Zeroed memory for the group table; big tables on transparent huge pages (see arena.c). */
static struct gslot *table_alloc(size_t n)
{
    size_t bytes = n * sizeof(struct gslot), huge = 2u << 20;
    if (bytes < huge) return calloc(n, sizeof(struct gslot));
    struct gslot *t = aligned_alloc(huge, (bytes + huge - 1) & ~(size_t)(huge - 1));
    if (!t) return NULL;
    (void)madvise(t, (bytes + huge - 1) & ~(size_t)(huge - 1), MADV_HUGEPAGE);
    memset(t, 0, bytes);
    return t;
}

static int table_grow(struct gctx *c)
{
    /* grows 4x while small relative to the rows seen, so many groups rehash fewer times */
    size_t ncap = c->tcap ? c->tcap * (c->tcap < (1u << 16) ? 2 : 4) : 1024;
    struct gslot *nt = table_alloc(ncap);
    if (!nt) return STRM_ERR_NOMEM;
    for (size_t i = 0; i < c->ngroups; i++) {
        size_t j = c->groups[i]->hash & (ncap - 1);
        while (nt[j].g)
            j = (j + 1) & (ncap - 1);
        nt[j].hash = c->groups[i]->hash;
        nt[j].g = c->groups[i];
    }
    free(c->table);
    c->table = nt;
    c->tcap = ncap;
    return 0;
}

/* Serializes ev's GROUP BY values into k (appending); 0 or an error. */
static int group_key(struct gctx *c, const struct strm_event *ev, struct keybuf *k)
{
    const struct aql_query *q = c->q;
    for (size_t i = 0; i < q->ngroups; i++) {
        struct aql_value v;
        aql_eval(q->groups[i], ev, &v);
        if (kb_value(k, &v) != 0) return STRM_ERR_NOMEM;
    }
    return 0;
}

/* ---------------------------------------------------------------- fast groups */

static const struct aql_node *out_expr(const struct aql_query *q, size_t i);

/* Whether every column e reads is col (an output expression of a group is evaluated once,
 * on its first row: with only the group column, a row holding just that value will do). */
static bool reads_only(const struct aql_node *e, int col)
{
    if (!e || e->kind == AQL_N_AGG) return true;
    if (e->kind == AQL_N_COL) return e->u.col == col;
    return reads_only(e->l, col) && reads_only(e->r, col);
}

/* A plain integer column (never NULL, not printed as a name). */
static bool int_col(const struct aql_node *e)
{
    return e && e->kind == AQL_N_COL && strm_event_cols[e->u.col].type == STRM_T_INT &&
           !strm_event_cols[e->u.col].enum_names;
}

static void fast_setup(struct gctx *c)
{
    const struct aql_query *q = c->q;
    struct fastgroups *f = &c->fast;
    memset(f, 0, sizeof *f);
    if (!fast_max_groups || q->ngroups != 1 || q->naggs > FAST_MAX_AGGS ||
        q->groups[0]->kind != AQL_N_COL)
        return;
    int col = q->groups[0]->u.col;
    int type = strm_event_cols[col].type;
    if (type != STRM_T_IP && !int_col(q->groups[0])) return;
    for (size_t i = 0; i < q->nitems + q->nkeys; i++) {
        const struct aql_node *e = out_expr(q, i);
        if (!reads_only(e, col)) return;
    }
    for (size_t k = 0; k < q->naggs; k++) {
        const struct aql_node *a = q->aggs[k];
        int fn = a->u.agg.fn;
        if (a->l && !int_col(a->l)) return;
        if (fn == AQL_AGG_SUM && a->l)
            f->sumarg[k] = a->l;
        else if (fn != AQL_AGG_COUNT)
            return;
    }
    f->on = true;
    f->col = col;
    f->width = strm_event_cols[col].width;
    f->off = strm_event_cols[col].offset;
    f->naggs = (int)q->naggs;
    f->stride = (3 + 2 * (size_t)f->naggs) * sizeof(uint64_t);
}

static inline uint64_t fast_hash(uint64_t k0, uint64_t k1)
{
    uint64_t h = (k0 ^ 0x9e3779b97f4a7c15ull) * 0xff51afd7ed558ccdull;
    h ^= (k1 + (h >> 29)) * 0xc4ceb9fe1a85ec53ull;
    return h ^ (h >> 32);
}

static int fast_grow(struct fastgroups *f)
{
    /* 4x while small: a million groups rehash fewer times */
    size_t ncap = f->cap ? f->cap * (f->cap < (1u << 16) ? 4 : 2) : 4096, words = f->stride / 8;
    /* written before read: calloc's untouched pages would be read as the shared zero page
     * first, and each first write then costs a copy-on-write fault with a TLB shootdown
     * across the scan's threads (that was a third of the time) */
    uint64_t *ns = malloc(ncap * f->stride);
    if (!ns) return STRM_ERR_NOMEM;
    explicit_bzero(ns, ncap * f->stride); /* a memset the compiler would make a calloc */
    for (size_t i = 0; i < f->cap; i++) {
        const uint64_t *o = f->slot + i * words;
        if (!o[2]) continue;
        size_t j = fast_hash(o[0], o[1]) & (ncap - 1);
        while (ns[j * words + 2])
            j = (j + 1) & (ncap - 1);
        memcpy(ns + j * words, o, f->stride);
    }
    free(f->slot);
    f->slot = ns;
    f->cap = ncap;
    return 0;
}

/* The slot of key k (hash h) in the flat table, taken for it (arrival order, from 1) if new. */
static inline uint64_t *fast_slot(struct fastgroups *f, const uint64_t k[2], uint64_t h)
{
    size_t words = f->stride / 8, j = h & (f->cap - 1);
    for (;;) {
        uint64_t *sl = f->slot + j * words;
        if (!sl[2]) {
            sl[0] = k[0];
            sl[1] = k[1];
            sl[2] = ++f->n;
            return sl;
        }
        if (sl[0] == k[0] && sl[1] == k[1]) return sl;
        j = (j + 1) & (f->cap - 1);
    }
}

/* The direct table of a 1- or 2-byte key (fastgroups.direct), zeroed. */
static int direct_init(struct fastgroups *f)
{
    size_t keys = (size_t)1 << (8 * f->width);
    f->dw = 1 + (size_t)f->naggs;
    /* written before read, as the slots (fast_grow) */
    f->direct = malloc(keys * f->dw * sizeof *f->direct);
    f->dorder = malloc(keys * sizeof *f->dorder);
    if (!f->direct || !f->dorder) {
        free(f->direct);
        free(f->dorder);
        f->direct = NULL;
        f->dorder = NULL;
        return STRM_ERR_NOMEM;
    }
    explicit_bzero(f->direct, keys * f->dw * sizeof *f->direct);
    return 0;
}

/* The key bits of a 1- or 2-byte key (the raw bytes, little-endian). */
static inline uint32_t direct_bits(const uint8_t *p, int width)
{
    return width == 1 ? p[0] : (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

/* Key bits's entry in the direct table, counted as a group on first sight. */
static inline uint64_t *direct_entry(struct fastgroups *f, uint32_t bits)
{
    uint64_t *d = f->direct + (size_t)bits * f->dw;
    if (!d[0]) f->dorder[f->n++] = (uint16_t)bits;
    return d;
}

/* v added to aggregate a's sum in entry d (an overflow: the error in c). */
static inline int direct_sum(struct gctx *c, uint64_t *d, int a, int64_t v)
{
    int64_t sum = (int64_t)d[1 + a];
    if ((c->err = sum_add(c, &sum, v)) != 0) return 2;
    d[1 + a] = (uint64_t)sum;
    return 0;
}

/* One more row of an entry: its count, and v added to the SUMs (which all read one column:
 * the vectors carry one). */
static inline int direct_add(struct gctx *c, const struct fastgroups *f, uint64_t *d, int64_t v)
{
    d[0]++;
    for (int a = 0; a < f->naggs; a++)
        if (f->sumarg[a] && direct_sum(c, d, a, v)) return 2;
    return 0;
}

/* Part p's direct table added into c's (the keys new to c after c's, in p's order). */
static int direct_merge(struct gctx *c, struct gctx *p)
{
    struct fastgroups *f = &c->fast, *g = &p->fast;
    if (!g->direct) return 0;
    if (!f->direct && direct_init(f) != 0) return c->err = STRM_ERR_NOMEM;
    for (size_t i = 0; i < g->n; i++) {
        const uint64_t *s = g->direct + (size_t)g->dorder[i] * g->dw;
        uint64_t *d = direct_entry(f, g->dorder[i]);
        d[0] += s[0];
        for (int a = 0; a < f->naggs; a++)
            if (f->sumarg[a] && direct_sum(c, d, a, (int64_t)s[1 + a])) return c->err;
    }
    f->rows += g->rows;
    return 0;
}

/*
 * Folds the rows of a batch that pass WHERE into the table: first every row's key and hash,
 * prefetching its slot, then the probes, so the cache misses of a batch overlap (with a
 * million groups nearly every probe is one).
 */
static int fast_batch(struct gctx *c, const struct strm_event *ev, size_t n)
{
    struct fastgroups *f = &c->fast;
    const struct aql_query *q = c->q;
    size_t words = f->stride / 8;
    uint64_t k[ARIEL_SCAN_BATCH][2], h[ARIEL_SCAN_BATCH];
    bool keep[ARIEL_SCAN_BATCH];
    if (n > ARIEL_SCAN_BATCH) return 2; /* cannot happen: the store's batches are no larger */
    f->rows += n;
    if (f->width <= 2) {
        if (!f->direct && direct_init(f) != 0) {
            c->err = STRM_ERR_NOMEM;
            return 2;
        }
        for (size_t i = 0; i < n; i++) {
            if (q->where) {
                aql_scratch_reset();
                if (aql_eval_cond(q->where, &ev[i]) <= 0) continue;
            }
            uint64_t *d = direct_entry(f, direct_bits((const uint8_t *)&ev[i] + f->off, f->width));
            d[0]++;
            for (int a = 0; a < f->naggs; a++) { /* (the SUMs may read different columns) */
                if (!f->sumarg[a]) continue;
                struct aql_value x;
                aql_eval(f->sumarg[a], &ev[i], &x);
                if (direct_sum(c, d, a, x.u.i)) return 2;
            }
        }
        return 0;
    }
    while ((f->n + n) * 2 > f->cap)
        if (fast_grow(f) != 0) {
            c->err = STRM_ERR_NOMEM;
            return 2;
        }
    for (size_t i = 0; i < n; i++) {
        keep[i] = true;
        if (q->where) {
            aql_scratch_reset();
            keep[i] = aql_eval_cond(q->where, &ev[i]) > 0;
        }
        k[i][0] = k[i][1] = 0;
        memcpy(k[i], (const char *)&ev[i] + f->off, (size_t)f->width);
        h[i] = fast_hash(k[i][0], k[i][1]);
        __builtin_prefetch(f->slot + (h[i] & (f->cap - 1)) * words);
    }
    for (size_t i = 0; i < n; i++) {
        if (!keep[i]) continue;
        uint64_t *sl = fast_slot(f, k[i], h[i]);
        for (int a = 0; a < f->naggs; a++) {
            sl[3 + 2 * a]++;
            if (!f->sumarg[a]) continue;
            struct aql_value v;
            aql_eval(f->sumarg[a], &ev[i], &v);
            int64_t sum = (int64_t)sl[4 + 2 * a];
            if ((c->err = sum_add(c, &sum, v.u.i)) != 0) return 2;
            sl[4 + 2 * a] = (uint64_t)sum;
        }
    }
    return 0;
}

static struct group *group_find(struct gctx *c, const struct strm_event *ev);

/* The table as ordinary groups, in arrival order (once the scan is over). */
static int fast_flush(struct gctx *c)
{
    struct fastgroups *f = &c->fast;
    size_t words = f->stride / 8, m = 0;
    if (!f->on || !f->n) goto out;
    struct strm_event ev;
    memset(&ev, 0, sizeof ev);
    if (f->direct) {
        for (size_t i = 0; i < f->n && !c->err; i++) {
            uint16_t bits = f->dorder[i];
            const uint64_t *d = f->direct + (size_t)bits * f->dw;
            memcpy((char *)&ev + f->off, &bits, (size_t)f->width); /* little-endian */
            aql_scratch_reset();
            struct group *g = group_find(c, &ev);
            if (!g) break;
            for (int a = 0; a < f->naggs; a++) {
                struct agg_state *st = gst(c, g, (size_t)a);
                st->n += d[0];
                if (f->sumarg[a] && !c->err) c->err = sum_add(c, &st->isum, (int64_t)d[1 + a]);
            }
        }
        goto out;
    }
    uint64_t **order = malloc(f->n * sizeof *order);
    if (!order) {
        c->err = STRM_ERR_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < f->cap; i++) /* arrival numbers are 1..n: no sort needed */
        if (f->slot[i * words + 2]) order[f->slot[i * words + 2] - 1] = f->slot + i * words;
    m = f->n;
    for (size_t i = 0; i < m && !c->err; i++) {
        const uint64_t *sl = order[i];
        memcpy((char *)&ev + f->off, sl, (size_t)f->width);
        aql_scratch_reset();
        struct group *g = group_find(c, &ev);
        if (!g) break;
        /* added, not set: raw values that read the same (two spellings of a null address)
         * fold into one group */
        for (int a = 0; a < f->naggs; a++) {
            struct agg_state *st = gst(c, g, (size_t)a);
            st->n += sl[3 + 2 * a];
            if (f->sumarg[a] && !c->err) c->err = sum_add(c, &st->isum, (int64_t)sl[4 + 2 * a]);
        }
    }
    free(order);
out:
    free(f->slot);
    f->slot = NULL;
    free(f->direct);
    f->direct = NULL;
    free(f->dorder);
    f->dorder = NULL;
    f->cap = f->n = 0;
    return c->err ? 2 : 0;
}

/* The group with key kp[0..klen) of hash h, created (from ev) on first sight. */
static struct group *group_lookup(struct gctx *c, uint64_t h, const uint8_t *kp, size_t klen,
                                  const struct strm_event *ev)
{
    if ((c->ngroups + 1) * 10 >= c->tcap * 7 && table_grow(c) != 0) {
        c->err = STRM_ERR_NOMEM;
        return NULL;
    }
    size_t j = h & (c->tcap - 1);
    while (c->table[j].g) {
        if (c->table[j].hash == h) {
            struct group *g = c->table[j].g;
            if (g->klen == klen && memcmp(g->key, kp, klen) == 0) return g;
        }
        j = (j + 1) & (c->tcap - 1);
    }
    struct group *g = group_new(c, h, kp, klen, ev);
    if (g) {
        c->table[j].hash = h;
        c->table[j].g = g;
    }
    return g;
}

/* The group of ev's GROUP BY values, created on first sight. */
static struct group *group_find(struct gctx *c, const struct strm_event *ev)
{
    const struct aql_query *q = c->q;
    if (q->ngroups == 0) return c->groups[0];
    c->kb.len = 0;
    if (group_key(c, ev, &c->kb) != 0) {
        c->err = STRM_ERR_NOMEM;
        return NULL;
    }
    return group_lookup(c, hash_bytes(c->kb.p, c->kb.len), c->kb.p, c->kb.len, ev);
}

/* Adds row ev to its group g: first values (single group), then every aggregate state. */
static int group_row(struct gctx *c, struct group *g, const struct strm_event *ev)
{
    const struct aql_query *q = c->q;
    if (q->ngroups == 0 && !g->hash) {
        /* the single group: its first values come from the first matching row */
        g->hash = 1;
        for (size_t i = 0; i < q->nitems + q->nkeys; i++) {
            const struct aql_node *e = out_expr(q, i);
            if (has_agg(e)) continue;
            aql_eval(e, ev, &g->first[i]);
            if (g->first[i].type == AQL_T_STR) {
                g->first[i].u.s =
                    strm_arena_strdup(&c->arena, g->first[i].u.s.p, g->first[i].u.s.len);
                if (!g->first[i].u.s.p) {
                    c->err = STRM_ERR_NOMEM;
                    return 2;
                }
            }
        }
    }
    for (size_t i = 0; i < q->naggs; i++) {
        int rc = state_update(c, q->aggs[i], gst(c, g, i), ev);
        if (rc) {
            c->err = rc;
            return 2;
        }
    }
    return 0;
}

static int cb_group(const struct strm_event *ev, void *arg)
{
    struct gctx *c = arg;
    const struct aql_query *q = c->q;
    aql_scratch_reset();
    if (q->where && aql_eval_cond(q->where, ev) <= 0) return 0;
    struct group *g = group_find(c, ev);
    if (!g) return 2;
    return group_row(c, g, ev);
}

/*
 * A batch of rows: first every row's WHERE, key and hash, prefetching its table slot; then
 * the lookups and updates. With many groups a lookup is a cache miss; this way the misses of
 * a batch overlap instead of coming one after the other.
 */
static int cb_group_batch(const struct strm_event *ev, size_t n, void *arg)
{
    struct gctx *c = arg;
    const struct aql_query *q = c->q;
    if (c->fast.on) {
        if (fast_keeps(&c->fast, n)) return fast_batch(c, ev, n);
        if (fast_flush(c)) return 2;
        c->fast.on = false;
    }
    if (q->ngroups == 0) {
        for (size_t i = 0; i < n; i++)
            if (cb_group(&ev[i], c)) return 2;
        return 0;
    }
    uint64_t h[ARIEL_SCAN_BATCH];
    size_t off[ARIEL_SCAN_BATCH + 1];
    bool keep[ARIEL_SCAN_BATCH];
    c->bk.len = 0;
    for (size_t i = 0; i < n; i++) {
        aql_scratch_reset();
        off[i] = c->bk.len;
        keep[i] = !q->where || aql_eval_cond(q->where, &ev[i]) > 0;
        if (keep[i] && group_key(c, &ev[i], &c->bk) != 0) {
            c->err = STRM_ERR_NOMEM;
            return 2;
        }
    }
    off[n] = c->bk.len;
    while ((c->ngroups + n + 1) * 10 >= c->tcap * 7)
        if (table_grow(c) != 0) {
            c->err = STRM_ERR_NOMEM;
            return 2;
        }
    for (size_t i = 0; i < n; i++) {
        if (!keep[i]) continue;
        h[i] = hash_bytes(c->bk.p + off[i], off[i + 1] - off[i]);
        __builtin_prefetch(&c->table[h[i] & (c->tcap - 1)]);
    }
    for (size_t i = 0; i < n; i++) {
        if (!keep[i]) continue;
        aql_scratch_reset();
        struct group *g = group_lookup(c, h[i], c->bk.p + off[i], off[i + 1] - off[i], &ev[i]);
        if (!g || group_row(c, g, &ev[i])) return 2;
    }
    return 0;
}

/* Vectors as events (only the key's and the SUM column's fields set), for the ordinary path. */
static int vec_as_events(struct gctx *c, const struct ariel_vec *v)
{
    const struct aql_query *q = c->q;
    int kc = c->fast.col, sc = c->vec_sumcol;
    if (!c->vev && !(c->vev = calloc(ARIEL_SCAN_BATCH, sizeof *c->vev))) {
        c->err = STRM_ERR_NOMEM;
        return 2;
    }
    (void)q;
    for (size_t i0 = 0; i0 < v->n; i0 += ARIEL_SCAN_BATCH) {
        size_t m = v->n - i0 < ARIEL_SCAN_BATCH ? v->n - i0 : ARIEL_SCAN_BATCH;
        for (size_t j = 0; j < m; j++) {
            size_t kw = strm_event_cols[kc].width;
            memcpy((char *)&c->vev[j] + strm_event_cols[kc].offset, v->v[0] + (i0 + j) * kw, kw);
            if (sc >= 0) {
                size_t sw = strm_event_cols[sc].width;
                memcpy((char *)&c->vev[j] + strm_event_cols[sc].offset, v->v[1] + (i0 + j) * sw,
                       sw);
            }
        }
        int rc = cb_group_batch(c->vev, m, c);
        if (rc) return rc;
    }
    return 0;
}

/* Row i of the vectors into its slot: the counts, and the SUMs of its value in v->v[1]. */
static inline int vec_slot_add(struct gctx *c, struct fastgroups *f, uint64_t *sl,
                               const struct ariel_vec *v, size_t i, int sw)
{
    for (int a = 0; a < f->naggs; a++) {
        sl[3 + 2 * a]++;
        if (!f->sumarg[a]) continue;
        int64_t sum = (int64_t)sl[4 + 2 * a];
        if ((c->err = sum_add(c, &sum, aql_int_at(v->v[1] + i * (size_t)sw, sw))) != 0) return 2;
        sl[4 + 2 * a] = (uint64_t)sum;
    }
    return 0;
}

/*
 * Column vectors into the flat table (key, and the one column the SUMs read): as fast_batch,
 * without events or WHERE (the scan's predicates said it all); past the table's limit, as
 * events to the ordinary groups.
 */
static int cb_group_vec(const struct ariel_vec *v, void *arg)
{
    struct gctx *c = arg;
    struct fastgroups *f = &c->fast;
    if (!f->on || !fast_keeps(f, v->n)) return vec_as_events(c, v);
    f->rows += v->n;
    size_t words = f->stride / 8;
    int kw = f->width, sw = c->vec_sumcol >= 0 ? strm_event_cols[c->vec_sumcol].width : 0;
    if (kw <= 2) {
        if (!f->direct && direct_init(f) != 0) {
            c->err = STRM_ERR_NOMEM;
            return 2;
        }
        /* many keys (ports) miss the cache: the entry of a row some rows ahead is asked for */
        enum { AHEAD = 16 };
        bool counts = true; /* COUNTs only: a row is one increment */
        for (int a = 0; a < f->naggs; a++)
            counts &= !f->sumarg[a];
        if (counts) {
            const uint8_t *kp = v->v[0];
            size_t dw = f->dw;
            bool ahead = f->n > 4096; /* few keys stay in the cache: nothing to ask ahead */
            for (size_t i = 0; i < v->n; i++) {
                if (ahead && i + AHEAD < v->n)
                    __builtin_prefetch(f->direct + direct_bits(kp + (i + AHEAD) * kw, kw) * dw);
                direct_entry(f, direct_bits(kp + i * kw, kw))[0]++;
            }
            return 0;
        }
        if (f->naggs == 1 && f->sumarg[0] && kw == 2 && (sw == 4 || sw == 8)) {
            /* the shape of "bytes by port": one SUM, its width known to the loop */
            const uint8_t *kp = v->v[0], *sp = v->v[1];
            for (size_t i = 0; i < v->n; i++) {
                if (i + AHEAD < v->n)
                    __builtin_prefetch(f->direct + direct_bits(kp + (i + AHEAD) * 2, 2) * 2);
                uint64_t *d = direct_entry(f, direct_bits(kp + i * 2, 2));
                int64_t x;
                if (sw == 8) {
                    memcpy(&x, sp + i * 8, 8);
                } else {
                    uint32_t y;
                    memcpy(&y, sp + i * 4, 4);
                    x = y;
                }
                d[0]++;
                int64_t sum;
                if (__builtin_add_overflow((int64_t)d[1], x, &sum)) {
                    sum = (int64_t)d[1];
                    if ((c->err = sum_add(c, &sum, x)) != 0) return 2; /* the message */
                }
                d[1] = (uint64_t)sum;
            }
            return 0;
        }
        for (size_t i = 0; i < v->n; i++) {
            if (i + AHEAD < v->n)
                __builtin_prefetch(f->direct +
                                   direct_bits(v->v[0] + (i + AHEAD) * (size_t)kw, kw) * f->dw);
            uint64_t *d = direct_entry(f, direct_bits(v->v[0] + i * (size_t)kw, kw));
            int64_t x = sw ? aql_int_at(v->v[1] + i * (size_t)sw, sw) : 0;
            if (direct_add(c, f, d, x)) return 2;
        }
        return 0;
    }
    while ((f->n + v->n) * 2 > f->cap)
        if (fast_grow(f) != 0) {
            c->err = STRM_ERR_NOMEM;
            return 2;
        }
    for (size_t i0 = 0; i0 < v->n; i0 += 64) {
        size_t m = v->n - i0 < 64 ? v->n - i0 : 64;
        uint64_t k[64][2], h[64];
        for (size_t i = 0; i < m; i++) {
            const uint8_t *p = v->v[0] + (i0 + i) * (size_t)kw;
            k[i][0] = k[i][1] = 0;
            if (kw == 16) /* constant sizes: no memcpy call per row */
                memcpy(k[i], p, 16);
            else if (kw == 8)
                memcpy(k[i], p, 8);
            else
                k[i][0] = (uint64_t)aql_int_at(p, kw);
            h[i] = fast_hash(k[i][0], k[i][1]);
            __builtin_prefetch(f->slot + (h[i] & (f->cap - 1)) * words);
        }
        for (size_t i = 0; i < m; i++)
            if (vec_slot_add(c, f, fast_slot(f, k[i], h[i]), v, i0 + i, sw)) return 2;
    }
    return 0;
}

static void gctx_free(struct gctx *c)
{
    free(c->vev);
    /* only MIN/MAX/FIRST/LAST (string copies), UNIQUECOUNT and DISTINCTCOUNT own memory
     * outside the arena */
    for (size_t i = 0; c->owns && i < c->ngroups; i++) {
        for (size_t k = 0; k < c->q->naggs; k++) {
            struct agg_state *st = gst(c, c->groups[i], k);
            free(st->buf);
            free(st->set.hash);
            free(st->set.key);
            free(st->set.klen);
            free(st->hll);
        }
    }
    free(c->groups);
    free(c->table);
    free(c->fast.slot);
    free(c->fast.direct);
    free(c->fast.dorder);
    free(c->kb.p);
    free(c->bk.p);
    strm_arena_free(&c->arena);
}

struct sort_ctx {
    const struct aql_query *q;
    const struct aql_value *cells;
    size_t stride;
};

static int cmp_rows(const void *pa, const void *pb, void *arg)
{
    const struct sort_ctx *s = arg;
    size_t a = *(const size_t *)pa, b = *(const size_t *)pb;
    const struct aql_value *ra = s->cells + a * s->stride, *rb = s->cells + b * s->stride;
    for (size_t k = 0; k < s->q->nkeys; k++) {
        int c = aql_value_cmp(&ra[s->q->nitems + k], &rb[s->q->nitems + k]);
        if (c) return s->q->keys[k].desc ? -c : c;
    }
    return (a > b) - (a < b);
}

/* Max-heap on cmp_rows (the worst of the kept rows on top), for top-k selection. */
static void heap_down(size_t *h, size_t n, size_t i, struct sort_ctx *sc)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && cmp_rows(&h[l], &h[m], sc) > 0) m = l;
        if (r < n && cmp_rows(&h[r], &h[m], sc) > 0) m = r;
        if (m == i) return;
        size_t t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

/*
 * ORDER BY (and LIMIT): with a LIMIT k smaller than the rows, a heap of k row indices keeps
 * the best k in one pass (n log k compares instead of sorting every group), then only those
 * are sorted.
 */
static int sort_and_limit(const struct aql_query *q, struct aql_result *r)
{
    if (q->nkeys > 0 && r->nrows > 1) {
        size_t n = r->nrows, k = n;
        if (q->limit >= 0 && (uint64_t)q->limit < n) k = (size_t)q->limit;
        size_t *idx = malloc((k ? k : 1) * sizeof *idx);
        struct aql_value *sorted = malloc((k ? k : 1) * r->stride * sizeof *sorted);
        if (!idx || !sorted) {
            free(idx);
            free(sorted);
            return STRM_ERR_NOMEM;
        }
        struct sort_ctx sc = {q, r->cells, r->stride};
        if (k < n) {
            for (size_t i = 0; i < k; i++)
                idx[i] = i;
            for (size_t i = k / 2; i-- > 0;)
                heap_down(idx, k, i, &sc);
            for (size_t i = k; i < n && k > 0; i++) {
                if (cmp_rows(&i, &idx[0], &sc) < 0) {
                    idx[0] = i;
                    heap_down(idx, k, 0, &sc);
                }
            }
        } else {
            for (size_t i = 0; i < n; i++)
                idx[i] = i;
        }
        qsort_r(idx, k, sizeof *idx, cmp_rows, &sc);
        for (size_t i = 0; i < k; i++)
            memcpy(sorted + i * r->stride, r->cells + idx[i] * r->stride,
                   r->stride * sizeof *sorted);
        free(idx);
        free(r->cells);
        r->cells = sorted;
        r->cap = k ? k : 1;
        r->nrows = k;
    }
    if (q->limit >= 0 && r->nrows > (uint64_t)q->limit) r->nrows = (size_t)q->limit;
    return 0;
}

/* ---------------------------------------------------------------- parallel scans */

/*
 * Merges state src of a later part into dst (same aggregate a): as if src's rows had been
 * added after dst's, which is what FIRST and LAST rely on (part k holds earlier rows than
 * part k + 1). src's owned memory is released (its HyperLogLog moves over).
 */
static int state_merge(struct gctx *c, const struct aql_node *a, struct agg_state *d,
                       struct agg_state *s)
{
    enum aql_agg fn = (enum aql_agg)a->u.agg.fn;
    int rc = 0;
    if (s->n == 0 || !a->l) {
        d->n += s->n; /* COUNT(*) and empty states */
        goto out;
    }
    switch (fn) {
    case AQL_AGG_COUNT:
        break;
    case AQL_AGG_SUM:
        d->dsum += s->dsum;
        rc = sum_add(c, &d->isum, s->isum);
        break;
    case AQL_AGG_AVG:
    case AQL_AGG_STDEV:
    case AQL_AGG_STDEVP:
        if (s->inexact || __builtin_add_overflow(d->isum, s->isum, &d->isum)) d->inexact = true;
        if (d->n == 0) {
            d->mean = s->mean;
            d->m2 = s->m2;
        } else { /* Chan et al.: combine two Welford states */
            double n1 = (double)d->n, n2 = (double)s->n, delta = s->mean - d->mean;
            d->mean += delta * n2 / (n1 + n2);
            d->m2 += s->m2 + delta * delta * n1 * n2 / (n1 + n2);
        }
        break;
    case AQL_AGG_MIN:
        if (d->n == 0 || aql_value_cmp(&s->v, &d->v) < 0) rc = state_set_value(d, &s->v);
        break;
    case AQL_AGG_MAX:
        if (d->n == 0 || aql_value_cmp(&s->v, &d->v) > 0) rc = state_set_value(d, &s->v);
        break;
    case AQL_AGG_FIRST:
        if (d->n == 0) rc = state_set_value(d, &s->v);
        break;
    case AQL_AGG_LAST:
        rc = state_set_value(d, &s->v);
        break;
    case AQL_AGG_UNIQUECOUNT:
        for (size_t i = 0; i < s->set.cap && rc == 0; i++)
            if (s->set.hash[i]) rc = uset_add(c, &d->set, s->set.key[i], s->set.klen[i]);
        break;
    case AQL_AGG_DISTINCTCOUNT:
        if (!d->hll) {
            d->hll = s->hll;
            s->hll = NULL;
        } else if (s->hll) {
            for (unsigned i = 0; i < HLL_M; i++)
                if (s->hll[i] > d->hll[i]) d->hll[i] = s->hll[i];
        }
        break;
    }
    d->n += s->n;
out:
    if (c->owns) {
        free(s->buf);
        free(s->set.hash);
        free(s->set.key);
        free(s->set.klen);
        free(s->hll);
    }
    memset(s, 0, c->stride);
    return rc;
}

/* The group of key in c, or NULL (never creates). */
static struct group *group_peek(struct gctx *c, uint64_t h, const uint8_t *kp, size_t klen)
{
    if (!c->tcap) return NULL;
    for (size_t j = h & (c->tcap - 1); c->table[j].g; j = (j + 1) & (c->tcap - 1))
        if (c->table[j].hash == h && c->table[j].g->klen == klen &&
            memcmp(c->table[j].g->key, kp, klen) == 0)
            return c->table[j].g;
    return NULL;
}

/* Folds the groups of part p into c (the first part): merges known ones, adopts new ones in
 * p's arrival order (they keep living in p's arena). */
static int gctx_merge(struct gctx *c, struct gctx *p)
{
    const struct aql_query *q = c->q;
    for (size_t i = 0; i < p->ngroups; i++) {
        struct group *g = p->groups[i];
        struct group *d = q->ngroups == 0 ? c->groups[0] : group_peek(c, g->hash, g->key, g->klen);
        if (!d) {
            if ((c->ngroups + 1) * 10 >= c->tcap * 7 && table_grow(c) != 0) return STRM_ERR_NOMEM;
            if (c->ngroups == c->gcap) {
                size_t ncap = c->gcap ? c->gcap * 2 : 64;
                struct group **ng = realloc(c->groups, ncap * sizeof *ng);
                if (!ng) return STRM_ERR_NOMEM;
                c->groups = ng;
                c->gcap = ncap;
            }
            size_t j = g->hash & (c->tcap - 1);
            while (c->table[j].g)
                j = (j + 1) & (c->tcap - 1);
            c->table[j].hash = g->hash;
            c->table[j].g = g;
            c->groups[c->ngroups++] = g;
            continue;
        }
        if (q->ngroups == 0 && !d->hash && g->hash) { /* the single group's first values */
            memcpy(d->first, g->first, (q->nitems + q->nkeys) * sizeof *d->first);
            d->hash = 1;
        }
        for (size_t k = 0; k < q->naggs; k++) {
            int rc = state_merge(c, q->aggs[k], gst(c, d, k), gst(p, g, k));
            if (rc) return rc;
        }
    }
    p->ngroups = 0; /* its groups are c's now, or merged and released */
    return 0;
}

static int agg_threads; /* 0: the online cores */

void aql_set_threads(int n)
{
    agg_threads = n;
}

/* Below this many rows a query is scanned by one thread: threads cost more than they save. */
#define PARALLEL_MIN_ROWS 200000

static size_t group_mem(void *arg);

/* Whether the flat table's SUMs all read one column (*col; -1: no SUM): vectors can carry it. */
static bool vec_sum_col(const struct gctx *c, int *col)
{
    *col = -1;
    for (int a = 0; a < c->fast.naggs; a++) {
        const struct aql_node *e = c->fast.sumarg[a];
        if (!e) continue;
        if (e->kind != AQL_N_COL || (*col >= 0 && *col != e->u.col)) return false;
        *col = e->u.col;
    }
    return true;
}

/*
 * Whether the query is UNIQUECOUNT/DISTINCTCOUNT of one string column alone (no GROUP BY,
 * nothing outside them): the store may hand out each value of a segment once (*col).
 */
static bool distinct_query(const struct aql_query *q, int *col)
{
    *col = -1;
    if (q->ngroups || !q->naggs) return false;
    for (size_t k = 0; k < q->naggs; k++) {
        const struct aql_node *a = q->aggs[k];
        int fn = a->u.agg.fn;
        if ((fn != AQL_AGG_UNIQUECOUNT && fn != AQL_AGG_DISTINCTCOUNT) || !a->l ||
            a->l->kind != AQL_N_COL || strm_event_cols[a->l->u.col].type != STRM_T_STR ||
            (*col >= 0 && *col != a->l->u.col))
            return false;
        *col = a->l->u.col;
    }
    for (size_t i = 0; i < q->nitems + q->nkeys; i++)
        if (out_expr(q, i)->kind != AQL_N_AGG) return false;
    return true;
}

/* Distinct values from the store (distinct_query) into the one group's aggregates. */
static int cb_group_distinct(const struct strm_str *v, size_t n, void *arg)
{
    struct gctx *c = arg;
    for (size_t i = 0; i < n; i++) {
        if (!v[i].len || !v[i].p) continue; /* NULL, as eval_col reads an empty string */
        struct aql_value x = {.type = AQL_T_STR};
        x.u.s = v[i];
        for (size_t k = 0; k < c->q->naggs; k++) {
            struct agg_state *s = gst(c, c->groups[0], k);
            s->n++;
            if ((c->err = distinct_add(c, s, (enum aql_agg)c->q->aggs[k]->u.agg.fn, &x)) != 0)
                return 2;
        }
    }
    return 0;
}

/* The rows the store counted (count_only) into the one group's COUNT(*)s. */
static void add_counted(struct gctx *c, uint64_t n)
{
    if (!n || c->ngroups == 0) return;
    for (size_t k = 0; k < c->q->naggs; k++)
        gst(c, c->groups[0], k)->n += n;
}

/*
 * Whether the store may count the rows itself (ariel_scan_opts.count_only): only COUNT(*)s,
 * no GROUP BY, no column outside them, and WHERE said exactly by the scan's predicates.
 */
static bool count_only_query(const struct aql_query *q)
{
    const struct aql_scan_plan *pl = aql_plan;
    if (!pl || pl->inexact || q->ngroups || !q->naggs) return false;
    for (size_t k = 0; k < q->naggs; k++)
        if (q->aggs[k]->u.agg.fn != AQL_AGG_COUNT || q->aggs[k]->l) return false;
    for (size_t i = 0; i < q->nitems + q->nkeys; i++)
        if (out_expr(q, i)->kind != AQL_N_AGG) return false;
    return true;
}

/* A part's end, in its thread: the store's count, then its flat table as groups. */
static void part_after(void *ctx, int rc, uint64_t counted)
{
    struct gctx *c = ctx;
    add_counted(c, counted);
    /* a direct table is added into the first part's after the scan, and becomes groups once */
    if (rc >= 0 && !c->err && !c->fast.direct) (void)fast_flush(c);
}

int aql_parts(struct ariel_store *store, int64_t tmin, int64_t tmax)
{
    int n = agg_threads > 0 ? agg_threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (n > 8) n = 8;
    if (n < 1 || tmin > tmax ||
        (agg_threads <= 0 && ariel_estimate_rows(store, tmin, tmax) < PARALLEL_MIN_ROWS))
        n = 1;
    return n;
}

/* Frees the later parts: their remaining groups (not merged: after an error), tables and
 * arenas (which held adopted groups and merged strings: freed only now). */
static void parts_free(struct gctx *more, int nparts)
{
    if (!more) return;
    for (int k = 1; k < nparts; k++)
        gctx_free(&more[k - 1]);
    free(more);
}

/* Memory the groups hold (for search.max_memory). */
static size_t group_mem(void *arg)
{
    const struct gctx *c = arg;
    return c->arena.total + c->gcap * sizeof *c->groups + c->tcap * sizeof *c->table +
           c->fast.cap * c->fast.stride;
}

int aql_exec_grouped(const struct aql_query *q, struct ariel_store *store, int64_t tmin,
                     int64_t tmax, uint64_t colmask, struct aql_result *r, struct aql_error *err)
{
    const struct aql_scan_plan *saved_plan = aql_plan; /* restored on every return */
    struct aql_scan_plan counting;
    struct gctx c;
    gctx_init(&c, q);
    int rc = 0;
    struct gctx *more = NULL;
    void **ctxs = NULL; /* each part's groups */
    int *prc = NULL;    /* each part's scan result */
    int nparts = 1;
    size_t nout = q->nitems + q->nkeys;
    struct aql_value *aggv = calloc(q->naggs ? q->naggs : 1, sizeof *aggv);
    struct aql_value *row = calloc(nout ? nout : 1, sizeof *row);
    if (!aggv || !row) {
        rc = STRM_ERR_NOMEM;
        goto fail;
    }
    if (q->ngroups == 0 && !group_new(&c, 0, NULL, 0, NULL)) {
        rc = c.err;
        goto fail;
    }
    /* COUNT(*) alone: the store counts (a copy of the plan says so; its preds still point at
     * the keys of the original, which outlives this call). The flat table with WHERE said
     * by the preds: the store hands out column vectors. */
    int sumcol = -1, dcol;
    if (count_only_query(q)) {
        counting = *aql_plan;
        counting.count_only = true;
        aql_plan = &counting;
    } else if (aql_plan && !aql_plan->inexact && distinct_query(q, &dcol)) {
        counting = *aql_plan;
        counting.distinct_fn = cb_group_distinct;
        counting.distinct_col = dcol;
        aql_plan = &counting;
    } else if (c.fast.on && aql_plan && !aql_plan->inexact && vec_sum_col(&c, &sumcol)) {
        counting = *aql_plan;
        counting.vec_fn = cb_group_vec;
        counting.vec_cols[0] = c.fast.col;
        counting.vec_cols[1] = sumcol;
        counting.nvec = sumcol >= 0 ? 2 : 1;
        aql_plan = &counting;
    }
    c.vec_sumcol = sumcol;
    /* The scan: in parallel over contiguous runs of rows of one snapshot when there are
     * enough rows, each part into groups of its own, merged in part order. */
    nparts = aql_parts(store, tmin, tmax);
    more = nparts > 1 ? calloc((size_t)nparts - 1, sizeof *more) : NULL;
    ctxs = nparts > 1 ? calloc((size_t)nparts, sizeof *ctxs) : NULL;
    prc = nparts > 1 ? calloc((size_t)nparts, sizeof *prc) : NULL;
    if (nparts > 1 && (!more || !ctxs || !prc)) nparts = 1;
    for (int k = 1; k < nparts; k++) {
        gctx_init(&more[k - 1], q);
        more[k - 1].vec_sumcol = sumcol;
        if (q->ngroups == 0 && !group_new(&more[k - 1], 0, NULL, 0, NULL)) nparts = k;
    }
    if (nparts == 1 && tmin <= tmax) {
        rc = aql_scan_batch(store, tmin, tmax, colmask, cb_group_batch, &c, group_mem, NULL, 0, 0);
        add_counted(&c, aql_counted);
        if (rc >= 0 && !c.err) (void)fast_flush(&c);
    } else if (nparts > 1) {
        for (int k = 0; k < nparts; k++)
            ctxs[k] = k ? &more[k - 1] : &c;
        if (aql_run_parts(store, nparts, tmin, tmax, colmask, cb_group_batch, ctxs, group_mem,
                          part_after, NULL, prc) != 0)
            c.err = STRM_ERR_NOMEM;
        for (int k = 0; k < nparts && !c.err; k++) {
            struct gctx *pc = ctxs[k];
            if (pc->err) {
                c.err = pc->err;
                if (pc != &c) snprintf(c.errmsg, sizeof c.errmsg, "%s", pc->errmsg);
            } else if (prc[k] < 0 && rc == 0) {
                rc = prc[k];
            }
        }
        for (int k = 1; k < nparts && rc == 0 && !c.err; k++) {
            struct gctx *pc = &more[k - 1];
            if (!pc->fast.direct) continue;
            if (c.fast.on) {
                (void)direct_merge(&c, pc); /* an error in c.err and c.errmsg */
            } else if (fast_flush(pc)) {    /* c handed over: as groups, merged below */
                c.err = pc->err;
                snprintf(c.errmsg, sizeof c.errmsg, "%s", pc->errmsg);
            }
        }
        if (rc == 0 && !c.err) (void)fast_flush(&c);
        for (int k = 1; k < nparts && rc == 0 && !c.err; k++) {
            int mrc = gctx_merge(&c, &more[k - 1]);
            if (mrc) {
                c.err = mrc;
                if (!c.errmsg[0])
                    snprintf(c.errmsg, sizeof c.errmsg, "query: %s", strm_err_str(mrc));
            }
        }
    }
    aql_plan = saved_plan;
    if (c.err) {
        rc = c.err;
        goto fail;
    }
    if (rc < 0) {
        aql_err_message(rc, c.errmsg, sizeof c.errmsg);
        goto fail;
    }
    if (aql_ctl) atomic_store(&aql_ctl->phase, AQL_PHASE_SORTING);
    rc = 0;
    struct aql_group_view view = {aggv, row};
    bool topk = q->nkeys > 0 && q->limit >= 0;
    size_t topk_at = topk ? (size_t)q->limit * 2 + 1024 : 0;
    aql_group_view = &view;
    for (size_t gi = 0; gi < c.ngroups; gi++) {
        const struct group *g = c.groups[gi];
        aql_scratch_reset();
        for (size_t k = 0; k < q->naggs; k++)
            state_final(q->aggs[k], gst(&c, g, k), &aggv[k]);
        for (size_t i = 0; i < nout; i++) {
            const struct aql_node *e = out_expr(q, i);
            if (!has_agg(e)) {
                row[i] = g->first[i];
                continue;
            }
            /* a key that is a SELECT item (by alias) reuses the item's value */
            size_t j = 0;
            if (i >= q->nitems)
                while (j < q->nitems && q->items[j].expr != e)
                    j++;
            if (i >= q->nitems && j < q->nitems)
                row[i] = row[j];
            else
                aql_eval(e, NULL, &row[i]);
        }
        if (q->having && aql_eval_cond(q->having, NULL) <= 0) continue;
        if (!aql_result_append(r, row)) {
            rc = STRM_ERR_NOMEM;
            break;
        }
        /* ORDER BY ... LIMIT k: keep only the best k rows as groups are emitted, instead of a
         * row per group (ties keep group order: survivors stay ahead of later rows) */
        if (topk && r->nrows >= topk_at && (rc = sort_and_limit(q, r)) != 0) break;
    }
    aql_group_view = NULL;
    if (rc == 0) rc = sort_and_limit(q, r);
    if (rc) goto fail;
    gctx_free(&c);
    parts_free(more, nparts);
    free(ctxs);
    free(prc);
    free(aggv);
    free(row);
    return 0;
fail:
    aql_plan = saved_plan;
    if (err) {
        err->pos = 0;
        if (c.errmsg[0])
            snprintf(err->msg, sizeof err->msg, "%s", c.errmsg);
        else
            snprintf(err->msg, sizeof err->msg, "query: %s", strm_err_str(rc));
    }
    gctx_free(&c);
    parts_free(more, nparts);
    free(ctxs);
    free(prc);
    free(aggv);
    free(row);
    return rc ? rc : STRM_ERR_NOMEM;
}
