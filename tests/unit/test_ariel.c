/*
 * Unit tests for src/ariel: round trips of every column type, time pruning, column masks,
 * flush/reopen and WAL replay exactly once, kill -9 at random moments (also during flushes),
 * torn WAL tails, corrupt segments, read-only opens next to a writer, concurrent scans, and
 * injected I/O errors (RLIMIT_FSIZE makes write() fail with EFBIG, a real kernel error).
 *
 * Every row gets a unique id (held in qid); gen_event derives all other fields from it, so a
 * row read back is checked field by field against a fresh copy.
 *
 * ARIEL_BENCH=1 adds the ingest benchmark and the corpus compression figures.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <glob.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ariel/ariel.h"
#include "ariel/ariel_int.h"

#define HOUR 3600000LL
#define T0 1718000000000LL /* 2024-06-10 06:13:20 UTC */
#define ALL_COLS ((1ull << STRM_COL__COUNT) - 1)

/* ---------------------------------------------------------------- helpers */

/*
 * Checks usable in forked children too: a cmocka failure there would jump back into the
 * child's copy of the test runner, so a child prints and exits nonzero instead.
 */
static bool child_proc;
#define REQUIRE(c)                                                                                 \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            if (child_proc) {                                                                      \
                fprintf(stderr, "%s:%d: child check failed: %s\n", __FILE__, __LINE__, #c);        \
                _exit(1);                                                                          \
            }                                                                                      \
            fail_msg("%s:%d: check failed: %s", __FILE__, __LINE__, #c);                           \
        }                                                                                          \
    } while (0)

static char *make_dir(void)
{
    char *d = strdup("/tmp/ariel-test-XXXXXX");
    assert_non_null(mkdtemp(d));
    return d;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    return remove(p);
}

static void rm_dir(char *d)
{
    nftw(d, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(d);
}

static struct ariel_options opts(const char *dir)
{
    struct ariel_options o = {.dir = dir,
                              .fsync = STRM_FSYNC_NEVER,
                              .fsync_interval_ms = 100,
                              .segment_rows = 1 << 20,
                              .segment_max_age_s = 3600,
                              /* merges only where a test asks: file counts stay as written */
                              .no_compaction = true,
                              /* the pool is per process: not the product's gigabytes */
                              .memtable_prealloc_mb = 64};
    return o;
}

static struct ariel_store *open_store(const struct ariel_options *o)
{
    struct ariel_store *s = NULL;
    char err[512];
    int rc = ariel_open(o, &s, err, sizeof err);
    if (rc != 0) fprintf(stderr, "ariel_open: %s\n", err);
    REQUIRE(rc == 0);
    return s;
}

static struct strm_str dup_str(struct strm_batch *b, const char *p, size_t len)
{
    return strm_arena_strdup(&b->arena, p, len);
}

/* Deterministic event for id at time t; the variety covers every column type and edge. */
static void gen_event(struct strm_batch *b, struct strm_event *ev, uint32_t id, int64_t t)
{
    char buf[512];
    strm_event_init(ev);
    ev->starttime = t;
    ev->devicetime = id % 3 ? t - 1234 : 0;
    ev->logsourceid = id % 7;
    ev->qid = id;
    ev->eventcount = 1 + id % 4;
    ev->category = (uint16_t)(id % 1000);
    ev->highlevelcategory = (uint16_t)(id % 17);
    ev->sourceport = (uint16_t)(1024 + id);
    ev->destinationport = id % 2 ? 22 : 443;
    ev->severity = (uint8_t)(id % 11);
    ev->credibility = 5;
    ev->relevance = (uint8_t)(id % 10);
    ev->magnitude = (uint8_t)(id % 9);
    ev->protocolid = id % 2 ? 6 : 17;
    ev->facility = (uint8_t)(id % 24);
    ev->priority = id % 5 == 0 ? 255 : (uint8_t)(id % 8);
    ev->flags = (uint8_t)(id % 3);
    if (id % 2)
        strm_ip_from_v4(&ev->sourceip, 0x0a000000u | id);
    else
        for (int i = 0; i < 16; i++)
            ev->sourceip.b[i] = (uint8_t)(0x20 + i + id);
    if (id % 5) strm_ip_from_v4(&ev->destinationip, 0xc0a80001u + id % 100);
    for (int i = 0; i < 6; i++) {
        ev->sourcemac[i] = (uint8_t)(id >> (i * 4));
        ev->destinationmac[i] = id % 4 ? (uint8_t)(0xa0 + i) : 0;
    }
    int n = snprintf(buf, sizeof buf, "user%u", id % 5);
    if (id % 6) ev->username = dup_str(b, buf, (size_t)n);
    n = snprintf(buf, sizeof buf, "host-%u.example.org", id % 13);
    ev->hostname = dup_str(b, buf, (size_t)n);
    ev->appname = dup_str(b, id % 2 ? "sshd" : "kernel", id % 2 ? 4 : 6);
    n = snprintf(buf, sizeof buf, "%u", 1000 + id % 50);
    ev->procid = dup_str(b, buf, (size_t)n);
    if (id % 4 == 1) ev->msgid = dup_str(b, "ID47", 4);

    if (id % 97 == 5) {
        /* 64 KiB payload of binary bytes, NULs included; message inline and different */
        size_t len = 65536;
        char *p = strm_arena_alloc(&b->arena, len);
        for (size_t i = 0; i < len; i++)
            p[i] = (char)((i * 31 + id) & 0xff);
        memcpy(p, &id, sizeof id);
        ev->payload.p = p;
        ev->payload.len = (uint32_t)len;
        ev->message = dup_str(b, "\0bin\xff", 5);
    } else {
        n = snprintf(buf, sizeof buf,
                     "<%u>Jun 10 06:13:20 host-%u sshd[%u]: Accepted password for user%u from "
                     "10.0.%u.%u port %u ssh2 id=%u",
                     id % 191, id % 13, 1000 + id % 50, id % 5, id % 256, (id / 256) % 256,
                     1024 + id, id);
        ev->payload = dup_str(b, buf, (size_t)n);
        if (id % 10 == 3) {
            ev->message.p = NULL; /* empty */
            ev->message.len = 0;
        } else {
            const char *m = strstr(ev->payload.p, "Accepted");
            ev->message.p = m; /* a slice of the payload */
            ev->message.len = (uint32_t)(ev->payload.p + ev->payload.len - m);
        }
    }
}

static int64_t time_of(uint32_t id)
{
    return T0 + (int64_t)(id % 5) * HOUR + id; /* five hour partitions */
}

static void append_range(struct ariel_store *s, uint32_t from, uint32_t to, uint32_t per_batch)
{
    struct strm_batch *b = strm_batch_new(per_batch);
    REQUIRE(b != NULL);
    for (uint32_t id = from; id < to;) {
        strm_batch_reset(b);
        for (uint32_t k = 0; k < per_batch && id < to; k++, id++)
            gen_event(b, strm_batch_add(b), id, time_of(id));
        REQUIRE(ariel_append(s, b) == 0);
    }
    strm_batch_free(b);
}

static bool str_same(struct strm_str a, struct strm_str b)
{
    uint32_t la = a.p ? a.len : 0, lb = b.p ? b.len : 0;
    return la == lb && (la == 0 || memcmp(a.p, b.p, la) == 0);
}

/* Checks ev against a fresh gen_event for its id, for the columns in mask; others empty. */
static bool event_matches(const struct strm_event *ev, uint32_t id, uint64_t mask)
{
    static __thread struct strm_batch *b;
    struct strm_event want;
    if (!b) b = strm_batch_new(1);
    strm_batch_reset(b);
    gen_event(b, &want, id, time_of(id));
    for (int c = 0; c < STRM_COL__COUNT; c++) {
        const struct strm_col_def *d = &strm_event_cols[c];
        bool in = mask & (1ull << c);
        if (c == STRM_COL_STORAGETIME) {
            if (in != (ev->storagetime != 0)) return false;
            continue;
        }
        if (d->type == STRM_T_STR) {
            struct strm_str got = strm_event_get_str(ev, c);
            if (in ? !str_same(got, strm_event_get_str(&want, c)) : got.len != 0) return false;
        } else {
            static const uint8_t zero[16];
            const char *g = (const char *)ev + d->offset, *w = (const char *)&want + d->offset;
            if (memcmp(g, in ? w : (const char *)zero, d->width) != 0) return false;
        }
    }
    return true;
}

struct seen {
    uint32_t *count; /* per id */
    uint32_t max;
    uint64_t rows, bad, mask;
    bool check;
};

static int collect(const struct strm_event *ev, void *arg)
{
    struct seen *s = arg;
    uint32_t id = ev->qid;
    s->rows++;
    if (id >= s->max) {
        s->bad++;
        return 0;
    }
    s->count[id]++;
    if (s->check && !event_matches(ev, id, s->mask)) s->bad++;
    return 0;
}

static struct seen scan_all(struct ariel_store *s, uint32_t max, uint64_t mask, bool check)
{
    struct seen r = {
        .count = calloc(max, sizeof(uint32_t)), .max = max, .mask = mask, .check = check};
    REQUIRE(r.count != NULL);
    REQUIRE(ariel_scan(s, INT64_MIN, INT64_MAX, mask | (1ull << STRM_COL_QID), collect, &r) == 0);
    return r;
}

/* Every id in [0, n) exactly once and nothing else. */
static void assert_exactly(struct ariel_store *s, uint32_t n)
{
    struct seen r = scan_all(s, n + 1, ALL_COLS, true);
    REQUIRE(r.bad == 0);
    REQUIRE(r.rows == n);
    for (uint32_t i = 0; i < n; i++)
        REQUIRE(r.count[i] == 1);
    free(r.count);
}

static char *last_wal(const char *dir)
{
    char pat[512];
    glob_t g;
    char *r = NULL;
    snprintf(pat, sizeof pat, "%s/wal/wal-*.log", dir);
    if (glob(pat, 0, NULL, &g) == 0 && g.gl_pathc > 0) r = strdup(g.gl_pathv[g.gl_pathc - 1]);
    globfree(&g);
    return r;
}

static size_t glob_count(const char *dir, const char *rel)
{
    char pat[512];
    glob_t g;
    size_t n = 0;
    snprintf(pat, sizeof pat, "%s/%s", dir, rel);
    if (glob(pat, 0, NULL, &g) == 0) n = g.gl_pathc;
    globfree(&g);
    return n;
}

/* ---------------------------------------------------------------- tests */

static void roundtrip_all_types(void **state)
{
    char *dir = make_dir();
    struct ariel_options o = opts(dir);
    struct ariel_store *s = open_store(&o);
    const uint32_t n = 2000;

    append_range(s, 0, n, 97);
    assert_exactly(s, n); /* from the memtable */
    assert_int_equal(ariel_flush(s), 0);
    assert_exactly(s, n); /* from segments */
    append_range(s, n, n + 300, 50);
    assert_exactly(s, n + 300); /* both */
    ariel_close(s);
    s = open_store(&o);
    assert_exactly(s, n + 300);
    ariel_close(s);
    rm_dir(dir);
}

struct range_count {
    int64_t tmin, tmax;
    uint64_t rows, outside;
};

static int count_range(const struct strm_event *ev, void *arg)
{
    struct range_count *r = arg;
    r->rows++;
    if (ev->starttime < r->tmin || ev->starttime > r->tmax) r->outside++;
    return 0;
}

static void time_range_pruning(void **state)
{
    char *dir = make_dir();
    struct ariel_options o = opts(dir);
    struct ariel_store *s = open_store(&o);
    const uint32_t n = 5000;

    append_range(s, 0, n, 500);
    assert_int_equal(ariel_flush(s), 0);
    append_range(s, n, n + 500, 500); /* some in the memtable too */
    assert_int_equal(glob_count(dir, "events/*/*/*/*/seg-*.seg"), 5);

    int64_t ranges[][2] = {{T0 + HOUR + 100, T0 + 3 * HOUR + 2000},
                           {T0, T0},
                           {T0 + 4 * HOUR, T0 + 5 * HOUR},
                           {T0 - HOUR, T0 - 1},
                           {T0 + 2 * HOUR + 1000, T0 + 2 * HOUR + 1000}};
    for (size_t k = 0; k < sizeof ranges / sizeof ranges[0]; k++) {
        struct range_count r = {ranges[k][0], ranges[k][1], 0, 0};
        uint64_t want = 0;
        for (uint32_t id = 0; id < n + 500; id++)
            want += time_of(id) >= r.tmin && time_of(id) <= r.tmax;
        assert_int_equal(ariel_scan(s, r.tmin, r.tmax, 1ull << STRM_COL_STARTTIME, count_range, &r),
                         0);
        assert_int_equal(r.rows, want);
        assert_int_equal(r.outside, 0);
    }
    ariel_close(s);
    rm_dir(dir);
}

static void colmask_leaves_others_empty(void **state)
{
    char *dir = make_dir();
    struct ariel_options o = opts(dir);
    struct ariel_store *s = open_store(&o);
    uint64_t masks[] = {1ull << STRM_COL_QID, 1ull << STRM_COL_QID | 1ull << STRM_COL_MESSAGE,
                        1ull << STRM_COL_QID | 1ull << STRM_COL_SOURCEIP |
                            1ull << STRM_COL_USERNAME | 1ull << STRM_COL_DEVICETIME,
                        1ull << STRM_COL_QID | 1ull << STRM_COL_PAYLOAD};
    append_range(s, 0, 1000, 100);
    for (int pass = 0; pass < 2; pass++) {
        for (size_t k = 0; k < sizeof masks / sizeof masks[0]; k++) {
            struct seen r = scan_all(s, 1000, masks[k], true);
            assert_int_equal(r.rows, 1000);
            assert_int_equal(r.bad, 0);
            free(r.count);
        }
        assert_int_equal(ariel_flush(s), 0);
    }
    ariel_close(s);
    rm_dir(dir);
}

static void flush_then_reopen_exactly_once(void **state)
{
    char *dir = make_dir();
    struct ariel_options o = opts(dir);
    o.segment_rows = 700; /* several automatic flushes */
    struct ariel_store *s = open_store(&o);
    append_range(s, 0, 3000, 64);
    ariel_close(s);
    assert_int_equal(glob_count(dir, "wal/wal-*.log"), 0);
    s = open_store(&o);
    assert_exactly(s, 3000);
    struct ariel_info info;
    ariel_info_get(s, &info);
    assert_int_equal(info.rows_segments, 3000);
    assert_int_equal(info.rows_memtable, 0);
    assert_true(info.segments >= 5);
    assert_true(info.bytes_segments > 0);
    ariel_close(s);
    s = open_store(&o);
    assert_exactly(s, 3000);
    ariel_close(s);
    rm_dir(dir);
}

/* Runs fn in a child that leaves with _exit (no flush, no close): as a crash would. */
static void in_child(void (*fn)(const char *dir, void *arg), const char *dir, void *arg)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        child_proc = true;
        fn(dir, arg);
        _exit(0);
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static void child_append(const char *dir, void *arg)
{
    uint32_t *range = arg;
    struct ariel_options o = opts(dir);
    struct ariel_store *s = open_store(&o);
    append_range(s, range[0], range[1], range[2]);
}

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    REQUIRE(d != NULL);
    int n = 0;
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

static void child_append_interval(const char *dir, void *arg)
{
    uint32_t *range = arg;
    struct ariel_options o = opts(dir);
    o.fsync = STRM_FSYNC_INTERVAL;
    o.fsync_interval_ms = 1;
    struct ariel_store *s = open_store(&o);
    append_range(s, range[0], range[1], range[2]);
    usleep(5000); /* the syncer's rounds run while the child dies */
}

/*
 * The interval policy's WAL syncer thread (wal.c): many files rolled and dropped by
 * flushes while it syncs every millisecond; no descriptor it took outlives the store, every
 * row is there after a reopen, and after a crash of a writer that used it.
 */
static void wal_syncer_interval(void **state)
{
    (void)state;
    char *dir = make_dir();
    int fds0 = count_fds();
    struct ariel_options o = opts(dir);
    o.fsync = STRM_FSYNC_INTERVAL;
    o.fsync_interval_ms = 1;
    o.segment_rows = 700;
    struct ariel_store *s = open_store(&o);
    for (uint32_t r = 0; r < 6000; r += 150) {
        append_range(s, r, r + 150, 50);
        assert_int_equal(ariel_tick(s), 0);
        if (r % 900 == 0) usleep(2000);
    }
    ariel_close(s);
    assert_int_equal(count_fds(), fds0);
    s = open_store(&o);
    assert_exactly(s, 6000);
    ariel_close(s);
    uint32_t r1[] = {6000, 7000, 100};
    in_child(child_append_interval, dir, r1);
    s = open_store(&o);
    assert_exactly(s, 7000);
    ariel_close(s);
    assert_int_equal(count_fds(), fds0);
    rm_dir(dir);
}

/*
 * A memtable far past segment_rows (here: 5000 rows replayed from the WAL into a store of
 * 700-row segments) is written as pieces of at most segment_rows rows, by the flushing
 * thread and the helper thread at once: every row once, each piece its own segment, and
 * the pieces of one flush form one group (a reopen keeps them all).
 */
static void flush_pieces_parallel(void **state)
{
    (void)state;
    char *dir = make_dir();
    uint32_t r1[] = {0, 5000, 250};
    in_child(child_append, dir, r1); /* segment_rows 1 << 20: all 5000 rows stay in the WAL */
    struct ariel_options o = opts(dir);
    o.segment_rows = 700;
    o.no_compaction = true;
    o.no_payload_dict = true; /* a store's first flush trains the dictionary alone */
    struct ariel_store *s = open_store(&o);
    struct ariel_info info;
    ariel_info_get(s, &info);
    assert_int_equal(info.rows_memtable, 5000);
    ariel_close(s); /* the final flush */
    s = open_store(&o);
    ariel_info_get(s, &info);
    assert_int_equal(info.rows_memtable, 0);
    assert_int_equal(info.rows_segments, 5000);
    assert_true(info.segments >= 8); /* per hour of the rows, pieces of at most 700 */
    assert_exactly(s, 5000);
    ariel_close(s);
    rm_dir(dir);
}

/* ---- WAL file reuse (wal.c), on the WAL functions themselves */

struct wal_seen {
    uint64_t first[16];
    uint32_t rows[16];
    int n;
};

static int wal_note(uint64_t first_seq, uint32_t rows, const uint8_t *data, size_t len, void *arg)
{
    struct wal_seen *ws = arg;
    (void)data;
    (void)len;
    if (ws->n < 16) {
        ws->first[ws->n] = first_seq;
        ws->rows[ws->n] = rows;
    }
    ws->n++;
    return 0;
}

static void wal_put(struct ariel_wal *w, uint64_t first, uint32_t rows, size_t len)
{
    static uint8_t junk[4096];
    struct ariel_wal_piece pc = {junk, len};
    bool burnt;
    memset(junk, (int)(first & 0xff), sizeof junk);
    REQUIRE(ariel_wal_append(w, first, rows, ARIEL_WAL_ROWS, &pc, 1, &burnt) == 0);
}

static struct wal_seen wal_read(const char *root, bool read_only)
{
    struct wal_seen ws = {0};
    uint64_t bytes, first_seen;
    char err[256];
    REQUIRE(ariel_wal_replay(root, read_only, wal_note, &ws, &bytes, &first_seen, err,
                             sizeof err) == 0);
    return ws;
}

static off_t file_size(const char *p)
{
    struct stat st;
    REQUIRE(stat(p, &st) == 0);
    return st.st_size;
}

/* Copies file a to b (a crash image of a file the writer would still tidy up). */
static void copy_file(const char *a, const char *b)
{
    char cmd[1600];
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", a, b);
    REQUIRE(system(cmd) == 0);
}

/*
 * A covered WAL file becomes a spare and the next new file is that spare, overwritten from
 * the start: replay reads only the new records, whether the old ones after them are cut in
 * the middle (a torn tail) or intact (out of sequence); the writer cuts the old tail when it
 * rolls, and spares never outlive the WAL (init and close delete them).
 */
static void wal_file_reuse(void **state)
{
    (void)state;
    char *dir = make_dir(), p[700], wal[700], crash[700];
    snprintf(p, sizeof p, "%s/wal", dir);
    REQUIRE(mkdir(p, 0755) == 0);
    struct ariel_wal w;
    for (int exact = 0; exact < 2; exact++) {
        ariel_wal_init(&w, dir, STRM_FSYNC_NEVER, 0);
        wal_put(&w, 1, 10, 1000); /* file wal-1: three records of 1032 bytes */
        wal_put(&w, 11, 10, 1000);
        wal_put(&w, 21, 10, 1000);
        ariel_wal_roll(&w);
        wal_put(&w, 31, 5, 100); /* file wal-31 */
        ariel_wal_drop_before(&w, 31);
        REQUIRE(glob_count(dir, "wal/free-*.log") == 1);
        REQUIRE(glob_count(dir, "wal/wal-*.log") == 1);
        ariel_wal_roll(&w);
        /* the spare as wal-36: one record, shorter than the old first or exactly as long */
        wal_put(&w, 36, 2, exact ? 1000 : 300);
        REQUIRE(glob_count(dir, "wal/free-*.log") == 0);
        snprintf(wal, sizeof wal, "%s/wal/wal-%016x.log", dir, 36);
        REQUIRE(file_size(wal) == 3 * 1032); /* overwritten in place, old records after */
        snprintf(crash, sizeof crash, "%s/crash.img", dir);
        copy_file(wal, crash);

        struct wal_seen ws = wal_read(dir, true); /* a reader beside the writer */
        REQUIRE(ws.n == 2 && ws.first[0] == 31 && ws.first[1] == 36 && ws.rows[1] == 2);

        ariel_wal_roll(&w); /* the writer cuts the old tail */
        REQUIRE(file_size(wal) == (exact ? 1032 : 332));
        ariel_wal_close(&w);

        /* a crash before that cut: recovery cuts it, and reads each record once */
        REQUIRE(rename(crash, wal) == 0);
        ws = wal_read(dir, true);
        REQUIRE(ws.n == 2 && ws.first[1] == 36);
        REQUIRE(file_size(wal) == 3 * 1032); /* read-only: nothing cut */
        ws = wal_read(dir, false);
        REQUIRE(ws.n == 2 && ws.first[0] == 31 && ws.first[1] == 36);
        REQUIRE(file_size(wal) == (exact ? 1032 : 332));

        /* a spare left by a process that died is deleted when a WAL is opened */
        ariel_wal_init(&w, dir, STRM_FSYNC_NEVER, 0);
        ariel_wal_drop_all(&w);
        REQUIRE(glob_count(dir, "wal/wal-*.log") == 0);
        snprintf(p, sizeof p, "%s/wal/free-%016x.log", dir, 7);
        FILE *f = fopen(p, "w");
        REQUIRE(f && fclose(f) == 0);
        ariel_wal_init(&w, dir, STRM_FSYNC_NEVER, 0);
        REQUIRE(glob_count(dir, "wal/free-*.log") == 0);

        /* a full disk: the spares go at once, and covered files are deleted, not kept,
         * until the store has its reserve back */
        wal_put(&w, 41, 5, 100);
        ariel_wal_roll(&w);
        wal_put(&w, 46, 5, 100);
        ariel_wal_drop_before(&w, 46);
        REQUIRE(glob_count(dir, "wal/free-*.log") == 1);
        ariel_wal_spares_off(&w, true);
        REQUIRE(glob_count(dir, "wal/free-*.log") == 0);
        ariel_wal_roll(&w);
        wal_put(&w, 51, 5, 100);
        ariel_wal_drop_before(&w, 51);
        REQUIRE(glob_count(dir, "wal/free-*.log") == 0);
        REQUIRE(glob_count(dir, "wal/wal-*.log") == 1);
        ariel_wal_spares_off(&w, false);
        ariel_wal_roll(&w);
        wal_put(&w, 56, 5, 100);
        ariel_wal_drop_before(&w, 56);
        REQUIRE(glob_count(dir, "wal/free-*.log") == 1);
        ariel_wal_drop_all(&w); /* the next round starts from an empty WAL */
        ariel_wal_close(&w);
    }
    rm_dir(dir);
}

static void wal_replay_exactly_once(void **state)
{
    char *dir = make_dir();
    struct ariel_options o = opts(dir);
    uint32_t r1[] = {0, 1500, 100}, r2[] = {1500, 2500, 33};
    in_child(child_append, dir, r1);
    struct ariel_store *s = open_store(&o);
    assert_exactly(s, 1500);
    struct ariel_info info;
    ariel_info_get(s, &info);
    assert_int_equal(info.rows_memtable, 1500);
    assert_true(info.bytes_wal > 0);
    ariel_close(s); /* flushes the replayed rows, drops the WAL */
    in_child(child_append, dir, r2);
    s = open_store(&o);
    assert_exactly(s, 2500);
    ariel_close(s);
    s = open_store(&o);
    assert_exactly(s, 2500);
    ariel_close(s);
    rm_dir(dir);
}

static int count_rows(const struct strm_event *ev, void *arg)
{
    (void)ev;
    (*(uint32_t *)arg)++;
    return 0;
}

static void *release_flusher_later(void *arg)
{
    usleep(200000);
    ariel_hold_flusher(arg, false);
    return NULL;
}

static void child_append_queued(const char *dir, void *arg)
{
    uint32_t *range = arg;
    struct ariel_options o = opts(dir);
    o.segment_rows = 100;
    struct ariel_store *s = open_store(&o);
    ariel_hold_flusher(s, true);
    append_range(s, range[0], range[1], range[2]);
}

/*
 * A burst while the segment writer is behind: full memtables queue up for it (maybe_flush)
 * and stay visible to scans, forwards and in reverse, each row exactly once; once the queue
 * is full, the writer waits for the segment writer (counted) and goes on when it caught up.
 * A crash with memtables queued loses nothing: the WAL has them all.
 */
static void memtables_queue_behind_the_flusher(void **state)
{
    char *dir = make_dir();
    struct strm_stats st;
    memset(&st, 0, sizeof st);
    struct ariel_options o = opts(dir);
    o.segment_rows = 100; /* one memtable of 100 rows, then 400 each while the writer is held */
    o.stats = &st;
    struct ariel_store *s = open_store(&o);
    ariel_hold_flusher(s, true);
    append_range(s, 0, 100 + 400 * 6 + 50, 10); /* 7 memtables queued, 50 rows in mt */
    struct ariel_info info;
    ariel_info_get(s, &info);
    assert_int_equal(info.segments, 0);
    assert_int_equal(info.rows_memtable, 2550);
    assert_int_equal(STRM_STAT_GET(&st, store_writer_waits), 0);
    assert_exactly(s, 2550);
    struct seen r = scan_all(s, 2551, ALL_COLS, false);
    assert_int_equal(r.rows, 2550);
    free(r.count);
    uint32_t rev = 0;
    struct ariel_scan_opts so = {.tmin = INT64_MIN,
                                 .tmax = INT64_MAX,
                                 .colmask = ALL_COLS,
                                 .fn = count_rows,
                                 .arg = &rev,
                                 .reverse = true};
    assert_int_equal(ariel_scan_ex(s, &so), 0);
    assert_int_equal(rev, 2550);

    /* past ARIEL_IMM_MAX (32) queued memtables the writer waits until one is written */
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, release_flusher_later, s), 0);
    append_range(s, 2550, 2550 + 400 * 30, 10);
    pthread_join(t, NULL);
    assert_true(STRM_STAT_GET(&st, store_writer_waits) >= 1);
    assert_int_equal(ariel_flush(s), 0);
    ariel_info_get(s, &info);
    assert_int_equal(info.rows_memtable, 0);
    assert_int_equal(info.rows_segments, 2550 + 400 * 30);
    assert_exactly(s, 2550 + 400 * 30);
    ariel_close(s);

    uint32_t more[] = {14550, 14550 + 100 + 400 * 5 + 7, 13};
    in_child(child_append_queued, dir, more);
    o.stats = NULL;
    s = open_store(&o);
    assert_exactly(s, more[1]);
    ariel_close(s);
    rm_dir(dir);
}

