/*
 * netflow.c - NetFlow v5, NetFlow v9 (RFC 3954) and IPFIX (RFC 7011) decoding.
 *
 * One message (a UDP datagram, or one IPFIX message framed off a TCP stream) enters through
 * nf_decode; flow records leave through the caller's flow_sink, one slot per data record.
 * The version comes from the first two bytes: 5 is the fixed 48-byte record format, 9 and 10
 * carry templates that describe the data records that follow.
 *
 * State lives in a "domain": one (exporter address, v9 source id / IPFIX observation domain /
 * v5 engine type+id, version). A domain holds its counters (struct flow_exporter_stats, handed
 * out by nf_stats_each), the sequence number expected next, the sampling interval and the
 * exporter's system init time learnt from options data, its templates (a small chained hash
 * keyed by template id) and the data sets held because their template had not arrived yet.
 * Domains sit in a chained hash keyed by the whole tuple, with the last one used cached: a
 * stream of messages from one exporter costs one compare per message to find its state.
 *
 * A template is compiled once, when it is first seen or its layout changes, into one opcode
 * per field (struct nf_field): what the field means to us and its wire length. Refreshes with
 * the same bytes only touch the timestamp, so the steady state allocates nothing: decoding a
 * data record is a walk over the opcodes into a stack struct nf_rec, then one sink slot.
 *
 * Invariants:
 * - Every read is bounds-checked against the set it lies in; sets against the message; the
 *   message against len. A set whose length cannot be trusted ends the message (counted);
 *   a bad template record or a cut-short data record ends only its set (counted).
 * - An installed template has a minimum record length >= 1 and <= 65535, so the record loop
 *   always advances and ends.
 * - Held data is bounded in bytes over the whole state (hold_max_bytes, headers included), in
 *   sets per domain (NF_MAX_HELD_SETS) and in time (hold_ms);
 *   everything dropped is counted in the domain it came from.
 * - One mutex, taken once per call, guards the whole state: decoding is single-threaded per
 *   state anyway, and nf_stats_each may come from any thread.
 */
#include "flow/flow.h"

#include <stdlib.h>
#include <string.h>

#define NF_DEF_HOLD_MS 30000
#define NF_DEF_HOLD_MAX ((size_t)4 << 20)
#define NF_DEF_TTL_S 1800
#define NF_MAX_DOMAINS 65536                     /* beyond, messages of new domains are dropped */
#define NF_MAX_TEMPLATES 2048                    /* per domain */
#define NF_MAX_TEMPLATE_BYTES ((size_t)64 << 20) /* compiled templates over all domains */
#define NF_MAX_HELD_SETS 256      /* per domain: bounds the scan when a template arrives */
#define NF_TBUCKETS 32            /* template hash buckets per domain */
#define NF_SEQ_MAX_GAP (1u << 24) /* a forward jump larger than this is a restart, not loss */
#define NF_VARLEN 0xFFFFu
#define NTP_UNIX_OFFSET 2208988800u /* seconds from 1900-01-01 to 1970-01-01 */

/* ---------------------------------------------------------------- wire helpers */

static inline uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

static inline uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Unsigned big-endian integer of 1..8 bytes (IPFIX reduced-size encoding). */
static inline uint64_t rdn(const uint8_t *p, size_t n)
{
    switch (n) {
    case 1:
        return p[0];
    case 2:
        return rd16(p);
    case 4:
        return rd32(p);
    case 8:
        return (uint64_t)rd32(p) << 32 | rd32(p + 4);
    default: {
        uint64_t v = 0;
        for (size_t i = 0; i < n; i++)
            v = v << 8 | p[i];
        return v;
    }
    }
}

/* a - b for 32-bit wrapping counters (uptimes), as a signed distance. */
static inline int64_t sdiff32(uint32_t a, uint32_t b)
{
    uint32_t d = a - b;
    return d < 0x80000000u ? (int64_t)d : (int64_t)d - 0x100000000LL;
}

static inline uint64_t mul_sat(uint64_t a, uint64_t b)
{
    uint64_t r;
    return __builtin_mul_overflow(a, b, &r) ? UINT64_MAX : r;
}

/* NTP timestamp (RFC 5905 era 0, era 1 after 2036) to ms since the epoch. */
static int64_t ntp_to_ms(uint64_t v)
{
    uint32_t sec = (uint32_t)(v >> 32), frac = (uint32_t)v;
    int64_t s = (int64_t)sec - NTP_UNIX_OFFSET;
    if (sec < 0x80000000u) s += 0x100000000LL; /* era 1: 2036-02-07 and later */
    return s * 1000 + (int64_t)(((uint64_t)frac * 1000) >> 32);
}

/* ---------------------------------------------------------------- field opcodes */

enum nf_op {
    OP_SKIP = 0,
    OP_OCTETS,
    OP_PACKETS,
    OP_OCTETS_TOTAL,
    OP_PACKETS_TOTAL,
    OP_OCTETS_POST,
    OP_PACKETS_POST,
    OP_REV_OCTETS,
    OP_REV_PACKETS,
    OP_REV_FLAGS,
    OP_PROTO,
    OP_TOS,
    OP_DSCP,
    OP_TCPFLAGS,
    OP_SPORT,
    OP_DPORT,
    OP_SRC4,
    OP_DST4,
    OP_SRC6,
    OP_DST6,
    OP_INIF,
    OP_SMAC,
    OP_DMAC,
    OP_SMAC_POST,
    OP_DMAC_POST,
    OP_VLAN,
    OP_ICMP_TC,
    OP_ICMP_TYPE,
    OP_ICMP_CODE,
    OP_UP_FIRST,
    OP_UP_LAST,
    OP_SEC_FIRST,
    OP_SEC_LAST,
    OP_MS_FIRST,
    OP_MS_LAST,
    OP_NTP_FIRST,
    OP_NTP_LAST,
    OP_DELTA_FIRST,
    OP_DELTA_LAST,
    OP_DURATION_MS,
    OP_DURATION_US,
    OP_SYSINIT,
    OP_SAMPLING,
    OP_SAMPLE_PKT_INTERVAL,
    OP_SAMPLE_PKT_SPACE,
    OP__COUNT
};

#define PEN_REVERSE 29305u /* RFC 5103 biflow reverse information elements */

/* Elements we know and deliberately leave alone: skipped without counting them unknown. */
static bool ie_known_unused(uint16_t ie)
{
    static const uint16_t ranges[][2] = {
        {3, 3},     {9, 9},     {13, 20},   {25, 26},   {29, 31},   {33, 33},
        {35, 49},   {51, 55},   {59, 64},   {70, 79},   {82, 84},   {88, 91},
        {94, 96},   {98, 103},  {128, 138}, {140, 149}, {163, 175}, {184, 194},
        {196, 233}, {234, 242}, {244, 304}, {307, 311},
    };
    for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++)
        if (ie >= ranges[i][0] && ie <= ranges[i][1]) return true;
    return false;
}

/*
 * The opcode for one field specifier; *unknown is set when it is a field we do not
 * understand (counted). Numbers take 1..8 bytes, addresses and MACs their exact size; a
 * field of an understood type but a wrong length is skipped and counted unknown.
 */
