// Post-training quantization: the uniform quantizer's round-trip bound, the KL calibration
// threshold on known distributions, exact batch-norm folding, and the whole method on a trained
// network (weights on the grid, every layer's input quantized, W/A bits in the footprint).
#include <gtest/gtest.h>
#include <algorithm>
#include <cstdlib>
#include <cmath>
#include <set>
#include <string>
#include <vector>
extern "C" {
#include "methods/bn_fold.h"
#include "methods/calibrate.h"
#include "methods/input_transforms.h"
#include "methods/method.h"
#include "methods/quant_util.h"
#include "nn/rng.h"
}
#include "support/method_fixture.h"
#include "support/method_checks.h"

namespace {

}  // namespace

TEST(Ptq, Int8RoundTripErrorIsAtMostHalfAStep)
{
    nn_rng r;
    nn_rng_seed(&r, 1, 1);
    for (int sym = 0; sym < 2; sym++)
        for (int bits : { 8, 6, 4 }) {
            float lo = -0.7f, hi = 2.3f;
            qu_uniform q = qu_uniform_range(lo, hi, bits, sym);
            if (sym) {
                EXPECT_EQ(q.qmax, (1 << (bits - 1)) - 1);
                EXPECT_EQ(q.qmin, -q.qmax);
                EXPECT_FLOAT_EQ(q.scale, hi / (float)q.qmax);
            } else {
                EXPECT_EQ(q.qmin, 0);
                EXPECT_EQ(q.qmax, (1 << bits) - 1);
                EXPECT_FLOAT_EQ(q.scale, (hi - lo) / (float)q.qmax);
            }
            EXPECT_EQ(qu_uniform_fake(&q, 0.0f), 0.0f) << "zero is exact";
            std::set<float> values;
            for (int t = 0; t < 20000; t++) {
                float x = lo + (hi - lo) * nn_rng_uniform(&r);
                float y = qu_uniform_fake(&q, x);
                EXPECT_LE(std::fabs(y - x), 0.5f * q.scale * (1 + 1e-5f)) << x;
                values.insert(y);
            }
            EXPECT_LE(values.size(), (size_t)(q.qmax - q.qmin + 1));
            EXPECT_GT(values.size(), (size_t)(q.qmax - q.qmin) / 2) << "the grid is used";
            // outside the range: clamped to the end of the grid
            EXPECT_NEAR(qu_uniform_fake(&q, 100.0f), (float)(q.qmax - q.zero) * q.scale, 1e-6f);
        }
}

TEST(Ptq, KlThresholdClipsOutliersAndFitsAGaussian)
{
    nn_rng r;
    nn_rng_seed(&r, 2, 2);
    {   // |x| uniform on [0, 1) plus 0.1 % at 10: the threshold drops the outliers, close to 1
        std::vector<double> h(MT_KL_BINS, 0.0);
        const double amax = 10.0;
        for (int t = 0; t < 200000; t++) h[(int)(nn_rng_uniform(&r) / amax * MT_KL_BINS)] += 1;
        h[MT_KL_BINS - 1] += 200;
        double thr = amax * mt_kl_bins(h.data(), MT_KL_BINS, 128) / MT_KL_BINS;
        EXPECT_GT(thr, 0.9);
        EXPECT_LT(thr, 1.3);
    }
    {   // |x| of N(0, 1), 8 bits (128 levels), histogram up to 6 sigma: a threshold of about
        // 4.4 sigma (3 - 5.5 allowed), below the maximum
        std::vector<double> h(MT_KL_BINS, 0.0);
        const double amax = 6.0;
        for (int t = 0; t < 400000; t++) {
            double v = std::fabs(nn_rng_normal(&r));
            h[std::min(MT_KL_BINS - 1, (int)(v / amax * MT_KL_BINS))] += 1;
        }
        int i8 = mt_kl_bins(h.data(), MT_KL_BINS, 128), i4 = mt_kl_bins(h.data(), MT_KL_BINS, 8);
        double thr = amax * i8 / MT_KL_BINS;
        EXPECT_GT(thr, 3.0);
        EXPECT_LT(thr, 5.5);
        EXPECT_LT(i4, i8) << "fewer levels clip harder";
    }
    {   // a ReLU's output: half exact zeros, half |N(0, 1)|, 4 bits unsigned (16 levels): the zeros'
        // spike (exact on any grid) must not pull the threshold towards 0
        std::vector<double> h(MT_KL_BINS, 0.0);
        const double amax = 6.0;
        for (int t = 0; t < 400000; t++) {
            double v = t % 2 ? 0.0 : std::fabs(nn_rng_normal(&r));
            h[std::min(MT_KL_BINS - 1, (int)(v / amax * MT_KL_BINS))] += 1;
        }
        double thr = amax * mt_kl_bins(h.data(), MT_KL_BINS, 16) / MT_KL_BINS;
        EXPECT_GT(thr, 1.0);     // about 3.8
        EXPECT_LT(thr, 5.0);
    }
    {   // nothing to clip: every bin equally full; a grid as fine as the histogram keeps it all
        std::vector<double> h(256, 5.0);
        EXPECT_EQ(mt_kl_bins(h.data(), 256, 256), 256);
        EXPECT_EQ(mt_kl_bins(h.data(), 256, 128), 256);
    }
}

