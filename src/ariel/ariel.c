/*
 * ariel.c - the event store: open and recovery, the memtable, append, flush and scan.
 *
 * Data path. ariel_append serializes a batch (row.c) straight into the memtable's chunks,
 * writes those bytes to the WAL as one record (wal.c), and only then publishes the rows to
 * readers by raising the published row count under the store lock. If the WAL write fails,
 * the bytes are rolled back and nothing of the batch was ever visible. Every row carries a
 * 64-bit sequence number, increasing by one per row.
 *
 * Memtable. A list of large chunks holding rows back to back; a row never spans chunks. The
 * writer only appends past the published rows and links new chunks at the tail, so a reader
 * that took (memtable, row count) under the lock can walk those rows without any lock while
 * the writer goes on: chunks are never moved or freed while a reference to the memtable is
 * held. Chunk row counts and links are atomics written with release order before the
 * published count is raised.
 *
 * Flush. The writer sorts the memtable rows by starttime, writes one segment per UTC hour
 * (segment.c, each durable before it is renamed into place), then, under one short lock,
 * swaps in the new segment list and an empty memtable. A scan holds either the old list plus
 * the old memtable or the new list plus the new memtable, never a mix: no row is seen twice
 * or missed. Only after that are the WAL files deleted: all their rows are in segments.
 *
 * Recovery (ariel_open). Segments of one flush form a group (ariel_int.h). A group whose
 * member files are not all present was interrupted by a crash: its WAL still exists, so the
 * group's files are deleted (ignored when read-only) and its rows replayed. The highest
 * seq_hi of the complete groups is the covered sequence number; WAL rows above it are
 * replayed into the memtable, rows at or below it are skipped. Recovery only deletes .tmp
 * files and incomplete groups and cuts a torn WAL tail, so running it twice gives the same
 * store.
 *
 * Read-only open writes nothing. A writer may flush meanwhile (segments appear, WAL files
 * vanish); the open notices a changed segment listing, a vanished WAL file or a sequence gap
 * between segments and WAL, and starts over.
 */
#include "ariel/ariel_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/resource.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

/* level 1: on log columns it was both faster and smaller than 3 (docs/storage.md) */
#define ZSTD_LEVEL 1
#define FLUSH_RETRY_MS 1000
#define RO_ATTEMPTS 50
#define RETENTION_EVERY_MS 60000

struct mt_chunk {
    _Atomic(struct mt_chunk *) next;
    _Atomic uint32_t nrows; /* rows readers may see in this chunk */
    uint32_t pend;          /* writer only: rows written, not yet published */
    size_t cap, used;       /* writer only */
    uint8_t data[];
};

struct ariel_memtable {
    _Atomic int refs;
    struct mt_chunk *head, *tail; /* tail: writer only */
    uint64_t rows;                /* writer only: committed rows */
    uint32_t *row_len;            /* encoded length of each row, in order: the flush finds
                                     rows without parsing them; writer (then flusher) only */
    int64_t *row_t;               /* and its starttime: the flush sorts without reading rows
                                     (a cache miss each, by then) */
    size_t row_len_cap;
    uint64_t bytes;
    int64_t born_ms;   /* monotonic time of the first row */
    int64_t queued_ms; /* monotonic time it joined the flusher's queue */
};

/* Memtables waiting for the segment writer at most (see maybe_flush). */
#define ARIEL_IMM_MAX 32

/* A standard chunk's data: the chunk with its header is 4 MiB, two huge pages, not three. */
#define MT_CHUNK ((4u << 20) - sizeof(struct mt_chunk))

/* Immutable once published; sorted by (min_time, id). */
struct seg_list {
    _Atomic int refs;
    size_t n;
    uint64_t rows, bytes;
    struct ariel_segment *v[];
};

struct ariel_store {
    char root[PATH_MAX];
    bool read_only;
    enum strm_table table;
    enum strm_fsync_policy fsync;
    int fsync_interval_ms, segment_rows, segment_max_age_s;
    struct strm_stats *stats;
    int lock_fd;
    int retention_days, max_disk_percent;
    int64_t retention_next_ms;         /* writer only */
    _Atomic uint64_t corrupt_segments; /* for ariel_info */

    pthread_mutex_t lock; /* guards the four fields below: the readers' snapshot */
    struct seg_list *segs;
    struct ariel_memtable *mt;
    uint64_t mt_rows;  /* published rows of mt */
    uint64_t mt_bytes; /* and their bytes (the flusher's view of mt, see flusher_main) */
    uint64_t wal_bytes;

    /* Background flush: the writer hands a full memtable over to the queue imm (oldest
     * first) and goes on appending into a fresh one while the flusher thread writes imm[0]
     * as segments. Readers see segs, the queue and mt; imm[0] leaves the snapshot in the
     * same locked step that publishes its segments, so no row is seen twice or missed.
     * Guarded by lock. */
    struct ariel_memtable *imm[ARIEL_IMM_MAX];
    int nimm;
    uint64_t imm_bytes;    /* the queued memtables' row bytes */
    uint64_t mt_budget;    /* their bound with mt's, in bytes (maybe_flush); fixed at open */
    uint64_t wal_drop_seq; /* set by the flusher: WAL files before this seq are covered */
    pthread_cond_t flush_cv;
    pthread_t flusher;
    bool flusher_started, flusher_stop;
    bool flusher_hold; /* ariel_hold_flusher (tests) */
    bool idle_writer;  /* the flusher may run in SCHED_IDLE (flusher_main) */
    /* the flusher's thread id, and whether it is in SCHED_IDLE now: the writer takes it out
     * (writer_unidle) */
    _Atomic pid_t flusher_tid;
    _Atomic bool flusher_idle;

    uint64_t next_seq;
    _Atomic uint64_t next_seg_id; /* the flusher, the writer and the compactor take ids */
    struct ariel_wal wal;         /* writer thread only */
    struct ariel_seg_writer sw;   /* whoever flushes: the flusher, or the writer when imm is NULL */
    int64_t flush_not_before_ms;
    /* Disk-full reserve: a file of reserve_bytes kept at <root>/reserve. When the WAL hits
     * ENOSPC it is deleted so the segment writer has room to turn the memtable into segments
     * (which frees the WAL); until it can be made again (space_low), appends are refused
     * without writing, so they cannot eat that room first. */
    uint64_t reserve_bytes;
    bool space_low;
    /* flush_memtable's per-row scratch (see there) */
    struct sort_key *fl_keys, *fl_tmp; /* fl_tmp: sort_keys' other half */
    const uint8_t **fl_rows;           /* rows, then sorted rows */
    uint32_t *fl_lens;                 /* lengths, then sorted lengths */
    size_t fl_cap;
    int (*bucket_of)(const struct strm_event *ev, void *arg);
    void *bucket_arg;
    int bucket_days[ARIEL_MAX_BUCKETS];

    /* Compaction (see there): the compactor thread, or ariel_compact; compact_lock makes
     * them take turns. cw is the compactor's own segment writer (the flusher keeps sw), set
     * up at open when compaction is on (cw_ready). */
    bool compaction;
    int compact_min, compact_interval_ms;
    pthread_mutex_t compact_lock;
    pthread_cond_t compact_cv; /* with lock: wakes the compactor to stop */
    pthread_t compactor;
    bool compactor_started;
    _Atomic bool compactor_stop;
    struct ariel_seg_writer cw;
    bool cw_ready;
    /* a second writer for the flush's helper thread (flush_memtable: pieces in parallel) */
    struct ariel_seg_writer sw2;
    bool sw2_ready;
    /* a flows store's batch for ariel_append, and its WAL record's buffer (the writer's) */
    struct ariel_flowbatch *fb;
    uint8_t *pack;
    size_t pack_cap;
};

/* ---------------------------------------------------------------- memtable */

/*
 * Freed memtable chunks are kept for the next memtables (every segment flush frees one
 * memtable while the next one fills): fresh memory would be faulted in and zeroed by the
 * kernel, page by page, which cost a quarter of the CPU at full ingest. Process-wide,
 * bounded; only chunks of the standard size.
 *
 * During a burst the flusher falls behind the writer: full memtables queue up for it
 * (maybe_flush) until they hold the pre-warmed memory, which is what a burst is taken in
 * at intake's own speed. The pool is filled at open (mt_pool_prewarm: 24 memtables of
 * segment_rows rows of MT_ROW_BYTES, 3 GiB with the defaults: about 6 M events of the DSM
 * mix or 18 M flow records), at most 1/8 of the machine's memory. Fresh memory beyond it
 * costs page faults: with too small a pool, a 4 M-event burst of the DSM mix faulted in
 * fresh memory for a seventh of its CPU, and a 12 M-flow burst spent a third of the store
 * thread in clear_page. A longer burst adds chunks, up to MT_POOL_MAX; mt_pool_trim gives
 * those back once they stayed unused for a whole trim interval, down to the pre-warmed count.
 */
#define MT_POOL_MAX 320 /* 1.25 GiB, or the pre-warmed count when that is more */
#define MT_POOL_TRIM_MS 60000
#define MT_ROW_BYTES 512        /* a memtable row of the DSM mix, rounded (530 measured) */
#define MT_PREWARM_MEMTABLES 24 /* memtables of segment_rows rows pre-warmed */
#define MT_PREWARM_AUTO_MB 3072 /* at most, and at most 1/8 of the machine's memory */
static pthread_mutex_t mt_pool_lock = PTHREAD_MUTEX_INITIALIZER;
static struct mt_chunk *mt_pool;
static int mt_pool_n;
static int mt_pool_keep = MT_POOL_MAX; /* pooled at most; trimmed down to mt_pool_warm */
static int mt_pool_warm;               /* the pre-warmed count */
static int mt_pool_low;                /* the fewest chunks in the pool since the last trim */
static int64_t mt_pool_trim_ms;

/* A fresh chunk: on transparent huge pages where the kernel allows them on request. */
static struct mt_chunk *chunk_fresh(size_t cap)
{
    size_t huge = 2u << 20, bytes = (sizeof(struct mt_chunk) + cap + huge - 1) & ~(huge - 1);
    struct mt_chunk *c = aligned_alloc(huge, bytes);
    if (c) (void)madvise(c, bytes, MADV_HUGEPAGE);
    return c;
}

/* Touches and pools n chunks (the pre-warming thread, or the opener when none starts). */
static void mt_pool_fill(uint64_t n)
{
    for (uint64_t i = 0; i < n; i++) {
        struct mt_chunk *c = chunk_fresh(MT_CHUNK);
        if (!c) break;
        memset(c->data, 0, MT_CHUNK);
        c->cap = MT_CHUNK;
        pthread_mutex_lock(&mt_pool_lock);
        atomic_store_explicit(&c->next, mt_pool, memory_order_relaxed);
        mt_pool = c;
        mt_pool_n++;
        pthread_mutex_unlock(&mt_pool_lock);
    }
}

static _Atomic uint64_t mt_pool_filling; /* chunks the pre-warming thread has yet to fill */

static void *mt_pool_filler(void *arg)
{
    uint64_t n = (uint64_t)(uintptr_t)arg;
    for (uint64_t i = 0; i < n; i++) {
        mt_pool_fill(1);
        atomic_fetch_sub(&mt_pool_filling, 1);
    }
    atomic_store(&mt_pool_filling, 0); /* also when memory ran out */
    return NULL;
}

uint64_t ariel_prewarm_left_bytes(void)
{
    return atomic_load(&mt_pool_filling) * (4u << 20);
}

/*
 * Fills the pool once per process, touching every page, so that memtables do not pay page
 * faults during ingest. A thread of its own does it: 3 GiB took 3.3 s, which the listeners
 * do not wait for (a memtable that needs a chunk before then faults in a fresh one). prealloc_mb >
 * 0: that much; 0: MT_PREWARM_MEMTABLES memtables of segment_rows rows (see above), at most
 * MT_PREWARM_AUTO_MB and 1/8 of the machine's memory; < 0: nothing.
 */
static void mt_pool_prewarm(int segment_rows, int prealloc_mb)
{
    static bool done;
    pthread_mutex_lock(&mt_pool_lock);
    bool first = !done;
    done = true;
    pthread_mutex_unlock(&mt_pool_lock);
    if (!first || prealloc_mb < 0) return;
    uint64_t bytes = (uint64_t)prealloc_mb << 20;
    if (prealloc_mb == 0) {
        long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
        uint64_t cap = (uint64_t)MT_PREWARM_AUTO_MB << 20;
        if (pages > 0 && psz > 0 && (uint64_t)pages * (uint64_t)psz / 8 < cap)
            cap = (uint64_t)pages * (uint64_t)psz / 8;
        bytes = MT_PREWARM_MEMTABLES * (uint64_t)segment_rows * MT_ROW_BYTES;
        if (bytes > cap) bytes = cap;
    }
    uint64_t want = (bytes + MT_CHUNK - 1) / MT_CHUNK;
    if (want > 1u << 20) want = 1u << 20; /* 4 TiB: a typo, not a plan */
    pthread_mutex_lock(&mt_pool_lock);
    mt_pool_warm = (int)want;
    if (mt_pool_warm > mt_pool_keep) mt_pool_keep = mt_pool_warm;
    pthread_mutex_unlock(&mt_pool_lock);
    pthread_t t;
    pthread_attr_t a;
    bool started = false;
    if (pthread_attr_init(&a) == 0) {
        atomic_store(&mt_pool_filling, want);
        if (pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED) == 0 &&
            pthread_create(&t, &a, mt_pool_filler, (void *)(uintptr_t)want) == 0) {
            pthread_setname_np(t, "ariel-prewarm");
            started = true;
        } else {
            atomic_store(&mt_pool_filling, 0);
        }
        pthread_attr_destroy(&a);
    }
    if (!started) mt_pool_fill(want);
}

/* The bytes of rows the memtables of one store may hold at once (maybe_flush): the
 * pre-warmed memory, less an eighth for the chunks' unused ends, and at least two memtables
 * of 4 x segment_rows rows of MT_ROW_BYTES. */
