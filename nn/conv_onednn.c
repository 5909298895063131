/* 2-D convolution (multiply-accumulate kernel) through oneDNN's convolution primitives.
 *
 * oneDNN's fast kernels want channel-blocked layouts (nChw16c on AVX-512, nChw8c on AVX2: the
 * library picks at run time from the CPU). Activations the layout planner (nn/layout.c) keeps
 * blocked are handed over as they are; plain NCHW ones, and the weights, are reordered into the
 * primitive's layout and the result back. Results that the layer contract accumulates (dX, dW)
 * come back through a reorder with a sum post-op, so they add into the engine's buffers; a
 * gradient the driver marks fresh is written directly where the layouts agree.
 *
 * Algorithm per pass, from measurements on ResNet-20 shapes (AVX-512, batch 128): Winograd
 * F(4x4,3x3) wins for weight gradients at every width and for forward / data gradients from
 * 32 channels up; direct wins below. Winograd exists only for some ISAs and shapes; where
 * oneDNN offers none, the pass uses direct. Plans (primitives + reorders) are built once per
 * node and batch size and kept; the blocked operands live in one model-wide scratch buffer.
 * oneDNN's primitives partition work by the thread count at creation, so a fixed thread count
 * gives bit-identical results. When oneDNN offers nothing for a shape, conv.c's im2col + GEMM
 * path runs instead. */
#include <dnnl.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "nn/conv_onednn.h"
#include "nn/layer_kinds.h"
#include "nn/model_priv.h"

enum { PLANS_PER_NODE = 3 };
enum { A_SRC, A_W, A_DST, A_BIAS, A_COUNT };        /* operand slots of one pass */
enum { P_FWD, P_BWD_DATA, P_BWD_W, P_COUNT };       /* the three passes */

/* One operand: the user's plain memory, the primitive's, and the reorder between them
 * (NULL when the layouts agree and the user's memory is used directly). */
typedef struct {
    dnnl_memory_t user, prim;
    dnnl_primitive_t reorder;
    dnnl_primitive_t reorder_set;   /* accumulating outputs: the plain (=) reorder, for a fresh dx */
    size_t bytes;           /* of prim, when it needs its own buffer */
    int same;               /* user and primitive layouts agree (an = output needs no copy) */
} operand;

/* How run_pass treats an operand. */
enum { IN = 0, OUT_SET = 1, OUT_ADD = 2 };

typedef struct {
    dnnl_primitive_t prim;
    operand op[A_COUNT];
    dnnl_memory_t scratch;  /* the primitive's scratchpad (user-managed: it lives in buf) */
    size_t scratch_bytes;
} pass;

typedef struct {
    int batch, threads;     /* 0 = empty slot */
    int gen;                /* the model's layout generation the plan was built for */
    unsigned long used;     /* LRU stamp */
    int failed;             /* oneDNN offers no implementation: use the fallback */
    pass ps[P_COUNT];
} conv_plan;

struct nn_onednn {
    dnnl_engine_t engine;
    dnnl_stream_t stream;
    conv_plan plans[NN_MAX_NODES][PLANS_PER_NODE];
    unsigned long clock;
    void *buf; size_t buf_len;          /* blocked operands + primitive scratchpad */
};

static void pass_free(pass *p)
{
    if (p->prim) dnnl_primitive_destroy(p->prim);
    if (p->scratch) dnnl_memory_destroy(p->scratch);
    for (int a = 0; a < A_COUNT; a++) {
        operand *o = &p->op[a];
        if (o->reorder) dnnl_primitive_destroy(o->reorder);
        if (o->reorder_set) dnnl_primitive_destroy(o->reorder_set);
        if (o->prim && o->prim != o->user) dnnl_memory_destroy(o->prim);
        if (o->user) dnnl_memory_destroy(o->user);
    }
    memset(p, 0, sizeof *p);
}

static void plan_free(conv_plan *pl)
{
    for (int k = 0; k < P_COUNT; k++) pass_free(&pl->ps[k]);
    memset(pl, 0, sizeof *pl);
}

void nn_onednn_free(nn_onednn *d)
{
    if (!d) return;
    for (int i = 0; i < NN_MAX_NODES; i++)
        for (int j = 0; j < PLANS_PER_NODE; j++) plan_free(&d->plans[i][j]);
    if (d->stream) dnnl_stream_destroy(d->stream);
    if (d->engine) dnnl_engine_destroy(d->engine);
    free(d->buf);
    free(d);
}

