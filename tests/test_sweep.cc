/* harness sweep: the grid runs here in child processes (at most J at a time), finished runs
 * are not started again, a spec repeating a run id runs once, a bad value stops the sweep
 * before anything runs, and the emitted GNU parallel lines and Slurm array tasks are ordinary
 * harness runs (executed here by sh and bash, as the engines would). */
#include "scale_fixture.h"
#include <dirent.h>

namespace {

using Sweep = ScaleFixture;

int folders(const std::string &dir)
{
    int n = 0;
    DIR *d = opendir(dir.c_str());
    if (!d) return 0;
    for (struct dirent *e; (e = readdir(d));) n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

TEST_F(Sweep, GridRunsLocallyAndIsReusedAfterwards)
{
    config("s.ini", "s");
    Out r = harness("sweep configs/s.ini --seeds 2 --set train.lr=0.01,0.02 --jobs 2");
    ASSERT_EQ(0, r.status) << r.text;
    EXPECT_EQ(4, count(r.text, "] finished s-")) << r.text;
    EXPECT_NE(std::string::npos, r.text.find("sweep: 4 run(s): 4 ran, 0 reused, 0 failed")) << r.text;
    EXPECT_EQ(4, folders(root + "/results/runs"));
    r = harness("table --runs results/runs");
    EXPECT_NE(std::string::npos, r.text.find("| 4 (2 configs) |")) << r.text;   // two learning rates: flagged
    r = harness("sweep configs/s.ini --seeds 2 --set train.lr=0.01,0.02 --jobs 2");
    ASSERT_EQ(0, r.status) << r.text;
    EXPECT_NE(std::string::npos, r.text.find("4 run(s): 0 ran, 4 reused")) << r.text;
}

TEST_F(Sweep, SameRunIdRunsOnceAndBadValuesStopEverything)
{
    config("s.ini", "s");
    fx_write(root + "/configs/copy.ini", fx_read(root + "/configs/s.ini"));
    Out r = harness("sweep configs/s.ini configs/copy.ini --seed-list 3");
    ASSERT_EQ(0, r.status) << r.text;
    EXPECT_NE(std::string::npos, r.text.find("run once")) << r.text;
    EXPECT_NE(std::string::npos, r.text.find("sweep: 1 run(s)")) << r.text;
    r = harness("sweep configs/s.ini --set train.lr=0.02,fast --jobs 2");
    EXPECT_EQ(1, r.status);
    EXPECT_NE(std::string::npos, r.text.find("lr")) << r.text;
    EXPECT_NE(std::string::npos, r.text.find("fast")) << r.text;
    EXPECT_EQ(1, folders(root + "/results/runs")) << "a bad sweep started runs";
    r = harness("sweep configs/s.ini --set train.lr=0.1 --set train.lr=0.2");
    EXPECT_EQ(1, r.status);
    EXPECT_NE(std::string::npos, r.text.find("swept already")) << r.text;
    r = harness("sweep configs/s.ini --set train.lr+train.batch=1 --set train.lr=0.2");
    EXPECT_EQ(1, r.status);
    EXPECT_NE(std::string::npos, r.text.find("train.lr is swept already")) << r.text;
    r = harness("sweep configs/s.ini --set train.lr++train.batch=1");
    EXPECT_EQ(1, r.status);
    EXPECT_NE(std::string::npos, r.text.find("is empty")) << r.text;
    r = harness("sweep configs/s.ini --emit pbs");
    EXPECT_EQ(1, r.status);
    EXPECT_NE(std::string::npos, r.text.find("--emit takes parallel or slurm")) << r.text;
}

TEST_F(Sweep, EmittedLinesAndArrayTasksAreOrdinaryRuns)
{
    config("s.ini", "s");
    Out r = harness("sweep configs/s.ini --seeds 3 --emit parallel --out runs.parallel");
    ASSERT_EQ(0, r.status) << r.text;
    std::string lines = fx_read(root + "/runs.parallel");
    EXPECT_EQ(3, count(lines, "\n"));
    EXPECT_EQ(3, count(lines, "' run 'configs/s.ini' --seed-list "));
    // the first line, as GNU parallel would run it (through a shell)
    std::string first = lines.substr(0, lines.find('\n'));
    fx_write(root + "/first.sh", first + "\n");
    ASSERT_EQ(0, system(("sh '" + root + "/first.sh' >/dev/null 2>&1").c_str()));
    EXPECT_EQ(1, folders(root + "/results/runs"));

    r = harness("sweep configs/s.ini --seeds 3 --jobs 2 --emit slurm --out runs.sbatch");
    ASSERT_EQ(0, r.status) << r.text;
    std::string script = fx_read(root + "/runs.sbatch");
    EXPECT_NE(std::string::npos, script.find("#SBATCH --array=0-2%2\n")) << script;
    EXPECT_NE(std::string::npos, script.find("#SBATCH --cpus-per-task=1\n")) << script;
    EXPECT_EQ(3, count(script, ") exec '"));
    // task 1, as a Slurm node would run it; task 0 finished above and is reused
    ASSERT_EQ(0, system(("cd / && SLURM_ARRAY_TASK_ID=1 bash '" + root + "/runs.sbatch' >/dev/null 2>&1").c_str()));
    EXPECT_EQ(2, folders(root + "/results/runs"));
    std::string log = root + "/t0.log";
    ASSERT_EQ(0, system(("cd / && SLURM_ARRAY_TASK_ID=0 bash '" + root + "/runs.sbatch' >'" + log + "' 2>&1").c_str()));
    EXPECT_NE(std::string::npos, fx_read(log).find("finished already")) << fx_read(log);
    EXPECT_NE(0, system(("cd / && SLURM_ARRAY_TASK_ID=7 bash '" + root + "/runs.sbatch' >/dev/null 2>&1").c_str()));

    // tied keys: one axis, each value to both keys (2 runs, not a 2 x 2 grid); --resume is passed on
    r = harness("sweep configs/s.ini --seed-list 1 --set train.batch+train.epochs=16,3 --emit parallel --out tied.parallel "
                "--resume");
    ASSERT_EQ(0, r.status) << r.text;
    lines = fx_read(root + "/tied.parallel");
    EXPECT_EQ(2, count(lines, "\n")) << lines;
    EXPECT_NE(std::string::npos, lines.find("--set 'train.batch=16' --set 'train.epochs=16' --quiet --resume\n")) << lines;
    EXPECT_NE(std::string::npos, lines.find("--set 'train.batch=3' --set 'train.epochs=3' --quiet --resume\n")) << lines;
    r = harness("sweep configs/s.ini --set train.lr=0.1 --resume");
    EXPECT_EQ(1, r.status);
    EXPECT_NE(std::string::npos, r.text.find("give --seeds or --seed-list")) << r.text;
}

}  // namespace
