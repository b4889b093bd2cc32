/*
 * test_packet.c - the L2-L4 packet decoder (src/flow/packet.c) on hand-built frames: TCP, UDP,
 * ICMP over IPv4 and IPv6, 802.1Q and QinQ tags, IPv4 options and bad IHL, IPv6 extension
 * header chains, fragments of both versions, Ethernet padding kept out of the payload, and
 * every truncation of every frame (each decoded from an exactly sized heap copy, so a
 * sanitizer build sees any read past the end; the results must stay inside the bytes).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "flow/flow.h"

/* ---------------------------------------------------------------- frame builder */

struct frame {
    uint8_t b[2048];
    size_t n;
};

static void put(struct frame *f, const void *p, size_t n)
{
    assert_true(f->n + n <= sizeof(f->b));
    memcpy(f->b + f->n, p, n);
    f->n += n;
}

static void put8(struct frame *f, uint8_t v)
{
    put(f, &v, 1);
}

static void put16(struct frame *f, uint16_t v)
{
    uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    put(f, b, 2);
}

static void put32(struct frame *f, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    put(f, b, 4);
}

static void set16(struct frame *f, size_t at, uint16_t v)
{
    f->b[at] = (uint8_t)(v >> 8);
    f->b[at + 1] = (uint8_t)v;
}

static const uint8_t DMAC[6] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55};
static const uint8_t SMAC[6] = {0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb};

/* Ethernet header with the given tags (tpid, tci pairs), then ethertype. */
static void eth(struct frame *f, const uint16_t *tags, int ntags, uint16_t type)
{
    put(f, DMAC, 6);
    put(f, SMAC, 6);
    for (int i = 0; i < ntags; i++) {
        put16(f, tags[2 * i]);
        put16(f, tags[2 * i + 1]);
    }
    put16(f, type);
}

/* IPv4 header of ihl words (options NOP-filled); returns the offset of the header. Total
 * length is fixed up by ipv4_done. */
static size_t ipv4(struct frame *f, int ihl, uint8_t tos, uint16_t frag, uint8_t proto,
                   uint32_t src, uint32_t dst)
{
    size_t at = f->n;
    put8(f, (uint8_t)(0x40 | ihl));
    put8(f, tos);
    put16(f, 0); /* total length, later */
    put16(f, 0x1234);
    put16(f, frag);
    put8(f, 64);
    put8(f, proto);
    put16(f, 0);
    put32(f, src);
    put32(f, dst);
    for (int i = 5; i < ihl; i++)
        put32(f, 0x01010101);
    return at;
}

static void ipv4_done(struct frame *f, size_t at)
{
    set16(f, at + 2, (uint16_t)(f->n - at));
}

static const uint8_t SRC6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
static const uint8_t DST6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};

static size_t ipv6(struct frame *f, uint8_t tclass, uint8_t nh)
{
    size_t at = f->n;
    put32(f, 0x60000000u | ((uint32_t)tclass << 20) | 0x12345);
    put16(f, 0); /* payload length, later */
    put8(f, nh);
    put8(f, 64);
    put(f, SRC6, 16);
    put(f, DST6, 16);
    return at;
}

static void ipv6_done(struct frame *f, size_t at)
{
    set16(f, at + 4, (uint16_t)(f->n - at - 40));
}

static void tcp(struct frame *f, uint16_t sp, uint16_t dp, uint8_t flags, int doff,
                const char *payload)
{
    put16(f, sp);
    put16(f, dp);
    put32(f, 1000);
    put32(f, 2000);
    put8(f, (uint8_t)(doff << 4));
    put8(f, flags);
    put16(f, 65535);
    put16(f, 0);
    put16(f, 0);
    for (int i = 5; i < doff; i++)
        put32(f, 0x01010101);
    if (payload) put(f, payload, strlen(payload));
}

