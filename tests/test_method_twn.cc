// TWN: every quantized layer computes with exactly {-alpha, 0, +alpha}, split at
// Delta = 0.7 E|w|, alpha the mean |w| beyond Delta; gradients pass straight through.
#include <gtest/gtest.h>
#include <cmath>
#include <set>
#include <string>
#include <vector>
extern "C" {
#include "methods/method.h"
#include "support/quant_fixture.h"
extern const method method_twn;
}

namespace {

// w_eff from the latent weights, checked value by value against the Delta rule computed here.
float expect_twn(const nn_node *n, const float *w, const float *w_eff, double factor)
{
    double s = 0;
    for (size_t i = 0; i < n->nw; i++) s += std::fabs(w[i]);
    float d = (float)(factor * s / (double)n->nw);
    double a = 0;
    size_t k = 0;
    for (size_t i = 0; i < n->nw; i++)
        if (std::fabs(w[i]) > d) { a += std::fabs(w[i]); k++; }
    EXPECT_GT(k, 0u);
    EXPECT_LT(k, n->nw) << "some weights fall inside Delta";
    float alpha = (float)(a / (double)k);
    std::set<float> vals;
    for (size_t i = 0; i < n->nw; i++) {
        float want = w[i] > d ? alpha : w[i] < -d ? -alpha : 0.0f;
        EXPECT_EQ(w_eff[i], want) << n->name << " weight " << i;
        vals.insert(w_eff[i]);
    }
    EXPECT_EQ(vals, (std::set<float>{ -alpha, 0.0f, alpha })) << n->name;
    return alpha;
}

TEST(Twn, LayersHoldMinusAlphaZeroAlphaByTheDeltaRule)
{
    qf f;
    ASSERT_EQ(qf_start(&f, &method_twn, QF_MLP, NN_SGD, nullptr), 0) << f.err;
    EXPECT_EQ(qf_node(&f, "fc1")->wt, nullptr);
    EXPECT_EQ(qf_node(&f, "fc3")->wt, nullptr);
    nn_node *n = qf_node(&f, "fc2");
    ASSERT_NE(n->wt, nullptr);
    std::vector<float> e(n->nw);
    n->wt->forward(n->wt_ctx, n, n->w, e.data(), n->nw);
    float a0 = expect_twn(n, n->w, e.data(), 0.7);
    qf_round(&f, 10, 0.05f);
    n->wt->forward(n->wt_ctx, n, n->w, e.data(), n->nw);
    float a1 = expect_twn(n, n->w, e.data(), 0.7);
    EXPECT_NE(a0, a1) << "alpha follows the latent weights";
    std::vector<float> latent(n->w, n->w + n->nw);
    ASSERT_EQ(qf_finish(&f), 0) << f.err;
    EXPECT_EQ(n->wt, nullptr);
    float a2 = expect_twn(n, latent.data(), n->w, 0.7);
    EXPECT_EQ(n->wform.kind, NN_WFORM_TERNARY);
    EXPECT_EQ(n->wform.wp, a2);
    EXPECT_EQ(n->wform.wn, a2);
    qf_free(&f);
}

TEST(Twn, GradientPassesStraightThrough)
{
    qf f;
    const char *kv[] = { "delta_factor", "0.5", nullptr };
    ASSERT_EQ(qf_start(&f, &method_twn, QF_MLP, NN_SGD, kv), 0) << f.err;
    nn_node *n = qf_node(&f, "fc2");
    std::vector<float> g(n->nw), out(n->nw), e(n->nw);
    for (size_t i = 0; i < n->nw; i++) g[i] = (float)i - 3.5f;
    n->wt->forward(n->wt_ctx, n, n->w, e.data(), n->nw);
    expect_twn(n, n->w, e.data(), 0.5);
    n->wt->backward(n->wt_ctx, n, n->w, e.data(), g.data(), out.data(), n->nw);
    EXPECT_EQ(out, g);
    qf_free(&f);
}

TEST(Twn, DeltaFactorOutsideRangeIsRefused)
{
    char err[256];
    for (const char *bad : { "0", "-1", "2.5" }) {
        ASSERT_NE(qf_parse(&method_twn, "delta_factor", bad, err, sizeof err), 0) << bad;
        EXPECT_EQ(std::string(err).rfind("delta_factor = ", 0), 0u) << err;
    }
    EXPECT_EQ(qf_parse(&method_twn, "delta_factor", "0.7", err, sizeof err), 0) << err;
}

}  // namespace
