/* Ternary GEMM (TTQ: w in {-Wn, 0, +Wp}, float activations), additions only:
 *     y[r][j] = Wp * P[r][j] - Wn * N[r][j],   P (N) = sum of x[c][j] where w[r][c] = +Wp (-Wn),
 * both from the subset-sum tables of subset_table.h: two lookups + adds per row and 4 inputs,
 * in two partial sums each. The two multiplies per output are the layer's two scales. */
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

DP_INLINE void ternary_panel(const void *args, int j0, int nt, void *scratch)
{
    const ternary_args *a = args;
    const int subs = (nt + DP_TILE_COLS - 1) / DP_TILE_COLS;
    dp_v16f (*tab)[DP_TV] = scratch;
    float *copy = (float *)(tab + DP_TABLE_ENTRIES);
    dp_v16f (*acc)[DP_TV] = (dp_v16f (*)[DP_TV])(copy + DP_PANEL_COPY_BYTES / sizeof(float));   /* [row][subtile][P, N] */
    for (int b = 0; b < a->kw; b++) {
        const int nrows = a->k - 64 * b < 64 ? a->k - 64 * b : 64, chunks = (nrows + 3) / 4;
        dp_panel_copy(copy, a->x + (size_t)64 * b * a->ldx + j0, a->ldx, nrows, nt, sizeof(float));
        for (int s = 0; s < subs; s++) {
            const int snt = nt - s * DP_TILE_COLS < DP_TILE_COLS ? nt - s * DP_TILE_COLS : DP_TILE_COLS;
            dp_table_f32(copy + s * DP_TILE_COLS, DP_PANEL_COLS, nrows, snt, tab);
            for (int r = 0; r < a->m; r++) {
                const dp_block_ternary wr = a->wb[(size_t)r * a->kw + b];
                dp_v16f (*ar)[DP_TV] = acc + 2 * ((size_t)r * subs + s);
                dp_v16f p0[DP_TV] = { 0 }, p1[DP_TV] = { 0 }, q0[DP_TV] = { 0 }, q1[DP_TV] = { 0 };
                int c = 0;
                for (; c + 2 <= chunks; c += 2)
                    for (int v = 0; v < DP_TV; v++) {
                        p0[v] += tab[16 * c + dp_nibble(wr.plus, c)][v];
                        q0[v] += tab[16 * c + dp_nibble(wr.minus, c)][v];
                        p1[v] += tab[16 * (c + 1) + dp_nibble(wr.plus, c + 1)][v];
                        q1[v] += tab[16 * (c + 1) + dp_nibble(wr.minus, c + 1)][v];
                    }
                for (; c < chunks; c++)
                    for (int v = 0; v < DP_TV; v++) {
                        p0[v] += tab[16 * c + dp_nibble(wr.plus, c)][v];
                        q0[v] += tab[16 * c + dp_nibble(wr.minus, c)][v];
                    }
                for (int v = 0; v < DP_TV; v++) {
                    const dp_v16f tp = p0[v] + p1[v], tq = q0[v] + q1[v];
                    ar[0][v] = b ? ar[0][v] + tp : tp;
                    ar[1][v] = b ? ar[1][v] + tq : tq;
                }
            }
        }
    }
    for (int r = 0; r < a->m; r++)
        for (int s = 0; s < subs; s++) {
            const int snt = nt - s * DP_TILE_COLS < DP_TILE_COLS ? nt - s * DP_TILE_COLS : DP_TILE_COLS;
            dp_v16f (*ar)[DP_TV] = acc + 2 * ((size_t)r * subs + s);
            dp_v16f out[DP_TV];
            for (int v = 0; v < DP_TV; v++) out[v] = a->wp * ar[0][v] - a->wn * ar[1][v];
            DP_TILE_STORE(a->y + (size_t)r * a->ldy + j0 + s * DP_TILE_COLS, out, snt, float);
        }
}

static void ternary_portable(const void *a, int s, int l, void *w) { ternary_panel(a, s, l, w); }
#if DP_X86
DP_TARGET_AVX2 static void ternary_avx2(const void *a, int s, int l, void *w) { ternary_panel(a, s, l, w); }
DP_TARGET_AVX512 static void ternary_avx512(const void *a, int s, int l, void *w) { ternary_panel(a, s, l, w); }
#endif

static const dp_tile_fn ternary_panels[DP_ISA_COUNT] = {
    [DP_ISA_PORTABLE] = ternary_portable,
#if DP_X86
    [DP_ISA_AVX2] = ternary_avx2, [DP_ISA_AVX512] = ternary_avx512,
#endif
};
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
    const size_t scratch = DP_PANEL_COPY_BYTES + (DP_TABLE_ENTRIES + 2 * (size_t)w->rows * (panel / DP_TILE_COLS)) * DP_TV * sizeof(dp_v16f);
    DP_ASSERT(dp_run_tiles(n, panel, scratch, &a, ternary_panels[ex->isa], ex->threads) == 0);
}
