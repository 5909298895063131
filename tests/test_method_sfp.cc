// Soft Filter Pruning: which convs and which together, the weakest filters zeroed at the
// configured epochs yet still trained, and the removal: a smaller dense network that computes
// what the soft-pruned one did (ResNet-20 and LeNet-5 included), with its FLOP reduction.
#include <gtest/gtest.h>
#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <string>
#include <vector>
extern "C" {
#include "methods/method.h"
#include "methods/surgery.h"
}
#include "support/method_fixture.h"
#include "support/method_checks.h"

namespace {

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

std::set<int> zero_filters(const nn_node *n)
{
    std::set<int> z;
    auto norms = filter_norms(n);
    for (int c = 0; c < n->out_c; c++) if (norms[c] == 0.0) z.insert(c);
    return z;
}

std::vector<std::string> group_names(const nn_model *m, const char *conv)
{
    mt_channel_group g;
    char why[256] = "";
    EXPECT_EQ(mt_surgery_group(m, node_of(m, conv), &g, why, sizeof why), 0) << why;
    std::vector<std::string> v;
    for (int j = 0; j < g.n; j++) v.push_back(m->nodes[g.conv[j]].name);
    return v;
}

// Every conv's group, once: the groups the SFP "auto" setting prunes.
std::vector<mt_channel_group> all_groups(const nn_model *m)
{
    std::vector<mt_channel_group> out;
    std::set<int> seen;
    for (int i = 0; i < m->n_nodes; i++) {
        if (m->nodes[i].kind != NN_CONV || seen.count(i)) continue;
        mt_channel_group g;
        char why[256];
        if (mt_surgery_group(m, i, &g, why, sizeof why) != 0) continue;
        for (int j = 0; j < g.n; j++) seen.insert(g.conv[j]);
        out.push_back(g);
    }
    return out;
}

void expect_same_logits(const std::vector<float> &a, const std::vector<float> &b, float tol)
{
    ASSERT_EQ(a.size(), b.size());
    for (size_t j = 0; j < a.size(); j++) EXPECT_NEAR(a[j], b[j], tol * (1 + std::fabs(a[j]))) << j;
}

struct Snap { nn_model *soft = nullptr; };

void snap_soft(mf_fixture *f, const char *ev, void *user)
{
    if (std::string(ev) != "round_end") return;
    static_cast<Snap *>(user)->soft = nn_model_clone(f->run.model);
}

// One zeroing step and the removal, by the method's hooks on a model as built (no training):
// the soft-pruned model is returned, the smaller one is f->run.model.
nn_model *prune_once(mf_fixture *f)
{
    char err[512] = "";
    EXPECT_EQ(0, mf_setup(f, err, sizeof err)) << err;
    f->run.epoch = 0; f->run.round_epochs = 1;
    f->m->epoch_end(&f->run, f->state);
    nn_model *soft = nn_model_clone(f->run.model);
    EXPECT_EQ(0, mf_finish(f, err, sizeof err)) << err;
    return soft;
}

// --- which convs --------------------------------------------------------------------------

TEST(Sfp, ConvsFeedingTheSameAdditionsFormOneGroup)
{
    char err[256], why[256];
    nn_model *m = mf_build("resblock", 1, err, sizeof err);
    ASSERT_NE(m, nullptr) << err;
    EXPECT_EQ(group_names(m, "b.conv1"), (std::vector<std::string>{ "b.conv1" }));
    EXPECT_EQ(group_names(m, "conv0"), (std::vector<std::string>{ "conv0", "b.conv2" }));
    EXPECT_EQ(group_names(m, "b.conv2"), group_names(m, "conv0"));
    mt_channel_group g;
    EXPECT_LT(mt_surgery_group(m, node_of(m, "fc"), &g, why, sizeof why), 0);
    nn_model_free(m);

    m = mf_build("resnet20", 1, err, sizeof err);
    ASSERT_NE(m, nullptr) << err;
    EXPECT_EQ(group_names(m, "s1b2.conv2"),
              (std::vector<std::string>{ "conv1", "s1b1.conv2", "s1b2.conv2", "s1b3.conv2" }));
    EXPECT_EQ(group_names(m, "s2b1.short.conv"),
              (std::vector<std::string>{ "s2b1.conv2", "s2b1.short.conv", "s2b2.conv2", "s2b3.conv2" }));
    EXPECT_EQ(group_names(m, "s3b3.conv2"),
              (std::vector<std::string>{ "s3b1.conv2", "s3b1.short.conv", "s3b2.conv2", "s3b3.conv2" }));
    EXPECT_EQ(group_names(m, "s2b2.conv1"), (std::vector<std::string>{ "s2b2.conv1" }));
    auto groups = all_groups(m);
    size_t convs = 0;
    for (const auto &gr : groups) convs += gr.n;
    EXPECT_EQ(groups.size(), 12u);      // 9 first convs alone + one add chain per stage
    EXPECT_EQ(convs, 21u);              // every conv: 19 + 2 projection shortcuts
    nn_model_free(m);
}

nn_model *build(void (*f)(nn_builder *), nn_dims in, int classes)
{
    nn_builder *b = nn_builder_new("t", in, classes);
    f(b);
    char err[NN_ERR_MAX] = "";
    nn_model *m = nn_builder_finish(b, err, sizeof err);
    EXPECT_NE(m, nullptr) << err;
    return m;
}

TEST(Sfp, ConvsThatCannotLoseChannelsSayWhy)
{
    char why[256] = "";
    mt_channel_group g;
    // the output of an all-conv net; a conv added to the model input
    nn_model *m = build([](nn_builder *b) { nn_add_gap(b, "gap", nn_add_conv(b, "c", -1, 4, 3, 1, 1, 0)); },
                        { 2, 6, 6 }, 4);
    EXPECT_LT(mt_surgery_group(m, 0, &g, why, sizeof why), 0);
    EXPECT_NE(std::string(why).find("network output"), std::string::npos) << why;
    nn_model_free(m);
    m = build([](nn_builder *b) {
        int x = nn_add_add(b, "sum", nn_add_conv(b, "c", -1, 2, 3, 1, 1, 0), -1);
        nn_add_linear(b, "fc", nn_add_flatten(b, "f", x), 4, 1);
    }, { 2, 6, 6 }, 4);
    EXPECT_LT(mt_surgery_group(m, 0, &g, why, sizeof why), 0);
    EXPECT_NE(std::string(why).find("model input"), std::string::npos) << why;
    nn_model_free(m);
    // a consumer with a weight transform; a conv with the adder kernel
    nn_wtransform wt = { "probe", nullptr, nullptr };
    m = build([](nn_builder *b) {
        int x = nn_add_conv(b, "c", -1, 2, 3, 1, 1, 0);
        nn_add_linear(b, "fc", nn_add_flatten(b, "f", x), 4, 1);
    }, { 2, 6, 6 }, 4);
    EXPECT_EQ(mt_surgery_group(m, 0, &g, why, sizeof why), 0) << why;
    m->nodes[node_of(m, "fc")].wt = &wt;
    EXPECT_LT(mt_surgery_group(m, 0, &g, why, sizeof why), 0);
    EXPECT_NE(std::string(why).find("fc"), std::string::npos) << why;
    m->nodes[node_of(m, "fc")].wt = nullptr;
    m->nodes[0].kernel = NN_KERNEL_ADDER;
    EXPECT_LT(mt_surgery_group(m, 0, &g, why, sizeof why), 0);
    EXPECT_NE(std::string(why).find("adder"), std::string::npos) << why;
    nn_model_free(m);
}

// --- the defining property ----------------------------------------------------------------

// Before each zeroing: every group's filter scores (L2 norm summed over the members). After
// it: exactly the n lowest are zero in every member, the rest untouched; and the filters
// zeroed at one epoch's end are nonzero again by the next one's (trained, not masked).
struct Watch {
    int n_prune_of(int channels) const { return (int)std::floor(channels * rate + 1e-9); }
    double rate = 0.5;
    std::vector<mt_channel_group> groups;
    std::map<int, std::vector<float>> before;       // conv -> weights before epoch_end
    std::map<int, std::set<int>> zeroed;            // conv -> filters zeroed at the last step
    int steps = 0, regrown = 0, checked = 0;
};

void watch(mf_fixture *f, const char *ev, void *user)
{
    Watch *w = static_cast<Watch *>(user);
    nn_model *m = f->run.model;
    std::string e(ev);
    if (e == "setup") w->groups = all_groups(m);
    if (e == "epoch_trained") {
        for (const auto &g : w->groups)
            for (int j = 0; j < g.n; j++) {
                const nn_node *n = &m->nodes[g.conv[j]];
                EXPECT_EQ(n->mask, nullptr) << n->name << ": soft pruning installs no mask";
                for (int c : w->zeroed[g.conv[j]]) { w->checked++; w->regrown += filter_norms(n)[c] > 0; }
                w->before[g.conv[j]] = std::vector<float>(n->w, n->w + n->nw);
            }
    }
    if (e != "epoch_end") return;
    w->steps++;
    for (const auto &g : w->groups) {
        std::vector<double> score(g.channels, 0.0);
        for (int j = 0; j < g.n; j++) {
            nn_node probe = m->nodes[g.conv[j]];
            probe.w = w->before[g.conv[j]].data();
            auto norms = filter_norms(&probe);
            for (int c = 0; c < g.channels; c++) score[c] += norms[c];
        }
        std::vector<int> order(g.channels);
        for (int c = 0; c < g.channels; c++) order[c] = c;
        std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return score[a] < score[b]; });
        int n = w->n_prune_of(g.channels);
        std::set<int> lowest(order.begin(), order.begin() + n);
        for (int j = 0; j < g.n; j++) {
            const nn_node *node = &m->nodes[g.conv[j]];
            EXPECT_EQ(zero_filters(node), lowest) << node->name << " after epoch " << f->run.epoch;
            size_t per = node->nw / node->out_c;
            for (int c = 0; c < node->out_c; c++)
                if (!lowest.count(c))
                    for (size_t q = 0; q < per; q++) ASSERT_EQ(node->w[c * per + q], w->before[g.conv[j]][c * per + q]);
            w->zeroed[g.conv[j]] = lowest;
        }
    }
}

