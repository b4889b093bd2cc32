/*
 * func.c - AQL's scalar functions: one static table, one row per function.
 *
 * A row names the function, its arity, argument types and result type, and the C function
 * that computes it. The parser resolves a call against this table (case-insensitively),
 * checks the arguments and converts literal ones, so the C function is never handed a value
 * of the wrong type. Adding a function is one row and one small function here.
 *
 * The lookup functions (QIDNAME, LOGSOURCENAME, ...) know nothing about DSMs or log
 * sources: they ask the resolvers the program set with aql_set_resolvers, so this module
 * depends on neither. A name the resolver does not know, or no resolver at all, gives null.
 * Resolved strings stay valid while the program runs, so values point at them directly.
 *
 * String functions (CONCAT, LOWER, REPLACEALL, DATEFORMAT, ...) write their results into a
 * per-thread scratch arena that the executor resets before each row, so a row costs no
 * malloc once the arena has grown to the largest row. Functions whose data openstrm does
 * not have yet (NETWORKNAME needs a network hierarchy, REFERENCESETCONTAINS reference
 * data, ...) are listed in a second table so the parser can say what is missing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "aql/aql_int.h"

static struct aql_resolvers resolvers;

void aql_set_resolvers(const struct aql_resolvers *r)
{
    if (r)
        resolvers = *r;
    else
        memset(&resolvers, 0, sizeof resolvers);
}

static void set_name(struct aql_value *out, const char *s)
{
    if (!s || !*s) {
        out->type = AQL_T_NULL;
        return;
    }
    size_t len = strlen(s);
    out->type = AQL_T_STR;
    out->u.s.p = s;
    out->u.s.len = (uint32_t)(len > UINT32_MAX ? UINT32_MAX : len);
}

/* The argument as an unsigned 32-bit id, or false (null, negative or too large). */
static bool arg_id(const struct aql_value *v, uint32_t *id)
{
    if (v->type != AQL_T_INT && v->type != AQL_T_TIME) return false;
    if (v->u.i < 0 || v->u.i > (int64_t)UINT32_MAX) return false;
    *id = (uint32_t)v->u.i;
    return true;
}

#define LOOKUP_FN(fname, field)                                                                    \
    static void fname(const struct aql_value *args, size_t nargs, const void *state,               \
                      struct aql_value *out)                                                       \
    {                                                                                              \
        (void)nargs;                                                                               \
        (void)state;                                                                               \
        uint32_t id;                                                                               \
        if (!resolvers.field || !arg_id(&args[0], &id)) {                                          \
            out->type = AQL_T_NULL;                                                                \
            return;                                                                                \
        }                                                                                          \
        set_name(out, resolvers.field(id, resolvers.arg));                                         \
    }

LOOKUP_FN(fn_qidname, qid_name)
LOOKUP_FN(fn_qiddescription, qid_description)
LOOKUP_FN(fn_categoryname, category_name)
LOOKUP_FN(fn_logsourcename, logsource_name)
LOOKUP_FN(fn_logsourcetypename, logsource_type_name)
LOOKUP_FN(fn_applicationname, application_name)

static const struct strm_config *_Atomic net_cfg;

void aql_set_network_config(const struct strm_config *cfg)
{
    net_cfg = cfg;
}

/* NETWORKNAME: the leaf of the local network's name; FULLNETWORKNAME: all of it. */
static void network_name(const struct aql_value *a, bool full, struct aql_value *out)
{
    const struct strm_config *cfg = net_cfg;
    const struct strm_network *n =
        cfg && a->type == AQL_T_IP ? strm_network_find(cfg, &a->u.ip) : NULL;
    if (!n) {
        out->type = AQL_T_NULL;
        return;
    }
    const char *dot = full ? NULL : strrchr(n->name, '.');
    set_name(out, dot ? dot + 1 : n->name);
}

static void fn_networkname(const struct aql_value *a, size_t n, const void *st,
                           struct aql_value *out)
{
    (void)n;
    (void)st;
    network_name(a, false, out);
}

static void fn_fullnetworkname(const struct aql_value *a, size_t n, const void *st,
                               struct aql_value *out)
{
    (void)n;
    (void)st;
    network_name(a, true, out);
}

