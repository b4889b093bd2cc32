/*
 * main.c - the strm command: dispatches to subcommands.
 *
 * One binary for every role (ARCHITECTURE.md section 2); this first version has the
 * all-in-one runner and the tools that talk to it or to its store.
 */
#include "aql/aql.h"
#include "cli.h"
#include "collect/collect.h"
#include "dsm/dsm.h"

#include <errno.h>
#include <malloc.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

static void usage(FILE *out)
{
    fprintf(out,
            "usage: strm <command> [options]\n"
            "\n"
            "commands:\n"
            "  run    [--config FILE]                      run the all-in-one SIEM\n"
            "  search [--config FILE] [--format table|csv|json] 'AQL'\n"
            "                                              search events with AQL\n"
            "  stats  [--config FILE]                      pipeline counters of the running "
            "instance\n"
            "  ingest [--config FILE] [--coalesce] FILE... load syslog lines from files "
            "('-' = stdin)\n"
            "  logsources list|add|edit|disable [...]      log sources (strm logsources help)\n"
            "  qid list|show|add|categories [...]          the QID map (strm qid help)\n"
            "  store info [--config FILE]                  what the event store holds\n"
            "  fsck [--config FILE] [--repair]             check (and repair) the event store\n"
            "  version                                     print the version\n"
            "\n"
            "Without --config, built-in defaults apply (see docs/configuration.md).\n");
}

int cli_load_config(struct strm_config *cfg, const char *config_path)
{
    char err[1024];
    strm_config_defaults(cfg);
    if (config_path && strm_config_load(cfg, config_path, err, sizeof(err)) != 0) {
        fprintf(stderr, "strm: %s\n", err);
        return EXIT_USAGE;
    }
    strm_log_set_level(cfg->log_level);
    return EXIT_OK;
}

void cli_csv_field(FILE *out, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, out);
        return;
    }
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '"') fputc('"', out);
        fputc(*s, out);
    }
    fputc('"', out);
}

static int mkdir_p(const char *path)
{
    char buf[4096];
    snprintf(buf, sizeof(buf), "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(buf, 0750) != 0 && errno != EEXIST) return -1;
            *p = '/';
        }
    }
    if (mkdir(buf, 0750) != 0 && errno != EEXIST) return -1;
    return 0;
}

int cli_lock_data_dir(const struct strm_config *cfg)
{
    char path[4200];
    if (mkdir_p(cfg->data_dir) != 0) {
        fprintf(stderr, "strm: cannot create data_dir %s: %s\n", cfg->data_dir, strerror(errno));
        return -1;
    }
    snprintf(path, sizeof(path), "%s/LOCK", cfg->data_dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0) {
        fprintf(stderr, "strm: cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        fprintf(stderr,
                "strm: data_dir %s is in use by another strm process (run or ingest); "
                "stop it first or use another data_dir\n",
                cfg->data_dir);
        close(fd);
        return -1;
    }
    return fd;
}

void cli_table_dir(const struct strm_config *cfg, enum strm_table table, char *buf, size_t size)
{
    snprintf(buf, size, "%s/%s", cfg->data_dir, table == STRM_TABLE_FLOWS ? "flows" : "ariel");
}

/* storage.retention_buckets, compiled once per process (the events store's writer uses them). */
static struct aql_query *bucket_q[STRM_MAX_BUCKETS];
static int n_bucket_q;

static int bucket_of(const struct strm_event *ev, void *arg)
{
    (void)arg;
    for (int i = 0; i < n_bucket_q; i++)
        if (aql_query_matches(bucket_q[i], ev)) return i + 1;
    return 0;
}

