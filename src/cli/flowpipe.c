/*
 * flowpipe.c - the flow data path of the all-in-one: flow records from the NetFlow/IPFIX/sFlow
 * receivers, live packet captures and pcap files, into the flows store.
 *
 *   receivers (src/flow/receiver.c) --+
 *   captures (flows.capture)         --+--> flowpipe_sink --queue--> store thread --> flows store
 *   strm ingest --pcap               --+
 *
 * Producers hand records out through a struct flowpipe_sink each (one per thread, never
 * shared). A decoder fills one record at a time, in the batch's first event; when it asks
 * for the next one, the sink sets the record's flowdirection from the network hierarchy (a
 * per-/16 table, a binary search only where a /16 is partly local: network.c) and encodes it into
 * the batch's struct ariel_flowbatch (the row the store keeps) while it is in this thread's cache.
 * A batch is submitted when it holds pipeline.batch_events records or is flushed; submitting blocks
 * while the queue is full, which is the backpressure: a UDP receiver then leaves datagrams in its
 * kernel buffer, a TCP exporter is slowed, a pcap file is read more slowly. The one store thread
 * appends the encoded records to the flows store (<data_dir>/flows, an ariel store with the events
 * store's settings) through cli_store_append_retry, so a full disk pauses flow ingest as it pauses
 * events; it ticks the store at least every 100 ms (fsync interval, segment age, retention). At 6 M
 * flows/s the store thread spent most of its time reading the events back (420 bytes each, written
 * on the other core) to encode them; now it copies the rows (163 bytes) and packs the WAL record
 * from its copies.
 *
 * The flows store keeps its own struct strm_stats (so `stored` and `wal_bytes` keep meaning
 * events); flowpipe counts flow_records, flow_stored, flow_store_errors and flow_dropped in
 * the process's counters and prints the flows store's counters in flowpipe_stats_write.
 *
 * flowpipe_close stops the receivers and captures first (their sinks are flushed as they
 * close), then closes the queue, lets the store thread drain it, and closes the store, which
 * writes its memtable as segments: every record a producer submitted is stored.
 */
#include "cli.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define FP_TICK_MS 100

struct flowpipe {
    const struct strm_config *cfg; /* the caller's; outlives the flowpipe */
    struct strm_stats *stats;
    struct strm_stats store_stats; /* the flows store's own counters */
    struct ariel_store *store;
    /* batches of one event (the record being filled) and their encoded records */
    struct strm_pool pool;
    uint32_t batch_records; /* records per batch (pipeline.batch_events) */
    struct strm_queue q;
    bool q_ready;
    atomic_bool stopping; /* closing: a store that cannot write is not waited for */
    pthread_t store_thread;
    bool store_started;
    struct flow_receivers *rx;
    struct capture *cap[STRM_MAX_LISTENERS];
    struct flowpipe_sink cap_sink[STRM_MAX_LISTENERS];
    int n_cap;
};

/* ---------------------------------------------------------------- sinks */

static void sink_submit(struct flowpipe_sink *s);

/* The record handed out last, encoded into the batch (a full batch is submitted). */
static void sink_encode(struct flowpipe_sink *s)
{
    struct strm_batch *b = s->cur;
    struct strm_event *ev = &b->ev[0];
    s->pending = false;
    ev->flags |= STRM_EV_FLOW;
    ev->flow.flowdirection =
        (uint8_t)strm_flow_direction(s->fp->cfg, &ev->sourceip, &ev->destinationip);
    if (ariel_flowbatch_add(b->aux, ev) != 0) {
        STRM_STAT_ADD(s->fp->stats, flow_dropped, 1);
        return;
    }
    if (++b->count >= s->fp->batch_records) sink_submit(s);
}

static void sink_submit(struct flowpipe_sink *s)
{
    if (s->pending) sink_encode(s); /* submits when that fills the batch */
    struct strm_batch *b = s->cur;
    struct flowpipe *fp = s->fp;
    s->cur = NULL;
    if (!b) return;
    if (b->count == 0) {
        strm_pool_put(&fp->pool, b);
        return;
    }
    uint32_t n = b->count;
    STRM_STAT_ADD(fp->stats, flow_records, n);
    if (strm_queue_push(&fp->q, b) != 0) { /* closed: cannot happen before producers stop */
        STRM_STAT_ADD(fp->stats, flow_dropped, n);
        strm_pool_put(&fp->pool, b);
    }
}

static void aux_free(void *aux)
{
    ariel_flowbatch_free(aux);
}

