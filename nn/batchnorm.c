/* Batch normalization over N*H*W per channel (PyTorch semantics: eps 1e-5, momentum 0.1,
 * biased variance for normalizing, unbiased for the running estimate). gamma = w, beta = b.
 * Cache: the mean and 1/std the last forward used, and whether they were batch statistics. */
#include <math.h>
#include "nn/layer_kinds.h"

#define BN_EPS 1e-5
#define BN_MOMENTUM 0.1

int nn_bn_infer(nn_node *n, char *err, size_t errlen)
{
    nn_dims in = n->in_dims;
    if (nn_layer_check_input(n, err, errlen) != 0) return -1;
    n->out_dims = in;
    n->nw = n->nb = (size_t)in.c;
    return 0;
}

size_t nn_bn_cache_bytes(const nn_node *n, int batch)
{
    (void)batch;
    return (2 * (size_t)n->in_dims.c + 1) * sizeof(float);
}

/* Row sums in float lanes (vectorized), rows accumulated in double: fast, and as accurate as
 * the data needs (a row is at most one sample's H*W values). */
static double row_sum(const float *x, int len)
{
    float s = 0.0f;
    #pragma omp simd reduction(+:s)
    for (int q = 0; q < len; q++) s += x[q];
    return s;
}

static double row_sq_dev(const float *x, int len, float mu)
{
    float s = 0.0f;
    #pragma omp simd reduction(+:s)
    for (int q = 0; q < len; q++) { float d = x[q] - mu; s += d * d; }
    return s;
}

void nn_bn_forward(nn_model *m, nn_node *n, const float *x, const float *x1, int batch, int train)
{
    (void)x1;
    const int C = n->in_dims.c, HW = n->in_dims.h * n->in_dims.w;
    const size_t M = (size_t)batch * HW, plane = (size_t)C * HW;
    float *mean = n->cache, *invstd = mean + C;
    invstd[C] = (float)train;
    #pragma omp parallel for num_threads(nn_layer_threads(m)) schedule(static)
    for (int c = 0; c < C; c++) {
        double mu, var;
        if (train) {
            double s = 0.0, ss = 0.0;
            for (int i = 0; i < batch; i++) s += row_sum(x + i * plane + (size_t)c * HW, HW);
            mu = s / (double)M;
            for (int i = 0; i < batch; i++) ss += row_sq_dev(x + i * plane + (size_t)c * HW, HW, (float)mu);
            var = ss / (double)M;
            double unbiased = M > 1 ? ss / (double)(M - 1) : var;
            n->run_mean[c] = (float)((1.0 - BN_MOMENTUM) * n->run_mean[c] + BN_MOMENTUM * mu);
            n->run_var[c] = (float)((1.0 - BN_MOMENTUM) * n->run_var[c] + BN_MOMENTUM * unbiased);
        } else {
            mu = n->run_mean[c];
            var = n->run_var[c];
        }
        const float is = (float)(1.0 / sqrt(var + BN_EPS)), mf = (float)mu;
        mean[c] = mf;
        invstd[c] = is;
        const float scale = n->w[c] * is, shift = n->b[c] - mf * scale;
        for (int i = 0; i < batch; i++) {
            const float *xp = x + i * plane + (size_t)c * HW;
            float *yp = n->out + i * plane + (size_t)c * HW;
            #pragma omp simd
            for (int q = 0; q < HW; q++) yp[q] = xp[q] * scale + shift;
        }
    }
}

void nn_bn_backward(nn_model *m, nn_node *n, const float *x, const float *x1,
                    float *dx, float *dx1, int batch)
{
    (void)x1; (void)dx1;
    const int C = n->in_dims.c, HW = n->in_dims.h * n->in_dims.w;
    const size_t M = (size_t)batch * HW, plane = (size_t)C * HW;
    const float *mean = n->cache, *invstd = mean + C;
    const int train = invstd[C] != 0.0f, fresh = n->dx_fresh[0];
    #pragma omp parallel for num_threads(nn_layer_threads(m)) schedule(static)
    for (int c = 0; c < C; c++) {
        const float mu = mean[c], is = invstd[c];
        double sdy = 0.0, sdyx = 0.0;
        for (int i = 0; i < batch; i++) {
            const float *xp = x + i * plane + (size_t)c * HW, *gp = n->dout + i * plane + (size_t)c * HW;
            float a = 0.0f, b = 0.0f;
            #pragma omp simd reduction(+:a, b)
            for (int q = 0; q < HW; q++) { a += gp[q]; b += gp[q] * (xp[q] - mu); }
            sdy += a; sdyx += b;
        }
        sdyx *= is;
        n->gw[c] += (float)sdyx;
        n->gb[c] += (float)sdy;
        if (!dx) continue;
        const float k = n->w[c] * is;
        /* With batch statistics the mean and variance depend on x too:
         * dx = k * (dy - a - (x - mu) * is * b) = k*dy - k*is*b*x + k*(is*b*mu - a). */
        const float a = train ? (float)(sdy / (double)M) : 0.0f;
        const float b = train ? (float)(sdyx / (double)M) : 0.0f;
        const float kx = k * is * b, k0 = k * (is * b * mu - a);
        for (int i = 0; i < batch; i++) {
            const float *xp = x + i * plane + (size_t)c * HW, *gp = n->dout + i * plane + (size_t)c * HW;
            float *dp = dx + i * plane + (size_t)c * HW;
            if (fresh) {
                #pragma omp simd
                for (int q = 0; q < HW; q++) dp[q] = k * gp[q] - kx * xp[q] + k0;
            } else {
                #pragma omp simd
                for (int q = 0; q < HW; q++) dp[q] += k * gp[q] - kx * xp[q] + k0;
            }
        }
    }
}
