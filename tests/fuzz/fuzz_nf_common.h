/*
 * fuzz_nf_common.h - what the NetFlow v5, v9 and IPFIX fuzz targets share: a sink that checks
 * every record, and the loop that splits the input into messages.
 *
 * The input is split into several messages: each is framed by a two-byte header whose low 14
 * bits are its length (the rest of the input when it runs past the end); bit 14 first advances
 * the clock by 40 s and runs nf_tick; bit 15 sends it from a second (IPv6) exporter, over TCP
 * when the target allows it (then the session ends after it). Each message is copied into an
 * exactly sized buffer. Checks: every record is a flow of its message's version from its
 * exporter, a v5 datagram yields at most 30 records, and the counters add up to the records.
 */
#ifndef FUZZ_NF_COMMON_H
#define FUZZ_NF_COMMON_H

#include "flow/flow.h"

#include <stdlib.h>
#include <string.h>

struct fz_sink {
    struct flow_sink sink;
    struct strm_event ev;
    struct strm_arena arena;
    const struct strm_ip *exporter, *last_exporter;
    int64_t now, last_now;
    uint8_t type, last_type; /* flowtype the current message's version makes */
    uint64_t n;
};

static void check(const struct fz_sink *f)
{
    if (!(f->ev.flags & STRM_EV_FLOW) || f->ev.flow.flowtype != f->last_type) abort();
    if (memcmp(f->ev.flow.flowsource.b, f->last_exporter->b, 16) != 0) abort();
    if (f->ev.starttime != f->last_now) abort();
}

static uint8_t flowtype_of(const uint8_t *m, size_t len)
{
    unsigned v = len >= 2 ? (unsigned)m[0] << 8 | m[1] : 0;
    return v == 5    ? STRM_FLOWTYPE_NETFLOW5
           : v == 9  ? STRM_FLOWTYPE_NETFLOW9
           : v == 10 ? STRM_FLOWTYPE_IPFIX
                     : STRM_FLOWTYPE_NONE;
}

static struct strm_event *fz_add(struct flow_sink *s, struct strm_arena **arena)
{
    struct fz_sink *f = s->arg;
    if (f->n) {
        /* the previous record, now complete */
        check(f);
    }
    f->n++;
    f->last_exporter = f->exporter;
    f->last_now = f->now;
    f->last_type = f->type;
    strm_event_init(&f->ev);
    *arena = &f->arena;
    return &f->ev;
}

static uint64_t stats_records;
static void fz_stats(const struct flow_exporter_stats *s, void *arg)
{
    (void)arg;
    stats_records += s->records;
    if (s->sampling_interval == 0) abort();
}

/* Runs the framed messages of data (after prefix, decoded first, e.g. templates). */
static int fz_run(const uint8_t *data, size_t size, const uint8_t *prefix, size_t prefix_len,
                  bool tcp_bit)
{
    struct strm_ip exp_a, exp_b;
    strm_ip_from_v4(&exp_a, 0xC0000201u);
    (void)strm_ip_parse(&exp_b, "2001:db8::9", 11);
    struct nf_options opt = {.hold_ms = 30000, .hold_max_bytes = 65536, .template_ttl_s = 60};
    struct nf_state *st = nf_state_new(&opt);
    if (!st) return 0;
    struct fz_sink fs = {.sink = {.add = fz_add}};
    fs.sink.arg = &fs;
    strm_arena_init(&fs.arena, 1024);
    int64_t now = 1700000000000LL;
    uint64_t emitted = 0;
    int rc;
    if (prefix_len) {
        fs.exporter = &exp_a;
        fs.now = now;
        fs.type = flowtype_of(prefix, prefix_len);
        rc = nf_decode(st, prefix, prefix_len, &exp_a, NF_UDP, now, &fs.sink);
        if (rc != 0) abort();
    }
    size_t off = 0;
    for (int msgs = 0; off + 2 <= size && msgs < 64; msgs++) {
        unsigned h = (unsigned)data[off] << 8 | data[off + 1];
        off += 2;
        size_t len = h & 0x3FFF;
        if (len > size - off) len = size - off;
        if (h & 0x4000) {
            now += 40000;
            nf_tick(st, now);
        }
        const struct strm_ip *ip = (h & 0x8000) ? &exp_b : &exp_a;
        bool tcp = tcp_bit && (h & 0x8000);
        uint8_t *copy = malloc(len ? len : 1);
        if (!copy) break;
        memcpy(copy, data + off, len);
        fs.exporter = ip;
        fs.now = now;
        fs.type = flowtype_of(copy, len);
        rc = nf_decode(st, copy, len, ip, tcp ? NF_TCP : NF_UDP, now, &fs.sink);
        free(copy);
        if (fs.type == STRM_FLOWTYPE_NETFLOW5 && rc > 30) abort(); /* v9/IPFIX may pass by */
        if (rc > 0) emitted += (uint64_t)rc;
        if (tcp) nf_session_end(st, ip);
        off += len;
    }
    if (fs.n) check(&fs);
    if (emitted != fs.n) abort();
    stats_records = 0;
    nf_stats_each(st, fz_stats, NULL);
    if (stats_records != fs.n) abort();
    strm_arena_free(&fs.arena);
    nf_state_free(st);
    return 0;
}

#endif
