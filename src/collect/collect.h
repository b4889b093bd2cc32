/*
 * collect.h - the interface of src/collect: syslog message parsing (RFC 3164, RFC 5424),
 * the TCP stream framer (RFC 6587 octet counting, LF and NUL trailers), and the network
 * and file receivers that feed raw messages into the pipeline.
 */
#ifndef STRM_COLLECT_H
#define STRM_COLLECT_H

#include "core/core.h"

/* ---------------------------------------------------------------- syslog parser */

enum syslog_format {
    SYSLOG_UNPARSED = 0,
    SYSLOG_RFC3164 = 1,
    SYSLOG_RFC5424 = 2,
};

/*
 * Parses ev->payload (the raw message) into ev's fields: facility, priority, devicetime,
 * hostname, appname, procid, msgid, message; severity (0-10) derived from the syslog
 * severity. Slices point into the payload where they can; decoded strings (escapes) go to
 * arena. RFC 3164 timestamps carry no year: the year is inferred from ev->starttime (a date
 * more than a day ahead of it belongs to the previous year) and read in the collector's local
 * time zone. A missing hostname falls back to the text of ev->collectorip.
 * Returns the format found; SYSLOG_UNPARSED sets STRM_EV_UNPARSED and leaves the payload as
 * the message. Never fails on any input bytes.
 */
enum syslog_format syslog_parse(struct strm_event *ev, struct strm_arena *arena);

/* Messages per syslog_parse result, summed over a batch by the parser threads. */
struct syslog_counts {
    uint64_t rfc3164, rfc5424, unparsed;
};

static inline void syslog_count(struct syslog_counts *c, enum syslog_format f)
{
    if (f == SYSLOG_RFC3164)
        c->rfc3164++;
    else if (f == SYSLOG_RFC5424)
        c->rfc5424++;
    else
        c->unparsed++;
}

/* ---------------------------------------------------------------- TCP framer */

/*
 * RFC 6587 framing of one TCP stream. Each frame is detected on its own: a leading digit
 * run followed by a space is an octet count (MSG-LEN SP MSG); otherwise the frame ends at LF
 * or NUL (a CR before the LF is dropped). An octet count that is absurd (above
 * SYSLOG_FRAMER_MAX_COUNT) or not followed by a space falls back to trailer framing.
 * Frames longer than max_msg are emitted cut to max_msg with truncated set; the rest of the
 * frame is skipped. Empty frames are not emitted.
 */
#define SYSLOG_FRAMER_MAX_COUNT (16u * 1024u * 1024u)

typedef void (*syslog_frame_fn)(const char *msg, size_t len, bool truncated, void *arg);

struct syslog_framer {
    char *buf; /* partial frame carried between feeds; max_msg bytes */
    size_t len;
    size_t max_msg;
    size_t want; /* octet counting: bytes still expected; 0 when in trailer mode */
    size_t skip; /* bytes of an over-long frame still to discard */
    int state;   /* private */
    bool truncated;
};

int syslog_framer_init(struct syslog_framer *f, size_t max_msg);
void syslog_framer_free(struct syslog_framer *f);
/* Consumes len bytes; calls fn for every complete frame (msg is valid only during the call). */
void syslog_framer_feed(struct syslog_framer *f, const char *data, size_t len, syslog_frame_fn fn,
                        void *arg);
/* End of stream: emits a pending unterminated frame, if any. */
void syslog_framer_finish(struct syslog_framer *f, syslog_frame_fn fn, void *arg);

/* ---------------------------------------------------------------- receivers */

struct collect;

/*
 * Starts one thread for all UDP listeners (recvmmsg, large SO_RCVBUF) and one for all TCP
 * listeners (epoll, many clients). Raw messages go out in batches on out; batches come from
 * pool. UDP drops (counted) when out is full; TCP stops reading (backpressure).
 * A port that cannot be bound is an error naming the address and the config key.
 */
int collect_start(const struct strm_config *cfg, struct strm_queue *out, struct strm_pool *pool,
                  struct strm_stats *stats, struct collect **out_c, char *err, size_t errlen);
/* Stops the threads and pushes what they hold. Accepts NULL. */
void collect_stop(struct collect *c);

