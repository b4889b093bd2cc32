/*
 * segment.c - the immutable columnar segment file of ariel: writing one from memtable rows,
 * loading its header, and scanning it.
 *
 * File layout (all integers little-endian):
 *
 *   header, ARIEL_SEG_HDR (104) bytes:
 *     0 "ARSEG\0\0\0" | 8 u16 version | 10 u16 header size | 12 u16 dir entry size |
 *     14 u16 ncols | 16 u64 rows | 24 i64 min starttime | 32 i64 max starttime |
 *     40 u64 min seq | 48 u64 max seq | 56 u64 segment id | 64 u64 group first id |
 *     72 u32 group count | 76 u32 flags | 80 u64 flush seq lo | 88 u64 flush seq hi |
 *     96 u64 XXH3 of header + directory (with these 8 bytes taken as zero)
 *   column directory: ncols entries of ARIEL_SEG_DIRENT (64) bytes:
 *     0 u16 column id | 2 u8 type | 3 u8 encoding | 4 u32 flags | 8 u64 offset |
 *     16 u64 stored size | 24 u64 raw size | 32 u64 XXH3 of the stored bytes |
 *     40 i64 min | 48 i64 max (TIME/INT columns) | 56 reserved
 *   column data, one blob per column (encodings: enum ariel_enc).
 *
 * Extensibility: readers honour the header and entry sizes written in the file (a later
 * version may append fields), find columns by id (a missing column reads as empty, an
 * unknown one is ignored) and refuse a higher major version with a clear message.
 *
 * A flush writes one segment per UTC hour of starttime; all segments of one flush form a
 * group (consecutive ids group_first .. group_first + group_count - 1) covering exactly the
 * WAL rows seq_lo..seq_hi. Recovery trusts only complete groups (see ariel.c), so a crash in
 * the middle of a flush never loses or duplicates rows.
 *
 * Rows are sorted by starttime; the scan stops at the first row past tmax. Every stored
 * column is checked against its hash before it is decoded, and every length inside it is
 * checked against the sizes, so a damaged file yields STRM_ERR_CORRUPT, never a crash.
 */
#include "ariel/ariel_int.h"

#include <errno.h>
#include <math.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#define XXH_INLINE_ALL /* static state type, and inlined hashing on the hot path */
#include <xxhash.h>
/* ZSTD_createCDict_advanced and ZSTD_c_forceAttachDict, from zstd's experimental API: the
 * payload dictionary's table size and its use in place (payload_cdict). Debian's libzstd
 * (1.5.4) exports them. */
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

static const char seg_magic[8] = {'A', 'R', 'S', 'E', 'G', 0, 0, 0};

/* ---------------------------------------------------------------- file helpers */

int ariel_fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc;
    if (fd < 0) return -1;
    rc = fsync(fd);
    close(fd);
    return rc;
}

int ariel_mkdirs(const char *path)
{
    char p[PATH_MAX];
    size_t len = strlen(path);
    if (len >= sizeof p) return -1;
    memcpy(p, path, len + 1);
    for (size_t i = 1; i <= len; i++) {
        if (p[i] != '/' && p[i] != 0) continue;
        char c = p[i];
        p[i] = 0;
        if (mkdir(p, 0755) == 0) {
            char *slash = strrchr(p, '/');
            if (slash && slash != p) {
                *slash = 0;
                int rc = ariel_fsync_dir(p);
                *slash = '/';
                if (rc != 0) return -1;
            }
        } else if (errno != EEXIST) {
            return -1;
        }
        p[i] = c;
    }
    return 0;
}

int ariel_write_all(int fd, const void *p, size_t len, uint64_t off)
{
    const char *q = p;
    while (len > 0) {
        ssize_t n = pwrite(fd, q, len, (off_t)off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            if (n == 0) errno = EIO;
            return -1;
        }
        q += n;
        len -= (size_t)n;
        off += (uint64_t)n;
    }
    return 0;
}

int ariel_read_all(int fd, void *p, size_t len, uint64_t off)
{
    char *q = p;
    while (len > 0) {
        ssize_t n = pread(fd, q, len, (off_t)off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            if (n == 0) errno = EIO; /* shorter than its directory says */
            return -1;
        }
        q += n;
        len -= (size_t)n;
        off += (uint64_t)n;
    }
    return 0;
}

/*
 * A scan's scratch buffer of at least need bytes, its old contents dropped, not copied as
 * realloc would: those copies (into freshly faulted pages) were a quarter of a needle
 * search's time. (Transparent huge pages were tried too: the kernel's compaction for them
 * made single searches take up to 0.3 s.)
 */
static int scratch(uint8_t **p, size_t *cap, size_t need)
{
    if (need <= *cap) return 0;
    size_t nc = *cap ? *cap : 65536;
    while (nc < need)
        nc *= 2;
    free(*p);
    *cap = 0;
    if (!(*p = malloc(nc))) return STRM_ERR_NOMEM;
    *cap = nc;
    return 0;
}

int ariel_grow(uint8_t **p, size_t *cap, size_t need)
{
    if (need <= *cap) return 0;
    size_t nc = *cap ? *cap : 65536;
    while (nc < need)
        nc *= 2;
    uint8_t *np = realloc(*p, nc);
    if (!np) return STRM_ERR_NOMEM;
    *p = np;
    *cap = nc;
    return 0;
}

/* A field of w bytes copied with a constant-size move for the widths columns have (no
 * memcpy call per row in the writer's and the scans' per-row loops). */
static inline void copy_width(void *dst, const void *src, size_t w)
{
    switch (w) {
    case 1:
        memcpy(dst, src, 1);
        return;
    case 2:
        memcpy(dst, src, 2);
        return;
    case 4:
        memcpy(dst, src, 4);
        return;
    case 6:
        memcpy(dst, src, 6);
        return;
    case 8:
        memcpy(dst, src, 8);
        return;
    case 16:
        memcpy(dst, src, 16);
        return;
    default:
        memcpy(dst, src, w);
        return;
    }
}

static uint64_t get_uint(const uint8_t *p, int width)
{
    uint64_t v = 0;
    memcpy(&v, p, (size_t)width);
    return v;
}

static int col_width(int col)
{
    switch (strm_event_cols[col].type) {
    case STRM_T_TIME:
        return 8;
    case STRM_T_INT:
        return strm_event_cols[col].width;
    case STRM_T_IP:
        return 16;
    case STRM_T_MAC:
        return 6;
    default:
        return 0;
    }
}

/* ---------------------------------------------------------------- Bloom indexes */

static struct strm_str row_str(const struct ariel_seg_writer *w, uint32_t i, int k, bool *slice);

static const uint32_t bloom_salt[8] = {0x47b6137bu, 0x44974d91u, 0x8824ad5bu, 0xa2b7289du,
                                       0x705495c7u, 0x2df1424bu, 0x9efc4947u, 0x5c6bfb31u};

uint64_t ariel_bloom_hash(const void *key, size_t len)
{
    return XXH3_64bits(key, len);
}

static void bloom_add(uint32_t *blocks, uint32_t nblocks, uint64_t h)
{
    uint32_t *b = blocks + 8 * (size_t)(((h >> 32) * nblocks) >> 32);
    for (int i = 0; i < 8; i++)
        b[i] |= 1u << (((uint32_t)h * bloom_salt[i]) >> 27);
}

bool ariel_bloom_may_contain(const uint8_t *blob, size_t len, uint64_t h)
{
    if (len < 8 || ariel_get32(blob) != 0x314d4c42u) return true; /* 'BLM1' */
    uint32_t nblocks = ariel_get32(blob + 4);
    if (nblocks == 0 || (uint64_t)nblocks * 32 != len - 8) return true;
    const uint8_t *b = blob + 8 + 32 * (size_t)(((h >> 32) * nblocks) >> 32);
    for (int i = 0; i < 8; i++)
        if (!(ariel_get32(b + 4 * i) & (1u << (((uint32_t)h * bloom_salt[i]) >> 27)))) return false;
    return true;
}

/* ---------------------------------------------------------------- token index */

static const uint8_t tok_lower[256] = {
#define D(c) [c] = c
#define U(c) [c] = c + 32
    D('0'), D('1'), D('2'), D('3'), D('4'), D('5'), D('6'), D('7'), D('8'), D('9'), D('a'),
    D('b'), D('c'), D('d'), D('e'), D('f'), D('g'), D('h'), D('i'), D('j'), D('k'), D('l'),
    D('m'), D('n'), D('o'), D('p'), D('q'), D('r'), D('s'), D('t'), D('u'), D('v'), D('w'),
    D('x'), D('y'), D('z'), U('A'), U('B'), U('C'), U('D'), U('E'), U('F'), U('G'), U('H'),
    U('I'), U('J'), U('K'), U('L'), U('M'), U('N'), U('O'), U('P'), U('Q'), U('R'), U('S'),
    U('T'), U('U'), U('V'), U('W'), U('X'), U('Y'), U('Z'),
#undef D
#undef U
}; /* 0: not a token byte; else the byte lowercased */

#define TOK_HASH_MAX 256
#define TOK_RECENT_BITS 11 /* the direct-mapped table of tokens just added, per block */
#define TOK_RECENT (1u << TOK_RECENT_BITS)

static inline uint64_t tok_mix(uint64_t x)
{
    x ^= x >> 32;
    x *= 0xd6e8feb86659fd93ull;
    x ^= x >> 32;
    x *= 0xd6e8feb86659fd93ull;
    return x ^ (x >> 32);
}

/*
 * A token's bytes are ASCII letters and digits, which `| 0x20` lowercases all at once
 * (digits already have that bit): the hash works on 8-byte words of the token as it lies
 * in the payload, no copy. Only the first TOK_HASH_MAX bytes count, with the length.
 */
uint64_t ariel_token_hash(const char *p, size_t len)
{
    uint64_t h = (uint64_t)len * 0x9e3779b97f4a7c15ull;
    size_t m = len < TOK_HASH_MAX ? len : TOK_HASH_MAX, i = 0;
    for (; i + 8 <= m; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        h = tok_mix(h ^ (w | 0x2020202020202020ull));
    }
    if (i < m) {
        uint64_t w = 0;
        for (size_t k = 0; k < m - i; k++)
            w |= (uint64_t)((uint8_t)p[i + k] | 0x20) << (8 * k);
        h = tok_mix(h ^ w);
    }
    return h;
}

static uint64_t distinct_estimate(const uint64_t *h, size_t n);

/*
 * m[i / 64] bit i % 64 set when s[i] is a token byte (tok_lower), for i < n; m holds
 * (n + 63) / 64 words and one more (tok_runs' look-ahead), all zeroed here. Sixteen bytes at a time
 * where SSE2 is there: this scan runs over every payload byte the store writes.
 */
static void tok_bitmap(const uint8_t *s, size_t n, uint64_t *m)
{
    memset(m, 0, ((n + 63) / 64 + 1) * sizeof *m);
    size_t i = 0;
#ifdef __SSE2__
    const __m128i c20 = _mm_set1_epi8(0x20), ca = _mm_set1_epi8('a' - 1),
                  cz = _mm_set1_epi8('z' + 1), c0 = _mm_set1_epi8('0' - 1),
                  c9 = _mm_set1_epi8('9' + 1);
    for (; i + 16 <= n; i += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
        __m128i l = _mm_or_si128(v, c20); /* bytes >= 0x80 stay negative: never in range */
        __m128i let = _mm_and_si128(_mm_cmpgt_epi8(l, ca), _mm_cmplt_epi8(l, cz));
        __m128i dig = _mm_and_si128(_mm_cmpgt_epi8(v, c0), _mm_cmplt_epi8(v, c9));
        uint64_t bits = (uint32_t)_mm_movemask_epi8(_mm_or_si128(let, dig));
        m[i / 64] |= bits << (i % 64);
    }
#endif
    for (; i < n; i++)
        if (tok_lower[s[i]]) m[i / 64] |= 1ull << (i % 64);
}

/*
 * The tokens of ARIEL_TOKEN_MIN or more bytes in a bitmap of n bytes (tok_bitmap's, with its
 * zero word after the last), in order: pos gets each one's start
 * and end (at most n + 1 entries); returns how many entries. A word y marks the bytes that
 * begin three token bytes in a row, and the bytes such a window covers are exactly those of
 * the long tokens, so the shorter ones (a third of a log line's, "12", "05", "to") never
 * reach a loop, and a token costs two ctz, not a scan for its end. The writer's hashing of
 * them was a third faster for it (the DSM mix: 285 -> 157 ns per payload).
 */
_Static_assert(ARIEL_TOKEN_MIN == 3, "tok_runs finds the runs of three or more token bytes");
static size_t tok_runs(const uint64_t *m, size_t n, uint32_t *pos)
{
    size_t nw = (n + 63) / 64, np = 0;
    uint64_t carry = 0, yprev = 0;
    for (size_t wi = 0; wi < nw; wi++) {
        uint64_t x = m[wi], nx = m[wi + 1];
        uint64_t y = x & (x >> 1 | nx << 63) & (x >> 2 | nx << 62);
        uint64_t z = y | (y << 1 | yprev >> 63) | (y << 2 | yprev >> 62);
        uint64_t t = z ^ (z << 1 | carry); /* a bit where a token starts or ends */
        yprev = y;
        carry = z >> 63;
        while (t) {
            pos[np++] = (uint32_t)(wi * 64 + (size_t)__builtin_ctzll(t));
            t &= t - 1;
        }
    }
    if (np & 1) pos[np++] = (uint32_t)n; /* the last token ends with the last whole word */
    return np;
}

/* A Bloom blob of the nh hashes at out (returns its length; out has room for bloom_len). */
static size_t bloom_fill(uint8_t *out, const uint64_t *hs, size_t nh, uint32_t nblocks)
{
    memset(out, 0, 8 + (size_t)nblocks * 32);
    ariel_put32(out, 0x314d4c42u); /* 'BLM1' */
    ariel_put32(out + 4, nblocks);
    uint32_t *blocks = (uint32_t *)(void *)(out + 8);
    for (size_t i = 0; i < nh; i++)
        bloom_add(blocks, nblocks, hs[i]);
    return 8 + (size_t)nblocks * 32;
}

/*
 * Per-block filters ('TKB1', ariel_int.h) are built into w->raw: filters_begin writes the
 * head for nb blocks of R rows, filter_append the filter of block b from the nh hashes in
 * w->tokh at bits_per_value bits per distinct value, advancing *pos.
 */
static int filters_begin(struct ariel_seg_writer *w, uint32_t R, uint32_t nb, size_t *pos)
{
    *pos = 12 + (size_t)nb * 4;
    if (ariel_grow(&w->raw, &w->rawcap, *pos)) return STRM_ERR_NOMEM;
    ariel_put32(w->raw, 0x31424b54u); /* 'TKB1' */
    ariel_put32(w->raw + 4, R);
    ariel_put32(w->raw + 8, nb);
    return 0;
}

static int filter_append(struct ariel_seg_writer *w, uint32_t b, size_t nh, unsigned bits_per_value,
                         size_t *pos)
{
    uint64_t bits = nh ? distinct_estimate(w->tokh, nh) * bits_per_value : 1;
    uint32_t nblocks = (uint32_t)((bits + 255) / 256);
    if (nblocks > nh / 2 + 1) nblocks = (uint32_t)(nh / 2 + 1); /* <= ~128 bits per value */
    size_t blen = 8 + (size_t)nblocks * 32;
    if (ariel_grow(&w->raw, &w->rawcap, *pos + blen)) return STRM_ERR_NOMEM;
    ariel_put32(w->raw + 12 + (size_t)b * 4, (uint32_t)blen);
    *pos += bloom_fill(w->raw + *pos, w->tokh, nh, nblocks);
    return 0;
}

/* The payload's token index into w->raw (*len bytes; 0 when the table has no payload). */
static int token_index_build(struct ariel_seg_writer *w, uint32_t n, size_t *len)
{
    uint32_t R = w->tokblock_rows, nb = (n + R - 1) / R;
    size_t pos;
    *len = 0;
    if (w->plane[ARIEL_RS_PAYLOAD] < 0 || n == 0) return 0;
    if (filters_begin(w, R, nb, &pos)) return STRM_ERR_NOMEM;
    for (uint32_t b = 0; b < nb; b++) {
        size_t nh = 0;
        uint32_t from = b * R, to = from + R < n ? from + R : n;
        uint64_t recent[TOK_RECENT];
        memset(recent, 0, sizeof recent);
        for (uint32_t i = from; i < to; i++) {
            struct strm_str pl = row_str(w, i, ARIEL_RS_PAYLOAD, NULL);
            if (!pl.len) continue;
            if (w->tokcap < nh + pl.len / 2 + 1) { /* at most len/2+1 tokens in len bytes */
                size_t cap = (nh + pl.len / 2 + 1) * 2;
                uint64_t *t = realloc(w->tokh, cap * sizeof *t);
                if (!t) return STRM_ERR_NOMEM;
                w->tokh = t;
                w->tokcap = cap;
            }
            size_t nw = ((size_t)pl.len + 63) / 64;
            if (w->tokbmcap < nw + 1) {
                uint64_t *bm = realloc(w->tokbm, (nw + 1) * 2 * sizeof *bm);
                if (!bm) return STRM_ERR_NOMEM;
                w->tokbm = bm;
                w->tokbmcap = (nw + 1) * 2;
            }
            if (w->tokposcap < (size_t)pl.len + 1) {
                uint32_t *tp = realloc(w->tokpos, ((size_t)pl.len + 1) * 2 * sizeof *tp);
                if (!tp) return STRM_ERR_NOMEM;
                w->tokpos = tp;
                w->tokposcap = ((size_t)pl.len + 1) * 2;
            }
            tok_bitmap((const uint8_t *)pl.p, pl.len, w->tokbm);
            size_t np = tok_runs(w->tokbm, pl.len, w->tokpos);
            for (size_t j = 0; j < np; j += 2) {
                size_t ts = w->tokpos[j], tl = w->tokpos[j + 1] - ts;
                /*
                 * A log repeats its template's words: most were seen a moment ago. A token of
                 * up to 8 bytes is its own key (lowercased, zero-padded: its bytes are never
                 * zero), so a repeat costs no hash; a longer one is keyed by its hash. A repeat
                 * is not added, without a branch (whether it is one is a coin toss for the
                 * branch predictor).
                 */
                uint64_t key, h;
                if (tl <= 8) {
                    size_t pad = 8 - tl;
                    if (ts + 8 <= pl.len) {
                        memcpy(&key, pl.p + ts, 8);
                    } else {
                        key = 0;
                        for (size_t k = 0; k < tl; k++)
                            key |= (uint64_t)(uint8_t)pl.p[ts + k] << (8 * k);
                    }
                    key = (key & ~0ull >> (8 * pad)) | 0x2020202020202020ull >> (8 * pad);
                } else {
                    key = ariel_token_hash(pl.p + ts, tl);
                }
                uint64_t *slot = &recent[(key * 0x9e3779b97f4a7c15ull) >> (64 - TOK_RECENT_BITS)];
                size_t add = (size_t)((*slot != key) | (key == 0)); /* 0: the empty value */
                *slot = key;
                h = tl <= 8 ? tok_mix(key ^ (uint64_t)tl * 0x9e3779b97f4a7c15ull) : key;
                w->tokh[nh] = h;
                nh += add;
            }
        }
        /* 16 bits per token (about 0.1% false positives): a block a word search reads in
         * vain costs 1024 rows of payload decompressed; on the bench/store data, 16 bits and
         * 1024-row blocks against 10 and 2048 took a word search from 11 to 3.8 ms and the
         * store 4% larger */
        if (filter_append(w, b, nh, 16, &pos)) return STRM_ERR_NOMEM;
    }
    *len = pos;
    return 0;
}

/* Distinct values among n hashes, estimated (HyperLogLog, 2^10 registers): sizes a filter. */
static uint64_t distinct_estimate(const uint64_t *h, size_t n)
{
    uint8_t reg[1024] = {0};
    for (size_t i = 0; i < n; i++) {
        uint64_t x = h[i] * 0x9e3779b97f4a7c15ull;
        unsigned idx = (unsigned)(x >> 54);
        uint8_t rank = (uint8_t)(__builtin_clzll((x << 10) | (1ull << 9)) + 1);
        if (rank > reg[idx]) reg[idx] = rank;
    }
    double sum = 0;
    unsigned zeros = 0;
    for (int i = 0; i < 1024; i++) {
        sum += 1.0 / (double)(1ull << reg[i]);
        zeros += !reg[i];
    }
    double est = 0.7213 / (1 + 1.079 / 1024) * 1024.0 * 1024.0 / sum;
    if (est <= 2.5 * 1024 && zeros) est = 1024.0 * log((double)1024 / zeros);
    return (uint64_t)est + 1;
}

/* Whether some row has a value in column col (an IP not all zero, a non-empty string). */
static bool col_has_value(const struct ariel_seg_writer *w, int col, uint32_t n)
{
    if (strm_event_cols[col].type == STRM_T_IP) {
        static const uint8_t zero[16];
        const uint8_t *fx = w->fixed + w->colstart[col];
        for (uint32_t i = 0; i < n; i++)
            if (memcmp(fx + (size_t)i * 16, zero, 16) != 0) return true;
        return false;
    }
    int k = ariel_row_str_index(col);
    for (uint32_t i = 0; i < n; i++)
        if (row_str(w, i, k, NULL).len) return true;
    return false;
}

/*
 * Builds the Bloom blob of column col over the rows into w->raw (*len bytes). Sized for
 * ~10.7 bits per distinct value (+20% for the estimate's error). 0, or no index (*len 0)
 * when the column has no value.
 */
static int bloom_build(struct ariel_seg_writer *w, int col, const uint8_t *const *rows, uint32_t n,
                       size_t *len)
{
    /* per block of fixblock_rows rows, in the token index's layout ('TKB1'): a needle
     * search then reads (and decompresses) only the blocks that may hold its value */
    uint32_t R = w->fixblock_rows, nb = (n + R - 1) / R;
    size_t pos, any = 0;
    (void)rows;
    *len = 0;
    if (filters_begin(w, R, nb, &pos)) return STRM_ERR_NOMEM;
    if (w->tokcap < R) {
        uint64_t *t = realloc(w->tokh, (size_t)R * sizeof *t);
        if (!t) return STRM_ERR_NOMEM;
        w->tokh = t;
        w->tokcap = R;
    }
    bool ip = strm_event_cols[col].type == STRM_T_IP;
    int k = ip ? -1 : ariel_row_str_index(col);
    const uint8_t *fx = ip ? w->fixed + w->colstart[col] : NULL;
    for (uint32_t b = 0; b < nb; b++) {
        uint32_t from = b * R, to = from + R < n ? from + R : n;
        size_t nh = 0;
        for (uint32_t i = from; i < to; i++) {
            if (ip) {
                uint64_t a, c2;
                memcpy(&a, fx + (size_t)i * 16, 8);
                memcpy(&c2, fx + (size_t)i * 16 + 8, 8);
                if (a | c2) w->tokh[nh++] = ariel_bloom_hash(fx + (size_t)i * 16, 16);
            } else {
                struct strm_str v = row_str(w, i, k, NULL);
                if (v.len) w->tokh[nh++] = ariel_bloom_hash(v.p, v.len);
            }
        }
        any += nh;
        /* 10.7 bits per value (about 1% false positives), +20% for the estimate's error */
        if (filter_append(w, b, nh, 13, &pos)) return STRM_ERR_NOMEM;
    }
    if (!any) return 0;
    *len = pos;
    return 0;
}