static uint8_t ie_op(uint32_t pen, uint16_t ie, uint16_t len, bool *unknown)
{
    bool num = len >= 1 && len <= 8;
    uint8_t op = OP_SKIP;
    *unknown = false;
    if (pen == PEN_REVERSE) {
        if (ie == 1 && num) return OP_REV_OCTETS;
        if (ie == 2 && num) return OP_REV_PACKETS;
        if (ie == 6 && num) return OP_REV_FLAGS;
        if (ie_known_unused(ie) || (ie >= 1 && ie <= 160)) return OP_SKIP;
        *unknown = true;
        return OP_SKIP;
    }
    if (pen != 0) {
        *unknown = true;
        return OP_SKIP;
    }
    switch (ie) {
    case 1:
        op = num ? OP_OCTETS : 0;
        break;
    case 2:
        op = num ? OP_PACKETS : 0;
        break;
    case 4:
        op = num ? OP_PROTO : 0;
        break;
    case 5:
        op = num ? OP_TOS : 0;
        break;
    case 6:
        op = num ? OP_TCPFLAGS : 0;
        break;
    case 7:
    case 180:
    case 182:
        op = num ? OP_SPORT : 0;
        break;
    case 11:
    case 181:
    case 183:
        op = num ? OP_DPORT : 0;
        break;
    case 8:
        op = len == 4 ? OP_SRC4 : 0;
        break;
    case 12:
        op = len == 4 ? OP_DST4 : 0;
        break;
    case 27:
        op = len == 16 ? OP_SRC6 : 0;
        break;
    case 28:
        op = len == 16 ? OP_DST6 : 0;
        break;
    case 10:
        op = num ? OP_INIF : 0;
        break;
    case 14:
        return OP_SKIP; /* egress interface: no column */
    case 56:
        op = len == 6 ? OP_SMAC : 0;
        break;
    case 80:
        op = len == 6 ? OP_DMAC : 0;
        break;
    case 81:
        op = len == 6 ? OP_SMAC_POST : 0;
        break;
    case 57:
        op = len == 6 ? OP_DMAC_POST : 0;
        break;
    case 58:
    case 243:
        op = num ? OP_VLAN : 0;
        break;
    case 32:
    case 139:
        op = num ? OP_ICMP_TC : 0;
        break;
    case 176:
    case 178:
        op = num ? OP_ICMP_TYPE : 0;
        break;
    case 177:
    case 179:
        op = num ? OP_ICMP_CODE : 0;
        break;
    case 21:
        op = num ? OP_UP_LAST : 0;
        break;
    case 22:
        op = num ? OP_UP_FIRST : 0;
        break;
    case 23:
        op = num ? OP_OCTETS_POST : 0;
        break;
    case 24:
        op = num ? OP_PACKETS_POST : 0;
        break;
    case 85:
        op = num ? OP_OCTETS_TOTAL : 0;
        break;
    case 86:
        op = num ? OP_PACKETS_TOTAL : 0;
        break;
    case 150:
        op = num ? OP_SEC_FIRST : 0;
        break;
    case 151:
        op = num ? OP_SEC_LAST : 0;
        break;
    case 152:
        op = num ? OP_MS_FIRST : 0;
        break;
    case 153:
        op = num ? OP_MS_LAST : 0;
        break;
    case 154:
    case 156:
        op = len == 8 ? OP_NTP_FIRST : 0;
        break;
    case 155:
    case 157:
        op = len == 8 ? OP_NTP_LAST : 0;
        break;
    case 158:
        op = num ? OP_DELTA_FIRST : 0;
        break;
    case 159:
        op = num ? OP_DELTA_LAST : 0;
        break;
    case 160:
        op = num ? OP_SYSINIT : 0;
        break;
    case 161:
        op = num ? OP_DURATION_MS : 0;
        break;
    case 162:
        op = num ? OP_DURATION_US : 0;
        break;
    case 195:
        op = num ? OP_DSCP : 0;
        break;
    case 34:
    case 50:
        op = num ? OP_SAMPLING : 0;
        break;
    case 305:
        op = num ? OP_SAMPLE_PKT_INTERVAL : 0;
        break;
    case 306:
        op = num ? OP_SAMPLE_PKT_SPACE : 0;
        break;
    default:
        if (ie_known_unused(ie)) return OP_SKIP;
        break;
    }
    if (op == OP_SKIP) *unknown = true;
    return op;
}

/* ---------------------------------------------------------------- state */

struct nf_field {
    uint8_t op;
    uint16_t len; /* NF_VARLEN: IPFIX variable length, 1- or 3-byte prefix */
};

#define NF_NOFF 0xFFFF

struct nf_tmpl {
    struct nf_tmpl *next;
    int64_t updated_ms;
    size_t bytes; /* allocation size, for the template byte cap */
    uint16_t id;
    bool options;
    uint16_t nfields;
    uint32_t minlen;   /* smallest record: fixed lengths + 1 per variable-length field */
    uint32_t nunknown; /* fields not understood */
    uint32_t raw_len;  /* the template record as received, to recognize refreshes */
    uint8_t *raw;
    /* The fast plan (tmpl_plan): for a data template of fixed-length fields where no two
     * fields set the same member, each op's offset in the record (NF_NOFF: none) and length.
     * Records are then decoded op by op with no dispatch on the field list. */
    bool fast;
    uint16_t off[OP__COUNT];
    uint16_t flen[OP__COUNT];
    struct nf_field f[];
};

/* A data set waiting for its template, with what is needed to decode it later. */
struct nf_held {
    struct nf_held *next;
    int64_t at_ms;
    int64_t base_ms;
    uint32_t uptime_ms;
    uint16_t tid;
    uint32_t len;
    uint8_t data[];
};

/*
 * What the header sequence number counts. RFC 3954 says v9 counts export packets and RFC
 * 7011 says IPFIX counts the data records sent before this message; v5 counts flows before
 * it. Real exporters differ (softflowd, for one, puts the flow records sent *including* this
 * message into both v9 and IPFIX headers, without the options records). Counting loss by the
 * book against such an exporter would report losses that never happened, so every domain
 * starts with its version's convention and switches to another one when the number fits that
 * one exactly and not its own.
 */
enum nf_seq_mode {
    SEQ_PACKETS,     /* previous + 1 */
    SEQ_BEFORE_ALL,  /* previous + data records (options included) of the previous message */
    SEQ_BEFORE_FLOW, /* previous + flow records of the previous message */
    SEQ_WITH_ALL,    /* previous + data records of this message */
    SEQ_WITH_FLOW,   /* previous + flow records of this message */
    SEQ__COUNT
};

struct nf_domain {
    struct nf_domain *next; /* hash chain */
    uint32_t hash;
    bool tcp; /* last message came over TCP: templates do not expire */
    bool seq_valid;
    bool n_prev_ok;    /* n_prev_* are exact */
    uint8_t seq_mode;  /* enum nf_seq_mode */
    uint32_t seq_prev; /* sequence number of the last message in order */
    uint32_t n_prev_all, n_prev_flow;
    int64_t sys_init_ms; /* IPFIX systemInitTimeMilliseconds from options data; 0 unknown */
    uint32_t ntemplates;
    uint32_t nheld;
    uint64_t sink_drops; /* records the sink had no slot for */
    struct flow_exporter_stats st;
    struct nf_tmpl *tb[NF_TBUCKETS];
    struct nf_held *held, *held_tail;
};

struct nf_state {
    pthread_mutex_t lock;
    struct nf_options opt;
    struct nf_domain **buckets;
    uint32_t nbuckets; /* power of two */
    uint32_t ndomains;
    struct nf_domain *last;
    size_t held_bytes;
    size_t template_bytes;
    uint64_t domains_full; /* messages dropped: no room for another domain */
};

/* One message being decoded (or one held set being replayed). */
struct nf_msg {
    struct nf_state *st;
    struct nf_domain *d;
    struct flow_sink *sink;
    const struct strm_ip *exporter;
    int64_t now_ms;
    int64_t base_ms;    /* v5/v9: header unix time; IPFIX: export time (ms) */
    uint32_t uptime_ms; /* v5/v9 header sysUptime */
    uint8_t version;
    bool uncounted;        /* data whose record count is unknown (held, malformed) */
    uint32_t data_records; /* data and options data records (IPFIX sequence) */
    uint32_t flow_records; /* data records of data (not options) templates */
    uint32_t all_records;  /* v9: template + data records, against the header count */
    int emitted;
};

