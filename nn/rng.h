/* Deterministic random numbers (PCG32). Every random choice in the project draws from an
 * nn_rng seeded from the run's seed, so the same config and seed give the same numbers. */
#ifndef NN_RNG_H
#define NN_RNG_H
#include <stdint.h>

typedef struct nn_rng { uint64_t state, inc; } nn_rng;

void     nn_rng_seed(nn_rng *r, uint64_t seed, uint64_t stream);
uint32_t nn_rng_u32(nn_rng *r);
uint32_t nn_rng_below(nn_rng *r, uint32_t n);   /* uniform in [0, n), unbiased */
float    nn_rng_uniform(nn_rng *r);             /* uniform in [0, 1) */
float    nn_rng_normal(nn_rng *r);              /* standard normal (Box-Muller) */
void     nn_rng_shuffle(nn_rng *r, uint32_t *idx, uint32_t n);

#endif