static void fn_protocolname(const struct aql_value *a, size_t n, const void *st,
                            struct aql_value *out)
{
    (void)n;
    (void)st;
    uint32_t id;
    if (!arg_id(a, &id) || id > 255) {
        out->type = AQL_T_NULL;
        return;
    }
    set_name(out, strm_protocol_name(id));
}

/* ---------------------------------------------------------------- scratch */

static _Thread_local struct strm_arena tl_scratch;
static _Thread_local bool tl_scratch_ready;
_Thread_local int64_t aql_now_ms;

struct strm_arena *aql_scratch(void)
{
    if (!tl_scratch_ready) {
        strm_arena_init(&tl_scratch, 16 * 1024);
        tl_scratch_ready = true;
    }
    return &tl_scratch;
}

void aql_scratch_reset(void)
{
    if (tl_scratch_ready) strm_arena_reset(&tl_scratch);
}

/* A string result of n bytes in scratch memory; NULL (and out null) when out of memory. */
static char *out_str(struct aql_value *out, size_t n)
{
    char *p = strm_arena_alloc(aql_scratch(), n + 1);
    if (!p || n > UINT32_MAX) {
        out->type = AQL_T_NULL;
        return NULL;
    }
    p[n] = '\0';
    out->type = n ? AQL_T_STR : AQL_T_NULL;
    out->u.s.p = p;
    out->u.s.len = (uint32_t)n;
    return p;
}

/* The text of any value (numbers in decimal, times as ms, IPs dotted). */
static size_t text_of(const struct aql_value *v, char *buf, const char **p)
{
    return aql_value_text(v, buf, 64, p);
}

#define UNUSED_STATE(n, s)                                                                         \
    (void)(n);                                                                                     \
    (void)(s)

static void fn_concat(const struct aql_value *a, size_t n, const void *st, struct aql_value *out)
{
    (void)st;
    char bufs[AQL_FUNC_MAX_ARGS][64];
    const char *ps[AQL_FUNC_MAX_ARGS];
    size_t ls[AQL_FUNC_MAX_ARGS], total = 0;
    for (size_t i = 0; i < n; i++) {
        ls[i] = text_of(&a[i], bufs[i], &ps[i]);
        total += ls[i];
    }
    char *d = out_str(out, total);
    if (!d) return;
    for (size_t i = 0; i < n; i++) {
        if (ls[i]) memcpy(d, ps[i], ls[i]);
        d += ls[i];
    }
}

static void fn_str(const struct aql_value *a, size_t n, const void *st, struct aql_value *out)
{
    UNUSED_STATE(n, st);
    char buf[64];
    const char *p;
    size_t len = text_of(&a[0], buf, &p);
    char *d = out_str(out, len);
    if (d && len) memcpy(d, p, len);
}

static void fn_long(const struct aql_value *a, size_t n, const void *st, struct aql_value *out)
{
    UNUSED_STATE(n, st);
    out->type = AQL_T_INT;
    switch (a[0].type) {
    case AQL_T_INT:
    case AQL_T_TIME:
    case AQL_T_BOOL:
        out->u.i = a[0].u.i;
        return;
    case AQL_T_DOUBLE:
        if (a[0].u.d >= -9.2e18 && a[0].u.d <= 9.2e18) {
            out->u.i = (int64_t)a[0].u.d;
            return;
        }
        break;
    case AQL_T_STR: {
        char buf[32];
        size_t len = a[0].u.s.len;
        if (len == 0 || len >= sizeof buf) break;
        memcpy(buf, a[0].u.s.p, len);
        buf[len] = '\0';
        char *end;
        long long v = strtoll(buf, &end, 10);
        if (*end == '\0') {
            out->u.i = v;
            return;
        }
        break;
    }
    case AQL_T_IP:
        if (strm_ip_is_v4(&a[0].u.ip)) { /* QRadar's long form of an IPv4 address */
            const uint8_t *b = a[0].u.ip.b + 12;
            out->u.i =
                (int64_t)((uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3]);
            return;
        }
        break;
    default:
        break;
    }
    out->type = AQL_T_NULL;
}