static void torn_wal_tail(void **state)
{
    char *dir = make_dir();
    struct ariel_options o = opts(dir);
    uint32_t r1[] = {0, 300, 100}, r2[] = {300, 400, 100};
    struct stat st1, st2;
    in_child(child_append, dir, r1);
    char *wal = last_wal(dir);
    assert_non_null(wal);
    assert_int_equal(stat(wal, &st1), 0);
    in_child(child_append, dir, r2); /* recovery then one more record in a new file */
    free(wal);
    wal = last_wal(dir);
    assert_int_equal(stat(wal, &st2), 0);
    assert_int_equal(truncate(wal, st2.st_size - 7), 0);

    struct ariel_options ro = o;
    ro.read_only = true;
    struct ariel_store *s = open_store(&ro); /* read-only: stops at the tear, cuts nothing */
    assert_exactly(s, 300);
    ariel_close(s);
    assert_int_equal(stat(wal, &st1), 0);
    assert_int_equal(st1.st_size, st2.st_size - 7);

    s = open_store(&o);
    assert_exactly(s, 300);
    ariel_close(s);
    s = open_store(&o);
    assert_exactly(s, 300);
    append_range(s, 300, 350, 10);
    ariel_close(s);
    s = open_store(&o);
    assert_exactly(s, 350);
    ariel_close(s);
    free(wal);
    rm_dir(dir);
}

/* Where a segment's column data starts: after the header and its directory entries. */
static off_t seg_data_off(const char *path)
{
    uint8_t h[16];
    FILE *f = fopen(path, "rb");
    REQUIRE(f && fread(h, 1, 16, f) == 16);
    fclose(f);
    return 104 + 64 * (off_t)(h[14] | h[15] << 8);
}

/* Where column col's stored bytes start in a segment (from its directory), or -1. */
static off_t seg_col_off(const char *path, int col)
{
    uint8_t h[104], e[64];
    FILE *f = fopen(path, "rb");
    REQUIRE(f && fread(h, 1, 104, f) == 104);
    int n = h[14] | h[15] << 8;
    off_t r = -1;
    for (int i = 0; i < n && fread(e, 1, 64, f) == 64; i++) {
        if ((e[0] | e[1] << 8) != col) continue;
        uint64_t o = 0;
        memcpy(&o, e + 8, 8);
        r = (off_t)o;
    }
    fclose(f);
    return r;
}

