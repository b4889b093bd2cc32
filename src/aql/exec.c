/*
 * exec.c - evaluates AQL expressions and runs a planned query against an ariel store.
 *
 * Evaluation walks the typed tree per row; a function call evaluates its arguments into a
 * small array on the stack and calls its row of func.c's table. Conditions use SQL's three-valued
 * logic: a comparison with a null operand (empty string, all-zero IP or MAC) is unknown, NOT
 * unknown is unknown, and WHERE keeps a row only when its condition is true. Values point into the
 * event (valid during the scan callback only) or into the query; nothing is allocated per
 * row while filtering.
 *
 * Execution modes, chosen from the plan:
 *  - grouped (GROUP BY or aggregates): hash aggregation in agg.c;
 *  - no ORDER BY: copy the selected values of matching rows into the result (strings into
 *    its arena) in scan order, and stop the scan once LIMIT rows are in;
 *  - ORDER BY without LIMIT: materialize every matching row with its sort keys, then sort
 *    stably (ties keep scan order);
 *  - ORDER BY with LIMIT n: keep the best n rows in a bounded heap whose slots own reusable
 *    string buffers, so memory is O(n) however many rows match; a row that cannot enter the
 *    heap is rejected on its keys alone, before anything is copied.
 * The time window is [now - LAST, +inf) (default: the last 5 minutes), narrowed further by
 * top-level `starttime <op> literal` conjuncts of WHERE so the store can skip segments.
 */
#include <ctype.h>
#include <pthread.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "aql/aql_int.h"
#include "core/strsearch.h"

#define AQL_DEFAULT_WINDOW_MS (5 * 60 * 1000)

static void eval_arith(const struct aql_node *n, const struct strm_event *ev,
                       struct aql_value *out);
static bool word_in(const char *s, size_t n, const char *w, size_t wl);
static bool in_cidr(const struct strm_ip *ip, const struct strm_ip *net, unsigned bits);

/* ---------------------------------------------------------------- values */

static inline int64_t col_int(const struct strm_event *ev, int col)
{
    const struct strm_col_def *d = &strm_event_cols[col];
    return aql_int_at((const char *)ev + d->offset, d->width);
}

static void eval_col(int col, const struct strm_event *ev, struct aql_value *out)
{
    const struct strm_col_def *d = &strm_event_cols[col];
    const char *p = (const char *)ev + d->offset;
    switch (d->type) {
    case STRM_T_TIME:
        out->type = AQL_T_TIME;
        out->u.i = col_int(ev, col);
        return;
    case STRM_T_INT:
        out->type = AQL_T_INT;
        out->u.i = col_int(ev, col);
        if (d->enum_names) { /* flowtype, flowdirection: their names */
            const char *nm =
                (uint64_t)out->u.i < d->enum_count ? d->enum_names[out->u.i] : "unknown";
            out->type = AQL_T_STR;
            out->u.s.p = nm;
            out->u.s.len = (uint32_t)strlen(nm);
        }
        return;
    case STRM_T_STR:
        memcpy(&out->u.s, p, sizeof out->u.s);
        out->type = out->u.s.len && out->u.s.p ? AQL_T_STR : AQL_T_NULL;
        return;
    case STRM_T_IP:
        memcpy(&out->u.ip, p, sizeof out->u.ip);
        out->type = strm_ip_is_null(&out->u.ip) ? AQL_T_NULL : AQL_T_IP;
        return;
    case STRM_T_MAC: {
        static const uint8_t zero[6];
        memcpy(out->u.mac, p, 6);
        out->type = memcmp(out->u.mac, zero, 6) ? AQL_T_MAC : AQL_T_NULL;
        return;
    }
    }
    out->type = AQL_T_NULL;
}

void aql_eval(const struct aql_node *n, const struct strm_event *ev, struct aql_value *out)
{
    switch (n->kind) {
    case AQL_N_LIT:
        *out = n->u.lit;
        return;
    case AQL_N_COL:
        eval_col(n->u.col, ev, out);
        return;
    case AQL_N_NEG:
        aql_eval(n->l, ev, out);
        if (out->type != AQL_T_NULL) out->u.i = (int64_t)(0 - (uint64_t)out->u.i);
        return;
    case AQL_N_AGG:
        if (aql_group_view)
            *out = aql_group_view->aggs[n->u.agg.idx];
        else
            out->type = AQL_T_NULL;
        return;
    case AQL_N_ITEMREF:
        if (aql_group_view)
            *out = aql_group_view->items[n->u.idx];
        else
            out->type = AQL_T_NULL;
        return;
    case AQL_N_ARG:
        out->type = AQL_T_NULL;
        return;
    case AQL_N_ARITH:
        eval_arith(n, ev, out);
        return;
    case AQL_N_FUNC: {
        struct aql_value args[AQL_FUNC_MAX_ARGS];
        int i = 0;
        for (const struct aql_node *a = n->l; a && i < AQL_FUNC_MAX_ARGS; a = a->r)
            aql_eval(a->l, ev, &args[i++]);
        n->u.call.fn->fn(args, (size_t)i, n->u.call.state, out);
        return;
    }
    default: {
        int c = aql_eval_cond(n, ev);
        out->type = c < 0 ? AQL_T_NULL : AQL_T_BOOL;
        out->u.i = c > 0;
        return;
    }
    }
}

int aql_value_cmp(const struct aql_value *a, const struct aql_value *b)
{
    if (a->type == AQL_T_NULL || b->type == AQL_T_NULL)
        return (a->type != AQL_T_NULL) - (b->type != AQL_T_NULL);
    switch (a->type) {
    case AQL_T_STR: {
        size_t n = a->u.s.len < b->u.s.len ? a->u.s.len : b->u.s.len;
        int c = n ? memcmp(a->u.s.p, b->u.s.p, n) : 0;
        if (c) return c < 0 ? -1 : 1;
        return (a->u.s.len > b->u.s.len) - (a->u.s.len < b->u.s.len);
    }
    case AQL_T_IP: {
        int c = memcmp(a->u.ip.b, b->u.ip.b, 16);
        return (c > 0) - (c < 0);
    }
    case AQL_T_MAC: {
        int c = memcmp(a->u.mac, b->u.mac, 6);
        return (c > 0) - (c < 0);
    }
    case AQL_T_DOUBLE:
    case AQL_T_INT:
    case AQL_T_TIME:
        if (a->type == AQL_T_DOUBLE || b->type == AQL_T_DOUBLE) {
            double x = a->type == AQL_T_DOUBLE ? a->u.d : (double)a->u.i;
            double y = b->type == AQL_T_DOUBLE ? b->u.d : (double)b->u.i;
            return (x > y) - (x < y);
        }
        return (a->u.i > b->u.i) - (a->u.i < b->u.i);
    default:
        return (a->u.i > b->u.i) - (a->u.i < b->u.i);
    }
}

static int cmp_result(enum aql_cmp_op op, int c)
{
    switch (op) {
    case AQL_OP_EQ:
        return c == 0;
    case AQL_OP_NE:
        return c != 0;
    case AQL_OP_LT:
        return c < 0;
    case AQL_OP_LE:
        return c <= 0;
    case AQL_OP_GT:
        return c > 0;
    case AQL_OP_GE:
        return c >= 0;
    }
    return 0;
}

