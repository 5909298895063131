/* Shift GEMMs for power-of-two weights (POW2: w = 0 or +-2^p, pmin <= p <= pmax).
 *
 * A row splits its weights by exponent: y = sum_p 2^p (P_p - N_p), where P_p (N_p) sums the
 * inputs whose weight is +2^p (-2^p). Within a chunk of 4 inputs, the inputs sharing one
 * exponent and sign form a subset whose sum is one lookup in the subset-sum table
 * (subset_table.h), so a row costs one entry per (chunk, exponent, sign) present: about 0.8
 * to 0.9 entries per weight for Gaussian weights on 7 exponents, instead of one
 * multiply-add per weight. Each entry is one shift of a subset sum and one addition.
 *
 * What the CPU executes for the shift: on int32 fixed-point activations (dp_shift_gemm_i32) a
 * real left shift by p - pmin (VPSLLD), exact modulo 2^32. On float activations a multiply by
 * the exact power of two 2^p (VMULPS/MULPS), which changes only the exponent field: that is
 * what shifting a float is, and an integer add on the exponent bits would cost the same on
 * these CPUs while needing the zero, denormal and overflow checks the multiply does in
 * hardware. So the float kernel is multiply-free in the papers' sense (no weight mantissa is
 * ever multiplied), not in the instruction count.
 *
 * The entries depend on the weights only, so prepare() lists them once per matrix: per
 * (row, 64-input block) the plus entries then the minus entries, each {table index, p - pmin}. */
#ifndef DP_LEVEL
#include "deploy/format_impl.h"
#include "deploy/kernels.h"
#include "deploy/subset_table.h"
#include "deploy/tile.h"

/* One load per entry, both fields ready as addresses: the byte offset of the table entry
 * (64 * (16 * chunk + subset), an entry being 16 columns of 4 bytes at every level) and
 * minus << 7 | p - pmin, the float kernel's scale index. Entry 0 adds table entry 0, the
 * empty subset: zero. Each cell's plus and minus lists are padded with it to whole groups of
 * 4, so the loops run in fours without remainders (one mispredicted loop exit per list
 * instead of two). */
typedef uint32_t shift_entry;
#define ENT_OFF(en) ((en) & 0xffff)
#define ENT_SCALE(en) ((en) >> 16)
#define ENT_SHIFT(en) (((en) >> 16) & 0x7f)
typedef struct { uint32_t off; uint8_t n_plus, n_minus; } shift_cell;

typedef struct shift_plan {
    shift_cell *cell;      /* rows x kw */
    shift_entry *ent;
} shift_plan;

/* One block's entries (counted only when e is NULL): plus entries, then minus entries, each
 * list padded to a multiple of 4. */
static void plan_block(const uint64_t *blk, int planes, shift_entry *e, int *n_plus, int *n_minus)
{
    uint64_t sub[2][128] = { { 0 } };   /* [minus][p - pmin]: which inputs */
    for (int i = 0; i < 64; i++) {
        int code = 0;
        for (int j = 0; j < planes; j++) code |= (int)((blk[1 + j] >> i) & 1) << j;
        if (code) sub[(blk[0] >> i) & 1][code - 1] |= UINT64_C(1) << i;
    }
    int n[2] = { 0, 0 }, k = 0;
    for (int sign = 0; sign < 2; sign++) {
        for (int c = (1 << planes) - 2; c >= 0; c--)
            for (int ch = 0; ch < 16 && sub[sign][c]; ch++) {
                const unsigned s = dp_nibble(sub[sign][c], ch);
                if (!s) continue;
                if (e) e[k] = (shift_entry)(64 * (16 * ch + s)) | (shift_entry)(sign << 7 | c) << 16;
                k++;
                n[sign]++;
            }
        for (; n[sign] % 4; n[sign]++, k++)
            if (e) e[k] = 0;
    }
    *n_plus = n[0];
    *n_minus = n[1];
}

