/*
 * dsm_parse.c - single-thread throughput of the parse stage: syslog_parse + dsm_parse over
 * the DSM sample lines (tests/dsm/<name>.log) and the shared corpus (shared/corpus/syslog).
 *
 * Each input file is a group named after its DSM (tests/dsm/junos.log -> junos; a corpus
 * file after its folder, openssh/ -> linux as in test_dsm_corpus.c). Every group is timed
 * twice: with hint 0 (a sender without a log source: the DSMs are tried in registry order,
 * the worst case) and with the hint set to the group's DSM type (the steady state once the
 * log source exists: its DSM is tried first). The mix takes the groups round-robin, so every
 * group weighs the same whatever its number of lines, and is timed the same two ways, with
 * each line hinted with its own group's type.
 *
 * One measurement loops over the lines for about -t seconds (default 2) the way a parser
 * thread does: a fresh event per line, payload pointing at the line, starttime fixed,
 * collector 127.0.0.1, dsm_ctx {tz 0, hint}, the arena reset every 256 lines (a batch).
 * Each measurement is repeated -r times (default 3) and the median printed:
 *
 *   DSM <name> lines_per_s=<hint> (hint) <no hint> (no hint) lines=<n> recognized=<pct>%
 *   MIX lines_per_s=<hint> (hint) <no hint> (no hint) groups=<g> lines=<n>
 *   BENCH dsm_parse_mix_lines_per_s ours=<hint> peer=goal:1000000 unit=lines/s advantage=<x>
 *
 * The goal (the issue's: 1 million lines/s per core on the mix) stands in for a peer.
 *
 * Usage: dsm_parse [-t SECONDS] [-r REPEATS] [--mix-only] [FILE|DIR ...]
 * Without paths: <source>/tests/dsm and <source>/../shared/corpus/syslog (else
 * /work/shared/corpus/syslog); STRM_CORPUS (the corpus folder holding syslog/) overrides.
 * Directories are searched recursively for *.log files.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>

#include "collect/collect.h"
#include "dsm/dsm.h"

#ifndef STRM_SRC_DIR
#define STRM_SRC_DIR "."
#endif

#define MAX_GROUPS 256
#define MAX_PATHS 1024
#define BATCH 256

struct line {
    const char *p;
    uint32_t len;
    uint16_t hint; /* the group's DSM type */
};

struct group {
    char name[320];
    char path[1024];
    const struct dsm_def *dsm; /* the group's DSM (by name, else the one most lines went to) */
    struct line *lines;
    size_t n, cap;
    size_t recognized; /* by dsm, without hint */
};

static struct group groups[MAX_GROUPS];
static size_t n_groups;
static char *paths[MAX_PATHS];
static size_t n_paths;
static int64_t fixed_now;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

static void collect_paths(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "dsm_parse: %s: %s (skipped)\n", path, strerror(errno));
        return;
    }
    if (S_ISREG(st.st_mode)) {
        if (n_paths < MAX_PATHS) paths[n_paths++] = strdup(path);
        return;
    }
    if (!S_ISDIR(st.st_mode)) return;
    DIR *d = opendir(path);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        char sub[2048];
        snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
        if (stat(sub, &st) != 0) continue;
        if (S_ISDIR(st.st_mode))
            collect_paths(sub);
        else if (S_ISREG(st.st_mode) && ends_with(e->d_name, ".log") && n_paths < MAX_PATHS)
            paths[n_paths++] = strdup(sub);
    }
    closedir(d);
}

/* The group name of a file: tests/dsm/<name>.log -> name; a corpus file -> its folder. */
static void group_name(const char *path, char *out, size_t outlen)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    char stem[256];
    snprintf(stem, sizeof stem, "%s", base);
    char *dot = strrchr(stem, '.');
    if (dot) *dot = '\0';
    if (dsm_by_name(stem)) {
        snprintf(out, outlen, "%s", stem);
        return;
    }
    /* corpus layout: <corpus>/syslog/<folder>/<File>.log */
    char dir[1024];
    size_t dl = (size_t)(base - path);
    if (dl > 1 && dl < sizeof dir) {
        memcpy(dir, path, dl - 1);
        dir[dl - 1] = '\0';
        const char *folder = strrchr(dir, '/');
        folder = folder ? folder + 1 : dir;
        snprintf(out, outlen, "corpus/%.250s", folder);
        return;
    }
    snprintf(out, outlen, "%s", stem);
}

static const struct dsm_def *owner_of(const char *name)
{
    const char *n = strncmp(name, "corpus/", 7) == 0 ? name + 7 : name;
    if (strcmp(n, "openssh") == 0) n = "linux"; /* sshd is a Linux service */
    return dsm_by_name(n);
}