int aql_eval_cond(const struct aql_node *n, const struct strm_event *ev)
{
    switch (n->kind) {
    case AQL_N_CMP: {
        const struct aql_node *l = n->l, *r = n->r;
        /* Fast path: integer or time column against a literal. */
        if (l->kind == AQL_N_COL && r->kind == AQL_N_LIT && r->u.lit.type != AQL_T_STR &&
            (l->type == AQL_T_INT || l->type == AQL_T_TIME)) {
            int64_t a = col_int(ev, l->u.col), b = r->u.lit.u.i;
            return cmp_result(n->u.op, (a > b) - (a < b));
        }
        struct aql_value a, b;
        aql_eval(l, ev, &a);
        if (a.type == AQL_T_NULL) return -1;
        aql_eval(r, ev, &b);
        if (b.type == AQL_T_NULL) return -1;
        return cmp_result(n->u.op, aql_value_cmp(&a, &b));
    }
    case AQL_N_AND: {
        int a = aql_eval_cond(n->l, ev);
        if (a == 0) return 0;
        int b = aql_eval_cond(n->r, ev);
        if (b == 0) return 0;
        return a > 0 && b > 0 ? 1 : -1;
    }
    case AQL_N_OR: {
        int a = aql_eval_cond(n->l, ev);
        if (a > 0) return 1;
        int b = aql_eval_cond(n->r, ev);
        if (b > 0) return 1;
        return a == 0 && b == 0 ? 0 : -1;
    }
    case AQL_N_NOT: {
        int a = aql_eval_cond(n->l, ev);
        return a < 0 ? -1 : !a;
    }
    case AQL_N_LIKE: {
        struct aql_value v;
        aql_eval(n->l, ev, &v);
        if (v.type == AQL_T_NULL) return -1;
        char buf[64];
        const char *s;
        size_t len = aql_value_text(&v, buf, sizeof buf, &s);
        bool m = aql_like_match(&n->u.pred.like, s, len);
        return n->u.pred.negated ? !m : m;
    }
    case AQL_N_ISNULL: {
        struct aql_value v;
        aql_eval(n->l, ev, &v);
        bool isnull = v.type == AQL_T_NULL;
        return n->u.pred.negated ? !isnull : isnull;
    }
    case AQL_N_IN: {
        struct aql_value v;
        aql_eval(n->l, ev, &v);
        if (v.type == AQL_T_NULL) return -1;
        bool found = false;
        for (const struct aql_node *a = n->r; a && !found; a = a->r) {
            struct aql_value w;
            aql_eval(a->l, ev, &w);
            found = w.type != AQL_T_NULL && aql_value_cmp(&v, &w) == 0;
        }
        return n->u.pred.negated ? !found : found;
    }
    case AQL_N_INSUB: {
        struct aql_value v;
        aql_eval(n->l, ev, &v);
        if (v.type == AQL_T_NULL) return -1;
        const struct aql_result *set = n->u.sub.vals;
        size_t lo = 0, hi = set ? set->nrows : 0;
        bool found = false;
        while (lo < hi && !found) {
            size_t mid = lo + (hi - lo) / 2;
            int c = aql_value_cmp(&set->cells[mid * set->stride], &v);
            if (c == 0)
                found = true;
            else if (c < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        return n->u.sub.negated ? !found : found;
    }
    case AQL_N_MATCH: {
        struct aql_value v;
        aql_eval(n->l, ev, &v);
        if (v.type == AQL_T_NULL) return -1;
        char buf[64];
        const char *s;
        size_t len = aql_value_text(&v, buf, sizeof buf, &s);
        bool m = aql_regex_match(n->u.re.code, s, len);
        return n->u.re.negated ? !m : m;
    }
    case AQL_N_TEXT: {
        struct strm_str pl;
        memcpy(&pl, (const char *)ev + strm_event_cols[STRM_COL_PAYLOAD].offset, sizeof pl);
        if (!pl.len || !pl.p) return 0;
        for (size_t i = 0; i < n->u.text.n; i++)
            if (!word_in(pl.p, pl.len, n->u.text.words[i], n->u.text.lens[i])) return 0;
        return 1;
    }
    case AQL_N_INCIDR: {
        struct aql_value v;
        aql_eval(n->l, ev, &v);
        if (v.type != AQL_T_IP) return -1;
        return in_cidr(&v.u.ip, &n->u.cidr.net, n->u.cidr.bits);
    }
    case AQL_N_LIT:
        if (n->u.lit.type == AQL_T_NULL) return -1;
        return n->u.lit.u.i != 0;
    default: {
        struct aql_value v;
        aql_eval(n, ev, &v);
        if (v.type == AQL_T_NULL) return -1;
        return v.u.i != 0;
    }
    }
}

/* ---------------------------------------------------------------- regex */

int aql_regex_compile(const char *pat, size_t len, bool ci, void **code, char *msg, size_t size)
{
    int ec;
    PCRE2_SIZE eo;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pat, len, ci ? PCRE2_CASELESS : 0, &ec, &eo, NULL);
    if (!re) {
        PCRE2_UCHAR buf[160];
        pcre2_get_error_message(ec, buf, sizeof buf);
        snprintf(msg, size, "%s at offset %zu of the pattern", (const char *)buf, (size_t)eo);
        return STRM_ERR_PARSE;
    }
    (void)pcre2_jit_compile(re, PCRE2_JIT_COMPLETE); /* interpreted when JIT is unavailable */
    *code = re;
    return 0;
}

void aql_regex_free(void *code)
{
    pcre2_code_free(code);
}

/* One match-data block per thread, reused for every row: no allocation per event. */
static _Thread_local pcre2_match_data *tl_md;

bool aql_regex_match(const void *code, const char *s, size_t len)
{
    if (!tl_md && !(tl_md = pcre2_match_data_create(1, NULL))) return false;
    int rc = pcre2_match(code, (PCRE2_SPTR)(s ? s : ""), len, 0, 0, tl_md, NULL);
    return rc >= 0; /* 0: matched, ovector too small (we need no groups) */
}

/* ---------------------------------------------------------------- arithmetic */

static void eval_arith(const struct aql_node *n, const struct strm_event *ev, struct aql_value *out)
{
    struct aql_value a, b;
    aql_eval(n->l, ev, &a);
    aql_eval(n->r, ev, &b);
    if (a.type == AQL_T_NULL || b.type == AQL_T_NULL) {
        out->type = AQL_T_NULL;
        return;
    }
    if (n->type == AQL_T_DOUBLE) {
        double x = a.type == AQL_T_DOUBLE ? a.u.d : (double)a.u.i;
        double y = b.type == AQL_T_DOUBLE ? b.u.d : (double)b.u.i;
        out->type = AQL_T_DOUBLE;
        switch (n->u.arith) {
        case '+':
            out->u.d = x + y;
            return;
        case '-':
            out->u.d = x - y;
            return;
        case '*':
            out->u.d = x * y;
            return;
        case '/':
            if (y == 0) break;
            out->u.d = x / y;
            return;
        default:
            if (y == 0) break;
            out->u.d = fmod(x, y);
            return;
        }
        out->type = AQL_T_NULL; /* division by zero: no value */
        return;
    }
    /* integers wrap as in Java's long arithmetic; / and % by 0 give null */
    uint64_t x = (uint64_t)a.u.i, y = (uint64_t)b.u.i;
    out->type = n->type;
    switch (n->u.arith) {
    case '+':
        out->u.i = (int64_t)(x + y);
        return;
    case '-':
        out->u.i = (int64_t)(x - y);
        return;
    case '*':
        out->u.i = (int64_t)(x * y);
        return;
    case '/':
        if (b.u.i == 0) break;
        out->u.i = (a.u.i == INT64_MIN && b.u.i == -1) ? INT64_MIN : a.u.i / b.u.i;
        return;
    default:
        if (b.u.i == 0) break;
        out->u.i = b.u.i == -1 ? 0 : a.u.i % b.u.i;
        return;
    }
    out->type = AQL_T_NULL;
}

/* Whether word w (lower case) occurs in s with no letter or digit on either side. */
/*
 * Whether lower-case word w occurs in s case-insensitively and word-aligned (no ASCII letter
 * or digit right before or after). Candidates are found with memchr on both cases of the
 * first byte (vectorized in libc), so the common no-match costs a fraction of a byte-wise
 * loop.
 */
static bool word_in(const char *s, size_t n, const char *w, size_t wl)
{
    if (wl == 0) return true;
    if (wl > n) return false;
    unsigned char c0 = (unsigned char)w[0], c1 = (unsigned char)toupper(c0);
    const char *end = s + n - wl + 1; /* candidates start before end */
    const char *p0 = memchr(s, c0, (size_t)(end - s));
    const char *p1 = c1 != c0 ? memchr(s, c1, (size_t)(end - s)) : NULL;
    while (p0 || p1) {
        const char *p = !p1 || (p0 && p0 < p1) ? p0 : p1;
        size_t i = (size_t)(p - s);
        bool ok = !(i > 0 && isalnum((unsigned char)s[i - 1]));
        for (size_t k = 1; ok && k < wl; k++)
            ok = tolower((unsigned char)p[k]) == (unsigned char)w[k];
        if (ok && !(i + wl < n && isalnum((unsigned char)s[i + wl]))) return true;
        if (p == p0) p0 = p0 + 1 < end ? memchr(p0 + 1, c0, (size_t)(end - p0 - 1)) : NULL;
        if (p == p1) p1 = p1 + 1 < end ? memchr(p1 + 1, c1, (size_t)(end - p1 - 1)) : NULL;
    }
    return false;
}

static bool in_cidr(const struct strm_ip *ip, const struct strm_ip *net, unsigned bits)
{
    unsigned full = bits / 8, rest = bits % 8;
    if (memcmp(ip->b, net->b, full) != 0) return false;
    if (!rest) return true;
    uint8_t mask = (uint8_t)(0xff << (8 - rest));
    return (ip->b[full] & mask) == (net->b[full] & mask);
}

/* ---------------------------------------------------------------- LIKE */

static const uint8_t *fold_table(void)
{
    static uint8_t t[256];
    static _Atomic int ready;
    if (!ready) {
        for (int i = 0; i < 256; i++)
            t[i] = (uint8_t)((i >= 'A' && i <= 'Z') ? i + 32 : i);
        ready = 1;
    }
    return t;
}

int aql_like_compile(struct aql_like *lk, const char *pat, size_t len, bool ci,
                     struct strm_arena *a)
{
    char *p = strm_arena_alloc(a, len + 1);
    uint8_t *e = strm_arena_alloc(a, len + 1);
    if (!p || !e) return STRM_ERR_NOMEM;
    const uint8_t *fold = fold_table();
    size_t n = 0;
    bool simple = true;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)pat[i];
        if (c == '\\' && i + 1 < len &&
            (pat[i + 1] == '%' || pat[i + 1] == '_' || pat[i + 1] == '\\')) {
            c = (unsigned char)pat[++i];
            e[n] = AQL_LIKE_LIT;
        } else if (c == '%') {
            if (n > 0 && e[n - 1] == AQL_LIKE_ANY) continue; /* %% is % */
            e[n] = AQL_LIKE_ANY;
        } else if (c == '_') {
            e[n] = AQL_LIKE_ONE;
            simple = false;
        } else {
            e[n] = AQL_LIKE_LIT;
        }
        p[n++] = (char)(ci ? fold[c] : c);
    }
    p[n] = '\0';
    lk->pat = p;
    lk->elem = e;
    lk->len = n;
    lk->ci = ci;
    lk->simple = simple;
    return 0;
}