static void fn_double(const struct aql_value *a, size_t n, const void *st, struct aql_value *out)
{
    UNUSED_STATE(n, st);
    out->type = AQL_T_DOUBLE;
    switch (a[0].type) {
    case AQL_T_INT:
    case AQL_T_TIME:
        out->u.d = (double)a[0].u.i;
        return;
    case AQL_T_DOUBLE:
        out->u.d = a[0].u.d;
        return;
    case AQL_T_STR: {
        char buf[64];
        size_t len = a[0].u.s.len;
        if (len == 0 || len >= sizeof buf) break;
        memcpy(buf, a[0].u.s.p, len);
        buf[len] = '\0';
        char *end;
        out->u.d = strtod(buf, &end);
        if (*end == '\0' && out->u.d == out->u.d) return;
        break;
    }
    default:
        break;
    }
    out->type = AQL_T_NULL;
}

static void fn_strlen(const struct aql_value *a, size_t n, const void *st, struct aql_value *out)
{
    UNUSED_STATE(n, st);
    out->type = AQL_T_INT;
    out->u.i = a[0].type == AQL_T_STR ? a[0].u.s.len : 0;
}

/* STRPOS(s, find[, from]): byte index of the first find at or after from, or -1. */
static void fn_strpos(const struct aql_value *a, size_t n, const void *st, struct aql_value *out)
{
    (void)st;
    if (a[0].type != AQL_T_STR || a[1].type != AQL_T_STR) {
        out->type = AQL_T_NULL;
        return;
    }
    int64_t from = n > 2 && a[2].type == AQL_T_INT ? a[2].u.i : 0;
    if (from < 0) from = 0;
    out->type = AQL_T_INT;
    out->u.i = -1;
    if ((uint64_t)from > a[0].u.s.len) return;
    const char *f =
        memmem(a[0].u.s.p + from, a[0].u.s.len - (size_t)from, a[1].u.s.p, a[1].u.s.len);
    if (f) out->u.i = f - a[0].u.s.p;
}

/* SUBSTRING(s, start, length): bytes [start, start + length), clamped to s. */
static void fn_substring(const struct aql_value *a, size_t n, const void *st, struct aql_value *out)
{
    UNUSED_STATE(n, st);
    if (a[0].type != AQL_T_STR || a[1].type != AQL_T_INT || a[2].type != AQL_T_INT) {
        out->type = AQL_T_NULL;
        return;
    }
    int64_t len = a[0].u.s.len, b = a[1].u.i, c = a[2].u.i;
    if (b < 0) b = 0;
    if (b > len) b = len;
    if (c < 0) c = 0;
    if (c > len - b) c = len - b;
    *out = a[0];
    out->u.s.p += b;
    out->u.s.len = (uint32_t)c;
    if (!c) out->type = AQL_T_NULL;
}

static void change_case(const struct aql_value *a, struct aql_value *out, bool upper)
{
    if (a->type != AQL_T_STR) {
        out->type = AQL_T_NULL;
        return;
    }
    char *d = out_str(out, a->u.s.len);
    if (!d) return;
    for (uint32_t i = 0; i < a->u.s.len; i++) {
        char c = a->u.s.p[i];
        if (upper && c >= 'a' && c <= 'z') c = (char)(c - 32);
        if (!upper && c >= 'A' && c <= 'Z') c = (char)(c + 32);
        d[i] = c;
    }
}

static void fn_lower(const struct aql_value *a, size_t n, const void *st, struct aql_value *out)
{
    UNUSED_STATE(n, st);
    change_case(&a[0], out, false);
}

static void fn_upper(const struct aql_value *a, size_t n, const void *st, struct aql_value *out)
{
    UNUSED_STATE(n, st);
    change_case(&a[0], out, true);
}

static void fn_base64(const struct aql_value *a, size_t n, const void *st, struct aql_value *out)
{
    UNUSED_STATE(n, st);
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char buf[64];
    const char *p;
    size_t len = text_of(&a[0], buf, &p);
    const unsigned char *s = (const unsigned char *)p;
    char *d = out_str(out, (len + 2) / 3 * 4);
    if (!d) return;
    size_t i = 0;
    for (; i + 3 <= len; i += 3) {
        uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];
        *d++ = tab[v >> 18];
        *d++ = tab[(v >> 12) & 63];
        *d++ = tab[(v >> 6) & 63];
        *d++ = tab[v & 63];
    }
    if (len - i == 1) {
        uint32_t v = (uint32_t)s[i] << 16;
        *d++ = tab[v >> 18];
        *d++ = tab[(v >> 12) & 63];
        *d++ = '=';
        *d++ = '=';
    } else if (len - i == 2) {
        uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8;
        *d++ = tab[v >> 18];
        *d++ = tab[(v >> 12) & 63];
        *d++ = tab[(v >> 6) & 63];
        *d++ = '=';
    }
}