static int load_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "dsm_parse: %s: %s\n", path, strerror(errno));
        return -1;
    }
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    if (sz <= 0) {
        fclose(f);
        return 0;
    }
    char *buf = malloc((size_t)sz);
    if (!buf || fread(buf, 1, (size_t)sz, f) != (size_t)sz) {
        fclose(f);
        free(buf);
        return -1;
    }
    fclose(f);
    if (n_groups == MAX_GROUPS) {
        free(buf);
        return -1;
    }
    struct group *g = &groups[n_groups];
    group_name(path, g->name, sizeof g->name);
    snprintf(g->path, sizeof g->path, "%s", path);
    /* the buffer stays allocated for the whole run: the lines point into it */
    const char *p = buf, *end = buf + sz;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        size_t ll = (size_t)(le - p);
        if (ll && p[ll - 1] == '\r') ll--;
        if (ll > 0 && ll <= STRM_MAX_MSG) {
            if (g->n == g->cap) {
                g->cap = g->cap ? g->cap * 2 : 64;
                g->lines = realloc(g->lines, g->cap * sizeof *g->lines);
                if (!g->lines) return -1;
            }
            g->lines[g->n++] = (struct line){p, (uint32_t)ll, 0};
        }
        p = nl ? nl + 1 : end;
    }
    if (g->n) n_groups++;
    return 0;
}

static inline const struct dsm_def *parse_one(const struct line *l, uint16_t hint,
                                              struct strm_arena *arena, uint32_t *qid)
{
    struct strm_event ev;
    strm_event_init(&ev);
    ev.starttime = fixed_now;
    strm_ip_from_v4(&ev.collectorip, 0x7f000001u);
    ev.payload.p = l->p;
    ev.payload.len = l->len;
    syslog_parse(&ev, arena);
    struct dsm_ctx ctx = {0, hint};
    const struct dsm_def *d = dsm_parse(&ev, arena, &ctx);
    *qid = ev.qid;
    return d;
}

/* Lines per second over one pass of about secs seconds; use_hint takes each line's hint. */
static volatile uint32_t sink;

static double measure(const struct line *const *seq, size_t n, bool use_hint, double secs,
                      struct strm_arena *arena)
{
    size_t done = 0, i = 0;
    uint32_t acc = 0;
    double t0 = now_s(), t1 = t0;
    for (;;) {
        for (int k = 0; k < 1024; k++) {
            uint32_t qid;
            parse_one(seq[i], use_hint ? seq[i]->hint : 0, arena, &qid);
            acc += qid;
            if (++i == n) i = 0;
            if (++done % BATCH == 0) strm_arena_reset(arena);
        }
        t1 = now_s();
        if (t1 - t0 >= secs) break;
    }
    strm_arena_reset(arena);
    sink = acc;
    return (double)done / (t1 - t0);
}

static double median_measure(const struct line *const *seq, size_t n, bool use_hint, double secs,
                             int repeats, struct strm_arena *arena)
{
    double r[64];
    if (repeats > 64) repeats = 64;
    for (int k = 0; k < repeats; k++)
        r[k] = measure(seq, n, use_hint, secs, arena);
    qsort(r, (size_t)repeats, sizeof r[0], cmp_dbl);
    return repeats % 2 ? r[repeats / 2] : (r[repeats / 2 - 1] + r[repeats / 2]) / 2;
}

static const char *loadavg(char *buf, size_t len)
{
    snprintf(buf, len, "?");
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (fgets(buf, (int)len, f)) {
            char *sp = strchr(buf, ' ');
            if (sp) *sp = '\0';
        }
        fclose(f);
    }
    return buf;
}

static void machine_line(double secs, int repeats, size_t n_lines)
{
    char cpu[256] = "unknown", line[512], la[64];
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f) {
        while (fgets(line, sizeof line, f)) {
            if (strncmp(line, "model name", 10) == 0) {
                char *c = strchr(line, ':');
                if (c) {
                    snprintf(cpu, sizeof cpu, "%s", c + 2);
                    cpu[strcspn(cpu, "\n")] = '\0';
                }
                break;
            }
        }
        fclose(f);
    }
    struct utsname u;
    uname(&u);
    long ncpu = 0;
    f = fopen("/proc/cpuinfo", "r");
    if (f) {
        while (fgets(line, sizeof line, f))
            if (strncmp(line, "processor", 9) == 0) ncpu++;
        fclose(f);
    }
    printf("MACHINE nproc=%ld cpu=\"%s\" kernel=%s compiler=\"%s\" strm=%s threads=1 "
           "seconds_per_measurement=%.1f repeats=%d groups=%zu lines=%zu loadavg_at_start=%s\n",
           ncpu, cpu, u.release,
#if defined(__clang__)
           "clang " __clang_version__,
#elif defined(__GNUC__)
           "gcc " __VERSION__,
#else
           "?",
#endif
#ifdef STRM_VERSION
           STRM_VERSION,
#else
           "?",
#endif
           secs, repeats, n_groups, n_lines, loadavg(la, sizeof la));
}

static void usage(void)
{
    fprintf(stderr, "usage: dsm_parse [-t SECONDS] [-r REPEATS] [--mix-only] [FILE|DIR ...]\n");
}

