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

static int search_local(const struct strm_config *cfg, const char *text, enum aql_format fmt)
{
    struct aql_query *q = NULL;
    struct aql_result *r = NULL;
    struct aql_error err = {0};
    struct ariel_store *store = NULL;
    struct logsource_registry *reg = NULL;
    if (aql_parse(text, &q, &err) != 0) {
        fprintf(stderr, "strm: syntax error: %s\n", err.msg);
        return EXIT_USAGE;
    }
    int code = EXIT_FAIL;
    if (cli_open_logsources(cfg, true, NULL, &reg) != 0) goto out;
    cli_set_aql_resolvers(reg);
    aql_set_network_config(cfg);
    if (cli_open_table(cfg, aql_query_table(q), true, NULL, &store) != 0) goto out;
    if (aql_execute(q, store, strm_now_ms(), &r, &err) != 0) {
        fprintf(stderr, "strm: search failed: %s\n", err.msg);
        goto out;
    }
    aql_result_write(r, fmt, stdout);
    code = EXIT_OK;
out:
    aql_result_free(r);
    ariel_close(store);
    aql_query_free(q);
    cli_set_aql_resolvers(NULL);
    aql_set_network_config(NULL);
    logsource_close(reg);
    return code;
}

int cmd_search(int argc, char **argv)
{
    const char *config_path = NULL, *text = NULL, *format = "table";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--config") && i + 1 < argc) {
            config_path = argv[++i];
        } else if (!strcmp(argv[i], "--format") && i + 1 < argc) {
            format = argv[++i];
        } else if (!strcmp(argv[i], "--functions")) {
            aql_functions_write(stdout); /* needs no instance or config */
            return EXIT_OK;
        } else if (!text && argv[i][0] != '-') {
            text = argv[i];
        } else {
            text = NULL;
            break;
        }
    }
    enum aql_format fmt;
    if (!text || aql_format_parse(format, &fmt) != 0) {
        fprintf(stderr, "usage: strm search [--config FILE] [--format table|csv|json] 'AQL'\n"
                        "       strm search --functions\n");
        return EXIT_USAGE;
    }
    struct strm_config cfg;
    int rc = cli_load_config(&cfg, config_path);
    if (rc) return rc;
    signal(SIGPIPE, SIG_IGN);
    size_t len = strlen(format) + strlen(text) + 16;
    char *req = malloc(len);
    if (!req) return EXIT_FAIL;
    int n = snprintf(req, len, "SEARCH %s\n%s", format, text);
    rc = control_request(&cfg, req, (size_t)n);
    free(req);
    if (rc >= 0) return rc;
    return search_local(&cfg, text, fmt);
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
