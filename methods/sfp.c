/* Soft Filter Pruning (He, Kang, Dong, Fu & Yang, IJCAI 2018).
 *
 * After every `epoch_prune` epochs (and always after the last one) each pruned conv layer's
 * filters with the smallest L2 norm are set to zero; unlike hard pruning they keep training
 * and may grow back, and the next selection starts afresh. `rate` is the fraction of filters
 * PRUNED per layer: the official script's `--rate 0.7` keeps 70%, i.e. rate = 0.3 here.
 *
 * Which convs: by default ("auto") every conv whose channels can be removed, which in a ResNet
 * is every conv, as in the official CIFAR script (it masks every conv weight: layer_begin 0 to
 * layer_end 54 in steps of 3 for ResNet-20, each layer ranked on its own).
 *
 * Residual additions (the choice made here): convs whose outputs are summed must keep the same
 * channels for the smaller network to exist. The official code ranks each conv on its own and
 * keeps the residual stream at full width: its small-model builder (ImageNet ResNets only)
 * computes a block's last conv for the kept filters, scatters the result into the full-width
 * sum with index_add and adds the removed channels' batch-norm constants; its CIFAR FLOP count
 * (utils/cifar_resnet_flop.py, the paper's 42.2% for ResNet-20 at 30%) assumes that form. The
 * engine has no scatter (a 1x1 selection conv would cost MACs), so here the convs whose outputs
 * meet in additions form one group (in a ResNet stage: the stem or the projection shortcut and
 * every block's second conv) and lose the same filter indices: filter c of a group scores the
 * sum of its members' filter-c L2 norms, and the lowest are zeroed in every member. A conv that
 * feeds no addition (a block's first conv, LeNet's convs) is a group of one, ranked as in the
 * paper. The residual stream then narrows too, so the smaller network saves more FLOPs than the
 * paper counts (configs/sfp-resnet20-cifar10.ini has the figure).
 *
 * Batch norm: a zeroed filter's channel still emits its BN shift while training (through a
 * following ReLU that is what carries gradient back to the filter) and a constant in evaluation,
 * as in the official code. Unlike it, the running statistics of every batch norm are measured
 * again after each zeroing (bn_batches training batches, augmented as training augments them:
 * measured on clean images the statistics no longer match the ones the weights were trained
 * against, which cost the CIFAR-10 ResNet-20 3.9 points; weights untouched): zeroing 30 % of
 * every conv at once, the residual stream included, leaves the later batch norms' statistics
 * those of the unzeroed network, and a ResNet-20 from the CIFAR-10 baseline then evaluated at
 * 10-15 % while training at 54-96 % (bn_batches = 0 gives the official behaviour).
 *
 * finish: the zeroed filters are removed for real. mt_surgery_shrink folds each removed
 * channel's constant into the layers that read it (a bias or batch-norm mean, or an edgebias
 * node after a zero-padded conv, whose border pixels see fewer taps of the constant), so the
 * smaller network computes what the soft-pruned one does; it replaces the run's model. */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "methods/method.h"
#include "methods/filter_removal.h"

typedef struct {
    double rate;
    int epoch_prune;
    char layers[OPT_STR_MAX];
    int bn_batches;
} sfp_config;

static const opt_spec options[] = {
    { "rate", OPT_FLOAT, offsetof(sfp_config, rate), "0.3", 0, 1, 0, 1, NULL,
      "fraction of each layer's filters PRUNED (official --rate 0.7 keeps 70% = rate 0.3)" },
    { "epoch_prune", OPT_INT, offsetof(sfp_config, epoch_prune), "1", 1, 100000, 0, 0, NULL,
      "zero the weakest filters after every this many epochs (and after the last)" },
    { "layers", OPT_STR, offsetof(sfp_config, layers), "auto", 0, 0, 0, 0, NULL,
      "auto (every conv whose filters can be removed) or a comma-separated list of conv names "
      "(convs tied by residual additions are listed together)" },
    { "bn_batches", OPT_INT, offsetof(sfp_config, bn_batches), "50", 0, 100000, 0, 0, NULL,
      "after each zeroing, re-estimate the batch norms' running statistics over this many "
      "training batches, augmented as in training (0 = keep them, as the official code)" },
};

typedef struct {
    sfp_config cfg;
    int n_prune[MT_MAX_LAYERS];   /* per group */
    int has_bn;
    int zeroings;                 /* zeroing steps so far */
    mt_filter_removal fr;
} sfp_state;

static void free_state(void *state)
{
    sfp_state *s = state;
    if (!s) return;
    mt_filter_removal_free(&s->fr);
    free(s);
}