/* ---------------------------------------------------------------- writing */

const char *ariel_table_dir(enum strm_table table)
{
    return table == STRM_TABLE_FLOWS ? "flows" : "events";
}

#define ARIEL_FLOWS_LEVEL (-3) /* zstd's fast mode, acceleration 3 */

int ariel_seg_writer_init(struct ariel_seg_writer *w, int level, enum strm_table table)
{
    memset(w, 0, sizeof *w);
    w->level = level;
    w->colset = strm_table_cols(table);
    w->tabname = ariel_table_dir(table);
    w->strblock_min = 1u << 20;
    w->fixblock_min = 256u << 10;
    w->token_index = true;
    w->strblock_rows = 16384;
    w->fixblock_rows = 4096;
    w->tokblock_rows = 1024;
    w->dict_block = ARIEL_DICT_BLOCK;
    for (int k = 0; k < ARIEL_ROW_NSTR; k++)
        w->plane[k] = -1;
    for (int c = 0; c < STRM_COL__COUNT; c++) {
        int k = ariel_row_str_index(c);
        if (k < 0 || !(w->colset & 1ull << c)) continue;
        w->plane[k] = (int8_t)w->nplanes++;
        /* a message slice is read through the payload */
        if (k == ARIEL_RS_MESSAGE && w->plane[ARIEL_RS_PAYLOAD] < 0 &&
            !(w->colset & 1ull << STRM_COL_PAYLOAD))
            w->plane[ARIEL_RS_PAYLOAD] = (int8_t)w->nplanes++;
    }
    w->cctx = ZSTD_createCCtx();
    if (!w->cctx) return STRM_ERR_NOMEM;
    /*
     * The level's strategy (fast, for level 1) with a 4 MiB window and a 128 Ki-entry hash
     * table instead of the level's 512 KiB and 16 Ki: a column of log lines repeats its
     * templates from far back, and finding those long matches is both smaller and faster
     * (on the DSM mix's payloads: 17.1x at 1.39 GB/s against 10.6x at 1.0 GB/s). Readers
     * need the 4 MiB window, well below zstd's default decoding limit. Columns smaller than
     * the window get smaller parameters from zstd (it knows the input size).
     */
    if (ZSTD_isError(ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_compressionLevel, level)) ||
        ZSTD_isError(ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_windowLog, 22)) ||
        ZSTD_isError(ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_hashLog, 17)))
        return STRM_ERR_INVAL;
    /* Blocks are small (a few hundred KiB): zstd's parameters for their size are cheaper to
     * set up per block than the big window's tables, and lose little. The flows table's
     * blocks (numbers, nearly all of it) take zstd's fast mode: a flow collector must keep
     * up with its exporters, and at 4 M flows/s the segment writer was the bottleneck
     * (flush 0.30 -> 0.25 us per row on the 2-core bench machine, 20 -> 24 bytes per flow
     * on disk; docs/storage.md). */
    w->cctx_block = ZSTD_createCCtx();
    if (!w->cctx_block ||
        ZSTD_isError(ZSTD_CCtx_setParameter(w->cctx_block, ZSTD_c_compressionLevel,
                                            table == STRM_TABLE_FLOWS ? ARIEL_FLOWS_LEVEL : level)))
        return STRM_ERR_NOMEM;
    return 0;
}

void ariel_seg_writer_free(struct ariel_seg_writer *w)
{
    ZSTD_freeCCtx(w->cctx);
    ZSTD_freeCCtx(w->cctx_block);
    free(w->raw);
    free(w->comp);
    free(w->ckpt);
    free(w->strs);
    free(w->slices);
    for (int k = 0; k < ARIEL_ROW_NSTR; k++)
        free(w->sbuf[k]);
    free(w->fixed);
    free(w->tokh);
    free(w->tokbm);
    free(w->tokpos);
    free(w->dslot);
    free(w->dvals);
    free(w->dkeys);
    free(w->dcodes);
    if (!w->dict_borrowed) ZSTD_freeCDict(w->cdict);
    memset(w, 0, sizeof *w);
}

/* String k of row i, from the table split_rows filled; *slice: the message is a payload slice. */
static struct strm_str row_str(const struct ariel_seg_writer *w, uint32_t i, int k, bool *slice)
{
    if (slice) *slice = k == ARIEL_RS_MESSAGE && w->slices[i];
    if (w->plane[k] < 0) return (struct strm_str){NULL, 0};
    return w->strs[(size_t)w->plane[k] * w->strs_rows + i];
}

/* (Re)allocates the string planes and slice flags for n rows. */
static int strs_grow(struct ariel_seg_writer *w, size_t n)
{
    if (w->strs_rows >= n) return 0;
    size_t planes = w->nplanes ? (size_t)w->nplanes : 1;
    struct strm_str *s = realloc(w->strs, n * planes * sizeof *s);
    if (!s) return STRM_ERR_NOMEM;
    w->strs = s;
    bool *b = realloc(w->slices, n * sizeof *b);
    if (!b) return STRM_ERR_NOMEM;
    w->slices = b;
    w->strs_rows = n;
    memset(w->strs, 0, n * planes * sizeof *s);
    memset(w->slices, 0, n);
    return 0;
}

/* Bytes per row of the fixed-width columns the writer's table stores. */
static size_t fixed_per_row(const struct ariel_seg_writer *w)
{
    size_t per_row = 0;
    for (int c = 0; c < STRM_COL__COUNT; c++)
        if (w->colset & 1ull << c) per_row += (size_t)col_width(c);
    return per_row;
}

int ariel_seg_writer_reserve(struct ariel_seg_writer *w, uint32_t n)
{
    /* grown ahead (+1/8: a flush takes what arrived by the time it starts) and touched, so
     * the first flushes do not fault these buffers in page by page */
    n += n / 8;
    if (strs_grow(w, n)) return STRM_ERR_NOMEM;
    size_t per_row = fixed_per_row(w);
    if (w->fixed_rows < n) {
        uint8_t *f = realloc(w->fixed, (size_t)n * per_row);
        if (!f) return STRM_ERR_NOMEM;
        w->fixed = f;
        w->fixed_rows = n;
        memset(w->fixed, 0, (size_t)n * per_row);
    }
    return 0;
}

/*
 * Min, max and zero count of the integers from..to-1 of wr bytes each (unsigned, but for 8
 * bytes), one typed loop per width: a flush of the flows table computes these for about 20
 * columns of every row, and a memcpy call per value was 7% of its CPU.
 */
static void block_stats(const uint8_t *data, size_t wr, uint32_t from, uint32_t to, int64_t *mn,
                        int64_t *mx, uint32_t *zeros)
{
    int64_t lo = *mn, hi = *mx;
    uint32_t z = 0;
#define BSTATS(T)                                                                                  \
    for (uint32_t i = from; i < to; i++) {                                                         \
        T x;                                                                                       \
        memcpy(&x, data + (size_t)i * sizeof x, sizeof x);                                         \
        int64_t v = (int64_t)x;                                                                    \
        lo = v < lo ? v : lo;                                                                      \
        hi = v > hi ? v : hi;                                                                      \
        z += v == 0;                                                                               \
    }
    switch (wr) {
    case 1:
        BSTATS(uint8_t)
        break;
    case 2:
        BSTATS(uint16_t)
        break;
    case 4:
        BSTATS(uint32_t)
        break;
    case 8:
        BSTATS(uint64_t)
        break;
    default:
        for (uint32_t i = from; i < to; i++) {
            int64_t v = (int64_t)get_uint(data + (size_t)i * wr, (int)wr);
            lo = v < lo ? v : lo;
            hi = v > hi ? v : hi;
            z += v == 0;
        }
    }
#undef BSTATS
    *mn = lo;
    *mx = hi;
    *zeros = z;
}

#define SPLIT_TILE 128 /* rows */

/*
 * The planes whose values split_rows copies into w->sbuf: all but the payload (its passes
 * copy it in order anyway) and the message (a slice of it). The rows lie in the memtable in
 * arrival order, a few hundred bytes apart, long evicted from the cache by the time a flush
 * reads them; each pass over a string column missed the cache once per row, for a few bytes
 * of it (a prefetch 16 rows ahead in the dictionary coder hid part of that). Copied while
 * split_rows has the row in the cache, the values of a column lie together, and its passes
 * (dictionary, Bloom index) read them in order. On the DSM mix the writer's string columns
 * took 177 -> 80 ns per row, its Bloom indexes 29 -> 19, for 40 more in split_rows.
 */
static inline bool plane_copied(int k)
{
    return k != ARIEL_RS_PAYLOAD && k != ARIEL_RS_MESSAGE;
}

/* Room for at least more bytes in w->sbuf[k]. */
static int sbuf_grow(struct ariel_seg_writer *w, int k, size_t more)
{
    if (w->sbufcap[k] - w->sbufused[k] >= more) return 0;
    size_t cap = w->sbufcap[k] ? w->sbufcap[k] : 65536;
    while (cap - w->sbufused[k] < more)
        cap *= 2;
    char *b = realloc(w->sbuf[k], cap);
    if (!b) return STRM_ERR_NOMEM;
    w->sbuf[k] = b;
    w->sbufcap[k] = cap;
    return 0;
}

/*
 * A row's strings located (w->strs, w->slices), its sequence number taken into the range.
 * A copied plane's value is appended to w->sbuf[k] and its p holds the offset there until
 * split_rows has all of them (the buffer may move while it grows).
 */
static inline int split_strs(struct ariel_seg_writer *w, const uint8_t *row, uint32_t len,
                             uint32_t i, uint64_t *min_seq, uint64_t *max_seq)
{
    struct strm_str s[ARIEL_ROW_NSTR];
    if (!ariel_row_strs(row, len, s, &w->slices[i])) {
        /* cannot happen: memtable rows were validated */
        memset(s, 0, sizeof s);
        w->slices[i] = false;
    }
    /* field by field: a 16-byte load of s[k] spans the two stores that wrote it (p, len) and
     * cannot be forwarded from them; it waited for them to reach the cache */
    for (int k = 0; k < ARIEL_ROW_NSTR; k++)
        if (w->plane[k] >= 0) {
            struct strm_str *d = &w->strs[(size_t)w->plane[k] * w->strs_rows + i];
            d->len = s[k].len;
            if (!plane_copied(k)) {
                d->p = s[k].p;
                continue;
            }
            if (sbuf_grow(w, k, s[k].len)) return STRM_ERR_NOMEM;
            d->p = (const char *)(uintptr_t)w->sbufused[k];
            if (s[k].len) memcpy(w->sbuf[k] + w->sbufused[k], s[k].p, s[k].len);
            w->sbufused[k] += s[k].len;
        }
    uint64_t q = ariel_row_seq(row);
    *min_seq = q < *min_seq ? q : *min_seq;
    *max_seq = q > *max_seq ? q : *max_seq;
    return 0;
}

/*
 * One pass over the rows (in tiles): fixed-width columns copied out column by column
 * (w->fixed at w->colstart[col]), the strings located (w->strs), the sequence range noted.
 */
static int split_rows(struct ariel_seg_writer *w, const uint8_t *const *rows, const uint32_t *lens,
                      uint32_t n, uint64_t *min_seq, uint64_t *max_seq)
{
    if (strs_grow(w, n)) return STRM_ERR_NOMEM;
    for (int k = 0; k < ARIEL_ROW_NSTR; k++) {
        w->sbufused[k] = 0;
        /* a buffer even for a plane without bytes: its values point somewhere */
        if (w->plane[k] >= 0 && plane_copied(k) && sbuf_grow(w, k, 1)) return STRM_ERR_NOMEM;
    }
    size_t per_row = 0;
    int fcols[STRM_COL__COUNT], nf = 0;
    size_t foff[2][STRM_COL__COUNT], fw[STRM_COL__COUNT];
    for (int c = 0; c < STRM_COL__COUNT; c++) {
        int width = col_width(c);
        if (!width || !(w->colset & 1ull << c)) continue;
        fcols[nf] = c;
        foff[0][nf] = ariel_row_off(c, false);
        foff[1][nf] = ariel_row_off(c, true);
        fw[nf] = (size_t)width;
        nf++;
        per_row += (size_t)width;
    }
    if (w->fixed_rows < n) {
        uint8_t *f = realloc(w->fixed, (size_t)n * per_row);
        if (!f) return STRM_ERR_NOMEM;
        w->fixed = f;
        w->fixed_rows = n;
    }
    size_t start = 0;
    int64_t lo[STRM_COL__COUNT], hi[STRM_COL__COUNT];
    bool num[STRM_COL__COUNT];
    for (int k = 0; k < nf; k++) {
        w->colstart[fcols[k]] = start;
        start += (size_t)n * fw[k];
        lo[k] = INT64_MAX;
        hi[k] = INT64_MIN;
        num[k] = strm_event_cols[fcols[k]].type == STRM_T_TIME ||
                 strm_event_cols[fcols[k]].type == STRM_T_INT;
    }
    /*
     * Tiles of SPLIT_TILE rows (they stay in the cache): the fixed-width fields column by
     * column, with one constant-size move per value chosen once per column and tile (a
     * choice per value was the writer's largest item on flow rows), then each row's strings.
     */
    for (uint32_t t0 = 0; t0 < n; t0 += SPLIT_TILE) {
        uint32_t t1 = n - t0 > SPLIT_TILE ? t0 + SPLIT_TILE : n;
        /* the next tile's rows (sorted by time, they lie anywhere in the memtable): their
         * fixed parts asked for now, so that those misses overlap this tile's work */
        for (uint32_t i = t1; i < t1 + SPLIT_TILE && i < n; i++)
            for (uint32_t o = 0; o < lens[i]; o += 64)
                __builtin_prefetch(rows[i] + o);
        int lay = ariel_row_compact(rows[t0]);
        bool mixed = false;
        for (uint32_t i = t0 + 1; i < t1; i++)
            mixed |= ariel_row_compact(rows[i]) != lay;
        for (int k = 0; k < nf; k++) {
            uint8_t *col = w->fixed + w->colstart[fcols[k]];
            size_t W = fw[k], off = foff[lay][k];
            if (mixed || off == SIZE_MAX) {
                for (uint32_t i = t0; i < t1; i++) {
                    size_t o = mixed ? foff[ariel_row_compact(rows[i])][k] : off;
                    if (o == SIZE_MAX) /* not in the compact flow layout: zero */
                        memset(col + (size_t)i * W, 0, W);
                    else
                        copy_width(col + (size_t)i * W, rows[i] + o, W);
                }
                if (num[k]) {
                    uint32_t zeros;
                    block_stats(col, W, t0, t1, &lo[k], &hi[k], &zeros);
                }
                continue;
            }
            /* numbers: their min and max on the way (unsigned, but for 8 bytes) */
#define SPLIT_COPY(T)                                                                              \
    {                                                                                              \
        int64_t l = lo[k], h = hi[k];                                                              \
        for (uint32_t i = t0; i < t1; i++) {                                                       \
            T x;                                                                                   \
            memcpy(&x, rows[i] + off, sizeof x);                                                   \
            memcpy(col + (size_t)i * sizeof x, &x, sizeof x);                                      \
            l = (int64_t)x < l ? (int64_t)x : l;                                                   \
            h = (int64_t)x > h ? (int64_t)x : h;                                                   \
        }                                                                                          \
        lo[k] = l;                                                                                 \
        hi[k] = h;                                                                                 \
    }
#define SPLIT_MOVE(CW)                                                                             \
    for (uint32_t i = t0; i < t1; i++)                                                             \
        memcpy(col + (size_t)i * (CW), rows[i] + off, (CW));
            switch (W) {
            case 1:
                SPLIT_COPY(uint8_t)
                break;
            case 2:
                SPLIT_COPY(uint16_t)
                break;
            case 4:
                SPLIT_COPY(uint32_t)
                break;
            case 6:
                SPLIT_MOVE(6)
                break;
            case 8:
                if (num[k])
                    SPLIT_COPY(uint64_t)
                else
                    SPLIT_MOVE(8)
                break;
            case 16:
                SPLIT_MOVE(16)
                break;
            default:
                SPLIT_MOVE(W)
                if (num[k]) {
                    uint32_t zeros;
                    block_stats(col, W, t0, t1, &lo[k], &hi[k], &zeros);
                }
            }
#undef SPLIT_COPY
#undef SPLIT_MOVE
        }
        for (uint32_t i = t0; i < t1; i++)
            if (split_strs(w, rows[i], lens[i], i, min_seq, max_seq)) return STRM_ERR_NOMEM;
    }
    for (int k = 0; k < nf; k++) {
        w->fmin[fcols[k]] = lo[k];
        w->fmax[fcols[k]] = hi[k];
    }
    /* the copied planes' offsets made pointers, now that their buffers stay put */
    for (int k = 0; k < ARIEL_ROW_NSTR; k++) {
        if (w->plane[k] < 0 || !plane_copied(k)) continue;
        struct strm_str *d = &w->strs[(size_t)w->plane[k] * w->strs_rows];
        const char *base = w->sbuf[k];
        for (uint32_t i = 0; i < n; i++)
            d[i].p = base + (uintptr_t)d[i].p;
    }
    return 0;
}

static bool str_eq(struct strm_str a, struct strm_str b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

/* The narrowest of 1, 2, 4, 8 bytes that holds max (max >= 0). */
static int narrow_width(int64_t max)
{
    uint64_t m = (uint64_t)max;
    return m <= 0xff ? 1 : m <= 0xffff ? 2 : m <= 0xffffffffu ? 4 : 8;
}

/* n little-endian unsigned values from width `from` to width `to` (either may be the smaller). */
static void narrow_copy(uint8_t *dst, int to, const uint8_t *src, int from, uint32_t n)
{
#define NARROW(TD, TS)                                                                             \
    for (uint32_t i = 0; i < n; i++) {                                                             \
        TS v;                                                                                      \
        memcpy(&v, src + (size_t)i * sizeof(TS), sizeof(TS));                                      \
        TD d = (TD)v;                                                                              \
        memcpy(dst + (size_t)i * sizeof(TD), &d, sizeof(TD));                                      \
    }                                                                                              \
    return;
    switch (from * 16 + to) {
    case 8 * 16 + 1:
        NARROW(uint8_t, uint64_t)
    case 8 * 16 + 2:
        NARROW(uint16_t, uint64_t)
    case 8 * 16 + 4:
        NARROW(uint32_t, uint64_t)
    case 4 * 16 + 1:
        NARROW(uint8_t, uint32_t)
    case 4 * 16 + 2:
        NARROW(uint16_t, uint32_t)
    case 2 * 16 + 1:
        NARROW(uint8_t, uint16_t)
    case 1 * 16 + 8:
        NARROW(uint64_t, uint8_t)
    case 2 * 16 + 8:
        NARROW(uint64_t, uint16_t)
    case 4 * 16 + 8:
        NARROW(uint64_t, uint32_t)
    case 1 * 16 + 4:
        NARROW(uint32_t, uint8_t)
    case 2 * 16 + 4:
        NARROW(uint32_t, uint16_t)
    case 1 * 16 + 2:
        NARROW(uint16_t, uint8_t)
    default:
        break;
    }
#undef NARROW
}

/* Every value IPv4-mapped or null, and none 0.0.0.0 (the IPv4 encoding writes null as 0). */
static bool ipv4_only(const uint8_t *fx, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *ip = fx + (size_t)i * 16;
        uint64_t hi, lo;
        memcpy(&hi, ip, 8);
        memcpy(&lo, ip + 8, 8);
        if (hi == 0 && lo == 0) continue; /* null */
        /* ::ffff:a.b.c.d with a.b.c.d not 0.0.0.0 (bytes 8-15 read as a little-endian word) */
        if (hi != 0 || (uint32_t)lo != 0xffff0000u || (lo >> 32) == 0) return false;
    }
    return true;
}

static int encode_blocked(struct ariel_seg_writer *w, size_t at, uint32_t n, const uint8_t *lens,
                          size_t wr, const uint8_t *data, size_t total, struct ariel_seg_col *dc,
                          uint32_t R, const void *cdict, bool stats);

/*
 * The payload dictionary in zstd's two forms, and which one the writer keeps.
 *
 * Copied: the level's parameters for the dictionary's size (a table of 2^14 entries at
 * level 1), copied into the context for each block. Attached: a table of
 * 2^PAYLOAD_DICT_HASHLOG entries, used in place (ZSTD_dictForceAttach; copying that much per
 * block would cost more than it saves). 2^14 entries keep about one in sixteen of a 256 KiB
 * dictionary's positions. When the dictionary holds the column's templates, the matches the
 * small table loses are long ones, and the big table is both faster and smaller: on the DSM
 * mix's payloads (128 KiB blocks, level 1, a dictionary trained on other lines) 8.2x at 750
 * MB/s copied, 10.5x at 840 MB/s attached. When it holds less of them, zstd's two-table
 * search in place only costs: the bench/store mix gives 7.86x at 778 MB/s copied and 7.74x
 * at 686 MB/s attached. So the writer compresses a sample of the segment's payloads both
 * ways and keeps the attached form only when it is PAYLOAD_ATTACH_GAIN percent smaller.
 */
#define PAYLOAD_DICT_HASHLOG 16u
#define PAYLOAD_ATTACH_GAIN 5u
#define PAYLOAD_TRY_BLOCKS 4u

static ZSTD_CDict *payload_cdict_attached(const void *d, size_t dl, int level, size_t block)
{
    ZSTD_compressionParameters cp = ZSTD_getCParams(level, block, dl);
    if (cp.hashLog < PAYLOAD_DICT_HASHLOG) cp.hashLog = PAYLOAD_DICT_HASHLOG;
    return ZSTD_createCDict_advanced(d, dl, ZSTD_dlm_byCopy, ZSTD_dct_auto, cp, ZSTD_defaultCMem);
}

static size_t compress_inlen(struct ariel_seg_writer *w, uint8_t *dst, size_t cap,
                             const uint8_t *lens, size_t ll, const uint8_t *bytes, size_t bl,
                             const void *cdict, bool attach);

/* The compressed size of up to PAYLOAD_TRY_BLOCKS blocks from the middle of the payload
 * bytes (raw, len) with cd in the given form; 0 when zstd fails. */
static size_t payload_try(struct ariel_seg_writer *w, const uint8_t *raw, size_t len,
                          const ZSTD_CDict *cd, bool attach, uint8_t *out, size_t cap)
{
    size_t B = w->dict_block,
           from = len > PAYLOAD_TRY_BLOCKS * B ? (len - PAYLOAD_TRY_BLOCKS * B) / 2 : 0;
    size_t total = 0;
    for (size_t o = from; o < len && o < from + PAYLOAD_TRY_BLOCKS * B; o += B) {
        size_t bl = len - o < B ? len - o : B;
        size_t r = compress_inlen(w, out, cap, NULL, 0, raw + o, bl, cd, attach);
        if (ZSTD_isError(r)) return 0;
        total += r;
    }
    return total;
}