/* Bytes of the UTF-8 character at s (1 for a byte that does not start a valid one). */
static size_t u8len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t k;
    if (c < 0x80)
        return 1;
    else if (c >= 0xc2 && c <= 0xdf)
        k = 2;
    else if (c >= 0xe0 && c <= 0xef)
        k = 3;
    else if (c >= 0xf0 && c <= 0xf4)
        k = 4;
    else
        return 1;
    if (k > n) return 1;
    for (size_t i = 1; i < k; i++)
        if ((s[i] & 0xc0) != 0x80) return 1;
    return k;
}

static bool seg_eq(const unsigned char *s, const char *lit, size_t n, const uint8_t *fold)
{
    if (!fold) return memcmp(s, lit, n) == 0;
    for (size_t i = 0; i < n; i++)
        if (fold[s[i]] != (unsigned char)lit[i]) return false;
    return true;
}

static const unsigned char *seg_find(const unsigned char *s, size_t n, const char *lit, size_t m,
                                     const uint8_t *fold)
{
    if (m == 0) return s;
    if (m > n) return NULL;
    if (!fold) return strm_memmem(s, n, lit, m);
    unsigned char first = (unsigned char)lit[0];
    for (size_t i = 0; i + m <= n; i++)
        if (fold[s[i]] == first && seg_eq(s + i, lit, m, fold)) return s + i;
    return NULL;
}

bool aql_like_match(const struct aql_like *lk, const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    const uint8_t *fold = lk->ci ? fold_table() : NULL;
    const char *pat = lk->pat;
    const uint8_t *e = lk->elem;
    size_t m = lk->len;
    if (lk->simple) {
        /* Literal segments between '%': the first anchors at the start, the last at the
         * end, the middle ones match leftmost-first (greedy is optimal without '_'). */
        size_t a = 0;
        while (a < m && e[a] != AQL_LIKE_ANY)
            a++;
        if (a == m) return n == m && seg_eq(s, pat, m, fold);
        if (n < a || !seg_eq(s, pat, a, fold)) return false;
        size_t b = m;
        while (b > 0 && e[b - 1] != AQL_LIKE_ANY)
            b--;
        size_t tail = m - b;
        if (n - a < tail || !seg_eq(s + n - tail, pat + b, tail, fold)) return false;
        size_t ti = a, tend = n - tail;
        for (size_t pi = a + 1; pi < b;) {
            size_t q = pi;
            while (q < b && e[q] != AQL_LIKE_ANY)
                q++;
            const unsigned char *f = seg_find(s + ti, tend - ti, pat + pi, q - pi, fold);
            if (!f) return false;
            ti = (size_t)(f - s) + (q - pi);
            pi = q + 1;
        }
        return true;
    }
    /* General case: one backtrack point at the last '%', advancing a character at a time. */
    size_t ti = 0, pi = 0, star_p = SIZE_MAX, star_t = 0;
    while (ti < n) {
        if (pi < m && e[pi] == AQL_LIKE_ANY) {
            star_p = pi++;
            star_t = ti;
            continue;
        }
        if (pi < m && e[pi] == AQL_LIKE_ONE) {
            ti += u8len(s + ti, n - ti);
            pi++;
            continue;
        }
        if (pi < m && (fold ? fold[s[ti]] : s[ti]) == (unsigned char)pat[pi]) {
            ti++;
            pi++;
            continue;
        }
        if (star_p == SIZE_MAX) return false;
        pi = star_p + 1;
        star_t += u8len(s + star_t, n - star_t);
        ti = star_t;
    }
    while (pi < m && e[pi] == AQL_LIKE_ANY)
        pi++;
    return pi == m;
}

/* ---------------------------------------------------------------- execution */

struct slot {
    struct aql_value *vals;
    char *buf; /* the strings vals point to */
    size_t cap;
    uint64_t seq;
};

_Thread_local struct aql_exec_ctl *aql_ctl;
_Thread_local const struct aql_scan_plan *aql_plan;

/* ---------------------------------------------------------------- segment skipping */

/* Each returns whether it added a predicate. */
static bool plan_add_keys(struct aql_scan_plan *pl, int col, const struct aql_node *const *lits,
                          int n)
{
    if (pl->npreds == AQL_MAX_PREDS || pl->nkeys + n > AQL_MAX_PRED_KEYS || n == 0) return false;
    struct ariel_pred *p = &pl->preds[pl->npreds];
    p->col = col;
    p->kind = ARIEL_PRED_IN;
    p->keys = &pl->keys[pl->nkeys];
    p->key_lens = &pl->key_lens[pl->nkeys];
    p->nkeys = 0;
    for (int i = 0; i < n; i++) {
        const struct aql_value *v = &lits[i]->u.lit;
        if (v->type == AQL_T_IP) {
            pl->keys[pl->nkeys] = v->u.ip.b;
            pl->key_lens[pl->nkeys] = 16;
        } else if (v->type == AQL_T_STR && v->u.s.len) {
            pl->keys[pl->nkeys] = v->u.s.p;
            pl->key_lens[pl->nkeys] = v->u.s.len;
        } else {
            pl->nkeys -= p->nkeys;
            return false; /* a value the index does not hold (null, empty): no skipping */
        }
        pl->nkeys++;
        p->nkeys++;
    }
    pl->npreds++;
    return true;
}

static bool plan_add_range(struct aql_scan_plan *pl, int col, int64_t lo, int64_t hi)
{
    if (pl->npreds == AQL_MAX_PREDS || lo > hi) return false;
    pl->preds[pl->npreds++] =
        (struct ariel_pred){.col = col, .kind = ARIEL_PRED_RANGE, .lo = lo, .hi = hi};
    return true;
}

/* The keys pl->keys[first..] as one TOKENS predicate on the payload (none: nothing). */
static void plan_tokens(struct aql_scan_plan *pl, int first)
{
    int nk = pl->nkeys - first;
    if (nk == 0 || pl->npreds == AQL_MAX_PREDS) {
        pl->nkeys = first;
        return;
    }
    pl->preds[pl->npreds++] = (struct ariel_pred){.col = STRM_COL_PAYLOAD,
                                                  .kind = ARIEL_PRED_TOKENS,
                                                  .keys = &pl->keys[first],
                                                  .key_lens = &pl->key_lens[first],
                                                  .nkeys = nk};
}

/* TEXT SEARCH words: the payload's token index may skip segments and blocks of rows. */
static void plan_add_words(struct aql_scan_plan *pl, const struct aql_node *n)
{
    size_t nw = n->u.text.n;
    int first = pl->nkeys;
    if (pl->nkeys + nw > AQL_MAX_PRED_KEYS) return;
    for (size_t i = 0; i < nw; i++) {
        pl->keys[pl->nkeys] = n->u.text.words[i];
        pl->key_lens[pl->nkeys++] = (uint32_t)n->u.text.lens[i];
    }
    plan_tokens(pl, first);
}

/*
 * payload LIKE '%... word ...%': a run of letters and digits the pattern itself bounds by
 * literal non-alphanumeric bytes on both sides (" password " in '%Failed password for%')
 * can only match a whole token of the payload, so the token index may skip the blocks
 * without it. Runs at a '%' or '_' (or the pattern's ends) may match part of a longer token
 * and are not used.
 */
