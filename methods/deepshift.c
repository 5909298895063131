/* DeepShift (Elhoushi et al., "DeepShift: Towards Multiplication-Less Neural Networks").
 * Every converted weight is sign * 2^p, sign in {-1, 0, +1}, p in [-(2^(bits-1) - 2), 0]
 * (one bit of the code goes to the ternary sign), so a multiplication becomes a shift.
 *
 * DS-Q: latent fp weights, w_eff = sign(w) * 2^round(log2|w|), the exponent clamped above at 0
 *       and 0 when it rounds below the range; gradients straight through.
 * DS-PS: the shift and the sign are trained directly. The latent weight buffer holds the
 *       continuous shift p (so the run's optimizer updates it; its weight decay is switched off
 *       there, since decay would pull every weight towards 2^0 = 1), and the method keeps a
 *       continuous sign s per weight, stepped in step_end with the run's optimizer kind and LR.
 *       w_eff = tsign(s) * 2^round(p), tsign(s) = sign(round(s)); STE gradients:
 *       dp = g_eff * w_eff * ln2, ds = g_eff * 2^round(p). p is clamped to the range and s to
 *       [-1, 1] after each step. Setup converts the current weights: p = log2|w| (not rounded,
 *       the forward rounds), s = sign(w). The paper trains DS-PS with RAdam; this harness has
 *       SGD and Adam, so the PS configs use Adam.
 * Activations: with act_bits > 0 each converted layer's input is rounded to fixed point with
 * act_bits fractional and act_int_bits integer bits (16.16 by default, as in the paper's code),
 * gradient straight through. */
#include "methods/input_transforms.h"
#include "methods/quant_util.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { DS_Q = 0, DS_PS = 1 };

typedef struct {
    int mode, weight_bits, act_bits, act_int_bits, first_last_fp;
} ds_config;

typedef struct {
    int pmin, pmax;
    float *s, *gs;           /* DS-PS: latent sign and its gradient (nw each) */
    qu_params opt;
} ds_layer;

typedef struct {
    int mode, w_bits, a_bits;
    uint8_t sel[NN_MAX_NODES];
    ds_layer *layer[NN_MAX_NODES];
} ds_state;

static void dsq_forward(void *ctx, const nn_node *l, const float *w, float *w_eff, size_t n)
{
    (void)l;
    const ds_layer *c = ctx;
    for (size_t i = 0; i < n; i++) w_eff[i] = qu_pow2_round(w[i], c->pmin, c->pmax);
}

static void dsq_backward(void *ctx, const nn_node *l, const float *w, const float *w_eff,
                         const float *g_eff, float *g_w, size_t n)
{
    (void)ctx; (void)l; (void)w; (void)w_eff;
    for (size_t i = 0; i < n; i++) g_w[i] = g_eff[i];
}

static float tsign(float s) { return s >= 0.5f ? 1.0f : s <= -0.5f ? -1.0f : 0.0f; }

static void dsps_forward(void *ctx, const nn_node *l, const float *p, float *w_eff, size_t n)
{
    (void)l;
    const ds_layer *c = ctx;
    for (size_t i = 0; i < n; i++) {
        float e = fminf(fmaxf(p[i], (float)c->pmin), (float)c->pmax);
        w_eff[i] = tsign(c->s[i]) * ldexpf(1.0f, (int)lroundf(e));
    }
}

static void dsps_backward(void *ctx, const nn_node *l, const float *p, const float *w_eff,
                          const float *g_eff, float *g_p, size_t n)
{
    (void)l; (void)w_eff;
    ds_layer *c = ctx;
    const float ln2 = 0.69314718f;
    for (size_t i = 0; i < n; i++) {
        float e = fminf(fmaxf(p[i], (float)c->pmin), (float)c->pmax);
        float mag = ldexpf(1.0f, (int)lroundf(e)), g = g_eff[i];
        c->gs[i] += g * mag;
        g_p[i] = g * tsign(c->s[i]) * mag * ln2;
    }
}

/* The grid is the node's own (xt_arg: integer bits, fractional bits), so a model file keeps it. */
static void ds_act_forward(void *ctx, const nn_node *l, const float *x, float *x_q,
                           size_t per, int batch)
{
    (void)ctx;
    int ib = (int)l->xt_arg[0], fb = (int)l->xt_arg[1];
    qu_fixed_round_array(x, x_q, per * (size_t)batch, ib, fb);
}

