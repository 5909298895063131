/* Magnitude pruning over masks: find the k-th smallest |w| once, then prune below it and,
 * for ties, in model order, so the pruned count is exact and the choice deterministic. */
#include "methods/prune.h"
#include <assert.h>
#include <math.h>
#include <stdlib.h>

int mt_weighted_nodes(const nn_model *m, int *idx)
{
    int k = 0;
    for (int i = 0; i < m->n_nodes; i++)
        if (nn_is_weighted(&m->nodes[i])) idx[k++] = i;
    return k;
}

size_t mt_kept(const nn_node *n)
{
    if (!n->mask) return n->nw;
    size_t s = 0;
    for (size_t j = 0; j < n->nw; j++) s += n->mask[j] != 0;
    return s;
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

size_t mt_prune_smallest(nn_model *m, const int *nodes, int n_nodes, size_t count)
{
    size_t total = 0;
    for (int i = 0; i < n_nodes; i++) total += mt_kept(&m->nodes[nodes[i]]);
    if (count > total) count = total;
    if (count == 0) return 0;
    float *mag = malloc(total * sizeof *mag);
    assert(mag);
    size_t k = 0;
    for (int i = 0; i < n_nodes; i++) {
        nn_node *n = &m->nodes[nodes[i]];
        uint8_t *mask = nn_node_mask(m, n);
        assert(mask);
        for (size_t j = 0; j < n->nw; j++)
            if (mask[j]) mag[k++] = fabsf(n->w[j]);
    }
    qsort(mag, total, sizeof *mag, cmp_float);
    float thr = mag[count - 1];
    size_t below = 0;
    for (size_t j = 0; j < count; j++) below += mag[j] < thr;
    free(mag);
    size_t ties = count - below, pruned = 0;    /* ties: how many |w| == thr to prune */
    for (int i = 0; i < n_nodes; i++) {
        nn_node *n = &m->nodes[nodes[i]];
        for (size_t j = 0; j < n->nw; j++) {
            if (!n->mask[j]) continue;
            float a = fabsf(n->w[j]);
            if (a < thr || (a == thr && ties > 0)) {
                if (a == thr) ties--;
                n->mask[j] = 0;
                n->w[j] = 0.0f;
                pruned++;
            }
        }
    }
    assert(pruned == count);
    return pruned;
}
