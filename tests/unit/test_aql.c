/*
 * test_aql.c - unit tests of src/aql: parsing (accepted queries, error messages and their
 * byte positions), typing and null semantics, operator precedence, LIKE/ILIKE matching, IP
 * comparisons, execution against a real ariel store in a temporary directory (filters,
 * ORDER BY stability, LIMIT, top-N, COUNT(*), LAST n MINUTES) and the three output formats
 * (aligned table, RFC 4180 CSV, JSON that stays valid whatever the bytes).
 *
 * Conditions are evaluated on hand-built events through the module's private header, so the
 * expression tests do not depend on the store.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "aql/aql_int.h"

/* ---------------------------------------------------------------- helpers */

static struct aql_query *parse_ok(const char *text)
{
    struct aql_query *q = NULL;
    struct aql_error err;
    int rc = aql_parse(text, &q, &err);
    if (rc != 0) fail_msg("query rejected: %s\n  %s", text, err.msg);
    return q;
}

static void expect_err(const char *text, size_t pos, const char *msg_part)
{
    struct aql_query *q = NULL;
    struct aql_error err;
    int rc = aql_parse(text, &q, &err);
    if (rc == 0) {
        aql_query_free(q);
        fail_msg("query accepted but should fail: %s", text);
    }
    assert_null(q);
    assert_int_equal(rc, STRM_ERR_PARSE);
    if (err.pos != pos || !strstr(err.msg, msg_part))
        fail_msg("query: %s\n  got pos %zu msg '%s'\n  want pos %zu msg containing '%s'", text,
                 err.pos, err.msg, pos, msg_part);
}

/* Evaluates the condition `where` on ev: 1 true, 0 false/unknown. */
static int cond(const char *where, const struct strm_event *ev)
{
    char text[1024];
    snprintf(text, sizeof text, "SELECT * FROM events WHERE %s", where);
    struct aql_query *q = parse_ok(text);
    int r = aql_eval_cond(q->where, ev) > 0;
    aql_query_free(q);
    return r;
}

static struct strm_str S(const char *s) {
    return (struct strm_str){s, (uint32_t)strlen(s)};
}

static void
sample_event(struct strm_event *ev)
{
    strm_event_init(ev);
    ev->starttime = 1764109190123; /* 2025-11-25 22:19:50.123 UTC */
    ev->qid = 1000;
    ev->severity = 5;
    ev->sourceport = 443;
    strm_ip_parse(&ev->sourceip, "10.0.0.5", 8);
    strm_ip_parse(&ev->destinationip, "2001:db8::1", 11);
    ev->username = S("Alice");
    ev->hostname = S("web-01.example.com");
    ev->procid = S("1234");
    ev->message = S("Failed password for root from 10.0.0.5 port 22");
    ev->sourcemac[0] = 0xaa;
    ev->sourcemac[5] = 0x01;
}

/* ---------------------------------------------------------------- parser */

