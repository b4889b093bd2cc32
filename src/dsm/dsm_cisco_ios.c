/*
 * dsm_cisco_ios.c - Cisco IOS, IOS XE and NX-OS routers and switches.
 *
 * Messages carry "%FACILITY-SEVERITY-MNEMONIC: text", usually after a sequence number and
 * the device's own timestamp: "123: *Mar  1 18:46:11.123: %SEC-6-IPACCESSLOGP: list 101
 * denied tcp 10.1.1.1(1234) -> 10.2.2.2(80), 1 packet". The event id is FACILITY-MNEMONIC
 * without the severity (SEC-IPACCESSLOGP), looked up in a sorted map; a few are refined by a
 * word of the text (permitted/denied, Succeeded/Failed, up/down). The mnemonic starts with a
 * letter, which keeps ASA/FTD ("%ASA-6-302013") out.
 *
 * The device timestamp before the marker ("Mar  1 18:46:11.123 UTC" or with a year) becomes
 * devicetime, in its zone when it names UTC/GMT, else ctx->tz_min; the year comes from
 * starttime. A leading '*' (clock not synchronized) or '.' (lost sync) makes it untrusted:
 * the syslog header time stays.
 *
 * Recognition: the marker must be within the first 200 bytes of the message (or of the
 * payload when the syslog parser took the sequence number for a header). Reads are bounded;
 * no allocation outside the arena.
 */
#include "dsm/dsm.h"

#include <string.h>

#define T DSM_T_CISCO_IOS
#define N(a) (sizeof(a) / sizeof((a)[0]))

enum {
    Q_ACL_PERMIT = 1,
    Q_ACL_DENY,
    Q_LOGIN_SUCCESS,
    Q_LOGIN_FAILED,
    Q_LOGIN_QUIET,
    Q_CONFIG,
    Q_RESTART,
    Q_RELOAD,
    Q_LINK_UPDOWN,
    Q_LINK_DOWN,
    Q_LINEPROTO,
    Q_SSH_SESSION,
    Q_SSH_AUTH_OK,
    Q_SSH_AUTH_FAIL,
    Q_SSH_CLOSE,
    Q_CMD_LOGGED,
    Q_AUTHPRIV,
    Q_AUTH_FAIL,
    Q_IF_DOWN,
    Q_IF_UP,
    Q_LOGOUT,
};

static const struct qid_def ios_qids[] = {
    {DSM_QID(T, Q_ACL_PERMIT), "IOS Access List Permitted",
     "A packet was permitted by an access list", LLC_ACL_PERMIT, 1},
    {DSM_QID(T, Q_ACL_DENY), "IOS Access List Denied", "A packet was denied by an access list",
     LLC_ACL_DENY, 4},
    {DSM_QID(T, Q_LOGIN_SUCCESS), "IOS Login Succeeded", "A user logged in to the device",
     LLC_ADMIN_LOGIN_SUCCEEDED, 3},
    {DSM_QID(T, Q_LOGIN_FAILED), "IOS Login Failed", "A login to the device failed",
     LLC_ADMIN_LOGIN_FAILED, 6},
    {DSM_QID(T, Q_LOGIN_QUIET), "IOS Login Quiet Mode",
     "Login block (quiet mode) after repeated failures", LLC_USER_ACCOUNT_LOCKED, 7},
    {DSM_QID(T, Q_CONFIG), "IOS Configuration Changed", "The configuration was changed",
     LLC_DEVICE_CONFIG_CHANGE, 4},
    {DSM_QID(T, Q_RESTART), "IOS System Restarted", "The system restarted", LLC_SYSTEM_BOOT, 5},
    {DSM_QID(T, Q_RELOAD), "IOS Reload Requested", "A reload was requested", LLC_SYSTEM_HALT, 5},
    {DSM_QID(T, Q_LINK_UPDOWN), "IOS Interface Up", "An interface changed state to up",
     LLC_SYSTEM_STATUS, 2},
    {DSM_QID(T, Q_LINK_DOWN), "IOS Interface Down", "An interface changed state to down",
     LLC_SYSTEM_STATUS, 4},
    {DSM_QID(T, Q_LINEPROTO), "IOS Line Protocol State Changed",
     "The line protocol of an interface changed state", LLC_SYSTEM_STATUS, 2},
    {DSM_QID(T, Q_SSH_SESSION), "IOS SSH Session Requested", "An SSH session was requested",
     LLC_AUTH_SESSION_OPENED, 2},
    {DSM_QID(T, Q_SSH_AUTH_OK), "IOS SSH Login Succeeded", "SSH user authentication succeeded",
     LLC_SSH_LOGIN_SUCCEEDED, 3},
    {DSM_QID(T, Q_SSH_AUTH_FAIL), "IOS SSH Login Failed", "SSH user authentication failed",
     LLC_SSH_LOGIN_FAILED, 6},
    {DSM_QID(T, Q_SSH_CLOSE), "IOS SSH Session Closed", "An SSH session was closed",
     LLC_AUTH_SESSION_CLOSED, 1},
    {DSM_QID(T, Q_CMD_LOGGED), "IOS Command Logged",
     "A configuration command was logged (archive log)", LLC_AUDIT_USER_ACTION, 3},
    {DSM_QID(T, Q_AUTHPRIV), "NX-OS Authentication Message", "NX-OS PAM/authentication message",
     LLC_AUTH_UNKNOWN, 3},
    {DSM_QID(T, Q_AUTH_FAIL), "NX-OS Authentication Failed", "NX-OS authentication failed",
     LLC_ADMIN_LOGIN_FAILED, 6},
    {DSM_QID(T, Q_IF_DOWN), "NX-OS Interface Down", "An NX-OS interface went down",
     LLC_SYSTEM_STATUS, 4},
    {DSM_QID(T, Q_IF_UP), "NX-OS Interface Up", "An NX-OS interface came up", LLC_SYSTEM_STATUS, 2},
    {DSM_QID(T, Q_LOGOUT), "IOS Logout", "A user logged out", LLC_HOST_LOGOUT, 1},
    {DSM_QID_UNKNOWN(T), "Cisco IOS Unknown Event", "An IOS/NX-OS message this DSM does not map",
     LLC_UNKNOWN, 3},
};

