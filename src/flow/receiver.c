/*
 * receiver.c - the flow collector's network listeners: NetFlow v5/v9 and IPFIX over UDP
 * (netflow.udp, ipfix.udp), sFlow v5 over UDP (sflow.udp) and IPFIX over TCP (ipfix.tcp).
 * Wire data enters here; decoded flow records leave through one flow_sink per thread.
 *
 * UDP: one thread per listener entry (an entry may be two sockets: "" binds 0.0.0.0 and ::),
 * each with its own decoder state, so templates of an exporter live where its datagrams
 * arrive and no decoder is shared between threads. Sockets get a large receive buffer
 * (syslog.udp_rcvbuf: SO_RCVBUFFORCE as root, else SO_RCVBUF) and no SO_REUSEPORT: a port
 * held by anyone else fails the start, as it must. The thread waits on epoll and drains a
 * ready socket with recvmmsg, 64 datagrams per call, into one receive area of 64 x 64 KiB
 * (a datagram is never cut: no UDP payload is longer), and decodes each datagram in place;
 * records go to the thread's sink. Datagrams the kernel dropped because the buffer was full
 * are read from SO_MEMINFO into flow_udp_dropped_kernel. A decoder that blocks on a full
 * flow queue stops the reading: the kernel buffer takes the burst.
 *
 * TCP (IPFIX, RFC 7011 section 10.4): one thread for the listeners and every connection,
 * with one decoder state. A connection's bytes are framed by the IPFIX message header: the
 * version must be 10 and the length at least 16 (the header) and at most 65535 by its width,
 * so one 64 KiB buffer per connection holds any message. A header that breaks these rules
 * means the stream lost its framing: the connection is closed and counted
 * (ipfix_tcp_bad_frames), since nothing after it can be trusted. Templates over TCP belong
 * to the session: when an exporter's last connection closes, nf_session_end forgets them.
 *
 * Every thread flushes its sink every 200 ms, calls nf_tick about once a second and then
 * folds its decoder's per-exporter counters (unknown-template drops, sequence gaps) into the
 * global counters as deltas. On stop the threads end; the sinks are closed (flushed) by
 * flow_receivers_stop after the join, so nothing decoded is left behind.
 *
 * `strm stats` must answer while ingest is paused: a decoder holds its state's lock while it
 * hands records to the sink, and the sink blocks while the flow queue is full (a full disk),
 * so asking a decoder for its counters from another thread could wait as long as the pause.
 * Each thread therefore copies its decoder's per-exporter and interface counters into a
 * snapshot of its own, at most every 100 ms after it decoded something and after each
 * tick; flow_receivers_*_each read the snapshots and never touch a decoder.
 */
#include "core/net.h"
#include "flow/flow.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/sock_diag.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RX_VLEN 64           /* datagrams per recvmmsg */
#define RX_DGRAM_MAX 65536   /* bytes per datagram slot: any UDP payload fits */
#define RX_CALLS_PER_WAKE 8  /* recvmmsg calls per socket before looking at the others */
#define RX_SOCKS_PER_ENTRY 8 /* addresses one listener entry may resolve to */
#define RX_FLUSH_MS 20       /* sinks are flushed this often: records searchable within ~20 ms */
#define RX_IDLE_MS 2         /* and when no datagram came for this long */
#define RX_TICK_MS 1000      /* nf_tick and counter folding */
#define TCP_MAX_CLIENTS 1024 /* IPFIX exporters over TCP; more are refused */
#define TCP_BUF 65536        /* one IPFIX message at most 65535 bytes */
#define IPFIX_HDR 16
#define RX_SNAP_MS 100 /* counter snapshots are refreshed at most this often */

enum rx_kind { RX_NETFLOW, RX_IPFIX_UDP, RX_SFLOW, RX_IPFIX_TCP };

static const char *const kind_proto[] = {"NetFlow UDP", "IPFIX UDP", "sFlow UDP", "IPFIX TCP"};
static const char *const kind_key[] = {"netflow.udp", "ipfix.udp", "sflow.udp", "ipfix.tcp"};

