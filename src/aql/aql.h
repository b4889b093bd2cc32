/*
 * aql.h - the interface of src/aql: the Ariel Query Language (QRadar's SQL dialect).
 *
 * Text goes in through aql_parse and becomes a query tree; aql_execute runs it against an
 * ariel store (time pruning by starttime, only the columns the query names are decoded) and
 * yields a result table; aql_result_write prints it as a table, CSV or JSON.
 *
 * Grammar (docs/aql.md has the full reference):
 *   SELECT (* | expr [AS alias], ...) FROM events [WHERE expr]
 *   [GROUP BY expr, ...] [HAVING expr] [ORDER BY expr [ASC|DESC], ...] [LIMIT n]
 *   [LAST n (MINUTES|HOURS|DAYS) | START 'yyyy-MM-dd HH:mm' [STOP '...']]
 * expr: comparisons, AND, OR, NOT, LIKE/ILIKE, MATCHES/IMATCHES (PCRE2), IN, BETWEEN,
 * IS [NOT] NULL, TEXT SEARCH, INCIDR, + - * / %, aggregates (COUNT, SUM, AVG, MIN, MAX,
 * FIRST, LAST, UNIQUECOUNT, DISTINCTCOUNT, STDEV, STDEVP) and the scalar functions of
 * func.c (aql_functions_write lists them). Keywords, column and function names are
 * case-insensitive. The lookup functions (QIDNAME, CATEGORYNAME, LOGSOURCENAME, ...) get
 * their names from the resolvers the program sets with aql_set_resolvers.
 * Without a time clause a query covers the last 5 minutes, as in QRadar.
 */
#ifndef STRM_AQL_H
#define STRM_AQL_H

#include "ariel/ariel.h"
#include "core/core.h"

struct aql_query;
struct aql_result;

struct aql_error {
    size_t pos;    /* byte offset into the query text where the error was found */
    char msg[256]; /* e.g. "expected FROM, found 'FORM'" */
};

enum aql_format { AQL_FORMAT_TABLE, AQL_FORMAT_CSV, AQL_FORMAT_JSON };

/* Parses text; on STRM_ERR_PARSE fills err. The query is freed with aql_query_free. */
int aql_parse(const char *text, struct aql_query **out, struct aql_error *err);
void aql_query_free(struct aql_query *q); /* accepts NULL */
/* Whether ev passes q's WHERE (true when there is none); thread-safe for one q. */
bool aql_query_matches(const struct aql_query *q, const struct strm_event *ev);
/* The table the query reads (FROM events | flows): the caller runs it on that store. */
enum strm_table aql_query_table(const struct aql_query *q);
/* Whether q or one of its subqueries reads table t. */
bool aql_query_uses_table(const struct aql_query *q, enum strm_table t);

/*
 * Runs q against store; now_ms anchors LAST n MINUTES. On error fills err (pos 0) and returns
 * nonzero. The result is freed with aql_result_free.
 */
int aql_execute(const struct aql_query *q, struct ariel_store *store, int64_t now_ms,
                struct aql_result **out, struct aql_error *err);
/* The stores of each table, for queries whose subqueries read another table; NULL: absent. */
struct aql_stores {
    struct ariel_store *events;
    struct ariel_store *flows;
};
/* aql_execute over the store of each table q and its subqueries name. */
int aql_execute_in(const struct aql_query *q, const struct aql_stores *st, int64_t now_ms,
                   struct aql_result **out, struct aql_error *err);

/* Where a running search is (AQL_PHASE_*), for status reports. */
enum aql_phase { AQL_PHASE_WAIT, AQL_PHASE_EXECUTE, AQL_PHASE_SORTING, AQL_PHASE_DONE };

/*
 * Control of one execution: cancel may be set from any thread and the search stops within
 * a few thousand rows with AQL_ERR_CANCELED; past deadline_ms (monotonic, strm_mono_ms; 0:
 * none) it stops with AQL_ERR_TIMEOUT; when results or groups would hold more than
 * max_memory bytes (0: no limit) it stops with AQL_ERR_MEMORY. Progress counters are
 * updated as it goes (rows_total is an estimate from the segments in the time window).
 */
