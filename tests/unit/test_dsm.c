/*
 * test_dsm.c - the DSM framework: helper functions for DSM authors (time formats, key=value
 * scanning, properties, CEF/LEEF splitting, protocol names, addresses), the category table,
 * the QID map over every registered DSM, the parse loop (hint, fallback to "stored"), and
 * the fields the generic CEF, LEEF, JSON and key=value DSMs extract.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collect/collect.h"
#include "dsm/dsm.h"

static struct strm_arena arena;

static int setup(void **state)
{
    (void)state;
    setenv("TZ", "UTC", 1);
    strm_arena_init(&arena, 4096);
    return dsm_init();
}

static int teardown(void **state)
{
    (void)state;
    strm_arena_free(&arena);
    return 0;
}

/* ---------------------------------------------------------------- time */

static int64_t tm(enum dsm_time_fmt f, const char *s, int tz)
{
    int64_t ms = -1;
    if (!dsm_parse_time(f, s, strlen(s), tz, &ms)) return -1;
    return ms;
}

#define T_2024_05_01_12 1714564800000LL /* 2024-05-01T12:00:00Z */

static void test_time_iso(void **state)
{
    (void)state;
    assert_int_equal(tm(DSM_TIME_ISO8601, "2024-05-01T12:00:00Z", 0), T_2024_05_01_12);
    assert_int_equal(tm(DSM_TIME_ISO8601, "2024-05-01 12:00:00Z", 0), T_2024_05_01_12);
    assert_int_equal(tm(DSM_TIME_ISO8601, "2024-05-01T12:00:00.5Z", 0), T_2024_05_01_12 + 500);
    assert_int_equal(tm(DSM_TIME_ISO8601, "2024-05-01T12:00:00.123456789Z", 0),
                     T_2024_05_01_12 + 123);
    assert_int_equal(tm(DSM_TIME_ISO8601, "2024-05-01T14:00:00+02:00", 0), T_2024_05_01_12);
    assert_int_equal(tm(DSM_TIME_ISO8601, "2024-05-01T14:00:00+0200", 0), T_2024_05_01_12);
    assert_int_equal(tm(DSM_TIME_ISO8601, "2024-05-01T07:30:00-04:30", 0), T_2024_05_01_12);
    assert_int_equal(tm(DSM_TIME_ISO8601, "2024-05-01T12:00:00 +00:00", 0), T_2024_05_01_12);
    /* no zone: tz_min applies (minutes east of UTC) */
    assert_int_equal(tm(DSM_TIME_ISO8601, "2024-05-01T13:00:00", 60), T_2024_05_01_12);
    assert_int_equal(tm(DSM_TIME_ISO8601, "2024-05-01T12:00", 0), T_2024_05_01_12);
    /* edges */
    assert_int_equal(tm(DSM_TIME_ISO8601, "1970-01-01T00:00:00Z", 0), 0);
    assert_int_equal(tm(DSM_TIME_ISO8601, "2024-02-29T00:00:00Z", 0), 1709164800000LL);
    assert_int_equal(tm(DSM_TIME_ISO8601, "2000-02-29T00:00:00Z", 0), 951782400000LL);
    assert_int_equal(tm(DSM_TIME_ISO8601, "9999-12-31T23:59:59Z", 0), 253402300799000LL);
    assert_int_equal(tm(DSM_TIME_ISO8601, "2024-12-31T23:59:59.999Z", 0), 1735689599999LL);
    assert_int_equal(tm(DSM_TIME_ISO8601, "2025-01-01T00:00:00Z", 0), 1735689600000LL);
    assert_int_equal(tm(DSM_TIME_ISO8601, "1969-12-31T23:59:59Z", 0), -1000);
    /* invalid */
    assert_int_equal(tm(DSM_TIME_ISO8601, "2023-02-29T00:00:00Z", 0), -1);
    assert_int_equal(tm(DSM_TIME_ISO8601, "1900-02-29T00:00:00Z", 0), -1);
    assert_int_equal(tm(DSM_TIME_ISO8601, "2024-13-01T00:00:00Z", 0), -1);
    assert_int_equal(tm(DSM_TIME_ISO8601, "2024-04-31T00:00:00Z", 0), -1);
    assert_int_equal(tm(DSM_TIME_ISO8601, "2024-05-01T24:00:00Z", 0), -1);
    assert_int_equal(tm(DSM_TIME_ISO8601, "2024-05-01T12:60:00Z", 0), -1);
    assert_int_equal(tm(DSM_TIME_ISO8601, "2024-05-01T12:00:00Zjunk", 0), -1);
    assert_int_equal(tm(DSM_TIME_ISO8601, "2024-05-01T12:00:00+2", 0), -1);
    assert_int_equal(tm(DSM_TIME_ISO8601, "2024-05-01", 0), -1);
    assert_int_equal(tm(DSM_TIME_ISO8601, "", 0), -1);
    int64_t ms;
    assert_false(dsm_parse_time(DSM_TIME_ISO8601, "2024-05-01T12:00:00Z", 10, 0, &ms));
}

