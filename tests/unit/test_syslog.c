/*
 * test_syslog.c - syslog_parse() on RFC 5424 and RFC 3164 messages, malformed input, and
 * every line of the real Linux and OpenSSH corpora.
 *
 * The tests run with TZ=UTC so that RFC 3164 times (collector-local) have fixed values.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "collect/collect.h"

#define CORPUS STRM_CORPUS_DIR ""

/* 2024-06-14 12:00:00 UTC */
#define T_2024_06_14 1718366400000LL

static struct strm_arena arena;

static int setup(void **state)
{
    (void)state;
    strm_arena_init(&arena, 4096);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    strm_arena_free(&arena);
    return 0;
}

/* Parses text with the given starttime and collector 192.0.2.7. */
static enum syslog_format parse(struct strm_event *ev, const char *text, int64_t starttime)
{
    strm_event_init(ev);
    ev->payload.p = text;
    ev->payload.len = (uint32_t)strlen(text);
    ev->starttime = starttime;
    strm_ip_from_v4(&ev->collectorip, 0xC0000207u);
    return syslog_parse(ev, &arena);
}

static void assert_str(struct strm_str s, const char *want)
{
    if (!want) {
        assert_int_equal(s.len, 0);
        return;
    }
    char buf[512];
    size_t n = s.len < sizeof(buf) - 1 ? s.len : sizeof(buf) - 1;
    if (n) memcpy(buf, s.p, n);
    buf[n] = '\0';
    assert_string_equal(buf, want);
}

/* ms since the epoch of a UTC date and time */
static int64_t utc_ms(int y, int mo, int d, int h, int mi, int s, int ms)
{
    struct tm tm = {0};
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = s;
    return (int64_t)timegm(&tm) * 1000 + ms;
}

/* ---------------------------------------------------------------- RFC 5424 */

static void test_5424_full(void **state)
{
    (void)state;
    struct strm_event ev;
    const char *m = "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog 1234 ID47 "
                    "[exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"] "
                    "An application event log entry...\n";
    assert_int_equal(parse(&ev, m, T_2024_06_14), SYSLOG_RFC5424);
    assert_int_equal(ev.facility, 20);
    assert_int_equal(ev.priority, 5);
    assert_int_equal(ev.severity, 4);
    assert_int_equal(ev.devicetime, utc_ms(2003, 10, 11, 22, 14, 15, 3));
    assert_str(ev.hostname, "mymachine.example.com");
    assert_str(ev.appname, "evntslog");
    assert_str(ev.procid, "1234");
    assert_str(ev.msgid, "ID47");
    assert_str(ev.message, "An application event log entry...");
    assert_false(ev.flags & STRM_EV_UNPARSED);
}

static void test_5424_nilvalues(void **state)
{
    (void)state;
    struct strm_event ev;
    assert_int_equal(parse(&ev, "<14>1 - - - - - - hello", T_2024_06_14), SYSLOG_RFC5424);
    assert_int_equal(ev.devicetime, 0);
    assert_str(ev.hostname, "192.0.2.7"); /* NILVALUE host falls back to the sender */
    assert_str(ev.appname, NULL);
    assert_str(ev.procid, NULL);
    assert_str(ev.msgid, NULL);
    assert_str(ev.message, "hello");
    assert_int_equal(ev.severity, 3);
}

static void test_5424_no_msg(void **state)
{
    (void)state;
    struct strm_event ev;
    assert_int_equal(parse(&ev, "<14>1 - host app - - -", T_2024_06_14), SYSLOG_RFC5424);
    assert_str(ev.hostname, "host");
    assert_str(ev.appname, "app");
    assert_str(ev.message, NULL);
    assert_int_equal(parse(&ev, "<14>1 - host app - - [a b=\"c\"]", T_2024_06_14), SYSLOG_RFC5424);
    assert_str(ev.message, NULL);
    assert_int_equal(parse(&ev, "<14>1 - host app - -", T_2024_06_14), SYSLOG_RFC5424);
    assert_str(ev.message, NULL);
}

