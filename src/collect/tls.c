/*
 * tls.c - syslog over TLS (RFC 5425, port 6514): one thread serves every TLS listener and
 * every TLS client with epoll and non-blocking GnuTLS sessions, and turns the decrypted
 * stream into raw events exactly as the plain TCP receiver does.
 *
 * Data path: accept -> gnutls handshake -> gnutls_record_recv -> the client's RFC 6587
 * framer (octet counting as RFC 5425 mandates; LF/NUL trailers accepted because many
 * senders use them over TLS too) -> the thread's current batch (collectorip = the peer) ->
 * strm_queue_push. The push blocks when the parser queue is full, so like TCP a slow
 * pipeline stops this thread from reading and the kernel's TCP windows slow the senders;
 * nothing is dropped. A partly filled batch goes out once its first event is 100 ms old.
 *
 * Handshakes are driven by epoll readiness: each call to gnutls_handshake does what the
 * socket allows and returns GNUTLS_E_AGAIN; the session says whether it waits to read or to
 * write, and the client's epoll mask follows. A stalled or slow handshake therefore never
 * blocks another client; one that has not finished within TLS_HANDSHAKE_MS is dropped.
 * Everything a peer can do wrong (plaintext on the TLS port, a bad or missing client
 * certificate, truncated records, a connection that vanishes mid-record) ends that one
 * connection, is counted (tls_handshake_failures before the handshake completes,
 * tls_errors after) and is logged with the peer's address: as a warning at most once per
 * TLS_WARN_MS per kind of problem, otherwise at debug level.
 *
 * Certificates: tls.cert_file + tls.key_file when set. Otherwise a self-signed ECDSA P-256
 * certificate (CN = host name; SAN host name, localhost, 127.0.0.1, ::1; 10 years) is made at
 * the first start into <data_dir>/tls/server.crt and server.key (0600, written to temporary
 * files and renamed, so a crash never leaves half a key) and reused afterwards. The SHA-256
 * fingerprint of the certificate in use is logged at start so operators can pin it.
 * tls.client_ca_file gives the CAs client certificates are checked against; with
 * tls.require_client_cert a client without a valid certificate fails the handshake, without
 * it a certificate is asked for (when a CA file is set) and checked only if one is sent.
 * Protocol versions: GnuTLS "NORMAL" without SSL 3.0, TLS 1.0 and TLS 1.1.
 *
 * Memory: the credentials and priorities are made once at start; each connection owns a
 * GnuTLS session and a framer buffer (STRM_MAX_MSG); events go into pooled batches, with no
 * allocation per message. At most cfg->syslog_tcp_max_clients connections at a time (TLS
 * counted on its own); further connections are accepted and closed at once.
 */
#include "collect/collect.h"
#include "core/net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define TLS_READ_SIZE (64 * 1024)
#define TLS_FLUSH_MS 100
#define TLS_HANDSHAKE_MS 10000
#define TLS_WARN_MS 10000
#define TLS_RECORDS_PER_WAKE 64 /* records read from one client before serving the others */
#define TLS_MAX_SOCKETS (STRM_MAX_LISTENERS * 4)
#define TLS_PRIORITIES "NORMAL:-VERS-SSL3.0:-VERS-TLS1.0:-VERS-TLS1.1"
#define TLS_CERT_DAYS 3653

enum tls_tag_kind { TLS_TAG_LISTEN, TLS_TAG_CLIENT };

/* What an epoll event points to; first member of struct tls_client too. */
struct tls_tag {
    enum tls_tag_kind kind;
    int fd;
};

struct tls_client {
    struct tls_tag tag;
    gnutls_session_t session;
    struct strm_ip peer;
    char peer_text[INET6_ADDRSTRLEN + 8]; /* "addr:port" for log lines */
    struct syslog_framer framer;
    int64_t deadline;       /* mono ms: the handshake must be done by then; 0 once done */
    uint32_t events;        /* current epoll mask */
    bool pending;           /* read was capped: more may wait in the session or the socket */
    unsigned verify_status; /* why the client certificate was rejected (gnutls status bits) */
    struct tls_client *prev, *next;
};

/* Rate limiting of one kind of warning. */
struct tls_warn {
    int64_t last_ms;
    uint64_t suppressed;
};

struct collect_tls {
    struct strm_queue *out;
    struct strm_pool *pool;
    struct strm_stats *stats;
    atomic_bool stop;
    pthread_t thread;
    bool running;

    gnutls_certificate_credentials_t cred;
    gnutls_priority_t prio;
    gnutls_certificate_request_t request;
    char fingerprint[96];

