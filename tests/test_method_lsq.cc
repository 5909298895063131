// LSQ: initial steps 2 E|v| / sqrt(Qp), quantized values s * integers in [-Qn, Qp], and the step
// gradient of the paper's eq. 3 scaled by 1 / sqrt(N Qp), for weights and inputs.
#include <gtest/gtest.h>
#include <cmath>
#include <set>
#include <string>
#include <vector>
extern "C" {
#include "methods/input_transforms.h"
#include "methods/method.h"
#include "support/quant_fixture.h"
extern const method method_lsq;
}

namespace {

// The paper's dv_q/ds, written out case by case.
double step_grad(double v, double s, int qn, int qp)
{
    double r = v / s;
    if (r <= -qn) return -qn;
    if (r >= qp) return qp;
    return std::nearbyint(r) - r;
}

// The weight step, read back from the effective weights (some weight sits on +-1 step).
float weight_step(const nn_node *n)
{
    std::vector<float> e(n->nw);
    n->wt->forward(n->wt_ctx, n, n->w, e.data(), n->nw);
    float s = INFINITY;
    for (float v : e)
        if (v != 0) s = std::fmin(s, std::fabs(v));
    return s;
}

qf *start(const char *w_bits, const char *a_bits)
{
    static qf f;
    const char *kv[] = { "w_bits", w_bits, "a_bits", a_bits, nullptr };
    EXPECT_EQ(qf_start(&f, &method_lsq, QF_RELU_CNN, NN_SGD, kv), 0) << f.err;
    f.optim.momentum = 0;
    f.optim.weight_decay = 0;
    return &f;
}

TEST(Lsq, StepsStartAtTwiceMeanAbsOverSqrtQp)
{
    qf &f = *start("3", "2");
    nn_node *n = qf_node(&f, "conv2");
    double sw = 0;
    for (size_t i = 0; i < n->nw; i++) sw += std::fabs(n->w[i]);
    EXPECT_FLOAT_EQ(weight_step(n), (float)(2 * sw / (double)n->nw / std::sqrt(3.0)));   // 3 bits: Qp = 3
    ASSERT_NE(nn_forward(f.run.model, f.x, f.batch, 1), nullptr);     // the first batch sets s_a
    const float *x = f.run.model->nodes[n->in[0]].out;
    size_t nx = nn_dims_size(n->in_dims) * (size_t)f.batch;
    double sx = 0;
    for (size_t i = 0; i < nx; i++) sx += std::fabs(x[i]);
    const float sa = n->xt_arg[1];
    EXPECT_FLOAT_EQ(sa, (float)(2 * sx / (double)nx / std::sqrt(3.0)));   // 2 bits unsigned: Qp = 3
    std::set<float> levels;
    for (size_t i = 0; i < nx; i++) {
        double q = n->x_q[i] / sa;
        ASSERT_NEAR(q, std::round(q), 1e-5);
        ASSERT_GE(std::round(q), 0);
        ASSERT_LE(std::round(q), 3);
        levels.insert((float)std::round(q));
    }
    EXPECT_EQ(levels.size(), 4u);
    qf_free(&f);
}

TEST(Lsq, WeightStepGradientFollowsThePaper)
{
    qf &f = *start("2", "4");            // 2-bit weights: Qn = 2, Qp = 1
    nn_node *n = qf_node(&f, "conv2");
    float s0 = weight_step(n);
    n->w[0] = -5 * s0;                 // one weight beyond each end
    n->w[1] = 3 * s0;
    s0 = weight_step(n);
    std::vector<float> g(n->nw), e(n->nw), gw(n->nw);
    n->wt->forward(n->wt_ctx, n, n->w, e.data(), n->nw);
    double want = 0;
    int cases[3] = { 0, 0, 0 };
    for (size_t i = 0; i < n->nw; i++) {
        g[i] = (float)std::cos(0.7 * (double)i);
        want += g[i] * step_grad(n->w[i], s0, 2, 1);
        double r = n->w[i] / s0;
        cases[r <= -2 ? 0 : r >= 1 ? 2 : 1]++;
    }
    ASSERT_GT(cases[0] * cases[1] * cases[2], 0) << "all three cases occur";
    want /= std::sqrt((double)n->nw * 1);
    n->wt->backward(n->wt_ctx, n, n->w, e.data(), g.data(), gw.data(), n->nw);
    for (size_t i = 0; i < n->nw; i++) {
        double r = n->w[i] / s0;
        EXPECT_EQ(gw[i], r > -2 && r < 1 ? g[i] : 0.0f) << i;
    }
    const float lr = 0.01f;
    f.run.lr = lr;
    method_lsq.step_end(&f.run, f.state);
    EXPECT_NEAR((s0 - weight_step(n)) / lr, want, 1e-3 * std::fabs(want) + 1e-5);
    qf_free(&f);
}

TEST(Lsq, InputStepGradientFollowsThePaper)
{
    qf &f = *start("4", "2");            // 2-bit inputs: Qn = 0, Qp = 3
    nn_node *n = qf_node(&f, "conv2");
    const float s0 = 0.5f;
    n->xt_arg[1] = s0;
    size_t per = nn_dims_size(n->in_dims);
    std::vector<float> x(per * 2), g(per * 2), q(per * 2), gx(per * 2);
    double want = 0;
    for (size_t i = 0; i < x.size(); i++) {
        x[i] = (float)(2.2 * std::sin(1.3 * (double)i) + 0.6);    // below 0, inside and above 3 s
        g[i] = (float)std::cos(0.3 * (double)i);
        want += g[i] * step_grad(x[i], s0, 0, 3);
    }
    want /= std::sqrt((double)per * 3);
    n->xt->backward(n->xt_ctx, n, x.data(), q.data(), g.data(), gx.data(), per, 2);
    for (size_t i = 0; i < x.size(); i++) EXPECT_EQ(gx[i], x[i] > 0 && x[i] < 1.5f ? g[i] : 0.0f) << i;
    const float lr = 0.01f;
    f.run.lr = lr;
    method_lsq.step_end(&f.run, f.state);
    EXPECT_NEAR((s0 - n->xt_arg[1]) / lr, want, 1e-3 * std::fabs(want) + 1e-5);
    qf_free(&f);
}

TEST(Lsq, TrainsAndFinishesToKBitWeights)
{
    qf &f = *start("3", "3");
    qf_round(&f, 10, 0.01f);
    nn_node *n = qf_node(&f, "conv2");
    ASSERT_EQ(qf_finish(&f), 0) << f.err;
    EXPECT_EQ(n->wt, nullptr);
    EXPECT_EQ(n->xt, &mt_xt_lsq);
    EXPECT_EQ(n->xt_ctx, nullptr);
    std::set<float> vals(n->w, n->w + n->nw);
    EXPECT_LE(vals.size(), 8u);
    EXPECT_EQ(n->wform.kind, NN_WFORM_CODEBOOK);
    EXPECT_EQ(n->wform.bits, 3);
    qf_free(&f);
}

TEST(Lsq, OneBitWeightsAreRefused)
{
    char err[256];
    ASSERT_NE(qf_parse(&method_lsq, "w_bits", "1", err, sizeof err), 0);
    EXPECT_EQ(std::string(err).rfind("w_bits = ", 0), 0u) << err;
}

}  // namespace
