/* Pooling: max (argmax cached for backward), average (padding counts as zeros, as in
 * PyTorch's default), and global average. Planes (sample, channel) are spread over threads. */
#include <float.h>
#include <stdint.h>
#include "nn/layer_kinds.h"

static int window_infer(nn_node *n, char *err, size_t errlen)
{
    nn_dims in = n->in_dims;
    if (nn_layer_check_input(n, err, errlen) != 0) return -1;
    if (n->k <= 0) return nn_layer_fail(n, err, errlen, "window must be > 0, got %d", n->k);
    if (n->stride <= 0) return nn_layer_fail(n, err, errlen, "stride must be > 0, got %d", n->stride);
    if (n->pad < 0 || 2 * n->pad > n->k)
        return nn_layer_fail(n, err, errlen, "padding must be in [0, window/2 = %d], got %d",
                             n->k / 2, n->pad);
    if (in.h + 2 * n->pad < n->k || in.w + 2 * n->pad < n->k)
        return nn_layer_fail(n, err, errlen, "window %dx%d is larger than the input %dx%d",
                             n->k, n->k, in.h + 2 * n->pad, in.w + 2 * n->pad);
    n->out_dims = (nn_dims){ in.c, (in.h + 2 * n->pad - n->k) / n->stride + 1,
                             (in.w + 2 * n->pad - n->k) / n->stride + 1 };
    n->nw = n->nb = 0;
    return 0;
}

int nn_maxpool_infer(nn_node *n, char *err, size_t errlen) { return window_infer(n, err, errlen); }
int nn_avgpool_infer(nn_node *n, char *err, size_t errlen) { return window_infer(n, err, errlen); }

size_t nn_maxpool_cache_bytes(const nn_node *n, int batch)
{
    return (size_t)batch * nn_dims_size(n->out_dims) * sizeof(int32_t);
}

/* The common 2x2 stride-2 window; same tie rule as the general loop (first in scan order).
 * Branch-free: on real activations the comparisons of a scan mispredict about half the time,
 * and rows as short as LeNet-5's (12 and 4 outputs) are too short to vectorize. The argmax
 * moves through integer masks (the compiler turns a select on it into branches); the maximum
 * through a > b ? a : b, which is one maxss. */
static inline void take_if_greater(float v, int i, float *m, int *bi)
{
    const int take = -(v > *m);   /* all ones or zero */
    *bi = (*bi & ~take) | (i & take);
    *m = v > *m ? v : *m;
}

static void max2x2(const float *xp, int W, int OH, int OW, float *yp, int32_t *ap)
{
    for (int oh = 0; oh < OH; oh++) {
        const float *r0 = xp + (size_t)2 * oh * W, *r1 = r0 + W;
        const int base = 2 * oh * W;
        for (int ow = 0; ow < OW; ow++) {
            float m = r0[2 * ow];
            int bi = base + 2 * ow;
            take_if_greater(r0[2 * ow + 1], base + 2 * ow + 1, &m, &bi);
            take_if_greater(r1[2 * ow], base + W + 2 * ow, &m, &bi);
            take_if_greater(r1[2 * ow + 1], base + W + 2 * ow + 1, &m, &bi);
            yp[oh * OW + ow] = m;
            ap[oh * OW + ow] = bi;
        }
    }
}

void nn_maxpool_forward(nn_model *m, nn_node *n, const float *x, const float *x1, int batch, int train)
{
    (void)x1; (void)train;
    const int H = n->in_dims.h, W = n->in_dims.w, OH = n->out_dims.h, OW = n->out_dims.w;
    const int k = n->k, s = n->stride, pad = n->pad, planes = batch * n->in_dims.c;
    int32_t *arg = n->cache;
    const int fast2 = k == 2 && s == 2 && pad == 0;
    #pragma omp parallel for num_threads(nn_layer_threads(m)) schedule(static)
    for (int pl = 0; pl < planes; pl++) {
        const float *xp = x + (size_t)pl * H * W;
        float *yp = n->out + (size_t)pl * OH * OW;
        int32_t *ap = arg + (size_t)pl * OH * OW;
        if (fast2) { max2x2(xp, W, OH, OW, yp, ap); continue; }
        for (int oh = 0; oh < OH; oh++)
            for (int ow = 0; ow < OW; ow++) {
                int h0 = oh * s - pad, w0 = ow * s - pad;
                int h1 = h0 + k < H ? h0 + k : H, w1 = w0 + k < W ? w0 + k : W;
                if (h0 < 0) h0 = 0;
                if (w0 < 0) w0 = 0;
                float best = -FLT_MAX;
                int bi = h0 * W + w0;
                for (int h = h0; h < h1; h++)
                    for (int w = w0; w < w1; w++)
                        if (xp[h * W + w] > best) { best = xp[h * W + w]; bi = h * W + w; }
                yp[oh * OW + ow] = best;
                ap[oh * OW + ow] = bi;
            }
    }
}

