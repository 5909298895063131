// INT8 convolution (deploy/conv_int8.c): oneDNN's int8 convolution over a whole batch against
// the scalar reference twin (deploy/kernels_ref.c), bit for bit, on random shapes with odd
// sizes, padding, stride 2, a nonzero zero point (padded taps must read the real value 0) and
// inputs past the grid; and the reference against what the per-sample path computed before it
// (im2col, the INT8 GEMM's reference, the runtime's per-row affine). The same for the INT8
// linear layer on sample-major activations (deploy/gemm_int8.c), as 1x1 cases of the shapes.
extern "C" {
#include "deploy/format.h"
#include "deploy/kernels.h"
#include "deploy/kernels_ref.h"
#include "nn/im2col.h"
}
#include <gtest/gtest.h>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace {

struct Case {
    dp_conv_shape s;
    int rows;
    float x_scale;
    int zero, qmax;
    int affine;   // 0 none, 1 shift only, 2 scale and shift
};

std::string name_of(const Case &c)
{
    char b[160];
    snprintf(b, sizeof b, "n%d c%d %dx%d -> %d k%d s%d p%d, grid %g zero %d top %d, affine %d", c.s.n, c.s.c, c.s.h, c.s.w,
             c.rows, c.s.k, c.s.stride, c.s.pad, c.x_scale, c.zero, c.qmax, c.affine);
    return b;
}

struct Layer {
    dp_matrix m{};
    std::vector<float> x, scale, shift;
    int oh = 0, ow = 0;
    ~Layer() { dp_matrix_free(&m); }
};

// Weights on a per-row 8-bit grid with int8's -128 in row 0; inputs around the grid's range and past it.
void make(const Case &c, std::mt19937 &g, Layer &l)
{
    const int cols = c.s.c * c.s.k * c.s.k;
    std::uniform_int_distribution<int> q(-128, 127);
    std::uniform_real_distribution<float> sc(0.001f, 0.05f);
    std::vector<float> w((size_t)c.rows * cols);
    for (int r = 0; r < c.rows; r++) {
        const float s = sc(g);
        for (int k = 0; k < cols; k++) w[(size_t)r * cols + k] = s * (float)q(g);
        if (r == 0) w[0] = -128 * s;
    }
    char err[256];
    ASSERT_EQ(dp_matrix_pack(&l.m, DP_FORMAT_INT8, c.rows, cols, w.data(), err, sizeof err), 0) << err;
    ASSERT_EQ(dp_int8_set_input(&l.m, c.x_scale, c.zero, c.qmax, err, sizeof err), 0) << err;
    const float lo = -c.x_scale * (float)c.zero, hi = c.x_scale * (float)(c.qmax - c.zero);
    std::uniform_real_distribution<float> xd(lo - 0.3f * (hi - lo), hi + 0.3f * (hi - lo));
    l.x.resize((size_t)c.s.n * c.s.c * c.s.h * c.s.w);
    for (float &v : l.x) v = xd(g);
    std::normal_distribution<float> nd(0.0f, 1.0f);
    l.scale.resize(c.rows);
    l.shift.resize(c.rows);
    for (int r = 0; r < c.rows; r++) { l.scale[r] = 0.5f + std::fabs(nd(g)); l.shift[r] = nd(g); }
    l.oh = dp_conv_out(c.s.h, c.s.k, c.s.stride, c.s.pad);
    l.ow = dp_conv_out(c.s.w, c.s.k, c.s.stride, c.s.pad);
}

