// XNOR-Net / BWN: binary weights per filter, binary inputs, the refusal of ReLU-fed layers.
#include <gtest/gtest.h>
#include <cmath>
#include <string>
#include <vector>
extern "C" {
#include "methods/method.h"
#include "methods/quant_util.h"
#include "support/quant_fixture.h"
extern const method method_xnor;
}

namespace {

const nn_node *node(const qf &f, const char *name)
{
    for (int i = 0; i < f.run.model->n_nodes; i++)
        if (std::string(f.run.model->nodes[i].name) == name) return &f.run.model->nodes[i];
    return nullptr;
}

// Every filter of w_eff is exactly +-alpha, alpha = mean |latent w| of that filter, signs kept.
void expect_binary_filters(const nn_node *n, const float *w, const float *w_eff)
{
    size_t fs = qu_filter_size(n);
    for (int f = 0; f < n->out_c; f++) {
        double a = 0;
        for (size_t i = 0; i < fs; i++) a += std::fabs(w[f * fs + i]);
        float alpha = (float)(a / (double)fs);
        ASSERT_GT(alpha, 0.0f);
        for (size_t i = 0; i < fs; i++) {
            float want = w[f * fs + i] >= 0 ? alpha : -alpha;
            ASSERT_EQ(w_eff[f * fs + i], want) << n->name << " filter " << f << " weight " << i;
        }
    }
}

TEST(Xnor, BwnWeightsOfEachFilterArePlusMinusAlpha)
{
    qf f;
    const char *kv[] = { "mode", "bwn", nullptr };
    ASSERT_EQ(qf_start(&f, &method_xnor, QF_BN_CNN, NN_SGD, kv), 0) << f.err;
    qf_round(&f, 5, 0.05f);
    EXPECT_EQ(node(f, "conv1")->wt, nullptr);      // first_last_fp = true by default
    EXPECT_EQ(node(f, "fc")->wt, nullptr);
    EXPECT_EQ(node(f, "conv2")->xt, nullptr);      // bwn: inputs stay fp
    for (const char *name : { "conv2", "conv3" }) {
        const nn_node *n = node(f, name);
        ASSERT_NE(n->wt, nullptr);
        std::vector<float> weff(n->nw);
        n->wt->forward(n->wt_ctx, n, n->w, weff.data(), n->nw);
        expect_binary_filters(n, n->w, weff.data());
    }
    // the deployable model holds the binary weights themselves
    std::vector<float> latent(node(f, "conv2")->w, node(f, "conv2")->w + node(f, "conv2")->nw);
    ASSERT_EQ(qf_finish(&f), 0) << f.err;
    EXPECT_EQ(node(f, "conv2")->wt, nullptr);
    expect_binary_filters(node(f, "conv2"), latent.data(), node(f, "conv2")->w);
    qf_free(&f);
}

// The alpha path of the gradient is exact; the sign path is the STE alpha*g*1{|w|<=1}.
TEST(Xnor, BwnBackwardIsChainRulePlusSte)
{
    qf f;
    const char *kv[] = { "mode", "bwn", "first_last_fp", "false", nullptr };
    ASSERT_EQ(qf_start(&f, &method_xnor, QF_MLP, NN_SGD, kv), 0) << f.err;
    const nn_node *n = node(f, "fc2");
    size_t nw = n->nw, fs = qu_filter_size(n);
    nn_rng r;
    nn_rng_seed(&r, 3, 3);
    std::vector<double> w(nw), g(nw);
    for (size_t i = 0; i < nw; i++) {
        w[i] = nn_rng_normal(&r) * 0.8;
        if (std::fabs(w[i]) < 0.05) w[i] = 0.05;   // keep signs away from the kink
        g[i] = nn_rng_normal(&r);
    }
    std::vector<float> wf(w.begin(), w.end()), gf(g.begin(), g.end()), weff(nw), gw(nw);
    n->wt->forward(n->wt_ctx, n, wf.data(), weff.data(), nw);
    n->wt->backward(n->wt_ctx, n, wf.data(), weff.data(), gf.data(), gw.data(), nw);
    // L(w) = sum g * alpha(w) * sign(w): with signs fixed, dL/dw_i = sign(w_i)/n * sum_j g_j sign(w_j)
    for (size_t i = 0; i < nw; i += 7) {
        size_t f0 = i / fs * fs;
        auto loss = [&](double wi) {
            double a = 0, l = 0;
            for (size_t j = f0; j < f0 + fs; j++) a += std::fabs(j == i ? wi : w[j]);
            a /= (double)fs;
            for (size_t j = f0; j < f0 + fs; j++) l += g[j] * a * ((j == i ? wi : w[j]) >= 0 ? 1 : -1);
            return l;
        };
        double h = 1e-3, fd = (loss(w[i] + h) - loss(w[i] - h)) / (2 * h);
        double alpha = std::fabs(weff[i]);
        double ste = std::fabs(w[i]) <= 1 ? alpha * g[i] : 0;
        EXPECT_NEAR(gw[i] - ste, fd, 1e-4) << "weight " << i;
    }
    qf_free(&f);
}

TEST(Xnor, InputsOfBinarizedLayersArePlusMinusK)
{
    qf f;
    ASSERT_EQ(qf_start(&f, &method_xnor, QF_BN_CNN, NN_SGD, nullptr), 0) << f.err;
    qf_round(&f, 3, 0.05f);
    nn_forward(f.run.model, f.x, f.batch, 0);
    const nn_node *n = node(f, "conv2"), *src = node(f, "bn1");
    ASSERT_NE(n->xt, nullptr);
    size_t per = nn_dims_size(n->in_dims);
    for (int b = 0; b < f.batch; b++) {
        const float *x = src->out + (size_t)b * per, *q = n->x_q + (size_t)b * per;
        double k = 0;
        for (size_t i = 0; i < per; i++) k += std::fabs(x[i]);
        float kf = (float)(k / (double)per);
        ASSERT_GT(kf, 0.0f);
        for (size_t i = 0; i < per; i++) ASSERT_EQ(q[i], x[i] >= 0 ? kf : -kf) << "sample " << b;
    }
    EXPECT_EQ(node(f, "conv1")->xt, nullptr);
    qf_free(&f);
}

TEST(Xnor, InputGradientIsStraightThroughCancelledBeyondOne)
{
    qf f;
    ASSERT_EQ(qf_start(&f, &method_xnor, QF_BN_CNN, NN_SGD, nullptr), 0) << f.err;
    const nn_node *n = node(f, "conv3");
    const float x[6] = { -2.0f, -1.0f, -0.3f, 0.0f, 0.7f, 1.5f }, g[6] = { 1, 2, 3, 4, 5, 6 };
    float q[6], gx[6];
    n->xt->forward(n->xt_ctx, n, x, q, 3, 2);
    n->xt->backward(n->xt_ctx, n, x, q, g, gx, 3, 2);
    const float want[6] = { 0, 2, 3, 4, 5, 0 };
    for (int i = 0; i < 6; i++) EXPECT_EQ(gx[i], want[i]) << i;
    EXPECT_FLOAT_EQ(q[0], -(2.0f + 1.0f + 0.3f) / 3);   // sample 0: K = mean |x|
    EXPECT_FLOAT_EQ(q[3], (0.0f + 0.7f + 1.5f) / 3);     // sign(0) = +1
    qf_free(&f);
}

TEST(Xnor, RefusesBinarizedLayerFedByRelu)
{
    qf f;
    ASSERT_NE(qf_start(&f, &method_xnor, QF_RELU_CNN, NN_SGD, nullptr), 0);
    std::string e = f.err;
    EXPECT_NE(e.find("conv2"), std::string::npos) << e;
    EXPECT_NE(e.find("relu1"), std::string::npos) << e;
    EXPECT_NE(e.find("-xnor"), std::string::npos) << e;
    qf_free(&f);
    const char *kv[] = { "mode", "bwn", nullptr };   // binary weights alone are fine there
    EXPECT_EQ(qf_start(&f, &method_xnor, QF_RELU_CNN, NN_SGD, kv), 0) << f.err;
    qf_free(&f);
}

TEST(Xnor, OptionsOutOfRangeNameKeyAndChoices)
{
    char err[256];
    ASSERT_NE(qf_parse(&method_xnor, "mode", "ternary", err, sizeof err), 0);
    EXPECT_NE(std::string(err).find("mode"), std::string::npos) << err;
    EXPECT_NE(std::string(err).find("bwn|xnor"), std::string::npos) << err;
    EXPECT_EQ(qf_parse(&method_xnor, "mode", "bwn", err, sizeof err), 0) << err;
}

TEST(Xnor, AccountsOneBitWeightsAndActivations)
{
    qf f;
    ASSERT_EQ(qf_start(&f, &method_xnor, QF_BN_CNN, NN_SGD, nullptr), 0) << f.err;
    ASSERT_EQ(qf_finish(&f), 0) << f.err;
    static mt_footprint fp;
    mt_footprint_dense(f.run.model, &fp);
    double before = fp.bytes;
    method_xnor.account(&f.run, f.state, &fp);
    int seen = 0;
    for (int i = 0; i < fp.n_layers; i++) {
        std::string name = fp.layers[i].name;
        if (name == "conv2" || name == "conv3") {
            EXPECT_EQ(fp.layers[i].w_bits, 1);
            EXPECT_EQ(fp.layers[i].a_bits, 1);
            seen++;
        }
        if (name == "conv1" || name == "fc") { EXPECT_EQ(fp.layers[i].w_bits, 32); }
    }
    EXPECT_EQ(seen, 2);
    EXPECT_LT(fp.bytes, before);
    qf_free(&f);
}

}  // namespace