static struct strm_event *sink_add(struct flow_sink *sink, struct strm_arena **arena)
{
    struct flowpipe_sink *s = sink->arg;
    if (s->pending) sink_encode(s);
    if (!s->cur) {
        struct strm_batch *b = strm_pool_get(&s->fp->pool);
        if (b && !b->aux) {
            b->aux = ariel_flowbatch_new();
            b->aux_free = aux_free;
        }
        if (!b || !b->aux) {
            if (b) strm_pool_put(&s->fp->pool, b);
            STRM_STAT_ADD(s->fp->stats, flow_dropped, 1);
            return NULL;
        }
        ariel_flowbatch_reset(b->aux);
        s->cur = b;
    }
    struct strm_event *ev = &s->cur->ev[0];
    strm_event_init(ev);
    ev->flags |= STRM_EV_FLOW;
    *arena = &s->cur->arena;
    s->pending = true;
    return ev;
}

void flowpipe_sink_init(struct flowpipe_sink *s, struct flowpipe *fp)
{
    memset(s, 0, sizeof(*s));
    s->sink.add = sink_add;
    s->sink.arg = s;
    s->fp = fp;
}

void flowpipe_sink_flush(struct flowpipe_sink *s)
{
    if (s->cur && (s->cur->count > 0 || s->pending)) sink_submit(s);
}

/* The factory the receivers get their per-thread sinks from. */
static struct flow_sink *factory_open(void *arg)
{
    struct flowpipe_sink *s = malloc(sizeof(*s));
    if (!s) return NULL;
    flowpipe_sink_init(s, arg);
    return &s->sink;
}

static void factory_flush(struct flow_sink *sink)
{
    flowpipe_sink_flush(sink->arg);
}

static void factory_close(struct flow_sink *sink)
{
    struct flowpipe_sink *s = sink->arg;
    flowpipe_sink_flush(s);
    if (s->cur) strm_pool_put(&s->fp->pool, s->cur);
    free(s);
}

/* ---------------------------------------------------------------- store thread */

static void store_batch(struct flowpipe *fp, struct strm_batch *b, int64_t *last_err_log)
{
    int rc = cli_store_append_retry(fp->store, b, &fp->q, &fp->stopping, "flows");
    if (rc == 0) {
        STRM_STAT_ADD(fp->stats, flow_stored, b->count);
        return;
    }
    STRM_STAT_ADD(fp->stats, flow_store_errors, b->count);
    int64_t now = strm_mono_ms();
    if (now - *last_err_log >= 1000) {
        LOG_ERROR("flows", "the flows store refused a batch of %u records: %s", b->count,
                  strm_err_str(rc));
        *last_err_log = now;
    }
}

static void *store_main(void *arg)
{
    struct flowpipe *fp = arg;
    int64_t last_err_log = 0, last_tick = strm_mono_ms();
    for (;;) {
        struct strm_batch *b = strm_queue_pop(&fp->q, FP_TICK_MS);
        if (b) {
            if (b->count) store_batch(fp, b, &last_err_log);
            strm_pool_put(&fp->pool, b);
        } else if (strm_queue_drained(&fp->q)) {
            break;
        }
        int64_t now = strm_mono_ms();
        if (!b || now - last_tick >= FP_TICK_MS) {
            ariel_tick(fp->store);
            last_tick = now;
        }
    }
    return NULL;
}

/* ---------------------------------------------------------------- open / close */

static int start_captures(struct flowpipe *fp, char *err, size_t errlen)
{
    const struct strm_config *cfg = fp->cfg;
    for (int i = 0; i < cfg->n_flows_capture && i < STRM_MAX_LISTENERS; i++) {
        struct flowtab_options opt;
        memset(&opt, 0, sizeof(opt));
        opt.active_timeout_s = cfg->flows_active_timeout_s;
        opt.inactive_timeout_s = cfg->flows_inactive_timeout_s;
        struct flowpipe_sink *s = &fp->cap_sink[fp->n_cap];
        flowpipe_sink_init(s, fp);
        char cerr[512];
        int rc = capture_start(cfg->flows_capture[i], &opt, &s->sink, factory_flush,
                               &fp->cap[fp->n_cap], cerr, sizeof(cerr));
        if (rc != 0) {
            snprintf(err, errlen,
                     "%s (set flows.capture in the config file, or [] to turn "
                     "capture off)",
                     cerr);
            return rc;
        }
        fp->n_cap++;
        LOG_INFO("flows", "capturing packets on %s", cfg->flows_capture[i]);
    }
    return 0;
}

