/*
 * dict.c - the zstd dictionaries of the payload's blocks.
 *
 * A payload block of 16384 rows (4 MiB of log text) compresses well on its own, but a needle
 * search that keeps one row of it decompresses up to all of it. Blocks of about 128 KiB cost
 * a fifteenth of that per kept row, and lose little ratio when they are compressed with a
 * dictionary trained on the store's own payloads: on the bench/store mix 7.50x for 128 KiB
 * blocks with a 64 KiB dictionary, against 7.72x for 4 MiB blocks and 6.5x for 128 KiB
 * blocks without one.
 *
 * The segment writer trains a dictionary from a sample of the first big payload column it
 * writes, and again every ARIEL_DICT_RETRAIN segments (the mix of log sources changes).
 * Each one is a file of its own, written once and never changed:
 *
 *   <root>/dict/d-<id, 8 hex>.dict: u32 'ADC1', u32 id, u64 XXH3 of the dictionary, the
 *   dictionary (zstd's format; its own dictID is id)
 *
 * made durable (.tmp, fsync, rename, fsync dir) before any segment that uses it. A segment's
 * blocked payload names it in its directory entry (ARIEL_COLF_DICT, the id in the entry's
 * last 8 bytes). Readers load a dictionary once per process and check its hash first: a
 * damaged or missing one makes the column unreadable (reported like any damage), never
 * wrong. Dictionaries are small (ARIEL_DICT_BYTES, 256 KiB) and are not deleted.
 *
 * 256 KiB trained from up to 4 MiB, not 64 KiB from 2 MiB: the bigger one holds the
 * templates of more log source types, and zstd then finds longer matches, so it is both
 * faster and smaller (128 KiB blocks of the DSM mix, level 1: 522 MB/s at 5.08x before,
 * 776 MB/s at 8.45x; of the bench/store mix 600 -> 780 MB/s, 7.65x -> 7.85x).
 */
#include "ariel/ariel_int.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>
#include <zdict.h>
#include <zstd.h>

#define DICT_MAGIC 0x31434441u /* "ADC1" */
#define DICT_HEAD 16
#define DICT_SAMPLE_BYTES (4u << 20) /* of payloads to train from */
#define DICT_SAMPLE_MAX 20000        /* payloads at most */

static void dict_path(char *out, size_t len, const char *root, uint32_t id, bool tmp)
{
    snprintf(out, len, "%s/dict/d-%08" PRIx32 ".dict%s", root, id, tmp ? ".tmp" : "");
}

int ariel_dict_train(const char *root, const struct strm_str *samples, size_t n, size_t dict_cap,
                     uint8_t **dict, size_t *dictlen, uint32_t *id)
{
    size_t total = 0, step = 1, m = 0;
    for (size_t i = 0; i < n; i++)
        total += samples[i].len;
    if (n < 64 || total < 64 * 1024) return STRM_ERR_INVAL; /* too little to learn from */
    if (total > DICT_SAMPLE_BYTES) step = (total + DICT_SAMPLE_BYTES - 1) / DICT_SAMPLE_BYTES;
    if (n / step > DICT_SAMPLE_MAX) step = (n + DICT_SAMPLE_MAX - 1) / DICT_SAMPLE_MAX;
    size_t cap = DICT_SAMPLE_BYTES + 65536, pos = 0;
    uint8_t *buf = malloc(cap), *d = malloc(DICT_HEAD + dict_cap);
    size_t *sizes = malloc(sizeof *sizes * (n / step + 1));
    int rc = STRM_ERR_NOMEM;
    if (!buf || !d || !sizes) goto out;
    for (size_t i = 0; i < n; i += step) {
        size_t l = samples[i].len < 65536 ? samples[i].len : 65536;
        if (!l || pos + l > cap) continue;
        memcpy(buf + pos, samples[i].p, l);
        pos += l;
        sizes[m++] = l;
    }
    size_t dl = ZDICT_trainFromBuffer(d + DICT_HEAD, dict_cap, buf, sizes, (unsigned)m);
    if (ZDICT_isError(dl)) {
        LOG_DEBUG(ARIEL_COMP, "no payload dictionary: %s", ZDICT_getErrorName(dl));
        rc = STRM_ERR_INVAL;
        goto out;
    }
    uint32_t did = ZDICT_getDictID(d + DICT_HEAD, dl);
    if (!did) {
        rc = STRM_ERR_INVAL;
        goto out;
    }
    ariel_put32(d, DICT_MAGIC);
    ariel_put32(d + 4, did);
    ariel_put64(d + 8, XXH3_64bits(d + DICT_HEAD, dl));

    char dir[PATH_MAX + 8], path[PATH_MAX + 64], tmp[PATH_MAX + 64];
    struct stat st;
    snprintf(dir, sizeof dir, "%s/dict", root);
    dict_path(path, sizeof path, root, did, false);
    dict_path(tmp, sizeof tmp, root, did, true);
    rc = STRM_ERR_IO;
    if (stat(path, &st) == 0) goto out; /* an id taken already (1 in 2^32): keep the old */
    if (ariel_mkdirs(dir) != 0) goto io;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) goto io;
    if (ariel_write_all(fd, d, DICT_HEAD + dl, 0) != 0 || fsync(fd) != 0) {
        close(fd);
        unlink(tmp);
        goto io;
    }
    close(fd);
    if (rename(tmp, path) != 0 || ariel_fsync_dir(dir) != 0) {
        unlink(tmp);
        goto io;
    }
    memmove(d, d + DICT_HEAD, dl);
    *dict = d;
    *dictlen = dl;
    *id = did;
    d = NULL;
    rc = 0;
    LOG_INFO(ARIEL_COMP, "trained payload dictionary %s (%zu bytes from %zu payloads)", path, dl,
             m);
    goto out;
