/* Filter removal into the smaller dense network. Channel bookkeeping walks the graph once in
 * topological order: every node's output has a list of surviving channels of the original
 * (NULL = all); a flatten turns it into a feature list (channel-major, h*w features per
 * channel). The removed channels' constants come from one evaluation-mode pass on a zero
 * input: a zero filter makes a channel the same for every input, and every node between it
 * and the next weighted layer acts per channel, so it is one value over the whole map. */
#include "methods/surgery.h"
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct { int n; int *v; } chlist;       /* v == NULL: all n */

static int at_(chlist l, int k) { return l.v ? l.v[k] : k; }

static chlist copy_of(const int *v, int n)
{
    chlist l = { n, NULL };
    if (!v) return l;
    l.v = malloc((size_t)(n ? n : 1) * sizeof *l.v);
    assert(l.v);
    memcpy(l.v, v, (size_t)n * sizeof *l.v);
    return l;
}

static chlist expand(chlist in, size_t hw, size_t total)
{
    if (!in.v) return (chlist){ (int)total, NULL };
    chlist out = { (int)((size_t)in.n * hw), malloc((size_t)in.n * hw * sizeof(int) + 1) };
    assert(out.v);
    for (int k = 0; k < in.n; k++)
        for (size_t t = 0; t < hw; t++) out.v[(size_t)k * hw + t] = (int)((size_t)in.v[k] * hw + t);
    return out;
}

static int same(chlist a, chlist b)
{
    if (a.n != b.n) return 0;
    for (int k = 0; k < a.n; k++) if (at_(a, k) != at_(b, k)) return 0;
    return 1;
}

/* Marks the entries of l among 0..total-1 (1 = kept). */
static unsigned char *kept_set(chlist l, int total)
{
    unsigned char *s = calloc((size_t)total + 1, 1);
    assert(s);
    for (int k = 0; k < l.n; k++) s[at_(l, k)] = 1;
    return s;
}

int mt_only_consumer(const nn_model *m, int node)
{
    int next = -1, n = 0;
    for (int j = node + 1; j < m->n_nodes; j++)
        for (int k = 0; k < m->nodes[j].n_in; k++)
            if (m->nodes[j].in[k] == node && n++ == 0) next = j;
    return n == 1 ? next : -1;
}

/* ---- the plan ---------------------------------------------------------------------------- */

static int check_plan(const nn_model *m, const mt_channel_plan *p, char *err, size_t errlen)
{
    for (int i = 0; i < m->n_nodes; i++) {
        if (!p->keep[i]) continue;
        const nn_node *n = &m->nodes[i];
        if (n->kind != NN_CONV || p->n_keep[i] < 1 || p->n_keep[i] > n->out_c) {
            snprintf(err, errlen, "%s: can only shrink a conv, to 1..%d channels", n->name, n->out_c);
            return -1;
        }
        for (int k = 0; k < p->n_keep[i]; k++)
            if (p->keep[i][k] < 0 || p->keep[i][k] >= n->out_c || (k > 0 && p->keep[i][k] <= p->keep[i][k - 1])) {
                snprintf(err, errlen, "%s: kept channels must be ascending, in 0..%d", n->name, n->out_c - 1);
                return -1;
            }
        size_t per = n->nw / (size_t)n->out_c;
        for (int c = 0, k = 0; c < n->out_c; c++) {
            if (k < p->n_keep[i] && p->keep[i][k] == c) { k++; continue; }
            for (size_t j = 0; j < per; j++)
                if (n->w[(size_t)c * per + j] != 0.0f && (!n->mask || n->mask[(size_t)c * per + j])) {
                    snprintf(err, errlen, "%s: filter %d is removed but not zero", n->name, c);
                    return -1;
                }
        }
    }
    return 0;
}

/* Surviving channels of every node's output (out) and, for weighted layers, of their input
 * (in, as features for a linear layer). 0, or -1 when an addition's operands or the network
 * output lose channels. */