/* Sorted by event id (strcmp). */
static const struct dsm_qid_map ios_map[] = {
    {"AUTHPRIV-SYSTEM_MSG", DSM_QID(T, Q_AUTHPRIV)},
    {"ETHPORT-IF_DOWN_ADMIN_DOWN", DSM_QID(T, Q_IF_DOWN)},
    {"ETHPORT-IF_DOWN_LINK_FAILURE", DSM_QID(T, Q_IF_DOWN)},
    {"ETHPORT-IF_UP", DSM_QID(T, Q_IF_UP)},
    {"LINEPROTO-UPDOWN", DSM_QID(T, Q_LINEPROTO)},
    {"LINK-CHANGED", DSM_QID(T, Q_LINK_UPDOWN)},
    {"LINK-UPDOWN", DSM_QID(T, Q_LINK_UPDOWN)},
    {"PARSER-CFGLOG_LOGGEDCMD", DSM_QID(T, Q_CMD_LOGGED)},
    {"SEC-IPACCESSLOGDP", DSM_QID(T, Q_ACL_PERMIT)},
    {"SEC-IPACCESSLOGNP", DSM_QID(T, Q_ACL_PERMIT)},
    {"SEC-IPACCESSLOGP", DSM_QID(T, Q_ACL_PERMIT)},
    {"SEC-IPACCESSLOGRP", DSM_QID(T, Q_ACL_PERMIT)},
    {"SEC-IPACCESSLOGS", DSM_QID(T, Q_ACL_PERMIT)},
    {"SEC_LOGIN-LOGIN_FAILED", DSM_QID(T, Q_LOGIN_FAILED)},
    {"SEC_LOGIN-LOGIN_SUCCESS", DSM_QID(T, Q_LOGIN_SUCCESS)},
    {"SEC_LOGIN-QUIET_MODE_ON", DSM_QID(T, Q_LOGIN_QUIET)},
    {"SSH-SSH2_CLOSE", DSM_QID(T, Q_SSH_CLOSE)},
    {"SSH-SSH2_SESSION", DSM_QID(T, Q_SSH_SESSION)},
    {"SSH-SSH2_USERAUTH", DSM_QID(T, Q_SSH_AUTH_OK)},
    {"SYS-CONFIG_I", DSM_QID(T, Q_CONFIG)},
    {"SYS-LOGOUT", DSM_QID(T, Q_LOGOUT)},
    {"SYS-RELOAD", DSM_QID(T, Q_RELOAD)},
    {"SYS-RESTART", DSM_QID(T, Q_RESTART)},
    {"VSHD-VSHD_SYSLOG_CONFIG_I", DSM_QID(T, Q_CONFIG)},
};

