/* AdderNet kernels (Chen et al., CVPR 2020): outputs are negative L1 distances between input
 * patches and filters, y = -sum_k |x_k - w_k| (+ b). Backward uses the paper's full-precision
 * gradients: dW = sum (x - w) * dy and dX = sum HT(w - x) * dy, HT = clamp to [-1, 1].
 * Loops run over contiguous columns with no branches so they vectorize; threads own disjoint
 * outputs, so results do not depend on timing. */
#include <assert.h>
#include <math.h>
#include <string.h>
#include <omp.h>
#include "nn/layer_kinds.h"
#include "nn/im2col.h"

enum { ADDER_CHUNK = 8 };   /* samples whose columns are extracted together */

/* The clamp's compares block vectorization under the default -ftrapping-math (they could
 * raise on NaN); nothing here relies on traps, so these two row kernels opt out. */
#if defined(__GNUC__) && !defined(__clang__)
#define NO_TRAPS __attribute__((optimize("no-trapping-math")))
#else
#define NO_TRAPS
#endif

/* dst += HT(w - x) * d: a filter weight against a row of columns (conv). */
NO_TRAPS static void ht_row_conv(float *restrict dst, float w, const float *restrict x,
                                 const float *restrict d, int n)
{
    for (int q = 0; q < n; q++) {     /* HT(v) = clamp(v, -1, 1) */
        float v = w - x[q];
        v = v < -1.0f ? -1.0f : v;
        dst[q] += (v > 1.0f ? 1.0f : v) * d[q];
    }
}

/* dst += HT(w - x) * d: a weight row against an input row, one output gradient (linear). */
NO_TRAPS static void ht_row_linear(float *restrict dst, const float *restrict w,
                                   const float *restrict x, float d, int n)
{
    for (int q = 0; q < n; q++) {
        float v = w[q] - x[q];
        v = v < -1.0f ? -1.0f : v;
        dst[q] += (v > 1.0f ? 1.0f : v) * d;
    }
}

size_t nn_adder_conv_ws_floats(const nn_node *n, int batch)
{
    nn_conv_geom g = nn_conv_geom_of(n);
    size_t chunk = batch < ADDER_CHUNK ? (size_t)batch : ADDER_CHUNK;
    return 2 * chunk * nn_conv_geom_rows(&g) * nn_conv_geom_cols(&g);
}

/* Column source of one chunk: sample j's row r starts at col(j) + r*ld. Trivial geometries
 * read the input directly. */
typedef struct { const float *base; size_t sample_step, ld; } colview;

static colview chunk_columns(nn_model *m, const nn_node *n, const nn_conv_geom *g,
                             const float *x, int n0, int nb, int T)
{
    const size_t P = nn_conv_geom_cols(g), in_sz = nn_dims_size(n->in_dims);
    if (nn_conv_geom_trivial(g)) return (colview){ x + (size_t)n0 * in_sz, in_sz, P };
    float *col = m->ws;
    #pragma omp parallel for num_threads(T) schedule(static)
    for (int j = 0; j < nb; j++) nn_im2col(g, x + (size_t)(n0 + j) * in_sz, col + (size_t)j * P, (size_t)nb * P);
    return (colview){ col, P, (size_t)nb * P };
}

static int chunk_size(const nn_model *m, const nn_node *n, int batch)
{
    int c = batch < ADDER_CHUNK ? batch : ADDER_CHUNK;
    nn_conv_geom g = nn_conv_geom_of(n);
    size_t per = 2 * nn_conv_geom_rows(&g) * nn_conv_geom_cols(&g);
    if ((size_t)c * per > m->ws_len) c = (int)(m->ws_len / per);
    assert(c >= 1 && "workspace too small for adder conv");
    return c;
}

void nn_adder_conv_forward(nn_model *m, nn_node *n, const float *x, int batch)
{
    const nn_conv_geom g = nn_conv_geom_of(n);
    const int K = (int)nn_conv_geom_rows(&g), P = (int)nn_conv_geom_cols(&g), O = n->out_c;
    const int T = nn_layer_threads(m), chunk = chunk_size(m, n, batch);
    const float *w = n->w_eff;
    for (int n0 = 0; n0 < batch; n0 += chunk) {
        const int nb = batch - n0 < chunk ? batch - n0 : chunk;
        const colview cv = chunk_columns(m, n, &g, x, n0, nb, T);
        #pragma omp parallel for num_threads(T) schedule(static)
        for (int o = 0; o < O; o++)
            for (int j = 0; j < nb; j++) {
                float *y = n->out + ((size_t)(n0 + j) * O + o) * P;
                const float b0 = n->b ? n->b[o] : 0.0f;
                for (int p = 0; p < P; p++) y[p] = 0.0f;
                for (int k = 0; k < K; k++) {
                    const float wk = w[(size_t)o * K + k];
                    const float *c = cv.base + j * cv.sample_step + (size_t)k * cv.ld;
                    for (int p = 0; p < P; p++) y[p] -= fabsf(c[p] - wk);
                }
                for (int p = 0; p < P; p++) y[p] += b0;
            }
    }
}

