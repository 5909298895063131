// The engine core: builder and shape inference, parameter layout, architectures, the
// forward/backward driver with masks and transforms, clone, queries, initialisation.
#include <gtest/gtest.h>
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <set>
#include <string>
#include <vector>
extern "C" {
#include "nn/model.h"
#include "nn/loss.h"
}

namespace {

struct ModelPtr {
    nn_model *m;
    explicit ModelPtr(nn_model *p = nullptr) : m(p) {}
    ~ModelPtr() { nn_model_free(m); }
    ModelPtr(const ModelPtr &) = delete;
    ModelPtr &operator=(const ModelPtr &) = delete;
    nn_model *operator->() const { return m; }
    nn_model *get() const { return m; }
};

nn_model *create(const char *arch, nn_dims in, int classes, uint64_t seed = 1)
{
    char err[NN_ERR_MAX] = "";
    nn_model *m = nn_model_create(arch, in, classes, err, sizeof err);
    EXPECT_NE(m, nullptr) << err;
    if (!m) return nullptr;
    nn_model_set_threads(m, 1);    // the machine is shared: keep tests single-threaded
    nn_rng r;
    nn_rng_seed(&r, seed, 0);
    nn_model_init(m, NN_INIT_KAIMING_NORMAL, &r);
    return m;
}

std::vector<float> random_input(size_t n, uint64_t seed)
{
    nn_rng r;
    nn_rng_seed(&r, seed, 7);
    std::vector<float> x(n);
    for (auto &v : x) v = nn_rng_normal(&r);
    return x;
}

nn_node *find(nn_model *m, const char *name)
{
    for (int i = 0; i < m->n_nodes; i++)
        if (!strcmp(m->nodes[i].name, name)) return &m->nodes[i];
    return nullptr;
}

// Forward + loss + backward on one batch; returns the logits.
std::vector<float> train_pass(nn_model *m, const std::vector<float> &x, int batch)
{
    const float *out = nn_forward(m, x.data(), batch, 1);
    EXPECT_NE(out, nullptr);
    std::vector<float> logits(out, out + (size_t)batch * m->n_classes), d(logits.size());
    std::vector<uint8_t> y(batch);
    for (int i = 0; i < batch; i++) y[i] = (uint8_t)(i % m->n_classes);
    nn_softmax_xent(logits.data(), y.data(), batch, m->n_classes, d.data(), nullptr);
    nn_zero_grad(m);
    nn_backward(m, d.data(), batch);
    return logits;
}

}  // namespace

TEST(Builder, InfersShapesAndLaysOutParameters)
{
    nn_builder *b = nn_builder_new("tiny", nn_dims{1, 28, 28}, 10);
    int c = nn_add_conv(b, "conv1", -1, 6, 5, 1, 0, 1);
    int p = nn_add_maxpool(b, "pool1", c, 2, 2);
    int f = nn_add_flatten(b, "flatten", p);
    int l = nn_add_linear(b, "fc1", f, 10, 0);
    EXPECT_EQ(c, 0); EXPECT_EQ(p, 1); EXPECT_EQ(f, 2); EXPECT_EQ(l, 3);
    char err[NN_ERR_MAX] = "";
    ModelPtr m(nn_builder_finish(b, err, sizeof err));
    ASSERT_NE(m.get(), nullptr) << err;
    const nn_node *n = m->nodes;
    EXPECT_EQ(n[0].out_dims.c, 6); EXPECT_EQ(n[0].out_dims.h, 24); EXPECT_EQ(n[0].out_dims.w, 24);
    EXPECT_EQ(n[1].out_dims.h, 12);
    EXPECT_EQ(n[2].out_dims.c, 6 * 12 * 12); EXPECT_EQ(n[2].out_dims.h, 1);
    EXPECT_EQ(n[3].in_dims.c, 864);
    EXPECT_EQ(m->n_params, (size_t)(6 * 25 + 6 + 864 * 10));
    EXPECT_EQ(n[0].nw, 150u); EXPECT_EQ(n[0].nb, 6u);
    EXPECT_EQ(n[3].nb, 0u); EXPECT_EQ(n[3].b, nullptr);
    EXPECT_EQ(n[0].w, m->params); EXPECT_EQ(n[0].b, m->params + 150);
    EXPECT_EQ(n[3].w, m->params + 156); EXPECT_EQ(n[3].gw, m->grads + 156);
    EXPECT_EQ(n[3].w_off, 156u);
}

