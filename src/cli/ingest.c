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
 *
 * `strm ingest --pcap FILE...` loads packet captures (pcap/pcapng) instead: the packets are
 * built into flows (src/flow/capture.c, flowtab.c, with the configured active/inactive
 * timeouts, timed by the packets' own times) and stored in the flows store through the
 * flow path (flowpipe.c), as a live capture would have. One flow table serves all the
 * files; each file's open flows are reported at its end.
 */
#include "cli.h"
#include "collect/collect.h"
#include "flow/flow.h"

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

/* `strm ingest --pcap FILE...`: capture files -> flow table -> flows store. */
static int ingest_pcap(const struct strm_config *cfg, int argc, char **argv, int first_file)
{
    static struct strm_stats stats;
    int64_t start = strm_mono_ms();
    int lock_fd = cli_lock_data_dir(cfg);
    if (lock_fd < 0) return EXIT_FAIL;
    char err[1024];
    struct flowpipe *fp = NULL;
    if (flowpipe_open(cfg, &stats, false, &fp, err, sizeof(err)) != 0) {
        fprintf(stderr, "strm: %s\n", err);
        close(lock_fd);
        return EXIT_FAIL;
    }
    struct flowtab_options fo;
    memset(&fo, 0, sizeof(fo));
    fo.active_timeout_s = cfg->flows_active_timeout_s;
    fo.inactive_timeout_s = cfg->flows_inactive_timeout_s;
    struct flowtab *ft = flowtab_new(&fo);
    if (!ft) {
        fprintf(stderr, "strm: out of memory\n");
        flowpipe_close(fp);
        close(lock_fd);
        return EXIT_FAIL;
    }
    struct flowpipe_sink sink;
    flowpipe_sink_init(&sink, fp);
    struct capture_stats cs;
    memset(&cs, 0, sizeof(cs));
    int code = EXIT_OK, files = 0;
    for (int i = first_file; i < argc; i++) {
        cs.file_truncated = false;
        if (capture_file(argv[i], ft, &sink.sink, &cs, err, sizeof(err)) != 0) {
            fprintf(stderr, "strm: %s\n", err);
            code = EXIT_FAIL;
            continue;
        }
        files++;
        if (cs.file_truncated)
            fprintf(stderr,
                    "strm: %s ends inside a packet (capture cut short); the packets "
                    "before it were used\n",
                    argv[i]);
    }
    flowpipe_sink_flush(&sink);
    struct flowtab_stats fs;
    flowtab_stats_get(ft, &fs);
    flowtab_free(ft);
    flowpipe_close(fp);
    close(lock_fd);
    fprintf(stderr,
            "strm: read %llu packets (%llu bytes, %llu not IP) from %d capture file%s: %llu "
            "flows, %llu flow records (stored %llu, dropped %llu) in %.2f s\n",
            (unsigned long long)cs.packets, (unsigned long long)cs.bytes,
            (unsigned long long)cs.non_ip, files, files == 1 ? "" : "s",
            (unsigned long long)fs.flows_created, (unsigned long long)fs.records,
            (unsigned long long)STRM_STAT_GET(&stats, flow_stored),
            (unsigned long long)(fs.records_dropped + STRM_STAT_GET(&stats, flow_dropped)),
            (double)(strm_mono_ms() - start) / 1000.0);
    if (STRM_STAT_GET(&stats, flow_store_errors) || fs.records_dropped ||
        STRM_STAT_GET(&stats, flow_dropped))
        code = EXIT_FAIL;
    return code;
}

int cmd_ingest(int argc, char **argv)
{
    const char *config_path = NULL;
    int first_file = -1;
    bool coalesce = false, pcap = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--config") && i + 1 < argc) {
            config_path = argv[++i];
        } else if (!strcmp(argv[i], "--coalesce")) {
            coalesce = true;
        } else if (!strcmp(argv[i], "--pcap")) {
            pcap = true;
        } else {
            first_file = i;
            break;
        }
    }
    if (first_file < 0) {
        fprintf(stderr,
                "usage: strm ingest [--config FILE] [--coalesce] FILE... ('-' reads stdin)\n"
                "       strm ingest [--config FILE] --pcap FILE... (pcap/pcapng captures into "
                "flows)\n");
        return EXIT_USAGE;
    }
    struct strm_config cfg;
    int rc = cli_load_config(&cfg, config_path);
    if (rc) return rc;
    if (pcap) return ingest_pcap(&cfg, argc, argv, first_file);
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