    struct tls_tag listeners[TLS_MAX_SOCKETS];
    int n_listeners;

    /* thread state */
    int max_clients;
    struct tls_client *clients;
    int n_clients;
    int n_handshaking;
    int n_pending;
    struct strm_batch *batch;
    int64_t batch_t0; /* mono ms of the first event in batch */
    int64_t now;      /* wall ms of the current read: starttime */
    struct tls_client *cur;
    uint64_t frames, truncated;
    struct tls_warn warn_handshake, warn_error, warn_refused;
    uint64_t refused;
};

/* ---------------------------------------------------------------- helpers */

/* A problem caused by a peer: a warning at most once per TLS_WARN_MS, else a debug line. */
static void tls_problem(struct tls_warn *w, const char *what, const struct tls_client *cl,
                        const char *detail)
{
    int64_t now = strm_mono_ms();
    if (w->last_ms == 0 || now - w->last_ms >= TLS_WARN_MS) {
        if (w->suppressed)
            LOG_WARN("collect", "syslog TLS %s from %s: %s (%llu more since the last warning)",
                     what, cl->peer_text, detail, (unsigned long long)w->suppressed);
        else
            LOG_WARN("collect", "syslog TLS %s from %s: %s", what, cl->peer_text, detail);
        w->last_ms = now;
        w->suppressed = 0;
    } else {
        w->suppressed++;
        LOG_DEBUG("collect", "syslog TLS %s from %s: %s", what, cl->peer_text, detail);
    }
}

static int64_t tls_batch_wait(const struct collect_tls *t)
{
    if (!t->batch || t->batch->count == 0) return TLS_FLUSH_MS;
    int64_t age = strm_mono_ms() - t->batch_t0;
    return age >= TLS_FLUSH_MS ? 0 : TLS_FLUSH_MS - age;
}

/* ---------------------------------------------------------------- certificates */

static int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode, char *err,
                             size_t errlen)
{
    char tmp[4200];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0) {
        snprintf(err, errlen, "cannot create %s: %s", tmp, strerror(errno));
        return STRM_ERR_IO;
    }
    (void)fchmod(fd, mode); /* the umask must not widen nor narrow it */
    const char *p = data;
    size_t left = len;
    while (left > 0) {
        ssize_t n = write(fd, p, left);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
            close(fd);
            unlink(tmp);
            return STRM_ERR_IO;
        }
        p += n;
        left -= (size_t)n;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
        unlink(tmp);
        return STRM_ERR_IO;
    }
    if (rename(tmp, path) != 0) {
        snprintf(err, errlen, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
        unlink(tmp);
        return STRM_ERR_IO;
    }
    return 0;
}

/*
 * Makes a self-signed server certificate and its key (ECDSA P-256) and writes them as PEM.
 * The key is written first: a crash between the two renames leaves no certificate, and the
 * next start makes a new pair.
 */
