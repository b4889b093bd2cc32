/*
 * parser.c - AQL text to a typed, planned query (struct aql_query).
 *
 * Structure: recursive descent for the clauses (SELECT ... FROM ... WHERE ... ORDER BY ...
 * LIMIT ... LAST ...) and a Pratt (precedence-climbing) parser for expressions. Binding
 * powers, lowest first:
 *
 *     OR 10 < AND 20 < NOT (prefix) 30 < comparison, LIKE, ILIKE, NOT LIKE, IS NULL 40
 *        < + - 50 < * / % 60 < unary minus 70
 *
 * so NOT binds tighter than AND, AND tighter than OR, and `NOT a = 1` is `NOT (a = 1)`.
 * IN, BETWEEN (rewritten to >= AND <=) and MATCHES/IMATCHES sit at 40, arithmetic at 50/60.
 * Aggregates (SUM(x), COUNT(*), ...) become AGG nodes, each registered in q->aggs; HAVING
 * resolves SELECT aliases to ITEMREF nodes. Regexes (MATCHES, REPLACEALL) are compiled once
 * here and freed with the query. A name followed by '(' is a function call
 * (parse_function): COUNT(*) or a row of func.c's table, whose arguments hang off the call
 * node as a list of ARG nodes (l = expression, r = next), so every walk over l/r (column
 * mask, COUNT checks) sees them without knowing about calls.
 *
 * Typing happens while the tree is built: every node gets its static type, and a comparison
 * between a column and a literal converts the literal to the column's type at plan time
 * (an IP column with '10.0.0.1', a time column with 1700000000000 or '2026-11-25 22:19',
 * a string column with 42 compares against the text '42'); a literal that does not convert
 * is an error pointing at the literal. Evaluation therefore never meets a type error.
 *
 * Memory: everything the parser allocates lives in q->arena; on any error the whole query
 * is freed in one step, so no input can leak. Recursion depth is bounded (AQL_MAX_DEPTH),
 * so no input can overflow the stack.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "aql/aql_int.h"

#define AQL_MAX_DEPTH 200
#define AQL_MAX_KEYS 32

enum {
    BP_OR = 10,
    BP_AND = 20,
    BP_NOT = 30,
    BP_CMP = 40,
    BP_ADD = 50,
    BP_MUL = 60,
    BP_UNARY = 70,
};

struct parser {
    struct aql_lexer lx;
    struct aql_tok tok; /* the current, not yet consumed token */
    size_t prev_end;    /* byte after the last consumed token */
    struct aql_error *err;
    struct aql_query *q;
    int depth;
    size_t aggs_cap;
    bool in_agg;     /* inside an aggregate's argument */
    bool in_having;  /* SELECT aliases are names too */
    ssize_t star_at; /* SELECT *: item index where the table's columns go, -1 if none */
    int sub_depth;   /* subqueries being parsed around the current point */
    size_t star_pos;
};

static int next(struct parser *p)
{
    p->prev_end = p->tok.pos + p->tok.len;
    return aql_lex_next(&p->lx, &p->tok, p->err);
}

__attribute__((format(printf, 3, 4))) static int fail_at(struct parser *p, size_t pos,
                                                         const char *fmt, ...)
{
    char what[190];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    char where[56];
    aql_where(p->lx.src, p->lx.len, pos, where, sizeof where);
    p->err->pos = pos;
    snprintf(p->err->msg, sizeof p->err->msg, "%s at %s", what, where);
    return STRM_ERR_PARSE;
}

static int fail_expected(struct parser *p, const char *what)
{
    char found[64];
    aql_tok_describe(&p->tok, p->lx.src, found, sizeof found);
    char where[64];
    aql_where(p->lx.src, p->lx.len, p->tok.pos, where, sizeof where);
    p->err->pos = p->tok.pos;
    snprintf(p->err->msg, sizeof p->err->msg, "expected %s at %s, found %s", what, where, found);
    return STRM_ERR_PARSE;
}

static int expect_kw(struct parser *p, const char *kw)
{
    if (!aql_tok_is_kw(&p->tok, kw)) return fail_expected(p, kw);
    return next(p);
}

static bool accept_kw(struct parser *p, const char *kw, int *rc)
{
    if (!aql_tok_is_kw(&p->tok, kw)) return false;
    *rc = next(p);
    return true;
}

static struct aql_node *node_new(struct parser *p, enum aql_node_kind kind, size_t pos)
{
    struct aql_node *n = strm_arena_alloc(&p->q->arena, sizeof *n);
    if (!n) return NULL;
    memset(n, 0, sizeof *n);
    n->kind = kind;
    n->pos = pos;
    n->end = p->prev_end;
    return n;
}

static const char *type_name(enum aql_type t)
{
    switch (t) {
    case AQL_T_NULL:
        return "null";
    case AQL_T_BOOL:
        return "a condition";
    case AQL_T_INT:
        return "a number";
    case AQL_T_TIME:
        return "a time";
    case AQL_T_STR:
        return "a string";
    case AQL_T_IP:
        return "an IP address";
    case AQL_T_MAC:
        return "a MAC address";
    case AQL_T_DOUBLE:
        return "a number";
    }
    return "?";
}

/* Words that end an expression or start a clause: never column names. */
static bool is_reserved(const struct aql_tok *t)
{
    static const char *const kw[] = {
        "SELECT", "FROM",    "WHERE",   "GROUP",    "HAVING", "ORDER",      "BY",
        "LIMIT",  "LAST",    "START",   "STOP",     "AND",    "OR",         "NOT",
        "LIKE",   "ILIKE",   "AS",      "ASC",      "DESC",   "IS",         "NULL",
        "IN",     "BETWEEN", "MATCHES", "IMATCHES", "INTO",   "PARAMETERS", "TEXT",
    };
    for (size_t i = 0; i < sizeof kw / sizeof kw[0]; i++)
        if (aql_tok_is_kw(t, kw[i])) return true;
    return false;
}

/* ---------------------------------------------------------------- literal conversion */

static bool parse_int_text(const char *s, size_t len, int64_t *out)
{
    size_t i = 0;
    bool neg = false;
    if (i < len && (s[i] == '-' || s[i] == '+')) neg = s[i++] == '-';
    if (i == len) return false;
    uint64_t v = 0;
    for (; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') return false;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > ((uint64_t)INT64_MAX - d) / 10) return false;
        v = v * 10 + d;
    }
    *out = neg ? -(int64_t)v : (int64_t)v;
    return true;
}

/* Converts literal n to type want. Returns 0 when converted, 1 when not applicable, or an
 * error (with the message set) when the literal's text is not a valid value of that type. */
static int lit_convert(struct parser *p, struct aql_node *n, enum aql_type want)
{
    struct aql_value *v = &n->u.lit;
    if (v->type == AQL_T_STR) {
        const char *s = v->u.s.p ? v->u.s.p : "";
        size_t len = v->u.s.len;
        switch (want) {
        case AQL_T_IP: {
            struct strm_ip ip;
            if (strm_ip_parse(&ip, s, len) != 0)
                return fail_at(p, n->pos, "'%.*s' is not an IP address", (int)(len > 64 ? 64 : len),
                               s);
            v->u.ip = ip;
            break;
        }
        case AQL_T_MAC: {
            uint8_t mac[6];
            if (aql_mac_parse(s, len, mac) != 0)
                return fail_at(p, n->pos, "'%.*s' is not a MAC address", (int)(len > 64 ? 64 : len),
                               s);
            memcpy(v->u.mac, mac, 6);
            break;
        }
        case AQL_T_INT: {
            int64_t i;
            if (!parse_int_text(s, len, &i))
                return fail_at(p, n->pos, "'%.*s' is not a number", (int)(len > 64 ? 64 : len), s);
            v->u.i = i;
            break;
        }
        case AQL_T_TIME: {
            int64_t i;
            if (!parse_int_text(s, len, &i) && aql_time_parse(s, len, &i) != 0)
                return fail_at(p, n->pos,
                               "'%.*s' is not a time (expected ms since the epoch or "
                               "'YYYY-MM-DD HH:MM:SS')",
                               (int)(len > 64 ? 64 : len), s);
            v->u.i = i;
            break;
        }
        default:
            return 1;
        }
    } else if (v->type == AQL_T_INT && want == AQL_T_STR) {
        char buf[32];
        int len = snprintf(buf, sizeof buf, "%lld", (long long)v->u.i);
        v->u.s = strm_arena_strdup(&p->q->arena, buf, (size_t)len);
        if (!v->u.s.p) return STRM_ERR_NOMEM;
    } else if (v->type == AQL_T_INT && want == AQL_T_TIME) {
        /* a number is already ms */
    } else {
        return 1;
    }
    v->type = want;
    n->type = want;
    return 0;
}

