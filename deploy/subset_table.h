/* Internal to deploy/: subset-sum tables, the reuse behind the add-only kernels.
 *
 * A +-1, ternary or power-of-two weight row picks, for every 4 consecutive inputs, a subset
 * of them to add (and one to subtract). All 16 subset sums of 4 input rows, for a tile of
 * 16 columns, cost 11 vector additions and serve every output row: each row then spends one
 * load + one add per 4 inputs and subset instead of four. With M output rows the work per
 * 4 inputs and tile falls from 4M additions to 11 + M (binary), 11 + 2M (ternary).
 *
 * A table covers one block of 64 input rows (16 chunks x 16 subsets x 16 columns, 16 KiB):
 * it stays in L1 while every output row reads it. Entry 16c + s is the sum of the rows
 * 4c + i with bit i of s set, always added in the same order, so every level computes the
 * same numbers. Rows past the block's end are zero.
 *
 * The first part is shared; the second is a level body (deploy/levels.h), included by each
 * kernel body. */
#ifndef DP_SUBSET_TABLE_H
#define DP_SUBSET_TABLE_H
#include "deploy/simd.h"

/* A thread's unit of work is a panel of up to DP_PANEL_COLS columns; tables are built per
 * tile of DP_VL columns, from a contiguous copy of each 64-row block of the panel: one
 * sequential run per row, which the prefetchers stream from memory, where the table builds
 * would read 64 bytes of each of 64 rows a whole activation row apart (measured: that walk
 * left the kernels waiting on DRAM for batched activations of tens of MB). */
enum { DP_TABLE_ENTRIES = 256, DP_PANEL_COLS = 256, DP_PANEL_TILES = DP_PANEL_COLS / DP_VL,
       DP_PANEL_COPY_BYTES = 64 * DP_PANEL_COLS * 4, DP_TABLE_BYTES = DP_TABLE_ENTRIES * DP_VL * 4 };

/* Panel width for n columns on `threads` threads: whole tiles, at most DP_PANEL_COLS, and
 * at least one panel per thread when n allows. */
static inline int dp_panel_cols(int n, int threads)
{
    const int per = (n + threads - 1) / (threads < 1 ? 1 : threads);
    const int cols = (per + DP_VL - 1) / DP_VL * DP_VL;
    return cols < DP_VL ? DP_VL : cols > DP_PANEL_COLS ? DP_PANEL_COLS : cols;
}

/* Rows [0, nrows) x columns [0, nt) of x (4-byte elements) into a dense nrows x DP_PANEL_COLS copy. */
static inline void dp_panel_copy(void *dst, const void *x, size_t ldx, int nrows, int nt)
{
    for (int i = 0; i < nrows; i++)
        memcpy((char *)dst + (size_t)i * DP_PANEL_COLS * 4, (const char *)x + (size_t)i * ldx * 4, (size_t)nt * 4);
}

/* The nibble of `word` selecting chunk c's subset. */
static inline unsigned dp_nibble(uint64_t word, int c) { return (unsigned)(word >> (4 * c)) & 15u; }

static inline int dp_tile_cols(int nt, int t) { return nt - t * DP_VL < DP_VL ? nt - t * DP_VL : DP_VL; }
#endif

#ifdef DP_LEVEL
/* One tile row (16 columns, nt of them valid, zero beyond) from memory, and back. */
#define TILE_LOAD(t, src, nt)                                                                \
    do {                                                                                     \
        if ((nt) == DP_VL) for (int v_ = 0; v_ < NV; v_++) DP_LOADU((t)[v_], (src) + W * v_); \
        else {                                                                               \
            memset((t), 0, sizeof(t));                                                       \
            memcpy((t), (src), (size_t)(nt) * 4);                                            \
        }                                                                                    \
    } while (0)
#define TILE_STORE(dst, t, nt)                                                               \
    do {                                                                                     \
        if ((nt) == DP_VL) for (int v_ = 0; v_ < NV; v_++) DP_STOREU((dst) + W * v_, (t)[v_]); \
        else memcpy((dst), (t), (size_t)(nt) * 4);                                           \
    } while (0)

/* tab[16 c + s] for the chunks of rows [0, nrows) of a panel copy (row stride
 * DP_PANEL_COLS), columns [0, nt). */
#define TABLE_BUILD(VEC, ELEM)                                                               \
    const int chunks = (nrows + 3) / 4;                                                      \
    for (int c = 0; c < chunks; c++) {                                                       \
        VEC r[4][NV];                                                                        \
        for (int i = 0; i < 4; i++) {                                                        \
            if (4 * c + i < nrows) TILE_LOAD(r[i], x + (size_t)(4 * c + i) * DP_PANEL_COLS, nt); \
            else memset(r[i], 0, sizeof r[i]);                                               \
        }                                                                                    \
        VEC (*t)[NV] = tab + 16 * c;                                                         \
        for (int v = 0; v < NV; v++) {                                                       \
            t[0][v] = (VEC){ 0 };                                                            \
            t[1][v] = r[0][v];                                                               \
            t[2][v] = r[1][v];                                                               \
            t[3][v] = r[1][v] + r[0][v];                                                     \
            t[4][v] = r[2][v];                                                               \
            t[5][v] = r[2][v] + t[1][v];                                                     \
            t[6][v] = r[2][v] + t[2][v];                                                     \
            t[7][v] = r[2][v] + t[3][v];                                                     \
            t[8][v] = r[3][v];                                                               \
            for (int s = 9; s < 16; s++) t[s][v] = r[3][v] + t[s - 8][v];                    \
        }                                                                                    \
    }

DP_INLINE void LEVEL_FN(table_f32)(const float *x, int nrows, int nt, VF (*tab)[NV]) { TABLE_BUILD(VF, float) }
DP_INLINE void LEVEL_FN(table_u32)(const uint32_t *x, int nrows, int nt, VU (*tab)[NV]) { TABLE_BUILD(VU, uint32_t) }
#undef TABLE_BUILD
#endif