/* ---------------------------------------------------------------- REPLACEALL / REPLACEFIRST */

/* Argument 1 (the regex) must be a literal: compiled once, freed with the query. */
static int plan_replace(struct aql_node *const *args, size_t nargs, struct aql_query *q,
                        void **state, char *msg, size_t size)
{
    (void)nargs;
    const struct aql_node *re = args[0];
    if (re->kind != AQL_N_LIT || re->type != AQL_T_STR) {
        snprintf(msg, size, "the regular expression must be a 'quoted' literal");
        return STRM_ERR_PARSE;
    }
    struct aql_regex *r = strm_arena_alloc(&q->arena, sizeof *r);
    if (!r) return STRM_ERR_NOMEM;
    if (aql_regex_compile(re->u.lit.u.s.p ? re->u.lit.u.s.p : "", re->u.lit.u.s.len, false,
                          &r->code, msg, size) != 0)
        return STRM_ERR_PARSE;
    r->next = q->regexes;
    q->regexes = r;
    *state = r->code;
    return 0;
}

static void do_replace(const struct aql_value *a, const void *code, bool global,
                       struct aql_value *out)
{
    if (a[1].type != AQL_T_STR) {
        *out = a[1];
        return;
    }
    const char *rep = a[2].type == AQL_T_STR ? a[2].u.s.p : "";
    size_t replen = a[2].type == AQL_T_STR ? a[2].u.s.len : 0;
    uint32_t opts = PCRE2_SUBSTITUTE_OVERFLOW_LENGTH | (global ? PCRE2_SUBSTITUTE_GLOBAL : 0);
    PCRE2_SIZE cap = (PCRE2_SIZE)a[1].u.s.len * 2 + replen + 16;
    for (int attempt = 0; attempt < 2; attempt++) {
        char *d = strm_arena_alloc(aql_scratch(), cap + 1);
        if (!d) break;
        PCRE2_SIZE outlen = cap + 1;
        int rc = pcre2_substitute(code, (PCRE2_SPTR)a[1].u.s.p, a[1].u.s.len, 0, opts, NULL, NULL,
                                  (PCRE2_SPTR)rep, replen, (PCRE2_UCHAR *)d, &outlen);
        if (rc >= 0) {
            if (outlen > UINT32_MAX) break;
            out->type = outlen ? AQL_T_STR : AQL_T_NULL;
            out->u.s.p = d;
            out->u.s.len = (uint32_t)outlen;
            return;
        }
        if (rc != PCRE2_ERROR_NOMEMORY) break; /* a bad $ reference in the replacement */
        cap = outlen;
    }
    out->type = AQL_T_NULL;
}

static void fn_replaceall(const struct aql_value *a, size_t n, const void *st,
                          struct aql_value *out)
{
    (void)n;
    do_replace(a, st, true, out);
}

static void fn_replacefirst(const struct aql_value *a, size_t n, const void *st,
                            struct aql_value *out)
{
    (void)n;
    do_replace(a, st, false, out);
}

/* ---------------------------------------------------------------- time */

static void fn_now(const struct aql_value *a, size_t n, const void *st, struct aql_value *out)
{
    (void)a;
    UNUSED_STATE(n, st);
    out->type = AQL_T_TIME;
    out->u.i = aql_now_ms;
}

/*
 * DATEFORMAT(ms, pattern) with Java's SimpleDateFormat letters, in UTC: yyyy yy MMMM MMM MM
 * M dd d HH H hh h mm m ss s SSS a EEE; 'quoted' text is literal ('' a quote); other
 * characters are copied.
 */