void nn_adder_conv_backward(nn_model *m, nn_node *n, const float *x, float *dx, int batch)
{
    const nn_conv_geom g = nn_conv_geom_of(n);
    const int K = (int)nn_conv_geom_rows(&g), P = (int)nn_conv_geom_cols(&g), O = n->out_c;
    const int T = nn_layer_threads(m), chunk = chunk_size(m, n, batch);
    const size_t in_sz = nn_dims_size(n->in_dims), out_sz = (size_t)O * P;
    const int trivial = nn_conv_geom_trivial(&g);
    const float *w = n->w_eff, *dy = n->dout;

    if (n->gb) {
        #pragma omp parallel for num_threads(T) schedule(static)
        for (int o = 0; o < O; o++) {
            float s = 0.0f;
            for (int i = 0; i < batch; i++) {
                const float *r = dy + (size_t)i * out_sz + (size_t)o * P;
                #pragma omp simd reduction(+:s)
                for (int p = 0; p < P; p++) s += r[p];
            }
            n->gb[o] += s;
        }
    }

    for (int n0 = 0; n0 < batch; n0 += chunk) {
        const int nb = batch - n0 < chunk ? batch - n0 : chunk;
        const colview cv = chunk_columns(m, n, &g, x, n0, nb, T);
        float *dcol = m->ws + (size_t)nb * K * P;
        #pragma omp parallel num_threads(T)
        {
            /* dW: thread owns filter rows. */
            #pragma omp for schedule(static)
            for (int o = 0; o < O; o++)
                for (int k = 0; k < K; k++) {
                    const float wk = w[(size_t)o * K + k];
                    float s = 0.0f;
                    for (int j = 0; j < nb; j++) {
                        const float *c = cv.base + j * cv.sample_step + (size_t)k * cv.ld;
                        const float *d = dy + (size_t)(n0 + j) * out_sz + (size_t)o * P;
                        float sj = 0.0f;
                        #pragma omp simd reduction(+:sj)
                        for (int p = 0; p < P; p++) sj += (c[p] - wk) * d[p];
                        s += sj;
                    }
                    n->gw[(size_t)o * K + k] += s;
                }
            if (dx) {
                /* dX columns: thread owns column rows; trivial geometry writes dx directly. */
                #pragma omp for schedule(static)
                for (int k = 0; k < K; k++)
                    for (int j = 0; j < nb; j++) {
                        const float *c = cv.base + j * cv.sample_step + (size_t)k * cv.ld;
                        float *r = trivial ? dx + (size_t)(n0 + j) * in_sz + (size_t)k * P
                                           : dcol + (size_t)k * cv.ld + (size_t)j * P;
                        if (!trivial) memset(r, 0, sizeof(float) * (size_t)P);
                        for (int o = 0; o < O; o++) {
                            const float wk = w[(size_t)o * K + k];
                            const float *d = dy + (size_t)(n0 + j) * out_sz + (size_t)o * P;
                            ht_row_conv(r, wk, c, d, P);
                        }
                    }
                if (!trivial) {
                    #pragma omp for schedule(static)
                    for (int j = 0; j < nb; j++)
                        nn_col2im_add(&g, dcol + (size_t)j * P, (size_t)nb * P,
                                      dx + (size_t)(n0 + j) * in_sz);
                }
            }
        }
    }
}

/* Linear: x is batch x F, w is O x F. */
void nn_adder_linear_forward(nn_model *m, nn_node *n, const float *x, int batch)
{
    const int F = (int)nn_dims_size(n->in_dims), O = n->out_c, T = nn_layer_threads(m);
    const float *w = n->w_eff;
    #pragma omp parallel for num_threads(T) schedule(static)
    for (int o = 0; o < O; o++) {
        const float *wo = w + (size_t)o * F;
        for (int i = 0; i < batch; i++) {
            const float *xi = x + (size_t)i * F;
            float s = 0.0f;
            #pragma omp simd reduction(+:s)
            for (int q = 0; q < F; q++) s += fabsf(xi[q] - wo[q]);
            n->out[(size_t)i * O + o] = (n->b ? n->b[o] : 0.0f) - s;
        }
    }
}

void nn_adder_linear_backward(nn_model *m, nn_node *n, const float *x, float *dx, int batch)
{
    const int F = (int)nn_dims_size(n->in_dims), O = n->out_c, T = nn_layer_threads(m);
    const float *w = n->w_eff, *dy = n->dout;
    #pragma omp parallel num_threads(T)
    {
        #pragma omp for schedule(static)
        for (int o = 0; o < O; o++) {
            const float *wo = w + (size_t)o * F;
            float *gw = n->gw + (size_t)o * F, gb = 0.0f;
            for (int i = 0; i < batch; i++) {
                const float *xi = x + (size_t)i * F, d = dy[(size_t)i * O + o];
                for (int q = 0; q < F; q++) gw[q] += (xi[q] - wo[q]) * d;
                gb += d;
            }
            if (n->gb) n->gb[o] += gb;
        }
        if (dx) {
            #pragma omp for schedule(static)
            for (int i = 0; i < batch; i++) {
                const float *xi = x + (size_t)i * F;
                float *dxi = dx + (size_t)i * F;
                for (int o = 0; o < O; o++) {
                    ht_row_linear(dxi, w + (size_t)o * F, xi, dy[(size_t)i * O + o], F);
                }
            }
        }
    }
}
