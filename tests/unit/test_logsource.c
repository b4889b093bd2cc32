/*
 * test_logsource.c - unit tests of the log source registry (src/collect/logsource.c):
 * manual add, lookup by identifier on the parser path, persistence in config.db across a
 * reopen, auto-discovery at exactly logsources.autodetect_events (within one batch and
 * across batches), the unknown-sender report at exactly logsources.unknown_report, the time
 * zone override reaching the DSM, disabled log sources, editing, and counters.
 *
 * Events go through the real path: syslog_parse, then logsource_process_batch with the
 * real DSMs (Linux sshd lines, Cisco ASA lines with their own timestamp).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "collect/collect.h"
#include "dsm/dsm.h"

static char tmpdir[256];
static char dbpath[300];
static struct strm_stats stats;

static const char SSH_LINE[] =
    "<38>Nov 25 10:00:00 %s sshd[4242]: Failed password for root from 203.0.113.7 port 50022 "
    "ssh2";
static const char JUNK_LINE[] = "<13>Nov 25 10:00:00 %s mystery: nothing any DSM knows %d";
static const char ASA_LINE[] = "<166>Nov 25 2025 10:00:00 %s : %%ASA-6-302013: Built outbound TCP "
                               "connection 1 for outside:198.51.100.1/443 (198.51.100.1/443) to "
                               "inside:10.0.0.5/50000 (10.0.0.5/50000)";

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/test_logsource.XXXXXX");
    assert_non_null(mkdtemp(tmpdir));
    snprintf(dbpath, sizeof dbpath, "%s/config.db", tmpdir);
    memset(&stats, 0, sizeof stats);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) return -1;
    return 0;
}

static struct logsource_registry *open_reg(int autodetect_events, int unknown_report)
{
    struct logsource_options o = {
        .db_path = dbpath,
        .autodetect = true,
        .autodetect_events = autodetect_events,
        .unknown_report = unknown_report,
        .coalesce_default = true,
        .stats = &stats,
    };
    struct logsource_registry *reg = NULL;
    char err[512];
    if (logsource_open(&o, &reg, err, sizeof err) != 0) fail_msg("logsource_open: %s", err);
    return reg;
}

/* A batch of n events from host, each a line made by fmt (host, i), syslog-parsed. */
static struct strm_batch *make_batch(const char *fmt, const char *host, int n)
{
    struct strm_batch *b = strm_batch_new((uint32_t)n);
    assert_non_null(b);
    for (int i = 0; i < n; i++) {
        struct strm_event *ev = strm_batch_add(b);
        assert_non_null(ev);
        char line[600];
        int len = snprintf(line, sizeof line, fmt, host, i);
        ev->payload = strm_arena_strdup(&b->arena, line, (size_t)len);
        ev->starttime = 1764064800000 + i;
        strm_ip_parse(&ev->collectorip, "192.0.2.1", 9);
        syslog_parse(ev, &b->arena);
    }
    return b;
}

static struct strm_batch *run_batch(struct logsource_registry *reg, const char *fmt,
                                    const char *host, int n)
{
    struct strm_batch *b = make_batch(fmt, host, n);
    logsource_process_batch(reg, b);
    return b;
}

static void test_dsms_recognize_samples(void **state)
{
    (void)state;
    struct strm_batch *b = make_batch(SSH_LINE, "web1", 1);
    struct dsm_ctx ctx = {0, 0};
    const struct dsm_def *d = dsm_parse(&b->ev[0], &b->arena, &ctx);
    assert_non_null(d);
    assert_int_equal(d->type_id, DSM_T_LINUX);
    strm_batch_free(b);
    b = make_batch(ASA_LINE, "fw01", 1);
    d = dsm_parse(&b->ev[0], &b->arena, &ctx);
    assert_non_null(d);
    assert_int_equal(d->type_id, DSM_T_CISCO_ASA);
    strm_batch_free(b);
}

