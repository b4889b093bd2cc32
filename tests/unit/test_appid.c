/*
 * Unit tests for src/flow/appid.c: application detection from the first payload bytes (HTTP
 * Host, TLS SNI from a hand-built ClientHello, DNS names with compression and its loops, SSH
 * and SMTP banners) and the port fallback; every truncation of every sample is read from a
 * buffer of exactly that size (so ASan/valgrind see any over-read) and never yields a wrong
 * name.
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

/* Runs detection on an exact-size heap copy of the bytes. */
static uint32_t detect(const void *p, size_t len, uint8_t proto, uint16_t sport, uint16_t dport,
                       char *detail, size_t size)
{
    uint8_t *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    if (len) memcpy(copy, p, len);
    uint32_t id = appid_detect(copy, len, proto, sport, dport, detail, size);
    free(copy);
    return id;
}

/* ---------------------------------------------------------------- samples */

static const char http_req[] = "GET /index.html HTTP/1.1\r\n"
                               "User-Agent: curl/7.88.1\r\n"
                               "host:  www.example.com \r\n"
                               "Accept: */*\r\n\r\n";

static const char ssh_banner[] = "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n";
static const char smtp_banner[] = "220 mail.example.com ESMTP Postfix (Debian/GNU)\r\n";
static const char smtp_ehlo[] = "EHLO client.example.net\r\n";
static const char ftp_banner[] = "220 ProFTPD Server (Debian) [10.0.0.2]\r\n";

struct buf {
    uint8_t b[1024];
    size_t n;
};

static void put8(struct buf *b, unsigned v)
{
    b->b[b->n++] = (uint8_t)v;
}
static void put16(struct buf *b, unsigned v)
{
    put8(b, v >> 8);
    put8(b, v & 0xff);
}
static void putmem(struct buf *b, const void *p, size_t n)
{
    memcpy(b->b + b->n, p, n);
    b->n += n;
}
static void set16(struct buf *b, size_t at, size_t v)
{
    b->b[at] = (uint8_t)(v >> 8);
    b->b[at + 1] = (uint8_t)v;
}

/* A TLS 1.2 record with a ClientHello: a supported_groups extension, then server_name. */
static void tls_client_hello(struct buf *b, const char *sni)
{
    b->n = 0;
    put8(b, 0x16);
    put16(b, 0x0301);
    size_t reclen_at = b->n;
    put16(b, 0);
    put8(b, 1); /* ClientHello */
    size_t hslen_at = b->n;
    put8(b, 0);
    put16(b, 0);
    put16(b, 0x0303);
    for (int i = 0; i < 32; i++)
        put8(b, (unsigned)(i * 7));
    put8(b, 32); /* session id */
    for (int i = 0; i < 32; i++)
        put8(b, 0xaa);
    put16(b, 4); /* cipher suites */
    put16(b, 0x1301);
    put16(b, 0xc02f);
    put8(b, 1); /* compression methods */
    put8(b, 0);
    size_t extlen_at = b->n;
    put16(b, 0);
    put16(b, 0x000a); /* supported_groups */
    put16(b, 4);
    put16(b, 2);
    put16(b, 0x001d);
    if (sni) {
        size_t n = strlen(sni);
        put16(b, 0x0000); /* server_name */
        put16(b, n + 5);
        put16(b, n + 3); /* server_name_list */
        put8(b, 0);      /* host_name */
        put16(b, n);
        putmem(b, sni, n);
    }
    set16(b, extlen_at, b->n - extlen_at - 2);
    size_t hslen = b->n - hslen_at - 3;
    b->b[hslen_at] = (uint8_t)(hslen >> 16);
    set16(b, hslen_at + 1, hslen);
    set16(b, reclen_at, b->n - 5);
}