static bool types_compatible(enum aql_type a, enum aql_type b)
{
    if (a == b) return true;
    bool ai = a == AQL_T_INT || a == AQL_T_TIME || a == AQL_T_DOUBLE,
         bi = b == AQL_T_INT || b == AQL_T_TIME || b == AQL_T_DOUBLE;
    return ai && bi;
}

static int check_comparable(struct parser *p, struct aql_node *l, struct aql_node *r, size_t oppos)
{
    if (l->type == AQL_T_BOOL || r->type == AQL_T_BOOL)
        return fail_at(p, oppos, "cannot compare a condition");
    if (types_compatible(l->type, r->type)) return 0;
    int rc = 1;
    if (r->kind == AQL_N_LIT) rc = lit_convert(p, r, l->type);
    if (rc == 1 && l->kind == AQL_N_LIT) rc = lit_convert(p, l, r->type);
    if (rc == 1)
        return fail_at(p, oppos, "cannot compare %s with %s", type_name(l->type),
                       type_name(r->type));
    return rc;
}

static int need_cond(struct parser *p, const struct aql_node *n, const char *ctx)
{
    if (n->type != AQL_T_BOOL)
        return fail_at(p, n->pos, "%s needs a condition, found %s", ctx, type_name(n->type));
    return 0;
}

/* ---------------------------------------------------------------- expressions */

static int parse_expr(struct parser *p, int min_bp, struct aql_node **out);
static int parse_incidr(struct parser *p, const struct aql_tok *name, struct aql_node **out);

static int push_agg(struct parser *p, struct aql_node *n)
{
    struct aql_query *q = p->q;
    if (q->naggs == p->aggs_cap) {
        size_t ncap = p->aggs_cap ? p->aggs_cap * 2 : 8;
        struct aql_node **na = strm_arena_alloc(&q->arena, ncap * sizeof *na);
        if (!na) return STRM_ERR_NOMEM;
        if (q->naggs) memcpy(na, q->aggs, q->naggs * sizeof *na);
        q->aggs = na;
        p->aggs_cap = ncap;
    }
    n->u.agg.idx = q->naggs;
    q->aggs[q->naggs++] = n;
    return 0;
}

/* COUNT(*) | COUNT(expr) | SUM(expr) | ...: an aggregate over the rows of a group. */
static int parse_agg(struct parser *p, const struct aql_tok *name, enum aql_agg fn,
                     struct aql_node **out)
{
    /* current token is '(' */
    if (p->in_agg) return fail_at(p, name->pos, "aggregates cannot be nested");
    int rc = next(p);
    if (rc) return rc;
    struct aql_node *arg = NULL;
    if (p->tok.kind == AQL_TOK_STAR) {
        if (fn != AQL_AGG_COUNT) return fail_at(p, p->tok.pos, "only COUNT takes '*'");
        if ((rc = next(p)) != 0) return rc;
    } else {
        p->in_agg = true;
        rc = parse_expr(p, 0, &arg);
        p->in_agg = false;
        if (rc) return rc;
        if (arg->type == AQL_T_BOOL)
            return fail_at(p, arg->pos, "%s needs a value, found a condition", aql_agg_name(fn));
        bool numeric =
            arg->type == AQL_T_INT || arg->type == AQL_T_TIME || arg->type == AQL_T_DOUBLE;
        if (arg->kind == AQL_N_LIT && arg->type == AQL_T_STR && !numeric &&
            (fn == AQL_AGG_SUM || fn == AQL_AGG_AVG || fn == AQL_AGG_STDEV ||
             fn == AQL_AGG_STDEVP)) {
            if ((rc = lit_convert(p, arg, AQL_T_INT)) != 0) return rc;
            numeric = true;
        }
        if (!numeric &&
            (fn == AQL_AGG_SUM || fn == AQL_AGG_AVG || fn == AQL_AGG_STDEV || fn == AQL_AGG_STDEVP))
            return fail_at(p, arg->pos, "%s needs a number, found %s", aql_agg_name(fn),
                           type_name(arg->type));
    }
    if (p->tok.kind != AQL_TOK_RPAREN) return fail_expected(p, "')'");
    if ((rc = next(p)) != 0) return rc;
    struct aql_node *n = node_new(p, AQL_N_AGG, name->pos);
    if (!n) return STRM_ERR_NOMEM;
    n->l = arg;
    n->u.agg.fn = (int)fn;
    switch (fn) {
    case AQL_AGG_COUNT:
    case AQL_AGG_UNIQUECOUNT:
    case AQL_AGG_DISTINCTCOUNT:
        n->type = AQL_T_INT;
        break;
    case AQL_AGG_SUM:
        n->type = arg->type == AQL_T_DOUBLE ? AQL_T_DOUBLE : AQL_T_INT;
        break;
    case AQL_AGG_AVG:
    case AQL_AGG_STDEV:
    case AQL_AGG_STDEVP:
        n->type = AQL_T_DOUBLE;
        break;
    default:
        n->type = arg->type;
        break;
    }
    if ((rc = push_agg(p, n)) != 0) return rc;
    *out = n;
    return 0;
}

/* "unknown column 'srcip'", with the closest column name when one is close enough. */
/* The AQL type of a column; enum columns (flowtype, flowdirection) read as their names. */
static enum aql_type col_aql_type(int col)
{
    const struct strm_col_def *d = &strm_event_cols[col];
    switch (d->type) {
    case STRM_T_TIME:
        return AQL_T_TIME;
    case STRM_T_INT:
        return d->enum_names ? AQL_T_STR : AQL_T_INT;
    case STRM_T_IP:
        return AQL_T_IP;
    case STRM_T_MAC:
        return AQL_T_MAC;
    case STRM_T_STR:
        return AQL_T_STR;
    }
    return AQL_T_NULL;
}

static int unknown_column(struct parser *p, const struct aql_tok *t)
{
    int nl = (int)(t->text_len > 64 ? 64 : t->text_len);
    const char *best = NULL;
    size_t bestd = t->text_len / 2 + 1; /* farther than that is a different word */
    if (bestd > 3) bestd = 3;
    bestd++;
    for (int c = 0; c < STRM_COL__COUNT; c++) {
        const char *nm = strm_event_cols[c].name;
        size_t d = aql_edit_distance(t->text, t->text_len, nm, strlen(nm), bestd);
        if (d < bestd) {
            bestd = d;
            best = nm;
        }
    }
    if (best)
        return fail_at(p, t->pos, "unknown column '%.*s' (did you mean '%s'?)", nl, t->text, best);
    return fail_at(p, t->pos, "unknown column '%.*s'", nl, t->text);
}

/* Checks argument argno (1-based) of f against its declared type, converting a literal. */
static int check_arg(struct parser *p, const struct aql_func *f, int argno, struct aql_node *a)
{
    int idx = argno - 1;
    /* optional arguments past the arity have their own type (STRPOS's from); otherwise the
     * last declared type repeats (CONCAT) */
    if (f->variadic && idx >= f->arity && (idx >= AQL_FUNC_MAX_ARGS || f->args[idx] == AQL_T_NULL))
        idx = f->arity - 1;
    enum aql_type want = f->args[idx];
    if (a->type == AQL_T_BOOL)
        return fail_at(p, a->pos, "argument %d of %s must be a value, found a condition", argno,
                       f->name);
    if (want == AQL_T_NULL || types_compatible(a->type, want)) return 0; /* NULL: any */
    if (a->kind == AQL_N_LIT) {
        int rc = lit_convert(p, a, want);
        if (rc <= 0) return rc;
    }
    return fail_at(p, a->pos, "argument %d of %s must be %s, found %s", argno, f->name,
                   type_name(want), type_name(a->type));
}

static int unknown_function(struct parser *p, const struct aql_tok *name)
{
    int nl = (int)(name->text_len > 64 ? 64 : name->text_len);
    const char *missing = aql_func_unavailable(name->text, name->text_len);
    if (missing)
        return fail_at(p, name->pos,
                       "%.*s is not available: it needs %s, which openstrm does "
                       "not have yet",
                       nl, name->text, missing);
    const char *sugg = aql_func_suggest(name->text, name->text_len);
    if (sugg)
        return fail_at(p, name->pos, "unknown function '%.*s' (did you mean '%s'?)", nl, name->text,
                       sugg);
    return fail_at(p, name->pos, "unknown function '%.*s' (strm search --functions lists them)", nl,
                   name->text);
}

