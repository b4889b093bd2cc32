/*
 * capture.c - packets into the flow table with libpcap: capture files (`strm ingest --pcap`)
 * and live interfaces (`flows.capture`).
 *
 * Both paths read frames, strip the link layer (Ethernet through packet.c; raw IP; Linux
 * cooked v1/v2, with their VLAN tag when the kernel left one in; BSD loopback), decode the
 * IP packet (packet.c) and hand it to a flowtab (flowtab.c), which reports flows through the
 * caller's flow_sink. A frame without a readable IP header is counted as non_ip and goes no
 * further.
 *
 * Files: one pass with pcap_next_ex; flows expire by packet time (checked every second of
 * capture time), and every flow still open is reported at the end of the file. pcapng works
 * as pcap does (libpcap reads both); times are read in microseconds whatever the file's
 * precision. A file cut inside its last packet (tcpdump killed) keeps what came before.
 *
 * Live: pcap_create + snaplen 256 (enough for the headers and the first payload bytes that
 * application detection needs) + promiscuous (a SPAN port's traffic is not addressed to us)
 * + immediate mode + a 32 MiB ring, then a thread of its own: poll on the selectable fd with
 * a 100 ms timeout, pcap_dispatch a bounded number of packets, check the stop flag, expire
 * by wall time, flush the sink when records are waiting (so a partial batch waits at most
 * about 100 ms), and read pcap_stats each second: kernel and interface drops are counters
 * in `strm stats` and a warning in the log while they grow. The flow table, the sink and
 * the local counters belong to that thread; other threads read a snapshot of the counters
 * taken under a mutex after each round.
 */
#include "flow/flow.h"

#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CAP_SNAPLEN 256
#define CAP_BUFFER_BYTES (32 << 20)
#define CAP_POLL_MS 100
#define CAP_DISPATCH_MAX 4096             /* packets per round: the stop flag stays near */
#define CAP_EXPIRE_EVERY_US 1000000LL     /* files: expiry per second of capture time */
#define CAP_LIVE_EXPIRE_EVERY_US 100000LL /* live: expiry and flush per 100 ms */
#define CAP_STATS_EVERY_US 1000000LL      /* live: pcap_stats per second */
#define CAP_DROP_WARN_EVERY_US 10000000LL /* live: a drop warning at most every 10 s */

enum cap_link { LINK_ETH, LINK_RAW, LINK_SLL, LINK_SLL2, LINK_NULL };

static int link_of(int dlt, enum cap_link *out)
{
    switch (dlt) {
    case DLT_EN10MB:
        *out = LINK_ETH;
        return 0;
    case DLT_RAW:
#ifdef DLT_IPV4
    case DLT_IPV4:
#endif
#ifdef DLT_IPV6
    case DLT_IPV6:
#endif
        *out = LINK_RAW;
        return 0;
    case DLT_LINUX_SLL:
        *out = LINK_SLL;
        return 0;
#ifdef DLT_LINUX_SLL2
    case DLT_LINUX_SLL2:
        *out = LINK_SLL2;
        return 0;
#endif
    case DLT_NULL:
#ifdef DLT_LOOP
    case DLT_LOOP:
#endif
        *out = LINK_NULL;
        return 0;
    default:
        return -1;
    }
}

static void link_error(char *err, size_t errlen, const char *what, const char *name, int dlt)
{
    const char *n = pcap_datalink_val_to_name(dlt);
    snprintf(err, errlen,
             "%s %s: link type %s (%d) is not supported (Ethernet, raw IP, Linux cooked v1/v2 "
             "and BSD loopback are)",
             what, name, n ? n : "unknown", dlt);
}

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

/*
 * Linux cooked capture: the protocol field is an ethertype for IP; the kernel usually strips
 * VLAN tags into metadata, but a tag can remain in front of the IP header.
 */
static int decode_cooked(const uint8_t *p, size_t caplen, size_t hdr, uint16_t proto,
                         const uint8_t *addr, size_t halen, struct pkt_info *pi)
{
    uint16_t vlan = 0;
    size_t off = hdr;
    for (int tags = 0; (proto == 0x8100 || proto == 0x88a8) && tags < 8; tags++) {
        if (off + 4 > caplen) return STRM_ERR_PARSE;
        if (!tags) vlan = be16(p + off) & 0x0fff;
        proto = be16(p + off + 2);
        off += 4;
    }
    if (proto != 0x0800 && proto != 0x86dd) return STRM_ERR_PARSE;
    int rc = pkt_decode_ip(p + off, caplen - off, pi);
    if (rc != 0) return rc;
    pi->ethertype = proto;
    pi->vlan = vlan;
    if (halen == 6) memcpy(pi->smac, addr, 6); /* the sender's link address */
    return 0;
}

