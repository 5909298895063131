/* Fully connected layer: y = x W^T + b over the flattened input. Each GEMM is split into
 * column blocks, one per thread (threads own disjoint outputs and never split the inner
 * dimension, so results do not depend on the thread count). */
#include <cblas.h>
#include <omp.h>
#include "nn/layer_kinds.h"

int nn_linear_infer(nn_node *n, char *err, size_t errlen)
{
    nn_dims in = n->in_dims;
    if (nn_layer_check_input(n, err, errlen) != 0) return -1;
    if (n->out_c <= 0) return nn_layer_fail(n, err, errlen, "output features must be > 0, got %d", n->out_c);
    n->out_dims = (nn_dims){ n->out_c, 1, 1 };
    n->nw = (size_t)n->out_c * nn_dims_size(in);
    n->nb = n->has_bias ? (size_t)n->out_c : 0;
    return 0;
}

/* Threads worth using for a GEMM of m*n*k multiply-adds (tiny ones stay on one thread). */
static int gemm_threads(const nn_model *m, double macs)
{
    int t = nn_layer_threads(m);
    return macs < 1e5 ? 1 : t;
}

/* Block [lo, hi) of n columns for thread t of T, rounded to multiples of 16 for the kernels. */
static void block(int n, int t, int T, int *lo, int *hi)
{
    int units = (n + 15) / 16;
    *lo = (int)((long)units * t / T) * 16;
    *hi = (int)((long)units * (t + 1) / T) * 16;
    if (*lo > n) *lo = n;
    if (*hi > n) *hi = n;
}

void nn_linear_forward(nn_model *m, nn_node *n, const float *x, const float *x1, int batch, int train)
{
    (void)x1; (void)train;
    if (n->kernel == NN_KERNEL_ADDER) { nn_adder_linear_forward(m, n, x, batch); return; }
    nn_blas_serial();
    const int F = (int)nn_dims_size(n->in_dims), O = n->out_c;
    const int T = gemm_threads(m, (double)batch * O * F);
    #pragma omp parallel num_threads(T)
    {
        int lo, hi;
        block(O, omp_get_thread_num(), T, &lo, &hi);
        if (hi > lo) {
            /* Start from the bias (or zero) and accumulate: OpenBLAS's beta = 0 pass is slower. */
            for (int i = 0; i < batch; i++)
                for (int o = lo; o < hi; o++) n->out[(size_t)i * O + o] = n->b ? n->b[o] : 0.0f;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, batch, hi - lo, F, 1.0f, x, F,
                        n->w_eff + (size_t)lo * F, F, 1.0f, n->out + lo, O);
        }
    }
}

void nn_linear_backward(nn_model *m, nn_node *n, const float *x, const float *x1,
                        float *dx, float *dx1, int batch)
{
    (void)x1; (void)dx1;
    const int F = (int)nn_dims_size(n->in_dims), O = n->out_c;
    if (n->kernel == NN_KERNEL_ADDER) {
        nn_dx_begin(n, 0, dx, (size_t)batch * F);
        nn_adder_linear_backward(m, n, x, dx, batch);
        return;
    }
    nn_blas_serial();
    const float beta_dx = n->dx_fresh[0] ? 0.0f : 1.0f;     /* a fresh dx is written */
    const float *dy = n->dout;
    const int T = gemm_threads(m, (double)batch * O * F);
    #pragma omp parallel num_threads(T)
    {
        const int t = omp_get_thread_num();
        int lo, hi;
        block(O, t, T, &lo, &hi);      /* dW rows and db entries of this thread */
        if (hi > lo) {
            if (n->gb)
                for (int i = 0; i < batch; i++)
                    for (int o = lo; o < hi; o++) n->gb[o] += dy[(size_t)i * O + o];
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, hi - lo, F, batch, 1.0f, dy + lo, O,
                        x, F, 1.0f, n->gw + (size_t)lo * F, F);
        }
        if (dx) {
            block(F, t, T, &lo, &hi);  /* dX columns of this thread */
            if (hi > lo)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, batch, hi - lo, O, 1.0f, dy, O,
                            n->w_eff + lo, F, beta_dx, dx + lo, F);
        }
    }
}
