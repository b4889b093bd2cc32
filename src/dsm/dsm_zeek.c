/*
 * dsm_zeek.c - Zeek (formerly Bro) network security monitor: JSON logs (LogAscii::use_json)
 * shipped one record per line: conn, notice, dns, http, ssl, ssh, weird, files, intel.
 *
 * Which log a record comes from is its "_path" when the shipper kept it, else it is read from
 * the keys only that log has: "note" (notice), "conn_state" (conn), "qtype_name"/"rcode_name"
 * (dns), "status_code"/"method"+"uri" (http), "auth_success"/"auth_attempts" (ssh),
 * "server_name"/"cipher" (ssl), "seen.indicator" (intel), "fuid" (files), "name" (weird).
 * Before parsing the message must start with '{' and hold "ts" plus "id.orig_h", "_path",
 * "fuid" or "note" (the generic JSON DSM comes later and must get every other object).
 *
 * conn_state gives the QID of a conn record (S0 no reply -> recon, REJ rejected, SF normal,
 * RSTO/RSTR reset, SH/RSTOS0 half-open, S1/S2/S3 partial, OTH midstream); the notice type
 * (Scan::Port_Scan, SSH::Password_Guessing...) the QID of a notice. The 4-tuple comes from
 * id.orig_h/p and id.resp_h/p (notice: src/dst/p). ts is epoch seconds (default) or ISO 8601.
 *
 * JSON is read with the shared zero-allocation walker (dsm_app_json_collect in dsm_suricata.c).
 *
 * Invariants: reads stay inside ev->message; nothing is allocated outside the arena; the event
 * is touched only after the whole object was found well-formed.
 */
#include "dsm/app_common.h"

#define T DSM_T_ZEEK

enum {
    Q_S0 = 1,
    Q_REJ,
    Q_SF,
    Q_S1,
    Q_PARTIAL_CLOSE,
    Q_RESET,
    Q_HALF_OPEN,
    Q_RESPONDER_ONLY,
    Q_MIDSTREAM,
    Q_NOTICE = 20,
    Q_PORT_SCAN,
    Q_ADDRESS_SCAN,
    Q_PASSWORD_GUESS,
    Q_INVALID_CERT,
    Q_SQLI,
    Q_GUESSER_LOGIN,
    Q_VULN_SOFTWARE,
    Q_MALWARE_HASH,
    Q_INTEL_NOTICE,
    Q_CAPTURE_LOSS,
    Q_CERT_EXPIRED,
    Q_DNS = 40,
    Q_DNS_ERROR,
    Q_HTTP = 50,
    Q_HTTP_ERROR,
    Q_SSL = 60,
    Q_SSH_OK = 70,
    Q_SSH_FAILED,
    Q_SSH,
    Q_WEIRD = 80,
    Q_FILE = 90,
    Q_INTEL = 91,
};

