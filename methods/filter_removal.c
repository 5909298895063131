/* Filter pruning's shared steps: groups, ranking by norm, zeroing, removal, accounting. */
#include "methods/filter_removal.h"
#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static int grouped(const mt_filter_removal *s, int node)
{
    for (int i = 0; i < s->n_groups; i++)
        for (int j = 0; j < s->groups[i].g.n; j++)
            if (s->groups[i].g.conv[j] == node) return 1;
    return 0;
}

static int add_group(mt_filter_removal *s, const mt_channel_group *g, char *err, size_t errlen)
{
    if (s->n_groups >= MT_MAX_LAYERS) { snprintf(err, errlen, "layers: too many"); return 1; }
    mt_pruned_group *l = &s->groups[s->n_groups++];
    l->g = *g;
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
static int listed_groups(mt_filter_removal *s, const nn_model *m, const char *layers, char *err, size_t errlen)
{
    char list[OPT_STR_MAX], *save = NULL, why[256];
    unsigned char named[NN_MAX_NODES] = { 0 };
    snprintf(list, sizeof list, "%s", layers);
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

int mt_filter_groups(mt_filter_removal *s, const nn_model *m, const char *layers, FILE *log,
                     const char *tag, char *err, size_t errlen)
{
    if (strcmp(layers, "auto") == 0) {
        for (int i = 0; i < m->n_nodes; i++) {
            char why[256];
            mt_channel_group g;
            if (m->nodes[i].kind != NN_CONV || grouped(s, i)) continue;
            if (mt_surgery_group(m, i, &g, why, sizeof why) != 0) fprintf(log, "%s: not pruned: %s\n", tag, why);
            else if (add_group(s, &g, err, errlen) != 0) return 1;
        }
    } else if (listed_groups(s, m, layers, err, errlen) != 0) {
        return 1;
    }
    if (s->n_groups == 0) {
        snprintf(err, errlen, "layers = %s: %s has no conv layer whose filters can be removed", layers, m->arch);
        return 1;
    }
    return 0;
}

void mt_filter_removal_free(mt_filter_removal *s)
{
    for (int i = 0; i < s->n_groups; i++) free(s->groups[i].keep);
    s->n_groups = 0;
}

int mt_filter_removal_checkpoint(mt_filter_removal *fr, const nn_model *m, mt_ckpt *io)
{
    int rc = 0;
    for (int i = 0; i < fr->n_groups && !rc; i++) {
        mt_pruned_group *l = &fr->groups[i];
        const char *name = m->nodes[l->g.conv[0]].name;
        rc |= mt_ckpt_array(io, MT_I32, &l->n_keep, 1, "%s.n_keep", name);
        if (rc || l->n_keep < 1 || l->n_keep > l->g.channels) return -1;
        rc |= mt_ckpt_array(io, MT_I32, l->keep, (size_t)l->n_keep, "%s.keep", name);
        for (int k = 0; k < l->n_keep && !rc; k++)   /* ascending channel numbers, as surgery needs */
            if (l->keep[k] < 0 || l->keep[k] >= l->g.channels || (k && l->keep[k] <= l->keep[k - 1])) rc = -1;
    }
    return rc ? -1 : 0;
}

double mt_filter_norm(const nn_node *n, int c, int p)
{
    size_t per = n->nw / (size_t)n->out_c;
    const float *w = n->w + (size_t)c * per;
    double s = 0;
    for (size_t j = 0; j < per; j++) s += p == 1 ? fabs((double)w[j]) : (double)w[j] * w[j];
    return p == 1 ? s : sqrt(s);
}

typedef struct { double score; int c; } ranked;

static int cmp_ranked(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    if (x->score != y->score) return x->score < y->score ? -1 : 1;
    return (x->c > y->c) - (x->c < y->c);
}

static int cmp_int(const void *a, const void *b) { return (*(const int *)a > *(const int *)b) - (*(const int *)a < *(const int *)b); }

void mt_group_rank(const nn_model *m, mt_pruned_group *l, int p, int n_prune)
{
    int C = l->g.channels;
    assert(n_prune >= 0 && n_prune < C);
    ranked *rk = malloc((size_t)C * sizeof *rk);
    assert(rk);
    for (int c = 0; c < C; c++) {
        rk[c] = (ranked){ 0.0, c };
        for (int j = 0; j < l->g.n; j++) rk[c].score += mt_filter_norm(&m->nodes[l->g.conv[j]], c, p);
    }
    qsort(rk, (size_t)C, sizeof *rk, cmp_ranked);
    l->n_keep = C - n_prune;
    for (int k = 0; k < l->n_keep; k++) l->keep[k] = rk[n_prune + k].c;
    qsort(l->keep, (size_t)l->n_keep, sizeof *l->keep, cmp_int);
    free(rk);
}

/* A zeroed filter's batch norm (the conv's only consumer) gets the channel's running mean set to
 * what the filter now outputs (its bias, or 0). Otherwise evaluation would normalize the silent
 * channel with the statistics of the weights it had and feed forward -gamma*mean/sd + beta where
 * training feeds beta; in a ResNet, whose residual channels are zeroed in every conv of the stage
 * together, those stale constants add up block after block (SFP on CIFAR-10 ResNet-20 at 30 %
 * evaluated at 10.00 % after its first zeroing). */
void mt_group_zero(nn_model *m, const mt_pruned_group *l, int mask)
{
    for (int j = 0; j < l->g.n; j++) {
        nn_node *n = &m->nodes[l->g.conv[j]];
        size_t per = n->nw / (size_t)n->out_c;
        uint8_t *mk = mask ? nn_node_mask(m, n) : NULL;
        assert(!mask || mk);
        int next = mt_only_consumer(m, l->g.conv[j]);
        nn_node *bn = next >= 0 && m->nodes[next].kind == NN_BATCHNORM ? &m->nodes[next] : NULL;
        for (int c = 0, k = 0; c < n->out_c; c++) {
            if (k < l->n_keep && l->keep[k] == c) { k++; continue; }
            memset(n->w + (size_t)c * per, 0, per * sizeof(float));
            if (mk) memset(mk + (size_t)c * per, 0, per);
            if (bn) bn->run_mean[c] = n->nb ? n->b[c] : 0;
        }
    }
}

static double weighted_macs(const nn_model *m)
{
    double s = 0;
    for (int i = 0; i < m->n_nodes; i++) s += nn_node_macs(&m->nodes[i]);
    return s;
}

int mt_filter_removal_finish(mt_run *run, mt_filter_removal *s, const char *tag, char *err, size_t errlen)
{
    nn_model *m = run->model;
    mt_channel_plan plan;
    memset(&plan, 0, sizeof plan);
    s->removed = 0;
    for (int i = 0; i < s->n_groups; i++) {
        const mt_pruned_group *l = &s->groups[i];
        mt_group_zero(m, l, 0);     /* in case weights moved since the selection */
        for (int j = 0; j < l->g.n; j++) {
            plan.keep[l->g.conv[j]] = l->keep;
            plan.n_keep[l->g.conv[j]] = l->n_keep;
            s->removed += l->g.channels - l->n_keep;
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
    fprintf(run->log, "%s: removed %d filters: MACs %.0f -> %.0f (-%.1f%%), params %zu -> %zu; "
            "removed channels' constants folded into %d biases/BN means and %d edgebias nodes; "
            "test acc before removal %.2f%%\n", tag, s->removed, s->macs_before, s->macs_after,
            100.0 * (1.0 - s->macs_after / s->macs_before), s->params_before, s->params_after,
            s->shrink.folded, s->shrink.edge_nodes, s->acc_soft);
    run->replace_model(run, small);
    s->finished = 1;
    return 0;
}

void mt_filter_removal_account(const mt_filter_removal *s, mt_footprint *fp, const char *tag)
{
    if (!s->finished) return;
    /* the footprint describes the smaller network (same layers, fewer channels); size and MACs
     * are compared with the original one */
    fp->bytes_fp32 = 4.0 * (double)s->params_before;
    for (int k = 0; k < fp->n_layers; k++) fp->layers[k].macs_dense = s->layer_macs_before[k];
    static const char *const keys[] = { "macs_before", "macs_after", "flops_reduction_pct", "params_before",
                                        "params_after", "filters_removed", "acc_soft", "edgebias_nodes" };
    const double vals[] = { s->macs_before, s->macs_after, 100.0 * (1.0 - s->macs_after / s->macs_before),
                            (double)s->params_before, (double)s->params_after, s->removed, s->acc_soft,
                            s->shrink.edge_nodes };
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        char key[48];
        snprintf(key, sizeof key, "%s.%s", tag, keys[i]);
        mt_footprint_extra(fp, key, vals[i]);
    }
}
