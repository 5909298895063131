// deploy/ packed formats: the trait table is complete, pack -> unpack is lossless on values
// already in a format's set and idempotent on any others, payload sizes are the documented
// layouts, and check() / dp_matrix_load refuse every broken invariant the kernels rely on.
extern "C" {
#include "deploy/format.h"
#include "deploy/kernels.h"
}
#include <gtest/gtest.h>
#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace {

const int kShapes[][2] = { { 1, 1 }, { 3, 63 }, { 5, 64 }, { 2, 65 }, { 7, 127 }, { 4, 300 } };

bool is_csr(int f) { return f == DP_FORMAT_CSR16 || f == DP_FORMAT_CSR32; }
bool is_lut(int f) { return dp_lut_bits(f) != 0; }
int lut_bits(int f) { return dp_lut_bits(f); }
bool is_pow2(int f) { return f == DP_FORMAT_POW2_4 || f == DP_FORMAT_POW2_8; }

// Weights already in the format's value set (what a method's effective weights are).
std::vector<float> in_format(int f, int rows, int cols, std::mt19937 &g)
{
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    std::uniform_int_distribution<int> pick(0, 2);
    std::vector<float> w((size_t)rows * cols);
    const float wp = 0.75f, wn = 1.25f;
    for (int r = 0; r < rows; r++) {
        const float alpha = 0.1f + 0.01f * r;
        for (int c = 0; c < cols; c++) {
            float &v = w[(size_t)r * cols + c];
            switch (f) {
            case DP_FORMAT_BINARY: v = u(g) >= 0 ? alpha : -alpha; break;
            case DP_FORMAT_TERNARY: v = pick(g) == 0 ? 0.0f : pick(g) == 1 ? -wn : wp; break;
            case DP_FORMAT_POW2_4:
            case DP_FORMAT_POW2_8: {
                const int span = f == DP_FORMAT_POW2_4 ? 7 : 40;
                v = pick(g) == 0 ? 0.0f : (u(g) < 0 ? -1.0f : 1.0f) * std::ldexp(1.0f, -(int)(g() % span));
                break;
            }
            case DP_FORMAT_CSR16:
            case DP_FORMAT_CSR32: v = pick(g) == 0 ? u(g) : 0.0f; break;
            case DP_FORMAT_INT8: v = alpha * (float)(c == 0 ? 127 : (int)(g() % 255) - 127); break;
            case DP_FORMAT_LUT2:
            case DP_FORMAT_LUT4:
            case DP_FORMAT_LUT8: {   // 2^k levels of a DoReFa-like grid, not evenly spaced
                const int levels = 1 << lut_bits(f), q = (int)(g() % levels);
                v = std::tanh(2.0f * q / (levels - 1) - 1.0f);
                break;
            }
            default: v = u(g);
            }
        }
    }
    return w;
}

std::vector<float> unpack(const dp_matrix &m)
{
    std::vector<float> w((size_t)m.rows * m.cols);
    dp_format_table[m.format].unpack(&m, w.data());
    return w;
}

TEST(DeployFormats, TraitTableIsComplete)
{
    for (int f = 0; f < DP_FORMAT_COUNT; f++) {
        const dp_format_traits &t = dp_format_table[f];
        SCOPED_TRACE(f);
        ASSERT_NE(t.name, nullptr);
        EXPECT_GT(t.bits_per_weight, 0);
        EXPECT_TRUE(t.bytes && t.pack && t.unpack && t.check && t.gemm && t.gemm_ref);
        EXPECT_EQ(t.prepare != nullptr, is_pow2(f) || f == DP_FORMAT_INT8 || is_lut(f))
            << "only POW2, INT8 and LUT need a kernel plan";
        EXPECT_EQ(t.release != nullptr, f == DP_FORMAT_INT8 || is_lut(f))
            << "only INT8's plan (oneDNN objects) and LUT's (a matrix) are more than one allocation";
        EXPECT_STREQ(dp_format_name(f), t.name);
        for (int g = 0; g < f; g++) EXPECT_STRNE(t.name, dp_format_table[g].name);
    }
    EXPECT_FALSE(dp_format_valid(-1));
    EXPECT_FALSE(dp_format_valid(DP_FORMAT_COUNT));
    EXPECT_STREQ(dp_format_name(DP_FORMAT_COUNT), "?");
    // values are written to files
    EXPECT_EQ(DP_FORMAT_BINARY, 1);
    EXPECT_EQ(DP_FORMAT_TERNARY, 2);
    EXPECT_EQ(DP_FORMAT_POW2_4, 3);
    EXPECT_EQ(DP_FORMAT_CSR32, 6);
    EXPECT_EQ(DP_FORMAT_INT8, 7);
    EXPECT_EQ(DP_FORMAT_LUT2, 8);
    EXPECT_EQ(DP_FORMAT_LUT8, 10);
}