static void test_parse_accepts(void **state)
{
    (void)state;
    static const char *const ok[] = {
        "SELECT * FROM events",
        "select * from EVENTS",
        "SELECT * FROM events;",
        "SELECT * FROM events ;  ",
        "SELECT COUNT(*) FROM events",
        "SELECT count(*) AS n FROM events LAST 3 DAYS",
        "SELECT sourceip, destinationip AS dst, username AS 'User Name' FROM events",
        "SELECT \"sourceip\" AS \"Source\" FROM events",
        "SELECT * FROM events WHERE sourceip = '10.0.0.1' AND (qid = 5 OR NOT severity < 3)",
        "SELECT * FROM events WHERE username LIKE '%adm%' OR username ILIKE 'ROOT'",
        "SELECT * FROM events WHERE username NOT LIKE 'a_c' AND hostname NOT ILIKE '%X'",
        "SELECT * FROM events WHERE qid <> 1 AND qid != 2 AND qid >= 3 AND qid <= 4 AND qid > 0x10",
        "SELECT * FROM events WHERE username IS NULL OR username IS NOT NULL",
        "SELECT * FROM events WHERE qid = -1",
        "SELECT * FROM events WHERE username = 'O''Brien'",
        "SELECT * FROM events ORDER BY starttime DESC, qid ASC, username LIMIT 10 LAST 5 MINUTES",
        "SELECT * FROM events LAST 1 HOUR",
        "SELECT * FROM events LAST 2 HOURS",
        "SELECT * FROM events LAST 1 MINUTE",
        "SELECT * FROM events LAST 1 DAY",
        "SELECT * FROM events LAST 10 MINUTES ORDER BY qid LIMIT 3",
        "SELECT * FROM events ORDER BY qid LAST 10 MINUTES LIMIT 3",
        "SELECT qid AS q FROM events ORDER BY q DESC",
        "SELECT username AS 'User' FROM events ORDER BY 'User'",
        "SELECT * FROM events WHERE starttime > '2026-11-25 22:19' AND devicetime < 1700000000000",
        "SELECT * FROM events WHERE sourcemac = 'aa:bb:cc:dd:ee:ff'",
        "SELECT * FROM events WHERE procid = 1234",
        "SELECT * FROM events -- a comment\n WHERE qid = 1",
        "SELECT *, username FROM events",
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        aql_query_free(parse_ok(ok[i]));
}

static void test_parse_errors(void **state)
{
    (void)state;
    expect_err("SELECT *\n  FORM events", 11, "expected FROM at line 2, column 3, found 'FORM'");
    expect_err("SELECT 'é',\n x FROM events", 14, "unknown column 'x' at line 2, column 2");
    expect_err("SELECT * FORM events", 9, "expected FROM at line 1, column 10, found 'FORM'");
    expect_err("SELECT srcip FROM events", 7,
               "unknown column 'srcip' (did you mean 'sourceip'?) at line 1, column 8");
    expect_err("SELECT usernme FROM events", 7, "(did you mean 'username'?)");
    expect_err("SELECT * FROM events WHERE destinatonport = 1", 27,
               "(did you mean 'destinationport'?)");
    expect_err("SELECT zzzzzzzz FROM events", 7, "unknown column 'zzzzzzzz' at line 1, column 8");
    expect_err("SELECT * FROM logs", 14, "events or flows");
    expect_err("SELECT sourcebytes FROM events", 7, "not in table events (it is a flows column)");
    expect_err("SELECT qid FROM flows", 7, "not in table flows (it is an events column)");
    expect_err("SELECT sourceip FROM flows WHERE username = 'x'", 33, "not in table flows");
    expect_err("SELECT *, * FROM flows", 10, "only once");
    expect_err("SELECT * FROM events WHERE qid IN (SELECT qid, severity FROM events)", 35,
               "exactly one value");
    expect_err("SELECT * FROM events WHERE qid IN (SELECT username FROM events)", 35, "compare");
    expect_err("SELECT * FROM events WHERE qid IN (SELECT qid FROM events", 57, "')'");
    expect_err("SELECT * FROM events WHERE qid IN (SELECT qid FROM events LAST 1 DAYS", 69,
               "end of query");
    expect_err("SELECT * FROM evnts", 14,
               "expected events or flows at line 1, column 15, found 'evnts'");
    expect_err("", 0, "expected SELECT at line 1, column 1, found end of query");
    expect_err("SELECT", 6, "expected an expression at line 1, column 7");
    expect_err("SELECT * FROM events WHERE", 26, "found end of query");
    expect_err("SELECT * FROM events WHERE qid", 27, "WHERE needs a condition");
    expect_err("SELECT * FROM events WHERE sourceip = 'nope'", 38,
               "'nope' is not an IP address at line 1, column 39");
    expect_err("SELECT * FROM events WHERE qid = 'abc'", 33, "is not a number");
    expect_err("SELECT * FROM events WHERE starttime > 'yesterday'", 39, "is not a time");
    expect_err("SELECT * FROM events WHERE sourcemac = '1:2'", 39, "is not a MAC address");
    expect_err("SELECT * FROM events WHERE username = qid", 36, "cannot compare a string with");
    expect_err("SELECT * FROM events WHERE qid = 1 = 2", 35, "cannot compare a condition");
    expect_err("SELECT * FROM events WHERE username = 'abc", 38, "unterminated string literal");
    expect_err("SELECT SUM(username) FROM events", 11, "SUM needs a number, found a string");
    expect_err("SELECT SUM(COUNT(*)) FROM events", 11, "aggregates cannot be nested");
    expect_err("SELECT qid FROM events GROUP BY COUNT(*)", 32,
               "COUNT(*) is not allowed in GROUP BY");
    expect_err("SELECT * FROM events WHERE MAX(qid) > 1", 27,
               "aggregate MAX is not allowed in WHERE");
    expect_err("SELECT MAX(qid) FROM events HAVING severity > 1", 35,
               "HAVING may name only SELECT columns");
    expect_err("SELECT * FROM events LIMIT 3 GROUP BY qid", 29, "GROUP BY must come right after");
    expect_err("SELECT AVG(*) FROM events", 11, "only COUNT takes '*'");
    expect_err("SELECT COUNT(*) FROM events HAVING TEXT SEARCH 'x'", 35,
               "TEXT SEARCH is not allowed in HAVING");
    expect_err("SELECT COUNT(*) + qid FROM events", 18, "column 'qid' is outside an aggregate");
    expect_err("SELECT * FROM events LIMIT 5 ORDER BY qid", 29, "ORDER BY must come before LIMIT");
    expect_err("SELECT * FROM events LIMIT 5 LIMIT 6", 29, "duplicate LIMIT");
    expect_err("SELECT * FROM events LIMIT x", 27, "expected a number after LIMIT");
    expect_err("SELECT * FROM events LAST 5 WEEKS", 28, "expected MINUTES, HOURS or DAYS");
    expect_err("SELECT * FROM events; x", 22,
               "expected end of query at line 1, column 23, found 'x'");
    expect_err("SELECT * FROM events WHERE qid = 1 foo", 35,
               "expected ORDER BY, LIMIT, LAST or end of query");
    expect_err("SELECT * FROM events WHERE qid IN (1, 'x')", 38, "'x' is not a number");
    expect_err("SELECT * FROM events WHERE username MATCHES '(a'", 44, "bad regular expression");
    expect_err("SELECT * FROM events WHERE username MATCHES qid", 44, "needs a 'quoted' regular");
    expect_err("SELECT username + 1 FROM events", 16, "arithmetic needs numbers, found a string");
    expect_err("SELECT * FROM events WHERE INCIDR('10.0.0.0/33', sourceip)", 34,
               "prefix length /33 is out of range");
    expect_err("SELECT * FROM events WHERE INCIDR('10.0.0.0/8', username)", 48,
               "INCIDR needs an IP address");
    expect_err("SELECT * FROM events WHERE TEXT SEARCH ' '", 39, "at least one word");
    expect_err("SELECT * FROM events START '2026-01-01'", 27, "is not a time");
    expect_err("SELECT * FROM events START '2026-01-01 10:00' STOP '2026-01-01 09:00'", 21,
               "STOP is before START");
    expect_err("SELECT * FROM events STOP '2026-01-01 10:00'", 21, "STOP needs a START");
    expect_err("SELECT FOO(qid) FROM events", 7, "unknown function 'FOO'");
    expect_err("SELECT * FROM events WHERE COUNT(*) > 1", 27, "COUNT(*) is not allowed in WHERE");
    expect_err("SELECT * FROM events WHERE username LIKE qid", 41, "needs a 'quoted' pattern");
    expect_err("SELECT * FROM events WHERE qid = 99999999999999999999", 33, "out of range");
    expect_err("SELECT * FROM events WHERE qid = 1 # x", 35, "unexpected character '#'");
    expect_err("SELECT * FROM events WHERE qid = \x01", 33, "unexpected byte 0x01");
    expect_err("SELECT * FROM events WHERE username NOT = 'x'", 40,
               "expected LIKE, ILIKE, IN, BETWEEN, MATCHES or IMATCHES after NOT");
    expect_err("SELECT qid AS FROM events", 14, "expected an alias");
    expect_err("SELECT * FROM events WHERE NOT qid", 31, "NOT needs a condition");

    /* Deep nesting is an error, not a stack overflow. */
    size_t n = 100000;
    char *deep = malloc(n * 2 + 64);
    assert_non_null(deep);
    strcpy(deep, "SELECT * FROM events WHERE ");
    size_t o = strlen(deep);
    for (size_t i = 0; i < n; i++)
        deep[o++] = '(';
    strcpy(deep + o, "qid = 1");
    struct aql_query *q = NULL;
    struct aql_error err;
    assert_int_equal(aql_parse(deep, &q, &err), STRM_ERR_PARSE);
    assert_non_null(strstr(err.msg, "nested too deeply"));
    o = strlen("SELECT * FROM events WHERE ");
    for (size_t i = 0; i < n; i++) {
        memcpy(deep + o, "NOT ", 4);
        o += 4;
        if (o > n) break;
    }
    strcpy(deep + o, "qid = 1");
    assert_int_equal(aql_parse(deep, &q, &err), STRM_ERR_PARSE);
    free(deep);
}

static void test_select_names_and_mask(void **state)
{
    (void)state;
    struct aql_query *q = parse_ok("SELECT sourceip, username AS 'User Name', qid AS \"Q\" FROM "
                                   "events WHERE severity > 3 ORDER BY magnitude");
    assert_int_equal(q->nitems, 3);
    assert_string_equal(q->items[0].name, "sourceip");
    assert_string_equal(q->items[1].name, "User Name");
    assert_string_equal(q->items[2].name, "Q");
    uint64_t want = (1ull << STRM_COL_SOURCEIP) | (1ull << STRM_COL_USERNAME) |
                    (1ull << STRM_COL_QID) | (1ull << STRM_COL_SEVERITY) |
                    (1ull << STRM_COL_MAGNITUDE);
    assert_int_equal(q->colmask, want);
    assert_int_equal(q->limit, -1);
    assert_int_equal(q->last_ms, -1);
    aql_query_free(q);

    q = parse_ok("SELECT * FROM events LIMIT 7 LAST 3 HOURS");
    uint64_t evcols = strm_table_cols(STRM_TABLE_EVENTS);
    assert_int_equal(q->nitems, __builtin_popcountll(evcols));
    for (int c = 0, i = 0; c < STRM_COL__COUNT; c++)
        if (evcols >> c & 1) assert_string_equal(q->items[i++].name, strm_event_cols[c].name);
    assert_int_equal(aql_query_table(q), STRM_TABLE_EVENTS);
    assert_int_equal(q->limit, 7);
    assert_int_equal(q->last_ms, 3 * 3600000);
    aql_query_free(q);

    q = parse_ok("SELECT COUNT(*) FROM events");
    assert_true(q->aggregate);
    assert_string_equal(q->items[0].name, "COUNT");
    aql_query_free(q);

    /* flows: '*' is the flow columns, where it stands */
    q = parse_ok("SELECT protocolid AS p, *, sourcebytes AS b FROM flows");
    uint64_t fcols = strm_table_cols(STRM_TABLE_FLOWS);
    assert_int_equal(aql_query_table(q), STRM_TABLE_FLOWS);
    assert_int_equal(q->nitems, 2 + __builtin_popcountll(fcols));
    assert_string_equal(q->items[0].name, "p");
    assert_string_equal(q->items[1].name, "starttime");
    assert_string_equal(q->items[q->nitems - 1].name, "b");
    assert_true(q->colmask & (1ull << STRM_COL_APPLICATIONDETAIL));
    assert_false(q->colmask & (1ull << STRM_COL_QID));
    assert_true(aql_query_uses_table(q, STRM_TABLE_FLOWS));
    assert_false(aql_query_uses_table(q, STRM_TABLE_EVENTS)); /* `strm search` opens flows only */
    aql_query_free(q);
    /* a subquery (nested) on the other table: both are read */
    q = parse_ok("SELECT COUNT(*) FROM flows WHERE sourceip IN (SELECT sourceip FROM flows "
                 "WHERE destinationip IN (SELECT sourceip FROM events))");
    assert_true(aql_query_uses_table(q, STRM_TABLE_FLOWS));
    assert_true(aql_query_uses_table(q, STRM_TABLE_EVENTS));
    aql_query_free(q);
}

static void test_flow_columns_eval(void **state)
{
    (void)state;
    struct strm_event ev;
    char buf[128];
    strm_event_init(&ev);
    ev.flags = STRM_EV_FLOW;
    ev.protocolid = 6;
    ev.flow.flowdirection = STRM_FLOWDIR_L2R;
    ev.flow.flowtype = STRM_FLOWTYPE_NETFLOW9;
    ev.flow.sourcebytes = 5000000000ull;
    ev.flow.applicationid = 1;
    strm_ip_parse(&ev.sourceip, "10.1.2.3", 8);
    strm_ip_parse(&ev.destinationip, "8.8.8.8", 7);
    struct strm_config cfg;
    strm_config_defaults(&cfg);
    cfg.n_networks = 2;
    snprintf(cfg.networks[0].name, sizeof cfg.networks[0].name, "Corp.Servers");
    strm_ip_parse(&cfg.networks[0].addr, "10.1.0.0", 8);
    cfg.networks[0].prefix = 96 + 16;
    snprintf(cfg.networks[1].name, sizeof cfg.networks[1].name, "Corp");
    strm_ip_parse(&cfg.networks[1].addr, "10.0.0.0", 8);
    cfg.networks[1].prefix = 96 + 8;
    aql_set_network_config(&cfg);
    struct aql_query *q = parse_ok("SELECT flowdirection, flowtype, sourcebytes, "
                                   "PROTOCOLNAME(protocolid), NETWORKNAME(sourceip), "
                                   "FULLNETWORKNAME(sourceip), NETWORKNAME(destinationip) "
                                   "FROM flows WHERE flowdirection = 'L2R' AND "
                                   "sourcebytes > 4000000000");
    assert_int_equal(aql_eval_cond(q->where, &ev), 1);
    const char *want[] = {"L2R",     "NetFlow v9",   "5000000000", "TCP",
                          "Servers", "Corp.Servers", NULL};
    for (size_t i = 0; i < 7; i++) {
        struct aql_value v;
        char tmp[64];
        const char *p;
        aql_eval(q->items[i].expr, &ev, &v);
        if (!want[i]) {
            assert_int_equal(v.type, AQL_T_NULL);
            continue;
        }
        size_t n = aql_value_text(&v, tmp, sizeof tmp, &p);
        snprintf(buf, sizeof buf, "%.*s", (int)n, p);
        assert_string_equal(buf, want[i]);
    }
    aql_query_free(q);
    aql_set_network_config(NULL);
}

/* ---------------------------------------------------------------- evaluation */

static void test_precedence(void **state)
{
    (void)state;
    struct strm_event ev;
    sample_event(&ev);
    /* OR is weaker than AND: true OR (false AND false) */
    assert_true(cond("qid = 1000 OR qid = 1 AND qid = 2", &ev));
    assert_false(cond("(qid = 1000 OR qid = 1) AND qid = 2", &ev));
    /* NOT is stronger than AND: (NOT false) AND false */
    assert_false(cond("NOT qid = 1 AND qid = 2", &ev));
    assert_true(cond("NOT (qid = 1 AND qid = 2)", &ev));
    /* NOT is stronger than OR: (NOT true) OR true */
    assert_true(cond("NOT qid = 1000 OR qid = 1000", &ev));
    assert_false(cond("NOT (qid = 1000 OR qid = 1000)", &ev));
    assert_true(cond("NOT NOT qid = 1000", &ev));
    assert_true(cond("qid = 1 OR qid = 2 OR severity = 5", &ev));
    assert_true(cond("severity = 5 AND qid = 1000 AND sourceport = 443", &ev));
}

static void test_comparisons_and_types(void **state)
{
    (void)state;
    struct strm_event ev;
    sample_event(&ev);
    assert_true(cond("qid = 1000", &ev));
    assert_true(cond("1000 = qid", &ev));
    assert_true(cond("qid == 1000", &ev));
    assert_true(cond("qid <> 999 AND qid != 999", &ev));
    assert_true(cond("qid > 999 AND qid >= 1000 AND qid < 1001 AND qid <= 1000", &ev));
    assert_true(cond("qid = 0x3e8", &ev));
    assert_true(cond("qid > -5", &ev));
    assert_true(cond("qid = '1000'", &ev)); /* a numeric column parses the text */
    /* time column: ms, or a UTC date-time text */
    assert_true(cond("starttime = 1764109190123", &ev));
    assert_true(cond("starttime >= '2025-11-25 22:19:50.123'", &ev));
    assert_true(cond("starttime > '2025-11-25 22:19'", &ev));
    assert_true(cond("starttime < '2025-11-25T22:20:00Z'", &ev));
    assert_false(cond("starttime < '2025-11-25'", &ev));
    /* string columns: bytewise, case-sensitive; a number compares as its decimal text */
    assert_true(cond("username = 'Alice'", &ev));
    assert_false(cond("username = 'alice'", &ev));
    assert_true(cond("username < 'B' AND username > 'Al'", &ev));
    assert_true(cond("procid = 1234", &ev));
    assert_true(cond("procid > 123", &ev)); /* '1234' > '123' as text */
    assert_true(cond("procid < 2", &ev));   /* '1234' < '2' as text */
    /* Keywords and column names are case-insensitive. */
    assert_true(cond("USERNAME = 'Alice' and QID = 1000", &ev));
    /* MAC */
    assert_true(cond("sourcemac = 'AA:00:00:00:00:01'", &ev));
    assert_true(cond("sourcemac = 'aa-00-00-00-00-01'", &ev));
    assert_false(cond("destinationmac = 'aa:00:00:00:00:01'", &ev));
    assert_true(cond("destinationmac IS NULL", &ev));
    /* literal against literal */
    assert_true(cond("1 = 1", &ev));
    assert_true(cond("'a' < 'b'", &ev));
}

static void test_null_semantics(void **state)
{
    (void)state;
    struct strm_event ev;
    sample_event(&ev);
    ev.username = (struct strm_str){NULL, 0};
    ev.hostname = S("");
    /* Comparisons with a null value are unknown: neither = nor != matches. */
    assert_false(cond("username = ''", &ev));
    assert_false(cond("username != ''", &ev));
    assert_false(cond("username = 'x'", &ev));
    assert_false(cond("username != 'x'", &ev));
    assert_false(cond("NOT username = 'x'", &ev));
    assert_false(cond("username LIKE '%'", &ev));
    assert_false(cond("username NOT LIKE 'x'", &ev));
    assert_false(cond("hostname = ''", &ev));
    assert_true(cond("username IS NULL", &ev));
    assert_true(cond("hostname IS NULL", &ev));
    assert_false(cond("username IS NOT NULL", &ev));
    /* unknown OR true is true; unknown AND false is false */
    assert_true(cond("username = 'x' OR qid = 1000", &ev));
    assert_true(cond("NOT (username = 'x' AND qid = 1)", &ev));
    /* A present value compared with '' */
    assert_true(cond("procid != ''", &ev));
    assert_false(cond("procid = ''", &ev));
    /* Numbers always have a value */
    assert_true(cond("devicetime = 0", &ev));
    assert_true(cond("devicetime IS NOT NULL", &ev));
}

static void test_ip(void **state)
{
    (void)state;
    struct strm_event ev;
    sample_event(&ev);
    assert_true(cond("sourceip = '10.0.0.5'", &ev));
    assert_true(cond("'10.0.0.5' = sourceip", &ev));
    assert_false(cond("sourceip = '10.0.0.50'", &ev));
    assert_true(cond("sourceip > '10.0.0.4' AND sourceip < '10.0.0.6'", &ev));
    assert_true(cond("sourceip < '10.0.1.0'", &ev)); /* numeric, not text order */
    assert_true(cond("sourceip > '9.255.255.255'", &ev));
    assert_true(cond("sourceip = '::ffff:10.0.0.5'", &ev));
    assert_true(cond("destinationip = '2001:db8::1'", &ev));
    assert_true(cond("destinationip = '2001:DB8:0:0:0:0:0:1'", &ev));
    assert_true(cond("destinationip != '2001:db8::2'", &ev));
    assert_true(cond("destinationip > sourceip", &ev));
    assert_true(cond("sourceip LIKE '10.0.%'", &ev));
    assert_true(cond("destinationip LIKE '2001:db8:%'", &ev));
    expect_err("SELECT * FROM events WHERE collectorip = '1.2.3.4'", 27, "unknown column");
    expect_err("SELECT * FROM events WHERE sourceip = '10.0.0.256'", 38, "is not an IP address");
    expect_err("SELECT * FROM events WHERE sourceip = 10", 36, "cannot compare an IP address");
    ev.sourceip = (struct strm_ip){{0}};
    assert_false(cond("sourceip = '10.0.0.5'", &ev));
    assert_false(cond("sourceip != '10.0.0.5'", &ev));
    assert_true(cond("sourceip IS NULL", &ev));
}

static bool like(const char *pat, const char *text, bool ci)
{
    struct strm_arena a;
    strm_arena_init(&a, 256);
    struct aql_like lk;
    assert_int_equal(aql_like_compile(&lk, pat, strlen(pat), ci, &a), 0);
    bool m = aql_like_match(&lk, text, strlen(text));
    strm_arena_free(&a);
    return m;
}

static void test_like(void **state)
{
    (void)state;
    struct {
        const char *pat, *text;
        bool ci, want;
    } cases[] = {
        {"abc", "abc", false, true},
        {"abc", "abcd", false, false}, /* anchored */
        {"abc", "xabc", false, false},
        {"ab", "abc", false, false},
        {"%", "", false, true},
        {"%", "anything", false, true},
        {"%%", "x", false, true},
        {"", "", false, true},
        {"", "a", false, false},
        {"a%", "abc", false, true},
        {"a%", "bac", false, false},
        {"%c", "abc", false, true},
        {"%c", "abcd", false, false},
        {"%b%", "abc", false, true},
        {"%x%", "abc", false, false},
        {"a%c", "ac", false, true},
        {"a%c", "abbbc", false, true},
        {"a%c", "abcb", false, false},
        {"%a%b%c%", "xxaxxbxxcxx", false, true},
        {"%a%b%c%", "xxcxxbxxaxx", false, false},
        {"%aba", "ababa", false, true}, /* suffix must not overlap a greedy middle */
        {"ab%ba", "aba", false, false}, /* prefix and suffix may not overlap */
        {"ab%ba", "abba", false, true},
        {"_", "a", false, true},
        {"_", "", false, false},
        {"_", "ab", false, false},
        {"a_c", "abc", false, true},
        {"a_c", "ac", false, false},
        {"%_%", "", false, false},
        {"%_%", "x", false, true},
        {"__%", "a", false, false},
        {"_\xc3\xa9", "x\xc3\xa9", false, true}, /* _ is one UTF-8 character */
        {"_", "\xc3\xa9", false, true},
        {"__", "\xc3\xa9", false, false},
        {"%_b",
         "\xc3\xa9"
         "b",
         false, true},
        {"a\\%", "a%", false, true}, /* escaped wildcards are literals */
        {"a\\%", "ab", false, false},
        {"a\\_", "a_", false, true},
        {"a\\_", "ab", false, false},
        {"%\\%%", "50% off", false, true},
        {"%\\%%", "50 off", false, false},
        {"a\\\\b", "a\\b", false, true},
        {"C:\\Windows%", "C:\\Windows\\System32", false, true}, /* other \ stay literal */
        {"a\\", "a\\", false, true},
        {"ABC", "abc", false, false},
        {"ABC", "abc", true, true},
        {"a%C", "AxxxC", true, true},
        {"%ROOT%", "Failed password for root", true, true},
        {"%r_ot%", "Failed password for ROOT", true, true},
        {"%%%%%%%%%%%%%%%%%%%%b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false, false},
        {"%a_%a_%a_%a_%b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false, false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bool got = like(cases[i].pat, cases[i].text, cases[i].ci);
        if (got != cases[i].want)
            fail_msg("%s '%s' against '%s': got %d", cases[i].ci ? "ILIKE" : "LIKE", cases[i].pat,
                     cases[i].text, got);
    }
    struct strm_event ev;
    sample_event(&ev);
    assert_true(cond("username LIKE 'Al%'", &ev));
    assert_false(cond("username LIKE 'al%'", &ev));
    assert_true(cond("username ILIKE 'al%'", &ev));
    assert_true(cond("username NOT LIKE 'al%'", &ev));
    assert_false(cond("username NOT ILIKE 'al%'", &ev));
    assert_true(cond("message LIKE '%password%root%'", &ev));
    assert_true(cond("qid LIKE '10%'", &ev)); /* numbers match as decimal text */
}

/* ---------------------------------------------------------------- output formats */

static char *write_to_string(const struct aql_result *r, enum aql_format fmt)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    assert_int_equal(aql_result_write(r, fmt, f), 0);
    fclose(f);
    return buf;
}

/* A result built by hand: columns of the query, rows from values. */
static struct aql_result *hand_result(const char *text, const struct aql_value *rows, size_t nrows)
{
    struct aql_query *q = parse_ok(text);
    struct aql_result *r = aql_result_new(q, q->nitems);
    assert_non_null(r);
    for (size_t i = 0; i < nrows; i++)
        assert_non_null(aql_result_append(r, rows + i * q->nitems));
    aql_query_free(q);
    return r;
}

static struct aql_value vstr(const char *s, size_t n)
{
    struct aql_value v = {.type = AQL_T_STR};
    v.u.s.p = s;
    v.u.s.len = (uint32_t)n;
    return v;
}

static struct aql_value vint(enum aql_type t, int64_t i)
{
    struct aql_value v = {.type = t};
    v.u.i = i;
    return v;
}

/* Minimal strict JSON validator (RFC 8259), including UTF-8 validity of strings. */
static const char *js_ws(const char *p)
{
    while (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')
        p++;
    return p;
}

static const char *js_value(const char *p, int depth);

static const char *js_string(const char *p)
{
    if (*p++ != '"') return NULL;
    for (;;) {
        unsigned char c = (unsigned char)*p;
        if (c == '"') return p + 1;
        if (c < 0x20) return NULL;
        if (c == '\\') {
            p++;
            if (*p == 'u') {
                for (int i = 1; i <= 4; i++)
                    if (!strchr("0123456789abcdefABCDEF", p[i]) || !p[i]) return NULL;
                p += 5;
            } else if (*p && strchr("\"\\/bfnrt", *p)) {
                p++;
            } else {
                return NULL;
            }
            continue;
        }
        if (c < 0x80) {
            p++;
            continue;
        }
        int k = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c <= 0xdf ? 2 : 0;
        if (k == 0 || c > 0xf4) return NULL;
        for (int i = 1; i < k; i++)
            if (((unsigned char)p[i] & 0xc0) != 0x80) return NULL;
        p += k;
    }
}

static const char *js_value(const char *p, int depth)
{
    if (depth > 64) return NULL;
    p = js_ws(p);
    if (*p == '{' || *p == '[') {
        char close = *p == '{' ? '}' : ']';
        bool obj = *p == '{';
        p = js_ws(p + 1);
        if (*p == close) return p + 1;
        for (;;) {
            if (obj) {
                p = js_string(js_ws(p));
                if (!p) return NULL;
                p = js_ws(p);
                if (*p++ != ':') return NULL;
            }
            p = js_value(p, depth + 1);
            if (!p) return NULL;
            p = js_ws(p);
            if (*p == ',') {
                p++;
                continue;
            }
            if (*p == close) return p + 1;
            return NULL;
        }
    }
    if (*p == '"') return js_string(p);
    if (!strncmp(p, "null", 4) || !strncmp(p, "true", 4)) return p + 4;
    if (!strncmp(p, "false", 5)) return p + 5;
    const char *s = p;
    if (*p == '-') p++;
    if (*p < '0' || *p > '9') return NULL;
    while (*p >= '0' && *p <= '9')
        p++;
    return p > s ? p : NULL;
}

static bool json_valid(const char *s)
{
    const char *e = js_value(s, 0);
    return e && *js_ws(e) == '\0';
}

static void test_output_csv(void **state)
{
    (void)state;
    struct aql_value rows[] = {
        vstr("plain", 5),         vint(AQL_T_INT, 42),  vint(AQL_T_TIME, 1764109190123),
        vstr("a,b", 3),           vint(AQL_T_INT, -1),  vint(AQL_T_TIME, 0),
        vstr("say \"hi\"", 8),    {.type = AQL_T_NULL}, vint(AQL_T_TIME, 1),
        vstr("two\nlines\r", 10), vint(AQL_T_INT, 0),   vint(AQL_T_TIME, 2),
    };
    struct aql_result *r =
        hand_result("SELECT username AS 'a,name', qid, starttime FROM events", rows, 4);
    assert_int_equal(aql_result_rows(r), 4);
    assert_int_equal(aql_result_cols(r), 3);
    assert_string_equal(aql_result_colname(r, 0), "a,name");
    assert_null(aql_result_colname(r, 3));
    char *out = write_to_string(r, AQL_FORMAT_CSV);
    assert_string_equal(out, "\"a,name\",qid,starttime\r\n"
                             "plain,42,1764109190123\r\n"
                             "\"a,b\",-1,0\r\n"
                             "\"say \"\"hi\"\"\",,1\r\n"
                             "\"two\nlines\r\",0,2\r\n");
    free(out);
    aql_result_free(r);
}

static void test_output_json(void **state)
{
    (void)state;
    static const char weird[] = "q\"b\\s\x01\x1f\x7f\n\t"
                                "\xc3\xa9"         /* é */
                                "\xff\xfe"         /* invalid bytes */
                                "\xc0\xaf"         /* overlong '/' */
                                "\xed\xa0\x80"     /* a surrogate */
                                "\xf4\x90\x80\x80" /* above U+10FFFF */
                                "\xe2\x82";        /* truncated sequence at the end */
    struct aql_value rows[3 * 4];
    memset(rows, 0, sizeof rows);
    rows[0] = vstr(weird, sizeof weird - 1);
    rows[1] = vint(AQL_T_INT, 7);
    rows[2].type = AQL_T_IP;
    strm_ip_parse(&rows[2].u.ip, "10.1.2.3", 8);
    rows[3] = vint(AQL_T_TIME, 1764109190123);
    rows[4].type = AQL_T_NULL;
    rows[5] = vint(AQL_T_INT, 0);
    rows[6].type = AQL_T_NULL;
    rows[7] = vint(AQL_T_TIME, -5);
    rows[8] = vstr("\xe2\x82\xac", 3);
    rows[9] = vint(AQL_T_INT, INT64_MIN);
    rows[10].type = AQL_T_IP;
    strm_ip_parse(&rows[10].u.ip, "fe80::1", 7);
    rows[11] = vint(AQL_T_TIME, INT64_MAX);
    struct aql_result *r = hand_result(
        "SELECT username AS 'we\"ird\x01', qid, sourceip, starttime FROM events", rows, 3);
    char *out = write_to_string(r, AQL_FORMAT_JSON);
    if (!json_valid(out)) fail_msg("invalid JSON: %s", out);
    assert_non_null(strstr(out, "{\"events\":["));
    assert_non_null(strstr(out, "\"q\\\"b\\\\s\\u0001\\u001f\\u007f\\n\\t\xc3\xa9\\ufffd\\ufffd"));
    assert_non_null(strstr(out, "\"qid\":7,\"sourceip\":\"10.1.2.3\",\"starttime\":1764109190123"));
    assert_non_null(strstr(out, "{\"we\\\"ird\\u0001\":null,\"qid\":0,\"sourceip\":null"));
    assert_non_null(strstr(out, "\"sourceip\":\"fe80::1\""));
    free(out);
    aql_result_free(r);

    /* no rows */
    r = hand_result("SELECT qid FROM events", NULL, 0);
    out = write_to_string(r, AQL_FORMAT_JSON);
    assert_string_equal(out, "{\"events\":[]}\n");
    assert_true(json_valid(out));
    free(out);
    aql_result_free(r);
}

static void test_output_table(void **state)
{
    (void)state;
    char longv[300];
    memset(longv, 'x', sizeof longv);
    struct aql_value rows[] = {
        vstr("bob", 3),
        vint(AQL_T_INT, 5),
        vint(AQL_T_TIME, 1764109190123),
        vstr("a\tb\x1b[31m", 9),
        vint(AQL_T_INT, 1234),
        vint(AQL_T_TIME, 0),
        vstr(longv, sizeof longv),
        {.type = AQL_T_NULL},
        vint(AQL_T_TIME, -1),
    };
    struct aql_result *r = hand_result("SELECT username, qid, starttime FROM events", rows, 3);
    char *out = write_to_string(r, AQL_FORMAT_TABLE);
    /* header, separator, 3 rows, count */
    int lines = 0;
    for (char *p = out; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, 6);
    assert_non_null(strstr(out, "2025-11-25 22:19:50.123"));
    assert_non_null(strstr(out, "1970-01-01 00:00:00.000"));
    assert_non_null(strstr(out, "1969-12-31 23:59:59.999"));
    assert_non_null(strstr(out, "a\\tb\\x1b[31m"));
    assert_null(strchr(out, '\x1b'));
    assert_non_null(strstr(out, "(3 rows)\n"));
    /* the long value is cut to 120 characters, ending in ... */
    char cut[130];
    memset(cut, 'x', 117);
    memcpy(cut + 117, "...", 4);
    assert_non_null(strstr(out, cut));
    char over[130];
    memset(over, 'x', 118);
    over[118] = '\0';
    assert_null(strstr(out, over));
    /* columns are aligned: every " | " of the header is at the same offset in each row */
    char *l1 = out, *l3 = strchr(strchr(out, '\n') + 1, '\n') + 1;
    assert_int_equal(strstr(l1, " | ") - l1, strstr(l3, " | ") - l3);
    free(out);
    aql_result_free(r);

    r = hand_result("SELECT COUNT(*) FROM events", (struct aql_value[]){vint(AQL_T_INT, 1)}, 1);
    out = write_to_string(r, AQL_FORMAT_TABLE);
    assert_string_equal(out, "COUNT\n-----\n    1\n(1 row)\n");
    free(out);
    aql_result_free(r);

    enum aql_format f;
    assert_int_equal(aql_format_parse("table", &f), 0);
    assert_int_equal(f, AQL_FORMAT_TABLE);
    assert_int_equal(aql_format_parse("CSV", &f), 0);
    assert_int_equal(f, AQL_FORMAT_CSV);
    assert_int_equal(aql_format_parse("json", &f), 0);
    assert_int_equal(f, AQL_FORMAT_JSON);
    assert_int_not_equal(aql_format_parse("xml", &f), 0);
}

static void test_time_text(void **state)
{
    (void)state;
    char buf[64];
    aql_time_format(1764109190123, buf, sizeof buf);
    assert_string_equal(buf, "2025-11-25 22:19:50.123");
    int64_t ms;
    assert_int_equal(aql_time_parse("2025-11-25 22:19:50.123", 23, &ms), 0);
    assert_int_equal(ms, 1764109190123);
    assert_int_equal(aql_time_parse("2024-02-29", 10, &ms), 0);
    assert_int_equal(ms, 1709164800000);
    assert_int_equal(aql_time_parse("2024/02/29 10:00", 16, &ms), 0);
    assert_int_not_equal(aql_time_parse("2024-13-01", 10, &ms), 0);
    assert_int_not_equal(aql_time_parse("2024-02-29 10", 13, &ms), 0);
    assert_int_not_equal(aql_time_parse("", 0, &ms), 0);
    assert_int_not_equal(aql_time_parse("Z", 1, &ms), 0);
}

/* ---------------------------------------------------------------- execution on a store */

struct store_fixture {
    char dir[256];
    struct ariel_store *store;
};

static void rm_rf(const char *path)
{
    DIR *d = opendir(path);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
            char sub[1024];
            snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
            rm_rf(sub);
        }
        closedir(d);
        rmdir(path);
    } else {
        unlink(path);
    }
}

#define NOW_MS 1764109200000 /* 2025-11-25 22:20:00 UTC */
#define NROWS 1000

static const char *const users[] = {"alice", "bob", "carol", "", "Dave"};

/* Row i: starttime NOW - (NROWS - i) * 100 ms (so all within the last 2 minutes, ascending),
 * qid i, severity i % 10, username users[i % 5], sourceip 10.0.(i/256).(i%256). Plus three old
 * rows 1, 2 and 3 hours back. */
static int store_setup(void **state)
{
    struct store_fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/test_aql.XXXXXX");
    if (!mkdtemp(f->dir)) return -1;
    struct ariel_options opt = {
        .dir = f->dir,
        .fsync = STRM_FSYNC_NEVER,
        .segment_rows = 400,
        .segment_max_age_s = 3600,
    };
    char err[256];
    if (ariel_open(&opt, &f->store, err, sizeof err) != 0) {
        fprintf(stderr, "# ariel_open: %s\n", err);
        return -1;
    }
    struct strm_batch *b = strm_batch_new(NROWS + 3);
    for (int i = 0; i < 3; i++) {
        struct strm_event *ev = strm_batch_add(b);
        ev->starttime = NOW_MS - (int64_t)(i + 1) * 3600000;
        ev->qid = 900000 + (uint32_t)i;
        ev->username = strm_arena_strdup(&b->arena, "old", 3);
    }
    for (int i = 0; i < NROWS; i++) {
        struct strm_event *ev = strm_batch_add(b);
        ev->starttime = NOW_MS - (int64_t)(NROWS - i) * 100;
        ev->qid = (uint32_t)i;
        ev->severity = (uint8_t)(i % 10);
        const char *u = users[i % 5];
        ev->username = strm_arena_strdup(&b->arena, u, strlen(u));
        strm_ip_from_v4(&ev->sourceip, (10u << 24) | (uint32_t)i);
        ev->sourceport = (uint16_t)(i % 300);
        ev->destinationport = (uint16_t)((uint32_t)i * 7919u); /* all over 0..65535 */
    }
    int rc = ariel_append(f->store, b);
    strm_batch_free(b);
    if (rc != 0) return -1;
    *state = f;
    return 0;
}

static int store_teardown(void **state)
{
    struct store_fixture *f = *state;
    if (!f) return 0;
    ariel_close(f->store);
    rm_rf(f->dir);
    free(f);
    return 0;
}

static struct aql_result *run(struct store_fixture *f, const char *text)
{
    struct aql_query *q = parse_ok(text);
    struct aql_result *r = NULL;
    struct aql_error err;
    int rc = aql_execute(q, f->store, NOW_MS, &r, &err);
    aql_query_free(q);
    if (rc != 0) fail_msg("execute failed: %s: %s", text, err.msg);
    return r;
}

static int64_t cell_int(const struct aql_result *r, size_t row, size_t col)
{
    assert_true(row < r->nrows && col < r->ncols);
    return r->cells[row * r->stride + col].u.i;
}

static int64_t count_of(struct store_fixture *f, const char *text)
{
    struct aql_result *r = run(f, text);
    assert_int_equal(aql_result_rows(r), 1);
    int64_t n = cell_int(r, 0, 0);
    aql_result_free(r);
    return n;
}

static void exec_checks(void **state)
{
    struct store_fixture *f = *state;
    /* default window: last 5 minutes, so the three old rows are out */
    assert_int_equal(count_of(f, "SELECT COUNT(*) FROM events"), NROWS);
    assert_int_equal(count_of(f, "SELECT COUNT(*) FROM events LAST 90 MINUTES"), NROWS + 1);
    assert_int_equal(count_of(f, "SELECT COUNT(*) FROM events LAST 150 MINUTES"), NROWS + 2);
    assert_int_equal(count_of(f, "SELECT COUNT(*) FROM events LAST 1 DAY"), NROWS + 3);
    assert_int_equal(count_of(f, "SELECT COUNT(*) FROM events LAST 1 MINUTE"), 600);
    assert_int_equal(count_of(f, "SELECT COUNT(*) AS n FROM events WHERE severity = 3"), 100);
    assert_int_equal(count_of(f, "SELECT COUNT(*) FROM events WHERE username = 'bob'"), 200);
    assert_int_equal(count_of(f, "SELECT COUNT(*) FROM events WHERE username IS NULL"), 200);
    assert_int_equal(count_of(f, "SELECT COUNT(*) FROM events WHERE username != 'bob'"), 600);
    assert_int_equal(count_of(f, "SELECT COUNT(*) FROM events WHERE username ILIKE 'd%'"), 200);
    assert_int_equal(count_of(f, "SELECT COUNT(*) FROM events WHERE sourceip = '10.0.1.44'"), 1);
    assert_int_equal(
        count_of(f, "SELECT COUNT(*) FROM events WHERE sourceip >= '10.0.3.0' LAST 1 DAY"),
        NROWS - 768);
    assert_int_equal(count_of(f, "SELECT COUNT(*) FROM events WHERE starttime >= 1764109199000"),
                     10);
    assert_int_equal(count_of(f, "SELECT COUNT(*) FROM events WHERE username = 'old' LAST 1 DAY"),
                     3);

    /* plain rows in scan (time) order; LIMIT stops early */
    struct aql_result *r =
        run(f, "SELECT qid, username AS u, sourceip FROM events WHERE severity = 7 LIMIT 5");
    assert_int_equal(aql_result_rows(r), 5);
    assert_string_equal(aql_result_colname(r, 1), "u");
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(cell_int(r, i, 0), 7 + 10 * (int64_t)i);
    assert_int_equal(r->cells[0 * r->stride + 1].type, AQL_T_STR);
    assert_memory_equal(r->cells[0 * r->stride + 1].u.s.p, "carol", 5);
    char *csv = write_to_string(r, AQL_FORMAT_CSV);
    assert_string_equal(csv, "qid,u,sourceip\r\n7,carol,10.0.0.7\r\n17,carol,10.0.0.17\r\n"
                             "27,carol,10.0.0.27\r\n37,carol,10.0.0.37\r\n47,carol,10.0.0.47\r\n");
    free(csv);
    aql_result_free(r);

    /* ORDER BY several keys, stable; no LIMIT */
    r = run(f, "SELECT qid, severity FROM events WHERE qid < 30 ORDER BY severity DESC");
    assert_int_equal(aql_result_rows(r), 30);
    for (size_t i = 0; i < 30; i++) {
        assert_int_equal(cell_int(r, i, 1), 9 - (int64_t)i / 3);
        /* ties keep scan order: qid ascending within a severity */
        assert_int_equal(cell_int(r, i, 0), (9 - (int64_t)i / 3) + 10 * ((int64_t)i % 3));
    }
    aql_result_free(r);

    r = run(f, "SELECT qid FROM events WHERE qid < 20 ORDER BY severity ASC, qid DESC");
    assert_int_equal(aql_result_rows(r), 20);
    assert_int_equal(cell_int(r, 0, 0), 10);
    assert_int_equal(cell_int(r, 1, 0), 0);
    assert_int_equal(cell_int(r, 2, 0), 11);
    aql_result_free(r);

    /* top-N: ORDER BY + LIMIT, with a sort key that is not selected */
    r = run(f, "SELECT qid, username FROM events ORDER BY starttime DESC LIMIT 3");
    assert_int_equal(aql_result_rows(r), 3);
    assert_int_equal(aql_result_cols(r), 2);
    assert_int_equal(cell_int(r, 0, 0), NROWS - 1);
    assert_int_equal(cell_int(r, 1, 0), NROWS - 2);
    assert_int_equal(cell_int(r, 2, 0), NROWS - 3);
    assert_memory_equal(r->cells[0 * r->stride + 1].u.s.p, "Dave", 4);
    aql_result_free(r);

    /* top-N ties are stable too: severity 9 rows in scan order */
    r = run(f, "SELECT qid FROM events ORDER BY severity DESC LIMIT 4");
    assert_int_equal(aql_result_rows(r), 4);
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(cell_int(r, i, 0), 9 + 10 * (int64_t)i);
    aql_result_free(r);

    /* string ORDER BY with nulls first, top-N whose string buffers get reused */
    r = run(f, "SELECT username, qid FROM events ORDER BY username DESC, qid DESC LIMIT 250");
    assert_int_equal(aql_result_rows(r), 250);
    assert_memory_equal(r->cells[0].u.s.p, "carol", 5);
    assert_int_equal(cell_int(r, 0, 1), 997);
    assert_memory_equal(r->cells[200 * r->stride].u.s.p, "bob", 3);
    assert_int_equal(cell_int(r, 200, 1), 996);
    aql_result_free(r);
    r = run(f, "SELECT username FROM events ORDER BY username LIMIT 201");
    assert_int_equal(r->cells[0].type, AQL_T_NULL);
    assert_int_equal(r->cells[199 * r->stride].type, AQL_T_NULL);
    assert_memory_equal(r->cells[200 * r->stride].u.s.p, "Dave", 4);
    aql_result_free(r);

    /* ORDER BY an alias */
    r = run(f, "SELECT qid AS q FROM events WHERE qid < 5 ORDER BY q DESC");
    assert_int_equal(cell_int(r, 0, 0), 4);
    aql_result_free(r);

    /* LIMIT 0, empty windows, COUNT with LIMIT 0 */
    r = run(f, "SELECT * FROM events LIMIT 0");
    assert_int_equal(aql_result_rows(r), 0);
    aql_result_free(r);
    r = run(f, "SELECT * FROM events WHERE starttime > 1764109200000");
    assert_int_equal(aql_result_rows(r), 0);
    aql_result_free(r);
    r = run(f, "SELECT COUNT(*) FROM events LIMIT 0");
    assert_int_equal(aql_result_rows(r), 0);
    aql_result_free(r);

    /* SELECT * returns every column in schema order */
    r = run(f, "SELECT * FROM events WHERE qid = 12");
    assert_int_equal(aql_result_rows(r), 1);
    assert_int_equal(aql_result_cols(r), __builtin_popcountll(strm_table_cols(STRM_TABLE_EVENTS)));
    assert_string_equal(aql_result_colname(r, STRM_COL_USERNAME), "username");
    assert_int_equal(cell_int(r, 0, STRM_COL_QID), 12);
    assert_int_equal(cell_int(r, 0, STRM_COL_STARTTIME), NOW_MS - (NROWS - 12) * 100);
    char *json = write_to_string(r, AQL_FORMAT_JSON);
    assert_true(json_valid(json));
    assert_non_null(strstr(json, "\"qid\":12,"));
    assert_non_null(strstr(json, "\"sourceip\":\"10.0.0.12\""));
    free(json);
    aql_result_free(r);
}

static void exec_subqueries(void **state)
{
    struct store_fixture *f = *state;
    /* users of rows with qid < 10: alice bob carol "" Dave; "" is null and never matches */
    assert_int_equal(count_of(f, "SELECT COUNT(*) FROM events WHERE username IN "
                                 "(SELECT username FROM events WHERE qid < 10)"),
                     NROWS / 5 * 4);
    assert_int_equal(count_of(f, "SELECT COUNT(*) FROM events WHERE username NOT IN "
                                 "(SELECT username FROM events WHERE qid < 2) LAST 5 MINUTES"),
                     NROWS / 5 * 2); /* carol, Dave: a null username is unknown, not NOT IN */
    /* the subquery's own clauses: GROUP BY, LIMIT, its own time clause */
    assert_int_equal(count_of(f, "SELECT COUNT(*) FROM events WHERE qid IN (SELECT qid FROM "
                                 "events WHERE severity = 3 ORDER BY qid LIMIT 4)"),
                     4);
    assert_int_equal(count_of(f, "SELECT COUNT(*) FROM events WHERE username IN (SELECT "
                                 "username FROM events GROUP BY username LAST 1 DAYS) "
                                 "LAST 1 DAYS"),
                     NROWS / 5 * 4 + 3);
    /* nested */
    assert_int_equal(count_of(f, "SELECT COUNT(*) FROM events WHERE qid IN (SELECT qid FROM "
                                 "events WHERE username IN (SELECT username FROM events "
                                 "WHERE qid = 7))"),
                     NROWS / 5);
    /* empty subquery */
    assert_int_equal(count_of(f, "SELECT COUNT(*) FROM events WHERE sourceip IN "
                                 "(SELECT sourceip FROM events WHERE qid > 5000000)"),
                     0);
    /* a table the caller did not give */
    struct aql_query *q = parse_ok("SELECT COUNT(*) FROM events WHERE sourceip IN "
                                   "(SELECT sourceip FROM flows)");
    struct aql_result *r = NULL;
    struct aql_error err;
    assert_int_not_equal(aql_execute(q, f->store, NOW_MS, &r, &err), 0);
    assert_non_null(strstr(err.msg, "flows table is not available"));
    aql_query_free(q);
}

static void exec_control(void **state)
{
    struct store_fixture *f = *state;
    struct aql_stores st = {.events = f->store};
    struct aql_result *r = NULL;
    struct aql_error err;
    struct aql_query *q = parse_ok("SELECT * FROM events LAST 1 DAYS");

    struct aql_exec_ctl ctl = {0};
    assert_int_equal(aql_execute_ctl(q, &st, NOW_MS, &ctl, &r, &err), 0);
    assert_int_equal(aql_result_rows(r), NROWS + 3);
    assert_int_equal(atomic_load(&ctl.rows_scanned), NROWS + 3);
    assert_true(atomic_load(&ctl.rows_total) >= NROWS + 3);
    assert_int_equal(atomic_load(&ctl.phase), AQL_PHASE_DONE);
    aql_result_free(r);
    r = NULL;

    struct aql_exec_ctl cancel = {0};
    atomic_store(&cancel.cancel, true);
    assert_int_equal(aql_execute_ctl(q, &st, NOW_MS, &cancel, &r, &err), AQL_ERR_CANCELED);
    assert_null(r);
    assert_string_equal(err.msg, "search canceled");

    struct aql_exec_ctl late = {.deadline_ms = strm_mono_ms() - 1, .timeout_s = 7};
    assert_int_equal(aql_execute_ctl(q, &st, NOW_MS, &late, &r, &err), AQL_ERR_TIMEOUT);
    assert_non_null(strstr(err.msg, "after 7 s (search.timeout)"));

    struct aql_exec_ctl small = {.max_memory = 1000};
    assert_int_equal(aql_execute_ctl(q, &st, NOW_MS, &small, &r, &err), AQL_ERR_MEMORY);
    assert_non_null(strstr(err.msg, "search.max_memory"));
    aql_query_free(q);

    q = parse_ok("SELECT qid, COUNT(*) FROM events GROUP BY qid LAST 1 DAYS");
    struct aql_exec_ctl small2 = {.max_memory = 1000};
    assert_int_equal(aql_execute_ctl(q, &st, NOW_MS, &small2, &r, &err), AQL_ERR_MEMORY);
    assert_non_null(strstr(err.msg, "search.max_memory"));
    aql_query_free(q);
}

static void exec_async(void **state)
{
    struct store_fixture *f = *state;
    struct aql_stores st = {.events = f->store};
    struct aql_search_limits lim = {.max_running = 1, .reuse_s = 60};
    struct aql_searches *m = aql_searches_new(&lim);
    char id[AQL_SEARCH_ID_LEN + 1], id2[AQL_SEARCH_ID_LEN + 1], id3[AQL_SEARCH_ID_LEN + 1];
    struct aql_error err = {0};
    bool reused = true;
    const char *text = "SELECT qid FROM events WHERE qid < 30 ORDER BY qid START '2025-11-25 "
                       "00:00' STOP '2025-11-26 00:00'";
    assert_int_equal(aql_search_create(m, text, &st, id, &reused, &err), 0);
    assert_false(reused);
    assert_int_equal(strlen(id), AQL_SEARCH_ID_LEN);
    /* a syntax error comes back at once */
    assert_int_equal(aql_search_create(m, "SELECT FROM", &st, id2, NULL, &err), STRM_ERR_PARSE);
    assert_non_null(strstr(err.msg, "line 1"));
    /* the same text again shares the search */
    assert_int_equal(aql_search_create(m, text, &st, id2, &reused, &err), 0);
    assert_true(reused);
    assert_string_equal(id, id2);
    assert_int_equal(
        aql_search_create(
            m, "SELECT COUNT(*) FROM events START '2025-11-25 00:00' STOP '2025-11-26 00:00'", &st,
            id3, &reused, &err),
        0);
    assert_false(reused);
    assert_int_equal(aql_search_wait(m, id, 10000), 0);
    assert_int_equal(aql_search_wait(m, id3, 10000), 0);
    struct aql_search_status ss;
    assert_int_equal(aql_search_status(m, id, &ss), 0);
    assert_int_equal(ss.state, AQL_SEARCH_COMPLETED);
    assert_int_equal(ss.progress, 100);
    assert_int_equal(ss.rows, 30);
    assert_true(ss.completed_ms >= ss.created_ms);
    assert_string_equal(aql_search_state_name(ss.state), "COMPLETED");
    /* results in pages */
    char *buf = NULL;
    size_t len = 0;
    char msg[256];
    FILE *out = open_memstream(&buf, &len);
    assert_int_equal(aql_search_results(m, id, 10, 3, AQL_FORMAT_CSV, out, msg, sizeof msg), 0);
    fclose(out);
    assert_string_equal(buf, "qid\r\n10\r\n11\r\n12\r\n");
    free(buf);
    out = open_memstream(&buf, &len);
    assert_int_equal(aql_search_results(m, id, 28, 0, AQL_FORMAT_CSV, out, msg, sizeof msg), 0);
    fclose(out);
    assert_string_equal(buf, "qid\r\n28\r\n29\r\n");
    free(buf);
    out = open_memstream(&buf, &len);
    assert_int_equal(aql_search_results(m, id, 99, 5, AQL_FORMAT_CSV, out, msg, sizeof msg), 0);
    fclose(out);
    assert_string_equal(buf, "qid\r\n");
    free(buf);
    /* unknown ids */
    assert_int_equal(aql_search_status(m, "nope", &ss), STRM_ERR_INVAL);
    assert_int_equal(aql_search_cancel(m, "nope"), STRM_ERR_INVAL);
    out = open_memstream(&buf, &len);
    assert_int_not_equal(aql_search_results(m, "nope", 0, 0, AQL_FORMAT_CSV, out, msg, sizeof msg),
                         0);
    fclose(out);
    free(buf);
    assert_non_null(strstr(msg, "no search nope"));
    /* cancel of a finished search changes nothing */
    assert_int_equal(aql_search_cancel(m, id), 0);
    assert_int_equal(aql_search_status(m, id, &ss), 0);
    assert_int_equal(ss.state, AQL_SEARCH_COMPLETED);
    aql_searches_free(m);

    /* searches still waiting when the manager goes are canceled, nothing leaks or hangs */
    m = aql_searches_new(&(struct aql_search_limits){.max_running = 1});
    for (int i = 0; i < 5; i++)
        assert_int_equal(
            aql_search_create(
                m, "SELECT * FROM events START '2025-11-25 00:00' STOP '2025-11-26 00:00'", &st, id,
                NULL, &err),
            0);
    assert_int_equal(aql_search_cancel(m, id), 0);
    assert_int_equal(aql_search_wait(m, id, 10000), 0);
    assert_int_equal(aql_search_status(m, id, &ss), 0);
    assert_true(ss.state == AQL_SEARCH_CANCELED || ss.state == AQL_SEARCH_COMPLETED);
    aql_searches_free(m);
}

/* Grouped queries scanned by several threads give what one thread gives. */
static void exec_parallel_matches_serial(void **state)
{
    struct store_fixture *f = *state;
    /* every run must see the same snapshot: the segments, not a flush half done */
    assert_int_equal(ariel_flush(f->store), 0);
    static const char *const qs[] = {
        "SELECT COUNT(*), SUM(qid), MIN(qid), MAX(qid), AVG(qid), STDEV(severity), "
        "STDEVP(severity), UNIQUECOUNT(username), DISTINCTCOUNT(sourceip), FIRST(qid), "
        "LAST(qid), MIN(username), MAX(username), FIRST(username), LAST(username) "
        "FROM events LAST 1 DAYS",
        "SELECT username, COUNT(*), SUM(qid), FIRST(qid), LAST(qid), MIN(sourceip), "
        "UNIQUECOUNT(severity) FROM events GROUP BY username LAST 1 DAYS",
        "SELECT severity, qid, COUNT(*) AS n FROM events GROUP BY severity HAVING n > 90 "
        "ORDER BY n DESC, severity LAST 1 DAYS",
        "SELECT sourceip, SUM(qid) AS s FROM events GROUP BY sourceip ORDER BY s DESC LIMIT 7 "
        "LAST 1 DAYS",
        "SELECT COUNT(*) FROM events WHERE qid > 5000 LAST 1 DAYS",
        "SELECT username, AVG(qid) FROM events WHERE severity < 5 GROUP BY username LAST 1 DAYS",
        /* 2-byte keys: the table indexed by the key's bits (vectors; events for two SUM
         * columns and for WHERE), its parts added in part order */
        "SELECT destinationport, COUNT(*), SUM(qid) FROM events GROUP BY destinationport "
        "LAST 1 DAYS",
        "SELECT destinationport, SUM(qid) FROM events GROUP BY destinationport LAST 1 DAYS",
        "SELECT sourceport, SUM(qid), SUM(destinationport), COUNT(*) FROM events "
        "GROUP BY sourceport LAST 1 DAYS",
        "SELECT sourceport, SUM(qid) AS s FROM events WHERE STRLEN(username) > 3 "
        "GROUP BY sourceport ORDER BY s DESC LIMIT 5 LAST 1 DAYS",
        /* rows, not groups: the parts' rows in the order of one scan */
        "SELECT qid, username, sourceip FROM events WHERE qid > 5000 LAST 1 DAYS",
        "SELECT starttime, qid, username FROM events LAST 1 DAYS",
    };
    /* the latest / oldest rows: newest segments first, the others skipped */
    struct aql_result *lr = run(f, "SELECT qid FROM events ORDER BY starttime DESC LIMIT 5 "
                                   "LAST 1 DAYS");
    assert_int_equal(aql_result_rows(lr), 5);
    for (int i = 0; i < 5; i++)
        assert_int_equal(cell_int(lr, (size_t)i, 0), NROWS - 1 - i);
    aql_result_free(lr);
    lr = run(f, "SELECT qid FROM events ORDER BY starttime LIMIT 3 LAST 1 DAYS");
    assert_int_equal(cell_int(lr, 0, 0), 900002);
    assert_int_equal(cell_int(lr, 2, 0), 900000);
    aql_result_free(lr);
    for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++) {
        char *want, *got;
        size_t len;
        aql_set_threads(1);
        struct aql_result *r = run(f, qs[i]);
        FILE *m = open_memstream(&want, &len);
        aql_result_write(r, AQL_FORMAT_CSV, m);
        fclose(m);
        aql_result_free(r);
        /* 2..5 threads, then one thread without the flat group table, and with it handing
         * over to the ordinary groups after 3 groups */
        for (int t = 2; t <= 9; t++) {
            aql_set_threads(t <= 5 ? t : t >= 8 ? t - 5 : 1);
            aql_set_fast_groups(t == 6 ? 0 : t == 7 ? 3 : 1u << 18);
            /* 3 and 4 threads again, the parts cut inside segments (every 16 rows) */
            ariel_set_part_align(t >= 8 ? 16 : 0);
            r = run(f, qs[i]);
            m = open_memstream(&got, &len);
            aql_result_write(r, AQL_FORMAT_CSV, m);
            fclose(m);
            aql_result_free(r);
            if (strcmp(want, got) != 0)
                fail_msg("%d threads differ for %s\n--- 1 thread\n%s--- %d threads\n%s", t, qs[i],
                         want, t, got);
            free(got);
        }
        free(want);
    }
    /* and the 2-byte keys' sums are right: port 7 is rows 7, 307, 607 and 907; the 1000
     * rows have 1000 destination ports (7919 is odd: i * 7919 mod 65536 differs for each),
     * the first of them 0 as the 3 older rows' */
    for (int t = 1; t <= 2; t++) {
        aql_set_threads(t);
        struct aql_result *r = run(f, "SELECT sourceport, SUM(qid), COUNT(*) FROM events "
                                      "GROUP BY sourceport ORDER BY sourceport LAST 1 DAYS");
        assert_int_equal(aql_result_rows(r), 300);
        assert_int_equal(cell_int(r, 7, 0), 7);
        assert_int_equal(cell_int(r, 7, 1), 7 + 307 + 607 + 907);
        assert_int_equal(cell_int(r, 7, 2), 4);
        aql_result_free(r);
        r = run(f, "SELECT sourceport, SUM(qid) FROM events GROUP BY sourceport "
                   "ORDER BY sourceport LAST 1 DAYS"); /* one SUM: its own loop */
        assert_int_equal(cell_int(r, 7, 1), 7 + 307 + 607 + 907);
        assert_int_equal(cell_int(r, 0, 1), 0 + 300 + 600 + 900 + 900000 + 900001 + 900002);
        aql_result_free(r);
        r = run(f, "SELECT destinationport, COUNT(*) FROM events GROUP BY destinationport "
                   "LAST 1 DAYS");
        assert_int_equal(aql_result_rows(r), NROWS);
        aql_result_free(r);
    }
    aql_set_threads(0);
    aql_set_fast_groups(1u << 18);
    ariel_set_part_align(0);
}