/* What an epoll event points to; first member of struct tcp_conn too. */
struct ep_tag {
    int kind; /* 0 socket of a UDP thread, 1 TCP listener, 2 TCP connection */
    int fd;
};

struct tcp_conn {
    struct ep_tag tag;
    struct strm_ip peer;
    uint8_t *buf; /* TCP_BUF bytes */
    size_t have;
    struct tcp_conn *prev, *next;
};

/* Counter totals of one decoder state, folded into the global counters as deltas. */
struct folded {
    uint64_t unknown_template_drops, sequence_lost, kernel_drops;
};

struct rx_thread {
    struct flow_receivers *r;
    enum rx_kind kind;
    struct ep_tag socks[RX_SOCKS_PER_ENTRY * STRM_MAX_LISTENERS];
    int n_socks;
    struct nf_state *nf;    /* NetFlow/IPFIX listeners */
    struct sflow_state *sf; /* sFlow listeners */
    struct flow_sink *sink; /* from the factory; closed after the join */
    pthread_t thread;
    bool running;
    struct folded seen;
    /* Counter snapshots for other threads (see the top of the file), under snap_lock. */
    pthread_mutex_t snap_lock;
    struct flow_exporter_stats *snap_exp;
    size_t n_snap_exp, cap_snap_exp;
    struct flow_iface_stats *snap_if;
    size_t n_snap_if, cap_snap_if;
    bool dirty;      /* decoded something since the last snapshot */
    bool unflushed;  /* decoded something since the sink was last flushed */
    int64_t snap_ms; /* mono ms of the last snapshot */
    /* TCP thread only */
    struct tcp_conn *conns;
    int n_conns;
    uint64_t refused;
    int64_t refuse_log_ms, bad_log_ms;
};

struct flow_receivers {
    struct strm_stats *stats;
    struct flow_sink_factory f;
    int rcvbuf;
    atomic_bool stop;
    struct rx_thread *th;
    int n_th;
};

/* ---------------------------------------------------------------- sockets */

/* Opens one listener entry into t->socks. */
static int open_listener(struct rx_thread *t, const struct strm_listen *l, enum rx_kind kind,
                         int rcvbuf, char *err, size_t errlen)
{
    int cap = (int)(sizeof(t->socks) / sizeof(t->socks[0]));
    int fds[sizeof(t->socks) / sizeof(t->socks[0])], n = 0;
    int socktype = kind == RX_IPFIX_TCP ? SOCK_STREAM : SOCK_DGRAM;
    int rc = strm_listen_open(l, socktype, rcvbuf, false, "flow", kind_proto[kind], kind_key[kind],
                              fds, &n, cap - t->n_socks, err, errlen);
    for (int k = 0; k < n; k++) {
        t->socks[t->n_socks].kind = socktype == SOCK_DGRAM ? 0 : 1;
        t->socks[t->n_socks].fd = fds[k];
        t->n_socks++;
    }
    return rc;
}

/* ---------------------------------------------------------------- counters */

/* A growing array of snapshot entries, filled by the decoders' *_each callbacks. */
struct grow {
    void *v;
    size_t n, cap, size;
    bool oom;
};

static void grow_add(struct grow *g, const void *item)
{
    if (g->n == g->cap) {
        size_t cap = g->cap ? g->cap * 2 : 16;
        void *v = realloc(g->v, cap * g->size);
        if (!v) {
            g->oom = true;
            return;
        }
        g->v = v;
        g->cap = cap;
    }
    memcpy((char *)g->v + g->n * g->size, item, g->size);
    g->n++;
}

static void add_exporter(const struct flow_exporter_stats *es, void *arg)
{
    grow_add(arg, es);
}

static void add_iface(const struct flow_iface_stats *is, void *arg)
{
    grow_add(arg, is);
}

