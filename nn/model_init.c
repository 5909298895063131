/* Parameter initialisation and thread settings. */
#include "nn/model_priv.h"
#include <assert.h>
#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

/* Variance of the weight distribution = 2 / fan, where fan is fan_in (Kaiming, ReLU gain) or
 * (fan_in + fan_out) (Glorot); uniform draws use bound sqrt(3 * var). */
typedef struct { int fan_avg; int uniform; } init_rule;
static const init_rule init_rules[] = {
    [NN_INIT_KAIMING_NORMAL]  = { 0, 0 },
    [NN_INIT_KAIMING_UNIFORM] = { 0, 1 },
    [NN_INIT_GLOROT_NORMAL]   = { 1, 0 },
    [NN_INIT_GLOROT_UNIFORM]  = { 1, 1 },
};
_Static_assert(sizeof init_rules / sizeof *init_rules == NN_INIT_COUNT, "one rule per scheme");

void nn_node_fans(const nn_node *n, double *fan_in, double *fan_out)
{
    double kk = n->kind == NN_CONV ? (double)n->k * n->k : 1.0;
    double in = n->kind == NN_CONV ? (double)n->in_dims.c : (double)nn_dims_size(n->in_dims);
    *fan_in = in * kk;
    *fan_out = (double)n->out_c * kk;
}

static void init_weights(nn_node *n, const init_rule *r, nn_rng *rng)
{
    double fi, fo;
    nn_node_fans(n, &fi, &fo);
    double var = 2.0 / (r->fan_avg ? fi + fo : fi);
    if (r->uniform) {
        float bound = (float)sqrt(3.0 * var);
        for (size_t j = 0; j < n->nw; j++) n->w[j] = (2.0f * nn_rng_uniform(rng) - 1.0f) * bound;
    } else {
        float sd = (float)sqrt(var);
        for (size_t j = 0; j < n->nw; j++) n->w[j] = nn_rng_normal(rng) * sd;
    }
}

void nn_model_init(nn_model *m, nn_init scheme, nn_rng *rng)
{
    assert(scheme >= 0 && scheme < NN_INIT_COUNT);
    for (int i = 0; i < m->n_nodes; i++) {
        nn_node *n = &m->nodes[i];
        if (nn_is_weighted(n)) init_weights(n, &init_rules[scheme], rng);
        if (n->nb) memset(n->b, 0, n->nb * sizeof(float));
        if (n->kind == NN_BATCHNORM) {
            for (size_t j = 0; j < n->nw; j++) {
                n->w[j] = 1.0f; n->run_mean[j] = 0.0f; n->run_var[j] = 1.0f;
            }
        }
    }
    memset(m->grads, 0, m->n_params * sizeof(float));
    nn_apply_masks(m);
}

void nn_model_set_threads(nn_model *m, int threads)
{
    if (threads < 1) { m->threads = 0; return; }   /* 0: unset, the libraries' defaults */
    m->threads = threads;
    /* The layers split work over samples/outputs with OpenMP and call GEMMs from inside those
     * regions; threaded OpenBLAS there would oversubscribe the cores. */
    openblas_set_num_threads(1);
    omp_set_num_threads(threads);
}

void nn_model_set_conv_gemm_only(nn_model *m, int gemm_only)
{
    nn_priv(m)->conv_gemm_only = gemm_only != 0;
}

void nn_model_set_inference_only(nn_model *m)
{
    nn_model_priv *p = nn_priv(m);
    if (p->inference_only) return;
    nn_model_release(m);            /* re-planned by the next pass */
    p->inference_only = 1;
}

void nn_model_set_inspectable(nn_model *m, int on)
{
    nn_model_priv *p = nn_priv(m);
    if (p->inspectable == (on != 0)) return;
    p->inspectable = on != 0;
    free(p->grad_arena);            /* re-planned by the next training forward */
    p->grad_arena = NULL; p->xin = NULL; p->grad_cap = 0;
    for (int i = 0; i < m->n_nodes; i++) m->nodes[i].dout = NULL;
}
