#include "methods/quant_util.h"
#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int qu_select(const nn_model *m, int first_last_fp, uint8_t sel[NN_MAX_NODES])
{
    int first = -1, last = -1, count = 0;
    memset(sel, 0, NN_MAX_NODES);
    for (int i = 0; i < m->n_nodes; i++) {
        if (!nn_is_weighted(&m->nodes[i])) continue;
        if (first < 0) first = i;
        last = i;
        sel[i] = 1;
    }
    if (first_last_fp && first >= 0) { sel[first] = 0; sel[last] = 0; }
    for (int i = 0; i < m->n_nodes; i++) count += sel[i];
    return count;
}

size_t qu_filter_size(const nn_node *n)
{
    assert(nn_is_weighted(n) && n->out_c > 0 && n->nw % (size_t)n->out_c == 0);
    return n->nw / (size_t)n->out_c;
}

int qu_input_source(const nn_model *m, int i)
{
    int p = m->nodes[i].in[0];
    while (p >= 0) {
        nn_kind k = m->nodes[p].kind;
        if (k != NN_MAXPOOL && k != NN_AVGPOOL && k != NN_FLATTEN && k != NN_GAP) break;
        p = m->nodes[p].in[0];
    }
    return p;
}

float qu_max_abs(const float *v, size_t n)
{
    float mx = 0.0f;
    for (size_t i = 0; i < n; i++) mx = fmaxf(mx, fabsf(v[i]));
    return mx;
}

float qu_inq_round(float x, int n1, int n2)
{
    if (x == 0.0f) return 0.0f;
    int e = (int)floor(log2(4.0 * fabs((double)x) / 3.0));
    if (e > n1) e = n1;
    if (e < n2) return 0.0f;
    float q = ldexpf(1.0f, e);
    return x < 0 ? -q : q;
}

float qu_pow2_round(float x, int pmin, int pmax)
{
    if (x == 0.0f) return 0.0f;
    int e = (int)lround(log2(fabs((double)x)));
    if (e > pmax) e = pmax;
    if (e < pmin) return 0.0f;
    float q = ldexpf(1.0f, e);
    return x < 0 ? -q : q;
}

float qu_fixed_round(float x, int int_bits, int frac_bits)
{
    double ulp = ldexp(1.0, -frac_bits);
    double hi = ldexp(1.0, int_bits - 1) - ulp, lo = -ldexp(1.0, int_bits - 1);
    double q = floor((double)x / ulp + 0.5) * ulp;
    return (float)(q < lo ? lo : q > hi ? hi : q);
}

void qu_fixed_round_array(const float *x, float *y, size_t n, int int_bits, int frac_bits)
{
    /* x / 2^-f and q * 2^-f are exact in double, so multiplying by the powers replaces
     * qu_fixed_round's ldexp and division without changing a bit */
    const double scale = ldexp(1.0, frac_bits), ulp = ldexp(1.0, -frac_bits);
    const double hi = ldexp(1.0, int_bits - 1) - ulp, lo = -ldexp(1.0, int_bits - 1);
    const long long m = (long long)n;
#pragma omp parallel for simd schedule(static) if (m > 32768)
    for (long long i = 0; i < m; i++) {
        double q = floor((double)x[i] * scale + 0.5) * ulp;
        y[i] = (float)(q < lo ? lo : q > hi ? hi : q);
    }
}

float qu_unit_round(float x, int bits)
{
    float levels = (float)((1u << bits) - 1u);
    return floorf(x * levels + 0.5f) / levels;
}

void qu_ste_hardtanh(const float *x, const float *g, float *g_x, size_t n)
{
    for (size_t i = 0; i < n; i++) g_x[i] = fabsf(x[i]) <= 1.0f ? g[i] : 0.0f;
}

void qu_clip(float *w, size_t n, float lim)
{
    for (size_t i = 0; i < n; i++) w[i] = w[i] > lim ? lim : w[i] < -lim ? -lim : w[i];
}

int qu_params_init(qu_params *p, size_t n)
{
    p->n = n; p->t = 0;
    p->m = calloc(n ? n : 1, sizeof *p->m);
    p->v = calloc(n ? n : 1, sizeof *p->v);
    if (!p->m || !p->v) { qu_params_free(p); return -1; }
    return 0;
}

void qu_params_reset(qu_params *p)
{
    memset(p->m, 0, p->n * sizeof *p->m);
    memset(p->v, 0, p->n * sizeof *p->v);
    p->t = 0;
}

