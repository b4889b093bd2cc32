/*
 * fuzz_leef.c - libFuzzer target for the LEEF helpers (dsm_leef_header, dsm_leef_scan) and
 * the generic LEEF DSM (including its devTimeFormat interpreter). Checks are in
 * fuzz_dsm_common.h; attribute slices must lie inside the input.
 */
#include "fuzz_dsm_common.h"

extern const struct dsm_def dsm_leef;

struct span {
    const char *p;
    size_t len;
    size_t n;
};

static bool inside(const char *k, size_t klen, const char *v, size_t vlen, void *arg)
{
    struct span *s = arg;
    if (klen == 0 || k < s->p || k + klen > s->p + s->len || v < s->p || v + vlen > s->p + s->len)
        abort();
    s->n++;
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_dsm_setup();
    char *p = malloc(size ? size : 1);
    if (!p) return 0;
    memcpy(p, data, size);
    struct dsm_leef h;
    if (dsm_leef_header(p, size, &h)) {
        if (h.attrs < p || h.attrs + h.attrs_len > p + size) abort();
        if (h.major != 1 && h.major != 2) abort();
        struct span s = {p, size, 0};
        int r = dsm_leef_scan(&h, inside, &s);
        if (r < 0 || (size_t)r != s.n) abort();
    }
    free(p);
    fuzz_one_dsm(&dsm_leef, data, size);
    return 0;
}
