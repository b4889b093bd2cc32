/*
 * logsource.c - the log source registry: which sender is which device, auto-discovery of
 * unknown senders, per-source counters, and their home in the configuration database.
 *
 * A log source is keyed by its identifier: the hostname of the syslog header, or the
 * sender's address text when the header has none (syslog_parse puts either into
 * ev->hostname); identifiers compare case-insensitively and are unique. Its type is a DSM
 * type id (the devicetype column), which becomes the DSM hint for its events; its time zone
 * (when set) is the zone DSMs assume for device times without one. Lines the hinted DSM does
 * not take go through dsm_parse_memo with a per-thread memo, so a sender that mixes formats
 * does not pay a walk over every DSM per line.
 *
 * Threads and data:
 *  - Every log source has one `struct ls_rec`, allocated when it is created and freed only
 *    when the registry closes. Its live counters (events, first/last seen) are atomics that
 *    parser threads add to once per batch; its configuration fields change only under
 *    reg->lock. Replaced strings (an edited name or group) go to a graveyard freed at close,
 *    so a pointer handed out by logsource_name stays valid while the registry is open.
 *  - Parser threads never look at the recs' mutable fields: they read an immutable
 *    snapshot (an array of entries plus two open-addressing hashes, by identifier and by id)
 *    under a read lock taken once per batch. A change builds a new snapshot under reg->lock
 *    and swaps it in under the write lock (writer-preferring, so a busy pipeline cannot
 *    starve it); the old one is freed right after, when no reader can hold it any more.
 *  - Unknown senders are tracked in a hash under unk_lock, updated once per batch from a
 *    per-batch aggregate (one lock per batch, not per event). When one DSM has recognized
 *    logsources.autodetect_events events of a sender, the log source is created - after the
 *    batch's read lock is released, since creating one takes the write lock.
 *  - SQLite (reg->db) is used under reg->lock only: at open (load), on management changes,
 *    and by logsource_sync, which writes the counters every few seconds, never per event.
 *
 * Auto-discovery (ARCHITECTURE.md section 4): until its log source exists, a sender's events
 * keep the DSM normalization they got (the analyst sees QID names, addresses, users at once)
 * but carry logsourceid 0. A sender whose events no DSM recognizes is reported once, with a
 * warning and the counter unknown_senders_reported, after logsources.unknown_report such
 * events. Disabled log sources: their events are stored (never silently lost) and counted,
 * with their logsourceid, but not normalized: they get the SIM Generic QID.
 *
 * Database (<data_dir>/config.db, WAL journal, schema version in PRAGMA user_version):
 *   logsources(id, identifier UNIQUE NOCASE, type, name, grp, tz_min NULL=unset, enabled,
 *              coalesce, auto, first_seen, last_seen, events, created)
 *   user_qids(qid, name, description, category, severity, created)
 */
#include "collect/collect.h"
#include "dsm/dsm.h"

#include <ctype.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#define XXH_INLINE_ALL /* inlined hashing: it runs per event */
#include <xxhash.h>

#define LS_SCHEMA_VERSION 1
#define LS_MAX_TYPES 10000 /* DSM type ids are 1..9999 */
#define LS_UNK_MAX 65536   /* unknown senders tracked at once */
#define LS_UNK_TYPES 8     /* DSMs counted per unknown sender */

/* ---------------------------------------------------------------- types */

struct ls_rec {
    uint32_t id;
    uint16_t type;
    int32_t tz_min;
    bool enabled, coalesce, autodiscovered;
    char *identifier;
    char *name;
    char *group;
    _Atomic uint64_t events;
    _Atomic int64_t first_seen;
    _Atomic int64_t last_seen;
    uint64_t synced_events; /* what the database holds; under reg->lock */
    int64_t synced_first, synced_last;
};

struct ls_ent { /* a snapshot's copy of what the hot path needs */
    uint32_t id;
    uint16_t type;
    int32_t tz_min;
    bool enabled, coalesce;
    uint32_t idlen;
    uint64_t hash;
    const char *identifier;
    const char *name;
    struct ls_rec *rec;
};

struct ls_snap {
    uint32_t n;
    uint32_t mask;
    struct ls_ent *ents;
    uint32_t *by_ident; /* entry index + 1, 0 = empty */
    uint32_t *by_id;
};

struct unk {
    struct unk *next;
    uint64_t hash;
    uint16_t types[LS_UNK_TYPES];
    uint32_t counts[LS_UNK_TYPES];
    uint64_t unrecognized;
    int64_t first_seen;
    bool reported;
    uint16_t idlen;
    char ident[LOGSOURCE_MAX_IDENT + 1];
};

struct grave {
    struct grave *next;
    char *p;
};

struct logsource_registry {
    struct logsource_options opt;
    char db_path[4200];
    sqlite3 *db; /* NULL: read-only and no file */
    pthread_mutex_t lock;
    pthread_rwlock_t snap_lock;
    struct ls_snap *snap; /* read under snap_lock */
    struct ls_rec **recs; /* by creation order; under lock */
    size_t nrecs, caprecs;
    struct grave *graves;
    pthread_mutex_t unk_lock;
    struct unk **unk_tab;
    uint32_t unk_mask;
    uint32_t unk_n;
    _Atomic uint64_t unk_untracked;
    _Atomic uint64_t *per_type; /* events recognized per DSM type id */
    int64_t last_sync;
};

/* ---------------------------------------------------------------- small helpers */

static void seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || !errlen) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* ASCII case folding: the C locale's tolower, without its per-byte call. */
static inline char ident_lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c + ('a' - 'A')) : c;
}

static uint64_t ident_hash(const char *p, size_t len)
{
    char low[LOGSOURCE_MAX_IDENT + 1];
    if (len > LOGSOURCE_MAX_IDENT) len = LOGSOURCE_MAX_IDENT;
    for (size_t i = 0; i < len; i++)
        low[i] = ident_lower(p[i]);
    return XXH3_64bits(low, len);
}

/* Identifiers match case-insensitively; most senders spell theirs as stored. An identifier
 * of 8 to 16 bytes (most host names and addresses) is compared as two overlapping words,
 * not by a call: this runs for every event. */
static inline bool ident_eq(const char *a, const char *b, size_t len)
{
    if (len >= 8 && len <= 16) {
        uint64_t a0, a1, b0, b1;
        memcpy(&a0, a, 8);
        memcpy(&a1, a + len - 8, 8);
        memcpy(&b0, b, 8);
        memcpy(&b1, b + len - 8, 8);
        if (a0 == b0 && a1 == b1) return true;
    } else if (memcmp(a, b, len) == 0) {
        return true;
    }
    return strncasecmp(a, b, len) == 0;
}

static uint32_t id_hash(uint32_t id)
{
    id ^= id >> 16;
    id *= 0x7feb352du;
    id ^= id >> 15;
    return id;
}

static char *xstrdup(const char *s)
{
    size_t n = strlen(s);
    char *p = malloc(n + 1);
    if (p) memcpy(p, s, n + 1);
    return p;
}

/* Collector's local UTC offset in minutes, recomputed at most once a minute per thread. */
static int local_tz_min(void)
{
    static __thread int64_t at = INT64_MIN;
    static __thread int cached;
    int64_t now = strm_mono_ms();
    if (at == INT64_MIN || now - at >= 60000) {
        time_t t = time(NULL);
        struct tm tm;
        cached = localtime_r(&t, &tm) ? (int)(tm.tm_gmtoff / 60) : 0;
        at = now;
    }
    return cached;
}

