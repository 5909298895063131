/* Ternary GEMM (TTQ: w in {-Wn, 0, +Wp}, float activations), additions only:
 *     y[r][j] = Wp * P[r][j] - Wn * N[r][j],   P (N) = sum of x[c][j] where w[r][c] = +Wp (-Wn),
 * both from the subset-sum tables of subset_table.h: two lookups + adds per row and 4 inputs.
 * The two multiplies per output are the layer's two scales. */
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

DP_INLINE void ternary_tile(const void *args, int j0, int nt, void *scratch)
{
    const ternary_args *a = args;
    dp_v16f (*tab)[DP_TV] = scratch;
    dp_v16f (*acc)[DP_TV] = tab + DP_TABLE_ENTRIES;   /* P and N per output row, interleaved */
    for (int b = 0; b < a->kw; b++) {
        const int nrows = a->k - 64 * b < 64 ? a->k - 64 * b : 64, chunks = (nrows + 3) / 4;
        dp_table_f32(a->x + (size_t)64 * b * a->ldx + j0, a->ldx, nrows, nt, tab);
        for (int r = 0; r < a->m; r++) {
            const dp_block_ternary wr = a->wb[(size_t)r * a->kw + b];
            dp_v16f p[DP_TV] = { { 0 } }, q[DP_TV] = { { 0 } };
            if (b)
                for (int v = 0; v < DP_TV; v++) p[v] = acc[2 * r][v], q[v] = acc[2 * r + 1][v];
            for (int c = 0; c < chunks; c++)
                for (int v = 0; v < DP_TV; v++) {
                    p[v] += tab[16 * c + dp_nibble(wr.plus, c)][v];
                    q[v] += tab[16 * c + dp_nibble(wr.minus, c)][v];
                }
            for (int v = 0; v < DP_TV; v++) acc[2 * r][v] = p[v], acc[2 * r + 1][v] = q[v];
        }
    }
    for (int r = 0; r < a->m; r++) {
        dp_v16f out[DP_TV];
        for (int v = 0; v < DP_TV; v++) out[v] = a->wp * acc[2 * r][v] - a->wn * acc[2 * r + 1][v];
        DP_TILE_STORE(a->y + (size_t)r * a->ldy + j0, out, nt, float);
    }
}

static void ternary_portable(const void *a, int s, int l, void *w) { ternary_tile(a, s, l, w); }
#if DP_X86
DP_TARGET_AVX2 static void ternary_avx2(const void *a, int s, int l, void *w) { ternary_tile(a, s, l, w); }
DP_TARGET_AVX512 static void ternary_avx512(const void *a, int s, int l, void *w) { ternary_tile(a, s, l, w); }
#endif

static const dp_tile_fn ternary_tiles[DP_ISA_COUNT] = {
    [DP_ISA_PORTABLE] = ternary_portable,
#if DP_X86
    [DP_ISA_AVX2] = ternary_avx2, [DP_ISA_AVX512] = ternary_avx512,
#endif
};
static_assert(sizeof ternary_tiles / sizeof ternary_tiles[0] == DP_ISA_COUNT, "one variant per level");

void dp_ternary_gemm(const dp_matrix *w, int n, const float *x, size_t ldx, float *y, size_t ldy,
                     const dp_exec *ex)
{
    DP_ASSERT(w->format == DP_FORMAT_TERNARY && w->payload);
    DP_ASSERT(n >= 0 && ldx >= (size_t)n && ldy >= (size_t)n);
    DP_ASSERT(dp_isa_supported(ex->isa) && ternary_tiles[ex->isa]);
    const dp_head_ternary *h = dp_ternary_head(w);
    const ternary_args a = { w->rows, w->cols, dp_matrix_words(w), dp_ternary_blocks(w), h->wp,
                             h->wn, x, ldx, y, ldy };
    const size_t scratch = (DP_TABLE_ENTRIES + 2 * (size_t)w->rows) * DP_TV * sizeof(dp_v16f);
    DP_ASSERT(dp_run_tiles(n, DP_TILE_COLS, scratch, &a, ternary_tiles[ex->isa], ex->threads) == 0);
}
