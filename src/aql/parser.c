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
 * New operators (IN, BETWEEN, MATCHES) slot in at 40, arithmetic at 50/60; each already
 * yields "is not supported yet" at its position. A name followed by '(' is a function call
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
};

static int next(struct parser *p)
{
    p->prev_end = p->tok.pos + p->tok.len;
    return aql_lex_next(&p->lx, &p->tok, p->err);
}

__attribute__((format(printf, 3, 4))) static int fail_at(struct parser *p, size_t pos,
                                                         const char *fmt, ...)
{
    char what[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    p->err->pos = pos;
    snprintf(p->err->msg, sizeof p->err->msg, "%s at position %zu", what, pos);
    return STRM_ERR_PARSE;
}

static int fail_expected(struct parser *p, const char *what)
{
    char found[64];
    aql_tok_describe(&p->tok, p->lx.src, found, sizeof found);
    p->err->pos = p->tok.pos;
    snprintf(p->err->msg, sizeof p->err->msg, "expected %s at position %zu, found %s", what,
             p->tok.pos, found);
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
    bool ai = a == AQL_T_INT || a == AQL_T_TIME, bi = b == AQL_T_INT || b == AQL_T_TIME;
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

static int parse_count(struct parser *p, const struct aql_tok *name, struct aql_node **out)
{
    /* current token is '(' */
    int rc = next(p);
    if (rc) return rc;
    if (p->tok.kind != AQL_TOK_STAR)
        return fail_expected(p, "'*' (only COUNT(*) is supported yet)");
    if ((rc = next(p)) != 0) return rc;
    if (p->tok.kind != AQL_TOK_RPAREN) return fail_expected(p, "')'");
    if ((rc = next(p)) != 0) return rc;
    struct aql_node *n = node_new(p, AQL_N_COUNT, name->pos);
    if (!n) return STRM_ERR_NOMEM;
    n->type = AQL_T_INT;
    *out = n;
    return 0;
}

/* Checks argument argno (1-based) of f against its declared type, converting a literal. */
static int check_arg(struct parser *p, const struct aql_func *f, int argno, struct aql_node *a)
{
    enum aql_type want = f->args[argno - 1];
    if (types_compatible(a->type, want)) return 0;
    if (a->kind == AQL_N_LIT) {
        int rc = lit_convert(p, a, want);
        if (rc <= 0) return rc;
    }
    return fail_at(p, a->pos, "argument %d of %s must be %s, found %s", argno, f->name,
                   type_name(want), type_name(a->type));
}

/* name '(' [expr {',' expr}] ')': a call of a function of the table in func.c. */
static int parse_function(struct parser *p, const struct aql_tok *name, struct aql_node **out)
{
    /* current token is '(' */
    if (aql_tok_is_kw(name, "COUNT")) return parse_count(p, name, out);
    const struct aql_func *f = aql_func_lookup(name->text, name->text_len);
    if (!f) {
        char known[160];
        aql_func_names(known, sizeof known);
        return fail_at(p, name->pos, "unknown function '%.*s' (known: COUNT, %s)",
                       (int)(name->text_len > 64 ? 64 : name->text_len), name->text, known);
    }
    int rc = next(p);
    if (rc) return rc;
    struct aql_node *fn = node_new(p, AQL_N_FUNC, name->pos);
    if (!fn) return STRM_ERR_NOMEM;
    struct aql_node **tail = &fn->l;
    int nargs = 0;
    if (p->tok.kind != AQL_TOK_RPAREN) {
        for (;;) {
            struct aql_node *e;
            size_t apos = p->tok.pos;
            if ((rc = parse_expr(p, 0, &e)) != 0) return rc;
            if (nargs >= AQL_FUNC_MAX_ARGS || nargs >= f->arity)
                return fail_at(p, apos, "%s takes %u argument%s", f->name, f->arity,
                               f->arity == 1 ? "" : "s");
            if ((rc = check_arg(p, f, nargs + 1, e)) != 0) return rc;
            struct aql_node *arg = node_new(p, AQL_N_ARG, e->pos);
            if (!arg) return STRM_ERR_NOMEM;
            arg->type = e->type;
            arg->l = e;
            *tail = arg;
            tail = &arg->r;
            nargs++;
            if (p->tok.kind != AQL_TOK_COMMA) break;
            if ((rc = next(p)) != 0) return rc;
        }
    }
    if (p->tok.kind != AQL_TOK_RPAREN) return fail_expected(p, "')' or ','");
    if (nargs != f->arity)
        return fail_at(p, p->tok.pos, "%s takes %u argument%s, found %d", f->name, f->arity,
                       f->arity == 1 ? "" : "s", nargs);
    if ((rc = next(p)) != 0) return rc;
    fn->type = f->ret;
    fn->u.fn = f;
    fn->end = p->prev_end;
    *out = fn;
    return 0;
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
        if (aql_tok_is_kw(&t, "TEXT")) return fail_at(p, t.pos, "TEXT SEARCH is not supported yet");
        if (is_reserved(&t)) return fail_expected(p, "an expression");
        if ((rc = next(p)) != 0) return rc;
        if (p->tok.kind == AQL_TOK_LPAREN) return parse_function(p, &t, out);
        if (p->tok.kind == AQL_TOK_DOT)
            return fail_at(p, p->tok.pos, "qualified names are not supported yet");
        /* fall through: a column name */
        __attribute__((fallthrough));
    case AQL_TOK_QIDENT: {
        if (t.kind == AQL_TOK_QIDENT && (rc = next(p)) != 0) return rc;
        int col = strm_col_lookup(t.text, t.text_len);
        if (col < 0)
            return fail_at(p, t.pos, "unknown column '%.*s'",
                           (int)(t.text_len > 64 ? 64 : t.text_len), t.text);
        if (!(n = node_new(p, AQL_N_COL, t.pos))) return STRM_ERR_NOMEM;
        n->u.col = col;
        switch (strm_event_cols[col].type) {
        case STRM_T_TIME:
            n->type = AQL_T_TIME;
            break;
        case STRM_T_INT:
            n->type = AQL_T_INT;
            break;
        case STRM_T_IP:
            n->type = AQL_T_IP;
            break;
        case STRM_T_MAC:
            n->type = AQL_T_MAC;
            break;
        case STRM_T_STR:
            n->type = AQL_T_STR;
            break;
        }
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
        return fail_at(p, t.pos, "arithmetic is not supported yet");
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
            aql_tok_is_kw(&t2, "MATCHES") || aql_tok_is_kw(&t2, "IMATCHES"))
            return fail_at(p, t2.pos, "NOT %.*s is not supported yet", (int)t2.text_len, t2.text);
        return fail_expected(p, "LIKE or ILIKE after NOT");
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
    return fail_at(p, t.pos, "%.*s is not supported yet", (int)t.text_len, t.text);

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

static bool contains_count(const struct aql_node *n)
{
    if (!n) return false;
    if (n->kind == AQL_N_COUNT) return true;
    return contains_count(n->l) || contains_count(n->r);
}

static const struct aql_node *find_count(const struct aql_node *n)
{
    if (!n) return NULL;
    if (n->kind == AQL_N_COUNT) return n;
    const struct aql_node *c = find_count(n->l);
    return c ? c : find_count(n->r);
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
            size_t pos = p->tok.pos;
            if ((rc = next(p)) != 0) return rc;
            for (int c = 0; c < STRM_COL__COUNT; c++) {
                struct aql_node *n = node_new(p, AQL_N_COL, pos);
                if (!n) return STRM_ERR_NOMEM;
                n->u.col = c;
                switch (strm_event_cols[c].type) {
                case STRM_T_TIME:
                    n->type = AQL_T_TIME;
                    break;
                case STRM_T_INT:
                    n->type = AQL_T_INT;
                    break;
                case STRM_T_IP:
                    n->type = AQL_T_IP;
                    break;
                case STRM_T_MAC:
                    n->type = AQL_T_MAC;
                    break;
                case STRM_T_STR:
                    n->type = AQL_T_STR;
                    break;
                }
                if ((rc = add_item(p, n, strm_event_cols[c].name, &cap)) != 0) return rc;
            }
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
            } else if (e->kind == AQL_N_COUNT) {
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
        if ((p->tok.kind == AQL_TOK_IDENT && !is_reserved(&p->tok)) ||
            p->tok.kind == AQL_TOK_QIDENT || p->tok.kind == AQL_TOK_STRING) {
            for (size_t i = 0; i < q->nitems; i++) {
                const char *nm = q->items[i].name;
                if (strlen(nm) == p->tok.text_len &&
                    strncasecmp(nm, p->tok.text, p->tok.text_len) == 0) {
                    e = q->items[i].expr;
                    break;
                }
            }
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

static int parse_query(struct parser *p)
{
    struct aql_query *q = p->q;
    int rc;
    if ((rc = next(p)) != 0) return rc;
    if ((rc = expect_kw(p, "SELECT")) != 0) return rc;
    if ((rc = parse_select_list(p)) != 0) return rc;
    if ((rc = expect_kw(p, "FROM")) != 0) return rc;
    if (aql_tok_is_kw(&p->tok, "FLOWS"))
        return fail_at(p, p->tok.pos, "table flows is not available yet");
    if (!aql_tok_is_kw(&p->tok, "EVENTS")) return fail_expected(p, "events");
    if ((rc = next(p)) != 0) return rc;
    if (accept_kw(p, "WHERE", &rc)) {
        if (rc || (rc = parse_expr(p, 0, &q->where)) != 0) return rc;
        if ((rc = need_cond(p, q->where, "WHERE")) != 0) return rc;
        const struct aql_node *c = find_count(q->where);
        if (c) return fail_at(p, c->pos, "COUNT(*) is not allowed in WHERE");
    }
    if (aql_tok_is_kw(&p->tok, "GROUP") || aql_tok_is_kw(&p->tok, "HAVING"))
        return fail_at(p, p->tok.pos, "%s is not supported yet",
                       aql_tok_is_kw(&p->tok, "GROUP") ? "GROUP BY" : "HAVING");
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
        } else if (aql_tok_is_kw(&p->tok, "START") || aql_tok_is_kw(&p->tok, "STOP")) {
            return fail_at(p, pos, "START/STOP is not supported yet");
        } else if (aql_tok_is_kw(&p->tok, "GROUP") || aql_tok_is_kw(&p->tok, "HAVING")) {
            return fail_at(p, pos, "%s is not supported yet",
                           aql_tok_is_kw(&p->tok, "GROUP") ? "GROUP BY" : "HAVING");
        } else if (aql_tok_is_kw(&p->tok, "PARAMETERS") || aql_tok_is_kw(&p->tok, "INTO")) {
            return fail_at(p, pos, "%.*s is not supported yet", (int)p->tok.text_len, p->tok.text);
        } else {
            break;
        }
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

/* Checks what the grammar alone cannot: aggregates, and computes the column mask. */
static int plan(struct parser *p)
{
    struct aql_query *q = p->q;
    size_t ncount = 0;
    const struct aql_node *plain = NULL;
    for (size_t i = 0; i < q->nitems; i++) {
        const struct aql_node *e = q->items[i].expr;
        if (e->kind == AQL_N_COUNT) {
            ncount++;
        } else {
            const struct aql_node *c = find_count(e);
            if (c) return fail_at(p, c->pos, "COUNT(*) inside an expression is not supported yet");
            if (!plain) plain = e;
        }
        q->colmask |= colmask_of(e);
    }
    if (ncount && plain)
        return fail_at(p, plain->pos,
                       "GROUP BY is not supported yet: cannot mix COUNT(*) with other columns");
    q->aggregate = ncount > 0;
    for (size_t i = 0; i < q->nkeys; i++) {
        const struct aql_node *e = q->keys[i].expr;
        if (q->aggregate && e->kind != AQL_N_COUNT)
            return fail_at(p, e->pos,
                           "GROUP BY is not supported yet: ORDER BY a column of a "
                           "COUNT(*) query");
        if (!q->aggregate && contains_count(e))
            return fail_at(p, e->pos, "COUNT(*) in ORDER BY needs GROUP BY (not supported yet)");
        q->colmask |= colmask_of(e);
    }
    q->colmask |= colmask_of(q->where);
    return 0;
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
    struct parser p = {
        .lx = {.src = text, .len = strlen(text), .arena = &q->arena},
        .err = err,
        .q = q,
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
    strm_arena_free(&q->arena);
    free(q);
}
