/*
 * core.h - the interface of src/core: the normalized event record and its column schema,
 * batches with their string arenas, bounded queues between pipeline stages, IP addresses,
 * time, logging, pipeline counters and the configuration.
 *
 * Every other module speaks in these types. The event record is plain data: numbers inline,
 * strings as (pointer, length) slices that point into the payload or into the arena of the
 * batch that owns the event, so a batch is freed (or reset) in one step.
 */
#ifndef STRM_CORE_H
#define STRM_CORE_H

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ---------------------------------------------------------------- errors */

enum strm_err {
    STRM_OK = 0,
    STRM_ERR_NOMEM = -1,
    STRM_ERR_IO = -2,
    STRM_ERR_PARSE = -3,
    STRM_ERR_CORRUPT = -4,
    STRM_ERR_INVAL = -5,
    STRM_ERR_BUSY = -6,
    STRM_ERR_CLOSED = -7,
    STRM_ERR_FULL = -8,
};

const char *strm_err_str(int err);

/* ---------------------------------------------------------------- limits */

#define STRM_MAX_MSG 65536 /* longer syslog messages are truncated to this and counted */

/* ---------------------------------------------------------------- strings, IPs */

struct strm_str {
    const char *p; /* not NUL-terminated; NULL or len 0 means "no value" */
    uint32_t len;
};

/* IPv4 is held as an IPv4-mapped IPv6 address (::ffff:a.b.c.d); all zero means "no value". */
struct strm_ip {
    uint8_t b[16];
};

bool strm_ip_is_null(const struct strm_ip *ip);
bool strm_ip_is_v4(const struct strm_ip *ip);
void strm_ip_from_v4(struct strm_ip *ip, uint32_t host_order);
/* Parses dotted IPv4 or IPv6 text of len bytes; returns 0 or STRM_ERR_PARSE. */
int strm_ip_parse(struct strm_ip *ip, const char *s, size_t len);
/* Writes text (IPv4 dotted when mapped) into buf (at least 46 bytes); returns its length. */
size_t strm_ip_format(const struct strm_ip *ip, char *buf, size_t size);
int strm_ip_cmp(const struct strm_ip *a, const struct strm_ip *b);
/* IANA keyword of an IP protocol number ("TCP", "UDP", "ICMP"...), NULL when unnamed. */
const char *strm_protocol_name(unsigned proto);

/* ---------------------------------------------------------------- time */

int64_t strm_now_ms(void);  /* wall clock, ms since the epoch */
int64_t strm_mono_ms(void); /* monotonic clock, ms */
/* The time ms milliseconds from now on clock clk: a deadline for pthread_cond_timedwait. */
struct timespec strm_deadline(clockid_t clk, int64_t ms);

/* ---------------------------------------------------------------- event record */

enum strm_event_flag {
    STRM_EV_UNPARSED = 1u << 0,  /* payload matched no syslog format; stored raw */
    STRM_EV_TRUNCATED = 1u << 1, /* payload was cut to STRM_MAX_MSG */
    STRM_EV_FLOW = 1u << 2,      /* a flow record: its flow fields are set (flows table) */
};

/* How a flow record was made (column flowtype). */
enum strm_flow_type {
    STRM_FLOWTYPE_NONE = 0,
    STRM_FLOWTYPE_NETFLOW5 = 1,
    STRM_FLOWTYPE_NETFLOW9 = 2,
    STRM_FLOWTYPE_IPFIX = 3,
    STRM_FLOWTYPE_SFLOW = 4,
    STRM_FLOWTYPE_PACKET = 5, /* built from captured packets (QFlow) */
    STRM_FLOWTYPE__COUNT
};

/* Direction from the network hierarchy (column flowdirection): L = local, R = remote. */
enum strm_flow_dir {
    STRM_FLOWDIR_UNKNOWN = 0,
    STRM_FLOWDIR_L2L = 1,
    STRM_FLOWDIR_L2R = 2,
    STRM_FLOWDIR_R2L = 3,
    STRM_FLOWDIR_R2R = 4,
    STRM_FLOWDIR__COUNT
};

/* Names for the enum columns above ("NetFlow v9", "L2R"...), as AQL prints and compares them. */
extern const char *const strm_flowtype_names[STRM_FLOWTYPE__COUNT];
extern const char *const strm_flowdir_names[STRM_FLOWDIR__COUNT];

