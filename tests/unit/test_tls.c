/*
 * test_tls.c - the syslog TLS receiver (src/collect/tls.c) on 127.0.0.1 with GnuTLS clients
 * written here: the self-signed certificate is made once and reused (same fingerprint, key
 * 0600, SAN localhost verified by the client); octet-counted and LF-framed messages come out
 * of the queue intact with the peer as collectorip; client certificates required or optional
 * against a CA made in the test; plaintext, stalled handshakes and broken records are counted
 * and never stop the listener; configuration errors name their key.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <ftw.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "collect/collect.h"

/* ---------------------------------------------------------------- fixtures */

struct fixture {
    char dir[256];
    struct strm_config cfg;
    struct strm_queue q;
    struct strm_pool pool;
    struct strm_stats st;
    struct collect *c;
    uint16_t port;
};

static int port_seq;

static uint16_t next_port(void)
{
    /* away from test_framer's pid-derived port */
    return (uint16_t)(21000 + (getpid() * 13 + port_seq++ * 7) % 19000);
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static void fixture_init(struct fixture *f)
{
    memset(f, 0, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/strm-test-tls-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    strm_config_defaults(&f->cfg);
    snprintf(f->cfg.data_dir, sizeof(f->cfg.data_dir), "%s", f->dir);
    f->cfg.n_syslog_udp = 0;
    f->cfg.n_syslog_tcp = 0;
    f->port = next_port();
    snprintf(f->cfg.syslog_tls[0].host, sizeof(f->cfg.syslog_tls[0].host), "127.0.0.1");
    f->cfg.syslog_tls[0].port = f->port;
    f->cfg.n_syslog_tls = 1;
    f->cfg.syslog_tcp_max_clients = 16;
    assert_int_equal(strm_queue_init(&f->q, 64), 0);
    strm_pool_init(&f->pool, 64, 64);
}

static void fixture_start(struct fixture *f)
{
    char err[1024];
    for (int attempt = 0; attempt < 5; attempt++) {
        int rc = collect_start(&f->cfg, &f->q, &f->pool, &f->st, &f->c, err, sizeof(err));
        if (rc == 0) return;
        if (!strstr(err, "Address already in use")) fail_msg("collect_start: %s", err);
        f->port = next_port(); /* someone else holds it: try another */
        f->cfg.syslog_tls[0].port = f->port;
    }
    fail_msg("collect_start: %s", err);
}

static void fixture_free(struct fixture *f)
{
    collect_stop(f->c);
    f->c = NULL;
    strm_queue_close(&f->q);
    struct strm_batch *b;
    while ((b = strm_queue_pop(&f->q, 0)) != NULL)
        strm_pool_put(&f->pool, b);
    strm_pool_destroy(&f->pool);
    strm_queue_destroy(&f->q);
    nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Received payloads, in order. */
struct got {
    int n;
    char *msg[512];
    size_t len[512];
    bool from_loopback;
};

static void got_free(struct got *g)
{
    for (int i = 0; i < g->n && i < 512; i++)
        free(g->msg[i]);
    memset(g, 0, sizeof(*g));
}

/* Pops until want events arrived or timeout_ms passed. */
static void collect_events(struct fixture *f, int want, int timeout_ms, struct got *g)
{
    int64_t deadline = strm_mono_ms() + timeout_ms;
    g->from_loopback = true;
    while (g->n < want && strm_mono_ms() < deadline) {
        struct strm_batch *b = strm_queue_pop(&f->q, 50);
        if (!b) continue;
        for (uint32_t i = 0; i < b->count; i++) {
            struct strm_event *ev = &b->ev[i];
            char ip[64];
            strm_ip_format(&ev->collectorip, ip, sizeof(ip));
            if (strcmp(ip, "127.0.0.1") != 0) g->from_loopback = false;
            assert_true(ev->starttime > 0);
            if (g->n < 512) {
                g->msg[g->n] = malloc(ev->payload.len + 1);
                assert_non_null(g->msg[g->n]);
                memcpy(g->msg[g->n], ev->payload.p, ev->payload.len);
                g->msg[g->n][ev->payload.len] = '\0';
                g->len[g->n] = ev->payload.len;
            }
            g->n++;
        }
        strm_pool_put(&f->pool, b);
    }
}

static bool wait_stat(_Atomic uint64_t *v, uint64_t want, int timeout_ms)
{
    int64_t deadline = strm_mono_ms() + timeout_ms;
    while (atomic_load(v) < want && strm_mono_ms() < deadline) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return atomic_load(v) >= want;
}

static bool wait_zero(_Atomic uint64_t *v, int timeout_ms)
{
    int64_t deadline = strm_mono_ms() + timeout_ms;
    while (atomic_load(v) != 0 && strm_mono_ms() < deadline) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return atomic_load(v) == 0;
}

/* ---------------------------------------------------------------- certificates for tests */

struct keypair {
    gnutls_x509_crt_t crt;
    gnutls_x509_privkey_t key;
};

/* A certificate for cn, signed by issuer (NULL: self-signed); is_ca makes a CA. */
static void make_cert(struct keypair *kp, const char *cn, const struct keypair *issuer, bool is_ca)
{
    assert_int_equal(gnutls_x509_privkey_init(&kp->key), 0);
    assert_int_equal(gnutls_x509_privkey_generate(kp->key, GNUTLS_PK_ECDSA,
                                                  GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1),
                                                  0),
                     0);
    assert_int_equal(gnutls_x509_crt_init(&kp->crt), 0);
    gnutls_x509_crt_t c = kp->crt;
    assert_int_equal(gnutls_x509_crt_set_version(c, 3), 0);
    static unsigned char serial = 1;
    unsigned char s[2] = {0x11, serial++};
    assert_int_equal(gnutls_x509_crt_set_serial(c, s, sizeof(s)), 0);
    time_t now = time(NULL);
    assert_int_equal(gnutls_x509_crt_set_activation_time(c, now - 3600), 0);
    assert_int_equal(gnutls_x509_crt_set_expiration_time(c, now + 86400), 0);
    assert_int_equal(
        gnutls_x509_crt_set_dn_by_oid(c, GNUTLS_OID_X520_COMMON_NAME, 0, cn, (unsigned)strlen(cn)),
        0);
    assert_int_equal(gnutls_x509_crt_set_key(c, kp->key), 0);
    assert_int_equal(gnutls_x509_crt_set_basic_constraints(c, is_ca ? 1 : 0, -1), 0);
    if (is_ca) {
        assert_int_equal(
            gnutls_x509_crt_set_key_usage(c, GNUTLS_KEY_KEY_CERT_SIGN | GNUTLS_KEY_CRL_SIGN), 0);
    } else {
        assert_int_equal(gnutls_x509_crt_set_key_usage(c, GNUTLS_KEY_DIGITAL_SIGNATURE), 0);
        assert_int_equal(gnutls_x509_crt_set_key_purpose_oid(c, GNUTLS_KP_TLS_WWW_CLIENT, 0), 0);
    }
    unsigned char kid[64];
    size_t kid_len = sizeof(kid);
    assert_int_equal(gnutls_x509_crt_get_key_id(c, 0, kid, &kid_len), 0);
    assert_int_equal(gnutls_x509_crt_set_subject_key_id(c, kid, kid_len), 0);
    if (issuer) {
        kid_len = sizeof(kid);
        assert_int_equal(gnutls_x509_crt_get_key_id(issuer->crt, 0, kid, &kid_len), 0);
        assert_int_equal(gnutls_x509_crt_set_authority_key_id(c, kid, kid_len), 0);
    }
    const struct keypair *by = issuer ? issuer : kp;
    assert_int_equal(gnutls_x509_crt_sign2(c, by->crt, by->key, GNUTLS_DIG_SHA256, 0), 0);
}

static void write_pem(const char *dir, const char *name, const struct keypair *kp, char *crt_path,
                      char *key_path, size_t size)
{
    gnutls_datum_t d;
    snprintf(crt_path, size, "%s/%s.crt", dir, name);
    assert_int_equal(gnutls_x509_crt_export2(kp->crt, GNUTLS_X509_FMT_PEM, &d), 0);
    FILE *fp = fopen(crt_path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(d.data, 1, d.size, fp), d.size);
    fclose(fp);
    gnutls_free(d.data);
    snprintf(key_path, size, "%s/%s.key", dir, name);
    assert_int_equal(gnutls_x509_privkey_export2(kp->key, GNUTLS_X509_FMT_PEM, &d), 0);
    fp = fopen(key_path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(d.data, 1, d.size, fp), d.size);
    fclose(fp);
    gnutls_free(d.data);
}

static void keypair_free(struct keypair *kp)
{
    gnutls_x509_crt_deinit(kp->crt);
    gnutls_x509_privkey_deinit(kp->key);
}

/* ---------------------------------------------------------------- a GnuTLS client */

struct client {
    int fd;
    gnutls_session_t s;
    gnutls_certificate_credentials_t cred;
};

static int connect_tcp(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    sa.sin_addr.s_addr = htonl(0x7f000001u);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    return fd;
}

/*
 * Connects and handshakes, verifying the server's certificate against ca_file for the name
 * "localhost"; presents cert/key when given. Returns the handshake's result.
 */
static int client_open(struct client *c, uint16_t port, const char *ca_file, const char *cert,
                       const char *key)
{
    memset(c, 0, sizeof(*c));
    assert_int_equal(gnutls_certificate_allocate_credentials(&c->cred), 0);
    assert_true(gnutls_certificate_set_x509_trust_file(c->cred, ca_file, GNUTLS_X509_FMT_PEM) > 0);
    if (cert)
        assert_int_equal(
            gnutls_certificate_set_x509_key_file(c->cred, cert, key, GNUTLS_X509_FMT_PEM), 0);
    assert_int_equal(gnutls_init(&c->s, GNUTLS_CLIENT), 0);
    assert_int_equal(gnutls_set_default_priority(c->s), 0);
    assert_int_equal(gnutls_credentials_set(c->s, GNUTLS_CRD_CERTIFICATE, c->cred), 0);
    assert_int_equal(gnutls_server_name_set(c->s, GNUTLS_NAME_DNS, "localhost", 9), 0);
    gnutls_session_set_verify_cert(c->s, "localhost", 0);
    c->fd = connect_tcp(port);
    gnutls_transport_set_int(c->s, c->fd);
    gnutls_handshake_set_timeout(c->s, 5000);
    int rc;
    int64_t deadline = strm_mono_ms() + 6000;
    do {
        rc = gnutls_handshake(c->s);
    } while (rc < 0 && !gnutls_error_is_fatal(rc) && strm_mono_ms() < deadline);
    return rc;
}

static void client_send(struct client *c, const void *p, size_t n)
{
    const char *s = p;
    while (n) {
        ssize_t w = gnutls_record_send(c->s, s, n);
        if (w == GNUTLS_E_AGAIN || w == GNUTLS_E_INTERRUPTED) continue;
        if (w <= 0) fail_msg("gnutls_record_send: %s", gnutls_strerror((int)w));
        s += w;
        n -= (size_t)w;
    }
}

static void client_send_str(struct client *c, const char *s)
{
    client_send(c, s, strlen(s));
}

static void client_close(struct client *c, bool bye)
{
    if (bye) gnutls_bye(c->s, GNUTLS_SHUT_WR);
    close(c->fd);
    gnutls_deinit(c->s);
    gnutls_certificate_free_credentials(c->cred);
}

/* After a handshake the server may still reject (TLS 1.3 checks the client's cert late). */
static bool client_rejected(struct client *c, int hs)
{
    if (hs < 0) return true;
    char buf[64];
    if (gnutls_record_send(c->s, "5 hello", 7) < 0) return true; /* already shut */
    ssize_t n;
    int64_t deadline = strm_mono_ms() + 6000;
    do {
        n = gnutls_record_recv(c->s, buf, sizeof(buf));
    } while ((n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED) && strm_mono_ms() < deadline);
    return n <= 0; /* an alert or EOF; never data */
}

static void server_cert_path(const struct fixture *f, char *buf, size_t size)
{
    snprintf(buf, size, "%s/tls/server.crt", f->dir);
}

/* ---------------------------------------------------------------- tests */

static void fingerprint_of_file(const char *path, char *out, size_t size)
{
    gnutls_datum_t pem;
    assert_int_equal(gnutls_load_file(path, &pem), 0);
    gnutls_x509_crt_t crt;
    assert_int_equal(gnutls_x509_crt_init(&crt), 0);
    assert_int_equal(gnutls_x509_crt_import(crt, &pem, GNUTLS_X509_FMT_PEM), 0);
    gnutls_datum_t der;
    assert_int_equal(gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_DER, &der), 0);
    unsigned char md[32];
    assert_int_equal(gnutls_hash_fast(GNUTLS_DIG_SHA256, der.data, der.size, md), 0);
    size_t o = 0;
    for (int i = 0; i < 32; i++)
        o += (size_t)snprintf(out + o, size - o, i ? ":%02X" : "%02X", md[i]);
    gnutls_free(der.data);
    gnutls_x509_crt_deinit(crt);
    gnutls_free(pem.data);
}

/* First start makes <data_dir>/tls/server.{crt,key}; the second start reuses them. */
static void test_self_signed_reuse(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f);
    char err[1024], fp1[128], fp2[128], fpf[128], path[512];
    struct collect_tls *t = NULL;
    int rc = collect_tls_start(&f.cfg, &f.q, &f.pool, &f.st, &t, err, sizeof(err));
    if (rc != 0) fail_msg("collect_tls_start: %s", err);
    snprintf(fp1, sizeof(fp1), "%s", collect_tls_fingerprint(t));
    collect_tls_stop(t);
    assert_int_equal(strlen(fp1), 95);

    struct stat sb;
    snprintf(path, sizeof(path), "%s/tls/server.key", f.dir);
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    server_cert_path(&f, path, sizeof(path));
    assert_int_equal(stat(path, &sb), 0);
    fingerprint_of_file(path, fpf, sizeof(fpf));
    assert_string_equal(fp1, fpf); /* the logged fingerprint is the file's */

    t = NULL;
    rc = collect_tls_start(&f.cfg, &f.q, &f.pool, &f.st, &t, err, sizeof(err));
    if (rc != 0) fail_msg("collect_tls_start (2nd): %s", err);
    snprintf(fp2, sizeof(fp2), "%s", collect_tls_fingerprint(t));
    collect_tls_stop(t);
    assert_string_equal(fp1, fp2);

    /* the certificate names the host, localhost and the loopback addresses */
    gnutls_datum_t pem;
    gnutls_x509_crt_t crt;
    assert_int_equal(gnutls_load_file(path, &pem), 0);
    assert_int_equal(gnutls_x509_crt_init(&crt), 0);
    assert_int_equal(gnutls_x509_crt_import(crt, &pem, GNUTLS_X509_FMT_PEM), 0);
    assert_true(gnutls_x509_crt_check_hostname(crt, "localhost"));
    assert_true(gnutls_x509_crt_check_ip(crt, (const unsigned char *)"\x7f\0\0\x01", 4, 0));
    char host[256] = "";
    gethostname(host, sizeof(host) - 1);
    if (host[0]) assert_true(gnutls_x509_crt_check_hostname(crt, host));
    time_t exp = gnutls_x509_crt_get_expiration_time(crt);
    assert_true(exp > time(NULL) + (time_t)3650 * 86400 - 86400 * 2);
    gnutls_x509_crt_deinit(crt);
    gnutls_free(pem.data);
    fixture_free(&f);
}

