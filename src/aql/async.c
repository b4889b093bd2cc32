/*
 * async.c - searches that run in the background: create (an id at once), status with
 * progress, results in pages, cancel; finished searches are kept for a retention time, and
 * an identical search created again while a recent one is kept reuses it.
 *
 * This is the engine side of QRadar's /ariel/searches API; the control socket exposes it
 * now (strm search --async/--status/--results/--cancel) and the console's REST API will.
 *
 * Each search runs on a thread of its own, at most max_running at once; the others WAIT in
 * creation order. A search holds the stores it was given until it ends, so the owner must
 * free the manager (which cancels and joins every search) before closing the stores.
 * Everything is guarded by one mutex; execution itself runs outside it and reports progress
 * through its struct aql_exec_ctl.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "aql/aql_int.h"

struct aql_search {
    char id[AQL_SEARCH_ID_LEN + 1];
    char *text;
    struct aql_query *q;
    struct aql_stores stores;
    struct aql_exec_ctl ctl;
    enum aql_search_state state;
    struct aql_result *res;
    char error[256];
    int64_t created_ms, started_ms, completed_ms; /* wall clock */
    int64_t now_ms;                               /* anchors LAST n MINUTES */
    int refs;                                     /* the manager's + readers' */
    bool thread_started;
    pthread_t thread;
    struct aql_searches *mgr;
    struct aql_search *next;
};

struct aql_searches {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    struct aql_search *list; /* newest first */
    struct aql_search_limits lim;
    int running;
    bool closing;
};

static const char *const state_names[] = {
    [AQL_SEARCH_WAIT] = "WAIT",         [AQL_SEARCH_EXECUTE] = "EXECUTE",
    [AQL_SEARCH_SORTING] = "SORTING",   [AQL_SEARCH_COMPLETED] = "COMPLETED",
    [AQL_SEARCH_CANCELED] = "CANCELED", [AQL_SEARCH_ERROR] = "ERROR",
};

const char *aql_search_state_name(enum aql_search_state s)
{
    return (unsigned)s < sizeof state_names / sizeof state_names[0] ? state_names[s] : "?";
}

struct aql_searches *aql_searches_new(const struct aql_search_limits *lim)
{
    struct aql_searches *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    pthread_mutex_init(&m->lock, NULL);
    pthread_cond_init(&m->changed, NULL);
    if (lim) m->lim = *lim;
    if (m->lim.max_running <= 0) m->lim.max_running = 2;
    if (m->lim.retention_s <= 0) m->lim.retention_s = 600;
    if (m->lim.max_kept <= 0) m->lim.max_kept = 100;
    return m;
}

static void search_free(struct aql_search *s)
{
    aql_result_free(s->res);
    aql_query_free(s->q);
    free(s->text);
    free(s);
}

/* Drops a reference; the last one frees. Called with the lock held. */
static void unref_locked(struct aql_search *s)
{
    if (--s->refs == 0) search_free(s);
}

static bool finished(const struct aql_search *s)
{
    return s->state == AQL_SEARCH_COMPLETED || s->state == AQL_SEARCH_CANCELED ||
           s->state == AQL_SEARCH_ERROR;
}

static void *search_main(void *arg);

/* Starts waiting searches while fewer than max_running run. Lock held. */
static void schedule_locked(struct aql_searches *m)
{
    /* oldest first: the list is newest first, so find the last waiting one each time */
    while (m->running < m->lim.max_running && !m->closing) {
        struct aql_search *w = NULL;
        for (struct aql_search *s = m->list; s; s = s->next)
            if (s->state == AQL_SEARCH_WAIT && !s->thread_started) w = s;
        if (!w) return;
        w->thread_started = true;
        w->refs++; /* the thread's */
        m->running++;
        if (pthread_create(&w->thread, NULL, search_main, w) != 0) {
            w->thread_started = false;
            w->refs--;
            m->running--;
            w->state = AQL_SEARCH_ERROR;
            snprintf(w->error, sizeof w->error, "cannot start a search thread");
            w->completed_ms = strm_now_ms();
            return;
        }
    }
}

