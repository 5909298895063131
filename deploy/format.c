/* The trait table and what every format shares: packing, loading, freeing, dispatch. */
#include "deploy/format_impl.h"
#include "deploy/kernels_ref.h"
#include "deploy/simd.h"
#include <math.h>
#include <stdio.h>

const dp_format_traits dp_format_table[DP_FORMAT_COUNT] = {
    [DP_FORMAT_F32] = { "f32", 32, dp_f32_bytes, dp_f32_pack, dp_f32_unpack, dp_f32_check, NULL,
                        dp_f32_gemm, dp_ref_gemm_f32 },
    [DP_FORMAT_BINARY] = { "binary", 1, dp_binary_bytes, dp_binary_pack, dp_binary_unpack,
                           dp_binary_check, NULL, dp_binary_gemm, dp_ref_gemm_binary },
    [DP_FORMAT_TERNARY] = { "ternary", 2, dp_ternary_bytes, dp_ternary_pack, dp_ternary_unpack,
                            dp_ternary_check, NULL, dp_ternary_gemm, dp_ref_gemm_ternary },
    [DP_FORMAT_POW2_4] = { "pow2-4", 4, dp_pow2_4_bytes, dp_pow2_pack, dp_pow2_unpack,
                           dp_pow2_check, dp_pow2_prepare, dp_pow2_gemm, dp_ref_gemm_pow2 },
    [DP_FORMAT_POW2_8] = { "pow2-8", 8, dp_pow2_8_bytes, dp_pow2_pack, dp_pow2_unpack,
                           dp_pow2_check, dp_pow2_prepare, dp_pow2_gemm, dp_ref_gemm_pow2 },
    [DP_FORMAT_CSR16] = { "csr16", 48, dp_csr16_bytes, dp_csr_pack, dp_csr_unpack, dp_csr_check,
                          NULL, dp_csr_gemm, dp_ref_gemm_csr },
    [DP_FORMAT_CSR32] = { "csr32", 64, dp_csr32_bytes, dp_csr_pack, dp_csr_unpack, dp_csr_check,
                          NULL, dp_csr_gemm, dp_ref_gemm_csr },
    [DP_FORMAT_INT8] = { "int8", 8, dp_int8_bytes, dp_int8_pack, dp_int8_unpack, dp_int8_check,
                         dp_int8_prepare, dp_int8_gemm, dp_ref_gemm_int8, dp_int8_release },
    [DP_FORMAT_LUT2] = { "lut2", 2, dp_lut2_bytes, dp_lut_pack, dp_lut_unpack, dp_lut_check, dp_lut_prepare,
                         dp_lut_gemm, dp_ref_gemm_lut, dp_lut_release },
    [DP_FORMAT_LUT4] = { "lut4", 4, dp_lut4_bytes, dp_lut_pack, dp_lut_unpack, dp_lut_check, dp_lut_prepare,
                         dp_lut_gemm, dp_ref_gemm_lut, dp_lut_release },
    [DP_FORMAT_LUT8] = { "lut8", 8, dp_lut8_bytes, dp_lut_pack, dp_lut_unpack, dp_lut_check, dp_lut_prepare,
                         dp_lut_gemm, dp_ref_gemm_lut, dp_lut_release },
};
static_assert(sizeof dp_format_table / sizeof dp_format_table[0] == DP_FORMAT_COUNT,
              "one trait row per format");

int dp_format_valid(int v) { return v >= 0 && v < DP_FORMAT_COUNT; }
const char *dp_format_name(int v) { return dp_format_valid(v) ? dp_format_table[v].name : "?"; }

int dp_fail(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

size_t dp_first_nonfinite(const float *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i])) return i;
    return n;
}

int dp_alloc_payload(dp_matrix *m, size_t nnz, char *err, size_t errlen)
{
    m->nnz = nnz;
    m->bytes = dp_format_table[m->format].bytes(m->rows, m->cols, nnz);
    m->payload = dp_alloc(m->bytes);
    if (!m->payload) return dp_fail(err, errlen, "%s: out of memory for %zu bytes",
                                    dp_format_name(m->format), m->bytes);
    memset(m->payload, 0, m->bytes);
    return 0;
}

