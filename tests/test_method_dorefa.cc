// DoReFa-Net: k-bit weights on the tanh-normalised grid, k-bit inputs of clip(x, 0, 1), and the
// weight transform's gradient against central differences of its unrounded map.
#include <gtest/gtest.h>
#include <algorithm>
#include <cmath>
#include <set>
#include <string>
#include <vector>
extern "C" {
#include "methods/input_transforms.h"
#include "methods/method.h"
#include "methods/quant_util.h"
#include "support/quant_fixture.h"
extern const method method_dorefa;
}

namespace {

// v is i / (2^k - 1) for a whole i in [0, 2^k - 1] (up to float rounding of the division).
bool on_unit_grid(float v, int k)
{
    double l = (double)((1 << k) - 1), i = std::round(v * l);
    return i >= 0 && i <= l && std::fabs(v - i / l) < 1e-6;
}

TEST(Dorefa, WeightsAndInputsTakeKBitValues)
{
    for (int k : { 2, 3 }) {
        qf f;
        std::string ks = std::to_string(k);
        const char *kv[] = { "w_bits", ks.c_str(), "a_bits", ks.c_str(), nullptr };
        ASSERT_EQ(qf_start(&f, &method_dorefa, QF_RELU_CNN, NN_SGD, kv), 0) << f.err;
        qf_round(&f, 5, 0.05f);
        nn_node *n = qf_node(&f, "conv2");
        ASSERT_EQ(n->xt, &mt_xt_unit_uniform);
        ASSERT_NE(nn_forward(f.run.model, f.x, f.batch, 0), nullptr);
        float m = 0;
        for (size_t i = 0; i < n->nw; i++) m = std::max(m, std::fabs(std::tanh(n->w[i])));
        std::set<float> vals;
        for (size_t i = 0; i < n->nw; i++) {
            float v = (n->w_eff[i] + 1) / 2;             // back to [0, 1]
            ASSERT_TRUE(on_unit_grid(v, k)) << "k " << k << " weight " << i << " " << n->w_eff[i];
            float want = qu_unit_round(std::tanh(n->w[i]) / (2 * m) + 0.5f, k);
            ASSERT_NEAR(v, want, 1e-6);
            vals.insert(n->w_eff[i]);
        }
        EXPECT_LE(vals.size(), (size_t)1 << k);
        EXPECT_GE(vals.size(), 2u);
        EXPECT_TRUE(*vals.rbegin() == 1.0f || *vals.begin() == -1.0f) << "the largest |w| reaches an end";
        size_t nx = nn_dims_size(n->in_dims) * (size_t)f.batch;
        const float *x = f.run.model->nodes[n->in[0]].out;
        for (size_t i = 0; i < nx; i++) {
            ASSERT_TRUE(on_unit_grid(n->x_q[i], k)) << i;
            ASSERT_EQ(n->x_q[i], qu_unit_round(std::min(std::max(x[i], 0.0f), 1.0f), k));
        }
        std::vector<float> latent(n->w, n->w + n->nw);
        ASSERT_EQ(qf_finish(&f), 0) << f.err;
        EXPECT_EQ(n->wform.kind, NN_WFORM_CODEBOOK);
        EXPECT_EQ(n->wform.bits, k);
        EXPECT_EQ(n->wform.index_bits, 0);
        qf_free(&f);
    }
}

// The rounding is straight through, so backward must be the exact gradient of
// sum_i R_i (2 (tanh(w_i) / (2 max|tanh w|) + 1/2) - 1) = sum_i R_i tanh(w_i) / max|tanh w|.
TEST(Dorefa, WeightGradientMatchesFiniteDifferences)
{
    qf f;
    const char *kv[] = { "w_bits", "4", nullptr };
    ASSERT_EQ(qf_start(&f, &method_dorefa, QF_MLP, NN_SGD, kv), 0) << f.err;
    nn_node *n = qf_node(&f, "fc2");
    std::vector<float> w(n->w, n->w + n->nw), R(n->nw), e(n->nw), g(n->nw);
    for (size_t i = 0; i < n->nw; i++) R[i] = std::sin(0.37 * (double)i);
    n->wt->forward(n->wt_ctx, n, w.data(), e.data(), n->nw);
    n->wt->backward(n->wt_ctx, n, w.data(), e.data(), R.data(), g.data(), n->nw);
    auto f_of = [&](const std::vector<double> &v) {
        double m = 0, s = 0;
        for (double x : v) m = std::max(m, std::fabs(std::tanh(x)));
        for (size_t i = 0; i < v.size(); i++) s += R[i] * std::tanh(v[i]) / m;
        return s;
    };
    std::vector<double> v(w.begin(), w.end());
    size_t jmax = 0;
    for (size_t i = 0; i < v.size(); i++)
        if (std::fabs(v[i]) > std::fabs(v[jmax])) jmax = i;
    const double eps = 1e-5;
    for (size_t i = 0; i < v.size(); i++) {
        double keep = v[i];
        v[i] = keep + eps; double lp = f_of(v);
        v[i] = keep - eps; double lm = f_of(v);
        v[i] = keep;
        double num = (lp - lm) / (2 * eps);
        EXPECT_NEAR(g[i], num, 1e-3 + 1e-3 * std::fabs(num)) << "weight " << i << (i == jmax ? " (the max)" : "");
    }
    qf_free(&f);
}

TEST(Dorefa, BitsOutsideRangeAreRefused)
{
    char err[256];
    ASSERT_NE(qf_parse(&method_dorefa, "w_bits", "9", err, sizeof err), 0);
    EXPECT_EQ(std::string(err).rfind("w_bits = ", 0), 0u) << err;
    ASSERT_NE(qf_parse(&method_dorefa, "a_bits", "0", err, sizeof err), 0);
    EXPECT_EQ(std::string(err).rfind("a_bits = ", 0), 0u) << err;
}

}  // namespace
