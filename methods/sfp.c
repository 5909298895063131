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
 * Batch norm is left as the official code leaves it: a zeroed filter's channel still emits its
 * BN shift while training (through a following ReLU that is what carries gradient back to the
 * filter) and a constant in evaluation.
 *
 * finish: the zeroed filters are removed for real. mt_surgery_shrink folds each removed
 * channel's constant into the layers that read it (a bias or batch-norm mean, or an edgebias
 * node after a zero-padded conv, whose border pixels see fewer taps of the constant), so the
 * smaller network computes what the soft-pruned one does; it replaces the run's model. */
#include <assert.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "methods/method.h"
#include "methods/surgery.h"

typedef struct {
    double rate;
    int epoch_prune;
    char layers[OPT_STR_MAX];
} sfp_config;

static const opt_spec options[] = {
    { "rate", OPT_FLOAT, offsetof(sfp_config, rate), "0.3", 0, 1, 0, 1, NULL,
      "fraction of each layer's filters PRUNED (official --rate 0.7 keeps 70% = rate 0.3)" },
    { "epoch_prune", OPT_INT, offsetof(sfp_config, epoch_prune), "1", 1, 100000, 0, 0, NULL,
      "zero the weakest filters after every this many epochs (and after the last)" },
    { "layers", OPT_STR, offsetof(sfp_config, layers), "auto", 0, 0, 0, 0, NULL,
      "auto (every conv whose filters can be removed) or a comma-separated list of conv names "
      "(convs tied by residual additions are listed together)" },
};

typedef struct {
    mt_channel_group g;
    int n_prune;
    int *keep, n_keep;          /* after the latest zeroing: surviving filters, ascending */
} sfp_group;

typedef struct {
    sfp_config cfg;
    int n_groups;
    sfp_group groups[MT_MAX_LAYERS];
    double macs_before, macs_after, acc_soft;
    double layer_macs_before[MT_MAX_LAYERS];   /* per conv/linear layer, model order */
    size_t params_before, params_after;
    int removed, finished;
    mt_shrink_info shrink;
} sfp_state;

static void free_state(void *state)
{
    sfp_state *s = state;
    if (!s) return;
    for (int i = 0; i < s->n_groups; i++) free(s->groups[i].keep);
    free(s);
}

static int grouped(const sfp_state *s, int node)
{
    for (int i = 0; i < s->n_groups; i++)
        for (int j = 0; j < s->groups[i].g.n; j++)
            if (s->groups[i].g.conv[j] == node) return 1;
    return 0;
}

static int add_group(sfp_state *s, const mt_channel_group *g, char *err, size_t errlen)
{
    if (s->n_groups >= MT_MAX_LAYERS) { snprintf(err, errlen, "layers: too many"); return 1; }
    sfp_group *l = &s->groups[s->n_groups++];
    l->g = *g;
    l->n_prune = (int)floor(g->channels * s->cfg.rate + 1e-9);
    if (l->n_prune >= g->channels) l->n_prune = g->channels - 1;   /* keep at least one filter */
    l->keep = malloc((size_t)g->channels * sizeof *l->keep);
    if (!l->keep) { snprintf(err, errlen, "out of memory"); return 1; }
    l->n_keep = g->channels;
    for (int c = 0; c < g->channels; c++) l->keep[c] = c;
    return 0;
}

static int find_node(const nn_model *m, const char *name)
{
    for (int i = 0; i < m->n_nodes; i++) if (strcmp(m->nodes[i].name, name) == 0) return i;
    return -1;
}

