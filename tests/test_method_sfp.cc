// Soft Filter Pruning: layer choice, the weakest filters zeroed at the configured epochs, and
// the removal: a smaller dense network that computes what the soft-pruned one did.
#include <gtest/gtest.h>
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>
extern "C" {
#include "methods/method.h"
#include "methods/surgery.h"
}
#include "support/method_fixture.h"

namespace {

int node_of(const nn_model *m, const char *name)
{
    for (int i = 0; i < m->n_nodes; i++) if (std::string(m->nodes[i].name) == name) return i;
    return -1;
}

std::vector<double> filter_norms(const nn_node *n)
{
    size_t per = n->nw / n->out_c;
    std::vector<double> v(n->out_c);
    for (int c = 0; c < n->out_c; c++) {
        double s = 0;
        for (size_t j = 0; j < per; j++) s += (double)n->w[c * per + j] * n->w[c * per + j];
        v[c] = std::sqrt(s);
    }
    return v;
}

std::vector<float> outputs(mf_fixture *f, nn_model *m)
{
    nn_model_reserve(m, f->batch);
    size_t per = nn_dims_size(m->in_dims);
    const float *y = nn_forward(m, f->xte, f->batch, 0);
    (void)per;
    return std::vector<float>(y, y + (size_t)f->batch * m->n_classes);
}

TEST(Sfp, AutoLayersAreTheRemovableConvs)
{
    char err[256], why[256];
    nn_model *m = mf_build("resblock", 1, err, sizeof err);
    ASSERT_NE(m, nullptr) << err;
    int end;
    EXPECT_GE(mt_surgery_consumer(m, node_of(m, "b.conv1"), &end, why, sizeof why), 0) << why;
    EXPECT_LT(mt_surgery_consumer(m, node_of(m, "b.conv2"), &end, why, sizeof why), 0);
    EXPECT_NE(std::string(why).find("add"), std::string::npos) << why;
    EXPECT_LT(mt_surgery_consumer(m, node_of(m, "conv0"), &end, why, sizeof why), 0);   // feeds the shortcut too
    nn_model_free(m);
}

TEST(Sfp, ZeroesTheWeakestFiltersAtTheConfiguredEpochs)
{
    const method *m = method_find("sfp");
    mf_fixture f;
    char err[512] = "";
    const char *kv[] = { "rate", "0.5", "epoch_prune", "2", nullptr };
    ASSERT_EQ(0, mf_open(&f, "lenet", m, kv, 3, err, sizeof err)) << err;
    mf_pretrain(&f, 1);
    ASSERT_EQ(0, mf_setup(&f, err, sizeof err)) << err;
    // one zeroing step by hand: exactly the lowest-norm half of each layer
    nn_model *md = f.run.model;
    std::vector<double> n1 = filter_norms(&md->nodes[node_of(md, "conv1")]);
    std::vector<double> n2 = filter_norms(&md->nodes[node_of(md, "conv2")]);
    f.run.epoch = 0; f.run.round_epochs = 1;
    m->epoch_end(&f.run, f.state);
    for (auto [name, before, zeroed] : { std::make_tuple("conv1", n1, 3), std::make_tuple("conv2", n2, 4) }) {
        auto after = filter_norms(&md->nodes[node_of(md, name)]);
        std::vector<double> sorted = before;
        std::sort(sorted.begin(), sorted.end());
        int z = 0;
        for (size_t c = 0; c < after.size(); c++) {
            if (after[c] == 0.0) { z++; EXPECT_LE(before[c], sorted[zeroed - 1]) << name << " " << c; }
            else EXPECT_EQ(after[c], before[c]);
        }
        EXPECT_EQ(z, zeroed) << name;
    }
    mf_close(&f);
}

struct ZeroCount { std::vector<int> per_epoch; };

void count_block_zeros(mf_fixture *f, const char *ev, void *user)
{
    if (std::string(ev) != "epoch_end") return;
    auto norms = filter_norms(&f->run.model->nodes[node_of(f->run.model, "b.conv1")]);
    static_cast<ZeroCount *>(user)->per_epoch.push_back((int)std::count(norms.begin(), norms.end(), 0.0));
}

TEST(Sfp, ZeroingFollowsEpochPruneAndFiltersRegrow)
{
    // b.conv1 feeds a batch norm, so a zeroed filter still gets gradient and grows back
    const method *m = method_find("sfp");
    mf_fixture f;
    char err[512] = "";
    const char *kv[] = { "rate", "0.5", "epoch_prune", "2", nullptr };
    ASSERT_EQ(0, mf_open(&f, "resblock", m, kv, 3, err, sizeof err)) << err;
    ZeroCount zc;
    f.observe = count_block_zeros; f.user = &zc;
    f.epochs = 5;
    ASSERT_EQ(0, mf_setup(&f, err, sizeof err)) << err;
    mf_train(&f);
    // zeroing after epochs 2 and 4 (epoch_prune) and 5 (the last); the others show regrowth
    EXPECT_EQ(zc.per_epoch, (std::vector<int>{ 0, 2, 0, 2, 2 }));
    mf_close(&f);
}

struct Snap { nn_model *soft = nullptr; };

void snap_soft(mf_fixture *f, const char *ev, void *user)
{
    if (std::string(ev) != "round_end") return;
    Snap *s = static_cast<Snap *>(user);
    s->soft = nn_model_clone(f->run.model);
}

TEST(Sfp, RemovalGivesASmallerNetworkWithTheSameOutputs)
{
    const method *m = method_find("sfp");
    mf_fixture f;
    char err[512] = "";
    const char *kv[] = { "rate", "0.5", nullptr };
    ASSERT_EQ(0, mf_open(&f, "lenet", m, kv, 5, err, sizeof err)) << err;
    Snap s;
    f.observe = snap_soft; f.user = &s;
    ASSERT_EQ(0, mf_run(&f, err, sizeof err)) << err;
    ASSERT_NE(s.soft, nullptr);
    nn_model *small = f.run.model;
    EXPECT_EQ(small->nodes[node_of(small, "conv1")].out_c, 3);
    EXPECT_EQ(small->nodes[node_of(small, "conv2")].out_c, 4);
    EXPECT_LT(small->n_params, s.soft->n_params);
    // no padding in this net: the removed channels' constants fold exactly into the consumers
    std::vector<float> a = outputs(&f, s.soft), b = outputs(&f, small);
    for (size_t j = 0; j < a.size(); j++) EXPECT_NEAR(a[j], b[j], 1e-4f * (1 + std::fabs(a[j]))) << j;
    double macs_before = 0, macs_after = 0;
    for (int i = 0; i < f.fp.n_extras; i++) {
        if (std::string(f.fp.extra_key[i]) == "sfp.macs_before") macs_before = f.fp.extra_val[i];
        if (std::string(f.fp.extra_key[i]) == "sfp.macs_after") macs_after = f.fp.extra_val[i];
    }
    EXPECT_GT(macs_before, 0);
    EXPECT_LT(macs_after, 0.6 * macs_before);
    EXPECT_EQ(f.fp.bytes_fp32, 4.0 * s.soft->n_params);   // compression against the original
    EXPECT_EQ(f.fp.bytes, 4.0 * small->n_params);
    // per layer: dense MACs are the original network's, needed MACs the smaller one's
    double dense = 0, needed = 0;
    for (int k = 0; k < f.fp.n_layers; k++) { dense += f.fp.layers[k].macs_dense; needed += f.fp.layers[k].macs_needed; }
    EXPECT_DOUBLE_EQ(macs_before, dense);
    EXPECT_DOUBLE_EQ(macs_after, needed);
    nn_model_free(s.soft);
    mf_close(&f);
}

TEST(Sfp, ResidualBlockRemovalMatchesTheSilencedModel)
{
    char err[256] = "";
    nn_model *m = mf_build("resblock", 2, err, sizeof err);
    ASSERT_NE(m, nullptr) << err;
    int c1 = node_of(m, "b.conv1");
    nn_node *n = &m->nodes[c1];
    // train-mode-like BN statistics so the removed channel's constant is not trivially zero
    int bn1 = node_of(m, "b.bn1");
    for (int c = 0; c < 4; c++) { m->nodes[bn1].run_mean[c] = -0.3f * (c + 1); m->nodes[bn1].b[c] = 0.2f; }
    size_t per = n->nw / n->out_c;
    for (size_t j = 0; j < per; j++) n->w[1 * per + j] = n->w[3 * per + j] = 0.0f;
    static const int keep[] = { 0, 2 };
    mt_channel_plan plan{};
    plan.keep[c1] = keep; plan.n_keep[c1] = 2;
    nn_model *silenced = nn_model_clone(m);
    EXPECT_EQ(mt_surgery_fold(silenced, &plan), 2);   // padded consumer: dropped, not folded
    nn_model *small = mt_surgery_shrink(silenced, &plan, err, sizeof err);
    ASSERT_NE(small, nullptr) << err;
    EXPECT_EQ(small->nodes[c1].out_c, 2);
    EXPECT_EQ(small->nodes[node_of(small, "b.conv2")].in_dims.c, 2);
    EXPECT_LT(small->n_params, m->n_params);
    nn_rng r;
    nn_rng_seed(&r, 1, 1);
    std::vector<float> x(8 * nn_dims_size(m->in_dims));
    for (auto &v : x) v = nn_rng_normal(&r);
    nn_model_reserve(silenced, 8);
    nn_model_reserve(small, 8);
    std::vector<float> a(nn_forward(silenced, x.data(), 8, 0), nn_forward(silenced, x.data(), 8, 0) + 8 * 4);
    const float *b = nn_forward(small, x.data(), 8, 0);
    for (size_t j = 0; j < a.size(); j++) EXPECT_NEAR(a[j], b[j], 1e-5f * (1 + std::fabs(a[j]))) << j;
    nn_model_free(small); nn_model_free(silenced); nn_model_free(m);
}

TEST(Sfp, FullRunOnAResidualBlock)
{
    const method *m = method_find("sfp");
    mf_fixture f;
    char err[512] = "";
    ASSERT_EQ(0, mf_open(&f, "resblock", m, nullptr, 8, err, sizeof err)) << err;
    ASSERT_EQ(0, mf_run(&f, err, sizeof err)) << err;
    EXPECT_EQ(f.run.model->nodes[node_of(f.run.model, "b.conv1")].out_c, 3);   // 4 x 0.3 -> 1 removed
    EXPECT_EQ(f.run.model->nodes[node_of(f.run.model, "b.conv2")].out_c, 4);
    mf_close(&f);
}

TEST(Sfp, RejectsBadRateAndLayers)
{
    const method *m = method_find("sfp");
    const opt_spec *sp = opt_find(m->options, m->n_options, "rate");
    std::vector<char> cfg(m->config_size);
    for (const char *bad : { "1", "-0.1", "1.2" }) {
        char err[256] = "";
        EXPECT_NE(0, opt_parse(sp, cfg.data(), bad, err, sizeof err)) << bad;
        EXPECT_NE(std::string(err).find("rate"), std::string::npos) << err;
    }
    for (const char *layers : { "nope", "b.conv2" }) {
        mf_fixture f;
        char err[512] = "";
        const char *kv[] = { "layers", layers, nullptr };
        ASSERT_EQ(0, mf_open(&f, "resblock", m, kv, 1, err, sizeof err)) << err;
        EXPECT_NE(0, mf_setup(&f, err, sizeof err));
        EXPECT_NE(std::string(err).find(layers), std::string::npos) << err;
        mf_close(&f);
    }
}

}  // namespace
