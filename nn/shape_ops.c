/* Layers that only move data: the model input, flatten, and the residual add. */
#include <string.h>
#include "nn/layer_kinds.h"

int nn_input_infer(nn_node *n, char *err, size_t errlen) { return nn_layer_same_shape(n, err, errlen); }

void nn_input_forward(nn_model *m, nn_node *n, const float *x, const float *x1, int batch, int train)
{
    (void)m; (void)x1; (void)train;
    if (x && x != n->out) memcpy(n->out, x, sizeof(float) * (size_t)batch * nn_dims_size(n->out_dims));
}

void nn_input_backward(nn_model *m, nn_node *n, const float *x, const float *x1,
                       float *dx, float *dx1, int batch)
{
    (void)x; (void)x1; (void)dx1;
    if (!dx) return;
    nn_dx_put(m, n->dx_fresh[0], dx, n->dout, (size_t)batch * nn_dims_size(n->out_dims));
}

int nn_flatten_infer(nn_node *n, char *err, size_t errlen)
{
    int r = nn_input_infer(n, err, errlen);
    n->out_dims = (nn_dims){ (int)nn_dims_size(n->in_dims), 1, 1 };
    return r;
}

void nn_flatten_forward(nn_model *m, nn_node *n, const float *x, const float *x1, int batch, int train)
{
    nn_input_forward(m, n, x, x1, batch, train);
}

void nn_flatten_backward(nn_model *m, nn_node *n, const float *x, const float *x1,
                         float *dx, float *dx1, int batch)
{
    nn_input_backward(m, n, x, x1, dx, dx1, batch);
}

/* The node sees only input 0's shape; the builder rejects an add whose inputs differ. */
int nn_add_infer(nn_node *n, char *err, size_t errlen)
{
    return nn_input_infer(n, err, errlen);
}

void nn_add_forward(nn_model *m, nn_node *n, const float *x0, const float *x1, int batch, int train)
{
    (void)train;
    const size_t len = (size_t)batch * nn_dims_size(n->out_dims);
    float *y = n->out;
    #pragma omp parallel for simd num_threads(nn_layer_threads(m)) schedule(static)
    for (size_t i = 0; i < len; i++) y[i] = x0[i] + x1[i];
}

void nn_add_backward(nn_model *m, nn_node *n, const float *x0, const float *x1,
                     float *dx0, float *dx1, int batch)
{
    (void)x0; (void)x1;
    const size_t len = (size_t)batch * nn_dims_size(n->out_dims);
    if (dx0) nn_dx_put(m, n->dx_fresh[0], dx0, n->dout, len);
    if (dx1) nn_dx_put(m, n->dx_fresh[1], dx1, n->dout, len);   /* after dx0: they may alias */
}