static int decode_frame(enum cap_link link, const uint8_t *p, size_t caplen, struct pkt_info *pi)
{
    int rc = STRM_ERR_PARSE;
    memset(pi, 0, sizeof(*pi));
    switch (link) {
    case LINK_ETH:
        rc = pkt_decode_eth(p, caplen, pi);
        break;
    case LINK_RAW:
        rc = pkt_decode_ip(p, caplen, pi);
        break;
    case LINK_SLL: /* type 2, ARPHRD 2, halen 2, addr 8, protocol 2 */
        if (caplen >= 16) {
            size_t halen = be16(p + 4);
            rc = decode_cooked(p, caplen, 16, be16(p + 14), p + 6, halen > 8 ? 0 : halen, pi);
        }
        break;
    case LINK_SLL2: /* protocol 2, reserved 2, ifindex 4, ARPHRD 2, type 1, halen 1, addr 8 */
        if (caplen >= 20) {
            size_t halen = p[11];
            rc = decode_cooked(p, caplen, 20, be16(p), p + 12, halen > 8 ? 0 : halen, pi);
        }
        break;
    case LINK_NULL: /* a 4-byte address family in either byte order; the IP version decides */
        if (caplen > 4) rc = pkt_decode_ip(p + 4, caplen - 4, pi);
        break;
    }
    if (rc != 0) {
        memset(pi, 0, sizeof(*pi)); /* ipver 0: the flow table counts it as non-IP */
        return rc;
    }
    return 0;
}

/* ---------------------------------------------------------------- the packet handler */

struct cap_ctx {
    enum cap_link link;
    struct flowtab *ft;
    struct flow_sink *sink;
    struct capture_stats *st;
    bool file;              /* expire by packet time */
    int64_t next_expire_us; /* file mode */
};

static void on_packet(u_char *user, const struct pcap_pkthdr *h, const u_char *bytes)
{
    struct cap_ctx *c = (struct cap_ctx *)user;
    int64_t ts = (int64_t)h->ts.tv_sec * 1000000 + (int64_t)h->ts.tv_usec;
    c->st->packets++;
    c->st->bytes += h->len;
    struct pkt_info pi;
    if (decode_frame(c->link, bytes, h->caplen, &pi) != 0) c->st->non_ip++;
    flowtab_packet(c->ft, &pi, h->len, ts, c->sink);
    if (c->file) {
        if (c->next_expire_us == 0) c->next_expire_us = ts + CAP_EXPIRE_EVERY_US;
        if (ts >= c->next_expire_us) {
            flowtab_expire(c->ft, ts, c->sink);
            c->next_expire_us = ts + CAP_EXPIRE_EVERY_US;
        }
    }
}

/* ---------------------------------------------------------------- files */

int capture_file(const char *path, struct flowtab *ft, struct flow_sink *sink,
                 struct capture_stats *st, char *err, size_t errlen)
{
    char eb[PCAP_ERRBUF_SIZE] = "";
    pcap_t *p = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_MICRO, eb);
    if (!p) {
        if (strstr(eb, path)) /* libpcap's message names the file already */
            snprintf(err, errlen, "cannot read capture file %s", eb);
        else
            snprintf(err, errlen, "cannot read capture file %s: %s", path, eb);
        return STRM_ERR_IO;
    }
    struct cap_ctx c = {.ft = ft, .sink = sink, .st = st, .file = true};
    int dlt = pcap_datalink(p);
    if (link_of(dlt, &c.link) != 0) {
        link_error(err, errlen, "capture file", path, dlt);
        pcap_close(p);
        return STRM_ERR_INVAL;
    }
    struct pcap_pkthdr *h;
    const u_char *data;
    int rc, ret = 0;
    while ((rc = pcap_next_ex(p, &h, &data)) == 1)
        on_packet((u_char *)&c, h, data);
    if (rc == PCAP_ERROR) {
        const char *msg = pcap_geterr(p);
        if (strstr(msg, "truncated")) {
            st->file_truncated = true;
        } else {
            snprintf(err, errlen, "error reading capture file %s: %s", path, msg);
            ret = STRM_ERR_IO;
        }
    }
    /* Whatever was read is reported, also after an error. */
    flowtab_flush(ft, sink);
    pcap_close(p);
    return ret;
}

/* ---------------------------------------------------------------- live */

struct capture {
    char iface[64];
    pcap_t *p;
    int fd;
    enum cap_link link;
    struct flowtab *ft;
    struct flow_sink *sink;
    void (*flush)(struct flow_sink *sink);
    pthread_t thread;
    atomic_bool stop;
    pthread_mutex_t mu; /* guards the snapshots below */
    struct capture_stats snap;
    struct flowtab_stats ft_snap;
};

