/*
 * ariel.h - the interface of src/ariel, the event store.
 *
 * Rows enter through ariel_append: each batch is written to the write-ahead log first, then
 * becomes visible to searches in the in-memory table. When the memtable holds segment_rows
 * rows, or its oldest row is segment_max_age_s old, or at close, its rows are written as
 * immutable columnar segments (one per hour partition of starttime), zstd-compressed, each
 * published by write + fsync + rename; then the WAL before them is deleted. Recovery replays
 * only WAL records newer than what the segments hold, so it never duplicates.
 *
 * Threads: one writer (ariel_append / ariel_tick / ariel_flush / ariel_close) and any number
 * of concurrent readers (ariel_scan), each seeing a consistent snapshot.
 */
#ifndef STRM_ARIEL_H
#define STRM_ARIEL_H

#include "core/core.h"

struct ariel_store;

struct ariel_options {
    const char *dir; /* the store's root, e.g. <data_dir>/ariel; created if missing */
    bool read_only;  /* open without writing anything: replays the WAL in memory only */
    enum strm_fsync_policy fsync;
    int fsync_interval_ms;
    int segment_rows;
    int segment_max_age_s;
    struct strm_stats *stats; /* may be NULL */
};

/* Opens (and recovers) the store. On failure writes a message into err. */
int ariel_open(const struct ariel_options *opt, struct ariel_store **out, char *err, size_t errlen);
/*
 * Appends a batch: stamps storagetime, writes it to the WAL (fsync per policy), then makes
 * it searchable. Returns 0 or STRM_ERR_IO (nothing of the batch is visible then).
 */
int ariel_append(struct ariel_store *s, struct strm_batch *b);
/* Housekeeping for the writer thread, called at least every 100 ms: interval fsync, age flush. */
int ariel_tick(struct ariel_store *s);
/* Writes the memtable out as segments now. */
int ariel_flush(struct ariel_store *s);
/* Flushes (unless read-only) and frees. Accepts NULL. */
void ariel_close(struct ariel_store *s);

/* Called per matching row; return nonzero to stop the scan early. */
typedef int (*ariel_row_fn)(const struct strm_event *ev, void *arg);

/*
 * Calls fn for every row with tmin <= starttime <= tmax (ms), decoding only the columns whose
 * bit (1 << enum strm_col_id) is set in colmask; other fields of ev are zero/empty. Skips
 * segments whose time range misses [tmin, tmax]. ev and its strings are valid only during the
 * call. Returns 0, the callback's nonzero value, or an error.
 */
int ariel_scan(struct ariel_store *s, int64_t tmin, int64_t tmax, uint64_t colmask, ariel_row_fn fn,
               void *arg);

struct ariel_info {
    uint64_t rows_segments;
    uint64_t rows_memtable;
    uint64_t segments;
    uint64_t bytes_segments;
    uint64_t bytes_wal;
};

void ariel_info_get(struct ariel_store *s, struct ariel_info *info);

#endif
