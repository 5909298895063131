/* Model construction: the builder (shape inference through the layer table), parameter
 * layout in one contiguous buffer, activation buffers, clone, free. */
#include "nn/model_priv.h"
#include "nn/layer.h"
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { ALIGN = 64, ALIGN_FLOATS = ALIGN / (int)sizeof(float) };

struct nn_builder {
    nn_model_priv *p;
    char err[NN_ERR_MAX];       /* first error; once set, every later add is a no-op */
    size_t max_params;          /* nn_builder_finish refuses more (0: no limit) */
};

void *nn_alloc_aligned(size_t bytes)
{
    size_t n = (bytes + ALIGN - 1) / ALIGN * ALIGN;
    return aligned_alloc(ALIGN, n ? n : ALIGN);
}

static float *alloc_floats(size_t n)
{
    float *f = nn_alloc_aligned(n * sizeof(float));
    if (f) memset(f, 0, (n ? n : 1) * sizeof(float));
    return f;
}

/* ---------------------------------------------------------------------------- builder -- */

nn_builder *nn_builder_new(const char *arch, nn_dims in, int n_classes)
{
    nn_builder *b = calloc(1, sizeof *b);
    if (!b) return NULL;
    b->p = calloc(1, sizeof *b->p);
    if (!b->p) { free(b); return NULL; }
    nn_model *m = &b->p->pub;
    snprintf(m->arch, sizeof m->arch, "%s", arch ? arch : "");
    m->in_dims = in;
    m->n_classes = n_classes;
    m->threads = 0;             /* unset: libraries use their defaults until set_threads */
    if (in.c <= 0 || in.h <= 0 || in.w <= 0)
        snprintf(b->err, sizeof b->err, "%s: input shape %dx%dx%d is not positive", m->arch,
                 in.c, in.h, in.w);
    else if (n_classes < 2)
        snprintf(b->err, sizeof b->err, "%s: %d classes; need at least 2", m->arch, n_classes);
    return b;
}

void nn_builder_free(nn_builder *b)
{
    if (!b) return;
    nn_model_free(&b->p->pub);
    free(b);
}

static int fail(nn_builder *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b->err, sizeof b->err, fmt, ap);
    va_end(ap);
    return -1;
}

static nn_dims producer_dims(const nn_model *m, int in)
{
    return in < 0 ? m->in_dims : m->nodes[in].out_dims;
}

/* Appends a copy of template t (kind, inputs, hyper-parameters) named `name`. */
static int add_node(nn_builder *b, const nn_node *t, const char *name)
{
    if (b->err[0]) return -1;
    nn_model *m = &b->p->pub;
    int idx = m->n_nodes;
    if (!name || !name[0]) return fail(b, "layer %d: empty name", idx);
    if (strlen(name) >= NN_NAME_MAX)
        return fail(b, "%s: name longer than %d characters", name, NN_NAME_MAX - 1);
    for (int i = 0; i < idx; i++)
        if (!strcmp(m->nodes[i].name, name))
            return fail(b, "%s: name already used by layer %d", name, i);
    if (idx >= NN_MAX_NODES) return fail(b, "%s: more than %d layers", name, NN_MAX_NODES);
    for (int j = 0; j < t->n_in; j++)
        if (t->in[j] < -1 || t->in[j] >= idx)
            return fail(b, "%s: input %d is not an earlier layer (0..%d, or -1 for the model input)",
                        name, t->in[j], idx - 1);
    nn_dims d0 = producer_dims(m, t->in[0]);
    if (t->n_in == 2) {
        nn_dims d1 = producer_dims(m, t->in[1]);
        if (d0.c != d1.c || d0.h != d1.h || d0.w != d1.w)
            return fail(b, "%s: inputs differ in shape (%dx%dx%d vs %dx%dx%d)", name,
                        d0.c, d0.h, d0.w, d1.c, d1.h, d1.w);
    }
    nn_node *n = &m->nodes[idx];
    *n = *t;
    snprintf(n->name, sizeof n->name, "%s", name);
    n->in_dims = d0;
    char e[NN_ERR_MAX] = "";
    if (nn_layer_table[n->kind].infer(n, e, sizeof e) != 0) {
        size_t len = strlen(name);
        int named = !strncmp(e, name, len) && e[len] == ':';   /* the layer named itself */
        memset(n, 0, sizeof *n);
        if (named) return fail(b, "%s", e);
        return fail(b, "%s: %s", name, e[0] ? e : "invalid shape");
    }
    m->n_nodes = idx + 1;
    return idx;
}

