/* PACT: Parameterized Clipping Activation (Choi, Wang, Venkataramani, Chuang, Srinivasan &
 * Gopalakrishnan, 2018, arXiv:1805.06085).
 *
 * Every quantized layer reads its input through a learned clip: y = clip(x, 0, alpha), then
 * y_q = q_k(y / alpha) alpha with DoReFa's q_k (k = a_bits). alpha is one parameter per layer,
 * trained with its own gradient (straight through the rounding, the paper's eq. 3):
 *     dL/dalpha = sum over x >= alpha of dL/dy_q,     dL/dx = dL/dy_q where 0 <= x < alpha,
 * plus the paper's L2 regularizer on alpha (alpha_decay). It lives in the node (xt_arg[1]) so the
 * model file carries it, follows the run's optimizer at the run's LR (stepped in step_end) and is
 * kept above 1e-3 (a clip at 0 would cut every input). The weights are quantized as in DoReFa-Net
 * (the paper's choice, methods/dorefa.c). The quantized layers read ReLU outputs here, so
 * clip(relu(x), 0, alpha) is the paper's PACT in place of that ReLU. */
#include "methods/input_transforms.h"
#include "methods/quant_util.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct { int w_bits, a_bits, first_last_fp; double alpha_init, alpha_decay; } pact_config;

typedef struct { float grad; qu_params opt; } pact_layer;

typedef struct {
    uint8_t sel[NN_MAX_NODES];
    pact_layer *layer[NN_MAX_NODES];
    int w_bits, a_bits;
    float alpha_decay;
} pact_state;

enum { PACT_ALPHA = 1 };          /* xt_arg[0] = bits, xt_arg[1] = alpha */
static const float alpha_floor = 1e-3f;

static void pact_forward(void *ctx, const nn_node *l, const float *x, float *x_q, size_t per, int batch)
{
    (void)ctx;
    int k = (int)l->xt_arg[0];
    float a = l->xt_arg[PACT_ALPHA];
    size_t n = per * (size_t)batch;
    for (size_t i = 0; i < n; i++) x_q[i] = qu_unit_round(fminf(fmaxf(x[i], 0.0f), a) / a, k) * a;
}

/* ctx (a training run's layer, NULL in a loaded model) collects dL/dalpha. */
static void pact_backward(void *ctx, const nn_node *l, const float *x, const float *x_q,
                          const float *g_q, float *g_x, size_t per, int batch)
{
    (void)x_q;
    float a = l->xt_arg[PACT_ALPHA];
    size_t n = per * (size_t)batch;
    double ga = 0;
    for (size_t i = 0; i < n; i++) {
        g_x[i] = x[i] >= 0 && x[i] < a ? g_q[i] : 0.0f;
        if (x[i] >= a) ga += g_q[i];
    }
    if (ctx) ((pact_layer *)ctx)->grad += (float)ga;
}

const nn_xtransform mt_xt_pact = { "pact", pact_forward, pact_backward };

static const opt_spec pact_opts[] = {
    { .key = "w_bits", .type = OPT_INT, .offset = offsetof(pact_config, w_bits), .def = "2", .lo = 1, .hi = 8,
      .help = "weight bits (DoReFa-Net's weight quantizer)" },
    { .key = "a_bits", .type = OPT_INT, .offset = offsetof(pact_config, a_bits), .def = "2", .lo = 1, .hi = 16,
      .help = "activation bits: quantized layers read alpha q_k(clip(x, 0, alpha) / alpha)" },
    { .key = "alpha_init", .type = OPT_FLOAT, .offset = offsetof(pact_config, alpha_init), .def = "10",
      .lo = 0.001, .hi = 1e6, .help = "initial clipping level alpha of every layer (paper: 10)" },
    { .key = "alpha_decay", .type = OPT_FLOAT, .offset = offsetof(pact_config, alpha_decay), .def = "0.0002",
      .lo = 0, .hi = 1, .help = "L2 coefficient on alpha (the paper's lambda_alpha)" },
    { .key = "first_last_fp", .type = OPT_BOOL, .offset = offsetof(pact_config, first_last_fp),
      .def = "true", .help = "keep the first and last weighted layers full precision" },
};

static void pact_free(void *state)
{
    pact_state *s = state;
    if (!s) return;
    for (int i = 0; i < NN_MAX_NODES; i++)
        if (s->layer[i]) { qu_params_free(&s->layer[i]->opt); free(s->layer[i]); }
    free(s);
}