static nn_onednn *context(nn_model *m)
{
    nn_model_priv *p = nn_priv(m);
    if (p->onednn) return p->onednn;
    nn_onednn *d = calloc(1, sizeof *d);
    if (!d) return NULL;
    if (dnnl_engine_create(&d->engine, dnnl_cpu, 0) != dnnl_success ||
        dnnl_stream_create(&d->stream, d->engine, dnnl_stream_default_flags) != dnnl_success) {
        nn_onednn_free(d);
        return NULL;
    }
    p->onednn = d;
    p->onednn_free = nn_onednn_free;    /* the model frees it without knowing this file */
    return d;
}

/* ------------------------------------------------------------------------ plan building -- */

typedef struct {
    dnnl_memory_desc_t src, w, dst, bias;       /* plain layouts of the engine */
    dnnl_memory_desc_t src_any, w_any, dst_any;
    dnnl_dims_t strides, pad;
    int has_bias;
} conv_descs;

static dnnl_format_tag_t tag_of(int layout)
{
    if (layout == NN_LAYOUT_PLAIN) return dnnl_nchw;
    return nn_layout_block() == 16 ? dnnl_nChw16c : dnnl_nChw8c;
}

static int descs_of(const nn_model *m, const nn_node *n, int batch, conv_descs *c)
{
    const nn_dims in = n->in_dims, out = n->out_dims;
    dnnl_dims_t sd = { batch, in.c, in.h, in.w }, wd = { n->out_c, in.c, n->k, n->k };
    dnnl_dims_t dd = { batch, out.c, out.h, out.w }, bd = { n->out_c };
    c->strides[0] = c->strides[1] = n->stride;
    c->pad[0] = c->pad[1] = n->pad;
    c->has_bias = n->b != NULL;
    return dnnl_memory_desc_init_by_tag(&c->src, 4, sd, dnnl_f32, tag_of(nn_input_layout(m, n, 0))) ||
           dnnl_memory_desc_init_by_tag(&c->w, 4, wd, dnnl_f32, dnnl_oihw) ||
           dnnl_memory_desc_init_by_tag(&c->dst, 4, dd, dnnl_f32, tag_of(n->layout)) ||
           dnnl_memory_desc_init_by_tag(&c->bias, 1, bd, dnnl_f32, dnnl_x) ||
           dnnl_memory_desc_init_by_tag(&c->src_any, 4, sd, dnnl_f32, dnnl_format_tag_any) ||
           dnnl_memory_desc_init_by_tag(&c->w_any, 4, wd, dnnl_f32, dnnl_format_tag_any) ||
           dnnl_memory_desc_init_by_tag(&c->dst_any, 4, dd, dnnl_f32, dnnl_format_tag_any)
           ? -1 : 0;
}

static int make_reorder(nn_onednn *d, dnnl_primitive_t *out, const dnnl_memory_desc_t *from,
                        const dnnl_memory_desc_t *to, int accumulate)
{
    dnnl_primitive_attr_t attr = NULL;
    if (accumulate) {
        dnnl_post_ops_t po;
        if (dnnl_primitive_attr_create(&attr) != dnnl_success) return -1;
        if (dnnl_post_ops_create(&po) != dnnl_success) { dnnl_primitive_attr_destroy(attr); return -1; }
        dnnl_post_ops_append_sum(po, 1.0f);
        dnnl_primitive_attr_set_post_ops(attr, po);
        dnnl_post_ops_destroy(po);
    }
    dnnl_primitive_desc_t rpd;
    dnnl_status_t s = dnnl_reorder_primitive_desc_create(&rpd, from, d->engine, to, d->engine, attr);
    if (attr) dnnl_primitive_attr_destroy(attr);
    if (s != dnnl_success) return -1;
    s = dnnl_primitive_create(out, rpd);
    dnnl_primitive_desc_destroy(rpd);
    return s == dnnl_success ? 0 : -1;
}

/* Sets up operand o between the user layout `user` and the primitive's `prim`. to_prim: the
 * reorder runs user -> prim (an input); else prim -> user, and `accumulate` outputs get both
 * an adding and a writing reorder. */