void qu_params_free(qu_params *p)
{
    free(p->m); free(p->v);
    p->m = p->v = NULL; p->n = 0;
}

int qu_params_checkpoint(qu_params *p, mt_ckpt *io, const char *layer, const char *what)
{
    long long t = p->t;
    int rc = mt_ckpt_array(io, MT_F32, p->m, p->n, "%s.%s.m", layer, what);
    rc |= mt_ckpt_array(io, MT_F32, p->v, p->n, "%s.%s.v", layer, what);
    rc |= mt_ckpt_array(io, MT_I64, &t, 1, "%s.%s.t", layer, what);
    p->t = (long)t;
    return rc ? -1 : 0;
}

void qu_params_step(qu_params *s, const nn_optim *o, float lr, float decay, float *p, const float *g)
{
    s->t++;
    if (o->kind == NN_ADAM) {
        double c1 = 1.0 - pow(o->beta1, (double)s->t), c2 = 1.0 - pow(o->beta2, (double)s->t);
        for (size_t i = 0; i < s->n; i++) {
            float gi = g[i] + decay * p[i];
            s->m[i] = o->beta1 * s->m[i] + (1 - o->beta1) * gi;
            s->v[i] = o->beta2 * s->v[i] + (1 - o->beta2) * gi * gi;
            double mh = s->m[i] / c1, vh = s->v[i] / c2;
            p[i] -= (float)(lr * mh / (sqrt(vh) + o->eps));
        }
        return;
    }
    /* SGD, PyTorch convention: buf = mu*buf + g; step = g + mu*buf (nesterov) or buf */
    for (size_t i = 0; i < s->n; i++) {
        float gi = g[i] + decay * p[i];
        float step = gi;
        if (o->momentum > 0) {
            s->m[i] = o->momentum * s->m[i] + gi;
            step = o->nesterov ? gi + o->momentum * s->m[i] : s->m[i];
        }
        p[i] -= lr * step;
    }
}

int qu_fp_set(mt_footprint *fp, const nn_node *n, int w_bits, int a_bits, double extra_bytes)
{
    for (int i = 0; i < fp->n_layers; i++) {
        mt_layer_fp *l = &fp->layers[i];
        if (strcmp(l->name, n->name) != 0) continue;
        double bytes = (double)w_bits * (double)n->nw / 8.0 + extra_bytes + 4.0 * (double)n->nb;
        fp->bytes += bytes - l->bytes;
        l->bytes = bytes;
        l->w_bits = w_bits;
        l->a_bits = a_bits;
        return 0;
    }
    return -1;
}

int qu_bake(nn_node *n)
{
    if (!n->wt) return 0;
    float *tmp = malloc((n->nw ? n->nw : 1) * sizeof *tmp);
    if (!tmp) return -1;
    n->wt->forward(n->wt_ctx, n, n->w, tmp, n->nw);
    memcpy(n->w, tmp, n->nw * sizeof *tmp);
    free(tmp);
    n->wt = NULL; n->wt_ctx = NULL;
    return 0;
}

qu_uniform qu_uniform_range(float lo, float hi, int bits, int symmetric)
{
    assert(bits >= 2 && bits <= 16 && lo <= hi);
    qu_uniform q;
    if (symmetric) {
        q.qmax = (1 << (bits - 1)) - 1;
        q.qmin = -q.qmax;
        q.zero = 0;
        q.scale = fmaxf(fabsf(lo), fabsf(hi)) / (float)q.qmax;
    } else {
        lo = fminf(lo, 0.0f);
        hi = fmaxf(hi, 0.0f);
        q.qmin = 0;
        q.qmax = (1 << bits) - 1;
        q.scale = (hi - lo) / (float)q.qmax;
        q.zero = q.scale > 0 ? (int)lrintf(-lo / q.scale) : 0;
        if (q.zero > q.qmax) q.zero = q.qmax;
    }
    if (!(q.scale > 0)) q.scale = 1.0f;         /* an all-zero range: every value maps to 0 */
    return q;
}

float qu_uniform_fake(const qu_uniform *q, float x)
{
    float v = nearbyintf(x / q->scale) + (float)q->zero;
    v = fminf(fmaxf(v, (float)q->qmin), (float)q->qmax);
    return (v - (float)q->zero) * q->scale;
}
