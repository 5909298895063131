// INQ: power-of-two partitions, frozen once quantized, quantized fraction = portion.
#include <gtest/gtest.h>
#include <cmath>
#include <string>
#include <vector>
extern "C" {
#include "methods/method.h"
#include "methods/quant_util.h"
#include "support/quant_fixture.h"
extern const method method_inq;
}

namespace {

TEST(Inq, RoundingFollowsReferenceRule)
{
    // n1 = -1, n2 = -4: values {0, +-2^-4 .. +-2^-1}
    EXPECT_EQ(qu_inq_round(0.75f * 0.5f, -1, -4), 0.5f);
    EXPECT_EQ(qu_inq_round(0.74f * 0.5f, -1, -4), 0.25f);
    EXPECT_EQ(qu_inq_round(-0.7f, -1, -4), -0.5f);          // above the top bin: clamped at n1
    EXPECT_EQ(qu_inq_round(0.75f / 16, -1, -4), 1.0f / 16);
    EXPECT_EQ(qu_inq_round(0.74f / 16, -1, -4), 0.0f);      // code's rule: below 3/4 * 2^n2 -> 0
    EXPECT_EQ(qu_inq_round(0.0f, -1, -4), 0.0f);
}

bool in_set(float v, int n1, int n2)
{
    if (v == 0) return true;
    int e;
    float mant = std::frexp(std::fabs(v), &e);   // |v| = mant * 2^e, mant in [0.5, 1)
    return mant == 0.5f && e - 1 >= n2 && e - 1 <= n1;
}

TEST(Inq, PartitionsArePowersOfTwoFrozenAndMatchPortions)
{
    qf f;
    const char *kv[] = { "bits", "4", "portions", "0.3, 0.6, 0.9, 1", nullptr };
    ASSERT_EQ(qf_start(&f, &method_inq, QF_MLP, NN_SGD, kv), 0) << f.err;
    ASSERT_EQ(f.run.n_rounds, 4);
    nn_model *m = f.run.model;
    const double portions[] = { 0.3, 0.6, 0.9, 1.0 };
    std::vector<int> n1(m->n_nodes), n2(m->n_nodes);
    for (int i = 0; i < m->n_nodes; i++) {
        const nn_node *n = &m->nodes[i];
        if (!nn_is_weighted(n)) continue;
        float mx = 0;
        for (size_t k = 0; k < n->nw; k++) mx = std::fmax(mx, std::fabs(n->w[k]));
        n1[i] = (int)std::floor(std::log2(4.0 * mx / 3.0));
        n2[i] = n1[i] + 1 - (1 << (4 - 1)) / 2;
    }
    std::vector<std::vector<float>> prev(m->n_nodes);
    std::vector<std::vector<unsigned char>> prevfrozen(m->n_nodes);
    for (int r = 0; r < 4; r++) {
        std::vector<std::vector<float>> before(m->n_nodes);
        for (int i = 0; i < m->n_nodes; i++)
            if (nn_is_weighted(&m->nodes[i]))
                before[i].assign(m->nodes[i].w, m->nodes[i].w + m->nodes[i].nw);
        qf_round(&f, 15, 0.05f);
        if (r == 3) { EXPECT_EQ(f.run.round_epochs, 0); }   // nothing left to train
        for (int i = 0; i < m->n_nodes; i++) {
            const nn_node *n = &m->nodes[i];
            if (!nn_is_weighted(n)) continue;
            ASSERT_NE(n->wfreeze, nullptr) << n->name;
            size_t frozen = 0, moved = 0;
            for (size_t k = 0; k < n->nw; k++) {
                if (n->wfreeze[k]) {
                    frozen++;
                    ASSERT_TRUE(in_set(n->w[k], n1[i], n2[i])) << n->name << " " << n->w[k];
                    if (r > 0 && prevfrozen[i][k]) { ASSERT_EQ(n->w[k], prev[i][k]) << n->name << " " << k; }
                } else {
                    moved += n->w[k] != before[i][k];
                }
            }
            EXPECT_NEAR((double)frozen / (double)n->nw, portions[r], 1.0 / (double)n->nw) << n->name;
            if (r < 3) { EXPECT_GT(moved, 0u) << n->name << ": the free weights should train"; }
            prev[i].assign(n->w, n->w + n->nw);
            prevfrozen[i].assign(n->wfreeze, n->wfreeze + n->nw);
        }
    }
    qf_free(&f);
}

// The largest weights go first: every frozen |w| (before rounding) >= every free |w|.
TEST(Inq, FirstPartitionTakesTheLargestWeights)
{
    qf f;
    const char *kv[] = { "portions", "0.5, 1", nullptr };
    ASSERT_EQ(qf_start(&f, &method_inq, QF_MLP, NN_SGD, kv), 0) << f.err;
    const nn_node *n = &f.run.model->nodes[1];
    ASSERT_TRUE(nn_is_weighted(n));
    std::vector<float> w(n->w, n->w + n->nw);
    method_inq.round_begin(&f.run, f.state);
    float min_frozen = 1e30f, max_free = 0;
    for (size_t k = 0; k < n->nw; k++) {
        if (n->wfreeze[k]) min_frozen = std::fmin(min_frozen, std::fabs(w[k]));
        else max_free = std::fmax(max_free, std::fabs(w[k]));
    }
    EXPECT_GE(min_frozen, max_free);
    qf_free(&f);
}

TEST(Inq, OptionsOutOfRangeNameKeyAndAllowedValues)
{
    char err[256];
    for (const char *bad : { "0", "1", "9" }) {
        ASSERT_NE(qf_parse(&method_inq, "bits", bad, err, sizeof err), 0) << bad;
        EXPECT_EQ(std::string(err).rfind("bits = ", 0), 0u) << err;
        EXPECT_NE(std::string(err).find("8"), std::string::npos) << err;
    }
    for (const char *bad : { "0.5, 0.4, 1", "0.5, 0.75", "0.5, 0.5, 1", "0, 0.5, 1" }) {
        ASSERT_NE(qf_parse(&method_inq, "portions", bad, err, sizeof err), 0) << bad;
        EXPECT_EQ(std::string(err).rfind("portions = ", 0), 0u) << err;
    }
    ASSERT_NE(qf_parse(&method_inq, "portions", "0.5, 0.4, 1", err, sizeof err), 0);
    EXPECT_STREQ(err, "portions = 0.5, 0.4, 1: expected increasing values in (0, 1] ending with 1");
    EXPECT_EQ(qf_parse(&method_inq, "portions", "0.2, 0.4, 1", err, sizeof err), 0) << err;
    EXPECT_EQ(qf_parse(&method_inq, "bits", "2", err, sizeof err), 0) << err;
}

}  // namespace
