/*
 * appid.c - application detection for the packet flow table (QFlow).
 *
 * The flow table hands us the first payload bytes of each direction of a flow (at most a
 * snaplen's worth, often cut short) and the flow's ports. We look at the bytes first:
 *
 *   TCP  TLS ClientHello (SNI) / ServerHello, SSH banner, HTTP request (Host) or response,
 *        SMTP/FTP "220" banner, SMTP EHLO/HELO, POP3 "+OK" and IMAP "* OK" banners,
 *        DNS over TCP on port 53 (length-prefixed);
 *   UDP  DNS: on port 53 any message with a question, on any other port only a message that
 *        parses strictly as a standard query with one question (mDNS, LLMNR, DNS on odd
 *        ports), so random datagrams are not taken for DNS;
 *
 * and fall back to well-known ports when the bytes tell nothing (no payload seen, encrypted,
 * or cut before the interesting part). The detail string is what an analyst searches for:
 * the HTTP Host, the TLS server name, the DNS query name, the SSH banner line, the host an
 * SMTP server or client names itself.
 *
 * Invariants: nothing here reads at or beyond payload[len]; every length on the wire is
 * checked against both its enclosing structure and len. Detail text is printable ASCII
 * (other bytes become '?') and always NUL-terminated; a value that was cut off by the end
 * of the captured bytes is not reported (a partial host name would be a wrong one), except
 * for banner lines, which are informative even when cut.
 */
#include "flow/flow.h"

#include <string.h>

static const char *const appid_names[APPID__COUNT] = {
    [APPID_UNKNOWN] = "Other",
    [APPID_HTTP] = "HTTP",
    [APPID_TLS] = "TLS",
    [APPID_DNS] = "DNS",
    [APPID_SSH] = "SSH",
    [APPID_SMTP] = "SMTP",
    [APPID_FTP] = "FTP",
    [APPID_HTTPS] = "HTTPS",
    [APPID_NTP] = "NTP",
    [APPID_SNMP] = "SNMP",
    [APPID_SYSLOG] = "Syslog",
    [APPID_IMAPS] = "IMAPS",
    [APPID_RDP] = "RDP",
    [APPID_TELNET] = "Telnet",
    [APPID_DHCP] = "DHCP",
    [APPID_POP3] = "POP3",
    [APPID_IMAP] = "IMAP",
    [APPID_NETBIOS] = "NetBIOS",
    [APPID_LDAP] = "LDAP",
    [APPID_SMB] = "SMB",
    [APPID_LDAPS] = "LDAPS",
    [APPID_POP3S] = "POP3S",
    [APPID_MSSQL] = "MSSQL",
    [APPID_MYSQL] = "MySQL",
    [APPID_POSTGRESQL] = "PostgreSQL",
    [APPID_KERBEROS] = "Kerberos",
    [APPID_BGP] = "BGP",
    [APPID_IKE] = "IKE",
    [APPID_SIP] = "SIP",
    [APPID_VNC] = "VNC",
    [APPID_NETFLOW] = "NetFlow",
    [APPID_SFLOW] = "sFlow",
    [APPID_SMTPS] = "SMTPS",
    [APPID_NFS] = "NFS",
    [APPID_OPENVPN] = "OpenVPN",
    [APPID_MDNS] = "mDNS",
};

const char *appid_name(uint32_t id)
{
    if (id < APPID__COUNT && appid_names[id]) return appid_names[id];
    return "Other";
}

/* ---------------------------------------------------------------- helpers */

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

static int lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/* Case-insensitive: do the n bytes at p (n <= avail) begin with the ASCII word w? */
static bool starts_ci(const uint8_t *p, size_t avail, const char *w)
{
    size_t n = strlen(w);
    if (avail < n) return false;
    for (size_t i = 0; i < n; i++)
        if (lower(p[i]) != lower((unsigned char)w[i])) return false;
    return true;
}

static bool contains_ci(const uint8_t *p, size_t n, const char *w)
{
    size_t wl = strlen(w);
    for (size_t i = 0; i + wl <= n; i++)
        if (starts_ci(p + i, n - i, w)) return true;
    return false;
}

/* Copies n bytes as printable ASCII (others become '?'), cut to fit, NUL-terminated. */
static void put_detail(char *detail, size_t size, const uint8_t *s, size_t n)
{
    if (!size) return;
    if (n > size - 1) n = size - 1;
    for (size_t i = 0; i < n; i++)
        detail[i] = s[i] >= 0x20 && s[i] < 0x7f ? (char)s[i] : '?';
    detail[n] = '\0';
}

/* Length of the line at p (up to CR or LF); *terminated tells whether one was found. */
static size_t line_len(const uint8_t *p, size_t n, bool *terminated)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '\r' || p[i] == '\n') {
            *terminated = true;
            return i;
        }
    }
    *terminated = false;
    return n;
}

