/* L1-norm filter pruning (Li, Kadav, Durdanovic, Samet & Graf, "Pruning Filters for Efficient
 * ConvNets", ICLR 2017).
 *
 * From a trained network, once: in each pruned conv, the filters with the smallest sum of
 * absolute kernel weights s_j = sum |F_j| are removed (the paper's §3.1, each layer ranked on its
 * own, "ratio" of its filters), then the network is retrained ([train] epochs; the paper's
 * "prune once and retrain"). The dropped filters are zeroed and masked at setup, so retraining
 * keeps them zero, and removed for real in finish (methods/surgery.c, as SFP does): the smaller
 * network computes exactly what the masked one does, the removed channels' constants (bias or
 * batch-norm shift) folded into the layers that read them.
 *
 * Residual groups: convs whose outputs meet in an addition must lose the same filters; their
 * filter c scores the sum of its members' L1 norms (as SFP groups them). The paper prunes only
 * the first conv of each residual block in its CIFAR ResNets (the second is tied to the
 * shortcut), which `layers` = that list reproduces (configs/cifar10/l1-filter-resnet20.ini). */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "methods/filter_removal.h"
#include "methods/method.h"

typedef struct {
    opt_floats ratio;
    char layers[OPT_STR_MAX];
} l1_config;

static const opt_spec options[] = {
    { "ratio", OPT_FLOATS, offsetof(l1_config, ratio), "0.5", 0, 1, 0, 1, NULL,
      "fraction of filters removed: one value for every pruned conv, or one per pruned group in model "
      "order (a residual group counts once)" },
    { "layers", OPT_STR, offsetof(l1_config, layers), "auto", 0, 0, 0, 0, NULL,
      "auto (every conv whose filters can be removed) or a comma-separated list of conv names "
      "(convs tied by residual additions are listed together)" },
};

typedef struct {
    l1_config cfg;
    mt_filter_removal fr;
} l1_state;

static void free_state(void *state)
{
    l1_state *s = state;
    if (!s) return;
    mt_filter_removal_free(&s->fr);
    free(s);
}

static int setup(mt_run *run, const void *config, void **state, char *err, size_t errlen)
{
    nn_model *m = run->model;
    l1_state *s = calloc(1, sizeof *s);
    if (!s) { snprintf(err, errlen, "out of memory"); return 1; }
    *state = s;
    s->cfg = *(const l1_config *)config;
    if (mt_filter_groups(&s->fr, m, s->cfg.layers, run->log, "l1-filter", err, errlen) != 0) return 1;
    const opt_floats *r = &s->cfg.ratio;
    if (r->n != 1 && r->n != s->fr.n_groups) {
        snprintf(err, errlen, "ratio: %d values given, but layers = %s prunes %d groups of %s (give one value, "
                 "or one per group)", r->n, s->cfg.layers, s->fr.n_groups, m->arch);
        return 1;
    }
    for (int i = 0; i < s->fr.n_groups; i++) {
        mt_pruned_group *l = &s->fr.groups[i];
        int n = (int)floor(l->g.channels * r->v[r->n == 1 ? 0 : i] + 1e-9);
        if (n >= l->g.channels) n = l->g.channels - 1;     /* keep at least one filter */
        mt_group_rank(m, l, 1, n);
        mt_group_zero(m, l, 1);
        fprintf(run->log, "l1-filter: %s", m->nodes[l->g.conv[0]].name);
        for (int j = 1; j < l->g.n; j++) fprintf(run->log, "%s%s", j == 1 ? " (with " : ", ", m->nodes[l->g.conv[j]].name);
        fprintf(run->log, "%s: %d of %d filters with the smallest L1 norm removed\n", l->g.n > 1 ? ")" : "", n,
                l->g.channels);
    }
    run->n_rounds = 1;
    return 0;
}

/* setup selects from the starting weights, so a fresh setup selects the same filters again; kept
 * anyway, so finish never depends on that. */
static int checkpoint(mt_run *run, void *state, mt_ckpt *io)
{
    return mt_filter_removal_checkpoint(&((l1_state *)state)->fr, run->model, io);
}

static int finish(mt_run *run, void *state, char *err, size_t errlen)
{
    return mt_filter_removal_finish(run, &((l1_state *)state)->fr, "l1-filter", err, errlen);
}

static void account(const mt_run *run, void *state, mt_footprint *fp)
{
    (void)run;
    mt_filter_removal_account(&((l1_state *)state)->fr, fp, "l1-filter");
}

const method method_l1_filter = {
    .name = "l1-filter",
    .title = "L1-norm filter pruning",
    .paper = "Li et al., Pruning Filters for Efficient ConvNets, ICLR 2017",
    .options = options, .n_options = (int)(sizeof options / sizeof *options),
    .config_size = sizeof(l1_config),
    .needs_baseline = 1,
    .setup = setup,
    .finish = finish,
    .account = account,
    .free_state = free_state,
    .checkpoint = checkpoint,
};
