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

/* Short rows (a feature map's width, 8 to 32 floats): moved in 8-float vectors (the copy's last
 * one overlapping). GCC's loop distribution, which would make each row's copy a memmove call,
 * is off for this file (CMakeLists.txt). */
typedef float f8 __attribute__((vector_size(32), aligned(4), may_alias));

static inline void copy_s1(float *restrict d, const float *restrict src, int n)
{
    if (n < 8) {
        for (int o = 0; o < n; o++) d[o] = src[o];
        return;
    }
    int o = 0;
    for (; o + 8 <= n; o += 8) *(f8 *)(d + o) = *(const f8 *)(src + o);
    if (o < n) *(f8 *)(d + n - 8) = *(const f8 *)(src + n - 8);
}
static inline void add_s1(float *restrict dst, const float *restrict d, int n)
{
    int o = 0;
    for (; o + 8 <= n; o += 8) *(f8 *)(dst + o) += *(const f8 *)(d + o);
    for (; o < n; o++) dst[o] += d[o];
}

void nn_im2col(const nn_conv_geom *g, const float *x, float *col, size_t ld)
{
    const int k = g->k, s = g->stride, ow = g->ow;
    if (s == 1 && g->pad == 0) {    /* every read is inside: no bounds, no zero fill */
        for (int c = 0; c < g->c; c++)
            for (int ki = 0; ki < k; ki++)
                for (int kj = 0; kj < k; kj++) {
                    float *row = col + ((size_t)(c * k + ki) * k + kj) * ld;
                    const float *src = x + ((size_t)c * g->h + ki) * g->w + kj;
                    for (int oh = 0; oh < g->oh; oh++)
                        copy_s1(row + (size_t)oh * ow, src + (size_t)oh * g->w, ow);
                }
        return;
    }
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
                    if (s == 1) copy_s1(d + lo, src + lo + off, hi - lo);
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
                    if (s == 1) add_s1(dst + lo + off, d + lo, hi - lo);
                    else for (int o = lo; o < hi; o++) dst[o * s + off] += d[o];
                }
            }
}

void nn_pad_copy(const nn_conv_geom *g, const float *x, float *xp)
{
    const size_t hp = nn_conv_wide_hp(g), wp = nn_conv_wide_wp(g), p = (size_t)g->pad;
    for (int c = 0; c < g->c; c++) {
        float *plane = xp + (size_t)c * hp * wp;
        memset(plane, 0, sizeof(float) * p * wp);
        for (int h = 0; h < g->h; h++) {
            float *row = plane + (p + (size_t)h) * wp;
            for (size_t j = 0; j < p; j++) row[j] = row[p + (size_t)g->w + j] = 0.0f;
            memcpy(row + p, x + ((size_t)c * g->h + h) * g->w, sizeof(float) * (size_t)g->w);
        }
        memset(plane + (p + (size_t)g->h) * wp, 0, sizeof(float) * p * wp);
    }
}

void nn_unpad_add(const nn_conv_geom *g, const float *dxp, float *dx)
{
    const size_t hp = nn_conv_wide_hp(g), wp = nn_conv_wide_wp(g), p = (size_t)g->pad;
    for (int c = 0; c < g->c; c++)
        for (int h = 0; h < g->h; h++)
            add_s1(dx + ((size_t)c * g->h + h) * g->w, dxp + ((size_t)c * hp + p + (size_t)h) * wp + p, g->w);
}

void nn_im2col_wide(const nn_conv_geom *g, const float *xp, float *col, size_t ld)
{
    const size_t hp = nn_conv_wide_hp(g), wp = nn_conv_wide_wp(g), k = (size_t)g->k;
    const size_t cols = nn_conv_wide_cols(g), len = cols - (wp - (size_t)g->ow);  /* last junk run would overrun */
    for (size_t c = 0; c < (size_t)g->c; c++)
        for (size_t ki = 0; ki < k; ki++)
            for (size_t kj = 0; kj < k; kj++) {
                float *row = col + ((c * k + ki) * k + kj) * ld;
                memcpy(row, xp + c * hp * wp + ki * wp + kj, sizeof(float) * len);
                memset(row + len, 0, sizeof(float) * (cols - len));
            }
}

void nn_col2im_wide_add(const nn_conv_geom *g, const float *col, size_t ld, float *dxp)
{
    const size_t hp = nn_conv_wide_hp(g), wp = nn_conv_wide_wp(g), k = (size_t)g->k;
    const size_t len = nn_conv_wide_cols(g) - (wp - (size_t)g->ow);
    for (size_t c = 0; c < (size_t)g->c; c++)
        for (size_t ki = 0; ki < k; ki++)
            for (size_t kj = 0; kj < k; kj++)
                add_s1(dxp + c * hp * wp + ki * wp + kj, col + ((c * k + ki) * k + kj) * ld, (int)len);
}
