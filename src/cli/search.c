/*
 * search.c - `strm search` and `strm stats`: ask the running instance over its control
 * socket; when none runs, search opens the store read-only in this process instead (and
 * config.db read-only, so that LOGSOURCENAME and the user QIDs resolve).
 */
#include "aql/aql.h"
#include "cli.h"
#include "collect/collect.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int search_local(const struct strm_config *cfg, const char *text, enum aql_format fmt,
                        bool explain)
{
    struct aql_query *q = NULL;
    struct aql_result *r = NULL;
    struct aql_error err = {0};
    struct ariel_store *stores[2] = {NULL, NULL}; /* events, flows */
    struct logsource_registry *reg = NULL;
    if (aql_parse(text, &q, &err) != 0) {
        fprintf(stderr, "strm: syntax error: %s\n", err.msg);
        return EXIT_USAGE;
    }
    int code = EXIT_FAIL;
    if (cli_open_logsources(cfg, true, NULL, &reg) != 0) goto out;
    cli_set_aql_resolvers(reg);
    aql_set_network_config(cfg);
    /* the query's table must open; the other one only for a subquery that reads it, if it
     * exists (opening a store reads every segment's head: 13 ms of a flows query's 37 with
     * 50 M events beside the flows) */
    enum strm_table main_t = aql_query_table(q);
    for (int t = STRM_TABLE_EVENTS; t <= STRM_TABLE_FLOWS; t++) {
        char dir[4200];
        cli_table_dir(cfg, (enum strm_table)t, dir, sizeof dir);
        if (t != (int)main_t &&
            (!aql_query_uses_table(q, (enum strm_table)t) || access(dir, F_OK) != 0))
            continue;
        if (cli_open_table(cfg, (enum strm_table)t, true, NULL, &stores[t - 1]) != 0 &&
            t == (int)main_t)
            goto out;
    }
    struct aql_stores st = {.events = stores[0], .flows = stores[1]};
    struct aql_exec_ctl ctl = {
        .timeout_s = cfg->search_timeout_s,
        .deadline_ms = cfg->search_timeout_s ? strm_mono_ms() + cfg->search_timeout_s * 1000LL : 0,
        .max_memory = (size_t)cfg->search_max_memory_mb << 20,
    };
    /* rows go out as they are found for plain queries in csv/json (flat memory) */
    if (aql_execute_stream(q, &st, strm_now_ms(), &ctl, fmt, stdout, NULL, &err) != 0) {
        fprintf(stderr, "strm: search failed: %s\n", err.msg);
        goto out;
    }
    if (explain) {
        struct aql_search_status ss = {0};
        aql_ctl_status(&ctl, &ss);
        aql_explain_write(&ss, stdout);
    }
    code = EXIT_OK;
out:
    aql_result_free(r);
    ariel_close(stores[0]);
    ariel_close(stores[1]);
    aql_query_free(q);
    cli_set_aql_resolvers(NULL);
    aql_set_network_config(NULL);
    logsource_close(reg);
    return code;
}

static void search_usage(void)
{
    fprintf(stderr,
            "usage: strm search [--config FILE] [--format table|csv|json] [--explain] 'AQL'\n"
            "       strm search [--config FILE] --async 'AQL'        (prints the search id)\n"
            "       strm search [--config FILE] --status ID\n"
            "       strm search [--config FILE] --results ID [--format F] [--offset N] "
            "[--count N]\n"
            "       strm search [--config FILE] --cancel ID\n"
            "       strm search [--config FILE] --list\n"
            "       strm search --functions\n");
}

/* The async requests need the running instance: they live in its search manager. */
static int async_request(const struct strm_config *cfg, const char *req, size_t len)
{
    int rc = control_request(cfg, req, len);
    if (rc < 0) {
        fprintf(stderr,
                "strm: asynchronous searches need a running instance; none answers on "
                "%s/strm.sock\n",
                cfg->data_dir);
        return EXIT_FAIL;
    }
    return rc;
}

