/* Packed weight formats: a weight matrix W (rows = outputs x cols = inputs, row-major like a
 * conv filter bank or a linear layer) stored in its deployable form, one payload of bytes per
 * matrix, and one trait row per format (dp_format_table) with everything that differs: size,
 * pack from float, unpack to float, validation, kernel preparation and the GEMM
 * Y[rows x n] = W . X[cols x n].
 *
 * The payload is the footprint: dp_matrix.bytes is exactly what a file stores for the matrix
 * (padding to 64-weight blocks included) beside the few header numbers of dp_matrix itself
 * (format, rows, cols, nnz). Layouts, in payload order:
 *   F32      float w[rows][cols]
 *   BINARY   dp_block_binary b[rows][kw]; float alpha[rows]           (kw = ceil(cols / 64))
 *   TERNARY  dp_head_ternary; dp_block_ternary b[rows][kw]
 *   POW2_4   dp_head_pow2; dp_block_pow2_4 b[rows][kw]
 *   POW2_8   dp_head_pow2; dp_block_pow2_8 b[rows][kw]
 *   CSR16    uint32 rowptr[rows + 1]; float val[nnz]; uint16 col[nnz]
 *   CSR32    uint32 rowptr[rows + 1]; float val[nnz]; uint32 col[nnz]
 *   INT8     dp_head_int8; float scale[rows]; int8 q[rows][cols]
 *   LUTk     dp_head_lut; float table[2^k]; uint64 code[rows][kw][k]   (k = 2, 4, 8)
 * Bits of a block past the row's last column are zero (check() enforces it; the kernels rely
 * on it). */
#ifndef DP_FORMAT_H
#define DP_FORMAT_H
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include "deploy/isa.h"

/* Values are written to files: never renumber. */
typedef enum dp_format {
    DP_FORMAT_F32 = 0,       /* dense fp32: the reference the others are measured against */
    DP_FORMAT_BINARY = 1,    /* sign bits + per-row alpha: w = +-alpha[row] (BWN, XNOR-Net) */
    DP_FORMAT_TERNARY = 2,   /* two bit planes: w in {-Wn, 0, +Wp}, per-matrix Wp, Wn (TTQ) */
    DP_FORMAT_POW2_4 = 3,    /* sign + 3-bit exponent code: w = 0 or +-2^p, 7 exponents (INQ, DeepShift) */
    DP_FORMAT_POW2_8 = 4,    /* sign + 7-bit exponent code: 127 exponents */
    DP_FORMAT_CSR16 = 5,     /* compressed sparse rows, uint16 column indices (cols <= 65536) */
    DP_FORMAT_CSR32 = 6,     /* compressed sparse rows, uint32 column indices */
    DP_FORMAT_INT8 = 7,      /* w = scale[row] q, q int8, and the input's 8-bit grid (PTQ; oneDNN int8) */
    DP_FORMAT_LUT2 = 8,      /* w = table[code], 2-bit codes, one table per matrix (DoReFa, PACT, LSQ) */
    DP_FORMAT_LUT4 = 9,      /* 4-bit codes */
    DP_FORMAT_LUT8 = 10,     /* 8-bit codes */
    DP_FORMAT_COUNT
} dp_format;

enum { DP_MAX_DIM = 1 << 24 };   /* rows, cols and n up to this */

/* 64 weights of one row: bit i is weight 64 * block + i. */
typedef struct dp_block_binary { uint64_t pos; } dp_block_binary;      /* 1 = +alpha, 0 = -alpha */
typedef struct dp_block_ternary { uint64_t plus, minus; } dp_block_ternary;   /* disjoint */
/* Exponent code c = sum_j bit(mag[j]) << j: 0 is a zero weight, c >= 1 is 2^(pmin + c - 1);
 * neg set = negative (only where c != 0). Bit-sliced so a kernel finds all weights of one
 * exponent with a few word operations. */