TEST(Builder, ShapeErrorNamesTheLayer)
{
    nn_builder *b = nn_builder_new("bad", nn_dims{1, 8, 8}, 10);
    int c1 = nn_add_conv(b, "conv1", -1, 4, 5, 1, 0, 1);   // 8 -> 4
    EXPECT_GE(c1, 0);
    EXPECT_EQ(nn_add_conv(b, "conv2", c1, 4, 5, 1, 0, 1), -1);   // 4x4 < kernel 5
    EXPECT_EQ(nn_add_flatten(b, "flatten", c1), -1);             // the first error sticks
    char err[NN_ERR_MAX] = "";
    EXPECT_EQ(nn_builder_finish(b, err, sizeof err), nullptr);
    EXPECT_EQ(std::string(err).rfind("conv2: ", 0), 0u) << err;
    EXPECT_EQ(std::string(err).find("conv2: conv2"), std::string::npos) << err;
}

static std::string build_error(void (*build)(nn_builder *), nn_dims in = nn_dims{1, 8, 8})
{
    nn_builder *b = nn_builder_new("t", in, 4);
    build(b);
    char err[NN_ERR_MAX] = "";
    nn_model *m = nn_builder_finish(b, err, sizeof err);
    nn_model_free(m);
    return m ? std::string() : std::string(err);
}

TEST(Builder, RejectsBadGraphs)
{
    std::string e = build_error([](nn_builder *b) { nn_add_relu(b, "r", 3); });
    EXPECT_NE(e.find("r: input 3"), std::string::npos) << e;
    e = build_error([](nn_builder *b) {
        int f = nn_add_flatten(b, "x", -1);
        nn_add_linear(b, "x", f, 4, 1);
    });
    EXPECT_NE(e.find("already used"), std::string::npos) << e;
    e = build_error([](nn_builder *b) {
        int c = nn_add_conv(b, "c", -1, 2, 3, 2, 1, 0);     // 2x4x4
        nn_add_add(b, "sum", c, -1);                         // vs 1x8x8
    });
    EXPECT_NE(e.find("sum: inputs differ"), std::string::npos) << e;
    e = build_error([](nn_builder *b) { nn_add_linear(b, "fc", nn_add_flatten(b, "f", -1), 5, 1); });
    EXPECT_NE(e.find("fc gives 5 values but there are 4 classes"), std::string::npos) << e;
    e = build_error([](nn_builder *b) { nn_add_conv(b, "c", -1, 0, 3, 1, 0, 1); });
    EXPECT_NE(e.find("c: conv with 0 channels"), std::string::npos) << e;
    e = build_error([](nn_builder *) {});
    EXPECT_NE(e.find("no layers"), std::string::npos) << e;
    e = build_error([](nn_builder *b) { nn_add_edgebias(b, "eb", -1, -1); });
    EXPECT_NE(e.find("eb: edge bias band -1"), std::string::npos) << e;
    e = build_error([](nn_builder *b) { nn_add_flatten(b, "a-name-that-is-far-too-long-to-keep", -1); });
    EXPECT_NE(e.find("longer than"), std::string::npos) << e;
}

TEST(Arch, UnknownNameListsTheKnownOnes)
{
    char err[NN_ERR_MAX] = "";
    EXPECT_EQ(nn_model_create("lenet7", nn_dims{1, 28, 28}, 10, err, sizeof err), nullptr);
    EXPECT_NE(std::string(err).find("unknown architecture 'lenet7'"), std::string::npos) << err;
    EXPECT_NE(std::string(err).find("resnet20"), std::string::npos) << err;
}

TEST(Arch, TooSmallInputNamesArchitectureAndLayer)
{
    char err[NN_ERR_MAX] = "";
    EXPECT_EQ(nn_model_create("lenet5", nn_dims{1, 12, 12}, 10, err, sizeof err), nullptr);
    std::string e(err);
    EXPECT_EQ(e.rfind("lenet5 on 1x12x12 input: conv2: ", 0), 0u) << e;
}

