/*
 * sflow.c - the sFlow v5 decoder (sflow.org, sflow_version_5.txt): datagrams from agents
 * become flow records (one per flow sample) and interface counters (from counter samples).
 *
 * Wire format: XDR, big-endian, every item a multiple of 4 bytes. A datagram is a header
 * (version 5, agent address, sub-agent id, sequence number, uptime, sample count) and a list
 * of samples; each sample and each record inside one is (data format, length, opaque bytes),
 * the format being a 20-bit enterprise and a 12-bit number, so anything unknown can be
 * skipped by its length. Used here, enterprise 0 only:
 *   samples  1 flow sample, 3 expanded flow sample, 2 counter sample, 4 expanded counter
 *            sample; 5 (discarded packet) and the rest are skipped and counted.
 *   flow records  1 raw packet header (Ethernet, IPv4, IPv6, decoded by packet.c), 2 Ethernet
 *            frame data, 3 sampled IPv4, 4 sampled IPv6, 1001 extended switch (VLAN).
 *   counter records  1 generic interface counters.
 * Records not used are skipped and counted in unknown_fields.
 *
 * A flow sample becomes one record: bytes = frame length x sampling rate, packets =
 * sampling rate. The packet is described by the raw header when there is one, else by the
 * sampled IPv4/IPv6 (or Ethernet) record; a sample with none of these emits nothing.
 *
 * Trust: every length is checked against the bytes that are really there. A sample or
 * record that claims more than its container holds ends the decoding of the datagram: it is
 * counted malformed, records already emitted stay. A datagram whose header cannot be read
 * is counted against (sender, 0), as its agent is unknown.
 *
 * State: per (agent, sub-agent id) statistics with the last datagram sequence number, and
 * per (agent, ifIndex) interface counters; both tables are capped (a sender cannot grow them
 * without bound) and guarded by one mutex, taken a few times per datagram - never per flow
 * record - so the *_each functions can be called from any thread.
 */
#include "flow/flow.h"

#include <stdlib.h>
#include <string.h>

#define SF_MAX_AGENTS 65536
#define SF_MAX_IFACES 65536

/* ---------------------------------------------------------------- keyed tables */

/* Both tables are keyed by an address and a 32-bit number (sub-agent id or ifIndex). */
struct sf_key {
    struct strm_ip ip;
    uint32_t id;
};

struct sf_agent {
    struct sf_key key;
    struct flow_exporter_stats st;
    uint32_t last_seq;
    bool have_seq;
};

struct sf_iface {
    struct sf_key key;
    struct flow_iface_stats st;
};

/*
 * Open addressing over an array of entries (whose first member is their struct sf_key):
 * slots hold entry index + 1, 0 = empty. Entries are never removed.
 */
struct sf_table {
    void *ents;
    size_t stride, n, cap, max;
    uint32_t *slots;
    size_t nslots; /* power of two, at least twice n */
};

static uint64_t key_hash(const struct sf_key *k)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (int i = 0; i < 16; i++)
        h = (h ^ k->ip.b[i]) * 0x100000001b3ull;
    for (int i = 0; i < 4; i++)
        h = (h ^ ((k->id >> (8 * i)) & 0xff)) * 0x100000001b3ull;
    return h ^ (h >> 29);
}

static bool key_eq(const struct sf_key *a, const struct sf_key *b)
{
    return a->id == b->id && memcmp(a->ip.b, b->ip.b, 16) == 0;
}

static void *table_at(struct sf_table *t, size_t i)
{
    return (char *)t->ents + i * t->stride;
}

static void table_free(struct sf_table *t)
{
    free(t->ents);
    free(t->slots);
    memset(t, 0, sizeof(*t));
}

