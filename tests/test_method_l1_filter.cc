// L1-norm filter pruning (Li et al. 2017): the removed filters are exactly those of smallest L1
// norm (not L2), per layer or per residual group, they stay zero while retraining, and the
// smaller network computes what the masked one did.
#include <gtest/gtest.h>
#include <algorithm>
#include <cmath>
#include <set>
#include <string>
#include <vector>
extern "C" {
#include "methods/method.h"
#include "nn/rng.h"
}
#include "support/method_fixture.h"
#include "support/method_checks.h"

namespace {

double l1(const nn_node *n, int c)
{
    size_t per = n->nw / n->out_c;
    double s = 0;
    for (size_t j = 0; j < per; j++) s += std::fabs((double)n->w[c * per + j]);
    return s;
}

std::set<int> zero_filters(const nn_node *n)
{
    std::set<int> z;
    for (int c = 0; c < n->out_c; c++) if (l1(n, c) == 0.0) z.insert(c);
    return z;
}

// The k filters of smallest summed L1 norm over the named convs, ties to the lower index.
std::set<int> smallest_l1(const nn_model *m, std::vector<const char *> convs, int k)
{
    int C = m->nodes[node_of(m, convs[0])].out_c;
    std::vector<std::pair<double, int>> v;
    for (int c = 0; c < C; c++) {
        double s = 0;
        for (const char *name : convs) s += l1(&m->nodes[node_of(m, name)], c);
        v.push_back({ s, c });
    }
    std::sort(v.begin(), v.end());
    std::set<int> out;
    for (int i = 0; i < k; i++) out.insert(v[i].second);
    return out;
}

struct Snaps { nn_model *before = nullptr, *masked = nullptr; };

void snap(mf_fixture *f, const char *ev, void *user)
{
    Snaps *s = static_cast<Snaps *>(user);
    if (std::string(ev) == "round_end") s->masked = nn_model_clone(f->run.model);
}

// conv1's 3x3 filters: three "spiky" ones (one weight a, L1 = a, L2 = a) and three "flat" ones
// (nine weights b, L1 = 9b, L2 = 3b). With a in [1, 1.2] and b in [0.2, 0.22] L1 ranks the spiky
// filters lowest and L2 the flat ones, so the selection tells the two norms apart.
void spiky_and_flat(nn_model *m)
{
    nn_node *n = &m->nodes[node_of(m, "conv1")];
    ASSERT_EQ(n->out_c, 6);
    ASSERT_EQ(n->nw, 6u * 9u);
    for (int c = 0; c < 6; c++)
        for (int j = 0; j < 9; j++) {
            float *w = &n->w[c * 9 + j];
            if (c % 2 == 0) *w = j == 4 ? 1.0f + 0.1f * (float)(c / 2) : 0.0f;
            else *w = (j % 2 ? -1.0f : 1.0f) * (0.2f + 0.01f * (float)(c / 2));
        }
}

}  // namespace

TEST(L1Filter, RemovesExactlyTheSmallestL1FiltersAndTheSmallerNetworkComputesTheMaskedOne)
{
    const method *m = method_find("l1-filter");
    ASSERT_NE(m, nullptr);
    mf_fixture f;
    char err[512] = "";
    const char *kv[] = { "ratio", "0.5", nullptr };
    ASSERT_EQ(0, mf_open(&f, "lenet", m, kv, 3, err, sizeof err)) << err;
    mf_pretrain(&f, 2);
    spiky_and_flat(f.run.model);
    Snaps s;
    s.before = nn_model_clone(f.run.model);
    f.observe = snap; f.user = &s;
    ASSERT_EQ(0, mf_run(&f, err, sizeof err)) << err;
    ASSERT_NE(s.before, nullptr);
    ASSERT_NE(s.masked, nullptr);
    // the selection at setup: conv1 loses the spiky filters 0, 2, 4 (L2 would take 1, 3, 5)
    EXPECT_EQ(smallest_l1(s.before, { "conv1" }, 3), (std::set<int>{ 0, 2, 4 }));
    EXPECT_EQ(zero_filters(&s.masked->nodes[node_of(s.masked, "conv1")]), (std::set<int>{ 0, 2, 4 }));
    EXPECT_EQ(zero_filters(&s.masked->nodes[node_of(s.masked, "conv2")]), smallest_l1(s.before, { "conv2" }, 4));
    // retraining moved the kept weights but not the removed ones
    const nn_node *b2 = &s.before->nodes[node_of(s.before, "conv2")], *m2 = &s.masked->nodes[node_of(s.masked, "conv2")];
    EXPECT_FALSE(std::equal(b2->w, b2->w + b2->nw, m2->w));
    // the smaller network: half the filters, the masked network's logits
    nn_model *small = f.run.model;
    EXPECT_EQ(small->nodes[node_of(small, "conv1")].out_c, 3);
    EXPECT_EQ(small->nodes[node_of(small, "conv2")].out_c, 4);
    std::vector<float> x = random_inputs(small, 8, 21);
    std::vector<float> a = logits(s.masked, x, 8), b = logits(small, x, 8);
    ASSERT_EQ(a.size(), b.size());
    for (size_t j = 0; j < a.size(); j++) EXPECT_NEAR(a[j], b[j], 1e-5f * (1 + std::fabs(a[j]))) << j;
    EXPECT_EQ(extra(f, "l1-filter.filters_removed"), 3 + 4);
    EXPECT_LT(extra(f, "l1-filter.macs_after"), extra(f, "l1-filter.macs_before"));
    nn_model_free(s.before);
    nn_model_free(s.masked);
    mf_close(&f);
}