/* A DNS message: header with the given flags and counts, then one question for name. */
static void dns_query(struct buf *b, unsigned flags, unsigned qd, const char *name)
{
    b->n = 0;
    put16(b, 0x1234);
    put16(b, flags);
    put16(b, qd);
    put16(b, 0);
    put16(b, 0);
    put16(b, 0);
    const char *p = name;
    while (*p) {
        const char *dot = strchr(p, '.');
        size_t l = dot ? (size_t)(dot - p) : strlen(p);
        put8(b, (unsigned)l);
        putmem(b, p, l);
        p += l;
        if (*p == '.') p++;
    }
    put8(b, 0);
    put16(b, 1); /* A */
    put16(b, 1); /* IN */
}

/* ---------------------------------------------------------------- HTTP */

static void http_host_detected(void **state)
{
    char d[256];
    assert_int_equal(detect(http_req, strlen(http_req), TCP, 40000, 8888, d, sizeof(d)),
                     APPID_HTTP);
    assert_string_equal(d, "www.example.com");
    /* A response: HTTP without a name. */
    const char *resp = "HTTP/1.1 200 OK\r\nServer: x\r\n\r\n";
    assert_int_equal(detect(resp, strlen(resp), TCP, 8888, 40000, d, sizeof(d)), APPID_HTTP);
    assert_string_equal(d, "");
    /* No Host header: HTTP, empty detail. */
    const char *nohost = "POST /x HTTP/1.0\r\nContent-Length: 0\r\n\r\nHost: evil\r\n";
    assert_int_equal(detect(nohost, strlen(nohost), TCP, 40000, 8888, d, sizeof(d)), APPID_HTTP);
    assert_string_equal(d, "");
    /* Control bytes in the host are not passed through. */
    const char *ctl = "GET / HTTP/1.1\r\nHost: a\x01"
                      "b\xff\r\n\r\n";
    assert_int_equal(detect(ctl, strlen(ctl), TCP, 40000, 80, d, sizeof(d)), APPID_HTTP);
    assert_string_equal(d, "a?b?");
    /* A small detail buffer is filled and terminated. */
    assert_int_equal(detect(http_req, strlen(http_req), TCP, 40000, 80, d, 4), APPID_HTTP);
    assert_string_equal(d, "www");
    /* Not HTTP: "GET" without its space, binary junk on port 8888 -> nothing. */
    assert_int_equal(detect("GETX / HTTP/1.1\r\n", 17, TCP, 40000, 8888, d, sizeof(d)),
                     APPID_UNKNOWN);
}

/* ---------------------------------------------------------------- TLS */

static void tls_sni_detected(void **state)
{
    struct buf b;
    char d[256];
    tls_client_hello(&b, "secure.example.org");
    assert_int_equal(detect(b.b, b.n, TCP, 40000, 8443, d, sizeof(d)), APPID_TLS);
    assert_string_equal(d, "secure.example.org");
    /* Without SNI: still TLS (not the port's HTTPS guess), no name. */
    tls_client_hello(&b, NULL);
    assert_int_equal(detect(b.b, b.n, TCP, 40000, 443, d, sizeof(d)), APPID_TLS);
    assert_string_equal(d, "");
    /* A ServerHello from the other side. */
    const uint8_t sh[] = {0x16, 0x03, 0x03, 0x00, 0x30, 0x02, 0x00, 0x00, 0x2c, 0x03, 0x03};
    assert_int_equal(detect(sh, sizeof(sh), TCP, 443, 40000, d, sizeof(d)), APPID_TLS);
    /* Lengths that lie: the extensions claim more than the record holds. */
    tls_client_hello(&b, "lies.example.org");
    size_t ext_at = 5 + 4 + 2 + 32 + 1 + 32 + 2 + 4 + 2;
    set16(&b, ext_at, 0xffff);
    assert_int_equal(detect(b.b, b.n, TCP, 40000, 443, d, sizeof(d)), APPID_TLS);
    assert_string_equal(d, "lies.example.org"); /* bounded by the record: still readable */
    tls_client_hello(&b, "lies.example.org");
    set16(&b, b.n - 16 - 2, 200); /* the name's own length runs past the end */
    assert_int_equal(detect(b.b, b.n, TCP, 40000, 443, d, sizeof(d)), APPID_TLS);
    assert_string_equal(d, "");
    tls_client_hello(&b, "lies.example.org");
    b.b[5 + 4 + 2 + 32] = 0xff; /* session id longer than the message */
    assert_int_equal(detect(b.b, b.n, TCP, 40000, 443, d, sizeof(d)), APPID_TLS);
    assert_string_equal(d, "");
}

