/*
 * ingest.c - `strm ingest FILE...`: loads syslog lines from files (or stdin) through the
 * same parse and store stages as the network path, in this process.
 *
 * It takes the data_dir lock, so it runs while no instance runs on that store. On a
 * terminal it draws a progress bar on stderr from the bytes read against the file sizes.
 *
 * DSMs and log sources work as on the live path (auto-discovered log sources are stored in
 * config.db). Coalescing is off unless --coalesce is given: a file is history, its lines
 * all "arrive" within seconds of each other, and an analyst loading one wants every line
 * as a row of its own.
 */
#include "cli.h"
#include "collect/collect.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct progress {
    bool tty;
    uint64_t done_before; /* bytes of earlier files */
    uint64_t total;       /* 0 when unknown (stdin, pipes) */
    int64_t last_draw;
    int64_t start;
};

static void draw(struct progress *pg, uint64_t bytes, bool final)
{
    int64_t now = strm_mono_ms();
    if (!pg->tty || (!final && now - pg->last_draw < 100)) return;
    pg->last_draw = now;
    uint64_t cur = pg->done_before + bytes;
    double secs = (double)(now - pg->start) / 1000.0;
    double mbs = secs > 0 ? (double)cur / 1e6 / secs : 0;
    if (pg->total) {
        int width = 40, fill = (int)((double)cur / (double)pg->total * width);
        if (fill > width) fill = width;
        fprintf(stderr, "\r[%.*s%*s] %5.1f%% %.1f MB/s", fill,
                "########################################", width - fill, "",
                100.0 * (double)cur / (double)pg->total, mbs);
    } else {
        fprintf(stderr, "\r%.1f MB read, %.1f MB/s", (double)cur / 1e6, mbs);
    }
    if (final) fputc('\n', stderr);
}

static void on_bytes(uint64_t total, void *arg)
{
    draw(arg, total, false);
}

int cmd_ingest(int argc, char **argv)
{
    const char *config_path = NULL;
    int first_file = -1;
    bool coalesce = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--config") && i + 1 < argc) {
            config_path = argv[++i];
        } else if (!strcmp(argv[i], "--coalesce")) {
            coalesce = true;
        } else {
            first_file = i;
            break;
        }
    }
    if (first_file < 0) {
        fprintf(stderr,
                "usage: strm ingest [--config FILE] [--coalesce] FILE... ('-' reads stdin)\n");
        return EXIT_USAGE;
    }
    struct strm_config cfg;
    int rc = cli_load_config(&cfg, config_path);
    if (rc) return rc;
    signal(SIGPIPE, SIG_IGN);
    struct progress pg = {.tty = isatty(STDERR_FILENO) != 0, .start = strm_mono_ms()};
    for (int i = first_file; i < argc; i++) {
        struct stat st;
        if (strcmp(argv[i], "-") != 0 && stat(argv[i], &st) == 0 && S_ISREG(st.st_mode))
            pg.total += (uint64_t)st.st_size;
    }

    static struct strm_stats stats;
    struct ariel_store *store = NULL;
    struct pipeline *pipe = NULL;
    struct logsource_registry *reg = NULL;
    int code = EXIT_FAIL;
    int lock_fd = cli_lock_data_dir(&cfg);
    if (lock_fd < 0) return EXIT_FAIL;
    if (cli_open_logsources(&cfg, false, &stats, &reg) != 0) goto out;
    if (cli_open_store(&cfg, false, &stats, &store) != 0) goto out;
    if (pipeline_start(&cfg, store, reg, coalesce, &stats, &pipe) != 0) goto out;
    code = EXIT_OK;
    for (int i = first_file; i < argc; i++) {
        bool is_stdin = !strcmp(argv[i], "-");
        int fd = is_stdin ? STDIN_FILENO : open(argv[i], O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            fprintf(stderr, "strm: cannot open %s: %s\n", argv[i], strerror(errno));
            code = EXIT_FAIL;
            continue;
        }
        if (collect_file(fd, is_stdin ? "stdin" : argv[i], pipeline_input(pipe),
                         pipeline_pool(pipe), &stats, on_bytes, &pg) != 0) {
            fprintf(stderr, "strm: error reading %s: %s\n", argv[i], strerror(errno));
            code = EXIT_FAIL;
        }
        struct stat st;
        if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) pg.done_before += (uint64_t)st.st_size;
        if (!is_stdin) close(fd);
    }
    draw(&pg, 0, true);
out:
    pipeline_stop(pipe);
    pipe = NULL;
    ariel_close(store);
    logsource_close(reg);
    close(lock_fd);
    uint64_t stored = STRM_STAT_GET(&stats, stored);
    fprintf(stderr,
            "strm: ingested %llu events (rfc3164 %llu, rfc5424 %llu, unparsed %llu, "
            "truncated %llu; normalized by a DSM %llu, log sources created %llu) in %.2f s\n",
            (unsigned long long)stored, (unsigned long long)STRM_STAT_GET(&stats, parsed_rfc3164),
            (unsigned long long)STRM_STAT_GET(&stats, parsed_rfc5424),
            (unsigned long long)STRM_STAT_GET(&stats, unparsed),
            (unsigned long long)STRM_STAT_GET(&stats, truncated),
            (unsigned long long)STRM_STAT_GET(&stats, dsm_recognized),
            (unsigned long long)STRM_STAT_GET(&stats, logsources_created),
            (double)(strm_mono_ms() - pg.start) / 1000.0);
    if (STRM_STAT_GET(&stats, store_errors)) code = EXIT_FAIL;
    return code;
}
