/*
 * registry_generic.c - the generic group of DSMs: one row per DSM, in the order they are tried.
 * Adding a DSM: write src/dsm/dsm_<name>.c defining `const struct dsm_def dsm_<name>`,
 * list it in files_<group>.txt, and add a row here.
 *
 * This group is tried last (after os, net, app): CEF and LEEF first (their headers are
 * unambiguous), then JSON, then key=value, which is the loosest test.
 */
#include "dsm/dsm.h"

extern const struct dsm_def dsm_cef, dsm_leef, dsm_json, dsm_kv;

const struct dsm_def *const dsm_group_generic[] = {
    &dsm_cef, &dsm_leef, &dsm_json, &dsm_kv, NULL,
};