TEST(Ptq, PercentileOfAHistogram)
{
    std::vector<double> h(100, 1.0);    // uniform on [-1, 1]
    EXPECT_NEAR(mt_hist_quantile(h.data(), 100, -1, 1, 0.5), 0.0, 1e-12);
    EXPECT_NEAR(mt_hist_quantile(h.data(), 100, -1, 1, 0.99), 0.98, 1e-12);
    EXPECT_NEAR(mt_hist_quantile(h.data(), 100, -1, 1, 0.01), -0.98, 1e-12);
}

TEST(Ptq, BatchNormFoldingIsExact)
{
    for (const char *kind : { "resblock", "lenet5-bn", "resnet20" }) {
        char err[512] = "";
        nn_model *m = mf_build(kind, 3, err, sizeof err);
        ASSERT_NE(m, nullptr) << err;
        mf_randomize_bn(m, 3, MF_BN_POSITIVE_SCALES);
        int n_bn = 0;
        for (int i = 0; i < m->n_nodes; i++) n_bn += m->nodes[i].kind == NN_BATCHNORM;
        int folded = -1;
        nn_model *f = mt_bn_fold(m, &folded, err, sizeof err);
        ASSERT_NE(f, nullptr) << err;
        EXPECT_EQ(folded, n_bn) << kind << ": every BN follows a conv or linear layer";
        EXPECT_EQ(f->n_nodes, m->n_nodes - n_bn);
        for (int i = 0; i < f->n_nodes; i++) EXPECT_NE(f->nodes[i].kind, NN_BATCHNORM);
        std::vector<float> x = random_inputs(m, 3, 4);
        std::vector<float> a = logits(m, x, 3), b = logits(f, x, 3);
        ASSERT_EQ(a.size(), b.size());
        for (size_t j = 0; j < a.size(); j++) EXPECT_NEAR(a[j], b[j], 1e-4f * (1 + std::fabs(a[j]))) << kind << " " << j;
        // the formula, on one channel: w' = w gamma / sqrt(var + eps), b' = (b - mean) gamma / sqrt(var + eps) + beta
        if (std::string(kind) == "lenet5-bn") {
            const nn_node *c = &m->nodes[node_of(m, "conv2")], *bn = &m->nodes[node_of(m, "bn2")];
            const nn_node *fc = &f->nodes[node_of(f, "conv2")];
            double s = bn->w[7] / std::sqrt((double)bn->run_var[7] + 1e-5);
            size_t per = c->nw / c->out_c;
            EXPECT_FLOAT_EQ(fc->w[7 * per + 3], (float)(c->w[7 * per + 3] * s));
            double b0 = c->has_bias ? c->b[7] : 0.0;
            EXPECT_FLOAT_EQ(fc->b[7], (float)((b0 - bn->run_mean[7]) * s + bn->b[7]));
        }
        nn_model_free(f);
        nn_model_free(m);
    }
}

