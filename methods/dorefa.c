/* DoReFa-Net (Zhou, Wu, Ni, Zhou, Wen & Zou, 2016, arXiv:1606.06160), weights and activations
 * (gradients stay fp32: the paper's G = 32 rows).
 *
 * k-bit weights, q_k(v) = round((2^k - 1) v) / (2^k - 1) on [0, 1]:
 *     k = 1:  w_eff = E|w| sign(w)              (one scale per layer, straight through)
 *     k > 1:  w_eff = 2 q_k(tanh(w) / (2 max|tanh(w)|) + 1/2) - 1
 * The rounding passes its gradient straight through; everything else is differentiated exactly,
 * the max included (the official code leaves that to autodiff): with t = tanh(w), M = max|t|
 * reached at j*, g_w[i] = g_eff[i] (1 - t_i^2) / M, and g_w[j*] gains
 * -sign(t_j*) (1 - t_j*^2) / M^2 * sum_i g_eff[i] t_i.
 * k-bit activations: every quantized layer reads x_q = q_k(clip(x, 0, 1)); g_x = g_q where
 * 0 <= x <= 1. The first and last layers stay full precision, as in the paper. */
#include "methods/input_transforms.h"
#include "methods/quant_util.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct { int w_bits, a_bits, first_last_fp; } dorefa_config;

typedef struct { uint8_t sel[NN_MAX_NODES]; int w_bits, a_bits; } dorefa_state;

static void dorefa_w_forward(void *ctx, const nn_node *l, const float *w, float *w_eff, size_t n)
{
    (void)l;
    int k = *(const int *)ctx;
    if (k == 1) {
        double s = 0;
        for (size_t i = 0; i < n; i++) s += fabsf(w[i]);
        float e = (float)(s / (double)n);
        for (size_t i = 0; i < n; i++) w_eff[i] = w[i] >= 0 ? e : -e;
        return;
    }
    float m = 0;
    for (size_t i = 0; i < n; i++) m = fmaxf(m, fabsf(tanhf(w[i])));
    if (m == 0) m = 1;            /* all weights 0: every code is the middle one */
    for (size_t i = 0; i < n; i++) w_eff[i] = 2.0f * qu_unit_round(tanhf(w[i]) / (2.0f * m) + 0.5f, k) - 1.0f;
}

static void dorefa_w_backward(void *ctx, const nn_node *l, const float *w, const float *w_eff,
                              const float *g_eff, float *g_w, size_t n)
{
    (void)l; (void)w_eff;
    if (*(const int *)ctx == 1) { memcpy(g_w, g_eff, n * sizeof *g_w); return; }
    float m = 0; size_t jm = 0;
    double gt = 0;
    for (size_t i = 0; i < n; i++) {
        float t = fabsf(tanhf(w[i]));
        if (t > m) { m = t; jm = i; }
    }
    if (m == 0) { memset(g_w, 0, n * sizeof *g_w); return; }
    for (size_t i = 0; i < n; i++) {
        float t = tanhf(w[i]);
        g_w[i] = g_eff[i] * (1.0f - t * t) / m;
        gt += (double)g_eff[i] * t;
    }
    float tj = tanhf(w[jm]);
    g_w[jm] -= (float)((tj >= 0 ? 1.0 : -1.0) * (1.0 - (double)tj * tj) / ((double)m * m) * gt);
}

const nn_wtransform qu_wt_dorefa = { "dorefa", dorefa_w_forward, dorefa_w_backward };

static void unit_forward(void *ctx, const nn_node *l, const float *x, float *x_q, size_t per, int batch)
{
    (void)ctx;
    int k = (int)l->xt_arg[0];
    size_t n = per * (size_t)batch;
    for (size_t i = 0; i < n; i++) x_q[i] = qu_unit_round(fminf(fmaxf(x[i], 0.0f), 1.0f), k);
}

static void unit_backward(void *ctx, const nn_node *l, const float *x, const float *x_q,
                          const float *g_q, float *g_x, size_t per, int batch)
{
    (void)ctx; (void)l; (void)x_q;
    size_t n = per * (size_t)batch;
    for (size_t i = 0; i < n; i++) g_x[i] = x[i] >= 0 && x[i] <= 1 ? g_q[i] : 0.0f;
}

