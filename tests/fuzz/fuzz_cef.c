/*
 * fuzz_cef.c - libFuzzer target for the CEF helpers (dsm_cef_header, dsm_cef_scan) and the
 * generic CEF DSM. Checks are in fuzz_dsm_common.h; the scan callback also checks that
 * every key and value slice it gets is readable and that keys are never empty.
 */
#include "fuzz_dsm_common.h"

extern const struct dsm_def dsm_cef;

static bool touch(const char *k, size_t klen, const char *v, size_t vlen, void *arg)
{
    size_t *n = arg;
    if (klen == 0) abort();
    volatile char sink = 0;
    for (size_t i = 0; i < klen; i++)
        sink ^= k[i];
    for (size_t i = 0; i < vlen; i++)
        sink ^= v[i];
    (void)sink;
    ++*n;
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_dsm_setup();
    char *p = malloc(size ? size : 1);
    if (!p) return 0;
    memcpy(p, data, size);
    struct dsm_cef h;
    if (dsm_cef_header(p, size, &h)) {
        if (h.ext < p || h.ext + h.ext_len > p + size) abort();
        size_t n = 0;
        int r = dsm_cef_scan(&h, &fuzz_arena, touch, &n);
        if (r < 0 || (size_t)r != n) abort();
    }
    strm_arena_reset(&fuzz_arena);
    free(p);
    fuzz_one_dsm(&dsm_cef, data, size);
    return 0;
}
