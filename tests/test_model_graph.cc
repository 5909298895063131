// The graph a model file holds (harness/ckpt_graph.c): a network no architecture names (an
// edgebias node, an adder layer, input transforms, weight forms) comes back node for node and
// computes the same; each damaged field is refused naming the node and the field; a version 2
// file (an architecture name, no graph) still loads; a checkpoint written while a weight
// transform is attached holds the weights the network computes with.
#include <gtest/gtest.h>
#include <unistd.h>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>
extern "C" {
#include <hdf5.h>
#include "harness/checkpoint.h"
#include "methods/input_transforms.h"
#include "nn/model.h"
#include "nn/rng.h"
#include "support/h5_fixture.h"
}

namespace {

// input 1x4x4 -> conv (2, k3 p1, binary weights, binarized input) -> edgebias -> flatten
// -> fc1 (3, adder, fixed-point input, powers of two) -> fc2 (2, ternary)
nn_model *tiny_graph()
{
    char err[256];
    nn_builder *b = nn_builder_new("graph", nn_dims{1, 4, 4}, 2);
    int c = nn_add_conv(b, "conv", -1, 2, 3, 1, 1, 0);
    int e = nn_add_edgebias(b, "conv.fold", c, 1);
    int f = nn_add_flatten(b, "flat", e);
    int h = nn_add_linear(b, "fc1", f, 3, 1);
    nn_add_linear(b, "fc2", h, 2, 0);
    nn_model *m = nn_builder_finish(b, err, sizeof err);
    EXPECT_NE(m, nullptr) << err;
    if (!m) return nullptr;
    nn_rng rng;
    nn_rng_seed(&rng, 5, 1);
    nn_node *conv = &m->nodes[0], *eb = &m->nodes[1], *fc1 = &m->nodes[3], *fc2 = &m->nodes[4];
    for (size_t i = 0; i < conv->nw; i++) conv->w[i] = (nn_rng_below(&rng, 2) ? 1 : -1) * (i < 9 ? 0.5f : 0.25f);
    for (size_t i = 0; i < eb->nb; i++) eb->b[i] = nn_rng_normal(&rng);
    for (size_t i = 0; i < fc1->nw; i++) fc1->w[i] = nn_rng_below(&rng, 3) ? std::ldexp(1.0f, -(int)nn_rng_below(&rng, 4)) : 0.0f;
    for (size_t i = 0; i < fc1->nb; i++) fc1->b[i] = nn_rng_normal(&rng);
    for (size_t i = 0; i < fc2->nw; i++) fc2->w[i] = i % 3 == 0 ? 0.75f : i % 3 == 1 ? -0.5f : 0.0f;
    static const float none[NN_XT_ARGS] = {0}, grid[NN_XT_ARGS] = {4, 6};
    EXPECT_EQ(0, mt_xt_install(conv, MT_XT_SIGN_MEAN, none, err, sizeof err)) << err;
    EXPECT_EQ(0, mt_xt_install(fc1, MT_XT_FIXED_POINT, grid, err, sizeof err)) << err;
    conv->wform = nn_wform{NN_WFORM_BINARY, 0, 0, 0, 0, 0, 0};
    fc1->wform = nn_wform{NN_WFORM_POW2, -3, 0, 0, 0, 0, 0};
    fc1->kernel = NN_KERNEL_ADDER;
    fc2->wform = nn_wform{NN_WFORM_TERNARY, 0, 0, 0, 0, 0.75f, 0.5f};
    return m;
}

class Graph : public ::testing::Test {
protected:
    std::string dir, f;
    nn_model *m = nullptr;
    char err[1024] = "";
    hid_t h = -1;
    void SetUp() override
    {
        char tmpl[] = "/tmp/hx_graph_XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr);
        dir = tmpl;
        f = dir + "/g.h5";
        m = tiny_graph();
        ASSERT_NE(m, nullptr);
        ASSERT_EQ(0, ckpt_save(f.c_str(), m, nullptr, nullptr, err, sizeof err)) << err;
    }
    void TearDown() override
    {
        nn_model_free(m);
        (void)!system(("rm -rf '" + dir + "'").c_str());
    }
    // Sets element i of /graph/<field> (int or float, as stored), reseals, loads: the message.
    std::string edited(const char *field, int i, double v)
    {
        h = H5Fopen(f.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
        EXPECT_GE(h, 0);
        std::string path = std::string("graph/") + field;
        hid_t d = H5Dopen2(h, path.c_str(), H5P_DEFAULT);
        EXPECT_GE(d, 0) << path;
        hid_t t = H5Dget_type(d);
        bool is_float = H5Tget_class(t) == H5T_FLOAT;
        H5Tclose(t);
        std::vector<double> all(m->n_nodes);
        H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, all.data());
        all[i] = v;
        (void)is_float;
        H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, all.data());
        H5Dclose(d);
        return reload();
    }
    std::string reload()
    {
        H5Fclose(h);
        EXPECT_EQ(h5fx_reseal(f.c_str(), "harness-checkpoint"), 0);
        err[0] = '\0';
        nn_model *g = ckpt_load(f.c_str(), nullptr, nullptr, err, sizeof err);
        EXPECT_EQ(g, nullptr);
        nn_model_free(g);
        std::string e = err;
        EXPECT_EQ(0u, e.rfind(f + ": ", 0)) << e;
        return e.substr(e.rfind(f + ": ", 0) == 0 ? f.size() + 2 : 0);
    }
};

