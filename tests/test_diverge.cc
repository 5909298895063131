// The divergence rule: non-finite loss at once, a loss far above its start in most of the last
// HX_DIVERGE_STEPS steps, an epoch mean far above the first epoch's; spikes are not divergence,
// and each round starts its own reference.
#include <gtest/gtest.h>
#include <cmath>
#include <string>
extern "C" {
#include "harness/diverge.h"
}

namespace {

TEST(Diverge, NonFiniteLossAtOnce)
{
    hx_diverge d;
    hx_diverge_round(&d, 10);
    char why[256] = "";
    EXPECT_EQ(0, hx_diverge_step(&d, 2.3, why, sizeof why));
    EXPECT_EQ(1, hx_diverge_step(&d, NAN, why, sizeof why));
    EXPECT_STREQ("the loss is NaN", why);
    EXPECT_EQ(1, hx_diverge_step(&d, INFINITY, why, sizeof why));
    EXPECT_STREQ("the loss is infinite", why);
}

TEST(Diverge, LossThatStaysFarAboveItsStart)
{
    hx_diverge d;
    hx_diverge_round(&d, 10);   // start: max(first loss 1.0, ln 10 = 2.30)
    char why[256] = "";
    EXPECT_EQ(0, hx_diverge_step(&d, 1.0, why, sizeof why));
    // Spikes are not divergence: 39 of every 50 steps far up, for a long time.
    for (int i = 0; i < 20 * HX_DIVERGE_STEPS; i++)
        EXPECT_EQ(0, hx_diverge_step(&d, i % 50 < 39 ? 1e6 : 0.5, why, sizeof why)) << i;
    // Dips do not hide a loss that stays up (Adam at lr 100: 30..400 with ln 10 = 2.3 at the start).
    hx_diverge_round(&d, 10);
    EXPECT_EQ(0, hx_diverge_step(&d, 3.83, why, sizeof why));
    int i = 0;
    while (!hx_diverge_step(&d, i % 7 == 0 ? 33.9 : 64.7, why, sizeof why)) ASSERT_LT(++i, 100);
    EXPECT_EQ(46, i);   // the 40th step above 38.3 among the last 50
    EXPECT_STREQ("the loss was above 38.3 (10x its start, 3.83) in 40 of the last 50 steps, now 64.7", why);
}

TEST(Diverge, HighStartingLossRaisesTheLimitAndRoundsStartAgain)
{
    hx_diverge d;
    hx_diverge_round(&d, 10);
    char why[256] = "";
    EXPECT_EQ(0, hx_diverge_step(&d, 40.0, why, sizeof why));   // e.g. a binary net's first batches
    for (int i = 0; i < 3 * HX_DIVERGE_STEPS; i++) EXPECT_EQ(0, hx_diverge_step(&d, 300.0, why, sizeof why));
    hx_diverge_round(&d, 10);
    EXPECT_EQ(0, hx_diverge_step(&d, 0.05, why, sizeof why));   // a pretrained model: the floor is ln 10
    for (int i = 0; i < HX_DIVERGE_OVER - 1; i++) EXPECT_EQ(0, hx_diverge_step(&d, 30.0, why, sizeof why));
    EXPECT_EQ(1, hx_diverge_step(&d, 30.0, why, sizeof why));
}

TEST(Diverge, EpochMeanFarAboveTheFirstEpoch)
{
    hx_diverge d;
    hx_diverge_round(&d, 10);
    char why[256] = "";
    EXPECT_EQ(0, hx_diverge_epoch(&d, 1.5, why, sizeof why));    // reference: max(1.5, ln 10)
    EXPECT_EQ(0, hx_diverge_epoch(&d, 0.3, why, sizeof why));
    EXPECT_EQ(0, hx_diverge_epoch(&d, 23.0, why, sizeof why));
    EXPECT_EQ(1, hx_diverge_epoch(&d, 5.6e10, why, sizeof why));
    EXPECT_STREQ("the epoch's mean loss 5.6e+10 is above 23.03 (10x the round's first epoch, 2.303)", why);
    EXPECT_EQ(1, hx_diverge_epoch(&d, NAN, why, sizeof why));
}

}  // namespace