static int operand_init(nn_onednn *d, operand *o, const dnnl_memory_desc_t *user,
                        const dnnl_memory_desc_t *prim, int to_prim, int accumulate)
{
    if (dnnl_memory_create(&o->user, user, d->engine, DNNL_MEMORY_NONE) != dnnl_success) return -1;
    o->same = dnnl_memory_desc_equal(user, prim);
    if (o->same && !accumulate) { o->prim = o->user; return 0; }
    if (dnnl_memory_create(&o->prim, prim, d->engine, DNNL_MEMORY_NONE) != dnnl_success) return -1;
    o->bytes = dnnl_memory_desc_get_size(prim);
    if (to_prim) return make_reorder(d, &o->reorder, user, prim, 0);
    if (make_reorder(d, &o->reorder, prim, user, accumulate) != 0) return -1;
    return accumulate ? make_reorder(d, &o->reorder_set, prim, user, 0) : 0;
}

static const dnnl_memory_desc_t *queried(const_dnnl_primitive_desc_t pd, dnnl_query_t q)
{
    return dnnl_primitive_desc_query_md(pd, q, 0);
}

/* Winograd where it measured faster (see the header), else direct. */
static int prefers_winograd(const nn_node *n, int pass_kind)
{
    if (n->k != 3 || n->stride != 1 || n->pad != 1) return 0;
    if (pass_kind == P_BWD_W) return 1;
    return n->in_dims.c >= 32 && n->out_c >= 32;
}

static dnnl_primitive_attr_t user_scratchpad_attr(void)
{
    dnnl_primitive_attr_t a;
    if (dnnl_primitive_attr_create(&a) != dnnl_success) return NULL;
    dnnl_primitive_attr_set_scratchpad_mode(a, dnnl_scratchpad_mode_user);
    return a;
}

/* The forward primitive descriptor (also the hint of both backward passes). */
static dnnl_primitive_desc_t fwd_pd(nn_onednn *d, const conv_descs *c, dnnl_alg_kind_t alg)
{
    dnnl_convolution_desc_t cd;
    if (dnnl_convolution_forward_desc_init(&cd, dnnl_forward_training, alg, &c->src_any, &c->w_any,
                                           c->has_bias ? &c->bias : NULL, &c->dst_any, c->strides,
                                           c->pad, c->pad) != dnnl_success) return NULL;
    dnnl_primitive_attr_t attr = user_scratchpad_attr();
    dnnl_primitive_desc_t pd = NULL;
    if (dnnl_primitive_desc_create(&pd, &cd, attr, d->engine, NULL) != dnnl_success) pd = NULL;
    dnnl_primitive_attr_destroy(attr);
    return pd;
}

static dnnl_primitive_desc_t bwd_pd(nn_onednn *d, const conv_descs *c, int kind,
                                    dnnl_alg_kind_t alg, const_dnnl_primitive_desc_t hint)
{
    dnnl_convolution_desc_t cd;
    dnnl_status_t s = kind == P_BWD_DATA
        ? dnnl_convolution_backward_data_desc_init(&cd, alg, &c->src_any, &c->w_any, &c->dst_any,
                                                   c->strides, c->pad, c->pad)
        : dnnl_convolution_backward_weights_desc_init(&cd, alg, &c->src_any, &c->w_any,
                                                      c->has_bias ? &c->bias : NULL, &c->dst_any,
                                                      c->strides, c->pad, c->pad);
    if (s != dnnl_success) return NULL;
    dnnl_primitive_attr_t attr = user_scratchpad_attr();
    dnnl_primitive_desc_t pd = NULL;
    if (dnnl_primitive_desc_create(&pd, &cd, attr, d->engine, hint) != dnnl_success) pd = NULL;
    dnnl_primitive_attr_destroy(attr);
    return pd;
}

