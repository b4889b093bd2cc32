/*
 * dsm.h - the interface of src/dsm: device support modules (DSMs), the QID map and the
 * STRM category taxonomy.
 *
 * A DSM recognizes the lines of one kind of device and normalizes them: it fills the event's
 * fields (device time, addresses, ports, protocol, user, NAT addresses, MACs, custom
 * properties) and maps the device's own event id to a QID. A QID is the normalized event
 * identity: a name, a description, a low-level category (which implies the high-level one)
 * and a default severity.
 *
 * Adding a DSM is one file (src/dsm/dsm_<name>.c defining a `const struct dsm_def`) and one
 * row in its group's table (registry_*.c). Its QIDs are a static table in the same file.
 *
 * Threads: dsm_init() once at start; everything else is read-only afterwards and safe to call
 * from any number of parser threads (user QIDs added at run time go through qid_add, which
 * publishes under a lock).
 */
#ifndef STRM_DSM_H
#define STRM_DSM_H

#include "core/core.h"
#include "core/strsearch.h"

#include <string.h>

/* ---------------------------------------------------------------- categories */

/* High-level categories (STRM's IDs, steps of 1000). */
enum dsm_hlc {
    HLC_RECON = 1000,
    HLC_DOS = 2000,
    HLC_AUTHENTICATION = 3000,
    HLC_ACCESS = 4000,
    HLC_EXPLOIT = 5000,
    HLC_MALWARE = 6000,
    HLC_SUSPICIOUS = 7000,
    HLC_SYSTEM = 8000,
    HLC_POLICY = 9000,
    HLC_UNKNOWN = 10000,
    HLC_CRE = 12000,
    HLC_POTENTIAL_EXPLOIT = 13000,
    HLC_FLOW = 14000,
    HLC_USER_DEFINED = 15000,
    HLC_SIM_AUDIT = 16000,
    HLC_VIS_HOST_DISCOVERY = 17000,
    HLC_APPLICATION = 18000,
    HLC_AUDIT = 19000,
    HLC_RISK = 20000,
};

/*
 * Low-level categories used by the DSMs (id = its high-level id + n). The names and default
 * severities live in category.c; the high-level category of a low-level id is id / 1000 * 1000.
 */
