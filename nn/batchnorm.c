/* Batch normalization over N*H*W per channel (PyTorch semantics: eps 1e-5, momentum 0.1,
 * biased variance for normalizing, unbiased for the running estimate). gamma = w, beta = b.
 * Cache: the mean and 1/std the last forward used, and whether they were batch statistics.
 * Works on plain NCHW and on the channel-blocked layout (nn/layout.c) alike. */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include "nn/layer_kinds.h"

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

/* Per-channel sums over N*H*W in either layout: s1[c] = sum u, and when v is given
 * s2[c] = sum (u - mu_u[c]) * (v - mu_v[c]) (mu_u may be NULL = 0). Float lanes over one
 * sample's pixels, accumulated in double across samples: fast, and as accurate as the data
 * needs. Plain: threads split channels. Blocked: threads split samples, and their partial sums
 * are added in thread order, so a fixed thread count gives fixed results. */
typedef struct {
    int C, HW, batch, blocked, B;
    size_t plane;               /* floats of one sample */
} bn_geom;

static bn_geom geom_of(const nn_node *n, int batch)
{
    bn_geom g = { n->in_dims.c, n->in_dims.h * n->in_dims.w, batch,
                  n->layout == NN_LAYOUT_BLOCKED, nn_layout_block(), 0 };
    g.plane = (size_t)g.C * g.HW;
    return g;
}

static void plain_sums(const nn_model *m, const bn_geom *g, const float *u, const float *mu_u,
                       const float *v, const float *mu_v, double *s1, double *s2)
{
    #pragma omp parallel for num_threads(nn_layer_threads(m)) schedule(static)
    for (int c = 0; c < g->C; c++) {
        const float mu = mu_u ? mu_u[c] : 0.0f, mv = mu_v ? mu_v[c] : 0.0f;
        double a = 0.0, b = 0.0;
        for (int i = 0; i < g->batch; i++) {
            const float *up = u + i * g->plane + (size_t)c * g->HW;
            const float *vp = v ? v + i * g->plane + (size_t)c * g->HW : NULL;
            float fa = 0.0f, fb = 0.0f;
            if (vp) {
                #pragma omp simd reduction(+:fa, fb)
                for (int q = 0; q < g->HW; q++) { fa += up[q]; fb += (up[q] - mu) * (vp[q] - mv); }
            } else {
                #pragma omp simd reduction(+:fa)
                for (int q = 0; q < g->HW; q++) fa += up[q];
            }
            a += fa; b += fb;
        }
        s1[c] = a;
        if (s2) s2[c] = b;
    }
}

enum { BN_MAX_BLOCK = 16 };

static void blocked_sums(const nn_model *m, const bn_geom *g, const float *u, const float *mu_u,
                         const float *v, const float *mu_v, double *s1, double *s2)
{
    const int B = g->B, CB = g->C / B;
    int T = nn_layer_threads(m);
    if (T > g->batch) T = g->batch;
    double *part = calloc((size_t)T * 2 * g->C, sizeof *part);
    if (!part) { fprintf(stderr, "nn: batch norm: out of memory\n"); abort(); }
    #pragma omp parallel num_threads(T)
    {
        const int t = omp_get_thread_num();
        const int lo = (int)((long)g->batch * t / T), hi = (int)((long)g->batch * (t + 1) / T);
        double *p1 = part + (size_t)t * 2 * g->C, *p2 = p1 + g->C;
        for (int i = lo; i < hi; i++)
            for (int cb = 0; cb < CB; cb++) {
                const size_t off = ((size_t)i * CB + cb) * g->HW * B;
                const float *up = u + off, *vp = v ? v + off : NULL;
                float fa[BN_MAX_BLOCK] = { 0 }, fb[BN_MAX_BLOCK] = { 0 }, mu[BN_MAX_BLOCK], mv[BN_MAX_BLOCK];
                for (int l = 0; l < B; l++) {
                    mu[l] = mu_u ? mu_u[cb * B + l] : 0.0f;
                    mv[l] = mu_v ? mu_v[cb * B + l] : 0.0f;
                }
                for (int q = 0; q < g->HW; q++) {
                    const float *uq = up + (size_t)q * B;
                    #pragma omp simd
                    for (int l = 0; l < B; l++) fa[l] += uq[l];
                    if (vp) {
                        const float *vq = vp + (size_t)q * B;
                        #pragma omp simd
                        for (int l = 0; l < B; l++) fb[l] += (uq[l] - mu[l]) * (vq[l] - mv[l]);
                    }
                }
                for (int l = 0; l < B; l++) { p1[cb * B + l] += fa[l]; p2[cb * B + l] += fb[l]; }
            }
    }
    for (int c = 0; c < g->C; c++) {
        double a = 0.0, b = 0.0;
        for (int t = 0; t < T; t++) { a += part[(size_t)t * 2 * g->C + c]; b += part[(size_t)t * 2 * g->C + g->C + c]; }
        s1[c] = a;
        if (s2) s2[c] = b;
    }
    free(part);
}