static void test_time_other(void **state)
{
    (void)state;
    assert_int_equal(tm(DSM_TIME_YMD_HMS, "2024/05/01 12:00:00", 0), T_2024_05_01_12);
    assert_int_equal(tm(DSM_TIME_YMD_HMS, "2024-05-01 12:00:00", 0), T_2024_05_01_12);
    assert_int_equal(tm(DSM_TIME_YMD_HMS, "2024-05-01 14:00:00", 120), T_2024_05_01_12);
    assert_int_equal(tm(DSM_TIME_YMD_HMS, "2024-05-01 12:00:00.250", 0), T_2024_05_01_12 + 250);
    assert_int_equal(tm(DSM_TIME_YMD_HMS, "2024/05-01 12:00:00", 0), -1);
    assert_int_equal(tm(DSM_TIME_YMD_HMS, "2024-05-01 12:00", 0), -1);

    assert_int_equal(tm(DSM_TIME_CLF, "01/May/2024:14:00:00 +0200", 0), T_2024_05_01_12);
    assert_int_equal(tm(DSM_TIME_CLF, "01/May/2024:12:00:00 +0000", 0), T_2024_05_01_12);
    assert_int_equal(tm(DSM_TIME_CLF, "01/may/2024:05:00:00 -0700", 0), T_2024_05_01_12);
    assert_int_equal(tm(DSM_TIME_CLF, "01/May/2024:12:00:00", 0), T_2024_05_01_12);
    assert_int_equal(tm(DSM_TIME_CLF, "31/Dec/2024:23:59:59 +0000", 0), 1735689599000LL);
    assert_int_equal(tm(DSM_TIME_CLF, "01/Foo/2024:12:00:00 +0000", 0), -1);
    assert_int_equal(tm(DSM_TIME_CLF, "32/May/2024:12:00:00 +0000", 0), -1);

    assert_int_equal(tm(DSM_TIME_MON_D_Y_HMS, "May 01 2024 12:00:00", 0), T_2024_05_01_12);
    assert_int_equal(tm(DSM_TIME_MON_D_Y_HMS, "May  1 2024 12:00:00", 0), T_2024_05_01_12);
    assert_int_equal(tm(DSM_TIME_MON_D_Y_HMS, "May 1 2024 12:00:00", 0), T_2024_05_01_12);
    assert_int_equal(tm(DSM_TIME_MON_D_Y_HMS, "May 01 2024 12:00:00.042", 0), T_2024_05_01_12 + 42);
    assert_int_equal(tm(DSM_TIME_MON_D_Y_HMS, "May 01 2024 12:00:00 UTC", 300), T_2024_05_01_12);
    assert_int_equal(tm(DSM_TIME_MON_D_Y_HMS, "May 01 2024 17:00:00", 300), T_2024_05_01_12);
    assert_int_equal(tm(DSM_TIME_MON_D_Y_HMS, "Feb 29 2023 12:00:00", 0), -1);
    assert_int_equal(tm(DSM_TIME_MON_D_Y_HMS, "May 01 12:00:00", 0), -1);

    assert_int_equal(tm(DSM_TIME_EPOCH, "1714564800", 0), T_2024_05_01_12);
    assert_int_equal(tm(DSM_TIME_EPOCH, "1714564800.25", 0), T_2024_05_01_12 + 250);
    assert_int_equal(tm(DSM_TIME_EPOCH, "1714564800123", 0), T_2024_05_01_12 + 123);
    assert_int_equal(tm(DSM_TIME_EPOCH, "1714564800123456", 0), T_2024_05_01_12 + 123);
    assert_int_equal(tm(DSM_TIME_EPOCH, "0", 0), 0);
    /* nanoseconds: 19 digits, beyond INT64_MAX too (found by fuzz_kv: signed overflow) */
    assert_int_equal(tm(DSM_TIME_EPOCH, "1714564800123456789", 0), T_2024_05_01_12 + 123);
    assert_int_equal(tm(DSM_TIME_EPOCH, "9999999999999999999", 0), 9999999999999LL);
    assert_int_equal(tm(DSM_TIME_EPOCH, "99999999999999999999", 0), -1);
    assert_int_equal(tm(DSM_TIME_EPOCH, "17145648x", 0), -1);
    assert_int_equal(tm(DSM_TIME_EPOCH, "1714564800.", 0), -1);
    assert_int_equal(tm(DSM_TIME_EPOCH, "-5", 0), -1);
    assert_int_equal(tm((enum dsm_time_fmt)99, "1", 0), -1);
}

/* ---------------------------------------------------------------- kv */

struct pairs {
    int n;
    char k[16][32], v[16][64];
};

static bool collect(const char *k, size_t kl, const char *v, size_t vl, void *arg)
{
    struct pairs *p = arg;
    if (p->n < 16) {
        snprintf(p->k[p->n], 32, "%.*s", (int)kl, k);
        snprintf(p->v[p->n], 64, "%.*s", (int)vl, v);
    }
    p->n++;
    return true;
}

static bool stop_after_one(const char *k, size_t kl, const char *v, size_t vl, void *arg)
{
    (void)k, (void)kl, (void)v, (void)vl;
    ++*(int *)arg;
    return false;
}

static void test_kv_scan(void **state)
{
    (void)state;
    struct pairs p = {0};
    const char *s = "a=1 msg=\"hello \\\"big\\\" world\" junk b= c=x-y.z k.e-y_1=\"\"";
    assert_int_equal(dsm_kv_scan(s, strlen(s), ' ', collect, &p), 5);
    assert_string_equal(p.k[0], "a");
    assert_string_equal(p.v[0], "1");
    assert_string_equal(p.k[1], "msg");
    assert_string_equal(p.v[1], "hello \\\"big\\\" world");
    assert_string_equal(p.k[2], "b");
    assert_string_equal(p.v[2], "");
    assert_string_equal(p.v[3], "x-y.z");
    assert_string_equal(p.k[4], "k.e-y_1");
    assert_string_equal(p.v[4], "");

    memset(&p, 0, sizeof p);
    s = "src=1.2.3.4, dst=5.6.7.8 ,name=two words,q=\"a,b\"";
    assert_int_equal(dsm_kv_scan(s, strlen(s), ',', collect, &p), 4);
    assert_string_equal(p.v[0], "1.2.3.4");
    assert_string_equal(p.v[1], "5.6.7.8");
    assert_string_equal(p.v[2], "two words");
    assert_string_equal(p.v[3], "a,b");

    memset(&p, 0, sizeof p);
    s = "x=\"unterminated value";
    assert_int_equal(dsm_kv_scan(s, strlen(s), ' ', collect, &p), 1);
    assert_string_equal(p.v[0], "unterminated value");

    memset(&p, 0, sizeof p);
    assert_int_equal(dsm_kv_scan("no pairs here =x", 16, ' ', collect, &p), 0);
    int calls = 0;
    assert_int_equal(dsm_kv_scan("a=1 b=2 c=3", 11, ' ', stop_after_one, &calls), 1);
    assert_int_equal(calls, 1);
    /* the length bounds the scan: "a=1 b=2" cut after "a=1 b" */
    memset(&p, 0, sizeof p);
    assert_int_equal(dsm_kv_scan("a=1 b=2", 5, ' ', collect, &p), 1);
}

/* ---------------------------------------------------------------- properties */

/* An escaped byte at any position of a value of any length, and bytes next to the escaped
 * ones in value (other control characters, bytes >= 0x80), come out as the rule says. */
static void test_props_escape_positions(void **state)
{
    (void)state;
    static const char specials[] = {'\t',   '\n',   '\r',   '\\',       '\x01',
                                    '\x0b', '\x0d', '\x7f', (char)0xc3, (char)0xa9};
    for (size_t len = 1; len <= 40; len++) {
        for (size_t pos = 0; pos < len; pos++) {
            for (size_t k = 0; k < sizeof specials; k++) {
                char v[40];
                for (size_t i = 0; i < len; i++)
                    v[i] = (char)('a' + (i % 26));
                v[pos] = specials[k];
                char want[100];
                size_t w = 0;
                memcpy(want, "k=", 2);
                w = 2;
                for (size_t i = 0; i < len; i++) {
                    char c = v[i];
                    char e = c == '\t'   ? 't'
                             : c == '\n' ? 'n'
                             : c == '\r' ? 'r'
                             : c == '\\' ? '\\'
                                         : 0;
                    if (e) {
                        want[w++] = '\\';
                        want[w++] = e;
                    } else {
                        want[w++] = c;
                    }
                }
                struct dsm_props pr;
                dsm_props_init(&pr);
                dsm_props_add(&pr, "k", v, len);
                assert_int_equal(pr.len, w);
                assert_memory_equal(pr.buf, want, w);
            }
        }
    }
}

