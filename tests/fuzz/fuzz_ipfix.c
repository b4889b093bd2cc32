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
#include "fuzz_nf_common.h"

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
    return fz_run(data, size, tmpl, tmpl_len, true);
}
