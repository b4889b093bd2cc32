/*
 * receiver.c - the syslog network receivers: one thread for all UDP listeners, one thread for
 * all TCP listeners and their clients. They turn datagrams and TCP frames into raw events
 * (payload, starttime, collectorip) in batches and hand the batches to the parser queue.
 *
 * UDP: each socket has a large receive buffer (SO_RCVBUFFORCE when we may, else SO_RCVBUF,
 * cfg->syslog_udp_rcvbuf) and SO_REUSEPORT. The thread waits on epoll (100 ms at most, so
 * a stop request and a partly filled batch are noticed) and drains ready sockets with
 * recvmmsg, up to 64 datagrams per call, into one reusable receive area; each datagram is
 * copied into the current batch's arena (cut at STRM_MAX_MSG, flagged and counted). A full
 * batch is pushed with strm_queue_push: when the parser queue is full the thread waits and
 * the socket's kernel buffer holds the burst; datagrams the kernel drops when that buffer
 * overflows are read from SO_MEMINFO into udp_dropped_kernel.
 *
 * TCP: listening sockets and clients share one epoll set. Each client has its own RFC 6587
 * framer (max_msg STRM_MAX_MSG); its frames go into the thread's current batch with the
 * peer as collectorip. Full batches go out with the blocking strm_queue_push, so a slow
 * pipeline stops this thread from reading any socket: the kernel's TCP windows then slow
 * the senders (backpressure, nothing dropped). At most cfg->syslog_tcp_max_clients clients;
 * further connections are accepted and closed at once, with a rate-limited warning.
 *
 * Both threads push a partly filled batch once its first event is 100 ms old, so events
 * become searchable quickly at low rates. On stop each thread finishes its clients' framers
 * (emitting unterminated tails), pushes what it holds (blocking; into a closed queue the
 * batch goes back to the pool) and exits. collect_stop must therefore run while the
 * pipeline still consumes, or after the queue is closed.
 *
 * Memory: allocation happens at start (receive areas), per TCP connection (client and its
 * framer buffer) and per batch from the pool; never per message.
 */
#include "collect/collect.h"
#include "core/net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <linux/sock_diag.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define UDP_VLEN 64          /* datagrams per recvmmsg */
#define UDP_CALLS_PER_WAKE 8 /* recvmmsg calls per socket before looking at the others */
#define TCP_READ_SIZE (256 * 1024)
#define FLUSH_MS 100
#define MAX_SOCKETS (STRM_MAX_LISTENERS * 4)

enum tag_kind { TAG_UDP, TAG_TCP_LISTEN, TAG_TCP_CLIENT };

/* What an epoll event points to; first member of struct tcp_client too. */
struct ep_tag {
    enum tag_kind kind;
    int fd;
};

struct tcp_client {
    struct ep_tag tag;
    struct strm_ip peer;
    struct syslog_framer framer;
    struct tcp_client *prev, *next;
};

struct collect {
    struct strm_queue *out;
    struct strm_pool *pool;
    struct strm_stats *stats;
    atomic_bool stop;

    struct ep_tag udp[MAX_SOCKETS];
    int n_udp;
    struct ep_tag tcp[MAX_SOCKETS];
    int n_tcp;
    pthread_t udp_thread, tcp_thread;
    bool udp_running, tcp_running;
    struct collect_tls *tls; /* the TLS listener thread (tls.c), NULL without syslog.tls */

    /* TCP thread state */
    int max_clients;
    uint64_t accept_errors;    /* accept() failed for lack of descriptors or memory */
    int64_t accept_err_log_ms; /* last warning about it (rate-limited) */
    struct tcp_client *clients;
    int n_clients;
    struct strm_batch *tcp_batch;
    int64_t tcp_batch_t0; /* mono ms of the first event in tcp_batch */
    int64_t tcp_now;      /* wall ms of the current read: starttime */
    struct tcp_client *cur;
    uint64_t tcp_frames, tcp_truncated;
    int64_t reject_log_ms;
    uint64_t rejected;
};

/* ---------------------------------------------------------------- helpers */

