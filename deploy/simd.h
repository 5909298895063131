/* Internal to deploy/: target attributes per level, the vector types the add-only kernels are
 * written in, and the one assert. Not a public header.
 *
 * The add-only kernels (binary, ternary, shift, CSR, sign packing) are written once, in GCC
 * vector extensions of the level's native width, and instantiated once per level by
 * deploy/levels.h under that level's target pragma: a tile of 16 columns is four 4-lane
 * vectors (portable: SSE, or whatever the CPU has), two 8-lane (AVX2) or one 16-lane
 * (AVX-512) vector. Every level runs the same operations in the same order on each column,
 * so the levels agree bit for bit and only the instruction width differs. (One 16-lane type
 * for all levels does not work: GCC keeps vectors wider than the target's registers in
 * memory, measured 2-4x slower than the portable level.) Popcount is the exception: AVX2 has
 * no vector popcount, so gemm_xnor.c has hand-written intrinsics per level. */
#ifndef DP_SIMD_H
#define DP_SIMD_H
#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#define DP_X86 1
#define DP_TARGET_AVX2 __attribute__((target("avx2,fma,bmi,bmi2,popcnt")))
#define DP_TARGET_AVX512 \
    __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx512vpopcntdq,avx2,fma,bmi,bmi2,popcnt")))
#else
#define DP_X86 0
#endif

#define DP_INLINE static inline __attribute__((always_inline))

/* Programming errors (a caller breaking a documented precondition): on in every build type. */
#define DP_ASSERT(c)                                                                     \
    do {                                                                                 \
        if (!(c)) {                                                                      \
            fprintf(stderr, "%s:%d: deploy: assertion failed: %s\n", __FILE__, __LINE__, #c); \
            abort();                                                                     \
        }                                                                                \
    } while (0)

typedef float dp_v4f __attribute__((vector_size(16)));
typedef float dp_v8f __attribute__((vector_size(32)));
typedef float dp_v16f __attribute__((vector_size(64)));
typedef uint32_t dp_v4u __attribute__((vector_size(16)));
typedef uint32_t dp_v8u __attribute__((vector_size(32)));
typedef uint32_t dp_v16u __attribute__((vector_size(64)));
enum { DP_VL = 16 };   /* columns of one tile: NV vectors of 16 / NV lanes at every level */

#define DP_CAT_(a, b) a##b
#define DP_CAT(a, b) DP_CAT_(a, b)

/* Unaligned vector loads and stores; GCC turns these memcpys into single vector moves. */
#define DP_LOADU(v, p) memcpy(&(v), (p), sizeof(v))
#define DP_STOREU(p, v) memcpy((p), &(v), sizeof(v))

/* Every payload and scratch buffer: 64-byte aligned, size rounded up to a multiple of 64. */
static inline void *dp_alloc(size_t bytes)
{
    size_t r = (bytes + 63) & ~(size_t)63;
    return aligned_alloc(64, r ? r : 64);
}

static inline int dp_words(int cols) { return (cols + 63) / 64; }

/* Mask of the valid bits of the last 64-bit word of a row of k bits. */
static inline uint64_t dp_tail_mask(int k)
{
    return k % 64 ? (UINT64_C(1) << (k % 64)) - 1 : ~UINT64_C(0);
}

#endif