static int setup(mt_run *run, const void *config, void **state, char *err, size_t errlen)
{
    const nn_model *m = run->model;
    sfp_state *s = calloc(1, sizeof *s);
    if (!s) { snprintf(err, errlen, "out of memory"); return 1; }
    *state = s;
    s->cfg = *(const sfp_config *)config;
    if (mt_filter_groups(&s->fr, m, s->cfg.layers, run->log, "sfp", err, errlen) != 0) return 1;
    for (int i = 0; i < s->fr.n_groups; i++) {
        const mt_pruned_group *l = &s->fr.groups[i];
        int n = (int)floor(l->g.channels * s->cfg.rate + 1e-9);
        s->n_prune[i] = n < l->g.channels ? n : l->g.channels - 1;   /* keep at least one filter */
        fprintf(run->log, "sfp: %s", m->nodes[l->g.conv[0]].name);
        for (int j = 1; j < l->g.n; j++) fprintf(run->log, "%s%s", j == 1 ? " (with " : ", ", m->nodes[l->g.conv[j]].name);
        fprintf(run->log, "%s: %d of %d filters zeroed per step\n", l->g.n > 1 ? ")" : "", s->n_prune[i], l->g.channels);
    }
    for (int i = 0; i < m->n_nodes; i++) s->has_bn |= m->nodes[i].kind == NN_BATCHNORM;
    run->n_rounds = 1;
    return 0;
}

/* Zero the filters with the smallest L2 norm (summed over a group's members) in every member;
 * they stay trainable (soft) and the next step selects afresh. */
static void epoch_end(mt_run *run, void *state)
{
    sfp_state *s = state;
    int last = run->epoch == run->round_epochs - 1;
    if ((run->epoch + 1) % s->cfg.epoch_prune != 0 && !last) return;
    /* how many of the filters zeroed now were zeroed last time: a stable selection keeps them
     * (logged, so a selection that churns from step to step shows) */
    int again = 0, zeroed = 0;
    for (int i = 0; i < s->fr.n_groups; i++) {
        mt_pruned_group *l = &s->fr.groups[i];
        int C = l->g.channels;
        uint8_t *was_kept = calloc(2 * (size_t)C, 1), *kept = was_kept + C;
        if (!was_kept) { fprintf(stderr, "sfp: out of memory\n"); abort(); }
        for (int k = 0; k < l->n_keep; k++) was_kept[l->keep[k]] = 1;
        mt_group_rank(run->model, l, 2, s->n_prune[i]);
        mt_group_zero(run->model, l, 0);
        for (int k = 0; k < l->n_keep; k++) kept[l->keep[k]] = 1;
        for (int c = 0; c < C; c++) { zeroed += !kept[c]; again += !kept[c] && !was_kept[c]; }
        free(was_kept);
    }
    if (s->zeroings++ > 0)
        fprintf(run->log, "sfp: epoch %d: %d of the %d filters zeroed were zeroed at the last step too\n",
                run->epoch + 1, again, zeroed);
    if (s->cfg.bn_batches > 0 && s->has_bn && run->recalibrate_bn) run->recalibrate_bn(run, s->cfg.bn_batches);
}

/* The last zeroing step's selection (finish removes it, the next step compares with it; a run
 * interrupted after its last epoch has no epoch left to select again) and the count of zeroing
 * steps. The zeroed filters and recalibrated statistics themselves are in the model. */
static int checkpoint(mt_run *run, void *state, mt_ckpt *io)
{
    sfp_state *s = state;
    if (mt_ckpt_array(io, MT_I32, &s->zeroings, 1, "zeroings") != 0) return -1;
    return mt_filter_removal_checkpoint(&s->fr, run->model, io);
}

/* the selection of the last zeroing step, removed for real */
static int finish(mt_run *run, void *state, char *err, size_t errlen)
{
    return mt_filter_removal_finish(run, &((sfp_state *)state)->fr, "sfp", err, errlen);
}

static void account(const mt_run *run, void *state, mt_footprint *fp)
{
    (void)run;
    mt_filter_removal_account(&((sfp_state *)state)->fr, fp, "sfp");
}

const method method_sfp = {
    .name = "sfp",
    .title = "Soft Filter Pruning",
    .paper = "He et al., Soft Filter Pruning for Accelerating Deep CNNs, IJCAI 2018",
    .options = options, .n_options = (int)(sizeof options / sizeof *options),
    .config_size = sizeof(sfp_config),
    .setup = setup,
    .epoch_end = epoch_end,
    .finish = finish,
    .account = account,
    .free_state = free_state,
    .checkpoint = checkpoint,
};
