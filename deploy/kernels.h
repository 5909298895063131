/* Kernel entry points beyond the trait table's float GEMM (dp_gemm): the ones whose
 * activations are packed too. Each has a scalar reference twin in deploy/kernels_ref.h. */
#ifndef DP_KERNELS_H
#define DP_KERNELS_H
#include <stddef.h>
#include <stdint.h>
#include "deploy/format.h"

/* Binarizes and packs k x n floats (an im2col column matrix: row = one input of the receptive
 * field, column = one output position; row stride ldx) into ceil(k / 64) planes of n words,
 * plane stride ldo >= n: bit i of word j of plane p is x[64p + i][j] >= 0 (sign(0) = +1, as
 * methods/xnor.c binarizes; NaN packs as -1). Bits past row k are zero. This is the layout
 * dp_xnor_gemm reads: one plane holds 64 rows of every column side by side, so the kernel
 * loads the words of 8 (AVX-512) or 4 (AVX2) columns in one vector. */
void dp_bits_pack_cols(int k, int n, const float *x, size_t ldx, uint64_t *out, size_t ldo,
                       const dp_exec *ex);
/* rows x k floats -> rows x ceil(k / 64) words, same bit rule: how BINARY packs weights. */
void dp_bits_pack_rows(int rows, int k, const float *x, size_t ldx, uint64_t *out);

/* XNOR-popcount GEMM of XNOR-Net: binary weights (BINARY, rows x k) times binary activations
 * (planes from dp_bits_pack_cols, k x n). With d = k - 2 popcount(w_row XOR x_col), the
 * +-1 dot product,
 *     y[r][j] = (alpha[r] * kcol[j]) * d          (kcol NULL: alpha[r] * d)
 * kcol is XNOR-Net's per-position input scale K. Exact: d is an integer and the one rounding
 * is the same at every level. */
void dp_xnor_gemm(const dp_matrix *w, int n, const uint64_t *xb, size_t ldb, const float *kcol,
                  float *y, size_t ldy, const dp_exec *ex);

/* Shift GEMM on fixed-point activations (DeepShift): POW2 weights, int32 x (cols x n),
 *     y[r][j] = sum_c s[r][c] * (x[c][j] << (p[r][c] - pmin))      modulo 2^32,
 * true left shifts by at most pmax - pmin, so y carries x's fractional bits plus -pmin (y's
 * value is y * 2^pmin in x's units). Wraps like the unsigned arithmetic it is computed in,
 * identically at every level and in the reference. Returns -1 (err set) when pmax - pmin > 31. */
int dp_shift_gemm_i32(const dp_matrix *w, int n, const int32_t *x, size_t ldx, int32_t *y,
                      size_t ldy, const dp_exec *ex, char *err, size_t errlen);

#endif
