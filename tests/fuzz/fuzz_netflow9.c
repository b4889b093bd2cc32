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
#include "fuzz_nf_common.h"

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
    return fz_run(data, size, tmpl, tmpl_len, true);
}
