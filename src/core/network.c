/*
 * network.c - the network hierarchy: which addresses are local, in which named network, and
 * the direction of a flow (L2L, L2R, R2L, R2R) from its two ends.
 *
 * The hierarchy is the list cfg->networks of (name, CIDR) pairs; IPv4 networks are held in
 * their IPv4-mapped IPv6 form, so "10.1.0.0/16" is ::ffff:10.1.0.0/112 and one comparison
 * serves both families. An address belongs to the longest prefix that holds it (a /24 inside
 * a /16 wins, as in STRM).
 *
 * Lookups run on the flow store thread twice per record, at more than a million records a
 * second, so the list is compiled once (strm_networks_compile, at configuration load):
 * sorted by network address and then by prefix length, each entry linked to its parent, the
 * smallest network that holds it. CIDR blocks are either nested or disjoint, which makes the
 * lookup a binary search plus a short walk up the parents: the last network starting at or
 * before the address either holds it, or every network that holds it is an ancestor of that
 * one (its start lies between theirs and the address). The walk is at most 128 steps and in
 * practice one or two. A configuration whose list was changed after compiling
 * (n_networks_compiled != n_networks) falls back to a linear scan, still correct.
 */
#include "core/core.h"

#include <stdlib.h>
#include <string.h>

/* The 128-bit form as two host-order words, most significant first (no memcmp calls: this
 * runs twice per flow record). */
static inline void ip_words(const struct strm_ip *ip, uint64_t w[2])
{
    uint64_t a, b;
    memcpy(&a, ip->b, 8);
    memcpy(&b, ip->b + 8, 8);
    w[0] = __builtin_bswap64(a);
    w[1] = __builtin_bswap64(b);
}

/* True when address words a lie inside net words n / prefix (over the 128-bit form). */
static inline bool in_net_w(const uint64_t a[2], const uint64_t n[2], unsigned prefix)
{
    uint64_t mhi = prefix >= 64 ? ~0ull : prefix ? ~0ull << (64 - prefix) : 0;
    uint64_t mlo = prefix <= 64 ? 0 : prefix >= 128 ? ~0ull : ~0ull << (128 - prefix);
    return ((a[0] ^ n[0]) & mhi) == 0 && ((a[1] ^ n[1]) & mlo) == 0;
}

/* True when ip lies inside net/prefix (prefix over the 128-bit form). */
static bool in_net(const struct strm_ip *ip, const struct strm_ip *net, unsigned prefix)
{
    uint64_t a[2], n[2];
    ip_words(ip, a);
    ip_words(net, n);
    return in_net_w(a, n, prefix);
}

static int net_cmp(const void *a, const void *b)
{
    const struct strm_network *x = a, *y = b;
    int c = memcmp(x->addr.b, y->addr.b, 16);
    if (c) return c;
    return (int)x->prefix - (int)y->prefix;
}

int strm_networks_compile(struct strm_config *cfg, char *err, size_t errlen)
{
    int n = cfg->n_networks;
    if (n < 0 || n > STRM_MAX_NETWORKS) {
        snprintf(err, errlen, "%d networks: at most %d", n, STRM_MAX_NETWORKS);
        cfg->n_networks_compiled = -1;
        return STRM_ERR_INVAL;
    }
    qsort(cfg->networks, (size_t)n, sizeof(cfg->networks[0]), net_cmp);
    int16_t stack[130];
    int depth = 0;
    for (int i = 0; i < n; i++) {
        const struct strm_network *cur = &cfg->networks[i];
        if (i > 0 && net_cmp(&cfg->networks[i - 1], cur) == 0) {
            char a[64];
            strm_ip_format(&cur->addr, a, sizeof(a));
            snprintf(err, errlen, "network %s/%u is listed twice (as '%s' and '%s')", a,
                     strm_ip_is_v4(&cur->addr) && cur->prefix >= 96 ? cur->prefix - 96u
                                                                    : cur->prefix,
                     cfg->networks[i - 1].name, cur->name);
            cfg->n_networks_compiled = -1;
            return STRM_ERR_INVAL;
        }
        /* Entries before cur that do not hold it cannot hold anything after it either. */
        while (depth > 0) {
            const struct strm_network *top = &cfg->networks[stack[depth - 1]];
            if (top->prefix <= cur->prefix && in_net(&cur->addr, &top->addr, top->prefix)) break;
            depth--;
        }
        cfg->network_parent[i] = depth > 0 ? stack[depth - 1] : -1;
        ip_words(&cur->addr, cfg->network_w[i]);
        /* Nesting is at most 129 deep (prefixes 0..128 strictly growing). */
        if (depth < (int)(sizeof(stack) / sizeof(stack[0]))) stack[depth++] = (int16_t)i;
    }
    /* the /16 states: networks inside a /16 make it SOME, then those holding whole /16s
     * (IPv4 ones of prefix /16 or less, or any holding all of ::ffff:0:0/96) make them ALL */
    memset(cfg->network_v4_16, 0, sizeof cfg->network_v4_16);
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < n; i++) {
            const struct strm_network *nw = &cfg->networks[i];
            uint32_t first, count;
            if (nw->prefix < 96) {
                struct strm_ip v4; /* ::ffff:0.0.0.0, the first of the IPv4 space */
                strm_ip_from_v4(&v4, 0);
                if (pass == 0 || !in_net(&v4, &nw->addr, nw->prefix)) continue;
                first = 0;
                count = 65536;
            } else if (strm_ip_is_v4(&nw->addr)) {
                first = (uint32_t)nw->addr.b[12] << 8 | nw->addr.b[13];
                bool whole = nw->prefix <= 112;
                if (whole != (pass == 1)) continue;
                count = whole ? 1u << (112 - nw->prefix) : 1;
            } else {
                continue;
            }
            for (uint32_t k = first; k < first + count && k < 65536; k++) {
                unsigned sh = (k & 3) * 2;
                cfg->network_v4_16[k >> 2] =
                    (uint8_t)((cfg->network_v4_16[k >> 2] & ~(3u << sh)) |
                              (pass ? STRM_NET16_ALL : STRM_NET16_SOME) << sh);
            }
        }
    cfg->n_networks_compiled = n;
    return 0;
}

