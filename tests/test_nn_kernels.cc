// The fast conv / linear / AdderNet kernels against the scalar references in nn/kernels_ref.c,
// on random shapes (odd sizes, strides 1-2, padding 0-2, batch 1 and 7, 1 and 2 threads), with
// pre-filled gradients so accumulation (+=) is checked too; and determinism for a fixed
// thread count.
extern "C" {
#include "support/layer_fixture.h"
#include "nn/kernels_ref.h"
}
#include <gtest/gtest.h>
#include <cmath>
#include <cstring>
#include <vector>

namespace {

nn_node weighted(nn_kind kind, int out_c, int k, int stride, int pad, int bias, nn_kernel kern)
{
    nn_node t;
    std::memset(&t, 0, sizeof t);
    t.kind = kind;
    std::strcpy(t.name, "k");
    t.out_c = out_c; t.k = k; t.stride = stride; t.pad = pad; t.has_bias = bias; t.kernel = kern;
    return t;
}

void expect_all_near(const float *a, const float *b, size_t n, double tol, const char *what)
{
    int bad = 0;
    for (size_t i = 0; i < n && bad < 5; i++)
        if (!(std::fabs((double)a[i] - b[i]) <= tol * (1.0 + std::fabs((double)b[i])))) {
            bad++;
            ADD_FAILURE() << what << "[" << i << "]: fast " << a[i] << " vs reference " << b[i];
        }
}

// Runs forward + backward of L (dout random, gradients pre-filled) and the references on
// copies of the same data; compares out, gw, gb, dx.
void versus_reference(lf_layer *L, const nn_ref_conv *conv_shape)
{
    nn_node *n = L->n;
    lf_rng r = lf_rng_make(17);
    lf_fill(&r, n->dout, L->out_len, -1.0f, 1.0f);
    std::vector<float> gw0(n->nw), gb0(n->nb), dx0(L->in_len);
    lf_fill(&r, gw0.data(), gw0.size(), -1.0f, 1.0f);
    lf_fill(&r, gb0.data(), gb0.size(), -1.0f, 1.0f);
    lf_fill(&r, dx0.data(), dx0.size(), -1.0f, 1.0f);

    lf_forward(L, 1);
    std::memcpy(n->gw, gw0.data(), n->nw * sizeof(float));
    if (n->nb) std::memcpy(n->gb, gb0.data(), n->nb * sizeof(float));
    std::memcpy(L->dx0, dx0.data(), L->in_len * sizeof(float));
    nn_layer_table[n->kind].backward(L->m, n, L->x0, NULL, L->dx0, NULL, L->batch);

    std::vector<float> y(L->out_len), gw = gw0, gb = gb0, dx = dx0;
    const float *b = n->nb ? n->b : NULL;
    float *gbp = n->nb ? gb.data() : NULL;
    if (conv_shape) {
        nn_ref_conv_forward(conv_shape, L->x0, n->w, b, y.data());
        nn_ref_conv_backward(conv_shape, L->x0, n->w, n->dout, dx.data(), gw.data(), gbp);
    } else {
        int in = (int)nn_dims_size(n->in_dims);
        nn_ref_linear_forward(L->batch, in, n->out_c, n->kernel, L->x0, n->w, b, y.data());
        nn_ref_linear_backward(L->batch, in, n->out_c, n->kernel, L->x0, n->w, n->dout, dx.data(),
                               gw.data(), gbp);
    }
    expect_all_near(n->out, y.data(), L->out_len, 1e-4, "out");
    expect_all_near(n->gw, gw.data(), n->nw, 1e-3, "gw");
    expect_all_near(n->gb, gb.data(), n->nb, 1e-3, "gb");
    expect_all_near(L->dx0, dx.data(), L->in_len, 1e-4, "dx");
}

struct ConvCase { int c, h, w, o, k, s, p, bias; };

const ConvCase kConvCases[] = {
    { 1, 28, 28, 6, 5, 1, 2, 1 }, { 6, 13, 11, 16, 5, 1, 0, 1 }, { 3, 9, 9, 5, 3, 2, 1, 0 },
    { 4, 7, 8, 3, 3, 2, 2, 1 },   { 5, 6, 6, 7, 1, 1, 0, 1 },    { 3, 11, 10, 4, 1, 2, 0, 0 },
    { 2, 5, 7, 3, 4, 1, 1, 1 },   { 3, 8, 8, 8, 3, 1, 1, 0 },
    { 4, 9, 9, 40, 3, 1, 1, 1 },  /* stride 1 with many filters: ordinary (not wide) columns */
    { 3, 10, 9, 40, 3, 1, 0, 1 }, /* ... and without padding (the unchecked copy path) */
    { 16, 8, 8, 16, 3, 1, 1, 0 }, /* oneDNN: Winograd weight gradients, direct otherwise */
    { 32, 7, 6, 32, 3, 1, 1, 1 }, /* oneDNN: Winograd in every pass (on AVX-512), odd tiles */
};

// gemm_only: the engine's own im2col + GEMM path instead of oneDNN's primitives.
void conv_cases(nn_kernel kern, int gemm_only)
{
    for (const ConvCase &c : kConvCases)
        for (int batch : { 1, 7 })
            for (int threads : { 1, 2 }) {
                SCOPED_TRACE(testing::Message() << "c" << c.c << " " << c.h << "x" << c.w << " o" << c.o
                             << " k" << c.k << " s" << c.s << " p" << c.p << " batch " << batch
                             << " threads " << threads << " gemm_only " << gemm_only);
                lf_layer L;
                char err[256] = "";
                nn_node t = weighted(NN_CONV, c.o, c.k, c.s, c.p, c.bias, kern);
                ASSERT_EQ(lf_init(&L, &t, { c.c, c.h, c.w }, batch, threads, 11, err, sizeof err), 0) << err;
                nn_model_set_conv_gemm_only(L.m, gemm_only);
                nn_ref_conv shape = { batch, c.c, c.h, c.w, c.o, c.k, c.s, c.p, kern };
                EXPECT_EQ(L.n->out_dims.h, nn_ref_conv_out(c.h, c.k, c.s, c.p));
                EXPECT_EQ(L.n->out_dims.w, nn_ref_conv_out(c.w, c.k, c.s, c.p));
                versus_reference(&L, &shape);
                lf_free(&L);
            }
}

TEST(Kernels, ConvMacMatchesReference) { conv_cases(NN_KERNEL_MAC, 0); }
TEST(Kernels, ConvMacGemmPathMatchesReference) { conv_cases(NN_KERNEL_MAC, 1); }
TEST(Kernels, ConvAdderMatchesReference) { conv_cases(NN_KERNEL_ADDER, 0); }

TEST(Kernels, LinearMatchesReference)
{
    for (nn_kernel kern : { NN_KERNEL_MAC, NN_KERNEL_ADDER })
        for (int batch : { 1, 7 })
            for (int bias : { 0, 1 }) {
                SCOPED_TRACE(testing::Message() << "kernel " << kern << " batch " << batch << " bias " << bias);
                lf_layer L;
                char err[256] = "";
                nn_node t = weighted(NN_LINEAR, 13, 0, 1, 0, bias, kern);
                ASSERT_EQ(lf_init(&L, &t, { 3, 5, 3 }, batch, 2, 23, err, sizeof err), 0) << err;
                versus_reference(&L, NULL);
                lf_free(&L);
            }
}

// Same inputs, same thread count: bit-identical outputs and gradients.
TEST(Kernels, DeterministicForFixedThreads)
{
    for (nn_kernel kern : { NN_KERNEL_MAC, NN_KERNEL_ADDER }) {
        std::vector<float> first[3];
        for (int run = 0; run < 2; run++) {
            lf_layer L;
            char err[256] = "";
            nn_node t = weighted(NN_CONV, 8, 3, 1, 1, 1, kern);
            ASSERT_EQ(lf_init(&L, &t, { 4, 10, 10 }, 9, 2, 31, err, sizeof err), 0) << err;
            lf_rng r = lf_rng_make(3);
            lf_fill(&r, L.n->dout, L.out_len, -1.0f, 1.0f);
            lf_forward(&L, 1);
            lf_backward(&L);
            std::vector<float> got[3] = { { L.n->out, L.n->out + L.out_len },
                                          { L.n->gw, L.n->gw + L.n->nw },
                                          { L.dx0, L.dx0 + L.in_len } };
            for (int k = 0; k < 3; k++) {
                if (run == 0) first[k] = got[k];
                else EXPECT_EQ(std::memcmp(first[k].data(), got[k].data(), got[k].size() * sizeof(float)), 0);
            }
            lf_free(&L);
        }
    }
}

// Shape errors come back as messages naming the node.
TEST(Kernels, InferRejectsBadShapes)
{
    lf_layer L;
    char err[256] = "";
    nn_node t = weighted(NN_CONV, 4, 7, 1, 0, 1, NN_KERNEL_MAC);
    std::strcpy(t.name, "conv_big");
    EXPECT_NE(lf_init(&L, &t, { 3, 5, 5 }, 1, 1, 1, err, sizeof err), 0);
    EXPECT_NE(std::strstr(err, "conv_big"), nullptr) << err;
    EXPECT_NE(std::strstr(err, "larger"), nullptr) << err;
    nn_node z = weighted(NN_LINEAR, 0, 0, 1, 0, 1, NN_KERNEL_MAC);
    std::strcpy(z.name, "fc_zero");
    EXPECT_NE(lf_init(&L, &z, { 3, 1, 1 }, 1, 1, 1, err, sizeof err), 0);
    EXPECT_NE(std::strstr(err, "fc_zero"), nullptr) << err;
    nn_node h = weighted(NN_HARDTANH, 0, 0, 1, 0, 0, NN_KERNEL_MAC);
    EXPECT_NE(lf_init(&L, &h, { 3, 1, 1 }, 1, 1, 1, err, sizeof err), 0) << "clip 0 must be rejected";
    nn_node p = weighted(NN_MAXPOOL, 0, 3, 2, 2, 0, NN_KERNEL_MAC);
    EXPECT_NE(lf_init(&L, &p, { 3, 8, 8 }, 1, 1, 1, err, sizeof err), 0) << "pad > k/2 must be rejected";
}

TEST(Kernels, LayerTableComplete)
{
    for (int k = 0; k < NN_KIND_COUNT; k++) {
        const nn_layer_ops *o = &nn_layer_table[k];
        EXPECT_TRUE(o->name && o->infer && o->forward && o->backward) << "kind " << k;
    }
    EXPECT_EQ(nn_layer_table[NN_ADD].n_inputs, 2);
    EXPECT_EQ(nn_layer_table[NN_INPUT].n_inputs, 0);
}

}  // namespace