static void test_autodetect_threshold_one_batch(void **state)
{
    (void)state;
    struct logsource_registry *reg = open_reg(25, 1000);
    struct strm_batch *b = run_batch(reg, SSH_LINE, "web1", 30);
    for (int i = 0; i < 25; i++)
        assert_int_equal(b->ev[i].logsourceid, 0); /* not yet: stored as discovered */
    for (int i = 0; i < 25; i++)
        assert_int_equal(b->ev[i].devicetype, DSM_T_LINUX); /* but normalized already */
    for (int i = 25; i < 30; i++)
        assert_int_not_equal(b->ev[i].logsourceid, 0);
    uint32_t id = b->ev[25].logsourceid;
    assert_int_equal(STRM_STAT_GET(&stats, logsources_created), 1);
    assert_int_equal(STRM_STAT_GET(&stats, dsm_recognized), 30);
    struct logsource_info li;
    assert_int_equal(logsource_get(reg, id, &li), 0);
    assert_string_equal(li.identifier, "web1");
    assert_int_equal(li.type, DSM_T_LINUX);
    assert_true(li.autodiscovered);
    assert_true(li.enabled);
    assert_true(li.coalesce);
    char want[300];
    snprintf(want, sizeof want, "%s @ web1", dsm_by_type(DSM_T_LINUX)->display);
    assert_string_equal(li.name, want);
    assert_string_equal(logsource_name(reg, id), want);
    assert_int_equal(li.events, 5);
    assert_int_equal(li.first_seen, 1764064800000);
    assert_int_equal(li.last_seen, 1764064800029);
    strm_batch_free(b);
    /* Identifiers compare case-insensitively. */
    b = run_batch(reg, SSH_LINE, "WEB1", 2);
    assert_int_equal(b->ev[0].logsourceid, id);
    strm_batch_free(b);
    logsource_close(reg);
}

static void test_autodetect_threshold_across_batches(void **state)
{
    (void)state;
    struct logsource_registry *reg = open_reg(25, 1000);
    struct strm_batch *b = run_batch(reg, SSH_LINE, "db1", 24);
    strm_batch_free(b);
    struct logsource_info *v;
    size_t n;
    assert_int_equal(logsource_list(reg, &v, &n), 0);
    assert_int_equal(n, 0);
    free(v);
    b = run_batch(reg, SSH_LINE, "db1", 2); /* the 25th creates it; the 26th carries it */
    assert_int_equal(b->ev[0].logsourceid, 0);
    assert_int_not_equal(b->ev[1].logsourceid, 0);
    strm_batch_free(b);
    assert_int_equal(logsource_list(reg, &v, &n), 0);
    assert_int_equal(n, 1);
    free(v);
    /* Unrecognized events of another sender never create one. */
    b = run_batch(reg, JUNK_LINE, "odd1", 100);
    strm_batch_free(b);
    assert_int_equal(logsource_list(reg, &v, &n), 0);
    assert_int_equal(n, 1);
    free(v);
    assert_int_equal(STRM_STAT_GET(&stats, logsources_created), 1);
    logsource_close(reg);
}

static void test_unknown_report(void **state)
{
    (void)state;
    struct logsource_registry *reg = open_reg(25, 10);
    struct strm_batch *b = run_batch(reg, JUNK_LINE, "odd2", 9);
    strm_batch_free(b);
    assert_int_equal(STRM_STAT_GET(&stats, unknown_senders_reported), 0);
    b = run_batch(reg, JUNK_LINE, "odd2", 1);
    strm_batch_free(b);
    assert_int_equal(STRM_STAT_GET(&stats, unknown_senders_reported), 1);
    b = run_batch(reg, JUNK_LINE, "odd2", 50);
    strm_batch_free(b);
    assert_int_equal(STRM_STAT_GET(&stats, unknown_senders_reported), 1); /* once */
    assert_int_equal(STRM_STAT_GET(&stats, dsm_unrecognized), 60);
    logsource_close(reg);
}

