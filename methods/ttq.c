/* Trained Ternary Quantization (Zhu et al., ICLR 2017).
 *
 * Per quantized layer: Delta = t * max|w| (recomputed from the latent weights every forward),
 * w_eff = +Wp where w > Delta, -Wn where w < -Delta, 0 otherwise, with Wp and Wn learned per
 * layer. Gradients (chain rule, the sign by a straight-through estimator):
 *     dL/dWp = sum_{w > Delta} g_eff,   dL/dWn = -sum_{w < -Delta} g_eff   (w_eff = -Wn there),
 *     g_w = Wp*g_eff (w > Delta),  g_eff (|w| <= Delta),  Wn*g_eff (w < -Delta).
 * Wp/Wn follow the run's optimizer (same kind, momentum / betas) at the run's LR times
 * scale_lr, stepped in step_end. The official code initializes both scales to 1.0, which suits
 * its ResNets (a BatchNorm follows every conv); LeNet-5 has no BatchNorm, so the default here
 * is `mean`: Wp = mean of w over w > Delta, Wn = mean of |w| over w < -Delta, the scales that
 * keep each layer's output magnitude of the fine-tuned baseline. */
#include "methods/quant_util.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { TTQ_INIT_MEAN = 0, TTQ_INIT_ONE = 1 };

typedef struct { double t; int first_last_fp; double scale_lr; int scale_init; } ttq_config;

typedef struct {
    float t;
    float scale[2];          /* Wp, Wn */
    float grad[2];           /* dL/dWp, dL/dWn accumulated since the last step */
    qu_params opt;
} ttq_layer;

typedef struct {
    uint8_t sel[NN_MAX_NODES];
    ttq_layer *layer[NN_MAX_NODES];
    float scale_lr;
} ttq_state;

static void ttq_forward(void *ctx, const nn_node *l, const float *w, float *w_eff, size_t n)
{
    (void)l;
    const ttq_layer *c = ctx;
    float d = c->t * qu_max_abs(w, n);
    for (size_t i = 0; i < n; i++)
        w_eff[i] = w[i] > d ? c->scale[0] : w[i] < -d ? -c->scale[1] : 0.0f;
}

static void ttq_backward(void *ctx, const nn_node *l, const float *w, const float *w_eff,
                         const float *g_eff, float *g_w, size_t n)
{
    (void)l; (void)w_eff;
    ttq_layer *c = ctx;
    float d = c->t * qu_max_abs(w, n);
    double gp = 0, gn = 0;
    for (size_t i = 0; i < n; i++) {
        float g = g_eff[i];
        if (w[i] > d) { gp += g; g_w[i] = c->scale[0] * g; }
        else if (w[i] < -d) { gn -= g; g_w[i] = c->scale[1] * g; }
        else g_w[i] = g;
    }
    c->grad[0] += (float)gp;
    c->grad[1] += (float)gn;
}

static const nn_wtransform ttq_wt = { "ttq", ttq_forward, ttq_backward };

static const opt_spec ttq_opts[] = {
    { .key = "t", .type = OPT_FLOAT, .offset = offsetof(ttq_config, t), .def = "0.05",
      .lo = 0, .hi = 1, .lo_open = 1, .hi_open = 1,
      .help = "threshold factor: Delta = t * max|w| per layer" },
    { .key = "first_last_fp", .type = OPT_BOOL, .offset = offsetof(ttq_config, first_last_fp),
      .def = "true", .help = "keep the first and last weighted layers full precision" },
    { .key = "scale_lr", .type = OPT_FLOAT, .offset = offsetof(ttq_config, scale_lr), .def = "1",
      .lo = 0, .hi = 1000, .lo_open = 1,
      .help = "learning rate of Wp/Wn relative to the run's learning rate" },
    { .key = "scale_init", .type = OPT_CHOICE, .offset = offsetof(ttq_config, scale_init),
      .def = "mean", .choices = "mean|one",
      .help = "initial Wp/Wn: mean |w| of each side beyond Delta, or 1.0 (official code)" },
};

static void ttq_free(void *state)
{
    ttq_state *s = state;
    if (!s) return;
    for (int i = 0; i < NN_MAX_NODES; i++)
        if (s->layer[i]) { qu_params_free(&s->layer[i]->opt); free(s->layer[i]); }
    free(s);
}

static void ttq_init_scales(ttq_layer *c, const nn_node *n, int how)
{
    float d = c->t * qu_max_abs(n->w, n->nw);
    double sp = 0, sn = 0; size_t np = 0, nn = 0;
    for (size_t i = 0; i < n->nw; i++) {
        if (n->w[i] > d) { sp += n->w[i]; np++; }
        else if (n->w[i] < -d) { sn -= n->w[i]; nn++; }
    }
    /* a side with no weights keeps the other side's scale (or 1) so it stays usable */
    float p = np ? (float)(sp / (double)np) : 0, q = nn ? (float)(sn / (double)nn) : 0;
    if (!np) p = nn ? q : 1.0f;
    if (!nn) q = p;
    c->scale[0] = how == TTQ_INIT_ONE ? 1.0f : p;
    c->scale[1] = how == TTQ_INIT_ONE ? 1.0f : q;
}