int logsource_tz_parse(const char *s, int32_t *out_min)
{
    if (!s) return STRM_ERR_INVAL;
    if (!strcasecmp(s, "UTC") || !strcasecmp(s, "GMT") || !strcmp(s, "Z") || !strcmp(s, "0")) {
        *out_min = 0;
        return 0;
    }
    int sign;
    if (s[0] == '+')
        sign = 1;
    else if (s[0] == '-')
        sign = -1;
    else
        return STRM_ERR_INVAL;
    const char *p = s + 1;
    int hh = 0, mm = 0, nd = 0;
    while (isdigit((unsigned char)*p) && nd < 2) {
        hh = hh * 10 + (*p++ - '0');
        nd++;
    }
    if (nd == 0) return STRM_ERR_INVAL;
    if (*p == ':') p++;
    if (*p) {
        if (!isdigit((unsigned char)p[0]) || !isdigit((unsigned char)p[1]) || p[2])
            return STRM_ERR_INVAL;
        mm = (p[0] - '0') * 10 + (p[1] - '0');
    }
    if (hh > 14 || mm > 59 || hh * 60 + mm > 14 * 60) return STRM_ERR_INVAL;
    *out_min = sign * (hh * 60 + mm);
    return 0;
}

void logsource_tz_format(int32_t tz_min, char *buf, size_t size)
{
    if (tz_min == LOGSOURCE_TZ_UNSET) {
        snprintf(buf, size, "-");
        return;
    }
    int a = tz_min < 0 ? -tz_min : tz_min;
    snprintf(buf, size, "%c%02d:%02d", tz_min < 0 ? '-' : '+', a / 60 % 100, a % 60);
}

/* ---------------------------------------------------------------- snapshots */

static void snap_free(struct ls_snap *s)
{
    if (!s) return;
    free(s->ents);
    free(s->by_ident);
    free(s->by_id);
    free(s);
}

static const struct ls_ent *snap_find_ident(const struct ls_snap *s, const char *p, size_t len,
                                            uint64_t h)
{
    if (!s || !s->n) return NULL;
    for (uint32_t i = (uint32_t)h & s->mask;; i = (i + 1) & s->mask) {
        uint32_t v = s->by_ident[i];
        if (!v) return NULL;
        const struct ls_ent *e = &s->ents[v - 1];
        if (e->hash == h && e->idlen == len && ident_eq(e->identifier, p, len)) return e;
    }
}

static const struct ls_ent *snap_find_id(const struct ls_snap *s, uint32_t id)
{
    if (!s || !s->n || !id) return NULL;
    for (uint32_t i = id_hash(id) & s->mask;; i = (i + 1) & s->mask) {
        uint32_t v = s->by_id[i];
        if (!v) return NULL;
        if (s->ents[v - 1].id == id) return &s->ents[v - 1];
    }
}

/* Builds a snapshot of reg->recs; caller holds reg->lock. */
static struct ls_snap *snap_build(struct logsource_registry *reg)
{
    struct ls_snap *s = calloc(1, sizeof(*s));
    if (!s) return NULL;
    uint32_t size = 16;
    while (size < reg->nrecs * 2 + 2)
        size <<= 1;
    s->mask = size - 1;
    s->ents = calloc(reg->nrecs ? reg->nrecs : 1, sizeof(*s->ents));
    s->by_ident = calloc(size, sizeof(uint32_t));
    s->by_id = calloc(size, sizeof(uint32_t));
    if (!s->ents || !s->by_ident || !s->by_id) {
        snap_free(s);
        return NULL;
    }
    for (size_t i = 0; i < reg->nrecs; i++) {
        struct ls_rec *r = reg->recs[i];
        struct ls_ent *e = &s->ents[s->n];
        e->id = r->id;
        e->type = r->type;
        e->tz_min = r->tz_min;
        e->enabled = r->enabled;
        e->coalesce = r->coalesce;
        e->identifier = r->identifier;
        e->idlen = (uint32_t)strlen(r->identifier);
        e->hash = ident_hash(r->identifier, e->idlen);
        e->name = r->name;
        e->rec = r;
        uint32_t k = (uint32_t)e->hash & s->mask;
        while (s->by_ident[k])
            k = (k + 1) & s->mask;
        s->by_ident[k] = s->n + 1;
        k = id_hash(e->id) & s->mask;
        while (s->by_id[k])
            k = (k + 1) & s->mask;
        s->by_id[k] = s->n + 1;
        s->n++;
    }
    return s;
}

/* Publishes a new snapshot of the recs; caller holds reg->lock. */
static int publish(struct logsource_registry *reg)
{
    struct ls_snap *s = snap_build(reg);
    if (!s) return STRM_ERR_NOMEM;
    pthread_rwlock_wrlock(&reg->snap_lock);
    struct ls_snap *old = reg->snap;
    reg->snap = s;
    pthread_rwlock_unlock(&reg->snap_lock);
    snap_free(old);
    return 0;
}

static struct ls_rec *rec_find_ident(struct logsource_registry *reg, const char *ident)
{
    for (size_t i = 0; i < reg->nrecs; i++)
        if (!strcasecmp(reg->recs[i]->identifier, ident)) return reg->recs[i];
    return NULL;
}

static struct ls_rec *rec_find_id(struct logsource_registry *reg, uint32_t id)
{
    for (size_t i = 0; i < reg->nrecs; i++)
        if (reg->recs[i]->id == id) return reg->recs[i];
    return NULL;
}

static void rec_free(struct ls_rec *r)
{
    if (!r) return;
    free(r->identifier);
    free(r->name);
    free(r->group);
    free(r);
}

static int rec_push(struct logsource_registry *reg, struct ls_rec *r)
{
    if (reg->nrecs == reg->caprecs) {
        size_t ncap = reg->caprecs ? reg->caprecs * 2 : 64;
        struct ls_rec **n = realloc(reg->recs, ncap * sizeof(*n));
        if (!n) return STRM_ERR_NOMEM;
        reg->recs = n;
        reg->caprecs = ncap;
    }
    reg->recs[reg->nrecs++] = r;
    return 0;
}

static void bury(struct logsource_registry *reg, char *p)
{
    struct grave *g = malloc(sizeof(*g));
    if (!g) return; /* leak the string rather than free it under a reader */
    g->p = p;
    g->next = reg->graves;
    reg->graves = g;
}

/* ---------------------------------------------------------------- database */

static int db_exec(sqlite3 *db, const char *sql, char *err, size_t errlen)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        seterr(err, errlen, "%s", msg ? msg : sqlite3_errmsg(db));
        sqlite3_free(msg);
        return STRM_ERR_IO;
    }
    return 0;
}

static const char schema_v1[] = "CREATE TABLE IF NOT EXISTS logsources ("
                                " id INTEGER PRIMARY KEY AUTOINCREMENT,"
                                " identifier TEXT NOT NULL UNIQUE COLLATE NOCASE,"
                                " type INTEGER NOT NULL,"
                                " name TEXT NOT NULL,"
                                " grp TEXT NOT NULL DEFAULT '',"
                                " tz_min INTEGER,"
                                " enabled INTEGER NOT NULL DEFAULT 1,"
                                " coalesce INTEGER NOT NULL DEFAULT 1,"
                                " auto INTEGER NOT NULL DEFAULT 0,"
                                " first_seen INTEGER NOT NULL DEFAULT 0,"
                                " last_seen INTEGER NOT NULL DEFAULT 0,"
                                " events INTEGER NOT NULL DEFAULT 0,"
                                " created INTEGER NOT NULL DEFAULT 0);"
                                "CREATE TABLE IF NOT EXISTS user_qids ("
                                " qid INTEGER PRIMARY KEY,"
                                " name TEXT NOT NULL,"
                                " description TEXT NOT NULL DEFAULT '',"
                                " category INTEGER NOT NULL,"
                                " severity INTEGER NOT NULL,"
                                " created INTEGER NOT NULL DEFAULT 0);";

