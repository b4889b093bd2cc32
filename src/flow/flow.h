/*
 * flow.h - the interface of src/flow, the flow collector (QFlow): NetFlow v5/v9 and IPFIX
 * decoding with template state, sFlow v5, packet decoding (L2-L4), the flow table that builds
 * flows from captured packets, and application detection.
 *
 * Every decoder turns wire data into flow records: struct strm_event with flags STRM_EV_FLOW
 * and its flow fields set (core.h). Records are handed out through a flow_sink, which gives
 * the decoder a fresh (strm_event_init'ed) slot and the arena that owns the slot's strings;
 * the receiver behind the sink moves full batches on. The decoders never block and never
 * read outside the bytes they were given: every length on the wire is checked.
 *
 * Threads: each decoder state (nf_state, sflow_state, flowtab) belongs to one thread at a
 * time; the *_stats_write functions may be called from any thread (they lock).
 */
#ifndef STRM_FLOW_H
#define STRM_FLOW_H

#include "core/core.h"

/* ---------------------------------------------------------------- sink */

struct flow_sink {
    /* A fresh record slot (strm_event_init done; the decoder sets STRM_EV_FLOW and fields),
     * with *arena set to the arena that must own its strings. NULL when out of memory: the
     * decoder counts the record as dropped and goes on. */
    struct strm_event *(*add)(struct flow_sink *sink, struct strm_arena **arena);
    void *arg;
};

/* ---------------------------------------------------------------- NetFlow v5/v9, IPFIX */

struct nf_options {
    int hold_ms;           /* how long data waiting for its template is kept (default 30000) */
    size_t hold_max_bytes; /* cap on held data over all exporters (default 4 MiB) */
    int template_ttl_s;    /* a template not refreshed for this long is forgotten (UDP; 1800) */
};

struct nf_state;

struct nf_state *nf_state_new(const struct nf_options *opt); /* NULL opt: defaults */
void nf_state_free(struct nf_state *st);

enum nf_transport { NF_UDP, NF_TCP };

/*
 * Decodes one message (a UDP datagram, or one IPFIX message framed off a TCP stream) from
 * exporter (the sender's address; with the v9 source id / IPFIX observation domain it scopes
 * templates), received at now_ms. Version is detected from the first two bytes (5, 9, 10).
 * Records go to sink; data sets whose template is unknown are held and decoded when the
 * template arrives (through the sink of that later call). Returns the number of records
 * emitted, or a negative STRM_ERR_PARSE for a message it could not read at all (counted as
 * malformed for that exporter).
 */
int nf_decode(struct nf_state *st, const uint8_t *msg, size_t len, const struct strm_ip *exporter,
              enum nf_transport tr, int64_t now_ms, struct flow_sink *sink);
/* Drops held data and templates past their time (counted); call about once a second. */
void nf_tick(struct nf_state *st, int64_t now_ms);
/* Forgets the templates of a TCP session (IPFIX over TCP scopes templates per session). */
void nf_session_end(struct nf_state *st, const struct strm_ip *exporter);

struct flow_exporter_stats {
    struct strm_ip exporter;
    uint32_t domain; /* v9 source id / IPFIX observation domain; sFlow sub-agent id */
    uint8_t version; /* 5, 9, 10, or sFlow 5 (see flowtype) */
    uint8_t flowtype;
    uint64_t packets;   /* messages / datagrams received */
    uint64_t records;   /* flow records emitted */
    uint64_t templates; /* template and options-template records received */
    uint64_t templates_withdrawn;
    uint64_t options_records;        /* options data records (sampling...) */
    uint64_t held;                   /* data sets held waiting for their template */
    uint64_t unknown_template_drops; /* records dropped: template never came (or hold full) */
    uint64_t sequence_lost;          /* records (v5/IPFIX) or packets (v9/sFlow) lost per gaps */
    uint64_t malformed;              /* messages or sets that lied about lengths, cut short */
    uint64_t unknown_fields;         /* field occurrences skipped: type not understood */
    uint32_t sampling_interval;      /* in force (1 = none) */
};

