/*
 * fuzz_flowpack.c - libFuzzer target for ariel_flowpack_unpack, the WAL's packed flow rows
 * (src/ariel/row.c). The input's first two bytes are the record's row count, the rest its
 * body, copied into an exactly sized buffer. Checks: an accepted body unpacks into exactly
 * that many compact rows, each of which decodes (ariel_row_decode) with its sequence number,
 * and packing the decoded rows again gives no more bytes than the body (a fuzzed body may
 * write a varint longer, or the exporter again where the packer writes "the row before's").
 */
#include "ariel/ariel_int.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) return 0;
    uint32_t rows = (uint32_t)data[0] | (uint32_t)data[1] << 8;
    size_t len = size - 2;
    uint8_t *body = malloc(len ? len : 1);
    if (!body) return 0;
    memcpy(body, data + 2, len);
    uint8_t *out;
    size_t olen;
    int rc = ariel_flowpack_unpack(77, rows, body, len, &out, &olen);
    if (rc != 0) {
        if (out) abort();
        free(body);
        return 0;
    }
    uint8_t *again = malloc((size_t)rows * ARIEL_FLOWPACK_MAX + len);
    if (!again) abort();
    struct ariel_flowpack st = {0};
    size_t pos = 0, plen = ARIEL_FLOWPACK_HEAD;
    for (uint32_t i = 0; i < rows; i++) {
        struct strm_event ev;
        uint64_t seq;
        size_t n = ariel_row_decode(out + pos, olen - pos, &seq, &ev);
        if (!n || seq != 77 + i || !(ev.flags & STRM_EV_FLOW) || memcmp(&ev.storagetime, body, 8))
            abort();
        pos += n;
        plen += ariel_flowpack_put(again + plen, &ev, &st);
    }
    if (pos != olen) abort();
    if (plen > len) abort();
    free(again);
    free(out);
    free(body);
    return 0;
}