static void exec_after_flush(void **state)
{
    struct store_fixture *f = *state;
    assert_int_equal(ariel_flush(f->store), 0);
    exec_checks(state);
}

/* ---------------------------------------------------------------- functions */

static const char *fake_qid_name(uint32_t qid, void *arg)
{
    (void)arg;
    static const char *const names[] = {"SSH Login Failed", "SSH Login Succeeded", "Session Closed",
                                        NULL};
    return names[qid % 4];
}

static const char *fake_qid_description(uint32_t qid, void *arg)
{
    (void)arg;
    return qid == 7 ? "seven" : NULL;
}

static const char *fake_category_name(uint32_t id, void *arg)
{
    (void)arg;
    return id == 3000 ? "Authentication" : id == 3003 ? "Host Login Failed" : NULL;
}

static const char *fake_logsource_name(uint32_t id, void *arg)
{
    return id == 0 ? NULL : (const char *)arg;
}

static const char *fake_type_name(uint32_t id, void *arg)
{
    (void)arg;
    return id == 10 ? "Linux OS" : NULL;
}

static void set_fake_resolvers(void)
{
    struct aql_resolvers r = {
        .qid_name = fake_qid_name,
        .qid_description = fake_qid_description,
        .category_name = fake_category_name,
        .logsource_name = fake_logsource_name,
        .logsource_type_name = fake_type_name,
        .arg = (void *)"web-01 syslog",
    };
    aql_set_resolvers(&r);
}

