/*
 * registry_os.c - the os group of DSMs: one row per DSM, in the order they are tried.
 * Adding a DSM: write src/dsm/dsm_<name>.c defining `const struct dsm_def dsm_<name>`,
 * list it in files_<group>.txt, and add a row here.
 */
#include "dsm/dsm.h"

/*
 * Linux first: its reject test is one binary search of the syslog TAG, while Windows has
 * to look into the message for its forwarders' markers.
 */
extern const struct dsm_def dsm_linux;
extern const struct dsm_def dsm_windows;

const struct dsm_def *const dsm_group_os[] = {
    &dsm_linux,
    &dsm_windows,
    NULL,
};
