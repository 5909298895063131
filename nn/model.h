/* The engine's model: a list of nodes in topological order, each naming its input nodes
 * (so residual networks need no special case). Parameters and their gradients live in one
 * contiguous buffer each; nodes hold views into them. */
#ifndef NN_MODEL_H
#define NN_MODEL_H
#include <stddef.h>
#include <stdint.h>
#include "nn/rng.h"

enum { NN_NAME_MAX = 32, NN_MAX_NODES = 256, NN_ERR_MAX = 256 };

typedef struct { int c, h, w; } nn_dims;           /* one sample's shape */
static inline size_t nn_dims_size(nn_dims d) { return (size_t)d.c * (size_t)d.h * (size_t)d.w; }

/* Layer kinds. Values are written to checkpoints: never renumber. */
typedef enum {
    NN_INPUT = 0, NN_CONV = 1, NN_LINEAR = 2, NN_MAXPOOL = 3, NN_AVGPOOL = 4, NN_GAP = 5,
    NN_BATCHNORM = 6, NN_RELU = 7, NN_HARDTANH = 8, NN_FLATTEN = 9, NN_ADD = 10,
    NN_EDGEBIAS = 11,           /* y = x + a per-channel bias that may differ near the border */
    NN_KIND_COUNT
} nn_kind;

/* How a weighted layer combines input and weights. */
typedef enum {
    NN_KERNEL_MAC = 0,      /* y = sum x*w (+b)                                         */
    NN_KERNEL_ADDER = 1,    /* AdderNet: y = -sum |x - w| (+b); grads: dW = x - w, dX = HT(w - x) */
    NN_KERNEL_COUNT
} nn_kernel;

typedef enum { NN_INIT_KAIMING_NORMAL = 0, NN_INIT_KAIMING_UNIFORM = 1,
               NN_INIT_GLOROT_NORMAL = 2, NN_INIT_GLOROT_UNIFORM = 3, NN_INIT_COUNT } nn_init;

typedef struct nn_node nn_node;
typedef struct nn_model nn_model;

/* The value set a method left a layer's weights in (its deployable form), recorded by the
 * method's finish so a model file, its loader's checks and the exporter can say it; the engine
 * computes with the floats either way. Values are written to model files: never renumber. */
typedef enum {
    NN_WFORM_DENSE = 0,      /* any float */
    NN_WFORM_BINARY = 1,     /* +-alpha per output filter (BWN, XNOR-Net) */
    NN_WFORM_TERNARY = 2,    /* {+wp, 0, -wn} per layer (TTQ) */
    NN_WFORM_POW2 = 3,       /* 0 or +-2^e, e in [e_min, e_max] (INQ, DeepShift) */
    NN_WFORM_CODEBOOK = 4,   /* at most 2^bits shared values on the mask's positions, stored with
                              * index_bits-bit relative indices (Deep Compression); index_bits 0:
                              * dense, a k-bit code at every position (DoReFa-Net, PACT, LSQ) */
    NN_WFORM_COUNT
} nn_wform_kind;

typedef struct nn_wform {
    nn_wform_kind kind;
    int e_min, e_max;        /* POW2 */
    int bits, index_bits;    /* CODEBOOK */
    float wp, wn;            /* TERNARY */
} nn_wform;

enum { NN_XT_ARGS = 3 };

/* A weight transform, installed by a method on a weighted layer: forward turns the latent
 * full-precision weights into the weights the layer computes with; backward turns the gradient
 * with respect to those effective weights into the gradient of the latent ones (g_w is
 * overwritten, not accumulated) and may record gradients of the transform's own parameters
 * in ctx (TTQ's scales, Deep Compression's centroids). */
typedef struct nn_wtransform {
    const char *name;
    void (*forward)(void *ctx, const nn_node *layer, const float *w, float *w_eff, size_t n);
    void (*backward)(void *ctx, const nn_node *layer, const float *w, const float *w_eff,
                     const float *g_eff, float *g_w, size_t n);
} nn_wtransform;

