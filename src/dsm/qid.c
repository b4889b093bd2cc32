/*
 * qid.c - the QID map: QID number -> name, description, low-level category, severity.
 *
 * Three sources, each with its own lookup path:
 *   - QID_GENERIC_STORED, the QID of lines no DSM recognized (a static entry);
 *   - every registered DSM's static qid table, indexed once into an open-addressing hash
 *     (linear probing, power-of-two size, load <= 1/2) that is published with a release
 *     store and never changed again, so parser threads look up without any lock;
 *   - user QIDs (qid_add, numbers from QID_USER_BASE up) in a small fixed array: a writer
 *     fills the next slot under a mutex, then publishes it by a release store of the count;
 *     readers index the array by qid - QID_USER_BASE after an acquire load of the count.
 *     Slots never move or change once published, so readers need no lock either.
 *
 * Invariants checked when the index is built (an error naming the DSMs involved): no QID is
 * defined twice (within a DSM or across DSMs), every DSM QID lies in its own range
 * DSM_QID(type, 0..99999), and every QID's category is a known low-level category. A QID
 * that breaks them is logged and left out (the first definition wins), the error is
 * returned by dsm_init (which the daemon treats as fatal), and the index is still published
 * so that lookups never depend on whether dsm_init succeeded.
 */
#include "dsm/dsm_priv.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct qid_slot {
    uint32_t qid; /* 0 = empty (QID 0 is never used) */
    const struct qid_def *def;
};

static const struct qid_def qid_generic = {
    QID_GENERIC_STORED, "Unknown log event",
    "SIM Generic Log: the event was not recognized by any DSM and is stored as received",
    LLC_STORED, 3};

static _Atomic(struct qid_slot *) qid_table; /* published once */
static uint32_t qid_mask;
static pthread_mutex_t qid_build_lock = PTHREAD_MUTEX_INITIALIZER;
static int qid_build_rc = 1; /* 1 = not built yet */

#define QID_USER_MAX 4096
struct qid_user {
    struct qid_def def;
    char *name, *description;
};
static struct qid_user qid_users[QID_USER_MAX];
static _Atomic uint32_t qid_user_count;
static pthread_mutex_t qid_user_lock = PTHREAD_MUTEX_INITIALIZER;

static inline uint32_t qid_hash(uint32_t q)
{
    q ^= q >> 16;
    q *= 0x7feb352du;
    q ^= q >> 15;
    q *= 0x846ca68bu;
    q ^= q >> 16;
    return q;
}

/* Finds q in the table (or where it would go). */
static struct qid_slot *qid_probe(struct qid_slot *t, uint32_t mask, uint32_t q)
{
    uint32_t i = qid_hash(q) & mask;
    while (t[i].qid && t[i].qid != q)
        i = (i + 1) & mask;
    return &t[i];
}

/* The DSM that owns q in the registry, for error messages. */
static const char *qid_owner(uint32_t q)
{
    size_t n;
    const struct dsm_def *const *all = dsm_registry(&n);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < all[i]->n_qids; j++)
            if (all[i]->qids[j].qid == q) return all[i]->name;
    return "?";
}