static void *search_main(void *arg)
{
    struct aql_search *s = arg;
    struct aql_searches *m = s->mgr;
    struct aql_result *r = NULL;
    struct aql_error err = {0};

    pthread_mutex_lock(&m->lock);
    bool canceled = atomic_load(&s->ctl.cancel);
    if (!canceled) {
        s->state = AQL_SEARCH_EXECUTE;
        s->started_ms = strm_now_ms();
    }
    pthread_mutex_unlock(&m->lock);

    int rc = canceled ? AQL_ERR_CANCELED
                      : aql_execute_ctl(s->q, &s->stores, s->now_ms, &s->ctl, &r, &err);

    pthread_mutex_lock(&m->lock);
    s->completed_ms = strm_now_ms();
    if (rc == 0) {
        s->res = r;
        s->state = AQL_SEARCH_COMPLETED;
    } else if (rc == AQL_ERR_CANCELED) {
        s->state = AQL_SEARCH_CANCELED;
    } else {
        s->state = AQL_SEARCH_ERROR;
        snprintf(s->error, sizeof s->error, "%s", err.msg[0] ? err.msg : strm_err_str(rc));
    }
    m->running--;
    schedule_locked(m);
    pthread_cond_broadcast(&m->changed);
    pthread_detach(pthread_self());
    s->thread_started = false;
    unref_locked(s);
    pthread_mutex_unlock(&m->lock);
    return NULL;
}

static struct aql_search *find_locked(struct aql_searches *m, const char *id)
{
    for (struct aql_search *s = m->list; s; s = s->next)
        if (!strcmp(s->id, id)) return s;
    return NULL;
}

/* Forgets finished searches past their retention, and the oldest beyond max_kept. */
static void expire_locked(struct aql_searches *m, int64_t now)
{
    int kept = 0;
    for (struct aql_search **pp = &m->list; *pp;) {
        struct aql_search *s = *pp;
        bool old = finished(s) && now - s->completed_ms > (int64_t)m->lim.retention_s * 1000;
        bool over = finished(s) && kept >= m->lim.max_kept;
        if (old || over) {
            *pp = s->next;
            unref_locked(s);
            continue;
        }
        kept++;
        pp = &s->next;
    }
}

static void new_id(char *id)
{
    unsigned char b[AQL_SEARCH_ID_LEN / 2];
    if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b) {
        static _Atomic uint64_t counter;
        uint64_t v =
            (uint64_t)strm_now_ms() ^ atomic_fetch_add(&counter, 1) * 0x9e3779b97f4a7c15ull;
        for (size_t i = 0; i < sizeof b; i++)
            b[i] = (unsigned char)(v >> (8 * (i % 8))) ^ (unsigned char)i;
    }
    for (size_t i = 0; i < sizeof b; i++)
        snprintf(id + 2 * i, 3, "%02x", b[i]);
}

int aql_search_create(struct aql_searches *m, const char *text, const struct aql_stores *st,
                      char id[AQL_SEARCH_ID_LEN + 1], bool *reused, struct aql_error *err)
{
    struct aql_query *q = NULL;
    int rc = aql_parse(text, &q, err);
    if (rc) return rc;
    int64_t now = strm_now_ms();
    if (reused) *reused = false;

    pthread_mutex_lock(&m->lock);
    if (m->closing) {
        pthread_mutex_unlock(&m->lock);
        aql_query_free(q);
        snprintf(err->msg, sizeof err->msg, "searches are shutting down");
        return STRM_ERR_CLOSED;
    }
    expire_locked(m, now);
    /* the same text, still running or completed within reuse_s: share it. A query whose
     * window is relative (LAST n, or none) moves with time, so only a recent one is reused. */
    for (struct aql_search *s = m->list; s; s = s->next) {
        bool fresh = !finished(s) || (s->state == AQL_SEARCH_COMPLETED &&
                                      now - s->completed_ms <= (int64_t)m->lim.reuse_s * 1000);
        if (reused && m->lim.reuse_s > 0 && fresh && !atomic_load(&s->ctl.cancel) &&
            !strcmp(s->text, text)) {
            memcpy(id, s->id, AQL_SEARCH_ID_LEN + 1);
            if (reused) *reused = true;
            pthread_mutex_unlock(&m->lock);
            aql_query_free(q);
            return 0;
        }
    }
    struct aql_search *s = calloc(1, sizeof *s);
    if (!s || !(s->text = strdup(text))) {
        free(s);
        pthread_mutex_unlock(&m->lock);
        aql_query_free(q);
        snprintf(err->msg, sizeof err->msg, "out of memory");
        return STRM_ERR_NOMEM;
    }
    new_id(s->id);
    s->q = q;
    s->stores = *st;
    s->mgr = m;
    s->refs = 1; /* the list's */
    s->state = AQL_SEARCH_WAIT;
    s->created_ms = now;
    s->now_ms = now;
    s->ctl.timeout_s = m->lim.timeout_s;
    s->ctl.max_memory = m->lim.max_memory;
    /* the timeout counts from creation: waiting is part of what the user waits for */
    if (m->lim.timeout_s > 0)
        s->ctl.deadline_ms = strm_mono_ms() + (int64_t)m->lim.timeout_s * 1000;
    s->next = m->list;
    m->list = s;
    memcpy(id, s->id, AQL_SEARCH_ID_LEN + 1);
    schedule_locked(m);
    pthread_mutex_unlock(&m->lock);
    return 0;
}

