/* Binary-weight GEMM (BWN: +-alpha weights, float activations), additions only:
 *     y[r][j] = alpha[r] * (2 P[r][j] - T[j]),   P = sum of x[c][j] where w[r][c] = +alpha,
 *                                                T = sum of x[c][j] over all c,
 * since sum_c sign(w) x = P - (T - P). P comes from subset-sum tables (subset_table.h): one
 * lookup + add per row and 4 inputs; T is the sum of every chunk's full subset. The one
 * multiply per output is alpha's, as in XNOR-Net. */
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

DP_INLINE void binary_tile(const void *args, int j0, int nt, void *scratch)
{
    const binary_args *a = args;
    dp_v16f (*tab)[DP_TV] = scratch;
    dp_v16f (*acc)[DP_TV] = tab + DP_TABLE_ENTRIES;    /* P, one tile row per output row */
    dp_v16f total[DP_TV] = { { 0 } };
    for (int b = 0; b < a->kw; b++) {
        const int nrows = a->k - 64 * b < 64 ? a->k - 64 * b : 64, chunks = (nrows + 3) / 4;
        dp_table_f32(a->x + (size_t)64 * b * a->ldx + j0, a->ldx, nrows, nt, tab);
        for (int c = 0; c < chunks; c++)
            for (int v = 0; v < DP_TV; v++) total[v] += tab[16 * c + 15][v];
        for (int r = 0; r < a->m; r++) {
            const uint64_t word = a->wb[(size_t)r * a->kw + b];
            dp_v16f s[DP_TV] = { { 0 } };
            if (b) for (int v = 0; v < DP_TV; v++) s[v] = acc[r][v];
            if (chunks == 16)
                for (int c = 0; c < 16; c++)
                    for (int v = 0; v < DP_TV; v++) s[v] += tab[16 * c + dp_nibble(word, c)][v];
            else
                for (int c = 0; c < chunks; c++)
                    for (int v = 0; v < DP_TV; v++) s[v] += tab[16 * c + dp_nibble(word, c)][v];
            for (int v = 0; v < DP_TV; v++) acc[r][v] = s[v];
        }
    }
    for (int r = 0; r < a->m; r++) {
        dp_v16f out[DP_TV];
        for (int v = 0; v < DP_TV; v++) out[v] = a->alpha[r] * ((acc[r][v] + acc[r][v]) - total[v]);
        DP_TILE_STORE(a->y + (size_t)r * a->ldy + j0, out, nt, float);
    }
}

static void binary_portable(const void *a, int s, int l, void *w) { binary_tile(a, s, l, w); }
#if DP_X86
DP_TARGET_AVX2 static void binary_avx2(const void *a, int s, int l, void *w) { binary_tile(a, s, l, w); }
DP_TARGET_AVX512 static void binary_avx512(const void *a, int s, int l, void *w) { binary_tile(a, s, l, w); }
#endif

static const dp_tile_fn binary_tiles[DP_ISA_COUNT] = {
    [DP_ISA_PORTABLE] = binary_portable,
#if DP_X86
    [DP_ISA_AVX2] = binary_avx2, [DP_ISA_AVX512] = binary_avx512,
#endif
};
static_assert(sizeof binary_tiles / sizeof binary_tiles[0] == DP_ISA_COUNT, "one variant per level");

void dp_binary_gemm(const dp_matrix *w, int n, const float *x, size_t ldx, float *y, size_t ldy,
                    const dp_exec *ex)
{
    DP_ASSERT(w->format == DP_FORMAT_BINARY && w->payload);
    DP_ASSERT(n >= 0 && ldx >= (size_t)n && ldy >= (size_t)n);
    DP_ASSERT(dp_isa_supported(ex->isa) && binary_tiles[ex->isa]);
    const binary_args a = { w->rows, w->cols, dp_matrix_words(w), &dp_binary_blocks(w)->pos,
                            dp_binary_alpha(w), x, ldx, y, ldy };
    const size_t scratch = (DP_TABLE_ENTRIES + (size_t)w->rows) * DP_TV * sizeof(dp_v16f);
    DP_ASSERT(dp_run_tiles(n, DP_TILE_COLS, scratch, &a, binary_tiles[ex->isa], ex->threads) == 0);
}
