/*
 * test_dsm_corpus.c - the DSM corpus test: every sample line must be recognized by the DSM
 * that owns it.
 *
 * Sources:
 *   - every file under shared/corpus/syslog/ (recursively, .csv files skipped): real logs
 *     from loghub; the expected DSM is named after the folder (linux/ -> "linux") except
 *     where the table below says otherwise (openssh/ -> "linux": sshd is a Linux service);
 *   - every tests/dsm/<name>.log: hand-written lines for the DSM named <name>.
 * Each line goes through syslog_parse (starttime = now, collector 127.0.0.1, TZ=UTC) and then
 * dsm_parse without a hint, exactly as the pipeline does for a sender with no log source yet,
 * so a line claimed by the wrong DSM (a try-order problem) shows up as "other".
 *
 * Output: a table as TAP comments (source, lines, recognized by the expected DSM, by another
 * DSM, unrecognized, distinct QIDs, %), then one TAP test per source: ok when at least 99%
 * of its lines are recognized by the expected DSM and, for loghub sources with a
 * *_structured.csv next to them, every template (EventId column) maps to a single QID.
 * Failures list the lines that went elsewhere and the templates split across QIDs. A
 * tests/dsm/<name>.log whose DSM is not registered fails: that is the contract. A summary
 * row closes the table.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "collect/collect.h"
#include "dsm/dsm.h"

#define CORPUS_DIR STRM_CORPUS_DIR "/syslog"
#define SAMPLES_DIR STRM_SRC_DIR "/tests/dsm"
#define MAX_SOURCES 128
#define MAX_LISTED 40
#define MAX_TEMPLATES 2048
#define MAX_TPL_QIDS 8

/* Corpus folders whose DSM is not named like the folder. */
static const struct {
    const char *dir, *dsm;
} corpus_owner[] = {
    {"openssh", "linux"},
};

struct tpl {
    uint32_t qids[MAX_TPL_QIDS];
    uint32_t counts[MAX_TPL_QIDS];
    int n;
    bool used;
};

struct source {
    char path[1024];
    char label[256];
    char expect[64];
    bool corpus;
    bool have_csv;
    bool dsm_known;
    size_t lines, right, other, unrec, distinct;
    int split_templates;
    int templates;                   /* templates seen (CSV), 0 without one */
    const struct dsm_def *others[8]; /* DSMs that took lines meant for expect */
    size_t other_counts[8];
    char *report; /* comment lines for failures */
    size_t report_len, report_cap;
};

static struct source sources[MAX_SOURCES];
static size_t n_sources;

static void report(struct source *s, const char *fmt, ...)
{
    char line[1200];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n >= sizeof line) n = sizeof line - 1;
    if (s->report_len + (size_t)n + 1 > s->report_cap) {
        size_t cap = s->report_cap ? s->report_cap * 2 : 4096;
        while (cap < s->report_len + (size_t)n + 1)
            cap *= 2;
        char *p = realloc(s->report, cap);
        if (!p) return;
        s->report = p;
        s->report_cap = cap;
    }
    memcpy(s->report + s->report_len, line, (size_t)n);
    s->report_len += (size_t)n;
    s->report[s->report_len] = 0;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        if (n == cap) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        if (r == 0) break;
        n += r;
    }
    fclose(f);
    *len = n;
    return buf;
}

/* ---------------------------------------------------------------- CSV (RFC 4180 quoting) */

/*
 * Reads one CSV record starting at *p; stores up to max field slices (quotes kept, which is
 * fine for the columns used here: LineId and EventId are never quoted in practice, but a
 * quoted Content field with commas or newlines must not shift them). Returns the number of
 * fields or 0 at the end.
 */
static int csv_record(const char **p, const char *end, const char **fs, size_t *fl, int max)
{
    const char *q = *p;
    if (q >= end) return 0;
    int n = 0;
    for (;;) {
        const char *start = q;
        bool quoted = q < end && *q == '"';
        if (quoted) {
            q++;
            while (q < end) {
                if (*q == '"') {
                    if (q + 1 < end && q[1] == '"') {
                        q += 2;
                        continue;
                    }
                    q++;
                    break;
                }
                q++;
            }
        }
        while (q < end && *q != ',' && *q != '\n')
            q++;
        if (n < max) {
            fs[n] = start;
            fl[n] = (size_t)(q - start);
            if (fl[n] && start[fl[n] - 1] == '\r') fl[n]--;
        }
        n++;
        if (q >= end || *q == '\n') {
            *p = q < end ? q + 1 : q;
            return n;
        }
        q++; /* comma */
    }
}

