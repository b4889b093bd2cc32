/*
 * config.c - the YAML configuration: built-in defaults, then a file that overrides them
 * key by key.
 *
 * The file is read with libfyaml into a document tree and walked against one table of known
 * keys (dotted paths) with their types. Every unknown key and every bad value is an error
 * that names the file, the line and the key, so an operator never runs with a setting that
 * silently did nothing. A listener list set to [] turns that listener off.
 */
#include "core/core.h"

#include <errno.h>
#include <libfyaml.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

void strm_config_defaults(struct strm_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    snprintf(cfg->data_dir, sizeof(cfg->data_dir), "%s",
             geteuid() == 0 ? "/var/lib/strm" : "./data");
    snprintf(cfg->syslog_udp[0].host, sizeof(cfg->syslog_udp[0].host), "0.0.0.0");
    cfg->syslog_udp[0].port = 514;
    cfg->n_syslog_udp = 1;
    snprintf(cfg->syslog_tcp[0].host, sizeof(cfg->syslog_tcp[0].host), "0.0.0.0");
    cfg->syslog_tcp[0].port = 514;
    cfg->n_syslog_tcp = 1;
    snprintf(cfg->syslog_tls[0].host, sizeof(cfg->syslog_tls[0].host), "0.0.0.0");
    cfg->syslog_tls[0].port = 6514;
    cfg->n_syslog_tls = 1;
    cfg->tls_require_client_cert = false;
    cfg->logsources_autodetect = true;
    cfg->logsources_autodetect_events = 25;
    cfg->logsources_unknown_report = 1000;
    cfg->coalescing_enabled = true;
    cfg->coalescing_window_s = 10;
    cfg->syslog_udp_rcvbuf = 32 * 1024 * 1024;
    cfg->syslog_tcp_max_clients = 4096;
    cfg->pipeline_parsers = 0;
    cfg->pipeline_queue_batches = 32;
    cfg->pipeline_batch_events = 1024;
    cfg->fsync = STRM_FSYNC_INTERVAL;
    cfg->fsync_interval_ms = 200;
    cfg->segment_rows = 262144;
    cfg->token_index = true;
    cfg->compaction = true;
    cfg->segment_writer_idle = true;
    cfg->payload_dictionary = true;
    cfg->compaction_min_segments = 4;
    cfg->segment_max_age_s = 60;
    cfg->retention_days = 30;
    cfg->max_disk_percent = 90;
    cfg->log_level = STRM_LOG_INFO;
    cfg->search_timeout_s = 1800;
    cfg->search_max_memory_mb = 2048;
    cfg->search_max_running = 2;
    cfg->search_retention_s = 600;
    /* Flow listeners on every address (IPv4 and IPv6): NetFlow's two customary ports, IPFIX,
     * sFlow. No packet capture unless interfaces are named. */
    cfg->netflow_udp[0].port = 2055;
    cfg->netflow_udp[1].port = 9995;
    cfg->n_netflow_udp = 2;
    cfg->ipfix_udp[0].port = 4739;
    cfg->n_ipfix_udp = 1;
    cfg->ipfix_tcp[0].port = 4739;
    cfg->n_ipfix_tcp = 1;
    cfg->sflow_udp[0].port = 6343;
    cfg->n_sflow_udp = 1;
    cfg->flows_active_timeout_s = 60;
    cfg->flows_inactive_timeout_s = 15;
    /* The default network hierarchy, as STRM shipped it: the RFC 1918 private ranges are
     * local. A `networks` list in the file replaces it ([] for none). */
    static const struct {
        const char *name;
        uint32_t addr;
        uint8_t bits;
    } def_nets[] = {
        {"Net-10-172-192.Net_10_0_0_0", 0x0a000000u, 8},
        {"Net-10-172-192.Net_172_16_0_0", 0xac100000u, 12},
        {"Net-10-172-192.Net_192_168_0_0", 0xc0a80000u, 16},
    };
    for (size_t i = 0; i < sizeof(def_nets) / sizeof(def_nets[0]); i++) {
        struct strm_network *n = &cfg->networks[cfg->n_networks++];
        snprintf(n->name, sizeof(n->name), "%s", def_nets[i].name);
        strm_ip_from_v4(&n->addr, def_nets[i].addr);
        n->prefix = (uint8_t)(96 + def_nets[i].bits);
    }
    char err[256];
    (void)strm_networks_compile(cfg, err, sizeof(err)); /* cannot fail: no duplicates */
}