static nn_node node_of(nn_kind kind, int in)
{
    nn_node t;
    memset(&t, 0, sizeof t);
    t.kind = kind;
    t.in[0] = in; t.in[1] = -1; t.n_in = 1;
    t.stride = 1;
    return t;
}

int nn_add_conv(nn_builder *b, const char *name, int in, int out_c, int k, int stride, int pad, int bias)
{
    if (!b->err[0] && (out_c < 1 || k < 1 || stride < 1 || pad < 0))
        return fail(b, "%s: conv with %d channels, kernel %d, stride %d, pad %d "
                    "(need channels, kernel, stride >= 1 and pad >= 0)", name, out_c, k, stride, pad);
    nn_node t = node_of(NN_CONV, in);
    t.out_c = out_c; t.k = k; t.stride = stride; t.pad = pad; t.has_bias = bias != 0;
    return add_node(b, &t, name);
}

int nn_add_linear(nn_builder *b, const char *name, int in, int out_f, int bias)
{
    if (!b->err[0] && out_f < 1) return fail(b, "%s: linear with %d outputs (need >= 1)", name, out_f);
    nn_node t = node_of(NN_LINEAR, in);
    t.out_c = out_f; t.has_bias = bias != 0;
    return add_node(b, &t, name);
}

static int add_pool(nn_builder *b, nn_kind kind, const char *name, int in, int k, int stride)
{
    if (!b->err[0] && (k < 1 || stride < 1))
        return fail(b, "%s: pooling window %d, stride %d (need both >= 1)", name, k, stride);
    nn_node t = node_of(kind, in);
    t.k = k; t.stride = stride;
    return add_node(b, &t, name);
}

int nn_add_maxpool(nn_builder *b, const char *name, int in, int k, int stride)
{
    return add_pool(b, NN_MAXPOOL, name, in, k, stride);
}

int nn_add_avgpool(nn_builder *b, const char *name, int in, int k, int stride)
{
    return add_pool(b, NN_AVGPOOL, name, in, k, stride);
}

int nn_add_gap(nn_builder *b, const char *name, int in)
{
    nn_node t = node_of(NN_GAP, in);
    return add_node(b, &t, name);
}

int nn_add_bn(nn_builder *b, const char *name, int in)
{
    nn_node t = node_of(NN_BATCHNORM, in);
    return add_node(b, &t, name);
}

int nn_add_relu(nn_builder *b, const char *name, int in)
{
    nn_node t = node_of(NN_RELU, in);
    return add_node(b, &t, name);
}

int nn_add_hardtanh(nn_builder *b, const char *name, int in, float clip)
{
    if (!b->err[0] && !(clip > 0.0f)) return fail(b, "%s: hardtanh clip %g (need > 0)", name, clip);
    nn_node t = node_of(NN_HARDTANH, in);
    t.clip = clip;
    return add_node(b, &t, name);
}

int nn_add_flatten(nn_builder *b, const char *name, int in)
{
    nn_node t = node_of(NN_FLATTEN, in);
    return add_node(b, &t, name);
}

int nn_add_add(nn_builder *b, const char *name, int a, int c)
{
    nn_node t = node_of(NN_ADD, a);
    t.in[1] = c; t.n_in = 2;
    return add_node(b, &t, name);
}

int nn_add_edgebias(nn_builder *b, const char *name, int in, int edge)
{
    if (!b->err[0] && edge < 0) return fail(b, "%s: edge bias band %d (need >= 0)", name, edge);
    nn_node t = node_of(NN_EDGEBIAS, in);
    t.pad = edge;
    return add_node(b, &t, name);
}

