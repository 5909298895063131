/* Plain scalar reference twins of every deploy kernel, written straight from the definitions
 * in format.h and kernels.h: one loop per output, weights decoded from the payload one at a
 * time, float sums accumulated in double. Tests hold the fast kernels to these. */
#ifndef DP_KERNELS_REF_H
#define DP_KERNELS_REF_H
#include <stddef.h>
#include <stdint.h>
#include "deploy/format.h"
#include "deploy/kernels.h"

/* The trait table's gemm_ref: y (rows x n) = W . x (cols x n). */
void dp_ref_gemm_f32(const dp_matrix *w, int n, const float *x, size_t ldx, float *y, size_t ldy);
void dp_ref_gemm_binary(const dp_matrix *w, int n, const float *x, size_t ldx, float *y, size_t ldy);
void dp_ref_gemm_ternary(const dp_matrix *w, int n, const float *x, size_t ldx, float *y, size_t ldy);
void dp_ref_gemm_pow2(const dp_matrix *w, int n, const float *x, size_t ldx, float *y, size_t ldy);
void dp_ref_gemm_csr(const dp_matrix *w, int n, const float *x, size_t ldx, float *y, size_t ldy);
/* INT8: the integer sum in int64, then (float)sum x (float)(scale[r] x_scale), as the kernel. */
/* LUT: each weight read from the table by its code. */
void dp_ref_gemm_lut(const dp_matrix *w, int n, const float *x, size_t ldx, float *y, size_t ldy);
void dp_ref_gemm_int8(const dp_matrix *w, int n, const float *x, size_t ldx, float *y, size_t ldy);

/* Twins of deploy/kernels.h. */
void dp_ref_bits_pack_cols(int k, int n, const float *x, size_t ldx, uint64_t *out, size_t ldo);
void dp_ref_xnor_gemm(const dp_matrix *w, int n, const uint64_t *xb, size_t ldb, const dp_xnor_epilogue *e,
                      float *y, size_t ldy);
void dp_ref_xnor_pack_conv(const dp_conv_shape *s, const float *x, uint64_t *out, size_t ldo);
void dp_ref_shift_gemm_i32(const dp_matrix *w, int n, const int32_t *x, size_t ldx, int32_t *y,
                           size_t ldy);
void dp_ref_linear_int8(const dp_matrix *w, int n, const float *x, float *y, const float *a_scale,
                        const float *a_shift);
void dp_ref_conv_int8(const dp_matrix *w, const dp_conv_shape *s, const float *x, float *y, const float *a_scale,
                      const float *a_shift);

/* One POW2 weight: 0 for zero, else sign (+1/-1) and exponent p. */
int dp_ref_pow2_weight(const dp_matrix *w, int r, int c, int *p);

#endif
