// AdderNet method: layer choice, the BN requirement, the engine's adder kernel against a
// brute-force -L1 reference (forward and the paper's full-precision gradients), the adaptive
// learning rate, and the add/multiply accounting.
#include <gtest/gtest.h>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>
extern "C" {
#include "methods/method.h"
#include "nn/loss.h"
#include "support/adder_fixture.h"
#include "support/method_fixture.h"
}

namespace {

struct AdderRun {
    const method *m = nullptr;
    nn_model *model = nullptr;
    void *cfg = nullptr, *state = nullptr;
    nn_rng rng;
    mt_run run;
    std::string err;

    // Builds the tiny model and runs the method's setup with the given overrides.
    int init(std::vector<const char *> overrides, int bn_after_c2 = 1) {
        m = method_find("addernet");
        if (!m) { err = "addernet not registered"; return -1; }
        model = adfx_model(bn_after_c2, 11);
        nn_model_set_inspectable(model, 1);   // the checks read activations and douts after backward
        nn_rng_seed(&rng, 5, 1);
        adfx_run(&run, model, &rng);
        char e[512] = "";
        overrides.push_back(nullptr);
        cfg = adfx_config(m, overrides.data(), e, sizeof e);
        if (!cfg) { err = e; return -1; }
        int rc = m->setup(&run, cfg, &state, e, sizeof e);
        err = e;
        return rc;
    }
    nn_node *node(const char *name) {
        int i = adfx_node(model, name);
        EXPECT_GE(i, 0) << name;
        return &model->nodes[i];
    }
    // One forward + backward on a seeded random batch; returns the batch size.
    int step(int batch = 3) {
        std::vector<float> x(batch * nn_dims_size(model->in_dims));
        std::vector<uint8_t> y(batch);
        for (auto &v : x) v = nn_rng_normal(&rng);
        for (auto &v : y) v = (uint8_t)nn_rng_below(&rng, 3);
        EXPECT_EQ(nn_model_reserve(model, batch), 0);
        nn_zero_grad(model);
        const float *logits = nn_forward(model, x.data(), batch, 1);
        std::vector<float> dl(batch * 3);
        int correct = 0;
        nn_softmax_xent(logits, y.data(), batch, 3, dl.data(), &correct);
        nn_backward(model, dl.data(), batch);
        return batch;
    }
    ~AdderRun() {
        if (state && m->free_state) m->free_state(state);
        free(cfg);
        if (model) nn_model_free(model);
    }
};

double l2(const float *g, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)g[i] * g[i];
    return std::sqrt(s);
}

// Brute force for an adder conv (zero padding, as im2col pads) or an adder linear layer
// (viewed as a conv with k = 1 over a 1x1 image of in_dims size channels).
struct Geo { int ci, hi, wi, co, ho, wo, k, s, p; };
Geo geo(const nn_node *n) {
    if (n->kind == NN_LINEAR)
        return { (int)nn_dims_size(n->in_dims), 1, 1, n->out_c, 1, 1, 1, 1, 0 };
    return { n->in_dims.c, n->in_dims.h, n->in_dims.w, n->out_dims.c, n->out_dims.h,
             n->out_dims.w, n->k, n->stride, n->pad };
}

// Visits every (output, weight, input) triple; xi < 0 for padding (x = 0 there).
template <class F> void each_term(const Geo &g, int batch, F f) {
    for (int b = 0; b < batch; b++)
        for (int o = 0; o < g.co; o++)
            for (int oh = 0; oh < g.ho; oh++)
                for (int ow = 0; ow < g.wo; ow++) {
                    long yi = (((long)b * g.co + o) * g.ho + oh) * g.wo + ow;
                    for (int c = 0; c < g.ci; c++)
                        for (int kh = 0; kh < g.k; kh++)
                            for (int kw = 0; kw < g.k; kw++) {
                                int ih = oh * g.s - g.p + kh, iw = ow * g.s - g.p + kw;
                                long wi = (((long)o * g.ci + c) * g.k + kh) * g.k + kw;
                                long xi = -1;
                                if (ih >= 0 && ih < g.hi && iw >= 0 && iw < g.wi)
                                    xi = (((long)b * g.ci + c) * g.hi + ih) * g.wi + iw;
                                f(yi, wi, xi);
                            }
                }
}

void expect_close(const std::vector<double> &ref, const float *got, const char *what,
                  double tol = 2e-4) {
    double scale = 1e-6;
    for (double v : ref) scale = std::fmax(scale, std::fabs(v));
    for (size_t i = 0; i < ref.size(); i++)
        ASSERT_NEAR(got[i], ref[i], tol * scale) << what << " at " << i;
}