static int db_open(struct logsource_registry *reg, char *err, size_t errlen)
{
    const char *path = reg->db_path;
    if (reg->opt.read_only && access(path, F_OK) != 0)
        return 0; /* nothing stored yet: an empty registry */
    int flags =
        reg->opt.read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    if (sqlite3_open_v2(path, &reg->db, flags | SQLITE_OPEN_FULLMUTEX, NULL) != SQLITE_OK) {
        seterr(err, errlen, "cannot open %s: %s", path,
               reg->db ? sqlite3_errmsg(reg->db) : "out of memory");
        return STRM_ERR_IO;
    }
    sqlite3_busy_timeout(reg->db, 5000);
    char e2[512];
    sqlite3_stmt *st = NULL;
    int version = 0;
    if (sqlite3_prepare_v2(reg->db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        version = sqlite3_column_int(st, 0);
    else {
        sqlite3_finalize(st);
        seterr(err, errlen, "%s is not a usable SQLite database: %s", path,
               sqlite3_errmsg(reg->db));
        return STRM_ERR_CORRUPT;
    }
    sqlite3_finalize(st);
    if (version > LS_SCHEMA_VERSION) {
        seterr(err, errlen, "%s has schema version %d; this strm knows up to %d", path, version,
               LS_SCHEMA_VERSION);
        return STRM_ERR_INVAL;
    }
    if (reg->opt.read_only) return 0;
    if (db_exec(reg->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", e2, sizeof(e2)) !=
            0 ||
        db_exec(reg->db, "BEGIN IMMEDIATE", e2, sizeof(e2)) != 0) {
        seterr(err, errlen, "%s: %s", path, e2);
        return STRM_ERR_IO;
    }
    if (version < 1 && (db_exec(reg->db, schema_v1, e2, sizeof(e2)) != 0 ||
                        db_exec(reg->db, "PRAGMA user_version=1", e2, sizeof(e2)) != 0)) {
        db_exec(reg->db, "ROLLBACK", NULL, 0);
        seterr(err, errlen, "%s: creating the schema: %s", path, e2);
        return STRM_ERR_IO;
    }
    if (db_exec(reg->db, "COMMIT", e2, sizeof(e2)) != 0) {
        seterr(err, errlen, "%s: %s", path, e2);
        return STRM_ERR_IO;
    }
    return 0;
}

static const char *col_text(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? (const char *)t : "";
}

static int db_load(struct logsource_registry *reg, char *err, size_t errlen)
{
    if (!reg->db) return 0;
    sqlite3_stmt *st = NULL;
    const char *sql = "SELECT id, identifier, type, name, grp, tz_min, enabled, coalesce, auto,"
                      " first_seen, last_seen, events FROM logsources ORDER BY id";
    if (sqlite3_prepare_v2(reg->db, sql, -1, &st, NULL) != SQLITE_OK) {
        /* a read-only open of a database created by nobody yet has no tables */
        if (reg->opt.read_only) return 0;
        seterr(err, errlen, "%s: %s", reg->db_path, sqlite3_errmsg(reg->db));
        return STRM_ERR_CORRUPT;
    }
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct ls_rec *r = calloc(1, sizeof(*r));
        if (!r) goto nomem;
        r->id = (uint32_t)sqlite3_column_int64(st, 0);
        r->identifier = xstrdup(col_text(st, 1));
        r->type = (uint16_t)sqlite3_column_int(st, 2);
        r->name = xstrdup(col_text(st, 3));
        r->group = xstrdup(col_text(st, 4));
        r->tz_min = sqlite3_column_type(st, 5) == SQLITE_NULL ? LOGSOURCE_TZ_UNSET
                                                              : sqlite3_column_int(st, 5);
        r->enabled = sqlite3_column_int(st, 6) != 0;
        r->coalesce = sqlite3_column_int(st, 7) != 0;
        r->autodiscovered = sqlite3_column_int(st, 8) != 0;
        r->synced_first = sqlite3_column_int64(st, 9);
        r->synced_last = sqlite3_column_int64(st, 10);
        r->synced_events = (uint64_t)sqlite3_column_int64(st, 11);
        atomic_store(&r->first_seen, r->synced_first);
        atomic_store(&r->last_seen, r->synced_last);
        atomic_store(&r->events, r->synced_events);
        if (!r->identifier || !r->name || !r->group || rec_push(reg, r) != 0) {
            rec_free(r);
            goto nomem;
        }
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        seterr(err, errlen, "%s: reading log sources: %s", reg->db_path, sqlite3_errmsg(reg->db));
        return STRM_ERR_IO;
    }
    return 0;
nomem:
    sqlite3_finalize(st);
    seterr(err, errlen, "out of memory loading log sources");
    return STRM_ERR_NOMEM;
}

static int db_load_qids(struct logsource_registry *reg, char *err, size_t errlen)
{
    if (!reg->db) return 0;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(reg->db,
                           "SELECT qid, name, description, category, severity FROM user_qids "
                           "ORDER BY qid",
                           -1, &st, NULL) != SQLITE_OK)
        return reg->opt.read_only ? 0 : STRM_ERR_CORRUPT;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        uint32_t want = (uint32_t)sqlite3_column_int64(st, 0), got = 0;
        if (qid_add(col_text(st, 1), col_text(st, 2), (uint16_t)sqlite3_column_int(st, 3),
                    (uint8_t)sqlite3_column_int(st, 4), &got) != 0) {
            LOG_WARN("logsource", "%s: user QID %" PRIu32 " '%s' could not be loaded", reg->db_path,
                     want, col_text(st, 1));
            continue;
        }
        if (got != want)
            LOG_WARN("logsource", "%s: user QID '%s' stored as %" PRIu32 " is now %" PRIu32,
                     reg->db_path, col_text(st, 1), want, got);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        seterr(err, errlen, "%s: reading user QIDs: %s", reg->db_path, sqlite3_errmsg(reg->db));
        return STRM_ERR_IO;
    }
    return 0;
}

/* ---------------------------------------------------------------- open / close */

int logsource_open(const struct logsource_options *opt, struct logsource_registry **out, char *err,
                   size_t errlen)
{
    *out = NULL;
    struct logsource_registry *reg = calloc(1, sizeof(*reg));
    if (!reg) {
        seterr(err, errlen, "out of memory");
        return STRM_ERR_NOMEM;
    }
    reg->opt = *opt;
    if (reg->opt.autodetect_events <= 0) reg->opt.autodetect_events = 25;
    if (reg->opt.unknown_report <= 0) reg->opt.unknown_report = 1000;
    snprintf(reg->db_path, sizeof(reg->db_path), "%s", opt->db_path ? opt->db_path : "");
    pthread_mutex_init(&reg->lock, NULL);
    pthread_mutex_init(&reg->unk_lock, NULL);
    pthread_rwlockattr_t ra;
    pthread_rwlockattr_init(&ra);
    pthread_rwlockattr_setkind_np(&ra, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&reg->snap_lock, &ra);
    pthread_rwlockattr_destroy(&ra);
    reg->unk_mask = 1023;
    reg->unk_tab = calloc(reg->unk_mask + 1, sizeof(*reg->unk_tab));
    reg->per_type = calloc(LS_MAX_TYPES, sizeof(*reg->per_type));
    if (!reg->unk_tab || !reg->per_type) {
        seterr(err, errlen, "out of memory");
        logsource_close(reg);
        return STRM_ERR_NOMEM;
    }
    int rc = db_open(reg, err, errlen);
    if (rc == 0) rc = db_load(reg, err, errlen);
    if (rc == 0 && opt->load_qids) rc = db_load_qids(reg, err, errlen);
    if (rc == 0) {
        pthread_mutex_lock(&reg->lock);
        rc = publish(reg);
        pthread_mutex_unlock(&reg->lock);
        if (rc) seterr(err, errlen, "out of memory");
    }
    if (rc) {
        logsource_close(reg);
        return rc;
    }
    reg->last_sync = strm_mono_ms();
    *out = reg;
    return 0;
}

