/*
 * fuzz_kv.c - libFuzzer target for dsm_kv_scan (with each separator), the time parsers
 * (every format on the raw input), the properties round trip, and the generic key=value
 * DSM. Checks are in fuzz_dsm_common.h; kv slices must lie inside the input; a property
 * written with dsm_props_add must read back identically with dsm_props_get.
 */
#include "fuzz_dsm_common.h"

extern const struct dsm_def dsm_kv;

struct span {
    const char *p;
    size_t len;
};

static bool inside(const char *k, size_t klen, const char *v, size_t vlen, void *arg)
{
    struct span *s = arg;
    if (klen == 0 || k < s->p || k + klen > s->p + s->len || v < s->p || v + vlen > s->p + s->len)
        abort();
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_dsm_setup();
    char *p = malloc(size ? size : 1);
    if (!p) return 0;
    memcpy(p, data, size);
    struct span s = {p, size};
    static const char seps[] = {' ', ',', '\t', ';', '|'};
    for (size_t i = 0; i < sizeof seps; i++)
        if (dsm_kv_scan(p, size, seps[i], inside, &s) < 0) abort();
    int64_t ms;
    for (int f = DSM_TIME_ISO8601; f <= DSM_TIME_EPOCH; f++)
        (void)dsm_parse_time((enum dsm_time_fmt)f, p, size, 0, &ms);
    (void)dsm_protocol(p, size);
    uint8_t mac[6];
    (void)dsm_set_mac(mac, p, size);
    (void)dsm_memcasemem(p, size, "login");

    struct dsm_props pr;
    dsm_props_init(&pr);
    dsm_props_add(&pr, "k", p, size);
    if (!pr.overflow) {
        struct strm_event ev;
        strm_event_init(&ev);
        dsm_props_commit(&pr, &ev, &fuzz_arena);
        char *out = malloc(size + 1);
        if (out) {
            if (!dsm_props_get(ev.properties, "k", out, size + 1)) abort();
            if (memcmp(out, p, size) != 0) abort();
            free(out);
        }
    }
    strm_arena_reset(&fuzz_arena);
    free(p);
    fuzz_one_dsm(&dsm_kv, data, size);
    return 0;
}