static void test_functions_parse(void **state)
{
    (void)state;
    struct aql_query *q = parse_ok("SELECT qidname(qid), QIDNAME(qid) AS 'Event', "
                                   "LogSourceName(logsourceid) FROM events "
                                   "WHERE CATEGORYNAME(category) = 'x' ORDER BY "
                                   "LOGSOURCETYPENAME(devicetype)");
    assert_int_equal(q->nitems, 3);
    assert_string_equal(q->items[0].name, "qidname(qid)");
    assert_string_equal(q->items[1].name, "Event");
    assert_int_equal(q->items[0].expr->kind, AQL_N_FUNC);
    assert_int_equal(q->items[0].expr->type, AQL_T_STR);
    /* the columns the arguments name are decoded */
    uint64_t want = (1ull << STRM_COL_QID) | (1ull << STRM_COL_LOGSOURCEID) |
                    (1ull << STRM_COL_CATEGORY) | (1ull << STRM_COL_DEVICETYPE);
    assert_int_equal(q->colmask & want, want);
    aql_query_free(q);
    /* a literal argument converts; QIDDESCRIPTION and ORDER BY an alias */
    aql_query_free(parse_ok("SELECT QIDDESCRIPTION(7) AS d FROM events ORDER BY d"));
    aql_query_free(parse_ok("SELECT QIDNAME('12') FROM events"));
    aql_query_free(parse_ok("SELECT * FROM events WHERE QIDNAME(qid) ILIKE '%login%' AND NOT "
                            "LOGSOURCENAME(logsourceid) IS NULL"));

    expect_err("SELECT FOO(qid) FROM events", 7,
               "unknown function 'FOO' (strm search --functions lists them) at line 1, column 8");
    expect_err("SELECT QIDNAM(qid) FROM events", 7,
               "unknown function 'QIDNAM' (did you mean 'QIDNAME'?)");
    expect_err("SELECT uniqecount(qid) FROM events", 7, "(did you mean 'UNIQUECOUNT'?)");
    expect_err("SELECT ASSETHOSTNAME(sourceip) FROM events", 7,
               "ASSETHOSTNAME is not available: it needs the asset model");
    expect_err("SELECT * FROM events WHERE REFERENCESETCONTAINS('bad', sourceip)", 27,
               "needs reference data");
    expect_err("SELECT * FROM events WHERE INOFFENSE(1)", 27, "needs offenses");
    expect_err("SELECT HOSTNAME(sourceip) FROM events", 7, "needs the asset model");
    expect_err("SELECT REPLACEALL(username, username, 'x') FROM events", 7,
               "must be a 'quoted' literal");
    expect_err("SELECT REPLACEALL('(', username, 'x') FROM events", 7, "REPLACEALL: ");
    expect_err("SELECT CONCAT() FROM events", 14, "CONCAT takes at least 1 argument, found 0");
    expect_err("SELECT LOWER(qid = 1) FROM events", 13, "must be a value, found a condition");
    expect_err("SELECT * FROM events WHERE nosuch(qid) = 1", 27, "unknown function 'nosuch'");
    expect_err("SELECT QIDNAME(qid, qid) FROM events", 20, "QIDNAME takes 1 argument");
    expect_err("SELECT QIDNAME() FROM events", 15, "QIDNAME takes 1 argument, found 0");
    expect_err("SELECT QIDNAME(username) FROM events", 15,
               "argument 1 of QIDNAME must be a number, found a string");
    expect_err("SELECT QIDNAME('abc') FROM events", 15, "'abc' is not a number");
    expect_err("SELECT QIDNAME(qid FROM events", 19, "expected ')' or ','");
    expect_err("SELECT * FROM events WHERE QIDNAME(qid)", 27, "WHERE needs a condition");
    expect_err("SELECT * FROM events WHERE QIDNAME(qid) = sourceip", 40,
               "cannot compare a string with an IP address");
}

