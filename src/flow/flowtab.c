/*
 * flowtab.c - the flow table of the packet collector (QFlow): packets in, bidirectional flow
 * records out.
 *
 * Packets enter through flowtab_packet (decoded by packet.c into struct pkt_info); records
 * leave through the flow_sink given to each call, when a flow ends or is due for its periodic
 * report. One thread owns a table.
 *
 * Keys. A flow is (protocol, address pair, port pair), stored normalized - the lower
 * (address, port) end first - so both directions of a conversation find the same entry.
 * The sender of the first packet seen is the flow's source; "direction 0" below is the
 * source's direction, "direction 1" the destination's. ICMP has no ports: an echo request and
 * its reply share one flow; the type and code of the first packet are kept. Non-first IP
 * fragments carry no ports and so count towards a flow of their own (ports 0), as NetFlow
 * exporters do.
 *
 * Bytes. A packet counts with its IP length (pi->iplen, the IP header's total length), not
 * its length on the wire: that is what NetFlow/IPFIX exporters count (octetDeltaCount), so
 * packet-built flows and exported flows compare, and the count does not depend on the link
 * type of the capture (Ethernet, VLAN tags, Linux cooked). Only when the header says 0 (TSO
 * on the sending host) the wire length stands in.
 *
 * Lifetimes, all decided on the table's clock (the latest packet time or expiry time seen,
 * so a capture whose packet times step back a little keeps its lists in order):
 *   - inactive timeout (15 s): a flow with no packet for that long ends;
 *   - active timeout (60 s): a flow still going is reported every period with the bytes,
 *     packets and TCP flags since its previous report and the same firstpackettime, so the
 *     sum over a flow's records is exactly the total of its packets (STRM re-reports long
 *     flows every minute);
 *   - TCP RST ends a flow at once (the RST counted in it);
 *   - TCP FIN from both sides: the flow ends with the last ACK - the next packet without FIN
 *     from the side that sent its FIN first, acknowledging the other's FIN (counted in it) -
 *     or FT_FIN_LINGER after the second FIN, whichever is first. Ending at the second FIN
 *     itself would leave that last ACK (and in a simultaneous close, the other side's late
 *     ACK) to open a one-packet flow of its own for nearly every connection. A SYN (without
 *     ACK) arriving on a flow that saw a FIN ends the old flow first: the port pair is being
 *     reused;
 *   - max_flows: a new flow beyond it ends the least recently active one first (reported,
 *     counted as evicted).
 * Expiry is cheap: three intrusive lists keep flows ordered by last activity (LRU), by next
 * active report (appended with clock + period, so ordered), and by end of FIN linger; each
 * expiry pops from their heads only. A busy flow moves to the LRU tail at most once per
 * second of clock (moving touches two other flows' memory: with many flows, a cache miss
 * each), so the LRU order and the inactive timeout are exact to within that second.
 *
 * Application detection (appid.c) looks at the first payload of each direction until the
 * bytes name the application (or gave a detail string); until then the well-known-port
 * guess made when the flow was created stands.
 */
#include "flow/flow.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#define XXH_INLINE_ALL /* inlined hashing: it runs per event */
#include <xxhash.h>

#define FT_DEFAULT_ACTIVE_S 60
#define FT_DEFAULT_INACTIVE_S 15
#define FT_DEFAULT_MAX_FLOWS (1u << 20)
#define FT_FIN_LINGER_US 2000000LL
#define FT_LRU_GRAIN_US 1000000LL /* a busy flow moves to the LRU tail at most this often */
#define FT_MIN_BUCKETS 1024u
#define FT_FREE_KEEP 4096u
#define FT_DETAIL_MAX 256

#define TH_FIN 0x01
#define TH_SYN 0x02
#define TH_RST 0x04
#define TH_ACK 0x10

struct ft_key {
    uint8_t ip[2][16];
    uint16_t port[2];
    uint8_t proto;
    uint8_t pad[3]; /* zero: the key is hashed and compared as bytes */
};

struct ft_dir {
    uint64_t bytes, packets; /* since the previous report */
    uint8_t flags;           /* TCP flags OR-ed since the previous report */
};