static int tls_make_self_signed(const char *crt_path, const char *key_path, char *err,
                                size_t errlen)
{
    gnutls_x509_privkey_t key = NULL;
    gnutls_x509_crt_t crt = NULL;
    gnutls_datum_t kpem = {NULL, 0}, cpem = {NULL, 0};
    int rc = STRM_ERR_INVAL, g;
    const char *step = "";

    char host[256] = "";
    if (gethostname(host, sizeof(host) - 1) != 0 || host[0] == '\0')
        snprintf(host, sizeof(host), "localhost");

#define TRY(call, what)                                                                            \
    do {                                                                                           \
        step = what;                                                                               \
        if ((g = (call)) < 0) goto fail;                                                           \
    } while (0)

    TRY(gnutls_x509_privkey_init(&key), "key init");
    TRY(gnutls_x509_privkey_generate(key, GNUTLS_PK_ECDSA,
                                     GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0),
        "key generation");
    TRY(gnutls_x509_crt_init(&crt), "certificate init");
    TRY(gnutls_x509_crt_set_version(crt, 3), "version");
    unsigned char serial[16];
    TRY(gnutls_rnd(GNUTLS_RND_NONCE, serial, sizeof(serial)), "serial");
    serial[0] &= 0x7f; /* positive */
    serial[0] |= 0x01; /* and without a leading zero byte */
    TRY(gnutls_x509_crt_set_serial(crt, serial, sizeof(serial)), "serial");
    time_t now = time(NULL);
    TRY(gnutls_x509_crt_set_activation_time(crt, now - 3600), "activation time");
    TRY(gnutls_x509_crt_set_expiration_time(crt, now + (time_t)TLS_CERT_DAYS * 86400),
        "expiration time");
    TRY(gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, host,
                                      (unsigned)strlen(host)),
        "common name");
    TRY(gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_ORGANIZATION_NAME, 0, "openstrm", 8),
        "organization");
    TRY(gnutls_x509_crt_set_key(crt, key), "public key");
    TRY(gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, host, (unsigned)strlen(host),
                                             GNUTLS_FSAN_APPEND),
        "subject alt name");
    if (strcmp(host, "localhost") != 0)
        TRY(gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, "localhost", 9,
                                                 GNUTLS_FSAN_APPEND),
            "subject alt name");
    static const unsigned char v4[4] = {127, 0, 0, 1};
    static const unsigned char v6[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    TRY(gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, v4, 4, GNUTLS_FSAN_APPEND),
        "subject alt name");
    TRY(gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, v6, 16, GNUTLS_FSAN_APPEND),
        "subject alt name");
    TRY(gnutls_x509_crt_set_basic_constraints(crt, 0, -1), "basic constraints");
    TRY(gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_DIGITAL_SIGNATURE), "key usage");
    TRY(gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_SERVER, 0), "key purpose");
    unsigned char kid[64];
    size_t kid_len = sizeof(kid);
    TRY(gnutls_x509_crt_get_key_id(crt, 0, kid, &kid_len), "key id");
    TRY(gnutls_x509_crt_set_subject_key_id(crt, kid, kid_len), "key id");
    TRY(gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA256, 0), "signature");
    TRY(gnutls_x509_privkey_export2_pkcs8(key, GNUTLS_X509_FMT_PEM, NULL, GNUTLS_PKCS_PLAIN, &kpem),
        "key export");
    TRY(gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &cpem), "certificate export");
#undef TRY

    rc = write_file_atomic(key_path, kpem.data, kpem.size, 0600, err, errlen);
    if (rc == 0) rc = write_file_atomic(crt_path, cpem.data, cpem.size, 0644, err, errlen);
    if (rc == 0)
        LOG_INFO("collect", "made a self-signed TLS certificate for %s (10 years): %s", host,
                 crt_path);
    goto out;
fail:
    snprintf(err, errlen, "cannot make a self-signed TLS certificate (%s): %s", step,
             gnutls_strerror(g));
    rc = STRM_ERR_INVAL;
out:
    gnutls_free(kpem.data);
    gnutls_free(cpem.data);
    if (crt) gnutls_x509_crt_deinit(crt);
    if (key) gnutls_x509_privkey_deinit(key);
    return rc;
}

/* Where the certificate and key come from: the config, or <data_dir>/tls made on demand. */
static int tls_cert_paths(const struct strm_config *cfg, char *crt, char *key, size_t size,
                          char *err, size_t errlen)
{
    if (cfg->tls_cert_file[0] || cfg->tls_key_file[0]) {
        if (!cfg->tls_cert_file[0] || !cfg->tls_key_file[0]) {
            snprintf(err, errlen,
                     "tls.cert_file and tls.key_file must be set together (or neither, for a "
                     "self-signed certificate in <data_dir>/tls)");
            return STRM_ERR_INVAL;
        }
        snprintf(crt, size, "%s", cfg->tls_cert_file);
        snprintf(key, size, "%s", cfg->tls_key_file);
        return 0;
    }
    char dir[4200];
    snprintf(dir, sizeof(dir), "%s/tls", cfg->data_dir);
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
        return STRM_ERR_IO;
    }
    int n1 = snprintf(crt, size, "%s/server.crt", dir);
    int n2 = snprintf(key, size, "%s/server.key", dir);
    if (n1 < 0 || n2 < 0 || (size_t)n1 >= size || (size_t)n2 >= size) {
        snprintf(err, errlen, "data_dir path too long for %s/server.key", dir);
        return STRM_ERR_INVAL;
    }
    bool have_crt = access(crt, F_OK) == 0, have_key = access(key, F_OK) == 0;
    if (have_crt && have_key) return 0;
    if (have_crt || have_key)
        LOG_WARN("collect", "%s without %s: making a new self-signed pair", have_crt ? crt : key,
                 have_crt ? key : crt);
    return tls_make_self_signed(crt, key, err, errlen);
}