/* name '(' [expr {',' expr}] ')': a call of a function of the table in func.c. */
static int parse_function(struct parser *p, const struct aql_tok *name, struct aql_node **out)
{
    /* current token is '(' */
    if (aql_tok_is_kw(name, "INCIDR")) return parse_incidr(p, name, out);
    enum aql_agg agg;
    if (aql_agg_lookup(name->text, name->text_len, &agg) == 0) return parse_agg(p, name, agg, out);
    const struct aql_func *f = aql_func_lookup(name->text, name->text_len);
    if (!f) return unknown_function(p, name);
    int rc = next(p);
    if (rc) return rc;
    struct aql_node *fn = node_new(p, AQL_N_FUNC, name->pos);
    if (!fn) return STRM_ERR_NOMEM;
    struct aql_node **tail = &fn->l;
    struct aql_node *argv[AQL_FUNC_MAX_ARGS];
    int nargs = 0;
    int maxargs = f->variadic ? AQL_FUNC_MAX_ARGS : f->arity;
    if (f->variadic && f->arity < AQL_FUNC_MAX_ARGS && f->args[f->arity] != AQL_T_NULL) {
        maxargs = f->arity; /* declared optional arguments: that many at most */
        while (maxargs < AQL_FUNC_MAX_ARGS && f->args[maxargs] != AQL_T_NULL)
            maxargs++;
    }
    if (p->tok.kind != AQL_TOK_RPAREN) {
        for (;;) {
            struct aql_node *e;
            size_t apos = p->tok.pos;
            if ((rc = parse_expr(p, 0, &e)) != 0) return rc;
            if (nargs >= maxargs) {
                int found = nargs + 1; /* count the rest for the message */
                while (p->tok.kind == AQL_TOK_COMMA) {
                    if ((rc = next(p)) != 0 || (rc = parse_expr(p, 0, &e)) != 0) return rc;
                    found++;
                }
                return fail_at(p, apos, "%s takes %s%d argument%s, found %d", f->name,
                               f->variadic ? "at most " : "", maxargs, maxargs == 1 ? "" : "s",
                               found);
            }
            if ((rc = check_arg(p, f, nargs + 1, e)) != 0) return rc;
            struct aql_node *arg = node_new(p, AQL_N_ARG, e->pos);
            if (!arg) return STRM_ERR_NOMEM;
            arg->type = e->type;
            arg->l = e;
            *tail = arg;
            tail = &arg->r;
            argv[nargs++] = e;
            if (p->tok.kind != AQL_TOK_COMMA) break;
            if ((rc = next(p)) != 0) return rc;
        }
    }
    if (p->tok.kind != AQL_TOK_RPAREN) return fail_expected(p, "')' or ','");
    if (f->variadic ? nargs < f->arity : nargs != f->arity)
        return fail_at(p, p->tok.pos, "%s takes %s%u argument%s, found %d", f->name,
                       f->variadic ? "at least " : "", f->arity, f->arity == 1 ? "" : "s", nargs);
    if ((rc = next(p)) != 0) return rc;
    fn->type = f->ret;
    fn->u.call.fn = f;
    if (f->plan) {
        char msg[200];
        if (f->plan(argv, (size_t)nargs, p->q, &fn->u.call.state, msg, sizeof msg) != 0)
            return fail_at(p, name->pos, "%s: %s", f->name, msg);
    }
    fn->end = p->prev_end;
    *out = fn;
    return 0;
}

/* TEXT SEARCH 'words': every word, case-insensitively and word-aligned, in the payload. */
static int parse_text_search(struct parser *p, struct aql_node **out)
{
    size_t pos = p->tok.pos;
    if (p->in_having && !p->in_agg)
        return fail_at(p, pos, "TEXT SEARCH is not allowed in HAVING (use WHERE)");
    int rc = next(p);
    if (rc || (rc = expect_kw(p, "SEARCH")) != 0) return rc;
    if (p->tok.kind != AQL_TOK_STRING) return fail_expected(p, "'words' after TEXT SEARCH");
    const char *s = p->tok.text;
    size_t len = p->tok.text_len, nw = 0;
    struct aql_node *n = node_new(p, AQL_N_TEXT, pos);
    struct aql_node *col = node_new(p, AQL_N_COL, pos); /* so the payload is read */
    const char **words = strm_arena_alloc(&p->q->arena, (len / 2 + 1) * sizeof *words);
    size_t *lens = strm_arena_alloc(&p->q->arena, (len / 2 + 1) * sizeof *lens);
    char *low = strm_arena_alloc(&p->q->arena, len + 1);
    if (!n || !col || !words || !lens || !low) return STRM_ERR_NOMEM;
    for (size_t i = 0; i < len; i++)
        low[i] = (char)tolower((unsigned char)s[i]);
    for (size_t i = 0; i < len;) {
        while (i < len && isspace((unsigned char)low[i]))
            i++;
        size_t b = i;
        while (i < len && !isspace((unsigned char)low[i]))
            i++;
        if (i > b) {
            words[nw] = low + b;
            lens[nw++] = i - b;
        }
    }
    if (nw == 0) return fail_at(p, p->tok.pos, "TEXT SEARCH needs at least one word");
    if ((rc = next(p)) != 0) return rc;
    col->u.col = STRM_COL_PAYLOAD;
    col->type = AQL_T_STR;
    n->l = col;
    n->type = AQL_T_BOOL;
    n->u.text.words = words;
    n->u.text.lens = lens;
    n->u.text.n = nw;
    n->end = p->prev_end;
    *out = n;
    return 0;
}

/* INCIDR('net/bits', ip) or INCIDR(ip, 'net/bits'); current token is '('. */
static int parse_incidr(struct parser *p, const struct aql_tok *name, struct aql_node **out)
{
    struct aql_node *a, *b;
    int rc = next(p);
    if (rc || (rc = parse_expr(p, BP_OR, &a)) != 0) return rc;
    if (p->tok.kind != AQL_TOK_COMMA) return fail_expected(p, "',' (INCIDR takes 2 arguments)");
    if ((rc = next(p)) != 0 || (rc = parse_expr(p, BP_OR, &b)) != 0) return rc;
    if (p->tok.kind != AQL_TOK_RPAREN) return fail_expected(p, "')'");
    if ((rc = next(p)) != 0) return rc;
    struct aql_node *net = a, *ip = b;
    if (a->type == AQL_T_IP && b->kind == AQL_N_LIT) {
        net = b;
        ip = a;
    }
    if (net->kind != AQL_N_LIT || net->type != AQL_T_STR)
        return fail_at(p, net->pos, "INCIDR needs a 'network/bits' text");
    if (ip->type != AQL_T_IP)
        return fail_at(p, ip->pos, "INCIDR needs an IP address, found %s", type_name(ip->type));
    const char *s = net->u.lit.u.s.p ? net->u.lit.u.s.p : "";
    size_t len = net->u.lit.u.s.len;
    const char *slash = memchr(s, '/', len);
    struct strm_ip nip;
    size_t alen = slash ? (size_t)(slash - s) : len;
    int64_t bits = -1;
    if (strm_ip_parse(&nip, s, alen) != 0 ||
        (slash && !parse_int_text(slash + 1, len - alen - 1, &bits)))
        return fail_at(p, net->pos, "'%.*s' is not a network (expected e.g. '10.0.0.0/8')",
                       (int)(len > 64 ? 64 : len), s);
    /* the prefix counts bits of the notation written: dotted IPv4 /0..32, IPv6 text (also
     * ::ffff:a.b.c.d) /0..128 */
    int64_t max = memchr(s, ':', alen) ? 128 : 32;
    if (!slash) bits = max;
    if (bits < 0 || bits > max)
        return fail_at(p, net->pos, "prefix length /%lld is out of range (0..%lld)",
                       (long long)bits, (long long)max);
    struct aql_node *n = node_new(p, AQL_N_INCIDR, name->pos);
    if (!n) return STRM_ERR_NOMEM;
    n->type = AQL_T_BOOL;
    n->l = ip;
    n->u.cidr.net = nip;
    n->u.cidr.bits = (unsigned)(max == 32 ? bits + 96 : bits);
    *out = n;
    return 0;
}

/* Whether the token after the current one is '(' (LAST(x) versus LAST 5 MINUTES). */
/* Whether the token after the current one ends an ORDER BY / GROUP BY key: then a name
 * there may be an alias; otherwise it starts an expression (sourceport + 1). */