static void test_props(void **state)
{
    (void)state;
    struct dsm_props pr;
    dsm_props_init(&pr);
    dsm_props_add(&pr, "action", "deny", 4);
    dsm_props_add(&pr, "msg", "a\tb\nc\\d\re", 9);
    dsm_props_add(&pr, "empty", "", 0);
    dsm_props_add(&pr, "bad=key", "v", 1);
    struct strm_event ev;
    strm_event_init(&ev);
    dsm_props_commit(&pr, &ev, &arena);
    assert_int_equal(ev.properties.len, pr.len);
    assert_memory_equal(ev.properties.p, "action=deny\tmsg=a\\tb\\nc\\\\d\\re\tempty=\tbad_key=v",
                        ev.properties.len);
    char out[64];
    assert_true(dsm_props_get(ev.properties, "msg", out, sizeof out));
    assert_string_equal(out, "a\tb\nc\\d\re");
    assert_true(dsm_props_get(ev.properties, "action", out, sizeof out));
    assert_string_equal(out, "deny");
    assert_true(dsm_props_get(ev.properties, "empty", out, sizeof out));
    assert_string_equal(out, "");
    assert_false(dsm_props_get(ev.properties, "act", out, sizeof out));
    assert_false(dsm_props_get(ev.properties, "nope", out, sizeof out));
    assert_false(dsm_props_get(ev.properties, "msg", out, 4)); /* no silent truncation */

    /* overflow: what does not fit is dropped whole and flagged */
    dsm_props_init(&pr);
    char big[1500];
    memset(big, 'x', sizeof big);
    dsm_props_add(&pr, "a", big, sizeof big);
    assert_false(pr.overflow);
    size_t before = pr.len;
    dsm_props_add(&pr, "b", big, sizeof big);
    assert_true(pr.overflow);
    assert_int_equal(pr.len, before);
    dsm_props_add(&pr, "c", "1", 1);
    assert_int_equal(pr.len, before + 4);
    /* nothing added: commit leaves properties alone */
    struct strm_event ev2;
    strm_event_init(&ev2);
    dsm_props_init(&pr);
    dsm_props_commit(&pr, &ev2, &arena);
    assert_int_equal(ev2.properties.len, 0);
}

/* ---------------------------------------------------------------- CEF / LEEF */

static void test_cef(void **state)
{
    (void)state;
    const char *s = "<134>Nov 25 10:00:00 h CEF:0|Sec\\|urity|threat\\\\mgr|1.0|100|worm "
                    "stopped|10|src=10.0.0.1 msg=hello big world a\\=b c\\\\ "
                    "request=http://x/?q=1&r=2 fname=C:\\\\x\\ny  cs1Label=Rule One cs1=r-1 "
                    "end=x\n";
    struct dsm_cef h;
    assert_true(dsm_cef_header(s, strlen(s), &h));
    assert_int_equal(h.version, 0);
    assert_int_equal(h.vendor.len, 10);
    assert_memory_equal(h.vendor.p, "Sec\\|urity", 10); /* header slices keep escapes */
    assert_memory_equal(h.product.p, "threat\\\\mgr", 11);
    assert_memory_equal(h.signature.p, "100", 3);
    assert_memory_equal(h.name.p, "worm stopped", 12);
    assert_memory_equal(h.severity.p, "10", 2);
    struct pairs p = {0};
    assert_int_equal(dsm_cef_scan(&h, &arena, collect, &p), 7);
    assert_string_equal(p.k[0], "src");
    assert_string_equal(p.v[0], "10.0.0.1");
    assert_string_equal(p.k[1], "msg");
    assert_string_equal(p.v[1], "hello big world a=b c\\");
    assert_string_equal(p.k[2], "request");
    assert_string_equal(p.v[2], "http://x/?q=1&r=2");
    assert_string_equal(p.k[3], "fname");
    assert_string_equal(p.v[3], "C:\\x\ny");
    assert_string_equal(p.k[4], "cs1Label");
    assert_string_equal(p.v[4], "Rule One");
    assert_string_equal(p.v[5], "r-1");
    assert_string_equal(p.k[6], "end");
    assert_string_equal(p.v[6], "x"); /* trailing newline trimmed */

    /* empty extension, missing fields, garbage */
    const char *e = "CEF:1|V|P|1|id|name|3|";
    assert_true(dsm_cef_header(e, strlen(e), &h));
    assert_int_equal(h.version, 1);
    assert_int_equal(h.ext_len, 0);
    assert_int_equal(dsm_cef_scan(&h, &arena, collect, &p), 0);
    assert_false(dsm_cef_header("CEF:0|V|P|1|id|name", 19, &h));
    assert_false(dsm_cef_header("CEF:x|V|P|1|id|name|3|", 22, &h));
    assert_false(dsm_cef_header("no cef here", 11, &h));
    /* leading text before the first key is skipped */
    const char *g = "CEF:0|V|P|1|id|n|3|garbage words k=v";
    assert_true(dsm_cef_header(g, strlen(g), &h));
    memset(&p, 0, sizeof p);
    assert_int_equal(dsm_cef_scan(&h, &arena, collect, &p), 1);
    assert_string_equal(p.k[0], "k");
}

