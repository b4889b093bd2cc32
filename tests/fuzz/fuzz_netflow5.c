/*
 * fuzz_netflow5.c - libFuzzer target for nf_decode() with NetFlow v5 datagrams.
 *
 * The input is split into several datagrams so sequence tracking across them is exercised: each is
 * framed by a two-byte header whose low 14 bits are its length (the rest of the input when it runs
 * past the end); bit 14 first advances the clock by 40 s and runs nf_tick, bit 15 sends it from a
 * second (IPv6) exporter. Each datagram is copied into an exactly sized buffer. Checks: every
 * record is a flow of its datagram's version from its exporter, no datagram yields more than 30
 * records, and the counters add up to the records emitted.
 */
#include "fuzz_nf_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fz_run(data, size, NULL, 0, false);
}
