// deploy/ kernels: every level this CPU runs (forced one at a time, so the AVX2 versions are
// tested on AVX-512 machines too) against the scalar reference twins of deploy/kernels_ref.c,
// on shapes with odd sizes and tails: k = 1, 63, 64, 65, 127, 300; rows and columns that are
// not multiples of any vector width.
//
// Integer and binary paths (XNOR, sign packing, int32 shift) must equal the reference exactly.
// Float paths sum in a different order than the reference (which sums in double), so they
// must agree within the worst-case bound of float summation,
//     |fast - ref| <= 4 (k + 16) 2^-24 sum_c |w[r][c] x[c][j]|,
// (Higham's gamma_k for k additions, doubled for the two-level sums of subset tables and the
// final scaling, with margin), and every fast level must produce the same bits as every other
// and for 1 and 2 threads: they run the same operations in the same order.
extern "C" {
#include "deploy/format.h"
#include "deploy/kernels.h"
#include "deploy/kernels_ref.h"
}
#include <gtest/gtest.h>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace {

const int kK[] = { 1, 63, 64, 65, 127, 300 };
const int kRows[] = { 1, 5, 17 };
const int kCols[] = { 1, 7, 16, 33, 70 };

std::vector<dp_isa> levels()
{
    std::vector<dp_isa> v;
    for (int l = 0; l < DP_ISA_COUNT; l++)
        if (dp_isa_supported((dp_isa)l)) v.push_back((dp_isa)l);
    return v;
}

std::vector<float> weights_for(int f, int rows, int k, std::mt19937 &g)
{
    std::normal_distribution<float> nd(0.0f, 0.5f);
    std::uniform_real_distribution<float> u(0.0f, 1.0f);
    std::vector<float> w((size_t)rows * k);
    for (float &v : w) {
        v = nd(g);
        if ((f == DP_FORMAT_TERNARY && u(g) < 0.3f) || (f == DP_FORMAT_CSR16 && u(g) < 0.8f) ||
            (f == DP_FORMAT_CSR32 && u(g) < 0.5f))
            v = 0.0f;
    }
    if (f == DP_FORMAT_POW2_8)   // a wide exponent range: 2^-40 .. 2^0
        for (float &v : w) v = std::ldexp(v < 0 ? -1.0f : 1.0f, -(int)(g() % 41)) * (u(g) < 0.1f ? 0.0f : 1.0f);
    return w;
}

std::vector<float> activations(int k, int n, size_t ld, std::mt19937 &g)
{
    std::normal_distribution<float> nd(0.0f, 1.0f);
    std::vector<float> x((size_t)k * ld, NAN);   // padding past n must never be read into results
    for (int c = 0; c < k; c++)
        for (int j = 0; j < n; j++) x[(size_t)c * ld + j] = (j + c) % 11 == 0 ? 0.0f : nd(g);
    return x;
}

std::string shape(int f, int rows, int k, int n)
{
    return std::string(dp_format_name(f)) + " " + std::to_string(rows) + "x" + std::to_string(k) +
           " . " + std::to_string(k) + "x" + std::to_string(n);
}

TEST(DeployKernels, ReportsTheLevelsOfThisMachine)
{
    std::string found;
    for (dp_isa l : levels()) found += std::string(found.empty() ? "" : ", ") + dp_isa_name(l);
    RecordProperty("levels", found);
    std::printf("deploy levels on this machine: %s (best: %s)\n", found.c_str(), dp_isa_name(dp_isa_best()));
    EXPECT_TRUE(dp_isa_supported(DP_ISA_PORTABLE));
    EXPECT_TRUE(dp_isa_supported(dp_isa_best()));
    EXPECT_EQ(dp_isa_parse("avx2"), DP_ISA_AVX2);
    EXPECT_EQ(dp_isa_parse("sse9"), -1);
    if (dp_isa_supported(DP_ISA_AVX512)) EXPECT_TRUE(dp_isa_supported(DP_ISA_AVX2));
}