TEST(Sfp, AfterEachEpochTheLowestNormFiltersAreZeroYetKeepTraining)
{
    for (const char *kind : { "lenet", "resblock" }) {
        const method *m = method_find("sfp");
        mf_fixture f;
        char err[512] = "";
        const char *kv[] = { "rate", "0.5", nullptr };
        ASSERT_EQ(0, mf_open(&f, kind, m, kv, 3, err, sizeof err)) << err;
        Watch w;
        f.observe = watch; f.user = &w;
        f.epochs = 3;
        ASSERT_EQ(0, mf_setup(&f, err, sizeof err)) << err;
        mf_train(&f);
        EXPECT_EQ(w.steps, 3) << kind;
        EXPECT_GT(w.checked, 0) << kind;
        EXPECT_EQ(w.regrown, w.checked) << kind << ": zeroed filters are trained on";
        mf_close(&f);
    }
}

TEST(Sfp, ZeroingFollowsEpochPrune)
{
    const method *m = method_find("sfp");
    mf_fixture f;
    char err[512] = "";
    const char *kv[] = { "rate", "0.5", "epoch_prune", "2", nullptr };
    ASSERT_EQ(0, mf_open(&f, "resblock", m, kv, 3, err, sizeof err)) << err;
    std::vector<int> zeros;
    f.observe = [](mf_fixture *fx, const char *ev, void *user) {
        if (std::string(ev) == "epoch_end")
            static_cast<std::vector<int> *>(user)->push_back(
                (int)zero_filters(&fx->run.model->nodes[node_of(fx->run.model, "b.conv1")]).size());
    };
    f.user = &zeros;
    f.epochs = 5;
    ASSERT_EQ(0, mf_setup(&f, err, sizeof err)) << err;
    mf_train(&f);
    // zeroing after epochs 2 and 4 (epoch_prune) and 5 (the last); the others show regrowth
    EXPECT_EQ(zeros, (std::vector<int>{ 0, 2, 0, 2, 2 }));
    mf_close(&f);
}

