/* harness compare: picks the surveyed configs by arch and dataset, runs or reuses every seed,
 * and prints top-1 ± std, Δ vs the baseline and Welch's p of the new method against each row,
 * the p being the one hx_welch_test gives for the runs' own numbers. */
#include "scale_fixture.h"
#include <cmath>
#include <vector>
extern "C" {
#include "harness/report_runs.h"
#include "harness/welch.h"
}

namespace {

struct Compare : ScaleFixture {
    void SetUp() override
    {
        ScaleFixture::SetUp();
        config("base.ini", "base");
        config("new.ini", "new", "", "\n[method]\nname = magnitude\nsparsity = 0.5\n");
        config("dc.ini", "dc", "",
               "\n[method]\nname = deep-compression\nquality = 1.0, 1.0, 1.0\nprune_rounds = 1\nretrain_epochs = 1\n"
               "quant_epochs = 1\n");
        config("other-arch.ini", "other", "", "", "lenet5");   // another network: never compared
        pretrained("new.ini", "base.ini");   // the methods start from the baseline, as the shipped ones do
        pretrained("dc.ini", "base.ini");
    }
    /* The table row whose first cell starts with first: its cells. */
    std::vector<std::string> row(const std::string &doc, const std::string &first) { return fx_md_row(doc, first); }
    /* Final accuracies of the runs named <name>-* in results/runs. */
    std::vector<double> accs(const std::string &name)
    {
        rr_set s;
        char err[1024];
        std::vector<double> v;
        if (rr_load((root + "/results/runs").c_str(), 0, nullptr, &s, err, sizeof err) != 0) return v;
        for (int i = 0; i < s.n_runs; i++)
            if (std::string(s.runs[i].run_id).rfind(name + "-", 0) == 0) v.push_back(s.runs[i].final_acc);
        rr_free(&s);
        return v;
    }
};

TEST_F(Compare, TableWithDeltaAndWelchPAgainstEachSurveyedMethod)
{
    Out r = harness("compare configs/new.ini --against all --seeds 2 --configs configs --quiet");
    ASSERT_EQ(0, r.status) << r.text;
    auto mine = row(r.text, "Magnitude"), base = row(r.text, "Full precision"), dc = row(r.text, "Deep");
    ASSERT_EQ(9u, mine.size()) << r.text;
    ASSERT_EQ(9u, base.size()) << r.text;
    ASSERT_EQ(9u, dc.size()) << r.text;
    EXPECT_NE(std::string::npos, mine[0].find("**new**"));
    EXPECT_EQ("2", dc[3]);
    EXPECT_EQ(std::string::npos, r.text.find("other-arch.ini")) << "another arch was compared";
    std::vector<double> a = accs("new"), b = accs("dc"), f = accs("base");
    ASSERT_EQ(2u, a.size());
    ASSERT_EQ(2u, b.size());
    ASSERT_EQ(2u, f.size());
    rr_stat x = rr_stats(a.data(), 2), y = rr_stats(b.data(), 2), z = rr_stats(f.data(), 2);
    char want[64];
    snprintf(want, sizeof want, "%.2f ± %.2f", y.mean, y.std);
    EXPECT_EQ(want, dc[2]);
    snprintf(want, sizeof want, "%+.2f", y.mean - z.mean);
    EXPECT_EQ(want, dc[4]);
    hx_welch w = hx_welch_test(x.mean, x.std, x.n, y.mean, y.std, y.n);
    if (std::isnan(w.p)) EXPECT_EQ("—", dc[8]);
    else {
        snprintf(want, sizeof want, "%.3g", w.p);
        EXPECT_EQ(want, dc[8]);
    }
    EXPECT_EQ("—", mine[8]);   // not tested against itself
    EXPECT_EQ("—", dc[7]);   // no speedup.json in these run folders
    EXPECT_NE(std::string::npos, r.text.find("No run here has a speedup.json")) << r.text;
    // a second call trains nothing
    r = harness("compare configs/new.ini --seeds 2 --configs configs --quiet");
    ASSERT_EQ(0, r.status) << r.text;
    EXPECT_EQ(6, count(r.text, "finished already")) << r.text;
}

TEST_F(Compare, UnknownMethodIsNamed)
{
    Out r = harness("compare configs/new.ini --against dc,nosuch --configs configs");
    EXPECT_EQ(1, r.status);
    EXPECT_NE(std::string::npos, r.text.find("--against dc: no config")) << r.text;   // dc is a name, the method deep-compression
    r = harness("compare configs/new.ini --against deep-compression --configs configs --seeds 1 --quiet");
    EXPECT_EQ(0, r.status) << r.text;
    EXPECT_EQ(std::string::npos, r.text.find("(surveyed, magnitude)")) << r.text;
}

}  // namespace