int dp_pow2_prepare(dp_matrix *m, char *err, size_t errlen)
{
    const int kw = dp_matrix_words(m), planes = dp_pow2_planes(m->format), bw = 1 + planes;
    const uint64_t *words = dp_pow2_words(m);
    const size_t cells = (size_t)m->rows * kw;
    size_t ne = 0;
    for (size_t i = 0; i < cells; i++) {
        int np, nm;
        plan_block(words + i * bw, planes, NULL, &np, &nm);
        ne += (size_t)np + nm;
    }
    if (ne > UINT32_MAX)
        return dp_fail(err, errlen, "%s: %d x %d too large to plan", dp_format_name(m->format), m->rows, m->cols);
    shift_plan *p = dp_alloc(sizeof(shift_plan) + cells * sizeof(shift_cell) + ne * sizeof(shift_entry));
    if (!p) return dp_fail(err, errlen, "%s: out of memory for the kernel plan", dp_format_name(m->format));
    p->cell = (shift_cell *)(p + 1);
    p->ent = (shift_entry *)(p->cell + cells);
    size_t k = 0;
    for (size_t i = 0; i < cells; i++) {
        int np, nm;
        plan_block(words + i * bw, planes, p->ent + k, &np, &nm);
        p->cell[i] = (shift_cell){ (uint32_t)k, (uint8_t)np, (uint8_t)nm };
        k += (size_t)np + nm;
    }
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

#define DP_SELF "deploy/gemm_shift.c"
#include "deploy/levels.h"

static const dp_tile_fn shift_tiles[2][DP_ISA_COUNT] = { DP_LEVEL_TABLE(shift_f32), DP_LEVEL_TABLE(shift_i32) };
static_assert(sizeof shift_tiles[0] / sizeof shift_tiles[0][0] == DP_ISA_COUNT, "one variant per level");

static void shift_run(const dp_matrix *w, int n, const void *x, size_t ldx, void *y, size_t ldy,
                      const dp_exec *ex, int fixed)
{
    DP_ASSERT((w->format == DP_FORMAT_POW2_4 || w->format == DP_FORMAT_POW2_8) && w->payload);
    DP_ASSERT(w->plan);   /* dp_matrix_pack / dp_matrix_load prepare it */
    DP_ASSERT(n >= 0 && ldx >= (size_t)n && ldy >= (size_t)n);
    DP_ASSERT(dp_isa_supported(ex->isa) && shift_tiles[fixed][ex->isa]);
    const shift_args a = { w->rows, w->cols, dp_matrix_words(w), w->plan, dp_pow2_head(w)->pmin,
                           x, ldx, y, ldy };
    const int panel = dp_panel_cols(n, ex->threads);
    const size_t scratch = DP_TABLE_BYTES + DP_PANEL_COPY_BYTES + (size_t)w->rows * panel * sizeof(float);
    DP_ASSERT(dp_run_tiles(n, panel, scratch, &a, shift_tiles[fixed][ex->isa], ex->threads) == 0);
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

#else /* the bodies, once per level */
#include "deploy/subset_table.h"

/* The panel loop both kernels share: per block and subtile a table, per row its entries
 * (LISTS(cell, entries) adds them into the partial sums h0..h3, g0..g3 that are subtracted). */
#define SHIFT_PANEL(VEC, ELEM, BUILD, LISTS)                                                        \
    const shift_args *a = args;                                                                    \
    const int tiles = (nt + DP_VL - 1) / DP_VL;                                                    \
    VEC (*tab)[NV] = scratch;                                                                      \
    ELEM *copy = (ELEM *)(tab + DP_TABLE_ENTRIES);                                                 \
    VEC (*acc)[NV] = (VEC (*)[NV])(copy + DP_PANEL_COPY_BYTES / 4);                                \
    for (int b = 0; b < a->kw; b++) {                                                              \
        const int nrows = a->k - 64 * b < 64 ? a->k - 64 * b : 64;                                 \
        dp_panel_copy(copy, (const ELEM *)a->x + (size_t)64 * b * a->ldx + j0, a->ldx, nrows, nt); \
        for (int t = 0; t < tiles; t++) {                                                          \
            BUILD(copy + t * DP_VL, nrows, dp_tile_cols(nt, t), tab);                              \
            for (int r = 0; r < a->m; r++) {                                                       \
                const shift_cell cl = a->plan->cell[(size_t)r * a->kw + b];                        \
                const shift_entry *e = a->plan->ent + cl.off;                                      \
                VEC h0[NV] = { 0 }, h1[NV] = { 0 }, h2[NV] = { 0 }, h3[NV] = { 0 };                \
                VEC g0[NV] = { 0 }, g1[NV] = { 0 }, g2[NV] = { 0 }, g3[NV] = { 0 };                \
                LISTS(cl, e);                                                                      \
                VEC *ar = acc[(size_t)r * tiles + t];                                              \
                for (int v = 0; v < NV; v++) {                                                     \
                    const VEC s = ((h0[v] + h1[v]) + (h2[v] + h3[v])) - ((g0[v] + g1[v]) + (g2[v] + g3[v])); \
                    ar[v] = b ? ar[v] + s : s;                                                     \
                }                                                                                  \
            }                                                                                      \
        }                                                                                          \
    }                                                                                              \
    for (int r = 0; r < a->m; r++)                                                                 \
        for (int t = 0; t < tiles; t++)                                                            \
            TILE_STORE((ELEM *)a->y + (size_t)r * a->ldy + j0 + t * DP_VL, acc[(size_t)r * tiles + t], dp_tile_cols(nt, t));

/* Float: subset sum times +-2^p (exact; the sign rides in the scale), then added: the plus
 * and minus lists run as one loop. */
static void LEVEL_FN(shift_f32)(const void *args, int j0, int nt, void *scratch)
{
    const int pmin = ((const shift_args *)args)->pmin;
    float scale[256];   /* [minus << 7 | p - pmin]; check() keeps pmin + c <= pmax <= 127 */
    for (int c = 0; c < 128; c++) {
        scale[c] = pmin + c <= 127 ? exp2i(pmin + c) : 0.0f;
        scale[128 + c] = -scale[c];
    }
#define ENTRY_F32(hh, en)                                                                      \
    do {                                                                                       \
        const VF *t_ = (const VF *)((const char *)tab + ENT_OFF(en));                          \
        const float f_ = scale[ENT_SCALE(en)];                                                 \
        for (int v = 0; v < NV; v++) (hh)[v] += t_[v] * f_;                                    \
    } while (0)
#define LISTS_F32(cl, e)                                                                     \
    for (int i = 0; i < (cl).n_plus + (cl).n_minus; i += 4) {                                \
        ENTRY_F32(h0, (e)[i]); ENTRY_F32(h1, (e)[i + 1]); ENTRY_F32(h2, (e)[i + 2]); ENTRY_F32(h3, (e)[i + 3]); \
    }
    SHIFT_PANEL(VF, float, LEVEL_FN(table_f32), LISTS_F32)
#undef LISTS_F32
#undef ENTRY_F32
}

/* Int32: subset sum shifted left by p - pmin; unsigned lanes, so sums wrap modulo 2^32. The
 * minus list goes into its own sums (g), subtracted at the end. */
static void LEVEL_FN(shift_i32)(const void *args, int j0, int nt, void *scratch)
{
#define ENTRY_U32(hh, en)                                                                      \
    do {                                                                                       \
        const VU *t_ = (const VU *)((const char *)tab + ENT_OFF(en));                          \
        const unsigned s_ = ENT_SHIFT(en);                                                     \
        for (int v = 0; v < NV; v++) (hh)[v] += t_[v] << s_;                                   \
    } while (0)
#define LISTS_U32(cl, e)                                                                     \
    for (int i = 0; i < (cl).n_plus; i += 4) {                                               \
        ENTRY_U32(h0, (e)[i]); ENTRY_U32(h1, (e)[i + 1]); ENTRY_U32(h2, (e)[i + 2]); ENTRY_U32(h3, (e)[i + 3]); \
    }                                                                                        \
    for (int i = (cl).n_plus; i < (cl).n_plus + (cl).n_minus; i += 4) {                      \
        ENTRY_U32(g0, (e)[i]); ENTRY_U32(g1, (e)[i + 1]); ENTRY_U32(g2, (e)[i + 2]); ENTRY_U32(g3, (e)[i + 3]); \
    }
    SHIFT_PANEL(VU, uint32_t, LEVEL_FN(table_u32), LISTS_U32)
#undef LISTS_U32
#undef ENTRY_U32
}
#endif
