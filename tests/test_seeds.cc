/* harness run --seeds / --seed-list: one run folder per seed, finished seeds reused (and said
 * so), harness table reporting the seeds with mean ± std; a run waiting for another process
 * writing the same run reuses its result instead of training it twice. */
#include "scale_fixture.h"
#include <dirent.h>
#include <algorithm>
#include <vector>
#include <cstring>
#include <thread>
extern "C" {
#include "harness/report_runs.h"
#include "harness/run_dir.h"
#include "harness/seeds.h"
}

namespace {

using Seeds = ScaleFixture;

// the run folders under dir (every entry but the hidden ones)
std::vector<std::string> run_names(const std::string &dir)
{
    std::vector<std::string> v;
    DIR *d = opendir(dir.c_str());
    for (struct dirent *e; d && (e = readdir(d));)
        if (e->d_name[0] != '.') v.push_back(e->d_name);
    if (d) closedir(d);
    return v;
}

int run_folders(const std::string &dir) { return (int)run_names(dir).size(); }

TEST_F(Seeds, OptionsParseAndRefuseBadValues)
{
    hx_seeds s{};
    int used = 0;
    char err[512];
    EXPECT_EQ(1, hx_seeds_option("--seeds", "3", &s, &used, err, sizeof err));
    EXPECT_EQ(2, used);
    EXPECT_EQ(3, s.n);
    EXPECT_EQ(3, s.v[2]);
    s = {};
    EXPECT_EQ(1, hx_seeds_option("--seed-list=1,4,7", nullptr, &s, &used, err, sizeof err));
    EXPECT_EQ(1, used);
    ASSERT_EQ(3, s.n);
    EXPECT_EQ(7, s.v[2]);
    EXPECT_EQ(-1, hx_seeds_option("--seeds", "2", &s, &used, err, sizeof err));   // given already
    EXPECT_NE(std::string::npos, std::string(err).find("given already")) << err;
    s = {};
    EXPECT_EQ(0, hx_seeds_option("--seedz", "2", &s, &used, err, sizeof err));
    for (const char *bad : {"0", "65", "x", "3x", ""}) {
        s = {};
        EXPECT_EQ(-1, hx_seeds_option("--seeds", bad, &s, &used, err, sizeof err)) << bad;
    }
    for (const char *bad : {"1,,2", "1,2,", "-1", "1,1", "a"}) {
        s = {};
        EXPECT_EQ(-1, hx_seeds_option("--seed-list", bad, &s, &used, err, sizeof err)) << bad;
    }
}

TEST_F(Seeds, EachSeedItsOwnFolderAndFinishedSeedsAreReused)
{
    std::string cfg = config("s.ini", "s");
    Out r = harness("run configs/s.ini --seeds 2 --quiet");
    ASSERT_EQ(0, r.status) << r.text;
    EXPECT_EQ(2, run_folders(root + "/results/runs"));
    EXPECT_EQ(0, count(r.text, "reused ")) << r.text;
    EXPECT_NE(std::string::npos, r.text.find("seeds 1,2: final test acc")) << r.text;
    EXPECT_NE(std::string::npos, r.text.find("(2 trained, 0 reused)")) << r.text;
    // seeds 1..3: two reused (the progress line says so), one trained
    r = harness("run configs/s.ini --seed-list 2,1,3 --quiet");
    ASSERT_EQ(0, r.status) << r.text;
    EXPECT_EQ(2, count(r.text, "finished already")) << r.text;
    EXPECT_NE(std::string::npos, r.text.find("(1 trained, 2 reused)")) << r.text;
    EXPECT_EQ(3, run_folders(root + "/results/runs"));
    // the table: one row of three seeds of one config and one code version, no warning
    r = harness("table --runs results/runs");
    ASSERT_EQ(0, r.status) << r.text;
    EXPECT_NE(std::string::npos, r.text.find(" ± ")) << r.text;
    EXPECT_NE(std::string::npos, r.text.find("| 3 |")) << r.text;
    EXPECT_EQ(std::string::npos, r.text.find("Warning")) << r.text;
    // without --seeds a finished run is still refused, not silently reused
    r = harness("run configs/s.ini --quiet");
    EXPECT_EQ(1, r.status);
    EXPECT_NE(std::string::npos, r.text.find("already holds the finished run")) << r.text;
    // seeds and a seed of one's own do not mix
    r = harness("run configs/s.ini --seeds 2 --set run.seed=5");
    EXPECT_EQ(1, r.status);
    EXPECT_NE(std::string::npos, r.text.find("give one or the other")) << r.text;
}

// A seeded run stopped part-way (a session's end, a killed job) is named; with --resume the same
// command continues it from its checkpoint, starts over one stopped before its first checkpoint,
// reuses the finished ones, and ends on the numbers of an uninterrupted run.
TEST_F(Seeds, ResumeContinuesInterruptedSeedsToTheSameNumbers)
{
    config("s.ini", "s", "", "", "lenet300");
    std::string t = fx_read(root + "/configs/s.ini");
    t.replace(t.find("epochs = 2"), 10, "epochs = 3");
    fx_write(root + "/configs/s.ini", t);
    ASSERT_EQ(0, harness("run configs/s.ini --seed-list 1 --quiet").status);
    Out r = harness("run configs/s.ini --seed-list 2 --quiet", "HARNESS_STOP_AFTER_EPOCHS=1");
    EXPECT_NE(0, r.status) << r.text;
    const std::string runs = root + "/results/runs";
    std::vector<std::string> two = run_names(runs);
    r = harness("run configs/s.ini --seed-list 3 --quiet", "HARNESS_STOP_AFTER_EPOCHS=1");
    EXPECT_NE(0, r.status) << r.text;
    std::string seed3;
    for (const std::string &n : run_names(runs))
        if (std::find(two.begin(), two.end(), n) == two.end()) seed3 = n;
    ASSERT_FALSE(seed3.empty());
    // seed 3 as if stopped before its first checkpoint
    ASSERT_EQ(0, remove((root + "/results/runs/" + seed3 + "/model.h5").c_str()));
    r = harness("run configs/s.ini --seeds 3 --quiet");
    EXPECT_EQ(1, r.status);
    EXPECT_NE(std::string::npos, r.text.find("continue it with --resume")) << r.text;
    rr_set before;
    char err[1024];
    r = harness("run configs/s.ini --seeds 3 --quiet --resume");
    ASSERT_EQ(0, r.status) << r.text;
    EXPECT_NE(std::string::npos, r.text.find("(2 trained, 1 reused)")) << r.text;
    ASSERT_EQ(0, rr_load((root + "/results/runs").c_str(), 0, nullptr, &before, err, sizeof err)) << err;
    ASSERT_EQ(3, before.n_runs);
    // and once all are finished, --resume only reuses
    r = harness("run configs/s.ini --seeds 3 --quiet --resume");
    ASSERT_EQ(0, r.status) << r.text;
    EXPECT_NE(std::string::npos, r.text.find("(0 trained, 3 reused)")) << r.text;
    // the same seeds uninterrupted, in a results folder of their own: byte for byte the same metrics
    ASSERT_EQ(0, rename((root + "/results").c_str(), (root + "/resumed").c_str()));
    r = harness("run configs/s.ini --seeds 3 --quiet");
    ASSERT_EQ(0, r.status) << r.text;
    for (int i = 0; i < before.n_runs; i++) {
        std::string id = before.runs[i].run_id, m = fx_read(root + "/results/runs/" + id + "/metrics.csv");
        EXPECT_NE(std::string::npos, m.find("\n1,3,")) << id;
        EXPECT_EQ(m, fx_read(root + "/resumed/runs/" + id + "/metrics.csv")) << id;
    }
    rr_free(&before);
}

// Plain --resume (no seeds) of a run that was never started starts it, saying so, instead of
// failing on the folder it has just created; one stopped before its first checkpoint is named.
TEST_F(Seeds, PlainResumeStartsARunNeverStarted)
{
    config("s.ini", "s", "", "", "lenet300");
    Out r = harness("run configs/s.ini --resume");
    ASSERT_EQ(0, r.status) << r.text;
    EXPECT_NE(std::string::npos, r.text.find("was never started; starting it")) << r.text;
    r = harness("run configs/s.ini --seed-list 2 --quiet", "HARNESS_STOP_AFTER_EPOCHS=1");
    EXPECT_NE(0, r.status) << r.text;
    std::string two;
    for (const std::string &n : run_names(root + "/results/runs"))
        if (fx_read(root + "/results/runs/" + n + "/config.ini").find("seed = 2") != std::string::npos) two = n;
    ASSERT_FALSE(two.empty());
    ASSERT_EQ(0, remove((root + "/results/runs/" + two + "/model.h5").c_str()));
    r = harness("run configs/s.ini --resume --set run.seed=2");
    EXPECT_NE(0, r.status) << r.text;
    EXPECT_NE(std::string::npos, r.text.find("has no checkpoint to resume from")) << r.text;
}

TEST_F(Seeds, ResultRecordsRecipeAndCodeVersion)
{
    config("s.ini", "s");
    ASSERT_EQ(0, harness("run configs/s.ini --seeds 2 --quiet").status);
    rr_set s;
    char err[1024];
    ASSERT_EQ(0, rr_load((root + "/results/runs").c_str(), 0, nullptr, &s, err, sizeof err)) << err;
    ASSERT_EQ(2, s.n_runs);
    EXPECT_STREQ(s.runs[0].recipe, s.runs[1].recipe);                 // same config but the seed
    EXPECT_EQ(16u, strlen(s.runs[0].recipe));
    EXPECT_NE(std::string::npos, std::string(s.runs[0].code_version).find("+src.")) << s.runs[0].code_version;
    EXPECT_STRNE(s.runs[0].run_id, s.runs[1].run_id);                 // the seed is in the run id
    ASSERT_EQ(1, s.n_groups);
    EXPECT_EQ(1, s.groups[0].n_recipes);
    EXPECT_EQ(1, s.groups[0].n_code_versions);
    rr_free(&s);
}

TEST_F(Seeds, ReuseWaitsForTheRunBeingWrittenThenReusesIt)
{
    config("s.ini", "s");
    ASSERT_EQ(0, harness("run configs/s.ini --seeds 1 --quiet").status);
    DIR *d = opendir((root + "/results/runs").c_str());
    std::string id;
    for (struct dirent *e; (e = readdir(d));) if (e->d_name[0] != '.') id = e->d_name;
    closedir(d);
    std::string dir = root + "/results/runs/" + id;
    hx_run_dir held;
    char err[1024];
    ASSERT_EQ(0, hx_run_dir_take(&held, dir.c_str(), "x", "y", RD_RERUN, err, sizeof err)) << err;
    Out r;
    std::thread second([&] { r = harness("run configs/s.ini --seeds 1 --quiet"); });
    // let go only once the second run says it waits (however slow the machine is)
    bool waited = false;
    for (int i = 0; i < 1200 && !waited; i++) {
        waited = fx_read(root + "/out.txt").find("waiting until it has finished") != std::string::npos;
        if (!waited) usleep(50 * 1000);
    }
    hx_run_dir_release(&held, 0);
    second.join();
    EXPECT_TRUE(waited) << r.text;
    ASSERT_EQ(0, r.status) << r.text;
    EXPECT_NE(std::string::npos, r.text.find("waiting until it has finished, then reusing its result")) << r.text;
    EXPECT_NE(std::string::npos, r.text.find("(0 trained, 1 reused)")) << r.text;
}

}  // namespace