/* Opens one syslog.udp or syslog.tcp entry into tags. */
static int open_listener(const struct strm_listen *l, int socktype, int rcvbuf, struct ep_tag *tags,
                         int *ntags, char *err, size_t errlen)
{
    int fds[MAX_SOCKETS], n = 0;
    bool udp = socktype == SOCK_DGRAM;
    int rc = strm_listen_open(l, socktype, rcvbuf, udp, "collect",
                              udp ? "syslog UDP" : "syslog TCP", udp ? "syslog.udp" : "syslog.tcp",
                              fds, &n, MAX_SOCKETS - *ntags, err, errlen);
    for (int k = 0; k < n; k++) {
        tags[*ntags].kind = udp ? TAG_UDP : TAG_TCP_LISTEN;
        tags[*ntags].fd = fds[k];
        (*ntags)++;
    }
    return rc;
}

static int64_t batch_wait_ms(const struct strm_batch *b, int64_t t0)
{
    if (!b || b->count == 0) return FLUSH_MS;
    int64_t age = strm_mono_ms() - t0;
    return age >= FLUSH_MS ? 0 : FLUSH_MS - age;
}

/* Blocking push at the end of a thread; a closed queue gives the batch back to the pool. */
static void final_push(struct collect *c, struct strm_batch *b)
{
    if (!b) return;
    if (b->count == 0 || strm_queue_push(c->out, b) != 0) strm_pool_put(c->pool, b);
}

/* ---------------------------------------------------------------- UDP */

struct udp_area {
    struct mmsghdr msgs[UDP_VLEN];
    struct iovec iov[UDP_VLEN];
    struct sockaddr_storage from[UDP_VLEN];
    char *bufs; /* UDP_VLEN * STRM_MAX_MSG */
};

/*
 * Pushes a full (or aged) batch, waiting while the parser queue is full. Waiting stops the
 * reading, so the socket's large kernel buffer (syslog.udp_rcvbuf) absorbs the burst; only
 * when that overflows does the kernel drop datagrams, and udp_sample_drops counts them.
 * Dropping a batch we already hold would lose data the kernel could have kept.
 */
static void udp_push(struct collect *c, struct strm_batch **bp)
{
    struct strm_batch *b = *bp;
    *bp = NULL;
    if (strm_queue_push(c->out, b) != 0) { /* closed: shutting down */
        LOG_DEBUG("collect", "queue closed, %u UDP messages not delivered", b->count);
        strm_pool_put(c->pool, b);
    }
}

/* Datagrams the kernel dropped on our sockets (receive buffer full), from SO_MEMINFO. */
static void udp_sample_drops(struct collect *c)
{
    uint64_t total = 0;
    for (int i = 0; i < c->n_udp; i++) {
        uint32_t mem[SK_MEMINFO_VARS];
        socklen_t len = sizeof(mem);
        if (getsockopt(c->udp[i].fd, SOL_SOCKET, SO_MEMINFO, mem, &len) == 0 &&
            len >= (socklen_t)((SK_MEMINFO_DROPS + 1) * sizeof(uint32_t)))
            total += mem[SK_MEMINFO_DROPS];
    }
    atomic_store_explicit(&c->stats->udp_dropped_kernel, total, memory_order_relaxed);
}

static void udp_drain(struct collect *c, struct udp_area *a, int fd, struct strm_batch **bp,
                      int64_t *t0)
{
    for (int call = 0; call < UDP_CALLS_PER_WAKE; call++) {
        if (!*bp) {
            *bp = strm_pool_get(c->pool);
            if (!*bp) {
                struct timespec ts = {0, 10 * 1000 * 1000};
                nanosleep(&ts, NULL); /* out of memory: let the kernel buffer hold on */
                return;
            }
        }
        struct strm_batch *b = *bp;
        unsigned vlen = b->cap - b->count;
        if (vlen > UDP_VLEN) vlen = UDP_VLEN;
        int n = strm_recv_datagrams(fd, a->msgs, vlen, sizeof(a->from[0]), "collect");
        if (n == 0) return;
        int64_t now = strm_now_ms();
        uint32_t before = b->count, truncated = 0;
        for (int i = 0; i < n; i++) {
            size_t len = a->msgs[i].msg_len;
            if (len == 0) continue;
            bool trunc = (a->msgs[i].msg_hdr.msg_flags & MSG_TRUNC) != 0;
            if (len > STRM_MAX_MSG) {
                len = STRM_MAX_MSG;
                trunc = true;
            }
            struct strm_event *ev = strm_batch_add(b);
            if (!ev) break;
            ev->payload = strm_arena_strdup(&b->arena, a->iov[i].iov_base, len);
            if (!ev->payload.p) {
                b->count--;
                continue;
            }
            ev->starttime = now;
            strm_ip_from_sockaddr(&ev->collectorip, &a->from[i]);
            if (trunc) {
                ev->flags |= STRM_EV_TRUNCATED;
                truncated++;
            }
        }
        STRM_STAT_ADD(c->stats, udp_received, b->count - before);
        if (truncated) STRM_STAT_ADD(c->stats, truncated, truncated);
        if (before == 0 && b->count > 0) *t0 = strm_mono_ms();
        if (b->count >= b->cap) udp_push(c, bp);
        if ((unsigned)n < vlen) return; /* socket drained */
    }
}

