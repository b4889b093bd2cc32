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
 */
#include <string.h>
#include <strings.h>

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
    static void fname(const struct aql_value *args, struct aql_value *out)                         \
    {                                                                                              \
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

static const struct aql_func funcs[] = {
    {"CATEGORYNAME", 1, {AQL_T_INT}, AQL_T_STR, fn_categoryname},
    {"LOGSOURCENAME", 1, {AQL_T_INT}, AQL_T_STR, fn_logsourcename},
    {"LOGSOURCETYPENAME", 1, {AQL_T_INT}, AQL_T_STR, fn_logsourcetypename},
    {"QIDDESCRIPTION", 1, {AQL_T_INT}, AQL_T_STR, fn_qiddescription},
    {"QIDNAME", 1, {AQL_T_INT}, AQL_T_STR, fn_qidname},
};

const struct aql_func *aql_func_lookup(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof funcs / sizeof funcs[0]; i++)
        if (strlen(funcs[i].name) == len && strncasecmp(funcs[i].name, name, len) == 0)
            return &funcs[i];
    return NULL;
}

void aql_func_names(char *buf, size_t size)
{
    size_t o = 0;
    if (!size) return;
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof funcs / sizeof funcs[0]; i++) {
        int n = snprintf(buf + o, size - o, "%s%s", i ? ", " : "", funcs[i].name);
        if (n < 0 || (size_t)n >= size - o) return;
        o += (size_t)n;
    }
}