TEST(L1Filter, PerLayerRatiosAndResidualGroups)
{
    const method *m = method_find("l1-filter");
    {   // one ratio per pruned conv, in model order
        mf_fixture f;
        char err[512] = "";
        const char *kv[] = { "ratio", "0.5, 0.25", nullptr };
        ASSERT_EQ(0, mf_open(&f, "lenet", m, kv, 4, err, sizeof err)) << err;
        Snaps s;
        s.before = nn_model_clone(f.run.model);
        ASSERT_EQ(0, mf_setup(&f, err, sizeof err)) << err;
        EXPECT_EQ(zero_filters(&f.run.model->nodes[node_of(f.run.model, "conv1")]), smallest_l1(s.before, { "conv1" }, 3));
        EXPECT_EQ(zero_filters(&f.run.model->nodes[node_of(f.run.model, "conv2")]), smallest_l1(s.before, { "conv2" }, 2));
        nn_model_free(s.before);
        mf_close(&f);
    }
    {   // convs summed by the residual addition lose the same filters, ranked by their summed L1 norm
        mf_fixture f;
        char err[512] = "";
        const char *kv[] = { "ratio", "0.5", nullptr };
        ASSERT_EQ(0, mf_open(&f, "resblock", m, kv, 5, err, sizeof err)) << err;
        Snaps s;
        s.before = nn_model_clone(f.run.model);
        ASSERT_EQ(0, mf_setup(&f, err, sizeof err)) << err;
        std::set<int> tied = smallest_l1(s.before, { "conv0", "b.conv2" }, 2);
        EXPECT_EQ(zero_filters(&f.run.model->nodes[node_of(f.run.model, "conv0")]), tied);
        EXPECT_EQ(zero_filters(&f.run.model->nodes[node_of(f.run.model, "b.conv2")]), tied);
        EXPECT_EQ(zero_filters(&f.run.model->nodes[node_of(f.run.model, "b.conv1")]), smallest_l1(s.before, { "b.conv1" }, 2));
        nn_model_free(s.before);
        mf_close(&f);
    }
}

TEST(L1Filter, RefusesARatioListOfTheWrongLength)
{
    const method *m = method_find("l1-filter");
    mf_fixture f;
    char err[512] = "";
    const char *kv[] = { "ratio", "0.5, 0.5, 0.5", nullptr };
    ASSERT_EQ(0, mf_open(&f, "lenet", m, kv, 4, err, sizeof err)) << err;
    EXPECT_NE(0, mf_setup(&f, err, sizeof err));
    EXPECT_NE(std::string(err).find("ratio: 3 values"), std::string::npos) << err;
    mf_close(&f);
    const opt_spec *ratio = opt_find(m->options, m->n_options, "ratio");
    ASSERT_NE(ratio, nullptr);
    std::vector<char> cfg(m->config_size);
    EXPECT_NE(0, opt_parse(ratio, cfg.data(), "0.5, 1.0", err, sizeof err));
    EXPECT_NE(std::string(err).find("ratio"), std::string::npos) << err;
}