static void test_leef(void **state)
{
    (void)state;
    struct dsm_leef h;
    struct pairs p = {0};
    const char *l1 = "<13>Nov 25 10:00:00 h LEEF:1.0|Vend|Prod|1.2|Ev1|src=1.1.1.1\tmsg=a b "
                     "c\tsev=5";
    assert_true(dsm_leef_header(l1, strlen(l1), &h));
    assert_int_equal(h.major, 1);
    assert_int_equal(h.minor, 0);
    assert_int_equal(h.delim, '\t');
    assert_memory_equal(h.vendor.p, "Vend", 4);
    assert_memory_equal(h.event_id.p, "Ev1", 3);
    assert_int_equal(dsm_leef_scan(&h, collect, &p), 3);
    assert_string_equal(p.v[1], "a b c");

    static const char *const two[] = {
        "LEEF:2.0|V|P|1|E|^|src=1.1.1.1^msg=a b^sev=5",
        "LEEF:2.0|V|P|1|E|0x5E|src=1.1.1.1^msg=a b^sev=5",
        "LEEF:2.0|V|P|1|E|x5E|src=1.1.1.1^msg=a b^sev=5",
        "LEEF:2.0|V|P|1|E|0x5e|src=1.1.1.1^msg=a b^sev=5",
    };
    for (size_t i = 0; i < 4; i++) {
        memset(&p, 0, sizeof p);
        assert_true(dsm_leef_header(two[i], strlen(two[i]), &h));
        assert_int_equal(h.major, 2);
        assert_int_equal(h.delim, '^');
        assert_int_equal(dsm_leef_scan(&h, collect, &p), 3);
        assert_string_equal(p.k[0], "src");
        assert_string_equal(p.v[1], "a b");
        assert_string_equal(p.v[2], "5");
    }
    /* '|' as the delimiter, and an empty delimiter field meaning TAB */
    const char *pipe = "LEEF:2.0|V|P|1|E|0x7C|a=1|b=2";
    assert_true(dsm_leef_header(pipe, strlen(pipe), &h));
    assert_int_equal(h.delim, '|');
    memset(&p, 0, sizeof p);
    assert_int_equal(dsm_leef_scan(&h, collect, &p), 2);
    const char *tab = "LEEF:2.0|V|P|1|E||a=1\tb=2";
    assert_true(dsm_leef_header(tab, strlen(tab), &h));
    assert_int_equal(h.delim, '\t');
    /* 2.0 without a delimiter field: attributes follow the event id */
    const char *nod = "LEEF:2.0|V|P|1|E|a=1\tb=2";
    assert_true(dsm_leef_header(nod, strlen(nod), &h));
    memset(&p, 0, sizeof p);
    assert_int_equal(dsm_leef_scan(&h, collect, &p), 2);
    /* a 1.0 producer that separates with spaces */
    const char *sp = "LEEF:1.0|V|P|1|E|src=1.1.1.1 usrName=a b dst=2.2.2.2";
    assert_true(dsm_leef_header(sp, strlen(sp), &h));
    memset(&p, 0, sizeof p);
    assert_int_equal(dsm_leef_scan(&h, collect, &p), 3);
    assert_string_equal(p.v[1], "a b");
    assert_false(dsm_leef_header("LEEF:1.0|V|P|1", 14, &h));
    assert_false(dsm_leef_header("LEEF:3.0|V|P|1|E|a=1", 20, &h));
}

/* ---------------------------------------------------------------- small helpers */

static void test_protocol(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        uint8_t n;
    } cases[] = {{"tcp", 6},     {"TCP", 6},
                 {"udp", 17},    {"Udp", 17},
                 {"icmp", 1},    {"ICMP", 1},
                 {"icmpv6", 58}, {"ipv6-icmp", 58},
                 {"gre", 47},    {"esp", 50},
                 {"ah", 51},     {"sctp", 132},
                 {"ospf", 89},   {"igmp", 2},
                 {"6", 6},       {"17", 17},
                 {"255", 255},   {"256", 0},
                 {"tcpx", 0},    {"", 0},
                 {"http", 0},    {"verylongprotocolname", 0}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_int_equal(dsm_protocol(cases[i].s, strlen(cases[i].s)), cases[i].n);
}

static void test_addresses(void **state)
{
    (void)state;
    struct strm_ip ip, zero;
    memset(&zero, 0, sizeof zero);
    memset(&ip, 0, sizeof ip);
    assert_true(dsm_set_ip(&ip, "10.1.2.3", 8));
    assert_true(strm_ip_is_v4(&ip));
    assert_true(dsm_set_ip(&ip, "2001:db8::1", 11));
    assert_false(strm_ip_is_v4(&ip));
    struct strm_ip keep = ip;
    assert_false(dsm_set_ip(&ip, "10.1.2", 6));
    assert_false(dsm_set_ip(&ip, "", 0));
    assert_memory_equal(&ip, &keep, sizeof ip); /* untouched on failure */

    uint16_t port = 7;
    assert_true(dsm_set_port(&port, "443", 3));
    assert_int_equal(port, 443);
    assert_true(dsm_set_port(&port, "65535", 5));
    assert_false(dsm_set_port(&port, "65536", 5));
    assert_false(dsm_set_port(&port, "-1", 2));
    assert_false(dsm_set_port(&port, "", 0));
    assert_int_equal(port, 65535);

    uint64_t v;
    assert_true(dsm_parse_uint("18446744073709551615", 20, UINT64_MAX, &v));
    assert_true(v == UINT64_MAX);
    assert_false(dsm_parse_uint("18446744073709551616", 20, UINT64_MAX, &v));
    assert_false(dsm_parse_uint("12a", 3, 1000, &v));
    assert_false(dsm_parse_uint("1001", 4, 1000, &v));
    assert_true(dsm_parse_uint("0012", 4, 1000, &v));
    assert_int_equal(v, 12);

    uint8_t mac[6] = {0};
    static const uint8_t want[6] = {0x00, 0x1a, 0x2b, 0x3c, 0x4d, 0x5e};
    assert_true(dsm_set_mac(mac, "00:1a:2b:3c:4d:5e", 17));
    assert_memory_equal(mac, want, 6);
    memset(mac, 0, 6);
    assert_true(dsm_set_mac(mac, "00-1A-2B-3C-4D-5E", 17));
    assert_memory_equal(mac, want, 6);
    memset(mac, 0, 6);
    assert_true(dsm_set_mac(mac, "001a.2b3c.4d5e", 14));
    assert_memory_equal(mac, want, 6);
    assert_false(dsm_set_mac(mac, "00:1a:2b:3c:4d-5e", 17));
    assert_false(dsm_set_mac(mac, "00:1a:2b:3c:4d:5g", 17));
    assert_false(dsm_set_mac(mac, "00:1a:2b:3c:4d", 14));

    struct strm_str s;
    dsm_set_str(&s, &arena, "alice", 5);
    assert_int_equal(s.len, 5);
    assert_memory_equal(s.p, "alice", 5);

    const char *hay = "Accepted password for ROOT from";
    assert_ptr_equal(dsm_memcasemem(hay, strlen(hay), "root"), hay + 22);
    assert_ptr_equal(dsm_memcasemem(hay, strlen(hay), "accepted"), hay);
    assert_null(dsm_memcasemem(hay, 10, "password"));
    assert_null(dsm_memcasemem(hay, strlen(hay), "fromx"));
}

static void test_qid_find(void **state)
{
    (void)state;
    static const struct dsm_qid_map map[] = {
        {"100", 1}, {"1000", 2}, {"200", 3}, {"4624", 4}, {"ABC", 5}, {"abc", 6},
    };
    size_t n = sizeof map / sizeof map[0];
    assert_int_equal(dsm_qid_find(map, n, "100", 3, 99), 1);
    assert_int_equal(dsm_qid_find(map, n, "1000", 4, 99), 2);
    assert_int_equal(dsm_qid_find(map, n, "10000", 4, 99), 2); /* len bounds the id */
    assert_int_equal(dsm_qid_find(map, n, "10", 2, 99), 99);
    assert_int_equal(dsm_qid_find(map, n, "4624", 4, 99), 4);
    assert_int_equal(dsm_qid_find(map, n, "abc", 3, 99), 6);
    assert_int_equal(dsm_qid_find(map, n, "ABC", 3, 99), 5);
    assert_int_equal(dsm_qid_find(map, n, "", 0, 99), 99);
    assert_int_equal(dsm_qid_find(map, 0, "100", 3, 99), 99);
}