/*
 * Reads syslog lines from a file descriptor (LF or NUL framing via the framer), batches them
 * and pushes them to out (blocking). on_bytes, when set, is called after each read with the
 * bytes consumed so far (progress bars). Returns 0 or STRM_ERR_IO.
 */
int collect_file(int fd, const char *name, struct strm_queue *out, struct strm_pool *pool,
                 struct strm_stats *stats, void (*on_bytes)(uint64_t total, void *arg), void *arg);

/* ---------------------------------------------------------------- log sources (logsource.c) */

/*
 * The log source registry: which sender (identifier: the syslog header's hostname, else the
 * sender's address text) is which device type, with its name, group, time zone, switches and
 * counters. Persisted in <data_dir>/config.db (SQLite, table logsources; user QIDs in table
 * user_qids). Parser threads classify whole batches through logsource_process_batch, which
 * takes one read lock per batch; configuration changes build a new immutable snapshot.
 * Unknown senders are auto-discovered (docs/logsources.md).
 */
struct logsource_registry;

#define LOGSOURCE_MAX_IDENT 255
#define LOGSOURCE_MAX_NAME 255
#define LOGSOURCE_MAX_GROUP 127
#define LOGSOURCE_TZ_UNSET INT32_MIN

/* A copy of one log source's state, for listing and editing. */
struct logsource_info {
    uint32_t id;
    char identifier[LOGSOURCE_MAX_IDENT + 1];
    uint16_t type; /* DSM type id */
    char name[LOGSOURCE_MAX_NAME + 1];
    char group[LOGSOURCE_MAX_GROUP + 1];
    int32_t tz_min; /* minutes east of UTC, or LOGSOURCE_TZ_UNSET */
    bool enabled;
    bool coalesce;
    bool autodiscovered;
    int64_t first_seen; /* ms; 0 = never */
    int64_t last_seen;
    uint64_t events;
};

struct logsource_options {
    const char *db_path;      /* e.g. <data_dir>/config.db */
    bool read_only;           /* no writes; a missing file is an empty registry */
    bool autodetect;          /* logsources.autodetect */
    int autodetect_events;    /* logsources.autodetect_events */
    int unknown_report;       /* logsources.unknown_report */
    bool coalesce_default;    /* coalescing.enabled: coalesce flag of new log sources */
    bool load_qids;           /* add the stored user QIDs to the QID map (needs dsm_init first) */
    struct strm_stats *stats; /* may be NULL */
};

/* Opens (creating it unless read-only) the database and loads the registry. */
int logsource_open(const struct logsource_options *opt, struct logsource_registry **out, char *err,
                   size_t errlen);
/* Writes pending counters and frees. Accepts NULL. */
void logsource_close(struct logsource_registry *reg);

/*
 * For parser threads: after syslog_parse, runs the DSMs on every event of b with the sender's
 * log source type as hint and its time zone (else the collector's), sets logsourceid, and
 * counts per log source, per DSM and per unknown sender (auto-discovery). Thread-safe.
 */
void logsource_process_batch(struct logsource_registry *reg, struct strm_batch *b);
/* The same, with syslog_parse of each event right before its DSMs, counted in *counts (which
 * the caller zeroes): one pass over the batch instead of two. */
void logsource_parse_batch(struct logsource_registry *reg, struct strm_batch *b,
                           struct syslog_counts *counts);

/* Store-thread view: whether events of log source id are to be coalesced. Cheap; one
 * logsource_read_begin/end pair brackets a batch. */
void logsource_read_begin(struct logsource_registry *reg);
bool logsource_coalesces(struct logsource_registry *reg, uint32_t id);
void logsource_read_end(struct logsource_registry *reg);

/* Writes last_seen and event counts to the database when interval_ms passed since the last
 * write (0: now). Call from a housekeeping context (the store thread). */
int logsource_sync(struct logsource_registry *reg, int64_t interval_ms);

/* Management (CLI, control socket). Errors return nonzero with a message in err. */
int logsource_add(struct logsource_registry *reg, const struct logsource_info *in, uint32_t *out_id,
                  char *err, size_t errlen);
/* Replaces the editable fields (name, group, tz_min, enabled, coalesce) of log source in->id. */
int logsource_update(struct logsource_registry *reg, const struct logsource_info *in, char *err,
                     size_t errlen);