static const struct qid_def zeek_qids[] = {
    {DSM_QID(T, Q_S0), "Zeek Connection Attempt Without Reply",
     "conn_state S0: connection attempt seen, no reply", LLC_MISC_RECON, 3},
    {DSM_QID(T, Q_REJ), "Zeek Connection Rejected", "conn_state REJ: connection attempt rejected",
     LLC_SESSION_DENIED, 3},
    {DSM_QID(T, Q_SF), "Zeek Connection Closed Normally",
     "conn_state SF: normal establishment and termination", LLC_SESSION_CLOSED, 1},
    {DSM_QID(T, Q_S1), "Zeek Connection Established",
     "conn_state S1: connection established, not terminated", LLC_SESSION_OPENED, 1},
    {DSM_QID(T, Q_PARTIAL_CLOSE), "Zeek Connection Partially Closed",
     "conn_state S2/S3: close attempt by one side only", LLC_SESSION_CLOSED, 1},
    {DSM_QID(T, Q_RESET), "Zeek Connection Reset", "conn_state RSTO/RSTR: established, then reset",
     LLC_SESSION_RESET, 2},
    {DSM_QID(T, Q_HALF_OPEN), "Zeek Half-Open Connection Attempt",
     "conn_state SH/RSTOS0: SYN then FIN/RST without a SYN-ACK (scan-like)", LLC_TCP_RECON, 4},
    {DSM_QID(T, Q_RESPONDER_ONLY), "Zeek Responder-Only Connection",
     "conn_state SHR/RSTRH: SYN-ACK seen without the originator's SYN", LLC_SUSPICIOUS_PACKET, 3},
    {DSM_QID(T, Q_MIDSTREAM), "Zeek Midstream Traffic", "conn_state OTH: no SYN seen",
     LLC_MISC_NETWORK_COMMUNICATION, 1},
    {DSM_QID(T, Q_NOTICE), "Zeek Notice", "A notice without a specific mapping",
     LLC_SUSPICIOUS_ACTIVITY, 5},
    {DSM_QID(T, Q_PORT_SCAN), "Zeek Port Scan", "Scan::Port_Scan", LLC_HOST_PORT_SCAN, 6},
    {DSM_QID(T, Q_ADDRESS_SCAN), "Zeek Address Scan", "Scan::Address_Scan", LLC_NETWORK_SWEEP, 6},
    {DSM_QID(T, Q_PASSWORD_GUESS), "Zeek SSH Password Guessing", "SSH::Password_Guessing",
     LLC_PASSWORD_GUESS, 7},
    {DSM_QID(T, Q_INVALID_CERT), "Zeek Invalid Server Certificate", "SSL::Invalid_Server_Cert",
     LLC_SUSPICIOUS_ACTIVITY, 4},
    {DSM_QID(T, Q_SQLI), "Zeek SQL Injection", "HTTP::SQL_Injection_Attacker / _Victim",
     LLC_SQL_INJECTION, 7},
    {DSM_QID(T, Q_GUESSER_LOGIN), "Zeek Login by Password Guesser",
     "SSH::Login_By_Password_Guesser", LLC_PASSWORD_GUESS, 8},
    {DSM_QID(T, Q_VULN_SOFTWARE), "Zeek Vulnerable Software", "Software::Vulnerable_Version",
     LLC_POTENTIAL_WEB_VULNERABILITY, 4},
    {DSM_QID(T, Q_MALWARE_HASH), "Zeek Malware Hash Match", "TeamCymruMalwareHashRegistry::Match",
     LLC_MALICIOUS_SOFTWARE, 8},
    {DSM_QID(T, Q_INTEL_NOTICE), "Zeek Intel Notice", "Intel::Notice", LLC_SUSPICIOUS_ACTIVITY, 6},
    {DSM_QID(T, Q_CAPTURE_LOSS), "Zeek Capture Loss", "CaptureLoss::Too_Much_Loss",
     LLC_HEALTH_STATUS, 3},
    {DSM_QID(T, Q_CERT_EXPIRED), "Zeek Certificate Expired", "SSL::Certificate_Expired",
     LLC_SUSPICIOUS_ACTIVITY, 3},
    {DSM_QID(T, Q_DNS), "Zeek DNS Query", "dns.log record", LLC_DNS_QUERY, 1},
    {DSM_QID(T, Q_DNS_ERROR), "Zeek DNS Query Error", "dns.log record with a non-NOERROR rcode",
     LLC_DNS_QUERY, 2},
    {DSM_QID(T, Q_HTTP), "Zeek HTTP Request", "http.log record", LLC_WEB_ACCESS_ALLOWED, 1},
    {DSM_QID(T, Q_HTTP_ERROR), "Zeek HTTP Error Response", "http.log record with status >= 400",
     LLC_WEB_ACCESS_DENIED, 2},
    {DSM_QID(T, Q_SSL), "Zeek TLS Session", "ssl.log record", LLC_MISC_NETWORK_COMMUNICATION, 1},
    {DSM_QID(T, Q_SSH_OK), "Zeek SSH Login Succeeded", "ssh.log auth_success true",
     LLC_SSH_LOGIN_SUCCEEDED, 2},
    {DSM_QID(T, Q_SSH_FAILED), "Zeek SSH Login Failed", "ssh.log auth_success false",
     LLC_SSH_LOGIN_FAILED, 4},
    {DSM_QID(T, Q_SSH), "Zeek SSH Session", "ssh.log record without an authentication result",
     LLC_SESSION_OPENED, 1},
    {DSM_QID(T, Q_WEIRD), "Zeek Protocol Weirdness", "weird.log record", LLC_SUSPICIOUS_PACKET, 3},
    {DSM_QID(T, Q_FILE), "Zeek File Transferred", "files.log record",
     LLC_MISC_NETWORK_COMMUNICATION, 1},
    {DSM_QID(T, Q_INTEL), "Zeek Intel Match", "intel.log: an indicator was seen",
     LLC_SUSPICIOUS_ACTIVITY, 6},
    {DSM_QID_UNKNOWN(T), "Zeek Unknown Event", "A Zeek record that has no mapping", LLC_UNKNOWN, 3},
};

