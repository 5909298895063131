/* Internal to deploy/: subset-sum tables, the reuse behind the add-only kernels.
 *
 * A +-1, ternary or power-of-two weight row picks, for every 4 consecutive inputs, a subset
 * of them to add (and one to subtract). All 16 subset sums of 4 input rows, for a tile of
 * columns, cost 11 vector additions and serve every output row: each row then spends one
 * load + one add per 4 inputs and subset instead of four. With M output rows the work per
 * 4 inputs and column vector falls from 4M additions to 11 + M (binary), 11 + 2M (ternary).
 *
 * A table covers one block of 64 input rows (16 chunks x 16 subsets x DP_TV vectors,
 * 16 KiB at DP_TV = 1): it stays in L1 while every output row reads it. Entry 16c + s is
 * the sum of the rows 4c + i with bit i of s set, always added in the same order, so every
 * level computes the same numbers. Rows past the block's end are zero. */
#ifndef DP_SUBSET_TABLE_H
#define DP_SUBSET_TABLE_H
#include "deploy/simd.h"

#ifndef DP_TV
#define DP_TV 1        /* vectors of 16 columns per tile */
#endif
/* A thread's unit of work is a panel of up to DP_PANEL_COLS columns; tables are built per
 * subtile of DP_TILE_COLS columns. Each 64-row block of the panel is read row by row in
 * DP_PANEL_COLS-long runs the prefetchers follow, rather than 64-byte pieces of rows a whole
 * activation row apart (measured: the narrow walk left the kernels waiting on memory). */
enum { DP_TILE_COLS = DP_VL * DP_TV, DP_TABLE_ENTRIES = 256, DP_PANEL_COLS = 256,
       DP_PANEL_SUBS = DP_PANEL_COLS / DP_TILE_COLS };

/* Panel width for n columns on `threads` threads: whole subtiles, at most DP_PANEL_COLS, and
 * at least one panel per thread when n allows. */
static inline int dp_panel_cols(int n, int threads)
{
    const int per = (n + threads - 1) / (threads < 1 ? 1 : threads);
    const int cols = (per + DP_TILE_COLS - 1) / DP_TILE_COLS * DP_TILE_COLS;
    return cols < DP_TILE_COLS ? DP_TILE_COLS : cols > DP_PANEL_COLS ? DP_PANEL_COLS : cols;
}

/* Rows i of x (row stride ldx, columns [0, nt)), i < nrows, zero beyond: one tile row each. */
#define DP_TABLE_BUILD(NAME, VEC, ELEM)                                                    \
    DP_INLINE void NAME(const ELEM *x, size_t ldx, int nrows, int nt, VEC (*tab)[DP_TV])   \
    {                                                                                      \
        const int chunks = (nrows + 3) / 4;                                                \
        for (int c = 0; c < chunks; c++) {                                                 \
            VEC r[4][DP_TV];                                                               \
            for (int i = 0; i < 4; i++)                                                    \
                for (int v = 0; v < DP_TV; v++) {                                          \
                    const int row = 4 * c + i, col = DP_VL * v;                           \
                    VEC rv = { 0 };                                                        \
                    if (row < nrows && nt >= col + DP_VL) DP_LOADU(rv, x + (size_t)row * ldx + col); \
                    else if (row < nrows && nt > col)                                      \
                        memcpy(&rv, x + (size_t)row * ldx + col, (size_t)(nt - col) * sizeof(ELEM)); \
                    r[i][v] = rv;                                                          \
                }                                                                          \
            VEC (*t)[DP_TV] = tab + 16 * c;                                                \
            for (int v = 0; v < DP_TV; v++) {                                              \
                const VEC z = { 0 };                                                       \
                t[0][v] = z;                                                               \
                t[1][v] = r[0][v];                                                         \
                t[2][v] = r[1][v];                                                         \
                t[3][v] = r[1][v] + r[0][v];                                               \
                for (int s = 4; s < 8; s++) t[s][v] = s == 4 ? r[2][v] : r[2][v] + t[s - 4][v]; \
                for (int s = 8; s < 16; s++) t[s][v] = s == 8 ? r[3][v] : r[3][v] + t[s - 8][v]; \
            }                                                                              \
        }                                                                                  \
    }

DP_TABLE_BUILD(dp_table_f32, dp_v16f, float)
DP_TABLE_BUILD(dp_table_u32, dp_v16u, uint32_t)

/* Rows [0, nrows) x columns [0, nt) of x into a dense nrows x DP_PANEL_COLS copy: one
 * sequential run per row, which the prefetchers stream from memory, where the table builds
 * would read 64 bytes of each of 64 rows (measured: that walk left the kernels waiting on
 * DRAM for batched activations of tens of MB). */
static inline void dp_panel_copy(void *dst, const void *x, size_t ldx, int nrows, int nt, size_t elem)
{
    for (int i = 0; i < nrows; i++)
        memcpy((char *)dst + (size_t)i * DP_PANEL_COLS * elem, (const char *)x + (size_t)i * ldx * elem,
               (size_t)nt * elem);
}
enum { DP_PANEL_COPY_BYTES = 64 * DP_PANEL_COLS * 4 };   /* one 64-row block of a panel */

/* The nibble of `word` selecting chunk c's subset. */
static inline unsigned dp_nibble(uint64_t word, int c) { return (unsigned)(word >> (4 * c)) & 15u; }

/* Columns [0, nt) of a tile row to memory. */
#define DP_TILE_STORE(dst, src, nt, ELEM)                                                  \
    do {                                                                                   \
        if ((nt) == DP_TILE_COLS) memcpy((dst), (src), sizeof(ELEM) * DP_TILE_COLS);       \
        else memcpy((dst), (src), sizeof(ELEM) * (size_t)(nt));                            \
    } while (0)

#endif
