/* 2-D convolution (NCHW), multiply-accumulate kernel: per-sample im2col + GEMM, samples spread
 * over threads. The AdderNet kernel lives in nn/adder.c. */
#include <assert.h>
#include <string.h>
#include <cblas.h>
#include <omp.h>
#include "nn/layer_kinds.h"
#include "nn/im2col.h"

int nn_conv_infer(nn_node *n, char *err, size_t errlen)
{
    nn_dims in = n->in_dims;
    if (in.c <= 0 || in.h <= 0 || in.w <= 0)
        return nn_layer_fail(n, err, errlen, "input shape %dx%dx%d has a zero or negative size",
                             in.c, in.h, in.w);
    if (n->out_c <= 0) return nn_layer_fail(n, err, errlen, "output channels must be > 0, got %d", n->out_c);
    if (n->k <= 0) return nn_layer_fail(n, err, errlen, "kernel size must be > 0, got %d", n->k);
    if (n->stride <= 0) return nn_layer_fail(n, err, errlen, "stride must be > 0, got %d", n->stride);
    if (n->pad < 0 || n->pad >= n->k)
        return nn_layer_fail(n, err, errlen, "padding must be in [0, kernel %d), got %d", n->k, n->pad);
    if (in.h + 2 * n->pad < n->k || in.w + 2 * n->pad < n->k)
        return nn_layer_fail(n, err, errlen, "kernel %dx%d is larger than the padded input %dx%d",
                             n->k, n->k, in.h + 2 * n->pad, in.w + 2 * n->pad);
    n->out_dims = (nn_dims){ n->out_c, (in.h + 2 * n->pad - n->k) / n->stride + 1,
                             (in.w + 2 * n->pad - n->k) / n->stride + 1 };
    n->nw = (size_t)n->out_c * (size_t)in.c * (size_t)n->k * (size_t)n->k;
    n->nb = n->has_bias ? (size_t)n->out_c : 0;
    return 0;
}

/* Per-thread scratch of the MAC kernel: column matrix, its gradient, a partial dW. */
static size_t mac_thread_floats(const nn_node *n)
{
    nn_conv_geom g = nn_conv_geom_of(n);
    size_t K = nn_conv_geom_rows(&g), P = nn_conv_geom_cols(&g);
    return 2 * K * P + (size_t)n->out_c * K;
}

size_t nn_conv_ws_floats(const nn_node *n, int batch)
{
    int t = nn_layer_ws_threads();
    if (t > batch) t = batch;
    size_t mac = (size_t)t * mac_thread_floats(n);
    size_t add = nn_adder_conv_ws_floats(n, batch);   /* a method may switch the kernel later */
    return mac > add ? mac : add;
}

/* Threads for a sample-parallel loop, limited by the workspace. */
static int sample_threads(const nn_model *m, const nn_node *n, int batch)
{
    int t = nn_layer_threads(m);
    if (t > batch) t = batch;
    size_t fit = m->ws_len / mac_thread_floats(n);
    if ((size_t)t > fit) t = (int)fit;
    assert(t >= 1 && "workspace too small for conv");
    return t;
}

void nn_conv_forward(nn_model *m, nn_node *n, const float *x, const float *x1, int batch, int train)
{
    (void)x1; (void)train;
    if (n->kernel == NN_KERNEL_ADDER) { nn_adder_conv_forward(m, n, x, batch); return; }
    const nn_conv_geom g = nn_conv_geom_of(n);
    const int K = (int)nn_conv_geom_rows(&g), P = (int)nn_conv_geom_cols(&g), O = n->out_c;
    const size_t in_sz = nn_dims_size(n->in_dims), out_sz = (size_t)O * P;
    const int trivial = nn_conv_geom_trivial(&g);
    const size_t per = mac_thread_floats(n);
    const int T = sample_threads(m, n, batch);
    #pragma omp parallel for num_threads(T) schedule(static)
    for (int i = 0; i < batch; i++) {
        const float *xi = x + (size_t)i * in_sz;
        float *yi = n->out + (size_t)i * out_sz;
        const float *col = xi;
        if (!trivial) {
            float *c = m->ws + (size_t)omp_get_thread_num() * per;
            nn_im2col(&g, xi, c, (size_t)P);
            col = c;
        }
        float beta = 0.0f;
        if (n->b) {
            for (int o = 0; o < O; o++)
                for (int p = 0; p < P; p++) yi[(size_t)o * P + p] = n->b[o];
            beta = 1.0f;
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, O, P, K, 1.0f, n->w_eff, K,
                    col, P, beta, yi, P);
    }
}

void nn_conv_backward(nn_model *m, nn_node *n, const float *x, const float *x1,
                      float *dx, float *dx1, int batch)
{
    (void)x1; (void)dx1;
    if (n->kernel == NN_KERNEL_ADDER) { nn_adder_conv_backward(m, n, x, dx, batch); return; }
    const nn_conv_geom g = nn_conv_geom_of(n);
    const int K = (int)nn_conv_geom_rows(&g), P = (int)nn_conv_geom_cols(&g), O = n->out_c;
    const size_t in_sz = nn_dims_size(n->in_dims), out_sz = (size_t)O * P;
    const int trivial = nn_conv_geom_trivial(&g);
    const size_t per = mac_thread_floats(n), nw = (size_t)O * K;
    const int T = sample_threads(m, n, batch);
    const float *dy = n->dout;

    if (n->gb) {
        #pragma omp parallel for num_threads(T) schedule(static)
        for (int o = 0; o < O; o++) {
            float s = 0.0f;
            for (int i = 0; i < batch; i++) {
                const float *r = dy + (size_t)i * out_sz + (size_t)o * P;
                for (int p = 0; p < P; p++) s += r[p];
            }
            n->gb[o] += s;
        }
    }

    /* Thread t owns samples [batch*t/T, batch*(t+1)/T) and a private dW (thread 0 writes into
     * gw directly); the partials are summed in thread order so results depend only on T. */
    #pragma omp parallel num_threads(T)
    {
        const int t = omp_get_thread_num();
        float *base = m->ws + (size_t)t * per;
        float *col = base, *dcol = base + (size_t)K * P, *gw = t ? dcol + (size_t)K * P : n->gw;
        if (t) memset(gw, 0, sizeof(float) * nw);
        const int lo = (int)((long)batch * t / T), hi = (int)((long)batch * (t + 1) / T);
        for (int i = lo; i < hi; i++) {
            const float *xi = x + (size_t)i * in_sz, *dyi = dy + (size_t)i * out_sz;
            const float *c = xi;
            if (!trivial) { nn_im2col(&g, xi, col, (size_t)P); c = col; }
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, O, K, P, 1.0f, dyi, P, c, P,
                        1.0f, gw, K);
            if (!dx) continue;
            float *dxi = dx + (size_t)i * in_sz;
            if (trivial) {
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, P, O, 1.0f, n->w_eff, K,
                            dyi, P, 1.0f, dxi, P);
            } else {
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, P, O, 1.0f, n->w_eff, K,
                            dyi, P, 0.0f, dcol, P);
                nn_col2im_add(&g, dcol, (size_t)P, dxi);
            }
        }
        #pragma omp barrier
        #pragma omp for schedule(static)
        for (size_t j = 0; j < nw; j++)
            for (int u = 1; u < T; u++) n->gw[j] += m->ws[(size_t)u * per + 2 * (size_t)K * P + j];
    }
}
