/* Ternary GEMM (TTQ: w in {-Wn, 0, +Wp}, float activations), additions only:
 *     y[r][j] = Wp * P[r][j] - Wn * N[r][j],   P (N) = sum of x[c][j] where w[r][c] = +Wp (-Wn),
 * both from the subset-sum tables of subset_table.h: two lookups + adds per row and 4 inputs,
 * in two partial sums each. The two multiplies per output are the layer's two scales. */
#ifndef DP_LEVEL
#include "deploy/format_impl.h"
#include "deploy/subset_table.h"
#include "deploy/tile.h"

typedef struct {
    int m, k, kw;
    const dp_block_ternary *wb;
    float wp, wn;
    const float *x;
    size_t ldx;
    float *y;
    size_t ldy;
} ternary_args;

#define DP_SELF "deploy/gemm_ternary.c"
#include "deploy/levels.h"

static const dp_tile_fn ternary_panels[DP_ISA_COUNT] = DP_LEVEL_TABLE(ternary_panel);
static_assert(sizeof ternary_panels / sizeof ternary_panels[0] == DP_ISA_COUNT, "one variant per level");

void dp_ternary_gemm(const dp_matrix *w, int n, const float *x, size_t ldx, float *y, size_t ldy,
                     const dp_exec *ex)
{
    DP_ASSERT(w->format == DP_FORMAT_TERNARY && w->payload);
    DP_ASSERT(n >= 0 && ldx >= (size_t)n && ldy >= (size_t)n);
    DP_ASSERT(dp_isa_supported(ex->isa) && ternary_panels[ex->isa]);
    const dp_head_ternary *h = dp_ternary_head(w);
    const ternary_args a = { w->rows, w->cols, dp_matrix_words(w), dp_ternary_blocks(w), h->wp,
                             h->wn, x, ldx, y, ldy };
    const int panel = dp_panel_cols(n, ex->threads);
    const size_t scratch = DP_TABLE_BYTES + DP_PANEL_COPY_BYTES + 2 * (size_t)w->rows * panel * sizeof(float);
    DP_ASSERT(dp_run_tiles(n, panel, scratch, &a, ternary_panels[ex->isa], ex->threads) == 0);
}

#else /* the body, once per level */
#include "deploy/subset_table.h"

static void LEVEL_FN(ternary_panel)(const void *args, int j0, int nt, void *scratch)
{
    const ternary_args *a = args;
    const int tiles = (nt + DP_VL - 1) / DP_VL;
    VF (*tab)[NV] = scratch;
    float *copy = (float *)(tab + DP_TABLE_ENTRIES);
    VF (*acc)[NV] = (VF (*)[NV])(copy + DP_PANEL_COPY_BYTES / 4);   /* [row][tile][P, N] */
    for (int b = 0; b < a->kw; b++) {
        const int nrows = a->k - 64 * b < 64 ? a->k - 64 * b : 64, chunks = (nrows + 3) / 4;
        dp_panel_copy(copy, a->x + (size_t)64 * b * a->ldx + j0, a->ldx, nrows, nt);
        for (int t = 0; t < tiles; t++) {
            LEVEL_FN(table_f32)(copy + t * DP_VL, nrows, dp_tile_cols(nt, t), tab);
            for (int r = 0; r < a->m; r++) {
                const dp_block_ternary wr = a->wb[(size_t)r * a->kw + b];
                VF *ap = acc[2 * ((size_t)r * tiles + t)], *an = acc[2 * ((size_t)r * tiles + t) + 1];
                VF p0[NV] = { 0 }, p1[NV] = { 0 }, q0[NV] = { 0 }, q1[NV] = { 0 };
                int c = 0;
                for (; c + 2 <= chunks; c += 2)
                    for (int v = 0; v < NV; v++) {
                        p0[v] += tab[16 * c + dp_nibble(wr.plus, c)][v];
                        q0[v] += tab[16 * c + dp_nibble(wr.minus, c)][v];
                        p1[v] += tab[16 * (c + 1) + dp_nibble(wr.plus, c + 1)][v];
                        q1[v] += tab[16 * (c + 1) + dp_nibble(wr.minus, c + 1)][v];
                    }
                for (; c < chunks; c++)
                    for (int v = 0; v < NV; v++) {
                        p0[v] += tab[16 * c + dp_nibble(wr.plus, c)][v];
                        q0[v] += tab[16 * c + dp_nibble(wr.minus, c)][v];
                    }
                for (int v = 0; v < NV; v++) {
                    const VF tp = p0[v] + p1[v], tq = q0[v] + q1[v];
                    ap[v] = b ? ap[v] + tp : tp;
                    an[v] = b ? an[v] + tq : tq;
                }
            }
        }
    }
    for (int r = 0; r < a->m; r++)
        for (int t = 0; t < tiles; t++) {
            const VF *ap = acc[2 * ((size_t)r * tiles + t)], *an = acc[2 * ((size_t)r * tiles + t) + 1];
            VF out[NV];
            for (int v = 0; v < NV; v++) out[v] = a->wp * ap[v] - a->wn * an[v];
            TILE_STORE(a->y + (size_t)r * a->ldy + j0 + t * DP_VL, out, dp_tile_cols(nt, t));
        }
}
#endif
