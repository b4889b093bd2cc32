/*
 * gen.c - the event generator of bench/store and bench/aql, and the converters that feed
 * ClickHouse the rows openstrm stored.
 *
 *   store_gen events [-n N] [-s SEED]     N syslog lines on stdout
 *   store_gen needles [-n N] [-s SEED]    the rare values the benchmarks search for
 *   store_gen tsv                          strm CSV (stdin) -> ClickHouse TSV (stdout)
 *
 * events: realistic SIEM traffic in the formats the DSMs read, in these shares: sshd (Linux)
 * 18%, Cisco ASA 17%, FortiGate key=value 15%, PAN-OS CSV 12%, CEF 10%, JSON 10%,
 * Windows (WinCollect key=value) 10%, LEEF 8%. The values that matter for a SIEM's searches
 * are drawn from Zipf distributions (exponent ZIPF_S), as real traffic is: a few talkers and
 * users make most events, a long tail makes the rest.
 *   - internal addresses 10.0.0.0/8, 65,536 hosts; external addresses, 262,144 hosts in
 *     a dozen public /8s; a rank is mapped to an address by an odd-multiplier bijection, so
 *     popular addresses are not neighbours;
 *   - 50,000 user names (first.last, then first.lastN);
 *   - destination ports over a list of 40 common services; source ports uniform;
 *   - device host names per format (a few hundred log sources in all);
 *   - 100,000 "file" tokens (bx + 6 base-36 characters, fixed length so no token is a
 *     prefix of another) used as process, file and URL names in CEF, Windows 4688 and JSON.
 * Times: the device times (the syslog header's) go from 2026-11-24 00:00:00 UTC over one
 * day, in order, N events per day. Everything comes from one xoshiro256** seeded by -s, so
 * the same N and seed give the same bytes.
 *
 * needles: one line "ip=<a> user=<u> word=<w> ip_rank=.. user_rank=.. word_rank=.." naming
 * an external source address, a user name and a file token from the Zipf tail, rare enough
 * to be needles and frequent enough to be found at any N >= 1 million.
 *
 * tsv: reads `strm search --format csv` output (RFC 4180, header line, CRLF) and writes
 * ClickHouse TabSeparated: columns whose name ends in "ip" become 16 raw bytes (IPv4 as
 * ::ffff:a.b.c.d, empty as 16 zero bytes, the FixedString(16) the table uses), every field
 * is escaped as TabSeparated requires (\t \n \r \\ \0 \b \f \'). The header is dropped.
 *
 * Plain C, no openstrm code: the benchmark must not measure openstrm with itself.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* getchar_unlocked, putc_unlocked */
#endif
#include <arpa/inet.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ZIPF_S 1.1
#define N_INTERNAL 65536u
#define N_EXTERNAL 262144u
#define N_USERS 50000u
#define N_TOKENS 100000u
#define DAY_MS 86400000LL
#define BASE_MS 1795478400000LL /* 2026-11-24 00:00:00 UTC */

/* ---- random numbers: xoshiro256** seeded by splitmix64 ---- */

static uint64_t rs[4];

static uint64_t splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t rnd(void)
{
    uint64_t r = rotl(rs[1] * 5, 7) * 9, t = rs[1] << 17;
    rs[2] ^= rs[0];
    rs[3] ^= rs[1];
    rs[1] ^= rs[2];
    rs[0] ^= rs[3];
    rs[2] ^= t;
    rs[3] = rotl(rs[3], 45);
    return r;
}

static uint32_t below(uint32_t n)
{
    return (uint32_t)(((rnd() >> 32) * (uint64_t)n) >> 32);
}

static double unit(void)
{
    return (double)(rnd() >> 11) * (1.0 / 9007199254740992.0);
}

/* ---- Zipf over ranks 0..n-1: a cumulative table and a binary search ---- */

struct zipf {
    uint32_t n;
    double *cdf;
};

static void zipf_init(struct zipf *z, uint32_t n)
{
    z->n = n;
    z->cdf = malloc(sizeof(double) * n);
    if (!z->cdf) {
        fprintf(stderr, "store_gen: out of memory\n");
        exit(1);
    }
    double sum = 0;
    for (uint32_t i = 0; i < n; i++) {
        sum += 1.0 / pow((double)(i + 1), ZIPF_S);
        z->cdf[i] = sum;
    }
    for (uint32_t i = 0; i < n; i++)
        z->cdf[i] /= sum;
}

