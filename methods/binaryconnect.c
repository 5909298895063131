/* BinaryConnect (Courbariaux, Bengio & David, NeurIPS 2015).
 *
 * Each quantized layer computes with w_b in {-1, +1}, no scale:
 *     deterministic: w_b = sign(w)  (sign(0) = +1)
 *     stochastic:    w_b = +1 with probability p = hard_sigmoid(w) = clip((w + 1) / 2, 0, 1), else -1,
 *                    drawn afresh at every training forward from the run's generator.
 * The gradient with respect to w_b updates the real-valued w directly (straight through), and
 * after every step w is clipped to [-1, 1] (the paper's Algorithm 1), which keeps p meaningful
 * and bounds the latent weights.
 *
 * Test-time weights: the paper evaluates the deterministic form with w_b and the stochastic form
 * with the real-valued w. Here both evaluate (and deploy) sign(w): the run's model is then the
 * 1-bit network it reports. The stochastic draw is installed at epoch_begin and replaced by the
 * deterministic sign at epoch_end, so evaluation and checkpoints never consume random numbers.
 * Latent units (stochastic mode): the official code keeps each layer's latent weights in
 * [-H, H], H = sqrt(1.5 / (fan_in + fan_out)) (Glorot-derived), draws p = hard_sigmoid(w / H) and
 * initialises them uniform over that whole range, so the draws carry the weights' signs from the
 * first step. Here the stochastic mode stores them divided by H (setup rescales the initial ones,
 * then clips to [-1, 1]); the binary weights stay +-1 (the batch norm after each layer absorbs the
 * factor H). Without it, Kaiming-initialised weights (|w| ~ 0.05 of the clip range) made every
 * draw a coin flip: a one-epoch LeNet-5-BN run on 20000 MNIST images stayed at chance (9.7 %;
 * with it 84.3 %). sign(w) does not depend on the units, and the deterministic mode keeps the
 * initial scale: in units of H its signs flip more slowly under the same Adam steps (the same
 * check: 93.2 % against 97.7 %), where the official code also scales each layer's LR by 1/H.
 *
 * Without scales the layers' outputs are sums of +-x: the paper's networks have BatchNorm after
 * every layer, and so should the architecture used (lenet5-bn, resnet20). */
#include "methods/quant_util.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { BC_DETERMINISTIC = 0, BC_STOCHASTIC = 1 };

typedef struct { int mode; int first_last_fp; } bc_config;

typedef struct { int mode; uint8_t sel[NN_MAX_NODES]; nn_rng *rng; } bc_state;

static void sign_forward(void *ctx, const nn_node *l, const float *w, float *w_eff, size_t n)
{
    (void)ctx; (void)l;
    for (size_t i = 0; i < n; i++) w_eff[i] = w[i] >= 0 ? 1.0f : -1.0f;
}

static void sign_backward(void *ctx, const nn_node *l, const float *w, const float *w_eff,
                          const float *g_eff, float *g_w, size_t n)
{
    (void)ctx; (void)l; (void)w_eff;
    qu_ste_hardtanh(w, g_eff, g_w, n);
}

/* ctx: the run's generator. u < p is +1 with probability p (u uniform in [0, 1)). */
static void stochastic_forward(void *ctx, const nn_node *l, const float *w, float *w_eff, size_t n)
{
    (void)l;
    nn_rng *r = ctx;
    for (size_t i = 0; i < n; i++) {
        float p = fminf(fmaxf((w[i] + 1.0f) * 0.5f, 0.0f), 1.0f);
        w_eff[i] = nn_rng_uniform(r) < p ? 1.0f : -1.0f;
    }
}

const nn_wtransform qu_wt_sign = { "sign", sign_forward, sign_backward };
static const nn_wtransform bc_stochastic_wt = { "bc-stochastic", stochastic_forward, sign_backward };

static const opt_spec bc_opts[] = {
    { .key = "mode", .type = OPT_CHOICE, .offset = offsetof(bc_config, mode), .def = "deterministic",
      .choices = "deterministic|stochastic",
      .help = "deterministic: w_b = sign(w); stochastic: w_b = +1 with probability hard_sigmoid(w) while training" },
    { .key = "first_last_fp", .type = OPT_BOOL, .offset = offsetof(bc_config, first_last_fp),
      .def = "true", .help = "keep the first and last weighted layers full precision" },
};

