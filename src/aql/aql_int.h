/*
 * aql_int.h - private to src/aql: tokens, the typed value model, the expression tree and the
 * query plan shared by the lexer, the parser, the executor and the result writer.
 *
 * Invariants:
 *  - Every node, string and array of a query lives in the query's arena, so aql_query_free
 *    is one arena free and the parser never leaks on an error path.
 *  - After aql_parse succeeds every node carries its static type and every comparison has
 *    operands of compatible types (literals were converted at plan time), so evaluation
 *    never needs to report a type error.
 *  - A value of type AQL_T_NULL means "no value": an empty string, an all-zero IP or MAC.
 *    Integer and time columns always have a value.
 */
#ifndef STRM_AQL_INT_H
#define STRM_AQL_INT_H

#include "aql/aql.h"

/* ---------------------------------------------------------------- lexer */

enum aql_tok_kind {
    AQL_TOK_EOF,
    AQL_TOK_IDENT,  /* bare word: keyword or column name */
    AQL_TOK_QIDENT, /* "double quoted" name */
    AQL_TOK_STRING, /* 'single quoted' literal; '' is a quote */
    AQL_TOK_INT,
    AQL_TOK_STAR,
    AQL_TOK_COMMA,
    AQL_TOK_LPAREN,
    AQL_TOK_RPAREN,
    AQL_TOK_SEMI,
    AQL_TOK_DOT,
    AQL_TOK_PLUS,
    AQL_TOK_MINUS,
    AQL_TOK_SLASH,
    AQL_TOK_PERCENT,
    AQL_TOK_EQ,
    AQL_TOK_NE, /* != or <> */
    AQL_TOK_LT,
    AQL_TOK_LE,
    AQL_TOK_GT,
    AQL_TOK_GE,
};

struct aql_tok {
    enum aql_tok_kind kind;
    size_t pos; /* byte offset of the token's first byte */
    size_t len; /* bytes of source text */
    int64_t ival;
    /* Unquoted text for STRING and QIDENT, NUL-terminated, in the query arena; for IDENT it
     * is the source text. */
    const char *text;
    size_t text_len;
};

struct aql_lexer {
    const char *src;
    size_t len;
    size_t pos;
    struct strm_arena *arena;
};

/* Reads the next token; on failure fills err and returns STRM_ERR_PARSE (or NOMEM). */
int aql_lex_next(struct aql_lexer *lx, struct aql_tok *t, struct aql_error *err);
/* Case-insensitive compare of an IDENT token against an upper-case keyword. */
bool aql_tok_is_kw(const struct aql_tok *t, const char *kw);
/* Writes a short printable rendering of t ("'FORM'", "end of query") into buf. */
void aql_tok_describe(const struct aql_tok *t, const char *src, char *buf, size_t size);

/* ---------------------------------------------------------------- values */

enum aql_type {
    AQL_T_NULL,
    AQL_T_BOOL,
    AQL_T_INT,
    AQL_T_TIME, /* an INT holding ms since the epoch; printed as a date in tables */
    AQL_T_STR,
    AQL_T_IP,
    AQL_T_MAC,
};

struct aql_value {
    enum aql_type type;
    union {
        int64_t i; /* BOOL, INT, TIME */
        struct strm_str s;
        struct strm_ip ip;
        uint8_t mac[6];
    } u;
};

/* ---------------------------------------------------------------- functions (func.c) */

#define AQL_FUNC_MAX_ARGS 4

/*
 * A scalar function: one row of the static table in func.c. The parser checks arity and
 * argument types (converting literals) against the row, so fn always gets arity values of
 * the declared types (or null values); it sets out and never fails.
 */
struct aql_func {
    const char *name; /* upper case */
    uint8_t arity;
    enum aql_type args[AQL_FUNC_MAX_ARGS];
    enum aql_type ret;
    void (*fn)(const struct aql_value *args, struct aql_value *out);
};

/* The function named name[0..len) (case-insensitive), or NULL. */
const struct aql_func *aql_func_lookup(const char *name, size_t len);
/* Writes the comma-separated names of all functions (for error messages) into buf. */
void aql_func_names(char *buf, size_t size);

/* ---------------------------------------------------------------- expression tree */

enum aql_node_kind {
    AQL_N_LIT,
    AQL_N_COL,
    AQL_N_COUNT, /* COUNT(*) */
    AQL_N_NEG,
    AQL_N_CMP,
    AQL_N_AND,
    AQL_N_OR,
    AQL_N_NOT,
    AQL_N_LIKE,
    AQL_N_ISNULL,
    AQL_N_FUNC, /* scalar function: u.fn; its arguments are a list of ARG nodes from l */
    AQL_N_ARG,  /* one argument: l the expression, r the next ARG (or NULL) */
};