struct nf_state *nf_state_new(const struct nf_options *opt)
{
    struct nf_state *st = calloc(1, sizeof(*st));
    if (!st) return NULL;
    st->opt.hold_ms = NF_DEF_HOLD_MS;
    st->opt.hold_max_bytes = NF_DEF_HOLD_MAX;
    st->opt.template_ttl_s = NF_DEF_TTL_S;
    if (opt) {
        if (opt->hold_ms > 0) st->opt.hold_ms = opt->hold_ms;
        if (opt->hold_max_bytes > 0) st->opt.hold_max_bytes = opt->hold_max_bytes;
        if (opt->template_ttl_s > 0) st->opt.template_ttl_s = opt->template_ttl_s;
    }
    st->nbuckets = 64;
    st->buckets = calloc(st->nbuckets, sizeof(*st->buckets));
    if (!st->buckets || pthread_mutex_init(&st->lock, NULL) != 0) {
        free(st->buckets);
        free(st);
        return NULL;
    }
    return st;
}

static void tmpl_free(struct nf_state *st, struct nf_domain *d, struct nf_tmpl *t)
{
    st->template_bytes -= t->bytes;
    d->ntemplates--;
    free(t);
}

static void domain_clear_templates(struct nf_state *st, struct nf_domain *d)
{
    for (int b = 0; b < NF_TBUCKETS; b++) {
        while (d->tb[b]) {
            struct nf_tmpl *t = d->tb[b];
            d->tb[b] = t->next;
            tmpl_free(st, d, t);
        }
    }
}

static void held_free(struct nf_state *st, struct nf_domain *d, struct nf_held *h)
{
    st->held_bytes -= sizeof(*h) + h->len;
    d->nheld--;
    free(h);
}

/* Drops all held data of d; each dropped set counts as an unknown-template drop. */
static void domain_clear_held(struct nf_state *st, struct nf_domain *d)
{
    while (d->held) {
        struct nf_held *h = d->held;
        d->held = h->next;
        d->st.unknown_template_drops++;
        held_free(st, d, h);
    }
    d->held_tail = NULL;
}

void nf_state_free(struct nf_state *st)
{
    if (!st) return;
    for (uint32_t i = 0; i < st->nbuckets; i++) {
        while (st->buckets[i]) {
            struct nf_domain *d = st->buckets[i];
            st->buckets[i] = d->next;
            domain_clear_templates(st, d);
            domain_clear_held(st, d);
            free(d);
        }
    }
    free(st->buckets);
    pthread_mutex_destroy(&st->lock);
    free(st);
}

static uint32_t domain_hash(const struct strm_ip *ip, uint32_t domain, uint8_t version)
{
    uint64_t h = 0x9E3779B97F4A7C15ull ^ version;
    for (int i = 0; i < 16; i += 4) {
        h ^= rd32(ip->b + i);
        h *= 0xFF51AFD7ED558CCDull;
        h ^= h >> 33;
    }
    h ^= domain;
    h *= 0xC4CEB9FE1A85EC53ull;
    h ^= h >> 29;
    return (uint32_t)h;
}

static bool domain_is(const struct nf_domain *d, const struct strm_ip *ip, uint32_t domain,
                      uint8_t version)
{
    return d->st.domain == domain && d->st.version == version &&
           memcmp(d->st.exporter.b, ip->b, 16) == 0;
}

static void domains_grow(struct nf_state *st)
{
    uint32_t n = st->nbuckets * 2;
    struct nf_domain **nb = calloc(n, sizeof(*nb));
    if (!nb) return; /* keep the old table: longer chains, still correct */
    for (uint32_t i = 0; i < st->nbuckets; i++) {
        while (st->buckets[i]) {
            struct nf_domain *d = st->buckets[i];
            st->buckets[i] = d->next;
            d->next = nb[d->hash & (n - 1)];
            nb[d->hash & (n - 1)] = d;
        }
    }
    free(st->buckets);
    st->buckets = nb;
    st->nbuckets = n;
}

/* The domain of (exporter, domain id, version), created on first sight; NULL when full. */
static struct nf_domain *domain_get(struct nf_state *st, const struct strm_ip *ip, uint32_t domain,
                                    uint8_t version)
{
    if (st->last && domain_is(st->last, ip, domain, version)) return st->last;
    uint32_t h = domain_hash(ip, domain, version);
    for (struct nf_domain *d = st->buckets[h & (st->nbuckets - 1)]; d; d = d->next) {
        if (d->hash == h && domain_is(d, ip, domain, version)) {
            st->last = d;
            return d;
        }
    }
    if (st->ndomains >= NF_MAX_DOMAINS) {
        st->domains_full++;
        return NULL;
    }
    struct nf_domain *d = calloc(1, sizeof(*d));
    if (!d) {
        st->domains_full++;
        return NULL;
    }
    d->hash = h;
    d->st.exporter = *ip;
    d->st.domain = domain;
    d->st.version = version;
    d->st.flowtype = version == 5    ? STRM_FLOWTYPE_NETFLOW5
                     : version == 9  ? STRM_FLOWTYPE_NETFLOW9
                     : version == 10 ? STRM_FLOWTYPE_IPFIX
                                     : STRM_FLOWTYPE_NONE;
    d->st.sampling_interval = 1;
    d->seq_mode = version == 9 ? SEQ_PACKETS : SEQ_BEFORE_ALL;
    if (st->ndomains >= st->nbuckets) domains_grow(st);
    d->next = st->buckets[h & (st->nbuckets - 1)];
    st->buckets[h & (st->nbuckets - 1)] = d;
    st->ndomains++;
    st->last = d;
    return d;
}

static struct nf_tmpl *tmpl_find(const struct nf_domain *d, uint16_t id)
{
    for (struct nf_tmpl *t = d->tb[id % NF_TBUCKETS]; t; t = t->next)
        if (t->id == id) return t;
    return NULL;
}

/* Unlinks and frees template id; true when there was one. */
static bool tmpl_remove(struct nf_state *st, struct nf_domain *d, uint16_t id)
{
    for (struct nf_tmpl **pp = &d->tb[id % NF_TBUCKETS]; *pp; pp = &(*pp)->next) {
        if ((*pp)->id == id) {
            struct nf_tmpl *t = *pp;
            *pp = t->next;
            tmpl_free(st, d, t);
            return true;
        }
    }
    return false;
}

/* Removes every template (options false) or options template (options true); returns count. */
static uint32_t tmpl_remove_kind(struct nf_state *st, struct nf_domain *d, bool options)
{
    uint32_t n = 0;
    for (int b = 0; b < NF_TBUCKETS; b++) {
        for (struct nf_tmpl **pp = &d->tb[b]; *pp;) {
            struct nf_tmpl *t = *pp;
            if (t->options == options) {
                *pp = t->next;
                tmpl_free(st, d, t);
                n++;
            } else {
                pp = &t->next;
            }
        }
    }
    return n;
}

/* ---------------------------------------------------------------- sequence numbers */

/*
 * Accounts the sequence number seq of a message that carried n_all data records, n_flow of
 * them flow records (counted false: some could not be counted, held or malformed). A forward
 * step is loss; a small step back is a late (reordered, duplicated) message, neither loss nor
 * reset; a big step either way is an exporter restart: resynchronize without loss.
 */