/* ---------------------------------------------------------------- categories and QIDs */

static void test_categories(void **state)
{
    (void)state;
    size_t n;
    const struct dsm_category *all = dsm_category_all(&n);
    assert_true(n > 100);
    for (size_t i = 0; i < n; i++) {
        if (i) assert_true(all[i - 1].id < all[i].id);
        assert_non_null(all[i].name);
        assert_true(all[i].severity <= 10);
        assert_ptr_equal(dsm_category_get(all[i].id), &all[i]);
        /* every low-level category has its high-level one */
        assert_non_null(dsm_category_get(dsm_category_high(all[i].id)));
    }
    assert_string_equal(dsm_category_name(LLC_SSH_LOGIN_FAILED), "SSH Login Failed");
    assert_string_equal(dsm_category_name(LLC_FIREWALL_DENY), "Firewall Deny");
    assert_string_equal(dsm_category_name(LLC_SUSPICIOUS_UNKNOWN), "Unknown Suspicious Event");
    assert_string_equal(dsm_category_name(LLC_STORED), "Stored");
    assert_string_equal(dsm_category_name(HLC_AUTHENTICATION), "Authentication");
    assert_string_equal(dsm_category_name(4999), "Unknown");
    assert_null(dsm_category_get(4999));
    assert_int_equal(dsm_category_high(LLC_SSH_LOGIN_FAILED), HLC_AUTHENTICATION);
    /* every enum dsm_llc value used in dsm.h: spot-check the ends of each range */
    static const uint16_t some[] = {LLC_TCP_RECON,
                                    LLC_FLOOD,
                                    LLC_VPN_LOGOUT,
                                    LLC_MAIL_REJECTED,
                                    LLC_CROSS_SITE_SCRIPTING,
                                    LLC_BOTNET,
                                    LLC_DNS_PROTOCOL_ANOMALY,
                                    LLC_HEALTH_STATUS,
                                    LLC_DATA_LOSS,
                                    LLC_AUDIT_USER_ACTION,
                                    LLC_APPLICATION_ERROR,
                                    HLC_RISK};
    for (size_t i = 0; i < sizeof some / sizeof some[0]; i++)
        assert_non_null(dsm_category_get(some[i]));
}

static void test_qid_map(void **state)
{
    (void)state;
    assert_int_equal(dsm_init(), 0); /* no duplicates, ranges and categories valid */
    size_t n;
    const struct dsm_def *const *all = dsm_all(&n);
    assert_true(n >= 4);
    /* generic formats last, in their order */
    assert_string_equal(all[n - 4]->name, "cef");
    assert_string_equal(all[n - 1]->name, "kv");
    for (size_t i = 0; i < n; i++) {
        const struct dsm_def *d = all[i];
        assert_ptr_equal(dsm_by_type(d->type_id), d);
        assert_ptr_equal(dsm_by_name(d->name), d);
        assert_non_null(d->display);
        bool have_unknown = false;
        for (size_t j = 0; j < d->n_qids; j++) {
            const struct qid_def *q = &d->qids[j];
            const struct qid_def *got = qid_lookup(q->qid);
            if (got != q)
                print_message("# %s: QID %u does not resolve to itself\n", d->name, q->qid);
            assert_ptr_equal(got, q);
            assert_true(q->qid >= DSM_QID(d->type_id, 0) && q->qid <= DSM_QID_UNKNOWN(d->type_id));
            const struct dsm_category *c = dsm_category_get(q->category);
            if (!c || q->category % 1000 == 0)
                print_message("# %s: QID %u has category %u\n", d->name, q->qid, q->category);
            assert_non_null(c);
            assert_true(q->category % 1000 != 0);
            assert_true(q->severity <= 10);
            assert_non_null(q->name);
            assert_non_null(q->description);
            if (q->qid == DSM_QID_UNKNOWN(d->type_id)) have_unknown = true;
            for (size_t k = 0; k < j; k++)
                assert_int_not_equal(d->qids[k].qid, q->qid);
        }
        if (!have_unknown) print_message("# %s: no unknown QID\n", d->name);
        assert_true(have_unknown);
    }
    assert_null(dsm_by_type(0));
    assert_null(dsm_by_type(9999));
    assert_null(dsm_by_name("nope"));
    const struct qid_def *g = qid_lookup(QID_GENERIC_STORED);
    assert_non_null(g);
    assert_int_equal(g->category, LLC_STORED);
    assert_null(qid_lookup(0));
    assert_null(qid_lookup(DSM_QID(9998, 1)));
}

/*
 * The event-id -> QID maps are static inside each DSM file (struct dsm_def does not expose
 * them), so their order is checked on the source text: in every
 * "static const struct dsm_qid_map NAME[] = { ... };" the first string literal of each row
 * must be in strcmp order, as dsm_qid_find's binary search needs.
 */
static void test_qid_maps_sorted(void **state)
{
    (void)state;
    size_t n;
    const struct dsm_def *const *all = dsm_all(&n);
    int tables = 0, bad = 0;
    for (size_t i = 0; i < n; i++) {
        char path[512];
        snprintf(path, sizeof path, STRM_SRC_DIR "/src/dsm/dsm_%s.c", all[i]->name);
        FILE *f = fopen(path, "rb");
        if (!f) continue;
        static char buf[1 << 20];
        size_t len = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[len] = 0;
        const char *p = buf;
        while ((p = strstr(p, "struct dsm_qid_map")) != NULL) {
            const char *open = strchr(p, '=');
            const char *semi = strchr(p, ';');
            if (!open || !semi || open > semi) {
                p += 18;
                continue;
            }
            const char *end = strstr(open, "};");
            if (!end) break;
            tables++;
            char prev[256] = "", cur[256];
            bool first = true;
            const char *q = open;
            while ((q = strchr(q, '{')) != NULL && q < end) {
                const char *s = q + 1;
                while (*s == ' ' || *s == '\n' || *s == '\t')
                    s++;
                q++;
                if (*s != '"') continue;
                size_t k = 0;
                for (s++; *s && *s != '"' && k < sizeof cur - 1; s++) {
                    if (*s == '\\' && s[1]) {
                        s++;
                        cur[k++] = *s == 'n' ? '\n' : *s == 't' ? '\t' : *s;
                    } else {
                        cur[k++] = *s;
                    }
                }
                cur[k] = 0;
                if (!first && strcmp(prev, cur) >= 0) {
                    print_message("# %s: map not sorted: \"%s\" before \"%s\"\n", path, prev, cur);
                    bad++;
                }
                first = false;
                memcpy(prev, cur, k + 1);
            }
            p = end;
        }
    }
    print_message("# %d event-id maps checked\n", tables);
    assert_int_equal(bad, 0);
}

