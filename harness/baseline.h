/* The baseline cache: a full-precision model trained once per (dataset, architecture, recipe,
 * seed) and reused by every run that starts from it ([model] pretrained = baseline.ini). */
#ifndef HARNESS_BASELINE_H
#define HARNESS_BASELINE_H
#include <stddef.h>
#include <stdio.h>
#include "nn/model.h"

/* How deep baselines may start from baselines ([model] pretrained in a baseline config). */
enum { HX_BASELINE_DEPTH_MAX = 4 };

/* The trained model of a baseline config, from results/baselines/<arch>-<dataset>-<hash>.h5;
 * when that is missing, from a finished run folder of the same config (same hash), else trained
 * once through hx_run and cached. threads: the caller's thread count. NULL with err on failure. */
nn_model *hx_baseline(const char *baseline_config, int threads, FILE *log, char *err, size_t errlen);
/* Where that model is, without training anything: the cache file, and the run folder of the
 * baseline config (whose model.h5 stands in until the cache is made), plus the config hash the
 * cached checkpoint records. 0, or -1 with err (an unreadable config, one that names a method). */
int hx_baseline_files(const char *baseline_config, char *cache, size_t cache_len, char *run_dir, size_t run_dir_len,
                      char hash[17], char *err, size_t errlen);

#endif
