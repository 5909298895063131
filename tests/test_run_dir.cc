// Run folder ownership: a lock while a run writes, and what a run may do with a folder by what
// it holds (nothing, a finished run, an unfinished one, another run's result).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cstdlib>
#include <fstream>
#include <string>
extern "C" {
#include "harness/run_dir.h"
}

namespace {

class RunDir : public ::testing::Test {
protected:
    std::string root, dir;
    char err[2048] = "";
    void SetUp() override
    {
        char tmpl[] = "/tmp/harness-rundir-XXXXXX";
        root = mkdtemp(tmpl);
        dir = root + "/runs/t-0123456789abcdef";
    }
    void TearDown() override
    {
        std::string cmd = "rm -rf " + root;
        (void)system(cmd.c_str());
    }
    void put(const std::string &name, const std::string &text) { std::ofstream(dir + "/" + name) << text; }
    void finished(const char *id = "t-0123456789abcdef", const char *hash = "0123456789abcdef")
    {
        mkdir((root + "/runs").c_str(), 0777);
        mkdir(dir.c_str(), 0777);
        put("result.json", std::string("{\"run_id\": \"") + id + "\", \"config_hash\": \"" + hash +
                               "\", \"final_acc\": 98.25}\n");
        put("model.h5", "m");
        put("metrics.csv", "h\n");
    }
    int take(rd_mode mode, hx_run_dir *d)
    {
        return hx_run_dir_take(d, dir.c_str(), "t-0123456789abcdef", "0123456789abcdef", mode, err, sizeof err);
    }
    bool exists(const std::string &p) { return access(p.c_str(), F_OK) == 0; }
};

TEST_F(RunDir, NewFolderIsCreatedLockedAndRemovedWhenSetupFails)
{
    hx_run_dir d;
    ASSERT_EQ(0, take(RD_START, &d)) << err;
    EXPECT_TRUE(exists(dir + "/.lock"));
    hx_run_dir_release(&d, 1);
    EXPECT_FALSE(exists(dir)) << "a failed set-up left an empty run folder";
    ASSERT_EQ(0, take(RD_START, &d)) << err;
    put("config.ini", "[run]\n");
    hx_run_dir_release(&d, 0);
    EXPECT_TRUE(exists(dir + "/config.ini"));
}

TEST_F(RunDir, SecondWriterIsRefusedWhileTheFirstHoldsTheFolder)
{
    hx_run_dir a, b;
    ASSERT_EQ(0, take(RD_START, &a)) << err;
    EXPECT_EQ(-1, take(RD_START, &b));
    EXPECT_EQ(std::string(err), dir + " is being written by another harness run (pid " + std::to_string(getpid()) +
                                    "); wait until it has finished");
    EXPECT_EQ(-1, take(RD_RERUN, &b));
    hx_run_dir_release(&a, 0);
    ASSERT_EQ(0, take(RD_START, &b)) << err;
    hx_run_dir_release(&b, 0);
}

TEST_F(RunDir, FinishedRunIsRefusedUnlessRerunWhichClearsItOnlyWhenTheRunBegins)
{
    finished();
    hx_run_dir d;
    EXPECT_EQ(-1, take(RD_START, &d));
    EXPECT_NE(std::string::npos, std::string(err).find("already holds the finished run t-0123456789abcdef (final "
                                                       "test accuracy 98.25%")) << err;
    EXPECT_NE(std::string::npos, std::string(err).find("--rerun")) << err;
    EXPECT_EQ(-1, take(RD_RESUME, &d));
    ASSERT_EQ(0, take(RD_RERUN, &d)) << err;
    EXPECT_TRUE(exists(dir + "/result.json")) << "cleared before the set-up succeeded";
    ASSERT_EQ(0, hx_run_dir_begin(&d, err, sizeof err)) << err;
    EXPECT_FALSE(exists(dir + "/result.json"));
    EXPECT_FALSE(exists(dir + "/model.h5"));
    EXPECT_TRUE(exists(dir + "/.lock"));
    hx_run_dir_release(&d, 0);
    double acc = 0;
    finished();
    EXPECT_EQ(1, hx_run_dir_finished(dir.c_str(), "t-0123456789abcdef", "0123456789abcdef", &acc, nullptr, 0));
    EXPECT_DOUBLE_EQ(98.25, acc);
}

TEST_F(RunDir, UnfinishedRunNeedsResumeOrRerun)
{
    mkdir((root + "/runs").c_str(), 0777);
    mkdir(dir.c_str(), 0777);
    put("model.h5", "m");
    put("metrics.csv", "h\n");
    hx_run_dir d;
    EXPECT_EQ(-1, take(RD_START, &d));
    EXPECT_EQ(std::string(err), dir + " holds an unfinished run of t-0123456789abcdef (no result.json): continue it "
                                      "with --resume, or start over with --rerun (it clears the folder first)");
    ASSERT_EQ(0, take(RD_RESUME, &d)) << err;
    ASSERT_EQ(0, hx_run_dir_begin(&d, err, sizeof err));
    EXPECT_TRUE(exists(dir + "/model.h5"));
    hx_run_dir_release(&d, 1);
    EXPECT_TRUE(exists(dir + "/model.h5")) << "a folder this run did not create is never removed";
}

// Continue mode (reproduce, sweep, compare, run --seeds, with --resume): a finished run is
// reused, an unfinished one resumed from its checkpoint, or cleared when it has none yet.
TEST_F(RunDir, ContinueReusesFinishedResumesUnfinishedAndClearsOneWithoutACheckpoint)
{
    hx_run_dir d;
    ASSERT_EQ(0, take(RD_CONTINUE, &d)) << err;   // nothing yet: it starts
    EXPECT_FALSE(d.reuse || d.resume || d.clear);
    put("metrics.csv", "h\n");                   // stopped in its first epoch: no model.h5
    hx_run_dir_release(&d, 0);
    ASSERT_EQ(0, take(RD_CONTINUE, &d)) << err;
    EXPECT_TRUE(d.clear);
    EXPECT_FALSE(d.resume);
    ASSERT_EQ(0, hx_run_dir_begin(&d, err, sizeof err)) << err;
    EXPECT_FALSE(exists(dir + "/metrics.csv"));
    put("metrics.csv", "h\n");
    put("model.h5", "m");                         // stopped later: a checkpoint to continue from
    hx_run_dir_release(&d, 0);
    ASSERT_EQ(0, take(RD_CONTINUE, &d)) << err;
    EXPECT_TRUE(d.resume);
    EXPECT_FALSE(d.clear);
    hx_run_dir_release(&d, 0);
    finished();
    ASSERT_EQ(0, take(RD_CONTINUE, &d)) << err;
    EXPECT_TRUE(d.reuse);
    hx_run_dir_release(&d, 0);
    put("result.json", "{not json");
    EXPECT_EQ(-1, take(RD_CONTINUE, &d));
    EXPECT_NE(std::string::npos, std::string(err).find("does not hold one consistent run")) << err;
}

TEST_F(RunDir, ResultOfAnotherRunOrMissingMetricsIsDamaged)
{
    finished("t-0123456789abcdef", "ffffffffffffffff");
    hx_run_dir d;
    EXPECT_EQ(-1, take(RD_START, &d));
    EXPECT_NE(std::string::npos, std::string(err).find("does not hold one consistent run: result.json is of run "
                                                       "'t-0123456789abcdef' (config hash ffffffffffffffff)")) << err;
    finished();
    ASSERT_EQ(0, remove((dir + "/metrics.csv").c_str()));
    EXPECT_EQ(-1, take(RD_START, &d));
    EXPECT_NE(std::string::npos, std::string(err).find("metrics.csv is missing")) << err;
    put("metrics.csv", "h\n");
    ASSERT_EQ(0, remove((dir + "/model.h5").c_str()));   // a committed record without its model: finished
    EXPECT_EQ(-1, take(RD_START, &d));
    EXPECT_NE(std::string::npos, std::string(err).find("already holds the finished run")) << err;
    put("result.json", "{not json");
    put("model.h5", "m");
    EXPECT_EQ(-1, take(RD_RESUME, &d));
    EXPECT_NE(std::string::npos, std::string(err).find("does not hold one consistent run")) << err;
    ASSERT_EQ(0, take(RD_RERUN, &d)) << err;
    hx_run_dir_release(&d, 0);
}

}  // namespace
