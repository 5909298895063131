/* Experiment configuration: INI files read strictly (harness/ini_strict.h: NUL bytes, over-long
 * lines, repeated sections or keys are errors), every key declared in a table (the same
 * opt_spec rows methods use), so unknown sections/keys, wrong types, out-of-range values and
 * missing required keys stop the run before any work, naming the file, line, key and what is
 * allowed. [run] name and [data] dataset become paths: letters, digits, '.', '_', '-' only. */
#ifndef HARNESS_CONFIG_H
#define HARNESS_CONFIG_H
#include <limits.h>
#include "methods/method.h"
#include "base/option.h"

enum { CFG_ERR_MAX = 1024, CFG_MAX_SETS = 64, CFG_FILE_MAX = 1 << 20 };

typedef enum { CFG_OPT_SGD = 0, CFG_OPT_ADAM = 1 } cfg_optimizer;

typedef struct hx_config {
    char path[PATH_MAX];
    /* [run] */
    char name[OPT_STR_MAX]; int seed; int threads; char suite[OPT_STR_MAX];
    /* [data] */
    char dataset[OPT_STR_MAX]; int train_subset; int val_size; int augment; int cutout;
    /* [model] */
    char arch[OPT_STR_MAX]; int init; char pretrained[OPT_STR_MAX];
    /* [train] */
    int epochs, batch, optimizer; double lr, momentum; int nesterov; double weight_decay;
    int schedule; opt_ints milestones; double gamma; int step_size; double min_lr;
    int warmup_epochs; int eval_batch; double adam_beta1, adam_beta2;
    /* [method] */
    char method_name[OPT_STR_MAX];
    const method *method;        /* NULL = plain training (a baseline) */
    void *method_config;         /* method->config_size bytes, parsed from its option table */
} hx_config;

/* Load path, then apply overrides ("section.key=value", n_sets of them). 0 = ok; else err
 * holds "<file>:<line>: [section] key = value: what is allowed". */
int  cfg_load(const char *path, const char *const *sets, int n_sets, hx_config *, char *err, size_t errlen);
void cfg_free(hx_config *);
/* The resolved configuration as INI text (every key, defaults filled in). Caller frees. */
char *cfg_resolved(const hx_config *);
/* Stable 64-bit hash (hex, 16 chars) of what determines the numbers: everything but [run]
 * name, threads and suite. Used for run ids and the baseline cache. */
void cfg_hash(const hx_config *, char out[17]);
/* The same without [run] seed: runs that differ only in seed share it (harness table groups
 * seeds by it and flags a row whose runs do not). */
void cfg_recipe_hash(const hx_config *, char out[17]);
/* Print every section's keys with type, range, default and help. */
void cfg_print_schema(FILE *);

#endif
