/* XNOR-popcount GEMM (deploy/kernels.h): y = epilogue of d = k - 2 popcount(w XOR x).
 *
 * Weights are rows of words (BINARY blocks); activations are planes of words, one word per
 * column, so a vector load takes the same 64 inputs of 8 (AVX-512) or 4 (AVX2) columns and a
 * broadcast weight word is XORed against all of them. Padding bits are zero in both operands,
 * so they never count as mismatches and d uses the true k. Three versions, one per level,
 * because popcount differs: POPCNT per word (portable), the nibble table in PSHUFB with byte
 * counters summed by PSADBW every 31 words (AVX2: 8 * 31 < 256), VPOPCNTQ (AVX-512). The
 * epilogue (XNOR-Net's K, the padding correction, bias and folded batch norm) is applied to each
 * output as it leaves the registers, so y is written once. */
#include "deploy/kernels.h"
#include "deploy/simd.h"
#include "deploy/tile.h"
#if DP_X86
#include <immintrin.h>
#endif

typedef struct {
    int m, k, kw;
    const uint64_t *wb;     /* rows x kw */
    const float *alpha;
    const uint64_t *xb;     /* kw planes, stride ldb */
    size_t ldb;
    const float *kcol, *corr, *scale, *shift;
    size_t ldc;
    float *y;
    size_t ldy;
} xnor_args;

enum { XNOR_TILE = 32 };   /* columns per tile */

/* The epilogue of kernels.h, written out once for the scalar paths. */
static inline float xnor_out(const xnor_args *a, int r, int j, int64_t count)
{
    const float s = a->kcol ? a->alpha[r] * a->kcol[j] : a->alpha[r];
    const float d = (float)((int64_t)a->k - 2 * count);
    float v = s * (a->corr ? d - a->corr[(size_t)r * a->ldc + j] : d);
    if (a->scale) v = v * a->scale[r] + a->shift[r];
    else if (a->shift) v = v + a->shift[r];
    return v;
}

/* Portable: a 4 x 4 block of outputs in registers, one POPCNT per word pair. */
DP_INLINE void xnor_block_scalar(const xnor_args *a, int r0, int R, int j0, int C)
{
    int64_t acc[4][4] = { { 0 } };
    for (int w = 0; w < a->kw; w++) {
        const uint64_t *b = a->xb + (size_t)w * a->ldb + j0;
        for (int r = 0; r < R; r++) {
            const uint64_t wr = a->wb[(size_t)(r0 + r) * a->kw + w];
            for (int c = 0; c < C; c++) acc[r][c] += __builtin_popcountll(wr ^ b[c]);
        }
    }
    for (int r = 0; r < R; r++)
        for (int c = 0; c < C; c++)
            a->y[(size_t)(r0 + r) * a->ldy + j0 + c] = xnor_out(a, r0 + r, j0 + c, acc[r][c]);
}

static void xnor_tile_portable(const void *args, int j0, int nt, void *scratch)
{
    (void)scratch;
    const xnor_args *a = args;
    for (int r = 0; r < a->m; r += 4) {
        const int R = a->m - r < 4 ? a->m - r : 4;
        for (int j = j0; j < j0 + nt; j += 4) {
            const int C = j0 + nt - j < 4 ? j0 + nt - j : 4;
            if (R == 4 && C == 4) xnor_block_scalar(a, r, 4, j, 4);   /* constant trip counts */
            else xnor_block_scalar(a, r, R, j, C);
        }
    }
}

#if DP_X86
/* AVX2: 2 rows x 8 columns (two vectors of 4 words). */
DP_TARGET_AVX2 DP_INLINE __m256i popcount_bytes(__m256i x, __m256i lut, __m256i low)
{
    const __m256i lo = _mm256_and_si256(x, low);
    const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(x, 4), low);
    return _mm256_add_epi8(_mm256_shuffle_epi8(lut, lo), _mm256_shuffle_epi8(lut, hi));
}