static void seq_account(struct nf_domain *d, uint32_t seq, uint32_t n_all, uint32_t n_flow,
                        bool counted)
{
    if (!counted && d->seq_mode != SEQ_PACKETS) {
        d->seq_valid = false;
        return;
    }
    if (d->seq_valid) {
        uint32_t exp[SEQ__COUNT] = {d->seq_prev + 1, d->seq_prev + d->n_prev_all,
                                    d->seq_prev + d->n_prev_flow, d->seq_prev + n_all,
                                    d->seq_prev + n_flow};
        bool usable[SEQ__COUNT] = {true, d->n_prev_ok, d->n_prev_ok, counted, counted};
        uint32_t e = exp[d->seq_mode];
        if (seq != e) {
            int other = -1;
            /* record counts first: with one record per message they all agree */
            for (int i = SEQ__COUNT - 1; i >= 0 && other < 0; i--)
                if (i != d->seq_mode && usable[i] && seq == exp[i]) other = i;
            if (other >= 0) {
                d->seq_mode = (uint8_t)other;
            } else {
                uint32_t diff = seq - e;
                uint32_t window = d->seq_mode == SEQ_PACKETS ? 64 : 4096;
                if (diff < 0x80000000u) {
                    if (diff <= NF_SEQ_MAX_GAP) d->st.sequence_lost += diff;
                } else if (0u - diff <= window) {
                    return; /* late: keep expecting what we expected */
                }
            }
        }
    }
    d->seq_prev = seq;
    d->n_prev_all = n_all;
    d->n_prev_flow = n_flow;
    d->n_prev_ok = counted;
    d->seq_valid = true;
}

/* ---------------------------------------------------------------- data records */

enum {
    H_OCTETS = 1u << 0,
    H_PACKETS = 1u << 1,
    H_OCTETS_TOTAL = 1u << 2,
    H_PACKETS_TOTAL = 1u << 3,
    H_OCTETS_POST = 1u << 4,
    H_PACKETS_POST = 1u << 5,
    H_FIRST = 1u << 6, /* first_ms is absolute */
    H_LAST = 1u << 7,
    H_UP_FIRST = 1u << 8,
    H_UP_LAST = 1u << 9,
    H_DELTA_FIRST = 1u << 10,
    H_DELTA_LAST = 1u << 11,
    H_SYSINIT = 1u << 12,
    H_SAMPLING = 1u << 13,
    H_PKT_INTERVAL = 1u << 14,
    H_PKT_SPACE = 1u << 15,
    H_ICMP_TC = 1u << 16,
    H_ICMP_TYPE = 1u << 17,
    H_ICMP_CODE = 1u << 18,
    H_SMAC = 1u << 19,
    H_DMAC = 1u << 20,
    H_SMAC_POST = 1u << 21,
    H_DMAC_POST = 1u << 22,
    H_DURATION = 1u << 23,
    H_TOS = 1u << 24,
    H_DSCP = 1u << 25,
};

/* One decoded data record; only the members whose H_ bit is set (or that are listed as
 * always written in rec_reset) are valid. */
struct nf_rec {
    uint32_t has;
    uint8_t proto, tcpflags, rev_flags, tos, dscp, icmp_type, icmp_code;
    uint16_t sport, dport, vlan, icmp_tc;
    uint32_t inif;
    uint64_t octets, packets, octets_total, packets_total, octets_post, packets_post;
    uint64_t rev_octets, rev_packets;
    int64_t first_ms, last_ms, sysinit_ms;
    uint64_t up_first, up_last, delta_first, delta_last, duration_ms;
    uint64_t sampling, pkt_interval, pkt_space;
    struct strm_ip src, dst;
    uint8_t smac[6], dmac[6], smac_post[6], dmac_post[6];
};

static inline void rec_reset(struct nf_rec *r)
{
    r->has = 0;
    r->proto = r->tcpflags = r->rev_flags = 0;
    r->sport = r->dport = r->vlan = 0;
    r->inif = 0;
    r->rev_octets = r->rev_packets = 0;
    memset(&r->src, 0, sizeof(r->src));
    memset(&r->dst, 0, sizeof(r->dst));
}

/* A time or duration in ms read off the wire, kept within year 0..9999 so arithmetic on it
 * (init + uptime, first + duration) can never overflow, whatever an exporter sends. */
#define WIRE_MS_MAX 253402300799999LL
static int64_t wire_ms(uint64_t v)
{
    return v > (uint64_t)WIRE_MS_MAX ? WIRE_MS_MAX : (int64_t)v;
}

static inline __attribute__((always_inline)) void rec_field(struct nf_rec *r, uint8_t op,
                                                            const uint8_t *q, size_t n)
{
    switch (op) {
    case OP_SKIP:
        break;
    case OP_OCTETS:
        r->octets = rdn(q, n), r->has |= H_OCTETS;
        break;
    case OP_PACKETS:
        r->packets = rdn(q, n), r->has |= H_PACKETS;
        break;
    case OP_OCTETS_TOTAL:
        r->octets_total = rdn(q, n), r->has |= H_OCTETS_TOTAL;
        break;
    case OP_PACKETS_TOTAL:
        r->packets_total = rdn(q, n), r->has |= H_PACKETS_TOTAL;
        break;
    case OP_OCTETS_POST:
        r->octets_post = rdn(q, n), r->has |= H_OCTETS_POST;
        break;
    case OP_PACKETS_POST:
        r->packets_post = rdn(q, n), r->has |= H_PACKETS_POST;
        break;
    case OP_REV_OCTETS:
        r->rev_octets = rdn(q, n);
        break;
    case OP_REV_PACKETS:
        r->rev_packets = rdn(q, n);
        break;
    case OP_REV_FLAGS:
        r->rev_flags = (uint8_t)rdn(q, n);
        break;
    case OP_PROTO:
        r->proto = (uint8_t)rdn(q, n);
        break;
    case OP_TOS:
        r->tos = (uint8_t)rdn(q, n), r->has |= H_TOS;
        break;
    case OP_DSCP:
        r->dscp = (uint8_t)rdn(q, n), r->has |= H_DSCP;
        break;
    case OP_TCPFLAGS:
        r->tcpflags = (uint8_t)rdn(q, n);
        break;
    case OP_SPORT:
        r->sport = (uint16_t)rdn(q, n);
        break;
    case OP_DPORT:
        r->dport = (uint16_t)rdn(q, n);
        break;
    case OP_SRC4:
        strm_ip_from_v4(&r->src, rd32(q));
        break;
    case OP_DST4:
        strm_ip_from_v4(&r->dst, rd32(q));
        break;
    case OP_SRC6:
        memcpy(r->src.b, q, 16);
        break;
    case OP_DST6:
        memcpy(r->dst.b, q, 16);
        break;
    case OP_INIF:
        r->inif = (uint32_t)rdn(q, n);
        break;
    case OP_SMAC:
        memcpy(r->smac, q, 6), r->has |= H_SMAC;
        break;
    case OP_DMAC:
        memcpy(r->dmac, q, 6), r->has |= H_DMAC;
        break;
    case OP_SMAC_POST:
        memcpy(r->smac_post, q, 6), r->has |= H_SMAC_POST;
        break;
    case OP_DMAC_POST:
        memcpy(r->dmac_post, q, 6), r->has |= H_DMAC_POST;
        break;
    case OP_VLAN:
        r->vlan = (uint16_t)(rdn(q, n) & 0x0FFF);
        break;
    case OP_ICMP_TC:
        r->icmp_tc = (uint16_t)rdn(q, n), r->has |= H_ICMP_TC;
        break;
    case OP_ICMP_TYPE:
        r->icmp_type = (uint8_t)rdn(q, n), r->has |= H_ICMP_TYPE;
        break;
    case OP_ICMP_CODE:
        r->icmp_code = (uint8_t)rdn(q, n), r->has |= H_ICMP_CODE;
        break;
    case OP_UP_FIRST:
        r->up_first = rdn(q, n), r->has |= H_UP_FIRST;
        break;
    case OP_UP_LAST:
        r->up_last = rdn(q, n), r->has |= H_UP_LAST;
        break;
    case OP_SEC_FIRST:
        r->first_ms = (int64_t)(rdn(q, n) & 0xFFFFFFFFu) * 1000, r->has |= H_FIRST;
        break;
    case OP_SEC_LAST:
        r->last_ms = (int64_t)(rdn(q, n) & 0xFFFFFFFFu) * 1000, r->has |= H_LAST;
        break;
    case OP_MS_FIRST:
        r->first_ms = wire_ms(rdn(q, n)), r->has |= H_FIRST;
        break;
    case OP_MS_LAST:
        r->last_ms = wire_ms(rdn(q, n)), r->has |= H_LAST;
        break;
    case OP_NTP_FIRST:
        r->first_ms = ntp_to_ms(rdn(q, 8)), r->has |= H_FIRST;
        break;
    case OP_NTP_LAST:
        r->last_ms = ntp_to_ms(rdn(q, 8)), r->has |= H_LAST;
        break;
    case OP_DELTA_FIRST:
        r->delta_first = rdn(q, n), r->has |= H_DELTA_FIRST;
        break;
    case OP_DELTA_LAST:
        r->delta_last = rdn(q, n), r->has |= H_DELTA_LAST;
        break;
    case OP_DURATION_MS:
        r->duration_ms = (uint64_t)wire_ms(rdn(q, n)), r->has |= H_DURATION;
        break;
    case OP_DURATION_US:
        r->duration_ms = (uint64_t)wire_ms(rdn(q, n) / 1000), r->has |= H_DURATION;
        break;
    case OP_SYSINIT:
        r->sysinit_ms = wire_ms(rdn(q, n)), r->has |= H_SYSINIT;
        break;
    case OP_SAMPLING:
        r->sampling = rdn(q, n), r->has |= H_SAMPLING;
        break;
    case OP_SAMPLE_PKT_INTERVAL:
        r->pkt_interval = rdn(q, n), r->has |= H_PKT_INTERVAL;
        break;
    case OP_SAMPLE_PKT_SPACE:
        r->pkt_space = rdn(q, n), r->has |= H_PKT_SPACE;
        break;
    default:
        break;
    }
}