static void test_persist_across_reopen(void **state)
{
    (void)state;
    struct logsource_registry *reg = open_reg(25, 1000);
    struct logsource_info in;
    memset(&in, 0, sizeof in);
    snprintf(in.identifier, sizeof in.identifier, "fw01");
    snprintf(in.name, sizeof in.name, "Edge firewall");
    snprintf(in.group, sizeof in.group, "dmz");
    in.type = DSM_T_CISCO_ASA;
    in.tz_min = 120;
    in.enabled = true;
    in.coalesce = false;
    uint32_t id;
    char err[256];
    assert_int_equal(logsource_add(reg, &in, &id, err, sizeof err), 0);
    /* duplicate identifier is refused */
    uint32_t id2;
    snprintf(in.identifier, sizeof in.identifier, "FW01");
    assert_int_not_equal(logsource_add(reg, &in, &id2, err, sizeof err), 0);
    assert_non_null(strstr(err, "already belongs"));
    struct strm_batch *b = run_batch(reg, ASA_LINE, "fw01", 7);
    uint32_t got = b->ev[0].logsourceid;
    strm_batch_free(b);
    assert_int_equal(got, id);
    logsource_close(reg);

    reg = open_reg(25, 1000);
    struct logsource_info li;
    assert_int_equal(logsource_get(reg, id, &li), 0);
    assert_string_equal(li.identifier, "fw01");
    assert_string_equal(li.name, "Edge firewall");
    assert_string_equal(li.group, "dmz");
    assert_int_equal(li.type, DSM_T_CISCO_ASA);
    assert_int_equal(li.tz_min, 120);
    assert_false(li.coalesce);
    assert_false(li.autodiscovered);
    assert_int_equal(li.events, 7);
    assert_int_equal(li.last_seen, 1764064800006);
    b = run_batch(reg, ASA_LINE, "fw01", 1);
    assert_int_equal(b->ev[0].logsourceid, id);
    strm_batch_free(b);
    /* counters are synced by logsource_sync too, not only at close */
    assert_int_equal(logsource_sync(reg, 0), 0);
    logsource_close(reg);
    reg = open_reg(25, 1000);
    assert_int_equal(logsource_get(reg, id, &li), 0);
    assert_int_equal(li.events, 8);
    logsource_close(reg);

    /* read-only open sees it; a missing database is an empty registry */
    struct logsource_options ro = {.db_path = dbpath, .read_only = true};
    assert_int_equal(logsource_open(&ro, &reg, err, sizeof err), 0);
    assert_string_equal(logsource_name(reg, id), "Edge firewall");
    assert_int_not_equal(logsource_add(reg, &in, &id2, err, sizeof err), 0);
    logsource_close(reg);
    char missing[400];
    snprintf(missing, sizeof missing, "%s/nothing.db", tmpdir);
    ro.db_path = missing;
    assert_int_equal(logsource_open(&ro, &reg, err, sizeof err), 0);
    assert_null(logsource_name(reg, 1));
    logsource_close(reg);
    assert_int_not_equal(access(missing, F_OK), 0);
}

/* 2025-11-25 10:00:00 UTC */
#define ASA_UTC_MS 1764064800000LL

static void test_tz_override(void **state)
{
    (void)state;
    struct logsource_registry *reg = open_reg(25, 1000);
    struct strm_batch *b = make_batch(ASA_LINE, "fw02", 1);
    char host[64];
    snprintf(host, sizeof host, "%.*s", (int)b->ev[0].hostname.len, b->ev[0].hostname.p);
    strm_batch_free(b);
    struct logsource_info in;
    memset(&in, 0, sizeof in);
    snprintf(in.identifier, sizeof in.identifier, "%s", host);
    in.type = DSM_T_CISCO_ASA;
    in.tz_min = 120; /* +02:00: the device's 10:00 is 08:00 UTC */
    in.enabled = true;
    uint32_t id;
    char err[256];
    assert_int_equal(logsource_add(reg, &in, &id, err, sizeof err), 0);
    b = run_batch(reg, ASA_LINE, "fw02", 1);
    assert_int_equal(b->ev[0].logsourceid, id);
    assert_int_equal(b->ev[0].devicetype, DSM_T_CISCO_ASA);
    assert_int_equal(b->ev[0].devicetime, ASA_UTC_MS - 120 * 60000);
    strm_batch_free(b);
    /* unset: the collector's zone (TZ=UTC in this test) */
    in.id = id;
    in.tz_min = LOGSOURCE_TZ_UNSET;
    assert_int_equal(logsource_update(reg, &in, err, sizeof err), 0);
    b = run_batch(reg, ASA_LINE, "fw02", 1);
    assert_int_equal(b->ev[0].devicetime, ASA_UTC_MS);
    strm_batch_free(b);
    in.tz_min = -330;
    assert_int_equal(logsource_update(reg, &in, err, sizeof err), 0);
    b = run_batch(reg, ASA_LINE, "fw02", 1);
    assert_int_equal(b->ev[0].devicetime, ASA_UTC_MS + 330 * 60000);
    strm_batch_free(b);
    logsource_close(reg);

    int32_t m;
    assert_int_equal(logsource_tz_parse("+02:00", &m), 0);
    assert_int_equal(m, 120);
    assert_int_equal(logsource_tz_parse("-0530", &m), 0);
    assert_int_equal(m, -330);
    assert_int_equal(logsource_tz_parse("+2", &m), 0);
    assert_int_equal(m, 120);
    assert_int_equal(logsource_tz_parse("UTC", &m), 0);
    assert_int_equal(m, 0);
    assert_int_not_equal(logsource_tz_parse("+15:00", &m), 0);
    assert_int_not_equal(logsource_tz_parse("02:00", &m), 0);
    assert_int_not_equal(logsource_tz_parse("+02:0", &m), 0);
    assert_int_not_equal(logsource_tz_parse("+", &m), 0);
    char buf[16];
    logsource_tz_format(-330, buf, sizeof buf);
    assert_string_equal(buf, "-05:30");
    logsource_tz_format(LOGSOURCE_TZ_UNSET, buf, sizeof buf);
    assert_string_equal(buf, "-");
}

