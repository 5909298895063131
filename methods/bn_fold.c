/* Batch-norm folding into the layer before it (see bn_fold.h). */
#include "methods/bn_fold.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The batch norm that is weighted node i's only reader, or -1. */
static int folds_into(const nn_model *m, int i)
{
    if (!nn_is_weighted(&m->nodes[i])) return -1;
    int next = -1, n = 0;
    for (int j = i + 1; j < m->n_nodes; j++)
        for (int k = 0; k < m->nodes[j].n_in; k++)
            if (m->nodes[j].in[k] == i && n++ == 0) next = j;
    return n == 1 && m->nodes[next].kind == NN_BATCHNORM ? next : -1;
}

nn_model *mt_bn_fold(const nn_model *m, int *n_folded, char *err, size_t errlen)
{
    int bn_of[NN_MAX_NODES], self[NN_MAX_NODES], folded = 0;
    for (int i = 0; i < m->n_nodes; i++) {
        const nn_node *n = &m->nodes[i];
        if (n->wt || n->xt) {
            snprintf(err, errlen, "%s carries a weight or input transform: fold batch norm on the plain network", n->name);
            return NULL;
        }
        bn_of[i] = folds_into(m, i);
    }
    nn_builder *b = nn_builder_new(m->arch, m->in_dims, m->n_classes);
    if (!b) { snprintf(err, errlen, "out of memory"); return NULL; }
    for (int i = 0; i < m->n_nodes; i++) self[i] = -2;
    for (int i = 0; i < m->n_nodes; i++) {
        const nn_node *n = &m->nodes[i];
        int in0 = n->in[0] < 0 ? -1 : self[n->in[0]], in1 = n->n_in > 1 && n->in[1] >= 0 ? self[n->in[1]] : -1;
        if (n->kind == NN_BATCHNORM && i > 0 && n->in[0] >= 0 && bn_of[n->in[0]] == i) {
            self[i] = in0;      /* merged: its readers read the layer before it */
            folded++;
            continue;
        }
        nn_node t = *n;
        if (bn_of[i] >= 0) t.has_bias = 1;
        self[i] = nn_add_like(b, &t, in0, in1);
        if (self[i] < 0) {
            char msg[NN_ERR_MAX] = "";
            nn_model_free(nn_builder_finish(b, msg, sizeof msg));   /* collects the message */
            snprintf(err, errlen, "rebuilding %s at %s: %s", m->arch, n->name, msg);
            return NULL;
        }
    }
    nn_model *f = nn_builder_finish(b, err, errlen);
    if (!f) return NULL;
    for (int i = 0; i < m->n_nodes; i++) {
        const nn_node *o = &m->nodes[i];
        if (o->kind == NN_BATCHNORM && o->in[0] >= 0 && bn_of[o->in[0]] == i) continue;
        nn_node *n = &f->nodes[self[i]];
        if (o->nw) memcpy(n->w, o->w, o->nw * sizeof *o->w);   /* weightless nodes have no buffer */
        if (o->nb) memcpy(n->b, o->b, o->nb * sizeof *o->b);
        if (o->run_mean) {
            memcpy(n->run_mean, o->run_mean, o->nw * sizeof *o->run_mean);
            memcpy(n->run_var, o->run_var, o->nw * sizeof *o->run_var);
        }
        if (o->mask) memcpy(nn_node_mask(f, n), o->mask, o->nw);
        n->kernel = o->kernel;
        n->frozen = o->frozen;
        n->wform = o->wform;
        if (bn_of[i] < 0) continue;
        const nn_node *bn = &m->nodes[bn_of[i]];
        size_t per = o->nw / (size_t)o->out_c;
        for (int c = 0; c < o->out_c; c++) {
            double s = (double)bn->w[c] / sqrt((double)bn->run_var[c] + NN_BN_EPS);
            for (size_t j = 0; j < per; j++) n->w[(size_t)c * per + j] = (float)((double)o->w[(size_t)c * per + j] * s);
            double b0 = o->has_bias ? (double)o->b[c] : 0.0;
            n->b[c] = (float)((b0 - (double)bn->run_mean[c]) * s + (double)bn->b[c]);
        }
    }
    nn_model_set_threads(f, m->threads);
    if (n_folded) *n_folded = folded;
    return f;
}
