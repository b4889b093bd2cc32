/*
 * coalesce.c - event coalescing as STRM does it, on the store thread before the store.
 *
 * Key: (logsourceid, qid, sourceip, destinationip, destinationport, username). The first
 * event of a key opens a window of window_s seconds (on the store thread's clock). In that
 * window the first three events of the key pass through untouched; the fourth becomes the
 * key's coalesced record (a private copy: the event itself, strings and all) and every later
 * event of the key only adds its eventcount to that record. When the window ends the record
 * is emitted (appended to a batch the caller stores) and the key is forgotten, so the cycle
 * starts again. Events of log source 0 (no log source yet) or of log sources with coalescing
 * off never fold.
 *
 * Nothing is lost: a folded event's count lives on in its record's eventcount, and records
 * are emitted at window end or at flush (coalesce_expire with INT64_MAX at shutdown, before
 * the store closes). Hence, with `stored` counting rows:
 *
 *     events in = stored - coalesced_out + coalesced_in
 *
 * and the eventcount of the stored rows sums to the events in.
 *
 * Data structures, all allocated once at start (no allocation per event):
 *  - keys live in a ring in the order their windows opened; since every window has the
 *    same length, the ring's head is always the next to expire, and removal happens only
 *    there (expiry) - so the ring index of a key is stable while it lives;
 *  - an open-addressing hash (linear probing, backward-shift deletion) maps a key's hash to
 *    its ring index; each slot also holds the hash's upper 32 bits, so a probe only touches
 *    the (large, cache-cold) ring entry when those match - once the ring is full, most
 *    events are new keys whose probes would otherwise miss the cache on every slot;
 *  - a folded record's strings are copied into a buffer owned by a record slot; slots are
 *    recycled through a free list, buffers kept and grown only when a longer event needs it.
 * Bounds: max_keys keys and max_bytes of record buffers; an event that would need more
 * passes through and is counted in coalesce_overflow. Usernames longer than
 * COALESCE_MAX_USER bytes are not keyed (pass through, counted).
 */
#include "collect/collect.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#define XXH_INLINE_ALL /* inlined hashing: it runs per event */
#include <xxhash.h>

#define COALESCE_MAX_USER 128
#define COALESCE_PASS 3 /* events of a key that pass through before folding starts */
#define COAL_AHEAD 16   /* events hashed (and their slots prefetched) ahead of the lookup */
#define HUGE_PAGE (2u << 20)

struct coal_rec {
    struct strm_event ev; /* strings point into buf; eventcount set when emitted */
    char *buf;
    size_t cap;
    struct coal_rec *next_free;
};

struct coal_key {
    uint64_t hash;
    int64_t start_ms; /* window opened */
    uint32_t logsourceid;
    uint32_t qid;
    struct strm_ip sip, dip;
    uint16_t dport;
    uint16_t ulen;
    uint32_t seen;  /* events of this key in the window (saturating) */
    uint64_t count; /* events folded into rec: kept here, not in the (cache-cold) record */
    struct coal_rec *rec;
    char user[COALESCE_MAX_USER];
};

struct coalescer {
    int64_t window_ms;
    uint32_t cap;  /* ring capacity (max keys) */
    uint32_t head; /* oldest key */
    uint32_t n;    /* keys in the ring */
    struct coal_key *ring;
    uint64_t *tab; /* (hash >> 32) << 32 | (ring index + 1); 0 = empty */
    uint32_t mask;
    struct coal_rec *free_recs;
    size_t bytes, max_bytes;
    struct strm_stats *stats;
};

/*
 * The ring (some 14 MB at the default size) and the table are read at random: with 4 KiB
 * pages nearly every lookup also missed the TLB, and a prefetch that misses the TLB waits for
 * the page walk. Transparent huge pages where the kernel grants them on request.
 */
static void *big_alloc(size_t n)
{
    size_t total = (n + HUGE_PAGE - 1) & ~(size_t)(HUGE_PAGE - 1);
    void *p = aligned_alloc(HUGE_PAGE, total);
    if (p) (void)madvise(p, total, MADV_HUGEPAGE);
    return p;
}