static inline const char *ifind(const char *p, const char *e, const char *lit, size_t n)
{
    if (p >= e) return NULL;
    return strm_memmem(p, (size_t)(e - p), lit, n);
}
#define IFIND(p, e, lit) ifind(p, e, lit, sizeof(lit) - 1)

static inline bool up_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* Finds "%FAC-N-MNEMONIC:" in [p, p+lim); sets facility and mnemonic spans. */
static const char *ios_marker(const char *p, const char *e, size_t lim, const char **fac,
                              size_t *facl, const char **mn, size_t *mnl, char *sev)
{
    const char *end = p + lim < e ? p + lim : e;
    const char *q = p;
    while (q < end && (q = memchr(q, '%', (size_t)(end - q))) != NULL) {
        const char *a = q + 1, *b = a;
        while (b < e && up_char(*b))
            b++;
        if (b > a && *a >= 'A' && *a <= 'Z' && b + 3 < e && b[0] == '-' && b[1] >= '0' &&
            b[1] <= '7' && b[2] == '-' && b[3] >= 'A' && b[3] <= 'Z') {
            const char *c = b + 3, *d = c;
            while (d < e && up_char(*d))
                d++;
            if (d < e && *d == ':') {
                *fac = a;
                *facl = (size_t)(b - a);
                *mn = c;
                *mnl = (size_t)(d - c);
                *sev = b[1];
                return d + 1;
            }
        }
        q++;
    }
    return NULL;
}

static const char ios_months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static bool rd_num(const char **pp, const char *e, int maxd, int *out)
{
    const char *p = *pp;
    int v = 0, n = 0;
    while (p < e && *p >= '0' && *p <= '9' && n < maxd) {
        v = v * 10 + (*p - '0');
        p++;
        n++;
    }
    if (!n) return false;
    *out = v;
    *pp = p;
    return true;
}

/*
 * "[*|.]Mmm dd [yyyy ]hh:mm:ss[.fff][ ZONE]" somewhere in [p,e) (the text before the marker).
 */
static void ios_devicetime(struct strm_event *ev, const char *p, const char *e,
                           const struct dsm_ctx *ctx)
{
    for (const char *q = p; q + 15 <= e; q++) {
        int mon = -1;
        for (int i = 0; i < 12; i++)
            if (memcmp(q, ios_months[i], 3) == 0) {
                mon = i;
                break;
            }
        if (mon < 0 || q[3] != ' ') continue;
        if (q > p && (q[-1] == '*' || q[-1] == '.')) return; /* clock not synchronized */
        const char *r = q + 4;
        while (r < e && *r == ' ')
            r++;
        int day, year = -1, hh, mm, ss, ms = 0;
        if (!rd_num(&r, e, 2, &day) || r >= e || *r != ' ') return;
        r++;
        const char *save = r;
        int y;
        if (rd_num(&r, e, 4, &y) && r - save == 4 && r < e && *r == ' ') {
            year = y;
            r++;
        } else {
            r = save;
        }
        if (!rd_num(&r, e, 2, &hh) || r >= e || *r++ != ':' || !rd_num(&r, e, 2, &mm) || r >= e ||
            *r++ != ':' || !rd_num(&r, e, 2, &ss))
            return;
        if (r < e && *r == '.') {
            r++;
            const char *f = r;
            int fr = 0;
            if (rd_num(&r, e, 3, &fr)) {
                int digits = (int)(r - f);
                ms = digits == 1 ? fr * 100 : digits == 2 ? fr * 10 : fr;
            }
            while (r < e && *r >= '0' && *r <= '9')
                r++;
        }
        int tz = ctx->tz_min;
        if (r + 4 <= e && r[0] == ' ' &&
            (memcmp(r + 1, "UTC", 3) == 0 || memcmp(r + 1, "GMT", 3) == 0))
            tz = 0;
        if (day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60) return;
        if (year < 0) {
            int64_t st = ev->starttime > 0 ? ev->starttime : 0;
            int64_t days = st / 86400000;
            /* civil year of starttime */
            int64_t z = days + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
            unsigned doe = (unsigned)(z - era * 146097);
            unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
            int64_t yy = (int64_t)yoe + era * 400;
            unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
            unsigned mp = (5 * doy + 2) / 153;
            unsigned smon = mp < 10 ? mp + 3 : mp - 9;
            if (smon <= 2) yy++;
            year = (int)yy;
            /* a date far ahead of starttime belongs to the previous year */
            int64_t t0 = days_from_civil(year, (unsigned)mon + 1, (unsigned)day);
            if (t0 > days + 1) year--;
        }
        int64_t d = days_from_civil(year, (unsigned)mon + 1, (unsigned)day);
        int64_t t = ((d * 24 + hh) * 60 + mm) * 60 + ss;
        t -= (int64_t)tz * 60;
        ev->devicetime = t * 1000 + ms;
        return;
    }
}