static void flip_byte(const char *path, off_t off)
{
    int fd = open(path, O_RDWR);
    uint8_t c;
    assert_true(fd >= 0);
    assert_int_equal(pread(fd, &c, 1, off), 1);
    c ^= 0x5a;
    assert_int_equal(pwrite(fd, &c, 1, off), 1);
    close(fd);
}

static void corrupt_segment_skipped(void **state)
{
    char *dir = make_dir();
    struct ariel_options o = opts(dir);
    struct ariel_store *s = open_store(&o);
    char pat[512];
    glob_t g;
    struct stat st;

    append_range(s, 0, 1000, 100); /* 200 rows in each of 5 hours */
    ariel_close(s);
    snprintf(pat, sizeof pat, "%s/events/*/*/*/*/seg-*.seg", dir);
    assert_int_equal(glob(pat, 0, NULL, &g), 0);
    assert_int_equal(g.gl_pathc, 5);
    assert_int_equal(stat(g.gl_pathv[0], &st), 0);
    flip_byte(g.gl_pathv[0], seg_col_off(g.gl_pathv[0], STRM_COL_PAYLOAD) + 3);
    /* a damaged header: the segment is skipped at open */
    flip_byte(g.gl_pathv[1], 20);

    s = open_store(&o);
    struct seen r = scan_all(s, 1000, ALL_COLS, true);
    assert_int_equal(r.bad, 0);
    assert_int_equal(r.rows, 600);
    free(r.count);
    r = scan_all(s, 1000, ALL_COLS, true); /* again: already known bad */
    assert_int_equal(r.rows, 600);
    free(r.count);
    /* without payload and message the damaged column is not read */
    r = scan_all(s, 1000, 1ull << STRM_COL_QID | 1ull << STRM_COL_SOURCEIP, true);
    assert_int_equal(r.bad, 0);
    assert_int_equal(r.rows, 600); /* still skipped: marked bad on first detection */
    free(r.count);
    /* the store keeps working */
    append_range(s, 1000, 1100, 50);
    ariel_close(s);
    s = open_store(&o);
    r = scan_all(s, 1100, ALL_COLS, true);
    assert_int_equal(r.rows, 700);
    free(r.count);
    ariel_close(s);

    /* a fresh process that never read payload: the other columns still serve */
    s = open_store(&o);
    r = scan_all(s, 1100, 1ull << STRM_COL_QID, true);
    assert_int_equal(r.rows, 900);
    free(r.count);
    ariel_close(s);
    globfree(&g);
    rm_dir(dir);
}

/* "path size mtime" of every file, sorted: the read-only open must leave it unchanged. */
static char listing_buf[1 << 16];
static int list_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    size_t l = strlen(listing_buf);
    snprintf(listing_buf + l, sizeof listing_buf - l, "%s %lld %lld.%09ld\n", p,
             (long long)st->st_size, (long long)st->st_mtim.tv_sec, st->st_mtim.tv_nsec);
    return 0;
}

static char *listing(const char *dir)
{
    listing_buf[0] = 0;
    nftw(dir, list_one, 16, FTW_PHYS);
    return strdup(listing_buf);
}

static void read_only_beside_writer(void **state)
{
    char *dir = make_dir();
    struct ariel_options o = opts(dir);
    struct ariel_store *w = open_store(&o);
    append_range(w, 0, 1000, 100);
    assert_int_equal(ariel_flush(w), 0);
    append_range(w, 1000, 1500, 100); /* in WAL + memtable */

    struct ariel_options ro = o;
    ro.read_only = true;
    char *before = listing(dir);
    struct ariel_store *r = open_store(&ro);
    assert_exactly(r, 1500);
    assert_int_equal(ariel_append(r, NULL), STRM_ERR_INVAL);
    assert_int_equal(ariel_flush(r), 0);
    assert_int_equal(ariel_tick(r), 0);
    ariel_close(r);
    char *after = listing(dir);
    assert_string_equal(before, after);

    /* a second writer is refused */
    struct ariel_store *w2 = NULL;
    char err[256];
    assert_int_equal(ariel_open(&o, &w2, err, sizeof err), STRM_ERR_BUSY);

    append_range(w, 1500, 1600, 100);
    r = open_store(&ro);
    assert_exactly(r, 1600);
    ariel_close(r);
    ariel_close(w);
    free(before);
    free(after);
    rm_dir(dir);
}

/* ---------------------------------------------------------------- crash test */

static void crash_child(const char *dir, uint32_t first_id, int fd)
{
    struct ariel_options o = opts(dir);
    o.segment_rows = 400 + (int)(first_id % 300); /* frequent flushes */
    /* and merges all the time: each flush leaves five small segments (five hours) */
    o.no_compaction = false;
    o.compact_min_segments = 2;
    o.compact_interval_ms = 5;
    /* segments written while this loop keeps a core busy (in SCHED_IDLE the writer waits
     * for an idle core, and a loaded machine has none before the kill) */
    o.no_idle_writer = true;
    struct ariel_store *s = open_store(&o);
    struct strm_batch *b = strm_batch_new(200);
    uint32_t id = first_id;
    unsigned seed = first_id;
    for (;;) {
        uint32_t k = 1 + (uint32_t)rand_r(&seed) % 150;
        strm_batch_reset(b);
        for (uint32_t i = 0; i < k; i++, id++)
            gen_event(b, strm_batch_add(b), id, time_of(id));
        if (ariel_append(s, b) != 0) _exit(3);
        if (write(fd, &id, sizeof id) != sizeof id) /* everything below id is acknowledged */
            _exit(4);
    }
}

static void crash_kill9_loses_nothing_acknowledged(void **state)
{
    char *dir = make_dir();
    struct ariel_options o = opts(dir);
    uint32_t next = 0;
    unsigned seed = 42;
    const int rounds = 50; /* issue 3: at least 50 kills at random moments */
    for (int round = 0; round < rounds; round++) {
        int p[2];
        assert_int_equal(pipe(p), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            child_proc = true;
            close(p[0]);
            crash_child(dir, next, p[1]);
        }
        close(p[1]);
        usleep(20000 + (useconds_t)(rand_r(&seed) % 150000));
        kill(pid, SIGKILL);
        int st;
        waitpid(pid, &st, 0);
        assert_true(WIFSIGNALED(st));
        uint32_t acked = next, v;
        while (read(p[0], &v, sizeof v) == sizeof v)
            acked = v;
        close(p[0]);

        /*
         * ids below acked: exactly once; ids above: at most once (unacknowledged). Odd
         * rounds look read-only, so the next child runs the writable recovery itself.
         */
        uint32_t max = acked + 100000;
        struct ariel_options oo = o;
        oo.read_only = round % 2;
        struct ariel_store *s = open_store(&oo);
        struct seen r = scan_all(s, max, ALL_COLS, round % 5 == 0);
        assert_int_equal(r.bad, 0);
        uint32_t top = 0;
        for (uint32_t i = 0; i < max; i++) {
            if (i < acked && r.count[i] != 1)
                fail_msg("round %d: acknowledged id %u seen %u times", round, i, r.count[i]);
            if (r.count[i] > 1) fail_msg("round %d: id %u seen %u times", round, i, r.count[i]);
            if (r.count[i]) top = i + 1;
        }
        for (uint32_t i = acked; i < top; i++)
            if (r.count[i] != 1) fail_msg("round %d: hole at unacknowledged id %u", round, i);
        free(r.count);
        ariel_close(s);
        next = top;
        print_message("# round %d: %u rows acknowledged\n", round, acked);
    }
    /* the children merged segments all along: some of the survivors are merged ones */
    glob_t g;
    char pat[600];
    size_t merged = 0;
    snprintf(pat, sizeof pat, "%s/events/*/*/*/*/seg-*.seg", dir);
    assert_int_equal(glob(pat, 0, NULL, &g), 0);
    for (size_t i = 0; i < g.gl_pathc; i++) {
        struct ariel_segment *seg;
        char err[512];
        assert_int_equal(ariel_seg_load(g.gl_pathv[i], &seg, err, sizeof err), 0);
        merged += seg->nreplaces > 0;
        ariel_seg_unref(seg);
    }
    print_message("# %zu of %zu segments are merged ones\n", merged, g.gl_pathc);
    assert_true(merged > 0);
    globfree(&g);
    rm_dir(dir);
}