TEST(Arch, ParameterCountsMatchThePapers)
{
    ModelPtr a(create("lenet300", nn_dims{1, 28, 28}, 10));
    EXPECT_EQ(a->n_params, 266610u);
    EXPECT_EQ(nn_count_weights(a.get()), 784u * 300 + 300 * 100 + 100 * 10);
    ModelPtr b(create("lenet5", nn_dims{1, 28, 28}, 10));
    EXPECT_EQ(b->n_params, 431080u);
    // ResNet-20, projection shortcuts, no conv biases, BN gamma+beta.
    size_t conv = 16 * 3 * 9 + 6 * 16 * 16 * 9 + (32 * 16 * 9 + 5 * 32 * 32 * 9 + 32 * 16)
                + (64 * 32 * 9 + 5 * 64 * 64 * 9 + 64 * 32);
    size_t bn = 2 * (16 + 6 * 16 + 7 * 32 + 7 * 64);
    ModelPtr r(create("resnet20", nn_dims{3, 32, 32}, 10));
    EXPECT_EQ(r->n_params, conv + bn + 64 * 10 + 10);
    EXPECT_EQ(r->n_state, bn);
    ASSERT_NE(find(r.get(), "s2b1.short.conv"), nullptr);
    EXPECT_EQ(find(r.get(), "s2b1.conv1")->stride, 2);
    EXPECT_EQ(find(r.get(), "s2b1.conv1")->nb, 0u);
    EXPECT_EQ(find(r.get(), "s1b1.short.conv"), nullptr);   // identity where shapes agree
    EXPECT_EQ(find(r.get(), "gap")->out_dims.c, 64);
}

TEST(Arch, LayoutIsContiguousWithDecayOnWeightsOnly)
{
    for (int a = 0; a < nn_arch_count(); a++) {
        SCOPED_TRACE(nn_arch_name(a));
        ASSERT_NE(nn_arch_help(a), nullptr);
        char err[NN_ERR_MAX] = "";
        ModelPtr m(nn_model_create(nn_arch_name(a), nn_dims{3, 16, 16}, 10, err, sizeof err));
        ASSERT_NE(m.get(), nullptr) << err;
        size_t off = 0, decayed = 0;
        std::set<std::string> names;
        for (int i = 0; i < m->n_nodes; i++) {
            const nn_node *n = &m->nodes[i];
            EXPECT_TRUE(names.insert(n->name).second) << n->name;
            EXPECT_EQ(n->w_off, off);
            if (n->nw) { EXPECT_EQ(n->w, m->params + off); }
            off += n->nw;
            EXPECT_EQ(n->b_off, off);
            off += n->nb;
            for (size_t j = 0; j < n->nw; j++) decayed += m->decay[n->w_off + j];
            for (size_t j = 0; j < n->nb; j++) EXPECT_EQ(m->decay[n->b_off + j], 0);
        }
        EXPECT_EQ(off, m->n_params);
        EXPECT_EQ(decayed, nn_count_weights(m.get()));
        EXPECT_EQ(nn_dims_size(m->nodes[m->n_nodes - 1].out_dims), 10u);
    }
}

TEST(Arch, EveryArchitectureRunsOnGrayAndColourInputs)
{
    const nn_dims shapes[] = {{1, 28, 28}, {3, 16, 16}};
    for (int a = 0; a < nn_arch_count(); a++)
        for (nn_dims d : shapes) {
            SCOPED_TRACE(std::string(nn_arch_name(a)) + " c=" + std::to_string(d.c));
            ModelPtr m(create(nn_arch_name(a), d, 10));
            ASSERT_NE(m.get(), nullptr);
            auto x = random_input(nn_dims_size(d), 3);
            std::vector<float> logits = train_pass(m.get(), x, 1);
            for (float v : logits) EXPECT_TRUE(std::isfinite(v));
        }
}

TEST(Arch, XnorOrderPutsBatchNormBeforeBinarizedLayers)
{
    ModelPtr m(create("lenet5-xnor", nn_dims{1, 28, 28}, 10));
    std::vector<std::string> kinds;
    for (int i = 0; i < m->n_nodes; i++) kinds.push_back(nn_kind_name(m->nodes[i].kind));
    const std::vector<std::string> want = {"conv", "bn", "relu", "maxpool", "bn", "conv", "relu",
        "maxpool", "flatten", "bn", "linear", "relu", "linear"};
    EXPECT_EQ(kinds, want);
    EXPECT_EQ(m->nodes[9].in_dims.c, 800);   // BN over a flattened vector: 800 channels of 1x1
}