/* "a.b.c.d(port)" or "a.b.c.d" token */
static void ios_ipport(const char *a, const char *b, struct strm_ip *ip, uint16_t *port)
{
    while (b > a && (b[-1] == ',' || b[-1] == '.'))
        b--;
    const char *o = memchr(a, '(', (size_t)(b - a));
    if (o && b[-1] == ')') {
        dsm_set_ip(ip, a, (size_t)(o - a));
        dsm_set_port(port, o + 1, (size_t)(b - 1 - o - 1));
    } else {
        dsm_set_ip(ip, a, (size_t)(b - a));
    }
}

static const char *tok_end(const char *p, const char *e)
{
    while (p < e && *p != ' ')
        p++;
    return p;
}

/* "list 101 denied tcp 10.1.1.1(1234) [(If mac)] -> 10.2.2.2(80), 1 packet" */
static void ios_acl(struct strm_event *ev, struct dsm_props *pr, const char *p, const char *e,
                    uint32_t *qn, bool standard)
{
    const char *l = IFIND(p, e, "list ");
    if (!l) return;
    const char *a = l + 5, *b = tok_end(a, e);
    dsm_props_add(pr, "acl", a, (size_t)(b - a));
    a = b < e ? b + 1 : e;
    b = tok_end(a, e);
    dsm_props_add(pr, "action", a, (size_t)(b - a));
    if (b - a >= 6 && memcmp(a, "denied", 6) == 0) *qn = Q_ACL_DENY;
    a = b < e ? b + 1 : e;
    if (!standard) {
        b = tok_end(a, e);
        ev->protocolid = dsm_protocol(a, (size_t)(b - a));
        a = b < e ? b + 1 : e;
    }
    b = tok_end(a, e);
    ios_ipport(a, b, &ev->sourceip, &ev->sourceport);
    const char *arrow = IFIND(b, e, "-> ");
    if (arrow) {
        a = arrow + 3;
        b = tok_end(a, e);
        ios_ipport(a, b, &ev->destinationip, &ev->destinationport);
    }
    /* interface and MAC of the sender: "(GigabitEthernet0/0 0011.2233.4455)" */
    const char *o = memchr(p, '(', (size_t)(e - p));
    while (o && o < e) {
        const char *c = memchr(o, ')', (size_t)(e - o));
        if (!c) break;
        const char *sp = memchr(o, ' ', (size_t)(c - o));
        if (sp && c - sp == 15 && sp[5] == '.' && sp[10] == '.') {
            dsm_props_add(pr, "ifin", o + 1, (size_t)(sp - o - 1));
            /* Cisco MAC "0011.2233.4455" -> bytes */
            uint8_t mac[6];
            int k = 0;
            bool ok = true;
            for (const char *h = sp + 1; h < c && k < 12; h++) {
                if (*h == '.') continue;
                int v = (*h >= '0' && *h <= '9')   ? *h - '0'
                        : (*h >= 'a' && *h <= 'f') ? *h - 'a' + 10
                        : (*h >= 'A' && *h <= 'F') ? *h - 'A' + 10
                                                   : -1;
                if (v < 0) {
                    ok = false;
                    break;
                }
                if (k % 2 == 0)
                    mac[k / 2] = (uint8_t)(v << 4);
                else
                    mac[k / 2] |= (uint8_t)v;
                k++;
            }
            if (ok && k == 12) memcpy(ev->sourcemac, mac, 6);
            break;
        }
        o = memchr(c, '(', (size_t)(e - c));
    }
    const char *pk = IFIND(p, e, ", ");
    if (pk) {
        a = pk + 2;
        b = tok_end(a, e);
        dsm_props_add(pr, "packets", a, (size_t)(b - a));
    }
}

