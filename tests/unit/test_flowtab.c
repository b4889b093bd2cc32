/*
 * Unit tests for src/flow/flowtab.c, the packet flow table: bidirectional accounting, TCP
 * FIN/RST ends, inactive and active timeouts (re-reports keep firstpackettime and sum to the
 * exact totals), eviction at max_flows, application detection from either direction. The
 * packets are struct pkt_info values built here, independent of the packet decoder.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "flow/flow.h"

#define TCP 6
#define UDP 17
#define FIN 0x01
#define SYN 0x02
#define RST 0x04
#define PSH 0x08
#define ACK 0x10

#define SEC 1000000LL
#define T0 (1700000000LL * SEC)

/* ---------------------------------------------------------------- a sink that keeps records */

struct rec_sink {
    struct flow_sink sink;
    struct strm_event *ev;
    size_t n, cap;
    struct strm_arena arena;
    bool refuse; /* behave as out of memory */
};

static struct strm_event *rec_add(struct flow_sink *s, struct strm_arena **arena)
{
    struct rec_sink *r = (struct rec_sink *)s;
    if (r->refuse) return NULL;
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 64;
        r->ev = realloc(r->ev, r->cap * sizeof(*r->ev));
        assert_non_null(r->ev);
    }
    struct strm_event *ev = &r->ev[r->n++];
    strm_event_init(ev);
    *arena = &r->arena;
    return ev;
}

static void rec_init(struct rec_sink *r)
{
    memset(r, 0, sizeof(*r));
    r->sink.add = rec_add;
    strm_arena_init(&r->arena, 4096);
}

static void rec_free(struct rec_sink *r)
{
    free(r->ev);
    strm_arena_free(&r->arena);
}

static const char *detail_of(const struct strm_event *ev)
{
    return ev->flow.applicationdetail.p ? ev->flow.applicationdetail.p : "";
}

/* ---------------------------------------------------------------- packets */

static struct pkt_info pkt(const char *src, uint16_t sport, const char *dst, uint16_t dport,
                           uint8_t proto, uint8_t flags, uint32_t iplen)
{
    struct pkt_info pi;
    memset(&pi, 0, sizeof(pi));
    assert_int_equal(strm_ip_parse(&pi.src, src, strlen(src)), 0);
    assert_int_equal(strm_ip_parse(&pi.dst, dst, strlen(dst)), 0);
    pi.ipver = strchr(src, ':') ? 6 : 4;
    pi.ethertype = pi.ipver == 6 ? 0x86dd : 0x0800;
    pi.proto = proto;
    pi.sport = sport;
    pi.dport = dport;
    pi.tcpflags = proto == TCP ? flags : 0;
    pi.iplen = iplen;
    pi.smac[5] = (uint8_t)(src[strlen(src) - 1]);
    pi.dmac[5] = (uint8_t)(dst[strlen(dst) - 1]);
    return pi;
}

static struct pkt_info with_payload(struct pkt_info pi, const char *payload)
{
    pi.l4payload = (const uint8_t *)payload;
    pi.l4payload_len = (uint32_t)strlen(payload);
    return pi;
}

static void ip_is(const struct strm_ip *ip, const char *text)
{
    char buf[64];
    strm_ip_format(ip, buf, sizeof(buf));
    assert_string_equal(buf, text);
}

/* ---------------------------------------------------------------- tests */

/*
 * A whole TCP connection, the client on the higher address (so its side of the normalized
 * key is the second): one record, both directions counted apart, ended by the last ACK after
 * both FINs without waiting for a timeout.
 */