static void *lookup_thread(void *arg)
{
    uint32_t qid = *(uint32_t *)arg;
    for (int i = 0; i < 200000; i++) {
        const struct qid_def *q = qid_lookup(qid);
        if (!q || q->qid != qid) return (void *)1;
        const struct qid_def *u = qid_lookup(QID_USER_BASE + (uint32_t)(i % 64));
        if (u && u->category != LLC_POLICY_UNKNOWN) return (void *)1;
    }
    return NULL;
}

static void test_qid_add(void **state)
{
    (void)state;
    uint32_t q1, q2;
    assert_int_equal(qid_add("My QID", "custom", LLC_POLICY_UNKNOWN, 4, &q1), 0);
    assert_true(q1 >= QID_USER_BASE);
    const struct qid_def *d = qid_lookup(q1);
    assert_non_null(d);
    assert_string_equal(d->name, "My QID");
    assert_int_equal(d->severity, 4);
    assert_int_equal(qid_add("Bad", "", 4999, 4, &q2), STRM_ERR_INVAL);
    assert_int_equal(qid_add("Bad", "", LLC_POLICY_UNKNOWN, 11, &q2), STRM_ERR_INVAL);
    assert_int_equal(qid_add("", "", LLC_POLICY_UNKNOWN, 1, &q2), STRM_ERR_INVAL);
    assert_null(qid_lookup(q1 + 1000));

    /* concurrent lookups while adding */
    uint32_t target = DSM_QID_UNKNOWN(DSM_T_KV);
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&th[i], NULL, lookup_thread, &target), 0);
    for (int i = 0; i < 60; i++)
        assert_int_equal(qid_add("Racer", "r", LLC_POLICY_UNKNOWN, 2, &q2), 0);
    for (int i = 0; i < 2; i++) {
        void *r;
        pthread_join(th[i], &r);
        assert_null(r);
    }
    struct strm_event ev;
    strm_event_init(&ev);
    dsm_set_qid(&ev, q1);
    assert_int_equal(ev.category, LLC_POLICY_UNKNOWN);
    assert_int_equal(ev.highlevelcategory, HLC_POLICY);
    assert_int_equal(ev.severity, 4);
}

/* ---------------------------------------------------------------- parse loop and DSMs */

static const struct dsm_def *run(struct strm_event *ev, const char *line, uint16_t hint)
{
    strm_event_init(ev);
    ev->starttime = 1764064800000LL; /* 2025-11-25 10:00 UTC */
    strm_ip_from_v4(&ev->collectorip, 0x7f000001u);
    ev->payload.p = line;
    ev->payload.len = (uint32_t)strlen(line);
    syslog_parse(ev, &arena);
    struct dsm_ctx ctx = {0, hint};
    return dsm_parse(ev, &arena, &ctx);
}

static bool ip_is(const struct strm_ip *ip, const char *text)
{
    char buf[64];
    strm_ip_format(ip, buf, sizeof buf);
    return strcmp(buf, text) == 0;
}

static bool prop_is(const struct strm_event *ev, const char *k, const char *v)
{
    char out[256];
    if (!dsm_props_get(ev->properties, k, out, sizeof out)) return false;
    return strcmp(out, v) == 0;
}

static void test_parse_loop(void **state)
{
    (void)state;
    struct strm_event ev;
    assert_null(run(&ev, "<13>Nov 25 10:00:00 host something nobody knows", 0));
    assert_int_equal(ev.qid, QID_GENERIC_STORED);
    assert_int_equal(ev.category, LLC_STORED);
    assert_int_equal(ev.highlevelcategory, HLC_UNKNOWN);
    assert_int_equal(ev.devicetype, 0);
    /* a hint for a DSM that does not match falls through to the others */
    const struct dsm_def *d = run(&ev, "<13>Nov 25 10:00:00 h app: a=1 b=2 c=3", DSM_T_CEF);
    assert_non_null(d);
    assert_string_equal(d->name, "kv");
    /* unknown hint is ignored */
    assert_non_null(run(&ev, "<13>Nov 25 10:00:00 h app: a=1 b=2 c=3", 9999));
}

/* Every DSM must leave the event untouched when it rejects a line. */
static void test_reject_untouched(void **state)
{
    (void)state;
    static const char *const lines[] = {
        "<13>Nov 25 10:00:00 host something nobody knows", "plain text without any header", "",
        "<13>Nov 25 10:00:00 host CEF:0|broken",           "{\"unterminated\": ",
    };
    size_t n;
    const struct dsm_def *const *all = dsm_all(&n);
    for (size_t l = 0; l < sizeof lines / sizeof lines[0]; l++) {
        struct strm_event ev, copy;
        run(&ev, lines[l], 0);
        for (size_t i = 0; i < n; i++) {
            copy = ev;
            struct dsm_ctx ctx = {0, 0};
            if (all[i]->parse(&ev, &arena, &ctx)) continue; /* a DSM may take it */
            if (memcmp(&copy, &ev, sizeof ev) != 0)
                print_message("# DSM %s changed a rejected event: %s\n", all[i]->name, lines[l]);
            assert_memory_equal(&copy, &ev, sizeof ev);
        }
    }
}

static void test_generic_cef(void **state)
{
    (void)state;
    struct strm_event ev;
    const struct dsm_def *d =
        run(&ev,
            "<134>Nov 25 10:00:05 gw CEF:0|ExampleCorp|EdgeGuard|3.2.1|2002|Connection denied|5|"
            "rt=1764064805000 src=192.168.10.16 spt=51515 dst=198.51.100.20 dpt=22 proto=TCP "
            "act=deny suser=alice smac=00:1a:2b:3c:4d:5e cs1Label=Rule Name cs1=Block inbound SSH "
            "sourceTranslatedAddress=203.0.113.1 sourceTranslatedPort=61000 msg=a\\=b c",
            0);
    assert_non_null(d);
    assert_string_equal(d->name, "cef");
    assert_int_equal(ev.devicetype, DSM_T_CEF);
    assert_int_equal(ev.qid, DSM_QID(DSM_T_CEF, 2));
    assert_int_equal(ev.severity, 5);
    assert_int_equal(ev.devicetime, 1764064805000LL);
    assert_true(ip_is(&ev.sourceip, "192.168.10.16"));
    assert_true(ip_is(&ev.destinationip, "198.51.100.20"));
    assert_int_equal(ev.sourceport, 51515);
    assert_int_equal(ev.destinationport, 22);
    assert_int_equal(ev.protocolid, 6);
    assert_memory_equal(ev.username.p, "alice", 5);
    assert_int_equal(ev.sourcemac[5], 0x5e);
    assert_true(ip_is(&ev.postnatsourceip, "203.0.113.1"));
    assert_int_equal(ev.postnatsourceport, 61000);
    assert_true(ip_is(&ev.prenatsourceip, "192.168.10.16"));
    assert_true(prop_is(&ev, "action", "deny"));
    assert_true(prop_is(&ev, "Rule Name", "Block inbound SSH"));
    assert_true(prop_is(&ev, "msg", "a=b c"));
    assert_true(prop_is(&ev, "cef.vendor", "ExampleCorp"));
    assert_true(prop_is(&ev, "cef.signature", "2002"));

    run(&ev, "CEF:0|V|P|1|x|n|Very-High|rt=Nov 25 2026 10:00:09.123 UTC", 0);
    assert_int_equal(ev.qid, DSM_QID(DSM_T_CEF, 4));
    assert_int_equal(ev.severity, 9);
    assert_int_equal(ev.devicetime, 1795600809123LL);
    run(&ev, "CEF:0|V|P|1|x|n|weird|", 0);
    assert_int_equal(ev.qid, DSM_QID_UNKNOWN(DSM_T_CEF));
}

