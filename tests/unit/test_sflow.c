/*
 * test_sflow.c - the sFlow v5 decoder (src/flow/sflow.c) on hand-built datagrams: a flow
 * sample with an Ethernet raw header at sampling rate 512 (bytes and packets scaled, every
 * field of the record), expanded flow samples with ifIndex >= 2^24 and IPv6 headers, the
 * sampled-IPv4 fallback, extended switch VLAN, counter samples into interface statistics,
 * an IPv6 agent, sequence gaps and agent restarts, unknown samples and records skipped and
 * counted, samples lying about their length, sampling rate 0, and every truncation of a
 * valid datagram (each counted malformed, none crashing; decoded from exactly sized heap
 * copies so a sanitizer build sees any read past the end).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flow/flow.h"

/* ---------------------------------------------------------------- XDR builder */

struct buf {
    uint8_t b[4096];
    size_t n;
};

static void put(struct buf *f, const void *p, size_t n)
{
    assert_true(f->n + n <= sizeof(f->b));
    memcpy(f->b + f->n, p, n);
    f->n += n;
}

static void put32(struct buf *f, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    put(f, b, 4);
}

static void put64(struct buf *f, uint64_t v)
{
    put32(f, (uint32_t)(v >> 32));
    put32(f, (uint32_t)v);
}

static void set32(struct buf *f, size_t at, uint32_t v)
{
    f->b[at] = (uint8_t)(v >> 24);
    f->b[at + 1] = (uint8_t)(v >> 16);
    f->b[at + 2] = (uint8_t)(v >> 8);
    f->b[at + 3] = (uint8_t)v;
}

static void pad4(struct buf *f)
{
    while (f->n % 4)
        put(f, "", 1);
}

/* Datagram header; returns the offset of the sample count. */
static size_t header_v4(struct buf *f, uint32_t agent, uint32_t sub, uint32_t seq, uint32_t n)
{
    put32(f, 5);
    put32(f, 1);
    put32(f, agent);
    put32(f, sub);
    put32(f, seq);
    put32(f, 123456);
    size_t at = f->n;
    put32(f, n);
    return at;
}

/* Starts an item (sample or record) of format ent:fmt; returns where its length goes. */
static size_t item_begin(struct buf *f, uint32_t ent, uint32_t fmt)
{
    put32(f, (ent << 12) | fmt);
    size_t at = f->n;
    put32(f, 0);
    return at;
}

static void item_end(struct buf *f, size_t at)
{
    pad4(f);
    set32(f, at, (uint32_t)(f->n - at - 4));
}

/* Flow sample header (compact); returns where the record count goes. */
static size_t flow_sample_hdr(struct buf *f, uint32_t source_id, uint32_t rate, uint32_t input,
                              uint32_t nrec)
{
    put32(f, 77);        /* sequence */
    put32(f, source_id); /* type << 24 | index */
    put32(f, rate);
    put32(f, rate * 100); /* pool */
    put32(f, 0);          /* drops */
    put32(f, input);
    put32(f, 9); /* output */
    size_t at = f->n;
    put32(f, nrec);
    return at;
}

/* A raw packet header record. */
static void rec_raw(struct buf *f, uint32_t proto, uint32_t frame_len, const uint8_t *hdr,
                    size_t hlen)
{
    size_t r = item_begin(f, 0, 1);
    put32(f, proto);
    put32(f, frame_len);
    put32(f, 4); /* stripped FCS */
    put32(f, (uint32_t)hlen);
    put(f, hdr, hlen);
    item_end(f, r);
}

static const uint8_t DMAC[6] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55};
static const uint8_t SMAC[6] = {0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb};

/* An Ethernet frame (802.1Q tag vid 42) carrying IPv4/TCP 10.0.0.1:40000 -> 10.0.0.2:443,
 * flags PSH|ACK, DSCP 46, IP total length 1500; cut to a 74-byte header as an agent would. */
static size_t eth_tcp_header(uint8_t *h)
{
    static const uint8_t frame[] = {
        0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, /* MACs */
        0x81, 0x00, 0x00, 0x2a, 0x08, 0x00,                                     /* tag, type */
        0x45, 0xb8, 0x05, 0xdc, 0x12, 0x34, 0x40, 0x00, 0x40, 0x06, 0x00, 0x00, /* IPv4 */
        0x0a, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x02,                         /* addrs */
        0x9c, 0x40, 0x01, 0xbb, 0,    0,    0,    1,    0,    0,    0,    2,    0x50,
        0x18, 0xff, 0xff, 0,    0,    0,    0,    'p',  'a',  'y',  'l',  'o',  'a',
        'd',  '.',  '.',  '.',  '.',  '.',  '.',  '.',  '.',  '.',  '.',  '.'};
    memcpy(h, frame, sizeof(frame));
    return sizeof(frame);
}

