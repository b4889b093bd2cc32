/*
 * batch.c - batches of events and the pool that recycles them.
 *
 * A batch is the unit that moves between pipeline stages: an array of events plus the arena
 * that owns their strings. Receivers take batches from the pool, the last stage returns
 * them, so the steady state allocates nothing.
 */
#include "core/core.h"

#include <stdlib.h>
#include <string.h>

struct strm_batch *strm_batch_new(uint32_t cap)
{
    struct strm_batch *b = calloc(1, sizeof(*b));
    if (!b) return NULL;
    b->ev = malloc((size_t)cap * sizeof(*b->ev));
    if (!b->ev) {
        free(b);
        return NULL;
    }
    b->cap = cap;
    strm_arena_init(&b->arena, 256 * 1024);
    return b;
}

struct strm_event *strm_batch_add(struct strm_batch *b)
{
    if (b->count >= b->cap) return NULL;
    struct strm_event *ev = &b->ev[b->count++];
    strm_event_init(ev);
    return ev;
}

void strm_batch_reset(struct strm_batch *b)
{
    b->count = 0;
    b->next = NULL;
    strm_arena_reset(&b->arena);
}

void strm_batch_free(struct strm_batch *b)
{
    if (!b) return;
    if (b->aux_free) b->aux_free(b->aux);
    strm_arena_free(&b->arena);
    free(b->ev);
    free(b);
}

void strm_pool_init(struct strm_pool *p, uint32_t batch_cap, uint32_t max_free)
{
    pthread_mutex_init(&p->lock, NULL);
    p->free = NULL;
    p->nfree = 0;
    p->batch_cap = batch_cap;
    p->max_free = max_free;
}

struct strm_batch *strm_pool_get(struct strm_pool *p)
{
    pthread_mutex_lock(&p->lock);
    struct strm_batch *b = p->free;
    if (b) {
        p->free = b->next;
        p->nfree--;
    }
    pthread_mutex_unlock(&p->lock);
    if (b) {
        b->next = NULL;
        return b;
    }
    return strm_batch_new(p->batch_cap);
}

void strm_pool_put(struct strm_pool *p, struct strm_batch *b)
{
    if (!b) return;
    strm_batch_reset(b);
    pthread_mutex_lock(&p->lock);
    if (p->nfree < p->max_free) {
        b->next = p->free;
        p->free = b;
        p->nfree++;
        b = NULL;
    }
    pthread_mutex_unlock(&p->lock);
    strm_batch_free(b);
}

void strm_pool_destroy(struct strm_pool *p)
{
    struct strm_batch *b = p->free;
    while (b) {
        struct strm_batch *n = b->next;
        strm_batch_free(b);
        b = n;
    }
    p->free = NULL;
    p->nfree = 0;
    pthread_mutex_destroy(&p->lock);
}