TEST(Ptq, QuantizesAPretrainedNetworkWithoutTraining)
{
    const method *m = method_find("ptq");
    ASSERT_NE(m, nullptr);
    EXPECT_TRUE(m->post_training);
    double acc[3];
    const char *bits[3] = { "8", "4", "2" };
    std::vector<float> params, state;       // one stand-in baseline for the three runs
    for (int k = 0; k < 3; k++) {
        mf_fixture f;
        char err[512] = "";
        const char *kv[] = { "w_bits", bits[k], "a_bits", bits[k], "calibration", k == 1 ? "kl" : "minmax",
                             "calibration_batches", "4", nullptr };
        ASSERT_EQ(0, mf_open(&f, "lenet5-bn", m, kv, 8, err, sizeof err)) << err;
        nn_model *model = f.run.model;
        if (k == 0) {
            mf_pretrain(&f, 2);
            params.assign(model->params, model->params + model->n_params);
            state.assign(model->state, model->state + model->n_state);
        }
        std::copy(params.begin(), params.end(), model->params);
        std::copy(state.begin(), state.end(), model->state);
        double fp32 = mf_evaluate(&f, f.run.model, nullptr);
        ASSERT_EQ(0, mf_run(&f, err, sizeof err)) << err;
        const nn_model *q = f.run.model;
        int b = std::atoi(bits[k]);
        for (int i = 0; i < q->n_nodes; i++) {
            const nn_node *n = &q->nodes[i];
            EXPECT_NE(n->kind, NN_BATCHNORM);
            if (!nn_is_weighted(n)) continue;
            EXPECT_EQ(mt_xt_kind_of(n), MT_XT_UNIFORM) << n->name;
            EXPECT_EQ(n->xt_arg[0], (float)b);
            EXPECT_LE(n->xt_arg[1], 0.0f);
            EXPECT_GT(n->xt_arg[2], 0.0f);
            // per-channel symmetric: each filter holds at most 2^b - 1 values, multiples of one step
            size_t per = n->nw / n->out_c;
            for (int c = 0; c < n->out_c; c++) {
                std::set<float> v(n->w + c * per, n->w + (c + 1) * per);
                EXPECT_LE(v.size(), (size_t)(1 << b) - 1) << n->name << " filter " << c;
            }
        }
        int layers = 0;
        for (int l = 0; l < f.fp.n_layers; l++) {
            EXPECT_EQ(f.fp.layers[l].w_bits, b);
            EXPECT_EQ(f.fp.layers[l].a_bits, b);
            layers++;
        }
        EXPECT_EQ(layers, 4);
        EXPECT_EQ(extra(f, "ptq.bn_folded"), 3);
        EXPECT_EQ(extra(f, "ptq.calibration_images"), 4 * f.batch);
        EXPECT_NEAR(extra(f, "ptq.acc_fp32_folded"), fp32, 1.0) << "folding keeps the accuracy";
        acc[k] = f.final_acc;
        if (k == 0) EXPECT_NEAR(f.final_acc, fp32, 3.0) << "8 bits keep the accuracy";
        mf_close(&f);
    }
    EXPECT_LT(acc[2], acc[0]) << "2 bits lose accuracy";
}

TEST(Ptq, RefusesBitWidthsBetween16And32)
{
    const method *m = method_find("ptq");
    mf_fixture f;
    char err[512] = "";
    const char *kv[] = { "w_bits", "20", nullptr };
    EXPECT_NE(0, mf_open(&f, "lenet5-bn", m, kv, 1, err, sizeof err));
    EXPECT_NE(std::string(err).find("w_bits = 20"), std::string::npos) << err;
    mf_close(&f);
}
