/*
 * fuzz_dsm.c - libFuzzer target for the whole DSM layer: the input goes through syslog_parse
 * and then dsm_parse once with no hint and once with every registered DSM as the hint, so
 * each vendor DSM sees every input first. The exactly sized copy makes ASan catch reads past
 * the payload; fuzz_dsm_common.h checks the results (QID resolves, severity <= 10, strings
 * readable, devicetype matches the DSM that claimed the line, "stored" when none did).
 */
#include "fuzz_dsm_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_dsm_setup();
    char *p = malloc(size ? size : 1);
    if (!p) return 0;
    memcpy(p, data, size);
    size_t n;
    const struct dsm_def *const *all = dsm_all(&n);
    for (size_t h = 0; h <= n; h++) {
        struct strm_event ev;
        strm_event_init(&ev);
        ev.starttime = 1764064800000LL;
        strm_ip_from_v4(&ev.collectorip, 0x7f000001u);
        ev.payload.p = p;
        ev.payload.len = (uint32_t)size;
        syslog_parse(&ev, &fuzz_arena);
        struct dsm_ctx ctx = {size ? (int)(data[0] % 29) * 60 - 720 : 0,
                              h < n ? all[h]->type_id : 0};
        const struct dsm_def *d = dsm_parse(&ev, &fuzz_arena, &ctx);
        if (d) {
            if (ev.devicetype != d->type_id) abort();
        } else if (ev.qid != QID_GENERIC_STORED || ev.devicetype != 0) {
            abort();
        }
        fuzz_check_event(&ev, p, size);
        strm_arena_reset(&fuzz_arena);
    }
    free(p);
    return 0;
}