void check_forward(AdderRun &s, const char *name, int batch) {
    nn_node *n = s.node(name);
    ASSERT_EQ(n->kernel, NN_KERNEL_ADDER) << name;
    const float *x = s.model->nodes[n->in[0]].out, *w = n->w_eff;
    Geo g = geo(n);
    std::vector<double> y((size_t)batch * nn_dims_size(n->out_dims), 0.0);
    each_term(g, batch, [&](long yi, long wi, long xi) {
        y[yi] -= std::fabs((xi < 0 ? 0.0 : (double)x[xi]) - w[wi]);
    });
    if (n->has_bias)
        for (size_t i = 0; i < y.size(); i++) y[i] += n->b[(i / (g.ho * g.wo)) % g.co];
    expect_close(y, n->out, name);
}

void check_backward(AdderRun &s, const char *name, int batch) {
    nn_node *n = s.node(name);
    const nn_node *prod = &s.model->nodes[n->in[0]];
    const float *x = prod->out, *w = n->w_eff, *dy = n->dout;
    Geo g = geo(n);
    std::vector<double> dw(n->nw, 0.0), dx((size_t)batch * nn_dims_size(n->in_dims), 0.0);
    each_term(g, batch, [&](long yi, long wi, long xi) {
        double xv = xi < 0 ? 0.0 : x[xi];
        dw[wi] += (xv - w[wi]) * dy[yi];
        if (xi >= 0) dx[xi] += std::fmax(-1.0, std::fmin(1.0, w[wi] - xv)) * dy[yi];
    });
    double dy_norm = l2(dy, (size_t)batch * nn_dims_size(n->out_dims));
    ASSERT_GT(dy_norm, 0) << name << ": the check needs a nonzero upstream gradient";
    expect_close(dw, n->gw, name);
    // The producer's only consumer is this layer, so its dout is exactly dX.
    expect_close(dx, prod->dout, name);
}

}  // namespace

TEST(AdderNet, SetupPicksEveryConvButTheFirst) {
    AdderRun s;
    ASSERT_EQ(s.init({}), 0) << s.err;
    EXPECT_EQ(s.node("c1")->kernel, NN_KERNEL_MAC);
    EXPECT_EQ(s.node("c2")->kernel, NN_KERNEL_ADDER);
    EXPECT_EQ(s.node("c3")->kernel, NN_KERNEL_ADDER);
    EXPECT_EQ(s.node("fc1")->kernel, NN_KERNEL_MAC);
    EXPECT_EQ(s.node("fc2")->kernel, NN_KERNEL_MAC);
}

TEST(AdderNet, OptionsWidenTheChoice) {
    AdderRun s;
    ASSERT_EQ(s.init({ "first_fp=false", "adder_fc=true" }), 0) << s.err;
    EXPECT_EQ(s.node("c1")->kernel, NN_KERNEL_ADDER);
    EXPECT_EQ(s.node("fc1")->kernel, NN_KERNEL_ADDER);
    EXPECT_EQ(s.node("fc2")->kernel, NN_KERNEL_MAC);   // the classifier feeds the loss, not BN
}

TEST(AdderNet, RefusesAdderLayerWithoutBatchNorm) {
    AdderRun s;
    EXPECT_NE(s.init({}, /*bn_after_c2=*/0), 0);
    EXPECT_NE(s.err.find("'c2'"), std::string::npos) << s.err;
    EXPECT_NE(s.err.find("lenet5-bn"), std::string::npos) << s.err;
    EXPECT_EQ(s.node("c2")->kernel, NN_KERNEL_MAC);    // nothing installed on refusal
    EXPECT_EQ(s.node("c3")->kernel, NN_KERNEL_MAC);
}

TEST(AdderNet, RejectsNonPositiveEta) {
    const method *m = method_find("addernet");
    ASSERT_NE(m, nullptr);
    char e[256];
    const char *ov[] = { "eta=0", nullptr };
    void *cfg = adfx_config(m, ov, e, sizeof e);
    EXPECT_EQ(cfg, nullptr);
    free(cfg);
}

TEST(AdderNet, ForwardIsNegativeL1Distance) {
    AdderRun s;
    ASSERT_EQ(s.init({ "adder_fc=true" }), 0) << s.err;
    int batch = s.step();
    check_forward(s, "c2", batch);
    check_forward(s, "c3", batch);    // stride 2, padding, bias
    check_forward(s, "fc1", batch);
}

TEST(AdderNet, GradientsAreThePapersFullPrecisionOnes) {
    AdderRun s;
    ASSERT_EQ(s.init({ "adder_fc=true" }), 0) << s.err;
    int batch = s.step();
    check_backward(s, "c2", batch);
    check_backward(s, "c3", batch);
    check_backward(s, "fc1", batch);
}

