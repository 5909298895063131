/* Filter removal. Channel bookkeeping walks the graph once in topological order: every node's
 * output has a list of surviving channels of the original (NULL = all); a flatten turns the
 * channel list into a feature list (channel-major, h*w features per channel). */
#include "methods/surgery.h"
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int consumers(const nn_model *m, int node, int *first)
{
    int n = 0;
    for (int j = node + 1; j < m->n_nodes; j++)
        for (int k = 0; k < m->nodes[j].n_in; k++)
            if (m->nodes[j].in[k] == node) { if (n++ == 0) *first = j; }
    return n;
}

static int channelwise(nn_kind k)
{
    return k == NN_BATCHNORM || k == NN_RELU || k == NN_HARDTANH || k == NN_MAXPOOL ||
           k == NN_AVGPOOL || k == NN_GAP || k == NN_FLATTEN;
}

int mt_surgery_consumer(const nn_model *m, int conv, int *chain_end, char *why, size_t whylen)
{
    assert(conv >= 0 && conv < m->n_nodes);
    if (m->nodes[conv].kind != NN_CONV) {
        snprintf(why, whylen, "%s is a %s, not a conv", m->nodes[conv].name, nn_kind_name(m->nodes[conv].kind));
        return -1;
    }
    int at = conv;
    for (;;) {
        int next = -1, n = consumers(m, at, &next);
        if (n == 0) { snprintf(why, whylen, "%s feeds the network output", m->nodes[conv].name); return -1; }
        if (n > 1 || m->nodes[next].n_in > 1) {
            snprintf(why, whylen, "%s's output branches or reaches an add (%s), so its channels are tied "
                     "to another layer's", m->nodes[conv].name, m->nodes[next].name);
            return -1;
        }
        const nn_node *c = &m->nodes[next];
        if (nn_is_weighted(c)) {
            if (c->xt || c->wt) {
                snprintf(why, whylen, "%s's consumer %s carries a transform", m->nodes[conv].name, c->name);
                return -1;
            }
            *chain_end = at;
            return next;
        }
        if (!channelwise(c->kind)) {
            snprintf(why, whylen, "%s reaches %s (%s)", m->nodes[conv].name, c->name, nn_kind_name(c->kind));
            return -1;
        }
        at = next;
    }
}

/* The node after `node` when it has exactly one consumer, else -1. */
static int single_next(const nn_model *m, int node)
{
    int next = -1;
    return consumers(m, node, &next) == 1 ? next : -1;
}

static int is_removed(const mt_channel_plan *p, int node, int ch)
{
    for (int k = 0; k < p->n_keep[node]; k++) if (p->keep[node][k] == ch) return 0;
    return 1;
}

int mt_surgery_fold(nn_model *m, const mt_channel_plan *p)
{
    /* One eval pass on a zero input gives every removed channel's constant at its chain end. */
    nn_model_reserve(m, 1);
    float *x = calloc(nn_dims_size(m->in_dims), sizeof *x);
    assert(x);
    nn_forward(m, x, 1, 0);
    free(x);
    int dropped = 0;
    for (int i = 0; i < m->n_nodes; i++) {
        if (!p->keep[i]) continue;
        nn_node *conv = &m->nodes[i];
        char why[256];
        int end = -1, cons = mt_surgery_consumer(m, i, &end, why, sizeof why);
        assert(cons >= 0);
        nn_node *e = &m->nodes[end], *c = &m->nodes[cons];
        size_t hw = (size_t)e->out_dims.h * e->out_dims.w;
        if (e->kind == NN_FLATTEN) hw = (size_t)m->nodes[e->in[0]].out_dims.h * m->nodes[e->in[0]].out_dims.w;
        int after = single_next(m, cons);
        nn_node *cbn = after >= 0 && m->nodes[after].kind == NN_BATCHNORM ? &m->nodes[after] : NULL;
        for (int ch = 0; ch < conv->out_c; ch++) {
            if (!is_removed(p, i, ch)) continue;
            /* the channel's value at the chain end: flatten keeps channel-major order */
            float v = e->out[(size_t)ch * hw];
            int exact = c->kind == NN_LINEAR || c->pad == 0;
            float *target = c->nb ? c->b : cbn ? cbn->run_mean : NULL;
            if (v != 0.0f && (!exact || !target)) dropped++;
            if (v != 0.0f && exact && target) {
                int in_c = c->kind == NN_CONV ? c->in_dims.c : 0;
                for (int o = 0; o < c->out_c; o++) {
                    double s = 0;
                    if (c->kind == NN_CONV) {
                        const float *w = c->w + ((size_t)o * in_c + ch) * c->k * c->k;
                        for (int t = 0; t < c->k * c->k; t++) s += w[t];
                    } else {
                        size_t in_f = nn_dims_size(c->in_dims);
                        for (size_t t = 0; t < hw; t++) s += c->w[(size_t)o * in_f + (size_t)ch * hw + t];
                    }
                    /* a bias adds the contribution; a following BN's mean subtracts it */
                    target[o] += (float)(c->nb ? v * s : -v * s);
                }
            }
            /* silence the channel: zero bias, zero every BN affine on the way */
            if (conv->nb) conv->b[ch] = 0.0f;
            for (int at = single_next(m, i); at >= 0 && at != cons; at = single_next(m, at)) {
                nn_node *n = &m->nodes[at];
                if (n->kind != NN_BATCHNORM) continue;
                size_t per = n->nw / (size_t)conv->out_c;   /* 1, or h*w after a flatten */
                for (size_t t = 0; t < per; t++) n->w[ch * per + t] = n->b[ch * per + t] = 0.0f;
            }
        }
    }
    return dropped;
}

