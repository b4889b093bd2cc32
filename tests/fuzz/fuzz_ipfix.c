/*
 * fuzz_ipfix.c - libFuzzer target for nf_decode() with IPFIX messages, fed with template state.
 *
 * Every input starts from a fresh decoder that has already learnt a fixed template message (IPv4
 * template 256 with sysUpTime times, 258 with variable-length, enterprise and biflow reverse
 * fields, IPv6 template 259 with NTP times, options template 257 with sampling and system init
 * time), so data sets in the input decode at once. The input is then split into several messages,
 * each framed by a two-byte header: the low 14 bits are the message length (the rest of the input
 * when it runs past the end), bit 14 first advances the clock by 40 s and runs nf_tick (held data
 * and templates expire), bit 15 sends the message from a second exporter over TCP and ends that
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

static size_t put32(uint8_t *p, size_t n, uint32_t v)
{
    return put16(p, put16(p, n, v >> 16), v & 0xFFFF);
}

/* Writes fields {type, length, pen} (pen 0: none, else the enterprise bit is set). */
static size_t put_fields(uint8_t *m, size_t n, const uint32_t (*f)[3], size_t count)
{
    for (size_t i = 0; i < count; i++) {
        n = put16(m, n, f[i][0] | (f[i][2] ? 0x8000u : 0));
        n = put16(m, n, f[i][1]);
        if (f[i][2]) n = put32(m, n, f[i][2]);
    }
    return n;
}

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* The template message every run starts from. */
static size_t template_message(uint8_t *m)
{
    static const uint32_t t256[][3] = {{8, 4, 0},   {12, 4, 0},  {7, 2, 0},  {11, 2, 0}, {4, 1, 0},
                                       {6, 2, 0},   {5, 1, 0},   {1, 8, 0},  {2, 4, 0},  {22, 4, 0},
                                       {21, 4, 0},  {10, 4, 0},  {58, 2, 0}, {56, 6, 0}, {80, 6, 0},
                                       {176, 1, 0}, {177, 1, 0}, {161, 4, 0}};
    static const uint32_t t258[][3] = {{8, 4, 0},      {12, 4, 0},    {96, 0xFFFF, 0}, {1, 4, 9},
                                       {7, 0xFFFF, 9}, {1, 8, 29305}, {2, 4, 29305},   {2, 4, 0},
                                       {152, 8, 0},    {153, 8, 0}};
    static const uint32_t t259[][3] = {{27, 16, 0}, {28, 16, 0}, {7, 2, 0},   {11, 2, 0},
                                       {4, 1, 0},   {1, 4, 0},   {154, 8, 0}, {155, 8, 0},
                                       {139, 2, 0}, {158, 4, 0}, {159, 4, 0}};
    static const uint32_t o257[][3] = {
        {149, 4, 0}, {34, 4, 0}, {160, 8, 0}, {305, 4, 0}, {306, 4, 0}};
    size_t n = 0;
    n = put16(m, n, 10);
    n = put16(m, n, 0);
    n = put32(m, n, 1700000000u);
    n = put32(m, n, 0);
    n = put32(m, n, 0);
    size_t at = n;
    n = put32(m, n, 2u << 16);
    n = put32(m, n, 256u << 16 | COUNT(t256));
    n = put_fields(m, n, t256, COUNT(t256));
    n = put32(m, n, 258u << 16 | COUNT(t258));
    n = put_fields(m, n, t258, COUNT(t258));
    n = put32(m, n, 259u << 16 | COUNT(t259));
    n = put_fields(m, n, t259, COUNT(t259));
    put16(m, at + 2, n - at);
    at = n;
    n = put32(m, n, 3u << 16);
    n = put32(m, n, 257u << 16 | COUNT(o257));
    n = put16(m, n, 1);
    n = put_fields(m, n, o257, COUNT(o257));
    put16(m, at + 2, n - at);
    put16(m, 2, n);
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