static uint64_t mt_budget(int segment_rows)
{
    uint64_t least = 2 * 4 * (uint64_t)segment_rows * MT_ROW_BYTES;
    pthread_mutex_lock(&mt_pool_lock);
    uint64_t warm = (uint64_t)mt_pool_warm * MT_CHUNK / 8 * 7;
    pthread_mutex_unlock(&mt_pool_lock);
    return warm > least ? warm : least;
}

static struct mt_chunk *chunk_alloc(size_t cap)
{
    struct mt_chunk *c = NULL;
    if (cap == MT_CHUNK) {
        pthread_mutex_lock(&mt_pool_lock);
        if ((c = mt_pool) != NULL) {
            mt_pool = atomic_load_explicit(&c->next, memory_order_relaxed);
            mt_pool_n--;
            if (mt_pool_n < mt_pool_low) mt_pool_low = mt_pool_n;
        }
        pthread_mutex_unlock(&mt_pool_lock);
    }
    return c ? c : cap == MT_CHUNK ? chunk_fresh(cap) : malloc(sizeof *c + cap);
}

static void chunk_free(struct mt_chunk *c)
{
    if (c->cap == MT_CHUNK) {
        pthread_mutex_lock(&mt_pool_lock);
        if (mt_pool_n < mt_pool_keep) {
            atomic_store_explicit(&c->next, mt_pool, memory_order_relaxed);
            mt_pool = c;
            mt_pool_n++;
            c = NULL;
        }
        pthread_mutex_unlock(&mt_pool_lock);
    }
    free(c);
}

/* Frees the pooled chunks no memtable took in the last MT_POOL_TRIM_MS (see above). */
static void mt_pool_trim(int64_t now_ms)
{
    struct mt_chunk *gone = NULL;
    pthread_mutex_lock(&mt_pool_lock);
    if (now_ms - mt_pool_trim_ms >= MT_POOL_TRIM_MS) {
        int excess = mt_pool_low - mt_pool_warm;
        while (excess-- > 0 && mt_pool) {
            struct mt_chunk *c = mt_pool;
            mt_pool = atomic_load_explicit(&c->next, memory_order_relaxed);
            mt_pool_n--;
            atomic_store_explicit(&c->next, gone, memory_order_relaxed);
            gone = c;
        }
        mt_pool_low = mt_pool_n;
        mt_pool_trim_ms = now_ms;
    }
    pthread_mutex_unlock(&mt_pool_lock);
    while (gone) {
        struct mt_chunk *nx = atomic_load_explicit(&gone->next, memory_order_relaxed);
        free(gone);
        gone = nx;
    }
}

static struct ariel_memtable *mt_new(void)
{
    struct ariel_memtable *mt = calloc(1, sizeof *mt);
    if (mt) atomic_init(&mt->refs, 1);
    return mt;
}

static void mt_unref(struct ariel_memtable *mt)
{
    if (!mt || atomic_fetch_sub_explicit(&mt->refs, 1, memory_order_acq_rel) != 1) return;
    struct mt_chunk *c = mt->head;
    while (c) {
        struct mt_chunk *nx = atomic_load_explicit(&c->next, memory_order_relaxed);
        chunk_free(c);
        c = nx;
    }
    free(mt->row_len);
    free(mt->row_t);
    free(mt);
}

/* Room for len more bytes in the tail chunk, linking a new chunk if needed. */
static uint8_t *mt_reserve(struct ariel_memtable *mt, size_t len)
{
    struct mt_chunk *c = mt->tail;
    if (!c || c->cap - c->used < len) {
        size_t cap = len > MT_CHUNK ? len : MT_CHUNK;
        struct mt_chunk *nc = chunk_alloc(cap);
        if (!nc) return NULL;
        atomic_init(&nc->next, NULL);
        atomic_init(&nc->nrows, 0);
        nc->pend = 0;
        nc->cap = cap;
        nc->used = 0;
        if (c)
            atomic_store_explicit(&c->next, nc, memory_order_release);
        else
            mt->head = nc;
        mt->tail = c = nc;
    }
    return c->data + c->used;
}

/* Room for need entries in a pair of per-row arrays, the rows' encoded lengths and their
 * starttimes (a memtable's, a flow batch's): doubled, from first. */
static int row_index_reserve(uint32_t **len, int64_t **t, size_t *cap, size_t need, size_t first)
{
    if (need <= *cap) return 0;
    size_t nc = *cap ? *cap * 2 : first;
    while (nc < need)
        nc *= 2;
    uint32_t *nl = realloc(*len, nc * sizeof *nl);
    if (!nl) return STRM_ERR_NOMEM;
    *len = nl;
    int64_t *nt = realloc(*t, nc * sizeof *nt);
    if (!nt) return STRM_ERR_NOMEM;
    *t = nt;
    *cap = nc;
    return 0;
}

/* Records the encoded length and starttime t of row idx (rows are found by them at flush
 * time). */
static int mt_note_len(struct ariel_memtable *mt, uint64_t idx, size_t len, int64_t t)
{
    if (row_index_reserve(&mt->row_len, &mt->row_t, &mt->row_len_cap, idx + 1, 65536) != 0)
        return STRM_ERR_NOMEM;
    mt->row_len[idx] = (uint32_t)len;
    mt->row_t[idx] = t;
    return 0;
}

/* Makes the pending rows of the chunks from start on visible to readers that see mt_rows. */
static void mt_commit(struct ariel_memtable *mt, struct mt_chunk *start, uint32_t rows)
{
    for (struct mt_chunk *c = start ? start : mt->head; c;
         c = atomic_load_explicit(&c->next, memory_order_relaxed)) {
        if (c->pend) atomic_store_explicit(&c->nrows, c->nrows + c->pend, memory_order_release);
        c->pend = 0;
    }
    mt->rows += rows;
}

/* Drops what was written since start/used (no reader can see it: nothing was published). */
static void mt_rollback(struct ariel_memtable *mt, struct mt_chunk *start, size_t used)
{
    struct mt_chunk *c =
        start ? atomic_load_explicit(&start->next, memory_order_relaxed) : mt->head;
    while (c) {
        struct mt_chunk *nx = atomic_load_explicit(&c->next, memory_order_relaxed);
        chunk_free(c);
        c = nx;
    }
    if (start) {
        atomic_store_explicit(&start->next, NULL, memory_order_relaxed);
        start->used = used;
        start->pend = 0;
    } else {
        mt->head = NULL;
    }
    mt->tail = start;
}

/* ---------------------------------------------------------------- segment list */

static void list_unref(struct seg_list *l)
{
    if (!l || atomic_fetch_sub_explicit(&l->refs, 1, memory_order_acq_rel) != 1) return;
    for (size_t i = 0; i < l->n; i++)
        ariel_seg_unref(l->v[i]);
    free(l);
}

