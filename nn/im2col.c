#include "nn/im2col.h"
#include <string.h>

nn_conv_geom nn_conv_geom_of(const nn_node *n)
{
    nn_conv_geom g = { n->in_dims.c, n->in_dims.h, n->in_dims.w, n->k, n->stride, n->pad,
                       n->out_dims.h, n->out_dims.w };
    return g;
}

/* Output columns [*lo, *hi) whose input column o*stride - pad + kj lies inside [0, w). */
static void valid_span(const nn_conv_geom *g, int kj, int *lo, int *hi)
{
    int off = kj - g->pad;                       /* iw = o*stride + off */
    int a = off >= 0 ? 0 : (-off + g->stride - 1) / g->stride;
    int b = g->w - off <= 0 ? 0 : (g->w - off - 1) / g->stride + 1;
    if (b > g->ow) b = g->ow;
    if (a > b) a = b;
    *lo = a; *hi = b;
}

void nn_im2col(const nn_conv_geom *g, const float *x, float *col, size_t ld)
{
    const int k = g->k, s = g->stride, ow = g->ow;
    for (int c = 0; c < g->c; c++)
        for (int ki = 0; ki < k; ki++)
            for (int kj = 0; kj < k; kj++) {
                float *row = col + ((size_t)(c * k + ki) * k + kj) * ld;
                int lo, hi, off = kj - g->pad;
                valid_span(g, kj, &lo, &hi);
                for (int oh = 0; oh < g->oh; oh++) {
                    float *d = row + (size_t)oh * ow;
                    int ih = oh * s - g->pad + ki;
                    if (ih < 0 || ih >= g->h) { memset(d, 0, sizeof(float) * (size_t)ow); continue; }
                    const float *src = x + ((size_t)c * g->h + ih) * g->w;
                    for (int o = 0; o < lo; o++) d[o] = 0.0f;
                    if (s == 1 && hi > lo)
                        memcpy(d + lo, src + lo + off, sizeof(float) * (size_t)(hi - lo));
                    else for (int o = lo; o < hi; o++) d[o] = src[o * s + off];
                    for (int o = hi; o < ow; o++) d[o] = 0.0f;
                }
            }
}

void nn_col2im_add(const nn_conv_geom *g, const float *col, size_t ld, float *dx)
{
    const int k = g->k, s = g->stride, ow = g->ow;
    for (int c = 0; c < g->c; c++)
        for (int ki = 0; ki < k; ki++)
            for (int kj = 0; kj < k; kj++) {
                const float *row = col + ((size_t)(c * k + ki) * k + kj) * ld;
                int lo, hi, off = kj - g->pad;
                valid_span(g, kj, &lo, &hi);
                for (int oh = 0; oh < g->oh; oh++) {
                    int ih = oh * s - g->pad + ki;
                    if (ih < 0 || ih >= g->h) continue;
                    const float *d = row + (size_t)oh * ow;
                    float *dst = dx + ((size_t)c * g->h + ih) * g->w;
                    for (int o = lo; o < hi; o++) dst[o * s + off] += d[o];
                }
            }
}
