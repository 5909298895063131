// Optimizers against hand-computed steps, freezing and masks under updates, learning-rate
// schedules, the softmax cross-entropy, and the random number generator.
#include <gtest/gtest.h>
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>
extern "C" {
#include "nn/model.h"
#include "nn/optim.h"
#include "nn/schedule.h"
#include "nn/loss.h"
#include "nn/rng.h"
}

namespace {

// A 2 -> 2 linear layer: params = w[4] (decayed) then b[2] (not decayed).
nn_model *tiny()
{
    nn_builder *b = nn_builder_new("tiny", nn_dims{1, 1, 2}, 2);
    nn_add_linear(b, "fc", -1, 2, 1);
    char err[NN_ERR_MAX];
    nn_model *m = nn_builder_finish(b, err, sizeof err);
    EXPECT_NE(m, nullptr) << err;
    return m;
}

void fill(nn_model *m, float p, float g)
{
    for (size_t i = 0; i < m->n_params; i++) { m->params[i] = p; m->grads[i] = g; }
}

}  // namespace

TEST(Optim, SgdMomentumMatchesHandComputedSteps)
{
    nn_model *m = tiny();
    nn_optim o;
    ASSERT_EQ(nn_optim_init(&o, NN_SGD, m), 0);
    o.momentum = 0.9f;
    fill(m, 1.0f, 0.5f);
    nn_optim_step(&o, m, 0.1f);            // v = 0.5, p = 1 - 0.05
    EXPECT_FLOAT_EQ(m->params[0], 0.95f);
    nn_optim_step(&o, m, 0.1f);            // v = 0.45 + 0.5 = 0.95, p = 0.95 - 0.095
    EXPECT_FLOAT_EQ(m->params[0], 0.855f);
    EXPECT_FLOAT_EQ(m->params[5], 0.855f);

    nn_optim_reset(&o);
    o.nesterov = 1;
    fill(m, 1.0f, 0.5f);
    nn_optim_step(&o, m, 0.1f);            // v = 0.5, d = 0.5 + 0.45 = 0.95
    EXPECT_FLOAT_EQ(m->params[0], 0.905f);
    nn_optim_step(&o, m, 0.1f);            // v = 0.95, d = 0.5 + 0.855 = 1.355
    EXPECT_FLOAT_EQ(m->params[0], 0.7695f);
    nn_optim_free(&o);
    nn_model_free(m);
}

TEST(Optim, WeightDecayOnlyWhereDecayIsSet)
{
    nn_model *m = tiny();
    nn_optim o;
    ASSERT_EQ(nn_optim_init(&o, NN_SGD, m), 0);
    o.momentum = 0.0f;
    o.weight_decay = 0.1f;
    fill(m, 1.0f, 0.5f);
    nn_optim_step(&o, m, 0.1f);
    EXPECT_FLOAT_EQ(m->params[0], 1.0f - 0.1f * 0.6f);   // weight: g + wd * p
    EXPECT_FLOAT_EQ(m->params[4], 1.0f - 0.1f * 0.5f);   // bias: no decay
    nn_optim_free(&o);
    nn_model_free(m);
}

TEST(Optim, AdamMatchesHandComputedSteps)
{
    nn_model *m = tiny();
    nn_optim o;
    ASSERT_EQ(nn_optim_init(&o, NN_ADAM, m), 0);
    fill(m, 1.0f, 1.0f);
    nn_optim_step(&o, m, 0.01f);           // bias-corrected: m^ = 1, v^ = 1: step = lr
    EXPECT_NEAR(m->params[0], 0.99f, 1e-6f);
    for (size_t i = 0; i < m->n_params; i++) m->grads[i] = -1.0f;
    nn_optim_step(&o, m, 0.01f);
    // m = 0.09 - 0.1 = -0.01, v = 0.000999 + 0.001; m^ = -0.01/0.19, v^ = 1
    EXPECT_NEAR(m->params[0], 0.99f + 0.01f * (0.01f / 0.19f), 1e-6f);
    EXPECT_EQ(o.step, 2);

    nn_optim_reset(&o);
    EXPECT_EQ(o.step, 0);
    o.weight_decay = 0.5f;
    fill(m, 2.0f, 0.0f);                   // pure decay: g = 1 on weights, 0 on biases
    nn_optim_step(&o, m, 0.01f);
    EXPECT_NEAR(m->params[0], 1.99f, 1e-6f);
    EXPECT_EQ(m->params[4], 2.0f);
    nn_optim_free(&o);
    nn_model_free(m);
}

