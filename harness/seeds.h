/* Several seeds of one config: `--seeds N` (seeds 1..N) or `--seed-list 1,4,7`, each seed its own
 * run (the seed is part of the config hash, so of the run id and folder). Shared by harness run,
 * compare, sweep and reproduce. Runs are started in reuse mode: a seed whose run has finished
 * already is reported as reused, not trained again. */
#ifndef HARNESS_SEEDS_H
#define HARNESS_SEEDS_H
#include <stddef.h>
#include "harness/run.h"

enum { HX_SEEDS_MAX = 64 };

typedef struct hx_seeds { int n; int v[HX_SEEDS_MAX]; } hx_seeds;

/* opt is one command-line word, value the next (may be NULL). 1 = it was --seeds/--seed-list
 * (or --seeds=N, --seed-list=...) and *used words were consumed (1 or 2); 0 = not a seeds
 * option; -1 = a bad value or both options given, err says what is allowed. */
int hx_seeds_option(const char *opt, const char *value, hx_seeds *, int *used, char *err, size_t errlen);
/* "1,2,3" into out. */
void hx_seeds_text(const hx_seeds *, char *out, size_t outlen);

/* Runs config once per seed (adding --set run.seed=S to base's sets; base may set reuse, rerun,
 * quiet, log), in the order given. results (may be NULL) gets one entry per seed. Stops at the
 * first seed that fails: 0 = all ran or were reused, else err names the seed. */
int hx_run_seeds(const char *config, const hx_run_opts *base, const hx_seeds *, hx_run_result *results, char *err,
                 size_t errlen);

#endif