static void fn_dateformat(const struct aql_value *a, size_t n, const void *st,
                          struct aql_value *out)
{
    UNUSED_STATE(n, st);
    static const char *const mon[] = {"January",   "February", "March",    "April",
                                      "May",       "June",     "July",     "August",
                                      "September", "October",  "November", "December"};
    static const char *const wday[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    if ((a[0].type != AQL_T_TIME && a[0].type != AQL_T_INT) || a[1].type != AQL_T_STR) {
        out->type = AQL_T_NULL;
        return;
    }
    int64_t ms = a[0].u.i;
    int64_t secs = ms / 1000 - (ms % 1000 < 0);
    int msec = (int)(ms - secs * 1000);
    time_t t = (time_t)secs;
    struct tm tm;
    if (!gmtime_r(&t, &tm)) {
        out->type = AQL_T_NULL;
        return;
    }
    const char *p = a[1].u.s.p;
    size_t len = a[1].u.s.len;
    char *d = strm_arena_alloc(aql_scratch(), len * 12 + 16) /* 11 chars per letter at most */;
    if (!d) {
        out->type = AQL_T_NULL;
        return;
    }
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        char c = p[i];
        size_t k = 1;
        while (i + k < len && p[i + k] == c)
            k++;
        int w = 0;
        switch (c) {
        case 'y':
            w = k == 2 ? sprintf(d + o, "%02d", (tm.tm_year + 1900) % 100)
                       : sprintf(d + o, "%04d", tm.tm_year + 1900);
            break;
        case 'M':
            if (k >= 4)
                w = sprintf(d + o, "%s", mon[tm.tm_mon]);
            else if (k == 3)
                w = sprintf(d + o, "%.3s", mon[tm.tm_mon]);
            else
                w = sprintf(d + o, k == 2 ? "%02d" : "%d", tm.tm_mon + 1);
            break;
        case 'd':
            w = sprintf(d + o, k >= 2 ? "%02d" : "%d", tm.tm_mday);
            break;
        case 'H':
            w = sprintf(d + o, k >= 2 ? "%02d" : "%d", tm.tm_hour);
            break;
        case 'h':
            w = sprintf(d + o, k >= 2 ? "%02d" : "%d", tm.tm_hour % 12 ? tm.tm_hour % 12 : 12);
            break;
        case 'm':
            w = sprintf(d + o, k >= 2 ? "%02d" : "%d", tm.tm_min);
            break;
        case 's':
            w = sprintf(d + o, k >= 2 ? "%02d" : "%d", tm.tm_sec);
            break;
        case 'S':
            w = sprintf(d + o, "%03d", msec);
            break;
        case 'a':
            w = sprintf(d + o, "%s", tm.tm_hour < 12 ? "AM" : "PM");
            break;
        case 'E':
            w = sprintf(d + o, "%s", wday[tm.tm_wday]);
            break;
        case '\'': {
            /* quoted literal text */
            size_t j = i + 1;
            if (j < len && p[j] == '\'') {
                d[o++] = '\'';
                i += 2;
                continue;
            }
            while (j < len && p[j] != '\'')
                d[o++] = p[j++];
            i = j + 1;
            continue;
        }
        default:
            memcpy(d + o, p + i, k);
            w = (int)k;
            break;
        }
        o += (size_t)(w > 0 ? w : 0);
        i += k;
    }
    out->type = o ? AQL_T_STR : AQL_T_NULL;
    out->u.s.p = d;
    out->u.s.len = (uint32_t)o;
}

/* PARSEDATETIME('1 hour ago' | 'yyyy-MM-dd HH:mm[:ss]'): ms since the epoch, or null. */
static void fn_parsedatetime(const struct aql_value *a, size_t n, const void *st,
                             struct aql_value *out)
{
    UNUSED_STATE(n, st);
    out->type = AQL_T_NULL;
    if (a[0].type != AQL_T_STR) return;
    char buf[64];
    size_t len = a[0].u.s.len;
    if (len >= sizeof buf) return;
    memcpy(buf, a[0].u.s.p, len);
    buf[len] = '\0';
    long long k;
    char unit[16];
    int used = 0;
    if (sscanf(buf, "%lld %15s ago%n", &k, unit, &used) == 2 && (size_t)used == len && k >= 0) {
        static const struct {
            const char *name;
            int64_t ms;
        } units[] = {{"second", 1000},    {"minute", 60000},   {"hour", 3600000},
                     {"day", 86400000},   {"week", 604800000}, {"seconds", 1000},
                     {"minutes", 60000},  {"hours", 3600000},  {"days", 86400000},
                     {"weeks", 604800000}};
        for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
            if (strcasecmp(unit, units[i].name) == 0) {
                if (k > INT64_MAX / units[i].ms) return;
                out->type = AQL_T_TIME;
                out->u.i = aql_now_ms - (int64_t)k * units[i].ms;
                return;
            }
        return;
    }
    int64_t ms;
    if (aql_time_parse(buf, len, &ms) == 0) {
        out->type = AQL_T_TIME;
        out->u.i = ms;
    }
}

