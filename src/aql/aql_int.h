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

#include <string.h>

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

/* "line L, column C" of byte pos of src (1-based; columns count characters). */
size_t aql_where(const char *src, size_t len, size_t pos, char *buf, size_t size);

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
    AQL_T_DOUBLE, /* AVG, STDEV, DOUBLE(): printed with up to 15 significant digits */
};

struct aql_value {
    enum aql_type type;
    union {
        int64_t i; /* BOOL, INT, TIME */
        double d;  /* DOUBLE */
        struct strm_str s;
        struct strm_ip ip;
        uint8_t mac[6];
    } u;
};

/* ---------------------------------------------------------------- functions (func.c) */

#define AQL_FUNC_MAX_ARGS 8

/*
 * A scalar function: one row of the static table in func.c. The parser checks arity and
 * argument types (converting literals) against the row, so fn always gets nargs values of
 * the declared types (or null values; AQL_T_NULL in args means "any type"); it sets out
 * and never fails. A function that needs per-call state built from literal arguments (a
 * compiled regex) has plan, which the parser calls once with the argument nodes; its
 * result is handed to fn as state. Strings fn creates live in the thread's scratch arena
 * (aql_scratch), valid until the executor moves to the next row.
 */
struct aql_node;
struct aql_func {
    const char *name; /* upper case */
    uint8_t arity;    /* arguments; for variadic functions the least number */
    bool variadic;    /* the last argument type repeats, up to AQL_FUNC_MAX_ARGS */
    enum aql_type args[AQL_FUNC_MAX_ARGS];
    enum aql_type ret;
    void (*fn)(const struct aql_value *args, size_t nargs, const void *state,
               struct aql_value *out);
    /* Builds state from the argument nodes; 0, or an error with msg written. */
    int (*plan)(struct aql_node *const *args, size_t nargs, struct aql_query *q, void **state,
                char *msg, size_t size);
    const char *signature; /* for strm search --functions */
    const char *summary;
};

/* The function named name[0..len) (case-insensitive), or NULL. */
const struct aql_func *aql_func_lookup(const char *name, size_t len);
/* What a known-but-unavailable function (NETWORKNAME, ...) is missing, or NULL. */
const char *aql_func_unavailable(const char *name, size_t len);
/* The known function or aggregate name closest to name (edit distance), or NULL. */
const char *aql_func_suggest(const char *name, size_t len);
/* Edit distance of two strings, case-insensitive, capped at cap + 1. */
size_t aql_edit_distance(const char *a, size_t alen, const char *b, size_t blen, size_t cap);

/* Per-thread scratch memory for strings functions create; reset per row by the executor. */
struct strm_arena *aql_scratch(void);
void aql_scratch_reset(void);
/* The time NOW() returns in this thread's running query. */
extern _Thread_local int64_t aql_now_ms;

/* ---------------------------------------------------------------- expression tree */

enum aql_node_kind {
    AQL_N_LIT,
    AQL_N_COL,
    AQL_N_AGG,     /* aggregate: u.agg; l the argument (NULL for COUNT(*)) */
    AQL_N_ITEMREF, /* HAVING/ORDER BY of a grouped query naming a SELECT alias: u.idx */
    AQL_N_NEG,
    AQL_N_CMP,
    AQL_N_AND,
    AQL_N_OR,
    AQL_N_NOT,
    AQL_N_LIKE,
    AQL_N_ISNULL,
    AQL_N_FUNC,   /* scalar function: u.fn; its arguments are a list of ARG nodes from l */
    AQL_N_ARG,    /* one argument: l the expression, r the next ARG (or NULL) */
    AQL_N_ARITH,  /* l u.arith r: + - * / % */
    AQL_N_IN,     /* l [NOT] IN (r: list of ARG nodes of literals); u.pred.negated */
    AQL_N_MATCH,  /* l [NOT] MATCHES/IMATCHES: u.re */
    AQL_N_TEXT,   /* TEXT SEARCH 'words' on the payload: u.text */
    AQL_N_INCIDR, /* INCIDR('net/bits', l): u.cidr */
    AQL_N_INSUB,  /* l [NOT] IN (SELECT ...): u.sub; the set is filled before the scan */
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
        struct aql_value lit; /* LIT */
        int col;              /* COL: enum strm_col_id */
        struct {
            const struct aql_func *fn;
            void *state;    /* from fn->plan */
        } call;             /* FUNC */
        enum aql_cmp_op op; /* CMP */
        struct {
            int fn;     /* enum aql_agg */
            size_t idx; /* index into the query's aggs and a group's states */
        } agg;          /* AGG */
        size_t idx;     /* ITEMREF */
        char arith;     /* ARITH: one of + - * / % */
        struct {
            void *code; /* pcre2_code (8-bit), JIT-compiled; freed with the query */
            bool negated;
        } re;
        struct {
            const char **words; /* lower case */
            size_t *lens;
            size_t n;
        } text;
        struct {
            struct strm_ip net;
            unsigned bits; /* of the 128-bit form (an IPv4 /8 is /104) */
        } cidr;
        struct {
            struct aql_like like;
            bool negated; /* NOT LIKE; IS NOT NULL */
        } pred;
        struct {
            struct aql_query *q;     /* the subquery: one SELECT item */
            struct aql_result *vals; /* its distinct values, sorted (aql_execute fills) */
            bool negated;
        } sub;
    } u;
};

