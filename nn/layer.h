/* Internal: one row per layer kind (nn/layers.c holds the table, one file per kind holds the
 * functions). The model driver (nn/model.c) calls these in topological order. */
#ifndef NN_LAYER_H
#define NN_LAYER_H
#include "nn/model.h"

typedef struct nn_layer_ops {
    const char *name;
    int n_inputs;                   /* 0 (input), 1, or 2 (add) */
    /* Set out_dims, nw, nb from in_dims and hyper-parameters; message in err on mismatch. */
    int (*infer)(nn_node *, char *err, size_t errlen);
    /* Bytes of layer-private cache for `batch` samples (node->cache). NULL = none. */
    size_t (*cache_bytes)(const nn_node *, int batch);
    /* Workspace floats needed for `batch` samples (the model keeps the maximum). NULL = none. */
    size_t (*ws_floats)(const nn_node *, int batch);
    /* x0/x1: inputs (batch x in_dims). Writes node->out. For weighted layers the driver has
     * already produced node->w_eff (transform + mask) and node->x_q (input transform) and
     * passes x_q as x0. */
    void (*forward)(nn_model *, nn_node *, const float *x0, const float *x1, int batch, int train);
    /* dy = node->dout. Accumulates (+=) into dx0/dx1 (may be NULL when the producer is the
     * model input) and into gradients: weighted layers write d(w_eff) into node->gw
     * (the driver maps it back through the transform and mask) and += db. */
    void (*backward)(nn_model *, nn_node *, const float *x0, const float *x1,
                     float *dx0, float *dx1, int batch);
} nn_layer_ops;

extern const nn_layer_ops nn_layer_table[NN_KIND_COUNT];

#endif