static int check_dims(int format, int rows, int cols, char *err, size_t errlen)
{
    if (!dp_format_valid(format)) return dp_fail(err, errlen, "unknown packed format %d", format);
    if (rows < 1 || rows > DP_MAX_DIM || cols < 1 || cols > DP_MAX_DIM)
        return dp_fail(err, errlen, "%s: shape %d x %d outside 1..%d", dp_format_name(format),
                       rows, cols, DP_MAX_DIM);
    if ((size_t)rows * (size_t)cols > ((size_t)1 << 31))
        return dp_fail(err, errlen, "%s: %d x %d weights exceed 2^31", dp_format_name(format),
                       rows, cols);
    if (format == DP_FORMAT_CSR16 && cols > 65536)
        return dp_fail(err, errlen, "csr16: %d columns do not fit 16-bit indices (use csr32)", cols);
    return 0;
}

static int prepare(dp_matrix *m, char *err, size_t errlen)
{
    const dp_format_traits *t = &dp_format_table[m->format];
    if (t->prepare && t->prepare(m, err, errlen) != 0) {
        dp_matrix_free(m);
        return -1;
    }
    return 0;
}

int dp_matrix_pack(dp_matrix *m, dp_format f, int rows, int cols, const float *w, char *err,
                   size_t errlen)
{
    memset(m, 0, sizeof *m);
    if (check_dims(f, rows, cols, err, errlen) != 0) return -1;
    size_t bad = dp_first_nonfinite(w, (size_t)rows * cols);
    if (bad < (size_t)rows * cols)
        return dp_fail(err, errlen, "%s: weight [%zu][%zu] is not finite", dp_format_name(f),
                       bad / cols, bad % cols);
    m->format = f;
    m->rows = rows;
    m->cols = cols;
    if (dp_format_table[f].pack(m, w, err, errlen) != 0) {
        dp_matrix_free(m);
        return -1;
    }
    return prepare(m, err, errlen);
}

int dp_matrix_load(dp_matrix *m, int format, int rows, int cols, size_t nnz, const void *payload,
                   size_t bytes, char *err, size_t errlen)
{
    memset(m, 0, sizeof *m);
    if (check_dims(format, rows, cols, err, errlen) != 0) return -1;
    int csr = format == DP_FORMAT_CSR16 || format == DP_FORMAT_CSR32;
    if (!csr && nnz != (size_t)rows * cols)
        return dp_fail(err, errlen, "%s: nnz %zu != rows x cols = %zu", dp_format_name(format),
                       nnz, (size_t)rows * cols);
    if (csr && (nnz > (size_t)rows * cols || nnz > UINT32_MAX))
        return dp_fail(err, errlen, "%s: nnz %zu exceeds %d x %d", dp_format_name(format), nnz,
                       rows, cols);
    size_t want = dp_format_table[format].bytes(rows, cols, nnz);
    if (bytes != want)
        return dp_fail(err, errlen, "%s %d x %d: payload has %zu bytes, the format needs %zu",
                       dp_format_name(format), rows, cols, bytes, want);
    m->format = (dp_format)format;
    m->rows = rows;
    m->cols = cols;
    if (dp_alloc_payload(m, nnz, err, errlen) != 0) return -1;
    memcpy(m->payload, payload, bytes);
    if (dp_format_table[format].check(m, err, errlen) != 0) {
        dp_matrix_free(m);
        return -1;
    }
    return prepare(m, err, errlen);
}

void dp_matrix_free(dp_matrix *m)
{
    free(m->payload);
    if (m->plan && dp_format_valid(m->format) && dp_format_table[m->format].release)
        dp_format_table[m->format].release(m->plan);
    else free(m->plan);
    memset(m, 0, sizeof *m);
}

void dp_gemm(const dp_matrix *w, int n, const float *x, size_t ldx, float *y, size_t ldy,
             const dp_exec *ex)
{
    DP_ASSERT(dp_format_valid(w->format) && w->payload);
    dp_format_table[w->format].gemm(w, n, x, ldx, y, ldy, ex);
}
