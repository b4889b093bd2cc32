/*
 * dsm_json.c - the generic JSON DSM: a message that is one JSON object.
 *
 * Recognized: the syslog MSG (or, for a payload without syslog header, the whole payload)
 * is a JSON object, optionally behind the CEE cookie "@cee:". Rejection is cheap: the first
 * non-blank byte must be '{' and the last '}'. Before jansson sees the text, a linear
 * pre-scan checks the nesting depth (at most JSON_MAX_DEPTH, outside strings) so hostile
 * input cannot drive the parser deep; jansson then parses it (duplicate keys allowed, the
 * last one wins as JSON parsers usually do).
 *
 * Fields: the object is walked depth-first; nested objects give dotted names
 * (source.ip), array elements their index (tags.0). Every scalar goes through the shared
 * vocabulary of generic.c (ECS names like source.ip, destination.port, user.name,
 * event.action, event.outcome, @timestamp, log.level, and flat ones like src_ip, dstip,
 * user, proto, action); the rest become properties named by their path. The QID comes from
 * gen_qid: authentication success/failure, access permitted/denied, error/warning, network,
 * info, else "JSON Unknown Event".
 *
 * Cost: jansson allocates while parsing (the one place in the DSMs that uses malloc per
 * event); only lines that every vendor DSM rejected and that look like a JSON object get
 * here.
 */
#include "dsm/dsm_priv.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#define JSON_MAX_DEPTH 16
#define JSON_MAX_FIELDS 256

static const struct qid_def json_qids[] = {
    GEN_QID_ROWS(DSM_T_JSON, "JSON"),
};

/* Max nesting depth of the text outside strings; -1 when unbalanced. */
static int json_depth(const char *p, size_t len)
{
    int d = 0, max = 0;
    bool str = false;
    for (size_t i = 0; i < len; i++) {
        char c = p[i];
        if (str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                str = false;
            continue;
        }
        if (c == '"') {
            str = true;
        } else if (c == '{' || c == '[') {
            if (++d > max) max = d;
            if (max > JSON_MAX_DEPTH) return max;
        } else if (c == '}' || c == ']') {
            if (--d < 0) return -1;
        }
    }
    return d == 0 ? max : -1;
}

struct json_walk {
    struct gen_state g;
    struct strm_event *ev;
    struct strm_arena *arena;
    const struct dsm_ctx *ctx;
    int fields;
};

static void json_scalar(struct json_walk *w, const char *path, size_t plen, json_t *v)
{
    char num[48];
    const char *s = NULL;
    size_t n = 0;
    switch (json_typeof(v)) {
    case JSON_STRING:
        s = json_string_value(v);
        n = json_string_length(v);
        break;
    case JSON_INTEGER:
        n = (size_t)snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        s = num;
        break;
    case JSON_REAL:
        n = (size_t)snprintf(num, sizeof num, "%.17g", json_real_value(v));
        s = num;
        break;
    case JSON_TRUE:
        s = "true";
        n = 4;
        break;
    case JSON_FALSE:
        s = "false";
        n = 5;
        break;
    default:
        return; /* null */
    }
    if (n >= sizeof num && s == num) n = sizeof num - 1;
    if (++w->fields > JSON_MAX_FIELDS) return;
    gen_field(&w->g, w->ev, w->arena, w->ctx, path, plen, s, n);
}

static void json_walk(struct json_walk *w, json_t *v, char *path, size_t plen, size_t cap)
{
    if (w->fields > JSON_MAX_FIELDS) return;
    if (json_is_object(v)) {
        const char *key;
        json_t *child;
        json_object_foreach(v, key, child)
        {
            size_t kl = strlen(key);
            size_t sep = plen ? 1 : 0;
            if (plen + sep + kl >= cap) continue; /* path too long: skipped */
            if (sep) path[plen] = '.';
            memcpy(path + plen + sep, key, kl);
            path[plen + sep + kl] = 0;
            json_walk(w, child, path, plen + sep + kl, cap);
            path[plen] = 0;
        }
    } else if (json_is_array(v)) {
        size_t i;
        json_t *child;
        json_array_foreach(v, i, child)
        {
            char idx[24];
            int il = snprintf(idx, sizeof idx, "%s%zu", plen ? "." : "", i);
            if (il < 0 || plen + (size_t)il >= cap) break;
            memcpy(path + plen, idx, (size_t)il + 1);
            json_walk(w, child, path, plen + (size_t)il, cap);
            path[plen] = 0;
        }
    } else if (plen) {
        json_scalar(w, path, plen, v);
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

static bool json_parse(struct strm_event *ev, struct strm_arena *arena, const struct dsm_ctx *ctx)
{
    const char *p;
    size_t len;
    if (!json_text(ev, &p, &len)) return false;
    int d = json_depth(p, len);
    if (d < 1 || d > JSON_MAX_DEPTH) return false;
    json_error_t err;
    json_t *root = json_loadb(p, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
    if (!root) return false;
    if (!json_is_object(root)) {
        json_decref(root);
        return false;
    }
    struct json_walk w;
    gen_init(&w.g);
    w.ev = ev;
    w.arena = arena;
    w.ctx = ctx;
    w.fields = 0;
    char path[256];
    path[0] = 0;
    json_walk(&w, root, path, 0, sizeof path);
    dsm_set_qid(ev, gen_qid(&w.g, DSM_T_JSON));
    dsm_props_commit(&w.g.props, ev, arena);
    ev->devicetype = DSM_T_JSON;
    json_decref(root);
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