static void *udp_main(void *arg)
{
    struct collect *c = arg;
    struct udp_area *a = calloc(1, sizeof(*a));
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct strm_batch *b = NULL;
    int64_t t0 = 0, last_drop_sample = 0;
    if (!a || ep < 0 || !(a->bufs = malloc((size_t)UDP_VLEN * STRM_MAX_MSG))) {
        LOG_ERROR("collect", "UDP receiver cannot start: out of memory or no epoll");
        goto out;
    }
    strm_recv_setup(a->msgs, a->iov, a->from, (uint8_t *)a->bufs, UDP_VLEN, STRM_MAX_MSG);
    for (int i = 0; i < c->n_udp; i++) {
        struct epoll_event e = {.events = EPOLLIN, .data.ptr = &c->udp[i]};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, c->udp[i].fd, &e) != 0)
            LOG_ERROR("collect", "epoll_ctl UDP: %s", strerror(errno));
    }
    while (!atomic_load_explicit(&c->stop, memory_order_relaxed)) {
        struct epoll_event evs[MAX_SOCKETS];
        int n = epoll_wait(ep, evs, MAX_SOCKETS, (int)batch_wait_ms(b, t0));
        for (int i = 0; i < n; i++) {
            struct ep_tag *t = evs[i].data.ptr;
            udp_drain(c, a, t->fd, &b, &t0);
        }
        if (b && b->count && batch_wait_ms(b, t0) == 0) udp_push(c, &b);
        int64_t now = strm_mono_ms();
        if (now - last_drop_sample >= 200) {
            udp_sample_drops(c);
            last_drop_sample = now;
        }
    }
    udp_sample_drops(c);
out:
    final_push(c, b);
    if (ep >= 0) close(ep);
    if (a) free(a->bufs);
    free(a);
    return NULL;
}

/* ---------------------------------------------------------------- TCP */

static void tcp_flush(struct collect *c)
{
    struct strm_batch *b = c->tcp_batch;
    c->tcp_batch = NULL;
    if (!b) return;
    if (b->count == 0) {
        strm_pool_put(c->pool, b);
        return;
    }
    if (strm_queue_push(c->out, b) != 0) { /* closed: shutting down */
        LOG_DEBUG("collect", "queue closed, %u TCP messages not delivered", b->count);
        strm_pool_put(c->pool, b);
    }
}

static void tcp_frame(const char *msg, size_t len, bool truncated, void *arg)
{
    struct collect *c = arg;
    if (c->tcp_batch && c->tcp_batch->count >= c->tcp_batch->cap) tcp_flush(c);
    if (!c->tcp_batch) {
        c->tcp_batch = strm_pool_get(c->pool);
        if (!c->tcp_batch) return; /* out of memory: the message is lost */
    }
    struct strm_batch *b = c->tcp_batch;
    struct strm_event *ev = strm_batch_add(b);
    if (!ev) return;
    ev->payload = strm_arena_strdup(&b->arena, msg, len);
    if (!ev->payload.p) {
        b->count--;
        return;
    }
    if (b->count == 1) c->tcp_batch_t0 = strm_mono_ms();
    ev->starttime = c->tcp_now;
    ev->collectorip = c->cur->peer;
    if (truncated) {
        ev->flags |= STRM_EV_TRUNCATED;
        c->tcp_truncated++;
    }
    c->tcp_frames++;
}

static void tcp_count(struct collect *c)
{
    if (c->tcp_frames) STRM_STAT_ADD(c->stats, tcp_received, c->tcp_frames);
    if (c->tcp_truncated) STRM_STAT_ADD(c->stats, truncated, c->tcp_truncated);
    c->tcp_frames = c->tcp_truncated = 0;
}

