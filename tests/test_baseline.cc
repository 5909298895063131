// [model] pretrained = baseline.ini as `harness run` resolves it (harness/experiment.c): the
// baseline is trained once and cached in results/baselines, a finished run folder of the same
// config is reused instead of training again, the run starts from the baseline's weights, and a
// run handed no baseline says so instead of training one itself.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
extern "C" {
#include "harness/baseline.h"
#include "harness/experiment.h"
}
#include "support/synth_data.h"

namespace {

std::string slurp(const std::string &p)
{
    std::ifstream f(p);
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
}

class Baseline : public ::testing::Test {
protected:
    std::string root, base_ini, method_ini;
    void SetUp() override
    {
        char tmpl[] = "/tmp/harness-baseline-XXXXXX";
        root = mkdtemp(tmpl);
        setenv("HARNESS_DATA_DIR", (root + "/data").c_str(), 1);
        setenv("HARNESS_RESULTS", (root + "/results").c_str(), 1);
        unsetenv("HARNESS_STOP_AFTER_EPOCHS");
        ASSERT_EQ(0, mkdir((root + "/data").c_str(), 0777));
        ASSERT_EQ(0, synth_dataset_save((root + "/data").c_str(), "synth", 1, 16, 16, 4, 300, 100, 5));
        base_ini = write("base.ini", "[run]\nname = base\nseed = 3\nthreads = 1\n[data]\ndataset = synth\n"
                                     "[model]\narch = lenet5\n[train]\nepochs = 2\nbatch = 32\nlr = 0.01\n");
        method_ini = write("prune.ini", "[run]\nname = prune\nseed = 3\nthreads = 1\n[data]\ndataset = synth\n"
                                        "[model]\narch = lenet5\npretrained = " + base_ini +
                                        "\n[train]\nepochs = 1\nbatch = 32\nlr = 0.001\n"
                                        "[method]\nname = magnitude\nsparsity = 0.5\n");
    }
    void TearDown() override
    {
        std::string cmd = "rm -rf " + root;
        (void)system(cmd.c_str());
    }
    std::string write(const std::string &name, const std::string &text)
    {
        std::string p = root + "/" + name;
        std::ofstream(p) << text;
        return p;
    }
    // Runs cfg through hx_experiment; returns its log.
    std::string experiment(const std::string &cfg, int rerun, int expect_rc = 0)
    {
        std::string log_path = root + "/log.txt";
        FILE *log = fopen(log_path.c_str(), "w");
        hx_run_opts o{};
        o.rerun = rerun;
        o.quiet = 1;
        o.log = log;
        hx_run_result res{};
        char err[4096] = "";
        int rc = hx_experiment(cfg.c_str(), &o, &res, err, sizeof err);
        fclose(log);
        EXPECT_EQ(expect_rc, rc) << err;
        last_err = err;
        return slurp(log_path);
    }
    std::string last_err;
    // The one cached model in results/baselines ("" when there is none; its .lock is not one).
    std::string cached()
    {
        std::string cmd = "ls " + root + "/results/baselines 2>/dev/null | grep '\\.h5$' > " + root + "/ls.txt";
        if (system(cmd.c_str()) != 0) return "";
        std::string name = slurp(root + "/ls.txt");
        return name.empty() ? "" : root + "/results/baselines/" + name.substr(0, name.find('\n'));
    }
};

TEST_F(Baseline, TrainedOnceCachedThenReused)
{
    std::string log = experiment(method_ini, 0);
    EXPECT_NE(log.find("is not cached yet: training it once"), std::string::npos) << log;
    std::string cache = cached();
    ASSERT_NE(cache, "") << log;
    EXPECT_NE(cache.find("/lenet5-synth-"), std::string::npos) << cache;

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
    hx_run_opts o{};
    o.quiet = 1;
    o.log = fopen("/dev/null", "w");
    char err[2048] = "";
    EXPECT_EQ(-1, hx_run(method_ini.c_str(), &o, nullptr, err, sizeof err));
    fclose(o.log);
    EXPECT_NE(std::string(err).find("no baseline model was handed to the run"), std::string::npos) << err;
    EXPECT_EQ(cached(), "");
}

TEST_F(Baseline, BaselinesNamingEachOtherAreRefused)
{
    std::string a = root + "/a.ini", b = root + "/b.ini";
    write("a.ini", "[run]\nname = a\n[data]\ndataset = synth\n[model]\narch = lenet5\npretrained = " + b +
                       "\n[train]\nepochs = 1\n");
    write("b.ini", "[run]\nname = b\n[data]\ndataset = synth\n[model]\narch = lenet5\npretrained = " + a +
                       "\n[train]\nepochs = 1\n");
    char err[4096] = "";
    EXPECT_EQ(nullptr, hx_baseline(a.c_str(), 1, nullptr, err, sizeof err));
    EXPECT_NE(std::string(err).find("baselines start from baselines more than"), std::string::npos) << err;
}

}  // namespace