int main(int argc, char **argv)
{
    double secs = 2.0;
    int repeats = 3;
    bool mix_only = false;
    int argi = 1;
    for (; argi < argc; argi++) {
        if (strcmp(argv[argi], "-t") == 0 && argi + 1 < argc) {
            secs = atof(argv[++argi]);
        } else if (strcmp(argv[argi], "-r") == 0 && argi + 1 < argc) {
            repeats = atoi(argv[++argi]);
        } else if (strcmp(argv[argi], "--mix-only") == 0) {
            mix_only = true;
        } else if (strcmp(argv[argi], "-h") == 0 || strcmp(argv[argi], "--help") == 0) {
            usage();
            return 0;
        } else if (argv[argi][0] == '-') {
            usage();
            return 2;
        } else {
            break;
        }
    }
    if (secs <= 0 || repeats < 1) {
        usage();
        return 2;
    }
    if (dsm_init() != 0) {
        fprintf(stderr, "dsm_parse: dsm_init failed\n");
        return 1;
    }
    setenv("TZ", "UTC", 1);
    tzset();
    fixed_now = strm_now_ms();

    if (argi < argc) {
        for (; argi < argc; argi++)
            collect_paths(argv[argi]);
    } else {
        collect_paths(STRM_SRC_DIR "/tests/dsm");
        char corpus[1200];
        const char *env = getenv("STRM_CORPUS");
        struct stat st;
        if (env && *env) {
            snprintf(corpus, sizeof corpus, "%s/syslog", env);
        } else {
            snprintf(corpus, sizeof corpus, "%s", STRM_SRC_DIR "/../shared/corpus/syslog");
            if (stat(corpus, &st) != 0)
                snprintf(corpus, sizeof corpus, "/work/shared/corpus/syslog");
        }
        if (stat(corpus, &st) == 0)
            collect_paths(corpus);
        else
            fprintf(stderr, "dsm_parse: no corpus at %s (skipped)\n", corpus);
    }
    qsort(paths, n_paths, sizeof paths[0], cmp_str);
    for (size_t i = 0; i < n_paths; i++)
        load_file(paths[i]);
    if (n_groups == 0) {
        fprintf(stderr, "dsm_parse: no lines loaded\n");
        return 1;
    }

    struct strm_arena arena;
    strm_arena_init(&arena, 1 << 20);

    /* each group's DSM: by name, else the one that took most of its lines without a hint */
    size_t total = 0, maxn = 0;
    for (size_t gi = 0; gi < n_groups; gi++) {
        struct group *g = &groups[gi];
        g->dsm = owner_of(g->name);
        size_t n_all;
        const struct dsm_def *const *all = dsm_all(&n_all);
        size_t counts[128] = {0};
        for (size_t i = 0; i < g->n; i++) {
            uint32_t qid;
            const struct dsm_def *d = parse_one(&g->lines[i], 0, &arena, &qid);
            for (size_t k = 0; d && k < n_all && k < 128; k++)
                if (all[k] == d) counts[k]++;
            strm_arena_reset(&arena);
        }
        if (!g->dsm) {
            size_t best = 0;
            for (size_t k = 1; k < n_all && k < 128; k++)
                if (counts[k] > counts[best]) best = k;
            if (counts[best]) g->dsm = all[best];
        }
        for (size_t k = 0; k < n_all && k < 128; k++)
            if (all[k] == g->dsm) g->recognized = counts[k];
        for (size_t i = 0; i < g->n; i++)
            g->lines[i].hint = g->dsm ? g->dsm->type_id : 0;
        total += g->n;
        if (g->n > maxn) maxn = g->n;
    }
    machine_line(secs, repeats, total);
    fflush(stdout);

    const struct line **seq = malloc(n_groups * maxn * sizeof *seq);
    if (!seq) return 1;
    if (!mix_only) {
        for (size_t gi = 0; gi < n_groups; gi++) {
            struct group *g = &groups[gi];
            for (size_t i = 0; i < g->n; i++)
                seq[i] = &g->lines[i];
            double h = median_measure(seq, g->n, true, secs, repeats, &arena);
            double nh = median_measure(seq, g->n, false, secs, repeats, &arena);
            printf("DSM %s lines_per_s=%.0f (hint) %.0f (no hint) lines=%zu dsm=%s "
                   "recognized=%.1f%%\n",
                   g->name, h, nh, g->n, g->dsm ? g->dsm->name : "none",
                   100.0 * (double)g->recognized / (double)g->n);
            fflush(stdout);
        }
    }
    /* the mix: round-robin over the groups, maxn rounds, so each group weighs the same */
    size_t ns = 0;
    for (size_t r = 0; r < maxn; r++)
        for (size_t gi = 0; gi < n_groups; gi++)
            seq[ns++] = &groups[gi].lines[r % groups[gi].n];
    double mh = median_measure(seq, ns, true, secs, repeats, &arena);
    double mnh = median_measure(seq, ns, false, secs, repeats, &arena);
    char la[64];
    printf("MIX lines_per_s=%.0f (hint) %.0f (no hint) groups=%zu lines=%zu loadavg_at_end=%s\n",
           mh, mnh, n_groups, ns, loadavg(la, sizeof la));
    printf("BENCH dsm_parse_mix_lines_per_s ours=%.0f peer=goal:1000000 unit=lines/s "
           "advantage=%.2f\n",
           mh, mh / 1e6);
    free(seq);
    strm_arena_free(&arena);
    return 0;
}