void nn_maxpool_backward(nn_model *m, nn_node *n, const float *x, const float *x1,
                         float *dx, float *dx1, int batch)
{
    (void)x; (void)x1; (void)dx1;
    if (!dx) return;
    nn_dx_begin(n, 0, dx, (size_t)batch * nn_dims_size(n->in_dims));
    const int HW = n->in_dims.h * n->in_dims.w, OHW = n->out_dims.h * n->out_dims.w;
    const int planes = batch * n->in_dims.c;
    const int32_t *arg = n->cache;
    #pragma omp parallel for num_threads(nn_layer_threads(m)) schedule(static)
    for (int pl = 0; pl < planes; pl++) {
        float *dp = dx + (size_t)pl * HW;
        const float *gp = n->dout + (size_t)pl * OHW;
        const int32_t *ap = arg + (size_t)pl * OHW;
        for (int q = 0; q < OHW; q++) dp[ap[q]] += gp[q];
    }
}

void nn_avgpool_forward(nn_model *m, nn_node *n, const float *x, const float *x1, int batch, int train)
{
    (void)x1; (void)train;
    const int H = n->in_dims.h, W = n->in_dims.w, OH = n->out_dims.h, OW = n->out_dims.w;
    const int k = n->k, s = n->stride, pad = n->pad, planes = batch * n->in_dims.c;
    const float inv = 1.0f / (float)(k * k);
    #pragma omp parallel for num_threads(nn_layer_threads(m)) schedule(static)
    for (int pl = 0; pl < planes; pl++) {
        const float *xp = x + (size_t)pl * H * W;
        float *yp = n->out + (size_t)pl * OH * OW;
        for (int oh = 0; oh < OH; oh++)
            for (int ow = 0; ow < OW; ow++) {
                int h0 = oh * s - pad, w0 = ow * s - pad;
                int h1 = h0 + k < H ? h0 + k : H, w1 = w0 + k < W ? w0 + k : W;
                if (h0 < 0) h0 = 0;
                if (w0 < 0) w0 = 0;
                float sum = 0.0f;
                for (int h = h0; h < h1; h++)
                    for (int w = w0; w < w1; w++) sum += xp[h * W + w];
                yp[oh * OW + ow] = sum * inv;
            }
    }
}

void nn_avgpool_backward(nn_model *m, nn_node *n, const float *x, const float *x1,
                         float *dx, float *dx1, int batch)
{
    (void)x; (void)x1; (void)dx1;
    if (!dx) return;
    nn_dx_begin(n, 0, dx, (size_t)batch * nn_dims_size(n->in_dims));
    const int H = n->in_dims.h, W = n->in_dims.w, OH = n->out_dims.h, OW = n->out_dims.w;
    const int k = n->k, s = n->stride, pad = n->pad, planes = batch * n->in_dims.c;
    const float inv = 1.0f / (float)(k * k);
    #pragma omp parallel for num_threads(nn_layer_threads(m)) schedule(static)
    for (int pl = 0; pl < planes; pl++) {
        float *dp = dx + (size_t)pl * H * W;
        const float *gp = n->dout + (size_t)pl * OH * OW;
        for (int oh = 0; oh < OH; oh++)
            for (int ow = 0; ow < OW; ow++) {
                int h0 = oh * s - pad, w0 = ow * s - pad;
                int h1 = h0 + k < H ? h0 + k : H, w1 = w0 + k < W ? w0 + k : W;
                if (h0 < 0) h0 = 0;
                if (w0 < 0) w0 = 0;
                const float g = gp[oh * OW + ow] * inv;
                for (int h = h0; h < h1; h++)
                    for (int w = w0; w < w1; w++) dp[h * W + w] += g;
            }
    }
}