const nn_xtransform mt_xt_unit_uniform = { "unit-uniform", unit_forward, unit_backward };

static const opt_spec dorefa_opts[] = {
    { .key = "w_bits", .type = OPT_INT, .offset = offsetof(dorefa_config, w_bits), .def = "2", .lo = 1, .hi = 8,
      .help = "weight bits k (1: E|w| sign(w); else the tanh-normalised k-bit grid on [-1, 1])" },
    { .key = "a_bits", .type = OPT_INT, .offset = offsetof(dorefa_config, a_bits), .def = "2", .lo = 1, .hi = 16,
      .help = "activation bits: quantized layers read q_k(clip(x, 0, 1))" },
    { .key = "first_last_fp", .type = OPT_BOOL, .offset = offsetof(dorefa_config, first_last_fp),
      .def = "true", .help = "keep the first and last weighted layers full precision" },
};

static int dorefa_setup(mt_run *run, const void *config, void **state, char *err, size_t errlen)
{
    const dorefa_config *c = config;
    nn_model *m = run->model;
    dorefa_state *s = calloc(1, sizeof *s);
    if (!s) { snprintf(err, errlen, "dorefa: out of memory"); return -1; }
    s->w_bits = c->w_bits;
    s->a_bits = c->a_bits;
    if (qu_select(m, c->first_last_fp, s->sel) == 0) {
        snprintf(err, errlen, "dorefa: architecture '%s' has no layer to quantize%s", m->arch,
                 c->first_last_fp ? " (first_last_fp = true keeps its only layers fp)" : "");
        free(s); return -1;
    }
    const float args[NN_XT_ARGS] = { (float)c->a_bits, 0 };
    for (int i = 0; i < m->n_nodes; i++) {
        if (!s->sel[i]) continue;
        m->nodes[i].wt = &qu_wt_dorefa; m->nodes[i].wt_ctx = &s->w_bits;
        if (mt_xt_install(&m->nodes[i], MT_XT_UNIT_UNIFORM, args, err, errlen) != 0) { free(s); return -1; }
    }
    *state = s;
    return 0;
}

/* The deployable form: at most 2^w_bits values per layer at every position; the input grid stays. */
static int dorefa_finish(mt_run *run, void *state, char *err, size_t errlen)
{
    dorefa_state *s = state;
    for (int i = 0; i < run->model->n_nodes; i++) {
        if (!s->sel[i]) continue;
        if (qu_bake(&run->model->nodes[i]) != 0) {
            snprintf(err, errlen, "dorefa: out of memory packing layer '%s'", run->model->nodes[i].name);
            return -1;
        }
        run->model->nodes[i].wform = (nn_wform){ .kind = NN_WFORM_CODEBOOK, .bits = s->w_bits };
    }
    return 0;
}

static void dorefa_account(const mt_run *run, void *state, mt_footprint *fp)
{
    const dorefa_state *s = state;
    for (int i = 0; i < run->model->n_nodes; i++)
        if (s->sel[i])   /* k-bit codes; the grid is fixed, k = 1 adds one fp32 scale */
            qu_fp_set(fp, &run->model->nodes[i], s->w_bits, s->a_bits, s->w_bits == 1 ? 4.0 : 0.0);
}

static void dorefa_free(void *state) { free(state); }

/* Resume: no checkpoint hook. k-bit transforms of the latent weights and the model's input
 * transforms: a fresh setup attaches the same ones. */
const method method_dorefa = {
    .name = "dorefa", .title = "DoReFa-Net",
    .paper = "Zhou et al., DoReFa-Net: Training Low Bitwidth Convolutional Neural Networks with Low "
             "Bitwidth Gradients, arXiv:1606.06160, 2016",
    .options = dorefa_opts, .n_options = (int)(sizeof dorefa_opts / sizeof dorefa_opts[0]),
    .config_size = sizeof(dorefa_config),
    .setup = dorefa_setup, .finish = dorefa_finish, .account = dorefa_account, .free_state = dorefa_free,
};
