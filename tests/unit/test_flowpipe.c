/*
 * Unit tests for the flow receivers (src/flow/receiver.c) over loopback: NetFlow v5 over
 * UDP reaches the sink and is flushed within the flush interval; IPFIX over TCP is framed
 * by its message header however the bytes are split, and a bad header closes the
 * connection (counted); unreadable datagrams are counted as malformed; a port already bound
 * fails the start with a message naming the address and the config key.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "flow/flow.h"

/* ---------------------------------------------------------------- a recording sink */

struct rec_sink {
    struct flow_sink sink;
    struct strm_batch *b; /* records added, not yet flushed */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t flushed_records, flushed_bytes, flushed_packets;
static int flushed_types[STRM_FLOWTYPE__COUNT];

static struct strm_event *rec_add(struct flow_sink *sink, struct strm_arena **arena)
{
    struct rec_sink *s = sink->arg;
    if (s->b->count == s->b->cap) return NULL;
    *arena = &s->b->arena;
    return strm_batch_add(s->b);
}

static struct flow_sink *rec_open(void *arg)
{
    struct rec_sink *s = calloc(1, sizeof(*s));
    if (!s) return NULL;
    s->b = strm_batch_new(4096);
    s->sink.add = rec_add;
    s->sink.arg = s;
    return &s->sink;
}

static void rec_flush(struct flow_sink *sink)
{
    struct rec_sink *s = sink->arg;
    pthread_mutex_lock(&lock);
    for (uint32_t i = 0; i < s->b->count; i++) {
        const struct strm_event *ev = &s->b->ev[i];
        flushed_records++;
        flushed_bytes += ev->flow.sourcebytes + ev->flow.destinationbytes;
        flushed_packets += ev->flow.sourcepackets + ev->flow.destinationpackets;
        if (ev->flow.flowtype < STRM_FLOWTYPE__COUNT) flushed_types[ev->flow.flowtype]++;
    }
    pthread_mutex_unlock(&lock);
    strm_batch_reset(s->b);
}

static void rec_close(struct flow_sink *sink)
{
    struct rec_sink *s = sink->arg;
    rec_flush(sink);
    strm_batch_free(s->b);
    free(s);
}

static const struct flow_sink_factory factory = {rec_open, rec_flush, rec_close, NULL};

static uint64_t records_now(void)
{
    pthread_mutex_lock(&lock);
    uint64_t n = flushed_records;
    pthread_mutex_unlock(&lock);
    return n;
}

/* Waits up to ms for *v to reach want. */
static bool wait_for(uint64_t (*get)(void *), void *arg, uint64_t want, int ms)
{
    for (int i = 0; i < ms / 10; i++) {
        if (get(arg) >= want) return true;
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return get(arg) >= want;
}

static uint64_t get_records(void *arg)
{
    (void)arg;
    return records_now();
}

static uint64_t get_stat(void *arg)
{
    return atomic_load((_Atomic uint64_t *)arg);
}

/* ---------------------------------------------------------------- wire helpers */

static uint16_t free_port(int type)
{
    int fd = socket(AF_INET, type, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    socklen_t l = sizeof(a);
    getsockname(fd, (struct sockaddr *)&a, &l);
    close(fd);
    return ntohs(a.sin_port);
}

static uint8_t *put16(uint8_t *p, unsigned v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
    return p + 2;
}

static uint8_t *put32(uint8_t *p, uint32_t v)
{
    p = put16(p, v >> 16);
    return put16(p, v & 0xffff);
}

static uint8_t *put64(uint8_t *p, uint64_t v)
{
    p = put32(p, (uint32_t)(v >> 32));
    return put32(p, (uint32_t)v);
}

/* A NetFlow v5 datagram of n records, record i with (i + 1) * 100 bytes and i + 1 packets. */
static size_t netflow_v5(uint8_t *buf, int n, uint32_t seq)
{
    uint8_t *p = buf;
    uint32_t now = (uint32_t)time(NULL);
    p = put16(p, 5);
    p = put16(p, (unsigned)n);
    p = put32(p, 3600000); /* sysuptime ms */
    p = put32(p, now);
    p = put32(p, 0);
    p = put32(p, seq);
    *p++ = 0;
    *p++ = 0;
    p = put16(p, 0); /* no sampling */
    for (int i = 0; i < n; i++) {
        p = put32(p, 0x0a000001u + (uint32_t)i); /* 10.0.0.x */
        p = put32(p, 0x08080808u);
        p = put32(p, 0);
        p = put16(p, 1);
        p = put16(p, 2);
        p = put32(p, (uint32_t)i + 1);
        p = put32(p, ((uint32_t)i + 1) * 100);
        p = put32(p, 3590000);
        p = put32(p, 3599000);
        p = put16(p, 40000 + (unsigned)i);
        p = put16(p, 443);
        *p++ = 0;
        *p++ = 0x1b;
        *p++ = 6;
        *p++ = 0;
        p = put16(p, 0);
        p = put16(p, 0);
        *p++ = 24;
        *p++ = 0;
        p = put16(p, 0);
    }
    return (size_t)(p - buf);
}

/* An IPFIX message: a template (id 256: src/dst IPv4, octets, packets, proto, ports) and a
 * data set of n records, record i with 1000 + i bytes and 2 packets. */
static size_t ipfix_msg(uint8_t *buf, int n, uint32_t seq)
{
    static const uint16_t fields[][2] = {{8, 4}, {12, 4}, {1, 8}, {2, 8}, {4, 1}, {7, 2}, {11, 2}};
    const int nf = (int)(sizeof(fields) / sizeof(fields[0]));
    uint8_t *p = buf + 16;
    uint8_t *set = p;
    p = put16(p, 2);
    p = put16(p, 0);
    p = put16(p, 256);
    p = put16(p, (unsigned)nf);
    for (int i = 0; i < nf; i++) {
        p = put16(p, fields[i][0]);
        p = put16(p, fields[i][1]);
    }
    put16(set + 2, (unsigned)(p - set));
    set = p;
    p = put16(p, 256);
    p = put16(p, 0);
    for (int i = 0; i < n; i++) {
        p = put32(p, 0xc0a80001u + (uint32_t)i);
        p = put32(p, 0x01010101u);
        p = put64(p, 1000 + (uint64_t)i);
        p = put64(p, 2);
        *p++ = 17;
        p = put16(p, 5353);
        p = put16(p, 53);
    }
    put16(set + 2, (unsigned)(p - set));
    size_t len = (size_t)(p - buf);
    p = buf;
    p = put16(p, 10);
    p = put16(p, (unsigned)len);
    p = put32(p, (uint32_t)time(NULL));
    p = put32(p, seq);
    put32(p, 7); /* observation domain */
    return len;
}

static void reset_counts(void)
{
    pthread_mutex_lock(&lock);
    flushed_records = flushed_bytes = flushed_packets = 0;
    memset(flushed_types, 0, sizeof(flushed_types));
    pthread_mutex_unlock(&lock);
}

static struct strm_config *loopback_cfg(uint16_t nf_port, uint16_t tcp_port)
{
    struct strm_config *cfg = malloc(sizeof(*cfg));
    assert_non_null(cfg);
    strm_config_defaults(cfg);
    cfg->memtable_prealloc_mb = 64; /* not the product's gigabytes per test */
    cfg->n_netflow_udp = cfg->n_ipfix_udp = cfg->n_ipfix_tcp = cfg->n_sflow_udp = 0;
    cfg->syslog_udp_rcvbuf = 1 << 20;
    if (nf_port) {
        snprintf(cfg->netflow_udp[0].host, sizeof(cfg->netflow_udp[0].host), "127.0.0.1");
        cfg->netflow_udp[0].port = nf_port;
        cfg->n_netflow_udp = 1;
    }
    if (tcp_port) {
        snprintf(cfg->ipfix_tcp[0].host, sizeof(cfg->ipfix_tcp[0].host), "127.0.0.1");
        cfg->ipfix_tcp[0].port = tcp_port;
        cfg->n_ipfix_tcp = 1;
    }
    return cfg;
}

/* ---------------------------------------------------------------- tests */

struct seen {
    int n;
    uint64_t packets, records;
};

static void each(const struct flow_exporter_stats *es, void *arg)
{
    struct seen *seen = arg;
    seen->n++;
    seen->packets += es->packets;
    seen->records += es->records;
}

static void netflow_v5_over_udp(void **state)
{
    static struct strm_stats st;
    memset(&st, 0, sizeof(st));
    reset_counts();
    uint16_t port = free_port(SOCK_DGRAM);
    struct strm_config *cfg = loopback_cfg(port, 0);
    struct flow_receivers *r = NULL;
    char err[512];
    assert_int_equal(flow_receivers_start(cfg, &factory, &st, &r, err, sizeof(err)), 0);

    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in to = {
        .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    uint8_t buf[2048];
    size_t len = netflow_v5(buf, 30, 0);
    assert_int_equal(sendto(fd, buf, len, 0, (struct sockaddr *)&to, sizeof(to)), (ssize_t)len);
    len = netflow_v5(buf, 2, 30);
    assert_int_equal(sendto(fd, buf, len, 0, (struct sockaddr *)&to, sizeof(to)), (ssize_t)len);
    /* unreadable: too short for any header */
    assert_int_equal(sendto(fd, "\x00\x05\x00", 3, 0, (struct sockaddr *)&to, sizeof(to)), 3);
    /* records reach the sink by the periodic flush, without stopping the receivers */
    assert_true(wait_for(get_records, NULL, 32, 2000));
    assert_true(wait_for(get_stat, &st.flow_malformed, 1, 2000));
    assert_int_equal(atomic_load(&st.flow_packets_received), 3);
    pthread_mutex_lock(&lock);
    assert_int_equal(flushed_types[STRM_FLOWTYPE_NETFLOW5], 32);
    /* 100 * (1 + ... + 30) + 100 + 200 */
    assert_int_equal(flushed_bytes, 100u * 465u + 300u);
    assert_int_equal(flushed_packets, 465u + 3u);
    pthread_mutex_unlock(&lock);

    /* per-exporter counters are reachable */
    struct seen seen = {0, 0, 0};
    for (int i = 0; i < 100 && seen.records < 32; i++) { /* snapshots lag up to 100 ms */
        memset(&seen, 0, sizeof(seen));
        flow_receivers_exporters_each(r, each, &seen);
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    assert_int_equal(seen.n, 1);
    assert_int_equal(seen.records, 32);
    assert_int_equal(seen.packets, 2);

    /* the same port again: the start fails, naming address and key */
    struct flow_receivers *r2 = NULL;
    assert_int_not_equal(flow_receivers_start(cfg, &factory, &st, &r2, err, sizeof(err)), 0);
    assert_null(r2);
    char want[64];
    snprintf(want, sizeof(want), "127.0.0.1:%u", port);
    assert_non_null(strstr(err, want));
    assert_non_null(strstr(err, "netflow.udp"));

    close(fd);
    flow_receivers_stop(r);
    free(cfg);
}

static void send_all(int fd, const uint8_t *p, size_t len)
{
    while (len) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        assert_true(n > 0);
        p += n;
        len -= (size_t)n;
    }
}

static void ipfix_over_tcp_framing(void **state)
{
    static struct strm_stats st;
    memset(&st, 0, sizeof(st));
    reset_counts();
    uint16_t port = free_port(SOCK_STREAM);
    struct strm_config *cfg = loopback_cfg(0, port);
    struct flow_receivers *r = NULL;
    char err[512];
    assert_int_equal(flow_receivers_start(cfg, &factory, &st, &r, err, sizeof(err)), 0);

    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in to = {
        .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(connect(fd, (struct sockaddr *)&to, sizeof(to)), 0);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, 1 /* TCP_NODELAY */, &one, sizeof(one));
    static uint8_t stream[3 * 4096];
    size_t a = ipfix_msg(stream, 10, 0);
    size_t b = ipfix_msg(stream + a, 20, 10);
    size_t c = ipfix_msg(stream + a + b, 5, 30);
    size_t total = a + b + c;
    /* split across the header of the second message and inside the third */
    send_all(fd, stream, a + 3);
    struct timespec ts = {0, 50 * 1000 * 1000};
    nanosleep(&ts, NULL);
    send_all(fd, stream + a + 3, b + 10);
    nanosleep(&ts, NULL);
    send_all(fd, stream + a + b + 13, total - a - b - 13);
    assert_true(wait_for(get_records, NULL, 35, 3000));
    assert_true(wait_for(get_stat, &st.ipfix_tcp_connections, 1, 1000));
    assert_int_equal(atomic_load(&st.ipfix_tcp_active), 1);
    assert_int_equal(atomic_load(&st.flow_packets_received), 3);
    pthread_mutex_lock(&lock);
    assert_int_equal(flushed_types[STRM_FLOWTYPE_IPFIX], 35);
    assert_int_equal(flushed_packets, 70);
    pthread_mutex_unlock(&lock);

    /* a header that is not IPFIX: the connection is closed and counted */
    static const uint8_t bad[16] = {0, 9, 0, 16};
    send_all(fd, bad, sizeof(bad));
    assert_true(wait_for(get_stat, &st.ipfix_tcp_bad_frames, 1, 2000));
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    assert_int_equal(poll(&pfd, 1, 2000), 1);
    char x;
    assert_true(recv(fd, &x, 1, 0) <= 0); /* EOF or reset */
    close(fd);
    assert_true(wait_for(get_stat, &st.ipfix_tcp_active, 0, 1000) ||
                atomic_load(&st.ipfix_tcp_active) == 0);

    /* a length below the header size closes too */
    fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&to, sizeof(to)), 0);
    static const uint8_t shortlen[16] = {0, 10, 0, 15};
    send_all(fd, shortlen, sizeof(shortlen));
    assert_true(wait_for(get_stat, &st.ipfix_tcp_bad_frames, 2, 2000));
    close(fd);

    flow_receivers_stop(r);
    assert_int_equal(atomic_load(&st.ipfix_tcp_active), 0);
    free(cfg);
}

/* A sink that blocks in add until released: the store is stalled (full disk). */
static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cond = PTHREAD_COND_INITIALIZER;
static bool gate_open, gate_entered;

static struct strm_event *gate_add(struct flow_sink *sink, struct strm_arena **arena)
{
    pthread_mutex_lock(&gate_lock);
    gate_entered = true;
    pthread_cond_broadcast(&gate_cond);
    while (!gate_open)
        pthread_cond_wait(&gate_cond, &gate_lock);
    pthread_mutex_unlock(&gate_lock);
    return rec_add(sink, arena);
}

static struct flow_sink *gate_open_sink(void *arg)
{
    struct flow_sink *s = rec_open(arg);
    if (s) s->add = gate_add;
    return s;
}

struct stats_call {
    struct flow_receivers *r;
    struct seen seen;
    atomic_bool done;
};

static void *stats_thread(void *arg)
{
    struct stats_call *c = arg;
    flow_receivers_exporters_each(c->r, each, &c->seen);
    atomic_store(&c->done, true);
    return NULL;
}

/* Counters are readable while a decoder is blocked handing records on (backpressure):
 * `strm stats` must answer exactly when ingest is paused. */
static void stats_answer_while_sink_blocks(void **state)
{
    static struct strm_stats st;
    memset(&st, 0, sizeof(st));
    reset_counts();
    gate_open = gate_entered = false;
    uint16_t port = free_port(SOCK_DGRAM);
    struct strm_config *cfg = loopback_cfg(port, 0);
    struct flow_sink_factory gated = factory;
    gated.open = gate_open_sink;
    struct flow_receivers *r = NULL;
    char err[512];
    assert_int_equal(flow_receivers_start(cfg, &gated, &st, &r, err, sizeof(err)), 0);
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in to = {
        .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    uint8_t buf[2048];
    size_t len = netflow_v5(buf, 5, 0);
    assert_int_equal(sendto(fd, buf, len, 0, (struct sockaddr *)&to, sizeof(to)), (ssize_t)len);
    pthread_mutex_lock(&gate_lock);
    for (int i = 0; i < 200 && !gate_entered; i++) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 10 * 1000 * 1000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&gate_cond, &gate_lock, &ts);
    }
    bool entered = gate_entered;
    pthread_mutex_unlock(&gate_lock);
    assert_true(entered);

    static struct stats_call call;
    memset(&call, 0, sizeof(call));
    call.r = r;
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, stats_thread, &call), 0);
    for (int i = 0; i < 100 && !atomic_load(&call.done); i++) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    bool answered = atomic_load(&call.done);
    pthread_mutex_lock(&gate_lock);
    gate_open = true;
    pthread_cond_broadcast(&gate_cond);
    pthread_mutex_unlock(&gate_lock);
    pthread_join(th, NULL);
    assert_true(answered); /* within 1 s while the decoder was blocked */

    assert_true(wait_for(get_records, NULL, 5, 2000));
    close(fd);
    flow_receivers_stop(r);
    free(cfg);
}

static void nothing_configured_starts_nothing(void **state)
{
    static struct strm_stats st;
    struct strm_config *cfg = loopback_cfg(0, 0);
    struct flow_receivers *r = NULL;
    char err[256];
    assert_int_equal(flow_receivers_start(cfg, &factory, &st, &r, err, sizeof(err)), 0);
    flow_receivers_stop(r);
    free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(netflow_v5_over_udp),
        cmocka_unit_test(ipfix_over_tcp_framing),
        cmocka_unit_test(stats_answer_while_sink_blocks),
        cmocka_unit_test(nothing_configured_starts_nothing),
    };
    cmocka_set_message_output(CM_OUTPUT_TAP);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