/* ---------------------------------------------------------------- tables */

#define ANY AQL_T_NULL

static const struct aql_func funcs[] = {
    {"APPLICATIONNAME",
     1,
     false,
     {AQL_T_INT},
     AQL_T_STR,
     fn_applicationname,
     NULL,
     "APPLICATIONNAME(applicationid) -> string",
     "name of a flow's detected application (HTTP, TLS, DNS, SSH, ...)"},
    {"BASE64",
     1,
     false,
     {ANY},
     AQL_T_STR,
     fn_base64,
     NULL,
     "BASE64(value) -> string",
     "Base64 encoding of the value's text"},
    {"CATEGORYNAME",
     1,
     false,
     {AQL_T_INT},
     AQL_T_STR,
     fn_categoryname,
     NULL,
     "CATEGORYNAME(category) -> string",
     "name of a low- or high-level category"},
    {"CONCAT",
     1,
     true,
     {ANY},
     AQL_T_STR,
     fn_concat,
     NULL,
     "CONCAT(value, ...) -> string",
     "the values' texts joined (null values count as empty)"},
    {"DATEFORMAT",
     2,
     false,
     {AQL_T_TIME, AQL_T_STR},
     AQL_T_STR,
     fn_dateformat,
     NULL,
     "DATEFORMAT(ms, 'yyyy-MM-dd HH:mm:ss') -> string",
     "a time as text, Java pattern letters (yyyy MM MMM dd HH hh mm ss SSS a), UTC"},
    {"DOUBLE",
     1,
     false,
     {ANY},
     AQL_T_DOUBLE,
     fn_double,
     NULL,
     "DOUBLE(value) -> number",
     "the value as a floating-point number (null if not a number)"},
    {"FULLNETWORKNAME",
     1,
     false,
     {AQL_T_IP},
     AQL_T_STR,
     fn_fullnetworkname,
     NULL,
     "FULLNETWORKNAME(ip) -> string",
     "full name (groups.name) of the local network holding ip; null if remote"},
    {"LOGSOURCENAME",
     1,
     false,
     {AQL_T_INT},
     AQL_T_STR,
     fn_logsourcename,
     NULL,
     "LOGSOURCENAME(logsourceid) -> string",
     "name of a log source"},
    {"LOGSOURCETYPENAME",
     1,
     false,
     {AQL_T_INT},
     AQL_T_STR,
     fn_logsourcetypename,
     NULL,
     "LOGSOURCETYPENAME(devicetype) -> string",
     "name of a log source type (DSM)"},
    {"LONG",
     1,
     false,
     {ANY},
     AQL_T_INT,
     fn_long,
     NULL,
     "LONG(value) -> integer",
     "the value as an integer (an IPv4 address as its 32-bit number)"},
    {"LOWER",
     1,
     false,
     {AQL_T_STR},
     AQL_T_STR,
     fn_lower,
     NULL,
     "LOWER(string) -> string",
     "ASCII letters in lower case"},
    {"NOW",
     0,
     false,
     {ANY},
     AQL_T_TIME,
     fn_now,
     NULL,
     "NOW() -> time",
     "the time the query started, ms since the epoch"},
    {"PARSEDATETIME",
     1,
     false,
     {AQL_T_STR},
     AQL_T_TIME,
     fn_parsedatetime,
     NULL,
     "PARSEDATETIME('1 hour ago' | 'yyyy-MM-dd HH:mm[:ss]') -> time",
     "a relative (n seconds/minutes/hours/days/weeks ago) or absolute UTC time"},
    {"QIDDESCRIPTION",
     1,
     false,
     {AQL_T_INT},
     AQL_T_STR,
     fn_qiddescription,
     NULL,
     "QIDDESCRIPTION(qid) -> string",
     "description of a QID"},
    {"QIDNAME",
     1,
     false,
     {AQL_T_INT},
     AQL_T_STR,
     fn_qidname,
     NULL,
     "QIDNAME(qid) -> string",
     "name of a QID"},
    {"REPLACEALL",
     3,
     false,
     {AQL_T_STR, AQL_T_STR, AQL_T_STR},
     AQL_T_STR,
     fn_replaceall,
     plan_replace,
     "REPLACEALL('regex', string, 'replacement') -> string",
     "every match of the regex replaced ($1 refers to a group)"},
    {"REPLACEFIRST",
     3,
     false,
     {AQL_T_STR, AQL_T_STR, AQL_T_STR},
     AQL_T_STR,
     fn_replacefirst,
     plan_replace,
     "REPLACEFIRST('regex', string, 'replacement') -> string",
     "the first match of the regex replaced"},
    {"STR",
     1,
     false,
     {ANY},
     AQL_T_STR,
     fn_str,
     NULL,
     "STR(value) -> string",
     "the value's text (times as ms, IPs dotted)"},
    {"STRLEN",
     1,
     false,
     {AQL_T_STR},
     AQL_T_INT,
     fn_strlen,
     NULL,
     "STRLEN(string) -> integer",
     "length in bytes (0 for null)"},
    {"STRPOS",
     2,
     true,
     {AQL_T_STR, AQL_T_STR, AQL_T_INT},
     AQL_T_INT,
     fn_strpos,
     NULL,
     "STRPOS(string, find[, from]) -> integer",
     "byte index of find, or -1"},
    {"SUBSTRING",
     3,
     false,
     {AQL_T_STR, AQL_T_INT, AQL_T_INT},
     AQL_T_STR,
     fn_substring,
     NULL,
     "SUBSTRING(string, start, length) -> string",
     "length bytes from index start (0-based)"},
    {"NETWORKNAME",
     1,
     false,
     {AQL_T_IP},
     AQL_T_STR,
     fn_networkname,
     NULL,
     "NETWORKNAME(ip) -> string",
     "name of the local network holding ip (network hierarchy); null if remote"},
    {"PROTOCOLNAME",
     1,
     false,
     {AQL_T_INT},
     AQL_T_STR,
     fn_protocolname,
     NULL,
     "PROTOCOLNAME(protocolid) -> string",
     "IANA name of an IP protocol number (TCP, UDP, ICMP, ...)"},
    {"UPPER",
     1,
     false,
     {AQL_T_STR},
     AQL_T_STR,
     fn_upper,
     NULL,
     "UPPER(string) -> string",
     "ASCII letters in upper case"},
};