static void udp(struct frame *f, uint16_t sp, uint16_t dp, const char *payload)
{
    size_t plen = payload ? strlen(payload) : 0;
    put16(f, sp);
    put16(f, dp);
    put16(f, (uint16_t)(8 + plen));
    put16(f, 0);
    if (payload) put(f, payload, plen);
}

static void icmp(struct frame *f, uint8_t type, uint8_t code)
{
    put8(f, type);
    put8(f, code);
    put16(f, 0);
    put32(f, 0x00010002);
    put(f, "abcdefgh", 8);
}

/* Decodes from an exactly sized heap copy so out-of-bounds reads are caught by ASan. */
static int decode(const struct frame *f, size_t len, bool is_eth, struct pkt_info *pi)
{
    uint8_t *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    memcpy(copy, f->b, len);
    int rc = is_eth ? pkt_decode_eth(copy, len, pi) : pkt_decode_ip(copy, len, pi);
    if (pi->l4payload) {
        assert_true(pi->l4payload >= copy);
        assert_true(pi->l4payload + pi->l4payload_len <= copy + len);
        assert_true(pi->l4payload_len <= pi->iplen);
    } else {
        assert_int_equal(pi->l4payload_len, 0);
    }
    /* re-point the payload into the frame so callers can compare it after the free */
    if (pi->l4payload) pi->l4payload = f->b + (pi->l4payload - copy);
    free(copy);
    return rc;
}

static void assert_v4(const struct strm_ip *ip, uint32_t v)
{
    struct strm_ip want;
    strm_ip_from_v4(&want, v);
    assert_memory_equal(ip->b, want.b, 16);
}

/* Decodes every prefix of f (no crash, results in bounds); the full frame is not checked. */
static void all_truncations(const struct frame *f, bool is_eth)
{
    for (size_t len = 0; len < f->n; len++) {
        struct pkt_info pi;
        decode(f, len, is_eth, &pi);
    }
}

/* ---------------------------------------------------------------- tests */

static void tcp_over_ipv4(void **state)
{
    struct frame f = {0};
    eth(&f, NULL, 0, 0x0800);
    size_t ip = ipv4(&f, 5, 0xb8 /* EF */, 0x4000 /* DF */, 6, 0x0a000001, 0xc0a80102);
    tcp(&f, 40000, 443, 0x18, 5, "hello");
    ipv4_done(&f, ip);
    struct pkt_info pi;
    assert_int_equal(decode(&f, f.n, true, &pi), 0);
    assert_memory_equal(pi.dmac, DMAC, 6);
    assert_memory_equal(pi.smac, SMAC, 6);
    assert_int_equal(pi.vlan, 0);
    assert_int_equal(pi.ethertype, 0x0800);
    assert_int_equal(pi.ipver, 4);
    assert_int_equal(pi.proto, 6);
    assert_int_equal(pi.dscp, 46);
    assert_v4(&pi.src, 0x0a000001);
    assert_v4(&pi.dst, 0xc0a80102);
    assert_int_equal(pi.sport, 40000);
    assert_int_equal(pi.dport, 443);
    assert_int_equal(pi.tcpflags, 0x18);
    assert_int_equal(pi.iplen, 20 + 20 + 5);
    assert_false(pi.fragment);
    assert_int_equal(pi.l4payload_len, 5);
    assert_memory_equal(pi.l4payload, "hello", 5);
    all_truncations(&f, true);
}