TEST(DeployFormats, PayloadSizesAreTheLayouts)
{
    const int r = 10, c = 130, kw = 3;
    const dp_format_traits *t = dp_format_table;
    EXPECT_EQ(t[DP_FORMAT_F32].bytes(r, c, 0), (size_t)4 * r * c);
    EXPECT_EQ(t[DP_FORMAT_BINARY].bytes(r, c, 0), (size_t)8 * r * kw + 4 * r);
    EXPECT_EQ(t[DP_FORMAT_TERNARY].bytes(r, c, 0), 8 + (size_t)16 * r * kw);
    EXPECT_EQ(t[DP_FORMAT_POW2_4].bytes(r, c, 0), 8 + (size_t)32 * r * kw);
    EXPECT_EQ(t[DP_FORMAT_POW2_8].bytes(r, c, 0), 8 + (size_t)64 * r * kw);
    EXPECT_EQ(t[DP_FORMAT_CSR16].bytes(r, c, 77), (size_t)4 * (r + 1) + 77 * 6);
    EXPECT_EQ(t[DP_FORMAT_CSR32].bytes(r, c, 77), (size_t)4 * (r + 1) + 77 * 8);
    EXPECT_EQ(t[DP_FORMAT_INT8].bytes(r, c, 0), 12 + (size_t)4 * r + (size_t)r * c);
    EXPECT_EQ(t[DP_FORMAT_LUT2].bytes(r, c, 0), 8 + 4 * 4 + (size_t)16 * r * kw);
    EXPECT_EQ(t[DP_FORMAT_LUT4].bytes(r, c, 0), 8 + 4 * 16 + (size_t)32 * r * kw);
    EXPECT_EQ(t[DP_FORMAT_LUT8].bytes(r, c, 0), 8 + 4 * 256 + (size_t)64 * r * kw);
    // bits per weight is what a whole number of blocks costs
    for (int f = DP_FORMAT_BINARY; f <= DP_FORMAT_POW2_8; f++)
        EXPECT_LE(t[f].bytes(1000, 64, 0), (size_t)(1000 * 64 * t[f].bits_per_weight / 8 + 8 + 4 * 1000)) << f;
}

TEST(DeployFormats, InFormatWeightsRoundTripExactly)
{
    std::mt19937 g(1);
    char err[256];
    for (int f = 0; f < DP_FORMAT_COUNT; f++)
        for (const auto &s : kShapes) {
            SCOPED_TRACE(std::string(dp_format_name(f)) + " " + std::to_string(s[0]) + "x" + std::to_string(s[1]));
            const std::vector<float> w = in_format(f, s[0], s[1], g);
            dp_matrix m;
            ASSERT_EQ(dp_matrix_pack(&m, (dp_format)f, s[0], s[1], w.data(), err, sizeof err), 0) << err;
            EXPECT_EQ(m.bytes, dp_format_table[f].bytes(s[0], s[1], m.nnz));
            EXPECT_EQ(dp_format_table[f].check(&m, err, sizeof err), 0) << err;
            const std::vector<float> back = unpack(m);
            for (size_t i = 0; i < w.size(); i++) ASSERT_EQ(back[i], w[i]) << "weight " << i;
            dp_matrix_free(&m);
            EXPECT_EQ(m.payload, nullptr);
        }
}