int nn_add_like(nn_builder *b, const nn_node *t, int in0, int in1)
{
    switch (t->kind) {
    case NN_CONV: return nn_add_conv(b, t->name, in0, t->out_c, t->k, t->stride, t->pad, t->has_bias);
    case NN_LINEAR: return nn_add_linear(b, t->name, in0, t->out_c, t->has_bias);
    case NN_MAXPOOL: return nn_add_maxpool(b, t->name, in0, t->k, t->stride);
    case NN_AVGPOOL: return nn_add_avgpool(b, t->name, in0, t->k, t->stride);
    case NN_GAP: return nn_add_gap(b, t->name, in0);
    case NN_BATCHNORM: return nn_add_bn(b, t->name, in0);
    case NN_RELU: return nn_add_relu(b, t->name, in0);
    case NN_HARDTANH: return nn_add_hardtanh(b, t->name, in0, t->clip);
    case NN_FLATTEN: return nn_add_flatten(b, t->name, in0);
    case NN_ADD: return nn_add_add(b, t->name, in0, in1);
    case NN_EDGEBIAS: return nn_add_edgebias(b, t->name, in0, t->pad);
    default: return b->err[0] ? -1 : fail(b, "%s: a %s layer cannot be added to a model", t->name, nn_kind_name(t->kind));
    }
}

const nn_model *nn_builder_model(const nn_builder *b) { return &b->p->pub; }

/* ------------------------------------------------------------------------------ layout -- */

/* Lays parameters out node by node (w then b), grads alongside, BN running stats in state;
 * points the nodes' views into them. 0 = ok. */
static int layout(nn_model_priv *p)
{
    nn_model *m = &p->pub;
    size_t np = 0, ns = 0, nweff = 0, maxw = 0;
    for (int i = 0; i < m->n_nodes; i++) {
        const nn_node *n = &m->nodes[i];
        np += n->nw + n->nb;
        if (n->kind == NN_BATCHNORM) ns += 2 * n->nw;
        if (nn_is_weighted(n)) { nweff += n->nw; if (n->nw > maxw) maxw = n->nw; }
    }
    m->n_params = np; m->n_state = ns;
    m->params = alloc_floats(np);
    m->grads = alloc_floats(np);
    m->state = alloc_floats(ns);
    m->decay = calloc(np ? np : 1, 1);
    p->weff_buf = alloc_floats(nweff);
    p->geff = alloc_floats(maxw); p->geff_len = maxw;
    if (!m->params || !m->grads || !m->state || !m->decay || !p->weff_buf || !p->geff) return -1;

    size_t off = 0, soff = 0, woff = 0;
    for (int i = 0; i < m->n_nodes; i++) {
        nn_node *n = &m->nodes[i];
        n->w_off = off;
        n->w = n->nw ? m->params + off : NULL;
        n->gw = n->nw ? m->grads + off : NULL;
        if (nn_is_weighted(n)) {
            memset(m->decay + off, 1, n->nw);     /* decay on conv/linear weights only */
            p->weff_own[i] = p->weff_buf + woff;
            woff += n->nw;
        }
        off += n->nw;
        n->b_off = off;
        n->b = n->nb ? m->params + off : NULL;
        n->gb = n->nb ? m->grads + off : NULL;
        off += n->nb;
        n->w_eff = n->w;
        if (n->kind == NN_BATCHNORM) {
            n->run_mean = m->state + soff;
            n->run_var = m->state + soff + n->nw;
            soff += 2 * n->nw;
        }
    }
    return 0;
}

/* Sane values before nn_model_init: BN is the identity with unit running variance. */
static void bn_defaults(nn_model *m)
{
    for (int i = 0; i < m->n_nodes; i++) {
        nn_node *n = &m->nodes[i];
        if (n->kind != NN_BATCHNORM) continue;
        for (size_t j = 0; j < n->nw; j++) { n->w[j] = 1.0f; n->run_var[j] = 1.0f; }
    }
}

void nn_builder_cap(nn_builder *b, size_t max_params) { b->max_params = max_params; }