typedef struct dp_block_pow2_4 { uint64_t neg, mag[3]; } dp_block_pow2_4;
typedef struct dp_block_pow2_8 { uint64_t neg, mag[7]; } dp_block_pow2_8;
typedef struct dp_head_ternary { float wp, wn; } dp_head_ternary;
typedef struct dp_head_pow2 { int32_t pmin, pmax; } dp_head_pow2;  /* exponents in use */
/* INT8's input grid: the kernel reads x as u = clamp(round(x / x_scale) + x_zero, 0, x_qmax)
 * (an unsigned integer <= 255, the uniform input transform's own rounding), so
 * y[r] = scale[r] x_scale sum_c q[r][c] (u[c] - x_zero) is computed exactly in int32. pack()
 * sets the integer grid (1, 0, 255); dp_int8_set_input sets a layer's. */
typedef struct dp_head_int8 { float x_scale; int32_t x_zero, x_qmax; } dp_head_int8;

static_assert(sizeof(dp_block_binary) == 8, "1 bit per weight");
static_assert(sizeof(dp_block_ternary) == 16, "2 bits per weight");
static_assert(sizeof(dp_block_pow2_4) == 32, "4 bits per weight");
static_assert(sizeof(dp_block_pow2_8) == 64, "8 bits per weight");
static_assert(sizeof(dp_head_ternary) == 8 && sizeof(dp_head_pow2) == 8, "8-byte heads keep blocks aligned");
/* LUT's table: levels entries ascending, the rest of the 2^k slots zero. */
typedef struct dp_head_lut { int32_t levels, pad; } dp_head_lut;
static_assert(sizeof(dp_head_int8) == 12, "three 4-byte fields");
static_assert(sizeof(dp_head_lut) == 8, "an 8-byte head keeps the code words aligned");

typedef struct dp_matrix {
    dp_format format;
    int rows, cols;
    size_t nnz;        /* CSR: stored entries; every other format: rows * cols */
    size_t bytes;      /* payload size: dp_format_table[format].bytes(rows, cols, nnz) */
    void *payload;     /* owned, 64-byte aligned */
    void *plan;        /* owned: the kernel-ready form prepare() builds (POW2, INT8, LUT), else NULL */
} dp_matrix;

typedef void (*dp_gemm_fn)(const dp_matrix *w, int n, const float *x, size_t ldx, float *y,
                           size_t ldy, const dp_exec *ex);
typedef void (*dp_gemm_ref_fn)(const dp_matrix *w, int n, const float *x, size_t ldx, float *y,
                               size_t ldy);

typedef struct dp_format_traits {
    const char *name;
    int bits_per_weight;   /* stored bits per weight; CSR: per nonzero (value + column index) */
    size_t (*bytes)(int rows, int cols, size_t nnz);
    /* Quantizes w (rows x cols) into the format's value set: lossless when w already is in it
     * (what a method's effective weights are), nearest otherwise. m->format, rows, cols set;
     * allocates m->payload and sets nnz, bytes. Non-finite weights are an error. */
    int (*pack)(dp_matrix *m, const float *w, char *err, size_t errlen);
    void (*unpack)(const dp_matrix *m, float *w);          /* the reference decoder */
    int (*check)(const dp_matrix *m, char *err, size_t errlen);   /* every payload invariant */
    int (*prepare)(dp_matrix *m, char *err, size_t errlen);       /* NULL: payload is kernel-ready */
    dp_gemm_fn gemm;          /* the fast kernel, at ex->isa on ex->threads */
    dp_gemm_ref_fn gemm_ref;  /* its scalar reference twin (deploy/kernels_ref.c) */
    void (*release)(void *plan);   /* NULL: plan is freed with free() */
} dp_format_traits;

extern const dp_format_traits dp_format_table[DP_FORMAT_COUNT];

int dp_format_valid(int v);
const char *dp_format_name(int v);   /* "?" when not valid */

/* Packs and prepares. On error m is left empty (payload NULL) and err says why. */
int dp_matrix_pack(dp_matrix *m, dp_format f, int rows, int cols, const float *w, char *err,
                   size_t errlen);
/* A matrix from stored bytes (a file's payload): sizes, then check(), then prepare(). */
int dp_matrix_load(dp_matrix *m, int format, int rows, int cols, size_t nnz, const void *payload,
                   size_t bytes, char *err, size_t errlen);
