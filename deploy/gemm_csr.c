/* Sparse x dense GEMM for pruned layers: y = W_csr . X, X dense (cols x n).
 *
 * Each stored weight scales one row of X into the output row: a broadcast and one
 * multiply-add per vector of columns, so the work is nnz * n instead of rows * cols * n.
 * Output rows are independent, so threads split rows; columns go in panels of 256 so a
 * panel of X stays in L2 while a thread's rows read it. Multiply and add stay separate
 * instructions (the project builds with -ffp-contract=off): every level computes the same
 * numbers, in the stored order of each row. */
#ifndef DP_LEVEL
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

#define DP_SELF "deploy/gemm_csr.c"
#include "deploy/levels.h"

static const dp_tile_fn csr_tiles[2][DP_ISA_COUNT] = { DP_LEVEL_TABLE(csr16), DP_LEVEL_TABLE(csr32) };
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

#else /* the body, once per level */

/* Output columns [j, j + 16 Q) of row r: Q tiles of NV vectors. */
#define CSR_TILES(Q)                                                                   \
    do {                                                                               \
        VF acc[Q * NV];                                                                \
        for (int q = 0; q < Q * NV; q++) acc[q] = (VF){ 0 };                           \
        for (uint32_t e = e0; e < e1; e++) {                                           \
            const float v = a->val[e];                                                 \
            const float *xr = a->x + (size_t)CSR_COL(e) * a->ldx + j;                  \
            for (int q = 0; q < Q * NV; q++) {                                         \
                VF t;                                                                  \
                DP_LOADU(t, xr + W * q);                                               \
                acc[q] += v * t;                                                       \
            }                                                                          \
        }                                                                              \
        for (int q = 0; q < Q * NV; q++) DP_STOREU(yr + j + W * q, acc[q]);            \
    } while (0)

#define CSR_COL(e) (wide ? ((const uint32_t *)a->col)[e] : ((const uint16_t *)a->col)[e])

DP_INLINE void LEVEL_FN(csr_rows)(const void *args, int r0, int nr, const int wide)
{
    const csr_args *a = args;
    for (int p = 0; p < a->n; p += CSR_PANEL) {
        const int pe = a->n - p < CSR_PANEL ? a->n : p + CSR_PANEL;
        for (int r = r0; r < r0 + nr; r++) {
            const uint32_t e0 = a->rowptr[r], e1 = a->rowptr[r + 1];
            float *yr = a->y + (size_t)r * a->ldy;
            int j = p;
            for (; j + 4 * DP_VL <= pe; j += 4 * DP_VL) CSR_TILES(4);
            for (; j + DP_VL <= pe; j += DP_VL) CSR_TILES(1);
            for (; j < pe; j++) {            /* the last n % 16 columns: same order, scalar */
                float s = 0.0f;
                for (uint32_t e = e0; e < e1; e++) s += a->val[e] * a->x[(size_t)CSR_COL(e) * a->ldx + j];
                yr[j] = s;
            }
        }
    }
}
#undef CSR_COL
#undef CSR_TILES

static void LEVEL_FN(csr16)(const void *a, int s, int l, void *w) { (void)w; LEVEL_FN(csr_rows)(a, s, l, 0); }
static void LEVEL_FN(csr32)(const void *a, int s, int l, void *w) { (void)w; LEVEL_FN(csr_rows)(a, s, l, 1); }
#endif
