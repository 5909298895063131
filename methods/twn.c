/* Ternary Weight Networks (Li, Zhang & Liu, 2016, arXiv:1605.04711).
 *
 * Per quantized layer, from the latent weights at every forward:
 *     Delta = 0.7 * E|w|                         (the paper's approximation of the optimal threshold)
 *     alpha = mean |w| over |w| > Delta          (the closed-form optimal scale for that Delta)
 *     w_eff = +alpha where w > Delta, -alpha where w < -Delta, 0 otherwise.
 * Backward is straight through (g_w = g_eff), as in the paper's training: the latent weights
 * accumulate the small updates, the ternary ones compute. Trained from scratch like the paper. */
#include "methods/quant_util.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct { double delta_factor; int first_last_fp; } twn_config;

typedef struct { uint8_t sel[NN_MAX_NODES]; float delta_factor; } twn_state;

/* Delta and alpha of one layer's latent weights. */
static void twn_scale(const float *w, size_t n, float factor, float *delta, float *alpha)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) s += fabsf(w[i]);
    float d = (float)(factor * s / (double)n);
    double a = 0; size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (fabsf(w[i]) > d) { a += fabsf(w[i]); k++; }
    *delta = d;
    *alpha = k ? (float)(a / (double)k) : 0.0f;
}

static void twn_forward(void *ctx, const nn_node *l, const float *w, float *w_eff, size_t n)
{
    (void)l;
    float d, a;
    twn_scale(w, n, *(const float *)ctx, &d, &a);
    for (size_t i = 0; i < n; i++) w_eff[i] = w[i] > d ? a : w[i] < -d ? -a : 0.0f;
}

static void twn_backward(void *ctx, const nn_node *l, const float *w, const float *w_eff,
                         const float *g_eff, float *g_w, size_t n)
{
    (void)ctx; (void)l; (void)w; (void)w_eff;
    memcpy(g_w, g_eff, n * sizeof *g_w);
}

static const nn_wtransform twn_wt = { "twn", twn_forward, twn_backward };

static const opt_spec twn_opts[] = {
    { .key = "delta_factor", .type = OPT_FLOAT, .offset = offsetof(twn_config, delta_factor), .def = "0.7",
      .lo = 0, .hi = 2, .lo_open = 1,
      .help = "threshold Delta = delta_factor * mean |w| per layer (paper: 0.7)" },
    { .key = "first_last_fp", .type = OPT_BOOL, .offset = offsetof(twn_config, first_last_fp),
      .def = "true", .help = "keep the first and last weighted layers full precision" },
};

static int twn_setup(mt_run *run, const void *config, void **state, char *err, size_t errlen)
{
    const twn_config *c = config;
    nn_model *m = run->model;
    twn_state *s = calloc(1, sizeof *s);
    if (!s) { snprintf(err, errlen, "twn: out of memory"); return -1; }
    s->delta_factor = (float)c->delta_factor;
    if (qu_select(m, c->first_last_fp, s->sel) == 0) {
        snprintf(err, errlen, "twn: architecture '%s' has no layer to ternarize%s", m->arch,
                 c->first_last_fp ? " (first_last_fp = true keeps its only layers fp)" : "");
        free(s); return -1;
    }
    for (int i = 0; i < m->n_nodes; i++)
        if (s->sel[i]) { m->nodes[i].wt = &twn_wt; m->nodes[i].wt_ctx = &s->delta_factor; }
    *state = s;
    return 0;
}

/* The deployable form: {-alpha, 0, +alpha} per layer, a ternary value set with Wp = Wn. */
static int twn_finish(mt_run *run, void *state, char *err, size_t errlen)
{
    twn_state *s = state;
    for (int i = 0; i < run->model->n_nodes; i++) {
        nn_node *n = &run->model->nodes[i];
        if (!s->sel[i]) continue;
        float d, a;
        twn_scale(n->w, n->nw, s->delta_factor, &d, &a);
        if (qu_bake(n) != 0) {
            snprintf(err, errlen, "twn: out of memory packing layer '%s'", n->name);
            return -1;
        }
        if (run->log) fprintf(run->log, "twn: %s Delta %.4g alpha %.4g\n", n->name, d, a);
        n->wform = (nn_wform){ .kind = NN_WFORM_TERNARY, .wp = a > 0 ? a : 1.0f, .wn = a > 0 ? a : 1.0f };
    }
    return 0;
}

static void twn_account(const mt_run *run, void *state, mt_footprint *fp)
{
    const twn_state *s = state;
    double macs = 0;
    for (int i = 0; i < run->model->n_nodes; i++) {
        const nn_node *n = &run->model->nodes[i];
        if (!s->sel[i]) continue;
        qu_fp_set(fp, n, 2, 32, 4.0);              /* 2-bit codes + one fp32 alpha */
        macs += nn_node_macs(n);
    }
    /* ternary layers: additions/subtractions, one multiplication per output by alpha */
    mt_footprint_extra(fp, "twn.ternary_macs", macs);
}

static void twn_free(void *state) { free(state); }

/* Resume: no checkpoint hook. The ternary transform is a fixed function of the latent weights. */
const method method_twn = {
    .name = "twn", .title = "TWN",
    .paper = "Li, Zhang & Liu, Ternary Weight Networks, arXiv:1605.04711, 2016",
    .options = twn_opts, .n_options = (int)(sizeof twn_opts / sizeof twn_opts[0]),
    .config_size = sizeof(twn_config),
    .setup = twn_setup, .finish = twn_finish, .account = twn_account, .free_state = twn_free,
};
