// INT8 (deploy/format_int8.c, gemm_int8.c): oneDNN's int8 matmul against its scalar reference
// twin, bit for bit (the sums are integers; both round only the final product by the row's
// scale); packing finds the grid of PTQ's weights exactly; and a small PTQ-style network
// (8-bit weights per channel, every conv/linear input on an 8-bit uniform grid) run packed
// agrees with the simulated (fake-quantized fp32) network, also after a save -> load.
extern "C" {
#include "deploy/format.h"
#include "deploy/kernels_ref.h"
#include "harness/packed_file.h"
#include "methods/input_transforms.h"
#include "methods/quant_util.h"
#include "runtime/packed.h"
}
#include <gtest/gtest.h>
#include <unistd.h>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace {

// Weights on a per-row (or one per-matrix) k-bit grid, as methods/ptq.c makes them.
std::vector<float> grid_weights(int rows, int cols, int bits, bool symmetric, bool per_row, std::mt19937 &g)
{
    std::normal_distribution<float> nd(0.0f, 0.4f);
    std::vector<float> w((size_t)rows * cols);
    for (float &v : w) v = nd(g);
    int groups = per_row ? rows : 1;
    size_t len = w.size() / groups;
    for (int k = 0; k < groups; k++) {
        float lo = INFINITY, hi = -INFINITY;
        for (size_t j = 0; j < len; j++) { lo = std::fmin(lo, w[k * len + j]); hi = std::fmax(hi, w[k * len + j]); }
        qu_uniform q = qu_uniform_range(lo, hi, bits, symmetric);
        for (size_t j = 0; j < len; j++) w[k * len + j] = qu_uniform_fake(&q, w[k * len + j]);
    }
    return w;
}

std::vector<float> unpacked(const dp_matrix &m)
{
    std::vector<float> w((size_t)m.rows * m.cols);
    dp_format_table[DP_FORMAT_INT8].unpack(&m, w.data());
    return w;
}

TEST(Int8, OneDnnMatmulEqualsTheScalarReferenceBitForBit)
{
    std::mt19937 g(3);
    std::normal_distribution<float> nd(0.0f, 1.5f);
    char err[256];
    for (int k : { 1, 63, 300, 1201 })
        for (int rows : { 1, 5, 17 })
            for (int n : { 1, 7, 70 }) {
                SCOPED_TRACE(std::to_string(rows) + "x" + std::to_string(k) + " . " + std::to_string(n));
                std::vector<float> w = grid_weights(rows, k, 8, true, true, g);
                if (rows > 1) w[k] = -128 * (w[k] == 0 ? 0.01f : std::fabs(w[k]));   // int8's -128 too
                dp_matrix m;
                ASSERT_EQ(dp_matrix_pack(&m, DP_FORMAT_INT8, rows, k, w.data(), err, sizeof err), 0) << err;
                ASSERT_EQ(dp_int8_set_input(&m, 0.0125f, 37, 255, err, sizeof err), 0) << err;
                const size_t ldx = n + 3, ldy = n + 5;
                std::vector<float> x((size_t)k * ldx, NAN);
                for (int c = 0; c < k; c++)
                    for (int j = 0; j < n; j++) x[(size_t)c * ldx + j] = nd(g);   // past the grid too: clamped
                std::vector<float> ref((size_t)rows * ldy, -7.0f), y((size_t)rows * ldy, -7.0f);
                dp_ref_gemm_int8(&m, n, x.data(), ldx, ref.data(), ldy);
                const dp_exec ex = dp_exec_default(1);
                dp_gemm(&m, n, x.data(), ldx, y.data(), ldy, &ex);
                ASSERT_EQ(std::memcmp(ref.data(), y.data(), y.size() * sizeof(float)), 0);
                // and the reference is the dequantized product: w . (x_scale (u - zero))
                const float *s = dp_int8_scale(&m);
                w = unpacked(m);   // the -128 row's other weights went to its nearest grid
                for (int r = 0; r < rows; r++)
                    for (int j = 0; j < n; j++) {
                        double want = 0, mag = 0;
                        for (int c = 0; c < k; c++) {
                            double u = std::fmin(255, std::fmax(0, std::nearbyint(x[(size_t)c * ldx + j] / 0.0125f) + 37));
                            want += (double)w[(size_t)r * k + c] * 0.0125 * (u - 37);
                            mag += std::fabs((double)w[(size_t)r * k + c] * 0.0125 * (u - 37));
                        }
                        ASSERT_NEAR(ref[(size_t)r * ldy + j], want, 4e-7 * mag + 1e-30) << r << "," << j << " scale " << s[r];
                    }
                dp_matrix_free(&m);
            }
}

