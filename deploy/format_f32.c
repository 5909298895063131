/* F32: the dense matrix as it is, and the CBLAS GEMM every other format is measured against. */
#include "deploy/format_impl.h"
#include "deploy/simd.h"
#include "deploy/tile.h"
#include <cblas.h>


size_t dp_f32_bytes(int rows, int cols, size_t nnz)
{
    (void)nnz;
    return (size_t)rows * cols * sizeof(float);
}

int dp_f32_pack(dp_matrix *m, const float *w, char *err, size_t errlen)
{
    if (dp_alloc_payload(m, (size_t)m->rows * m->cols, err, errlen) != 0) return -1;
    memcpy(m->payload, w, m->bytes);
    return 0;
}

void dp_f32_unpack(const dp_matrix *m, float *w) { memcpy(w, m->payload, m->bytes); }

int dp_f32_check(const dp_matrix *m, char *err, size_t errlen)
{
    const size_t n = (size_t)m->rows * m->cols, bad = dp_first_nonfinite(m->payload, n);
    if (bad < n)
        return dp_fail(err, errlen, "f32: weight [%zu][%zu] is not finite", bad / m->cols, bad % m->cols);
    return 0;
}

typedef struct {
    const dp_matrix *w;
    const float *x;
    size_t ldx;
    float *y;
    size_t ldy;
} f32_args;

/* One slice of columns, single-threaded inside (the threads are ours). */
static void f32_slice(const void *args, int j0, int nj, void *scratch)
{
    (void)scratch;
    const f32_args *a = args;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, a->w->rows, nj, a->w->cols, 1.0f,
                a->w->payload, a->w->cols, a->x + j0, (int)a->ldx, 0.0f, a->y + j0, (int)a->ldy);
}

void dp_f32_gemm(const dp_matrix *w, int n, const float *x, size_t ldx, float *y, size_t ldy,
                 const dp_exec *ex)
{
    DP_ASSERT(w->format == DP_FORMAT_F32 && w->payload);
    DP_ASSERT(n >= 0 && ldx >= (size_t)n && ldy >= (size_t)n && ldx <= INT32_MAX && ldy <= INT32_MAX);
    if (openblas_get_num_threads() != 1) openblas_set_num_threads(1);
    const int threads = ex->threads < 1 ? 1 : ex->threads;
    const int step = ((n + threads - 1) / threads + 15) / 16 * 16;   /* whole vectors per slice */
    const f32_args a = { w, x, ldx, y, ldy };
    if (n) DP_ASSERT(dp_run_tiles(n, step ? step : 16, 0, &a, f32_slice, threads) == 0);
}
