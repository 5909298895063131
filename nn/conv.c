/* 2-D convolution (NCHW), multiply-accumulate kernel. oneDNN's primitives do the work where
 * they exist (nn/conv_onednn.c); this file's own path is the portable fallback: per-sample im2col + GEMM, samples spread
 * over threads (each thread owns whole samples, so the GEMMs stay single-threaded and large
 * enough). Stride-1 layers use the wide column layout (nn/im2col.h): long contiguous copies
 * for a few junk GEMM columns. The AdderNet kernel lives in nn/adder.c. */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cblas.h>
#include <omp.h>
#include "nn/layer_kinds.h"
#include "nn/im2col.h"
#include "nn/model_priv.h"
#include "nn/conv_onednn.h"

int nn_conv_infer(nn_node *n, char *err, size_t errlen)
{
    nn_dims in = n->in_dims;
    if (nn_layer_check_input(n, err, errlen) != 0) return -1;
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

/* Per-thread scratch. General: columns (reused for their gradient) + private dW. Wide: also
 * the wide output / output gradient and the padded input / input gradient. */
typedef struct {
    nn_conv_geom g;
    int K, P, O, T, wide, trivial;
    int Q;                          /* GEMM columns: P, or the wide count */
    size_t in_sz, out_sz, per;      /* per: floats of one thread's scratch */
    size_t off_y, off_pad, off_gw;  /* offsets inside a thread's scratch */
} conv_plan;

static conv_plan layout(const nn_node *n)
{
    conv_plan c;
    c.g = nn_conv_geom_of(n);
    c.K = (int)nn_conv_geom_rows(&c.g); c.P = (int)nn_conv_geom_cols(&c.g); c.O = n->out_c;
    c.trivial = nn_conv_geom_trivial(&c.g);
    /* Wide costs O*(k-1) junk multiply-adds per output row and saves ~2k*k*c short copies
     * per row; measured on LeNet shapes it pays while O*(k-1) <= 64. */
    c.wide = nn_conv_geom_wide_ok(&c.g) && c.O * (c.g.k - 1) <= 64;
    c.Q = c.wide ? (int)nn_conv_wide_cols(&c.g) : c.P;
    c.in_sz = nn_dims_size(n->in_dims); c.out_sz = (size_t)c.O * c.P;
    size_t col = c.trivial ? 0 : (size_t)c.K * c.Q;
    size_t y = c.wide ? (size_t)c.O * c.Q : 0;
    size_t pad = c.wide && c.g.pad ? (size_t)c.g.c * nn_conv_wide_hp(&c.g) * nn_conv_wide_wp(&c.g) : 0;
    c.off_y = col; c.off_pad = col + y; c.off_gw = col + y + pad;
    c.per = c.off_gw + (size_t)c.O * c.K;
    c.T = 1;
    return c;
}

/* oneDNN for small kernels (3x3, 1x1: ResNet, VGG, Conv-2/4/6), where it measured 2.5x this
 * file's path on ResNet-20; LeNet's 5x5 layers with few channels run 6 % faster here. */
int nn_conv_onednn_eligible(const nn_model *m, const nn_node *n)
{
    return !nn_priv((nn_model *)m)->conv_gemm_only && n->k <= 3 && n->kernel == NN_KERNEL_MAC;
}


/* oneDNN has reference implementations of every f32 convolution, so it fails only for want of
 * memory; with a blocked operand this file's path cannot stand in. */
static void must_be_plain(const nn_model *m, const nn_node *n)
{
    if (n->layout == NN_LAYOUT_PLAIN && nn_input_layout(m, n, 0) == NN_LAYOUT_PLAIN) return;
    fprintf(stderr, "nn: %s: oneDNN could not run this convolution (out of memory?) and its "
            "activations are channel-blocked; stopping\n", n->name);
    abort();
}

size_t nn_conv_ws_floats(const nn_node *n, int batch)
{
    int t = nn_layer_ws_threads();
    if (t > batch) t = batch;
    size_t mac = (size_t)t * layout(n).per;
    size_t add = nn_adder_conv_ws_floats(n, batch);   /* a method may switch the kernel later */
    return mac > add ? mac : add;
}

static conv_plan plan_of(const nn_model *m, const nn_node *n, int batch)
{
    conv_plan c = layout(n);
    c.T = nn_layer_threads(m);
    if (c.T > batch) c.T = batch;
    size_t fit = m->ws_len / c.per;
    if ((size_t)c.T > fit) c.T = (int)fit;
    assert(c.T >= 1 && "workspace too small for conv");
    return c;
}

/* The GEMM's right-hand side for sample xi: x itself (1x1), wide or ordinary columns. */
static const float *columns(const conv_plan *c, const float *xi, float *scratch)
{
    if (c->trivial) return xi;
    if (!c->wide) { nn_im2col(&c->g, xi, scratch, (size_t)c->P); return scratch; }
    const float *src = xi;
    if (c->g.pad) { nn_pad_copy(&c->g, xi, scratch + c->off_pad); src = scratch + c->off_pad; }
    nn_im2col_wide(&c->g, src, scratch, (size_t)c->Q);
    return scratch;
}

void nn_conv_forward(nn_model *m, nn_node *n, const float *x, const float *x1, int batch, int train)
{
    (void)x1; (void)train;
    if (n->kernel == NN_KERNEL_ADDER) { nn_adder_conv_forward(m, n, x, batch); return; }
    if (nn_conv_onednn_eligible(m, n) && nn_onednn_conv_forward(m, n, x, batch) == 0) return;
    must_be_plain(m, n);
    nn_blas_serial();
    const conv_plan c = plan_of(m, n, batch);
    const int P = c.P, O = c.O, K = c.K, Q = c.Q, OW = c.g.ow, WP = (int)nn_conv_wide_wp(&c.g);
    #pragma omp parallel for num_threads(c.T) schedule(static)
    for (int i = 0; i < batch; i++) {
        float *scratch = m->ws + (size_t)omp_get_thread_num() * c.per;
        const float *cm = columns(&c, x + (size_t)i * c.in_sz, scratch);
        float *y = n->out + (size_t)i * c.out_sz;
        if (c.wide) {       /* wide result, then keep the real pixels and add the bias */
            float *yw = scratch + c.off_y;
            memset(yw, 0, sizeof(float) * (size_t)O * Q);    /* see backward_sample */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, O, Q, K, 1.0f, n->w_eff, K,
                        cm, Q, 1.0f, yw, Q);
            for (int o = 0; o < O; o++) {
                const float b = n->b ? n->b[o] : 0.0f;
                for (int r = 0; r < c.g.oh; r++) {
                    const float *src = yw + (size_t)o * Q + (size_t)r * WP;
                    float *dst = y + (size_t)o * P + (size_t)r * OW;
                    for (int q = 0; q < OW; q++) dst[q] = src[q] + b;
                }
            }
            continue;
        }
        for (int o = 0; o < O; o++) {
            const float b = n->b ? n->b[o] : 0.0f;
            for (int p = 0; p < P; p++) y[(size_t)o * P + p] = b;
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, O, P, K, 1.0f, n->w_eff, K,
                    cm, P, 1.0f, y, P);
    }
}

