// The packed model (runtime/, harness/packed_file.c) on the tiny network of every format
// (tests/support/packed_fixture.h): each layer lands in its format, the packed forward pass
// computes what the float engine computes, a save -> load round trip changes no bit, and a
// damaged field is refused naming the layer and the field.
#include <gtest/gtest.h>
#include <hdf5.h>
#include <unistd.h>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>
extern "C" {
#include "harness/packed_file.h"
#include "runtime/packed.h"
}
#include "support/h5_fixture.h"
#include "support/packed_fixture.h"

namespace {

const int kBatch = 13;

std::vector<float> inputs(const nn_model *m)
{
    size_t per = nn_dims_size(m->in_dims);
    std::vector<float> x(per * kBatch);
    uint32_t s = 12345;
    for (float &v : x) {
        s = s * 1664525u + 1013904223u;
        v = (float)((s >> 8) % 2001) / 1000.0f - 1.0f;
    }
    return x;
}

std::vector<float> logits(nn_model *m, const std::vector<float> &x)
{
    const float *y = nn_forward(m, x.data(), kBatch, 0);
    return std::vector<float>(y, y + (size_t)kBatch * m->n_classes);
}

int node(const nn_model *m, const char *name)
{
    for (int i = 0; i < m->n_nodes; i++)
        if (std::string(m->nodes[i].name) == name) return i;
    return -1;
}

class Packed : public ::testing::Test {
protected:
    void SetUp() override
    {
        char tmpl[] = "/tmp/hx_packed_XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr);
        dir = tmpl;
        path = dir + "/model.packed.h5";
        ASSERT_EQ(0, packed_fixture_model(&rt, err, sizeof err)) << err;
    }
    void TearDown() override
    {
        rt_free(&rt);
        (void)!system(("rm -rf " + dir).c_str());
    }
    std::string dir, path;
    rt_model rt{};
    char err[1024] = "";
};

TEST_F(Packed, EveryLayerTakesItsFormat)
{
    struct { const char *name; int format, enc, engine; const char *folds; } want[] = {
        {"conv", DP_FORMAT_BINARY, RT_ENC_RAW, 0, "bn"}, {"fcq", DP_FORMAT_INT8, RT_ENC_RAW, 0, nullptr}, {"fc1", DP_FORMAT_POW2_4, RT_ENC_RAW, 0, nullptr},
        {"fc2", DP_FORMAT_TERNARY, RT_ENC_RAW, 0, nullptr}, {"fc3", DP_FORMAT_CSR16, RT_ENC_RAW, 0, nullptr},
        {"fc4", DP_FORMAT_CSR16, RT_ENC_DC, 0, nullptr}, {"fcl", DP_FORMAT_LUT2, RT_ENC_RAW, 0, nullptr},
        {"fc5", DP_FORMAT_F32, RT_ENC_RAW, 1, nullptr},
    };
    for (const auto &w : want) {
        int i = node(rt.m, w.name);
        ASSERT_GE(i, 0) << w.name;
        const rt_layer &l = rt.layer[i];
        EXPECT_EQ(l.w.format, w.format) << w.name;
        EXPECT_EQ(l.enc, w.enc) << w.name;
        EXPECT_EQ(l.engine, w.engine) << w.name;
        EXPECT_EQ(l.folds, w.folds ? node(rt.m, w.folds) : -1) << w.name;
    }
    EXPECT_NE(rt.layer[node(rt.m, "fcl")].qw.payload, nullptr) << "a k-bit grid on a k-bit input runs as int8";
    EXPECT_EQ(rt.layer[node(rt.m, "fc2")].qw.payload, nullptr);
    EXPECT_TRUE(rt.folded[node(rt.m, "bn")]);
    EXPECT_FALSE(rt.folded[node(rt.m, "bn2")]) << "it follows an edge bias, not a layer";
    EXPECT_NE(rt.layer[node(rt.m, "conv")].pad_corr, nullptr) << "XNOR with zero padding";
}

TEST_F(Packed, ComputesWhatTheFloatEngineComputes)
{
    nn_model *f = packed_fixture_float(err, sizeof err);
    ASSERT_NE(f, nullptr) << err;
    nn_model_set_threads(f, 1);
    std::vector<float> x = inputs(f), want = logits(f, x), got = logits(rt.m, x);
    nn_model_free(f);
    ASSERT_EQ(want.size(), got.size());
    for (size_t i = 0; i < want.size(); i++)
        EXPECT_NEAR(got[i], want[i], 1e-4 * (1 + std::fabs(want[i]))) << "logit " << i;
}

TEST_F(Packed, SaveLoadChangesNoBitAndTheSizesAreThePayloads)
{
    std::vector<float> x = inputs(rt.m), before = logits(rt.m, x);
    hx_packed_size sz{};
    ASSERT_EQ(0, hx_packed_save(path.c_str(), &rt, &sz, err, sizeof err)) << err;
    size_t w = 0, p = 0;
    rt_model_bytes(&rt, &w, &p);
    EXPECT_EQ(sz.weight_bytes, w);
    EXPECT_EQ(sz.param_bytes, p);
    EXPECT_GT(sz.file_bytes, w + p);
    EXPECT_TRUE(hx_packed_is(path.c_str()));
    rt_model back{};
    ckpt_expect want = {{1, 4, 4}, 2};
    ASSERT_EQ(0, hx_packed_load(path.c_str(), &want, 1, &back, err, sizeof err)) << err;
    std::vector<float> after = logits(back.m, x);
    size_t w2 = 0, p2 = 0;
    rt_model_bytes(&back, &w2, &p2);
    rt_free(&back);
    EXPECT_EQ(before, after);
    EXPECT_EQ(w2, w);
    EXPECT_EQ(p2, p);
    ckpt_expect other = {{3, 4, 4}, 2};
    EXPECT_NE(0, hx_packed_load(path.c_str(), &other, 1, &back, err, sizeof err));
    EXPECT_NE(std::string(err).find("in_dims"), std::string::npos) << err;
}

// Overwrites one integer attribute (or deletes a dataset) of layers/<layer>, reseals, loads.
std::string load_after(const std::string &path, const char *layer, const char *field, long long v, bool drop)
{
    hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    std::string g = std::string("layers/") + layer;
    hid_t grp = H5Gopen2(f, g.c_str(), H5P_DEFAULT);
    if (drop) H5Ldelete(grp, field, H5P_DEFAULT);
    else {
        hid_t a = H5Aopen(grp, field, H5P_DEFAULT);
        H5Awrite(a, H5T_NATIVE_LLONG, &v);
        H5Aclose(a);
    }
    H5Gclose(grp);
    H5Fclose(f);
    EXPECT_EQ(0, h5fx_reseal(path.c_str(), "harness-packed"));
    rt_model rt{};
    char err[1024] = "";
    EXPECT_NE(0, hx_packed_load(path.c_str(), nullptr, 1, &rt, err, sizeof err));
    return err;
}

TEST_F(Packed, DamagedFieldsAreNamed)
{
    struct { const char *layer, *field; long long v; bool drop; const char *says; } cases[] = {
        {"conv", "format", 99, false, "layers/conv/format"},
        {"conv", "rows", 3, false, "layers/conv/rows"},
        {"fc2", "format", DP_FORMAT_BINARY, false, "layers/fc2/payload"},
        {"fc3", "nnz", 25, false, "layers/fc3/payload"},
        {"fcq", "format", DP_FORMAT_F32, false, "layers/fcq/payload"},
        {"fc4", "dc_entries", 20, false, "layers/fc4/"},
        {"fc4", "dc_bits", 9, false, "layers/fc4/dc_bits"},
        {"conv", "folds", 7, false, "layer 'conv': folds"},
        {"conv", "scale", 0, true, "layer 'conv': scale"},
        {"fc1", "shift", 0, true, "layer 'fc1': shift"},
        {"fc5", "engine", 0, false, "layer 'fc5': engine"},
        {"bn2", "running_var", 0, true, "layers/bn2/running_var"},
    };
    for (const auto &c : cases) {
        ASSERT_EQ(0, hx_packed_save(path.c_str(), &rt, nullptr, err, sizeof err)) << err;
        std::string e = load_after(path, c.layer, c.field, c.v, c.drop);
        EXPECT_NE(e.find(c.says), std::string::npos) << c.layer << "/" << c.field << ": " << e;
    }
}

TEST_F(Packed, Int8InputGridMustBeTheLayersTransform)
{
    rt_layer &l = rt.layer[node(rt.m, "fcq")];
    ASSERT_EQ(l.w.format, DP_FORMAT_INT8);
    dp_int8_head(&l.w)->x_zero += 1;
    ASSERT_EQ(0, hx_packed_save(path.c_str(), &rt, nullptr, err, sizeof err)) << err;
    dp_int8_head(&l.w)->x_zero -= 1;
    rt_model back{};
    EXPECT_NE(0, hx_packed_load(path.c_str(), nullptr, 1, &back, err, sizeof err));
    EXPECT_NE(std::string(err).find("layer 'fcq': payload: int8 input grid"), std::string::npos) << err;
}

}  // namespace