/* ---------------------------------------------------------------- aggregates */

enum aql_agg {
    AQL_AGG_COUNT, /* COUNT(*) when the node has no argument */
    AQL_AGG_SUM,
    AQL_AGG_AVG,
    AQL_AGG_MIN,
    AQL_AGG_MAX,
    AQL_AGG_FIRST,
    AQL_AGG_LAST,
    AQL_AGG_UNIQUECOUNT,
    AQL_AGG_DISTINCTCOUNT,
    AQL_AGG_STDEV,
    AQL_AGG_STDEVP,
};

/* The aggregate named name[0..len) (case-insensitive): 0 and *out, or -1. */
int aql_agg_lookup(const char *name, size_t len, enum aql_agg *out);
const char *aql_agg_name(enum aql_agg a);

/*
 * While a grouped query computes its output rows, aggregate nodes read the current group's
 * final values and ITEMREF nodes the row's already computed SELECT values from here. Per
 * thread, since search threads run queries concurrently; NULL outside that phase.
 */
struct aql_group_view {
    const struct aql_value *aggs;
    const struct aql_value *items;
};
extern _Thread_local const struct aql_group_view *aql_group_view;

/* ---------------------------------------------------------------- guarded scans (exec.c) */

/* The control of the execution running on this thread (NULL: none). */
extern _Thread_local struct aql_exec_ctl *aql_ctl;

/* Conditions of the running query's WHERE that let scans skip segments (exec.c). */
#define AQL_MAX_PREDS 16
#define AQL_MAX_PRED_KEYS 256
struct aql_scan_plan {
    struct ariel_pred preds[AQL_MAX_PREDS];
    int npreds;
    const void *keys[AQL_MAX_PRED_KEYS];
    uint32_t key_lens[AQL_MAX_PRED_KEYS];
    int nkeys;
    /* ORDER BY starttime [DESC] LIMIT n: scan order and segment skipping (ariel_scan_opts) */
    bool reverse;
    bool (*keep_segment)(int64_t min_time, int64_t max_time, void *karg);
    void *karg;
    /* conditions of WHERE that preds do not express exactly (0: a row meets WHERE if and
     * only if it meets every pred) */
    int inexact;
    /* COUNT(*) alone: segments' rows meeting the preds are counted by the store, not handed
     * out (ariel_scan_opts.count_only); the count is in aql_counted after aql_scan_batch */
    bool count_only;
    /* the flat GROUP BY table fed column vectors (ariel_scan_opts.vec_fn; NULL: events) */
    ariel_vec_fn vec_fn;
    int vec_cols[2], nvec;
    /* UNIQUECOUNT/DISTINCTCOUNT of one string column: its distinct values per segment */
    ariel_distinct_fn distinct_fn;
    int distinct_col;
};
extern _Thread_local uint64_t aql_counted;
extern _Thread_local const struct aql_scan_plan *aql_plan;

/* An integer column's value stored at p in width bytes, as AQL reads it: unsigned below 8
 * bytes, signed at 8. */
static inline int64_t aql_int_at(const void *p, int width)
{
    switch (width) {
    case 1:
        return *(const uint8_t *)p;
    case 2: {
        uint16_t v;
        memcpy(&v, p, 2);
        return v;
    }
    case 4: {
        uint32_t v;
        memcpy(&v, p, 4);
        return v;
    }
    default: {
        int64_t v;
        memcpy(&v, p, 8);
        return v;
    }
    }
}
/*
 * ariel_scan under aql_ctl: every few thousand rows checks cancel, deadline and, through
 * mem(arg) (may be NULL), the memory the search holds. Returns the scan's result, or
 * AQL_ERR_CANCELED / AQL_ERR_TIMEOUT / AQL_ERR_MEMORY.
 */