TEST(Model, InitFollowsTheScheme)
{
    ModelPtr m(create("lenet300", nn_dims{1, 28, 28}, 10, 5));
    const nn_node *fc1 = find(m.get(), "fc1");
    double s = 0, ss = 0;
    for (size_t j = 0; j < fc1->nw; j++) { s += fc1->w[j]; ss += (double)fc1->w[j] * fc1->w[j]; }
    double mean = s / fc1->nw, sd = std::sqrt(ss / fc1->nw - mean * mean);
    EXPECT_NEAR(sd, std::sqrt(2.0 / 784), 0.01 * std::sqrt(2.0 / 784));
    EXPECT_NEAR(mean, 0.0, 0.01 * sd);
    for (size_t j = 0; j < fc1->nb; j++) EXPECT_EQ(fc1->b[j], 0.0f);

    nn_rng r;
    nn_rng_seed(&r, 5, 0);
    nn_model_init(m.get(), NN_INIT_GLOROT_UNIFORM, &r);
    float bound = (float)std::sqrt(6.0 / (784 + 300)), mx = 0;
    for (size_t j = 0; j < fc1->nw; j++) mx = std::max(mx, std::fabs(fc1->w[j]));
    EXPECT_LE(mx, bound);
    EXPECT_GT(mx, 0.99f * bound);

    ModelPtr b(create("lenet5-bn", nn_dims{1, 28, 28}, 10));
    const nn_node *bn = find(b.get(), "bn1");
    for (size_t j = 0; j < bn->nw; j++) {
        EXPECT_EQ(bn->w[j], 1.0f); EXPECT_EQ(bn->b[j], 0.0f);
        EXPECT_EQ(bn->run_mean[j], 0.0f); EXPECT_EQ(bn->run_var[j], 1.0f);
    }
}

TEST(Model, ReserveGrowsWithTheBatch)
{
    ModelPtr m(create("lenet5", nn_dims{1, 28, 28}, 10));
    auto x = random_input(7 * 784, 1);
    ASSERT_NE(nn_forward(m.get(), x.data(), 3, 0), nullptr);
    EXPECT_EQ(m->batch_cap, 3);
    const float *out = nn_forward(m.get(), x.data(), 7, 0);
    ASSERT_NE(out, nullptr);
    EXPECT_EQ(m->batch_cap, 7);
    std::vector<float> seven(out, out + 70);
    out = nn_forward(m.get(), x.data(), 1, 0);   // no shrink; same first row
    EXPECT_EQ(m->batch_cap, 7);
    for (int c = 0; c < 10; c++) EXPECT_NEAR(out[c], seven[c], 1e-4f * (1 + std::fabs(seven[c])));
    // Evaluation batches need no gradient buffers; the first training batch sizes them.
    for (int i = 0; i < m->n_nodes; i++) EXPECT_EQ(m->nodes[i].dout, nullptr);
    train_pass(m.get(), x, 2);
    for (int i = 0; i < m->n_nodes; i++) EXPECT_NE(m->nodes[i].dout, nullptr);
    EXPECT_EQ(m->batch_cap, 7);
}

// A released model holds no per-batch buffer, and its next passes regrow them and compute the
// same numbers as before (the run releases its trained model before the packed-model check).
TEST(Model, ReleaseFreesBuffersAndPassesRegrowThem)
{
    ModelPtr m(create("resnet20", nn_dims{3, 16, 16}, 10));
    const int batch = 4;
    auto x = random_input((size_t)batch * 3 * 16 * 16, 3);
    train_pass(m.get(), x, batch);
    std::vector<float> g1(m->grads, m->grads + m->n_params);
    const float *out = nn_forward(m.get(), x.data(), batch, 0);
    ASSERT_NE(out, nullptr);
    std::vector<float> l1(out, out + batch * 10);
    nn_model_release(m.get());
    EXPECT_EQ(m->batch_cap, 0);
    EXPECT_EQ(m->ws, nullptr);
    for (int i = 0; i < m->n_nodes; i++) {
        EXPECT_EQ(m->nodes[i].out, nullptr) << m->nodes[i].name;
        EXPECT_EQ(m->nodes[i].dout, nullptr) << m->nodes[i].name;
    }
    out = nn_forward(m.get(), x.data(), batch, 0);
    ASSERT_NE(out, nullptr);
    EXPECT_EQ(std::vector<float>(out, out + batch * 10), l1);
    nn_model_release(m.get());
    train_pass(m.get(), x, batch);     // gradients use batch statistics: the same as the first time
    EXPECT_EQ(std::vector<float>(m->grads, m->grads + m->n_params), g1);
}