/* Template number per line (index = LineId), 0 when unknown; NULL when no CSV. */
static int *load_templates(const char *log_path, size_t *n_lines, int *n_tpl)
{
    char csv[1100];
    snprintf(csv, sizeof csv, "%s_structured.csv", log_path);
    size_t len;
    char *buf = read_file(csv, &len);
    if (!buf) return NULL;
    const char *p = buf, *end = buf + len;
    const char *fs[32];
    size_t fl[32];
    int nf = csv_record(&p, end, fs, fl, 32);
    int c_line = -1, c_ev = -1;
    for (int i = 0; i < nf && i < 32; i++) {
        if (fl[i] == 6 && memcmp(fs[i], "LineId", 6) == 0) c_line = i;
        if (fl[i] == 7 && memcmp(fs[i], "EventId", 7) == 0) c_ev = i;
    }
    if (c_line < 0 || c_ev < 0) {
        free(buf);
        return NULL;
    }
    size_t cap = 4096;
    int *tpl = calloc(cap, sizeof *tpl);
    int max_tpl = 0;
    while (tpl && (nf = csv_record(&p, end, fs, fl, 32)) > 0) {
        if (nf <= c_line || nf <= c_ev) continue;
        long line = strtol(fs[c_line], NULL, 10);
        if (fl[c_ev] < 2 || fs[c_ev][0] != 'E' || line <= 0) continue;
        int t = atoi(fs[c_ev] + 1);
        if (t <= 0 || t >= MAX_TEMPLATES) continue;
        while ((size_t)line >= cap) {
            int *nt = realloc(tpl, cap * 2 * sizeof *tpl);
            if (!nt) break;
            memset(nt + cap, 0, cap * sizeof *tpl);
            tpl = nt;
            cap *= 2;
        }
        if ((size_t)line >= cap) break;
        tpl[line] = t;
        if (t > max_tpl) max_tpl = t;
        if ((size_t)line + 1 > *n_lines) *n_lines = (size_t)line + 1;
    }
    free(buf);
    *n_tpl = max_tpl;
    return tpl;
}

/* ---------------------------------------------------------------- running a source */