static int64_t wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void read_pcap_stats(struct capture *c, struct capture_stats *st)
{
    struct pcap_stat ps;
    if (pcap_stats(c->p, &ps) == 0) {
        st->kernel_drops = ps.ps_drop;
        st->iface_drops = ps.ps_ifdrop;
    }
}

static void *capture_thread(void *arg)
{
    struct capture *c = arg;
    struct capture_stats st;
    memset(&st, 0, sizeof(st));
    struct cap_ctx ctx = {.link = c->link, .ft = c->ft, .sink = c->sink, .st = &st};
    int64_t now = wall_us();
    int64_t next_expire = now + CAP_LIVE_EXPIRE_EVERY_US, next_stats = now + CAP_STATS_EVERY_US;
    int64_t next_warn = 0;
    uint64_t flushed_records = 0, warned_drops = 0;
    struct flowtab_stats fs;
    while (!atomic_load(&c->stop)) {
        struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
        if (c->fd >= 0) poll(&pfd, 1, CAP_POLL_MS);
        int n = pcap_dispatch(c->p, CAP_DISPATCH_MAX, on_packet, (u_char *)&ctx);
        if (n == PCAP_ERROR) {
            LOG_ERROR("capture", "capture on %s stopped: %s", c->iface, pcap_geterr(c->p));
            break;
        }
        if (n == PCAP_ERROR_BREAK) break;
        now = wall_us();
        if (now >= next_expire) {
            flowtab_expire(c->ft, now, c->sink);
            next_expire = now + CAP_LIVE_EXPIRE_EVERY_US;
            flowtab_stats_get(c->ft, &fs);
            if (fs.records != flushed_records && c->flush) {
                c->flush(c->sink);
                flushed_records = fs.records;
            }
        }
        if (now >= next_stats) {
            read_pcap_stats(c, &st);
            next_stats = now + CAP_STATS_EVERY_US;
            uint64_t drops = st.kernel_drops + st.iface_drops;
            if (drops > warned_drops && now >= next_warn) {
                LOG_WARN("capture",
                         "capture on %s is losing packets: %llu dropped by the kernel, %llu by "
                         "the interface so far",
                         c->iface, (unsigned long long)st.kernel_drops,
                         (unsigned long long)st.iface_drops);
                warned_drops = drops;
                next_warn = now + CAP_DROP_WARN_EVERY_US;
            }
        }
        flowtab_stats_get(c->ft, &fs);
        pthread_mutex_lock(&c->mu);
        c->snap = st;
        c->ft_snap = fs;
        pthread_mutex_unlock(&c->mu);
    }
    read_pcap_stats(c, &st);
    flowtab_flush(c->ft, c->sink);
    if (c->flush) c->flush(c->sink);
    flowtab_stats_get(c->ft, &fs);
    pthread_mutex_lock(&c->mu);
    c->snap = st;
    c->ft_snap = fs;
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

/* The interface's first IPv4 address (else IPv6): the flowsource of its records. */
static void iface_address(const char *iface, struct strm_ip *out)
{
    struct ifaddrs *list = NULL;
    if (getifaddrs(&list) != 0) return;
    for (int pass = 0; pass < 2 && strm_ip_is_null(out); pass++) {
        for (struct ifaddrs *a = list; a; a = a->ifa_next) {
            if (!a->ifa_addr || strcmp(a->ifa_name, iface) != 0) continue;
            if (pass == 0 && a->ifa_addr->sa_family == AF_INET) {
                const struct sockaddr_in *sin = (const struct sockaddr_in *)a->ifa_addr;
                strm_ip_from_v4(out, ntohl(sin->sin_addr.s_addr));
                break;
            }
            if (pass == 1 && a->ifa_addr->sa_family == AF_INET6) {
                const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)a->ifa_addr;
                memcpy(out->b, &s6->sin6_addr, 16);
                break;
            }
        }
    }
    freeifaddrs(list);
}