static bool peek_ends_key(const struct parser *p)
{
    struct aql_lexer lx = p->lx;
    struct aql_tok t;
    struct aql_error e;
    if (aql_lex_next(&lx, &t, &e) != 0) return true;
    switch (t.kind) {
    case AQL_TOK_EOF:
    case AQL_TOK_COMMA:
    case AQL_TOK_RPAREN:
    case AQL_TOK_SEMI:
        return true;
    case AQL_TOK_IDENT:
        return aql_tok_is_kw(&t, "ASC") || aql_tok_is_kw(&t, "DESC") ||
               aql_tok_is_kw(&t, "LIMIT") || aql_tok_is_kw(&t, "LAST") ||
               aql_tok_is_kw(&t, "START") || aql_tok_is_kw(&t, "STOP") ||
               aql_tok_is_kw(&t, "HAVING") || aql_tok_is_kw(&t, "ORDER") ||
               aql_tok_is_kw(&t, "GROUP");
    default:
        return false;
    }
}

static bool peek_is_lparen(const struct parser *p)
{
    struct aql_lexer lx = p->lx;
    struct aql_tok t;
    struct aql_error e;
    return aql_lex_next(&lx, &t, &e) == 0 && t.kind == AQL_TOK_LPAREN;
}

static int parse_prefix(struct parser *p, struct aql_node **out)
{
    struct aql_tok t = p->tok;
    struct aql_node *n = NULL;
    int rc;
    switch (t.kind) {
    case AQL_TOK_LPAREN:
        if ((rc = next(p)) != 0 || (rc = parse_expr(p, 0, &n)) != 0) return rc;
        if (p->tok.kind != AQL_TOK_RPAREN) return fail_expected(p, "')'");
        if ((rc = next(p)) != 0) return rc;
        n->pos = t.pos;
        n->end = p->prev_end;
        *out = n;
        return 0;
    case AQL_TOK_MINUS: {
        struct aql_node *operand;
        if ((rc = next(p)) != 0 || (rc = parse_expr(p, BP_UNARY, &operand)) != 0) return rc;
        if (operand->type != AQL_T_INT && operand->type != AQL_T_TIME)
            return fail_at(p, t.pos, "cannot negate %s", type_name(operand->type));
        if (operand->kind == AQL_N_LIT) {
            operand->u.lit.u.i = -operand->u.lit.u.i;
            operand->pos = t.pos;
            *out = operand;
            return 0;
        }
        if (!(n = node_new(p, AQL_N_NEG, t.pos))) return STRM_ERR_NOMEM;
        n->type = operand->type;
        n->l = operand;
        *out = n;
        return 0;
    }
    case AQL_TOK_INT:
        if ((rc = next(p)) != 0) return rc;
        if (!(n = node_new(p, AQL_N_LIT, t.pos))) return STRM_ERR_NOMEM;
        n->type = n->u.lit.type = AQL_T_INT;
        n->u.lit.u.i = t.ival;
        *out = n;
        return 0;
    case AQL_TOK_STRING:
        if ((rc = next(p)) != 0) return rc;
        if (!(n = node_new(p, AQL_N_LIT, t.pos))) return STRM_ERR_NOMEM;
        n->type = n->u.lit.type = AQL_T_STR;
        n->u.lit.u.s.p = t.text;
        n->u.lit.u.s.len = (uint32_t)(t.text_len > UINT32_MAX ? UINT32_MAX : t.text_len);
        *out = n;
        return 0;
    case AQL_TOK_IDENT:
        if (aql_tok_is_kw(&t, "NOT")) {
            struct aql_node *operand;
            if ((rc = next(p)) != 0 || (rc = parse_expr(p, BP_NOT, &operand)) != 0) return rc;
            if ((rc = need_cond(p, operand, "NOT")) != 0) return rc;
            if (!(n = node_new(p, AQL_N_NOT, t.pos))) return STRM_ERR_NOMEM;
            n->type = AQL_T_BOOL;
            n->l = operand;
            *out = n;
            return 0;
        }
        if (aql_tok_is_kw(&t, "TEXT")) return parse_text_search(p, out);
        if (aql_tok_is_kw(&t, "LAST") && peek_is_lparen(p)) {
            if ((rc = next(p)) != 0) return rc;
            return parse_function(p, &t, out);
        }
        if (is_reserved(&t)) return fail_expected(p, "an expression");
        if ((rc = next(p)) != 0) return rc;
        if (p->tok.kind == AQL_TOK_LPAREN) return parse_function(p, &t, out);
        if (p->tok.kind == AQL_TOK_DOT)
            return fail_at(p, p->tok.pos, "qualified names are not supported yet");
        /* fall through: a column name */
        __attribute__((fallthrough));
    case AQL_TOK_QIDENT: {
        if (t.kind == AQL_TOK_QIDENT && (rc = next(p)) != 0) return rc;
        if (p->in_having && !p->in_agg) {
            /* HAVING names SELECT values: an alias, or a column selected as itself. */
            for (size_t i = 0; i < p->q->nitems; i++) {
                const char *nm = p->q->items[i].name;
                if (strlen(nm) == t.text_len && strncasecmp(nm, t.text, t.text_len) == 0) {
                    if (!(n = node_new(p, AQL_N_ITEMREF, t.pos))) return STRM_ERR_NOMEM;
                    n->u.idx = i;
                    n->type = p->q->items[i].expr->type;
                    *out = n;
                    return 0;
                }
            }
            return fail_at(p, t.pos, "HAVING may name only SELECT columns and aliases, not '%.*s'",
                           (int)(t.text_len > 64 ? 64 : t.text_len), t.text);
        }
        int col = strm_col_lookup(t.text, t.text_len);
        if (col < 0) return unknown_column(p, &t);
        if (!(n = node_new(p, AQL_N_COL, t.pos))) return STRM_ERR_NOMEM;
        n->u.col = col;
        n->type = col_aql_type(col);
        *out = n;
        return 0;
    }
    default:
        return fail_expected(p, "an expression");
    }
}

/* Binding power of the current token as an infix operator; 0 if it is none. */
static int infix_bp(const struct aql_tok *t)
{
    switch (t->kind) {
    case AQL_TOK_EQ:
    case AQL_TOK_NE:
    case AQL_TOK_LT:
    case AQL_TOK_LE:
    case AQL_TOK_GT:
    case AQL_TOK_GE:
        return BP_CMP;
    case AQL_TOK_PLUS:
    case AQL_TOK_MINUS:
        return BP_ADD;
    case AQL_TOK_STAR:
    case AQL_TOK_SLASH:
    case AQL_TOK_PERCENT:
        return BP_MUL;
    case AQL_TOK_IDENT:
        if (aql_tok_is_kw(t, "OR")) return BP_OR;
        if (aql_tok_is_kw(t, "AND")) return BP_AND;
        if (aql_tok_is_kw(t, "LIKE") || aql_tok_is_kw(t, "ILIKE") || aql_tok_is_kw(t, "NOT") ||
            aql_tok_is_kw(t, "IS") || aql_tok_is_kw(t, "IN") || aql_tok_is_kw(t, "BETWEEN") ||
            aql_tok_is_kw(t, "MATCHES") || aql_tok_is_kw(t, "IMATCHES"))
            return BP_CMP;
        return 0;
    default:
        return 0;
    }
}

static int parse_like(struct parser *p, struct aql_node *left, bool ci, bool negated, size_t oppos,
                      struct aql_node **out)
{
    struct aql_node *pat;
    int rc = parse_expr(p, BP_CMP, &pat);
    if (rc) return rc;
    if (pat->kind != AQL_N_LIT || pat->type != AQL_T_STR)
        return fail_at(p, pat->pos, "%s needs a 'quoted' pattern", ci ? "ILIKE" : "LIKE");
    if (left->type == AQL_T_BOOL)
        return fail_at(p, oppos, "%s cannot match a condition", ci ? "ILIKE" : "LIKE");
    struct aql_node *n = node_new(p, AQL_N_LIKE, left->pos);
    if (!n) return STRM_ERR_NOMEM;
    n->type = AQL_T_BOOL;
    n->l = left;
    n->u.pred.negated = negated;
    rc = aql_like_compile(&n->u.pred.like, pat->u.lit.u.s.p ? pat->u.lit.u.s.p : "",
                          pat->u.lit.u.s.len, ci, &p->q->arena);
    if (rc) return rc;
    *out = n;
    return 0;
}

static bool is_num(enum aql_type t)
{
    return t == AQL_T_INT || t == AQL_T_TIME || t == AQL_T_DOUBLE;
}