static void tcp_close(struct collect *c, int ep, struct tcp_client *cl)
{
    c->cur = cl;
    c->tcp_now = strm_now_ms();
    syslog_framer_finish(&cl->framer, tcp_frame, c);
    tcp_count(c);
    (void)epoll_ctl(ep, EPOLL_CTL_DEL, cl->tag.fd, NULL);
    close(cl->tag.fd);
    syslog_framer_free(&cl->framer);
    if (cl->prev)
        cl->prev->next = cl->next;
    else
        c->clients = cl->next;
    if (cl->next) cl->next->prev = cl->prev;
    free(cl);
    c->n_clients--;
    atomic_fetch_sub_explicit(&c->stats->tcp_active, 1, memory_order_relaxed);
}

static void tcp_accept(struct collect *c, int ep, int lfd)
{
    for (;;) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        int fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                c->accept_errors++;
                int64_t now = strm_mono_ms();
                if (now - c->accept_err_log_ms >= 10000 || c->accept_err_log_ms == 0) {
                    LOG_WARN("collect", "cannot accept syslog TCP connection: %s (%llu times)",
                             strerror(errno), (unsigned long long)c->accept_errors);
                    c->accept_err_log_ms = now;
                }
                struct timespec ts = {0, 10 * 1000 * 1000};
                nanosleep(&ts, NULL); /* the listener stays readable; do not spin */
            }
            return;
        }
        struct tcp_client *cl = NULL;
        if (c->n_clients >= c->max_clients || !(cl = calloc(1, sizeof(*cl))) ||
            syslog_framer_init(&cl->framer, STRM_MAX_MSG) != 0) {
            close(fd);
            if (cl) {
                free(cl);
                LOG_WARN("collect", "out of memory for a syslog TCP connection");
                continue;
            }
            c->rejected++;
            int64_t now = strm_mono_ms();
            if (now - c->reject_log_ms >= 10000 || c->reject_log_ms == 0) {
                char host[NI_MAXHOST] = "?";
                (void)getnameinfo((struct sockaddr *)&ss, sl, host, sizeof(host), NULL, 0,
                                  NI_NUMERICHOST);
                LOG_WARN("collect",
                         "syslog TCP connection from %s refused: %d clients connected, "
                         "syslog.tcp_max_clients reached (%llu refused so far)",
                         host, c->n_clients, (unsigned long long)c->rejected);
                c->reject_log_ms = now;
            }
            continue;
        }
        int one = 1;
        (void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
        cl->tag.kind = TAG_TCP_CLIENT;
        cl->tag.fd = fd;
        strm_ip_from_sockaddr(&cl->peer, &ss);
        struct epoll_event e = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = cl};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e) != 0) {
            syslog_framer_free(&cl->framer);
            free(cl);
            close(fd);
            continue;
        }
        cl->next = c->clients;
        if (c->clients) c->clients->prev = cl;
        c->clients = cl;
        c->n_clients++;
        STRM_STAT_ADD(c->stats, tcp_connections, 1);
        STRM_STAT_ADD(c->stats, tcp_active, 1);
    }
}

static void tcp_read(struct collect *c, int ep, struct tcp_client *cl, char *buf)
{
    ssize_t n = read(cl->tag.fd, buf, TCP_READ_SIZE);
    if (n > 0) {
        c->cur = cl;
        c->tcp_now = strm_now_ms();
        syslog_framer_feed(&cl->framer, buf, (size_t)n, tcp_frame, c);
        tcp_count(c);
        return;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
    tcp_close(c, ep, cl); /* EOF or error (reset) */
}

static void *tcp_main(void *arg)
{
    struct collect *c = arg;
    char *buf = malloc(TCP_READ_SIZE);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (!buf || ep < 0) {
        LOG_ERROR("collect", "TCP receiver cannot start: out of memory or no epoll");
        goto out;
    }
    for (int i = 0; i < c->n_tcp; i++) {
        struct epoll_event e = {.events = EPOLLIN, .data.ptr = &c->tcp[i]};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, c->tcp[i].fd, &e) != 0)
            LOG_ERROR("collect", "epoll_ctl TCP: %s", strerror(errno));
    }
    while (!atomic_load_explicit(&c->stop, memory_order_relaxed)) {
        struct epoll_event evs[256];
        int n = epoll_wait(ep, evs, 256, (int)batch_wait_ms(c->tcp_batch, c->tcp_batch_t0));
        for (int i = 0; i < n; i++) {
            struct ep_tag *t = evs[i].data.ptr;
            if (t->kind == TAG_TCP_LISTEN)
                tcp_accept(c, ep, t->fd);
            else
                tcp_read(c, ep, (struct tcp_client *)t, buf);
        }
        if (c->tcp_batch && c->tcp_batch->count &&
            batch_wait_ms(c->tcp_batch, c->tcp_batch_t0) == 0)
            tcp_flush(c);
    }
