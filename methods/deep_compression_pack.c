/* Packing one layer the Deep Compression way. Entry e sits gap_e positions after entry e-1
 * (the first after position -1); its code is a centroid's or, for filler entries that only
 * bridge long gaps, the reserved zero code. */
#include "methods/deep_compression_pack.h"
#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include "methods/footprint.h"
#include "methods/huffman.h"

static int code_stream(const uint32_t *sym, size_t n, int n_sym, uint8_t *len, uint8_t **out,
                       uint64_t *bits)
{
    uint64_t freq[MT_HUFF_MAX_SYMBOLS] = { 0 }, code[MT_HUFF_MAX_SYMBOLS];
    for (size_t j = 0; j < n; j++) freq[sym[j]]++;
    mt_huff_lengths(freq, n_sym, len);
    mt_huff_codes(len, n_sym, code);
    uint64_t nb = mt_huff_bits(freq, len, n_sym);
    *out = calloc((size_t)(nb / 8 + 1), 1);
    if (!*out) return -1;
    *bits = mt_huff_encode(sym, n, len, code, *out);
    assert(*bits == nb);
    return 0;
}

int mt_dc_pack(const uint8_t *mask, const uint8_t *assign, size_t n, const float *centroid, int k,
               int zero_code, int bits, int index_bits, mt_dc_packed *p)
{
    assert(bits >= 1 && bits <= 8 && index_bits >= 1 && index_bits <= 8);
    assert(k >= 1 && k + zero_code <= (1 << bits));
    memset(p, 0, sizeof *p);
    p->n = n; p->bits = bits; p->index_bits = index_bits;
    p->zero_code = zero_code; p->n_centroids = k;
    for (int c = 0; c < k; c++) p->codebook[c + zero_code] = centroid[c];

    size_t *pos = malloc((n ? n : 1) * sizeof *pos);
    uint32_t *wsym = malloc((n ? n : 1) * sizeof *wsym), *isym = malloc((n ? n : 1) * sizeof *isym);
    int rc = -1;
    if (!pos || !wsym || !isym) goto done;
    p->entries = mt_sparse_entries(NULL, mask, n, index_bits, pos, &p->kept);
    assert(zero_code || p->entries == p->kept);
    long long prev = -1;
    for (size_t e = 0; e < p->entries; e++) {
        size_t j = pos[e];
        int filler = mask && !mask[j];
        wsym[e] = filler ? 0u : (uint32_t)(assign[j] + zero_code);
        isym[e] = (uint32_t)((long long)j - prev - 1);
        prev = (long long)j;
    }
    if (code_stream(wsym, p->entries, 1 << bits, p->wlen, &p->wstream, &p->wbits) ||
        code_stream(isym, p->entries, 1 << index_bits, p->ilen, &p->istream, &p->ibits))
        goto done;
    rc = 0;
done:
    free(pos); free(wsym); free(isym);
    if (rc) mt_dc_packed_free(p);
    return rc;
}

int mt_dc_unpack(const mt_dc_packed *p, float *w)
{
    uint32_t *wsym = malloc((p->entries ? p->entries : 1) * sizeof *wsym);
    uint32_t *isym = malloc((p->entries ? p->entries : 1) * sizeof *isym);
    int rc = -1;
    if (!wsym || !isym) goto done;
    if (mt_huff_decode(p->wstream, p->wbits, p->wlen, 1 << p->bits, wsym, p->entries) ||
        mt_huff_decode(p->istream, p->ibits, p->ilen, 1 << p->index_bits, isym, p->entries))
        goto done;
    memset(w, 0, p->n * sizeof *w);
    long long at = -1;
    for (size_t e = 0; e < p->entries; e++) {
        at += (long long)isym[e] + 1;
        if (at >= (long long)p->n) goto done;
        w[at] = p->codebook[wsym[e]];
    }
    rc = 0;
done:
    free(wsym); free(isym);
    return rc;
}

void mt_dc_packed_free(mt_dc_packed *p)
{
    free(p->wstream); free(p->istream);
    p->wstream = p->istream = NULL;
}

double mt_dc_bytes_pruned(const mt_dc_packed *p, size_t n_bias)
{
    return mt_sparse_bytes(p->entries, 32, p->index_bits, n_bias);
}

double mt_dc_bytes_quantized(const mt_dc_packed *p, size_t n_bias)
{
    return mt_sparse_bytes(p->entries, p->bits, p->index_bits, n_bias) + 4.0 * p->n_centroids;
}

double mt_dc_bytes_huffman(const mt_dc_packed *p, size_t n_bias)
{
    double tables = MT_DC_TABLE_BITS * (double)((1 << p->bits) + (1 << p->index_bits)) / 8.0;
    return (double)(p->wbits + p->ibits) / 8.0 + tables + 4.0 * p->n_centroids + 4.0 * (double)n_bias;
}
