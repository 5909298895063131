/* Test support: one layer node built by hand (no model builder), with every buffer the layer
 * table expects allocated, so kernels can be driven directly. */
#ifndef TESTS_LAYER_FIXTURE_H
#define TESTS_LAYER_FIXTURE_H
#include <stddef.h>
#include <stdint.h>
#include "nn/layer.h"

typedef struct lf_layer {
    nn_model *m;            /* holds the node (nodes[0]), the workspace and the thread count */
    nn_node *n;
    int batch;
    size_t in_len, out_len; /* floats per batch */
    float *x0, *x1;         /* inputs (x1 for two-input kinds) */
    float *dx0, *dx1;       /* input gradients */
} lf_layer;

/* t: kind, hyper-parameters and kernel; in: input shape. Runs infer, allocates buffers with
 * weights, biases, inputs filled uniform in [-1, 1) from seed and BN stats at 0 / 1.
 * Returns 0, or -1 with infer's message in err. */
int  lf_init(lf_layer *L, const nn_node *t, nn_dims in, int batch, int threads, uint64_t seed,
             char *err, size_t errlen);
void lf_free(lf_layer *L);
void lf_forward(lf_layer *L, int train);
/* Zeroes gw, gb, dx0, dx1, then runs backward with node->dout as it stands. */
void lf_backward(lf_layer *L);

/* Test data from the engine's generator (nn_rng), seeded by the test. */
typedef struct lf_rng { nn_rng r; } lf_rng;
lf_rng lf_rng_make(uint64_t seed);
float lf_uniform(lf_rng *r, float lo, float hi);
void  lf_fill(lf_rng *r, float *v, size_t n, float lo, float hi);

#endif