static void test_functions_eval(void **state)
{
    (void)state;
    struct strm_event ev;
    sample_event(&ev);
    aql_set_resolvers(NULL);
    assert_false(cond("QIDNAME(qid) IS NOT NULL", &ev)); /* no resolvers: null */
    set_fake_resolvers();
    ev.qid = 4;
    ev.category = 3003;
    ev.highlevelcategory = 3000;
    ev.devicetype = 10;
    ev.logsourceid = 3;
    assert_true(cond("QIDNAME(qid) = 'SSH Login Failed'", &ev));
    assert_true(cond("qidname(qid) ILIKE '%login%'", &ev));
    assert_false(cond("QIDNAME(qid) LIKE '%login%'", &ev));
    assert_true(cond("CATEGORYNAME(category) = 'Host Login Failed'", &ev));
    assert_true(cond("CATEGORYNAME(highlevelcategory) = 'Authentication'", &ev));
    assert_true(cond("LOGSOURCENAME(logsourceid) = 'web-01 syslog'", &ev));
    assert_true(cond("LOGSOURCETYPENAME(devicetype) = 'Linux OS'", &ev));
    assert_true(cond("QIDDESCRIPTION(7) = 'seven'", &ev));
    assert_true(cond("QIDDESCRIPTION(qid) IS NULL", &ev));
    ev.logsourceid = 0;
    assert_true(cond("LOGSOURCENAME(logsourceid) IS NULL", &ev));
    assert_false(cond("LOGSOURCENAME(logsourceid) = 'web-01 syslog'", &ev));
    ev.qid = 3;
    assert_true(cond("QIDNAME(qid) IS NULL", &ev));
    aql_set_resolvers(NULL);
}