enum dsm_llc {
    /* Recon */
    LLC_RECON_UNKNOWN = 1001,
    LLC_APPLICATION_QUERY = 1002,
    LLC_HOST_QUERY = 1003,
    LLC_NETWORK_SWEEP = 1004,
    LLC_MAIL_RECON = 1005,
    LLC_WINDOWS_RECON = 1006,
    LLC_PORTMAP_RPC_REQUEST = 1007,
    LLC_HOST_PORT_SCAN = 1008,
    LLC_DNS_RECON = 1010,
    LLC_MISC_RECON = 1011,
    LLC_WEB_RECON = 1012,
    LLC_ICMP_RECON = 1014,
    LLC_UDP_RECON = 1015,
    LLC_SNMP_RECON = 1016,
    LLC_TCP_RECON = 1020,
    /* DoS */
    LLC_DOS_UNKNOWN = 2001,
    LLC_ICMP_DOS = 2002,
    LLC_TCP_DOS = 2003,
    LLC_UDP_DOS = 2004,
    LLC_DNS_DOS = 2005,
    LLC_WEB_DOS = 2006,
    LLC_MAIL_DOS = 2007,
    LLC_DISTRIBUTED_DOS = 2008,
    LLC_MISC_DOS = 2009,
    LLC_FLOOD = 2010,
    /* Authentication */
    LLC_AUTH_UNKNOWN = 3001,
    LLC_HOST_LOGIN_SUCCEEDED = 3002,
    LLC_HOST_LOGIN_FAILED = 3003,
    LLC_MISC_LOGIN_SUCCEEDED = 3004,
    LLC_MISC_LOGIN_FAILED = 3005,
    LLC_PRIV_ESCALATION_FAILED = 3006,
    LLC_PRIV_ESCALATION_SUCCEEDED = 3007,
    LLC_MAIL_LOGIN_SUCCEEDED = 3008,
    LLC_MAIL_LOGIN_FAILED = 3009,
    LLC_AUTH_SERVER_LOGIN_FAILED = 3010,
    LLC_AUTH_SERVER_LOGIN_SUCCEEDED = 3011,
    LLC_WEB_LOGIN_SUCCEEDED = 3012,
    LLC_WEB_LOGIN_FAILED = 3013,
    LLC_ADMIN_LOGIN_SUCCEEDED = 3014,
    LLC_ADMIN_LOGIN_FAILED = 3015,
    LLC_SUSPICIOUS_USERNAME = 3016,
    LLC_FTP_LOGIN_SUCCEEDED = 3019,
    LLC_FTP_LOGIN_FAILED = 3020,
    LLC_SSH_LOGIN_SUCCEEDED = 3021,
    LLC_SSH_LOGIN_FAILED = 3022,
    LLC_USER_RIGHT_ASSIGNED = 3023,
    LLC_USER_RIGHT_REMOVED = 3024,
    LLC_POLICY_CHANGE = 3030,
    LLC_USER_ACCOUNT_ADDED = 3031,
    LLC_USER_ACCOUNT_CHANGED = 3032,
    LLC_PASSWORD_CHANGE_FAILED = 3033,
    LLC_PASSWORD_CHANGE_SUCCEEDED = 3034,
    LLC_USER_ACCOUNT_REMOVED = 3035,
    LLC_GROUP_MEMBER_ADDED = 3036,
    LLC_GROUP_MEMBER_REMOVED = 3037,
    LLC_GROUP_ADDED = 3038,
    LLC_GROUP_CHANGED = 3039,
    LLC_GROUP_REMOVED = 3040,
    LLC_REMOTE_ACCESS_LOGIN_SUCCEEDED = 3044,
    LLC_REMOTE_ACCESS_LOGIN_FAILED = 3045,
    LLC_GENERAL_AUTH_SUCCEEDED = 3046,
    LLC_GENERAL_AUTH_FAILED = 3047,
    LLC_TELNET_LOGIN_SUCCEEDED = 3048,
    LLC_TELNET_LOGIN_FAILED = 3049,
    LLC_AUTH_SESSION_OPENED = 3053,
    LLC_AUTH_SESSION_CLOSED = 3054,
    LLC_HOST_LOGOUT = 3056,
    LLC_USER_ACCOUNT_LOCKED = 3057,
    LLC_USER_ACCOUNT_UNLOCKED = 3058,
    LLC_VPN_LOGIN_SUCCEEDED = 3060,
    LLC_VPN_LOGIN_FAILED = 3061,
    LLC_VPN_LOGOUT = 3062,
    /* Access */
    LLC_ACCESS_UNKNOWN = 4001,
    LLC_FIREWALL_PERMIT = 4002,
    LLC_FIREWALL_DENY = 4003,
    LLC_MISC_NETWORK_COMMUNICATION = 4005,
    LLC_IPS_DENY = 4006,
    LLC_FIREWALL_SESSION_OPENED = 4007,
    LLC_FIREWALL_SESSION_CLOSED = 4008,
    LLC_NAT_SUCCEEDED = 4009,
    LLC_MISC_AUTHORIZATION = 4011,
    LLC_ACL_PERMIT = 4012,
    LLC_ACL_DENY = 4013,
    LLC_ACCESS_PERMITTED = 4014,
    LLC_ACCESS_DENIED = 4015,
    LLC_SESSION_OPENED = 4016,
    LLC_SESSION_CLOSED = 4017,
    LLC_SESSION_RESET = 4018,
    LLC_SESSION_TERMINATED = 4019,
    LLC_SESSION_DENIED = 4020,
    LLC_UNAUTHORIZED_ACCESS = 4026,
    LLC_APP_ACTION_ALLOWED = 4027,
    LLC_APP_ACTION_DENIED = 4028,
    LLC_FTP_ACTION_ALLOWED = 4031,
    LLC_FTP_ACTION_DENIED = 4032,
    LLC_OBJECT_CACHED = 4033,
    LLC_OBJECT_NOT_CACHED = 4034,
    LLC_RATE_LIMITING = 4035,
    LLC_WEB_ACCESS_ALLOWED = 4036,
    LLC_WEB_ACCESS_DENIED = 4037,
    LLC_DNS_QUERY = 4040,
    LLC_MAIL_DELIVERED = 4041,
    LLC_MAIL_REJECTED = 4042,
    /* Exploit */
    LLC_EXPLOIT_UNKNOWN = 5001,
    LLC_BUFFER_OVERFLOW = 5002,
    LLC_DNS_EXPLOIT = 5003,
    LLC_LINUX_EXPLOIT = 5005,
    LLC_WINDOWS_EXPLOIT = 5007,
    LLC_MAIL_EXPLOIT = 5008,
    LLC_MISC_EXPLOIT = 5010,
    LLC_WEB_EXPLOIT = 5011,
    LLC_PASSWORD_GUESS = 5014,
    LLC_DATABASE_EXPLOIT = 5015,
    LLC_SQL_INJECTION = 5019,
    LLC_CROSS_SITE_SCRIPTING = 5020,
    /* Malware */
    LLC_MALWARE_UNKNOWN = 6001,
    LLC_BACKDOOR = 6002,
    LLC_HOSTILE_MAIL_ATTACHMENT = 6003,
    LLC_MALICIOUS_SOFTWARE = 6004,
    LLC_SPYWARE = 6006,
    LLC_VIRUS_DETECTED = 6007,
    LLC_MISC_MALWARE = 6008,
    LLC_TROJAN = 6009,
    LLC_BOTNET = 6011,
    /* Suspicious activity */
    LLC_SUSPICIOUS_UNKNOWN = 7001,
    LLC_SUSPICIOUS_PATTERN = 7002,
    LLC_CONTENT_MODIFIED_BY_FIREWALL = 7003,
    LLC_INVALID_COMMAND = 7004,
    LLC_SUSPICIOUS_PACKET = 7005,
    LLC_SUSPICIOUS_ACTIVITY = 7006,
    LLC_SUSPICIOUS_FILE_NAME = 7007,
    LLC_SUSPICIOUS_PORT_ACTIVITY = 7008,
    LLC_SUSPICIOUS_ROUTING = 7009,
    LLC_POTENTIAL_WEB_VULNERABILITY = 7010,
    LLC_EVASION = 7011,
    LLC_IP_SPOOF = 7012,
    LLC_IP_FRAGMENTATION = 7013,
    LLC_OVERLAPPING_FRAGMENTS = 7014,
    LLC_IDS_EVASION = 7015,
    LLC_DNS_PROTOCOL_ANOMALY = 7016,
    /* System */
    LLC_SYSTEM_UNKNOWN = 8001,
    LLC_SYSTEM_BOOT = 8002,
    LLC_SYSTEM_CONFIGURATION = 8003,
    LLC_SYSTEM_HALT = 8004,
    LLC_SYSTEM_FAILURE = 8005,
    LLC_SYSTEM_STATUS = 8006,
    LLC_SYSTEM_ERROR = 8007,
    LLC_MISC_SYSTEM = 8008,
    LLC_SERVICE_STARTED = 8009,
    LLC_SERVICE_STOPPED = 8010,
    LLC_SERVICE_FAILURE = 8011,
    LLC_FILE_MODIFIED = 8014,
    LLC_CONFIG_MODIFIED = 8017,
    LLC_SOFTWARE_INSTALLED = 8026,
    LLC_SYSTEM_INFORMATION = 8027,
    LLC_SYSTEM_WARNING = 8028,
    LLC_SYSTEM_ERROR_MSG = 8029,
    LLC_SYSTEM_CRITICAL = 8030,
    LLC_SYSTEM_DEBUG = 8031,
    LLC_SYSTEM_NOTICE = 8036,
    LLC_PROCESS_CREATED = 8049,
    LLC_PROCESS_TERMINATED = 8050,
    LLC_SCHEDULED_TASK = 8052,
    LLC_DEVICE_CONFIG_CHANGE = 8055,
    LLC_HEALTH_STATUS = 8060,
    /* Policy */
    LLC_POLICY_UNKNOWN = 9001,
    LLC_WEB_POLICY_VIOLATION = 9002,
    LLC_REMOTE_ACCESS_POLICY_VIOLATION = 9003,
    LLC_IM_POLICY_VIOLATION = 9004,
    LLC_P2P_POLICY_VIOLATION = 9005,
    LLC_IP_ACCESS_POLICY_VIOLATION = 9006,
    LLC_APP_POLICY_VIOLATION = 9007,
    LLC_MISC_POLICY_VIOLATION = 9012,
    LLC_COMPLIANCE_VIOLATION = 9013,
    LLC_MAIL_POLICY_VIOLATION = 9014,
    LLC_DATA_LOSS = 9015,
    /* Unknown */
    LLC_UNKNOWN = 10001,
    LLC_STORED = 10009, /* SIM Generic: stored, not normalized */
    /* Audit, Application */
    LLC_AUDIT_UNKNOWN = 19001,
    LLC_AUDIT_CONFIG_CHANGE = 19002,
    LLC_AUDIT_USER_ACTION = 19003,
    LLC_APPLICATION_UNKNOWN = 18001,
    LLC_APPLICATION_INFO = 18002,
    LLC_APPLICATION_ERROR = 18003,
};

