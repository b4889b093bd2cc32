/*
 * store.c - `strm store info` and `strm fsck`: what the event store holds, and whether it is
 * sound.
 *
 * store info opens a table's store read-only (safe beside a running instance: a read-only
 * open writes nothing) and prints totals and, per column, the encodings used, raw and stored
 * bytes and the compression ratio. fsck runs ariel_fsck over both stores (<data_dir>/ariel for
 * events, <data_dir>/flows for flows); with --repair it needs their locks, so the instance
 * must be stopped. Exit status: 0 clean, 1 damage found (or an error), 2 usage.
 */
#include "cli.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void store_usage(FILE *out)
{
    fprintf(out, "usage: strm store info [--config FILE] [--table events|flows]\n"
                 "       strm fsck [--config FILE] [--repair]\n");
}

static double ratio(uint64_t raw, uint64_t stored)
{
    return stored ? (double)raw / (double)stored : 0.0;
}

static int store_info(const struct strm_config *cfg, enum strm_table table)
{
    struct ariel_store *s = NULL;
    struct ariel_info in;
    struct ariel_col_info cols[STRM_COL__COUNT];
    uint64_t raw = 0, stored = 0;

    char dir[4200];
    cli_table_dir(cfg, table, dir, sizeof dir);
    if (cli_open_table(cfg, table, true, NULL, &s) != 0) return EXIT_FAIL;
    ariel_info_get(s, &in);
    ariel_info_columns(s, cols);
    printf("store             %s\n", dir);
    printf("table             %s\n", table == STRM_TABLE_FLOWS ? "flows" : "events");
    printf("partitions        %" PRIu64 "\n", in.partitions);
    printf("segments          %" PRIu64 "\n", in.segments);
    printf("rows              %" PRIu64 "\n", in.rows_segments + in.rows_memtable);
    printf("segment_rows      %" PRIu64 "\n", in.rows_segments);
    printf("memtable_rows     %" PRIu64 "\n", in.rows_memtable);
    printf("segment_bytes     %" PRIu64 "\n", in.bytes_segments);
    printf("wal_bytes         %" PRIu64 "\n", in.bytes_wal);
    printf("corrupt_segments  %" PRIu64 "\n", in.corrupt_segments);
    printf("merged_segments   %" PRIu64 "\n", in.merged_segments);
    printf("payload_dicts     %" PRIu64 "%s\n", in.payload_dicts,
           in.payload_dicts >= 64 ? " or more" : "");
    printf("\n%-20s %-28s %14s %14s %8s\n", "column", "encoding (segments)", "raw_bytes",
           "stored_bytes", "ratio");
    for (int c = 0; c < STRM_COL__COUNT; c++) {
        char enc[128] = "";
        size_t n = 0;
        for (int e = 0; e < ARIEL_ENC__COUNT; e++) {
            if (!cols[c].segments_by_enc[e] || n >= sizeof enc) continue;
            n += (size_t)snprintf(enc + n, sizeof enc - n, "%s%s:%" PRIu64, n ? "," : "",
                                  ariel_enc_name(e), cols[c].segments_by_enc[e]);
        }
        if (cols[c].segments_blocked && n < sizeof enc)
            n += (size_t)snprintf(enc + n, sizeof enc - n, " blocks:%" PRIu64,
                                  cols[c].segments_blocked);
        raw += cols[c].raw_bytes;
        stored += cols[c].stored_bytes;
        printf("%-20s %-28s %14" PRIu64 " %14" PRIu64 " %8.2f\n", strm_event_cols[c].name,
               n ? enc : "-", cols[c].raw_bytes, cols[c].stored_bytes,
               ratio(cols[c].raw_bytes, cols[c].stored_bytes));
    }
    printf("%-20s %-28s %14" PRIu64 " %14" PRIu64 " %8.2f\n", "total", "", raw, stored,
           ratio(raw, stored));
    ariel_close(s);
    return EXIT_OK;
}

static void fsck_report(const char *path, int64_t offset, const char *what, void *arg)
{
    (void)arg;
    if (offset >= 0)
        printf("DAMAGED %s at offset %" PRId64 ": %s\n", path, offset, what);
    else
        printf("DAMAGED %s: %s\n", path, what);
}

static int store_fsck(const struct strm_config *cfg, bool repair)
{
    char dir[4200], err[1024];
    struct ariel_fsck_result r;
    bool damaged = false;
    int checked = 0;
    for (int t = 0; t < 2; t++) { /* the events store, then the flows store */
        enum strm_table table = t == 0 ? STRM_TABLE_EVENTS : STRM_TABLE_FLOWS;
        struct stat sb;
        cli_table_dir(cfg, table, dir, sizeof dir);
        if (stat(dir, &sb) != 0 && errno == ENOENT) {
            if (t == 0 || checked) continue; /* that table never got a row (ingest --pcap) */
            fprintf(stderr, "strm: fsck: no store in %s (neither ariel/ nor flows/)\n",
                    cfg->data_dir);
            return EXIT_FAIL;
        }
        checked++;
        int rc = ariel_fsck(dir, repair, fsck_report, NULL, &r, err, sizeof err);
        if (rc != 0) {
            fprintf(stderr, "strm: fsck: %s\n", err);
            return EXIT_FAIL;
        }
        printf("%s: segments %" PRIu64 " checked, %" PRIu64 " damaged, %" PRIu64 " quarantined\n",
               t == 0 ? "events" : "flows", r.segments, r.segments_damaged, r.segments_quarantined);
        printf("%s: wal files %" PRIu64 ", records %" PRIu64 ", damaged %" PRIu64
               ", bytes cut %" PRIu64 "\n",
               t == 0 ? "events" : "flows", r.wal_files, r.wal_records, r.wal_damaged,
               r.wal_truncated_bytes);
        damaged = damaged || r.segments_damaged || r.wal_damaged;
    }
    if (damaged) {
        printf("damage found%s\n", repair ? "; repaired (see above)"
                                          : "; run with --repair "
                                            "while stopped to fix");
        return EXIT_FAIL;
    }
    printf("clean\n");
    return EXIT_OK;
}

int cmd_store(int argc, char **argv)
{
    const char *config_path = NULL;
    bool fsck = !strcmp(argv[0], "fsck"), repair = false, info = false;
    enum strm_table table = STRM_TABLE_EVENTS;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--config") && i + 1 < argc) {
            config_path = argv[++i];
        } else if (!fsck && !strcmp(argv[i], "--table") && i + 1 < argc &&
                   (!strcmp(argv[i + 1], "events") || !strcmp(argv[i + 1], "flows"))) {
            table = !strcmp(argv[++i], "flows") ? STRM_TABLE_FLOWS : STRM_TABLE_EVENTS;
        } else if (fsck && !strcmp(argv[i], "--repair")) {
            repair = true;
        } else if (!fsck && !info && !strcmp(argv[i], "info")) {
            info = true;
        } else {
            store_usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (!fsck && !info) {
        store_usage(stderr);
        return EXIT_USAGE;
    }
    struct strm_config cfg;
    int rc = cli_load_config(&cfg, config_path);
    if (rc) return rc;
    return fsck ? store_fsck(&cfg, repair) : store_info(&cfg, table);
}
