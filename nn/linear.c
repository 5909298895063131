/* Fully connected layer: y = x W^T + b over the flattened input, one GEMM per pass. */
#include <cblas.h>
#include "nn/layer_kinds.h"

int nn_linear_infer(nn_node *n, char *err, size_t errlen)
{
    nn_dims in = n->in_dims;
    if (in.c <= 0 || in.h <= 0 || in.w <= 0)
        return nn_layer_fail(n, err, errlen, "input shape %dx%dx%d has a zero or negative size",
                             in.c, in.h, in.w);
    if (n->out_c <= 0) return nn_layer_fail(n, err, errlen, "output features must be > 0, got %d", n->out_c);
    n->out_dims = (nn_dims){ n->out_c, 1, 1 };
    n->nw = (size_t)n->out_c * nn_dims_size(in);
    n->nb = n->has_bias ? (size_t)n->out_c : 0;
    return 0;
}

void nn_linear_forward(nn_model *m, nn_node *n, const float *x, const float *x1, int batch, int train)
{
    (void)x1; (void)train;
    if (n->kernel == NN_KERNEL_ADDER) { nn_adder_linear_forward(m, n, x, batch); return; }
    const int F = (int)nn_dims_size(n->in_dims), O = n->out_c;
    /* Start from the bias (or zero) and accumulate: OpenBLAS's beta = 0 pass is slower. */
    for (int i = 0; i < batch; i++)
        for (int o = 0; o < O; o++) n->out[(size_t)i * O + o] = n->b ? n->b[o] : 0.0f;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, batch, O, F, 1.0f, x, F, n->w_eff, F,
                1.0f, n->out, O);
}

void nn_linear_backward(nn_model *m, nn_node *n, const float *x, const float *x1,
                        float *dx, float *dx1, int batch)
{
    (void)x1; (void)dx1;
    if (n->kernel == NN_KERNEL_ADDER) { nn_adder_linear_backward(m, n, x, dx, batch); return; }
    const int F = (int)nn_dims_size(n->in_dims), O = n->out_c;
    const float *dy = n->dout;
    if (n->gb)
        for (int i = 0; i < batch; i++)
            for (int o = 0; o < O; o++) n->gb[o] += dy[(size_t)i * O + o];
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, O, F, batch, 1.0f, dy, O, x, F, 1.0f,
                n->gw, F);
    if (dx)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, batch, F, O, 1.0f, dy, O,
                    n->w_eff, F, 1.0f, dx, F);
}