/* ---------------------------------------------------------------- HTTP */

static const char *const http_methods[] = {"GET ",     "POST ",  "HEAD ",    "PUT ",   "DELETE ",
                                           "OPTIONS ", "PATCH ", "CONNECT ", "TRACE ", "PROPFIND "};

/* The Host header of a request, when its whole line was captured. */
static void http_host(const uint8_t *p, size_t len, char *detail, size_t size)
{
    size_t pos = 0;
    bool term;
    pos = line_len(p, len, &term); /* request line */
    while (term) {
        /* skip the line end (CRLF or a bare LF) */
        if (pos < len && p[pos] == '\r') pos++;
        if (pos < len && p[pos] == '\n') pos++;
        if (pos >= len) return;
        size_t ll = line_len(p + pos, len - pos, &term);
        if (ll == 0) return; /* blank line: end of the headers, no Host */
        if (term && starts_ci(p + pos, ll, "host:")) {
            size_t v = 5;
            while (v < ll && (p[pos + v] == ' ' || p[pos + v] == '\t'))
                v++;
            size_t e = ll;
            while (e > v && (p[pos + e - 1] == ' ' || p[pos + e - 1] == '\t'))
                e--;
            if (e > v) put_detail(detail, size, p + pos + v, e - v);
            return;
        }
        pos += ll;
    }
}

static uint32_t http_detect(const uint8_t *p, size_t len, char *detail, size_t size)
{
    if (len >= 9 && !memcmp(p, "HTTP/1.", 7) && (p[7] == '0' || p[7] == '1') && p[8] == ' ')
        return APPID_HTTP; /* a response: the host is in the other direction */
    for (size_t i = 0; i < sizeof(http_methods) / sizeof(http_methods[0]); i++) {
        size_t ml = strlen(http_methods[i]);
        if (len > ml && !memcmp(p, http_methods[i], ml) && p[ml] != ' ') {
            http_host(p, len, detail, size);
            return APPID_HTTP;
        }
    }
    return APPID_UNKNOWN;
}

/* ---------------------------------------------------------------- TLS */

/*
 * TLS record (type 22 handshake, version 3.x) holding a ClientHello (type 1) or ServerHello
 * (type 2). The SNI is taken from the server_name extension (type 0), host_name entry
 * (type 0). Each nested length is bounded by its container and by the captured bytes.
 */
static uint32_t tls_detect(const uint8_t *p, size_t len, char *detail, size_t size)
{
    if (len < 6 || p[0] != 0x16 || p[1] != 0x03 || p[2] > 0x04) return APPID_UNKNOWN;
    size_t reclen = be16(p + 3);
    if (reclen < 4 || reclen > 16384 + 2048) return APPID_UNKNOWN;
    if (p[5] == 2) return APPID_TLS;
    if (p[5] != 1) return APPID_UNKNOWN;
    size_t end = 5 + reclen;
    if (end > len) end = len;
    if (end < 9) return APPID_TLS;
    size_t hslen = (size_t)p[6] << 16 | (size_t)p[7] << 8 | p[8];
    if (9 + hslen < end) end = 9 + hslen;

    size_t c = 9 + 2 + 32; /* client_version, random */
    if (c + 1 > end) return APPID_TLS;
    c += 1 + (size_t)p[c]; /* session_id */
    if (c + 2 > end) return APPID_TLS;
    c += 2 + (size_t)be16(p + c); /* cipher_suites */
    if (c + 1 > end) return APPID_TLS;
    c += 1 + (size_t)p[c]; /* compression_methods */
    if (c + 2 > end) return APPID_TLS;
    size_t ext_end = c + 2 + (size_t)be16(p + c);
    c += 2;
    if (ext_end > end) ext_end = end;
    while (c + 4 <= ext_end) {
        uint16_t type = be16(p + c);
        size_t elen = be16(p + c + 2);
        c += 4;
        if (c + elen > ext_end) break; /* cut short */
        if (type == 0) {
            size_t e = c + elen;
            if (c + 2 > e) break;
            size_t list_end = c + 2 + (size_t)be16(p + c);
            if (list_end > e) list_end = e;
            size_t n = c + 2;
            while (n + 3 <= list_end) {
                uint8_t ntype = p[n];
                size_t nlen = be16(p + n + 1);
                n += 3;
                if (n + nlen > list_end) break;
                if (ntype == 0 && nlen > 0) {
                    put_detail(detail, size, p + n, nlen);
                    return APPID_TLS;
                }
                n += nlen;
            }
            break;
        }
        c += elen;
    }
    return APPID_TLS;
}

/* ---------------------------------------------------------------- DNS */

#define DNS_MAX_NAME 255
#define DNS_MAX_JUMPS 16

