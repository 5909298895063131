/* Element-wise activations: ReLU and hard-tanh clamp(x, -clip, clip) (gradient 1 strictly
 * inside the clip range, as in PyTorch). */
#include "nn/layer_kinds.h"

int nn_relu_infer(nn_node *n, char *err, size_t errlen) { return nn_layer_same_shape(n, err, errlen); }

int nn_hardtanh_infer(nn_node *n, char *err, size_t errlen)
{
    if (!(n->clip > 0.0f)) return nn_layer_fail(n, err, errlen, "clip must be > 0, got %g", (double)n->clip);
    return nn_layer_same_shape(n, err, errlen);
}

void nn_relu_forward(nn_model *m, nn_node *n, const float *x, const float *x1, int batch, int train)
{
    (void)x1; (void)train;
    const size_t len = (size_t)batch * nn_dims_size(n->in_dims);
    float *y = n->out;     /* may be x itself (nn/model.c runs ReLU in place where it can) */
    #pragma omp parallel for simd num_threads(nn_layer_threads(m)) schedule(static)
    for (size_t i = 0; i < len; i++) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

void nn_relu_backward(nn_model *m, nn_node *n, const float *x, const float *x1,
                      float *dx, float *dx1, int batch)
{
    (void)x1; (void)dx1;
    if (!dx) return;
    const size_t len = (size_t)batch * nn_dims_size(n->in_dims);
    const float *g = n->dout;
    /* x > 0 exactly where relu(x) > 0, so an in-place ReLU (x holding its output) masks alike. */
    if (n->dx_fresh[0]) {
        #pragma omp parallel for simd num_threads(nn_layer_threads(m)) schedule(static)
        for (size_t i = 0; i < len; i++) dx[i] = x[i] > 0.0f ? g[i] : 0.0f;
    } else {
        #pragma omp parallel for simd num_threads(nn_layer_threads(m)) schedule(static)
        for (size_t i = 0; i < len; i++) dx[i] += x[i] > 0.0f ? g[i] : 0.0f;
    }
}

void nn_hardtanh_forward(nn_model *m, nn_node *n, const float *x, const float *x1, int batch, int train)
{
    (void)m; (void)x1; (void)train;
    const size_t len = (size_t)batch * nn_dims_size(n->in_dims);
    const float c = n->clip;
    float *y = n->out;
    for (size_t i = 0; i < len; i++) {
        float v = x[i] < -c ? -c : x[i];
        y[i] = v > c ? c : v;
    }
}

void nn_hardtanh_backward(nn_model *m, nn_node *n, const float *x, const float *x1,
                          float *dx, float *dx1, int batch)
{
    (void)m; (void)x1; (void)dx1;
    if (!dx) return;
    const size_t len = (size_t)batch * nn_dims_size(n->in_dims);
    const float c = n->clip, *g = n->dout;
    nn_dx_begin(n, 0, dx, len);
    for (size_t i = 0; i < len; i++) dx[i] += (x[i] > -c && x[i] < c) ? g[i] : 0.0f;
}