nn_model *nn_builder_finish(nn_builder *b, char *err, size_t errlen)
{
    nn_model *m = &b->p->pub;
    if (!b->err[0] && m->n_nodes == 0) fail(b, "%s: no layers", m->arch);
    if (!b->err[0]) {
        const nn_node *o = &m->nodes[m->n_nodes - 1];
        if (nn_dims_size(o->out_dims) != (size_t)m->n_classes)
            fail(b, "%s: output layer %s gives %zu values but there are %d classes", m->arch,
                 o->name, nn_dims_size(o->out_dims), m->n_classes);
    }
    if (!b->err[0] && b->max_params) {
        size_t np = 0;
        for (int i = 0; i < m->n_nodes; i++) np += m->nodes[i].nw + m->nodes[i].nb;
        if (np > b->max_params)
            fail(b, "%s: %zu parameters, more than the %zu allowed", m->arch, np, b->max_params);
    }
    if (!b->err[0] && layout(b->p) != 0)
        fail(b, "%s: out of memory for %zu parameters", m->arch, m->n_params);
    if (b->err[0]) {
        if (err && errlen) snprintf(err, errlen, "%s", b->err);
        nn_builder_free(b);
        return NULL;
    }
    bn_defaults(m);
    free(b);
    return m;
}

/* ------------------------------------------------------------------------- activations -- */

static size_t round_floats(size_t n) { return (n + ALIGN_FLOATS - 1) / ALIGN_FLOATS * ALIGN_FLOATS; }

/* How many nodes read node i's output. */
static int consumers(const nn_model *m, int i)
{
    int c = 0;
    for (int k = i + 1; k < m->n_nodes; k++)
        for (int j = 0; j < m->nodes[k].n_in; j++) c += m->nodes[k].in[j] == i;
    return c;
}

/* A ReLU may overwrite its input when it is that input's only reader and the producer's
 * backward never reads its own output (true of every kind but ReLU/hard-tanh, which read
 * their input, and those are fine too: their input is not the overwritten buffer). Its own
 * backward then masks with relu(x) > 0, the same set as x > 0. Saves one activation per ReLU. */
static int relu_in_place(const nn_model *m, int i)
{
    const nn_node *n = &m->nodes[i];
    return n->kind == NN_RELU && n->in[0] >= 0 && consumers(m, n->in[0]) == 1 &&
           i != m->n_nodes - 1;
}

/* Inference only: outputs share buffers whose lifetimes do not overlap. Node i's output lives
 * from its own forward to its last reader's (an in-place ReLU's readers count for the buffer it
 * writes into; the model's output to the end), so a buffer freed before node i is one no input
 * of node i is in. Best fit by size, as plan_grads. Returns the floats needed; off[i] = offset of
 * the buffer node i owns. */
static size_t plan_outs(const nn_model *m, int batch, size_t off[NN_MAX_NODES])
{
    int owner[NN_MAX_NODES], last[NN_MAX_NODES], n_blk = 0;
    size_t blk_off[NN_MAX_NODES], blk_len[NN_MAX_NODES], total = 0;
    int blk_holder[NN_MAX_NODES];
    for (int i = 0; i < m->n_nodes; i++) {
        owner[i] = relu_in_place(m, i) ? owner[m->nodes[i].in[0]] : i;
        last[i] = i;
    }
    for (int i = 0; i < m->n_nodes; i++)
        for (int j = 0; j < m->nodes[i].n_in; j++) {
            int src = m->nodes[i].in[j];
            if (src >= 0 && last[owner[src]] < i) last[owner[src]] = i;
        }
    last[owner[m->n_nodes - 1]] = m->n_nodes;
    for (int i = 0; i < m->n_nodes; i++) {
        if (owner[i] != i) continue;
        size_t need = round_floats((size_t)batch * nn_dims_size(m->nodes[i].out_dims));
        int best = -1;
        for (int b = 0; b < n_blk; b++)
            if (last[blk_holder[b]] < i && blk_len[b] >= need && (best < 0 || blk_len[b] < blk_len[best])) best = b;
        if (best < 0) { best = n_blk++; blk_off[best] = total; blk_len[best] = need; total += need; }
        blk_holder[best] = i;
        off[i] = blk_off[best];
    }
    return total;
}