static const nn_wtransform dsq_wt = { "deepshift-q", dsq_forward, dsq_backward };
static const nn_wtransform dsps_wt = { "deepshift-ps", dsps_forward, dsps_backward };
const nn_xtransform mt_xt_fixed_point = { "fixed-point", ds_act_forward, NULL };

static const opt_spec ds_opts[] = {
    { .key = "mode", .type = OPT_CHOICE, .offset = offsetof(ds_config, mode), .def = "q",
      .choices = "q|ps", .help = "q: round fp weights to powers of two; ps: train shift and sign" },
    { .key = "weight_bits", .type = OPT_INT, .offset = offsetof(ds_config, weight_bits),
      .def = "5", .lo = 2, .hi = 8,
      .help = "bits per weight: ternary sign + shift in [-(2^(bits-1)-2), 0]" },
    { .key = "act_bits", .type = OPT_INT, .offset = offsetof(ds_config, act_bits), .def = "16",
      .lo = 0, .hi = 24, .help = "fractional bits of fixed-point activations (0 = fp32)" },
    { .key = "act_int_bits", .type = OPT_INT, .offset = offsetof(ds_config, act_int_bits),
      .def = "16", .lo = 2, .hi = 24, .help = "integer bits (sign included) of the activations" },
    { .key = "first_last_fp", .type = OPT_BOOL, .offset = offsetof(ds_config, first_last_fp),
      .def = "false", .help = "keep the first and last weighted layers full precision" },
};

static void ds_free(void *state)
{
    ds_state *s = state;
    if (!s) return;
    for (int i = 0; i < NN_MAX_NODES; i++) {
        ds_layer *l = s->layer[i];
        if (!l) continue;
        free(l->s); free(l->gs); qu_params_free(&l->opt); free(l);
    }
    free(s);
}

/* DS-PS: the latent weights become shifts (in place) and signs (new buffer). */
static int ds_convert(nn_model *m, nn_node *n, ds_layer *l)
{
    l->s = malloc(n->nw * sizeof *l->s);
    l->gs = calloc(n->nw, sizeof *l->gs);
    if (!l->s || !l->gs || qu_params_init(&l->opt, n->nw) != 0) return -1;
    for (size_t i = 0; i < n->nw; i++) {
        float w = n->w[i];
        l->s[i] = w > 0 ? 1.0f : w < 0 ? -1.0f : 0.0f;
        float p = w != 0 ? (float)log2(fabs((double)w)) : (float)l->pmin;
        n->w[i] = fminf(fmaxf(p, (float)l->pmin), (float)l->pmax);
        m->decay[n->w_off + i] = 0;
    }
    return 0;
}

static int ds_setup(mt_run *run, const void *config, void **state, char *err, size_t errlen)
{
    const ds_config *c = config;
    nn_model *m = run->model;
    ds_state *s = calloc(1, sizeof *s);
    if (!s) goto oom;
    s->mode = c->mode;
    s->w_bits = c->weight_bits;
    s->a_bits = c->act_bits ? c->act_int_bits + c->act_bits : 32;
    if (qu_select(m, c->first_last_fp, s->sel) == 0) {
        snprintf(err, errlen, "deepshift: architecture '%s' has no layer to convert", m->arch);
        ds_free(s); return -1;
    }
    for (int i = 0; i < m->n_nodes; i++) {
        if (!s->sel[i]) continue;
        nn_node *n = &m->nodes[i];
        ds_layer *l = calloc(1, sizeof *l);
        if (!l) goto oom;
        s->layer[i] = l;
        l->pmin = -((1 << (c->weight_bits - 1)) - 2);
        l->pmax = 0;
        if (c->mode == DS_PS && ds_convert(m, n, l) != 0) goto oom;
        n->wt = c->mode == DS_PS ? &dsps_wt : &dsq_wt; n->wt_ctx = l;
        const float grid[NN_XT_ARGS] = {(float)c->act_int_bits, (float)c->act_bits};
        if (c->act_bits && mt_xt_install(n, MT_XT_FIXED_POINT, grid, err, errlen) != 0) { ds_free(s); return -1; }
    }
    *state = s;
    return 0;
oom:
    ds_free(s);
    snprintf(err, errlen, "deepshift: out of memory");
    return -1;
}