int coalesce_new(const struct coalesce_options *opt, struct coalescer **out)
{
    struct coalescer *c = calloc(1, sizeof(*c));
    if (!c) return STRM_ERR_NOMEM;
    c->window_ms = (int64_t)(opt->window_s > 0 ? opt->window_s : 10) * 1000;
    c->cap = opt->max_keys ? opt->max_keys : 65536;
    c->max_bytes = opt->max_bytes ? opt->max_bytes : (size_t)64 << 20;
    c->stats = opt->stats;
    uint32_t tabsize = 16;
    while (tabsize < c->cap * 2u)
        tabsize <<= 1;
    c->mask = tabsize - 1;
    c->ring = big_alloc((size_t)c->cap * sizeof(*c->ring));
    c->tab = big_alloc((size_t)tabsize * sizeof(*c->tab));
    if (!c->ring || !c->tab) {
        coalesce_free(c);
        return STRM_ERR_NOMEM;
    }
    memset(c->tab, 0, (size_t)tabsize * sizeof(*c->tab)); /* ring entries are set on insert */
    *out = c;
    return 0;
}

static void rec_release(struct coalescer *c, struct coal_rec *r)
{
    r->next_free = c->free_recs;
    c->free_recs = r;
}

void coalesce_free(struct coalescer *c)
{
    if (!c) return;
    if (c->ring) {
        for (uint32_t i = 0; i < c->n; i++) {
            struct coal_key *k = &c->ring[(c->head + i) % c->cap];
            if (k->rec) rec_release(c, k->rec);
        }
    }
    while (c->free_recs) {
        struct coal_rec *r = c->free_recs;
        c->free_recs = r->next_free;
        free(r->buf);
        free(r);
    }
    free(c->ring);
    free(c->tab);
    free(c);
}

/* One XXH3 call over the key fields and the username (at most COALESCE_MAX_USER bytes of it:
 * a longer one is never keyed). Every field is assigned and the layout has no padding before
 * user, so nothing needs clearing. */
static uint64_t key_hash(const struct strm_event *ev)
{
    struct coal_hkey {
        uint32_t ls, qid;
        uint8_t sip[16], dip[16];
        uint16_t dport;
        char user[COALESCE_MAX_USER];
    } k;
    k.ls = ev->logsourceid;
    k.qid = ev->qid;
    memcpy(k.sip, ev->sourceip.b, 16);
    memcpy(k.dip, ev->destinationip.b, 16);
    k.dport = ev->destinationport;
    size_t ulen = ev->username.p ? ev->username.len : 0;
    if (ulen > COALESCE_MAX_USER) ulen = COALESCE_MAX_USER;
    if (ulen) memcpy(k.user, ev->username.p, ulen);
    return XXH3_64bits(&k, offsetof(struct coal_hkey, user) + ulen);
}

static bool key_eq(const struct coal_key *k, uint64_t h, const struct strm_event *ev)
{
    return k->hash == h && k->logsourceid == ev->logsourceid && k->qid == ev->qid &&
           k->dport == ev->destinationport && k->ulen == ev->username.len &&
           memcmp(k->sip.b, ev->sourceip.b, 16) == 0 &&
           memcmp(k->dip.b, ev->destinationip.b, 16) == 0 &&
           (k->ulen == 0 || memcmp(k->user, ev->username.p, k->ulen) == 0);
}

/* Table slot holding ring index ri, or of the first empty slot on h's probe path. */
static uint32_t tab_find(const struct coalescer *c, uint64_t h, const struct strm_event *ev,
                         struct coal_key **found)
{
    uint32_t i = (uint32_t)h & c->mask;
    uint32_t tag = (uint32_t)(h >> 32);
    for (;;) {
        uint64_t v = c->tab[i];
        if (v == 0) {
            *found = NULL;
            return i;
        }
        struct coal_key *k = &c->ring[(uint32_t)v - 1];
        if ((uint32_t)(v >> 32) == tag && key_eq(k, h, ev)) {
            *found = k;
            return i;
        }
        i = (i + 1) & c->mask;
    }
}

/* Removes ring index ri from the table (backward-shift deletion keeps probe paths whole). */
static void tab_remove(struct coalescer *c, uint32_t ri)
{
    uint32_t i = (uint32_t)c->ring[ri].hash & c->mask;
    while ((uint32_t)c->tab[i] != ri + 1)
        i = (i + 1) & c->mask;
    c->tab[i] = 0;
    uint32_t j = i;
    for (;;) {
        j = (j + 1) & c->mask;
        uint64_t v = c->tab[j];
        if (v == 0) return;
        uint32_t home = (uint32_t)c->ring[(uint32_t)v - 1].hash & c->mask;
        /* Move v back to i unless its home lies cyclically in (i, j]. */
        bool in_range = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (!in_range) {
            c->tab[i] = v;
            c->tab[j] = 0;
            i = j;
        }
    }
}