int logsource_get(struct logsource_registry *reg, uint32_t id, struct logsource_info *out);
/* All log sources ordered by id, malloc'd (free() it); *n the count. */
int logsource_list(struct logsource_registry *reg, struct logsource_info **out, size_t *n);
/* coalescing.enabled as given at open: the coalesce flag of new log sources. */
bool logsource_coalesce_default(const struct logsource_registry *reg);
/* The log source's name, valid while reg is open; NULL when unknown. Thread-safe. */
const char *logsource_name(struct logsource_registry *reg, uint32_t id);
/* "<dsm_name> N" lines: events recognized per DSM. */
void logsource_stats_write(struct logsource_registry *reg, FILE *out);

/* User QIDs: qid_add plus a row in table user_qids, so it survives restarts. */
int logsource_qid_add(struct logsource_registry *reg, const char *name, const char *description,
                      uint16_t category, uint8_t severity, uint32_t *out_qid, char *err,
                      size_t errlen);

/* Parses "+02:00", "-0530", "UTC", "Z", "+2" into minutes east of UTC. */
int logsource_tz_parse(const char *s, int32_t *out_min);
/* Formats minutes east as "+02:00" (or "-" when unset); buf >= 8 bytes. */
void logsource_tz_format(int32_t tz_min, char *buf, size_t size);

/* ---------------------------------------------------------------- coalescing (coalesce.c) */

/*
 * Event coalescing as STRM: within a window of window_s seconds, events with the same log
 * source, QID, source IP, destination IP, destination port and username: the first three
 * pass, the fourth and later fold into one record whose eventcount grows; the record is
 * emitted when its window ends (or at flush). Single-threaded (the store thread).
 */
struct coalescer;

struct coalesce_options {
    int window_s;
    uint32_t max_keys;        /* tracked keys; beyond, events pass through (counted) */
    size_t max_bytes;         /* bytes of folded records' strings; beyond, events pass */
    struct strm_stats *stats; /* coalesced_in/out, coalesce_overflow; may be NULL */
};

int coalesce_new(const struct coalesce_options *opt, struct coalescer **out);
void coalesce_free(struct coalescer *c); /* accepts NULL; pending records are dropped */
/*
 * Folds the events of b whose log source coalesces (enabled(arg, logsourceid); events with
 * logsourceid 0 never fold). Folded events are removed from b (b->count shrinks); the others
 * stay in order. now_ms opens new windows.
 */
void coalesce_batch(struct coalescer *c, struct strm_batch *b, int64_t now_ms,
                    bool (*enabled)(void *arg, uint32_t logsourceid), void *arg);
/* True when a window has ended by now_ms (a record or a key is due). */
bool coalesce_due(const struct coalescer *c, int64_t now_ms);
/*
 * Ends the windows that are over at now_ms (INT64_MAX: all of them): appends their records
 * to out (strings copied into out's arena) until out is full. Returns the records appended;
 * call again with an empty batch while it filled out completely.
 */
uint32_t coalesce_expire(struct coalescer *c, int64_t now_ms, struct strm_batch *out);
/* Keys currently tracked and records pending. */
size_t coalesce_pending(const struct coalescer *c);

/* ---------------------------------------------------------------- TLS receiver */

/*
 * Syslog over TLS (RFC 5425) on cfg->syslog_tls: one thread, epoll, non-blocking GnuTLS
 * sessions (TLS 1.2 and 1.3), the framer above, batches pushed to out with backpressure like
 * TCP. The server certificate is tls.cert_file/tls.key_file, or a self-signed one made at the
 * first start in <data_dir>/tls (server.crt, server.key) and reused after; its SHA-256
 * fingerprint is logged. Client certificates follow tls.client_ca_file and
 * tls.require_client_cert. collect_start calls this when cfg->n_syslog_tls > 0; errors
 * (unbindable port, unreadable certificate) are written to err naming the config key.
 */
struct collect_tls;

int collect_tls_start(const struct strm_config *cfg, struct strm_queue *out, struct strm_pool *pool,
                      struct strm_stats *stats, struct collect_tls **out_t, char *err,
                      size_t errlen);
/* Stops the thread and pushes what it holds. Accepts NULL. */
void collect_tls_stop(struct collect_tls *t);
/* SHA-256 fingerprint of the server certificate in use, "AB:CD:..." (95 characters). */
const char *collect_tls_fingerprint(const struct collect_tls *t);

#endif