static int seg_cmp_time(const void *a, const void *b)
{
    const struct ariel_segment *x = *(struct ariel_segment *const *)a,
                               *y = *(struct ariel_segment *const *)b;
    if (x->min_time != y->min_time) return x->min_time < y->min_time ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

static bool seg_in(struct ariel_segment *const *v, size_t n, const struct ariel_segment *g)
{
    for (size_t i = 0; i < n; i++)
        if (v[i] == g) return true;
    return false;
}

/* A new list holding old's segments but drop[0..ndrop), plus add[0..nadd) (their references
 * are taken over). */
static struct seg_list *list_edit(const struct seg_list *old, struct ariel_segment *const *drop,
                                  size_t ndrop, struct ariel_segment **add, size_t nadd)
{
    size_t n = (old ? old->n : 0) + nadd;
    struct seg_list *l = malloc(sizeof *l + sizeof l->v[0] * (n ? n : 1));
    if (!l) return NULL;
    atomic_init(&l->refs, 1);
    l->n = 0;
    l->rows = l->bytes = 0;
    for (size_t i = 0; old && i < old->n; i++) {
        if (seg_in(drop, ndrop, old->v[i])) continue;
        ariel_seg_ref(old->v[i]);
        l->v[l->n++] = old->v[i];
    }
    for (size_t i = 0; i < nadd; i++)
        l->v[l->n++] = add[i];
    for (size_t i = 0; i < l->n; i++) {
        l->rows += l->v[i]->rows;
        l->bytes += l->v[i]->file_size;
    }
    qsort(l->v, l->n, sizeof l->v[0], seg_cmp_time);
    return l;
}

static struct seg_list *list_with(const struct seg_list *old, struct ariel_segment **add,
                                  size_t nadd)
{
    return list_edit(old, NULL, 0, add, nadd);
}

/* ---------------------------------------------------------------- append */

static void maybe_flush(struct ariel_store *s, bool full);
static int swap_memtable(struct ariel_store *s);
static void wal_cleanup(struct ariel_store *s);

#define RESERVE_MIN (4u << 20)
#define RESERVE_MAX (256u << 20)

/* (Re)creates the disk-full reserve: 5% of the filesystem, 4 to 256 MiB. 0 when made. */
static int reserve_make(struct ariel_store *s)
{
    char p[PATH_MAX + 16];
    struct statvfs vf;
    snprintf(p, sizeof p, "%s/reserve", s->root);
    uint64_t want = RESERVE_MIN;
    if (statvfs(s->root, &vf) == 0) {
        want = (uint64_t)vf.f_blocks * vf.f_frsize / 20;
        want = want < RESERVE_MIN ? RESERVE_MIN : want > RESERVE_MAX ? RESERVE_MAX : want;
    }
    int fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return STRM_ERR_IO;
    int rc = posix_fallocate(fd, 0, (off_t)want);
    close(fd);
    if (rc != 0) {
        unlink(p);
        return STRM_ERR_IO;
    }
    s->reserve_bytes = want;
    return 0;
}

/* The WAL hit ENOSPC: give the reserve to the segment writer and hand it the memtable. */
static void reserve_release(struct ariel_store *s)
{
    char p[PATH_MAX + 16];
    snprintf(p, sizeof p, "%s/reserve", s->root);
    s->space_low = true;
    /* the spare WAL files hold space that the reserve must get back before ingest resumes */
    ariel_wal_spares_off(&s->wal, true);
    if (unlink(p) == 0)
        LOG_WARN(ARIEL_COMP,
                 "%s: disk full: released the %llu MiB reserve so the memtable can be written "
                 "as segments; ingest waits until the reserve can be made again",
                 s->root, (unsigned long long)(s->reserve_bytes >> 20));
    pthread_mutex_lock(&s->lock);
    bool busy = s->nimm > 0;
    pthread_mutex_unlock(&s->lock);
    if (!busy && s->mt->rows > 0 && s->flusher_started) (void)swap_memtable(s);
}

/* While space is low: once the segment writer caught up, WAL files were freed; ingest goes on
 * when the reserve can be made again. */
static void reserve_check(struct ariel_store *s)
{
    pthread_mutex_lock(&s->lock);
    bool busy = s->nimm > 0;
    pthread_mutex_unlock(&s->lock);
    if (busy) return;
    if (reserve_make(s) == 0) {
        s->space_low = false;
        ariel_wal_spares_off(&s->wal, false);
        LOG_INFO(ARIEL_COMP, "%s: disk space is back: ingest resumes", s->root);
    }
}

/* Appends are refused unwritten while the disk is full (see reserve_release). */
static bool append_refused(struct ariel_store *s)
{
    if (!s->space_low) return false;
    wal_cleanup(s);
    reserve_check(s);
    if (!s->space_low) return false;
    s->wal.last_errno = ENOSPC; /* the caller pauses and retries */
    return true;
}

/*
 * The second half of an append: count rows were written into mt from start/start_used on
 * (total bytes); the WAL record (the pieces, in format) makes them durable, then they are
 * published. On failure they are rolled back.
 */
static int append_commit(struct ariel_store *s, struct mt_chunk *start, size_t start_used,
                         uint32_t count, size_t total, uint32_t format,
                         const struct ariel_wal_piece *pieces, int npieces)
{
    struct ariel_memtable *mt = s->mt;
    bool burnt = false;
    size_t wal_len = 0;
    for (int i = 0; i < npieces; i++)
        wal_len += pieces[i].len;
    int rc = ariel_wal_append(&s->wal, s->next_seq, count, format, pieces, npieces, &burnt);
    if (rc != 0) {
        mt_rollback(mt, start, start_used);
        if (burnt) s->next_seq += count;
        if (rc == STRM_ERR_IO && s->wal.last_errno == ENOSPC) reserve_release(s);
        /* store_errors is counted by the caller when it gives up (it may pause and retry) */
        return rc;
    }
    mt_commit(mt, start, count);
    if (mt->rows == count) mt->born_ms = strm_mono_ms();
    mt->bytes += total;
    s->next_seq += count;
    pthread_mutex_lock(&s->lock);
    s->mt_rows = mt->rows;
    s->mt_bytes = mt->bytes;
    s->wal_bytes = s->wal.bytes_total;
    pthread_mutex_unlock(&s->lock);
    if (s->stats) {
        STRM_STAT_ADD(s->stats, stored, count);
        STRM_STAT_ADD(s->stats, wal_bytes, wal_len + ARIEL_WAL_HDR);
    }
    if (mt->rows >= (uint64_t)s->segment_rows)
        maybe_flush(s, true); /* a failure is logged; the rows stay in the memtable and WAL */
    return 0;
}

/* ---------------------------------------------------------------- flow batches */

struct ariel_flowbatch {
    uint8_t *rows; /* compact rows, their seq and storagetime stamped when appended */
    size_t rows_len, rows_cap;
    uint32_t *lens;
    int64_t *ts; /* starttimes */
    uint32_t n;
    size_t ncap;
};

struct ariel_flowbatch *ariel_flowbatch_new(void)
{
    return calloc(1, sizeof(struct ariel_flowbatch));
}

void ariel_flowbatch_free(struct ariel_flowbatch *fb)
{
    if (!fb) return;
    free(fb->rows);
    free(fb->lens);
    free(fb->ts);
    free(fb);
}

void ariel_flowbatch_reset(struct ariel_flowbatch *fb)
{
    fb->n = 0;
    fb->rows_len = 0;
}

uint32_t ariel_flowbatch_count(const struct ariel_flowbatch *fb)
{
    return fb ? fb->n : 0;
}

int ariel_flowbatch_add(struct ariel_flowbatch *fb, const struct strm_event *ev)
{
    if (!(ev->flags & STRM_EV_FLOW)) return STRM_ERR_INVAL;
    if (fb->n == UINT32_MAX ||
        row_index_reserve(&fb->lens, &fb->ts, &fb->ncap, (size_t)fb->n + 1, 1024) != 0)
        return STRM_ERR_NOMEM;
    if (ariel_grow(&fb->rows, &fb->rows_cap, fb->rows_len + ariel_row_bound(ev)))
        return STRM_ERR_NOMEM;
    size_t len = ariel_row_encode(fb->rows + fb->rows_len, 0, ev);
    fb->rows_len += len;
    fb->lens[fb->n] = (uint32_t)len;
    fb->ts[fb->n] = ev->starttime;
    fb->n++;
    return 0;
}

/* The rows of fb into the memtable, stamped with their seq and storagetime now, and packed
 * from there (in the cache) into the WAL record. */
static int append_flows(struct ariel_store *s, struct ariel_flowbatch *fb, int64_t now)
{
    struct ariel_memtable *mt = s->mt;
    struct mt_chunk *start = mt->tail;
    size_t start_used = start ? start->used : 0;
    const uint8_t *src = fb->rows;
    if (ariel_grow(&s->pack, &s->pack_cap,
                   ARIEL_FLOWPACK_HEAD + fb->rows_len + (size_t)fb->n * ARIEL_FLOWPACK_MAX))
        return STRM_ERR_NOMEM;
    /* the rows' lengths and starttimes, as the batch has them (mt->rows moves on only when
     * the record is committed) */
    if (row_index_reserve(&mt->row_len, &mt->row_t, &mt->row_len_cap, mt->rows + fb->n, 65536) != 0)
        return STRM_ERR_NOMEM;
    memcpy(mt->row_len + mt->rows, fb->lens, (size_t)fb->n * sizeof *fb->lens);
    memcpy(mt->row_t + mt->rows, fb->ts, (size_t)fb->n * sizeof *fb->ts);
    struct ariel_flowpack pk = {0};
    size_t packed = ARIEL_FLOWPACK_HEAD;
    for (uint32_t i = 0; i < fb->n; i++) {
        size_t len = fb->lens[i];
        uint8_t *p = mt_reserve(mt, len);
        if (!p) {
            mt_rollback(mt, start, start_used);
            return STRM_ERR_NOMEM;
        }
        memcpy(p, src, len);
        ariel_row_stamp(p, s->next_seq + i, now);
        packed += ariel_flowpack_put_row(s->pack + packed, p, len, &pk);
        src += len;
        mt->tail->used += len;
        mt->tail->pend++;
    }
    memcpy(s->pack, &now, ARIEL_FLOWPACK_HEAD);
    struct ariel_wal_piece piece = {s->pack, packed};
    return append_commit(s, start, start_used, fb->n, fb->rows_len, ARIEL_WAL_FLOWS, &piece, 1);
}

int ariel_append_flows(struct ariel_store *s, struct ariel_flowbatch *fb)
{
    if (s->read_only || s->table != STRM_TABLE_FLOWS) return STRM_ERR_INVAL;
    if (fb->n == 0) return 0;
    if (append_refused(s)) return STRM_ERR_IO;
    return append_flows(s, fb, strm_now_ms());
}

int ariel_append(struct ariel_store *s, struct strm_batch *b)
{
    struct ariel_memtable *mt = s->mt;
    struct mt_chunk *start = mt->tail;
    size_t start_used = start ? start->used : 0, total = 0;
    struct ariel_wal_piece stack_pieces[16], *pieces = stack_pieces;
    int npieces = 0, rc;

    if (s->read_only) return STRM_ERR_INVAL;
    if (b->count == 0) return 0;
    if (append_refused(s)) return STRM_ERR_IO;
    int64_t now = strm_now_ms();
    if (s->table == STRM_TABLE_FLOWS) {
        /* the flows table's rows: encoded here as a producer's flow batch would be */
        if (!s->fb && !(s->fb = ariel_flowbatch_new())) return STRM_ERR_NOMEM;
        ariel_flowbatch_reset(s->fb);
        for (uint32_t i = 0; i < b->count; i++) {
            b->ev[i].flags |= STRM_EV_FLOW;
            b->ev[i].storagetime = now;
            if (ariel_flowbatch_add(s->fb, &b->ev[i]) != 0) return STRM_ERR_NOMEM;
        }
        return append_flows(s, s->fb, now);
    }
    for (uint32_t i = 0; i < b->count; i++) {
        struct strm_event *ev = &b->ev[i];
        uint8_t *p;
        ev->storagetime = now;
        /* the row layout follows the table: segments read its columns at fixed offsets */
        ev->flags &= (uint8_t)~STRM_EV_FLOW;
        if (!(p = mt_reserve(mt, ariel_row_bound(ev)))) {
            rc = STRM_ERR_NOMEM;
            goto fail;
        }
        size_t len = ariel_row_encode(p, s->next_seq + i, ev);
        mt->tail->used += len;
        mt->tail->pend++;
        total += len;
        if (mt_note_len(mt, mt->rows + i, len, ev->starttime) != 0) {
            rc = STRM_ERR_NOMEM;
            goto fail;
        }
    }
    for (struct mt_chunk *c = start ? start : mt->head; c;
         c = atomic_load_explicit(&c->next, memory_order_relaxed)) {
        size_t from = c == start ? start_used : 0;
        if (c->used == from) continue;
        if (npieces == (int)(sizeof stack_pieces / sizeof stack_pieces[0]) &&
            pieces == stack_pieces) {
            size_t nmax = 0;
            for (struct mt_chunk *d = c; d;
                 d = atomic_load_explicit(&d->next, memory_order_relaxed))
                nmax++;
            pieces = malloc(sizeof *pieces * ((size_t)npieces + nmax));
            if (!pieces) {
                pieces = stack_pieces;
                rc = STRM_ERR_NOMEM;
                goto fail;
            }
            memcpy(pieces, stack_pieces, sizeof stack_pieces);
        }
        pieces[npieces].p = c->data + from;
        pieces[npieces].len = c->used - from;
        npieces++;
    }
    rc = append_commit(s, start, start_used, b->count, total, ARIEL_WAL_ROWS, pieces, npieces);
    if (pieces != stack_pieces) free(pieces);
    return rc;

fail:
    mt_rollback(mt, start, start_used);
    if (pieces != stack_pieces) free(pieces);
    return rc;
}

int ariel_append_errno(const struct ariel_store *s)
{
    return s->wal.last_errno;
}

/* ---------------------------------------------------------------- flush */

struct sort_key {
    int64_t t;
    uint32_t idx;
    uint32_t bucket;
};

static int64_t hour_of(int64_t t);

/*
 * Segments are per hour and per retention bucket, rows in time order inside each: keys
 * sort by hour, bucket, time, and row (idx, which the callers number in order). a before b:
 * with one bucket, hour follows time; only keys of different buckets need their hours.
 */
static inline bool key_before(const struct sort_key *a, const struct sort_key *b)
{
    if (a->bucket == b->bucket) return a->t < b->t;
    int64_t ha = hour_of(a->t), hb = hour_of(b->t);
    return ha != hb ? ha < hb : a->bucket < b->bucket;
}

/*
 * keys (n of them, idx rising) in that order: a stable natural merge sort, so ties stay in
 * row order. The rows come in runs already in order (a batch of each parser thread, a
 * segment being compacted), so each pass merges pairs of runs, not of single keys, and the
 * comparisons are inline (qsort's calls to a comparison function were 1.5% of the DSM mix's
 * CPU at 8 M messages). tmp has room for n keys; returns the sorted array (keys or tmp).
 */
static struct sort_key *sort_keys(struct sort_key *keys, struct sort_key *tmp, uint32_t n)
{
    struct sort_key *src = keys, *dst = tmp;
    for (;;) {
        uint32_t i = 0, runs = 0;
        while (i < n) {
            uint32_t j = i + 1;
            while (j < n && !key_before(&src[j], &src[j - 1]))
                j++;
            uint32_t k = j;
            if (k < n) {
                k++;
                while (k < n && !key_before(&src[k], &src[k - 1]))
                    k++;
            }
            /* src[i..j) and src[j..k) into dst[i..k); the first run wins ties: stable */
            uint32_t a = i, b = j, o = i;
            while (a < j && b < k)
                dst[o++] = key_before(&src[b], &src[a]) ? src[b++] : src[a++];
            while (a < j)
                dst[o++] = src[a++];
            while (b < k)
                dst[o++] = src[b++];
            runs++;
            i = k;
        }
        struct sort_key *t = src;
        src = dst;
        dst = t;
        if (runs <= 1) return src;
    }
}

static int64_t hour_of(int64_t t)
{
    return t >= 0 ? t / 3600000 : -((-t + 3599999) / 3600000);
}

/*
 * Writes the rows of mt as segments (one per hour of starttime) and publishes them. In the
 * background (mt is s->imm[0], called by the flusher) publishing also drops it from the
 * queue and the readers' snapshot and tells the writer which WAL files are now covered.
 * Synchronously (mt is s->mt, called by the writer while the queue is empty) it swaps in a
 * fresh memtable and drops the whole WAL, which then holds nothing else.
 */
/*
 * The segments of one flush ("pieces": the rows of one hour and bucket, cut into runs of at
 * most segment_rows rows), written by the flushing thread and, when there are two or more,
 * by a helper thread with the second writer at the same time: a memtable that grew past
 * segment_rows because the flusher fell behind is written in half the time when a core is
 * free (the end of a file intake, a pause in a burst).
 */
struct flush_job {
    struct ariel_store *s;
    const struct ariel_seg_meta *m;
    const uint8_t *const *rows;
    const uint32_t *lens;
    const uint32_t *from; /* piece k: rows from[k] .. from[k + 1] - 1 */
    const uint32_t *bucket;
    uint32_t npieces;
    _Atomic uint32_t next;
    struct ariel_segment **made;
    int *rcs;
};

static void flush_pieces(struct flush_job *j, struct ariel_seg_writer *w)
{
    for (;;) {
        uint32_t k = atomic_fetch_add(&j->next, 1);
        if (k >= j->npieces) return;
        struct ariel_seg_meta m = *j->m;
        m.id = m.group_first + k;
        m.bucket = j->bucket[k];
        j->rcs[k] = ariel_seg_write(w, j->s->root, &m, j->rows + j->from[k], j->lens + j->from[k],
                                    j->from[k + 1] - j->from[k], &j->made[k]);
        if (j->rcs[k] != 0) return; /* the flush fails: no more pieces from this thread */
    }
}

static void *flush_helper(void *arg)
{
    struct flush_job *j = arg;
    flush_pieces(j, &j->s->sw2);
    return NULL;
}

static int flush_memtable(struct ariel_store *s, struct ariel_memtable *mt, bool background)
{
    struct ariel_memtable *fresh = NULL;
    struct seg_list *nl = NULL, *old_list;
    struct sort_key *keys = NULL;
    const uint8_t **rows = NULL, **srows = NULL;
    uint32_t *lens = NULL, *slens = NULL, n, i = 0, ngroups = 0, done = 0;
    struct ariel_segment **made = NULL;
    uint32_t *pfrom = NULL, *pbucket = NULL;
    int *prc = NULL;
    bool sorted = true;
    int rc = STRM_ERR_NOMEM;
    uint64_t group_first;

    if (s->read_only || mt->rows == 0) return 0;
    if (mt->rows > UINT32_MAX) return STRM_ERR_INVAL;
    n = (uint32_t)mt->rows;
    /* per-row scratch, kept between flushes (one flush at a time: the flusher, or the writer
     * when the flusher is idle) so big flushes do not fault fresh memory in each time */
    if (s->fl_cap < n) {
        size_t cap = (size_t)n + n / 8;
        struct sort_key *k2 = realloc(s->fl_keys, sizeof *k2 * cap);
        if (k2) s->fl_keys = k2;
        struct sort_key *t2 = realloc(s->fl_tmp, sizeof *t2 * cap);
        if (t2) s->fl_tmp = t2;
        const uint8_t **r2 = realloc(s->fl_rows, sizeof *r2 * cap * 2);
        if (r2) s->fl_rows = r2;
        uint32_t *l2 = realloc(s->fl_lens, sizeof *l2 * cap * 2);
        if (l2) s->fl_lens = l2;
        if (!k2 || !t2 || !r2 || !l2) goto fail;
        s->fl_cap = cap;
    }
    keys = s->fl_keys;
    rows = s->fl_rows;
    srows = s->fl_rows + s->fl_cap;
    lens = s->fl_lens;
    slens = s->fl_lens + s->fl_cap;
    if (!background && !(fresh = mt_new())) goto fail;
    for (struct mt_chunk *c = mt->head; c && i < n;
         c = atomic_load_explicit(&c->next, memory_order_relaxed)) {
        size_t off = 0;
        for (uint32_t r = 0; r < c->nrows && i < n; r++, i++) {
            size_t len = mt->row_len[i];
            rows[i] = c->data + off;
            lens[i] = (uint32_t)len;
            keys[i].t = mt->row_t[i];
            keys[i].idx = i;
            keys[i].bucket = 0;
            if (s->bucket_of) {
                struct strm_event ev;
                if (ariel_row_decode(rows[i], len, NULL, &ev)) {
                    int b = s->bucket_of(&ev, s->bucket_arg);
                    keys[i].bucket = b > 0 && b <= ARIEL_MAX_BUCKETS ? (uint32_t)b : 0;
                }
                if (keys[i].bucket) sorted = false;
            }
            if (i && keys[i].t < keys[i - 1].t) sorted = false;
            off += len;
        }
    }
    if (!sorted) keys = sort_keys(keys, s->fl_tmp, n);
    /* pieces: runs of one hour and bucket, cut at segment_rows rows (in equal parts) */
    uint32_t seg_max = s->segment_rows > 0 ? (uint32_t)s->segment_rows : UINT32_MAX;
    for (i = 0; i < n; i++) {
        srows[i] = rows[keys[i].idx];
        slens[i] = lens[keys[i].idx];
    }
    for (int pass = 0; pass < 2; pass++) {
        ngroups = 0;
        for (uint32_t from = 0; from < n;) {
            uint32_t to = from + 1;
            while (to < n && hour_of(keys[to].t) == hour_of(keys[from].t) &&
                   keys[to].bucket == keys[from].bucket)
                to++;
            uint32_t len = to - from, parts = (len + seg_max - 1) / seg_max;
            for (uint32_t p = 0; p < parts; p++, ngroups++)
                if (pass) {
                    pfrom[ngroups] = from + (uint32_t)((uint64_t)len * p / parts);
                    pbucket[ngroups] = keys[from].bucket;
                }
            from = to;
        }
        if (pass) {
            pfrom[ngroups] = n;
        } else if (!(made = calloc(ngroups, sizeof *made)) ||
                   !(pfrom = malloc(sizeof *pfrom * (ngroups + 1))) ||
                   !(pbucket = malloc(sizeof *pbucket * ngroups)) ||
                   !(prc = calloc(ngroups, sizeof *prc))) {
            goto fail;
        }
    }

    group_first = atomic_fetch_add(&s->next_seg_id, ngroups);
    struct ariel_seg_meta m = {
        .group_first = group_first,
        .group_count = ngroups,
        .seq_lo = ariel_row_seq(rows[0]),
        .seq_hi = ariel_row_seq(rows[n - 1]),
    };
    struct flush_job job = {.s = s,
                            .m = &m,
                            .rows = srows,
                            .lens = slens,
                            .from = pfrom,
                            .bucket = pbucket,
                            .npieces = ngroups,
                            .made = made,
                            .rcs = prc};
    atomic_init(&job.next, 0);
    pthread_t helper;
    /* the helper compresses payloads with the flushing writer's dictionary; a flush before
     * that one is trained (the store's first) goes alone, so a store keeps one dictionary */
    bool helped = ngroups >= 2 && s->sw2_ready && (!s->sw.payload_dict || s->sw.cdict);
    if (helped) {
        s->sw2.cdict = s->sw.cdict;
        s->sw2.dict_id = s->sw.dict_id;
        s->sw2.dict_attach = s->sw.dict_attach;
        s->sw2.dict_borrowed = true;
        s->sw.dict_frozen = true;
        helped = pthread_create(&helper, NULL, flush_helper, &job) == 0;
        /* named for top and perf; it has the flusher's nice (threads inherit it) */
        if (helped) pthread_setname_np(helper, "ariel-flush2");
    }
    flush_pieces(&job, &s->sw);
    if (helped) pthread_join(helper, NULL);
    s->sw.dict_frozen = false;
    s->sw2.cdict = NULL;
    s->sw2.dict_borrowed = false;
    done = ngroups; /* on failure, the fail path deletes every segment that was made */
    for (uint32_t k = 0; k < ngroups; k++)
        if (prc[k] != 0 || !made[k]) { /* failed, or not written after another failed */
            rc = prc[k] != 0 ? prc[k] : STRM_ERR_IO;
            goto fail;
        }
    /* Built under the lock: retention (writer thread) may replace s->segs meanwhile. */
    pthread_mutex_lock(&s->lock);
    if (!(nl = list_with(s->segs, made, ngroups))) {
        pthread_mutex_unlock(&s->lock);
        rc = STRM_ERR_NOMEM;
        goto fail;
    }
    old_list = s->segs;
    s->segs = nl;
    if (background) {
        s->imm_bytes -= mt->bytes;
        s->nimm--;
        memmove(&s->imm[0], &s->imm[1], (size_t)s->nimm * sizeof s->imm[0]);
        s->imm[s->nimm] = NULL;
        s->wal_drop_seq = m.seq_hi + 1;
        pthread_cond_broadcast(&s->flush_cv);
    } else {
        s->mt = fresh;
        s->mt_rows = 0;
        s->mt_bytes = 0;
    }
    pthread_mutex_unlock(&s->lock);
    list_unref(old_list);
    mt_unref(mt);

    if (!background) {
        ariel_wal_drop_all(&s->wal);
        pthread_mutex_lock(&s->lock);
        s->wal_bytes = 0;
        pthread_mutex_unlock(&s->lock);
    }
    if (s->stats) STRM_STAT_ADD(s->stats, segments_written, ngroups);
    rc = 0;
    goto out;

fail:
    /* Undo the published part of the group: otherwise the next flush would duplicate it. */
    for (uint32_t k = 0; made && k < done; k++) {
        if (!made[k]) continue;
        if (unlink(made[k]->path) != 0)
            LOG_WARN(ARIEL_COMP, "cannot delete segment %s of a failed flush: %s", made[k]->path,
                     strerror(errno));
        ariel_seg_unref(made[k]);
    }
    mt_unref(fresh);
    if (!background) s->flush_not_before_ms = strm_mono_ms() + FLUSH_RETRY_MS;
    LOG_ERROR(ARIEL_COMP, "flush of %" PRIu64 " rows failed: %s; kept in memory and WAL", mt->rows,
              strm_err_str(rc));
out:
    free(made);
    free(pfrom);
    free(pbucket);
    free(prc);
    return rc;
}

/*
 * The segment writer's scheduling. It runs at nice 10: intake comes first, and the memtable
 * queue (maybe_flush) is the slack it catches up in. While the queue holds less than half
 * of the budget and its oldest memtable waits less than WRITER_IDLE_MAX_MS, and where the
 * thread may come back from it (root, or RLIMIT_NICE allows nice 10), it runs in SCHED_IDLE:
 * only on a core nothing else wants. An exporter's burst is then taken into memory at the
 * full speed of intake and written once it is over; at nice 10 the writer took a third of
 * the CPU during a 6 M/s burst, and intake fell behind its socket. Past either bound it is
 * back at nice 10 (the writer thread sees to it while the flusher may be starved: see
 * writer_unidle), so that neither intake nor other work on the machine (a search on every
 * core) can leave segments unwritten for long: what is only in memtables lengthens the WAL
 * replay after a crash.
 */
#define WRITER_IDLE_MAX_MS 5000

static bool flusher_may_idle(void)
{
    struct rlimit rl;
    if (geteuid() == 0) return true;
    return getrlimit(RLIMIT_NICE, &rl) == 0 && (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= 10);
}

/* Puts thread tid in SCHED_IDLE or back at SCHED_OTHER, nice 10; false if refused. */
static bool writer_sched(pid_t tid, bool idle)
{
    struct sched_param sp = {0};
    if (sched_setscheduler(tid, idle ? SCHED_IDLE : SCHED_OTHER, &sp) != 0) {
        LOG_DEBUG(ARIEL_COMP, "segment writer: cannot change its scheduling: %s", strerror(errno));
        return false;
    }
    if (!idle) (void)setpriority(PRIO_PROCESS, (id_t)tid, 10);
    return true;
}

/* Whether the queue is small and young enough for the flusher to stay in SCHED_IDLE (lock
 * held). */
static bool queue_low(const struct ariel_store *s, int64_t now_ms)
{
    return s->imm_bytes + s->mt_bytes < s->mt_budget / 2 &&
           (s->nimm == 0 || now_ms - s->imm[0]->queued_ms < WRITER_IDLE_MAX_MS);
}

/* Writer, after an append or on a tick: the flusher back at nice 10 once the queue is past
 * queue_low's bounds. */
static void writer_unidle(struct ariel_store *s)
{
    if (!atomic_load_explicit(&s->flusher_idle, memory_order_relaxed)) return;
    pthread_mutex_lock(&s->lock);
    bool low = queue_low(s, strm_mono_ms());
    pthread_mutex_unlock(&s->lock);
    if (!low && writer_sched(atomic_load(&s->flusher_tid), false))
        atomic_store(&s->flusher_idle, false);
}

static void *flusher_main(void *arg)
{
    struct ariel_store *s = arg;
    pid_t tid = (pid_t)syscall(SYS_gettid);
    bool may_idle = s->idle_writer && flusher_may_idle();
    atomic_store(&s->flusher_tid, tid);
    if (setpriority(PRIO_PROCESS, (id_t)tid, 10) != 0)
        LOG_DEBUG(ARIEL_COMP, "segment writer: cannot lower priority: %s", strerror(errno));
    pthread_mutex_lock(&s->lock);
    for (;;) {
        while ((!s->nimm || s->flusher_hold) && !s->flusher_stop)
            pthread_cond_wait(&s->flush_cv, &s->lock);
        if (!s->nimm) break; /* stopping, nothing left */
        struct ariel_memtable *mt = s->imm[0];
        bool idle = may_idle && queue_low(s, strm_mono_ms());
        pthread_mutex_unlock(&s->lock);
        if (idle != atomic_load(&s->flusher_idle) && writer_sched(tid, idle))
            atomic_store(&s->flusher_idle, idle);
        int rc = flush_memtable(s, mt, true);
        pthread_mutex_lock(&s->lock);
        if (rc != 0) {
            /* imm[0] stays (in memory and WAL); retry, unless stopping: the WAL keeps it */
            if (s->flusher_stop) break;
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += FLUSH_RETRY_MS / 1000;
            pthread_cond_timedwait(&s->flush_cv, &s->lock, &ts);
        }
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

void ariel_hold_flusher(struct ariel_store *s, bool hold)
{
    pthread_mutex_lock(&s->lock);
    s->flusher_hold = hold;
    pthread_cond_broadcast(&s->flush_cv);
    pthread_mutex_unlock(&s->lock);
}

/* Writer: queues the full memtable for the flusher (the queue has room) and starts a fresh
 * one. */
static int swap_memtable(struct ariel_store *s)
{
    struct ariel_memtable *fresh = mt_new();
    if (!fresh) return STRM_ERR_NOMEM;
    /* The next WAL record opens a new file: once this memtable is written, the files before
     * it can go. */
    ariel_wal_roll(&s->wal);
    pthread_mutex_lock(&s->lock);
    s->mt->queued_ms = strm_mono_ms();
    s->imm[s->nimm++] = s->mt;
    s->imm_bytes += s->mt->bytes;
    s->mt = fresh;
    s->mt_rows = 0;
    s->mt_bytes = 0;
    pthread_cond_broadcast(&s->flush_cv);
    pthread_mutex_unlock(&s->lock);
    return 0;
}

/* Writer: deletes the WAL files that the flusher's last segments cover. */
static void wal_cleanup(struct ariel_store *s)
{
    pthread_mutex_lock(&s->lock);
    uint64_t seq = s->wal_drop_seq;
    s->wal_drop_seq = 0;
    pthread_mutex_unlock(&s->lock);
    if (!seq) return;
    ariel_wal_drop_before(&s->wal, seq);
    pthread_mutex_lock(&s->lock);
    s->wal_bytes = s->wal.bytes_total;
    pthread_mutex_unlock(&s->lock);
}

/* Writer: waits until the flusher's queue holds at most max_queued memtables; false if it
 * gave up (stopping, or max_ms passed). */
static bool wait_queue(struct ariel_store *s, int max_queued, int64_t max_ms)
{
    int64_t until = strm_mono_ms() + max_ms;
    pthread_mutex_lock(&s->lock);
    while (s->nimm > max_queued && s->flusher_started && strm_mono_ms() < until) {
        struct timespec ts = strm_deadline(CLOCK_REALTIME, 100);
        pthread_cond_timedwait(&s->flush_cv, &s->lock, &ts);
    }
    bool done = s->nimm <= max_queued;
    pthread_mutex_unlock(&s->lock);
    wal_cleanup(s);
    return done;
}

static bool wait_imm_done(struct ariel_store *s, int64_t max_ms)
{
    return wait_queue(s, 0, max_ms);
}

/*
 * Writer, after an append or on a tick: hand the memtable over when it is full or old.
 *
 * When the flusher is behind (the queue is not empty), the memtable first grows to four
 * segments' worth of rows (4 x segment_rows), then joins the queue. The queue and mt
 * together stay within mt_budget bytes (at least two memtables of 4 x segment_rows rows
 * of MT_ROW_BYTES, the DSM mix's row; the pre-warmed memory when that is more, so that a
 * burst pays no page faults) and ARIEL_IMM_MAX memtables. Past that the writer waits for
 * the flusher to finish one (backpressure: the pipeline and TCP senders slow down; memory
 * stays bounded). A queue of memtables, not one growing memtable: the flush's per-row
 * arrays stay the size of one memtable, and when intake waits, it waits for one memtable's
 * segments, not for all it took in.
 */
static void maybe_flush(struct ariel_store *s, bool full)
{
    wal_cleanup(s);
    writer_unidle(s);
    if (s->mt->rows == 0 || strm_mono_ms() < s->flush_not_before_ms) return;
    pthread_mutex_lock(&s->lock);
    int queued = s->nimm;
    uint64_t qbytes = s->imm_bytes;
    pthread_mutex_unlock(&s->lock);
    if (!s->flusher_started) {
        (void)flush_memtable(s, s->mt, false);
        return;
    }
    if (queued > 0) {
        uint64_t seg4 = 4 * (uint64_t)s->segment_rows;
        if (!full || s->mt->rows < seg4) return;
        if (queued >= ARIEL_IMM_MAX || qbytes + s->mt->bytes > s->mt_budget) {
            int64_t t0 = strm_mono_ms();
            if (s->stats) STRM_STAT_ADD(s->stats, store_writer_waits, 1);
            while (!wait_queue(s, queued - 1, 10000))
                LOG_WARN(ARIEL_COMP, "ingest paused: the segment writer is %lld s behind",
                         (long long)((strm_mono_ms() - t0) / 1000));
        }
    }
    if (swap_memtable(s) != 0) s->flush_not_before_ms = strm_mono_ms() + FLUSH_RETRY_MS;
}

int ariel_flush(struct ariel_store *s)
{
    if (s->read_only) return 0;
    if (s->flusher_started && !wait_imm_done(s, INT32_MAX)) return STRM_ERR_IO;
    return flush_memtable(s, s->mt, false);
}

/* ---------------------------------------------------------------- retention */

/* Removes the segment's file and then its hour directory and parents if they became empty. */
static void retention_unlink(struct ariel_store *s, const struct ariel_segment *g, const char *why)
{
    char dir[PATH_MAX];
    if (unlink(g->path) != 0 && errno != ENOENT) {
        LOG_WARN(ARIEL_COMP, "retention: cannot delete segment %s: %s", g->path, strerror(errno));
        return;
    }
    LOG_INFO(ARIEL_COMP, "retention: deleted segment %s (%" PRIu64 " rows): %s", g->path, g->rows,
             why);
    if (s->stats) {
        STRM_STAT_ADD(s->stats, store_retention_deleted_segments, 1);
        STRM_STAT_ADD(s->stats, store_retention_deleted_rows, g->rows);
    }
    snprintf(dir, sizeof dir, "%s", g->path);
    for (int up = 0; up < 4; up++) { /* HH, DD, MM, YYYY */
        char *slash = strrchr(dir, '/');
        if (!slash) break;
        *slash = 0;
        if (rmdir(dir) != 0) break;
    }
}

/*
 * Writer: deletes whole segments by age and by the disk-use ceiling. The survivors are
 * published as a new list under the lock (the flusher builds its lists under it too), so a
 * scan keeps the old list and its references; its open descriptors stay valid after the
 * unlink. Disk pressure deletes the oldest hour partitions, never the newest one.
 */
static void retention_run(struct ariel_store *s)
{
    int64_t cutoff =
        s->retention_days ? strm_now_ms() - (int64_t)s->retention_days * 86400000LL : INT64_MIN;
    uint64_t need = 0, freed = 0, pct = 0;
    struct seg_list *old, *nl = NULL;
    struct ariel_segment **gone = NULL;
    bool *by_age = NULL, *by_disk = NULL;
    size_t ngone = 0;
    char why[128];

    if (s->max_disk_percent) {
        struct statvfs v;
        if (statvfs(s->root, &v) == 0 && v.f_blocks) {
            uint64_t used = (uint64_t)(v.f_blocks - v.f_bfree) * v.f_frsize,
                     total = used + (uint64_t)v.f_bavail * v.f_frsize,
                     limit = total / 100 * (uint64_t)s->max_disk_percent;
            pct = total ? used * 100 / total : 0;
            if (used > limit) need = used - limit;
        }
    }
    pthread_mutex_lock(&s->lock);
    old = s->segs;
    if (old->n == 0) goto unlock;
    if (!(gone = calloc(old->n, sizeof *gone)) || !(by_age = calloc(old->n, sizeof *by_age)) ||
        !(by_disk = calloc(old->n, sizeof *by_disk)))
        goto unlock;
    for (size_t i = 0; i < old->n; i++) {
        const struct ariel_segment *g = old->v[i];
        int64_t limit = cutoff;
        if (g->bucket > 0 && g->bucket <= ARIEL_MAX_BUCKETS) { /* its bucket's own age */
            int days = s->bucket_days[g->bucket - 1];
            limit = days ? strm_now_ms() - (int64_t)days * 86400000LL : INT64_MIN;
        }
        if (g->max_time < limit) {
            by_age[i] = true;
            freed += g->file_size;
        }
    }
    /* sorted by min_time: the partitions come in order, each as one run */
    int64_t newest = hour_of(old->v[old->n - 1]->min_time);
    for (size_t i = 0; i < old->n && freed < need;) {
        int64_t h = hour_of(old->v[i]->min_time);
        if (h == newest) break;
        for (; i < old->n && hour_of(old->v[i]->min_time) == h; i++)
            if (!by_age[i]) {
                by_disk[i] = true;
                freed += old->v[i]->file_size;
            }
    }
    for (size_t i = 0; i < old->n; i++)
        if (by_age[i] || by_disk[i]) gone[ngone++] = old->v[i];
    if (ngone == 0) goto unlock;
    if (!(nl = list_edit(old, gone, ngone, NULL, 0))) {
        ngone = 0;
        goto unlock;
    }
    for (size_t k = 0; k < ngone; k++)
        ariel_seg_ref(gone[k]);
    s->segs = nl;
unlock:
    pthread_mutex_unlock(&s->lock);
    if (nl) {
        size_t k = 0;
        for (size_t i = 0; i < old->n; i++) {
            if (!by_age[i] && !by_disk[i]) continue;
            if (by_age[i] && gone[k]->bucket)
                snprintf(why, sizeof why, "retention bucket %u: older than %d days",
                         gone[k]->bucket, s->bucket_days[gone[k]->bucket - 1]);
            else if (by_age[i])
                snprintf(why, sizeof why, "older than %d days", s->retention_days);
            else
                snprintf(why, sizeof why, "filesystem %" PRIu64 "%% full, ceiling %d%%", pct,
                         s->max_disk_percent);
            retention_unlink(s, gone[k], why);
            ariel_seg_unref(gone[k]);
            k++;
        }
        list_unref(old);
    } else if (need && !ngone) {
        LOG_WARN(ARIEL_COMP,
                 "%s: filesystem %" PRIu64 "%% full (ceiling %d%%), nothing left to delete",
                 s->root, pct, s->max_disk_percent);
    }
    free(gone);
    free(by_age);
    free(by_disk);
}

int ariel_tick(struct ariel_store *s)
{
    int64_t now = strm_mono_ms();
    int rc = 0;
    if (s->read_only) return 0;
    mt_pool_trim(now);
    if (s->fsync == STRM_FSYNC_INTERVAL && !s->wal.syncer && s->wal.pending &&
        now - s->wal.last_sync_ms >= s->fsync_interval_ms)
        rc = ariel_wal_sync(&s->wal);
    if (s->mt->rows > 0 && now - s->mt->born_ms >= (int64_t)s->segment_max_age_s * 1000) {
        maybe_flush(s, false);
    } else {
        wal_cleanup(s);
        writer_unidle(s);
    }
    if ((s->retention_days || s->max_disk_percent || s->bucket_of) && now >= s->retention_next_ms) {
        s->retention_next_ms = now + RETENTION_EVERY_MS;
        retention_run(s);
    }
    return rc;
}

/* ---------------------------------------------------------------- compaction */

/*
 * At low rates the memtable is flushed by age (segment_max_age_s) long before it is full, so
 * an hour partition fills with small segments: each costs a file, a header read at open and
 * a scan start, and compresses worse. The compactor thread merges the small segments of one
 * hour partition and one retention bucket into one: it reads their rows back, sorts them by
 * starttime and writes a new segment (encodings, indexes and checksums as any other), which
 * lists the ids it replaces. Then, in one locked step, the new segment replaces them in the
 * readers' list, and their files are deleted: a scan that holds the old list goes on reading
 * them through the descriptors it holds.
 *
 * Crash safety. The new segment's rename is the commit point. A crash before it leaves a
 * .tmp file (deleted at open); a crash after it leaves inputs that the new segment lists
 * (recovery deletes them, resolve_groups). Only segments whose WAL rows are already deleted
 * are merged, so recovery never replays rows a merged segment holds; and the inputs'
 * deletion is made durable before the merged segment can itself be merged.
 *
 * Runs at nice 10 beside ingest and never holds the store lock while it reads or writes.
 */
static uint64_t wal_min_seq(const char *root);

struct compact_rows {
    uint8_t *buf;
    size_t len, cap;
    uint32_t *offs;
    size_t n, ncap;
    int rc;
};

static int compact_collect(const struct strm_event *ev, void *arg)
{
    struct compact_rows *cr = arg;
    size_t need = ariel_row_bound(ev);
    if (cr->len + need > cr->cap) {
        size_t nc = cr->cap ? cr->cap * 2 : (size_t)4 << 20;
        while (nc < cr->len + need)
            nc *= 2;
        uint8_t *nb = realloc(cr->buf, nc);
        if (!nb) goto nomem;
        cr->buf = nb;
        cr->cap = nc;
    }
    if (cr->n == cr->ncap) {
        size_t nc = cr->ncap ? cr->ncap * 2 : 65536;
        uint32_t *no = realloc(cr->offs, sizeof *no * nc);
        if (!no) goto nomem;
        cr->offs = no;
        cr->ncap = nc;
    }
    if (cr->len > UINT32_MAX) goto nomem;
    cr->offs[cr->n++] = (uint32_t)cr->len;
    cr->len += ariel_row_encode(cr->buf + cr->len, 0, ev);
    return 0;
nomem:
    cr->rc = STRM_ERR_NOMEM;
    return 1;
}

static int u64_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Orders the candidates by partition (hour, bucket), then by id. */
static int cand_cmp(const void *a, const void *b)
{
    const struct ariel_segment *x = *(struct ariel_segment *const *)a,
                               *y = *(struct ariel_segment *const *)b;
    int64_t hx = hour_of(x->min_time), hy = hour_of(y->min_time);
    if (hx != hy) return hx < hy ? -1 : 1;
    if (x->bucket != y->bucket) return x->bucket < y->bucket ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* Size tier of a segment: rows in [4^t, 4^(t+1)). */
static int size_tier(uint64_t rows)
{
    return rows ? (63 - __builtin_clzll(rows)) / 2 : 0;
}

/*
 * Picks the inputs of one merge from l: at least two small segments (under half of
 * segment_rows) of one partition whose WAL rows are gone, oldest first, together at most
 * segment_rows rows. While the partition's hour may still get rows, only compact_min
 * segments of one size tier (rows within a factor of 4) are merged, so that each row is
 * rewritten about once per tier, not once per flush; once its hour is over by an hour (no
 * more flushes are expected there), any two. Returns how many (0: none).
 */
static size_t compact_pick(struct ariel_store *s, const struct seg_list *l,
                           struct ariel_segment **in)
{
    uint64_t wal_min = wal_min_seq(s->root), small = (uint64_t)s->segment_rows / 2;
    int64_t now_hour = hour_of(strm_now_ms());
    size_t nc = 0, got = 0;
    for (size_t i = 0; i < l->n; i++) {
        struct ariel_segment *g = l->v[i];
        if (g->rows < small && g->seq_hi < wal_min && !atomic_load(&g->bad) &&
            hour_of(g->min_time) == hour_of(g->max_time))
            in[nc++] = g;
    }
    qsort(in, nc, sizeof *in, cand_cmp);
    for (size_t i = 0; i < nc && got == 0;) {
        size_t j = i;
        while (j < nc && hour_of(in[j]->min_time) == hour_of(in[i]->min_time) &&
               in[j]->bucket == in[i]->bucket)
            j++;
        bool closed = now_hour - hour_of(in[i]->min_time) >= 2;
        int tier = -1; /* -1: any */
        if (!closed) {
            int count[32] = {0};
            for (size_t k = i; k < j; k++)
                if (++count[size_tier(in[k]->rows)] >= s->compact_min && tier < 0)
                    tier = size_tier(in[k]->rows);
        }
        if (closed || tier >= 0) {
            uint64_t rows = 0;
            for (size_t k = i; k < j; k++) {
                if (tier >= 0 && size_tier(in[k]->rows) != tier) continue;
                if (rows + in[k]->rows > (uint64_t)s->segment_rows) break;
                rows += in[k]->rows;
                in[got++] = in[k]; /* got <= k: in place */
            }
            if (got < 2) got = 0;
        }
        i = j;
    }
    return got;
}

/* Merges the n segments in (one partition); publishes the result and deletes the inputs. */
static int compact_merge(struct ariel_store *s, struct ariel_segment **in, size_t n)
{
    struct compact_rows cr = {0};
    struct ariel_scan_ctx *ctx = NULL;
    struct sort_key *keys = NULL;
    const uint8_t **rows = NULL;
    uint32_t *lens = NULL;
    uint64_t *repl = NULL;
    size_t nrepl = 0, maxrepl = 0;
    struct ariel_segment *out = NULL;
    struct seg_list *old = NULL, *nl = NULL;
    int rc = STRM_ERR_NOMEM, stop = 0;

    struct ariel_seg_meta m = {.min_seq = UINT64_MAX, .bucket = in[0]->bucket};
    m.seq_lo = UINT64_MAX;
    for (size_t i = 0; i < n; i++)
        maxrepl += 1 + in[i]->nreplaces;
    if (!(ctx = ariel_scan_ctx_new()) || !(repl = malloc(sizeof *repl * maxrepl))) goto out;
    for (size_t i = 0; i < n; i++) {
        struct ariel_segment *g = in[i];
        size_t before = cr.n;
        rc = ariel_seg_scan(g, ctx, INT64_MIN, INT64_MAX, s->cw.colset, NULL, 0, compact_collect,
                            &cr, &stop);
        if (rc == 0 && cr.rc) rc = cr.rc;
        if (rc == 0 && cr.n - before != g->rows) rc = STRM_ERR_CORRUPT;
        if (rc != 0) goto out; /* a damaged input stays as it is: its readable rows too */
        repl[nrepl++] = g->id;
        for (uint32_t k = 0; k < g->nreplaces; k++)
            repl[nrepl++] = g->replaces[k];
        m.seq_lo = g->seq_lo < m.seq_lo ? g->seq_lo : m.seq_lo;
        m.seq_hi = g->seq_hi > m.seq_hi ? g->seq_hi : m.seq_hi;
        m.min_seq = g->min_seq < m.min_seq ? g->min_seq : m.min_seq;
        m.max_seq = g->max_seq > m.max_seq ? g->max_seq : m.max_seq;
    }
    rc = STRM_ERR_NOMEM;
    if (cr.n > UINT32_MAX || !(keys = malloc(sizeof *keys * cr.n * 2)) ||
        !(rows = malloc(sizeof *rows * cr.n)) || !(lens = malloc(sizeof *lens * cr.n)))
        goto out;
    for (size_t i = 0; i < cr.n; i++) {
        keys[i].t = ariel_row_starttime(cr.buf + cr.offs[i]);
        keys[i].idx = (uint32_t)i;
        keys[i].bucket = 0;
    }
    struct sort_key *sorted = sort_keys(keys, keys + cr.n, (uint32_t)cr.n);
    for (size_t i = 0; i < cr.n; i++) {
        uint32_t k = sorted[i].idx;
        rows[i] = cr.buf + cr.offs[k];
        lens[i] = (uint32_t)((k + 1 < cr.n ? cr.offs[k + 1] : cr.len) - cr.offs[k]);
    }
    qsort(repl, nrepl, sizeof *repl, u64_cmp);
    m.replaces = repl;
    m.nreplaces = (uint32_t)nrepl;
    m.id = m.group_first = atomic_fetch_add(&s->next_seg_id, 1);
    m.group_count = 1;
    if ((rc = ariel_seg_write(&s->cw, s->root, &m, rows, lens, (uint32_t)cr.n, &out)) != 0)
        goto out;

    /* publish, unless retention took an input meanwhile: then the merge is void */
    pthread_mutex_lock(&s->lock);
    old = s->segs;
    bool all = true;
    for (size_t i = 0; i < n && all; i++)
        all = seg_in(old->v, old->n, in[i]);
    if (all && (nl = list_edit(old, in, n, &out, 1))) s->segs = nl;
    pthread_mutex_unlock(&s->lock);
    if (!nl) {
        if (unlink(out->path) != 0)
            LOG_WARN(ARIEL_COMP, "cannot delete %s: %s", out->path, strerror(errno));
        ariel_seg_unref(out);
        rc = all ? STRM_ERR_NOMEM : 0;
        goto out;
    }
    list_unref(old);
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", out->path);
    char *slash = strrchr(dir, '/');
    if (slash) *slash = 0;
    for (size_t i = 0; i < n; i++)
        if (unlink(in[i]->path) != 0 && errno != ENOENT)
            LOG_WARN(ARIEL_COMP, "compaction: cannot delete %s: %s (the merged segment lists it)",
                     in[i]->path, strerror(errno));
    /* durable before the merged segment can be merged again: its list then covers them */
    if (ariel_fsync_dir(dir) != 0)
        LOG_WARN(ARIEL_COMP, "compaction: fsync of %s: %s", dir, strerror(errno));
    LOG_DEBUG(ARIEL_COMP, "compaction: %zu segments, %zu rows -> %s", n, cr.n, out->path);
    if (s->stats) {
        STRM_STAT_ADD(s->stats, store_compactions, 1);
        STRM_STAT_ADD(s->stats, store_compacted_segments, n);
        STRM_STAT_ADD(s->stats, store_compacted_rows, cr.n);
    }
    rc = 1;
out:
    if (rc < 0)
        LOG_WARN(ARIEL_COMP, "compaction of %zu segments from %s failed: %s", n, in[0]->path,
                 strm_err_str(rc));
    ariel_scan_ctx_free(ctx);
    free(cr.buf);
    free(cr.offs);
    free(keys);
    free(rows);
    free(lens);
    free(repl);
    return rc;
}

/* One merge if there is one to make: 1 merged, 0 nothing to do, < 0 an error. */
static int compact_once(struct ariel_store *s)
{
    struct seg_list *l;
    struct ariel_segment **in;
    int rc = 0;
    pthread_mutex_lock(&s->lock);
    l = s->segs;
    atomic_fetch_add_explicit(&l->refs, 1, memory_order_relaxed);
    pthread_mutex_unlock(&s->lock);
    if (!(in = malloc(sizeof *in * (l->n ? l->n : 1)))) {
        list_unref(l);
        return STRM_ERR_NOMEM;
    }
    size_t n = compact_pick(s, l, in);
    if (n >= 2) rc = compact_merge(s, in, n);
    free(in);
    list_unref(l); /* the inputs' last references: their descriptors close */
    return rc;
}

int ariel_compact(struct ariel_store *s)
{
    int rc = 0, merged = 0;
    if (s->read_only || !s->cw_ready) return 0; /* compaction off */
    pthread_mutex_lock(&s->compact_lock);
    while (!atomic_load(&s->compactor_stop) && (rc = compact_once(s)) > 0)
        merged++;
    pthread_mutex_unlock(&s->compact_lock);
    return rc < 0 ? rc : merged;
}

static void *compactor_main(void *arg)
{
    struct ariel_store *s = arg;
    /* background work: ingest and searches come first */
    if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 10) != 0)
        LOG_DEBUG(ARIEL_COMP, "compactor: cannot lower priority: %s", strerror(errno));
    pthread_mutex_lock(&s->lock);
    while (!atomic_load(&s->compactor_stop)) {
        struct timespec ts = strm_deadline(CLOCK_REALTIME, s->compact_interval_ms);
        pthread_cond_timedwait(&s->compact_cv, &s->lock, &ts);
        if (atomic_load(&s->compactor_stop)) break;
        pthread_mutex_unlock(&s->lock);
        (void)ariel_compact(s);
        pthread_mutex_lock(&s->lock);
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

/* ---------------------------------------------------------------- scan */

static void mask_event(struct strm_event *ev, const int *drop, int ndrop)
{
    for (int k = 0; k < ndrop; k++) {
        const struct strm_col_def *d = &strm_event_cols[drop[k]];
        memset((char *)ev + d->offset, 0,
               d->type == STRM_T_STR ? sizeof(struct strm_str) : d->width);
    }
}

/* Rows of a memtable snapshot (its first n published rows) in [tmin, tmax]; with batch_fn,
 * in batches decoded into evbuf (ARIEL_SCAN_BATCH rows). */
static int scan_memtable(struct ariel_memtable *mt, uint64_t n, int64_t tmin, int64_t tmax,
                         const int *drop, int ndrop, ariel_row_fn fn, ariel_batch_fn batch_fn,
                         struct strm_event *evbuf, void *arg, int *stop)
{
    uint64_t seen = 0;
    size_t nb = 0;
    /* head is read only when rows were published: it was linked before they were */
    for (struct mt_chunk *c = n ? mt->head : NULL; c && seen < n && !*stop;
         c = atomic_load_explicit(&c->next, memory_order_acquire)) {
        uint32_t cn = atomic_load_explicit(&c->nrows, memory_order_acquire);
        size_t off = 0;
        for (uint32_t r = 0; r < cn && seen < n && !*stop; r++, seen++) {
            struct strm_event one, *ev = batch_fn ? &evbuf[nb] : &one;
            size_t len = ariel_row_decode(c->data + off, c->cap - off, NULL, ev);
            if (!len) return STRM_ERR_CORRUPT; /* cannot happen: the writer encoded it */
            off += len;
            if (ev->starttime < tmin || ev->starttime > tmax) continue;
            mask_event(ev, drop, ndrop);
            if (!batch_fn)
                *stop = fn(ev, arg);
            else if (++nb == ARIEL_SCAN_BATCH) {
                nb = 0;
                *stop = batch_fn(evbuf, ARIEL_SCAN_BATCH, arg);
            }
        }
    }
    if (nb && !*stop) *stop = batch_fn(evbuf, nb, arg);
    return 0;
}

int ariel_scan(struct ariel_store *s, int64_t tmin, int64_t tmax, uint64_t colmask, ariel_row_fn fn,
               void *arg)
{
    struct ariel_scan_opts o = {
        .tmin = tmin, .tmax = tmax, .colmask = colmask, .fn = fn, .arg = arg};
    return ariel_scan_ex(s, &o);
}

/* A segment found damaged: counted once per store (the segment logged it already). */
static void note_corrupt(struct ariel_store *s, struct ariel_segment *g)
{
    if (atomic_exchange(&g->counted, true)) return;
    atomic_fetch_add(&s->corrupt_segments, 1);
    if (s->stats) STRM_STAT_ADD(s->stats, store_corrupt_segments, 1);
}

struct ariel_snapshot {
    struct seg_list *l;
    struct ariel_memtable *mt, *imm[ARIEL_IMM_MAX]; /* imm: oldest first, all their rows */
    uint64_t n;
    int nimm;
};

struct ariel_snapshot *ariel_snapshot_take(struct ariel_store *s)
{
    struct ariel_snapshot *sn = malloc(sizeof *sn);
    if (!sn) return NULL;
    pthread_mutex_lock(&s->lock);
    sn->l = s->segs;
    atomic_fetch_add_explicit(&sn->l->refs, 1, memory_order_relaxed);
    sn->mt = s->mt;
    atomic_fetch_add_explicit(&sn->mt->refs, 1, memory_order_relaxed);
    sn->n = s->mt_rows;
    sn->nimm = s->nimm;
    for (int k = 0; k < s->nimm; k++) {
        sn->imm[k] = s->imm[k];
        atomic_fetch_add_explicit(&sn->imm[k]->refs, 1, memory_order_relaxed);
    }
    pthread_mutex_unlock(&s->lock);
    return sn;
}

void ariel_snapshot_release(struct ariel_snapshot *sn)
{
    if (!sn) return;
    list_unref(sn->l);
    mt_unref(sn->mt);
    for (int k = 0; k < sn->nimm; k++)
        mt_unref(sn->imm[k]);
    free(sn);
}

static _Atomic uint64_t part_align = ARIEL_PART_ALIGN;

void ariel_set_part_align(uint32_t rows)
{
    atomic_store(&part_align, rows ? rows : ARIEL_PART_ALIGN);
}

int ariel_scan_ex(struct ariel_store *s, struct ariel_scan_opts *o)
{
    int64_t tmin = o->tmin, tmax = o->tmax;
    uint64_t colmask = o->colmask;
    ariel_row_fn fn = o->fn;
    void *arg = o->arg;
    struct ariel_scan_ctx *ctx = NULL;
    struct strm_event *evbuf = NULL;
    struct ariel_snapshot *own = NULL, *sn = o->snap;
    int drop[STRM_COL__COUNT], ndrop = 0, stop = 0, rc = 0;
    bool ctx_mem_done = false; /* the memtables were scanned first (reverse) */

    o->skipped_damaged = o->skipped_unreadable = 0;
    if (!sn && !(sn = own = ariel_snapshot_take(s))) return STRM_ERR_NOMEM;
    struct seg_list *l = sn->l;
    struct ariel_memtable *mt = sn->mt;
    uint64_t n = sn->n;
    int nparts = o->nparts > 0 ? o->nparts : 1, part = o->nparts > 0 ? o->part : 0;
    bool last_part = part == nparts - 1;
    /* parts: the rows of the segments in range, in scan order, cut in nparts runs of about
     * equal size at multiples of ARIEL_PART_ALIGN rows (whole blocks of every column but
     * the payload's); a segment may be shared, each part reading its own rows */
    uint64_t in_rows = 0, from = 0, to = UINT64_MAX, base = 0;
    uint64_t align = atomic_load_explicit(&part_align, memory_order_relaxed);
    if (nparts > 1) {
        for (size_t i = 0; i < l->n; i++)
            if (l->v[i]->max_time >= tmin && l->v[i]->min_time <= tmax) in_rows += l->v[i]->rows;
        from = in_rows * (uint64_t)part / (uint64_t)nparts / align * align;
        to = last_part ? UINT64_MAX
                       : in_rows * (uint64_t)(part + 1) / (uint64_t)nparts / align * align;
    }

    o->segments_in_range = o->skipped_minmax = o->skipped_index = o->skipped_order = 0;
    o->rows_skipped_index = o->rows_skipped_minmax = 0;
    o->counted = 0;
    /* reverse: the memtables (newest rows) first */
    if (o->reverse && last_part) {
        ctx_mem_done = true;
        for (int c = 0; c < STRM_COL__COUNT; c++)
            if (!(colmask & (1ull << c))) drop[ndrop++] = c;
        if (o->batch_fn && !(evbuf = malloc(ARIEL_SCAN_BATCH * sizeof *evbuf))) {
            rc = STRM_ERR_NOMEM;
            goto out;
        }
        if ((rc = scan_memtable(mt, n, tmin, tmax, drop, ndrop, fn, o->batch_fn, evbuf, arg,
                                &stop)) != 0)
            goto out;
        for (int k = sn->nimm - 1; k >= 0 && !stop; k--)
            if ((rc = scan_memtable(sn->imm[k], sn->imm[k]->rows, tmin, tmax, drop, ndrop, fn,
                                    o->batch_fn, evbuf, arg, &stop)) != 0)
                goto out;
    }
    for (size_t i0 = 0; i0 < l->n && !stop; i0++) {
        size_t i = o->reverse ? l->n - 1 - i0 : i0;
        struct ariel_segment *g = l->v[i];
        if (g->max_time < tmin || g->min_time > tmax) continue;
        uint64_t lo = base > from ? 0 : from - base;
        uint64_t hi = to <= base ? 0 : to - base < g->rows ? to - base : g->rows;
        bool owner = base >= from && base < to; /* counted by the part with its first row */
        base += g->rows;
        if (lo >= hi) continue;
        if (owner) o->segments_in_range++;
        if (o->keep_segment && !o->keep_segment(g->min_time, g->max_time, o->karg)) {
            if (owner) o->skipped_order++;
            continue;
        }
        if (!ctx && (!(ctx = ariel_scan_ctx_new()) || ariel_scan_ctx_batch(ctx, o->batch_fn))) {
            rc = STRM_ERR_NOMEM;
            goto out;
        }
        ariel_scan_ctx_order(ctx, o->reverse, o->keep_segment, o->karg);
        ariel_scan_ctx_rows(ctx, lo, hi);
        ariel_scan_ctx_count(ctx, o->count_only);
        ariel_scan_ctx_vec(ctx, o->vec_fn, o->vec_cols, o->nvec);
        ariel_scan_ctx_distinct(ctx, o->distinct_fn, o->distinct_col);
        if (o->npreds > 0) {
            int why = ariel_seg_excluded(g, ctx, o->preds, o->npreds);
            if (why == 1 && owner) o->skipped_minmax++;
            if (why == 2 && owner) o->skipped_index++;
            if (why) continue;
        }
        rc = ariel_seg_scan(g, ctx, tmin, tmax, colmask, o->preds, o->npreds, fn, arg, &stop);
        ariel_scan_ctx_skips(ctx, &o->rows_skipped_index, &o->rows_skipped_minmax);
        o->counted += ariel_scan_ctx_counted(ctx);
        if (rc == STRM_ERR_NOMEM) goto out;
        if (rc == STRM_ERR_CORRUPT) {
            o->skipped_damaged++;
            note_corrupt(s, g);
        } else if (rc != 0) {
            o->skipped_unreadable++;
        }
        rc = 0; /* a damaged or unreadable segment was logged: go on with the others */
    }
    if (!last_part || ctx_mem_done) goto out;

    for (int c = 0; c < STRM_COL__COUNT; c++)
        if (!(colmask & (1ull << c))) drop[ndrop++] = c;
    if (o->batch_fn && !(evbuf = malloc(ARIEL_SCAN_BATCH * sizeof *evbuf))) {
        rc = STRM_ERR_NOMEM;
        goto out;
    }
    /* the memtables queued for the flusher (older rows), then the active one */
    for (int k = 0; k < sn->nimm && !stop; k++)
        if ((rc = scan_memtable(sn->imm[k], sn->imm[k]->rows, tmin, tmax, drop, ndrop, fn,
                                o->batch_fn, evbuf, arg, &stop)) != 0)
            goto out;
    if (!stop)
        rc = scan_memtable(mt, n, tmin, tmax, drop, ndrop, fn, o->batch_fn, evbuf, arg, &stop);
out:
    free(evbuf);
    ariel_scan_ctx_free(ctx);
    ariel_snapshot_release(own);
    return stop ? stop : rc;
}

uint64_t ariel_estimate_rows(struct ariel_store *s, int64_t tmin, int64_t tmax)
{
    uint64_t n = 0;
    pthread_mutex_lock(&s->lock);
    const struct seg_list *l = s->segs;
    for (size_t i = 0; i < l->n; i++) {
        const struct ariel_segment *g = l->v[i];
        if (g->max_time >= tmin && g->min_time <= tmax) n += g->rows;
    }
    n += s->mt_rows;
    for (int k = 0; k < s->nimm; k++)
        n += s->imm[k]->rows;
    pthread_mutex_unlock(&s->lock);
    return n;
}

void ariel_info_get(struct ariel_store *s, struct ariel_info *info)
{
    pthread_mutex_lock(&s->lock);
    info->rows_segments = s->segs->rows;
    info->segments = s->segs->n;
    info->bytes_segments = s->segs->bytes;
    info->rows_memtable = s->mt_rows;
    for (int k = 0; k < s->nimm; k++)
        info->rows_memtable += s->imm[k]->rows;
    info->bytes_wal = s->wal_bytes;
    info->partitions = 0;
    info->bytes_index = info->bytes_directory = 0;
    info->merged_segments = info->payload_dicts = 0;
    uint32_t dicts[64]; /* distinct ids, counted up to 64 (then "64 or more") */
    size_t ndicts = 0;
    /* one segment per hour per flush, list sorted by min_time: count the hour changes */
    for (size_t i = 0; i < s->segs->n; i++) {
        const struct ariel_segment *g = s->segs->v[i];
        if (i == 0 || hour_of(g->min_time) != hour_of(s->segs->v[i - 1]->min_time))
            info->partitions++;
        uint64_t data = g->file_size; /* where data starts: after header and directory */
        for (uint32_t k = 0; k < g->ncols; k++) {
            const struct ariel_seg_col *c = &g->cols[k];
            if (c->type == ARIEL_IDX_TYPE && c->id != ARIEL_REPL_ID) info->bytes_index += c->csize;
            if (c->offset < data) data = c->offset;
            if (c->flags & ARIEL_COLF_DICT) {
                bool seen = false;
                for (size_t d = 0; d < ndicts && !seen; d++)
                    seen = dicts[d] == (uint32_t)c->reserved;
                if (!seen && ndicts < 64) dicts[ndicts++] = (uint32_t)c->reserved;
            }
        }
        info->bytes_directory += data;
        info->merged_segments += g->nreplaces > 0;
    }
    pthread_mutex_unlock(&s->lock);
    info->payload_dicts = ndicts;
    info->corrupt_segments = atomic_load(&s->corrupt_segments);
}

void ariel_info_columns(struct ariel_store *s, struct ariel_col_info cols[STRM_COL__COUNT])
{
    struct seg_list *l;
    memset(cols, 0, sizeof(struct ariel_col_info) * STRM_COL__COUNT);
    pthread_mutex_lock(&s->lock);
    l = s->segs;
    atomic_fetch_add_explicit(&l->refs, 1, memory_order_relaxed);
    pthread_mutex_unlock(&s->lock);
    for (size_t i = 0; i < l->n; i++) {
        const struct ariel_segment *g = l->v[i];
        for (uint32_t k = 0; k < g->ncols; k++) {
            const struct ariel_seg_col *c = &g->cols[k];
            if (c->id >= STRM_COL__COUNT) continue;
            cols[c->id].raw_bytes += c->rawsize;
            cols[c->id].stored_bytes += c->csize;
            cols[c->id].segments_by_enc[c->enc < ARIEL_ENC__COUNT ? c->enc : 0]++;
            if ((c->flags & ARIEL_COLF_BLOCKS) || c->enc == ARIEL_ENC_STRBLOCKS)
                cols[c->id].segments_blocked++;
        }
    }
    list_unref(l);
}

/* ---------------------------------------------------------------- open and recovery */

struct load_state {
    struct ariel_store *s;
    struct ariel_segment **segs;
    size_t n, cap;
    uint64_t *bad_ids; /* files named seg-<id>.seg whose header could not be read */
    size_t nbad, badcap;
    uint64_t max_id;
    uint64_t nfiles; /* .seg files seen: the read-only open's "did it change" check */
    uint64_t *repl;  /* ids that compacted segments replace, sorted */
    size_t nrepl;
    int rc;
    char *err;
    size_t errlen;
};

static int push_u64(uint64_t **v, size_t *n, size_t *cap, uint64_t x)
{
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 64;
        uint64_t *nv = realloc(*v, sizeof *nv * nc);
        if (!nv) return -1;
        *v = nv;
        *cap = nc;
    }
    (*v)[(*n)++] = x;
    return 0;
}

static bool parse_seg_name(const char *name, uint64_t *id, bool *tmp)
{
    size_t l = strlen(name);
    char *end;
    if (strncmp(name, "seg-", 4) != 0 || l < 4 + 16 + 4) return false;
    if (strcmp(name + 20, ".seg") == 0)
        *tmp = false;
    else if (strcmp(name + 20, ".seg.tmp") == 0)
        *tmp = true;
    else
        return false;
    *id = strtoull(name + 4, &end, 16);
    return end == name + 20;
}

/* Walks events/YYYY/MM/DD/HH; loads segments (or only counts them when ls->s is NULL). */
static void walk(struct load_state *ls, const char *dir, int depth, bool load)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char p[PATH_MAX];
    if (!d) {
        if (errno != ENOENT)
            LOG_WARN(ARIEL_COMP, "cannot read directory %s: %s", dir, strerror(errno));
        return;
    }
    while ((de = readdir(d)) && ls->rc == 0) {
        if (de->d_name[0] == '.') continue;
        if ((size_t)snprintf(p, sizeof p, "%s/%s", dir, de->d_name) >= sizeof p) continue;
        if (depth < 4) {
            walk(ls, p, depth + 1, load);
            continue;
        }
        uint64_t id;
        bool tmp;
        if (!parse_seg_name(de->d_name, &id, &tmp)) continue;
        if (tmp) {
            if (load && !ls->s->read_only && unlink(p) == 0)
                LOG_INFO(ARIEL_COMP, "deleted unfinished segment %s", p);
            continue;
        }
        ls->nfiles++;
        ls->max_id = id > ls->max_id ? id : ls->max_id;
        if (!load) continue;
        struct ariel_segment *g;
        char err[PATH_MAX + 128];
        int rc = ariel_seg_load(p, &g, err, sizeof err);
        if (rc == STRM_ERR_NOMEM) {
            ls->rc = rc;
            snprintf(ls->err, ls->errlen, "%s", err);
            break;
        }
        if (rc != 0 && ls->s->read_only && access(p, F_OK) != 0 && errno == ENOENT) {
            ls->rc = STRM_ERR_BUSY; /* compaction or retention deleted it meanwhile */
            break;
        }
        if (rc != 0) {
            LOG_WARN(ARIEL_COMP, "%s; segment skipped", err);
            if (push_u64(&ls->bad_ids, &ls->nbad, &ls->badcap, id) != 0) ls->rc = STRM_ERR_NOMEM;
            continue;
        }
        if (ls->n == ls->cap) {
            size_t nc = ls->cap ? ls->cap * 2 : 64;
            struct ariel_segment **nv = realloc(ls->segs, sizeof *nv * nc);
            if (!nv) {
                ariel_seg_unref(g);
                ls->rc = STRM_ERR_NOMEM;
                break;
            }
            ls->segs = nv;
            ls->cap = nc;
        }
        ls->segs[ls->n++] = g;
    }
    closedir(d);
}

static int seg_cmp_id(const void *a, const void *b)
{
    uint64_t x = (*(struct ariel_segment *const *)a)->id,
             y = (*(struct ariel_segment *const *)b)->id;
    return x < y ? -1 : x > y;
}

static bool id_in(const uint64_t *v, size_t n, uint64_t id)
{
    for (size_t i = 0; i < n; i++)
        if (v[i] == id) return true;
    return false;
}

/* The lowest first seq among the WAL file names (UINT64_MAX: no WAL file). */
static uint64_t wal_min_seq(const char *root)
{
    char dir[PATH_MAX + 8];
    uint64_t min = UINT64_MAX;
    DIR *d;
    struct dirent *de;
    snprintf(dir, sizeof dir, "%s/wal", root);
    if (!(d = opendir(dir))) return min;
    while ((de = readdir(d))) {
        char *end;
        if (strncmp(de->d_name, "wal-", 4) != 0) continue;
        uint64_t v = strtoull(de->d_name + 4, &end, 16);
        if (end == de->d_name + 20 && strcmp(end, ".log") == 0 && v < min) min = v;
    }
    closedir(d);
    return min;
}

/*
 * Segments that a compacted segment replaces (a crash came between its rename and their
 * deletion) are deleted, or ignored when read-only: their rows are in the compacted one.
 * Leaves the sorted replaced ids in ls->repl: they count as present members of their groups.
 */
static void drop_replaced(struct load_state *ls)
{
    size_t n = 0, keep = 0;
    for (size_t i = 0; i < ls->n; i++)
        n += ls->segs[i]->nreplaces;
    if (!n) return;
    if (!(ls->repl = malloc(sizeof *ls->repl * n))) {
        ls->rc = STRM_ERR_NOMEM;
        return;
    }
    for (size_t i = 0; i < ls->n; i++)
        for (uint32_t k = 0; k < ls->segs[i]->nreplaces; k++)
            ls->repl[ls->nrepl++] = ls->segs[i]->replaces[k];
    qsort(ls->repl, ls->nrepl, sizeof *ls->repl, u64_cmp);
    for (size_t i = 0; i < ls->n; i++) {
        struct ariel_segment *g = ls->segs[i];
        if (!bsearch(&g->id, ls->repl, ls->nrepl, sizeof *ls->repl, u64_cmp)) {
            ls->segs[keep++] = g;
            continue;
        }
        if (ls->s->read_only)
            LOG_DEBUG(ARIEL_COMP, "segment %s: compacted, ignored", g->path);
        else if (unlink(g->path) == 0)
            LOG_INFO(ARIEL_COMP, "deleted segment %s: a compacted segment holds its rows", g->path);
        else
            LOG_WARN(ARIEL_COMP, "cannot delete %s: %s", g->path, strerror(errno));
        ariel_seg_unref(g);
    }
    ls->n = keep;
}

/*
 * Keeps the segments of complete groups (a member counts as present when its file exists,
 * even if unreadable); drops the rest. A group missing members whose rows are no longer in
 * the WAL (wal_min above its seq_lo) was not interrupted: its flush finished and the WAL was
 * dropped, and the members were removed on purpose since (retention, fsck quarantine). Its
 * other members are kept: deleting them would lose rows nothing else holds. Returns the
 * covered sequence number.
 */
static uint64_t resolve_groups(struct load_state *ls, uint64_t wal_min)
{
    uint64_t covered = 0;
    size_t keep = 0;
    if (ls->n) qsort(ls->segs, ls->n, sizeof *ls->segs, seg_cmp_id);
    drop_replaced(ls);
    for (size_t i = 0; i < ls->n;) {
        struct ariel_segment *g = ls->segs[i];
        size_t j = i;
        uint32_t present = 0;
        while (j < ls->n && ls->segs[j]->group_first == g->group_first &&
               ls->segs[j]->group_count == g->group_count)
            j++;
        for (uint64_t id = g->group_first; id < g->group_first + g->group_count; id++) {
            bool found =
                id_in(ls->bad_ids, ls->nbad, id) ||
                (ls->nrepl && bsearch(&id, ls->repl, ls->nrepl, sizeof *ls->repl, u64_cmp));
            for (size_t k = i; k < j && !found; k++)
                found = ls->segs[k]->id == id;
            present += found;
        }
        if (present == g->group_count || wal_min == UINT64_MAX || wal_min > g->seq_lo) {
            for (size_t k = i; k < j; k++) {
                covered = ls->segs[k]->seq_hi > covered ? ls->segs[k]->seq_hi : covered;
                ls->segs[keep++] = ls->segs[k];
            }
        } else {
            for (size_t k = i; k < j; k++) {
                if (ls->s->read_only) {
                    LOG_DEBUG(ARIEL_COMP, "segment %s: flush in progress, ignored",
                              ls->segs[k]->path);
                } else if (unlink(ls->segs[k]->path) == 0) {
                    LOG_INFO(ARIEL_COMP, "deleted segment %s of an interrupted flush",
                             ls->segs[k]->path);
                } else {
                    LOG_WARN(ARIEL_COMP, "cannot delete %s: %s", ls->segs[k]->path,
                             strerror(errno));
                }
                ariel_seg_unref(ls->segs[k]);
            }
        }
        i = j;
    }
    ls->n = keep;
    return covered;
}

struct replay_state {
    struct ariel_memtable *mt;
    uint64_t covered, last_seq;
};

static int replay_record(uint64_t first_seq, uint32_t rows, const uint8_t *data, size_t len,
                         void *arg)
{
    struct replay_state *rs = arg;
    struct strm_event ev;
    size_t pos = 0;
    uint64_t seq;

    /* validate the whole record first: it is applied entirely or not at all */
    for (uint32_t i = 0; i < rows; i++) {
        size_t n = ariel_row_decode(data + pos, len - pos, &seq, &ev);
        if (!n || seq != first_seq + i) return STRM_ERR_CORRUPT;
        pos += n;
    }
    if (pos != len) return STRM_ERR_CORRUPT;
    pos = 0;
    for (uint32_t i = 0; i < rows; i++) {
        size_t n = ariel_row_decode(data + pos, len - pos, &seq, &ev);
        if (seq > rs->covered && seq > rs->last_seq) {
            uint8_t *p = mt_reserve(rs->mt, n);
            if (!p) return STRM_ERR_NOMEM;
            memcpy(p, data + pos, n);
            if (mt_note_len(rs->mt, rs->mt->rows, n, ev.starttime) != 0) return STRM_ERR_NOMEM;
            rs->mt->tail->used += n;
            rs->mt->tail->pend++;
            rs->mt->bytes += n;
            mt_commit(rs->mt, rs->mt->tail, 1);
            rs->last_seq = seq;
        }
        pos += n;
    }
    return 0;
}

static void load_state_free(struct load_state *ls)
{
    for (size_t i = 0; i < ls->n; i++)
        ariel_seg_unref(ls->segs[i]);
    free(ls->segs);
    free(ls->bad_ids);
    free(ls->repl);
    memset(ls, 0, sizeof *ls);
}

/* One attempt at reading the store's state. STRM_ERR_BUSY: a writer changed it meanwhile. */
static int recover(struct ariel_store *s, char *err, size_t errlen)
{
    struct load_state ls = {.s = s, .err = err, .errlen = errlen};
    struct load_state again = {.s = s};
    struct replay_state rs = {0};
    char events[PATH_MAX + 16];
    uint64_t wal_bytes = 0, first_seen, covered, max_seq = 0, wal_min;
    int rc;

    /* WAL names before segments: a flush that ends in between leaves a partial group with
     * its WAL still listed (treated as interrupted), never the reverse */
    wal_min = wal_min_seq(s->root);
    snprintf(events, sizeof events, "%s/%s", s->root, ariel_table_dir(s->table));
    walk(&ls, events, 0, true);
    if ((rc = ls.rc) != 0) goto fail;
    covered = resolve_groups(&ls, wal_min);
    if ((rc = ls.rc) != 0) {
        snprintf(err, errlen, "ariel: out of memory");
        goto fail;
    }
    if (!(rs.mt = mt_new())) {
        rc = STRM_ERR_NOMEM;
        goto fail;
    }
    rs.covered = covered;
    rc = ariel_wal_replay(s->root, s->read_only, replay_record, &rs, &wal_bytes, &first_seen, err,
                          errlen);
    if (rc != 0) goto fail;
    if (first_seen != UINT64_MAX && first_seen > covered + 1) {
        if (s->read_only) {
            rc = STRM_ERR_BUSY;
            goto fail;
        }
        LOG_WARN(ARIEL_COMP,
                 "%s: WAL starts at sequence %" PRIu64 " but segments end at %" PRIu64
                 "; rows in between are lost",
                 s->root, first_seen, covered);
    }
    if (s->read_only && first_seen == UINT64_MAX) {
        /*
         * No WAL rows: either there are none, or a flush finished and dropped the WAL after
         * our segment listing. When the WAL has rows, the gap check above already tells.
         */
        walk(&again, events, 0, false);
        if (again.nfiles != ls.nfiles || again.max_id != ls.max_id) {
            rc = STRM_ERR_BUSY;
            goto fail;
        }
    }

    for (size_t i = 0; i < ls.n; i++)
        max_seq = ls.segs[i]->max_seq > max_seq ? ls.segs[i]->max_seq : max_seq;
    max_seq = covered > max_seq ? covered : max_seq;
    max_seq = rs.last_seq > max_seq ? rs.last_seq : max_seq;
    s->next_seq = max_seq + 1;
    atomic_store(&s->next_seg_id, ls.max_id + 1);
    if (!(s->segs = list_with(NULL, ls.segs, ls.n))) {
        rc = STRM_ERR_NOMEM;
        goto fail;
    }
    ls.n = 0; /* references moved into the list */
    s->mt = rs.mt;
    s->mt->born_ms = strm_mono_ms();
    s->mt_rows = s->mt->rows;
    s->mt_bytes = s->mt->bytes;
    s->wal_bytes = wal_bytes;
    ariel_wal_init(&s->wal, s->root, s->fsync, wal_bytes);
    if (rs.mt->rows)
        LOG_INFO(ARIEL_COMP, "%s: replayed %" PRIu64 " rows from the WAL", s->root, rs.mt->rows);
    atomic_store(&s->corrupt_segments, (uint64_t)ls.nbad);
    if (s->stats && ls.nbad) STRM_STAT_ADD(s->stats, store_corrupt_segments, ls.nbad);
    load_state_free(&ls);
    return 0;
fail:
    mt_unref(rs.mt);
    load_state_free(&ls);
    return rc;
}

/* A segment writer with the store's options (block sizes, token index, dictionaries). */
static int writer_setup(struct ariel_seg_writer *w, const struct ariel_options *opt,
                        enum strm_table table)
{
    int rc = ariel_seg_writer_init(w, ZSTD_LEVEL, table);
    if (rc != 0) return rc;
    if (opt->strblock_min_bytes) w->strblock_min = w->fixblock_min = opt->strblock_min_bytes;
    if (opt->strblock_rows)
        w->strblock_rows = w->fixblock_rows = w->tokblock_rows = opt->strblock_rows;
    w->token_index = !opt->no_token_index;
    w->payload_dict = !opt->no_payload_dict;
    if (opt->dict_block_bytes) w->dict_block = opt->dict_block_bytes;
    w->dict_form = opt->payload_dict_form;
    return 0;
}

/*
 * Every segment keeps its file open (scans read through it even after compaction or
 * retention deleted the file), so a big store needs more descriptors than the usual soft
 * limit of 1024: raise it to the hard limit, once per process.
 */
static void raise_fd_limit(void)
{
    static atomic_flag done = ATOMIC_FLAG_INIT;
    struct rlimit rl;
    if (atomic_flag_test_and_set(&done) || getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            LOG_WARN(ARIEL_COMP, "cannot raise the open-file limit: %s", strerror(errno));
    }
}

int ariel_open(const struct ariel_options *opt, struct ariel_store **out, char *err, size_t errlen)
{
    struct ariel_store *s;
    char p[PATH_MAX + 16];
    struct stat st;
    int rc;

    *out = NULL;
    if (!opt->dir || !opt->dir[0] || strlen(opt->dir) >= PATH_MAX - 64) {
        snprintf(err, errlen, "ariel: no or too long store directory");
        return STRM_ERR_INVAL;
    }
    if (!(s = calloc(1, sizeof *s))) {
        snprintf(err, errlen, "ariel: out of memory");
        return STRM_ERR_NOMEM;
    }
    snprintf(s->root, sizeof s->root, "%s", opt->dir);
    s->read_only = opt->read_only;
    s->table = opt->table == STRM_TABLE_FLOWS ? STRM_TABLE_FLOWS : STRM_TABLE_EVENTS;
    s->bucket_of = opt->bucket_of;
    s->bucket_arg = opt->bucket_arg;
    memcpy(s->bucket_days, opt->bucket_days, sizeof s->bucket_days);
    s->fsync = opt->fsync;
    s->fsync_interval_ms = opt->fsync_interval_ms > 0 ? opt->fsync_interval_ms : 1000;
    s->segment_rows = opt->segment_rows > 0 ? opt->segment_rows : 262144;
    s->segment_max_age_s = opt->segment_max_age_s > 0 ? opt->segment_max_age_s : 60;
    s->stats = opt->stats;
    s->retention_days = opt->retention_days > 0 ? opt->retention_days : 0;
    s->max_disk_percent =
        opt->max_disk_percent > 0 && opt->max_disk_percent < 100 ? opt->max_disk_percent : 0;
    s->lock_fd = -1;
    s->wal.fd = -1;
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->flush_cv, NULL);
    pthread_mutex_init(&s->compact_lock, NULL);
    pthread_cond_init(&s->compact_cv, NULL);
    s->compaction = !opt->no_compaction;
    s->idle_writer = !opt->no_idle_writer;
    s->compact_min = opt->compact_min_segments >= 2 ? opt->compact_min_segments : 4;
    s->compact_interval_ms = opt->compact_interval_ms > 0 ? opt->compact_interval_ms : 10000;
    raise_fd_limit();

    if (s->read_only) {
        if (stat(s->root, &st) != 0 || !S_ISDIR(st.st_mode)) {
            snprintf(err, errlen, "ariel: no store at %s", s->root);
            rc = STRM_ERR_IO;
            goto fail;
        }
    } else {
        snprintf(p, sizeof p, "%s/wal", s->root);
        if (ariel_mkdirs(p) != 0) {
            snprintf(err, errlen, "ariel: cannot create %s: %s", p, strerror(errno));
            rc = STRM_ERR_IO;
            goto fail;
        }
        snprintf(p, sizeof p, "%s/%s", s->root, ariel_table_dir(s->table));
        if (ariel_mkdirs(p) != 0) {
            snprintf(err, errlen, "ariel: cannot create %s: %s", p, strerror(errno));
            rc = STRM_ERR_IO;
            goto fail;
        }
        snprintf(p, sizeof p, "%s/LOCK", s->root);
        s->lock_fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (s->lock_fd < 0) {
            snprintf(err, errlen, "ariel: cannot create %s: %s", p, strerror(errno));
            rc = STRM_ERR_IO;
            goto fail;
        }
        if (flock(s->lock_fd, LOCK_EX | LOCK_NB) != 0) {
            snprintf(err, errlen, "ariel: %s is in use by another process", s->root);
            rc = STRM_ERR_BUSY;
            goto fail;
        }
        if (reserve_make(s) != 0)
            LOG_WARN(ARIEL_COMP,
                     "%s: no room for the disk-full reserve: a full disk may stall "
                     "ingest until space is freed",
                     s->root);
        mt_pool_prewarm(s->segment_rows, opt->memtable_prealloc_mb);
        s->mt_budget = mt_budget(s->segment_rows);
    }
    rc = writer_setup(&s->sw, opt, s->table);
    /* the compactor's own writer, set up as the flusher's (sw) */
    if (rc == 0 && s->compaction && !s->read_only &&
        (rc = writer_setup(&s->cw, opt, s->table)) == 0)
        s->cw_ready = true;
    /* its buffers grow when first used: only a flush that has pieces to share pays them */
    if (rc == 0 && !s->read_only && (rc = writer_setup(&s->sw2, opt, s->table)) == 0)
        s->sw2_ready = true;
    if (rc != 0 || (!s->read_only &&
                    (rc = ariel_seg_writer_reserve(&s->sw, (uint32_t)s->segment_rows)) != 0)) {
        snprintf(err, errlen, "ariel: out of memory");
        goto fail;
    }
    for (int attempt = 0;; attempt++) {
        rc = recover(s, err, errlen);
        if (rc != STRM_ERR_BUSY) break;
        if (attempt + 1 == RO_ATTEMPTS) {
            snprintf(err, errlen, "ariel: %s kept changing while being read", s->root);
            break;
        }
        usleep((useconds_t)(1000 * (1 + attempt % 10)));
    }
    if (rc != 0) goto fail;
    if (!s->read_only) {
        if (pthread_create(&s->flusher, NULL, flusher_main, s) == 0) {
            pthread_setname_np(s->flusher, "ariel-flush");
            s->flusher_started = true;
        } else {
            LOG_WARN(ARIEL_COMP, "no segment writer thread: segments are written inline");
        }
        if (s->compaction && pthread_create(&s->compactor, NULL, compactor_main, s) == 0) {
            pthread_setname_np(s->compactor, "ariel-compact");
            s->compactor_started = true;
        } else if (s->compaction) {
            LOG_WARN(ARIEL_COMP, "no compactor thread: small segments are not merged");
        }
        /* interval fsyncs off the appending thread: it never waits for the disk */
        if (s->fsync == STRM_FSYNC_INTERVAL &&
            ariel_wal_syncer_start(&s->wal, s->fsync_interval_ms) != 0)
            LOG_WARN(ARIEL_COMP, "no WAL syncer thread: the writer fsyncs the WAL itself");
    }
    *out = s;
    return 0;
fail:
    if (s->lock_fd >= 0) close(s->lock_fd);
    ariel_seg_writer_free(&s->sw);
    if (s->cw_ready) ariel_seg_writer_free(&s->cw);
    if (s->sw2_ready) ariel_seg_writer_free(&s->sw2);
    pthread_cond_destroy(&s->flush_cv);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->compact_cv);
    pthread_mutex_destroy(&s->compact_lock);
    free(s);
    return rc;
}