TEST(Int8, PackFindsPtqGridsExactlyAndIsCanonical)
{
    std::mt19937 g(5);
    char err[256];
    struct { int bits; bool symmetric, per_row; } grids[] = {
        { 8, true, true }, { 8, true, false }, { 4, true, true }, { 2, true, false }, { 7, false, true },
    };
    for (const auto &q : grids)
        for (int cols : { 1, 9, 75, 400 }) {
            SCOPED_TRACE(std::to_string(q.bits) + (q.symmetric ? " sym" : " asym") + (q.per_row ? " row " : " tensor ") +
                         std::to_string(cols));
            const int rows = 6;
            std::vector<float> w = grid_weights(rows, cols, q.bits, q.symmetric, q.per_row, g);
            dp_matrix a, b;
            ASSERT_EQ(dp_matrix_pack(&a, DP_FORMAT_INT8, rows, cols, w.data(), err, sizeof err), 0) << err;
            std::vector<float> back = unpacked(a);
            for (size_t i = 0; i < w.size(); i++) ASSERT_EQ(back[i], w[i]) << "weight " << i;
            ASSERT_EQ(dp_matrix_pack(&b, DP_FORMAT_INT8, rows, cols, back.data(), err, sizeof err), 0) << err;
            EXPECT_EQ(std::memcmp(a.payload, b.payload, a.bytes), 0);
            dp_matrix_free(&a);
            dp_matrix_free(&b);
        }
    // 8-bit asymmetric weights whose integers q - zero span more than int8 are not on its grid
    std::vector<float> w(8);
    for (int c = 0; c < 8; c++) w[c] = 0.01f * (float)(c * 36 - 30);   // -30 .. 222 steps
    dp_matrix m;
    ASSERT_EQ(dp_matrix_pack(&m, DP_FORMAT_INT8, 1, 8, w.data(), err, sizeof err), 0) << err;
    std::vector<float> back = unpacked(m);
    bool exact = true;
    for (int c = 0; c < 8; c++) exact = exact && back[c] == w[c];
    EXPECT_FALSE(exact) << "stored to the nearest symmetric grid, so the exporter keeps such a layer fp32";
    dp_matrix_free(&m);
    // the input grid must be a grid
    ASSERT_EQ(dp_matrix_pack(&m, DP_FORMAT_INT8, 1, 8, w.data(), err, sizeof err), 0) << err;
    EXPECT_NE(dp_int8_set_input(&m, 0.0f, 0, 255, err, sizeof err), 0);
    EXPECT_NE(dp_int8_set_input(&m, 1.0f, 20, 15, err, sizeof err), 0);
    EXPECT_NE(std::string(err).find("zero point 20"), std::string::npos) << err;
    dp_matrix_free(&m);
}