static void tcp_connection_one_record(void **state)
{
    struct flowtab *ft = flowtab_new(NULL);
    struct rec_sink r;
    rec_init(&r);
    const char *c = "10.0.0.9", *s = "10.0.0.2";
    const char *req = "GET / HTTP/1.1\r\nHost: www.example.com\r\n\r\n";
    const char *resp = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    struct pkt_info p[] = {
        pkt(c, 40000, s, 80, TCP, SYN, 60),
        pkt(s, 80, c, 40000, TCP, SYN | ACK, 60),
        pkt(c, 40000, s, 80, TCP, ACK, 52),
        with_payload(pkt(c, 40000, s, 80, TCP, PSH | ACK, (uint32_t)(52 + strlen(req))), req),
        with_payload(pkt(s, 80, c, 40000, TCP, PSH | ACK, (uint32_t)(52 + strlen(resp))), resp),
        pkt(c, 40000, s, 80, TCP, FIN | ACK, 52),
        pkt(s, 80, c, 40000, TCP, ACK, 52),
        pkt(s, 80, c, 40000, TCP, FIN | ACK, 52),
        pkt(c, 40000, s, 80, TCP, ACK, 52),
    };
    uint64_t cb = 0, sb = 0, cp = 0, sp = 0;
    for (size_t i = 0; i < sizeof(p) / sizeof(p[0]); i++) {
        int64_t ts = T0 + (int64_t)i * 1000;
        assert_int_equal(r.n, 0); /* nothing before the end */
        flowtab_packet(ft, &p[i], p[i].iplen + 14, ts, &r.sink);
        if (p[i].sport == 40000)
            cb += p[i].iplen, cp++;
        else
            sb += p[i].iplen, sp++;
    }
    assert_int_equal(r.n, 1);
    const struct strm_event *ev = &r.ev[0];
    assert_true(ev->flags & STRM_EV_FLOW);
    ip_is(&ev->sourceip, c);
    ip_is(&ev->destinationip, s);
    assert_int_equal(ev->sourceport, 40000);
    assert_int_equal(ev->destinationport, 80);
    assert_int_equal(ev->protocolid, TCP);
    assert_int_equal(ev->sourcemac[5], '9');
    assert_int_equal(ev->destinationmac[5], '2');
    assert_int_equal(ev->flow.sourcebytes, cb);
    assert_int_equal(ev->flow.destinationbytes, sb);
    assert_int_equal(ev->flow.sourcepackets, cp);
    assert_int_equal(ev->flow.destinationpackets, sp);
    assert_int_equal(ev->flow.sourceflags, SYN | ACK | PSH | FIN);
    assert_int_equal(ev->flow.destinationflags, SYN | ACK | PSH | FIN);
    assert_int_equal(ev->flow.firstpackettime, T0 / 1000);
    assert_int_equal(ev->flow.lastpackettime, (T0 + 8000) / 1000);
    assert_int_equal(ev->starttime, (T0 + 8000) / 1000);
    assert_int_equal(ev->flow.flowtype, STRM_FLOWTYPE_PACKET);
    assert_int_equal(ev->flow.applicationid, APPID_HTTP);
    assert_string_equal(detail_of(ev), "www.example.com");
    struct flowtab_stats st;
    flowtab_stats_get(ft, &st);
    assert_int_equal(st.packets, 9);
    assert_int_equal(st.bytes, cb + sb);
    assert_int_equal(st.flows_created, 1);
    assert_int_equal(st.flows_reported, 1);
    assert_int_equal(st.records, 1);
    assert_int_equal(st.active, 0);
    flowtab_flush(ft, &r.sink);
    assert_int_equal(r.n, 1);
    flowtab_free(ft);
    rec_free(&r);
}

/* RST ends a flow at once; a SYN after FINs opens a new flow on the same port pair; FINs
 * without the last ACK end after a short linger, not after the inactive timeout. */
