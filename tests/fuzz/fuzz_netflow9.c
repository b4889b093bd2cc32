/*
 * fuzz_netflow9.c - libFuzzer target for nf_decode() with NetFlow v9 messages, fed with template
 * state.
 *
 * Every input starts from a fresh decoder that has already learnt a fixed template message (an
 * IPv4 template 256, an IPv6 template 258 and an options template 257 with a sampling interval),
 * so data sets in the input decode at once. The input is then split into several messages, each
 * framed by a two-byte header: the low 14 bits are the message length (the rest of the input when
 * it runs past the end), bit 14 first advances the clock by 40 s and runs nf_tick (held data and
 * templates expire), bit 15 sends the message from a second exporter over TCP and ends that
 * session afterwards. Template changes thus interleave with data. Checks: every record handed out
 * is a flow of its message's version (NetFlow v5/v9 or IPFIX: the input may mix them) from its
 * exporter, the counters add up to the records emitted, and nothing reads outside the exactly
 * sized copies.
 */
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

static size_t put16(uint8_t *p, size_t n, unsigned v)
{
    p[n] = (uint8_t)(v >> 8);
    p[n + 1] = (uint8_t)v;
    return n + 2;
}

/* The template message every run starts from. */
static size_t template_message(uint8_t *m)
{
    static const uint16_t t256[][2] = {{8, 4},  {12, 4}, {7, 2},  {11, 2}, {4, 1},  {6, 1},
                                       {5, 1},  {1, 4},  {2, 4},  {22, 4}, {21, 4}, {10, 2},
                                       {58, 2}, {56, 6}, {80, 6}, {32, 2}, {34, 4}};
    static const uint16_t t258[][2] = {{27, 16}, {28, 16}, {7, 2},   {11, 2}, {4, 1},
                                       {1, 8},   {2, 8},   {152, 8}, {153, 8}};
    size_t n = 0;
    n = put16(m, n, 9);
    n = put16(m, n, 3);
    memcpy(m + n,
           "\x00\x01\x00\x00"
           "\x65\x53\xf1\x00"
           "\x00\x00\x00\x01"
           "\x00\x00\x00\x00",
           16);
    n += 16;
    size_t at = n;
    n = put16(m, n, 0);
    n = put16(m, n, 0);
    n = put16(m, n, 256);
    n = put16(m, n, sizeof(t256) / sizeof(t256[0]));
    for (size_t i = 0; i < sizeof(t256) / sizeof(t256[0]); i++)
        n = put16(m, put16(m, n, t256[i][0]), t256[i][1]);
    n = put16(m, n, 258);
    n = put16(m, n, sizeof(t258) / sizeof(t258[0]));
    for (size_t i = 0; i < sizeof(t258) / sizeof(t258[0]); i++)
        n = put16(m, put16(m, n, t258[i][0]), t258[i][1]);
    put16(m, at + 2, n - at);
    at = n;
    n = put16(m, n, 1);
    n = put16(m, n, 0);
    n = put16(m, n, 257);
    n = put16(m, n, 4);
    n = put16(m, n, 8);
    n = put16(m, n, 1);
    n = put16(m, n, 4);
    n = put16(m, n, 34);
    n = put16(m, n, 4);
    n = put16(m, n, 49);
    n = put16(m, n, 1);
    n = put16(m, n, 0);
    put16(m, at + 2, n - at);
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t tmpl[512];
    static size_t tmpl_len;
    if (!tmpl_len) tmpl_len = template_message(tmpl);

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

    fs.exporter = &exp_a;
    fs.now = now;
    fs.type = flowtype_of(tmpl, tmpl_len);
    int rc = nf_decode(st, tmpl, tmpl_len, &exp_a, NF_UDP, now, &fs.sink);
    if (rc != 0) abort();
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
        uint8_t *copy = malloc(len ? len : 1);
        if (!copy) break;
        memcpy(copy, data + off, len);
        fs.exporter = ip;
        fs.now = now;
        fs.type = flowtype_of(copy, len);
        rc = nf_decode(st, copy, len, ip, (h & 0x8000) ? NF_TCP : NF_UDP, now, &fs.sink);
        free(copy);
        if (rc > 0) emitted += (uint64_t)rc;
        if (h & 0x8000) nf_session_end(st, ip);
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