static int table_rehash(struct sf_table *t, size_t nslots)
{
    uint32_t *slots = calloc(nslots, sizeof(*slots));
    if (!slots) return STRM_ERR_NOMEM;
    for (size_t i = 0; i < t->n; i++) {
        size_t s = (size_t)key_hash(table_at(t, i)) & (nslots - 1);
        while (slots[s])
            s = (s + 1) & (nslots - 1);
        slots[s] = (uint32_t)(i + 1);
    }
    free(t->slots);
    t->slots = slots;
    t->nslots = nslots;
    return STRM_OK;
}

/* The entry for k, created zeroed (key set) if missing; NULL when full or out of memory. */
static void *table_get(struct sf_table *t, const struct sf_key *k, bool *created)
{
    *created = false;
    if (t->nslots) {
        size_t s = (size_t)key_hash(k) & (t->nslots - 1);
        while (t->slots[s]) {
            void *e = table_at(t, t->slots[s] - 1);
            if (key_eq(e, k)) return e;
            s = (s + 1) & (t->nslots - 1);
        }
    }
    if (t->n >= t->max) return NULL;
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        void *ents = realloc(t->ents, cap * t->stride);
        if (!ents) return NULL;
        t->ents = ents;
        t->cap = cap;
    }
    if ((t->n + 1) * 2 > t->nslots && table_rehash(t, t->nslots ? t->nslots * 2 : 32) != STRM_OK)
        return NULL;
    void *e = table_at(t, t->n);
    memset(e, 0, t->stride);
    memcpy(e, k, sizeof(*k));
    size_t s = (size_t)key_hash(k) & (t->nslots - 1);
    while (t->slots[s])
        s = (s + 1) & (t->nslots - 1);
    t->slots[s] = (uint32_t)(t->n + 1);
    t->n++;
    *created = true;
    return e;
}

/* ---------------------------------------------------------------- state */

struct sflow_state {
    pthread_mutex_t mu;
    struct sf_table agents;  /* struct sf_agent */
    struct sf_table ifaces;  /* struct sf_iface */
    uint64_t untracked;      /* datagrams of agents beyond SF_MAX_AGENTS (no stats kept) */
    uint64_t ifaces_dropped; /* counter records of interfaces beyond SF_MAX_IFACES */
    uint64_t sink_drops;     /* records the sink had no slot for */
};

struct sflow_state *sflow_state_new(void)
{
    struct sflow_state *st = calloc(1, sizeof(*st));
    if (!st) return NULL;
    if (pthread_mutex_init(&st->mu, NULL) != 0) {
        free(st);
        return NULL;
    }
    st->agents.stride = sizeof(struct sf_agent);
    st->agents.max = SF_MAX_AGENTS;
    st->ifaces.stride = sizeof(struct sf_iface);
    st->ifaces.max = SF_MAX_IFACES;
    return st;
}

void sflow_state_free(struct sflow_state *st)
{
    if (!st) return;
    table_free(&st->agents);
    table_free(&st->ifaces);
    pthread_mutex_destroy(&st->mu);
    free(st);
}

void sflow_stats_each(struct sflow_state *st,
                      void (*fn)(const struct flow_exporter_stats *, void *), void *arg)
{
    pthread_mutex_lock(&st->mu);
    for (size_t i = 0; i < st->agents.n; i++) {
        const struct sf_agent *a = table_at(&st->agents, i);
        struct flow_exporter_stats copy = a->st;
        fn(&copy, arg);
    }
    pthread_mutex_unlock(&st->mu);
}

void sflow_ifaces_each(struct sflow_state *st, void (*fn)(const struct flow_iface_stats *, void *),
                       void *arg)
{
    pthread_mutex_lock(&st->mu);
    for (size_t i = 0; i < st->ifaces.n; i++) {
        const struct sf_iface *f = table_at(&st->ifaces, i);
        struct flow_iface_stats copy = f->st;
        fn(&copy, arg);
    }
    pthread_mutex_unlock(&st->mu);
}

/* ---------------------------------------------------------------- XDR reading */

struct xdr {
    const uint8_t *p;
    size_t len, off;
};

static bool xdr_has(const struct xdr *x, size_t n)
{
    return x->len - x->off >= n;
}

