/*
 * Unit tests for src/flow/netflow.c: NetFlow v5, v9 and IPFIX decoding from hand-built
 * messages. Each test builds its datagrams byte by byte, decodes them through a sink that
 * collects records, and checks the records and the per-exporter counters.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "flow/flow.h"

/* ---------------------------------------------------------------- helpers */

#define SINK_CAP 512

struct test_sink {
    struct flow_sink sink;
    struct strm_event ev[SINK_CAP];
    int n;
    struct strm_arena arena;
};

static struct strm_event *sink_add(struct flow_sink *s, struct strm_arena **arena)
{
    struct test_sink *t = s->arg;
    if (t->n >= SINK_CAP) return NULL;
    struct strm_event *ev = &t->ev[t->n++];
    strm_event_init(ev);
    *arena = &t->arena;
    return ev;
}

static struct test_sink *sink_new(void)
{
    struct test_sink *t = calloc(1, sizeof(*t));
    assert_non_null(t);
    t->sink.add = sink_add;
    t->sink.arg = t;
    strm_arena_init(&t->arena, 4096);
    return t;
}

static void sink_free(struct test_sink *t)
{
    strm_arena_free(&t->arena);
    free(t);
}

struct buf {
    uint8_t b[70000];
    size_t n;
};

static struct buf *buf_new(void)
{
    struct buf *b = calloc(1, sizeof(*b));
    assert_non_null(b);
    return b;
}

static void u8(struct buf *b, unsigned v)
{
    b->b[b->n++] = (uint8_t)v;
}
static void u16(struct buf *b, unsigned v)
{
    u8(b, v >> 8);
    u8(b, v);
}
static void u32(struct buf *b, uint32_t v)
{
    u16(b, v >> 16);
    u16(b, v & 0xFFFF);
}
static void u64(struct buf *b, uint64_t v)
{
    u32(b, (uint32_t)(v >> 32));
    u32(b, (uint32_t)v);
}
static void put(struct buf *b, const void *p, size_t n)
{
    memcpy(b->b + b->n, p, n);
    b->n += n;
}
static void patch16(struct buf *b, size_t at, size_t v)
{
    b->b[at] = (uint8_t)(v >> 8);
    b->b[at + 1] = (uint8_t)v;
}

static size_t set_begin(struct buf *b, unsigned id)
{
    size_t at = b->n;
    u16(b, id);
    u16(b, 0);
    return at;
}
static void set_end(struct buf *b, size_t at)
{
    patch16(b, at + 2, b->n - at);
}

static void v9_hdr(struct buf *b, unsigned count, uint32_t uptime, uint32_t secs, uint32_t seq,
                   uint32_t srcid)
{
    b->n = 0;
    u16(b, 9);
    u16(b, count);
    u32(b, uptime);
    u32(b, secs);
    u32(b, seq);
    u32(b, srcid);
}

static void ipfix_hdr(struct buf *b, uint32_t export_s, uint32_t seq, uint32_t odid)
{
    b->n = 0;
    u16(b, 10);
    u16(b, 0);
    u32(b, export_s);
    u32(b, seq);
    u32(b, odid);
}
static void ipfix_end(struct buf *b)
{
    patch16(b, 2, b->n);
}

static struct strm_ip exporter_ip(uint32_t v4)
{
    struct strm_ip ip;
    strm_ip_from_v4(&ip, v4);
    return ip;
}

struct stats_find {
    uint32_t domain;
    uint8_t version;
    struct flow_exporter_stats out;
    int found;
};
static void stats_cb(const struct flow_exporter_stats *s, void *arg)
{
    struct stats_find *f = arg;
    if (s->domain == f->domain && s->version == f->version) {
        f->out = *s;
        f->found++;
    }
}
static struct flow_exporter_stats stats_of(struct nf_state *st, uint32_t domain, uint8_t version)
{
    struct stats_find f = {.domain = domain, .version = version};
    nf_stats_each(st, stats_cb, &f);
    assert_int_equal(f.found, 1);
    return f.out;
}

static uint32_t v4_of(const struct strm_ip *ip)
{
    assert_true(strm_ip_is_v4(ip));
    return (uint32_t)ip->b[12] << 24 | (uint32_t)ip->b[13] << 16 | (uint32_t)ip->b[14] << 8 |
           ip->b[15];
}

#define EXP 0xC0000201u /* 192.0.2.1 */
#define NOW 1700000100000LL

static int decode(struct nf_state *st, struct buf *b, struct test_sink *s)
{
    struct strm_ip ip = exporter_ip(EXP);
    return nf_decode(st, b->b, b->n, &ip, NF_UDP, NOW, &s->sink);
}

/* ---------------------------------------------------------------- v5 */

static void v5_hdr(struct buf *b, unsigned count, uint32_t uptime, uint32_t secs, uint32_t nsecs,
                   uint32_t seq, unsigned engine_type, unsigned engine_id, unsigned sampling)
{
    b->n = 0;
    u16(b, 5);
    u16(b, count);
    u32(b, uptime);
    u32(b, secs);
    u32(b, nsecs);
    u32(b, seq);
    u8(b, engine_type);
    u8(b, engine_id);
    u16(b, sampling);
}

static void v5_rec(struct buf *b, uint32_t src, uint32_t dst, uint32_t pkts, uint32_t octets,
                   uint32_t first, uint32_t last, unsigned sport, unsigned dport, unsigned proto)
{
    u32(b, src);
    u32(b, dst);
    u32(b, 0x0A000001); /* next hop */
    u16(b, 3);          /* input */
    u16(b, 4);          /* output */
    u32(b, pkts);
    u32(b, octets);
    u32(b, first);
    u32(b, last);
    u16(b, sport);
    u16(b, dport);
    u8(b, 0);
    u8(b, 0x1B); /* tcp flags */
    u8(b, proto);
    u8(b, 0xB8); /* tos: dscp 46 */
    u16(b, 65001);
    u16(b, 65002);
    u8(b, 24);
    u8(b, 24);
    u16(b, 0);
}

static void v5_fields_and_times(void **state)
{
    struct nf_state *st = nf_state_new(NULL);
    struct test_sink *s = sink_new();
    struct buf *b = buf_new();
    v5_hdr(b, 2, 100000, 1700000000, 500000000, 0, 1, 2, 0);
    v5_rec(b, 0x0A000102, 0xC6336407, 10, 1500, 90000, 99000, 40000, 443, 6);
    v5_rec(b, 0x0A000103, 0x08080808, 1, 84, 99500, 99500, 0, 0x0800, 1); /* echo request */
    assert_int_equal(decode(st, b, s), 2);
    assert_int_equal(s->n, 2);
    struct strm_event *e = &s->ev[0];
    assert_true(e->flags & STRM_EV_FLOW);
    assert_int_equal(e->starttime, NOW);
    assert_int_equal(v4_of(&e->sourceip), 0x0A000102);
    assert_int_equal(v4_of(&e->destinationip), 0xC6336407);
    assert_int_equal(e->sourceport, 40000);
    assert_int_equal(e->destinationport, 443);
    assert_int_equal(e->protocolid, 6);
    assert_int_equal(e->flow.sourcebytes, 1500);
    assert_int_equal(e->flow.sourcepackets, 10);
    assert_int_equal(e->flow.destinationbytes, 0);
    assert_int_equal(e->flow.sourceflags, 0x1B);
    assert_int_equal(e->flow.sourcedscp, 46);
    assert_int_equal(e->flow.flowinterface, 3);
    assert_int_equal(e->flow.flowtype, STRM_FLOWTYPE_NETFLOW5);
    assert_int_equal(v4_of(&e->flow.flowsource), EXP);
    /* export at 1700000000.5 s, uptime 100 s: First 90 s = 10 s before */
    assert_int_equal(e->flow.firstpackettime, 1700000000500LL - 10000);
    assert_int_equal(e->flow.lastpackettime, 1700000000500LL - 1000);
    assert_int_equal(e->flow.flowdirection, 0);
    e = &s->ev[1];
    assert_int_equal(e->flow.icmptype, 8);
    assert_int_equal(e->flow.icmpcode, 0);
    struct flow_exporter_stats x = stats_of(st, 0x0102, 5);
    assert_int_equal(x.packets, 1);
    assert_int_equal(x.records, 2);
    assert_int_equal(x.malformed, 0);
    assert_int_equal(x.sampling_interval, 1);
    free(b);
    sink_free(s);
    nf_state_free(st);
}