static int compile_buckets(const struct strm_config *cfg)
{
    for (int i = n_bucket_q; i < cfg->n_buckets; i++) {
        char text[1200];
        struct aql_error e = {0};
        snprintf(text, sizeof text, "SELECT * FROM events WHERE %s", cfg->buckets[i].filter);
        if (aql_parse(text, &bucket_q[i], &e) != 0) {
            /* the position inside the filter, not inside the query wrapped around it */
            size_t prefix = strlen("SELECT * FROM events WHERE ");
            char *at = strstr(e.msg, " at line ");
            if (at) *at = '\0';
            fprintf(stderr,
                    "strm: storage.retention_buckets: bucket '%s': filter '%s' is not an AQL "
                    "condition: %s at character %zu of the filter\n",
                    cfg->buckets[i].name, cfg->buckets[i].filter, e.msg,
                    e.pos >= prefix ? e.pos - prefix + 1 : 1);
            return STRM_ERR_PARSE;
        }
        n_bucket_q = i + 1;
    }
    return 0;
}

int cli_open_table(const struct strm_config *cfg, enum strm_table table, bool read_only,
                   struct strm_stats *stats, struct ariel_store **out)
{
    char dir[4200], err[1024];
    cli_table_dir(cfg, table, dir, sizeof dir);
    bool buckets = table == STRM_TABLE_EVENTS && !read_only && cfg->n_buckets > 0;
    if (buckets && compile_buckets(cfg) != 0) return STRM_ERR_PARSE;
    struct ariel_options opt = {
        .dir = dir,
        .read_only = read_only,
        .table = table,
        .fsync = cfg->fsync,
        .fsync_interval_ms = cfg->fsync_interval_ms,
        .segment_rows = cfg->segment_rows,
        .segment_max_age_s = cfg->segment_max_age_s,
        .no_token_index = !cfg->token_index,
        .no_compaction = !cfg->compaction,
        .no_idle_writer = !cfg->segment_writer_idle,
        .no_payload_dict = !cfg->payload_dictionary,
        .compact_min_segments = cfg->compaction_min_segments,
        .memtable_prealloc_mb = cfg->memtable_prealloc_mb,
        .stats = stats,
        .retention_days = cfg->retention_days,
        .max_disk_percent = cfg->max_disk_percent,
        .bucket_of = buckets ? bucket_of : NULL,
    };
    for (int i = 0; buckets && i < cfg->n_buckets; i++)
        opt.bucket_days[i] = cfg->buckets[i].days;
    int rc = ariel_open(&opt, out, err, sizeof(err));
    if (rc != 0) fprintf(stderr, "strm: cannot open the store %s: %s\n", dir, err);
    return rc;
}

int cli_open_store(const struct strm_config *cfg, bool read_only, struct strm_stats *stats,
                   struct ariel_store **out)
{
    return cli_open_table(cfg, STRM_TABLE_EVENTS, read_only, stats, out);
}

int cli_open_logsources(const struct strm_config *cfg, bool read_only, struct strm_stats *stats,
                        struct logsource_registry **out)
{
    static bool dsm_ready;
    *out = NULL;
    if (!dsm_ready) {
        int rc = dsm_init();
        if (rc != 0 && !read_only) {
            fprintf(stderr, "strm: the DSMs failed to initialize (%s); see the log above\n",
                    strm_err_str(rc));
            return rc;
        }
        /* Read-only tools go on: the QID map holds every valid QID even then. */
        dsm_ready = true;
    }
    char path[4200], err[1024];
    snprintf(path, sizeof(path), "%s/config.db", cfg->data_dir);
    if (!read_only && mkdir_p(cfg->data_dir) != 0) {
        fprintf(stderr, "strm: cannot create data_dir %s: %s\n", cfg->data_dir, strerror(errno));
        return STRM_ERR_IO;
    }
    struct logsource_options opt = {
        .db_path = path,
        .read_only = read_only,
        .autodetect = cfg->logsources_autodetect,
        .autodetect_events = cfg->logsources_autodetect_events,
        .unknown_report = cfg->logsources_unknown_report,
        .coalesce_default = cfg->coalescing_enabled,
        .load_qids = true,
        .stats = stats,
    };
    int rc = logsource_open(&opt, out, err, sizeof(err));
    if (rc != 0) fprintf(stderr, "strm: configuration database: %s\n", err);
    return rc;
}