static int tls_fingerprint(gnutls_certificate_credentials_t cred, char *out, size_t size, char *err,
                           size_t errlen)
{
    gnutls_datum_t der;
    int g = gnutls_certificate_get_crt_raw(cred, 0, 0, &der);
    unsigned char md[32];
    if (g == 0) g = gnutls_hash_fast(GNUTLS_DIG_SHA256, der.data, der.size, md);
    if (g < 0) {
        snprintf(err, errlen, "cannot read back the TLS certificate: %s", gnutls_strerror(g));
        return STRM_ERR_INVAL;
    }
    size_t o = 0;
    for (int i = 0; i < 32 && o + 3 < size; i++)
        o += (size_t)snprintf(out + o, size - o, i ? ":%02X" : "%02X", md[i]);
    return 0;
}

/*
 * Checks a client certificate during the handshake, when the client sent one. A client
 * without one gets here only when certificates are optional (GNUTLS_CERT_REQUIRE fails the
 * handshake before); it is let in. The chain must lead to a CA of tls.client_ca_file and be
 * valid now; names are not checked (any client the CA vouches for may send).
 */
static int tls_verify_client(gnutls_session_t session)
{
    struct tls_client *cl = gnutls_session_get_ptr(session);
    unsigned n = 0;
    if (!gnutls_certificate_get_peers(session, &n) || n == 0) return 0;
    unsigned status = 0;
    int g = gnutls_certificate_verify_peers2(session, &status);
    if (g < 0) status = GNUTLS_CERT_INVALID;
    if (status == 0) return 0;
    if (cl) cl->verify_status = status;
    return GNUTLS_E_CERTIFICATE_ERROR;
}

static int tls_setup_credentials(struct collect_tls *t, const struct strm_config *cfg, char *err,
                                 size_t errlen)
{
    char crt[4200], key[4200];
    int rc = tls_cert_paths(cfg, crt, key, sizeof(crt), err, errlen);
    if (rc != 0) return rc;
    int g = gnutls_certificate_allocate_credentials(&t->cred);
    if (g < 0) {
        snprintf(err, errlen, "TLS credentials: %s", gnutls_strerror(g));
        return STRM_ERR_NOMEM;
    }
    g = gnutls_certificate_set_x509_key_file2(t->cred, crt, key, GNUTLS_X509_FMT_PEM, NULL, 0);
    if (g < 0) {
        snprintf(err, errlen, "cannot load the TLS certificate %s with key %s: %s%s", crt, key,
                 gnutls_strerror(g),
                 cfg->tls_cert_file[0] ? " (check tls.cert_file and tls.key_file)" : "");
        return STRM_ERR_INVAL;
    }
    rc = tls_fingerprint(t->cred, t->fingerprint, sizeof(t->fingerprint), err, errlen);
    if (rc != 0) return rc;
    LOG_INFO("collect", "TLS server certificate %s, SHA-256 fingerprint %s", crt, t->fingerprint);

    if (cfg->tls_require_client_cert && !cfg->tls_client_ca_file[0]) {
        snprintf(err, errlen,
                 "tls.require_client_cert is true but tls.client_ca_file is not set: client "
                 "certificates cannot be checked");
        return STRM_ERR_INVAL;
    }
    t->request = GNUTLS_CERT_IGNORE;
    if (cfg->tls_client_ca_file[0]) {
        g = gnutls_certificate_set_x509_trust_file(t->cred, cfg->tls_client_ca_file,
                                                   GNUTLS_X509_FMT_PEM);
        if (g <= 0) {
            snprintf(err, errlen, "tls.client_ca_file %s: %s", cfg->tls_client_ca_file,
                     g == 0 ? "no certificate in the file" : gnutls_strerror(g));
            return STRM_ERR_INVAL;
        }
        gnutls_certificate_set_verify_function(t->cred, tls_verify_client);
        t->request = cfg->tls_require_client_cert ? GNUTLS_CERT_REQUIRE : GNUTLS_CERT_REQUEST;
        LOG_INFO("collect", "TLS client certificates %s, checked against %d CA(s) from %s",
                 cfg->tls_require_client_cert ? "required" : "optional", g,
                 cfg->tls_client_ca_file);
    }
    const char *where = NULL;
    g = gnutls_priority_init2(&t->prio, TLS_PRIORITIES, &where, 0);
    if (g < 0) {
        t->prio = NULL;
        snprintf(err, errlen, "TLS priorities \"%s\": %s at \"%s\"", TLS_PRIORITIES,
                 gnutls_strerror(g), where ? where : "");
        return STRM_ERR_INVAL;
    }
    return 0;
}

/* ---------------------------------------------------------------- listeners */