static void run_source(struct source *s)
{
    size_t len;
    char *buf = read_file(s->path, &len);
    if (!buf) {
        report(s, "# cannot read %s\n", s->path);
        return;
    }
    const struct dsm_def *want = dsm_by_name(s->expect);
    s->dsm_known = want != NULL;
    if (!want) report(s, "# DSM \"%s\" is not registered\n", s->expect);

    size_t tpl_lines = 0;
    int n_tpl = 0;
    int *tpl_of = s->corpus ? load_templates(s->path, &tpl_lines, &n_tpl) : NULL;
    s->have_csv = tpl_of != NULL;
    struct tpl *tpls = tpl_of ? calloc((size_t)n_tpl + 1, sizeof *tpls) : NULL;

    uint32_t *seen = calloc(1024, sizeof *seen);
    size_t n_seen = 0;
    size_t listed = 0;
    struct strm_arena arena;
    strm_arena_init(&arena, 16384);
    int64_t now = strm_now_ms();
    struct dsm_ctx ctx = {0, 0};

    const char *p = buf, *end = buf + len;
    size_t lineno = 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        lineno++;
        size_t ll = (size_t)(le - p);
        if (ll && p[ll - 1] == '\r') ll--;
        if (ll == 0) {
            p = nl ? nl + 1 : end;
            continue;
        }
        /* an exactly sized copy, so that ASan sees reads past the line */
        char *line = malloc(ll);
        memcpy(line, p, ll);
        struct strm_event ev;
        strm_event_init(&ev);
        ev.starttime = now;
        strm_ip_from_v4(&ev.collectorip, 0x7f000001u);
        ev.payload.p = line;
        ev.payload.len = (uint32_t)ll;
        syslog_parse(&ev, &arena);
        const struct dsm_def *got = dsm_parse(&ev, &arena, &ctx);
        s->lines++;
        if (got && got == want) {
            s->right++;
        } else if (got) {
            s->other++;
            for (int o = 0; o < 8; o++) {
                if (!s->others[o]) s->others[o] = got;
                if (s->others[o] == got) {
                    s->other_counts[o]++;
                    break;
                }
            }
            if (listed++ < MAX_LISTED)
                report(s, "#   line %zu -> %s (QID %u): %.*s\n", lineno, got->name, ev.qid,
                       (int)(ll > 300 ? 300 : ll), p);
        } else {
            s->unrec++;
            if (listed++ < MAX_LISTED)
                report(s, "#   line %zu unrecognized: %.*s\n", lineno, (int)(ll > 300 ? 300 : ll),
                       p);
        }
        size_t k;
        for (k = 0; k < n_seen && seen[k] != ev.qid; k++) {
        }
        if (k == n_seen && n_seen < 1024) seen[n_seen++] = ev.qid;
        if (tpls && lineno < tpl_lines && tpl_of[lineno] > 0) {
            struct tpl *t = &tpls[tpl_of[lineno]];
            t->used = true;
            int j;
            for (j = 0; j < t->n && t->qids[j] != ev.qid; j++) {
            }
            if (j == t->n && t->n < MAX_TPL_QIDS) t->qids[t->n++] = ev.qid;
            if (j < MAX_TPL_QIDS) t->counts[j]++;
        }
        free(line);
        strm_arena_reset(&arena);
        p = nl ? nl + 1 : end;
    }
    if (listed > MAX_LISTED) report(s, "#   ... %zu more\n", listed - MAX_LISTED);
    s->distinct = n_seen;
    if (tpls) {
        for (int t = 1; t <= n_tpl; t++) {
            if (tpls[t].used) s->templates++;
            if (!tpls[t].used || tpls[t].n <= 1) continue;
            s->split_templates++;
            report(s, "#   template E%d split across %d QIDs:", t, tpls[t].n);
            for (int j = 0; j < tpls[t].n; j++) {
                const struct qid_def *q = qid_lookup(tpls[t].qids[j]);
                report(s, " %u \"%s\" (%u lines)%s", tpls[t].qids[j], q ? q->name : "?",
                       tpls[t].counts[j], j + 1 < tpls[t].n ? "," : "\n");
            }
        }
    }
    strm_arena_free(&arena);
    free(seen);
    free(tpls);
    free(tpl_of);
    free(buf);
}

static bool source_ok(const struct source *s)
{
    return s->dsm_known && s->lines > 0 && s->right * 100 >= s->lines * 99 &&
           s->split_templates == 0;
}

static void test_source(void **state)
{
    struct source *s = *state;
    if (!source_ok(s)) {
        printf("# %s: %zu/%zu lines by %s, %zu by another DSM, %zu unrecognized, %d templates "
               "split\n",
               s->label, s->right, s->lines, s->expect, s->other, s->unrec, s->split_templates);
        if (s->report) fputs(s->report, stdout);
        fflush(stdout);
        fail();
    }
}

/* ---------------------------------------------------------------- discovery */

static int cmp_source(const void *a, const void *b)
{
    return strcmp(((const struct source *)a)->label, ((const struct source *)b)->label);
}

static void add_source(const char *path, const char *label, const char *expect, bool corpus)
{
    if (n_sources == MAX_SOURCES) return;
    struct source *s = &sources[n_sources++];
    memset(s, 0, sizeof *s);
    snprintf(s->path, sizeof s->path, "%s", path);
    snprintf(s->label, sizeof s->label, "%s", label);
    snprintf(s->expect, sizeof s->expect, "%s", expect);
    s->corpus = corpus;
}

static bool ends_with(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

/* Walks dir; top is the folder directly under the corpus root (names the DSM). */
static void walk_corpus(const char *dir, const char *rel, const char *top)
{
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        char path[1024], r[512];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        snprintf(r, sizeof r, "%s%s%s", rel, *rel ? "/" : "", e->d_name);
        struct stat st;
        if (stat(path, &st) != 0) continue;
        if (S_ISDIR(st.st_mode)) {
            walk_corpus(path, r, top ? top : e->d_name);
        } else if (S_ISREG(st.st_mode) && !ends_with(e->d_name, ".csv") &&
                   !ends_with(e->d_name, ".md") && top) {
            const char *expect = top;
            for (size_t i = 0; i < sizeof corpus_owner / sizeof corpus_owner[0]; i++)
                if (strcmp(corpus_owner[i].dir, top) == 0) expect = corpus_owner[i].dsm;
            char label[600];
            snprintf(label, sizeof label, "corpus/%s", r);
            add_source(path, label, expect, true);
        }
    }
    closedir(d);
}