/* IPv6/UDP 2001:db8::1:5353 -> 2001:db8::2:53, traffic class 0x28, payload 100 bytes. */
static size_t ip6_udp_header(uint8_t *h)
{
    static const uint8_t pkt[] = {0x62, 0x80, 0x00, 0x00, 0x00, 0x64, 17,  64,   0x20, 0x01, 0x0d,
                                  0xb8, 0,    0,    0,    0,    0,    0,   0,    0,    0,    0,
                                  0,    1,    0x20, 0x01, 0x0d, 0xb8, 0,   0,    0,    0,    0,
                                  0,    0,    0,    0,    0,    0,    2,   0x14, 0xe9, 0x00, 0x35,
                                  0x00, 0x64, 0,    0,    'q',  'u',  'e', 'r',  'y'};
    memcpy(h, pkt, sizeof(pkt));
    return sizeof(pkt);
}

/* ---------------------------------------------------------------- sink and stats */

struct tsink {
    struct flow_sink sink;
    struct strm_arena arena;
    struct strm_event ev[64];
    size_t n;
    bool full;
};

static struct strm_event *tsink_add(struct flow_sink *s, struct strm_arena **arena)
{
    struct tsink *t = s->arg;
    if (t->full || t->n == 64) return NULL;
    struct strm_event *ev = &t->ev[t->n++];
    strm_event_init(ev);
    *arena = &t->arena;
    return ev;
}

static void tsink_init(struct tsink *t)
{
    memset(t, 0, sizeof(*t));
    t->sink.add = tsink_add;
    t->sink.arg = t;
    strm_arena_init(&t->arena, 4096);
}

struct allstats {
    struct flow_exporter_stats s[16];
    size_t n;
};

static void collect_stats(const struct flow_exporter_stats *s, void *arg)
{
    struct allstats *a = arg;
    if (a->n < 16) a->s[a->n++] = *s;
}

/* The stats of (agent, domain); fails the test when missing. */
static struct flow_exporter_stats stats_of(struct sflow_state *st, const struct strm_ip *agent,
                                           uint32_t domain)
{
    struct allstats a = {0};
    sflow_stats_each(st, collect_stats, &a);
    for (size_t i = 0; i < a.n; i++)
        if (memcmp(a.s[i].exporter.b, agent->b, 16) == 0 && a.s[i].domain == domain) return a.s[i];
    fail_msg("no stats for the agent");
    struct flow_exporter_stats none = {0};
    return none;
}

static struct strm_ip v4(uint32_t a)
{
    struct strm_ip ip;
    strm_ip_from_v4(&ip, a);
    return ip;
}

/* Decodes from an exactly sized heap copy. */
static int decode(struct sflow_state *st, const uint8_t *p, size_t len, struct tsink *t)
{
    uint8_t *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    memcpy(copy, p, len);
    struct strm_ip sender = v4(0x7f000001);
    int rc = sflow_decode(st, copy, len, &sender, 1700000000000, &t->sink);
    free(copy);
    return rc;
}

#define AGENT 0xc0a80001u /* 192.168.0.1, not the sender 127.0.0.1 */

/* ---------------------------------------------------------------- tests */