/* Octet-counted and LF-framed messages over one session, a long one across records. */
static void test_messages(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f);
    fixture_start(&f);
    char ca[512];
    server_cert_path(&f, ca, sizeof(ca));

    struct client c;
    int hs = client_open(&c, f.port, ca, NULL, NULL);
    if (hs < 0) fail_msg("handshake: %s", gnutls_strerror(hs));
    char m[256], out[512];
    for (int i = 0; i < 100; i++) { /* octet counting, one record each */
        int n = snprintf(m, sizeof(m), "<134>1 2026-11-25T10:00:00Z h%d app - - - oc %d", i, i);
        int k = snprintf(out, sizeof(out), "%d %s", n, m);
        client_send(&c, out, (size_t)k);
    }
    /* LF framing, many messages in one record, and one message split over two records */
    char lf[8192];
    size_t o = 0;
    for (int i = 0; i < 100; i++)
        o += (size_t)snprintf(lf + o, sizeof(lf) - o, "<13>Nov 25 10:00:00 h app: lf %d\n", i);
    client_send(&c, lf, o);
    client_send_str(&c, "25 <13>Nov 25 10:00:00 h a");
    client_send_str(&c, "pp");
    /* 40000 bytes octet-counted: spans several TLS records */
    static char big[40100];
    int hdr = snprintf(big, sizeof(big), "40000 ");
    memset(big + hdr, 'x', 40000);
    client_send(&c, big, (size_t)hdr + 40000);
    client_send_str(&c, "<13>Nov 25 10:00:00 h app: unterminated tail"); /* emitted at close */
    client_close(&c, true);

    struct got g = {0};
    collect_events(&f, 203, 5000, &g);
    assert_int_equal(g.n, 203);
    assert_true(g.from_loopback);
    for (int i = 0; i < 100; i++) {
        snprintf(m, sizeof(m), "<134>1 2026-11-25T10:00:00Z h%d app - - - oc %d", i, i);
        assert_string_equal(g.msg[i], m);
    }
    for (int i = 0; i < 100; i++) {
        snprintf(m, sizeof(m), "<13>Nov 25 10:00:00 h app: lf %d", i);
        assert_string_equal(g.msg[100 + i], m);
    }
    assert_string_equal(g.msg[200], "<13>Nov 25 10:00:00 h app");
    assert_int_equal(g.len[201], 40000);
    assert_true(g.msg[201][0] == 'x' && g.msg[201][39999] == 'x');
    assert_string_equal(g.msg[202], "<13>Nov 25 10:00:00 h app: unterminated tail");
    assert_true(wait_stat(&f.st.tls_received, 203, 1000));
    assert_int_equal(atomic_load(&f.st.tls_connections), 1);
    assert_true(wait_zero(&f.st.tls_active, 1000));
    assert_int_equal(atomic_load(&f.st.tls_handshake_failures), 0);
    got_free(&g);
    fixture_free(&f);
}