static void fold_one(_Atomic uint64_t *global, uint64_t *seen, uint64_t now_total)
{
    /* A state that forgot an exporter reports less than before: start again from there. */
    if (now_total > *seen)
        atomic_fetch_add_explicit(global, now_total - *seen, memory_order_relaxed);
    *seen = now_total;
}

/*
 * On the thread's own time: copies its decoder's counters into the snapshot that other
 * threads read, and folds them (and the kernel's drop count of its sockets) into the global
 * counters as deltas.
 */
static void snapshot(struct rx_thread *t)
{
    struct strm_stats *st = t->r->stats;
    struct grow ge = {NULL, 0, 0, sizeof(struct flow_exporter_stats), false};
    struct grow gi = {NULL, 0, 0, sizeof(struct flow_iface_stats), false};
    if (t->nf) nf_stats_each(t->nf, add_exporter, &ge);
    if (t->sf) {
        sflow_stats_each(t->sf, add_exporter, &ge);
        sflow_ifaces_each(t->sf, add_iface, &gi);
    }
    struct folded now = {0, 0, 0};
    const struct flow_exporter_stats *es = ge.v;
    for (size_t i = 0; i < ge.n; i++) {
        now.unknown_template_drops += es[i].unknown_template_drops;
        now.sequence_lost += es[i].sequence_lost;
    }
    for (int i = 0; i < t->n_socks && t->kind != RX_IPFIX_TCP; i++) {
        uint32_t mem[SK_MEMINFO_VARS];
        socklen_t len = sizeof(mem);
        if (getsockopt(t->socks[i].fd, SOL_SOCKET, SO_MEMINFO, mem, &len) == 0 &&
            len >= (socklen_t)((SK_MEMINFO_DROPS + 1) * sizeof(uint32_t)))
            now.kernel_drops += mem[SK_MEMINFO_DROPS];
    }
    if (!ge.oom) { /* a partial list would fold as negative deltas */
        fold_one(&st->flow_unknown_template_drops, &t->seen.unknown_template_drops,
                 now.unknown_template_drops);
        fold_one(&st->flow_sequence_lost, &t->seen.sequence_lost, now.sequence_lost);
    }
    fold_one(&st->flow_udp_dropped_kernel, &t->seen.kernel_drops, now.kernel_drops);

    pthread_mutex_lock(&t->snap_lock);
    void *old_e = t->snap_exp, *old_i = t->snap_if;
    t->snap_exp = ge.v;
    t->n_snap_exp = ge.n;
    t->snap_if = gi.v;
    t->n_snap_if = gi.n;
    pthread_mutex_unlock(&t->snap_lock);
    free(old_e);
    free(old_i);
    t->dirty = false;
    t->snap_ms = strm_mono_ms();
}

/* Periodic work of every thread: flush the sink, tick the decoder, fold counters. Returns
 * the ms until it is due again (the epoll timeout). */
static int housekeeping(struct rx_thread *t, int64_t *next_flush, int64_t *next_tick)
{
    int64_t now = strm_mono_ms();
    if (now >= *next_flush) {
        t->r->f.flush(t->sink);
        *next_flush = now + RX_FLUSH_MS;
        /* records handed on to be stored: the counters with them (as the idle flush does),
         * so that stats never lag the stored records (a search could see rows that the
         * exporter's records counter did not count yet, for up to RX_SNAP_MS) */
        if (t->unflushed) snapshot(t);
        t->unflushed = false;
    }
    if (now >= *next_tick) {
        if (t->nf) nf_tick(t->nf, strm_now_ms());
        snapshot(t);
        *next_tick = now + RX_TICK_MS;
    } else if (t->dirty && now - t->snap_ms >= RX_SNAP_MS) {
        snapshot(t);
    }
    int64_t due = *next_flush < *next_tick ? *next_flush : *next_tick;
    if (t->dirty && t->snap_ms + RX_SNAP_MS < due) due = t->snap_ms + RX_SNAP_MS;
    int64_t wait = due - now;
    return wait < 0 ? 0 : (int)wait;
}

/* ---------------------------------------------------------------- UDP */

