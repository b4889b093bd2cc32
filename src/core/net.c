/*
 * net.c - socket helpers shared by the receivers (see net.h).
 */
#include "core/net.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

void strm_ip_from_sockaddr(struct strm_ip *ip, const struct sockaddr_storage *ss)
{
    memset(ip, 0, sizeof(*ip));
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
        strm_ip_from_v4(ip, ntohl(in->sin_addr.s_addr));
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
        memcpy(ip->b, &in6->sin6_addr, 16);
    }
}

void strm_format_sockaddr(const struct sockaddr *sa, socklen_t len, const char *host, uint16_t port,
                          char *buf, size_t size)
{
    char text[NI_MAXHOST], serv[NI_MAXSERV];
    const char *h = host && host[0] ? host : "0.0.0.0";
    if (sa && getnameinfo(sa, len, text, sizeof(text), serv, sizeof(serv),
                          NI_NUMERICHOST | NI_NUMERICSERV) == 0) {
        h = text;
        port = (uint16_t)atoi(serv);
    }
    if (strchr(h, ':'))
        snprintf(buf, size, "[%s]:%u", h, port);
    else
        snprintf(buf, size, "%s:%u", h, port);
}

static void set_rcvbuf(int fd, int want, const char *component, const char *what, const char *addr)
{
    if (want <= 0) return;
    if (geteuid() != 0 || setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &want, sizeof(want)) != 0)
        (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &want, sizeof(want));
    int got = 0;
    socklen_t gl = sizeof(got);
    /* Linux reports twice the usable size it granted. */
    if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &got, &gl) == 0 && got / 2 < want)
        LOG_WARN(component,
                 "%s listener %s: receive buffer is %d bytes, %d asked (raise "
                 "net.core.rmem_max or run as root); bursts may be dropped by the kernel",
                 what, addr, got / 2, want);
}

int strm_listen_open(const struct strm_listen *l, int socktype, int rcvbuf, bool share,
                     const char *component, const char *what, const char *key, int *fds, int *n,
                     int cap, char *err, size_t errlen)
{
    char port[8], addr[NI_MAXHOST + 16];
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = socktype;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    snprintf(port, sizeof(port), "%u", l->port);
    const char *host = l->host[0] ? l->host : NULL;
    int g = getaddrinfo(host, port, &hints, &res);
    if (g != 0) {
        strm_format_sockaddr(NULL, 0, l->host, l->port, addr, sizeof(addr));
        snprintf(err, errlen,
                 "cannot resolve %s listener %s: %s (set %s in the config file to another "
                 "host:port, or [] to turn it off)",
                 what, addr, gai_strerror(g), key);
        return STRM_ERR_IO;
    }
    int opened = 0, rc = 0;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        strm_format_sockaddr(ai->ai_addr, ai->ai_addrlen, l->host, l->port, addr, sizeof(addr));
        /* The IPv6 half of a wildcard may be missing on hosts without IPv6. */
        bool optional = host == NULL && ai->ai_family == AF_INET6;
        if (*n >= cap) {
            snprintf(err, errlen, "too many %s sockets (at most %d); check %s", what, cap, key);
            rc = STRM_ERR_INVAL;
            break;
        }
        int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            if (optional) continue;
            snprintf(err, errlen, "cannot open %s listener %s: %s", what, addr, strerror(errno));
            rc = STRM_ERR_IO;
            break;
        }
        int one = 1;
        if (socktype == SOCK_STREAM || share)
            (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (socktype == SOCK_DGRAM && share)
            (void)setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
        if (ai->ai_family == AF_INET6)
            (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 ||
            (socktype == SOCK_STREAM && listen(fd, 1024) != 0)) {
            int e = errno;
            close(fd);
            if (optional && (e == EADDRNOTAVAIL || e == EAFNOSUPPORT)) continue;
            snprintf(err, errlen,
                     "cannot bind %s listener %s: %s (set %s in the config file to another "
                     "host:port, or [] to turn it off)",
                     what, addr, strerror(e), key);
            rc = STRM_ERR_IO;
            break;
        }
        if (socktype == SOCK_DGRAM) set_rcvbuf(fd, rcvbuf, component, what, addr);
        fds[(*n)++] = fd;
        opened++;
        LOG_INFO(component, "%s listening on %s", what, addr);
    }
    freeaddrinfo(res);
    if (rc == 0 && opened == 0) {
        strm_format_sockaddr(NULL, 0, l->host, l->port, addr, sizeof(addr));
        snprintf(err, errlen, "cannot bind %s listener %s: no usable address (set %s)", what, addr,
                 key);
        rc = STRM_ERR_IO;
    }
    return rc;
}

int strm_recv_datagrams(int fd, struct mmsghdr *msgs, unsigned vlen, socklen_t name_size,
                        const char *component)
{
    for (unsigned i = 0; i < vlen; i++) {
        msgs[i].msg_hdr.msg_namelen = name_size;
        msgs[i].msg_hdr.msg_flags = 0;
        msgs[i].msg_len = 0;
    }
    for (;;) {
        int n = recvmmsg(fd, msgs, vlen, MSG_DONTWAIT, NULL);
        if (n >= 0) return n;
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            LOG_DEBUG(component, "recvmmsg: %s", strerror(errno));
        return 0;
    }
}

void strm_recv_setup(struct mmsghdr *msgs, struct iovec *iov, struct sockaddr_storage *names,
                     uint8_t *bufs, unsigned vlen, size_t slot)
{
    for (unsigned i = 0; i < vlen; i++) {
        iov[i].iov_base = bufs + (size_t)i * slot;
        iov[i].iov_len = slot;
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
        msgs[i].msg_hdr.msg_name = &names[i];
    }
}