static void flow_sample_ethernet_scaled(void **state)
{
    struct buf f = {0};
    header_v4(&f, AGENT, 3, 1000, 1);
    size_t s = item_begin(&f, 0, 1);
    flow_sample_hdr(&f, (0u << 24) | 5, 512, 7, 1);
    uint8_t h[128];
    size_t hl = eth_tcp_header(h);
    rec_raw(&f, 1, 1522, h, hl);
    item_end(&f, s);

    struct sflow_state *st = sflow_state_new();
    struct tsink t;
    tsink_init(&t);
    assert_int_equal(decode(st, f.b, f.n, &t), 1);
    assert_int_equal(t.n, 1);
    const struct strm_event *ev = &t.ev[0];
    struct strm_ip agent = v4(AGENT), a = v4(0x0a000001), b = v4(0x0a000002);
    assert_true(ev->flags & STRM_EV_FLOW);
    assert_int_equal(ev->starttime, 1700000000000);
    assert_int_equal(ev->flow.firstpackettime, 1700000000000);
    assert_int_equal(ev->flow.lastpackettime, 1700000000000);
    assert_memory_equal(ev->sourceip.b, a.b, 16);
    assert_memory_equal(ev->destinationip.b, b.b, 16);
    assert_int_equal(ev->sourceport, 40000);
    assert_int_equal(ev->destinationport, 443);
    assert_int_equal(ev->protocolid, 6);
    assert_memory_equal(ev->sourcemac, SMAC, 6);
    assert_memory_equal(ev->destinationmac, DMAC, 6);
    assert_int_equal(ev->flow.vlan, 42);
    assert_int_equal(ev->flow.sourcedscp, 46);
    assert_int_equal(ev->flow.sourceflags, 0x18);
    assert_int_equal(ev->flow.sourcebytes, 1522u * 512);
    assert_int_equal(ev->flow.sourcepackets, 512);
    assert_int_equal(ev->flow.destinationbytes, 0);
    assert_int_equal(ev->flow.flowinterface, 7);
    assert_int_equal(ev->flow.flowtype, STRM_FLOWTYPE_SFLOW);
    assert_memory_equal(ev->flow.flowsource.b, agent.b, 16);

    struct flow_exporter_stats es = stats_of(st, &agent, 3);
    assert_int_equal(es.packets, 1);
    assert_int_equal(es.records, 1);
    assert_int_equal(es.version, 5);
    assert_int_equal(es.flowtype, STRM_FLOWTYPE_SFLOW);
    assert_int_equal(es.sampling_interval, 512);
    assert_int_equal(es.malformed, 0);
    assert_int_equal(es.unknown_fields, 0);
    assert_int_equal(es.sequence_lost, 0);
    sflow_state_free(st);
    strm_arena_free(&t.arena);
}

static void extended_switch_and_input_fallback(void **state)
{
    /* input 0 (unknown): the data source ifIndex; extended switch VLAN wins over the tag */
    struct buf f = {0};
    header_v4(&f, AGENT, 0, 1, 1);
    size_t s = item_begin(&f, 0, 1);
    flow_sample_hdr(&f, 12, 100, 0, 2);
    size_t r = item_begin(&f, 0, 1001);
    put32(&f, 10); /* src vlan */
    put32(&f, 0);
    put32(&f, 20);
    put32(&f, 0);
    item_end(&f, r);
    uint8_t h[128];
    size_t hl = eth_tcp_header(h);
    rec_raw(&f, 1, 1000, h, hl);
    item_end(&f, s);
    struct sflow_state *st = sflow_state_new();
    struct tsink t;
    tsink_init(&t);
    assert_int_equal(decode(st, f.b, f.n, &t), 1);
    assert_int_equal(t.ev[0].flow.vlan, 10);
    assert_int_equal(t.ev[0].flow.flowinterface, 12);
    assert_int_equal(t.ev[0].flow.sourcebytes, 100000);
    sflow_state_free(st);
    strm_arena_free(&t.arena);
}

static void expanded_flow_sample_ipv6(void **state)
{
    struct buf f = {0};
    header_v4(&f, AGENT, 0, 1, 1);
    size_t s = item_begin(&f, 0, 3);
    put32(&f, 1);          /* sequence */
    put32(&f, 0);          /* source id type */
    put32(&f, 0x01000005); /* source id index, beyond 24 bits */
    put32(&f, 2048);       /* rate */
    put32(&f, 0);
    put32(&f, 0);
    put32(&f, 0); /* input format */
    put32(&f, 0x01000005);
    put32(&f, 0); /* output format */
    put32(&f, 3);
    put32(&f, 1);
    uint8_t h[128];
    size_t hl = ip6_udp_header(h);
    rec_raw(&f, 12, 140, h, hl);
    item_end(&f, s);
    struct sflow_state *st = sflow_state_new();
    struct tsink t;
    tsink_init(&t);
    assert_int_equal(decode(st, f.b, f.n, &t), 1);
    const struct strm_event *ev = &t.ev[0];
    assert_int_equal(ev->flow.flowinterface, 0x01000005);
    assert_int_equal(ev->protocolid, 17);
    assert_int_equal(ev->sourceport, 5353);
    assert_int_equal(ev->destinationport, 53);
    assert_int_equal(ev->flow.sourcedscp, 10);
    assert_int_equal(ev->flow.sourcebytes, 140u * 2048);
    assert_int_equal(ev->flow.sourcepackets, 2048);
    assert_memory_equal(ev->sourceip.b, h + 8, 16);
    assert_memory_equal(ev->destinationip.b, h + 24, 16);
    sflow_state_free(st);
    strm_arena_free(&t.arena);
}