/* Binds one syslog.tls entry ("" host gives 0.0.0.0 and, when available, ::). */
static int tls_listen(struct collect_tls *t, const struct strm_listen *l, char *err, size_t errlen)
{
    int fds[TLS_MAX_SOCKETS], n = 0;
    int rc = strm_listen_open(l, SOCK_STREAM, 0, false, "collect", "syslog TLS", "syslog.tls", fds,
                              &n, TLS_MAX_SOCKETS - t->n_listeners, err, errlen);
    for (int k = 0; k < n; k++) {
        t->listeners[t->n_listeners].kind = TLS_TAG_LISTEN;
        t->listeners[t->n_listeners].fd = fds[k];
        t->n_listeners++;
    }
    return rc;
}

/* ---------------------------------------------------------------- batches */

static void tls_flush(struct collect_tls *t)
{
    struct strm_batch *b = t->batch;
    t->batch = NULL;
    if (!b) return;
    if (b->count == 0) {
        strm_pool_put(t->pool, b);
        return;
    }
    if (strm_queue_push(t->out, b) != 0) { /* closed: shutting down */
        LOG_DEBUG("collect", "queue closed, %u TLS messages not delivered", b->count);
        strm_pool_put(t->pool, b);
    }
}

static void tls_frame(const char *msg, size_t len, bool truncated, void *arg)
{
    struct collect_tls *t = arg;
    if (t->batch && t->batch->count >= t->batch->cap) tls_flush(t);
    if (!t->batch) {
        t->batch = strm_pool_get(t->pool);
        if (!t->batch) return; /* out of memory: the message is lost */
    }
    struct strm_batch *b = t->batch;
    struct strm_event *ev = strm_batch_add(b);
    if (!ev) return;
    ev->payload = strm_arena_strdup(&b->arena, msg, len);
    if (!ev->payload.p) {
        b->count--;
        return;
    }
    if (b->count == 1) t->batch_t0 = strm_mono_ms();
    ev->starttime = t->now;
    ev->collectorip = t->cur->peer;
    if (truncated) {
        ev->flags |= STRM_EV_TRUNCATED;
        t->truncated++;
    }
    t->frames++;
}

static void tls_count(struct collect_tls *t)
{
    if (t->frames) STRM_STAT_ADD(t->stats, tls_received, t->frames);
    if (t->truncated) STRM_STAT_ADD(t->stats, truncated, t->truncated);
    t->frames = t->truncated = 0;
}

/* ---------------------------------------------------------------- clients */

static void tls_close(struct collect_tls *t, int ep, struct tls_client *cl)
{
    if (cl->deadline == 0) {
        t->cur = cl;
        t->now = strm_now_ms();
        syslog_framer_finish(&cl->framer, tls_frame, t);
        tls_count(t);
        /* One try at close_notify; a peer that does not read it loses nothing. */
        (void)gnutls_bye(cl->session, GNUTLS_SHUT_WR);
    } else {
        t->n_handshaking--;
    }
    if (cl->pending) t->n_pending--;
    (void)epoll_ctl(ep, EPOLL_CTL_DEL, cl->tag.fd, NULL);
    close(cl->tag.fd);
    gnutls_deinit(cl->session);
    syslog_framer_free(&cl->framer);
    if (cl->prev)
        cl->prev->next = cl->next;
    else
        t->clients = cl->next;
    if (cl->next) cl->next->prev = cl->prev;
    free(cl);
    t->n_clients--;
    atomic_fetch_sub_explicit(&t->stats->tls_active, 1, memory_order_relaxed);
}

static void tls_set_events(int ep, struct tls_client *cl, uint32_t events)
{
    if (cl->events == events) return;
    struct epoll_event e = {.events = events, .data.ptr = cl};
    if (epoll_ctl(ep, EPOLL_CTL_MOD, cl->tag.fd, &e) == 0) cl->events = events;
}

/*
 * quiet: the peer just went away before finishing (port scanners, load balancer health
 * checks): counted, but logged at debug level only.
 */
static void tls_handshake_failed(struct collect_tls *t, int ep, struct tls_client *cl,
                                 const char *detail, bool quiet)
{
    STRM_STAT_ADD(t->stats, tls_handshake_failures, 1);
    if (quiet)
        LOG_DEBUG("collect", "syslog TLS handshake failed from %s: %s", cl->peer_text, detail);
    else
        tls_problem(&t->warn_handshake, "handshake failed", cl, detail);
    tls_close(t, ep, cl);
}