static void tcp_rst_fin_and_reuse(void **state)
{
    struct flowtab *ft = flowtab_new(NULL);
    struct rec_sink r;
    rec_init(&r);
    const char *c = "192.0.2.1", *s = "192.0.2.200";
    struct pkt_info syn = pkt(c, 50000, s, 22, TCP, SYN, 60);
    struct pkt_info rst = pkt(s, 22, c, 50000, TCP, RST | ACK, 40);
    flowtab_packet(ft, &syn, 74, T0, &r.sink);
    flowtab_packet(ft, &rst, 54, T0 + 10, &r.sink);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.ev[0].flow.sourcepackets, 1);
    assert_int_equal(r.ev[0].flow.destinationpackets, 1);
    assert_int_equal(r.ev[0].flow.destinationflags, RST | ACK);
    assert_int_equal(r.ev[0].flow.applicationid, APPID_SSH); /* port 22, no payload */

    /* FIN from both, no last ACK seen; then the port pair is reused. */
    struct pkt_info p1 = pkt(c, 50000, s, 22, TCP, SYN, 60);
    struct pkt_info p2 = pkt(c, 50000, s, 22, TCP, FIN | ACK, 52);
    struct pkt_info p3 = pkt(s, 22, c, 50000, TCP, FIN | ACK, 52);
    flowtab_packet(ft, &p1, 0, T0 + 1 * SEC, &r.sink);
    flowtab_packet(ft, &p2, 0, T0 + 2 * SEC, &r.sink);
    flowtab_packet(ft, &p3, 0, T0 + 3 * SEC, &r.sink);
    assert_int_equal(r.n, 1);
    flowtab_packet(ft, &p1, 0, T0 + 3 * SEC + 100, &r.sink); /* new SYN: old flow ends */
    assert_int_equal(r.n, 2);
    assert_int_equal(r.ev[1].flow.sourcepackets, 2);
    assert_int_equal(r.ev[1].flow.destinationpackets, 1);
    assert_int_equal(r.ev[1].flow.firstpackettime, (T0 + 1 * SEC) / 1000);
    flowtab_packet(ft, &p2, 0, T0 + 4 * SEC, &r.sink);
    flowtab_packet(ft, &p3, 0, T0 + 4 * SEC + 10, &r.sink);
    flowtab_expire(ft, T0 + 5 * SEC, &r.sink);
    assert_int_equal(r.n, 2);
    flowtab_expire(ft, T0 + 6 * SEC + 10, &r.sink); /* 2 s after the second FIN */
    assert_int_equal(r.n, 3);
    assert_int_equal(r.ev[2].flow.firstpackettime, (T0 + 3 * SEC + 100) / 1000);
    assert_int_equal(r.ev[2].flow.sourcepackets + r.ev[2].flow.destinationpackets, 3);
    /* A close where the FINs cross: client FIN, server FIN, then the server's late ACK of
     * the client's FIN, then the client's last ACK: all one flow, ended by the last ACK. */
    struct pkt_info q[] = {
        pkt(c, 50001, s, 8000, TCP, SYN, 60),       pkt(s, 8000, c, 50001, TCP, SYN | ACK, 60),
        pkt(c, 50001, s, 8000, TCP, ACK, 52),       pkt(c, 50001, s, 8000, TCP, FIN | ACK, 52),
        pkt(s, 8000, c, 50001, TCP, FIN | ACK, 52), pkt(s, 8000, c, 50001, TCP, ACK, 52),
        pkt(c, 50001, s, 8000, TCP, ACK, 52),
    };
    for (size_t i = 0; i < sizeof(q) / sizeof(q[0]); i++) {
        assert_int_equal(r.n, 3);
        flowtab_packet(ft, &q[i], 0, T0 + 10 * SEC + (int64_t)i, &r.sink);
    }
    assert_int_equal(r.n, 4);
    assert_int_equal(r.ev[3].flow.sourcepackets, 4);
    assert_int_equal(r.ev[3].flow.destinationpackets, 3);
    struct flowtab_stats st;
    flowtab_stats_get(ft, &st);
    assert_int_equal(st.active, 0);
    assert_int_equal(st.flows_created, 4);
    flowtab_free(ft);
    rec_free(&r);
}