TEST(Sfp, ResNet20GroupsLoseTheSameFilters)
{
    const method *m = method_find("sfp");
    mf_fixture f;
    char err[512] = "";
    ASSERT_EQ(0, mf_open(&f, "resnet20", m, nullptr, 4, err, sizeof err)) << err;
    ASSERT_EQ(0, mf_setup(&f, err, sizeof err)) << err;
    f.run.epoch = 0; f.run.round_epochs = 1;
    m->epoch_end(&f.run, f.state);
    const nn_model *md = f.run.model;
    for (const auto &g : all_groups(md)) {
        std::set<int> first = zero_filters(&md->nodes[g.conv[0]]);
        EXPECT_EQ((int)first.size(), (int)std::floor(g.channels * 0.3 + 1e-9)) << md->nodes[g.conv[0]].name;
        for (int j = 1; j < g.n; j++)
            EXPECT_EQ(zero_filters(&md->nodes[g.conv[j]]), first) << md->nodes[g.conv[j]].name;
    }
    mf_close(&f);
}

// A silent channel must read the same in evaluation as in training (beta after its batch norm):
// its batch norm's running mean becomes what the zero filter outputs, the others keep theirs.
// (Without the recalibration, which would measure every mean again.)
TEST(Sfp, ZeroedChannelsBatchNormMeanIsTheZeroFiltersOutput)
{
    const method *m = method_find("sfp");
    mf_fixture f;
    char err[512] = "";
    const char *const kv[] = {"bn_batches", "0", nullptr};
    ASSERT_EQ(0, mf_open(&f, "resnet20", m, kv, 4, err, sizeof err)) << err;
    mf_randomize_bn(f.run.model, 4, MF_BN_POSITIVE_SCALES);
    ASSERT_EQ(0, mf_setup(&f, err, sizeof err)) << err;
    const nn_model *md = f.run.model;
    std::vector<float> before(md->state, md->state + md->n_state);
    f.run.epoch = 0; f.run.round_epochs = 1;
    m->epoch_end(&f.run, f.state);
    int checked = 0;
    for (const auto &g : all_groups(md))
        for (int j = 0; j < g.n; j++) {
            const nn_node *conv = &md->nodes[g.conv[j]];
            const nn_node *bn = &md->nodes[mt_only_consumer(md, g.conv[j])];
            ASSERT_EQ(bn->kind, NN_BATCHNORM) << conv->name;
            std::set<int> zero = zero_filters(conv);
            for (int c = 0; c < g.channels; c++) {
                float was = before[(size_t)(bn->run_mean - md->state) + (size_t)c];
                if (zero.count(c)) { EXPECT_EQ(bn->run_mean[c], 0.0f) << bn->name << " " << c; checked++; }
                else EXPECT_EQ(bn->run_mean[c], was) << bn->name << " " << c;
            }
        }
    EXPECT_GT(checked, 100);
    mf_close(&f);
}

