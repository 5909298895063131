/* Internal to deploy/: the functions each format's file gives its trait row (format.c). */
#ifndef DP_FORMAT_IMPL_H
#define DP_FORMAT_IMPL_H
#include <stdarg.h>
#include "deploy/format.h"

/* err helpers shared by the format files */
int dp_fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int dp_alloc_payload(dp_matrix *m, size_t nnz, char *err, size_t errlen);
/* Index of the first non-finite value of v[0..n), or n. */
size_t dp_first_nonfinite(const float *v, size_t n);

#define DP_FORMAT_FUNCS(f)                                                            \
    int dp_##f##_pack(dp_matrix *m, const float *w, char *err, size_t errlen);        \
    void dp_##f##_unpack(const dp_matrix *m, float *w);                               \
    int dp_##f##_check(const dp_matrix *m, char *err, size_t errlen);                 \
    void dp_##f##_gemm(const dp_matrix *w, int n, const float *x, size_t ldx, float *y, \
                       size_t ldy, const dp_exec *ex);
DP_FORMAT_FUNCS(f32)
DP_FORMAT_FUNCS(binary)
DP_FORMAT_FUNCS(ternary)
DP_FORMAT_FUNCS(pow2)
DP_FORMAT_FUNCS(csr)
DP_FORMAT_FUNCS(int8)
DP_FORMAT_FUNCS(lut)
#undef DP_FORMAT_FUNCS
int dp_pow2_prepare(dp_matrix *m, char *err, size_t errlen);
size_t dp_f32_bytes(int rows, int cols, size_t nnz);
size_t dp_binary_bytes(int rows, int cols, size_t nnz);
size_t dp_ternary_bytes(int rows, int cols, size_t nnz);
size_t dp_pow2_4_bytes(int rows, int cols, size_t nnz);
size_t dp_pow2_8_bytes(int rows, int cols, size_t nnz);
size_t dp_csr16_bytes(int rows, int cols, size_t nnz);
size_t dp_csr32_bytes(int rows, int cols, size_t nnz);
size_t dp_int8_bytes(int rows, int cols, size_t nnz);
int dp_int8_prepare(dp_matrix *m, char *err, size_t errlen);
void dp_int8_release(void *plan);
size_t dp_lut2_bytes(int rows, int cols, size_t nnz);
size_t dp_lut4_bytes(int rows, int cols, size_t nnz);
size_t dp_lut8_bytes(int rows, int cols, size_t nnz);
int dp_lut_prepare(dp_matrix *m, char *err, size_t errlen);
void dp_lut_release(void *plan);

#endif
