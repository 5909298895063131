/* Sign packing: float rows or im2col columns to bits (see deploy/kernels.h). */
#ifndef DP_LEVEL
#include "deploy/kernels.h"
#include "deploy/simd.h"
#include "deploy/tile.h"

void dp_bits_pack_rows(int rows, int k, const float *x, size_t ldx, uint64_t *out)
{
    const int kw = dp_words(k);
    for (int r = 0; r < rows; r++) {
        const float *xr = x + (size_t)r * ldx;
        for (int w = 0; w < kw; w++) {
            uint64_t word = 0;
            for (int i = 0; i < 64 && 64 * w + i < k; i++)
                word |= (uint64_t)(xr[64 * w + i] >= 0.0f) << i;
            out[(size_t)r * kw + w] = word;
        }
    }
}

typedef struct {
    int k;
    const float *x;
    size_t ldx;
    uint64_t *out;
    size_t ldo;
} pack_args;

enum { PACK_PANEL = 256 };

#define DP_SELF "deploy/bits.c"
#include "deploy/levels.h"

static const dp_tile_fn pack_tiles[DP_ISA_COUNT] = DP_LEVEL_TABLE(pack_panel);
static_assert(sizeof pack_tiles / sizeof pack_tiles[0] == DP_ISA_COUNT, "one variant per level");

void dp_bits_pack_cols(int k, int n, const float *x, size_t ldx, uint64_t *out, size_t ldo,
                       const dp_exec *ex)
{
    DP_ASSERT(k >= 1 && n >= 0 && ldx >= (size_t)n && ldo >= (size_t)n);
    DP_ASSERT(dp_isa_supported(ex->isa) && pack_tiles[ex->isa]);
    const pack_args a = { k, x, ldx, out, ldo };
    const int per = (n + ex->threads - 1) / (ex->threads < 1 ? 1 : ex->threads);
    const int panel = per < PACK_PANEL ? (per + DP_VL - 1) / DP_VL * DP_VL : PACK_PANEL;
    DP_ASSERT(dp_run_tiles(n, panel ? panel : DP_VL, 0, &a, pack_tiles[ex->isa], ex->threads) == 0);
}

#else /* the body, once per level */

/* One plane of a panel of up to PACK_PANEL columns: each of its 64 rows is read in one run
 * across the panel (the order memory streams best), its signs ORed into the low or high half
 * of the panel's words, kept as 32-bit lanes until the end. */
static void LEVEL_FN(pack_panel)(const void *args, int start, int len, void *scratch)
{
    (void)scratch;
    const pack_args *a = args;
    const int kw = dp_words(a->k), vecs = (len + W - 1) / W;
    const VF zero = { 0 };
    for (int p = 0; p < kw; p++) {
        VU half[2][PACK_PANEL / W];
        memset(half, 0, sizeof half);
        const int r0 = 64 * p, r1 = a->k < r0 + 64 ? a->k : r0 + 64;
        for (int i = r0; i < r1; i++) {
            const float *src = a->x + (size_t)i * a->ldx + start;
            VU *h = half[(i - r0) >> 5];
            const uint32_t bit = 1u << ((i - r0) & 31);
            int v = 0;
            for (; v < len / W; v++) {
                VF x;
                DP_LOADU(x, src + W * v);
                h[v] |= (VU)(x >= zero) & bit;   /* all ones where x >= 0 */
            }
            if (v < vecs) {
                VF x = zero;
                memcpy(&x, src + W * v, (size_t)(len - W * v) * sizeof(float));
                h[v] |= (VU)(x >= zero) & bit;
            }
        }
        uint64_t *dst = a->out + (size_t)p * a->ldo + start;
        for (int j = 0; j < len; j++)
            dst[j] = (uint64_t)half[0][j / W][j % W] | (uint64_t)half[1][j / W][j % W] << 32;
    }
}
#endif