/* left (+ - * / %) right: numbers only; a string literal that holds a number converts. */
static int parse_arith(struct parser *p, struct aql_node *left, const struct aql_tok *t,
                       struct aql_node **out)
{
    struct aql_node *right;
    int bp = t->kind == AQL_TOK_PLUS || t->kind == AQL_TOK_MINUS ? BP_ADD : BP_MUL;
    int rc = parse_expr(p, bp, &right);
    if (rc) return rc;
    struct aql_node *sides[2] = {left, right};
    for (int i = 0; i < 2; i++) {
        struct aql_node *x = sides[i];
        if (x->kind == AQL_N_LIT && x->type == AQL_T_STR && (rc = lit_convert(p, x, AQL_T_INT)))
            return rc;
        if (!is_num(x->type))
            return fail_at(p, t->pos, "arithmetic needs numbers, found %s", type_name(x->type));
    }
    struct aql_node *n = node_new(p, AQL_N_ARITH, left->pos);
    if (!n) return STRM_ERR_NOMEM;
    n->l = left;
    n->r = right;
    n->u.arith = p->lx.src[t->pos];
    if (left->type == AQL_T_DOUBLE || right->type == AQL_T_DOUBLE)
        n->type = AQL_T_DOUBLE;
    else if ((n->u.arith == '+' || n->u.arith == '-') &&
             (left->type == AQL_T_TIME) != (right->type == AQL_T_TIME))
        n->type = AQL_T_TIME; /* a time plus or minus ms is a time */
    else
        n->type = AQL_T_INT;
    *out = n;
    return 0;
}

static int regex_add(struct parser *p, const char *pat, size_t len, bool ci, size_t pos,
                     void **code)
{
    char msg[200];
    struct aql_regex *r = strm_arena_alloc(&p->q->arena, sizeof *r);
    if (!r) return STRM_ERR_NOMEM;
    if (aql_regex_compile(pat, len, ci, code, msg, sizeof msg) != 0)
        return fail_at(p, pos, "bad regular expression: %s", msg);
    r->code = *code;
    r->next = p->q->regexes;
    p->q->regexes = r;
    return 0;
}

/* [NOT] IN (list), [NOT] BETWEEN a AND b, [NOT] MATCHES/IMATCHES 'regex'; kw consumed. */
static int parse_query_body(struct parser *p, bool sub);
static int plan(struct parser *p);

/*
 * left [NOT] IN (SELECT one-value FROM events|flows ...): parsed as a query of its own (its
 * own table, WHERE, GROUP BY, LIMIT, time clause); the current token is SELECT.
 */
static int parse_subquery(struct parser *p, struct aql_node *left, bool negated,
                          struct aql_node **out)
{
    size_t pos = p->tok.pos;
    struct aql_node *n;
    int rc;
    if (p->sub_depth >= 8) return fail_at(p, pos, "subqueries nest too deep (at most 8)");
    struct aql_query *sq = calloc(1, sizeof *sq);
    if (!sq) return STRM_ERR_NOMEM;
    strm_arena_init(&sq->arena, 4096);
    sq->limit = -1;
    sq->last_ms = -1;
    sq->table = STRM_TABLE_EVENTS;
    sq->is_sub = true;
    struct aql_query *outer = p->q;
    /* register first so the outer query frees it whatever happens */
    struct aql_node **subs = realloc(outer->subs, (outer->nsubs + 1) * sizeof *subs);
    if (!subs || !(n = node_new(p, AQL_N_INSUB, left->pos))) {
        if (subs) outer->subs = subs;
        aql_query_free(sq);
        return STRM_ERR_NOMEM;
    }
    outer->subs = subs;
    n->u.sub.q = sq;
    outer->subs[outer->nsubs++] = n;
    struct parser saved = *p;
    p->q = sq;
    p->aggs_cap = 0;
    p->in_agg = p->in_having = false;
    p->star_at = -1;
    p->sub_depth++;
    rc = parse_query_body(p, true);
    if (rc == 0) rc = plan(p);
    saved.lx = p->lx;
    saved.tok = p->tok;
    saved.prev_end = p->prev_end;
    *p = saved;
    if (rc) return rc;
    if (sq->nitems != 1)
        return fail_at(p, pos, "a subquery must select exactly one value, not %zu", sq->nitems);
    if ((rc = check_comparable(p, left, sq->items[0].expr, pos)) != 0) return rc;
    if (p->tok.kind != AQL_TOK_RPAREN) return fail_expected(p, "')' after the subquery");
    if ((rc = next(p)) != 0) return rc;
    n->type = AQL_T_BOOL;
    n->l = left;
    n->u.sub.negated = negated;
    n->end = p->prev_end;
    *out = n;
    return 0;
}

static int parse_pred(struct parser *p, struct aql_node *left, const struct aql_tok *kw,
                      bool negated, size_t oppos, struct aql_node **out)
{
    int rc;
    struct aql_node *n;
    if (left->type == AQL_T_BOOL) return fail_at(p, oppos, "cannot compare a condition");
    if (aql_tok_is_kw(kw, "IN")) {
        if (p->tok.kind != AQL_TOK_LPAREN) return fail_expected(p, "'(' after IN");
        if ((rc = next(p)) != 0) return rc;
        if (aql_tok_is_kw(&p->tok, "SELECT")) return parse_subquery(p, left, negated, out);
        if (!(n = node_new(p, AQL_N_IN, left->pos))) return STRM_ERR_NOMEM;
        struct aql_node **tail = &n->r;
        for (;;) {
            struct aql_node *e;
            if ((rc = parse_expr(p, 0, &e)) != 0) return rc;
            if ((rc = check_comparable(p, left, e, e->pos)) != 0) return rc;
            struct aql_node *arg = node_new(p, AQL_N_ARG, e->pos);
            if (!arg) return STRM_ERR_NOMEM;
            arg->type = e->type;
            arg->l = e;
            *tail = arg;
            tail = &arg->r;
            if (p->tok.kind != AQL_TOK_COMMA) break;
            if ((rc = next(p)) != 0) return rc;
        }
        if (p->tok.kind != AQL_TOK_RPAREN) return fail_expected(p, "')' or ','");
        if ((rc = next(p)) != 0) return rc;
        n->type = AQL_T_BOOL;
        n->l = left;
        n->u.pred.negated = negated;
        n->end = p->prev_end;
        *out = n;
        return 0;
    }
    if (aql_tok_is_kw(kw, "BETWEEN")) {
        /* x BETWEEN a AND b is x >= a AND x <= b (both ends included) */
        struct aql_node *lo, *hi;
        if ((rc = parse_expr(p, BP_CMP, &lo)) != 0) return rc;
        if ((rc = expect_kw(p, "AND")) != 0) return rc;
        if ((rc = parse_expr(p, BP_CMP, &hi)) != 0) return rc;
        if ((rc = check_comparable(p, left, lo, lo->pos)) != 0 ||
            (rc = check_comparable(p, left, hi, hi->pos)) != 0)
            return rc;
        struct aql_node *ge = node_new(p, AQL_N_CMP, left->pos);
        struct aql_node *le = node_new(p, AQL_N_CMP, left->pos);
        if (!ge || !le || !(n = node_new(p, AQL_N_AND, left->pos))) return STRM_ERR_NOMEM;
        ge->type = le->type = n->type = AQL_T_BOOL;
        ge->u.op = AQL_OP_GE;
        ge->l = left;
        ge->r = lo;
        le->u.op = AQL_OP_LE;
        le->l = left;
        le->r = hi;
        n->l = ge;
        n->r = le;
        if (negated) {
            struct aql_node *no = node_new(p, AQL_N_NOT, left->pos);
            if (!no) return STRM_ERR_NOMEM;
            no->type = AQL_T_BOOL;
            no->l = n;
            n = no;
        }
        *out = n;
        return 0;
    }
    /* MATCHES, IMATCHES */
    bool ci = aql_tok_is_kw(kw, "IMATCHES");
    struct aql_node *pat;
    if ((rc = parse_expr(p, BP_CMP, &pat)) != 0) return rc;
    if (pat->kind != AQL_N_LIT || pat->type != AQL_T_STR)
        return fail_at(p, pat->pos, "%s needs a 'quoted' regular expression",
                       ci ? "IMATCHES" : "MATCHES");
    if (!(n = node_new(p, AQL_N_MATCH, left->pos))) return STRM_ERR_NOMEM;
    if ((rc = regex_add(p, pat->u.lit.u.s.p ? pat->u.lit.u.s.p : "", pat->u.lit.u.s.len, ci,
                        pat->pos, &n->u.re.code)) != 0)
        return rc;
    n->type = AQL_T_BOOL;
    n->l = left;
    n->u.re.negated = negated;
    *out = n;
    return 0;
}