/* An input (activation) transform on a weighted layer, applied per sample: x has
 * per_sample values per sample; backward overwrites g_x from g_q (the gradient w.r.t. the
 * transformed input). NULL backward = identity (straight-through). */
typedef struct nn_xtransform {
    const char *name;
    void (*forward)(void *ctx, const nn_node *layer, const float *x, float *x_q,
                    size_t per_sample, int batch);
    void (*backward)(void *ctx, const nn_node *layer, const float *x, const float *x_q,
                     const float *g_q, float *g_x, size_t per_sample, int batch);
} nn_xtransform;

/* Batch norm's epsilon (PyTorch's): y = gamma (x - mean) / sqrt(var + NN_BN_EPS) + beta. */
#define NN_BN_EPS 1e-5

struct nn_node {
    nn_kind kind;
    char name[NN_NAME_MAX];
    int in[2], n_in;            /* producer node indices; -1 = the model's input */
    nn_dims in_dims, out_dims;  /* inferred when the model is built */

    /* hyper-parameters (those that apply to the kind) */
    int out_c;                  /* conv: output channels; linear: output features */
    int k, stride, pad;         /* conv / pooling window; edgebias: pad = border band width */
    int has_bias;
    float clip;                 /* hardtanh: clamp to [-clip, clip] */

    /* parameters: views into model->params / model->grads */
    float *w, *gw; size_t nw;   /* conv: out_c x in_c x k x k; linear: out x in; bn: gamma */
    float *b, *gb; size_t nb;   /* bias; bn: beta */
    float *run_mean, *run_var;  /* bn running statistics: views into model->state */
    size_t w_off, b_off;        /* offsets of w and b in model->params */

    /* compression attachments, installed by methods (weighted layers only) */
    uint8_t *mask;              /* nw entries, 1 = keep; NULL = dense. Owned by the model. */
    const nn_wtransform *wt; void *wt_ctx;
    const nn_xtransform *xt; void *xt_ctx;
    /* The input transform's parameters (DeepShift: integer and fractional bits), held by the
     * node rather than a method's context so that a model file can carry them. */
    float xt_arg[NN_XT_ARGS];
    nn_wform wform;             /* what value set w is in; DENSE unless a method finished it */
    nn_kernel kernel;
    int frozen;                 /* 1: optimizer leaves this layer's w alone */
    uint8_t *wfreeze;           /* nw entries, 1 = this weight is frozen (INQ); NULL = none. Owned by the model. */

    /* activations and scratch, sized for model->batch_cap samples */
    float *out, *dout;          /* dout: sized by the largest training forward so far */
    float *w_eff;               /* effective weights (= w when nothing is attached) */
    float *x_q;                 /* transformed input when xt is attached */
    void *cache;                /* layer-private saved state (bn batch stats, pool argmax) */
    /* Set by the backward driver for the call it makes: 1 = the gradient buffer of input j
     * holds nothing yet, so the layer writes it (=) instead of adding (+=). 0 otherwise. */
    uint8_t dx_fresh[2];
    /* Memory layout of out and dout (nn/layout.c decides): plain NCHW, or channel-blocked
     * (N, C/B, H, W, B) with B = nn_layout_block(), which oneDNN's convolutions read and write
     * without reordering. Only layers that can read it ever see a blocked input. */
    uint8_t layout;
    /* Inference override, for an executor of another form of the weights (runtime/): when set
     * and not training, the driver calls run instead of the kind's forward and before any weight
     * or input transform, with the raw inputs; it writes node->out (plain NCHW: the caller keeps
     * the model inspectable). The engine never sets it. */
    void (*run)(void *ctx, nn_model *m, nn_node *n, const float *x0, const float *x1, int batch);
    void *run_ctx;
};

enum { NN_LAYOUT_PLAIN = 0, NN_LAYOUT_BLOCKED = 1 };

