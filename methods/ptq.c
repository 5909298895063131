/* Post-training quantization (Jacob et al., "Quantization and Training of Neural Networks for
 * Efficient Integer-Arithmetic-Only Inference", CVPR 2018; Gholami et al., "A Survey of
 * Quantization Methods for Efficient Neural Network Inference", 2021, §3-4; TensorRT's entropy
 * calibration).
 *
 * No training: from the pretrained baseline (set [train] epochs = 0; any epochs given are
 * skipped), in finish:
 *  1. batch norm folded into the conv/linear layer before it (methods/bn_fold.c, survey Eq. 3);
 *  2. activations calibrated: the input of every conv/linear layer is observed on the first
 *     `calibration_batches` training batches (fixed order, no augmentation) of the folded fp32
 *     network, and its range set by min-max, a percentile (`percentile`, of the low and high
 *     tails) or the KL-divergence threshold on a 2048-bin histogram of |x| (methods/calibrate.c;
 *     range [-T, T], or [0, T] for a non-negative input); the network input always by min-max
 *     (measured on MNIST: KL clipped the digits' strokes to the background's level, 11 % top-1);
 *  3. weights quantized to w_bits, symmetric (restricted signed range) or asymmetric (affine,
 *     min-max of the weights), per tensor or per output channel; biases stay fp32 (they become
 *     int32 at scale s_w * s_x in an integer kernel, far finer than the result's grid);
 *  4. every conv/linear layer's input fake-quantized to a_bits through the "uniform" input
 *     transform (asymmetric, methods/input_transforms.c), so the model file records it.
 * The model then computes in float exactly what the integer model's quantized values would
 * (simulated quantization). The integer kernels (oneDNN int8) come with the packed model file.
 * w_bits / a_bits = 32 leave weights / activations in fp32. */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "methods/bn_fold.h"
#include "methods/calibrate.h"
#include "methods/input_transforms.h"
#include "methods/method.h"
#include "methods/quant_util.h"

enum { CAL_MINMAX = 0, CAL_PERCENTILE = 1, CAL_KL = 2 };
enum { PCT_BINS = 16384 };      /* percentile histogram: its error is range / 16384 */

typedef struct {
    int w_bits, a_bits;
    int weights;                /* 0 symmetric, 1 asymmetric */
    int granularity;            /* 0 per-channel, 1 per-tensor */
    int calibration;
    double percentile;
    int calibration_batches;
} ptq_config;

static const opt_spec options[] = {
    { "w_bits", OPT_INT, offsetof(ptq_config, w_bits), "8", 2, 32, 0, 0, NULL,
      "weight bits (2..16; 32 = fp32 weights)" },
    { "a_bits", OPT_INT, offsetof(ptq_config, a_bits), "8", 2, 32, 0, 0, NULL,
      "activation bits at the input of every conv/linear layer (2..16; 32 = fp32 activations)" },
    { "weights", OPT_CHOICE, offsetof(ptq_config, weights), "symmetric", 0, 0, 0, 0, "symmetric|asymmetric",
      "weight grid: symmetric (zero point 0) or asymmetric (affine, min-max)" },
    { "granularity", OPT_CHOICE, offsetof(ptq_config, granularity), "per-channel", 0, 0, 0, 0,
      "per-channel|per-tensor", "one weight scale per output channel, or one per layer" },
    { "calibration", OPT_CHOICE, offsetof(ptq_config, calibration), "minmax", 0, 0, 0, 0, "minmax|percentile|kl",
      "activation range: min-max, percentile of both tails, or TensorRT's KL-divergence threshold" },
    { "percentile", OPT_FLOAT, offsetof(ptq_config, percentile), "99.99", 50, 100, 1, 0, NULL,
      "calibration = percentile: the range holds this percentage of each tail's side (e.g. 99.99)" },
    { "calibration_batches", OPT_INT, offsetof(ptq_config, calibration_batches), "10", 1, 100000, 0, 0, NULL,
      "training batches ([train] batch images each) the activations are calibrated on" },
};

