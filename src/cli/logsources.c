/*
 * logsources.c - `strm logsources`: list, add, edit, enable and disable log sources.
 *
 * One implementation, two places to run it: logsources_exec works on a registry. When an
 * instance runs, the client sends its arguments over the control socket (request LOGSOURCES)
 * and the instance runs logsources_exec on its own registry, so the change takes effect in
 * the running pipeline at once and is written to config.db. Without an instance the client
 * opens config.db itself (read-only to list; read-write under the data_dir lock to change,
 * so an instance cannot start in between and miss the change).
 *
 * cli_registry_command is that dispatch, shared with `strm qid`.
 */
#include "cli.h"
#include "collect/collect.h"
#include "dsm/dsm.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void usage(FILE *out)
{
    fprintf(out,
            "usage: strm logsources [--config FILE] <command>\n"
            "  list [--format table|csv]            every log source with its counters\n"
            "  add --identifier HOST --type DSM [--name N] [--group G] [--tz +HH:MM]\n"
            "      [--coalesce on|off] [--enabled on|off]\n"
            "                                        add one (identifier: the syslog hostname\n"
            "                                        or the sender's IP address)\n"
            "  edit ID [--name N] [--group G] [--tz +HH:MM|none] [--coalesce on|off]\n"
            "      [--enabled on|off]               change one\n"
            "  disable ID | enable ID               events of a disabled one are stored\n"
            "                                        unparsed\n"
            "  types                                the log source types (DSMs)\n");
}

static void fmt_time(int64_t ms, char *buf, size_t size)
{
    if (ms <= 0) {
        snprintf(buf, size, "-");
        return;
    }
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm);
}

static const char *type_name(uint16_t type)
{
    const struct dsm_def *d = dsm_by_type(type);
    return d ? d->name : "?";
}

static int cmd_list(struct logsource_registry *reg, int argc, char **argv, FILE *out, FILE *err)
{
    bool csv = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--format") && i + 1 < argc) {
            const char *f = argv[++i];
            if (!strcmp(f, "csv"))
                csv = true;
            else if (strcmp(f, "table") != 0) {
                fprintf(err, "unknown format '%s' (table or csv)\n", f);
                return EXIT_USAGE;
            }
        } else {
            usage(err);
            return EXIT_USAGE;
        }
    }
    struct logsource_info *v = NULL;
    size_t n = 0;
    if (logsource_list(reg, &v, &n) != 0) {
        fprintf(err, "out of memory\n");
        return EXIT_FAIL;
    }
    if (csv)
        fprintf(out, "id,identifier,type,name,group,enabled,coalesce,auto,tz,first_seen,"
                     "last_seen,events\n");
    else
        fprintf(out, "%-5s %-24s %-12s %-36s %-12s %-7s %-8s %-4s %-6s %-19s %-19s %s\n", "id",
                "identifier", "type", "name", "group", "enabled", "coalesce", "auto", "tz",
                "first_seen", "last_seen", "events");
    for (size_t i = 0; i < n; i++) {
        const struct logsource_info *l = &v[i];
        char tz[16], first[32], last[32];
        logsource_tz_format(l->tz_min, tz, sizeof(tz));
        if (csv) {
            fprintf(out, "%" PRIu32 ",", l->id);
            cli_csv_field(out, l->identifier);
            fprintf(out, ",%s,", type_name(l->type));
            cli_csv_field(out, l->name);
            fputc(',', out);
            cli_csv_field(out, l->group);
            fprintf(out, ",%s,%s,%s,%s,%" PRId64 ",%" PRId64 ",%" PRIu64 "\n",
                    l->enabled ? "on" : "off", l->coalesce ? "on" : "off",
                    l->autodiscovered ? "yes" : "no", tz, l->first_seen, l->last_seen, l->events);
        } else {
            fmt_time(l->first_seen, first, sizeof(first));
            fmt_time(l->last_seen, last, sizeof(last));
            fprintf(out,
                    "%-5" PRIu32 " %-24s %-12s %-36s %-12s %-7s %-8s %-4s %-6s %-19s %-19s %" PRIu64
                    "\n",
                    l->id, l->identifier, type_name(l->type), l->name, l->group[0] ? l->group : "-",
                    l->enabled ? "on" : "off", l->coalesce ? "on" : "off",
                    l->autodiscovered ? "yes" : "no", tz, first, last, l->events);
        }
    }
    free(v);
    return EXIT_OK;
}