static void test_5424_fraction_offsets(void **state)
{
    (void)state;
    struct strm_event ev;
    int64_t base = utc_ms(2024, 3, 1, 10, 0, 0, 0);
    assert_int_equal(parse(&ev, "<13>1 2024-03-01T10:00:00.123456Z h a - - - m", 0),
                     SYSLOG_RFC5424);
    assert_int_equal(ev.devicetime, base + 123);
    assert_int_equal(parse(&ev, "<13>1 2024-03-01T15:30:00.5+05:30 h a - - - m", 0),
                     SYSLOG_RFC5424);
    assert_int_equal(ev.devicetime, base + 500);
    assert_int_equal(parse(&ev, "<13>1 2024-03-01T02:00:00-08:00 h a - - - m", 0), SYSLOG_RFC5424);
    assert_int_equal(ev.devicetime, base);
    assert_int_equal(parse(&ev, "<13>1 2024-03-01T10:00:00.1Z h a - - - m", 0), SYSLOG_RFC5424);
    assert_int_equal(ev.devicetime, base + 100);
    /* Across a date boundary: 2024-02-29T23:30-11:00 is 2024-03-01T10:30Z. */
    assert_int_equal(parse(&ev, "<13>1 2024-02-29T23:30:00-10:30 h a - - - m", 0), SYSLOG_RFC5424);
    assert_int_equal(ev.devicetime, base);
}

static void test_5424_sd_escapes(void **state)
{
    (void)state;
    struct strm_event ev;
    const char *m = "<13>1 - h a - - [x@1 k=\"a\\\"b\\\\c\\]d\" k2=\"]\"][y@2 z=\"\"] the msg";
    assert_int_equal(parse(&ev, m, T_2024_06_14), SYSLOG_RFC5424);
    assert_str(ev.message, "the msg");
    /* multiple SD elements, no params */
    assert_int_equal(parse(&ev, "<13>1 - h a - - [a][b c=\"d\"][e] msg", 0), SYSLOG_RFC5424);
    assert_str(ev.message, "msg");
    /* malformed SD: kept in the message */
    assert_int_equal(parse(&ev, "<13>1 - h a - - [a c=\"d] msg", 0), SYSLOG_RFC5424);
    assert_str(ev.message, "[a c=\"d] msg");
}

static void test_5424_bom(void **state)
{
    (void)state;
    struct strm_event ev;
    assert_int_equal(parse(&ev, "<13>1 - h a - - - \xEF\xBB\xBFgr\xC3\xBC\xC3\x9F\r\n", 0),
                     SYSLOG_RFC5424);
    assert_str(ev.message, "gr\xC3\xBC\xC3\x9F");
}

static void test_5424_bad_header_falls_back(void **state)
{
    (void)state;
    struct strm_event ev;
    /* Not a valid 5424 header: PRI and text, RFC 3164 without header. */
    assert_int_equal(parse(&ev, "<13>1 2024-13-01T00:00:00Z h", 0), SYSLOG_RFC3164);
    assert_int_equal(ev.devicetime, 0);
    assert_str(ev.message, "1 2024-13-01T00:00:00Z h");
    assert_str(ev.hostname, "192.0.2.7");
}

/* ---------------------------------------------------------------- RFC 3164 */

static void test_3164_with_pri(void **state)
{
    (void)state;
    struct strm_event ev;
    assert_int_equal(
        parse(&ev, "<34>Oct 11 22:14:15 mymachine su[77]: 'su root' failed\n", T_2024_06_14),
        SYSLOG_RFC3164);
    assert_int_equal(ev.facility, 4);
    assert_int_equal(ev.priority, 2);
    assert_int_equal(ev.severity, 8);
    /* Oct 11 2024 is more than a day after June 14 2024: previous year */
    assert_int_equal(ev.devicetime, utc_ms(2023, 10, 11, 22, 14, 15, 0));
    assert_str(ev.hostname, "mymachine");
    assert_str(ev.appname, "su");
    assert_str(ev.procid, "77");
    assert_str(ev.message, "'su root' failed");
}

static void test_3164_without_pri(void **state)
{
    (void)state;
    struct strm_event ev;
    assert_int_equal(parse(&ev, "Jun 14 15:16:01 combo kernel: Linux version 2.6", T_2024_06_14),
                     SYSLOG_RFC3164);
    assert_int_equal(ev.facility, 255);
    assert_int_equal(ev.priority, 255);
    assert_int_equal(ev.devicetime, utc_ms(2024, 6, 14, 15, 16, 1, 0));
    assert_str(ev.hostname, "combo");
    assert_str(ev.appname, "kernel");
    assert_str(ev.procid, NULL);
    assert_str(ev.message, "Linux version 2.6");
}