static void channel_sums(const nn_model *m, const bn_geom *g, const float *u, const float *mu_u,
                         const float *v, const float *mu_v, double *s1, double *s2)
{
    (g->blocked ? blocked_sums : plain_sums)(m, g, u, mu_u, v, mu_v, s1, s2);
}

/* out (=|+=) a[c] * u + k[c] + b[c] * v per channel (v may be NULL), in either layout. The
 * four loop bodies are spelled out so each vectorizes; an = output is never read (a fresh
 * gradient buffer holds garbage). */
#define AFFINE_LOOP(n_, A, K, Bv, j)                                                          \
    do {                                                                                     \
        if (!vp && !accumulate) {                                                            \
            _Pragma("omp simd") for (int l = 0; l < (n_); l++) op[l] = A[j] * up[l] + K[j];  \
        } else if (!vp) {                                                                    \
            _Pragma("omp simd") for (int l = 0; l < (n_); l++) op[l] += A[j] * up[l] + K[j]; \
        } else if (!accumulate) {                                                            \
            _Pragma("omp simd") for (int l = 0; l < (n_); l++)                               \
                op[l] = A[j] * up[l] + K[j] + Bv[j] * vp[l];                                 \
        } else {                                                                             \
            _Pragma("omp simd") for (int l = 0; l < (n_); l++)                               \
                op[l] += A[j] * up[l] + K[j] + Bv[j] * vp[l];                                \
        }                                                                                    \
    } while (0)

static void channel_affine(const nn_model *m, const bn_geom *g, float *out, int accumulate,
                           const float *u, const float *a, const float *v, const float *b,
                           const float *k)
{
    const int T = nn_layer_threads(m);
    if (!g->blocked) {
        #pragma omp parallel for collapse(2) num_threads(T) schedule(static)
        for (int i = 0; i < g->batch; i++)
            for (int c = 0; c < g->C; c++) {
                const size_t off = (size_t)i * g->plane + (size_t)c * g->HW;
                const float *up = u + off, *vp = v ? v + off : NULL;
                float *op = out + off;
                AFFINE_LOOP(g->HW, a, k, b, c);
            }
        return;
    }
    const int B = g->B, CB = g->C / B;
    #pragma omp parallel for collapse(2) num_threads(T) schedule(static)
    for (int i = 0; i < g->batch; i++)
        for (int cb = 0; cb < CB; cb++) {
            const float *ac = a + cb * B, *kc = k + cb * B, *bc = b ? b + cb * B : NULL;
            for (int q = 0; q < g->HW; q++) {
                const size_t off = (size_t)i * g->plane + ((size_t)cb * g->HW + q) * B;
                const float *up = u + off, *vp = v ? v + off : NULL;
                float *op = out + off;
                AFFINE_LOOP(B, ac, kc, bc, l);
            }
        }
}
#undef AFFINE_LOOP

