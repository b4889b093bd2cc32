/*
 * test_coalesce.c - unit tests of event coalescing (src/collect/coalesce.c): the first three
 * events of a key pass, the fourth and later fold into one record; the eventcount of what is
 * stored sums to the events that came in; window expiry emits the record with the first
 * folded event's fields; different keys (each of the six fields) do not fold together;
 * log source 0 and log sources with coalescing off never fold; a flush at stop emits
 * everything; the key cap passes events through and counts them; output batches that fill
 * up are continued.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "collect/collect.h"

static struct strm_stats stats;

static bool all_on(void *arg, uint32_t id)
{
    (void)arg;
    return id != 77; /* log source 77 has coalescing off */
}

static struct coalescer *new_coal(uint32_t max_keys)
{
    struct coalesce_options o = {.window_s = 10, .max_keys = max_keys, .stats = &stats};
    struct coalescer *c = NULL;
    assert_int_equal(coalesce_new(&o, &c), 0);
    return c;
}

static void fill(struct strm_batch *b, struct strm_event *ev, uint32_t ls, uint32_t qid,
                 const char *sip, const char *dip, uint16_t dport, const char *user, int seq)
{
    ev->logsourceid = ls;
    ev->qid = qid;
    strm_ip_parse(&ev->sourceip, sip, strlen(sip));
    strm_ip_parse(&ev->destinationip, dip, strlen(dip));
    ev->destinationport = dport;
    if (user) ev->username = strm_arena_strdup(&b->arena, user, strlen(user));
    char p[64];
    int n = snprintf(p, sizeof p, "payload %d", seq);
    ev->payload = strm_arena_strdup(&b->arena, p, (size_t)n);
    ev->starttime = 1000000 + seq;
    ev->devicetime = 2000000 + seq;
}

static struct strm_batch *same_events(int n, int seq0)
{
    struct strm_batch *b = strm_batch_new((uint32_t)n);
    for (int i = 0; i < n; i++)
        fill(b, strm_batch_add(b), 5, 100, "10.0.0.1", "10.0.0.2", 22, "root", seq0 + i);
    return b;
}

static uint64_t sum_counts(const struct strm_batch *b)
{
    uint64_t s = 0;
    for (uint32_t i = 0; i < b->count; i++)
        s += b->ev[i].eventcount;
    return s;
}

static void test_first_three_pass_rest_fold(void **state)
{
    (void)state;
    memset(&stats, 0, sizeof stats);
    struct coalescer *c = new_coal(0);
    struct strm_batch *b = same_events(10, 0);
    coalesce_batch(c, b, 0, all_on, NULL);
    assert_int_equal(b->count, 3);
    for (uint32_t i = 0; i < 3; i++) {
        assert_int_equal(b->ev[i].eventcount, 1);
        assert_int_equal(b->ev[i].starttime, 1000000 + (int64_t)i);
    }
    assert_int_equal(STRM_STAT_GET(&stats, coalesced_in), 7);
    /* nothing due before the window ends */
    struct strm_batch *out = strm_batch_new(16);
    assert_false(coalesce_due(c, 9999));
    assert_int_equal(coalesce_expire(c, 9999, out), 0);
    assert_true(coalesce_due(c, 10000));
    assert_int_equal(coalesce_expire(c, 10000, out), 1);
    assert_int_equal(out->count, 1);
    const struct strm_event *r = &out->ev[0];
    assert_int_equal(r->eventcount, 7);
    assert_int_equal(r->starttime, 1000003); /* the first folded event's */
    assert_int_equal(r->devicetime, 2000003);
    assert_int_equal(r->payload.len, strlen("payload 3"));
    assert_memory_equal(r->payload.p, "payload 3", r->payload.len);
    assert_int_equal(r->username.len, 4);
    assert_memory_equal(r->username.p, "root", 4);
    assert_int_equal(STRM_STAT_GET(&stats, coalesced_out), 1);
    /* the sum of eventcounts stored equals the events in */
    assert_int_equal(sum_counts(b) + sum_counts(out), 10);
    /* rows = in - coalesced_in + coalesced_out */
    assert_int_equal(b->count + out->count, 10 - 7 + 1);
    assert_int_equal(coalesce_pending(c), 0);
    /* a new window starts the cycle again */
    strm_batch_free(b);
    b = same_events(5, 100);
    coalesce_batch(c, b, 20000, all_on, NULL);
    assert_int_equal(b->count, 3);
    strm_batch_free(b);
    strm_batch_free(out);
    coalesce_free(c); /* pending record dropped without leaks */
}