/*
 * Decodes the name at off of the message m[0..len) into out (dotted, "." for the root).
 * Returns the offset just after the name as it sits at off (after its first compression
 * pointer, if any), or 0 when it is malformed or cut short. Loop guard: a pointer must point
 * strictly before the start of the label run it ends, so the runs start ever earlier and the
 * walk ends; jumps and total length are capped as well.
 */
static size_t dns_name(const uint8_t *m, size_t len, size_t off, char *out, size_t outsize)
{
    char name[DNS_MAX_NAME + 2];
    size_t n = 0, wire = 0, after = 0, pos = off, run_start = off;
    int jumps = 0;
    for (;;) {
        if (pos >= len) return 0;
        uint8_t l = m[pos];
        if (l == 0) {
            if (!after) after = pos + 1;
            break;
        }
        if ((l & 0xc0) == 0xc0) {
            if (pos + 1 >= len) return 0;
            size_t ptr = (size_t)(l & 0x3f) << 8 | m[pos + 1];
            if (ptr >= run_start || ++jumps > DNS_MAX_JUMPS) return 0;
            if (!after) after = pos + 2;
            pos = run_start = ptr;
            continue;
        }
        if (l & 0xc0) return 0; /* 0x40/0x80: obsolete or unknown label types */
        if (pos + 1 + l > len) return 0;
        wire += (size_t)l + 1;
        if (wire > DNS_MAX_NAME) return 0;
        if (n) name[n++] = '.';
        memcpy(name + n, m + pos + 1, l);
        n += l;
        pos += 1 + (size_t)l;
    }
    if (n == 0) name[n++] = '.';
    put_detail(out, outsize, (const uint8_t *)name, n);
    return after;
}

/* strict: not on port 53, so only a standard query with exactly one question counts. */
static uint32_t dns_detect(const uint8_t *m, size_t len, bool strict, char *detail, size_t size)
{
    if (len < 12) return APPID_UNKNOWN;
    uint16_t flags = be16(m + 2), qd = be16(m + 4), an = be16(m + 6), ns = be16(m + 8),
             ar = be16(m + 10);
    unsigned qr = flags >> 15, opcode = (flags >> 11) & 0xf, rcode = flags & 0xf;
    if (strict) {
        if (qr || opcode || rcode || (flags & 0x0040) || qd != 1 || an || ns || ar > 1)
            return APPID_UNKNOWN;
    } else if (qd == 0 || opcode > 6) {
        return APPID_UNKNOWN;
    }
    char name[DNS_MAX_NAME + 2];
    size_t q = dns_name(m, len, 12, name, sizeof(name));
    if (!q || q + 4 > len) return APPID_UNKNOWN;
    if (strict) {
        uint16_t qtype = be16(m + q), qclass = be16(m + q + 2) & 0x7fff; /* mDNS QU bit */
        if (qtype == 0 || !(qclass == 1 || qclass == 3 || qclass == 4 || qclass == 255))
            return APPID_UNKNOWN;
        if (!strcmp(name, ".")) return APPID_UNKNOWN;
        if (ar == 0 && q + 4 != len) return APPID_UNKNOWN; /* trailing bytes: not a query */
    }
    if (size) {
        size_t nl = strlen(name);
        if (nl > size - 1) nl = size - 1;
        memcpy(detail, name, nl);
        detail[nl] = '\0';
    }
    return APPID_DNS;
}

/* ---------------------------------------------------------------- banners */

static uint32_t ssh_detect(const uint8_t *p, size_t len, char *detail, size_t size)
{
    if (len < 5 || memcmp(p, "SSH-", 4) != 0 || p[4] < '1' || p[4] > '2') return APPID_UNKNOWN;
    bool term;
    size_t ll = line_len(p, len, &term);
    if (ll > 255) ll = 255; /* RFC 4253: the identification line is at most 255 bytes */
    put_detail(detail, size, p, ll);
    return APPID_SSH;
}

/* The token at p (up to space, CR, LF), only when its end was captured. */
static void put_token(const uint8_t *p, size_t n, char *detail, size_t size)
{
    size_t i = 0;
    while (i < n && p[i] != ' ' && p[i] != '\r' && p[i] != '\n' && p[i] != '\t')
        i++;
    if (i > 0 && i < n) put_detail(detail, size, p, i);
}

static bool port_is(uint16_t sport, uint16_t dport, uint16_t port)
{
    return sport == port || dport == port;
}

