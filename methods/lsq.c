/* Learned Step Size Quantization (Esser, McKinstry, Bablani, Appuswamy & Modha, ICLR 2020).
 *
 * Weights (signed, b bits: Qn = 2^(b-1), Qp = 2^(b-1) - 1) and the inputs of each quantized
 * layer (after ReLU: unsigned, Qn = 0, Qp = 2^b - 1) are quantized as
 *     v_q = s round(clip(v / s, -Qn, Qp))
 * with one learned step s per layer for each. Gradients (the paper's eq. 3, rounding straight
 * through):
 *     dv_q/dv = 1 where -Qn < v/s < Qp, else 0
 *     dv_q/ds = -v/s + round(v/s) inside, -Qn at or below -Qn, Qp at or above Qp,
 * and s's gradient is scaled by g = 1/sqrt(N Qp) (N: weights of the layer, or features of one
 * input sample). Initial steps 2 E|v| / sqrt(Qp): the weights' at setup, the inputs' from the
 * first training batch. The steps follow the run's optimizer at the run's LR (step_end) and are
 * kept above 1e-8. The input step lives in the node (xt_arg[1]) so the model file carries it.
 * Like the paper, LSQ fine-tunes a full-precision network. */
#include "methods/input_transforms.h"
#include "methods/quant_util.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct { int w_bits, a_bits, first_last_fp; } lsq_config;

enum { LSQ_W = 0, LSQ_A = 1 };   /* s[] and grad[] entries; xt_arg[0] = bits, xt_arg[1] = step */

typedef struct {
    float s[2], grad[2];
    int qn, qp;                  /* the weights' range */
    int a_ready;                 /* input step initialised from data */
    nn_node *node;
    qu_params opt;
} lsq_layer;

typedef struct {
    uint8_t sel[NN_MAX_NODES];
    lsq_layer *layer[NN_MAX_NODES];
    int w_bits, a_bits;
} lsq_state;

static const float step_floor = 1e-8f;

/* v_q and the two gradients of one value; returns v_q. */
static float lsq_quant(float v, float s, int qn, int qp, float *dv, float *ds)
{
    float r = v / s;
    if (r <= (float)-qn) { *dv = 0; *ds = (float)-qn; return -(float)qn * s; }
    if (r >= (float)qp) { *dv = 0; *ds = (float)qp; return (float)qp * s; }
    float q = nearbyintf(r);
    *dv = 1; *ds = q - r;
    return q * s;
}

static void lsq_w_forward(void *ctx, const nn_node *l, const float *w, float *w_eff, size_t n)
{
    (void)l;
    const lsq_layer *c = ctx;
    float dv, ds;
    for (size_t i = 0; i < n; i++) w_eff[i] = lsq_quant(w[i], c->s[LSQ_W], c->qn, c->qp, &dv, &ds);
}

static void lsq_w_backward(void *ctx, const nn_node *l, const float *w, const float *w_eff,
                           const float *g_eff, float *g_w, size_t n)
{
    (void)l; (void)w_eff;
    lsq_layer *c = ctx;
    double gs = 0;
    for (size_t i = 0; i < n; i++) {
        float dv, ds;
        lsq_quant(w[i], c->s[LSQ_W], c->qn, c->qp, &dv, &ds);
        g_w[i] = dv * g_eff[i];
        gs += (double)ds * g_eff[i];
    }
    c->grad[LSQ_W] += (float)(gs / sqrt((double)n * c->qp));
}

static const nn_wtransform lsq_wt = { "lsq", lsq_w_forward, lsq_w_backward };

static float init_step(const float *v, size_t n, int qp)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) s += fabsf(v[i]);
    return fmaxf((float)(2.0 * s / (double)n / sqrt((double)qp)), step_floor);
}

static int a_qp(const nn_node *l) { return (1 << (int)l->xt_arg[0]) - 1; }