static bool parse_onoff(const char *s, bool *out)
{
    if (!strcmp(s, "on") || !strcmp(s, "yes") || !strcmp(s, "true") || !strcmp(s, "1"))
        *out = true;
    else if (!strcmp(s, "off") || !strcmp(s, "no") || !strcmp(s, "false") || !strcmp(s, "0"))
        *out = false;
    else
        return false;
    return true;
}

static bool parse_id(const char *s, uint32_t *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || end == s || *end || v == 0 || v > UINT32_MAX) return false;
    *out = (uint32_t)v;
    return true;
}

/* Applies the editing options at argv[i..] to l; returns EXIT_OK or EXIT_USAGE. */
static int apply_opts(struct logsource_info *l, int argc, char **argv, int i, bool adding,
                      FILE *err)
{
    for (; i < argc; i++) {
        const char *o = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) {
            fprintf(err, "option %s needs a value\n", o);
            return EXIT_USAGE;
        }
        i++;
        if (!strcmp(o, "--name")) {
            if (strlen(v) > LOGSOURCE_MAX_NAME || !*v) {
                fprintf(err, "--name must be 1 to %d bytes\n", LOGSOURCE_MAX_NAME);
                return EXIT_USAGE;
            }
            snprintf(l->name, sizeof(l->name), "%s", v);
        } else if (!strcmp(o, "--group")) {
            if (strlen(v) > LOGSOURCE_MAX_GROUP) {
                fprintf(err, "--group must be at most %d bytes\n", LOGSOURCE_MAX_GROUP);
                return EXIT_USAGE;
            }
            snprintf(l->group, sizeof(l->group), "%s", v);
        } else if (!strcmp(o, "--tz")) {
            if (!strcmp(v, "none") || !strcmp(v, "-") || !strcmp(v, "local")) {
                l->tz_min = LOGSOURCE_TZ_UNSET;
            } else if (logsource_tz_parse(v, &l->tz_min) != 0) {
                fprintf(err, "--tz '%s': expected +HH:MM or -HH:MM (or none)\n", v);
                return EXIT_USAGE;
            }
        } else if (!strcmp(o, "--coalesce") || !strcmp(o, "--enabled")) {
            bool b;
            if (!parse_onoff(v, &b)) {
                fprintf(err, "%s '%s': expected on or off\n", o, v);
                return EXIT_USAGE;
            }
            if (!strcmp(o, "--coalesce"))
                l->coalesce = b;
            else
                l->enabled = b;
        } else if (adding && !strcmp(o, "--identifier")) {
            if (!*v || strlen(v) > LOGSOURCE_MAX_IDENT) {
                fprintf(err, "--identifier must be 1 to %d bytes\n", LOGSOURCE_MAX_IDENT);
                return EXIT_USAGE;
            }
            snprintf(l->identifier, sizeof(l->identifier), "%s", v);
        } else if (adding && !strcmp(o, "--type")) {
            const struct dsm_def *d = dsm_by_name(v);
            uint32_t num;
            if (!d && parse_id(v, &num) && num <= UINT16_MAX) d = dsm_by_type((uint16_t)num);
            if (!d) {
                fprintf(err, "unknown log source type '%s' (see `strm logsources types`)\n", v);
                return EXIT_USAGE;
            }
            l->type = d->type_id;
        } else {
            fprintf(err, "unknown option %s\n", o);
            return EXIT_USAGE;
        }
    }
    return EXIT_OK;
}

static int cmd_add(struct logsource_registry *reg, int argc, char **argv, FILE *out, FILE *err,
                   bool coalesce_default)
{
    struct logsource_info l;
    memset(&l, 0, sizeof(l));
    l.tz_min = LOGSOURCE_TZ_UNSET;
    l.enabled = true;
    l.coalesce = coalesce_default;
    int rc = apply_opts(&l, argc, argv, 1, true, err);
    if (rc) return rc;
    if (!l.identifier[0] || !l.type) {
        fprintf(err, "add needs --identifier and --type\n");
        return EXIT_USAGE;
    }
    char msg[512];
    uint32_t id;
    if (logsource_add(reg, &l, &id, msg, sizeof(msg)) != 0) {
        fprintf(err, "%s\n", msg);
        return EXIT_FAIL;
    }
    struct logsource_info got;
    if (logsource_get(reg, id, &got) == 0)
        fprintf(out, "log source %" PRIu32 " added: %s (%s)\n", id, got.name, type_name(got.type));
    return EXIT_OK;
}