static void test_counts_sum_over_batches(void **state)
{
    (void)state;
    memset(&stats, 0, sizeof stats);
    struct coalescer *c = new_coal(0);
    uint64_t in = 0, stored = 0, rows = 0;
    struct strm_batch *out = strm_batch_new(4);
    for (int round = 0; round < 50; round++) {
        struct strm_batch *b = strm_batch_new(64);
        for (int i = 0; i < 64; i++) {
            char sip[32];
            snprintf(sip, sizeof sip, "10.0.%d.%d", i % 3, round % 2);
            struct strm_event *ev = strm_batch_add(b);
            fill(b, ev, (uint32_t)(i % 4), 100u + (uint32_t)(i % 2), sip, "10.9.9.9", 80,
                 i % 5 ? "alice" : NULL, round * 64 + i);
            if (i == 7) ev->eventcount = 3; /* an event that is already a count */
            in += ev->eventcount;
        }
        int64_t now = (int64_t)round * 1000;
        coalesce_batch(c, b, now, all_on, NULL);
        stored += sum_counts(b);
        rows += b->count;
        while (coalesce_due(c, now)) {
            strm_batch_reset(out);
            coalesce_expire(c, now, out);
            stored += sum_counts(out);
            rows += out->count;
        }
        strm_batch_free(b);
    }
    while (coalesce_due(c, INT64_MAX)) { /* the flush at stop */
        strm_batch_reset(out);
        coalesce_expire(c, INT64_MAX, out);
        stored += sum_counts(out);
        rows += out->count;
    }
    assert_int_equal(coalesce_pending(c), 0);
    assert_int_equal(stored, in);
    assert_int_equal(rows, 50 * 64 - STRM_STAT_GET(&stats, coalesced_in) +
                               STRM_STAT_GET(&stats, coalesced_out));
    assert_true(STRM_STAT_GET(&stats, coalesced_in) > 0);
    strm_batch_free(out);
    coalesce_free(c);
}

static void test_different_keys_do_not_fold(void **state)
{
    (void)state;
    memset(&stats, 0, sizeof stats);
    struct coalescer *c = new_coal(0);
    struct strm_batch *b = strm_batch_new(64);
    /* 4 events per variant; each variant differs from the base in one key field */
    for (int v = 0; v < 7; v++) {
        for (int k = 0; k < 3; k++) {
            struct strm_event *ev = strm_batch_add(b);
            fill(b, ev, 5, 100, "10.0.0.1", "10.0.0.2", 22, "root", v * 10 + k);
            switch (v) {
            case 1:
                ev->logsourceid = 6;
                break;
            case 2:
                ev->qid = 101;
                break;
            case 3:
                strm_ip_parse(&ev->sourceip, "10.0.0.3", 8);
                break;
            case 4:
                strm_ip_parse(&ev->destinationip, "10.0.0.4", 8);
                break;
            case 5:
                ev->destinationport = 23;
                break;
            case 6:
                ev->username = strm_arena_strdup(&b->arena, "Root", 4);
                break;
            default:
                break;
            }
            ev->sourceport = (uint16_t)(1000 + k); /* not part of the key */
        }
    }
    coalesce_batch(c, b, 0, all_on, NULL);
    assert_int_equal(b->count, 21); /* 3 of each of 7 keys: all pass */
    assert_int_equal(STRM_STAT_GET(&stats, coalesced_in), 0);
    assert_int_equal(coalesce_pending(c), 7);
    strm_batch_free(b);
    /* log source 0 (not yet known) and 77 (coalescing off) never fold */
    b = strm_batch_new(20);
    for (int i = 0; i < 10; i++)
        fill(b, strm_batch_add(b), 0, 100, "10.0.0.1", "10.0.0.2", 22, "root", i);
    for (int i = 0; i < 10; i++)
        fill(b, strm_batch_add(b), 77, 100, "10.0.0.1", "10.0.0.2", 22, "root", i);
    coalesce_batch(c, b, 0, all_on, NULL);
    assert_int_equal(b->count, 20);
    strm_batch_free(b);
    /* null key fields fold like any value */
    b = strm_batch_new(8);
    for (int i = 0; i < 8; i++) {
        struct strm_event *ev = strm_batch_add(b);
        ev->logsourceid = 9;
        ev->qid = 5;
    }
    coalesce_batch(c, b, 0, all_on, NULL);
    assert_int_equal(b->count, 3);
    strm_batch_free(b);
    coalesce_free(c);
}