static void tcp_options_and_bad_offset(void **state)
{
    struct frame f = {0};
    eth(&f, NULL, 0, 0x0800);
    size_t ip = ipv4(&f, 5, 0, 0, 6, 1, 2);
    size_t th = f.n;
    tcp(&f, 1, 2, 0x02, 8, "xyz"); /* 12 bytes of TCP options */
    ipv4_done(&f, ip);
    struct pkt_info pi;
    assert_int_equal(decode(&f, f.n, true, &pi), 0);
    assert_int_equal(pi.tcpflags, 0x02);
    assert_int_equal(pi.l4payload_len, 3);
    assert_memory_equal(pi.l4payload, "xyz", 3);
    /* options not captured: ports and flags stay, no payload */
    assert_int_equal(decode(&f, th + 30, true, &pi), 0);
    assert_int_equal(pi.sport, 1);
    assert_int_equal(pi.tcpflags, 0x02);
    assert_null(pi.l4payload);
    /* data offset below 5: a broken header, no payload */
    f.b[th + 12] = 0x40;
    assert_int_equal(decode(&f, f.n, true, &pi), 0);
    assert_int_equal(pi.dport, 2);
    assert_null(pi.l4payload);
    /* data offset beyond the datagram */
    f.b[th + 12] = 0xf0;
    assert_int_equal(decode(&f, f.n, true, &pi), 0);
    assert_null(pi.l4payload);
    all_truncations(&f, true);
}

static void udp_over_ipv6(void **state)
{
    struct frame f = {0};
    eth(&f, NULL, 0, 0x86dd);
    size_t ip = ipv6(&f, 0x28 /* AF11 */, 17);
    udp(&f, 5353, 53, "query");
    ipv6_done(&f, ip);
    struct pkt_info pi;
    assert_int_equal(decode(&f, f.n, true, &pi), 0);
    assert_int_equal(pi.ipver, 6);
    assert_int_equal(pi.ethertype, 0x86dd);
    assert_int_equal(pi.proto, 17);
    assert_int_equal(pi.dscp, 10);
    assert_memory_equal(pi.src.b, SRC6, 16);
    assert_memory_equal(pi.dst.b, DST6, 16);
    assert_int_equal(pi.sport, 5353);
    assert_int_equal(pi.dport, 53);
    assert_int_equal(pi.iplen, 40 + 8 + 5);
    assert_int_equal(pi.l4payload_len, 5);
    assert_memory_equal(pi.l4payload, "query", 5);
    all_truncations(&f, true);
}

static void icmp_both_versions(void **state)
{
    struct frame f = {0};
    eth(&f, NULL, 0, 0x0800);
    size_t ip = ipv4(&f, 5, 0, 0, 1, 0x01020304, 0x05060708);
    icmp(&f, 8, 0);
    ipv4_done(&f, ip);
    struct pkt_info pi;
    assert_int_equal(decode(&f, f.n, true, &pi), 0);
    assert_int_equal(pi.proto, 1);
    assert_int_equal(pi.icmptype, 8);
    assert_int_equal(pi.icmpcode, 0);
    assert_int_equal(pi.sport, 0);
    assert_int_equal(pi.dport, 0);
    assert_int_equal(pi.l4payload_len, 8);
    all_truncations(&f, true);

    struct frame g = {0};
    eth(&g, NULL, 0, 0x86dd);
    ip = ipv6(&g, 0, 58);
    icmp(&g, 1, 4); /* destination unreachable, port unreachable */
    ipv6_done(&g, ip);
    assert_int_equal(decode(&g, g.n, true, &pi), 0);
    assert_int_equal(pi.proto, 58);
    assert_int_equal(pi.icmptype, 1);
    assert_int_equal(pi.icmpcode, 4);
    all_truncations(&g, true);
}

static void sctp_ports(void **state)
{
    struct frame f = {0};
    size_t ip = ipv4(&f, 5, 0, 0, 132, 1, 2);
    put16(&f, 2905);
    put16(&f, 3868);
    put32(&f, 0xdeadbeef);
    put32(&f, 0);
    put(&f, "chunk", 5);
    ipv4_done(&f, ip);
    struct pkt_info pi;
    assert_int_equal(decode(&f, f.n, false, &pi), 0);
    assert_int_equal(pi.proto, 132);
    assert_int_equal(pi.sport, 2905);
    assert_int_equal(pi.dport, 3868);
    assert_int_equal(pi.l4payload_len, 5);
    all_truncations(&f, false);
}

