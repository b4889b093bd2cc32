/*
 * cef_leef.c - CEF and LEEF header splitting and extension scanning, shared by the generic
 * CEF/LEEF DSMs and by vendor DSMs whose devices send those formats.
 *
 * CEF (ArcSight Common Event Format):
 *   CEF:Version|Device Vendor|Device Product|Device Version|Signature ID|Name|Severity|Extension
 * Header fields are separated by '|'; inside them "\|" and "\\" are escapes. The header
 * slices in struct dsm_cef point into the input and keep their escapes (the header has no
 * arena); the extension is "key=value" pairs separated by spaces where values may contain
 * spaces and use the escapes \= \\ \n \r. A key starts where a word ([A-Za-z0-9_.[]-]+)
 * preceded by a space (or the start) is directly followed by '='; the value runs up to the
 * blank before the next such key. An '=' inside a value that is not preceded by a blank-led
 * word (url=http://h/?a=b) therefore stays in the value. Values with escapes are unescaped
 * into the arena; others are passed as slices of the input.
 *
 * LEEF (IBM Log Event Extended Format):
 *   LEEF:1.0|Vendor|Product|Version|EventID|attr=val<TAB>attr=val...
 *   LEEF:2.0|Vendor|Product|Version|EventID|DelimiterChar|attr=val<delim>attr=val...
 * The 2.0 delimiter is one character or its hex code (0x5E, x5E); empty means TAB. A value
 * runs to the next delimiter and is not unescaped. Producers that claim TAB but separate
 * with spaces are common: when the attributes hold no delimiter but several '=', they are
 * scanned the CEF way (blank-led word followed by '=').
 *
 * Every read is bounded by the given length; nothing is allocated except unescaped CEF
 * values in the caller's arena.
 */
#include "dsm/dsm.h"

#include <string.h>

static inline bool is_word(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-' || c == '[' || c == ']';
}

static inline bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* ---------------------------------------------------------------- CEF */

/* Index of the next unescaped '|' at or after i, or len. */
static size_t cef_next_pipe(const char *p, size_t len, size_t i)
{
    while (i < len) {
        if (p[i] == '\\' && i + 1 < len)
            i += 2;
        else if (p[i] == '|')
            return i;
        else
            i++;
    }
    return len;
}

static const char *find_tag(const char *p, size_t len, const char *tag)
{
    size_t tl = strlen(tag);
    if (len < tl) return NULL;
    const char *end = p + len - tl;
    for (const char *q = p; q <= end; q++) {
        q = memchr(q, tag[0], (size_t)(end - q) + 1);
        if (!q) return NULL;
        if (memcmp(q, tag, tl) == 0) return q;
    }
    return NULL;
}

bool dsm_cef_header(const char *p, size_t len, struct dsm_cef *out)
{
    if (!p || !out) return false;
    const char *c = find_tag(p, len, "CEF:");
    if (!c) return false;
    size_t n = len - (size_t)(c - p);
    size_t i = 4;
    while (i < n && c[i] == ' ')
        i++;
    size_t vs = i;
    int ver = 0;
    while (i < n && c[i] >= '0' && c[i] <= '9' && i - vs < 4)
        ver = ver * 10 + (c[i++] - '0');
    if (i == vs) return false;
    if (i < n && c[i] == '.') /* CEF:1.0 style seen in the wild */
        while (++i < n && c[i] >= '0' && c[i] <= '9') {
        }
    if (i >= n || c[i] != '|') return false;
    struct strm_str f[6];
    size_t start = i + 1;
    for (int k = 0; k < 6; k++) {
        size_t e = cef_next_pipe(c, n, start);
        if (e >= n) return false;
        f[k].p = c + start;
        f[k].len = (uint32_t)(e - start);
        start = e + 1;
    }
    out->version = ver;
    out->vendor = f[0];
    out->product = f[1];
    out->dev_version = f[2];
    out->signature = f[3];
    out->name = f[4];
    out->severity = f[5];
    out->ext = c + start;
    out->ext_len = n - start;
    while (out->ext_len &&
           (c[start + out->ext_len - 1] == '\n' || c[start + out->ext_len - 1] == '\r' ||
            c[start + out->ext_len - 1] == '\0'))
        out->ext_len--;
    return true;
}

/* If a key starts at i (word followed by '='), returns the index of that '='; else 0. */
static size_t key_at(const char *p, size_t len, size_t i)
{
    size_t j = i;
    while (j < len && is_word(p[j]))
        j++;
    return (j > i && j < len && p[j] == '=') ? j : 0;
}

/* Finds the next key start after position i (a blank-led word + '='); len when none. */
static size_t next_key(const char *p, size_t len, size_t i, size_t *eq)
{
    for (; i < len; i++) {
        if (!is_blank(p[i])) continue;
        while (i + 1 < len && is_blank(p[i + 1]))
            i++;
        if (i + 1 >= len) break;
        size_t e = key_at(p, len, i + 1);
        if (e) {
            *eq = e;
            return i + 1;
        }
    }
    return len;
}

/*
 * Scans "k=v k=v with spaces k=v" calling fn; unescape selects CEF unescaping of values
 * into arena (when arena is not NULL).
 */
