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

#endif