static void vlan_and_qinq(void **state)
{
    const uint16_t one[] = {0x8100, 0x2000 | 42}; /* PCP 1, VID 42 */
    struct frame f = {0};
    eth(&f, one, 1, 0x0800);
    size_t ip = ipv4(&f, 5, 0, 0, 17, 1, 2);
    udp(&f, 1, 2, "a");
    ipv4_done(&f, ip);
    struct pkt_info pi;
    assert_int_equal(decode(&f, f.n, true, &pi), 0);
    assert_int_equal(pi.vlan, 42);
    assert_int_equal(pi.ethertype, 0x0800);
    assert_int_equal(pi.sport, 1);
    all_truncations(&f, true);

    for (int t = 0; t < 2; t++) {
        const uint16_t two[] = {t ? 0x9100 : 0x88a8, 100, 0x8100, 200};
        struct frame g = {0};
        eth(&g, two, 2, 0x86dd);
        ip = ipv6(&g, 0, 6);
        tcp(&g, 22, 50000, 0x10, 5, NULL);
        ipv6_done(&g, ip);
        assert_int_equal(decode(&g, g.n, true, &pi), 0);
        assert_int_equal(pi.vlan, 100); /* the outermost tag */
        assert_int_equal(pi.sport, 22);
        assert_int_equal(pi.dport, 50000);
        assert_int_equal(pi.l4payload_len, 0);
        all_truncations(&g, true);
    }

    /* a tag cut short is not a packet */
    struct frame h = {0};
    eth(&h, one, 1, 0x0800);
    assert_int_equal(decode(&h, 16, true, &pi), STRM_ERR_PARSE);
}

static void ipv4_options_and_ihl(void **state)
{
    struct frame f = {0};
    eth(&f, NULL, 0, 0x0800);
    size_t ip = ipv4(&f, 8, 0, 0, 17, 0x0a000001, 0x0a000002); /* 12 bytes of options */
    udp(&f, 123, 123, "ntp");
    ipv4_done(&f, ip);
    struct pkt_info pi;
    assert_int_equal(decode(&f, f.n, true, &pi), 0);
    assert_int_equal(pi.sport, 123);
    assert_int_equal(pi.iplen, 32 + 8 + 3);
    assert_int_equal(pi.l4payload_len, 3);
    assert_memory_equal(pi.l4payload, "ntp", 3);
    all_truncations(&f, true);

    /* IHL below 5 */
    f.b[ip] = 0x44;
    assert_int_equal(decode(&f, f.n, true, &pi), STRM_ERR_PARSE);
    /* IHL beyond the total length */
    f.b[ip] = 0x4f;
    set16(&f, ip + 2, 40);
    assert_int_equal(decode(&f, f.n, true, &pi), STRM_ERR_PARSE);
    /* not version 4 behind ethertype IPv4 */
    f.b[ip] = 0x65;
    assert_int_equal(decode(&f, f.n, true, &pi), STRM_ERR_PARSE);
}