static void install(nn_model *m, const bc_state *s, int stochastic)
{
    for (int i = 0; i < m->n_nodes; i++) {
        if (!s->sel[i]) continue;
        m->nodes[i].wt = stochastic ? &bc_stochastic_wt : &qu_wt_sign;
        m->nodes[i].wt_ctx = stochastic ? s->rng : NULL;
    }
}

static int bc_setup(mt_run *run, const void *config, void **state, char *err, size_t errlen)
{
    const bc_config *c = config;
    nn_model *m = run->model;
    bc_state *s = calloc(1, sizeof *s);
    if (!s) { snprintf(err, errlen, "binaryconnect: out of memory"); return -1; }
    s->mode = c->mode;
    s->rng = run->rng;
    if (qu_select(m, c->first_last_fp, s->sel) == 0) {
        snprintf(err, errlen, "binaryconnect: architecture '%s' has no layer to binarize%s", m->arch,
                 c->first_last_fp ? " (first_last_fp = true keeps its only layers fp)" : "");
        free(s); return -1;
    }
    for (int i = 0; i < m->n_nodes; i++) {
        if (!s->sel[i]) continue;
        nn_node *n = &m->nodes[i];
        if (s->mode == BC_STOCHASTIC) {   /* latent weights in units of H (see above) */
            double fi, fo;
            nn_node_fans(n, &fi, &fo);
            const float per_h = (float)sqrt((fi + fo) / 1.5);
            for (size_t j = 0; j < n->nw; j++) n->w[j] *= per_h;
        }
        qu_clip(n->w, n->nw, 1.0f);
    }
    install(m, s, 0);
    *state = s;
    return 0;
}

static void bc_epoch_begin(mt_run *run, void *state)
{
    bc_state *s = state;
    if (s->mode == BC_STOCHASTIC) install(run->model, s, 1);
}

static void bc_epoch_end(mt_run *run, void *state)
{
    install(run->model, state, 0);
}

static void bc_step_end(mt_run *run, void *state)
{
    const bc_state *s = state;
    for (int i = 0; i < run->model->n_nodes; i++)
        if (s->sel[i]) qu_clip(run->model->nodes[i].w, run->model->nodes[i].nw, 1.0f);
}

static int bc_finish(mt_run *run, void *state, char *err, size_t errlen)
{
    bc_state *s = state;
    install(run->model, s, 0);
    for (int i = 0; i < run->model->n_nodes; i++) {
        if (!s->sel[i]) continue;
        if (qu_bake(&run->model->nodes[i]) != 0) {
            snprintf(err, errlen, "binaryconnect: out of memory packing layer '%s'", run->model->nodes[i].name);
            return -1;
        }
        run->model->nodes[i].wform = (nn_wform){ .kind = NN_WFORM_BINARY };   /* +-1 in every filter */
    }
    return 0;
}

static void bc_account(const mt_run *run, void *state, mt_footprint *fp)
{
    const bc_state *s = state;
    double macs = 0;
    for (int i = 0; i < run->model->n_nodes; i++) {
        const nn_node *n = &run->model->nodes[i];
        if (!s->sel[i]) continue;
        qu_fp_set(fp, n, 1, 32, 0.0);              /* 1 bit per weight, no scale */
        macs += nn_node_macs(n);
    }
    /* multiplications by +-1 become additions and subtractions */
    mt_footprint_extra(fp, "binaryconnect.add_only_macs", macs);
}

static void bc_free(void *state) { free(state); }

/* Resume: no checkpoint hook. The stochastic mode draws from the run's generator (run->rng), which
 * the runner restores; between epochs the deterministic sign is attached, as setup attaches it. */
const method method_binaryconnect = {
    .name = "binaryconnect", .title = "BinaryConnect",
    .paper = "Courbariaux, Bengio & David, BinaryConnect: Training Deep Neural Networks with binary "
             "weights during propagations, NeurIPS 2015",
    .options = bc_opts, .n_options = (int)(sizeof bc_opts / sizeof bc_opts[0]),
    .config_size = sizeof(bc_config),
    .setup = bc_setup, .epoch_begin = bc_epoch_begin, .epoch_end = bc_epoch_end, .step_end = bc_step_end,
    .finish = bc_finish, .account = bc_account, .free_state = bc_free,
};