struct ft_list {
    struct ft_flow *head, *tail;
};

struct ft_link {
    struct ft_flow *prev, *next;
    bool on;
};

enum { L_LRU, L_ACTIVE, L_CLOSING, L__COUNT };

struct ft_flow {
    struct ft_flow *hnext; /* hash chain */
    struct ft_link link[L__COUNT];
    uint64_t hash;
    struct ft_key key;
    int64_t first_us, last_us; /* packet times: the flow's first, the latest */
    int64_t seen_clock_us;     /* table clock at the latest packet */
    int64_t lru_clock_us;      /* table clock when last moved to the LRU tail (its order) */
    int64_t due_us;            /* next active report (L_ACTIVE order) */
    int64_t linger_us;         /* end of FIN linger (L_CLOSING order) */
    struct ft_dir dir[2];
    uint8_t src_side; /* key side (0/1) of the source */
    uint8_t smac[6], dmac[6];
    uint16_t vlan;
    uint8_t dscp, icmptype, icmpcode;
    uint8_t fin;       /* bit d: a FIN was seen from direction d */
    uint8_t fin_first; /* the direction whose FIN came first */
    uint8_t app_seen;  /* bit d: the first payload of direction d was examined */
    bool app_done;
    uint32_t appid;
    char *detail; /* malloc'ed, or NULL */
};

struct flowtab {
    struct flowtab_options opt;
    int64_t active_us, inactive_us, linger_us;
    struct ft_flow **buckets;
    uint32_t nbuckets; /* power of two */
    uint32_t max_buckets;
    uint64_t seed;
    int64_t clock_us;
    struct ft_list list[L__COUNT];
    struct ft_flow *free_list;
    uint32_t nfree;
    struct flowtab_stats st;
};

/* ---------------------------------------------------------------- lists */

static void list_append(struct flowtab *ft, int l, struct ft_flow *f)
{
    struct ft_list *li = &ft->list[l];
    struct ft_link *k = &f->link[l];
    k->prev = li->tail;
    k->next = NULL;
    k->on = true;
    if (li->tail)
        li->tail->link[l].next = f;
    else
        li->head = f;
    li->tail = f;
}

static void list_remove(struct flowtab *ft, int l, struct ft_flow *f)
{
    struct ft_list *li = &ft->list[l];
    struct ft_link *k = &f->link[l];
    if (!k->on) return;
    if (k->prev)
        k->prev->link[l].next = k->next;
    else
        li->head = k->next;
    if (k->next)
        k->next->link[l].prev = k->prev;
    else
        li->tail = k->prev;
    k->prev = k->next = NULL;
    k->on = false;
}

/* ---------------------------------------------------------------- table */

struct flowtab *flowtab_new(const struct flowtab_options *opt)
{
    struct flowtab *ft = calloc(1, sizeof(*ft));
    if (!ft) return NULL;
    if (opt) ft->opt = *opt;
    if (ft->opt.active_timeout_s <= 0) ft->opt.active_timeout_s = FT_DEFAULT_ACTIVE_S;
    if (ft->opt.inactive_timeout_s <= 0) ft->opt.inactive_timeout_s = FT_DEFAULT_INACTIVE_S;
    if (ft->opt.max_flows == 0) ft->opt.max_flows = FT_DEFAULT_MAX_FLOWS;
    ft->active_us = (int64_t)ft->opt.active_timeout_s * 1000000;
    ft->inactive_us = (int64_t)ft->opt.inactive_timeout_s * 1000000;
    ft->linger_us = FT_FIN_LINGER_US < ft->inactive_us ? FT_FIN_LINGER_US : ft->inactive_us;
    ft->max_buckets = FT_MIN_BUCKETS;
    while (ft->max_buckets < ft->opt.max_flows && ft->max_buckets < (1u << 30))
        ft->max_buckets <<= 1;
    ft->nbuckets = FT_MIN_BUCKETS < ft->max_buckets ? FT_MIN_BUCKETS : ft->max_buckets;
    ft->buckets = calloc(ft->nbuckets, sizeof(*ft->buckets));
    if (!ft->buckets) {
        free(ft);
        return NULL;
    }
    /* A seed per table: a sender cannot aim its flows at one hash chain. */
    if (getrandom(&ft->seed, sizeof(ft->seed), GRND_NONBLOCK) != (ssize_t)sizeof(ft->seed)) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ft->seed = (uint64_t)ts.tv_nsec ^ (uint64_t)(uintptr_t)ft;
    }
    return ft;
}

