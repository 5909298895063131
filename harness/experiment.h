/* One experiment as `harness run` runs it: the baseline its config names is resolved first
 * (harness/baseline.h: cached, reused or trained), then handed to the run (harness/run.h). */
#ifndef HARNESS_EXPERIMENT_H
#define HARNESS_EXPERIMENT_H
#include <stddef.h>
#include "harness/run.h"

/* hx_run with [model] pretrained resolved; o->pretrained is ignored. 0 = ok; else err. */
int hx_experiment(const char *config_path, const hx_run_opts *o, hx_run_result *res, char *err, size_t errlen);

#endif