int strm_listen_parse(struct strm_listen *l, const char *s, size_t len)
{
    const char *colon;
    memset(l, 0, sizeof(*l));
    if (len > 0 && s[0] == '[') {
        const char *close = memchr(s, ']', len);
        if (!close || close + 1 >= s + len || close[1] != ':') return STRM_ERR_PARSE;
        size_t hl = (size_t)(close - s - 1);
        if (hl >= sizeof(l->host)) return STRM_ERR_PARSE;
        memcpy(l->host, s + 1, hl);
        colon = close + 1;
    } else {
        colon = NULL;
        for (size_t i = len; i > 0; i--)
            if (s[i - 1] == ':') {
                colon = s + i - 1;
                break;
            }
        if (!colon) return STRM_ERR_PARSE;
        size_t hl = (size_t)(colon - s);
        if (hl >= sizeof(l->host) || memchr(s, ':', hl))
            return STRM_ERR_PARSE; /* bare IPv6 needs brackets */
        memcpy(l->host, s, hl);
    }
    const char *p = colon + 1, *end = s + len;
    if (p == end) return STRM_ERR_PARSE;
    unsigned long port = 0;
    for (; p < end; p++) {
        if (*p < '0' || *p > '9') return STRM_ERR_PARSE;
        port = port * 10 + (unsigned long)(*p - '0');
        if (port > 65535) return STRM_ERR_PARSE;
    }
    if (port == 0) return STRM_ERR_PARSE;
    l->port = (uint16_t)port;
    return 0;
}

enum key_type {
    K_MAP,
    K_STR,
    K_PATH,
    K_INT,
    K_BOOL,
    K_LISTEN,
    K_FSYNC,
    K_LOGLEVEL,
    K_IFACES,   /* flows.capture: list of interface names */
    K_NETWORKS, /* networks: list of {name, cidr | cidrs} */
    K_BUCKETS,  /* storage.retention_buckets: list of {name, filter, days} */
};

struct key {
    const char *path;
    enum key_type type;
    size_t offset; /* into struct strm_config */
    size_t size;   /* for strings: buffer size; for listen lists: offset of the count */
    long min, max; /* for integers */
};

#define OFF(f) offsetof(struct strm_config, f)