static void sampled_ipv4_fallback(void **state)
{
    struct buf f = {0};
    header_v4(&f, AGENT, 0, 1, 1);
    size_t s = item_begin(&f, 0, 1);
    flow_sample_hdr(&f, 1, 10, 0x80000002 /* "multiple": no single ifIndex */, 1);
    size_t r = item_begin(&f, 0, 3);
    put32(&f, 84); /* IP length */
    put32(&f, 1);  /* ICMP */
    put32(&f, 0x01020304);
    put32(&f, 0x05060708);
    put32(&f, 0);
    put32(&f, 0);
    put32(&f, 0);
    put32(&f, 0x20); /* TOS: DSCP 8 */
    item_end(&f, r);
    item_end(&f, s);
    struct sflow_state *st = sflow_state_new();
    struct tsink t;
    tsink_init(&t);
    assert_int_equal(decode(st, f.b, f.n, &t), 1);
    const struct strm_event *ev = &t.ev[0];
    struct strm_ip a = v4(0x01020304);
    assert_memory_equal(ev->sourceip.b, a.b, 16);
    assert_int_equal(ev->protocolid, 1);
    assert_int_equal(ev->flow.sourcedscp, 8);
    assert_int_equal(ev->flow.sourcebytes, 840);
    assert_int_equal(ev->flow.sourcepackets, 10);
    assert_int_equal(ev->flow.flowinterface, 1); /* the data source */
    sflow_state_free(st);
    strm_arena_free(&t.arena);
}

static void generic_if_counters(struct buf *f, uint32_t ifindex, uint64_t in_octets)
{
    size_t r = item_begin(f, 0, 1);
    put32(f, ifindex);
    put32(f, 6);                      /* ethernetCsmacd */
    put64(f, 10000000000ull);         /* 10 Gb/s */
    put32(f, 1);                      /* full duplex */
    put32(f, 3);                      /* admin and oper up */
    put64(f, in_octets);              /* in octets */
    for (uint32_t i = 1; i <= 6; i++) /* in ucast .. unknown protos */
        put32(f, i);
    put64(f, 5000000000ull); /* out octets */
    for (uint32_t i = 11; i <= 15; i++)
        put32(f, i);
    put32(f, 0); /* promiscuous */
    item_end(f, r);
}

struct allifs {
    struct flow_iface_stats s[8];
    size_t n;
};

static void collect_ifs(const struct flow_iface_stats *s, void *arg)
{
    struct allifs *a = arg;
    if (a->n < 8) a->s[a->n++] = *s;
}