int cmd_search(int argc, char **argv)
{
    const char *config_path = NULL, *text = NULL, *format = "table", *id = NULL;
    enum { SYNC, ASYNC, STATUS, RESULTS, CANCEL, LIST } mode = SYNC;
    unsigned long long offset = 0, count = 0;
    bool bad = false, explain = false;
    for (int i = 1; i < argc && !bad; i++) {
        if (!strcmp(argv[i], "--config") && i + 1 < argc) {
            config_path = argv[++i];
        } else if (!strcmp(argv[i], "--format") && i + 1 < argc) {
            format = argv[++i];
        } else if (!strcmp(argv[i], "--functions")) {
            aql_functions_write(stdout); /* needs no instance or config */
            return EXIT_OK;
        } else if (!strcmp(argv[i], "--explain")) {
            explain = true;
        } else if (!strcmp(argv[i], "--async") && mode == SYNC) {
            mode = ASYNC;
        } else if (!strcmp(argv[i], "--list") && mode == SYNC) {
            mode = LIST;
        } else if ((!strcmp(argv[i], "--status") || !strcmp(argv[i], "--results") ||
                    !strcmp(argv[i], "--cancel")) &&
                   i + 1 < argc && mode == SYNC) {
            mode = argv[i][2] == 's' ? STATUS : argv[i][2] == 'r' ? RESULTS : CANCEL;
            id = argv[++i];
        } else if ((!strcmp(argv[i], "--offset") || !strcmp(argv[i], "--count")) && i + 1 < argc) {
            char *end;
            unsigned long long v = strtoull(argv[i + 1], &end, 10);
            if (*end || argv[i + 1][0] == '-') bad = true;
            if (argv[i][2] == 'o')
                offset = v;
            else
                count = v;
            i++;
        } else if (!text && argv[i][0] != '-') {
            text = argv[i];
        } else {
            bad = true;
        }
    }
    enum aql_format fmt;
    bool need_text = mode == SYNC || mode == ASYNC;
    if (bad || (need_text != (text != NULL)) || aql_format_parse(format, &fmt) != 0 ||
        (id && (strlen(id) > AQL_SEARCH_ID_LEN || strpbrk(id, " \n")))) {
        search_usage();
        return EXIT_USAGE;
    }
    struct strm_config cfg;
    int rc = cli_load_config(&cfg, config_path);
    if (rc) return rc;
    signal(SIGPIPE, SIG_IGN);
    size_t len = strlen(format) + (text ? strlen(text) : 0) + 128;
    char *req = malloc(len);
    if (!req) return EXIT_FAIL;
    int n = 0;
    switch (mode) {
    case SYNC:
        n = snprintf(req, len, "SEARCH %s%s\n%s", format, explain ? " explain" : "", text);
        rc = control_request(&cfg, req, (size_t)n);
        free(req);
        if (rc >= 0) return rc;
        return search_local(&cfg, text, fmt, explain);
    case ASYNC:
        n = snprintf(req, len, "ASYNC\n%s", text);
        break;
    case STATUS:
        n = snprintf(req, len, "STATUS %s\n", id);
        break;
    case RESULTS:
        n = snprintf(req, len, "RESULTS %s %s %llu %llu\n", id, format, offset, count);
        break;
    case CANCEL:
        n = snprintf(req, len, "CANCEL %s\n", id);
        break;
    case LIST:
        n = snprintf(req, len, "SEARCHES\n");
        break;
    }
    rc = async_request(&cfg, req, (size_t)n);
    free(req);
    return rc;
}

int cmd_stats(int argc, char **argv)
{
    const char *config_path = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--config") && i + 1 < argc) {
            config_path = argv[++i];
        } else {
            fprintf(stderr, "usage: strm stats [--config FILE]\n");
            return EXIT_USAGE;
        }
    }
    struct strm_config cfg;
    int rc = cli_load_config(&cfg, config_path);
    if (rc) return rc;
    signal(SIGPIPE, SIG_IGN);
    rc = control_request(&cfg, "STATS\n", 6);
    if (rc < 0) {
        fprintf(stderr, "strm: no running instance answers on %s/strm.sock\n", cfg.data_dir);
        return EXIT_FAIL;
    }
    return rc;
}
