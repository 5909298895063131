// BNN: binarized layers compute with sign(w) and sign(x), no scales; both signs pass their
// gradient straight through where |arg| <= 1; ReLU-fed layers are refused.
#include <gtest/gtest.h>
#include <cmath>
#include <string>
#include <vector>
extern "C" {
#include "methods/input_transforms.h"
#include "methods/method.h"
#include "support/quant_fixture.h"
extern const method method_bnn;
}

namespace {

TEST(Bnn, WeightsAndInputsArePlusMinusOne)
{
    qf f;
    ASSERT_EQ(qf_start(&f, &method_bnn, QF_BN_CNN, NN_SGD, nullptr), 0) << f.err;
    EXPECT_EQ(qf_node(&f, "conv1")->xt, nullptr);
    qf_round(&f, 10, 0.5f);
    ASSERT_NE(nn_forward(f.run.model, f.x, f.batch, 0), nullptr);
    for (const char *name : { "conv2", "conv3" }) {
        nn_node *n = qf_node(&f, name);
        ASSERT_EQ(n->xt, &mt_xt_sign) << name;
        size_t nx = nn_dims_size(n->in_dims) * (size_t)f.batch, plus = 0;
        for (size_t i = 0; i < nx; i++) {
            ASSERT_TRUE(n->x_q[i] == 1.0f || n->x_q[i] == -1.0f) << name << " input " << i;
            plus += n->x_q[i] > 0;
        }
        EXPECT_GT(plus, 0u);
        EXPECT_LT(plus, nx) << name << ": BatchNorm gives both signs";
        for (size_t i = 0; i < n->nw; i++) {
            ASSERT_LE(std::fabs(n->w[i]), 1.0f);
            ASSERT_EQ(n->w_eff[i], n->w[i] >= 0 ? 1.0f : -1.0f);
        }
    }
    ASSERT_EQ(qf_finish(&f), 0) << f.err;
    const nn_node *n = qf_node(&f, "conv3");
    EXPECT_EQ(n->wform.kind, NN_WFORM_BINARY);
    EXPECT_EQ(n->xt, &mt_xt_sign);
    for (size_t i = 0; i < n->nw; i++) ASSERT_EQ(std::fabs(n->w[i]), 1.0f);
    qf_free(&f);
}

TEST(Bnn, StraightThroughCancelsBeyondOne)
{
    const float x[] = { -2.0f, -1.0f, -0.3f, 0.0f, 0.7f, 1.0f, 1.5f };
    const float g[] = { 1, 2, 3, 4, 5, 6, 7 };
    const float want[] = { 0, 2, 3, 4, 5, 6, 0 };
    float q[7], gx[7];
    nn_node dummy{};
    mt_xt_sign.forward(nullptr, &dummy, x, q, 7, 1);
    const float signs[] = { -1, -1, -1, 1, 1, 1, 1 };
    for (int i = 0; i < 7; i++) EXPECT_EQ(q[i], signs[i]) << i;
    mt_xt_sign.backward(nullptr, &dummy, x, q, g, gx, 7, 1);
    for (int i = 0; i < 7; i++) EXPECT_EQ(gx[i], want[i]) << i;
}

TEST(Bnn, ReluFedLayerIsRefused)
{
    qf f;
    ASSERT_NE(qf_start(&f, &method_bnn, QF_RELU_CNN, NN_SGD, nullptr), 0);
    EXPECT_NE(std::string(f.err).find("takes its input from ReLU 'relu1'"), std::string::npos) << f.err;
    qf_free(&f);
}

}  // namespace