static void v5_sampling_scales(void **state)
{
    struct nf_state *st = nf_state_new(NULL);
    struct test_sink *s = sink_new();
    struct buf *b = buf_new();
    v5_hdr(b, 1, 5000, 1700000000, 0, 0, 0, 0, 0x4000 | 100); /* mode 1, 1 in 100 */
    v5_rec(b, 1, 2, 3, 200, 4000, 4500, 1, 2, 17);
    assert_int_equal(decode(st, b, s), 1);
    assert_int_equal(s->ev[0].flow.sourcebytes, 20000);
    assert_int_equal(s->ev[0].flow.sourcepackets, 300);
    assert_int_equal(stats_of(st, 0, 5).sampling_interval, 100);
    free(b);
    sink_free(s);
    nf_state_free(st);
}

static void v5_sequence_gap(void **state)
{
    struct nf_state *st = nf_state_new(NULL);
    struct test_sink *s = sink_new();
    struct buf *b = buf_new();
    v5_hdr(b, 2, 5000, 1700000000, 0, 1000000, 0, 7, 0);
    v5_rec(b, 1, 2, 1, 60, 4000, 4500, 1, 2, 17);
    v5_rec(b, 1, 2, 1, 60, 4000, 4500, 1, 2, 17);
    assert_int_equal(decode(st, b, s), 2);
    v5_hdr(b, 1, 5000, 1700000000, 0, 1000002, 0, 7, 0); /* in order */
    v5_rec(b, 1, 2, 1, 60, 4000, 4500, 1, 2, 17);
    assert_int_equal(decode(st, b, s), 1);
    assert_int_equal(stats_of(st, 7, 5).sequence_lost, 0);
    v5_hdr(b, 1, 5000, 1700000000, 0, 1000010, 0, 7, 0); /* 7 records lost */
    v5_rec(b, 1, 2, 1, 60, 4000, 4500, 1, 2, 17);
    assert_int_equal(decode(st, b, s), 1);
    assert_int_equal(stats_of(st, 7, 5).sequence_lost, 7);
    /* another engine is its own domain with its own sequence */
    v5_hdr(b, 1, 5000, 1700000000, 0, 5, 0, 8, 0);
    v5_rec(b, 1, 2, 1, 60, 4000, 4500, 1, 2, 17);
    assert_int_equal(decode(st, b, s), 1);
    assert_int_equal(stats_of(st, 8, 5).sequence_lost, 0);
    /* exporter restart: a big step back resynchronizes without loss */
    v5_hdr(b, 1, 50, 1700000000, 0, 0, 0, 7, 0);
    v5_rec(b, 1, 2, 1, 60, 40, 45, 1, 2, 17);
    assert_int_equal(decode(st, b, s), 1);
    v5_hdr(b, 1, 50, 1700000000, 0, 1, 0, 7, 0);
    v5_rec(b, 1, 2, 1, 60, 40, 45, 1, 2, 17);
    assert_int_equal(decode(st, b, s), 1);
    assert_int_equal(stats_of(st, 7, 5).sequence_lost, 7);
    /* wrap-around of the 32-bit counter is not loss */
    v5_hdr(b, 2, 50, 1700000000, 0, 0xFFFFFFFFu, 0, 9, 0);
    v5_rec(b, 1, 2, 1, 60, 40, 45, 1, 2, 17);
    v5_rec(b, 1, 2, 1, 60, 40, 45, 1, 2, 17);
    assert_int_equal(decode(st, b, s), 2);
    v5_hdr(b, 1, 50, 1700000000, 0, 1, 0, 9, 0);
    v5_rec(b, 1, 2, 1, 60, 40, 45, 1, 2, 17);
    assert_int_equal(decode(st, b, s), 1);
    assert_int_equal(stats_of(st, 9, 5).sequence_lost, 0);
    free(b);
    sink_free(s);
    nf_state_free(st);
}

static void v5_bad_counts(void **state)
{
    struct nf_state *st = nf_state_new(NULL);
    struct test_sink *s = sink_new();
    struct buf *b = buf_new();
    v5_hdr(b, 31, 5000, 1700000000, 0, 0, 0, 0, 0);
    for (int i = 0; i < 31; i++)
        v5_rec(b, 1, 2, 1, 60, 4000, 4500, 1, 2, 17);
    assert_int_equal(decode(st, b, s), STRM_ERR_PARSE);
    v5_hdr(b, 2, 5000, 1700000000, 0, 0, 0, 0, 0);
    v5_rec(b, 1, 2, 1, 60, 4000, 4500, 1, 2, 17); /* says 2, carries 1 */
    assert_int_equal(decode(st, b, s), STRM_ERR_PARSE);
    assert_int_equal(s->n, 0);
    assert_int_equal(stats_of(st, 0, 5).malformed, 2);
    free(b);
    sink_free(s);
    nf_state_free(st);
}

/* ---------------------------------------------------------------- v9 */

/* Template 256: IPv4 5-tuple, counters, uptime times, interface, vlan, MACs. */
static void v9_tmpl_v4(struct buf *b, unsigned id)
{
    size_t at = set_begin(b, 0);
    static const uint16_t f[][2] = {{8, 4},  {12, 4}, {7, 2},  {11, 2}, {4, 1},
                                    {6, 1},  {5, 1},  {1, 4},  {2, 4},  {22, 4},
                                    {21, 4}, {10, 2}, {58, 2}, {56, 6}, {80, 6}};
    u16(b, id);
    u16(b, sizeof(f) / sizeof(f[0]));
    for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
        u16(b, f[i][0]);
        u16(b, f[i][1]);
    }
    set_end(b, at);
}

static void v9_rec_v4(struct buf *b, uint32_t src, uint32_t dst, uint32_t octets, uint32_t pkts,
                      uint32_t first, uint32_t last)
{
    static const uint8_t smac[6] = {0, 1, 2, 3, 4, 5}, dmac[6] = {6, 7, 8, 9, 10, 11};
    u32(b, src);
    u32(b, dst);
    u16(b, 51000);
    u16(b, 53);
    u8(b, 17);
    u8(b, 0);
    u8(b, 0x20); /* dscp 8 */
    u32(b, octets);
    u32(b, pkts);
    u32(b, first);
    u32(b, last);
    u16(b, 7);
    u16(b, 42);
    put(b, smac, 6);
    put(b, dmac, 6);
}