int flowpipe_open(const struct strm_config *cfg, struct strm_stats *stats, bool receivers,
                  struct flowpipe **out, char *err, size_t errlen)
{
    *out = NULL;
    if (errlen) err[0] = '\0';
    struct flowpipe *fp = calloc(1, sizeof(*fp));
    if (!fp) {
        snprintf(err, errlen, "out of memory");
        return STRM_ERR_NOMEM;
    }
    fp->cfg = cfg;
    fp->stats = stats;
    atomic_init(&fp->stopping, false);
    uint32_t qcap = (uint32_t)(cfg->pipeline_queue_batches > 2 ? cfg->pipeline_queue_batches : 2);
    /* one event each: the sink fills one at a time and encodes it (sink_encode) */
    strm_pool_init(&fp->pool, 1, qcap * 2 + 16);
    fp->batch_records = (uint32_t)cfg->pipeline_batch_events;
    int rc = strm_queue_init(&fp->q, qcap);
    if (rc != 0) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    fp->q_ready = true;
    rc = cli_open_table(cfg, STRM_TABLE_FLOWS, false, &fp->store_stats, &fp->store);
    if (rc != 0) {
        snprintf(err, errlen, "cannot open the flows store %s/flows (see above)", cfg->data_dir);
        goto fail;
    }
    if (pthread_create(&fp->store_thread, NULL, store_main, fp) != 0) {
        snprintf(err, errlen, "cannot start the flow store thread");
        rc = STRM_ERR_NOMEM;
        goto fail;
    }
    pthread_setname_np(fp->store_thread, "flow-store");
    fp->store_started = true;
    if (receivers) {
        struct flow_sink_factory f = {factory_open, factory_flush, factory_close, fp};
        rc = flow_receivers_start(cfg, &f, stats, &fp->rx, err, errlen);
        if (rc != 0) goto fail;
        rc = start_captures(fp, err, errlen);
        if (rc != 0) goto fail;
    }
    *out = fp;
    return 0;
fail:
    flowpipe_close(fp);
    return rc;
}

void flowpipe_close(struct flowpipe *fp)
{
    if (!fp) return;
    /* Producers first: their last records go into the queue while the store thread runs.
     * A store stalled on a full disk would block them (and so the stop) for ever: from now
     * on it gives up on a batch it cannot write (counted in flow_store_errors). */
    atomic_store(&fp->stopping, true);
    flow_receivers_stop(fp->rx);
    fp->rx = NULL;
    for (int i = 0; i < fp->n_cap; i++) {
        capture_stop(fp->cap[i]); /* reports open flows, flushes through the sink */
        flowpipe_sink_flush(&fp->cap_sink[i]);
        if (fp->cap_sink[i].cur) strm_pool_put(&fp->pool, fp->cap_sink[i].cur);
        fp->cap_sink[i].cur = NULL;
    }
    fp->n_cap = 0;
    if (fp->q_ready) strm_queue_close(&fp->q);
    if (fp->store_started) pthread_join(fp->store_thread, NULL);
    if (fp->q_ready) {
        struct strm_batch *b;
        while ((b = strm_queue_pop(&fp->q, 0)) != NULL) /* only if the thread never ran */
            strm_pool_put(&fp->pool, b);
        strm_queue_destroy(&fp->q);
    }
    ariel_close(fp->store);
    strm_pool_destroy(&fp->pool);
    free(fp);
}

struct ariel_store *flowpipe_store(struct flowpipe *fp)
{
    return fp ? fp->store : NULL;
}

/* ---------------------------------------------------------------- counters */

/* Per (exporter, domain, version) over every decoder state: an exporter sending to two
 * listeners shows once, with the sums. */
struct exp_list {
    struct flow_exporter_stats *v;
    size_t n, cap;
};

static void collect_exporter(const struct flow_exporter_stats *es, void *arg)
{
    struct exp_list *l = arg;
    for (size_t i = 0; i < l->n; i++) {
        struct flow_exporter_stats *e = &l->v[i];
        if (e->domain == es->domain && e->version == es->version && e->flowtype == es->flowtype &&
            !strm_ip_cmp(&e->exporter, &es->exporter)) {
            e->packets += es->packets;
            e->records += es->records;
            e->templates += es->templates;
            e->templates_withdrawn += es->templates_withdrawn;
            e->options_records += es->options_records;
            e->held += es->held;
            e->unknown_template_drops += es->unknown_template_drops;
            e->sequence_lost += es->sequence_lost;
            e->malformed += es->malformed;
            e->unknown_fields += es->unknown_fields;
            if (es->sampling_interval > 1) e->sampling_interval = es->sampling_interval;
            return;
        }
    }
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        struct flow_exporter_stats *v = realloc(l->v, cap * sizeof(*v));
        if (!v) return; /* out of memory: the line is left out */
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = *es;
}

static int exp_cmp(const void *a, const void *b)
{
    const struct flow_exporter_stats *x = a, *y = b;
    int c = strm_ip_cmp(&x->exporter, &y->exporter);
    if (c) return c;
    if (x->domain != y->domain) return x->domain < y->domain ? -1 : 1;
    return (int)x->version - (int)y->version;
}