static void flow_release(struct flowtab *ft, struct ft_flow *f)
{
    free(f->detail);
    f->detail = NULL;
    if (ft->nfree < FT_FREE_KEEP) {
        f->hnext = ft->free_list;
        ft->free_list = f;
        ft->nfree++;
    } else {
        free(f);
    }
}

void flowtab_free(struct flowtab *ft)
{
    if (!ft) return;
    struct ft_flow *f = ft->list[L_LRU].head;
    while (f) {
        struct ft_flow *next = f->link[L_LRU].next;
        free(f->detail);
        free(f);
        f = next;
    }
    while (ft->free_list) {
        struct ft_flow *next = ft->free_list->hnext;
        free(ft->free_list);
        ft->free_list = next;
    }
    free(ft->buckets);
    free(ft);
}

/* Doubles the buckets while flows outnumber them (load factor 1); keeps going on failure. */
static void maybe_grow(struct flowtab *ft)
{
    if (ft->st.active <= ft->nbuckets || ft->nbuckets >= ft->max_buckets) return;
    uint32_t n = ft->nbuckets * 2;
    struct ft_flow **b = calloc(n, sizeof(*b));
    if (!b) return;
    for (uint32_t i = 0; i < ft->nbuckets; i++) {
        struct ft_flow *f = ft->buckets[i];
        while (f) {
            struct ft_flow *next = f->hnext;
            uint32_t j = (uint32_t)(f->hash & (n - 1));
            f->hnext = b[j];
            b[j] = f;
            f = next;
        }
    }
    free(ft->buckets);
    ft->buckets = b;
    ft->nbuckets = n;
}

static void hash_remove(struct flowtab *ft, struct ft_flow *f)
{
    struct ft_flow **pp = &ft->buckets[f->hash & (ft->nbuckets - 1)];
    while (*pp && *pp != f)
        pp = &(*pp)->hnext;
    if (*pp) *pp = f->hnext;
}

/* ---------------------------------------------------------------- records */

/* Hands out one record with what the flow did since its previous report; resets that. */
static void report(struct flowtab *ft, struct ft_flow *f, struct flow_sink *sink)
{
    if (f->dir[0].packets + f->dir[1].packets == 0) return;
    struct strm_arena *arena = NULL;
    struct strm_event *ev = sink ? sink->add(sink, &arena) : NULL;
    if (!ev) {
        ft->st.records_dropped++;
    } else {
        const struct ft_key *k = &f->key;
        int s = f->src_side, d = 1 - f->src_side;
        ev->flags |= STRM_EV_FLOW;
        ev->starttime = ft->clock_us / 1000;
        memcpy(ev->sourceip.b, k->ip[s], 16);
        memcpy(ev->destinationip.b, k->ip[d], 16);
        ev->sourceport = k->port[s];
        ev->destinationport = k->port[d];
        ev->protocolid = k->proto;
        memcpy(ev->sourcemac, f->smac, 6);
        memcpy(ev->destinationmac, f->dmac, 6);
        struct strm_flow_fields *fl = &ev->flow;
        fl->firstpackettime = f->first_us / 1000;
        fl->lastpackettime = f->last_us / 1000;
        fl->sourcebytes = f->dir[0].bytes;
        fl->destinationbytes = f->dir[1].bytes;
        fl->sourcepackets = f->dir[0].packets;
        fl->destinationpackets = f->dir[1].packets;
        fl->sourceflags = f->dir[0].flags;
        fl->destinationflags = f->dir[1].flags;
        fl->applicationid = f->appid;
        fl->flowinterface = ft->opt.ifindex;
        fl->vlan = f->vlan;
        fl->flowtype = STRM_FLOWTYPE_PACKET;
        fl->icmptype = f->icmptype;
        fl->icmpcode = f->icmpcode;
        fl->sourcedscp = f->dscp;
        fl->flowsource = ft->opt.source;
        if (f->detail && arena)
            fl->applicationdetail = strm_arena_strdup(arena, f->detail, strlen(f->detail));
        ft->st.records++;
    }
    memset(f->dir, 0, sizeof(f->dir));
}

