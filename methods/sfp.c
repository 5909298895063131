/* Soft Filter Pruning (He, Kang, Dong, Fu & Yang, IJCAI 2018).
 *
 * After every `epoch_prune` epochs (and always after the last one) each pruned conv layer's
 * filters with the smallest L2 norm are set to zero; unlike hard pruning they keep training
 * and may grow back, and the next selection starts afresh. `rate` is the fraction of filters
 * PRUNED per layer: the official script's `--rate 0.7` keeps 70%, i.e. rate = 0.3 here.
 *
 * Which convs: by default ("auto") every conv whose output channels can really be removed,
 * i.e. whose output reaches exactly one conv/linear layer through bn/relu/pool/flatten nodes.
 * In a ResNet that is the first conv of each basic block: the second conv, the stem and the
 * shortcut convs feed residual additions, whose two operands must keep matching channels, so
 * removing their filters would break the sum. (The paper zeroes every conv and counts FLOPs as
 * if all could shrink; here the reported FLOP reduction is what the smaller network achieves.)
 *
 * finish: the zeroed filters are removed for real. Each removed channel still emits a
 * constant (its bias / BN beta after a zero filter); it is folded into the consumer where that
 * is exact (see mt_surgery_fold), the smaller dense network is built with nn_builder, the
 * surviving weights copied, and it replaces the run's model. */
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
      "auto (every removable conv) or a comma-separated list of conv names" },
};

typedef struct {
    int node, n_prune;
    int *keep, n_keep;          /* after the latest zeroing: surviving filters, ascending */
} sfp_layer;

typedef struct {
    sfp_config cfg;
    int n_layers;
    sfp_layer layers[MT_MAX_LAYERS];
    double macs_before, macs_after, acc_soft;
    double layer_macs_before[MT_MAX_LAYERS];   /* per conv/linear layer, model order */
    size_t params_before, params_after;
    int removed, finished;
} sfp_state;

static void free_state(void *state)
{
    sfp_state *s = state;
    if (!s) return;
    for (int i = 0; i < s->n_layers; i++) free(s->layers[i].keep);
    free(s);
}

static int add_layer(sfp_state *s, const nn_model *m, int node, char *err, size_t errlen)
{
    char why[256];
    int end;
    if (mt_surgery_consumer(m, node, &end, why, sizeof why) < 0) {
        snprintf(err, errlen, "layers: %s cannot be pruned: %s", m->nodes[node].name, why);
        return 1;
    }
    if (s->n_layers >= MT_MAX_LAYERS) { snprintf(err, errlen, "layers: too many"); return 1; }
    sfp_layer *l = &s->layers[s->n_layers++];
    int out_c = m->nodes[node].out_c;
    l->node = node;
    l->n_prune = (int)floor(out_c * s->cfg.rate + 1e-9);
    if (l->n_prune >= out_c) l->n_prune = out_c - 1;        /* keep at least one filter */
    l->keep = malloc((size_t)out_c * sizeof *l->keep);
    if (!l->keep) { snprintf(err, errlen, "out of memory"); return 1; }
    l->n_keep = out_c;
    for (int c = 0; c < out_c; c++) l->keep[c] = c;
    return 0;
}

static int find_node(const nn_model *m, const char *name)
{
    for (int i = 0; i < m->n_nodes; i++) if (strcmp(m->nodes[i].name, name) == 0) return i;
    return -1;
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
            int end;
            if (m->nodes[i].kind == NN_CONV && mt_surgery_consumer(m, i, &end, why, sizeof why) >= 0 &&
                add_layer(s, m, i, err, errlen) != 0) return 1;
        }
    } else {
        char list[OPT_STR_MAX], *save = NULL;
        snprintf(list, sizeof list, "%s", s->cfg.layers);
        for (char *t = strtok_r(list, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
            int node = find_node(m, t);
            if (node < 0) {
                snprintf(err, errlen, "layers: %s has no layer named '%s'", m->arch, t);
                return 1;
            }
            if (add_layer(s, m, node, err, errlen) != 0) return 1;
        }
    }
    if (s->n_layers == 0) {
        snprintf(err, errlen, "layers = %s: %s has no conv layer whose filters can be removed",
                 s->cfg.layers, m->arch);
        return 1;
    }
    for (int i = 0; i < s->n_layers; i++)
        fprintf(run->log, "sfp: %s: %d of %d filters zeroed per step\n", m->nodes[s->layers[i].node].name,
                s->layers[i].n_prune, m->nodes[s->layers[i].node].out_c);
    run->n_rounds = 1;
    return 0;
}