/* The dictionary d (dl bytes) in the form that suits this segment's payload bytes (raw,
 * len) better, *attach telling which; NULL when zstd cannot make it. */
static ZSTD_CDict *payload_cdict(struct ariel_seg_writer *w, const void *d, size_t dl,
                                 const uint8_t *raw, size_t len, bool *attach)
{
    if (w->dict_form == ARIEL_DICT_FORM_COPIED || w->dict_form == ARIEL_DICT_FORM_IN_PLACE) {
        *attach = w->dict_form == ARIEL_DICT_FORM_IN_PLACE;
        return *attach ? payload_cdict_attached(d, dl, w->level, w->dict_block)
                       : ZSTD_createCDict(d, dl, w->level);
    }
    ZSTD_CDict *copied = ZSTD_createCDict(d, dl, w->level);
    ZSTD_CDict *attached = copied ? payload_cdict_attached(d, dl, w->level, w->dict_block) : NULL;
    size_t cap = ZSTD_compressBound(w->dict_block);
    uint8_t *out = attached ? malloc(cap) : NULL;
    size_t sc = out ? payload_try(w, raw, len, copied, false, out, cap) : 0;
    size_t sa = sc ? payload_try(w, raw, len, attached, true, out, cap) : 0;
    free(out);
    *attach = sa && sa * 100 <= sc * (100 - PAYLOAD_ATTACH_GAIN);
    LOG_DEBUG(ARIEL_COMP,
              "payload dictionary: a sample of %zu bytes gave %zu copied, %zu in place: %s", len,
              sc, sa, *attach ? "in place" : "copied");
    if (*attach) {
        ZSTD_freeCDict(copied);
        return attached;
    }
    ZSTD_freeCDict(attached);
    return copied;
}

/*
 * Whether the payload of the segment being written (n rows) gets the dictionary: trains one
 * from its payloads when there is none yet or the current one has served ARIEL_DICT_RETRAIN
 * segments; a failed training is retried after ten minutes (the old one, if any, stays).
 */
static bool payload_dict_ready(struct ariel_seg_writer *w, uint32_t n, const uint8_t *raw,
                               size_t len)
{
    if (!w->payload_dict || !w->root) return false;
    if (w->dict_borrowed) return w->cdict != NULL;
    if (w->cdict && (w->dict_segments < ARIEL_DICT_RETRAIN || w->dict_frozen)) return true;
    if (strm_mono_ms() < w->dict_retry_ms) return w->cdict != NULL;
    uint32_t step = n / 20000 + 1, m = 0;
    struct strm_str *smp = malloc(sizeof *smp * (n / step + 1));
    uint8_t *d = NULL;
    size_t dl = 0;
    uint32_t id = 0;
    int rc = STRM_ERR_NOMEM;
    if (smp) {
        for (uint32_t i = 0; i < n; i += step)
            smp[m++] = row_str(w, i, ARIEL_RS_PAYLOAD, NULL);
        rc = ariel_dict_train(w->root, smp, m, ARIEL_DICT_BYTES, &d, &dl, &id);
        free(smp);
    }
    bool attach = false;
    ZSTD_CDict *cd = rc == 0 ? payload_cdict(w, d, dl, raw, len, &attach) : NULL;
    free(d);
    if (!cd) {
        w->dict_retry_ms = strm_mono_ms() + 600000;
        return w->cdict != NULL;
    }
    ZSTD_freeCDict(w->cdict);
    w->cdict = cd;
    w->dict_attach = attach;
    w->dict_id = id;
    w->dict_segments = 0;
    return true;
}

/*
 * A string of at most 16 bytes as two words that hold all of its bytes (loads that overlap,
 * none outside the string), so that two of one length are equal exactly when their words
 * are: the dictionary coder compares and hashes those instead of calling memcmp and XXH3
 * for every row (user, host and process names, message ids are that short).
 */
struct short_key {
    uint64_t lo, hi;
};

static inline struct short_key short_key(const char *p, size_t len)
{
    struct short_key k = {0, 0};
    uint32_t a, b;
    if (len >= 8) {
        memcpy(&k.lo, p, 8);
        memcpy(&k.hi, p + len - 8, 8);
    } else if (len >= 4) {
        memcpy(&a, p, 4);
        memcpy(&b, p + len - 4, 4);
        k.lo = (uint64_t)a | (uint64_t)b << 32;
    } else if (len) {
        k.lo = (uint64_t)(uint8_t)p[0] | (uint64_t)(uint8_t)p[len / 2] << 8 |
               (uint64_t)(uint8_t)p[len - 1] << 16;
    }
    return k;
}

static inline size_t short_hash(struct short_key k, size_t len)
{
    return (size_t)tok_mix(k.lo ^ tok_mix(k.hi ^ (uint64_t)len));
}

#define STRDICT_PROBE_ROWS 4096u

/*
 * String column k of the n rows as a dictionary (ARIEL_ENC_STRDICT) into w->raw: 1 when it
 * pays (at most 65535 distinct values and n / 4, and the dictionary plus the codes smaller
 * than the lengths plus the bytes), 0 when not (nothing written), or STRM_ERR_NOMEM. Columns such
 * as the user, host and program names repeat a few values: zstd then gets a fraction of the bytes
 * (it decompresses that much faster), and a reader compares a value once per distinct value, not
 * once per row.
 */
static int encode_strdict(struct ariel_seg_writer *w, int k, uint32_t n, size_t total,
                          size_t *rawlen)
{
    size_t plain = (size_t)n * 4 + total, limit = n / 4 < 65535 ? n / 4 : 65535;
    if (n < 64 || limit < 2) return 0;
    size_t nslots = 64;
    while (nslots < limit * 2)
        nslots *= 2;
    if (w->dslotcap < nslots) {
        uint32_t *sl = realloc(w->dslot, nslots * sizeof *sl);
        struct strm_str *dv = realloc(w->dvals, nslots / 2 * sizeof *dv);
        struct short_key *dk = realloc(w->dkeys, nslots / 2 * sizeof *dk);
        if (sl) w->dslot = sl;
        if (dv) w->dvals = dv;
        if (dk) w->dkeys = dk;
        if (!sl || !dv || !dk) return STRM_ERR_NOMEM;
        w->dslotcap = nslots;
    }
    if (w->dcodecap < n) {
        uint16_t *dc = realloc(w->dcodes, (size_t)n * sizeof *dc);
        if (!dc) return STRM_ERR_NOMEM;
        w->dcodes = dc;
        w->dcodecap = n;
    }
    memset(w->dslot, 0, nslots * sizeof *w->dslot);
    size_t nd = 0, dbytes = 0, mask = nslots - 1;
    struct strm_str prev = {NULL, 0};
    struct short_key prevk = {0, 0}, vk = {0, 0};
    uint16_t prev_code = 0;
    for (uint32_t i = 0; i < n; i++) {
        /* Most rows so far brought a new value (payloads, properties): at that pace the
         * dictionary would pass its limit; stop before hashing the rest. */
        if (i == STRDICT_PROBE_ROWS && n >= 4 * STRDICT_PROBE_ROWS && nd > i / 2) return 0;
        struct strm_str v = row_str(w, i, k, NULL);
        bool sh = v.len <= 16;
        size_t h;
        if (sh) {
            vk = short_key(v.p, v.len);
            if (i && v.len == prev.len && vk.lo == prevk.lo && vk.hi == prevk.hi) {
                w->dcodes[i] = prev_code; /* runs are common: the same sender, the same user */
                continue;
            }
            h = short_hash(vk, v.len) & mask;
        } else {
            if (i && v.len == prev.len && (v.p == prev.p || memcmp(v.p, prev.p, v.len) == 0)) {
                w->dcodes[i] = prev_code;
                continue;
            }
            h = (size_t)XXH3_64bits(v.p, v.len) & mask;
        }
        for (;;) {
            uint32_t e = w->dslot[h];
            if (!e) {
                if (nd == limit) return 0; /* too many distinct values */
                w->dvals[nd] = v;
                w->dkeys[nd] = vk;
                w->dslot[h] = (uint32_t)++nd;
                dbytes += v.len;
                prev_code = (uint16_t)(nd - 1);
                break;
            }
            struct strm_str d = w->dvals[e - 1];
            if (d.len == v.len && (sh ? w->dkeys[e - 1].lo == vk.lo && w->dkeys[e - 1].hi == vk.hi
                                      : memcmp(d.p, v.p, v.len) == 0)) {
                prev_code = (uint16_t)(e - 1);
                break;
            }
            h = (h + 1) & mask;
        }
        w->dcodes[i] = prev_code;
        prev = v;
        prevk = vk;
    }
    size_t cw = nd <= 256 ? 1 : 2, size = 8 + nd * 4 + dbytes + (size_t)n * cw;
    /* Two-byte codes of many short values (process ids) compress worse than the values:
     * those must halve the raw size to be chosen. */
    if (cw == 2 ? size * 2 > plain : size >= plain) return 0;
    if (ariel_grow(&w->raw, &w->rawcap, size)) return STRM_ERR_NOMEM;
    uint8_t *p = w->raw;
    ariel_put32(p, (uint32_t)nd);
    ariel_put32(p + 4, (uint32_t)cw);
    p += 8;
    for (size_t d = 0; d < nd; d++, p += 4)
        ariel_put32(p, w->dvals[d].len);
    for (size_t d = 0; d < nd; d++)
        if (w->dvals[d].len) {
            memcpy(p, w->dvals[d].p, w->dvals[d].len);
            p += w->dvals[d].len;
        }
    if (cw == 1)
        for (uint32_t i = 0; i < n; i++)
            *p++ = (uint8_t)w->dcodes[i];
    else
        for (uint32_t i = 0; i < n; i++, p += 2)
            memcpy(p, &w->dcodes[i], 2); /* little-endian host (row.c) */
    *rawlen = size;
    return 1;
}

/*
 * Encodes column col of the rows into w->raw (*rawlen bytes) and picks the encoding; fills
 * min/max for numeric columns.
 */
static int encode_col(struct ariel_seg_writer *w, int col, const uint8_t *const *rows,
                      const uint32_t *lens, uint32_t n, struct ariel_seg_col *dc, size_t *rawlen)
{
    const struct strm_col_def *def = &strm_event_cols[col];
    int width = col_width(col);
    const uint8_t *fx = width ? w->fixed + w->colstart[col] : NULL;
    bool is_const = true;

    dc->id = (uint16_t)col;
    dc->type = (uint8_t)def->type;
    if (def->type == STRM_T_TIME || def->type == STRM_T_INT) {
        int64_t mn = w->fmin[col], mx = w->fmax[col]; /* taken by split_rows */
        dc->min = mn;
        dc->max = mx;
        is_const = mn == mx;
    } else if (width == 16) {
        uint64_t a0, a1;
        memcpy(&a0, fx, 8);
        memcpy(&a1, fx + 8, 8);
        for (uint32_t i = 1; i < n && is_const; i++) {
            uint64_t b0, b1;
            memcpy(&b0, fx + (size_t)i * 16, 8);
            memcpy(&b1, fx + (size_t)i * 16 + 8, 8);
            is_const = a0 == b0 && a1 == b1;
        }
    } else if (width) {
        for (uint32_t i = 1; i < n && is_const; i++)
            is_const = memcmp(fx + (size_t)i * (size_t)width, fx, (size_t)width) == 0;
    }

    if (width) {
        if (is_const) {
            if (ariel_grow(&w->raw, &w->rawcap, (size_t)width)) return STRM_ERR_NOMEM;
            memcpy(w->raw, fx, (size_t)width);
            *rawlen = (size_t)width;
            dc->enc = ARIEL_ENC_CONST;
        } else if (def->type == STRM_T_TIME) {
            size_t pos = 0, K = (n + ARIEL_TIME_CHUNK - 1) / ARIEL_TIME_CHUNK;
            int64_t prev = 0;
            /* the checkpoints wait in their own buffer until the varints' end is known */
            if (ariel_grow(&w->raw, &w->rawcap, (size_t)n * 10 + K * 16 + 8) ||
                ariel_grow(&w->ckpt, &w->ckptcap, K * 16))
                return STRM_ERR_NOMEM;
            for (uint32_t i = 0; i < n; i++) {
                if (i % ARIEL_TIME_CHUNK == 0) {
                    ariel_put64(w->ckpt + (size_t)(i / ARIEL_TIME_CHUNK) * 16, pos);
                    ariel_put64(w->ckpt + (size_t)(i / ARIEL_TIME_CHUNK) * 16 + 8, (uint64_t)prev);
                }
                int64_t v = (int64_t)ariel_get64(fx + (size_t)i * 8);
                uint64_t d = (uint64_t)v - (uint64_t)prev;
                pos += ariel_varint_put(w->raw + pos, (d << 1) ^ (uint64_t)((int64_t)d >> 63));
                prev = v;
            }
            memcpy(w->raw + pos, w->ckpt, K * 16);
            pos += K * 16;
            ariel_put32(w->raw + pos, (uint32_t)K);
            ariel_put32(w->raw + pos + 4, ARIEL_TIME_CHUNK);
            *rawlen = pos + 8;
            dc->enc = ARIEL_ENC_DELTA;
            dc->flags |= ARIEL_COLF_CKPT;
        } else if (def->type == STRM_T_INT && width > 1 && dc->min >= 0 &&
                   narrow_width(dc->max) < width) {
            /* small values in a wide column: less for zstd to chew and to store */
            int nw = narrow_width(dc->max);
            if (ariel_grow(&w->raw, &w->rawcap, (size_t)n * (size_t)nw)) return STRM_ERR_NOMEM;
            narrow_copy(w->raw, nw, fx, width, n);
            *rawlen = (size_t)n * (size_t)nw;
            dc->enc = ARIEL_ENC_NARROW;
        } else if (def->type == STRM_T_IP && ipv4_only(fx, n)) {
            if (ariel_grow(&w->raw, &w->rawcap, (size_t)n * 4)) return STRM_ERR_NOMEM;
            for (uint32_t i = 0; i < n; i++)
                memcpy(w->raw + (size_t)i * 4, fx + (size_t)i * 16 + 12, 4);
            *rawlen = (size_t)n * 4;
            dc->enc = ARIEL_ENC_IPV4;
        } else {
            if (ariel_grow(&w->raw, &w->rawcap, (size_t)n * (size_t)width)) return STRM_ERR_NOMEM;
            memcpy(w->raw, fx, (size_t)n * (size_t)width);
            *rawlen = (size_t)n * (size_t)width;
            dc->enc = ARIEL_ENC_FIXED;
        }
        return 0;
    }

    /* strings */
    int k = ariel_row_str_index(col);
    struct strm_str first = row_str(w, 0, k, NULL);
    size_t total = 0;
    bool any_slice = false;
    for (uint32_t i = 0; i < n; i++) {
        bool sl;
        struct strm_str s = row_str(w, i, k, &sl);
        any_slice |= sl;
        if (!sl) total += s.len;
        if (is_const && !str_eq(s, first)) is_const = false;
    }
    dc->min = dc->max = 0;
    if (is_const) {
        if (ariel_grow(&w->raw, &w->rawcap, first.len + 1)) return STRM_ERR_NOMEM;
        if (first.len) memcpy(w->raw, first.p, first.len);
        *rawlen = first.len;
        dc->enc = ARIEL_ENC_CONST;
        return 0;
    }
    if (!any_slice) {
        int rc = encode_strdict(w, k, n, total, rawlen);
        if (rc < 0) return rc;
        if (rc == 1) {
            dc->enc = ARIEL_ENC_STRDICT;
            return 0;
        }
    }
    size_t head = (size_t)n * (any_slice ? 8 : 4), pos = head;
    if (ariel_grow(&w->raw, &w->rawcap, head + total)) return STRM_ERR_NOMEM;
    for (uint32_t i = 0; i < n; i++) {
        bool sl;
        struct strm_str s = row_str(w, i, k, &sl);
        if (any_slice) {
            uint32_t o = UINT32_MAX;
            if (sl) {
                struct strm_str pl = row_str(w, i, ARIEL_RS_PAYLOAD, NULL);
                o = (uint32_t)(s.p - pl.p);
            }
            ariel_put32(w->raw + (size_t)i * 8, o);
            ariel_put32(w->raw + (size_t)i * 8 + 4, s.len);
        } else {
            ariel_put32(w->raw + (size_t)i * 4, s.len);
        }
        if (!sl && s.len) {
            memcpy(w->raw + pos, s.p, s.len);
            pos += s.len;
        }
    }
    *rawlen = pos;
    dc->enc = any_slice ? ARIEL_ENC_MSGSLICE : ARIEL_ENC_STR;
    if (dc->enc == ARIEL_ENC_STR && pos - head >= w->strblock_min && n > w->strblock_rows) {
        dc->enc = ARIEL_ENC_STRBLOCKS;
        uint32_t R = w->strblock_rows;
        const void *cd = NULL;
        if (col == STRM_COL_PAYLOAD && payload_dict_ready(w, n, w->raw + head, pos - head)) {
            /* blocks of about dict_block bytes: a needle decompresses that much per row */
            size_t r = w->dict_block / ((pos - head) / n + 1);
            R = r < 16 ? 16 : r < w->strblock_rows ? (uint32_t)r : w->strblock_rows;
            cd = w->cdict;
            dc->flags |= ARIEL_COLF_DICT;
            dc->reserved = w->dict_id;
            w->dict_segments++;
        }
        return encode_blocked(w, 0, n, w->raw, 0, w->raw + head, pos - head, dc, R, cd, false);
    }
    return 0;
}

/* One ARIEL_COLF_INLEN block: a zstd frame of the rows' lengths (ll bytes) and then their
 * bytes (bl), streamed in two pieces, with the dictionary cdict when not NULL. With ll 0, a
 * plain block's frame. */
static size_t inlen_frame(ZSTD_CCtx *z, uint8_t *dst, size_t cap, const uint8_t *lens, size_t ll,
                          const uint8_t *bytes, size_t bl)
{
    size_t r = ZSTD_CCtx_setPledgedSrcSize(z, ll + bl);
    if (ZSTD_isError(r)) return r;
    ZSTD_outBuffer out = {dst, cap, 0};
    ZSTD_inBuffer in = {lens, ll, 0};
    while (in.pos < in.size)
        if (ZSTD_isError(r = ZSTD_compressStream2(z, &out, &in, ZSTD_e_continue))) return r;
    in = (ZSTD_inBuffer){bytes, bl, 0};
    do {
        if (ZSTD_isError(r = ZSTD_compressStream2(z, &out, &in, ZSTD_e_end))) return r;
        if (r && out.pos == out.size) return (size_t)-1; /* an error code: no room */
    } while (r != 0);
    return out.pos;
}

/* inlen_frame in w's block context, with cdict (when not NULL) in place (attach) or copied. */
static size_t compress_inlen(struct ariel_seg_writer *w, uint8_t *dst, size_t cap,
                             const uint8_t *lens, size_t ll, const uint8_t *bytes, size_t bl,
                             const void *cdict, bool attach)
{
    ZSTD_CCtx *z = w->cctx_block;
    ZSTD_CCtx_reset(z, ZSTD_reset_session_only);
    size_t r = ZSTD_CCtx_setParameter(
        z, ZSTD_c_forceAttachDict, cdict && attach ? ZSTD_dictForceAttach : ZSTD_dictDefaultAttach);
    if (!ZSTD_isError(r)) r = ZSTD_CCtx_refCDict(z, cdict);
    if (!ZSTD_isError(r)) r = inlen_frame(z, dst, cap, lens, ll, bytes, bl);
    /* the dictionary is sticky: the context's other frames (ZSTD_compress2) go without */
    if (cdict) {
        ZSTD_CCtx_reset(z, ZSTD_reset_session_only);
        ZSTD_CCtx_refCDict(z, NULL);
    }
    return r;
}

/* After RAW_PROBE_AFTER blocks in a row stored raw, encode_blocked tries zstd on only one
 * block in RAW_PROBE_EVERY, until one of them compresses. */
#define RAW_PROBE_AFTER 4u
#define RAW_PROBE_EVERY 8u

/*
 * A column in blocks of R rows (ARIEL_ENC_STRBLOCKS, or ARIEL_COLF_BLOCKS for fixed-width
 * values), so that a search reads and decompresses only the blocks of the rows it keeps:
 *
 *   u32 R, u32 B, u32 P, B x u32 block size, B x u64 XXH3 of each block,
 *   P bytes of prelude (strings: zstd of the n u32 lengths; ARIEL_COLF_BSTATS integers:
 *   B per-block min/max/nulls, uncompressed; else none), u64 XXH3 of all the bytes above (the
 * head), then the B blocks (zstd of R rows' bytes; ARIEL_COLF_INLEN: of their u32 lengths, then
 * bytes).
 *
 * A reader reads the head, checks it, and reads and checks each block when it needs it; the
 * directory's checksum still covers the whole column (fsck reads everything).
 * lens: the n lengths (strings) or NULL (fixed width: wr bytes per row); data: the bytes.
 */