struct udp_area {
    struct mmsghdr msgs[RX_VLEN];
    struct iovec iov[RX_VLEN];
    struct sockaddr_storage from[RX_VLEN];
    uint8_t *bufs; /* RX_VLEN * RX_DGRAM_MAX */
};

static void udp_drain(struct rx_thread *t, struct udp_area *a, int fd)
{
    struct strm_stats *st = t->r->stats;
    for (int call = 0; call < RX_CALLS_PER_WAKE; call++) {
        int n = strm_recv_datagrams(fd, a->msgs, RX_VLEN, sizeof(a->from[0]), "flow");
        if (n == 0) return;
        int64_t now = strm_now_ms();
        uint64_t bad = 0;
        for (int i = 0; i < n; i++) {
            size_t len = a->msgs[i].msg_len;
            const uint8_t *p = a->iov[i].iov_base;
            struct strm_ip from;
            strm_ip_from_sockaddr(&from, &a->from[i]);
            if (a->msgs[i].msg_hdr.msg_flags & MSG_TRUNC) { /* cannot happen: slots hold 64 KiB */
                bad++;
                continue;
            }
            int rc = t->kind == RX_SFLOW ? sflow_decode(t->sf, p, len, &from, now, t->sink)
                                         : nf_decode(t->nf, p, len, &from, NF_UDP, now, t->sink);
            if (rc < 0) bad++;
        }
        STRM_STAT_ADD(st, flow_packets_received, n);
        if (bad) STRM_STAT_ADD(st, flow_malformed, bad);
        t->dirty = true;
        t->unflushed = true;
        if (n < RX_VLEN) return; /* socket drained */
    }
}

static void *udp_main(void *arg)
{
    struct rx_thread *t = arg;
    struct udp_area *a = calloc(1, sizeof(*a));
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (!a || ep < 0 || !(a->bufs = malloc((size_t)RX_VLEN * RX_DGRAM_MAX))) {
        LOG_ERROR("flow", "%s receiver cannot start: out of memory or no epoll",
                  kind_proto[t->kind]);
        goto out;
    }
    strm_recv_setup(a->msgs, a->iov, a->from, a->bufs, RX_VLEN, RX_DGRAM_MAX);
    for (int i = 0; i < t->n_socks; i++) {
        struct epoll_event e = {.events = EPOLLIN, .data.ptr = &t->socks[i]};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, t->socks[i].fd, &e) != 0)
            LOG_ERROR("flow", "epoll_ctl: %s", strerror(errno));
    }
    int64_t next_flush = strm_mono_ms() + RX_FLUSH_MS, next_tick = strm_mono_ms() + RX_TICK_MS;
    int wait = RX_FLUSH_MS;
    while (!atomic_load_explicit(&t->r->stop, memory_order_relaxed)) {
        struct epoll_event evs[RX_SOCKS_PER_ENTRY * STRM_MAX_LISTENERS];
        int n = epoll_wait(ep, evs, (int)(sizeof(evs) / sizeof(evs[0])),
                           t->unflushed && wait > RX_IDLE_MS ? RX_IDLE_MS : wait);
        for (int i = 0; i < n; i++) {
            struct ep_tag *tag = evs[i].data.ptr;
            udp_drain(t, a, tag->fd);
        }
        if (n == 0 && t->unflushed) { /* the exporters paused: hand on what is decoded */
            t->r->f.flush(t->sink);
            t->unflushed = false;
            snapshot(t); /* and the counters with it, so stats never lag the stored records */
        }
        wait = housekeeping(t, &next_flush, &next_tick);
    }
    snapshot(t);
out:
    if (ep >= 0) close(ep);
    if (a) free(a->bufs);
    free(a);
    return NULL;
}

/* ---------------------------------------------------------------- IPFIX over TCP */