/* Calls fn once per (exporter, domain) known; safe from any thread. */
void nf_stats_each(struct nf_state *st, void (*fn)(const struct flow_exporter_stats *, void *),
                   void *arg);

/* ---------------------------------------------------------------- sFlow v5 */

struct sflow_state;

struct sflow_state *sflow_state_new(void);
void sflow_state_free(struct sflow_state *st);

/*
 * Decodes one sFlow v5 datagram from sender (the agent address inside the datagram is the
 * flow source). Flow samples (normal and expanded) with raw packet headers become one flow
 * record each (bytes = frame length x sampling rate, packets = sampling rate); counter
 * samples update the interface statistics. Returns records emitted or STRM_ERR_PARSE.
 */
int sflow_decode(struct sflow_state *st, const uint8_t *msg, size_t len,
                 const struct strm_ip *sender, int64_t now_ms, struct flow_sink *sink);

void sflow_stats_each(struct sflow_state *st,
                      void (*fn)(const struct flow_exporter_stats *, void *), void *arg);

/* Latest generic interface counters of an agent's interface (sFlow counter samples). */
struct flow_iface_stats {
    struct strm_ip agent;
    uint32_t ifindex;
    uint64_t speed;
    uint32_t direction, status;
    uint64_t in_octets, out_octets;
    uint32_t in_ucast, in_mcast, in_bcast, in_discards, in_errors, in_unknown;
    uint32_t out_ucast, out_mcast, out_bcast, out_discards, out_errors;
    int64_t updated_ms;
};
void sflow_ifaces_each(struct sflow_state *st, void (*fn)(const struct flow_iface_stats *, void *),
                       void *arg);

/* ---------------------------------------------------------------- packets (L2-L4) */

struct pkt_info {
    uint8_t smac[6], dmac[6];
    uint16_t vlan; /* outermost 802.1Q id, 0 if none */
    uint16_t ethertype;
    struct strm_ip src, dst;
    uint8_t ipver; /* 4, 6, or 0 when not IP */
    uint8_t proto;
    uint8_t dscp;
    uint8_t tcpflags;
    uint8_t icmptype, icmpcode;
    uint16_t sport, dport;
    uint32_t iplen;           /* IP total length from the header (bytes counted for the flow) */
    bool fragment;            /* a non-first fragment: no L4 header */
    const uint8_t *l4payload; /* within the captured bytes; may be shorter than on the wire */
    uint32_t l4payload_len;
};

/* Decodes an Ethernet frame (with 802.1Q/QinQ tags) of caplen captured bytes. Returns 0, or
 * STRM_ERR_PARSE when no IP header could be read (not IP, or cut short). */
int pkt_decode_eth(const uint8_t *p, size_t caplen, struct pkt_info *out);
/* The same from the IP header on (raw IP, e.g. DLT_RAW or sFlow header protocol IPv4/6). */
int pkt_decode_ip(const uint8_t *p, size_t caplen, struct pkt_info *out);

/* ---------------------------------------------------------------- application detection */

/* Application ids (column applicationid); names through appid_name. */
enum appid {
    APPID_UNKNOWN = 0,
    APPID_HTTP = 1,
    APPID_TLS = 2,
    APPID_DNS = 3,
    APPID_SSH = 4,
    APPID_SMTP = 5,
    /* from here on mostly port fallback ids (FTP is also told by its "220 ...FTP" banner) */
    APPID_FTP = 6,
    APPID_HTTPS = 7, /* TCP 443 seen without a ClientHello to read (a read one gives TLS) */
    APPID_NTP = 8,
    APPID_SNMP = 9,
    APPID_SYSLOG = 10,
    APPID_IMAPS = 11,
    APPID_RDP = 12,
    APPID_TELNET = 13,
    APPID_DHCP = 14,
    APPID_POP3 = 15,
    APPID_IMAP = 16,
    APPID_NETBIOS = 17,
    APPID_LDAP = 18,
    APPID_SMB = 19,
    APPID_LDAPS = 20,
    APPID_POP3S = 21,
    APPID_MSSQL = 22,
    APPID_MYSQL = 23,
    APPID_POSTGRESQL = 24,
    APPID_KERBEROS = 25,
    APPID_BGP = 26,
    APPID_IKE = 27,
    APPID_SIP = 28,
    APPID_VNC = 29,
    APPID_NETFLOW = 30, /* NetFlow v5/v9 and IPFIX export (2055, 9995, 4739) */
    APPID_SFLOW = 31,
    APPID_SMTPS = 32,
    APPID_NFS = 33,
    APPID_OPENVPN = 34,
    APPID_MDNS = 35, /* multicast DNS, UDP 5353 */
    APPID__COUNT
};