static void v9_data_v4(struct buf *b, unsigned id, int nrec)
{
    size_t at = set_begin(b, id);
    for (int i = 0; i < nrec; i++)
        v9_rec_v4(b, 0x0A000001 + (uint32_t)i, 0x0A000101, 1000, 10, 50000, 59000);
    set_end(b, at);
}

static void v9_template_then_data(void **state)
{
    struct nf_state *st = nf_state_new(NULL);
    struct test_sink *s = sink_new();
    struct buf *b = buf_new();
    v9_hdr(b, 3, 60000, 1700000000, 1, 42);
    v9_tmpl_v4(b, 256);
    v9_data_v4(b, 256, 2);
    assert_int_equal(decode(st, b, s), 2);
    struct strm_event *e = &s->ev[0];
    assert_int_equal(v4_of(&e->sourceip), 0x0A000001);
    assert_int_equal(v4_of(&e->destinationip), 0x0A000101);
    assert_int_equal(e->sourceport, 51000);
    assert_int_equal(e->destinationport, 53);
    assert_int_equal(e->protocolid, 17);
    assert_int_equal(e->flow.sourcebytes, 1000);
    assert_int_equal(e->flow.sourcepackets, 10);
    assert_int_equal(e->flow.sourcedscp, 8);
    assert_int_equal(e->flow.flowinterface, 7);
    assert_int_equal(e->flow.vlan, 42);
    assert_int_equal(e->sourcemac[5], 5);
    assert_int_equal(e->destinationmac[0], 6);
    assert_int_equal(e->flow.flowtype, STRM_FLOWTYPE_NETFLOW9);
    assert_int_equal(e->flow.firstpackettime, 1700000000000LL - 10000);
    assert_int_equal(e->flow.lastpackettime, 1700000000000LL - 1000);
    assert_int_equal(v4_of(&s->ev[1].sourceip), 0x0A000002);
    struct flow_exporter_stats x = stats_of(st, 42, 9);
    assert_int_equal(x.templates, 1);
    assert_int_equal(x.records, 2);
    assert_int_equal(x.malformed, 0);
    assert_int_equal(x.unknown_fields, 0);
    /* sequence: v9 counts packets */
    v9_hdr(b, 1, 61000, 1700000001, 5, 42);
    v9_data_v4(b, 256, 1);
    assert_int_equal(decode(st, b, s), 1);
    assert_int_equal(stats_of(st, 42, 9).sequence_lost, 3);
    free(b);
    sink_free(s);
    nf_state_free(st);
}

static void v9_data_before_template_is_held(void **state)
{
    struct nf_state *st = nf_state_new(NULL);
    struct test_sink *s = sink_new();
    struct buf *b = buf_new();
    v9_hdr(b, 2, 60000, 1700000000, 1, 0);
    v9_data_v4(b, 256, 2);
    assert_int_equal(decode(st, b, s), 0);
    assert_int_equal(stats_of(st, 0, 9).held, 1);
    /* data for a template that never comes */
    v9_hdr(b, 1, 60000, 1700000000, 2, 0);
    v9_data_v4(b, 300, 1);
    assert_int_equal(decode(st, b, s), 0);
    assert_int_equal(s->n, 0);
    /* the template arrives (later uptime): held records come out with their own times */
    v9_hdr(b, 1, 70000, 1700000010, 3, 0);
    v9_tmpl_v4(b, 256);
    assert_int_equal(decode(st, b, s), 2);
    assert_int_equal(s->n, 2);
    assert_int_equal(s->ev[0].flow.firstpackettime, 1700000000000LL - 10000);
    assert_int_equal(s->ev[1].flow.sourcebytes, 1000);
    struct flow_exporter_stats x = stats_of(st, 0, 9);
    assert_int_equal(x.held, 2);
    assert_int_equal(x.records, 2);
    assert_int_equal(x.unknown_template_drops, 0);
    nf_tick(st, NOW + 1000);
    assert_int_equal(stats_of(st, 0, 9).unknown_template_drops, 0);
    nf_tick(st, NOW + 31000);
    assert_int_equal(stats_of(st, 0, 9).unknown_template_drops, 1);
    free(b);
    sink_free(s);
    nf_state_free(st);
}

static void v9_hold_is_bounded(void **state)
{
    /* sets of 470 bytes, each held with a small header */
    struct nf_options o = {.hold_ms = 1000, .hold_max_bytes = 1100, .template_ttl_s = 60};
    struct nf_state *st = nf_state_new(&o);
    struct test_sink *s = sink_new();
    struct buf *b = buf_new();
    v9_hdr(b, 4, 60000, 1700000000, 1, 0);
    v9_data_v4(b, 256, 10);
    v9_data_v4(b, 257, 10);
    v9_data_v4(b, 258, 10); /* over 1100: dropped */
    assert_int_equal(decode(st, b, s), 0);
    struct flow_exporter_stats x = stats_of(st, 0, 9);
    assert_int_equal(x.held, 2);
    assert_int_equal(x.unknown_template_drops, 1);
    /* no more than 256 sets wait per domain, however small */
    nf_state_free(st);
    st = nf_state_new(NULL);
    v9_hdr(b, 0, 60000, 1700000000, 2, 1);
    for (int i = 0; i < 300; i++) {
        size_t at = set_begin(b, 300 + (unsigned)i);
        u32(b, 0);
        set_end(b, at);
    }
    assert_int_equal(decode(st, b, s), 0);
    x = stats_of(st, 1, 9);
    assert_int_equal(x.held, 256);
    assert_int_equal(x.unknown_template_drops, 44);
    free(b);
    sink_free(s);
    nf_state_free(st);
}

static void v9_options_sampling(void **state)
{
    struct nf_state *st = nf_state_new(NULL);
    struct test_sink *s = sink_new();
    struct buf *b = buf_new();
    v9_hdr(b, 4, 60000, 1700000000, 1, 0);
    size_t at = set_begin(b, 1); /* options template 257 */
    u16(b, 257);
    u16(b, 4); /* scope: system, 4 bytes */
    u16(b, 8); /* options: SAMPLING_INTERVAL 4, FLOW_SAMPLER_MODE 1 */
    u16(b, 1);
    u16(b, 4);
    u16(b, 34);
    u16(b, 4);
    u16(b, 49);
    u16(b, 1);
    u16(b, 0); /* padding */
    set_end(b, at);
    at = set_begin(b, 257);
    u32(b, 0xC0000201);
    u32(b, 100);
    u8(b, 2);
    u8(b, 0);
    u8(b, 0);
    u8(b, 0); /* padding */
    set_end(b, at);
    v9_tmpl_v4(b, 256);
    v9_data_v4(b, 256, 1);
    assert_int_equal(decode(st, b, s), 1);
    assert_int_equal(s->ev[0].flow.sourcebytes, 100000);
    assert_int_equal(s->ev[0].flow.sourcepackets, 1000);
    struct flow_exporter_stats x = stats_of(st, 0, 9);
    assert_int_equal(x.sampling_interval, 100);
    assert_int_equal(x.options_records, 1);
    assert_int_equal(x.templates, 2);
    assert_int_equal(x.malformed, 0);
    free(b);
    sink_free(s);
    nf_state_free(st);
}