static int ttq_setup(mt_run *run, const void *config, void **state, char *err, size_t errlen)
{
    const ttq_config *c = config;
    nn_model *m = run->model;
    ttq_state *s = calloc(1, sizeof *s);
    if (!s) goto oom;
    s->scale_lr = (float)c->scale_lr;
    if (qu_select(m, c->first_last_fp, s->sel) == 0) {
        snprintf(err, errlen, "ttq: architecture '%s' has no layer to ternarize%s", m->arch,
                 c->first_last_fp ? " (first_last_fp = true keeps its only layers fp)" : "");
        ttq_free(s); return -1;
    }
    for (int i = 0; i < m->n_nodes; i++) {
        if (!s->sel[i]) continue;
        ttq_layer *l = calloc(1, sizeof *l);
        if (!l) goto oom;
        s->layer[i] = l;
        if (qu_params_init(&l->opt, 2) != 0) goto oom;
        l->t = (float)c->t;
        ttq_init_scales(l, &m->nodes[i], c->scale_init);
        m->nodes[i].wt = &ttq_wt; m->nodes[i].wt_ctx = l;
        if (run->log) fprintf(run->log, "ttq: %s Wp %.4g Wn %.4g\n", m->nodes[i].name,
                              l->scale[0], l->scale[1]);
    }
    *state = s;
    return 0;
oom:
    ttq_free(s);
    snprintf(err, errlen, "ttq: out of memory");
    return -1;
}

static void ttq_round_begin(mt_run *run, void *state)
{
    ttq_state *s = state;
    for (int i = 0; i < NN_MAX_NODES; i++)
        if (s->layer[i]) {
            if (run->reset_optimizer) qu_params_reset(&s->layer[i]->opt);
            s->layer[i]->grad[0] = s->layer[i]->grad[1] = 0;
        }
}

static void ttq_step_end(mt_run *run, void *state)
{
    ttq_state *s = state;
    float lr = (float)run->lr * s->scale_lr;
    for (int i = 0; i < NN_MAX_NODES; i++) {
        ttq_layer *l = s->layer[i];
        if (!l) continue;
        qu_params_step(&l->opt, run->optim, lr, 0.0f, l->scale, l->grad);
        l->grad[0] = l->grad[1] = 0;
    }
}

static void ttq_round_end(mt_run *run, void *state)
{
    ttq_state *s = state;
    if (!run->log) return;
    for (int i = 0; i < run->model->n_nodes; i++)
        if (s->layer[i]) fprintf(run->log, "ttq: %s Wp %.4g Wn %.4g\n", run->model->nodes[i].name,
                                 s->layer[i]->scale[0], s->layer[i]->scale[1]);
}

/* Wp/Wn, their gradients since the last step and their optimizer moments, per ternary layer. */
static int ttq_checkpoint(mt_run *run, void *state, mt_ckpt *io)
{
    ttq_state *s = state;
    int rc = 0;
    for (int i = 0; i < run->model->n_nodes; i++) {
        ttq_layer *l = s->layer[i];
        if (!l) continue;
        const char *name = run->model->nodes[i].name;
        rc |= mt_ckpt_array(io, MT_F32, l->scale, 2, "%s.scale", name);
        rc |= mt_ckpt_array(io, MT_F32, l->grad, 2, "%s.scale_grad", name);
        rc |= qu_params_checkpoint(&l->opt, io, name, "scale_optim");
    }
    return rc ? -1 : 0;
}

static int ttq_finish(mt_run *run, void *state, char *err, size_t errlen)
{
    ttq_state *s = state;
    for (int i = 0; i < run->model->n_nodes; i++) {
        if (!s->sel[i]) continue;
        if (qu_bake(&run->model->nodes[i]) != 0) {
            snprintf(err, errlen, "ttq: out of memory packing layer '%s'", run->model->nodes[i].name);
            return -1;
        }
        run->model->nodes[i].wform = (nn_wform){ .kind = NN_WFORM_TERNARY, .wp = s->layer[i]->scale[0],
                                                 .wn = s->layer[i]->scale[1] };
    }
    return 0;
}

static void ttq_account(const mt_run *run, void *state, mt_footprint *fp)
{
    const ttq_state *s = state;
    double macs = 0;
    for (int i = 0; i < run->model->n_nodes; i++) {
        const nn_node *n = &run->model->nodes[i];
        if (!s->sel[i]) continue;
        qu_fp_set(fp, n, 2, 32, 8.0);              /* 2-bit codes + fp32 Wp, Wn */
        macs += nn_node_macs(n);
    }
    /* ternary layers: additions/subtractions, two multiplications per output by Wp, Wn */
    mt_footprint_extra(fp, "ttq.ternary_macs", macs);
}

const method method_ttq = {
    .name = "ttq", .title = "TTQ",
    .paper = "Zhu et al., Trained Ternary Quantization, ICLR 2017",
    .options = ttq_opts, .n_options = (int)(sizeof ttq_opts / sizeof ttq_opts[0]),
    .config_size = sizeof(ttq_config), .needs_baseline = 1,
    .setup = ttq_setup, .round_begin = ttq_round_begin, .step_end = ttq_step_end,
    .round_end = ttq_round_end, .finish = ttq_finish, .account = ttq_account,
    .free_state = ttq_free, .checkpoint = ttq_checkpoint,
};