struct aql_exec_ctl {
    _Atomic bool cancel;
    int64_t deadline_ms;
    int timeout_s; /* for the message */
    size_t max_memory;
    _Atomic uint64_t rows_scanned;
    _Atomic uint64_t rows_total;
    _Atomic int phase; /* enum aql_phase */
    /* what the scans skipped (strm search --explain) */
    _Atomic uint32_t segments_in_range, skipped_minmax, skipped_index, skipped_order;
    _Atomic uint64_t rows_skipped_index, rows_skipped_minmax;
    _Atomic uint32_t preds; /* conditions the scans could skip segments by */
};
enum { AQL_ERR_CANCELED = -100, AQL_ERR_TIMEOUT = -101, AQL_ERR_MEMORY = -102 };
/* ---------------------------------------------------------------- async searches (async.c) */

#define AQL_SEARCH_ID_LEN 32 /* hex characters */

enum aql_search_state {
    AQL_SEARCH_WAIT,
    AQL_SEARCH_EXECUTE,
    AQL_SEARCH_SORTING,
    AQL_SEARCH_COMPLETED,
    AQL_SEARCH_CANCELED,
    AQL_SEARCH_ERROR,
};
const char *aql_search_state_name(enum aql_search_state s); /* "WAIT", ... */

struct aql_search_limits {
    int max_running;   /* searches executing at once (default 2); others WAIT */
    int retention_s;   /* finished searches and their results are kept this long (600) */
    int max_kept;      /* at most this many finished searches kept (100) */
    int reuse_s;       /* an identical search completed this recently is reused (0: never) */
    int timeout_s;     /* search.timeout: 0 = none */
    size_t max_memory; /* search.max_memory per search: 0 = none */
};

struct aql_search_status {
    enum aql_search_state state;
    int progress; /* 0-100 */
    uint64_t rows_scanned;
    uint64_t rows; /* result rows (when COMPLETED) */
    int64_t created_ms, started_ms, completed_ms;
    /* what the scans did: segments in the time window, skipped by min/max and by indexes,
     * and the number of WHERE conditions usable for skipping */
    uint32_t segments_in_range, skipped_minmax, skipped_index, skipped_order, conditions;
    uint64_t rows_skipped_index, rows_skipped_minmax; /* in blocks of scanned segments */
    char error[256];
    char query[512]; /* the text (cut) */
};

struct aql_searches;
struct aql_searches *aql_searches_new(const struct aql_search_limits *lim);
/* Cancels every search and waits for them to end; no new ones start. Accepts NULL. */
void aql_searches_shutdown(struct aql_searches *m);
/* aql_searches_shutdown, then frees the searches and their results. Accepts NULL. */
void aql_searches_free(struct aql_searches *m);
/*
 * Parses text (errors come back at once in err) and starts it in the background over the
 * stores (which must outlive the manager); writes its id. With reused non-NULL an identical
 * search running or completed within reuse_s may be shared instead, and *reused says so.
 */
int aql_search_create(struct aql_searches *m, const char *text, const struct aql_stores *st,
                      char id[AQL_SEARCH_ID_LEN + 1], bool *reused, struct aql_error *err);
int aql_search_status(struct aql_searches *m, const char *id, struct aql_search_status *out);
/* Waits up to timeout_ms for the search to finish: 0 done, STRM_ERR_BUSY still running,
 * STRM_ERR_INVAL unknown id. */
int aql_search_wait(struct aql_searches *m, const char *id, int timeout_ms);
/* Writes rows [offset, offset + count) of a COMPLETED search (count 0: all the rest). */
int aql_search_results(struct aql_searches *m, const char *id, size_t offset, size_t count,
                       enum aql_format fmt, FILE *out, char *msg, size_t msgsize);
int aql_search_cancel(struct aql_searches *m, const char *id);
/* Cancels (if running) and drops a search and its results now. */
void aql_search_forget(struct aql_searches *m, const char *id);
/* Calls fn for every kept search, newest first. */
void aql_searches_list(struct aql_searches *m,
                       void (*fn)(const char *id, const struct aql_search_status *, void *),
                       void *arg);