static const struct key keys[] = {
    {"data_dir", K_STR, OFF(data_dir), sizeof(((struct strm_config *)0)->data_dir), 0, 0},
    {"syslog", K_MAP, 0, 0, 0, 0},
    {"syslog.udp", K_LISTEN, OFF(syslog_udp), OFF(n_syslog_udp), 0, 0},
    {"syslog.tcp", K_LISTEN, OFF(syslog_tcp), OFF(n_syslog_tcp), 0, 0},
    {"syslog.tls", K_LISTEN, OFF(syslog_tls), OFF(n_syslog_tls), 0, 0},
    {"syslog.udp_rcvbuf", K_INT, OFF(syslog_udp_rcvbuf), 0, 65536, INT_MAX},
    {"syslog.tcp_max_clients", K_INT, OFF(syslog_tcp_max_clients), 0, 1, 1000000},
    {"pipeline", K_MAP, 0, 0, 0, 0},
    {"pipeline.parsers", K_INT, OFF(pipeline_parsers), 0, 0, 256},
    {"pipeline.queue_batches", K_INT, OFF(pipeline_queue_batches), 0, 2, 1000000},
    {"pipeline.batch_events", K_INT, OFF(pipeline_batch_events), 0, 1, 65536},
    {"storage", K_MAP, 0, 0, 0, 0},
    {"storage.fsync", K_FSYNC, OFF(fsync), 0, 0, 0},
    {"storage.fsync_interval_ms", K_INT, OFF(fsync_interval_ms), 0, 1, 60000},
    {"storage.segment_rows", K_INT, OFF(segment_rows), 0, 1, 16777216},
    {"storage.segment_max_age_s", K_INT, OFF(segment_max_age_s), 0, 1, 86400},
    {"storage.token_index", K_BOOL, OFF(token_index), 0, 0, 0},
    {"storage.compaction", K_BOOL, OFF(compaction), 0, 0, 0},
    {"storage.segment_writer_idle", K_BOOL, OFF(segment_writer_idle), 0, 0, 0},
    {"storage.payload_dictionary", K_BOOL, OFF(payload_dictionary), 0, 0, 0},
    {"storage.compaction_min_segments", K_INT, OFF(compaction_min_segments), 0, 2, 1000},
    {"storage.memtable_prealloc_mb", K_INT, OFF(memtable_prealloc_mb), 0, -1, 1048576},
    {"storage.retention_days", K_INT, OFF(retention_days), 0, 0, 36500},
    {"storage.max_disk_percent", K_INT, OFF(max_disk_percent), 0, 1, 100},
    {"storage.retention_buckets", K_BUCKETS, 0, 0, 0, 0},
    {"tls", K_MAP, 0, 0, 0, 0},
    {"tls.cert_file", K_PATH, OFF(tls_cert_file), sizeof(((struct strm_config *)0)->tls_cert_file),
     0, 0},
    {"tls.key_file", K_PATH, OFF(tls_key_file), sizeof(((struct strm_config *)0)->tls_key_file), 0,
     0},
    {"tls.client_ca_file", K_PATH, OFF(tls_client_ca_file),
     sizeof(((struct strm_config *)0)->tls_client_ca_file), 0, 0},
    {"tls.require_client_cert", K_BOOL, OFF(tls_require_client_cert), 0, 0, 0},
    {"logsources", K_MAP, 0, 0, 0, 0},
    {"logsources.autodetect", K_BOOL, OFF(logsources_autodetect), 0, 0, 0},
    {"logsources.autodetect_events", K_INT, OFF(logsources_autodetect_events), 0, 1, 1000000},
    {"logsources.unknown_report", K_INT, OFF(logsources_unknown_report), 0, 1, 100000000},
    {"coalescing", K_MAP, 0, 0, 0, 0},
    {"coalescing.enabled", K_BOOL, OFF(coalescing_enabled), 0, 0, 0},
    {"coalescing.window_s", K_INT, OFF(coalescing_window_s), 0, 1, 3600},
    {"log", K_MAP, 0, 0, 0, 0},
    {"log.level", K_LOGLEVEL, OFF(log_level), 0, 0, 0},
    {"netflow", K_MAP, 0, 0, 0, 0},
    {"netflow.udp", K_LISTEN, OFF(netflow_udp), OFF(n_netflow_udp), 0, 0},
    {"ipfix", K_MAP, 0, 0, 0, 0},
    {"ipfix.udp", K_LISTEN, OFF(ipfix_udp), OFF(n_ipfix_udp), 0, 0},
    {"ipfix.tcp", K_LISTEN, OFF(ipfix_tcp), OFF(n_ipfix_tcp), 0, 0},
    {"sflow", K_MAP, 0, 0, 0, 0},
    {"sflow.udp", K_LISTEN, OFF(sflow_udp), OFF(n_sflow_udp), 0, 0},
    {"flows", K_MAP, 0, 0, 0, 0},
    {"flows.capture", K_IFACES, OFF(flows_capture), OFF(n_flows_capture), 0, 0},
    {"flows.active_timeout", K_INT, OFF(flows_active_timeout_s), 0, 1, 86400},
    {"flows.inactive_timeout", K_INT, OFF(flows_inactive_timeout_s), 0, 1, 86400},
    {"networks", K_NETWORKS, 0, 0, 0, 0},
    {"search", K_MAP, 0, 0, 0, 0},
    {"search.timeout", K_INT, OFF(search_timeout_s), 0, 0, 86400 * 7},
    {"search.max_memory", K_INT, OFF(search_max_memory_mb), 0, 0, 1 << 24},
    {"search.max_running", K_INT, OFF(search_max_running), 0, 1, 64},
    {"search.retention", K_INT, OFF(search_retention_s), 0, 1, 86400 * 7},
};

struct walk {
    struct strm_config *cfg;
    const char *file;
    char *err;
    size_t errlen;
    int key_line; /* line of the key being handled: for values that carry no position */
};

static int node_line(struct walk *w, struct fy_node *n)
{
    struct fy_token *t = n ? fy_node_get_scalar_token(n) : NULL;
    const struct fy_mark *m = t ? fy_token_start_mark(t) : NULL;
    return m ? m->line + 1 : w->key_line;
}