void logsource_close(struct logsource_registry *reg)
{
    if (!reg) return;
    if (reg->db && !reg->opt.read_only) logsource_sync(reg, 0);
    if (reg->db) sqlite3_close(reg->db);
    snap_free(reg->snap);
    for (size_t i = 0; i < reg->nrecs; i++)
        rec_free(reg->recs[i]);
    free(reg->recs);
    while (reg->graves) {
        struct grave *g = reg->graves;
        reg->graves = g->next;
        free(g->p);
        free(g);
    }
    if (reg->unk_tab) {
        for (uint32_t i = 0; i <= reg->unk_mask; i++) {
            struct unk *u = reg->unk_tab[i];
            while (u) {
                struct unk *nx = u->next;
                free(u);
                u = nx;
            }
        }
    }
    free(reg->unk_tab);
    free((void *)reg->per_type);
    pthread_rwlock_destroy(&reg->snap_lock);
    pthread_mutex_destroy(&reg->lock);
    pthread_mutex_destroy(&reg->unk_lock);
    free(reg);
}

/* ---------------------------------------------------------------- creating and editing */

static bool type_valid(uint16_t type)
{
    return type > 0 && type < LS_MAX_TYPES && dsm_by_type(type) != NULL;
}

/* Inserts r (id assigned by the database, or the next free one without a database) and
 * publishes it. Caller holds reg->lock; r is the registry's on success. */
static int rec_insert(struct logsource_registry *reg, struct ls_rec *r, int64_t now, char *err,
                      size_t errlen)
{
    if (reg->opt.read_only) {
        seterr(err, errlen, "the configuration database is open read-only");
        return STRM_ERR_INVAL;
    }
    if (reg->db) {
        sqlite3_stmt *st = NULL;
        const char *sql = "INSERT INTO logsources (identifier, type, name, grp, tz_min, enabled,"
                          " coalesce, auto, first_seen, last_seen, events, created)"
                          " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?)";
        if (sqlite3_prepare_v2(reg->db, sql, -1, &st, NULL) != SQLITE_OK) {
            seterr(err, errlen, "%s: %s", reg->db_path, sqlite3_errmsg(reg->db));
            return STRM_ERR_IO;
        }
        int64_t first = atomic_load(&r->first_seen), last = atomic_load(&r->last_seen);
        sqlite3_bind_text(st, 1, r->identifier, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 2, r->type);
        sqlite3_bind_text(st, 3, r->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, r->group, -1, SQLITE_STATIC);
        if (r->tz_min == LOGSOURCE_TZ_UNSET)
            sqlite3_bind_null(st, 5);
        else
            sqlite3_bind_int(st, 5, r->tz_min);
        sqlite3_bind_int(st, 6, r->enabled);
        sqlite3_bind_int(st, 7, r->coalesce);
        sqlite3_bind_int(st, 8, r->autodiscovered);
        sqlite3_bind_int64(st, 9, first);
        sqlite3_bind_int64(st, 10, last);
        sqlite3_bind_int64(st, 11, now);
        int rc = sqlite3_step(st);
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE) {
            seterr(err, errlen, "%s: adding log source '%s': %s", reg->db_path, r->identifier,
                   sqlite3_errmsg(reg->db));
            return STRM_ERR_IO;
        }
        r->id = (uint32_t)sqlite3_last_insert_rowid(reg->db);
        r->synced_first = first;
        r->synced_last = last;
    } else {
        uint32_t max = 0;
        for (size_t i = 0; i < reg->nrecs; i++)
            if (reg->recs[i]->id > max) max = reg->recs[i]->id;
        r->id = max + 1;
    }
    if (rec_push(reg, r) != 0) {
        seterr(err, errlen, "out of memory");
        return STRM_ERR_NOMEM;
    }
    /* r is the registry's now; without memory for a new snapshot the hot path sees it at
     * the next change. */
    if (publish(reg) != 0)
        LOG_WARN("logsource", "out of memory publishing log source %" PRIu32, r->id);
    return 0;
}

static void default_name(char *buf, size_t size, uint16_t type, const char *ident)
{
    const struct dsm_def *d = dsm_by_type(type);
    char tmp[LOGSOURCE_MAX_NAME + LOGSOURCE_MAX_IDENT + 64];
    size_t n = (size_t)snprintf(tmp, sizeof(tmp), "%.*s @ %s", 60,
                                d && d->display ? d->display : "Unknown", ident);
    if (n >= size) n = size - 1; /* names are cut at LOGSOURCE_MAX_NAME bytes */
    memcpy(buf, tmp, n);
    buf[n] = '\0';
}

int logsource_add(struct logsource_registry *reg, const struct logsource_info *in, uint32_t *out_id,
                  char *err, size_t errlen)
{
    size_t idlen = strnlen(in->identifier, sizeof(in->identifier));
    if (idlen == 0 || idlen > LOGSOURCE_MAX_IDENT) {
        seterr(err, errlen, "identifier must be 1 to %d bytes", LOGSOURCE_MAX_IDENT);
        return STRM_ERR_INVAL;
    }
    if (!type_valid(in->type)) {
        seterr(err, errlen, "unknown log source type %u", in->type);
        return STRM_ERR_INVAL;
    }
    char name[LOGSOURCE_MAX_NAME + 1];
    if (in->name[0])
        snprintf(name, sizeof(name), "%s", in->name);
    else
        default_name(name, sizeof(name), in->type, in->identifier);
    struct ls_rec *r = calloc(1, sizeof(*r));
    if (!r) {
        seterr(err, errlen, "out of memory");
        return STRM_ERR_NOMEM;
    }
    r->identifier = xstrdup(in->identifier);
    r->name = xstrdup(name);
    r->group = xstrdup(in->group);
    r->type = in->type;
    r->tz_min = in->tz_min;
    r->enabled = in->enabled;
    r->coalesce = in->coalesce;
    r->autodiscovered = in->autodiscovered;
    atomic_store(&r->first_seen, in->first_seen);
    atomic_store(&r->last_seen, in->last_seen);
    if (!r->identifier || !r->name || !r->group) {
        rec_free(r);
        seterr(err, errlen, "out of memory");
        return STRM_ERR_NOMEM;
    }
    pthread_mutex_lock(&reg->lock);
    int rc;
    struct ls_rec *dup = rec_find_ident(reg, r->identifier);
    if (dup) {
        seterr(err, errlen, "identifier '%s' already belongs to log source %" PRIu32 " (%s)",
               r->identifier, dup->id, dup->name);
        rc = STRM_ERR_INVAL;
    } else {
        rc = rec_insert(reg, r, strm_now_ms(), err, errlen);
    }
    uint32_t id = r->id;
    pthread_mutex_unlock(&reg->lock);
    if (rc) {
        rec_free(r);
        return rc;
    }
    if (out_id) *out_id = id;
    return 0;
}

