/*
 * fuzz_sflow.c - libFuzzer target for the sFlow v5 decoder (sflow_decode).
 *
 * Each input is one datagram, decoded twice into a fresh state (the second pass meets the
 * sequence number again: the restart path), from the exactly sized buffer libFuzzer hands
 * over. Checks: the return value equals the records the sink handed out (or is
 * STRM_ERR_PARSE), every record is an sFlow flow record with packets >= 1 and bytes a
 * multiple of its packets, the statistics add up to two datagrams, at least one malformed
 * when the decode failed, and the interface table can be walked.
 */
#include "flow/flow.h"

#include <stdlib.h>
#include <string.h>

#define SLOTS 512

struct sink {
    struct flow_sink s;
    struct strm_arena arena;
    struct strm_event ev[SLOTS];
    size_t n;
};

static struct strm_event *add(struct flow_sink *s, struct strm_arena **arena)
{
    struct sink *k = s->arg;
    if (k->n == SLOTS) return NULL;
    struct strm_event *ev = &k->ev[k->n++];
    strm_event_init(ev);
    *arena = &k->arena;
    return ev;
}

struct sums {
    uint64_t packets, malformed, records, n;
};

static void on_stats(const struct flow_exporter_stats *st, void *arg)
{
    struct sums *s = arg;
    if (st->version != 5 || st->flowtype != STRM_FLOWTYPE_SFLOW) abort();
    s->packets += st->packets;
    s->malformed += st->malformed;
    s->records += st->records;
    s->n++;
}

static void on_iface(const struct flow_iface_stats *st, void *arg)
{
    (*(uint64_t *)arg)++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct sink k;
    static bool init;
    if (!init) {
        strm_arena_init(&k.arena, 4096);
        k.s.add = add;
        k.s.arg = &k;
        init = true;
    }
    struct sflow_state *st = sflow_state_new();
    if (!st) abort();
    struct strm_ip sender;
    strm_ip_from_v4(&sender, 0x7f000001);
    bool failed = false;
    uint64_t emitted = 0;
    for (int pass = 0; pass < 2; pass++) {
        k.n = 0;
        int rc = sflow_decode(st, data, size, &sender, 1700000000000, &k.s);
        if (rc == STRM_ERR_PARSE) {
            failed = true;
            if (k.n != 0) abort();
        } else if (rc < 0 || (size_t)rc != k.n) {
            abort();
        }
        for (size_t i = 0; i < k.n; i++) {
            const struct strm_event *ev = &k.ev[i];
            if (!(ev->flags & STRM_EV_FLOW) || ev->flow.flowtype != STRM_FLOWTYPE_SFLOW) abort();
            if (ev->flow.sourcepackets == 0) abort();
            if (ev->flow.sourcebytes % ev->flow.sourcepackets) abort();
            if (ev->flow.vlan > 4095) abort();
        }
        emitted += k.n;
        strm_arena_reset(&k.arena);
    }
    struct sums s = {0};
    sflow_stats_each(st, on_stats, &s);
    if (s.packets != 2 || s.records != emitted) abort();
    if (failed && s.malformed == 0) abort();
    uint64_t nif = 0;
    sflow_ifaces_each(st, on_iface, &nif);
    sflow_state_free(st);
    return 0;
}
