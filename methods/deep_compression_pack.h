/* Deep Compression's storage format for one layer: relative sparse indices, weight-sharing
 * codes, both Huffman coded (Han et al., ICLR 2016, sections 2-4). */
#ifndef METHODS_DEEP_COMPRESSION_PACK_H
#define METHODS_DEEP_COMPRESSION_PACK_H
#include <stddef.h>
#include <stdint.h>

/* Huffman tables are charged as canonical code lengths: this many bits per alphabet symbol. */
enum { MT_DC_TABLE_BITS = 6 };

typedef struct mt_dc_packed {
    size_t n;                     /* dense length of the layer */
    size_t kept, entries;         /* stored weights; entries = kept + filler zeros */
    int bits, index_bits;
    int zero_code;                /* 1: code 0 means zero (fillers); centroid c has code c + 1 */
    int n_centroids;
    float codebook[256];          /* value of each code */
    uint8_t wlen[256], ilen[256]; /* Huffman code lengths of weight codes / index gaps */
    uint8_t *wstream, *istream;   /* Huffman-coded codes and gaps */
    uint64_t wbits, ibits;        /* their lengths in bits */
} mt_dc_packed;

/* Packs the kept positions (mask 1; NULL = all) whose values are centroid[assign[j]].
 * zero_code must be 1 when the gaps need fillers (see mt_sparse_entries); k + zero_code must
 * fit in `bits`. 0 = ok, -1 = out of memory. */
int mt_dc_pack(const uint8_t *mask, const uint8_t *assign, size_t n, const float *centroid, int k,
               int zero_code, int bits, int index_bits, mt_dc_packed *out);
/* Decodes the layer into w[0..n) (dense, zeros elsewhere). 0 = ok, -1 = corrupt stream. */
int mt_dc_unpack(const mt_dc_packed *, float *w);
void mt_dc_packed_free(mt_dc_packed *);

/* Sizes in bytes, biases (n_bias fp32 values) included in each. */
double mt_dc_bytes_pruned(const mt_dc_packed *, size_t n_bias);      /* 32-bit values + index */
double mt_dc_bytes_quantized(const mt_dc_packed *, size_t n_bias);   /* codes + index + codebook */
double mt_dc_bytes_huffman(const mt_dc_packed *, size_t n_bias);     /* coded streams + tables + codebook */

#endif
