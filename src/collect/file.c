/*
 * file.c - reading syslog lines from a file descriptor (strm ingest, stdin, replaying logs).
 *
 * The descriptor is read in 1 MiB chunks into one buffer; the RFC 6587 framer cuts it into
 * messages (LF, NUL, CRLF, or octet counting), each copied into the arena of the current
 * batch (the read buffer is reused, so frames cannot stay in it). Full batches go to the
 * queue with a blocking push: a slow pipeline slows the reader, nothing is dropped.
 *
 * Every event gets starttime = the time of the read that delivered it (one clock call per
 * chunk) and collectorip 127.0.0.1. Frames longer than STRM_MAX_MSG are cut, flagged
 * STRM_EV_TRUNCATED and counted in stats->truncated; stats->file_received counts messages,
 * added per batch.
 *
 * Returns 0 at end of file, STRM_ERR_IO on a read error, STRM_ERR_CLOSED when the queue was
 * closed under us (shutdown), STRM_ERR_NOMEM when no batch can be had.
 */
#include "collect/collect.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FILE_CHUNK (1024 * 1024)

struct file_ctx {
    struct strm_queue *out;
    struct strm_pool *pool;
    struct strm_stats *stats;
    struct strm_batch *b;
    struct strm_ip loopback;
    int64_t now;
    int err; /* first push error; later frames are dropped */
};

static int file_flush(struct file_ctx *c)
{
    struct strm_batch *b = c->b;
    if (!b || b->count == 0) return 0;
    STRM_STAT_ADD(c->stats, file_received, b->count);
    c->b = NULL;
    int rc = strm_queue_push(c->out, b);
    if (rc != 0) {
        strm_pool_put(c->pool, b);
        return rc;
    }
    return 0;
}

static void file_frame(const char *msg, size_t len, bool truncated, void *arg)
{
    struct file_ctx *c = arg;
    if (c->err) return;
    if (c->b && c->b->count >= c->b->cap) {
        c->err = file_flush(c);
        if (c->err) return;
    }
    if (!c->b) {
        c->b = strm_pool_get(c->pool);
        if (!c->b) {
            c->err = STRM_ERR_NOMEM;
            return;
        }
    }
    struct strm_event *ev = strm_batch_add(c->b);
    if (!ev) return;
    ev->payload = strm_arena_strdup(&c->b->arena, msg, len);
    if (!ev->payload.p) {
        c->b->count--;
        c->err = STRM_ERR_NOMEM;
        return;
    }
    ev->starttime = c->now;
    ev->collectorip = c->loopback;
    if (truncated) {
        ev->flags |= STRM_EV_TRUNCATED;
        STRM_STAT_ADD(c->stats, truncated, 1);
    }
}

int collect_file(int fd, const char *name, struct strm_queue *out, struct strm_pool *pool,
                 struct strm_stats *stats, void (*on_bytes)(uint64_t total, void *arg), void *arg)
{
    struct file_ctx c = {.out = out, .pool = pool, .stats = stats};
    struct syslog_framer f;
    char *buf = NULL;
    uint64_t total = 0;
    int rc = 0;

    strm_ip_from_v4(&c.loopback, 0x7f000001u);
    rc = syslog_framer_init(&f, STRM_MAX_MSG);
    if (rc != 0) return rc;
    buf = malloc(FILE_CHUNK);
    if (!buf) {
        rc = STRM_ERR_NOMEM;
        goto done;
    }
    for (;;) {
        ssize_t n = read(fd, buf, FILE_CHUNK);
        if (n < 0) {
            if (errno == EINTR) continue;
            LOG_ERROR("collect", "cannot read %s after %llu bytes: %s", name ? name : "input",
                      (unsigned long long)total, strerror(errno));
            rc = STRM_ERR_IO;
            break;
        }
        if (n == 0) break;
        c.now = strm_now_ms();
        syslog_framer_feed(&f, buf, (size_t)n, file_frame, &c);
        total += (uint64_t)n;
        if (on_bytes) on_bytes(total, arg);
        if (c.err) break;
    }
    if (!c.err) {
        c.now = strm_now_ms();
        syslog_framer_finish(&f, file_frame, &c);
    }
    if (!c.err) c.err = file_flush(&c);
    if (c.b) { /* left over after an error */
        strm_pool_put(pool, c.b);
        c.b = NULL;
    }
    if (rc == 0) rc = c.err;
done:
    free(buf);
    syslog_framer_free(&f);
    return rc;
}