static void conn_close(struct rx_thread *t, int ep, struct tcp_conn *c)
{
    (void)epoll_ctl(ep, EPOLL_CTL_DEL, c->tag.fd, NULL);
    close(c->tag.fd);
    if (c->prev)
        c->prev->next = c->next;
    else
        t->conns = c->next;
    if (c->next) c->next->prev = c->prev;
    t->n_conns--;
    atomic_fetch_sub_explicit(&t->r->stats->ipfix_tcp_active, 1, memory_order_relaxed);
    /* Templates are per session: forget them once the exporter has no connection left. */
    bool other = false;
    for (struct tcp_conn *o = t->conns; o && !other; o = o->next)
        other = strm_ip_cmp(&o->peer, &c->peer) == 0;
    if (!other) nf_session_end(t->nf, &c->peer);
    free(c->buf);
    free(c);
}

static void conn_accept(struct rx_thread *t, int ep, int lfd)
{
    for (;;) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        int fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                struct timespec ts = {0, 10 * 1000 * 1000};
                nanosleep(&ts, NULL); /* the listener stays readable; do not spin */
            }
            return;
        }
        struct tcp_conn *c = NULL;
        if (t->n_conns >= TCP_MAX_CLIENTS || !(c = calloc(1, sizeof(*c))) ||
            !(c->buf = malloc(TCP_BUF))) {
            close(fd);
            if (c) free(c);
            t->refused++;
            int64_t now = strm_mono_ms();
            if (t->refuse_log_ms == 0 || now - t->refuse_log_ms >= 10000) {
                LOG_WARN("flow",
                         "IPFIX TCP connection refused: %d connections open (at most %d) or "
                         "out of memory (%llu refused so far)",
                         t->n_conns, TCP_MAX_CLIENTS, (unsigned long long)t->refused);
                t->refuse_log_ms = now;
            }
            continue;
        }
        int one = 1;
        (void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
        c->tag.kind = 2;
        c->tag.fd = fd;
        strm_ip_from_sockaddr(&c->peer, &ss);
        struct epoll_event e = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = c};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e) != 0) {
            free(c->buf);
            free(c);
            close(fd);
            continue;
        }
        c->next = t->conns;
        if (t->conns) t->conns->prev = c;
        t->conns = c;
        t->n_conns++;
        STRM_STAT_ADD(t->r->stats, ipfix_tcp_connections, 1);
        STRM_STAT_ADD(t->r->stats, ipfix_tcp_active, 1);
        char a[64];
        strm_ip_format(&c->peer, a, sizeof(a));
        LOG_INFO("flow", "IPFIX TCP exporter %s connected", a);
    }
}

/*
 * Frames and decodes the complete messages in c->buf. Returns false when a header breaks
 * the framing rules (the caller closes the connection).
 */
static bool conn_frames(struct rx_thread *t, struct tcp_conn *c)
{
    size_t off = 0;
    uint64_t msgs = 0, bad = 0;
    bool ok = true;
    int64_t now = strm_now_ms();
    while (c->have - off >= 4) {
        const uint8_t *p = c->buf + off;
        unsigned ver = (unsigned)p[0] << 8 | p[1], len = (unsigned)p[2] << 8 | p[3];
        if (ver != 10 || len < IPFIX_HDR) {
            char a[64];
            strm_ip_format(&c->peer, a, sizeof(a));
            int64_t m = strm_mono_ms();
            if (t->bad_log_ms == 0 || m - t->bad_log_ms >= 10000) {
                LOG_WARN("flow",
                         "IPFIX TCP exporter %s: message header version %u length %u is not "
                         "IPFIX; connection closed",
                         a, ver, len);
                t->bad_log_ms = m;
            }
            STRM_STAT_ADD(t->r->stats, ipfix_tcp_bad_frames, 1);
            ok = false;
            break;
        }
        if (c->have - off < len) break; /* the rest comes later; len <= 65535 < TCP_BUF */
        if (nf_decode(t->nf, p, len, &c->peer, NF_TCP, now, t->sink) < 0) bad++;
        msgs++;
        off += len;
    }
    if (off) {
        memmove(c->buf, c->buf + off, c->have - off);
        c->have -= off;
    }
    if (msgs) {
        STRM_STAT_ADD(t->r->stats, flow_packets_received, msgs);
        t->dirty = true;
    }
    if (bad) STRM_STAT_ADD(t->r->stats, flow_malformed, bad);
    return ok;
}