static void ds_round_begin(mt_run *run, void *state)
{
    ds_state *s = state;
    for (int i = 0; i < NN_MAX_NODES; i++) {
        ds_layer *l = s->layer[i];
        if (!l || !l->gs) continue;
        if (run->reset_optimizer) qu_params_reset(&l->opt);
        memset(l->gs, 0, l->opt.n * sizeof *l->gs);
    }
}

/* DS-PS: step the signs, clamp signs and shifts. */
static void ds_step_end(mt_run *run, void *state)
{
    ds_state *s = state;
    if (s->mode != DS_PS) return;
    for (int i = 0; i < run->model->n_nodes; i++) {
        ds_layer *l = s->layer[i];
        if (!l) continue;
        nn_node *n = &run->model->nodes[i];
        qu_params_step(&l->opt, run->optim, (float)run->lr, run->optim->weight_decay, l->s, l->gs);
        for (size_t k = 0; k < n->nw; k++) {
            l->s[k] = fminf(fmaxf(l->s[k], -1.0f), 1.0f);
            n->w[k] = fminf(fmaxf(n->w[k], (float)l->pmin), (float)l->pmax);
        }
        memset(l->gs, 0, n->nw * sizeof *l->gs);
    }
}

/* DS-PS: the latent signs, their gradients and optimizer moments (the shifts are the model's
 * parameters). DS-Q rounds the model's own weights: nothing beyond them. */
static int ds_checkpoint(mt_run *run, void *state, mt_ckpt *io)
{
    ds_state *s = state;
    int rc = 0;
    for (int i = 0; i < run->model->n_nodes; i++) {
        ds_layer *l = s->layer[i];
        if (!l || !l->s) continue;
        const nn_node *n = &run->model->nodes[i];
        rc |= mt_ckpt_array(io, MT_F32, l->s, n->nw, "%s.sign", n->name);
        rc |= mt_ckpt_array(io, MT_F32, l->gs, n->nw, "%s.sign_grad", n->name);
        rc |= qu_params_checkpoint(&l->opt, io, n->name, "sign_optim");
    }
    return rc ? -1 : 0;
}

/* The deployable form: w = sign * 2^shift (the fixed-point input rounding stays). */
static int ds_finish(mt_run *run, void *state, char *err, size_t errlen)
{
    ds_state *s = state;
    for (int i = 0; i < run->model->n_nodes; i++) {
        nn_node *n = &run->model->nodes[i];
        if (!s->sel[i]) continue;
        if (qu_bake(n) != 0) {
            snprintf(err, errlen, "deepshift: out of memory packing layer '%s'", n->name);
            return -1;
        }
        if (s->mode == DS_PS)   /* the buffer holds weights again: restore their decay flag */
            memset(run->model->decay + n->w_off, 1, n->nw);
        n->wform = (nn_wform){ .kind = NN_WFORM_POW2, .e_min = s->layer[i]->pmin, .e_max = s->layer[i]->pmax };
    }
    return 0;
}

static void ds_account(const mt_run *run, void *state, mt_footprint *fp)
{
    const ds_state *s = state;
    double macs = 0;
    for (int i = 0; i < run->model->n_nodes; i++) {
        const nn_node *n = &run->model->nodes[i];
        if (!s->sel[i]) continue;
        qu_fp_set(fp, n, s->w_bits, s->a_bits, 0.0);   /* the shift range is fixed: no scales */
        macs += nn_node_macs(n);
    }
    mt_footprint_extra(fp, "deepshift.shift_macs", macs);   /* multiplications become shifts */
}

const method method_deepshift = {
    .name = "deepshift", .title = "DeepShift",
    .paper = "Elhoushi et al., DeepShift: Towards Multiplication-Less Neural Networks, "
             "CVPR Workshops 2021",
    .options = ds_opts, .n_options = (int)(sizeof ds_opts / sizeof ds_opts[0]),
    .config_size = sizeof(ds_config),
    .setup = ds_setup, .round_begin = ds_round_begin, .step_end = ds_step_end,
    .finish = ds_finish, .account = ds_account, .free_state = ds_free, .checkpoint = ds_checkpoint,
};