static int replace_str(struct logsource_registry *reg, char **slot, const char *v)
{
    if (!strcmp(*slot, v)) return 0;
    char *n = xstrdup(v);
    if (!n) return STRM_ERR_NOMEM;
    bury(reg, *slot);
    *slot = n;
    return 0;
}

int logsource_update(struct logsource_registry *reg, const struct logsource_info *in, char *err,
                     size_t errlen)
{
    if (reg->opt.read_only) {
        seterr(err, errlen, "the configuration database is open read-only");
        return STRM_ERR_INVAL;
    }
    pthread_mutex_lock(&reg->lock);
    int rc = 0;
    struct ls_rec *r = rec_find_id(reg, in->id);
    if (!r) {
        seterr(err, errlen, "no log source with id %" PRIu32, in->id);
        rc = STRM_ERR_INVAL;
        goto out;
    }
    if (reg->db) {
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(reg->db,
                               "UPDATE logsources SET name=?, grp=?, tz_min=?, enabled=?, "
                               "coalesce=? WHERE id=?",
                               -1, &st, NULL) != SQLITE_OK) {
            seterr(err, errlen, "%s: %s", reg->db_path, sqlite3_errmsg(reg->db));
            rc = STRM_ERR_IO;
            goto out;
        }
        sqlite3_bind_text(st, 1, in->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, in->group, -1, SQLITE_STATIC);
        if (in->tz_min == LOGSOURCE_TZ_UNSET)
            sqlite3_bind_null(st, 3);
        else
            sqlite3_bind_int(st, 3, in->tz_min);
        sqlite3_bind_int(st, 4, in->enabled);
        sqlite3_bind_int(st, 5, in->coalesce);
        sqlite3_bind_int64(st, 6, in->id);
        int s = sqlite3_step(st);
        sqlite3_finalize(st);
        if (s != SQLITE_DONE) {
            seterr(err, errlen, "%s: updating log source %" PRIu32 ": %s", reg->db_path, in->id,
                   sqlite3_errmsg(reg->db));
            rc = STRM_ERR_IO;
            goto out;
        }
    }
    if (replace_str(reg, &r->name, in->name) != 0 || replace_str(reg, &r->group, in->group) != 0) {
        seterr(err, errlen, "out of memory");
        rc = STRM_ERR_NOMEM;
        goto out;
    }
    r->tz_min = in->tz_min;
    r->enabled = in->enabled;
    r->coalesce = in->coalesce;
    rc = publish(reg);
    if (rc) seterr(err, errlen, "out of memory");
out:
    pthread_mutex_unlock(&reg->lock);
    return rc;
}

static void rec_info(const struct ls_rec *r, struct logsource_info *o)
{
    memset(o, 0, sizeof(*o));
    o->id = r->id;
    snprintf(o->identifier, sizeof(o->identifier), "%s", r->identifier);
    o->type = r->type;
    snprintf(o->name, sizeof(o->name), "%s", r->name);
    snprintf(o->group, sizeof(o->group), "%s", r->group);
    o->tz_min = r->tz_min;
    o->enabled = r->enabled;
    o->coalesce = r->coalesce;
    o->autodiscovered = r->autodiscovered;
    o->first_seen = atomic_load(&r->first_seen);
    o->last_seen = atomic_load(&r->last_seen);
    o->events = atomic_load(&r->events);
}

int logsource_get(struct logsource_registry *reg, uint32_t id, struct logsource_info *out)
{
    pthread_mutex_lock(&reg->lock);
    struct ls_rec *r = rec_find_id(reg, id);
    if (r) rec_info(r, out);
    pthread_mutex_unlock(&reg->lock);
    return r ? 0 : STRM_ERR_INVAL;
}

static int cmp_info(const void *a, const void *b)
{
    uint32_t x = ((const struct logsource_info *)a)->id, y = ((const struct logsource_info *)b)->id;
    return (x > y) - (x < y);
}

int logsource_list(struct logsource_registry *reg, struct logsource_info **out, size_t *n)
{
    pthread_mutex_lock(&reg->lock);
    struct logsource_info *v = calloc(reg->nrecs ? reg->nrecs : 1, sizeof(*v));
    if (!v) {
        pthread_mutex_unlock(&reg->lock);
        return STRM_ERR_NOMEM;
    }
    for (size_t i = 0; i < reg->nrecs; i++)
        rec_info(reg->recs[i], &v[i]);
    *n = reg->nrecs;
    pthread_mutex_unlock(&reg->lock);
    qsort(v, *n, sizeof(*v), cmp_info);
    *out = v;
    return 0;
}

bool logsource_coalesce_default(const struct logsource_registry *reg)
{
    return reg->opt.coalesce_default;
}

const char *logsource_name(struct logsource_registry *reg, uint32_t id)
{
    if (!reg) return NULL;
    pthread_rwlock_rdlock(&reg->snap_lock);
    const struct ls_ent *e = snap_find_id(reg->snap, id);
    const char *name = e ? e->name : NULL;
    pthread_rwlock_unlock(&reg->snap_lock);
    return name;
}

/* ---------------------------------------------------------------- auto-discovery */

struct create_req {
    char ident[LOGSOURCE_MAX_IDENT + 1];
    uint16_t type;
    int64_t first_seen, last_seen;
};

static void create_auto(struct logsource_registry *reg, const struct create_req *cr)
{
    struct logsource_info in;
    memset(&in, 0, sizeof(in));
    snprintf(in.identifier, sizeof(in.identifier), "%s", cr->ident);
    in.type = cr->type;
    in.tz_min = LOGSOURCE_TZ_UNSET;
    in.enabled = true;
    in.coalesce = reg->opt.coalesce_default;
    in.autodiscovered = true;
    in.first_seen = cr->first_seen;
    in.last_seen = cr->last_seen;
    pthread_mutex_lock(&reg->lock);
    bool exists = rec_find_ident(reg, cr->ident) != NULL;
    pthread_mutex_unlock(&reg->lock);
    char err[512];
    uint32_t id = 0;
    if (!exists) {
        if (logsource_add(reg, &in, &id, err, sizeof(err)) != 0) {
            LOG_ERROR("logsource", "cannot create a log source for '%s': %s", cr->ident, err);
            return;
        }
        char name[LOGSOURCE_MAX_NAME + 1];
        default_name(name, sizeof(name), cr->type, cr->ident);
        const struct dsm_def *d = dsm_by_type(cr->type);
        LOG_INFO("logsource", "log source created: %s (type %s, id %" PRIu32 ")", name,
                 d ? d->name : "?", id);
        if (reg->opt.stats) STRM_STAT_ADD(reg->opt.stats, logsources_created, 1);
    }
    /* The sender is known now: forget its discovery state. */
    uint64_t h = ident_hash(cr->ident, strlen(cr->ident));
    size_t len = strlen(cr->ident);
    pthread_mutex_lock(&reg->unk_lock);
    struct unk **pp = &reg->unk_tab[h & reg->unk_mask];
    while (*pp) {
        struct unk *u = *pp;
        if (u->hash == h && u->idlen == len && !strncasecmp(u->ident, cr->ident, len)) {
            *pp = u->next;
            free(u);
            reg->unk_n--;
            break;
        }
        pp = &u->next;
    }
    pthread_mutex_unlock(&reg->unk_lock);
}

