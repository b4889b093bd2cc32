/*
 * framer.c - RFC 6587 framing of a TCP (or file) byte stream into syslog messages.
 *
 * Each frame decides its own framing from its first bytes, as rsyslog and syslog-ng do:
 *   - MSG-LEN SP MSG (octet counting): a digit run starting with 1-9, at most
 *     SYSLOG_FRAMER_MAX_COUNT, followed by one space; the next MSG-LEN bytes are the frame.
 *   - otherwise non-transparent framing: the frame ends at LF or NUL; a CR right before the
 *     LF is dropped. A digit run that is too large or not followed by a space is simply the
 *     start of such a frame (the digits stay in the message).
 * Empty frames (blank lines, an LF after an octet-counted frame) are not emitted.
 *
 * Data flow and copies: a frame that lies wholly inside the buffer given to feed() is passed
 * to the callback straight from that buffer. Only a frame that is cut by the end of a feed
 * is copied into f->buf (max_msg bytes, plus room for a digit run) and completed on the
 * next feed, so arbitrary split points give the same frames as one big feed.
 *
 * Over-long frames: the first max_msg bytes are emitted with truncated=true and the rest is
 * discarded. For an octet-counted frame the count says how much to discard (f->skip), and
 * the frame is emitted as soon as max_msg bytes are there. For a trailer frame the rest is
 * discarded up to the terminator and the frame is emitted when the terminator arrives (so a
 * CR right before the LF of a frame of exactly max_msg bytes is not counted as excess).
 *
 * Invariants between feeds: state says what the next byte means; f->len bytes of the
 * current frame sit in f->buf (for ST_COUNT: the digits read so far); f->want > 0 only in
 * ST_OCTET; f->skip > 0 only in ST_START (bytes of an octet frame still to discard).
 */
#include "collect/collect.h"

#include <stdlib.h>
#include <string.h>

enum {
    ST_START = 0, /* at a frame boundary */
    ST_COUNT,     /* reading an octet count; the digits are in buf */
    ST_OCTET,     /* octet counting: want bytes still expected */
    ST_TRAILER,   /* LF/NUL framing: buf holds the frame so far (not full) */
    ST_OVER,      /* LF/NUL framing, buf full, discarding up to the terminator */
    ST_OVER_CR,   /* same, and the last discarded byte was a CR */
};

#define COUNT_DIGITS_MAX 10 /* room in buf for a digit run; MAX_COUNT has 8 digits */

int syslog_framer_init(struct syslog_framer *f, size_t max_msg)
{
    memset(f, 0, sizeof(*f));
    if (max_msg == 0) return STRM_ERR_INVAL;
    f->buf = malloc(max_msg + COUNT_DIGITS_MAX);
    if (!f->buf) return STRM_ERR_NOMEM;
    f->max_msg = max_msg;
    f->state = ST_START;
    return 0;
}

void syslog_framer_free(struct syslog_framer *f)
{
    if (!f) return;
    free(f->buf);
    f->buf = NULL;
    f->len = 0;
}

static void reset_frame(struct syslog_framer *f)
{
    f->len = 0;
    f->want = 0;
    f->truncated = false;
    f->state = ST_START;
}

static void emit(struct syslog_framer *f, const char *msg, size_t len, bool truncated,
                 syslog_frame_fn fn, void *arg)
{
    if (len == 0) return;
    if (len > f->max_msg) {
        len = f->max_msg;
        truncated = true;
    }
    fn(msg, len, truncated, arg);
}

/*
 * Bytes of an over-long trailer frame being discarded (no terminator among them). They are
 * excess content, except one CR at the very end, which may still turn out to precede the LF.
 */
static void over_discard(struct syslog_framer *f, const char *q, size_t n)
{
    if (n == 0) return;
    if (f->state == ST_OVER_CR || n > 1 || q[n - 1] != '\r') f->truncated = true;
    f->state = q[n - 1] == '\r' ? ST_OVER_CR : ST_OVER;
}

/* Appends to the buffered trailer frame, switching to the OVER states when it overflows. */
static void trailer_append(struct syslog_framer *f, const char *p, size_t n)
{
    size_t room = f->max_msg - f->len;
    size_t c = n < room ? n : room;
    memcpy(f->buf + f->len, p, c);
    f->len += c;
    if (n > c) over_discard(f, p + c, n - c);
}

/* Position of the first LF or NUL in [p, end), or NULL. */
static const char *find_term(const char *p, const char *end)
{
    const char *lf = memchr(p, '\n', (size_t)(end - p));
    const char *z = memchr(p, '\0', (size_t)((lf ? lf : end) - p));
    return z ? z : lf;
}