static void counter_samples(void **state)
{
    struct buf f = {0};
    header_v4(&f, AGENT, 0, 1, 2);
    size_t s = item_begin(&f, 0, 2);
    put32(&f, 1);
    put32(&f, 4);
    put32(&f, 2);
    size_t r = item_begin(&f, 0, 2); /* Ethernet counters: not used */
    for (int i = 0; i < 13; i++)
        put32(&f, 0);
    item_end(&f, r);
    generic_if_counters(&f, 4, 123456789012ull);
    item_end(&f, s);
    s = item_begin(&f, 0, 4); /* expanded */
    put32(&f, 1);
    put32(&f, 0);
    put32(&f, 0x02000000);
    put32(&f, 1);
    generic_if_counters(&f, 0x02000000, 7);
    item_end(&f, s);

    struct sflow_state *st = sflow_state_new();
    struct tsink t;
    tsink_init(&t);
    assert_int_equal(decode(st, f.b, f.n, &t), 0);
    assert_int_equal(t.n, 0);
    struct allifs a = {0};
    sflow_ifaces_each(st, collect_ifs, &a);
    assert_int_equal(a.n, 2);
    const struct flow_iface_stats *i4 = a.s[0].ifindex == 4 ? &a.s[0] : &a.s[1];
    const struct flow_iface_stats *ib = a.s[0].ifindex == 4 ? &a.s[1] : &a.s[0];
    struct strm_ip agent = v4(AGENT);
    assert_memory_equal(i4->agent.b, agent.b, 16);
    assert_int_equal(i4->ifindex, 4);
    assert_int_equal(i4->speed, 10000000000ull);
    assert_int_equal(i4->direction, 1);
    assert_int_equal(i4->status, 3);
    assert_int_equal(i4->in_octets, 123456789012ull);
    assert_int_equal(i4->in_ucast, 1);
    assert_int_equal(i4->in_mcast, 2);
    assert_int_equal(i4->in_bcast, 3);
    assert_int_equal(i4->in_discards, 4);
    assert_int_equal(i4->in_errors, 5);
    assert_int_equal(i4->in_unknown, 6);
    assert_int_equal(i4->out_octets, 5000000000ull);
    assert_int_equal(i4->out_ucast, 11);
    assert_int_equal(i4->out_mcast, 12);
    assert_int_equal(i4->out_bcast, 13);
    assert_int_equal(i4->out_discards, 14);
    assert_int_equal(i4->out_errors, 15);
    assert_int_equal(i4->updated_ms, 1700000000000);
    assert_int_equal(ib->ifindex, 0x02000000);
    assert_int_equal(ib->in_octets, 7);
    struct flow_exporter_stats es = stats_of(st, &agent, 0);
    assert_int_equal(es.unknown_fields, 1); /* the Ethernet counters record */
    assert_int_equal(es.malformed, 0);

    /* a later sample replaces the values */
    struct buf g = {0};
    header_v4(&g, AGENT, 0, 2, 1);
    s = item_begin(&g, 0, 2);
    put32(&g, 2);
    put32(&g, 4);
    put32(&g, 1);
    generic_if_counters(&g, 4, 999);
    item_end(&g, s);
    assert_int_equal(decode(st, g.b, g.n, &t), 0);
    memset(&a, 0, sizeof(a));
    sflow_ifaces_each(st, collect_ifs, &a);
    assert_int_equal(a.n, 2);
    i4 = a.s[0].ifindex == 4 ? &a.s[0] : &a.s[1];
    assert_int_equal(i4->in_octets, 999);
    sflow_state_free(st);
    strm_arena_free(&t.arena);
}

static void ipv6_agent(void **state)
{
    static const uint8_t agent6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
                                       0,    0,    0,    0,    0, 0, 0, 0x99};
    struct buf f = {0};
    put32(&f, 5);
    put32(&f, 2);
    put(&f, agent6, 16);
    put32(&f, 1); /* sub-agent */
    put32(&f, 50);
    put32(&f, 0);
    put32(&f, 1);
    size_t s = item_begin(&f, 0, 1);
    flow_sample_hdr(&f, 2, 1, 2, 1);
    uint8_t h[128];
    size_t hl = eth_tcp_header(h);
    rec_raw(&f, 1, 64, h, hl);
    item_end(&f, s);
    struct sflow_state *st = sflow_state_new();
    struct tsink t;
    tsink_init(&t);
    assert_int_equal(decode(st, f.b, f.n, &t), 1);
    assert_memory_equal(t.ev[0].flow.flowsource.b, agent6, 16);
    assert_int_equal(t.ev[0].flow.sourcebytes, 64);
    struct strm_ip agent;
    memcpy(agent.b, agent6, 16);
    struct flow_exporter_stats es = stats_of(st, &agent, 1);
    assert_int_equal(es.records, 1);
    sflow_state_free(st);
    strm_arena_free(&t.arena);
}

static void sequence_gaps(void **state)
{
    struct sflow_state *st = sflow_state_new();
    struct tsink t;
    tsink_init(&t);
    struct strm_ip agent = v4(AGENT);
    static const struct {
        uint32_t seq;
        uint64_t lost;
    } steps[] = {
        {10, 0},         {11, 0}, {15, 3}, /* 12, 13, 14 missed */
        {2, 3},                            /* backwards: restart */
        {3, 3},          {5, 4},           /* 4 missed */
        {0xffffffff, 4}, /* far forward is backwards in serial arithmetic: restart */
        {1, 5},          /* across the wrap: 0 missed */
    };
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        struct buf f = {0};
        header_v4(&f, AGENT, 0, steps[i].seq, 0);
        assert_int_equal(decode(st, f.b, f.n, &t), 0);
        struct flow_exporter_stats es = stats_of(st, &agent, 0);
        assert_int_equal(es.packets, i + 1);
        assert_int_equal(es.sequence_lost, steps[i].lost);
    }
    /* another sub-agent of the same agent has its own sequence */
    struct buf f = {0};
    header_v4(&f, AGENT, 1, 1000, 0);
    assert_int_equal(decode(st, f.b, f.n, &t), 0);
    assert_int_equal(stats_of(st, &agent, 1).sequence_lost, 0);
    assert_int_equal(stats_of(st, &agent, 0).sequence_lost, 5);
    sflow_state_free(st);
    strm_arena_free(&t.arena);
}