/* A read-only open next to a writer that appends and flushes all the time sees a prefix. */
static void read_only_during_writes(void **state)
{
    char *dir = make_dir();
    struct ariel_options ro = opts(dir);
    int devnull = open("/dev/null", O_WRONLY);
    uint32_t last = 0;
    assert_true(devnull >= 0);
    ro.read_only = true;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        child_proc = true;
        crash_child(dir, 0, devnull);
    }
    usleep(50000);
    for (int k = 0; k < 15; k++) {
        struct ariel_store *s = open_store(&ro);
        struct seen r = scan_all(s, 1u << 22, 1ull << STRM_COL_QID, false);
        uint32_t top = 0;
        assert_int_equal(r.bad, 0);
        for (uint32_t i = 0; i < r.max; i++)
            if (r.count[i]) top = i + 1;
        for (uint32_t i = 0; i < top; i++)
            if (r.count[i] != 1)
                fail_msg("open %d: id %u seen %u times (top %u)", k, i, r.count[i], top);
        assert_true(top >= last);
        last = top;
        free(r.count);
        ariel_close(s);
        usleep(10000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    close(devnull);
    print_message("# read-only opens saw up to %u rows\n", last);
    rm_dir(dir);
}

/* ---------------------------------------------------------------- concurrency */

struct writer_arg {
    struct ariel_store *s;
    uint32_t n;
    _Atomic bool done;
};

static void *writer_thread(void *p)
{
    struct writer_arg *a = p;
    append_range(a->s, 0, a->n, 64);
    atomic_store(&a->done, true);
    return NULL;
}

static void concurrent_scan_while_appending(void **state)
{
    char *dir = make_dir();
    struct ariel_options o = opts(dir);
    struct strm_stats st = {0};
    o.segment_rows = 1000;
    /* the compactor merges the small segments of every flush meanwhile */
    o.no_compaction = false;
    o.compact_min_segments = 2;
    o.compact_interval_ms = 2;
    o.stats = &st;
    struct ariel_store *s = open_store(&o);
    struct writer_arg a = {.s = s, .n = 30000};
    pthread_t th;
    uint64_t last = 0;
    int scans = 0;
    assert_int_equal(pthread_create(&th, NULL, writer_thread, &a), 0);
    for (bool fin = false; !fin; scans++) {
        fin = atomic_load(&a.done);
        struct seen r = scan_all(s, a.n, 1ull << STRM_COL_QID | 1ull << STRM_COL_MESSAGE, true);
        assert_int_equal(r.bad, 0);
        assert_true(r.rows >= last);
        for (uint32_t i = 0; i < a.n; i++)
            if (r.count[i] > 1) fail_msg("scan %d: id %u seen twice", scans, i);
        last = r.rows;
        free(r.count);
    }
    pthread_join(th, NULL);
    assert_int_equal(last, a.n);
    assert_int_equal(ariel_flush(s), 0);
    assert_true(ariel_compact(s) >= 0);
    assert_exactly(s, a.n);
    print_message("# %d concurrent scans, %" PRIu64 " merges\n", scans,
                  STRM_STAT_GET(&st, store_compactions));
    ariel_close(s);
    rm_dir(dir);
}

/* ---------------------------------------------------------------- I/O errors */

static void child_io_errors(const char *dir, void *arg)
{
    struct strm_stats stats;
    memset(&stats, 0, sizeof stats);
    struct ariel_options o = opts(dir);
    o.stats = &stats;
    struct ariel_store *s = open_store(&o);
    struct strm_batch *b = strm_batch_new(100);
    struct rlimit rl, lim;
    struct stat st;
    uint32_t id = 0;
    int fails = 0;

    append_range(s, 0, 500, 100);
    id = 500;
    char *wal = last_wal(dir);
    REQUIRE(stat(wal, &st) == 0);
    signal(SIGXFSZ, SIG_IGN);
    getrlimit(RLIMIT_FSIZE, &rl);
    lim = rl;
    lim.rlim_cur = (rlim_t)st.st_size + 100000; /* room for a few batches, then EFBIG */
    REQUIRE(setrlimit(RLIMIT_FSIZE, &lim) == 0);
    for (int k = 0; k < 40; k++) {
        strm_batch_reset(b);
        for (uint32_t i = 0; i < 100; i++)
            gen_event(b, strm_batch_add(b), id + i, time_of(id + i));
        off_t before;
        REQUIRE(stat(wal, &st) == 0);
        before = st.st_size;
        int rc = ariel_append(s, b);
        if (rc == 0) {
            id += 100;
            continue;
        }
        REQUIRE((rc) == (STRM_ERR_IO));
        fails++;
        REQUIRE(stat(wal, &st) == 0);
        REQUIRE((st.st_size) == (before)); /* the partial record was cut off */
    }
    REQUIRE(fails > 0);
    REQUIRE(STRM_STAT_GET(&stats, store_errors) == 0); /* counted by callers that give up */
    assert_exactly(s, id);                             /* failed batches are invisible */
    /* a flush fails too (segment bigger than the limit) and keeps everything */
    lim.rlim_cur = 4096;
    REQUIRE(setrlimit(RLIMIT_FSIZE, &lim) == 0);
    REQUIRE((ariel_flush(s)) == (STRM_ERR_IO));
    REQUIRE(glob_count(dir, "events/*/*/*/*/seg-*") == 0);
    assert_exactly(s, id);
    REQUIRE(setrlimit(RLIMIT_FSIZE, &rl) == 0);
    append_range(s, id, id + 200, 100);
    id += 200;
    REQUIRE((ariel_flush(s)) == (0));
    assert_exactly(s, id);
    append_range(s, id, id + 100, 100);
    id += 100;
    REQUIRE(STRM_STAT_GET(&stats, stored) == id);
    REQUIRE(STRM_STAT_GET(&stats, segments_written) >= 5);
    REQUIRE(STRM_STAT_GET(&stats, wal_bytes) > 0);
    FILE *f = fopen("/tmp/ariel-test-acked", "w"); /* hand the count to the parent */
    fprintf(f, "%u\n", id);
    fclose(f);
    free(wal);
    strm_batch_free(b);
}

static void io_errors_leave_store_consistent(void **state)
{
    char *dir = make_dir();
    struct ariel_options o = opts(dir);
    uint32_t acked = 0;
    in_child(child_io_errors, dir, &acked);
    FILE *f = fopen("/tmp/ariel-test-acked", "r");
    assert_non_null(f);
    assert_int_equal(fscanf(f, "%u", &acked), 1);
    fclose(f);
    unlink("/tmp/ariel-test-acked");
    struct ariel_store *s = open_store(&o);
    assert_exactly(s, acked);
    ariel_close(s);
    rm_dir(dir);
}

static void fsync_policies_and_tick(void **state)
{
    char *dir = make_dir();
    struct ariel_options o = opts(dir);
    o.fsync = STRM_FSYNC_BATCH;
    struct ariel_store *s = open_store(&o);
    append_range(s, 0, 200, 50);
    ariel_close(s);
    o.fsync = STRM_FSYNC_INTERVAL;
    o.fsync_interval_ms = 10;
    o.segment_max_age_s = 1;
    s = open_store(&o);
    append_range(s, 200, 400, 50);
    assert_int_equal(ariel_tick(s), 0);
    usleep(20000);
    assert_int_equal(ariel_tick(s), 0);
    struct ariel_info info;
    ariel_info_get(s, &info);
    assert_int_equal(info.rows_memtable, 200);
    usleep(1100000);
    assert_int_equal(ariel_tick(s), 0); /* age flush: handed to the segment writer thread */
    for (int i = 0; i < 500; i++) {     /* it finishes in the background; ticks drop the WAL */
        ariel_info_get(s, &info);
        if (info.rows_memtable == 0 && info.bytes_wal == 0) break;
        usleep(10000);
        assert_int_equal(ariel_tick(s), 0);
    }
    ariel_info_get(s, &info);
    assert_int_equal(info.rows_memtable, 0);
    assert_int_equal(info.rows_segments, 400);
    assert_int_equal(info.bytes_wal, 0);
    assert_exactly(s, 400);
    ariel_close(s);
    rm_dir(dir);
}

static int stop_after_10(const struct strm_event *ev, void *arg)
{
    return ++*(int *)arg == 10 ? 77 : 0;
}

static void scan_stops_early(void **state)
{
    char *dir = make_dir();
    struct ariel_options o = opts(dir);
    struct ariel_store *s = open_store(&o);
    int n = 0;
    append_range(s, 0, 100, 100);
    assert_int_equal(ariel_scan(s, INT64_MIN, INT64_MAX, ALL_COLS, stop_after_10, &n), 77);
    assert_int_equal(n, 10);
    ariel_flush(s);
    n = 0;
    assert_int_equal(ariel_scan(s, INT64_MIN, INT64_MAX, ALL_COLS, stop_after_10, &n), 77);
    assert_int_equal(n, 10);
    ariel_close(s);
    rm_dir(dir);
}

/* ---------------------------------------------------------------- figures */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void bench_ingest(void **state)
{
    if (!getenv("ARIEL_BENCH")) skip();
    char *dir = make_dir();
    struct ariel_options o = opts(dir);
    o.segment_rows = 262144;
    struct ariel_store *s = open_store(&o);
    struct strm_batch *b = strm_batch_new(1000);
    const uint32_t n = 2000000;
    char payload[251];
    uint64_t payload_bytes = 0;
    double t = now_s();
    for (uint32_t id = 0; id < n;) {
        strm_batch_reset(b);
        for (uint32_t k = 0; k < 1000; k++, id++) {
            struct strm_event *ev = strm_batch_add(b);
            int len = snprintf(payload, sizeof payload,
                               "<38>Jun 10 06:13:20 web-%02u sshd[%u]: Accepted publickey for "
                               "user%u from 10.%u.%u.%u port %u ssh2: RSA SHA256:%08x%08x%08x "
                               "session opened for user%u by (uid=0) request-id=%u x",
                               id % 40, 1000 + id % 5000, id % 300, id % 256, (id >> 8) % 256,
                               id % 199, 1024 + id % 60000, id * 2654435761u, id ^ 0x5bd1e995u,
                               id * 40503u, id % 300, id);
            memset(payload + len, 'x', sizeof payload - 1 - (size_t)len);
            ev->starttime = T0 + id / 100;
            ev->qid = id;
            ev->logsourceid = id % 40;
            ev->payload = dup_str(b, payload, 250);
            ev->hostname.p = ev->payload.p + 20;
            ev->hostname.len = 6;
            ev->appname.p = ev->payload.p + 27;
            ev->appname.len = 4;
            ev->message.p = ev->payload.p + 40;
            ev->message.len = 210;
            strm_ip_from_v4(&ev->sourceip, 0x0a000000u | (id % 65536));
            ev->sourceport = (uint16_t)(1024 + id % 60000);
            payload_bytes += 250;
        }
        assert_int_equal(ariel_append(s, b), 0);
    }
    assert_int_equal(ariel_flush(s), 0);
    t = now_s() - t;
    struct ariel_info info;
    ariel_info_get(s, &info);
    print_message("# BENCH ariel_append rows/s %.0f (250-byte payloads, %u rows, flushes "
                  "included); segments %.1f MiB, payload ratio %.2f\n",
                  n / t, n, (double)info.bytes_segments / 1048576.0,
                  (double)payload_bytes / (double)info.bytes_segments);
    t = now_s();
    struct seen r = scan_all(s, n, ALL_COLS, false);
    t = now_s() - t;
    print_message("# BENCH ariel_scan rows/s %.0f (all columns)\n", n / t);
    assert_int_equal(r.rows, n);
    free(r.count);
    strm_batch_free(b);
    ariel_close(s);
    rm_dir(dir);
}

static void corpus_compression(void **state)
{
    if (!getenv("ARIEL_BENCH")) skip();
    char *dir = make_dir();
    struct ariel_options o = opts(dir);
    struct ariel_store *s = open_store(&o);
    struct strm_batch *b = strm_batch_new(1000);
    glob_t g;
    uint64_t raw = 0, rows = 0;
    char line[70000];
    assert_int_equal(glob(STRM_CORPUS_DIR "/syslog/*/*.log", 0, NULL, &g), 0);
    for (size_t i = 0; i < g.gl_pathc; i++) {
        FILE *f = fopen(g.gl_pathv[i], "r");
        assert_non_null(f);
        while (fgets(line, sizeof line, f)) {
            size_t len = strcspn(line, "\n");
            if (b->count == b->cap) {
                assert_int_equal(ariel_append(s, b), 0);
                strm_batch_reset(b);
            }
            struct strm_event *ev = strm_batch_add(b);
            ev->starttime = T0 + (int64_t)rows * 10;
            ev->payload = dup_str(b, line, len);
            /* "Mon DD HH:MM:SS host app[pid]: msg": hostname, appname, message as slices */
            const char *p = ev->payload.p, *end = p + len, *h = len > 16 ? p + 16 : end;
            const char *he = memchr(h, ' ', (size_t)(end - h));
            if (he) {
                ev->hostname.p = h;
                ev->hostname.len = (uint32_t)(he - h);
                const char *colon = memchr(he, ':', (size_t)(end - he));
                if (colon) {
                    const char *br = memchr(he + 1, '[', (size_t)(colon - he - 1));
                    ev->appname.p = he + 1;
                    ev->appname.len = (uint32_t)((br ? br : colon) - he - 1);
                    if (colon + 2 <= end) {
                        ev->message.p = colon + 2;
                        ev->message.len = (uint32_t)(end - colon - 2);
                    }
                }
            }
            raw += len + 1;
            rows++;
        }
        fclose(f);
    }
    if (b->count) assert_int_equal(ariel_append(s, b), 0);
    assert_int_equal(ariel_flush(s), 0);
    struct ariel_info info;
    ariel_info_get(s, &info);
    print_message("# BENCH corpus %llu lines, %llu bytes of log text -> %llu bytes of segments: "
                  "ratio %.2f\n",
                  (unsigned long long)rows, (unsigned long long)raw,
                  (unsigned long long)info.bytes_segments,
                  (double)raw / (double)info.bytes_segments);
    globfree(&g);
    strm_batch_free(b);
    ariel_close(s);
    rm_dir(dir);
}

/* ---------------------------------------------------------------- fsck, info, retention */

struct fsck_log {
    int n;
    char last[1024];
};

static void fsck_note(const char *path, int64_t off, const char *what, void *arg)
{
    struct fsck_log *l = arg;
    l->n++;
    snprintf(l->last, sizeof l->last, "%s@%lld: %s", path, (long long)off, what);
}

static void fsck_finds_and_quarantines(void **state)
{
    char *dir = make_dir();
    struct ariel_options o = opts(dir);
    struct ariel_store *s = open_store(&o);
    struct ariel_fsck_result res;
    struct fsck_log log = {0};
    char pat[512], err[512];
    glob_t g;

    append_range(s, 0, 1000, 100); /* one flush group, 5 hour segments */
    ariel_close(s);
    assert_int_equal(ariel_fsck(dir, false, fsck_note, &log, &res, err, sizeof err), 0);
    assert_int_equal(res.segments, 5);
    assert_int_equal(res.segments_damaged, 0);
    assert_int_equal(log.n, 0);

    /* a flipped byte in the first column's data (starttime, just after the directory) */
    snprintf(pat, sizeof pat, "%s/events/*/*/*/*/seg-*.seg", dir);
    assert_int_equal(glob(pat, 0, NULL, &g), 0);
    assert_int_equal(g.gl_pathc, 5);
    char *victim = strdup(g.gl_pathv[2]);
    globfree(&g);
    flip_byte(victim, seg_data_off(victim) + 1);

    /* scans report it, and it is counted once */
    s = open_store(&o);
    struct seen r = {.count = calloc(1001, 4), .max = 1001, .mask = ALL_COLS};
    struct ariel_scan_opts so = {
        .tmin = INT64_MIN, .tmax = INT64_MAX, .colmask = ALL_COLS, .fn = collect, .arg = &r};
    assert_int_equal(ariel_scan_ex(s, &so), 0);
    assert_int_equal(so.skipped_damaged, 1);
    assert_int_equal(r.rows, 800);
    assert_int_equal(ariel_scan_ex(s, &so), 0);
    assert_int_equal(so.skipped_damaged, 1);
    struct ariel_info info;
    ariel_info_get(s, &info);
    assert_int_equal(info.corrupt_segments, 1);
    free(r.count);
    /* a WAL record with a flipped byte, in a file that is not the last one */
    append_range(s, 1000, 1100, 50);
    ariel_close(s);

    memset(&log, 0, sizeof log);
    assert_int_equal(ariel_fsck(dir, false, fsck_note, &log, &res, err, sizeof err), 0);
    assert_int_equal(res.segments_damaged, 1);
    assert_non_null(strstr(log.last, "starttime"));
    assert_non_null(strstr(log.last, victim));

    /* the WAL: rows left unflushed by a process that died */
    uint32_t range[] = {2000, 2100, 50};
    in_child(child_append, dir, range);
    char *wal = last_wal(dir);
    assert_non_null(wal);
    struct stat st;
    assert_int_equal(stat(wal, &st), 0);
    flip_byte(wal, st.st_size - 5); /* inside the second (last) record */
    memset(&log, 0, sizeof log);
    assert_int_equal(ariel_fsck(dir, false, fsck_note, &log, &res, err, sizeof err), 0);
    assert_int_equal(res.wal_damaged, 1);
    assert_int_equal(res.wal_records, 1);
    assert_non_null(strstr(log.last, wal));

    /* repair refuses while the store is open for writing */
    s = open_store(&o);
    assert_int_equal(ariel_fsck(dir, true, NULL, NULL, &res, err, sizeof err), STRM_ERR_BUSY);
    ariel_close(s); /* recovery cut the torn record; the flush made a new group */
    /* put damage back into a WAL the repair has to cut */
    in_child(child_append, dir, range);
    free(wal);
    wal = last_wal(dir);
    assert_int_equal(stat(wal, &st), 0);
    flip_byte(wal, st.st_size - 5);

    assert_int_equal(ariel_fsck(dir, true, NULL, NULL, &res, err, sizeof err), 0);
    assert_int_equal(res.segments_damaged, 1);
    assert_int_equal(res.segments_quarantined, 1);
    assert_int_equal(res.wal_damaged, 1);
    assert_true(res.wal_truncated_bytes > 0);
    assert_int_equal(glob_count(dir, "quarantine/seg-*.seg"), 1);
    assert_int_not_equal(access(victim, F_OK), 0);
    assert_int_equal(ariel_fsck(dir, false, NULL, NULL, &res, err, sizeof err), 0);
    assert_int_equal(res.segments_damaged + res.wal_damaged, 0);

    /* the rest of the quarantined segment's group stays: 800 + 100 + 50 + 50 rows */
    s = open_store(&o);
    r = scan_all(s, 2200, ALL_COLS, false);
    assert_int_equal(r.rows, 1000);
    free(r.count);
    ariel_close(s);
    s = open_store(&o);
    r = scan_all(s, 2200, ALL_COLS, false);
    assert_int_equal(r.rows, 1000);
    free(r.count);
    ariel_close(s);
    free(wal);
    free(victim);
    rm_dir(dir);
}

static void info_matches_data(void **state)
{
    char *dir = make_dir();
    struct ariel_options o = opts(dir);
    struct ariel_store *s = open_store(&o);
    struct ariel_info info;
    struct ariel_col_info cols[STRM_COL__COUNT];
    uint64_t stored = 0;

    append_range(s, 0, 1000, 100);
    assert_int_equal(ariel_flush(s), 0);
    append_range(s, 1000, 1030, 10); /* stays in the memtable */
    ariel_info_get(s, &info);
    ariel_info_columns(s, cols);
    assert_int_equal(info.partitions, 5);
    assert_int_equal(info.segments, 5);
    assert_int_equal(info.rows_segments, 1000);
    assert_int_equal(info.rows_memtable, 30);
    assert_int_equal(info.corrupt_segments, 0);
    assert_true(info.bytes_wal > 0);
    uint64_t evcols = strm_table_cols(STRM_TABLE_EVENTS);
    for (int c = 0; c < STRM_COL__COUNT; c++) {
        uint64_t segs = 0;
        for (int e = 0; e < ARIEL_ENC__COUNT; e++)
            segs += cols[c].segments_by_enc[e];
        /* every column of the events table is in every segment, no flow column */
        assert_int_equal(segs, (evcols >> c & 1) ? 5 : 0);
        stored += cols[c].stored_bytes;
    }
    /* every byte of a segment is header, directory or column data */
    assert_true(info.bytes_index > 0); /* sourceip, destinationip, username */
    assert_int_equal(stored + info.bytes_index + info.bytes_directory, info.bytes_segments);
    assert_true(info.bytes_directory >= 5 * (104 + 64 * (uint64_t)__builtin_popcountll(evcols)));
    /* QIDs below 65536 in a 4-byte column: narrowed to 2 bytes, 200 per segment */
    assert_int_equal(cols[STRM_COL_QID].raw_bytes, 1000 * 2);
    assert_int_equal(cols[STRM_COL_QID].segments_by_enc[ARIEL_ENC_NARROW], 5);
    assert_string_equal(ariel_enc_name(ARIEL_ENC_NARROW), "narrow");
    assert_string_equal(ariel_enc_name(2), "fixed");
    ariel_close(s);
    rm_dir(dir);
}

static void append_at(struct ariel_store *s, uint32_t from, uint32_t to, int64_t t)
{
    struct strm_batch *b = strm_batch_new(to - from);
    REQUIRE(b != NULL);
    for (uint32_t id = from; id < to; id++)
        gen_event(b, strm_batch_add(b), id, t + id);
    REQUIRE(ariel_append(s, b) == 0);
    strm_batch_free(b);
}

struct scanner {
    struct ariel_store *s;
    _Atomic bool stop;
    uint64_t scans;
};

static int count_only(const struct strm_event *ev, void *arg)
{
    (void)ev;
    (*(uint64_t *)arg)++;
    return 0;
}

/* ---------------------------------------------------------------- flows table */

static void gen_flow(struct strm_batch *b, struct strm_event *ev, uint32_t id, int64_t t)
{
    ev->flags |= STRM_EV_FLOW;
    ev->starttime = t;
    strm_ip_from_v4(&ev->sourceip, 0x0a000000u + id);
    strm_ip_from_v4(&ev->destinationip, 0xc0a80001u);
    ev->sourceport = (uint16_t)(1024 + id % 60000);
    ev->destinationport = 443;
    ev->protocolid = 6;
    ev->flow.firstpackettime = t - 5000;
    ev->flow.lastpackettime = t;
    ev->flow.sourcebytes = 1000000000000ull + id;
    ev->flow.destinationbytes = id * 7u;
    ev->flow.sourcepackets = id + 1;
    ev->flow.destinationpackets = id % 3;
    ev->flow.applicationid = id % 5;
    ev->flow.flowinterface = 7;
    ev->flow.vlan = 42;
    ev->flow.sourceflags = 0x1b;
    ev->flow.destinationflags = 0x12;
    ev->flow.flowtype = STRM_FLOWTYPE_IPFIX;
    ev->flow.flowdirection = STRM_FLOWDIR_L2R;
    ev->flow.icmptype = 3;
    ev->flow.icmpcode = 1;
    ev->flow.sourcedscp = 46;
    strm_ip_from_v4(&ev->flow.flowsource, 0x7f000001u);
    if (id % 2) {
        char d[32];
        int n = snprintf(d, sizeof d, "host%u.example", id);
        ev->flow.applicationdetail = dup_str(b, d, (size_t)n);
    }
}

struct flow_seen {
    uint32_t n, bad;
    uint64_t mask;
};

static int check_flow(const struct strm_event *ev, void *arg)
{
    struct flow_seen *fs = arg;
    uint32_t id = (uint32_t)(ev->flow.sourcebytes - 1000000000000ull);
    struct strm_batch *b = strm_batch_new(1);
    struct strm_event *want = strm_batch_add(b);
    gen_flow(b, want, id, ev->starttime);
    bool ok = (ev->flags & STRM_EV_FLOW) && ev->flow.sourcepackets == want->flow.sourcepackets &&
              ev->flow.destinationbytes == want->flow.destinationbytes &&
              ev->flow.firstpackettime == want->flow.firstpackettime &&
              ev->flow.applicationid == want->flow.applicationid && ev->flow.vlan == 42 &&
              ev->flow.sourceflags == 0x1b && ev->flow.flowtype == STRM_FLOWTYPE_IPFIX &&
              ev->flow.flowdirection == STRM_FLOWDIR_L2R && ev->flow.sourcedscp == 46 &&
              strm_ip_cmp(&ev->flow.flowsource, &want->flow.flowsource) == 0 &&
              strm_ip_cmp(&ev->sourceip, &want->sourceip) == 0 && ev->destinationport == 443 &&
              str_same(ev->flow.applicationdetail, want->flow.applicationdetail);
    strm_batch_free(b);
    fs->n++;
    if (!ok) fs->bad++;
    return 0;
}

/* Flow rows: the compact layout round-trips; rows in the older event layout still decode. */
static void flow_row_layouts(void **state)
{
    (void)state;
    struct strm_batch *b = strm_batch_new(2);
    struct strm_event *ev = strm_batch_add(b), got;
    gen_flow(b, ev, 7, 1700000000000);
    ev->storagetime = 1700000000123;
    memcpy(ev->sourcemac, "\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02", 12);
    uint8_t row[1024];
    assert_true(ariel_row_bound(ev) <= sizeof row);
    size_t len = ariel_row_encode(row, 99, ev);
    assert_int_equal(len, ARIEL_ROW_COMPACT_FIXED + 1 + ev->flow.applicationdetail.len);
    assert_true(ariel_row_compact(row));
    assert_int_equal(ariel_row_seq(row), 99);
    assert_int_equal(ariel_row_starttime(row), ev->starttime);
    uint64_t seq = 0;
    assert_int_equal(ariel_row_decode(row, len, &seq, &got), len);
    assert_int_equal(seq, 99);
    struct flow_seen fs = {0};
    check_flow(&got, &fs);
    assert_int_equal(fs.bad, 0);
    assert_int_equal(got.storagetime, ev->storagetime);
    assert_memory_equal(got.sourcemac, ev->sourcemac, 12);
    for (size_t cut = 0; cut < len; cut++)
        assert_int_equal(ariel_row_decode(row, cut, NULL, &got), 0);
    /* every fixed column of the flows table reads at its compact offset */
    for (int c = 0; c < STRM_COL__COUNT; c++) {
        const struct strm_col_def *d = &strm_event_cols[c];
        if (!(d->tables & STRM_TABLE_FLOWS) || d->type == STRM_T_STR) continue;
        size_t off = ariel_row_off(c, true);
        assert_true(off != SIZE_MAX);
        assert_memory_equal(row + off, (const char *)ev + d->offset, d->width);
    }
    assert_true(ariel_row_off(STRM_COL_QID, true) == SIZE_MAX);

    /* the event layout with a flow part, as stores written before the compact layout hold */
    uint8_t old[1024];
    size_t p = 0;
    uint64_t s = 5;
    memcpy(old, &s, 8);
    memcpy(old + 8, ev, offsetof(struct strm_event, collectorip));
    memcpy(old + ARIEL_ROW_FIXED - 12, ev->sourcemac, 12);
    memcpy(old + ARIEL_ROW_FIXED, &ev->flow, ARIEL_ROW_FLOW_FIXED);
    p = ARIEL_ROW_FIXED + ARIEL_ROW_FLOW_FIXED;
    for (int k = 0; k < 8; k++)
        old[p++] = 0; /* seven empty strings and an empty message */
    old[p++] = (uint8_t)ev->flow.applicationdetail.len;
    memcpy(old + p, ev->flow.applicationdetail.p, ev->flow.applicationdetail.len);
    p += ev->flow.applicationdetail.len;
    assert_false(ariel_row_compact(old));
    memset(&got, 0, sizeof got);
    assert_int_equal(ariel_row_decode(old, p, &seq, &got), p);
    assert_int_equal(seq, 5);
    memset(&fs, 0, sizeof fs);
    check_flow(&got, &fs);
    assert_int_equal(fs.bad, 0);
    strm_batch_free(b);
}

/*
 * The narrow and IPv4 encodings at their edges: each segment gets one value set per column
 * (by flush), the encoding chosen is the expected one, and every value reads back.
 */
struct enc_case {
    uint64_t v[4];     /* sourcebytes values, cycled */
    int want_enc;      /* for sourcebytes */
    const char *ip[4]; /* sourceip values ("" = null), cycled */
    int want_ip_enc;
};

static const struct enc_case enc_cases[] = {
    {{0, 255, 7, 1},
     ARIEL_ENC_NARROW,
     {"10.0.0.1", "", "192.168.1.1", "255.255.255.255"},
     ARIEL_ENC_IPV4},
    {{256, 65535, 0, 9}, ARIEL_ENC_NARROW, {"0.0.0.0", "10.0.0.1", "", "1.2.3.4"}, ARIEL_ENC_FIXED},
    {{65536, 4294967295ull, 1, 2},
     ARIEL_ENC_NARROW,
     {"::1", "10.0.0.1", "", "1.2.3.4"},
     ARIEL_ENC_FIXED},
    {{4294967296ull, 5, UINT64_MAX, 0}, ARIEL_ENC_FIXED, {"", "", "", "9.9.9.9"}, ARIEL_ENC_IPV4},
    {{1ull << 62, 3, 3, 3}, ARIEL_ENC_FIXED, {"", "", "", ""}, ARIEL_ENC_CONST},
};

struct enc_seen {
    uint32_t n, bad;
};

static int check_enc_row(const struct strm_event *ev, void *arg)
{
    struct enc_seen *es = arg;
    const struct enc_case *c = &enc_cases[ev->sourceport / 1000];
    uint32_t i = ev->sourceport % 1000;
    struct strm_ip want = {{0}};
    if (*c->ip[i % 4])
        assert_int_equal(strm_ip_parse(&want, c->ip[i % 4], strlen(c->ip[i % 4])), 0);
    es->n++;
    if (ev->flow.sourcebytes != c->v[i % 4] || ev->flow.destinationpackets != i ||
        strm_ip_cmp(&ev->sourceip, &want) != 0)
        es->bad++;
    return 0;
}

static void narrow_and_ipv4_encodings(void **state)
{
    (void)state;
    char *dir = make_dir();
    struct ariel_options o = opts(dir);
    o.table = STRM_TABLE_FLOWS;
    struct ariel_store *s = open_store(&o);
    int64_t t0 = 1700000000000;
    size_t ncases = sizeof enc_cases / sizeof enc_cases[0];
    for (size_t ci = 0; ci < ncases; ci++) {
        const struct enc_case *c = &enc_cases[ci];
        struct strm_batch *b = strm_batch_new(100);
        for (uint32_t i = 0; i < 100; i++) {
            struct strm_event *ev = strm_batch_add(b);
            ev->flags |= STRM_EV_FLOW;
            ev->starttime = t0 + (int64_t)ci * 1000 + i;
            ev->sourceport = (uint16_t)(ci * 1000 + i);
            ev->flow.sourcebytes = c->v[i % 4];
            ev->flow.destinationpackets = i;
            if (*c->ip[i % 4])
                assert_int_equal(strm_ip_parse(&ev->sourceip, c->ip[i % 4], strlen(c->ip[i % 4])),
                                 0);
        }
        assert_int_equal(ariel_append(s, b), 0);
        strm_batch_free(b);
        assert_int_equal(ariel_flush(s), 0); /* one segment per case */
        struct ariel_col_info cols[STRM_COL__COUNT];
        memset(cols, 0, sizeof cols);
        ariel_info_columns(s, cols);
        uint64_t segs = 0, ip_segs = 0; /* segments so far with the same encodings */
        for (size_t k = 0; k <= ci; k++) {
            segs += enc_cases[k].want_enc == c->want_enc;
            ip_segs += enc_cases[k].want_ip_enc == c->want_ip_enc;
        }
        assert_int_equal(cols[STRM_COL_SOURCEBYTES].segments_by_enc[c->want_enc], segs);
        assert_int_equal(cols[STRM_COL_SOURCEIP].segments_by_enc[c->want_ip_enc], ip_segs);
    }
    ariel_close(s);
    s = open_store(&o);
    struct enc_seen es = {0};
    assert_int_equal(ariel_scan(s, 0, INT64_MAX, ~0ull, check_enc_row, &es), 0);
    assert_int_equal(es.n, 100 * ncases);
    assert_int_equal(es.bad, 0);
    ariel_close(s);
    rm_dir(dir);
}

static void flows_table_roundtrip(void **state)
{
    (void)state;
    char *dir = make_dir();
    struct ariel_options o = opts(dir);
    o.table = STRM_TABLE_FLOWS;
    struct ariel_store *s = open_store(&o);
    int64_t t0 = 1700000000000;
    for (uint32_t from = 0; from < 3000; from += 500) {
        struct strm_batch *b = strm_batch_new(500);
        for (uint32_t i = from; i < from + 500; i++)
            gen_flow(b, strm_batch_add(b), i, t0 + i);
        assert_int_equal(ariel_append(s, b), 0);
        strm_batch_free(b);
    }
    struct flow_seen fs = {0};
    assert_int_equal(ariel_scan(s, 0, INT64_MAX, ~0ull, check_flow, &fs), 0);
    assert_int_equal(fs.n, 3000); /* from the memtable */
    assert_int_equal(fs.bad, 0);
    assert_int_equal(ariel_flush(s), 0);
    ariel_close(s);
    assert_true(glob_count(dir, "flows/*/*/*/*/seg-*.seg") > 0);
    s = open_store(&o);
    memset(&fs, 0, sizeof fs);
    assert_int_equal(ariel_scan(s, 0, INT64_MAX, ~0ull, check_flow, &fs), 0);
    assert_int_equal(fs.n, 3000); /* from segments */
    assert_int_equal(fs.bad, 0);
    ariel_close(s);
    rm_dir(dir);
}

/*
 * The WAL's packed flow form (ariel_int.h): packed from an event or from its row alike;
 * unpacked, every row is byte for byte the compact row the memtable holds, whatever its addresses
 * (IPv4, IPv6, none), MACs, detail, exporter and times (before the row before, long before); a body
 * cut anywhere or holding another row count is refused, never read past.
 */
static void flow_wal_packed(void **state)
{
    (void)state;
    enum { N = 64 };
    struct strm_batch *b = strm_batch_new(N);
    uint8_t *rows = malloc((size_t)N * 1024), *packed = malloc((size_t)N * 512);
    size_t rlen = 0, plen = ARIEL_FLOWPACK_HEAD;
    struct ariel_flowpack st = {0};
    int64_t stored_at = 1700000000500;
    memcpy(packed, &stored_at, 8);
    for (uint32_t i = 0; i < N; i++) {
        struct strm_event *ev = strm_batch_add(b);
        gen_flow(b, ev, i, 1700000000000 + (i % 7 == 3 ? -86400000 : (int64_t)i * 13));
        ev->storagetime = stored_at; /* the record's */
        if (i % 5 == 1) REQUIRE(strm_ip_parse(&ev->sourceip, "2001:db8::17", 12) == 0);
        if (i % 6 == 2) memset(&ev->destinationip, 0, sizeof ev->destinationip);
        if (i % 9 == 4)
            memcpy(ev->sourcemac, "\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02", 12);
        if (i % 4 == 0) strm_ip_from_v4(&ev->flow.flowsource, 0xc0000201u + i % 3);
        if (i % 11 == 5) REQUIRE(strm_ip_parse(&ev->flow.flowsource, "fe80::1", 7) == 0);
        if (i == 10) {
            ev->flow.sourcebytes = UINT64_MAX;
            ev->flow.firstpackettime = INT64_MIN / 2;
            ev->flow.lastpackettime = INT64_MAX / 2;
            ev->flow.applicationid = UINT32_MAX;
            ev->flow.vlan = UINT16_MAX;
        }
        REQUIRE(ariel_flowpack_bound(ev) <= 512);
        size_t before = plen;
        struct ariel_flowpack st_row = st;
        plen += ariel_flowpack_put(packed + plen, ev, &st);
        size_t rl = ariel_row_encode(rows + rlen, 1000 + i, ev);
        /* packed from the row (the store thread's way) the same as from the event */
        uint8_t again[512];
        assert_int_equal(ariel_flowpack_put_row(again, rows + rlen, rl, &st_row), plen - before);
        assert_memory_equal(again, packed + before, plen - before);
        rlen += rl;
    }
    assert_true(plen * 2 < rlen); /* the point of it */
    uint8_t *out;
    size_t olen;
    assert_int_equal(ariel_flowpack_unpack(1000, N, packed, plen, &out, &olen), 0);
    assert_int_equal(olen, rlen);
    assert_memory_equal(out, rows, rlen);
    free(out);
    for (size_t cut = 0; cut < plen; cut++) {
        int rc = ariel_flowpack_unpack(1000, N, packed, cut, &out, &olen);
        assert_int_equal(rc, STRM_ERR_CORRUPT);
        assert_null(out);
    }
    assert_int_equal(ariel_flowpack_unpack(1000, N - 1, packed, plen, &out, &olen),
                     STRM_ERR_CORRUPT);
    assert_int_equal(ariel_flowpack_unpack(1000, N + 1, packed, plen, &out, &olen),
                     STRM_ERR_CORRUPT);
    assert_int_equal(ariel_flowpack_unpack(1000, 0, packed, plen, &out, &olen), STRM_ERR_CORRUPT);
    packed[ARIEL_FLOWPACK_HEAD + 1] &= (uint8_t)~STRM_EV_FLOW; /* a row that is no flow */
    assert_int_equal(ariel_flowpack_unpack(1000, N, packed, plen, &out, &olen), STRM_ERR_CORRUPT);
    free(rows);
    free(packed);
    strm_batch_free(b);
}

static void child_append_flows(const char *dir, void *arg)
{
    (void)arg;
    struct ariel_options o = opts(dir);
    o.table = STRM_TABLE_FLOWS;
    struct ariel_store *s = open_store(&o);
    for (uint32_t from = 0; from < 3000; from += 500) {
        struct strm_batch *b = strm_batch_new(500);
        for (uint32_t i = from; i < from + 500; i++)
            gen_flow(b, strm_batch_add(b), i, 1700000000000 + i);
        REQUIRE(ariel_append(s, b) == 0);
        strm_batch_free(b);
    }
}

/* A flows store's WAL holds packed records: a writer that crashed loses none of its flows,
 * and its WAL is less than half the rows' bytes. */
static void flows_wal_replay(void **state)
{
    (void)state;
    char *dir = make_dir();
    in_child(child_append_flows, dir, NULL);
    struct ariel_options o = opts(dir);
    o.table = STRM_TABLE_FLOWS;
    o.read_only = true;
    struct ariel_store *s = open_store(&o);
    struct ariel_info info;
    ariel_info_get(s, &info);
    assert_true(info.bytes_wal > 0 && info.bytes_wal * 2 < 3000u * ARIEL_ROW_COMPACT_FIXED);
    struct flow_seen fs = {0};
    assert_int_equal(ariel_scan(s, 0, INT64_MAX, ~0ull, check_flow, &fs), 0);
    assert_int_equal(fs.n, 3000);
    assert_int_equal(fs.bad, 0);
    ariel_close(s);
    o.read_only = false;
    s = open_store(&o);
    memset(&fs, 0, sizeof fs);
    assert_int_equal(ariel_scan(s, 0, INT64_MAX, ~0ull, check_flow, &fs), 0);
    assert_int_equal(fs.n, 3000);
    assert_int_equal(fs.bad, 0);
    ariel_close(s);
    rm_dir(dir);
}

/* ---------------------------------------------------------------- indexes */

struct probe {
    int col;
    struct strm_ip ip;
    const char *user;
    uint64_t hits, rows;
};

static int probe_row(const struct strm_event *ev, void *arg)
{
    struct probe *p = arg;
    p->rows++;
    if (p->col == STRM_COL_USERNAME)
        p->hits += ev->username.len == strlen(p->user) &&
                   memcmp(ev->username.p, p->user, ev->username.len) == 0;
    else
        p->hits += strm_ip_cmp(strm_event_get_ip(ev, p->col), &p->ip) == 0;
    return 0;
}

/*
 * Scans every row of s twice, into full without and into fast with one predicate (col,
 * kind, one key), both through fn over colmask; returns the second scan's report.
 */
static struct ariel_scan_opts scan_pair(struct ariel_store *s, int col, int kind, const void *key,
                                        uint32_t klen, uint64_t colmask, ariel_row_fn fn,
                                        void *full, void *fast)
{
    struct ariel_pred pred = {
        .col = col, .kind = kind, .keys = &key, .key_lens = &klen, .nkeys = 1};
    struct ariel_scan_opts a = {
        .tmin = INT64_MIN, .tmax = INT64_MAX, .colmask = colmask, .fn = fn, .arg = full};
    struct ariel_scan_opts b = a;
    b.arg = fast;
    b.preds = &pred;
    b.npreds = 1;
    assert_int_equal(ariel_scan_ex(s, &a), 0);
    assert_int_equal(ariel_scan_ex(s, &b), 0);
    b.preds = NULL; /* pred is gone with this frame */
    return b;
}

/*
 * Big string columns in blocks (thresholds lowered): every field reads back, a needle scan
 * gives exactly the brute-force rows, fsck finds every block sound, and a damaged block is
 * reported.
 */
struct needle {
    struct strm_ip ip;
    uint64_t rows, hits;
    uint32_t payload_bad;
};

static int needle_row(const struct strm_event *ev, void *arg)
{
    struct needle *nd = arg;
    nd->rows++;
    nd->hits += strm_ip_cmp(&ev->sourceip, &nd->ip) == 0;
    /* the payload of gen_event's row: its id= suffix names the row's qid */
    char want[32];
    int n = snprintf(want, sizeof want, "id=%u", ev->qid);
    if (ev->payload.len >= (uint32_t)n &&
        memcmp(ev->payload.p + ev->payload.len - (uint32_t)n, want, (size_t)n) != 0 &&
        ev->payload.len != 65536)
        nd->payload_bad++;
    return 0;
}

static void string_blocks_of(uint32_t rows_per_block)
{
    char *dir = make_dir();
    struct ariel_options o = opts(dir);
    o.strblock_min_bytes = 1;
    o.strblock_rows = rows_per_block;
    struct ariel_store *s = open_store(&o);
    append_range(s, 0, 3000, 250);
    assert_int_equal(ariel_flush(s), 0);
    struct ariel_col_info cols[STRM_COL__COUNT];
    memset(cols, 0, sizeof cols);
    ariel_info_columns(s, cols);
    assert_true(cols[STRM_COL_PAYLOAD].segments_by_enc[ARIEL_ENC_STRBLOCKS] > 0);
    /* 13 host names: a dictionary, not blocks (string_dictionary) */
    assert_true(cols[STRM_COL_HOSTNAME].segments_by_enc[ARIEL_ENC_STRDICT] > 0);
    assert_true(cols[STRM_COL_HOSTNAME].segments_blocked > 0); /* its codes in blocks */
    assert_string_equal(ariel_enc_name(ARIEL_ENC_STRBLOCKS), "strblocks");
    /* fixed-width columns in blocks too: plain, narrowed and IPv4 */
    assert_true(cols[STRM_COL_SOURCEIP].segments_blocked > 0);
    assert_true(cols[STRM_COL_QID].segments_blocked > 0);
    assert_true(cols[STRM_COL_SOURCEMAC].segments_blocked > 0);
    assert_true(cols[STRM_COL_PAYLOAD].segments_blocked > 0);
    /* addresses one apart: zstd would not halve them, so their blocks are stored raw */
    assert_true(cols[STRM_COL_SOURCEIP].stored_bytes >= cols[STRM_COL_SOURCEIP].raw_bytes);
    assert_exactly(s, 3000); /* every column of every row, message slices included */
    for (uint32_t id = 1; id < 3000; id += 190) {
        struct needle full = {0}, fast = {0};
        strm_ip_from_v4(&full.ip, 0x0a000000u | id); /* odd ids have this source */
        fast.ip = full.ip;
        struct ariel_scan_opts b = scan_pair(s, STRM_COL_SOURCEIP, ARIEL_PRED_IN, full.ip.b, 16,
                                             ~0ull, needle_row, &full, &fast);
        assert_int_equal(full.hits, 1);
        assert_int_equal(fast.hits, 1);
        assert_int_equal(fast.rows, 1);
        assert_int_equal(full.payload_bad + fast.payload_bad, 0);
        assert_int_equal(b.skipped_damaged, 0);
    }
    ariel_close(s);
    struct ariel_fsck_result res;
    struct fsck_log log = {0};
    char err[512];
    assert_int_equal(ariel_fsck(dir, false, fsck_note, &log, &res, err, sizeof err), 0);
    assert_int_equal(res.segments_damaged, 0);
    /* a flipped byte inside a block (the middle of a segment: payload blocks) is found */
    char pat[512];
    glob_t gl;
    snprintf(pat, sizeof pat, "%s/events/*/*/*/*/seg-*.seg", dir);
    assert_int_equal(glob(pat, 0, NULL, &gl), 0);
    struct stat st;
    assert_int_equal(stat(gl.gl_pathv[0], &st), 0);
    flip_byte(gl.gl_pathv[0], st.st_size / 2);
    globfree(&gl);
    memset(&log, 0, sizeof log);
    assert_int_equal(ariel_fsck(dir, false, fsck_note, &log, &res, err, sizeof err), 0);
    assert_int_equal(res.segments_damaged, 1);
    rm_dir(dir);
}

/* Blocks a scan keeps a few of at a time (37 rows), and blocks too small for that (5 rows:
 * the whole column is decompressed in place). */
static void string_blocks(void **state)
{
    (void)state;
    string_blocks_of(37);
    string_blocks_of(5);
}

/* Word-aligned, ASCII-case-insensitive occurrence of w (lower case) in s: TEXT SEARCH. */
static bool test_word_in(const char *s, size_t n, const char *w)
{
    size_t wl = strlen(w);
    for (size_t i = 0; i + wl <= n; i++) {
        size_t k = 0;
        while (k < wl && tolower((unsigned char)s[i + k]) == (unsigned char)w[k])
            k++;
        if (k < wl) continue;
        if (i > 0 && isalnum((unsigned char)s[i - 1])) continue;
        if (i + wl < n && isalnum((unsigned char)s[i + wl])) continue;
        return true;
    }
    return false;
}

struct words_seen {
    const char *word;
    uint64_t rows, hits;
};

static int words_row(const struct strm_event *ev, void *arg)
{
    struct words_seen *ws = arg;
    ws->rows++;
    ws->hits += ev->payload.p && test_word_in(ev->payload.p, ev->payload.len, ws->word);
    return 0;
}

/* The payload's token index never loses a TEXT SEARCH match, and skips what cannot match. */
static void token_index_matches_brute_force(void **state)
{
    (void)state;
    char *dir = make_dir();
    struct ariel_options o = opts(dir);
    o.strblock_rows = 64;
    struct ariel_store *s = open_store(&o);
    append_range(s, 0, 4000, 500);
    assert_int_equal(ariel_flush(s), 0);
    static const char *const words[] = {"accepted",  "user3",    "id=1234", "10.0.7.3",   "ssh2",
                                        "port 1100", "host-7",   "nomatch", "id",         "7",
                                        "-",         "password", "1024",    "sshd[1010]:"};
    for (size_t k = 0; k < sizeof words / sizeof words[0]; k++) {
        struct words_seen full = {.word = words[k]}, fast = {.word = words[k]};
        scan_pair(s, STRM_COL_PAYLOAD, ARIEL_PRED_TOKENS, words[k], (uint32_t)strlen(words[k]),
                  1ull << STRM_COL_PAYLOAD, words_row, &full, &fast);
        if (fast.hits != full.hits)
            fail_msg("word '%s': %llu matches with the index, %llu without", words[k],
                     (unsigned long long)fast.hits, (unsigned long long)full.hits);
        assert_int_equal(full.rows, 4000);
        /* a word with a rare token reads a few blocks of 64 rows, not all 4000 rows */
        if (strcmp(words[k], "id=1234") == 0 || strcmp(words[k], "port 1100") == 0 ||
            strcmp(words[k], "nomatch") == 0)
            assert_true(fast.rows <= 6 * 64);
    }
    ariel_close(s);
    rm_dir(dir);
}

/* Segment skipping by Bloom indexes and min/max gives exactly what a full scan gives. */
static void index_skipping_matches_brute_force(void **state)
{
    (void)state;
    char *dir = make_dir();
    struct ariel_options o = opts(dir);
    o.segment_rows = 2000;
    struct ariel_store *s = open_store(&o);
    static char users[64][16];
    for (int i = 0; i < 64; i++)
        snprintf(users[i], sizeof users[i], "user%02d", i);
    uint64_t seed = 12345;
    int64_t t0 = 1700000000000;
    for (int b = 0; b < 20; b++) { /* 20 flushes: 20 segments of 1000 rows */
        struct strm_batch *bt = strm_batch_new(1000);
        for (int i = 0; i < 1000; i++) {
            struct strm_event *ev = strm_batch_add(bt);
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            ev->starttime = t0 + b * 1000 + i;
            /* a segment holds a narrow band of addresses and users: skipping pays */
            strm_ip_from_v4(&ev->sourceip,
                            0x0a000000u + (uint32_t)b * 256 + (uint32_t)(seed >> 56));
            strm_ip_from_v4(&ev->destinationip, 0xc0a80000u + (uint32_t)(seed >> 40 & 0xff));
            const char *u = users[(b * 3 + (int)(seed >> 60)) % 64];
            ev->username = dup_str(bt, u, strlen(u));
            ev->qid = (uint32_t)b * 100 + (uint32_t)(seed >> 32 & 63);
        }
        assert_int_equal(ariel_append(s, bt), 0);
        strm_batch_free(bt);
        assert_int_equal(ariel_flush(s), 0);
    }
    struct ariel_info info;
    ariel_info_get(s, &info);
    assert_int_equal(info.segments, 20);
    assert_true(info.bytes_index > 0);
    for (int k = 0; k < 300; k++) {
        struct probe full = {0}, fast = {0};
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        int kind = k % 3;
        full.col = kind == 0   ? STRM_COL_SOURCEIP
                   : kind == 1 ? STRM_COL_DESTINATIONIP
                               : STRM_COL_USERNAME;
        /* half of the probes exist, half do not */
        uint32_t v4 = kind == 0 ? 0x0a000000u + (uint32_t)(seed >> 40 & 0x1fff)
                                : 0xc0a80000u + (uint32_t)(seed >> 40 & 0x1ff);
        strm_ip_from_v4(&full.ip, v4);
        full.user = users[seed >> 58];
        if (kind == 2 && (seed & 1)) full.user = "nobody";
        fast = full;
        const void *key = kind == 2 ? (const void *)full.user : (const void *)full.ip.b;
        uint32_t klen = kind == 2 ? (uint32_t)strlen(full.user) : 16;
        struct ariel_scan_opts b =
            scan_pair(s, full.col, ARIEL_PRED_IN, key, klen, ~0ull, probe_row, &full, &fast);
        assert_int_equal(fast.hits, full.hits);
        /* the scan itself drops the rows that fail the predicate (late materialization) */
        assert_int_equal(fast.rows, fast.hits);
        assert_int_equal(b.segments_in_range, 20);
        if (full.hits == 0 && kind != 1) assert_true(b.skipped_index >= 18); /* ~1% false pos. */
    }
    /* min/max: qid ranges */
    struct probe none = {.col = STRM_COL_USERNAME, .user = "zzz"};
    struct ariel_pred r = {.col = STRM_COL_QID, .kind = ARIEL_PRED_RANGE, .lo = 500, .hi = 599};
    struct ariel_scan_opts m = {.tmin = INT64_MIN,
                                .tmax = INT64_MAX,
                                .colmask = ~0ull,
                                .fn = probe_row,
                                .arg = &none,
                                .preds = &r,
                                .npreds = 1};
    assert_int_equal(ariel_scan_ex(s, &m), 0);
    assert_int_equal(m.skipped_minmax, 19); /* only segment 5 holds qids 500-563 */
    ariel_close(s);
    rm_dir(dir);
}

/* Rows of a scan whose qid and destinationport fall in the ranges (brute force). */
struct range_probe {
    int64_t qlo, qhi, plo, phi;
    uint64_t rows, hits;
};

static int range_row(const struct strm_event *ev, void *arg)
{
    struct range_probe *r = arg;
    r->rows++;
    r->hits += ev->qid >= r->qlo && ev->qid <= r->qhi && ev->destinationport >= r->plo &&
               ev->destinationport <= r->phi;
    return 0;
}

/*
 * Per-block min/max of blocked integer columns (ARIEL_COLF_BSTATS): a range scan gives exactly
 * the brute-force rows, and passes over the blocks whose min/max rule the range out.
 */
static void block_minmax_matches_brute_force(void **state)
{
    (void)state;
    char *dir = make_dir();
    struct ariel_options o = opts(dir);
    o.segment_rows = 40000;
    o.strblock_min_bytes = 1;
    o.strblock_rows = 500; /* blocks of 500 rows */
    struct ariel_store *s = open_store(&o);
    uint64_t seed = 777;
    struct strm_batch *bt = strm_batch_new(20000);
    for (int i = 0; i < 20000; i++) {
        struct strm_event *ev = strm_batch_add(bt);
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        ev->starttime = 1700000000000 + i;
        ev->qid = (uint32_t)(i / 500) * 100 + (uint32_t)(seed >> 58); /* a band per block */
        ev->destinationport = (uint16_t)(seed >> 40);                 /* anywhere */
        ev->eventcount = 1;
    }
    assert_int_equal(ariel_append(s, bt), 0);
    strm_batch_free(bt);
    assert_int_equal(ariel_flush(s), 0);
    for (int k = 0; k < 200; k++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        struct range_probe full = {
            .qlo = (int64_t)(seed >> 52) % 4200 - 100, .plo = 0, .phi = 65535};
        full.qhi = full.qlo + (int64_t)(seed >> 20 & 511);
        if (k % 4 == 3) { /* on the port too (no block can be ruled out by it) */
            full.plo = (int64_t)(seed >> 30 & 0x7fff);
            full.phi = full.plo + 20000;
        }
        struct range_probe fast = full;
        struct ariel_pred p[2] = {
            {.col = STRM_COL_QID, .kind = ARIEL_PRED_RANGE, .lo = full.qlo, .hi = full.qhi},
            {.col = STRM_COL_DESTINATIONPORT,
             .kind = ARIEL_PRED_RANGE,
             .lo = full.plo,
             .hi = full.phi}};
        struct ariel_scan_opts a = {
            .tmin = INT64_MIN, .tmax = INT64_MAX, .colmask = ~0ull, .fn = range_row, .arg = &full};
        struct ariel_scan_opts b = a;
        b.arg = &fast;
        b.preds = p;
        b.npreds = k % 4 == 3 ? 2 : 1;
        assert_int_equal(ariel_scan_ex(s, &a), 0);
        assert_int_equal(ariel_scan_ex(s, &b), 0);
        assert_int_equal(full.rows, 20000);
        assert_int_equal(fast.hits, full.hits);
        if (b.npreds == 1) assert_int_equal(fast.rows, fast.hits); /* dropped in the scan */
        /* the blocks whose band misses the range are never read: all but a few */
        uint64_t bands = 0;
        for (int64_t bl = 0; bl < 40; bl++)
            bands += !(bl * 100 + 63 < full.qlo || bl * 100 > full.qhi);
        if (b.skipped_minmax == 0) assert_true(b.rows_skipped_minmax >= (40 - bands) * 500);
    }
    ariel_close(s);
    rm_dir(dir);
}

static void *scanner_main(void *p)
{
    struct scanner *sc = p;
    while (!atomic_load(&sc->stop)) {
        uint64_t n = 0;
        REQUIRE(ariel_scan(sc->s, INT64_MIN, INT64_MAX, ALL_COLS, count_only, &n) == 0);
        REQUIRE(n >= 300); /* the recent rows are never deleted */
        sc->scans++;
    }
    return NULL;
}

/* Retention buckets: qid < 100 kept 2 days, qid < 500 kept 100 days, the rest 30 days. */
static int bucket_by_qid(const struct strm_event *ev, void *arg)
{
    (void)arg;
    return ev->qid % 1000 < 100 ? 1 : ev->qid % 1000 < 500 ? 2 : 0;
}

struct qid_count {
    uint64_t n[3];
};

static int count_buckets(const struct strm_event *ev, void *arg)
{
    struct qid_count *c = arg;
    c->n[bucket_by_qid(ev, NULL)]++;
    return 0;
}

static void retention_buckets(void **state)
{
    (void)state;
    char *dir = make_dir();
    struct ariel_options o = opts(dir);
    o.bucket_of = bucket_by_qid;
    o.bucket_days[0] = 2;
    o.bucket_days[1] = 100;
    o.retention_days = 30;
    struct strm_stats stats;
    memset(&stats, 0, sizeof stats);
    o.stats = &stats;
    struct ariel_store *s = open_store(&o);
    int64_t now = strm_now_ms(), day = 86400000LL;
    /* gen_event gives row i the qid i: three ages, each with rows of every bucket */
    append_at(s, 0, 1000, now - 40 * day);
    ariel_flush(s);
    append_at(s, 1000, 2000, now - 5 * day);
    ariel_flush(s);
    append_at(s, 2000, 3000, now - 60000);
    ariel_flush(s);
    /* a segment holds one bucket: 3 ages x 3 buckets */
    assert_int_equal(glob_count(dir, "events/*/*/*/*/seg-*.seg"), 9);
    assert_int_equal(ariel_tick(s), 0); /* the first tick applies retention */
    struct qid_count c = {{0}};
    assert_int_equal(ariel_scan(s, INT64_MIN, INT64_MAX, ALL_COLS, count_buckets, &c), 0);
    /* 40 days old: only bucket 2 (100 days) survives; 5 days old: bucket 1 (2 days) goes */
    assert_int_equal(c.n[0], 500 + 500); /* default 30 days: the 5-day-old and new ones */
    assert_int_equal(c.n[1], 100);       /* 2 days: only the new ones */
    assert_int_equal(c.n[2], 400 * 3);   /* 100 days: all three */
    assert_int_equal(STRM_STAT_GET(&stats, store_retention_deleted_segments), 3);
    ariel_close(s);
    /* the bucket is in the segment header: a reopen keeps applying it */
    s = open_store(&o);
    memset(&c, 0, sizeof c);
    assert_int_equal(ariel_scan(s, INT64_MIN, INT64_MAX, ALL_COLS, count_buckets, &c), 0);
    assert_int_equal(c.n[0] + c.n[1] + c.n[2], 1000 + 100 + 1200);
    ariel_close(s);
    rm_dir(dir);
}

static void retention_by_age(void **state)
{
    char *dir = make_dir();
    struct ariel_options o = opts(dir);
    struct ariel_store *s = open_store(&o);
    int64_t now = strm_now_ms(), day = 86400000LL;
    struct strm_stats stats;

    append_at(s, 0, 200, now - 40 * day);
    append_at(s, 200, 500, now - 45 * day);
    append_at(s, 500, 800, now - 60000);
    ariel_close(s);
    assert_int_equal(glob_count(dir, "events/*/*/*/*/seg-*.seg"), 3);

    memset(&stats, 0, sizeof stats);
    o.retention_days = 30;
    o.stats = &stats;
    s = open_store(&o);
    struct scanner sc = {.s = s};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, scanner_main, &sc), 0);
    usleep(20000);
    assert_int_equal(ariel_tick(s), 0); /* the first tick applies retention */
    usleep(20000);
    atomic_store(&sc.stop, true);
    pthread_join(th, NULL);
    assert_true(sc.scans > 0);
    assert_int_equal(STRM_STAT_GET(&stats, store_retention_deleted_segments), 2);
    assert_int_equal(STRM_STAT_GET(&stats, store_retention_deleted_rows), 500);
    struct ariel_info info;
    ariel_info_get(s, &info);
    assert_int_equal(info.segments, 1);
    assert_int_equal(info.rows_segments, 300);
    assert_int_equal(glob_count(dir, "events/*/*/*/*/seg-*.seg"), 1);
    append_at(s, 800, 900, now);
    ariel_close(s);
    /* retention 0 keeps everything; the survivors and new rows reopen intact */
    o.retention_days = 0;
    s = open_store(&o);
    uint64_t n = 0;
    assert_int_equal(ariel_scan(s, INT64_MIN, INT64_MAX, ALL_COLS, count_only, &n), 0);
    assert_int_equal(n, 400);
    ariel_close(s);
    rm_dir(dir);
}

