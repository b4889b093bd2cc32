/* Unit tests for the configuration loader (src/core/config.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/core.h"

static char path[64];

static int load(struct strm_config *cfg, const char *yaml, char *err, size_t errlen)
{
    snprintf(path, sizeof(path), "/tmp/strm-test-config-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, yaml, strlen(yaml)), (ssize_t)strlen(yaml));
    close(fd);
    strm_config_defaults(cfg);
    err[0] = '\0';
    int rc = strm_config_load(cfg, path, err, errlen);
    unlink(path);
    return rc;
}

static void defaults_listen_on_514(void **state)
{
    struct strm_config cfg;
    strm_config_defaults(&cfg);
    assert_int_equal(cfg.n_syslog_udp, 1);
    assert_int_equal(cfg.syslog_udp[0].port, 514);
    assert_int_equal(cfg.n_syslog_tcp, 1);
    assert_int_equal(cfg.syslog_tcp[0].port, 514);
    assert_string_equal(cfg.data_dir, geteuid() == 0 ? "/var/lib/strm" : "./data");
    assert_int_equal(cfg.fsync, STRM_FSYNC_INTERVAL);
}

static void file_overrides_key_by_key(void **state)
{
    struct strm_config cfg;
    char err[512];
    assert_int_equal(load(&cfg,
                          "data_dir: /tmp/x\n"
                          "syslog:\n"
                          "  udp: ['127.0.0.1:5514', '[::1]:5514']\n"
                          "storage:\n"
                          "  fsync: batch\n",
                          err, sizeof(err)),
                     0);
    assert_string_equal(cfg.data_dir, "/tmp/x");
    assert_int_equal(cfg.n_syslog_udp, 2);
    assert_string_equal(cfg.syslog_udp[0].host, "127.0.0.1");
    assert_int_equal(cfg.syslog_udp[0].port, 5514);
    assert_string_equal(cfg.syslog_udp[1].host, "::1");
    /* untouched keys keep their defaults */
    assert_int_equal(cfg.n_syslog_tcp, 1);
    assert_int_equal(cfg.syslog_tcp[0].port, 514);
    assert_int_equal(cfg.fsync, STRM_FSYNC_BATCH);
    assert_int_equal(cfg.fsync_interval_ms, 200);
}

static void empty_list_turns_listener_off(void **state)
{
    struct strm_config cfg;
    char err[512];
    assert_int_equal(load(&cfg, "syslog:\n  tcp: []\n", err, sizeof(err)), 0);
    assert_int_equal(cfg.n_syslog_tcp, 0);
    assert_int_equal(cfg.n_syslog_udp, 1);
}

static void unknown_key_names_key_and_line(void **state)
{
    struct strm_config cfg;
    char err[512];
    assert_int_not_equal(load(&cfg, "data_dir: /tmp/x\nsyslog:\n  udpp: []\n", err, sizeof(err)),
                         0);
    assert_non_null(strstr(err, ":3:"));
    assert_non_null(strstr(err, "syslog.udpp"));
    assert_non_null(strstr(err, "unknown key"));
}

static void bad_values_are_errors(void **state)
{
    struct strm_config cfg;
    char err[512];
    assert_int_not_equal(load(&cfg, "syslog:\n  tcp: ['127.0.0.1:99999']\n", err, sizeof(err)), 0);
    assert_non_null(strstr(err, ":2:"));
    assert_non_null(strstr(err, "syslog.tcp"));
    assert_int_not_equal(load(&cfg, "syslog:\n  tcp: '127.0.0.1:514'\n", err, sizeof(err)), 0);
    assert_non_null(strstr(err, "list"));
    assert_int_not_equal(load(&cfg, "storage:\n  fsync: sometimes\n", err, sizeof(err)), 0);
    assert_non_null(strstr(err, "storage.fsync"));
    assert_int_not_equal(load(&cfg, "storage:\n  segment_rows: many\n", err, sizeof(err)), 0);
    assert_non_null(strstr(err, "not an integer"));
    assert_int_not_equal(load(&cfg, "storage:\n  segment_rows: 0\n", err, sizeof(err)), 0);
    assert_non_null(strstr(err, "out of range"));
    assert_int_not_equal(load(&cfg, "- a\n- b\n", err, sizeof(err)), 0);
    assert_int_not_equal(load(&cfg, "syslog: [1, 2\n", err, sizeof(err)), 0);
    /* Regression (fuzz_config): invalid UTF-8 in a directive made libfyaml loop forever. */
    assert_int_not_equal(load(&cfg, "log:\n% tcp: []\xafs\xdd\xdd\n", err, sizeof(err)), 0);
    assert_non_null(strstr(err, ":2:"));
    assert_non_null(strstr(err, "UTF-8"));
}

static void retention_buckets_parse(void **state)
{
    struct strm_config cfg;
    char err[512];
    assert_int_equal(load(&cfg,
                          "storage:\n  retention_buckets:\n"
                          "    - name: auth\n      filter: \"category = 3003\"\n      days: 90\n"
                          "    - {name: fw, filter: \"devicetype = 5 AND severity < 3\", days: 7}\n",
                          err, sizeof(err)),
                     0);
    assert_int_equal(cfg.n_buckets, 2);
    assert_string_equal(cfg.buckets[0].name, "auth");
    assert_string_equal(cfg.buckets[0].filter, "category = 3003");
    assert_int_equal(cfg.buckets[0].days, 90);
    assert_string_equal(cfg.buckets[1].filter, "devicetype = 5 AND severity < 3");
    assert_int_equal(cfg.buckets[1].days, 7);
    assert_int_not_equal(load(&cfg, "storage:\n  retention_buckets:\n    - name: x\n      days: 5\n",
                              err, sizeof(err)),
                         0);
    assert_non_null(strstr(err, "needs name, filter and days"));
    assert_int_not_equal(load(&cfg,
                              "storage:\n  retention_buckets:\n    - name: x\n      filter: a\n"
                              "      days: -1\n",
                              err, sizeof(err)),
                         0);
    assert_non_null(strstr(err, "number of days"));
    char big[2048] = "storage:\n  retention_buckets:\n";
    for (int i = 0; i < 11; i++)
        snprintf(big + strlen(big), sizeof big - strlen(big),
                 "    - {name: b%d, filter: \"qid = %d\", days: 1}\n", i, i);
    assert_int_not_equal(load(&cfg, big, err, sizeof(err)), 0);
    assert_non_null(strstr(err, "at most 10"));
}

static void listen_parse_forms(void **state)
{
    struct strm_listen l;
    assert_int_equal(strm_listen_parse(&l, ":514", 4), 0);
    assert_string_equal(l.host, "");
    assert_int_equal(l.port, 514);
    assert_int_equal(strm_listen_parse(&l, "[::]:6514", 9), 0);
    assert_string_equal(l.host, "::");
    assert_int_not_equal(strm_listen_parse(&l, "::1:514", 7), 0);
    assert_int_not_equal(strm_listen_parse(&l, "host", 4), 0);
    assert_int_not_equal(strm_listen_parse(&l, "host:0", 6), 0);
    assert_int_not_equal(strm_listen_parse(&l, "host:", 5), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults_listen_on_514),
        cmocka_unit_test(file_overrides_key_by_key),
        cmocka_unit_test(empty_list_turns_listener_off),
        cmocka_unit_test(unknown_key_names_key_and_line),
        cmocka_unit_test(bad_values_are_errors),
        cmocka_unit_test(listen_parse_forms),
        cmocka_unit_test(retention_buckets_parse),
    };
    cmocka_set_message_output(CM_OUTPUT_TAP);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