/*
 * The flow part of a record (ARCHITECTURE.md section 4), set when flags has STRM_EV_FLOW.
 * The common fields live in struct strm_event: starttime (when the collector received or
 * reported the record), sourceip/port, destinationip/port, protocolid, source/destination
 * MAC. Bytes and packets are already multiplied by the sampling rate. "source" is the
 * initiator of the flow (the first packet's sender, or the exporter's record direction).
 */
struct strm_flow_fields {
    int64_t firstpackettime; /* ms since the epoch */
    int64_t lastpackettime;
    uint64_t sourcebytes;
    uint64_t destinationbytes;
    uint64_t sourcepackets;
    uint64_t destinationpackets;
    uint32_t applicationid; /* see APPLICATIONNAME; 0 = unknown */
    uint32_t flowinterface; /* input ifIndex at the exporter, 0 if none */
    uint16_t vlan;
    uint8_t sourceflags;      /* TCP flags OR-ed over the source's packets */
    uint8_t destinationflags; /* TCP flags OR-ed over the destination's packets */
    uint8_t flowtype;         /* enum strm_flow_type */
    uint8_t flowdirection;    /* enum strm_flow_dir, set by the flow pipeline */
    uint8_t icmptype;
    uint8_t icmpcode;
    uint8_t sourcedscp;
    uint8_t pad_[7];
    struct strm_ip flowsource;         /* exporter / sFlow agent / capturing host address */
    struct strm_str applicationdetail; /* detected name: HTTP Host, TLS SNI, DNS name, banner */
};

/*
 * The normalized event (ARCHITECTURE.md section 4). Times are ms since the epoch; 0 means
 * "unknown" for devicetime. Severity, credibility and relevance are 0-10.
 */
struct strm_event {
    int64_t starttime;   /* when the collector received it: what LAST n MINUTES selects on */
    int64_t devicetime;  /* the device's own time from the payload, 0 if none */
    int64_t storagetime; /* when the store accepted it */
    uint32_t logsourceid;
    uint32_t qid;
    uint32_t eventcount;
    uint16_t category;
    uint16_t highlevelcategory;
    uint16_t sourceport;
    uint16_t destinationport;
    uint16_t devicetype; /* the DSM (log source type) that normalized it, 0 = none */
    uint16_t prenatsourceport;
    uint16_t postnatsourceport;
    uint16_t prenatdestinationport;
    uint16_t postnatdestinationport;
    uint8_t severity;
    uint8_t credibility;
    uint8_t relevance;
    uint8_t magnitude;
    uint8_t protocolid;
    uint8_t facility; /* syslog facility 0-23, 255 when the message had no PRI */
    uint8_t priority; /* syslog severity 0-7 as sent (0 emerg .. 7 debug), 255 if none */
    uint8_t flags;    /* enum strm_event_flag */
    struct strm_ip sourceip;
    struct strm_ip destinationip;
    struct strm_ip prenatsourceip;
    struct strm_ip postnatsourceip;
    struct strm_ip prenatdestinationip;
    struct strm_ip postnatdestinationip;
    struct strm_ip collectorip; /* sender's address as seen by the receiver; not a column */
    uint8_t sourcemac[6];
    uint8_t destinationmac[6];
    struct strm_str username;
    struct strm_str hostname; /* header hostname, or the sender's address when missing */
    struct strm_str appname;  /* RFC 5424 APP-NAME, RFC 3164 TAG */
    struct strm_str procid;
    struct strm_str msgid;
    struct strm_str message;      /* the MSG part (after header and structured data) */
    struct strm_str properties;   /* DSM custom properties: key=value pairs, TAB-separated */
    struct strm_str payload;      /* the raw message as received (after truncation) */
    struct strm_flow_fields flow; /* flows only (STRM_EV_FLOW); all zero for events */
};

/* Column schema: one row per searchable/stored column, in storage order. */
enum strm_col_type {
    STRM_T_TIME, /* int64 ms since epoch */
    STRM_T_INT,  /* unsigned integer of width bytes, read as int64 */
    STRM_T_IP,
    STRM_T_MAC,
    STRM_T_STR,
};