static void plan_add_like(struct aql_scan_plan *pl, const struct aql_like *lk)
{
    int first = pl->nkeys;
    for (size_t i = 0; i < lk->len;) {
        bool alnum = lk->elem[i] == AQL_LIKE_LIT && isalnum((unsigned char)lk->pat[i]);
        if (!alnum) {
            i++;
            continue;
        }
        size_t j = i;
        while (j < lk->len && lk->elem[j] == AQL_LIKE_LIT && isalnum((unsigned char)lk->pat[j]))
            j++;
        bool left = i > 0 && lk->elem[i - 1] == AQL_LIKE_LIT;    /* a literal non-alnum byte */
        bool right = j < lk->len && lk->elem[j] == AQL_LIKE_LIT; /* likewise */
        if (left && right && j - i >= ARIEL_TOKEN_MIN && pl->nkeys < AQL_MAX_PRED_KEYS) {
            pl->keys[pl->nkeys] = lk->pat + i;
            pl->key_lens[pl->nkeys++] = (uint32_t)(j - i);
        }
        i = j;
    }
    plan_tokens(pl, first);
}

/*
 * Conditions of the top-level AND chain of WHERE that hold for every matching row; counts in
 * pl->inexact the conditions they do not express exactly (the token index's words are
 * necessary, not sufficient; an IN of numbers becomes their range).
 */
static void plan_where(const struct aql_node *n, struct aql_scan_plan *pl)
{
    if (!n) return;
    if (n->kind == AQL_N_AND) {
        plan_where(n->l, pl);
        plan_where(n->r, pl);
        return;
    }
    pl->inexact++; /* taken back below by a condition expressed exactly */
    if (n->kind == AQL_N_TEXT) {
        plan_add_words(pl, n);
        return;
    }
    if (n->kind == AQL_N_LIKE && !n->u.pred.negated && n->l->kind == AQL_N_COL &&
        n->l->u.col == STRM_COL_PAYLOAD) {
        plan_add_like(pl, &n->u.pred.like);
        return;
    }
    if (n->kind == AQL_N_CMP) {
        const struct aql_node *c = n->l, *v = n->r;
        enum aql_cmp_op op = n->u.op;
        if (c->kind != AQL_N_COL) { /* literal OP column: flip */
            c = n->r;
            v = n->l;
            op = op == AQL_OP_LT   ? AQL_OP_GT
                 : op == AQL_OP_LE ? AQL_OP_GE
                 : op == AQL_OP_GT ? AQL_OP_LT
                 : op == AQL_OP_GE ? AQL_OP_LE
                                   : op;
        }
        if (c->kind != AQL_N_COL || v->kind != AQL_N_LIT) return;
        const struct strm_col_def *d = &strm_event_cols[c->u.col];
        bool exact = false;
        if ((d->type == STRM_T_IP || d->type == STRM_T_STR) && op == AQL_OP_EQ &&
            ariel_col_bloomed(c->u.col)) {
            exact = plan_add_keys(pl, c->u.col, &v, 1) &&
                    (v->u.lit.type == AQL_T_IP) == (d->type == STRM_T_IP);
        } else if ((d->type == STRM_T_INT && !d->enum_names) || d->type == STRM_T_TIME) {
            if (v->u.lit.type != AQL_T_INT && v->u.lit.type != AQL_T_TIME) return;
            int64_t x = v->u.lit.u.i;
            switch (op) {
            case AQL_OP_EQ:
                exact = plan_add_range(pl, c->u.col, x, x);
                break;
            case AQL_OP_LT:
                if (x > INT64_MIN) exact = plan_add_range(pl, c->u.col, INT64_MIN, x - 1);
                break;
            case AQL_OP_LE:
                exact = plan_add_range(pl, c->u.col, INT64_MIN, x);
                break;
            case AQL_OP_GT:
                if (x < INT64_MAX) exact = plan_add_range(pl, c->u.col, x + 1, INT64_MAX);
                break;
            case AQL_OP_GE:
                exact = plan_add_range(pl, c->u.col, x, INT64_MAX);
                break;
            default:
                break;
            }
        }
        if (exact) pl->inexact--;
        return;
    }
    if (n->kind == AQL_N_IN && !n->u.pred.negated && n->l->kind == AQL_N_COL) {
        const struct aql_node *lits[AQL_MAX_PRED_KEYS];
        int k = 0;
        int64_t lo = INT64_MAX, hi = INT64_MIN;
        bool all_int = true; /* the range needs every value to be a number */
        for (const struct aql_node *a = n->r; a; a = a->r) {
            if (a->l->kind != AQL_N_LIT || k == AQL_MAX_PRED_KEYS) return;
            lits[k++] = a->l;
            int t = a->l->u.lit.type;
            if (t != AQL_T_INT && t != AQL_T_TIME) {
                all_int = false;
                continue;
            }
            int64_t x = a->l->u.lit.u.i;
            lo = x < lo ? x : lo;
            hi = x > hi ? x : hi;
        }
        int col = n->l->u.col;
        const struct strm_col_def *d = &strm_event_cols[col];
        bool same_type = true; /* every literal of the column's kind (else no exact keys) */
        for (int i = 0; i < k; i++)
            same_type &= (lits[i]->u.lit.type == AQL_T_IP) == (d->type == STRM_T_IP) &&
                         (lits[i]->u.lit.type == AQL_T_STR) == (d->type == STRM_T_STR);
        if ((d->type == STRM_T_IP || d->type == STRM_T_STR) && ariel_col_bloomed(col)) {
            if (plan_add_keys(pl, col, lits, k) && same_type) pl->inexact--;
        } else if (((d->type == STRM_T_INT && !d->enum_names) || d->type == STRM_T_TIME) && k &&
                   all_int) {
            if (plan_add_range(pl, col, lo, hi) && lo == hi) pl->inexact--;
        }
    }
}

/* Adds what a scan reported to the execution's explain counters. */
static void note_skips(const struct ariel_scan_opts *o)
{
    struct aql_exec_ctl *ctl = aql_ctl;
    if (!ctl) return;
    atomic_fetch_add_explicit(&ctl->segments_in_range, o->segments_in_range, memory_order_relaxed);
    atomic_fetch_add_explicit(&ctl->skipped_minmax, o->skipped_minmax, memory_order_relaxed);
    atomic_fetch_add_explicit(&ctl->skipped_index, o->skipped_index, memory_order_relaxed);
    atomic_fetch_add_explicit(&ctl->skipped_order, o->skipped_order, memory_order_relaxed);
    atomic_fetch_add_explicit(&ctl->rows_skipped_index, o->rows_skipped_index,
                              memory_order_relaxed);
    atomic_fetch_add_explicit(&ctl->rows_skipped_minmax, o->rows_skipped_minmax,
                              memory_order_relaxed);
}

#define GUARD_EVERY 4096 /* rows between checks of cancel, deadline and memory */

struct scan_guard {
    ariel_row_fn fn;
    ariel_batch_fn batch_fn;
    ariel_vec_fn vec_fn;
    ariel_distinct_fn distinct_fn;
    void *arg;
    size_t (*mem)(void *);
    struct aql_exec_ctl *ctl;
    uint32_t n;
    int why; /* AQL_ERR_* once stopped */
};

static int guard_check(struct scan_guard *g)
{
    struct aql_exec_ctl *ctl = g->ctl;
    atomic_fetch_add_explicit(&ctl->rows_scanned, g->n, memory_order_relaxed);
    g->n = 0;
    if (atomic_load_explicit(&ctl->cancel, memory_order_relaxed))
        g->why = AQL_ERR_CANCELED;
    else if (ctl->deadline_ms && strm_mono_ms() > ctl->deadline_ms)
        g->why = AQL_ERR_TIMEOUT;
    else if (ctl->max_memory && g->mem && g->mem(g->arg) > ctl->max_memory)
        g->why = AQL_ERR_MEMORY;
    return g->why;
}

static int guard_row(const struct strm_event *ev, void *arg)
{
    struct scan_guard *g = arg;
    if (++g->n == GUARD_EVERY && guard_check(g)) return 3;
    return g->fn(ev, g->arg);
}

