/* harness plot: the Pareto front, the data files and scripts per model, the gnuplot run (when
 * gnuplot is installed) and the behaviour without it. Runs are synthetic folders written here. */
#include <gtest/gtest.h>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>
#include "report_fixture.h"
extern "C" {
#include "harness/fileio.h"
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
    auto front = block(comp, 1);   /* fp32 (1x, 99.1) and xnor:bwn (16x, 98.0): neither dominates */
    ASSERT_EQ(front.size(), 2u) << comp;
    EXPECT_EQ(front[0], "\"fp32\" 1 99.1");
    EXPECT_EQ(front[1], "\"xnor:bwn\" 16 98");
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

}  // namespace