/* The sampling interval a record states (data or options), 0 when it states none. */
static uint64_t rec_sampling(const struct nf_rec *r)
{
    if (r->has & H_SAMPLING) return r->sampling;
    if ((r->has & H_PKT_INTERVAL) && r->pkt_interval) {
        if ((r->has & H_PKT_SPACE) && r->pkt_space)
            return (r->pkt_interval + r->pkt_space) / r->pkt_interval;
        return r->pkt_interval;
    }
    return 0;
}

/* ms since the epoch of an IPFIX sysUpTime value, given the exporter's init time. */
static int64_t uptime_abs(int64_t init_ms, uint64_t up, int64_t ref_ms)
{
    int64_t t = init_ms + (int64_t)(up & 0xFFFFFFFFu);
    /* flowStart/EndSysUpTime are 32-bit ms: they wrap after 49.7 days of uptime */
    if (ref_ms - t > (1LL << 31)) t += ((ref_ms - t + (1LL << 31)) >> 32) << 32;
    return t;
}

/* Resolves a record's time fields into absolute first/last (ms); false if none given. */
static void rec_times(const struct nf_msg *m, const struct nf_rec *r, int64_t *first, int64_t *last)
{
    bool hf = false, hl = false;
    int64_t init = (r->has & H_SYSINIT) ? r->sysinit_ms : m->d->sys_init_ms;
    if (r->has & H_FIRST) {
        *first = r->first_ms, hf = true;
    } else if (r->has & H_DELTA_FIRST) {
        *first = m->base_ms - (int64_t)(r->delta_first / 1000), hf = true;
    } else if (r->has & H_UP_FIRST) {
        if (m->version != 10) {
            *first = m->base_ms - sdiff32(m->uptime_ms, (uint32_t)r->up_first), hf = true;
        } else if (init) {
            *first = uptime_abs(init, r->up_first, m->base_ms), hf = true;
        }
    }
    if (r->has & H_LAST) {
        *last = r->last_ms, hl = true;
    } else if (r->has & H_DELTA_LAST) {
        *last = m->base_ms - (int64_t)(r->delta_last / 1000), hl = true;
    } else if (r->has & H_UP_LAST) {
        if (m->version != 10) {
            *last = m->base_ms - sdiff32(m->uptime_ms, (uint32_t)r->up_last), hl = true;
        } else if (init) {
            *last = uptime_abs(init, r->up_last, m->base_ms), hl = true;
        }
    }
    if (hf && !hl && (r->has & H_DURATION)) *last = *first + (int64_t)r->duration_ms, hl = true;
    if (hl && !hf && (r->has & H_DURATION)) *first = *last - (int64_t)r->duration_ms, hf = true;
    if (!hf && !hl) {
        *first = *last = m->now_ms;
    } else if (!hf) {
        *first = *last;
    } else if (!hl) {
        *last = *first;
    }
}

static void rec_emit(struct nf_msg *m, const struct nf_rec *r)
{
    struct nf_domain *d = m->d;
    struct strm_arena *arena = NULL;
    struct strm_event *ev = m->sink->add(m->sink, &arena);
    if (!ev) {
        d->sink_drops++;
        return;
    }
    uint64_t rate = rec_sampling(r);
    if (!rate) rate = d->st.sampling_interval ? d->st.sampling_interval : 1;

    uint64_t octets = (r->has & H_OCTETS)         ? r->octets
                      : (r->has & H_OCTETS_TOTAL) ? r->octets_total
                      : (r->has & H_OCTETS_POST)  ? r->octets_post
                                                  : 0;
    uint64_t packets = (r->has & H_PACKETS)         ? r->packets
                       : (r->has & H_PACKETS_TOTAL) ? r->packets_total
                       : (r->has & H_PACKETS_POST)  ? r->packets_post
                                                    : 0;
    ev->flags |= STRM_EV_FLOW;
    ev->starttime = m->now_ms;
    ev->collectorip = *m->exporter;
    ev->sourceip = r->src;
    ev->destinationip = r->dst;
    ev->sourceport = r->sport;
    ev->destinationport = r->dport;
    ev->protocolid = r->proto;
    if (r->has & H_SMAC)
        memcpy(ev->sourcemac, r->smac, 6);
    else if (r->has & H_SMAC_POST)
        memcpy(ev->sourcemac, r->smac_post, 6);
    if (r->has & H_DMAC)
        memcpy(ev->destinationmac, r->dmac, 6);
    else if (r->has & H_DMAC_POST)
        memcpy(ev->destinationmac, r->dmac_post, 6);

    struct strm_flow_fields *f = &ev->flow;
    rec_times(m, r, &f->firstpackettime, &f->lastpackettime);
    f->sourcebytes = mul_sat(octets, rate);
    f->sourcepackets = mul_sat(packets, rate);
    f->destinationbytes = mul_sat(r->rev_octets, rate);
    f->destinationpackets = mul_sat(r->rev_packets, rate);
    f->sourceflags = r->tcpflags;
    f->destinationflags = r->rev_flags;
    f->flowtype = d->st.flowtype;
    f->flowsource = *m->exporter;
    f->flowinterface = r->inif;
    f->vlan = r->vlan;
    if (r->has & H_DSCP)
        f->sourcedscp = r->dscp & 0x3F;
    else if (r->has & H_TOS)
        f->sourcedscp = (uint8_t)(r->tos >> 2);
    if (r->has & (H_ICMP_TYPE | H_ICMP_CODE)) {
        f->icmptype = (r->has & H_ICMP_TYPE) ? r->icmp_type : 0;
        f->icmpcode = (r->has & H_ICMP_CODE) ? r->icmp_code : 0;
    } else if (r->has & H_ICMP_TC) {
        f->icmptype = (uint8_t)(r->icmp_tc >> 8);
        f->icmpcode = (uint8_t)r->icmp_tc;
    } else if (r->proto == 1 || r->proto == 58) {
        /* exporters without ICMP fields put type*256+code in the destination port */
        f->icmptype = (uint8_t)(r->dport >> 8);
        f->icmpcode = (uint8_t)r->dport;
    }
    d->st.records++;
    m->emitted++;
}