DP_TARGET_AVX2 DP_INLINE void xnor_block_avx2(const xnor_args *a, int r0, int R, int j0)
{
    const __m256i lut = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4,
                                         0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
    const __m256i low = _mm256_set1_epi8(0x0f), zero = _mm256_setzero_si256();
    __m256i acc[2][2] = { { zero, zero }, { zero, zero } };
    const uint64_t *w0 = a->wb + (size_t)r0 * a->kw, *w1 = w0 + (R > 1 ? a->kw : 0);
    for (int p0 = 0; p0 < a->kw; p0 += 31) {
        const int p1 = a->kw - p0 < 31 ? a->kw : p0 + 31;
        __m256i c8[2][2] = { { zero, zero }, { zero, zero } };
        for (int p = p0; p < p1; p++) {
            const uint64_t *b = a->xb + (size_t)p * a->ldb + j0;
            const __m256i b0 = _mm256_loadu_si256((const __m256i *)b);
            const __m256i b1 = _mm256_loadu_si256((const __m256i *)(b + 4));
            const __m256i a0 = _mm256_set1_epi64x((long long)w0[p]);
            const __m256i a1 = _mm256_set1_epi64x((long long)w1[p]);
            c8[0][0] = _mm256_add_epi8(c8[0][0], popcount_bytes(_mm256_xor_si256(a0, b0), lut, low));
            c8[0][1] = _mm256_add_epi8(c8[0][1], popcount_bytes(_mm256_xor_si256(a0, b1), lut, low));
            c8[1][0] = _mm256_add_epi8(c8[1][0], popcount_bytes(_mm256_xor_si256(a1, b0), lut, low));
            c8[1][1] = _mm256_add_epi8(c8[1][1], popcount_bytes(_mm256_xor_si256(a1, b1), lut, low));
        }
        for (int r = 0; r < 2; r++)
            for (int v = 0; v < 2; v++)
                acc[r][v] = _mm256_add_epi64(acc[r][v], _mm256_sad_epu8(c8[r][v], zero));
    }
    for (int r = 0; r < R; r++) {
        int64_t cnt[8];
        _mm256_storeu_si256((__m256i *)cnt, acc[r][0]);
        _mm256_storeu_si256((__m256i *)(cnt + 4), acc[r][1]);
        for (int c = 0; c < 8; c++)
            a->y[(size_t)(r0 + r) * a->ldy + j0 + c] = xnor_out(a, r0 + r, j0 + c, cnt[c]);
    }
}

DP_TARGET_AVX2 static void xnor_tile_avx2(const void *args, int j0, int nt, void *scratch)
{
    (void)scratch;
    const xnor_args *a = args;
    const int full = nt / 8 * 8;
    for (int r = 0; r < a->m; r += 2)
        for (int j = j0; j < j0 + full; j += 8)
            if (a->m - r >= 2) xnor_block_avx2(a, r, 2, j);
            else xnor_block_avx2(a, r, 1, j);
    for (int j = j0 + full; j < j0 + nt; j += 4)   /* columns left over: 1..7 */
        for (int r = 0; r < a->m; r += 4)
            xnor_block_scalar(a, r, a->m - r < 4 ? a->m - r : 4, j, j0 + nt - j < 4 ? j0 + nt - j : 4);
}

