/*
 * qid.c - `strm qid`: the QID map from the command line (list, show, add, categories).
 *
 * The QID map is every DSM's static QID table plus the user QIDs (qid_add, numbers from
 * QID_USER_BASE), which live in config.db's table user_qids and are loaded into the map at
 * start. `add` goes to the running instance over the control socket when there is one, so
 * its map gains the QID at once; otherwise it is written to config.db here (see
 * cli_registry_command in logsources.c). Like QRadar's qidmap_cli, a new QID needs a name
 * and a low-level category; the severity defaults to the category's.
 */
#include "cli.h"
#include "collect/collect.h"
#include "dsm/dsm.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *out)
{
    fprintf(out, "usage: strm qid [--config FILE] <command>\n"
                 "  list [--dsm NAME|user] [--category ID] [--format table|csv]\n"
                 "                               QIDs (a high-level category id selects all its\n"
                 "                               low-level ones)\n"
                 "  show QID                     one QID in full\n"
                 "  add --name N --category LLC [--severity 0-10] [--description D]\n"
                 "                               a user QID (kept in config.db)\n"
                 "  categories                   the low- and high-level categories\n");
}

static bool parse_u32(const char *s, uint32_t *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || end == s || *end || v > UINT32_MAX) return false;
    *out = (uint32_t)v;
    return true;
}

struct list_filter {
    bool csv;
    uint32_t category; /* 0 = any */
};

static bool category_matches(const struct list_filter *f, uint16_t llc)
{
    if (!f->category) return true;
    if (f->category % 1000 == 0) return dsm_category_high(llc) == f->category;
    return llc == f->category;
}

static void print_qid(FILE *out, const struct list_filter *f, const char *owner,
                      const struct qid_def *q)
{
    if (!category_matches(f, q->category)) return;
    if (f->csv) {
        fprintf(out, "%" PRIu32 ",", q->qid);
        cli_csv_field(out, q->name);
        fprintf(out, ",%u,", q->category);
        cli_csv_field(out, dsm_category_name(q->category));
        fprintf(out, ",%u,%s\n", q->severity, owner);
    } else {
        fprintf(out, "%-10" PRIu32 " %-50s %-6u %-36s %-3u %s\n", q->qid, q->name, q->category,
                dsm_category_name(q->category), q->severity, owner);
    }
}

static int cmd_list(int argc, char **argv, FILE *out, FILE *err)
{
    struct list_filter f = {0};
    const char *dsm = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--dsm") && i + 1 < argc) {
            dsm = argv[++i];
        } else if (!strcmp(argv[i], "--category") && i + 1 < argc) {
            if (!parse_u32(argv[++i], &f.category) || f.category > UINT16_MAX ||
                !dsm_category_get((uint16_t)f.category)) {
                fprintf(err, "unknown category '%s' (see `strm qid categories`)\n", argv[i]);
                return EXIT_USAGE;
            }
        } else if (!strcmp(argv[i], "--format") && i + 1 < argc) {
            const char *v = argv[++i];
            if (!strcmp(v, "csv"))
                f.csv = true;
            else if (strcmp(v, "table") != 0) {
                fprintf(err, "unknown format '%s' (table or csv)\n", v);
                return EXIT_USAGE;
            }
        } else {
            usage(err);
            return EXIT_USAGE;
        }
    }
    bool user_only = dsm && !strcmp(dsm, "user");
    if (dsm && !user_only && !dsm_by_name(dsm)) {
        fprintf(err, "unknown DSM '%s' (see `strm logsources types`)\n", dsm);
        return EXIT_USAGE;
    }
    if (f.csv)
        fprintf(out, "qid,name,category,category_name,severity,dsm\n");
    else
        fprintf(out, "%-10s %-50s %-6s %-36s %-3s %s\n", "qid", "name", "llc", "category", "sev",
                "dsm");
    if (!user_only) {
        size_t n;
        const struct dsm_def *const *all = dsm_all(&n);
        for (size_t i = 0; i < n; i++) {
            if (dsm && strcmp(all[i]->name, dsm) != 0) continue;
            for (size_t j = 0; j < all[i]->n_qids; j++)
                print_qid(out, &f, all[i]->name, &all[i]->qids[j]);
        }
    }
    if (!dsm || user_only) {
        for (uint32_t q = QID_USER_BASE;; q++) {
            const struct qid_def *d = qid_lookup(q);
            if (!d) break;
            print_qid(out, &f, "user", d);
        }
    }
    return EXIT_OK;
}