TEST(AdderNet, AdaptiveLrScalesEachAdderGradientToEtaSqrtK) {
    AdderRun s;
    ASSERT_EQ(s.init({ "eta=0.35", "adder_fc=true" }), 0) << s.err;
    s.step();
    std::vector<float> before_c1(s.node("c1")->gw, s.node("c1")->gw + s.node("c1")->nw);
    std::vector<float> before_c3(s.node("c3")->gw, s.node("c3")->gw + s.node("c3")->nw);
    s.m->after_backward(&s.run, s.state);
    for (const char *name : { "c2", "c3", "fc1" }) {
        nn_node *n = s.node(name);
        EXPECT_NEAR(l2(n->gw, n->nw), 0.35 * std::sqrt((double)n->nw), 1e-3) << name;
    }
    // direction kept, multiply layers untouched
    nn_node *c3 = s.node("c3");
    double ratio = l2(c3->gw, c3->nw) / l2(before_c3.data(), before_c3.size());
    for (size_t i = 0; i < c3->nw; i++) EXPECT_NEAR(c3->gw[i], before_c3[i] * ratio, 1e-4);
    for (size_t i = 0; i < before_c1.size(); i++) EXPECT_EQ(s.node("c1")->gw[i], before_c1[i]);
}

TEST(AdderNet, ZeroGradientStaysZero) {
    AdderRun s;
    ASSERT_EQ(s.init({}), 0) << s.err;
    nn_zero_grad(s.model);
    s.m->after_backward(&s.run, s.state);
    nn_node *c2 = s.node("c2");
    for (size_t i = 0; i < c2->nw; i++) ASSERT_EQ(c2->gw[i], 0.0f);
}

TEST(AdderNet, AdaptiveLrCanBeSwitchedOff) {
    AdderRun s;
    ASSERT_EQ(s.init({ "adaptive_lr=false" }), 0) << s.err;
    s.step();
    nn_node *c2 = s.node("c2");
    std::vector<float> before(c2->gw, c2->gw + c2->nw);
    s.m->after_backward(&s.run, s.state);
    for (size_t i = 0; i < before.size(); i++) EXPECT_EQ(c2->gw[i], before[i]);
}

TEST(AdderNet, AccountingCountsAddsNotMultiplies) {
    AdderRun s;
    ASSERT_EQ(s.init({}), 0) << s.err;
    mt_footprint fp;
    memset(&fp, 0, sizeof fp);
    mt_footprint_dense(s.model, &fp);
    s.m->account(&s.run, s.state, &fp);
    double adder_macs = nn_node_macs(s.node("c2")) + nn_node_macs(s.node("c3"));
    double mac_macs = nn_node_macs(s.node("c1")) + nn_node_macs(s.node("fc1")) +
                      nn_node_macs(s.node("fc2"));
    double adds = -1, muls = -1;
    for (int i = 0; i < fp.n_extras; i++) {
        if (!strcmp(fp.extra_key[i], "addernet.adds")) adds = fp.extra_val[i];
        if (!strcmp(fp.extra_key[i], "addernet.muls")) muls = fp.extra_val[i];
    }
    EXPECT_DOUBLE_EQ(adds, 2 * adder_macs + mac_macs);
    EXPECT_DOUBLE_EQ(muls, mac_macs);
    for (int l = 0; l < fp.n_layers; l++) {
        const mt_layer_fp &L = fp.layers[l];
        EXPECT_EQ(L.w_bits, 32) << L.name;
        bool adder = !strcmp(L.name, "c2") || !strcmp(L.name, "c3");
        if (adder) EXPECT_EQ(L.macs_needed, 0) << L.name;
        else EXPECT_GT(L.macs_needed, 0) << L.name;
    }
}

// The whole method through the runner's loop on a residual block: the adder layers learn
// the synthetic task (chance is 1 / n_classes) and the footprint carries the add counts. The
// adaptive step eta*sqrt(k) is absolute, so these 4-channel layers with Kaiming-sized weights
// (~0.2) need a small eta; 0.2 suits LeNet-5-BN (99.36 % on MNIST after 3 epochs).
TEST(AdderNet, TrainsThroughTheRunnerLoop) {
    const method *m = method_find("addernet");
    ASSERT_NE(m, nullptr);
    mf_fixture f;
    char err[512];
    const char *kv[] = { "eta", "0.01", nullptr };
    ASSERT_EQ(0, mf_open(&f, "resblock", m, kv, 3, err, sizeof err)) << err;
    f.lr = 0.1;
    f.epochs = 4;
    ASSERT_EQ(0, mf_run(&f, err, sizeof err)) << err;
    nn_model *model = f.run.model;
    EXPECT_EQ(model->nodes[adfx_node(model, "conv0")].kernel, NN_KERNEL_MAC);
    EXPECT_EQ(model->nodes[adfx_node(model, "b.conv1")].kernel, NN_KERNEL_ADDER);
    EXPECT_EQ(model->nodes[adfx_node(model, "b.conv2")].kernel, NN_KERNEL_ADDER);
    EXPECT_GT(f.final_acc, 100.0 / model->n_classes + 30.0);
    bool has_adds = false;
    for (int i = 0; i < f.fp.n_extras; i++)
        has_adds |= !strcmp(f.fp.extra_key[i], "addernet.adds") && f.fp.extra_val[i] > 0;
    EXPECT_TRUE(has_adds);
    mf_close(&f);
}
