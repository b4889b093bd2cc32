/*
 * dsm.c - the DSM registry and the parse loop.
 *
 * The registry is the concatenation of the group tables (registry_*.c) in try order:
 * operating systems, network devices, applications, then the generic formats (CEF, LEEF,
 * JSON, key=value) last, so that a vendor that happens to speak CEF or JSON is recognized by
 * its own DSM before the generic one claims the line. It is built once (pthread_once) into a
 * fixed array and read-only afterwards, so any number of parser threads use it without locks.
 *
 * dsm_parse tries the hinted DSM (the log source's type) first, then every other DSM in
 * order; the first whose parse() returns true owns the event. A DSM's parse() rejects
 * foreign lines cheaply (appname or a fixed prefix), so the cost of a miss is a few compares
 * per DSM. A line nobody recognizes keeps its syslog fields and gets QID_GENERIC_STORED
 * ("stored", SIM Generic) with devicetype 0.
 *
 * dsm_parse_memo adds a second guess between the hint and the walk: the DSM that last took
 * a line of the same sender, program and first token (struct dsm_memo, one per parser
 * thread). Lines of a sender that mixes formats then skip the walk, which is most of the
 * cost of such a line (each DSM's reject is cheap, but 20 of them are not). Only specific
 * DSMs are memorized, never the generic group: a CEF line that FortiGate's DSM would take
 * must not go to generic CEF because an earlier CEF line of the sender did.
 *
 * Type ids are at most 9999 (the QID numbering reserves T*100000..T*100000+99999), so a
 * 10000-entry byte index maps a type id to its slot in the registry in O(1).
 */
#include "dsm/dsm_priv.h"

#include <pthread.h>
#include <string.h>
#define XXH_INLINE_ALL /* inlined hashing: it runs per event */
#include <xxhash.h>

#define DSM_MAX 255         /* registry slots; the index stores slot + 1 in a byte */
#define DSM_TYPE_MAX 10000u /* type ids are 1..9999 */

static const struct dsm_def *dsm_list[DSM_MAX + 1];
static size_t dsm_count;
static uint8_t dsm_type_slot[DSM_TYPE_MAX]; /* slot + 1, 0 = no such type */
static pthread_once_t dsm_once = PTHREAD_ONCE_INIT;
static bool dsm_overflow;
static size_t dsm_generic_from = DSM_MAX; /* slot of the first generic DSM */

static void dsm_registry_fill(void)
{
    const struct dsm_def *const *groups[] = {dsm_group_os, dsm_group_net, dsm_group_app,
                                             dsm_group_generic};
    for (size_t g = 0; g < sizeof groups / sizeof groups[0]; g++) {
        if (groups[g] == dsm_group_generic) dsm_generic_from = dsm_count;
        for (size_t i = 0; groups[g][i]; i++) {
            const struct dsm_def *d = groups[g][i];
            if (dsm_count == DSM_MAX) {
                dsm_overflow = true;
                return;
            }
            dsm_list[dsm_count] = d;
            if (d->type_id > 0 && d->type_id < DSM_TYPE_MAX && !dsm_type_slot[d->type_id])
                dsm_type_slot[d->type_id] = (uint8_t)(dsm_count + 1);
            dsm_count++;
        }
    }
}

const struct dsm_def *const *dsm_registry(size_t *n)
{
    pthread_once(&dsm_once, dsm_registry_fill);
    if (n) *n = dsm_count;
    return dsm_list;
}

const struct dsm_def *const *dsm_all(size_t *n)
{
    return dsm_registry(n);
}

