/*
 * stats.c - printing the pipeline counters.
 *
 * The counters themselves live in struct strm_stats (core.h) and are bumped per batch by
 * each stage; this file only knows their names, in pipeline order.
 */
#include "core/core.h"

#include <inttypes.h>

void strm_stats_write(const struct strm_stats *st, FILE *out)
{
#define ROW(f) fprintf(out, "%s %" PRIu64 "\n", #f, STRM_STAT_GET(st, f))
    ROW(udp_received);
    ROW(udp_dropped_kernel);
    ROW(tcp_received);
    ROW(tcp_connections);
    ROW(tcp_active);
    ROW(tls_received);
    ROW(tls_connections);
    ROW(tls_active);
    ROW(tls_handshake_failures);
    ROW(tls_errors);
    ROW(file_received);
    ROW(truncated);
    ROW(parsed_rfc3164);
    ROW(parsed_rfc5424);
    ROW(unparsed);
    ROW(dsm_recognized);
    ROW(dsm_unrecognized);
    ROW(logsources_created);
    ROW(unknown_senders_reported);
    ROW(logsource_disabled_events);
    ROW(coalesced_in);
    ROW(coalesced_out);
    ROW(coalesce_overflow);
    ROW(stored);
    ROW(store_errors);
    ROW(wal_bytes);
    ROW(segments_written);
    ROW(store_corrupt_segments);
    ROW(store_writer_waits);
    ROW(store_retention_deleted_segments);
    ROW(store_retention_deleted_rows);
    ROW(store_compactions);
    ROW(store_compacted_segments);
    ROW(store_compacted_rows);
    ROW(flow_packets_received);
    ROW(flow_udp_dropped_kernel);
    ROW(flow_malformed);
    ROW(flow_unknown_template_drops);
    ROW(flow_sequence_lost);
    ROW(flow_records);
    ROW(flow_dropped);
    ROW(flow_stored);
    ROW(flow_store_errors);
    ROW(ipfix_tcp_connections);
    ROW(ipfix_tcp_active);
    ROW(ipfix_tcp_bad_frames);
#undef ROW
}
