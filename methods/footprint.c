/* Footprints: the dense starting point every method adjusts, and the sparse form the pruning
 * methods report. */
#include "methods/footprint.h"
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Nonzero effective weights of a layer: through its transform when one is attached. */
static size_t layer_nonzero(const nn_node *n)
{
    const float *w = n->w;
    float *tmp = NULL;
    if (n->wt) {
        tmp = malloc(n->nw * sizeof *tmp);
        assert(tmp);
        n->wt->forward(n->wt_ctx, n, n->w, tmp, n->nw);
        w = tmp;
    }
    size_t s = 0;
    for (size_t j = 0; j < n->nw; j++) s += w[j] != 0.0f && (!n->mask || n->mask[j]);
    free(tmp);
    return s;
}

void mt_footprint_dense(const nn_model *m, mt_footprint *fp)
{
    memset(fp, 0, sizeof *fp);
    for (int i = 0; i < m->n_nodes; i++) {
        const nn_node *n = &m->nodes[i];
        if (!nn_is_weighted(n)) continue;
        assert(fp->n_layers < MT_MAX_LAYERS);
        mt_layer_fp *l = &fp->layers[fp->n_layers++];
        snprintf(l->name, sizeof l->name, "%s", n->name);
        l->w_bits = l->a_bits = 32;
        l->n_weights = n->nw;
        l->nonzero = layer_nonzero(n);
        l->bytes = 4.0 * (double)(n->nw + n->nb);
        l->macs_dense = l->macs_needed = nn_node_macs(n);
    }
    fp->bytes_fp32 = 4.0 * (double)m->n_params;
    fp->bytes = fp->bytes_fp32;
}

void mt_footprint_extra(mt_footprint *fp, const char *key, double val)
{
    assert(fp->n_extras < MT_MAX_EXTRAS);
    assert(strlen(key) < sizeof fp->extra_key[0]);
    snprintf(fp->extra_key[fp->n_extras], sizeof fp->extra_key[0], "%s", key);
    fp->extra_val[fp->n_extras++] = val;
}

size_t mt_sparse_entries(const float *w, const uint8_t *mask, size_t n, int index_bits,
                         size_t *pos, size_t *kept)
{
    assert(index_bits >= 1 && index_bits <= 24);
    const size_t span = (size_t)1 << index_bits;      /* longest encodable distance */
    size_t entries = 0, k = 0;
    long long prev = -1;
    for (size_t j = 0; j < n; j++) {
        if ((w && w[j] == 0.0f) || (mask && !mask[j])) continue;
        while ((long long)j - prev > (long long)span) {   /* filler zero */
            prev += (long long)span;
            if (pos) pos[entries] = (size_t)prev;
            entries++;
        }
        if (pos) pos[entries] = j;
        entries++;
        k++;
        prev = (long long)j;
    }
    if (kept) *kept = k;
    return entries;
}

double mt_sparse_bytes(size_t entries, int value_bits, int index_bits, size_t n_bias)
{
    return (double)entries * (value_bits + index_bits) / 8.0 + 4.0 * (double)n_bias;
}

void mt_footprint_retotal(const nn_model *m, mt_footprint *fp)
{
    size_t in_layers = 0;
    for (int i = 0; i < m->n_nodes; i++)
        if (nn_is_weighted(&m->nodes[i])) in_layers += m->nodes[i].nw + m->nodes[i].nb;
    double total = 4.0 * (double)(m->n_params - in_layers);
    for (int l = 0; l < fp->n_layers; l++) total += fp->layers[l].bytes;
    fp->bytes = total;
}

void mt_footprint_sparse(const nn_model *m, mt_footprint *fp, int index_bits_conv, int index_bits_fc)
{
    int l = 0;
    for (int i = 0; i < m->n_nodes; i++) {
        const nn_node *n = &m->nodes[i];
        if (!nn_is_weighted(n)) continue;
        assert(l < fp->n_layers && strcmp(fp->layers[l].name, n->name) == 0);
        mt_layer_fp *f = &fp->layers[l++];
        int ib = n->kind == NN_CONV ? index_bits_conv : index_bits_fc;
        size_t kept = 0;
        size_t entries = mt_sparse_entries(n->w, n->mask, n->nw, ib, NULL, &kept);
        f->nonzero = kept;
        f->bytes = mt_sparse_bytes(entries, 32, ib, n->nb);
        f->macs_needed = n->nw ? f->macs_dense * (double)kept / (double)n->nw : 0.0;
    }
    mt_footprint_retotal(m, fp);
}