static int parse_infix(struct parser *p, struct aql_node *left, struct aql_node **out)
{
    struct aql_tok t = p->tok;
    int rc = next(p);
    if (rc) return rc;
    struct aql_node *n, *right;
    enum aql_cmp_op op;
    switch (t.kind) {
    case AQL_TOK_EQ:
        op = AQL_OP_EQ;
        goto cmp;
    case AQL_TOK_NE:
        op = AQL_OP_NE;
        goto cmp;
    case AQL_TOK_LT:
        op = AQL_OP_LT;
        goto cmp;
    case AQL_TOK_LE:
        op = AQL_OP_LE;
        goto cmp;
    case AQL_TOK_GT:
        op = AQL_OP_GT;
        goto cmp;
    case AQL_TOK_GE:
        op = AQL_OP_GE;
        goto cmp;
    case AQL_TOK_PLUS:
    case AQL_TOK_MINUS:
    case AQL_TOK_STAR:
    case AQL_TOK_SLASH:
    case AQL_TOK_PERCENT:
        return parse_arith(p, left, &t, out);
    default:
        break;
    }
    if (aql_tok_is_kw(&t, "AND") || aql_tok_is_kw(&t, "OR")) {
        bool is_and = aql_tok_is_kw(&t, "AND");
        if ((rc = parse_expr(p, is_and ? BP_AND : BP_OR, &right)) != 0) return rc;
        if ((rc = need_cond(p, left, is_and ? "AND" : "OR")) != 0 ||
            (rc = need_cond(p, right, is_and ? "AND" : "OR")) != 0)
            return rc;
        if (!(n = node_new(p, is_and ? AQL_N_AND : AQL_N_OR, left->pos))) return STRM_ERR_NOMEM;
        n->type = AQL_T_BOOL;
        n->l = left;
        n->r = right;
        *out = n;
        return 0;
    }
    if (aql_tok_is_kw(&t, "LIKE")) return parse_like(p, left, false, false, t.pos, out);
    if (aql_tok_is_kw(&t, "ILIKE")) return parse_like(p, left, true, false, t.pos, out);
    if (aql_tok_is_kw(&t, "NOT")) {
        struct aql_tok t2 = p->tok;
        if (aql_tok_is_kw(&t2, "LIKE") || aql_tok_is_kw(&t2, "ILIKE")) {
            if ((rc = next(p)) != 0) return rc;
            return parse_like(p, left, aql_tok_is_kw(&t2, "ILIKE"), true, t.pos, out);
        }
        if (aql_tok_is_kw(&t2, "IN") || aql_tok_is_kw(&t2, "BETWEEN") ||
            aql_tok_is_kw(&t2, "MATCHES") || aql_tok_is_kw(&t2, "IMATCHES")) {
            if ((rc = next(p)) != 0) return rc;
            return parse_pred(p, left, &t2, true, t.pos, out);
        }
        return fail_expected(p, "LIKE, ILIKE, IN, BETWEEN, MATCHES or IMATCHES after NOT");
    }
    if (aql_tok_is_kw(&t, "IS")) {
        bool negated = false;
        if (accept_kw(p, "NOT", &rc)) {
            if (rc) return rc;
            negated = true;
        }
        if ((rc = expect_kw(p, "NULL")) != 0) return rc;
        if (!(n = node_new(p, AQL_N_ISNULL, left->pos))) return STRM_ERR_NOMEM;
        n->type = AQL_T_BOOL;
        n->l = left;
        n->u.pred.negated = negated;
        *out = n;
        return 0;
    }
    /* IN, BETWEEN, MATCHES, IMATCHES */
    return parse_pred(p, left, &t, false, t.pos, out);

cmp:
    if ((rc = parse_expr(p, BP_CMP, &right)) != 0) return rc;
    if ((rc = check_comparable(p, left, right, t.pos)) != 0) return rc;
    if (!(n = node_new(p, AQL_N_CMP, left->pos))) return STRM_ERR_NOMEM;
    n->type = AQL_T_BOOL;
    n->u.op = op;
    n->l = left;
    n->r = right;
    *out = n;
    return 0;
}

static int parse_expr(struct parser *p, int min_bp, struct aql_node **out)
{
    if (++p->depth > AQL_MAX_DEPTH) return fail_at(p, p->tok.pos, "expression nested too deeply");
    struct aql_node *left;
    int rc = parse_prefix(p, &left);
    while (rc == 0) {
        int bp = infix_bp(&p->tok);
        if (bp <= min_bp) break;
        rc = parse_infix(p, left, &left);
    }
    p->depth--;
    if (rc == 0) *out = left;
    return rc;
}

/* ---------------------------------------------------------------- clauses */

static const struct aql_node *find_agg(const struct aql_node *n)
{
    if (!n) return NULL;
    if (n->kind == AQL_N_AGG) return n;
    const struct aql_node *c = find_agg(n->l);
    return c ? c : find_agg(n->r);
}

/* A column read outside every aggregate (its value would be per row, not per group). */
static const struct aql_node *find_bare_col(const struct aql_node *n)
{
    if (!n || n->kind == AQL_N_AGG) return NULL;
    if (n->kind == AQL_N_COL) return n;
    const struct aql_node *c = find_bare_col(n->l);
    return c ? c : find_bare_col(n->r);
}

static int agg_not_here(struct parser *p, const struct aql_node *a, const char *where)
{
    if (a->l == NULL) return fail_at(p, a->pos, "COUNT(*) is not allowed in %s", where);
    return fail_at(p, a->pos, "aggregate %s is not allowed in %s", aql_agg_name(a->u.agg.fn),
                   where);
}

static uint64_t colmask_of(const struct aql_node *n)
{
    if (!n) return 0;
    uint64_t m = n->kind == AQL_N_COL ? 1ull << n->u.col : 0;
    return m | colmask_of(n->l) | colmask_of(n->r);
}

static int add_item(struct parser *p, struct aql_node *expr, const char *name, size_t *cap)
{
    struct aql_query *q = p->q;
    if (q->nitems >= AQL_MAX_ITEMS)
        return fail_at(p, expr->pos, "too many columns in SELECT (at most %d)", AQL_MAX_ITEMS);
    if (q->nitems == *cap) {
        size_t ncap = *cap ? *cap * 2 : 16;
        struct aql_select_item *ni = strm_arena_alloc(&q->arena, ncap * sizeof *ni);
        if (!ni) return STRM_ERR_NOMEM;
        if (q->nitems) memcpy(ni, q->items, q->nitems * sizeof *ni);
        q->items = ni;
        *cap = ncap;
    }
    q->items[q->nitems].expr = expr;
    q->items[q->nitems].name = name;
    q->nitems++;
    return 0;
}

static int parse_select_list(struct parser *p)
{
    size_t cap = 0;
    int rc;
    for (;;) {
        if (p->tok.kind == AQL_TOK_STAR) {
            /* the columns depend on the table named after FROM: expanded there */
            if (p->star_at >= 0) return fail_at(p, p->tok.pos, "'*' may appear only once");
            p->star_at = (ssize_t)p->q->nitems;
            p->star_pos = p->tok.pos;
            if ((rc = next(p)) != 0) return rc;
        } else {
            struct aql_node *e;
            if ((rc = parse_expr(p, 0, &e)) != 0) return rc;
            const char *name;
            if (accept_kw(p, "AS", &rc)) {
                if (rc) return rc;
                if (p->tok.kind == AQL_TOK_IDENT && is_reserved(&p->tok))
                    return fail_expected(p, "an alias");
                if (p->tok.kind != AQL_TOK_IDENT && p->tok.kind != AQL_TOK_QIDENT &&
                    p->tok.kind != AQL_TOK_STRING)
                    return fail_expected(p, "an alias");
                if (p->tok.kind == AQL_TOK_IDENT) {
                    struct strm_str s =
                        strm_arena_strdup(&p->q->arena, p->tok.text, p->tok.text_len);
                    if (!s.p) return STRM_ERR_NOMEM;
                    name = s.p;
                } else {
                    name = p->tok.text; /* already unquoted and NUL-terminated */
                }
                if ((rc = next(p)) != 0) return rc;
            } else if (e->kind == AQL_N_COL) {
                name = strm_event_cols[e->u.col].name;
            } else if (e->kind == AQL_N_AGG && !e->l) {
                name = "COUNT";
            } else {
                size_t len = e->end > e->pos ? e->end - e->pos : 0;
                struct strm_str s = strm_arena_strdup(&p->q->arena, p->lx.src + e->pos, len);
                if (!s.p) return STRM_ERR_NOMEM;
                name = s.p;
            }
            if ((rc = add_item(p, e, name, &cap)) != 0) return rc;
        }
        if (p->tok.kind != AQL_TOK_COMMA) return 0;
        if ((rc = next(p)) != 0) return rc;
    }
}

/* Whether the current token may be an ORDER BY / GROUP BY key naming a SELECT alias. */
static bool key_alias_at(const struct parser *p)
{
    return ((p->tok.kind == AQL_TOK_IDENT && !is_reserved(&p->tok)) ||
            p->tok.kind == AQL_TOK_QIDENT || p->tok.kind == AQL_TOK_STRING) &&
           peek_ends_key(p);
}