enum strm_col_id {
    STRM_COL_STARTTIME,
    STRM_COL_DEVICETIME,
    STRM_COL_STORAGETIME,
    STRM_COL_LOGSOURCEID,
    STRM_COL_QID,
    STRM_COL_EVENTCOUNT,
    STRM_COL_CATEGORY,
    STRM_COL_HIGHLEVELCATEGORY,
    STRM_COL_SOURCEPORT,
    STRM_COL_DESTINATIONPORT,
    STRM_COL_DEVICETYPE,
    STRM_COL_PRENATSOURCEPORT,
    STRM_COL_POSTNATSOURCEPORT,
    STRM_COL_PRENATDESTINATIONPORT,
    STRM_COL_POSTNATDESTINATIONPORT,
    STRM_COL_SEVERITY,
    STRM_COL_CREDIBILITY,
    STRM_COL_RELEVANCE,
    STRM_COL_MAGNITUDE,
    STRM_COL_PROTOCOLID,
    STRM_COL_FACILITY,
    STRM_COL_PRIORITY,
    STRM_COL_FLAGS,
    STRM_COL_SOURCEIP,
    STRM_COL_DESTINATIONIP,
    STRM_COL_PRENATSOURCEIP,
    STRM_COL_POSTNATSOURCEIP,
    STRM_COL_PRENATDESTINATIONIP,
    STRM_COL_POSTNATDESTINATIONIP,
    STRM_COL_SOURCEMAC,
    STRM_COL_DESTINATIONMAC,
    STRM_COL_USERNAME,
    STRM_COL_HOSTNAME,
    STRM_COL_APPNAME,
    STRM_COL_PROCID,
    STRM_COL_MSGID,
    STRM_COL_MESSAGE,
    STRM_COL_PROPERTIES,
    STRM_COL_PAYLOAD,
    /* flow columns (table flows) */
    STRM_COL_FIRSTPACKETTIME,
    STRM_COL_LASTPACKETTIME,
    STRM_COL_SOURCEBYTES,
    STRM_COL_DESTINATIONBYTES,
    STRM_COL_SOURCEPACKETS,
    STRM_COL_DESTINATIONPACKETS,
    STRM_COL_APPLICATIONID,
    STRM_COL_FLOWINTERFACE,
    STRM_COL_VLAN,
    STRM_COL_SOURCEFLAGS,
    STRM_COL_DESTINATIONFLAGS,
    STRM_COL_FLOWTYPE,
    STRM_COL_FLOWDIRECTION,
    STRM_COL_ICMPTYPE,
    STRM_COL_ICMPCODE,
    STRM_COL_SOURCEDSCP,
    STRM_COL_FLOWSOURCE,
    STRM_COL_APPLICATIONDETAIL,
    STRM_COL__COUNT
};
_Static_assert(STRM_COL__COUNT <= 64, "column masks are 64-bit");

/* Which tables a column belongs to (struct strm_col_def.tables). */
enum strm_table {
    STRM_TABLE_EVENTS = 1,
    STRM_TABLE_FLOWS = 2,
};

struct strm_col_def {
    const char *name; /* lower case, as AQL names it */
    enum strm_col_type type;
    uint8_t width;                 /* bytes of the field in struct strm_event */
    size_t offset;                 /* offsetof(struct strm_event, field) */
    uint8_t tables;                /* enum strm_table bits */
    const char *const *enum_names; /* INT columns printed as names (flowtype...), or NULL */
    uint8_t enum_count;
};

/* Bit set (1 << enum strm_col_id) of the columns of a table. */
uint64_t strm_table_cols(enum strm_table t);

extern const struct strm_col_def strm_event_cols[STRM_COL__COUNT];

/* Case-insensitive lookup of a column name; returns its enum strm_col_id or -1. */
int strm_col_lookup(const char *name, size_t len);
/* Numeric value of a TIME or INT column. */
int64_t strm_event_get_int(const struct strm_event *ev, int col);
void strm_event_set_int(struct strm_event *ev, int col, int64_t v);
struct strm_str strm_event_get_str(const struct strm_event *ev, int col);
const struct strm_ip *strm_event_get_ip(const struct strm_event *ev, int col);
const uint8_t *strm_event_get_mac(const struct strm_event *ev, int col);
/* A fresh event: all zero but facility/priority 255 and eventcount 1. */
void strm_event_init(struct strm_event *ev);

