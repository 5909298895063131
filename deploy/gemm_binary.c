/* Binary-weight GEMM (BWN: +-alpha weights, float activations), additions only:
 *     y[r][j] = alpha[r] * (2 P[r][j] - T[j]),   P = sum of x[c][j] where w[r][c] = +alpha,
 *                                                T = sum of x[c][j] over all c,
 * since sum_c sign(w) x = P - (T - P). P comes from subset-sum tables (subset_table.h): one
 * lookup + add per row and 4 inputs; T is the sum of every chunk's full subset. The one
 * multiply per output is alpha's, as in XNOR-Net. Four partial sums per row and block keep
 * four additions in flight instead of one chain. */
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

DP_INLINE void binary_panel(const void *args, int j0, int nt, void *scratch)
{
    const binary_args *a = args;
    const int subs = (nt + DP_TILE_COLS - 1) / DP_TILE_COLS;
    dp_v16f (*tab)[DP_TV] = scratch;
    float *copy = (float *)(tab + DP_TABLE_ENTRIES);
    dp_v16f (*acc)[DP_TV] = (dp_v16f (*)[DP_TV])(copy + DP_PANEL_COPY_BYTES / sizeof(float));    /* P: [row][subtile] */
    dp_v16f total[DP_PANEL_SUBS][DP_TV];
    for (int b = 0; b < a->kw; b++) {
        const int nrows = a->k - 64 * b < 64 ? a->k - 64 * b : 64, chunks = (nrows + 3) / 4;
        dp_panel_copy(copy, a->x + (size_t)64 * b * a->ldx + j0, a->ldx, nrows, nt, sizeof(float));
        for (int s = 0; s < subs; s++) {
            const int snt = nt - s * DP_TILE_COLS < DP_TILE_COLS ? nt - s * DP_TILE_COLS : DP_TILE_COLS;
            dp_table_f32(copy + s * DP_TILE_COLS, DP_PANEL_COLS, nrows, snt, tab);
            for (int v = 0; v < DP_TV; v++) {
                dp_v16f t = tab[15][v];
                for (int c = 1; c < chunks; c++) t += tab[16 * c + 15][v];
                total[s][v] = b ? total[s][v] + t : t;
            }
            for (int r = 0; r < a->m; r++) {
                const uint64_t word = a->wb[(size_t)r * a->kw + b];
                dp_v16f (*ar)[DP_TV] = acc + (size_t)r * subs + s;
                dp_v16f p0[DP_TV] = { 0 }, p1[DP_TV] = { 0 }, p2[DP_TV] = { 0 }, p3[DP_TV] = { 0 };
                int c = 0;
                for (; c + 4 <= chunks; c += 4)
                    for (int v = 0; v < DP_TV; v++) {
                        p0[v] += tab[16 * c + dp_nibble(word, c)][v];
                        p1[v] += tab[16 * (c + 1) + dp_nibble(word, c + 1)][v];
                        p2[v] += tab[16 * (c + 2) + dp_nibble(word, c + 2)][v];
                        p3[v] += tab[16 * (c + 3) + dp_nibble(word, c + 3)][v];
                    }
                for (; c < chunks; c++)
                    for (int v = 0; v < DP_TV; v++) p0[v] += tab[16 * c + dp_nibble(word, c)][v];
                for (int v = 0; v < DP_TV; v++) {
                    const dp_v16f t = (p0[v] + p1[v]) + (p2[v] + p3[v]);
                    (*ar)[v] = b ? (*ar)[v] + t : t;
                }
            }
        }
    }
    for (int r = 0; r < a->m; r++)
        for (int s = 0; s < subs; s++) {
            const int snt = nt - s * DP_TILE_COLS < DP_TILE_COLS ? nt - s * DP_TILE_COLS : DP_TILE_COLS;
            const dp_v16f *ar = acc[(size_t)r * subs + s];
            dp_v16f out[DP_TV];
            for (int v = 0; v < DP_TV; v++) out[v] = a->alpha[r] * ((ar[v] + ar[v]) - total[s][v]);
            DP_TILE_STORE(a->y + (size_t)r * a->ldy + j0 + s * DP_TILE_COLS, out, snt, float);
        }
}

static void binary_portable(const void *a, int s, int l, void *w) { binary_panel(a, s, l, w); }
#if DP_X86
DP_TARGET_AVX2 static void binary_avx2(const void *a, int s, int l, void *w) { binary_panel(a, s, l, w); }
DP_TARGET_AVX512 static void binary_avx512(const void *a, int s, int l, void *w) { binary_panel(a, s, l, w); }
#endif

static const dp_tile_fn binary_panels[DP_ISA_COUNT] = {
    [DP_ISA_PORTABLE] = binary_portable,
#if DP_X86
    [DP_ISA_AVX2] = binary_avx2, [DP_ISA_AVX512] = binary_avx512,
#endif
};
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
    const size_t scratch = DP_PANEL_COPY_BYTES + (DP_TABLE_ENTRIES + (size_t)w->rows * (panel / DP_TILE_COLS)) * DP_TV * sizeof(dp_v16f);
    DP_ASSERT(dp_run_tiles(n, panel, scratch, &a, binary_panels[ex->isa], ex->threads) == 0);
}
