/*
 * result.c - the result table of a query and its three printed forms.
 *
 * A result is ncols named, typed columns and nrows rows of struct aql_value, stored row-major
 * with a stride that may include hidden sort keys after the visible columns. The result owns
 * its memory: cells in one growable array, every string (and column name) copied into its
 * arena, so it outlives the store scan that produced it.
 *
 * Printing:
 *  - TABLE for people: aligned columns, header and separator, times as
 *    "2026-11-25 22:19:50.123" (UTC), control characters and invalid UTF-8 escaped (\n, \t,
 *    \xNN) so a hostile payload cannot drive the terminal, values cut at 120 characters, and
 *    a "(N rows)" line;
 *  - CSV per RFC 4180: header row, CRLF line ends, a field is quoted when it holds a comma,
 *    quote, CR or LF (quotes doubled); times as ms since the epoch; null as an empty field;
 *  - JSON in QRadar's shape {"events":[{"col":value,...},...]}: numbers as numbers, null as
 *    null, strings escaped so that the output is valid JSON whatever the bytes (control
 *    characters as \u00XX, invalid UTF-8 bytes as U+FFFD).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "aql/aql_int.h"

#define TABLE_MAX_CHARS 120

/* ---------------------------------------------------------------- result table */

struct aql_result *aql_result_new(const struct aql_query *q, size_t stride)
{
    struct aql_result *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    strm_arena_init(&r->arena, 64 * 1024);
    r->ncols = q->nitems;
    r->stride = stride;
    r->root = q->table == STRM_TABLE_FLOWS ? "flows" : "events";
    r->names = strm_arena_alloc(&r->arena, (q->nitems + 1) * sizeof *r->names);
    r->types = strm_arena_alloc(&r->arena, (q->nitems + 1) * sizeof *r->types);
    if (!r->names || !r->types) goto fail;
    for (size_t i = 0; i < q->nitems; i++) {
        struct strm_str s =
            strm_arena_strdup(&r->arena, q->items[i].name, strlen(q->items[i].name));
        if (!s.p) goto fail;
        r->names[i] = s.p;
        r->types[i] = q->items[i].expr->type;
    }
    return r;
fail:
    aql_result_free(r);
    return NULL;
}

struct aql_value *aql_result_append(struct aql_result *r, const struct aql_value *vals)
{
    if (r->nrows == r->cap) {
        size_t ncap = r->cap ? r->cap * 2 : 64;
        size_t per = r->stride ? r->stride : 1;
        if (ncap > SIZE_MAX / per / sizeof *r->cells) return NULL;
        struct aql_value *nc = realloc(r->cells, ncap * per * sizeof *nc);
        if (!nc) return NULL;
        r->cells = nc;
        r->cap = ncap;
    }
    struct aql_value *dst = r->cells + r->nrows * r->stride;
    for (size_t i = 0; i < r->stride; i++) {
        dst[i] = vals[i];
        if (vals[i].type == AQL_T_STR) {
            dst[i].u.s = strm_arena_strdup(&r->arena, vals[i].u.s.p, vals[i].u.s.len);
            if (!dst[i].u.s.p) return NULL;
        }
    }
    r->nrows++;
    return dst;
}

void aql_result_free(struct aql_result *r)
{
    if (!r) return;
    free(r->cells);
    strm_arena_free(&r->arena);
    free(r);
}

size_t aql_result_rows(const struct aql_result *r)
{
    return r ? r->nrows : 0;
}
size_t aql_result_cols(const struct aql_result *r)
{
    return r ? r->ncols : 0;
}

const char *aql_result_colname(const struct aql_result *r, size_t col)
{
    return r && col < r->ncols ? r->names[col] : NULL;
}

int aql_format_parse(const char *s, enum aql_format *out)
{
    if (!s) return STRM_ERR_INVAL;
    if (strcasecmp(s, "table") == 0)
        *out = AQL_FORMAT_TABLE;
    else if (strcasecmp(s, "csv") == 0)
        *out = AQL_FORMAT_CSV;
    else if (strcasecmp(s, "json") == 0)
        *out = AQL_FORMAT_JSON;
    else
        return STRM_ERR_INVAL;
    return 0;
}

/* ---------------------------------------------------------------- time, MAC, value text */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