/* ---------------------------------------------------------------- DNS */

static void dns_name_detected(void **state)
{
    struct buf b;
    char d[256];
    dns_query(&b, 0x0100, 1, "www.example.com");
    assert_int_equal(detect(b.b, b.n, UDP, 53123, 53, d, sizeof(d)), APPID_DNS);
    assert_string_equal(d, "www.example.com");
    /* Any UDP port when it parses strictly as a query with one question. */
    assert_int_equal(detect(b.b, b.n, UDP, 40000, 40001, d, sizeof(d)), APPID_DNS);
    assert_string_equal(d, "www.example.com");
    /* On other ports: a response, two questions or trailing bytes are not DNS. */
    dns_query(&b, 0x8180, 1, "www.example.com");
    assert_int_equal(detect(b.b, b.n, UDP, 40000, 40001, d, sizeof(d)), APPID_UNKNOWN);
    assert_string_equal(d, "");
    assert_int_equal(detect(b.b, b.n, UDP, 53, 40001, d, sizeof(d)), APPID_DNS); /* port 53 */
    assert_string_equal(d, "www.example.com");
    dns_query(&b, 0x0100, 2, "www.example.com");
    assert_int_equal(detect(b.b, b.n, UDP, 40000, 40001, d, sizeof(d)), APPID_UNKNOWN);
    dns_query(&b, 0x0100, 1, "www.example.com");
    put8(&b, 0);
    assert_int_equal(detect(b.b, b.n, UDP, 40000, 40001, d, sizeof(d)), APPID_UNKNOWN);
    /* DNS over TCP on port 53: two length bytes first. */
    dns_query(&b, 0x0100, 1, "tcp.example.com");
    struct buf t = {.n = 0};
    put16(&t, (unsigned)b.n);
    putmem(&t, b.b, b.n);
    assert_int_equal(detect(t.b, t.n, TCP, 40000, 53, d, sizeof(d)), APPID_DNS);
    assert_string_equal(d, "tcp.example.com");
}

