/* The forward/backward driver: walks the nodes through nn_layer_table and applies the
 * compression attachments (weight transform, mask, input transform, freezing) around them. */
#include "nn/model_priv.h"
#include "nn/layer_kinds.h"
#include <assert.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

static const float *output_of(const nn_model *m, int in, const float *x)
{
    return in < 0 ? x : m->nodes[in].out;
}

static float *dout_of(nn_model *m, int in)
{
    return in < 0 ? NULL : m->nodes[in].dout;   /* nobody wants d(model input) */
}

static void mask_floats(float *v, const uint8_t *mask, size_t n)
{
    for (size_t j = 0; j < n; j++) v[j] = mask[j] ? v[j] : 0.0f;
}

/* w_eff = mask * wt(w); aliases w when nothing is attached (no copy). */
static void effective_weights(nn_model_priv *p, int i)
{
    nn_node *n = &p->pub.nodes[i];
    if (!n->wt && !n->mask) { n->w_eff = n->w; return; }
    float *we = p->weff_own[i];
    if (n->wt) n->wt->forward(n->wt_ctx, n, n->w, we, n->nw);
    else memcpy(we, n->w, n->nw * sizeof(float));
    if (n->mask) mask_floats(we, n->mask, n->nw);
    n->w_eff = we;
}

/* node->x_q for batch_cap samples; grows only when the capacity or the transform is new. */
static int ensure_xq(nn_model_priv *p, int i)
{
    nn_node *n = &p->pub.nodes[i];
    if (n->x_q && p->xq_cap[i] >= p->pub.batch_cap) return 0;
    free(n->x_q);
    n->x_q = nn_alloc_aligned((size_t)p->pub.batch_cap * nn_dims_size(n->in_dims) * sizeof(float));
    p->xq_cap[i] = n->x_q ? p->pub.batch_cap : 0;
    return n->x_q ? 0 : -1;
}

static int ensure_gq(nn_model_priv *p, size_t need)
{
    if (p->gq_len >= need) return 0;
    free(p->gq); free(p->gx);
    p->gq = nn_alloc_aligned(need * sizeof(float));
    p->gx = nn_alloc_aligned(need * sizeof(float));
    p->gq_len = p->gq && p->gx ? need : 0;
    return p->gq_len ? 0 : -1;
}

static const float *forward_nodes(nn_model *m, const float *x, int batch, int train);

/* One image at inference runs on one thread: every layer's parallel region would wake the other
 * threads for microseconds of work, which on the 2-core VMs measured costs far more than it
 * saves (fp32 ResNet-20, eval --bench batch 1: 879 images/s on one thread, 200 on two; LeNet-5
 * 8,786 against 2,655). Each layer computes a sample the same way on any thread count, so the
 * numbers do not change. */
const float *nn_forward(nn_model *m, const float *x, int batch, int train)
{
    const int threads = m->threads;
    if (train || batch != 1 || threads <= 1) return forward_nodes(m, x, batch, train);
    m->threads = 1;
    omp_set_num_threads(1);
    const float *y = forward_nodes(m, x, batch, train);
    m->threads = threads;
    omp_set_num_threads(threads);
    return y;
}

static const float *forward_nodes(nn_model *m, const float *x, int batch, int train)
{
    assert(batch > 0 && m->n_nodes > 0);
    nn_model_priv *p = nn_priv(m);
    if (train && p->inference_only) return NULL;     /* its outputs are overwritten as it goes */
    if (batch > m->batch_cap && nn_model_reserve(m, batch) != 0) return NULL;
    nn_layouts_update(m);
    if (train && nn_reserve_grads(m, batch) != 0) return NULL;
    if (train && x != p->xin) {   /* keep the batch: backward needs it, the caller may reuse x */
        memcpy(p->xin, x, (size_t)batch * nn_dims_size(m->in_dims) * sizeof(float));
        x = p->xin;
    }
    for (int i = 0; i < m->n_nodes; i++) {
        nn_node *n = &m->nodes[i];
        const float *x0 = output_of(m, n->in[0], x);
        const float *x1 = n->n_in == 2 ? output_of(m, n->in[1], x) : NULL;
        if (n->run && !train) {
            n->run(n->run_ctx, m, n, x0, x1, batch);
            continue;
        }
        if (nn_is_weighted(n)) {
            effective_weights(p, i);
            if (n->xt) {
                if (ensure_xq(p, i) != 0) return NULL;
                if (train && n->in[0] >= 0 &&     /* backward's scratch, grown here where we can fail */
                    ensure_gq(p, (size_t)p->grad_cap * nn_dims_size(n->in_dims)) != 0) return NULL;
                n->xt->forward(n->xt_ctx, n, x0, n->x_q, nn_dims_size(n->in_dims), batch);
                x0 = n->x_q;
            }
        }
        nn_layer_table[n->kind].forward(m, n, x0, x1, batch, train);
    }
    return m->nodes[m->n_nodes - 1].out;
}

