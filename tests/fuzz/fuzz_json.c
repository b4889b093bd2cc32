/*
 * fuzz_json.c - libFuzzer target for the generic JSON DSM (depth pre-scan, jansson, the
 * flattening walk and the shared field vocabulary). Checks are in fuzz_dsm_common.h.
 */
#include "fuzz_dsm_common.h"

extern const struct dsm_def dsm_json;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_one_dsm(&dsm_json, data, size);
    return 0;
}