int aql_scan(struct ariel_store *store, int64_t tmin, int64_t tmax, uint64_t colmask,
             ariel_row_fn fn, void *arg, size_t (*mem)(void *arg))
{
    struct aql_exec_ctl *ctl = aql_ctl;
    const struct aql_scan_plan *pl = aql_plan;
    struct ariel_scan_opts o = {.tmin = tmin,
                                .tmax = tmax,
                                .colmask = colmask,
                                .preds = pl ? pl->preds : NULL,
                                .npreds = pl ? pl->npreds : 0,
                                .reverse = pl && pl->reverse,
                                .keep_segment = pl ? pl->keep_segment : NULL,
                                .karg = pl ? pl->karg : NULL};
    if (!ctl) {
        o.fn = fn;
        o.arg = arg;
        return ariel_scan_ex(store, &o);
    }
    struct scan_guard g = {.fn = fn, .arg = arg, .mem = mem, .ctl = ctl};
    atomic_fetch_add_explicit(&ctl->rows_total, ariel_estimate_rows(store, tmin, tmax),
                              memory_order_relaxed);
    if (guard_check(&g)) return g.why;
    o.fn = guard_row;
    o.arg = &g;
    int rc = ariel_scan_ex(store, &o);
    note_skips(&o);
    if (!g.why && rc >= 0) guard_check(&g); /* also counts the last rows */
    return g.why ? g.why : rc;
}

static int guard_batch(const struct strm_event *ev, size_t n, void *arg)
{
    struct scan_guard *g = arg;
    g->n += (uint32_t)n;
    if (g->n >= GUARD_EVERY && guard_check(g)) return 3;
    return g->batch_fn(ev, n, g->arg);
}

_Thread_local uint64_t aql_counted;

static int guard_distinct(const struct strm_str *v, size_t n, void *arg)
{
    struct scan_guard *g = arg;
    g->n += (uint32_t)n;
    if (g->n >= GUARD_EVERY && guard_check(g)) return 3;
    return g->distinct_fn(v, n, g->arg);
}

static int guard_vec(const struct ariel_vec *v, void *arg)
{
    struct scan_guard *g = arg;
    g->n += (uint32_t)v->n;
    if (g->n >= GUARD_EVERY && guard_check(g)) return 3;
    return g->vec_fn(v, g->arg);
}

int aql_scan_batch(struct ariel_store *store, int64_t tmin, int64_t tmax, uint64_t colmask,
                   ariel_batch_fn fn, void *arg, size_t (*mem)(void *arg),
                   struct ariel_snapshot *snap, int part, int nparts)
{
    struct aql_exec_ctl *ctl = aql_ctl;
    const struct aql_scan_plan *pl = aql_plan;
    struct ariel_scan_opts o = {.tmin = tmin,
                                .tmax = tmax,
                                .colmask = colmask,
                                .snap = snap,
                                .part = part,
                                .nparts = nparts,
                                .preds = pl ? pl->preds : NULL,
                                .npreds = pl ? pl->npreds : 0,
                                .count_only = pl && pl->count_only};
    if (pl && pl->distinct_fn) o.distinct_col = pl->distinct_col;
    if (pl && pl->vec_fn) {
        o.nvec = pl->nvec;
        o.vec_cols[0] = pl->vec_cols[0];
        o.vec_cols[1] = pl->vec_cols[1];
    }
    aql_counted = 0;
    if (!ctl) {
        o.batch_fn = fn;
        o.vec_fn = pl ? pl->vec_fn : NULL;
        o.distinct_fn = pl ? pl->distinct_fn : NULL;
        o.arg = arg;
        int rc = ariel_scan_ex(store, &o);
        aql_counted = o.counted;
        return rc;
    }
    struct scan_guard g = {.batch_fn = fn, .arg = arg, .mem = mem, .ctl = ctl};
    if (part == 0) /* the estimate covers all parts */
        atomic_fetch_add_explicit(&ctl->rows_total, ariel_estimate_rows(store, tmin, tmax),
                                  memory_order_relaxed);
    if (guard_check(&g)) return g.why;
    o.batch_fn = guard_batch;
    if (pl && pl->vec_fn) {
        g.vec_fn = pl->vec_fn;
        o.vec_fn = guard_vec;
    }
    if (pl && pl->distinct_fn) {
        g.distinct_fn = pl->distinct_fn;
        o.distinct_fn = guard_distinct;
    }
    o.arg = &g;
    int rc = ariel_scan_ex(store, &o);
    aql_counted = o.counted;
    atomic_fetch_add_explicit(&ctl->rows_scanned, o.counted, memory_order_relaxed);
    note_skips(&o);
    if (!g.why && rc >= 0) guard_check(&g);
    return g.why ? g.why : rc;
}

void aql_err_message(int rc, char *buf, size_t size)
{
    const struct aql_exec_ctl *ctl = aql_ctl;
    switch (rc) {
    case AQL_ERR_CANCELED:
        snprintf(buf, size, "search canceled");
        break;
    case AQL_ERR_TIMEOUT:
        snprintf(buf, size,
                 "search stopped after %d s (search.timeout): narrow the time range or "
                 "the WHERE clause",
                 ctl ? ctl->timeout_s : 0);
        break;
    case AQL_ERR_MEMORY:
        snprintf(buf, size,
                 "search needs more than %zu MiB (search.max_memory): narrow the "
                 "WHERE clause or the time range, group by fewer columns, or add a LIMIT",
                 ctl ? ctl->max_memory >> 20 : 0);
        break;
    default:
        snprintf(buf, size, "scan failed: %s", strm_err_str(rc));
        break;
    }
}

static size_t result_mem(const struct aql_result *r)
{
    return r->cap * r->stride * sizeof(struct aql_value) + r->arena.total;
}

struct exec_ctx {
    const struct aql_query *q;
    struct aql_result *res;
    struct aql_value *row; /* scratch: items then keys */
    size_t stride;
    uint64_t count;
    uint64_t seq;
    int err;
    /* heap (ORDER BY + LIMIT) */
    struct slot **heap;
    size_t nheap, heap_cap;
    size_t limit;
};

/* Orders rows by the query's keys, then by arrival (so sorting is stable). */
static int row_cmp(const struct aql_query *q, size_t nitems, const struct aql_value *a,
                   uint64_t aseq, const struct aql_value *b, uint64_t bseq)
{
    for (size_t k = 0; k < q->nkeys; k++) {
        int c = aql_value_cmp(&a[nitems + k], &b[nitems + k]);
        if (c) return q->keys[k].desc ? -c : c;
    }
    return (aseq > bseq) - (aseq < bseq);
}

static void eval_row(struct exec_ctx *c, const struct strm_event *ev)
{
    const struct aql_query *q = c->q;
    for (size_t i = 0; i < q->nitems; i++)
        aql_eval(q->items[i].expr, ev, &c->row[i]);
    for (size_t k = 0; k < q->nkeys; k++)
        aql_eval(q->keys[k].expr, ev, &c->row[q->nitems + k]);
}

static bool row_matches(const struct aql_query *q, const struct strm_event *ev)
{
    return !q->where || aql_eval_cond(q->where, ev) > 0;
}

static int cb_collect(const struct strm_event *ev, void *arg)
{
    struct exec_ctx *c = arg;
    aql_scratch_reset();
    if (!row_matches(c->q, ev)) return 0;
    eval_row(c, ev);
    if (!aql_result_append(c->res, c->row)) {
        c->err = STRM_ERR_NOMEM;
        return 2;
    }
    if (c->q->nkeys == 0 && c->q->limit >= 0 && c->res->nrows >= (uint64_t)c->q->limit)
        return 1; /* enough rows: stop the scan */
    return 0;
}

/* Copies the scratch row into slot s, strings into the slot's own buffer. */
static int slot_fill(struct exec_ctx *c, struct slot *s)
{
    size_t need = 0;
    for (size_t i = 0; i < c->stride; i++)
        if (c->row[i].type == AQL_T_STR) need += c->row[i].u.s.len;
    if (need > s->cap) {
        size_t ncap = s->cap ? s->cap : 64;
        while (ncap < need)
            ncap *= 2;
        char *nb = realloc(s->buf, ncap);
        if (!nb) return STRM_ERR_NOMEM;
        s->buf = nb;
        s->cap = ncap;
    }
    size_t o = 0;
    for (size_t i = 0; i < c->stride; i++) {
        s->vals[i] = c->row[i];
        if (c->row[i].type == AQL_T_STR) {
            memcpy(s->buf + o, c->row[i].u.s.p, c->row[i].u.s.len);
            s->vals[i].u.s.p = s->buf + o;
            o += c->row[i].u.s.len;
        }
    }
    s->seq = c->seq;
    return 0;
}

/* Max-heap on row_cmp: the root is the worst row kept. */
static bool heap_less(struct exec_ctx *c, const struct slot *a, const struct slot *b)
{
    return row_cmp(c->q, c->q->nitems, a->vals, a->seq, b->vals, b->seq) < 0;
}