/* "HTTP", "TLS", "DNS", "SSH", "SMTP", ... or "Other" for unknown ids. Never NULL. */
const char *appid_name(uint32_t id);
/*
 * Detects the application from the first payload bytes of either direction (HTTP Host, TLS
 * SNI, DNS query name, SSH banner, SMTP banner/EHLO), falling back to well-known ports.
 * Writes the detected name (host, SNI, query name, banner) into detail (NUL-terminated,
 * empty when none) and returns the application id.
 */
uint32_t appid_detect(const uint8_t *payload, size_t len, uint8_t proto, uint16_t sport,
                      uint16_t dport, char *detail, size_t detail_size);

/* ---------------------------------------------------------------- flow table (QFlow) */

struct flowtab_options {
    int active_timeout_s;   /* a long flow is reported every this often (default 60) */
    int inactive_timeout_s; /* a flow idle this long ends (default 15) */
    uint32_t max_flows;     /* beyond: oldest flows are ended early, counted (default 1M) */
    struct strm_ip source;  /* flowsource of the records (the capturing host), may be zero */
    uint32_t ifindex;
};

struct flowtab;

struct flowtab *flowtab_new(const struct flowtab_options *opt);
void flowtab_free(struct flowtab *ft);
/*
 * Accounts one packet seen at ts_us (µs since the epoch) with wirelen bytes on the wire to
 * its bidirectional flow (the first packet's sender is the source). A FIN/RST from both
 * sides (or an RST) ends a TCP flow; flows past a timeout are reported through sink
 * (flowtype Packet, same firstpackettime on every report of a long flow, bytes and packets
 * counted since the previous report so sums are exact).
 */
void flowtab_packet(struct flowtab *ft, const struct pkt_info *pi, uint32_t wirelen, int64_t ts_us,
                    struct flow_sink *sink);
/* Reports flows whose timeouts passed at now_us (packet time for files, wall time live). */
void flowtab_expire(struct flowtab *ft, int64_t now_us, struct flow_sink *sink);
/* Reports and ends every flow (end of a file, shutdown). */
void flowtab_flush(struct flowtab *ft, struct flow_sink *sink);

struct flowtab_stats {
    uint64_t packets, bytes, non_ip, flows_created, flows_reported, flows_evicted, active;
    uint64_t records;         /* records handed to the sink (a long flow gives several) */
    uint64_t records_dropped; /* the sink had no slot (out of memory) */
};
void flowtab_stats_get(struct flowtab *ft, struct flowtab_stats *out);

/* ---------------------------------------------------------------- packet capture (capture.c) */

struct capture_stats {
    uint64_t packets;      /* packets read from the file / received on the interface */
    uint64_t bytes;        /* their length on the wire */
    uint64_t non_ip;       /* packets without a readable IP header (not IP, cut short) */
    uint64_t kernel_drops; /* live: dropped for lack of buffer space (pcap_stats ps_drop) */
    uint64_t iface_drops;  /* live: dropped by the interface or driver (ps_ifdrop) */
    bool file_truncated;   /* file: it ended inside a packet record (capture cut short) */
};