static void inactive_timeout_ends_flow(void **state)
{
    struct flowtab_options o = {.inactive_timeout_s = 15, .active_timeout_s = 60};
    strm_ip_parse(&o.source, "10.1.1.1", 8);
    o.ifindex = 7;
    struct flowtab *ft = flowtab_new(&o);
    struct rec_sink r;
    rec_init(&r);
    struct pkt_info a = pkt("10.0.0.1", 5353, "10.0.0.2", 123, UDP, 0, 76);
    struct pkt_info b = pkt("10.0.0.2", 123, "10.0.0.1", 5353, UDP, 0, 76);
    flowtab_packet(ft, &a, 90, T0, &r.sink);
    flowtab_packet(ft, &b, 90, T0 + 1 * SEC, &r.sink);
    flowtab_expire(ft, T0 + 16 * SEC - 1, &r.sink);
    assert_int_equal(r.n, 0);
    flowtab_expire(ft, T0 + 16 * SEC, &r.sink);
    assert_int_equal(r.n, 1);
    const struct strm_event *ev = &r.ev[0];
    ip_is(&ev->sourceip, "10.0.0.1");
    assert_int_equal(ev->flow.sourcebytes, 76);
    assert_int_equal(ev->flow.destinationbytes, 76);
    assert_int_equal(ev->flow.applicationid, APPID_NTP);
    assert_int_equal(ev->starttime, (T0 + 16 * SEC) / 1000);
    assert_int_equal(ev->flow.lastpackettime, (T0 + 1 * SEC) / 1000);
    ip_is(&ev->flow.flowsource, "10.1.1.1");
    assert_int_equal(ev->flow.flowinterface, 7);
    struct flowtab_stats st;
    flowtab_stats_get(ft, &st);
    assert_int_equal(st.active, 0);
    flowtab_free(ft);
    rec_free(&r);
}

/*
 * A flow going on for 200 s with a packet every second (both directions, varying sizes) and
 * expiry after every packet: reported at 60, 120 and 180 s and at the end, every record with
 * the same firstpackettime, the records adding up to exactly the packets' totals.
 */
static void active_timeout_rereports_exact_sums(void **state)
{
    struct flowtab *ft = flowtab_new(NULL);
    struct rec_sink r;
    rec_init(&r);
    uint64_t sb = 0, db = 0, sp = 0, dp = 0;
    for (int i = 0; i <= 200; i++) {
        bool fwd = i % 3 != 2;
        uint32_t len = 40 + (uint32_t)(i * 37 % 1400);
        struct pkt_info p = fwd ? pkt("2001:db8::1", 40000, "2001:db8::2", 5001, UDP, 0, len)
                                : pkt("2001:db8::2", 5001, "2001:db8::1", 40000, UDP, 0, len);
        int64_t ts = T0 + i * SEC + 123;
        flowtab_packet(ft, &p, len + 14, ts, &r.sink);
        flowtab_expire(ft, ts, &r.sink);
        if (fwd)
            sb += len, sp++;
        else
            db += len, dp++;
    }
    assert_int_equal(r.n, 3);
    flowtab_flush(ft, &r.sink);
    assert_int_equal(r.n, 4);
    uint64_t rsb = 0, rdb = 0, rsp = 0, rdp = 0;
    int64_t prev_last = 0;
    for (size_t i = 0; i < r.n; i++) {
        const struct strm_event *ev = &r.ev[i];
        ip_is(&ev->sourceip, "2001:db8::1");
        assert_int_equal(ev->sourceport, 40000);
        assert_int_equal(ev->flow.firstpackettime, (T0 + 123) / 1000);
        assert_true(ev->flow.lastpackettime > prev_last);
        assert_true(ev->starttime >= ev->flow.lastpackettime);
        prev_last = ev->flow.lastpackettime;
        rsb += ev->flow.sourcebytes;
        rdb += ev->flow.destinationbytes;
        rsp += ev->flow.sourcepackets;
        rdp += ev->flow.destinationpackets;
    }
    assert_int_equal(r.ev[0].starttime, (T0 + 60 * SEC + 123) / 1000);
    assert_int_equal(r.ev[0].flow.sourcepackets + r.ev[0].flow.destinationpackets, 61);
    assert_int_equal(rsb, sb);
    assert_int_equal(rdb, db);
    assert_int_equal(rsp, sp);
    assert_int_equal(rdp, dp);
    struct flowtab_stats st;
    flowtab_stats_get(ft, &st);
    assert_int_equal(st.records, 4);
    assert_int_equal(st.flows_created, 1);
    assert_int_equal(st.flows_reported, 1);
    assert_int_equal(st.bytes, sb + db);
    flowtab_free(ft);
    rec_free(&r);
}

/* After a flush (end of a file) the next file may hold earlier packets: its timeouts work
 * on its own times (regression: a stale clock suppressed its re-reports and idle ends). */