// After a zeroing every batch norm's running statistics are the mean, over the first bn_batches
// training batches, of the batch statistics of the zeroed network (each batch measured alone
// here, on a copy), whatever they were before.
TEST(Sfp, ZeroingMeasuresBatchNormStatisticsAgain)
{
    const method *m = method_find("sfp");
    mf_fixture f;
    char err[512] = "";
    const char *const kv[] = {"bn_batches", "3", nullptr};
    ASSERT_EQ(0, mf_open(&f, "resnet20", m, kv, 5, err, sizeof err)) << err;
    mf_randomize_bn(f.run.model, 5, MF_BN_POSITIVE_SCALES);
    ASSERT_EQ(0, mf_setup(&f, err, sizeof err)) << err;
    f.run.epoch = 0; f.run.round_epochs = 1;
    m->epoch_end(&f.run, f.state);
    const nn_model *md = f.run.model;
    std::vector<double> want(md->n_state, 0.0);
    std::vector<float> x((size_t)f.batch * nn_dims_size(md->in_dims));
    for (long k = 0; k < 3; k++) {
        nn_model *c = nn_model_clone(md);
        nn_model_reserve(c, f.batch);
        c->bn_momentum = 1.0;   // running statistics = this batch's
        int nb = f.run.train_batch(&f.run, k, x.data());
        ASSERT_EQ(nb, f.batch);
        nn_forward(c, x.data(), nb, 1);
        for (size_t i = 0; i < c->n_state; i++) want[i] += c->state[i] / 3.0;
        nn_model_free(c);
    }
    int zero_means = 0;
    for (size_t i = 0; i < md->n_state; i++) {
        ASSERT_NEAR(md->state[i], want[i], 1e-4 * (1.0 + std::fabs(want[i]))) << "state " << i;
        zero_means += md->state[i] == 0.0f;
    }
    EXPECT_GT(zero_means, 100);   // zeroed filters: mean and variance exactly 0
    mf_close(&f);
}