static void test_3164_missing_hostname(void **state)
{
    (void)state;
    struct strm_event ev;
    assert_int_equal(parse(&ev, "<13>Jun 14 15:16:01 sshd[1]: msg", T_2024_06_14), SYSLOG_RFC3164);
    assert_str(ev.hostname, "192.0.2.7");
    assert_str(ev.appname, "sshd");
    assert_str(ev.procid, "1");
    assert_str(ev.message, "msg");
    assert_int_equal(parse(&ev, "<13>Jun 14 15:16:01 kernel: boot", T_2024_06_14), SYSLOG_RFC3164);
    assert_str(ev.hostname, "192.0.2.7");
    assert_str(ev.appname, "kernel");
    assert_str(ev.message, "boot");
    /* IPv6 collector */
    strm_event_init(&ev);
    ev.payload.p = "<13>Jun 14 15:16:01 kernel: boot";
    ev.payload.len = (uint32_t)strlen(ev.payload.p);
    ev.starttime = T_2024_06_14;
    assert_int_equal(strm_ip_parse(&ev.collectorip, "2001:db8::1", 11), 0);
    assert_int_equal(syslog_parse(&ev, &arena), SYSLOG_RFC3164);
    assert_str(ev.hostname, "2001:db8::1");
}

static void test_3164_year_inference(void **state)
{
    (void)state;
    struct strm_event ev;
    int64_t jan1 = utc_ms(2025, 1, 1, 0, 0, 30, 0);
    assert_int_equal(parse(&ev, "<13>Dec 31 23:59:50 h app: x", jan1), SYSLOG_RFC3164);
    assert_int_equal(ev.devicetime, utc_ms(2024, 12, 31, 23, 59, 50, 0));
    /* The year is starttime's unless that puts the date more than a day ahead of it. */
    int64_t dec31 = utc_ms(2024, 12, 31, 23, 59, 0, 0);
    assert_int_equal(parse(&ev, "<13>Jan  1 00:00:10 h app: x", dec31), SYSLOG_RFC3164);
    assert_int_equal(ev.devicetime, utc_ms(2024, 1, 1, 0, 0, 10, 0));
    assert_int_equal(parse(&ev, "<13>Dec 31 23:59:59 h app: x", dec31), SYSLOG_RFC3164);
    assert_int_equal(ev.devicetime, utc_ms(2024, 12, 31, 23, 59, 59, 0));
    /* Explicit year */
    assert_int_equal(parse(&ev, "<13>Dec 31 2019 23:59:59 h app: x", dec31), SYSLOG_RFC3164);
    assert_int_equal(ev.devicetime, utc_ms(2019, 12, 31, 23, 59, 59, 0));
}

/*
 * RFC 3164 times around DST changes in Europe/Berlin. The parser caches zone conversions
 * per thread, so this runs in a thread of its own (fresh caches) with TZ switched for it.
 */
static void *dst_thread(void *arg)
{
    int64_t *out = arg;
    static const char *msgs[] = {
        "<13>Mar 31 2024 01:30:00 h a: x", /* CET, before the change */
        "<13>Mar 31 2024 03:30:00 h a: x", /* CEST, after */
        "<13>Oct 27 2024 03:30:00 h a: x", /* CET again */
        "<13>Jul  1 12:00:00 h a: x",      /* inferred year, summer */
    };
    struct strm_arena a;
    strm_arena_init(&a, 4096);
    for (int i = 0; i < 4; i++) {
        struct strm_event ev;
        strm_event_init(&ev);
        ev.payload.p = msgs[i];
        ev.payload.len = (uint32_t)strlen(msgs[i]);
        ev.starttime = T_2024_06_14 + 30LL * 86400000;
        out[i] = syslog_parse(&ev, &a) == SYSLOG_RFC3164 ? ev.devicetime : -1;
    }
    strm_arena_free(&a);
    return NULL;
}

static void test_3164_dst(void **state)
{
    (void)state;
    int64_t got[4];
    setenv("TZ", "Europe/Berlin", 1);
    tzset();
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, dst_thread, got), 0);
    pthread_join(t, NULL);
    setenv("TZ", "UTC", 1);
    tzset();
    assert_int_equal(got[0], utc_ms(2024, 3, 31, 0, 30, 0, 0));
    assert_int_equal(got[1], utc_ms(2024, 3, 31, 1, 30, 0, 0));
    assert_int_equal(got[2], utc_ms(2024, 10, 27, 2, 30, 0, 0));
    assert_int_equal(got[3], utc_ms(2024, 7, 1, 10, 0, 0, 0));
}

