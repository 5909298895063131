/* Binarized Neural Networks (Hubara, Courbariaux, Soudry, El-Yaniv & Bengio, NeurIPS 2016).
 *
 * Each binarized layer computes with sign(w) and sign(x): no scales, weights and inputs in
 * {-1, +1} (sign(0) = +1). Both signs are trained with the straight-through estimator that
 * cancels the gradient where the argument exceeds 1 (the gradient of hardtanh):
 *     g_x = g_q 1{|x| <= 1},   g_w = g_eff 1{|w| <= 1},
 * and the real-valued weights are clipped to [-1, 1] after every step (the paper's Algorithm 1).
 * A layer reading the network's input keeps that input real (the paper's first layer does).
 *
 * The paper's block is BN -> sign -> binary layer; a sign after ReLU would turn every input into
 * +1, so setup refuses such architectures (use lenet5-xnor, resnet20-xnor). */
#include "methods/input_transforms.h"
#include "methods/quant_util.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct { int first_last_fp; } bnn_config;

typedef struct { uint8_t sel[NN_MAX_NODES], sign_in[NN_MAX_NODES]; } bnn_state;

static void sign_in_forward(void *ctx, const nn_node *l, const float *x, float *x_q, size_t per, int batch)
{
    (void)ctx; (void)l;
    size_t n = per * (size_t)batch;
    for (size_t i = 0; i < n; i++) x_q[i] = x[i] >= 0 ? 1.0f : -1.0f;
}

static void sign_in_backward(void *ctx, const nn_node *l, const float *x, const float *x_q,
                             const float *g_q, float *g_x, size_t per, int batch)
{
    (void)ctx; (void)l; (void)x_q;
    qu_ste_hardtanh(x, g_q, g_x, per * (size_t)batch);
}

const nn_xtransform mt_xt_sign = { "sign", sign_in_forward, sign_in_backward };

static const opt_spec bnn_opts[] = {
    { .key = "first_last_fp", .type = OPT_BOOL, .offset = offsetof(bnn_config, first_last_fp),
      .def = "true", .help = "keep the first and last weighted layers full precision" },
};

static int bnn_setup(mt_run *run, const void *config, void **state, char *err, size_t errlen)
{
    const bnn_config *c = config;
    nn_model *m = run->model;
    bnn_state *s = calloc(1, sizeof *s);
    if (!s) { snprintf(err, errlen, "bnn: out of memory"); return -1; }
    if (qu_select(m, c->first_last_fp, s->sel) == 0) {
        snprintf(err, errlen, "bnn: architecture '%s' has no layer to binarize%s", m->arch,
                 c->first_last_fp ? " (first_last_fp = true keeps its only layers fp)" : "");
        free(s); return -1;
    }
    for (int i = 0; i < m->n_nodes; i++) {
        int src = s->sel[i] ? qu_input_source(m, i) : -1;
        if (src >= 0 && m->nodes[src].kind == NN_RELU) {
            snprintf(err, errlen, "bnn: layer '%s' of architecture '%s' takes its input from ReLU '%s'; "
                     "all-positive inputs binarize to +1. Use an architecture with BatchNorm before each "
                     "binarized layer (e.g. lenet5-xnor, resnet20-xnor)", m->nodes[i].name, m->arch,
                     m->nodes[src].name);
            free(s); return -1;
        }
        s->sign_in[i] = s->sel[i] && m->nodes[i].in[0] >= 0;
    }
    static const float none[NN_XT_ARGS] = { 0 };
    for (int i = 0; i < m->n_nodes; i++) {
        if (!s->sel[i]) continue;
        nn_node *n = &m->nodes[i];
        qu_clip(n->w, n->nw, 1.0f);
        n->wt = &qu_wt_sign; n->wt_ctx = NULL;
        if (s->sign_in[i] && mt_xt_install(n, MT_XT_SIGN, none, err, errlen) != 0) { free(s); return -1; }
    }
    *state = s;
    return 0;
}

static void bnn_step_end(mt_run *run, void *state)
{
    const bnn_state *s = state;
    for (int i = 0; i < run->model->n_nodes; i++)
        if (s->sel[i]) qu_clip(run->model->nodes[i].w, run->model->nodes[i].nw, 1.0f);
}

/* The deployable form: weights +-1; the input signs stay. */
static int bnn_finish(mt_run *run, void *state, char *err, size_t errlen)
{
    bnn_state *s = state;
    for (int i = 0; i < run->model->n_nodes; i++) {
        if (!s->sel[i]) continue;
        if (qu_bake(&run->model->nodes[i]) != 0) {
            snprintf(err, errlen, "bnn: out of memory packing layer '%s'", run->model->nodes[i].name);
            return -1;
        }
        run->model->nodes[i].wform = (nn_wform){ .kind = NN_WFORM_BINARY };
    }
    return 0;
}

static void bnn_account(const mt_run *run, void *state, mt_footprint *fp)
{
    const bnn_state *s = state;
    double binmacs = 0;
    for (int i = 0; i < run->model->n_nodes; i++) {
        const nn_node *n = &run->model->nodes[i];
        if (!s->sel[i]) continue;
        qu_fp_set(fp, n, 1, s->sign_in[i] ? 1 : 32, 0.0);    /* 1 bit per weight, no scale */
        if (s->sign_in[i]) binmacs += nn_node_macs(n);
    }
    mt_footprint_extra(fp, "bnn.binary_macs", binmacs);   /* XNOR + popcount */
}

static void bnn_free(void *state) { free(state); }

/* Resume: no checkpoint hook. Sign transforms of the latent weights and the model's input
 * transforms: a fresh setup attaches the same ones. */
const method method_bnn = {
    .name = "bnn", .title = "BNN",
    .paper = "Hubara, Courbariaux, Soudry, El-Yaniv & Bengio, Binarized Neural Networks, NeurIPS 2016",
    .options = bnn_opts, .n_options = (int)(sizeof bnn_opts / sizeof bnn_opts[0]),
    .config_size = sizeof(bnn_config),
    .setup = bnn_setup, .step_end = bnn_step_end, .finish = bnn_finish, .account = bnn_account,
    .free_state = bnn_free,
};