/* The SELECT expression named t (case-insensitive), or NULL; no_agg skips aggregates. */
static struct aql_node *alias_expr(const struct aql_query *q, const struct aql_tok *t, bool no_agg)
{
    for (size_t i = 0; i < q->nitems; i++) {
        const char *nm = q->items[i].name;
        if (strlen(nm) == t->text_len && strncasecmp(nm, t->text, t->text_len) == 0 &&
            !(no_agg && find_agg(q->items[i].expr)))
            return q->items[i].expr;
    }
    return NULL;
}

static int parse_order_by(struct parser *p)
{
    struct aql_query *q = p->q;
    int rc;
    q->keys = strm_arena_alloc(&q->arena, AQL_MAX_KEYS * sizeof *q->keys);
    if (!q->keys) return STRM_ERR_NOMEM;
    for (;;) {
        if (q->nkeys == AQL_MAX_KEYS)
            return fail_at(p, p->tok.pos, "too many ORDER BY keys (at most %d)", AQL_MAX_KEYS);
        struct aql_node *e = NULL;
        /* An output alias wins over a column of the same name, as in SQL. */
        if (key_alias_at(p)) {
            e = alias_expr(q, &p->tok, false);
            if (e) {
                if ((rc = next(p)) != 0) return rc;
            } else if (p->tok.kind == AQL_TOK_STRING) {
                return fail_at(p, p->tok.pos, "unknown column '%.*s'",
                               (int)(p->tok.text_len > 64 ? 64 : p->tok.text_len), p->tok.text);
            }
        }
        if (!e && (rc = parse_expr(p, 0, &e)) != 0) return rc;
        bool desc = false;
        if (accept_kw(p, "DESC", &rc))
            desc = true;
        else
            accept_kw(p, "ASC", &rc);
        if (rc) return rc;
        q->keys[q->nkeys].expr = e;
        q->keys[q->nkeys].desc = desc;
        q->nkeys++;
        if (aql_tok_is_kw(&p->tok, "COLLATE"))
            return fail_at(p, p->tok.pos, "COLLATE is not supported yet");
        if (p->tok.kind != AQL_TOK_COMMA) return 0;
        if ((rc = next(p)) != 0) return rc;
    }
}

/* GROUP BY (alias | expr) {, ...}: an alias names the SELECT expression. */
static int parse_group_by(struct parser *p)
{
    struct aql_query *q = p->q;
    int rc;
    q->groups = strm_arena_alloc(&q->arena, AQL_MAX_KEYS * sizeof *q->groups);
    if (!q->groups) return STRM_ERR_NOMEM;
    for (;;) {
        if (q->ngroups == AQL_MAX_KEYS)
            return fail_at(p, p->tok.pos, "too many GROUP BY keys (at most %d)", AQL_MAX_KEYS);
        struct aql_node *e = NULL;
        if (key_alias_at(p)) {
            e = alias_expr(q, &p->tok, true);
            if (e && (rc = next(p)) != 0) return rc;
        }
        if (!e && (rc = parse_expr(p, 0, &e)) != 0) return rc;
        const struct aql_node *a = find_agg(e);
        if (a) return agg_not_here(p, a, "GROUP BY");
        q->groups[q->ngroups++] = e;
        if (p->tok.kind != AQL_TOK_COMMA) return 0;
        if ((rc = next(p)) != 0) return rc;
    }
}

static int parse_last(struct parser *p)
{
    int rc;
    if (p->tok.kind != AQL_TOK_INT) return fail_expected(p, "a number after LAST");
    int64_t n = p->tok.ival;
    if ((rc = next(p)) != 0) return rc;
    int64_t unit;
    if (aql_tok_is_kw(&p->tok, "MINUTE") || aql_tok_is_kw(&p->tok, "MINUTES"))
        unit = 60000;
    else if (aql_tok_is_kw(&p->tok, "HOUR") || aql_tok_is_kw(&p->tok, "HOURS"))
        unit = 3600000;
    else if (aql_tok_is_kw(&p->tok, "DAY") || aql_tok_is_kw(&p->tok, "DAYS"))
        unit = 86400000;
    else
        return fail_expected(p, "MINUTES, HOURS or DAYS");
    p->q->last_ms = n > INT64_MAX / unit ? INT64_MAX : n * unit;
    return next(p);
}

/*
 * A START or STOP time: 'yyyy-MM-dd HH:mm[:ss]', 'yyyy/MM/dd HH:mm:ss', 'yyyy/MM/dd-HH:mm:ss'
 * or 'yyyy:MM:dd-HH:mm:ss' (UTC, an optional Z). QRadar resolves whole minutes: a start
 * covers its minute from :00, a stop to :59.999.
 */
static int parse_when(struct parser *p, int64_t *out, bool stop)
{
    if (p->tok.kind != AQL_TOK_STRING) return fail_expected(p, "a 'yyyy-MM-dd HH:mm' time");
    const char *s = p->tok.text;
    size_t len = p->tok.text_len;
    char buf[40];
    int64_t ms;
    bool ok = len >= 16 && len < sizeof buf;
    if (ok) {
        memcpy(buf, s, len);
        buf[len] = '\0';
        if ((buf[4] == '/' || buf[4] == ':') && buf[7] == buf[4]) buf[4] = buf[7] = '-';
        if (buf[10] == '-') buf[10] = ' ';
        if (buf[len - 1] == 'z') buf[len - 1] = 'Z';
        ok = buf[4] == '-' && buf[7] == '-' && buf[10] == ' ' && !memchr(buf, '.', len) &&
             aql_time_parse(buf, len, &ms) == 0;
    }
    if (!ok)
        return fail_at(p, p->tok.pos,
                       "'%.*s' is not a time (expected 'yyyy-MM-dd HH:mm' or "
                       "'yyyy-MM-dd HH:mm:ss')",
                       (int)(len > 64 ? 64 : len), s);
    ms -= ((ms % 60000) + 60000) % 60000;
    *out = stop ? ms + 59999 : ms;
    return next(p);
}

/* SELECT *: the columns of the query's table, in schema order, where the '*' stood. */
static int expand_star(struct parser *p)
{
    struct aql_query *q = p->q;
    size_t at = (size_t)p->star_at, tail = q->nitems - at, cap = q->nitems, n0 = q->nitems;
    uint64_t cols = strm_table_cols(q->table);
    int rc;
    for (int c = 0; c < STRM_COL__COUNT; c++) {
        if (!(cols >> c & 1)) continue;
        struct aql_node *n = node_new(p, AQL_N_COL, p->star_pos);
        if (!n) return STRM_ERR_NOMEM;
        n->u.col = c;
        n->type = col_aql_type(c);
        if ((rc = add_item(p, n, strm_event_cols[c].name, &cap)) != 0) return rc;
    }
    /* rotate the appended columns to where the '*' stood */
    size_t added = q->nitems - n0;
    if (tail && added) {
        struct aql_select_item *tmp = malloc(tail * sizeof *tmp);
        if (!tmp) return STRM_ERR_NOMEM;
        memcpy(tmp, q->items + at, tail * sizeof *tmp);
        memmove(q->items + at, q->items + n0, added * sizeof *tmp);
        memcpy(q->items + at + added, tmp, tail * sizeof *tmp);
        free(tmp);
    }
    return 0;
}

/* The first column node in n whose bit is in mask. */
static const struct aql_node *find_col_in(const struct aql_node *n, uint64_t mask)
{
    if (!n) return NULL;
    if (n->kind == AQL_N_COL && (mask >> n->u.col & 1)) return n;
    const struct aql_node *f = find_col_in(n->l, mask);
    return f ? f : find_col_in(n->r, mask);
}

static int parse_query(struct parser *p)
{
    int rc;
    if ((rc = next(p)) != 0) return rc;
    return parse_query_body(p, false);
}

