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

enum ariel_dict_form { ARIEL_DICT_FORM_AUTO, ARIEL_DICT_FORM_COPIED, ARIEL_DICT_FORM_IN_PLACE };

struct ariel_options {
    const char *dir; /* the store's root, e.g. <data_dir>/ariel; created if missing */
    bool read_only;  /* open without writing anything: replays the WAL in memory only */
    /* The table this store holds (0 = events): which columns its segments carry and the
     * partition directory name. A flows store keeps every row as a flow record. */
    enum strm_table table;
    enum strm_fsync_policy fsync;
    int fsync_interval_ms;
    int segment_rows;
    int segment_max_age_s;
    struct strm_stats *stats; /* may be NULL */
    /* Retention, applied by the writer from ariel_tick at most once a minute, deleting whole
     * segment files: segments whose newest row is older than retention_days (0: keep
     * forever); and, while the store's filesystem is fuller than max_disk_percent (0: no
     * ceiling), the oldest hour partitions. */
    int retention_days;
    int max_disk_percent;
    /* Retention buckets (STRM's): bucket_of(ev) gives each row's bucket, 0 (the default:
     * retention_days) or 1..ARIEL_MAX_BUCKETS, when it is written to a segment; a segment
     * holds rows of one bucket only, and bucket_days[b - 1] days is its age limit (0: keep).
     * NULL: no buckets. Called from the segment writer thread. */
    int (*bucket_of)(const struct strm_event *ev, void *arg);
    void *bucket_arg;
    int bucket_days[10];
    /* A string column of a segment with at least strblock_min_bytes bytes is stored in
     * blocks of strblock_rows rows, a fixed-width one from 256 KiB in blocks of 4096 rows,
     * and the token index has a filter per 1024 rows (0: these defaults, 1 MiB and 16384
     * rows; tests set less, and strblock_rows then sets all three block sizes). Smaller
     * string blocks cost zstd dearly on log text: 512 KiB blocks of the DSM mix's payloads
     * compress 7.96x at 788 MB/s, 4 MiB ones 15.2x at 1270 MB/s. */
    size_t strblock_min_bytes;
    uint32_t strblock_rows;
    /* no token index of the payload (storage.token_index: false): saves the writer about a
     * third of a microsecond per row of log text, TEXT SEARCH then reads every block */
    bool no_token_index;
    /* Blocked payloads in blocks of about 128 KiB compressed with a zstd dictionary trained
     * on the store's payloads (dict.c), unless no_payload_dict; dict_block_bytes (0: 128 KiB)
     * for tests. */
    bool no_payload_dict;
    size_t dict_block_bytes;
    /* how zstd uses the dictionary: ARIEL_DICT_FORM_AUTO (0, chosen per dictionary on a
     * sample of the payloads: segment.c), _COPIED or _IN_PLACE (tests) */
    enum ariel_dict_form payload_dict_form;
    /* Compaction (storage.compaction, on by default): a background thread merges the small
     * segments (under half of segment_rows) of one hour partition once it holds
     * compact_min_segments of them (0: 4), or two once the hour is over, checking every
     * compact_interval_ms (0: 10000). */
    bool no_compaction;
    /* The segment writer never runs in SCHED_IDLE (ariel.c, flusher_main): tests that need
     * segments written while their own process keeps the cores busy. */
    bool no_idle_writer;
    int compact_min_segments;
    int compact_interval_ms;
    /* Memory for memtables, touched at the first writable open of the process and kept for
     * reuse, so that ingest does not pay page faults (storage.memtable_prealloc_mb): MiB;
     * 0 sizes it from segment_rows (at most 3072 MiB and 1/8 of the machine's memory);
     * < 0: none. */
    int memtable_prealloc_mb;
};
#define ARIEL_MAX_BUCKETS 10

/* Opens (and recovers) the store. On failure writes a message into err. */
int ariel_open(const struct ariel_options *opt, struct ariel_store **out, char *err, size_t errlen);
/*
 * Appends a batch: stamps storagetime, writes it to the WAL (fsync per policy), then makes
 * it searchable. Returns 0 or STRM_ERR_IO (nothing of the batch is visible then).
 */
int ariel_append(struct ariel_store *s, struct strm_batch *b);
/*
 * After ariel_append returned STRM_ERR_IO: the errno of the failed WAL write or fsync
 * (ENOSPC, EIO, EFBIG...), so the caller can pause and retry instead of dropping; 0 after a
 * successful append. Writer thread only.
 */
int ariel_append_errno(const struct ariel_store *s);

/*
 * Flow records encoded by their producer, for a flows store: their rows (ariel_int.h), made
 * by the thread that has each record in its cache (flowpipe: the receiver, record by record
 * as it decodes them), so that the store's writer only copies the rows into the memtable,
 * stamps their sequence numbers and storagetime, and packs them from there (in its cache
 * then) into the WAL record. At 6 M flows/s, encoding the events in the writer cost it more
 * than twice that: every event read back from the other core's cache. One thread at a time.
 */