static int fail(struct walk *w, struct fy_node *n, const char *path, const char *fmt,
                const char *detail)
{
    char msg[512];
    snprintf(msg, sizeof(msg), fmt, detail ? detail : "");
    snprintf(w->err, w->errlen, "%s:%d: key '%s': %s", w->file, node_line(w, n), path, msg);
    return STRM_ERR_INVAL;
}

/* Scalar text of n as a NUL-terminated copy in buf; error if n is not a scalar. */
static int scalar(struct walk *w, struct fy_node *n, const char *path, char *buf, size_t size)
{
    size_t len;
    const char *s = fy_node_is_scalar(n) ? fy_node_get_scalar(n, &len) : NULL;
    if (!s) return fail(w, n, path, "expected a single value%s", NULL);
    if (len >= size) return fail(w, n, path, "value is too long%s", NULL);
    memcpy(buf, s, len);
    buf[len] = '\0';
    return 0;
}

/* flows.capture: interface names as libpcap knows them ("eth0", "any"). */
static int set_ifaces(struct walk *w, struct fy_node *n, const char *path)
{
    char buf[256];
    int rc, cnt = 0;
    if (!fy_node_is_sequence(n))
        return fail(w, n, path, "expected a list of interface names (or [] for none)%s", NULL);
    void *it = NULL;
    struct fy_node *item;
    while ((item = fy_node_sequence_iterate(n, &it)) != NULL) {
        if ((rc = scalar(w, item, path, buf, sizeof(buf))) != 0) return rc;
        if (cnt >= STRM_MAX_LISTENERS)
            return fail(w, item, path, "too many interfaces (at most 16)%s", NULL);
        size_t len = strlen(buf);
        if (len == 0 || len >= sizeof(w->cfg->flows_capture[0]))
            return fail(w, item, path, "'%s' is not an interface name (1 to 63 characters)", buf);
        for (size_t i = 0; i < len; i++)
            if ((unsigned char)buf[i] <= ' ' || buf[i] == '/')
                return fail(w, item, path, "'%s' is not an interface name (no spaces or slashes)",
                            buf);
        for (int i = 0; i < cnt; i++)
            if (!strcmp(w->cfg->flows_capture[i], buf))
                return fail(w, item, path, "interface '%s' is listed twice", buf);
        memcpy(w->cfg->flows_capture[cnt], buf, len + 1);
        cnt++;
    }
    w->cfg->n_flows_capture = cnt;
    return 0;
}

/* A network name: dot-separated groups and the leaf, e.g. "Corp.Servers.DMZ". */
static bool network_name_ok(const char *s)
{
    size_t len = strlen(s);
    if (len == 0 || s[0] == '.' || s[len - 1] == '.' || strstr(s, "..")) return false;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < ' ' || s[i] == 0x7f) return false;
    return true;
}

static int add_network(struct walk *w, struct fy_node *n, const char *path, const char *name,
                       int first)
{
    char buf[256];
    int rc;
    struct strm_config *cfg = w->cfg;
    if ((rc = scalar(w, n, path, buf, sizeof(buf))) != 0) return rc;
    struct strm_network net;
    bool host_bits = false;
    memset(&net, 0, sizeof(net));
    if (strm_cidr_parse(buf, strlen(buf), &net.addr, &net.prefix, &host_bits) != 0)
        return fail(w, n, path,
                    "'%s' is not a CIDR (a.b.c.d/n with n 0-32, or an IPv6 address/n with n "
                    "0-128)",
                    buf);
    char norm[64];
    strm_ip_format(&net.addr, norm, sizeof(norm));
    unsigned bits = strm_ip_is_v4(&net.addr) && !strchr(buf, ':') ? net.prefix - 96u : net.prefix;
    if (host_bits) {
        char detail[384];
        snprintf(detail, sizeof(detail), "'%s' has host bits set (the network is %s/%u)", buf, norm,
                 bits);
        return fail(w, n, path, "%s", detail);
    }
    for (int i = 0; i < cfg->n_networks; i++)
        if (cfg->networks[i].prefix == net.prefix &&
            !memcmp(cfg->networks[i].addr.b, net.addr.b, 16)) {
            char detail[512];
            if (i >= first)
                snprintf(detail, sizeof(detail), "%s/%u is listed twice in '%s'", norm, bits, name);
            else
                snprintf(detail, sizeof(detail),
                         "%s/%u of '%s' is already in network '%s' (a CIDR belongs to one "
                         "network)",
                         norm, bits, name, cfg->networks[i].name);
            return fail(w, n, path, "%s", detail);
        }
    if (cfg->n_networks >= STRM_MAX_NETWORKS)
        return fail(w, n, path, "too many CIDRs (at most 1024 over all networks)%s", NULL);
    snprintf(net.name, sizeof(net.name), "%s", name);
    cfg->networks[cfg->n_networks++] = net;
    return 0;
}