static void exec_functions(void **state)
{
    struct store_fixture *f = *state;
    set_fake_resolvers();
    /* qid i of rows 0..999: names cycle through 4 (the 4th is unknown: null) */
    assert_int_equal(count_of(f, "SELECT COUNT(*) FROM events WHERE QIDNAME(qid) ILIKE '%login%'"),
                     500);
    assert_int_equal(
        count_of(f, "SELECT COUNT(*) FROM events WHERE QIDNAME(qid) = 'Session Closed'"), 250);
    assert_int_equal(count_of(f, "SELECT COUNT(*) FROM events WHERE QIDNAME(qid) IS NULL"), 250);
    struct aql_result *r =
        run(f, "SELECT QIDNAME(qid) AS 'Event Name', qid FROM events WHERE qid < 3 ORDER BY "
               "QIDNAME(qid) DESC");
    assert_int_equal(aql_result_rows(r), 3);
    assert_string_equal(aql_result_colname(r, 0), "Event Name");
    const struct aql_value *v = &r->cells[0];
    assert_int_equal(v->type, AQL_T_STR);
    assert_int_equal(v->u.s.len, strlen("Session Closed")); /* byte order: 'e' > 'S' */
    assert_memory_equal(v->u.s.p, "Session Closed", v->u.s.len);
    assert_int_equal(cell_int(r, 0, 1), 2);
    assert_int_equal(cell_int(r, 1, 1), 1);
    assert_int_equal(cell_int(r, 2, 1), 0);
    aql_result_free(r);
    /* top-N path: ORDER BY an alias of a function, with LIMIT */
    r = run(f, "SELECT QIDNAME(qid) AS n FROM events WHERE qid < 8 ORDER BY n LIMIT 2");
    assert_int_equal(aql_result_rows(r), 2);
    assert_int_equal(r->cells[0].type, AQL_T_NULL); /* nulls first */
    assert_int_equal(r->cells[r->stride].type, AQL_T_NULL);
    aql_result_free(r);
    assert_int_equal(
        count_of(f, "SELECT COUNT(*) FROM events WHERE LOGSOURCENAME(logsourceid) IS NULL"), NROWS);
    aql_set_resolvers(NULL);
}