static void ipv6_extension_headers(void **state)
{
    struct frame f = {0};
    eth(&f, NULL, 0, 0x86dd);
    size_t ip = ipv6(&f, 0, 0);
    /* hop-by-hop, 8 bytes: next routing */
    put8(&f, 43);
    put8(&f, 0);
    put(&f, "\x01\x04\x00\x00\x00\x00", 6);
    /* routing, 24 bytes: next fragment */
    put8(&f, 44);
    put8(&f, 2);
    put8(&f, 0);
    put8(&f, 0);
    put32(&f, 0);
    put(&f, SRC6, 16);
    /* fragment, offset 0, more fragments: next destination options */
    put8(&f, 60);
    put8(&f, 0);
    put16(&f, 0x0001);
    put32(&f, 0xabcdef01);
    /* destination options, 16 bytes: next AH */
    put8(&f, 51);
    put8(&f, 1);
    put(&f, "\x01\x0c\0\0\0\0\0\0\0\0\0\0\0\0", 14);
    /* AH with a 12-byte ICV: (len + 2) * 4 = 24 bytes: next TCP */
    put8(&f, 6);
    put8(&f, 4);
    put16(&f, 0);
    put32(&f, 0x100);
    put32(&f, 1);
    put(&f, "ICV-ICV-ICV-", 12);
    tcp(&f, 179, 33000, 0x11, 5, "bgp");
    ipv6_done(&f, ip);
    struct pkt_info pi;
    assert_int_equal(decode(&f, f.n, true, &pi), 0);
    assert_int_equal(pi.proto, 6);
    assert_false(pi.fragment);
    assert_int_equal(pi.sport, 179);
    assert_int_equal(pi.dport, 33000);
    assert_int_equal(pi.tcpflags, 0x11);
    assert_int_equal(pi.l4payload_len, 3);
    assert_memory_equal(pi.l4payload, "bgp", 3);
    all_truncations(&f, true);

    /* a header length running past the packet: no L4, still an IP packet */
    f.b[ip + 40 + 1] = 200;
    assert_int_equal(decode(&f, f.n, true, &pi), 0);
    assert_int_equal(pi.sport, 0);
    assert_null(pi.l4payload);
}

static void ipv6_fragments(void **state)
{
    struct frame f = {0};
    eth(&f, NULL, 0, 0x86dd);
    size_t ip = ipv6(&f, 0, 44);
    size_t fh = f.n;
    put8(&f, 17);
    put8(&f, 0);
    put16(&f, 0x0001); /* offset 0, M */
    put32(&f, 7);
    udp(&f, 500, 4500, "first");
    ipv6_done(&f, ip);
    struct pkt_info pi;
    assert_int_equal(decode(&f, f.n, true, &pi), 0);
    assert_false(pi.fragment);
    assert_int_equal(pi.proto, 17);
    assert_int_equal(pi.sport, 500);
    all_truncations(&f, true);
    /* offset 1480: a later fragment */
    set16(&f, fh + 2, (uint16_t)(1480 | 1));
    assert_int_equal(decode(&f, f.n, true, &pi), 0);
    assert_true(pi.fragment);
    assert_int_equal(pi.proto, 17);
    assert_int_equal(pi.sport, 0);
    assert_int_equal(pi.dport, 0);
    assert_null(pi.l4payload);
    assert_int_equal(pi.iplen, f.n - 14);
}

static void ipv4_fragments(void **state)
{
    struct frame f = {0};
    eth(&f, NULL, 0, 0x0800);
    size_t ip = ipv4(&f, 5, 0, 0x2000 /* MF, offset 0 */, 17, 1, 2);
    udp(&f, 1000, 2000, "part one");
    ipv4_done(&f, ip);
    struct pkt_info pi;
    assert_int_equal(decode(&f, f.n, true, &pi), 0);
    assert_false(pi.fragment);
    assert_int_equal(pi.sport, 1000);
    assert_int_equal(pi.dport, 2000);
    /* offset 185 (1480 bytes), last fragment: the bytes are data, not a UDP header */
    set16(&f, ip + 6, 185);
    assert_int_equal(decode(&f, f.n, true, &pi), 0);
    assert_true(pi.fragment);
    assert_int_equal(pi.proto, 17);
    assert_int_equal(pi.sport, 0);
    assert_null(pi.l4payload);
    assert_int_equal(pi.iplen, 20 + 8 + 8);
    all_truncations(&f, true);
}