/* "[key: value]" (SEC_LOGIN) */
static bool ios_bracket(const char *p, const char *e, const char *key, size_t kl, const char **v,
                        size_t *vl)
{
    const char *q = ifind(p, e, key, kl);
    if (!q) return false;
    const char *a = q + kl, *b = memchr(a, ']', (size_t)(e - a));
    if (!b) return false;
    *v = a;
    *vl = (size_t)(b - a);
    return true;
}

static bool ios_quoted(const char *p, const char *e, const char *lead, size_t ll, const char **v,
                       size_t *vl)
{
    const char *q = ifind(p, e, lead, ll);
    if (!q) return false;
    const char *a = q + ll, *b = memchr(a, '\'', (size_t)(e - a));
    if (!b) return false;
    *v = a;
    *vl = (size_t)(b - a);
    return true;
}

static void ios_word_after(struct strm_event *ev, const char *p, const char *e, const char *lead,
                           size_t ll, struct strm_ip *ip)
{
    const char *q = ifind(p, e, lead, ll);
    if (!q) return;
    const char *a = q + ll, *b = a;
    while (b < e && *b != ' ' && *b != ')' && *b != ',' && *b != '@')
        b++;
    (void)ev;
    dsm_set_ip(ip, a, (size_t)(b - a));
}

