/* Shift GEMMs for power-of-two weights (POW2: w = 0 or +-2^p, pmin <= p <= pmax).
 *
 * Grouping by exponent: a row computes, per block of 64 inputs,
 *     y = sum_p 2^p * S_p,   S_p = sum of x where w = +2^p  minus  sum of x where w = -2^p,
 * by Horner over the exponents present in the block. Each S_p is a few subset-sum lookups
 * (subset_table.h; a chunk of 4 inputs whose weights fall in two exponents costs two), so
 * per weight the work is additions; per (row, block, exponent present) there is one scaling
 * of the partial sum by a power of two.
 *
 * What the CPU executes for that scaling: on int32 fixed-point activations
 * (dp_shift_gemm_i32) a real left shift, exact modulo 2^32. On float activations a multiply
 * by an exact power of two (VMULPS/MULPS): it changes only the exponent field, which is what
 * shifting a float means; an integer add on the exponent bits costs the same on these CPUs
 * and would need the zero, denormal and overflow checks the multiply does in hardware.
 *
 * The Horner order (the plan) depends on the weights only, so prepare() computes it once per
 * matrix: per (row, block) the groups {shift, plus count, minus count}, largest exponent
 * first, closed by a group that holds the smallest exponent, and the table indices the groups
 * add. */
#include "deploy/format_impl.h"
#include "deploy/kernels.h"
#include "deploy/subset_table.h"
#include "deploy/tile.h"

typedef struct {
    uint8_t shift;     /* h <<= shift before this group's lookups */
    uint8_t n_plus, n_minus, unused;
} shift_group;

typedef struct shift_plan {
    int rows, kw;
    uint32_t *grp_off, *ent_off;   /* per (row, block), rows * kw + 1 each */
    shift_group *grp;
    uint8_t *ent;                  /* table index 16 * chunk + subset */
} shift_plan;

/* One block's groups and entries (counted only, when g and e are NULL). The last group of
 * a block with any nonzero weight has no entries and shifts by the smallest exponent. */
static void plan_block(const uint64_t *blk, int planes, shift_group *g, uint8_t *e,
                       size_t *ng, size_t *ne)
{
    uint64_t plus[128] = { 0 }, minus[128] = { 0 };
    for (int i = 0; i < 64; i++) {
        int code = 0;
        for (int j = 0; j < planes; j++) code |= (int)((blk[1 + j] >> i) & 1) << j;
        if (!code) continue;
        if ((blk[0] >> i) & 1) minus[code - 1] |= UINT64_C(1) << i;
        else plus[code - 1] |= UINT64_C(1) << i;
    }
    int prev = -1;
    size_t gi = 0, ei = 0;
    for (int c = (1 << planes) - 2; c >= 0; c--) {
        if (!plus[c] && !minus[c]) continue;
        shift_group grp = { (uint8_t)(prev < 0 ? 0 : prev - c), 0, 0, 0 };
        for (int pass = 0; pass < 2; pass++) {
            const uint64_t bits = pass ? minus[c] : plus[c];
            for (int ch = 0; ch < 16; ch++) {
                const unsigned sub = dp_nibble(bits, ch);
                if (!sub) continue;
                if (e) e[ei] = (uint8_t)(16 * ch + sub);
                ei++;
                if (pass) grp.n_minus++;
                else grp.n_plus++;
            }
        }
        if (g) g[gi] = grp;
        gi++;
        prev = c;
    }
    if (prev >= 0) {
        if (g) g[gi] = (shift_group){ (uint8_t)prev, 0, 0, 0 };
        gi++;
    }
    *ng = gi;
    *ne = ei;
}

int dp_pow2_prepare(dp_matrix *m, char *err, size_t errlen)
{
    const int kw = dp_matrix_words(m), planes = dp_pow2_planes(m->format), bw = 1 + planes;
    const uint64_t *words = dp_pow2_words(m);
    const size_t cells = (size_t)m->rows * kw;
    size_t ng = 0, ne = 0;
    for (size_t i = 0; i < cells; i++) {
        size_t g, e;
        plan_block(words + i * bw, planes, NULL, NULL, &g, &e);
        ng += g;
        ne += e;
    }
    const size_t bytes = sizeof(shift_plan) + 2 * (cells + 1) * sizeof(uint32_t) +
                         ng * sizeof(shift_group) + ne;
    if (ng > UINT32_MAX || ne > UINT32_MAX)
        return dp_fail(err, errlen, "%s: %d x %d too large to plan", dp_format_name(m->format),
                       m->rows, m->cols);
    shift_plan *p = dp_alloc(bytes);
    if (!p) return dp_fail(err, errlen, "%s: out of memory for the kernel plan", dp_format_name(m->format));
    p->rows = m->rows;
    p->kw = kw;
    p->grp_off = (uint32_t *)(p + 1);
    p->ent_off = p->grp_off + cells + 1;
    p->grp = (shift_group *)(p->ent_off + cells + 1);
    p->ent = (uint8_t *)(p->grp + ng);
    size_t gi = 0, ei = 0;
    for (size_t i = 0; i < cells; i++) {
        size_t g, e;
        p->grp_off[i] = (uint32_t)gi;
        p->ent_off[i] = (uint32_t)ei;
        plan_block(words + i * bw, planes, p->grp + gi, p->ent + ei, &g, &e);
        gi += g;
        ei += e;
    }
    p->grp_off[cells] = (uint32_t)gi;
    p->ent_off[cells] = (uint32_t)ei;
    free(m->plan);
    m->plan = p;
    return 0;
}