/*
 * networks: a list of maps, each `name` with `cidr: CIDR` and/or `cidrs: [CIDR, ...]`.
 * Replaces the default hierarchy; [] leaves no local networks.
 */
/* storage.retention_buckets: - name: X / filter: "AQL condition" / days: N (at most 10). The
 * filter's AQL is checked when the store opens (src/cli), which knows AQL. */
static int set_buckets(struct walk *w, struct fy_node *n, const char *path)
{
    char key[64], kpath[640], num[32];
    int rc;
    if (!fy_node_is_sequence(n))
        return fail(w, n, path,
                    "expected a list of buckets (- name: auth / filter: \"category = 3003\" / "
                    "days: 90), or [] for none%s",
                    NULL);
    w->cfg->n_buckets = 0;
    void *it = NULL;
    struct fy_node *item;
    while ((item = fy_node_sequence_iterate(n, &it)) != NULL) {
        if (w->cfg->n_buckets == STRM_MAX_BUCKETS)
            return fail(w, item, path, "at most 10 retention buckets%s", NULL);
        struct strm_retention_bucket *b = &w->cfg->buckets[w->cfg->n_buckets];
        memset(b, 0, sizeof *b);
        bool has_filter = false, has_days = false;
        if (!fy_node_is_mapping(item))
            return fail(w, item, path, "each bucket is a mapping with name, filter and days%s",
                        NULL);
        void *mit = NULL;
        struct fy_node_pair *pair;
        while ((pair = fy_node_mapping_iterate(item, &mit)) != NULL) {
            struct fy_node *kn = fy_node_pair_key(pair), *vn = fy_node_pair_value(pair);
            if (!kn || scalar(w, kn, path, key, sizeof(key)) != 0)
                return fail(w, kn ? kn : item, path, "keys must be plain names%s", NULL);
            snprintf(kpath, sizeof(kpath), "%s.%s", path, key);
            if (!vn) return fail(w, kn, kpath, "has no value%s", NULL);
            if (!strcmp(key, "name")) {
                if ((rc = scalar(w, vn, kpath, b->name, sizeof(b->name))) != 0) return rc;
            } else if (!strcmp(key, "filter")) {
                if ((rc = scalar(w, vn, kpath, b->filter, sizeof(b->filter))) != 0) return rc;
                has_filter = b->filter[0] != '\0';
            } else if (!strcmp(key, "days")) {
                if ((rc = scalar(w, vn, kpath, num, sizeof(num))) != 0) return rc;
                char *end;
                long v = strtol(num, &end, 10);
                if (*end || end == num || v < 0 || v > 36500)
                    return fail(w, vn, kpath, "'%s' is not a number of days (0 to 36500)", num);
                b->days = (int)v;
                has_days = true;
            } else {
                return fail(w, kn, kpath, "unknown key%s (a bucket has name, filter, days)", NULL);
            }
        }
        if (!b->name[0] || !has_filter || !has_days)
            return fail(w, item, path, "a bucket needs name, filter and days%s", NULL);
        w->cfg->n_buckets++;
    }
    return 0;
}