static int check(const void *config, char *err, size_t errlen)
{
    const ptq_config *c = config;
    if ((c->w_bits > 16 && c->w_bits != 32) || (c->a_bits > 16 && c->a_bits != 32)) {
        snprintf(err, errlen, "w_bits = %d, a_bits = %d: each 2..16, or 32 for fp32", c->w_bits, c->a_bits);
        return 1;
    }
    return 0;
}

typedef struct {
    ptq_config cfg;
    int folded, calibrated_images, done;
    double acc_fp32;
} ptq_state;

static int setup(mt_run *run, const void *config, void **state, char *err, size_t errlen)
{
    ptq_state *s = calloc(1, sizeof *s);
    if (!s) { snprintf(err, errlen, "out of memory"); return 1; }
    s->cfg = *(const ptq_config *)config;
    *state = s;
    if (!run->train_batch) { snprintf(err, errlen, "the runner offers no training batches to calibrate on"); return 1; }
    run->n_rounds = 1;
    return 0;
}

static void round_begin(mt_run *run, void *state)
{
    (void)state;
    run->round_epochs = 0;      /* post-training: nothing to train */
}

/* The activation transform: x to the node's grid (xt_arg: bits, lo, hi). */
static void uniform_forward(void *ctx, const nn_node *l, const float *x, float *x_q, size_t per_sample, int batch)
{
    (void)ctx;
    qu_uniform q = qu_uniform_range(l->xt_arg[1], l->xt_arg[2], (int)l->xt_arg[0], 0);
    size_t n = per_sample * (size_t)batch;
    for (size_t j = 0; j < n; j++) x_q[j] = qu_uniform_fake(&q, x[j]);
}

const nn_xtransform mt_xt_uniform = { "uniform", uniform_forward, NULL };

/* What calibration saw at one layer's input. */
typedef struct {
    float lo, hi, amax;
    double *hist;               /* PCT_BINS over [lo, hi] or MT_KL_BINS over [0, amax] */
} seen;

static const float *input_of(const nn_model *m, int i, const float *x)
{
    int in = m->nodes[i].in[0];
    return in < 0 ? x : m->nodes[in].out;
}

/* Pass 1: ranges; pass 2 (percentile, kl): histograms. Returns images seen, 0 on failure. */
static int observe(mt_run *run, nn_model *z, const ptq_config *c, seen *sv, float *x, int pass)
{
    int images = 0, got;
    for (long bi = 0; bi < c->calibration_batches && (got = run->train_batch(run, bi, x)) > 0; bi++) {
        nn_forward(z, x, got, 0);
        images += got;
        for (int i = 0; i < z->n_nodes; i++) {
            if (!nn_is_weighted(&z->nodes[i])) continue;
            const float *a = input_of(z, i, x);
            size_t n = nn_dims_size(z->nodes[i].in_dims) * (size_t)got;
            seen *v = &sv[i];
            for (size_t j = 0; j < n; j++) {
                float t = a[j];
                if (pass == 0) {
                    if (t < v->lo) v->lo = t;
                    if (t > v->hi) v->hi = t;
                } else if (c->calibration == CAL_PERCENTILE) {
                    int k = v->hi > v->lo ? (int)((t - v->lo) / (v->hi - v->lo) * PCT_BINS) : 0;
                    v->hist[k < 0 ? 0 : k >= PCT_BINS ? PCT_BINS - 1 : k] += 1;
                } else {
                    int k = v->amax > 0 ? (int)(fabsf(t) / v->amax * MT_KL_BINS) : 0;
                    v->hist[k >= MT_KL_BINS ? MT_KL_BINS - 1 : k] += 1;
                }
            }
        }
    }
    return images;
}

