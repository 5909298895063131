/* Optimizers over the model's one contiguous parameter buffer. */
#ifndef NN_OPTIM_H
#define NN_OPTIM_H
#include "nn/model.h"

typedef enum { NN_SGD = 0, NN_ADAM = 1, NN_OPTIM_COUNT } nn_optim_kind;

typedef struct nn_optim {
    nn_optim_kind kind;
    float momentum;          /* SGD */
    int nesterov;            /* SGD */
    float beta1, beta2, eps; /* Adam */
    float weight_decay;      /* L2, applied where model->decay is 1 */
    float *m, *v;            /* state, n_params each */
    size_t n;
    long step;
} nn_optim;

int  nn_optim_init(nn_optim *, nn_optim_kind, const nn_model *);   /* 0 = ok */
void nn_optim_reset(nn_optim *);                                    /* zero the state */
void nn_optim_free(nn_optim *);
/* One step with learning rate lr; skips frozen layers and frozen weights, then re-applies masks. */
void nn_optim_step(nn_optim *, nn_model *, float lr);

#endif
