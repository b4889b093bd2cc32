/*
 * row.c - the binary row format of ariel: how one event is laid out in a WAL record and in
 * the memtable (the same bytes: a batch is serialized once, straight into the memtable, and
 * those bytes are what the WAL write sends).
 *
 * Layout (see ariel_int.h): a fixed part of 104 bytes (seq, then the numeric/IP fields copied
 * as they lie in struct strm_event, then the two MACs), then the strings as varint length +
 * bytes. The message is very often a slice of the payload (the parser points into it); then
 * only its offset is stored, which saves about a third of the row. Flow records use the
 * compact flow layout instead (ariel_int.h): only the flows table's columns.
 *
 * Invariants: encoding never fails (callers size the buffer with ariel_row_bound); decoding
 * checks every length against the bytes available, so a row read from disk can never make us
 * read out of bounds, even when the checksum was (improbably) fooled.
 */
#include "ariel/ariel_int.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "ariel stores host byte order");

#define FIXED_EV_LEN offsetof(struct strm_event, collectorip)
_Static_assert(FIXED_EV_LEN == 158, "struct strm_event numeric head must be packed");
_Static_assert(offsetof(struct strm_event, destinationmac) ==
                   offsetof(struct strm_event, sourcemac) + 6,
               "MACs adjacent");
_Static_assert(8 + FIXED_EV_LEN + 12 == ARIEL_ROW_FIXED, "row fixed size");

/* The compact flow layout (ariel_int.h). */
enum {
    FR_STARTTIME = 8,
    FR_STORAGETIME = 16,
    FR_FLOW = 24,
    FR_SOURCEIP = FR_FLOW + (int)ARIEL_ROW_FLOW_FIXED,
    FR_DESTINATIONIP = FR_SOURCEIP + 16,
    FR_SOURCEPORT = FR_DESTINATIONIP + 16,
    FR_DESTINATIONPORT = FR_SOURCEPORT + 2,
    FR_PROTOCOLID = FR_DESTINATIONPORT + 2,
    FR_FLAGS = FR_PROTOCOLID + 1,
    FR_SOURCEMAC = FR_FLAGS + 1,
    FR_DESTINATIONMAC = FR_SOURCEMAC + 6,
    FR_STRS = FR_DESTINATIONMAC + 6,
};
_Static_assert(FR_STRS == ARIEL_ROW_COMPACT_FIXED, "compact flow row fixed size");