/* aql_result_write of rows [offset, offset + count) (count 0: to the end). */
int aql_result_write_page(const struct aql_result *r, enum aql_format fmt, size_t offset,
                          size_t count, FILE *out);

/* Writes what an execution scanned and skipped (strm search --explain), "# "-prefixed. */
void aql_explain_write(const struct aql_search_status *st, FILE *out);
void aql_ctl_status(const struct aql_exec_ctl *ctl, struct aql_search_status *st);

/*
 * Runs q and writes its result to out as it goes: a query without aggregates or ORDER BY in
 * CSV or JSON streams each row as the scan finds it (memory stays flat whatever the size;
 * the scan stops when out fails, e.g. the reader hung up); any other query is run whole and
 * then written. *rows (may be NULL) gets the rows written. On an error after rows were
 * written, the output is closed properly and the error returned.
 */
int aql_execute_stream(const struct aql_query *q, const struct aql_stores *st, int64_t now_ms,
                       struct aql_exec_ctl *ctl, enum aql_format fmt, FILE *out, uint64_t *rows,
                       struct aql_error *err);
/* Whether aql_execute_stream streams q in fmt. */
bool aql_query_streams(const struct aql_query *q, enum aql_format fmt);

/* aql_execute_in under ctl (may be NULL). */
int aql_execute_ctl(const struct aql_query *q, const struct aql_stores *st, int64_t now_ms,
                    struct aql_exec_ctl *ctl, struct aql_result **out, struct aql_error *err);
void aql_result_free(struct aql_result *r); /* accepts NULL */
size_t aql_result_rows(const struct aql_result *r);
size_t aql_result_cols(const struct aql_result *r);
const char *aql_result_colname(const struct aql_result *r, size_t col);
/* Cell text as printed (times as ISO 8601 UTC with ms for table, ms numbers in csv/json). */
int aql_result_write(const struct aql_result *r, enum aql_format fmt, FILE *out);

/*
 * Where the lookup functions find their names. Each returns a NUL-terminated string that
 * stays valid while the program runs (or NULL: unknown, the function yields null); they
 * are called from search threads concurrently. arg is passed to each.
 */
struct aql_resolvers {
    const char *(*qid_name)(uint32_t qid, void *arg);
    const char *(*qid_description)(uint32_t qid, void *arg);
    const char *(*category_name)(uint32_t category, void *arg);
    const char *(*logsource_name)(uint32_t logsourceid, void *arg);
    const char *(*logsource_type_name)(uint32_t devicetype, void *arg);
    const char *(*application_name)(uint32_t applicationid, void *arg);
    void *arg;
};

/* The network hierarchy NETWORKNAME / FULLNETWORKNAME and INCIDR-style lookups use (cfg must
 * outlive the queries); NULL: none (every address is remote, the functions yield null). */
void aql_set_network_config(const struct strm_config *cfg);

/* Sets (copies) the resolvers; NULL clears them. Call while no query runs (at start). */
void aql_set_resolvers(const struct aql_resolvers *r);

/*
 * Most groups one GROUP BY query may hold (default 50,000,000); beyond it the query fails
 * with "too many groups". Call while no query runs.
 */
void aql_set_group_limit(size_t n);

/*
 * Threads a grouped query scans with (0, the default: one per core, at most 8, and only for
 * 200,000 rows or more; n > 0: exactly n, whatever the size). Call while no query runs.
 */
void aql_set_threads(int n);

/*
 * Groups a GROUP BY of one address or integer column with only COUNT and integer SUM folds
 * in its flat table before it goes the ordinary way (0: never the flat table; default
 * 2^18). Tests. Call while no query runs.
 */
void aql_set_fast_groups(size_t n);

/* Writes a table of every AQL function and aggregate with its signature (strm search
 * --functions). */
void aql_functions_write(FILE *out);

/* Parses "table", "csv" or "json". */
int aql_format_parse(const char *s, enum aql_format *out);

#endif