/* ---- shrinking ----------------------------------------------------------------------- */

typedef struct { int n; int *v; } chlist;       /* v == NULL: all */

static chlist expand(chlist in, size_t hw, size_t total)
{
    if (!in.v) return (chlist){ (int)total, NULL };
    chlist out = { (int)((size_t)in.n * hw), malloc((size_t)in.n * hw * sizeof(int)) };
    assert(out.v);
    for (int k = 0; k < in.n; k++)
        for (size_t t = 0; t < hw; t++) out.v[(size_t)k * hw + t] = (int)((size_t)in.v[k] * hw + t);
    return out;
}

static int at_(chlist l, int k) { return l.v ? l.v[k] : k; }

static int add_like(nn_builder *b, const nn_node *n, int out_c)
{
    switch (n->kind) {
    case NN_CONV: return nn_add_conv(b, n->name, n->in[0], out_c, n->k, n->stride, n->pad, n->has_bias);
    case NN_LINEAR: return nn_add_linear(b, n->name, n->in[0], n->out_c, n->has_bias);
    case NN_MAXPOOL: return nn_add_maxpool(b, n->name, n->in[0], n->k, n->stride);
    case NN_AVGPOOL: return nn_add_avgpool(b, n->name, n->in[0], n->k, n->stride);
    case NN_GAP: return nn_add_gap(b, n->name, n->in[0]);
    case NN_BATCHNORM: return nn_add_bn(b, n->name, n->in[0]);
    case NN_RELU: return nn_add_relu(b, n->name, n->in[0]);
    case NN_HARDTANH: return nn_add_hardtanh(b, n->name, n->in[0], n->clip);
    case NN_FLATTEN: return nn_add_flatten(b, n->name, n->in[0]);
    case NN_ADD: return nn_add_add(b, n->name, n->in[0], n->in[1]);
    default: return -1;
    }
}

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
            size_t s = (size_t)at_(in, (int)c);
            n->w[c] = o->w[s]; n->b[c] = o->b[s];
            n->run_mean[c] = o->run_mean[s]; n->run_var[c] = o->run_var[s];
        }
        break;
    default:
        break;
    }
}

nn_model *mt_surgery_shrink(const nn_model *m, const mt_channel_plan *p, char *err, size_t errlen)
{
    nn_builder *b = nn_builder_new(m->arch, m->in_dims, m->n_classes);
    if (!b) { snprintf(err, errlen, "out of memory"); return NULL; }
    for (int i = 0; i < m->n_nodes; i++) {
        const nn_node *n = &m->nodes[i];
        int out_c = p->keep[i] ? p->n_keep[i] : n->out_c;
        if (p->keep[i] && (n->kind != NN_CONV || out_c < 1)) {
            nn_builder_free(b);
            snprintf(err, errlen, "%s: can only shrink a conv to >= 1 channel", n->name);
            return NULL;
        }
        if (add_like(b, n, out_c) != i) {
            char msg[NN_ERR_MAX] = "";
            nn_model *bad = nn_builder_finish(b, msg, sizeof msg);   /* collects the message */
            nn_model_free(bad);
            snprintf(err, errlen, "rebuilding %s at %s: %s", m->arch, n->name, msg);
            return NULL;
        }
    }
    nn_model *s = nn_builder_finish(b, err, errlen);
    if (!s) return NULL;
    chlist *ch = calloc((size_t)m->n_nodes, sizeof *ch);
    assert(ch);
    for (int i = 0; i < m->n_nodes; i++) {
        const nn_node *o = &m->nodes[i];
        nn_node *n = &s->nodes[i];
        chlist in = o->in[0] < 0 ? (chlist){ o->in_dims.c, NULL } : ch[o->in[0]];
        size_t hw = (size_t)o->in_dims.h * o->in_dims.w;
        if (o->kind == NN_LINEAR) in = expand(in, hw, nn_dims_size(o->in_dims));
        chlist out = { o->out_dims.c, NULL };
        if (o->kind == NN_CONV && p->keep[i]) {
            out.n = p->n_keep[i];
            out.v = malloc((size_t)out.n * sizeof(int));
            assert(out.v);
            memcpy(out.v, p->keep[i], (size_t)out.n * sizeof(int));
        } else if (o->kind == NN_FLATTEN) {
            out = expand(in, hw, nn_dims_size(o->out_dims));
        } else if (channelwise(o->kind) && in.v) {
            out.n = in.n;
            out.v = malloc((size_t)in.n * sizeof(int));
            assert(out.v);
            memcpy(out.v, in.v, (size_t)in.n * sizeof(int));
        } else if (o->kind == NN_ADD) {
            assert(!ch[o->in[0]].v && (o->in[1] < 0 || !ch[o->in[1]].v) && "an add never sees removed channels");
        }
        copy_weights(o, n, in, out);
        if (nn_is_weighted(o)) n->kernel = o->kernel;
        if (o->kind == NN_LINEAR) free(in.v);
        ch[i] = out;
    }
    for (int i = 0; i < m->n_nodes; i++) free(ch[i].v);
    free(ch);
    nn_model_set_threads(s, m->threads);
    return s;
}