/* One sample's dW (into gw) and dX (into dxi, may be NULL). */
static void backward_sample(const conv_plan *c, const nn_node *n, const float *xi,
                            const float *dyi, float *dxi, float *scratch, float *gw)
{
    const int P = c->P, O = c->O, K = c->K, Q = c->Q;
    const float *cm = columns(c, xi, scratch);
    const float *g = dyi;
    if (c->wide) {          /* dY in the wide layout, zero on junk columns */
        const int OW = c->g.ow, WP = (int)nn_conv_wide_wp(&c->g);
        float *gw_ = scratch + c->off_y;
        for (int o = 0; o < O; o++)
            for (int r = 0; r < c->g.oh; r++) {
                float *dst = gw_ + (size_t)o * Q + (size_t)r * WP;
                const float *src = dyi + (size_t)o * P + (size_t)r * OW;
                for (int q = 0; q < OW; q++) dst[q] = src[q];
                for (int q = OW; q < WP; q++) dst[q] = 0.0f;
            }
        g = gw_;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, O, K, Q, 1.0f, g, Q, cm, Q, 1.0f, gw, K);
    if (!dxi) return;
    if (c->trivial) {
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, P, O, 1.0f, n->w_eff, K, g, P,
                    1.0f, dxi, P);
        return;
    }
    float *dcol = scratch;  /* the columns are no longer needed */
    memset(dcol, 0, sizeof(float) * (size_t)K * Q);   /* cheaper than OpenBLAS's beta = 0 pass */
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, Q, O, 1.0f, n->w_eff, K, g, Q, 1.0f,
                dcol, Q);
    if (!c->wide) { nn_col2im_add(&c->g, dcol, (size_t)P, dxi); return; }
    if (!c->g.pad) { nn_col2im_wide_add(&c->g, dcol, (size_t)Q, dxi); return; }
    float *dxp = scratch + c->off_pad;
    memset(dxp, 0, sizeof(float) * (size_t)c->g.c * nn_conv_wide_hp(&c->g) * nn_conv_wide_wp(&c->g));
    nn_col2im_wide_add(&c->g, dcol, (size_t)Q, dxp);
    nn_unpad_add(&c->g, dxp, dxi);
}