static uint32_t xdr_u32(struct xdr *x) /* caller checked xdr_has(x, 4) */
{
    const uint8_t *p = x->p + x->off;
    x->off += 4;
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static uint64_t xdr_u64(struct xdr *x)
{
    uint64_t hi = xdr_u32(x);
    return (hi << 32) | xdr_u32(x);
}

/*
 * Takes an opaque of n bytes (plus XDR padding to 4, when present) into *sub. False when
 * the n bytes are not all there.
 */
static bool xdr_opaque(struct xdr *x, size_t n, struct xdr *sub)
{
    if (!xdr_has(x, n)) return false;
    sub->p = x->p + x->off;
    sub->len = n;
    sub->off = 0;
    size_t padded = (n + 3) & ~(size_t)3;
    x->off += padded <= x->len - x->off ? padded : n;
    return true;
}

/* ---------------------------------------------------------------- per-datagram work */

/* Counts of one datagram, added to the agent's stats under the lock at the end. */
struct sf_dgram {
    struct sflow_state *st;
    struct strm_ip agent;
    const struct strm_ip *sender;
    int64_t now_ms;
    struct flow_sink *sink;
    uint64_t records, malformed, unknown;
    uint32_t sampling; /* last sampling rate seen, 0 if none */
};

/* What the records of one flow sample say about the sampled packet. */
struct sf_flow {
    struct pkt_info pi;
    bool have_raw, have_ip, have_eth;
    uint32_t frame_length;
    uint32_t sw_vlan; /* extended switch: incoming VLAN, 0 if none */
};

#define SF_FMT(ent, fmt) (((uint32_t)(ent) << 12) | (fmt))

static void flow_raw_header(struct xdr *r, struct sf_flow *f, struct sf_dgram *d)
{
    if (!xdr_has(r, 16)) {
        d->malformed++;
        return;
    }
    uint32_t proto = xdr_u32(r);
    uint32_t frame_length = xdr_u32(r);
    (void)xdr_u32(r); /* stripped: frame_length already counts the packet as on the wire */
    uint32_t hlen = xdr_u32(r);
    struct xdr h;
    if (!xdr_opaque(r, hlen, &h)) {
        d->malformed++;
        return;
    }
    struct pkt_info pi;
    switch (proto) {
    case 1: /* ISO 8802-3 Ethernet */
        pkt_decode_eth(h.p, h.len, &pi);
        break;
    case 11: /* IPv4 */
    case 12: /* IPv6 */
        pkt_decode_ip(h.p, h.len, &pi);
        break;
    default: /* a link we do not decode: the packet still counts, with its length */
        memset(&pi, 0, sizeof(pi));
        d->unknown++;
        break;
    }
    pi.l4payload = NULL; /* points into the datagram: not kept */
    pi.l4payload_len = 0;
    f->pi = pi;
    f->frame_length = frame_length;
    f->have_raw = true;
}

static void flow_sampled_ip(struct xdr *r, struct sf_flow *f, struct sf_dgram *d, int ver)
{
    size_t alen = ver == 4 ? 4 : 16;
    if (!xdr_has(r, 8 + 2 * alen + 16)) {
        d->malformed++;
        return;
    }
    if (f->have_raw) return; /* the raw header says more */
    uint32_t length = xdr_u32(r);
    uint32_t proto = xdr_u32(r);
    struct pkt_info *pi = &f->pi;
    if (ver == 4) {
        strm_ip_from_v4(&pi->src, xdr_u32(r));
        strm_ip_from_v4(&pi->dst, xdr_u32(r));
    } else {
        memcpy(pi->src.b, r->p + r->off, 16);
        memcpy(pi->dst.b, r->p + r->off + 16, 16);
        r->off += 32;
    }
    pi->sport = (uint16_t)xdr_u32(r);
    pi->dport = (uint16_t)xdr_u32(r);
    pi->tcpflags = (uint8_t)xdr_u32(r);
    uint32_t tos = xdr_u32(r); /* IPv4 TOS / IPv6 priority (traffic class) */
    pi->dscp = (uint8_t)((tos >> 2) & 0x3f);
    pi->proto = (uint8_t)proto;
    pi->ipver = (uint8_t)ver;
    pi->iplen = length;
    if (!f->have_eth) f->frame_length = length;
    f->have_ip = true;
}

static void flow_ethernet(struct xdr *r, struct sf_flow *f, struct sf_dgram *d)
{
    if (!xdr_has(r, 24)) {
        d->malformed++;
        return;
    }
    if (f->have_raw) return;
    uint32_t length = xdr_u32(r);
    memcpy(f->pi.smac, r->p + r->off, 6);
    memcpy(f->pi.dmac, r->p + r->off + 8, 6);
    f->frame_length = length;
    f->have_eth = true;
}

/* Ifindex from a compact interface field: format 0 only; 0x3fffffff is "internal". */
static uint32_t compact_ifindex(uint32_t v)
{
    if ((v >> 30) != 0) return 0;
    v &= 0x3fffffff;
    return v == 0x3fffffff ? 0 : v;
}

static void emit_flow(struct sf_dgram *d, const struct sf_flow *f, uint32_t rate, uint32_t ifindex)
{
    struct strm_arena *arena = NULL;
    struct strm_event *ev = d->sink->add(d->sink, &arena);
    if (!ev) {
        d->st->sink_drops++; /* single owner of the state: no lock needed for this count */
        return;
    }
    const struct pkt_info *pi = &f->pi;
    ev->flags |= STRM_EV_FLOW;
    ev->starttime = d->now_ms;
    ev->collectorip = *d->sender;
    ev->sourceip = pi->src;
    ev->destinationip = pi->dst;
    ev->sourceport = pi->sport;
    ev->destinationport = pi->dport;
    ev->protocolid = pi->proto;
    memcpy(ev->sourcemac, pi->smac, 6);
    memcpy(ev->destinationmac, pi->dmac, 6);
    ev->flow.firstpackettime = d->now_ms;
    ev->flow.lastpackettime = d->now_ms;
    ev->flow.sourcebytes = (uint64_t)f->frame_length * rate;
    ev->flow.sourcepackets = rate;
    ev->flow.flowinterface = ifindex;
    ev->flow.vlan = (uint16_t)(f->sw_vlan ? f->sw_vlan : pi->vlan);
    ev->flow.sourceflags = pi->tcpflags;
    ev->flow.flowtype = STRM_FLOWTYPE_SFLOW;
    ev->flow.icmptype = pi->icmptype;
    ev->flow.icmpcode = pi->icmpcode;
    ev->flow.sourcedscp = pi->dscp;
    ev->flow.flowsource = d->agent;
    d->records++;
}

/* A flow sample (expanded or not); false when it lied about its contents. */
static bool flow_sample(struct xdr *s, bool expanded, struct sf_dgram *d)
{
    if (!xdr_has(s, expanded ? 44 : 32)) return false;
    (void)xdr_u32(s); /* sample sequence number */
    uint32_t src_type, src_index;
    if (expanded) {
        src_type = xdr_u32(s);
        src_index = xdr_u32(s);
    } else {
        uint32_t v = xdr_u32(s);
        src_type = v >> 24;
        src_index = v & 0xffffff;
    }
    uint32_t rate = xdr_u32(s);
    (void)xdr_u32(s); /* sample pool */
    (void)xdr_u32(s); /* drops */
    uint32_t input;
    if (expanded) {
        uint32_t fmt = xdr_u32(s);
        uint32_t val = xdr_u32(s);
        input = fmt == 0 && val != 0x3fffffff ? val : 0;
        s->off += 8; /* output format and value */
    } else {
        input = compact_ifindex(xdr_u32(s));
        s->off += 4; /* output */
    }
    /* no input interface given: the data source is the interface it was sampled on */
    if (input == 0 && src_type == 0) input = src_index;
    if (rate == 0) {
        d->malformed++; /* an agent bug; the packet still happened once */
        rate = 1;
    }
    d->sampling = rate;
    uint32_t nrec = xdr_u32(s);
    struct sf_flow f;
    memset(&f, 0, sizeof(f));
    for (uint32_t i = 0; i < nrec; i++) {
        if (!xdr_has(s, 8)) return false;
        uint32_t fmt = xdr_u32(s);
        uint32_t len = xdr_u32(s);
        struct xdr r;
        if (!xdr_opaque(s, len, &r)) return false;
        switch (fmt) {
        case SF_FMT(0, 1):
            flow_raw_header(&r, &f, d);
            break;
        case SF_FMT(0, 2):
            flow_ethernet(&r, &f, d);
            break;
        case SF_FMT(0, 3):
            flow_sampled_ip(&r, &f, d, 4);
            break;
        case SF_FMT(0, 4):
            flow_sampled_ip(&r, &f, d, 6);
            break;
        case SF_FMT(0, 1001): /* extended switch */
            if (r.len >= 4) {
                f.sw_vlan = xdr_u32(&r) & 0x0fff;
            } else {
                d->malformed++;
            }
            break;
        default:
            d->unknown++;
            break;
        }
    }
    if (f.have_raw || f.have_ip || f.have_eth) emit_flow(d, &f, rate, input);
    return true;
}

static void counter_generic_if(struct xdr *r, struct sf_dgram *d)
{
    if (!xdr_has(r, 88)) {
        d->malformed++;
        return;
    }
    struct flow_iface_stats v;
    memset(&v, 0, sizeof(v));
    v.agent = d->agent;
    v.ifindex = xdr_u32(r);
    (void)xdr_u32(r); /* ifType */
    v.speed = xdr_u64(r);
    v.direction = xdr_u32(r);
    v.status = xdr_u32(r);
    v.in_octets = xdr_u64(r);
    v.in_ucast = xdr_u32(r);
    v.in_mcast = xdr_u32(r);
    v.in_bcast = xdr_u32(r);
    v.in_discards = xdr_u32(r);
    v.in_errors = xdr_u32(r);
    v.in_unknown = xdr_u32(r);
    v.out_octets = xdr_u64(r);
    v.out_ucast = xdr_u32(r);
    v.out_mcast = xdr_u32(r);
    v.out_bcast = xdr_u32(r);
    v.out_discards = xdr_u32(r);
    v.out_errors = xdr_u32(r);
    v.updated_ms = d->now_ms;
    struct sf_key k;
    memset(&k, 0, sizeof(k));
    k.ip = d->agent;
    k.id = v.ifindex;
    struct sflow_state *st = d->st;
    pthread_mutex_lock(&st->mu);
    bool created;
    struct sf_iface *e = table_get(&st->ifaces, &k, &created);
    if (e)
        e->st = v;
    else
        st->ifaces_dropped++;
    pthread_mutex_unlock(&st->mu);
}

static bool counter_sample(struct xdr *s, bool expanded, struct sf_dgram *d)
{
    if (!xdr_has(s, expanded ? 16 : 12)) return false;
    s->off += expanded ? 12 : 8; /* sequence number, source id */
    uint32_t nrec = xdr_u32(s);
    for (uint32_t i = 0; i < nrec; i++) {
        if (!xdr_has(s, 8)) return false;
        uint32_t fmt = xdr_u32(s);
        uint32_t len = xdr_u32(s);
        struct xdr r;
        if (!xdr_opaque(s, len, &r)) return false;
        if (fmt == SF_FMT(0, 1))
            counter_generic_if(&r, d);
        else
            d->unknown++;
    }
    return true;
}

/* Adds a datagram's counts to (agent, domain); seq is checked when have_seq. */
static void account(struct sflow_state *st, const struct strm_ip *agent, uint32_t domain,
                    bool have_seq, uint32_t seq, const struct sf_dgram *d)
{
    struct sf_key k;
    memset(&k, 0, sizeof(k));
    k.ip = *agent;
    k.id = domain;
    pthread_mutex_lock(&st->mu);
    bool created;
    struct sf_agent *a = table_get(&st->agents, &k, &created);
    if (!a) {
        st->untracked++;
        pthread_mutex_unlock(&st->mu);
        return;
    }
    if (created) {
        a->st.exporter = *agent;
        a->st.domain = domain;
        a->st.version = 5;
        a->st.flowtype = STRM_FLOWTYPE_SFLOW;
        a->st.sampling_interval = 1;
    }
    a->st.packets++;
    a->st.records += d->records;
    a->st.malformed += d->malformed;
    a->st.unknown_fields += d->unknown;
    if (d->sampling) a->st.sampling_interval = d->sampling;
    if (have_seq) {
        /*
         * Serial arithmetic: a forward jump counts the datagrams missed; a backwards one
         * (or a repeat) is an agent restart and starts counting afresh.
         */
        uint32_t gap = seq - (a->last_seq + 1);
        if (a->have_seq && gap != 0 && gap < 0x80000000u) a->st.sequence_lost += gap;
        a->last_seq = seq;
        a->have_seq = true;
    }
    pthread_mutex_unlock(&st->mu);
}

int sflow_decode(struct sflow_state *st, const uint8_t *msg, size_t len,
                 const struct strm_ip *sender, int64_t now_ms, struct flow_sink *sink)
{
    struct sf_dgram d;
    memset(&d, 0, sizeof(d));
    d.st = st;
    d.sender = sender;
    d.now_ms = now_ms;
    d.sink = sink;
    struct xdr x = {msg, msg ? len : 0, 0};

    /* header: version, agent address (type 1 IPv4, 2 IPv6, 0 unknown), then 4 words */
    if (!xdr_has(&x, 8) || xdr_u32(&x) != 5) goto bad_header;
    uint32_t atype = xdr_u32(&x);
    if (atype == 1) {
        if (!xdr_has(&x, 4)) goto bad_header;
        strm_ip_from_v4(&d.agent, xdr_u32(&x));
    } else if (atype == 2) {
        if (!xdr_has(&x, 16)) goto bad_header;
        memcpy(d.agent.b, x.p + x.off, 16);
        x.off += 16;
    } else if (atype == 0) {
        d.agent = *sender;
    } else {
        goto bad_header;
    }
    if (!xdr_has(&x, 16)) goto bad_header;
    uint32_t sub_agent = xdr_u32(&x);
    uint32_t seq = xdr_u32(&x);
    (void)xdr_u32(&x); /* uptime */
    uint32_t nsamples = xdr_u32(&x);

    bool bad = false;
    for (uint32_t i = 0; i < nsamples && !bad; i++) {
        if (!xdr_has(&x, 8)) {
            bad = true; /* fewer samples than announced */
            break;
        }
        uint32_t fmt = xdr_u32(&x);
        uint32_t slen = xdr_u32(&x);
        struct xdr s;
        if (!xdr_opaque(&x, slen, &s)) {
            bad = true;
            break;
        }
        switch (fmt) {
        case SF_FMT(0, 1):
            bad = !flow_sample(&s, false, &d);
            break;
        case SF_FMT(0, 3):
            bad = !flow_sample(&s, true, &d);
            break;
        case SF_FMT(0, 2):
            bad = !counter_sample(&s, false, &d);
            break;
        case SF_FMT(0, 4):
            bad = !counter_sample(&s, true, &d);
            break;
        default: /* 5 discarded packet, other enterprises: skipped by length */
            d.unknown++;
            break;
        }
    }
    if (bad) d.malformed++;
    account(st, &d.agent, sub_agent, true, seq, &d);
    if (bad && d.records == 0) return STRM_ERR_PARSE;
    return (int)(d.records > 0x7fffffff ? 0x7fffffff : d.records);

bad_header:
    d.malformed = 1;
    account(st, sender, 0, false, 0, &d);
    return STRM_ERR_PARSE;
}