size_t ariel_varint_put(uint8_t *p, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

size_t ariel_varint_get(const uint8_t *p, const uint8_t *end, uint64_t *v)
{
    uint64_t r = 0;
    for (size_t i = 0; i < 10; i++) {
        if (p + i >= end) return 0;
        r |= (uint64_t)(p[i] & 0x7f) << (7 * i);
        if (!(p[i] & 0x80)) {
            *v = r;
            return i + 1;
        }
    }
    return 0;
}

static const struct strm_str *ev_str(const struct strm_event *ev, int k)
{
    switch (k) {
    case 0:
        return &ev->username;
    case 1:
        return &ev->hostname;
    case 2:
        return &ev->appname;
    case 3:
        return &ev->procid;
    case 4:
        return &ev->msgid;
    case 5:
        return &ev->properties;
    case 6:
        return &ev->payload;
    case 7:
        return &ev->message;
    default:
        return &ev->flow.applicationdetail;
    }
}

/* An event-layout row carrying a flow part (written before the compact flow layout). */
static bool row_is_flow(const uint8_t *row)
{
    return !ariel_row_compact(row) && (row[8 + offsetof(struct strm_event, flags)] & STRM_EV_FLOW);
}

/* Where the strings of a row start. */
static size_t row_strs_at(const uint8_t *row)
{
    return ARIEL_ROW_FIXED + (row_is_flow(row) ? ARIEL_ROW_FLOW_FIXED : 0);
}

int ariel_row_str_index(int col)
{
    switch (col) {
    case STRM_COL_USERNAME:
        return 0;
    case STRM_COL_HOSTNAME:
        return 1;
    case STRM_COL_APPNAME:
        return 2;
    case STRM_COL_PROCID:
        return 3;
    case STRM_COL_MSGID:
        return 4;
    case STRM_COL_PROPERTIES:
        return 5;
    case STRM_COL_PAYLOAD:
        return ARIEL_RS_PAYLOAD;
    case STRM_COL_MESSAGE:
        return ARIEL_RS_MESSAGE;
    case STRM_COL_APPLICATIONDETAIL:
        return ARIEL_RS_APPDETAIL;
    default:
        return -1;
    }
}

static size_t compact_off(int col)
{
    size_t off = strm_event_cols[col].offset;
    if (off >= offsetof(struct strm_event, flow))
        return FR_FLOW + (off - offsetof(struct strm_event, flow));
    switch (col) {
    case STRM_COL_STARTTIME:
        return FR_STARTTIME;
    case STRM_COL_STORAGETIME:
        return FR_STORAGETIME;
    case STRM_COL_SOURCEIP:
        return FR_SOURCEIP;
    case STRM_COL_DESTINATIONIP:
        return FR_DESTINATIONIP;
    case STRM_COL_SOURCEPORT:
        return FR_SOURCEPORT;
    case STRM_COL_DESTINATIONPORT:
        return FR_DESTINATIONPORT;
    case STRM_COL_PROTOCOLID:
        return FR_PROTOCOLID;
    case STRM_COL_FLAGS:
        return FR_FLAGS;
    case STRM_COL_SOURCEMAC:
        return FR_SOURCEMAC;
    case STRM_COL_DESTINATIONMAC:
        return FR_DESTINATIONMAC;
    default:
        return SIZE_MAX;
    }
}

size_t ariel_row_off(int col, bool compact)
{
    if (compact) return compact_off(col);
    size_t off = strm_event_cols[col].offset;
    if (off < FIXED_EV_LEN) return 8 + off;
    if (off >= offsetof(struct strm_event, flow))
        return ARIEL_ROW_FIXED + (off - offsetof(struct strm_event, flow));
    return 8 + FIXED_EV_LEN + (off - offsetof(struct strm_event, sourcemac));
}

size_t ariel_row_bound(const struct strm_event *ev)
{
    if (ev->flags & STRM_EV_FLOW) /* the compact flow layout: one string */
        return ARIEL_ROW_COMPACT_FIXED + 10 +
               (ev->flow.applicationdetail.p ? ev->flow.applicationdetail.len : 0);
    size_t n = ARIEL_ROW_FIXED + ARIEL_ROW_FLOW_FIXED + 10 * ARIEL_ROW_NSTR;
    for (int k = 0; k < ARIEL_ROW_NSTR; k++)
        n += ev_str(ev, k)->p ? ev_str(ev, k)->len : 0;
    return n;
}

static bool is_slice(const struct strm_str *m, const struct strm_str *pl)
{
    return m->p && pl->p && m->len > 0 && m->p >= pl->p && m->p + m->len <= pl->p + pl->len;
}

/* A string as varint length + bytes at q; returns the end. */
static uint8_t *put_str(uint8_t *q, const struct strm_str *s)
{
    uint32_t len = s->p ? s->len : 0;
    q += ariel_varint_put(q, len);
    if (len) memcpy(q, s->p, len);
    return q + len;
}

static size_t encode_compact(uint8_t *p, uint64_t seq, const struct strm_event *ev)
{
    uint64_t tag = seq | ARIEL_ROW_COMPACT;
    memcpy(p, &tag, 8);
    memcpy(p + FR_STARTTIME, &ev->starttime, 8);
    memcpy(p + FR_STORAGETIME, &ev->storagetime, 8);
    memcpy(p + FR_FLOW, &ev->flow, ARIEL_ROW_FLOW_FIXED);
    memcpy(p + FR_SOURCEIP, &ev->sourceip, 16);
    memcpy(p + FR_DESTINATIONIP, &ev->destinationip, 16);
    memcpy(p + FR_SOURCEPORT, &ev->sourceport, 2);
    memcpy(p + FR_DESTINATIONPORT, &ev->destinationport, 2);
    p[FR_PROTOCOLID] = ev->protocolid;
    p[FR_FLAGS] = ev->flags;
    memcpy(p + FR_SOURCEMAC, ev->sourcemac, 12);
    return (size_t)(put_str(p + FR_STRS, &ev->flow.applicationdetail) - p);
}

void ariel_row_stamp(uint8_t *row, uint64_t seq, int64_t storagetime)
{
    uint64_t tag = seq | ARIEL_ROW_COMPACT;
    memcpy(row, &tag, 8);
    memcpy(row + FR_STORAGETIME, &storagetime, 8);
}

size_t ariel_row_encode(uint8_t *p, uint64_t seq, const struct strm_event *ev)
{
    if (ev->flags & STRM_EV_FLOW) return encode_compact(p, seq, ev);
    uint8_t *q = p;
    memcpy(q, &seq, 8);
    memcpy(q + 8, ev, FIXED_EV_LEN);
    memcpy(q + 8 + FIXED_EV_LEN, ev->sourcemac, 12);
    q += ARIEL_ROW_FIXED;
    for (int k = 0; k < ARIEL_RS_MESSAGE; k++)
        q = put_str(q, ev_str(ev, k));
    if (is_slice(&ev->message, &ev->payload)) {
        q += ariel_varint_put(q, (uint64_t)ev->message.len << 1 | 1);
        q += ariel_varint_put(q, (uint64_t)(ev->message.p - ev->payload.p));
    } else {
        uint32_t len = ev->message.p ? ev->message.len : 0;
        q += ariel_varint_put(q, (uint64_t)len << 1);
        if (len) {
            memcpy(q, ev->message.p, len);
            q += len;
        }
    }
    return (size_t)(q - p);
}

/* One varint-length string at *q (checked against end); advances *q. False when malformed. */
static bool get_str(const uint8_t **q, const uint8_t *end, struct strm_str *out)
{
    uint64_t v;
    size_t n;
    if (*q < end && **q < 0x80) { /* a length below 128: most of them, without the call */
        v = **q;
        n = 1;
    } else {
        n = ariel_varint_get(*q, end, &v);
    }
    if (!n || v > (uint64_t)(end - *q - (ptrdiff_t)n) || v > UINT32_MAX) return false;
    *q += n;
    out->p = v ? (const char *)*q : NULL;
    out->len = (uint32_t)v;
    *q += v;
    return true;
}

/* Shared by decode (checked) and strs (trusted rows also go through the checks: cheap). */
static size_t row_strs(const uint8_t *p, size_t avail, struct strm_str out[ARIEL_ROW_NSTR],
                       bool *msg_slice)
{
    const uint8_t *end = p + avail, *q;
    uint64_t v, off;
    size_t n;
    if (avail >= 8 && ariel_row_compact(p)) {
        /* a copy of zeros, not memset: that became `rep stos`, whose start-up and unforwarded
         * stores were most of the segment writer's pass over flow rows */
        static const struct strm_str none[ARIEL_ROW_NSTR];
        memcpy(out, none, sizeof none);
        *msg_slice = false;
        if (avail < FR_STRS) return 0;
        q = p + FR_STRS;
        if (!get_str(&q, end, &out[ARIEL_RS_APPDETAIL])) return 0;
        return (size_t)(q - p);
    }
    if (avail < ARIEL_ROW_FIXED || avail < row_strs_at(p)) return 0;
    q = p + row_strs_at(p);
    for (int k = 0; k < ARIEL_RS_MESSAGE; k++)
        if (!get_str(&q, end, &out[k])) return 0;
    if (!(n = ariel_varint_get(q, end, &v))) return 0;
    q += n;
    *msg_slice = v & 1;
    v >>= 1;
    if (v > UINT32_MAX) return 0;
    if (*msg_slice) {
        if (!(n = ariel_varint_get(q, end, &off))) return 0;
        q += n;
        if (off > out[ARIEL_RS_PAYLOAD].len || v > out[ARIEL_RS_PAYLOAD].len - off || v == 0)
            return 0;
        out[ARIEL_RS_MESSAGE].p = out[ARIEL_RS_PAYLOAD].p + off;
    } else {
        if (v > (uint64_t)(end - q)) return 0;
        out[ARIEL_RS_MESSAGE].p = v ? (const char *)q : NULL;
        q += v;
    }
    out[ARIEL_RS_MESSAGE].len = (uint32_t)v;
    out[ARIEL_RS_APPDETAIL].p = NULL;
    out[ARIEL_RS_APPDETAIL].len = 0;
    if (row_is_flow(p) && !get_str(&q, end, &out[ARIEL_RS_APPDETAIL])) return 0;
    return (size_t)(q - p);
}

size_t ariel_row_strs(const uint8_t *row, size_t avail, struct strm_str out[ARIEL_ROW_NSTR],
                      bool *msg_slice)
{
    return row_strs(row, avail, out, msg_slice);
}

size_t ariel_row_decode(const uint8_t *p, size_t avail, uint64_t *seq, struct strm_event *ev)
{
    struct strm_str s[ARIEL_ROW_NSTR];
    bool slice;
    size_t n = row_strs(p, avail, s, &slice);
    if (!n) return 0;
    if (seq) *seq = ariel_row_seq(p);
    if (ariel_row_compact(p)) {
        memset(ev, 0, sizeof *ev);
        memcpy(&ev->starttime, p + FR_STARTTIME, 8);
        memcpy(&ev->storagetime, p + FR_STORAGETIME, 8);
        memcpy(&ev->flow, p + FR_FLOW, ARIEL_ROW_FLOW_FIXED);
        memcpy(&ev->sourceip, p + FR_SOURCEIP, 16);
        memcpy(&ev->destinationip, p + FR_DESTINATIONIP, 16);
        memcpy(&ev->sourceport, p + FR_SOURCEPORT, 2);
        memcpy(&ev->destinationport, p + FR_DESTINATIONPORT, 2);
        ev->protocolid = p[FR_PROTOCOLID];
        ev->flags = p[FR_FLAGS];
        memcpy(ev->sourcemac, p + FR_SOURCEMAC, 12);
        ev->flow.applicationdetail = s[ARIEL_RS_APPDETAIL];
        return n;
    }
    memcpy(ev, p + 8, FIXED_EV_LEN);
    memset(&ev->collectorip, 0, sizeof ev->collectorip);
    memcpy(ev->sourcemac, p + 8 + FIXED_EV_LEN, 12);
    ev->username = s[0];
    ev->hostname = s[1];
    ev->appname = s[2];
    ev->procid = s[3];
    ev->msgid = s[4];
    ev->properties = s[5];
    ev->payload = s[ARIEL_RS_PAYLOAD];
    ev->message = s[ARIEL_RS_MESSAGE];
    if (row_is_flow(p)) {
        memcpy(&ev->flow, p + ARIEL_ROW_FIXED, ARIEL_ROW_FLOW_FIXED);
        ev->flow.applicationdetail = s[ARIEL_RS_APPDETAIL];
    } else {
        memset(&ev->flow, 0, sizeof ev->flow);
    }
    return n;
}

/* ---------------------------------------------------------------- packed flow rows */

/* zigzag of a - b, the difference taken modulo 2^64 (no overflow whatever the times) */
static inline uint64_t zz(int64_t a, int64_t b)
{
    int64_t v = (int64_t)((uint64_t)a - (uint64_t)b);
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static inline int64_t unzz(uint64_t v)
{
    return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

static inline uint8_t *vput(uint8_t *q, uint64_t v)
{
    return q + ariel_varint_put(q, v);
}

static const uint8_t v4_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

/* The kind of an address (ARIEL_PK_IP_*). */
static inline unsigned ip_kind(const struct strm_ip *ip)
{
    uint64_t a, b;
    memcpy(&a, ip->b, 8);
    memcpy(&b, ip->b + 8, 8);
    if ((a | b) == 0) return ARIEL_PK_IP_NONE;
    if (a == 0 && (uint32_t)b == 0xffff0000u) return ARIEL_PK_IP_V4;
    return ARIEL_PK_IP_V6;
}

static inline uint8_t *ip_put(uint8_t *q, const struct strm_ip *ip, unsigned kind)
{
    if (kind == ARIEL_PK_IP_V4) {
        memcpy(q, ip->b + 12, 4);
        return q + 4;
    }
    if (kind == ARIEL_PK_IP_V6) {
        memcpy(q, ip->b, 16);
        return q + 16;
    }
    return q;
}

size_t ariel_flowpack_bound(const struct strm_event *ev)
{
    return ARIEL_FLOWPACK_MAX + (ev->flow.applicationdetail.p ? ev->flow.applicationdetail.len : 0);
}

/* A flow record's stored fields, wherever they lie (an event, a compact row). */
struct pack_in {
    int64_t starttime;
    uint8_t flags, protocolid;
    uint16_t sourceport, destinationport;
    const struct strm_ip *sourceip, *destinationip;
    const uint8_t *macs; /* source then destination */
    const struct strm_flow_fields *f;
    struct strm_str detail;
};

static inline size_t pack_one(uint8_t *p, const struct pack_in *in, struct ariel_flowpack *st)
{
    const struct strm_flow_fields *f = in->f;
    unsigned ks = ip_kind(in->sourceip), kd = ip_kind(in->destinationip), kf;
    if (st->have_source && memcmp(&f->flowsource, &st->flowsource, 16) == 0) {
        kf = ARIEL_PK_IP_SAME;
    } else {
        kf = ip_kind(&f->flowsource);
        st->flowsource = f->flowsource;
        st->have_source = true;
    }
    uint64_t m0;
    uint32_t m1;
    memcpy(&m0, in->macs, 8);
    memcpy(&m1, in->macs + 8, 4);
    bool macs = (m0 | m1) != 0;
    bool detail = in->detail.p && in->detail.len;
    uint8_t *q = p;
    *q++ = (uint8_t)(ks | kd << 2 | kf << 4 | (macs ? ARIEL_PK_MACS : 0) |
                     (detail ? ARIEL_PK_DETAIL : 0));
    *q++ = in->flags;
    *q++ = in->protocolid;
    memcpy(q, &in->sourceport, 2);
    memcpy(q + 2, &in->destinationport, 2);
    q += 4;
    q = vput(q, zz(in->starttime, st->prev_start));
    st->prev_start = in->starttime;
    q = vput(q, zz(f->firstpackettime, in->starttime));
    q = vput(q, zz(f->lastpackettime, f->firstpackettime));
    q = vput(q, f->sourcebytes);
    q = vput(q, f->destinationbytes);
    q = vput(q, f->sourcepackets);
    q = vput(q, f->destinationpackets);
    q = vput(q, f->applicationid);
    q = vput(q, f->flowinterface);
    q = vput(q, f->vlan);
    q[0] = f->sourceflags;
    q[1] = f->destinationflags;
    q[2] = f->flowtype;
    q[3] = f->flowdirection;
    q[4] = f->icmptype;
    q[5] = f->icmpcode;
    q[6] = f->sourcedscp;
    q += 7;
    q = ip_put(q, in->sourceip, ks);
    q = ip_put(q, in->destinationip, kd);
    if (kf != ARIEL_PK_IP_SAME) q = ip_put(q, &f->flowsource, kf);
    if (macs) {
        memcpy(q, in->macs, 12);
        q += 12;
    }
    if (detail) {
        q = vput(q, in->detail.len);
        memcpy(q, in->detail.p, in->detail.len);
        q += in->detail.len;
    }
    return (size_t)(q - p);
}

size_t ariel_flowpack_put(uint8_t *p, const struct strm_event *ev, struct ariel_flowpack *st)
{
    struct pack_in in = {ev->starttime,       ev->flags,
                         ev->protocolid,      ev->sourceport,
                         ev->destinationport, &ev->sourceip,
                         &ev->destinationip,  ev->sourcemac,
                         &ev->flow,           ev->flow.applicationdetail};
    return pack_one(p, &in, st);
}

size_t ariel_flowpack_put_row(uint8_t *p, const uint8_t *row, size_t len, struct ariel_flowpack *st)
{
    struct strm_flow_fields f;
    struct strm_ip src, dst;
    struct pack_in in;
    memcpy(&in.starttime, row + FR_STARTTIME, 8);
    in.flags = row[FR_FLAGS];
    in.protocolid = row[FR_PROTOCOLID];
    memcpy(&in.sourceport, row + FR_SOURCEPORT, 2);
    memcpy(&in.destinationport, row + FR_DESTINATIONPORT, 2);
    memcpy(&src, row + FR_SOURCEIP, 16);
    memcpy(&dst, row + FR_DESTINATIONIP, 16);
    memcpy(&f, row + FR_FLOW, ARIEL_ROW_FLOW_FIXED);
    in.sourceip = &src;
    in.destinationip = &dst;
    in.macs = row + FR_SOURCEMAC;
    in.f = &f;
    const uint8_t *q = row + FR_STRS;
    if (!get_str(&q, row + len, &in.detail)) in.detail = (struct strm_str){NULL, 0};
    return pack_one(p, &in, st);
}

/* Checked reads of a packed row: each fails (false) rather than read past end. */
static inline bool pk_var(const uint8_t **q, const uint8_t *end, uint64_t *v)
{
    size_t n = ariel_varint_get(*q, end, v);
    *q += n;
    return n != 0;
}

static inline bool pk_ip(const uint8_t **q, const uint8_t *end, unsigned kind, struct strm_ip *ip)
{
    size_t n = kind == ARIEL_PK_IP_V4 ? 4 : kind == ARIEL_PK_IP_V6 ? 16 : 0;
    if ((size_t)(end - *q) < n) return false;
    memset(ip, 0, sizeof *ip);
    if (kind == ARIEL_PK_IP_V4) {
        memcpy(ip->b, v4_prefix, 12);
        memcpy(ip->b + 12, *q, 4);
    } else if (kind == ARIEL_PK_IP_V6) {
        memcpy(ip->b, *q, 16);
    }
    *q += n;
    return true;
}

static size_t flowpack_get(const uint8_t *p, const uint8_t *end, struct strm_event *ev,
                           struct ariel_flowpack *st)
{
    const uint8_t *q = p;
    uint64_t v[10];
    memset(ev, 0, sizeof *ev);
    struct strm_flow_fields *f = &ev->flow;
    if (end - q < 7) return 0;
    unsigned kinds = q[0];
    ev->flags = q[1];
    ev->protocolid = q[2];
    memcpy(&ev->sourceport, q + 3, 2);
    memcpy(&ev->destinationport, q + 5, 2);
    q += 7;
    if (!(ev->flags & STRM_EV_FLOW)) return 0;
    for (int i = 0; i < 10; i++)
        if (!pk_var(&q, end, &v[i])) return 0;
    ev->starttime = (int64_t)((uint64_t)st->prev_start + (uint64_t)unzz(v[0]));
    st->prev_start = ev->starttime;
    f->firstpackettime = (int64_t)((uint64_t)ev->starttime + (uint64_t)unzz(v[1]));
    f->lastpackettime = (int64_t)((uint64_t)f->firstpackettime + (uint64_t)unzz(v[2]));
    f->sourcebytes = v[3];
    f->destinationbytes = v[4];
    f->sourcepackets = v[5];
    f->destinationpackets = v[6];
    if (v[7] > UINT32_MAX || v[8] > UINT32_MAX || v[9] > UINT16_MAX) return 0;
    f->applicationid = (uint32_t)v[7];
    f->flowinterface = (uint32_t)v[8];
    f->vlan = (uint16_t)v[9];
    if (end - q < 7) return 0;
    f->sourceflags = q[0];
    f->destinationflags = q[1];
    f->flowtype = q[2];
    f->flowdirection = q[3];
    f->icmptype = q[4];
    f->icmpcode = q[5];
    f->sourcedscp = q[6];
    q += 7;
    unsigned kf = kinds >> 4 & 3;
    if (!pk_ip(&q, end, kinds & 3, &ev->sourceip) || (kinds & 3) == ARIEL_PK_IP_SAME ||
        !pk_ip(&q, end, kinds >> 2 & 3, &ev->destinationip) || (kinds >> 2 & 3) == ARIEL_PK_IP_SAME)
        return 0;
    if (kf == ARIEL_PK_IP_SAME) {
        if (!st->have_source) return 0;
        f->flowsource = st->flowsource;
    } else {
        if (!pk_ip(&q, end, kf, &f->flowsource)) return 0;
        st->flowsource = f->flowsource;
        st->have_source = true;
    }
    if (kinds & ARIEL_PK_MACS) {
        if (end - q < 12) return 0;
        memcpy(ev->sourcemac, q, 12);
        q += 12;
    }
    if (kinds & ARIEL_PK_DETAIL) {
        uint64_t len;
        if (!pk_var(&q, end, &len) || len == 0 || len > (uint64_t)(end - q)) return 0;
        f->applicationdetail.p = (const char *)q;
        f->applicationdetail.len = (uint32_t)len;
        q += len;
    }
    return (size_t)(q - p);
}

int ariel_flowpack_unpack(uint64_t first_seq, uint32_t rows, const uint8_t *data, size_t len,
                          uint8_t **out, size_t *outlen)
{
    const uint8_t *q = data + ARIEL_FLOWPACK_HEAD, *end = data + len;
    struct ariel_flowpack st = {0};
    struct strm_event ev;
    int64_t storagetime;
    *out = NULL;
    *outlen = 0;
    /* every packed row has at least 7 + 10 + 7 bytes, every unpacked one at most
     * ARIEL_ROW_COMPACT_FIXED + 10 + its detail (which both forms hold byte for byte) */
    if (rows == 0 || len < ARIEL_FLOWPACK_HEAD || (len - ARIEL_FLOWPACK_HEAD) / 24 < rows)
        return STRM_ERR_CORRUPT;
    memcpy(&storagetime, data, 8);
    uint8_t *buf = malloc((size_t)rows * (ARIEL_ROW_COMPACT_FIXED + 10) + len);
    if (!buf) return STRM_ERR_NOMEM;
    size_t pos = 0;
    for (uint32_t i = 0; i < rows; i++) {
        size_t n = flowpack_get(q, end, &ev, &st);
        if (!n) {
            free(buf);
            return STRM_ERR_CORRUPT;
        }
        q += n;
        ev.storagetime = storagetime;
        pos += ariel_row_encode(buf + pos, first_seq + i, &ev);
    }
    if (q != end) {
        free(buf);
        return STRM_ERR_CORRUPT;
    }
    *out = buf;
    *outlen = pos;
    return 0;
}
