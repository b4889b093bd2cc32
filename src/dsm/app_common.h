/*
 * app_common.h - private helpers shared by the app group of DSMs (web servers, proxy, DNS,
 * mail, VPN, IDS). Not part of the dsm module's interface: only dsm_apache.c, dsm_nginx.c,
 * dsm_iis.c, dsm_squid.c, dsm_bind.c, dsm_postfix.c, dsm_openvpn.c, dsm_suricata.c,
 * dsm_snort.c and dsm_zeek.c include it.
 *
 * Everything here works on (pointer, length) slices and never reads outside them; none of it
 * allocates. The two shared parsers (the Common/Combined Log Format line used by Apache and
 * nginx, defined in dsm_apache.c; the IDS "fast" alert line used by Suricata and Snort,
 * defined in dsm_suricata.c) fill plain structs of slices that point into the input.
 */
#ifndef STRM_DSM_APP_COMMON_H
#define STRM_DSM_APP_COMMON_H

#include <string.h>

#include "dsm/dsm.h"

/* ---------------------------------------------------------------- slices */

static inline bool app_eq(const char *p, size_t n, const char *lit)
{
    size_t m = strlen(lit);
    return n == m && memcmp(p, lit, m) == 0;
}

static inline bool app_starts(const char *p, size_t n, const char *lit)
{
    size_t m = strlen(lit);
    return n >= m && memcmp(p, lit, m) == 0;
}

/* First occurrence of lit in p[0..n). memchr on the first byte + memcmp: the needles are short
 * and the haystacks one line, where glibc memmem's set-up cost dominated the profile. */
static inline const char *app_find(const char *p, size_t n, const char *lit)
{
    size_t m = strlen(lit);
    if (m == 0) return p;
    if (!p || m > n) return NULL;
    /* memchr on the needle's first byte, or its second when the first is a quote: JSON
     * key needles ("\"ts\"") would otherwise stop at every quote of a JSON line */
    size_t a = lit[0] == '"' && m > 1 ? 1 : 0;
    const char *q = p + a, *last = p + (n - m) + a; /* anchor positions [q, last] */
    while (q <= last) {
        q = memchr(q, lit[a], (size_t)(last - q) + 1);
        if (!q) return NULL;
        if (memcmp(q - a, lit, m) == 0) return q - a;
        q++;
    }
    return NULL;
}

/* Whether the event's appname is exactly name. */
static inline bool app_appname_is(const struct strm_event *ev, const char *name)
{
    return app_eq(ev->appname.p, ev->appname.len, name);
}

/* Next space-separated token of [*pp, end); false when none is left. */
static inline bool app_tok(const char **pp, const char *end, const char **t, size_t *tl)
{
    const char *p = *pp;
    while (p < end && *p == ' ')
        p++;
    if (p >= end) return false;
    const char *s = p;
    while (p < end && *p != ' ')
        p++;
    *t = s;
    *tl = (size_t)(p - s);
    *pp = p;
    return true;
}

static inline bool app_all_digits(const char *p, size_t n)
{
    if (n == 0) return false;
    for (size_t i = 0; i < n; i++)
        if (p[i] < '0' || p[i] > '9') return false;
    return true;
}

/* Value of exactly n decimal digits at p (n <= 9), or -1. */
static inline int app_num(const char *p, size_t n)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') return -1;
        v = v * 10 + (p[i] - '0');
    }
    return v;
}

