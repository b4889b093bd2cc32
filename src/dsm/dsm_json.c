/*
 * dsm_json.c - the generic JSON DSM: a message that is one JSON object.
 *
 * Recognized: the syslog MSG (or, for a payload without syslog header, the whole payload)
 * is a JSON object (RFC 8259), optionally behind the CEE cookie "@cee:". Rejection is cheap:
 * the first non-blank byte must be '{' and the last '}'.
 *
 * Parsing is a single-pass recursive descent written for this job instead of a general
 * JSON library: it builds no tree and allocates nothing per event (a library such as
 * jansson mallocs every node and made this DSM five times slower). It validates what a
 * strict parser validates (grammar, string escapes including surrogate pairs, UTF-8,
 * control characters, number syntax) so that anything that is not JSON falls through to the
 * next DSM; jansson remains the oracle in fuzz_json, which checks that every object jansson
 * accepts is accepted here with the same string values. Nesting deeper than JSON_MAX_DEPTH
 * is refused (recursion is bounded by it). Duplicate keys are all passed on.
 *
 * Fields: nested objects give dotted names (source.ip), array elements their index
 * (tags.0); every level below the top adds its dot, even after an empty key ({"":{"a":1}}
 * gives ".a"), and a scalar under an empty top-level key has no name and is dropped; names
 * longer than the path buffer are validated but not used. Every scalar goes
 * through the shared vocabulary of generic.c (ECS names like source.ip, destination.port,
 * user.name, event.action, event.outcome, @timestamp, log.level, and flat ones like src_ip,
 * dstip, user, proto, action); the rest become properties named by their path. Strings
 * without escapes are passed as slices of the message; escaped ones are decoded into the
 * arena (only for values that are used). Numbers keep their text. The QID comes from
 * gen_qid: authentication success/failure, access permitted/denied, error/warning,
 * network, info, else "JSON Unknown Event".
 *
 * Two passes: the first only validates (ev untouched, as a rejecting DSM must leave it),
 * the second fills the event.
 */
#include "dsm/dsm_priv.h"

#include <string.h>

#define JSON_MAX_DEPTH 16
#define JSON_MAX_FIELDS 256
#define JSON_PATH_MAX 256

static const struct qid_def json_qids[] = {
    GEN_QID_ROWS(DSM_T_JSON, "JSON"),
};

struct jscan {
    const char *p, *end;
    /* fill pass only (ev == NULL: validate only) */
    struct gen_state *g;
    struct strm_event *ev;
    struct strm_arena *arena;
    const struct dsm_ctx *ctx;
    int fields;
    size_t plen;
    bool path_ok; /* the current path fit in the buffer */
    char path[JSON_PATH_MAX];
};

static inline void ws(struct jscan *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
        s->p++;
}

static int hex4(const char *p)
{
    int v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        int d = (c >= '0' && c <= '9')   ? c - '0'
                : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                         : -1;
        if (d < 0) return -1;
        v = v * 16 + d;
    }
    return v;
}

/* Length of a valid UTF-8 sequence of 2-4 bytes at p (lead byte >= 0x80), or 0. */
static size_t utf8_len(const unsigned char *p, const unsigned char *end)
{
    unsigned char c = p[0];
    size_t n;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF)
        n = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0) lo = 0xA0;
        if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F;
    } else
        return 0;
    if ((size_t)(end - p) < n) return 0;
    if (p[1] < lo || p[1] > hi) return 0;
    for (size_t i = 2; i < n; i++)
        if (p[i] < 0x80 || p[i] > 0xBF) return 0;
    return n;
}

static size_t put_utf8(char *o, unsigned cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | cp >> 6);
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | cp >> 12);
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | cp >> 18);
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/*
 * Validates the string at s->p (just after the opening quote) and leaves s->p after the
 * closing one. *raw and *rawlen: the text between the quotes; *escaped: whether it needs
 * decoding.
 */
static bool jstring(struct jscan *s, const char **raw, size_t *rawlen, bool *escaped)
{
    const char *p = s->p, *end = s->end;
    *escaped = false;
    *raw = p;
    while (p < end) {
        unsigned char c = (unsigned char)*p;
        if (c == '"') {
            *rawlen = (size_t)(p - *raw);
            s->p = p + 1;
            return true;
        }
        if (c < 0x20) return false;
        if (c == '\\') {
            *escaped = true;
            if (end - p < 2) return false;
            char e = p[1];
            if (e == 'u') {
                if (end - p < 6) return false;
                int u = hex4(p + 2);
                if (u < 0) return false;
                p += 6;
                if (u >= 0xDC00 && u <= 0xDFFF) return false; /* lone low surrogate */
                if (u >= 0xD800 && u <= 0xDBFF) {
                    if (end - p < 6 || p[0] != '\\' || p[1] != 'u') return false;
                    int l = hex4(p + 2);
                    if (l < 0xDC00 || l > 0xDFFF) return false;
                    p += 6;
                }
                continue;
            }
            if (e != '"' && e != '\\' && e != '/' && e != 'b' && e != 'f' && e != 'n' && e != 'r' &&
                e != 't')
                return false;
            p += 2;
            continue;
        }
        if (c >= 0x80) {
            size_t n = utf8_len((const unsigned char *)p, (const unsigned char *)end);
            if (!n) return false;
            p += n;
            continue;
        }
        p++;
    }
    return false;
}

