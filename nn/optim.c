/* SGD (PyTorch's momentum/Nesterov convention) and Adam over the contiguous parameter
 * buffer, walked segment by segment so frozen layers and frozen weights are skipped. */
#include "nn/optim.h"
#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int nn_optim_init(nn_optim *o, nn_optim_kind kind, const nn_model *m)
{
    assert(kind >= 0 && kind < NN_OPTIM_COUNT);
    memset(o, 0, sizeof *o);
    o->kind = kind;
    o->momentum = 0.9f;
    o->beta1 = 0.9f; o->beta2 = 0.999f; o->eps = 1e-8f;
    o->n = m->n_params;
    size_t bytes = (o->n ? o->n : 1) * sizeof(float);
    o->m = calloc(1, bytes);
    if (kind == NN_ADAM) o->v = calloc(1, bytes);
    if (!o->m || (kind == NN_ADAM && !o->v)) { nn_optim_free(o); return -1; }
    return 0;
}

void nn_optim_reset(nn_optim *o)
{
    if (o->m) memset(o->m, 0, o->n * sizeof(float));
    if (o->v) memset(o->v, 0, o->n * sizeof(float));
    o->step = 0;
}

void nn_optim_free(nn_optim *o)
{
    free(o->m); free(o->v);
    o->m = o->v = NULL;
    o->n = 0;
}

/* One contiguous run of parameters [off, off+n) with its optional per-weight freeze flags. */
typedef struct { size_t off, n; const uint8_t *freeze; } segment;

/* The update loops are branch-free per element (decay multiplies by the 0/1 flag, freezing
 * selects the old value) so they vectorize; the modes are constants after inlining. */
enum { SGD_PLAIN, SGD_MOMENTUM, SGD_NESTEROV };

static inline void sgd_loop(float *restrict p, float *restrict buf, const float *restrict g,
                            const uint8_t *restrict dec, const uint8_t *restrict fz, size_t n,
                            float lr, float mu, float wd, int mode)
{
    for (size_t j = 0; j < n; j++) {
        float gj = g[j] + wd * (float)dec[j] * p[j];
        float b = mode == SGD_PLAIN ? 0.0f : mu * buf[j] + gj;
        float d = mode == SGD_PLAIN ? gj : mode == SGD_NESTEROV ? gj + mu * b : b;
        int keep = fz && fz[j];
        if (mode != SGD_PLAIN) buf[j] = keep ? buf[j] : b;
        p[j] = keep ? p[j] : p[j] - lr * d;
    }
}

static void sgd_segment(const nn_optim *o, nn_model *md, segment s, float lr)
{
    float *p = md->params + s.off, *buf = o->m + s.off;
    const float *g = md->grads + s.off;
    const uint8_t *dec = md->decay + s.off;
    const float mu = o->momentum, wd = o->weight_decay;
    int mode = mu == 0.0f ? SGD_PLAIN : o->nesterov ? SGD_NESTEROV : SGD_MOMENTUM;
    if (s.freeze) {
        switch (mode) {
        case SGD_PLAIN: sgd_loop(p, buf, g, dec, s.freeze, s.n, lr, mu, wd, SGD_PLAIN); break;
        case SGD_MOMENTUM: sgd_loop(p, buf, g, dec, s.freeze, s.n, lr, mu, wd, SGD_MOMENTUM); break;
        default: sgd_loop(p, buf, g, dec, s.freeze, s.n, lr, mu, wd, SGD_NESTEROV); break;
        }
    } else {
        switch (mode) {
        case SGD_PLAIN: sgd_loop(p, buf, g, dec, NULL, s.n, lr, mu, wd, SGD_PLAIN); break;
        case SGD_MOMENTUM: sgd_loop(p, buf, g, dec, NULL, s.n, lr, mu, wd, SGD_MOMENTUM); break;
        default: sgd_loop(p, buf, g, dec, NULL, s.n, lr, mu, wd, SGD_NESTEROV); break;
        }
    }
}

static inline void adam_loop(float *restrict p, float *restrict m1, float *restrict m2,
                             const float *restrict g, const uint8_t *restrict dec,
                             const uint8_t *restrict fz, size_t n, float b1, float b2, float wd,
                             float eps, float step, float inv_sqrt_bc2)
{
    for (size_t j = 0; j < n; j++) {
        float gj = g[j] + wd * (float)dec[j] * p[j];
        float a = b1 * m1[j] + (1.0f - b1) * gj;
        float v = b2 * m2[j] + (1.0f - b2) * gj * gj;
        int keep = fz && fz[j];
        m1[j] = keep ? m1[j] : a;
        m2[j] = keep ? m2[j] : v;
        p[j] = keep ? p[j] : p[j] - step * a / (sqrtf(v) * inv_sqrt_bc2 + eps);
    }
}

static void adam_segment(const nn_optim *o, nn_model *md, segment s, float lr)
{
    float *p = md->params + s.off, *m1 = o->m + s.off, *m2 = o->v + s.off;
    const float *g = md->grads + s.off;
    const uint8_t *dec = md->decay + s.off;
    const double t = (double)o->step;
    const float step = (float)(lr / (1.0 - pow(o->beta1, t)));
    const float inv_sqrt_bc2 = (float)(1.0 / sqrt(1.0 - pow(o->beta2, t)));
    if (s.freeze)
        adam_loop(p, m1, m2, g, dec, s.freeze, s.n, o->beta1, o->beta2, o->weight_decay, o->eps,
                  step, inv_sqrt_bc2);
    else
        adam_loop(p, m1, m2, g, dec, NULL, s.n, o->beta1, o->beta2, o->weight_decay, o->eps,
                  step, inv_sqrt_bc2);
}

typedef void (*segment_fn)(const nn_optim *, nn_model *, segment, float);
static const segment_fn optim_fns[] = { [NN_SGD] = sgd_segment, [NN_ADAM] = adam_segment };
_Static_assert(sizeof optim_fns / sizeof *optim_fns == NN_OPTIM_COUNT, "one update per optimizer");

void nn_optim_step(nn_optim *o, nn_model *m, float lr)
{
    assert(o->n == m->n_params && "optimizer was set up for another model");
    segment_fn fn = optim_fns[o->kind];
    o->step++;
    for (int i = 0; i < m->n_nodes; i++) {
        const nn_node *n = &m->nodes[i];
        if (n->nw && !n->frozen)
            fn(o, m, (segment){ n->w_off, n->nw, nn_is_weighted(n) ? n->wfreeze : NULL }, lr);
        if (n->nb) fn(o, m, (segment){ n->b_off, n->nb, NULL }, lr);
    }
    nn_apply_masks(m);
}