int nn_model_reserve(nn_model *m, int batch)
{
    assert(batch > 0);
    if (batch <= m->batch_cap) return 0;
    nn_model_priv *p = nn_priv(m);
    size_t out_off[NN_MAX_NODES];
    const size_t shared = p->inference_only ? plan_outs(m, batch, out_off) : 0;
    size_t floats = shared, ws = 0;
    for (int i = 0; i < m->n_nodes; i++) {
        const nn_node *n = &m->nodes[i];
        const nn_layer_ops *ops = &nn_layer_table[n->kind];
        if (!p->inference_only && !relu_in_place(m, i)) floats += round_floats((size_t)batch * nn_dims_size(n->out_dims));
        if (ops->cache_bytes) floats += round_floats((ops->cache_bytes(n, batch) + 3) / sizeof(float));
        if (ops->ws_floats) { size_t w = ops->ws_floats(n, batch); if (w > ws) ws = w; }
    }
    floats += round_floats(ws);
    float *a = alloc_floats(floats);
    if (!a) return -1;
    free(p->arena);
    p->arena = a;
    float *outs = a;
    a += shared;
    for (int i = 0; i < m->n_nodes; i++) {
        nn_node *n = &m->nodes[i];
        const nn_layer_ops *ops = &nn_layer_table[n->kind];
        if (relu_in_place(m, i)) n->out = m->nodes[n->in[0]].out;
        else if (p->inference_only) n->out = outs + out_off[i];
        else { n->out = a; a += round_floats((size_t)batch * nn_dims_size(n->out_dims)); }
        n->cache = NULL;
        if (ops->cache_bytes) {
            size_t c = ops->cache_bytes(n, batch);
            if (c) n->cache = a;
            a += round_floats((c + 3) / sizeof(float));
        }
        free(n->x_q); n->x_q = NULL; p->xq_cap[i] = 0;   /* regrown by the forward pass */
    }
    m->ws = a; m->ws_len = ws;
    m->batch_cap = batch;
    return 0;
}

/* Gradient buffers by lifetime. The backward pass visits nodes last to first; node i's
 * gradient is first written by the backward of its highest-numbered reader and last read by
 * its own, after which its buffer serves an earlier node (best fit by size). For ResNet-20
 * this keeps a handful of buffers instead of one per node. Returns the floats needed;
 * off[i] = node i's offset. */
static size_t plan_grads(const nn_model *m, int batch, int keep, size_t off[NN_MAX_NODES])
{
    size_t blk_off[NN_MAX_NODES], blk_len[NN_MAX_NODES], total = 0;
    int blk_free[NN_MAX_NODES], n_blk = 0, blk_of[NN_MAX_NODES];
    for (int i = 0; i < m->n_nodes; i++) blk_of[i] = -1;
    #define TAKE(node) do {                                                                   \
        size_t need_ = round_floats((size_t)batch * nn_dims_size(m->nodes[node].out_dims));    \
        int best_ = -1;                                                                       \
        for (int b_ = 0; b_ < n_blk; b_++)                                                    \
            if (blk_free[b_] && blk_len[b_] >= need_ && (best_ < 0 || blk_len[b_] < blk_len[best_])) \
                best_ = b_;                                                                   \
        if (best_ < 0) { best_ = n_blk++; blk_off[best_] = total; blk_len[best_] = need_; total += need_; } \
        blk_free[best_] = 0; blk_of[node] = best_; off[node] = blk_off[best_];                \
    } while (0)
    TAKE(m->n_nodes - 1);
    for (int i = m->n_nodes - 1; i >= 0; i--) {
        const nn_node *n = &m->nodes[i];
        if (blk_of[i] < 0) TAKE(i);                 /* nobody reads this node's output */
        for (int j = 0; j < n->n_in; j++)
            if (n->in[j] >= 0 && blk_of[n->in[j]] < 0) TAKE(n->in[j]);
        blk_free[blk_of[i]] = !keep;
    }
    #undef TAKE
    return total;
}