static int scan_spaced(const char *p, size_t len, bool unescape, struct strm_arena *arena,
                       dsm_kv_fn fn, void *arg)
{
    size_t i = 0, eq = 0;
    while (i < len && is_blank(p[i]))
        i++;
    if (i >= len) return 0;
    if (!(eq = key_at(p, len, i))) i = next_key(p, len, i, &eq);
    int n = 0;
    while (i < len) {
        size_t vs = eq + 1, eq2 = 0;
        size_t nk = next_key(p, len, vs, &eq2);
        size_t ve = nk;
        while (ve > vs && (is_blank(p[ve - 1]) || p[ve - 1] == '\r' || p[ve - 1] == '\n'))
            ve--;
        const char *v = p + vs;
        size_t vl = ve - vs;
        if (unescape && arena && memchr(v, '\\', vl)) {
            char *d = strm_arena_alloc(arena, vl + 1);
            if (d) {
                size_t o = 0;
                for (size_t k = 0; k < vl; k++) {
                    char c = v[k];
                    if (c == '\\' && k + 1 < vl) {
                        char e = v[k + 1];
                        if (e == '=' || e == '\\' || e == '|') {
                            c = e;
                            k++;
                        } else if (e == 'n') {
                            c = '\n';
                            k++;
                        } else if (e == 'r') {
                            c = '\r';
                            k++;
                        }
                    }
                    d[o++] = c;
                }
                d[o] = 0;
                v = d;
                vl = o;
            }
        }
        n++;
        if (!fn(p + i, eq - i, v, vl, arg)) break;
        i = nk;
        eq = eq2;
    }
    return n;
}

int dsm_cef_scan(const struct dsm_cef *h, struct strm_arena *arena, dsm_kv_fn fn, void *arg)
{
    if (!h || !fn || !h->ext) return 0;
    return scan_spaced(h->ext, h->ext_len, true, arena, fn, arg);
}

/* ---------------------------------------------------------------- LEEF */

static int hexdig(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* The LEEF 2.0 delimiter field: one char, or 0xHH / xHH; -1 when it is not one. */
static int leef_delim(const char *p, size_t len)
{
    if (len == 0) return '\t';
    if (len == 1) return (unsigned char)p[0];
    size_t i = 0;
    if (len >= 3 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
        i = 2;
    else if (p[0] == 'x' || p[0] == 'X')
        i = 1;
    else
        return -1;
    if (len - i < 1 || len - i > 4) return -1;
    int v = 0;
    for (; i < len; i++) {
        int h = hexdig(p[i]);
        if (h < 0) return -1;
        v = v * 16 + h;
    }
    return (v > 0 && v < 256) ? v : -1;
}

bool dsm_leef_header(const char *p, size_t len, struct dsm_leef *out)
{
    if (!p || !out) return false;
    const char *c = find_tag(p, len, "LEEF:");
    if (!c) return false;
    size_t n = len - (size_t)(c - p);
    size_t i = 5;
    int major = 0, minor = 0;
    size_t s = i;
    while (i < n && c[i] >= '0' && c[i] <= '9' && i - s < 3)
        major = major * 10 + (c[i++] - '0');
    if (i == s) return false;
    if (i < n && c[i] == '.') {
        i++;
        s = i;
        while (i < n && c[i] >= '0' && c[i] <= '9' && i - s < 3)
            minor = minor * 10 + (c[i++] - '0');
    }
    if (i >= n || c[i] != '|' || major < 1 || major > 2) return false;
    struct strm_str f[4];
    size_t start = i + 1;
    for (int k = 0; k < 4; k++) {
        const char *e = memchr(c + start, '|', n - start);
        if (!e) return false;
        f[k].p = c + start;
        f[k].len = (uint32_t)((size_t)(e - c) - start);
        start = (size_t)(e - c) + 1;
    }
    char delim = '\t';
    if (major == 2) {
        const char *e = memchr(c + start, '|', n - start);
        size_t fl = e ? (size_t)(e - c) - start : 0;
        int d = e ? leef_delim(c + start, fl) : -1;
        if (d >= 0 && !(fl > 1 && memchr(c + start, '=', fl))) {
            delim = (char)d;
            start += fl + 1;
        }
        /* else: no delimiter field; the attributes follow the event id with TAB */
    }
    out->major = major;
    out->minor = minor;
    out->vendor = f[0];
    out->product = f[1];
    out->dev_version = f[2];
    out->event_id = f[3];
    out->delim = delim;
    out->attrs = c + start;
    out->attrs_len = n - start;
    while (out->attrs_len &&
           (out->attrs[out->attrs_len - 1] == '\n' || out->attrs[out->attrs_len - 1] == '\r' ||
            out->attrs[out->attrs_len - 1] == '\0'))
        out->attrs_len--;
    return true;
}

int dsm_leef_scan(const struct dsm_leef *h, dsm_kv_fn fn, void *arg)
{
    if (!h || !fn || !h->attrs) return 0;
    const char *p = h->attrs;
    size_t len = h->attrs_len;
    if (!memchr(p, h->delim, len) && h->delim != ' ') {
        const char *eq = memchr(p, '=', len);
        if (eq && memchr(eq + 1, '=', len - (size_t)(eq + 1 - p)))
            return scan_spaced(p, len, false, NULL, fn, arg);
    }
    int n = 0;
    size_t i = 0;
    while (i < len) {
        const char *e = memchr(p + i, h->delim, len - i);
        size_t end = e ? (size_t)(e - p) : len;
        const char *eq = memchr(p + i, '=', end - i);
        if (eq && eq > p + i) {
            const char *k = p + i;
            size_t kl = (size_t)(eq - k);
            while (kl && is_blank(*k)) {
                k++;
                kl--;
            }
            while (kl && is_blank(k[kl - 1]))
                kl--;
            if (kl) {
                n++;
                if (!fn(k, kl, eq + 1, (size_t)(p + end - eq - 1), arg)) break;
            }
        }
        i = end + 1;
    }
    return n;
}
