/*
 * strsearch.h - substring search tuned for log lines: short needles, one-line haystacks.
 */
#ifndef STRM_CORE_STRSEARCH_H
#define STRM_CORE_STRSEARCH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* How likely a byte is NOT to be frequent in log text (higher: rarer); strm_memmem anchors its
 * memchr on the rarest byte of the needle so that memchr stops rarely on a false hit. Lower
 * case letters are ranked by their frequency in English text (field names and messages):
 * "logid=" is searched by its 'g', not by its 'l'. The table holds 2 - rarity. */
static const int8_t strm_byte_commonness[256] = {
    [' '] = 2,  ['"'] = 2,  ['='] = 2,  [','] = 2,  [':'] = 2,  ['.'] = 2,  ['0'] = 1,  ['1'] = 1,
    ['2'] = 1,  ['3'] = 1,  ['4'] = 1,  ['5'] = 1,  ['6'] = 1,  ['7'] = 1,  ['8'] = 1,  ['9'] = 1,
    ['e'] = 1,  ['t'] = 1,  ['a'] = 1,  ['o'] = 1,  ['i'] = 1,  ['n'] = 1,  ['s'] = 1,  ['r'] = 1,
    ['h'] = 1,  ['l'] = 1,  ['d'] = 1,  ['c'] = 1,  ['u'] = 1,  ['m'] = 1,  ['j'] = -1, ['q'] = -1,
    ['x'] = -1, ['z'] = -1, ['A'] = -1, ['B'] = -1, ['C'] = -1, ['D'] = -1, ['E'] = -1, ['F'] = -1,
    ['G'] = -1, ['H'] = -1, ['I'] = -1, ['J'] = -1, ['K'] = -1, ['L'] = -1, ['M'] = -1, ['N'] = -1,
    ['O'] = -1, ['P'] = -1, ['Q'] = -1, ['R'] = -1, ['S'] = -1, ['T'] = -1, ['U'] = -1, ['V'] = -1,
    ['W'] = -1, ['X'] = -1, ['Y'] = -1, ['Z'] = -1,
};

static inline int strm_byte_rarity(unsigned char c)
{
    return 2 - strm_byte_commonness[c];
}

/*
 * memmem for short needles in one-line haystacks (the DSMs, AQL's LIKE). glibc memmem builds a
 * 256-entry shift table on every call for needles of 3+ bytes; with short needles and one-line
 * haystacks that set-up was a quarter of the DSM profile. Here two bytes of the needle are the
 * anchors: its rarest-looking byte a and, as a second, its last byte (its first when a is the
 * last). Sixteen candidate positions at a time are tested for both anchors with SSE2 and only
 * positions holding both are compared whole, in order, so the first match is returned. The anchor
 * alone (memchr, then memcmp) stopped on every frequent letter: a DSM rejecting a foreign line by a
 * missing "logid=" paid a call per 'g' in the line.
 */
static inline void *strm_memmem(const void *hay, size_t n, const void *needle, size_t m)
{
    const unsigned char *h = (const unsigned char *)hay, *nd = (const unsigned char *)needle;
    if (m == 0) return (void *)h;
    if (!h || m > n) return NULL;
    size_t a = 0;
    int best = strm_byte_rarity(nd[0]);
    for (size_t i = 1; i < m && best < 3; i++) {
        int r = strm_byte_rarity(nd[i]);
        if (r > best) {
            best = r;
            a = i;
        }
    }
    size_t b = a == m - 1 ? 0 : m - 1; /* == a only when m == 1 */
    size_t i = 0, last = n - m;        /* candidate starts are 0..last */
#ifdef __SSE2__
    const __m128i va = _mm_set1_epi8((char)nd[a]), vb = _mm_set1_epi8((char)nd[b]);
    for (; i + 16 <= last + 1; i += 16) {
        __m128i ha = _mm_loadu_si128((const __m128i *)(const void *)(h + i + a));
        __m128i hb = _mm_loadu_si128((const __m128i *)(const void *)(h + i + b));
        unsigned bits = (unsigned)_mm_movemask_epi8(
            _mm_and_si128(_mm_cmpeq_epi8(ha, va), _mm_cmpeq_epi8(hb, vb)));
        while (bits) {
            size_t c = i + (size_t)__builtin_ctz(bits);
            if (memcmp(h + c, nd, m) == 0) return (void *)(h + c);
            bits &= bits - 1;
        }
    }
#endif
    for (; i <= last; i++)
        if (h[i + a] == nd[a] && h[i + b] == nd[b] && memcmp(h + i, nd, m) == 0)
            return (void *)(h + i);
    return NULL;
}

#endif