TEST(Optim, FrozenAndMaskedWeightsStayPut)
{
    char err[NN_ERR_MAX];
    for (nn_optim_kind kind : {NN_SGD, NN_ADAM}) {
        nn_model *m = nn_model_create("lenet5", nn_dims{1, 16, 16}, 4, err, sizeof err);
        ASSERT_NE(m, nullptr) << err;
        nn_model_set_threads(m, 1);
        nn_rng r;
        nn_rng_seed(&r, 3, 0);
        nn_model_init(m, NN_INIT_KAIMING_UNIFORM, &r);
        nn_node *conv1 = &m->nodes[0], *conv2 = &m->nodes[2];
        ASSERT_STREQ(conv2->name, "conv2");
        conv1->frozen = 1;
        uint8_t *fz = nn_node_wfreeze(m, conv2);
        uint8_t *mk = nn_node_mask(m, conv2);
        for (size_t j = 0; j < conv2->nw; j++) { fz[j] = j % 3 == 0; mk[j] = j % 3 != 1; }
        nn_apply_masks(m);
        std::vector<float> before(m->params, m->params + m->n_params);
        nn_optim o;
        ASSERT_EQ(nn_optim_init(&o, kind, m), 0);
        o.momentum = 0.9f; o.nesterov = 1; o.weight_decay = 0.01f;
        for (int s = 0; s < 5; s++) {             // arbitrary gradients everywhere
            for (size_t i = 0; i < m->n_params; i++) m->grads[i] = nn_rng_normal(&r);
            nn_optim_step(&o, m, 0.1f);
        }
        EXPECT_EQ(0, memcmp(conv1->w, &before[conv1->w_off], conv1->nw * sizeof(float)));
        EXPECT_NE(conv1->b[0], before[conv1->b_off]);    // its bias still trains
        size_t moved = 0;
        for (size_t j = 0; j < conv2->nw; j++) {
            float now = conv2->w[j], was = before[conv2->w_off + j];
            if (fz[j]) {
                EXPECT_EQ(now, was);
            } else if (!mk[j]) {
                EXPECT_EQ(now, 0.0f);
            } else {
                moved += now != was;
            }
        }
        EXPECT_EQ(moved, conv2->nw / 3);
        nn_optim_free(&o);
        nn_model_free(m);
    }
}

TEST(Schedule, Values)
{
    nn_schedule s{};
    s.kind = NN_SCHED_CONST; s.base_lr = 0.1f;
    EXPECT_FLOAT_EQ(nn_schedule_lr(&s, 0), 0.1f);
    EXPECT_FLOAT_EQ(nn_schedule_lr(&s, 123.4), 0.1f);

    s.kind = NN_SCHED_STEP; s.gamma = 0.1f; s.step_size = 30;
    EXPECT_FLOAT_EQ(nn_schedule_lr(&s, 29.99), 0.1f);
    EXPECT_FLOAT_EQ(nn_schedule_lr(&s, 30), 0.01f);
    EXPECT_FLOAT_EQ(nn_schedule_lr(&s, 65.5), 0.001f);

    s.kind = NN_SCHED_MULTISTEP; s.n_milestones = 2; s.milestones[0] = 10; s.milestones[1] = 25;
    EXPECT_FLOAT_EQ(nn_schedule_lr(&s, 9.999), 0.1f);
    EXPECT_FLOAT_EQ(nn_schedule_lr(&s, 10), 0.01f);
    EXPECT_FLOAT_EQ(nn_schedule_lr(&s, 24.5), 0.01f);
    EXPECT_FLOAT_EQ(nn_schedule_lr(&s, 25), 0.001f);

    s.kind = NN_SCHED_COSINE; s.epochs = 100; s.min_lr = 0.001f;
    EXPECT_FLOAT_EQ(nn_schedule_lr(&s, 0), 0.1f);
    EXPECT_FLOAT_EQ(nn_schedule_lr(&s, 50), 0.0505f);
    EXPECT_FLOAT_EQ(nn_schedule_lr(&s, 25), 0.001f + 0.099f * 0.5f * (1 + std::cos(0.785398163397448f)));
    EXPECT_FLOAT_EQ(nn_schedule_lr(&s, 100), 0.001f);
    EXPECT_FLOAT_EQ(nn_schedule_lr(&s, 150), 0.001f);
    EXPECT_GT(nn_schedule_lr(&s, 10.5), nn_schedule_lr(&s, 10.6));   // fractional epochs

    s.kind = NN_SCHED_CONST; s.warmup_epochs = 4;
    EXPECT_FLOAT_EQ(nn_schedule_lr(&s, 0), 0.01f);
    EXPECT_FLOAT_EQ(nn_schedule_lr(&s, 2), 0.055f);
    EXPECT_FLOAT_EQ(nn_schedule_lr(&s, 4), 0.1f);
    EXPECT_STREQ(nn_sched_name(NN_SCHED_COSINE), "cosine");
}