/* Builds pass `kind` from pd (consumed). Operands: what the engine hands in and what comes back. */
static int pass_init(nn_onednn *d, pass *p, int kind, dnnl_primitive_desc_t pd, const conv_descs *c)
{
    int rc = -1;
    const dnnl_memory_desc_t *msrc, *mw, *mdst;
    if (kind == P_FWD) {
        msrc = queried(pd, dnnl_query_src_md); mw = queried(pd, dnnl_query_weights_md);
        mdst = queried(pd, dnnl_query_dst_md);
        if (operand_init(d, &p->op[A_SRC], &c->src, msrc, 1, 0) || operand_init(d, &p->op[A_W], &c->w, mw, 1, 0) ||
            operand_init(d, &p->op[A_DST], &c->dst, mdst, 0, 0)) goto out;
        if (c->has_bias && operand_init(d, &p->op[A_BIAS], &c->bias, &c->bias, 1, 0)) goto out;
    } else if (kind == P_BWD_DATA) {
        msrc = queried(pd, dnnl_query_diff_src_md); mw = queried(pd, dnnl_query_weights_md);
        mdst = queried(pd, dnnl_query_diff_dst_md);
        if (operand_init(d, &p->op[A_SRC], &c->src, msrc, 0, 1) || operand_init(d, &p->op[A_W], &c->w, mw, 1, 0) ||
            operand_init(d, &p->op[A_DST], &c->dst, mdst, 1, 0)) goto out;
    } else {
        msrc = queried(pd, dnnl_query_src_md); mw = queried(pd, dnnl_query_diff_weights_md);
        mdst = queried(pd, dnnl_query_diff_dst_md);
        if (operand_init(d, &p->op[A_SRC], &c->src, msrc, 1, 0) || operand_init(d, &p->op[A_W], &c->w, mw, 0, 1) ||
            operand_init(d, &p->op[A_DST], &c->dst, mdst, 1, 0)) goto out;
        /* diff_bias has the plain layout already; its "reorder" is the accumulation. */
        if (c->has_bias && operand_init(d, &p->op[A_BIAS], &c->bias, &c->bias, 0, 1)) goto out;
    }
    const dnnl_memory_desc_t *sp = queried(pd, dnnl_query_scratchpad_md);
    p->scratch_bytes = dnnl_memory_desc_get_size(sp);
    if (p->scratch_bytes &&
        dnnl_memory_create(&p->scratch, sp, d->engine, DNNL_MEMORY_NONE) != dnnl_success) goto out;
    rc = dnnl_primitive_create(&p->prim, pd) == dnnl_success ? 0 : -1;
out:
    dnnl_primitive_desc_destroy(pd);
    return rc;
}

static int plan_build(nn_onednn *d, const nn_model *m, const nn_node *n, int batch, conv_plan *pl)
{
    conv_descs c;
    if (descs_of(m, n, batch, &c) != 0) return -1;
    /* The hint of a backward pass is a training forward of the same algorithm. */
    for (int k = 0; k < P_COUNT; k++) {
        const dnnl_alg_kind_t algs[2] = {
            prefers_winograd(n, k) ? dnnl_convolution_winograd : dnnl_convolution_direct,
            dnnl_convolution_direct };
        dnnl_primitive_desc_t pd = NULL;
        for (int a = 0; a < 2 && !pd; a++) {
            if (a == 1 && algs[0] == algs[1]) break;
            dnnl_primitive_desc_t hint = fwd_pd(d, &c, algs[a]);
            if (!hint) continue;
            pd = k == P_FWD ? hint : bwd_pd(d, &c, k, algs[a], hint);
            if (k != P_FWD) dnnl_primitive_desc_destroy(hint);
        }
        if (!pd || pass_init(d, &pl->ps[k], k, pd, &c) != 0) return -1;
    }
    return 0;
}

/* The plan for (node, batch, threads), built on first use; NULL = use the fallback. */
static conv_plan *plan_for(nn_model *m, int node, int batch, int threads)
{
    nn_onednn *d = context(m);
    if (!d) return NULL;
    conv_plan *slots = d->plans[node], *victim = &slots[0];
    const int gen = nn_priv(m)->layout_gen;
    d->clock++;
    for (int j = 0; j < PLANS_PER_NODE; j++) {
        conv_plan *pl = &slots[j];
        if (pl->batch == batch && pl->threads == threads && pl->gen == gen) {
            pl->used = d->clock;
            return pl->failed ? NULL : pl;
        }
        if (pl->used < victim->used) victim = pl;
    }
    plan_free(victim);
    victim->batch = batch; victim->threads = threads; victim->used = d->clock; victim->gen = gen;
    if (plan_build(d, m, &m->nodes[node], batch, victim) != 0) {
        for (int k = 0; k < P_COUNT; k++) pass_free(&victim->ps[k]);
        victim->failed = 1;
        return NULL;
    }
    return victim;
}

/* ----------------------------------------------------------------------------- running -- */

static size_t round64(size_t b) { return (b + 63) / 64 * 64; }

static size_t pass_bytes(const pass *p)
{
    size_t b = round64(p->scratch_bytes);
    for (int a = 0; a < A_COUNT; a++) b += round64(p->op[a].bytes);
    return b;
}