/*
 * Dictionary-coded strings: 1000 distinct user names (two-byte codes), 7 host names (one
 * byte), a program name unique per row (too many values: plain), and runs and empty
 * values; every value reads back, an equality scan finds exactly the brute-force rows.
 */
struct dict_seen {
    uint64_t rows, bad, hits;
};

static int dict_row(const struct strm_event *ev, void *arg)
{
    struct dict_seen *d = arg;
    char u[32], h[32], a[32];
    uint32_t id = ev->qid;
    int nu = id % 10 == 0 ? 0 : snprintf(u, sizeof u, "user-%u", id % 1000);
    int nh = snprintf(h, sizeof h, "host%u", (id / 50) % 7);
    int na = snprintf(a, sizeof a, "app-%u", id);
    d->rows++;
    if (!str_same(ev->username, (struct strm_str){u, (uint32_t)nu}) ||
        !str_same(ev->hostname, (struct strm_str){h, (uint32_t)nh}) ||
        !str_same(ev->appname, (struct strm_str){a, (uint32_t)na}))
        d->bad++;
    d->hits += ev->username.len == 8 && memcmp(ev->username.p, "user-777", 8) == 0;
    return 0;
}

static void string_dictionary_of(bool blocked)
{
    char *dir = make_dir();
    struct ariel_options o = opts(dir);
    if (blocked) { /* the codes in blocks of 1024 rows, the dictionary decoded and hashed */
        o.strblock_min_bytes = 1;
        o.strblock_rows = 1024;
    }
    struct ariel_store *s = open_store(&o);
    struct strm_batch *b = strm_batch_new(500);
    const uint32_t n = 20000;
    for (uint32_t id = 0; id < n;) {
        strm_batch_reset(b);
        for (uint32_t k = 0; k < 500; k++, id++) {
            struct strm_event *ev = strm_batch_add(b);
            char buf[32];
            strm_event_init(ev);
            ev->starttime = T0 + id;
            ev->qid = id;
            int m = snprintf(buf, sizeof buf, "user-%u", id % 1000);
            if (id % 10) ev->username = dup_str(b, buf, (size_t)m);
            m = snprintf(buf, sizeof buf, "host%u", (id / 50) % 7);
            ev->hostname = dup_str(b, buf, (size_t)m);
            m = snprintf(buf, sizeof buf, "app-%u", id);
            ev->appname = dup_str(b, buf, (size_t)m);
        }
        assert_int_equal(ariel_append(s, b), 0);
    }
    strm_batch_free(b);
    assert_int_equal(ariel_flush(s), 0);
    struct ariel_col_info cols[STRM_COL__COUNT];
    memset(cols, 0, sizeof cols);
    ariel_info_columns(s, cols);
    assert_int_equal(cols[STRM_COL_USERNAME].segments_by_enc[ARIEL_ENC_STRDICT], 1);
    assert_int_equal(cols[STRM_COL_HOSTNAME].segments_by_enc[ARIEL_ENC_STRDICT], 1);
    assert_int_equal(cols[STRM_COL_APPNAME].segments_by_enc[ARIEL_ENC_STRDICT], 0);
    assert_string_equal(ariel_enc_name(ARIEL_ENC_STRDICT), "strdict");
    const char *key = "user-777";
    struct dict_seen full = {0}, fast = {0};
    scan_pair(s, STRM_COL_USERNAME, ARIEL_PRED_IN, key, 8, ALL_COLS, dict_row, &full, &fast);
    assert_int_equal(full.rows, n);
    assert_int_equal(full.bad, 0);
    assert_int_equal(full.hits, 20); /* 777, 1777, ... 19777: none a multiple of 10 */
    assert_int_equal(fast.hits, full.hits);
    assert_int_equal(fast.rows, full.hits);
    assert_int_equal(fast.bad, 0);
    if (blocked) assert_true(cols[STRM_COL_USERNAME].segments_blocked > 0);
    /* several keys, one of them no entry, one the empty value (the rows without a user) */
    for (int round = 0; round < 3; round++) {
        const void *keys[3] = {"user-777", "nobody", "user-3"};
        uint32_t lens[3] = {8, 6, 6};
        if (round == 1) lens[1] = 0;
        int nk = round == 2 ? 1 : 3;
        if (round == 2) keys[0] = "user-0"; /* only in rows that have no user: none */
        if (round == 2) lens[0] = 6;
        struct ariel_pred pred = {.col = STRM_COL_USERNAME,
                                  .kind = ARIEL_PRED_IN,
                                  .keys = keys,
                                  .key_lens = lens,
                                  .nkeys = nk};
        struct dict_seen got = {0};
        struct ariel_scan_opts q = {.tmin = INT64_MIN,
                                    .tmax = INT64_MAX,
                                    .colmask = ALL_COLS,
                                    .fn = dict_row,
                                    .arg = &got,
                                    .preds = &pred,
                                    .npreds = 1};
        assert_int_equal(ariel_scan_ex(s, &q), 0);
        assert_int_equal(got.bad, 0);
        uint64_t want = round == 0 ? 40 : round == 1 ? 20 + n / 10 + 20 : 0;
        assert_int_equal(got.rows, want);
    }
    ariel_close(s);
    rm_dir(dir);
}

