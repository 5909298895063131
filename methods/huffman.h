/* Canonical Huffman coding over small alphabets (<= 256 symbols), for Deep Compression's
 * weight codes and index gaps. Bit streams are MSB-first. */
#ifndef METHODS_HUFFMAN_H
#define METHODS_HUFFMAN_H
#include <stddef.h>
#include <stdint.h>

enum { MT_HUFF_MAX_SYMBOLS = 256, MT_HUFF_MAX_LEN = 63 };

/* Code lengths from symbol counts: len[s] = 0 for unused symbols; a lone used symbol gets 1. */
void mt_huff_lengths(const uint64_t *freq, int n_sym, uint8_t *len);
/* Canonical codes from lengths (shorter codes first, then by symbol). */
void mt_huff_codes(const uint8_t *len, int n_sym, uint64_t *code);
/* Total coded bits of a stream with these counts. */
uint64_t mt_huff_bits(const uint64_t *freq, const uint8_t *len, int n_sym);
/* Writes sym[0..n) into out (ceil(bits/8) bytes, zero-filled by the caller); returns bits. */
uint64_t mt_huff_encode(const uint32_t *sym, size_t n, const uint8_t *len, const uint64_t *code,
                        uint8_t *out);
/* Reads n symbols back; 0 = ok, -1 when the stream is shorter than nbits allow or invalid. */
int mt_huff_decode(const uint8_t *in, uint64_t nbits, const uint8_t *len, int n_sym,
                   uint32_t *sym, size_t n);

#endif