/* One sender's events of one batch, by DSM type (0 = recognized by none). */
struct unk_agg {
    const char *ident;
    uint32_t len;
    uint16_t type;
    uint64_t hash;
    uint32_t n;
    int64_t first, last;
    uint64_t base; /* the sender's count for this type before the batch */
};

#define UNK_AGG_MAX 64

static struct unk *unk_get(struct logsource_registry *reg, const struct unk_agg *a)
{
    struct unk **pp = &reg->unk_tab[a->hash & reg->unk_mask];
    for (struct unk *u = *pp; u; u = u->next)
        if (u->hash == a->hash && u->idlen == a->len && !strncasecmp(u->ident, a->ident, a->len))
            return u;
    if (reg->unk_n >= LS_UNK_MAX) return NULL;
    struct unk *u = calloc(1, sizeof(*u));
    if (!u) return NULL;
    u->hash = a->hash;
    u->idlen = (uint16_t)a->len;
    memcpy(u->ident, a->ident, a->len);
    u->first_seen = a->first;
    u->next = *pp;
    *pp = u;
    reg->unk_n++;
    return u;
}

/* Applies a batch's unknown-sender counts; appends due creations to creq. */
static void unk_apply(struct logsource_registry *reg, struct unk_agg *agg, size_t nagg,
                      struct create_req *creq, size_t *ncreq, size_t maxcreq)
{
    uint64_t reported = 0, untracked = 0;
    pthread_mutex_lock(&reg->unk_lock);
    for (size_t i = 0; i < nagg; i++) {
        const struct unk_agg *a = &agg[i];
        struct unk *u = unk_get(reg, a);
        if (!u) {
            untracked += a->n;
            continue;
        }
        if (a->first && (!u->first_seen || a->first < u->first_seen)) u->first_seen = a->first;
        if (a->type == 0) {
            u->unrecognized += a->n;
            if (!u->reported && u->unrecognized >= (uint64_t)reg->opt.unknown_report) {
                u->reported = true;
                reported++;
                LOG_WARN("logsource",
                         "sender '%.*s': %" PRIu64 " events that no DSM recognizes; it stays "
                         "without a log source (add one with `strm logsources add`)",
                         (int)u->idlen, u->ident, u->unrecognized);
            }
            continue;
        }
        int slot = -1;
        for (int k = 0; k < LS_UNK_TYPES; k++) {
            if (u->types[k] == a->type || u->types[k] == 0) {
                slot = k;
                break;
            }
        }
        if (slot < 0) continue; /* more DSMs than we track for one sender: ignore the rest */
        u->types[slot] = a->type;
        u->counts[slot] += a->n;
        if (reg->opt.autodetect && u->counts[slot] >= (uint32_t)reg->opt.autodetect_events &&
            *ncreq < maxcreq) {
            struct create_req *cr = &creq[(*ncreq)++];
            memcpy(cr->ident, u->ident, u->idlen);
            cr->ident[u->idlen] = '\0';
            cr->type = a->type;
            cr->first_seen = u->first_seen;
            cr->last_seen = a->last;
        }
    }
    pthread_mutex_unlock(&reg->unk_lock);
    if (reported && reg->opt.stats)
        STRM_STAT_ADD(reg->opt.stats, unknown_senders_reported, reported);
    if (untracked) atomic_fetch_add_explicit(&reg->unk_untracked, untracked, memory_order_relaxed);
}

/* ---------------------------------------------------------------- the parser threads' path */

struct ls_agg {
    struct ls_rec *rec;
    uint64_t n;
    int64_t first, last;
};

/*
 * Per-batch aggregates, applied once per batch. A batch may hold events of hundreds of log
 * sources: the per-source counts are found through a small hash on the record's address
 * (a source beyond LS_AGG_MAX is counted at once, with atomics other parser threads may be
 * hitting too, which is what the aggregate is for).
 */
#define LS_AGG_MAX 1024
#define LS_AGG_SLOTS 2048 /* power of two, > LS_AGG_MAX */
#define TYPE_AGG_MAX 64

struct batch_state {
    struct ls_agg ls[LS_AGG_MAX];
    size_t nls;
    uint16_t ls_slot[LS_AGG_SLOTS]; /* index into ls + 1; 0 = empty */
    struct {
        uint16_t type;
        uint64_t n;
    } types[TYPE_AGG_MAX];
    size_t ntypes;
    struct unk_agg unk[UNK_AGG_MAX];
    size_t nunk;
    struct create_req creq[8];
    size_t ncreq;
};

static void ls_add_counts(struct ls_rec *r, uint64_t n, int64_t first, int64_t last)
{
    atomic_fetch_add_explicit(&r->events, n, memory_order_relaxed);
    int64_t cur = atomic_load_explicit(&r->last_seen, memory_order_relaxed);
    while (last > cur && !atomic_compare_exchange_weak(&r->last_seen, &cur, last)) {
    }
    int64_t f = atomic_load_explicit(&r->first_seen, memory_order_relaxed);
    while (first && (f == 0 || first < f) &&
           !atomic_compare_exchange_weak(&r->first_seen, &f, first)) {
    }
}

static void agg_ls(struct batch_state *bs, struct ls_rec *r, int64_t t)
{
    uint64_t h = (uint64_t)(uintptr_t)r * 0x9e3779b97f4a7c15ull;
    for (uint32_t i = (uint32_t)(h >> 40) & (LS_AGG_SLOTS - 1);; i = (i + 1) & (LS_AGG_SLOTS - 1)) {
        uint16_t v = bs->ls_slot[i];
        if (v == 0) {
            if (bs->nls == LS_AGG_MAX) {
                ls_add_counts(r, 1, t, t);
                return;
            }
            bs->ls[bs->nls++] = (struct ls_agg){r, 1, t, t};
            bs->ls_slot[i] = (uint16_t)bs->nls;
            return;
        }
        struct ls_agg *a = &bs->ls[v - 1];
        if (a->rec == r) {
            a->n++;
            if (t > a->last) a->last = t;
            if (t && t < a->first) a->first = t;
            return;
        }
    }
}

static void agg_type(struct logsource_registry *reg, struct batch_state *bs, uint16_t type)
{
    for (size_t i = 0; i < bs->ntypes; i++) {
        if (bs->types[i].type == type) {
            bs->types[i].n++;
            return;
        }
    }
    if (bs->ntypes == TYPE_AGG_MAX) {
        if (type < LS_MAX_TYPES)
            atomic_fetch_add_explicit(&reg->per_type[type], 1, memory_order_relaxed);
        return;
    }
    bs->types[bs->ntypes].type = type;
    bs->types[bs->ntypes].n = 1;
    bs->ntypes++;
}

/* The sender's count so far for DSM type (0: unrecognized events). */
static uint64_t unk_count(struct logsource_registry *reg, const char *ident, uint32_t len,
                          uint64_t h, uint16_t type)
{
    uint64_t n = 0;
    pthread_mutex_lock(&reg->unk_lock);
    for (struct unk *u = reg->unk_tab[h & reg->unk_mask]; u; u = u->next) {
        if (u->hash != h || u->idlen != len || !ident_eq(u->ident, ident, len)) continue;
        if (type == 0) n = u->unrecognized;
        for (int k = 0; type && k < LS_UNK_TYPES; k++)
            if (u->types[k] == type) n = u->counts[k];
        break;
    }
    pthread_mutex_unlock(&reg->unk_lock);
    return n;
}

/*
 * Counts one event of an unknown sender. Returns true when this event makes a DSM reach
 * the auto-discovery threshold for the sender: the caller then applies the batch's counts
 * and creates the log source at once, so the sender's next event already carries it.
 */