static void string_dictionary(void **state)
{
    (void)state;
    string_dictionary_of(false);
    string_dictionary_of(true);
}

/*
 * The payload's dictionary: blocks of a few KiB compressed with a dictionary trained on the
 * store's payloads. Every row reads back, a needle finds its rows, fsck is clean; a fresh
 * process that finds the dictionary damaged or gone skips the column as damaged, never
 * returns wrong bytes.
 */
static void child_dict_damaged(const char *dir, void *arg)
{
    (void)arg;
    struct ariel_options o = opts(dir);
    o.read_only = true;
    ariel_dict_forget(); /* the parent's loaded copy came along with the fork */
    struct ariel_store *s = open_store(&o);
    struct seen r = {
        .count = calloc(20001, sizeof(uint32_t)), .max = 20001, .mask = ALL_COLS, .check = true};
    struct ariel_scan_opts so = {
        .tmin = INT64_MIN, .tmax = INT64_MAX, .colmask = ALL_COLS, .fn = collect, .arg = &r};
    REQUIRE(ariel_scan_ex(s, &so) == 0);
    REQUIRE(so.skipped_damaged == 5); /* the five hour segments, reported */
    REQUIRE(r.bad == 0);              /* nothing wrong handed out */
    free(r.count);
    ariel_close(s);
}