static void tls_refuse(struct collect_tls *t, int fd, const struct sockaddr_storage *ss,
                       socklen_t sl)
{
    close(fd);
    t->refused++;
    int64_t now = strm_mono_ms();
    if (t->warn_refused.last_ms == 0 || now - t->warn_refused.last_ms >= TLS_WARN_MS) {
        char peer[INET6_ADDRSTRLEN + 8];
        strm_format_sockaddr((const struct sockaddr *)ss, sl, NULL, 0, peer, sizeof(peer));
        LOG_WARN("collect",
                 "syslog TLS connection from %s refused: %d clients connected, "
                 "syslog.tcp_max_clients reached (%llu refused so far)",
                 peer, t->n_clients, (unsigned long long)t->refused);
        t->warn_refused.last_ms = now;
    }
}

static void tls_accept(struct collect_tls *t, int ep, int lfd)
{
    for (;;) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        int fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                LOG_WARN("collect", "cannot accept syslog TLS connection: %s", strerror(errno));
                struct timespec ts = {0, 10 * 1000 * 1000};
                nanosleep(&ts, NULL); /* the listener stays readable; do not spin */
            }
            return;
        }
        if (t->n_clients >= t->max_clients) {
            tls_refuse(t, fd, &ss, sl);
            continue;
        }
        struct tls_client *cl = calloc(1, sizeof(*cl));
        if (!cl || syslog_framer_init(&cl->framer, STRM_MAX_MSG) != 0) {
            free(cl);
            close(fd);
            LOG_WARN("collect", "out of memory for a syslog TLS connection");
            continue;
        }
        int g = gnutls_init(&cl->session,
                            GNUTLS_SERVER | GNUTLS_NONBLOCK | GNUTLS_NO_SIGNAL | GNUTLS_NO_TICKETS);
        if (g == 0) g = gnutls_priority_set(cl->session, t->prio);
        if (g == 0) g = gnutls_credentials_set(cl->session, GNUTLS_CRD_CERTIFICATE, t->cred);
        if (g < 0) {
            LOG_WARN("collect", "cannot set up a TLS session: %s", gnutls_strerror(g));
            if (cl->session) gnutls_deinit(cl->session);
            syslog_framer_free(&cl->framer);
            free(cl);
            close(fd);
            continue;
        }
        if (t->request != GNUTLS_CERT_IGNORE)
            gnutls_certificate_server_set_request(cl->session, t->request);
        gnutls_session_set_ptr(cl->session, cl);
        gnutls_transport_set_int(cl->session, fd);
        int one = 1;
        (void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
        cl->tag.kind = TLS_TAG_CLIENT;
        cl->tag.fd = fd;
        strm_ip_from_sockaddr(&cl->peer, &ss);
        strm_format_sockaddr((const struct sockaddr *)&ss, sl, NULL, 0, cl->peer_text,
                             sizeof(cl->peer_text));
        cl->deadline = strm_mono_ms() + TLS_HANDSHAKE_MS;
        cl->events = EPOLLIN;
        struct epoll_event e = {.events = cl->events, .data.ptr = cl};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e) != 0) {
            gnutls_deinit(cl->session);
            syslog_framer_free(&cl->framer);
            free(cl);
            close(fd);
            continue;
        }
        cl->next = t->clients;
        if (t->clients) t->clients->prev = cl;
        t->clients = cl;
        t->n_clients++;
        t->n_handshaking++;
        STRM_STAT_ADD(t->stats, tls_connections, 1);
        STRM_STAT_ADD(t->stats, tls_active, 1);
    }
}

/* Reads decrypted records until the socket is drained (or the per-wake cap); false = closed. */
static bool tls_read(struct collect_tls *t, int ep, struct tls_client *cl, char *buf)
{
    if (cl->pending) {
        cl->pending = false;
        t->n_pending--;
    }
    for (int i = 0; i < TLS_RECORDS_PER_WAKE; i++) {
        ssize_t n = gnutls_record_recv(cl->session, buf, TLS_READ_SIZE);
        if (n > 0) {
            t->cur = cl;
            t->now = strm_now_ms();
            syslog_framer_feed(&cl->framer, buf, (size_t)n, tls_frame, t);
            tls_count(t);
            continue;
        }
        if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED) return true;
        if (n == 0) { /* close_notify */
            LOG_DEBUG("collect", "syslog TLS client %s closed the connection", cl->peer_text);
        } else if (n == GNUTLS_E_PREMATURE_TERMINATION) {
            /* Many senders just close the socket; only a cut record is an error. */
            LOG_DEBUG("collect", "syslog TLS client %s closed without close_notify", cl->peer_text);
        } else if (n == GNUTLS_E_REHANDSHAKE) {
            STRM_STAT_ADD(t->stats, tls_errors, 1);
            tls_problem(&t->warn_error, "error", cl, "renegotiation is not supported");
        } else if (!gnutls_error_is_fatal((int)n)) {
            continue; /* warning alerts and the like */
        } else {
            STRM_STAT_ADD(t->stats, tls_errors, 1);
            tls_problem(&t->warn_error, "error", cl, gnutls_strerror((int)n));
        }
        tls_close(t, ep, cl);
        return false;
    }
    /* Capped: come back without waiting for epoll, since records the session has already
       taken off the socket would not wake it. */
    cl->pending = true;
    t->n_pending++;
    return true;
}

