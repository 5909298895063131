// The packed runtime's XNOR convolution (runtime/exec.c: dp_xnor_pack_conv on the float input,
// weights permuted once by rt_attach, K and the affine in the GEMM's epilogue) against the path
// it replaced, written out here: the engine's transform (sign x K), im2col, sign packing, the
// popcount GEMM with the stored weights at alpha 1, the padding correction from im2col of ones,
// (alpha K)(d - corr), then the affine. Random layers, bit for bit, 1 and 2 threads.
#include <gtest/gtest.h>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>
extern "C" {
#include "deploy/kernels.h"
#include "methods/input_transforms.h"
#include "nn/im2col.h"
#include "runtime/packed.h"
}

namespace {

struct Layer { int c, h, w, out_c, k, stride, pad, bias, bn; };

int node(const nn_model *m, const char *name)
{
    for (int i = 0; i < m->n_nodes; i++)
        if (std::string(m->nodes[i].name) == name) return i;
    return -1;
}

nn_model *xnor_model(const Layer &L, std::mt19937 &g, char *err, size_t errlen)
{
    const nn_dims in = { L.c, L.h, L.w };
    nn_builder *b = nn_builder_new("xnor-conv", in, 2);
    int c = nn_add_conv(b, "conv", -1, L.out_c, L.k, L.stride, L.pad, L.bias);
    int top = L.bn ? nn_add_bn(b, "bn", c) : c;
    nn_add_linear(b, "fc", nn_add_flatten(b, "flat", top), 2, 1);
    nn_model *m = nn_builder_finish(b, err, errlen);
    if (!m) return nullptr;
    std::normal_distribution<float> nd(0.0f, 0.5f);
    nn_node *n = m->nodes;
    const size_t fs = n[c].nw / (size_t)L.out_c;   // a BWN filter: +-alpha, alpha per row
    for (int r = 0; r < L.out_c; r++) {
        const float alpha = 0.05f + std::fabs(nd(g));
        for (size_t i = 0; i < fs; i++) n[c].w[r * fs + i] = g() % 2 ? alpha : -alpha;
    }
    for (size_t i = 0; i < n[c].nb; i++) n[c].b[i] = nd(g);
    if (L.bn)
        for (int k = 0; k < L.out_c; k++) {
            n[c + 1].w[k] = 1.0f + nd(g); n[c + 1].b[k] = nd(g);
            n[c + 1].run_mean[k] = nd(g); n[c + 1].run_var[k] = 0.5f + std::fabs(nd(g));
        }
    static const float none[NN_XT_ARGS] = { 0 };
    if (mt_xt_install(&n[c], MT_XT_SIGN_MEAN, none, err, errlen) != 0) { nn_model_free(m); return nullptr; }
    n[c].wform = nn_wform{};
    n[c].wform.kind = NN_WFORM_BINARY;
    return m;
}

// The replaced path, for one batch of the conv node of rt.
std::vector<float> im2col_path(const rt_model &rt, int conv, const std::vector<float> &x, int batch)
{
    nn_node *n = &rt.m->nodes[conv];
    const rt_layer &l = rt.layer[conv];
    const nn_conv_geom geo = nn_conv_geom_of(n);
    const size_t per = nn_dims_size(n->in_dims), k = nn_conv_geom_rows(&geo), hw = nn_conv_geom_cols(&geo);
    const int rows = l.w.rows;
    char err[256];
    dp_matrix unit;
    EXPECT_EQ(dp_matrix_load(&unit, DP_FORMAT_BINARY, rows, l.w.cols, l.w.nnz, l.w.payload, l.w.bytes, err, sizeof err), 0);
    for (int r = 0; r < rows; r++) dp_binary_alpha(&unit)[r] = 1;
    const dp_exec ex = dp_exec_default(1);
    std::vector<float> corr((size_t)rows * hw, 0.0f), ones(per, 1.0f), pad(k * hw);
    if (geo.pad > 0) {
        nn_im2col(&geo, ones.data(), pad.data(), hw);
        for (float &v : pad) v = 1 - v;
        dp_gemm(&unit, (int)hw, pad.data(), hw, corr.data(), hw, &ex);
    }
    std::vector<float> xq(x.size()), col(k * hw), y((size_t)batch * rows * hw);
    std::vector<uint64_t> xb((k + 63) / 64 * hw);
    n->xt->forward(n->xt_ctx, n, x.data(), xq.data(), per, batch);
    for (int s = 0; s < batch; s++) {
        nn_im2col(&geo, xq.data() + s * per, col.data(), hw);
        dp_bits_pack_cols((int)k, (int)hw, col.data(), hw, xb.data(), hw, &ex);
        float *ys = y.data() + (size_t)s * rows * hw;
        dp_xnor_gemm(&unit, (int)hw, xb.data(), hw, nullptr, ys, hw, &ex);
        const float kx = std::fabs(xq[s * per]), *alpha = dp_binary_alpha(&l.w);
        for (int r = 0; r < rows; r++)
            for (size_t j = 0; j < hw; j++) {
                float &v = ys[r * hw + j];
                v = geo.pad > 0 ? (alpha[r] * kx) * (v - corr[r * hw + j]) : (alpha[r] * kx) * v;
                if (l.scale) v = v * l.scale[r] + l.shift[r];
                else if (l.shift) v += l.shift[r];
            }
    }
    dp_matrix_free(&unit);
    return y;
}

TEST(PackedXnor, ConvEqualsTheIm2colPathBitForBit)
{
    std::mt19937 g(31);
    char err[512] = "";
    const Layer layers[] = {
        { 16, 9, 9, 16, 3, 1, 1, 0, 1 }, { 3, 7, 6, 5, 3, 1, 1, 1, 0 }, { 17, 6, 7, 4, 3, 2, 1, 0, 1 },
        { 64, 5, 5, 9, 3, 1, 1, 0, 1 }, { 70, 4, 5, 3, 1, 1, 0, 1, 1 }, { 130, 3, 4, 2, 3, 2, 2, 0, 0 },
        { 1, 11, 8, 6, 5, 1, 2, 1, 1 }, { 32, 8, 8, 8, 1, 2, 0, 0, 1 }, { 5, 12, 13, 7, 5, 2, 0, 1, 0 },
    };
    for (const Layer &L : layers)
        for (int threads : { 1, 2 })
            for (int batch : { 1, 3 }) {
                SCOPED_TRACE("c" + std::to_string(L.c) + " k" + std::to_string(L.k) + " s" + std::to_string(L.stride) +
                             " p" + std::to_string(L.pad) + " t" + std::to_string(threads) + " b" + std::to_string(batch));
                nn_model *m = xnor_model(L, g, err, sizeof err);
                ASSERT_NE(m, nullptr) << err;
                rt_model rt{};
                ASSERT_EQ(rt_from_model(&rt, m, threads, err, sizeof err), 0) << err;
                const int conv = node(rt.m, "conv");
                ASSERT_NE(rt.layer[conv].xw.payload, nullptr) << "the XNOR conv runs on permuted weights";
                EXPECT_EQ(rt.layer[conv].pad_corr != nullptr, L.pad > 0);
                const size_t per = (size_t)L.c * L.h * L.w;
                std::vector<float> x(per * batch);
                std::normal_distribution<float> nd(0.0f, 1.0f);
                for (size_t i = 0; i < x.size(); i++) x[i] = i % 7 == 0 ? 0.0f : nd(g);
                x[1] = -0.0f;
                const std::vector<float> want = im2col_path(rt, conv, x, batch);
                nn_forward(rt.m, x.data(), batch, 0);
                ASSERT_EQ(std::memcmp(rt.m->nodes[conv].out, want.data(), want.size() * sizeof(float)), 0);
                rt_free(&rt);
            }
}

}  // namespace