static int set_networks(struct walk *w, struct fy_node *n, const char *path)
{
    char name[sizeof(w->cfg->networks[0].name)], key[64], kpath[640];
    int rc;
    if (!fy_node_is_sequence(n))
        return fail(w, n, path,
                    "expected a list of networks (- name: Corp.DMZ / cidr: 10.1.0.0/16), or "
                    "[] for none%s",
                    NULL);
    w->cfg->n_networks = 0;
    w->cfg->n_networks_compiled = 0;
    void *it = NULL;
    struct fy_node *item;
    while ((item = fy_node_sequence_iterate(n, &it)) != NULL) {
        if (!fy_node_is_mapping(item))
            return fail(w, item, path, "each network is a mapping with name and cidr (or cidrs)%s",
                        NULL);
        struct fy_node *name_n = NULL, *cidr_n = NULL, *cidrs_n = NULL, *first_key = NULL;
        void *mit = NULL;
        struct fy_node_pair *pair;
        while ((pair = fy_node_mapping_iterate(item, &mit)) != NULL) {
            struct fy_node *kn = fy_node_pair_key(pair), *vn = fy_node_pair_value(pair);
            if (!kn || scalar(w, kn, path, key, sizeof(key)) != 0)
                return fail(w, kn ? kn : item, path, "keys must be plain names%s", NULL);
            snprintf(kpath, sizeof(kpath), "%s.%s", path, key);
            if (!vn) return fail(w, kn, kpath, "has no value%s", NULL);
            if (!first_key) first_key = kn;
            if (!strcmp(key, "name"))
                name_n = vn;
            else if (!strcmp(key, "cidr"))
                cidr_n = vn;
            else if (!strcmp(key, "cidrs"))
                cidrs_n = vn;
            else
                return fail(w, kn, kpath, "unknown key%s (a network has name, cidr, cidrs)", NULL);
        }
        if (!name_n)
            return fail(w, first_key ? first_key : item, path, "a network has no name%s", NULL);
        if ((rc = scalar(w, name_n, "networks.name", name, sizeof(name))) != 0) return rc;
        if (!network_name_ok(name))
            return fail(w, name_n, "networks.name",
                        "'%s' is not a network name (groups and leaf separated by single dots, "
                        "no control characters)",
                        name);
        if (!cidr_n && !cidrs_n)
            return fail(w, name_n, "networks", "network '%s' has no cidr (or cidrs)", name);
        int first = w->cfg->n_networks;
        if (cidr_n && (rc = add_network(w, cidr_n, "networks.cidr", name, first)) != 0) return rc;
        if (cidrs_n) {
            if (!fy_node_is_sequence(cidrs_n))
                return fail(w, cidrs_n, "networks.cidrs", "expected a list of CIDRs%s", NULL);
            void *cit = NULL;
            struct fy_node *c;
            while ((c = fy_node_sequence_iterate(cidrs_n, &cit)) != NULL)
                if ((rc = add_network(w, c, "networks.cidrs", name, first)) != 0) return rc;
        }
        if (w->cfg->n_networks == first)
            return fail(w, name_n, "networks.cidrs", "network '%s' has an empty cidrs list", name);
    }
    char err[512];
    if (strm_networks_compile(w->cfg, err, sizeof(err)) != 0) return fail(w, n, path, "%s", err);
    return 0;
}

