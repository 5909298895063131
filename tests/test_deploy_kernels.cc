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

TEST(DeployKernels, XnorGemmMatchesItsReferenceExactly)
{
    std::mt19937 g(13);
    char err[256];
    for (int k : kK)
        for (int rows : { 1, 3, 4, 9 })
            for (int n : { 1, 3, 8, 13, 32, 45, 70 })
                for (int with_kcol : { 0, 1 }) {
                    SCOPED_TRACE(shape(DP_FORMAT_BINARY, rows, k, n) + (with_kcol ? " kcol" : ""));
                    const std::vector<float> w = weights_for(DP_FORMAT_BINARY, rows, k, g);
                    dp_matrix m;
                    ASSERT_EQ(dp_matrix_pack(&m, DP_FORMAT_BINARY, rows, k, w.data(), err, sizeof err), 0) << err;
                    const size_t ldb = n + 1, ldy = n + 2;
                    const std::vector<float> x = activations(k, n, n, g);
                    std::vector<uint64_t> xb((size_t)((k + 63) / 64) * ldb, ~UINT64_C(0));
                    dp_ref_bits_pack_cols(k, n, x.data(), n, xb.data(), ldb);
                    std::vector<float> kcol(n);
                    for (float &v : kcol) v = 0.1f + (float)(g() % 100) / 50.0f;
                    const float *kc = with_kcol ? kcol.data() : nullptr;
                    std::vector<float> ref((size_t)rows * ldy, -7.0f);
                    dp_ref_xnor_gemm(&m, n, xb.data(), ldb, kc, ref.data(), ldy);
                    for (dp_isa l : levels())
                        for (int threads : { 1, 2 }) {
                            std::vector<float> y((size_t)rows * ldy, -7.0f);
                            const dp_exec ex = { l, threads };
                            dp_xnor_gemm(&m, n, xb.data(), ldb, kc, y.data(), ldy, &ex);
                            ASSERT_EQ(std::memcmp(y.data(), ref.data(), y.size() * sizeof(float)), 0)
                                << dp_isa_name(l) << " t" << threads;
                        }
                    // and the +-1 dot product is the float one of the binarized operands
                    if (!with_kcol && k == 65 && rows == 3 && n == 13) {
                        std::vector<float> wq((size_t)rows * k), fy((size_t)rows * n);
                        dp_format_table[DP_FORMAT_BINARY].unpack(&m, wq.data());
                        for (int r = 0; r < rows; r++)
                            for (int j = 0; j < n; j++) {
                                double s = 0;
                                for (int c = 0; c < k; c++) s += wq[(size_t)r * k + c] * (x[(size_t)c * n + j] >= 0 ? 1.0 : -1.0);
                                EXPECT_FLOAT_EQ((float)s, ref[(size_t)r * ldy + j]);
                            }
                    }
                    dp_matrix_free(&m);
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