static void conn_read(struct rx_thread *t, int ep, struct tcp_conn *c)
{
    ssize_t n = read(c->tag.fd, c->buf + c->have, TCP_BUF - c->have);
    if (n > 0) {
        c->have += (size_t)n;
        if (!conn_frames(t, c)) conn_close(t, ep, c);
        return;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
    if (c->have > 0) {
        /* The stream ended inside a message: it cannot be decoded. */
        STRM_STAT_ADD(t->r->stats, flow_malformed, 1);
        LOG_DEBUG("flow", "IPFIX TCP connection closed inside a message (%zu bytes)", c->have);
    }
    conn_close(t, ep, c); /* EOF or error (reset) */
}

static void *tcp_main(void *arg)
{
    struct rx_thread *t = arg;
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) {
        LOG_ERROR("flow", "IPFIX TCP receiver cannot start: no epoll: %s", strerror(errno));
        return NULL;
    }
    for (int i = 0; i < t->n_socks; i++) {
        struct epoll_event e = {.events = EPOLLIN, .data.ptr = &t->socks[i]};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, t->socks[i].fd, &e) != 0)
            LOG_ERROR("flow", "epoll_ctl: %s", strerror(errno));
    }
    int64_t next_flush = strm_mono_ms() + RX_FLUSH_MS, next_tick = strm_mono_ms() + RX_TICK_MS;
    int wait = RX_FLUSH_MS;
    while (!atomic_load_explicit(&t->r->stop, memory_order_relaxed)) {
        struct epoll_event evs[256];
        int n = epoll_wait(ep, evs, 256, wait);
        for (int i = 0; i < n; i++) {
            struct ep_tag *tag = evs[i].data.ptr;
            if (tag->kind == 1)
                conn_accept(t, ep, tag->fd);
            else
                conn_read(t, ep, (struct tcp_conn *)tag);
        }
        wait = housekeeping(t, &next_flush, &next_tick);
    }
    while (t->conns)
        conn_close(t, ep, t->conns);
    snapshot(t);
    close(ep);
    return NULL;
}

/* ---------------------------------------------------------------- start / stop */

static struct rx_thread *new_thread(struct flow_receivers *r, enum rx_kind kind)
{
    struct rx_thread *t = &r->th[r->n_th++];
    memset(t, 0, sizeof(*t));
    t->r = r;
    t->kind = kind;
    pthread_mutex_init(&t->snap_lock, NULL);
    return t;
}