static int qid_index_fill(void)
{
    size_t n, total = 1;
    const struct dsm_def *const *all = dsm_registry(&n);
    for (size_t i = 0; i < n; i++)
        total += all[i]->n_qids;
    uint32_t cap = 64;
    while (cap < total * 2)
        cap <<= 1;
    struct qid_slot *t = calloc(cap, sizeof *t);
    if (!t) return STRM_ERR_NOMEM;
    int rc = 0;
    uint32_t mask = cap - 1;
    qid_probe(t, mask, qid_generic.qid)->qid = qid_generic.qid;
    qid_probe(t, mask, qid_generic.qid)->def = &qid_generic;
    for (size_t i = 0; i < n; i++) {
        const struct dsm_def *d = all[i];
        for (size_t j = 0; j < d->n_qids; j++) {
            const struct qid_def *q = &d->qids[j];
            if (q->qid < DSM_QID(d->type_id, 0) || q->qid > DSM_QID_UNKNOWN(d->type_id)) {
                LOG_ERROR("dsm", "DSM %s: QID %u (%s) outside its range %u..%u", d->name, q->qid,
                          q->name ? q->name : "?", DSM_QID(d->type_id, 0),
                          DSM_QID_UNKNOWN(d->type_id));
                rc = STRM_ERR_INVAL;
                continue;
            }
            if (!q->name || !dsm_category_get(q->category) || q->category % 1000 == 0 ||
                q->severity > 10) {
                LOG_ERROR("dsm",
                          "DSM %s: QID %u (%s): unknown low-level category %u or "
                          "severity %u > 10",
                          d->name, q->qid, q->name ? q->name : "?", q->category, q->severity);
                rc = STRM_ERR_INVAL;
            }
            struct qid_slot *s = qid_probe(t, mask, q->qid);
            if (s->qid) {
                LOG_ERROR("dsm", "QID %u defined twice: by DSM %s (%s) and by DSM %s (%s)", q->qid,
                          qid_owner(q->qid), s->def->name, d->name, q->name);
                rc = STRM_ERR_INVAL;
                continue;
            }
            s->qid = q->qid;
            s->def = q;
        }
    }
    qid_mask = mask;
    atomic_store_explicit(&qid_table, t, memory_order_release);
    return rc;
}

int qid_index_build(void)
{
    pthread_mutex_lock(&qid_build_lock);
    if (qid_build_rc == 1 || !atomic_load(&qid_table)) qid_build_rc = qid_index_fill();
    int rc = qid_build_rc;
    pthread_mutex_unlock(&qid_build_lock);
    return rc;
}

const struct qid_def *qid_lookup(uint32_t qid)
{
    if (qid == QID_GENERIC_STORED) return &qid_generic;
    if (qid >= QID_USER_BASE) {
        uint32_t i = qid - QID_USER_BASE;
        if (i < atomic_load_explicit(&qid_user_count, memory_order_acquire))
            return &qid_users[i].def;
        return NULL;
    }
    struct qid_slot *t = atomic_load_explicit(&qid_table, memory_order_acquire);
    if (!t) {
        (void)qid_index_build(); /* errors were logged; the index holds the valid QIDs */
        t = atomic_load_explicit(&qid_table, memory_order_acquire);
        if (!t) return NULL;
    }
    if (qid == 0) return NULL;
    struct qid_slot *s = qid_probe(t, qid_mask, qid);
    return s->qid ? s->def : NULL;
}

int qid_add(const char *name, const char *description, uint16_t category, uint8_t severity,
            uint32_t *out)
{
    if (!name || !*name || !dsm_category_get(category) || category % 1000 == 0 || severity > 10)
        return STRM_ERR_INVAL;
    int rc = STRM_OK;
    pthread_mutex_lock(&qid_user_lock);
    uint32_t i = atomic_load_explicit(&qid_user_count, memory_order_relaxed);
    if (i >= QID_USER_MAX) {
        rc = STRM_ERR_FULL;
        goto out;
    }
    struct qid_user *u = &qid_users[i];
    u->name = strdup(name);
    u->description = strdup(description ? description : "");
    if (!u->name || !u->description) {
        free(u->name);
        free(u->description);
        u->name = u->description = NULL;
        rc = STRM_ERR_NOMEM;
        goto out;
    }
    u->def.qid = QID_USER_BASE + i;
    u->def.name = u->name;
    u->def.description = u->description;
    u->def.category = category;
    u->def.severity = severity;
    atomic_store_explicit(&qid_user_count, i + 1, memory_order_release);
    if (out) *out = QID_USER_BASE + i;
out:
    pthread_mutex_unlock(&qid_user_lock);
    return rc;
}