static void tls_log_session(const struct collect_tls *t, const struct tls_client *cl)
{
    char dn[256] = "none";
    unsigned n = 0;
    const gnutls_datum_t *certs = gnutls_certificate_get_peers(cl->session, &n);
    if (certs && n > 0) {
        gnutls_x509_crt_t crt;
        if (gnutls_x509_crt_init(&crt) == 0) {
            size_t len = sizeof(dn);
            if (gnutls_x509_crt_import(crt, &certs[0], GNUTLS_X509_FMT_DER) != 0 ||
                gnutls_x509_crt_get_dn(crt, dn, &len) != 0)
                snprintf(dn, sizeof(dn), "(unreadable)");
            gnutls_x509_crt_deinit(crt);
        }
    }
    char *desc = gnutls_session_get_desc(cl->session);
    LOG_DEBUG("collect", "syslog TLS client %s: %s, client certificate %s", cl->peer_text,
              desc ? desc : "?", dn);
    gnutls_free(desc);
    (void)t;
}

static void tls_handshake(struct collect_tls *t, int ep, struct tls_client *cl, char *buf)
{
    int g = gnutls_handshake(cl->session);
    if (g == GNUTLS_E_AGAIN || g == GNUTLS_E_INTERRUPTED) {
        tls_set_events(ep, cl, gnutls_record_get_direction(cl->session) ? EPOLLOUT : EPOLLIN);
        return;
    }
    if (g < 0 && !gnutls_error_is_fatal(g)) return; /* a warning alert: go on next time */
    if (g < 0) {
        char detail[512];
        if (cl->verify_status != 0) {
            gnutls_datum_t why = {NULL, 0};
            if (gnutls_certificate_verification_status_print(cl->verify_status, GNUTLS_CRT_X509,
                                                             &why, 0) == 0) {
                size_t wl = strlen((const char *)why.data);
                while (wl > 0 && why.data[wl - 1] == ' ')
                    why.data[--wl] = '\0';
                snprintf(detail, sizeof(detail), "client certificate rejected: %s", why.data);
            } else
                snprintf(detail, sizeof(detail), "client certificate rejected");
            gnutls_free(why.data);
        } else if (g == GNUTLS_E_NO_CERTIFICATE_FOUND || g == GNUTLS_E_CERTIFICATE_REQUIRED) {
            snprintf(detail, sizeof(detail),
                     "no client certificate (tls.require_client_cert is true)");
        } else if (g == GNUTLS_E_UNEXPECTED_PACKET_LENGTH ||
                   g == GNUTLS_E_UNSUPPORTED_VERSION_PACKET || g == GNUTLS_E_UNEXPECTED_PACKET) {
            snprintf(detail, sizeof(detail), "%s (plain syslog sent to the TLS port?)",
                     gnutls_strerror(g));
        } else {
            snprintf(detail, sizeof(detail), "%s", gnutls_strerror(g));
        }
        tls_handshake_failed(t, ep, cl, detail,
                             g == GNUTLS_E_PREMATURE_TERMINATION || g == GNUTLS_E_PULL_ERROR);
        return;
    }
    cl->deadline = 0;
    t->n_handshaking--;
    tls_set_events(ep, cl, EPOLLIN | EPOLLRDHUP);
    tls_log_session(t, cl);
    (void)tls_read(t, ep, cl, buf); /* records may already be buffered with the handshake */
}

static void tls_expire(struct collect_tls *t, int ep)
{
    int64_t now = strm_mono_ms();
    struct tls_client *cl = t->clients;
    while (cl) {
        struct tls_client *next = cl->next;
        if (cl->deadline != 0 && now >= cl->deadline)
            tls_handshake_failed(t, ep, cl, "handshake not finished within 10 s", false);
        cl = next;
    }
}