static bool ios_parse(struct strm_event *ev, struct strm_arena *arena, const struct dsm_ctx *ctx)
{
    const char *fac, *mn, *text = NULL;
    size_t facl, mnl;
    char sev;
    const char *base = ev->message.p, *e = NULL;
    if (base && ev->message.len > 10) {
        e = base + ev->message.len;
        text = ios_marker(base, e, 200, &fac, &facl, &mn, &mnl, &sev);
    }
    if (!text) {
        base = ev->payload.p;
        if (!base || ev->payload.len < 10) return false;
        e = base + ev->payload.len;
        text = ios_marker(base, e, 240, &fac, &facl, &mn, &mnl, &sev);
        if (!text) return false;
    }
    /* not ours: ASA-family marks are digits after the severity and never reach here */
    char id[96];
    if (facl + 1 + mnl >= sizeof(id)) return false;
    memcpy(id, fac, facl);
    id[facl] = '-';
    memcpy(id + facl + 1, mn, mnl);
    size_t idl = facl + 1 + mnl;
    id[idl] = '\0';
    uint32_t qid = dsm_qid_find(ios_map, N(ios_map), id, idl, DSM_QID_UNKNOWN(T));
    uint32_t qn = qid == DSM_QID_UNKNOWN(T) ? 0 : qid - DSM_QID(T, 0);
    while (text < e && *text == ' ')
        text++;
    struct dsm_props pr;
    dsm_props_init(&pr);
    dsm_props_add(&pr, "eventid", id, idl);
    const char *v;
    size_t n;
    switch (qn) {
    case Q_ACL_PERMIT:
        ios_acl(ev, &pr, text, e, &qn, mnl == 12 && mn[11] == 'S');
        break;
    case Q_LOGIN_SUCCESS:
    case Q_LOGIN_FAILED:
    case Q_LOGIN_QUIET:
        if (ios_bracket(text, e, "[user: ", 7, &v, &n) && n)
            dsm_set_str(&ev->username, arena, v, n);
        if (ios_bracket(text, e, "[Source: ", 9, &v, &n)) dsm_set_ip(&ev->sourceip, v, n);
        if (ios_bracket(text, e, "[localport: ", 12, &v, &n))
            dsm_set_port(&ev->destinationport, v, n);
        if (ios_bracket(text, e, "[Reason: ", 9, &v, &n)) dsm_props_add(&pr, "reason", v, n);
        break;
    case Q_LOGOUT: {
        /* "User admin has exited tty session 2(10.0.0.50)" */
        const char *u = IFIND(text, e, "User ");
        if (u) {
            const char *a = u + 5, *b = tok_end(a, e);
            if (b > a) dsm_set_str(&ev->username, arena, a, (size_t)(b - a));
        }
        const char *o = memchr(text, '(', (size_t)(e - text));
        if (o) {
            const char *c = memchr(o, ')', (size_t)(e - o));
            if (c) dsm_set_ip(&ev->sourceip, o + 1, (size_t)(c - o - 1));
        }
        break;
    }
    case Q_RELOAD:
    case Q_CONFIG: {
        /* "Configured from console by admin on vty0 (10.0.0.5)" / NX-OS "... by admin on
           10.0.0.5@pts/0" */
        const char *by = IFIND(text, e, " by ");
        if (by) {
            const char *a = by + 4, *b = tok_end(a, e);
            if (b > a) dsm_set_str(&ev->username, arena, a, (size_t)(b - a));
            const char *o = IFIND(b, e, "(");
            if (o) {
                const char *c = memchr(o, ')', (size_t)(e - o));
                if (c) dsm_set_ip(&ev->sourceip, o + 1, (size_t)(c - o - 1));
            } else {
                ios_word_after(ev, b, e, " on ", 4, &ev->sourceip);
            }
        }
        break;
    }
    case Q_LINK_UPDOWN:
    case Q_LINEPROTO: {
        /* "Interface Gi0/1, changed state to down" */
        const char *i = IFIND(text, e, "Interface ");
        if (i) {
            const char *a = i + 10, *b = a;
            while (b < e && *b != ',' && *b != ' ')
                b++;
            dsm_props_add(&pr, "interface", a, (size_t)(b - a));
        }
        const char *st = IFIND(text, e, "state to ");
        if (st) {
            const char *a = st + 9, *b = e;
            dsm_props_add(&pr, "state", a, (size_t)(b - a));
            if (qn == Q_LINK_UPDOWN && (b - a >= 4 && memcmp(a, "down", 4) == 0)) qn = Q_LINK_DOWN;
            if (qn == Q_LINK_UPDOWN && (b - a >= 14 && memcmp(a, "administrative", 14) == 0))
                qn = Q_LINK_DOWN;
        }
        break;
    }
    case Q_IF_DOWN:
    case Q_IF_UP: {
        const char *i = IFIND(text, e, "Interface ");
        if (i) {
            const char *a = i + 10, *b = tok_end(a, e);
            while (b > a && b[-1] == ',')
                b--;
            dsm_props_add(&pr, "interface", a, (size_t)(b - a));
        }
        break;
    }
    case Q_SSH_SESSION:
    case Q_SSH_AUTH_OK:
    case Q_SSH_CLOSE:
        if (ios_quoted(text, e, "User '", 6, &v, &n) || ios_quoted(text, e, "user '", 6, &v, &n))
            if (n) dsm_set_str(&ev->username, arena, v, n);
        ios_word_after(ev, text, e, " from ", 6, &ev->sourceip);
        if (qn == Q_SSH_AUTH_OK && IFIND(text, e, "Failed")) qn = Q_SSH_AUTH_FAIL;
        break;
    case Q_CMD_LOGGED: {
        /* "User:admin  logged command:interface Gi0/1" */
        const char *u = IFIND(text, e, "User:");
        if (u) {
            const char *a = u + 5, *b = a;
            while (b < e && *b != ' ' && *b != '@')
                b++;
            if (b > a) dsm_set_str(&ev->username, arena, a, (size_t)(b - a));
        }
        const char *c = IFIND(text, e, "command:");
        if (c) dsm_props_add(&pr, "command", c + 8, (size_t)(e - c - 8));
        break;
    }
    case Q_AUTHPRIV: {
        if (IFIND(text, e, "failed") || IFIND(text, e, "failure")) qn = Q_AUTH_FAIL;
        const char *u = IFIND(text, e, "for user ");
        if (!u) u = IFIND(text, e, "user=");
        if (u) {
            const char *a = u + (u[4] == '=' ? 5 : 9), *b = a;
            while (b < e && *b != ' ' && *b != ',' && *b != ')')
                b++;
            if (b > a) dsm_set_str(&ev->username, arena, a, (size_t)(b - a));
        }
        ios_word_after(ev, text, e, " from ", 6, &ev->sourceip);
        ios_word_after(ev, text, e, "rhost=", 6, &ev->sourceip);
        break;
    }
    default:
        break;
    }
    if (qn) qid = DSM_QID(T, qn);
    ios_devicetime(ev, base, text, ctx);
    dsm_props_commit(&pr, ev, arena);
    dsm_set_qid(ev, qid);
    ev->devicetype = T;
    return true;
}

const struct dsm_def dsm_cisco_ios = {
    .name = "cisco_ios",
    .display = "Cisco IOS",
    .type_id = T,
    .qids = ios_qids,
    .n_qids = N(ios_qids),
    .init = NULL,
    .parse = ios_parse,
};
