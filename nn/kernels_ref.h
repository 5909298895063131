/* Plain scalar reference twins of the fast conv / linear kernels (MAC and AdderNet), written
 * straight from the definitions. Tests hold the fast kernels to these. */
#ifndef NN_KERNELS_REF_H
#define NN_KERNELS_REF_H
#include "nn/model.h"

typedef struct nn_ref_conv {
    int n, c, h, w;         /* input batch and plane */
    int o, k, stride, pad;  /* filters */
    nn_kernel kernel;
} nn_ref_conv;

int nn_ref_conv_out(int in, int k, int stride, int pad);
/* y (n x o x oh x ow) = conv(x, w) + b (b may be NULL). */
void nn_ref_conv_forward(const nn_ref_conv *s, const float *x, const float *w, const float *b, float *y);
/* Accumulates dw, db (may be NULL), dx (may be NULL). MAC: true derivatives; ADDER: the
 * AdderNet gradients dW = (x - w) dy, dX = HT(w - x) dy. */
void nn_ref_conv_backward(const nn_ref_conv *s, const float *x, const float *w, const float *dy,
                          float *dx, float *dw, float *db);

/* Linear over n samples of `in` features to `out` features; w is out x in. */
void nn_ref_linear_forward(int n, int in, int out, nn_kernel kernel, const float *x,
                           const float *w, const float *b, float *y);
void nn_ref_linear_backward(int n, int in, int out, nn_kernel kernel, const float *x,
                            const float *w, const float *dy, float *dx, float *dw, float *db);

#endif
