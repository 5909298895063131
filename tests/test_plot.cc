/* harness plot: the Pareto front, the data files and scripts per model, the gnuplot run (when
 * gnuplot is installed) and the behaviour without it. Runs are synthetic folders written here. */
#include <gtest/gtest.h>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>
#include "report_fixture.h"
extern "C" {
#include "base/fileio.h"
#include "harness/plot.h"
}

namespace {

bool gnuplot_installed()
{
    return system("command -v gnuplot >/dev/null 2>&1") == 0;
}

/* Lines of data block `index` of a gnuplot .dat file (comments dropped). */
std::vector<std::string> block(const std::string &dat, int index)
{
    std::vector<std::string> out;
    int b = 0, blank = 0;
    size_t at = 0;
    while (at < dat.size()) {
        size_t nl = dat.find('\n', at);
        std::string line = dat.substr(at, nl == std::string::npos ? std::string::npos : nl - at);
        at = nl == std::string::npos ? dat.size() : nl + 1;
        if (line.empty()) { if (++blank == 2) b++; continue; }
        blank = 0;
        if (line[0] != '#' && b == index) out.push_back(line);
    }
    return out;
}

struct Plot : ::testing::Test {
    std::string root, runs, out, ref;
    char err[4096] = "";
    void SetUp() override
    {
        root = fx_tempdir("plot");
        runs = root + "/runs";
        out = root + "/out";
        ref = root + "/reference.csv";
        mkdir(runs.c_str(), 0777);
        fx_write(ref, "method,arch,dataset,w_bits,a_bits,top1,compression,compression_of,confirmed,source\n"
                      "xnor:bwn,lenet5,mnist,1,32,99.1,32,32/w_bits,yes,Paper A\n"
                      "sfp,lenet5,mnist,32,32,98.0,2.0,flops,no,Paper B\n");
        fx_run b;
        b.bytes = 32000;   /* fp32: compression 1 */
        b.id = "base-1"; b.acc = 99.0; b.curve = {90.0, 97.5, 99.0}; fx_write_run(runs, b);
        b.id = "base-2"; b.seed = 2; b.acc = 99.2; b.curve = {91.0, 98.0, 99.2}; fx_write_run(runs, b);
        fx_run x;
        x.id = "bwn-1"; x.method = "xnor"; x.mode = "bwn"; x.acc = 98.0; x.bytes = 2000; x.curve = {80.0, 95.0, 98.0};
        x.layers = {{"conv1", 32, 32, 500}, {"conv2", 1, 32, 25000}, {"fc1", 1, 32, 400000}, {"fc2", 32, 32, 5000}};
        fx_write_run(runs, x);
        fx_run t;   /* another model, without metrics.csv */
        t.id = "ttq-1"; t.method = "ttq"; t.arch = "resnet20"; t.dataset = "cifar10"; t.acc = 90.0;
        fx_write_run(runs, t);
    }
    void TearDown() override { fx_rmtree(root); }
    int plot(std::vector<std::string> args, std::string *printed)
    {
        std::vector<char *> argv;
        for (auto &a : args) argv.push_back(&a[0]);
        char *buf = nullptr;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        int rc = hx_plot_main((int)argv.size(), argv.data(), f, err, sizeof err);
        fclose(f);
        *printed = std::string(buf, len);
        free(buf);
        return rc;
    }
};

TEST(Pareto, KeepsUndominatedPointsSortedByX)
{
    const double x[] = {1, 10, 5, 5, 20, 10, 3, 3};
    const double y[] = {99, 98.5, 98.8, 98.0, 97, 98.0, 96, 96};
    int front[8];
    int n = hx_plot_pareto(x, y, 6, front);
    ASSERT_EQ(n, 4);
    EXPECT_EQ(front[0], 0);
    EXPECT_EQ(front[1], 2);
    EXPECT_EQ(front[2], 1);
    EXPECT_EQ(front[3], 4);
    /* Equal points do not dominate each other; both stay. */
    n = hx_plot_pareto(x + 6, y + 6, 2, front);
    EXPECT_EQ(n, 2);
}

TEST_F(Plot, WritesDataAndScriptsPerModel)
{
    std::string printed;
    ASSERT_EQ(plot({"--runs", runs, "--out", out, "--ref", ref, "--no-gnuplot"}, &printed), 0) << err;
    EXPECT_NE(printed.find("wrote 5 gnuplot scripts"), std::string::npos) << printed;
    for (const char *f : {"bits_lenet5_mnist", "compression_lenet5_mnist", "curves_lenet5_mnist",
                          "bits_resnet20_cifar10", "compression_resnet20_cifar10"}) {
        EXPECT_TRUE(fio_exists((out + "/" + f + ".dat").c_str())) << f;
        std::string gp = fx_read(out + "/" + f + ".gp");
        EXPECT_NE(gp.find(std::string("set output \"") + f + ".png\""), std::string::npos) << f;
        EXPECT_NE(gp.find(std::string("\"") + f + ".dat\" index 0"), std::string::npos) << f;
    }
    EXPECT_FALSE(fio_exists((out + "/curves_resnet20_cifar10.gp").c_str()));   /* no metrics.csv */

    std::string bits = fx_read(out + "/bits_lenet5_mnist.dat");
    auto runs0 = block(bits, 0);
    ASSERT_EQ(runs0.size(), 2u) << bits;
    EXPECT_EQ(runs0[0].rfind("\"fp32\" 32 32 99.1 ", 0), 0u) << runs0[0];
    EXPECT_EQ(runs0[1].rfind("\"xnor:bwn\" 1 ", 0), 0u) << runs0[1];
    auto rep = block(bits, 1);
    ASSERT_EQ(rep.size(), 2u);   /* both published rows have a numeric w_bits */
    EXPECT_EQ(rep[0], "\"xnor:bwn\" 1 99.1");
    EXPECT_NE(fx_read(out + "/bits_lenet5_mnist.gp").find("set logscale x 2"), std::string::npos);

    std::string comp = fx_read(out + "/compression_lenet5_mnist.dat");
    auto points = block(comp, 0);   /* base-1 and base-2 differ only in their seed: one point */
    ASSERT_EQ(points.size(), 2u) << comp;
    EXPECT_EQ(points[0].rfind("\"base-1\" \"fp32\" 1 99.1 0.1414213", 0), 0u) << points[0];
    EXPECT_EQ(points[0].substr(points[0].size() - 4), " 2 0") << points[0];
    EXPECT_EQ(points[1], "\"bwn-1\" \"xnor:bwn\" 16 98 0 1 1");
    auto front = block(comp, 1);   /* fp32 (1x, 99.1) and xnor:bwn (16x, 98.0): neither dominates */
    ASSERT_EQ(front.size(), 2u) << comp;
    EXPECT_EQ(front[0], "\"base-1\" \"fp32\" 1 99.1");
    EXPECT_EQ(front[1], "\"bwn-1\" \"xnor:bwn\" 16 98");
    auto comp_rep = block(comp, 2);   /* the FLOPs-based row is not a size ratio: left out */
    ASSERT_EQ(comp_rep.size(), 1u);
    EXPECT_EQ(comp_rep[0], "\"xnor:bwn\" 32 99.1");
    EXPECT_NE(fx_read(out + "/compression_lenet5_mnist.gp").find("set logscale x 10"), std::string::npos);

    std::string curves = fx_read(out + "/curves_lenet5_mnist.dat");
    auto c0 = block(curves, 0), c2 = block(curves, 2);
    ASSERT_EQ(c0.size(), 3u);
    EXPECT_EQ(c0[1], "2 97.5");
    ASSERT_EQ(c2.size(), 3u);
    EXPECT_EQ(c2[2], "3 98");
    std::string cgp = fx_read(out + "/curves_lenet5_mnist.gp");
    EXPECT_NE(cgp.find("index 2 using 1:2 with lines lw 1.5 title \"xnor:bwn seed 1\""), std::string::npos) << cgp;
}

/* Recipes: runs that differ only in [run] seed (one recipe_hash) are one point with an error bar;
 * two settings of one method are two points of one legend entry; the front joins the undominated. */
TEST_F(Plot, CompressionPointsPerRecipeWithMethodLegendAndFront)
{
    fx_rmtree(runs);   /* only this test's runs */
    mkdir(runs.c_str(), 0777);
    auto put = [&](const char *id, const char *method, int seed, double acc, double bytes, const char *recipe) {
        fx_run r;
        r.id = id; r.method = method; r.seed = seed; r.acc = acc; r.bytes = bytes; r.recipe = recipe;
        fx_write_run(runs, r);
    };
    put("base", "none", 1, 99.0, 32000, "");                          /* a record from before recipe_hash */
    put("m80-a", "magnitude", 1, 98.0, 6400, "aaaa000000000080");      /* sparsity 0.8: 5x */
    put("m80-b", "magnitude", 2, 98.4, 6400, "aaaa000000000080");
    put("m80-c", "magnitude", 3, 98.2, 6400, "aaaa000000000080");
    put("m90-0123456789abcdef", "magnitude", 1, 97.0, 3200, "aaaa000000000090");   /* 0.9: 10x */
    put("dc", "dc", 1, 96.0, 8000, "dddd000000000000");                /* 4x, below m80: dominated */
    std::string printed;
    ASSERT_EQ(plot({"--runs", runs, "--out", out, "--no-gnuplot"}, &printed), 0) << err;
    std::string dat = fx_read(out + "/compression_lenet5_mnist.dat");
    auto points = block(dat, 0);
    ASSERT_EQ(points.size(), 4u) << dat;
    EXPECT_EQ(points[0], "\"base\" \"fp32\" 1 99 0 1 0");
    EXPECT_EQ(points[1], "\"dc\" \"dc\" 4 96 0 1 1");
    EXPECT_EQ(points[2], "\"m80-a\" \"magnitude\" 5 98.2 0.2 3 2");   /* mean ± sample std of 3 seeds */
    EXPECT_EQ(points[3], "\"m90\" \"magnitude\" 10 97 0 1 2");   /* the name: the run id without its hash */
    auto front = block(dat, 1);
    ASSERT_EQ(front.size(), 3u) << dat;
    EXPECT_EQ(front[0], "\"base\" \"fp32\" 1 99");
    EXPECT_EQ(front[1], "\"m80-a\" \"magnitude\" 5 98.2");
    EXPECT_EQ(front[2], "\"m90\" \"magnitude\" 10 97");
    std::string gp = fx_read(out + "/compression_lenet5_mnist.gp");
    for (const char *t : {"(column(7) == 0 ? column(4) : NaN):5 with yerrorbars", "title \"fp32\"",
                          "(column(7) == 1 ? column(4) : NaN):5", "title \"dc\"",
                          "(column(7) == 2 ? column(4) : NaN):5", "title \"magnitude\"",
                          "index 1 using 3:4 with lines", "set xlabel \"compression", "set ylabel \"top-1"})
        EXPECT_NE(gp.find(t), std::string::npos) << t << "\n" << gp;

    if (!gnuplot_installed()) GTEST_SKIP() << "gnuplot not installed: PNG not checked";
    ASSERT_EQ(plot({"--runs", runs, "--out", out}, &printed), 0) << err;
    EXPECT_EQ(fx_read(out + "/compression_lenet5_mnist.png").compare(0, 8, "\x89PNG\r\n\x1a\n"), 0);
}

/* A bit-width sweep: one line per method and activation setting through its recipes' weight
 * bits (one A=W line when a method always keeps a = w); a setting run at one width only is not a
 * line; no sweep, no figure. */
TEST_F(Plot, SweepLinePerMethodAndActivationSetting)
{
    std::string printed;
    ASSERT_EQ(plot({"--runs", runs, "--out", out, "--no-gnuplot"}, &printed), 0) << err;
    EXPECT_FALSE(fio_exists((out + "/sweep_lenet5_mnist.dat").c_str())) << "no method was swept";
    fx_rmtree(runs);
    mkdir(runs.c_str(), 0777);
    auto put = [&](const char *id, const char *method, int w, int a, int seed, double acc, const char *recipe) {
        fx_run r;
        r.id = id; r.method = method; r.seed = seed; r.acc = acc; r.recipe = recipe;
        r.layers = {{"conv1", 32, 32, 500}, {"conv2", w, a, 25000}, {"fc1", w, a, 400000}, {"fc2", 32, 32, 5000}};
        fx_write_run(runs, r);
    };
    put("base", "none", 32, 32, 1, 91.0, "b000000000000000");
    put("dorefa-w8", "dorefa", 8, 8, 1, 90.5, "d800000000000000");
    put("dorefa-w2", "dorefa", 2, 2, 1, 85.0, "d200000000000000");
    put("dorefa-w2b", "dorefa", 2, 2, 2, 86.0, "d200000000000000");   /* seed 2 of the same recipe */
    put("dorefa-w4", "dorefa", 4, 4, 1, 89.0, "d400000000000000");
    put("pact-w2", "pact", 2, 4, 1, 87.0, "p240000000000000");
    put("pact-w4", "pact", 4, 4, 1, 89.5, "p440000000000000");         /* w = a here, but A stays 4 */
    put("pact-w8", "pact", 8, 4, 1, 90.0, "p840000000000000");
    put("pact-w8a8", "pact", 8, 8, 1, 90.2, "p880000000000000");       /* A=8 at one width: no line */
    ASSERT_EQ(plot({"--runs", runs, "--out", out, "--no-gnuplot"}, &printed), 0) << err;
    std::string dat = fx_read(out + "/sweep_lenet5_mnist.dat");
    auto d = block(dat, 0), p = block(dat, 1);
    ASSERT_EQ(d.size(), 3u) << dat;
    EXPECT_EQ(d[0], "\"dorefa-w2\" 2 2 85.5 0.707106781 2");
    EXPECT_EQ(d[1], "\"dorefa-w4\" 4 4 89 0 1");
    EXPECT_EQ(d[2], "\"dorefa-w8\" 8 8 90.5 0 1");
    ASSERT_EQ(p.size(), 3u) << dat;
    EXPECT_EQ(p[0], "\"pact-w2\" 2 4 87 0 1");
    EXPECT_EQ(p[1], "\"pact-w4\" 4 4 89.5 0 1");
    EXPECT_EQ(p[2], "\"pact-w8\" 8 4 90 0 1");
    auto fp = block(dat, 2);   // the full-precision run as a level across the swept widths
    ASSERT_EQ(fp.size(), 2u) << dat;
    EXPECT_EQ(fp[0], "2 91");
    EXPECT_EQ(fp[1], "8 91");
    EXPECT_TRUE(block(dat, 3).empty()) << dat;
    std::string gp = fx_read(out + "/sweep_lenet5_mnist.gp");
    for (const char *t : {"index 0 using 2:4:5 with yerrorlines", "title \"dorefa (A=W)\"",
                          "index 1 using 2:4:5 with yerrorlines", "title \"pact (A=4)\"", "set logscale x 2",
                          "index 2 using 1:2 with lines dt 2", "title \"fp32 (91.00 %)\""})
        EXPECT_NE(gp.find(t), std::string::npos) << t << "\n" << gp;
    if (!gnuplot_installed()) GTEST_SKIP() << "gnuplot not installed: PNG not checked";
    ASSERT_EQ(plot({"--runs", runs, "--out", out}, &printed), 0) << err << printed;
    EXPECT_EQ(fx_read(out + "/sweep_lenet5_mnist.png").compare(0, 8, "\x89PNG\r\n\x1a\n"), 0);
}

TEST_F(Plot, BadMetricsNamesTheFileUnlessSkipped)
{
    std::string m = runs + "/bwn-1/metrics.csv";
    fx_write(m, "round,epoch,test_acc\n1,1,80.0\n1,2,abc\n");
    std::string printed;
    EXPECT_EQ(plot({"--runs", runs, "--out", out, "--ref", ref, "--no-gnuplot"}, &printed), -1);
    EXPECT_NE(std::string(err).find(m + ": line 3: test_acc is not a number"), std::string::npos) << err;
    ASSERT_EQ(plot({"--runs", runs, "--out", out, "--ref", ref, "--no-gnuplot", "--skip-bad"}, &printed), 0) << err;
    std::string cgp = fx_read(out + "/curves_lenet5_mnist.gp");
    EXPECT_EQ(cgp.find("xnor:bwn"), std::string::npos);
    EXPECT_NE(cgp.find("fp32 seed 2"), std::string::npos);
}

TEST_F(Plot, WithoutGnuplotKeepsFilesAndSaysSo)
{
    std::string old = getenv("PATH") ? getenv("PATH") : "";
    setenv("PATH", (root + "/empty").c_str(), 1);
    std::string printed;
    int rc = plot({"--runs", runs, "--out", out, "--ref", ref}, &printed);
    setenv("PATH", old.c_str(), 1);
    ASSERT_EQ(rc, 0) << err;
    EXPECT_NE(printed.find("gnuplot is not installed"), std::string::npos) << printed;
    EXPECT_TRUE(fio_exists((out + "/bits_lenet5_mnist.gp").c_str()));
    EXPECT_FALSE(fio_exists((out + "/bits_lenet5_mnist.png").c_str()));
}

TEST_F(Plot, GnuplotMakesPngsAndReportsScriptErrors)
{
    if (!gnuplot_installed()) GTEST_SKIP() << "gnuplot not installed";
    std::string printed;
    ASSERT_EQ(plot({"--runs", runs, "--out", out, "--ref", ref}, &printed), 0) << err;
    for (const char *f : {"bits_lenet5_mnist", "compression_lenet5_mnist", "curves_lenet5_mnist",
                          "bits_resnet20_cifar10", "compression_resnet20_cifar10"}) {
        std::string png = fx_read(out + "/" + f + ".png");
        ASSERT_GT(png.size(), 1000u) << f;
        EXPECT_EQ(png.compare(0, 8, "\x89PNG\r\n\x1a\n"), 0) << f;
        EXPECT_NE(printed.find(out + "/" + f + ".png"), std::string::npos);
    }
    fx_write(out + "/broken.gp", "plot sin(x\n");
    EXPECT_EQ(hx_plot_gnuplot(out.c_str(), "broken.gp\n", err, sizeof err), -1);
    EXPECT_NE(std::string(err).find("gnuplot failed"), std::string::npos) << err;
    EXPECT_NE(std::string(err).find("broken.gp"), std::string::npos) << err;   /* the log names the script */
}

/* A Lottery Ticket run folder as methods/lottery.c leaves it (here: rounds.csv only, as while it runs). */
const char *kRoundsHeader = "round,level,kind,weights_remaining_pct,test_acc_end,best_test_acc,best_epoch,"
                            "early_stop_epoch,early_stop_iter,early_stop_test_acc\n";

std::string write_rounds(const std::string &runs, const std::string &id, const std::string &rows)
{
    mkdir((runs + "/" + id).c_str(), 0777);
    std::string path = runs + "/" + id + "/rounds.csv";
    fx_write(path, kRoundsHeader + rows);
    return path;
}

TEST_F(Plot, LotteryFigurePerRunWithTicketAndControl)
{
    write_rounds(runs, "lt-1", "0,0,ticket,100.0000,97.70,97.80,6,5,5500,97.71\n"
                               "1,1,ticket,50.0000,97.90,98.00,4,2,2750,97.95\r\n"   /* CRLF tolerated */
                               "2,1,control,50.0000,97.30,97.60,7,4,4400,97.46\n"
                               "3,2,ticket,20.5000,98.10,98.20,3,1,1830,98.12\n"
                               "4,2,control,20.5000,97.20,97.40,8,6,6400,97.25\n");
    write_rounds(runs, "lt-started", "");   /* no round finished yet: no figure */
    std::string printed;
    ASSERT_EQ(plot({"--runs", runs, "--out", out, "--ref", ref, "--no-gnuplot"}, &printed), 0) << err;
    EXPECT_NE(printed.find("wrote 6 gnuplot scripts"), std::string::npos) << printed;
    EXPECT_FALSE(fio_exists((out + "/lottery_lt-started.gp").c_str()));

    std::string dat = fx_read(out + "/lottery_lt-1.dat");
    EXPECT_NE(dat.find("level weights_remaining_pct early_stop_iter early_stop_test_acc"), std::string::npos) << dat;
    auto ticket = block(dat, 0), control = block(dat, 1);
    ASSERT_EQ(ticket.size(), 3u) << dat;
    EXPECT_EQ(ticket[0], "0 100 5500 97.71");
    EXPECT_EQ(ticket[1], "1 50 2750 97.95");
    EXPECT_EQ(ticket[2], "2 20.5 1830 98.12");
    ASSERT_EQ(control.size(), 2u) << dat;
    EXPECT_EQ(control[0], "1 50 4400 97.46");
    EXPECT_EQ(control[1], "2 20.5 6400 97.25");

    std::string gp = fx_read(out + "/lottery_lt-1.gp");
    EXPECT_NE(gp.find("set output \"lottery_lt-1.png\""), std::string::npos) << gp;
    EXPECT_NE(gp.find("\nset logscale x 10\n"), std::string::npos) << gp;
    size_t at = gp.find("\nset xrange [");
    ASSERT_NE(at, std::string::npos) << gp;
    double hi = 0, lo = 0;   /* [high:low]: 100% on the left, the sparsest level inside on the right */
    ASSERT_EQ(sscanf(gp.c_str() + at, "\nset xrange [%lf:%lf]", &hi, &lo), 2) << gp;
    EXPECT_GE(hi, 100.0);
    EXPECT_GT(lo, 0.0);
    EXPECT_LT(lo, 20.5);
    EXPECT_NE(gp.find("set multiplot layout 1,2"), std::string::npos) << gp;
    /* panel 1: accuracy (column 4), then panel 2: iteration (column 3); ticket and control in each */
    size_t p1 = gp.find("index 0 using 2:4 "), p1c = gp.find("index 1 using 2:4 ");
    size_t p2 = gp.find("index 0 using 2:3 "), p2c = gp.find("index 1 using 2:3 ");
    ASSERT_NE(p1, std::string::npos) << gp;
    ASSERT_NE(p1c, std::string::npos) << gp;
    ASSERT_NE(p2, std::string::npos) << gp;
    ASSERT_NE(p2c, std::string::npos) << gp;
    EXPECT_LT(p1c, p2);
    EXPECT_NE(gp.find("random re-init"), std::string::npos);
    EXPECT_NE(gp.find("\nunset multiplot"), std::string::npos);

    if (!gnuplot_installed()) GTEST_SKIP() << "gnuplot not installed: PNG not checked";
    ASSERT_EQ(plot({"--runs", runs, "--out", out, "--ref", ref}, &printed), 0) << err;
    std::string png = fx_read(out + "/lottery_lt-1.png");
    ASSERT_GT(png.size(), 1000u);
    EXPECT_EQ(png.compare(0, 8, "\x89PNG\r\n\x1a\n"), 0);
    EXPECT_NE(printed.find(out + "/lottery_lt-1.png"), std::string::npos) << printed;
}

TEST_F(Plot, BadRoundsCsvNamesFileAndLineUnlessSkipped)
{
    struct { const char *rows, *says; } cases[] = {
        {"0,0,ticket,100,97.7,97.8,6,5,5500,97.71\n1,1,tiket,50,97.9,98,4,2,2750,97.95\n",
         ": line 3: kind \"tiket\" is neither ticket nor control"},
        {"0,0,ticket,100,97.7,97.8,6,5,many,97.71\n", ": line 2: early_stop_iter \"many\" is not a number"},
        {"0,0,ticket,100,97.7,97.8,6,5,5500\n", ": line 2: 9 fields, the header has 10"},
        {"0,0,ticket,0,97.7,97.8,6,5,5500,97.71\n", ": line 2: weights_remaining_pct 0 is outside (0, 100]"},
    };
    for (const auto &c : cases) {
        std::string path = write_rounds(runs, "lt-bad", c.rows), printed;
        EXPECT_EQ(plot({"--runs", runs, "--out", out, "--ref", ref, "--no-gnuplot"}, &printed), -1) << c.says;
        EXPECT_NE(std::string(err).find(path + c.says), std::string::npos) << err;
    }
    std::string path = runs + "/lt-bad/rounds.csv", printed;
    fx_write(path, "round,level,kind,weights_remaining_pct\n0,0,ticket,100\n");
    EXPECT_EQ(plot({"--runs", runs, "--out", out, "--ref", ref, "--no-gnuplot"}, &printed), -1);
    EXPECT_NE(std::string(err).find(path + ": line 1: no early_stop_iter column"), std::string::npos) << err;

    ASSERT_EQ(plot({"--runs", runs, "--out", out, "--ref", ref, "--no-gnuplot", "--skip-bad"}, &printed), 0) << err;
    EXPECT_NE(printed.find("wrote 5 gnuplot scripts"), std::string::npos) << printed;   /* the others still made */
    EXPECT_FALSE(fio_exists((out + "/lottery_lt-bad.gp").c_str()));
}

}  // namespace