/* Reports what is left of a flow and removes it. */
static void flow_end(struct flowtab *ft, struct ft_flow *f, struct flow_sink *sink)
{
    report(ft, f, sink);
    hash_remove(ft, f);
    for (int l = 0; l < L__COUNT; l++)
        list_remove(ft, l, f);
    ft->st.active--;
    ft->st.flows_reported++;
    flow_release(ft, f);
}

/* ---------------------------------------------------------------- packets */

static void key_make(const struct pkt_info *pi, struct ft_key *k, int *sender_side)
{
    memset(k, 0, sizeof(*k));
    int c = memcmp(pi->src.b, pi->dst.b, 16);
    bool swap = c > 0 || (c == 0 && pi->sport > pi->dport);
    int s = swap ? 1 : 0;
    memcpy(k->ip[s], pi->src.b, 16);
    memcpy(k->ip[1 - s], pi->dst.b, 16);
    k->port[s] = pi->sport;
    k->port[1 - s] = pi->dport;
    k->proto = pi->proto;
    *sender_side = s;
}

static struct ft_flow *flow_find(struct flowtab *ft, const struct ft_key *k, uint64_t h)
{
    for (struct ft_flow *f = ft->buckets[h & (ft->nbuckets - 1)]; f; f = f->hnext)
        if (f->hash == h && !memcmp(&f->key, k, sizeof(*k))) return f;
    return NULL;
}

static struct ft_flow *flow_create(struct flowtab *ft, const struct ft_key *k, uint64_t h,
                                   int sender_side, const struct pkt_info *pi, int64_t ts_us,
                                   struct flow_sink *sink)
{
    while (ft->st.active >= ft->opt.max_flows && ft->list[L_LRU].head) {
        ft->st.flows_evicted++;
        flow_end(ft, ft->list[L_LRU].head, sink);
    }
    struct ft_flow *f = ft->free_list;
    if (f) {
        ft->free_list = f->hnext;
        ft->nfree--;
    } else {
        f = malloc(sizeof(*f));
        if (!f) return NULL;
    }
    memset(f, 0, sizeof(*f));
    f->hash = h;
    f->key = *k;
    f->src_side = (uint8_t)sender_side;
    f->first_us = ts_us;
    memcpy(f->smac, pi->smac, 6);
    memcpy(f->dmac, pi->dmac, 6);
    f->vlan = pi->vlan;
    f->dscp = pi->dscp;
    if (pi->proto == 1 || pi->proto == 58) {
        f->icmptype = pi->icmptype;
        f->icmpcode = pi->icmpcode;
    }
    char detail[1];
    f->appid = appid_detect(NULL, 0, pi->proto, pi->sport, pi->dport, detail, sizeof(detail));
    f->due_us = ft->clock_us + ft->active_us;
    f->seen_clock_us = f->lru_clock_us = ft->clock_us;
    uint32_t b = (uint32_t)(h & (ft->nbuckets - 1));
    f->hnext = ft->buckets[b];
    ft->buckets[b] = f;
    list_append(ft, L_LRU, f);
    list_append(ft, L_ACTIVE, f);
    ft->st.active++;
    ft->st.flows_created++;
    maybe_grow(ft);
    return f;
}

static void app_examine(struct ft_flow *f, int d, const struct pkt_info *pi)
{
    f->app_seen |= (uint8_t)(1u << d);
    char detail[FT_DETAIL_MAX];
    uint32_t id = appid_detect(pi->l4payload, pi->l4payload_len, pi->proto, pi->sport, pi->dport,
                               detail, sizeof(detail));
    if (detail[0] || id != f->appid) {
        f->appid = id;
        free(f->detail);
        f->detail = detail[0] ? strdup(detail) : NULL;
        f->app_done = true;
    }
    if (f->app_seen == 3) f->app_done = true;
}

