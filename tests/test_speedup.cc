// The measured speedup of a run (speedup.json beside result.json): the record round-trips, a bad
// one is refused naming the file and field (or left out under --skip-bad, its run kept), harness
// table shows the column where a run has one and "—" where not, plot draws accuracy vs speedup
// only for such runs, and `harness eval --record` writes it for a real run without touching
// result.json. No timing value is asserted: they are measurements.
#include <gtest/gtest.h>
#include <cstring>
#include <string>
#include <vector>
#include "report_fixture.h"
#include "support/run_workspace.h"
extern "C" {
#include "base/fileio.h"
#include "deploy/isa.h"
#include "harness/code_version.h"
#include "harness/packed_eval.h"
#include "harness/plot.h"
#include "harness/report_runs.h"
#include "harness/run.h"
#include "harness/speedup.h"
#include "harness/table.h"
}

namespace {

/* Markdown table row whose first cell is first: its cells, trimmed. */
std::vector<std::string> md_row(const std::string &doc, const std::string &first)
{
    return fx_md_row(doc, first + " |");
}

struct Speedup : ::testing::Test {
    std::string root, runs;
    char err[4096] = "";
    void SetUp() override
    {
        root = fx_tempdir("speedup");
        runs = root + "/runs";
        mkdir(runs.c_str(), 0777);
        fx_run b;
        b.id = "base-1";
        fx_write_run(runs, b);
        fx_run x;
        x.method = "xnor"; x.mode = "bwn"; x.bytes = 100;
        x.layers = {{"conv1", 1, 32, 500}, {"fc1", 1, 32, 4000}};
        const double accs[] = {98.0, 98.5, 99.0};
        for (int i = 0; i < 3; i++) {
            x.id = "bwn-" + std::to_string(i); x.seed = i + 1; x.acc = accs[i];
            fx_write_run(runs, x);
        }
    }
    void TearDown() override { fx_rmtree(root); }
    std::string table(std::vector<const char *> extra = {}, int want_rc = 0)
    {
        std::string out_path = root + "/out.md";
        std::vector<char *> argv;
        std::vector<std::string> args = {"--runs", runs, "--ref", root + "/none.csv"};
        fx_write(root + "/none.csv", "method,arch,dataset,setting,w_bits,a_bits,baseline_top1,top1,delta,compression,"
                                     "compression_of,confirmed,source,notes\n");
        for (const char *e : extra) args.push_back(e);
        for (auto &a : args) argv.push_back(&a[0]);
        FILE *out = fopen(out_path.c_str(), "w");
        int rc = hx_table_main((int)argv.size(), argv.data(), out, err, sizeof err);
        fclose(out);
        EXPECT_EQ(want_rc, rc) << err;
        return fx_read(out_path);
    }
};

TEST_F(Speedup, RecordRoundTrips)
{
    hx_speedup s{};
    snprintf(s.run_id, sizeof s.run_id, "bwn-0");
    snprintf(s.dataset, sizeof s.dataset, "mnist");
    snprintf(s.packed_model, sizeof s.packed_model, "model.packed.h5");
    snprintf(s.float_model, sizeof s.float_model, "model.h5");
    snprintf(s.cpu, sizeof s.cpu, "Some \"quoted\" CPU @ 2.0GHz");
    snprintf(s.isa, sizeof s.isa, "avx512");
    snprintf(s.date, sizeof s.date, "2026-12-02T08:00:00Z");
    snprintf(s.code_version, sizeof s.code_version, "0.1.0+src.abc");
    s.threads = 2;
    s.repetitions = 5;
    for (int p = 0; p < HX_SPEED_COUNT; p++) {
        s.point[p].batch = hx_speed_batch[p];
        s.point[p].packed = {1000.0 / 3 + p, 1234.567 + p, 2000.1 + p};
        s.point[p].fp32 = {100.0 / 7, 123.4 + p, 130.0 + p};
        s.point[p].speedup = s.point[p].packed.median / s.point[p].fp32.median;
    }
    std::string dir = runs + "/bwn-0";
    ASSERT_EQ(0, hx_speedup_save(dir.c_str(), &s, err, sizeof err)) << err;
    hx_speedup r;
    ASSERT_EQ(1, hx_speedup_read(dir.c_str(), "bwn-0", &r, err, sizeof err)) << err;
    EXPECT_STREQ(s.cpu, r.cpu);
    EXPECT_STREQ(s.isa, r.isa);
    EXPECT_STREQ(s.date, r.date);
    EXPECT_STREQ(s.code_version, r.code_version);
    EXPECT_STREQ(s.packed_model, r.packed_model);
    EXPECT_EQ(2, r.threads);
    EXPECT_EQ(5, r.repetitions);
    for (int p = 0; p < HX_SPEED_COUNT; p++) {   // shortest round-trip text: every bit comes back
        EXPECT_EQ(s.point[p].batch, r.point[p].batch);
        EXPECT_EQ(s.point[p].packed.min, r.point[p].packed.min);
        EXPECT_EQ(s.point[p].packed.median, r.point[p].packed.median);
        EXPECT_EQ(s.point[p].fp32.max, r.point[p].fp32.max);
        EXPECT_EQ(s.point[p].speedup, r.point[p].speedup);
    }
    // a record belongs to its run: another run id in the file is refused
    EXPECT_EQ(-1, hx_speedup_read(dir.c_str(), "bwn-1", &r, err, sizeof err));
    EXPECT_NE(std::string::npos, std::string(err).find("\"run_id\" is bwn-0, but the run in this folder is bwn-1"))
        << err;
    // no file: nothing to read, no error
    EXPECT_EQ(0, hx_speedup_read((runs + "/bwn-1").c_str(), "bwn-1", &r, err, sizeof err));
}

TEST_F(Speedup, BadRecordsNameTheFileAndField)
{
    std::string dir = runs + "/bwn-0", path = dir + "/speedup.json";
    fx_write_speedup(runs, "bwn-0", 3, 2);
    std::string good = fx_read(path);
    hx_speedup r;
    struct { std::string text, want; } cases[] = {
        {good.substr(0, good.size() / 2), path + ": line"},   // truncated: not JSON
        {"{}", "\"run_id\" is missing"},
        {std::string(good).replace(good.find("\"threads\": 2"), 12, "\"threads\": 0"), "\"threads\" is 0"},
        {std::string(good).replace(good.find("\"speedup\": 3"), 12, "\"speedup\": 4"),
         "\"throughput.speedup\" is 4, not packed.median / fp32.median = 3"},
        {std::string(good).replace(good.find("\"batch\": 64"), 11, "\"batch\": 32"), "\"throughput.batch\" is 32"},
        {std::string(good).replace(good.find("\"min\": 900"), 10, "\"min\": 9000"),
         "\"latency.fp32\" does not hold min <= median <= max"},
        {std::string(good).replace(good.find("\"cpu\": \"Test CPU\""), 17, "\"cpu\": 7"), "\"cpu\" has the wrong type"},
    };
    for (const auto &c : cases) {
        fx_write(path, c.text);
        EXPECT_EQ(-1, hx_speedup_read(dir.c_str(), "bwn-0", &r, err, sizeof err)) << c.want;
        EXPECT_NE(std::string::npos, std::string(err).find(path)) << err;
        EXPECT_NE(std::string::npos, std::string(err).find(c.want)) << err;
    }
}

TEST_F(Speedup, TableShowsTheMeanOverSeedsWithOneAndADashWithout)
{
    std::string md = table();
    auto head = md_row(md, "Method");
    ASSERT_EQ(14u, head.size()) << md;
    EXPECT_EQ("Speedup × b64 / b1", head[11]);
    EXPECT_EQ("—", md_row(md, "XNOR-Net (bwn)")[11]) << md;
    EXPECT_NE(std::string::npos, md.find("No run here has a speedup.json")) << md;

    fx_write_speedup(runs, "bwn-0", 2, 1.5);
    fx_write_speedup(runs, "bwn-1", 4, 2.5);
    md = table();
    auto row = md_row(md, "XNOR-Net (bwn)");
    ASSERT_EQ(14u, row.size()) << md;
    EXPECT_EQ("3.00 / 2.00 (2 of 3 seeds)", row[11]);
    EXPECT_EQ("3", row[13]);
    EXPECT_EQ("—", md_row(md, "Full precision")[11]);
    EXPECT_NE(std::string::npos, md.find("Speedups measured on: Test CPU (avx2), 2 threads (2 runs).")) << md;

    fx_write_speedup(runs, "bwn-2", 3, 2);
    fx_write_speedup(runs, "base-1", 1, 1, "Other CPU", 1);
    md = table();
    EXPECT_EQ("3.00 / 2.00", md_row(md, "XNOR-Net (bwn)")[11]);
    EXPECT_EQ("1.00 / 1.00", md_row(md, "Full precision")[11]);
    // in the runs' folder order: base-1 first
    EXPECT_NE(std::string::npos,
              md.find("on: Other CPU (avx2), 1 thread (1 run); Test CPU (avx2), 2 threads (3 runs).")) << md;

    std::string csv = table({"--format", "csv"});
    EXPECT_NE(std::string::npos, csv.find(",speedup_b64,speedup_b64_std,speedup_b1,speedup_b1_std,speedup_seeds,packed_differ,packed_images,"));
    EXPECT_NE(std::string::npos, csv.find(",3,1,2,0.5,3,")) << csv;   // b64 3 ± 1, b1 2 ± 0.5, 3 seeds
}

TEST_F(Speedup, BadRecordStopsTheTableUnlessSkippedThenOnlyTheSpeedupIsLeftOut)
{
    fx_write_speedup(runs, "bwn-0", 2, 1.5);
    std::string path = runs + "/bwn-1/speedup.json";
    fx_write(path, "{\"run_id\": \"bwn-1\", \"cpu\": ");   // truncated
    table({}, -1);
    EXPECT_NE(std::string::npos, std::string(err).find(path)) << err;
    EXPECT_NE(std::string::npos, std::string(err).find("--skip-bad")) << err;
    std::string md = table({"--skip-bad"});
    auto row = md_row(md, "XNOR-Net (bwn)");
    ASSERT_EQ(14u, row.size()) << md;
    EXPECT_EQ("2.00 / 1.50 (1 of 3 seeds)", row[11]);
    EXPECT_EQ("3", row[13]);   // the run itself is kept
    EXPECT_NE(std::string::npos, md.find("1 bad speedup.json left out, their runs kept")) << md;
}

TEST_F(Speedup, PlotDrawsAccuracyVsSpeedupOnlyForRunsWithOne)
{
    rf_table ref{};
    rr_set s;
    std::string out = root + "/plots";
    ASSERT_EQ(0, rr_load(runs.c_str(), 0, nullptr, &s, err, sizeof err)) << err;
    rr_buf scripts{};
    ASSERT_LT(0, hx_plot_write(&s, &ref, out.c_str(), 0, &scripts, err, sizeof err)) << err;
    EXPECT_EQ(std::string::npos, std::string(scripts.s).find("speedup_")) << scripts.s;
    EXPECT_FALSE(fio_exists((out + "/speedup_lenet5_mnist.gp").c_str()));
    rr_buf_free(&scripts);
    rr_free(&s);

    fx_write_speedup(runs, "bwn-0", 2, 1.5);
    fx_write_speedup(runs, "bwn-1", 4, 2.5);
    ASSERT_EQ(0, rr_load(runs.c_str(), 0, nullptr, &s, err, sizeof err)) << err;
    ASSERT_LT(0, hx_plot_write(&s, &ref, out.c_str(), 0, &scripts, err, sizeof err)) << err;
    EXPECT_NE(std::string::npos, std::string(scripts.s).find("speedup_lenet5_mnist.gp")) << scripts.s;
    rr_buf_free(&scripts);
    rr_free(&s);
    std::string gp = fx_read(out + "/speedup_lenet5_mnist.gp"), dat = fx_read(out + "/speedup_lenet5_mnist.dat");
    EXPECT_NE(std::string::npos, gp.find("top-1 vs measured speedup (Test CPU (avx2), 2 threads)")) << gp;
    EXPECT_NE(std::string::npos, gp.find("set xlabel \"speedup × at batch 64")) << gp;
    EXPECT_NE(std::string::npos, gp.find("set ylabel \"top-1 test accuracy (%)\"")) << gp;
    EXPECT_NE(std::string::npos, gp.find("with xyerrorbars")) << gp;
    EXPECT_NE(std::string::npos, gp.find("title \"xnor:bwn\"")) << gp;    // the method in the legend
    EXPECT_EQ(std::string::npos, gp.find("title \"fp32\"")) << gp;        // no speedup.json: no point
    // one row: the two seeds with a record, speedup 3 ± 1.414, their top-1 98.25 ± 0.354
    EXPECT_NE(std::string::npos, dat.find("\"xnor:bwn\" 3 1.41421356 98.25 0.353553391 2 1 2")) << dat;
}

// `harness eval RUN_DIR/model.packed.h5 --data NAME --record` on a real (tiny) run: the record
// is written and reads back, result.json is untouched, and a folder that is no run, or has no
// model.h5, is refused before anything is timed.
TEST(SpeedupRecord, EvalRecordWritesSpeedupJsonBesideAnUntouchedResult)
{
    RunWorkspace ws;
    ASSERT_EQ(0, ws.open("speedup", 256, 96));
    std::string cfg = ws.write("tiny.ini", "[run]\nname = tiny\nseed = 1\nthreads = 1\n[data]\ndataset = synth\n"
                                           "val_size = 0\n[model]\narch = lenet5\n[train]\nepochs = 1\nbatch = 32\n");
    hx_run_result res{};
    ASSERT_EQ(0, ws.run(hx_run, cfg, hx_run_opts{}, &res)) << ws.last_err;
    std::string dir = res.run_dir, packed = dir + "/model.packed.h5", result = rw_slurp(dir + "/result.json");
    char err[4096] = "";
    FILE *out = tmpfile();
    ASSERT_EQ(0, hx_packed_record(packed.c_str(), "synth", 256, 1, 1, out, err, sizeof err)) << err;
    fclose(out);
    EXPECT_EQ(result, rw_slurp(dir + "/result.json"));
    hx_speedup s;
    ASSERT_EQ(1, hx_speedup_read(dir.c_str(), res.run_id, &s, err, sizeof err)) << err;
    EXPECT_EQ(1, s.threads);
    EXPECT_EQ(1, s.repetitions);
    EXPECT_STREQ("synth", s.dataset);
    EXPECT_STREQ(dp_isa_name(dp_isa_best()), s.isa);
    EXPECT_STREQ(hx_code_version, s.code_version);
    EXPECT_STRNE("", s.cpu);
    EXPECT_EQ(20u, strlen(s.date)) << s.date;   // 2026-12-02T08:00:00Z
    rr_run r;
    ASSERT_EQ(0, rr_read_run(dir.c_str(), &r, err, sizeof err)) << err;
    ASSERT_EQ(0, rr_read_speed(&r, err, sizeof err)) << err;
    EXPECT_TRUE(r.has_speed);

    // not a run folder: the packed file alone
    std::string lone = ws.root + "/lone";
    mkdir(lone.c_str(), 0777);
    std::string cp = "cp '" + packed + "' '" + dir + "/model.h5' '" + lone + "/'";
    ASSERT_EQ(0, system(cp.c_str()));
    EXPECT_EQ(-1, hx_packed_record((lone + "/model.packed.h5").c_str(), "synth", 256, 1, 1, stdout, err, sizeof err));
    EXPECT_NE(std::string::npos, std::string(err).find(lone + " is not a finished run folder")) << err;
    EXPECT_NE(std::string::npos, std::string(err).find(lone + "/result.json")) << err;
    // a run folder without model.h5
    cp = "cp '" + dir + "/result.json' '" + lone + "/' && rm '" + lone + "/model.h5'";
    ASSERT_EQ(0, system(cp.c_str()));
    EXPECT_EQ(-1, hx_packed_record((lone + "/model.packed.h5").c_str(), "synth", 256, 1, 1, stdout, err, sizeof err));
    EXPECT_NE(std::string::npos, std::string(err).find("no " + lone + "/model.h5 beside")) << err;
    EXPECT_FALSE(fio_exists((lone + "/speedup.json").c_str()));
    ws.close();
}

}  // namespace