/* The activation range of every weighted layer of m (lo[i], hi[i]). */
static int calibrate(mt_run *run, const nn_model *m, ptq_state *s, float *lo, float *hi, char *err, size_t errlen)
{
    const ptq_config *c = &s->cfg;
    nn_model *z = nn_model_clone(m);
    seen *sv = calloc((size_t)m->n_nodes, sizeof *sv);
    float *x = malloc((size_t)run->batch * nn_dims_size(m->in_dims) * sizeof *x);
    int rc = 0;
    if (z) nn_model_set_inspectable(z, 1);     /* activations read as plain NCHW */
    if (!z || !sv || !x || nn_model_reserve(z, run->batch) != 0) {
        snprintf(err, errlen, "out of memory (calibration)");
        rc = 1;
    }
    for (int i = 0; !rc && i < m->n_nodes; i++) { sv[i].lo = INFINITY; sv[i].hi = -INFINITY; }
    if (!rc && (s->calibrated_images = observe(run, z, c, sv, x, 0)) == 0) {
        snprintf(err, errlen, "no training images to calibrate on");
        rc = 1;
    }
    if (!rc && c->calibration != CAL_MINMAX) {
        for (int i = 0; i < m->n_nodes; i++) {
            if (!nn_is_weighted(&m->nodes[i])) continue;
            sv[i].amax = fmaxf(fabsf(sv[i].lo), fabsf(sv[i].hi));
            sv[i].hist = calloc(c->calibration == CAL_PERCENTILE ? PCT_BINS : MT_KL_BINS, sizeof(double));
            if (!sv[i].hist) { snprintf(err, errlen, "out of memory (calibration)"); rc = 1; break; }
        }
        if (!rc) observe(run, z, c, sv, x, 1);
    }
    for (int i = 0; !rc && i < m->n_nodes; i++) {
        if (!nn_is_weighted(&m->nodes[i])) continue;
        seen *v = &sv[i];
        lo[i] = v->lo; hi[i] = v->hi;
        if (m->nodes[i].in[0] < 0) {
            /* the network input: normalised 8-bit pixels, a two-spike histogram (background,
             * strokes) on which KL keeps the background and clips the strokes; min-max keeps
             * every pixel value (at 8 bits, the pixels' own grid) */
        } else if (c->calibration == CAL_PERCENTILE) {
            double p = c->percentile / 100.0;
            lo[i] = (float)mt_hist_quantile(v->hist, PCT_BINS, v->lo, v->hi, 1.0 - p);
            hi[i] = (float)mt_hist_quantile(v->hist, PCT_BINS, v->lo, v->hi, p);
        } else if (c->calibration == CAL_KL) {
            /* the grid's values over [0, T]: half of them for a signed input */
            int levels = 1 << (c->a_bits - (v->lo < 0 ? 1 : 0));
            float t = v->amax * (float)mt_kl_bins(v->hist, MT_KL_BINS, levels) / MT_KL_BINS;
            lo[i] = v->lo < 0 ? -t : 0.0f;
            hi[i] = t;
        }
        lo[i] = fminf(lo[i], 0.0f);             /* the grid always holds 0 */
        hi[i] = fmaxf(hi[i], 0.0f);
        fprintf(run->log, "ptq: %s: input seen in [%g, %g], quantized over [%g, %g]\n", m->nodes[i].name, v->lo,
                v->hi, lo[i], hi[i]);
    }
    for (int i = 0; sv && i < m->n_nodes; i++) free(sv[i].hist);
    free(sv);
    free(x);
    nn_model_free(z);
    return rc;
}

