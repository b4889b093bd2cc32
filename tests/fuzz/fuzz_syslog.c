/*
 * fuzz_syslog.c - libFuzzer target for syslog_parse().
 *
 * The input is copied into an exactly sized heap buffer (no NUL after it), so any read past
 * payload.len is caught by ASan. The last byte, when present, picks the starttime (a few
 * fixed instants, including around New Year) and an IPv4 or IPv6 collector address, so the
 * year inference and the hostname fallback are exercised too. Checks: the result is a known
 * format, every slice lies inside the payload or the arena, UNPARSED keeps the payload.
 */
#include "collect/collect.h"

#include <stdlib.h>
#include <string.h>

static bool inside(struct strm_str s, const char *p, size_t len)
{
    if (s.len == 0) return true;
    return s.p >= p && s.p + s.len <= p + len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const int64_t starts[] = {1718366400000LL, 1735689630000LL, 1735689540000LL, 1,
                                     253402300799000LL};
    static struct strm_arena arena;
    static bool init;
    if (!init) {
        strm_arena_init(&arena, 4096);
        init = true;
    }
    uint8_t sel = size ? data[size - 1] : 0;
    char *p = malloc(size ? size : 1);
    if (!p) return 0;
    memcpy(p, data, size);

    struct strm_event ev;
    strm_event_init(&ev);
    ev.payload.p = p;
    ev.payload.len = (uint32_t)size;
    ev.starttime = starts[sel % 5];
    if (sel & 0x10)
        (void)strm_ip_parse(&ev.collectorip, "2001:db8::7", 11);
    else if (sel & 0x20)
        strm_ip_from_v4(&ev.collectorip, 0xC0000207u);

    enum syslog_format f = syslog_parse(&ev, &arena);
    if (f != SYSLOG_UNPARSED && f != SYSLOG_RFC3164 && f != SYSLOG_RFC5424) abort();
    if (f == SYSLOG_UNPARSED &&
        (!(ev.flags & STRM_EV_UNPARSED) || ev.message.len != size || ev.facility != 255))
        abort();
    if (!inside(ev.message, p, size) || !inside(ev.appname, p, size) ||
        !inside(ev.procid, p, size) || !inside(ev.msgid, p, size))
        abort();
    if (ev.hostname.len && !inside(ev.hostname, p, size) && ev.hostname.p[ev.hostname.len] != 0)
        abort(); /* arena strings are NUL-terminated */
    if (f != SYSLOG_UNPARSED && ev.facility != 255 && (ev.facility > 23 || ev.priority > 7))
        abort();
    if (ev.severity > 10) abort();
    strm_arena_reset(&arena);
    free(p);
    return 0;
}
