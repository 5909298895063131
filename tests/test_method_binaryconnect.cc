// BinaryConnect: layers compute with sign(w) (deterministic) or with +1 drawn at probability
// hard_sigmoid(w) (stochastic, training only), and the real weights stay clipped to [-1, 1].
#include <gtest/gtest.h>
#include <cmath>
#include <string>
#include <vector>
extern "C" {
#include "methods/method.h"
#include "support/quant_fixture.h"
extern const method method_binaryconnect;
}

namespace {

void expect_signs(const nn_node *n)
{
    std::vector<float> e(n->nw);
    n->wt->forward(n->wt_ctx, n, n->w, e.data(), n->nw);
    for (size_t i = 0; i < n->nw; i++) ASSERT_EQ(e[i], n->w[i] >= 0 ? 1.0f : -1.0f) << n->name << " " << i;
}

TEST(BinaryConnect, DeterministicSignsAndClippedRealWeights)
{
    qf f;
    ASSERT_EQ(qf_start(&f, &method_binaryconnect, QF_BN_CNN, NN_SGD, nullptr), 0) << f.err;
    EXPECT_EQ(qf_node(&f, "conv1")->wt, nullptr);
    EXPECT_EQ(qf_node(&f, "fc")->wt, nullptr);
    nn_node *c2 = qf_node(&f, "conv2");
    c2->w[0] = 3.0f;                        // as a large step would leave them
    c2->w[1] = -2.5f;
    qf_round(&f, 1, 0.05f);                 // one small step cannot bring them back inside
    EXPECT_EQ(c2->w[0], 1.0f);
    EXPECT_EQ(c2->w[1], -1.0f);
    qf_round(&f, 5, 0.05f);
    for (const char *name : { "conv2", "conv3" }) {
        nn_node *n = qf_node(&f, name);
        expect_signs(n);
        for (size_t i = 0; i < n->nw; i++) ASSERT_LE(std::fabs(n->w[i]), 1.0f) << name << " " << i;
    }
    std::vector<float> latent(qf_node(&f, "conv2")->w, qf_node(&f, "conv2")->w + qf_node(&f, "conv2")->nw);
    ASSERT_EQ(qf_finish(&f), 0) << f.err;
    const nn_node *n = qf_node(&f, "conv2");
    EXPECT_EQ(n->wt, nullptr);
    EXPECT_EQ(n->wform.kind, NN_WFORM_BINARY);
    for (size_t i = 0; i < n->nw; i++) ASSERT_EQ(n->w[i], latent[i] >= 0 ? 1.0f : -1.0f);
    qf_free(&f);
}

// With every latent weight of a layer set to v, the share of +1 over many training draws is
// hard_sigmoid(v) = (v + 1) / 2; outside training (after epoch_end) the layer is sign(w) again.
TEST(BinaryConnect, StochasticDrawFollowsHardSigmoid)
{
    qf f;
    const char *kv[] = { "mode", "stochastic", nullptr };
    ASSERT_EQ(qf_start(&f, &method_binaryconnect, QF_BN_CNN, NN_SGD, kv), 0) << f.err;
    nn_node *n = qf_node(&f, "conv2");
    method_binaryconnect.epoch_begin(&f.run, f.state);
    for (float v : { -0.6f, 0.0f, 0.5f, 1.0f }) {
        for (size_t i = 0; i < n->nw; i++) n->w[i] = v;
        std::vector<float> e(n->nw);
        size_t plus = 0, total = 0;
        for (int r = 0; r < 200; r++) {
            n->wt->forward(n->wt_ctx, n, n->w, e.data(), n->nw);
            for (float x : e) {
                ASSERT_TRUE(x == 1.0f || x == -1.0f);
                plus += x > 0;
            }
            total += n->nw;
        }
        double p = (double)plus / (double)total, want = (v + 1.0) / 2.0;
        EXPECT_NEAR(p, want, 4 * std::sqrt(want * (1 - want) / (double)total) + 1e-9) << "w = " << v;
    }
    method_binaryconnect.epoch_end(&f.run, f.state);
    for (size_t i = 0; i < n->nw; i++) n->w[i] = (i % 3) ? 0.2f : -0.2f;
    expect_signs(n);
    qf_round(&f, 5, 0.05f);
    expect_signs(n);
    qf_free(&f);
}

// The stochastic mode keeps the latent weights in units of H = sqrt(1.5 / (fan_in + fan_out)), as
// the official code's [-H, H]: Kaiming-sized weights would otherwise all draw at p ~ 0.5.
TEST(BinaryConnect, StochasticLatentWeightsAreInUnitsOfH)
{
    qf det, sto;
    const char *kv[] = { "mode", "stochastic", nullptr };
    ASSERT_EQ(qf_start(&det, &method_binaryconnect, QF_BN_CNN, NN_SGD, nullptr), 0) << det.err;
    ASSERT_EQ(qf_start(&sto, &method_binaryconnect, QF_BN_CNN, NN_SGD, kv), 0) << sto.err;
    const nn_node *d = qf_node(&det, "conv2"), *s = qf_node(&sto, "conv2");
    double fi, fo;
    nn_node_fans(s, &fi, &fo);
    const float per_h = (float)std::sqrt((fi + fo) / 1.5);
    size_t saturated = 0;
    for (size_t i = 0; i < s->nw; i++) {
        ASSERT_LT(std::fabs(d->w[i]), 1.0f) << "the deterministic mode keeps the initial weights";
        ASSERT_EQ(s->w[i], std::fmin(std::fmax(d->w[i] * per_h, -1.0f), 1.0f)) << i;
        saturated += std::fabs(s->w[i]) == 1.0f;
    }
    EXPECT_LT(saturated, s->nw) << "the draws must not all be certain";
    qf_free(&det);
    qf_free(&sto);
}

TEST(BinaryConnect, UnknownModeIsRefused)
{
    char err[256];
    ASSERT_NE(qf_parse(&method_binaryconnect, "mode", "random", err, sizeof err), 0);
    EXPECT_NE(std::string(err).find("deterministic|stochastic"), std::string::npos) << err;
}

}  // namespace
