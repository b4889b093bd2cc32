/*
 * wal.c - the write-ahead log of ariel.
 *
 * <root>/wal/wal-<first seq, 16 hex>.log files, each a sequence of records, one per appended
 * batch:
 *
 *   u32 magic "AWL1" | u32 len | u64 checksum | u64 first_seq | u32 rows | u32 format
 *   len bytes: rows rows, sequence numbers first_seq, first_seq+1..., in the row format
 *     (row.c; format ARIEL_WAL_ROWS) or packed flow rows (ariel_int.h; ARIEL_WAL_FLOWS, a
 *     flows store's records: the write of the compact layout's 163 bytes per flow was the
 *     largest item of flow ingest). Replay hands both to its callback as rows.
 *
 * checksum = XXH3_64bits over the header bytes after it (first_seq, rows, format) followed
 * by the len row bytes, so a torn or half-written record never passes. A record is written
 * with one pwritev at the file's known size; a file rolls to a new one at ARIEL_WAL_ROLL bytes.
 * The records of one file are consecutive: the first starts at the file name's seq and each
 * next one where the one before ended.
 *
 * Reuse. A file whose records are all in segments is renamed <dir>/free-<n>.log (up to
 * ARIEL_WAL_SPARES of them; the rest are deleted), and the next new file is such a spare,
 * renamed to its wal- name and overwritten from offset 0. Writing over pages that are in the
 * page cache and blocks that are allocated costs the appending thread about half what
 * growing a fresh file does (page allocation, ext4 delayed-allocation reservations), and
 * deleting a 64 MiB file is saved too. Until the new records reach its end, such a file
 * holds the old records after the new: a record whose first_seq is not the expected next one
 * (the old ones are all lower) ends the file's valid data, as a torn record does, but
 * silently; the writer cuts the old tail off when it rolls or closes the file, recovery when
 * it finds one after a crash. A read-only reader that meets such a tail, or a bad record,
 * in a file whose name is gone meanwhile was overtaken by a reuse and starts over.
 *
 * Invariants:
 *  - a record that ariel_wal_append reported as written is complete in the file; one it
 *    reported as failed is cut off again (ftruncate back), so the file never carries garbage
 *    in the middle. If even the cut fails, the file is abandoned (the next record starts a
 *    new file) and the caller burns the record's sequence numbers, so no two records ever
 *    claim the same sequence numbers;
 *  - replay stops at the first bad record of the last file (a torn tail from a crash, cut off
 *    unless read-only) and skips the rest of an earlier file after logging it. Replay changes
 *    nothing but that cut, and the cut is idempotent, so a crash during recovery is harmless.
 */
#include "ariel/ariel_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#define XXH_INLINE_ALL /* static state type, and inlined hashing on the hot path */
#include <xxhash.h>

static bool is_spare_name(const char *n)
{
    size_t l = strlen(n);
    return l == 5 + 16 + 4 && strncmp(n, "free-", 5) == 0 && strcmp(n + 21, ".log") == 0;
}

static bool is_wal_name(const char *n)
{
    size_t l = strlen(n);
    return l == 4 + 16 + 4 && strncmp(n, "wal-", 4) == 0 && strcmp(n + 20, ".log") == 0;
}

static void spare_path(const struct ariel_wal *w, uint64_t id, char *p, size_t len)
{
    snprintf(p, len, "%s/free-%016" PRIx64 ".log", w->dir, id);
}

/* Deletes the files of the WAL directory whose names match (what: for the log). */
static void delete_matching(const struct ariel_wal *w, bool (*match)(const char *),
                            const char *what)
{
    char p[PATH_MAX + 300];
    DIR *d = opendir(w->dir);
    struct dirent *de;
    if (!d) return;
    while ((de = readdir(d))) {
        if (!match(de->d_name)) continue;
        snprintf(p, sizeof p, "%s/%s", w->dir, de->d_name);
        if (unlink(p) != 0 && errno != ENOENT)
            LOG_WARN(ARIEL_COMP, "cannot delete %s %s: %s", what, p, strerror(errno));
    }
    closedir(d);
}