int aql_scan(struct ariel_store *store, int64_t tmin, int64_t tmax, uint64_t colmask,
             ariel_row_fn fn, void *arg, size_t (*mem)(void *arg));
/* aql_scan handing rows to fn in batches (ariel_scan_opts.batch_fn), over part of nparts of
 * snap (NULL, 0, 0: all of a fresh snapshot). */
int aql_scan_batch(struct ariel_store *store, int64_t tmin, int64_t tmax, uint64_t colmask,
                   ariel_batch_fn fn, void *arg, size_t (*mem)(void *arg),
                   struct ariel_snapshot *snap, int part, int nparts);
/* The message for the AQL_ERR_* codes (and other errors: their strm_err_str). */
void aql_err_message(int rc, char *buf, size_t size);

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
    bool aggregate; /* grouped: GROUP BY or an aggregate anywhere (one group without GROUP BY) */
    struct aql_node **groups; /* GROUP BY expressions */
    size_t ngroups;
    struct aql_node *having;
    struct aql_node **aggs; /* every aggregate node, by u.agg.idx */
    size_t naggs;
    struct aql_node *where;
    struct aql_order_key *keys;
    size_t nkeys;
    int64_t limit;   /* -1: none */
    int64_t last_ms; /* -1: no time clause (default window) */
    uint64_t colmask;
    bool has_start, has_stop;
    int64_t start_ms, stop_ms; /* START/STOP, whole minutes: [start:00.000, stop:59.999] */
    struct aql_regex *regexes; /* compiled patterns, freed by aql_query_free */
    enum strm_table table;     /* FROM events | flows */
    struct aql_node **subs;    /* IN (SELECT ...) nodes, run before this query's scan */
    size_t nsubs;
    bool is_sub; /* a subquery: no time clause of its own means the outer query's window */
};

struct aql_regex {
    void *code;
    struct aql_regex *next;
};

/* Compiles pattern (PCRE2, JIT where available) into *code; on error writes msg. */
int aql_regex_compile(const char *pat, size_t len, bool ci, void **code, char *msg, size_t size);
void aql_regex_free(void *code);
/* Whether the regex matches anywhere in s[0..len). */
bool aql_regex_match(const void *code, const char *s, size_t len);

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

/* Runs a grouped query (agg.c) over [tmin, tmax] into r (stride nitems + nkeys). */
/* How many parallel parts a scan of [tmin, tmax] takes (1: serial): the cores (or
 * aql_set_threads), when the window holds enough rows. */
int aql_parts(struct ariel_store *store, int64_t tmin, int64_t tmax);
/*
 * Runs the nparts parts of a parallel scan of [tmin, tmax] over one snapshot of store:
 * each part k calls aql_scan_batch with fn, ctx[k] and mem, then after(ctx[k], rc,
 * counted) (may be NULL) in its own thread; part 0 runs in the caller's thread, and so do
 * the parts no thread could be started for (those whose ctx skip says so are not run).
 * rc[k] gets each part's scan result. Returns 0, or STRM_ERR_NOMEM without a snapshot.
 */
int aql_run_parts(struct ariel_store *store, int nparts, int64_t tmin, int64_t tmax,
                  uint64_t colmask, ariel_batch_fn fn, void *const *ctx, size_t (*mem)(void *),
                  void (*after)(void *ctx, int rc, uint64_t counted), bool (*skip)(void *ctx),
                  int *rc);
int aql_exec_grouped(const struct aql_query *q, struct ariel_store *store, int64_t tmin,
                     int64_t tmax, uint64_t colmask, struct aql_result *r, struct aql_error *err);

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
    const char *root;        /* JSON: "events" or "flows", after the query's table */
    size_t ncols;
    size_t stride; /* values per row (ncols plus hidden sort keys) */
    const char **names;
    enum aql_type *types;
    struct aql_value *cells; /* nrows * stride, malloc'd */
    size_t nrows, cap;
};

struct aql_result *aql_result_new(const struct aql_query *q, size_t stride);
/* Streaming output (CSV and JSON): the header, one row of values, the end. */
void aql_stream_begin(const struct aql_result *r, enum aql_format fmt, FILE *out);
void aql_stream_row(const struct aql_result *r, const struct aql_value *vals, uint64_t idx,
                    enum aql_format fmt, FILE *out);
void aql_stream_end(const struct aql_result *r, uint64_t nrows, enum aql_format fmt, FILE *out);
/* Appends one row of stride values, copying their strings; NULL on out of memory. */
struct aql_value *aql_result_append(struct aql_result *r, const struct aql_value *vals);

#endif