struct nn_model {
    char arch[NN_NAME_MAX];
    nn_dims in_dims;
    int n_classes;
    int n_nodes;
    nn_node nodes[NN_MAX_NODES];
    float *params, *grads; size_t n_params;   /* one contiguous buffer each */
    float *state; size_t n_state;             /* bn running statistics */
    uint8_t *decay;                            /* n_params entries: 1 = weight decay applies */
    int batch_cap;
    float *ws; size_t ws_len;                  /* one reused workspace (im2col etc.) */
    int threads;
    /* Weight of the batch's statistics in the bn running ones at the next training forward;
     * 0 = PyTorch's 0.1. 1/k at the k-th batch makes them the mean over k batches (recalibration). */
    double bn_momentum;
};

/* --- building ------------------------------------------------------------------------- */
/* Architectures are rows of a table (nn/arch.c). Returns NULL with a message in err. */
nn_model *nn_model_create(const char *arch, nn_dims in, int n_classes, char *err, size_t errlen);
/* The same, refused before any parameter memory is allocated when the network would have more
 * than max_params parameters (for sizes read from a file). */
nn_model *nn_model_create_capped(const char *arch, nn_dims in, int n_classes, size_t max_params, char *err,
                                 size_t errlen);
int  nn_arch_count(void);
const char *nn_arch_name(int i);
const char *nn_arch_help(int i);

/* Lower-level builder used by the architecture table and by tests. Each add returns the new
 * node's index, or -1 (message in the builder) on a shape error. */
typedef struct nn_builder nn_builder;
nn_builder *nn_builder_new(const char *arch, nn_dims in, int n_classes);
int nn_add_conv(nn_builder *, const char *name, int in, int out_c, int k, int stride, int pad, int bias);
int nn_add_linear(nn_builder *, const char *name, int in, int out_f, int bias);
int nn_add_maxpool(nn_builder *, const char *name, int in, int k, int stride);
int nn_add_avgpool(nn_builder *, const char *name, int in, int k, int stride);
int nn_add_gap(nn_builder *, const char *name, int in);
int nn_add_bn(nn_builder *, const char *name, int in);
int nn_add_relu(nn_builder *, const char *name, int in);
int nn_add_hardtanh(nn_builder *, const char *name, int in, float clip);
int nn_add_flatten(nn_builder *, const char *name, int in);
int nn_add_add(nn_builder *, const char *name, int a, int b);
/* y = x + b[c, row class, column class]: the `edge` rows nearest the top each have their own
 * class, as do the `edge` nearest the bottom, and the rows between share one (columns alike),
 * so b has c x (2 edge + 1)^2 values (fewer on small maps); edge 0 is a per-channel bias. What a
 * constant input channel contributes through a conv zero-padded by `edge` has this form. */
int nn_add_edgebias(nn_builder *, const char *name, int in, int edge);
/* A node of t's kind, name and hyper-parameters (those that apply to the kind) reading in0
 * (and in1 for an addition), through the nn_add_* call of that kind, so its checks apply. */
int nn_add_like(nn_builder *, const nn_node *t, int in0, int in1);
/* The model being built: nodes so far with inferred shapes and parameter counts (nw, nb),
 * no buffers yet. Lets a caller bound what nn_builder_finish would allocate. */
const nn_model *nn_builder_model(const nn_builder *);
/* Finishes the model (allocates buffers); the last node is the output. Frees the builder. */
/* Makes nn_builder_finish fail, before allocating, beyond max_params parameters (0: no limit). */
void nn_builder_cap(nn_builder *, size_t max_params);
nn_model *nn_builder_finish(nn_builder *, char *err, size_t errlen);
void nn_builder_free(nn_builder *);