size_t aql_time_format(int64_t ms, char *buf, size_t size)
{
    int64_t days = ms / 86400000, rem = ms % 86400000;
    if (rem < 0) {
        rem += 86400000;
        days--;
    }
    int64_t y;
    int m, d;
    civil_from_days(days, &y, &m, &d);
    int n = snprintf(buf, size, "%04" PRId64 "-%02d-%02d %02d:%02d:%02d.%03d", y, m, d,
                     (int)(rem / 3600000), (int)(rem / 60000 % 60), (int)(rem / 1000 % 60),
                     (int)(rem % 1000));
    if (n < 0) return 0;
    return (size_t)n < size ? (size_t)n : size - 1;
}

static bool digits(const char *s, size_t len, size_t at, size_t n, int *out)
{
    if (at + n > len) return false;
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[at + i] < '0' || s[at + i] > '9') return false;
        v = v * 10 + (s[at + i] - '0');
    }
    *out = v;
    return true;
}

int aql_time_parse(const char *s, size_t len, int64_t *out)
{
    int y, mo, d, h = 0, mi = 0, sec = 0, ms = 0;
    if (len > 0 && (s[len - 1] == 'Z' || s[len - 1] == 'z')) len--;
    if (!digits(s, len, 0, 4, &y) || len < 10 || (s[4] != '-' && s[4] != '/') || s[7] != s[4] ||
        !digits(s, len, 5, 2, &mo) || !digits(s, len, 8, 2, &d))
        return STRM_ERR_PARSE;
    size_t i = 10;
    if (i < len) {
        if (s[i] != ' ' && s[i] != 'T' && s[i] != '-') return STRM_ERR_PARSE;
        if (!digits(s, len, i + 1, 2, &h) || i + 3 >= len || s[i + 3] != ':' ||
            !digits(s, len, i + 4, 2, &mi))
            return STRM_ERR_PARSE;
        i += 6;
        if (i < len) {
            if (s[i] != ':' || !digits(s, len, i + 1, 2, &sec)) return STRM_ERR_PARSE;
            i += 3;
            if (i < len) {
                if (s[i] != '.' || !digits(s, len, i + 1, 3, &ms) || i + 4 != len)
                    return STRM_ERR_PARSE;
            }
        }
    }
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 || sec > 60)
        return STRM_ERR_PARSE;
    int64_t days = days_from_civil(y, mo, d);
    *out = ((days * 24 + h) * 60 + mi) * 60000 + (int64_t)sec * 1000 + ms;
    return 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