/* A partial batch goes out by itself within ~100 ms, while the connection stays open. */
static void test_partial_batch_flush(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f);
    fixture_start(&f);
    char ca[512];
    server_cert_path(&f, ca, sizeof(ca));
    struct client c;
    int hs = client_open(&c, f.port, ca, NULL, NULL);
    if (hs < 0) fail_msg("handshake: %s", gnutls_strerror(hs));
    client_send_str(&c, "11 <13>one msg");
    int64_t t0 = strm_mono_ms();
    struct got g = {0};
    collect_events(&f, 1, 2000, &g);
    assert_int_equal(g.n, 1);
    assert_true(strm_mono_ms() - t0 < 1000);
    assert_string_equal(g.msg[0], "<13>one msg");
    got_free(&g);
    client_close(&c, false);
    fixture_free(&f);
}

/* require_client_cert: no cert and a cert from another CA fail; the CA's client gets in. */
static void test_client_cert_required(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f);
    /* the rogue client's CA has the real CA's name (so the client presents its certificate)
       but another key */
    struct keypair cakp, fakeca, good, rogue;
    make_cert(&cakp, "test CA", NULL, true);
    make_cert(&fakeca, "test CA", NULL, true);
    make_cert(&good, "client.example", &cakp, false);
    make_cert(&rogue, "rogue.example", &fakeca, false);
    char ca_crt[512], ca_key[512], good_crt[512], good_key[512], rogue_crt[512], rogue_key[512];
    write_pem(f.dir, "ca", &cakp, ca_crt, ca_key, sizeof(ca_crt));
    write_pem(f.dir, "good", &good, good_crt, good_key, sizeof(good_crt));
    write_pem(f.dir, "rogue", &rogue, rogue_crt, rogue_key, sizeof(rogue_crt));
    snprintf(f.cfg.tls_client_ca_file, sizeof(f.cfg.tls_client_ca_file), "%s", ca_crt);
    f.cfg.tls_require_client_cert = true;
    fixture_start(&f);
    char srv[512];
    server_cert_path(&f, srv, sizeof(srv));

    struct client c;
    int hs = client_open(&c, f.port, srv, NULL, NULL);
    assert_true(client_rejected(&c, hs));
    client_close(&c, false);
    assert_true(wait_stat(&f.st.tls_handshake_failures, 1, 2000));

    hs = client_open(&c, f.port, srv, rogue_crt, rogue_key);
    assert_true(client_rejected(&c, hs));
    client_close(&c, false);
    assert_true(wait_stat(&f.st.tls_handshake_failures, 2, 2000));

    hs = client_open(&c, f.port, srv, good_crt, good_key);
    if (hs < 0) fail_msg("handshake with the CA's client certificate: %s", gnutls_strerror(hs));
    client_send_str(&c, "20 <13>with a good cert<13>lf too\n");
    client_close(&c, true);
    struct got g = {0};
    collect_events(&f, 2, 3000, &g);
    assert_int_equal(g.n, 2);
    assert_string_equal(g.msg[0], "<13>with a good cert");
    assert_string_equal(g.msg[1], "<13>lf too");
    got_free(&g);
    collect_events(&f, 1, 300, &g); /* nothing from the rejected ones */
    assert_int_equal(g.n, 0);
    assert_int_equal(atomic_load(&f.st.tls_handshake_failures), 2);

    keypair_free(&cakp);
    keypair_free(&fakeca);
    keypair_free(&good);
    keypair_free(&rogue);
    fixture_free(&f);
}

