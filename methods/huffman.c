/* Canonical Huffman coding. Lengths come from the textbook merge of the two lightest trees
 * (ties to the lower node id, so the result is deterministic); codes are canonical, so a
 * decoder needs only the lengths, which is what the size accounting charges for. */
#include "methods/huffman.h"
#include <assert.h>
#include <string.h>

void mt_huff_lengths(const uint64_t *freq, int n_sym, uint8_t *len)
{
    assert(n_sym >= 1 && n_sym <= MT_HUFF_MAX_SYMBOLS);
    enum { MAXN = 2 * MT_HUFF_MAX_SYMBOLS };
    uint64_t w[MAXN];
    int parent[MAXN], alive[MAXN], n = 0, used = 0;
    memset(len, 0, (size_t)n_sym);
    for (int s = 0; s < n_sym; s++) {
        w[s] = freq[s]; parent[s] = -1; alive[s] = freq[s] > 0; used += freq[s] > 0;
    }
    n = n_sym;
    if (used == 0) return;
    if (used == 1) {
        for (int s = 0; s < n_sym; s++) if (freq[s]) len[s] = 1;
        return;
    }
    for (int left = used; left > 1; left--) {
        int a = -1, b = -1;
        for (int i = 0; i < n; i++) {
            if (!alive[i]) continue;
            if (a < 0 || w[i] < w[a]) { b = a; a = i; }
            else if (b < 0 || w[i] < w[b]) b = i;
        }
        w[n] = w[a] + w[b]; parent[n] = -1; alive[n] = 1;
        parent[a] = parent[b] = n; alive[a] = alive[b] = 0;
        n++;
    }
    for (int s = 0; s < n_sym; s++) {
        if (!freq[s]) continue;
        int d = 0;
        for (int i = s; parent[i] >= 0; i = parent[i]) d++;
        assert(d <= MT_HUFF_MAX_LEN);
        len[s] = (uint8_t)d;
    }
}

void mt_huff_codes(const uint8_t *len, int n_sym, uint64_t *code)
{
    uint64_t next = 0;
    int prev = 0;
    for (int l = 1; l <= MT_HUFF_MAX_LEN; l++)
        for (int s = 0; s < n_sym; s++) {
            if (len[s] != l) continue;
            next <<= (l - prev);
            prev = l;
            code[s] = next++;
        }
    for (int s = 0; s < n_sym; s++) if (!len[s]) code[s] = 0;
}

uint64_t mt_huff_bits(const uint64_t *freq, const uint8_t *len, int n_sym)
{
    uint64_t b = 0;
    for (int s = 0; s < n_sym; s++) b += freq[s] * len[s];
    return b;
}

uint64_t mt_huff_encode(const uint32_t *sym, size_t n, const uint8_t *len, const uint64_t *code,
                        uint8_t *out)
{
    uint64_t pos = 0;
    for (size_t j = 0; j < n; j++) {
        int l = len[sym[j]];
        assert(l > 0 && "symbol without a code");
        for (int b = l - 1; b >= 0; b--, pos++)
            if ((code[sym[j]] >> b) & 1u) out[pos >> 3] |= (uint8_t)(0x80u >> (pos & 7));
    }
    return pos;
}

int mt_huff_decode(const uint8_t *in, uint64_t nbits, const uint8_t *len, int n_sym,
                   uint32_t *sym, size_t n)
{
    /* Canonical decoding: codes of length l are first[l] .. first[l] + count[l] - 1 and map,
     * in symbol order, to the symbols sorted by (length, symbol). */
    uint64_t count[MT_HUFF_MAX_LEN + 1] = { 0 }, first[MT_HUFF_MAX_LEN + 1] = { 0 };
    int offset[MT_HUFF_MAX_LEN + 1] = { 0 }, sorted[MT_HUFF_MAX_SYMBOLS], k = 0;
    for (int l = 1; l <= MT_HUFF_MAX_LEN; l++) {
        offset[l] = k;
        for (int s = 0; s < n_sym; s++) if (len[s] == l) { sorted[k++] = s; count[l]++; }
    }
    uint64_t code = 0;
    for (int l = 1; l <= MT_HUFF_MAX_LEN; l++) {
        first[l] = code;
        code = (code + count[l]) << 1;
    }
    uint64_t pos = 0;
    for (size_t j = 0; j < n; j++) {
        uint64_t c = 0;
        int l = 0;
        for (;;) {
            if (pos >= nbits || l == MT_HUFF_MAX_LEN) return -1;
            c = (c << 1) | ((in[pos >> 3] >> (7 - (pos & 7))) & 1u);
            pos++; l++;
            if (count[l] && c - first[l] < count[l] && c >= first[l]) break;
        }
        sym[j] = (uint32_t)sorted[offset[l] + (int)(c - first[l])];
    }
    return 0;
}
