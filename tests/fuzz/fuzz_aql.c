/*
 * fuzz_aql.c - libFuzzer target for the AQL parser (src/aql).
 *
 * Feeds arbitrary bytes, as a NUL-terminated copy, to aql_parse. Whatever the input, the
 * parser must return either a query or a parse error with a position inside the text, never
 * crash, hang or leak (ASan/LSan check the last two). Accepted queries also get their
 * WHERE evaluated on a sample event, to reach the evaluator and the LIKE matcher.
 * Seed corpus: tests/fuzz/corpus/aql/.
 */
#include <stdlib.h>
#include <string.h>

#include "aql/aql_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    struct aql_query *q = NULL;
    struct aql_error err;
    int rc = aql_parse(text, &q, &err);
    if (rc == 0) {
        struct strm_event ev;
        strm_event_init(&ev);
        ev.starttime = 1764109190123;
        ev.qid = 1000;
        ev.username = (struct strm_str){"Alice\xc3\xa9\xff", 8};
        ev.message = (struct strm_str){"Failed password for root", 24};
        strm_ip_parse(&ev.sourceip, "10.0.0.5", 8);
        if (q->where) (void)aql_eval_cond(q->where, &ev);
        for (size_t i = 0; i < q->nitems; i++) {
            struct aql_value v;
            aql_eval(q->items[i].expr, &ev, &v);
        }
    } else if (err.pos > strlen(text) || !memchr(err.msg, '\0', sizeof err.msg)) {
        abort(); /* an error must point inside the text */
    }
    aql_query_free(q);
    free(text);
    return 0;
}