TEST(DeployKernels, FloatGemmOfEveryFormatMatchesItsReference)
{
    std::mt19937 g(11);
    char err[256];
    for (int f = 0; f < DP_FORMAT_COUNT; f++)
        for (int k : kK)
            for (int rows : kRows)
                for (int n : kCols) {
                    SCOPED_TRACE(shape(f, rows, k, n));
                    const std::vector<float> w = weights_for(f, rows, k, g);
                    dp_matrix m;
                    ASSERT_EQ(dp_matrix_pack(&m, (dp_format)f, rows, k, w.data(), err, sizeof err), 0) << err;
                    const size_t ldx = n + 3, ldy = n + 5;
                    const std::vector<float> x = activations(k, n, ldx, g);
                    std::vector<float> ref((size_t)rows * ldy, -7.0f), first;
                    dp_format_table[f].gemm_ref(&m, n, x.data(), ldx, ref.data(), ldy);
                    std::vector<float> wq((size_t)rows * k);   // |w x| sums for the bound
                    dp_format_table[f].unpack(&m, wq.data());
                    for (dp_isa l : levels())
                        for (int threads : { 1, 2 }) {
                            std::vector<float> y((size_t)rows * ldy, -7.0f);
                            const dp_exec ex = { l, threads };
                            dp_gemm(&m, n, x.data(), ldx, y.data(), ldy, &ex);
                            for (int r = 0; r < rows; r++)
                                for (int j = 0; j < ldy; j++) {
                                    const size_t i = (size_t)r * ldy + j;
                                    if (j >= n) { ASSERT_EQ(y[i], -7.0f) << "wrote past column n"; continue; }
                                    double mag = 0;
                                    for (int c = 0; c < k; c++) mag += std::fabs((double)wq[(size_t)r * k + c] * x[(size_t)c * ldx + j]);
                                    const double tol = 4.0 * (k + 16) * std::ldexp(1.0, -24) * mag + 1e-37;
                                    ASSERT_LE(std::fabs((double)y[i] - ref[i]), tol)
                                        << dp_isa_name(l) << " t" << threads << " y[" << r << "][" << j << "] = " << y[i]
                                        << ", reference " << ref[i];
                                }
                            if (f == DP_FORMAT_F32) continue;   // OpenBLAS picks its own order
                            if (first.empty()) first = y;
                            else ASSERT_EQ(std::memcmp(first.data(), y.data(), y.size() * sizeof(float)), 0)
                                     << dp_isa_name(l) << " t" << threads << " differs from the first level's bits";
                        }
                    dp_matrix_free(&m);
                }
}

TEST(DeployKernels, WideMatricesSplitIntoPanelsAndThreadsAlike)
{
    // n past one 256-column panel, split among 1..3 threads: the same bits every time, and
    // within the bound of the reference (a few columns checked, the reference is slow).
    std::mt19937 g(15);
    char err[256];
    const int rows = 9, k = 127, n = 600;
    for (int f = DP_FORMAT_BINARY; f < DP_FORMAT_COUNT; f++) {
        SCOPED_TRACE(shape(f, rows, k, n));
        const std::vector<float> w = weights_for(f, rows, k, g);
        dp_matrix m;
        ASSERT_EQ(dp_matrix_pack(&m, (dp_format)f, rows, k, w.data(), err, sizeof err), 0) << err;
        const std::vector<float> x = activations(k, n, n, g);
        std::vector<float> ref((size_t)rows * n), first;
        dp_format_table[f].gemm_ref(&m, n, x.data(), n, ref.data(), n);
        for (dp_isa l : levels())
            for (int threads : { 1, 2, 3 }) {
                std::vector<float> y((size_t)rows * n);
                const dp_exec ex = { l, threads };
                dp_gemm(&m, n, x.data(), n, y.data(), n, &ex);
                for (size_t i = 0; i < y.size(); i++)
                    ASSERT_NEAR(y[i], ref[i], 1e-3 * (1 + std::fabs(ref[i]))) << i;
                if (first.empty()) first = y;
                else ASSERT_EQ(std::memcmp(first.data(), y.data(), y.size() * sizeof(float)), 0)
                         << dp_isa_name(l) << " t" << threads;
            }
        dp_matrix_free(&m);
    }
}