static void padding_is_not_payload(void **state)
{
    struct frame f = {0};
    eth(&f, NULL, 0, 0x0800);
    size_t ip = ipv4(&f, 5, 0, 0, 17, 1, 2);
    udp(&f, 7, 7, "ping");
    ipv4_done(&f, ip);
    while (f.n < 60) /* minimum Ethernet frame without FCS */
        put8(&f, 0xee);
    struct pkt_info pi;
    assert_int_equal(decode(&f, f.n, true, &pi), 0);
    assert_int_equal(pi.iplen, 32);
    assert_int_equal(pi.l4payload_len, 4);
    assert_memory_equal(pi.l4payload, "ping", 4);

    /* TCP (no length of its own): the IP total length is the limit */
    struct frame g = {0};
    eth(&g, NULL, 0, 0x0800);
    ip = ipv4(&g, 5, 0, 0, 6, 1, 2);
    tcp(&g, 80, 1234, 0x10, 5, "");
    ipv4_done(&g, ip);
    while (g.n < 60)
        put8(&g, 0xee);
    assert_int_equal(decode(&g, g.n, true, &pi), 0);
    assert_int_equal(pi.l4payload_len, 0);

    /* IPv6: payload length bounds it likewise */
    struct frame h = {0};
    eth(&h, NULL, 0, 0x86dd);
    ip = ipv6(&h, 0, 6);
    tcp(&h, 80, 1234, 0x10, 5, "ab");
    ipv6_done(&h, ip);
    for (int i = 0; i < 20; i++)
        put8(&h, 0xee);
    assert_int_equal(decode(&h, h.n, true, &pi), 0);
    assert_int_equal(pi.iplen, 40 + 20 + 2);
    assert_int_equal(pi.l4payload_len, 2);
}

static void truncated_capture_keeps_iplen(void **state)
{
    /* a snap length shorter than the packet: iplen from the header, payload what was seen */
    struct frame f = {0};
    eth(&f, NULL, 0, 0x0800);
    size_t ip = ipv4(&f, 5, 0, 0, 6, 1, 2);
    tcp(&f, 1, 2, 0x10, 5, "0123456789012345678901234567890123456789");
    ipv4_done(&f, ip);
    struct pkt_info pi;
    assert_int_equal(decode(&f, 14 + 40 + 10, true, &pi), 0);
    assert_int_equal(pi.iplen, 80);
    assert_int_equal(pi.l4payload_len, 10);
    /* only the IPv4 header: addresses, no ports */
    assert_int_equal(decode(&f, 14 + 20, true, &pi), 0);
    assert_int_equal(pi.ipver, 4);
    assert_int_equal(pi.proto, 6);
    assert_int_equal(pi.sport, 0);
    /* less than the IPv4 header: not decodable */
    assert_int_equal(decode(&f, 14 + 19, true, &pi), STRM_ERR_PARSE);
}

static void non_ip_and_other_l2(void **state)
{
    struct frame f = {0};
    eth(&f, NULL, 0, 0x0806); /* ARP */
    for (int i = 0; i < 28; i++)
        put8(&f, 0);
    struct pkt_info pi;
    assert_int_equal(decode(&f, f.n, true, &pi), STRM_ERR_PARSE);
    assert_int_equal(pi.ethertype, 0x0806);
    assert_int_equal(pi.ipver, 0);
    assert_memory_equal(pi.smac, SMAC, 6);

    /* MPLS, two labels */
    struct frame m = {0};
    eth(&m, NULL, 0, 0x8847);
    put32(&m, (16 << 12) | 0x40);
    put32(&m, (17 << 12) | 0x100 | 0x40);
    size_t ip = ipv4(&m, 5, 0, 0, 17, 9, 10);
    udp(&m, 11, 12, NULL);
    ipv4_done(&m, ip);
    assert_int_equal(decode(&m, m.n, true, &pi), 0);
    assert_int_equal(pi.ethertype, 0x8847);
    assert_int_equal(pi.ipver, 4);
    assert_int_equal(pi.dport, 12);
    all_truncations(&m, true);

    /* PPPoE session carrying IPv6 */
    struct frame p = {0};
    eth(&p, NULL, 0, 0x8864);
    put16(&p, 0x1100);
    put16(&p, 0x0001);
    put16(&p, 0); /* PPPoE length, not used */
    put16(&p, 0x0057);
    ip = ipv6(&p, 0, 17);
    udp(&p, 546, 547, "dhcp");
    ipv6_done(&p, ip);
    assert_int_equal(decode(&p, p.n, true, &pi), 0);
    assert_int_equal(pi.ipver, 6);
    assert_int_equal(pi.sport, 546);
    all_truncations(&p, true);

    /* 802.3 with LLC/SNAP */
    struct frame s = {0};
    eth(&s, NULL, 0, 60);
    put(&s, "\xaa\xaa\x03\x00\x00\x00\x08\x00", 8);
    ip = ipv4(&s, 5, 0, 0, 6, 1, 2);
    tcp(&s, 3, 4, 0x02, 5, NULL);
    ipv4_done(&s, ip);
    assert_int_equal(decode(&s, s.n, true, &pi), 0);
    assert_int_equal(pi.dport, 4);
    all_truncations(&s, true);
}