TEST(DeployFormats, PackQuantizesToTheNearestValueAndIsIdempotent)
{
    std::mt19937 g(2);
    std::normal_distribution<float> nd(0.0f, 0.3f);
    char err[256];
    for (int f = 0; f < DP_FORMAT_COUNT; f++)
        for (const auto &s : kShapes) {
            SCOPED_TRACE(std::string(dp_format_name(f)) + " " + std::to_string(s[1]));
            std::vector<float> w((size_t)s[0] * s[1]);
            for (float &v : w) v = nd(g);
            if (!w.empty()) w[0] = 0.0f;
            dp_matrix a, b;
            ASSERT_EQ(dp_matrix_pack(&a, (dp_format)f, s[0], s[1], w.data(), err, sizeof err), 0) << err;
            const std::vector<float> q = unpack(a);
            ASSERT_EQ(dp_matrix_pack(&b, (dp_format)f, s[0], s[1], q.data(), err, sizeof err), 0) << err;
            ASSERT_EQ(a.bytes, b.bytes);
            EXPECT_EQ(std::memcmp(a.payload, b.payload, a.bytes), 0) << "pack(unpack(pack(w))) == pack(w)";
            if (is_pow2(f)) {   // the nearest power of two; the bottom one or 0 below the range
                const float bottom = std::ldexp(1.0f, dp_pow2_head(&a)->pmin);
                for (size_t i = 0; i < w.size(); i++) {
                    const float e = std::fabs(q[i] - w[i]), aw = std::fabs(w[i]);
                    if (std::fabs(q[i]) > bottom) EXPECT_LE(e, aw / 3) << i;
                    else if (q[i] != 0) EXPECT_LE(e, aw) << i;
                    else EXPECT_LT(aw, bottom) << i;
                }
            }
            if (f == DP_FORMAT_BINARY)
                for (size_t i = 0; i < w.size(); i++) EXPECT_EQ(q[i] >= 0, w[i] >= 0) << i;
            if (f == DP_FORMAT_F32 || is_csr(f))
                for (size_t i = 0; i < w.size(); i++) EXPECT_EQ(q[i], w[i]);
            if (is_lut(f)) {   // at most 2^k values, each within half a grid step of its weight
                float lo = w[0], hi = w[0];
                for (float v : w) { lo = std::fmin(lo, v); hi = std::fmax(hi, v); }
                const float half = (hi - lo) / (float)((1 << lut_bits(f)) - 1) / 2 * 1.0001f;
                std::vector<float> d = q;
                std::sort(d.begin(), d.end());
                EXPECT_LE(std::unique(d.begin(), d.end()) - d.begin(), 1 << lut_bits(f));
                if (w.size() > (size_t)1 << lut_bits(f))
                    for (size_t i = 0; i < w.size(); i++) EXPECT_LE(std::fabs(q[i] - w[i]), half) << i;
            }
            dp_matrix_free(&a);
            dp_matrix_free(&b);
        }
}

TEST(DeployFormats, Pow2KeepsTheTopExponentsAndTheirRange)
{
    // 4-bit: 7 exponents below the largest weight's; 2^-8 is beyond them: rounds to 2^-6 or 0.
    const float w[] = { 1.0f, -0.5f, 0.25f, 0.0f, 0.015625f, -0.01f, 0.0039f, 0.75f };
    char err[256];
    dp_matrix m;
    ASSERT_EQ(dp_matrix_pack(&m, DP_FORMAT_POW2_4, 1, 8, w, err, sizeof err), 0) << err;
    EXPECT_EQ(dp_pow2_head(&m)->pmax, 0);
    EXPECT_EQ(dp_pow2_head(&m)->pmin, -6);
    const std::vector<float> q = unpack(m);
    const float want[] = { 1.0f, -0.5f, 0.25f, 0.0f, 0.015625f, -0.015625f, 0.0f, 1.0f };
    for (int i = 0; i < 8; i++) EXPECT_EQ(q[i], want[i]) << i;
    dp_matrix_free(&m);
}

TEST(DeployFormats, PackRefusesNonFiniteWeightsAndBadShapes)
{
    char err[256] = "";
    std::vector<float> w(12, 1.0f);
    w[7] = NAN;
    dp_matrix m;
    EXPECT_NE(dp_matrix_pack(&m, DP_FORMAT_TERNARY, 3, 4, w.data(), err, sizeof err), 0);
    EXPECT_NE(std::string(err).find("[1][3]"), std::string::npos) << err;
    w[7] = 1.0f;
    EXPECT_NE(dp_matrix_pack(&m, DP_FORMAT_BINARY, 0, 4, w.data(), err, sizeof err), 0);
    std::vector<float> wide(70000, 1.0f);
    EXPECT_NE(dp_matrix_pack(&m, DP_FORMAT_CSR16, 1, 70000, wide.data(), err, sizeof err), 0);
    EXPECT_NE(std::string(err).find("csr32"), std::string::npos) << err;
    EXPECT_EQ(dp_matrix_pack(&m, DP_FORMAT_CSR32, 1, 70000, wide.data(), err, sizeof err), 0) << err;
    dp_matrix_free(&m);
}

