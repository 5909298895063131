/* Internal: the driver's private view of a model. Every nn_model is allocated as the first
 * member of an nn_model_priv (by nn_builder_finish or nn_model_clone), so the two pointers
 * convert both ways. Holds the scratch the public struct has no room for. */
#ifndef NN_MODEL_PRIV_H
#define NN_MODEL_PRIV_H
#include "nn/model.h"

typedef struct nn_model_priv {
    nn_model pub;                        /* must stay first */
    float *weff_buf;                     /* own effective weights of all weighted nodes */
    float *weff_own[NN_MAX_NODES];       /* each weighted node's slice of weff_buf */
    float *geff; size_t geff_len;        /* scratch d(w_eff) while a weight transform maps it */
    void *arena;                         /* out, cache and ws for batch_cap samples */
    /* Gradient buffers are sized by the largest training batch, not by batch_cap (which an
     * evaluation batch may raise): dout of every node and xin. */
    void *grad_arena; int grad_cap;
    float *xin;                          /* copy of the training batch for the backward pass */
    int xq_cap[NN_MAX_NODES];            /* samples node->x_q can hold */
    float *gq, *gx; size_t gq_len;       /* input-transform backward scratch */
    struct nn_onednn *onednn;            /* convolution plans, built on first use (not cloned) */
    void (*onednn_free)(struct nn_onednn *);   /* set with it by nn/conv_onednn.c */
    int conv_gemm_only;                  /* 1: conv runs im2col + GEMM, never oneDNN */
    int inspectable;                     /* 1: plain layouts, a dout per node (see model.h) */
    int inference_only;                  /* 1: outputs share buffers by lifetime; no training pass */
    uint64_t layout_sig;                 /* what the current layouts were decided from */
    int layout_gen;                      /* bumped whenever layouts change (plans rebuild) */
} nn_model_priv;

static inline nn_model_priv *nn_priv(nn_model *m) { return (nn_model_priv *)m; }

/* Grows the gradient buffers (node->dout, xin) to `batch` samples. 0 = ok. */
int nn_reserve_grads(nn_model *m, int batch);

/* 64-byte aligned allocation of at least `bytes` (NULL on failure); free with free(). */
void *nn_alloc_aligned(size_t bytes);

#endif
