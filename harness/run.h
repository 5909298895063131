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
    int reuse;                             /* a finished run of the same id is reused, not refused */
    int quiet;                             /* no per-batch progress */
    FILE *log;                             /* progress log (default stdout) */
} hx_run_opts;

typedef struct hx_run_result {
    char run_id[OPT_STR_MAX + 32];
    char run_dir[PATH_MAX];
    double final_acc, best_acc, wall_s, train_images_per_s;
    int reused;                            /* reuse found it finished: nothing was trained */
} hx_run_result;

/* Runs the config end to end in its run folder, which it owns while it runs (harness/run_dir.h:
 * a finished run is refused unless rerun, or reused with reuse; an unfinished one is refused
 * unless resume or rerun). 0 = ok; else err says what stopped it. */
int hx_run(const char *config_path, const hx_run_opts *, hx_run_result *, char *err, size_t errlen);

/* The trained model of a baseline config, trained once and cached under
 * results/baselines/<arch>-<dataset>-<hash>.h5. threads: the caller's thread count. */
nn_model *hx_baseline(const char *baseline_config, int threads, FILE *log, char *err, size_t errlen);
/* Where that model is, without training anything: the cache file, and the run folder of the
 * baseline config (whose model.h5 stands in until the cache is made), plus the config hash the
 * cached checkpoint records. 0, or -1 with err (an unreadable config, one that names a method). */
int hx_baseline_files(const char *baseline_config, char *cache, size_t cache_len, char *run_dir, size_t run_dir_len,
                      char hash[17], char *err, size_t errlen);

/* Root folders: $HARNESS_RESULTS (default "results") and $HARNESS_DATA_DIR (default "data"). */
const char *hx_results_root(void);
const char *hx_data_root(void);

#endif
