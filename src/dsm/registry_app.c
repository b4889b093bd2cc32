/*
 * registry_app.c - the app group of DSMs: one row per DSM, in the order they are tried.
 * Adding a DSM: write src/dsm/dsm_<name>.c defining `const struct dsm_def dsm_<name>`,
 * list it in files_<group>.txt, and add a row here.
 */
#include "dsm/dsm.h"

const struct dsm_def *const dsm_group_app[] = {
    NULL,
};
