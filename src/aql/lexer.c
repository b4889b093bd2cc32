/*
 * lexer.c - turns AQL text into tokens, one at a time, on demand of the parser.
 *
 * The lexer knows no keywords: a bare word is an IDENT and the parser decides whether it is
 * SELECT or a column name (case-insensitively), so adding a keyword touches only the parser.
 * Quoted text ('literal' with '' for a quote, "name" with "" for a quote) is unquoted into
 * the query arena, NUL-terminated; every token remembers its byte offset so that errors can
 * say "at line L, column C". Input is arbitrary bytes: the lexer never reads past src[len] and
 * reports anything it cannot tokenize as an error, never crashes.
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "aql/aql_int.h"

static bool is_ident_start(unsigned char c)
{
    return isalpha(c) || c == '_' || c >= 0x80;
}

static bool is_ident_char(unsigned char c)
{
    return isalnum(c) || c == '_' || c >= 0x80;
}

size_t aql_where(const char *src, size_t len, size_t pos, char *buf, size_t size)
{
    size_t line = 1, col = 1;
    for (size_t i = 0; i < pos && i < len; i++) {
        if (src[i] == '\n') {
            line++;
            col = 1;
        } else if (((unsigned char)src[i] & 0xc0) != 0x80) {
            col++; /* columns count characters, not UTF-8 continuation bytes */
        }
    }
    int n = snprintf(buf, size, "line %zu, column %zu", line, col);
    return n < 0 ? 0 : (size_t)n;
}

static int lex_fail(const struct aql_lexer *lx, struct aql_error *err, size_t pos, const char *what)
{
    char where[64];
    aql_where(lx->src, lx->len, pos, where, sizeof where);
    err->pos = pos;
    snprintf(err->msg, sizeof err->msg, "%s at %s", what, where);
    return STRM_ERR_PARSE;
}

/* Unquotes text between quote characters q starting after the opening quote at start. */
static int lex_quoted(struct aql_lexer *lx, struct aql_tok *t, char q, struct aql_error *err)
{
    size_t start = lx->pos;
    size_t i = start + 1, n = 0;
    /* First pass: find the end and the unquoted length. */
    for (;;) {
        if (i >= lx->len)
            return lex_fail(lx, err, start,
                            q == '\'' ? "unterminated string literal" : "unterminated quoted name");
        if (lx->src[i] == q) {
            if (i + 1 < lx->len && lx->src[i + 1] == q) {
                i += 2;
                n++;
                continue;
            }
            break;
        }
        i++;
        n++;
    }
    char *buf = strm_arena_alloc(lx->arena, n + 1);
    if (!buf) return STRM_ERR_NOMEM;
    size_t o = 0;
    for (size_t j = start + 1; j < i; j++) {
        buf[o++] = lx->src[j];
        if (lx->src[j] == q) j++; /* the doubled quote */
    }
    buf[o] = '\0';
    t->text = buf;
    t->text_len = o;
    lx->pos = i + 1;
    t->len = lx->pos - start;
    return STRM_OK;
}

static int lex_number(struct aql_lexer *lx, struct aql_tok *t, struct aql_error *err)
{
    const char *s = lx->src;
    size_t i = lx->pos;
    uint64_t v = 0;
    bool overflow = false;
    if (s[i] == '0' && i + 1 < lx->len && (s[i + 1] == 'x' || s[i + 1] == 'X')) {
        i += 2;
        size_t digits = 0;
        while (i < lx->len && isxdigit((unsigned char)s[i])) {
            unsigned char c = (unsigned char)s[i];
            unsigned d = isdigit(c) ? (unsigned)(c - '0') : (unsigned)(tolower(c) - 'a' + 10);
            if (v > (UINT64_MAX >> 4)) overflow = true;
            v = (v << 4) | d;
            i++;
            digits++;
        }
        if (digits == 0) return lex_fail(lx, err, lx->pos, "hexadecimal number without digits");
    } else {
        while (i < lx->len && isdigit((unsigned char)s[i])) {
            unsigned d = (unsigned)(s[i] - '0');
            if (v > (UINT64_MAX - d) / 10) overflow = true;
            v = v * 10 + d;
            i++;
        }
    }
    if (i + 1 < lx->len && s[i] == '.' && isdigit((unsigned char)s[i + 1]))
        return lex_fail(lx, err, lx->pos,
                        "decimal numbers are not supported (use DOUBLE('1.5') or an integer)");
    if (i < lx->len && is_ident_char((unsigned char)s[i]))
        return lex_fail(lx, err, lx->pos, "malformed number");
    if (overflow || v > (uint64_t)INT64_MAX)
        return lex_fail(lx, err, lx->pos, "number out of range");
    t->ival = (int64_t)v;
    t->len = i - lx->pos;
    lx->pos = i;
    return STRM_OK;
}