static int encode_blocked(struct ariel_seg_writer *w, size_t at, uint32_t n, const uint8_t *lens,
                          size_t wr, const uint8_t *data, size_t total, struct ariel_seg_col *dc,
                          uint32_t R, const void *cdict, bool stats)
{
    if (!R) R = lens ? w->strblock_rows : w->fixblock_rows;
    uint32_t nb = (n + R - 1) / R;
    size_t table = 12 + (size_t)nb * 12, lsize = lens ? (size_t)n * 4 : 0;
    size_t bound = table + (lens ? ZSTD_compressBound(lsize) : 0) + 8 + ZSTD_compressBound(total) +
                   (size_t)nb * 64 + (stats ? (size_t)nb * ARIEL_BSTAT_SIZE : 0);
    if (ariel_grow(&w->comp, &w->compcap, at + bound)) return STRM_ERR_NOMEM;
    uint8_t *out = w->comp + at; /* after the at bytes already there */
    size_t pos = table, P = 0;
    bool inlen = lens && R >= ARIEL_INLEN_MIN_ROWS;
    if (stats) { /* per-block min, max and nulls of an integer column: the prelude */
        for (uint32_t b = 0; b < nb; b++) {
            uint32_t from = b * R, to = from + R < n ? from + R : n, zeros = 0;
            int64_t mn = INT64_MAX, mx = INT64_MIN;
            block_stats(data, wr, from, to, &mn, &mx, &zeros);
            uint8_t *e = out + pos + (size_t)b * ARIEL_BSTAT_SIZE;
            ariel_put64(e, (uint64_t)mn);
            ariel_put64(e + 8, (uint64_t)mx);
            ariel_put32(e + 16, zeros);
        }
        P = (size_t)nb * ARIEL_BSTAT_SIZE;
        pos += P;
        dc->flags |= ARIEL_COLF_BSTATS;
    }
    if (inlen) dc->flags |= ARIEL_COLF_INLEN;
    if (lens && !inlen) {
        P = ZSTD_compress2(w->cctx, out + pos, w->compcap - at - pos, lens, lsize);
        if (ZSTD_isError(P)) return STRM_ERR_NOMEM;
        pos += P;
    }
    size_t head = pos + 8;
    pos = head;
    size_t boff = 0;
    bool may_raw = !lens && !cdict;
    uint32_t raw_run = 0; /* blocks stored raw in a row */
    for (uint32_t b = 0; b < nb; b++) {
        uint32_t from = b * R, to = from + R < n ? from + R : n;
        size_t blen = 0;
        if (lens) {
            for (uint32_t i = from; i < to; i++)
                blen += ariel_get32(lens + (size_t)i * 4);
        } else {
            blen = (size_t)(to - from) * wr;
        }
        size_t cs;
        bool untried =
            may_raw && raw_run >= RAW_PROBE_AFTER && (raw_run - RAW_PROBE_AFTER) % RAW_PROBE_EVERY;
        if (untried) {
            /* the last blocks would not halve: this one is stored raw untried (a flow
             * collector's writer spent a third of its time compressing such columns) */
            memcpy(out + pos, data + boff, blen);
            cs = blen;
            raw_run++;
        } else if (inlen || cdict) { /* (a dictionary goes through the context: attached) */
            cs = compress_inlen(
                w, out + pos, w->compcap - at - pos, inlen ? lens + (size_t)from * 4 : NULL,
                inlen ? (size_t)(to - from) * 4 : 0, data + boff, blen, cdict, w->dict_attach);
        } else {
            cs = ZSTD_compress2(w->cctx_block, out + pos, w->compcap - at - pos, data + boff, blen);
        }
        if (!untried && ZSTD_isError(cs)) return STRM_ERR_NOMEM;
        if (!untried && may_raw && cs > blen / ARIEL_RAWBLK_GAIN) {
            /* zstd saves less than half: the values as they are (addresses, ports), which a
             * needle search reads without decoding 16 KiB per row it keeps */
            memcpy(out + pos, data + boff, blen);
            cs = blen;
            raw_run++;
        } else if (!untried) {
            raw_run = 0;
        }
        ariel_put32(out + 12 + (size_t)b * 4, (uint32_t)cs);
        ariel_put64(out + 12 + (size_t)nb * 4 + (size_t)b * 8, XXH3_64bits(out + pos, cs));
        pos += cs;
        boff += blen;
    }
    if (!lens && !cdict) dc->flags |= ARIEL_COLF_RAWBLK;
    ariel_put32(out, R);
    ariel_put32(out + 4, nb);
    ariel_put32(out + 8, (uint32_t)P);
    ariel_put64(out + head - 8, XXH3_64bits(out, head - 8));
    dc->csize = at + pos;
    return 0;
}

/* A blob that is not a column (an index, the replaced ids) as the directory entry dc (id,
 * encoding), written at *off. The indexes have per-block filters: ARIEL_ENC_TOKBLOOM. */
static int write_index(struct ariel_seg_col *dc, int fd, int id, int enc, const void *blob,
                       size_t len, uint64_t *off)
{
    memset(dc, 0, sizeof *dc);
    dc->id = (uint16_t)id;
    dc->type = ARIEL_IDX_TYPE;
    dc->enc = (uint8_t)enc;
    dc->rawsize = dc->csize = len;
    dc->offset = *off;
    dc->hash = XXH3_64bits(blob, len);
    if (ariel_write_all(fd, blob, len, *off) != 0) return -1;
    *off += len;
    return 0;
}

static void dirent_put(uint8_t *p, const struct ariel_seg_col *c)
{
    memset(p, 0, ARIEL_SEG_DIRENT);
    ariel_put16(p, c->id);
    p[2] = c->type;
    p[3] = c->enc;
    ariel_put32(p + 4, c->flags);
    ariel_put64(p + 8, c->offset);
    ariel_put64(p + 16, c->csize);
    ariel_put64(p + 24, c->rawsize);
    ariel_put64(p + 32, c->hash);
    ariel_put64(p + 40, (uint64_t)c->min);
    ariel_put64(p + 48, (uint64_t)c->max);
    ariel_put64(p + 56, c->reserved);
}

/*
 * A dictionary-coded column (w->raw, rawlen bytes as ARIEL_ENC_STRDICT) with its codes in
 * blocks (ARIEL_COLF_BLOCKS), so that a search reads the dictionary and only the codes of the
 * blocks it keeps: u32 c, c bytes of zstd(u32 d, u32 w, d x u32 length, the values' bytes),
 * u64 XXH3 of those c bytes, then the codes as a blocked fixed-width column of w bytes a row
 * (encode_blocked).
 */
static int encode_strdict_blocked(struct ariel_seg_writer *w, uint32_t n, size_t rawlen,
                                  struct ariel_seg_col *dc)
{
    size_t cw = ariel_get32(w->raw + 4), dlen = rawlen - (size_t)n * cw;
    if (ariel_grow(&w->comp, &w->compcap, 4 + ZSTD_compressBound(dlen) + 8)) return STRM_ERR_NOMEM;
    size_t cs = ZSTD_compress2(w->cctx, w->comp + 4, w->compcap - 4 - 8, w->raw, dlen);
    if (ZSTD_isError(cs)) return STRM_ERR_NOMEM;
    ariel_put32(w->comp, (uint32_t)cs);
    ariel_put64(w->comp + 4 + cs, XXH3_64bits(w->comp + 4, cs));
    dc->flags |= ARIEL_COLF_BLOCKS;
    return encode_blocked(w, 4 + cs + 8, n, NULL, cw, w->raw + dlen, (size_t)n * cw, dc, 0, NULL,
                          false);
}

int ariel_seg_write(struct ariel_seg_writer *w, const char *root, const struct ariel_seg_meta *m,
                    const uint8_t *const *rows, const uint32_t *lens, uint32_t n,
                    struct ariel_segment **out)
{
    char dir[PATH_MAX], path[PATH_MAX + 64], tmp[PATH_MAX + 80], err[512];
    struct ariel_seg_col cols[STRM_COL__COUNT + ARIEL_IDX_MAX + 1];
    uint8_t head[ARIEL_SEG_HDR + (STRM_COL__COUNT + ARIEL_IDX_MAX + 1) * ARIEL_SEG_DIRENT];
    int colids[STRM_COL__COUNT], ncols = 0, nidx = 0, idxcols[ARIEL_IDX_MAX];
    size_t headlen;
    uint64_t off, min_seq = UINT64_MAX, max_seq = 0, hash;
    int64_t min_time, max_time, secs;
    struct tm tm;
    int fd = -1, rc = STRM_ERR_IO;

    if (n == 0) return STRM_ERR_INVAL;
    w->root = root;
    min_time = ariel_row_starttime(rows[0]);
    max_time = ariel_row_starttime(rows[n - 1]);
    secs = min_time >= 0 ? min_time / 1000 : -((-min_time + 999) / 1000);
    time_t tt = (time_t)secs;
    if (!gmtime_r(&tt, &tm)) memset(&tm, 0, sizeof tm);
    for (int c = 0; c < STRM_COL__COUNT; c++) {
        if (!(w->colset & 1ull << c)) continue;
        colids[ncols++] = c;
        if (ariel_col_bloomed(c) && nidx < ARIEL_IDX_MAX) idxcols[nidx++] = c;
    }
    snprintf(dir, sizeof dir, "%s/%s/%04d/%02d/%02d/%02d", root, w->tabname, tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour);
    snprintf(path, sizeof path, "%s/seg-%016" PRIx64 ".seg", dir, m->id);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    if (ariel_mkdirs(dir) != 0) {
        LOG_ERROR(ARIEL_COMP, "cannot create directory %s: %s", dir, strerror(errno));
        return STRM_ERR_IO;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) goto io_fail;

    if ((rc = split_rows(w, rows, lens, n, &min_seq, &max_seq)) != 0) goto fail;
    if (m->nreplaces) {
        min_seq = m->min_seq;
        max_seq = m->max_seq;
    }
    /* an index only for a column with a value: the directory has no empty entries, so the
     * column data starts right after it */
    for (int x = 0; x < nidx;) {
        if (col_has_value(w, idxcols[x], n)) {
            x++;
            continue;
        }
        memmove(&idxcols[x], &idxcols[x + 1], (size_t)(nidx - x - 1) * sizeof idxcols[0]);
        nidx--;
    }
    /* the payload's token index, when some row has a payload */
    bool tokidx =
        w->token_index && w->plane[ARIEL_RS_PAYLOAD] >= 0 && col_has_value(w, STRM_COL_PAYLOAD, n);
    headlen =
        ARIEL_SEG_HDR + (size_t)(ncols + nidx + tokidx + (m->nreplaces > 0)) * ARIEL_SEG_DIRENT;
    off = headlen;
    for (int ci = 0; ci < ncols; ci++) {
        int c = ci; /* index into cols[]; the column id is colids[ci] */
        size_t rawlen, bound;
        const uint8_t *data;
        memset(&cols[c], 0, sizeof cols[c]);
        if ((rc = encode_col(w, colids[ci], rows, lens, n, &cols[c], &rawlen)) != 0) goto fail;
        cols[c].rawsize = rawlen;
        if (cols[c].enc == ARIEL_ENC_CONST) {
            data = w->raw;
            cols[c].csize = rawlen;
        } else if (cols[c].enc == ARIEL_ENC_STRBLOCKS) {
            data = w->comp; /* compressed by encode_col, csize set */
        } else if (col_width(colids[ci]) && cols[c].enc != ARIEL_ENC_DELTA &&
                   n > w->fixblock_rows && rawlen >= w->fixblock_min) {
            cols[c].flags |= ARIEL_COLF_BLOCKS;
            /* integers (at their stored width, unsigned but for 8 bytes): per-block stats */
            bool stats = strm_event_cols[colids[ci]].type == STRM_T_INT && rawlen / n <= 8;
            if ((rc = encode_blocked(w, 0, n, NULL, rawlen / n, w->raw, rawlen, &cols[c], 0, NULL,
                                     stats)) != 0)
                goto fail;
            data = w->comp;
        } else if (cols[c].enc == ARIEL_ENC_STRDICT && n > w->fixblock_rows &&
                   (size_t)n * ariel_get32(w->raw + 4) >= w->fixblock_min) {
            if ((rc = encode_strdict_blocked(w, n, rawlen, &cols[c])) != 0) goto fail;
            data = w->comp;
        } else {
            bound = ZSTD_compressBound(rawlen);
            if (ariel_grow(&w->comp, &w->compcap, bound)) {
                rc = STRM_ERR_NOMEM;
                goto fail;
            }
            size_t cs = ZSTD_compress2(w->cctx, w->comp, w->compcap, w->raw, rawlen);
            if (ZSTD_isError(cs)) {
                LOG_ERROR(ARIEL_COMP, "segment %s: zstd: %s", tmp, ZSTD_getErrorName(cs));
                rc = STRM_ERR_NOMEM;
                goto fail;
            }
            data = w->comp;
            cols[c].csize = cs;
        }
        cols[c].offset = off;
        cols[c].hash = XXH3_64bits(data, cols[c].csize);
        rc = STRM_ERR_IO;
        if (ariel_write_all(fd, data, cols[c].csize, off) != 0) goto io_fail;
        off += cols[c].csize;
    }

    /* the Bloom indexes, as extra entries after the columns */
    int nent = ncols;
    for (int x = 0; x < nidx; x++) {
        size_t blen;
        if ((rc = bloom_build(w, idxcols[x], rows, n, &blen)) != 0) goto fail;
        if (!blen) continue;
        rc = STRM_ERR_IO;
        if (write_index(&cols[nent++], fd, ARIEL_IDX_ID(idxcols[x]), ARIEL_ENC_TOKBLOOM, w->raw,
                        blen, &off) != 0)
            goto io_fail;
    }
    if (tokidx) {
        size_t tlen;
        if ((rc = token_index_build(w, n, &tlen)) != 0) goto fail;
        rc = STRM_ERR_IO;
        if (write_index(&cols[nent++], fd, ARIEL_IDX_ID(STRM_COL_PAYLOAD), ARIEL_ENC_TOKBLOOM,
                        w->raw, tlen, &off) != 0)
            goto io_fail;
    }
    rc = STRM_ERR_IO;
    if (m->nreplaces && write_index(&cols[nent++], fd, ARIEL_REPL_ID, ARIEL_ENC_IDLIST, m->replaces,
                                    (size_t)m->nreplaces * 8, &off) != 0)
        goto io_fail;
    /* entries not used (a column without values has no index) stay out of the directory */
    headlen = ARIEL_SEG_HDR + (size_t)nent * ARIEL_SEG_DIRENT;
    memset(head, 0, headlen);
    memcpy(head, seg_magic, 8);
    ariel_put16(head + 8, ARIEL_SEG_VERSION);
    ariel_put16(head + 10, ARIEL_SEG_HDR);
    ariel_put16(head + 12, ARIEL_SEG_DIRENT);
    ariel_put16(head + 14, (uint16_t)nent);
    ariel_put64(head + 16, n);
    ariel_put64(head + 24, (uint64_t)min_time);
    ariel_put64(head + 32, (uint64_t)max_time);
    ariel_put64(head + 40, min_seq);
    ariel_put64(head + 48, max_seq);
    ariel_put64(head + 56, m->id);
    ariel_put64(head + 64, m->group_first);
    ariel_put32(head + 72, m->group_count);
    ariel_put32(head + 76, m->bucket & 0xff); /* flags: the retention bucket */
    ariel_put64(head + 80, m->seq_lo);
    ariel_put64(head + 88, m->seq_hi);
    for (int c = 0; c < nent; c++)
        dirent_put(head + ARIEL_SEG_HDR + c * ARIEL_SEG_DIRENT, &cols[c]);
    hash = XXH3_64bits(head, headlen);
    ariel_put64(head + 96, hash);
    rc = STRM_ERR_IO;
    if (ariel_write_all(fd, head, headlen, 0) != 0 || fsync(fd) != 0) goto io_fail;
    if (close(fd) != 0) {
        fd = -1;
        goto io_fail;
    }
    fd = -1;
    if (rename(tmp, path) != 0 || ariel_fsync_dir(dir) != 0) goto io_fail;
    if ((rc = ariel_seg_load(path, out, err, sizeof err)) != 0) {
        LOG_ERROR(ARIEL_COMP, "reading back new segment: %s", err);
        unlink(path);
        return rc;
    }
    return 0;

io_fail:
    LOG_ERROR(ARIEL_COMP, "cannot write segment %s: %s", tmp, strerror(errno));
    rc = STRM_ERR_IO;
fail:
    if (fd >= 0) close(fd);
    unlink(tmp);
    return rc;
}

/* ---------------------------------------------------------------- loading */

const char *ariel_enc_name(int enc)
{
    static const char *const names[ARIEL_ENC__COUNT] = {
        "unknown", "const", "fixed",     "delta",    "str",    "msgslice", "bloom",
        "narrow",  "ipv4",  "strblocks", "tokbloom", "idlist", "strdict"};
    return enc > 0 && enc < ARIEL_ENC__COUNT ? names[enc] : names[0];
}

void ariel_seg_ref(struct ariel_segment *g)
{
    atomic_fetch_add_explicit(&g->refs, 1, memory_order_relaxed);
}

void ariel_seg_unref(struct ariel_segment *g)
{
    if (!g || atomic_fetch_sub_explicit(&g->refs, 1, memory_order_acq_rel) != 1) return;
    for (int c = 0; c < STRM_COL__COUNT; c++) {
        free(atomic_load_explicit(&g->bloom[c], memory_order_relaxed));
        free(atomic_load_explicit(&g->sdict[c], memory_order_relaxed));
    }
    if (g->fd >= 0) close(g->fd);
    free(g->replaces);
    free(g->path);
    free(g->cols);
    free(g);
}

/* The ids a compacted segment replaces (ARIEL_REPL_ID), read and checked at load. */
static int load_replaces(struct ariel_segment *g, int fd, const struct ariel_seg_col *c, char *err,
                         size_t errlen)
{
    if (c->csize % 8 || c->csize / 8 > UINT32_MAX || g->replaces) {
        snprintf(err, errlen, "segment %s: bad list of replaced segments", g->path);
        return STRM_ERR_CORRUPT;
    }
    if (!(g->replaces = malloc(c->csize ? c->csize : 1))) {
        snprintf(err, errlen, "out of memory loading %s", g->path);
        return STRM_ERR_NOMEM;
    }
    if (ariel_read_all(fd, g->replaces, c->csize, c->offset) != 0 ||
        XXH3_64bits(g->replaces, c->csize) != c->hash) {
        snprintf(err, errlen, "segment %s: list of replaced segments unreadable or damaged",
                 g->path);
        return STRM_ERR_CORRUPT;
    }
    g->nreplaces = (uint32_t)(c->csize / 8);
    return 0;
}

int ariel_seg_load(const char *path, struct ariel_segment **out, char *err, size_t errlen)
{
    uint8_t hdr[ARIEL_SEG_HDR], *head = NULL;
    struct ariel_segment *g = NULL;
    struct stat st;
    int fd, rc = STRM_ERR_CORRUPT;
    uint16_t hsize, dsize, ncols;
    size_t headlen;

    *out = NULL;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) != 0) {
        snprintf(err, errlen, "cannot open segment %s: %s", path, strerror(errno));
        rc = STRM_ERR_IO;
        goto fail;
    }
    if ((uint64_t)st.st_size < ARIEL_SEG_HDR || ariel_read_all(fd, hdr, sizeof hdr, 0) != 0) {
        snprintf(err, errlen, "segment %s: shorter than its header", path);
        goto fail;
    }
    if (memcmp(hdr, seg_magic, 8) != 0) {
        snprintf(err, errlen, "segment %s: bad magic", path);
        goto fail;
    }
    if (ariel_get16(hdr + 8) != ARIEL_SEG_VERSION) {
        snprintf(err, errlen, "segment %s: format version %u, this build reads %u", path,
                 ariel_get16(hdr + 8), ARIEL_SEG_VERSION);
        goto fail;
    }
    hsize = ariel_get16(hdr + 10);
    dsize = ariel_get16(hdr + 12);
    ncols = ariel_get16(hdr + 14);
    headlen = (size_t)hsize + (size_t)dsize * ncols;
    if (hsize < ARIEL_SEG_HDR || dsize < ARIEL_SEG_DIRENT || headlen > (uint64_t)st.st_size) {
        snprintf(err, errlen, "segment %s: bad header sizes", path);
        goto fail;
    }
    if (!(head = malloc(headlen)) || !(g = calloc(1, sizeof *g)) ||
        !(g->cols = calloc(ncols ? ncols : 1, sizeof *g->cols)) || !(g->path = strdup(path))) {
        snprintf(err, errlen, "out of memory loading %s", path);
        rc = STRM_ERR_NOMEM;
        goto fail;
    }
    if (ariel_read_all(fd, head, headlen, 0) != 0) {
        snprintf(err, errlen, "cannot read segment %s: %s", path, strerror(errno));
        rc = STRM_ERR_IO;
        goto fail;
    }
    uint64_t want = ariel_get64(head + 96);
    ariel_put64(head + 96, 0);
    if (XXH3_64bits(head, headlen) != want) {
        snprintf(err, errlen, "segment %s: header checksum mismatch", path);
        goto fail;
    }
    atomic_init(&g->refs, 1);
    atomic_init(&g->bad, false);
    atomic_init(&g->counted, false);
    g->rows = ariel_get64(head + 16);
    g->min_time = (int64_t)ariel_get64(head + 24);
    g->max_time = (int64_t)ariel_get64(head + 32);
    g->min_seq = ariel_get64(head + 40);
    g->max_seq = ariel_get64(head + 48);
    g->id = ariel_get64(head + 56);
    g->group_first = ariel_get64(head + 64);
    g->group_count = ariel_get32(head + 72);
    g->bucket = ariel_get32(head + 76) & 0xff;
    g->seq_lo = ariel_get64(head + 80);
    g->seq_hi = ariel_get64(head + 88);
    g->file_size = (uint64_t)st.st_size;
    g->ncols = ncols;
    g->fd = -1;
    if (g->rows == 0 || g->rows > UINT32_MAX || g->group_count == 0 || g->id < g->group_first ||
        g->id - g->group_first >= g->group_count) {
        snprintf(err, errlen, "segment %s: inconsistent header", path);
        goto fail;
    }
    for (int c = 0; c < STRM_COL__COUNT; c++)
        g->col_index[c] = g->idx_index[c] = -1;
    for (uint32_t i = 0; i < ncols; i++) {
        const uint8_t *p = head + hsize + (size_t)i * dsize;
        struct ariel_seg_col *c = &g->cols[i];
        c->id = ariel_get16(p);
        c->type = p[2];
        c->enc = p[3];
        c->flags = ariel_get32(p + 4);
        c->offset = ariel_get64(p + 8);
        c->csize = ariel_get64(p + 16);
        c->rawsize = ariel_get64(p + 24);
        c->hash = ariel_get64(p + 32);
        c->min = (int64_t)ariel_get64(p + 40);
        c->max = (int64_t)ariel_get64(p + 48);
        c->reserved = ariel_get64(p + 56);
        if (c->offset < headlen || c->offset > g->file_size ||
            c->csize > g->file_size - c->offset) {
            snprintf(err, errlen, "segment %s: column %u lies outside the file", path, c->id);
            goto fail;
        }
        if (c->id < STRM_COL__COUNT && c->type == strm_event_cols[c->id].type)
            g->col_index[c->id] = (int)i;
        else if (c->id >= ARIEL_IDX_ID(0) && c->id < ARIEL_IDX_ID(STRM_COL__COUNT) &&
                 c->type == ARIEL_IDX_TYPE &&
                 (c->enc == ARIEL_ENC_BLOOM || c->enc == ARIEL_ENC_TOKBLOOM))
            g->idx_index[c->id - ARIEL_IDX_ID(0)] = (int)i;
        else if (c->id == ARIEL_REPL_ID && c->type == ARIEL_IDX_TYPE &&
                 c->enc == ARIEL_ENC_IDLIST) {
            int lr = load_replaces(g, fd, c, err, errlen);
            if (lr != 0) {
                rc = lr;
                goto fail;
            }
        }
    }
    if (g->col_index[STRM_COL_STARTTIME] < 0) {
        snprintf(err, errlen, "segment %s: no starttime column", path);
        goto fail;
    }
    free(head);
    g->fd = fd; /* kept: scans read through it, even after the file is unlinked */
    *out = g;
    return 0;
fail:
    if (fd >= 0) close(fd);
    free(head);
    if (g) {
        free(g->replaces);
        free(g->path);
        free(g->cols);
        free(g);
    }
    return rc;
}

/* ---------------------------------------------------------------- scanning */