// conv 3x3 (padding 1) -> relu -> maxpool -> conv 3x3 -> relu -> linear, PTQ-style.
nn_model *ptq_net(std::mt19937 &g)
{
    char err[256];
    nn_builder *b = nn_builder_new("int8net", (nn_dims){ 2, 8, 8 }, 10);
    int c1 = nn_add_conv(b, "c1", -1, 8, 3, 1, 1, 1);
    int r1 = nn_add_relu(b, "r1", c1);
    int p1 = nn_add_maxpool(b, "p1", r1, 2, 2);
    int c2 = nn_add_conv(b, "c2", p1, 16, 3, 1, 1, 1);
    int r2 = nn_add_relu(b, "r2", c2);
    int f = nn_add_flatten(b, "flat", r2);
    nn_add_linear(b, "fc", f, 10, 1);
    nn_model *m = nn_builder_finish(b, err, sizeof err);
    EXPECT_NE(m, nullptr) << err;
    std::normal_distribution<float> nd(0.0f, 0.3f);
    const float range[3][2] = { { -1.0f, 1.0f }, { 0.0f, 1.5f }, { 0.0f, 2.0f } };   // c1 input in [-1.2, 1.2]: clips
    int layer = 0;
    for (int i = 0; i < m->n_nodes; i++) {
        nn_node *n = &m->nodes[i];
        if (!nn_is_weighted(n)) continue;
        std::vector<float> w = grid_weights(n->out_c, (int)(n->nw / n->out_c), 8, true, layer != 1, g);
        std::copy(w.begin(), w.end(), n->w);
        for (size_t j = 0; j < n->nb; j++) n->b[j] = nd(g) * 0.1f;
        const float args[NN_XT_ARGS] = { 8, range[layer][0], range[layer][1] };
        EXPECT_EQ(mt_xt_install(n, MT_XT_UNIFORM, args, err, sizeof err), 0) << err;
        layer++;
    }
    return m;
}

TEST(Int8, PackedNetworkAgreesWithTheSimulatedOne)
{
    std::mt19937 g(9);
    nn_model *sim = ptq_net(g);
    ASSERT_NE(sim, nullptr);
    nn_model_set_threads(sim, 1);
    rt_model rt;
    char err[512] = "";
    ASSERT_EQ(rt_from_model(&rt, nn_model_clone(sim), 1, err, sizeof err), 0) << err;
    for (int i = 0; i < rt.m->n_nodes; i++)
        if (rt.layer[i].present) EXPECT_EQ(rt.layer[i].w.format, DP_FORMAT_INT8) << rt.m->nodes[i].name;
    const int batch = 64, rounds = 4;
    std::uniform_real_distribution<float> u(-1.2f, 1.2f);
    std::vector<float> x((size_t)batch * 128);
    int agree = 0, total = 0;
    double worst = 0;
    for (int k = 0; k < rounds; k++) {
        for (float &v : x) v = u(g);
        const float *ws = nn_forward(sim, x.data(), batch, 0);
        std::vector<float> want(ws, ws + batch * 10);
        const float *got = nn_forward(rt.m, x.data(), batch, 0);
        for (int s = 0; s < batch; s++) {
            int a = 0, b = 0;
            for (int c = 0; c < 10; c++) {
                worst = std::fmax(worst, std::fabs(got[s * 10 + c] - want[s * 10 + c]) / (1 + std::fabs(want[s * 10 + c])));
                if (want[s * 10 + c] > want[s * 10 + a]) a = c;
                if (got[s * 10 + c] > got[s * 10 + b]) b = c;
            }
            agree += a == b;
            total++;
        }
    }
    std::printf("int8 packed vs simulated: argmax agreement %d / %d, largest logit difference %.3g (relative)\n",
                agree, total, worst);
    // only f32 rounding in the simulation differs: where it puts an activation on the other side
    // of a rounding midpoint, that activation moves one step of its grid (here up to ~1e-2 of a
    // logit); no prediction changes (measured: 256 of 256 agree, largest difference 0.0046)
    EXPECT_EQ(agree, total);
    EXPECT_LT(worst, 2e-2);
    // the packed file keeps every bit
    char dir[] = "/tmp/hx_int8_XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    std::string path = std::string(dir) + "/model.packed.h5";
    ASSERT_EQ(hx_packed_save(path.c_str(), &rt, nullptr, err, sizeof err), 0) << err;
    rt_model back;
    ASSERT_EQ(hx_packed_load(path.c_str(), nullptr, 1, &back, err, sizeof err), 0) << err;
    const float *bs = nn_forward(rt.m, x.data(), batch, 0);
    std::vector<float> before(bs, bs + batch * 10);
    const float *after = nn_forward(back.m, x.data(), batch, 0);
    EXPECT_EQ(std::memcmp(before.data(), after, before.size() * sizeof(float)), 0);
    rt_free(&back);
    rt_free(&rt);
    nn_model_free(sim);
    unlink(path.c_str());
    rmdir(dir);
}

}  // namespace