typedef struct {
    int m, k, kw;
    const shift_plan *plan;
    int pmin;
    const void *x;             /* float or int32 */
    size_t ldx;
    void *y;
    size_t ldy;
} shift_args;

/* 2^e for -126 <= e <= 127, exact: the exponent field set directly. */
static inline float exp2i(int e)
{
    const uint32_t bits = (uint32_t)(127 + e) << 23;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

/* Float: Horner from the smallest exponent up, h = h * 2^-(c - c_prev) + S_c, then one
 * scaling by 2^(pmin + c_largest): partial sums only ever shrink, so a matrix whose exponents
 * span 2^-126 .. 2^0 (DeepShift-PS clamps dead weights to the bottom of its range) neither
 * overflows nor loses more than contributions below 2^-126 of the largest. */
DP_INLINE void shift_tile_f32(const void *args, int j0, int nt, void *scratch)
{
    const shift_args *a = args;
    const shift_plan *pl = a->plan;
    dp_v16f (*tab)[DP_TV] = scratch;
    dp_v16f (*acc)[DP_TV] = tab + DP_TABLE_ENTRIES;
    for (int b = 0; b < a->kw; b++) {
        const int nrows = a->k - 64 * b < 64 ? a->k - 64 * b : 64;
        dp_table_f32((const float *)a->x + (size_t)64 * b * a->ldx + j0, a->ldx, nrows, nt, tab);
        for (int r = 0; r < a->m; r++) {
            const size_t cell = (size_t)r * a->kw + b;
            const shift_group *g0 = pl->grp + pl->grp_off[cell], *g = pl->grp + pl->grp_off[cell + 1];
            const uint8_t *e = pl->ent + pl->ent_off[cell + 1];
            dp_v16f h[DP_TV] = { { 0 } };
            int c = 0;
            if (g > g0) {
                c = (--g)->shift;              /* the closing group: smallest exponent */
                for (int up = 0; g > g0; ) {   /* up: distance to the group processed last */
                    --g;
                    const float down = exp2i(-up);
                    for (int v = 0; v < DP_TV; v++) h[v] *= down;
                    c += up;
                    e -= g->n_plus + g->n_minus;
                    for (int i = 0; i < g->n_plus; i++)
                        for (int v = 0; v < DP_TV; v++) h[v] += tab[e[i]][v];
                    for (int i = g->n_plus; i < g->n_plus + g->n_minus; i++)
                        for (int v = 0; v < DP_TV; v++) h[v] -= tab[e[i]][v];
                    up = g->shift;
                }
            }
            const float scale = exp2i(a->pmin + c);
            for (int v = 0; v < DP_TV; v++) acc[r][v] = b ? acc[r][v] + h[v] * scale : h[v] * scale;
        }
    }
    for (int r = 0; r < a->m; r++)
        DP_TILE_STORE((float *)a->y + (size_t)r * a->ldy + j0, acc[r], nt, float);
}

/* Int32: Horner from the largest exponent down with left shifts, h = (h << (c_prev - c)) + S_c,
 * closing with << c_smallest; unsigned lanes, so sums wrap modulo 2^32 and never overflow. */
DP_INLINE void shift_tile_i32(const void *args, int j0, int nt, void *scratch)
{
    const shift_args *a = args;
    const shift_plan *pl = a->plan;
    dp_v16u (*tab)[DP_TV] = scratch;
    dp_v16u (*acc)[DP_TV] = tab + DP_TABLE_ENTRIES;
    for (int b = 0; b < a->kw; b++) {
        const int nrows = a->k - 64 * b < 64 ? a->k - 64 * b : 64;
        dp_table_u32((const uint32_t *)a->x + (size_t)64 * b * a->ldx + j0, a->ldx, nrows, nt, tab);
        for (int r = 0; r < a->m; r++) {
            const size_t cell = (size_t)r * a->kw + b;
            const shift_group *g = pl->grp + pl->grp_off[cell], *ge = pl->grp + pl->grp_off[cell + 1];
            const uint8_t *e = pl->ent + pl->ent_off[cell];
            dp_v16u h[DP_TV] = { { 0 } };
            for (; g < ge; g++) {
                for (int v = 0; v < DP_TV; v++) h[v] <<= g->shift;
                for (int i = 0; i < g->n_plus; i++, e++)
                    for (int v = 0; v < DP_TV; v++) h[v] += tab[*e][v];
                for (int i = 0; i < g->n_minus; i++, e++)
                    for (int v = 0; v < DP_TV; v++) h[v] -= tab[*e][v];
            }
            for (int v = 0; v < DP_TV; v++) acc[r][v] = b ? acc[r][v] + h[v] : h[v];
        }
    }
    for (int r = 0; r < a->m; r++)
        DP_TILE_STORE((uint32_t *)a->y + (size_t)r * a->ldy + j0, acc[r], nt, uint32_t);
}

static void f32_portable(const void *a, int s, int l, void *w) { shift_tile_f32(a, s, l, w); }
static void i32_portable(const void *a, int s, int l, void *w) { shift_tile_i32(a, s, l, w); }
#if DP_X86
DP_TARGET_AVX2 static void f32_avx2(const void *a, int s, int l, void *w) { shift_tile_f32(a, s, l, w); }
DP_TARGET_AVX2 static void i32_avx2(const void *a, int s, int l, void *w) { shift_tile_i32(a, s, l, w); }
DP_TARGET_AVX512 static void f32_avx512(const void *a, int s, int l, void *w) { shift_tile_f32(a, s, l, w); }
DP_TARGET_AVX512 static void i32_avx512(const void *a, int s, int l, void *w) { shift_tile_i32(a, s, l, w); }
#endif

static const dp_tile_fn shift_tiles[2][DP_ISA_COUNT] = {
    { [DP_ISA_PORTABLE] = f32_portable,
#if DP_X86
      [DP_ISA_AVX2] = f32_avx2, [DP_ISA_AVX512] = f32_avx512,
#endif
    },
    { [DP_ISA_PORTABLE] = i32_portable,
#if DP_X86
      [DP_ISA_AVX2] = i32_avx2, [DP_ISA_AVX512] = i32_avx512,
#endif
    },
};
static_assert(sizeof shift_tiles[0] / sizeof shift_tiles[0][0] == DP_ISA_COUNT, "one variant per level");

static void shift_run(const dp_matrix *w, int n, const void *x, size_t ldx, void *y, size_t ldy,
                      const dp_exec *ex, int fixed)
{
    DP_ASSERT((w->format == DP_FORMAT_POW2_4 || w->format == DP_FORMAT_POW2_8) && w->payload);
    DP_ASSERT(w->plan);   /* dp_matrix_pack / dp_matrix_load prepare it */
    DP_ASSERT(n >= 0 && ldx >= (size_t)n && ldy >= (size_t)n);
    DP_ASSERT(dp_isa_supported(ex->isa) && shift_tiles[fixed][ex->isa]);
    const int pmin = dp_pow2_head(w)->pmin;
    const shift_args a = { w->rows, w->cols, dp_matrix_words(w), w->plan,
                           pmin, x, ldx, y, ldy };
    const size_t scratch = (DP_TABLE_ENTRIES + (size_t)w->rows) * DP_TV * sizeof(dp_v16f);
    DP_ASSERT(dp_run_tiles(n, DP_TILE_COLS, scratch, &a, shift_tiles[fixed][ex->isa], ex->threads) == 0);
}

void dp_pow2_gemm(const dp_matrix *w, int n, const float *x, size_t ldx, float *y, size_t ldy,
                  const dp_exec *ex)
{
    shift_run(w, n, x, ldx, y, ldy, ex, 0);
}

int dp_shift_gemm_i32(const dp_matrix *w, int n, const int32_t *x, size_t ldx, int32_t *y,
                      size_t ldy, const dp_exec *ex, char *err, size_t errlen)
{
    const dp_head_pow2 *h = dp_pow2_head(w);
    if (h->pmax - h->pmin > 31)
        return dp_fail(err, errlen, "%s: exponents %d..%d span more than a 32-bit shift",
                       dp_format_name(w->format), h->pmin, h->pmax);
    shift_run(w, n, x, ldx, y, ldy, ex, 1);
    return 0;
}