static void dns_compression_and_loops(void **state)
{
    char d[256];
    /* The header's first bytes read as the name "a" (0x01 'a' 0x00): a valid backward
     * pointer from the question to offset 0 gives "www.a". */
    uint8_t ok[] = {0x01, 'a', 0x00, 0x00, 0,   1,    0,    0, 0, 0, 0,
                    0,    3,   'w',  'w',  'w', 0xc0, 0x00, 0, 1, 0, 1};
    assert_int_equal(detect(ok, sizeof(ok), UDP, 5000, 53, d, sizeof(d)), APPID_DNS);
    assert_string_equal(d, "www.a");
    /* Loops (on a port that is not DNS's, so the port does not answer either). */
    /* A pointer to itself. */
    uint8_t self[] = {0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1};
    assert_int_equal(detect(self, sizeof(self), UDP, 5000, 40001, d, sizeof(d)), APPID_UNKNOWN);
    assert_string_equal(d, "");
    /* A label, then a pointer back to that label: the classic loop. */
    uint8_t loop[] = {0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 1, 'x', 0xc0, 12, 0, 1, 0, 1};
    assert_int_equal(detect(loop, sizeof(loop), UDP, 5000, 40001, d, sizeof(d)), APPID_UNKNOWN);
    /* Two pointers pointing at each other (the first one forward). */
    uint8_t pingpong[] = {0x12, 0x34, 0x01, 0x00, 0,    1,  0, 0, 0, 0,
                          0,    0,    0xc0, 14,   0xc0, 12, 0, 1, 0, 1};
    assert_int_equal(detect(pingpong, sizeof(pingpong), UDP, 5000, 40001, d, sizeof(d)),
                     APPID_UNKNOWN);
    /* A pointer cut in half, reserved label types, a name longer than 255 bytes. */
    uint8_t half[] = {0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0};
    assert_int_equal(detect(half, sizeof(half), UDP, 5000, 40001, d, sizeof(d)), APPID_UNKNOWN);
    uint8_t resv[] = {0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0x41, 'a', 0, 0, 1, 0, 1};
    assert_int_equal(detect(resv, sizeof(resv), UDP, 5000, 40001, d, sizeof(d)), APPID_UNKNOWN);
    struct buf b = {.n = 0};
    uint8_t hdr[] = {0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0};
    putmem(&b, hdr, sizeof(hdr));
    for (int i = 0; i < 5; i++) {
        put8(&b, 63);
        for (int j = 0; j < 63; j++)
            put8(&b, 'z');
    }
    put8(&b, 0);
    put16(&b, 1);
    put16(&b, 1);
    assert_int_equal(detect(b.b, b.n, UDP, 5000, 40001, d, sizeof(d)), APPID_UNKNOWN);
}

/* ---------------------------------------------------------------- banners */

static void ssh_and_smtp_banners(void **state)
{
    char d[256];
    assert_int_equal(detect(ssh_banner, strlen(ssh_banner), TCP, 2222, 40000, d, sizeof(d)),
                     APPID_SSH);
    assert_string_equal(d, "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3");
    assert_int_equal(detect(smtp_banner, strlen(smtp_banner), TCP, 2525, 40000, d, sizeof(d)),
                     APPID_SMTP);
    assert_string_equal(d, "mail.example.com");
    assert_int_equal(detect(smtp_ehlo, strlen(smtp_ehlo), TCP, 40000, 10025, d, sizeof(d)),
                     APPID_SMTP);
    assert_string_equal(d, "client.example.net");
    const char *helo = "helo mx.example.org\r\n";
    assert_int_equal(detect(helo, strlen(helo), TCP, 40000, 25, d, sizeof(d)), APPID_SMTP);
    assert_string_equal(d, "mx.example.org");
    /* An FTP server says 220 too: told apart by its port or its words. */
    assert_int_equal(detect(ftp_banner, strlen(ftp_banner), TCP, 21, 40000, d, sizeof(d)),
                     APPID_FTP);
    assert_int_equal(detect(ftp_banner, strlen(ftp_banner), TCP, 2121, 40000, d, sizeof(d)),
                     APPID_FTP);
    assert_string_equal(d, "ProFTPD Server (Debian) [10.0.0.2]");
    const char *pop = "+OK Dovecot ready.\r\n";
    assert_int_equal(detect(pop, strlen(pop), TCP, 40000, 1110, d, sizeof(d)), APPID_POP3);
    const char *imap = "* OK [CAPABILITY IMAP4rev1] ready\r\n";
    assert_int_equal(detect(imap, strlen(imap), TCP, 40000, 1143, d, sizeof(d)), APPID_IMAP);
}

/* ---------------------------------------------------------------- ports */