/* SELECT ... up to the end of the query, or (sub) up to the ')' that closes a subquery. */
static int parse_query_body(struct parser *p, bool sub)
{
    struct aql_query *q = p->q;
    int rc;
    if ((rc = expect_kw(p, "SELECT")) != 0) return rc;
    if ((rc = parse_select_list(p)) != 0) return rc;
    if ((rc = expect_kw(p, "FROM")) != 0) return rc;
    if (aql_tok_is_kw(&p->tok, "FLOWS"))
        q->table = STRM_TABLE_FLOWS;
    else if (aql_tok_is_kw(&p->tok, "EVENTS"))
        q->table = STRM_TABLE_EVENTS;
    else
        return fail_expected(p, "events or flows");
    if ((rc = next(p)) != 0) return rc;
    if (p->star_at >= 0 && (rc = expand_star(p)) != 0) return rc;
    if (accept_kw(p, "WHERE", &rc)) {
        if (rc || (rc = parse_expr(p, 0, &q->where)) != 0) return rc;
        if ((rc = need_cond(p, q->where, "WHERE")) != 0) return rc;
        const struct aql_node *c = find_agg(q->where);
        if (c) return agg_not_here(p, c, "WHERE (use HAVING)");
    }
    if (aql_tok_is_kw(&p->tok, "GROUP")) {
        if ((rc = next(p)) != 0 || (rc = expect_kw(p, "BY")) != 0 || (rc = parse_group_by(p)) != 0)
            return rc;
    }
    if (accept_kw(p, "HAVING", &rc)) {
        if (rc) return rc;
        p->in_having = true;
        rc = parse_expr(p, 0, &q->having);
        p->in_having = false;
        if (rc || (rc = need_cond(p, q->having, "HAVING")) != 0) return rc;
    }
    bool seen_order = false, seen_limit = false, seen_last = false;
    for (;;) {
        size_t pos = p->tok.pos;
        if (aql_tok_is_kw(&p->tok, "ORDER")) {
            if (seen_order) return fail_at(p, pos, "duplicate ORDER BY");
            if (seen_limit) return fail_at(p, pos, "ORDER BY must come before LIMIT");
            if ((rc = next(p)) != 0 || (rc = expect_kw(p, "BY")) != 0 ||
                (rc = parse_order_by(p)) != 0)
                return rc;
            seen_order = true;
        } else if (aql_tok_is_kw(&p->tok, "LIMIT")) {
            if (seen_limit) return fail_at(p, pos, "duplicate LIMIT");
            if ((rc = next(p)) != 0) return rc;
            if (p->tok.kind != AQL_TOK_INT) return fail_expected(p, "a number after LIMIT");
            q->limit = p->tok.ival;
            if ((rc = next(p)) != 0) return rc;
            seen_limit = true;
        } else if (aql_tok_is_kw(&p->tok, "LAST")) {
            if (seen_last) return fail_at(p, pos, "duplicate time clause");
            if ((rc = next(p)) != 0 || (rc = parse_last(p)) != 0) return rc;
            seen_last = true;
        } else if (aql_tok_is_kw(&p->tok, "START")) {
            if (seen_last) return fail_at(p, pos, "duplicate time clause");
            if ((rc = next(p)) != 0 || (rc = parse_when(p, &q->start_ms, false)) != 0) return rc;
            q->has_start = true;
            if (accept_kw(p, "STOP", &rc)) {
                if (rc || (rc = parse_when(p, &q->stop_ms, true)) != 0) return rc;
                q->has_stop = true;
                if (q->stop_ms < q->start_ms) return fail_at(p, pos, "STOP is before START");
            }
            if (rc) return rc;
            seen_last = true;
        } else if (aql_tok_is_kw(&p->tok, "STOP")) {
            return fail_at(p, pos, "STOP needs a START before it");
        } else if (aql_tok_is_kw(&p->tok, "GROUP") || aql_tok_is_kw(&p->tok, "HAVING")) {
            return fail_at(p, pos, "%s must come right after WHERE",
                           aql_tok_is_kw(&p->tok, "GROUP") ? "GROUP BY" : "HAVING");
        } else if (aql_tok_is_kw(&p->tok, "PARAMETERS") || aql_tok_is_kw(&p->tok, "INTO")) {
            return fail_at(p, pos, "%.*s is not supported yet", (int)p->tok.text_len, p->tok.text);
        } else {
            break;
        }
    }
    if (sub) {
        if (p->tok.kind == AQL_TOK_RPAREN) return 0;
        return fail_expected(p, q->where ? "ORDER BY, LIMIT, LAST or ')'"
                                         : "WHERE, ORDER BY, LIMIT, LAST or ')'");
    }
    bool semi = p->tok.kind == AQL_TOK_SEMI;
    if (semi && (rc = next(p)) != 0) return rc;
    if (p->tok.kind != AQL_TOK_EOF) {
        if (!semi && !seen_order && !seen_limit && !seen_last)
            return fail_expected(p, q->where ? "ORDER BY, LIMIT, LAST or end of query"
                                             : "WHERE, ORDER BY, LIMIT, LAST or end of query");
        return fail_expected(p, "end of query");
    }
    return 0;
}

/* Checks what the grammar alone cannot (aggregates) and computes the column mask. */
static int plan(struct parser *p)
{
    struct aql_query *q = p->q;
    q->aggregate = q->naggs > 0 || q->ngroups > 0 || q->having;
    for (size_t i = 0; i < q->nitems; i++) {
        const struct aql_node *e = q->items[i].expr;
        if (q->aggregate && find_agg(e) && find_bare_col(e))
            return fail_at(p, find_bare_col(e)->pos,
                           "column '%s' is outside an aggregate in an expression with one",
                           strm_event_cols[find_bare_col(e)->u.col].name);
        q->colmask |= colmask_of(e);
    }
    for (size_t i = 0; i < q->nkeys; i++) {
        const struct aql_node *e = q->keys[i].expr;
        if (q->aggregate && find_agg(e) && find_bare_col(e))
            return fail_at(p, find_bare_col(e)->pos,
                           "column '%s' is outside an aggregate in an expression with one",
                           strm_event_cols[find_bare_col(e)->u.col].name);
        q->colmask |= colmask_of(e);
    }
    for (size_t i = 0; i < q->ngroups; i++)
        q->colmask |= colmask_of(q->groups[i]);
    q->colmask |= colmask_of(q->having);
    q->colmask |= colmask_of(q->where);
    uint64_t bad = q->colmask & ~strm_table_cols(q->table);
    if (bad) {
        const struct aql_node *c = NULL;
        for (size_t i = 0; i < q->nitems && !c; i++)
            c = find_col_in(q->items[i].expr, bad);
        for (size_t i = 0; i < q->nkeys && !c; i++)
            c = find_col_in(q->keys[i].expr, bad);
        for (size_t i = 0; i < q->ngroups && !c; i++)
            c = find_col_in(q->groups[i], bad);
        if (!c) c = find_col_in(q->having, bad);
        if (!c) c = find_col_in(q->where, bad);
        int col = c ? c->u.col : __builtin_ctzll(bad);
        bool ev = q->table == STRM_TABLE_EVENTS;
        return fail_at(p, c ? c->pos : 0, "column '%s' is not in table %s (it is a%s column)",
                       strm_event_cols[col].name, ev ? "events" : "flows",
                       ev ? " flows" : "n events");
    }
    return 0;
}

enum strm_table aql_query_table(const struct aql_query *q)
{
    return q->table;
}

bool aql_query_uses_table(const struct aql_query *q, enum strm_table t)
{
    if (q->table == t) return true;
    for (size_t i = 0; i < q->nsubs; i++)
        if (aql_query_uses_table(q->subs[i]->u.sub.q, t)) return true;
    return false;
}

int aql_parse(const char *text, struct aql_query **out, struct aql_error *err)
{
    struct aql_error dummy;
    if (!err) err = &dummy;
    err->pos = 0;
    err->msg[0] = '\0';
    *out = NULL;
    if (!text) {
        snprintf(err->msg, sizeof err->msg, "empty query");
        return STRM_ERR_INVAL;
    }
    struct aql_query *q = calloc(1, sizeof *q);
    if (!q) return STRM_ERR_NOMEM;
    strm_arena_init(&q->arena, 4096);
    q->limit = -1;
    q->last_ms = -1;
    q->table = STRM_TABLE_EVENTS;
    struct parser p = {
        .lx = {.src = text, .len = strlen(text), .arena = &q->arena},
        .err = err,
        .q = q,
        .star_at = -1,
    };
    int rc = parse_query(&p);
    if (rc == 0) rc = plan(&p);
    if (rc) {
        if (rc == STRM_ERR_NOMEM) snprintf(err->msg, sizeof err->msg, "out of memory");
        aql_query_free(q);
        return rc;
    }
    *out = q;
    return 0;
}

void aql_query_free(struct aql_query *q)
{
    if (!q) return;
    /* Strings functions made while this thread evaluated the query are dead too (results
     * own copies); this also bounds scratch memory for callers that evaluate outside
     * aql_execute (tests, the fuzzer). */
    aql_scratch_reset();
    for (size_t i = 0; i < q->nsubs; i++) {
        aql_query_free(q->subs[i]->u.sub.q);
        aql_result_free(q->subs[i]->u.sub.vals);
    }
    free(q->subs);
    for (struct aql_regex *r = q->regexes; r; r = r->next)
        aql_regex_free(r->code);
    strm_arena_free(&q->arena);
    free(q);
}