static bool agg_unk(struct logsource_registry *reg, struct batch_state *bs, const char *ident,
                    uint32_t len, uint64_t h, uint16_t type, int64_t t)
{
    struct unk_agg *a = NULL;
    for (size_t i = 0; i < bs->nunk; i++) {
        struct unk_agg *x = &bs->unk[i];
        if (x->hash == h && x->type == type && x->len == len &&
            !strncasecmp(x->ident, ident, len)) {
            a = x;
            a->n++;
            if (t > a->last) a->last = t;
            break;
        }
    }
    if (!a) {
        if (bs->nunk == UNK_AGG_MAX) {
            unk_apply(reg, bs->unk, bs->nunk, bs->creq, &bs->ncreq,
                      sizeof(bs->creq) / sizeof(bs->creq[0]));
            bs->nunk = 0;
        }
        uint64_t base = type && reg->opt.autodetect ? unk_count(reg, ident, len, h, type) : 0;
        a = &bs->unk[bs->nunk++];
        *a = (struct unk_agg){ident, len, type, h, 1, t, t, base};
    }
    return type && reg->opt.autodetect && a->base + a->n == (uint64_t)reg->opt.autodetect_events;
}

/* Which DSM took which kind of line lately, per parser thread (see dsm_parse_memo). */
static _Thread_local struct dsm_memo parser_memo;

/*
 * The log source step over b; with counts set, each event is first parsed by syslog_parse
 * (counted in *counts), so the event and its payload are read from the cache the header
 * parse just filled: a pass of its own over the batch (about 700 KB of events and payloads
 * written by the receiver on the other core) found them evicted or remote again.
 */
#define PARSE_AHEAD 4 /* events whose lines are asked for ahead of the parse */

/*
 * The DSMs parse a batch in groups of GROUP_ROWS events, each group in the order of its
 * events' log source types (GROUP_KEYS buckets of the type id; unknown senders first), not
 * in arrival order: senders of different kinds interleave line by line, and each line
 * then ran a different DSM's code, cold in the branch predictor and the instruction cache.
 * The events stay where they are. On the DSM mix (every line another type) the DSMs alone
 * went from 2.02 to 2.35 M lines/s in groups of 256, 2.40 M in groups of 1024
 * (bench/dsm_parse with its mix so ordered); the parser threads of an 8 M-message run took
 * 6.05 s of CPU before, 5.38 s in groups of 256, 5.23 s in groups of 1024.
 */
#define GROUP_ROWS 1024
#define GROUP_KEYS 63

/* Asks for the event's own cache lines and its payload's (the receiver on the other core
 * wrote both; the parse reads the payload from both ends). */
static inline void prefetch_event(const struct strm_event *ev)
{
    const char *p = ev->payload.p;
    uint32_t len = ev->payload.len;
    for (uint32_t o = 0; o < len; o += 64)
        __builtin_prefetch(p + o);
    if (len) __builtin_prefetch(p + len - 1);
}

static void process_batch(struct logsource_registry *reg, struct strm_batch *b,
                          struct syslog_counts *counts)
{
    struct batch_state bs;
    bs.nls = bs.ntypes = bs.nunk = bs.ncreq = 0;
    memset(bs.ls_slot, 0, sizeof bs.ls_slot);
    uint64_t recognized = 0, unrecognized = 0, disabled = 0;
    int tz_local = local_tz_min();
    pthread_rwlock_rdlock(&reg->snap_lock);
    const struct ls_snap *snap = reg->snap;
    for (uint32_t base = 0; base < b->count; base += GROUP_ROWS) {
        uint32_t m = b->count - base < GROUP_ROWS ? b->count - base : GROUP_ROWS;
        uint64_t hs[GROUP_ROWS];
        const struct ls_ent *es[GROUP_ROWS];
        uint8_t key[GROUP_ROWS];
        uint16_t order[GROUP_ROWS], at[GROUP_KEYS + 2]; /* keys 0..GROUP_KEYS, counted at +1 */
        memset(at, 0, sizeof at);
        /* the headers parsed and the log sources found, in arrival order */
        for (uint32_t j = 0; j < m; j++) {
            uint32_t i = base + j;
            struct strm_event *ev = &b->ev[i];
            if (counts) {
                /* the event further ahead: its payload pointer, which prefetch_event reads */
                if (i + 2 * PARSE_AHEAD < b->count)
                    __builtin_prefetch(&b->ev[i + 2 * PARSE_AHEAD].payload);
                if (i + PARSE_AHEAD < b->count) prefetch_event(&b->ev[i + PARSE_AHEAD]);
                syslog_count(counts, syslog_parse(ev, &b->arena));
            }
            const char *ident = ev->hostname.p;
            uint32_t idlen = ident ? ev->hostname.len : 0;
            hs[j] = 0;
            es[j] = NULL;
            if (idlen > 0 && idlen <= LOGSOURCE_MAX_IDENT) {
                hs[j] = ident_hash(ident, idlen);
                es[j] = snap_find_ident(snap, ident, idlen, hs[j]);
            }
            key[j] = es[j] ? (uint8_t)(1 + es[j]->type % GROUP_KEYS) : 0;
            at[key[j] + 1]++;
        }
        /* then grouped by log source type, in arrival order within a group (counting sort) */
        for (uint32_t k = 1; k <= GROUP_KEYS + 1; k++)
            at[k] = (uint16_t)(at[k] + at[k - 1]);
        for (uint32_t j = 0; j < m; j++)
            order[at[key[j]]++] = (uint16_t)j;
        bool resnap = false; /* the snapshot changed: es[] are stale */
        for (uint32_t t = 0; t < m; t++) {
            uint32_t j = order[t];
            struct strm_event *ev = &b->ev[base + j];
            const char *ident = ev->hostname.p;
            uint32_t idlen = ident ? ev->hostname.len : 0;
            uint64_t h = hs[j];
            const struct ls_ent *e = es[j];
            if (resnap) e = h ? snap_find_ident(snap, ident, idlen, h) : NULL;
            if (e && !e->enabled) {
                ev->logsourceid = e->id;
                dsm_set_qid(ev, QID_GENERIC_STORED);
                disabled++;
                agg_ls(&bs, e->rec, ev->starttime);
                continue;
            }
            struct dsm_ctx ctx = {
                .tz_min = e && e->tz_min != LOGSOURCE_TZ_UNSET ? e->tz_min : tz_local,
                .hint = e ? e->type : 0,
            };
            const struct dsm_def *d = dsm_parse_memo(ev, &b->arena, &ctx, &parser_memo);
            if (d) {
                recognized++;
                agg_type(reg, &bs, d->type_id);
            } else {
                unrecognized++;
            }
            if (e) {
                ev->logsourceid = e->id;
                agg_ls(&bs, e->rec, ev->starttime);
            } else if (h && agg_unk(reg, &bs, ident, idlen, h, d ? d->type_id : 0, ev->starttime)) {
                /* Threshold reached: create the log source now, outside the read lock (it
                 * takes the write lock), then go on with the new snapshot. */
                unk_apply(reg, bs.unk, bs.nunk, bs.creq, &bs.ncreq,
                          sizeof(bs.creq) / sizeof(bs.creq[0]));
                bs.nunk = 0;
                pthread_rwlock_unlock(&reg->snap_lock);
                for (size_t k = 0; k < bs.ncreq; k++)
                    create_auto(reg, &bs.creq[k]);
                bs.ncreq = 0;
                pthread_rwlock_rdlock(&reg->snap_lock);
                snap = reg->snap;
                resnap = true;
            }
        }
    }
    /* Still under the read lock: the recs and idents we point at cannot go away. */
    for (size_t i = 0; i < bs.nls; i++)
        ls_add_counts(bs.ls[i].rec, bs.ls[i].n, bs.ls[i].first, bs.ls[i].last);
    if (bs.nunk)
        unk_apply(reg, bs.unk, bs.nunk, bs.creq, &bs.ncreq, sizeof(bs.creq) / sizeof(bs.creq[0]));
    pthread_rwlock_unlock(&reg->snap_lock);
    for (size_t i = 0; i < bs.ntypes; i++)
        if (bs.types[i].type < LS_MAX_TYPES)
            atomic_fetch_add_explicit(&reg->per_type[bs.types[i].type], bs.types[i].n,
                                      memory_order_relaxed);
    struct strm_stats *st = reg->opt.stats;
    if (st) {
        STRM_STAT_ADD(st, dsm_recognized, recognized);
        STRM_STAT_ADD(st, dsm_unrecognized, unrecognized);
        if (disabled) STRM_STAT_ADD(st, logsource_disabled_events, disabled);
    }
    for (size_t i = 0; i < bs.ncreq; i++)
        create_auto(reg, &bs.creq[i]);
}