// --- removal --------------------------------------------------------------------------------

TEST(Sfp, SmallerResNet20ComputesTheSoftPrunedLogits)
{
    const method *m = method_find("sfp");
    mf_fixture f;
    char err[512] = "";
    ASSERT_EQ(0, mf_open(&f, "resnet20", m, nullptr, 5, err, sizeof err)) << err;
    mf_randomize_bn(f.run.model, 5, MF_BN_POSITIVE_SCALES);
    nn_model *soft = prune_once(&f);
    nn_model *small = f.run.model;
    EXPECT_EQ(small->nodes[node_of(small, "conv1")].out_c, 12);
    EXPECT_EQ(small->nodes[node_of(small, "s2b2.conv1")].out_c, 23);
    EXPECT_EQ(small->nodes[node_of(small, "s3b3.conv2")].out_c, 45);
    EXPECT_EQ(small->nodes[node_of(small, "fc")].in_dims.c, 45);
    // the removed channels' constants reach padded convs: border-exact folds were needed
    EXPECT_GT(extra(f, "sfp.edgebias_nodes"), 0);
    int fold = node_of(small, "s1b2.conv1.fold");
    ASSERT_GE(fold, 0);
    const nn_node *eb = &small->nodes[fold];
    EXPECT_EQ(eb->pad, 1);
    EXPECT_NE(eb->b[0], eb->b[4]) << "corner and interior differ";
    std::vector<float> x = random_inputs(soft, 4, 11);
    expect_same_logits(logits(soft, x, 4), logits(small, x, 4), 2e-5f);
    nn_model_free(soft);
    mf_close(&f);
}

TEST(Sfp, SmallerLeNet5ComputesTheSoftPrunedLogits)
{
    const method *m = method_find("sfp");
    mf_fixture f;
    char err[512] = "";
    ASSERT_EQ(0, mf_open(&f, "lenet5", m, nullptr, 6, err, sizeof err)) << err;
    nn_rng r;
    nn_rng_seed(&r, 6, 4);
    for (int i = 0; i < f.run.model->n_nodes; i++) {      // biases that make removed channels matter
        nn_node *n = &f.run.model->nodes[i];
        for (size_t j = 0; j < n->nb; j++) n->b[j] = 0.5f * nn_rng_normal(&r);
    }
    nn_model *soft = prune_once(&f);
    nn_model *small = f.run.model;
    EXPECT_EQ(small->nodes[node_of(small, "conv1")].out_c, 14);
    EXPECT_EQ(small->nodes[node_of(small, "conv2")].out_c, 35);
    EXPECT_EQ(small->nodes[node_of(small, "fc1")].in_dims.c, 35 * 4 * 4);
    EXPECT_EQ(extra(f, "sfp.edgebias_nodes"), 0);   // no padding: biases take the constants
    std::vector<float> x = random_inputs(soft, 4, 12);
    expect_same_logits(logits(soft, x, 4), logits(small, x, 4), 2e-5f);
    nn_model_free(soft);
    mf_close(&f);
}