struct col_state {
    const uint8_t *base; /* fixed: values (NULL: NARROW or IPV4, read through fixed_at);
                            strings: the lengths or (off,len) pairs */
    const uint8_t *raw;  /* fixed: the values as stored, wr bytes each */
    size_t stride;       /* 0 for a constant */
    const char *bytes;   /* strings: concatenated bytes */
    size_t *offs;        /* strings: start of row i's bytes (inline rows for MSGSLICE) */
    int64_t *times;      /* TIME columns, decoded */
    int64_t tconst;
    uint8_t enc;
    bool present;
    /* ARIEL_ENC_STRBLOCKS (read as ARIEL_ENC_STR: lengths and offs complete, bytes filled
     * in a block at a time by ensure_block) */
    bool blocked;
    bool rawblk; /* ARIEL_COLF_RAWBLK: a block as big as its rows' values is them, raw */
    int wr;      /* fixed-width columns: bytes per row as stored (FIXED, NARROW, IPV4) */
    uint32_t bl_rows, bl_n;
    uint64_t *bl_zoff; /* bl_n + 1 file offsets of the blocks */
    uint64_t *bl_hash; /* XXH3 of each block's stored bytes */
    uint8_t *bl_have;  /* per block: decompressed */
    const void *ddict; /* blocked strings compressed with a dictionary (ZSTD_DDict) */
    /* blocked strings: offs is filled a block at a time (ensure_str_rows), from the first
     * byte of each block (bl_start, bl_n + 1) and the rows' lengths, so a needle search
     * touches only the offsets of the blocks it reads */
    size_t *bl_start;
    uint8_t *bl_offs; /* per block: offs filled */
    /* ARIEL_COLF_INLEN: each block's lengths come first in its frame; base (the lengths)
     * and offs (from the frame's start) are filled as each block is first read; bl_start is
     * all 0 and bl_total holds each block's decompressed size once known */
    bool inlen;
    size_t *bl_total;
    const uint8_t *bl_stats;          /* ARIEL_COLF_BSTATS: per block min, max, nulls */
    uint64_t cur_b, cur_from, cur_to; /* the block ensure_block saw last (to 0: none) */
    /* TIME columns with checkpoints (ARIEL_COLF_CKPT): times is filled a chunk of tck_rows
     * rows at a time (ensure_block), from the varints at tvar and the K checkpoints at tck */
    const uint8_t *tvar, *tck;
    uint64_t tvlen;
    uint32_t tck_n, tck_rows;
    uint8_t *tck_have;
    struct str_ring *ring; /* blocked strings: bl_have[b] is b's slot + 1 (0: not held) */
    /* ARIEL_ENC_STRDICT, read in place: row i's value is dictionary entry code(i) */
    const uint8_t *dcodes;
    const uint8_t *dlens;   /* u32 length per entry */
    const size_t *doff;     /* start of each entry in bytes */
    uint8_t dcw;            /* bytes per code */
    uint32_t dn;            /* entries (blocked codes: checked as each block is read) */
    const uint64_t *dmatch; /* an IN predicate on it: bit d set when entry d is a key */
    int32_t dm_one;         /* with dmatch: the one entry that is a key, or -1 */
    const uint16_t *dhash;  /* entry + 1 by hash of its value (open addressing), or NULL */
    uint32_t dhmask;        /* dhash's slots - 1 */
};

/*
 * A string block decompressed only as far as the rows read so far (see ensure_block): a
 * search that keeps one row of a block reads on average half of it, not all of it.
 */
/*
 * The decompressed blocks of a blocked string column a scan holds: the last STR_RING of
 * them, each in a buffer of its own, so that a scan of every row of a 4 GiB-a-day payload
 * holds a few blocks, not the whole column (whose pages it used to fault in: a fifth of a
 * full payload scan). A batch of ARIEL_SCAN_BATCH rows, whose strings must stay readable
 * until it is handed on, spans at most STR_RING - 1 blocks of STR_RING_MIN_ROWS or more.
 */
#define STR_RING 4
#define STR_RING_MIN_ROWS (ARIEL_SCAN_BATCH / (STR_RING - 2))

struct str_ring {
    uint8_t *buf[STR_RING];
    size_t cap[STR_RING];
    uint64_t blk[STR_RING]; /* the block held + 1; 0: none */
    unsigned next;          /* the slot to reuse next */
};

struct part_block {
    ZSTD_DStream *ds;
    uint8_t *z; /* the block's stored bytes, checked */
    size_t zcap, zlen;
    ZSTD_inBuffer in;
    uint64_t blk; /* block being decompressed + 1; 0: none */
    size_t done;  /* its bytes decompressed so far */
};

/* Row i's dictionary code of an ARIEL_ENC_STRDICT column read in place (checked at load). */
static inline uint32_t dict_code(const struct col_state *s, uint64_t i)
{
    return s->dcw == 1 ? s->dcodes[i]
                       : (uint32_t)s->dcodes[2 * i] | (uint32_t)s->dcodes[2 * i + 1] << 8;
}

/*
 * Row i's value of a loaded fixed-width column at the column's full width: in place for
 * FIXED and constants, else widened into tmp (NARROW: zero-extended; IPV4: IPv4-mapped,
 * 0.0.0.0 read as null).
 */
static inline const uint8_t *fixed_at(const struct col_state *s, int width, uint64_t i,
                                      uint8_t tmp[16])
{
    if (s->base) return s->base + s->stride * i;
    const uint8_t *r = s->raw + i * (uint64_t)s->wr;
    memset(tmp, 0, 16);
    if (s->enc == ARIEL_ENC_NARROW) {
        memcpy(tmp, r, (size_t)(s->wr < width ? s->wr : width)); /* little-endian */
        return tmp;
    }
    uint32_t a;
    memcpy(&a, r, 4);
    if (a) {
        tmp[10] = tmp[11] = 0xff;
        memcpy(tmp + 12, &a, 4);
    }
    return tmp;
}

/* A narrow-encoded value of wr bytes, zero-extended (little-endian: the low bytes). */
static inline uint64_t narrow_value(const uint8_t *r, int wr)
{
    uint64_t v = 0;
    switch (wr) {
    case 1:
        v = *r;
        break;
    case 2:
        memcpy(&v, r, 2);
        break;
    case 4:
        memcpy(&v, r, 4);
        break;
    default:
        memcpy(&v, r, (size_t)(wr < 8 ? wr : 8));
        break;
    }
    return v;
}

/* fixed_at's value of row i written to dst (width bytes), with constant-size moves: the
 * per-row step of every scan that hands out fixed-width columns. */
static inline void put_fixed(char *dst, const struct col_state *s, int width, uint64_t i)
{
    if (s->base) {
        copy_width(dst, s->base + s->stride * i, (size_t)width);
        return;
    }
    const uint8_t *r = s->raw + i * (uint64_t)s->wr;
    if (s->enc == ARIEL_ENC_NARROW) {
        uint64_t v = narrow_value(r, s->wr);
        switch (width) {
        case 2:
            memcpy(dst, &v, 2);
            return;
        case 4:
            memcpy(dst, &v, 4);
            return;
        case 8:
            memcpy(dst, &v, 8);
            return;
        default: {
            uint8_t tmp[16];
            memcpy(dst, fixed_at(s, width, i, tmp), (size_t)width);
            return;
        }
        }
    }
    if (width != 16) { /* IPV4 is only used for 16-byte columns */
        uint8_t tmp[16];
        memcpy(dst, fixed_at(s, width, i, tmp), (size_t)width);
        return;
    }
    uint32_t a;
    memcpy(&a, r, 4);
    uint64_t lo = 0, hi = 0; /* IPv4-mapped; 0.0.0.0 reads as null (all zero) */
    if (a) {
        lo = 0;
        hi = 0xffffull << 16 | (uint64_t)a << 32;
    }
    memcpy(dst, &lo, 8);
    memcpy(dst + 8, &hi, 8);
}

#define ARIEL_SCAN_MASKS 4
#define ARIEL_MAX_PREDS 16 /* predicates whose block ends a scan tracks (more: per row) */

struct ariel_scan_ctx {
    ZSTD_DCtx *dctx;
    uint8_t *cbuf;
    size_t ccap;
    uint8_t *raw[STRM_COL__COUNT];
    size_t rawcap[STRM_COL__COUNT];
    uint8_t *aux[STRM_COL__COUNT]; /* times or offsets */
    size_t auxcap[STRM_COL__COUNT];
    struct col_state st[STRM_COL__COUNT];
    ariel_batch_fn batch_fn;
    struct strm_event *evbuf; /* ARIEL_SCAN_BATCH rows for batch_fn */
    uint32_t *sel;            /* rows of the segment that meet the predicates */
    size_t selcap;
    struct {
        uint8_t *ok; /* per block of a per-block filter: may hold what a predicate wants */
        size_t cap;
        uint32_t R;
        bool minmax; /* from per-block min/max (else from an index) */
    } mask[ARIEL_SCAN_MASKS];
    int nmask;
    uint64_t skip_rows[2]; /* rows passed over by an index [0] and by min/max [1] */
    /* ORDER BY starttime: rows handed out newest first (reverse), and keep (NULL: none) says
     * whether rows of a time range can still enter the result (ariel_scan_ctx_order) */
    bool reverse;
    bool (*keep)(int64_t min_time, int64_t max_time, void *karg);
    void *karg;
    uint64_t row_lo, row_hi; /* the next scan's rows (ariel_scan_ctx_rows; hi 0: all) */
    bool count_only;         /* ariel_scan_ctx_count */
    uint64_t counted;
    ariel_vec_fn vec_fn; /* ariel_scan_ctx_vec */
    int vec_cols[2], nvec;
    uint8_t *vbuf[2];              /* ARIEL_VEC_ROWS values of 16 bytes at most */
    ariel_distinct_fn distinct_fn; /* ariel_scan_ctx_distinct */
    int distinct_col;
    uint64_t *dseen; /* dictionary entries seen in this segment */
    size_t dseencap;
    const struct ariel_segment *mask_seg; /* the segment c->mask is for (NULL: none) */
    int fd;                               /* the segment being scanned (blocks are read from it) */
    uint8_t *bmeta[STRM_COL__COUNT];      /* blocked columns: block offsets, hashes, flags */
    size_t bmetacap[STRM_COL__COUNT];
    struct part_block part[STRM_COL__COUNT]; /* blocked string columns */
    uint64_t time_rows; /* starttime decoded for the first time_rows rows only (0: all) */
    struct str_ring ring[STRM_COL__COUNT]; /* blocked string columns */
    uint8_t *dm[STRM_COL__COUNT];          /* dmatch bitmaps */
    size_t dmcap[STRM_COL__COUNT];
};

int ariel_scan_ctx_batch(struct ariel_scan_ctx *c, ariel_batch_fn fn)
{
    c->batch_fn = fn;
    if (fn && !c->evbuf && !(c->evbuf = calloc(ARIEL_SCAN_BATCH, sizeof *c->evbuf)))
        return STRM_ERR_NOMEM;
    return 0;
}

void ariel_scan_ctx_vec(struct ariel_scan_ctx *c, ariel_vec_fn fn, const int *cols, int n)
{
    c->vec_fn = NULL;
    if (!fn || n < 1 || n > 2) return;
    for (int k = 0; k < n; k++) {
        if (cols[k] < 0 || cols[k] >= STRM_COL__COUNT || !col_width(cols[k]) ||
            strm_event_cols[cols[k]].type == STRM_T_TIME)
            return;
        if (!c->vbuf[k] && !(c->vbuf[k] = malloc(ARIEL_VEC_ROWS * 16))) return; /* as events */
        c->vec_cols[k] = cols[k];
    }
    c->nvec = n;
    c->vec_fn = fn;
}

void ariel_scan_ctx_distinct(struct ariel_scan_ctx *c, ariel_distinct_fn fn, int col)
{
    bool ok = fn && col >= 0 && col < STRM_COL__COUNT && strm_event_cols[col].type == STRM_T_STR &&
              col != STRM_COL_MESSAGE; /* a slice of the payload: read as rows */
    c->distinct_fn = ok ? fn : NULL;
    c->distinct_col = col;
}

void ariel_scan_ctx_count(struct ariel_scan_ctx *c, bool count_only)
{
    c->count_only = count_only;
}

uint64_t ariel_scan_ctx_counted(struct ariel_scan_ctx *c)
{
    uint64_t n = c->counted;
    c->counted = 0;
    return n;
}

void ariel_scan_ctx_rows(struct ariel_scan_ctx *c, uint64_t lo, uint64_t hi)
{
    c->row_lo = lo;
    c->row_hi = hi;
}

void ariel_scan_ctx_order(struct ariel_scan_ctx *c, bool reverse,
                          bool (*keep)(int64_t min_time, int64_t max_time, void *karg), void *karg)
{
    c->reverse = reverse;
    c->keep = keep;
    c->karg = karg;
}

void ariel_scan_ctx_skips(struct ariel_scan_ctx *c, uint64_t *by_index, uint64_t *by_minmax)
{
    *by_index += c->skip_rows[0];
    *by_minmax += c->skip_rows[1];
    c->skip_rows[0] = c->skip_rows[1] = 0;
}

struct ariel_scan_ctx *ariel_scan_ctx_new(void)
{
    struct ariel_scan_ctx *c = calloc(1, sizeof *c);
    if (c && !(c->dctx = ZSTD_createDCtx())) {
        free(c);
        c = NULL;
    }
    return c;
}

void ariel_scan_ctx_free(struct ariel_scan_ctx *c)
{
    if (!c) return;
    ZSTD_freeDCtx(c->dctx);
    free(c->cbuf);
    free(c->evbuf);
    free(c->sel);
    for (int m = 0; m < ARIEL_SCAN_MASKS; m++)
        free(c->mask[m].ok);
    for (int i = 0; i < STRM_COL__COUNT; i++) {
        free(c->raw[i]);
        free(c->aux[i]);
        free(c->bmeta[i]);
        ZSTD_freeDStream(c->part[i].ds);
        free(c->part[i].z);
        for (int k = 0; k < STR_RING; k++)
            free(c->ring[i].buf[k]);
        if (i == 0) free(c->dseen);
        if (i < 2) free(c->vbuf[i]);
        free(c->dm[i]);
    }
    free(c);
}

static int corrupt(struct ariel_segment *g, int col, const char *why)
{
    if (!atomic_exchange(&g->bad, true))
        LOG_WARN(ARIEL_COMP, "segment %s: column %s: %s; segment skipped", g->path,
                 col >= 0 ? strm_event_cols[col].name : "-", why);
    return STRM_ERR_CORRUPT;
}

/* Bytes per row of a FIXED, NARROW or IPV4 column as stored (0: not a valid one). */
static int fixed_raw_width(const struct ariel_seg_col *dc, int col, uint64_t n)
{
    int width = col_width(col), type = strm_event_cols[col].type;
    if (n == 0 || dc->rawsize % n != 0) return 0;
    uint64_t wr = dc->rawsize / n;
    if (dc->enc == ARIEL_ENC_FIXED && wr == (uint64_t)width) return width;
    if (dc->enc == ARIEL_ENC_NARROW && type == STRM_T_INT && wr < (uint64_t)width &&
        (wr == 1 || wr == 2 || wr == 4))
        return (int)wr;
    if (dc->enc == ARIEL_ENC_IPV4 && type == STRM_T_IP && wr == 4) return 4;
    return 0;
}

/*
 * Points c->st[col] (enc set) at its values as stored in c->raw[col]: FIXED ones are read in
 * place; NARROW and IPV4 ones are widened per row read (fixed_at), not per column or block:
 * a needle search reads a few rows, and widening whole blocks faulted in most of its memory.
 */
static void fixed_setup(struct ariel_scan_ctx *c, int col, int wr)
{
    struct col_state *s = &c->st[col];
    s->wr = wr;
    s->stride = (size_t)col_width(col);
    s->raw = c->raw[col];
    s->base = s->enc == ARIEL_ENC_FIXED ? c->raw[col] : NULL;
}

/* The store's root from a segment's path root/<table>/YYYY/MM/DD/HH/seg-<id>.seg. */
static bool store_root(const char *path, char *out, size_t len)
{
    if (snprintf(out, len, "%s", path) >= (int)len) return false;
    for (int up = 0; up < 6; up++) {
        char *slash = strrchr(out, '/');
        if (!slash) return false;
        *slash = 0;
    }
    return out[0] != 0;
}

/*
 * A blocked column (encode_blocked): reads and checks its head only, decompresses the
 * lengths of a string column (offsets, slices and sizes are checked as for a plain one),
 * and leaves the blocks to ensure_block.
 */
static int load_blocked(struct ariel_segment *g, int fd, struct ariel_scan_ctx *c, int col,
                        const struct ariel_seg_col *dc, int code_width)
{
    struct col_state *s = &c->st[col];
    uint64_t n = g->rows;
    bool str = dc->enc == ARIEL_ENC_STRBLOCKS;
    int wr = str ? 0 : code_width ? code_width : fixed_raw_width(dc, col, n);
    uint8_t h12[12];
    if (str ? (col_width(col) || strm_event_cols[col].type != STRM_T_STR || dc->rawsize < n * 4)
            : (!wr || (!col_width(col) && !code_width)))
        return corrupt(g, col, "bad blocked column");
    if (dc->csize < 20 || ariel_read_all(fd, h12, 12, dc->offset) != 0)
        return dc->csize < 20 ? corrupt(g, col, "bad block table") : STRM_ERR_IO;
    uint32_t R = ariel_get32(h12), nb = ariel_get32(h12 + 4), P = ariel_get32(h12 + 8);
    if (R == 0 || nb != (n + R - 1) / R || (uint64_t)nb * 12 + P + 20 > dc->csize)
        return corrupt(g, col, "bad block table");
    size_t head = 12 + (size_t)nb * 12 + P + 8;
    /* strings in blocks big enough for the ring: only the lengths here; else every byte */
    bool ring = str && R >= STR_RING_MIN_ROWS;
    bool inlen = str && (dc->flags & ARIEL_COLF_INLEN);
    if (inlen && (R < ARIEL_INLEN_MIN_ROWS || P != 0)) return corrupt(g, col, "bad block table");
    if (scratch(&c->cbuf, &c->ccap, head) ||
        scratch(&c->raw[col], &c->rawcap[col], ring ? n * 4 + 1 : dc->rawsize + 1) ||
        scratch(&c->bmeta[col], &c->bmetacap[col],
                ((size_t)nb + 1) * 8 + (size_t)nb * 8 + ((size_t)nb + 1) * 8 + 2 * (size_t)nb +
                    (size_t)nb * sizeof(size_t) + (size_t)P) ||
        (str && scratch(&c->aux[col], &c->auxcap[col], n * sizeof(size_t))))
        return STRM_ERR_NOMEM;
    if (ariel_read_all(fd, c->cbuf, head, dc->offset) != 0) return STRM_ERR_IO;
    if (XXH3_64bits(c->cbuf, head - 8) != ariel_get64(c->cbuf + head - 8))
        return corrupt(g, col, "block table checksum mismatch");
    bool bstats = !str && (dc->flags & ARIEL_COLF_BSTATS);
    if (bstats && (P != (uint64_t)nb * ARIEL_BSTAT_SIZE || strm_event_cols[col].type != STRM_T_INT))
        return corrupt(g, col, "bad block statistics");
    uint64_t *zoff = (uint64_t *)(void *)c->bmeta[col];
    uint64_t *hash = zoff + nb + 1;
    uint64_t pos = dc->offset + head;
    for (uint32_t b = 0; b < nb; b++) {
        zoff[b] = pos;
        pos += ariel_get32(c->cbuf + 12 + (size_t)b * 4);
        hash[b] = ariel_get64(c->cbuf + 12 + (size_t)nb * 4 + (size_t)b * 8);
    }
    zoff[nb] = pos;
    if (pos != dc->offset + dc->csize) return corrupt(g, col, "bad block table");
    s->ddict = NULL;
    if (str && (dc->flags & ARIEL_COLF_DICT)) {
        char root[PATH_MAX];
        if (!store_root(g->path, root, sizeof root) ||
            !(s->ddict = ariel_dict_ddict(root, (uint32_t)dc->reserved)))
            return corrupt(g, col, "its compression dictionary is missing or damaged");
    }
    s->enc = str ? ARIEL_ENC_STR : dc->enc;
    s->present = true;
    s->blocked = true;
    s->rawblk = !str && (dc->flags & ARIEL_COLF_RAWBLK);
    s->bl_rows = R;
    s->bl_n = nb;
    s->bl_zoff = zoff;
    s->bl_hash = hash;
    s->bl_start = (size_t *)(hash + nb);
    s->bl_total = s->bl_start + nb + 1;
    s->bl_have = (uint8_t *)(s->bl_total + nb);
    s->bl_offs = s->bl_have + nb;
    if (bstats) {
        memcpy(s->bl_offs + nb, c->cbuf + 12 + (size_t)nb * 12, P);
        s->bl_stats = s->bl_offs + nb;
    }
    memset(s->bl_have, 0, 2 * (size_t)nb);
    c->part[col].blk = 0;
    for (int k = 0; k < STR_RING; k++)
        c->ring[col].blk[k] = 0;
    s->ring = ring ? &c->ring[col] : NULL;
    if (!str) {
        fixed_setup(c, col, wr);
        return 0;
    }
    uint8_t *raw = c->raw[col];
    if (inlen) { /* nothing more until a block is read */
        s->inlen = true;
        s->offs = (size_t *)(void *)c->aux[col];
        s->base = raw;
        s->bytes = NULL;
        memset(s->bl_start, 0, ((size_t)nb + 1) * sizeof *s->bl_start);
        return 0;
    }
    size_t r = ZSTD_decompressDCtx(c->dctx, raw, n * 4, c->cbuf + 12 + (size_t)nb * 12, P);
    if (ZSTD_isError(r) || r != n * 4) return corrupt(g, col, "lengths do not decompress");
    s->offs = (size_t *)(void *)c->aux[col];
    uint64_t total = 0;
    for (uint64_t i = 0; i < n; i++) {
        if (i % R == 0) s->bl_start[i / R] = (size_t)total;
        total += ariel_get32(raw + i * 4);
    }
    s->bl_start[nb] = (size_t)total;
    if (total != dc->rawsize - n * 4) return corrupt(g, col, "lengths do not add up");
    s->base = raw;
    /* ring: each block in a buffer of its own (str_start); else after the lengths */
    s->bytes = ring ? NULL : (const char *)raw + n * 4;
    return 0;
}

/* Reads block b of blocked column col into *buf (*zl bytes) and checks it against its hash. */
static int read_block(struct ariel_segment *g, struct ariel_scan_ctx *c, int col, uint64_t b,
                      uint8_t **buf, size_t *cap, size_t *zl)
{
    const struct col_state *s = &c->st[col];
    *zl = (size_t)(s->bl_zoff[b + 1] - s->bl_zoff[b]);
    if (scratch(buf, cap, *zl + 1)) return STRM_ERR_NOMEM;
    if (ariel_read_all(c->fd, *buf, *zl, s->bl_zoff[b]) != 0) {
        LOG_WARN(ARIEL_COMP, "segment %s: cannot read column %s: %s", g->path,
                 strm_event_cols[col].name, strerror(errno));
        return STRM_ERR_IO;
    }
    if (XXH3_64bits(*buf, *zl) != s->bl_hash[b]) return corrupt(g, col, "block checksum mismatch");
    return 0;
}

/* Slack decompressed past the row asked for: a scan of every row takes ~16 steps a block. */
#define PART_STEPS 16
#define PART_STEP_MIN 4096
#define WHOLE_FRAME_MAX (192u << 10) /* frames up to this size: decoded in one call */

/*
 * Decompresses the block being streamed (c->part[col]) into dst, a block of total bytes, as
 * far as need bytes plus a slack step, or to its end.
 */