/* A CA file without require: clients without a cert get in; a cert from another CA does not. */
static void test_client_cert_optional(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f);
    /* the rogue client's CA has the real CA's name (so the client presents its certificate)
       but another key */
    struct keypair cakp, fakeca, good, rogue;
    make_cert(&cakp, "test CA", NULL, true);
    make_cert(&fakeca, "test CA", NULL, true);
    make_cert(&good, "client.example", &cakp, false);
    make_cert(&rogue, "rogue.example", &fakeca, false);
    char ca_crt[512], ca_key[512], good_crt[512], good_key[512], rogue_crt[512], rogue_key[512];
    write_pem(f.dir, "ca", &cakp, ca_crt, ca_key, sizeof(ca_crt));
    write_pem(f.dir, "good", &good, good_crt, good_key, sizeof(good_crt));
    write_pem(f.dir, "rogue", &rogue, rogue_crt, rogue_key, sizeof(rogue_crt));
    snprintf(f.cfg.tls_client_ca_file, sizeof(f.cfg.tls_client_ca_file), "%s", ca_crt);
    f.cfg.tls_require_client_cert = false;
    fixture_start(&f);
    char srv[512];
    server_cert_path(&f, srv, sizeof(srv));

    struct client c;
    int hs = client_open(&c, f.port, srv, NULL, NULL);
    if (hs < 0) fail_msg("handshake without a certificate: %s", gnutls_strerror(hs));
    client_send_str(&c, "<13>anonymous\n");
    client_close(&c, true);
    hs = client_open(&c, f.port, srv, good_crt, good_key);
    if (hs < 0) fail_msg("handshake with a good certificate: %s", gnutls_strerror(hs));
    client_send_str(&c, "<13>good\n");
    client_close(&c, true);
    struct got g = {0};
    collect_events(&f, 2, 3000, &g);
    assert_int_equal(g.n, 2);
    got_free(&g);

    hs = client_open(&c, f.port, srv, rogue_crt, rogue_key);
    assert_true(client_rejected(&c, hs));
    client_close(&c, false);
    assert_true(wait_stat(&f.st.tls_handshake_failures, 1, 2000));
    collect_events(&f, 1, 300, &g);
    assert_int_equal(g.n, 0);

    keypair_free(&cakp);
    keypair_free(&fakeca);
    keypair_free(&good);
    keypair_free(&rogue);
    fixture_free(&f);
}