TEST(Sfp, RemovalAfterTrainingKeepsTheOutputs)
{
    for (const char *kind : { "lenet", "resblock" }) {
        const method *m = method_find("sfp");
        mf_fixture f;
        char err[512] = "";
        const char *kv[] = { "rate", "0.5", nullptr };
        ASSERT_EQ(0, mf_open(&f, kind, m, kv, 5, err, sizeof err)) << err;
        Snap s;
        f.observe = snap_soft; f.user = &s;
        ASSERT_EQ(0, mf_run(&f, err, sizeof err)) << err;
        ASSERT_NE(s.soft, nullptr);
        nn_model *small = f.run.model;
        EXPECT_LT(small->n_params, s.soft->n_params) << kind;
        std::vector<float> x = random_inputs(small, 8, 13);
        expect_same_logits(logits(s.soft, x, 8), logits(small, x, 8), 1e-5f);
        EXPECT_EQ(f.fp.bytes_fp32, 4.0 * s.soft->n_params);   // compression against the original
        EXPECT_EQ(f.fp.bytes, 4.0 * small->n_params);
        // per layer: dense MACs are the original network's, needed MACs the smaller one's
        double dense = 0, needed = 0;
        for (int k = 0; k < f.fp.n_layers; k++) { dense += f.fp.layers[k].macs_dense; needed += f.fp.layers[k].macs_needed; }
        EXPECT_DOUBLE_EQ(extra(f, "sfp.macs_before"), dense);
        EXPECT_DOUBLE_EQ(extra(f, "sfp.macs_after"), needed);
        EXPECT_LT(needed, 0.6 * dense) << kind;
        nn_model_free(s.soft);
        mf_close(&f);
    }
}

// ResNet-20 at rate 0.3: every tensor of c channels keeps c - floor(0.3 c) (16 -> 12, 32 -> 23,
// 64 -> 45) but the input image; the MACs of each conv and of fc follow from that.
TEST(Sfp, ResNet20FlopReductionIsTheSmallerNetworks)
{
    const method *m = method_find("sfp");
    mf_fixture f;
    char err[512] = "";
    ASSERT_EQ(0, mf_open(&f, "resnet20", m, nullptr, 7, err, sizeof err)) << err;
    nn_model *orig = prune_once(&f);
    auto kept = [](int c) { return c - (int)std::floor(c * 0.3 + 1e-9); };
    double dense = 0, expect = 0;
    for (int i = 0; i < orig->n_nodes; i++) {
        const nn_node *n = &orig->nodes[i];
        if (!nn_is_weighted(n)) continue;
        double macs = nn_node_macs(n);
        int in = n->kind == NN_CONV ? n->in_dims.c : (int)nn_dims_size(n->in_dims);
        int in_kept = n->in[0] < 0 ? in : kept(in), out_kept = n->kind == NN_CONV ? kept(n->out_c) : n->out_c;
        dense += macs;
        expect += macs * in_kept / in * out_kept / n->out_c;
    }
    double pct = 100.0 * (1.0 - expect / dense);
    EXPECT_DOUBLE_EQ(extra(f, "sfp.macs_before"), dense);
    EXPECT_NEAR(extra(f, "sfp.macs_after"), expect, 1e-6 * expect);
    EXPECT_NEAR(extra(f, "sfp.flops_reduction_pct"), pct, 1e-9);
    printf("resnet20 at rate 0.3: MACs %.0f -> %.0f (-%.2f%%), params %.0f -> %.0f (-%.2f%%)\n", dense, expect, pct,
           extra(f, "sfp.params_before"), extra(f, "sfp.params_after"),
           100.0 * (1.0 - extra(f, "sfp.params_after") / extra(f, "sfp.params_before")));
    nn_model_free(orig);
    mf_close(&f);
}