/* Decodes a validated string body into out (at least len bytes); returns the length. */
static size_t jdecode(const char *p, size_t len, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        char c = p[i];
        if (c != '\\') {
            out[o++] = c;
            i++;
            continue;
        }
        char e = p[i + 1];
        if (e == 'u') {
            unsigned cp = (unsigned)hex4(p + i + 2);
            i += 6;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                unsigned lo = (unsigned)hex4(p + i + 2);
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                i += 6;
            }
            o += put_utf8(out + o, cp);
            continue;
        }
        out[o++] = e == 'b'   ? '\b'
                   : e == 'f' ? '\f'
                   : e == 'n' ? '\n'
                   : e == 'r' ? '\r'
                   : e == 't' ? '\t'
                              : e;
        i += 2;
    }
    return o;
}

static bool jnumber(struct jscan *s)
{
    const char *p = s->p, *end = s->end;
    if (p < end && *p == '-') p++;
    if (p >= end) return false;
    if (*p == '0')
        p++;
    else if (*p >= '1' && *p <= '9')
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    else
        return false;
    if (p < end && *p == '.') {
        p++;
        const char *d = p;
        while (p < end && *p >= '0' && *p <= '9')
            p++;
        if (p == d) return false;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-')) p++;
        const char *d = p;
        while (p < end && *p >= '0' && *p <= '9')
            p++;
        if (p == d) return false;
    }
    s->p = p;
    return true;
}

static void jemit(struct jscan *s, const char *v, size_t vlen)
{
    if (!s->ev || !s->path_ok || s->plen == 0) return;
    if (++s->fields > JSON_MAX_FIELDS) return;
    gen_field(s->g, s->ev, s->arena, s->ctx, s->path, s->plen, v, vlen);
}

static bool jvalue(struct jscan *s, int depth);

/*
 * Appends ".name" (or "name" for a member of the top-level object) to the path; false when
 * it does not fit. Whether a dot goes in depends on the level, not on whether the path so
 * far is empty: under an empty top-level key ("":{"src":...}) the name is ".src", never
 * "src", so that an inner field cannot pass for a top-level one (fill its column, or hide
 * the property of the real top-level key of that name).
 */
static bool path_push(struct jscan *s, const char *name, size_t len, bool escaped, bool top)
{
    size_t sep = top ? 0 : 1;
    if (!s->path_ok || s->plen + sep + len >= JSON_PATH_MAX) return false;
    if (sep) s->path[s->plen] = '.';
    size_t n = escaped ? jdecode(name, len, s->path + s->plen + sep) : len;
    if (!escaped) memcpy(s->path + s->plen + sep, name, len);
    s->plen += sep + n;
    return true;
}

static bool jobject(struct jscan *s, int depth)
{
    if (depth > JSON_MAX_DEPTH) return false;
    s->p++; /* '{' */
    ws(s);
    if (s->p < s->end && *s->p == '}') {
        s->p++;
        return true;
    }
    for (;;) {
        if (s->p >= s->end || *s->p != '"') return false;
        s->p++;
        const char *k;
        size_t kl;
        bool esc;
        if (!jstring(s, &k, &kl, &esc)) return false;
        ws(s);
        if (s->p >= s->end || *s->p != ':') return false;
        s->p++;
        size_t saved = s->plen;
        bool saved_ok = s->path_ok;
        if (s->ev && !path_push(s, k, kl, esc, depth == 1)) s->path_ok = false;
        bool ok = jvalue(s, depth);
        s->plen = saved;
        s->path_ok = saved_ok;
        if (!ok) return false;
        ws(s);
        if (s->p >= s->end) return false;
        if (*s->p == '}') {
            s->p++;
            return true;
        }
        if (*s->p != ',') return false;
        s->p++;
        ws(s);
    }
}

