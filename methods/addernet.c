/* AdderNet (Chen et al., CVPR 2020): replace the multiply-accumulate of convolutions by the
 * negative L1 distance between input patch and filter, y = -sum |x - w|. The kernel itself
 * lives in the engine (node->kernel = NN_KERNEL_ADDER); this method chooses the layers, checks
 * that each one is followed by batch norm (the paper relies on it: adder outputs are all
 * negative and of large magnitude), and applies the paper's adaptive learning rate. */
#include <assert.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "methods/method.h"

typedef struct {
    double eta;          /* adaptive LR: gradient of layer l rescaled to norm eta * sqrt(k_l) */
    int adaptive_lr;
    int first_fp;        /* keep the first convolution a multiply-accumulate one */
    int adder_fc;        /* also the hidden linear layers (never the classifier) */
} adder_config;

static const opt_spec adder_options[] = {
    { .key = "eta", .type = OPT_FLOAT, .offset = offsetof(adder_config, eta), .def = "0.2",
      .lo = 0, .hi = 1e6, .lo_open = 1,
      .help = "adaptive LR: each adder layer's weight gradient is scaled to L2 norm eta*sqrt(k)" },
    { .key = "adaptive_lr", .type = OPT_BOOL, .offset = offsetof(adder_config, adaptive_lr),
      .def = "true", .help = "apply the adaptive learning rate (false: plain full-precision gradient)" },
    { .key = "first_fp", .type = OPT_BOOL, .offset = offsetof(adder_config, first_fp),
      .def = "true", .help = "keep the first convolution a normal (multiply) convolution" },
    { .key = "adder_fc", .type = OPT_BOOL, .offset = offsetof(adder_config, adder_fc),
      .def = "false", .help = "also use the adder kernel in hidden linear layers (not the classifier)" },
};

typedef struct {
    adder_config cfg;
    int n_adder;
    int adder[MT_MAX_LAYERS];    /* node indices of the adder layers */
} adder_state;

/* Index of the last weighted node: the classifier, which stays a multiply layer (its logits
 * feed the loss, not a batch norm). */
static int last_weighted(const nn_model *m)
{
    for (int i = m->n_nodes - 1; i >= 0; i--)
        if (nn_is_weighted(&m->nodes[i])) return i;
    return -1;
}

static int first_conv(const nn_model *m)
{
    for (int i = 0; i < m->n_nodes; i++)
        if (m->nodes[i].kind == NN_CONV) return i;
    return -1;
}

/* 1 when node i has consumers and every one of them is a batch norm. */
static int feeds_only_bn(const nn_model *m, int i)
{
    int consumers = 0;
    for (int j = i + 1; j < m->n_nodes; j++) {
        const nn_node *c = &m->nodes[j];
        for (int s = 0; s < c->n_in; s++) {
            if (c->in[s] != i) continue;
            if (c->kind != NN_BATCHNORM) return 0;
            consumers++;
        }
    }
    return consumers > 0;
}

static int wants_adder(const nn_model *m, int i, const adder_config *cfg, int first, int last)
{
    const nn_node *n = &m->nodes[i];
    if (n->kind == NN_CONV) return !(cfg->first_fp && i == first);
    if (n->kind == NN_LINEAR) return cfg->adder_fc && i != last;
    return 0;
}