/* ---------------------------------------------------------------- arena */

/*
 * Chunked bump allocator: allocations never move, so pointers into it stay valid until
 * strm_arena_reset or strm_arena_free. Not thread-safe; one owner at a time.
 */
struct strm_arena_chunk;
struct strm_arena {
    struct strm_arena_chunk *head;
    struct strm_arena_chunk *spare; /* emptied chunks kept by reset for reuse */
    size_t chunk_size;
    size_t total; /* bytes handed out since the last reset */
};

void strm_arena_init(struct strm_arena *a, size_t chunk_size);
void *strm_arena_alloc(struct strm_arena *a, size_t n); /* NULL when out of memory */
/* Copies len bytes and appends a NUL (not counted in the slice). */
struct strm_str strm_arena_strdup(struct strm_arena *a, const char *p, size_t len);
void strm_arena_reset(struct strm_arena *a); /* keeps its chunks for reuse */
void strm_arena_free(struct strm_arena *a);

/* ---------------------------------------------------------------- batch */

struct strm_batch {
    struct strm_event *ev;
    uint32_t count;
    uint32_t cap;
    struct strm_arena arena; /* owns every string the events point to */
    struct strm_batch *next; /* link while queued */
    /* what a stage keeps with the batch from use to use (the flow pipeline: its records
     * encoded), freed with it by aux_free; reset does not touch it */
    void *aux;
    void (*aux_free)(void *aux);
};

/* Allocates a batch for up to cap events; NULL when out of memory. */
struct strm_batch *strm_batch_new(uint32_t cap);
/* Appends a fresh event (strm_event_init); NULL when the batch is full. */
struct strm_event *strm_batch_add(struct strm_batch *b);
void strm_batch_reset(struct strm_batch *b);
void strm_batch_free(struct strm_batch *b); /* accepts NULL */

/* ---------------------------------------------------------------- queue */

/*
 * Bounded FIFO of batches between stages: many producers, many consumers, one lock taken
 * per batch (never per event). Closing wakes everyone; pop then drains what is left.
 */
struct strm_queue {
    pthread_mutex_t lock;
    pthread_cond_t not_empty;
    pthread_cond_t not_full;
    struct strm_batch *head, *tail;
    uint32_t len, cap;
    bool closed;
};

int strm_queue_init(struct strm_queue *q, uint32_t cap);
void strm_queue_destroy(struct strm_queue *q);
/* Blocks while full (backpressure). STRM_ERR_CLOSED once closed (the batch stays the caller's). */
int strm_queue_push(struct strm_queue *q, struct strm_batch *b);
/* Never blocks: STRM_ERR_FULL when full (the caller counts the drop). */
int strm_queue_try_push(struct strm_queue *q, struct strm_batch *b);
/* Waits up to timeout_ms (-1 forever). NULL on timeout, or when closed and empty. */
struct strm_batch *strm_queue_pop(struct strm_queue *q, int timeout_ms);
void strm_queue_close(struct strm_queue *q);
uint32_t strm_queue_len(struct strm_queue *q);
/* True once the queue is closed and empty: the consumer may stop. */
bool strm_queue_drained(struct strm_queue *q);

/* ---------------------------------------------------------------- pool of free batches */

/* Recycles batches between the last stage and the receivers so the hot path does not malloc. */
struct strm_pool {
    pthread_mutex_t lock;
    struct strm_batch *free;
    uint32_t nfree;
    uint32_t batch_cap;
    uint32_t max_free;
};

void strm_pool_init(struct strm_pool *p, uint32_t batch_cap, uint32_t max_free);
struct strm_batch *strm_pool_get(struct strm_pool *p); /* reset batch, or NULL when OOM */
void strm_pool_put(struct strm_pool *p, struct strm_batch *b);
void strm_pool_destroy(struct strm_pool *p);

/* ---------------------------------------------------------------- counters */

/*
 * Pipeline counters: every stage counts what it received, passed and dropped, and why.
 * Updated per batch with relaxed atomics.
 */