/* ctx: a training run's layer (NULL in a loaded model); its first call sets the step from data. */
static void lsq_a_forward(void *ctx, const nn_node *l, const float *x, float *x_q, size_t per, int batch)
{
    lsq_layer *c = ctx;
    size_t n = per * (size_t)batch;
    int qp = a_qp(l);
    if (c && !c->a_ready) {
        c->s[LSQ_A] = c->node->xt_arg[1] = init_step(x, n, qp);
        c->a_ready = 1;
    }
    float s = l->xt_arg[1], dv, ds;
    for (size_t i = 0; i < n; i++) x_q[i] = lsq_quant(x[i], s, 0, qp, &dv, &ds);
}

static void lsq_a_backward(void *ctx, const nn_node *l, const float *x, const float *x_q,
                           const float *g_q, float *g_x, size_t per, int batch)
{
    (void)x_q;
    size_t n = per * (size_t)batch;
    int qp = a_qp(l);
    float s = l->xt_arg[1];
    double gs = 0;
    for (size_t i = 0; i < n; i++) {
        float dv, ds;
        lsq_quant(x[i], s, 0, qp, &dv, &ds);
        g_x[i] = dv * g_q[i];
        gs += (double)ds * g_q[i];
    }
    if (ctx) ((lsq_layer *)ctx)->grad[LSQ_A] += (float)(gs / sqrt((double)per * qp));
}

const nn_xtransform mt_xt_lsq = { "lsq", lsq_a_forward, lsq_a_backward };

static const opt_spec lsq_opts[] = {
    { .key = "w_bits", .type = OPT_INT, .offset = offsetof(lsq_config, w_bits), .def = "2", .lo = 2, .hi = 8,
      .help = "weight bits (signed: -2^(b-1) .. 2^(b-1) - 1 steps)" },
    { .key = "a_bits", .type = OPT_INT, .offset = offsetof(lsq_config, a_bits), .def = "2", .lo = 1, .hi = 16,
      .help = "input bits of the quantized layers (unsigned: 0 .. 2^b - 1 steps)" },
    { .key = "first_last_fp", .type = OPT_BOOL, .offset = offsetof(lsq_config, first_last_fp),
      .def = "true", .help = "keep the first and last weighted layers full precision" },
};

static void lsq_free(void *state)
{
    lsq_state *s = state;
    if (!s) return;
    for (int i = 0; i < NN_MAX_NODES; i++)
        if (s->layer[i]) { qu_params_free(&s->layer[i]->opt); free(s->layer[i]); }
    free(s);
}

static int lsq_setup(mt_run *run, const void *config, void **state, char *err, size_t errlen)
{
    const lsq_config *c = config;
    nn_model *m = run->model;
    lsq_state *s = calloc(1, sizeof *s);
    if (!s) goto oom;
    s->w_bits = c->w_bits;
    s->a_bits = c->a_bits;
    if (qu_select(m, c->first_last_fp, s->sel) == 0) {
        snprintf(err, errlen, "lsq: architecture '%s' has no layer to quantize%s", m->arch,
                 c->first_last_fp ? " (first_last_fp = true keeps its only layers fp)" : "");
        lsq_free(s); return -1;
    }
    const float args[NN_XT_ARGS] = { (float)c->a_bits, 1.0f };   /* step set by the first batch */
    for (int i = 0; i < m->n_nodes; i++) {
        if (!s->sel[i]) continue;
        nn_node *n = &m->nodes[i];
        lsq_layer *l = calloc(1, sizeof *l);
        if (!l) goto oom;
        s->layer[i] = l;
        if (qu_params_init(&l->opt, 2) != 0) goto oom;
        l->node = n;
        l->qn = 1 << (c->w_bits - 1);
        l->qp = (1 << (c->w_bits - 1)) - 1;
        l->s[LSQ_W] = init_step(n->w, n->nw, l->qp);
        l->s[LSQ_A] = 1.0f;
        n->wt = &lsq_wt; n->wt_ctx = l;
        if (mt_xt_install(n, MT_XT_LSQ, args, err, errlen) != 0) { lsq_free(s); return -1; }
        n->xt_ctx = l;
    }
    *state = s;
    return 0;
oom:
    lsq_free(s);
    snprintf(err, errlen, "lsq: out of memory");
    return -1;
}