static void test_flush_and_full_output(void **state)
{
    (void)state;
    memset(&stats, 0, sizeof stats);
    struct coalescer *c = new_coal(0);
    /* 5 keys with a record each */
    struct strm_batch *b = strm_batch_new(64);
    for (int k = 0; k < 5; k++)
        for (int i = 0; i < 6; i++)
            fill(b, strm_batch_add(b), 5, 200u + (uint32_t)k, "10.0.0.1", "10.0.0.2", 22, "u",
                 k * 10 + i);
    coalesce_batch(c, b, 0, all_on, NULL);
    assert_int_equal(b->count, 15);
    strm_batch_free(b); /* the records own their strings: the input batch may go */
    struct strm_batch *out = strm_batch_new(2);
    int emitted = 0, rounds = 0;
    while (coalesce_due(c, INT64_MAX)) {
        strm_batch_reset(out);
        emitted += (int)coalesce_expire(c, INT64_MAX, out);
        for (uint32_t i = 0; i < out->count; i++) {
            assert_int_equal(out->ev[i].eventcount, 3);
            assert_memory_equal(out->ev[i].username.p, "u", 1);
        }
        rounds++;
    }
    assert_int_equal(emitted, 5);
    assert_int_equal(rounds, 3); /* 2 + 2 + 1 */
    assert_int_equal(STRM_STAT_GET(&stats, coalesced_out), 5);
    strm_batch_free(out);
    coalesce_free(c);
}

static void test_key_cap(void **state)
{
    (void)state;
    memset(&stats, 0, sizeof stats);
    struct coalescer *c = new_coal(4);
    struct strm_batch *b = strm_batch_new(64);
    for (int k = 0; k < 6; k++)
        for (int i = 0; i < 5; i++)
            fill(b, strm_batch_add(b), 5, 300u + (uint32_t)k, "10.0.0.1", "10.0.0.2", 22, NULL,
                 k * 10 + i);
    coalesce_batch(c, b, 0, all_on, NULL);
    /* keys 0-3 tracked: 3 pass + 2 fold each; keys 4-5 beyond the cap: all 10 pass */
    assert_int_equal(b->count, 4 * 3 + 10);
    assert_int_equal(STRM_STAT_GET(&stats, coalesce_overflow), 10);
    assert_int_equal(STRM_STAT_GET(&stats, coalesced_in), 8);
    assert_int_equal(coalesce_pending(c), 4);
    strm_batch_free(b);
    /* after expiry the slots are free again and the ring wraps around */
    struct strm_batch *out = strm_batch_new(16);
    coalesce_expire(c, 10000, out);
    assert_int_equal(out->count, 4);
    assert_int_equal(coalesce_pending(c), 0);
    for (int round = 0; round < 5; round++) {
        b = strm_batch_new(64);
        for (int k = 0; k < 3; k++)
            for (int i = 0; i < 5; i++)
                fill(b, strm_batch_add(b), 5, 400u + (uint32_t)k, "10.0.0.1", "10.0.0.2", 22, NULL,
                     i);
        coalesce_batch(c, b, 20000 + round * 10000, all_on, NULL);
        assert_int_equal(b->count, 9);
        strm_batch_free(b);
        strm_batch_reset(out);
        coalesce_expire(c, 30000 + round * 10000, out);
        assert_int_equal(out->count, 3);
    }
    strm_batch_free(out);
    coalesce_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_three_pass_rest_fold),
        cmocka_unit_test(test_counts_sum_over_batches),
        cmocka_unit_test(test_different_keys_do_not_fold),
        cmocka_unit_test(test_flush_and_full_output),
        cmocka_unit_test(test_key_cap),
    };
    cmocka_set_message_output(CM_OUTPUT_TAP);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