static void heap_up(struct exec_ctx *c, size_t i)
{
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!heap_less(c, c->heap[parent], c->heap[i])) break;
        struct slot *t = c->heap[parent];
        c->heap[parent] = c->heap[i];
        c->heap[i] = t;
        i = parent;
    }
}

static void heap_down(struct exec_ctx *c, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, big = i;
        if (l < c->nheap && heap_less(c, c->heap[big], c->heap[l])) big = l;
        if (r < c->nheap && heap_less(c, c->heap[big], c->heap[r])) big = r;
        if (big == i) return;
        struct slot *t = c->heap[big];
        c->heap[big] = c->heap[i];
        c->heap[i] = t;
        i = big;
    }
}

/*
 * ORDER BY starttime [ASC|DESC] LIMIT n: once n rows are kept, a segment whose time range
 * cannot beat the worst of them is not read (with DESC the scan goes newest first, so the
 * latest events of a big store cost a segment or two, not the whole window).
 */
static bool topn_keep_segment(int64_t min_time, int64_t max_time, void *karg)
{
    const struct exec_ctx *c = karg;
    if (c->nheap < c->limit || c->limit == 0) return true;
    const struct aql_value *w = &c->heap[0]->vals[c->q->nitems]; /* the worst kept key */
    if (w->type != AQL_T_TIME && w->type != AQL_T_INT) return true;
    return c->q->keys[0].desc ? max_time >= w->u.i : min_time <= w->u.i;
}

static int cb_topn(const struct strm_event *ev, void *arg)
{
    struct exec_ctx *c = arg;
    aql_scratch_reset();
    if (!row_matches(c->q, ev)) return 0;
    c->seq++;
    const struct aql_query *q = c->q;
    /* Keys first: most rows lose against the current worst and are never copied. */
    for (size_t k = 0; k < q->nkeys; k++)
        aql_eval(q->keys[k].expr, ev, &c->row[q->nitems + k]);
    if (c->nheap == c->limit) {
        const struct slot *top = c->heap[0];
        if (row_cmp(q, q->nitems, c->row, c->seq, top->vals, top->seq) >= 0) return 0;
    }
    for (size_t i = 0; i < q->nitems; i++)
        aql_eval(q->items[i].expr, ev, &c->row[i]);
    if (c->nheap < c->limit) {
        if (c->nheap == c->heap_cap) {
            size_t ncap = c->heap_cap ? c->heap_cap * 2 : 64;
            if (ncap > c->limit) ncap = c->limit;
            struct slot **nh = realloc(c->heap, ncap * sizeof *nh);
            if (!nh) goto nomem;
            c->heap = nh;
            c->heap_cap = ncap;
        }
        struct slot *s = calloc(1, sizeof *s + c->stride * sizeof(struct aql_value));
        if (!s) goto nomem;
        s->vals = (struct aql_value *)(s + 1);
        if (slot_fill(c, s) != 0) {
            free(s);
            goto nomem;
        }
        c->heap[c->nheap++] = s;
        heap_up(c, c->nheap - 1);
        return 0;
    }
    if (slot_fill(c, c->heap[0]) != 0) goto nomem;
    heap_down(c, 0);
    return 0;
nomem:
    c->err = STRM_ERR_NOMEM;
    return 2;
}

struct sort_arg {
    const struct aql_query *q;
    const struct aql_value *cells;
    size_t stride;
};

static int cmp_index(const void *pa, const void *pb, void *arg)
{
    const struct sort_arg *sa = arg;
    size_t a = *(const size_t *)pa, b = *(const size_t *)pb;
    return row_cmp(sa->q, sa->q->nitems, sa->cells + a * sa->stride, a, sa->cells + b * sa->stride,
                   b);
}

static int cmp_slot(const void *pa, const void *pb, void *arg)
{
    const struct aql_query *q = arg;
    const struct slot *a = *(struct slot *const *)pa, *b = *(struct slot *const *)pb;
    return row_cmp(q, q->nitems, a->vals, a->seq, b->vals, b->seq);
}

/* Sorts the materialized rows of r by the query's keys; ties keep scan order. */
static int sort_result(const struct aql_query *q, struct aql_result *r)
{
    if (r->nrows < 2) return 0;
    size_t *idx = malloc(r->nrows * sizeof *idx);
    struct aql_value *sorted = malloc(r->nrows * r->stride * sizeof *sorted);
    if (!idx || !sorted) {
        free(idx);
        free(sorted);
        return STRM_ERR_NOMEM;
    }
    for (size_t i = 0; i < r->nrows; i++)
        idx[i] = i;
    struct sort_arg sa = {q, r->cells, r->stride};
    qsort_r(idx, r->nrows, sizeof *idx, cmp_index, &sa);
    for (size_t i = 0; i < r->nrows; i++)
        memcpy(sorted + i * r->stride, r->cells + idx[i] * r->stride, r->stride * sizeof *sorted);
    free(idx);
    free(r->cells);
    r->cells = sorted;
    r->cap = r->nrows;
    return 0;
}

static void heap_free(struct exec_ctx *c)
{
    for (size_t i = 0; i < c->nheap; i++) {
        free(c->heap[i]->buf);
        free(c->heap[i]);
    }
    free(c->heap);
    c->heap = NULL;
    c->nheap = 0;
}

/* Narrows [*tmin, *tmax] by top-level AND-ed comparisons of starttime with a literal. */
static void narrow_window(const struct aql_node *n, int64_t *tmin, int64_t *tmax)
{
    if (!n) return;
    if (n->kind == AQL_N_AND) {
        narrow_window(n->l, tmin, tmax);
        narrow_window(n->r, tmin, tmax);
        return;
    }
    if (n->kind != AQL_N_CMP) return;
    const struct aql_node *l = n->l, *r = n->r;
    enum aql_cmp_op op = n->u.op;
    if (r->kind == AQL_N_COL && l->kind == AQL_N_LIT) {
        const struct aql_node *t = l;
        l = r;
        r = t;
        static const enum aql_cmp_op flip[] = {
            [AQL_OP_EQ] = AQL_OP_EQ, [AQL_OP_NE] = AQL_OP_NE, [AQL_OP_LT] = AQL_OP_GT,
            [AQL_OP_LE] = AQL_OP_GE, [AQL_OP_GT] = AQL_OP_LT, [AQL_OP_GE] = AQL_OP_LE,
        };
        op = flip[op];
    }
    if (l->kind != AQL_N_COL || l->u.col != STRM_COL_STARTTIME || r->kind != AQL_N_LIT ||
        r->u.lit.type == AQL_T_STR || r->u.lit.type == AQL_T_NULL)
        return;
    int64_t v = r->u.lit.u.i;
    switch (op) {
    case AQL_OP_EQ:
        if (v > *tmin) *tmin = v;
        if (v < *tmax) *tmax = v;
        break;
    case AQL_OP_GT:
        if (v == INT64_MAX)
            *tmax = INT64_MIN; /* nothing */
        else if (v + 1 > *tmin)
            *tmin = v + 1;
        break;
    case AQL_OP_GE:
        if (v > *tmin) *tmin = v;
        break;
    case AQL_OP_LT:
        if (v == INT64_MIN)
            *tmax = INT64_MIN;
        else if (v - 1 < *tmax)
            *tmax = v - 1;
        break;
    case AQL_OP_LE:
        if (v < *tmax) *tmax = v;
        break;
    case AQL_OP_NE:
        break;
    }
}

static int exec_fail(struct aql_error *err, int rc, const char *what)
{
    if (err) {
        err->pos = 0;
        snprintf(err->msg, sizeof err->msg, "%s: %s", what, strm_err_str(rc));
    }
    return rc;
}

static int cmp_cells(const void *a, const void *b)
{
    return aql_value_cmp(a, b);
}

static int exec_query(const struct aql_query *q, const struct aql_stores *st, int64_t now_ms,
                      const int64_t *outer_window, struct aql_result **out, struct aql_error *err);

static size_t collect_mem(void *arg)
{
    const struct exec_ctx *c = arg;
    return result_mem(c->res);
}

struct part_job {
    void *ctx;
    struct ariel_store *store;
    struct ariel_snapshot *snap;
    int part, nparts;
    int64_t tmin, tmax, now;
    uint64_t colmask;
    struct aql_exec_ctl *ctl;
    const struct aql_scan_plan *plan;
    ariel_batch_fn fn;
    size_t (*mem)(void *);
    void (*after)(void *ctx, int rc, uint64_t counted);
    int rc;
    pthread_t thread;
};