TEST_F(Graph, ComesBackNodeForNodeAndComputesTheSame)
{
    nn_model *g = ckpt_load(f.c_str(), nullptr, nullptr, err, sizeof err);
    ASSERT_NE(g, nullptr) << err;
    ASSERT_EQ(g->n_nodes, m->n_nodes);
    ASSERT_EQ(g->n_params, m->n_params);
    for (int i = 0; i < m->n_nodes; i++) {
        const nn_node *a = &m->nodes[i], *b = &g->nodes[i];
        SCOPED_TRACE(a->name);
        EXPECT_STREQ(a->name, b->name);
        EXPECT_EQ(a->kind, b->kind);
        EXPECT_EQ(a->in[0], b->in[0]);
        EXPECT_EQ(a->out_dims.c, b->out_dims.c);
        EXPECT_EQ(a->out_dims.h, b->out_dims.h);
        EXPECT_EQ(a->pad, b->pad);
        EXPECT_EQ(a->kernel, b->kernel);
        EXPECT_EQ(a->xt, b->xt);
        EXPECT_EQ(0, memcmp(a->xt_arg, b->xt_arg, sizeof a->xt_arg));
        EXPECT_EQ(0, memcmp(&a->wform, &b->wform, sizeof a->wform));
    }
    EXPECT_EQ(0, memcmp(g->params, m->params, m->n_params * sizeof(float)));
    float x[3 * 16];
    for (int i = 0; i < 48; i++) x[i] = (float)((i * 37) % 11) / 5.0f - 1.0f;
    std::vector<float> want(6);
    memcpy(want.data(), nn_forward(m, x, 3, 0), sizeof(float) * 6);
    const float *got = nn_forward(g, x, 3, 0);
    for (int i = 0; i < 6; i++) EXPECT_EQ(want[i], got[i]) << i;
    nn_model_free(g);
}

TEST_F(Graph, EachDamagedFieldNamesTheNodeAndTheField)
{
    struct { const char *field; int node; double v; const char *want; } cases[] = {
        {"kind", 1, 99, "graph/kind: node 1 'conv.fold': 99 is out of range (allowed 0..11)"},
        {"in0", 2, 3, "graph/in0: node 2 'flat': input 3 is not an earlier node (-1..1)"},
        {"in1", 2, 0, "graph/in1: node 2 'flat': a flatten node has one input; in1 must be -1, not 0"},
        {"frozen", 2, 1, "graph/frozen: node 2 'flat': a flatten node has no weights to freeze"},
        {"k", 0, 0, "graph: node 0 'conv': conv: conv with 2 channels, kernel 0, stride 1, pad 1"},
        {"out_c", 3, 4, "n_params: the file has "},
        {"input_transform", 1, 1, "graph/input_transform: node 1 'conv.fold': input transform xnor-sign: only conv and "
                                  "linear layers take one, not edgebias"},
        {"input_arg0", 3, 99, "graph/input_transform: node 3 'fc1': input transform fixed-point: int_bits = 99 "
                              "(allowed: whole numbers 2..24)"},
        {"input_arg1", 3, 2.5, "graph/input_transform: node 3 'fc1': input transform fixed-point: frac_bits = 2.5 (allowed: whole numbers 1..24)"},
        {"clip", 0, NAN, "graph/clip: node 0 'conv': nan is not finite"},
        {"wform", 4, 3, "params: node 4 'fc2' (wform pow2): weight[0] = 0.75 is not 0 or +-2^e with e in 0..0"},
        {"wform_wp", 4, 0.5, "params: node 4 'fc2' (wform ternary): weight[0] = 0.75 is not one of +Wp = 0.5, 0, -Wn = -0.5"},
        {"wform_wn", 4, -1, "graph/wform_wp: node 4 'fc2': ternary scales Wp 0.75, Wn -1 must be positive"},
        {"wform_e_max", 3, -2, "params: node 3 'fc1' (wform pow2): weight["},
        {"wform", 2, 1, "graph/wform: node 2 'flat': a flatten node has no weights"},
    };
    for (const auto &c : cases) {
        SCOPED_TRACE(c.field);
        nn_model_free(m);
        m = tiny_graph();
        ASSERT_EQ(0, ckpt_save(f.c_str(), m, nullptr, nullptr, err, sizeof err)) << err;
        std::string e = edited(c.field, c.node, c.v);
        EXPECT_EQ(0u, e.find(c.want)) << e;
    }
}

