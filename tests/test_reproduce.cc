/* harness reproduce --suite: runs every config whose [run] suite matches, writes the suite's
 * table and plot data from exactly those runs, and a second call reuses everything. */
#include "scale_fixture.h"
#include <sys/stat.h>

namespace {

using Reproduce = ScaleFixture;

TEST_F(Reproduce, RunsTheSuiteThenReusesItInSeconds)
{
    config("a.ini", "a", "suite = tiny\n");
    config("b.ini", "b", "suite = tiny\n", "\n[method]\nname = magnitude\nsparsity = 0.5\n");
    pretrained("b.ini", "a.ini");
    config("c.ini", "c", "suite = other\n");
    config("d.ini", "d");   // in no suite
    Out r = harness("reproduce --suite tiny --configs configs --quiet --no-gnuplot");
    ASSERT_EQ(0, r.status) << r.text;
    EXPECT_NE(std::string::npos, r.text.find("suite tiny: 2 config(s) x 1 seed(s) = 2 runs (2 trained, 0 reused)"))
        << r.text;
    std::string md = fx_read(root + "/results/suites/tiny/table.md");
    EXPECT_NE(std::string::npos, md.find("# Results: 2 runs in suite tiny")) << md;
    EXPECT_NE(std::string::npos, md.find("| Full precision |")) << md;
    EXPECT_NE(std::string::npos, md.find("| Magnitude pruning |")) << md;
    EXPECT_FALSE(fx_read(root + "/results/suites/tiny/table.csv").empty());
    EXPECT_FALSE(fx_read(root + "/results/suites/tiny/plots/compression_lenet300_tiny.gp").empty());
    struct stat st;
    EXPECT_NE(0, stat((root + "/results/runs/c-").c_str(), &st));
    // the second call: nothing trained, the report written again, in seconds
    r = harness("reproduce --suite tiny --configs configs --quiet --no-gnuplot");
    ASSERT_EQ(0, r.status) << r.text;
    EXPECT_NE(std::string::npos, r.text.find("= 2 runs (0 trained, 2 reused) in ")) << r.text;
    double secs = atof(r.text.substr(r.text.find("reused) in ") + 11).c_str());
    EXPECT_LT(secs, 10.0) << r.text;   // seconds, also on a loaded machine
    EXPECT_EQ(md, fx_read(root + "/results/suites/tiny/table.md"));
}

TEST_F(Reproduce, UnknownSuiteListsTheKnownOnes)
{
    config("a.ini", "a", "suite = tiny\n");
    config("c.ini", "c", "suite = other\n");
    Out r = harness("reproduce --suite nosuch --configs configs");
    EXPECT_EQ(1, r.status);
    EXPECT_NE(std::string::npos, r.text.find("no config in configs has [run] suite = nosuch; suites there: other, tiny"))
        << r.text;
    r = harness("reproduce --configs configs");
    EXPECT_EQ(1, r.status);
    EXPECT_NE(std::string::npos, r.text.find("which suite?")) << r.text;
}

}  // namespace