std::vector<Case> random_cases()
{
    std::mt19937 g(11);
    auto pick = [&g](std::initializer_list<int> v) { return *(v.begin() + g() % v.size()); };
    std::vector<Case> cases;
    // the shapes the tests must cover, then random ones
    cases.push_back({ { 3, 5, 9, 7, 3, 2, 1 }, 7, 0.02f, 37, 255, 2 });     // odd sizes, stride 2, padding, zero 37
    cases.push_back({ { 2, 3, 11, 11, 5, 1, 2 }, 9, 0.01f, 200, 255, 1 });  // zero near the top, pad 2
    cases.push_back({ { 1, 1, 28, 28, 5, 1, 0 }, 20, 0.0078f, 0, 255, 2 }); // LeNet-5's first layer
    cases.push_back({ { 2, 16, 8, 8, 1, 2, 0 }, 32, 0.05f, 5, 63, 0 });     // 1x1 shortcut, a 6-bit grid
    for (int i = 0; i < 8; i++) {
        Case c{};
        c.s.n = pick({ 1, 2, 3, 5 });
        c.s.c = pick({ 1, 3, 4, 7, 16, 17 });
        c.s.k = pick({ 1, 3, 3, 5 });
        c.s.stride = pick({ 1, 2 });
        c.s.pad = pick({ 0, 1, 2 }) % (c.s.k / 2 + 1);
        c.s.h = pick({ 5, 7, 9, 13 });
        c.s.w = pick({ 5, 6, 11, 15 });
        c.rows = pick({ 1, 5, 16, 33 });
        c.qmax = pick({ 255, 255, 127 });
        c.zero = (int)(g() % (unsigned)(c.qmax + 1));
        c.x_scale = 0.004f * (float)(1 + g() % 10);
        c.affine = (int)(g() % 3);
        cases.push_back(c);
    }
    return cases;
}

const float *a_scale(const Case &c, const Layer &l) { return c.affine == 2 ? l.scale.data() : nullptr; }
const float *a_shift(const Case &c, const Layer &l) { return c.affine >= 1 ? l.shift.data() : nullptr; }

TEST(ConvInt8, OneDnnEqualsTheScalarReferenceBitForBit)
{
    if (!dp_int8_conv_onednn())
        GTEST_SKIP() << "this CPU has no VNNI: oneDNN's u8 x s8 sums are not exact here, so dp_int8_conv runs the "
                        "scalar reference itself and there is no oneDNN result to compare";
    std::mt19937 g(7);
    const dp_exec ex = dp_exec_default(2);
    for (const Case &c : random_cases()) {
        SCOPED_TRACE(name_of(c));
        Layer l;
        make(c, g, l);
        if (HasFatalFailure()) return;
        const size_t ny = (size_t)c.s.n * c.rows * l.oh * l.ow;
        std::vector<float> ref(ny, -7.0f), y(ny, -7.0f);
        dp_ref_conv_int8(&l.m, &c.s, l.x.data(), ref.data(), a_scale(c, l), a_shift(c, l));
        for (int rep = 0; rep < 2 + DP_ISA_COUNT; rep++) {   // again from the cached primitive; then each level's rounding loop
            const dp_exec at = rep < 2 ? ex : dp_exec{ (dp_isa)(rep - 2), rep % 2 + 1 };
            if (!dp_isa_supported(at.isa)) continue;
            std::fill(y.begin(), y.end(), -7.0f);
            dp_int8_conv(&l.m, &c.s, l.x.data(), y.data(), a_scale(c, l), a_shift(c, l), &at);
            size_t first = ny;
            for (size_t i = 0; i < ny && first == ny; i++)
                if (std::memcmp(&y[i], &ref[i], sizeof(float)) != 0) first = i;
            ASSERT_EQ(first, ny) << dp_isa_name(at.isa) << ": first difference at " << first << ": " << y[first] << " vs " << ref[first]
                                 << " (" << dp_int8_conv_impl(&l.m, &c.s) << ")";
        }
    }
}