TEST(Loss, UniformLogitsGiveLogClasses)
{
    std::vector<float> z(3 * 4, 0.25f), d(z.size());
    uint8_t y[3] = {0, 3, 1};
    int correct = -1;
    float loss = nn_softmax_xent(z.data(), y, 3, 4, d.data(), &correct);
    EXPECT_FLOAT_EQ(loss, std::log(4.0f));
    EXPECT_EQ(correct, 1);                 // ties go to class 0: only sample 0 is right
    for (int s = 0; s < 3; s++)
        for (int c = 0; c < 4; c++)
            EXPECT_FLOAT_EQ(d[s * 4 + c], (0.25f - (c == y[s])) / 3);
}

TEST(Loss, StableForHugeLogits)
{
    float z[4] = {1000.0f, -1000.0f, 0.0f, 3000.0f};
    uint8_t y[2] = {0, 0};
    float d[4];
    int correct = 0;
    float loss = nn_softmax_xent(z, y, 2, 2, d, &correct);
    EXPECT_NEAR(loss, (0.0f + 3000.0f) / 2, 1e-3f);
    EXPECT_EQ(correct, 1);
    EXPECT_NEAR(d[0], 0.0f, 1e-7f);
    EXPECT_NEAR(d[2], -0.5f, 1e-7f);
    EXPECT_NEAR(d[3], 0.5f, 1e-7f);
}

TEST(Loss, GradientMatchesFiniteDifferences)
{
    nn_rng r;
    nn_rng_seed(&r, 11, 0);
    const int B = 3, C = 5;
    std::vector<float> z(B * C), d(B * C);
    for (auto &v : z) v = 2 * nn_rng_normal(&r);
    uint8_t y[B] = {4, 0, 2};
    nn_softmax_xent(z.data(), y, B, C, d.data(), nullptr);
    for (int i = 0; i < B * C; i++) {
        const float h = 1e-2f, keep = z[i];
        z[i] = keep + h; double up = nn_softmax_xent(z.data(), y, B, C, nullptr, nullptr);
        z[i] = keep - h; double dn = nn_softmax_xent(z.data(), y, B, C, nullptr, nullptr);
        z[i] = keep;
        EXPECT_NEAR(d[i], (up - dn) / (2 * h), 2e-4) << i;
    }
    EXPECT_EQ(nn_argmax(z.data() + 5, 5), (int)(std::max_element(z.begin() + 5, z.begin() + 10) - (z.begin() + 5)));
}

TEST(Rng, DeterministicAndStreamsDiffer)
{
    nn_rng a, b, c;
    nn_rng_seed(&a, 42, 1); nn_rng_seed(&b, 42, 1); nn_rng_seed(&c, 42, 2);
    int same_stream = 0, other_stream = 0;
    for (int i = 0; i < 100; i++) {
        uint32_t x = nn_rng_u32(&a);
        same_stream += x == nn_rng_u32(&b);
        other_stream += x == nn_rng_u32(&c);
    }
    EXPECT_EQ(same_stream, 100);
    EXPECT_LT(other_stream, 3);
}

TEST(Rng, DistributionsLookRight)
{
    nn_rng r;
    nn_rng_seed(&r, 7, 0);
    const int N = 200000;
    std::vector<int> hist(10);
    double s = 0, ss = 0, us = 0;
    float umin = 1, umax = 0;
    for (int i = 0; i < N; i++) {
        hist[nn_rng_below(&r, 10)]++;
        float u = nn_rng_uniform(&r);
        umin = std::min(umin, u); umax = std::max(umax, u); us += u;
        double g = nn_rng_normal(&r);
        s += g; ss += g * g;
    }
    double chi2 = 0;
    for (int h : hist) chi2 += (h - N / 10.0) * (h - N / 10.0) / (N / 10.0);
    EXPECT_LT(chi2, 27.9);                  // 9 dof, p = 0.001
    EXPECT_GE(umin, 0.0f); EXPECT_LT(umax, 1.0f);
    EXPECT_NEAR(us / N, 0.5, 0.005);
    EXPECT_NEAR(s / N, 0.0, 0.01);
    EXPECT_NEAR(ss / N, 1.0, 0.015);

    std::vector<uint32_t> idx(1000);
    for (uint32_t i = 0; i < 1000; i++) idx[i] = i;
    nn_rng_shuffle(&r, idx.data(), 1000);
    std::vector<uint32_t> sorted = idx;
    std::sort(sorted.begin(), sorted.end());
    int fixed = 0;
    for (uint32_t i = 0; i < 1000; i++) { EXPECT_EQ(sorted[i], i); fixed += idx[i] == i; }
    EXPECT_LT(fixed, 10);
}