/*
 * Plaintext syslog on the TLS port is a counted handshake failure; a connection that never
 * says anything does not hold up others; broken records after the handshake are counted;
 * and the listener serves a good client after all of it.
 */
static void test_garbage_and_stalls(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f);
    fixture_start(&f);
    char ca[512];
    server_cert_path(&f, ca, sizeof(ca));

    int stalled = connect_tcp(f.port); /* never sends a byte */
    int half = connect_tcp(f.port);    /* sends half a ClientHello, then nothing */
    assert_int_equal(write(half, "\x16\x03\x01\x02\x00\x01\x00\x01", 8), 8);

    int plain = connect_tcp(f.port);
    const char *text = "<13>Nov 25 10:00:00 host app: this is not TLS\n";
    assert_int_equal(write(plain, text, strlen(text)), (ssize_t)strlen(text));
    assert_true(wait_stat(&f.st.tls_handshake_failures, 1, 3000));
    char buf[64];
    ssize_t n = read(plain, buf, sizeof(buf)); /* an alert or EOF: the server let go */
    (void)n;
    close(plain);

    /* 64 KiB of random bytes */
    int junk = connect_tcp(f.port);
    static unsigned char rnd[65536];
    for (size_t i = 0; i < sizeof(rnd); i++)
        rnd[i] = (unsigned char)(rand() & 0xff);
    rnd[0] = 0x16; /* looks like a handshake record */
    (void)!write(junk, rnd, sizeof(rnd));
    assert_true(wait_stat(&f.st.tls_handshake_failures, 2, 3000));
    close(junk);

    /* a good client meanwhile */
    struct client c;
    int hs = client_open(&c, f.port, ca, NULL, NULL);
    if (hs < 0) fail_msg("handshake next to stalled ones: %s", gnutls_strerror(hs));
    client_send_str(&c, "9 <13>first");
    struct got g = {0};
    collect_events(&f, 1, 2000, &g);
    assert_int_equal(g.n, 1);
    assert_string_equal(g.msg[0], "<13>first");
    got_free(&g);

    /* after the handshake: an application record with garbage inside */
    static const unsigned char bad_record[] = {
        0x17, 0x03, 0x03, 0x00, 0x20, 1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14,
        15,   16,   17,   18,   19,   20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
    assert_int_equal(write(c.fd, bad_record, sizeof(bad_record)), (ssize_t)sizeof(bad_record));
    assert_true(wait_stat(&f.st.tls_errors, 1, 3000));
    client_close(&c, false);

    /* a record cut short by the peer vanishing */
    hs = client_open(&c, f.port, ca, NULL, NULL);
    if (hs < 0) fail_msg("handshake: %s", gnutls_strerror(hs));
    client_send_str(&c, "<13>before the cut\n");
    assert_int_equal(write(c.fd, "\x17\x03\x03\x10\x00\x01\x02", 7), 7);
    client_close(&c, false);
    collect_events(&f, 1, 2000, &g);
    assert_int_equal(g.n, 1);
    assert_string_equal(g.msg[0], "<13>before the cut");
    got_free(&g);
    assert_true(wait_stat(&f.st.tls_errors, 2, 3000));

    /* still serving; the stalled connections are still open and counted active */
    hs = client_open(&c, f.port, ca, NULL, NULL);
    if (hs < 0) fail_msg("handshake at the end: %s", gnutls_strerror(hs));
    client_send_str(&c, "<13>last\n");
    client_close(&c, true);
    collect_events(&f, 1, 2000, &g);
    assert_int_equal(g.n, 1);
    assert_string_equal(g.msg[0], "<13>last");
    got_free(&g);
    assert_true(atomic_load(&f.st.tls_active) >= 2);
    close(stalled);
    close(half);
    fixture_free(&f);
}

