/* One experiment: resolve the baseline, then run (see experiment.h). */
#include "harness/experiment.h"
#include <string.h>
#include "harness/baseline.h"
#include "harness/run_dir.h"

/* 1 when the run would start from a baseline: it names one, is not a plain run resumed (that
 * continues from its own checkpoint; a method run is set up on the baseline again, as at its
 * start) and is not a finished run that hx_run refuses or reuses anyway. */
static int wants_baseline(const hx_config *c, const hx_run_opts *o)
{
    if (!c->pretrained[0]) return 0;
    if (o->resume && !o->reuse) return c->method != NULL;
    if (o->rerun) return 1;
    char hash[17], run_id[OPT_STR_MAX + 32], run_dir[PATH_MAX];
    hx_run_locate(c, hash, run_id, sizeof run_id, run_dir, sizeof run_dir);
    return !hx_run_dir_finished(run_dir, run_id, hash, NULL, NULL, 0);
}

int hx_experiment(const char *config_path, const hx_run_opts *o, hx_run_result *res, char *err, size_t errlen)
{
    hx_run_opts ro = {0};
    if (o) ro = *o;
    ro.pretrained = NULL;
    hx_config c;
    if (cfg_load(config_path, ro.sets, ro.n_sets, &c, err, errlen) != 0) return -1;
    nn_model *base = NULL;
    if (wants_baseline(&c, &ro)) {
        char berr[1024];
        base = hx_baseline(c.pretrained, c.threads, ro.log ? ro.log : stdout, berr, sizeof berr);
        if (!base) {
            snprintf(err, errlen, "%s: [model] pretrained = %s: %s", c.path, c.pretrained, berr);
            cfg_free(&c);
            return -1;
        }
    }
    cfg_free(&c);
    ro.pretrained = base;
    int rc = hx_run(config_path, &ro, res, err, errlen);
    nn_model_free(base);
    return rc;
}