static int stream_block(struct ariel_segment *g, struct ariel_scan_ctx *c, int col, char *dst,
                        size_t need, size_t total)
{
    struct part_block *pb = &c->part[col];
    if (pb->done == 0 && pb->in.pos == 0 && total <= WHOLE_FRAME_MAX) {
        /* zstd decodes a block (up to 128 KiB) whole however little of it is asked for, and
         * a stream copies it out of its window: a frame of about that size (a payload block
         * with the dictionary) is decoded in one go, straight into dst */
        size_t r = ZSTD_decompressDCtx(pb->ds, dst, total, pb->in.src, pb->zlen);
        if (ZSTD_isError(r) || r != total) return corrupt(g, col, "block does not decompress");
        pb->in.pos = pb->zlen;
        pb->done = total;
        if (!c->st[col].ring) c->st[col].bl_have[pb->blk - 1] = 1;
        pb->blk = 0;
        return 0;
    }
    size_t step = total / PART_STEPS > PART_STEP_MIN ? total / PART_STEPS : PART_STEP_MIN;
    size_t want = need + step < total ? need + step : total;
    ZSTD_outBuffer out = {dst, want, pb->done};
    size_t r = 1;
    while (out.pos < want || (want == total && r != 0)) {
        size_t before_in = pb->in.pos, before_out = out.pos;
        r = ZSTD_decompressStream(pb->ds, &out, &pb->in);
        if (ZSTD_isError(r)) return corrupt(g, col, "block does not decompress");
        if (r == 0 && out.pos != total) return corrupt(g, col, "block shorter than its rows");
        if (r == 0) break;
        if (pb->in.pos == before_in && out.pos == before_out)
            return corrupt(g, col, "block does not decompress"); /* no progress: truncated */
    }
    pb->done = out.pos;
    if (out.pos == total) {
        if (r != 0 || pb->in.pos != pb->zlen) return corrupt(g, col, "block does not decompress");
        if (!c->st[col].ring) c->st[col].bl_have[pb->blk - 1] = 1;
        pb->blk = 0;
    }
    return 0;
}

/*
 * Makes the bytes of row i (in block b, rows from..to) of a blocked string column readable:
 * decompresses the block's zstd frame as a stream only as far as row i's end (plus a
 * sixteenth of the block), resuming where the last call stopped, since a scan asks for rows
 * in order.
 * The block's stored bytes are checked (XXH3) before any of them is decompressed.
 */
static int ensure_str_rows(struct ariel_segment *g, struct ariel_scan_ctx *c, int col, uint64_t b,
                           uint64_t from, uint64_t to, uint64_t i)
{
    struct col_state *s = &c->st[col];
    struct part_block *pb = &c->part[col];
    if (!s->inlen && !s->bl_offs[b]) {
        size_t o = s->bl_start[b];
        for (uint64_t r = from; r < to; r++) {
            s->offs[r] = o;
            o += ariel_get32(s->base + r * 4);
        }
        s->bl_offs[b] = 1;
    }
    size_t start = s->bl_start[b];
    /* ARIEL_COLF_INLEN: the frame's first bytes are the rows' lengths, needed first */
    size_t lenb = s->inlen ? (size_t)(to - from) * 4 : 0;
    size_t need = s->bl_offs[b] ? s->offs[i] + ariel_get32(s->base + i * 4) - start : lenb;
    /* held: in its ring slot (ring) or decompressed in place; a held block other than the
     * one being streamed (pb) is complete */
    bool partial = pb->blk == b + 1;
    bool held = s->ring ? s->bl_have[b] != 0 : (s->bl_have[b] || partial);
    if (held && (!partial || pb->done >= need)) return 0;
    char *dst = s->ring ? NULL : (char *)s->bytes + start;
    if (!held) {
        size_t zl;
        if (s->ring && pb->blk && s->bl_have[pb->blk - 1]) {
            /* a half-read block gives its stream up: no longer held (its rows read so far
             * stay valid in its buffer until the slot comes round again) */
            s->ring->blk[s->bl_have[pb->blk - 1] - 1] = 0;
            s->bl_have[pb->blk - 1] = 0;
        }
        pb->blk = 0;
        if (!pb->ds && !(pb->ds = ZSTD_createDStream())) return STRM_ERR_NOMEM;
        int rc = read_block(g, c, col, b, &pb->z, &pb->zcap, &zl);
        if (rc != 0) return rc;
        if (s->inlen && !s->bl_offs[b]) { /* its size, from the frame header */
            unsigned long long fs = ZSTD_getFrameContentSize(pb->z, zl);
            uint64_t cap = g->cols[g->col_index[col]].rawsize;
            if (fs == ZSTD_CONTENTSIZE_UNKNOWN || fs == ZSTD_CONTENTSIZE_ERROR || fs < lenb ||
                fs > cap)
                return corrupt(g, col, "bad block size");
            s->bl_total[b] = (size_t)fs;
        }
        if (s->ring) {
            struct str_ring *rg = s->ring;
            size_t total = s->inlen ? s->bl_total[b] : s->bl_start[b + 1] - start;
            unsigned k = rg->next++ % STR_RING; /* the oldest slot */
            if (rg->blk[k]) s->bl_have[rg->blk[k] - 1] = 0;
            if (scratch(&rg->buf[k], &rg->cap[k], total + 1)) return STRM_ERR_NOMEM;
            rg->blk[k] = b + 1;
            s->bl_have[b] = (uint8_t)(k + 1);
        }
        ZSTD_DCtx_reset(pb->ds, ZSTD_reset_session_only);
        if (ZSTD_isError(ZSTD_DCtx_refDDict(pb->ds, s->ddict))) return STRM_ERR_NOMEM;
        pb->zlen = zl;
        pb->in = (ZSTD_inBuffer){pb->z, zl, 0};
        pb->blk = b + 1;
        pb->done = 0;
    }
    if (s->ring) dst = (char *)s->ring->buf[s->bl_have[b] - 1];
    size_t total = s->inlen ? s->bl_total[b] : s->bl_start[b + 1] - start;
    int rc = stream_block(g, c, col, dst, need, total);
    if (rc != 0 || !s->inlen || s->bl_offs[b]) return rc;
    /* the block's lengths are in: its rows' offsets, then on to row i's bytes */
    size_t o = lenb;
    for (uint64_t r = from; r < to; r++) {
        const uint8_t *lp = (const uint8_t *)dst + (r - from) * 4;
        memcpy(c->raw[col] + r * 4, lp, 4);
        s->offs[r] = o;
        o += ariel_get32(lp);
    }
    if (o != total) return corrupt(g, col, "lengths do not add up");
    s->bl_offs[b] = 1;
    need = s->offs[i] + ariel_get32(s->base + i * 4);
    return pb->blk == b + 1 && pb->done < need ? stream_block(g, c, col, dst, need, total) : 0;
}

/*
 * A DELTA column with checkpoints (ARIEL_COLF_CKPT, raw: its decompressed bytes) set up so
 * that time_chunk decodes a chunk of rows when one is first read. The checkpoints are checked
 * here: in order, inside the varints, the first at 0.
 */
static int time_ckpt_setup(struct ariel_segment *g, struct ariel_scan_ctx *c, int col,
                           const uint8_t *raw, uint64_t rawsize)
{
    struct col_state *s = &c->st[col];
    uint64_t n = g->rows;
    if (rawsize < 8) return corrupt(g, col, "bad checkpoints");
    uint64_t K = ariel_get32(raw + rawsize - 8), CR = ariel_get32(raw + rawsize - 4);
    if (CR == 0 || K != (n + CR - 1) / CR || K * 16 + 8 > rawsize)
        return corrupt(g, col, "bad checkpoints");
    uint64_t V = rawsize - 8 - K * 16, last = 0;
    const uint8_t *ck = raw + V;
    for (uint64_t k = 0; k < K; k++) {
        uint64_t off = ariel_get64(ck + k * 16);
        if (off < last || off > V || (k == 0 && (off != 0 || ariel_get64(ck + 8) != 0)))
            return corrupt(g, col, "bad checkpoints");
        last = off;
    }
    if (scratch(&c->aux[col], &c->auxcap[col], n * 8 + 1) ||
        scratch(&c->bmeta[col], &c->bmetacap[col], K + 1))
        return STRM_ERR_NOMEM;
    s->times = (int64_t *)(void *)c->aux[col];
    s->tvar = raw;
    s->tvlen = V;
    s->tck = ck;
    s->tck_n = (uint32_t)K;
    s->tck_rows = (uint32_t)CR;
    s->tck_have = c->bmeta[col];
    memset(s->tck_have, 0, K);
    return 0;
}

/* Decodes chunk k of a checkpointed time column into its rows of times. */
static int time_chunk(struct ariel_segment *g, struct ariel_scan_ctx *c, int col, uint64_t k)
{
    struct col_state *s = &c->st[col];
    if (k >= s->tck_n) return corrupt(g, col, "row outside the checkpoints");
    uint64_t from = k * s->tck_rows,
             to = from + s->tck_rows < g->rows ? from + s->tck_rows : g->rows;
    const uint8_t *p = s->tvar + ariel_get64(s->tck + k * 16);
    const uint8_t *end =
        s->tvar + (k + 1 < s->tck_n ? ariel_get64(s->tck + (k + 1) * 16) : s->tvlen);
    uint64_t prev = ariel_get64(s->tck + k * 16 + 8);
    for (uint64_t i = from; i < to; i++) {
        uint64_t z;
        size_t len = ariel_varint_get(p, end, &z);
        if (!len) return corrupt(g, col, "truncated deltas");
        p += len;
        prev += (z >> 1) ^ (uint64_t)(-(int64_t)(z & 1));
        s->times[i] = (int64_t)prev;
    }
    if (p != end) return corrupt(g, col, "trailing bytes");
    s->tck_have[k] = 1;
    return 0;
}

/* Makes the bytes of row i of a blocked column readable (a fixed-width block: all of it, once). */
/*
 * After ensure_block(col, i): the rows from i up to this one are readable too, so a scan that
 * goes up in rows calls ensure_block again only there (a row at a time for blocked strings,
 * which are streamed; all for a column read whole).
 */
static inline uint64_t valid_until(const struct col_state *s, uint64_t i, uint64_t n)
{
    uint64_t R = s->tck ? s->tck_rows : s->blocked && s->wr ? s->bl_rows : 0;
    if (R) {
        uint64_t e = (i / R + 1) * R;
        return e < n ? e : n;
    }
    return s->blocked ? i + 1 : n;
}

/* valid_until's other end: the first row of the range readable with row i. */
static inline uint64_t valid_from(const struct col_state *s, uint64_t i)
{
    uint64_t R = s->tck ? s->tck_rows : s->blocked && s->wr ? s->bl_rows : 0;
    if (R) return i / R * R;
    return s->blocked ? i : 0;
}

static int ensure_block(struct ariel_segment *g, struct ariel_scan_ctx *c, int col, uint64_t i)
{
    struct col_state *s = &c->st[col];
    if (s->tck) return s->tck_have[i / s->tck_rows] ? 0 : time_chunk(g, c, col, i / s->tck_rows);
    if (!s->blocked) return 0;
    uint64_t n = g->rows, b, from, to;
    if (i >= s->cur_from && i < s->cur_to) { /* the block of the last call: no division */
        b = s->cur_b;
        from = s->cur_from;
        to = s->cur_to;
    } else {
        b = i / s->bl_rows;
        if (b >= s->bl_n) return corrupt(g, col, "row outside the blocks");
        from = b * s->bl_rows;
        to = from + s->bl_rows < n ? from + s->bl_rows : n;
        s->cur_b = b;
        s->cur_from = from;
        s->cur_to = to;
    }
    if (!s->wr) return ensure_str_rows(g, c, col, b, from, to, i);
    if (s->bl_have[b]) return 0;
    size_t len = (size_t)(to - from) * (size_t)s->wr; /* fixed width */
    uint8_t *dst = c->raw[col] + from * (uint64_t)s->wr;
    if (s->rawblk && s->bl_zoff[b + 1] - s->bl_zoff[b] == len) { /* stored raw: read in place */
        if (ariel_read_all(c->fd, dst, len, s->bl_zoff[b]) != 0) {
            LOG_WARN(ARIEL_COMP, "segment %s: cannot read column %s: %s", g->path,
                     strm_event_cols[col].name, strerror(errno));
            return STRM_ERR_IO;
        }
        if (XXH3_64bits(dst, len) != s->bl_hash[b])
            return corrupt(g, col, "block checksum mismatch");
    } else {
        size_t zl;
        int rc = read_block(g, c, col, b, &c->cbuf, &c->ccap, &zl);
        if (rc != 0) return rc;
        size_t r = ZSTD_decompressDCtx(c->dctx, dst, len, c->cbuf, zl);
        if (ZSTD_isError(r) || r != len) return corrupt(g, col, "block does not decompress");
    }
    if (s->dcodes) { /* dictionary codes: each checked once, so str_at needs no check */
        uint32_t top = 0;
        for (uint64_t k = from; k < to; k++) {
            uint32_t code = dict_code(s, k);
            top = code > top ? code : top;
        }
        if (top >= s->dn) return corrupt(g, col, "dictionary code out of range");
    }
    s->bl_have[b] = 1;
    return 0;
}

/* ensure_block for row i unless [*lo, *hi) holds it (readable already); then the rows
 * readable with it: a scan calls it for every row, and reads a block once. */
static inline int ensure_range(struct ariel_segment *g, struct ariel_scan_ctx *c, int col,
                               uint64_t i, uint64_t *lo, uint64_t *hi)
{
    if (i < *hi && i >= *lo) return 0;
    int rc = ensure_block(g, c, col, i);
    if (rc != 0) return rc;
    *hi = valid_until(&c->st[col], i, g->rows);
    *lo = valid_from(&c->st[col], i);
    return 0;
}

/*
 * A dictionary-coded string column (ARIEL_ENC_STRDICT, raw: its decompressed bytes) set up
 * to be read in place: str_at looks each row's code up in the dictionary, so no per-row
 * arrays are built (a needle search reads a few rows of it). Sizes and codes are checked.
 */
static int strdict_setup(struct ariel_segment *g, struct ariel_scan_ctx *c, int col,
                         const uint8_t *raw, uint64_t rawsize)
{
    struct col_state *s = &c->st[col];
    uint64_t n = g->rows;
    if (rawsize < 8) return corrupt(g, col, "bad dictionary");
    uint64_t nd = ariel_get32(raw), cw = ariel_get32(raw + 4);
    if ((cw != 1 && cw != 2) || nd == 0 || nd > 65535 || 8 + nd * 4 > rawsize)
        return corrupt(g, col, "bad dictionary");
    if (scratch(&c->aux[col], &c->auxcap[col], nd * sizeof(size_t))) return STRM_ERR_NOMEM;
    size_t *doff = (size_t *)(void *)c->aux[col];
    uint64_t dbytes = 0;
    for (uint64_t d = 0; d < nd; d++) {
        doff[d] = (size_t)dbytes;
        dbytes += ariel_get32(raw + 8 + d * 4);
    }
    if (8 + nd * 4 + dbytes + n * cw != rawsize)
        return corrupt(g, col, "dictionary sizes do not add up");
    s->dcodes = raw + 8 + nd * 4 + dbytes;
    s->dcw = (uint8_t)cw;
    s->dn = (uint32_t)nd;
    uint32_t top = 0; /* every code is checked once here, so str_at needs no check */
    for (uint64_t i = 0; i < n; i++) {
        uint32_t code = dict_code(s, i);
        top = code > top ? code : top;
    }
    if (top >= nd) {
        s->dcodes = NULL;
        return corrupt(g, col, "dictionary code out of range");
    }
    s->enc = ARIEL_ENC_STR; /* read as a plain string column, through str_at */
    s->dlens = raw + 8;
    s->doff = doff;
    s->bytes = (const char *)raw + 8 + nd * 4;
    return 0;
}

/*
 * Reads, checks and decodes the dictionary (cs bytes compressed) of a dictionary-coded column
 * with blocked codes into a new blob (load_strdict_blocked says its layout).
 */
static int decode_sdict(struct ariel_segment *g, int fd, struct ariel_scan_ctx *c, int col,
                        const struct ariel_seg_col *dc, uint64_t cs, uint8_t **out)
{
    if (scratch(&c->cbuf, &c->ccap, cs + 8)) return STRM_ERR_NOMEM;
    if (ariel_read_all(fd, c->cbuf, cs + 8, dc->offset + 4) != 0) return STRM_ERR_IO;
    if (XXH3_64bits(c->cbuf, cs) != ariel_get64(c->cbuf + cs))
        return corrupt(g, col, "dictionary checksum mismatch");
    unsigned long long fs = ZSTD_getFrameContentSize(c->cbuf, cs);
    if (fs == ZSTD_CONTENTSIZE_UNKNOWN || fs == ZSTD_CONTENTSIZE_ERROR || fs < 8 ||
        fs > dc->rawsize)
        return corrupt(g, col, "bad dictionary");
    /* decompressed in place; the entries' starts go after it once their count is known */
    size_t at = 16 + ((size_t)fs + 7) / 8 * 8;
    uint8_t *blob = malloc(at);
    if (!blob) return STRM_ERR_NOMEM;
    size_t r = ZSTD_decompressDCtx(c->dctx, blob + 16, fs, c->cbuf, cs);
    if (ZSTD_isError(r) || r != fs) {
        free(blob);
        return corrupt(g, col, "dictionary does not decompress");
    }
    uint64_t nd = ariel_get32(blob + 16), cw = ariel_get32(blob + 20);
    if ((cw != 1 && cw != 2) || nd == 0 || nd > 65535 || 8 + nd * 4 > fs) {
        free(blob);
        return corrupt(g, col, "bad dictionary");
    }
    uint8_t *grown = realloc(blob, at + nd * sizeof(size_t));
    if (!grown) {
        free(blob);
        return STRM_ERR_NOMEM;
    }
    blob = grown;
    size_t *doff = (size_t *)(void *)(blob + at);
    uint64_t dbytes = 0;
    for (uint64_t k = 0; k < nd; k++) {
        doff[k] = (size_t)dbytes;
        dbytes += ariel_get32(blob + 16 + 8 + k * 4);
    }
    if (8 + nd * 4 + dbytes != fs) {
        free(blob);
        return corrupt(g, col, "dictionary sizes do not add up");
    }
    /* then a hash table of the entries (u16 entry + 1 per slot, at most 3/4 full), so that
     * username = '...' finds its entry without comparing tens of thousands of names */
    size_t slots = 64;
    while (slots * 3 < nd * 4)
        slots *= 2;
    size_t hat = at + nd * sizeof(size_t);
    if (!(grown = realloc(blob, hat + slots * 2))) {
        free(blob);
        return STRM_ERR_NOMEM;
    }
    blob = grown;
    doff = (size_t *)(void *)(blob + at);
    uint16_t *h = (uint16_t *)(void *)(blob + hat);
    memset(h, 0, slots * 2);
    const uint8_t *vals = blob + 16 + 8 + nd * 4;
    for (uint64_t k = 0; k < nd; k++) {
        size_t x = (size_t)XXH3_64bits(vals + doff[k], ariel_get32(blob + 16 + 8 + k * 4));
        while (h[x & (slots - 1)])
            x++;
        h[x & (slots - 1)] = (uint16_t)(k + 1);
    }
    ariel_put64(blob, fs);
    ariel_put64(blob + 8, nd);
    *out = blob;
    return 0;
}

/*
 * A dictionary-coded column with its codes in blocks (encode_strdict_blocked): the
 * dictionary is read, checked and set up here, the codes as a blocked fixed-width column
 * (ensure_block reads and checks a block of them when a row of it is read).
 */
static int load_strdict_blocked(struct ariel_segment *g, int fd, struct ariel_scan_ctx *c, int col,
                                const struct ariel_seg_col *dc)
{
    struct col_state *s = &c->st[col];
    uint64_t n = g->rows;
    uint8_t h4[4];
    if (dc->csize < 12) return corrupt(g, col, "bad dictionary");
    if (ariel_read_all(fd, h4, 4, dc->offset) != 0) return STRM_ERR_IO;
    uint64_t cs = ariel_get32(h4);
    if (cs + 12 > dc->csize) return corrupt(g, col, "bad dictionary");
    /* the decoded dictionary, kept in the segment: u64 size, u64 entries, the dictionary's
     * bytes (padded to 8), the entries' starts (size_t each), then their hash table */
    uint8_t *blob = atomic_load_explicit(&g->sdict[col], memory_order_acquire);
    if (!blob) {
        int rc = decode_sdict(g, fd, c, col, dc, cs, &blob);
        if (rc != 0) return rc;
        uint8_t *expected = NULL;
        if (!atomic_compare_exchange_strong(&g->sdict[col], &expected, blob)) {
            free(blob); /* another scan decoded it first */
            blob = expected;
        }
    }
    uint64_t fs = ariel_get64(blob), nd = ariel_get64(blob + 8);
    const uint8_t *d = blob + 16;
    const size_t *doff = (const size_t *)(const void *)(blob + 16 + ((size_t)fs + 7) / 8 * 8);
    uint64_t cw = ariel_get32(d + 4);
    if (fs + n * cw != dc->rawsize) return corrupt(g, col, "dictionary sizes do not add up");
    struct ariel_seg_col codes = *dc; /* the rest: the codes, blocked */
    codes.offset += 4 + cs + 8;
    codes.csize -= 4 + cs + 8;
    codes.rawsize = n * cw;
    codes.enc = ARIEL_ENC_NARROW;
    int rc = load_blocked(g, fd, c, col, &codes, (int)cw);
    if (rc != 0) return rc;
    s->enc = ARIEL_ENC_STR; /* read as a plain string column, through str_at */
    s->base = NULL;
    s->dcodes = c->raw[col];
    s->dcw = (uint8_t)cw;
    s->dn = (uint32_t)nd;
    s->dlens = d + 8;
    s->doff = doff;
    s->bytes = (const char *)d + 8 + nd * 4;
    size_t slots = 64;
    while (slots * 3 < nd * 4)
        slots *= 2;
    s->dhash = (const uint16_t *)(const void *)(doff + nd);
    s->dhmask = (uint32_t)(slots - 1);
    return 0;
}