static void payload_dictionary_form(enum ariel_dict_form form)
{
    char *dir = make_dir(), pat[600];
    struct ariel_options o = opts(dir);
    o.strblock_min_bytes = 1;
    o.strblock_rows = 1000;
    o.dict_block_bytes = 8192;
    o.payload_dict_form = form;
    struct ariel_store *s = open_store(&o);
    const uint32_t n = 20000;
    append_range(s, 0, n, 500);
    assert_int_equal(ariel_flush(s), 0);
    assert_int_equal(glob_count(dir, "dict/d-*.dict"), 1);
    /* the segments' payloads use it, in blocks of a few dozen rows */
    glob_t g;
    snprintf(pat, sizeof pat, "%s/events/*/*/*/*/seg-*.seg", dir);
    assert_int_equal(glob(pat, 0, NULL, &g), 0);
    size_t with_dict = 0;
    for (size_t i = 0; i < g.gl_pathc; i++) {
        struct ariel_segment *seg;
        char err[512];
        assert_int_equal(ariel_seg_load(g.gl_pathv[i], &seg, err, sizeof err), 0);
        const struct ariel_seg_col *dc = &seg->cols[seg->col_index[STRM_COL_PAYLOAD]];
        with_dict += (dc->flags & ARIEL_COLF_DICT) != 0;
        ariel_seg_unref(seg);
    }
    globfree(&g);
    assert_int_equal(with_dict, 5); /* five hour partitions */
    struct ariel_info info;
    ariel_info_get(s, &info);
    assert_int_equal(info.payload_dicts, 1);
    assert_exactly(s, n);
    struct strm_ip ip;
    strm_ip_from_v4(&ip, 0x0a000000u | 12345);
    struct needle full = {.ip = ip}, fast = {.ip = ip};
    scan_pair(s, STRM_COL_SOURCEIP, ARIEL_PRED_IN, &ip, 16, ALL_COLS, needle_row, &full, &fast);
    assert_int_equal(full.hits, 1);
    assert_int_equal(fast.hits, 1);
    assert_int_equal(full.payload_bad + fast.payload_bad, 0);
    ariel_close(s);
    struct ariel_fsck_result res;
    struct fsck_log log = {0};
    char err[512];
    memset(&res, 0, sizeof res);
    assert_int_equal(ariel_fsck(dir, false, fsck_note, &log, &res, err, sizeof err), 0);
    assert_int_equal(res.segments_damaged, 0);

    /* damaged, then gone: a fresh process reads every other column, the payload not */
    snprintf(pat, sizeof pat, "%s/dict/d-*.dict", dir);
    assert_int_equal(glob(pat, 0, NULL, &g), 0);
    char dpath[600];
    snprintf(dpath, sizeof dpath, "%s", g.gl_pathv[0]);
    globfree(&g);
    struct stat st;
    assert_int_equal(stat(dpath, &st), 0);
    flip_byte(dpath, st.st_size / 2);
    in_child(child_dict_damaged, dir, NULL);
    assert_int_equal(unlink(dpath), 0);
    in_child(child_dict_damaged, dir, NULL);
    rm_dir(dir);
}