static uint32_t banner_detect(const uint8_t *p, size_t len, uint16_t sport, uint16_t dport,
                              char *detail, size_t size)
{
    if (len >= 5 && !memcmp(p, "220", 3) && (p[3] == ' ' || p[3] == '-')) {
        bool term;
        size_t ll = line_len(p, len, &term);
        bool smtp = contains_ci(p, ll, "smtp");
        if (!smtp && (port_is(sport, dport, 21) || contains_ci(p, ll, "ftp"))) {
            put_detail(detail, size, p + 4, ll - 4);
            return APPID_FTP;
        }
        put_token(p + 4, len - 4, detail, size);
        return APPID_SMTP;
    }
    if (starts_ci(p, len, "EHLO ") || starts_ci(p, len, "HELO ")) {
        put_token(p + 5, len - 5, detail, size);
        return APPID_SMTP;
    }
    if (len >= 4 && !memcmp(p, "+OK", 3) && (p[3] == ' ' || p[3] == '\r')) return APPID_POP3;
    if (len >= 5 && !memcmp(p, "* OK", 4) && (p[4] == ' ' || p[4] == '\r')) return APPID_IMAP;
    return APPID_UNKNOWN;
}

/* ---------------------------------------------------------------- ports */

static uint32_t port_app(uint16_t port, uint8_t proto)
{
    bool udp = proto == 17;
    switch (port) {
    case 20:
    case 21:
        return APPID_FTP;
    case 22:
        return APPID_SSH;
    case 23:
        return APPID_TELNET;
    case 25:
    case 587:
    case 2525:
        return APPID_SMTP;
    case 53:
        return APPID_DNS;
    case 67:
    case 68:
        return APPID_DHCP;
    case 80:
    case 8080:
        return APPID_HTTP;
    case 88:
        return APPID_KERBEROS;
    case 110:
        return APPID_POP3;
    case 123:
        return APPID_NTP;
    case 137:
    case 138:
    case 139:
        return APPID_NETBIOS;
    case 143:
        return APPID_IMAP;
    case 161:
    case 162:
        return APPID_SNMP;
    case 179:
        return APPID_BGP;
    case 389:
        return APPID_LDAP;
    case 443:
    case 8443:
        return APPID_HTTPS; /* on UDP: QUIC, HTTP/3 */
    case 445:
        return APPID_SMB;
    case 465:
        return APPID_SMTPS;
    case 500:
    case 4500:
        return udp ? APPID_IKE : APPID_UNKNOWN;
    case 514:
    case 601:
    case 6514:
        return APPID_SYSLOG;
    case 636:
        return APPID_LDAPS;
    case 993:
        return APPID_IMAPS;
    case 995:
        return APPID_POP3S;
    case 1194:
        return APPID_OPENVPN;
    case 1433:
        return APPID_MSSQL;
    case 2049:
        return APPID_NFS;
    case 2055:
    case 4739:
    case 9995:
        return APPID_NETFLOW;
    case 3306:
        return APPID_MYSQL;
    case 3389:
        return APPID_RDP;
    case 5060:
    case 5061:
        return APPID_SIP;
    case 5353:
        return udp ? APPID_MDNS : APPID_UNKNOWN;
    case 5432:
        return APPID_POSTGRESQL;
    case 5900:
        return APPID_VNC;
    case 6343:
        return udp ? APPID_SFLOW : APPID_UNKNOWN;
    default:
        return APPID_UNKNOWN;
    }
}

/* Both ports known: the lower one names the service (the other is the client's). */
static uint32_t port_fallback(uint8_t proto, uint16_t sport, uint16_t dport)
{
    if (proto != 6 && proto != 17 && proto != 132) return APPID_UNKNOWN;
    uint16_t lo = sport < dport ? sport : dport, hi = sport < dport ? dport : sport;
    uint32_t id = port_app(lo, proto);
    return id ? id : port_app(hi, proto);
}

/* ---------------------------------------------------------------- entry */

uint32_t appid_detect(const uint8_t *payload, size_t len, uint8_t proto, uint16_t sport,
                      uint16_t dport, char *detail, size_t detail_size)
{
    if (detail_size) detail[0] = '\0';
    if (!payload) len = 0;
    uint32_t id = APPID_UNKNOWN;
    if (len && proto == 6) {
        id = tls_detect(payload, len, detail, detail_size);
        if (!id) id = ssh_detect(payload, len, detail, detail_size);
        if (!id) id = http_detect(payload, len, detail, detail_size);
        if (!id) id = banner_detect(payload, len, sport, dport, detail, detail_size);
        if (!id && port_is(sport, dport, 53) && len > 2) {
            size_t ml = be16(payload);
            if (ml > len - 2) ml = len - 2;
            id = dns_detect(payload + 2, ml, false, detail, detail_size);
        }
    } else if (len && proto == 17) {
        bool p53 = port_is(sport, dport, 53);
        id = dns_detect(payload, len, !p53, detail, detail_size);
    }
    if (id) return id;
    if (detail_size) detail[0] = '\0';
    return port_fallback(proto, sport, dport);
}
