// The command line: unknown options and commands name themselves, a directory given as a file
// is named as such, and a write error ends the run with exit status 1 and the reason (a failed
// checkpoint close used to crash HDF5's exit handler: status 139).
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
extern "C" {
#include "support/synth_data.h"
}

namespace {

struct Result { int status; std::string err; };

class Cli : public ::testing::Test {
protected:
    std::string root;
    void SetUp() override
    {
        char tmpl[] = "/tmp/harness-cli-XXXXXX";
        root = mkdtemp(tmpl);
    }
    void TearDown() override
    {
        std::string cmd = "rm -rf " + root;
        (void)system(cmd.c_str());
    }
    // Runs `harness ARGS` (through sh, after `prefix`) and returns its exit status and stderr.
    Result harness(const std::string &args, const std::string &prefix = "")
    {
        std::string errf = root + "/stderr.txt";
        std::string cmd = prefix + "HARNESS_DATA_DIR=" + root + "/data HARNESS_RESULTS=" + root + "/results " +
                          HARNESS_BIN + " " + args + " >/dev/null 2>" + errf;
        int st = system(("sh -c '" + cmd + "'").c_str());
        std::ifstream f(errf);
        std::stringstream s;
        s << f.rdbuf();
        return {WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st), s.str()};
    }
};

TEST_F(Cli, UnknownOptionsAndCommandsNameThemselves)
{
    Result r = harness("run x.ini --resme");
    EXPECT_EQ(2, r.status);
    EXPECT_EQ("harness: run: unknown option --resme (did you mean --resume?); see harness help\n", r.err);
    r = harness("run x.ini --frobnicate");
    EXPECT_EQ("harness: run: unknown option --frobnicate; see harness help\n", r.err);
    r = harness("eval m.h5 --dta mnist");
    EXPECT_EQ("harness: eval: unknown option --dta (did you mean --data?); see harness help\n", r.err);
    r = harness("rnu x.ini");
    EXPECT_EQ(2, r.status);
    EXPECT_EQ("harness: unknown command rnu (did you mean run?); see harness help\n", r.err);
}

TEST_F(Cli, EvalRecordOptionsAreChecked)
{
    Result r = harness("eval m.h5 --data mnist --recrod");
    EXPECT_EQ("harness: eval: unknown option --recrod (did you mean --record?); see harness help\n", r.err);
    r = harness("eval m.h5 --data mnist --record");
    EXPECT_EQ(2, r.status);
    EXPECT_EQ("harness: eval: --record times a RUN_DIR/model.packed.h5 against model.h5 beside it; see harness help\n",
              r.err);
    r = harness("eval m.packed.h5 --data mnist --record --reps 0");
    EXPECT_EQ(2, r.status);
    EXPECT_EQ("harness: eval: --reps takes a whole number from 1 to 64; see harness help\n", r.err);
    r = harness("eval m.packed.h5 --data mnist --threads two");
    EXPECT_EQ("harness: eval: --threads takes a whole number from 1 to 64; see harness help\n", r.err);
}

TEST_F(Cli, ImportNameMustBeSafe)
{
    Result r = harness("data import ../../x --idx " + root);
    EXPECT_EQ(2, r.status);
    EXPECT_NE(std::string::npos, r.err.find("data import: NAME becomes data/NAME.h5: use letters")) << r.err;
}

TEST_F(Cli, DirectoryGivenAsAFileIsNamed)
{
    Result r = harness("run " + root);
    EXPECT_EQ(1, r.status);
    EXPECT_EQ("harness: " + root + ": a directory, not a config file (give the .ini file, e.g. configs/xnor.ini)\n",
              r.err);
}

TEST_F(Cli, WriteErrorExitsOneNamingTheFile)
{
    ASSERT_EQ(0, system(("mkdir -p " + root + "/data").c_str()));
    ASSERT_EQ(0, synth_dataset_save((root + "/data").c_str(), "synth", 1, 16, 16, 4, 600, 200, 5));
    std::ofstream(root + "/c.ini") << "[run]\nname = cli\nthreads = 1\n[data]\ndataset = synth\n[model]\n"
                                      "arch = lenet300\n[train]\nepochs = 2\n";
    // Files may not grow beyond 256 KiB (the checkpoint is about 1.3 MB): as on a full disk.
    Result r = harness("run " + root + "/c.ini --quiet", "trap \"\" XFSZ; ulimit -f 256; ");
    EXPECT_EQ(1, r.status) << r.err;
    EXPECT_NE(std::string::npos, r.err.find("/model.h5: cannot write: File too large; the previous file (if any) "
                                            "is unchanged")) << r.err;
}

}  // namespace
