/*
 * pipeline.c - the in-process data path of the all-in-one: parser threads and the store
 * thread, joined by bounded queues.
 *
 *   receivers/files --raw queue--> parsers (N threads) --parsed queue--> store thread
 *
 * Batches travel whole; every stage pays its locks per batch. The raw queue is where UDP
 * drops (counted by the receiver); the parsed queue and the store apply backpressure. The
 * store thread returns batches to the pool. Stopping closes the raw queue, lets the parsers
 * drain it, then closes the parsed queue and lets the store thread drain that, so nothing
 * accepted is left behind.
 *
 * Parsers: logsource_parse_batch: per event syslog_parse, then the log source step (sender ->
 * log source, the DSMs with its type as hint and its time zone, auto-discovery and counters;
 * one read lock per batch), in one pass over the batch.
 * Store thread: coalesce_batch (folds repeats of log sources with coalescing on), then
 * ariel_append; records whose window ended are appended in batches of their own. At stop the
 * coalescer is flushed into the store before the thread ends, so the store (closed after
 * pipeline_stop) holds every record. The store thread also writes the log source counters
 * to config.db every LS_SYNC_MS.
 */
#include "cli.h"
#include "collect/collect.h"

#define LS_SYNC_MS 5000

#include <errno.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>

struct pipeline {
    struct strm_stats *stats;
    struct ariel_store *store;
    struct logsource_registry *reg;
    struct coalescer *coal; /* NULL: coalescing off */
    struct strm_pool pool;
    struct strm_queue raw;
    struct strm_queue parsed;
    pthread_t *parsers;
    int n_parsers;
    pthread_t store_thread;
    bool store_started;
    atomic_bool stopping; /* shutdown began: a store that cannot write is not waited for */
};

static void *parser_main(void *arg)
{
    struct pipeline *p = arg;
    struct strm_batch *b;
    while ((b = strm_queue_pop(&p->raw, -1)) != NULL) {
        struct syslog_counts n = {0, 0, 0};
        if (p->reg) {
            logsource_parse_batch(p->reg, b, &n);
        } else {
            for (uint32_t i = 0; i < b->count; i++)
                syslog_count(&n, syslog_parse(&b->ev[i], &b->arena));
        }
        STRM_STAT_ADD(p->stats, parsed_rfc3164, n.rfc3164);
        STRM_STAT_ADD(p->stats, parsed_rfc5424, n.rfc5424);
        STRM_STAT_ADD(p->stats, unparsed, n.unparsed);
        if (strm_queue_push(&p->parsed, b) != 0)
            strm_pool_put(&p->pool, b); /* cannot happen: parsed closes after parsers end */
    }
    return NULL;
}

/*
 * A full disk (ENOSPC) or a failing one (EIO) pauses ingest: the batch is retried with
 * backoff (the queues fill, receivers slow down) until the store takes it, keeping the store
 * ticking meanwhile (a flush or retention may free space). An alarm is logged every 10 s.
 * While shutting down (the stage's input queue in is closed, or *stop is set) the batch is
 * not retried. Shared by the event store thread here and the flow store thread (flowpipe.c).
 */
int cli_store_append_retry(struct ariel_store *store, struct strm_batch *b, struct strm_queue *in,
                           const atomic_bool *stop, const char *component)
{
    int64_t delay = 100, last_alarm = 0, since = strm_mono_ms();
    for (;;) {
        /* a flow pipeline's batch holds its records encoded (flowpipe.c) */
        int rc = b->aux ? ariel_append_flows(store, b->aux) : ariel_append(store, b);
        int e = rc == STRM_ERR_IO ? ariel_append_errno(store) : 0;
        if (rc == 0 || (e != ENOSPC && e != EIO)) return rc;
        pthread_mutex_lock(&in->lock);
        bool closing = in->closed;
        pthread_mutex_unlock(&in->lock);
        if (closing || (stop && atomic_load(stop))) return rc;
        int64_t now = strm_mono_ms();
        if (last_alarm == 0 || now - last_alarm >= 10000) {
            LOG_ERROR(component,
                      "ingest paused for %lld s: the store cannot write (%s); "
                      "retrying a batch of %u records",
                      (long long)((now - since) / 1000), strerror(e), b->count);
            last_alarm = now;
        }
        /* Sleep in slices, so that a stop request is seen within 100 ms. */
        for (int64_t slept = 0; slept < delay && !(stop && atomic_load(stop)); slept += 100)
            usleep(100 * 1000);
        delay = delay < 5000 ? delay * 2 : 5000;
        ariel_tick(store);
    }
}

static void store_append(struct pipeline *p, struct strm_batch *b, int64_t *last_err_log)
{
    if (b->count == 0) return;
    int rc = cli_store_append_retry(p->store, b, &p->parsed, &p->stopping, "pipeline");
    if (rc != 0) {
        STRM_STAT_ADD(p->stats, store_errors, b->count);
        /* say it loudly, at most once a second */
        int64_t now = strm_mono_ms();
        if (now - *last_err_log >= 1000) {
            LOG_ERROR("pipeline", "store refused a batch of %u events: %s", b->count,
                      strm_err_str(rc));
            *last_err_log = now;
        }
    }
}