int flow_receivers_start(const struct strm_config *cfg, const struct flow_sink_factory *f,
                         struct strm_stats *stats, struct flow_receivers **out, char *err,
                         size_t errlen)
{
    *out = NULL;
    if (errlen) err[0] = '\0';
    struct flow_receivers *r = calloc(1, sizeof(*r));
    int max_th = cfg->n_netflow_udp + cfg->n_ipfix_udp + cfg->n_sflow_udp + 1;
    if (!r || !(r->th = calloc((size_t)max_th, sizeof(*r->th)))) {
        free(r);
        snprintf(err, errlen, "out of memory");
        return STRM_ERR_NOMEM;
    }
    r->stats = stats;
    r->f = *f;
    r->rcvbuf = cfg->syslog_udp_rcvbuf;
    atomic_init(&r->stop, false);
    int rc = 0;

    /* Bind everything first: a port that cannot be bound fails the start before any thread. */
    struct {
        const struct strm_listen *list;
        int n;
        enum rx_kind kind;
    } groups[] = {
        {cfg->netflow_udp, cfg->n_netflow_udp, RX_NETFLOW},
        {cfg->ipfix_udp, cfg->n_ipfix_udp, RX_IPFIX_UDP},
        {cfg->sflow_udp, cfg->n_sflow_udp, RX_SFLOW},
    };
    for (size_t g = 0; g < sizeof(groups) / sizeof(groups[0]) && rc == 0; g++)
        for (int i = 0; i < groups[g].n && i < STRM_MAX_LISTENERS && rc == 0; i++) {
            struct rx_thread *t = new_thread(r, groups[g].kind);
            rc = open_listener(t, &groups[g].list[i], groups[g].kind, r->rcvbuf, err, errlen);
        }
    if (rc == 0 && cfg->n_ipfix_tcp > 0) {
        struct rx_thread *t = new_thread(r, RX_IPFIX_TCP);
        for (int i = 0; i < cfg->n_ipfix_tcp && i < STRM_MAX_LISTENERS && rc == 0; i++)
            rc = open_listener(t, &cfg->ipfix_tcp[i], RX_IPFIX_TCP, 0, err, errlen);
    }
    for (int i = 0; i < r->n_th && rc == 0; i++) {
        struct rx_thread *t = &r->th[i];
        if (t->kind == RX_SFLOW)
            t->sf = sflow_state_new();
        else
            t->nf = nf_state_new(NULL);
        t->sink = r->f.open(r->f.arg);
        if ((!t->sf && !t->nf) || !t->sink) {
            snprintf(err, errlen, "out of memory starting the flow receivers");
            rc = STRM_ERR_NOMEM;
        }
    }
    if (rc != 0) goto fail;

    /* The receiver threads take no signals; the main thread handles them. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    for (int i = 0; i < r->n_th; i++) {
        struct rx_thread *t = &r->th[i];
        if (pthread_create(&t->thread, NULL, t->kind == RX_IPFIX_TCP ? tcp_main : udp_main, t) !=
            0) {
            rc = STRM_ERR_NOMEM;
            break;
        }
        pthread_setname_np(t->thread, t->kind == RX_IPFIX_TCP ? "ipfix-tcp" : "flow-udp");
        t->running = true;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        snprintf(err, errlen, "cannot start the flow receiver threads");
        flow_receivers_stop(r);
        return rc;
    }
    *out = r;
    return 0;
fail:
    flow_receivers_stop(r);
    return rc;
}

void flow_receivers_stop(struct flow_receivers *r)
{
    if (!r) return;
    atomic_store(&r->stop, true);
    for (int i = 0; i < r->n_th; i++)
        if (r->th[i].running) pthread_join(r->th[i].thread, NULL);
    for (int i = 0; i < r->n_th; i++) {
        struct rx_thread *t = &r->th[i];
        if (t->sink) r->f.close(t->sink);
        for (int k = 0; k < t->n_socks; k++)
            close(t->socks[k].fd);
        if (t->nf) nf_state_free(t->nf);
        if (t->sf) sflow_state_free(t->sf);
        free(t->snap_exp);
        free(t->snap_if);
        pthread_mutex_destroy(&t->snap_lock);
    }
    free(r->th);
    free(r);
}

void flow_receivers_exporters_each(struct flow_receivers *r,
                                   void (*fn)(const struct flow_exporter_stats *, void *),
                                   void *arg)
{
    if (!r) return;
    for (int i = 0; i < r->n_th; i++) {
        struct rx_thread *t = &r->th[i];
        pthread_mutex_lock(&t->snap_lock);
        for (size_t k = 0; k < t->n_snap_exp; k++)
            fn(&t->snap_exp[k], arg);
        pthread_mutex_unlock(&t->snap_lock);
    }
}

void flow_receivers_ifaces_each(struct flow_receivers *r,
                                void (*fn)(const struct flow_iface_stats *, void *), void *arg)
{
    if (!r) return;
    for (int i = 0; i < r->n_th; i++) {
        struct rx_thread *t = &r->th[i];
        pthread_mutex_lock(&t->snap_lock);
        for (size_t k = 0; k < t->n_snap_if; k++)
            fn(&t->snap_if[k], arg);
        pthread_mutex_unlock(&t->snap_lock);
    }
}