// An inference-only model shares output buffers by lifetime: the same logits, bit for bit, as
// the model that keeps every output, in less memory; a training pass on it is refused.
TEST(Model, InferenceOnlySharesOutputsAndGivesTheSameLogits)
{
    struct { const char *arch; nn_dims in; } cases[] = {
        {"lenet5", {1, 28, 28}}, {"lenet5-xnor", {1, 28, 28}}, {"resnet20", {3, 16, 16}},
        {"resnet20-xnor", {3, 16, 16}}, {"conv2", {3, 16, 16}}, {"lenet300", {1, 28, 28}}};
    for (auto &c : cases) {
        ModelPtr full(create(c.arch, c.in, 10));
        ModelPtr lean(nn_model_clone(full.get()));
        ASSERT_NE(lean.get(), nullptr);
        nn_model_set_threads(lean.get(), 1);
        nn_model_set_inference_only(lean.get());
        const size_t per = nn_dims_size(c.in);
        auto x = random_input(7 * per, 5);
        for (int batch : {3, 7, 1}) {
            const float *a = nn_forward(full.get(), x.data(), batch, 0);
            ASSERT_NE(a, nullptr) << c.arch;
            std::vector<float> la(a, a + batch * 10);
            const float *b = nn_forward(lean.get(), x.data(), batch, 0);
            ASSERT_NE(b, nullptr) << c.arch;
            EXPECT_EQ(std::vector<float>(b, b + batch * 10), la) << c.arch << " batch " << batch;
        }
        // distinct output buffers: the full model's count, the lean one's fewer (deep nets)
        std::set<const float *> fo, lo;
        for (int i = 0; i < full->n_nodes; i++) fo.insert(full->nodes[i].out), lo.insert(lean->nodes[i].out);
        EXPECT_LE(lo.size(), fo.size()) << c.arch;
        if (!strncmp(c.arch, "resnet20", 8)) EXPECT_LT(lo.size() * 3, fo.size()) << c.arch;
        EXPECT_EQ(nn_forward(lean.get(), x.data(), 2, 1), nullptr) << c.arch;
        // with plain layouts too (the packed runtime's models are inspectable)
        ModelPtr plain(nn_model_clone(full.get()));
        nn_model_set_threads(plain.get(), 1);
        nn_model_set_inspectable(plain.get(), 1);
        nn_model_set_inference_only(plain.get());
        const float *a = nn_forward(full.get(), x.data(), 5, 0);
        std::vector<float> la(a, a + 50);
        const float *b = nn_forward(plain.get(), x.data(), 5, 0);
        ASSERT_NE(b, nullptr) << c.arch;
        for (int i = 0; i < 50; i++) EXPECT_NEAR(b[i], la[i], 1e-4f * (1 + std::fabs(la[i]))) << c.arch << " " << i;
    }
}

TEST(Model, MaskZeroesEffectiveWeightsAndTheirGradients)
{
    ModelPtr m(create("lenet300", nn_dims{1, 28, 28}, 10));
    nn_node *fc2 = find(m.get(), "fc2");
    uint8_t *mask = nn_node_mask(m.get(), fc2);
    ASSERT_EQ(mask, fc2->mask);
    for (size_t j = 0; j < fc2->nw; j++) EXPECT_EQ(mask[j], 1);
    size_t dense = nn_count_nonzero(m.get()), pruned = 0;
    for (size_t j = 0; j < fc2->nw; j += 3) { mask[j] = 0; pruned++; }
    EXPECT_EQ(nn_count_nonzero(m.get()), dense - pruned);   // before any forward

    // Reference: the same model with the masked latent weights zeroed and no mask.
    ModelPtr ref(nn_model_clone(m.get()));
    nn_node *rfc2 = find(ref.get(), "fc2");
    ASSERT_NE(rfc2->mask, mask);
    for (size_t j = 0; j < rfc2->nw; j++) if (!mask[j]) rfc2->w[j] = 0;
    free(rfc2->mask);
    rfc2->mask = nullptr;

    auto x = random_input(4 * 784, 2);
    auto a = train_pass(m.get(), x, 4), b = train_pass(ref.get(), x, 4);
    EXPECT_EQ(a, b);
    for (size_t j = 0; j < fc2->nw; j++) {
        if (mask[j]) { EXPECT_EQ(fc2->w_eff[j], fc2->w[j]); continue; }
        EXPECT_EQ(fc2->w_eff[j], 0.0f);
        EXPECT_EQ(fc2->gw[j], 0.0f);
        EXPECT_NE(fc2->w[j], 0.0f);       // the latent weight survives until masks are applied
    }
    nn_apply_masks(m.get());
    for (size_t j = 0; j < fc2->nw; j++) if (!mask[j]) { EXPECT_EQ(fc2->w[j], 0.0f); }
}

