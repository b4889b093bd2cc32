/*
 * queue.c - bounded FIFO of batches between pipeline stages.
 *
 * One mutex and two condition variables; the lock is taken once per batch, never per
 * event. A full queue blocks strm_queue_push (backpressure for TCP and files) or fails
 * strm_queue_try_push (UDP, which counts the drop). After close, pushes fail and pops drain
 * what is left, then return NULL.
 */
#include "core/core.h"

#include <errno.h>
#include <time.h>

int strm_queue_init(struct strm_queue *q, uint32_t cap)
{
    pthread_condattr_t ca;
    pthread_mutex_init(&q->lock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&q->not_empty, &ca);
    pthread_cond_init(&q->not_full, &ca);
    pthread_condattr_destroy(&ca);
    q->head = q->tail = NULL;
    q->len = 0;
    q->cap = cap ? cap : 1;
    q->closed = false;
    return 0;
}

void strm_queue_destroy(struct strm_queue *q)
{
    pthread_mutex_destroy(&q->lock);
    pthread_cond_destroy(&q->not_empty);
    pthread_cond_destroy(&q->not_full);
}

static void enqueue_locked(struct strm_queue *q, struct strm_batch *b)
{
    b->next = NULL;
    if (q->tail)
        q->tail->next = b;
    else
        q->head = b;
    q->tail = b;
    q->len++;
    pthread_cond_signal(&q->not_empty);
}

int strm_queue_push(struct strm_queue *q, struct strm_batch *b)
{
    pthread_mutex_lock(&q->lock);
    while (!q->closed && q->len >= q->cap)
        pthread_cond_wait(&q->not_full, &q->lock);
    if (q->closed) {
        pthread_mutex_unlock(&q->lock);
        return STRM_ERR_CLOSED;
    }
    enqueue_locked(q, b);
    pthread_mutex_unlock(&q->lock);
    return 0;
}

int strm_queue_try_push(struct strm_queue *q, struct strm_batch *b)
{
    int rc = 0;
    pthread_mutex_lock(&q->lock);
    if (q->closed)
        rc = STRM_ERR_CLOSED;
    else if (q->len >= q->cap)
        rc = STRM_ERR_FULL;
    else
        enqueue_locked(q, b);
    pthread_mutex_unlock(&q->lock);
    return rc;
}

struct strm_batch *strm_queue_pop(struct strm_queue *q, int timeout_ms)
{
    struct timespec deadline;
    if (timeout_ms >= 0) deadline = strm_deadline(CLOCK_MONOTONIC, timeout_ms);
    pthread_mutex_lock(&q->lock);
    while (!q->head && !q->closed) {
        if (timeout_ms < 0) {
            pthread_cond_wait(&q->not_empty, &q->lock);
        } else if (pthread_cond_timedwait(&q->not_empty, &q->lock, &deadline) == ETIMEDOUT) {
            break;
        }
    }
    struct strm_batch *b = q->head;
    if (b) {
        q->head = b->next;
        if (!q->head) q->tail = NULL;
        q->len--;
        b->next = NULL;
        pthread_cond_signal(&q->not_full);
    }
    pthread_mutex_unlock(&q->lock);
    return b;
}

void strm_queue_close(struct strm_queue *q)
{
    pthread_mutex_lock(&q->lock);
    q->closed = true;
    pthread_cond_broadcast(&q->not_empty);
    pthread_cond_broadcast(&q->not_full);
    pthread_mutex_unlock(&q->lock);
}

uint32_t strm_queue_len(struct strm_queue *q)
{
    pthread_mutex_lock(&q->lock);
    uint32_t n = q->len;
    pthread_mutex_unlock(&q->lock);
    return n;
}

bool strm_queue_drained(struct strm_queue *q)
{
    pthread_mutex_lock(&q->lock);
    bool d = q->closed && q->len == 0;
    pthread_mutex_unlock(&q->lock);
    return d;
}