TEST(DeployKernels, SignPackingMatchesItsReferenceExactly)
{
    std::mt19937 g(12);
    for (int k : kK)
        for (int n : { 1, 15, 16, 17, 64, 100 }) {
            SCOPED_TRACE(std::to_string(k) + " x " + std::to_string(n));
            const size_t ldx = n + 1, ldo = n + 2;
            std::vector<float> x = activations(k, n, ldx, g);
            if (k > 2) x[ldx] = -0.0f, x[2 * ldx] = NAN;   // -0 packs as +1 (>= 0), NaN as -1
            const int kw = (k + 63) / 64;
            std::vector<uint64_t> ref((size_t)kw * ldo, 0xdeadbeef);
            dp_ref_bits_pack_cols(k, n, x.data(), ldx, ref.data(), ldo);
            if (k > 2) {
                EXPECT_EQ((ref[0] >> 1) & 1, 1u);
                EXPECT_EQ((ref[0] >> 2) & 1, 0u);
            }
            for (dp_isa l : levels())
                for (int threads : { 1, 2 }) {
                    std::vector<uint64_t> out((size_t)kw * ldo, 0xdeadbeef);
                    const dp_exec ex = { l, threads };
                    dp_bits_pack_cols(k, n, x.data(), ldx, out.data(), ldo, &ex);
                    ASSERT_EQ(out, ref) << dp_isa_name(l) << " t" << threads;
                }
        }
}

// Epilogues: none; K per column; K, padding correction, folded batch norm; bias only.
TEST(DeployKernels, XnorGemmMatchesItsReferenceExactly)
{
    std::mt19937 g(13);
    char err[256];
    for (int k : kK)
        for (int rows : { 1, 3, 4, 9 })
            for (int n : { 1, 3, 8, 13, 32, 45, 70 })
                for (int mode : { 0, 1, 2, 3 }) {
                    SCOPED_TRACE(shape(DP_FORMAT_BINARY, rows, k, n) + " epilogue " + std::to_string(mode));
                    const std::vector<float> w = weights_for(DP_FORMAT_BINARY, rows, k, g);
                    dp_matrix m;
                    ASSERT_EQ(dp_matrix_pack(&m, DP_FORMAT_BINARY, rows, k, w.data(), err, sizeof err), 0) << err;
                    const size_t ldb = n + 1, ldy = n + 2, ldc = n + 3;
                    const std::vector<float> x = activations(k, n, n, g);
                    std::vector<uint64_t> xb((size_t)((k + 63) / 64) * ldb, ~UINT64_C(0));
                    dp_ref_bits_pack_cols(k, n, x.data(), n, xb.data(), ldb);
                    std::vector<float> kcol(n), corr((size_t)rows * ldc, NAN), scale(rows), shift(rows);
                    for (float &v : kcol) v = 0.1f + (float)(g() % 100) / 50.0f;
                    for (int r = 0; r < rows; r++) {
                        for (int j = 0; j < n; j++) corr[(size_t)r * ldc + j] = (float)((int)(g() % 31) - 15);
                        scale[r] = 0.3f + (float)(g() % 100) / 37.0f;
                        shift[r] = (float)((int)(g() % 100) - 50) / 7.0f;
                    }
                    dp_xnor_epilogue e{};
                    if (mode == 1 || mode == 2) e.kcol = kcol.data();
                    if (mode == 2) e.corr = corr.data(), e.ldc = ldc, e.scale = scale.data();
                    if (mode >= 2) e.shift = shift.data();
                    const dp_xnor_epilogue *ep = mode ? &e : nullptr;
                    std::vector<float> ref((size_t)rows * ldy, -7.0f);
                    dp_ref_xnor_gemm(&m, n, xb.data(), ldb, ep, ref.data(), ldy);
                    for (dp_isa l : levels())
                        for (int threads : { 1, 2 }) {
                            std::vector<float> y((size_t)rows * ldy, -7.0f);
                            const dp_exec ex = { l, threads };
                            dp_xnor_gemm(&m, n, xb.data(), ldb, ep, y.data(), ldy, &ex);
                            ASSERT_EQ(std::memcmp(y.data(), ref.data(), y.size() * sizeof(float)), 0)
                                << dp_isa_name(l) << " t" << threads;
                        }
                    // and the +-1 dot product is the float one of the binarized operands
                    if (mode == 0 && k == 65 && rows == 3 && n == 13) {
                        std::vector<float> wq((size_t)rows * k), fy((size_t)rows * n);
                        dp_format_table[DP_FORMAT_BINARY].unpack(&m, wq.data());
                        for (int r = 0; r < rows; r++)
                            for (int j = 0; j < n; j++) {
                                double s = 0;
                                for (int c = 0; c < k; c++) s += wq[(size_t)r * k + c] * (x[(size_t)c * n + j] >= 0 ? 1.0 : -1.0);
                                EXPECT_FLOAT_EQ((float)s, ref[(size_t)r * ldy + j]);
                            }
                    }
                    // the full epilogue is these roundings, in this order
                    if (mode == 2 && k == 127 && rows == 4 && n == 45) {
                        std::vector<float> wq((size_t)rows * k);
                        dp_format_table[DP_FORMAT_BINARY].unpack(&m, wq.data());
                        for (int r = 0; r < rows; r++)
                            for (int j = 0; j < n; j++) {
                                int agree = 0;
                                for (int c = 0; c < k; c++) agree += (wq[(size_t)r * k + c] >= 0) == (x[(size_t)c * n + j] >= 0) ? 1 : -1;
                                const float a = dp_binary_alpha(&m)[r], dot = (float)agree;
                                const float v = (a * kcol[j]) * (dot - corr[(size_t)r * ldc + j]);
                                const float want = v * scale[r] + shift[r];
                                EXPECT_EQ(std::memcmp(&want, &ref[(size_t)r * ldy + j], sizeof want), 0) << r << "," << j;
                            }
                    }
                    dp_matrix_free(&m);
                }
}

