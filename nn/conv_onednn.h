/* Internal: convolution through oneDNN (nn/conv_onednn.c), used by nn/conv.c for the
 * multiply-accumulate kernel. Both calls return 0 when they did the work, -1 (having written
 * nothing) when oneDNN offers no implementation or memory ran out: conv.c then runs its own
 * im2col + GEMM path. Same contract as the layer table: out is written, dx/gw/gb accumulate. */
#ifndef NN_CONV_ONEDNN_H
#define NN_CONV_ONEDNN_H
#include "nn/model.h"

typedef struct nn_onednn nn_onednn;     /* per-model engine, stream, plans and scratch */

int  nn_onednn_conv_forward(nn_model *m, nn_node *n, const float *x, int batch);
int  nn_onednn_conv_backward(nn_model *m, nn_node *n, const float *x, float *dx, int batch);
void nn_onednn_free(nn_onednn *);

#endif