// w_eff = s * w with its exact backward g_w = s * g_eff.
static void scale_fwd(void *ctx, const nn_node *, const float *w, float *we, size_t n)
{
    float s = *(float *)ctx;
    for (size_t j = 0; j < n; j++) we[j] = s * w[j];
}
static void scale_bwd(void *ctx, const nn_node *, const float *, const float *, const float *ge,
                      float *gw, size_t n)
{
    float s = *(float *)ctx;
    for (size_t j = 0; j < n; j++) gw[j] = s * ge[j];
}
static const nn_wtransform scale_wt = {"scale", scale_fwd, scale_bwd};

TEST(Model, WeightTransformForwardAndBackwardAreApplied)
{
    float two = 2.0f;
    ModelPtr m(create("lenet5", nn_dims{1, 28, 28}, 10));
    nn_node *conv2 = find(m.get(), "conv2");
    ModelPtr ref(nn_model_clone(m.get()));
    nn_node *rconv2 = find(ref.get(), "conv2");
    for (size_t j = 0; j < rconv2->nw; j++) rconv2->w[j] *= 2;
    conv2->wt = &scale_wt;
    conv2->wt_ctx = &two;
    EXPECT_EQ(nn_count_nonzero(m.get()), nn_count_nonzero(ref.get()));

    auto x = random_input(3 * 784, 4);
    auto a = train_pass(m.get(), x, 3), b = train_pass(ref.get(), x, 3);
    EXPECT_EQ(a, b);
    for (size_t j = 0; j < conv2->nw; j++) EXPECT_EQ(conv2->gw[j], 2 * rconv2->gw[j]);
    // Other layers see identical gradients.
    const nn_node *fc1 = find(m.get(), "fc1"), *rfc1 = find(ref.get(), "fc1");
    EXPECT_EQ(0, memcmp(fc1->gw, rfc1->gw, fc1->nw * sizeof(float)));
}

// x_q = 2 x; backward g_x = 2 g_q, or straight-through when the backward is NULL.
static void xscale_fwd(void *, const nn_node *, const float *x, float *xq, size_t per, int batch)
{
    for (size_t j = 0; j < per * (size_t)batch; j++) xq[j] = 2 * x[j];
}
static void xscale_bwd(void *, const nn_node *, const float *, const float *, const float *gq,
                       float *gx, size_t per, int batch)
{
    for (size_t j = 0; j < per * (size_t)batch; j++) gx[j] = 2 * gq[j];
}