/* Deletes the spares: the ones listed, and with all, any other free- file in the directory
 * (left by a process that ended without closing the store). */
static void spares_delete(struct ariel_wal *w, bool all)
{
    char p[PATH_MAX + 300];
    for (int i = 0; i < w->nspare; i++) {
        spare_path(w, w->spare_id[i], p, sizeof p);
        if (unlink(p) != 0 && errno != ENOENT)
            LOG_WARN(ARIEL_COMP, "cannot delete spare WAL file %s: %s", p, strerror(errno));
    }
    w->nspare = 0;
    if (all) delete_matching(w, is_spare_name, "spare WAL file");
}

void ariel_wal_init(struct ariel_wal *w, const char *root, enum strm_fsync_policy policy,
                    uint64_t existing_bytes)
{
    memset(w, 0, sizeof *w);
    snprintf(w->dir, sizeof w->dir, "%s/wal", root);
    w->fd = -1;
    w->sync_fd = -1;
    w->policy = policy;
    w->bytes_total = existing_bytes;
    w->last_sync_ms = strm_mono_ms();
    spares_delete(w, true);
}

static void wal_log_error(struct ariel_wal *w, const char *what, int err)
{
    if (err != w->last_errno)
        LOG_ERROR(ARIEL_COMP, "%s %s: %s", what, w->path[0] ? w->path : w->dir, strerror(err));
    w->last_errno = err;
}

/* Renames the most recently retired spare (the likeliest to be cached) to w->path and opens
 * it; -1 when there is none or that failed (the spare is then deleted). */
static int spare_take(struct ariel_wal *w)
{
    char p[PATH_MAX + 300];
    while (w->nspare > 0) {
        spare_path(w, w->spare_id[--w->nspare], p, sizeof p);
        if (rename(p, w->path) == 0) {
            int fd = open(w->path, O_WRONLY | O_CLOEXEC);
            if (fd >= 0) return fd;
            (void)unlink(w->path);
        } else {
            (void)unlink(p);
        }
    }
    return -1;
}

