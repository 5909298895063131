// Network Slimming (Liu et al. 2017): in the sparsity round every penalised batch-norm scale's
// gradient gains lambda * sign(gamma); the global |gamma| threshold decides how many channels
// each layer keeps, and the smaller network has exactly those and computes the masked one.
#include <gtest/gtest.h>
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>
extern "C" {
#include "methods/method.h"
#include "nn/rng.h"
}
#include "support/method_fixture.h"
#include "support/method_checks.h"

namespace {

}  // namespace

TEST(Slimming, ScaleGradientsGainLambdaTimesSignOfGamma)
{
    const method *m = method_find("slimming");
    ASSERT_NE(m, nullptr);
    mf_fixture f;
    char err[512] = "";
    const char *kv[] = { "lambda", "0.01", nullptr };
    ASSERT_EQ(0, mf_open(&f, "lenet5-bn", m, kv, 2, err, sizeof err)) << err;
    nn_model *model = f.run.model;
    mf_randomize_bn(model, 2, MF_BN_SIGNED_SCALES);
    ASSERT_EQ(0, mf_setup(&f, err, sizeof err)) << err;
    nn_rng r;
    nn_rng_seed(&r, 3, 3);
    for (size_t j = 0; j < model->n_params; j++) model->grads[j] = nn_rng_normal(&r);
    std::vector<float> before(model->grads, model->grads + model->n_params);
    f.run.round = 0;
    m->after_backward(&f.run, f.state);
    for (const char *name : { "bn1", "bn2" }) {      // after conv1, conv2: penalised
        const nn_node *bn = &model->nodes[node_of(model, name)];
        for (size_t c = 0; c < bn->nw; c++) {
            float sign = (float)((bn->w[c] > 0) - (bn->w[c] < 0));
            EXPECT_EQ(bn->gw[c], before[bn->gw - model->grads + c] + 0.01f * sign) << name << " " << c;
        }
    }
    const nn_node *bn3 = &model->nodes[node_of(model, "bn3")];   // after fc1: not a channel it removes
    size_t off3 = (size_t)(bn3->gw - model->grads);
    EXPECT_TRUE(std::equal(bn3->gw, bn3->gw + bn3->nw, before.begin() + off3));
    const nn_node *c1 = &model->nodes[node_of(model, "conv1")];
    size_t offc = (size_t)(c1->gw - model->grads);
    EXPECT_TRUE(std::equal(c1->gw, c1->gw + c1->nw, before.begin() + offc));
    // the fine-tuning round has no penalty
    std::vector<float> mid(model->grads, model->grads + model->n_params);
    f.run.round = 1;
    m->after_backward(&f.run, f.state);
    EXPECT_TRUE(std::equal(mid.begin(), mid.end(), model->grads));
    mf_close(&f);
}