TEST(Model, InputTransformSeesTransformedInputAndMapsItsGradient)
{
    static const nn_xtransform exact = {"x2", xscale_fwd, xscale_bwd};
    static const nn_xtransform ste = {"x2-ste", xscale_fwd, nullptr};
    for (const nn_xtransform *xt : {&exact, &ste}) {
        SCOPED_TRACE(xt->name);
        ModelPtr m(create("lenet300", nn_dims{1, 28, 28}, 10));
        // Reference: doubling fc1 doubles relu1's output (relu is positively homogeneous).
        ModelPtr ref(nn_model_clone(m.get()));
        nn_node *rfc1 = find(ref.get(), "fc1");
        for (size_t j = 0; j < rfc1->nw; j++) rfc1->w[j] *= 2;
        for (size_t j = 0; j < rfc1->nb; j++) rfc1->b[j] *= 2;
        find(m.get(), "fc2")->xt = xt;
        find(m.get(), "fc1")->xt = xt;    // on the model input: no input gradient wanted
        auto x = random_input(5 * 784, 6);
        auto xh = x;
        for (float &v : xh) v *= 0.5f;    // fc1 sees 2 * (x / 2) = x
        auto a = train_pass(m.get(), xh, 5), b = train_pass(ref.get(), x, 5);
        for (size_t i = 0; i < a.size(); i++) EXPECT_FLOAT_EQ(a[i], b[i]);
        const nn_node *fc1 = find(m.get(), "fc1"), *fc2 = find(m.get(), "fc2");
        const nn_node *rfc2 = find(ref.get(), "fc2");
        ASSERT_NE(fc2->x_q, nullptr);
        for (size_t j = 0; j < fc2->nw; j += 97) EXPECT_FLOAT_EQ(fc2->gw[j], rfc2->gw[j]);
        // d(fc1.w) in m = 2 * d(ref fc1.w) with the exact backward, equal with straight-through.
        float k = xt->backward ? 2.0f : 1.0f;
        for (size_t j = 0; j < fc1->nw; j += 101)
            EXPECT_NEAR(fc1->gw[j], k * rfc1->gw[j], 1e-6f + 1e-5f * std::fabs(rfc1->gw[j]));
    }
}

TEST(Model, FrozenWeightsGetNoGradient)
{
    ModelPtr m(create("lenet5", nn_dims{1, 28, 28}, 10));
    nn_node *conv1 = find(m.get(), "conv1"), *fc2 = find(m.get(), "fc2");
    conv1->frozen = 1;
    uint8_t *fz = nn_node_wfreeze(m.get(), fc2);
    for (size_t j = 0; j < fc2->nw; j++) EXPECT_EQ(fz[j], 0);
    for (size_t j = 0; j < fc2->nw; j += 2) fz[j] = 1;
    train_pass(m.get(), random_input(2 * 784, 8), 2);
    for (size_t j = 0; j < conv1->nw; j++) EXPECT_EQ(conv1->gw[j], 0.0f);
    size_t live = 0;
    for (size_t j = 0; j < fc2->nw; j++) {
        if (fz[j]) {
            EXPECT_EQ(fc2->gw[j], 0.0f);
        } else {
            live += fc2->gw[j] != 0.0f;
        }
    }
    EXPECT_GT(live, fc2->nw / 4);
    EXPECT_NE(conv1->gb[0], 0.0f);     // freezing is about the weights, not the bias
}

TEST(Model, CloneIsDeepAndEqual)
{
    ModelPtr m(create("resnet20", nn_dims{3, 16, 16}, 10));
    nn_node *c = find(m.get(), "s3b2.conv2");
    nn_node_mask(m.get(), c)[5] = 0;
    nn_node_wfreeze(m.get(), c)[7] = 1;
    float two = 2.0f;
    c->wt = &scale_wt; c->wt_ctx = &two;
    nn_apply_masks(m.get());
    auto x = random_input(2 * 3 * 256, 9);
    train_pass(m.get(), x, 2);                   // updates BN running stats

    ModelPtr k(nn_model_clone(m.get()));
    ASSERT_NE(k.get(), nullptr);
    EXPECT_EQ(k->n_params, m->n_params);
    EXPECT_NE(k->params, m->params);
    EXPECT_EQ(0, memcmp(k->params, m->params, m->n_params * sizeof(float)));
    EXPECT_EQ(0, memcmp(k->state, m->state, m->n_state * sizeof(float)));
    nn_node *kc = find(k.get(), "s3b2.conv2");
    EXPECT_EQ(kc->w, k->params + c->w_off);
    EXPECT_NE(kc->mask, c->mask); EXPECT_EQ(kc->mask[5], 0);
    EXPECT_NE(kc->wfreeze, c->wfreeze); EXPECT_EQ(kc->wfreeze[7], 1);
    EXPECT_EQ(kc->wt, &scale_wt); EXPECT_EQ(kc->wt_ctx, &two);
    EXPECT_STREQ(k->arch, "resnet20");

    const float *a = nn_forward(m.get(), x.data(), 2, 0);
    std::vector<float> av(a, a + 20);
    const float *b = nn_forward(k.get(), x.data(), 2, 0);
    EXPECT_EQ(0, memcmp(av.data(), b, 20 * sizeof(float)));
    k->params[0] += 1;                            // independent storage
    EXPECT_NE(k->params[0], m->params[0]);
}