typedef struct { double norm; int c; } ranked;

static int cmp_ranked(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    if (x->norm != y->norm) return x->norm < y->norm ? -1 : 1;
    return (x->c > y->c) - (x->c < y->c);
}

static int cmp_int(const void *a, const void *b) { return (*(const int *)a > *(const int *)b) - (*(const int *)a < *(const int *)b); }

/* Zero the n_prune filters with the smallest L2 norm, ties to the lower index. */
static void zero_filters(nn_model *m, sfp_layer *l)
{
    nn_node *n = &m->nodes[l->node];
    size_t per = n->nw / (size_t)n->out_c;
    ranked r[4096];
    ranked *rk = n->out_c <= 4096 ? r : malloc((size_t)n->out_c * sizeof *rk);
    assert(rk);
    for (int c = 0; c < n->out_c; c++) {
        double s = 0;
        for (size_t j = 0; j < per; j++) s += (double)n->w[c * per + j] * n->w[c * per + j];
        rk[c] = (ranked){ sqrt(s), c };
    }
    qsort(rk, (size_t)n->out_c, sizeof *rk, cmp_ranked);
    for (int k = 0; k < l->n_prune; k++) memset(n->w + (size_t)rk[k].c * per, 0, per * sizeof(float));
    l->n_keep = n->out_c - l->n_prune;
    for (int k = 0; k < l->n_keep; k++) l->keep[k] = rk[l->n_prune + k].c;
    qsort(l->keep, (size_t)l->n_keep, sizeof *l->keep, cmp_int);
    if (rk != r) free(rk);
}

static void epoch_end(mt_run *run, void *state)
{
    sfp_state *s = state;
    int last = run->epoch == run->round_epochs - 1;
    if ((run->epoch + 1) % s->cfg.epoch_prune != 0 && !last) return;
    for (int i = 0; i < s->n_layers; i++) zero_filters(run->model, &s->layers[i]);
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
    if (run->evaluate) s->acc_soft = run->evaluate(run, m, NULL);
    mt_channel_plan plan;
    memset(&plan, 0, sizeof plan);
    for (int i = 0; i < s->n_layers; i++) {
        sfp_layer *l = &s->layers[i];
        /* the selection of the last zeroing step; zero again in case weights moved since */
        nn_node *n = &m->nodes[l->node];
        size_t per = n->nw / (size_t)n->out_c;
        for (int c = 0, k = 0; c < n->out_c; c++) {
            if (k < l->n_keep && l->keep[k] == c) { k++; continue; }
            memset(n->w + (size_t)c * per, 0, per * sizeof(float));
        }
        plan.keep[l->node] = l->keep;
        plan.n_keep[l->node] = l->n_keep;
        s->removed += n->out_c - l->n_keep;
    }
    int dropped = mt_surgery_fold(m, &plan);
    nn_model *small = mt_surgery_shrink(m, &plan, err, errlen);
    if (!small) return 1;
    s->macs_before = weighted_macs(m);
    s->macs_after = weighted_macs(small);
    for (int i = 0, k = 0; i < m->n_nodes && k < MT_MAX_LAYERS; i++)
        if (nn_is_weighted(&m->nodes[i])) s->layer_macs_before[k++] = nn_node_macs(&m->nodes[i]);
    s->params_before = m->n_params;
    s->params_after = small->n_params;
    fprintf(run->log, "sfp: removed %d filters: MACs %.0f -> %.0f (-%.1f%%), params %zu -> %zu; "
            "soft-pruned test acc %.2f%%%s\n", s->removed, s->macs_before, s->macs_after,
            100.0 * (1.0 - s->macs_after / s->macs_before), s->params_before, s->params_after, s->acc_soft,
            dropped ? " (some removed channels' constant outputs could not be folded: padded consumer)" : "");
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
