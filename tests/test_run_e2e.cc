// End-to-end: `harness run` on a small synthetic dataset must learn, write its run folder, give
// byte-identical metrics for the same seed, and resume an interrupted run to the same result.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <regex>
#include <string>
#include <vector>
#include <algorithm>
extern "C" {
#include "base/json.h"
#include "harness/checkpoint.h"
#include "harness/run.h"
#include "harness/run_dir.h"
#include "harness/packed_file.h"
}
#include "support/run_workspace.h"

namespace {

class RunE2E : public ::testing::Test {
protected:
    RunWorkspace ws;
    void SetUp() override { ASSERT_EQ(0, ws.open("e2e", 1200, 400)); }
    void TearDown() override { ws.close(); }
    // The base config with extra's "[section]\nkey = value" lines replacing or adding keys (a
    // config gives each section and key once).
    std::string config(const std::string &extra = "")
    {
        std::vector<std::pair<std::string, std::vector<std::pair<std::string, std::string>>>> secs = {
            {"run", {{"name", "e2e"}, {"seed", "11"}, {"threads", "1"}}},
            {"data", {{"dataset", "synth"}, {"val_size", "200"}}},
            {"model", {{"arch", "lenet5"}}},
            {"train", {{"epochs", "3"}, {"batch", "32"}, {"lr", "0.005"}, {"schedule", "cosine"},
                       {"weight_decay", "5e-4"}}},
        };
        std::istringstream in(extra);
        std::string line, sec;
        while (std::getline(in, line)) {
            if (line.empty()) continue;
            if (line[0] == '[') { sec = line.substr(1, line.find(']') - 1); continue; }
            std::string k = line.substr(0, line.find(" = ")), v = line.substr(line.find(" = ") + 3);
            auto s = std::find_if(secs.begin(), secs.end(), [&](auto &x) { return x.first == sec; });
            if (s == secs.end()) { secs.push_back({sec, {}}); s = secs.end() - 1; }
            auto kv = std::find_if(s->second.begin(), s->second.end(), [&](auto &x) { return x.first == k; });
            if (kv == s->second.end()) s->second.push_back({k, v});
            else kv->second = v;
        }
        std::string p = ws.root + "/run.ini";
        std::ofstream f(p);
        for (auto &s : secs) {
            f << "[" << s.first << "]\n";
            for (auto &kv : s.second) f << kv.first << " = " << kv.second << "\n";
        }
        return p;
    }
    hx_run_result run(const std::string &cfg, int resume = 0, int expect_rc = 0, int rerun = 0)
    {
        hx_run_result res{};
        hx_run_opts o{};
        o.resume = resume;
        o.rerun = rerun;
        EXPECT_EQ(expect_rc, ws.run(hx_run, cfg, o, &res)) << ws.last_err;
        return res;
    }
    std::string run_dir() { return ws.root + "/results/runs/e2e-" + hash(); }
    std::string hash()
    {
        std::string d = ws.root + "/results/runs";
        std::string cmd = "ls " + d + " > " + ws.root + "/ls.txt";
        if (system(cmd.c_str()) != 0) return "";
        std::string name = rw_slurp(ws.root + "/ls.txt");
        name = name.substr(0, name.find('\n'));
        return name.substr(name.rfind('-') + 1);
    }
};

TEST_F(RunE2E, LearnsAndWritesTheRunFolder)
{
    hx_run_result r = run(config());
    EXPECT_GT(r.final_acc, 90.0);
    for (const char *f : {"config.ini", "metrics.csv", "result.json", "model.h5"})
        EXPECT_FALSE(rw_slurp(std::string(r.run_dir) + "/" + f).empty()) << f;
    char *text = nullptr, err[512];
    ASSERT_EQ(0, json_load((std::string(r.run_dir) + "/result.json").c_str(), 1 << 20, &text, err, sizeof err)) << err;
    double acc = 0, params = 0, rss = 0;
    EXPECT_EQ(JSON_OK, json_get_num(text, "final_acc", &acc));
    EXPECT_NEAR(r.final_acc, acc, 1e-9);
    EXPECT_EQ(JSON_OK, json_get_num(text, "params", &params));
    EXPECT_GT(params, 1000);
    EXPECT_EQ(JSON_OK, json_get_num(text, "peak_rss_mib", &rss));
    EXPECT_GT(rss, 1);
    // the store's raw files, as it records them (the synthetic store: its generator's seed)
    int n_src = 0;
    char src[64] = "", crc[16] = "";
    EXPECT_EQ(JSON_OK, json_get_count(text, "data_sources", &n_src));
    EXPECT_EQ(1, n_src);
    EXPECT_EQ(JSON_OK, json_get_str(text, "data_sources.0.file", src, sizeof src));
    EXPECT_STREQ("synth-seed-5", src);
    EXPECT_EQ(JSON_OK, json_get_str(text, "data_sources.0.crc32", crc, sizeof crc));
    EXPECT_STREQ("00000005", crc);
    // the machine's kernels, which a seed's last bits depend on
    char backend[128] = "", cpu[128] = "";
    EXPECT_EQ(JSON_OK, json_get_str(text, "versions.onednn", backend, sizeof backend));
    EXPECT_EQ(0, strncmp(backend, "oneDNN ", 7)) << backend;
    EXPECT_EQ(JSON_OK, json_get_str(text, "versions.cpu", cpu, sizeof cpu));
    EXPECT_GT(strlen(cpu), 0u);
    free(text);
    // 3 epochs + header, each row with a validation column filled in
    std::string m = rw_slurp(std::string(r.run_dir) + "/metrics.csv");
    EXPECT_EQ(4, std::count(m.begin(), m.end(), '\n'));
}

TEST_F(RunE2E, SameSeedGivesIdenticalMetrics)
{
    hx_run_result a = run(config());
    std::string first = rw_slurp(std::string(a.run_dir) + "/metrics.csv");
    std::string cmd = std::string("rm -rf ") + a.run_dir;
    ASSERT_EQ(0, system(cmd.c_str()));
    hx_run_result b = run(config());
    EXPECT_EQ(first, rw_slurp(std::string(b.run_dir) + "/metrics.csv"));
    hx_run_result c = run(config("[run]\nseed = 12\n"));
    EXPECT_NE(first, rw_slurp(std::string(c.run_dir) + "/metrics.csv"));
}

TEST_F(RunE2E, ResumeContinuesToTheSameResult)
{
    std::string cfg = config();
    hx_run_result full = run(cfg);
    std::string want = rw_slurp(std::string(full.run_dir) + "/metrics.csv");
    std::string cmd = std::string("rm -rf ") + full.run_dir;
    ASSERT_EQ(0, system(cmd.c_str()));

    setenv("HARNESS_STOP_AFTER_EPOCHS", "1", 1);
    run(cfg, 0, -1);                                   // interrupted after epoch 1
    unsetenv("HARNESS_STOP_AFTER_EPOCHS");
    hx_run_result resumed = run(cfg, 1);
    EXPECT_EQ(want, rw_slurp(std::string(resumed.run_dir) + "/metrics.csv"));
    EXPECT_DOUBLE_EQ(full.final_acc, resumed.final_acc);
}

TEST_F(RunE2E, DivergenceStopsWithAClearMessage)
{
    hx_run_result res{};
    std::string cfg = config("[train]\nlr = 90\nmomentum = 0.99\nschedule = const\n");
    EXPECT_NE(0, ws.run(hx_run, cfg, hx_run_opts{}, &res));
    const std::string &e = ws.last_err;
    EXPECT_NE(std::string::npos, e.find(": training diverged at round 1 epoch 1 batch ")) << e;
    EXPECT_NE(std::string::npos, e.find("lower [train] lr (now 90); no checkpoint was written before it diverged")) << e;
}

// Adam at lr 100 used to end at a loss of 5.6e10 and 24 % accuracy without a word: its loss
// stays far above where it started, which stops the run, naming the epoch, the value and the
// last checkpoint only when there is one.
TEST_F(RunE2E, LossFarAboveItsStartStopsTheRun)
{
    std::string cfg = config("[train]\noptimizer = adam\nlr = 100\nschedule = const\nepochs = 5\n");
    run(cfg, 0, -1);
    EXPECT_NE(std::string::npos, ws.last_err.find(": training diverged at round 1 epoch ")) << ws.last_err;
    EXPECT_NE(std::string::npos, ws.last_err.find("10x its start")) << ws.last_err;
    EXPECT_NE(std::string::npos, ws.last_err.find("lower [train] lr (now 100)")) << ws.last_err;
    size_t at = ws.last_err.find("the last checkpoint is ");
    if (at != std::string::npos) {
        std::string path = ws.last_err.substr(at + 23, ws.last_err.find(" (round") - at - 23);
        struct stat st;
        EXPECT_EQ(0, stat(path.c_str(), &st)) << "the message names a checkpoint that does not exist: " << path;
    }
    struct stat st;
    EXPECT_NE(0, stat((run_dir() + "/result.json").c_str(), &st));
}

TEST_F(RunE2E, MissingDatasetNamesTheFileAndTheCommand)
{
    hx_run_result res{};
    std::string cfg = config("[data]\ndataset = nosuchset\n");
    EXPECT_NE(0, ws.run(hx_run, cfg, hx_run_opts{}, &res));
    EXPECT_NE(std::string::npos, ws.last_err.find("nosuchset.h5 does not exist")) << ws.last_err;
    // A failed set-up leaves no empty run folder behind.
    std::string cmd = "test -z \"$(ls -A " + ws.root + "/results/runs)\"";
    EXPECT_EQ(0, system(cmd.c_str())) << "run folders left: " << ws.root << "/results/runs";
}

// The case: a finished run re-run and interrupted after one epoch used to leave the old
// result.json (98 %) next to a one-row metrics.csv and a new model.h5. Now the finished run is
// refused; --rerun clears the folder first, so an interruption leaves an unfinished run only.
TEST_F(RunE2E, FinishedRunIsRefusedAndRerunNeverMixesTwoRuns)
{
    std::string cfg = config();
    hx_run_result first = run(cfg);
    std::string dir = first.run_dir, result = rw_slurp(dir + "/result.json"), metrics = rw_slurp(dir + "/metrics.csv");
    run(cfg, 0, -1);
    EXPECT_NE(std::string::npos, ws.last_err.find("already holds the finished run")) << ws.last_err;
    EXPECT_EQ(result, rw_slurp(dir + "/result.json"));
    setenv("HARNESS_STOP_AFTER_EPOCHS", "1", 1);
    run(cfg, 0, -1, 1);                                 // --rerun, interrupted after epoch 1
    unsetenv("HARNESS_STOP_AFTER_EPOCHS");
    struct stat st;
    EXPECT_NE(0, stat((dir + "/result.json").c_str(), &st)) << "a stale result.json survived";
    std::string m = rw_slurp(dir + "/metrics.csv");
    EXPECT_EQ(2, std::count(m.begin(), m.end(), '\n'));
    run(cfg, 0, -1);
    EXPECT_NE(std::string::npos, ws.last_err.find("holds an unfinished run")) << ws.last_err;
    hx_run_result resumed = run(cfg, 1);
    EXPECT_DOUBLE_EQ(first.final_acc, resumed.final_acc);
    EXPECT_EQ(metrics, rw_slurp(dir + "/metrics.csv"));
    run(cfg, 1, -1, 1);
    EXPECT_NE(std::string::npos, ws.last_err.find("give one of them")) << ws.last_err;
}

TEST_F(RunE2E, ConcurrentRunOfTheSameIdIsRefused)
{
    std::string cfg = config();
    hx_run_result first = run(cfg);
    std::string dir = first.run_dir;
    hx_run_dir held;
    char err[1024];
    ASSERT_EQ(0, hx_run_dir_take(&held, dir.c_str(), "x", "y", RD_RERUN, err, sizeof err)) << err;
    run(cfg, 0, -1, 1);
    EXPECT_NE(std::string::npos, ws.last_err.find("is being written by another harness run (pid")) << ws.last_err;
    hx_run_dir_release(&held, 0);
    EXPECT_FALSE(rw_slurp(dir + "/result.json").empty()) << "the refused run touched the folder";
}

// harness export by hand: result.json keeps stating the file it wrote (a stale figure is put
// right, nothing else changes), and the folder has one writer.
TEST_F(RunE2E, ExportByHandKeepsResultJsonStatingTheFile)
{
    std::string dir = run(config()).run_dir, result = rw_slurp(dir + "/result.json");
    hx_packed_size sz;
    hx_result_edit edit;
    char err[1024] = "";
    ASSERT_EQ(0, hx_export_run(dir.c_str(), &sz, &edit, err, sizeof err)) << err;
    EXPECT_EQ(HX_RESULT_AGREES, edit);
    EXPECT_EQ(result, rw_slurp(dir + "/result.json"));

    char *stale = strdup(result.c_str());
    ASSERT_EQ(JSON_OK, json_set_int(&stale, "footprint.packed_bytes", 1));
    ws.write(dir.substr(ws.root.size() + 1) + "/result.json", stale);
    free(stale);
    ASSERT_EQ(0, hx_export_run(dir.c_str(), &sz, &edit, err, sizeof err)) << err;
    EXPECT_EQ(HX_RESULT_UPDATED, edit);
    EXPECT_EQ(result, rw_slurp(dir + "/result.json"));

    // a record from before packed models gets the figures added, where the run would have put them
    std::string old = std::regex_replace(result, std::regex(",\\s*\"packed_bytes\": \\d+,\\s*\"packed_weight_bytes\": "
                                                            "\\d+,\\s*\"packed_file_bytes\": \\d+"), "");
    ASSERT_NE(old, result);
    ws.write(dir.substr(ws.root.size() + 1) + "/result.json", old);
    ASSERT_EQ(0, hx_export_run(dir.c_str(), &sz, &edit, err, sizeof err)) << err;
    EXPECT_EQ(HX_RESULT_ADDED, edit);
    EXPECT_EQ(result, rw_slurp(dir + "/result.json"));

    hx_run_dir held;
    ASSERT_EQ(0, hx_run_dir_take(&held, dir.c_str(), "x", "y", RD_RERUN, err, sizeof err)) << err;
    EXPECT_NE(0, hx_export_run(dir.c_str(), &sz, &edit, err, sizeof err));
    EXPECT_NE(nullptr, strstr(err, "is being written by another harness run")) << err;
    hx_run_dir_release(&held, 0);
    EXPECT_NE(0, hx_export_run((dir + "/nope").c_str(), &sz, &edit, err, sizeof err));
    EXPECT_NE(nullptr, strstr(err, "not a run folder")) << err;
}

// --resume refuses a checkpoint whose position the config cannot reach (an epoch of INT_MAX
// used to overflow and train for ever).
TEST_F(RunE2E, ResumeRefusesACheckpointBeyondTheConfig)
{
    std::string cfg = config();
    setenv("HARNESS_STOP_AFTER_EPOCHS", "1", 1);
    hx_run_result r = run(cfg, 0, -1);
    unsetenv("HARNESS_STOP_AFTER_EPOCHS");
    std::string ck = run_dir() + "/model.h5";
    nn_optim opt{};
    ckpt_meta meta{};
    char err[1024];
    nn_model *m = ckpt_load(ck.c_str(), &opt, &meta, err, sizeof err);
    ASSERT_NE(nullptr, m) << err;
    meta.epoch = 7;
    ASSERT_EQ(0, ckpt_save(ck.c_str(), m, &opt, &meta, err, sizeof err)) << err;
    run(cfg, 1, -1);
    EXPECT_NE(std::string::npos, ws.last_err.find("is at round 1 epoch 8, but this config runs 1 round(s) of 3 epochs"))
        << ws.last_err;
    ckpt_meta_free(&meta);
    nn_optim_free(&opt);
    nn_model_free(m);
    (void)r;
}

}  // namespace