void nn_model_free(nn_model *);
/* Initialise all parameters (weights by scheme, biases 0, bn gamma 1 beta 0, stats 0/1). */
void nn_model_init(nn_model *, nn_init scheme, nn_rng *rng);
/* A weighted layer's fans: inputs and outputs per weight (times k*k for a conv). */
void nn_node_fans(const nn_node *, double *fan_in, double *fan_out);
/* Grow activation buffers to hold `batch` samples (no-op when large enough). 0 = ok. */
int  nn_model_reserve(nn_model *, int batch);
/* Frees every per-batch buffer (activations, gradients, workspaces, convolution plans); the
 * parameters stay and the next pass grows what it needs again. For a model done training whose
 * process goes on to other work (a run's packed-model check loads two more models). */
void nn_model_release(nn_model *);
void nn_model_set_threads(nn_model *, int threads);
/* Convolutions run through oneDNN where it has an implementation (the default), or always
 * through the engine's own im2col + GEMM path (gemm_only = 1: benchmarks' baseline, tests). */
void nn_model_set_conv_gemm_only(nn_model *, int gemm_only);
/* The convolution library and the instruction set it runs on here ("oneDNN 2.6.0, avx512_core"):
 * its kernels, and so a run's last bits, differ between instruction sets. */
void nn_backend_describe(char *out, size_t len);
/* By default activations may live in a channel-blocked layout and gradient buffers are shared
 * between nodes whose lifetimes do not overlap, so node->out / node->dout are not readable as
 * NCHW after a pass. on = 1 keeps every activation plain NCHW and gives every node its own
 * gradient buffer (slower, more memory): for callers that read them (tests, surgery). */
void nn_model_set_inspectable(nn_model *, int on);
/* For a model that will only be evaluated (a loaded model.h5, a packed model): node outputs
 * share buffers whose lifetimes do not overlap, so a pass needs a few activations' memory
 * instead of every node's (ResNet-20 at batch 128: 247 MiB of outputs). A training forward
 * on it is refused (returns NULL), and a node's output is gone once its last reader ran: not for
 * callers that read activations after a pass. Layouts stay as set_inspectable says. */
void nn_model_set_inference_only(nn_model *);
nn_model *nn_model_clone(const nn_model *);        /* same structure, params, state, masks */

/* --- running -------------------------------------------------------------------------- */
/* x: batch samples of in_dims, float. train=1 uses batch statistics and updates running ones. */
const float *nn_forward(nn_model *, const float *x, int batch, int train);
void nn_zero_grad(nn_model *);
/* dlogits: batch x n_classes. Accumulates into model->grads; masks the gradients of pruned
 * and frozen weights. Must follow nn_forward(train=1) on the same batch. */
void nn_backward(nn_model *, const float *dlogits, int batch);
/* Re-applies masks to latent weights (after an optimizer step). */
void nn_apply_masks(nn_model *);

/* Inference batch norm as a per-channel affine y = x scale[c] + shift[c] (bn's running statistics),
 * the numbers the engine's inference forward computes with. */
void nn_bn_affine(const nn_node *bn, float *scale, float *shift);

/* Re-estimates every batch norm's running statistics as their mean over batches 0..batches-1
 * of a training forward (weights untouched); batch_at writes batch i into x and returns its
 * size (0: no more). For networks changed after their statistics were measured. */
void nn_bn_recalibrate(nn_model *, int (*batch_at)(void *ctx, long i, float *x), void *ctx, int batches);

/* --- queries -------------------------------------------------------------------------- */
static inline int nn_is_weighted(const nn_node *n) { return n->kind == NN_CONV || n->kind == NN_LINEAR; }
const char *nn_kind_name(nn_kind);
size_t nn_count_weights(const nn_model *);          /* weights of conv/linear layers */
size_t nn_count_nonzero(const nn_model *);          /* nonzero effective weights of conv/linear */
/* Multiply-accumulates of one sample's forward pass through a layer (dense). */
double nn_node_macs(const nn_node *);
uint8_t *nn_node_mask(nn_model *, nn_node *);        /* the node's mask, created all-ones on first use */
uint8_t *nn_node_wfreeze(nn_model *, nn_node *);     /* the node's wfreeze, created all-zero on first use */

#endif