static void v9_ipv6_template(void **state)
{
    struct nf_state *st = nf_state_new(NULL);
    struct test_sink *s = sink_new();
    struct buf *b = buf_new();
    v9_hdr(b, 2, 60000, 1700000000, 1, 0);
    size_t at = set_begin(b, 0);
    u16(b, 260);
    u16(b, 6);
    u16(b, 27), u16(b, 16);
    u16(b, 28), u16(b, 16);
    u16(b, 7), u16(b, 2);
    u16(b, 11), u16(b, 2);
    u16(b, 4), u16(b, 1);
    u16(b, 1), u16(b, 8);
    set_end(b, at);
    at = set_begin(b, 260);
    struct strm_ip a, c;
    assert_int_equal(strm_ip_parse(&a, "2001:db8::1", 11), 0);
    assert_int_equal(strm_ip_parse(&c, "2001:db8::2", 11), 0);
    put(b, a.b, 16);
    put(b, c.b, 16);
    u16(b, 1234);
    u16(b, 80);
    u8(b, 6);
    u64(b, 5000000000ull);
    u8(b, 0), u8(b, 0), u8(b, 0); /* padding */
    set_end(b, at);
    assert_int_equal(decode(st, b, s), 1);
    assert_memory_equal(s->ev[0].sourceip.b, a.b, 16);
    assert_memory_equal(s->ev[0].destinationip.b, c.b, 16);
    assert_int_equal(s->ev[0].flow.sourcebytes, 5000000000ull);
    assert_int_equal(s->ev[0].flow.sourcepackets, 0);
    /* no times in the template: receipt time */
    assert_int_equal(s->ev[0].flow.firstpackettime, NOW);
    assert_int_equal(s->ev[0].flow.lastpackettime, NOW);
    assert_int_equal(stats_of(st, 0, 9).malformed, 0);
    free(b);
    sink_free(s);
    nf_state_free(st);
}

static void v9_unknown_field_counted(void **state)
{
    struct nf_state *st = nf_state_new(NULL);
    struct test_sink *s = sink_new();
    struct buf *b = buf_new();
    v9_hdr(b, 2, 60000, 1700000000, 1, 0);
    size_t at = set_begin(b, 0);
    u16(b, 256);
    u16(b, 4);
    u16(b, 8), u16(b, 4);
    u16(b, 999), u16(b, 3); /* not an element we know */
    u16(b, 9), u16(b, 1);   /* known (source mask), not needed: not counted */
    u16(b, 1), u16(b, 4);
    set_end(b, at);
    at = set_begin(b, 256);
    u32(b, 0x01020304);
    u8(b, 0xAA), u8(b, 0xBB), u8(b, 0xCC);
    u8(b, 24);
    u32(b, 777);
    set_end(b, at);
    assert_int_equal(decode(st, b, s), 1);
    assert_int_equal(v4_of(&s->ev[0].sourceip), 0x01020304);
    assert_int_equal(s->ev[0].flow.sourcebytes, 777);
    assert_int_equal(stats_of(st, 0, 9).unknown_fields, 1);
    /* a refresh with the same bytes is not counted again */
    assert_int_equal(decode(st, b, s), 1);
    assert_int_equal(stats_of(st, 0, 9).unknown_fields, 1);
    free(b);
    sink_free(s);
    nf_state_free(st);
}

static void v9_template_refresh_new_layout(void **state)
{
    struct nf_state *st = nf_state_new(NULL);
    struct test_sink *s = sink_new();
    struct buf *b = buf_new();
    v9_hdr(b, 2, 60000, 1700000000, 1, 0);
    v9_tmpl_v4(b, 256);
    v9_data_v4(b, 256, 1);
    assert_int_equal(decode(st, b, s), 1);
    /* same id, other layout: octets first, then addresses swapped */
    v9_hdr(b, 2, 60000, 1700000000, 2, 0);
    size_t at = set_begin(b, 0);
    u16(b, 256);
    u16(b, 3);
    u16(b, 1), u16(b, 8);
    u16(b, 12), u16(b, 4);
    u16(b, 8), u16(b, 4);
    set_end(b, at);
    at = set_begin(b, 256);
    u64(b, 123456789012ull);
    u32(b, 0x0B000001);
    u32(b, 0x0C000001);
    set_end(b, at);
    assert_int_equal(decode(st, b, s), 1);
    assert_int_equal(s->ev[1].flow.sourcebytes, 123456789012ull);
    assert_int_equal(v4_of(&s->ev[1].destinationip), 0x0B000001);
    assert_int_equal(v4_of(&s->ev[1].sourceip), 0x0C000001);
    assert_int_equal(s->ev[1].sourceport, 0);
    struct flow_exporter_stats x = stats_of(st, 0, 9);
    assert_int_equal(x.templates, 2);
    assert_int_equal(x.malformed, 0);
    /* templates are per exporter: another exporter's data with id 256 is held */
    struct strm_ip other = exporter_ip(0xC0000202);
    v9_hdr(b, 1, 60000, 1700000000, 1, 0);
    v9_data_v4(b, 256, 1);
    assert_int_equal(nf_decode(st, b->b, b->n, &other, NF_UDP, NOW, &s->sink), 0);
    /* and templates expire when not refreshed */
    nf_tick(st, NOW + 1801 * 1000LL);
    v9_hdr(b, 1, 60000, 1700000000, 3, 0);
    v9_data_v4(b, 256, 1);
    assert_int_equal(decode(st, b, s), 0);
    free(b);
    sink_free(s);
    nf_state_free(st);
}

static void v9_fallback_fields(void **state)
{
    struct nf_state *st = nf_state_new(NULL);
    struct test_sink *s = sink_new();
    struct buf *b = buf_new();
    v9_hdr(b, 4, 60000, 1700000000, 1, 0);
    /* options: samplingPacketInterval 1, samplingPacketSpace 49 -> 1 in 50 */
    size_t at = set_begin(b, 1);
    u16(b, 257);
    u16(b, 4);
    u16(b, 8);
    u16(b, 1), u16(b, 4);
    u16(b, 305), u16(b, 4);
    u16(b, 306), u16(b, 4);
    set_end(b, at);
    at = set_begin(b, 257);
    u32(b, 0), u32(b, 1), u32(b, 49);
    set_end(b, at);
    /* totals and post counters instead of delta counters, post MACs, DSCP, ICMP type/code */
    at = set_begin(b, 0);
    u16(b, 256);
    u16(b, 10);
    u16(b, 8), u16(b, 4);
    u16(b, 12), u16(b, 4);
    u16(b, 4), u16(b, 1);
    u16(b, 85), u16(b, 8);
    u16(b, 24), u16(b, 4);
    u16(b, 81), u16(b, 6);
    u16(b, 57), u16(b, 6);
    u16(b, 195), u16(b, 1);
    u16(b, 176), u16(b, 1);
    u16(b, 177), u16(b, 1);
    set_end(b, at);
    at = set_begin(b, 256);
    u32(b, 0x0A000001);
    u32(b, 0x0A000002);
    u8(b, 1);
    u64(b, 840);
    u32(b, 10);
    static const uint8_t m1[6] = {0xA, 0, 0, 0, 0, 1}, m2[6] = {0xB, 0, 0, 0, 0, 2};
    put(b, m1, 6);
    put(b, m2, 6);
    u8(b, 46);
    u8(b, 3);
    u8(b, 1);
    set_end(b, at);
    assert_int_equal(decode(st, b, s), 1);
    struct strm_event *e = &s->ev[0];
    assert_int_equal(e->flow.sourcebytes, 840 * 50);
    assert_int_equal(e->flow.sourcepackets, 10 * 50);
    assert_memory_equal(e->sourcemac, m1, 6);
    assert_memory_equal(e->destinationmac, m2, 6);
    assert_int_equal(e->flow.sourcedscp, 46);
    assert_int_equal(e->flow.icmptype, 3);
    assert_int_equal(e->flow.icmpcode, 1);
    struct flow_exporter_stats x = stats_of(st, 0, 9);
    assert_int_equal(x.sampling_interval, 50);
    assert_int_equal(x.malformed, 0);
    assert_int_equal(x.unknown_fields, 0);
    free(b);
    sink_free(s);
    nf_state_free(st);
}