TEST(Sfp, ShrinkFoldsConstantsIntoAPaddedConsumerExactly)
{
    // b.conv1's removed channels carry relu(BN shift) into b.conv2 (3x3, zero padding)
    char err[256] = "";
    nn_model *m = mf_build("resblock", 2, err, sizeof err);
    ASSERT_NE(m, nullptr) << err;
    mf_randomize_bn(m, 2, MF_BN_POSITIVE_SCALES);
    int bn1 = node_of(m, "b.bn1");
    for (int c = 0; c < 4; c++) m->nodes[bn1].b[c] = 0.4f + 0.1f * c;      // all constants positive
    int c1 = node_of(m, "b.conv1");
    nn_node *n = &m->nodes[c1];
    size_t per = n->nw / n->out_c;
    for (size_t j = 0; j < per; j++) n->w[1 * per + j] = n->w[3 * per + j] = 0.0f;
    static const int keep[] = { 0, 2 };
    mt_channel_plan plan{};
    plan.keep[c1] = keep; plan.n_keep[c1] = 2;
    mt_shrink_info info;
    nn_model *small = mt_surgery_shrink(m, &plan, &info, err, sizeof err);
    ASSERT_NE(small, nullptr) << err;
    EXPECT_EQ(info.edge_nodes, 1);
    EXPECT_EQ(small->nodes[c1].out_c, 2);
    EXPECT_EQ(small->nodes[node_of(small, "b.conv2")].in_dims.c, 2);
    EXPECT_GE(node_of(small, "b.conv2.fold"), 0);
    std::vector<float> x = random_inputs(m, 8, 1);
    expect_same_logits(logits(m, x, 8), logits(small, x, 8), 1e-5f);
    // a filter that is not zero, and an addition whose operands would differ, are refused
    n->w[1 * per] = 0.1f;
    EXPECT_EQ(mt_surgery_shrink(m, &plan, nullptr, err, sizeof err), nullptr);
    EXPECT_NE(std::string(err).find("filter 1"), std::string::npos) << err;
    n->w[1 * per] = 0.0f;
    int c2 = node_of(m, "b.conv2");
    per = m->nodes[c2].nw / m->nodes[c2].out_c;
    for (size_t j = 0; j < per; j++) m->nodes[c2].w[1 * per + j] = m->nodes[c2].w[3 * per + j] = 0.0f;
    plan.keep[c2] = keep; plan.n_keep[c2] = 2;
    EXPECT_EQ(mt_surgery_shrink(m, &plan, nullptr, err, sizeof err), nullptr);
    EXPECT_NE(std::string(err).find("b.add"), std::string::npos) << err;
    nn_model_free(small); nn_model_free(m);
}

TEST(Sfp, FullRunOnAResidualBlock)
{
    const method *m = method_find("sfp");
    mf_fixture f;
    char err[512] = "";
    ASSERT_EQ(0, mf_open(&f, "resblock", m, nullptr, 8, err, sizeof err)) << err;
    ASSERT_EQ(0, mf_run(&f, err, sizeof err)) << err;
    const nn_model *s = f.run.model;
    EXPECT_EQ(s->nodes[node_of(s, "b.conv1")].out_c, 3);   // 4 x 0.3 -> 1 removed
    EXPECT_EQ(s->nodes[node_of(s, "b.conv2")].out_c, 3);
    EXPECT_EQ(s->nodes[node_of(s, "conv0")].out_c, 3);
    EXPECT_EQ(s->nodes[node_of(s, "fc")].in_dims.c, 3);
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
    // unknown, not a conv, and one member of a residual group without the others
    for (auto [layers, says] : { std::make_pair("nope", "nope"), std::make_pair("fc", "not a conv"),
                                 std::make_pair("b.conv2", "list conv0 too") }) {
        mf_fixture f;
        char err[512] = "";
        const char *kv[] = { "layers", layers, nullptr };
        ASSERT_EQ(0, mf_open(&f, "resblock", m, kv, 1, err, sizeof err)) << err;
        EXPECT_NE(0, mf_setup(&f, err, sizeof err));
        EXPECT_NE(std::string(err).find(says), std::string::npos) << err;
        mf_close(&f);
    }
    mf_fixture f;
    char err[512] = "";
    const char *kv[] = { "layers", "b.conv2, conv0", nullptr };
    ASSERT_EQ(0, mf_open(&f, "resblock", m, kv, 1, err, sizeof err)) << err;
    EXPECT_EQ(0, mf_setup(&f, err, sizeof err)) << err;
    mf_close(&f);
}

}  // namespace
