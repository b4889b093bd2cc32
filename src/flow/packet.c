/*
 * packet.c - L2-L4 packet decoding for the flow collector: captured frames (QFlow) and the
 * raw packet headers inside sFlow flow samples become a struct pkt_info.
 *
 * Layers, outside in:
 *   Ethernet II; 802.3 LLC/SNAP (ethertype from the SNAP header); any number (at most
 *     PKT_MAX_TAGS) of 802.1Q / 802.1ad (QinQ 0x88a8, old 0x9100/0x9200) tags, the outermost
 *     VLAN id kept; MPLS label stacks (the payload guessed from its version nibble); PPPoE
 *     session frames carrying IPv4/IPv6.
 *   IPv4 (IHL checked, options skipped; a non-first fragment has no L4 header) or IPv6 with
 *     its extension header chain (hop-by-hop, routing, fragment, destination options, AH,
 *     mobility, HIP, shim6) walked to the upper-layer header, at most PKT_MAX_EXT of them.
 *   TCP (ports, flags, data offset checked), UDP/UDP-Lite, SCTP (ports), ICMP/ICMPv6
 *     (type, code).
 *
 * Invariants: no byte at or beyond p + caplen is ever read. The L4 payload slice lies inside
 * the captured bytes AND inside the IP datagram as its header states it (so Ethernet padding
 * of short frames is never taken for payload). A packet whose L4 header is cut short keeps
 * what could be read (addresses, protocol) with the rest zero; only a missing or broken IP
 * header makes the decode fail.
 */
#include "flow/flow.h"

#include <string.h>

#define PKT_MAX_TAGS 8 /* VLAN tags, MPLS labels: more is not a sane frame */
#define PKT_MAX_EXT 16 /* IPv6 extension headers walked */

#define ETH_IPV4 0x0800
#define ETH_IPV6 0x86dd
#define ETH_VLAN 0x8100
#define ETH_QINQ 0x88a8
#define ETH_QINQ_OLD1 0x9100
#define ETH_QINQ_OLD2 0x9200
#define ETH_MPLS_UC 0x8847
#define ETH_MPLS_MC 0x8848
#define ETH_PPPOE_SESS 0x8864

static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

static uint32_t rd32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/*
 * The L4 header at l4 with avail bytes of it present (already limited to both the captured
 * bytes and the IP length).
 */
static void decode_l4(const uint8_t *l4, size_t avail, struct pkt_info *out)
{
    size_t hlen = 0;
    switch (out->proto) {
    case 6: /* TCP */
        if (avail < 4) return;
        out->sport = rd16(l4);
        out->dport = rd16(l4 + 2);
        if (avail < 14) return;
        out->tcpflags = l4[13];
        hlen = (size_t)(l4[12] >> 4) * 4;
        if (hlen < 20 || hlen > avail) return; /* bad or uncaptured options: no payload */
        break;
    case 17:  /* UDP */
    case 136: /* UDP-Lite */
        if (avail < 4) return;
        out->sport = rd16(l4);
        out->dport = rd16(l4 + 2);
        if (avail < 8) return;
        hlen = 8;
        if (out->proto == 17) {
            /* the UDP length bounds the payload too, when it is sane */
            size_t ulen = rd16(l4 + 4);
            if (ulen >= 8 && ulen < avail) avail = ulen;
        }
        break;
    case 132: /* SCTP */
        if (avail < 4) return;
        out->sport = rd16(l4);
        out->dport = rd16(l4 + 2);
        if (avail < 12) return;
        hlen = 12;
        break;
    case 1:  /* ICMP */
    case 58: /* ICMPv6 */
        if (avail < 2) return;
        out->icmptype = l4[0];
        out->icmpcode = l4[1];
        if (avail < 8) return;
        hlen = 8;
        break;
    default: /* no L4 header we know: the payload is what follows IP */
        break;
    }
    out->l4payload = l4 + hlen;
    out->l4payload_len = (uint32_t)(avail - hlen);
}

static int decode_ipv4(const uint8_t *p, size_t caplen, struct pkt_info *out)
{
    if (caplen < 20 || (p[0] >> 4) != 4) return STRM_ERR_PARSE;
    size_t hlen = (size_t)(p[0] & 0x0f) * 4;
    if (hlen < 20) return STRM_ERR_PARSE;
    size_t totlen = rd16(p + 2);
    /*
     * A total length of 0 is what segmentation offload leaves in captures of large outgoing
     * packets: the length is then unknown and the captured bytes are all we have.
     */
    if (totlen == 0) totlen = caplen;
    if (totlen < hlen) return STRM_ERR_PARSE;
    out->ipver = 4;
    out->ethertype = ETH_IPV4;
    out->dscp = (uint8_t)(p[1] >> 2);
    out->iplen = (uint32_t)totlen;
    out->proto = p[9];
    strm_ip_from_v4(&out->src, rd32(p + 12));
    strm_ip_from_v4(&out->dst, rd32(p + 16));
    if ((rd16(p + 6) & 0x1fff) != 0) {
        out->fragment = true; /* only the first fragment carries the L4 header */
        return STRM_OK;
    }
    if (hlen > caplen) return STRM_OK; /* options cut off by the capture: no L4 */
    size_t end = totlen < caplen ? totlen : caplen;
    decode_l4(p + hlen, end - hlen, out);
    return STRM_OK;
}