void syslog_framer_feed(struct syslog_framer *f, const char *data, size_t len, syslog_frame_fn fn,
                        void *arg)
{
    const char *p = data;
    const char *end = data + len;
    if (!f->buf) return;
    while (p < end) {
        switch (f->state) {
        case ST_START: {
            if (f->skip) {
                size_t n = (size_t)(end - p) < f->skip ? (size_t)(end - p) : f->skip;
                p += n;
                f->skip -= n;
                continue;
            }
            if (*p == '\n' || *p == '\0') { /* empty frame */
                p++;
                continue;
            }
            if (*p >= '1' && *p <= '9') {
                /* Octet count? Decide from this buffer when the digit run ends in it. */
                const char *q = p;
                size_t count = 0;
                while (q < end && *q >= '0' && *q <= '9' && count <= SYSLOG_FRAMER_MAX_COUNT) {
                    count = count * 10 + (size_t)(*q - '0');
                    q++;
                }
                if (q == end && count <= SYSLOG_FRAMER_MAX_COUNT) {
                    /* Run cut by the end of the feed: keep the digits for later. */
                    memcpy(f->buf, p, (size_t)(q - p));
                    f->len = (size_t)(q - p);
                    f->want = count;
                    f->state = ST_COUNT;
                    p = q;
                    continue;
                }
                if (q < end && *q == ' ' && count <= SYSLOG_FRAMER_MAX_COUNT) {
                    f->want = count;
                    f->state = ST_OCTET;
                    p = q + 1;
                    continue;
                }
            }
            /* Trailer frame starting at p. */
            const char *t = find_term(p, end);
            if (t) {
                const char *e = t;
                if (*t == '\n' && e > p && e[-1] == '\r') e--;
                emit(f, p, (size_t)(e - p), false, fn, arg);
                p = t + 1;
                continue;
            }
            f->state = ST_TRAILER;
            f->len = 0;
            trailer_append(f, p, (size_t)(end - p));
            p = end;
            continue;
        }
        case ST_COUNT: {
            /* f->want holds the value of the digits in buf so far. */
            while (p < end && *p >= '0' && *p <= '9' && f->want <= SYSLOG_FRAMER_MAX_COUNT &&
                   f->len < COUNT_DIGITS_MAX) {
                f->want = f->want * 10 + (size_t)(*p - '0');
                f->buf[f->len++] = *p++;
            }
            if (p == end && f->want <= SYSLOG_FRAMER_MAX_COUNT && f->len < COUNT_DIGITS_MAX) return;
            if (p < end && *p == ' ' && f->want <= SYSLOG_FRAMER_MAX_COUNT) {
                f->len = 0;
                f->state = ST_OCTET;
                p++;
                continue;
            }
            /* Not an octet count: the digits begin a trailer frame. */
            f->want = 0;
            f->state = ST_TRAILER;
            if (f->len > f->max_msg) { /* only with a tiny max_msg */
                f->len = f->max_msg;
                f->truncated = true;
                f->state = ST_OVER;
            }
            continue;
        }
        case ST_OCTET: {
            size_t avail = (size_t)(end - p);
            if (f->len == 0 && avail >= f->want) {
                size_t n = f->want;
                reset_frame(f);
                emit(f, p, n, false, fn, arg);
                p += n;
                continue;
            }
            if (f->len == 0 && avail >= f->max_msg) {
                f->skip = f->want - f->max_msg;
                reset_frame(f);
                emit(f, p, f->max_msg, true, fn, arg);
                p += f->max_msg;
                continue;
            }
            size_t n = avail;
            if (n > f->want) n = f->want;
            if (n > f->max_msg - f->len) n = f->max_msg - f->len;
            memcpy(f->buf + f->len, p, n);
            f->len += n;
            f->want -= n;
            p += n;
            if (f->want == 0) {
                size_t l = f->len;
                reset_frame(f);
                emit(f, f->buf, l, false, fn, arg);
            } else if (f->len == f->max_msg) {
                size_t l = f->len;
                f->skip = f->want;
                reset_frame(f);
                emit(f, f->buf, l, true, fn, arg);
            }
            continue;
        }
        case ST_TRAILER: {
            const char *t = find_term(p, end);
            if (!t) {
                trailer_append(f, p, (size_t)(end - p));
                p = end;
                continue;
            }
            trailer_append(f, p, (size_t)(t - p));
            if (f->state == ST_TRAILER) {
                size_t l = f->len;
                if (*t == '\n' && l > 0 && f->buf[l - 1] == '\r') l--;
                bool tr = f->truncated;
                reset_frame(f);
                emit(f, f->buf, l, tr, fn, arg);
                p = t + 1;
                continue;
            }
            /* The part before the terminator overflowed: handle t in the OVER states. */
            p = t;
            continue;
        }
        case ST_OVER:
        case ST_OVER_CR: {
            const char *t = find_term(p, end);
            const char *stop = t ? t : end;
            over_discard(f, p, (size_t)(stop - p));
            if (!t) {
                p = end;
                continue;
            }
            if (f->state == ST_OVER_CR && *t != '\n')
                f->truncated = true; /* the CR was content: a NUL ends this frame */
            size_t l = f->len;
            bool tr = f->truncated;
            reset_frame(f);
            emit(f, f->buf, l, tr, fn, arg);
            p = t + 1;
            continue;
        }
        default:
            reset_frame(f);
            break;
        }
    }
}

void syslog_framer_finish(struct syslog_framer *f, syslog_frame_fn fn, void *arg)
{
    if (!f->buf) return;
    size_t l = f->len;
    bool tr = f->truncated;
    switch (f->state) {
    case ST_COUNT: /* a digit run and then the end: plain text */
        tr = false;
        break;
    case ST_OCTET: /* the stream ended inside an octet-counted frame: it is incomplete */
        tr = true;
        break;
    case ST_TRAILER:
        if (l > 0 && f->buf[l - 1] == '\r') l--;
        break;
    case ST_OVER:
    case ST_OVER_CR: /* a lone final CR at the end of the stream is not content */
        break;
    default:
        l = 0;
        break;
    }
    reset_frame(f);
    f->skip = 0;
    emit(f, f->buf, l, tr, fn, arg);
}