/* ---------------------------------------------------------------- GROUP BY */

static const struct aql_value *cell(const struct aql_result *r, size_t row, size_t col)
{
    assert_true(row < r->nrows && col < r->ncols);
    return &r->cells[row * r->stride + col];
}

static double cell_double(const struct aql_result *r, size_t row, size_t col)
{
    const struct aql_value *v = cell(r, row, col);
    assert_int_equal(v->type, AQL_T_DOUBLE);
    return v->u.d;
}

/* Index of the user name (as stored: "" for null) in users[], or -1. */
static int user_index(const struct aql_value *v)
{
    for (int u = 0; u < 5; u++) {
        size_t n = strlen(users[u]);
        if (v->type == AQL_T_NULL ? n == 0
                                  : (v->u.s.len == n && memcmp(v->u.s.p, users[u], n) == 0))
            return u;
    }
    return -1;
}

static void exec_group_by(void **state)
{
    struct store_fixture *f = *state;

    /* Brute force: read the raw rows and count per (username, severity) in the test. */
    struct aql_result *raw = run(f, "SELECT username, severity, qid FROM events");
    assert_int_equal(aql_result_rows(raw), NROWS);
    int64_t bf_count[5][10] = {{0}}, bf_sum[5][10] = {{0}}, bf_max[5][10], bf_min[5][10];
    for (int u = 0; u < 5; u++)
        for (int s = 0; s < 10; s++) {
            bf_max[u][s] = INT64_MIN;
            bf_min[u][s] = INT64_MAX;
        }
    for (size_t i = 0; i < raw->nrows; i++) {
        int u = user_index(cell(raw, i, 0));
        int64_t sev = cell(raw, i, 1)->u.i, qid = cell(raw, i, 2)->u.i;
        assert_true(u >= 0 && sev >= 0 && sev < 10);
        bf_count[u][sev]++;
        bf_sum[u][sev] += qid;
        if (qid > bf_max[u][sev]) bf_max[u][sev] = qid;
        if (qid < bf_min[u][sev]) bf_min[u][sev] = qid;
    }
    aql_result_free(raw);

    struct aql_result *r = run(f, "SELECT username, severity, COUNT(*) AS n, SUM(qid), MAX(qid), "
                                  "MIN(qid) FROM events GROUP BY username, severity");
    size_t seen = 0;
    int64_t total = 0;
    for (size_t i = 0; i < r->nrows; i++) {
        int u = user_index(cell(r, i, 0));
        int64_t sev = cell(r, i, 1)->u.i;
        assert_true(u >= 0);
        assert_int_equal(cell_int(r, i, 2), bf_count[u][sev]);
        assert_int_equal(cell_int(r, i, 3), bf_sum[u][sev]);
        assert_int_equal(cell_int(r, i, 4), bf_max[u][sev]);
        assert_int_equal(cell_int(r, i, 5), bf_min[u][sev]);
        total += cell_int(r, i, 2);
        seen++;
    }
    size_t nonempty = 0;
    for (int u = 0; u < 5; u++)
        for (int s = 0; s < 10; s++)
            nonempty += bf_count[u][s] > 0;
    assert_int_equal(seen, nonempty);
    assert_int_equal(total, NROWS);
    assert_string_equal(aql_result_colname(r, 2), "n");
    aql_result_free(r);

    /* One group: aggregates without GROUP BY, and the first value of a plain column. */
    r = run(f, "SELECT COUNT(*), COUNT(username), qid, FIRST(qid), LAST(qid), AVG(qid), "
               "UNIQUECOUNT(username), DISTINCTCOUNT(qid), STDEVP(severity), STDEV(severity) "
               "FROM events");
    assert_int_equal(r->nrows, 1);
    assert_int_equal(cell_int(r, 0, 0), NROWS);
    assert_int_equal(cell_int(r, 0, 1), NROWS * 4 / 5); /* empty names are null */
    assert_int_equal(cell_int(r, 0, 2), 0);
    assert_int_equal(cell_int(r, 0, 3), 0);
    assert_int_equal(cell_int(r, 0, 4), NROWS - 1);
    assert_true(cell_double(r, 0, 5) == (NROWS - 1) / 2.0);
    assert_int_equal(cell_int(r, 0, 6), 4);
    int64_t dc = cell_int(r, 0, 7); /* HyperLogLog: within 5% */
    assert_true(dc > NROWS * 95 / 100 && dc < NROWS * 105 / 100);
    /* severity 0..9 uniformly: population variance 8.25, sample 8.25 * n / (n - 1) */
    assert_true(cell_double(r, 0, 8) > 2.8722 && cell_double(r, 0, 8) < 2.8723);
    assert_true(cell_double(r, 0, 9) > 2.8737 && cell_double(r, 0, 9) < 2.8738);
    aql_result_free(r);

    /* Nothing matches: one row, COUNT 0 and null aggregates. */
    r = run(f, "SELECT COUNT(*), MAX(qid), username FROM events WHERE qid > 999999");
    assert_int_equal(r->nrows, 1);
    assert_int_equal(cell_int(r, 0, 0), 0);
    assert_int_equal(cell(r, 0, 1)->type, AQL_T_NULL);
    assert_int_equal(cell(r, 0, 2)->type, AQL_T_NULL);
    aql_result_free(r);

    /* HAVING on an alias and an aggregate, ORDER BY an aggregate, LIMIT. */
    r = run(f, "SELECT severity AS s, COUNT(*) AS n, MAX(qid) AS m FROM events WHERE qid < 95 "
               "GROUP BY s HAVING n >= 10 AND MAX(qid) > 90 ORDER BY m DESC LIMIT 3");
    /* qid 0..94: severity s has 10 rows for s <= 4 and 9 for s >= 5; max = 90 + s */
    assert_int_equal(r->nrows, 3);
    assert_int_equal(cell_int(r, 0, 0), 4);
    assert_int_equal(cell_int(r, 1, 0), 3);
    assert_int_equal(cell_int(r, 2, 0), 2);
    assert_int_equal(cell_int(r, 0, 2), 94);
    aql_result_free(r);

    r = run(f, "SELECT username, COUNT(*) FROM events GROUP BY username ORDER BY COUNT(*) DESC, "
               "username");
    assert_int_equal(r->nrows, 5);
    assert_int_equal(cell(r, 0, 0)->type, AQL_T_NULL); /* nulls sort first, all counts 200 */
    for (size_t i = 0; i < r->nrows; i++)
        assert_int_equal(cell_int(r, i, 1), 200);
    aql_result_free(r);

    /* Group limit: a clear error, not unbounded memory. */
    aql_set_group_limit(100);
    struct aql_query *q = parse_ok("SELECT qid, COUNT(*) FROM events GROUP BY qid");
    struct aql_error err;
    assert_int_not_equal(aql_execute(q, f->store, NOW_MS, &r, &err), 0);
    assert_non_null(strstr(err.msg, "too many groups (more than 100)"));
    aql_query_free(q);
    aql_set_group_limit(1000000);
    r = run(f, "SELECT qid, COUNT(*) FROM events GROUP BY qid");
    assert_int_equal(r->nrows, NROWS);
    aql_result_free(r);

    /* Output of doubles. */
    r = run(f, "SELECT AVG(severity) AS a FROM events WHERE qid < 3");
    char *csv = write_to_string(r, AQL_FORMAT_CSV);
    assert_string_equal(csv, "a\r\n1\r\n");
    free(csv);
    aql_result_free(r);
}

/* ---------------------------------------------------------------- operators */