static void test_generic_leef(void **state)
{
    (void)state;
    struct strm_event ev;
    const struct dsm_def *d =
        run(&ev,
            "<13>Nov 25 10:00:02 fw LEEF:1.0|ExampleCorp|EdgeGuard|3.2|NAT|src=10.1.1.5\t"
            "dst=93.184.216.34\tsrcPort=40000\tdstPort=80\tproto=TCP\tsev=7\tusrName=bob\t"
            "srcPostNAT=198.51.100.1\tsrcPostNATPort=61000\tdstPreNAT=198.51.100.200\t"
            "srcMAC=00:1a:2b:3c:4d:60\tcat=NAT\tdevTime=25/11/2026 10:00:06\t"
            "devTimeFormat=dd/MM/yyyy HH:mm:ss",
            0);
    assert_non_null(d);
    assert_string_equal(d->name, "leef");
    assert_int_equal(ev.qid, DSM_QID(DSM_T_LEEF, 3));
    assert_int_equal(ev.severity, 7);
    assert_true(ip_is(&ev.sourceip, "10.1.1.5"));
    assert_true(ip_is(&ev.destinationip, "93.184.216.34"));
    assert_int_equal(ev.sourceport, 40000);
    assert_int_equal(ev.destinationport, 80);
    assert_int_equal(ev.protocolid, 6);
    assert_memory_equal(ev.username.p, "bob", 3);
    assert_true(ip_is(&ev.postnatsourceip, "198.51.100.1"));
    assert_int_equal(ev.postnatsourceport, 61000);
    assert_true(ip_is(&ev.prenatdestinationip, "198.51.100.200"));
    assert_int_equal(ev.sourcemac[5], 0x60);
    assert_int_equal(ev.devicetime, 1795600806000LL);
    assert_true(prop_is(&ev, "cat", "NAT"));
    assert_true(prop_is(&ev, "leef.eventid", "NAT"));

    run(&ev,
        "LEEF:2.0|V|P|1|E|^|sev=10^devTime=2026-11-25T10:00:08.250+01:00^"
        "devTimeFormat=yyyy-MM-dd'T'HH:mm:ss.SSSXXX",
        0);
    assert_int_equal(ev.qid, DSM_QID(DSM_T_LEEF, 4));
    assert_int_equal(ev.devicetime, 1795600808250LL - 3600000LL);
    run(&ev, "LEEF:2.0|V|P|1|E|^|src=1.2.3.4^devTime=Nov 25 2026 10:00:05", 0);
    assert_int_equal(ev.qid, DSM_QID(DSM_T_LEEF, 5));
    assert_int_equal(ev.devicetime, 1795600805000LL);
    run(&ev, "LEEF:2.0|V|P|1|E|^|sev=high", 0);
    assert_int_equal(ev.qid, DSM_QID_UNKNOWN(DSM_T_LEEF));
}

static void test_generic_json(void **state)
{
    (void)state;
    struct strm_event ev;
    const struct dsm_def *d =
        run(&ev,
            "<14>Nov 25 10:00:00 app01 webapp: {\"@timestamp\":\"2026-11-25T10:00:00.123Z\","
            "\"event\":{\"action\":\"user-login\",\"outcome\":\"failure\"},\"user\":{\"name\":"
            "\"alice\"},\"source\":{\"ip\":\"10.1.2.3\",\"port\":51000},\"destination\":{\"ip\":"
            "\"2001:db8::1\",\"port\":443},\"network\":{\"transport\":\"tcp\"},\"tags\":[\"a\","
            "\"b\"],\"n\":null,\"ok\":true,\"ratio\":0.5}",
            0);
    assert_non_null(d);
    assert_string_equal(d->name, "json");
    assert_int_equal(ev.qid, DSM_QID(DSM_T_JSON, 4)); /* authentication failed */
    assert_int_equal(ev.category, LLC_GENERAL_AUTH_FAILED);
    assert_int_equal(ev.devicetime, 1795600800123LL);
    assert_memory_equal(ev.username.p, "alice", 5);
    assert_true(ip_is(&ev.sourceip, "10.1.2.3"));
    assert_true(ip_is(&ev.destinationip, "2001:db8::1"));
    assert_int_equal(ev.sourceport, 51000);
    assert_int_equal(ev.destinationport, 443);
    assert_int_equal(ev.protocolid, 6);
    assert_true(prop_is(&ev, "tags.1", "b"));
    assert_true(prop_is(&ev, "ok", "true"));
    assert_true(prop_is(&ev, "ratio", "0.5"));
    assert_true(prop_is(&ev, "action", "user-login"));

    d = run(&ev, "{\"src_ip\":\"1.1.1.1\",\"dest_ip\":\"2.2.2.2\",\"action\":\"blocked\"}", 0);
    assert_non_null(d);
    assert_int_equal(ev.qid, DSM_QID(DSM_T_JSON, 2));
    d = run(&ev, "<14>Nov 25 10:00:00 h a: {\"srcip\":\"1.1.1.1\",\"dstip\":\"2.2.2.2\"}", 0);
    assert_int_equal(ev.qid, DSM_QID(DSM_T_JSON, 5));
    /* escapes are decoded (\u, surrogate pairs, escaped keys); numbers keep their text */
    d = run(&ev, "{\"k\\u0065y\":\"caf\\u00e9 \\ud83d\\ude00\\/\",\"n\":-1.5e3,\"arr\":[[],{}]}",
            0);
    assert_non_null(d);
    assert_int_equal(ev.devicetype, DSM_T_JSON);
    assert_true(prop_is(&ev, "key", "caf\xc3\xa9 \xf0\x9f\x98\x80/"));
    assert_true(prop_is(&ev, "n", "-1.5e3"));
    /* what strict JSON refuses is not JSON: lone surrogate, bad UTF-8, raw control
       character, bad number, trailing comma, trailing text */
    static const char *const bad[] = {
        "{\"a\":\"\\ud800\"}", "{\"a\":\"\xc3\x28\"}", "{\"a\":\"x\x01y\"}",  "{\"a\":01}",
        "{\"a\":1.}",          "{\"a\":1,}",           "{\"a\":1} {\"b\":2}", "{\"a\" 1}",
        "{\"a\":tru}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        d = run(&ev, bad[i], 0);
        assert_true(d == NULL || d->type_id != DSM_T_JSON);
    }
    /* not objects, broken, too deep */
    assert_true(run(&ev, "<14>Nov 25 10:00:00 h a: [1,2,3]", 0) == NULL ||
                ev.devicetype != DSM_T_JSON);
    assert_true(run(&ev, "<14>Nov 25 10:00:00 h a: {\"a\":}", 0) == NULL ||
                ev.devicetype != DSM_T_JSON);
    char deep[256] = "{\"a\":";
    for (int i = 0; i < 40; i++)
        strcat(deep, "[");
    for (int i = 0; i < 40; i++)
        strcat(deep, "]");
    strcat(deep, "}");
    assert_true(run(&ev, deep, 0) == NULL || ev.devicetype != DSM_T_JSON);
}