/* Many exporters: each keeps its own templates and counters as the table grows. */
static void many_exporters(void **state)
{
    struct nf_state *st = nf_state_new(NULL);
    struct test_sink *s = sink_new();
    struct buf *b = buf_new();
    for (uint32_t i = 0; i < 300; i++) {
        struct strm_ip ip = exporter_ip(0x0A630000u + i);
        v9_hdr(b, 2, 60000, 1700000000, 1, i % 3);
        v9_tmpl_v4(b, 256 + i % 7);
        v9_data_v4(b, 256 + i % 7, 1);
        s->n = 0;
        assert_int_equal(nf_decode(st, b->b, b->n, &ip, NF_UDP, NOW, &s->sink), 1);
    }
    for (uint32_t i = 0; i < 300; i++) {
        struct strm_ip ip = exporter_ip(0x0A630000u + i);
        v9_hdr(b, 1, 60000, 1700000000, 2, i % 3);
        v9_data_v4(b, 256 + i % 7, 1);
        s->n = 0;
        assert_int_equal(nf_decode(st, b->b, b->n, &ip, NF_UDP, NOW, &s->sink), 1);
        assert_int_equal(v4_of(&s->ev[0].flow.flowsource), 0x0A630000u + i);
    }
    struct stats_find f = {.domain = 1, .version = 9};
    nf_stats_each(st, stats_cb, &f);
    assert_int_equal(f.found, 100);
    assert_int_equal(f.out.records, 2);
    assert_int_equal(f.out.sequence_lost, 0);
    free(b);
    sink_free(s);
    nf_state_free(st);
}

/* ---------------------------------------------------------------- IPFIX */

static void ipfix_variable_length_fields(void **state)
{
    struct nf_state *st = nf_state_new(NULL);
    struct test_sink *s = sink_new();
    struct buf *b = buf_new();
    ipfix_hdr(b, 1700000000, 0, 5);
    size_t at = set_begin(b, 2);
    u16(b, 300);
    u16(b, 4);
    u16(b, 8), u16(b, 4);
    u16(b, 96), u16(b, 0xFFFF); /* applicationName, variable */
    u16(b, 12), u16(b, 4);
    u16(b, 1), u16(b, 8);
    set_end(b, at);
    at = set_begin(b, 300);
    u32(b, 0x0A000001);
    u8(b, 5);
    put(b, "hello", 5);
    u32(b, 0x0A000002);
    u64(b, 11);
    u32(b, 0x0A000003);
    u8(b, 255); /* 3-byte prefix */
    u16(b, 300);
    for (int i = 0; i < 300; i++)
        u8(b, 'x');
    u32(b, 0x0A000004);
    u64(b, 22);
    set_end(b, at);
    ipfix_end(b);
    assert_int_equal(decode(st, b, s), 2);
    assert_int_equal(v4_of(&s->ev[0].destinationip), 0x0A000002);
    assert_int_equal(s->ev[0].flow.sourcebytes, 11);
    assert_int_equal(s->ev[0].flow.flowtype, STRM_FLOWTYPE_IPFIX);
    assert_int_equal(v4_of(&s->ev[1].sourceip), 0x0A000003);
    assert_int_equal(v4_of(&s->ev[1].destinationip), 0x0A000004);
    assert_int_equal(s->ev[1].flow.sourcebytes, 22);
    struct flow_exporter_stats x = stats_of(st, 5, 10);
    assert_int_equal(x.malformed, 0);
    assert_int_equal(x.unknown_fields, 0); /* applicationName is known, not needed */
    /* a variable-length field running past its set is malformed, the set ends */
    ipfix_hdr(b, 1700000000, 2, 5);
    at = set_begin(b, 300);
    u32(b, 0x0A000001);
    u8(b, 200);
    put(b, "abcdefghijkl", 12);
    set_end(b, at);
    ipfix_end(b);
    assert_int_equal(decode(st, b, s), 0);
    assert_int_equal(stats_of(st, 5, 10).malformed, 1);
    free(b);
    sink_free(s);
    nf_state_free(st);
}

/*
 * A template of fixed-length fields, no two setting the same member, is decoded by its fast
 * plan (netflow.c, tmpl_plan); one more field of variable length makes the same fields go
 * through the field-list decoder. Random templates (duplicates, conflicting elements such as
 * sourceIPv4Address with sourceIPv6Address, unknown elements) and random records: both must
 * give the same events, byte for byte.
 */
static void fast_plan_matches_field_list(void **state)
{
    static const uint16_t ies[][2] = {
        {1, 4},   {1, 8},   {2, 4},   {2, 8},   {4, 1},   {5, 1},   {6, 1},   {7, 2},
        {8, 4},   {10, 2},  {10, 4},  {11, 2},  {12, 4},  {21, 4},  {22, 4},  {27, 16},
        {28, 16}, {56, 6},  {80, 6},  {58, 2},  {150, 4}, {151, 4}, {152, 8}, {153, 8},
        {32, 2},  {176, 1}, {177, 1}, {85, 8},  {86, 8},  {195, 1}, {23, 4},  {24, 4},
        {34, 4},  {999, 4}, {160, 8}, {161, 4}, {14, 4},  {9, 1},   {3, 3},   {154, 8},
    };
    const size_t nies = sizeof ies / sizeof ies[0];
    struct test_sink *fast = sink_new(), *slow = sink_new();
    struct buf *b = buf_new();
    unsigned seed = 7;
    for (int round = 0; round < 400; round++) {
        struct nf_state *st = nf_state_new(NULL);
        unsigned nf = 1 + (unsigned)rand_r(&seed) % 14, pick[16], reclen = 0;
        for (unsigned i = 0; i < nf; i++) {
            pick[i] = (unsigned)rand_r(&seed) % (unsigned)nies;
            reclen += ies[pick[i]][1];
        }
        uint8_t rec[3][256];
        for (int r = 0; r < 3; r++)
            for (unsigned k = 0; k < reclen; k++)
                rec[r][k] = (uint8_t)rand_r(&seed);
        for (int variant = 0; variant < 2; variant++) {
            unsigned tid = 256 + (unsigned)variant;
            ipfix_hdr(b, 1700000000, (uint32_t)variant * 4, 1);
            size_t at = set_begin(b, 2);
            u16(b, tid);
            u16(b, nf + (unsigned)variant);
            for (unsigned i = 0; i < nf; i++)
                u16(b, ies[pick[i]][0]), u16(b, ies[pick[i]][1]);
            if (variant) u16(b, 96), u16(b, 0xFFFF); /* applicationName, variable length */
            set_end(b, at);
            at = set_begin(b, tid);
            for (int r = 0; r < 3; r++) {
                put(b, rec[r], reclen);
                if (variant) u8(b, 0);
            }
            set_end(b, at);
            ipfix_end(b);
            struct test_sink *s = variant ? slow : fast;
            s->n = 0;
            assert_int_equal(decode(st, b, s), 3);
        }
        for (int r = 0; r < 3; r++)
            if (memcmp(&fast->ev[r], &slow->ev[r], sizeof fast->ev[r]) != 0)
                fail_msg("round %d record %d: the fast plan and the field list differ", round, r);
        nf_state_free(st);
    }
    free(b);
    sink_free(fast);
    sink_free(slow);
}