void nn_conv_backward(nn_model *m, nn_node *n, const float *x, const float *x1,
                      float *dx, float *dx1, int batch)
{
    (void)x1; (void)dx1;
    if (nn_conv_onednn_eligible(m, n) &&
        nn_onednn_conv_backward(m, n, x, dx, batch) == 0) return;
    must_be_plain(m, n);
    nn_dx_begin(n, 0, dx, (size_t)batch * nn_dims_size(n->in_dims));
    if (n->kernel == NN_KERNEL_ADDER) { nn_adder_conv_backward(m, n, x, dx, batch); return; }
    nn_blas_serial();
    const conv_plan c = plan_of(m, n, batch);
    const int P = c.P, O = c.O, T = c.T;
    const size_t nw = (size_t)O * c.K;
    const float *dy = n->dout;

    /* Thread t owns samples [batch*t/T, batch*(t+1)/T) and a private dW (thread 0 writes into
     * gw directly); the partials are summed in thread order so results depend only on T. */
    #pragma omp parallel num_threads(T)
    {
        const int t = omp_get_thread_num();
        float *scratch = m->ws + (size_t)t * c.per;
        float *gw = t ? scratch + c.off_gw : n->gw;
        if (t) memset(gw, 0, sizeof(float) * nw);
        const int lo = (int)((long)batch * t / T), hi = (int)((long)batch * (t + 1) / T);
        for (int i = lo; i < hi; i++)
            backward_sample(&c, n, x + (size_t)i * c.in_sz, dy + (size_t)i * c.out_sz,
                            dx ? dx + (size_t)i * c.in_sz : NULL, scratch, gw);
        if (n->gb) {
            #pragma omp for schedule(static)
            for (int o = 0; o < O; o++) {
                float s = 0.0f;
                for (int i = 0; i < batch; i++) {
                    const float *r = dy + (size_t)i * c.out_sz + (size_t)o * P;
                    #pragma omp simd reduction(+:s)
                    for (int p = 0; p < P; p++) s += r[p];
                }
                n->gb[o] += s;
            }
        } else {
            #pragma omp barrier
        }
        #pragma omp for schedule(static)
        for (size_t j = 0; j < nw; j++)
            for (int u = 1; u < T; u++) n->gw[j] += m->ws[(size_t)u * c.per + c.off_gw + j];
    }
}
