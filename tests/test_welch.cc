/* Welch's t-test and the functions under it, against values printed by SciPy 1.10.1 (Debian
 * python3-scipy 1.10.1-2): scipy.special.betainc(a, b, x), 2 * scipy.stats.t.sf(t, df) and
 * scipy.stats.ttest_ind(a, b, equal_var=False), whose df is the Welch–Satterthwaite formula. */
#include <gtest/gtest.h>
#include <cmath>
#include <vector>
extern "C" {
#include "harness/report_runs.h"
#include "harness/welch.h"
}

namespace {

TEST(Welch, RegularizedIncompleteBeta)
{
    struct { double a, b, x, want; } cases[] = {
        {2, 3, 0.5, 0.6875},                       // exact: 11/16
        {0.5, 0.5, 0.3, 0.3690101195655454},       // (2/pi) asin(sqrt(0.3))
        {10, 2, 0.9, 0.6973568802000001},
        {1.5, 20, 0.01, 0.061203714783459026},
        {50, 0.5, 0.999, 0.7523690199653768},
    };
    for (auto &c : cases) EXPECT_NEAR(c.want, hx_betainc(c.a, c.b, c.x), 1e-13) << c.a << " " << c.b << " " << c.x;
    EXPECT_EQ(0.0, hx_betainc(2, 3, 0));
    EXPECT_EQ(1.0, hx_betainc(2, 3, 1));
    EXPECT_TRUE(std::isnan(hx_betainc(-1, 3, 0.5)));
    EXPECT_TRUE(std::isnan(hx_betainc(2, 3, 1.5)));
}

TEST(Welch, StudentTTwoSidedP)
{
    struct { double t, df, want; } cases[] = {
        {2.228138851986274, 10, 0.049999999999999975},   // the 5 % critical value of t(10)
        {1.0, 1, 0.49999999999999956},                   // Cauchy: 1 - 2 atan(1)/pi
        {3.0, 2.5, 0.07257609554903183},                 // fractional df, as Welch gives
        {0.5, 30, 0.6207230048851273},
        {10, 4, 0.0005620036227159911},
    };
    for (auto &c : cases) {
        EXPECT_NEAR(c.want, hx_student_t_p2(c.t, c.df), 1e-12) << c.t << " " << c.df;
        EXPECT_NEAR(c.want, hx_student_t_p2(-c.t, c.df), 1e-12) << "symmetric";
    }
    EXPECT_EQ(1.0, hx_student_t_p2(0, 7));
}

hx_welch from_samples(const std::vector<double> &a, const std::vector<double> &b)
{
    rr_stat x = rr_stats(a.data(), (int)a.size()), y = rr_stats(b.data(), (int)b.size());
    return hx_welch_test(x.mean, x.std, x.n, y.mean, y.std, y.n);
}

TEST(Welch, MatchesScipyTtestInd)
{
    // 15 + 15 samples of unequal spread
    hx_welch w = from_samples({27.5, 21.0, 19.0, 23.6, 17.0, 17.9, 16.9, 20.1, 21.9, 22.6, 23.1, 19.6, 19.0, 21.7, 21.4},
                              {27.1, 22.0, 20.8, 23.4, 23.4, 23.5, 25.8, 22.0, 24.8, 20.2, 21.9, 22.1, 22.9, 20.5, 24.4});
    EXPECT_NEAR(-2.455356398286006, w.t, 1e-12);
    EXPECT_NEAR(24.988529290231416, w.df, 1e-10);
    EXPECT_NEAR(0.021378001462866985, w.p, 1e-12);
    // three seeds each, accuracy-like numbers
    w = from_samples({99.13, 99.08, 99.17}, {99.02, 98.95, 99.05});
    EXPECT_NEAR(3.0425553170228397, w.t, 1e-9);
    EXPECT_NEAR(0.03913572567062847, w.p, 1e-9);
    // unequal sizes (5 vs 6)
    w = from_samples({1, 2, 3, 4, 5}, {2, 4, 6, 8, 10, 12});
    EXPECT_NEAR(-2.3763541031440183, w.t, 1e-12);
    EXPECT_NEAR(0.04928433820673049, w.p, 1e-12);
}

TEST(Welch, SaysNothingWithoutSpreadOrSamples)
{
    EXPECT_TRUE(std::isnan(hx_welch_test(99, 0.1, 1, 98, 0.1, 3).p));   // one seed
    EXPECT_TRUE(std::isnan(hx_welch_test(99, 0, 3, 98, 0, 3).p));       // no spread at all
    EXPECT_FALSE(std::isnan(hx_welch_test(99, 0, 3, 98, 0.2, 3).p));    // one side spread is enough
}

}  // namespace
