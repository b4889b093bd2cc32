/*
 * fuzz_packet.c - libFuzzer target for the L2-L4 packet decoder (pkt_decode_eth and
 * pkt_decode_ip).
 *
 * The first input byte picks the entry point (even: Ethernet, odd: raw IP); the rest is the
 * captured frame, decoded in place (libFuzzer hands over an exactly sized heap buffer, so
 * ASan sees any read past caplen) and then again from every shorter prefix of up to 128
 * bytes. Checks: the payload slice lies inside the captured bytes and inside the IP length,
 * a non-first fragment has no L4 fields, the VLAN id fits 12 bits, an IP result has version
 * 4 or 6.
 */
#include "flow/flow.h"

#include <stdlib.h>

static void check(const uint8_t *p, size_t len, bool eth)
{
    struct pkt_info pi;
    int rc = eth ? pkt_decode_eth(p, len, &pi) : pkt_decode_ip(p, len, &pi);
    if (rc != 0 && rc != STRM_ERR_PARSE) abort();
    if (pi.vlan > 4095) abort();
    if (rc == 0 && pi.ipver != 4 && pi.ipver != 6) abort();
    if (pi.l4payload) {
        if (pi.l4payload < p || pi.l4payload + pi.l4payload_len > p + len) abort();
        if (pi.l4payload_len > pi.iplen) abort();
    } else if (pi.l4payload_len != 0) {
        abort();
    }
    if (pi.fragment && (pi.sport || pi.dport || pi.tcpflags || pi.l4payload)) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    bool eth = (data[0] & 1) == 0;
    data++;
    size--;
    check(data, size, eth);
    for (size_t len = 0; len < size && len < 128; len++) {
        uint8_t *copy = malloc(len ? len : 1);
        if (!copy) abort();
        for (size_t i = 0; i < len; i++)
            copy[i] = data[i];
        check(copy, len, eth);
        free(copy);
    }
    return 0;
}