static void raw_ip_entry(void **state)
{
    struct frame f = {0};
    size_t ip = ipv4(&f, 5, 0x10, 0, 6, 0x7f000001, 0x7f000002);
    tcp(&f, 5000, 80, 0x02, 5, "GET");
    ipv4_done(&f, ip);
    struct pkt_info pi;
    assert_int_equal(decode(&f, f.n, false, &pi), 0);
    assert_int_equal(pi.ipver, 4);
    assert_int_equal(pi.ethertype, 0x0800);
    assert_int_equal(pi.vlan, 0);
    assert_int_equal(pi.dscp, 4);
    assert_int_equal(pi.sport, 5000);
    all_truncations(&f, false);

    struct frame g = {0};
    ip = ipv6(&g, 0xb8, 17);
    udp(&g, 1, 2, "x");
    ipv6_done(&g, ip);
    assert_int_equal(decode(&g, g.n, false, &pi), 0);
    assert_int_equal(pi.ipver, 6);
    assert_int_equal(pi.dscp, 46);
    all_truncations(&g, false);

    uint8_t junk[40] = {0x50};
    assert_int_equal(pkt_decode_ip(junk, sizeof(junk), &pi), STRM_ERR_PARSE);
    assert_int_equal(pkt_decode_ip(junk, 0, &pi), STRM_ERR_PARSE);
    assert_int_equal(pkt_decode_eth(junk, 0, &pi), STRM_ERR_PARSE);
}

static void zero_total_length(void **state)
{
    /* offloaded large packets are captured with total length 0: bounded by the capture */
    struct frame f = {0};
    size_t ip = ipv4(&f, 5, 0, 0, 6, 1, 2);
    tcp(&f, 1, 2, 0x10, 5, "data");
    (void)ip;
    struct pkt_info pi;
    assert_int_equal(decode(&f, f.n, false, &pi), 0);
    assert_int_equal(pi.iplen, f.n);
    assert_int_equal(pi.l4payload_len, 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tcp_over_ipv4),
        cmocka_unit_test(tcp_options_and_bad_offset),
        cmocka_unit_test(udp_over_ipv6),
        cmocka_unit_test(icmp_both_versions),
        cmocka_unit_test(sctp_ports),
        cmocka_unit_test(vlan_and_qinq),
        cmocka_unit_test(ipv4_options_and_ihl),
        cmocka_unit_test(ipv6_extension_headers),
        cmocka_unit_test(ipv6_fragments),
        cmocka_unit_test(ipv4_fragments),
        cmocka_unit_test(padding_is_not_payload),
        cmocka_unit_test(truncated_capture_keeps_iplen),
        cmocka_unit_test(non_ip_and_other_l2),
        cmocka_unit_test(raw_ip_entry),
        cmocka_unit_test(zero_total_length),
    };
    cmocka_set_message_output(CM_OUTPUT_TAP);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