static void test_3164_single_digit_day(void **state)
{
    (void)state;
    struct strm_event ev;
    assert_int_equal(parse(&ev, "<13>Jul  7 08:06:15 combo gpm[2094]: info", T_2024_06_14),
                     SYSLOG_RFC3164);
    assert_int_equal(ev.devicetime, utc_ms(2023, 7, 7, 8, 6, 15, 0));
    assert_str(ev.hostname, "combo");
    assert_int_equal(parse(&ev, "<13>Jun 7 08:06:15 combo gpm: info", T_2024_06_14),
                     SYSLOG_RFC3164);
    assert_int_equal(ev.devicetime, utc_ms(2024, 6, 7, 8, 6, 15, 0));
    assert_str(ev.appname, "gpm");
    /* Cisco style: fraction and '*' */
    assert_int_equal(
        parse(&ev, "<189>*Jun 07 08:06:15.250 rtr %SYS-5-CONFIG_I: Configured", T_2024_06_14),
        SYSLOG_RFC3164);
    assert_int_equal(ev.devicetime, utc_ms(2024, 6, 7, 8, 6, 15, 250));
    assert_str(ev.appname, "%SYS-5-CONFIG_I");
    assert_str(ev.message, "Configured");
}

static void test_3164_tags(void **state)
{
    (void)state;
    struct strm_event ev;
    assert_int_equal(parse(&ev, "<13>Jun 14 15:16:01 h sshd(pam_unix)[19939]: auth failure", 0),
                     SYSLOG_RFC3164);
    assert_str(ev.appname, "sshd(pam_unix)");
    assert_str(ev.procid, "19939");
    assert_str(ev.message, "auth failure");
    assert_int_equal(parse(&ev, "<13>Jun 14 15:16:01 h app: msg: with colon", 0), SYSLOG_RFC3164);
    assert_str(ev.appname, "app");
    assert_str(ev.procid, NULL);
    assert_str(ev.message, "msg: with colon");
    /* No tag: the first word stays in the message. */
    assert_int_equal(parse(&ev, "<13>Jun 14 15:16:01 h just some text", 0), SYSLOG_RFC3164);
    assert_str(ev.hostname, "h");
    assert_str(ev.appname, NULL);
    assert_str(ev.message, "just some text");
    /* ISO 8601 timestamp in RFC 3164 framing (rsyslog RFC3339 template) */
    assert_int_equal(parse(&ev, "<30>2024-06-14T17:16:01.5+02:00 web nginx[5]: GET /\r\n", 0),
                     SYSLOG_RFC3164);
    assert_int_equal(ev.devicetime, utc_ms(2024, 6, 14, 15, 16, 1, 500));
    assert_str(ev.hostname, "web");
    assert_str(ev.appname, "nginx");
    assert_str(ev.procid, "5");
    assert_str(ev.message, "GET /");
}

/* ---------------------------------------------------------------- malformed */

static void assert_unparsed(const char *text, size_t len)
{
    struct strm_event ev;
    strm_event_init(&ev);
    ev.payload.p = text;
    ev.payload.len = (uint32_t)len;
    ev.starttime = T_2024_06_14;
    assert_int_equal(syslog_parse(&ev, &arena), SYSLOG_UNPARSED);
    assert_true(ev.flags & STRM_EV_UNPARSED);
    assert_int_equal(ev.message.len, len);
    assert_ptr_equal(ev.message.p, text);
    assert_int_equal(ev.facility, 255);
    assert_int_equal(ev.priority, 255);
    assert_int_equal(ev.devicetime, 0);
}