static int wal_open_new(struct ariel_wal *w, uint64_t first_seq)
{
    struct stat st;
    bool reused = false;
    snprintf(w->path, sizeof w->path, "%s/wal-%016" PRIx64 ".log", w->dir, first_seq);
    /* a file of that name holds records up to first_seq (a first append that failed and was
     * cut back): appended to. Else a spare, else a new file. */
    w->fd = open(w->path, O_WRONLY | O_CLOEXEC);
    if (w->fd < 0 && errno == ENOENT) {
        reused = (w->fd = spare_take(w)) >= 0;
        if (!reused) w->fd = open(w->path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    }
    if (w->fd < 0 || fstat(w->fd, &st) != 0) goto fail;
    w->size = reused ? 0 : (uint64_t)st.st_size;
    w->reused_len = reused ? (uint64_t)st.st_size : 0;
    if (w->policy != STRM_FSYNC_NEVER && ariel_fsync_dir(w->dir) != 0) goto fail;
    if (w->syncer) { /* the syncer's own handle on the file (the writer may close its own) */
        int d = fcntl(w->fd, F_DUPFD_CLOEXEC, 0);
        if (d < 0) goto fail;
        pthread_mutex_lock(&w->sl);
        w->sync_fd = d;
        pthread_mutex_unlock(&w->sl);
    }
    return 0;
fail:
    wal_log_error(w, "cannot create WAL file", errno);
    if (w->fd >= 0) close(w->fd);
    w->fd = -1;
    return STRM_ERR_IO;
}

/*
 * Hands the syncer's handle on the current file over to its next round (sync: fsync it
 * first, then close; else just close). Returns false when the retired list is full: the
 * caller then syncs itself.
 */
static bool syncer_retire(struct ariel_wal *w, bool sync)
{
    bool ok = true;
    pthread_mutex_lock(&w->sl);
    if (w->sync_fd >= 0) {
        if (!sync) {
            close(w->sync_fd);
        } else if (w->nretired < (int)(sizeof w->retired / sizeof w->retired[0])) {
            w->retired[w->nretired++] = w->sync_fd;
            pthread_cond_signal(&w->scv);
        } else {
            close(w->sync_fd);
            ok = false;
        }
        w->sync_fd = -1;
    } else {
        ok = !sync;
    }
    atomic_store(&w->dirty, false);
    pthread_mutex_unlock(&w->sl);
    return ok;
}

static void wal_close_file(struct ariel_wal *w)
{
    if (w->fd < 0) return;
    /* a reused file: its old records past the new ones go (replay would stop there anyway) */
    if (w->reused_len > w->size && ftruncate(w->fd, (off_t)w->size) != 0)
        wal_log_error(w, "cannot cut the old tail of reused WAL file", errno);
    w->reused_len = 0;
    bool handed = w->syncer && syncer_retire(w, w->pending);
    if (!handed && w->pending && w->policy != STRM_FSYNC_NEVER && fdatasync(w->fd) != 0)
        wal_log_error(w, "fsync of WAL file", errno);
    close(w->fd);
    w->fd = -1;
    w->pending = false;
}

static int pwritev_all(int fd, struct iovec *iov, int cnt, uint64_t off)
{
    while (cnt > 0) {
        ssize_t n = pwritev(fd, iov, cnt > IOV_MAX ? IOV_MAX : cnt, (off_t)off);
        if (n < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        if (n == 0) {
            errno = EIO;
            return -1;
        }
        off += (uint64_t)n;
        while (cnt > 0 && (size_t)n >= iov->iov_len) {
            n -= (ssize_t)iov->iov_len;
            iov++;
            cnt--;
        }
        if (cnt > 0) {
            iov->iov_base = (char *)iov->iov_base + n;
            iov->iov_len -= (size_t)n;
        }
    }
    return 0;
}

int ariel_wal_append(struct ariel_wal *w, uint64_t first_seq, uint32_t rows, uint32_t format,
                     const struct ariel_wal_piece *pieces, int npieces, bool *seq_burnt)
{
    uint8_t hdr[ARIEL_WAL_HDR];
    struct iovec stack_iov[33], *iov = stack_iov;
    uint64_t len = 0, sum;
    uint32_t magic = ARIEL_WAL_MAGIC, len32;
    XXH3_state_t st;
    int rc = STRM_ERR_IO, err;

    *seq_burnt = false;
    for (int i = 0; i < npieces; i++)
        len += pieces[i].len;
    if (len > ARIEL_WAL_MAX_RECORD) return STRM_ERR_INVAL;
    if (w->fd >= 0 && w->size >= ARIEL_WAL_ROLL) wal_close_file(w);
    if (w->fd < 0 && wal_open_new(w, first_seq) != 0) return STRM_ERR_IO;
    if (npieces + 1 > (int)(sizeof stack_iov / sizeof stack_iov[0])) {
        iov = malloc(sizeof *iov * (size_t)(npieces + 1));
        if (!iov) return STRM_ERR_NOMEM;
    }

    len32 = (uint32_t)len;
    memcpy(hdr, &magic, 4);
    memcpy(hdr + 4, &len32, 4);
    memcpy(hdr + 16, &first_seq, 8);
    memcpy(hdr + 24, &rows, 4);
    memcpy(hdr + 28, &format, 4);
    XXH3_64bits_reset(&st);
    XXH3_64bits_update(&st, hdr + 16, 16);
    for (int i = 0; i < npieces; i++)
        XXH3_64bits_update(&st, pieces[i].p, pieces[i].len);
    sum = XXH3_64bits_digest(&st);
    memcpy(hdr + 8, &sum, 8);

    iov[0].iov_base = hdr;
    iov[0].iov_len = sizeof hdr;
    for (int i = 0; i < npieces; i++) {
        iov[i + 1].iov_base = (void *)pieces[i].p;
        iov[i + 1].iov_len = pieces[i].len;
    }
    if (pwritev_all(w->fd, iov, npieces + 1, w->size) != 0) {
        err = errno;
        wal_log_error(w, "cannot write WAL file", err);
        goto undo;
    }
    if (w->policy == STRM_FSYNC_BATCH) {
        if (fdatasync(w->fd) != 0) {
            err = errno;
            wal_log_error(w, "fsync of WAL file", err);
            goto undo;
        }
        w->last_sync_ms = strm_mono_ms();
    } else {
        w->pending = true;
        if (w->syncer) atomic_store_explicit(&w->dirty, true, memory_order_release);
    }
    w->size += sizeof hdr + len;
    w->bytes_total += sizeof hdr + len;
    w->last_errno = 0;
    rc = 0;
    goto out;

undo:
    /* Cut the partial record off so the file stays a clean sequence of records (and a reused
     * file loses its old tail with it). */
    w->reused_len = 0;
    if (ftruncate(w->fd, (off_t)w->size) != 0) {
        wal_log_error(w, "cannot cut back WAL file", errno);
        if (w->syncer) (void)syncer_retire(w, w->pending); /* what came before: still synced */
        close(w->fd);
        w->fd = -1;
        *seq_burnt = true;
    }
out:
    if (iov != stack_iov) free(iov);
    return rc;
}

/*
 * One round of the syncer: fsyncs the retired files and, when written since the last round,
 * the current one. The fds are taken under sl and synced outside it, so the writer only ever
 * waits for a few list operations.
 */
static void syncer_round(struct ariel_wal *w)
{
    int fds[sizeof w->retired / sizeof w->retired[0] + 1], nfd = 0, nold;
    pthread_mutex_lock(&w->sl);
    for (int i = 0; i < w->nretired; i++)
        fds[nfd++] = w->retired[i];
    nold = nfd;
    w->nretired = 0;
    if (w->sync_fd >= 0 && atomic_exchange(&w->dirty, false)) {
        int d = fcntl(w->sync_fd, F_DUPFD_CLOEXEC, 0);
        if (d >= 0)
            fds[nfd++] = d;
        else
            atomic_store(&w->dirty, true); /* no fd to spare: the next round */
    }
    pthread_mutex_unlock(&w->sl);
    for (int i = 0; i < nfd; i++) {
        if (fdatasync(fds[i]) != 0) {
            int e = errno;
            if (e != w->sync_errno)
                LOG_ERROR(ARIEL_COMP, "fsync of WAL file in %s: %s", w->dir, strerror(e));
            w->sync_errno = e;
            if (i >= nold) atomic_store(&w->dirty, true); /* the current file: again */
        } else {
            w->sync_errno = 0;
        }
        close(fds[i]);
    }
}

static void *syncer_main(void *arg)
{
    struct ariel_wal *w = arg;
    pthread_mutex_lock(&w->sl);
    while (!w->sstop) {
        struct timespec ts = strm_deadline(CLOCK_MONOTONIC, w->interval_ms);
        /* woken early only to stop, or when the retired list fills */
        while (!w->sstop && w->nretired < (int)(sizeof w->retired / sizeof w->retired[0]) / 2 &&
               pthread_cond_timedwait(&w->scv, &w->sl, &ts) == 0)
            ;
        if (w->sstop) break;
        pthread_mutex_unlock(&w->sl);
        syncer_round(w);
        pthread_mutex_lock(&w->sl);
    }
    pthread_mutex_unlock(&w->sl);
    return NULL;
}

int ariel_wal_syncer_start(struct ariel_wal *w, int interval_ms)
{
    pthread_condattr_t ca;
    if (w->syncer || w->policy != STRM_FSYNC_INTERVAL) return 0;
    w->interval_ms = interval_ms > 0 ? interval_ms : 1000;
    if (pthread_mutex_init(&w->sl, NULL) != 0) return STRM_ERR_NOMEM;
    if (pthread_condattr_init(&ca) != 0 || pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
        pthread_cond_init(&w->scv, &ca) != 0) {
        pthread_mutex_destroy(&w->sl);
        return STRM_ERR_NOMEM;
    }
    pthread_condattr_destroy(&ca);
    if (w->fd >= 0 && (w->sync_fd = fcntl(w->fd, F_DUPFD_CLOEXEC, 0)) < 0) goto fail;
    atomic_store(&w->dirty, w->pending);
    w->syncer = true;
    if (pthread_create(&w->syncer_tid, NULL, syncer_main, w) != 0) goto fail;
    pthread_setname_np(w->syncer_tid, "ariel-wal-sync");
    return 0;
fail:
    w->syncer = false;
    if (w->sync_fd >= 0) close(w->sync_fd);
    w->sync_fd = -1;
    pthread_cond_destroy(&w->scv);
    pthread_mutex_destroy(&w->sl);
    return STRM_ERR_IO;
}

/* Stops the syncer after a last round (what it was handed is synced). */
static void syncer_stop(struct ariel_wal *w)
{
    if (!w->syncer) return;
    pthread_mutex_lock(&w->sl);
    w->sstop = true;
    pthread_cond_signal(&w->scv);
    pthread_mutex_unlock(&w->sl);
    pthread_join(w->syncer_tid, NULL);
    syncer_round(w);
    if (w->sync_fd >= 0) close(w->sync_fd);
    w->sync_fd = -1;
    w->syncer = false;
    pthread_cond_destroy(&w->scv);
    pthread_mutex_destroy(&w->sl);
}

int ariel_wal_sync(struct ariel_wal *w)
{
    if (w->fd < 0 || !w->pending) return 0;
    w->last_sync_ms = strm_mono_ms();
    if (fdatasync(w->fd) != 0) {
        wal_log_error(w, "fsync of WAL file", errno);
        return STRM_ERR_IO;
    }
    w->pending = false;
    return 0;
}

void ariel_wal_drop_all(struct ariel_wal *w)
{
    if (w->syncer) (void)syncer_retire(w, false); /* the files go: nothing to sync */
    if (w->fd >= 0) close(w->fd);
    w->fd = -1;
    w->pending = false;
    w->reused_len = 0;
    w->path[0] = 0;
    w->bytes_total = 0;
    spares_delete(w, false);
    delete_matching(w, is_wal_name, "covered WAL file");
}

void ariel_wal_roll(struct ariel_wal *w)
{
    wal_close_file(w);
    w->path[0] = 0; /* no open file: drop_before may take every file below its seq */
}

void ariel_wal_drop_before(struct ariel_wal *w, uint64_t seq)
{
    DIR *d;
    struct dirent *de;
    char p[PATH_MAX + 300];
    uint64_t remaining = 0;
    if (!(d = opendir(w->dir))) return;
    while ((de = readdir(d))) {
        if (!is_wal_name(de->d_name)) continue;
        uint64_t first = strtoull(de->d_name + 4, NULL, 16);
        snprintf(p, sizeof p, "%s/%s", w->dir, de->d_name);
        /* a file holds seqs from its name's up to the next file's: all below seq when the
         * next file starts at or below seq; the writer rolled a new file at that boundary */
        if (first < seq && (w->fd < 0 || strcmp(p, w->path) != 0)) {
            if (w->nspare < ARIEL_WAL_SPARES && !w->no_spares) {
                char sp[PATH_MAX + 300];
                uint64_t id = w->next_spare_id++;
                spare_path(w, id, sp, sizeof sp);
                if (rename(p, sp) == 0) {
                    w->spare_id[w->nspare++] = id;
                    continue;
                }
            }
            if (unlink(p) != 0 && errno != ENOENT)
                LOG_WARN(ARIEL_COMP, "cannot delete covered WAL file %s: %s", p, strerror(errno));
            continue;
        }
        struct stat st;
        if (stat(p, &st) == 0) remaining += (uint64_t)st.st_size;
    }
    closedir(d);
    w->bytes_total = remaining;
}

void ariel_wal_spares_off(struct ariel_wal *w, bool off)
{
    w->no_spares = off;
    if (off) spares_delete(w, false);
}

void ariel_wal_close(struct ariel_wal *w)
{
    wal_close_file(w);
    syncer_stop(w);
    spares_delete(w, false);
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Reads all of fd into a new buffer. */
static int read_file(int fd, uint8_t **out, size_t *outlen)
{
    struct stat st;
    uint8_t *buf;
    size_t cap, len = 0;
    if (fstat(fd, &st) != 0) return -1;
    cap = (size_t)st.st_size + 1;
    if (!(buf = malloc(cap))) return -1;
    for (;;) {
        ssize_t n;
        if (len == cap) {
            uint8_t *nb = realloc(buf, cap * 2);
            if (!nb) goto fail;
            buf = nb;
            cap *= 2;
        }
        n = read(fd, buf + len, cap - len);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) goto fail;
        if (n == 0) break;
        len += (size_t)n;
    }
    *out = buf;
    *outlen = len;
    return 0;
fail:
    free(buf);
    return -1;
}

/* The seq a WAL file's name gives its first record. */
static uint64_t name_seq(const char *name)
{
    return strtoull(name + 4, NULL, 16);
}

/*
 * Returns the length of the valid prefix of the file (named with seq first); *bad tells
 * whether a torn or corrupt record followed, *stale whether an intact record out of sequence
 * did (the old content of a reused file).
 */
static int replay_buf(const char *path, const uint8_t *buf, size_t len, uint64_t first,
                      ariel_wal_record_fn fn, void *arg, uint64_t *first_seq_seen, size_t *valid,
                      bool *bad, bool *stale)
{
    size_t pos = 0;
    uint64_t expect = first;
    *bad = false;
    *stale = false;
    while (pos < len) {
        uint32_t magic, rlen, rows, format;
        uint64_t sum, first_seq;
        XXH3_state_t st;
        int rc;
        if (len - pos < ARIEL_WAL_HDR) goto bad;
        memcpy(&magic, buf + pos, 4);
        memcpy(&rlen, buf + pos + 4, 4);
        memcpy(&sum, buf + pos + 8, 8);
        memcpy(&first_seq, buf + pos + 16, 8);
        memcpy(&rows, buf + pos + 24, 4);
        memcpy(&format, buf + pos + 28, 4);
        if (magic != ARIEL_WAL_MAGIC || rlen > ARIEL_WAL_MAX_RECORD ||
            rlen > len - pos - ARIEL_WAL_HDR || rows == 0 || format > ARIEL_WAL_FLOWS)
            goto bad;
        XXH3_64bits_reset(&st);
        XXH3_64bits_update(&st, buf + pos + 16, 16);
        XXH3_64bits_update(&st, buf + pos + ARIEL_WAL_HDR, rlen);
        if (XXH3_64bits_digest(&st) != sum) goto bad;
        if (first_seq != expect) {
            *stale = true;
            break;
        }
        expect = first_seq + rows;
        if (format == ARIEL_WAL_FLOWS) {
            uint8_t *rowbuf;
            size_t rowlen;
            rc = ariel_flowpack_unpack(first_seq, rows, buf + pos + ARIEL_WAL_HDR, rlen, &rowbuf,
                                       &rowlen);
            if (rc == 0) {
                rc = fn(first_seq, rows, rowbuf, rowlen, arg);
                free(rowbuf);
            }
        } else {
            rc = fn(first_seq, rows, buf + pos + ARIEL_WAL_HDR, rlen, arg);
        }
        if (rc == STRM_ERR_CORRUPT) goto bad;
        if (rc != 0) return rc;
        if (*first_seq_seen == UINT64_MAX) *first_seq_seen = first_seq;
        pos += ARIEL_WAL_HDR + rlen;
    }
    *valid = pos;
    return 0;
bad:
    (void)path;
    *valid = pos;
    *bad = true;
    return 0;
}

int ariel_wal_replay(const char *root, bool read_only, ariel_wal_record_fn fn, void *arg,
                     uint64_t *bytes, uint64_t *first_seq_seen, char *err, size_t errlen)
{
    char dir[PATH_MAX], p[PATH_MAX + 300];
    char **names = NULL;
    size_t n = 0, cap = 0;
    DIR *d = NULL;
    struct dirent *de;
    uint8_t *buf = NULL;
    int fd = -1, rc = 0;

    *bytes = 0;
    *first_seq_seen = UINT64_MAX;
    snprintf(dir, sizeof dir, "%s/wal", root);
    if (!(d = opendir(dir))) {
        if (errno == ENOENT && read_only) return 0;
        snprintf(err, errlen, "cannot open %s: %s", dir, strerror(errno));
        return STRM_ERR_IO;
    }
    while ((de = readdir(d))) {
        if (!is_wal_name(de->d_name)) continue;
        if (n == cap) {
            char **nn = realloc(names, sizeof *names * (cap ? cap * 2 : 16));
            if (!nn) goto nomem;
            names = nn;
            cap = cap ? cap * 2 : 16;
        }
        if (!(names[n] = strdup(de->d_name))) goto nomem;
        n++;
    }
    closedir(d);
    d = NULL;
    if (n) qsort(names, n, sizeof *names, cmp_names);

    for (size_t i = 0; i < n; i++) {
        bool last = i + 1 == n, bad, stale;
        size_t len, valid;
        snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        fd = open(p, (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
        if (fd < 0 && errno == ENOENT && read_only) {
            rc = STRM_ERR_BUSY; /* a writer dropped it meanwhile: the caller starts over */
            goto out;
        }
        if (fd < 0 || read_file(fd, &buf, &len) != 0) {
            snprintf(err, errlen, "cannot read WAL file %s: %s", p, strerror(errno));
            rc = STRM_ERR_IO;
            goto out;
        }
        rc = replay_buf(p, buf, len, name_seq(names[i]), fn, arg, first_seq_seen, &valid, &bad,
                        &stale);
        if (rc != 0) {
            snprintf(err, errlen, "replaying WAL file %s: %s", p, strm_err_str(rc));
            goto out;
        }
        if ((bad || stale) && read_only && access(p, F_OK) != 0) {
            rc = STRM_ERR_BUSY; /* renamed for reuse while being read: the caller starts over */
            goto out;
        }
        if (stale && !read_only) {
            LOG_INFO(ARIEL_COMP,
                     "WAL file %s: old records of its earlier use at offset %zu cut off", p, valid);
            if (ftruncate(fd, (off_t)valid) != 0 || fsync(fd) != 0) {
                snprintf(err, errlen, "cannot cut old tail of %s: %s", p, strerror(errno));
                rc = STRM_ERR_IO;
                goto out;
            }
            len = valid;
        } else if (bad && last && !read_only) {
            LOG_WARN(ARIEL_COMP, "WAL file %s: torn tail at offset %zu (%zu bytes) cut off", p,
                     valid, len - valid);
            if (ftruncate(fd, (off_t)valid) != 0 || fsync(fd) != 0) {
                snprintf(err, errlen, "cannot cut torn tail of %s: %s", p, strerror(errno));
                rc = STRM_ERR_IO;
                goto out;
            }
            len = valid;
        } else if (bad && !last) {
            LOG_WARN(ARIEL_COMP,
                     "WAL file %s: corrupt record at offset %zu, rest of the file (%zu bytes) "
                     "skipped",
                     p, valid, len - valid);
        }
        *bytes += len;
        free(buf);
        buf = NULL;
        close(fd);
        fd = -1;
    }
    goto out;
nomem:
    snprintf(err, errlen, "out of memory listing %s", dir);
    rc = STRM_ERR_NOMEM;
out:
    if (d) closedir(d);
    if (fd >= 0) close(fd);
    free(buf);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return rc;
}

/* ---------------------------------------------------------------- fsck */

struct check_state {
    uint64_t records;
};

/* A record passed its checksum; its rows must decode too, with consecutive seqs. */
static int check_record(uint64_t first_seq, uint32_t rows, const uint8_t *data, size_t len,
                        void *arg)
{
    struct check_state *cs = arg;
    struct strm_event ev;
    size_t pos = 0;
    uint64_t seq;
    for (uint32_t i = 0; i < rows; i++) {
        size_t n = ariel_row_decode(data + pos, len - pos, &seq, &ev);
        if (!n || seq != first_seq + i) return STRM_ERR_CORRUPT;
        pos += n;
    }
    if (pos != len) return STRM_ERR_CORRUPT;
    cs->records++;
    return 0;
}

int ariel_wal_check(const char *root, bool repair, bool in_use, ariel_fsck_fn report, void *arg,
                    struct ariel_fsck_result *res, char *err, size_t errlen)
{
    char dir[PATH_MAX], p[PATH_MAX + 300], what[160];
    char **names = NULL;
    size_t n = 0, cap = 0;
    DIR *d;
    struct dirent *de;
    uint8_t *buf = NULL;
    int rc = 0;

    snprintf(dir, sizeof dir, "%s/wal", root);
    if (!(d = opendir(dir))) {
        if (errno == ENOENT) return 0;
        snprintf(err, errlen, "cannot open %s: %s", dir, strerror(errno));
        return STRM_ERR_IO;
    }
    while ((de = readdir(d))) {
        if (!is_wal_name(de->d_name)) continue;
        if (n == cap) {
            char **nn = realloc(names, sizeof *names * (cap ? cap * 2 : 16));
            if (!nn) goto nomem;
            names = nn;
            cap = cap ? cap * 2 : 16;
        }
        if (!(names[n] = strdup(de->d_name))) goto nomem;
        n++;
    }
    closedir(d);
    d = NULL;
    if (n) qsort(names, n, sizeof *names, cmp_names);
    for (size_t i = 0; i < n; i++) {
        bool last = i + 1 == n, bad, stale;
        size_t len, valid;
        uint64_t first = UINT64_MAX;
        struct check_state cs = {0};
        snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        int fd = open(p, (repair && last ? O_RDWR : O_RDONLY) | O_CLOEXEC);
        if (fd < 0 && errno == ENOENT && in_use) continue; /* dropped by the writer meanwhile */
        if (fd < 0 || read_file(fd, &buf, &len) != 0) {
            if (fd >= 0) close(fd);
            snprintf(err, errlen, "cannot read WAL file %s: %s", p, strerror(errno));
            rc = STRM_ERR_IO;
            goto out;
        }
        /* an old tail of a reused file is no damage: recovery cuts it off silently */
        replay_buf(p, buf, len, name_seq(names[i]), check_record, &cs, &first, &valid, &bad,
                   &stale);
        if ((bad || stale) && in_use && access(p, F_OK) != 0) { /* reused while being read */
            close(fd);
            free(buf);
            buf = NULL;
            continue;
        }
        res->wal_files++;
        res->wal_records += cs.records;
        /* the writer may be appending to the last file of a running store right now */
        if (bad && !(last && in_use)) {
            res->wal_damaged++;
            snprintf(what, sizeof what, "%s WAL record (%zu bytes from here %s)",
                     last ? "torn or corrupt" : "corrupt", len - valid,
                     last ? "are cut off by recovery" : "are skipped by recovery");
            if (report) report(p, (int64_t)valid, what, arg);
            if (repair && last) {
                if (ftruncate(fd, (off_t)valid) != 0 || fsync(fd) != 0) {
                    snprintf(err, errlen, "cannot cut torn tail of %s: %s", p, strerror(errno));
                    close(fd);
                    rc = STRM_ERR_IO;
                    goto out;
                }
                LOG_WARN(ARIEL_COMP, "fsck: WAL file %s: cut at offset %zu (%zu bytes)", p, valid,
                         len - valid);
                res->wal_truncated_bytes += len - valid;
            }
        }
        close(fd);
        free(buf);
        buf = NULL;
    }
    goto out;
nomem:
    snprintf(err, errlen, "out of memory listing %s", dir);
    rc = STRM_ERR_NOMEM;
out:
    if (d) closedir(d);
    free(buf);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return rc;
}
