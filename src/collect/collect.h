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
    size_t want;   /* octet counting: bytes still expected; 0 when in trailer mode */
    size_t skip;   /* bytes of an over-long frame still to discard */
    int state;     /* private */
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

#endif
