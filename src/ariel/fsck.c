/*
 * fsck.c - offline verification of an ariel store: `strm fsck`.
 *
 * Reads everything a search or a recovery would read, and judges it the same way: each
 * segment's header and column directory (ariel_seg_load), then each column on its own
 * (checksum, decompression, decoding: ariel_seg_scan with that one column), then every WAL
 * record (wal.c). Problems go to the caller's report function, one line per damaged thing.
 *
 * Repair changes only two things, and only under the store's LOCK (no instance running):
 * a damaged segment file is moved to <root>/quarantine/ (never deleted: an operator may still
 * want it), and a torn tail of the last WAL file is cut off, exactly as recovery would. The
 * rest of a quarantined segment's flush group stays usable: recovery keeps a group whose
 * missing members are no longer covered by the WAL (ariel.c).
 */
#include "ariel/ariel_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

struct fsck {
    const char *root;
    bool repair;
    ariel_fsck_fn report;
    void *arg;
    struct ariel_fsck_result *res;
    struct ariel_scan_ctx *ctx;
    int rc;
    char *err;
    size_t errlen;
};

static int ignore_row(const struct strm_event *ev, void *arg)
{
    (void)ev;
    (void)arg;
    return 0;
}

static void quarantine(struct fsck *f, const char *path)
{
    char dir[PATH_MAX + 16], dst[2 * PATH_MAX + 32];
    const char *base = strrchr(path, '/');
    snprintf(dir, sizeof dir, "%s/quarantine", f->root);
    snprintf(dst, sizeof dst, "%s/%s", dir, base ? base + 1 : path);
    if (ariel_mkdirs(dir) != 0 || rename(path, dst) != 0 || ariel_fsync_dir(dir) != 0) {
        LOG_ERROR(ARIEL_COMP, "fsck: cannot move %s to %s: %s", path, dir, strerror(errno));
        if (f->report) f->report(path, -1, "could not be moved to quarantine", f->arg);
        return;
    }
    LOG_WARN(ARIEL_COMP, "fsck: damaged segment %s moved to %s", path, dst);
    f->res->segments_quarantined++;
}

/* Verifies one segment file; returns true when it is sound. */
static bool check_segment(struct fsck *f, const char *path)
{
    struct ariel_segment *g;
    char err[PATH_MAX + 128], what[PATH_MAX + 160];
    bool ok = true;
    int rc = ariel_seg_load(path, &g, err, sizeof err);
    if (rc == STRM_ERR_NOMEM) {
        f->rc = rc;
        snprintf(f->err, f->errlen, "%s", err);
        return true;
    }
    if (rc != 0) {
        if (f->report) f->report(path, 0, err, f->arg);
        return false;
    }
    /* starttime first: a scan of any column reads it */
    for (int c0 = -1; c0 < STRM_COL__COUNT; c0++) {
        int stop = 0, c = c0 < 0 ? STRM_COL_STARTTIME : c0;
        if (g->col_index[c] < 0 || (c0 >= 0 && c == STRM_COL_STARTTIME)) continue;
        atomic_store(&g->bad, false); /* judge each column on its own */
        rc = ariel_seg_scan(g, f->ctx, INT64_MIN, INT64_MAX, 1ull << c, NULL, 0, ignore_row, NULL,
                            &stop);
        if (rc == STRM_ERR_NOMEM) {
            f->rc = rc;
            snprintf(f->err, f->errlen, "out of memory checking %s", path);
            break;
        }
        if (rc != 0) {
            const struct ariel_seg_col *dc = &g->cols[g->col_index[c]];
            snprintf(what, sizeof what, "column %s: %s", strm_event_cols[c].name,
                     rc == STRM_ERR_CORRUPT ? "checksum, decompression or decoding failed"
                                            : "cannot be read");
            if (f->report) f->report(path, (int64_t)dc->offset, what, f->arg);
            ok = false;
            /* every column is read together with starttime: they cannot be judged now */
            if (c == STRM_COL_STARTTIME) break;
        }
    }
    ariel_seg_unref(g);
    return ok;
}

static void walk_segments(struct fsck *f, const char *dir, int depth)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char p[PATH_MAX];
    if (!d) {
        if (errno != ENOENT && f->rc == 0) {
            f->rc = STRM_ERR_IO;
            snprintf(f->err, f->errlen, "cannot read directory %s: %s", dir, strerror(errno));
        }
        return;
    }
    while ((de = readdir(d)) && f->rc == 0) {
        if (de->d_name[0] == '.') continue;
        if ((size_t)snprintf(p, sizeof p, "%s/%s", dir, de->d_name) >= sizeof p) continue;
        if (depth < 4) {
            walk_segments(f, p, depth + 1);
            continue;
        }
        size_t l = strlen(de->d_name);
        if (strncmp(de->d_name, "seg-", 4) != 0 || l < 5 || strcmp(de->d_name + l - 4, ".seg") != 0)
            continue;
        f->res->segments++;
        if (check_segment(f, p)) continue;
        f->res->segments_damaged++;
        if (f->repair) quarantine(f, p);
    }
    closedir(d);
}

int ariel_fsck(const char *dir, bool repair, ariel_fsck_fn report, void *arg,
               struct ariel_fsck_result *res, char *err, size_t errlen)
{
    char p[PATH_MAX + 16];
    struct stat st;
    int lock_fd = -1, rc;
    bool in_use = false;
    struct fsck f = {.root = dir,
                     .repair = repair,
                     .report = report,
                     .arg = arg,
                     .res = res,
                     .err = err,
                     .errlen = errlen};

    memset(res, 0, sizeof *res);
    if (strlen(dir) >= PATH_MAX - 64 || stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "no store at %s", dir);
        return STRM_ERR_IO;
    }
    snprintf(p, sizeof p, "%s/LOCK", dir);
    lock_fd = open(p, (repair ? O_RDWR | O_CREAT : O_RDONLY) | O_CLOEXEC, 0644);
    if (lock_fd >= 0 && flock(lock_fd, LOCK_EX | LOCK_NB) != 0) in_use = true;
    if (repair && (lock_fd < 0 || in_use)) {
        snprintf(err, errlen, "%s is in use by a running instance: stop it to repair", dir);
        rc = lock_fd < 0 ? STRM_ERR_IO : STRM_ERR_BUSY;
        goto out;
    }
    if (!(f.ctx = ariel_scan_ctx_new())) {
        snprintf(err, errlen, "out of memory");
        rc = STRM_ERR_NOMEM;
        goto out;
    }
    for (int t = STRM_TABLE_EVENTS; t <= STRM_TABLE_FLOWS && f.rc == 0; t++) {
        snprintf(p, sizeof p, "%s/%s", dir, ariel_table_dir((enum strm_table)t));
        walk_segments(&f, p, 0);
    }
    if ((rc = f.rc) != 0) goto out;
    rc = ariel_wal_check(dir, repair, in_use, report, arg, res, err, errlen);
out:
    ariel_scan_ctx_free(f.ctx);
    if (lock_fd >= 0) close(lock_fd);
    return rc;
}