// One sample's receptive fields in im2col's (c, ki, kj) row order, zero padding: the float
// matrix dp_bits_pack_cols packed before dp_xnor_pack_conv.
std::vector<float> im2col(const dp_conv_shape &s, const std::vector<float> &x, int oh, int ow)
{
    const int rows = s.c * s.k * s.k, n = oh * ow;
    std::vector<float> col((size_t)rows * n);
    for (int r = 0; r < rows; r++)
        for (int j = 0; j < n; j++) {
            const int ch = r / (s.k * s.k), ki = r / s.k % s.k, kj = r % s.k;
            const int iy = j / ow * s.stride - s.pad + ki, ix = j % ow * s.stride - s.pad + kj;
            const bool in = iy >= 0 && iy < s.h && ix >= 0 && ix < s.w;
            col[(size_t)r * n + j] = in ? x[((size_t)ch * s.h + iy) * s.w + ix] : 0.0f;
        }
    return col;
}

std::vector<dp_conv_shape> conv_shapes(std::mt19937 &g)
{
    std::vector<dp_conv_shape> v;
    for (int c : { 1, 3, 16, 17, 64, 70, 130 })
        for (int k : { 1, 3, 5 })
            for (int stride : { 1, 2 })
                for (int pad : { 0, 1, 2 }) {
                    const int h = k + (int)(g() % 9), w = k + (int)(g() % 11);
                    v.push_back({ 1, c, h, w, k, stride, pad });
                }
    return v;
}

std::string conv_name(const dp_conv_shape &s)
{
    return "c" + std::to_string(s.c) + " " + std::to_string(s.h) + "x" + std::to_string(s.w) + " k" +
           std::to_string(s.k) + " s" + std::to_string(s.stride) + " p" + std::to_string(s.pad);
}