/* Known QRadar functions whose data openstrm does not have yet, and what they need. */
static const struct {
    const char *name;
    const char *needs;
} unavailable[] = {
    {"ASSETHOSTNAME", "the asset model"},
    {"ASSETPROPERTY", "the asset model"},
    {"ASSETUSER", "the asset model"},
    {"DOMAINNAME", "domains"},
    {"GEO::DISTANCE", "GeoIP data"},
    {"GEO::DISTANCE_BY_DOMAIN", "GeoIP data"},
    {"GEO::LOOKUP", "GeoIP data"},
    {"GEO::LOOKUP_BY_DOMAIN", "GeoIP data"},
    {"GEO::LOOKUP_TEXT", "GeoIP data"},
    {"GEO::LOOKUP_TEXT_BY_DOMAIN", "GeoIP data"},
    {"HOSTNAME", "the asset model (host name lookup)"},
    {"INOFFENSE", "offenses linked to events"},
    {"LOGSOURCEGROUPNAME", "log source groups"},
    {"REFERENCEMAP", "reference data"},
    {"REFERENCEMAPSETCONTAINS", "reference data"},
    {"REFERENCESETCONTAINS", "reference data"},
    {"REFERENCETABLE", "reference data"},
    {"RULENAME", "rules linked to events"},
};

#define NFUNCS (sizeof funcs / sizeof funcs[0])

const struct aql_func *aql_func_lookup(const char *name, size_t len)
{
    for (size_t i = 0; i < NFUNCS; i++)
        if (strlen(funcs[i].name) == len && strncasecmp(funcs[i].name, name, len) == 0)
            return &funcs[i];
    return NULL;
}

