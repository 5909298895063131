// --resume of a run with a method, for every method in the registry: a tiny run interrupted after
// epoch k (HARNESS_STOP_AFTER_EPOCHS), or after training but before its report, and resumed must
// write the same metrics.csv, result.json (but for its timings), packed model and method files as
// the run that was never interrupted.
// The test is parameterised over the registry, so a new method is covered as soon as its row is
// there; the table below only makes some runs multi-round and picks where to interrupt them:
// inside a round, at a round's end (the round_end hook is still due) and inside a later round.
#include <gtest/gtest.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>
extern "C" {
#include "harness/experiment.h"
#include "methods/method.h"
}
#include "support/run_workspace.h"

namespace {

// How a method's tiny run looks: [method] keys, epochs per round, the epochs after which to
// interrupt it (counted over all rounds). Methods not listed: 2 epochs, interrupted after 1.
struct plan {
    std::string options;
    int epochs;
    std::vector<int> stops;
    std::string arch = "lenet5-bn";
};

const std::map<std::string, plan> &plans()
{
    static const std::map<std::string, plan> p = {
        // prune, prune (2 epochs each), quantize (3 epochs, another cosine length): inside round 1,
        // at its end, inside the quantization round (codebook transform attached again on load)
        {"deep-compression", {"prune_rounds = 2\nquant_epochs = 3\nkmeans_iters = 20\n", 2, {1, 2, 6}}},
        // ticket, ticket, control: at round 1's end (prune + rewind due), inside the control round
        {"lottery", {"rounds = 2\ncontrol = true\nrewind_iter = 3\n", 2, {2, 3, 5}}},
        // round 1 trains half, round 2 (nothing left to train) quantizes the rest at its start
        {"inq", {"portions = 0.5, 1\n", 2, {1, 2}}},
        // sparsity training, then 3 epochs of fine-tuning after the channels are chosen at round 1's end
        {"slimming", {"finetune_epochs = 3\nlambda = 1e-3\n", 2, {2, 4}}},
        // the selection finish removes is made at the last epoch's end
        {"sfp", {"epoch_prune = 1\n", 3, {1, 3}}},
        {"binaryconnect", {"mode = stochastic\n", 2, {1}}},
        {"deepshift", {"mode = ps\n", 2, {1}}},
        // binarized inputs need batch norm before each binarized layer
        {"xnor", {"", 2, {1}, "lenet5-xnor"}},
        {"bnn", {"", 2, {1}, "lenet5-xnor"}},
    };
    return p;
}

class ResumeMethods : public ::testing::TestWithParam<int> {
protected:
    static RunWorkspace ws;
    static void SetUpTestSuite() { ASSERT_EQ(0, ws.open("resume", 128, 64)); }
    static void TearDownTestSuite() { ws.close(); }
    // The baseline config of an arch (trained once, on first use, and cached by the runs).
    static std::string baseline(const std::string &arch)
    {
        return ws.write("base-" + arch + ".ini", "[run]\nname = base-" + arch + "\nseed = 3\nthreads = 1\n[data]\n"
                        "dataset = synth\n[model]\narch = " + arch + "\n[train]\nepochs = 2\nbatch = 32\nlr = 0.01\n");
    }
    std::string run_dir;
    int run(const std::string &cfg, int resume, int rerun = 0)
    {
        hx_run_opts o{};
        o.resume = resume;
        o.rerun = rerun;
        hx_run_result res{};
        int rc = ws.run(hx_experiment, cfg, o, &res);
        if (rc == 0) run_dir = res.run_dir;
        return rc;
    }
    // Every file of the run folder but model.h5 (its runner state holds the time spent) and the
    // lock, result.json without its timings and memory peak.
    std::map<std::string, std::string> outputs()
    {
        std::map<std::string, std::string> out;
        DIR *d = opendir(run_dir.c_str());
        if (!d) return out;
        while (struct dirent *e = readdir(d)) {
            std::string n = e->d_name;
            if (n == "." || n == ".." || n == ".lock" || n == "model.h5") continue;
            out[n] = rw_slurp(run_dir + "/" + n);
        }
        closedir(d);
        static const std::regex timing("\"(wall_s|train_s|images_per_s|peak_rss_mib)\": [-0-9.e+]+");
        out["result.json"] = std::regex_replace(out["result.json"], timing, "\"$1\": T");
        return out;
    }
};

RunWorkspace ResumeMethods::ws;

TEST_P(ResumeMethods, InterruptedRunResumesToTheSameFiles)
{
    const method *m = method_at(GetParam());
    ASSERT_NE(nullptr, m);
    auto it = plans().find(m->name);
    plan p = it != plans().end() ? it->second : plan{"", 2, {1}};
    std::string name = std::string("resume-") + m->name;
    std::string cfg = ws.write(name + ".ini", "[run]\nname = " + name + "\nseed = 4\nthreads = 1\n[data]\ndataset = synth\n"
                            "[model]\narch = " + p.arch + "\n" + (m->needs_baseline ? "pretrained = " + baseline(p.arch) + "\n" : "") +
                            "[train]\nepochs = " + std::to_string(m->post_training ? 0 : p.epochs) +
                            "\nbatch = 32\nlr = 0.005\nschedule = cosine\n[method]\nname = " + m->name + "\n" + p.options);
    ASSERT_EQ(0, run(cfg, 0)) << ws.last_err;
    std::map<std::string, std::string> want = outputs();
    ASSERT_FALSE(want["metrics.csv"].empty());
    std::string dir = run_dir;

    // Interrupted after training finished, before its report: --resume writes the same report
    // from the final model.h5 and the footprint saved with it, training nothing again.
    ASSERT_EQ(0, unlink((dir + "/result.json").c_str()));
    ASSERT_EQ(0, unlink((dir + "/model.packed.h5").c_str()));
    {
        ASSERT_EQ(0, run(cfg, 1)) << ws.last_err;
        std::map<std::string, std::string> got = outputs();
        for (auto &f : want) {
            if (f.first.find(".h5") != std::string::npos) EXPECT_TRUE(f.second == got[f.first]) << f.first << " differs";
            else EXPECT_EQ(f.second, got[f.first]) << f.first;
        }
        EXPECT_EQ(want.size(), got.size());
    }

    if (m->post_training) {    // no epoch, no checkpoint before finish: said so, not resumed
        ASSERT_EQ(0, unlink((dir + "/result.json").c_str()));
        ASSERT_EQ(0, unlink((dir + "/model.h5").c_str()));
        EXPECT_NE(0, run(cfg, 1));
        EXPECT_NE(std::string::npos, ws.last_err.find("trains nothing")) << ws.last_err;
        return;
    }
    for (int stop : p.stops) {
        SCOPED_TRACE("interrupted after epoch " + std::to_string(stop));
        setenv("HARNESS_STOP_AFTER_EPOCHS", std::to_string(stop).c_str(), 1);
        EXPECT_NE(0, run(cfg, 0, 1));
        unsetenv("HARNESS_STOP_AFTER_EPOCHS");
        ASSERT_NE(std::string::npos, ws.last_err.find("stopped after epoch")) << ws.last_err;
        ASSERT_EQ(0, run(cfg, 1)) << ws.last_err;
        std::map<std::string, std::string> got = outputs();
        for (auto &f : want) {
            if (f.first.find(".h5") != std::string::npos) EXPECT_TRUE(f.second == got[f.first]) << f.first << " differs";
            else EXPECT_EQ(f.second, got[f.first]) << f.first;
        }
        EXPECT_EQ(want.size(), got.size());
    }
}

INSTANTIATE_TEST_SUITE_P(EveryMethod, ResumeMethods, ::testing::Range(0, method_count()),
                         [](const ::testing::TestParamInfo<int> &i) {
                             std::string n = method_at(i.param)->name;
                             for (char &c : n) if (!isalnum((unsigned char)c)) c = '_';
                             return n;
                         });

}  // namespace
