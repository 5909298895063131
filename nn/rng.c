/* PCG32 (O'Neill 2014: 64-bit LCG state, xorshift-high + random-rotate output). */
#include "nn/rng.h"
#include <assert.h>
#include <math.h>

enum { PCG_SHIFT_XS = 18, PCG_SHIFT_OUT = 27, PCG_SHIFT_ROT = 59 };
static const uint64_t PCG_MULT = 6364136223846793005ULL;

void nn_rng_seed(nn_rng *r, uint64_t seed, uint64_t stream)
{
    r->state = 0;
    r->inc = (stream << 1) | 1u;        /* the increment must be odd */
    (void)nn_rng_u32(r);
    r->state += seed;
    (void)nn_rng_u32(r);
}

uint32_t nn_rng_u32(nn_rng *r)
{
    uint64_t old = r->state;
    r->state = old * PCG_MULT + r->inc;
    uint32_t xs = (uint32_t)(((old >> PCG_SHIFT_XS) ^ old) >> PCG_SHIFT_OUT);
    uint32_t rot = (uint32_t)(old >> PCG_SHIFT_ROT);
    return (xs >> rot) | (xs << ((32u - rot) & 31u));
}

uint32_t nn_rng_below(nn_rng *r, uint32_t n)
{
    assert(n > 0);
    /* Reject the low 2^32 mod n values so every residue is equally likely. */
    uint32_t threshold = (uint32_t)(0u - n) % n;
    for (;;) {
        uint32_t x = nn_rng_u32(r);
        if (x >= threshold) return x % n;
    }
}

float nn_rng_uniform(nn_rng *r)
{
    return (float)(nn_rng_u32(r) >> 8) * (1.0f / 16777216.0f);   /* 24 bits: exact in float */
}

float nn_rng_normal(nn_rng *r)
{
    /* Box-Muller; u1 in (0,1] keeps the log finite. The second variate is dropped: the state
     * holds no cache, so a draw always consumes exactly two u32s. */
    double u1 = ((double)(nn_rng_u32(r) >> 8) + 1.0) / 16777216.0;
    double u2 = (double)(nn_rng_u32(r) >> 8) / 16777216.0;
    const double two_pi = 6.283185307179586476925;
    return (float)(sqrt(-2.0 * log(u1)) * cos(two_pi * u2));
}

void nn_rng_shuffle(nn_rng *r, uint32_t *idx, uint32_t n)
{
    for (uint32_t i = n; i > 1; i--) {          /* Fisher-Yates, from the back */
        uint32_t j = nn_rng_below(r, i);
        uint32_t t = idx[i - 1]; idx[i - 1] = idx[j]; idx[j] = t;
    }
}
