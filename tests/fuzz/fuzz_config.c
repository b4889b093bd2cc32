/* libFuzzer target: the YAML configuration loader must reject anything with a message. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct strm_config cfg;
    char err[1024];
    strm_config_defaults(&cfg);
    int rc = strm_config_parse(&cfg, "fuzz", (const char *)data, size, err, sizeof(err));
    if (rc != 0 && err[0] == '\0') abort(); /* every error must say something */
    return 0;
}