struct dsm_category {
    uint16_t id;
    const char *name;
    uint8_t severity; /* default 0-10 */
};

/* The category with this id (low or high level), or NULL. */
const struct dsm_category *dsm_category_get(uint16_t id);
/* Name of a low- or high-level category; "Unknown" when not found. */
const char *dsm_category_name(uint16_t id);
static inline uint16_t dsm_category_high(uint16_t llc)
{
    return (uint16_t)(llc / 1000 * 1000);
}
/* All categories, for listing; *n receives the count. */
const struct dsm_category *dsm_category_all(size_t *n);

/* ---------------------------------------------------------------- substring search */

/* strm_memmem (core/strsearch.h): the DSMs' substring search, shared with AQL's LIKE. */

/* ---------------------------------------------------------------- QID map */

struct qid_def {
    uint32_t qid;
    const char *name; /* e.g. "SSH Login Failed" */
    const char *description;
    uint16_t category; /* low-level category */
    uint8_t severity;  /* default 0-10 */
};

/*
 * QID numbering: each DSM has a device type id T (1..9999) and owns QIDs T*100000 + n.
 * T*100000 + 99999 is its "unknown event" QID. User QIDs (qid_add) start at 2,000,000,000.
 */
#define DSM_QID(type, n) ((uint32_t)(type)*100000u + (uint32_t)(n))
#define DSM_QID_UNKNOWN(type) DSM_QID(type, 99999)
#define QID_GENERIC_STORED 1u /* SIM Generic Log: not recognized by any DSM */
#define QID_USER_BASE 2000000000u

