/* A tiny network (1x4x4 inputs, 2 classes) whose layers take every packed format and path:
 * an XNOR conv with zero padding and a batch norm folded into it, an edge bias, a batch norm
 * kept, an int8 layer on an 8-bit uniform input (PTQ's), a fixed-point input into power-of-two weights, a ternary layer, a masked (CSR) one, a
 * Deep Compression codebook layer, a dense 2-bit codebook (LUT2) on a 3-bit LSQ input (run as int8), and an adder layer with its bias. For the fuzz seeds
 * (tests/fuzz/make_seeds.c) and tests/test_packed.cc. */
#ifndef TESTS_SUPPORT_PACKED_FIXTURE_H
#define TESTS_SUPPORT_PACKED_FIXTURE_H
#include <stddef.h>
#include "runtime/packed.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The float model (weights already in each layer's value set); NULL with err on failure. */
nn_model *packed_fixture_float(char *err, size_t errlen);
/* The same, packed (rt_from_model). 0, or -1 with err. */
int packed_fixture_model(rt_model *rt, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