void flowtab_packet(struct flowtab *ft, const struct pkt_info *pi, uint32_t wirelen, int64_t ts_us,
                    struct flow_sink *sink)
{
    if (pi->ipver != 4 && pi->ipver != 6) {
        ft->st.non_ip++;
        return;
    }
    if (ts_us > ft->clock_us) ft->clock_us = ts_us;
    struct ft_key k;
    int sender_side;
    key_make(pi, &k, &sender_side);
    uint64_t h = XXH3_64bits_withSeed(&k, sizeof(k), ft->seed);
    struct ft_flow *f = flow_find(ft, &k, h);
    uint8_t tf = pi->proto == 6 ? pi->tcpflags : 0;

    /* A new connection on a port pair whose previous one was closing. */
    if (f && f->fin && (tf & (TH_SYN | TH_ACK)) == TH_SYN) {
        flow_end(ft, f, sink);
        f = NULL;
    }
    if (!f) {
        f = flow_create(ft, &k, h, sender_side, pi, ts_us, sink);
        if (!f) {
            ft->st.records_dropped++; /* out of memory: this packet's flow is lost */
            return;
        }
    }
    int d = sender_side == f->src_side ? 0 : 1;
    uint64_t bytes = pi->iplen ? pi->iplen : wirelen;
    f->dir[d].bytes += bytes;
    f->dir[d].packets++;
    f->dir[d].flags |= tf;
    if (ts_us > f->last_us) f->last_us = ts_us;
    f->seen_clock_us = ft->clock_us;
    ft->st.packets++;
    ft->st.bytes += bytes;
    if (ft->clock_us - f->lru_clock_us >= FT_LRU_GRAIN_US) {
        list_remove(ft, L_LRU, f);
        list_append(ft, L_LRU, f);
        f->lru_clock_us = ft->clock_us;
    }

    if (!f->app_done && pi->l4payload && pi->l4payload_len && !pi->fragment &&
        !(f->app_seen & (1u << d)))
        app_examine(f, d, pi);

    if (tf & TH_RST) {
        flow_end(ft, f, sink);
        return;
    }
    if (f->fin == 3 && !(tf & TH_FIN) && d == f->fin_first) { /* the last ACK */
        flow_end(ft, f, sink);
        return;
    }
    if (tf & TH_FIN) {
        if (!f->fin) f->fin_first = (uint8_t)d;
        f->fin |= (uint8_t)(1u << d);
        if (f->fin == 3 && !f->link[L_CLOSING].on) {
            f->linger_us = ft->clock_us + ft->linger_us;
            list_append(ft, L_CLOSING, f);
        }
    }
}

/* ---------------------------------------------------------------- expiry */

void flowtab_expire(struct flowtab *ft, int64_t now_us, struct flow_sink *sink)
{
    if (now_us > ft->clock_us) ft->clock_us = now_us;
    int64_t now = ft->clock_us;
    struct ft_flow *f;
    while ((f = ft->list[L_CLOSING].head) && f->linger_us <= now)
        flow_end(ft, f, sink);
    /* The head is the flow moved longest ago; its last packet came less than a grain after
     * that. When that packet keeps it alive, the flows behind wait (less than a grain). */
    while ((f = ft->list[L_LRU].head) && f->seen_clock_us + ft->inactive_us <= now)
        flow_end(ft, f, sink);
    while ((f = ft->list[L_ACTIVE].head) && f->due_us <= now) {
        report(ft, f, sink);
        f->due_us = now + ft->active_us;
        list_remove(ft, L_ACTIVE, f);
        list_append(ft, L_ACTIVE, f);
    }
}

void flowtab_flush(struct flowtab *ft, struct flow_sink *sink)
{
    struct ft_flow *f;
    while ((f = ft->list[L_LRU].head))
        flow_end(ft, f, sink);
    ft->clock_us = 0; /* empty: the next file may start earlier than this one ended */
}

void flowtab_stats_get(struct flowtab *ft, struct flowtab_stats *out)
{
    *out = ft->st;
}
