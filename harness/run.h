/* The experiment runner: one config -> one run folder results/runs/<run-id>/ with the resolved
 * config, per-epoch metrics.csv, result.json and an HDF5 checkpoint (model.h5). */
#ifndef HARNESS_RUN_H
#define HARNESS_RUN_H
#include <stdio.h>
#include "harness/config.h"
#include "nn/model.h"

typedef struct hx_run_opts {
    const char *const *sets; int n_sets;   /* --set section.key=value overrides */
    int resume;                            /* continue an interrupted run from its checkpoint */
    int rerun;                             /* train a finished or interrupted run again (clears its folder) */
    int reuse;                             /* a finished run of the same id is reused, not refused;
                                              with resume: an interrupted one is continued too */
    int quiet;                             /* no per-batch progress */
    FILE *log;                             /* progress log (default stdout) */
    const nn_model *pretrained;            /* the trained baseline when the config names [model] pretrained
                                              (resolved by the caller: harness/experiment.h); only
                                              its parameters and state are copied */
    const char *runs_dir;                  /* folder the run folder goes in (NULL: <results>/runs) */
} hx_run_opts;

typedef struct hx_run_result {
    char run_id[OPT_STR_MAX + 32];
    char run_dir[PATH_MAX];
    double final_acc, best_acc, wall_s, train_images_per_s;
    int reused;                            /* reuse found it finished: nothing was trained */
} hx_run_result;

/* Runs the config end to end in its run folder, which it owns while it runs (harness/run_dir.h:
 * a finished run is refused unless rerun, or reused with reuse; an unfinished one is refused
 * unless resume or rerun; reuse with resume continues an unfinished one and reuses a finished one). 0 = ok; else err says what stopped it. */
int hx_run(const char *config_path, const hx_run_opts *, hx_run_result *, char *err, size_t errlen);

/* A config's run id ("<name>-<hash>") and folder (<results>/runs/<run id>); hash gets the
 * config hash. */
void hx_run_locate(const hx_config *, char hash[17], char *run_id, size_t id_len, char *run_dir, size_t dir_len);

#endif