// A packed matrix's payload, damaged by `damage`, must be refused by dp_matrix_load with a
// message containing `says`.
template <class F>
void expect_refused(dp_format f, int rows, int cols, const std::vector<float> &w, F damage, const char *says)
{
    char err[256];
    dp_matrix m, back;
    ASSERT_EQ(dp_matrix_pack(&m, f, rows, cols, w.data(), err, sizeof err), 0) << err;
    std::vector<unsigned char> bytes((unsigned char *)m.payload, (unsigned char *)m.payload + m.bytes);
    ASSERT_EQ(dp_matrix_load(&back, f, rows, cols, m.nnz, bytes.data(), bytes.size(), err, sizeof err), 0) << err;
    dp_matrix_free(&back);
    damage(m);
    err[0] = 0;
    EXPECT_NE(dp_matrix_load(&back, f, rows, cols, m.nnz, m.payload, m.bytes, err, sizeof err), 0)
        << dp_format_name(f) << " accepted a payload that should fail with: " << says;
    EXPECT_NE(std::string(err).find(says), std::string::npos) << err;
    EXPECT_EQ(back.payload, nullptr);
    dp_matrix_free(&m);
}

TEST(DeployFormats, LoadRefusesBrokenPayloads)
{
    std::mt19937 g(3);
    const int rows = 3, cols = 70;
    auto w = [&](int f) { return in_format(f, rows, cols, g); };
    expect_refused(DP_FORMAT_F32, rows, cols, w(DP_FORMAT_F32),
                   [](dp_matrix &m) { ((float *)m.payload)[5] = INFINITY; }, "not finite");
    expect_refused(DP_FORMAT_BINARY, rows, cols, w(DP_FORMAT_BINARY),
                   [](dp_matrix &m) { dp_binary_blocks(&m)[1].pos |= UINT64_C(1) << 63; }, "past column");
    expect_refused(DP_FORMAT_BINARY, rows, cols, w(DP_FORMAT_BINARY),
                   [](dp_matrix &m) { dp_binary_alpha(&m)[2] = -1.0f; }, "alpha of row 2");
    expect_refused(DP_FORMAT_TERNARY, rows, cols, w(DP_FORMAT_TERNARY),
                   [](dp_matrix &m) { dp_ternary_blocks(&m)[0].plus = dp_ternary_blocks(&m)[0].minus = 1; },
                   "both + and -");
    expect_refused(DP_FORMAT_TERNARY, rows, cols, w(DP_FORMAT_TERNARY),
                   [](dp_matrix &m) { dp_ternary_head(&m)->wn = NAN; }, "scales");
    expect_refused(DP_FORMAT_POW2_4, rows, cols, w(DP_FORMAT_POW2_4),
                   [](dp_matrix &m) { dp_pow2_head(&m)->pmin = dp_pow2_head(&m)->pmax - 9; }, "span");
    expect_refused(DP_FORMAT_POW2_8, rows, cols, w(DP_FORMAT_POW2_8),
                   [](dp_matrix &m) { dp_pow2_words(&m)[0] = ~UINT64_C(0); }, "sign on a zero");
    expect_refused(DP_FORMAT_POW2_4, rows, cols, w(DP_FORMAT_POW2_4),
                   [](dp_matrix &m) {   // a code above the head's range (code 7 with pmax - pmin < 6)
                       dp_pow2_head(&m)->pmax = dp_pow2_head(&m)->pmin + 5;
                   }, "beyond");
    expect_refused(DP_FORMAT_CSR16, rows, cols, w(DP_FORMAT_CSR16),
                   [](dp_matrix &m) { dp_csr_rowptr(&m)[1] = (uint32_t)m.nnz + 5; }, "spans entries");
    expect_refused(DP_FORMAT_CSR32, rows, cols, w(DP_FORMAT_CSR32),
                   [](dp_matrix &m) { ((uint32_t *)dp_csr_col(&m))[1] = 0; }, "out of order");
    expect_refused(DP_FORMAT_CSR16, rows, cols, w(DP_FORMAT_CSR16),
                   [](dp_matrix &m) { ((uint16_t *)dp_csr_col(&m))[m.nnz - 1] = 70; }, "past 70 columns");
    expect_refused(DP_FORMAT_INT8, rows, cols, w(DP_FORMAT_INT8),
                   [](dp_matrix &m) { dp_int8_scale(&m)[1] = 0.0f; }, "row 1 scale");
    expect_refused(DP_FORMAT_INT8, rows, cols, w(DP_FORMAT_INT8),
                   [](dp_matrix &m) { dp_int8_head(&m)->x_scale = NAN; }, "input scale");
    expect_refused(DP_FORMAT_INT8, rows, cols, w(DP_FORMAT_INT8),
                   [](dp_matrix &m) { dp_int8_head(&m)->x_zero = 256; }, "zero point 256");
    expect_refused(DP_FORMAT_LUT2, rows, cols, w(DP_FORMAT_LUT2),
                   [](dp_matrix &m) { dp_lut_head(&m)->levels = 5; }, "5 table levels");
    expect_refused(DP_FORMAT_LUT4, rows, cols, w(DP_FORMAT_LUT4),
                   [](dp_matrix &m) { dp_lut_table(&m)[1] = dp_lut_table(&m)[0]; }, "does not ascend");
    expect_refused(DP_FORMAT_LUT4, rows, cols, w(DP_FORMAT_LUT4),
                   [](dp_matrix &m) { dp_lut_table(&m)[2] = NAN; }, "not finite");
    expect_refused(DP_FORMAT_LUT8, rows, cols, w(DP_FORMAT_LUT8),
                   [](dp_matrix &m) { dp_lut_table(&m)[255] = 1.0f; }, "unused table[255]");
    expect_refused(DP_FORMAT_LUT2, rows, cols, w(DP_FORMAT_LUT2),
                   [](dp_matrix &m) {   // row 0's last block: a code for column 70, past the row
                       uint64_t *codes = (uint64_t *)(dp_lut_table(&m) + 4);
                       codes[2] |= UINT64_C(1) << 12;   // block 1 (word 2), code 6 at bit 12
                   }, "past its last column");
    expect_refused(DP_FORMAT_LUT2, rows, cols, w(DP_FORMAT_LUT2),
                   [](dp_matrix &m) {   // 2 levels left while codes 2 and 3 are in use
                       dp_lut_head(&m)->levels = 2;
                       dp_lut_table(&m)[2] = dp_lut_table(&m)[3] = 0.0f;
                   }, "past the table");
}

