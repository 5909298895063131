// [model] pretrained = baseline.ini as `harness run` resolves it (harness/experiment.c): the
// baseline is trained once and cached in results/baselines, a finished run folder of the same
// config is reused instead of training again, the run starts from the baseline's weights, and a
// run handed no baseline says so instead of training one itself.
#include <gtest/gtest.h>
#include <unistd.h>
#include <cstdio>
#include <cstdlib>
#include <string>
extern "C" {
#include "harness/baseline.h"
#include "harness/experiment.h"
}
#include "support/run_workspace.h"

namespace {

class Baseline : public ::testing::Test {
protected:
    RunWorkspace ws;
    std::string base_ini, method_ini;
    void SetUp() override
    {
        ASSERT_EQ(0, ws.open("baseline", 300, 100));
        base_ini = ws.write("base.ini", "[run]\nname = base\nseed = 3\nthreads = 1\n[data]\ndataset = synth\n"
                                        "[model]\narch = lenet5\n[train]\nepochs = 2\nbatch = 32\nlr = 0.01\n");
        method_ini = ws.write("prune.ini", "[run]\nname = prune\nseed = 3\nthreads = 1\n[data]\ndataset = synth\n"
                                           "[model]\narch = lenet5\npretrained = " + base_ini +
                                           "\n[train]\nepochs = 1\nbatch = 32\nlr = 0.001\n"
                                           "[method]\nname = magnitude\nsparsity = 0.5\n");
    }
    void TearDown() override { ws.close(); }
    // Runs cfg through hx_experiment; returns its log.
    std::string experiment(const std::string &cfg, int rerun, int expect_rc = 0)
    {
        std::string log_path = ws.root + "/log.txt";
        hx_run_opts o{};
        o.rerun = rerun;
        hx_run_result res{};
        EXPECT_EQ(expect_rc, ws.run(hx_experiment, cfg, o, &res, log_path)) << ws.last_err;
        return rw_slurp(log_path);
    }
    // The one cached model in results/baselines ("" when there is none; its .lock is not one).
    std::string cached()
    {
        std::string cmd = "ls " + ws.root + "/results/baselines 2>/dev/null | grep '\\.h5$' > " + ws.root + "/ls.txt";
        if (system(cmd.c_str()) != 0) return "";
        std::string name = rw_slurp(ws.root + "/ls.txt");
        return name.empty() ? "" : ws.root + "/results/baselines/" + name.substr(0, name.find('\n'));
    }
};

TEST_F(Baseline, TrainedOnceCachedThenReused)
{
    std::string log = experiment(method_ini, 0);
    EXPECT_NE(log.find("is not cached yet: training it once"), std::string::npos) << log;
    std::string cache = cached();
    ASSERT_NE(cache, "") << log;
    EXPECT_NE(cache.find("/lenet5-synth-"), std::string::npos) << cache;
    // The run records which baseline config it started from (its hash, as the cache is named).
    std::string hash = cache.substr(cache.rfind('-') + 1, 16);
    std::string cmd = "cat " + ws.root + "/results/runs/prune-*/result.json > " + ws.root + "/r.json";
    ASSERT_EQ(0, system(cmd.c_str()));
    EXPECT_NE(rw_slurp(ws.root + "/r.json").find("\"pretrained_hash\": \"" + hash + "\""), std::string::npos);

    // The same experiment again (--rerun): the cache is used, nothing is trained for the baseline.
    log = experiment(method_ini, 1);
    EXPECT_NE(log.find("baseline: " + cache + " (cached)"), std::string::npos) << log;
    EXPECT_EQ(log.find("training it once"), std::string::npos) << log;

    // Without the cache, the baseline's finished run folder (same config hash) is reused.
    ASSERT_EQ(0, unlink(cache.c_str()));
    log = experiment(method_ini, 1);
    EXPECT_NE(log.find("reusing the finished run"), std::string::npos) << log;
    EXPECT_EQ(cached(), cache);

    // The model the cache holds is what the run started from (the same weights, then pruned).
    char err[1024] = "";
    nn_model *b = hx_baseline(base_ini.c_str(), 1, nullptr, err, sizeof err);
    ASSERT_NE(b, nullptr) << err;
    EXPECT_EQ(std::string(b->arch), "lenet5");
    nn_model_free(b);
}

// A committed record (result.json, no model.h5, as results/ keeps them on a fresh clone): the
// model is trained again for the cache in a folder of its own, and the record is left as it is.
TEST_F(Baseline, RecordWithoutItsModelIsKept)
{
    experiment(method_ini, 0);
    std::string cache = cached();
    std::string hash = cache.substr(cache.rfind('-') + 1, 16);   // <arch>-<dataset>-<config hash>.h5
    std::string run_dir = ws.root + "/results/runs/base-" + hash;
    std::string record = rw_slurp(run_dir + "/result.json");
    ASSERT_FALSE(record.empty()) << run_dir;
    ASSERT_EQ(0, unlink(cache.c_str()));
    ASSERT_EQ(0, unlink((run_dir + "/model.h5").c_str()));
    std::string log = experiment(method_ini, 1);
    EXPECT_NE(log.find("is not cached yet: training it once"), std::string::npos) << log;
    EXPECT_EQ(cached(), cache);
    EXPECT_EQ(rw_slurp(run_dir + "/result.json"), record) << "the record was rewritten";
    EXPECT_NE(access((run_dir + "/model.h5").c_str(), F_OK), 0) << "trained into the record's folder";
    EXPECT_EQ(access((ws.root + "/results/baselines/retrained/base-" + hash + "/model.h5").c_str(), F_OK), 0) << log;
}

// The baseline config edited in place after the method ran: the method's run id is unchanged
// (it hashes the path), but its record is not reused as this config's result.
TEST_F(Baseline, RecordOfAnEditedBaselineIsNotReused)
{
    experiment(method_ini, 0);
    hx_run_opts o{};
    o.reuse = 1;
    hx_run_result res{};
    ASSERT_EQ(0, ws.run(hx_experiment, method_ini, o, &res)) << ws.last_err;
    EXPECT_TRUE(res.reused);
    ws.write("base.ini", "[run]\nname = base\nseed = 3\nthreads = 1\n[data]\ndataset = synth\n"
                         "[model]\narch = lenet5\n[train]\nepochs = 2\nbatch = 32\nlr = 0.02\n");
    std::string record = rw_slurp(std::string(res.run_dir) + "/result.json");
    EXPECT_NE(0, ws.run(hx_experiment, method_ini, o, &res));
    EXPECT_NE(ws.last_err.find("when that config hashed"), std::string::npos) << ws.last_err;
    EXPECT_NE(ws.last_err.find("--rerun"), std::string::npos) << ws.last_err;
    EXPECT_EQ(rw_slurp(std::string(res.run_dir) + "/result.json"), record);
}

TEST_F(Baseline, FinishedRunIsRefusedWithoutTouchingTheBaseline)
{
    experiment(method_ini, 0);
    std::string cache = cached();
    ASSERT_EQ(0, unlink(cache.c_str()));
    std::string log = experiment(method_ini, 0, -1);   // finished: refused before any baseline work
    EXPECT_EQ(log.find("baseline"), std::string::npos) << log;
    EXPECT_EQ(cached(), "");
}

TEST_F(Baseline, ARunHandedNoBaselineSaysSo)
{
    EXPECT_EQ(-1, ws.run(hx_run, method_ini, hx_run_opts{}, nullptr));
    EXPECT_NE(ws.last_err.find("no baseline model was handed to the run"), std::string::npos) << ws.last_err;
    EXPECT_EQ(cached(), "");
}

TEST_F(Baseline, BaselinesNamingEachOtherAreRefused)
{
    std::string a = ws.root + "/a.ini", b = ws.root + "/b.ini";
    ws.write("a.ini", "[run]\nname = a\n[data]\ndataset = synth\n[model]\narch = lenet5\npretrained = " + b +
                       "\n[train]\nepochs = 1\n");
    ws.write("b.ini", "[run]\nname = b\n[data]\ndataset = synth\n[model]\narch = lenet5\npretrained = " + a +
                       "\n[train]\nepochs = 1\n");
    char err[4096] = "";
    EXPECT_EQ(nullptr, hx_baseline(a.c_str(), 1, nullptr, err, sizeof err));
    EXPECT_NE(std::string(err).find("baselines start from baselines more than"), std::string::npos) << err;
}

}  // namespace