struct strm_stats {
    _Atomic uint64_t udp_received;
    _Atomic uint64_t udp_dropped_kernel; /* datagrams the kernel dropped: receive buffer full */
    _Atomic uint64_t tcp_received;
    _Atomic uint64_t tcp_connections;
    _Atomic uint64_t tcp_active;
    _Atomic uint64_t tls_received;
    _Atomic uint64_t tls_connections;
    _Atomic uint64_t tls_active;
    _Atomic uint64_t tls_handshake_failures; /* bad TLS, bad/missing client cert, timeout */
    _Atomic uint64_t tls_errors; /* connections ended by a TLS error after the handshake */
    _Atomic uint64_t file_received;
    _Atomic uint64_t truncated; /* longer than STRM_MAX_MSG, cut and kept */
    _Atomic uint64_t parsed_rfc3164;
    _Atomic uint64_t parsed_rfc5424;
    _Atomic uint64_t unparsed;                  /* stored raw */
    _Atomic uint64_t dsm_recognized;            /* events a DSM normalized */
    _Atomic uint64_t dsm_unrecognized;          /* events no DSM knew: stored as SIM Generic */
    _Atomic uint64_t logsources_created;        /* auto-discovered log sources */
    _Atomic uint64_t unknown_senders_reported;  /* senders reported as unrecognizable */
    _Atomic uint64_t logsource_disabled_events; /* events of disabled log sources */
    _Atomic uint64_t coalesced_in;              /* events folded into a coalesced record */
    _Atomic uint64_t coalesced_out;             /* coalesced records emitted to the store */
    _Atomic uint64_t coalesce_overflow; /* events not coalesced: key or memory cap reached */
    _Atomic uint64_t stored;
    _Atomic uint64_t store_errors; /* events the store could not take: the writer gave up (I/O) */
    _Atomic uint64_t wal_bytes;
    _Atomic uint64_t segments_written;
    _Atomic uint64_t store_corrupt_segments; /* segments found damaged (checksum, format) */
    _Atomic uint64_t store_writer_waits;     /* intake waited for the segment writer */
    _Atomic uint64_t store_retention_deleted_segments; /* deleted by age or disk ceiling */
    _Atomic uint64_t store_retention_deleted_rows;
    _Atomic uint64_t store_compactions;        /* merges of small segments into one */
    _Atomic uint64_t store_compacted_segments; /* segments merged away */
    _Atomic uint64_t store_compacted_rows;     /* rows rewritten by compaction */
    /* flows (issue 6; docs/flows.md) */
    _Atomic uint64_t flow_packets_received;   /* NetFlow/IPFIX/sFlow datagrams and TCP messages */
    _Atomic uint64_t flow_udp_dropped_kernel; /* flow datagrams the kernel dropped (buffer full) */
    _Atomic uint64_t flow_malformed;          /* messages no decoder could read at all */
    _Atomic uint64_t flow_unknown_template_drops; /* records whose template never came */
    _Atomic uint64_t flow_sequence_lost; /* records/packets lost per exporter sequence gaps */
    _Atomic uint64_t flow_records;       /* flow records made (receivers, capture, files) */
    _Atomic uint64_t flow_dropped;       /* records lost inside openstrm (out of memory) */
    _Atomic uint64_t flow_stored;
    _Atomic uint64_t flow_store_errors; /* records of batches the flows store refused */
    _Atomic uint64_t ipfix_tcp_connections;
    _Atomic uint64_t ipfix_tcp_active;
    _Atomic uint64_t ipfix_tcp_bad_frames; /* connections closed for a bad IPFIX header */
};

#define STRM_STAT_ADD(st, field, n)                                                                \
    atomic_fetch_add_explicit(&(st)->field, (uint64_t)(n), memory_order_relaxed)
#define STRM_STAT_GET(st, field) atomic_load_explicit(&(st)->field, memory_order_relaxed)

/* Writes "name value" lines, one per counter. */
void strm_stats_write(const struct strm_stats *st, FILE *out);

/* ---------------------------------------------------------------- logging */

enum strm_log_level { STRM_LOG_ERROR, STRM_LOG_WARN, STRM_LOG_INFO, STRM_LOG_DEBUG };