void nn_bn_forward(nn_model *m, nn_node *n, const float *x, const float *x1, int batch, int train)
{
    (void)x1;
    const bn_geom g = geom_of(n, batch);
    const int C = g.C;
    const size_t M = (size_t)batch * g.HW;
    const double mom = m->bn_momentum > 0 ? m->bn_momentum : BN_MOMENTUM;
    float *mean = n->cache, *invstd = mean + C;
    invstd[C] = (float)train;
    double *s = malloc(2 * (size_t)C * sizeof *s);
    float *scale = malloc(2 * (size_t)C * sizeof *scale), *shift = scale + C;
    if (!s || !scale) { fprintf(stderr, "nn: batch norm: out of memory\n"); abort(); }
    if (train) {
        channel_sums(m, &g, x, NULL, NULL, NULL, s, NULL);
        for (int c = 0; c < C; c++) mean[c] = (float)(s[c] / (double)M);
        channel_sums(m, &g, x, mean, x, mean, s, s + C);
    }
    for (int c = 0; c < C; c++) {
        double mu, var;
        if (train) {
            mu = mean[c];
            const double ss = s[C + c];
            var = ss / (double)M;
            double unbiased = M > 1 ? ss / (double)(M - 1) : var;
            n->run_mean[c] = (float)((1.0 - mom) * n->run_mean[c] + mom * mu);
            n->run_var[c] = (float)((1.0 - mom) * n->run_var[c] + mom * unbiased);
        } else {
            mu = n->run_mean[c];
            var = n->run_var[c];
        }
        const float is = (float)(1.0 / sqrt(var + NN_BN_EPS)), mf = (float)mu;
        mean[c] = mf;
        invstd[c] = is;
        scale[c] = n->w[c] * is;   /* as nn_bn_affine: keep the two together */
        shift[c] = n->b[c] - mf * scale[c];
    }
    channel_affine(m, &g, n->out, 0, x, scale, NULL, NULL, shift);
    free(s); free(scale);
}

void nn_bn_backward(nn_model *m, nn_node *n, const float *x, const float *x1,
                    float *dx, float *dx1, int batch)
{
    (void)x1; (void)dx1;
    const bn_geom g = geom_of(n, batch);
    const int C = g.C;
    const size_t M = (size_t)batch * g.HW;
    const float *mean = n->cache, *invstd = mean + C;
    const int train = invstd[C] != 0.0f;
    double *s = malloc(2 * (size_t)C * sizeof *s);
    float *k = malloc(3 * (size_t)C * sizeof *k), *kx = k + C, *k0 = kx + C;
    if (!s || !k) { fprintf(stderr, "nn: batch norm: out of memory\n"); abort(); }
    channel_sums(m, &g, n->dout, NULL, x, mean, s, s + C);       /* sum dy, sum dy (x - mu) */
    for (int c = 0; c < C; c++) {
        const float is = invstd[c];
        const double sdy = s[c], sdyx = s[C + c] * is;
        n->gw[c] += (float)sdyx;
        n->gb[c] += (float)sdy;
        /* With batch statistics the mean and variance depend on x too:
         * dx = k * (dy - a - (x - mu) * is * b) = k*dy - k*is*b*x + k*(is*b*mu - a). */
        const float a = train ? (float)(sdy / (double)M) : 0.0f;
        const float b = train ? (float)(sdyx / (double)M) : 0.0f;
        k[c] = n->w[c] * is;
        kx[c] = -k[c] * is * b;
        k0[c] = k[c] * (is * b * mean[c] - a);
    }
    if (dx) channel_affine(m, &g, dx, !n->dx_fresh[0], n->dout, k, x, kx, k0);
    free(s); free(k);
}

void nn_bn_affine(const nn_node *n, float *scale, float *shift)
{
    for (int c = 0; c < n->in_dims.c; c++) {
        const float is = (float)(1.0 / sqrt((double)n->run_var[c] + NN_BN_EPS)), mf = n->run_mean[c];
        scale[c] = n->w[c] * is;
        shift[c] = n->b[c] - mf * scale[c];
    }
}

void nn_bn_recalibrate(nn_model *m, int (*batch_at)(void *ctx, long i, float *x), void *ctx, int batches)
{
    size_t per = nn_dims_size(m->in_dims);
    float *x = malloc((size_t)m->batch_cap * per * sizeof *x);
    if (!x) { fprintf(stderr, "nn: batch norm recalibration: out of memory\n"); abort(); }
    int got;
    for (long k = 1; k <= batches && (got = batch_at(ctx, k - 1, x)) > 0; k++) {
        m->bn_momentum = 1.0 / (double)k;   /* k-th batch: running = mean of the k so far */
        nn_forward(m, x, got, 1);
    }
    m->bn_momentum = 0;
    free(x);
}