static void fill_status(const struct aql_search *s, struct aql_search_status *st)
{
    memset(st, 0, sizeof *st);
    st->state = s->state;
    if (s->state == AQL_SEARCH_EXECUTE &&
        atomic_load_explicit(&s->ctl.phase, memory_order_relaxed) == AQL_PHASE_SORTING)
        st->state = AQL_SEARCH_SORTING;
    uint64_t done = atomic_load_explicit(&s->ctl.rows_scanned, memory_order_relaxed);
    uint64_t total = atomic_load_explicit(&s->ctl.rows_total, memory_order_relaxed);
    st->rows_scanned = done;
    if (s->state == AQL_SEARCH_COMPLETED)
        st->progress = 100;
    else if (total)
        st->progress = done >= total ? 99 : (int)(done * 100 / total);
    st->rows = s->res ? aql_result_rows(s->res) : 0;
    aql_ctl_status(&s->ctl, st);
    st->created_ms = s->created_ms;
    st->started_ms = s->started_ms;
    st->completed_ms = s->completed_ms;
    snprintf(st->error, sizeof st->error, "%s", s->error);
    snprintf(st->query, sizeof st->query, "%s", s->text);
}

int aql_search_status(struct aql_searches *m, const char *id, struct aql_search_status *out)
{
    pthread_mutex_lock(&m->lock);
    expire_locked(m, strm_now_ms());
    struct aql_search *s = find_locked(m, id);
    if (s) fill_status(s, out);
    pthread_mutex_unlock(&m->lock);
    return s ? 0 : STRM_ERR_INVAL;
}

int aql_search_wait(struct aql_searches *m, const char *id, int timeout_ms)
{
    int64_t end = strm_mono_ms() + timeout_ms;
    int rc = STRM_ERR_INVAL;
    pthread_mutex_lock(&m->lock);
    for (;;) {
        struct aql_search *s = find_locked(m, id);
        if (!s) break;
        if (finished(s)) {
            rc = 0;
            break;
        }
        int64_t left = end - strm_mono_ms();
        if (left <= 0) {
            rc = STRM_ERR_BUSY;
            break;
        }
        struct timespec ts = strm_deadline(CLOCK_REALTIME, left);
        pthread_cond_timedwait(&m->changed, &m->lock, &ts);
    }
    pthread_mutex_unlock(&m->lock);
    return rc;
}

int aql_search_results(struct aql_searches *m, const char *id, size_t offset, size_t count,
                       enum aql_format fmt, FILE *out, char *msg, size_t msgsize)
{
    pthread_mutex_lock(&m->lock);
    struct aql_search *s = find_locked(m, id);
    if (!s) {
        pthread_mutex_unlock(&m->lock);
        snprintf(msg, msgsize, "no search %s (unknown, or its results expired)", id);
        return STRM_ERR_INVAL;
    }
    if (s->state != AQL_SEARCH_COMPLETED) {
        snprintf(msg, msgsize, "search %s is %s%s%s", id, aql_search_state_name(s->state),
                 s->error[0] ? ": " : "", s->error);
        pthread_mutex_unlock(&m->lock);
        return STRM_ERR_BUSY;
    }
    s->refs++; /* completed results never change: write them outside the lock */
    pthread_mutex_unlock(&m->lock);
    int rc = aql_result_write_page(s->res, fmt, offset, count, out);
    pthread_mutex_lock(&m->lock);
    unref_locked(s);
    pthread_mutex_unlock(&m->lock);
    if (rc) snprintf(msg, msgsize, "cannot write the results: %s", strm_err_str(rc));
    return rc;
}

void aql_search_forget(struct aql_searches *m, const char *id)
{
    pthread_mutex_lock(&m->lock);
    for (struct aql_search **pp = &m->list; *pp; pp = &(*pp)->next) {
        struct aql_search *s = *pp;
        if (strcmp(s->id, id) != 0) continue;
        atomic_store(&s->ctl.cancel, true);
        if (s->state == AQL_SEARCH_WAIT && !s->thread_started) {
            s->state = AQL_SEARCH_CANCELED;
            s->completed_ms = strm_now_ms();
        }
        *pp = s->next;
        unref_locked(s); /* a running thread holds its own reference */
        break;
    }
    pthread_mutex_unlock(&m->lock);
}