const char *aql_func_unavailable(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof unavailable / sizeof unavailable[0]; i++)
        if (strlen(unavailable[i].name) == len && strncasecmp(unavailable[i].name, name, len) == 0)
            return unavailable[i].needs;
    return NULL;
}

size_t aql_edit_distance(const char *a, size_t alen, const char *b, size_t blen, size_t cap)
{
    /* Levenshtein with two rows; names are short, longer input is simply "far" */
    if (alen > 64 || blen > 64) return cap + 1;
    size_t prev[65], cur[65];
    for (size_t j = 0; j <= blen; j++)
        prev[j] = j;
    for (size_t i = 1; i <= alen; i++) {
        cur[0] = i;
        size_t rowmin = cur[0];
        for (size_t j = 1; j <= blen; j++) {
            int ca = a[i - 1] >= 'A' && a[i - 1] <= 'Z' ? a[i - 1] + 32 : a[i - 1];
            int cb = b[j - 1] >= 'A' && b[j - 1] <= 'Z' ? b[j - 1] + 32 : b[j - 1];
            size_t v = prev[j - 1] + (ca != cb);
            if (prev[j] + 1 < v) v = prev[j] + 1;
            if (cur[j - 1] + 1 < v) v = cur[j - 1] + 1;
            cur[j] = v;
            if (v < rowmin) rowmin = v;
        }
        if (rowmin > cap) return cap + 1;
        memcpy(prev, cur, (blen + 1) * sizeof *prev);
    }
    return prev[blen] > cap ? cap + 1 : prev[blen];
}

const char *aql_func_suggest(const char *name, size_t len)
{
    size_t cap = len / 2 < 3 ? len / 2 : 3, bestd = cap + 1;
    const char *best = NULL;
    for (size_t i = 0; i < NFUNCS + 12; i++) {
        const char *nm;
        enum aql_agg ag = (enum aql_agg)(i - NFUNCS);
        if (i < NFUNCS)
            nm = funcs[i].name;
        else if (i - NFUNCS <= AQL_AGG_STDEVP)
            nm = aql_agg_name(ag);
        else
            nm = "INCIDR";
        size_t d = aql_edit_distance(name, len, nm, strlen(nm), cap);
        if (d < bestd) {
            bestd = d;
            best = nm;
        }
    }
    return best;
}

void aql_func_names(char *buf, size_t size)
{
    size_t o = 0;
    if (!size) return;
    buf[0] = '\0';
    for (size_t i = 0; i < NFUNCS; i++) {
        int n = snprintf(buf + o, size - o, "%s%s", i ? ", " : "", funcs[i].name);
        if (n < 0 || (size_t)n >= size - o) return;
        o += (size_t)n;
    }
}

void aql_functions_write(FILE *out)
{
    static const struct {
        const char *sig, *summary;
    } aggs[] = {
        {"COUNT(*) | COUNT(value) -> integer", "rows of the group (with a non-null value)"},
        {"SUM(number) -> number", "sum of the values"},
        {"AVG(number) -> number", "mean of the values"},
        {"MIN(value) -> value", "smallest value"},
        {"MAX(value) -> value", "largest value"},
        {"FIRST(value) -> value", "first non-null value in scan order"},
        {"LAST(value) -> value", "last non-null value in scan order"},
        {"UNIQUECOUNT(value) -> integer", "exact number of distinct values"},
        {"DISTINCTCOUNT(value) -> integer", "approximate distinct values (HyperLogLog, ~2%)"},
        {"STDEV(number) -> number", "sample standard deviation"},
        {"STDEVP(number) -> number", "population standard deviation"},
    };
    fprintf(out, "%-62s %s\n", "FUNCTION", "DESCRIPTION");
    for (size_t i = 0; i < sizeof aggs / sizeof aggs[0]; i++)
        fprintf(out, "%-62s aggregate: %s\n", aggs[i].sig, aggs[i].summary);
    fprintf(out, "%-62s %s\n", "INCIDR('net/bits', ip) -> condition",
            "whether ip is in the network (arguments in either order)");
    for (size_t i = 0; i < NFUNCS; i++)
        fprintf(out, "%-62s %s\n", funcs[i].signature, funcs[i].summary);
    for (size_t i = 0; i < sizeof unavailable / sizeof unavailable[0]; i++)
        fprintf(out, "%-62s not available: needs %s\n", unavailable[i].name, unavailable[i].needs);
}