static const char *res_qid_name(uint32_t qid, void *arg)
{
    const struct qid_def *d = qid_lookup(qid);
    return d ? d->name : NULL;
}

static const char *res_qid_description(uint32_t qid, void *arg)
{
    const struct qid_def *d = qid_lookup(qid);
    return d ? d->description : NULL;
}

static const char *res_category_name(uint32_t id, void *arg)
{
    return id <= UINT16_MAX && dsm_category_get((uint16_t)id) ? dsm_category_name((uint16_t)id)
                                                              : NULL;
}

static const char *res_logsource_name(uint32_t id, void *arg)
{
    return logsource_name(arg, id);
}

static const char *res_type_name(uint32_t type, void *arg)
{
    const struct dsm_def *d = type <= UINT16_MAX ? dsm_by_type((uint16_t)type) : NULL;
    return d ? d->display : NULL;
}

static const char *res_application_name(uint32_t id, void *arg)
{
    (void)arg;
    return appid_name(id);
}

void cli_set_aql_resolvers(struct logsource_registry *reg)
{
    if (!reg) {
        aql_set_resolvers(NULL);
        return;
    }
    struct aql_resolvers r = {
        .qid_name = res_qid_name,
        .qid_description = res_qid_description,
        .category_name = res_category_name,
        .logsource_name = res_logsource_name,
        .logsource_type_name = res_type_name,
        .application_name = res_application_name,
        .arg = reg,
    };
    aql_set_resolvers(&r);
}

/*
 * `strm qid list --config F` and `strm qid --config F list` both work: the subcommand tools
 * read --config first, so move a --config pair found later up to just after the command.
 */
static void hoist_config(int argc, char **argv)
{
    for (int i = 3; i + 1 < argc; i++) {
        if (strcmp(argv[i], "--config") != 0) continue;
        char *opt = argv[i], *val = argv[i + 1];
        for (int k = i + 1; k > 3; k--)
            argv[k] = argv[k - 2];
        argv[2] = opt;
        argv[3] = val;
        return;
    }
}

int main(int argc, char **argv)
{
    /*
     * The store allocates its memtable in 4 MiB chunks and frees a whole memtable per
     * segment flush. Served by mmap, every cycle would fault in (and zero) ~100 MB of fresh
     * pages: a quarter of the CPU at full ingest. Keep such blocks in the heap and keep freed
     * memory for reuse instead of returning it to the kernel at once.
     */
    mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
    mallopt(M_TRIM_THRESHOLD, 512 * 1024 * 1024);
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "run")) return cmd_run(argc - 1, argv + 1);
    if (!strcmp(cmd, "search")) return cmd_search(argc - 1, argv + 1);
    if (!strcmp(cmd, "stats")) return cmd_stats(argc - 1, argv + 1);
    if (!strcmp(cmd, "ingest")) return cmd_ingest(argc - 1, argv + 1);
    if (!strcmp(cmd, "logsources") || !strcmp(cmd, "qid")) hoist_config(argc, argv);
    if (!strcmp(cmd, "logsources")) return cmd_logsources(argc - 1, argv + 1);
    if (!strcmp(cmd, "qid")) return cmd_qid(argc - 1, argv + 1);
    if (!strcmp(cmd, "store") || !strcmp(cmd, "fsck")) {
        int cmd_store(int argc, char **argv); /* store.c; belongs in cli.h */
        return cmd_store(argc - 1, argv + 1);
    }
    if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
        printf("strm %s\n", STRM_VERSION);
        return EXIT_OK;
    }
    if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
        usage(stdout);
        return EXIT_OK;
    }
    fprintf(stderr, "strm: unknown command '%s'\n", cmd);
    usage(stderr);
    return EXIT_USAGE;
}