/*
 * Names that several members share. Found by fuzz_json (corpus json/dup_*, json/empty_key):
 * a member under an empty top-level key took the plain name of the inner key ("":{"src":..}
 * filled the source IP as if "src" were a top-level member); it is ".src" now. Duplicate
 * keys, also spelt with escapes, are all passed on (docs/dsm.md), and so are the names that
 * end up equal as properties ("a=b" is written "a_b"; "actiOn" and "act" are "action").
 */
static void test_generic_json_names(void **state)
{
    (void)state;
    struct strm_event ev;
    const struct dsm_def *d = run(&ev, "{\"\":{\"src\":\"10.0.0.1\",\"a\":\"x\"},\"b\":\"y\"}", 0);
    assert_non_null(d);
    assert_int_equal(d->type_id, DSM_T_JSON);
    assert_true(strm_ip_is_null(&ev.sourceip));
    assert_true(prop_is(&ev, ".src", "10.0.0.1"));
    assert_true(prop_is(&ev, ".a", "x"));
    assert_false(prop_is(&ev, "a", "x"));
    assert_true(prop_is(&ev, "b", "y"));
    run(&ev, "{\"\":[\"v\"],\"a\":{\"\":{\"b\":1}}}", 0);
    assert_int_equal(ev.devicetype, DSM_T_JSON);
    assert_true(prop_is(&ev, ".0", "v"));
    assert_true(prop_is(&ev, "a..b", "1"));

    /* "\u0073rc" is "src": the first is no address and stays a property, the second fills
       the column (jansson keeps only the second) */
    run(&ev, "{\"\\u0073rc\":\"bad\",\"src\":\"1.2.3.4\"}", 0);
    assert_int_equal(ev.devicetype, DSM_T_JSON);
    assert_true(ip_is(&ev.sourceip, "1.2.3.4"));
    assert_true(prop_is(&ev, "src", "bad"));
    run(&ev, "{\"src=ip\":\"bad\",\"src_ip\":\"1.2.3.4\"}", 0);
    assert_true(ip_is(&ev.sourceip, "1.2.3.4"));
    assert_true(prop_is(&ev, "src_ip", "bad"));
    run(&ev, "{\"actiOn\":\"allow\",\"action\":\"deny\"}", 0);
    assert_int_equal(ev.devicetype, DSM_T_JSON);
    static const char both[] = "action=allow\taction=deny";
    assert_int_equal(ev.properties.len, sizeof both - 1);
    assert_memory_equal(ev.properties.p, both, sizeof both - 1);
}

static void test_generic_kv(void **state)
{
    (void)state;
    struct strm_event ev;
    const struct dsm_def *d =
        run(&ev,
            "<134>Nov 25 10:00:01 gw02 netlogd: time=2026-11-25T10:00:01Z src=192.168.2.11 "
            "dst=198.51.100.30 spt=50001 dpt=3389 proto=tcp action=drop rule=\"block rdp\"",
            0);
    assert_non_null(d);
    assert_string_equal(d->name, "kv");
    assert_int_equal(ev.qid, DSM_QID(DSM_T_KV, 2));
    assert_int_equal(ev.category, LLC_ACCESS_DENIED);
    assert_int_equal(ev.devicetime, 1795600801000LL);
    assert_true(ip_is(&ev.sourceip, "192.168.2.11"));
    assert_int_equal(ev.destinationport, 3389);
    assert_int_equal(ev.protocolid, 6);
    assert_true(prop_is(&ev, "rule", "block rdp"));
    assert_true(prop_is(&ev, "action", "drop"));

    d = run(&ev, "<134>Nov 25 10:00:08 s f: srcip=10.2.3.4, dstip=10.2.3.5, srcport=1, dstport=53",
            0);
    assert_non_null(d);
    assert_string_equal(d->name, "kv");
    assert_true(ip_is(&ev.destinationip, "10.2.3.5"));
    assert_int_equal(ev.destinationport, 53);
    assert_int_equal(ev.qid, DSM_QID(DSM_T_KV, 5));

    d = run(&ev, "<134>Nov 25 10:00:08 s f: user=bob action=login result=failure x=1", 0);
    assert_int_equal(ev.qid, DSM_QID(DSM_T_KV, 4));
    assert_memory_equal(ev.username.p, "bob", 3);
    /* prose with a few '=' is not key=value */
    d = run(&ev,
            "<134>Nov 25 10:00:08 s f: the quick brown fox said a=1 while jumping over the "
            "lazy dog and b=2 then c=3 at the end of a long sentence",
            0);
    assert_true(d == NULL || d->type_id != DSM_T_KV);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_time_iso),
        cmocka_unit_test(test_time_other),
        cmocka_unit_test(test_kv_scan),
        cmocka_unit_test(test_props),
        cmocka_unit_test(test_props_escape_positions),
        cmocka_unit_test(test_cef),
        cmocka_unit_test(test_leef),
        cmocka_unit_test(test_protocol),
        cmocka_unit_test(test_addresses),
        cmocka_unit_test(test_qid_find),
        cmocka_unit_test(test_categories),
        cmocka_unit_test(test_qid_map),
        cmocka_unit_test(test_qid_maps_sorted),
        cmocka_unit_test(test_qid_add),
        cmocka_unit_test(test_parse_loop),
        cmocka_unit_test(test_reject_untouched),
        cmocka_unit_test(test_generic_cef),
        cmocka_unit_test(test_generic_leef),
        cmocka_unit_test(test_generic_json),
        cmocka_unit_test(test_generic_json_names),
        cmocka_unit_test(test_generic_kv),
    };
    cmocka_set_message_output(CM_OUTPUT_TAP);
    return cmocka_run_group_tests(tests, setup, teardown);
}