/* Options data: what it says about sampling and the exporter's clock, for later records. */
static void rec_options(struct nf_msg *m, const struct nf_rec *r)
{
    struct nf_domain *d = m->d;
    uint64_t rate = rec_sampling(r);
    if (r->has & (H_SAMPLING | H_PKT_INTERVAL))
        d->st.sampling_interval = rate == 0 ? 1 : rate > UINT32_MAX ? UINT32_MAX : (uint32_t)rate;
    if (r->has & H_SYSINIT) d->sys_init_ms = r->sysinit_ms;
    d->st.options_records++;
}

/*
 * One record by the template's fast plan: each op the template has, at its offset, in the
 * order of the ops. The same as the fields in template order (tmpl_plan allows no two that
 * set the same member), with a branch per op that goes the same way for every record of the
 * template, not a jump through the field list's switch per field: that jump, mispredicted,
 * was a quarter of a NetFlow v9 decoding thread.
 */
static void rec_fast(struct nf_rec *r, const struct nf_tmpl *t, const uint8_t *q)
{
    rec_reset(r);
#define F(op)                                                                                      \
    do {                                                                                           \
        if (t->off[op] != NF_NOFF) rec_field(r, op, q + t->off[op], t->flen[op]);                  \
    } while (0)
    F(OP_OCTETS);
    F(OP_PACKETS);
    F(OP_OCTETS_TOTAL);
    F(OP_PACKETS_TOTAL);
    F(OP_OCTETS_POST);
    F(OP_PACKETS_POST);
    F(OP_REV_OCTETS);
    F(OP_REV_PACKETS);
    F(OP_REV_FLAGS);
    F(OP_PROTO);
    F(OP_TOS);
    F(OP_DSCP);
    F(OP_TCPFLAGS);
    F(OP_SPORT);
    F(OP_DPORT);
    F(OP_SRC4);
    F(OP_DST4);
    F(OP_SRC6);
    F(OP_DST6);
    F(OP_INIF);
    F(OP_SMAC);
    F(OP_DMAC);
    F(OP_SMAC_POST);
    F(OP_DMAC_POST);
    F(OP_VLAN);
    F(OP_ICMP_TC);
    F(OP_ICMP_TYPE);
    F(OP_ICMP_CODE);
    F(OP_UP_FIRST);
    F(OP_UP_LAST);
    F(OP_SEC_FIRST);
    F(OP_SEC_LAST);
    F(OP_MS_FIRST);
    F(OP_MS_LAST);
    F(OP_NTP_FIRST);
    F(OP_NTP_LAST);
    F(OP_DELTA_FIRST);
    F(OP_DELTA_LAST);
    F(OP_DURATION_MS);
    F(OP_DURATION_US);
    F(OP_SYSINIT);
    F(OP_SAMPLING);
    F(OP_SAMPLE_PKT_INTERVAL);
    F(OP_SAMPLE_PKT_SPACE);
#undef F
}
_Static_assert(OP__COUNT == OP_SAMPLE_PKT_SPACE + 1, "rec_fast covers every op");

/* The member an op sets, for tmpl_plan: ops that set the same one share a number. */
static unsigned op_member(unsigned op)
{
    switch (op) {
    case OP_SRC6:
        return OP_SRC4;
    case OP_DST6:
        return OP_DST4;
    case OP_MS_FIRST:
    case OP_NTP_FIRST:
        return OP_SEC_FIRST;
    case OP_MS_LAST:
    case OP_NTP_LAST:
        return OP_SEC_LAST;
    case OP_DURATION_US:
        return OP_DURATION_MS;
    default:
        return op;
    }
}

/* Fills t's fast plan (see struct nf_tmpl), or leaves t->fast false. */
static void tmpl_plan(struct nf_tmpl *t)
{
    uint64_t seen = 0;
    uint32_t off = 0;
    _Static_assert(OP__COUNT <= 64, "a bit per op");
    t->fast = false;
    for (unsigned op = 0; op < OP__COUNT; op++)
        t->off[op] = NF_NOFF, t->flen[op] = 0;
    if (t->options) return;
    for (uint32_t i = 0; i < t->nfields; i++) {
        unsigned op = t->f[i].op, len = t->f[i].len;
        if (len == NF_VARLEN) return;
        if (op != OP_SKIP) {
            uint64_t bit = 1ull << op_member(op);
            if (seen & bit) return;
            seen |= bit;
            t->off[op] = (uint16_t)off;
            t->flen[op] = (uint16_t)len;
        }
        off += len;
        if (off >= NF_NOFF) return;
    }
    t->fast = off > 0 && off == t->minlen;
}

/*
 * Decodes the records of one data set (p, len: the set body) with template t. Records end
 * where fewer bytes than the smallest record are left (padding). A record cut short by its
 * variable-length fields makes the set malformed.
 */
static void data_set(struct nf_msg *m, const struct nf_tmpl *t, const uint8_t *p, size_t len)
{
    const uint8_t *end = p + len;
    uint32_t before = m->data_records;
    struct nf_rec r;
    if (t->fast) {
        for (; (size_t)(end - p) >= t->minlen; p += t->minlen) {
            rec_fast(&r, t, p);
            m->data_records++;
            m->all_records++;
            m->flow_records++;
            rec_emit(m, &r);
        }
        goto done;
    }
    while ((size_t)(end - p) >= t->minlen) {
        const uint8_t *q = p;
        rec_reset(&r);
        for (uint32_t i = 0; i < t->nfields; i++) {
            size_t n = t->f[i].len;
            if (n == NF_VARLEN) {
                if (q >= end) goto bad;
                n = *q++;
                if (n == 255) {
                    if (end - q < 2) goto bad;
                    n = rd16(q);
                    q += 2;
                }
            }
            if ((size_t)(end - q) < n) goto bad;
            rec_field(&r, t->f[i].op, q, n);
            q += n;
        }
        p = q;
        m->data_records++;
        m->all_records++;
        if (t->options) {
            rec_options(m, &r);
        } else {
            m->flow_records++;
            rec_emit(m, &r);
        }
    }
done:
    if (m->data_records == before && len > 0) {
        /* not even one record: the set does not match its template */
        m->d->st.malformed++;
        m->uncounted = true;
    }
    return;
bad:
    m->d->st.malformed++;
    m->uncounted = true;
}

/* ---------------------------------------------------------------- held data */

static void hold_set(struct nf_msg *m, uint16_t tid, const uint8_t *p, size_t len)
{
    struct nf_state *st = m->st;
    struct nf_domain *d = m->d;
    m->uncounted = true;
    if (len == 0) return;
    struct nf_held *h = NULL;
    size_t need = sizeof(*h) + len;
    if (d->nheld < NF_MAX_HELD_SETS && st->held_bytes + need <= st->opt.hold_max_bytes)
        h = malloc(need);
    if (!h) {
        d->st.unknown_template_drops++;
        return;
    }
    h->next = NULL;
    h->at_ms = m->now_ms;
    h->base_ms = m->base_ms;
    h->uptime_ms = m->uptime_ms;
    h->tid = tid;
    h->len = (uint32_t)len;
    memcpy(h->data, p, len);
    st->held_bytes += need;
    d->nheld++;
    if (d->held_tail)
        d->held_tail->next = h;
    else
        d->held = h;
    d->held_tail = h;
    d->st.held++;
}

/* Decodes the data held for template t (just installed), in arrival order. */
static void hold_release(struct nf_msg *m, const struct nf_tmpl *t)
{
    struct nf_domain *d = m->d;
    struct nf_held *prev = NULL, *h = d->held;
    while (h) {
        struct nf_held *next = h->next;
        if (h->tid != t->id) {
            prev = h;
            h = next;
            continue;
        }
        if (prev)
            prev->next = next;
        else
            d->held = next;
        if (d->held_tail == h) d->held_tail = prev;
        struct nf_msg hm = *m;
        hm.base_ms = h->base_ms;
        hm.uptime_ms = h->uptime_ms;
        data_set(&hm, t, h->data, h->len);
        m->emitted = hm.emitted;
        held_free(m->st, d, h);
        h = next;
    }
}