static void test_malformed(void **state)
{
    (void)state;
    assert_unparsed("<999>Jun 14 15:16:01 h a: m", 27);
    assert_unparsed("<192>Jun 14 15:16:01 h a: m", 27);
    assert_unparsed("<abc>Jun 14 15:16:01 h a: m", 27);
    assert_unparsed("<13", 3);
    assert_unparsed("<1234>x", 7);
    assert_unparsed("<>x", 3);
    assert_unparsed("", 0);
    assert_unparsed("<13>", 4);
    assert_unparsed("<13>   ", 7);
    assert_unparsed("<13>\r\n", 6);
    assert_unparsed("hello world", 11);
    assert_unparsed("Jun 14 25:16:01 h a: m", 22);
    assert_unparsed("Foo 14 15:16:01 h a: m", 22);
    assert_unparsed("\x00\xff\x01garbage", 10);
    /* PRI and garbage: RFC 3164 without header */
    struct strm_event ev;
    assert_int_equal(parse(&ev, "<13>\x01\x02 binary", 0), SYSLOG_RFC3164);
    assert_str(ev.message, "\x01\x02 binary");
}

/* Every prefix of a message must parse without reading past the end (ASan checks). */
static void test_prefixes(void **state)
{
    (void)state;
    const char *msgs[] = {
        "<165>1 2003-10-11T22:14:15.003+05:30 host app 1 ID [a b=\"c\\\"\"][d] \xEF\xBB\xBFmsg",
        "<13>Jun  4 2024 15:16:01.123 host tag[12]: msg",
        "<13>2024-06-14T17:16:01.5+02:00 web nginx[5]: GET /",
    };
    for (size_t i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++) {
        size_t n = strlen(msgs[i]);
        for (size_t l = 0; l <= n; l++) {
            char *copy = malloc(l ? l : 1);
            memcpy(copy, msgs[i], l);
            struct strm_event ev;
            strm_event_init(&ev);
            ev.payload.p = copy;
            ev.payload.len = (uint32_t)l;
            ev.starttime = T_2024_06_14;
            enum syslog_format f = syslog_parse(&ev, &arena);
            assert_true(f == SYSLOG_UNPARSED || f == SYSLOG_RFC3164 || f == SYSLOG_RFC5424);
            assert_true(ev.message.len <= l);
            free(copy);
        }
    }
}

/* ---------------------------------------------------------------- corpus */

struct expect {
    int line; /* 1-based */
    const char *host, *app, *pid, *msg;
};

static void check_corpus(const char *path, const char *host, const struct expect *ex, size_t nex,
                         int *lines_out)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) fail_msg("cannot open %s", path);
    char line[8192];
    int n = 0;
    size_t k = 0;
    int64_t start = utc_ms(2024, 12, 31, 12, 0, 0, 0);
    while (fgets(line, sizeof(line), fp)) {
        n++;
        struct strm_event ev;
        strm_event_init(&ev);
        /* The payload is handed over without the line end, as the framer would. */
        size_t len = strlen(line);
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            len--;
        ev.payload.p = line;
        ev.payload.len = (uint32_t)len;
        ev.starttime = start;
        if (syslog_parse(&ev, &arena) != SYSLOG_RFC3164)
            fail_msg("%s:%d: not parsed as RFC 3164", path, n);
        assert_true(ev.devicetime > 0);
        assert_true(ev.devicetime <= start + 86400000LL);
        assert_str(ev.hostname, host);
        if (k < nex && ex[k].line == n) {
            assert_str(ev.appname, ex[k].app);
            assert_str(ev.procid, ex[k].pid);
            assert_str(ev.message, ex[k].msg);
            k++;
        }
        strm_arena_reset(&arena);
    }
    fclose(fp);
    assert_int_equal(k, nex);
    *lines_out = n;
}

/*
 * The *_structured.csv files give Component (tag), PID and Content per line; a few rows are
 * compared here. Where the CSV's component has a space ("syslogd 1.4.1") the CSV tokenizer
 * differs from syslog TAG rules and the line is not compared.
 */
static void test_corpus_linux(void **state)
{
    (void)state;
    static const struct expect ex[] = {
        {1, "combo", "sshd(pam_unix)", "19939",
         "authentication failure; logname= uid=0 euid=0 tty=NODEVssh ruser= rhost=218.188.2.4 "},
        {2, "combo", "sshd(pam_unix)", "19937", "check pass; user unknown"},
        {898, "combo", "login(pam_unix)", "2421", "session opened for user root by LOGIN(uid=0)"},
    };
    int n = 0;
    check_corpus(CORPUS "/syslog/linux/Linux_2k.log", "combo", ex, sizeof(ex) / sizeof(ex[0]), &n);
    assert_int_equal(n, 2000);
}