int aql_mac_parse(const char *s, size_t len, uint8_t mac[6])
{
    if (len != 17) return STRM_ERR_PARSE;
    char sep = s[2];
    if (sep != ':' && sep != '-') return STRM_ERR_PARSE;
    for (int i = 0; i < 6; i++) {
        int hi = hexval(s[i * 3]), lo = hexval(s[i * 3 + 1]);
        if (hi < 0 || lo < 0 || (i < 5 && s[i * 3 + 2] != sep)) return STRM_ERR_PARSE;
        mac[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

/* v in decimal at buf (at least 21 bytes), unterminated; returns its length. A result of
 * 64k port sums spent a third of its output in snprintf. */
static size_t i64_text(int64_t v, char *buf)
{
    char tmp[20];
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    size_t n = 0, o = 0;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0) buf[o++] = '-';
    while (n)
        buf[o++] = tmp[--n];
    return o;
}

size_t aql_value_text(const struct aql_value *v, char *buf, size_t size, const char **p)
{
    int n = 0;
    *p = buf;
    buf[0] = '\0';
    switch (v->type) {
    case AQL_T_NULL:
        return 0;
    case AQL_T_BOOL:
        n = snprintf(buf, size, "%s", v->u.i ? "true" : "false");
        break;
    case AQL_T_INT:
    case AQL_T_TIME:
        if (size > 21) {
            size_t k = i64_text(v->u.i, buf);
            buf[k] = '\0';
            return k;
        }
        n = snprintf(buf, size, "%" PRId64, v->u.i);
        break;
    case AQL_T_STR:
        *p = v->u.s.p;
        return v->u.s.len;
    case AQL_T_IP:
        return strm_ip_format(&v->u.ip, buf, size);
    case AQL_T_MAC:
        n = snprintf(buf, size, "%02x:%02x:%02x:%02x:%02x:%02x", v->u.mac[0], v->u.mac[1],
                     v->u.mac[2], v->u.mac[3], v->u.mac[4], v->u.mac[5]);
        break;
    case AQL_T_DOUBLE:
        if (v->u.d != v->u.d || v->u.d - v->u.d != 0) return 0; /* NaN, inf: no number */
        n = snprintf(buf, size, "%.15g", v->u.d);
        break;
    }
    if (n < 0) return 0;
    return (size_t)n < size ? (size_t)n : size - 1;
}

/* ---------------------------------------------------------------- UTF-8 */

/* Length of the valid UTF-8 sequence at s (1-4), or 0 if s[0] does not start one.
 * Rejects overlong forms, surrogates and code points above U+10FFFF. */
static size_t utf8_valid(const unsigned char *s, size_t n, uint32_t *cp)
{
    unsigned char c = s[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    size_t k;
    uint32_t v, min;
    if (c >= 0xc2 && c <= 0xdf) {
        k = 2;
        v = c & 0x1f;
        min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        k = 3;
        v = c & 0x0f;
        min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        k = 4;
        v = c & 0x07;
        min = 0x10000;
    } else {
        return 0;
    }
    if (k > n) return 0;
    for (size_t i = 1; i < k; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0;
        v = v << 6 | (s[i] & 0x3f);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) return 0;
    *cp = v;
    return k;
}

/* ---------------------------------------------------------------- TABLE */

struct cell_text {
    char buf[TABLE_MAX_CHARS * 4 + 16];
    size_t len;   /* bytes */
    size_t width; /* characters on screen */
};

static void table_cell(const struct aql_value *v, struct cell_text *ct)
{
    char tmp[64];
    const char *s;
    size_t n;
    if (v->type == AQL_T_TIME) {
        n = aql_time_format(v->u.i, tmp, sizeof tmp);
        s = tmp;
    } else {
        n = aql_value_text(v, tmp, sizeof tmp, &s);
    }
    const unsigned char *u = (const unsigned char *)s;
    size_t o = 0, w = 0;
    size_t cut_o = SIZE_MAX; /* where "..." goes if the value turns out too long */
    for (size_t i = 0; i < n;) {
        char unit[20];
        size_t ulen, uw;
        uint32_t cp;
        size_t k = utf8_valid(u + i, n - i, &cp);
        if (k == 1 && cp >= 0x20 && cp < 0x7f) {
            unit[0] = (char)cp;
            ulen = uw = 1;
        } else if (k > 1 && !(cp >= 0x80 && cp < 0xa0)) {
            memcpy(unit, u + i, k);
            ulen = k;
            uw = 1;
        } else if (k == 1 && (cp == '\n' || cp == '\r' || cp == '\t')) {
            unit[0] = '\\';
            unit[1] = cp == '\n' ? 'n' : cp == '\r' ? 'r' : 't';
            ulen = uw = 2;
        } else {
            /* control character, C1 control or invalid byte(s): \xNN each */
            if (k == 0) k = 1;
            ulen = 0;
            for (size_t j = 0; j < k; j++) {
                snprintf(unit + ulen, 5, "\\x%02x", u[i + j]);
                ulen += 4;
            }
            uw = ulen;
        }
        if (cut_o == SIZE_MAX && w + uw > TABLE_MAX_CHARS - 3) cut_o = o;
        if (w + uw > TABLE_MAX_CHARS) {
            memcpy(ct->buf + cut_o, "...", 3);
            o = cut_o + 3;
            w = TABLE_MAX_CHARS; /* at most; exact enough for padding */
            break;
        }
        memcpy(ct->buf + o, unit, ulen);
        o += ulen;
        w += uw;
        i += k;
    }
    if (w == TABLE_MAX_CHARS && cut_o != SIZE_MAX) {
        /* recount the width of what was kept */
        w = 0;
        for (size_t j = 0; j < o; j++)
            w += ((unsigned char)ct->buf[j] & 0xc0) != 0x80;
    }
    ct->buf[o] = '\0';
    ct->len = o;
    ct->width = w;
}

static void put_pad(FILE *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fputc(' ', out);
}

static bool right_aligned(enum aql_type t)
{
    return t == AQL_T_INT || t == AQL_T_BOOL || t == AQL_T_DOUBLE;
}

static int write_table(const struct aql_result *r, FILE *out)
{
    size_t *width = calloc(r->ncols ? r->ncols : 1, sizeof *width);
    struct cell_text *ct = malloc(sizeof *ct);
    if (!width || !ct) {
        free(width);
        free(ct);
        return STRM_ERR_NOMEM;
    }
    for (size_t c = 0; c < r->ncols; c++) {
        struct aql_value name = {.type = AQL_T_STR};
        name.u.s.p = r->names[c];
        name.u.s.len = (uint32_t)strlen(r->names[c]);
        table_cell(&name, ct);
        width[c] = ct->width;
    }
    for (size_t i = 0; i < r->nrows; i++)
        for (size_t c = 0; c < r->ncols; c++) {
            table_cell(&r->cells[i * r->stride + c], ct);
            if (ct->width > width[c]) width[c] = ct->width;
        }
    for (size_t c = 0; c < r->ncols; c++) {
        struct aql_value name = {.type = AQL_T_STR};
        name.u.s.p = r->names[c];
        name.u.s.len = (uint32_t)strlen(r->names[c]);
        table_cell(&name, ct);
        if (c) fputs(" | ", out);
        fwrite(ct->buf, 1, ct->len, out);
        if (c + 1 < r->ncols) put_pad(out, width[c] - ct->width);
    }
    fputc('\n', out);
    for (size_t c = 0; c < r->ncols; c++) {
        if (c) fputs("-+-", out);
        for (size_t k = 0; k < width[c]; k++)
            fputc('-', out);
    }
    fputc('\n', out);
    for (size_t i = 0; i < r->nrows; i++) {
        for (size_t c = 0; c < r->ncols; c++) {
            table_cell(&r->cells[i * r->stride + c], ct);
            if (c) fputs(" | ", out);
            size_t pad = width[c] - ct->width;
            if (right_aligned(r->types[c])) {
                put_pad(out, pad);
                fwrite(ct->buf, 1, ct->len, out);
            } else {
                fwrite(ct->buf, 1, ct->len, out);
                if (c + 1 < r->ncols) put_pad(out, pad);
            }
        }
        fputc('\n', out);
    }
    fprintf(out, "(%zu row%s)\n", r->nrows, r->nrows == 1 ? "" : "s");
    free(width);
    free(ct);
    return 0;
}

/* ---------------------------------------------------------------- CSV */

static void csv_field(FILE *out, const char *s, size_t n)
{
    bool quote = false;
    for (size_t i = 0; i < n && !quote; i++)
        quote = s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n';
    if (!quote) {
        fwrite_unlocked(s, 1, n, out);
        return;
    }
    fputc_unlocked('"', out);
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"') fputc_unlocked('"', out);
        fputc_unlocked(s[i], out);
    }
    fputc_unlocked('"', out);
}

/* (the stream is locked once per row, its calls inside unlocked) */
static void csv_row(const struct aql_result *r, const struct aql_value *vals, FILE *out)
{
    char buf[64];
    flockfile(out);
    for (size_t c = 0; c < r->ncols; c++) {
        if (c) fputc_unlocked(',', out);
        const char *s;
        size_t n = aql_value_text(&vals[c], buf, sizeof buf, &s);
        if (vals[c].type == AQL_T_INT || vals[c].type == AQL_T_TIME)
            fwrite_unlocked(s, 1, n, out); /* a number needs no quotes */
        else
            csv_field(out, s, n);
    }
    fputs_unlocked("\r\n", out);
    funlockfile(out);
}

static void csv_header(const struct aql_result *r, FILE *out)
{
    flockfile(out);
    for (size_t c = 0; c < r->ncols; c++) {
        if (c) fputc_unlocked(',', out);
        csv_field(out, r->names[c], strlen(r->names[c]));
    }
    fputs_unlocked("\r\n", out);
    funlockfile(out);
}

static int write_csv(const struct aql_result *r, FILE *out)
{
    csv_header(r, out);
    for (size_t i = 0; i < r->nrows; i++)
        csv_row(r, &r->cells[i * r->stride], out);
    return 0;
}

static void json_string(FILE *out, const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    fputc('"', out);
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t k = utf8_valid(s + i, n - i, &cp);
        if (k == 0) {
            fputs("\\ufffd", out);
            i++;
            continue;
        }
        if (k > 1) {
            fwrite(s + i, 1, k, out);
        } else if (cp == '"' || cp == '\\') {
            fputc('\\', out);
            fputc((int)cp, out);
        } else if (cp == '\n') {
            fputs("\\n", out);
        } else if (cp == '\r') {
            fputs("\\r", out);
        } else if (cp == '\t') {
            fputs("\\t", out);
        } else if (cp < 0x20 || cp == 0x7f) {
            fprintf(out, "\\u%04x", (unsigned)cp);
        } else {
            fputc((int)cp, out);
        }
        i += k;
    }
    fputc('"', out);
}

static void json_row(const struct aql_result *r, const struct aql_value *vals, uint64_t idx,
                     FILE *out)
{
    char buf[64];
    fputs(idx ? ",\n{" : "\n{", out);
    for (size_t c = 0; c < r->ncols; c++) {
        if (c) fputc(',', out);
        json_string(out, r->names[c], strlen(r->names[c]));
        fputc(':', out);
        const struct aql_value *v = &vals[c];
        const char *s;
        size_t n = aql_value_text(v, buf, sizeof buf, &s);
        switch (v->type) {
        case AQL_T_NULL:
            fputs("null", out);
            break;
        case AQL_T_BOOL:
        case AQL_T_INT:
        case AQL_T_TIME:
            fwrite(s, 1, n, out);
            break;
        case AQL_T_DOUBLE:
            if (n)
                fwrite(s, 1, n, out);
            else
                fputs("null", out);
            break;
        default:
            json_string(out, s, n);
            break;
        }
    }
    fputc('}', out);
}

static int write_json(const struct aql_result *r, FILE *out)
{
    fprintf(out, "{\"%s\":[", r->root ? r->root : "events");
    for (size_t i = 0; i < r->nrows; i++)
        json_row(r, &r->cells[i * r->stride], i, out);
    fputs(r->nrows ? "\n]}\n" : "]}\n", out);
    return 0;
}

void aql_stream_begin(const struct aql_result *r, enum aql_format fmt, FILE *out)
{
    if (fmt == AQL_FORMAT_CSV)
        csv_header(r, out);
    else
        fprintf(out, "{\"%s\":[", r->root ? r->root : "events");
}

void aql_stream_row(const struct aql_result *r, const struct aql_value *vals, uint64_t idx,
                    enum aql_format fmt, FILE *out)
{
    if (fmt == AQL_FORMAT_CSV)
        csv_row(r, vals, out);
    else
        json_row(r, vals, idx, out);
}

void aql_stream_end(const struct aql_result *r, uint64_t nrows, enum aql_format fmt, FILE *out)
{
    (void)r;
    if (fmt != AQL_FORMAT_CSV) fputs(nrows ? "\n]}\n" : "]}\n", out);
    fflush(out);
}

int aql_result_write(const struct aql_result *r, enum aql_format fmt, FILE *out)
{
    if (!r || !out) return STRM_ERR_INVAL;
    int rc;
    switch (fmt) {
    case AQL_FORMAT_TABLE:
        rc = write_table(r, out);
        break;
    case AQL_FORMAT_CSV:
        rc = write_csv(r, out);
        break;
    case AQL_FORMAT_JSON:
        rc = write_json(r, out);
        break;
    default:
        return STRM_ERR_INVAL;
    }
    if (rc == 0 && (fflush(out) != 0 || ferror(out))) rc = STRM_ERR_IO;
    return rc;
}

int aql_result_write_page(const struct aql_result *r, enum aql_format fmt, size_t offset,
                          size_t count, FILE *out)
{
    if (!r) return STRM_ERR_INVAL;
    struct aql_result view = *r; /* the writers read cells and nrows only */
    size_t start = offset < r->nrows ? offset : r->nrows;
    view.cells = r->cells ? r->cells + start * r->stride : NULL;
    view.nrows = r->nrows - start;
    if (count && view.nrows > count) view.nrows = count;
    return aql_result_write(&view, fmt, out);
}