/* layers = a list: each named conv's group; every member of it must be named too. */
static int listed_groups(sfp_state *s, const nn_model *m, char *err, size_t errlen)
{
    char list[OPT_STR_MAX], *save = NULL, why[256];
    unsigned char named[NN_MAX_NODES] = { 0 };
    snprintf(list, sizeof list, "%s", s->cfg.layers);
    for (char *t = strtok_r(list, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
        int node = find_node(m, t);
        if (node < 0) { snprintf(err, errlen, "layers: %s has no layer named '%s'", m->arch, t); return 1; }
        mt_channel_group g;
        if (mt_surgery_group(m, node, &g, why, sizeof why) != 0) {
            snprintf(err, errlen, "layers: %s cannot be pruned: %s", t, why);
            return 1;
        }
        named[node] = 1;
        if (!grouped(s, node) && add_group(s, &g, err, errlen) != 0) return 1;
    }
    for (int i = 0; i < s->n_groups; i++) {
        const mt_channel_group *g = &s->groups[i].g;
        for (int j = 0; j < g->n; j++) {
            if (named[g->conv[j]]) continue;
            int k = snprintf(err, errlen, "layers: residual additions tie the channels of");
            for (int q = 0; q < g->n && k >= 0 && (size_t)k < errlen; q++)
                k += snprintf(err + k, errlen - (size_t)k, " %s", m->nodes[g->conv[q]].name);
            if (k >= 0 && (size_t)k < errlen)
                snprintf(err + k, errlen - (size_t)k, ": list %s too (they lose the same filters)",
                         m->nodes[g->conv[j]].name);
            return 1;
        }
    }
    return 0;
}

static int setup(mt_run *run, const void *config, void **state, char *err, size_t errlen)
{
    const nn_model *m = run->model;
    sfp_state *s = calloc(1, sizeof *s);
    if (!s) { snprintf(err, errlen, "out of memory"); return 1; }
    *state = s;
    s->cfg = *(const sfp_config *)config;
    if (strcmp(s->cfg.layers, "auto") == 0) {
        for (int i = 0; i < m->n_nodes; i++) {
            char why[256];
            mt_channel_group g;
            if (m->nodes[i].kind != NN_CONV || grouped(s, i)) continue;
            if (mt_surgery_group(m, i, &g, why, sizeof why) != 0) fprintf(run->log, "sfp: not pruned: %s\n", why);
            else if (add_group(s, &g, err, errlen) != 0) return 1;
        }
    } else if (listed_groups(s, m, err, errlen) != 0) {
        return 1;
    }
    if (s->n_groups == 0) {
        snprintf(err, errlen, "layers = %s: %s has no conv layer whose filters can be removed",
                 s->cfg.layers, m->arch);
        return 1;
    }
    for (int i = 0; i < s->n_groups; i++) {
        const sfp_group *l = &s->groups[i];
        fprintf(run->log, "sfp: %s", m->nodes[l->g.conv[0]].name);
        for (int j = 1; j < l->g.n; j++) fprintf(run->log, "%s%s", j == 1 ? " (with " : ", ", m->nodes[l->g.conv[j]].name);
        fprintf(run->log, "%s: %d of %d filters zeroed per step\n", l->g.n > 1 ? ")" : "", l->n_prune, l->g.channels);
    }
    run->n_rounds = 1;
    return 0;
}

typedef struct { double score; int c; } ranked;

static int cmp_ranked(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    if (x->score != y->score) return x->score < y->score ? -1 : 1;
    return (x->c > y->c) - (x->c < y->c);
}

static int cmp_int(const void *a, const void *b) { return (*(const int *)a > *(const int *)b) - (*(const int *)a < *(const int *)b); }

static double filter_norm(const nn_node *n, int c)
{
    size_t per = n->nw / (size_t)n->out_c;
    double s = 0;
    for (size_t j = 0; j < per; j++) s += (double)n->w[c * per + j] * n->w[c * per + j];
    return sqrt(s);
}

/* Zeroes filter c of conv node i. A batch norm right after it gets the channel's running mean
 * set to what a zero filter outputs (its bias, or 0). Otherwise evaluation would normalize the silent
 * channel with the statistics of the weights it had, and feed forward -gamma*mean/sd + beta
 * where training feeds beta; in a ResNet, whose residual channels are zeroed in every conv of
 * the stage together, those stale constants add up block after block and the network collapses
 * to one class at evaluation (CIFAR-10 ResNet-20 at 30 %: 10.00 % after the first zeroing). */
static void zero_filter(nn_model *m, int i, int c)
{
    nn_node *n = &m->nodes[i];
    size_t per = n->nw / (size_t)n->out_c;
    memset(n->w + (size_t)c * per, 0, per * sizeof(float));
    int next = mt_only_consumer(m, i);
    if (next >= 0 && m->nodes[next].kind == NN_BATCHNORM) m->nodes[next].run_mean[c] = n->nb ? n->b[c] : 0;
}

/* Zero the n_prune filters with the smallest score (the L2 norm, summed over the group's
 * members), ties to the lower index, in every member. */
static void zero_filters(nn_model *m, sfp_group *l)
{
    int C = l->g.channels;
    ranked *rk = malloc((size_t)C * sizeof *rk);
    assert(rk);
    for (int c = 0; c < C; c++) {
        rk[c] = (ranked){ 0.0, c };
        for (int j = 0; j < l->g.n; j++) rk[c].score += filter_norm(&m->nodes[l->g.conv[j]], c);
    }
    qsort(rk, (size_t)C, sizeof *rk, cmp_ranked);
    for (int k = 0; k < l->n_prune; k++)
        for (int j = 0; j < l->g.n; j++) zero_filter(m, l->g.conv[j], rk[k].c);
    l->n_keep = C - l->n_prune;
    for (int k = 0; k < l->n_keep; k++) l->keep[k] = rk[l->n_prune + k].c;
    qsort(l->keep, (size_t)l->n_keep, sizeof *l->keep, cmp_int);
    free(rk);
}

static void epoch_end(mt_run *run, void *state)
{
    sfp_state *s = state;
    int last = run->epoch == run->round_epochs - 1;
    if ((run->epoch + 1) % s->cfg.epoch_prune != 0 && !last) return;
    for (int i = 0; i < s->n_groups; i++) zero_filters(run->model, &s->groups[i]);
}

static double weighted_macs(const nn_model *m)
{
    double s = 0;
    for (int i = 0; i < m->n_nodes; i++) s += nn_node_macs(&m->nodes[i]);
    return s;
}

static int finish(mt_run *run, void *state, char *err, size_t errlen)
{
    sfp_state *s = state;
    nn_model *m = run->model;
    mt_channel_plan plan;
    memset(&plan, 0, sizeof plan);
    for (int i = 0; i < s->n_groups; i++) {
        sfp_group *l = &s->groups[i];
        for (int j = 0; j < l->g.n; j++) {
            /* the selection of the last zeroing step; zero again in case weights moved since */
            nn_node *n = &m->nodes[l->g.conv[j]];
            for (int c = 0, k = 0; c < n->out_c; c++) {
                if (k < l->n_keep && l->keep[k] == c) { k++; continue; }
                zero_filter(m, l->g.conv[j], c);
            }
            plan.keep[l->g.conv[j]] = l->keep;
            plan.n_keep[l->g.conv[j]] = l->n_keep;
            s->removed += n->out_c - l->n_keep;
        }
    }
    if (run->evaluate) s->acc_soft = run->evaluate(run, m, NULL);
    nn_model *small = mt_surgery_shrink(m, &plan, &s->shrink, err, errlen);
    if (!small) return 1;
    s->macs_before = weighted_macs(m);
    s->macs_after = weighted_macs(small);
    for (int i = 0, k = 0; i < m->n_nodes && k < MT_MAX_LAYERS; i++)
        if (nn_is_weighted(&m->nodes[i])) s->layer_macs_before[k++] = nn_node_macs(&m->nodes[i]);
    s->params_before = m->n_params;
    s->params_after = small->n_params;
    fprintf(run->log, "sfp: removed %d filters: MACs %.0f -> %.0f (-%.1f%%), params %zu -> %zu; "
            "removed channels' constants folded into %d biases/BN means and %d edgebias nodes; "
            "soft-pruned test acc %.2f%%\n", s->removed, s->macs_before, s->macs_after,
            100.0 * (1.0 - s->macs_after / s->macs_before), s->params_before, s->params_after,
            s->shrink.folded, s->shrink.edge_nodes, s->acc_soft);
    run->replace_model(run, small);
    s->finished = 1;
    return 0;
}

static void account(const mt_run *run, void *state, mt_footprint *fp)
{
    (void)run;
    const sfp_state *s = state;
    if (!s->finished) return;
    /* the footprint describes the smaller network (same layers, fewer channels); size and MACs
     * are compared with the original one */
    fp->bytes_fp32 = 4.0 * (double)s->params_before;
    for (int k = 0; k < fp->n_layers; k++) fp->layers[k].macs_dense = s->layer_macs_before[k];
    mt_footprint_extra(fp, "sfp.macs_before", s->macs_before);
    mt_footprint_extra(fp, "sfp.macs_after", s->macs_after);
    mt_footprint_extra(fp, "sfp.flops_reduction_pct", 100.0 * (1.0 - s->macs_after / s->macs_before));
    mt_footprint_extra(fp, "sfp.params_before", (double)s->params_before);
    mt_footprint_extra(fp, "sfp.params_after", (double)s->params_after);
    mt_footprint_extra(fp, "sfp.filters_removed", s->removed);
    mt_footprint_extra(fp, "sfp.acc_soft", s->acc_soft);
    mt_footprint_extra(fp, "sfp.edgebias_nodes", s->shrink.edge_nodes);
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
};