struct ariel_flowbatch;
struct ariel_flowbatch *ariel_flowbatch_new(void);
void ariel_flowbatch_free(struct ariel_flowbatch *fb); /* accepts NULL */
void ariel_flowbatch_reset(struct ariel_flowbatch *fb);
uint32_t ariel_flowbatch_count(const struct ariel_flowbatch *fb);
/* Encodes ev (flags must have STRM_EV_FLOW; its storagetime is set by the append): 0,
 * STRM_ERR_INVAL, STRM_ERR_NOMEM. The strings are copied: ev may go. */
int ariel_flowbatch_add(struct ariel_flowbatch *fb, const struct strm_event *ev);
/* ariel_append of the records of fb to a flows store (STRM_ERR_INVAL for another); fb is
 * left as it was (reset it to reuse it). */
int ariel_append_flows(struct ariel_store *s, struct ariel_flowbatch *fb);
/* Housekeeping for the writer thread, called at least every 100 ms: interval fsync, age flush. */
int ariel_tick(struct ariel_store *s);
/* Writes the memtable out as segments now. */
int ariel_flush(struct ariel_store *s);
/* Memtable memory the process's pre-warming thread has yet to touch
 * (storage.memtable_prealloc_mb; it starts at the first writable open): 0 once done. */
uint64_t ariel_prewarm_left_bytes(void);
/* Tests: while held, the background segment writer starts no flush (memtables queue up). */
void ariel_hold_flusher(struct ariel_store *s, bool hold);
/*
 * Merges small segments now, as the compactor thread does (any thread; one merge at a
 * time; nothing when the store was opened without compaction). Returns the number of
 * merges made, or a negative STRM_ERR_*.
 */
int ariel_compact(struct ariel_store *s);
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

/*
 * A condition every row must meet (the caller still tests each row): lets the scan skip whole
 * segments by their per-column min/max (INT and TIME columns: lo <= value <= hi) or their
 * Bloom indexes (sourceip, destinationip, username: equal to one of the nkeys keys; an IP key
 * is its 16 bytes).
 */
enum ariel_pred_kind {
    ARIEL_PRED_RANGE, /* INT/TIME column within [lo, hi] (the segment's min/max decide) */
    ARIEL_PRED_IN,    /* IP/string column equal to one of the keys (its Bloom index decides) */
    /* payload: every key (a TEXT SEARCH word) appears in it word-aligned and ignoring ASCII
     * case (the payload's token index decides, per block of rows; the caller tests the
     * words on the rows it gets) */
    ARIEL_PRED_TOKENS,
};
/* Tokens shorter than this are not in the token index (and not looked up). */
#define ARIEL_TOKEN_MIN 3

/* The columns segments carry a Bloom index for (when their table has them). */
static inline bool ariel_col_bloomed(int col)
{
    return col == STRM_COL_SOURCEIP || col == STRM_COL_DESTINATIONIP || col == STRM_COL_USERNAME;
}

struct ariel_pred {
    int col;  /* enum strm_col_id */
    int kind; /* enum ariel_pred_kind */
    int64_t lo, hi;
    const void *const *keys;
    const uint32_t *key_lens;
    int nkeys;
};

/* Called with up to ARIEL_SCAN_BATCH matching rows at once (all valid during the call);
 * return nonzero to stop. */
typedef int (*ariel_batch_fn)(const struct strm_event *ev, size_t n, void *arg);
#define ARIEL_SCAN_BATCH 32

/* Column vectors (ariel_scan_opts.vec_fn): n rows' values of the columns vec_cols asks for,
 * each v[k] n values at the column's width in struct strm_event (integers as there,
 * addresses 16 bytes). */
struct ariel_vec {
    size_t n;
    const uint8_t *v[2];
};
typedef int (*ariel_vec_fn)(const struct ariel_vec *v, void *arg);
/* Distinct values (ariel_scan_opts.distinct_fn): n strings, each at least once per segment. */
typedef int (*ariel_distinct_fn)(const struct strm_str *v, size_t n, void *arg);
#define ARIEL_VEC_ROWS 256