static void test_disable(void **state)
{
    (void)state;
    struct logsource_registry *reg = open_reg(25, 1000);
    struct logsource_info in;
    memset(&in, 0, sizeof in);
    snprintf(in.identifier, sizeof in.identifier, "web9");
    in.type = DSM_T_LINUX;
    in.tz_min = LOGSOURCE_TZ_UNSET;
    in.enabled = true;
    in.coalesce = true;
    uint32_t id;
    char err[256];
    assert_int_equal(logsource_add(reg, &in, &id, err, sizeof err), 0);
    logsource_read_begin(reg);
    assert_true(logsource_coalesces(reg, id));
    assert_false(logsource_coalesces(reg, 0));
    assert_false(logsource_coalesces(reg, id + 100));
    logsource_read_end(reg);
    struct logsource_info li;
    assert_int_equal(logsource_get(reg, id, &li), 0);
    li.enabled = false;
    assert_int_equal(logsource_update(reg, &li, err, sizeof err), 0);
    struct strm_batch *b = run_batch(reg, SSH_LINE, "web9", 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(b->ev[i].logsourceid, id);         /* still its log source */
        assert_int_equal(b->ev[i].qid, QID_GENERIC_STORED); /* but not normalized */
        assert_int_equal(b->ev[i].devicetype, 0);
    }
    strm_batch_free(b);
    assert_int_equal(STRM_STAT_GET(&stats, logsource_disabled_events), 3);
    logsource_read_begin(reg);
    assert_false(logsource_coalesces(reg, id)); /* disabled: nothing to coalesce */
    logsource_read_end(reg);
    assert_int_equal(logsource_get(reg, id, &li), 0);
    assert_int_equal(li.events, 3); /* counted */
    li.enabled = true;
    snprintf(li.name, sizeof li.name, "renamed");
    assert_int_equal(logsource_update(reg, &li, err, sizeof err), 0);
    assert_string_equal(logsource_name(reg, id), "renamed");
    b = run_batch(reg, SSH_LINE, "web9", 1);
    assert_int_equal(b->ev[0].devicetype, DSM_T_LINUX);
    assert_int_not_equal(b->ev[0].qid, QID_GENERIC_STORED);
    strm_batch_free(b);
    li.id = 9999;
    assert_int_not_equal(logsource_update(reg, &li, err, sizeof err), 0);
    logsource_close(reg);
}

static void test_add_validation(void **state)
{
    (void)state;
    struct logsource_registry *reg = open_reg(25, 1000);
    struct logsource_info in;
    memset(&in, 0, sizeof in);
    in.type = DSM_T_LINUX;
    uint32_t id;
    char err[256];
    assert_int_not_equal(logsource_add(reg, &in, &id, err, sizeof err), 0); /* no identifier */
    snprintf(in.identifier, sizeof in.identifier, "x");
    in.type = 9998;
    assert_int_not_equal(logsource_add(reg, &in, &id, err, sizeof err), 0); /* no such type */
    assert_non_null(strstr(err, "unknown log source type"));
    /* user QIDs: validated, added to the QID map, stored */
    uint32_t qid;
    assert_int_not_equal(
        logsource_qid_add(reg, "", "", LLC_HOST_LOGIN_FAILED, 5, &qid, err, sizeof err), 0);
    assert_int_not_equal(logsource_qid_add(reg, "x", "", 3000, 5, &qid, err, sizeof err), 0);
    assert_int_equal(logsource_qid_add(reg, "Custom Login", "desc", LLC_HOST_LOGIN_FAILED, 6, &qid,
                                       err, sizeof err),
                     0);
    assert_true(qid >= QID_USER_BASE);
    const struct qid_def *d = qid_lookup(qid);
    assert_non_null(d);
    assert_string_equal(d->name, "Custom Login");
    assert_int_equal(d->category, LLC_HOST_LOGIN_FAILED);
    logsource_close(reg);
}

int main(void)
{
    setenv("TZ", "UTC", 1);
    tzset();
    strm_log_set_level(STRM_LOG_ERROR);
    if (dsm_init() != 0) fprintf(stderr, "# dsm_init reported errors\n");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dsms_recognize_samples),
        cmocka_unit_test_setup_teardown(test_autodetect_threshold_one_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_autodetect_threshold_across_batches, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_report, setup, teardown),
        cmocka_unit_test_setup_teardown(test_persist_across_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tz_override, setup, teardown),
        cmocka_unit_test_setup_teardown(test_disable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_add_validation, setup, teardown),
    };
    cmocka_set_message_output(CM_OUTPUT_TAP);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
