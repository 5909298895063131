#include "layer_fixture.h"
#include "nn/model_priv.h"
#include <stdlib.h>
#include <string.h>

lf_rng lf_rng_make(uint64_t seed)
{
    lf_rng r;
    nn_rng_seed(&r.r, seed, 0);
    return r;
}

float lf_uniform(lf_rng *r, float lo, float hi)
{
    return lo + (hi - lo) * nn_rng_uniform(&r->r);
}

void lf_fill(lf_rng *r, float *v, size_t n, float lo, float hi)
{
    for (size_t i = 0; i < n; i++) v[i] = lf_uniform(r, lo, hi);
}

static float *floats(size_t n) { return calloc(n ? n : 1, sizeof(float)); }

int lf_init(lf_layer *L, const nn_node *t, nn_dims in, int batch, int threads, uint64_t seed,
            char *err, size_t errlen)
{
    memset(L, 0, sizeof *L);
    L->m = calloc(1, sizeof(nn_model_priv));    /* the layers may use the private part */
    L->n = &L->m->nodes[0];
    *L->n = *t;
    nn_node *n = L->n;
    if (!n->name[0]) strcpy(n->name, "node");
    n->in_dims = in;
    L->m->n_nodes = 1;
    L->m->threads = threads;
    L->m->batch_cap = batch;
    L->batch = batch;
    const nn_layer_ops *ops = &nn_layer_table[n->kind];
    if (ops->infer(n, err, errlen) != 0) { free(L->m); memset(L, 0, sizeof *L); return -1; }

    lf_rng r = lf_rng_make(seed);
    L->in_len = (size_t)batch * nn_dims_size(in);
    L->out_len = (size_t)batch * nn_dims_size(n->out_dims);
    L->x0 = floats(L->in_len); L->dx0 = floats(L->in_len);
    lf_fill(&r, L->x0, L->in_len, -1.0f, 1.0f);
    if (ops->n_inputs == 2) {
        L->x1 = floats(L->in_len); L->dx1 = floats(L->in_len);
        lf_fill(&r, L->x1, L->in_len, -1.0f, 1.0f);
    }
    n->out = floats(L->out_len); n->dout = floats(L->out_len);
    n->w = floats(n->nw); n->gw = floats(n->nw);
    lf_fill(&r, n->w, n->nw, -1.0f, 1.0f);
    n->w_eff = n->w;
    if (n->nb) { n->b = floats(n->nb); n->gb = floats(n->nb); lf_fill(&r, n->b, n->nb, -1.0f, 1.0f); }
    if (n->kind == NN_BATCHNORM) {
        n->run_mean = floats((size_t)in.c); n->run_var = floats((size_t)in.c);
        for (int c = 0; c < in.c; c++) n->run_var[c] = 1.0f;
    }
    if (ops->cache_bytes) n->cache = calloc(1, ops->cache_bytes(n, batch) + 1);
    if (ops->ws_floats) { L->m->ws_len = ops->ws_floats(n, batch); L->m->ws = floats(L->m->ws_len); }
    return 0;
}

void lf_free(lf_layer *L)
{
    if (!L->m) return;
    nn_node *n = L->n;
    free(L->x0); free(L->x1); free(L->dx0); free(L->dx1);
    free(n->out); free(n->dout); free(n->w); free(n->gw); free(n->b); free(n->gb);
    free(n->run_mean); free(n->run_var); free(n->cache); free(L->m->ws);
    if (nn_priv(L->m)->onednn) nn_priv(L->m)->onednn_free(nn_priv(L->m)->onednn);
    free(L->m);
    memset(L, 0, sizeof *L);
}

void lf_forward(lf_layer *L, int train)
{
    nn_layer_table[L->n->kind].forward(L->m, L->n, L->x0, L->x1, L->batch, train);
}

void lf_backward(lf_layer *L)
{
    nn_node *n = L->n;
    if (n->gw) memset(n->gw, 0, n->nw * sizeof(float));
    if (n->gb) memset(n->gb, 0, n->nb * sizeof(float));
    memset(L->dx0, 0, L->in_len * sizeof(float));
    if (L->dx1) memset(L->dx1, 0, L->in_len * sizeof(float));
    nn_layer_table[n->kind].backward(L->m, n, L->x0, L->x1, L->dx0, L->dx1, L->batch);
}