static int ensure_buf(nn_onednn *d, size_t bytes)
{
    if (d->buf_len >= bytes) return 0;
    free(d->buf);
    d->buf = nn_alloc_aligned(bytes);
    d->buf_len = d->buf ? bytes : 0;
    return d->buf ? 0 : -1;
}

static void must(dnnl_status_t s, const char *what)
{
    if (s == dnnl_success) return;
    fprintf(stderr, "nn/conv_onednn.c: oneDNN %s failed (status %d)\n", what, (int)s);
    abort();
}

static dnnl_status_t reorder(nn_onednn *d, const operand *o, int mode)
{
    dnnl_exec_arg_t a[2] = { { DNNL_ARG_FROM, mode == IN ? o->user : o->prim },
                             { DNNL_ARG_TO, mode == IN ? o->prim : o->user } };
    dnnl_primitive_t r = mode == OUT_SET && o->reorder_set ? o->reorder_set : o->reorder;
    return dnnl_primitive_execute(r, d->stream, 2, a);
}

/* Runs pass p with the engine's plain buffers; inputs are reordered in, outputs back out
 * (accumulating where the operand says so). -1 only before anything was written (no buffer):
 * the caller may then fall back; a failing primitive after that is a programming error. */
/* Where a pass puts its blocked operands in the scratch buffer: from `base` on, except the
 * output gradient (A_DST), which the two backward passes share when they want it in the same
 * layout: it then sits at the buffer's start and the second pass skips its reorder. */
typedef struct { size_t base; int dst_shared, dst_ready; } pass_layout;

static int run_pass(nn_onednn *d, pass *p, void *const user[A_COUNT], const int args[A_COUNT],
                    const int mode[A_COUNT], pass_layout lay)
{
    if (ensure_buf(d, lay.base + pass_bytes(p)) != 0) return -1;
    char *cur = (char *)d->buf + lay.base;
    dnnl_exec_arg_t ex[A_COUNT + 1];
    int nex = 0;
    for (int a = 0; a < A_COUNT; a++) {
        operand *o = &p->op[a];
        if (!o->user) continue;
        dnnl_memory_set_data_handle(o->user, user[a]);
        int shared = a == A_DST && lay.dst_shared;
        if (mode[a] == OUT_SET && o->same) {        /* write straight into the engine's buffer */
            dnnl_memory_set_data_handle(o->prim, user[a]);
            ex[nex++] = (dnnl_exec_arg_t){ args[a], o->prim };
            continue;
        }
        if (o->prim != o->user) {
            dnnl_memory_set_data_handle(o->prim, shared ? d->buf : cur);
            if (!shared) cur += round64(o->bytes);
        }
        if (o->reorder && mode[a] == IN && !(shared && lay.dst_ready)) must(reorder(d, o, IN), "reorder in");
        ex[nex++] = (dnnl_exec_arg_t){ args[a], o->prim };
    }
    if (p->scratch) {
        dnnl_memory_set_data_handle(p->scratch, cur);
        ex[nex++] = (dnnl_exec_arg_t){ DNNL_ARG_SCRATCHPAD, p->scratch };
    }
    must(dnnl_primitive_execute(p->prim, d->stream, nex, ex), "convolution");
    for (int a = 0; a < A_COUNT; a++) {
        operand *o = &p->op[a];
        if (o->user && o->reorder && mode[a] != IN && !(mode[a] == OUT_SET && o->same))
            must(reorder(d, o, mode[a]), "reorder out");
    }
    must(dnnl_stream_wait(d->stream), "stream");
    return 0;
}

static int node_index(const nn_model *m, const nn_node *n) { return (int)(n - m->nodes); }

/* oneDNN sizes its parallel sections by OpenMP's thread count: pin it to the model's. */
static int with_threads(const nn_model *m, int *saved)
{
    *saved = omp_get_max_threads();
    int t = m->threads > 0 ? m->threads : *saved;
    omp_set_num_threads(t);
    return t;
}