static bool jarray(struct jscan *s, int depth)
{
    if (depth > JSON_MAX_DEPTH) return false;
    s->p++; /* '[' */
    ws(s);
    if (s->p < s->end && *s->p == ']') {
        s->p++;
        return true;
    }
    for (size_t i = 0;; i++) {
        size_t saved = s->plen;
        bool saved_ok = s->path_ok;
        if (s->ev) {
            char idx[24];
            size_t n = 0;
            size_t v = i;
            char rev[24];
            do {
                rev[n++] = (char)('0' + v % 10);
                v /= 10;
            } while (v);
            for (size_t j = 0; j < n; j++)
                idx[j] = rev[n - 1 - j];
            if (!path_push(s, idx, n, false, false)) s->path_ok = false;
        }
        bool ok = jvalue(s, depth);
        s->plen = saved;
        s->path_ok = saved_ok;
        if (!ok) return false;
        ws(s);
        if (s->p >= s->end) return false;
        if (*s->p == ']') {
            s->p++;
            return true;
        }
        if (*s->p != ',') return false;
        s->p++;
    }
}

static bool jvalue(struct jscan *s, int depth)
{
    ws(s);
    if (s->p >= s->end) return false;
    const char *start = s->p;
    switch (*s->p) {
    case '{':
        return jobject(s, depth + 1);
    case '[':
        return jarray(s, depth + 1);
    case '"': {
        s->p++;
        const char *v;
        size_t vl;
        bool esc;
        if (!jstring(s, &v, &vl, &esc)) return false;
        if (s->ev && s->path_ok && s->plen) {
            if (esc) {
                char *d = strm_arena_alloc(s->arena, vl + 1);
                if (!d) return true; /* out of memory: the field is skipped */
                vl = jdecode(v, vl, d);
                d[vl] = 0;
                v = d;
            }
            jemit(s, v, vl);
        }
        return true;
    }
    case 't':
        if (s->end - s->p < 4 || memcmp(s->p, "true", 4) != 0) return false;
        s->p += 4;
        jemit(s, start, 4);
        return true;
    case 'f':
        if (s->end - s->p < 5 || memcmp(s->p, "false", 5) != 0) return false;
        s->p += 5;
        jemit(s, start, 5);
        return true;
    case 'n':
        if (s->end - s->p < 4 || memcmp(s->p, "null", 4) != 0) return false;
        s->p += 4;
        return true;
    default:
        if (!jnumber(s)) return false;
        jemit(s, start, (size_t)(s->p - start));
        return true;
    }
}

/* The JSON text of the event, or false when it is not an object. */
static bool json_text(const struct strm_event *ev, const char **out, size_t *outlen)
{
    const char *p = ev->message.p;
    size_t len = ev->message.len;
    if (!p) return false;
    while (len && (*p == ' ' || *p == '\t')) {
        p++;
        len--;
    }
    if (len >= 5 && memcmp(p, "@cee:", 5) == 0) {
        p += 5;
        len -= 5;
        while (len && *p == ' ') {
            p++;
            len--;
        }
    }
    while (len && (p[len - 1] == ' ' || p[len - 1] == '\r' || p[len - 1] == '\n' ||
                   p[len - 1] == '\t' || p[len - 1] == '\0'))
        len--;
    if (len < 2 || p[0] != '{' || p[len - 1] != '}') return false;
    *out = p;
    *outlen = len;
    return true;
}

/* Validates p[0..len) as one JSON object; with ev set, also fills the event. */
static bool json_scan(struct jscan *s, const char *p, size_t len)
{
    s->p = p;
    s->end = p + len;
    s->plen = 0;
    s->path_ok = true;
    s->fields = 0;
    if (!jobject(s, 1)) return false;
    ws(s);
    return s->p == s->end;
}

static bool json_parse(struct strm_event *ev, struct strm_arena *arena, const struct dsm_ctx *ctx)
{
    const char *p;
    size_t len;
    if (!json_text(ev, &p, &len)) return false;
    struct jscan s;
    s.ev = NULL;
    if (!json_scan(&s, p, len)) return false;
    struct gen_state g;
    gen_init(&g);
    s.g = &g;
    s.ev = ev;
    s.arena = arena;
    s.ctx = ctx;
    (void)json_scan(&s, p, len);
    dsm_set_qid(ev, gen_qid(&g, DSM_T_JSON));
    dsm_props_commit(&g.props, ev, arena);
    ev->devicetype = DSM_T_JSON;
    return true;
}

const struct dsm_def dsm_json = {
    .name = "json",
    .display = "Universal JSON",
    .type_id = DSM_T_JSON,
    .qids = json_qids,
    .n_qids = sizeof json_qids / sizeof json_qids[0],
    .init = NULL,
    .parse = json_parse,
};