TEST(DeployKernels, XnorConvPackingMatchesItsReferenceExactly)
{
    std::mt19937 g(21);
    for (const dp_conv_shape &s : conv_shapes(g)) {
        SCOPED_TRACE(conv_name(s));
        const int oh = dp_conv_out(s.h, s.k, s.stride, s.pad), ow = dp_conv_out(s.w, s.k, s.stride, s.pad);
        const int n = oh * ow, kw = (s.c * s.k * s.k + 63) / 64;
        const size_t ldo = n + 3;
        std::vector<float> x = activations(s.c, s.h * s.w, (size_t)s.h * s.w, g);
        x[0] = -0.0f;   // packs as +1
        if (x.size() > 2) x[2] = NAN;   // packs as -1
        std::vector<uint64_t> ref((size_t)kw * ldo, 0xdeadbeef);
        dp_ref_xnor_pack_conv(&s, x.data(), ref.data(), ldo);
        // the reference is im2col's bits, rows reordered (ki, kj, c)
        const std::vector<float> col = im2col(s, x, oh, ow);
        for (int t = 0; t < s.k * s.k; t++)
            for (int ch = 0; ch < s.c; ch++) {
                const int row = t * s.c + ch;
                for (int j = 0; j < n; j++) {
                    const int bit = (int)((ref[(size_t)(row / 64) * ldo + j] >> (row % 64)) & 1);
                    ASSERT_EQ(bit, col[((size_t)ch * s.k * s.k + t) * n + j] >= 0.0f) << "row " << row << " col " << j;
                }
            }
        for (dp_isa l : levels())
            for (int threads : { 1, 2 }) {
                std::vector<uint64_t> out((size_t)kw * ldo, 0xdeadbeef), img(dp_xnor_image_words(&s));
                const dp_exec ex = { l, threads };
                dp_xnor_pack_conv(&s, x.data(), img.data(), out.data(), ldo, &ex);
                for (int p = 0; p < kw; p++)   // the words past n are not the kernel's
                    ASSERT_EQ(std::memcmp(&out[(size_t)p * ldo], &ref[(size_t)p * ldo], n * sizeof(uint64_t)), 0)
                        << dp_isa_name(l) << " t" << threads << " plane " << p;
            }
    }
}

// Permuted weights on dp_xnor_pack_conv's bits give every dot product that the stored weights
// give on im2col's bits, and only the bit order changes.
TEST(DeployKernels, PermutedXnorWeightsGiveTheIm2colDotProducts)
{
    std::mt19937 g(22);
    char err[256];
    for (const dp_conv_shape &s : conv_shapes(g)) {
        SCOPED_TRACE(conv_name(s));
        const int oh = dp_conv_out(s.h, s.k, s.stride, s.pad), ow = dp_conv_out(s.w, s.k, s.stride, s.pad);
        const int n = oh * ow, k = s.c * s.k * s.k, kw = (k + 63) / 64, rows = 1 + (int)(g() % 6);
        const std::vector<float> w = weights_for(DP_FORMAT_BINARY, rows, k, g);
        dp_matrix m, p;
        ASSERT_EQ(dp_matrix_pack(&m, DP_FORMAT_BINARY, rows, k, w.data(), err, sizeof err), 0) << err;
        ASSERT_EQ(dp_binary_permute_taps(&m, s.c, s.k, &p, err, sizeof err), 0) << err;
        ASSERT_EQ(std::memcmp(dp_binary_alpha(&p), dp_binary_alpha(&m), rows * sizeof(float)), 0);
        ASSERT_EQ(dp_format_table[DP_FORMAT_BINARY].check(&p, err, sizeof err), 0) << err;
        std::vector<float> wu((size_t)rows * k), pu((size_t)rows * k);
        dp_format_table[DP_FORMAT_BINARY].unpack(&m, wu.data());
        dp_format_table[DP_FORMAT_BINARY].unpack(&p, pu.data());
        for (int r = 0; r < rows; r++)
            for (int ch = 0; ch < s.c; ch++)
                for (int t = 0; t < s.k * s.k; t++)
                    ASSERT_EQ(pu[(size_t)r * k + t * s.c + ch], wu[(size_t)r * k + ch * s.k * s.k + t]);
        const std::vector<float> x = activations(s.c, s.h * s.w, (size_t)s.h * s.w, g);
        const std::vector<float> col = im2col(s, x, oh, ow);
        std::vector<uint64_t> old_bits((size_t)kw * n), new_bits((size_t)kw * n);
        dp_ref_bits_pack_cols(k, n, col.data(), n, old_bits.data(), n);
        dp_ref_xnor_pack_conv(&s, x.data(), new_bits.data(), n);
        std::vector<float> want((size_t)rows * n), got((size_t)rows * n);
        dp_ref_xnor_gemm(&m, n, old_bits.data(), n, nullptr, want.data(), n);
        dp_ref_xnor_gemm(&p, n, new_bits.data(), n, nullptr, got.data(), n);
        ASSERT_EQ(std::memcmp(want.data(), got.data(), want.size() * sizeof(float)), 0);
        dp_matrix_free(&m);
        dp_matrix_free(&p);
    }
}

