// DeepShift: weights are +-2^p with p in range (or 0), for DS-Q and DS-PS; fixed-point inputs.
#include <gtest/gtest.h>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>
extern "C" {
#include "methods/method.h"
#include "methods/quant_util.h"
#include "support/quant_fixture.h"
extern const method method_deepshift;
}

namespace {

// 0, or +-2^p with integer p in [pmin, 0]
void expect_shifts(const float *w, size_t n, int pmin, const char *what)
{
    for (size_t i = 0; i < n; i++) {
        if (w[i] == 0) continue;
        int e;
        float mant = std::frexp(std::fabs(w[i]), &e);
        ASSERT_EQ(mant, 0.5f) << what << " weight " << i << " = " << w[i];
        ASSERT_GE(e - 1, pmin) << what << " weight " << i;
        ASSERT_LE(e - 1, 0) << what << " weight " << i;
    }
}

std::vector<float> weff(const nn_node *n)
{
    std::vector<float> e(n->nw);
    n->wt->forward(n->wt_ctx, n, n->w, e.data(), n->nw);
    return e;
}

TEST(DeepShift, RoundingToPowersOfTwo)
{
    EXPECT_EQ(qu_pow2_round(0.3f, -14, 0), 0.25f);
    EXPECT_EQ(qu_pow2_round(-0.36f, -14, 0), -0.5f);     // log2 0.36 = -1.47 -> -1
    EXPECT_EQ(qu_pow2_round(3.0f, -14, 0), 1.0f);        // clamped at 2^0
    EXPECT_EQ(qu_pow2_round(0.1f, -2, 0), 0.0f);         // rounds to 2^-3, below the range
    EXPECT_EQ(qu_pow2_round(0.2f, -2, 0), 0.25f);
    EXPECT_EQ(qu_pow2_round(0.0f, -14, 0), 0.0f);
}

// The array form (vectorised, threaded) must give qu_fixed_round's result bit for bit, on grid
// halves, saturation, infinities and NaN as on ordinary values.
TEST(DeepShift, FixedPointArrayMatchesScalarBitForBit)
{
    std::vector<float> x(100003);
    uint32_t r = 12345;
    for (size_t i = 0; i < x.size(); i++) {
        r = r * 1664525u + 1013904223u;
        float mag = std::ldexp((float)(r >> 8) / 16777216.0f, (int)(r % 48) - 30);
        x[i] = (r & 1) ? -mag : mag;
    }
    const float edge[] = {0.5f / 65536, 1.5f / 65536, -0.5f / 65536, -2.5f / 65536, 32767.99999f, -32768.0f,
                          -40000.0f, 1e30f, INFINITY, -INFINITY, NAN, 0.0f, -0.0f, 7.5f, 0.125f, 3.0f};
    for (size_t i = 0; i < sizeof edge / sizeof *edge; i++) x[i * 997] = edge[i];
    const int grids[][2] = {{16, 16}, {8, 4}, {2, 24}, {24, 1}};
    std::vector<float> y(x.size());
    for (const auto &g : grids) {
        qu_fixed_round_array(x.data(), y.data(), x.size(), g[0], g[1]);
        for (size_t i = 0; i < x.size(); i++) {
            float want = qu_fixed_round(x[i], g[0], g[1]);
            ASSERT_EQ(0, std::memcmp(&want, &y[i], sizeof want))
                << "grid " << g[0] << "." << g[1] << " x[" << i << "] = " << x[i] << ": " << y[i] << " vs " << want;
        }
    }
}

TEST(DeepShift, QWeightsAreSignedPowersOfTwoInRange)
{
    qf f;
    const char *kv[] = { "weight_bits", "3", nullptr };   // p in [-2, 0]
    ASSERT_EQ(qf_start(&f, &method_deepshift, QF_MLP, NN_SGD, kv), 0) << f.err;
    qf_round(&f, 10, 0.05f);
    size_t zeros = 0;
    for (int i = 0; i < f.run.model->n_nodes; i++) {
        const nn_node *n = &f.run.model->nodes[i];
        if (!nn_is_weighted(n)) continue;
        ASSERT_NE(n->wt, nullptr) << n->name;        // DeepShift converts every layer by default
        std::vector<float> e = weff(n);
        expect_shifts(e.data(), n->nw, -2, n->name);
        for (float v : e) zeros += v == 0;
    }
    EXPECT_GT(zeros, 0u);                            // small weights fall below 2^-2
    qf_free(&f);
}

TEST(DeepShift, PsTrainsShiftsAndSignsWithinRange)
{
    qf f;
    const char *kv[] = { "mode", "ps", "weight_bits", "5", nullptr };   // p in [-14, 0]
    ASSERT_EQ(qf_start(&f, &method_deepshift, QF_MLP, NN_ADAM, kv), 0) << f.err;
    nn_model *m = f.run.model;
    std::vector<std::vector<float>> start(m->n_nodes);
    for (int i = 0; i < m->n_nodes; i++)
        if (nn_is_weighted(&m->nodes[i])) start[i] = weff(&m->nodes[i]);
    qf_round(&f, 40, 0.05f);
    size_t changed = 0;
    for (int i = 0; i < m->n_nodes; i++) {
        const nn_node *n = &m->nodes[i];
        if (!nn_is_weighted(n)) continue;
        for (size_t k = 0; k < n->nw; k++) {           // the latent buffer holds the shifts
            ASSERT_GE(n->w[k], -14.0f);
            ASSERT_LE(n->w[k], 0.0f);
        }
        std::vector<float> e = weff(n);
        expect_shifts(e.data(), n->nw, -14, n->name);
        for (size_t k = 0; k < n->nw; k++) changed += e[k] != start[i][k];
    }
    EXPECT_GT(changed, 0u);
    ASSERT_EQ(qf_finish(&f), 0) << f.err;
    for (int i = 0; i < m->n_nodes; i++) {
        const nn_node *n = &m->nodes[i];
        if (!nn_is_weighted(n)) continue;
        EXPECT_EQ(n->wt, nullptr);
        expect_shifts(n->w, n->nw, -14, n->name);   // the deployable weights themselves
    }
    qf_free(&f);
}

// PS conversion keeps the DS-Q forward: p = log2|w| rounds like DS-Q does.
TEST(DeepShift, PsConversionMatchesQRounding)
{
    qf fq, fp;
    const char *q[] = { "mode", "q", nullptr }, *p[] = { "mode", "ps", nullptr };
    ASSERT_EQ(qf_start(&fq, &method_deepshift, QF_MLP, NN_SGD, q), 0) << fq.err;
    ASSERT_EQ(qf_start(&fp, &method_deepshift, QF_MLP, NN_ADAM, p), 0) << fp.err;
    for (int i = 0; i < fq.run.model->n_nodes; i++) {
        const nn_node *a = &fq.run.model->nodes[i], *b = &fp.run.model->nodes[i];
        if (!nn_is_weighted(a)) continue;
        std::vector<float> ea = weff(a), eb = weff(b);
        for (size_t k = 0; k < a->nw; k++) ASSERT_EQ(ea[k], eb[k]) << a->name << " " << k;
    }
    qf_free(&fq);
    qf_free(&fp);
}

TEST(DeepShift, ActivationsRoundToFixedPointGrid)
{
    qf f;
    const char *kv[] = { "act_bits", "4", "act_int_bits", "4", nullptr };
    ASSERT_EQ(qf_start(&f, &method_deepshift, QF_BN_CNN, NN_SGD, kv), 0) << f.err;
    nn_forward(f.run.model, f.x, f.batch, 1);
    const nn_node *n = &f.run.model->nodes[0];
    ASSERT_NE(n->xt, nullptr);
    size_t total = nn_dims_size(n->in_dims) * (size_t)f.batch;
    for (size_t i = 0; i < total; i++) {
        float q = n->x_q[i];
        ASSERT_EQ(q * 16, std::round(q * 16)) << i;     // multiples of 2^-4
        ASSERT_LE(std::fabs(q - f.x[i]), 1.0f / 32 + 1e-6f) << i;   // within half a step...
        ASSERT_GE(q, -8.0f);                             // ...and saturated to 4 integer bits
        ASSERT_LE(q, 8.0f - 1.0f / 16);
    }
    qf_free(&f);
}

TEST(DeepShift, OptionsOutOfRangeNameKeyAndAllowedValues)
{
    char err[256];
    for (const char *bad : { "1", "9", "0" }) {
        ASSERT_NE(qf_parse(&method_deepshift, "weight_bits", bad, err, sizeof err), 0) << bad;
        EXPECT_EQ(std::string(err).rfind("weight_bits = ", 0), 0u) << err;
    }
    ASSERT_NE(qf_parse(&method_deepshift, "mode", "shift", err, sizeof err), 0);
    EXPECT_NE(std::string(err).find("q|ps"), std::string::npos) << err;
    EXPECT_EQ(qf_parse(&method_deepshift, "act_bits", "0", err, sizeof err), 0) << err;
}

}  // namespace