static void unknown_skipped_and_counted(void **state)
{
    struct buf f = {0};
    header_v4(&f, AGENT, 0, 1, 3);
    /* a discarded-packet sample: skipped, counted */
    size_t s = item_begin(&f, 0, 5);
    for (int i = 0; i < 9; i++)
        put32(&f, 0);
    item_end(&f, s);
    /* a vendor sample: skipped, counted */
    s = item_begin(&f, 4413, 1);
    put(&f, "vendor", 6);
    item_end(&f, s);
    /* a flow sample with a vendor record before and an unknown standard one after */
    s = item_begin(&f, 0, 1);
    flow_sample_hdr(&f, 3, 4, 3, 3);
    size_t r = item_begin(&f, 9, 7);
    put(&f, "xxxxxxxxxxxx", 12);
    item_end(&f, r);
    uint8_t h[128];
    size_t hl = eth_tcp_header(h);
    rec_raw(&f, 1, 200, h, hl);
    r = item_begin(&f, 0, 4095);
    item_end(&f, r);
    item_end(&f, s);
    struct sflow_state *st = sflow_state_new();
    struct tsink t;
    tsink_init(&t);
    assert_int_equal(decode(st, f.b, f.n, &t), 1);
    assert_int_equal(t.ev[0].flow.sourcebytes, 800);
    assert_int_equal(t.ev[0].destinationport, 443);
    struct strm_ip agent = v4(AGENT);
    struct flow_exporter_stats es = stats_of(st, &agent, 0);
    assert_int_equal(es.unknown_fields, 4);
    assert_int_equal(es.malformed, 0);
    assert_int_equal(es.records, 1);
    sflow_state_free(st);
    strm_arena_free(&t.arena);
}

/* Two flow samples and a counter sample: the datagram every truncation is made from. */
static void full_datagram(struct buf *f)
{
    header_v4(f, AGENT, 0, 1, 3);
    uint8_t h[128];
    size_t hl = eth_tcp_header(h);
    for (int i = 0; i < 2; i++) {
        size_t s = item_begin(f, 0, 1);
        flow_sample_hdr(f, 3, 256, 3, 2);
        size_t r = item_begin(f, 0, 1001);
        put32(f, 10);
        put32(f, 0);
        put32(f, 20);
        put32(f, 0);
        item_end(f, r);
        rec_raw(f, 1, 1522, h, hl);
        item_end(f, s);
    }
    size_t s = item_begin(f, 0, 2);
    put32(f, 1);
    put32(f, 3);
    put32(f, 1);
    generic_if_counters(f, 3, 42);
    item_end(f, s);
}

static uint64_t sum_malformed(struct sflow_state *st, uint64_t *packets)
{
    struct allstats a = {0};
    sflow_stats_each(st, collect_stats, &a);
    uint64_t m = 0;
    *packets = 0;
    for (size_t i = 0; i < a.n; i++) {
        m += a.s[i].malformed;
        *packets += a.s[i].packets;
    }
    return m;
}

static void every_truncation_counted(void **state)
{
    struct buf f = {0};
    full_datagram(&f);
    struct sflow_state *st = sflow_state_new();
    struct tsink t;
    tsink_init(&t);
    assert_int_equal(decode(st, f.b, f.n, &t), 2);
    uint64_t packets;
    assert_int_equal(sum_malformed(st, &packets), 0);
    for (size_t len = 0; len < f.n; len++) {
        t.n = 0;
        int rc = decode(st, f.b, len, &t);
        /* records of the samples complete before the cut stay */
        assert_true(rc == STRM_ERR_PARSE || (rc > 0 && (size_t)rc == t.n));
        assert_true(t.n <= 2);
        assert_int_equal(sum_malformed(st, &packets), len + 1);
        assert_int_equal(packets, len + 2);
    }
    sflow_state_free(st);
    strm_arena_free(&t.arena);
}