static size_t event_str_bytes(const struct strm_event *ev)
{
    size_t n = 0;
    for (int col = 0; col < STRM_COL__COUNT; col++) {
        if (strm_event_cols[col].type != STRM_T_STR) continue;
        n += strm_event_get_str(ev, col).len;
    }
    return n;
}

/* Makes a record holding a private copy of ev; NULL when over the memory bound. */
static struct coal_rec *rec_make(struct coalescer *c, const struct strm_event *ev)
{
    size_t need = event_str_bytes(ev);
    struct coal_rec *r = c->free_recs;
    if (r) {
        c->free_recs = r->next_free;
    } else {
        if (c->bytes + sizeof(*r) > c->max_bytes) return NULL;
        r = calloc(1, sizeof(*r));
        if (!r) return NULL;
        c->bytes += sizeof(*r);
    }
    if (need > r->cap) {
        size_t ncap = r->cap ? r->cap : 256;
        while (ncap < need)
            ncap *= 2;
        if (c->bytes - r->cap + ncap > c->max_bytes) {
            rec_release(c, r);
            return NULL;
        }
        char *nb = realloc(r->buf, ncap);
        if (!nb) {
            rec_release(c, r);
            return NULL;
        }
        c->bytes = c->bytes - r->cap + ncap;
        r->buf = nb;
        r->cap = ncap;
    }
    r->ev = *ev;
    size_t o = 0;
    for (int col = 0; col < STRM_COL__COUNT; col++) {
        if (strm_event_cols[col].type != STRM_T_STR) continue;
        struct strm_str *s = (struct strm_str *)((char *)&r->ev + strm_event_cols[col].offset);
        if (s->len && s->p) {
            memcpy(r->buf + o, s->p, s->len);
            s->p = r->buf + o;
            o += s->len;
        } else {
            s->p = NULL;
            s->len = 0;
        }
    }
    return r;
}

static void count_overflow(struct coalescer *c, uint64_t n)
{
    if (c->stats && n) STRM_STAT_ADD(c->stats, coalesce_overflow, n);
}