static void test_operators(void **state)
{
    (void)state;
    struct strm_event ev;
    sample_event(&ev); /* qid 1000, severity 5, sourceport 443, sourceip 10.0.0.5 */
    ev.payload = S("Nov 25 sshd[1234]: Failed password for ROOT from 10.0.0.5 port 22 ssh2");
    assert_true(cond("qid + 1 = 1001", &ev));
    assert_true(cond("qid - 2 * 3 = 994", &ev)); /* precedence */
    assert_true(cond("(qid - 2) * 3 = 2994", &ev));
    assert_true(cond("qid / 3 = 333 AND qid % 3 = 1", &ev));
    assert_false(cond("qid / 0 = 0", &ev)); /* division by zero is null: unknown */
    assert_true(cond("qid / 0 IS NULL", &ev));
    assert_true(cond("-qid + 1000 = 0", &ev));
    assert_true(cond("starttime - 1000 < starttime", &ev));
    assert_true(cond("qid IN (1, 1000, 5)", &ev));
    assert_false(cond("qid IN (1, 2)", &ev));
    assert_true(cond("qid NOT IN (1, 2)", &ev));
    assert_true(cond("username IN ('Bob', 'Alice')", &ev));
    assert_true(cond("sourceip IN ('10.0.0.5', '::1')", &ev));
    assert_false(cond("username NOT IN ('Alice')", &ev));
    assert_true(cond("severity BETWEEN 5 AND 7", &ev));
    assert_true(cond("severity BETWEEN 1 AND 5", &ev));
    assert_false(cond("severity BETWEEN 6 AND 7", &ev));
    assert_true(cond("severity NOT BETWEEN 6 AND 7 AND qid = 1000", &ev));
    assert_true(cond("sourceip BETWEEN '10.0.0.0' AND '10.0.0.255'", &ev));
    assert_true(cond("message MATCHES 'password for [a-z]+ from'", &ev));
    assert_false(cond("message MATCHES '^password'", &ev));
    assert_true(cond("message NOT MATCHES '^password'", &ev));
    assert_false(cond("message MATCHES 'ROOT'", &ev));
    assert_true(cond("message IMATCHES 'ROOT'", &ev));
    assert_true(cond("qid MATCHES '^10+$'", &ev)); /* numbers match as text */
    assert_true(cond("TEXT SEARCH 'failed root'", &ev));
    assert_true(cond("TEXT SEARCH 'FAILED   Password'", &ev));
    assert_false(cond("TEXT SEARCH 'fail'", &ev));         /* word-aligned */
    assert_false(cond("TEXT SEARCH 'failed admin'", &ev)); /* all words */
    assert_true(cond("TEXT SEARCH '10.0.0.5'", &ev));
    assert_true(cond("INCIDR('10.0.0.0/8', sourceip)", &ev));
    assert_true(cond("INCIDR(sourceip, '10.0.0.4/31')", &ev));
    assert_false(cond("INCIDR('10.0.0.0/30', sourceip)", &ev));
    assert_true(cond("INCIDR('0.0.0.0/0', sourceip)", &ev));
    assert_true(cond("INCIDR('2001:db8::/32', destinationip)", &ev));
    assert_false(cond("INCIDR('10.0.0.0/8', destinationip)", &ev));
    assert_true(cond("NOT INCIDR('192.168.0.0/16', sourceip)", &ev));
    ev.payload = S("");
    assert_false(cond("TEXT SEARCH 'failed'", &ev));

    /* TEXT SEARCH reads the payload column. */
    struct aql_query *q = parse_ok("SELECT qid FROM events WHERE TEXT SEARCH 'x'");
    assert_true(q->colmask & (1ull << STRM_COL_PAYLOAD));
    aql_query_free(q);

    /* START/STOP: formats and whole-minute resolution. */
    static const char *const starts[] = {
        "'2025-11-25 22:19'",    "'2025-11-25 22:19:20'", "'2025/11/25 22:19:20'",
        "'2025/11/25-22:19:20'", "'2025:11:25-22:19:20'", "'2025-11-25 22:19:20Z'",
    };
    for (size_t i = 0; i < sizeof starts / sizeof starts[0]; i++) {
        char text[200];
        snprintf(text, sizeof text, "SELECT * FROM events START %s STOP '2025-11-25 22:20:05'",
                 starts[i]);
        q = parse_ok(text);
        assert_true(q->has_start && q->has_stop);
        assert_int_equal(q->start_ms, 1764109140000); /* 22:19:00.000 */
        assert_int_equal(q->stop_ms, 1764109259999);  /* 22:20:59.999 */
        aql_query_free(q);
    }
}

static void exec_operators(void **state)
{
    struct store_fixture *f = *state;
    assert_int_equal(count_of(f, "SELECT COUNT(*) FROM events WHERE qid IN (1, 2, 3, 5000)"), 3);
    assert_int_equal(count_of(f, "SELECT COUNT(*) FROM events WHERE qid BETWEEN 10 AND 19"), 10);
    assert_int_equal(count_of(f, "SELECT COUNT(*) FROM events WHERE qid % 100 = 0"), 10);
    assert_int_equal(count_of(f, "SELECT COUNT(*) FROM events WHERE username IMATCHES '^d'"), 200);
    assert_int_equal(
        count_of(f, "SELECT COUNT(*) FROM events WHERE INCIDR('10.0.1.0/24', sourceip)"), 256);
    /* START..STOP: 22:19:00.000 to 22:19:59.999 holds rows with starttime in that minute:
     * NOW - (NROWS - i) * 100 >= NOW - 60000  <=>  i >= 400 */
    assert_int_equal(count_of(f, "SELECT COUNT(*) FROM events START '2025-11-25 22:19:30' "
                                 "STOP '2025-11-25 22:19:40'"),
                     NROWS - 400);
    assert_int_equal(count_of(f, "SELECT COUNT(*) FROM events START '2025-11-25 19:00'"),
                     NROWS + 3);
    struct aql_result *r = run(f, "SELECT qid * 2 AS d FROM events ORDER BY d DESC LIMIT 1");
    assert_int_equal(cell_int(r, 0, 0), (NROWS - 1) * 2);
    aql_result_free(r);
}

/* ---------------------------------------------------------------- more functions */

/* The text of SELECT expr evaluated on ev, copied into buf. */
static const char *eval_text(const char *expr, const struct strm_event *ev, char *buf, size_t size)
{
    char text[512];
    snprintf(text, sizeof text, "SELECT %s FROM events", expr);
    struct aql_query *q = parse_ok(text);
    struct aql_value v;
    aql_eval(q->items[0].expr, ev, &v);
    char tmp[64];
    const char *p;
    size_t n = aql_value_text(&v, tmp, sizeof tmp, &p);
    if (n >= size) n = size - 1;
    memcpy(buf, p, n);
    buf[n] = '\0';
    aql_query_free(q);
    return buf;
}

static void test_scalar_functions(void **state)
{
    (void)state;
    struct strm_event ev;
    sample_event(&ev); /* username Alice, qid 1000, sourceip 10.0.0.5, starttime 22:19:50.123 */
    char b[256];
#define EQ(expr, want) assert_string_equal(eval_text(expr, &ev, b, sizeof b), want)
    EQ("CONCAT(username, '@', sourceip, ':', qid)", "Alice@10.0.0.5:1000");
    EQ("CONCAT(username)", "Alice");
    EQ("STR(qid)", "1000");
    EQ("STR(sourceip)", "10.0.0.5");
    EQ("LONG('42') + 1", "43");
    EQ("LONG(sourceip)", "167772165");
    EQ("LONG('x')", "");
    EQ("DOUBLE('2.5') * 2", "5");
    EQ("DOUBLE(qid) / 8", "125");
    EQ("STRLEN(username)", "5");
    EQ("STRPOS(message, 'root')", "20");
    EQ("STRPOS(message, 'nope')", "-1");
    EQ("STRPOS(message, 'o', 10)", "12");
    EQ("SUBSTRING(username, 1, 3)", "lic");
    EQ("SUBSTRING(username, 3, 100)", "ce");
    EQ("SUBSTRING(username, 9, 1)", "");
    EQ("LOWER(username)", "alice");
    EQ("UPPER(hostname)", "WEB-01.EXAMPLE.COM");
    EQ("REPLACEALL('[0-9]', message, '#')", "Failed password for root from ##.#.#.# port ##");
    EQ("REPLACEFIRST('o', username, '0')", "Alice");
    EQ("REPLACEFIRST('(\\w+) (\\w+)', message, '$2 $1')",
       "password Failed for root from 10.0.0.5 port 22");
    EQ("BASE64(username)", "QWxpY2U=");
    EQ("BASE64('ab')", "YWI=");
    EQ("BASE64('abc')", "YWJj");
    EQ("DATEFORMAT(starttime, 'yyyy-MM-dd HH:mm:ss')", "2025-11-25 22:19:50");
    EQ("DATEFORMAT(starttime, 'MMM dd hh:mm a')", "Nov 25 10:19 PM");
    EQ("DATEFORMAT(starttime, 'yyyy-MM-dd''T''HH:mm:ss.SSS')", "2025-11-25T22:19:50.123");
    EQ("DATEFORMAT(1764109190123, 'dd/MM/yy')", "25/11/25");
    aql_now_ms = 1764109200000;
    EQ("NOW()", "1764109200000");
    EQ("NOW() - 3600000", "1764105600000");
    EQ("PARSEDATETIME('1 hour ago')", "1764105600000");
    EQ("PARSEDATETIME('2 days ago')", "1763936400000");
    EQ("PARSEDATETIME('2025-11-25 22:00')", "1764108000000");
    EQ("PARSEDATETIME('yesterday')", "");
#undef EQ
    assert_true(cond("starttime > NOW() - 3600000", &ev));
    assert_true(cond("starttime > PARSEDATETIME('1 hour ago')", &ev));
    assert_true(cond("LOWER(username) = 'alice'", &ev));
    assert_true(cond("STRLEN(username) BETWEEN 1 AND 5", &ev));

    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    aql_functions_write(f);
    fclose(f);
    assert_non_null(strstr(buf, "DATEFORMAT(ms, 'yyyy-MM-dd HH:mm:ss') -> string"));
    assert_non_null(strstr(buf, "DISTINCTCOUNT(value) -> integer"));
    assert_non_null(strstr(buf, "NETWORKNAME"));
    free(buf);
}

static void exec_functions_grouped(void **state)
{
    struct store_fixture *f = *state;
    /* GROUP BY an expression, string results from scratch memory survive into the result */
    struct aql_result *r = run(f, "SELECT LOWER(username) AS u, COUNT(*) AS n FROM events "
                                  "WHERE username IS NOT NULL GROUP BY u ORDER BY u");
    assert_int_equal(r->nrows, 4);
    static const char *const want[] = {"alice", "bob", "carol", "dave"};
    for (size_t i = 0; i < 4; i++) {
        const struct aql_value *v = cell(r, i, 0);
        assert_int_equal(v->type, AQL_T_STR);
        assert_int_equal(v->u.s.len, strlen(want[i]));
        assert_memory_equal(v->u.s.p, want[i], v->u.s.len);
        assert_int_equal(cell_int(r, i, 1), 200);
    }
    aql_result_free(r);
    r = run(f, "SELECT CONCAT(username, '-', qid) AS k FROM events ORDER BY qid DESC LIMIT 2");
    assert_int_equal(r->nrows, 2);
    assert_memory_equal(cell(r, 0, 0)->u.s.p, "Dave-999", 8);
    assert_memory_equal(cell(r, 1, 0)->u.s.p, "-998", 4); /* null name is empty */
    aql_result_free(r);
    r = run(f, "SELECT SUM(qid) / COUNT(*) AS mean, AVG(qid) FROM events");
    assert_int_equal(cell_int(r, 0, 0), 499);
    aql_result_free(r);
    assert_int_equal(count_of(f, "SELECT COUNT(*) FROM events WHERE starttime > NOW() - 30000"),
                     299);
}

int main(void)
{
    cmocka_set_message_output(CM_OUTPUT_TAP);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_accepts),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_select_names_and_mask),
        cmocka_unit_test(test_flow_columns_eval),
        cmocka_unit_test(test_precedence),
        cmocka_unit_test(test_comparisons_and_types),
        cmocka_unit_test(test_null_semantics),
        cmocka_unit_test(test_ip),
        cmocka_unit_test(test_like),
        cmocka_unit_test(test_time_text),
        cmocka_unit_test(test_output_csv),
        cmocka_unit_test(test_output_json),
        cmocka_unit_test(test_output_table),
        cmocka_unit_test_setup_teardown(exec_checks, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(exec_subqueries, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(exec_control, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(exec_async, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(exec_parallel_matches_serial, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(exec_after_flush, store_setup, store_teardown),
        cmocka_unit_test(test_functions_parse),
        cmocka_unit_test(test_functions_eval),
        cmocka_unit_test_setup_teardown(exec_functions, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(exec_group_by, store_setup, store_teardown),
        cmocka_unit_test(test_operators),
        cmocka_unit_test_setup_teardown(exec_operators, store_setup, store_teardown),
        cmocka_unit_test(test_scalar_functions),
        cmocka_unit_test_setup_teardown(exec_functions_grouped, store_setup, store_teardown),
    };
    return cmocka_run_group_tests_name("aql", tests, NULL, NULL);
}
