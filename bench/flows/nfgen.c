/*
 * nfgen - NetFlow v9 generator for bench/flows/run.
 *
 * Sends N flow records as NetFlow v9 over UDP to 127.0.0.1:PORT: one template (id 256, 13
 * fields, 35-byte records) in the first datagram and again every 64 datagrams, then data
 * flowsets of up to 30 records per datagram. The records are the same for a given seed
 * (xorshift64*): source addresses in 10.0.0.0/8 drawn with a skew (a few hundred heavy
 * talkers and a long tail), destinations anywhere in 10/8 and 198.18.0.0/15, destination
 * ports from a realistic mix (443, 80, 53, 22, 25, 123, high ports), TCP/UDP/ICMP, bytes
 * log-distributed from 40 B to ~1.5 GB, packets from bytes.
 *
 * Pacing: -R records per second (0 = as fast as the socket takes them); sending stops after
 * N records, so the program always ends. Prints one line: records, datagrams, seconds, and
 * the sums of bytes and packets sent (for the loss accounting).
 *
 * Usage: nfgen -p PORT -n RECORDS [-R RATE] [-s SEED] [-h HOST]
 * Only loopback or another address given with -h; bench/flows/run uses 127.0.0.1.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define REC_LEN 35
#define RECS_PER_DGRAM 30
#define TEMPLATE_EVERY 64

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint64_t rnd(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1Dull;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint8_t *put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
    return p + 2;
}

static uint8_t *put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
    return p + 4;
}

static const uint16_t tmpl_fields[][2] = {
    {8, 4},  /* IPV4_SRC_ADDR */
    {12, 4}, /* IPV4_DST_ADDR */
    {7, 2},  /* L4_SRC_PORT */
    {11, 2}, /* L4_DST_PORT */
    {4, 1},  /* PROTOCOL */
    {6, 1},  /* TCP_FLAGS */
    {5, 1},  /* SRC_TOS */
    {10, 2}, /* INPUT_SNMP */
    {14, 2}, /* OUTPUT_SNMP */
    {1, 4},  /* IN_BYTES */
    {2, 4},  /* IN_PKTS */
    {22, 4}, /* FIRST_SWITCHED */
    {21, 4}, /* LAST_SWITCHED */
};
#define NFIELDS (sizeof(tmpl_fields) / sizeof(tmpl_fields[0]))

static uint8_t *put_template(uint8_t *p)
{
    p = put16(p, 0);
    p = put16(p, (uint16_t)(8 + 4 * NFIELDS));
    p = put16(p, 256);
    p = put16(p, (uint16_t)NFIELDS);
    for (size_t i = 0; i < NFIELDS; i++) {
        p = put16(p, tmpl_fields[i][0]);
        p = put16(p, tmpl_fields[i][1]);
    }
    return p;
}

static uint32_t src_addr(void)
{
    uint64_t r = rnd();
    /* 60%: one of 256 heavy talkers (weighted by a square: a few dominate), else the tail */
    if (r % 100 < 60) {
        uint32_t k = (uint32_t)((rnd() % 16) * (rnd() % 16));
        return 0x0A000000u | (10u << 16) | k;
    }
    return 0x0A000000u | (uint32_t)(rnd() & 0xFFFFFF);
}

static const uint16_t dports[] = {443, 443, 443, 443, 80, 80, 53, 53, 22, 25, 123, 8080, 3389, 993};

