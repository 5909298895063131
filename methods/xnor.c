/* XNOR-Net and Binary-Weight-Networks (Rastegari et al., ECCV 2016).
 *
 * BWN: each output filter computes with alpha*sign(w), alpha = mean|w| of that filter.
 * Backward (the corrected chain rule of jiecaoyu's reproduction notes, sign by the straight-
 * through estimator cancelled where |w| > 1):
 *     g_w[i] = sign(w_i)/n * sum_j g_eff[j]*sign(w_j) + alpha * g_eff[i] * 1{|w_i| <= 1}.
 * XNOR additionally binarizes each binarized layer's input: x_q = K*sign(x) with K = mean|x|
 * over the whole sample. The paper uses a spatial map K (|x| averaged over channels, then over
 * each kernel window); one scalar per sample keeps the layer a plain conv and is what most
 * reproductions do (jiecaoyu drops K entirely). The STE passes g through where |x| <= 1 and
 * treats K as a constant. sign(0) = +1 throughout, so every weight is exactly +-alpha.
 *
 * The paper's block order is BN -> binary activation -> binary conv -> pool; binarizing a ReLU
 * output would turn every input into +K, so setup refuses such architectures in xnor mode. */
#include "methods/input_transforms.h"
#include "methods/quant_util.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { XN_BWN = 0, XN_XNOR = 1 };

typedef struct { int mode; int first_last_fp; } xnor_config;

typedef struct { int mode; uint8_t sel[NN_MAX_NODES]; } xnor_state;

static void bwn_forward(void *ctx, const nn_node *l, const float *w, float *w_eff, size_t n)
{
    (void)ctx;
    size_t fs = qu_filter_size(l);
    for (size_t f = 0; f < n / fs; f++) {
        const float *wf = w + f * fs;
        double s = 0;
        for (size_t i = 0; i < fs; i++) s += fabsf(wf[i]);
        float alpha = (float)(s / (double)fs);
        for (size_t i = 0; i < fs; i++) w_eff[f * fs + i] = wf[i] >= 0 ? alpha : -alpha;
    }
}

static void bwn_backward(void *ctx, const nn_node *l, const float *w, const float *w_eff,
                         const float *g_eff, float *g_w, size_t n)
{
    (void)ctx; (void)w_eff;
    size_t fs = qu_filter_size(l);
    for (size_t f = 0; f < n / fs; f++) {
        size_t o = f * fs;
        double a = 0, s = 0;               /* s = sum_j g_eff[j]*sign(w_j): the alpha path */
        for (size_t i = 0; i < fs; i++) {
            a += fabsf(w[o + i]);
            s += w[o + i] >= 0 ? g_eff[o + i] : -g_eff[o + i];
        }
        float alpha = (float)(a / (double)fs);
        float sn = (float)(s / (double)fs);
        for (size_t i = 0; i < fs; i++) {
            float ste = fabsf(w[o + i]) <= 1.0f ? alpha * g_eff[o + i] : 0.0f;
            g_w[o + i] = (w[o + i] >= 0 ? sn : -sn) + ste;
        }
    }
}

float mt_xnor_scale(const float *x, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) s += fabsf(x[i]);
    return (float)(s / (double)n);
}

static void xnor_in_forward(void *ctx, const nn_node *l, const float *x, float *x_q,
                            size_t per, int batch)
{
    (void)ctx; (void)l;
    for (int b = 0; b < batch; b++) {
        const float *xs = x + (size_t)b * per;
        float *qs = x_q + (size_t)b * per;
        const float k = mt_xnor_scale(xs, per);
        for (size_t i = 0; i < per; i++) qs[i] = xs[i] >= 0 ? k : -k;
    }
}

static void xnor_in_backward(void *ctx, const nn_node *l, const float *x, const float *x_q,
                             const float *g_q, float *g_x, size_t per, int batch)
{
    (void)ctx; (void)l; (void)x_q;
    qu_ste_hardtanh(x, g_q, g_x, per * (size_t)batch);
}

static const nn_wtransform bwn_wt = { "bwn", bwn_forward, bwn_backward };
const nn_xtransform mt_xt_sign_mean = { "xnor-sign", xnor_in_forward, xnor_in_backward };

