/* Binary-weight GEMM (BWN: +-alpha weights, float activations), additions only:
 *     y[r][j] = alpha[r] * (2 P[r][j] - T[j]),   P = sum of x[c][j] where w[r][c] = +alpha,
 *                                                T = sum of x[c][j] over all c,
 * since sum_c sign(w) x = P - (T - P). P comes from subset-sum tables (subset_table.h): one
 * lookup + add per row and 4 inputs; T is the sum of every chunk's full subset. The one
 * multiply per output is alpha's, as in XNOR-Net. Four partial sums per row and block keep
 * four additions in flight instead of one chain. */
#ifndef DP_LEVEL
#include "deploy/format_impl.h"
#include "deploy/subset_table.h"
#include "deploy/tile.h"

typedef struct {
    int m, k, kw;
    const uint64_t *wb;
    const float *alpha;
    const float *x;
    size_t ldx;
    float *y;
    size_t ldy;
} binary_args;

#define DP_SELF "deploy/gemm_binary.c"
#include "deploy/levels.h"

static const dp_tile_fn binary_panels[DP_ISA_COUNT] = DP_LEVEL_TABLE(binary_panel);
static_assert(sizeof binary_panels / sizeof binary_panels[0] == DP_ISA_COUNT, "one variant per level");

void dp_binary_gemm(const dp_matrix *w, int n, const float *x, size_t ldx, float *y, size_t ldy,
                    const dp_exec *ex)
{
    DP_ASSERT(w->format == DP_FORMAT_BINARY && w->payload);
    DP_ASSERT(n >= 0 && ldx >= (size_t)n && ldy >= (size_t)n);
    DP_ASSERT(dp_isa_supported(ex->isa) && binary_panels[ex->isa]);
    const binary_args a = { w->rows, w->cols, dp_matrix_words(w), &dp_binary_blocks(w)->pos,
                            dp_binary_alpha(w), x, ldx, y, ldy };
    const int panel = dp_panel_cols(n, ex->threads);
    const size_t scratch = DP_TABLE_BYTES + DP_PANEL_COPY_BYTES + (size_t)w->rows * panel * sizeof(float);
    DP_ASSERT(dp_run_tiles(n, panel, scratch, &a, binary_panels[ex->isa], ex->threads) == 0);
}

#else /* the body, once per level */
#include "deploy/subset_table.h"

static void LEVEL_FN(binary_panel)(const void *args, int j0, int nt, void *scratch)
{
    const binary_args *a = args;
    const int tiles = (nt + DP_VL - 1) / DP_VL;
    VF (*tab)[NV] = scratch;
    float *copy = (float *)(tab + DP_TABLE_ENTRIES);
    VF (*acc)[NV] = (VF (*)[NV])(copy + DP_PANEL_COPY_BYTES / 4);   /* P: [row][tile] */
    VF total[DP_PANEL_TILES][NV];
    for (int b = 0; b < a->kw; b++) {
        const int nrows = a->k - 64 * b < 64 ? a->k - 64 * b : 64, chunks = (nrows + 3) / 4;
        dp_panel_copy(copy, a->x + (size_t)64 * b * a->ldx + j0, a->ldx, nrows, nt);
        for (int t = 0; t < tiles; t++) {
            LEVEL_FN(table_f32)(copy + t * DP_VL, nrows, dp_tile_cols(nt, t), tab);
            for (int v = 0; v < NV; v++) {
                VF s = tab[15][v];
                for (int c = 1; c < chunks; c++) s += tab[16 * c + 15][v];
                total[t][v] = b ? total[t][v] + s : s;
            }
            for (int r = 0; r < a->m; r++) {
                const uint64_t word = a->wb[(size_t)r * a->kw + b];
                VF *ar = acc[(size_t)r * tiles + t];
                VF p0[NV] = { 0 }, p1[NV] = { 0 }, p2[NV] = { 0 }, p3[NV] = { 0 };
                int c = 0;
                for (; c + 4 <= chunks; c += 4)
                    for (int v = 0; v < NV; v++) {
                        p0[v] += tab[16 * c + dp_nibble(word, c)][v];
                        p1[v] += tab[16 * (c + 1) + dp_nibble(word, c + 1)][v];
                        p2[v] += tab[16 * (c + 2) + dp_nibble(word, c + 2)][v];
                        p3[v] += tab[16 * (c + 3) + dp_nibble(word, c + 3)][v];
                    }
                for (; c < chunks; c++)
                    for (int v = 0; v < NV; v++) p0[v] += tab[16 * c + dp_nibble(word, c)][v];
                for (int v = 0; v < NV; v++) {
                    const VF s = (p0[v] + p1[v]) + (p2[v] + p3[v]);
                    ar[v] = b ? ar[v] + s : s;
                }
            }
        }
    }
    for (int r = 0; r < a->m; r++)
        for (int t = 0; t < tiles; t++) {
            const VF *ar = acc[(size_t)r * tiles + t];
            VF out[NV];
            for (int v = 0; v < NV; v++) out[v] = a->alpha[r] * ((ar[v] + ar[v]) - total[t][v]);
            TILE_STORE(a->y + (size_t)r * a->ldy + j0 + t * DP_VL, out, dp_tile_cols(nt, t));
        }
}
#endif