/* ariel_scan with a report of what it could not read, e.g. for "N segments skipped". */
struct ariel_scan_opts {
    int64_t tmin, tmax;
    uint64_t colmask;
    ariel_row_fn fn;
    ariel_batch_fn batch_fn; /* instead of fn: rows in batches (lets a caller prefetch) */
    void *arg;
    /* Parallel scans: several scans of one snapshot (ariel_snapshot_take), each given part
     * k of nparts, together visit every row exactly once; part k gets the k-th contiguous
     * run of the segments in the time range (earlier parts hold earlier rows), the last
     * part also the memtables. snap NULL: a snapshot of its own; nparts 0: everything. */
    struct ariel_snapshot *snap;
    int part, nparts;
    /* vec_fn: the rows of segments (that meet the predicates: they must say all the caller
     * asks) as vectors of columns vec_cols[0..nvec), not as events; rows not yet in
     * segments still go to fn/batch_fn. colmask must hold those columns. */
    ariel_vec_fn vec_fn;
    int vec_cols[2], nvec;
    /* distinct_fn: instead, the values of string column distinct_col in the segments' rows
     * that meet the predicates, each value of a segment at least once and not necessarily
     * more (a dictionary-coded column: once); rows not yet in segments go to fn/batch_fn */
    ariel_distinct_fn distinct_fn;
    int distinct_col;
    const struct ariel_pred *preds; /* may be NULL */
    int npreds;
    /* reverse: newest first (memtables, then segments from the last); keep_segment (may be
     * NULL) may skip a segment by its time range, e.g. once a top-k by time is full */
    bool reverse;
    bool (*keep_segment)(int64_t min_time, int64_t max_time, void *karg);
    void *karg;
    /* out: segments in the time range, and those skipped by min/max and by indexes */
    uint32_t segments_in_range, skipped_minmax, skipped_index, skipped_order;
    /* out: rows of the scanned segments passed over in blocks that an index filter or the
     * blocks' min/max ruled out (never decompressed) */
    uint64_t rows_skipped_index, rows_skipped_minmax;
    /* count_only: the rows of segments that meet the time range and every predicate are
     * counted into counted, not handed out (the predicates must say all the caller asks);
     * rows not yet in segments still go to fn/batch_fn */
    bool count_only;
    uint64_t counted;
    /* out: segments in range skipped because they are damaged (checksum, format) or
     * unreadable (I/O error); each damaged segment is logged once per process */
    uint32_t skipped_damaged;
    uint32_t skipped_unreadable;
};
int ariel_scan_ex(struct ariel_store *s, struct ariel_scan_opts *o);
/* Tests: parallel parts cut at multiples of rows (0: the default, whole blocks). */
void ariel_set_part_align(uint32_t rows);

/* A consistent view of the store for several scans; release it when they are done. */
struct ariel_snapshot;
struct ariel_snapshot *ariel_snapshot_take(struct ariel_store *s);
void ariel_snapshot_release(struct ariel_snapshot *snap); /* accepts NULL */

struct ariel_info {
    uint64_t rows_segments;
    uint64_t rows_memtable;
    uint64_t segments;
    uint64_t bytes_segments;
    uint64_t bytes_wal;
    uint64_t partitions;       /* distinct hour partitions holding segments */
    uint64_t corrupt_segments; /* found damaged since open (header at load, or in a scan) */
    uint64_t bytes_index;      /* of bytes_segments: the Bloom indexes */
    uint64_t bytes_directory;  /* of bytes_segments: headers and column directories */
    uint64_t merged_segments;  /* written by compaction */
    uint64_t payload_dicts;    /* distinct payload dictionaries the segments use */
};

void ariel_info_get(struct ariel_store *s, struct ariel_info *info);
/* Rows a scan of [tmin, tmax] would visit: rows of the segments it cannot skip plus the
 * memtables (an upper bound, for progress reports). */
uint64_t ariel_estimate_rows(struct ariel_store *s, int64_t tmin, int64_t tmax);

/* Column encodings as stored (segment format), for reports. */
#define ARIEL_ENC__COUNT 13
const char *ariel_enc_name(int enc);

/* Per column, over all segments of the snapshot: sizes and how many segments use each
 * encoding (index enum value, 0: unknown). */
struct ariel_col_info {
    uint64_t raw_bytes;    /* encoded, before zstd */
    uint64_t stored_bytes; /* on disk */
    uint64_t segments_by_enc[ARIEL_ENC__COUNT];
    uint64_t segments_blocked; /* segments holding the column in blocks of rows */
};
void ariel_info_columns(struct ariel_store *s, struct ariel_col_info cols[STRM_COL__COUNT]);

/*
 * Offline check of the store at dir (events and WAL): every segment's header, directory,
 * each column's checksum, decompression and decoding; every WAL record's checksum and rows.
 * report is called per problem found (path, byte offset or -1, what). With repair (takes the
 * store's LOCK: fails with STRM_ERR_BUSY while an instance runs) damaged segments are moved
 * to <dir>/quarantine/ (never deleted) and a torn tail of the last WAL file is cut off.
 * Returns 0 (problems are counted in *damaged) or an error with a message in err.
 */
typedef void (*ariel_fsck_fn)(const char *path, int64_t offset, const char *what, void *arg);
struct ariel_fsck_result {
    uint64_t segments, segments_damaged, segments_quarantined;
    uint64_t wal_files, wal_records, wal_damaged, wal_truncated_bytes;
};
int ariel_fsck(const char *dir, bool repair, ariel_fsck_fn report, void *arg,
               struct ariel_fsck_result *res, char *err, size_t errlen);

#endif