static int adder_setup(mt_run *run, const void *config, void **state, char *err, size_t errlen)
{
    const adder_config *cfg = config;
    nn_model *m = run->model;
    int first = first_conv(m), last = last_weighted(m);
    adder_state *st = calloc(1, sizeof *st);
    if (!st) { snprintf(err, errlen, "addernet: out of memory"); return -1; }
    st->cfg = *cfg;

    for (int i = 0; i < m->n_nodes; i++) {
        if (!wants_adder(m, i, cfg, first, last)) continue;
        if (!feeds_only_bn(m, i)) {
            snprintf(err, errlen,
                     "addernet: layer '%s' of arch '%s' would use the adder kernel but its output "
                     "does not feed a batch norm (AdderNet needs BN after every adder layer); use an "
                     "arch with BN such as lenet5-bn, resnet20 or vgg-small%s",
                     m->nodes[i].name, m->arch,
                     m->nodes[i].kind == NN_LINEAR ? ", or set adder_fc = false" : "");
            free(st);
            return -1;
        }
        assert(st->n_adder < MT_MAX_LAYERS);
        st->adder[st->n_adder++] = i;
    }
    if (st->n_adder == 0) {
        snprintf(err, errlen, "addernet: arch '%s' has no layer to turn into an adder layer "
                 "(first_fp keeps the first convolution; adder_fc = true adds hidden linear layers)",
                 m->arch);
        free(st);
        return -1;
    }
    for (int a = 0; a < st->n_adder; a++) m->nodes[st->adder[a]].kernel = NN_KERNEL_ADDER;
    if (run->log)
        fprintf(run->log, "addernet: %d adder layers, eta %g%s\n", st->n_adder, cfg->eta,
                cfg->adaptive_lr ? "" : " (adaptive LR off)");
    *state = st;
    return 0;
}

/* Adaptive LR: g_l <- eta * sqrt(k_l) * g_l / ||g_l||_2, so every adder layer moves by a
 * comparable step whatever the scale of its (full-precision, hence large) gradient. A zero
 * gradient stays zero. Biases keep their plain gradient. */
static void adder_after_backward(mt_run *run, void *state)
{
    adder_state *st = state;
    if (!st->cfg.adaptive_lr) return;
    for (int a = 0; a < st->n_adder; a++) {
        nn_node *n = &run->model->nodes[st->adder[a]];
        double ss = 0;
        for (size_t i = 0; i < n->nw; i++) ss += (double)n->gw[i] * n->gw[i];
        if (ss == 0) continue;
        float scale = (float)(st->cfg.eta * sqrt((double)n->nw) / sqrt(ss));
        for (size_t i = 0; i < n->nw; i++) n->gw[i] *= scale;
    }
}

/* The paper counts a multiply-accumulate as one multiply and one add, and an adder-layer term
 * |x - w| accumulated as two adds (subtract, accumulate; the sign flip is free). Weights and
 * activations stay 32-bit. */
static void adder_account(const mt_run *run, void *state, mt_footprint *fp)
{
    const adder_state *st = state;
    const nn_model *m = run->model;
    double adds = 0, muls = 0;
    for (int i = 0; i < m->n_nodes; i++) {
        const nn_node *n = &m->nodes[i];
        if (!nn_is_weighted(n)) continue;
        double macs = nn_node_macs(n);
        if (n->kernel == NN_KERNEL_ADDER) adds += 2 * macs;
        else { adds += macs; muls += macs; }
        for (int l = 0; l < fp->n_layers; l++)
            if (n->kernel == NN_KERNEL_ADDER && strcmp(fp->layers[l].name, n->name) == 0)
                fp->layers[l].macs_needed = 0;
    }
    mt_footprint_extra(fp, "addernet.adds", adds);
    mt_footprint_extra(fp, "addernet.muls", muls);
    mt_footprint_extra(fp, "addernet.adder_layers", st->n_adder);
}

static void adder_free(void *state) { free(state); }

/* Resume: no checkpoint hook. The adder kernel is the model's; the adaptive LR is computed anew
 * from each step's gradients. */
const method method_addernet = {
    .name = "addernet",
    .title = "AdderNet",
    .paper = "Chen et al., AdderNet: Do We Really Need Multiplications in Deep Learning?, CVPR 2020",
    .options = adder_options,
    .n_options = (int)(sizeof adder_options / sizeof adder_options[0]),
    .config_size = sizeof(adder_config),
    .needs_baseline = 0,
    .setup = adder_setup,
    .after_backward = adder_after_backward,
    .account = adder_account,
    .free_state = adder_free,
};