void dp_matrix_free(dp_matrix *m);
/* y (rows x n, row stride ldy) = W . x (cols x n, row stride ldx). */
void dp_gemm(const dp_matrix *w, int n, const float *x, size_t ldx, float *y, size_t ldy,
             const dp_exec *ex);

/* Payload views. */
static inline int dp_matrix_words(const dp_matrix *m) { return (m->cols + 63) / 64; }
static inline dp_block_binary *dp_binary_blocks(const dp_matrix *m) { return (dp_block_binary *)m->payload; }
static inline float *dp_binary_alpha(const dp_matrix *m)
{
    return (float *)(dp_binary_blocks(m) + (size_t)m->rows * dp_matrix_words(m));
}
static inline dp_head_ternary *dp_ternary_head(const dp_matrix *m) { return (dp_head_ternary *)m->payload; }
static inline dp_block_ternary *dp_ternary_blocks(const dp_matrix *m) { return (dp_block_ternary *)(dp_ternary_head(m) + 1); }
static inline dp_head_pow2 *dp_pow2_head(const dp_matrix *m) { return (dp_head_pow2 *)m->payload; }
/* POW2 blocks as words: per block, word 0 = neg, words 1.. = mag planes. */
static inline int dp_pow2_planes(dp_format f) { return f == DP_FORMAT_POW2_4 ? 3 : 7; }
static inline uint64_t *dp_pow2_words(const dp_matrix *m) { return (uint64_t *)(dp_pow2_head(m) + 1); }
static inline uint32_t *dp_csr_rowptr(const dp_matrix *m) { return (uint32_t *)m->payload; }
static inline float *dp_csr_val(const dp_matrix *m) { return (float *)(dp_csr_rowptr(m) + m->rows + 1); }
static inline void *dp_csr_col(const dp_matrix *m) { return dp_csr_val(m) + m->nnz; }
static inline dp_head_int8 *dp_int8_head(const dp_matrix *m) { return (dp_head_int8 *)m->payload; }
static inline float *dp_int8_scale(const dp_matrix *m) { return (float *)(dp_int8_head(m) + 1); }
static inline int8_t *dp_int8_q(const dp_matrix *m) { return (int8_t *)(dp_int8_scale(m) + m->rows); }
static inline dp_head_lut *dp_lut_head(const dp_matrix *m) { return (dp_head_lut *)m->payload; }
static inline float *dp_lut_table(const dp_matrix *m) { return (float *)(dp_lut_head(m) + 1); }
/* Bits per LUT code (2, 4, 8); 0 for every other format. */
static inline int dp_lut_bits(int f)
{
    return f == DP_FORMAT_LUT2 ? 2 : f == DP_FORMAT_LUT4 ? 4 : f == DP_FORMAT_LUT8 ? 8 : 0;
}
/* The code words after the table's 2^k slots: per row, per block of 64 weights, k words. */
static inline uint64_t *dp_lut_codes(const dp_matrix *m)
{
    return (uint64_t *)(dp_lut_table(m) + ((size_t)1 << dp_lut_bits(m->format)));
}
/* Weight [r][c]'s code: bits (c mod 64) k .. + k of its block. */
static inline unsigned dp_lut_code(const dp_matrix *m, int r, int c)
{
    const int k = dp_lut_bits(m->format), bit = (c % 64) * k;
    const uint64_t *blk = dp_lut_codes(m) + ((size_t)r * dp_matrix_words(m) + c / 64) * k;
    return (unsigned)(blk[bit / 64] >> (bit % 64)) & ((1u << k) - 1);
}

/* Sets an INT8 matrix's input grid (x_scale finite > 0, 0 <= x_zero <= x_qmax <= 255) and
 * rebuilds its kernel plan. 0, or -1 with the reason in err. */
int dp_int8_set_input(dp_matrix *m, float x_scale, int x_zero, int x_qmax, char *err, size_t errlen);
/* u = the INT8 input grid's integer for x (what the kernels and the reference read). */
static inline int dp_int8_level(const dp_head_int8 *h, float x)
{
    float v = __builtin_nearbyintf(x / h->x_scale) + (float)h->x_zero;
    v = v < 0 ? 0 : v > (float)h->x_qmax ? (float)h->x_qmax : v;
    return (int)v;
}

#endif
