/* Patch extraction for convolutions: im2col lays out each output pixel's receptive field as
 * one column, so a convolution becomes a GEMM; col2im scatters column gradients back. */
#ifndef NN_IM2COL_H
#define NN_IM2COL_H
#include <stddef.h>
#include "nn/model.h"

typedef struct nn_conv_geom {
    int c, h, w;        /* input plane */
    int k, stride, pad;
    int oh, ow;         /* output plane */
} nn_conv_geom;

nn_conv_geom nn_conv_geom_of(const nn_node *n);
static inline size_t nn_conv_geom_rows(const nn_conv_geom *g) { return (size_t)g->c * g->k * g->k; }
static inline size_t nn_conv_geom_cols(const nn_conv_geom *g) { return (size_t)g->oh * g->ow; }
/* 1x1, stride 1, no padding: the input already is its own column matrix. */
static inline int nn_conv_geom_trivial(const nn_conv_geom *g)
{ return g->k == 1 && g->stride == 1 && g->pad == 0; }

/* x: one sample (c x h x w). col: rows (c*k*k) of oh*ow values, row i at col + i*ld. */
void nn_im2col(const nn_conv_geom *g, const float *x, float *col, size_t ld);
/* dx += the column gradient scattered back to the input positions it was read from. */
void nn_col2im_add(const nn_conv_geom *g, const float *col, size_t ld, float *dx);

/* Stride-1 "wide" columns: with the input zero-padded to hp x wp (wp = w + 2*pad), column q
 * of the wide matrix is output pixel (q / wp, q % wp); pixels with q % wp >= ow are junk
 * that callers drop. Each row is then one contiguous run of the padded input, so extraction
 * is k*k*c long copies instead of many short ones. */
static inline int nn_conv_geom_wide_ok(const nn_conv_geom *g) { return g->stride == 1 && g->k > 1; }
static inline size_t nn_conv_wide_hp(const nn_conv_geom *g) { return (size_t)g->h + 2 * (size_t)g->pad; }
static inline size_t nn_conv_wide_wp(const nn_conv_geom *g) { return (size_t)g->w + 2 * (size_t)g->pad; }
static inline size_t nn_conv_wide_cols(const nn_conv_geom *g) { return (size_t)g->oh * nn_conv_wide_wp(g); }
/* xp (c x hp x wp) = x zero-padded. */
void nn_pad_copy(const nn_conv_geom *g, const float *x, float *xp);
/* dx += the interior of dxp. */
void nn_unpad_add(const nn_conv_geom *g, const float *dxp, float *dx);
void nn_im2col_wide(const nn_conv_geom *g, const float *xp, float *col, size_t ld);
void nn_col2im_wide_add(const nn_conv_geom *g, const float *col, size_t ld, float *dxp);

#endif
