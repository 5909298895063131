/* For the tests of seeds, compare, reproduce and sweep: a temporary root with a tiny synthetic
 * MNIST-shaped dataset (data/tiny.h5), configs written there, and the harness binary run in it
 * (HARNESS_DATA_DIR and HARNESS_RESULTS point into the root). Runs take a fraction of a second. */
#ifndef TESTS_SCALE_FIXTURE_H
#define TESTS_SCALE_FIXTURE_H
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include "report_fixture.h"
extern "C" {
#include "support/synth_data.h"
}

struct ScaleFixture : ::testing::Test {
    std::string root;
    struct Out { int status; std::string text; };
    void SetUp() override
    {
        root = fx_tempdir("scale");
        ASSERT_EQ(0, system(("mkdir -p " + root + "/data " + root + "/configs").c_str()));
        ASSERT_EQ(0, synth_dataset_save((root + "/data").c_str(), "tiny", 1, 28, 28, 4, 256, 128, 7));
    }
    void TearDown() override { fx_rmtree(root); }
    /* configs/<file>: a LeNet-300 (or arch) run of 2 epochs on the tiny set, extra lines appended
     * to [run] and after the sections (e.g. "[method]\nname = ..."). */
    std::string config(const std::string &file, const std::string &name, const std::string &run_extra = "",
                       const std::string &tail = "", const std::string &arch = "lenet300")
    {
        std::string p = root + "/configs/" + file;
        fx_write(p, "[run]\nname = " + name + "\nthreads = 1\n" + run_extra + "\n[data]\ndataset = tiny\n\n[model]\narch = " +
                        arch + "\n\n[train]\nepochs = 2\nbatch = 32\nlr = 0.01\n" + tail);
        return p;
    }
    /* configs/<file> starts from the trained model of configs/<base> ([model] pretrained). */
    void pretrained(const std::string &file, const std::string &base)
    {
        std::string p = root + "/configs/" + file, t = fx_read(p);
        size_t at = t.find("\n[model]\n");
        t.insert(at + 9, "pretrained = configs/" + base + "\n");
        fx_write(p, t);
    }
    /* `harness ARGS` run in root; exit status and stdout + stderr together. */
    Out harness(const std::string &args, const std::string &env = "")
    {
        std::string log = root + "/out.txt";
        std::string cmd = "cd '" + root + "' && " + env + " HARNESS_DATA_DIR=data HARNESS_RESULTS=results '" +
                          HARNESS_BIN + "' " + args + " >'" + log + "' 2>&1";
        int st = system(cmd.c_str());
        return {WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st), fx_read(log)};
    }
    static int count(const std::string &s, const std::string &what)
    {
        int n = 0;
        for (size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + 1)) n++;
        return n;
    }
};

#endif