static const opt_spec xnor_opts[] = {
    { .key = "mode", .type = OPT_CHOICE, .offset = offsetof(xnor_config, mode), .def = "xnor",
      .choices = "bwn|xnor", .help = "bwn: binary weights only; xnor: binary weights and inputs" },
    { .key = "first_last_fp", .type = OPT_BOOL, .offset = offsetof(xnor_config, first_last_fp),
      .def = "true", .help = "keep the first and last weighted layers full precision" },
};

static int xnor_setup(mt_run *run, const void *config, void **state, char *err, size_t errlen)
{
    const xnor_config *c = config;
    nn_model *m = run->model;
    xnor_state *s = calloc(1, sizeof *s);
    if (!s) { snprintf(err, errlen, "xnor: out of memory"); return -1; }
    s->mode = c->mode;
    if (qu_select(m, c->first_last_fp, s->sel) == 0) {
        snprintf(err, errlen, "xnor: architecture '%s' has no layer to binarize%s", m->arch,
                 c->first_last_fp ? " (first_last_fp = true keeps its only layers fp)" : "");
        free(s); return -1;
    }
    for (int i = 0; i < m->n_nodes && c->mode == XN_XNOR; i++) {
        int src = s->sel[i] ? qu_input_source(m, i) : -1;
        if (src >= 0 && m->nodes[src].kind == NN_RELU) {
            snprintf(err, errlen, "xnor: layer '%s' of architecture '%s' takes its input from "
                     "ReLU '%s'; all-positive inputs binarize to +1. Use an architecture with "
                     "BatchNorm before each binarized layer (e.g. lenet5-xnor, resnet20-xnor) "
                     "or mode = bwn", m->nodes[i].name, m->arch, m->nodes[src].name);
            free(s); return -1;
        }
    }
    for (int i = 0; i < m->n_nodes; i++) {
        if (!s->sel[i]) continue;
        m->nodes[i].wt = &bwn_wt; m->nodes[i].wt_ctx = NULL;
        static const float none[NN_XT_ARGS] = {0};
        if (c->mode == XN_XNOR) mt_xt_install(&m->nodes[i], MT_XT_SIGN_MEAN, none, err, errlen);
    }
    *state = s;
    return 0;
}

/* The deployable form: latent weights replaced by +-alpha; the input binarization stays. */
static int xnor_finish(mt_run *run, void *state, char *err, size_t errlen)
{
    xnor_state *s = state;
    for (int i = 0; i < run->model->n_nodes; i++) {
        if (!s->sel[i]) continue;
        if (qu_bake(&run->model->nodes[i]) != 0) {
            snprintf(err, errlen, "xnor: out of memory packing layer '%s'", run->model->nodes[i].name);
            return -1;
        }
        run->model->nodes[i].wform = (nn_wform){ .kind = NN_WFORM_BINARY };
    }
    return 0;
}

static void xnor_account(const mt_run *run, void *state, mt_footprint *fp)
{
    const xnor_state *s = state;
    double binmacs = 0;
    for (int i = 0; i < run->model->n_nodes; i++) {
        const nn_node *n = &run->model->nodes[i];
        if (!s->sel[i]) continue;
        /* 1 bit per weight + one fp32 alpha per filter */
        qu_fp_set(fp, n, 1, s->mode == XN_XNOR ? 1 : 32, 4.0 * n->out_c);
        binmacs += nn_node_macs(n);
    }
    /* xnor: XNOR+popcount ops; bwn: multiplications become sign-controlled additions */
    mt_footprint_extra(fp, s->mode == XN_XNOR ? "xnor.binary_macs" : "bwn.add_only_macs", binmacs);
}

static void xnor_free(void *state) { free(state); }

/* Resume: no checkpoint hook. The transforms are fixed functions of the latent weights (which
 * the checkpoint keeps) and the input transforms are the model's; setup attaches them again. */
const method method_xnor = {
    .name = "xnor", .title = "XNOR-Net / BWN",
    .paper = "Rastegari et al., XNOR-Net: ImageNet Classification Using Binary Convolutional "
             "Neural Networks, ECCV 2016",
    .options = xnor_opts, .n_options = (int)(sizeof xnor_opts / sizeof xnor_opts[0]),
    .config_size = sizeof(xnor_config),
    .setup = xnor_setup, .finish = xnor_finish, .account = xnor_account, .free_state = xnor_free,
};