static void flush_then_earlier_file(void **state)
{
    struct flowtab *ft = flowtab_new(NULL);
    struct rec_sink r;
    rec_init(&r);
    struct pkt_info p = pkt("10.0.0.1", 7000, "10.0.0.2", 7001, UDP, 0, 100);
    flowtab_packet(ft, &p, 0, T0 + 1000 * SEC, &r.sink);
    flowtab_flush(ft, &r.sink);
    assert_int_equal(r.n, 1);
    for (int i = 0; i <= 70; i++) {
        flowtab_packet(ft, &p, 0, T0 + i * SEC, &r.sink);
        flowtab_expire(ft, T0 + i * SEC, &r.sink);
    }
    assert_int_equal(r.n, 2); /* re-reported at 60 s */
    flowtab_expire(ft, T0 + 86 * SEC, &r.sink);
    assert_int_equal(r.n, 3); /* ended 15 s after its last packet */
    assert_int_equal(r.ev[1].flow.sourcepackets + r.ev[2].flow.sourcepackets, 71);
    flowtab_free(ft);
    rec_free(&r);
}

static void eviction_at_max_flows(void **state)
{
    struct flowtab_options o = {.max_flows = 3};
    struct flowtab *ft = flowtab_new(&o);
    struct rec_sink r;
    rec_init(&r);
    for (int i = 0; i < 5; i++) {
        struct pkt_info p = pkt("10.0.0.1", (uint16_t)(1000 + i), "10.0.0.2", 9, UDP, 0, 100);
        flowtab_packet(ft, &p, 0, T0 + i * SEC, &r.sink);
        /* flow 0 stays busy: the least recently active ones go first */
        struct pkt_info p0 = pkt("10.0.0.1", 1000, "10.0.0.2", 9, UDP, 0, 50);
        flowtab_packet(ft, &p0, 0, T0 + i * SEC + 1, &r.sink);
    }
    struct flowtab_stats st;
    flowtab_stats_get(ft, &st);
    assert_int_equal(st.flows_evicted, 2);
    assert_int_equal(st.active, 3);
    assert_int_equal(r.n, 2);
    assert_int_equal(r.ev[0].sourceport, 1001);
    assert_int_equal(r.ev[1].sourceport, 1002);
    flowtab_flush(ft, &r.sink);
    assert_int_equal(r.n, 5);
    uint64_t bytes = 0, pkts = 0;
    for (size_t i = 0; i < r.n; i++) {
        bytes += r.ev[i].flow.sourcebytes + r.ev[i].flow.destinationbytes;
        pkts += r.ev[i].flow.sourcepackets + r.ev[i].flow.destinationpackets;
    }
    assert_int_equal(pkts, 10);
    assert_int_equal(bytes, 5 * 100 + 5 * 50);
    flowtab_free(ft);
    rec_free(&r);
}

