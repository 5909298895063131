// TTQ: three values per layer, learned scales that follow their gradients.
#include <gtest/gtest.h>
#include <cmath>
#include <set>
#include <string>
#include <vector>
extern "C" {
#include "methods/method.h"
#include "nn/loss.h"
#include "support/quant_fixture.h"
extern const method method_ttq;
}

namespace {

nn_node *node(qf &f, const char *name)
{
    for (int i = 0; i < f.run.model->n_nodes; i++)
        if (std::string(f.run.model->nodes[i].name) == name) return &f.run.model->nodes[i];
    return nullptr;
}

struct Ternary { float wp = 0, wn = 0; size_t zeros = 0; };

// Effective weights of a layer: must be exactly {-Wn, 0, +Wp}, split at Delta = t*max|w|.
Ternary ternary(const nn_node *n, double t)
{
    std::vector<float> e(n->nw);
    n->wt->forward(n->wt_ctx, n, n->w, e.data(), n->nw);
    float mx = 0;
    for (size_t i = 0; i < n->nw; i++) mx = std::fmax(mx, std::fabs(n->w[i]));
    float d = (float)t * mx;
    std::set<float> vals(e.begin(), e.end());
    EXPECT_EQ(vals.size(), 3u) << n->name;
    Ternary r;
    for (float v : vals)
        if (v != 0) (v > 0 ? r.wp : r.wn) = std::fabs(v);
    for (size_t i = 0; i < n->nw; i++) {
        float want = n->w[i] > d ? r.wp : n->w[i] < -d ? -r.wn : 0.0f;
        EXPECT_EQ(e[i], want) << n->name << " weight " << i << " w " << n->w[i] << " d " << d;
        r.zeros += e[i] == 0;
    }
    return r;
}

TEST(Ttq, LayersHoldThreeValuesAndScalesMoveUnderTraining)
{
    qf f;
    const char *kv[] = { "t", "0.2", nullptr };
    ASSERT_EQ(qf_start(&f, &method_ttq, QF_MLP, NN_SGD, kv), 0) << f.err;
    EXPECT_EQ(node(f, "fc1")->wt, nullptr);
    EXPECT_EQ(node(f, "fc3")->wt, nullptr);
    Ternary a = ternary(node(f, "fc2"), 0.2);
    EXPECT_GT(a.zeros, 0u);
    qf_round(&f, 10, 0.005f);
    Ternary b = ternary(node(f, "fc2"), 0.2);
    EXPECT_NE(a.wp, b.wp);
    EXPECT_NE(a.wn, b.wn);
    ASSERT_EQ(qf_finish(&f), 0) << f.err;
    const nn_node *n = node(f, "fc2");
    EXPECT_EQ(n->wt, nullptr);
    std::set<float> vals(n->w, n->w + n->nw);
    EXPECT_EQ(vals.size(), 3u);
    EXPECT_EQ(vals.count(0.0f), 1u);
    qf_free(&f);
}

// One plain SGD step (no momentum): Wp -= lr * sum_{w>D} g_eff, Wn -= lr * -sum_{w<-D} g_eff,
// with g_eff recovered from the latent gradient g_w = Wp*g_eff (resp. Wn*g_eff).
TEST(Ttq, ScaleStepFollowsItsGradient)
{
    qf f;
    const char *kv[] = { "t", "0.1", "scale_lr", "2", nullptr };
    ASSERT_EQ(qf_start(&f, &method_ttq, QF_MLP, NN_SGD, kv), 0) << f.err;
    f.optim.momentum = 0;
    f.optim.weight_decay = 0;
    nn_node *n = node(f, "fc2");
    nn_model *m = f.run.model;
    Ternary a = ternary(n, 0.1);
    std::vector<float> w0(n->w, n->w + n->nw);
    float mx = 0;
    for (float v : w0) mx = std::fmax(mx, std::fabs(v));
    float d = 0.1f * mx;
    nn_zero_grad(m);
    const float *logits = nn_forward(m, f.x, f.batch, 1);
    std::vector<float> dl((size_t)f.batch * 3);
    int correct = 0;
    nn_softmax_xent(logits, f.y, f.batch, 3, dl.data(), &correct);
    nn_backward(m, dl.data(), f.batch);
    double gp = 0, gn = 0;
    for (size_t i = 0; i < n->nw; i++) {
        if (w0[i] > d) gp += n->gw[i] / a.wp;
        else if (w0[i] < -d) gn -= n->gw[i] / a.wn;
    }
    const float lr = 0.01f;
    f.run.lr = lr;
    nn_optim_step(&f.optim, m, lr);
    method_ttq.step_end(&f.run, f.state);
    Ternary b = ternary(n, 0.1);
    EXPECT_NEAR(b.wp, a.wp - 2 * lr * gp, 1e-5);
    EXPECT_NEAR(b.wn, a.wn - 2 * lr * gn, 1e-5);
    EXPECT_GT(std::fabs(gp) + std::fabs(gn), 1e-6);
    qf_free(&f);
}

TEST(Ttq, ScaleInitOneUsesUnitScales)
{
    qf f;
    const char *kv[] = { "scale_init", "one", "first_last_fp", "false", nullptr };
    ASSERT_EQ(qf_start(&f, &method_ttq, QF_MLP, NN_SGD, kv), 0) << f.err;
    for (const char *name : { "fc1", "fc2", "fc3" }) {
        Ternary t = ternary(node(f, name), 0.05);
        EXPECT_EQ(t.wp, 1.0f);
        EXPECT_EQ(t.wn, 1.0f);
    }
    qf_free(&f);
}

TEST(Ttq, ThresholdOutsideOpenUnitIntervalIsRefused)
{
    char err[256];
    for (const char *bad : { "0", "1", "-0.1", "1.5" }) {
        ASSERT_NE(qf_parse(&method_ttq, "t", bad, err, sizeof err), 0) << bad;
        EXPECT_EQ(std::string(err).rfind("t = ", 0), 0u) << err;
        EXPECT_NE(std::string(err).find("(0, 1)"), std::string::npos) << err;
    }
    EXPECT_EQ(qf_parse(&method_ttq, "t", "0.05", err, sizeof err), 0) << err;
}

}  // namespace
