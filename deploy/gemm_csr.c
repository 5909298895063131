/* Sparse x dense GEMM for pruned layers: y = W_csr . X, X dense (cols x n).
 *
 * Each stored weight scales one row of X into the output row: a broadcast and one
 * multiply-add per 16 columns, so the work is nnz * n instead of rows * cols * n. Output rows
 * are independent, so threads split rows; columns go in panels of 256 so a panel of X stays
 * in L2 while a thread's rows read it. Multiply and add stay separate instructions (the
 * project builds with -ffp-contract=off): every level computes the same numbers, in the
 * stored order of each row. */
#include "deploy/format_impl.h"
#include "deploy/simd.h"
#include "deploy/tile.h"

typedef struct {
    int n;
    const uint32_t *rowptr;
    const float *val;
    const void *col;
    const float *x;
    size_t ldx;
    float *y;
    size_t ldy;
} csr_args;

enum { CSR_ROWS = 8, CSR_PANEL = 256 };

#define CSR_COL(e) (wide ? ((const uint32_t *)a->col)[e] : ((const uint16_t *)a->col)[e])

/* Output columns [j, j + 16 * V) of row r. */
#define CSR_VECTORS(V)                                                                 \
    do {                                                                               \
        dp_v16f acc[V];                                                                \
        for (int q = 0; q < V; q++) acc[q] = (dp_v16f){ 0 };                           \
        for (uint32_t e = e0; e < e1; e++) {                                           \
            const float v = a->val[e];                                                 \
            const float *xr = a->x + (size_t)CSR_COL(e) * a->ldx + j;                  \
            for (int q = 0; q < V; q++) {                                              \
                dp_v16f t;                                                             \
                DP_LOADU(t, xr + DP_VL * q);                                           \
                acc[q] += v * t;                                                       \
            }                                                                          \
        }                                                                              \
        for (int q = 0; q < V; q++) DP_STOREU(yr + j + DP_VL * q, acc[q]);             \
    } while (0)

DP_INLINE void csr_tile(const void *args, int r0, int nr, const int wide)
{
    const csr_args *a = args;
    for (int p = 0; p < a->n; p += CSR_PANEL) {
        const int pe = a->n - p < CSR_PANEL ? a->n : p + CSR_PANEL;
        for (int r = r0; r < r0 + nr; r++) {
            const uint32_t e0 = a->rowptr[r], e1 = a->rowptr[r + 1];
            float *yr = a->y + (size_t)r * a->ldy;
            int j = p;
            for (; j + 4 * DP_VL <= pe; j += 4 * DP_VL) CSR_VECTORS(4);
            for (; j + DP_VL <= pe; j += DP_VL) CSR_VECTORS(1);
            for (; j < pe; j++) {            /* the last n % 16 columns: same order, scalar */
                float s = 0.0f;
                for (uint32_t e = e0; e < e1; e++) s += a->val[e] * a->x[(size_t)CSR_COL(e) * a->ldx + j];
                yr[j] = s;
            }
        }
    }
}

static void csr16_portable(const void *a, int s, int l, void *w) { (void)w; csr_tile(a, s, l, 0); }
static void csr32_portable(const void *a, int s, int l, void *w) { (void)w; csr_tile(a, s, l, 1); }
#if DP_X86
DP_TARGET_AVX2 static void csr16_avx2(const void *a, int s, int l, void *w) { (void)w; csr_tile(a, s, l, 0); }
DP_TARGET_AVX2 static void csr32_avx2(const void *a, int s, int l, void *w) { (void)w; csr_tile(a, s, l, 1); }
DP_TARGET_AVX512 static void csr16_avx512(const void *a, int s, int l, void *w) { (void)w; csr_tile(a, s, l, 0); }
DP_TARGET_AVX512 static void csr32_avx512(const void *a, int s, int l, void *w) { (void)w; csr_tile(a, s, l, 1); }
#endif

static const dp_tile_fn csr_tiles[2][DP_ISA_COUNT] = {
    { [DP_ISA_PORTABLE] = csr16_portable,
#if DP_X86
      [DP_ISA_AVX2] = csr16_avx2, [DP_ISA_AVX512] = csr16_avx512,
#endif
    },
    { [DP_ISA_PORTABLE] = csr32_portable,
#if DP_X86
      [DP_ISA_AVX2] = csr32_avx2, [DP_ISA_AVX512] = csr32_avx512,
#endif
    },
};
static_assert(sizeof csr_tiles[0] / sizeof csr_tiles[0][0] == DP_ISA_COUNT, "one variant per level");

void dp_csr_gemm(const dp_matrix *w, int n, const float *x, size_t ldx, float *y, size_t ldy,
                 const dp_exec *ex)
{
    DP_ASSERT((w->format == DP_FORMAT_CSR16 || w->format == DP_FORMAT_CSR32) && w->payload);
    DP_ASSERT(n >= 0 && ldx >= (size_t)n && ldy >= (size_t)n);
    const int wide = w->format == DP_FORMAT_CSR32;
    DP_ASSERT(dp_isa_supported(ex->isa) && csr_tiles[wide][ex->isa]);
    const csr_args a = { n, dp_csr_rowptr(w), dp_csr_val(w), dp_csr_col(w), x, ldx, y, ldy };
    DP_ASSERT(dp_run_tiles(w->rows, CSR_ROWS, 0, &a, csr_tiles[wide][ex->isa], ex->threads) == 0);
}