static void *part_main(void *arg)
{
    struct part_job *j = arg;
    aql_ctl = j->ctl;
    aql_plan = j->plan;
    aql_now_ms = j->now;
    j->rc = aql_scan_batch(j->store, j->tmin, j->tmax, j->colmask, j->fn, j->ctx, j->mem, j->snap,
                           j->part, j->nparts);
    if (j->after) j->after(j->ctx, j->rc, aql_counted);
    aql_scratch_reset();
    return NULL;
}

int aql_run_parts(struct ariel_store *store, int nparts, int64_t tmin, int64_t tmax,
                  uint64_t colmask, ariel_batch_fn fn, void *const *ctx, size_t (*mem)(void *),
                  void (*after)(void *ctx, int rc, uint64_t counted), bool (*skip)(void *ctx),
                  int *rc)
{
    struct part_job *jobs = calloc((size_t)nparts, sizeof *jobs);
    struct ariel_snapshot *snap = jobs ? ariel_snapshot_take(store) : NULL;
    if (!snap) {
        free(jobs);
        return STRM_ERR_NOMEM;
    }
    for (int k = 0; k < nparts; k++)
        jobs[k] = (struct part_job){.ctx = ctx[k],
                                    .store = store,
                                    .snap = snap,
                                    .part = k,
                                    .nparts = nparts,
                                    .tmin = tmin,
                                    .tmax = tmax,
                                    .now = aql_now_ms,
                                    .colmask = colmask,
                                    .ctl = aql_ctl,
                                    .plan = aql_plan,
                                    .fn = fn,
                                    .mem = mem,
                                    .after = after};
    int started = 1;
    for (; started < nparts; started++)
        if ((skip && skip(ctx[started])) ||
            pthread_create(&jobs[started].thread, NULL, part_main, &jobs[started]) != 0)
            break;
    for (int k = started; k < nparts; k++) /* no thread: scanned here */
        if (!skip || !skip(ctx[k])) part_main(&jobs[k]);
    part_main(&jobs[0]);
    for (int k = 1; k < started; k++)
        pthread_join(jobs[k].thread, NULL);
    for (int k = 0; k < nparts; k++)
        rc[k] = jobs[k].rc;
    ariel_snapshot_release(snap);
    free(jobs);
    return 0;
}

static int cb_collect_batch(const struct strm_event *ev, size_t n, void *arg)
{
    for (size_t i = 0; i < n; i++) {
        int rc = cb_collect(&ev[i], arg);
        if (rc) return rc;
    }
    return 0;
}

static bool collect_skip(void *ctx)
{
    return ((struct exec_ctx *)ctx)->err != 0; /* no memory for its result */
}

/*
 * The rows of a search without aggregates or LIMIT, in nparts parallel parts of one snapshot
 * (each into a result of its own, the later ones then appended to c's in part order, which
 * is the order one scan gives). Returns the first part's error, or 0.
 */
static int collect_parallel(struct ariel_store *store, int64_t tmin, int64_t tmax, uint64_t colmask,
                            struct exec_ctx *c, int nparts)
{
    const struct aql_query *q = c->q;
    struct exec_ctx *more = calloc((size_t)nparts, sizeof *more);
    void **ctx = calloc((size_t)nparts, sizeof *ctx);
    int *prc = calloc((size_t)nparts, sizeof *prc);
    int rc = 0;
    if (!more || !ctx || !prc) {
        rc = STRM_ERR_NOMEM;
        goto out;
    }
    ctx[0] = c;
    for (int k = 1; k < nparts; k++) {
        struct exec_ctx *pc = &more[k];
        *pc = (struct exec_ctx){.q = q, .stride = c->stride};
        pc->res = aql_result_new(q, c->stride);
        pc->row = calloc(c->stride ? c->stride : 1, sizeof *pc->row);
        if (!pc->res || !pc->row) pc->err = STRM_ERR_NOMEM;
        ctx[k] = pc;
    }
    if ((rc = aql_run_parts(store, nparts, tmin, tmax, colmask, cb_collect_batch, ctx, collect_mem,
                            NULL, collect_skip, prc)) != 0)
        goto out;
    for (int k = 0; k < nparts && rc == 0; k++) {
        struct exec_ctx *pc = ctx[k];
        if (pc->err) c->err = pc->err;
        if (pc->err || prc[k] < 0) rc = pc->err ? pc->err : prc[k];
    }
    for (int k = 1; k < nparts; k++) { /* the later parts' rows, in part order */
        struct aql_result *pr = more[k].res;
        for (size_t i = 0; rc == 0 && pr && i < pr->nrows; i++)
            if (!aql_result_append(c->res, pr->cells + i * pr->stride)) {
                c->err = STRM_ERR_NOMEM;
                rc = STRM_ERR_NOMEM;
            }
    }
out:
    for (int k = 1; more && k < nparts; k++) {
        aql_result_free(more[k].res);
        free(more[k].row);
    }
    free(more);
    free(ctx);
    free(prc);
    if (rc == STRM_ERR_NOMEM && !c->err) /* no snapshot or no room: one scan instead */
        return aql_scan(store, tmin, tmax, colmask, cb_collect, c, collect_mem);
    return rc;
}

/* A scan that stopped: the engine's own reasons say why, other errors say what failed. */
static int scan_fail(struct aql_error *err, int rc)
{
    if (err) {
        err->pos = 0;
        if (rc == STRM_ERR_NOMEM)
            snprintf(err->msg, sizeof err->msg, "query: %s", strm_err_str(rc));
        else
            aql_err_message(rc, err->msg, sizeof err->msg);
    }
    return rc;
}

/*
 * Runs each IN (SELECT ...) of q and keeps its distinct values, sorted, in the node, so the
 * scan's test is a binary search. A subquery without a time clause uses q's window.
 */
static int run_subqueries(const struct aql_query *q, const struct aql_stores *st, int64_t now_ms,
                          const int64_t window[2], struct aql_error *err)
{
    for (size_t i = 0; i < q->nsubs; i++) {
        struct aql_node *n = q->subs[i];
        struct aql_result *r = NULL;
        int rc = exec_query(n->u.sub.q, st, now_ms, window, &r, err);
        if (rc) return rc;
        aql_now_ms = now_ms;
        /* column 0 of each row, sorted and distinct; nulls never match */
        size_t k = 0;
        for (size_t j = 0; j < r->nrows; j++) {
            struct aql_value *v = &r->cells[j * r->stride];
            if (v->type != AQL_T_NULL) r->cells[k++ * r->stride] = *v;
        }
        r->nrows = k;
        if (r->stride != 1) {
            for (size_t j = 0; j < k; j++)
                r->cells[j] = r->cells[j * r->stride];
            r->stride = 1;
        }
        if (k > 1) qsort(r->cells, k, sizeof *r->cells, cmp_cells);
        size_t m = 0;
        for (size_t j = 0; j < k; j++)
            if (m == 0 || aql_value_cmp(&r->cells[m - 1], &r->cells[j]) != 0)
                r->cells[m++] = r->cells[j];
        r->nrows = m;
        aql_result_free(n->u.sub.vals);
        n->u.sub.vals = r;
    }
    return 0;
}

bool aql_query_matches(const struct aql_query *q, const struct strm_event *ev)
{
    aql_scratch_reset();
    return !q->where || aql_eval_cond(q->where, ev) > 0;
}

int aql_execute(const struct aql_query *q, struct ariel_store *store, int64_t now_ms,
                struct aql_result **out, struct aql_error *err)
{
    struct aql_stores st = {0};
    if (q && q->table == STRM_TABLE_FLOWS)
        st.flows = store;
    else
        st.events = store;
    return aql_execute_in(q, &st, now_ms, out, err);
}

int aql_execute_in(const struct aql_query *q, const struct aql_stores *st, int64_t now_ms,
                   struct aql_result **out, struct aql_error *err)
{
    return exec_query(q, st, now_ms, NULL, out, err);
}

/* ---------------------------------------------------------------- streaming */

struct stream_ctx {
    const struct aql_query *q;
    const struct aql_result *shape; /* names and root for the writers; holds no rows */
    struct aql_value *row;
    enum aql_format fmt;
    FILE *out;
    uint64_t n;
};

static int cb_stream(const struct strm_event *ev, void *arg)
{
    struct stream_ctx *c = arg;
    aql_scratch_reset();
    if (!row_matches(c->q, ev)) return 0;
    for (size_t i = 0; i < c->q->nitems; i++)
        aql_eval(c->q->items[i].expr, ev, &c->row[i]);
    aql_stream_row(c->shape, c->row, c->n++, c->fmt, c->out);
    if (ferror(c->out)) return 2; /* the reader went away */
    return c->q->limit >= 0 && c->n >= (uint64_t)c->q->limit ? 1 : 0;
}

