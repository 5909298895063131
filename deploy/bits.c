/* Sign packing: float rows or im2col columns to bits (see deploy/kernels.h). */
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

/* Signs of rows [i0, i1) of 16 columns, bit i - i0 per row. */
DP_INLINE void signs16(const pack_args *a, int j, int nt, int i0, int i1, dp_v16u *out)
{
    const dp_v16f zero = { 0 };
    dp_v16u bits = { 0 };
    for (int i = i0; i < i1; i++) {
        const float *src = a->x + (size_t)i * a->ldx + j;
        dp_v16f v = zero;
        if (nt == DP_VL) DP_LOADU(v, src);
        else memcpy(&v, src, (size_t)nt * sizeof(float));
        bits |= (dp_v16u)(v >= zero) & (1u << (i - i0));   /* all ones where x >= 0 */
    }
    *out = bits;
}

/* 16 columns of every plane: the low and high 32 rows of a plane, then interleaved. */
DP_INLINE void pack16(const pack_args *a, int j, int nt)
{
    const int kw = dp_words(a->k);
    for (int p = 0; p < kw; p++) {
        const int r0 = 64 * p, r1 = a->k < r0 + 64 ? a->k : r0 + 64;
        dp_v16u lo, hi;
        signs16(a, j, nt, r0, r1 < r0 + 32 ? r1 : r0 + 32, &lo);
        signs16(a, j, nt, r0 + 32, r1, &hi);
        uint64_t *dst = a->out + (size_t)p * a->ldo + j;
        for (int l = 0; l < nt; l++) dst[l] = (uint64_t)lo[l] | (uint64_t)hi[l] << 32;
    }
}

DP_INLINE void pack_tile(const pack_args *a, int start, int len)
{
    for (int j = start; j < start + len; j += DP_VL)
        pack16(a, j, start + len - j < DP_VL ? start + len - j : DP_VL);
}

static void pack_portable(const void *a, int s, int l, void *scratch) { (void)scratch; pack_tile(a, s, l); }
#if DP_X86
DP_TARGET_AVX2 static void pack_avx2(const void *a, int s, int l, void *scratch) { (void)scratch; pack_tile(a, s, l); }
DP_TARGET_AVX512 static void pack_avx512(const void *a, int s, int l, void *scratch) { (void)scratch; pack_tile(a, s, l); }
#endif

static const dp_tile_fn pack_tiles[DP_ISA_COUNT] = {
    [DP_ISA_PORTABLE] = pack_portable,
#if DP_X86
    [DP_ISA_AVX2] = pack_avx2, [DP_ISA_AVX512] = pack_avx512,
#endif
};
static_assert(sizeof pack_tiles / sizeof pack_tiles[0] == DP_ISA_COUNT, "one variant per level");

void dp_bits_pack_cols(int k, int n, const float *x, size_t ldx, uint64_t *out, size_t ldo,
                       const dp_exec *ex)
{
    DP_ASSERT(k >= 1 && n >= 0 && ldx >= (size_t)n && ldo >= (size_t)n);
    DP_ASSERT(dp_isa_supported(ex->isa) && pack_tiles[ex->isa]);
    const pack_args a = { k, x, ldx, out, ldo };
    DP_ASSERT(dp_run_tiles(n, 4 * DP_VL, 0, &a, pack_tiles[ex->isa], ex->threads) == 0);
}