static void ipfix_enterprise_fields(void **state)
{
    struct nf_state *st = nf_state_new(NULL);
    struct test_sink *s = sink_new();
    struct buf *b = buf_new();
    ipfix_hdr(b, 1700000000, 0, 1);
    size_t at = set_begin(b, 2);
    u16(b, 256);
    u16(b, 6);
    u16(b, 8), u16(b, 4);
    u16(b, 0x8000 | 1), u16(b, 4), u32(b, 9);      /* Cisco PEN, element 1: unknown */
    u16(b, 0x8000 | 7), u16(b, 0xFFFF), u32(b, 9); /* enterprise, variable length */
    u16(b, 12), u16(b, 4);
    u16(b, 1), u16(b, 4);
    u16(b, 0x8000 | 1), u16(b, 4), u32(b, 29305); /* reverseOctetDeltaCount */
    set_end(b, at);
    at = set_begin(b, 256);
    u32(b, 0x0A000001);
    u32(b, 0xDEADBEEF);
    u8(b, 3), put(b, "abc", 3);
    u32(b, 0x0A000002);
    u32(b, 500);
    u32(b, 9000);
    set_end(b, at);
    ipfix_end(b);
    assert_int_equal(decode(st, b, s), 1);
    assert_int_equal(v4_of(&s->ev[0].sourceip), 0x0A000001);
    assert_int_equal(v4_of(&s->ev[0].destinationip), 0x0A000002);
    assert_int_equal(s->ev[0].flow.sourcebytes, 500);
    assert_int_equal(s->ev[0].flow.destinationbytes, 9000);
    struct flow_exporter_stats x = stats_of(st, 1, 10);
    assert_int_equal(x.unknown_fields, 2);
    assert_int_equal(x.malformed, 0);
    free(b);
    sink_free(s);
    nf_state_free(st);
}

static void ipfix_tmpl(struct buf *b, unsigned id)
{
    size_t at = set_begin(b, 2);
    u16(b, id);
    u16(b, 4);
    u16(b, 8), u16(b, 4);
    u16(b, 12), u16(b, 4);
    u16(b, 2), u16(b, 4);
    u16(b, 152), u16(b, 8);
    set_end(b, at);
}

static void ipfix_data(struct buf *b, unsigned id, int n, uint64_t start_ms)
{
    size_t at = set_begin(b, id);
    for (int i = 0; i < n; i++) {
        u32(b, 0x0A000001);
        u32(b, 0x0A000002);
        u32(b, 3);
        u64(b, start_ms);
    }
    set_end(b, at);
}

static void ipfix_withdrawal(void **state)
{
    struct nf_state *st = nf_state_new(NULL);
    struct test_sink *s = sink_new();
    struct buf *b = buf_new();
    ipfix_hdr(b, 1700000000, 0, 1);
    ipfix_tmpl(b, 256);
    ipfix_tmpl(b, 257);
    ipfix_data(b, 256, 1, 1699999999123ull);
    ipfix_end(b);
    assert_int_equal(decode(st, b, s), 1);
    assert_int_equal(s->ev[0].flow.firstpackettime, 1699999999123LL);
    assert_int_equal(s->ev[0].flow.lastpackettime, 1699999999123LL);
    assert_int_equal(s->ev[0].flow.sourcepackets, 3);
    /* withdraw 256: its data is now held */
    ipfix_hdr(b, 1700000001, 1, 1);
    size_t at = set_begin(b, 2);
    u16(b, 256);
    u16(b, 0);
    set_end(b, at);
    ipfix_data(b, 256, 1, 0);
    ipfix_data(b, 257, 1, 0);
    ipfix_end(b);
    assert_int_equal(decode(st, b, s), 1);
    struct flow_exporter_stats x = stats_of(st, 1, 10);
    assert_int_equal(x.templates_withdrawn, 1);
    assert_int_equal(x.held, 1);
    /* withdraw all templates (id 2): 257 goes too */
    ipfix_hdr(b, 1700000002, 0, 1);
    at = set_begin(b, 2);
    u16(b, 2);
    u16(b, 0);
    set_end(b, at);
    ipfix_data(b, 257, 1, 0);
    ipfix_end(b);
    assert_int_equal(decode(st, b, s), 0);
    x = stats_of(st, 1, 10);
    assert_int_equal(x.templates_withdrawn, 2);
    assert_int_equal(x.held, 2);
    assert_int_equal(x.malformed, 0);
    free(b);
    sink_free(s);
    nf_state_free(st);
}

static void ipfix_sequence_counts_data_records(void **state)
{
    struct nf_state *st = nf_state_new(NULL);
    struct test_sink *s = sink_new();
    struct buf *b = buf_new();
    ipfix_hdr(b, 1700000000, 100, 1);
    ipfix_tmpl(b, 256);
    ipfix_data(b, 256, 3, 0);
    ipfix_end(b);
    assert_int_equal(decode(st, b, s), 3);
    /* templates alone do not advance the sequence */
    ipfix_hdr(b, 1700000000, 103, 1);
    ipfix_tmpl(b, 256);
    ipfix_end(b);
    assert_int_equal(decode(st, b, s), 0);
    ipfix_hdr(b, 1700000000, 103, 1);
    ipfix_data(b, 256, 2, 0);
    ipfix_end(b);
    assert_int_equal(decode(st, b, s), 2);
    assert_int_equal(stats_of(st, 1, 10).sequence_lost, 0);
    /* 5 records missing */
    ipfix_hdr(b, 1700000000, 110, 1);
    ipfix_data(b, 256, 1, 0);
    ipfix_end(b);
    assert_int_equal(decode(st, b, s), 1);
    assert_int_equal(stats_of(st, 1, 10).sequence_lost, 5);
    /* a late message (small step back) is neither loss nor a reset */
    ipfix_hdr(b, 1700000000, 108, 1);
    ipfix_data(b, 256, 1, 0);
    ipfix_end(b);
    assert_int_equal(decode(st, b, s), 1);
    ipfix_hdr(b, 1700000000, 111, 1);
    ipfix_data(b, 256, 1, 0);
    ipfix_end(b);
    assert_int_equal(decode(st, b, s), 1);
    assert_int_equal(stats_of(st, 1, 10).sequence_lost, 5);
    /* restart of another domain (templates are per domain: it sends its own) */
    static const uint32_t seqs[] = {1000000, 0, 1};
    for (int i = 0; i < 3; i++) {
        ipfix_hdr(b, 1700000000, seqs[i], 2);
        ipfix_tmpl(b, 256);
        ipfix_data(b, 256, 1, 0);
        ipfix_end(b);
        assert_int_equal(decode(st, b, s), 1);
    }
    assert_int_equal(stats_of(st, 2, 10).sequence_lost, 0);
    free(b);
    sink_free(s);
    nf_state_free(st);
}