TEST(Slimming, ChannelsKeptAreThoseAboveTheGlobalThreshold)
{
    const method *m = method_find("slimming");
    mf_fixture f;
    char err[512] = "";
    const char *kv[] = { "ratio", "0.6", nullptr };
    ASSERT_EQ(0, mf_open(&f, "lenet5-bn", m, kv, 4, err, sizeof err)) << err;
    nn_model *model = f.run.model;
    mf_randomize_bn(model, 4, MF_BN_SIGNED_SCALES);
    ASSERT_EQ(0, mf_setup(&f, err, sizeof err)) << err;
    // the threshold, computed here: the 42nd smallest of the 70 |gamma| of bn1 (20) and bn2 (50)
    const nn_node *bn1 = &model->nodes[node_of(model, "bn1")], *bn2 = &model->nodes[node_of(model, "bn2")];
    std::vector<double> all;
    for (const nn_node *bn : { bn1, bn2 }) for (size_t c = 0; c < bn->nw; c++) all.push_back(std::fabs(bn->w[c]));
    ASSERT_EQ(all.size(), 70u);
    std::sort(all.begin(), all.end());
    double thr = all[41];
    auto above = [thr](const nn_node *bn) {
        int k = 0;
        for (size_t c = 0; c < bn->nw; c++) k += std::fabs(bn->w[c]) > thr;
        return k;
    };
    int keep1 = above(bn1), keep2 = above(bn2);
    ASSERT_GT(keep1, 0);
    ASSERT_GT(keep2, 0);
    f.run.round = 0;
    m->round_end(&f.run, f.state);
    nn_model *masked = nn_model_clone(model);
    ASSERT_EQ(0, mf_finish(&f, err, sizeof err)) << err;
    const nn_model *small = f.run.model;
    EXPECT_EQ(small->nodes[node_of(small, "conv1")].out_c, keep1);
    EXPECT_EQ(small->nodes[node_of(small, "conv2")].out_c, keep2);
    EXPECT_EQ(small->nodes[node_of(small, "bn2")].nw, (size_t)keep2);
    EXPECT_EQ(extra(f, "slimming.threshold"), thr);
    EXPECT_EQ(extra(f, "slimming.channels_after"), keep1 + keep2);
    // every kept channel's scale is above the threshold
    for (const char *name : { "bn1", "bn2" }) {
        const nn_node *bn = &small->nodes[node_of(small, name)];
        for (size_t c = 0; c < bn->nw; c++) EXPECT_GT(std::fabs(bn->w[c]), thr) << name;
    }
    // the smaller network computes the masked one (removed channels' BN shifts folded in)
    nn_rng r;
    nn_rng_seed(&r, 5, 1);
    std::vector<float> x(4 * nn_dims_size(masked->in_dims));
    for (auto &v : x) v = nn_rng_normal(&r);
    std::vector<float> a = logits(masked, x, 4), b = logits(f.run.model, x, 4);
    ASSERT_EQ(a.size(), b.size());
    for (size_t j = 0; j < a.size(); j++) EXPECT_NEAR(a[j], b[j], 2e-5f * (1 + std::fabs(a[j]))) << j;
    nn_model_free(masked);
    mf_close(&f);
}

TEST(Slimming, SparsityTrainingShrinksTheScalesAndTheRunFinishes)
{
    const method *m = method_find("slimming");
    double mean_abs[2];
    for (int k = 0; k < 2; k++) {
        mf_fixture f;
        char err[512] = "";
        const char *kv[] = { "lambda", k ? "0.2" : "0", "ratio", "0.5", "finetune_epochs", "1", nullptr };
        ASSERT_EQ(0, mf_open(&f, "resblock", m, kv, 6, err, sizeof err)) << err;
        double s = 0; int n = 0;
        f.observe = [](mf_fixture *fx, const char *ev, void *user) {
            if (std::string(ev) != "round_end" || fx->run.round != 0) return;
            double *acc = static_cast<double *>(user);
            for (int i = 0; i < fx->run.model->n_nodes; i++) {
                const nn_node *bn = &fx->run.model->nodes[i];
                if (bn->kind != NN_BATCHNORM) continue;
                for (size_t c = 0; c < bn->nw; c++) { acc[0] += std::fabs(bn->w[c]); acc[1] += 1; }
            }
        };
        double acc[2] = { 0, 0 };
        f.user = acc;
        ASSERT_EQ(0, mf_run(&f, err, sizeof err)) << err;
        s = acc[0]; n = (int)acc[1];
        ASSERT_GT(n, 0);
        mean_abs[k] = s / n;
        // resblock: conv0 + b.conv2 (tied, 4 channels) and b.conv1 (4): 4 of 8 removed
        EXPECT_EQ(extra(f, "slimming.channels_before"), 8);
        EXPECT_LE(extra(f, "slimming.channels_after"), 5);   // 5: a group lost all and kept one
        EXPECT_GE(extra(f, "slimming.channels_after"), 4);
        mf_close(&f);
    }
    EXPECT_LT(mean_abs[1], mean_abs[0]);
}

TEST(Slimming, RefusesANetworkWithoutBatchNorm)
{
    const method *m = method_find("slimming");
    mf_fixture f;
    char err[512] = "";
    ASSERT_EQ(0, mf_open(&f, "lenet", m, nullptr, 1, err, sizeof err)) << err;
    EXPECT_NE(0, mf_setup(&f, err, sizeof err));
    EXPECT_NE(std::string(err).find("batch norm"), std::string::npos) << err;
    mf_close(&f);
}
