/*
 * arena.c - chunked bump allocator for the strings of a batch or a query result.
 *
 * Memory comes in chunks that never move, so slices handed out stay valid until reset.
 * A request larger than the chunk size gets a chunk of its own. Reset keeps the chunks of
 * the standard size as spares for the next use (a batch is reused for similar traffic:
 * fresh memory would cost page faults on every reuse) and frees the oversized ones.
 */
#include "core/core.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define HUGE_PAGE (2u << 20)

struct strm_arena_chunk {
    struct strm_arena_chunk *next;
    size_t size;
    size_t used;
    max_align_t data[]; /* aligned storage */
};

void strm_arena_init(struct strm_arena *a, size_t chunk_size)
{
    a->head = NULL;
    a->spare = NULL;
    a->chunk_size = chunk_size ? chunk_size : 64 * 1024;
    a->total = 0;
}

void *strm_arena_alloc(struct strm_arena *a, size_t n)
{
    size_t need = (n + 15) & ~(size_t)15;
    struct strm_arena_chunk *c = a->head;
    if (!c || c->size - c->used < need) {
        size_t size = need > a->chunk_size ? need : a->chunk_size;
        if (size == a->chunk_size && a->spare) {
            c = a->spare;
            a->spare = c->next;
        } else if (size + sizeof(*c) >= HUGE_PAGE) {
            /* big chunks (query groups): transparent huge pages where the kernel allows them
             * on request, so filling the chunk costs one page fault per 2 MiB, not 512 */
            size_t total = (sizeof(*c) + size + HUGE_PAGE - 1) & ~(size_t)(HUGE_PAGE - 1);
            c = aligned_alloc(HUGE_PAGE, total);
            if (c) (void)madvise(c, total, MADV_HUGEPAGE);
        } else {
            c = malloc(sizeof(*c) + size);
        }
        if (!c) return NULL;
        c->size = size;
        c->used = 0;
        c->next = a->head;
        a->head = c;
    }
    void *p = (char *)c->data + c->used;
    c->used += need;
    a->total += n;
    return p;
}

struct strm_str strm_arena_strdup(struct strm_arena *a, const char *p, size_t len)
{
    struct strm_str s = {NULL, 0};
    if (len > UINT32_MAX) len = UINT32_MAX;
    char *d = strm_arena_alloc(a, len + 1);
    if (!d) return s;
    if (len) memcpy(d, p, len);
    d[len] = '\0';
    s.p = d;
    s.len = (uint32_t)len;
    return s;
}

void strm_arena_reset(struct strm_arena *a)
{
    struct strm_arena_chunk *c = a->head;
    while (c) {
        struct strm_arena_chunk *n = c->next;
        if (c->size == a->chunk_size) {
            c->next = a->spare;
            a->spare = c;
        } else {
            free(c);
        }
        c = n;
    }
    a->head = NULL;
    a->total = 0;
}

void strm_arena_free(struct strm_arena *a)
{
    struct strm_arena_chunk *lists[2] = {a->head, a->spare};
    for (int i = 0; i < 2; i++) {
        struct strm_arena_chunk *c = lists[i];
        while (c) {
            struct strm_arena_chunk *n = c->next;
            free(c);
            c = n;
        }
    }
    a->head = NULL;
    a->spare = NULL;
    a->total = 0;
}
