/*
 * net.h - socket helpers shared by every receiver (syslog UDP/TCP/TLS, NetFlow/IPFIX/sFlow):
 * opening the sockets of a listener entry, addresses as text and as struct strm_ip.
 */
#ifndef STRM_NET_H
#define STRM_NET_H

#include <sys/socket.h>

#include "core/core.h"

/* The address of a peer as an strm_ip (IPv4 as v4-mapped); all zero for other families. */
void strm_ip_from_sockaddr(struct strm_ip *ip, const struct sockaddr_storage *ss);

/* "a.b.c.d:port" or "[v6]:port" of sa; without sa (NULL) of host (""= 0.0.0.0) and port. */
void strm_format_sockaddr(const struct sockaddr *sa, socklen_t len, const char *host, uint16_t port,
                          char *buf, size_t size);

/*
 * Opens, binds (and for SOCK_STREAM listens on) the sockets of one listener entry: a name may
 * give several addresses; "" gives every address (0.0.0.0 and ::, the IPv6 half skipped on
 * hosts without IPv6). Non-blocking, close-on-exec, IPv6 sockets v6-only. For SOCK_DGRAM,
 * rcvbuf > 0 asks for that receive buffer (SO_RCVBUFFORCE as root) and warns when less is
 * granted; share also sets SO_REUSEADDR/SO_REUSEPORT (several receiver threads). The fds are
 * appended to fds[*n] (at most cap); each is logged as "<what> listening on <addr>" under
 * component. Errors name what, the address and the config key: "cannot bind syslog UDP
 * listener 0.0.0.0:514: Address already in use (set syslog.udp in the config file ...)".
 */
int strm_listen_open(const struct strm_listen *l, int socktype, int rcvbuf, bool share,
                     const char *component, const char *what, const char *key, int *fds, int *n,
                     int cap, char *err, size_t errlen);

/*
 * recvmmsg of up to vlen datagrams into msgs (their iovecs and name buffers set up by the
 * caller; name lengths, flags and lengths are reset here), not blocking, EINTR retried. Returns
 * the datagrams read, 0 when none is waiting; other errors are logged (debug) and give 0.
 * name_size is the size of each msgs[i].msg_hdr.msg_name buffer.
 */
struct mmsghdr;
struct iovec;
/* Points message i of msgs at slot i of bufs (slot bytes each) and at names[i]. */
void strm_recv_setup(struct mmsghdr *msgs, struct iovec *iov, struct sockaddr_storage *names,
                     uint8_t *bufs, unsigned vlen, size_t slot);
int strm_recv_datagrams(int fd, struct mmsghdr *msgs, unsigned vlen, socklen_t name_size,
                        const char *component);

#endif
