/* A tiny stand-in for the runner, for method tests: a small model built with nn_builder, a
 * synthetic dataset held in memory, and the runner's loop (docs/ARCHITECTURE.md) calling the method's hooks
 * (rounds, epochs, batches, evaluate, replace_model, finish, account). No files, no datasets. */
#ifndef TESTS_METHOD_FIXTURE_H
#define TESTS_METHOD_FIXTURE_H
#include "methods/method.h"
#include "nn/optim.h"
#ifdef __cplusplus
extern "C" {
#endif

typedef struct mf_fixture mf_fixture;
/* Called after each hook with its name ("setup", "round_begin", "epoch_end", "round_end",
 * "finish"), and with "epoch_trained" after an epoch's batches, before epoch_end, so tests can
 * look at the model between steps. */
typedef void (*mf_observer)(mf_fixture *, const char *event, void *user);

struct mf_fixture {
    mt_run run;
    nn_optim optim;
    nn_rng rng;
    const method *m;
    void *config, *state;
    int n_train, n_test, batch, epochs;
    float *xtr, *xte;
    uint8_t *ytr, *yte;
    double lr;                  /* constant schedule */
    nn_optim_kind opt_kind;
    float momentum, weight_decay;
    char dir[256];              /* run_dir: a fresh temporary folder */
    mf_observer observe; void *user;
    mt_footprint fp;
    double final_acc;
    int evaluations;            /* calls of run.evaluate */
};

/* Models: "mlp" (1x8x8: fc24-fc16-fc4), "lenet" (1x14x14: conv6k3-pool-conv8k3-pool-fc16-fc4,
 * biased, no BN), "resblock" (3x8x8: conv4-bn-relu, one basic block of 4 channels, gap, fc), or
 * any architecture of nn/arch.c (3x32x32 input for resnet*, vgg*, conv*, else 1x28x28; 10
 * classes; the data's labels stay below 4). Initialised with Kaiming normal from seed. NULL
 * with a message on failure. */
nn_model *mf_build(const char *kind, uint64_t seed, char *err, size_t errlen);

/* Builds the model and data, parses kv ("key", "value", ..., NULL) over the method's defaults
 * and runs its check. 0 = ok. */
int mf_open(mf_fixture *, const char *model_kind, const method *, const char *const *kv,
            uint64_t seed, char *err, size_t errlen);
/* Plain training without the method (a stand-in for the pretrained baseline). */
void mf_pretrain(mf_fixture *, int epochs);
int mf_setup(mf_fixture *, char *err, size_t errlen);
void mf_train(mf_fixture *);                          /* all rounds */
int mf_finish(mf_fixture *, char *err, size_t errlen); /* finish, final evaluation, account */
int mf_run(mf_fixture *, char *err, size_t errlen);    /* setup + train + finish */
double mf_evaluate(mf_fixture *, nn_model *, double *loss);
/* Every batch norm's scale, shift and running statistics away from their initial 1/0/0/1, so
 * that a silent channel carries a real constant and folding has something to fold: scales in
 * [0.5, 1.5), or with MF_BN_SIGNED_SCALES normal with every 7th exactly 0 (Slimming ranks by
 * |scale|); shifts N(0, 0.6), means N(0, 0.3), variances in [0.5, 1.5). */
enum { MF_BN_POSITIVE_SCALES = 0, MF_BN_SIGNED_SCALES = 1 };
void mf_randomize_bn(nn_model *, uint64_t seed, int scales);
void mf_close(mf_fixture *);                           /* frees everything, removes dir */

#ifdef __cplusplus
}
#endif
#endif