static int channel_lists(const nn_model *m, const mt_channel_plan *p, chlist *out, chlist *in,
                         char *err, size_t errlen)
{
    for (int i = 0; i < m->n_nodes; i++) {
        const nn_node *o = &m->nodes[i];
        chlist x = o->in[0] < 0 ? (chlist){ m->in_dims.c, NULL } : out[o->in[0]];
        size_t hw = (size_t)o->in_dims.h * o->in_dims.w;
        if (o->kind == NN_LINEAR) in[i] = expand(x, hw, nn_dims_size(o->in_dims));
        else if (o->kind == NN_CONV) in[i] = copy_of(x.v, x.n);
        if (o->kind == NN_CONV) out[i] = p->keep[i] ? copy_of(p->keep[i], p->n_keep[i]) : (chlist){ o->out_c, NULL };
        else if (o->kind == NN_LINEAR) out[i] = (chlist){ o->out_c, NULL };
        else if (o->kind == NN_FLATTEN) out[i] = expand(x, hw, nn_dims_size(o->out_dims));
        else out[i] = copy_of(x.v, x.n);
        if (o->kind == NN_ADD && !same(x, o->in[1] < 0 ? (chlist){ m->in_dims.c, NULL } : out[o->in[1]])) {
            snprintf(err, errlen, "%s: its operands keep different channels (prune the convs that feed it together)", o->name);
            return -1;
        }
    }
    if (out[m->n_nodes - 1].v) {
        snprintf(err, errlen, "%s: the network output would lose channels", m->nodes[m->n_nodes - 1].name);
        return -1;
    }
    return 0;
}

/* ---- folding the removed channels' constants ---------------------------------------------- */

/* What the removed inputs of one weighted layer contribute: per output channel, one value
 * (edge 0) or one per edgebias class (edge > 0). */
typedef struct {
    float *val;                 /* out_c x classes(oh) x classes(ow); NULL: nothing */
    int edge, nr, nc;
    int into_node;              /* 1: an edgebias node after the layer; 0: its bias / next BN */
    int bn;                     /* the batch norm right after the layer, or -1 */
} fold;

static int classes(int len, int e) { return len < 2 * e + 1 ? len : 2 * e + 1; }

static int class_of(int i, int len, int e)
{
    if (len <= 2 * e + 1 || i < e) return i;
    if (i >= len - e) return 2 * e + 1 - (len - i);
    return e;
}

static int class_pixel(int cls, int len, int e)       /* a position in class cls */
{
    if (len <= 2 * e + 1 || cls <= e) return cls;
    return len - (2 * e + 1 - cls);
}

/* Conv: map[o][y][x] = sum over removed channels r of v_r * (taps of w[o][r] inside the
 * input at (y, x)); then the narrowest edgebias band that holds it exactly. */
static int conv_fold(const nn_node *c, const float *x, const unsigned char *kept, fold *f,
                     char *err, size_t errlen)
{
    const int C = c->in_dims.c, H = c->in_dims.h, W = c->in_dims.w, k = c->k, s = c->stride;
    const int oh = c->out_dims.h, ow = c->out_dims.w, O = c->out_c;
    int *rem = malloc((size_t)C * sizeof *rem), nr = 0;
    float *v = malloc((size_t)C * sizeof *v);
    assert(rem && v);
    for (int r = 0; r < C; r++) {
        if (kept[r]) continue;
        const float *xr = x + (size_t)r * H * W;
        for (int q = 1; q < H * W; q++)
            if (xr[q] != xr[0]) {
                snprintf(err, errlen, "%s: removed input channel %d is not constant", c->name, r);
                free(rem); free(v);
                return -1;
            }
        if (xr[0] != 0.0f) { rem[nr] = r; v[nr++] = xr[0]; }
    }
    if (nr == 0) { free(rem); free(v); return 0; }
    float *map = malloc((size_t)O * oh * ow * sizeof *map);
    assert(map);
    for (int o = 0; o < O; o++)
        for (int y = 0; y < oh; y++)
            for (int xx = 0; xx < ow; xx++) {
                double acc = 0;
                for (int j = 0; j < nr; j++) {
                    const float *w = c->w + ((size_t)o * C + (size_t)rem[j]) * k * k;
                    for (int dy = 0; dy < k; dy++) {
                        int iy = y * s - c->pad + dy;
                        if (iy < 0 || iy >= H) continue;
                        for (int dx = 0; dx < k; dx++) {
                            int ix = xx * s - c->pad + dx;
                            if (ix >= 0 && ix < W) acc += (double)v[j] * w[dy * k + dx];
                        }
                    }
                }
                map[((size_t)o * oh + y) * ow + xx] = (float)acc;
            }
    /* every pixel of a class sums the same taps in the same order: equal bit for bit */
    int e = 0, ok = 0;
    for (; !ok; e++) {
        ok = 1;
        for (int o = 0; o < O && ok; o++)
            for (int y = 0; y < oh && ok; y++)
                for (int xx = 0; xx < ow && ok; xx++) {
                    int ry = class_pixel(class_of(y, oh, e), oh, e), rx = class_pixel(class_of(xx, ow, e), ow, e);
                    ok = map[((size_t)o * oh + y) * ow + xx] == map[((size_t)o * oh + ry) * ow + rx];
                }
    }
    e--;
    f->edge = e; f->nr = classes(oh, e); f->nc = classes(ow, e);
    f->val = malloc((size_t)O * f->nr * f->nc * sizeof *f->val);
    assert(f->val);
    for (int o = 0; o < O; o++)
        for (int a = 0; a < f->nr; a++)
            for (int b = 0; b < f->nc; b++)
                f->val[((size_t)o * f->nr + a) * f->nc + b] =
                    map[((size_t)o * oh + class_pixel(a, oh, e)) * ow + class_pixel(b, ow, e)];
    free(map); free(rem); free(v);
    return 0;
}