void nn_zero_grad(nn_model *m)
{
    memset(m->grads, 0, m->n_params * sizeof(float));
}

/* gw holds d(w_eff): mask it, map it through the transform to d(latent w), mask again (the
 * transform may spread gradient), then zero what must not move. */
static void weight_grads(nn_model_priv *p, nn_node *n)
{
    float *g = n->gw;
    if (n->mask) mask_floats(g, n->mask, n->nw);
    if (n->wt) {
        memcpy(p->geff, g, n->nw * sizeof(float));
        n->wt->backward(n->wt_ctx, n, n->w, n->w_eff, p->geff, g, n->nw);
        if (n->mask) mask_floats(g, n->mask, n->nw);
    }
    if (n->frozen) memset(g, 0, n->nw * sizeof(float));
    else if (n->wfreeze)
        for (size_t j = 0; j < n->nw; j++) g[j] = n->wfreeze[j] ? 0.0f : g[j];
}

/* Gradient buffers are shared between nodes whose lifetimes do not overlap (nn/model.c) and
 * are never cleared: the first layer to write a producer's gradient assigns it (dx_fresh),
 * later ones add. */
void nn_backward(nn_model *m, const float *dlogits, int batch)
{
    nn_model_priv *p = nn_priv(m);
    assert(batch > 0 && batch <= p->grad_cap && "nn_backward must follow nn_forward(train=1)");
    const float *x = p->xin;
    int last = m->n_nodes - 1;
    uint8_t written[NN_MAX_NODES] = { 0 };
    memcpy(m->nodes[last].dout, dlogits, (size_t)batch * (size_t)m->n_classes * sizeof(float));
    written[last] = 1;

    for (int i = last; i >= 0; i--) {
        nn_node *n = &m->nodes[i];
        if (!written[i])    /* nothing consumed this node's output */
            memset(n->dout, 0, (size_t)batch * nn_dims_size(n->out_dims) * sizeof(float));
        for (int j = 0; j < n->n_in; j++)
            n->dx_fresh[j] = n->in[j] >= 0 && !written[n->in[j]] && !(j == 1 && n->in[1] == n->in[0]);
        const float *x0 = output_of(m, n->in[0], x);
        const float *x1 = n->n_in == 2 ? output_of(m, n->in[1], x) : NULL;
        float *dx0 = dout_of(m, n->in[0]);
        float *dx1 = n->n_in == 2 ? dout_of(m, n->in[1]) : NULL;
        int xt = nn_is_weighted(n) && n->xt;
        if (!xt) {
            nn_layer_table[n->kind].backward(m, n, x0, x1, dx0, dx1, batch);
            if (nn_is_weighted(n)) weight_grads(p, n);
        } else {
            /* Input transform: the layer saw x_q, so its dx is d(x_q); map it back, then write
             * or add it into the producer's gradient. */
            size_t per = nn_dims_size(n->in_dims), len = (size_t)batch * per;
            const int fresh = n->dx_fresh[0];
            float *gq = NULL;
            if (dx0) {
                assert(p->gq_len >= len && "nn_backward must follow nn_forward(train=1)");
                gq = p->gq;
            }
            n->dx_fresh[0] = 1;
            nn_layer_table[n->kind].backward(m, n, n->x_q, x1, gq, dx1, batch);
            weight_grads(p, n);
            if (dx0) {
                const float *gx = gq;
                if (n->xt->backward) {
                    n->xt->backward(n->xt_ctx, n, x0, n->x_q, gq, p->gx, per, batch);
                    gx = p->gx;
                }
                nn_dx_put(m, fresh, dx0, gx, len);
            }
        }
        for (int j = 0; j < n->n_in; j++)
            if (n->in[j] >= 0) written[n->in[j]] = 1;
        n->dx_fresh[0] = n->dx_fresh[1] = 0;    /* direct callers (tests) get the += contract */
    }
}

void nn_apply_masks(nn_model *m)
{
    for (int i = 0; i < m->n_nodes; i++) {
        nn_node *n = &m->nodes[i];
        if (n->mask) mask_floats(n->w, n->mask, n->nw);
    }
}
