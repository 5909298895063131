/* Kernel entry points beyond the trait table's float GEMM (dp_gemm): the ones whose
 * activations are packed too. Each has a scalar reference twin in deploy/kernels_ref.h. */
#ifndef DP_KERNELS_H
#define DP_KERNELS_H
#include <stddef.h>
#include <stdint.h>
#include "deploy/format.h"
#include "deploy/conv_shape.h"

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


/* INT8 convolution of a whole batch: x (n x c x h x w floats, NCHW) is rounded to w's input
 * grid (dp_int8_level), the weights are q (rows x c x k x k, the im2col order of w's columns),
 * a padded tap reads the real value 0 (the integer x_zero, so it adds nothing), and per output
 * channel r the exact int32 sum S gives
 *     v = (float)S * fl(scale[r] x_scale);  y = v * a_scale[r] + a_shift[r]  (a_scale NULL: v + a_shift[r];
 *                                                                            both NULL: v)
 * into y (n x rows x oh x ow, NCHW): what im2col + dp_gemm and the runtime's per-row affine give,
 * bit for bit. oneDNN's int8 convolution (u8 NHWC source with a run-time zero point, s8
 * weights reordered once, s32 sums, per-channel output scales to f32) where its sums are exact
 * (dp_int8_conv_onednn), else the scalar reference; one primitive per shape, kept in w's plan.
 * ex->threads split the quantizing and the epilogue; oneDNN runs on the caller's OpenMP threads. */
void dp_int8_conv(const dp_matrix *w, const dp_conv_shape *s, const float *x, float *y, const float *a_scale,
                  const float *a_shift, const dp_exec *ex);
/* INT8 linear layer on sample-major activations: x (n x cols), y (n x rows),
 *     y[j][r] = epilogue of sum_c q[r][c] (u[j][c] - x_zero), u = dp_int8_level(x[j][c])
 * with dp_int8_conv's epilogue (scale, then a_scale/a_shift), so the same numbers as dp_gemm on
 * the transposed x plus the runtime's affine, bit for bit. oneDNN's int8 matmul straight on the
 * layer's layout (no transposes) where exact, else the scalar reference. */
void dp_int8_linear(const dp_matrix *w, int n, const float *x, float *y, const float *a_scale, const float *a_shift,
                    const dp_exec *ex);
/* 1 when dp_int8_conv, dp_int8_linear (and dp_gemm on INT8) run on oneDNN here: the CPU has VNNI (AVX-512 VNNI or
 * AVX-VNNI), where oneDNN's u8 x s8 sums are exact. */
int dp_int8_conv_onednn(void);
/* The oneDNN implementation dp_int8_conv runs for shape s (built if need be), e.g.
 * "brg:avx512_core_vnni"; "ref" when the scalar reference computes it. */
const char *dp_int8_conv_impl(const dp_matrix *w, const dp_conv_shape *s);

#endif