/*
 * Reads a pcap or pcapng file (link types Ethernet, raw IP, Linux cooked v1/v2, BSD
 * loopback) into ft, expiring flows by packet time as it goes and flushing every flow at the
 * end; records go to sink. Counts into *st (added to, not reset). Returns 0, or
 * STRM_ERR_IO / STRM_ERR_INVAL with a message naming the file in err (unreadable, not a
 * capture, unsupported link type). A file cut short inside a packet is not an error: the
 * packets before are used and st->file_truncated is set.
 */
int capture_file(const char *path, struct flowtab *ft, struct flow_sink *sink,
                 struct capture_stats *st, char *err, size_t errlen);

struct capture;

/*
 * Starts capturing on interface iface (promiscuous, snaplen 256, immediate mode) on a thread
 * of its own, with its own flow table (opt; NULL: defaults) expired by wall time. Records go
 * to sink, which must be used by this capture only; flush (may be NULL) is called on that
 * thread after each round that produced records (at most every 100 ms, so a partial batch
 * never waits longer than a second) and at the end. Returns 0, or STRM_ERR_IO / STRM_ERR_INVAL
 * with a message naming the interface in err (no such interface, permission denied, not up,
 * unsupported link type).
 */
int capture_start(const char *iface, const struct flowtab_options *opt, struct flow_sink *sink,
                  void (*flush)(struct flow_sink *sink), struct capture **out, char *err,
                  size_t errlen);
/* Stops the thread, reports every flow still open (through sink, then flush), frees. NULL ok. */
void capture_stop(struct capture *c);
/* Counters of a running capture; any thread. Either output may be NULL. */
void capture_stats_get(struct capture *c, struct capture_stats *cs, struct flowtab_stats *fs);
const char *capture_iface(const struct capture *c);

/* ---------------------------------------------------------------- receivers (receiver.c) */

/*
 * Where the receiver threads put their records. Every thread gets a sink of its own from
 * open (called by flow_receivers_start, on the starting thread), calls flush on it at least
 * every 200 ms so records become searchable promptly, and the sink is closed (flushed and
 * freed) by flow_receivers_stop after the thread ended. A flush or an add may block
 * (backpressure): UDP datagrams then wait in the kernel buffer, TCP exporters are slowed.
 */
struct flow_sink_factory {
    struct flow_sink *(*open)(void *arg); /* NULL: out of memory */
    void (*flush)(struct flow_sink *sink);
    void (*close)(struct flow_sink *sink);
    void *arg;
};

struct flow_receivers;

/*
 * Binds the listeners of cfg (netflow.udp and ipfix.udp: NetFlow v5/v9 and IPFIX by version;
 * sflow.udp: sFlow v5; ipfix.tcp: IPFIX over TCP) and starts one thread per UDP listener
 * entry, each with its own decoder state, and one thread for all IPFIX TCP listeners and
 * their connections. Counts into stats (flow_packets_received, flow_malformed,
 * flow_udp_dropped_kernel, flow_unknown_template_drops, flow_sequence_lost, ipfix_tcp_*).
 * A listener that cannot be bound fails the start with a message naming the address and
 * the config key. With no listener configured, starts nothing and returns 0.
 */
int flow_receivers_start(const struct strm_config *cfg, const struct flow_sink_factory *f,
                         struct strm_stats *stats, struct flow_receivers **out, char *err,
                         size_t errlen);
/* Stops the threads, closes the sinks (their records are flushed) and frees. NULL ok. */
void flow_receivers_stop(struct flow_receivers *r);
/* Per-exporter counters of every decoder state (an exporter sending to two listeners is
 * reported once per listener), from snapshots each receiver thread refreshes within 100 ms
 * of decoding (so this never waits on a decoder blocked by backpressure); any thread while
 * running. */
void flow_receivers_exporters_each(struct flow_receivers *r,
                                   void (*fn)(const struct flow_exporter_stats *, void *),
                                   void *arg);
/* sFlow interface counters of every sFlow listener; any thread while running. */
void flow_receivers_ifaces_each(struct flow_receivers *r,
                                void (*fn)(const struct flow_iface_stats *, void *), void *arg);

#endif