bool aql_query_streams(const struct aql_query *q, enum aql_format fmt)
{
    return fmt != AQL_FORMAT_TABLE && !q->aggregate && q->nkeys == 0;
}

/* The store of the query's table, or NULL with the error said. */
static struct ariel_store *table_store(const struct aql_query *q, const struct aql_stores *st,
                                       struct aql_error *err)
{
    struct ariel_store *store = q->table == STRM_TABLE_FLOWS ? st->flows : st->events;
    if (!store && err)
        snprintf(err->msg, sizeof err->msg, "the %s table is not available here",
                 q->table == STRM_TABLE_FLOWS ? "flows" : "events");
    return store;
}

int aql_execute_stream(const struct aql_query *q, const struct aql_stores *st, int64_t now_ms,
                       struct aql_exec_ctl *ctl, enum aql_format fmt, FILE *out, uint64_t *rows,
                       struct aql_error *err)
{
    if (err) {
        err->pos = 0;
        err->msg[0] = '\0';
    }
    if (!aql_query_streams(q, fmt)) { /* sorted, grouped or a table: whole, then written */
        struct aql_result *r = NULL;
        int rc = aql_execute_ctl(q, st, now_ms, ctl, &r, err);
        if (rc == 0) {
            if (rows) *rows = aql_result_rows(r);
            rc = aql_result_write(r, fmt, out);
        }
        aql_result_free(r);
        return rc;
    }
    struct ariel_store *store = table_store(q, st, err);
    if (!store) return STRM_ERR_INVAL;
    struct aql_exec_ctl *saved = aql_ctl;
    const struct aql_scan_plan *saved_plan = aql_plan;
    aql_ctl = ctl;
    aql_now_ms = now_ms;
    if (ctl) atomic_store(&ctl->phase, AQL_PHASE_EXECUTE);
    int64_t window = q->last_ms >= 0 ? q->last_ms : AQL_DEFAULT_WINDOW_MS;
    int64_t tmin = now_ms < INT64_MIN + window ? INT64_MIN : now_ms - window;
    int64_t tmax = INT64_MAX;
    if (q->has_start) {
        tmin = q->start_ms;
        tmax = q->has_stop ? q->stop_ms : INT64_MAX;
    }
    int rc = 0;
    if (q->nsubs) {
        int64_t w[2] = {tmin, tmax};
        rc = run_subqueries(q, st, now_ms, w, err);
    }
    struct aql_result *shape = rc ? NULL : aql_result_new(q, q->nitems);
    struct aql_value *row = calloc(q->nitems ? q->nitems : 1, sizeof *row);
    struct aql_scan_plan plan = {0};
    if (rc == 0 && (!shape || !row)) rc = exec_fail(err, STRM_ERR_NOMEM, "query");
    if (rc == 0) {
        narrow_window(q->where, &tmin, &tmax);
        plan_where(q->where, &plan);
        aql_plan = &plan;
        struct stream_ctx c = {.q = q, .shape = shape, .row = row, .fmt = fmt, .out = out};
        aql_stream_begin(shape, fmt, out);
        if (q->limit != 0 && tmin <= tmax)
            rc = aql_scan(store, tmin, tmax, q->colmask | (1ull << STRM_COL_STARTTIME), cb_stream,
                          &c, NULL);
        if (rc == 2 || rc == 1) rc = 0; /* stopped: the reader left, or LIMIT reached */
        aql_stream_end(shape, c.n, fmt, out);
        if (rows) *rows = c.n;
        if (rc < 0) rc = scan_fail(err, rc);
    }
    free(row);
    aql_result_free(shape);
    if (ctl) atomic_store(&ctl->phase, AQL_PHASE_DONE);
    aql_plan = saved_plan;
    aql_ctl = saved;
    return rc;
}

int aql_execute_ctl(const struct aql_query *q, const struct aql_stores *st, int64_t now_ms,
                    struct aql_exec_ctl *ctl, struct aql_result **out, struct aql_error *err)
{
    struct aql_exec_ctl *saved = aql_ctl;
    aql_ctl = ctl;
    if (ctl) atomic_store(&ctl->phase, AQL_PHASE_EXECUTE);
    int rc = exec_query(q, st, now_ms, NULL, out, err);
    if (ctl) atomic_store(&ctl->phase, AQL_PHASE_DONE);
    aql_ctl = saved;
    return rc;
}

static int exec_query(const struct aql_query *q, const struct aql_stores *st, int64_t now_ms,
                      const int64_t *outer_window, struct aql_result **out, struct aql_error *err)
{
    *out = NULL;
    if (err) {
        err->pos = 0;
        err->msg[0] = '\0';
    }
    if (!q || !st) return exec_fail(err, STRM_ERR_INVAL, "query");
    struct ariel_store *store = table_store(q, st, err);
    if (!store) return STRM_ERR_INVAL;
    aql_now_ms = now_ms;
    int64_t window = q->last_ms >= 0 ? q->last_ms : AQL_DEFAULT_WINDOW_MS;
    int64_t tmin = now_ms < INT64_MIN + window ? INT64_MIN : now_ms - window;
    int64_t tmax = INT64_MAX; /* include rows stamped slightly in the future */
    if (q->has_start) {
        tmin = q->start_ms;
        tmax = q->has_stop ? q->stop_ms : INT64_MAX;
    } else if (outer_window && q->last_ms < 0) {
        tmin = outer_window[0];
        tmax = outer_window[1];
    }
    if (q->nsubs) {
        int64_t w[2] = {tmin, tmax};
        int src = run_subqueries(q, st, now_ms, w, err);
        if (src) return src;
    }
    narrow_window(q->where, &tmin, &tmax);
    uint64_t colmask = q->colmask | (1ull << STRM_COL_STARTTIME);
    struct aql_scan_plan plan = {0};
    plan_where(q->where, &plan);
    const struct aql_scan_plan *saved_plan = aql_plan;
    aql_plan = &plan;
    if (aql_ctl)
        atomic_fetch_add_explicit(&aql_ctl->preds, (uint32_t)plan.npreds, memory_order_relaxed);

    size_t stride = q->nitems + q->nkeys;
    struct aql_result *r = aql_result_new(q, stride);
    struct aql_value *row = calloc(stride ? stride : 1, sizeof *row);
    struct exec_ctx c = {.q = q, .res = r, .row = row, .stride = stride};
    int rc = 0;
    if (!r || !row) {
        rc = exec_fail(err, STRM_ERR_NOMEM, "query");
        goto fail;
    }
    bool empty_window = tmin > tmax;
    if (q->aggregate) {
        if ((rc = aql_exec_grouped(q, store, tmin, tmax, colmask, r, err)) != 0) goto fail;
    } else if (q->nkeys > 0 && q->limit >= 0) {
        c.limit = (size_t)q->limit;
        if (q->keys[0].expr->kind == AQL_N_COL && q->keys[0].expr->u.col == STRM_COL_STARTTIME) {
            plan.reverse = q->keys[0].desc;
            plan.keep_segment = topn_keep_segment;
            plan.karg = &c;
        }
        if (c.limit > 0 && !empty_window)
            rc = aql_scan(store, tmin, tmax, colmask, cb_topn, &c, NULL);
        if (rc < 0 || c.err) {
            rc = scan_fail(err, c.err ? c.err : rc);
            goto fail;
        }
        if (c.nheap > 1) qsort_r(c.heap, c.nheap, sizeof *c.heap, cmp_slot, (void *)q);
        for (size_t i = 0; i < c.nheap; i++)
            if (!aql_result_append(r, c.heap[i]->vals)) {
                rc = exec_fail(err, STRM_ERR_NOMEM, "query");
                goto fail;
            }
    } else {
        int nparts = q->limit < 0 && !empty_window ? aql_parts(store, tmin, tmax) : 1;
        if (nparts > 1)
            rc = collect_parallel(store, tmin, tmax, colmask, &c, nparts);
        else if (q->limit != 0 && !empty_window)
            rc = aql_scan(store, tmin, tmax, colmask, cb_collect, &c, collect_mem);
        if (rc < 0 || c.err) {
            rc = scan_fail(err, c.err ? c.err : rc);
            goto fail;
        }
        if (aql_ctl) atomic_store(&aql_ctl->phase, AQL_PHASE_SORTING);
        if (q->nkeys > 0 && (rc = sort_result(q, r)) != 0) {
            rc = exec_fail(err, rc, "query");
            goto fail;
        }
    }
    heap_free(&c);
    free(row);
    aql_plan = saved_plan;
    *out = r;
    return 0;
fail:
    heap_free(&c);
    free(row);
    aql_result_free(r);
    aql_plan = saved_plan;
    return rc ? rc : STRM_ERR_NOMEM;
}
