/*
 * main.c - the strm command: dispatches to subcommands.
 *
 * One binary for every role (ARCHITECTURE.md section 2); this first version has the
 * all-in-one runner and the tools that talk to it or to its store.
 */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

static void usage(FILE *out)
{
    fprintf(out, "usage: strm <command> [options]\n"
                 "\n"
                 "commands:\n"
                 "  run    [--config FILE]                      run the all-in-one SIEM\n"
                 "  search [--config FILE] [--format table|csv|json] 'AQL'\n"
                 "                                              search events with AQL\n"
                 "  stats  [--config FILE]                      pipeline counters of the running "
                 "instance\n"
                 "  ingest [--config FILE] FILE...              load syslog lines from files "
                 "('-' = stdin)\n"
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

static int mkdir_p(const char *path)
{
    char buf[4096];
    snprintf(buf, sizeof(buf), "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(buf, 0750) != 0 && errno != EEXIST)
                return -1;
            *p = '/';
        }
    }
    if (mkdir(buf, 0750) != 0 && errno != EEXIST)
        return -1;
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

int cli_open_store(const struct strm_config *cfg, bool read_only, struct strm_stats *stats,
                   struct ariel_store **out)
{
    char dir[4200], err[1024];
    snprintf(dir, sizeof(dir), "%s/ariel", cfg->data_dir);
    struct ariel_options opt = {
        .dir = dir,
        .read_only = read_only,
        .fsync = cfg->fsync,
        .fsync_interval_ms = cfg->fsync_interval_ms,
        .segment_rows = cfg->segment_rows,
        .segment_max_age_s = cfg->segment_max_age_s,
        .stats = stats,
    };
    int rc = ariel_open(&opt, out, err, sizeof(err));
    if (rc != 0)
        fprintf(stderr, "strm: cannot open the store %s: %s\n", dir, err);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "run"))
        return cmd_run(argc - 1, argv + 1);
    if (!strcmp(cmd, "search"))
        return cmd_search(argc - 1, argv + 1);
    if (!strcmp(cmd, "stats"))
        return cmd_stats(argc - 1, argv + 1);
    if (!strcmp(cmd, "ingest"))
        return cmd_ingest(argc - 1, argv + 1);
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