TEST(DeployFormats, LoadRefusesWrongSizesAndUnknownFormats)
{
    char err[256];
    std::vector<unsigned char> bytes(1000);
    dp_matrix m;
    EXPECT_NE(dp_matrix_load(&m, 99, 2, 2, 4, bytes.data(), 16, err, sizeof err), 0);
    EXPECT_NE(std::string(err).find("unknown packed format 99"), std::string::npos) << err;
    EXPECT_NE(dp_matrix_load(&m, DP_FORMAT_F32, 2, 2, 4, bytes.data(), 15, err, sizeof err), 0);
    EXPECT_NE(std::string(err).find("needs 16"), std::string::npos) << err;
    EXPECT_NE(dp_matrix_load(&m, DP_FORMAT_BINARY, 2, 2, 5, bytes.data(), 24, err, sizeof err), 0);
    EXPECT_NE(dp_matrix_load(&m, DP_FORMAT_CSR16, 2, 2, 5, bytes.data(), 42, err, sizeof err), 0);
    // all-zero CSR and POW2 are fine
    std::vector<float> zero(6, 0.0f);
    for (int f : { DP_FORMAT_CSR16, DP_FORMAT_POW2_4, DP_FORMAT_TERNARY }) {
        ASSERT_EQ(dp_matrix_pack(&m, (dp_format)f, 2, 3, zero.data(), err, sizeof err), 0) << err;
        EXPECT_EQ(unpack(m), zero);
        dp_matrix_free(&m);
    }
}

}  // namespace
