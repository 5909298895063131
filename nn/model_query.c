/* Read-only questions about a model: names, weight counts, MACs. */
#include "nn/model.h"
#include <assert.h>
#include <stdlib.h>
#include <string.h>

static const char *const kind_names[] = {
    [NN_INPUT] = "input",     [NN_CONV] = "conv",         [NN_LINEAR] = "linear",
    [NN_MAXPOOL] = "maxpool", [NN_AVGPOOL] = "avgpool",   [NN_GAP] = "gap",
    [NN_BATCHNORM] = "bn",    [NN_RELU] = "relu",         [NN_HARDTANH] = "hardtanh",
    [NN_FLATTEN] = "flatten", [NN_ADD] = "add",         [NN_EDGEBIAS] = "edgebias",
};
_Static_assert(sizeof kind_names / sizeof *kind_names == NN_KIND_COUNT, "one name per kind");

const char *nn_kind_name(nn_kind k)
{
    assert(k >= 0 && k < NN_KIND_COUNT);
    return kind_names[k];
}

size_t nn_count_weights(const nn_model *m)
{
    size_t s = 0;
    for (int i = 0; i < m->n_nodes; i++)
        if (nn_is_weighted(&m->nodes[i])) s += m->nodes[i].nw;
    return s;
}

static size_t nonzero_of(const nn_node *n, float *tmp)
{
    const float *w = n->w;
    if (n->wt) { n->wt->forward(n->wt_ctx, n, n->w, tmp, n->nw); w = tmp; }
    size_t s = 0;
    for (size_t j = 0; j < n->nw; j++)
        s += w[j] != 0.0f && (!n->mask || n->mask[j]);
    return s;
}

size_t nn_count_nonzero(const nn_model *m)
{
    size_t maxw = 0, s = 0;
    for (int i = 0; i < m->n_nodes; i++)
        if (m->nodes[i].wt && m->nodes[i].nw > maxw) maxw = m->nodes[i].nw;
    float *tmp = maxw ? malloc(maxw * sizeof(float)) : NULL;
    assert(!maxw || tmp);
    for (int i = 0; i < m->n_nodes; i++)
        if (nn_is_weighted(&m->nodes[i])) s += nonzero_of(&m->nodes[i], tmp);
    free(tmp);
    return s;
}

double nn_node_macs(const nn_node *n)
{
    switch (n->kind) {
    case NN_CONV:
        return (double)n->out_c * n->out_dims.h * n->out_dims.w * n->in_dims.c * n->k * n->k;
    case NN_LINEAR:
        return (double)n->out_c * (double)nn_dims_size(n->in_dims);
    default:
        return 0.0;
    }
}
