/*
 * control.c - the control socket: how `strm search` and `strm stats` talk to a running
 * instance, over a Unix stream socket at <data_dir>/strm.sock.
 *
 * Protocol, one request per connection: the client writes a request and shuts down its
 * writing side. "STATS\n", "SEARCH <format>\n<AQL text>", or "LOGSOURCES\n" / "QID\n" followed
 * by a subcommand's arguments separated by NUL bytes (run against the instance's registry, so
 * its in-memory state changes with config.db). The server answers with a status
 * line, "OK\n" or "ERR <exit code>\n", then the body (results or an error message) until it
 * closes. Each connection is served by its own detached thread, so a long search never
 * blocks stats or other searches; searches read the store concurrently with ingest.
 */
#include "aql/aql.h"
#include "cli.h"
#include "collect/collect.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define MAX_REQUEST (1024 * 1024)
#define CONTROL_TIMEOUT_S 120 /* longest silence from the instance: a search may take long */

struct control {
    int fd;
    char path[108];
    struct ariel_store *store;
    struct strm_stats *stats;
    struct logsource_registry *reg;
    struct flowpipe *_Atomic flows; /* NULL until the flow path is up */
    struct aql_searches *searches;  /* every search runs through it (sync ones too) */
    pthread_t thread;
    _Atomic bool stop;
    _Atomic int active; /* connection threads still running */
};

struct conn {
    struct control *c;
    int fd;
};

int control_socket_path(const struct strm_config *cfg, char *buf, size_t size)
{
    int n = snprintf(buf, size, "%s/strm.sock", cfg->data_dir);
    if (n < 0 || (size_t)n >= size || (size_t)n >= sizeof(((struct sockaddr_un *)0)->sun_path))
        return STRM_ERR_INVAL;
    return 0;
}