static int activate_error(pcap_t *p, int rc, const char *iface, char *err, size_t errlen)
{
    const char *detail = pcap_geterr(p);
    switch (rc) {
    case PCAP_ERROR_NO_SUCH_DEVICE:
        snprintf(err, errlen, "capture on %s: no such interface (%s)", iface, detail);
        return STRM_ERR_INVAL;
    case PCAP_ERROR_PERM_DENIED:
    case PCAP_ERROR_PROMISC_PERM_DENIED:
        snprintf(err, errlen,
                 "capture on %s: permission denied; capturing needs root or the CAP_NET_RAW "
                 "and CAP_NET_ADMIN capabilities (%s)",
                 iface, detail);
        return STRM_ERR_IO;
    case PCAP_ERROR_IFACE_NOT_UP:
        snprintf(err, errlen, "capture on %s: the interface is not up", iface);
        return STRM_ERR_IO;
    default:
        snprintf(err, errlen, "capture on %s: %s (%s)", iface, pcap_statustostr(rc), detail);
        return STRM_ERR_IO;
    }
}

int capture_start(const char *iface, const struct flowtab_options *opt, struct flow_sink *sink,
                  void (*flush)(struct flow_sink *sink), struct capture **out, char *err,
                  size_t errlen)
{
    *out = NULL;
    if (!iface || !*iface || strlen(iface) >= sizeof(((struct capture *)0)->iface)) {
        snprintf(err, errlen, "capture: bad interface name '%s'", iface ? iface : "");
        return STRM_ERR_INVAL;
    }
    struct capture *c = calloc(1, sizeof(*c));
    if (!c) {
        snprintf(err, errlen, "capture on %s: out of memory", iface);
        return STRM_ERR_NOMEM;
    }
    snprintf(c->iface, sizeof(c->iface), "%s", iface);
    c->sink = sink;
    c->flush = flush;
    c->fd = -1;
    pthread_mutex_init(&c->mu, NULL);
    int ret = STRM_ERR_IO;
    char eb[PCAP_ERRBUF_SIZE] = "";
    c->p = pcap_create(iface, eb);
    if (!c->p) {
        snprintf(err, errlen, "capture on %s: %s", iface, eb);
        goto fail;
    }
    pcap_set_snaplen(c->p, CAP_SNAPLEN);
    pcap_set_promisc(c->p, 1);
    pcap_set_timeout(c->p, CAP_POLL_MS);
    pcap_set_immediate_mode(c->p, 1);
    pcap_set_buffer_size(c->p, CAP_BUFFER_BYTES);
    int rc = pcap_activate(c->p);
    if (rc < 0) {
        ret = activate_error(c->p, rc, iface, err, errlen);
        goto fail;
    }
    if (rc > 0)
        LOG_WARN("capture", "capture on %s: %s (%s)", iface, pcap_statustostr(rc),
                 pcap_geterr(c->p));
    int dlt = pcap_datalink(c->p);
    if (link_of(dlt, &c->link) != 0) {
        link_error(err, errlen, "capture on interface", iface, dlt);
        ret = STRM_ERR_INVAL;
        goto fail;
    }
    /* With a descriptor to poll: non-blocking reads after poll. Without one (not on Linux),
     * blocking reads that return after the 100 ms timeout do the same job. */
    c->fd = pcap_get_selectable_fd(c->p);
    if (c->fd >= 0 && pcap_setnonblock(c->p, 1, eb) != 0) {
        snprintf(err, errlen, "capture on %s: %s", iface, eb);
        goto fail;
    }

    struct flowtab_options fo;
    memset(&fo, 0, sizeof(fo));
    if (opt) fo = *opt;
    if (strm_ip_is_null(&fo.source)) iface_address(iface, &fo.source);
    if (fo.ifindex == 0) fo.ifindex = if_nametoindex(iface);
    c->ft = flowtab_new(&fo);
    if (!c->ft) {
        snprintf(err, errlen, "capture on %s: out of memory", iface);
        ret = STRM_ERR_NOMEM;
        goto fail;
    }
    /* Signals are for the main thread. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    rc = pthread_create(&c->thread, NULL, capture_thread, c);
    if (rc == 0) pthread_setname_np(c->thread, "flow-capture");
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        snprintf(err, errlen, "capture on %s: cannot start its thread", iface);
        goto fail;
    }
    *out = c;
    return 0;
fail:
    if (c->p) pcap_close(c->p);
    flowtab_free(c->ft);
    pthread_mutex_destroy(&c->mu);
    free(c);
    return ret;
}

void capture_stop(struct capture *c)
{
    if (!c) return;
    atomic_store(&c->stop, true);
    pcap_breakloop(c->p);
    pthread_join(c->thread, NULL);
    pcap_close(c->p);
    flowtab_free(c->ft);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

void capture_stats_get(struct capture *c, struct capture_stats *cs, struct flowtab_stats *fs)
{
    pthread_mutex_lock(&c->mu);
    if (cs) *cs = c->snap;
    if (fs) *fs = c->ft_snap;
    pthread_mutex_unlock(&c->mu);
}

const char *capture_iface(const struct capture *c)
{
    return c->iface;
}