/* ---------------------------------------------------------------- templates */

/*
 * Installs the template record rec (reclen bytes, already validated: nfields specifiers
 * starting at spec, the first nscope of them scope fields) as template id. A refresh with
 * identical bytes only renews it; a different layout replaces it.
 */
static void tmpl_install(struct nf_msg *m, uint16_t id, bool options, const uint8_t *rec,
                         size_t reclen, const uint8_t *spec, uint32_t nfields, uint32_t nscope,
                         uint32_t minlen)
{
    struct nf_state *st = m->st;
    struct nf_domain *d = m->d;
    d->st.templates++;
    struct nf_tmpl *old = tmpl_find(d, id);
    if (old && old->options == options && old->raw_len == reclen &&
        memcmp(old->raw, rec, reclen) == 0) {
        old->updated_ms = m->now_ms;
        return;
    }
    size_t bytes = sizeof(struct nf_tmpl) + nfields * sizeof(struct nf_field) + reclen;
    size_t freed = old ? old->bytes : 0;
    if ((!old && d->ntemplates >= NF_MAX_TEMPLATES) ||
        st->template_bytes - freed + bytes > NF_MAX_TEMPLATE_BYTES) {
        d->st.malformed++; /* no room: refused like a template we cannot use */
        return;
    }
    struct nf_tmpl *t = malloc(bytes);
    if (!t) {
        d->st.malformed++;
        return;
    }
    t->next = NULL;
    t->updated_ms = m->now_ms;
    t->bytes = bytes;
    t->id = id;
    t->options = options;
    t->nfields = (uint16_t)nfields;
    t->minlen = minlen;
    t->nunknown = 0;
    t->raw_len = (uint32_t)reclen;
    t->raw = (uint8_t *)&t->f[nfields];
    memcpy(t->raw, rec, reclen);
    const uint8_t *q = spec;
    for (uint32_t i = 0; i < nfields; i++) {
        uint16_t type = rd16(q), flen = rd16(q + 2);
        uint32_t pen = 0;
        q += 4;
        if (m->version == 10 && (type & 0x8000)) {
            pen = rd32(q);
            q += 4;
            type &= 0x7FFF;
        }
        bool unknown = false;
        uint8_t op = OP_SKIP;
        if (m->version == 10 && flen == NF_VARLEN) {
            /* none of the elements we decode is variable-length */
            unknown = !(pen == 0 && ie_known_unused(type)) && i >= nscope;
        } else if (i >= nscope) {
            op = ie_op(pen, type, flen, &unknown);
        }
        t->f[i].op = op;
        t->f[i].len = flen;
        if (unknown) t->nunknown++;
    }
    d->st.unknown_fields += t->nunknown;
    tmpl_plan(t);
    if (old) tmpl_remove(st, d, id);
    t->next = d->tb[id % NF_TBUCKETS];
    d->tb[id % NF_TBUCKETS] = t;
    d->ntemplates++;
    st->template_bytes += bytes;
    if (d->held) hold_release(m, t);
}

static bool all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i]) return false;
    return true;
}

/*
 * A template set (options false) or options template set (true) of a v9 or IPFIX message.
 * A record that lies about its lengths ends the set (counted); the records before it stand.
 */
static void template_set(struct nf_msg *m, const uint8_t *p, size_t len, bool options)
{
    struct nf_state *st = m->st;
    struct nf_domain *d = m->d;
    bool ipfix = m->version == 10;
    size_t off = 0;
    while (len - off >= 4) {
        const uint8_t *r = p + off;
        size_t rem = len - off;
        uint16_t tid = rd16(r);
        uint16_t cnt = rd16(r + 2);
        if (ipfix && cnt == 0) {
            /* withdrawal: one template, or all of this kind (id 2 in a template set, 3 in
             * an options template set) */
            if (tid == (options ? 3 : 2)) {
                d->st.templates_withdrawn += tmpl_remove_kind(st, d, options);
            } else if (tid >= 256) {
                tmpl_remove(st, d, tid);
                d->st.templates_withdrawn++;
            } else if (all_zero(r, rem)) {
                return; /* padding */
            } else {
                d->st.malformed++;
                return;
            }
            off += 4;
            continue;
        }
        if (tid < 256) {
            if (!all_zero(r, rem)) d->st.malformed++;
            return; /* padding, or garbage whose extent we cannot know */
        }
        size_t hdr;
        uint32_t nfields, nscope = 0;
        if (!options) {
            hdr = 4;
            nfields = cnt;
        } else if (!ipfix) {
            if (rem < 6) goto bad;
            uint16_t scope_len = cnt, opt_len = rd16(r + 4);
            if (scope_len % 4 || opt_len % 4) goto bad;
            hdr = 6;
            nscope = scope_len / 4u;
            nfields = nscope + opt_len / 4u;
        } else {
            if (rem < 6) goto bad;
            hdr = 6;
            nfields = cnt;
            nscope = rd16(r + 4);
            if (nscope == 0 || nscope > nfields) goto bad;
        }
        if (nfields == 0) goto bad;
        size_t q = hdr;
        uint32_t minlen = 0;
        for (uint32_t i = 0; i < nfields; i++) {
            if (rem - q < 4) goto bad;
            uint16_t type = rd16(r + q), flen = rd16(r + q + 2);
            q += 4;
            if (ipfix && (type & 0x8000)) {
                if (rem - q < 4) goto bad;
                q += 4;
            }
            minlen += (ipfix && flen == NF_VARLEN) ? 1u : flen;
        }
        if (minlen == 0 || minlen > 65535) goto bad;
        tmpl_install(m, tid, options, r, q, r + hdr, nfields, nscope, minlen);
        m->all_records++;
        off += q;
    }
    return;
bad:
    d->st.malformed++;
}

/* A data set: decoded with its template, or held until the template comes. */
static void data_set_id(struct nf_msg *m, uint16_t id, const uint8_t *p, size_t len)
{
    const struct nf_tmpl *t = tmpl_find(m->d, id);
    if (t)
        data_set(m, t, p, len);
    else
        hold_set(m, id, p, len);
}

/*
 * Walks the sets of a v9 or IPFIX message body (p, len: after the header). Returns false
 * when a set header lied (the rest of the message cannot be trusted).
 */
static bool sets_walk(struct nf_msg *m, const uint8_t *p, size_t len)
{
    uint16_t tmpl_id = m->version == 10 ? 2 : 0;
    size_t off = 0;
    while (len - off >= 4) {
        uint16_t sid = rd16(p + off), slen = rd16(p + off + 2);
        if (slen < 4 || slen > len - off) {
            m->d->st.malformed++;
            m->uncounted = true;
            return false;
        }
        const uint8_t *body = p + off + 4;
        size_t blen = slen - 4u;
        if (sid == tmpl_id)
            template_set(m, body, blen, false);
        else if (sid == tmpl_id + 1)
            template_set(m, body, blen, true);
        else if (sid >= 256)
            data_set_id(m, sid, body, blen);
        else
            m->d->st.malformed++; /* reserved set id: skipped */
        off += slen;
    }
    if (off != len && m->version == 10) {
        m->d->st.malformed++; /* IPFIX sets fill the message exactly */
        m->uncounted = true;
        return false;
    }
    return true;
}

/* ---------------------------------------------------------------- versions */