int nn_gap_infer(nn_node *n, char *err, size_t errlen)
{
    nn_dims in = n->in_dims;
    if (nn_layer_check_input(n, err, errlen) != 0) return -1;
    n->out_dims = (nn_dims){ in.c, 1, 1 };
    n->nw = n->nb = 0;
    return 0;
}

/* Global average pooling over a channel-blocked input (nn/layout.c): sample i's channel
 * c = cb*B + l sits at ((i*CB + cb)*HW + q)*B + l. */
static void gap_blocked_forward(nn_model *m, nn_node *n, const float *x, int batch)
{
    const int HW = n->in_dims.h * n->in_dims.w, C = n->in_dims.c, B = nn_layout_block(), CB = C / B;
    const float inv = 1.0f / (float)HW;
    #pragma omp parallel for collapse(2) num_threads(nn_layer_threads(m)) schedule(static)
    for (int i = 0; i < batch; i++)
        for (int cb = 0; cb < CB; cb++) {
            float acc[16] = { 0 };
            const float *xp = x + ((size_t)i * CB + cb) * HW * B;
            for (int q = 0; q < HW; q++)
                for (int l = 0; l < B; l++) acc[l] += xp[(size_t)q * B + l];
            for (int l = 0; l < B; l++) n->out[(size_t)i * C + cb * B + l] = acc[l] * inv;
        }
}

static void gap_blocked_backward(nn_model *m, nn_node *n, float *dx, int batch)
{
    const int HW = n->in_dims.h * n->in_dims.w, C = n->in_dims.c, B = nn_layout_block(), CB = C / B;
    const float inv = 1.0f / (float)HW;
    const int fresh = n->dx_fresh[0];
    #pragma omp parallel for collapse(2) num_threads(nn_layer_threads(m)) schedule(static)
    for (int i = 0; i < batch; i++)
        for (int cb = 0; cb < CB; cb++) {
            const float *g = n->dout + (size_t)i * C + cb * B;
            float *dp = dx + ((size_t)i * CB + cb) * HW * B;
            for (int q = 0; q < HW; q++)
                for (int l = 0; l < B; l++)
                    dp[(size_t)q * B + l] = (fresh ? 0.0f : dp[(size_t)q * B + l]) + g[l] * inv;
        }
}

void nn_gap_forward(nn_model *m, nn_node *n, const float *x, const float *x1, int batch, int train)
{
    (void)x1; (void)train;
    if (nn_input_layout(m, n, 0) == NN_LAYOUT_BLOCKED) { gap_blocked_forward(m, n, x, batch); return; }
    const int HW = n->in_dims.h * n->in_dims.w, planes = batch * n->in_dims.c;
    const float inv = 1.0f / (float)HW;
    #pragma omp parallel for num_threads(nn_layer_threads(m)) schedule(static)
    for (int pl = 0; pl < planes; pl++) {
        const float *xp = x + (size_t)pl * HW;
        float s = 0.0f;
        for (int q = 0; q < HW; q++) s += xp[q];
        n->out[pl] = s * inv;
    }
}

void nn_gap_backward(nn_model *m, nn_node *n, const float *x, const float *x1,
                     float *dx, float *dx1, int batch)
{
    (void)x; (void)x1; (void)dx1;
    if (!dx) return;
    if (nn_input_layout(m, n, 0) == NN_LAYOUT_BLOCKED) { gap_blocked_backward(m, n, dx, batch); return; }
    const int HW = n->in_dims.h * n->in_dims.w, planes = batch * n->in_dims.c;
    const float inv = 1.0f / (float)HW;
    #pragma omp parallel for num_threads(nn_layer_threads(m)) schedule(static)
    for (int pl = 0; pl < planes; pl++) {
        float *dp = dx + (size_t)pl * HW;
        const float g = n->dout[pl] * inv;
        if (n->dx_fresh[0]) for (int q = 0; q < HW; q++) dp[q] = g;
        else for (int q = 0; q < HW; q++) dp[q] += g;
    }
}
