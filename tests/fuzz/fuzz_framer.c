/*
 * fuzz_framer.c - libFuzzer target for the RFC 6587 framer.
 *
 * The first input byte picks max_msg (small values reach the truncation paths quickly) and
 * a piece size; the rest is the stream. The stream is framed twice: in one feed, and in
 * pieces of that size, each piece in its own exactly sized heap buffer. Both runs must give
 * the same frames (text, lengths, truncated flags), every frame must be non-empty and at
 * most max_msg bytes.
 */
#include "collect/collect.h"

#include <stdlib.h>
#include <string.h>

struct out {
    size_t max_msg;
    uint64_t hash; /* over lengths, flags and bytes */
    size_t n, bytes;
};

static void on_frame(const char *msg, size_t len, bool truncated, void *arg)
{
    struct out *o = arg;
    if (len == 0 || len > o->max_msg) abort();
    uint64_t h = o->hash ^ (len * 0x9E3779B97F4A7C15ull) ^ (truncated ? 0x5555 : 0);
    for (size_t i = 0; i < len; i++)
        h = (h ^ (uint8_t)msg[i]) * 0x100000001B3ull;
    o->hash = h;
    o->n++;
    o->bytes += len;
}

static void run(const uint8_t *d, size_t size, size_t max_msg, size_t step, struct out *o)
{
    struct syslog_framer f;
    memset(o, 0, sizeof(*o));
    o->max_msg = max_msg;
    if (syslog_framer_init(&f, max_msg) != 0) abort();
    for (size_t off = 0; off < size; off += step) {
        size_t n = size - off < step ? size - off : step;
        char *piece = malloc(n);
        if (!piece) abort();
        memcpy(piece, d + off, n);
        syslog_framer_feed(&f, piece, n, on_frame, o);
        free(piece);
    }
    syslog_framer_finish(&f, on_frame, o);
    syslog_framer_free(&f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    static const size_t maxes[] = {1, 2, 3, 4, 5, 8, 16, 100, 65536};
    size_t max_msg = maxes[(data[0] & 0x0f) % 9];
    size_t step = (size_t)(data[0] >> 4) + 1;
    data++;
    size--;
    struct out a, b;
    run(data, size, max_msg, size ? size : 1, &a);
    run(data, size, max_msg, step, &b);
    if (a.n != b.n || a.hash != b.hash || a.bytes != b.bytes) abort();
    return 0;
}