TEST(DeployKernels, ShiftGemmOnFixedPointMatchesItsReferenceExactly)
{
    std::mt19937 g(14);
    char err[256];
    for (int f : { DP_FORMAT_POW2_4, DP_FORMAT_POW2_8 })
        for (int k : kK)
            for (int rows : kRows)
                for (int n : kCols) {
                    SCOPED_TRACE(shape(f, rows, k, n));
                    std::vector<float> w = weights_for(DP_FORMAT_POW2_4, rows, k, g);
                    for (float &v : w)   // exponents -20..0, so the 8-bit span fits a 32-bit shift
                        if (f == DP_FORMAT_POW2_8 && v != 0) v = std::ldexp(v < 0 ? -1.0f : 1.0f, -(int)(g() % 21));
                    dp_matrix m;
                    ASSERT_EQ(dp_matrix_pack(&m, (dp_format)f, rows, k, w.data(), err, sizeof err), 0) << err;
                    const size_t ldx = n + 2, ldy = n + 1;
                    std::vector<int32_t> x((size_t)k * ldx);
                    for (auto &v : x) v = (int32_t)(g() % 200001) - 100000;   // 16.16 fixed point of +-1.5
                    x[0] = INT32_MIN;                                           // wraps like the reference
                    std::vector<int32_t> ref((size_t)rows * ldy, -7);
                    dp_ref_shift_gemm_i32(&m, n, x.data(), ldx, ref.data(), ldy);
                    for (dp_isa l : levels())
                        for (int threads : { 1, 2 }) {
                            std::vector<int32_t> y((size_t)rows * ldy, -7);
                            const dp_exec ex = { l, threads };
                            ASSERT_EQ(dp_shift_gemm_i32(&m, n, x.data(), ldx, y.data(), ldy, &ex, err, sizeof err), 0) << err;
                            ASSERT_EQ(y, ref) << dp_isa_name(l) << " t" << threads;
                        }
                    dp_matrix_free(&m);
                }
}

TEST(DeployKernels, ShiftGemmRefusesSpansBeyondA32BitShift)
{
    std::vector<float> w = { 1.0f, std::ldexp(1.0f, -40), 0.5f };
    char err[256] = "";
    dp_matrix m;
    ASSERT_EQ(dp_matrix_pack(&m, DP_FORMAT_POW2_8, 1, 3, w.data(), err, sizeof err), 0) << err;
    std::vector<int32_t> x(3, 1), y(1, 0);
    const dp_exec ex = dp_exec_default(1);
    EXPECT_NE(dp_shift_gemm_i32(&m, 1, x.data(), 1, y.data(), 1, &ex, err, sizeof err), 0);
    EXPECT_NE(std::string(err).find("-40..0"), std::string::npos) << err;
    // the float kernel handles the span: 1 * 1 + 2^-40 * 2^40 + 0.5 * 1
    std::vector<float> xf = { 1.0f, std::ldexp(1.0f, 40), 1.0f }, yf(1);
    dp_gemm(&m, 1, xf.data(), 1, yf.data(), 1, &ex);
    EXPECT_EQ(yf[0], 2.5f);
    dp_matrix_free(&m);
}

TEST(DeployKernels, Pow2FloatKernelKeepsTheWholeExponentRange)
{
    // DeepShift-PS parks dead weights at the bottom of its range: 2^-126 beside 2^0 must
    // neither overflow the partial sums nor disturb the large terms.
    std::vector<float> w(130);
    for (size_t i = 0; i < w.size(); i++) w[i] = i % 2 ? std::ldexp(1.0f, -126) : (i % 4 ? -1.0f : 1.0f);
    char err[256];
    dp_matrix m;
    ASSERT_EQ(dp_matrix_pack(&m, DP_FORMAT_POW2_8, 1, (int)w.size(), w.data(), err, sizeof err), 0) << err;
    EXPECT_EQ(dp_pow2_head(&m)->pmin, -126);
    std::vector<float> x(w.size(), 3.0f), y(1), ref(1);
    dp_ref_gemm_pow2(&m, 1, x.data(), 1, ref.data(), 1);
    for (dp_isa l : levels()) {
        const dp_exec ex = { l, 1 };
        dp_gemm(&m, 1, x.data(), 1, y.data(), 1, &ex);
        EXPECT_EQ(y[0], ref[0]) << dp_isa_name(l);
    }
    dp_matrix_free(&m);
}

}  // namespace