int aql_lex_next(struct aql_lexer *lx, struct aql_tok *t, struct aql_error *err)
{
    const char *s = lx->src;
    for (;;) {
        while (lx->pos < lx->len && isspace((unsigned char)s[lx->pos]))
            lx->pos++;
        /* -- comments to the end of the line */
        if (lx->pos + 1 < lx->len && s[lx->pos] == '-' && s[lx->pos + 1] == '-') {
            while (lx->pos < lx->len && s[lx->pos] != '\n')
                lx->pos++;
            continue;
        }
        break;
    }
    memset(t, 0, sizeof *t);
    t->pos = lx->pos;
    if (lx->pos >= lx->len) {
        t->kind = AQL_TOK_EOF;
        return STRM_OK;
    }
    unsigned char c = (unsigned char)s[lx->pos];
    if (c == '\'') {
        t->kind = AQL_TOK_STRING;
        return lex_quoted(lx, t, '\'', err);
    }
    if (c == '"') {
        t->kind = AQL_TOK_QIDENT;
        int rc = lex_quoted(lx, t, '"', err);
        if (rc == 0 && t->text_len == 0) return lex_fail(lx, err, t->pos, "empty quoted name");
        return rc;
    }
    if (isdigit(c)) {
        t->kind = AQL_TOK_INT;
        return lex_number(lx, t, err);
    }
    if (is_ident_start(c)) {
        size_t i = lx->pos;
        while (i < lx->len && is_ident_char((unsigned char)s[i]))
            i++;
        /* QRadar's namespaced functions (GEO::LOOKUP): one name */
        while (i + 2 < lx->len && s[i] == ':' && s[i + 1] == ':' &&
               is_ident_start((unsigned char)s[i + 2])) {
            i += 2;
            while (i < lx->len && is_ident_char((unsigned char)s[i]))
                i++;
        }
        t->kind = AQL_TOK_IDENT;
        t->text = s + lx->pos;
        t->text_len = i - lx->pos;
        t->len = t->text_len;
        lx->pos = i;
        return STRM_OK;
    }
    char n = lx->pos + 1 < lx->len ? s[lx->pos + 1] : '\0';
    t->len = 1;
    switch (c) {
    case '*':
        t->kind = AQL_TOK_STAR;
        break;
    case ',':
        t->kind = AQL_TOK_COMMA;
        break;
    case '(':
        t->kind = AQL_TOK_LPAREN;
        break;
    case ')':
        t->kind = AQL_TOK_RPAREN;
        break;
    case ';':
        t->kind = AQL_TOK_SEMI;
        break;
    case '.':
        t->kind = AQL_TOK_DOT;
        break;
    case '+':
        t->kind = AQL_TOK_PLUS;
        break;
    case '-':
        t->kind = AQL_TOK_MINUS;
        break;
    case '/':
        t->kind = AQL_TOK_SLASH;
        break;
    case '%':
        t->kind = AQL_TOK_PERCENT;
        break;
    case '=':
        t->kind = AQL_TOK_EQ;
        if (n == '=') t->len = 2;
        break;
    case '!':
        if (n != '=') return lex_fail(lx, err, lx->pos, "unexpected character '!'");
        t->kind = AQL_TOK_NE;
        t->len = 2;
        break;
    case '<':
        t->kind = AQL_TOK_LT;
        if (n == '=') {
            t->kind = AQL_TOK_LE;
            t->len = 2;
        } else if (n == '>') {
            t->kind = AQL_TOK_NE;
            t->len = 2;
        }
        break;
    case '>':
        t->kind = AQL_TOK_GT;
        if (n == '=') {
            t->kind = AQL_TOK_GE;
            t->len = 2;
        }
        break;
    default: {
        char what[64];
        if (c >= 0x20 && c < 0x7f)
            snprintf(what, sizeof what, "unexpected character '%c'", c);
        else
            snprintf(what, sizeof what, "unexpected byte 0x%02x", c);
        return lex_fail(lx, err, lx->pos, what);
    }
    }
    t->text = s + lx->pos;
    t->text_len = t->len;
    lx->pos += t->len;
    return STRM_OK;
}

bool aql_tok_is_kw(const struct aql_tok *t, const char *kw)
{
    if (t->kind != AQL_TOK_IDENT) return false;
    size_t n = strlen(kw);
    return t->text_len == n && strncasecmp(t->text, kw, n) == 0;
}

void aql_tok_describe(const struct aql_tok *t, const char *src, char *buf, size_t size)
{
    if (t->kind == AQL_TOK_EOF) {
        snprintf(buf, size, "end of query");
        return;
    }
    /* Source text of the token, cut and with unprintable bytes as \xNN. */
    char tmp[48];
    size_t o = 0;
    size_t n = t->len;
    bool cut = false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)src[t->pos + i];
        if (o + 5 >= 36) {
            cut = true;
            break;
        }
        if (c >= 0x20 && c < 0x7f && c != '\\') {
            tmp[o++] = (char)c;
        } else {
            snprintf(tmp + o, sizeof tmp - o, "\\x%02x", c);
            o += 4;
        }
    }
    tmp[o] = '\0';
    snprintf(buf, size, "'%s%s'", tmp, cut ? "..." : "");
}