static void ipfix_times(void **state)
{
    struct nf_state *st = nf_state_new(NULL);
    struct test_sink *s = sink_new();
    struct buf *b = buf_new();
    ipfix_hdr(b, 1700000000, 0, 1);
    /* options template 400: scope observationDomainId, option systemInitTimeMilliseconds
     * and samplingPacketInterval */
    size_t at = set_begin(b, 3);
    u16(b, 400);
    u16(b, 3);
    u16(b, 1);
    u16(b, 149), u16(b, 4);
    u16(b, 160), u16(b, 8);
    u16(b, 305), u16(b, 4);
    set_end(b, at);
    at = set_begin(b, 400);
    u32(b, 1);
    u64(b, 1699996400000ull); /* booted an hour before the export */
    u32(b, 10);
    set_end(b, at);
    at = set_begin(b, 2);
    /* 500: sysUpTime-relative; 501: seconds; 502: delta µs; 503: NTP microseconds */
    u16(b, 500), u16(b, 3);
    u16(b, 22), u16(b, 4);
    u16(b, 21), u16(b, 4);
    u16(b, 1), u16(b, 4);
    u16(b, 501), u16(b, 3);
    u16(b, 150), u16(b, 4);
    u16(b, 151), u16(b, 4);
    u16(b, 1), u16(b, 4);
    u16(b, 502), u16(b, 3);
    u16(b, 158), u16(b, 4);
    u16(b, 159), u16(b, 4);
    u16(b, 1), u16(b, 4);
    u16(b, 503), u16(b, 3);
    u16(b, 154), u16(b, 8);
    u16(b, 161), u16(b, 4); /* flowDurationMilliseconds */
    u16(b, 1), u16(b, 4);
    set_end(b, at);
    at = set_begin(b, 500);
    u32(b, 5000), u32(b, 7000), u32(b, 1);
    set_end(b, at);
    at = set_begin(b, 501);
    u32(b, 1699999990), u32(b, 1699999995), u32(b, 2);
    set_end(b, at);
    at = set_begin(b, 502);
    u32(b, 3000000), u32(b, 1500000), u32(b, 3);
    set_end(b, at);
    at = set_begin(b, 503);
    u32(b, 1699999000u + 2208988800u), u32(b, 0x80000000u); /* +0.5 s */
    u32(b, 250);
    u32(b, 4);
    set_end(b, at);
    ipfix_end(b);
    assert_int_equal(decode(st, b, s), 4);
    assert_int_equal(s->ev[0].flow.firstpackettime, 1699996405000LL);
    assert_int_equal(s->ev[0].flow.lastpackettime, 1699996407000LL);
    assert_int_equal(s->ev[0].flow.sourcebytes, 10); /* sampling 1 in 10 from options */
    assert_int_equal(s->ev[1].flow.firstpackettime, 1699999990000LL);
    assert_int_equal(s->ev[1].flow.lastpackettime, 1699999995000LL);
    assert_int_equal(s->ev[2].flow.firstpackettime, 1700000000000LL - 3000);
    assert_int_equal(s->ev[2].flow.lastpackettime, 1700000000000LL - 1500);
    assert_int_equal(s->ev[3].flow.firstpackettime, 1699999000500LL);
    assert_int_equal(s->ev[3].flow.lastpackettime, 1699999000750LL);
    struct flow_exporter_stats x = stats_of(st, 1, 10);
    assert_int_equal(x.sampling_interval, 10);
    assert_int_equal(x.options_records, 1);
    assert_int_equal(x.malformed, 0);
    free(b);
    sink_free(s);
    nf_state_free(st);
}

/* Exporters that number by records including the message (softflowd does, in v9 and IPFIX)
 * are recognized: no invented loss, real loss still counted. */
static void sequence_conventions_detected(void **state)
{
    struct nf_state *st = nf_state_new(NULL);
    struct test_sink *s = sink_new();
    struct buf *b = buf_new();
    static const struct {
        uint32_t seq;
        int nrec;
        bool opts;
    } msgs[] = {{3, 3, true}, {5, 2, false}, {9, 4, false}, {10, 1, true}, {17, 2, false}};
    for (int v = 0; v < 2; v++) {
        for (size_t i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++) {
            if (v == 0)
                ipfix_hdr(b, 1700000000, msgs[i].seq, 7);
            else
                v9_hdr(b, 0, 60000, 1700000000, msgs[i].seq, 7);
            if (msgs[i].opts) {
                size_t at = set_begin(b, v == 0 ? 3 : 1);
                u16(b, 257);
                if (v == 0) {
                    u16(b, 2), u16(b, 1);
                    u16(b, 149), u16(b, 4);
                } else {
                    u16(b, 4), u16(b, 4);
                    u16(b, 1), u16(b, 4);
                }
                u16(b, 34), u16(b, 4);
                set_end(b, at);
                at = set_begin(b, 257);
                u32(b, 7), u32(b, 1);
                set_end(b, at);
            }
            if (v == 0) {
                if (i == 0) ipfix_tmpl(b, 256);
                ipfix_data(b, 256, msgs[i].nrec, 0);
                ipfix_end(b);
            } else {
                if (i == 0) v9_tmpl_v4(b, 256);
                v9_data_v4(b, 256, msgs[i].nrec);
            }
            assert_int_equal(decode(st, b, s), msgs[i].nrec);
            s->n = 0;
            if (i == 3) assert_int_equal(stats_of(st, 7, v == 0 ? 10 : 9).sequence_lost, 0);
        }
        assert_int_equal(stats_of(st, 7, v == 0 ? 10 : 9).sequence_lost, 5);
    }
    free(b);
    sink_free(s);
    nf_state_free(st);
}

/* ---------------------------------------------------------------- malformed input */

static void v9_full_message(struct buf *b)
{
    v9_hdr(b, 3, 60000, 1700000000, 1, 0);
    v9_tmpl_v4(b, 256);
    v9_data_v4(b, 256, 2);
}

static void ipfix_full_message(struct buf *b)
{
    ipfix_hdr(b, 1700000000, 0, 0);
    ipfix_tmpl(b, 256);
    ipfix_data(b, 256, 2, 1699999999000ull);
    ipfix_end(b);
}

/* Every strict prefix of a valid message is decoded without a crash and counted malformed. */
static void every_prefix_is_counted(void **state)
{
    struct buf *full = buf_new();
    struct test_sink *s = sink_new();
    for (int kind = 0; kind < 3; kind++) {
        uint8_t version = kind == 0 ? 5 : kind == 1 ? 9 : 10;
        if (kind == 0) {
            v5_hdr(full, 2, 5000, 1700000000, 0, 0, 0, 0, 0);
            v5_rec(full, 1, 2, 1, 60, 4000, 4500, 1, 2, 17);
            v5_rec(full, 1, 2, 1, 60, 4000, 4500, 1, 2, 17);
        } else if (kind == 1) {
            v9_full_message(full);
        } else {
            ipfix_full_message(full);
        }
        for (size_t len = 0; len <= full->n; len++) {
            struct nf_state *st = nf_state_new(NULL);
            struct strm_ip ip = exporter_ip(EXP);
            uint8_t *copy = malloc(len ? len : 1);
            memcpy(copy, full->b, len);
            s->n = 0;
            int rc = nf_decode(st, copy, len, &ip, NF_UDP, NOW, &s->sink);
            free(copy);
            uint8_t v = len < 2 ? 0 : version;
            struct flow_exporter_stats x = stats_of(st, 0, v);
            if (len == full->n) {
                assert_int_equal(rc, 2);
                assert_int_equal(x.malformed, 0);
            } else {
                if (x.malformed < 1) fail_msg("version %u prefix %zu not counted", version, len);
                assert_true(rc <= 2);
            }
            nf_state_free(st);
        }
    }
    sink_free(s);
    free(full);
}