static void port_fallback(void **state)
{
    char d[16];
    static const struct {
        uint8_t proto;
        uint16_t sport, dport;
        uint32_t id;
    } cases[] = {
        {TCP, 40000, 21, APPID_FTP},        {TCP, 40000, 22, APPID_SSH},
        {TCP, 22, 40000, APPID_SSH},        {TCP, 40000, 25, APPID_SMTP},
        {TCP, 40000, 587, APPID_SMTP},      {UDP, 40000, 53, APPID_DNS},
        {TCP, 40000, 80, APPID_HTTP},       {TCP, 40000, 8080, APPID_HTTP},
        {UDP, 123, 123, APPID_NTP},         {UDP, 40000, 161, APPID_SNMP},
        {UDP, 162, 40000, APPID_SNMP},      {TCP, 40000, 443, APPID_HTTPS},
        {UDP, 40000, 514, APPID_SYSLOG},    {TCP, 40000, 993, APPID_IMAPS},
        {TCP, 40000, 3389, APPID_RDP},      {TCP, 40000, 5432, APPID_POSTGRESQL},
        {UDP, 40000, 2055, APPID_NETFLOW},  {UDP, 40000, 6343, APPID_SFLOW},
        {TCP, 40000, 40001, APPID_UNKNOWN}, {1, 0, 0, APPID_UNKNOWN},
        {47, 0, 22, APPID_UNKNOWN}, /* GRE has no ports */
        {TCP, 2049, 22, APPID_SSH}, /* the lower port names the service */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint32_t id =
            appid_detect(NULL, 0, cases[i].proto, cases[i].sport, cases[i].dport, d, sizeof(d));
        if (id != cases[i].id)
            fail_msg("case %zu: proto %u %u->%u: got %u want %u", i, cases[i].proto, cases[i].sport,
                     cases[i].dport, id, cases[i].id);
        assert_string_equal(d, "");
    }
    /* Payload that says nothing: the port decides. */
    const uint8_t junk[] = {0x8f, 0x00, 0x13, 0x37, 0xde, 0xad};
    assert_int_equal(detect(junk, sizeof(junk), UDP, 40000, 123, d, sizeof(d)), APPID_NTP);
    assert_int_equal(detect(junk, sizeof(junk), UDP, 40000, 40001, d, sizeof(d)), APPID_UNKNOWN);
}

static void names_cover_every_id(void **state)
{
    assert_string_equal(appid_name(APPID_UNKNOWN), "Other");
    assert_string_equal(appid_name(APPID_HTTP), "HTTP");
    assert_string_equal(appid_name(APPID_TLS), "TLS");
    assert_string_equal(appid_name(APPID_DNS), "DNS");
    assert_string_equal(appid_name(APPID_SSH), "SSH");
    assert_string_equal(appid_name(APPID_SMTP), "SMTP");
    for (uint32_t id = 1; id < APPID__COUNT; id++) {
        const char *n = appid_name(id);
        assert_non_null(n);
        if (!strcmp(n, "Other")) fail_msg("id %u has no name", id);
        for (uint32_t j = 1; j < id; j++)
            if (!strcmp(n, appid_name(j))) fail_msg("ids %u and %u share the name %s", j, id, n);
    }
    assert_string_equal(appid_name(APPID__COUNT), "Other");
    assert_string_equal(appid_name(0xffffffffu), "Other");
}

/* ---------------------------------------------------------------- truncation */

/*
 * Every prefix of every sample, from an exact-size buffer: the detail is terminated, and a
 * name (Host, SNI, DNS name, SMTP host) is either the whole name or nothing, never a cut one.
 * Banner lines (SSH, FTP) may be cut: they must then be a prefix of the whole line.
 */