int dsm_init(void)
{
    size_t n;
    const struct dsm_def *const *all = dsm_registry(&n);
    if (dsm_overflow) {
        LOG_ERROR("dsm", "more than %d DSMs registered", DSM_MAX);
        return STRM_ERR_INVAL;
    }
    for (size_t i = 0; i < n; i++) {
        const struct dsm_def *d = all[i];
        if (!d->name || !d->parse || d->type_id == 0 || d->type_id >= DSM_TYPE_MAX) {
            LOG_ERROR("dsm", "DSM #%zu (%s): missing name/parse or type id %u out of 1..9999", i,
                      d->name ? d->name : "?", d->type_id);
            return STRM_ERR_INVAL;
        }
        for (size_t j = 0; j < i; j++) {
            if (all[j]->type_id == d->type_id || strcmp(all[j]->name, d->name) == 0) {
                LOG_ERROR("dsm", "DSMs %s and %s share a name or type id %u", all[j]->name, d->name,
                          d->type_id);
                return STRM_ERR_INVAL;
            }
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (!all[i]->init) continue;
        int rc = all[i]->init();
        if (rc != 0) {
            LOG_ERROR("dsm", "DSM %s: init failed: %s", all[i]->name, strm_err_str(rc));
            return rc < 0 ? rc : STRM_ERR_INVAL;
        }
    }
    return qid_index_build();
}

const struct dsm_def *dsm_by_type(uint16_t type_id)
{
    dsm_registry(NULL);
    if (type_id == 0 || type_id >= DSM_TYPE_MAX) return NULL;
    uint8_t s = dsm_type_slot[type_id];
    return s ? dsm_list[s - 1] : NULL;
}

const struct dsm_def *dsm_by_name(const char *name)
{
    size_t n;
    const struct dsm_def *const *all = dsm_registry(&n);
    if (!name) return NULL;
    for (size_t i = 0; i < n; i++)
        if (strcmp(all[i]->name, name) == 0) return all[i];
    return NULL;
}

/*
 * The memo key of a line: hostname, appname and the message's first token (at most 8 bytes,
 * up to a space, '=' or ':'; digits folded to '0' so that sequence numbers and dates do not
 * make every line a new kind). Lengths are part of the key, so fields cannot run together.
 */
static uint64_t memo_key(const struct strm_event *ev)
{
    unsigned char k[112];
    size_t o = 0;
    const struct strm_str *parts[2] = {&ev->hostname, &ev->appname};
    const size_t caps[2] = {64, 32};
    for (int i = 0; i < 2; i++) {
        size_t n = parts[i]->p ? parts[i]->len : 0;
        if (n > caps[i]) n = caps[i];
        k[o++] = (unsigned char)n;
        if (n) memcpy(k + o, parts[i]->p, n);
        o += n;
    }
    const char *m = ev->message.p;
    size_t mlen = m ? ev->message.len : 0;
    size_t start = o++;
    for (size_t i = 0; i < mlen && i < 8; i++) {
        unsigned char c = (unsigned char)m[i];
        if (c == ' ' || c == '=' || c == ':') break;
        k[o++] = c >= '0' && c <= '9' ? '0' : c;
    }
    k[start] = (unsigned char)(o - start - 1);
    return XXH3_64bits(k, o);
}

static bool dsm_is_generic(const struct dsm_def *d)
{
    uint8_t s = d->type_id < DSM_TYPE_MAX ? dsm_type_slot[d->type_id] : 0;
    return s && (size_t)(s - 1) >= dsm_generic_from;
}

const struct dsm_def *dsm_parse_memo(struct strm_event *ev, struct strm_arena *arena,
                                     const struct dsm_ctx *ctx, struct dsm_memo *memo)
{
    static const struct dsm_ctx none = {0, 0};
    if (!ctx) ctx = &none;
    size_t n;
    const struct dsm_def *const *all = dsm_registry(&n);
    const struct dsm_def *first = ctx->hint ? dsm_by_type(ctx->hint) : NULL;
    if (first && first->parse(ev, arena, ctx)) {
        ev->devicetype = first->type_id;
        return first;
    }
    /* The hint failed (or there is none): the memo's guess, then the registry walk. The key
     * is taken before any DSM that recognizes the line may rewrite the event. */
    const struct dsm_def *guess = NULL;
    uint64_t key = 0;
    uint32_t si = 0, tag = 0;
    if (memo) {
        key = memo_key(ev);
        si = (uint32_t)key & (DSM_MEMO_SLOTS - 1);
        tag = (uint32_t)(key >> 32) | 1u;
        if (memo->slot[si].tag == tag) {
            guess = dsm_by_type(memo->slot[si].type);
            if (guess == first) guess = NULL;
            if (guess && guess->parse(ev, arena, ctx)) {
                ev->devicetype = guess->type_id;
                return guess;
            }
        }
    }
    for (size_t i = 0; i < n; i++) {
        const struct dsm_def *d = all[i];
        if (d == first || d == guess) continue;
        if (d->parse(ev, arena, ctx)) {
            ev->devicetype = d->type_id;
            if (memo && !dsm_is_generic(d)) {
                memo->slot[si].tag = tag;
                memo->slot[si].type = d->type_id;
            }
            return d;
        }
    }
    dsm_set_qid(ev, QID_GENERIC_STORED);
    ev->devicetype = 0;
    return NULL;
}

const struct dsm_def *dsm_parse(struct strm_event *ev, struct strm_arena *arena,
                                const struct dsm_ctx *ctx)
{
    return dsm_parse_memo(ev, arena, ctx, NULL);
}
