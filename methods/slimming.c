/* Network Slimming (Liu, Li, Shen, Huang, Yan & Zhang, "Learning Efficient Convolutional
 * Networks through Network Slimming", ICCV 2017).
 *
 * Round 1, sparsity training ([train] epochs, from scratch as in the paper): the loss gains
 * lambda * sum |gamma| over the batch-norm scales of the prunable channels, i.e. after every
 * backward each such gamma's gradient gets lambda * sign(gamma) (the subgradient; sign(0) = 0).
 * The paper's code penalises every BatchNorm2d; here that is every BN right after a pruned conv
 * (lenet5-bn's BN after fc500 is not a channel this method removes, so it is not penalised).
 * End of round 1: one global threshold over all those |gamma|: the ratio-quantile of the sorted
 * scores (the paper's `thre = sorted[int(total * percent)]` counted from below), channels at or
 * below it are removed, each layer keeping at least one. Their conv filters are zeroed and masked.
 * Round 2: fine-tuning (`finetune_epochs`). finish: the channels are removed for real
 * (methods/surgery.c, as SFP does), the removed channels' remaining BN shifts folded into the
 * layers that read them, so the smaller network computes what the masked one does (the paper
 * drops those shifts; folding them is exact and costs nothing).
 *
 * Residual groups: convs summed by an addition lose the same channels; a channel's score is the
 * largest |gamma| among the group's BNs, so it goes only when every scale on it is small. */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "methods/filter_removal.h"
#include "methods/method.h"

typedef struct {
    double lambda, ratio;
    int finetune_epochs;
    char layers[OPT_STR_MAX];
} slim_config;

static const opt_spec options[] = {
    { "lambda", OPT_FLOAT, offsetof(slim_config, lambda), "1e-4", 0, 1, 0, 0, NULL,
      "L1 penalty on the batch-norm scales in the sparsity round (paper: 1e-4 VGG, 1e-5 ResNet)" },
    { "ratio", OPT_FLOAT, offsetof(slim_config, ratio), "0.5", 0, 1, 0, 1, NULL,
      "fraction of the prunable channels removed by the global |gamma| threshold" },
    { "finetune_epochs", OPT_INT, offsetof(slim_config, finetune_epochs), "5", 0, 100000, 0, 0, NULL,
      "epochs of fine-tuning after the channels are removed" },
    { "layers", OPT_STR, offsetof(slim_config, layers), "auto", 0, 0, 0, 0, NULL,
      "auto (every conv followed by batch norm whose channels can be removed) or a comma-separated "
      "list of conv names (convs tied by residual additions are listed together)" },
};

typedef struct {
    slim_config cfg;
    mt_filter_removal fr;
    int bn[MT_MAX_LAYERS][MT_GROUP_MAX];   /* per group member: the batch norm after it */
    double threshold;
    int channels_before, channels_after;
} slim_state;

static void free_state(void *state)
{
    slim_state *s = state;
    if (!s) return;
    mt_filter_removal_free(&s->fr);
    free(s);
}

/* The batch norm that is conv's only reader, or -1. */
static int bn_after(const nn_model *m, int conv)
{
    int next = -1, n = 0;
    for (int j = conv + 1; j < m->n_nodes; j++)
        for (int k = 0; k < m->nodes[j].n_in; k++)
            if (m->nodes[j].in[k] == conv && n++ == 0) next = j;
    return n == 1 && m->nodes[next].kind == NN_BATCHNORM ? next : -1;
}

static int setup(mt_run *run, const void *config, void **state, char *err, size_t errlen)
{
    const nn_model *m = run->model;
    slim_state *s = calloc(1, sizeof *s);
    if (!s) { snprintf(err, errlen, "out of memory"); return 1; }
    *state = s;
    s->cfg = *(const slim_config *)config;
    if (mt_filter_groups(&s->fr, m, s->cfg.layers, run->log, "slimming", err, errlen) != 0) return 1;
    int auto_ = strcmp(s->cfg.layers, "auto") == 0, kept = 0;
    for (int i = 0; i < s->fr.n_groups; i++) {
        mt_pruned_group *l = &s->fr.groups[i];
        int ok = 1;
        for (int j = 0; j < l->g.n && ok; j++) {
            s->bn[kept][j] = bn_after(m, l->g.conv[j]);
            if (s->bn[kept][j] >= 0) continue;
            ok = 0;
            if (!auto_) {
                snprintf(err, errlen, "layers: %s is not followed by batch norm (Network Slimming ranks channels "
                         "by its scales)", m->nodes[l->g.conv[j]].name);
                return 1;
            }
            fprintf(run->log, "slimming: not pruned: %s is not followed by batch norm\n", m->nodes[l->g.conv[j]].name);
        }
        if (!ok) { free(l->keep); continue; }
        s->fr.groups[kept++] = *l;
        s->channels_before += l->g.channels;
    }
    s->fr.n_groups = kept;
    if (kept == 0) {
        snprintf(err, errlen, "layers = %s: %s has no conv followed by batch norm whose channels can be removed "
                 "(use an arch with batch norm, e.g. lenet5-bn or resnet20)", s->cfg.layers, m->arch);
        return 1;
    }
    fprintf(run->log, "slimming: lambda %g on the scales of %d channels in %d groups; %.0f%% removed after round 1\n",
            s->cfg.lambda, s->channels_before, kept, 100.0 * s->cfg.ratio);
    run->n_rounds = 2;
    return 0;
}