void strm_log_set_level(enum strm_log_level lvl);
/* One line to stderr: time, level, component, message. */
void strm_log(enum strm_log_level lvl, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define LOG_ERROR(comp, ...) strm_log(STRM_LOG_ERROR, comp, __VA_ARGS__)
#define LOG_WARN(comp, ...) strm_log(STRM_LOG_WARN, comp, __VA_ARGS__)
#define LOG_INFO(comp, ...) strm_log(STRM_LOG_INFO, comp, __VA_ARGS__)
#define LOG_DEBUG(comp, ...) strm_log(STRM_LOG_DEBUG, comp, __VA_ARGS__)

/* ---------------------------------------------------------------- configuration */

enum strm_fsync_policy {
    STRM_FSYNC_BATCH,    /* fsync the WAL after every batch */
    STRM_FSYNC_INTERVAL, /* fsync at most every fsync_interval_ms (group commit) */
    STRM_FSYNC_NEVER,    /* leave it to the kernel */
};

#define STRM_MAX_LISTENERS 16

struct strm_listen {
    char host[256];
    uint16_t port;
};

#define STRM_MAX_NETWORKS 1024

/* A named local network of the network hierarchy, e.g. "Corp.DMZ" = 10.1.0.0/16. */
struct strm_network {
    char name[128];      /* full name, groups separated by dots; the leaf is NETWORKNAME */
    struct strm_ip addr; /* network address (host bits zero) */
    uint8_t prefix;      /* prefix length over the 128-bit form (IPv4 /n is 96 + n) */
};

/* A retention bucket (STRM): events matching filter (an AQL WHERE condition) are kept days
 * days; the first bucket that matches wins; others follow storage.retention_days. */
#define STRM_MAX_BUCKETS 10
struct strm_retention_bucket {
    char name[64];
    char filter[1024];
    int days; /* 0: kept forever */
};

struct strm_config {
    char data_dir[4096];
    struct strm_listen syslog_udp[STRM_MAX_LISTENERS];
    int n_syslog_udp;
    struct strm_listen syslog_tcp[STRM_MAX_LISTENERS];
    int n_syslog_tcp;
    struct strm_listen syslog_tls[STRM_MAX_LISTENERS];
    int n_syslog_tls;
    char tls_cert_file[4096]; /* PEM; empty: self-signed, made at first start */
    char tls_key_file[4096];
    char tls_client_ca_file[4096]; /* PEM CAs for client certificates; empty: none */
    bool tls_require_client_cert;
    bool logsources_autodetect;       /* create log sources for unknown senders */
    int logsources_autodetect_events; /* events one DSM must recognize first (~25) */
    int logsources_unknown_report;    /* unrecognized events before a sender is reported */
    bool coalescing_enabled;          /* default for new log sources */
    int coalescing_window_s;
    int syslog_udp_rcvbuf;      /* bytes asked for SO_RCVBUF */
    int syslog_tcp_max_clients; /* concurrent connections */
    int pipeline_parsers;       /* parser threads; 0 = number of cores */
    int pipeline_queue_batches; /* bound of each queue, in batches */
    int pipeline_batch_events;  /* events per batch */
    enum strm_fsync_policy fsync;
    int fsync_interval_ms;
    int segment_rows;            /* rows per segment before it is written */
    int segment_max_age_s;       /* a partial segment is written after this long */
    bool token_index;            /* segments carry the payload's token index (TEXT SEARCH) */
    bool compaction;             /* merge the small segments of an hour partition (background) */
    bool segment_writer_idle;    /* the segment writer may run in SCHED_IDLE during bursts */
    bool payload_dictionary;     /* payload blocks of ~128 KiB with a trained zstd dictionary */
    int compaction_min_segments; /* small segments of one partition that start a merge */
    int memtable_prealloc_mb;    /* memtable memory touched at start (0: from segment_rows) */
    int retention_days;          /* segments older than this are deleted; 0 = keep forever */
    struct strm_retention_bucket buckets[STRM_MAX_BUCKETS]; /* storage.retention_buckets */
    int n_buckets;
    int max_disk_percent; /* oldest partitions deleted above this filesystem use */
    enum strm_log_level log_level;
    /* searches: 0 = built-in default (timeout and memory: no limit) */
    int search_timeout_s;     /* search.timeout */
    int search_max_memory_mb; /* search.max_memory */
    int search_max_running;   /* search.max_running: searches executing at once */
    int search_retention_s;   /* search.retention: finished async searches are kept */
    /* flows (issue 6): listeners, capture interfaces, network hierarchy */
    struct strm_listen netflow_udp[STRM_MAX_LISTENERS]; /* v5/v9/IPFIX by version; 2055, 9995 */
    int n_netflow_udp;
    struct strm_listen ipfix_udp[STRM_MAX_LISTENERS]; /* 4739 */
    int n_ipfix_udp;
    struct strm_listen ipfix_tcp[STRM_MAX_LISTENERS]; /* 4739 */
    int n_ipfix_tcp;
    struct strm_listen sflow_udp[STRM_MAX_LISTENERS]; /* 6343 */
    int n_sflow_udp;
    char flows_capture[STRM_MAX_LISTENERS][64]; /* interfaces captured with libpcap */
    int n_flows_capture;
    int flows_active_timeout_s;   /* 60 */
    int flows_inactive_timeout_s; /* 15 */
    struct strm_network networks[STRM_MAX_NETWORKS];
    int n_networks;
    /* Compiled by strm_networks_compile (the config loader does it): networks sorted by
     * address, then prefix; network_parent[i] is the index of the smallest network holding
     * networks[i], or -1; network_w[i] is its address as two host-order words (a flow's
     * two lookups compare against them). While n_networks_compiled != n_networks lookups
     * scan linearly. */
    int16_t network_parent[STRM_MAX_NETWORKS];
    uint64_t network_w[STRM_MAX_NETWORKS][2];
    int n_networks_compiled;
    /* and for IPv4, per /16 (two bits each, STRM_NET16_*): whether its addresses are all in a
     * network, none are, or some are (then the lookup decides): a flow's direction from one
     * load per address, mostly */
    uint8_t network_v4_16[65536 / 4];
};
enum { STRM_NET16_NONE = 0, STRM_NET16_ALL = 1, STRM_NET16_SOME = 2 };

/*
 * The network hierarchy: the longest-prefix local network holding ip, or NULL when ip is in
 * none (remote). Direction of a flow: L2L, L2R, R2L or R2R from its two ends.
 */
const struct strm_network *strm_network_find(const struct strm_config *cfg,
                                             const struct strm_ip *ip);
/*
 * Parses "a.b.c.d/n", "x:y::/n" or a bare address (a host: /32, /128) of len bytes into the
 * network address (host bits cleared) and its prefix over the 128-bit form (IPv4 /n gives
 * 96 + n). *host_bits (may be NULL) tells whether the text had host bits set. Returns 0 or
 * STRM_ERR_PARSE.
 */
int strm_cidr_parse(const char *s, size_t len, struct strm_ip *addr, uint8_t *prefix,
                    bool *host_bits);
/* Whether ip lies inside net/prefix (prefix over the 128-bit form). */
bool strm_ip_in_net(const struct strm_ip *ip, const struct strm_ip *net, uint8_t prefix);
/*
 * Sorts cfg->networks and links each to its parent so that strm_network_find is a binary
 * search. Fails (STRM_ERR_INVAL, message in err) when one CIDR is listed twice. Call after
 * changing networks by hand; strm_config_defaults and the loader call it.
 */
int strm_networks_compile(struct strm_config *cfg, char *err, size_t errlen);
enum strm_flow_dir strm_flow_direction(const struct strm_config *cfg, const struct strm_ip *src,
                                       const struct strm_ip *dst);

/* Built-in defaults (data in ./data, or /var/lib/strm as root; syslog on 514). */
void strm_config_defaults(struct strm_config *cfg);
/*
 * Overrides cfg with the YAML file at path, key by key. On error returns STRM_ERR_PARSE or
 * STRM_ERR_INVAL and writes a message naming the file, line and key into err.
 */
int strm_config_load(struct strm_config *cfg, const char *path, char *err, size_t errlen);
/* The same from text in memory; name is used in messages. */
int strm_config_parse(struct strm_config *cfg, const char *name, const char *text, size_t len,
                      char *err, size_t errlen);
/* Parses "host:port", "[v6]:port" or ":port". */
int strm_listen_parse(struct strm_listen *l, const char *s, size_t len);

#endif
