/*
 * fuzz_dsm_common.h - shared by the DSM fuzz targets (fuzz_cef, fuzz_leef, fuzz_json,
 * fuzz_kv, fuzz_dsm): builds an event around the input and checks what every DSM promises.
 *
 * The input is copied into an exactly sized heap buffer (no NUL after it) so ASan catches
 * any read past the payload. Checks after parse(): a DSM that returns false left the event
 * byte-for-byte unchanged; one that returns true set devicetype to its type id, a QID that
 * qid_lookup resolves, a severity <= 10, and every string slice lies in the payload or is
 * terminated like an arena copy; properties are "k=v" pairs without raw LF.
 */
#ifndef FUZZ_DSM_COMMON_H
#define FUZZ_DSM_COMMON_H

#include "collect/collect.h"
#include "dsm/dsm.h"

#include <stdlib.h>
#include <string.h>

static struct strm_arena fuzz_arena;

static void fuzz_dsm_setup(void)
{
    static bool done;
    if (done) return;
    done = true;
    strm_arena_init(&fuzz_arena, 1 << 16);
    if (dsm_init() != 0) abort();
}

static void fuzz_check_str(struct strm_str s, const char *p, size_t len)
{
    if (s.len == 0) return;
    if (s.p >= p && s.p + s.len <= p + len) return;
    /* arena strings: touch every byte so ASan sees them */
    volatile char sink = 0;
    for (uint32_t i = 0; i < s.len; i++)
        sink ^= s.p[i];
    (void)sink;
}

static void fuzz_check_event(const struct strm_event *ev, const char *p, size_t len)
{
    if (ev->severity > 10) abort();
    if (!qid_lookup(ev->qid)) abort();
    fuzz_check_str(ev->username, p, len);
    fuzz_check_str(ev->properties, p, len);
    fuzz_check_str(ev->message, p, len);
    fuzz_check_str(ev->appname, p, len);
    fuzz_check_str(ev->hostname, p, len);
    if (ev->properties.len && ev->properties.p >= p && ev->properties.p < p + len) {
        /* properties are always an arena copy */
        abort();
    }
    for (uint32_t i = 0; i < ev->properties.len; i++)
        if (ev->properties.p[i] == '\n') abort();
}

/* Runs one DSM on the input as a raw message and as a syslog-parsed one. */
static void fuzz_one_dsm(const struct dsm_def *d, const uint8_t *data, size_t size)
{
    fuzz_dsm_setup();
    char *p = malloc(size ? size : 1);
    if (!p) return;
    memcpy(p, data, size);
    for (int pass = 0; pass < 2; pass++) {
        struct strm_event ev, before;
        strm_event_init(&ev);
        ev.starttime = 1764064800000LL;
        strm_ip_from_v4(&ev.collectorip, 0x7f000001u);
        ev.payload.p = p;
        ev.payload.len = (uint32_t)size;
        if (pass == 0) {
            ev.message = ev.payload;
            ev.flags |= STRM_EV_UNPARSED;
        } else {
            syslog_parse(&ev, &fuzz_arena);
        }
        before = ev;
        struct dsm_ctx ctx = {size ? (int)(data[0] % 29) * 60 - 720 : 0, 0};
        if (d->parse(&ev, &fuzz_arena, &ctx)) {
            if (ev.devicetype != d->type_id) abort();
            fuzz_check_event(&ev, p, size);
        } else if (memcmp(&before, &ev, sizeof ev) != 0) {
            abort();
        }
        strm_arena_reset(&fuzz_arena);
    }
    free(p);
}

#endif