void coalesce_batch(struct coalescer *c, struct strm_batch *b, int64_t now_ms,
                    bool (*enabled)(void *arg, uint32_t logsourceid), void *arg)
{
    uint32_t w = 0;
    uint64_t folded = 0, overflow = 0;
    uint32_t last_ls = 0;
    bool last_on = false, have_last = false;
    /*
     * The table and the ring are far larger than the caches and every key lands in a random
     * slot, so each lookup used to stall on a cache miss (most of this function's time).
     * The keys are hashed COAL_AHEAD events ahead and their table slots prefetched; half way,
     * the ring entry the slot points to is prefetched too (that read of the slot is a real
     * load: far enough behind the slot's prefetch for it to have landed). Prefetches are
     * only hints: the lookup itself re-reads everything.
     */
    uint64_t hashes[COAL_AHEAD];
    for (uint32_t j = 0; j < COAL_AHEAD && j < b->count; j++) {
        hashes[j] = key_hash(&b->ev[j]);
        __builtin_prefetch(&c->tab[(uint32_t)hashes[j] & c->mask]);
    }
    for (uint32_t i = 0; i < b->count; i++) {
        struct strm_event *ev = &b->ev[i];
        bool keep = true;
        uint64_t h = hashes[i % COAL_AHEAD];
        if (i + 2 * COAL_AHEAD < b->count) {
            /* the key fields of the event hashed next round: written by a parser thread on
             * another core, they are not in this core's cache */
            const struct strm_event *f = &b->ev[i + 2 * COAL_AHEAD];
            __builtin_prefetch(&f->logsourceid);
            __builtin_prefetch(&f->sourceip);
            __builtin_prefetch(&f->destinationip);
            __builtin_prefetch(&f->username);
        }
        if (i + COAL_AHEAD + COAL_AHEAD / 2 < b->count) {
            /* its user name's bytes (the event's own line was asked for half a round ago) */
            const struct strm_event *f = &b->ev[i + COAL_AHEAD + COAL_AHEAD / 2];
            if (f->username.p) __builtin_prefetch(f->username.p);
        }
        if (i + COAL_AHEAD < b->count) {
            uint64_t ha = key_hash(&b->ev[i + COAL_AHEAD]);
            hashes[i % COAL_AHEAD] = ha;
            __builtin_prefetch(&c->tab[(uint32_t)ha & c->mask]);
        }
        if (i + COAL_AHEAD / 2 < b->count) {
            uint64_t v = c->tab[(uint32_t)hashes[(i + COAL_AHEAD / 2) % COAL_AHEAD] & c->mask];
            if (v) __builtin_prefetch(&c->ring[(uint32_t)v - 1]);
        }
        if (ev->logsourceid != 0) {
            if (!have_last || ev->logsourceid != last_ls) {
                last_ls = ev->logsourceid;
                last_on = enabled ? enabled(arg, last_ls) : true;
                have_last = true;
            }
        }
        if (ev->logsourceid == 0 || !last_on) goto out;
        if (ev->username.len > COALESCE_MAX_USER) {
            overflow++;
            goto out;
        }
        struct coal_key *k;
        uint32_t slot = tab_find(c, h, ev, &k);
        if (!k) {
            if (c->n == c->cap) {
                overflow++;
                goto out;
            }
            uint32_t ri = (c->head + c->n) % c->cap;
            k = &c->ring[ri];
            memset(k, 0, offsetof(struct coal_key, user));
            k->hash = h;
            k->start_ms = now_ms;
            k->logsourceid = ev->logsourceid;
            k->qid = ev->qid;
            k->sip = ev->sourceip;
            k->dip = ev->destinationip;
            k->dport = ev->destinationport;
            k->ulen = (uint16_t)ev->username.len;
            if (k->ulen) memcpy(k->user, ev->username.p, k->ulen);
            c->tab[slot] = (h >> 32) << 32 | (ri + 1);
            c->n++;
        }
        if (k->seen < COALESCE_PASS) {
            k->seen++;
            goto out;
        }
        if (!k->rec) {
            k->rec = rec_make(c, ev);
            if (!k->rec) {
                overflow++;
                goto out;
            }
            k->count = k->rec->ev.eventcount;
        } else {
            k->count += ev->eventcount;
        }
        folded++;
        keep = false;
    out:
        if (keep) {
            /* the flow part (the event's last ~100 bytes) is zero in every event, here and in
             * the slot it lands in: only what comes before it moves */
            if (w != i) memcpy(&b->ev[w], ev, offsetof(struct strm_event, flow));
            w++;
        }
    }
    b->count = w;
    if (c->stats && folded) STRM_STAT_ADD(c->stats, coalesced_in, folded);
    count_overflow(c, overflow);
}

bool coalesce_due(const struct coalescer *c, int64_t now_ms)
{
    return c->n > 0 && (now_ms == INT64_MAX || c->ring[c->head].start_ms + c->window_ms <= now_ms);
}

uint32_t coalesce_expire(struct coalescer *c, int64_t now_ms, struct strm_batch *out)
{
    uint32_t emitted = 0;
    while (coalesce_due(c, now_ms)) {
        struct coal_key *k = &c->ring[c->head];
        if (k->rec) {
            struct strm_event *ev = strm_batch_add(out);
            if (!ev) break; /* out is full: the caller stores it and calls again */
            *ev = k->rec->ev;
            ev->eventcount = k->count > UINT32_MAX ? UINT32_MAX : (uint32_t)k->count;
            bool nomem = false;
            for (int col = 0; col < STRM_COL__COUNT; col++) {
                if (strm_event_cols[col].type != STRM_T_STR) continue;
                struct strm_str *s = (struct strm_str *)((char *)ev + strm_event_cols[col].offset);
                if (!s->len) continue;
                struct strm_str cp = strm_arena_strdup(&out->arena, s->p, s->len);
                if (!cp.p) {
                    nomem = true;
                    cp.len = 0;
                }
                *s = cp;
            }
            (void)nomem; /* a string we could not copy is stored empty, never dangling */
            rec_release(c, k->rec);
            k->rec = NULL;
            emitted++;
        }
        tab_remove(c, c->head);
        c->head = (c->head + 1) % c->cap;
        c->n--;
    }
    if (c->stats && emitted) STRM_STAT_ADD(c->stats, coalesced_out, emitted);
    return emitted;
}

size_t coalesce_pending(const struct coalescer *c)
{
    return c->n;
}
