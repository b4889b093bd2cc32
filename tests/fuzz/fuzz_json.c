/*
 * fuzz_json.c - libFuzzer target for the generic JSON DSM (its own validating scanner, the
 * flattening into dotted paths and the shared field vocabulary), with jansson as the
 * oracle:
 *   - the DSM promises of fuzz_dsm_common.h (untouched on reject, QID resolves, ...);
 *   - differential: when jansson accepts the input as an object no deeper than 16 levels,
 *     the DSM must accept it too, and every string value jansson sees at a path must appear
 *     in the event's properties or columns (checked for plain top-level keys: a property
 *     under that name must carry jansson's value).
 * That last check holds only when the key is the one source of its property name. Several
 * members can share a name, and then jansson's value may legitimately be missing from the
 * properties while another member's is there: duplicate keys, also spelt differently
 * ("\u0061" and "a"), which jansson collapses into the last one and the DSM passes on
 * all (docs/dsm.md); names dsm_props_add rewrites ('=', TAB, CR, LF become '_': "a=b" and
 * "a_b"); the aliases generic.c files under "action" (act, event.action, any case). The
 * later member then loses to a column or to the DSM's limits (256 fields, 2 KiB of
 * properties) while the earlier one stays. Such keys are not checked (count_sources,
 * top_key_count), and no value is checked when any object has a duplicate key (a nested
 * duplicate hides members from jansson's tree: JSON_REJECT_DUPLICATES tells).
 * Inputs jansson rejects may still be accepted (e.g. integers jansson finds too big); the
 * scanner is stricter than nothing and never looser on syntax, which the reverse
 * direction of the test does not need to prove.
 */
#include "fuzz_dsm_common.h"

#include <jansson.h>
#include <stdio.h>
#include <strings.h>

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

/* The DSM's alias names for its "action" property (generic.c, gen_names: GF_ACTION). */
static bool is_action_alias(const char *path)
{
    return strcasecmp(path, "act") == 0 || strcasecmp(path, "action") == 0 ||
           strcasecmp(path, "event.action") == 0;
}

/*
 * How many scalar members under v (at path) could become a property named k, k being a
 * plain top-level key: the path as dsm_json.c flattens it (no dot before a top-level name,
 * one before every deeper one, array indexes), cut to the 63 bytes gen_field keeps, with
 * the bytes dsm_props_add rewrites as '_', compared without case (an over-count only makes
 * the check skip a key); and, for "action", every alias. Only the first bytes of a long
 * path matter, so it is built in a fixed buffer and cut.
 */
static int count_sources(json_t *v, char *path, size_t plen, bool top, const char *k)
{
    if (json_is_null(v)) return 0; /* the DSM emits nothing for null */
    if (!json_is_object(v) && !json_is_array(v)) {
        char name[64];
        size_t n = plen < sizeof name - 1 ? plen : sizeof name - 1;
        for (size_t i = 0; i < n; i++) {
            char c = path[i];
            name[i] = (c == '=' || c == '\t' || c == '\n' || c == '\r') ? '_' : c;
        }
        name[n] = 0;
        if (strcasecmp(name, k) == 0) return 1;
        return strcmp(k, "action") == 0 && is_action_alias(path);
    }
    enum { CAP = 127 }; /* path holds CAP + 1 bytes */
    int total = 0;
    const char *ck;
    json_t *c;
    size_t i;
    char idx[24];
    if (json_is_object(v)) {
        json_object_foreach(v, ck, c)
        {
            size_t n = plen;
            if (!top && n < CAP) path[n++] = '.';
            for (const char *q = ck; *q && n < CAP; q++)
                path[n++] = *q;
            path[n] = 0;
            total += count_sources(c, path, n, false, k);
        }
    } else {
        json_array_foreach(v, i, c)
        {
            size_t n = plen;
            if (n < CAP) path[n++] = '.';
            snprintf(idx, sizeof idx, "%zu", i);
            for (const char *q = idx; *q && n < CAP; q++)
                path[n++] = *q;
            path[n] = 0;
            total += count_sources(c, path, n, false, k);
        }
    }
    path[plen] = 0;
    return total;
}

/*
 * How many members of the top-level object (of a text jansson accepted) have the key k once
 * decoded: jansson keeps only the last of duplicate keys, so its tree cannot tell. Keys are
 * decoded by jansson itself.
 */
static int top_key_count(const uint8_t *d, size_t n, const char *k)
{
    int depth = 0, count = 0;
    bool key_next = false;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = d[i];
        if (c == '"') {
            size_t j = i + 1;
            while (j < n && d[j] != '"')
                j += d[j] == '\\' ? 2 : 1;
            if (j >= n) break;
            if (depth == 1 && key_next) {
                json_t *ks = json_loadb((const char *)d + i, j - i + 1,
                                        JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
                if (ks && json_string_length(ks) == strlen(k) &&
                    memcmp(json_string_value(ks), k, strlen(k)) == 0)
                    count++;
                json_decref(ks);
            }
            key_next = false;
            i = j;
        } else if (c == '{' || c == '[') {
            depth++;
            key_next = depth == 1;
        } else if (c == '}' || c == ']') {
            depth--;
        } else if (c == ',' && depth == 1) {
            key_next = true;
        }
    }
    return count;
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
        /* A duplicate key at any depth hides members from jansson's tree (it keeps the last
         * one) that the DSM passes on, e.g. event.action of an earlier duplicate "event"
         * object filed under "action": the values are then checked only without them. */
        json_t *strict =
            json_loadb((const char *)data, size, JSON_ALLOW_NUL | JSON_REJECT_DUPLICATES, &err);
        bool dups = strict == NULL;
        json_decref(strict);
        /* a top-level string member with a plain key must be visible */
        const char *k;
        json_t *c;
        json_object_foreach(root, k, c)
        {
            if (dups) break;
            if (!json_is_string(c) || strlen(k) == 0 || strlen(k) > 30) continue;
            bool plain = true;
            for (const char *q = k; *q; q++)
                if (!((*q >= 'a' && *q <= 'z') || *q == '_')) plain = false;
            const char *sv = json_string_value(c);
            if (!plain || strlen(sv) != json_string_length(c) || strlen(sv) > 100) continue;
            if (strpbrk(sv, "\t\n\r\\")) continue;
            /* k must be the one member behind its property name (see the top comment) */
            char path[128];
            path[0] = 0;
            if (count_sources(root, path, 0, true, k) != 1) continue;
            if (top_key_count(data, size, k) != 1) continue;
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