enum aql_cmp_op { AQL_OP_EQ, AQL_OP_NE, AQL_OP_LT, AQL_OP_LE, AQL_OP_GT, AQL_OP_GE };

/* A LIKE pattern compiled at plan time. */
struct aql_like {
    const char *pat; /* the pattern with escapes resolved into elems; lower-cased for ILIKE */
    uint8_t *elem;   /* per byte of pat: AQL_LIKE_LIT, AQL_LIKE_ONE, AQL_LIKE_ANY */
    size_t len;
    bool ci;
    bool simple; /* no '_': matched as literal segments between '%' */
};

enum { AQL_LIKE_LIT, AQL_LIKE_ONE, AQL_LIKE_ANY };

struct aql_node {
    enum aql_node_kind kind;
    enum aql_type type; /* static result type */
    size_t pos;         /* where it starts in the text; errors point here */
    size_t end;         /* byte after its last token */
    struct aql_node *l, *r;
    union {
        struct aql_value lit;      /* LIT */
        int col;                   /* COL: enum strm_col_id */
        const struct aql_func *fn; /* FUNC */
        enum aql_cmp_op op;        /* CMP */
        struct {
            struct aql_like like;
            bool negated; /* NOT LIKE; IS NOT NULL */
        } pred;
    } u;
};

/* ---------------------------------------------------------------- query */

struct aql_select_item {
    struct aql_node *expr;
    const char *name; /* alias, column name or expression text */
};

struct aql_order_key {
    struct aql_node *expr;
    bool desc;
};

#define AQL_MAX_ITEMS 256

struct aql_query {
    struct strm_arena arena;
    struct aql_select_item *items;
    size_t nitems;
    bool aggregate; /* every item is COUNT(*) */
    struct aql_node *where;
    struct aql_order_key *keys;
    size_t nkeys;
    int64_t limit;   /* -1: none */
    int64_t last_ms; /* -1: no time clause (default window) */
    uint64_t colmask;
};

/* ---------------------------------------------------------------- evaluation (exec.c) */

/* Evaluates a value expression for one event; strings point into ev or the query. */
void aql_eval(const struct aql_node *n, const struct strm_event *ev, struct aql_value *out);
/* Evaluates a condition: 1 true, 0 false, -1 unknown (a null operand). */
int aql_eval_cond(const struct aql_node *n, const struct strm_event *ev);
/* Orders two values of the same static type; nulls first. */
int aql_value_cmp(const struct aql_value *a, const struct aql_value *b);
/* Whole-value LIKE match of s[0..len). */
bool aql_like_match(const struct aql_like *lk, const char *s, size_t len);
/* Compiles pattern text into lk (arena-allocated). */
int aql_like_compile(struct aql_like *lk, const char *pat, size_t len, bool ci,
                     struct strm_arena *a);

/* ---------------------------------------------------------------- text helpers (result.c) */

/* "YYYY-MM-DD HH:MM:SS.mmm" (UTC) of ms since the epoch; returns length. buf >= 40 bytes. */
size_t aql_time_format(int64_t ms, char *buf, size_t size);
/* Parses "YYYY-MM-DD[( |T)HH:MM[:SS[.mmm]]][Z]" as UTC ms; 0 or STRM_ERR_PARSE. */
int aql_time_parse(const char *s, size_t len, int64_t *out);
/* Parses "aa:bb:cc:dd:ee:ff" (or '-' separated); 0 or STRM_ERR_PARSE. */
int aql_mac_parse(const char *s, size_t len, uint8_t mac[6]);
/* Plain text of a value as CSV/JSON see it (times as ms); returns length, buf >= 64 bytes.
 * Strings are not copied: *p points at the value's own bytes. */
size_t aql_value_text(const struct aql_value *v, char *buf, size_t size, const char **p);

/* ---------------------------------------------------------------- result (result.c) */

struct aql_result {
    struct strm_arena arena; /* every string the cells point to, and the names */
    size_t ncols;
    size_t stride; /* values per row (ncols plus hidden sort keys) */
    const char **names;
    enum aql_type *types;
    struct aql_value *cells; /* nrows * stride, malloc'd */
    size_t nrows, cap;
};

struct aql_result *aql_result_new(const struct aql_query *q, size_t stride);
/* Appends one row of stride values, copying their strings; NULL on out of memory. */
struct aql_value *aql_result_append(struct aql_result *r, const struct aql_value *vals);

#endif