// The reference is what the runtime computed per sample before: im2col (padded taps read 0,
// which the grid rounds to the zero point), the INT8 GEMM's reference, then the affine.
TEST(ConvInt8, ReferenceEqualsIm2colThroughTheGemmReference)
{
    std::mt19937 g(9);
    for (const Case &c : random_cases()) {
        SCOPED_TRACE(name_of(c));
        Layer l;
        make(c, g, l);
        if (HasFatalFailure()) return;
        const int npix = l.oh * l.ow, cols = l.m.cols;
        const size_t ny = (size_t)c.s.n * c.rows * npix;
        std::vector<float> ref(ny), want(ny), col((size_t)cols * npix);
        dp_ref_conv_int8(&l.m, &c.s, l.x.data(), ref.data(), a_scale(c, l), a_shift(c, l));
        const nn_conv_geom geo = { c.s.c, c.s.h, c.s.w, c.s.k, c.s.stride, c.s.pad, l.oh, l.ow };
        for (int b = 0; b < c.s.n; b++) {
            nn_im2col(&geo, l.x.data() + (size_t)b * c.s.c * c.s.h * c.s.w, col.data(), (size_t)npix);
            float *yb = want.data() + (size_t)b * c.rows * npix;
            dp_ref_gemm_int8(&l.m, npix, col.data(), (size_t)npix, yb, (size_t)npix);
            for (int r = 0; r < c.rows; r++)
                for (int j = 0; j < npix; j++) {
                    float &v = yb[(size_t)r * npix + j];
                    if (c.affine == 2) v = v * l.scale[r] + l.shift[r];
                    else if (c.affine == 1) v += l.shift[r];
                }
        }
        ASSERT_EQ(std::memcmp(ref.data(), want.data(), ny * sizeof(float)), 0);
    }
}

// A linear layer is the 1x1 convolution of c x h x w inputs flattened: reuse the cases' layers.
TEST(ConvInt8, LinearEqualsItsReferenceAndTheTransposedGemm)
{
    std::mt19937 g(13);
    const dp_exec ex = dp_exec_default(2);
    for (const Case &c0 : random_cases()) {
        Case c = c0;
        c.s = { c0.s.n + 2, c0.s.c * c0.s.h * c0.s.w, 1, 1, 1, 1, 0 };   // cols = one sample's inputs
        SCOPED_TRACE(name_of(c));
        Layer l;
        make(c, g, l);
        if (HasFatalFailure()) return;
        const int n = c.s.n, cols = c.s.c, rows = c.rows;
        std::vector<float> ref((size_t)n * rows, -7.0f), y((size_t)n * rows, -7.0f), xt((size_t)cols * n), yt((size_t)rows * n);
        dp_ref_linear_int8(&l.m, n, l.x.data(), ref.data(), a_scale(c, l), a_shift(c, l));
        for (int j = 0; j < n; j++)
            for (int k = 0; k < cols; k++) xt[(size_t)k * n + j] = l.x[(size_t)j * cols + k];
        dp_ref_gemm_int8(&l.m, n, xt.data(), (size_t)n, yt.data(), (size_t)n);
        for (int j = 0; j < n; j++)
            for (int r = 0; r < rows; r++) {
                float v = yt[(size_t)r * n + j];
                if (c.affine == 2) v = v * l.scale[r] + l.shift[r];
                else if (c.affine == 1) v += l.shift[r];
                ASSERT_EQ(std::memcmp(&v, &ref[(size_t)j * rows + r], sizeof v), 0) << "sample " << j << " row " << r;
            }
        if (!dp_int8_conv_onednn()) continue;   // the fast path is the reference there
        for (int isa = 0; isa < DP_ISA_COUNT; isa++) {
            if (!dp_isa_supported((dp_isa)isa)) continue;
            const dp_exec at = { (dp_isa)isa, ex.threads };
            std::fill(y.begin(), y.end(), -7.0f);
            dp_int8_linear(&l.m, n, l.x.data(), y.data(), a_scale(c, l), a_shift(c, l), &at);
            ASSERT_EQ(std::memcmp(y.data(), ref.data(), y.size() * sizeof(float)), 0) << dp_isa_name(at.isa);
        }
    }
}

}  // namespace