static void find_samples(void)
{
    DIR *d = opendir(SAMPLES_DIR);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || !ends_with(e->d_name, ".log")) continue;
        char path[1024], name[256], label[300];
        snprintf(path, sizeof path, "%s/%s", SAMPLES_DIR, e->d_name);
        size_t n = strlen(e->d_name) - 4;
        if (n >= sizeof name) continue;
        memcpy(name, e->d_name, n);
        name[n] = 0;
        snprintf(label, sizeof label, "tests/dsm/%s", e->d_name);
        add_source(path, label, name, false);
    }
    closedir(d);
}

int main(void)
{
    setenv("TZ", "UTC", 1);
    tzset();
    int rc = dsm_init();
    if (rc != 0) printf("# dsm_init failed: %s (see the log above)\n", strm_err_str(rc));
    size_t n_dsm;
    const struct dsm_def *const *all = dsm_all(&n_dsm);
    printf("# %zu DSMs registered:", n_dsm);
    for (size_t i = 0; i < n_dsm; i++)
        printf(" %s", all[i]->name);
    printf("\n");

    walk_corpus(CORPUS_DIR, "", NULL);
    size_t n_corpus = n_sources;
    qsort(sources, n_corpus, sizeof sources[0], cmp_source);
    find_samples();
    qsort(sources + n_corpus, n_sources - n_corpus, sizeof sources[0], cmp_source);

    size_t tl = 0, tr = 0, to = 0, tu = 0, bad = 0;
    printf("# %-36s %-10s %6s %6s %6s %6s %6s %5s %7s\n", "source", "expects", "lines", "right",
           "other", "unrec", "qids", "tpls", "%");
    for (size_t i = 0; i < n_sources; i++) {
        struct source *s = &sources[i];
        run_source(s);
        double pct = s->lines ? 100.0 * (double)s->right / (double)s->lines : 0.0;
        char tp[16] = "-";
        if (s->have_csv) snprintf(tp, sizeof tp, "%d", s->templates);
        printf("# %-36s %-10s %6zu %6zu %6zu %6zu %6zu %5s %6.1f%%%s%s\n", s->label, s->expect,
               s->lines, s->right, s->other, s->unrec, s->distinct, tp, pct,
               s->dsm_known ? "" : "  (DSM not registered)",
               s->split_templates ? "  (templates split)" : "");
        for (int o = 0; o < 8 && s->others[o]; o++)
            printf("#     %zu lines taken by %s\n", s->other_counts[o], s->others[o]->name);
        tl += s->lines;
        tr += s->right;
        to += s->other;
        tu += s->unrec;
        if (!source_ok(s)) bad++;
    }
    printf("# %-36s %-10s %6zu %6zu %6zu %6zu %6s %5s %6.1f%%\n", "TOTAL", "", tl, tr, to, tu, "",
           "", tl ? 100.0 * (double)tr / (double)tl : 0.0);
    printf("# summary: %zu sources, %zu pass, %zu fail\n", n_sources, n_sources - bad, bad);
    fflush(stdout);

    struct CMUnitTest *tests = calloc(n_sources + 1, sizeof *tests);
    char **names = calloc(n_sources + 1, sizeof *names);
    for (size_t i = 0; i < n_sources; i++) {
        names[i] = malloc(320);
        snprintf(names[i], 320, "%s recognized by %s", sources[i].label, sources[i].expect);
        tests[i].name = names[i];
        tests[i].test_func = test_source;
        tests[i].initial_state = &sources[i];
    }
    cmocka_set_message_output(CM_OUTPUT_TAP);
    int failed = _cmocka_run_group_tests("dsm_corpus", tests, n_sources, NULL, NULL);
    for (size_t i = 0; i < n_sources; i++) {
        free(names[i]);
        free(sources[i].report);
    }
    free(names);
    free(tests);
    return failed;
}
