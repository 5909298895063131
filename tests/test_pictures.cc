/* Pictures (harness/pictures.c, plot_pictures.c): sizes and pixels of sample grids, filters and
 * masks built from tiny known inputs, then `harness plot --pictures` on a real baseline run and a
 * magnitude-pruning run that started from it (synthetic data, one short epoch each). */
#include <gtest/gtest.h>
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>
#include "report_fixture.h"
extern "C" {
#include "datasets/dataset.h"
#include "harness/checkpoint.h"
#include "base/fileio.h"
#include "harness/pictures.h"
#include "harness/png_out.h"
#include "harness/plot.h"
#include "harness/baseline.h"
#include "harness/experiment.h"
}
#include "support/synth_data.h"

namespace {

/* Pixel (x, y), channel ch of a picture. */
int at(const hx_picture &p, int x, int y, int ch = 0)
{
    EXPECT_TRUE(x >= 0 && x < p.w && y >= 0 && y < p.h) << x << "," << y;
    return p.px[((size_t)y * p.w + x) * p.c + ch];
}

TEST(Pictures, ScaleBringsSmallSidesUpAndStopsAtTheCap)
{
    EXPECT_EQ(pic_scale_for(5, PIC_TILE_PX), 10);
    EXPECT_EQ(pic_scale_for(28, PIC_TILE_PX), 2);
    EXPECT_EQ(pic_scale_for(48, PIC_TILE_PX), 1);
    EXPECT_EQ(pic_scale_for(300, PIC_TILE_PX), 1);
    EXPECT_EQ(pic_scale_for(1, PIC_TILE_PX), PIC_MAX_SCALE);
}

TEST(Pictures, SamplesOneRowPerClassInStoreOrder)
{
    /* 5 gray images of 2x3, labels 1 0 1 1 0, 3 classes (class 2 has none), 2 per class. */
    const int c = 1, h = 2, w = 3, n = 5;
    std::vector<uint8_t> images(n * h * w), labels = {1, 0, 1, 1, 0};
    for (int i = 0; i < n; i++)
        for (int k = 0; k < h * w; k++) images[i * h * w + k] = (uint8_t)(10 * i + k);
    ds_split split = {images.data(), labels.data(), (uint32_t)n};
    hx_picture p;
    char err[256];
    ASSERT_EQ(pic_samples(&split, c, h, w, 3, 2, &p, err, sizeof err), 0) << err;
    const int s = 16;   /* pic_scale_for(3, 48) */
    EXPECT_EQ(p.c, 1);
    EXPECT_EQ(p.w, 2 * (w * s + PIC_PAD) + PIC_PAD);
    EXPECT_EQ(p.h, 3 * (h * s + PIC_PAD) + PIC_PAD);
    /* tile (row, col), source pixel (x, y): its top-left screen pixel and its last one */
    auto px = [&](int row, int col, int x, int y, int dx, int dy) {
        return at(p, PIC_PAD + col * (w * s + PIC_PAD) + x * s + dx, PIC_PAD + row * (h * s + PIC_PAD) + y * s + dy);
    };
    EXPECT_EQ(px(0, 0, 0, 0, 0, 0), 10);             /* class 0: images 1, 4 */
    EXPECT_EQ(px(0, 1, 2, 1, s - 1, s - 1), 45);
    EXPECT_EQ(px(1, 0, 1, 0, 3, 7), 1);              /* class 1: images 0, 2 (3 is the third) */
    EXPECT_EQ(px(1, 1, 0, 1, 0, 0), 23);
    EXPECT_EQ(px(2, 0, 0, 0, 0, 0), PIC_BG);         /* class 2: blank tiles */
    EXPECT_EQ(at(p, 0, 0), PIC_BG);                  /* padding */
    EXPECT_EQ(at(p, PIC_PAD + w * s, PIC_PAD), PIC_BG);
    pic_free(&p);

    /* RGB: planes become interleaved pixels. */
    std::vector<uint8_t> rgb(2 * 3 * 1 * 1), lab = {0, 0};
    for (int k = 0; k < 6; k++) rgb[k] = (uint8_t)(100 + k);
    ds_split s2 = {rgb.data(), lab.data(), 2};
    ASSERT_EQ(pic_samples(&s2, 3, 1, 1, 1, 2, &p, err, sizeof err), 0) << err;
    EXPECT_EQ(p.c, 3);
    EXPECT_EQ(p.w, 2 * (PIC_MAX_SCALE + PIC_PAD) + PIC_PAD);
    for (int ch = 0; ch < 3; ch++) EXPECT_EQ(at(p, PIC_PAD + PIC_MAX_SCALE + PIC_PAD, PIC_PAD, ch), 103 + ch);
    pic_free(&p);

    ds_split s4 = {rgb.data(), lab.data(), 1};
    EXPECT_EQ(pic_samples(&s4, 2, 1, 1, 1, 1, &p, err, sizeof err), -1);
    EXPECT_NE(std::string(err).find("not 2 channels"), std::string::npos) << err;
}

TEST(Pictures, FiltersOnOneSignedScaleWithRemovedWeightsGray)
{
    /* 2 filters of 1x2x2; the mask removes the second filter's first weight. */
    const float w[] = {-1, 0, 0.5f, 1, 2, -2, 0, 0};
    const uint8_t mask[] = {1, 1, 1, 1, 0, 1, 1, 1};
    hx_picture p;
    char err[256];
    ASSERT_EQ(pic_filters(w, mask, 2, 1, 2, 2, 2.0f, &p, err, sizeof err), 0) << err;
    const int s = 16, tile = 2 * s + PIC_PAD;   /* pic_scale_for(2, 48); 2 filters: 2 columns */
    EXPECT_EQ(p.w, 2 * tile + PIC_PAD);
    EXPECT_EQ(p.h, tile + PIC_PAD);
    auto px = [&](int f, int x, int y) { return at(p, PIC_PAD + f * tile + x * s + 5, PIC_PAD + y * s + 5); };
    EXPECT_EQ(px(0, 0, 0), 64);    /* -1 of 2: 127.5 - 63.75 */
    EXPECT_EQ(px(0, 1, 0), 128);   /* 0 */
    EXPECT_EQ(px(0, 0, 1), 159);   /* 0.5 */
    EXPECT_EQ(px(0, 1, 1), 191);
    EXPECT_EQ(px(1, 0, 0), 128);   /* 2, removed */
    EXPECT_EQ(px(1, 1, 0), 0);     /* -2 */
    pic_free(&p);

    /* 4 RGB filters of 3x1x1: a 2x2 grid; 2 input channels: one row per filter, one tile each. */
    float rgb[12];
    for (int k = 0; k < 12; k++) rgb[k] = (float)(k - 6);
    ASSERT_EQ(pic_filters(rgb, nullptr, 4, 3, 1, 1, 6.0f, &p, err, sizeof err), 0) << err;
    EXPECT_EQ(p.c, 3);
    EXPECT_EQ(p.w, 2 * (PIC_MAX_SCALE + PIC_PAD) + PIC_PAD);
    EXPECT_EQ(p.h, p.w);
    EXPECT_EQ(at(p, PIC_PAD, PIC_PAD, 0), 0);                              /* filter 0, red: -6 */
    EXPECT_EQ(at(p, PIC_PAD, PIC_PAD + PIC_MAX_SCALE + PIC_PAD, 2), 170);  /* filter 2, blue: 2 of 6 */
    pic_free(&p);
    ASSERT_EQ(pic_filters(rgb, nullptr, 3, 2, 1, 2, 6.0f, &p, err, sizeof err), 0) << err;
    EXPECT_EQ(p.c, 1);
    EXPECT_EQ(p.w, 2 * (2 * PIC_MAX_SCALE + PIC_PAD) + PIC_PAD);
    EXPECT_EQ(p.h, 3 * (PIC_MAX_SCALE + PIC_PAD) + PIC_PAD);
    pic_free(&p);
}

TEST(Pictures, MaskGridAndMatrix)
{
    /* conv 2 outputs x 3 inputs x 2x2: cells 2x2, 1-pixel gray grid; 6x4 content -> factor 16 */
    std::vector<uint8_t> m(2 * 3 * 4, 1);
    m[0] = 0;                       /* output 0, input 0, (0, 0) */
    for (int k = 0; k < 4; k++) m[(1 * 3 + 2) * 4 + k] = 0;   /* output 1, input 2: the whole kernel */
    hx_picture p;
    char err[256];
    ASSERT_EQ(pic_mask(m.data(), 2, 3, 2, 2, &p, err, sizeof err), 0) << err;
    const int s = 16, cell = 2 * s + 1;
    EXPECT_EQ(p.w, 3 * cell + 1);
    EXPECT_EQ(p.h, 2 * cell + 1);
    EXPECT_EQ(at(p, 0, 0), PIC_GRID);
    EXPECT_EQ(at(p, 1, 1), PIC_REMOVED);
    EXPECT_EQ(at(p, 1 + s, 1), PIC_KEPT);
    EXPECT_EQ(at(p, 1 + 2 * cell + 3, 1 + cell + s + 3), PIC_REMOVED);
    EXPECT_EQ(at(p, 1 + 2 * cell + 3, 1 + 3), PIC_KEPT);
    EXPECT_EQ(at(p, cell, 5), PIC_GRID);
    pic_free(&p);

    /* linear 3 x 4: one image, rows = outputs, factor 16 (256 / 4 = 64, capped) */
    std::vector<uint8_t> l = {1, 1, 1, 1, 1, 0, 1, 1, 0, 0, 0, 1};
    ASSERT_EQ(pic_mask(l.data(), 3, 4, 1, 1, &p, err, sizeof err), 0) << err;
    EXPECT_EQ(p.w, 4 * 16);
    EXPECT_EQ(p.h, 3 * 16);
    for (int i = 0; i < 12; i++) EXPECT_EQ(at(p, (i % 4) * 16 + 15, (i / 4) * 16), l[i] ? PIC_KEPT : PIC_REMOVED) << i;
    pic_free(&p);

    /* a thin 2 x 300 layer: 300 -> factor 1 would leave it 2 pixels high; 2048 / 300 = 6 */
    std::vector<uint8_t> thin(600, 1);
    ASSERT_EQ(pic_mask(thin.data(), 2, 300, 1, 1, &p, err, sizeof err), 0) << err;
    EXPECT_EQ(p.w, 300 * 6);
    EXPECT_EQ(p.h, 2 * 6);
    pic_free(&p);
}

/* A written PNG read back: bytes, then decoded through the datasets room's decoder. */
struct Png { std::string bytes; ds_image img{}; };
Png read_png(const std::string &path)
{
    Png r;
    r.bytes = fx_read(path);
    char err[256];
    EXPECT_EQ(ds_decode_image((const uint8_t *)r.bytes.data(), r.bytes.size(), &r.img, err, sizeof err), 0)
        << path << ": " << err;
    return r;
}

struct PicturesRun : ::testing::Test {
    std::string root;
    void SetUp() override
    {
        root = fx_tempdir("pictures");
        setenv("HARNESS_DATA_DIR", (root + "/data").c_str(), 1);
        setenv("HARNESS_RESULTS", (root + "/results").c_str(), 1);
        mkdir((root + "/data").c_str(), 0777);
        ASSERT_EQ(0, synth_dataset_save((root + "/data").c_str(), "synth", 1, 28, 28, 3, 300, 60, 7));
    }
    void TearDown() override
    {
        unsetenv("HARNESS_DATA_DIR");
        unsetenv("HARNESS_RESULTS");
        fx_rmtree(root);
    }
    std::string config(const std::string &name, const std::string &extra)
    {
        std::string p = root + "/" + name + ".ini";
        fx_write(p, "[run]\nname = " + name + "\nseed = 3\nthreads = 1\n\n[data]\ndataset = synth\n\n[model]\n"
                    "arch = lenet5\n" + extra);
        return p;
    }
    std::string run(const std::string &cfg)
    {
        hx_run_opts o{};
        o.quiet = 1;
        o.log = fopen("/dev/null", "w");
        hx_run_result res{};
        char err[4096] = "";
        EXPECT_EQ(hx_experiment(cfg.c_str(), &o, &res, err, sizeof err), 0) << err;
        fclose(o.log);
        return res.run_dir;
    }
    std::string pictures(const std::string &run_dir, const std::string &out, int expect = 0)
    {
        std::vector<std::string> args = {"--pictures", run_dir, "--out", out, "--per-class", "4"};
        std::vector<char *> argv;
        for (auto &a : args) argv.push_back(&a[0]);
        char *buf = nullptr, err[4096] = "";
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        EXPECT_EQ(hx_plot_main((int)argv.size(), argv.data(), f, err, sizeof err), expect) << err;
        fclose(f);
        std::string printed(buf, len);
        free(buf);
        return expect == 0 ? printed : std::string(err);
    }
};

TEST_F(PicturesRun, BaselineAndPrunedRunGiveSamplesFiltersAndMasks)
{
    const std::string train = "\n[train]\nepochs = 1\nbatch = 32\nlr = 0.01\n";
    std::string base_cfg = config("base", train);
    std::string pruned = run(config("pruned", "pretrained = " + base_cfg + "\n\n[train]\nepochs = 1\nbatch = 32\nlr = 0.001\n" +
                                             "\n[method]\nname = magnitude\nsparsity = 0.8\n"));
    ASSERT_FALSE(pruned.empty());
    std::string id = pruned.substr(pruned.rfind('/') + 1), out = root + "/out";
    std::string printed = pictures(pruned, out);

    /* Samples: 3 classes x 4 of 28x28, enlarged twice. */
    Png s = read_png(out + "/samples_synth.png");
    EXPECT_EQ(s.img.c, 1);
    EXPECT_EQ(s.img.w, 4 * (56 + PIC_PAD) + PIC_PAD);
    EXPECT_EQ(s.img.h, 3 * (56 + PIC_PAD) + PIC_PAD);
    EXPECT_NE(printed.find("one row per class: class0 class1 class2"), std::string::npos) << printed;

    /* Filters: LeNet-5's conv1 holds 20 of 1x5x5, a 5-wide grid of 50-pixel tiles. */
    Png before = read_png(out + "/filters_" + id + "_baseline.png");
    Png after = read_png(out + "/filters_" + id + "_final.png");
    for (const Png *f : {&before, &after}) {
        EXPECT_EQ(f->img.w, 5 * (50 + PIC_PAD) + PIC_PAD);
        EXPECT_EQ(f->img.h, 4 * (50 + PIC_PAD) + PIC_PAD);
    }
    /* Each tile pixel is its weight on the shared scale (the largest |w| of both layers): the
     * baseline's as cached, the final model's with every removed weight at 0, i.e. mid-gray. */
    char err[1024], cache[4096], base_dir[4096], hash[17];
    ASSERT_EQ(hx_baseline_files(base_cfg.c_str(), cache, sizeof cache, base_dir, sizeof base_dir, hash, err,
                                sizeof err), 0) << err;
    nn_model *b = ckpt_load(cache, nullptr, nullptr, err, sizeof err);
    ASSERT_NE(b, nullptr) << err;
    nn_model *m = ckpt_load((pruned + "/model.h5").c_str(), nullptr, nullptr, err, sizeof err);
    ASSERT_NE(m, nullptr) << err;
    const nn_node *conv1 = &m->nodes[0], *bconv1 = &b->nodes[0];
    ASSERT_EQ(conv1->kind, NN_CONV);
    ASSERT_EQ(conv1->nw, 500u);
    ASSERT_NE(conv1->mask, nullptr);
    float absmax = 0;
    for (int i = 0; i < 500; i++) absmax = std::max({absmax, std::fabs(bconv1->w[i]), std::fabs(conv1->w[i])});
    int removed = 0;
    for (int i = 0; i < 500; i++) {
        int f = i / 25, y = (i % 25) / 5, x = i % 5;
        size_t off = (size_t)(PIC_PAD + (f / 5) * 52 + y * 10 + 9) * before.img.w + PIC_PAD + (f % 5) * 52 + x * 10;
        float wb = bconv1->w[i], wf = conv1->mask[i] ? conv1->w[i] : 0.0f;
        uint8_t want_b, want_f;
        png_signed_to_u8(&wb, 1, absmax, &want_b);
        png_signed_to_u8(&wf, 1, absmax, &want_f);
        EXPECT_EQ(before.img.pixels[off], want_b) << i;
        EXPECT_EQ(after.img.pixels[off], want_f) << i;
        removed += !conv1->mask[i];
    }
    EXPECT_GT(removed, 0);
    EXPECT_NE(printed.find(conv1->name + std::string(": ") + std::to_string(500 - removed) + " of 500 weights kept"),
              std::string::npos) << printed;
    nn_model_free(b);

    /* Masks: one picture per weighted layer (magnitude prunes all four). conv1 is a one-column
     * grid of 20 kernels of 5x5: 100 x 5 pixels of content, enlarged 7 times (5 -> 32). */
    Png m1 = read_png(out + "/masks_" + id + "_01-" + conv1->name + ".png");
    EXPECT_EQ(m1.img.w, 1 * (5 * 7 + 1) + 1);
    EXPECT_EQ(m1.img.h, 20 * (5 * 7 + 1) + 1);
    int weighted = 0;
    for (int i = 0; i < m->n_nodes; i++) {
        const nn_node *n = &m->nodes[i];
        if (!nn_is_weighted(n)) continue;
        char name[128];
        snprintf(name, sizeof name, "/masks_%s_%02d-%s.png", id.c_str(), ++weighted, n->name);
        EXPECT_TRUE(fio_exists((out + name).c_str())) << name << "\n" << printed;
    }
    EXPECT_EQ(weighted, 4);
    Png fc2 = read_png(out + "/masks_" + id + "_04-" + m->nodes[m->n_nodes - 1].name + ".png");
    EXPECT_EQ(fc2.img.w, 500 * 4);            /* a 3 x 500 matrix: enlarged as far as 2048 allows */
    EXPECT_EQ(fc2.img.h, 3 * 4);
    ds_image_free(&fc2.img);

    /* The same files give the same bytes. */
    std::string again = root + "/again";
    pictures(pruned, again);
    EXPECT_EQ(fx_read(again + "/filters_" + id + "_final.png"), after.bytes);
    EXPECT_EQ(fx_read(again + "/masks_" + id + "_01-" + conv1->name + ".png"), m1.bytes);
    for (Png *p : {&s, &before, &after, &m1}) ds_image_free(&p->img);
    nn_model_free(m);
}

TEST_F(PicturesRun, RunWithoutPretrainedOrMasksSaysSo)
{
    std::string dir = run(config("plain", "\n[train]\nepochs = 1\nbatch = 32\nlr = 0.01\n"));
    std::string id = dir.substr(dir.rfind('/') + 1), out = root + "/out";
    std::string printed = pictures(dir, out);
    EXPECT_NE(printed.find("no [model] pretrained"), std::string::npos) << printed;
    EXPECT_NE(printed.find("no pruning masks"), std::string::npos) << printed;
    EXPECT_TRUE(fio_exists((out + "/filters_" + id + "_final.png").c_str()));
    EXPECT_FALSE(fio_exists((out + "/filters_" + id + "_baseline.png").c_str()));

    std::string err = pictures(root + "/nowhere", out, -1);
    EXPECT_NE(err.find(root + "/nowhere/result.json"), std::string::npos) << err;
}

}  // namespace
