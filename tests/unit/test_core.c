/* Unit tests for src/core: arena, batch, pool, queue, IP addresses, the column schema. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <string.h>

#include "core/core.h"
#include "core/strsearch.h"

static void arena_pointers_stay_valid(void **state)
{
    struct strm_arena a;
    strm_arena_init(&a, 1024);
    struct strm_str s[200];
    char buf[64];
    for (int i = 0; i < 200; i++) {
        int n = snprintf(buf, sizeof(buf), "string number %d", i);
        s[i] = strm_arena_strdup(&a, buf, (size_t)n);
        assert_non_null(s[i].p);
    }
    for (int i = 0; i < 200; i++) {
        snprintf(buf, sizeof(buf), "string number %d", i);
        assert_int_equal(s[i].len, strlen(buf));
        assert_memory_equal(s[i].p, buf, s[i].len);
        assert_int_equal(s[i].p[s[i].len], '\0');
    }
    /* Larger than a chunk: gets its own. */
    char *big = strm_arena_alloc(&a, 10000);
    assert_non_null(big);
    memset(big, 'x', 10000);
    assert_memory_equal(s[0].p, "string number 0", 15);
    strm_arena_reset(&a);
    assert_int_equal(a.total, 0);
    assert_non_null(strm_arena_alloc(&a, 10));
    strm_arena_free(&a);
}

static void batch_fills_to_capacity(void **state)
{
    struct strm_batch *b = strm_batch_new(3);
    assert_non_null(b);
    for (int i = 0; i < 3; i++) {
        struct strm_event *ev = strm_batch_add(b);
        assert_non_null(ev);
        assert_int_equal(ev->facility, 255);
        assert_int_equal(ev->priority, 255);
        assert_int_equal(ev->eventcount, 1);
    }
    assert_null(strm_batch_add(b));
    strm_batch_reset(b);
    assert_int_equal(b->count, 0);
    assert_non_null(strm_batch_add(b));
    strm_batch_free(b);
    strm_batch_free(NULL);
}

static void queue_is_fifo_and_bounded(void **state)
{
    struct strm_queue q;
    struct strm_batch *b[3];
    strm_queue_init(&q, 2);
    for (int i = 0; i < 3; i++)
        b[i] = strm_batch_new(1);
    assert_int_equal(strm_queue_try_push(&q, b[0]), 0);
    assert_int_equal(strm_queue_try_push(&q, b[1]), 0);
    assert_int_equal(strm_queue_try_push(&q, b[2]), STRM_ERR_FULL);
    assert_ptr_equal(strm_queue_pop(&q, 0), b[0]);
    assert_int_equal(strm_queue_push(&q, b[2]), 0);
    strm_queue_close(&q);
    assert_false(strm_queue_drained(&q));
    assert_int_equal(strm_queue_push(&q, b[0]), STRM_ERR_CLOSED);
    assert_ptr_equal(strm_queue_pop(&q, -1), b[1]);
    assert_ptr_equal(strm_queue_pop(&q, -1), b[2]);
    assert_null(strm_queue_pop(&q, -1));
    assert_true(strm_queue_drained(&q));
    for (int i = 0; i < 3; i++)
        strm_batch_free(b[i]);
    strm_queue_destroy(&q);
}

static void queue_pop_times_out(void **state)
{
    struct strm_queue q;
    strm_queue_init(&q, 2);
    int64_t t0 = strm_mono_ms();
    assert_null(strm_queue_pop(&q, 50));
    int64_t dt = strm_mono_ms() - t0;
    assert_true(dt >= 45 && dt < 2000);
    strm_queue_destroy(&q);
}

struct producer {
    struct strm_queue *q;
    struct strm_pool *pool;
    int n;
};

static void *produce(void *arg)
{
    struct producer *p = arg;
    for (int i = 0; i < p->n; i++) {
        struct strm_batch *b = strm_pool_get(p->pool);
        struct strm_event *ev = strm_batch_add(b);
        ev->qid = (uint32_t)i;
        strm_queue_push(p->q, b); /* blocks when full: backpressure */
    }
    return NULL;
}

static void queue_threads_lose_nothing(void **state)
{
    struct strm_queue q;
    struct strm_pool pool;
    strm_queue_init(&q, 4);
    strm_pool_init(&pool, 4, 8);
    struct producer p = {&q, &pool, 20000};
    pthread_t t[2];
    pthread_create(&t[0], NULL, produce, &p);
    pthread_create(&t[1], NULL, produce, &p);
    long sum = 0, count = 0;
    while (count < 40000) {
        struct strm_batch *b = strm_queue_pop(&q, 5000);
        assert_non_null(b);
        sum += b->ev[0].qid;
        count++;
        strm_pool_put(&pool, b);
    }
    pthread_join(t[0], NULL);
    pthread_join(t[1], NULL);
    assert_int_equal(sum, 2L * (19999L * 20000L / 2));
    strm_queue_destroy(&q);
    strm_pool_destroy(&pool);
}