static int decode_ipv6(const uint8_t *p, size_t caplen, struct pkt_info *out)
{
    if (caplen < 40 || (p[0] >> 4) != 6) return STRM_ERR_PARSE;
    size_t plen = rd16(p + 4);
    /* payload length 0: jumbogram or offload; bounded by the captured bytes then */
    size_t totlen = plen ? plen + 40 : caplen;
    out->ipver = 6;
    out->ethertype = ETH_IPV6;
    out->dscp = (uint8_t)((((p[0] & 0x0f) << 4) | (p[1] >> 4)) >> 2);
    out->iplen = (uint32_t)totlen;
    memcpy(out->src.b, p + 8, 16);
    memcpy(out->dst.b, p + 24, 16);
    size_t end = totlen < caplen ? totlen : caplen;
    size_t off = 40;
    uint8_t nh = p[6];
    for (int i = 0; i <= PKT_MAX_EXT; i++) {
        out->proto = nh;
        size_t len;
        switch (nh) {
        case 0:   /* hop-by-hop options */
        case 43:  /* routing */
        case 60:  /* destination options */
        case 135: /* mobility */
        case 139: /* HIP */
        case 140: /* shim6 */
            if (end - off < 2) return STRM_OK;
            len = ((size_t)p[off + 1] + 1) * 8;
            break;
        case 51: /* AH: length in 4-octet units minus 2 */
            if (end - off < 2) return STRM_OK;
            len = ((size_t)p[off + 1] + 2) * 4;
            break;
        case 44: /* fragment */
            if (end - off < 8) return STRM_OK;
            len = 8;
            if ((rd16(p + off + 2) & 0xfff8) != 0) {
                out->proto = p[off];
                out->fragment = true;
                return STRM_OK;
            }
            break;
        default:
            decode_l4(p + off, end - off, out);
            return STRM_OK;
        }
        if (len > end - off) return STRM_OK; /* the chain runs past what we have */
        nh = p[off];
        off += len;
    }
    /* more extension headers than any real packet has: leave the protocol at the last one */
    return STRM_OK;
}

static int decode_ip(const uint8_t *p, size_t caplen, struct pkt_info *out)
{
    if (caplen < 1) return STRM_ERR_PARSE;
    switch (p[0] >> 4) {
    case 4:
        return decode_ipv4(p, caplen, out);
    case 6:
        return decode_ipv6(p, caplen, out);
    default:
        return STRM_ERR_PARSE;
    }
}

int pkt_decode_ip(const uint8_t *p, size_t caplen, struct pkt_info *out)
{
    memset(out, 0, sizeof(*out));
    if (!p) return STRM_ERR_PARSE;
    return decode_ip(p, caplen, out);
}

int pkt_decode_eth(const uint8_t *p, size_t caplen, struct pkt_info *out)
{
    memset(out, 0, sizeof(*out));
    if (!p || caplen < 14) return STRM_ERR_PARSE;
    memcpy(out->dmac, p, 6);
    memcpy(out->smac, p + 6, 6);
    uint16_t type = rd16(p + 12);
    size_t off = 14;
    bool tagged = false;
    for (int i = 0; i < PKT_MAX_TAGS; i++) {
        if (type != ETH_VLAN && type != ETH_QINQ && type != ETH_QINQ_OLD1 && type != ETH_QINQ_OLD2)
            break;
        if (caplen - off < 4) {
            out->ethertype = type;
            return STRM_ERR_PARSE;
        }
        if (!tagged) out->vlan = rd16(p + off) & 0x0fff;
        tagged = true;
        type = rd16(p + off + 2);
        off += 4;
    }
    if (type <= 1500) {
        /* 802.3 length field: only LLC/SNAP with a zero OUI carries an ethertype */
        if (caplen - off < 8) {
            out->ethertype = type;
            return STRM_ERR_PARSE;
        }
        const uint8_t *s = p + off;
        if (s[0] != 0xaa || s[1] != 0xaa || s[2] != 0x03 || s[3] || s[4] || s[5]) {
            out->ethertype = type;
            return STRM_ERR_PARSE;
        }
        type = rd16(s + 6);
        off += 8;
    }
    out->ethertype = type;
    int want = 0; /* IP version the L2 header announced; 0: the payload tells */
    switch (type) {
    case ETH_IPV4:
        want = 4;
        break;
    case ETH_IPV6:
        want = 6;
        break;
    case ETH_MPLS_UC:
    case ETH_MPLS_MC: {
        /* skip the label stack up to its bottom; the payload says its IP version itself */
        bool bottom = false;
        for (int i = 0; i < PKT_MAX_TAGS && !bottom; i++) {
            if (caplen - off < 4) return STRM_ERR_PARSE;
            bottom = (p[off + 2] & 0x01) != 0;
            off += 4;
        }
        if (!bottom) return STRM_ERR_PARSE;
        break;
    }
    case ETH_PPPOE_SESS: {
        /* 6-byte PPPoE header, then the 2-byte PPP protocol */
        if (caplen - off < 8) return STRM_ERR_PARSE;
        uint16_t ppp = rd16(p + off + 6);
        if (ppp == 0x0021)
            want = 4;
        else if (ppp == 0x0057)
            want = 6;
        else
            return STRM_ERR_PARSE;
        off += 8;
        break;
    }
    default:
        return STRM_ERR_PARSE; /* ARP, LLDP, ...: not IP */
    }
    const uint8_t *ip = p + off;
    size_t iplen = caplen - off;
    if (iplen < 1 || (want && (ip[0] >> 4) != want)) return STRM_ERR_PARSE;
    int rc = decode_ip(ip, iplen, out);
    /* ethertype names what followed the VLAN tags: MPLS and PPPoE stay visible */
    out->ethertype = type;
    return rc;
}