static uint8_t *put_record(uint8_t *p, uint32_t uptime, uint64_t *bytes_sum, uint64_t *pkts_sum)
{
    uint32_t src = src_addr();
    uint32_t dst = (rnd() & 1) ? (0x0A000000u | (uint32_t)(rnd() & 0xFFFFFF))
                               : (0xC6120000u | (uint32_t)(rnd() & 0x1FFFF));
    uint64_t r = rnd();
    uint8_t proto = (r % 100) < 80 ? 6 : (r % 100) < 97 ? 17 : 1;
    uint16_t dport = (rnd() % 10) < 8 ? dports[rnd() % (sizeof(dports) / sizeof(dports[0]))]
                                      : (uint16_t)(1024 + rnd() % 64000);
    uint16_t sport = (uint16_t)(32768 + rnd() % 28000);
    if (proto == 1) sport = dport = 0;
    if (proto == 17 && dport == 443) dport = 53;
    /* bytes: log-uniform 40 B .. ~1.5 GB over 2^5..2^30 */
    unsigned e = 5 + (unsigned)(rnd() % 26);
    uint32_t bytes = (uint32_t)((1u << e) + rnd() % (1u << e));
    if (bytes < 40) bytes = 40;
    uint32_t pkts = bytes / 800 + 1;
    uint32_t dur = (uint32_t)(rnd() % 60000);
    uint32_t last = uptime > 1000 ? uptime - (uint32_t)(rnd() % 1000) : uptime;
    uint32_t first = last > dur ? last - dur : 0;
    p = put32(p, src);
    p = put32(p, dst);
    p = put16(p, sport);
    p = put16(p, dport);
    *p++ = proto;
    *p++ = proto == 6 ? 0x1b : 0;
    *p++ = 0;
    p = put16(p, (uint16_t)(1 + rnd() % 8));
    p = put16(p, (uint16_t)(1 + rnd() % 8));
    p = put32(p, bytes);
    p = put32(p, pkts);
    p = put32(p, first);
    p = put32(p, last);
    *bytes_sum += bytes;
    *pkts_sum += pkts;
    return p;
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1";
    int port = 0;
    uint64_t n = 0, rate = 0, seed = 1;
    int c;
    while ((c = getopt(argc, argv, "p:n:R:s:h:")) != -1) {
        switch (c) {
        case 'p':
            port = atoi(optarg);
            break;
        case 'n':
            n = strtoull(optarg, NULL, 10);
            break;
        case 'R':
            rate = strtoull(optarg, NULL, 10);
            break;
        case 's':
            seed = strtoull(optarg, NULL, 10);
            break;
        case 'h':
            host = optarg;
            break;
        default:
            fprintf(stderr, "usage: nfgen -p PORT -n RECORDS [-R RATE] [-s SEED] [-h HOST]\n");
            return 2;
        }
    }
    if (port <= 0 || port > 65535 || n == 0) {
        fprintf(stderr, "usage: nfgen -p PORT -n RECORDS [-R RATE] [-s SEED] [-h HOST]\n");
        return 2;
    }
    rng_state ^= seed * 0xBF58476D1CE4E5B9ull;
    if (!rng_state) rng_state = 1;

    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0) {
        perror("socket");
        return 1;
    }
    int sndbuf = 4 << 20;
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
    struct sockaddr_in to;
    memset(&to, 0, sizeof(to));
    to.sin_family = AF_INET;
    to.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &to.sin_addr) != 1) {
        fprintf(stderr, "nfgen: bad host %s\n", host);
        return 2;
    }
    if (connect(fd, (struct sockaddr *)&to, sizeof(to)) != 0) {
        perror("connect");
        return 1;
    }

    uint8_t buf[1500];
    uint64_t sent = 0, dgrams = 0, bytes_sum = 0, pkts_sum = 0, send_errors = 0;
    double t0 = now_s();
    while (sent < n) {
        uint32_t uptime = (uint32_t)((now_s() - t0) * 1000.0) + 3600000u;
        uint8_t *p = buf + 20;
        uint16_t count = 0;
        if (dgrams % TEMPLATE_EVERY == 0) {
            p = put_template(p);
            count++;
        }
        uint64_t k = n - sent < RECS_PER_DGRAM ? n - sent : RECS_PER_DGRAM;
        uint8_t *set = p;
        p += 4;
        for (uint64_t i = 0; i < k; i++)
            p = put_record(p, uptime, &bytes_sum, &pkts_sum);
        size_t setlen = (size_t)(p - set);
        while (setlen % 4) {
            *p++ = 0;
            setlen++;
        }
        put16(set, 256);
        put16(set + 2, (uint16_t)setlen);
        count = (uint16_t)(count + k);
        uint8_t *h = buf;
        h = put16(h, 9);
        h = put16(h, count);
        h = put32(h, uptime);
        h = put32(h, (uint32_t)time(NULL));
        h = put32(h, (uint32_t)dgrams); /* v9: sequence counts datagrams */
        put32(h, 1);                    /* source id */
        for (int tries = 0;; tries++) {
            if (send(fd, buf, (size_t)(p - buf), 0) >= 0) break;
            if ((errno == ENOBUFS || errno == EAGAIN || errno == ECONNREFUSED) && tries < 100) {
                if (errno == ECONNREFUSED) send_errors++;
                usleep(100);
                continue;
            }
            send_errors++;
            break;
        }
        sent += k;
        dgrams++;
        if (rate) {
            double due = t0 + (double)sent / (double)rate;
            double wait = due - now_s();
            if (wait > 0.0005) usleep((useconds_t)(wait * 1e6));
        }
    }
    double secs = now_s() - t0;
    printf("nfgen records %" PRIu64 " datagrams %" PRIu64 " seconds %.3f bytes %" PRIu64
           " packets %" PRIu64 " send_errors %" PRIu64 "\n",
           sent, dgrams, secs, bytes_sum, pkts_sum, send_errors);
    close(fd);
    return 0;
}