const struct qid_def *qid_lookup(uint32_t qid);
/* Adds a user QID at run time; assigns its number into *out. */
int qid_add(const char *name, const char *description, uint16_t category, uint8_t severity,
            uint32_t *out);

/* ---------------------------------------------------------------- DSMs */

/* Maps a device's event id (text) to a QID; tables are sorted by event_id (strcmp). */
struct dsm_qid_map {
    const char *event_id;
    uint32_t qid;
};

/* What a DSM knows about where the line came from. */
struct dsm_ctx {
    int tz_min;    /* zone for device times without one: minutes east of UTC (log source
                      setting, else the collector's local offset) */
    uint16_t hint; /* device type of the sender's log source, 0 = unknown */
};

/*
 * Device type ids (the devicetype column; QIDs of a DSM are DSM_QID(type, n)). One per DSM,
 * fixed forever once assigned.
 */
enum dsm_type {
    DSM_T_LINUX = 10,
    DSM_T_WINDOWS = 11,
    DSM_T_JUNOS = 20,
    DSM_T_NETSCREEN = 21,
    DSM_T_CISCO_ASA = 22,
    DSM_T_CISCO_IOS = 23,
    DSM_T_PANOS = 24,
    DSM_T_FORTIGATE = 25,
    DSM_T_CHECKPOINT = 26,
    DSM_T_PFSENSE = 27,
    DSM_T_SOPHOS = 28,
    DSM_T_APACHE = 40,
    DSM_T_NGINX = 41,
    DSM_T_IIS = 42,
    DSM_T_SQUID = 43,
    DSM_T_BIND = 44,
    DSM_T_POSTFIX = 45,
    DSM_T_OPENVPN = 46,
    DSM_T_SURICATA = 47,
    DSM_T_SNORT = 48,
    DSM_T_ZEEK = 49,
    DSM_T_CEF = 90,
    DSM_T_LEEF = 91,
    DSM_T_JSON = 92,
    DSM_T_KV = 93,
};

