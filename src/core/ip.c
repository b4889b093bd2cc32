/*
 * ip.c - IP addresses as 16 bytes (IPv4 mapped into IPv6), time helpers.
 *
 * One representation for both families keeps columns fixed-width and comparisons a
 * memcmp; all zero bytes mean "no address".
 */
#include "core/core.h"

#include <arpa/inet.h>
#include <string.h>
#include <time.h>

static const uint8_t v4_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

/* Word loads, not memcmp calls: these run several times per flow record. */
bool strm_ip_is_null(const struct strm_ip *ip)
{
    uint64_t a, b;
    memcpy(&a, ip->b, 8);
    memcpy(&b, ip->b + 8, 8);
    return (a | b) == 0;
}

bool strm_ip_is_v4(const struct strm_ip *ip)
{
    uint64_t a;
    uint32_t b, want;
    memcpy(&a, ip->b, 8);
    memcpy(&b, ip->b + 8, 4);
    memcpy(&want, v4_prefix + 8, 4);
    return a == 0 && b == want;
}

void strm_ip_from_v4(struct strm_ip *ip, uint32_t host_order)
{
    memcpy(ip->b, v4_prefix, 12);
    ip->b[12] = (uint8_t)(host_order >> 24);
    ip->b[13] = (uint8_t)(host_order >> 16);
    ip->b[14] = (uint8_t)(host_order >> 8);
    ip->b[15] = (uint8_t)host_order;
}

/*
 * Dotted-quad IPv4 as inet_pton accepts it (four decimal parts 0-255, no leading zeros, nothing
 * else); false for anything else, which then goes to inet_pton. The DSMs parse several
 * addresses per event, and the copy + inet_pton showed in the parse profile.
 */
static bool ip_parse_v4_fast(const char *s, size_t len, uint8_t out[4])
{
    if (len < 7 || len > 15) return false;
    const char *p = s, *end = s + len;
    for (int part = 0; part < 4; part++) {
        if (part) {
            if (p == end || *p != '.') return false;
            p++;
        }
        if (p == end || *p < '0' || *p > '9') return false;
        unsigned v = (unsigned)(*p++ - '0');
        int digits = 1;
        while (p < end && *p >= '0' && *p <= '9') {
            if (v == 0 || ++digits > 3) /* a leading zero, or a fourth digit */
                return false;
            v = v * 10 + (unsigned)(*p++ - '0');
        }
        if (v > 255) return false;
        out[part] = (uint8_t)v;
    }
    return p == end;
}

int strm_ip_parse(struct strm_ip *ip, const char *s, size_t len)
{
    uint8_t v4[4];
    if (s && ip_parse_v4_fast(s, len, v4)) {
        memcpy(ip->b, v4_prefix, 12);
        memcpy(ip->b + 12, v4, 4);
        return 0;
    }
    char buf[64];
    if (len == 0 || len >= sizeof(buf)) return STRM_ERR_PARSE;
    memcpy(buf, s, len);
    buf[len] = '\0';
    struct in_addr a4;
    if (inet_pton(AF_INET, buf, &a4) == 1) {
        memcpy(ip->b, v4_prefix, 12);
        memcpy(ip->b + 12, &a4, 4);
        return 0;
    }
    if (inet_pton(AF_INET6, buf, ip->b) == 1) return 0;
    return STRM_ERR_PARSE;
}

size_t strm_ip_format(const struct strm_ip *ip, char *buf, size_t size)
{
    if (size == 0) return 0;
    buf[0] = '\0';
    if (strm_ip_is_null(ip)) return 0;
    const char *r = strm_ip_is_v4(ip) ? inet_ntop(AF_INET, ip->b + 12, buf, (socklen_t)size)
                                      : inet_ntop(AF_INET6, ip->b, buf, (socklen_t)size);
    if (!r) {
        buf[0] = '\0';
        return 0;
    }
    return strlen(buf);
}

int strm_ip_cmp(const struct strm_ip *a, const struct strm_ip *b)
{
    return memcmp(a->b, b->b, 16);
}

int64_t strm_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t strm_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct timespec strm_deadline(clockid_t clk, int64_t ms)
{
    struct timespec ts;
    clock_gettime(clk, &ts);
    ts.tv_sec += (time_t)(ms / 1000);
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

const char *strm_protocol_name(unsigned proto)
{
    /* IANA protocol numbers seen in flows; others have no name */
    switch (proto) {
    case 0:
        return "HOPOPT";
    case 1:
        return "ICMP";
    case 2:
        return "IGMP";
    case 4:
        return "IPv4";
    case 6:
        return "TCP";
    case 8:
        return "EGP";
    case 9:
        return "IGP";
    case 17:
        return "UDP";
    case 27:
        return "RDP";
    case 41:
        return "IPv6";
    case 43:
        return "IPv6-Route";
    case 44:
        return "IPv6-Frag";
    case 46:
        return "RSVP";
    case 47:
        return "GRE";
    case 50:
        return "ESP";
    case 51:
        return "AH";
    case 58:
        return "IPv6-ICMP";
    case 59:
        return "IPv6-NoNxt";
    case 60:
        return "IPv6-Opts";
    case 88:
        return "EIGRP";
    case 89:
        return "OSPF";
    case 94:
        return "IPIP";
    case 103:
        return "PIM";
    case 112:
        return "VRRP";
    case 115:
        return "L2TP";
    case 132:
        return "SCTP";
    case 136:
        return "UDPLite";
    case 137:
        return "MPLS-in-IP";
    default:
        return NULL;
    }
}