int nn_reserve_grads(nn_model *m, int batch)
{
    nn_model_priv *p = nn_priv(m);
    if (batch <= p->grad_cap) return 0;
    size_t off[NN_MAX_NODES];
    size_t in_floats = round_floats((size_t)batch * nn_dims_size(m->in_dims));
    float *a = alloc_floats(in_floats + plan_grads(m, batch, p->inspectable, off));
    if (!a) return -1;
    free(p->grad_arena);
    p->grad_arena = a;
    p->xin = a;
    for (int i = 0; i < m->n_nodes; i++) m->nodes[i].dout = a + in_floats + off[i];
    p->grad_cap = batch;
    return 0;
}

void nn_model_release(nn_model *m)
{
    nn_model_priv *p = nn_priv(m);
    free(p->arena); p->arena = NULL;
    free(p->grad_arena); p->grad_arena = NULL; p->xin = NULL; p->grad_cap = 0;
    free(p->gq); free(p->gx); p->gq = p->gx = NULL; p->gq_len = 0;
    if (p->onednn) { p->onednn_free(p->onednn); p->onednn = NULL; }
    m->batch_cap = 0; m->ws = NULL; m->ws_len = 0;
    for (int i = 0; i < m->n_nodes; i++) {
        nn_node *n = &m->nodes[i];
        free(n->x_q);
        n->out = n->dout = n->x_q = NULL; n->cache = NULL;
        p->xq_cap[i] = 0;
    }
}

/* ----------------------------------------------------------------------- free and clone -- */

void nn_model_free(nn_model *m)
{
    if (!m) return;
    nn_model_priv *p = nn_priv(m);
    nn_model_release(m);            /* the per-batch buffers */
    for (int i = 0; i < m->n_nodes; i++) {
        free(m->nodes[i].mask);
        free(m->nodes[i].wfreeze);
    }
    free(m->params); free(m->grads); free(m->state); free(m->decay);
    free(p->weff_buf); free(p->geff);
    free(p);
}

static uint8_t *dup_bytes(const uint8_t *src, size_t n, int *oom)
{
    if (!src) return NULL;
    uint8_t *d = malloc(n ? n : 1);
    if (!d) { *oom = 1; return NULL; }
    memcpy(d, src, n);
    return d;
}

nn_model *nn_model_clone(const nn_model *src)
{
    nn_model_priv *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    nn_model *m = &p->pub;
    *m = *src;
    p->conv_gemm_only = nn_priv((nn_model *)src)->conv_gemm_only;
    p->inspectable = nn_priv((nn_model *)src)->inspectable;
    m->params = m->grads = m->state = NULL; m->decay = NULL;
    m->batch_cap = 0; m->ws = NULL; m->ws_len = 0;
    for (int i = 0; i < m->n_nodes; i++) {
        nn_node *n = &m->nodes[i];
        n->mask = n->wfreeze = NULL;
        n->out = n->dout = n->x_q = NULL; n->cache = NULL;
    }
    int oom = layout(p) != 0;
    for (int i = 0; i < m->n_nodes && !oom; i++) {
        m->nodes[i].mask = dup_bytes(src->nodes[i].mask, src->nodes[i].nw, &oom);
        m->nodes[i].wfreeze = dup_bytes(src->nodes[i].wfreeze, src->nodes[i].nw, &oom);
    }
    if (oom) { nn_model_free(m); return NULL; }
    memcpy(m->params, src->params, m->n_params * sizeof(float));
    memcpy(m->state, src->state, m->n_state * sizeof(float));
    return m;
}

/* -------------------------------------------------------------------------- attachments -- */

static uint8_t *filled(size_t n, int v)
{
    uint8_t *a = malloc(n ? n : 1);
    if (a) memset(a, v, n);
    return a;
}

uint8_t *nn_node_mask(nn_model *m, nn_node *n)
{
    (void)m;
    assert(nn_is_weighted(n));
    if (!n->mask) n->mask = filled(n->nw, 1);
    return n->mask;
}

uint8_t *nn_node_wfreeze(nn_model *m, nn_node *n)
{
    (void)m;
    assert(nn_is_weighted(n));
    if (!n->wfreeze) n->wfreeze = filled(n->nw, 0);
    return n->wfreeze;
}