TEST(Model, MacsAndCounts)
{
    ModelPtr m(create("lenet5", nn_dims{1, 28, 28}, 10));
    EXPECT_DOUBLE_EQ(nn_node_macs(find(m.get(), "conv1")), 20.0 * 24 * 24 * 1 * 25);
    EXPECT_DOUBLE_EQ(nn_node_macs(find(m.get(), "conv2")), 50.0 * 8 * 8 * 20 * 25);
    EXPECT_DOUBLE_EQ(nn_node_macs(find(m.get(), "fc1")), 500.0 * 800);
    EXPECT_DOUBLE_EQ(nn_node_macs(find(m.get(), "pool1")), 0.0);
    EXPECT_EQ(nn_count_weights(m.get()), 500u + 25000 + 400000 + 5000);
    find(m.get(), "fc2")->w[3] = 0;
    EXPECT_EQ(nn_count_nonzero(m.get()), nn_count_weights(m.get()) - 1);
    EXPECT_STREQ(nn_kind_name(NN_BATCHNORM), "bn");
    EXPECT_STREQ(nn_kind_name(NN_ADD), "add");
    EXPECT_STREQ(nn_kind_name(NN_EDGEBIAS), "edgebias");
}

// Channel-blocked activations (nn/layout.c) compute what plain NCHW ones do: logits, running
// statistics and every parameter gradient of a ResNet agree with the inspectable (plain) model,
// and the blocked model really is blocked inside.
TEST(Model, BlockedLayoutsMatchPlainOnAResNet)
{
    char err[256] = "";
    nn_model *a = nn_model_create("resnet20", { 3, 16, 16 }, 10, err, sizeof err);
    ASSERT_NE(a, nullptr) << err;
    nn_rng r;
    nn_rng_seed(&r, 7, 1);
    nn_model_init(a, NN_INIT_KAIMING_NORMAL, &r);
    nn_model *b = nn_model_clone(a);
    ASSERT_NE(b, nullptr);
    nn_model_set_inspectable(b, 1);
    nn_model_set_threads(a, 2);
    nn_model_set_threads(b, 2);
    const int batch = 6;
    std::vector<float> x((size_t)batch * 3 * 16 * 16);
    for (float &v : x) v = 2.0f * nn_rng_uniform(&r) - 1.0f;
    std::vector<uint8_t> y(batch);
    for (int i = 0; i < batch; i++) y[i] = (uint8_t)(i % 10);
    std::vector<float> la, lb, da(batch * 10), db(batch * 10);
    for (nn_model *m : { a, b }) {
        ASSERT_EQ(nn_model_reserve(m, batch), 0);
        nn_zero_grad(m);
        const float *logits = nn_forward(m, x.data(), batch, 1);
        ASSERT_NE(logits, nullptr);
        std::vector<float> &l = m == a ? la : lb, &d = m == a ? da : db;
        l.assign(logits, logits + batch * 10);
        int correct;
        nn_softmax_xent(logits, y.data(), batch, 10, d.data(), &correct);
        nn_backward(m, d.data(), batch);
    }
    int blocked = 0;
    for (int i = 0; i < a->n_nodes; i++) {
        blocked += a->nodes[i].layout == NN_LAYOUT_BLOCKED;
        EXPECT_EQ(b->nodes[i].layout, NN_LAYOUT_PLAIN) << b->nodes[i].name;
    }
    EXPECT_GT(blocked, a->n_nodes / 2) << "expected most of a ResNet's activations blocked";
    for (int i = 0; i < batch * 10; i++) EXPECT_NEAR(la[i], lb[i], 1e-4f * (1.0f + std::fabs(lb[i]))) << i;
    double scale = 0;
    for (size_t j = 0; j < b->n_params; j++) scale = std::max(scale, (double)std::fabs(b->grads[j]));
    for (size_t j = 0; j < a->n_params; j++)
        ASSERT_NEAR(a->grads[j], b->grads[j], 1e-4 * scale) << "parameter " << j;
    for (size_t j = 0; j < a->n_state; j++) ASSERT_NEAR(a->state[j], b->state[j], 1e-4) << "state " << j;
    nn_model_free(a);
    nn_model_free(b);
}
