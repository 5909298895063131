/* Internal: the functions behind each row of nn_layer_table (nn/layers.c), one file per kind,
 * plus small helpers they share. Not part of the engine's public contract. */
#ifndef NN_LAYER_KINDS_H
#define NN_LAYER_KINDS_H
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "nn/layer.h"

/* Threads the layer kernels may use: the model's setting, or OpenMP's default. */
int nn_layer_threads(const nn_model *m);
/* The engine parallelizes with OpenMP and calls BLAS from inside its parallel regions, so
 * BLAS itself must run single-threaded (a threaded OpenBLAS called from several threads at
 * once oversubscribes the cores). GEMM-calling layers call this first; cheap when already set. */
void nn_blas_serial(void);
/* Threads a workspace is sized for (kernels never use more than fit in model->ws). */
int nn_layer_ws_threads(void);
/* snprintf into err, prefixed with the node's name; returns -1 for `return nn_layer_fail(...)`. */
int nn_layer_fail(const nn_node *n, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Every infer's first check: the input has a positive size in every dimension. */
int nn_layer_check_input(const nn_node *n, char *err, size_t errlen);
/* Infer for layers whose output has the input's shape and no parameters (relu, input, ...). */
int nn_layer_same_shape(nn_node *n, char *err, size_t errlen);

/* Backward writes or adds (node->dx_fresh): kinds that scatter into dx (pooling, im2col,
 * GEMM with accumulation) zero a fresh buffer first with this, then add as usual. */
static inline void nn_dx_begin(const nn_node *n, int j, float *dx, size_t len)
{
    if (dx && n->dx_fresh[j]) memset(dx, 0, len * sizeof(float));
}

/* Activation layouts (nn/layout.c). The channel block size B of NN_LAYOUT_BLOCKED (16 where
 * the CPU has AVX-512, else 8); the layout of node n's input j; re-deciding the layouts when
 * the model's attachments changed (nn_forward calls it first). */
int  nn_layout_block(void);
int  nn_input_layout(const nn_model *m, const nn_node *n, int j);
void nn_layouts_update(nn_model *m);
/* Whether conv node n runs through oneDNN (nn/conv.c): only those read and write blocked. */
int  nn_conv_onednn_eligible(const nn_model *m, const nn_node *n);

/* dx (=|+=) g over len values, split over the model's threads. */
void nn_dx_put(const nn_model *m, int fresh, float *dx, const float *g, size_t len);

#define NN_KIND_FNS(p)                                                                       \
    int p##_infer(nn_node *, char *, size_t);                                                \
    void p##_forward(nn_model *, nn_node *, const float *, const float *, int, int);         \
    void p##_backward(nn_model *, nn_node *, const float *, const float *, float *, float *, int);

NN_KIND_FNS(nn_input)
NN_KIND_FNS(nn_conv)
NN_KIND_FNS(nn_linear)
NN_KIND_FNS(nn_maxpool)
NN_KIND_FNS(nn_avgpool)
NN_KIND_FNS(nn_gap)
NN_KIND_FNS(nn_bn)
NN_KIND_FNS(nn_relu)
NN_KIND_FNS(nn_hardtanh)
NN_KIND_FNS(nn_flatten)
NN_KIND_FNS(nn_add)
NN_KIND_FNS(nn_edgebias)
#undef NN_KIND_FNS

size_t nn_conv_ws_floats(const nn_node *, int batch);
size_t nn_maxpool_cache_bytes(const nn_node *, int batch);
size_t nn_bn_cache_bytes(const nn_node *, int batch);

/* AdderNet kernels (nn/adder.c), called by conv and linear when node->kernel is ADDER. */
void nn_adder_conv_forward(nn_model *, nn_node *, const float *x, int batch);
void nn_adder_conv_backward(nn_model *, nn_node *, const float *x, float *dx, int batch);
size_t nn_adder_conv_ws_floats(const nn_node *, int batch);
void nn_adder_linear_forward(nn_model *, nn_node *, const float *x, int batch);
void nn_adder_linear_backward(nn_model *, nn_node *, const float *x, float *dx, int batch);

#endif