/* Linear: the removed input features' values through the weights. */
static void linear_fold(const nn_node *l, const float *x, const unsigned char *kept, fold *f)
{
    size_t in_f = nn_dims_size(l->in_dims);
    int any = 0;
    for (size_t t = 0; t < in_f && !any; t++) any = !kept[t] && x[t] != 0.0f;
    if (!any) return;
    f->edge = 0; f->nr = f->nc = 1;
    f->val = malloc((size_t)l->out_c * sizeof *f->val);
    assert(f->val);
    for (int o = 0; o < l->out_c; o++) {
        double acc = 0;
        for (size_t t = 0; t < in_f; t++)
            if (!kept[t]) acc += (double)l->w[(size_t)o * in_f + t] * x[t];
        f->val[o] = (float)acc;
    }
}

static int find_folds(const nn_model *m, const chlist *in, fold *folds, char *err, size_t errlen)
{
    nn_model *z = nn_model_clone(m);
    float *x = calloc(nn_dims_size(m->in_dims), sizeof *x);
    if (z) nn_model_set_inspectable(z, 1);      /* the folds read activations as NCHW */
    if (!z || !x || nn_model_reserve(z, 1) != 0) {
        nn_model_free(z); free(x);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    nn_forward(z, x, 1, 0);
    int rc = 0;
    for (int i = 0; i < m->n_nodes && rc == 0; i++) {
        const nn_node *n = &m->nodes[i];
        if (!nn_is_weighted(n) || !in[i].v) continue;
        const float *xin = n->in[0] < 0 ? x : z->nodes[n->in[0]].out;
        int total = n->kind == NN_CONV ? n->in_dims.c : (int)nn_dims_size(n->in_dims);
        unsigned char *kept = kept_set(in[i], total);
        if (n->kind == NN_CONV) rc = conv_fold(n, xin, kept, &folds[i], err, errlen);
        else linear_fold(n, xin, kept, &folds[i]);
        free(kept);
        int next = mt_only_consumer(m, i);
        folds[i].bn = next >= 0 && m->nodes[next].kind == NN_BATCHNORM ? next : -1;
        folds[i].into_node = folds[i].edge > 0 || (!n->has_bias && folds[i].bn < 0);
    }
    nn_model_free(z);
    free(x);
    return rc;
}

/* ---- building ---------------------------------------------------------------------------- */

static void copy_weights(const nn_node *o, nn_node *n, chlist in, chlist out)
{
    switch (o->kind) {
    case NN_CONV: {
        size_t kk = (size_t)o->k * o->k, oin = (size_t)o->in_dims.c, nin = (size_t)n->in_dims.c;
        for (int a = 0; a < n->out_c; a++) {
            for (size_t c = 0; c < nin; c++)
                memcpy(n->w + ((size_t)a * nin + c) * kk,
                       o->w + ((size_t)at_(out, a) * oin + (size_t)at_(in, (int)c)) * kk, kk * sizeof(float));
            if (o->nb) n->b[a] = o->b[at_(out, a)];
        }
        break;
    }
    case NN_LINEAR: {
        size_t oin = nn_dims_size(o->in_dims), nin = nn_dims_size(n->in_dims);
        for (int a = 0; a < n->out_c; a++) {
            for (size_t f = 0; f < nin; f++) n->w[(size_t)a * nin + f] = o->w[(size_t)a * oin + (size_t)at_(in, (int)f)];
            if (o->nb) n->b[a] = o->b[a];
        }
        break;
    }
    case NN_BATCHNORM:
        for (size_t c = 0; c < n->nw; c++) {
            size_t s = (size_t)at_(out, (int)c);
            n->w[c] = o->w[s]; n->b[c] = o->b[s];
            n->run_mean[c] = o->run_mean[s]; n->run_var[c] = o->run_var[s];
        }
        break;
    case NN_EDGEBIAS: {
        size_t per = o->nb / (size_t)o->out_dims.c;
        for (int c = 0; c < n->out_dims.c; c++)
            memcpy(n->b + (size_t)c * per, o->b + (size_t)at_(out, c) * per, per * sizeof(float));
        break;
    }
    default:
        break;
    }
}

/* Adds layer o's fold to the smaller network: its own bias, the batch norm after it, or the
 * edgebias node made for it; out = o's surviving output channels. */
static void apply_fold(const fold *f, const nn_node *o, nn_node *n, nn_node *next, chlist out)
{
    size_t per = (size_t)f->nr * f->nc;
    for (int a = 0; a < out.n; a++) {
        const float *v = f->val + (size_t)at_(out, a) * per;
        if (f->into_node) memcpy(next->b + (size_t)a * per, v, per * sizeof(float));
        else if (o->has_bias) n->b[a] += v[0];
        else next->run_mean[a] -= v[0];         /* a shift before BN moves its mean */
    }
}

static nn_model *build(const nn_model *m, const fold *folds, const chlist *out, int *self, int *carry,
                       char *err, size_t errlen)
{
    nn_builder *b = nn_builder_new(m->arch, m->in_dims, m->n_classes);
    if (!b) { snprintf(err, errlen, "out of memory"); return NULL; }
    for (int i = 0; i < m->n_nodes; i++) {
        const nn_node *n = &m->nodes[i];
        int in0 = n->in[0] < 0 ? -1 : carry[n->in[0]], in1 = n->in[1] < 0 ? -1 : carry[n->in[1]];
        nn_node t = *n;
        if (n->kind == NN_CONV) t.out_c = out[i].n;
        int idx = nn_add_like(b, &t, in0, in1);
        self[i] = carry[i] = idx;
        if (idx >= 0 && folds[i].val && folds[i].into_node) {
            char name[NN_NAME_MAX + 8];
            snprintf(name, sizeof name, "%s.fold", n->name);
            if (strlen(name) >= NN_NAME_MAX) snprintf(name, sizeof name, "fold%d", i);
            carry[i] = nn_add_edgebias(b, name, idx, folds[i].edge);
        }
        if (carry[i] < 0) {
            char msg[NN_ERR_MAX] = "";
            nn_model *bad = nn_builder_finish(b, msg, sizeof msg);   /* collects the message */
            nn_model_free(bad);
            snprintf(err, errlen, "rebuilding %s at %s: %s", m->arch, n->name, msg);
            return NULL;
        }
    }
    return nn_builder_finish(b, err, errlen);
}

nn_model *mt_surgery_shrink(const nn_model *m, const mt_channel_plan *p, mt_shrink_info *info,
                            char *err, size_t errlen)
{
    if (info) memset(info, 0, sizeof *info);
    if (check_plan(m, p, err, errlen) != 0) return NULL;
    int n = m->n_nodes;
    chlist *out = calloc((size_t)n, sizeof *out), *in = calloc((size_t)n, sizeof *in);
    fold *folds = calloc((size_t)n, sizeof *folds);
    int *self = malloc((size_t)n * sizeof *self), *carry = malloc((size_t)n * sizeof *carry);
    nn_model *s = NULL;
    if (!out || !in || !folds || !self || !carry) snprintf(err, errlen, "out of memory");
    else if (channel_lists(m, p, out, in, err, errlen) == 0 && find_folds(m, in, folds, err, errlen) == 0)
        s = build(m, folds, out, self, carry, err, errlen);
    for (int i = 0; s && i < n; i++) {
        const nn_node *o = &m->nodes[i];
        chlist x = o->in[0] < 0 ? (chlist){ m->in_dims.c, NULL } : out[o->in[0]];
        copy_weights(o, &s->nodes[self[i]], nn_is_weighted(o) ? in[i] : x, out[i]);
        if (nn_is_weighted(o)) s->nodes[self[i]].kernel = o->kernel;
    }
    for (int i = 0; s && i < n; i++) {
        if (!folds[i].val) continue;
        const nn_node *o = &m->nodes[i];
        int next = folds[i].into_node ? carry[i] : folds[i].bn >= 0 ? self[folds[i].bn] : self[i];
        apply_fold(&folds[i], o, &s->nodes[self[i]], &s->nodes[next], out[i]);
        if (info) { if (folds[i].into_node) info->edge_nodes++; else info->folded++; }
    }
    if (s) nn_model_set_threads(s, m->threads);
    for (int i = 0; i < n; i++) {
        if (out) free(out[i].v);
        if (in) free(in[i].v);
        if (folds) free(folds[i].val);
    }
    free(out); free(in); free(folds); free(self); free(carry);
    return s;
}
