/*
 * registry_net.c - the net group of DSMs: one row per DSM, in the order they are tried.
 * Adding a DSM: write src/dsm/dsm_<name>.c defining `const struct dsm_def dsm_<name>`,
 * list it in files_<group>.txt, and add a row here.
 *
 * Order: the most specific markers first. Every DSM here rejects on a fixed marker before
 * any scanning ("%ASA-", "NetScreen device_id=", "devid=", "filterlog", the PAN-OS CSV
 * shape, "[junos@2636"/Junos tags, "%FAC-N-MNEMONIC:"), so the order only matters for
 * lines that could carry two markers; Cisco ASA comes before Cisco IOS because both use
 * "%X-n-" (IOS also rejects numeric mnemonics on its own), and the CEF/LEEF-speaking vendors
 * (Check Point, PAN-OS) come before the generic CEF/LEEF DSMs of the generic group.
 */
#include "dsm/dsm.h"

extern const struct dsm_def dsm_cisco_asa, dsm_cisco_ios, dsm_netscreen, dsm_junos, dsm_panos,
    dsm_fortigate, dsm_checkpoint, dsm_pfsense, dsm_sophos;

const struct dsm_def *const dsm_group_net[] = {
    &dsm_cisco_asa,  &dsm_netscreen, &dsm_fortigate, &dsm_pfsense,   &dsm_panos,
    &dsm_checkpoint, &dsm_sophos,    &dsm_junos,     &dsm_cisco_ios, NULL,
};