static int cmd_edit(struct logsource_registry *reg, int argc, char **argv, FILE *out, FILE *err,
                    int mode /* 0 edit, 1 disable, 2 enable */)
{
    uint32_t id;
    if (argc < 2 || !parse_id(argv[1], &id)) {
        fprintf(err, "%s needs a log source id (see `strm logsources list`)\n", argv[0]);
        return EXIT_USAGE;
    }
    struct logsource_info l;
    if (logsource_get(reg, id, &l) != 0) {
        fprintf(err, "no log source with id %" PRIu32 "\n", id);
        return EXIT_FAIL;
    }
    if (mode == 0) {
        int rc = apply_opts(&l, argc, argv, 2, false, err);
        if (rc) return rc;
    } else {
        if (argc > 2) {
            usage(err);
            return EXIT_USAGE;
        }
        l.enabled = mode == 2;
    }
    char msg[512];
    if (logsource_update(reg, &l, msg, sizeof(msg)) != 0) {
        fprintf(err, "%s\n", msg);
        return EXIT_FAIL;
    }
    char tz[16];
    logsource_tz_format(l.tz_min, tz, sizeof(tz));
    fprintf(out, "log source %" PRIu32 " (%s): enabled %s, coalesce %s, tz %s, group %s\n", id,
            l.name, l.enabled ? "on" : "off", l.coalesce ? "on" : "off", tz,
            l.group[0] ? l.group : "-");
    return EXIT_OK;
}

static int cmd_types(FILE *out)
{
    size_t n;
    const struct dsm_def *const *all = dsm_all(&n);
    fprintf(out, "%-6s %-14s %s\n", "id", "type", "name");
    for (size_t i = 0; i < n; i++)
        fprintf(out, "%-6u %-14s %s\n", all[i]->type_id, all[i]->name, all[i]->display);
    return EXIT_OK;
}

int logsources_exec(struct logsource_registry *reg, int argc, char **argv, FILE *out, FILE *err)
{
    if (argc < 1) {
        usage(err);
        return EXIT_USAGE;
    }
    const char *sub = argv[0];
    if (!strcmp(sub, "list")) return cmd_list(reg, argc, argv, out, err);
    if (!strcmp(sub, "add"))
        return cmd_add(reg, argc, argv, out, err, logsource_coalesce_default(reg));
    if (!strcmp(sub, "edit")) return cmd_edit(reg, argc, argv, out, err, 0);
    if (!strcmp(sub, "disable")) return cmd_edit(reg, argc, argv, out, err, 1);
    if (!strcmp(sub, "enable")) return cmd_edit(reg, argc, argv, out, err, 2);
    if (!strcmp(sub, "types")) return cmd_types(out);
    if (!strcmp(sub, "help")) {
        usage(out);
        return EXIT_OK;
    }
    fprintf(err, "unknown logsources command '%s'\n", sub);
    usage(err);
    return EXIT_USAGE;
}

int cli_registry_command(int argc, char **argv, const char *kind, const char *const *writers,
                         int (*exec)(struct logsource_registry *, int, char **, FILE *, FILE *),
                         void (*usage_fn)(FILE *))
{
    const char *config_path = NULL;
    int i = 1;
    while (i < argc && !strcmp(argv[i], "--config") && i + 1 < argc) {
        config_path = argv[i + 1];
        i += 2;
    }
    if (i >= argc) {
        usage_fn(stderr);
        return EXIT_USAGE;
    }
    if (!strcmp(argv[i], "help") || !strcmp(argv[i], "--help")) {
        usage_fn(stdout);
        return EXIT_OK;
    }
    struct strm_config cfg;
    int rc = cli_load_config(&cfg, config_path);
    if (rc) return rc;
    signal(SIGPIPE, SIG_IGN);
    rc = control_request_argv(&cfg, kind, argc - i, argv + i);
    if (rc >= 0) return rc;
    /* No instance: work on config.db here. */
    bool writes = false;
    for (const char *const *w = writers; *w; w++)
        if (!strcmp(argv[i], *w)) writes = true;
    int lock_fd = -1;
    if (writes && (lock_fd = cli_lock_data_dir(&cfg)) < 0) return EXIT_FAIL;
    struct logsource_registry *reg = NULL;
    int code = EXIT_FAIL;
    if (cli_open_logsources(&cfg, !writes, NULL, &reg) == 0)
        code = exec(reg, argc - i, argv + i, stdout, stderr);
    logsource_close(reg);
    if (lock_fd >= 0) close(lock_fd);
    fflush(stdout);
    return code;
}

int cmd_logsources(int argc, char **argv)
{
    static const char *const writers[] = {"add", "edit", "disable", "enable", NULL};
    return cli_registry_command(argc, argv, "LOGSOURCES", writers, logsources_exec, usage);
}