/* Reads, checks and decompresses column col into c->raw[col]; sets up c->st[col]. */
static int load_col(struct ariel_segment *g, int fd, struct ariel_scan_ctx *c, int col,
                    const struct col_state *payload)
{
    struct col_state *s = &c->st[col];
    const struct ariel_seg_col *dc;
    uint64_t n = g->rows;
    int width = col_width(col);

    memset(s, 0, sizeof *s);
    if (g->col_index[col] < 0) return 0; /* absent: reads as zero/empty */
    dc = &g->cols[g->col_index[col]];
    if (dc->csize > SIZE_MAX / 2 || dc->rawsize > SIZE_MAX / 2)
        return corrupt(g, col, "impossible sizes");
    if (dc->enc == ARIEL_ENC_STRDICT && (dc->flags & ARIEL_COLF_BLOCKS))
        return load_strdict_blocked(g, fd, c, col, dc);
    if (dc->enc == ARIEL_ENC_STRBLOCKS || (dc->flags & ARIEL_COLF_BLOCKS))
        return load_blocked(g, fd, c, col, dc, 0);
    if (scratch(&c->cbuf, &c->ccap, dc->csize + 1) ||
        scratch(&c->raw[col], &c->rawcap[col], dc->rawsize + 1))
        return STRM_ERR_NOMEM;
    if (ariel_read_all(fd, c->cbuf, dc->csize, dc->offset) != 0) {
        LOG_WARN(ARIEL_COMP, "segment %s: cannot read column %s: %s", g->path,
                 strm_event_cols[col].name, strerror(errno));
        return STRM_ERR_IO;
    }
    if (XXH3_64bits(c->cbuf, dc->csize) != dc->hash) return corrupt(g, col, "checksum mismatch");
    if (dc->enc == ARIEL_ENC_CONST) {
        if (dc->csize != dc->rawsize || (width && dc->rawsize != (uint64_t)width))
            return corrupt(g, col, "bad constant");
        memcpy(c->raw[col], c->cbuf, dc->csize);
    } else {
        size_t r = ZSTD_decompressDCtx(c->dctx, c->raw[col], dc->rawsize, c->cbuf, dc->csize);
        if (ZSTD_isError(r) || r != dc->rawsize) return corrupt(g, col, "does not decompress");
    }
    const uint8_t *raw = c->raw[col];
    s->enc = dc->enc;
    s->present = true;

    if (strm_event_cols[col].type == STRM_T_TIME) {
        if (dc->enc == ARIEL_ENC_CONST) {
            s->tconst = (int64_t)ariel_get64(raw);
            return 0;
        }
        if (dc->enc != ARIEL_ENC_DELTA) return corrupt(g, col, "unknown encoding");
        if (dc->flags & ARIEL_COLF_CKPT) return time_ckpt_setup(g, c, col, raw, dc->rawsize);
        /* the deltas only decode in order: a search that keeps a few rows of a segment inside
         * its time range decodes up to the last of them (time_rows) */
        uint64_t lim = c->time_rows && c->time_rows < n ? c->time_rows : n;
        if (scratch(&c->aux[col], &c->auxcap[col], lim * 8)) return STRM_ERR_NOMEM;
        s->times = (int64_t *)(void *)c->aux[col];
        const uint8_t *p = raw, *end = raw + dc->rawsize;
        uint64_t prev = 0;
        for (uint64_t i = 0; i < lim; i++) {
            uint64_t z;
            size_t k = ariel_varint_get(p, end, &z);
            if (!k) return corrupt(g, col, "truncated deltas");
            p += k;
            prev += (z >> 1) ^ (uint64_t)(-(int64_t)(z & 1));
            s->times[i] = (int64_t)prev;
        }
        if (lim == n && p != end) return corrupt(g, col, "trailing bytes");
        return 0;
    }
    if (width) {
        s->base = raw;
        if (dc->enc == ARIEL_ENC_CONST) {
            s->stride = 0;
            return 0;
        }
        int wr = fixed_raw_width(dc, col, n);
        if (!wr) return corrupt(g, col, "bad fixed-width column");
        fixed_setup(c, col, wr);
        return 0;
    }
    /* strings */
    if (dc->enc == ARIEL_ENC_CONST) {
        s->bytes = (const char *)raw;
        return 0;
    }
    if (dc->enc == ARIEL_ENC_STRDICT) return strdict_setup(g, c, col, raw, dc->rawsize);
    size_t each = dc->enc == ARIEL_ENC_MSGSLICE ? 8 : 4;
    if ((dc->enc != ARIEL_ENC_STR && dc->enc != ARIEL_ENC_MSGSLICE) || dc->rawsize < n * each)
        return corrupt(g, col, "bad string column");
    if (dc->enc == ARIEL_ENC_MSGSLICE && !payload) return corrupt(g, col, "slice without payload");
    if (scratch(&c->aux[col], &c->auxcap[col], n * sizeof(size_t))) return STRM_ERR_NOMEM;
    s->offs = (size_t *)(void *)c->aux[col];
    s->base = raw;
    s->bytes = (const char *)raw + n * each;
    uint64_t total = 0, avail = dc->rawsize - n * each;
    for (uint64_t i = 0; i < n; i++) {
        uint32_t len = ariel_get32(raw + i * each + (each - 4));
        s->offs[i] = (size_t)total;
        if (each == 8) {
            uint32_t off = ariel_get32(raw + i * 8);
            if (off != UINT32_MAX) {
                uint64_t plen;
                if (!payload->present) return corrupt(g, col, "slice without payload");
                if (payload->blocked) continue; /* lengths or codes come with its blocks: at use */
                plen = payload->enc == ARIEL_ENC_CONST
                           ? g->cols[g->col_index[STRM_COL_PAYLOAD]].rawsize
                       : payload->dcodes
                           ? ariel_get32(payload->dlens + (size_t)dict_code(payload, i) * 4)
                           : ariel_get32(payload->base + i * 4);
                if (off > plen || len > plen - off) return corrupt(g, col, "slice outside payload");
                continue;
            }
        }
        total += len;
    }
    if (total != avail) return corrupt(g, col, "lengths do not add up");
    return 0;
}

/* The first byte of row i of a plain or blocked string column (its block made readable). */
static inline const char *str_start(const struct col_state *s, uint64_t i)
{
    if (!s->ring) return s->bytes + s->offs[i];
    uint64_t b = i / s->bl_rows;
    return (const char *)s->ring->buf[s->bl_have[b] - 1] + (s->offs[i] - s->bl_start[b]);
}

static struct strm_str str_at(const struct col_state *s, uint64_t i)
{
    struct strm_str r = {NULL, 0};
    if (!s->present) return r;
    if (s->enc == ARIEL_ENC_CONST) {
        return r; /* filled by the caller: needs the constant's length */
    }
    if (s->dcodes) {
        uint32_t code = dict_code(s, i);
        r.len = ariel_get32(s->dlens + (size_t)code * 4);
        r.p = r.len ? s->bytes + s->doff[code] : NULL;
        return r;
    }
    r.len = ariel_get32(s->base + i * 4);
    r.p = r.len ? str_start(s, i) : NULL;
    return r;
}

static uint32_t pred_blocks(struct ariel_segment *g, const struct ariel_pred *p, uint8_t **ok,
                            size_t *okcap);
static bool block_masks(struct ariel_segment *g, struct ariel_scan_ctx *c,
                        const struct ariel_pred *preds, int npreds);

/* Value of INT/TIME column col at row i of a loaded column (0 when absent), as an int64. */
static int64_t int_at(const struct ariel_scan_ctx *c, int col, uint64_t i)
{
    const struct col_state *s = &c->st[col];
    if (!s->present) return 0;
    if (strm_event_cols[col].type == STRM_T_TIME) return s->times ? s->times[i] : s->tconst;
    uint8_t tmp[16];
    return (int64_t)get_uint(fixed_at(s, col_width(col), i, tmp), col_width(col));
}

/*
 * A 16-byte address key as an IPV4 column stores it (0: null): the key :: matches the null
 * rows; an IPv4-mapped key other than ::ffff:0.0.0.0 its address; any other key no row.
 */
static inline bool ipv4_key(const void *key, uint32_t len, uint32_t *want)
{
    uint64_t k0, k1;
    if (len != 16) return false;
    memcpy(&k0, key, 8);
    memcpy(&k1, (const uint8_t *)key + 8, 8);
    if (k0 != 0) return false;
    if (k1 == 0) {
        *want = 0;
        return true;
    }
    *want = (uint32_t)(k1 >> 32);
    return (uint32_t)k1 == 0xffff0000u && *want != 0;
}

/* Row i meets predicate p (its column loaded). */
static bool pred_holds(const struct ariel_scan_ctx *c, const struct ariel_pred *p, uint64_t i,
                       uint32_t constlen)
{
    int type = strm_event_cols[p->col].type;
    if (p->kind == ARIEL_PRED_RANGE) {
        if (type != STRM_T_INT && type != STRM_T_TIME) return true;
        int64_t v = int_at(c, p->col, i);
        return v >= p->lo && v <= p->hi;
    }
    if (p->kind != ARIEL_PRED_IN) return true;
    const struct col_state *s = &c->st[p->col];
    const void *val;
    size_t len;
    static const uint8_t zero16[16];
    struct strm_str str = {NULL, 0};
    uint8_t tmp[16];
    if (type == STRM_T_IP && s->present && !s->base && s->enc != ARIEL_ENC_NARROW) {
        /* stored as IPv4, 4 bytes (0: null): the row against each key's IPv4 form, without
         * widening it to 16 bytes (a needle search tests every row of its candidate blocks) */
        uint32_t a, want;
        memcpy(&a, s->raw + i * (uint64_t)s->wr, 4);
        for (int k = 0; k < p->nkeys; k++)
            if (ipv4_key(p->keys[k], p->key_lens[k], &want) && a == want) return true;
        return false;
    }
    if (type == STRM_T_IP) { /* a constant size: the compare is inlined */
        val = s->present ? fixed_at(s, 16, i, tmp) : zero16;
        for (int k = 0; k < p->nkeys; k++)
            if (p->key_lens[k] == 16 && memcmp(p->keys[k], val, 16) == 0) return true;
        return false;
    } else if (type == STRM_T_STR) {
        if (s->dmatch) {
            uint32_t code = dict_code(s, i);
            return (s->dmatch[code / 64] >> (code % 64)) & 1;
        }
        if (s->present && s->enc == ARIEL_ENC_CONST) {
            str.len = constlen;
            str.p = s->bytes;
        } else if (s->present && s->enc == ARIEL_ENC_STR) {
            str = str_at(s, i);
        } else if (s->present) {
            return true; /* not a plain string column: leave the test to the caller */
        }
        val = str.p;
        len = str.len;
    } else {
        return true;
    }
    for (int k = 0; k < p->nkeys; k++)
        if (p->key_lens[k] == len && (len == 0 || memcmp(p->keys[k], val, len) == 0)) return true;
    return false;
}

/*
 * Rows from..to-1 (their block of p's column readable) that meet p, appended to sel at nsel;
 * returns the new count. The loops a needle search spends its filtering in: a dictionary
 * code or an IPv4 address against the keys, a row at a time without a branch.
 */
static uint64_t sel_run(const struct ariel_scan_ctx *c, const struct ariel_pred *p, uint64_t from,
                        uint64_t to, uint32_t *sel, uint64_t nsel, uint32_t constlen)
{
    const struct col_state *s = &c->st[p->col];
    int type = strm_event_cols[p->col].type;
    if (p->kind == ARIEL_PRED_IN && type == STRM_T_STR && s->dmatch && s->dm_one >= 0) {
        uint32_t want = (uint32_t)s->dm_one;
        if (s->dcw == 2) {
            for (uint64_t i = from; i < to; i++) {
                sel[nsel] = (uint32_t)i;
                nsel += ((uint32_t)s->dcodes[2 * i] | (uint32_t)s->dcodes[2 * i + 1] << 8) == want;
            }
        } else {
            for (uint64_t i = from; i < to; i++) {
                sel[nsel] = (uint32_t)i;
                nsel += s->dcodes[i] == want;
            }
        }
        return nsel;
    }
    if (p->kind == ARIEL_PRED_IN && type == STRM_T_IP && p->nkeys == 1 && s->present && !s->base &&
        s->enc != ARIEL_ENC_NARROW && s->wr == 4) {
        uint32_t want;
        if (!ipv4_key(p->keys[0], p->key_lens[0], &want)) return nsel; /* no row can match */
        for (uint64_t i = from; i < to; i++) {
            uint32_t a;
            memcpy(&a, s->raw + i * 4, 4);
            sel[nsel] = (uint32_t)i;
            nsel += a == want;
        }
        return nsel;
    }
    for (uint64_t i = from; i < to; i++)
        if (pred_holds(c, p, i, constlen)) sel[nsel++] = (uint32_t)i;
    return nsel;
}

/* dict_match: entry d is a key (counted in *found once). */
static inline void dm_mark(struct col_state *s, uint64_t *m, uint32_t d, int *found)
{
    if (!(m[d / 64] >> (d % 64) & 1)) (*found)++;
    m[d / 64] |= 1ull << (d % 64);
    s->dm_one = (int32_t)d;
}

/*
 * For an IN predicate p on a dictionary-coded string column: marks the entries that are one
 * of its keys (dmatch), so that each row's test is a bit; *none when no entry is.
 */
static int dict_match(struct ariel_scan_ctx *c, const struct ariel_pred *p, bool *none)
{
    struct col_state *s = &c->st[p->col];
    if (!s->dcodes || strm_event_cols[p->col].type != STRM_T_STR) return 0;
    size_t words = ((size_t)s->dn + 63) / 64;
    if (scratch(&c->dm[p->col], &c->dmcap[p->col], words * 8)) return STRM_ERR_NOMEM;
    uint64_t *m = (uint64_t *)(void *)c->dm[p->col];
    memset(m, 0, words * 8);
    int found = 0; /* entries that are a key */
    s->dm_one = -1;
    if (s->dhash) { /* each key's entry by its hash */
        for (int k = 0; k < p->nkeys; k++) {
            uint32_t len = p->key_lens[k];
            for (size_t x = (size_t)XXH3_64bits(p->keys[k], len);; x++) {
                uint32_t e = s->dhash[x & s->dhmask];
                if (e == 0) break;
                if (ariel_get32(s->dlens + (size_t)(e - 1) * 4) == len &&
                    (len == 0 || memcmp(p->keys[k], s->bytes + s->doff[e - 1], len) == 0)) {
                    dm_mark(s, m, e - 1, &found);
                    break;
                }
            }
        }
    } else {
        /* a segment's user names are tens of thousands: the length, then the first byte,
         * before a memcmp call (that call per entry of the key's length was most of a needle
         * search's own time) */
        for (uint32_t d = 0; d < s->dn; d++) {
            uint32_t len = ariel_get32(s->dlens + (size_t)d * 4);
            const char *e = s->bytes + s->doff[d];
            for (int k = 0; k < p->nkeys; k++)
                if (p->key_lens[k] == len && (len == 0 || (((const char *)p->keys[k])[0] == e[0] &&
                                                           memcmp(p->keys[k], e, len) == 0))) {
                    dm_mark(s, m, d, &found);
                    break;
                }
        }
    }
    if (found != 1) s->dm_one = -1;
    s->dmatch = m;
    *none = found == 0;
    return 0;
}

/*
 * For a range predicate p on a column with per-block statistics: a mask of the blocks whose
 * min/max meet it (c->mask, one more); *none when no block does.
 */
static int minmax_mask(struct ariel_scan_ctx *c, const struct ariel_pred *p, bool *none)
{
    const struct col_state *s = &c->st[p->col];
    int m = c->nmask;
    if (c->mask[m].cap < s->bl_n) {
        uint8_t *o = realloc(c->mask[m].ok, s->bl_n);
        if (!o) return STRM_ERR_NOMEM;
        c->mask[m].ok = o;
        c->mask[m].cap = s->bl_n;
    }
    bool any = false;
    for (uint32_t b = 0; b < s->bl_n; b++) {
        const uint8_t *e = s->bl_stats + (size_t)b * ARIEL_BSTAT_SIZE;
        int64_t mn = (int64_t)ariel_get64(e), mx = (int64_t)ariel_get64(e + 8);
        c->mask[m].ok[b] = !(mx < p->lo || mn > p->hi);
        any |= c->mask[m].ok[b];
    }
    c->mask[m].R = s->bl_rows;
    c->mask[m].minmax = true;
    c->nmask++;
    *none = !any;
    return 0;
}

/*
 * The first row of the segment whose starttime (checkpointed, loaded) is >= t (> t when
 * strict), in *row (g->rows: none): the chunk from the checkpoints, then within it.
 */
static int time_bound(struct ariel_segment *g, struct ariel_scan_ctx *c, int64_t t, bool strict,
                      uint64_t *row)
{
    const struct col_state *s = &c->st[STRM_COL_STARTTIME];
    uint64_t lo = 0, hi = s->tck_n; /* the first chunk whose last value passes t */
    while (lo < hi) {
        uint64_t k = lo + (hi - lo) / 2;
        int64_t last =
            k + 1 < s->tck_n ? (int64_t)ariel_get64(s->tck + (k + 1) * 16 + 8) : g->max_time;
        if (strict ? last > t : last >= t)
            hi = k;
        else
            lo = k + 1;
    }
    *row = g->rows;
    if (lo == s->tck_n) return 0;
    if (!s->tck_have[lo]) {
        int rc = time_chunk(g, c, STRM_COL_STARTTIME, lo);
        if (rc != 0) return rc;
    }
    uint64_t from = lo * s->tck_rows,
             to = from + s->tck_rows < g->rows ? from + s->tck_rows : g->rows;
    for (uint64_t i = from; i < to; i++)
        if (strict ? s->times[i] > t : s->times[i] >= t) {
            *row = i;
            return 0;
        }
    return 0;
}

/*
 * The selected rows (c->sel[0..nsel)) of the vector columns as vectors of up to
 * ARIEL_VEC_ROWS values to c->vec_fn: no event is built.
 */
/*
 * The values of c->distinct_col in the selected rows to c->distinct_fn in batches: of a
 * dictionary-coded column each entry some row has, once; else every row's value.
 */
static int distinct_out(struct ariel_segment *g, struct ariel_scan_ctx *c, uint64_t nsel, void *arg,
                        int *stop)
{
    int col = c->distinct_col;
    const struct col_state *s = &c->st[col];
    struct strm_str v[ARIEL_VEC_ROWS];
    size_t nv = 0;
    if (!s->present) return 0; /* every value empty */
    uint64_t lo = 0, hi = 0;
    uint64_t *seen = NULL;
    if (s->dcodes) {
        size_t words = ((size_t)s->dn + 63) / 64;
        if (c->dseencap < words) {
            uint64_t *n = realloc(c->dseen, words * sizeof *n);
            if (!n) return STRM_ERR_NOMEM;
            c->dseen = n;
            c->dseencap = words;
        }
        seen = c->dseen;
        memset(seen, 0, words * sizeof *seen);
    }
    for (uint64_t si = 0; si < nsel; si++) {
        uint64_t i = c->sel[si];
        int rc = ensure_range(g, c, col, i, &lo, &hi);
        if (rc != 0) return rc;
        if (seen) {
            uint32_t code = dict_code(s, i);
            seen[code / 64] |= 1ull << (code % 64);
            continue;
        }
        if (s->enc == ARIEL_ENC_CONST) {
            v[nv].len = (uint32_t)g->cols[g->col_index[col]].rawsize;
            v[nv].p = s->bytes;
        } else {
            v[nv] = str_at(s, i);
        }
        /* a batch of blocked strings must stay readable: no more than the scan's batches */
        if (++nv == ARIEL_SCAN_BATCH) {
            if ((*stop = c->distinct_fn(v, nv, arg)) != 0) return 0;
            nv = 0;
        }
    }
    for (uint32_t d = 0; seen && d < s->dn; d++) {
        if (!(seen[d / 64] >> (d % 64) & 1)) continue;
        v[nv].len = ariel_get32(s->dlens + (size_t)d * 4);
        v[nv].p = v[nv].len ? s->bytes + s->doff[d] : NULL;
        if (++nv == ARIEL_VEC_ROWS) {
            if ((*stop = c->distinct_fn(v, nv, arg)) != 0) return 0;
            nv = 0;
        }
    }
    if (nv) *stop = c->distinct_fn(v, nv, arg);
    return 0;
}

/*
 * Rows sel[0..n-1] of a fixed-width column, all within the decoded range of its current
 * block, to dst (width bytes each): the choice of move made once for the run, not per row
 * (put_fixed's choice per value was a third of a GROUP BY over a time range).
 */
