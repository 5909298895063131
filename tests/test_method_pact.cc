// PACT: inputs clipped to [0, alpha] on a k-bit grid; alpha's own gradient (sum of dL/dy over
// x >= alpha) against a finite difference of the network's loss, and its L2 term.
#include <gtest/gtest.h>
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>
extern "C" {
#include "methods/input_transforms.h"
#include "methods/method.h"
#include "methods/quant_util.h"
#include "nn/loss.h"
#include "support/quant_fixture.h"
extern const method method_pact;
}

namespace {

double batch_loss(qf &f)
{
    const float *logits = nn_forward(f.run.model, f.x, f.batch, 1);
    std::vector<float> dl((size_t)f.batch * 3);
    int correct = 0;
    return nn_softmax_xent(logits, f.y, f.batch, 3, dl.data(), &correct);
}

// One plain SGD step moves alpha by -lr * (dL/dalpha + decay * alpha); dL/dalpha must match
// the central difference of the loss in alpha (16-bit grid: the rounding is far below eps).
void check_alpha_gradient(const char *decay, double want_decay)
{
    qf f;
    const char *kv[] = { "w_bits", "8", "a_bits", "16", "alpha_init", "0.8", "alpha_decay", decay, nullptr };
    ASSERT_EQ(qf_start(&f, &method_pact, QF_RELU_CNN, NN_SGD, kv), 0) << f.err;
    f.optim.momentum = 0;
    f.optim.weight_decay = 0;
    nn_node *n = qf_node(&f, "conv2");
    ASSERT_EQ(n->xt, &mt_xt_pact);
    float &alpha = n->xt_arg[1];
    const float a0 = alpha;
    const double eps = 2e-3;
    alpha = a0 + (float)eps; double lp = batch_loss(f);
    alpha = a0 - (float)eps; double lm = batch_loss(f);
    alpha = a0;
    double num = (lp - lm) / (2 * eps);
    // some inputs lie above alpha, or the check proves nothing
    ASSERT_NE(nn_forward(f.run.model, f.x, f.batch, 1), nullptr);
    const float *x = f.run.model->nodes[n->in[0]].out;
    size_t nx = nn_dims_size(n->in_dims) * (size_t)f.batch, above = 0;
    for (size_t i = 0; i < nx; i++) above += x[i] >= a0;
    ASSERT_GT(above, 10u);
    ASSERT_LT(above, nx);

    method_pact.round_begin(&f.run, f.state);
    nn_zero_grad(f.run.model);
    const float *logits = nn_forward(f.run.model, f.x, f.batch, 1);
    std::vector<float> dl((size_t)f.batch * 3);
    int correct = 0;
    nn_softmax_xent(logits, f.y, f.batch, 3, dl.data(), &correct);
    nn_backward(f.run.model, dl.data(), f.batch);
    const float lr = 0.1f;
    f.run.lr = lr;
    nn_optim_step(&f.optim, f.run.model, lr);
    method_pact.step_end(&f.run, f.state);
    double ana = (a0 - alpha) / lr - want_decay * a0;
    EXPECT_GT(std::fabs(num), 1e-4);
    EXPECT_NEAR(ana, num, 2e-2 * std::fabs(num) + 1e-5) << "decay " << decay;
    qf_free(&f);
}

TEST(Pact, AlphaGradientMatchesFiniteDifference) { check_alpha_gradient("0", 0); }
TEST(Pact, AlphaDecayAddsItsL2Term) { check_alpha_gradient("0.01", 0.01); }

TEST(Pact, InputsAreClippedToAlphaOnAKBitGrid)
{
    qf f;
    const char *kv[] = { "a_bits", "3", "alpha_init", "1.5", nullptr };
    ASSERT_EQ(qf_start(&f, &method_pact, QF_RELU_CNN, NN_SGD, kv), 0) << f.err;
    qf_round(&f, 10, 0.05f);
    nn_node *n = qf_node(&f, "conv2");
    const float a = n->xt_arg[1];
    EXPECT_NE(a, 1.5f) << "alpha learns";
    ASSERT_NE(nn_forward(f.run.model, f.x, f.batch, 0), nullptr);
    const float *x = f.run.model->nodes[n->in[0]].out;
    size_t nx = nn_dims_size(n->in_dims) * (size_t)f.batch;
    for (size_t i = 0; i < nx; i++) {
        double level = n->x_q[i] / a * 7.0;
        ASSERT_NEAR(level, std::round(level), 1e-4) << i;
        ASSERT_GE(n->x_q[i], 0.0f);
        ASSERT_LE(n->x_q[i], a * (1 + 1e-6f));
        ASSERT_NEAR(n->x_q[i], std::min(std::max(x[i], 0.0f), a), a / 14.0 + 1e-6) << i;
    }
    ASSERT_EQ(qf_finish(&f), 0) << f.err;
    EXPECT_EQ(n->xt_ctx, nullptr);
    EXPECT_EQ(n->xt_arg[1], a);
    EXPECT_EQ(n->wform.kind, NN_WFORM_CODEBOOK);
    qf_free(&f);
}

// A model file's alpha is a positive real, its bits a whole number: each refused value is named.
TEST(Pact, ModelFileArgumentsAreChecked)
{
    qf f;
    ASSERT_EQ(qf_start(&f, &method_pact, QF_RELU_CNN, NN_SGD, nullptr), 0) << f.err;
    nn_node *n = qf_node(&f, "conv2");
    char why[256];
    const float bad_alpha[NN_XT_ARGS] = { 2, -1 }, bad_bits[NN_XT_ARGS] = { 2.5f, 1 }, good[NN_XT_ARGS] = { 3, 0.25f };
    ASSERT_NE(mt_xt_install(n, MT_XT_PACT, bad_alpha, why, sizeof why), 0);
    EXPECT_STREQ(why, "input transform pact: alpha = -1 (allowed: numbers in (0, 1e+06])");
    ASSERT_NE(mt_xt_install(n, MT_XT_PACT, bad_bits, why, sizeof why), 0);
    EXPECT_STREQ(why, "input transform pact: bits = 2.5 (allowed: whole numbers 1..16)");
    ASSERT_EQ(mt_xt_install(n, MT_XT_PACT, good, why, sizeof why), 0) << why;
    EXPECT_EQ(n->xt_arg[1], 0.25f);
    qf_free(&f);
}

TEST(Pact, NonPositiveAlphaIsRefused)
{
    char err[256];
    ASSERT_NE(qf_parse(&method_pact, "alpha_init", "0", err, sizeof err), 0);
    EXPECT_EQ(std::string(err).rfind("alpha_init = ", 0), 0u) << err;
}

}  // namespace