/* AVX-512: 4 rows x 32 columns (four vectors of 8 words), masked at the column tail. */
DP_TARGET_AVX512 DP_INLINE void xnor_block_avx512(const xnor_args *a, int r0, int R, int j0,
                                                  const __mmask8 *mk)
{
    __m512i acc[4][4];
    for (int r = 0; r < 4; r++)
        for (int v = 0; v < 4; v++) acc[r][v] = _mm512_setzero_si512();
    const uint64_t *wr = a->wb + (size_t)r0 * a->kw;
    for (int p = 0; p < a->kw; p++) {
        const uint64_t *b = a->xb + (size_t)p * a->ldb + j0;
        __m512i bv[4];
        for (int v = 0; v < 4; v++) bv[v] = _mm512_maskz_loadu_epi64(mk[v], b + 8 * v);
        for (int r = 0; r < R; r++) {
            const __m512i av = _mm512_set1_epi64((long long)wr[(size_t)r * a->kw + p]);
            for (int v = 0; v < 4; v++)
                acc[r][v] = _mm512_add_epi64(acc[r][v], _mm512_popcnt_epi64(_mm512_xor_si512(av, bv[v])));
        }
    }
    const __m512i kk = _mm512_set1_epi64(a->k);
    for (int r = 0; r < R; r++) {
        const int row = r0 + r;
        const __m256 al = _mm256_set1_ps(a->alpha[row]);
        const __m256 sc = _mm256_set1_ps(a->scale ? a->scale[row] : 1.0f);
        const __m256 sh = _mm256_set1_ps(a->shift ? a->shift[row] : 0.0f);
        const float *corr = a->corr ? a->corr + (size_t)row * a->ldc + j0 : NULL;
        float *y = a->y + (size_t)row * a->ldy + j0;
        for (int v = 0; v < 4; v++) {
            if (!mk[v]) continue;
            __m256 d = _mm512_cvtepi64_ps(_mm512_sub_epi64(kk, _mm512_slli_epi64(acc[r][v], 1)));
            if (corr) d = _mm256_sub_ps(d, _mm256_maskz_loadu_ps(mk[v], corr + 8 * v));
            const __m256 s = a->kcol ? _mm256_mul_ps(al, _mm256_maskz_loadu_ps(mk[v], a->kcol + j0 + 8 * v)) : al;
            __m256 o = _mm256_mul_ps(s, d);   /* the build has -ffp-contract=off: no FMA below */
            if (a->scale) o = _mm256_add_ps(_mm256_mul_ps(o, sc), sh);
            else if (a->shift) o = _mm256_add_ps(o, sh);
            _mm256_mask_storeu_ps(y + 8 * v, mk[v], o);
        }
    }
}

DP_TARGET_AVX512 static void xnor_tile_avx512(const void *args, int j0, int nt, void *scratch)
{
    (void)scratch;
    const xnor_args *a = args;
    __mmask8 mk[4];
    for (int v = 0; v < 4; v++) {
        const int left = nt - 8 * v;
        mk[v] = left >= 8 ? 0xff : left > 0 ? (__mmask8)((1u << left) - 1) : 0;
    }
    int r = 0;
    for (; r + 4 <= a->m; r += 4) xnor_block_avx512(a, r, 4, j0, mk);
    for (; r < a->m; r++) xnor_block_avx512(a, r, 1, j0, mk);
}
#endif

static const dp_tile_fn xnor_tiles[DP_ISA_COUNT] = {
    [DP_ISA_PORTABLE] = xnor_tile_portable,
#if DP_X86
    [DP_ISA_AVX2] = xnor_tile_avx2, [DP_ISA_AVX512] = xnor_tile_avx512,
#endif
};
static_assert(sizeof xnor_tiles / sizeof xnor_tiles[0] == DP_ISA_COUNT, "one variant per level");

void dp_xnor_gemm(const dp_matrix *w, int n, const uint64_t *xb, size_t ldb, const dp_xnor_epilogue *e,
                  float *y, size_t ldy, const dp_exec *ex)
{
    DP_ASSERT(w->format == DP_FORMAT_BINARY && w->payload);
    DP_ASSERT(n >= 0 && ldb >= (size_t)n && ldy >= (size_t)n);
    DP_ASSERT(dp_isa_supported(ex->isa) && xnor_tiles[ex->isa]);
    const dp_xnor_epilogue none = { 0 };
    if (!e) e = &none;
    DP_ASSERT(!e->corr || e->ldc >= (size_t)n);
    DP_ASSERT(!e->scale || e->shift);
    const xnor_args a = { w->rows, w->cols, dp_matrix_words(w), &dp_binary_blocks(w)->pos, dp_binary_alpha(w), xb, ldb,
                          e->kcol, e->corr, e->scale, e->shift, e->ldc, y, ldy };
    DP_ASSERT(dp_run_tiles(n, XNOR_TILE, 0, &a, xnor_tiles[ex->isa], ex->threads) == 0);
}