const struct strm_network *strm_network_find(const struct strm_config *cfg,
                                             const struct strm_ip *ip)
{
    int n = cfg->n_networks;
    if (n <= 0 || strm_ip_is_null(ip)) return NULL;
    const struct strm_network *nets = cfg->networks;
    if (cfg->n_networks_compiled != n) {
        const struct strm_network *best = NULL;
        for (int i = 0; i < n; i++)
            if (in_net(ip, &nets[i].addr, nets[i].prefix) &&
                (!best || nets[i].prefix > best->prefix))
                best = &nets[i];
        return best;
    }
    /* The last entry whose address is <= ip (ties: the longest prefix, sorted last). */
    uint64_t a[2];
    ip_words(ip, a);
    const uint64_t(*w)[2] = cfg->network_w;
    int lo = 0, hi = n;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (w[mid][0] < a[0] || (w[mid][0] == a[0] && w[mid][1] <= a[1]))
            lo = mid + 1;
        else
            hi = mid;
    }
    int i = lo - 1;
    while (i >= 0) {
        if (in_net_w(a, w[i], nets[i].prefix)) return &nets[i];
        i = cfg->network_parent[i];
    }
    return NULL;
}

/* Whether ip is in a local network: an IPv4 address by its /16 (STRM_NET16_*) unless that
 * is only partly local; no branch on the answer (half the flows of a mix go each way). */
static inline unsigned is_local(const struct strm_config *cfg, const struct strm_ip *ip)
{
    uint64_t a;
    uint32_t b;
    memcpy(&a, ip->b, 8);
    memcpy(&b, ip->b + 8, 4);
    if (a == 0 && b == 0xffff0000u && cfg->n_networks_compiled == cfg->n_networks) {
        unsigned k = (unsigned)ip->b[12] << 8 | ip->b[13];
        unsigned st = cfg->network_v4_16[k >> 2] >> (k & 3) * 2 & 3;
        if (st != STRM_NET16_SOME) return st;
    }
    return strm_network_find(cfg, ip) != NULL;
}

enum strm_flow_dir strm_flow_direction(const struct strm_config *cfg, const struct strm_ip *src,
                                       const struct strm_ip *dst)
{
    static const uint8_t dir[4] = {STRM_FLOWDIR_R2R, STRM_FLOWDIR_R2L, STRM_FLOWDIR_L2R,
                                   STRM_FLOWDIR_L2L};
    if (cfg->n_networks <= 0) return STRM_FLOWDIR_R2R;
    return (enum strm_flow_dir)dir[is_local(cfg, src) << 1 | is_local(cfg, dst)];
}

int strm_cidr_parse(const char *s, size_t len, struct strm_ip *addr, uint8_t *prefix,
                    bool *host_bits)
{
    const char *slash = memchr(s, '/', len);
    size_t alen = slash ? (size_t)(slash - s) : len;
    if (alen == 0 || strm_ip_parse(addr, s, alen) != 0) return STRM_ERR_PARSE;
    bool v4 = strm_ip_is_v4(addr) && memchr(s, ':', alen) == NULL;
    unsigned max = v4 ? 32 : 128, p = max;
    if (slash) {
        const char *q = slash + 1, *end = s + len;
        if (q == end || end - q > 3) return STRM_ERR_PARSE;
        p = 0;
        for (; q < end; q++) {
            if (*q < '0' || *q > '9') return STRM_ERR_PARSE;
            p = p * 10 + (unsigned)(*q - '0');
        }
        if (p > max) return STRM_ERR_PARSE;
    }
    if (v4) p += 96;
    *prefix = (uint8_t)p;
    struct strm_ip net;
    memset(&net, 0, sizeof(net));
    memcpy(net.b, addr->b, p / 8);
    if (p % 8) net.b[p / 8] = (uint8_t)(addr->b[p / 8] & (0xffu << (8 - p % 8)));
    if (host_bits) *host_bits = memcmp(net.b, addr->b, 16) != 0;
    *addr = net;
    return 0;
}

bool strm_ip_in_net(const struct strm_ip *ip, const struct strm_ip *net, uint8_t prefix)
{
    return in_net(ip, net, prefix > 128 ? 128 : prefix);
}