static void write_iface(const struct flow_iface_stats *is, void *arg)
{
    FILE *out = arg;
    char a[64];
    strm_ip_format(&is->agent, a, sizeof(a));
    fprintf(out,
            "sflow_interface agent %s ifindex %" PRIu32 " speed %" PRIu64 " status %" PRIu32
            " in_octets %" PRIu64 " out_octets %" PRIu64 " in_ucast %" PRIu32 " in_mcast %" PRIu32
            " in_bcast %" PRIu32 " in_discards %" PRIu32 " in_errors %" PRIu32
            " in_unknown %" PRIu32 " out_ucast %" PRIu32 " out_mcast %" PRIu32 " out_bcast %" PRIu32
            " out_discards %" PRIu32 " out_errors %" PRIu32 " updated %" PRId64 "\n",
            a, is->ifindex, is->speed, is->status, is->in_octets, is->out_octets, is->in_ucast,
            is->in_mcast, is->in_bcast, is->in_discards, is->in_errors, is->in_unknown,
            is->out_ucast, is->out_mcast, is->out_bcast, is->out_discards, is->out_errors,
            is->updated_ms);
}

void flowpipe_stats_write(struct flowpipe *fp, FILE *out)
{
    if (!fp) return;
    const struct strm_stats *ss = &fp->store_stats;
    fprintf(out, "flow_store_wal_bytes %" PRIu64 "\n", STRM_STAT_GET(ss, wal_bytes));
    fprintf(out, "flow_store_segments_written %" PRIu64 "\n", STRM_STAT_GET(ss, segments_written));
    fprintf(out, "flow_store_corrupt_segments %" PRIu64 "\n",
            STRM_STAT_GET(ss, store_corrupt_segments));
    fprintf(out, "flow_store_writer_waits %" PRIu64 "\n", STRM_STAT_GET(ss, store_writer_waits));
    fprintf(out, "flow_store_retention_deleted_segments %" PRIu64 "\n",
            STRM_STAT_GET(ss, store_retention_deleted_segments));
    fprintf(out, "flow_store_retention_deleted_rows %" PRIu64 "\n",
            STRM_STAT_GET(ss, store_retention_deleted_rows));
    fprintf(out, "flow_store_compactions %" PRIu64 "\n", STRM_STAT_GET(ss, store_compactions));
    fprintf(out, "flow_store_compacted_segments %" PRIu64 "\n",
            STRM_STAT_GET(ss, store_compacted_segments));
    fprintf(out, "flow_store_compacted_rows %" PRIu64 "\n",
            STRM_STAT_GET(ss, store_compacted_rows));
    fprintf(out, "flow_queue_batches %" PRIu32 "\n", strm_queue_len(&fp->q));

    struct exp_list l = {NULL, 0, 0};
    flow_receivers_exporters_each(fp->rx, collect_exporter, &l);
    if (l.n) qsort(l.v, l.n, sizeof(l.v[0]), exp_cmp);
    for (size_t i = 0; i < l.n; i++) {
        const struct flow_exporter_stats *e = &l.v[i];
        char a[64];
        strm_ip_format(&e->exporter, a, sizeof(a));
        const char *type = e->flowtype < STRM_FLOWTYPE__COUNT && strm_flowtype_names[e->flowtype]
                               ? strm_flowtype_names[e->flowtype]
                               : "unknown";
        fprintf(out,
                "exporter %s domain %" PRIu32 " type %s packets %" PRIu64 " records %" PRIu64
                " templates %" PRIu64 " templates_withdrawn %" PRIu64 " options_records %" PRIu64
                " held %" PRIu64 " unknown_template_drops %" PRIu64 " sequence_lost %" PRIu64
                " malformed %" PRIu64 " unknown_fields %" PRIu64 " sampling %" PRIu32 "\n",
                a, e->domain, type, e->packets, e->records, e->templates, e->templates_withdrawn,
                e->options_records, e->held, e->unknown_template_drops, e->sequence_lost,
                e->malformed, e->unknown_fields, e->sampling_interval ? e->sampling_interval : 1);
    }
    free(l.v);
    flow_receivers_ifaces_each(fp->rx, write_iface, out);

    for (int i = 0; i < fp->n_cap; i++) {
        struct capture_stats cs;
        struct flowtab_stats fs;
        memset(&cs, 0, sizeof(cs));
        memset(&fs, 0, sizeof(fs));
        capture_stats_get(fp->cap[i], &cs, &fs);
        fprintf(out,
                "capture %s packets %" PRIu64 " bytes %" PRIu64 " non_ip %" PRIu64
                " kernel_drops %" PRIu64 " iface_drops %" PRIu64 " flows_active %" PRIu64
                " flows_created %" PRIu64 " records %" PRIu64 " flows_evicted %" PRIu64 "\n",
                capture_iface(fp->cap[i]), cs.packets, cs.bytes, cs.non_ip, cs.kernel_drops,
                cs.iface_drops, fs.active, fs.flows_created, fs.records, fs.flows_evicted);
    }
}