static int write_all(int fd, const char *p, size_t len)
{
    while (len) {
        ssize_t w = write(fd, p, len);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

static void reply_error(int fd, int code, const char *msg)
{
    char head[32];
    snprintf(head, sizeof(head), "ERR %d\n", code);
    if (write_all(fd, head, strlen(head)) == 0) (void)write_all(fd, msg, strlen(msg));
}

static struct aql_stores stores_of(struct control *c)
{
    struct flowpipe *fp = atomic_load(&c->flows);
    return (struct aql_stores){.events = c->store, .flows = fp ? flowpipe_store(fp) : NULL};
}

/* The client went away (Ctrl-C): its socket hung up. */
static bool client_gone(int fd)
{
    struct pollfd pfd = {fd, POLLRDHUP, 0};
    return poll(&pfd, 1, 0) > 0 && (pfd.revents & (POLLHUP | POLLERR));
}

/*
 * "SEARCH <format>\n<AQL>": runs the search through the search manager (so search.timeout
 * and search.max_memory apply) and waits; a client that hangs up cancels it.
 */
static void serve_search(struct control *c, int fd, char *req)
{
    char *nl = strchr(req, '\n');
    enum aql_format fmt;
    if (!nl) {
        reply_error(fd, EXIT_USAGE, "malformed request\n");
        return;
    }
    *nl = '\0';
    char *opt = strchr(req, ' ');
    bool explain = false;
    if (opt) {
        *opt++ = '\0';
        explain = !strcmp(opt, "explain");
    }
    if (aql_format_parse(req, &fmt) != 0) {
        reply_error(fd, EXIT_USAGE, "unknown format\n");
        return;
    }
    struct aql_stores st = stores_of(c);
    struct aql_error err = {0};
    char id[AQL_SEARCH_ID_LEN + 1], msg[512];
    int rc = aql_search_create(c->searches, nl + 1, &st, id, NULL, &err);
    if (rc != 0) {
        snprintf(msg, sizeof(msg), "%s: %s\n",
                 rc == STRM_ERR_PARSE ? "syntax error" : "search failed", err.msg);
        reply_error(fd, rc == STRM_ERR_PARSE ? EXIT_USAGE : EXIT_FAIL, msg);
        return;
    }
    while (aql_search_wait(c->searches, id, 200) == STRM_ERR_BUSY) {
        if (client_gone(fd)) {
            aql_search_forget(c->searches, id);
            return;
        }
    }
    int dfd = dup(fd);
    FILE *out = dfd >= 0 ? fdopen(dfd, "w") : NULL;
    struct aql_search_status ss;
    if (aql_search_status(c->searches, id, &ss) != 0 || ss.state != AQL_SEARCH_COMPLETED) {
        snprintf(msg, sizeof(msg), "search failed: %s\n",
                 ss.error[0] ? ss.error : aql_search_state_name(ss.state));
        reply_error(fd, EXIT_FAIL, msg);
    } else if (out) {
        fputs("OK\n", out);
        (void)aql_search_results(c->searches, id, 0, 0, fmt, out, msg, sizeof msg);
        if (explain) aql_explain_write(&ss, out);
    }
    if (out)
        fclose(out);
    else if (dfd >= 0)
        close(dfd);
    aql_search_forget(c->searches, id);
}

static void status_lines(FILE *m, const char *id, const struct aql_search_status *ss)
{
    fprintf(m, "id %s\nstatus %s\nprogress %d\nrows_scanned %llu\nrows %llu\ncreated %lld\n", id,
            aql_search_state_name(ss->state), ss->progress, (unsigned long long)ss->rows_scanned,
            (unsigned long long)ss->rows, (long long)ss->created_ms);
    if (ss->started_ms) fprintf(m, "started %lld\n", (long long)ss->started_ms);
    if (ss->completed_ms) fprintf(m, "completed %lld\n", (long long)ss->completed_ms);
    fprintf(m, "segments_in_range %u\nskipped_minmax %u\nskipped_index %u\nskipped_order %u\n",
            ss->segments_in_range, ss->skipped_minmax, ss->skipped_index, ss->skipped_order);
    fprintf(m, "rows_skipped_index %llu\nrows_skipped_minmax %llu\n",
            (unsigned long long)ss->rows_skipped_index,
            (unsigned long long)ss->rows_skipped_minmax);
    if (ss->error[0]) fprintf(m, "error %s\n", ss->error);
    fprintf(m, "query %s\n", ss->query);
}

static void list_one(const char *id, const struct aql_search_status *ss, void *arg)
{
    FILE *m = arg;
    fprintf(m, "%s %-9s %3d%% %10llu rows  %s\n", id, aql_search_state_name(ss->state),
            ss->progress, (unsigned long long)ss->rows, ss->query);
}

/*
 * Async searches: "ASYNC\n<AQL>" -> "OK\n<id>\n"; "STATUS <id>"; "RESULTS <id> <format>
 * <offset> <count>"; "CANCEL <id>"; "SEARCHES" lists them.
 */
static void serve_async(struct control *c, int fd, const char *req)
{
    char *buf = NULL, msg[512];
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    if (!m) return;
    char id[AQL_SEARCH_ID_LEN + 2] = "";
    int code = EXIT_OK;
    if (!strncmp(req, "ASYNC\n", 6)) {
        struct aql_stores st = stores_of(c);
        struct aql_error err = {0};
        bool reused = false;
        int rc = aql_search_create(c->searches, req + 6, &st, id, &reused, &err);
        if (rc != 0) {
            fprintf(m, "%s: %s\n", rc == STRM_ERR_PARSE ? "syntax error" : "search failed",
                    err.msg);
            code = rc == STRM_ERR_PARSE ? EXIT_USAGE : EXIT_FAIL;
        } else {
            fprintf(m, "%s\n", id);
            if (reused) fprintf(m, "# reused a recent identical search\n");
        }
    } else if (sscanf(req, "STATUS %33s", id) == 1) {
        struct aql_search_status ss;
        if (aql_search_status(c->searches, id, &ss) == 0) {
            status_lines(m, id, &ss);
        } else {
            fprintf(m, "no search %s (unknown, or its results expired)\n", id);
            code = EXIT_FAIL;
        }
    } else if (sscanf(req, "CANCEL %33s", id) == 1) {
        if (aql_search_cancel(c->searches, id) != 0) {
            fprintf(m, "no search %s\n", id);
            code = EXIT_FAIL;
        }
    } else if (!strncmp(req, "SEARCHES", 8)) {
        aql_searches_list(c->searches, list_one, m);
    } else {
        char fmtname[16];
        unsigned long long off = 0, cnt = 0;
        enum aql_format fmt;
        if (sscanf(req, "RESULTS %33s %15s %llu %llu", id, fmtname, &off, &cnt) < 2 ||
            aql_format_parse(fmtname, &fmt) != 0) {
            fprintf(m, "malformed request\n");
            code = EXIT_USAGE;
        } else if (aql_search_results(c->searches, id, (size_t)off, (size_t)cnt, fmt, m, msg,
                                      sizeof msg) != 0) {
            rewind(m);
            fprintf(m, "%s\n", msg);
            fflush(m);
            len = strlen(msg) + 1;
            code = EXIT_FAIL;
        }
    }
    fclose(m);
    char head[32];
    snprintf(head, sizeof head, code == EXIT_OK ? "OK\n" : "ERR %d\n", code);
    if (write_all(fd, head, strlen(head)) == 0) (void)write_all(fd, buf, len);
    free(buf);
}

static void serve_stats(struct control *c, int fd)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    if (!m) return;
    fputs("OK\n", m);
    strm_stats_write(c->stats, m);
    struct ariel_info info;
    ariel_info_get(c->store, &info);
    fprintf(m, "store_rows %llu\nstore_segments %llu\nstore_segment_bytes %llu\n",
            (unsigned long long)(info.rows_segments + info.rows_memtable),
            (unsigned long long)info.segments, (unsigned long long)info.bytes_segments);
    fprintf(m, "memtable_prewarm_left_bytes %llu\n",
            (unsigned long long)ariel_prewarm_left_bytes());
    if (c->reg) logsource_stats_write(c->reg, m);
    struct flowpipe *fp = atomic_load(&c->flows);
    if (fp) {
        ariel_info_get(flowpipe_store(fp), &info);
        fprintf(
            m, "flows_store_rows %llu\nflows_store_segments %llu\nflows_store_segment_bytes %llu\n",
            (unsigned long long)(info.rows_segments + info.rows_memtable),
            (unsigned long long)info.segments, (unsigned long long)info.bytes_segments);
        flowpipe_stats_write(fp, m);
    }
    fclose(m);
    (void)write_all(fd, buf, len);
    free(buf);
}

/* "LOGSOURCES\n" or "QID\n" + arguments separated by NUL: runs the subcommand here. */
static void serve_command(struct control *c, int fd, bool logsources, char *body, size_t len)
{
    if (!c->reg) {
        reply_error(fd, EXIT_FAIL, "log sources are not available in this instance\n");
        return;
    }
    enum { MAX_ARGS = 64 };
    char *argv[MAX_ARGS + 1];
    int argc = 0;
    for (size_t i = 0; i < len && argc < MAX_ARGS;) {
        argv[argc++] = body + i;
        i += strnlen(body + i, len - i) + 1;
    }
    argv[argc] = NULL;
    char *obuf = NULL, *ebuf = NULL;
    size_t olen = 0, elen = 0;
    FILE *out = open_memstream(&obuf, &olen), *err = open_memstream(&ebuf, &elen);
    if (!out || !err) {
        if (out) fclose(out);
        if (err) fclose(err);
        free(obuf);
        free(ebuf);
        reply_error(fd, EXIT_FAIL, "out of memory\n");
        return;
    }
    int code = logsources ? logsources_exec(c->reg, argc, argv, out, err)
                          : qid_exec(c->reg, argc, argv, out, err);
    fclose(out);
    fclose(err);
    if (code == EXIT_OK) {
        if (write_all(fd, "OK\n", 3) == 0) (void)write_all(fd, obuf, olen);
    } else {
        char head[32];
        snprintf(head, sizeof(head), "ERR %d\n", code);
        if (write_all(fd, head, strlen(head)) == 0) {
            (void)write_all(fd, obuf, olen);
            (void)write_all(fd, ebuf, elen);
        }
    }
    free(obuf);
    free(ebuf);
}

static void *conn_main(void *arg)
{
    struct conn *cn = arg;
    struct control *c = cn->c;
    int fd = cn->fd;
    free(cn);
    char *req = malloc(MAX_REQUEST + 1);
    size_t len = 0;
    if (!req) goto done;
    for (;;) {
        ssize_t r = read(fd, req + len, MAX_REQUEST - len);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        len += (size_t)r;
        if (len == MAX_REQUEST) {
            reply_error(fd, EXIT_USAGE, "request too large\n");
            goto done;
        }
    }
    req[len] = '\0';
    if (!strncmp(req, "STATS", 5))
        serve_stats(c, fd);
    else if (!strncmp(req, "SEARCH ", 7))
        serve_search(c, fd, req + 7);
    else if (!strncmp(req, "ASYNC\n", 6) || !strncmp(req, "STATUS ", 7) ||
             !strncmp(req, "RESULTS ", 8) || !strncmp(req, "CANCEL ", 7) ||
             !strncmp(req, "SEARCHES", 8))
        serve_async(c, fd, req);
    else if (len >= 11 && !memcmp(req, "LOGSOURCES\n", 11))
        serve_command(c, fd, true, req + 11, len - 11);
    else if (len >= 4 && !memcmp(req, "QID\n", 4))
        serve_command(c, fd, false, req + 4, len - 4);
    else
        reply_error(fd, EXIT_USAGE, "unknown request\n");
done:
    free(req);
    close(fd);
    atomic_fetch_sub(&c->active, 1);
    return NULL;
}

static void *accept_main(void *arg)
{
    struct control *c = arg;
    while (!atomic_load(&c->stop)) {
        struct pollfd pfd = {c->fd, POLLIN, 0};
        if (poll(&pfd, 1, 200) <= 0) continue;
        int fd = accept4(c->fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) continue;
        struct conn *cn = malloc(sizeof(*cn));
        pthread_t t;
        pthread_attr_t attr;
        if (!cn) {
            close(fd);
            continue;
        }
        cn->c = c;
        cn->fd = fd;
        atomic_fetch_add(&c->active, 1);
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        if (pthread_create(&t, &attr, conn_main, cn) != 0) {
            atomic_fetch_sub(&c->active, 1);
            close(fd);
            free(cn);
        }
        pthread_attr_destroy(&attr);
    }
    return NULL;
}

void control_set_flows(struct control *c, struct flowpipe *fp)
{
    atomic_store(&c->flows, fp);
}

int control_start(const struct strm_config *cfg, struct ariel_store *store,
                  struct strm_stats *stats, struct control **out)
{
    struct control *c = calloc(1, sizeof(*c));
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (!c) return STRM_ERR_NOMEM;
    c->store = store;
    aql_set_network_config(cfg); /* cfg lives as long as the instance */
    c->stats = stats;
    struct aql_search_limits lim = {
        .max_running = cfg->search_max_running,
        .retention_s = cfg->search_retention_s,
        .reuse_s = 10,
        .timeout_s = cfg->search_timeout_s,
        .max_memory = (size_t)cfg->search_max_memory_mb << 20,
    };
    if (!(c->searches = aql_searches_new(&lim))) {
        free(c);
        return STRM_ERR_NOMEM;
    }
    if (control_socket_path(cfg, c->path, sizeof(c->path)) != 0) {
        LOG_ERROR("control", "data_dir %s is too long for a control socket path (max 100)",
                  cfg->data_dir);
        aql_searches_free(c->searches);
        free(c);
        return STRM_ERR_INVAL;
    }
    memcpy(sa.sun_path, c->path, strlen(c->path) + 1);
    unlink(c->path); /* we hold the data_dir lock: any socket here is stale */
    c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0 || bind(c->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        listen(c->fd, 64) != 0) {
        LOG_ERROR("control", "cannot listen on %s: %s", c->path, strerror(errno));
        if (c->fd >= 0) close(c->fd);
        aql_searches_free(c->searches);
        free(c);
        return STRM_ERR_IO;
    }
    if (pthread_create(&c->thread, NULL, accept_main, c) != 0) {
        close(c->fd);
        unlink(c->path);
        aql_searches_free(c->searches);
        free(c);
        return STRM_ERR_NOMEM;
    }
    *out = c;
    return 0;
}

void control_set_registry(struct control *c, struct logsource_registry *reg)
{
    if (c) c->reg = reg;
}

void control_stop(struct control *c)
{
    if (!c) return;
    atomic_store(&c->stop, true);
    pthread_join(c->thread, NULL);
    close(c->fd);
    unlink(c->path);
    /* Searches in flight hold the stores: cancel them and wait before they close. The
     * connection threads waiting on them then see them end and return. */
    aql_searches_shutdown(c->searches);
    for (int i = 0; i < 3000 && atomic_load(&c->active) > 0; i++)
        usleep(10000);
    if (atomic_load(&c->active) == 0) {
        aql_searches_free(c->searches);
        free(c);
    }
    /* else: leak the small struct rather than free it under a running thread */
}

int control_request(const struct strm_config *cfg, const char *request, size_t len)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    char path[108];
    if (control_socket_path(cfg, path, sizeof(path)) != 0) return -1;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        return -1;
    }
    if (write_all(fd, request, len) != 0) {
        close(fd);
        return -1;
    }
    shutdown(fd, SHUT_WR);
    /* An instance that accepted nothing (stuck, or out of descriptors) must not hang us. */
    struct timeval tv = {CONTROL_TIMEOUT_S, 0};
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    /* Status line first, then the body streams to stdout or stderr. */
    char buf[65536];
    size_t have = 0;
    int code = -1;
    FILE *dst = stdout;
    for (;;) {
        ssize_t r = read(fd, buf + have, sizeof(buf) - have);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            fprintf(stderr, "strm: the running instance did not answer within %d s\n",
                    CONTROL_TIMEOUT_S);
            close(fd);
            return EXIT_FAIL;
        }
        if (r <= 0) break;
        have += (size_t)r;
        if (code < 0) {
            char *nl = memchr(buf, '\n', have);
            if (!nl) {
                if (have == sizeof(buf)) break;
                continue;
            }
            if (!strncmp(buf, "OK", 2)) {
                code = EXIT_OK;
            } else if (!strncmp(buf, "ERR ", 4)) {
                code = atoi(buf + 4);
                dst = stderr;
            } else {
                break;
            }
            size_t skip = (size_t)(nl + 1 - buf);
            if (dst == stderr) fputs("strm: ", stderr);
            fwrite(nl + 1, 1, have - skip, dst);
        } else {
            fwrite(buf, 1, have, dst);
        }
        have = 0;
    }
    close(fd);
    fflush(dst);
    if (code < 0) {
        fprintf(stderr, "strm: the running instance gave no valid answer\n");
        return EXIT_FAIL;
    }
    return code;
}

int control_request_argv(const struct strm_config *cfg, const char *kind, int argc, char **argv)
{
    size_t len = strlen(kind) + 1;
    for (int i = 0; i < argc; i++)
        len += strlen(argv[i]) + 1;
    char *req = malloc(len + 1);
    if (!req) return -1;
    size_t o = (size_t)sprintf(req, "%s\n", kind);
    for (int i = 0; i < argc; i++) {
        size_t n = strlen(argv[i]) + 1;
        memcpy(req + o, argv[i], n);
        o += n;
    }
    int rc = control_request(cfg, req, o);
    free(req);
    return rc;
}