static void put_fixed_run(char *dst, const struct col_state *s, int width, const uint32_t *sel,
                          uint64_t n)
{
#define RUN(T, SRC)                                                                                \
    for (uint64_t j = 0; j < n; j++) {                                                             \
        T x;                                                                                       \
        memcpy(&x, (SRC) + (SRC##_step) * sel[j], sizeof x);                                       \
        memcpy(dst + j * sizeof x, &x, sizeof x);                                                  \
    }
    if (s->base && (width == 1 || width == 2 || width == 4 || width == 8)) {
        const uint8_t *base = s->base;
        size_t base_step = s->stride;
        switch (width) {
        case 1:
            RUN(uint8_t, base)
            return;
        case 2:
            RUN(uint16_t, base)
            return;
        case 4:
            RUN(uint32_t, base)
            return;
        default:
            RUN(uint64_t, base)
            return;
        }
    }
    if (!s->base && s->enc == ARIEL_ENC_NARROW && (width == 2 || width == 4 || width == 8) &&
        (s->wr == 1 || s->wr == 2 || s->wr == 4) && s->wr <= width) {
        /* zero-extended, with the sizes known to the compiler (a run of consecutive rows, as
         * a scan without a filter gives, in a loop it can vectorize) */
        bool dense = sel[n - 1] - sel[0] == n - 1;
        const uint8_t *raw = s->raw, *from = s->raw + (size_t)sel[0] * (size_t)s->wr;
#define WIDEN(TR, TW)                                                                              \
    if (dense) {                                                                                   \
        for (uint64_t j = 0; j < n; j++) {                                                         \
            TR x;                                                                                  \
            memcpy(&x, from + j * sizeof x, sizeof x);                                             \
            TW y = x;                                                                              \
            memcpy(dst + j * sizeof y, &y, sizeof y);                                              \
        }                                                                                          \
    } else {                                                                                       \
        for (uint64_t j = 0; j < n; j++) {                                                         \
            TR x;                                                                                  \
            memcpy(&x, raw + (size_t)sel[j] * sizeof x, sizeof x);                                 \
            TW y = x;                                                                              \
            memcpy(dst + j * sizeof y, &y, sizeof y);                                              \
        }                                                                                          \
    }                                                                                              \
    return;
        switch (s->wr * 16 + width) {
        case 1 * 16 + 2:
            WIDEN(uint8_t, uint16_t)
        case 1 * 16 + 4:
            WIDEN(uint8_t, uint32_t)
        case 1 * 16 + 8:
            WIDEN(uint8_t, uint64_t)
        case 2 * 16 + 2:
            WIDEN(uint16_t, uint16_t)
        case 2 * 16 + 4:
            WIDEN(uint16_t, uint32_t)
        case 2 * 16 + 8:
            WIDEN(uint16_t, uint64_t)
        case 4 * 16 + 4:
            WIDEN(uint32_t, uint32_t)
        default:
            WIDEN(uint32_t, uint64_t)
        }
#undef WIDEN
    }
#undef RUN
    for (uint64_t j = 0; j < n; j++)
        put_fixed(dst + j * (size_t)width, s, width, sel[j]);
}

static int vec_out(struct ariel_segment *g, struct ariel_scan_ctx *c, uint64_t nsel, void *arg,
                   int *stop)
{
    uint64_t lo[2] = {0, 0}, hi[2] = {0, 0};
    int width[2];
    for (int k = 0; k < c->nvec; k++)
        width[k] = col_width(c->vec_cols[k]);
    struct ariel_vec v = {0, {c->vbuf[0], c->vbuf[1]}};
    for (uint64_t si = 0; si < nsel;) {
        uint64_t take = nsel - si < ARIEL_VEC_ROWS - v.n ? nsel - si : ARIEL_VEC_ROWS - v.n;
        const uint32_t *sel = c->sel + si;
        for (int k = 0; k < c->nvec; k++) {
            const struct col_state *s = &c->st[c->vec_cols[k]];
            char *dst = (char *)c->vbuf[k] + v.n * (size_t)width[k];
            if (!s->present) {
                memset(dst, 0, (size_t)width[k] * take);
                continue;
            }
            /* runs of rows inside the decoded range of the column's current block */
            for (uint64_t j = 0; j < take;) {
                int rc = ensure_range(g, c, c->vec_cols[k], sel[j], &lo[k], &hi[k]);
                if (rc != 0) return rc;
                uint64_t e = j + 1;
                while (e < take && sel[e] < hi[k] && sel[e] >= lo[k])
                    e++;
                put_fixed_run(dst + j * (size_t)width[k], s, width[k], sel + j, e - j);
                j = e;
            }
        }
        si += take;
        v.n += take;
        if (v.n == ARIEL_VEC_ROWS) {
            if ((*stop = c->vec_fn(&v, arg)) != 0) return 0;
            v.n = 0;
        }
    }
    if (v.n) *stop = c->vec_fn(&v, arg);
    return 0;
}

int ariel_seg_scan(struct ariel_segment *g, struct ariel_scan_ctx *c, int64_t tmin, int64_t tmax,
                   uint64_t colmask, const struct ariel_pred *preds, int npreds, ariel_row_fn fn,
                   void *arg, int *stop)
{
    uint64_t need = colmask | 1ull << STRM_COL_STARTTIME, loaded = 0, pmask = 0;
    struct strm_event ev;
    int fd, rc = 0, ncols = 0;
    int out_cols[STRM_COL__COUNT];
    uint32_t constlen[STRM_COL__COUNT];
    uint64_t nsel = 0;

    /* the rows to read: all, or those ariel_scan_ctx_rows set for this scan only */
    uint64_t row_lo = c->row_lo, row_hi = c->row_hi && c->row_hi < g->rows ? c->row_hi : g->rows;
    c->row_lo = c->row_hi = 0;
    if (atomic_load_explicit(&g->bad, memory_order_relaxed)) return STRM_ERR_CORRUPT;
    if (need & (1ull << STRM_COL_MESSAGE) && g->col_index[STRM_COL_MESSAGE] >= 0 &&
        g->cols[g->col_index[STRM_COL_MESSAGE]].enc == ARIEL_ENC_MSGSLICE)
        need |= 1ull << STRM_COL_PAYLOAD;
    /* the per-block filters: from ariel_seg_excluded for this segment, else now */
    bool masked = c->mask_seg == g || block_masks(g, c, preds, npreds);
    c->mask_seg = NULL;
    if (!masked) return 0; /* no block can hold a match */
    int nmask = c->nmask;
    for (int k = 0; k < npreds; k++) {
        int col = preds[k].col;
        if (preds[k].kind == ARIEL_PRED_TOKENS) continue;
        if (col < 0 || col >= STRM_COL__COUNT || col == STRM_COL_MESSAGE || col == STRM_COL_PAYLOAD)
            continue;
        if (preds[k].kind == ARIEL_PRED_RANGE && col == STRM_COL_STARTTIME && preds[k].lo <= tmin &&
            preds[k].hi >= tmax)
            continue; /* the scan's time range says it already */
        pmask |= 1ull << col;
    }
    fd = g->fd; /* held from the load: still valid after compaction or retention unlinks */
    c->fd = fd;
    /* pass 0: the time and the predicates' columns; pass 1: the rest, only when some row
     * is left. Payload before message: a message slice is checked against it. */
    static const int order_last[2] = {STRM_COL_PAYLOAD, STRM_COL_MESSAGE};
    /* a segment inside the time range needs no starttime to pick its rows: it is decoded
     * (every row's delta) only if some row is left */
    bool inside = g->min_time >= tmin && g->max_time <= tmax;
    for (int pass = 0; pass < 2; pass++) {
        uint64_t want = pass == 0 ? (inside ? 0 : 1ull << STRM_COL_STARTTIME) | pmask : need;
        for (int c0 = 0; c0 < STRM_COL__COUNT + 2; c0++) {
            int col = c0 < STRM_COL__COUNT ? c0 : order_last[c0 - STRM_COL__COUNT];
            if (c0 < STRM_COL__COUNT && (col == STRM_COL_PAYLOAD || col == STRM_COL_MESSAGE))
                continue;
            if (!(want & (1ull << col)) || (loaded & (1ull << col))) continue;
            rc = load_col(g, fd, c, col, col == STRM_COL_MESSAGE ? &c->st[STRM_COL_PAYLOAD] : NULL);
            if (rc != 0) goto out;
            loaded |= 1ull << col;
            constlen[col] =
                c->st[col].present && c->st[col].enc == ARIEL_ENC_CONST && !col_width(col)
                    ? (uint32_t)g->cols[g->col_index[col]].rawsize
                    : 0;
        }
        if (pass == 1) break;
        /* IN on a dictionary-coded column (the only one on it): the keys' codes, looked up
         * once; none, no row. A range on a column with per-block min/max: the blocks it
         * leaves (as the index filters' masks). */
        bool none = false;
        for (int k = 0; k < npreds && !none; k++)
            if (preds[k].kind == ARIEL_PRED_RANGE && (pmask & (1ull << preds[k].col)) &&
                c->st[preds[k].col].bl_stats && c->nmask < ARIEL_SCAN_MASKS &&
                (rc = minmax_mask(c, &preds[k], &none)) != 0)
                goto out;
        nmask = c->nmask;
        if (none) c->skip_rows[1] += g->rows;
        bool by_minmax = none;
        for (int k = 0; k < npreds && !none; k++) {
            if (preds[k].kind != ARIEL_PRED_IN || !(pmask & (1ull << preds[k].col))) continue;
            int same = 0;
            for (int j = 0; j < npreds; j++)
                same += preds[j].kind == ARIEL_PRED_IN && preds[j].col == preds[k].col;
            if (same == 1 && (rc = dict_match(c, &preds[k], &none)) != 0) goto out;
        }
        if (none && !by_minmax) c->skip_rows[0] += g->rows; /* the dictionary lacks the keys */
        if (none) goto out;
        /* the rows in the time range that meet every predicate */
        if (c->selcap < g->rows) { /* scratch: nothing to keep, so no realloc copy */
            free(c->sel);
            c->selcap = 0;
            if (!(c->sel = malloc((size_t)g->rows * sizeof *c->sel))) {
                rc = STRM_ERR_NOMEM;
                goto out;
            }
            c->selcap = (size_t)g->rows;
        }
        bool by_ends = false; /* the rows are the time range's, found by its ends */
        if (nmask == 0 && pmask == 0 && (inside || c->st[STRM_COL_STARTTIME].tck)) {
            /* every row of the range: found by its ends (rows are sorted by starttime) */
            uint64_t lo = row_lo, hi = row_hi;
            if (!inside) {
                uint64_t a, b = g->rows;
                if ((rc = time_bound(g, c, tmin, false, &a)) != 0 ||
                    (tmax < INT64_MAX && (rc = time_bound(g, c, tmax, true, &b)) != 0))
                    goto out;
                lo = a > lo ? a : lo;
                hi = b < hi ? b : hi;
            }
            if (c->count_only) {
                c->counted += hi > lo ? hi - lo : 0;
                goto out;
            }
            for (uint64_t i = lo; i < hi; i++)
                c->sel[nsel++] = (uint32_t)i;
            by_ends = true;
        }
        const struct col_state *ts = &c->st[STRM_COL_STARTTIME];
        /* a segment inside the time range with one predicate to test row by row: its rows
         * are tested a block at a time (sel_run) */
        int fast = -1, ntest = 0;
        for (int k = 0; k < npreds; k++)
            if (preds[k].kind != ARIEL_PRED_TOKENS && (pmask & (1ull << preds[k].col))) {
                fast = k;
                ntest++;
            }
        if (!inside || ntest != 1) fast = -1;
        /* per-row work without divisions: each mask, time chunk and predicate column is
         * looked at again only past the end of the block it was last looked at for */
        uint64_t mask_end = 0, tck_end = 0, pred_end[ARIEL_MAX_PREDS];
        for (int k = 0; k < npreds && k < ARIEL_MAX_PREDS; k++)
            pred_end[k] = 0;
        for (uint64_t i = by_ends ? row_hi : row_lo; i < row_hi; i++) {
            if (i >= mask_end) {
                int out_m = -1; /* a filter that rules this row's block out */
                uint64_t end = g->rows;
                for (int m = 0; m < nmask && out_m < 0; m++) {
                    uint64_t R = c->mask[m].R, b = i / R;
                    if (!c->mask[m].ok[b]) out_m = m;
                    end = (b + 1) * R < end ? (b + 1) * R : end;
                }
                if (out_m >= 0) { /* on to its next block */
                    uint64_t R = c->mask[out_m].R, next = (i / R + 1) * R;
                    c->skip_rows[c->mask[out_m].minmax] += (next < g->rows ? next : g->rows) - i;
                    i = next - 1;
                    continue;
                }
                mask_end = end;
            }
            if (fast >= 0) { /* the rest of the block, in one go */
                int pc = preds[fast].col;
                if ((rc = ensure_block(g, c, pc, i)) != 0) goto out;
                uint64_t end = valid_until(&c->st[pc], i, g->rows);
                end = end < mask_end ? end : mask_end;
                end = end < row_hi ? end : row_hi;
                nsel = sel_run(c, &preds[fast], i, end, c->sel, nsel, constlen[pc]);
                i = end - 1;
                continue;
            }
            if (!inside && ts->tck && i >= tck_end) {
                uint64_t k = i / ts->tck_rows;
                tck_end = (k + 1) * ts->tck_rows;
                /* a chunk whose last row (the next checkpoint's value) is before the range
                 * is passed over undecoded */
                if (k + 1 < ts->tck_n && (int64_t)ariel_get64(ts->tck + (k + 1) * 16 + 8) < tmin) {
                    i = tck_end - 1;
                    continue;
                }
                if (!ts->tck_have[k] && (rc = time_chunk(g, c, STRM_COL_STARTTIME, k)) != 0)
                    goto out;
            }
            if (!inside) {
                int64_t t = ts->times ? ts->times[i] : ts->tconst;
                if (t < tmin) continue;
                if (t > tmax) break; /* rows are sorted by starttime */
            }
            bool ok = true;
            for (int k = 0; k < npreds && ok; k++) {
                int pc = preds[k].col;
                if (preds[k].kind == ARIEL_PRED_TOKENS || !(pmask & (1ull << pc))) continue;
                if (k >= ARIEL_MAX_PREDS || i >= pred_end[k]) {
                    if ((rc = ensure_block(g, c, pc, i)) != 0) goto out;
                    if (k < ARIEL_MAX_PREDS) pred_end[k] = valid_until(&c->st[pc], i, g->rows);
                }
                ok = pred_holds(c, &preds[k], i, constlen[pc]);
            }
            if (ok) c->sel[nsel++] = (uint32_t)i;
        }
        if (nsel == 0) goto out; /* nothing else of this segment is read */
        if (c->count_only) {     /* the rows are the answer: none is read further */
            c->counted += nsel;
            goto out;
        }
        if (inside && !(loaded & (1ull << STRM_COL_STARTTIME))) c->time_rows = c->sel[nsel - 1] + 1;
    }
    for (int col = 0; col < STRM_COL__COUNT; col++)
        if ((colmask & (1ull << col)) && (loaded & (1ull << col))) out_cols[ncols++] = col;
    int blk_cols[STRM_COL__COUNT], nblk = 0; /* blocked columns the rows read */
    for (int col = 0; col < STRM_COL__COUNT; col++)
        if ((loaded & (1ull << col)) && (c->st[col].blocked || c->st[col].tck) &&
            ((colmask & (1ull << col)) || col == STRM_COL_PAYLOAD))
            blk_cols[nblk++] = col;

    memset(&ev, 0, sizeof ev);
    size_t nb = 0; /* rows in c->evbuf (batch mode) */
    if (c->batch_fn)
        for (size_t b = 0; b < ARIEL_SCAN_BATCH; b++)
            memset(&c->evbuf[b], 0, sizeof c->evbuf[b]);
    /* the rows [blk_lo, blk_hi) of each blocked column are readable (a range a block wide) */
    uint64_t blk_lo[STRM_COL__COUNT] = {0}, blk_hi[STRM_COL__COUNT] = {0};
    if (c->vec_fn) { /* as column vectors */
        rc = vec_out(g, c, nsel, arg, stop);
        goto out;
    }
    if (c->distinct_fn) { /* distinct values of a string column */
        rc = distinct_out(g, c, nsel, arg, stop);
        goto out;
    }
    for (uint64_t s0 = 0; s0 < nsel; s0++) {
        /* newest first for ORDER BY starttime DESC; with an order, the rest of the segment
         * is read only while its time range can still beat the rows kept (c->keep) */
        uint64_t si = c->reverse ? nsel - 1 - s0 : s0, i = c->sel[si];
        if (c->keep && s0 > 0 && (s0 % ARIEL_SCAN_BATCH) == 0) {
            if ((rc = ensure_block(g, c, STRM_COL_STARTTIME, i)) != 0) goto out;
            const struct col_state *ts = &c->st[STRM_COL_STARTTIME];
            int64_t t = ts->times ? ts->times[i] : ts->tconst;
            if (!c->keep(c->reverse ? g->min_time : t, c->reverse ? t : g->max_time, c->karg))
                break;
        }
        for (int k = 0; k < nblk; k++)
            if ((rc = ensure_range(g, c, blk_cols[k], i, &blk_lo[k], &blk_hi[k])) != 0) goto out;
        struct strm_event *e = c->batch_fn ? &c->evbuf[nb] : &ev;
        for (int k = 0; k < ncols; k++) {
            int col = out_cols[k];
            const struct col_state *s = &c->st[col];
            char *dst = (char *)e + strm_event_cols[col].offset;
            int width = col_width(col);
            if (!s->present) continue;
            if (strm_event_cols[col].type == STRM_T_TIME) {
                int64_t v = s->times ? s->times[i] : s->tconst;
                memcpy(dst, &v, 8);
            } else if (width) {
                put_fixed(dst, s, width, i);
            } else {
                struct strm_str v;
                if (s->enc == ARIEL_ENC_CONST) {
                    v.len = constlen[col];
                    v.p = v.len ? s->bytes : NULL;
                } else if (s->enc == ARIEL_ENC_MSGSLICE) {
                    uint32_t off = ariel_get32(s->base + i * 8);
                    v.len = ariel_get32(s->base + i * 8 + 4);
                    if (off == UINT32_MAX) {
                        v.p = v.len ? s->bytes + s->offs[i] : NULL;
                    } else {
                        const struct col_state *ps = &c->st[STRM_COL_PAYLOAD];
                        uint32_t plen = ps->blocked ? str_at(ps, i).len : UINT32_MAX;
                        if (off > plen || v.len > plen - off) {
                            rc = corrupt(g, col, "slice outside payload");
                            goto out;
                        }
                        const char *pp = ps->enc == ARIEL_ENC_CONST ? ps->bytes
                                         : ps->dcodes ? ps->bytes + ps->doff[dict_code(ps, i)]
                                                      : str_start(ps, i);
                        v.p = pp + off;
                    }
                } else {
                    v = str_at(s, i);
                }
                memcpy(dst, &v, sizeof v);
            }
        }
        if (!c->batch_fn) {
            if ((*stop = fn(&ev, arg)) != 0) goto out;
        } else if (++nb == ARIEL_SCAN_BATCH) {
            nb = 0;
            if ((*stop = c->batch_fn(c->evbuf, ARIEL_SCAN_BATCH, arg)) != 0) goto out;
        }
    }
    if (nb) *stop = c->batch_fn(c->evbuf, nb, arg);
out:
    c->time_rows = 0;
    return rc;
}

/* The Bloom blob of col, read and checked on first use; NULL when absent or unreadable. */
static const uint8_t *bloom_of(struct ariel_segment *g, int col, size_t *len)
{
    int k = g->idx_index[col];
    if (k < 0 || atomic_load_explicit(&g->bloom_bad[col], memory_order_relaxed)) return NULL;
    const struct ariel_seg_col *dc = &g->cols[k];
    *len = dc->csize;
    uint8_t *b = atomic_load_explicit(&g->bloom[col], memory_order_acquire);
    if (b) return b;
    b = malloc(dc->csize ? dc->csize : 1);
    bool ok = b && ariel_read_all(g->fd, b, dc->csize, dc->offset) == 0 &&
              XXH3_64bits(b, dc->csize) == dc->hash;
    if (!ok) {
        free(b);
        atomic_store(&g->bloom_bad[col], true); /* scanned, never skipped by it */
        return NULL;
    }
    uint8_t *expected = NULL;
    if (!atomic_compare_exchange_strong(&g->bloom[col], &expected, b)) {
        free(b); /* another scan read it first */
        b = expected;
    }
    return b;
}

#define TOK_MAX_KEYS 64

/*
 * ok[b] for each block b of col's per-block filters ('TKB1': the payload's token index, the
 * value filters of sourceip, destinationip, username): whether the block may hold every
 * hash (all) or one of them (!all). Returns the rows per block, or 0 when col has no such
 * index (or nothing to look up): then nothing may be excluded.
 */
static uint32_t filter_blocks(struct ariel_segment *g, int col, const uint64_t *hs, int nh,
                              bool all, uint8_t **ok, size_t *okcap)
{
    size_t len;
    const uint8_t *b = nh ? bloom_of(g, col, &len) : NULL;
    if (!b || len < 12 || ariel_get32(b) != 0x31424b54u) return 0;
    uint32_t R = ariel_get32(b + 4), nb = ariel_get32(b + 8);
    if (R == 0 || nb != (g->rows + R - 1) / R || (uint64_t)nb * 4 > len - 12) return 0;
    if (*okcap < nb) {
        uint8_t *o = realloc(*ok, nb);
        if (!o) return 0;
        *ok = o;
        *okcap = nb;
    }
    size_t pos = 12 + (size_t)nb * 4;
    for (uint32_t i = 0; i < nb; i++) {
        uint32_t bl = ariel_get32(b + 12 + (size_t)i * 4);
        if (bl > len - pos) return 0;
        bool may = all;
        for (int t = 0; t < nh && may == all; t++)
            may = ariel_bloom_may_contain(b + pos, bl, hs[t]);
        (*ok)[i] = may;
        pos += bl;
    }
    return pos == len ? R : 0;
}

/* filter_blocks for a predicate: TOKENS (every token of the words) or IN (one of the keys). */
static uint32_t pred_blocks(struct ariel_segment *g, const struct ariel_pred *p, uint8_t **ok,
                            size_t *okcap)
{
    uint64_t hs[TOK_MAX_KEYS];
    int nh = 0;
    if (p->kind == ARIEL_PRED_TOKENS) {
        /* the words' tokens, found as the writer finds the payload's (tok_bitmap) */
        for (int k = 0; k < p->nkeys; k++) {
            size_t wl = p->key_lens[k], nw = (wl + 63) / 64;
            uint64_t *bm = malloc((nw + 1) * sizeof *bm);
            uint32_t *pos = malloc((wl + 1) * sizeof *pos);
            if (!bm || !pos) {
                free(bm);
                free(pos);
                return 0;
            }
            tok_bitmap(p->keys[k], wl, bm);
            size_t np = tok_runs(bm, wl, pos);
            for (size_t j = 0; j < np && nh < TOK_MAX_KEYS; j += 2)
                hs[nh++] = ariel_token_hash((const char *)p->keys[k] + pos[j], pos[j + 1] - pos[j]);
            free(bm);
            free(pos);
        }
        return filter_blocks(g, STRM_COL_PAYLOAD, hs, nh, true, ok, okcap);
    }
    if (p->kind != ARIEL_PRED_IN || p->col < 0 || p->col >= STRM_COL__COUNT ||
        !ariel_col_bloomed(p->col) || p->nkeys > TOK_MAX_KEYS)
        return 0;
    for (int k = 0; k < p->nkeys; k++)
        hs[nh++] = ariel_bloom_hash(p->keys[k], p->key_lens[k]);
    return filter_blocks(g, p->col, hs, nh, false, ok, okcap);
}

/*
 * The per-block filters of the predicates (IN on sourceip, destinationip, username; TOKENS)
 * for segment g into c->mask, so that the scan reads only the blocks of rows they leave;
 * false when one of them leaves no block (the segment cannot hold a match). Computed once
 * per segment: by ariel_seg_excluded, or by the scan when it was not called.
 */
static bool block_masks(struct ariel_segment *g, struct ariel_scan_ctx *c,
                        const struct ariel_pred *preds, int npreds)
{
    bool some = true;
    uint8_t *spare = NULL; /* filters beyond ARIEL_SCAN_MASKS still rule the segment out */
    size_t spare_cap = 0;
    c->nmask = 0;
    c->mask_seg = g;
    for (int k = 0; k < npreds && some; k++) {
        if (preds[k].kind != ARIEL_PRED_TOKENS && preds[k].kind != ARIEL_PRED_IN) continue;
        bool slot = c->nmask < ARIEL_SCAN_MASKS;
        uint8_t **ok = slot ? &c->mask[c->nmask].ok : &spare;
        size_t *cap = slot ? &c->mask[c->nmask].cap : &spare_cap;
        uint32_t R = pred_blocks(g, &preds[k], ok, cap);
        if (!R) continue;
        some = false;
        for (uint64_t b = 0; b * R < g->rows && !some; b++)
            some = (*ok)[b];
        if (slot) {
            c->mask[c->nmask].minmax = false;
            c->mask[c->nmask++].R = R;
        }
    }
    free(spare);
    return some;
}

int ariel_seg_excluded(struct ariel_segment *g, struct ariel_scan_ctx *c,
                       const struct ariel_pred *preds, int npreds)
{
    for (int i = 0; i < npreds; i++) {
        const struct ariel_pred *p = &preds[i];
        if (p->col < 0 || p->col >= STRM_COL__COUNT) continue;
        if (p->kind == ARIEL_PRED_RANGE) {
            int k = g->col_index[p->col];
            if (k < 0) continue; /* absent: not worth a guess */
            const struct ariel_seg_col *dc = &g->cols[k];
            if (dc->max < p->lo || dc->min > p->hi) return 1;
        } else if (p->kind == ARIEL_PRED_IN) {
            size_t len;
            const uint8_t *b = bloom_of(g, p->col, &len);
            if (!b) continue;
            if (len >= 4 && ariel_get32(b) == 0x31424b54u) continue; /* per block: below */
            bool any = false;
            for (int j = 0; j < p->nkeys && !any; j++)
                any = ariel_bloom_may_contain(b, len, ariel_bloom_hash(p->keys[j], p->key_lens[j]));
            if (!any) return 2;
        }
    }
    return block_masks(g, c, preds, npreds) ? 0 : 2;
}