static void sample_lying_about_length(void **state)
{
    struct buf f = {0};
    full_datagram(&f);
    /* the counter sample (third) claims more than there is: the two flows stay */
    size_t third = f.n - (8 + 12 + 8 + 88);
    set32(&f, third + 4, 100000);
    struct sflow_state *st = sflow_state_new();
    struct tsink t;
    tsink_init(&t);
    assert_int_equal(decode(st, f.b, f.n, &t), 2);
    struct strm_ip agent = v4(AGENT);
    struct flow_exporter_stats es = stats_of(st, &agent, 0);
    assert_int_equal(es.malformed, 1);
    assert_int_equal(es.records, 2);
    struct allifs a = {0};
    sflow_ifaces_each(st, collect_ifs, &a);
    assert_int_equal(a.n, 0);

    /* the first flow sample's record count says 1000 records: nothing emitted */
    struct buf g = {0};
    full_datagram(&g);
    set32(&g, 28 + 8 + 28, 1000);
    t.n = 0;
    assert_int_equal(decode(st, g.b, g.n, &t), STRM_ERR_PARSE);
    assert_int_equal(t.n, 0);
    es = stats_of(st, &agent, 0);
    assert_int_equal(es.malformed, 2);

    /* a raw header longer than its record: the record is malformed, the sample goes on */
    struct buf h = {0};
    header_v4(&h, AGENT, 0, 3, 1);
    size_t s = item_begin(&h, 0, 1);
    flow_sample_hdr(&h, 3, 1, 3, 1);
    size_t r = item_begin(&h, 0, 1);
    put32(&h, 1);
    put32(&h, 100);
    put32(&h, 4);
    put32(&h, 5000);
    put(&h, "abcdefgh", 8);
    item_end(&h, r);
    item_end(&h, s);
    t.n = 0;
    assert_int_equal(decode(st, h.b, h.n, &t), 0);
    es = stats_of(st, &agent, 0);
    assert_int_equal(es.malformed, 3);
    sflow_state_free(st);
    strm_arena_free(&t.arena);
}

static void rate_zero_and_bad_headers(void **state)
{
    struct buf f = {0};
    header_v4(&f, AGENT, 0, 1, 1);
    size_t s = item_begin(&f, 0, 1);
    flow_sample_hdr(&f, 3, 0, 3, 1);
    uint8_t h[128];
    size_t hl = eth_tcp_header(h);
    rec_raw(&f, 1, 100, h, hl);
    item_end(&f, s);
    struct sflow_state *st = sflow_state_new();
    struct tsink t;
    tsink_init(&t);
    assert_int_equal(decode(st, f.b, f.n, &t), 1);
    assert_int_equal(t.ev[0].flow.sourcepackets, 1);
    assert_int_equal(t.ev[0].flow.sourcebytes, 100);
    struct strm_ip agent = v4(AGENT);
    assert_int_equal(stats_of(st, &agent, 0).malformed, 1);

    /* version 4 and an unknown agent address type: counted against the sender */
    struct buf g = {0};
    put32(&g, 4);
    put32(&g, 1);
    put32(&g, AGENT);
    assert_int_equal(decode(st, g.b, g.n, &t), STRM_ERR_PARSE);
    set32(&g, 0, 5);
    set32(&g, 4, 7);
    assert_int_equal(decode(st, g.b, g.n, &t), STRM_ERR_PARSE);
    struct strm_ip sender = v4(0x7f000001);
    struct flow_exporter_stats es = stats_of(st, &sender, 0);
    assert_int_equal(es.malformed, 2);
    assert_int_equal(es.packets, 2);

    /* a sink out of slots: nothing emitted, no crash */
    t.n = 0;
    t.full = true;
    assert_int_equal(decode(st, f.b, f.n, &t), 0);
    assert_int_equal(t.n, 0);
    sflow_state_free(st);
    strm_arena_free(&t.arena);
}

/*
 * A datagram made by a real agent: pmacct 1.7's sfprobe reading a pcap of 40000-40003 -> 443
 * TCP packets (agent address 192.0.2.1). tshark decodes the same datagram to 6 flow samples
 * with frame lengths 158..208 (sum 1098: each is the frame plus the 4-byte FCS the agent
 * reports as stripped).
 */