/* "Jan".."Dec" -> 1..12, else 0. */
static inline int app_month(const char *p)
{
    static const char names[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    for (int i = 0; i < 12; i++)
        if (p[0] == names[i * 3] && p[1] == names[i * 3 + 1] && p[2] == names[i * 3 + 2])
            return i + 1;
    return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static inline int64_t app_days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* ms since the epoch of a local date and time in a zone tz_min minutes east of UTC. */
static inline int64_t app_mktime(int y, int mo, int d, int h, int mi, int s, int ms, int tz_min)
{
    int64_t days = app_days_from_civil(y, mo, d);
    return ((days * 86400 + h * 3600 + mi * 60 + s) - (int64_t)tz_min * 60) * 1000 + ms;
}

/* Milliseconds of a ".ffffff" fraction at p (n bytes after the dot); 0 when absent. */
static inline int app_frac_ms(const char *p, size_t n)
{
    int ms = 0, k = 0;
    for (size_t i = 0; i < n && p[i] >= '0' && p[i] <= '9'; i++) {
        if (k < 3) {
            ms = ms * 10 + (p[i] - '0');
            k++;
        }
    }
    while (k > 0 && k < 3) {
        ms *= 10;
        k++;
    }
    return ms;
}

/* Parses "ip:port", "[v6]:port", a bare address, or "v6:port" (split at the last ':' when the
 * whole is not an address); sets *ip and *port (port may be NULL). Whether the ip parsed. */
static inline bool app_set_ip_port(struct strm_ip *ip, uint16_t *port, const char *p, size_t n)
{
    if (n && p[0] == '[') {
        const char *rb = memchr(p, ']', n);
        if (!rb) return false;
        size_t hl = (size_t)(rb - p - 1);
        if (!dsm_set_ip(ip, p + 1, hl)) return false;
        size_t rest = n - hl - 2;
        if (rest > 1 && rb[1] == ':' && port) dsm_set_port(port, rb + 2, rest - 1);
        return true;
    }
    const char *c = NULL;
    int colons = 0;
    for (size_t i = 0; i < n; i++)
        if (p[i] == ':') {
            c = p + i;
            colons++;
        }
    if (colons == 1) {
        if (!dsm_set_ip(ip, p, (size_t)(c - p))) return false;
        if (port) dsm_set_port(port, c + 1, (size_t)(p + n - c - 1));
        return true;
    }
    if (dsm_set_ip(ip, p, n)) return true; /* bare IPv4 or IPv6 */
    if (colons > 1 && c) { /* "2001:db8::1:443": IPv6 then port after the last ':' */
        if (!dsm_set_ip(ip, p, (size_t)(c - p))) return false;
        if (port) dsm_set_port(port, c + 1, (size_t)(p + n - c - 1));
        return true;
    }
    return false;
}

/* Web status class -> QID number used by Apache, nginx and IIS (same n in each DSM). */
enum {
    APP_WEB_INFO = 1,
    APP_WEB_SUCCESS = 2,
    APP_WEB_REDIRECT = 3,
    APP_WEB_UNAUTHORIZED = 4,
    APP_WEB_FORBIDDEN = 5,
    APP_WEB_NOT_FOUND = 6,
    APP_WEB_CLIENT_ERROR = 7,
    APP_WEB_SERVER_ERROR = 8,
};

static inline uint32_t app_web_status_n(unsigned status)
{
    if (status == 401 || status == 407) return APP_WEB_UNAUTHORIZED;
    if (status == 403) return APP_WEB_FORBIDDEN;
    if (status == 404 || status == 410) return APP_WEB_NOT_FOUND;
    if (status >= 500) return APP_WEB_SERVER_ERROR;
    if (status >= 400) return APP_WEB_CLIENT_ERROR;
    if (status >= 300) return APP_WEB_REDIRECT;
    if (status >= 200) return APP_WEB_SUCCESS;
    return APP_WEB_INFO;
}

/* The QID rows for the web status classes, for a DSM's table: PFX is its display prefix. */
#define APP_WEB_QIDS(T, PFX)                                                                       \
    {DSM_QID(T, APP_WEB_INFO), PFX " Informational Response", "HTTP 1xx response",                 \
     LLC_WEB_ACCESS_ALLOWED, 1},                                                                   \
        {DSM_QID(T, APP_WEB_SUCCESS), PFX " Request Succeeded", "HTTP 2xx response",               \
         LLC_WEB_ACCESS_ALLOWED, 1},                                                               \
        {DSM_QID(T, APP_WEB_REDIRECT), PFX " Request Redirected", "HTTP 3xx response",             \
         LLC_WEB_ACCESS_ALLOWED, 1},                                                               \
        {DSM_QID(T, APP_WEB_UNAUTHORIZED), PFX " Authentication Failed",                           \
         "HTTP 401/407: the request lacked valid credentials", LLC_WEB_LOGIN_FAILED, 4},           \
        {DSM_QID(T, APP_WEB_FORBIDDEN), PFX " Access Denied", "HTTP 403 Forbidden",                \
         LLC_WEB_ACCESS_DENIED, 4},                                                                \
        {DSM_QID(T, APP_WEB_NOT_FOUND), PFX " Resource Not Found", "HTTP 404/410",                 \
         LLC_WEB_ACCESS_DENIED, 2},                                                                \
        {DSM_QID(T, APP_WEB_CLIENT_ERROR), PFX " Client Error", "Other HTTP 4xx response",         \
         LLC_WEB_ACCESS_DENIED, 3},                                                                \
    {                                                                                              \
        DSM_QID(T, APP_WEB_SERVER_ERROR), PFX " Server Error", "HTTP 5xx response",                \
            LLC_APPLICATION_ERROR, 5                                                               \
    }

/* ---------------------------------------------------------------- CLF (dsm_apache.c) */

/* One Common / Combined / vhost_combined access log line, as slices into the input. */
struct app_clf {
    const char *vhost, *host, *user, *method, *uri, *proto, *referer, *agent, *bytes;
    size_t vhost_len, host_len, user_len, method_len, uri_len, proto_len, referer_len, agent_len,
        bytes_len;
    unsigned status;
    int64_t time_ms;
};

/* Parses p[0..n) as a CLF line (optionally led by "vhost:port "); false when not exactly one. */
bool dsm_app_clf_parse(const char *p, size_t n, struct app_clf *out);
/* Sets the fields and properties of a parsed CLF line on ev (QID left to the caller). */
void dsm_app_clf_apply(const struct app_clf *c, struct strm_event *ev, struct dsm_props *pr);

/* ---------------------------------------------------------------- IDS (dsm_suricata.c) */

/*
 * Snort/Suricata classtypes (classification.config): X(n, shortname, description, llc, sev).
 * n is the QID number in both the Suricata and the Snort table, so an alert of a class maps
 * to the same category whichever engine raised it.
 */
#define IDS_CLASSES(X)                                                                             \
    X(10, "not-suspicious", "Not Suspicious Traffic", LLC_SUSPICIOUS_UNKNOWN, 1)                   \
    X(11, "unknown", "Unknown Traffic", LLC_SUSPICIOUS_UNKNOWN, 3)                                 \
    X(12, "bad-unknown", "Potentially Bad Traffic", LLC_SUSPICIOUS_ACTIVITY, 4)                    \
    X(13, "attempted-recon", "Attempted Information Leak", LLC_MISC_RECON, 4)                      \
    X(14, "successful-recon-limited", "Information Leak", LLC_MISC_RECON, 5)                       \
    X(15, "successful-recon-largescale", "Large Scale Information Leak", LLC_MISC_RECON, 6)        \
    X(16, "attempted-dos", "Attempted Denial of Service", LLC_DOS_UNKNOWN, 6)                      \
    X(17, "successful-dos", "Denial of Service", LLC_DOS_UNKNOWN, 8)                               \
    X(18, "attempted-user", "Attempted User Privilege Gain", LLC_MISC_EXPLOIT, 7)                  \
    X(19, "unsuccessful-user", "Unsuccessful User Privilege Gain", LLC_PRIV_ESCALATION_FAILED, 5)  \
    X(20, "successful-user", "Successful User Privilege Gain", LLC_PRIV_ESCALATION_SUCCEEDED, 8)   \
    X(21, "attempted-admin", "Attempted Administrator Privilege Gain", LLC_MISC_EXPLOIT, 8)        \
    X(22, "successful-admin", "Successful Administrator Privilege Gain",                           \
      LLC_PRIV_ESCALATION_SUCCEEDED, 9)                                                            \
    X(23, "rpc-portmap-decode", "Decode of an RPC Query", LLC_PORTMAP_RPC_REQUEST, 3)              \
    X(24, "shellcode-detect", "Executable code was detected", LLC_BUFFER_OVERFLOW, 8)              \
    X(25, "string-detect", "A suspicious string was detected", LLC_SUSPICIOUS_PATTERN, 3)          \
    X(26, "suspicious-filename-detect", "A suspicious filename was detected",                      \
      LLC_SUSPICIOUS_FILE_NAME, 4)                                                                 \
    X(27, "suspicious-login", "An attempted login using a suspicious username was detected",       \
      LLC_SUSPICIOUS_USERNAME, 5)                                                                  \
    X(28, "system-call-detect", "A system call was detected", LLC_SUSPICIOUS_ACTIVITY, 4)          \
    X(29, "tcp-connection", "A TCP connection was detected", LLC_MISC_NETWORK_COMMUNICATION, 1)    \
    X(30, "trojan-activity", "A Network Trojan was detected", LLC_TROJAN, 9)                       \
    X(31, "unusual-client-port-connection", "A client was using an unusual port",                  \
      LLC_SUSPICIOUS_PORT_ACTIVITY, 4)                                                             \
    X(32, "network-scan", "Detection of a Network Scan", LLC_NETWORK_SWEEP, 5)                     \
    X(33, "denial-of-service", "Detection of a Denial of Service Attack", LLC_DOS_UNKNOWN, 7)      \
    X(34, "non-standard-protocol", "Detection of a non-standard protocol or event",                \
      LLC_SUSPICIOUS_PACKET, 4)                                                                    \
    X(35, "protocol-command-decode", "Generic Protocol Command Decode", LLC_INVALID_COMMAND, 3)    \
    X(36, "web-application-activity", "access to a potentially vulnerable web application",        \
      LLC_POTENTIAL_WEB_VULNERABILITY, 4)                                                          \
    X(37, "web-application-attack", "Web Application Attack", LLC_WEB_EXPLOIT, 8)                  \
    X(38, "misc-activity", "Misc activity", LLC_SUSPICIOUS_UNKNOWN, 3)                             \
    X(39, "misc-attack", "Misc Attack", LLC_MISC_EXPLOIT, 6)                                       \
    X(40, "icmp-event", "Generic ICMP event", LLC_ICMP_RECON, 2)                                   \
    X(41, "inappropriate-content", "Inappropriate Content was Detected", LLC_WEB_POLICY_VIOLATION, \
      5)                                                                                           \
    X(42, "policy-violation", "Potential Corporate Privacy Violation", LLC_MISC_POLICY_VIOLATION,  \
      5)                                                                                           \
    X(43, "default-login-attempt", "Attempt to login by a default username and password",          \
      LLC_PASSWORD_GUESS, 6)                                                                       \
    X(44, "targeted-activity", "Targeted Malicious Activity was Detected", LLC_MISC_EXPLOIT, 9)    \
    X(45, "exploit-kit", "Exploit Kit Activity Detected", LLC_WEB_EXPLOIT, 9)                      \
    X(46, "external-ip-check", "Device Retrieving External IP Address Detected",                   \
      LLC_SUSPICIOUS_ACTIVITY, 4)                                                                  \
    X(47, "domain-c2", "Domain Observed Used for C2 Detected", LLC_BOTNET, 9)                      \
    X(48, "pup-activity", "Possibly Unwanted Program Detected", LLC_SPYWARE, 5)                    \
    X(49, "credential-theft", "Successful Credential Theft Detected", LLC_MISC_EXPLOIT, 9)         \
    X(50, "social-engineering", "Possible Social Engineering Attempted", LLC_SUSPICIOUS_ACTIVITY,  \
      6)                                                                                           \
    X(51, "coin-mining", "Crypto Currency Mining Activity Detected", LLC_MALICIOUS_SOFTWARE, 6)    \
    X(52, "command-and-control", "Malware Command and Control Activity Detected", LLC_BOTNET, 9)   \
    X(53, "malware-cnc", "Known malware command and control traffic", LLC_BOTNET, 9)               \
    X(54, "file-format", "Known malicious file or file based exploit", LLC_MALICIOUS_SOFTWARE, 8)  \
    X(55, "client-side-exploit", "Known client side exploit attempt", LLC_MISC_EXPLOIT, 8)         \
    X(56, "sdf", "Sensitive Data was Transmitted Across the Network", LLC_DATA_LOSS, 6)

/* QID number for an alert whose classification matched nothing in IDS_CLASSES. */
#define IDS_CLASS_NONE 1

/* QID number of a classtype given by description or short name; IDS_CLASS_NONE if unknown. */
uint32_t dsm_app_ids_class(const char *p, size_t n);

/* Event severity from an IDS priority / Suricata severity (1 = highest); 0 when out of range. */
static inline uint8_t app_ids_severity(int prio)
{
    switch (prio) {
    case 1:
        return 8;
    case 2:
        return 6;
    case 3:
        return 4;
    case 4:
        return 2;
    default:
        return 0;
    }
}

/* One "fast" alert line (Suricata fast.log, Snort alert_fast, or their syslog form). */
struct app_ids_fast {
    const char *time, *sid, *msg, *cls, *proto, *src, *dst;
    size_t time_len, sid_len, msg_len, cls_len, proto_len, src_len, dst_len;
    int priority;    /* 0 when absent */
    int year_digits; /* 4 for "mm/dd/yyyy-", 2 for "mm/dd/yy-", 0 when no year or no time */
};

/* Parses an alert line starting at p (time optional); false when it is not one. */
bool dsm_app_ids_fast_parse(const char *p, size_t n, struct app_ids_fast *out);
/* Time of a fast alert ("mm/dd[/yy[yy]]-hh:mm:ss.ffffff"); the year when absent is the one of
 * ref_ms (the receive time). False when unparsable. */
bool dsm_app_ids_fast_time(const char *p, size_t n, int tz_min, int64_t ref_ms, int64_t *ms);
/* Sets addresses, protocol, properties and the classification QID of a fast alert on ev. */
void dsm_app_ids_fast_apply(const struct app_ids_fast *a, uint16_t type, struct strm_event *ev,
                            struct dsm_props *pr, const struct dsm_ctx *ctx);

/* ---------------------------------------------------------------- JSON (dsm_suricata.c) */

/*
 * A zero-allocation walk over one JSON object, for the JSON-speaking DSMs (Suricata EVE,
 * Snort alert_json, Zeek): every scalar member is reported with its dotted path
 * ("alert.signature", "id.orig_h", "dns.queries.rrname": arrays are transparent) and its raw
 * text (strings without their quotes and still escaped; see escaped). A DSM lists the paths it
 * wants in a table of app_jfield; dsm_app_json_collect keeps the first value of each, so the
 * event is only touched after the whole object proved well-formed.
 */
enum app_jtype { APP_J_STR, APP_J_NUM, APP_J_TRUE, APP_J_FALSE, APP_J_NULL };

struct app_jval {
    const char *p; /* NULL when the member was absent */
    uint32_t n;
    uint8_t type; /* enum app_jtype */
    bool escaped; /* the string holds backslash escapes */
};

struct app_jfield {
    const char *path;
    uint8_t path_len;
    const char *prop; /* property name to emit, or NULL */
};
#define APP_JF(path, prop)                                                                         \
    {                                                                                              \
        path, (uint8_t)(sizeof(path) - 1), prop                                                    \
    }
#define APP_JSON_MAX_FIELDS 64

struct app_jslots {
    const struct app_jfield *fields;
    size_t n;
    struct app_jval v[APP_JSON_MAX_FIELDS];
};

/* Walks p[0..n) (one object, trailing whitespace allowed) and fills s->v for the paths in
 * s->fields (first occurrence wins). False when the text is not a well-formed object. */
bool dsm_app_json_collect(const char *p, size_t n, struct app_jslots *s);
/* Unescapes a JSON string body into out (UTF-8, at most cap bytes); its length. */
size_t dsm_app_json_unescape(const char *p, size_t n, char *out, size_t cap);
/* Adds the fields that have a prop name and a non-null value, in table order. */
void dsm_app_json_props(const struct app_jslots *s, struct dsm_props *pr);

/* The value of field i as a string slice (unescaped into buf when needed); false if absent. */
static inline bool app_jstr(const struct app_jslots *s, size_t i, char *buf, size_t cap,
                            const char **p, size_t *n)
{
    const struct app_jval *v = &s->v[i];
    if (!v->p || v->type == APP_J_NULL) return false;
    if (v->escaped) {
        *n = dsm_app_json_unescape(v->p, v->n, buf, cap);
        *p = buf;
    } else {
        *p = v->p;
        *n = v->n;
    }
    return true;
}

/* The value of field i as an unsigned integer (a JSON number or a numeric string). */
static inline bool app_juint(const struct app_jslots *s, size_t i, uint64_t max, uint64_t *out)
{
    const struct app_jval *v = &s->v[i];
    return v->p && (v->type == APP_J_NUM || v->type == APP_J_STR) &&
           dsm_parse_uint(v->p, v->n, max, out);
}

#endif