static void round_begin(mt_run *run, void *state)
{
    const slim_state *s = state;
    if (run->round == 1) run->round_epochs = s->cfg.finetune_epochs;
}

/* The subgradient of lambda * sum |gamma|. */
static void after_backward(mt_run *run, void *state)
{
    const slim_state *s = state;
    if (run->round != 0) return;
    float lam = (float)s->cfg.lambda;
    for (int i = 0; i < s->fr.n_groups; i++)
        for (int j = 0; j < s->fr.groups[i].g.n; j++) {
            nn_node *bn = &run->model->nodes[s->bn[i][j]];
            for (size_t c = 0; c < bn->nw; c++)
                bn->gw[c] += lam * (float)((bn->w[c] > 0) - (bn->w[c] < 0));
        }
}

static double score(const nn_model *m, const slim_state *s, int g, int c)
{
    double v = 0;
    for (int j = 0; j < s->fr.groups[g].g.n; j++) v = fmax(v, fabs((double)m->nodes[s->bn[g][j]].w[c]));
    return v;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The global threshold and the channels it removes. */
static void round_end(mt_run *run, void *state)
{
    slim_state *s = state;
    if (run->round != 0) return;
    nn_model *m = run->model;
    double *all = malloc((size_t)s->channels_before * sizeof *all);
    if (!all) { fprintf(run->log, "slimming: out of memory: nothing pruned\n"); return; }
    int n = 0;
    for (int i = 0; i < s->fr.n_groups; i++)
        for (int c = 0; c < s->fr.groups[i].g.channels; c++) all[n++] = score(m, s, i, c);
    qsort(all, (size_t)n, sizeof *all, cmp_double);
    int n_prune = (int)floor(s->cfg.ratio * n + 1e-9);
    s->threshold = n_prune > 0 ? all[n_prune - 1] : -1.0;
    free(all);
    s->channels_after = 0;
    for (int i = 0; i < s->fr.n_groups; i++) {
        mt_pruned_group *l = &s->fr.groups[i];
        int best = 0;
        l->n_keep = 0;
        for (int c = 0; c < l->g.channels; c++) {
            double v = score(m, s, i, c);
            if (v > s->threshold) l->keep[l->n_keep++] = c;
            if (v > score(m, s, i, best)) best = c;
        }
        if (l->n_keep == 0) l->keep[l->n_keep++] = best;   /* a layer keeps at least one channel */
        s->channels_after += l->n_keep;
        mt_group_zero(m, l, 1);
    }
    fprintf(run->log, "slimming: |gamma| threshold %.6g: %d of %d channels kept\n", s->threshold,
            s->channels_after, s->channels_before);
}

/* After round 1's end: the global threshold, the channels it keeps (masked in the model too). */
static int checkpoint(mt_run *run, void *state, mt_ckpt *io)
{
    slim_state *s = state;
    int rc = mt_ckpt_array(io, MT_F64, &s->threshold, 1, "threshold");
    rc |= mt_ckpt_array(io, MT_I32, &s->channels_after, 1, "channels_after");
    return rc ? -1 : mt_filter_removal_checkpoint(&s->fr, run->model, io);
}

static int finish(mt_run *run, void *state, char *err, size_t errlen)
{
    return mt_filter_removal_finish(run, &((slim_state *)state)->fr, "slimming", err, errlen);
}

static void account(const mt_run *run, void *state, mt_footprint *fp)
{
    (void)run;
    const slim_state *s = state;
    mt_filter_removal_account(&s->fr, fp, "slimming");
    mt_footprint_extra(fp, "slimming.threshold", s->threshold);
    mt_footprint_extra(fp, "slimming.channels_before", s->channels_before);
    mt_footprint_extra(fp, "slimming.channels_after", s->channels_after);
}

const method method_slimming = {
    .name = "slimming",
    .title = "Network Slimming",
    .paper = "Liu et al., Learning Efficient Convolutional Networks through Network Slimming, ICCV 2017",
    .options = options, .n_options = (int)(sizeof options / sizeof *options),
    .config_size = sizeof(slim_config),
    .setup = setup,
    .round_begin = round_begin,
    .after_backward = after_backward,
    .round_end = round_end,
    .finish = finish,
    .account = account,
    .free_state = free_state,
    .checkpoint = checkpoint,
};