static void test_corpus_openssh(void **state)
{
    (void)state;
    static const struct expect ex[] = {
        {1, "LabSZ", "sshd", "24200",
         "reverse mapping checking getaddrinfo for ns.marryaldkfaczcz.com [173.234.31.186] failed "
         "- POSSIBLE BREAK-IN ATTEMPT!"},
        {2, "LabSZ", "sshd", "24200", "Invalid user webmaster from 173.234.31.186"},
        {4, "LabSZ", "sshd", "24200", "pam_unix(sshd:auth): check pass; user unknown"},
    };
    int n = 0;
    check_corpus(CORPUS "/syslog/openssh/OpenSSH_2k.log", "LabSZ", ex, sizeof(ex) / sizeof(ex[0]),
                 &n);
    assert_int_equal(n, 2000);
}

/*
 * Compares appname and procid of every corpus line with the structured CSV, where the CSV
 * component is a plain token (no space). csv_host_col says in which column the hostname is
 * (the OpenSSH CSV has no separate host column: Component holds "LabSZ" and the tag is
 * always sshd).
 */
static void compare_csv(const char *log, const char *csv, int comp_col, int pid_col,
                        const char *fixed_app)
{
    FILE *fl = fopen(log, "rb");
    FILE *fc = fopen(csv, "rb");
    if (!fl || !fc) fail_msg("cannot open %s or %s", log, csv);
    char line[8192], row[16384];
    assert_non_null(fgets(row, sizeof(row), fc)); /* header */
    int compared = 0;
    while (fgets(line, sizeof(line), fl) && fgets(row, sizeof(row), fc)) {
        /* split the first columns of the CSV row (no quoting in these columns) */
        char *col[10] = {0};
        int nc = 0;
        char *s = row;
        while (nc < 10) {
            col[nc++] = s;
            char *c = strchr(s, ',');
            if (!c) break;
            *c = '\0';
            s = c + 1;
        }
        if (nc <= pid_col || nc <= comp_col) continue;
        const char *want_app = fixed_app ? fixed_app : col[comp_col];
        if (strchr(want_app, ' ')) continue;
        struct strm_event ev;
        strm_event_init(&ev);
        size_t len = strlen(line);
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            len--;
        ev.payload.p = line;
        ev.payload.len = (uint32_t)len;
        ev.starttime = T_2024_06_14;
        assert_int_equal(syslog_parse(&ev, &arena), SYSLOG_RFC3164);
        assert_str(ev.appname, want_app);
        assert_str(ev.procid, col[pid_col][0] ? col[pid_col] : NULL);
        compared++;
        strm_arena_reset(&arena);
    }
    fclose(fl);
    fclose(fc);
    assert_true(compared > 1900);
}

static void test_corpus_csv(void **state)
{
    (void)state;
    compare_csv(CORPUS "/syslog/linux/Linux_2k.log",
                CORPUS "/syslog/linux/Linux_2k.log_structured.csv", 5, 6, NULL);
    compare_csv(CORPUS "/syslog/openssh/OpenSSH_2k.log",
                CORPUS "/syslog/openssh/OpenSSH_2k.log_structured.csv", 4, 5, "sshd");
}

int main(void)
{
    setenv("TZ", "UTC", 1);
    tzset();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_5424_full),
        cmocka_unit_test(test_5424_nilvalues),
        cmocka_unit_test(test_5424_no_msg),
        cmocka_unit_test(test_5424_fraction_offsets),
        cmocka_unit_test(test_5424_sd_escapes),
        cmocka_unit_test(test_5424_bom),
        cmocka_unit_test(test_5424_bad_header_falls_back),
        cmocka_unit_test(test_3164_with_pri),
        cmocka_unit_test(test_3164_without_pri),
        cmocka_unit_test(test_3164_missing_hostname),
        cmocka_unit_test(test_3164_year_inference),
        cmocka_unit_test(test_3164_dst),
        cmocka_unit_test(test_3164_single_digit_day),
        cmocka_unit_test(test_3164_tags),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_prefixes),
        cmocka_unit_test(test_corpus_linux),
        cmocka_unit_test(test_corpus_openssh),
        cmocka_unit_test(test_corpus_csv),
    };
    cmocka_set_message_output(CM_OUTPUT_TAP);
    return cmocka_run_group_tests(tests, setup, teardown);
}