static int set_value(struct walk *w, const struct key *k, struct fy_node *n, const char *path)
{
    char *base = (char *)w->cfg;
    char buf[4096];
    int rc;
    switch (k->type) {
    case K_MAP:
        return 0; /* handled by the caller */
    case K_STR:
        if ((rc = scalar(w, n, path, buf, k->size)) != 0) return rc;
        if (!buf[0]) return fail(w, n, path, "must not be empty%s", NULL);
        memcpy(base + k->offset, buf, strlen(buf) + 1);
        return 0;
    case K_PATH: /* may be empty: "use the built-in behaviour" */
        if ((rc = scalar(w, n, path, buf, k->size)) != 0) return rc;
        memcpy(base + k->offset, buf, strlen(buf) + 1);
        return 0;
    case K_BOOL:
        if ((rc = scalar(w, n, path, buf, sizeof(buf))) != 0) return rc;
        if (!strcasecmp(buf, "true") || !strcasecmp(buf, "yes") || !strcasecmp(buf, "on"))
            *(bool *)(base + k->offset) = true;
        else if (!strcasecmp(buf, "false") || !strcasecmp(buf, "no") || !strcasecmp(buf, "off"))
            *(bool *)(base + k->offset) = false;
        else
            return fail(w, n, path, "'%s' is not true or false", buf);
        return 0;
    case K_INT: {
        if ((rc = scalar(w, n, path, buf, sizeof(buf))) != 0) return rc;
        char *end;
        errno = 0;
        long v = strtol(buf, &end, 10);
        if (errno || end == buf || *end) return fail(w, n, path, "'%s' is not an integer", buf);
        if (v < k->min || v > k->max) {
            char range[128];
            snprintf(range, sizeof(range), "%ld is out of range %ld..%ld", v, k->min, k->max);
            return fail(w, n, path, "%s", range);
        }
        *(int *)(void *)(base + k->offset) = (int)v;
        return 0;
    }
    case K_FSYNC: {
        if ((rc = scalar(w, n, path, buf, sizeof(buf))) != 0) return rc;
        enum strm_fsync_policy *p = (void *)(base + k->offset);
        if (!strcasecmp(buf, "batch"))
            *p = STRM_FSYNC_BATCH;
        else if (!strcasecmp(buf, "interval"))
            *p = STRM_FSYNC_INTERVAL;
        else if (!strcasecmp(buf, "never"))
            *p = STRM_FSYNC_NEVER;
        else
            return fail(w, n, path, "'%s' is not one of batch, interval, never", buf);
        return 0;
    }
    case K_LOGLEVEL: {
        if ((rc = scalar(w, n, path, buf, sizeof(buf))) != 0) return rc;
        static const char *names[] = {"error", "warn", "info", "debug"};
        for (int i = 0; i < 4; i++)
            if (!strcasecmp(buf, names[i])) {
                *(enum strm_log_level *)(void *)(base + k->offset) = (enum strm_log_level)i;
                return 0;
            }
        return fail(w, n, path, "'%s' is not one of error, warn, info, debug", buf);
    }
    case K_IFACES:
        return set_ifaces(w, n, path);
    case K_NETWORKS:
        return set_networks(w, n, path);
    case K_BUCKETS:
        return set_buckets(w, n, path);
    case K_LISTEN: {
        struct strm_listen *list = (void *)(base + k->offset);
        int *count = (void *)(base + k->size);
        if (!fy_node_is_sequence(n))
            return fail(w, n, path, "expected a list of host:port (or [] for none)%s", NULL);
        int cnt = 0;
        void *it = NULL;
        struct fy_node *item;
        while ((item = fy_node_sequence_iterate(n, &it)) != NULL) {
            if ((rc = scalar(w, item, path, buf, sizeof(buf))) != 0) return rc;
            if (cnt >= STRM_MAX_LISTENERS)
                return fail(w, item, path, "too many listeners (at most 16)%s", NULL);
            if (strm_listen_parse(&list[cnt], buf, strlen(buf)) != 0)
                return fail(w, item, path,
                            "'%s' is not host:port (port 1-65535; IPv6 as [addr]:port)", buf);
            cnt++;
        }
        *count = cnt;
        return 0;
    }
    }
    return 0;
}

static int walk_map(struct walk *w, struct fy_node *map, const char *prefix)
{
    void *it = NULL;
    struct fy_node_pair *pair;
    while ((pair = fy_node_mapping_iterate(map, &it)) != NULL) {
        struct fy_node *kn = fy_node_pair_key(pair), *vn = fy_node_pair_value(pair);
        char name[256], path[512];
        if (!kn || scalar(w, kn, prefix[0] ? prefix : "(top level)", name, sizeof(name)) != 0)
            return fail(w, kn ? kn : map, prefix, "keys must be plain names%s", NULL);
        snprintf(path, sizeof(path), "%s%s%s", prefix, prefix[0] ? "." : "", name);
        w->key_line = node_line(w, kn);
        const struct key *k = NULL;
        for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
            if (!strcmp(keys[i].path, path)) {
                k = &keys[i];
                break;
            }
        if (!k) return fail(w, kn, path, "unknown key%s (see docs/configuration.md)", NULL);
        if (!vn) return fail(w, kn, path, "has no value%s", NULL);
        int rc;
        if (k->type == K_MAP) {
            if (!fy_node_is_mapping(vn))
                return fail(w, vn, path, "expected a mapping of keys%s", NULL);
            rc = walk_map(w, vn, path);
        } else {
            rc = set_value(w, k, vn, path);
        }
        if (rc) return rc;
    }
    return 0;
}

/* Collects libfyaml's diagnostics instead of letting it print them. */
struct diag_text {
    char buf[512];
    size_t len;
};

static void diag_capture(struct fy_diag *diag, void *user, const char *buf, size_t len)
{
    struct diag_text *dt = user;
    size_t room = sizeof(dt->buf) - 1 - dt->len;
    if (len > room) len = room;
    memcpy(dt->buf + dt->len, buf, len);
    dt->len += len;
    dt->buf[dt->len] = '\0';
}