static uint32_t zipf_draw(const struct zipf *z)
{
    double u = unit();
    uint32_t lo = 0, hi = z->n - 1;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if (z->cdf[mid] < u)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* ---- the value pools: rank -> text ---- */

static const char *FIRST[] = {
    "james",     "mary",     "john",     "patricia",  "robert",   "jennifer",  "michael",
    "linda",     "david",    "emma",     "william",   "susan",    "richard",   "jessica",
    "joseph",    "sarah",    "thomas",   "karen",     "charles",  "lisa",      "daniel",
    "nancy",     "matthew",  "betty",    "anthony",   "sandra",   "mark",      "ashley",
    "paul",      "kimberly", "steven",   "donna",     "andrew",   "carol",     "joshua",
    "michelle",  "kevin",    "emily",    "brian",     "amanda",   "george",    "helen",
    "edward",    "melissa",  "ronald",   "deborah",   "timothy",  "stephanie", "jason",
    "laura",     "jeffrey",  "rebecca",  "ryan",      "sharon",   "jacob",     "cynthia",
    "gary",      "kathleen", "nicholas", "amy",       "eric",     "angela",    "jonathan",
    "anna",      "stephen",  "ruth",     "larry",     "brenda",   "justin",    "pamela",
    "scott",     "nicole",   "brandon",  "katherine", "benjamin", "samantha",  "samuel",
    "christine", "frank",    "rachel",   "gregory",   "janet",    "raymond",   "olivia",
    "alexander", "maria",    "patrick",  "heather",   "jack",     "diane",     "dennis",
    "julie",     "jerry",    "joyce",    "tyler",     "victoria", "aaron"};
static const char *LAST[] = {
    "smith",      "johnson",   "williams",   "brown",     "jones",      "garcia",    "miller",
    "davis",      "rodriguez", "martinez",   "hernandez", "lopez",      "gonzalez",  "wilson",
    "anderson",   "thomas",    "taylor",     "moore",     "jackson",    "martin",    "lee",
    "perez",      "thompson",  "white",      "harris",    "sanchez",    "clark",     "ramirez",
    "lewis",      "robinson",  "walker",     "young",     "allen",      "king",      "wright",
    "scott",      "torres",    "nguyen",     "hill",      "flores",     "green",     "adams",
    "nelson",     "baker",     "hall",       "rivera",    "campbell",   "mitchell",  "carter",
    "roberts",    "gomez",     "phillips",   "evans",     "turner",     "diaz",      "parker",
    "cruz",       "edwards",   "collins",    "reyes",     "stewart",    "morris",    "morales",
    "murphy",     "cook",      "rogers",     "gutierrez", "ortiz",      "morgan",    "cooper",
    "peterson",   "bailey",    "reed",       "kelly",     "howard",     "ramos",     "kim",
    "cox",        "ward",      "richardson", "watson",    "brooks",     "chavez",    "wood",
    "james",      "bennett",   "gray",       "mendoza",   "ruiz",       "hughes",    "price",
    "alvarez",    "castillo",  "sanders",    "patel",     "myers",      "long",      "ross",
    "foster",     "jimenez",   "powell",     "jenkins",   "perry",      "russell",   "sullivan",
    "bell",       "coleman",   "butler",     "henderson", "barnes",     "gonzales",  "fisher",
    "vasquez",    "simmons",   "romero",     "jordan",    "patterson",  "alexander", "hamilton",
    "graham",     "reynolds",  "griffin",    "wallace",   "moreno",     "west",      "cole",
    "hayes",      "bryant",    "herrera",    "gibson",    "ellis",      "tran",      "medina",
    "aguilar",    "stevens",   "murray",     "ford",      "castro",     "marshall",  "owens",
    "harrison",   "fernandez", "mcdonald",   "woods",     "washington", "kennedy",   "wells",
    "vargas",     "henry",     "chen",       "freeman",   "webb",       "tucker",    "guzman",
    "burns",      "crawford",  "olson",      "simpson",   "porter",     "hunter",    "gordon",
    "mendez",     "silva",     "shaw",       "snyder",    "mason",      "dixon",     "munoz",
    "hunt",       "hicks",     "holmes",     "palmer",    "wagner",     "black",     "robertson",
    "boyd",       "rose",      "stone",      "salazar",   "fox",        "warren",    "mills",
    "meyer",      "rice",      "schmidt",    "garza",     "daniels",    "ferguson",  "nichols",
    "stephens",   "soto",      "weaver",     "ryan",      "gardner",    "payne",     "grant",
    "dunn",       "kelley",    "spencer",    "hawkins",   "arnold",     "pierce",    "vazquez",
    "hansen",     "peters",    "santos",     "hart",      "bradley",    "knight",    "elliott",
    "cunningham", "duncan",    "armstrong",  "hudson",    "carroll",    "lane",      "riley"};
#define N_FIRST (sizeof(FIRST) / sizeof(FIRST[0]))
#define N_LAST (sizeof(LAST) / sizeof(LAST[0]))

/* A user name for a rank: (rank % N_FIRST, rank / N_FIRST % N_LAST) picks the pair, a
 * number is added once the pairs run out. Both lists are free of duplicates, so distinct
 * ranks give distinct names. */
static int user_name(uint32_t rank, char *out, size_t cap)
{
    uint32_t f = rank % (uint32_t)N_FIRST, l = (rank / (uint32_t)N_FIRST) % (uint32_t)N_LAST;
    uint32_t gen = rank / (uint32_t)(N_FIRST * N_LAST);
    if (gen == 0) return snprintf(out, cap, "%s.%s", FIRST[f], LAST[l]);
    return snprintf(out, cap, "%s.%s%u", FIRST[f], LAST[l], gen + 1);
}

static const uint8_t EXT_NETS[] = {23, 31, 45, 62, 77, 89, 91, 103, 104, 142, 151, 176, 185, 212};

static uint32_t internal_ip(uint32_t rank)
{
    uint32_t h = (rank * 0x9e3779u + 0x1234u) & 0xffffffu;
    return (10u << 24) | h;
}

static uint32_t external_ip(uint32_t rank)
{
    uint32_t h = (rank * 0x2c9277b5u + 0x5bd1e995u);
    uint32_t net = EXT_NETS[h % sizeof(EXT_NETS)];
    uint32_t low = (rank * 0x6a5d39u + 0x77u) & 0xffffffu;
    if ((low & 0xff) == 0 || (low & 0xff) == 255) low ^= 0x11;
    return (net << 24) | low;
}

static int ip_text(uint32_t ip, char *out, size_t cap)
{
    return snprintf(out, cap, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
}

static int token_text(uint32_t rank, char *out, size_t cap)
{
    static const char B36[] = "0123456789abcdefghijklmnopqrstuvwxyz";
    uint32_t v = (rank * 2654435761u) % 2176782336u; /* 36^6 */
    char t[7];
    for (int i = 5; i >= 0; i--) {
        t[i] = B36[v % 36];
        v /= 36;
    }
    t[6] = 0;
    return snprintf(out, cap, "bx%s", t);
}

static const uint16_t PORTS[] = {443, 80,  53,   22,   3389, 445,  25,   123,   8080,  993,
                                 389, 636, 3306, 5432, 1433, 8443, 135,  139,   21,    23,
                                 110, 143, 587,  465,  161,  514,  5060, 1194,  500,   4500,
                                 88,  464, 3268, 5985, 5986, 9200, 6379, 27017, 11211, 2049};
#define N_PORTS (sizeof(PORTS) / sizeof(PORTS[0]))

static const char *MON[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

struct tm_utc {
    int y, mo, d, h, mi, s, ms;
};

static void to_utc(int64_t ms, struct tm_utc *t)
{
    int64_t days = ms / DAY_MS, rem = ms % DAY_MS;
    t->ms = (int)(rem % 1000);
    rem /= 1000;
    t->h = (int)(rem / 3600);
    t->mi = (int)(rem / 60 % 60);
    t->s = (int)(rem % 60);
    /* civil from days (Howard Hinnant's algorithm, public domain description) */
    int64_t z = days + 719468, era = z / 146097, doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
    t->d = (int)(doy - (153 * mp + 2) / 5 + 1);
    t->mo = (int)(mp < 10 ? mp + 3 : mp - 9);
    t->y = (int)(yoe + era * 400 + (t->mo <= 2));
}

/* ---- the event formats ---- */

struct gen {
    struct zipf zint, zext, zuser, ztok, zport, zhost;
    uint64_t seq;
};

struct ev {
    struct tm_utc t;
    char src[16], dst[16], user[48], tok[16];
    uint32_t sport, dport;
    uint32_t host; /* device rank within the format */
    int64_t ms;
};

static void draw_src(struct gen *g, char *out, int internal_pct)
{
    uint32_t ip = below(100) < (uint32_t)internal_pct ? internal_ip(zipf_draw(&g->zint))
                                                      : external_ip(zipf_draw(&g->zext));
    ip_text(ip, out, 16);
}

static void draw_dst(struct gen *g, char *out, int internal_pct)
{
    /* destinations: servers, a smaller and steeper set than the sources */
    uint32_t ip = below(100) < (uint32_t)internal_pct ? internal_ip(zipf_draw(&g->zint) % 4096u)
                                                      : external_ip(zipf_draw(&g->zext) % 32768u);
    ip_text(ip, out, 16);
}

static int hdr3164(char *o, int pri, const struct ev *e, const char *host)
{
    return sprintf(o, "<%d>%s %2d %02d:%02d:%02d %s ", pri, MON[e->t.mo - 1], e->t.d, e->t.h,
                   e->t.mi, e->t.s, host);
}

static int fmt_sshd(struct gen *g, struct ev *e, char *o)
{
    char host[32];
    snprintf(host, sizeof(host), "srv-%03u", e->host % 300);
    int n = hdr3164(o, 38, e, host);
    uint32_t pid = 1000 + (uint32_t)(g->seq % 60000);
    uint32_t k = below(100);
    if (k < 30)
        n += sprintf(o + n, "sshd[%u]: Accepted password for %s from %s port %u ssh2", pid, e->user,
                     e->src, e->sport);
    else if (k < 55)
        n += sprintf(o + n, "sshd[%u]: Failed password for %s from %s port %u ssh2", pid, e->user,
                     e->src, e->sport);
    else if (k < 70)
        n += sprintf(o + n, "sshd[%u]: Failed password for invalid user %s from %s port %u ssh2",
                     pid, e->user, e->src, e->sport);
    else if (k < 80)
        n += sprintf(o + n, "sshd[%u]: Invalid user %s from %s port %u", pid, e->user, e->src,
                     e->sport);
    else if (k < 90)
        n += sprintf(o + n, "sshd[%u]: Connection closed by %s port %u [preauth]", pid, e->src,
                     e->sport);
    else
        n += sprintf(o + n, "sshd[%u]: Disconnected from user %s %s port %u", pid, e->user, e->src,
                     e->sport);
    return n;
}

static int fmt_asa(struct gen *g, struct ev *e, char *o)
{
    char host[32];
    snprintf(host, sizeof(host), "asa-%02u", e->host % 24);
    uint32_t k = below(100);
    int sev = k < 50 ? 6 : k < 80 ? 4 : 6;
    int n = sprintf(o, "<%d>%s %02d %d %02d:%02d:%02d %s : ", 160 + sev, MON[e->t.mo - 1], e->t.d,
                    e->t.y, e->t.h, e->t.mi, e->t.s, host);
    uint32_t conn = (uint32_t)(g->seq * 7 % 900000000u) + 1000;
    if (k < 30)
        n += sprintf(o + n,
                     "%%ASA-6-302013: Built inbound TCP connection %u for outside:%s/%u (%s/%u) "
                     "to inside:%s/%u (%s/%u)",
                     conn, e->src, e->sport, e->src, e->sport, e->dst, e->dport, e->dst, e->dport);
    else if (k < 50)
        n += sprintf(o + n,
                     "%%ASA-6-302014: Teardown TCP connection %u for outside:%s/%u to inside:%s/%u "
                     "duration 0:%02u:%02u bytes %u TCP FINs (%s)",
                     conn, e->src, e->sport, e->dst, e->dport, below(60), below(60), below(2000000),
                     e->user);
    else if (k < 80)
        n += sprintf(o + n,
                     "%%ASA-4-106023: Deny tcp src outside:%s/%u dst inside:%s/%u by access-group "
                     "\"outside_access_in\" [0x0, 0x0]",
                     e->src, e->sport, e->dst, e->dport);
    else if (k < 90)
        n += sprintf(o + n,
                     "%%ASA-6-113004: AAA user authentication Successful : server =  10.0.0.20 : "
                     "user = %s",
                     e->user);
    else
        n += sprintf(o + n,
                     "%%ASA-6-113005: AAA user authentication Rejected : reason = AAA failure : "
                     "server = 10.0.0.20 : user = %s : user IP = %s",
                     e->user, e->src);
    return n;
}

static int fmt_fortigate(struct gen *g, struct ev *e, char *o)
{
    (void)g;
    static const char *SVC[] = {"HTTPS", "HTTP", "DNS", "SSH", "RDP", "SMB", "SMTP", "NTP"};
    uint32_t k = below(100);
    const char *act = k < 60 ? "close" : k < 80 ? "accept" : k < 95 ? "deny" : "timeout";
    int n =
        sprintf(o,
                "<189>date=%04d-%02d-%02d time=%02d:%02d:%02d devname=\"FGT%02u\" "
                "devid=\"FGT60FTK2000%04u\" eventtime=%" PRId64 "000000 tz=\"+0000\" "
                "logid=\"0000000013\" type=\"traffic\" subtype=\"forward\" level=\"notice\" "
                "vd=\"root\" srcip=%s srcport=%u srcintf=\"internal\" srcintfrole=\"lan\" "
                "dstip=%s dstport=%u dstintf=\"wan1\" dstintfrole=\"wan\" sessionid=%" PRIu64
                " proto=6 action=\"%s\" policyid=%u policytype=\"policy\" service=\"%s\" "
                "duration=%u sentbyte=%u rcvdbyte=%u sentpkt=%u rcvdpkt=%u",
                e->t.y, e->t.mo, e->t.d, e->t.h, e->t.mi, e->t.s, e->host % 40, e->host % 40, e->ms,
                e->src, e->sport, e->dst, e->dport, g->seq + 100000, act, 1 + below(64),
                SVC[below(8)], below(600), below(200000), below(2000000), below(400), below(1600));
    if (below(100) < 60) n += sprintf(o + n, " user=\"%s\"", e->user);
    return n;
}

static int fmt_panos(struct gen *g, struct ev *e, char *o)
{
    char host[32];
    snprintf(host, sizeof(host), "PA-%02u", e->host % 16);
    int n = hdr3164(o, 14, e, host);
    bool deny = below(100) < 25;
    char ts[24];
    snprintf(ts, sizeof(ts), "%04d/%02d/%02d %02d:%02d:%02d", e->t.y, e->t.mo, e->t.d, e->t.h,
             e->t.mi, e->t.s);
    n += sprintf(o + n,
                 "1,%s,0132010%05u,TRAFFIC,%s,2561,%s,%s,%s,0.0.0.0,0.0.0.0,%s,corp\\%s,,%s,"
                 "vsys1,trust,untrust,ethernet1/2,ethernet1/1,Forward-All,%s,%" PRIu64
                 ",1,%u,%u,0,0,0x400000,tcp,%s,%u,%u,%u,%u,%s,%u,any,0,%" PRIu64
                 ",0x8000000000000000,10.0.0.0-10.255.255.255,United States,0,12,10,%s,0,0,0,0,,"
                 "%s,from-policy,,,0,,0,,N/A,0,0,0,0,6f1c3f1e-1111-2222-3333-444455556666,0,0",
                 ts, e->host % 16, deny ? "deny" : "end", ts, e->src, e->dst,
                 deny ? "deny-inbound" : "allow-web", e->user, deny ? "not-applicable" : "ssl", ts,
                 g->seq + 1000, e->sport, e->dport, deny ? "deny" : "allow", below(200000),
                 below(100000), below(100000), below(400), ts, below(600), g->seq * 31 + 7,
                 deny ? "policy-deny" : "tcp-fin", host);
    return n;
}

static int fmt_cef(struct gen *g, struct ev *e, char *o)
{
    (void)g;
    uint32_t k = below(100);
    char host[32];
    if (k < 60) {
        snprintf(host, sizeof(host), "gw-edge-%02u", e->host % 20);
        int n = hdr3164(o, 134, e, host);
        bool allow = k < 40;
        n += sprintf(o + n,
                     "CEF:0|ExampleCorp|EdgeGuard|3.2.1|%s|%s|%d|rt=%" PRId64
                     " src=%s spt=%u dst=%s dpt=%u proto=TCP act=%s suser=%s",
                     allow ? "2001" : "2002", allow ? "Connection allowed" : "Connection denied",
                     allow ? 2 : 5, e->ms, e->src, e->sport, e->dst, e->dport,
                     allow ? "allow" : "deny", e->user);
        return n;
    }
    snprintf(host, sizeof(host), "av-%02u", e->host % 12);
    int n = hdr3164(o, 134, e, host);
    n += sprintf(o + n,
                 "CEF:0|ExampleCorp|EndpointAV|7.4|virus-found|Virus found|8|rt=%" PRId64
                 " duser=%s dhost=ws-%04u src=%s fname=%s.exe "
                 "filePath=C:\\\\Users\\\\%s\\\\Downloads\\\\%s.exe act=quarantined",
                 e->ms, e->user, e->host % 5000, e->src, e->tok, e->user, e->tok);
    return n;
}

static int fmt_leef(struct gen *g, struct ev *e, char *o)
{
    (void)g;
    char host[32];
    snprintf(host, sizeof(host), "fw-gen-%02u", e->host % 20);
    int n = hdr3164(o, 13, e, host);
    bool allow = below(100) < 65;
    n += sprintf(o + n,
                 "LEEF:1.0|ExampleCorp|EdgeGuard|3.2|%s|src=%s\tdst=%s\tsrcPort=%u\tdstPort=%u\t"
                 "proto=TCP\tsev=%d\tcat=Firewall\tusrName=%s",
                 allow ? "ConnAllowed" : "ConnDenied", e->src, e->dst, e->sport, e->dport,
                 allow ? 2 : 5, e->user);
    return n;
}

static int fmt_json(struct gen *g, struct ev *e, char *o)
{
    (void)g;
    char host[32];
    snprintf(host, sizeof(host), "app-%02u", e->host % 30);
    int n = hdr3164(o, 14, e, host);
    uint32_t k = below(100);
    char ts[40];
    snprintf(ts, sizeof(ts), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", e->t.y, e->t.mo, e->t.d, e->t.h,
             e->t.mi, e->t.s, e->t.ms);
    if (k < 55)
        n += sprintf(
            o + n,
            "webapp: {\"@timestamp\":\"%s\",\"event\":{\"action\":\"user-login\","
            "\"outcome\":\"%s\",\"category\":\"authentication\"},\"user\":{\"name\":\"%s\"},"
            "\"source\":{\"ip\":\"%s\",\"port\":%u},\"destination\":{\"ip\":\"%s\","
            "\"port\":443}}",
            ts, k < 40 ? "success" : "failure", e->user, e->src, e->sport, e->dst);
    else
        n += sprintf(o + n,
                     "webapp: {\"@timestamp\":\"%s\",\"event\":{\"action\":\"file-download\","
                     "\"outcome\":\"success\",\"category\":\"web\"},\"user\":{\"name\":\"%s\"},"
                     "\"url\":{\"path\":\"/files/%s.zip\"},\"source\":{\"ip\":\"%s\",\"port\":%u},"
                     "\"destination\":{\"ip\":\"%s\",\"port\":443},\"http\":{\"response\":"
                     "{\"status_code\":200,\"bytes\":%u}}}",
                     ts, e->user, e->tok, e->src, e->sport, e->dst, below(5000000));
    return n;
}

static int fmt_windows(struct gen *g, struct ev *e, char *o)
{
    char host[40];
    snprintf(host, sizeof(host), "dc%02u.corp.local", e->host % 8);
    int n = hdr3164(o, 13, e, host);
    uint32_t k = below(100);
    int id = k < 55 ? 4624 : k < 80 ? 4625 : 4688;
    int64_t tsec = e->ms / 1000;
    n += sprintf(o + n,
                 "AgentDevice=WindowsLog\tAgentLogFile=Security\tPluginVersion=7.3.1.16\t"
                 "Source=Microsoft-Windows-Security-Auditing\tComputer=%s\tOriginatingComputer=%s"
                 "\tUser=\tDomain=\tEventID=%d\tEventIDCode=%d\tEventType=%d\tEventCategory=12544"
                 "\tRecordNumber=%" PRIu64 "\tTimeGenerated=%" PRId64 "\tTimeWritten=%" PRId64
                 "\tLevel=Log Always\tKeywords=Audit %s\tTask=SE_ADT_LOGON\tOpcode=Info\t",
                 host, e->dst, id, id, id == 4625 ? 16 : 8, g->seq + 77000, tsec, tsec,
                 id == 4625 ? "Failure" : "Success");
    if (id == 4624)
        n += sprintf(o + n,
                     "Message=An account was successfully logged on.    Subject:    Security ID:"
                     "    S-1-5-18    Account Name:    DC01$    Account Domain:    CORP    Logon "
                     "ID:    0x3E7    Logon Information:    Logon Type:    3    New Logon:    "
                     "Security ID:    S-1-5-21-3623811015-3361044348-30300820-%u    Account Name:"
                     "    %s    Account Domain:    CORP    Logon ID:    0x%X    Network "
                     "Information:    Workstation Name:    WS%04u    Source Network Address:    "
                     "%s    Source Port:    %u    Detailed Authentication Information:    Logon "
                     "Process:    NtLmSsp    Authentication Package:    NTLM",
                     1000 + below(50000), e->user, below(0xffffff), e->host % 5000, e->src,
                     e->sport);
    else if (id == 4625)
        n += sprintf(o + n,
                     "Message=An account failed to log on.    Subject:    Security ID:    S-1-5-18"
                     "    Account Name:    DC01$    Account Domain:    CORP    Logon ID:    0x3E7"
                     "    Logon Information:    Logon Type:    3    Account For Which Logon "
                     "Failed:    Security ID:    S-1-0-0    Account Name:    %s    Account "
                     "Domain:    CORP    Failure Information:    Failure Reason:    Unknown user "
                     "name or bad password.    Status:    0xC000006D    Sub Status:    0xC000006A"
                     "    Network Information:    Workstation Name:    WS%04u    Source Network "
                     "Address:    %s    Source Port:    %u",
                     e->user, e->host % 5000, e->src, e->sport);
    else
        n += sprintf(o + n,
                     "Message=A new process has been created.    Creator Subject:    Security ID:"
                     "    S-1-5-21-3623811015-3361044348-30300820-%u    Account Name:    %s    "
                     "Account Domain:    CORP    Logon ID:    0x%X    Process Information:    New "
                     "Process ID:    0x%x    New Process Name:    C:\\Windows\\Temp\\%s.exe    "
                     "Token Elevation Type:    %%%%1936    Creator Process Name:    "
                     "C:\\Windows\\explorer.exe",
                     1000 + below(50000), e->user, below(0xffffff), below(0xffff), e->tok);
    return n;
}

typedef int (*fmt_fn)(struct gen *, struct ev *, char *);

static const struct {
    fmt_fn fn;
    int weight;  /* per 100 */
    int src_int; /* % of sources internal */
    int dst_int; /* % of destinations internal */
} FORMATS[] = {
    {fmt_sshd, 18, 30, 100},    {fmt_asa, 17, 20, 70}, {fmt_fortigate, 15, 85, 20},
    {fmt_panos, 12, 80, 25},    {fmt_cef, 10, 60, 40}, {fmt_json, 10, 50, 100},
    {fmt_windows, 10, 85, 100}, {fmt_leef, 8, 70, 30},
};
#define N_FORMATS (sizeof(FORMATS) / sizeof(FORMATS[0]))

static void seed(uint64_t s)
{
    for (int i = 0; i < 4; i++)
        rs[i] = splitmix(&s);
}

static void gen_init(struct gen *g)
{
    memset(g, 0, sizeof(*g));
    zipf_init(&g->zint, N_INTERNAL);
    zipf_init(&g->zext, N_EXTERNAL);
    zipf_init(&g->zuser, N_USERS);
    zipf_init(&g->ztok, N_TOKENS);
    zipf_init(&g->zport, (uint32_t)N_PORTS);
    zipf_init(&g->zhost, 5000);
}

static int cmd_events(uint64_t n, uint64_t s)
{
    struct gen g;
    seed(s);
    gen_init(&g);
    int fmt_of[100], k = 0;
    for (size_t f = 0; f < N_FORMATS; f++)
        for (int w = 0; w < FORMATS[f].weight; w++)
            fmt_of[k++] = (int)f;
    if (k != 100) {
        fprintf(stderr, "store_gen: weights must add up to 100\n");
        return 1;
    }
    static char buf[1 << 20];
    size_t used = 0;
    char line[4096];
    for (uint64_t i = 0; i < n; i++) {
        struct ev e;
        g.seq = i;
        int f = fmt_of[below(100)];
        e.ms = BASE_MS + (int64_t)((double)i * (double)DAY_MS / (double)n) + below(1000);
        to_utc(e.ms, &e.t);
        draw_src(&g, e.src, FORMATS[f].src_int);
        draw_dst(&g, e.dst, FORMATS[f].dst_int);
        user_name(zipf_draw(&g.zuser), e.user, sizeof(e.user));
        token_text(zipf_draw(&g.ztok), e.tok, sizeof(e.tok));
        e.sport = 1024 + below(64511);
        e.dport = PORTS[zipf_draw(&g.zport)];
        e.host = zipf_draw(&g.zhost);
        int len = FORMATS[f].fn(&g, &e, line);
        line[len++] = '\n';
        if (used + (size_t)len > sizeof(buf)) {
            if (fwrite(buf, 1, used, stdout) != used) return 1;
            used = 0;
        }
        memcpy(buf + used, line, (size_t)len);
        used += (size_t)len;
    }
    if (fwrite(buf, 1, used, stdout) != used || fflush(stdout) != 0) return 1;
    return 0;
}

static int cmd_needles(void)
{
    /* ranks in the Zipf tail: at 50 M events about 180 rows carry the address as sourceip,
     * 1,400 the user name and 90 the word; at 1 M, a few to some tens */
    uint32_t ip_rank = N_EXTERNAL / 40, user_rank = N_USERS / 25, tok_rank = N_TOKENS / 30;
    char ip[16], user[48], tok[16];
    ip_text(external_ip(ip_rank), ip, sizeof(ip));
    user_name(user_rank, user, sizeof(user));
    token_text(tok_rank, tok, sizeof(tok));
    printf("ip=%s user=%s word=%s ip_rank=%u user_rank=%u word_rank=%u\n", ip, user, tok, ip_rank,
           user_rank, tok_rank);
    return 0;
}

/* ---- strm CSV -> ClickHouse TSV ---- */

static void tsv_put(const unsigned char *p, size_t n, FILE *out)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = p[i];
        char e = 0;
        switch (c) {
        case '\t':
            e = 't';
            break;
        case '\n':
            e = 'n';
            break;
        case '\r':
            e = 'r';
            break;
        case '\\':
            e = '\\';
            break;
        case '\0':
            e = '0';
            break;
        case '\b':
            e = 'b';
            break;
        case '\f':
            e = 'f';
            break;
        case '\'':
            e = '\'';
            break;
        default:
            break;
        }
        if (e) {
            putc_unlocked('\\', out);
            putc_unlocked(e, out);
        } else {
            putc_unlocked(c, out);
        }
    }
}

static void tsv_ip(const char *s, size_t n, FILE *out)
{
    unsigned char b[16];
    memset(b, 0, sizeof(b));
    char tmp[64];
    if (n > 0 && n < sizeof(tmp)) {
        memcpy(tmp, s, n);
        tmp[n] = 0;
        struct in_addr a4;
        if (inet_pton(AF_INET, tmp, &a4) == 1) {
            b[10] = b[11] = 0xff;
            memcpy(b + 12, &a4, 4);
        } else if (inet_pton(AF_INET6, tmp, b) != 1) {
            memset(b, 0, sizeof(b));
        }
    }
    tsv_put(b, 16, out);
}

static int cmd_tsv(void)
{
    size_t cap = 1 << 16, len = 0;
    char *field = malloc(cap);
    bool ipcol[64];
    int ncol = 0, col = 0;
    bool header = true;
    memset(ipcol, 0, sizeof(ipcol));
    if (!field) return 1;
    static char obuf[1 << 20];
    setvbuf(stdout, obuf, _IOFBF, sizeof(obuf));
    int c = getchar_unlocked();
    uint64_t rows = 0;
    while (c != EOF) {
        /* one field */
        len = 0;
        if (c == '"') {
            for (;;) {
                c = getchar_unlocked();
                if (c == EOF) break;
                if (c == '"') {
                    c = getchar_unlocked();
                    if (c != '"') break;
                }
                if (len + 1 >= cap) {
                    cap *= 2;
                    field = realloc(field, cap);
                    if (!field) return 1;
                }
                field[len++] = (char)c;
            }
        } else {
            while (c != EOF && c != ',' && c != '\r' && c != '\n') {
                if (len + 1 >= cap) {
                    cap *= 2;
                    field = realloc(field, cap);
                    if (!field) return 1;
                }
                field[len++] = (char)c;
                c = getchar_unlocked();
            }
        }
        if (header) {
            field[len] = 0;
            if (col < 64) ipcol[col] = len >= 2 && !strcmp(field + len - 2, "ip");
        } else {
            if (col) putchar_unlocked('\t');
            if (col < 64 && ipcol[col])
                tsv_ip(field, len, stdout);
            else
                tsv_put((const unsigned char *)field, len, stdout);
        }
        col++;
        if (c == ',') {
            c = getchar_unlocked();
            continue;
        }
        if (c == '\r') c = getchar_unlocked();
        if (c == '\n' || c == EOF) {
            if (header) {
                ncol = col;
                header = false;
            } else {
                if (col != ncol) {
                    fprintf(stderr, "store_gen tsv: row %" PRIu64 " has %d fields, not %d\n",
                            rows + 1, col, ncol);
                    return 1;
                }
                putchar_unlocked('\n');
                rows++;
            }
            col = 0;
            if (c == '\n') c = getchar_unlocked();
        }
    }
    free(field);
    if (fflush(stdout) != 0) return 1;
    fprintf(stderr, "store_gen tsv: %" PRIu64 " rows, %d columns\n", rows, ncol);
    return 0;
}

int main(int argc, char **argv)
{
    uint64_t n = 1000000, s = 42;
    if (argc < 2) goto usage;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "-n") && i + 1 < argc)
            n = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "-s") && i + 1 < argc)
            s = strtoull(argv[++i], NULL, 10);
        else
            goto usage;
    }
    if (!strcmp(argv[1], "events")) return cmd_events(n, s);
    if (!strcmp(argv[1], "needles")) return cmd_needles();
    if (!strcmp(argv[1], "tsv")) return cmd_tsv();
usage:
    fprintf(stderr, "usage: store_gen events [-n N] [-s SEED] | needles | tsv\n");
    return 2;
}
