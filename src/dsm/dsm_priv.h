/*
 * dsm_priv.h - private to src/dsm: the seams between the registry (dsm.c) and the QID index
 * (qid.c). Nothing outside this folder includes it.
 */
#ifndef STRM_DSM_PRIV_H
#define STRM_DSM_PRIV_H

#include "dsm/dsm.h"

/* Builds the registry list once (thread-safe, idempotent); returns it and its length. */
const struct dsm_def *const *dsm_registry(size_t *n);
/*
 * Indexes every registered DSM's QIDs (idempotent). Returns 0, or STRM_ERR_INVAL after
 * logging what is wrong (a QID owned by two DSMs, a QID outside its DSM's range, a QID whose
 * category is not in the category table).
 */
int qid_index_build(void);

/*
 * Common field names of generic formats (JSON, key=value): ECS-like dotted names
 * (source.ip, destination.port, user.name, event.action, @timestamp) and flat ones (src_ip,
 * dstip, spt, user, proto, action, ...), shared by dsm_json.c and dsm_kv.c. A gen_state
 * collects what the fields say about the event (action, outcome, level) to choose one of
 * the generic QIDs GEN_QID_* below; fields that are not normalized become properties.
 */
enum gen_qid {
    GEN_QID_PERMITTED = 1,
    GEN_QID_DENIED = 2,
    GEN_QID_AUTH_OK = 3,
    GEN_QID_AUTH_FAILED = 4,
    GEN_QID_NETWORK = 5,
    GEN_QID_ERROR = 6,
    GEN_QID_WARNING = 7,
    GEN_QID_INFO = 8,
};

/* The QID table rows of a generic DSM whose QIDs follow enum gen_qid; fmt is "JSON", "KV". */
#define GEN_QID_ROWS(type, fmt)                                                                    \
    {DSM_QID(type, GEN_QID_PERMITTED), fmt " Access Permitted",                                    \
     "A " fmt " event whose action allowed the access", LLC_ACCESS_PERMITTED, 1},                  \
        {DSM_QID(type, GEN_QID_DENIED), fmt " Access Denied",                                      \
         "A " fmt " event whose action denied, dropped or blocked", LLC_ACCESS_DENIED, 4},         \
        {DSM_QID(type, GEN_QID_AUTH_OK), fmt " Authentication Succeeded",                          \
         "A " fmt " login or authentication event with a successful outcome",                      \
         LLC_GENERAL_AUTH_SUCCEEDED, 1},                                                           \
        {DSM_QID(type, GEN_QID_AUTH_FAILED), fmt " Authentication Failed",                         \
         "A " fmt " login or authentication event with a failed outcome", LLC_GENERAL_AUTH_FAILED, \
         5},                                                                                       \
        {DSM_QID(type, GEN_QID_NETWORK), fmt " Network Communication",                             \
         "A " fmt " event with source and destination addresses and no action",                    \
         LLC_MISC_NETWORK_COMMUNICATION, 1},                                                       \
        {DSM_QID(type, GEN_QID_ERROR), fmt " Error", "A " fmt " event logged at error level",      \
         LLC_APPLICATION_ERROR, 5},                                                                \
        {DSM_QID(type, GEN_QID_WARNING), fmt " Warning",                                           \
         "A " fmt " event logged at warning level", LLC_SYSTEM_WARNING, 3},                        \
        {DSM_QID(type, GEN_QID_INFO), fmt " Information",                                          \
         "A " fmt " event logged at information, notice or debug level", LLC_APPLICATION_INFO, 1}, \
    {                                                                                              \
        DSM_QID_UNKNOWN(type), fmt " Unknown Event",                                               \
            "A " fmt " event without fields that tell what happened", LLC_UNKNOWN, 3               \
    }

struct gen_state {
    struct dsm_props props;
    bool has_src, has_dst, has_time, has_user;
    uint8_t action;  /* 0 none, 1 allowed, 2 denied */
    uint8_t outcome; /* 0 none, 1 success, 2 failure */
    uint8_t level;   /* 0 none, 1 info, 2 warning, 3 error */
    bool auth;       /* an action or category names a login/authentication */
};

void gen_init(struct gen_state *g);
/* Maps one field (a common name to its column, anything else to a property). */
void gen_field(struct gen_state *g, struct strm_event *ev, struct strm_arena *arena,
               const struct dsm_ctx *ctx, const char *k, size_t klen, const char *v, size_t vlen);
/* The QID the collected fields point to (DSM_QID(type, enum gen_qid) or the unknown QID). */
uint32_t gen_qid(const struct gen_state *g, uint16_t type);

/* Device time from text in any of the common formats (ISO 8601, epoch, Y-M-D, CLF...). */
bool gen_time(const char *v, size_t vlen, int tz_min, int64_t *ms);

#endif