static void lsq_round_begin(mt_run *run, void *state)
{
    lsq_state *s = state;
    for (int i = 0; i < NN_MAX_NODES; i++)
        if (s->layer[i]) {
            if (run->reset_optimizer) qu_params_reset(&s->layer[i]->opt);
            s->layer[i]->grad[0] = s->layer[i]->grad[1] = 0;
        }
}

static void lsq_step_end(mt_run *run, void *state)
{
    lsq_state *s = state;
    for (int i = 0; i < NN_MAX_NODES; i++) {
        lsq_layer *l = s->layer[i];
        if (!l) continue;
        l->s[LSQ_A] = l->node->xt_arg[1];       /* the node holds the input step; s[] is the step's view */
        qu_params_step(&l->opt, run->optim, (float)run->lr, 0.0f, l->s, l->grad);
        for (int k = 0; k < 2; k++) l->s[k] = fmaxf(l->s[k], step_floor);
        l->node->xt_arg[1] = l->s[LSQ_A];
        l->grad[0] = l->grad[1] = 0;
    }
}

static void lsq_round_end(mt_run *run, void *state)
{
    lsq_state *s = state;
    if (!run->log) return;
    for (int i = 0; i < NN_MAX_NODES; i++)
        if (s->layer[i]) fprintf(run->log, "lsq: %s step w %.4g a %.4g\n", s->layer[i]->node->name,
                                 s->layer[i]->s[LSQ_W], s->layer[i]->s[LSQ_A]);
}

/* The weight and input steps (the input step is also the node's xt_arg[1], in the model), whether
 * the input step was set from data yet (else the first batch after resuming would set it again),
 * their gradients and optimizer moments. */
static int lsq_checkpoint(mt_run *run, void *state, mt_ckpt *io)
{
    lsq_state *s = state;
    int rc = 0;
    for (int i = 0; i < NN_MAX_NODES; i++) {
        lsq_layer *l = s->layer[i];
        if (!l) continue;
        rc |= mt_ckpt_array(io, MT_F32, l->s, 2, "%s.step", l->node->name);
        rc |= mt_ckpt_array(io, MT_F32, l->grad, 2, "%s.step_grad", l->node->name);
        rc |= mt_ckpt_array(io, MT_I32, &l->a_ready, 1, "%s.input_step_ready", l->node->name);
        rc |= qu_params_checkpoint(&l->opt, io, l->node->name, "step_optim");
    }
    (void)run;
    return rc ? -1 : 0;
}

/* The deployable form: 2^w_bits values per layer (s times integers); the input grid stays. */
static int lsq_finish(mt_run *run, void *state, char *err, size_t errlen)
{
    lsq_state *s = state;
    for (int i = 0; i < run->model->n_nodes; i++) {
        if (!s->sel[i]) continue;
        nn_node *n = &run->model->nodes[i];
        n->xt_ctx = NULL;
        if (qu_bake(n) != 0) {
            snprintf(err, errlen, "lsq: out of memory packing layer '%s'", n->name);
            return -1;
        }
        n->wform = (nn_wform){ .kind = NN_WFORM_CODEBOOK, .bits = s->w_bits };
    }
    return 0;
}

static void lsq_account(const mt_run *run, void *state, mt_footprint *fp)
{
    const lsq_state *s = state;
    for (int i = 0; i < run->model->n_nodes; i++)
        if (s->sel[i])   /* integer codes + fp32 weight and input steps */
            qu_fp_set(fp, &run->model->nodes[i], s->w_bits, s->a_bits, 8.0);
}

const method method_lsq = {
    .name = "lsq", .title = "LSQ",
    .paper = "Esser et al., Learned Step Size Quantization, ICLR 2020",
    .options = lsq_opts, .n_options = (int)(sizeof lsq_opts / sizeof lsq_opts[0]),
    .config_size = sizeof(lsq_config), .needs_baseline = 1,
    .setup = lsq_setup, .round_begin = lsq_round_begin, .step_end = lsq_step_end,
    .round_end = lsq_round_end, .finish = lsq_finish, .account = lsq_account, .free_state = lsq_free,
    .checkpoint = lsq_checkpoint,
};
