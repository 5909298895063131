/* The method plugin interface. A method is one file in methods/ plus one row in the registry
 * (methods/registry.c). It declares its options (validated by the config loader like every other
 * key), and hooks the ordinary training loop through lifecycle callbacks; it never owns a loop.
 *
 * A run is a sequence of rounds; each round is an ordinary training schedule (epochs, LR schedule
 * from its start). Most methods use one round. Iterative ones (Deep Compression's prune/quantize
 * stages, INQ's partitions, Lottery Ticket's prune-and-rewind) ask for several and change the
 * model between them. All hooks are optional (NULL = nothing to do). */
#ifndef METHODS_METHOD_H
#define METHODS_METHOD_H
#include <stdio.h>
#include "nn/model.h"
#include "nn/optim.h"
#include "base/option.h"

enum { MT_MAX_LAYERS = 128, MT_MAX_EXTRAS = 64 };

/* What a method sees of the run. The runner owns it. */
typedef struct mt_run {
    nn_model *model;
    nn_optim *optim;
    nn_rng *rng;                 /* seeded from the run's seed, for the method's own draws */
    const char *run_dir;         /* the run's output folder (method may write files there) */
    FILE *log;                   /* progress log (stdout); methods print one-line notes here */
    int epochs;                  /* configured epochs per round ([train] epochs) */
    int n_rounds;                /* set by setup (default 1) */
    int round, epoch;            /* current position */
    long step;                   /* optimizer steps taken in this round */
    long steps_per_epoch;
    /* The current round's plan; round_begin may change it. */
    int round_epochs;            /* default: epochs */
    double lr_scale;             /* multiplies the schedule's LR; default 1 */
    double lr;                   /* LR of the current step (schedule x lr_scale), set by the
                                  * runner before after_backward (e.g. DC's centroid update) */
    int reset_optimizer;         /* 1 (default): zero momentum/Adam state at round start */
    /* Model evaluation the method may call (e.g. SFP comparing masked vs. pruned model):
     * returns top-1 accuracy in % on the test split, and mean loss in *loss if non-NULL. */
    double (*evaluate)(struct mt_run *, nn_model *, double *loss);
    /* Training images for calibration (post-training quantization): batch i (0-based) of the
     * training split in a fixed order (the seed's shuffle, no augmentation), normalised as in
     * training. Returns the number of images (at most the [train] batch) written to x, which
     * holds batch x in_dims floats, or 0 past the end of the split. */
    int (*train_batch)(struct mt_run *, long i, float *x);
    int batch;                   /* [train] batch */
    /* Re-estimates every batch norm's running statistics as their mean over `batches`
     * training batches drawn as training draws them (its augmentation and Cutout: the weights
     * learned against those statistics), weights untouched: for a method that changes the
     * network between training and evaluation (SFP zeroing filters). */
    void (*recalibrate_bn)(struct mt_run *, int batches);
    /* Replaces the run's model (e.g. after SFP removes filters). Takes ownership. */
    void (*replace_model)(struct mt_run *, nn_model *);
    /* Last finished round's results, filled by the runner before round_end. */
    double round_test_acc, round_best_acc, round_min_val_loss;
    int round_best_epoch, round_min_val_epoch;
    void *runner;                /* opaque */
} mt_run;

/* A method's own state across an interruption (harness run --resume). The checkpoint already
 * holds the model: its latent parameters, batch-norm statistics, masks, freeze flags, kernels,
 * frozen flags and input transforms with their arguments. What a method keeps beyond that (TTQ's
 * Wp/Wn and their optimizer moments, Deep Compression's codebooks, Lottery Ticket's rewind
 * point) it names array by array in its `checkpoint` hook, which the runner calls once to save
 * (into the checkpoint's /method group, written with the model, atomically) and once to load,
 * after a fresh setup on the same starting model. Each call of `array` either writes v[0..n) or
 * fills it; a load fails (-1, the message kept by the runner) when the array is missing or has
 * another length. */
typedef enum { MT_F32, MT_F64, MT_I32, MT_I64, MT_U8 } mt_elem;

typedef struct mt_ckpt {
    int loading;                 /* 0: save the arrays; 1: fill them from the checkpoint */
    int (*array)(struct mt_ckpt *, const char *name, mt_elem, void *v, size_t n);
    void *ctx;                   /* the runner's */
} mt_ckpt;

/* io->array with a printf-formatted name (per-layer names: "%s.scale", node->name). */
int mt_ckpt_array(mt_ckpt *io, mt_elem type, void *v, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Per-layer footprint of the deployable model. */
typedef struct mt_layer_fp {
    char name[NN_NAME_MAX];
    int w_bits, a_bits;          /* 32 = full precision */
    size_t n_weights, nonzero;
    double bytes;                /* bytes of the layer's compressed form, overheads included */
    double macs_dense, macs_needed;   /* per sample */
} mt_layer_fp;

typedef struct mt_footprint {
    int n_layers;
    mt_layer_fp layers[MT_MAX_LAYERS];
    double bytes_fp32;           /* dense fp32 size of all weights and biases */
    double bytes;                /* compressed size */
    /* extra named figures for result.json (e.g. Deep Compression's per-stage sizes) */
    int n_extras;
    char extra_key[MT_MAX_EXTRAS][48];
    double extra_val[MT_MAX_EXTRAS];
} mt_footprint;

typedef struct method {
    const char *name;            /* as written in [method] name= */
    const char *title;           /* "XNOR-Net", shown in tables */
    const char *paper;           /* citation */
    const opt_spec *options; int n_options;
    size_t config_size;          /* size of the options struct the specs point into */
    int needs_baseline;          /* 1: start from the cached full-precision baseline */
    int post_training;           /* 1: trains nothing of its own, so [train] epochs = 0 is allowed */
    /* Called after options are parsed: cross-key checks (e.g. portions increasing). 0 = ok. */
    int  (*check)(const void *config, char *err, size_t errlen);
    /* Install transforms/masks, set run->n_rounds. state: the method's own, freed in finish. */
    int  (*setup)(mt_run *, const void *config, void **state, char *err, size_t errlen);
    void (*round_begin)(mt_run *, void *state);
    void (*epoch_begin)(mt_run *, void *state);
    void (*after_backward)(mt_run *, void *state);   /* gradients ready, before the step */
    void (*step_end)(mt_run *, void *state);         /* after each optimizer step */
    void (*epoch_end)(mt_run *, void *state);
    void (*round_end)(mt_run *, void *state);
    /* Make the deployable form (remove filters, pack). 0 = ok. */
    int  (*finish)(mt_run *, void *state, char *err, size_t errlen);
    void (*account)(const mt_run *, void *state, mt_footprint *);
    void (*free_state)(void *state);
    /* Saves (io->loading = 0) or restores (1) what the method carries from epoch to epoch beyond
     * the model, at an epoch's end (after epoch_end, before round_end). On load it also re-attaches
     * what it had attached to the model since setup (Deep Compression's codebook transform).
     * NULL: nothing beyond the model (say why in a comment). 0 = ok. */
    int  (*checkpoint)(mt_run *, void *state, mt_ckpt *io);
} method;

/* Registry (methods/registry.c). */
int method_count(void);
const method *method_at(int i);
const method *method_find(const char *name);

/* Dense footprint of a model as it is: 32-bit weights, nonzero counts, fp32 bytes. Methods
 * start from it and change what they compress. */
void mt_footprint_dense(const nn_model *, mt_footprint *);
void mt_footprint_extra(mt_footprint *, const char *key, double val);

#endif