/* each of zstd's two forms of the dictionary (segment.c), and the one chosen by sample */
static void payload_dictionary(void **state)
{
    (void)state;
    payload_dictionary_form(ARIEL_DICT_FORM_AUTO);
    payload_dictionary_form(ARIEL_DICT_FORM_COPIED);
    payload_dictionary_form(ARIEL_DICT_FORM_IN_PLACE);
}

/*
 * A flush sorts the memtable's rows by time, ties in arrival order (sort_keys' merge of the
 * runs it finds): rows appended in runs of rising time that overlap, in a single run, and
 * in random order all come back from a scan in that order; with retention buckets, each
 * hour and bucket comes back as one run in that order.
 */
struct time_order {
    int64_t last_t;
    uint32_t last_id, rows, bad;
    bool buckets; /* in order within each run of one hour and bucket (a segment) */
    int last_group, runs, seen_groups;
    bool seen[64];
};

static int time_order_row(const struct strm_event *ev, void *arg)
{
    struct time_order *o = arg;
    int group = 0;
    if (o->buckets) { /* hours from T0's, times three buckets */
        group = (int)((ev->starttime / HOUR - T0 / HOUR) * 3 + bucket_by_qid(ev, NULL));
        if (group < 0 || group >= 64) {
            o->bad++;
            return 0;
        }
        if (!o->rows || group != o->last_group) {
            o->runs++;
            if (!o->seen[group]) o->seen_groups++;
            o->seen[group] = true;
        }
    }
    if (o->rows && group == o->last_group &&
        (ev->starttime < o->last_t || (ev->starttime == o->last_t && ev->qid < o->last_id)))
        o->bad++;
    o->last_group = group;
    o->last_t = ev->starttime;
    o->last_id = ev->qid;
    o->rows++;
    return 0;
}

static void flush_sorts_by_time(void **state)
{
    (void)state;
    for (int shape = 0; shape < 4; shape++) {
        char *dir = make_dir();
        struct ariel_options o = opts(dir);
        if (shape == 3) o.bucket_of = bucket_by_qid; /* segments per hour and bucket */
        struct ariel_store *s = open_store(&o);
        const uint32_t n = 5000;
        struct strm_batch *b = strm_batch_new(n);
        REQUIRE(b != NULL);
        uint64_t x = 88172645463325252ull;
        for (uint32_t id = 0; id < n; id++) {
            int64_t t;
            if (shape == 0) { /* runs of 100 rising, each starting a little before the last */
                t = T0 + (int64_t)(id / 100) * 70 + (id % 100);
            } else if (shape == 1) { /* one run, with ties */
                t = T0 + id / 3;
            } else { /* random, with ties; over three hours with buckets */
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                t = T0 + (int64_t)(x % (shape == 3 ? 3 * (uint64_t)HOUR : 2000));
            }
            gen_event(b, strm_batch_add(b), id, t);
        }
        REQUIRE(ariel_append(s, b) == 0);
        strm_batch_free(b);
        assert_int_equal(ariel_flush(s), 0);
        struct time_order ord = {.buckets = shape == 3};
        struct ariel_scan_opts so = {.tmin = INT64_MIN,
                                     .tmax = INT64_MAX,
                                     .colmask = ALL_COLS,
                                     .fn = time_order_row,
                                     .arg = &ord};
        REQUIRE(ariel_scan_ex(s, &so) == 0);
        assert_int_equal(ord.rows, n);
        assert_int_equal(ord.bad, 0);
        if (shape == 3) { /* each hour and bucket in one run: 4 hours (T0 is mid-hour) x 3 */
            assert_int_equal(ord.runs, ord.seen_groups);
            assert_int_equal(ord.seen_groups, 12);
        }
        ariel_close(s);
        rm_dir(dir);
    }
}

/* ---------------------------------------------------------------- compaction */

#define SEG_GLOB "events/*/*/*/*/seg-*.seg"

/*
 * Many small flushes leave 20 small segments in each of five hour partitions; compaction
 * merges each partition into one segment. Every row reads back field by field (binary
 * payloads, message slices, nulls), a scan holding the old snapshot still reads the deleted
 * inputs, the indexes still skip, and a crash between the merged segment's rename and the
 * deletion of its inputs (inputs put back) does not count a row twice.
 */
static void compaction_merges_small_segments(void **state)
{
    char *dir = make_dir(), keep[600];
    struct ariel_options o = opts(dir);
    struct strm_stats st = {0};
    o.segment_rows = 1000;
    o.no_compaction = false;
    o.compact_interval_ms = 3600000; /* only ariel_compact below */
    o.stats = &st;
    struct ariel_store *s = open_store(&o);
    const uint32_t n = 1000;
    for (uint32_t k = 0; k < n / 50; k++) {
        append_range(s, k * 50, (k + 1) * 50, 50);
        assert_int_equal(ariel_flush(s), 0);
    }
    assert_int_equal(glob_count(dir, SEG_GLOB), 100);
    append_range(s, n, n + 30, 30); /* and rows in the memtable, untouched */

    /* the inputs of one partition, linked aside: what a crash before their unlink leaves */
    glob_t g;
    char pat[600];
    snprintf(pat, sizeof pat, "%s/" SEG_GLOB, dir);
    assert_int_equal(glob(pat, 0, NULL, &g), 0);
    snprintf(keep, sizeof keep, "%s/keep", dir);
    assert_int_equal(mkdir(keep, 0755), 0);
    size_t nkept = 0;
    char kept_from[8][600];
    for (size_t i = 0; i < g.gl_pathc && nkept < 8; i++) {
        char to[700];
        snprintf(kept_from[nkept], sizeof kept_from[0], "%s", g.gl_pathv[i]);
        snprintf(to, sizeof to, "%s/%zu", keep, nkept);
        assert_int_equal(link(g.gl_pathv[i], to), 0);
        nkept++;
    }
    globfree(&g);

    struct ariel_snapshot *old = ariel_snapshot_take(s);
    assert_non_null(old);
    int merges = ariel_compact(s);
    assert_true(merges >= 5);
    assert_int_equal(glob_count(dir, SEG_GLOB), 5);
    assert_int_equal(STRM_STAT_GET(&st, store_compacted_segments), 100);
    assert_int_equal(STRM_STAT_GET(&st, store_compacted_rows), n);
    assert_int_equal(ariel_compact(s), 0); /* nothing left to merge */
    assert_exactly(s, n + 30);
    struct ariel_info info;
    ariel_info_get(s, &info);
    assert_int_equal(info.merged_segments, 5);
    assert_int_equal(info.segments, 5);

    /* the old snapshot reads the unlinked inputs through their descriptors */
    struct seen r = {
        .count = calloc(n + 31, sizeof(uint32_t)), .max = n + 31, .mask = ALL_COLS, .check = true};
    struct ariel_scan_opts so = {.tmin = INT64_MIN,
                                 .tmax = INT64_MAX,
                                 .colmask = ALL_COLS,
                                 .fn = collect,
                                 .arg = &r,
                                 .snap = old};
    assert_int_equal(ariel_scan_ex(s, &so), 0);
    assert_int_equal(so.skipped_unreadable + so.skipped_damaged, 0);
    assert_int_equal(r.rows, n + 30);
    assert_int_equal(r.bad, 0);
    free(r.count);
    ariel_snapshot_release(old);

    /* the merged segments' indexes skip: a source address of one row */
    struct strm_ip ip;
    strm_ip_from_v4(&ip, 0x0a000000u | 501);
    struct probe full = {.col = STRM_COL_SOURCEIP, .ip = ip}, fast = full;
    struct ariel_scan_opts rep = scan_pair(s, STRM_COL_SOURCEIP, ARIEL_PRED_IN, &ip, 16,
                                           1ull << STRM_COL_SOURCEIP, probe_row, &full, &fast);
    assert_int_equal(fast.hits, full.hits);
    assert_int_equal(full.hits, 1);
    assert_true(rep.skipped_index + rep.skipped_minmax >= 3);
    ariel_close(s); /* flushes the memtable: five more small segments */
    size_t base = glob_count(dir, SEG_GLOB);
    assert_int_equal(base, 10);

    /* a crash before the inputs' unlink: they are back, the merged segments list them */
    for (size_t i = 0; i < nkept; i++) {
        char from[700];
        snprintf(from, sizeof from, "%s/%zu", keep, i);
        assert_int_equal(rename(from, kept_from[i]), 0);
    }
    assert_int_equal(glob_count(dir, SEG_GLOB), base + nkept);
    o.read_only = true; /* a reader ignores them */
    s = open_store(&o);
    assert_exactly(s, n + 30);
    ariel_close(s);
    assert_int_equal(glob_count(dir, SEG_GLOB), base + nkept);
    o.read_only = false; /* the writer deletes them */
    s = open_store(&o);
    assert_exactly(s, n + 30);
    ariel_close(s);
    assert_int_equal(glob_count(dir, SEG_GLOB), base);

    /* merged again with newer small segments: the list covers the first inputs too */
    s = open_store(&o);
    for (uint32_t k = 0; k < 4; k++) {
        append_range(s, n + 30 + k * 10, n + 40 + k * 10, 10);
        assert_int_equal(ariel_flush(s), 0);
    }
    assert_true(ariel_compact(s) >= 1);
    assert_exactly(s, n + 70);
    ariel_close(s);
    s = open_store(&o);
    assert_exactly(s, n + 70);
    ariel_close(s);
    rm_dir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(roundtrip_all_types),
        cmocka_unit_test(time_range_pruning),
        cmocka_unit_test(colmask_leaves_others_empty),
        cmocka_unit_test(flush_then_reopen_exactly_once),
        cmocka_unit_test(wal_replay_exactly_once),
        cmocka_unit_test(wal_syncer_interval),
        cmocka_unit_test(wal_file_reuse),
        cmocka_unit_test(flush_pieces_parallel),
        cmocka_unit_test(torn_wal_tail),
        cmocka_unit_test(corrupt_segment_skipped),
        cmocka_unit_test(read_only_beside_writer),
        cmocka_unit_test(crash_kill9_loses_nothing_acknowledged),
        cmocka_unit_test(read_only_during_writes),
        cmocka_unit_test(concurrent_scan_while_appending),
        cmocka_unit_test(io_errors_leave_store_consistent),
        cmocka_unit_test(fsync_policies_and_tick),
        cmocka_unit_test(scan_stops_early),
        cmocka_unit_test(fsck_finds_and_quarantines),
        cmocka_unit_test(info_matches_data),
        cmocka_unit_test(retention_by_age),
        cmocka_unit_test(retention_buckets),
        /* figures, with ARIEL_BENCH=1 only */
        cmocka_unit_test(flow_row_layouts),
        cmocka_unit_test(flows_table_roundtrip),
        cmocka_unit_test(flow_wal_packed),
        cmocka_unit_test(flows_wal_replay),
        cmocka_unit_test(narrow_and_ipv4_encodings),
        cmocka_unit_test(string_blocks),
        cmocka_unit_test(token_index_matches_brute_force),
        cmocka_unit_test(index_skipping_matches_brute_force),
        cmocka_unit_test(block_minmax_matches_brute_force),
        cmocka_unit_test(compaction_merges_small_segments),
        cmocka_unit_test(string_dictionary),
        cmocka_unit_test(payload_dictionary),
        cmocka_unit_test(flush_sorts_by_time),
        cmocka_unit_test(memtables_queue_behind_the_flusher),
        cmocka_unit_test(bench_ingest),
        cmocka_unit_test(corpus_compression),
    };
    size_t n = sizeof tests / sizeof tests[0] - (getenv("ARIEL_BENCH") ? 0 : 2);
    strm_log_set_level(getenv("ARIEL_TEST_LOG") ? STRM_LOG_DEBUG : STRM_LOG_ERROR);
    cmocka_set_message_output(CM_OUTPUT_TAP);
    return _cmocka_run_group_tests("ariel", tests, n, NULL, NULL);
}