struct dsm_def {
    const char *name;           /* short id used in configs and CLI, e.g. "junos" */
    const char *display;        /* log source type name, e.g. "Juniper Junos OS" */
    uint16_t type_id;           /* device type id: devicetype column, QID range */
    const struct qid_def *qids; /* this DSM's QIDs (including its unknown QID) */
    size_t n_qids;
    /* Optional: compile patterns once; 0 or an error. */
    int (*init)(void);
    /*
     * Recognize and normalize one event whose syslog header is already parsed (hostname,
     * appname, procid, devicetime, message, payload set; when the syslog header could not be
     * parsed, message is the whole payload and STRM_EV_UNPARSED is set: a DSM may still
     * recognize such a line, e.g. a bare JSON object). Returns true if the line is this
     * device's: then it has set at least qid (via dsm_set_qid) and whatever fields it found.
     * Returns false without touching ev otherwise. Must be fast to reject (check appname or a
     * prefix first), must never read outside ev->message/payload, never allocate except in
     * arena.
     */
    bool (*parse)(struct strm_event *ev, struct strm_arena *arena, const struct dsm_ctx *ctx);
};

/* Registry groups, each a NULL-terminated table in its own file. */
extern const struct dsm_def
    *const dsm_group_generic[];                     /* registry_generic.c: CEF, LEEF, JSON, kv */
extern const struct dsm_def *const dsm_group_os[];  /* registry_os.c: Linux, Windows */
extern const struct dsm_def *const dsm_group_net[]; /* registry_net.c: firewalls, routers */
extern const struct dsm_def *const dsm_group_app[]; /* registry_app.c: web, mail, DNS, IDS */

/* Calls every DSM's init and indexes all QIDs. Call once before anything else. */
int dsm_init(void);
/* Every registered DSM in try order (specific vendors first, generic formats last). */
const struct dsm_def *const *dsm_all(size_t *n);
const struct dsm_def *dsm_by_type(uint16_t type_id);
const struct dsm_def *dsm_by_name(const char *name);

/*
 * Runs the DSMs on ev: the one with type id `hint` first (the log source's type, 0 = none),
 * then all others in order. Returns the DSM that recognized the line (ev->devicetype set) or
 * NULL (ev gets QID_GENERIC_STORED and category LLC_STORED). The hint is ctx->hint.
 */
const struct dsm_def *dsm_parse(struct strm_event *ev, struct strm_arena *arena,
                                const struct dsm_ctx *ctx);

/*
 * A parser thread's memory of which DSM took a sender's lines of one kind: keyed by
 * (hostname, appname, the message's first token), it names the specific (non-generic) DSM
 * that last recognized such a line after the hint failed. A sender that mixes formats (a
 * relay, or a host running several programs) then costs one or two parse attempts per line
 * instead of a walk over the registry. The caller owns it (one per thread, zeroed before
 * first use; no locking). Only a guess: a DSM that no longer recognizes the line is simply
 * skipped by the walk that follows.
 */
#define DSM_MEMO_SLOTS 4096 /* power of two */
struct dsm_memo {
    struct {
        uint32_t tag; /* 0 = empty */
        uint16_t type;
    } slot[DSM_MEMO_SLOTS];
};
/*
 * dsm_parse, trying after the hint the DSM the memo names for lines like ev (memo may be
 * NULL: plain dsm_parse). Generic DSMs (CEF, LEEF, JSON, key=value) are never memorized: a
 * vendor DSM earlier in the registry must keep its chance at lines in those formats.
 */
const struct dsm_def *dsm_parse_memo(struct strm_event *ev, struct strm_arena *arena,
                                     const struct dsm_ctx *ctx, struct dsm_memo *memo);

/* ---------------------------------------------------------------- helpers for DSM authors */

/* Sets qid, category, highlevelcategory and severity (the QID's default) on ev. */
void dsm_set_qid(struct strm_event *ev, uint32_t qid);
/* Binary search in a sorted map; returns the QID or `fallback`. */
uint32_t dsm_qid_find(const struct dsm_qid_map *map, size_t n, const char *id, size_t len,
                      uint32_t fallback);