static void ip_parse_and_format(void **state)
{
    struct strm_ip ip;
    char buf[64];
    assert_int_equal(strm_ip_parse(&ip, "10.1.2.3", 8), 0);
    assert_true(strm_ip_is_v4(&ip));
    assert_int_equal(strm_ip_format(&ip, buf, sizeof(buf)), 8);
    assert_string_equal(buf, "10.1.2.3");
    assert_int_equal(strm_ip_parse(&ip, "2001:db8::1", 11), 0);
    assert_false(strm_ip_is_v4(&ip));
    strm_ip_format(&ip, buf, sizeof(buf));
    assert_string_equal(buf, "2001:db8::1");
    assert_int_equal(strm_ip_parse(&ip, "10.1.2", 6), STRM_ERR_PARSE);
    assert_int_equal(strm_ip_parse(&ip, "10.1.2.3.4", 10), STRM_ERR_PARSE);
    assert_int_equal(strm_ip_parse(&ip, "", 0), STRM_ERR_PARSE);
    /* Not NUL-terminated input: only len bytes count. */
    assert_int_equal(strm_ip_parse(&ip, "1.2.3.4garbage", 7), 0);
    strm_ip_format(&ip, buf, sizeof(buf));
    assert_string_equal(buf, "1.2.3.4");
    struct strm_ip zero = {{0}};
    assert_true(strm_ip_is_null(&zero));
    assert_int_equal(strm_ip_format(&zero, buf, sizeof(buf)), 0);
    struct strm_ip a, b;
    strm_ip_from_v4(&a, 0x0a000001);
    strm_ip_parse(&b, "10.0.0.1", 8);
    assert_int_equal(strm_ip_cmp(&a, &b), 0);
}

static void schema_lookup_and_access(void **state)
{
    assert_int_equal(strm_col_lookup("SourceIP", 8), STRM_COL_SOURCEIP);
    assert_int_equal(strm_col_lookup("starttime", 9), STRM_COL_STARTTIME);
    assert_int_equal(strm_col_lookup("nosuch", 6), -1);
    assert_int_equal(strm_col_lookup("source", 6), -1);
    struct strm_event ev;
    strm_event_init(&ev);
    for (int c = 0; c < STRM_COL__COUNT; c++) {
        const struct strm_col_def *d = &strm_event_cols[c];
        assert_non_null(d->name);
        assert_int_equal(strm_col_lookup(d->name, strlen(d->name)), c);
        if (d->type == STRM_T_INT || d->type == STRM_T_TIME) {
            int64_t v = d->width == 8 ? 1700000000123LL : (d->width == 1 ? 200 : 60000);
            strm_event_set_int(&ev, c, v);
            assert_int_equal(strm_event_get_int(&ev, c), v);
        }
    }
    assert_int_equal(ev.destinationport, 60000);
    assert_int_equal(ev.severity, 200);
    ev.username = (struct strm_str){"bob", 3};
    assert_int_equal(strm_event_get_str(&ev, STRM_COL_USERNAME).len, 3);
}

/* strm_memmem against glibc's memmem: random haystacks and needles over a small alphabet
 * (so that anchors match often and partial matches abound), needles cut from the haystack
 * or made up, every length 0..40 around the SSE2 stride; the first match, or none. */
static void memmem_matches_libc(void **state)
{
    (void)state;
    static const char abc[] = "aAF rxe=";
    unsigned seed = 12345;
    char hay[200], nd[48];
    for (int round = 0; round < 20000; round++) {
        size_t n = (size_t)(rand_r(&seed) % 120), m = (size_t)(rand_r(&seed) % 41);
        for (size_t i = 0; i < n; i++)
            hay[i] = abc[rand_r(&seed) % (sizeof abc - 1)];
        if (m <= n && n && rand_r(&seed) % 2) {
            memcpy(nd, hay + rand_r(&seed) % (n - m + 1), m);
        } else {
            for (size_t i = 0; i < m; i++)
                nd[i] = abc[rand_r(&seed) % (sizeof abc - 1)];
        }
        const void *want = memmem(hay, n, nd, m), *got = strm_memmem(hay, n, nd, m);
        if (want != got) fail_msg("round %d: n %zu m %zu: %p, libc %p", round, n, m, got, want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(arena_pointers_stay_valid),  cmocka_unit_test(batch_fills_to_capacity),
        cmocka_unit_test(queue_is_fifo_and_bounded),  cmocka_unit_test(queue_pop_times_out),
        cmocka_unit_test(queue_threads_lose_nothing), cmocka_unit_test(ip_parse_and_format),
        cmocka_unit_test(schema_lookup_and_access),   cmocka_unit_test(memmem_matches_libc),
    };
    cmocka_set_message_output(CM_OUTPUT_TAP);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