static const struct dsm_qid_map conn_states[] = {
    {"OTH", DSM_QID(T, Q_MIDSTREAM)},
    {"REJ", DSM_QID(T, Q_REJ)},
    {"RSTO", DSM_QID(T, Q_RESET)},
    {"RSTOS0", DSM_QID(T, Q_HALF_OPEN)},
    {"RSTR", DSM_QID(T, Q_RESET)},
    {"RSTRH", DSM_QID(T, Q_RESPONDER_ONLY)},
    {"S0", DSM_QID(T, Q_S0)},
    {"S1", DSM_QID(T, Q_S1)},
    {"S2", DSM_QID(T, Q_PARTIAL_CLOSE)},
    {"S3", DSM_QID(T, Q_PARTIAL_CLOSE)},
    {"SF", DSM_QID(T, Q_SF)},
    {"SH", DSM_QID(T, Q_HALF_OPEN)},
    {"SHR", DSM_QID(T, Q_RESPONDER_ONLY)},
};

static const struct dsm_qid_map notes[] = {
    {"CaptureLoss::Too_Much_Loss", DSM_QID(T, Q_CAPTURE_LOSS)},
    {"HTTP::SQL_Injection_Attacker", DSM_QID(T, Q_SQLI)},
    {"HTTP::SQL_Injection_Victim", DSM_QID(T, Q_SQLI)},
    {"Intel::Notice", DSM_QID(T, Q_INTEL_NOTICE)},
    {"SSH::Login_By_Password_Guesser", DSM_QID(T, Q_GUESSER_LOGIN)},
    {"SSH::Password_Guessing", DSM_QID(T, Q_PASSWORD_GUESS)},
    {"SSL::Certificate_Expired", DSM_QID(T, Q_CERT_EXPIRED)},
    {"SSL::Invalid_Server_Cert", DSM_QID(T, Q_INVALID_CERT)},
    {"Scan::Address_Scan", DSM_QID(T, Q_ADDRESS_SCAN)},
    {"Scan::Port_Scan", DSM_QID(T, Q_PORT_SCAN)},
    {"Software::Vulnerable_Version", DSM_QID(T, Q_VULN_SOFTWARE)},
    {"TeamCymruMalwareHashRegistry::Match", DSM_QID(T, Q_MALWARE_HASH)},
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

enum {
    F_TS,
    F_PATH,
    F_ORIG_H,
    F_ORIG_P,
    F_RESP_H,
    F_RESP_P,
    F_PROTO,
    F_CONN_STATE,
    F_NOTE,
    F_SRC,
    F_DST,
    F_P,
    F_QTYPE,
    F_RCODE,
    F_STATUS,
    F_METHOD,
    F_URI,
    F_AUTH_SUCCESS,
    F_AUTH_ATTEMPTS,
    F_SERVER_NAME,
    F_CIPHER,
    F_INDICATOR,
    F_FUID,
    F_NAME,
};

/* Paths read from a Zeek record; the ones with a property name become properties. */
static const struct app_jfield zeek_fields[] = {
    [F_TS] = APP_JF("ts", NULL),
    [F_PATH] = APP_JF("_path", "log"),
    [F_ORIG_H] = APP_JF("id.orig_h", NULL),
    [F_ORIG_P] = APP_JF("id.orig_p", NULL),
    [F_RESP_H] = APP_JF("id.resp_h", NULL),
    [F_RESP_P] = APP_JF("id.resp_p", NULL),
    [F_PROTO] = APP_JF("proto", NULL),
    [F_CONN_STATE] = APP_JF("conn_state", "conn_state"),
    [F_NOTE] = APP_JF("note", "note"),
    [F_SRC] = APP_JF("src", NULL),
    [F_DST] = APP_JF("dst", NULL),
    [F_P] = APP_JF("p", NULL),
    [F_QTYPE] = APP_JF("qtype_name", "qtype"),
    [F_RCODE] = APP_JF("rcode_name", "rcode"),
    [F_STATUS] = APP_JF("status_code", "status"),
    [F_METHOD] = APP_JF("method", "method"),
    [F_URI] = APP_JF("uri", "url"),
    [F_AUTH_SUCCESS] = APP_JF("auth_success", "auth_success"),
    [F_AUTH_ATTEMPTS] = APP_JF("auth_attempts", "auth_attempts"),
    [F_SERVER_NAME] = APP_JF("server_name", "server_name"),
    [F_CIPHER] = APP_JF("cipher", "cipher"),
    [F_INDICATOR] = APP_JF("seen.indicator", "indicator"),
    [F_FUID] = APP_JF("fuid", "fuid"),
    [F_NAME] = APP_JF("name", "weird"),
    APP_JF("uid", "uid"),
    APP_JF("service", "service"),
    APP_JF("duration", "duration"),
    APP_JF("orig_bytes", "orig_bytes"),
    APP_JF("resp_bytes", "resp_bytes"),
    APP_JF("msg", "msg"),
    APP_JF("sub", "sub"),
    APP_JF("query", "query"),
    APP_JF("host", "host"),
    APP_JF("user_agent", "user_agent"),
    APP_JF("username", "http_user"),
    APP_JF("version", "version"),
    APP_JF("client", "client_software"),
    APP_JF("server", "server_software"),
    APP_JF("addl", "addl"),
    APP_JF("source", "source"),
    APP_JF("mime_type", "mime_type"),
    APP_JF("filename", "filename"),
    APP_JF("sha256", "sha256"),
    APP_JF("seen.indicator_type", "indicator_type"),
};

#define HAS(f) (s.v[f].p != NULL)

static bool zeek_parse(struct strm_event *ev, struct strm_arena *arena, const struct dsm_ctx *ctx)
{
    const char *m = ev->message.p;
    size_t n = ev->message.len;
    if (!m || n < 8) return false;
    while (n && *m == ' ')
        m++, n--;
    if (!n || m[0] != '{' || !app_find(m, n, "\"ts\"")) return false;
    if (!app_find(m, n, "\"id.orig_h\"") && !app_find(m, n, "\"_path\"") &&
        !app_find(m, n, "\"fuid\"") && !app_find(m, n, "\"note\""))
        return false;
    struct app_jslots s;
    s.fields = zeek_fields;
    s.n = N(zeek_fields);
    if (!dsm_app_json_collect(m, n, &s) || !HAS(F_TS)) return false;
    char buf[256];
    const char *p, *path = NULL;
    size_t l, pl = 0;
    char kind = 0; /* c n d h s S w f i */
    if (app_jstr(&s, F_PATH, buf, sizeof buf, &path, &pl)) {
        static const struct {
            const char *path;
            char kind;
        } paths[] = {{"conn", 'c'}, {"notice", 'n'}, {"dns", 'd'},   {"http", 'h'}, {"ssl", 's'},
                     {"ssh", 'S'},  {"weird", 'w'},  {"files", 'f'}, {"intel", 'i'}};
        for (size_t i = 0; i < N(paths); i++)
            if (app_eq(path, pl, paths[i].path)) kind = paths[i].kind;
    } else if (HAS(F_NOTE))
        kind = 'n';
    else if (HAS(F_CONN_STATE))
        kind = 'c';
    else if (HAS(F_QTYPE) || HAS(F_RCODE))
        kind = 'd';
    else if (HAS(F_STATUS) || (HAS(F_METHOD) && HAS(F_URI)))
        kind = 'h';
    else if (HAS(F_AUTH_SUCCESS) || HAS(F_AUTH_ATTEMPTS))
        kind = 'S';
    else if (HAS(F_SERVER_NAME) || HAS(F_CIPHER))
        kind = 's';
    else if (HAS(F_INDICATOR))
        kind = 'i';
    else if (HAS(F_FUID))
        kind = 'f';
    else if (HAS(F_NAME))
        kind = 'w';

    uint32_t qid = DSM_QID_UNKNOWN(T);
    uint64_t u;
    switch (kind) {
    case 'c':
        if (app_jstr(&s, F_CONN_STATE, buf, sizeof buf, &p, &l))
            qid = dsm_qid_find(conn_states, N(conn_states), p, l, qid);
        break;
    case 'n':
        qid = DSM_QID(T, Q_NOTICE);
        if (app_jstr(&s, F_NOTE, buf, sizeof buf, &p, &l))
            qid = dsm_qid_find(notes, N(notes), p, l, qid);
        break;
    case 'd':
        qid = DSM_QID(T, app_jstr(&s, F_RCODE, buf, sizeof buf, &p, &l) && !app_eq(p, l, "NOERROR")
                             ? Q_DNS_ERROR
                             : Q_DNS);
        break;
    case 'h':
        qid = DSM_QID(T, app_juint(&s, F_STATUS, 999, &u) && u >= 400 ? Q_HTTP_ERROR : Q_HTTP);
        break;
    case 's':
        qid = DSM_QID(T, Q_SSL);
        break;
    case 'S':
        qid = DSM_QID(T, s.v[F_AUTH_SUCCESS].type == APP_J_TRUE && HAS(F_AUTH_SUCCESS) ? Q_SSH_OK
                         : s.v[F_AUTH_SUCCESS].type == APP_J_FALSE && HAS(F_AUTH_SUCCESS)
                             ? Q_SSH_FAILED
                             : Q_SSH);
        break;
    case 'w':
        qid = DSM_QID(T, Q_WEIRD);
        break;
    case 'f':
        qid = DSM_QID(T, Q_FILE);
        break;
    case 'i':
        qid = DSM_QID(T, Q_INTEL);
        break;
    default:
        break;
    }

    int64_t ms;
    if (s.v[F_TS].type == APP_J_NUM) {
        if (dsm_parse_time(DSM_TIME_EPOCH, s.v[F_TS].p, s.v[F_TS].n, 0, &ms)) ev->devicetime = ms;
    } else if (app_jstr(&s, F_TS, buf, sizeof buf, &p, &l) &&
               dsm_parse_time(DSM_TIME_ISO8601, p, l, ctx->tz_min, &ms)) {
        ev->devicetime = ms;
    }
    if (app_jstr(&s, F_ORIG_H, buf, sizeof buf, &p, &l)) dsm_set_ip(&ev->sourceip, p, l);
    if (app_jstr(&s, F_RESP_H, buf, sizeof buf, &p, &l)) dsm_set_ip(&ev->destinationip, p, l);
    if (app_juint(&s, F_ORIG_P, 65535, &u)) ev->sourceport = (uint16_t)u;
    if (app_juint(&s, F_RESP_P, 65535, &u)) ev->destinationport = (uint16_t)u;
    if (kind == 'n') { /* notices name the hosts src/dst and the port p */
        if (strm_ip_is_null(&ev->sourceip) && app_jstr(&s, F_SRC, buf, sizeof buf, &p, &l))
            dsm_set_ip(&ev->sourceip, p, l);
        if (strm_ip_is_null(&ev->destinationip) && app_jstr(&s, F_DST, buf, sizeof buf, &p, &l))
            dsm_set_ip(&ev->destinationip, p, l);
        if (!ev->destinationport && app_juint(&s, F_P, 65535, &u))
            ev->destinationport = (uint16_t)u;
    }
    if (app_jstr(&s, F_PROTO, buf, sizeof buf, &p, &l))
        ev->protocolid = dsm_protocol(p, l);
    else if (kind == 'h' || kind == 's' || kind == 'S')
        ev->protocolid = 6;
    struct dsm_props pr;
    dsm_props_init(&pr);
    dsm_app_json_props(&s, &pr);
    dsm_props_commit(&pr, ev, arena);
    dsm_set_qid(ev, qid);
    ev->devicetype = T;
    return true;
}

const struct dsm_def dsm_zeek = {
    .name = "zeek",
    .display = "Zeek",
    .type_id = T,
    .qids = zeek_qids,
    .n_qids = sizeof(zeek_qids) / sizeof(zeek_qids[0]),
    .init = NULL,
    .parse = zeek_parse,
};