int nn_onednn_conv_forward(nn_model *m, nn_node *n, const float *x, int batch)
{
    int saved, t = with_threads(m, &saved);
    conv_plan *pl = plan_for(m, node_index(m, n), batch, t);
    int rc = -1;
    if (pl) {
        void *user[A_COUNT] = { (void *)x, n->w_eff, n->out, n->b };
        const int args[A_COUNT] = { DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_DST, DNNL_ARG_BIAS };
        const int out[A_COUNT] = { IN, IN, OUT_SET, IN };
        rc = run_pass(context(m), &pl->ps[P_FWD], user, args, out, (pass_layout){ 0, 0, 0 });
    }
    omp_set_num_threads(saved);
    return rc;
}

/* The two backward passes read the output gradient in the same blocked layout (oneDNN picks
 * nChw16c for both on AVX-512): reorder it once. */
static int dst_shareable(const pass *w, const pass *dd)
{
    const operand *a = &w->op[A_DST], *b = &dd->op[A_DST];
    if (!a->reorder || !b->reorder) return 0;
    const dnnl_memory_desc_t *ma, *mb;
    if (dnnl_memory_get_memory_desc(a->prim, &ma) != dnnl_success ||
        dnnl_memory_get_memory_desc(b->prim, &mb) != dnnl_success) return 0;
    return dnnl_memory_desc_equal(ma, mb);
}

int nn_onednn_conv_backward(nn_model *m, nn_node *n, const float *x, float *dx, int batch)
{
    int saved, t = with_threads(m, &saved);
    conv_plan *pl = plan_for(m, node_index(m, n), batch, t);
    int rc = -1;
    if (pl) {
        nn_onednn *d = context(m);
        pass *pw = &pl->ps[P_BWD_W], *pd = &pl->ps[P_BWD_DATA];
        const int share = dx && dst_shareable(pw, pd);
        const pass_layout lay_w = { share ? round64(pw->op[A_DST].bytes) : 0, share, 0 };
        const pass_layout lay_d = { lay_w.base, share, share };
        /* Both passes' buffers first: once dW is accumulated, falling back would count it twice. */
        size_t need = pass_bytes(pw), need_d = pass_bytes(pd);
        if (ensure_buf(d, lay_w.base + (need > need_d ? need : need_d)) != 0) goto done;
        const int args_w[A_COUNT] = { DNNL_ARG_SRC, DNNL_ARG_DIFF_WEIGHTS, DNNL_ARG_DIFF_DST, DNNL_ARG_DIFF_BIAS };
        const int out_w[A_COUNT] = { IN, OUT_ADD, IN, OUT_ADD };
        void *user_w[A_COUNT] = { (void *)x, n->gw, n->dout, n->gb };
        rc = run_pass(d, pw, user_w, args_w, out_w, lay_w);
        if (rc == 0 && dx) {
            const int args_d[A_COUNT] = { DNNL_ARG_DIFF_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_DIFF_DST, 0 };
            const int out_d[A_COUNT] = { n->dx_fresh[0] ? OUT_SET : OUT_ADD, IN, IN, IN };
            void *user_d[A_COUNT] = { dx, n->w_eff, n->dout, NULL };
            run_pass(d, pd, user_d, args_d, out_d, lay_d);   /* buffer ensured */
        }
    }
done:
    omp_set_num_threads(saved);
    return rc;
}

void nn_backend_describe(char *out, size_t len)
{
    static const struct { dnnl_cpu_isa_t isa; const char *name; } isas[] = {
        {dnnl_cpu_isa_sse41, "sse41"}, {dnnl_cpu_isa_avx, "avx"}, {dnnl_cpu_isa_avx2, "avx2"},
        {dnnl_cpu_isa_avx512_mic, "avx512_mic"}, {dnnl_cpu_isa_avx512_mic_4ops, "avx512_mic_4ops"},
        {dnnl_cpu_isa_avx512_core, "avx512_core"}, {dnnl_cpu_isa_avx512_core_vnni, "avx512_core_vnni"},
        {dnnl_cpu_isa_avx512_core_bf16, "avx512_core_bf16"}, {dnnl_cpu_isa_avx512_core_amx, "avx512_core_amx"},
        {dnnl_cpu_isa_avx2_vnni, "avx2_vnni"},
    };
    const dnnl_cpu_isa_t isa = dnnl_get_effective_cpu_isa();
    const char *name = "other";
    for (size_t i = 0; i < sizeof isas / sizeof isas[0]; i++)
        if (isas[i].isa == isa) name = isas[i].name;
    const dnnl_version_t *v = dnnl_version();
    snprintf(out, len, "oneDNN %d.%d.%d, %s", v->major, v->minor, v->patch, name);
}