static bool coalesces(void *arg, uint32_t logsourceid)
{
    return logsource_coalesces(arg, logsourceid);
}

/* Stores the coalesced records whose window ended by now (INT64_MAX: all). */
static void store_expired(struct pipeline *p, int64_t now, int64_t *last_err_log)
{
    while (coalesce_due(p->coal, now)) {
        struct strm_batch *out = strm_pool_get(&p->pool);
        if (!out) {
            LOG_ERROR("pipeline", "out of memory emitting coalesced records; retrying");
            return;
        }
        coalesce_expire(p->coal, now, out);
        store_append(p, out, last_err_log);
        strm_pool_put(&p->pool, out);
    }
}

static void *store_main(void *arg)
{
    struct pipeline *p = arg;
    int64_t last_err_log = 0;
    for (;;) {
        struct strm_batch *b = strm_queue_pop(&p->parsed, 100);
        int64_t now = strm_now_ms();
        if (b) {
            if (p->coal) {
                logsource_read_begin(p->reg);
                coalesce_batch(p->coal, b, now, coalesces, p->reg);
                logsource_read_end(p->reg);
            }
            store_append(p, b, &last_err_log);
            strm_pool_put(&p->pool, b);
        } else if (strm_queue_drained(&p->parsed)) {
            break;
        }
        if (p->coal) store_expired(p, now, &last_err_log);
        ariel_tick(p->store);
        if (p->reg) logsource_sync(p->reg, LS_SYNC_MS);
    }
    /* Everything is in: the open windows end now, their records go to the store. */
    if (p->coal) store_expired(p, INT64_MAX, &last_err_log);
    if (p->reg) logsource_sync(p->reg, 0);
    return NULL;
}

int pipeline_start(const struct strm_config *cfg, struct ariel_store *store,
                   struct logsource_registry *reg, bool coalesce, struct strm_stats *stats,
                   struct pipeline **out)
{
    struct pipeline *p = calloc(1, sizeof(*p));
    if (!p) return STRM_ERR_NOMEM;
    p->stats = stats;
    p->store = store;
    p->reg = reg;
    if (reg && coalesce) {
        struct coalesce_options co = {
            .window_s = cfg->coalescing_window_s,
            .stats = stats,
        };
        if (coalesce_new(&co, &p->coal) != 0) {
            free(p);
            return STRM_ERR_NOMEM;
        }
    }
    uint32_t qcap = (uint32_t)cfg->pipeline_queue_batches;
    strm_pool_init(&p->pool, (uint32_t)cfg->pipeline_batch_events, qcap * 2 + 16);
    /* The batches the queues can hold, made and touched now, so a burst right after start
     * does not fault their memory in page by page. */
    for (uint32_t i = 0; i < qcap * 2 + 8; i++) {
        struct strm_batch *b = strm_batch_new((uint32_t)cfg->pipeline_batch_events);
        if (!b) break;
        memset(b->ev, 0, (size_t)b->cap * sizeof *b->ev);
        void *chunk = strm_arena_alloc(&b->arena, 1); /* its first arena chunk */
        if (chunk) memset(chunk, 0, 200 * 1024);
        strm_batch_reset(b);
        strm_pool_put(&p->pool, b);
    }
    strm_queue_init(&p->raw, qcap);
    strm_queue_init(&p->parsed, qcap);
    int n = cfg->pipeline_parsers;
    if (n <= 0) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        n = cores > 0 ? (int)cores : 1;
    }
    p->parsers = calloc((size_t)n, sizeof(*p->parsers));
    if (!p->parsers) goto fail;
    for (int i = 0; i < n; i++) {
        if (pthread_create(&p->parsers[i], NULL, parser_main, p) != 0) goto fail;
        pthread_setname_np(p->parsers[i], "ev-parser");
        p->n_parsers++;
    }
    if (pthread_create(&p->store_thread, NULL, store_main, p) != 0) goto fail;
    pthread_setname_np(p->store_thread, "ev-store");
    p->store_started = true;
    *out = p;
    return 0;
fail:
    pipeline_stop(p);
    return STRM_ERR_NOMEM;
}

struct strm_queue *pipeline_input(struct pipeline *p)
{
    return &p->raw;
}

struct strm_pool *pipeline_pool(struct pipeline *p)
{
    return &p->pool;
}

void pipeline_begin_stop(struct pipeline *p)
{
    if (p) atomic_store(&p->stopping, true);
}

void pipeline_stop(struct pipeline *p)
{
    if (!p) return;
    strm_queue_close(&p->raw);
    for (int i = 0; i < p->n_parsers; i++)
        pthread_join(p->parsers[i], NULL);
    strm_queue_close(&p->parsed);
    if (p->store_started) pthread_join(p->store_thread, NULL);
    struct strm_batch *b;
    while ((b = strm_queue_pop(&p->raw, 0)) != NULL) /* only if a stage failed to start */
        strm_pool_put(&p->pool, b);
    while ((b = strm_queue_pop(&p->parsed, 0)) != NULL)
        strm_pool_put(&p->pool, b);
    free(p->parsers);
    coalesce_free(p->coal);
    strm_queue_destroy(&p->raw);
    strm_queue_destroy(&p->parsed);
    strm_pool_destroy(&p->pool);
    free(p);
}