int aql_search_cancel(struct aql_searches *m, const char *id)
{
    pthread_mutex_lock(&m->lock);
    struct aql_search *s = find_locked(m, id);
    if (s && !finished(s)) {
        atomic_store(&s->ctl.cancel, true);
        if (s->state == AQL_SEARCH_WAIT && !s->thread_started) {
            s->state = AQL_SEARCH_CANCELED;
            s->completed_ms = strm_now_ms();
            pthread_cond_broadcast(&m->changed);
        }
    }
    pthread_mutex_unlock(&m->lock);
    return s ? 0 : STRM_ERR_INVAL;
}

void aql_searches_list(struct aql_searches *m,
                       void (*fn)(const char *id, const struct aql_search_status *, void *),
                       void *arg)
{
    pthread_mutex_lock(&m->lock);
    expire_locked(m, strm_now_ms());
    for (struct aql_search *s = m->list; s; s = s->next) {
        struct aql_search_status st;
        fill_status(s, &st);
        fn(s->id, &st, arg);
    }
    pthread_mutex_unlock(&m->lock);
}

void aql_searches_shutdown(struct aql_searches *m)
{
    if (!m) return;
    pthread_mutex_lock(&m->lock);
    m->closing = true;
    for (struct aql_search *s = m->list; s; s = s->next) {
        atomic_store(&s->ctl.cancel, true);
        if (s->state == AQL_SEARCH_WAIT && !s->thread_started) {
            s->state = AQL_SEARCH_CANCELED;
            s->completed_ms = strm_now_ms();
        }
    }
    pthread_cond_broadcast(&m->changed);
    while (m->running > 0)
        pthread_cond_wait(&m->changed, &m->lock);
    pthread_mutex_unlock(&m->lock);
}

void aql_searches_free(struct aql_searches *m)
{
    if (!m) return;
    aql_searches_shutdown(m);
    pthread_mutex_lock(&m->lock);
    while (m->list) {
        struct aql_search *s = m->list;
        m->list = s->next;
        unref_locked(s);
    }
    pthread_mutex_unlock(&m->lock);
    pthread_cond_destroy(&m->changed);
    pthread_mutex_destroy(&m->lock);
    free(m);
}

void aql_ctl_status(const struct aql_exec_ctl *ctl, struct aql_search_status *st)
{
    st->rows_scanned = atomic_load_explicit(&ctl->rows_scanned, memory_order_relaxed);
    st->segments_in_range = atomic_load_explicit(&ctl->segments_in_range, memory_order_relaxed);
    st->skipped_minmax = atomic_load_explicit(&ctl->skipped_minmax, memory_order_relaxed);
    st->skipped_index = atomic_load_explicit(&ctl->skipped_index, memory_order_relaxed);
    st->skipped_order = atomic_load_explicit(&ctl->skipped_order, memory_order_relaxed);
    st->rows_skipped_index = atomic_load_explicit(&ctl->rows_skipped_index, memory_order_relaxed);
    st->rows_skipped_minmax = atomic_load_explicit(&ctl->rows_skipped_minmax, memory_order_relaxed);
    st->conditions = atomic_load_explicit(&ctl->preds, memory_order_relaxed);
}

void aql_explain_write(const struct aql_search_status *st, FILE *out)
{
    uint32_t skipped = st->skipped_minmax + st->skipped_index + st->skipped_order;
    fprintf(out,
            "# explain: %u segment%s in the time range: %u skipped by min/max, %u skipped by "
            "Bloom indexes (sourceip, destinationip, username), %u skipped by ORDER BY "
            "starttime LIMIT, %u scanned, plus the rows not yet in segments\n",
            st->segments_in_range, st->segments_in_range == 1 ? "" : "s", st->skipped_minmax,
            st->skipped_index, st->skipped_order, st->segments_in_range - skipped);
    fprintf(out,
            "# explain: in the scanned segments, %llu rows in blocks skipped by indexes (Bloom "
            "filters, token index, dictionaries), %llu in blocks skipped by block min/max\n",
            (unsigned long long)st->rows_skipped_index,
            (unsigned long long)st->rows_skipped_minmax);
    fprintf(out, "# explain: %u WHERE condition%s usable to skip segments; %llu rows scanned\n",
            st->conditions, st->conditions == 1 ? "" : "s", (unsigned long long)st->rows_scanned);
}