/* Templates that lie about their lengths are refused and counted; the rest stands. */
static void lying_templates_refused(void **state)
{
    struct nf_state *st = nf_state_new(NULL);
    struct test_sink *s = sink_new();
    struct buf *b = buf_new();

    /* field count beyond the set, then a good template set and its data */
    v9_hdr(b, 0, 60000, 1700000000, 1, 0);
    size_t at = set_begin(b, 0);
    u16(b, 300);
    u16(b, 50);
    u16(b, 8), u16(b, 4);
    set_end(b, at);
    v9_tmpl_v4(b, 256);
    v9_data_v4(b, 256, 1);
    assert_int_equal(decode(st, b, s), 1);
    assert_int_equal(stats_of(st, 0, 9).malformed, 1);

    /* zero-length record */
    v9_hdr(b, 0, 60000, 1700000000, 2, 0);
    at = set_begin(b, 0);
    u16(b, 301);
    u16(b, 2);
    u16(b, 8), u16(b, 0);
    u16(b, 12), u16(b, 0);
    set_end(b, at);
    at = set_begin(b, 301);
    u32(b, 0);
    set_end(b, at);
    assert_int_equal(decode(st, b, s), 0);
    assert_int_equal(stats_of(st, 0, 9).malformed, 2);
    assert_int_equal(stats_of(st, 0, 9).held, 1); /* 301 was refused: its data waits */

    /* more than 65535 bytes per record */
    v9_hdr(b, 0, 60000, 1700000000, 3, 0);
    at = set_begin(b, 0);
    u16(b, 302);
    u16(b, 3);
    u16(b, 82), u16(b, 40000);
    u16(b, 83), u16(b, 40000);
    u16(b, 1), u16(b, 4);
    set_end(b, at);
    assert_int_equal(decode(st, b, s), 0);
    assert_int_equal(stats_of(st, 0, 9).malformed, 3);

    /* a set longer than the message: the message ends there */
    v9_hdr(b, 0, 60000, 1700000000, 4, 0);
    v9_data_v4(b, 256, 1);
    at = set_begin(b, 256);
    u32(b, 1);
    set_end(b, at);
    patch16(b, at + 2, 400);
    assert_int_equal(decode(st, b, s), 1);
    assert_int_equal(stats_of(st, 0, 9).malformed, 4);

    /* IPFIX: options template with scope count beyond its field count; enterprise bit
     * without room for the PEN */
    ipfix_hdr(b, 1700000000, 0, 0);
    at = set_begin(b, 3);
    u16(b, 400), u16(b, 1), u16(b, 2);
    u16(b, 34), u16(b, 4);
    set_end(b, at);
    at = set_begin(b, 2);
    u16(b, 401), u16(b, 1);
    u16(b, 0x8001), u16(b, 4);
    set_end(b, at);
    ipfix_tmpl(b, 256);
    ipfix_data(b, 256, 1, 0);
    ipfix_end(b);
    assert_int_equal(decode(st, b, s), 1);
    assert_int_equal(stats_of(st, 0, 10).malformed, 2);

    /* unknown version */
    b->n = 0;
    u16(b, 7);
    u16(b, 0);
    assert_int_equal(decode(st, b, s), STRM_ERR_PARSE);
    assert_int_equal(stats_of(st, 0, 0).malformed, 1);
    free(b);
    sink_free(s);
    nf_state_free(st);
}

static void tcp_session_end_forgets_templates(void **state)
{
    struct nf_state *st = nf_state_new(NULL);
    struct test_sink *s = sink_new();
    struct buf *b = buf_new();
    struct strm_ip ip = exporter_ip(EXP);
    ipfix_hdr(b, 1700000000, 0, 1);
    ipfix_tmpl(b, 256);
    ipfix_data(b, 256, 1, 0);
    ipfix_end(b);
    assert_int_equal(nf_decode(st, b->b, b->n, &ip, NF_TCP, NOW, &s->sink), 1);
    /* TCP templates do not expire */
    nf_tick(st, NOW + 7200 * 1000LL);
    ipfix_hdr(b, 1700000000, 1, 1);
    ipfix_data(b, 256, 1, 0);
    ipfix_end(b);
    assert_int_equal(nf_decode(st, b->b, b->n, &ip, NF_TCP, NOW, &s->sink), 1);
    nf_session_end(st, &ip);
    ipfix_hdr(b, 1700000000, 0, 1);
    ipfix_data(b, 256, 1, 0);
    ipfix_end(b);
    assert_int_equal(nf_decode(st, b->b, b->n, &ip, NF_TCP, NOW, &s->sink), 0);
    assert_int_equal(stats_of(st, 1, 10).held, 1);
    free(b);
    sink_free(s);
    nf_state_free(st);
}

static void sink_full_is_not_a_crash(void **state)
{
    struct nf_state *st = nf_state_new(NULL);
    struct test_sink *s = sink_new();
    struct buf *b = buf_new();
    s->n = SINK_CAP - 1;
    v9_hdr(b, 3, 60000, 1700000000, 1, 0);
    v9_tmpl_v4(b, 256);
    v9_data_v4(b, 256, 3);
    assert_int_equal(decode(st, b, s), 1);
    assert_int_equal(stats_of(st, 0, 9).records, 1);
    free(b);
    sink_free(s);
    nf_state_free(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(v5_fields_and_times),
        cmocka_unit_test(v5_sampling_scales),
        cmocka_unit_test(v5_sequence_gap),
        cmocka_unit_test(v5_bad_counts),
        cmocka_unit_test(v9_template_then_data),
        cmocka_unit_test(v9_data_before_template_is_held),
        cmocka_unit_test(v9_hold_is_bounded),
        cmocka_unit_test(v9_options_sampling),
        cmocka_unit_test(v9_ipv6_template),
        cmocka_unit_test(v9_unknown_field_counted),
        cmocka_unit_test(v9_template_refresh_new_layout),
        cmocka_unit_test(v9_fallback_fields),
        cmocka_unit_test(many_exporters),
        cmocka_unit_test(ipfix_variable_length_fields),
        cmocka_unit_test(fast_plan_matches_field_list),
        cmocka_unit_test(ipfix_enterprise_fields),
        cmocka_unit_test(ipfix_withdrawal),
        cmocka_unit_test(ipfix_sequence_counts_data_records),
        cmocka_unit_test(ipfix_times),
        cmocka_unit_test(sequence_conventions_detected),
        cmocka_unit_test(every_prefix_is_counted),
        cmocka_unit_test(lying_templates_refused),
        cmocka_unit_test(tcp_session_end_forgets_templates),
        cmocka_unit_test(sink_full_is_not_a_crash),
    };
    cmocka_set_message_output(CM_OUTPUT_TAP);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