void logsource_process_batch(struct logsource_registry *reg, struct strm_batch *b)
{
    process_batch(reg, b, NULL);
}

void logsource_parse_batch(struct logsource_registry *reg, struct strm_batch *b,
                           struct syslog_counts *counts)
{
    process_batch(reg, b, counts);
}

/* ---------------------------------------------------------------- store thread view */

void logsource_read_begin(struct logsource_registry *reg)
{
    pthread_rwlock_rdlock(&reg->snap_lock);
}

bool logsource_coalesces(struct logsource_registry *reg, uint32_t id)
{
    const struct ls_ent *e = snap_find_id(reg->snap, id);
    return e && e->coalesce && e->enabled;
}

void logsource_read_end(struct logsource_registry *reg)
{
    pthread_rwlock_unlock(&reg->snap_lock);
}

/* ---------------------------------------------------------------- persistence of counters */

int logsource_sync(struct logsource_registry *reg, int64_t interval_ms)
{
    if (!reg || !reg->db || reg->opt.read_only) return 0;
    int64_t now = strm_mono_ms();
    if (interval_ms > 0 && now - reg->last_sync < interval_ms) return 0;
    reg->last_sync = now;
    int rc = 0;
    pthread_mutex_lock(&reg->lock);
    sqlite3_stmt *st = NULL;
    bool began = false;
    for (size_t i = 0; i < reg->nrecs; i++) {
        struct ls_rec *r = reg->recs[i];
        uint64_t ev = atomic_load(&r->events);
        int64_t first = atomic_load(&r->first_seen), last = atomic_load(&r->last_seen);
        if (ev == r->synced_events && first == r->synced_first && last == r->synced_last) continue;
        if (!began) {
            if (db_exec(reg->db, "BEGIN", NULL, 0) != 0 ||
                sqlite3_prepare_v2(reg->db,
                                   "UPDATE logsources SET events=?, first_seen=?, last_seen=? "
                                   "WHERE id=?",
                                   -1, &st, NULL) != SQLITE_OK) {
                rc = STRM_ERR_IO;
                break;
            }
            began = true;
        }
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, (int64_t)ev);
        sqlite3_bind_int64(st, 2, first);
        sqlite3_bind_int64(st, 3, last);
        sqlite3_bind_int64(st, 4, r->id);
        if (sqlite3_step(st) != SQLITE_DONE) {
            rc = STRM_ERR_IO;
            break;
        }
        r->synced_events = ev;
        r->synced_first = first;
        r->synced_last = last;
    }
    sqlite3_finalize(st);
    if (began && db_exec(reg->db, rc ? "ROLLBACK" : "COMMIT", NULL, 0) != 0) rc = STRM_ERR_IO;
    if (rc)
        LOG_WARN("logsource", "%s: cannot write log source counters: %s", reg->db_path,
                 sqlite3_errmsg(reg->db));
    pthread_mutex_unlock(&reg->lock);
    return rc;
}

void logsource_stats_write(struct logsource_registry *reg, FILE *out)
{
    size_t n;
    const struct dsm_def *const *all = dsm_all(&n);
    for (size_t i = 0; i < n; i++) {
        uint16_t t = all[i]->type_id;
        uint64_t v =
            t < LS_MAX_TYPES ? atomic_load_explicit(&reg->per_type[t], memory_order_relaxed) : 0;
        fprintf(out, "dsm_%s %" PRIu64 "\n", all[i]->name, v);
    }
    pthread_mutex_lock(&reg->lock);
    size_t nls = reg->nrecs;
    pthread_mutex_unlock(&reg->lock);
    pthread_mutex_lock(&reg->unk_lock);
    uint32_t nunk = reg->unk_n;
    pthread_mutex_unlock(&reg->unk_lock);
    fprintf(out, "logsources %zu\nunknown_senders %" PRIu32 "\n", nls, nunk);
}

/* ---------------------------------------------------------------- user QIDs */

int logsource_qid_add(struct logsource_registry *reg, const char *name, const char *description,
                      uint16_t category, uint8_t severity, uint32_t *out_qid, char *err,
                      size_t errlen)
{
    if (!name || !*name || strlen(name) > 255) {
        seterr(err, errlen, "a QID name must be 1 to 255 bytes");
        return STRM_ERR_INVAL;
    }
    if (description && strlen(description) > 2048) {
        seterr(err, errlen, "a QID description must be at most 2048 bytes");
        return STRM_ERR_INVAL;
    }
    if (severity > 10) {
        seterr(err, errlen, "severity must be 0 to 10");
        return STRM_ERR_INVAL;
    }
    if (!dsm_category_get(category) || category % 1000 == 0) {
        seterr(err, errlen, "%u is not a low-level category (see `strm qid categories`)", category);
        return STRM_ERR_INVAL;
    }
    if (reg->opt.read_only || !reg->db) {
        seterr(err, errlen, "the configuration database is open read-only");
        return STRM_ERR_INVAL;
    }
    pthread_mutex_lock(&reg->lock);
    uint32_t qid = 0;
    int rc = qid_add(name, description ? description : "", category, severity, &qid);
    if (rc != 0) {
        seterr(err, errlen, "cannot add the QID: %s", strm_err_str(rc));
        goto out;
    }
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(reg->db,
                           "INSERT INTO user_qids (qid, name, description, category, severity,"
                           " created) VALUES (?, ?, ?, ?, ?, ?)",
                           -1, &st, NULL) != SQLITE_OK) {
        seterr(err, errlen, "%s: %s", reg->db_path, sqlite3_errmsg(reg->db));
        rc = STRM_ERR_IO;
        goto out;
    }
    sqlite3_bind_int64(st, 1, qid);
    sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, description ? description : "", -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 4, category);
    sqlite3_bind_int(st, 5, severity);
    sqlite3_bind_int64(st, 6, strm_now_ms());
    if (sqlite3_step(st) != SQLITE_DONE) {
        seterr(err, errlen, "%s: storing QID %" PRIu32 ": %s (it is in effect until restart)",
               reg->db_path, qid, sqlite3_errmsg(reg->db));
        rc = STRM_ERR_IO;
    }
    sqlite3_finalize(st);
    if (rc == 0 && out_qid) *out_qid = qid;
out:
    pthread_mutex_unlock(&reg->lock);
    return rc;
}