/* The first payload comes from the server (banner) or from either side (HTTP seen mid-way). */
static void app_detected_from_reverse_direction(void **state)
{
    struct flowtab *ft = flowtab_new(NULL);
    struct rec_sink r;
    rec_init(&r);
    const char *c = "172.16.0.5", *s = "172.16.0.1";
    struct pkt_info syn = pkt(c, 45000, s, 2222, TCP, SYN, 60);
    struct pkt_info sa = pkt(s, 2222, c, 45000, TCP, SYN | ACK, 60);
    struct pkt_info banner =
        with_payload(pkt(s, 2222, c, 45000, TCP, PSH | ACK, 80), "SSH-2.0-OpenSSH_9.2p1\r\n");
    struct pkt_info mine =
        with_payload(pkt(c, 45000, s, 2222, TCP, PSH | ACK, 80), "SSH-2.0-PuTTY_0.78\r\n");
    flowtab_packet(ft, &syn, 0, T0, &r.sink);
    flowtab_packet(ft, &sa, 0, T0 + 1, &r.sink);
    flowtab_packet(ft, &banner, 0, T0 + 2, &r.sink);
    flowtab_packet(ft, &mine, 0, T0 + 3, &r.sink);

    /* The capture starts mid-flow: the server's response is the first payload seen; the
     * client's next request names the host. */
    const char *h = "10.9.9.9", *w = "10.9.9.1";
    struct pkt_info resp =
        with_payload(pkt(w, 80, h, 33333, TCP, PSH | ACK, 500), "HTTP/1.1 200 OK\r\n\r\n");
    struct pkt_info req = with_payload(pkt(h, 33333, w, 80, TCP, PSH | ACK, 300),
                                       "GET /a HTTP/1.1\r\nHost: intranet.local\r\n\r\n");
    flowtab_packet(ft, &resp, 0, T0 + 10, &r.sink);
    flowtab_packet(ft, &req, 0, T0 + 11, &r.sink);

    /* A DNS query on an odd port, the reply first in the capture: detected from the query. */
    uint8_t q[] = {0x12, 0x34, 0x01, 0x00, 0,   1,   0,   0, 0, 0, 0, 0, 3,
                   'f',  'o',  'o',  3,    'b', 'a', 'r', 0, 0, 1, 0, 1};
    struct pkt_info reply = pkt("10.5.5.5", 8600, "10.5.5.6", 41000, UDP, 0, 100);
    reply.l4payload = (const uint8_t *)"\x00\x01\x02\x03\x04\x05\x06\x07";
    reply.l4payload_len = 8;
    struct pkt_info query = pkt("10.5.5.6", 41000, "10.5.5.5", 8600, UDP, 0, 53);
    query.l4payload = q;
    query.l4payload_len = sizeof(q);
    flowtab_packet(ft, &reply, 0, T0 + 20, &r.sink);
    flowtab_packet(ft, &query, 0, T0 + 21, &r.sink);

    flowtab_flush(ft, &r.sink);
    assert_int_equal(r.n, 3);
    for (size_t i = 0; i < r.n; i++) {
        const struct strm_event *ev = &r.ev[i];
        if (ev->destinationport == 2222) {
            assert_int_equal(ev->flow.applicationid, APPID_SSH);
            assert_string_equal(detail_of(ev), "SSH-2.0-OpenSSH_9.2p1"); /* the first one */
        } else if (ev->sourceport == 80) {
            ip_is(&ev->sourceip, w); /* the first packet's sender is the source */
            assert_int_equal(ev->flow.applicationid, APPID_HTTP);
            assert_string_equal(detail_of(ev), "intranet.local");
        } else {
            assert_int_equal(ev->sourceport, 8600);
            assert_int_equal(ev->flow.applicationid, APPID_DNS);
            assert_string_equal(detail_of(ev), "foo.bar");
        }
    }
    flowtab_free(ft);
    rec_free(&r);
}

/* ICMP echo and reply share a flow; non-IP is counted only; a refusing sink is counted. */
static void icmp_nonip_and_drops(void **state)
{
    struct flowtab *ft = flowtab_new(NULL);
    struct rec_sink r;
    rec_init(&r);
    struct pkt_info echo = pkt("10.0.0.1", 0, "10.0.0.2", 0, 1, 0, 84);
    echo.icmptype = 8;
    struct pkt_info reply = pkt("10.0.0.2", 0, "10.0.0.1", 0, 1, 0, 84);
    reply.icmptype = 0;
    flowtab_packet(ft, &echo, 98, T0, &r.sink);
    flowtab_packet(ft, &reply, 98, T0 + 100, &r.sink);
    struct pkt_info arp;
    memset(&arp, 0, sizeof(arp));
    arp.ethertype = 0x0806;
    flowtab_packet(ft, &arp, 42, T0 + 200, &r.sink);
    flowtab_flush(ft, &r.sink);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.ev[0].flow.icmptype, 8);
    assert_int_equal(r.ev[0].flow.sourcepackets, 1);
    assert_int_equal(r.ev[0].flow.destinationpackets, 1);
    struct flowtab_stats st;
    flowtab_stats_get(ft, &st);
    assert_int_equal(st.non_ip, 1);
    assert_int_equal(st.packets, 2);

    r.refuse = true;
    flowtab_packet(ft, &echo, 98, T0 + SEC, &r.sink);
    flowtab_flush(ft, &r.sink);
    flowtab_stats_get(ft, &st);
    assert_int_equal(st.records_dropped, 1);
    assert_int_equal(st.records, 1);
    flowtab_free(ft);
    rec_free(&r);
}