/*
 * Configuration text must be UTF-8 without control characters (TAB, CR, LF aside). Checked
 * before libfyaml sees it: besides giving a clear message, this keeps malformed bytes away
 * from the YAML parser, which (0.7.12) can loop forever on invalid UTF-8 in a directive.
 * Returns the offset of the first bad byte, or len when all is well.
 */
static size_t first_bad_byte(const unsigned char *p, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned char c = p[i];
        size_t n;
        uint32_t cp;
        if (c < 0x80) {
            if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') return i;
            if (c == 0x7f) return i;
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) {
            n = 1;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            n = 2;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 3;
            cp = c & 0x07;
        } else {
            return i;
        }
        if (len - i <= n) return i;
        for (size_t k = 1; k <= n; k++) {
            if ((p[i + k] & 0xc0) != 0x80) return i;
            cp = cp << 6 | (p[i + k] & 0x3f);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return i;
        i += n + 1;
    }
    return len;
}

int strm_config_parse(struct strm_config *cfg, const char *name, const char *text, size_t len,
                      char *err, size_t errlen)
{
    size_t bad = first_bad_byte((const unsigned char *)text, len);
    if (bad < len) {
        int line = 1, col = 1;
        for (size_t i = 0; i < bad; i++) {
            if (text[i] == '\n') {
                line++;
                col = 1;
            } else {
                col++;
            }
        }
        snprintf(err, errlen, "%s:%d:%d: byte 0x%02x is not valid UTF-8 text", name, line, col,
                 (unsigned char)text[bad]);
        return STRM_ERR_PARSE;
    }
    struct walk w = {cfg, name, err, errlen, 0};
    struct diag_text dt = {{0}, 0};
    struct fy_diag_cfg dcfg;
    fy_diag_cfg_default(&dcfg);
    dcfg.fp = NULL;
    dcfg.output_fn = diag_capture;
    dcfg.user = &dt;
    dcfg.colorize = false;
    dcfg.show_source = false;
    dcfg.show_type = false;
    dcfg.show_module = false;
    dcfg.show_position = false;
    struct fy_diag *diag = fy_diag_create(&dcfg);
    struct fy_parse_cfg pcfg = {.flags = FYPCF_DEFAULT_DOC & ~FYPCF_QUIET, .diag = diag};
    struct fy_document *doc = fy_document_build_from_string(&pcfg, text, len);
    if (!doc) {
        /* The first diagnostic line says where and what, e.g. "3:5: error: ..." */
        char *nl = strchr(dt.buf, '\n');
        if (nl) *nl = '\0';
        const char *what = dt.buf;
        if (what[0] == '<' && strstr(what, ">:")) /* "<memory-@...>:2:1: error: ..." */
            what = strstr(what, ">:") + 2;
        snprintf(err, errlen, "%s:%s (not valid YAML)", name, what[0] ? what : " syntax error");
        if (diag) fy_diag_unref(diag);
        return STRM_ERR_PARSE;
    }
    int rc = 0;
    struct fy_node *root = fy_document_root(doc);
    if (root) { /* an empty file means all defaults */
        if (!fy_node_is_mapping(root))
            rc = fail(&w, root, "(top level)", "expected a mapping of keys%s", NULL);
        else
            rc = walk_map(&w, root, "");
    }
    fy_document_destroy(doc);
    if (diag) fy_diag_unref(diag);
    return rc;
}

int strm_config_load(struct strm_config *cfg, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: cannot open config file: %s", path, strerror(errno));
        return STRM_ERR_IO;
    }
    char *text = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (cap - len < 4096) {
            if (cap >= 16u * 1024 * 1024) {
                snprintf(err, errlen, "%s: config file is larger than 16 MiB", path);
                free(text);
                fclose(f);
                return STRM_ERR_INVAL;
            }
            char *n = realloc(text, cap ? cap * 2 : 8192);
            if (!n) {
                free(text);
                fclose(f);
                return STRM_ERR_NOMEM;
            }
            text = n;
            cap = cap ? cap * 2 : 8192;
        }
        size_t r = fread(text + len, 1, cap - len, f);
        len += r;
        if (r == 0) break;
    }
    int ioerr = ferror(f);
    fclose(f);
    if (ioerr) {
        snprintf(err, errlen, "%s: cannot read config file", path);
        free(text);
        return STRM_ERR_IO;
    }
    int rc = strm_config_parse(cfg, path, text, len, err, errlen);
    free(text);
    return rc;
}
