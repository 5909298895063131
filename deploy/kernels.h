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

/* Binarizes and packs the receptive fields of one sample's convolution input straight from x
 * (s->c x s->h x s->w floats, NCHW; s->n is ignored) into the planes dp_xnor_gemm reads, for
 * the s->k x s->k kernel at s->stride with s->pad: one column per output position (row-major,
 * oh x ow of them), kw = ceil(c k k / 64) planes of stride ldo >= oh ow. Row order is (ki, kj, c),
 * channel fastest, not im2col's (c, ki, kj): row (ki k + kj) c + ch of column (oy, ox) is
 * x[ch][oy stride - pad + ki][ox stride - pad + kj] >= 0 (NaN -1), a padded tap +1 (the sign of
 * the zero padding reads), bits past row c k k zero. Weights must be permuted to that order
 * (dp_binary_permute_taps). The sign image (per pixel its c bits, the layout of dp_bits_pack_cols
 * on x as a c x hw matrix) goes to img, dp_xnor_image_words(s) words, then every tap of a column
 * copies a pixel's c bits as one chunk. */
void dp_xnor_pack_conv(const dp_conv_shape *s, const float *x, uint64_t *img, uint64_t *out, size_t ldo,
                       const dp_exec *ex);
size_t dp_xnor_image_words(const dp_conv_shape *s);

/* The BINARY weights of a c x k x k convolution (w: rows x c k k, columns in im2col's (c, ki, kj)
 * order) with their columns in dp_xnor_pack_conv's (ki, kj, c) order, into out (same format and
 * alphas; a bit-level permutation). 0, or -1 with err (out of memory). */
int dp_binary_permute_taps(const dp_matrix *w, int c, int k, dp_matrix *out, char *err, size_t errlen);

/* What dp_xnor_gemm does to each +-1 dot product d (an integer) before storing it:
 *     v = (alpha[r] kcol[j]) (d - corr[r][j])       (kcol NULL: alpha[r]; corr NULL: d)
 *     y = v scale[r] + shift[r]                     (scale NULL: v + shift[r]; both NULL: v)
 * with exactly these roundings (no fused multiply-add). kcol is XNOR-Net's per-position input
 * scale K; corr (rows x n, stride ldc) takes back what padded taps packed as +1 added to d; scale
 * and shift are the layer's bias and folded batch norm. */
typedef struct dp_xnor_epilogue {
    const float *kcol;
    const float *corr;
    size_t ldc;
    const float *scale, *shift;
} dp_xnor_epilogue;

/* XNOR-popcount GEMM of XNOR-Net: binary weights (BINARY, rows x k) times binary activations
 * (planes from dp_bits_pack_cols or dp_xnor_pack_conv, k x n). d = k - 2 popcount(w_row XOR x_col)
 * is the +-1 dot product; e (NULL: y = alpha[r] d) turns it into y. Exact: d is an integer and
 * every rounding is the same at every level. */
void dp_xnor_gemm(const dp_matrix *w, int n, const uint64_t *xb, size_t ldb, const dp_xnor_epilogue *e,
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