/*
 * Many flows (past the initial hash size), random packets and expiry: per flow (5-tuple and
 * firstpackettime) the records sum to exactly what was sent, and nothing is reported twice
 * after its end.
 */
struct truth {
    uint64_t bytes[2], pkts[2];
    int64_t first_ms;
    bool started;
};

static void many_flows_exact_totals(void **state)
{
    enum { NF = 5000, NP = 60000 };
    struct flowtab_options o = {.active_timeout_s = 5, .inactive_timeout_s = 3};
    struct flowtab *ft = flowtab_new(&o);
    struct rec_sink r;
    rec_init(&r);
    struct truth *t = calloc(NF, sizeof(*t));
    uint64_t x = 12345;
    for (int i = 0; i < NP; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        uint32_t f = (uint32_t)(x >> 33) % NF;
        int dir = (int)(x >> 20) & 1;
        uint32_t len = 40 + (uint32_t)(x >> 40) % 1000;
        char a[32], b[32];
        snprintf(a, sizeof(a), "10.%u.%u.1", f / 250, f % 250);
        snprintf(b, sizeof(b), "10.200.0.%u", f % 7);
        int64_t ts = T0 + (int64_t)i * 200; /* 12 s in all: flows are re-reported */
        if (!t[f].started) dir = 0;
        struct pkt_info p = dir ? pkt(b, 53, a, (uint16_t)(1024 + f), UDP, 0, len)
                                : pkt(a, (uint16_t)(1024 + f), b, 53, UDP, 0, len);
        flowtab_packet(ft, &p, 0, ts, &r.sink);
        if (!t[f].started) t[f].first_ms = ts / 1000;
        t[f].started = true;
        t[f].bytes[dir] += len;
        t[f].pkts[dir]++;
        if (i % 100 == 0) flowtab_expire(ft, ts, &r.sink);
    }
    flowtab_flush(ft, &r.sink);
    struct truth *got = calloc(NF, sizeof(*got));
    for (size_t i = 0; i < r.n; i++) {
        const struct strm_event *ev = &r.ev[i];
        /* A flow restarted by a reply after its end has the server as its source. */
        bool rev = ev->sourceport == 53;
        uint32_t f = (rev ? ev->destinationport : ev->sourceport) - 1024u;
        assert_true(f < NF);
        got[f].bytes[rev] += ev->flow.sourcebytes;
        got[f].bytes[!rev] += ev->flow.destinationbytes;
        got[f].pkts[rev] += ev->flow.sourcepackets;
        got[f].pkts[!rev] += ev->flow.destinationpackets;
        assert_true(ev->flow.firstpackettime >= t[f].first_ms);
    }
    for (int f = 0; f < NF; f++) {
        if (memcmp(got[f].bytes, t[f].bytes, sizeof(t[f].bytes)) ||
            memcmp(got[f].pkts, t[f].pkts, sizeof(t[f].pkts)))
            fail_msg("flow %d: records do not add up to its packets", f);
    }
    struct flowtab_stats st;
    flowtab_stats_get(ft, &st);
    assert_int_equal(st.packets, NP);
    assert_int_equal(st.records, r.n);
    assert_int_equal(st.active, 0);
    assert_int_equal(st.flows_created, st.flows_reported);
    assert_true(st.flows_created > NF); /* the 3 s inactive timeout ended and restarted some */
    free(t);
    free(got);
    flowtab_free(ft);
    rec_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tcp_connection_one_record),
        cmocka_unit_test(tcp_rst_fin_and_reuse),
        cmocka_unit_test(inactive_timeout_ends_flow),
        cmocka_unit_test(active_timeout_rereports_exact_sums),
        cmocka_unit_test(flush_then_earlier_file),
        cmocka_unit_test(eviction_at_max_flows),
        cmocka_unit_test(app_detected_from_reverse_direction),
        cmocka_unit_test(icmp_nonip_and_drops),
        cmocka_unit_test(many_flows_exact_totals),
    };
    cmocka_set_message_output(CM_OUTPUT_TAP);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