static void real_datagram_pmacct(void **state)
{
    FILE *fp = fopen(STRM_SRC_DIR "/tests/fuzz/corpus/sflow/pmacct_sfprobe", "rb");
    assert_non_null(fp);
    uint8_t b[4096];
    size_t n = fread(b, 1, sizeof(b), fp);
    fclose(fp);
    assert_int_equal(n, 1324);
    struct sflow_state *st = sflow_state_new();
    struct tsink t;
    tsink_init(&t);
    assert_int_equal(decode(st, b, n, &t), 6);
    static const uint16_t sports[] = {40000, 40001, 40002, 40003, 40000, 40001};
    uint64_t bytes = 0;
    struct strm_ip agent = v4(0xc0000201), a = v4(0x0a000001);
    for (size_t i = 0; i < 6; i++) {
        const struct strm_event *ev = &t.ev[i];
        assert_int_equal(ev->sourceport, sports[i]);
        assert_int_equal(ev->destinationport, 443);
        assert_int_equal(ev->protocolid, 6);
        assert_memory_equal(ev->sourceip.b, a.b, 16);
        assert_int_equal(ev->flow.sourcedscp, 46);
        assert_int_equal(ev->flow.sourcepackets, 1);
        assert_int_equal(ev->flow.flowinterface, 1);
        assert_memory_equal(ev->flow.flowsource.b, agent.b, 16);
        assert_memory_equal(ev->sourcemac, SMAC, 6);
        bytes += ev->flow.sourcebytes;
    }
    assert_int_equal(bytes, 1098);
    struct flow_exporter_stats es = stats_of(st, &agent, 0);
    assert_int_equal(es.malformed, 0);
    assert_int_equal(es.unknown_fields, 0);
    assert_int_equal(es.sampling_interval, 1);
    sflow_state_free(st);
    strm_arena_free(&t.arena);
}

/* Decoding on one thread while another reads the tables (meaningful under TSan/ASan). */
struct reader {
    struct sflow_state *st;
    _Atomic int stop;
    uint64_t rounds;
};

static void count_if(const struct flow_iface_stats *s, void *arg)
{
    (*(uint64_t *)arg)++;
}
static void count_st(const struct flow_exporter_stats *s, void *arg)
{
    (*(uint64_t *)arg)++;
}

static void *reader_main(void *arg)
{
    struct reader *r = arg;
    uint64_t n = 0;
    while (!r->stop && r->rounds < 1000000) {
        sflow_stats_each(r->st, count_st, &n);
        sflow_ifaces_each(r->st, count_if, &n);
        r->rounds++;
    }
    return NULL;
}

static void stats_from_another_thread(void **state)
{
    struct sflow_state *st = sflow_state_new();
    struct reader r = {.st = st};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, reader_main, &r), 0);
    struct tsink t;
    tsink_init(&t);
    for (uint32_t i = 0; i < 2000; i++) {
        struct buf f = {0};
        header_v4(&f, AGENT + (i % 50), 0, i, 1);
        size_t s = item_begin(&f, 0, 2);
        put32(&f, i);
        put32(&f, 3);
        put32(&f, 1);
        generic_if_counters(&f, i % 300, i);
        item_end(&f, s);
        t.n = 0;
        assert_int_equal(decode(st, f.b, f.n, &t), 0);
    }
    r.stop = 1;
    pthread_join(th, NULL);
    uint64_t nagents = 0;
    sflow_stats_each(st, count_st, &nagents);
    assert_int_equal(nagents, 50);
    uint64_t nif = 0;
    sflow_ifaces_each(st, count_if, &nif);
    assert_int_equal(nif, 300);
    sflow_state_free(st);
    strm_arena_free(&t.arena);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(flow_sample_ethernet_scaled),
        cmocka_unit_test(extended_switch_and_input_fallback),
        cmocka_unit_test(expanded_flow_sample_ipv6),
        cmocka_unit_test(sampled_ipv4_fallback),
        cmocka_unit_test(counter_samples),
        cmocka_unit_test(ipv6_agent),
        cmocka_unit_test(sequence_gaps),
        cmocka_unit_test(unknown_skipped_and_counted),
        cmocka_unit_test(every_truncation_counted),
        cmocka_unit_test(sample_lying_about_length),
        cmocka_unit_test(rate_zero_and_bad_headers),
        cmocka_unit_test(real_datagram_pmacct),
        cmocka_unit_test(stats_from_another_thread),
    };
    cmocka_set_message_output(CM_OUTPUT_TAP);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