static int decode_v5(struct nf_msg *m, const uint8_t *p, size_t len)
{
    struct nf_state *st = m->st;
    if (len < 24) {
        m->d = domain_get(st, m->exporter, 0, 5);
        goto bad;
    }
    uint32_t count = rd16(p + 2);
    m->d = domain_get(st, m->exporter, (uint32_t)p[20] << 8 | p[21], 5);
    if (!m->d) return STRM_ERR_PARSE;
    struct nf_domain *d = m->d;
    d->st.packets++;
    if (count > 30 || 24 + 48 * (size_t)count > len) goto bad;
    m->uptime_ms = rd32(p + 4);
    m->base_ms = (int64_t)rd32(p + 8) * 1000 + rd32(p + 12) / 1000000;
    uint32_t seq = rd32(p + 16);
    uint32_t interval = rd16(p + 22) & 0x3FFF;
    d->st.sampling_interval = interval ? interval : 1;

    struct nf_rec r;
    for (uint32_t i = 0; i < count; i++) {
        const uint8_t *q = p + 24 + 48 * (size_t)i;
        rec_reset(&r);
        strm_ip_from_v4(&r.src, rd32(q));
        strm_ip_from_v4(&r.dst, rd32(q + 4));
        r.inif = rd16(q + 12);
        r.packets = rd32(q + 16);
        r.octets = rd32(q + 20);
        r.up_first = rd32(q + 24);
        r.up_last = rd32(q + 28);
        r.sport = rd16(q + 32);
        r.dport = rd16(q + 34);
        r.tcpflags = q[37];
        r.proto = q[38];
        r.tos = q[39];
        r.has = H_PACKETS | H_OCTETS | H_UP_FIRST | H_UP_LAST | H_TOS;
        rec_emit(m, &r);
    }
    seq_account(d, seq, count, count, true);
    return m->emitted;
bad:
    if (m->d) m->d->st.malformed++;
    return STRM_ERR_PARSE;
}

static int decode_v9(struct nf_msg *m, const uint8_t *p, size_t len)
{
    if (len < 20) {
        m->d = domain_get(m->st, m->exporter, 0, 9);
        if (m->d) m->d->st.malformed++;
        return STRM_ERR_PARSE;
    }
    m->d = domain_get(m->st, m->exporter, rd32(p + 16), 9);
    if (!m->d) return STRM_ERR_PARSE;
    struct nf_domain *d = m->d;
    d->st.packets++;
    uint32_t count = rd16(p + 2);
    m->uptime_ms = rd32(p + 4);
    m->base_ms = (int64_t)rd32(p + 8) * 1000;
    uint32_t seq = rd32(p + 12);
    uint64_t malformed = d->st.malformed;
    bool ok = sets_walk(m, p + 20, len - 20);
    /* The header counts every record; fewer found means the datagram was cut short (at a
     * set boundary, where the set lengths cannot tell). Exporters that count flowsets
     * instead never trip this. */
    if (ok && !m->uncounted && d->st.malformed == malformed && m->all_records < count)
        d->st.malformed++;
    seq_account(d, seq, m->data_records, m->flow_records, !m->uncounted);
    return m->emitted;
}

static int decode_ipfix(struct nf_msg *m, const uint8_t *p, size_t len)
{
    if (len < 16) {
        m->d = domain_get(m->st, m->exporter, 0, 10);
        if (m->d) m->d->st.malformed++;
        return STRM_ERR_PARSE;
    }
    m->d = domain_get(m->st, m->exporter, rd32(p + 12), 10);
    if (!m->d) return STRM_ERR_PARSE;
    struct nf_domain *d = m->d;
    d->st.packets++;
    size_t mlen = rd16(p + 2);
    if (mlen < 16 || mlen > len) {
        d->st.malformed++;
        d->seq_valid = false;
        return STRM_ERR_PARSE;
    }
    m->base_ms = (int64_t)rd32(p + 4) * 1000;
    uint32_t seq = rd32(p + 8);
    sets_walk(m, p + 16, mlen - 16);
    seq_account(d, seq, m->data_records, m->flow_records, !m->uncounted);
    return m->emitted;
}

int nf_decode(struct nf_state *st, const uint8_t *msg, size_t len, const struct strm_ip *exporter,
              enum nf_transport tr, int64_t now_ms, struct flow_sink *sink)
{
    struct nf_msg m = {.st = st, .sink = sink, .exporter = exporter, .now_ms = now_ms};
    int rc;
    pthread_mutex_lock(&st->lock);
    uint16_t version = len >= 2 ? rd16(msg) : 0;
    m.version = (uint8_t)version;
    switch (version) {
    case 5:
        rc = decode_v5(&m, msg, len);
        break;
    case 9:
        rc = decode_v9(&m, msg, len);
        break;
    case 10:
        rc = decode_ipfix(&m, msg, len);
        break;
    default:
        m.d = domain_get(st, exporter, 0, 0);
        if (m.d) {
            m.d->st.packets++;
            m.d->st.malformed++;
        }
        rc = STRM_ERR_PARSE;
        break;
    }
    if (m.d) m.d->tcp = tr == NF_TCP;
    pthread_mutex_unlock(&st->lock);
    return rc;
}

void nf_tick(struct nf_state *st, int64_t now_ms)
{
    pthread_mutex_lock(&st->lock);
    int64_t ttl_ms = (int64_t)st->opt.template_ttl_s * 1000;
    for (uint32_t i = 0; i < st->nbuckets; i++) {
        for (struct nf_domain *d = st->buckets[i]; d; d = d->next) {
            struct nf_held *prev = NULL;
            for (struct nf_held *h = d->held; h;) {
                struct nf_held *next = h->next;
                if (now_ms - h->at_ms >= st->opt.hold_ms) {
                    if (prev)
                        prev->next = next;
                    else
                        d->held = next;
                    if (d->held_tail == h) d->held_tail = prev;
                    d->st.unknown_template_drops++;
                    held_free(st, d, h);
                } else {
                    prev = h;
                }
                h = next;
            }
            if (d->tcp || !d->ntemplates) continue;
            for (int b = 0; b < NF_TBUCKETS; b++) {
                for (struct nf_tmpl **pp = &d->tb[b]; *pp;) {
                    struct nf_tmpl *t = *pp;
                    if (now_ms - t->updated_ms >= ttl_ms) {
                        *pp = t->next;
                        tmpl_free(st, d, t);
                        d->st.templates_withdrawn++; /* expired counts as withdrawn */
                    } else {
                        pp = &t->next;
                    }
                }
            }
        }
    }
    pthread_mutex_unlock(&st->lock);
}

void nf_session_end(struct nf_state *st, const struct strm_ip *exporter)
{
    pthread_mutex_lock(&st->lock);
    for (uint32_t i = 0; i < st->nbuckets; i++) {
        for (struct nf_domain *d = st->buckets[i]; d; d = d->next) {
            if (!d->tcp || memcmp(d->st.exporter.b, exporter->b, 16) != 0) continue;
            domain_clear_templates(st, d);
            domain_clear_held(st, d);
            d->seq_valid = false;
            d->sys_init_ms = 0;
            d->st.sampling_interval = 1;
        }
    }
    pthread_mutex_unlock(&st->lock);
}

void nf_stats_each(struct nf_state *st, void (*fn)(const struct flow_exporter_stats *, void *),
                   void *arg)
{
    pthread_mutex_lock(&st->lock);
    uint32_t n = st->ndomains, k = 0;
    struct flow_exporter_stats *copy = n ? malloc(n * sizeof(*copy)) : NULL;
    for (uint32_t i = 0; i < st->nbuckets; i++) {
        for (struct nf_domain *d = st->buckets[i]; d; d = d->next) {
            if (copy)
                copy[k++] = d->st;
            else
                fn(&d->st, arg); /* no memory for a copy: call under the lock */
        }
    }
    pthread_mutex_unlock(&st->lock);
    for (uint32_t i = 0; i < k; i++)
        fn(&copy[i], arg);
    free(copy);
}