/* max clients: connections beyond syslog.tcp_max_clients are closed at once. */
static void test_max_clients(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f);
    f.cfg.syslog_tcp_max_clients = 2;
    fixture_start(&f);
    int a = connect_tcp(f.port), b = connect_tcp(f.port);
    assert_true(wait_stat(&f.st.tls_active, 2, 2000));
    int x = connect_tcp(f.port);
    char buf[8];
    assert_int_equal(read(x, buf, sizeof(buf)), 0); /* closed by the server */
    close(x);
    close(a);
    close(b);
    fixture_free(&f);
}

/* A handshake that does not finish within 10 s is dropped and counted. */
static void test_handshake_timeout(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f);
    fixture_start(&f);
    int stalled = connect_tcp(f.port);
    struct timeval tv = {14, 0};
    setsockopt(stalled, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    int64_t t0 = strm_mono_ms();
    char buf[8];
    assert_int_equal(read(stalled, buf, sizeof(buf)), 0); /* closed by the server */
    int64_t took = strm_mono_ms() - t0;
    assert_true(took >= 9000 && took <= 12500);
    assert_true(wait_stat(&f.st.tls_handshake_failures, 1, 1000));
    assert_true(wait_zero(&f.st.tls_active, 1000));
    close(stalled);
    fixture_free(&f);
}