io:
    LOG_WARN(ARIEL_COMP, "cannot write payload dictionary %s: %s", path, strerror(errno));
out:
    free(buf);
    free(d);
    free(sizes);
    return rc;
}

/* ---------------------------------------------------------------- readers' cache */

struct dict_entry {
    struct dict_entry *next;
    char *root;
    uint32_t id;
    ZSTD_DDict *ddict; /* NULL: missing or damaged (logged once) */
};

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct dict_entry *cache;

static ZSTD_DDict *dict_load(const char *root, uint32_t id)
{
    char path[PATH_MAX + 64];
    struct stat st;
    uint8_t *b = NULL;
    ZSTD_DDict *dd = NULL;
    dict_path(path, sizeof path, root, id, false);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) != 0 || st.st_size < DICT_HEAD || st.st_size > (64 << 20)) {
        LOG_WARN(ARIEL_COMP, "payload dictionary %s: %s", path,
                 fd < 0 ? strerror(errno) : "bad size");
        goto out;
    }
    size_t len = (size_t)st.st_size;
    if (!(b = malloc(len))) goto out;
    if (ariel_read_all(fd, b, len, 0) != 0) {
        LOG_WARN(ARIEL_COMP, "payload dictionary %s: cannot read: %s", path, strerror(errno));
        goto out;
    }
    if (ariel_get32(b) != DICT_MAGIC || ariel_get32(b + 4) != id ||
        XXH3_64bits(b + DICT_HEAD, len - DICT_HEAD) != ariel_get64(b + 8)) {
        LOG_WARN(ARIEL_COMP, "payload dictionary %s is damaged", path);
        goto out;
    }
    dd = ZSTD_createDDict(b + DICT_HEAD, len - DICT_HEAD);
out:
    if (fd >= 0) close(fd);
    free(b);
    return dd;
}

const void *ariel_dict_ddict(const char *root, uint32_t id)
{
    pthread_mutex_lock(&cache_lock);
    for (struct dict_entry *e = cache; e; e = e->next)
        if (e->id == id && strcmp(e->root, root) == 0) {
            pthread_mutex_unlock(&cache_lock);
            return e->ddict;
        }
    /* loaded under the lock: rare (once per dictionary and process), and no double load */
    struct dict_entry *e = calloc(1, sizeof *e);
    if (e && (e->root = strdup(root))) {
        e->id = id;
        e->ddict = dict_load(root, id);
        e->next = cache;
        cache = e;
    } else {
        free(e);
        e = NULL;
    }
    pthread_mutex_unlock(&cache_lock);
    return e ? e->ddict : NULL;
}

void ariel_dict_forget(void)
{
    pthread_mutex_lock(&cache_lock);
    while (cache) {
        struct dict_entry *e = cache;
        cache = e->next;
        ZSTD_freeDDict(e->ddict);
        free(e->root);
        free(e);
    }
    pthread_mutex_unlock(&cache_lock);
}