/* Weights of one node to the configured grid: per output channel or per tensor. */
static void quantize_weights(nn_node *n, const ptq_config *c)
{
    size_t groups = c->granularity == 0 ? (size_t)n->out_c : 1, len = n->nw / groups;
    for (size_t g = 0; g < groups; g++) {
        float *w = n->w + g * len, lo = INFINITY, hi = -INFINITY;
        for (size_t j = 0; j < len; j++) { lo = fminf(lo, w[j]); hi = fmaxf(hi, w[j]); }
        qu_uniform q = qu_uniform_range(lo, hi, c->w_bits, c->weights == 0);
        for (size_t j = 0; j < len; j++) w[j] = qu_uniform_fake(&q, w[j]);
    }
}

static int finish(mt_run *run, void *state, char *err, size_t errlen)
{
    ptq_state *s = state;
    const ptq_config *c = &s->cfg;
    nn_model *f = mt_bn_fold(run->model, &s->folded, err, errlen);
    if (!f) return 1;
    if (run->evaluate) s->acc_fp32 = run->evaluate(run, f, NULL);
    float lo[NN_MAX_NODES], hi[NN_MAX_NODES];
    if (c->a_bits != 32 && calibrate(run, f, s, lo, hi, err, errlen) != 0) { nn_model_free(f); return 1; }
    for (int i = 0; i < f->n_nodes; i++) {
        nn_node *n = &f->nodes[i];
        if (!nn_is_weighted(n)) continue;
        if (c->w_bits != 32) quantize_weights(n, c);
        const float args[NN_XT_ARGS] = { (float)c->a_bits, lo[i], hi[i] };
        if (c->a_bits != 32 && mt_xt_install(n, MT_XT_UNIFORM, args, err, errlen) != 0) { nn_model_free(f); return 1; }
    }
    fprintf(run->log, "ptq: %d batch norms folded (fp32 test acc %.2f%%); W%d A%d, %s %s weights, activations "
            "calibrated on %d images (%s)\n", s->folded, s->acc_fp32, c->w_bits, c->a_bits,
            c->granularity == 0 ? "per-channel" : "per-tensor", c->weights == 0 ? "symmetric" : "asymmetric",
            s->calibrated_images, c->calibration == CAL_MINMAX ? "min-max" : c->calibration == CAL_KL ? "KL" : "percentile");
    run->replace_model(run, f);
    s->done = 1;
    return 0;
}

static void account(const mt_run *run, void *state, mt_footprint *fp)
{
    const ptq_state *s = state;
    const ptq_config *c = &s->cfg;
    if (!s->done) return;
    for (int i = 0; i < run->model->n_nodes; i++) {
        const nn_node *n = &run->model->nodes[i];
        if (!nn_is_weighted(n)) continue;
        /* a scale (and zero point) per weight group, and one pair for the input */
        double params = (c->granularity == 0 ? n->out_c : 1) * (c->weights == 0 ? 4.0 : 8.0) + (c->a_bits != 32 ? 8.0 : 0.0);
        qu_fp_set(fp, n, c->w_bits, c->a_bits, c->w_bits == 32 ? 0.0 : params);
    }
    mt_footprint_extra(fp, "ptq.acc_fp32_folded", s->acc_fp32);
    mt_footprint_extra(fp, "ptq.bn_folded", s->folded);
    mt_footprint_extra(fp, "ptq.calibration_images", s->calibrated_images);
}

/* Resume: no checkpoint hook. PTQ trains nothing: it writes no checkpoint before finish, so an
 * interrupted PTQ run has nothing to continue and is run again (--rerun). */
const method method_ptq = {
    .name = "ptq",
    .title = "Post-training quantization",
    .paper = "Jacob et al., Quantization and Training of Neural Networks for Efficient Integer-Arithmetic-Only "
             "Inference, CVPR 2018 (calibration: Migacz, 8-bit Inference with TensorRT, GTC 2017)",
    .options = options, .n_options = (int)(sizeof options / sizeof *options),
    .config_size = sizeof(ptq_config),
    .needs_baseline = 1,
    .post_training = 1,
    .check = check,
    .setup = setup,
    .round_begin = round_begin,
    .finish = finish,
    .account = account,
    .free_state = free,
};