TEST_F(Graph, WeightsOffTheirBinaryFormAreNamed)
{
    h = H5Fopen(f.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    hid_t d = H5Dopen2(h, "params", H5P_DEFAULT);
    std::vector<float> p(m->n_params);
    H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, p.data());
    p[m->nodes[0].w_off + 10] = 0.3f;
    H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, p.data());
    H5Dclose(d);
    EXPECT_EQ("params: node 0 'conv' (wform binary): weight[10] = 0.3, but filter 1's weights are +-0.25", reload());
}

TEST_F(Graph, Version2FileNamingAnArchitectureStillLoads)
{
    std::string v2 = std::string(HARNESS_SOURCE_DIR) + "/tests/fuzz/corpus/checkpoint/lenet300-1x1x1-sgd-v2.h5";
    nn_model *g = ckpt_load(v2.c_str(), nullptr, nullptr, err, sizeof err);
    ASSERT_NE(g, nullptr) << err;
    EXPECT_STREQ(g->arch, "lenet300");
    nn_model *want = nn_model_create("lenet300", nn_dims{1, 1, 1}, 2, err, sizeof err);
    ASSERT_NE(want, nullptr);
    EXPECT_EQ(want->n_params, g->n_params);
    EXPECT_EQ(want->n_nodes, g->n_nodes);
    nn_model_free(want);
    nn_model_free(g);
}

// A weight transform doubling every weight: the file holds the doubled ones.
void twice(void *, const nn_node *, const float *w, float *w_eff, size_t n)
{
    for (size_t i = 0; i < n; i++) w_eff[i] = 2 * w[i];
}

TEST_F(Graph, TrainingCheckpointHoldsTheEffectiveWeights)
{
    static const nn_wtransform t = {"twice", twice, nullptr};
    nn_node *fc2 = &m->nodes[4];
    fc2->wt = &t;
    fc2->wform = nn_wform{};
    ASSERT_EQ(0, ckpt_save(f.c_str(), m, nullptr, nullptr, err, sizeof err)) << err;
    nn_model *g = ckpt_load(f.c_str(), nullptr, nullptr, err, sizeof err);
    ASSERT_NE(g, nullptr) << err;
    EXPECT_EQ(g->nodes[4].wt, nullptr);
    for (size_t i = 0; i < fc2->nw; i++) EXPECT_EQ(2 * fc2->w[i], g->nodes[4].w[i]) << i;
    EXPECT_EQ(0, memcmp(g->nodes[3].w, m->nodes[3].w, m->nodes[3].nw * sizeof(float)));
    nn_model_free(g);
}

TEST_F(Graph, AnInputTransformTheFileCannotNameIsRefusedOnSave)
{
    static const nn_xtransform odd = {"odd", nullptr, nullptr};
    m->nodes[4].xt = &odd;
    EXPECT_NE(0, ckpt_save((dir + "/x.h5").c_str(), m, nullptr, nullptr, err, sizeof err));
    EXPECT_NE(std::string::npos, std::string(err).find("graph: node 4 'fc2': input transform 'odd' cannot be written"))
        << err;
    m->nodes[4].xt = nullptr;
}

}  // namespace