static void tls_serve_pending(struct collect_tls *t, int ep, char *buf)
{
    struct tls_client *cl = t->clients;
    while (cl && t->n_pending > 0) {
        struct tls_client *next = cl->next;
        if (cl->pending) (void)tls_read(t, ep, cl, buf);
        cl = next;
    }
}

static void *tls_main(void *arg)
{
    struct collect_tls *t = arg;
    char *buf = malloc(TLS_READ_SIZE);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    int64_t next_expire = strm_mono_ms() + 1000;
    if (!buf || ep < 0) {
        LOG_ERROR("collect", "TLS receiver cannot start: out of memory or no epoll");
        goto out;
    }
    for (int i = 0; i < t->n_listeners; i++) {
        struct epoll_event e = {.events = EPOLLIN, .data.ptr = &t->listeners[i]};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, t->listeners[i].fd, &e) != 0)
            LOG_ERROR("collect", "epoll_ctl TLS: %s", strerror(errno));
    }
    while (!atomic_load_explicit(&t->stop, memory_order_relaxed)) {
        struct epoll_event evs[256];
        int timeout = t->n_pending > 0 ? 0 : (int)tls_batch_wait(t);
        int n = epoll_wait(ep, evs, 256, timeout);
        for (int i = 0; i < n; i++) {
            struct tls_tag *tag = evs[i].data.ptr;
            if (tag->kind == TLS_TAG_LISTEN) {
                tls_accept(t, ep, tag->fd);
                continue;
            }
            struct tls_client *cl = (struct tls_client *)tag;
            if (cl->deadline != 0)
                tls_handshake(t, ep, cl, buf);
            else
                (void)tls_read(t, ep, cl, buf);
        }
        /* Clients closed above are not in evs twice: epoll reports each fd once per wait. */
        if (t->n_pending > 0) tls_serve_pending(t, ep, buf);
        if (t->n_handshaking > 0 && strm_mono_ms() >= next_expire) {
            tls_expire(t, ep);
            next_expire = strm_mono_ms() + 1000;
        }
        if (t->batch && t->batch->count && tls_batch_wait(t) == 0) tls_flush(t);
    }
out:
    while (t->clients)
        tls_close(t, ep, t->clients);
    tls_flush(t);
    if (ep >= 0) close(ep);
    free(buf);
    return NULL;
}

/* ---------------------------------------------------------------- start / stop */

static void tls_free(struct collect_tls *t)
{
    for (int i = 0; i < t->n_listeners; i++)
        close(t->listeners[i].fd);
    if (t->prio) gnutls_priority_deinit(t->prio);
    if (t->cred) gnutls_certificate_free_credentials(t->cred);
    free(t);
}

int collect_tls_start(const struct strm_config *cfg, struct strm_queue *out, struct strm_pool *pool,
                      struct strm_stats *stats, struct collect_tls **out_t, char *err,
                      size_t errlen)
{
    *out_t = NULL;
    if (errlen) err[0] = '\0';
    struct collect_tls *t = calloc(1, sizeof(*t));
    if (!t) {
        snprintf(err, errlen, "out of memory");
        return STRM_ERR_NOMEM;
    }
    t->out = out;
    t->pool = pool;
    t->stats = stats;
    t->max_clients = cfg->syslog_tcp_max_clients > 0 ? cfg->syslog_tcp_max_clients : 1;
    atomic_init(&t->stop, false);

    int rc = tls_setup_credentials(t, cfg, err, errlen);
    for (int i = 0; rc == 0 && i < cfg->n_syslog_tls && i < STRM_MAX_LISTENERS; i++)
        rc = tls_listen(t, &cfg->syslog_tls[i], err, errlen);
    if (rc != 0) {
        tls_free(t);
        return rc;
    }
    if (t->n_listeners > 0) {
        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        if (pthread_create(&t->thread, NULL, tls_main, t) == 0) {
            pthread_setname_np(t->thread, "syslog-tls");
            t->running = true;
        } else {
            rc = STRM_ERR_NOMEM;
        }
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (rc != 0) {
            snprintf(err, errlen, "cannot start the syslog TLS receiver thread");
            tls_free(t);
            return rc;
        }
    }
    *out_t = t;
    return 0;
}

void collect_tls_stop(struct collect_tls *t)
{
    if (!t) return;
    atomic_store(&t->stop, true);
    if (t->running) pthread_join(t->thread, NULL);
    tls_free(t);
}

const char *collect_tls_fingerprint(const struct collect_tls *t)
{
    return t ? t->fingerprint : "";
}
