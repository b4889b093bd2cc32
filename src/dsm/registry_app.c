/*
 * registry_app.c - the app group of DSMs: one row per DSM, in the order they are tried.
 * Adding a DSM: write src/dsm/dsm_<name>.c defining `const struct dsm_def dsm_<name>`,
 * list it in files_<group>.txt, and add a row here.
 *
 * Order matters where shapes overlap: nginx (appname-gated) before Apache, whose access
 * parser also accepts an exact CLF line under any appname; Suricata before Snort, since
 * Suricata takes fast alert lines with a four-digit year and Snort the rest.
 */
#include "dsm/dsm.h"

extern const struct dsm_def dsm_nginx, dsm_apache, dsm_iis, dsm_squid, dsm_bind, dsm_postfix,
    dsm_openvpn, dsm_suricata, dsm_snort, dsm_zeek;

const struct dsm_def *const dsm_group_app[] = {
    &dsm_nginx,   &dsm_apache,   &dsm_iis,   &dsm_squid, &dsm_bind, &dsm_postfix,
    &dsm_openvpn, &dsm_suricata, &dsm_snort, &dsm_zeek,  NULL,
};