static void every_truncation_is_safe(void **state)
{
    struct buf tls, dns, dnstcp = {.n = 0};
    tls_client_hello(&tls, "secure.example.org");
    dns_query(&dns, 0x0100, 1, "www.example.com");
    put16(&dnstcp, (unsigned)dns.n);
    putmem(&dnstcp, dns.b, dns.n);
    struct {
        const uint8_t *p;
        size_t n;
        uint8_t proto;
        uint16_t sport, dport;
        const char *name;
        bool prefix_ok;
    } s[] = {
        {(const uint8_t *)http_req, strlen(http_req), TCP, 40000, 8888, "www.example.com", false},
        {tls.b, tls.n, TCP, 40000, 8443, "secure.example.org", false},
        {dns.b, dns.n, UDP, 40000, 53, "www.example.com", false},
        {dns.b, dns.n, UDP, 40000, 40001, "www.example.com", false},
        {dnstcp.b, dnstcp.n, TCP, 40000, 53, "www.example.com", false},
        {(const uint8_t *)ssh_banner, strlen(ssh_banner), TCP, 2222, 40000,
         "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3", true},
        {(const uint8_t *)smtp_banner, strlen(smtp_banner), TCP, 2525, 40000, "mail.example.com",
         false},
        {(const uint8_t *)smtp_ehlo, strlen(smtp_ehlo), TCP, 40000, 10025, "client.example.net",
         false},
        {(const uint8_t *)ftp_banner, strlen(ftp_banner), TCP, 21, 40000,
         "ProFTPD Server (Debian) [10.0.0.2]", true},
    };
    for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
        for (size_t n = 0; n <= s[i].n; n++) {
            static const size_t sizes[] = {1, 2, 3, 4, 5, 8, 256};
            for (size_t z = 0; z < sizeof(sizes) / sizeof(sizes[0]); z++) {
                size_t dsz = sizes[z];
                char d[256];
                memset(d, 'Q', sizeof(d));
                detect(s[i].p, n, s[i].proto, s[i].sport, s[i].dport, d, dsz);
                size_t dl = strnlen(d, dsz);
                if (dl >= dsz) fail_msg("sample %zu len %zu: detail not terminated", i, n);
                if (dsz < 256) continue;
                if (dl == 0 || !strcmp(d, s[i].name)) continue;
                if (s[i].prefix_ok && !strncmp(d, s[i].name, dl)) continue;
                fail_msg("sample %zu cut at %zu gave \"%s\"", i, n, d);
            }
        }
        char d[256];
        detect(s[i].p, s[i].n, s[i].proto, s[i].sport, s[i].dport, d, sizeof(d));
        assert_string_equal(d, s[i].name);
    }
}

/* Random and mutated bytes: no crash, always terminated (run under ASan in CI). */
static void random_bytes_are_safe(void **state)
{
    uint64_t x = 0x9e3779b97f4a7c15ull;
    struct buf tls;
    tls_client_hello(&tls, "secure.example.org");
    for (int round = 0; round < 20000; round++) {
        uint8_t b[300];
        size_t n;
        if (round & 1) {
            memcpy(b, tls.b, tls.n);
            n = tls.n;
            for (int k = 0; k < 4; k++) {
                x = x * 6364136223846793005ull + 1442695040888963407ull;
                b[(x >> 33) % n] = (uint8_t)(x >> 17);
            }
        } else {
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            n = (size_t)(x >> 40) % sizeof(b);
            for (size_t i = 0; i < n; i++) {
                x = x * 6364136223846793005ull + 1442695040888963407ull;
                b[i] = (uint8_t)(x >> 35);
            }
            if (n > 12 && (round & 2)) b[4] = 0, b[5] = 1; /* one question: reach DNS names */
        }
        char d[64];
        uint8_t proto = (round & 4) ? UDP : TCP;
        detect(b, n, proto, 53, (uint16_t)(40000 + round), d, sizeof(d));
        assert_true(strnlen(d, sizeof(d)) < sizeof(d));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(http_host_detected),    cmocka_unit_test(tls_sni_detected),
        cmocka_unit_test(dns_name_detected),     cmocka_unit_test(dns_compression_and_loops),
        cmocka_unit_test(ssh_and_smtp_banners),  cmocka_unit_test(port_fallback),
        cmocka_unit_test(names_cover_every_id),  cmocka_unit_test(every_truncation_is_safe),
        cmocka_unit_test(random_bytes_are_safe),
    };
    cmocka_set_message_output(CM_OUTPUT_TAP);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
