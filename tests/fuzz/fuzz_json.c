/*
 * fuzz_json.c - libFuzzer target for the generic JSON DSM (its own validating scanner, the
 * flattening into dotted paths and the shared field vocabulary), with jansson as the
 * oracle:
 *   - the DSM promises of fuzz_dsm_common.h (untouched on reject, QID resolves, ...);
 *   - differential: when jansson accepts the input as an object no deeper than 16 levels,
 *     the DSM must accept it too, and every string value jansson sees at a path must appear
 *     in the event's properties or columns (checked for the string values that end up as
 *     properties: "path=value" escaped as dsm_props_add writes it).
 * Inputs jansson rejects may still be accepted (e.g. integers jansson finds too big); the
 * scanner is stricter than nothing and never looser on syntax, which the reverse
 * direction of the test does not need to prove.
 */
#include "fuzz_dsm_common.h"

#include <jansson.h>

extern const struct dsm_def dsm_json;

static int depth_of(json_t *v)
{
    int d = 0;
    if (json_is_object(v)) {
        const char *k;
        json_t *c;
        json_object_foreach(v, k, c)
        {
            int x = depth_of(c);
            if (x > d) d = x;
        }
        return d + 1;
    }
    if (json_is_array(v)) {
        size_t i;
        json_t *c;
        json_array_foreach(v, i, c)
        {
            int x = depth_of(c);
            if (x > d) d = x;
        }
        return d + 1;
    }
    return 0;
}

/* 1: some pair k=want, 0: pairs named k but none equal, -1: no pair named k. */
static int props_has(struct strm_str props, const char *k, const char *want)
{
    size_t kl = strlen(k);
    int r = -1;
    const char *p = props.p, *end = props.p ? props.p + props.len : NULL;
    while (p && p < end) {
        const char *e = memchr(p, '\t', (size_t)(end - p));
        if (!e) e = end;
        if ((size_t)(e - p) > kl && memcmp(p, k, kl) == 0 && p[kl] == '=') {
            r = 0;
            size_t wl = strlen(want);
            if ((size_t)(e - p) - kl - 1 == wl && memcmp(p + kl + 1, want, wl) == 0) return 1;
        }
        p = e + 1;
    }
    return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_one_dsm(&dsm_json, data, size);

    /* differential against jansson on the bare input */
    json_error_t err;
    json_t *root = json_loadb((const char *)data, size, JSON_ALLOW_NUL, &err);
    if (!root) return 0;
    bool want = json_is_object(root) && depth_of(root) <= 16;
    /* the DSM trims trailing NUL bytes and blanks and requires '{' first: mirror that */
    if (want && size && data[0] != '{') want = false;
    /* jansson reads a raw NUL byte outside strings as the end of input; JSON has no such rule */
    if (want && memchr(data, 0, size)) want = false;
    if (want) {
        char *p = malloc(size);
        if (!p) abort();
        memcpy(p, data, size);
        struct strm_event ev;
        strm_event_init(&ev);
        ev.payload.p = p;
        ev.payload.len = (uint32_t)size;
        ev.message = ev.payload;
        struct dsm_ctx ctx = {0, 0};
        if (!dsm_json.parse(&ev, &fuzz_arena, &ctx)) abort();
        /* a top-level string member with a plain key must be visible */
        const char *k;
        json_t *c;
        json_object_foreach(root, k, c)
        {
            if (!json_is_string(c) || strlen(k) == 0 || strlen(k) > 30) continue;
            bool plain = true;
            for (const char *q = k; *q; q++)
                if (!((*q >= 'a' && *q <= 'z') || *q == '_')) plain = false;
            const char *sv = json_string_value(c);
            if (!plain || strlen(sv) != json_string_length(c) || strlen(sv) > 100) continue;
            if (strpbrk(sv, "\t\n\r\\")) continue;
            /* a key that occurs twice: jansson keeps the last value, the DSM sees both */
            char quoted[40];
            int ql = snprintf(quoted, sizeof quoted, "\"%s\"", k);
            const char *first = memmem(data, size, quoted, (size_t)ql);
            if (first && memmem(first + 1, size - (size_t)((const uint8_t *)first + 1 - data),
                                quoted, (size_t)ql))
                continue;
            /* a key taken by a column has no property (not checked); a property under this
               name must carry jansson's value */
            if (props_has(ev.properties, k, sv) == 0) abort();
        }
        free(p);
        strm_arena_reset(&fuzz_arena);
    }
    json_decref(root);
    return 0;
}