void ariel_close(struct ariel_store *s)
{
    if (!s) return;
    if (s->compactor_started) { /* first: it may be in the middle of a merge */
        pthread_mutex_lock(&s->lock);
        atomic_store(&s->compactor_stop, true);
        pthread_cond_broadcast(&s->compact_cv);
        pthread_mutex_unlock(&s->lock);
        pthread_join(s->compactor, NULL);
    }
    if (!s->read_only) {
        /* Flush, but do not wait forever on a disk that stays full: what is not in segments
         * is in the WAL and comes back at the next open. */
        if (!s->flusher_started || wait_imm_done(s, 15000))
            (void)flush_memtable(s, s->mt, false);
        else
            LOG_WARN(ARIEL_COMP,
                     "%s: closing without a final flush (the segment writer cannot "
                     "write); the rows stay in the WAL",
                     s->root);
        if (s->flusher_started) {
            pthread_mutex_lock(&s->lock);
            s->flusher_stop = true;
            pthread_cond_broadcast(&s->flush_cv);
            pthread_mutex_unlock(&s->lock);
            pthread_join(s->flusher, NULL);
        }
        ariel_wal_close(&s->wal);
    }
    list_unref(s->segs);
    for (int k = 0; k < s->nimm; k++)
        mt_unref(s->imm[k]);
    mt_unref(s->mt);
    free(s->fl_keys);
    free(s->fl_tmp);
    ariel_flowbatch_free(s->fb);
    free(s->pack);
    free(s->fl_rows);
    free(s->fl_lens);
    ariel_seg_writer_free(&s->sw);
    if (s->cw_ready) ariel_seg_writer_free(&s->cw);
    if (s->sw2_ready) ariel_seg_writer_free(&s->sw2);
    if (s->lock_fd >= 0) close(s->lock_fd);
    pthread_cond_destroy(&s->flush_cv);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->compact_cv);
    pthread_mutex_destroy(&s->compact_lock);
    free(s);
}
