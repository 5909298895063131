/* Test fixture for the quantization methods: tiny models built through the engine's builder
 * and a minimal copy of the runner's loop (hooks in the runner's order) on synthetic data. */
#ifndef TESTS_SUPPORT_QUANT_FIXTURE_H
#define TESTS_SUPPORT_QUANT_FIXTURE_H
#include "methods/method.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    QF_BN_CNN = 0,     /* conv -> bn -> conv -> relu -> pool -> bn -> conv -> relu -> flatten -> linear */
    QF_RELU_CNN = 1,   /* conv -> relu -> conv -> relu -> pool -> flatten -> linear */
    QF_MLP = 2,        /* flatten -> linear -> relu -> linear -> relu -> linear */
} qf_arch;

typedef struct qf {
    mt_run run;
    nn_optim optim;
    nn_rng rng;
    const method *m;
    unsigned char config[1024];
    void *state;
    int batch;
    float *x; unsigned char *y;      /* one fixed synthetic batch */
    char err[512];
} qf;

nn_model *qf_model(qf_arch, unsigned seed);
/* Builds the model, parses the given "key", "value" pairs (NULL-terminated) over the method's
 * defaults, runs check and setup. 0 = ok, else the message is in f->err. */
int  qf_start(qf *f, const method *m, qf_arch arch, nn_optim_kind opt, const char *const *kv);
/* One round as the runner runs it, with `steps` optimizer steps at learning rate lr. */
void qf_round(qf *f, int steps, float lr);
/* The model's node of that name, NULL if none. */
nn_node *qf_node(qf *f, const char *name);
/* Finish (deployable form), then free state, model, optimizer and data. */
int  qf_finish(qf *f);
void qf_free(qf *f);
/* Parse key = value into a zeroed config of the method (defaults first), then run its check. */
int  qf_parse(const method *m, const char *key, const char *value, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