/* Parses an unsigned decimal of exactly len bytes; false if not a number or > max. */
bool dsm_parse_uint(const char *p, size_t len, uint64_t max, uint64_t *out);
bool dsm_set_ip(struct strm_ip *ip, const char *p, size_t len);
bool dsm_set_port(uint16_t *port, const char *p, size_t len);
/* IANA protocol number from a name ("tcp", "UDP", "icmp", "6"...); 0 when unknown. */
uint8_t dsm_protocol(const char *p, size_t len);
/* Parses "aa:bb:cc:dd:ee:ff" or "aa-bb-..." into 6 bytes. */
bool dsm_set_mac(uint8_t mac[6], const char *p, size_t len);
/* Copies text into the arena and points s at it. */
void dsm_set_str(struct strm_str *s, struct strm_arena *arena, const char *p, size_t len);

/* Time formats devices use; all return ms since the epoch (UTC) or false. */
enum dsm_time_fmt {
    DSM_TIME_ISO8601,     /* 2024-05-01T12:00:00[.fff][Z|+hh:mm|+hhmm]; space instead of T ok */
    DSM_TIME_YMD_HMS,     /* 2024/05/01 12:00:00 or 2024-05-01 12:00:00 (zone from tz_min) */
    DSM_TIME_CLF,         /* 01/May/2024:12:00:00 +0200 (Apache/nginx) */
    DSM_TIME_MON_D_Y_HMS, /* May 01 2024 12:00:00 or May  1 2024 12:00:00 (Cisco ASA) */
    DSM_TIME_EPOCH,       /* seconds, with optional .fraction; or ms when 13 digits */
};
/* tz_min: the zone to assume (minutes east of UTC) when the text carries none. */
bool dsm_parse_time(enum dsm_time_fmt fmt, const char *p, size_t len, int tz_min, int64_t *ms);

/*
 * key=value scanning: calls fn for each pair in p[0..len). Pairs are separated by `sep`
 * (e.g. ' ' or ',' or '\t'); values may be "double quoted" (quotes removed, \" kept as is).
 * A key is [A-Za-z0-9_.-]+. Returns the number of pairs. fn returns false to stop.
 */
typedef bool (*dsm_kv_fn)(const char *k, size_t klen, const char *v, size_t vlen, void *arg);
int dsm_kv_scan(const char *p, size_t len, char sep, dsm_kv_fn fn, void *arg);

/*
 * Custom properties: named extra fields stored in the event's `properties` column as
 * "key=value" pairs separated by TAB (TAB, LF and backslash in values are escaped as \t \n
 * \\). Build in a fixed buffer, then commit once into the arena.
 */
struct dsm_props {
    char buf[2048];
    size_t len;
    bool overflow;
};
void dsm_props_init(struct dsm_props *pr);
void dsm_props_add(struct dsm_props *pr, const char *key, const char *v, size_t vlen);
void dsm_props_commit(struct dsm_props *pr, struct strm_event *ev, struct strm_arena *arena);
/* Looks up one property of an event's properties text; false when absent. */
bool dsm_props_get(struct strm_str props, const char *key, char *out, size_t outlen);

/*
 * CEF and LEEF, shared by the generic DSMs and by vendors that send them (PAN-OS LEEF,
 * FortiGate/Check Point CEF): header split and extension scanning. Escaped values (CEF \=,
 * \\, \n; LEEF none) are unescaped into arena when needed.
 */
struct dsm_cef {
    int version;
    struct strm_str vendor, product, dev_version, signature, name, severity;
    const char *ext; /* the extension: key=value pairs separated by spaces */
    size_t ext_len;
};
/* Finds "CEF:" in p[0..len) (after an optional syslog prefix) and splits the header. */
bool dsm_cef_header(const char *p, size_t len, struct dsm_cef *out);
/* Calls fn for each extension pair (values may contain spaces, as CEF allows). */
int dsm_cef_scan(const struct dsm_cef *h, struct strm_arena *arena, dsm_kv_fn fn, void *arg);

struct dsm_leef {
    int major, minor; /* 1.0 or 2.0 */
    struct strm_str vendor, product, dev_version, event_id;
    char delim; /* attribute delimiter: TAB for 1.0, the header's choice for 2.0 */
    const char *attrs;
    size_t attrs_len;
};
bool dsm_leef_header(const char *p, size_t len, struct dsm_leef *out);
int dsm_leef_scan(const struct dsm_leef *h, dsm_kv_fn fn, void *arg);

/* Case-insensitive search for needle in p[0..len); pointer to the match or NULL. */
const char *dsm_memcasemem(const char *p, size_t len, const char *needle);

#endif