static int pact_setup(mt_run *run, const void *config, void **state, char *err, size_t errlen)
{
    const pact_config *c = config;
    nn_model *m = run->model;
    pact_state *s = calloc(1, sizeof *s);
    if (!s) goto oom;
    s->w_bits = c->w_bits;
    s->a_bits = c->a_bits;
    s->alpha_decay = (float)c->alpha_decay;
    if (qu_select(m, c->first_last_fp, s->sel) == 0) {
        snprintf(err, errlen, "pact: architecture '%s' has no layer to quantize%s", m->arch,
                 c->first_last_fp ? " (first_last_fp = true keeps its only layers fp)" : "");
        pact_free(s); return -1;
    }
    const float args[NN_XT_ARGS] = { (float)c->a_bits, (float)c->alpha_init };
    for (int i = 0; i < m->n_nodes; i++) {
        if (!s->sel[i]) continue;
        nn_node *n = &m->nodes[i];
        pact_layer *l = calloc(1, sizeof *l);
        if (!l) goto oom;
        s->layer[i] = l;
        if (qu_params_init(&l->opt, 1) != 0) goto oom;
        n->wt = &qu_wt_dorefa; n->wt_ctx = &s->w_bits;
        if (mt_xt_install(n, MT_XT_PACT, args, err, errlen) != 0) { pact_free(s); return -1; }
        n->xt_ctx = l;
    }
    *state = s;
    return 0;
oom:
    pact_free(s);
    snprintf(err, errlen, "pact: out of memory");
    return -1;
}

static void pact_round_begin(mt_run *run, void *state)
{
    pact_state *s = state;
    for (int i = 0; i < NN_MAX_NODES; i++)
        if (s->layer[i]) {
            if (run->reset_optimizer) qu_params_reset(&s->layer[i]->opt);
            s->layer[i]->grad = 0;
        }
}

static void pact_step_end(mt_run *run, void *state)
{
    pact_state *s = state;
    for (int i = 0; i < run->model->n_nodes; i++) {
        pact_layer *l = s->layer[i];
        if (!l) continue;
        float *a = &run->model->nodes[i].xt_arg[PACT_ALPHA];
        qu_params_step(&l->opt, run->optim, (float)run->lr, s->alpha_decay, a, &l->grad);
        if (*a < alpha_floor) *a = alpha_floor;
        l->grad = 0;
    }
}

static void pact_round_end(mt_run *run, void *state)
{
    pact_state *s = state;
    if (!run->log) return;
    for (int i = 0; i < run->model->n_nodes; i++)
        if (s->layer[i]) fprintf(run->log, "pact: %s alpha %.4g\n", run->model->nodes[i].name,
                                 run->model->nodes[i].xt_arg[PACT_ALPHA]);
}

/* alpha itself is the node's xt_arg[1], in the model; here its gradient and optimizer moments. */
static int pact_checkpoint(mt_run *run, void *state, mt_ckpt *io)
{
    pact_state *s = state;
    int rc = 0;
    for (int i = 0; i < run->model->n_nodes; i++) {
        pact_layer *l = s->layer[i];
        if (!l) continue;
        rc |= mt_ckpt_array(io, MT_F32, &l->grad, 1, "%s.alpha_grad", run->model->nodes[i].name);
        rc |= qu_params_checkpoint(&l->opt, io, run->model->nodes[i].name, "alpha_optim");
    }
    return rc ? -1 : 0;
}

/* The deployable form: k-bit weight codes; the learned clip and grid stay on the inputs. */
static int pact_finish(mt_run *run, void *state, char *err, size_t errlen)
{
    pact_state *s = state;
    for (int i = 0; i < run->model->n_nodes; i++) {
        if (!s->sel[i]) continue;
        nn_node *n = &run->model->nodes[i];
        n->xt_ctx = NULL;
        if (qu_bake(n) != 0) {
            snprintf(err, errlen, "pact: out of memory packing layer '%s'", n->name);
            return -1;
        }
        n->wform = (nn_wform){ .kind = NN_WFORM_CODEBOOK, .bits = s->w_bits };
    }
    return 0;
}

static void pact_account(const mt_run *run, void *state, mt_footprint *fp)
{
    const pact_state *s = state;
    for (int i = 0; i < run->model->n_nodes; i++)
        if (s->sel[i])   /* k-bit codes + fp32 alpha (+ the 1-bit weights' scale) */
            qu_fp_set(fp, &run->model->nodes[i], s->w_bits, s->a_bits, s->w_bits == 1 ? 8.0 : 4.0);
}

const method method_pact = {
    .name = "pact", .title = "PACT",
    .paper = "Choi et al., PACT: Parameterized Clipping Activation for Quantized Neural Networks, "
             "arXiv:1805.06085, 2018",
    .options = pact_opts, .n_options = (int)(sizeof pact_opts / sizeof pact_opts[0]),
    .config_size = sizeof(pact_config),
    .setup = pact_setup, .round_begin = pact_round_begin, .step_end = pact_step_end,
    .round_end = pact_round_end, .finish = pact_finish, .account = pact_account, .free_state = pact_free,
    .checkpoint = pact_checkpoint,
};