/* Configuration errors name the key. */
static void test_config_errors(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f);
    char err[1024];
    struct collect_tls *t = NULL;

    f.cfg.tls_require_client_cert = true;
    assert_int_not_equal(collect_tls_start(&f.cfg, &f.q, &f.pool, &f.st, &t, err, sizeof(err)), 0);
    assert_null(t);
    assert_non_null(strstr(err, "tls.client_ca_file"));
    f.cfg.tls_require_client_cert = false;

    snprintf(f.cfg.tls_cert_file, sizeof(f.cfg.tls_cert_file), "%s/missing.crt", f.dir);
    assert_int_not_equal(collect_tls_start(&f.cfg, &f.q, &f.pool, &f.st, &t, err, sizeof(err)), 0);
    assert_non_null(strstr(err, "tls.key_file"));
    snprintf(f.cfg.tls_key_file, sizeof(f.cfg.tls_key_file), "%s/missing.key", f.dir);
    assert_int_not_equal(collect_tls_start(&f.cfg, &f.q, &f.pool, &f.st, &t, err, sizeof(err)), 0);
    assert_non_null(strstr(err, "missing.crt"));
    f.cfg.tls_cert_file[0] = f.cfg.tls_key_file[0] = '\0';

    snprintf(f.cfg.tls_client_ca_file, sizeof(f.cfg.tls_client_ca_file), "%s/nope.pem", f.dir);
    assert_int_not_equal(collect_tls_start(&f.cfg, &f.q, &f.pool, &f.st, &t, err, sizeof(err)), 0);
    assert_non_null(strstr(err, "tls.client_ca_file"));
    f.cfg.tls_client_ca_file[0] = '\0';

    /* a port in use */
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(f.port)};
    sa.sin_addr.s_addr = htonl(0x7f000001u);
    if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) == 0 && listen(s, 1) == 0) {
        struct collect *c = NULL;
        assert_int_not_equal(collect_start(&f.cfg, &f.q, &f.pool, &f.st, &c, err, sizeof(err)), 0);
        assert_null(c);
        char want[128];
        snprintf(want, sizeof(want), "cannot bind syslog TLS listener 127.0.0.1:%u: ", f.port);
        assert_non_null(strstr(err, want));
        assert_non_null(strstr(err, "syslog.tls"));
    }
    close(s);
    fixture_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_self_signed_reuse),    cmocka_unit_test(test_messages),
        cmocka_unit_test(test_partial_batch_flush),  cmocka_unit_test(test_client_cert_required),
        cmocka_unit_test(test_client_cert_optional), cmocka_unit_test(test_garbage_and_stalls),
        cmocka_unit_test(test_max_clients),          cmocka_unit_test(test_handshake_timeout),
        cmocka_unit_test(test_config_errors),
    };
    strm_log_set_level(getenv("TLS_DEBUG") ? STRM_LOG_DEBUG : STRM_LOG_ERROR);
    cmocka_set_message_output(CM_OUTPUT_TAP);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