static int cmd_show(int argc, char **argv, FILE *out, FILE *err)
{
    uint32_t qid;
    if (argc != 2 || !parse_u32(argv[1], &qid)) {
        fprintf(err, "usage: strm qid show QID\n");
        return EXIT_USAGE;
    }
    const struct qid_def *d = qid_lookup(qid);
    if (!d) {
        fprintf(err, "no QID %" PRIu32 "\n", qid);
        return EXIT_FAIL;
    }
    const char *owner = "generic";
    if (qid >= QID_USER_BASE) {
        owner = "user";
    } else if (qid >= 100000) {
        const struct dsm_def *dsm = dsm_by_type((uint16_t)(qid / 100000));
        owner = dsm ? dsm->name : "?";
    }
    uint16_t high = dsm_category_high(d->category);
    fprintf(out,
            "qid:         %" PRIu32 "\n"
            "name:        %s\n"
            "description: %s\n"
            "category:    %u %s\n"
            "high-level:  %u %s\n"
            "severity:    %u\n"
            "dsm:         %s\n",
            d->qid, d->name, d->description ? d->description : "", d->category,
            dsm_category_name(d->category), high, dsm_category_name(high), d->severity, owner);
    return EXIT_OK;
}

static int cmd_add(struct logsource_registry *reg, int argc, char **argv, FILE *out, FILE *err)
{
    const char *name = NULL, *desc = "";
    uint32_t cat = 0, sev = UINT32_MAX;
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        if (i + 1 >= argc) {
            fprintf(err, "option %s needs a value\n", o);
            return EXIT_USAGE;
        }
        const char *v = argv[++i];
        if (!strcmp(o, "--name")) {
            name = v;
        } else if (!strcmp(o, "--description")) {
            desc = v;
        } else if (!strcmp(o, "--category")) {
            if (!parse_u32(v, &cat) || cat > UINT16_MAX) {
                fprintf(err, "--category '%s': expected a low-level category id\n", v);
                return EXIT_USAGE;
            }
        } else if (!strcmp(o, "--severity")) {
            if (!parse_u32(v, &sev) || sev > 10) {
                fprintf(err, "--severity '%s': expected 0 to 10\n", v);
                return EXIT_USAGE;
            }
        } else {
            fprintf(err, "unknown option %s\n", o);
            return EXIT_USAGE;
        }
    }
    if (!name || !cat) {
        fprintf(err, "add needs --name and --category\n");
        return EXIT_USAGE;
    }
    const struct dsm_category *c = dsm_category_get((uint16_t)cat);
    if (!c || cat % 1000 == 0) {
        fprintf(err, "%" PRIu32 " is not a low-level category (see `strm qid categories`)\n", cat);
        return EXIT_USAGE;
    }
    if (sev == UINT32_MAX) sev = c->severity;
    char msg[512];
    uint32_t qid;
    if (logsource_qid_add(reg, name, desc, (uint16_t)cat, (uint8_t)sev, &qid, msg, sizeof(msg)) !=
        0) {
        fprintf(err, "%s\n", msg);
        return EXIT_FAIL;
    }
    fprintf(out, "QID %" PRIu32 " added: %s (category %u %s, severity %u)\n", qid, name, cat,
            c->name, sev);
    return EXIT_OK;
}

static int cmd_categories(FILE *out)
{
    size_t n;
    const struct dsm_category *all = dsm_category_all(&n);
    fprintf(out, "%-6s %-8s %-40s %s\n", "id", "level", "name", "severity");
    for (size_t i = 0; i < n; i++)
        fprintf(out, "%-6u %-8s %-40s %u\n", all[i].id, all[i].id % 1000 == 0 ? "high" : "low",
                all[i].name, all[i].severity);
    return EXIT_OK;
}

int qid_exec(struct logsource_registry *reg, int argc, char **argv, FILE *out, FILE *err)
{
    if (argc < 1) {
        usage(err);
        return EXIT_USAGE;
    }
    const char *sub = argv[0];
    if (!strcmp(sub, "list")) return cmd_list(argc, argv, out, err);
    if (!strcmp(sub, "show")) return cmd_show(argc, argv, out, err);
    if (!strcmp(sub, "add")) return cmd_add(reg, argc, argv, out, err);
    if (!strcmp(sub, "categories")) return cmd_categories(out);
    if (!strcmp(sub, "help")) {
        usage(out);
        return EXIT_OK;
    }
    fprintf(err, "unknown qid command '%s'\n", sub);
    usage(err);
    return EXIT_USAGE;
}

int cmd_qid(int argc, char **argv)
{
    static const char *const writers[] = {"add", NULL};
    return cli_registry_command(argc, argv, "QID", writers, qid_exec, usage);
}
