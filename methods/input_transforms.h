/* The input transforms a model file can name: one row per transform, indexed by the code the
 * file stores, with the transform a loaded model gets back and the range of each of its
 * parameters (node->xt_arg). A method that binarizes or rounds a layer's input installs its
 * transform through this table's row, so whatever a run trained with, its model file can say. */
#ifndef METHODS_INPUT_TRANSFORMS_H
#define METHODS_INPUT_TRANSFORMS_H
#include <stddef.h>
#include "nn/model.h"

/* Values are written to model files: never renumber. */
typedef enum {
    MT_XT_NONE = 0,
    MT_XT_SIGN_MEAN = 1,     /* XNOR-Net: x_q = K sign(x), K = mean |x| of the sample */
    MT_XT_FIXED_POINT = 2,   /* DeepShift: round to int_bits.frac_bits fixed point, saturating */
    MT_XT_SIGN = 3,          /* BNN: x_q = sign(x), no scale */
    MT_XT_UNIT_UNIFORM = 4,  /* DoReFa-Net: x_q = round(clip(x, 0, 1) (2^bits - 1)) / (2^bits - 1) */
    MT_XT_PACT = 5,          /* PACT: k-bit uniform on [0, alpha], alpha learned */
    MT_XT_LSQ = 6,           /* LSQ: x_q = s round(clip(x / s, 0, 2^bits - 1)), s learned */
    MT_XT_UNIFORM = 7,       /* post-training quantization: uniform affine to `bits` over [lo, hi] */
    MT_XT_COUNT
} mt_xt_kind;

typedef struct mt_xt_row {
    const char *name;
    const nn_xtransform *xt;            /* NULL for MT_XT_NONE */
    int n_args;                         /* leading entries of node->xt_arg in use */
    const char *arg_name[NN_XT_ARGS];
    /* whole numbers in [lo, hi]; a real argument (a learned clip or step) is finite in (lo, hi] */
    float arg_lo[NN_XT_ARGS], arg_hi[NN_XT_ARGS];
    unsigned char arg_real[NN_XT_ARGS];
} mt_xt_row;

extern const mt_xt_row mt_xt_table[MT_XT_COUNT];

/* The transforms themselves (methods/xnor.c, deepshift.c, bnn.c, dorefa.c, pact.c, lsq.c, ptq.c). */
extern const nn_xtransform mt_xt_sign_mean, mt_xt_fixed_point, mt_xt_sign, mt_xt_unit_uniform, mt_xt_pact,
    mt_xt_lsq, mt_xt_uniform;

/* XNOR-Net's K of one sample of n inputs (mean |x|, summed in double): what mt_xt_sign_mean
 * scales sign(x) by, and what the packed runtime multiplies its popcounts by, so both are the
 * same bits. */
float mt_xnor_scale(const float *x, size_t n);

/* The row of node n's transform: MT_XT_NONE without one, -1 for one the table does not know. */
int mt_xt_kind_of(const nn_node *n);
/* Attaches transform `kind` with its parameters to weighted node n after checking them
 * (xt_ctx is left NULL: a method that learns a parameter sets its own context afterwards).
 * 0, or -1 with "<arg name>: <value> ... (allowed lo..hi)" in why. */
int mt_xt_install(nn_node *n, int kind, const float *args, char *why, size_t whylen);

#endif