out:
    while (c->clients)
        tcp_close(c, ep, c->clients);
    tcp_flush(c);
    if (ep >= 0) close(ep);
    free(buf);
    return NULL;
}

/* ---------------------------------------------------------------- start / stop */

static void close_all(struct collect *c)
{
    for (int i = 0; i < c->n_udp; i++)
        close(c->udp[i].fd);
    for (int i = 0; i < c->n_tcp; i++)
        close(c->tcp[i].fd);
    c->n_udp = c->n_tcp = 0;
}

int collect_start(const struct strm_config *cfg, struct strm_queue *out, struct strm_pool *pool,
                  struct strm_stats *stats, struct collect **out_c, char *err, size_t errlen)
{
    int rc = 0;
    *out_c = NULL;
    if (errlen) err[0] = '\0';
    struct collect *c = calloc(1, sizeof(*c));
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return STRM_ERR_NOMEM;
    }
    c->out = out;
    c->pool = pool;
    c->stats = stats;
    c->max_clients = cfg->syslog_tcp_max_clients > 0 ? cfg->syslog_tcp_max_clients : 1;
    /* Every client is a descriptor: keep 64 for listeners, the store, the control socket and
     * its searches, whatever the configured maximum. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        (rlim_t)c->max_clients + 64 > rl.rlim_cur) {
        int cap = rl.rlim_cur > 128 ? (int)(rl.rlim_cur - 64) : 64;
        LOG_WARN("collect",
                 "syslog.tcp_max_clients %d exceeds the open files limit %llu: at most %d "
                 "TCP clients",
                 c->max_clients, (unsigned long long)rl.rlim_cur, cap);
        c->max_clients = cap;
    }
    atomic_init(&c->stop, false);

    for (int i = 0; i < cfg->n_syslog_udp && i < STRM_MAX_LISTENERS; i++) {
        rc = open_listener(&cfg->syslog_udp[i], SOCK_DGRAM, cfg->syslog_udp_rcvbuf, c->udp,
                           &c->n_udp, err, errlen);
        if (rc != 0) goto fail;
    }
    for (int i = 0; i < cfg->n_syslog_tcp && i < STRM_MAX_LISTENERS; i++) {
        rc = open_listener(&cfg->syslog_tcp[i], SOCK_STREAM, 0, c->tcp, &c->n_tcp, err, errlen);
        if (rc != 0) goto fail;
    }
    if (cfg->n_syslog_tls > 0) {
        rc = collect_tls_start(cfg, out, pool, stats, &c->tls, err, errlen);
        if (rc != 0) goto fail;
    }

    /* The receiver threads take no signals; the main thread handles them. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    if (c->n_udp > 0) {
        if (pthread_create(&c->udp_thread, NULL, udp_main, c) == 0) {
            pthread_setname_np(c->udp_thread, "syslog-udp");
            c->udp_running = true;
        } else {
            rc = STRM_ERR_NOMEM;
        }
    }
    if (rc == 0 && c->n_tcp > 0) {
        if (pthread_create(&c->tcp_thread, NULL, tcp_main, c) == 0) {
            pthread_setname_np(c->tcp_thread, "syslog-tcp");
            c->tcp_running = true;
        } else {
            rc = STRM_ERR_NOMEM;
        }
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        snprintf(err, errlen, "cannot start the syslog receiver threads");
        collect_stop(c);
        return rc;
    }
    *out_c = c;
    return 0;

fail:
    close_all(c);
    free(c);
    return rc;
}

void collect_stop(struct collect *c)
{
    if (!c) return;
    atomic_store(&c->stop, true);
    if (c->udp_running) pthread_join(c->udp_thread, NULL);
    if (c->tcp_running) pthread_join(c->tcp_thread, NULL);
    collect_tls_stop(c->tls);
    close_all(c);
    free(c);
}
