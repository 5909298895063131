// PNG/JPEG decoding (ds_decode_image) and image-folder datasets (ds_import_images, and cifar10
// from an image folder) on tiny files written here with libpng and libjpeg: exact PNG pixels and
// conversions, JPEG equal to a plain libjpeg decode, labels from sorted folder names, provenance,
// byte-identical re-runs, and every bad tree or damaged file refused with its name.
#include <gtest/gtest.h>
#include <png.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>
extern "C" {
#include "datasets/dataset.h"
#include "support/ds_fixtures.h"
#include "support/ds_tempdir_test.h"
#include "support/image_fixtures.h"
}

namespace {

#define EXPECT_HAS(msg, part) EXPECT_NE(std::string(msg).find(part), std::string::npos) << "message: " << (msg)
using Bytes = std::vector<uint8_t>;

Bytes slurp(const std::string &p) {
    size_t n = 0;
    uint8_t *b = imfx_slurp(p.c_str(), &n);
    Bytes v(b, b + (b ? n : 0));
    free(b);
    return v;
}

Bytes picture(int c, int h, int w, uint32_t seed) {
    Bytes v((size_t)c * h * w);
    imfx_picture(v.data(), c, h, w, seed);
    return v;
}

Bytes planar(const Bytes &interleaved, int c, int h, int w) {
    Bytes v(interleaved.size());
    imfx_planar(interleaved.data(), c, h, w, v.data());
    return v;
}

// ds_decode_image on a buffer: rc, the image (freed by the destructor) and the message.
struct Decoded {
    explicit Decoded(const Bytes &buf) {
        char e[DS_ERR_MAX] = "";
        rc = ds_decode_image(buf.data(), buf.size(), &im, e, sizeof e);
        err = e;
    }
    ~Decoded() { ds_image_free(&im); }
    Bytes pixels() const { return Bytes(im.pixels, im.pixels + (size_t)im.c * im.h * im.w); }
    int rc;
    ds_image im;
    std::string err;
};

class Images : public DsTempDirTest {
  protected:
    // mkdir -p dir_/rel; returns the full path.
    std::string dirs(const std::string &rel) {
        if (rel.empty()) return dir_;
        for (size_t i = 0; i <= rel.size(); i++)
            if (i == rel.size() || rel[i] == '/') mkdir(path(rel.substr(0, i)).c_str(), 0777);
        return path(rel);
    }
    static std::string parent(const std::string &rel) {
        size_t slash = rel.rfind('/');
        return slash == std::string::npos ? "" : rel.substr(0, slash);
    }
    // An 8-bit PNG or a quality-95 JPEG of the test picture at dir_/rel (folders made as needed).
    std::string png(const std::string &rel, int c, int h, int w, uint32_t seed) {
        dirs(parent(rel));
        EXPECT_EQ(imfx_write_png8(path(rel).c_str(), c, h, w, picture(c, h, w, seed).data()), 0);
        return path(rel);
    }
    std::string jpeg(const std::string &rel, int c, int h, int w, uint32_t seed, int quality = 95) {
        dirs(parent(rel));
        EXPECT_EQ(imfx_write_jpeg(path(rel).c_str(), c, h, w, picture(c, h, w, seed).data(), quality), 0);
        return path(rel);
    }
    // A valid two-class tree of 3x6x5 PNGs at dir_/name.
    std::string small_tree(const std::string &name) {
        for (const char *f : {"train/a/0.png", "train/b/0.png", "test/a/0.png", "test/b/0.png"})
            png(name + "/" + f, 3, 6, 5, 1);
        return path(name);
    }
    // ds_import_images into dir_/out.h5; the message lands in err_.
    int import(const std::string &tree, const char *name = "set") {
        err_[0] = 0;
        return ds_import_images(name, tree.c_str(), path("out.h5").c_str(), err_, sizeof err_);
    }
    char err_[DS_ERR_MAX];
};

// ------------------------------------------------------------------ decoding

TEST_F(Images, PngGrayAndRgbExact) {
    for (int c : {1, 3}) {
        Bytes px = picture(c, 5, 7, 3);
        ASSERT_EQ(imfx_write_png8(path("p.png").c_str(), c, 5, 7, px.data()), 0);
        Decoded d(slurp(path("p.png")));
        ASSERT_EQ(d.rc, 0) << d.err;
        EXPECT_EQ(d.im.c, c);
        EXPECT_EQ(d.im.h, 5);
        EXPECT_EQ(d.im.w, 7);
        EXPECT_EQ(d.pixels(), planar(px, c, 5, 7));
    }
}

TEST_F(Images, PngConversions) {
    std::string p = path("c.png");
    // Palette -> RGB.
    const uint8_t pal[] = {10, 20, 30, 40, 50, 60, 200, 100, 0};
    const uint8_t idx[] = {0, 1, 2, 1, 2, 0};
    ASSERT_EQ(imfx_write_png(p.c_str(), PNG_COLOR_TYPE_PALETTE, 8, 2, 3, idx, pal, 3, nullptr, 0, 0), 0);
    {
        Decoded d(slurp(p));
        ASSERT_EQ(d.rc, 0) << d.err;
        Bytes want;
        for (int k = 0; k < 3; k++)
            for (uint8_t i : idx) want.push_back(pal[3 * i + k]);
        EXPECT_EQ(d.im.c, 3);
        EXPECT_EQ(d.pixels(), want);
    }
    // Palette transparency: all opaque is fine, a transparent entry in use is refused.
    const uint8_t opaque[] = {255, 255, 255}, clear[] = {255, 0, 255};
    ASSERT_EQ(imfx_write_png(p.c_str(), PNG_COLOR_TYPE_PALETTE, 8, 2, 3, idx, pal, 3, opaque, 3, 0), 0);
    EXPECT_EQ(Decoded(slurp(p)).rc, 0);
    ASSERT_EQ(imfx_write_png(p.c_str(), PNG_COLOR_TYPE_PALETTE, 8, 2, 3, idx, pal, 3, clear, 3, 0), 0);
    {
        Decoded d(slurp(p));
        EXPECT_NE(d.rc, 0);
        EXPECT_HAS(d.err, "PNG: has transparent pixels");
        EXPECT_EQ(d.im.pixels, nullptr);
    }
    // 1-bit gray -> 0 / 255.
    const uint8_t bits[] = {0xa5};
    ASSERT_EQ(imfx_write_png(p.c_str(), PNG_COLOR_TYPE_GRAY, 1, 1, 8, bits, nullptr, 0, nullptr, 0, 0), 0);
    EXPECT_EQ(Decoded(slurp(p)).pixels(), (Bytes{255, 0, 255, 0, 0, 255, 0, 255}));
    // 16-bit gray: v * 257 scales back to v exactly.
    Bytes g16, g8 = {0, 1, 128, 254, 255, 77};
    for (uint8_t v : g8) g16.push_back(v), g16.push_back(v);   // big-endian v*257 = (v, v)
    ASSERT_EQ(imfx_write_png(p.c_str(), PNG_COLOR_TYPE_GRAY, 16, 2, 3, g16.data(), nullptr, 0, nullptr, 0, 0), 0);
    EXPECT_EQ(Decoded(slurp(p)).pixels(), g8);
    // RGBA and gray+alpha: opaque drops alpha, translucent is refused.
    Bytes rgba = picture(4, 3, 2, 5), ga = picture(2, 3, 2, 6);
    for (size_t i = 3; i < rgba.size(); i += 4) rgba[i] = 255;
    for (size_t i = 1; i < ga.size(); i += 2) ga[i] = 255;
    ASSERT_EQ(imfx_write_png(p.c_str(), PNG_COLOR_TYPE_RGBA, 8, 3, 2, rgba.data(), nullptr, 0, nullptr, 0, 0), 0);
    {
        Decoded d(slurp(p));
        ASSERT_EQ(d.rc, 0) << d.err;
        EXPECT_EQ(d.im.c, 3);
        Bytes want = planar(rgba, 4, 3, 2);
        want.resize(3 * 3 * 2);
        EXPECT_EQ(d.pixels(), want);
    }
    ASSERT_EQ(imfx_write_png(p.c_str(), PNG_COLOR_TYPE_GRAY_ALPHA, 8, 3, 2, ga.data(), nullptr, 0, nullptr, 0, 0), 0);
    {
        Decoded d(slurp(p));
        ASSERT_EQ(d.rc, 0) << d.err;
        EXPECT_EQ(d.im.c, 1);
        Bytes want = planar(ga, 2, 3, 2);
        want.resize(3 * 2);
        EXPECT_EQ(d.pixels(), want);
    }
    rgba[7] = 128;
    ASSERT_EQ(imfx_write_png(p.c_str(), PNG_COLOR_TYPE_RGBA, 8, 3, 2, rgba.data(), nullptr, 0, nullptr, 0, 0), 0);
    EXPECT_HAS(Decoded(slurp(p)).err, "PNG: has transparent pixels (alpha < 255)");
    // Adam7 interlacing.
    Bytes rgb = picture(3, 9, 11, 7);
    ASSERT_EQ(imfx_write_png(p.c_str(), PNG_COLOR_TYPE_RGB, 8, 9, 11, rgb.data(), nullptr, 0, nullptr, 0, 1), 0);
    EXPECT_EQ(Decoded(slurp(p)).pixels(), planar(rgb, 3, 9, 11));
}

TEST_F(Images, JpegEqualsLibjpegDecode) {
    struct { int c, h, w, quality, tolerance; } cases[] = {{3, 16, 16, 100, 6}, {1, 13, 9, 100, 6}, {3, 8, 24, 50, 255}};
    for (auto &k : cases) {
        std::string p = jpeg("j.jpg", k.c, k.h, k.w, 2, k.quality);
        int c, h, w;
        uint8_t *ref = imfx_read_jpeg(p.c_str(), &c, &h, &w);
        ASSERT_NE(ref, nullptr);
        Bytes want = planar(Bytes(ref, ref + (size_t)c * h * w), c, h, w);
        free(ref);
        Decoded d(slurp(p));
        ASSERT_EQ(d.rc, 0) << d.err;
        EXPECT_EQ(d.im.c, k.c);
        EXPECT_EQ(d.im.h, k.h);
        EXPECT_EQ(d.im.w, k.w);
        EXPECT_EQ(d.pixels(), want) << "quality " << k.quality;
        Bytes src = planar(picture(k.c, k.h, k.w, 2), k.c, k.h, k.w);
        for (size_t i = 0; i < src.size(); i++)
            ASSERT_LE(std::abs(d.pixels()[i] - src[i]), k.tolerance) << "pixel " << i << ", quality " << k.quality;
    }
}

TEST_F(Images, DamagedBytesAreErrorsNeverCrashes) {
    Decoded text(Bytes{'h', 'e', 'l', 'l', 'o'});
    EXPECT_NE(text.rc, 0);
    EXPECT_HAS(text.err, "not a PNG or JPEG image (it starts with bytes 68 65 6c 6c 6f;");
    EXPECT_HAS(Decoded(Bytes{}).err, "empty file");
    Bytes pngb = slurp(png("d/p.png", 3, 6, 5, 1)), jpgb = slurp(jpeg("d/j.jpg", 3, 8, 8, 1));
    // Every truncation is an error with an empty image.
    for (const Bytes *b : {&pngb, &jpgb}) {
        for (size_t n = 0; n < b->size(); n++) {
            Decoded d(Bytes(b->begin(), b->begin() + (long)n));
            ASSERT_NE(d.rc, 0) << "truncated to " << n << " of " << b->size();
            ASSERT_EQ(d.im.pixels, nullptr);
        }
    }
    EXPECT_HAS(Decoded(Bytes(pngb.begin(), pngb.end() - 20)).err, "PNG: ");
    EXPECT_HAS(Decoded(Bytes(jpgb.begin(), jpgb.end() - 20)).err, "JPEG: Premature end of JPEG file");
    // A flipped bit in the image data's checksum; in the compressed data itself.
    Bytes bad = pngb;
    size_t idat = std::string(bad.begin(), bad.end()).find("IDAT");
    ASSERT_NE(idat, std::string::npos);
    size_t idat_len = (size_t)bad[idat - 4] << 24 | (size_t)bad[idat - 3] << 16 | bad[idat - 2] << 8 | bad[idat - 1];
    bad[idat + 4 + idat_len] ^= 1;
    EXPECT_HAS(Decoded(bad).err, "PNG: IDAT: CRC error");
    bad = pngb;
    bad[idat + 6] ^= 1;
    EXPECT_HAS(Decoded(bad).err, "PNG: IDAT: ");
    // Any single damaged byte: decoded or refused, never a crash (run under the sanitizer build too).
    for (const Bytes *b : {&pngb, &jpgb}) {
        for (size_t i = 0; i < b->size(); i++) {
            Bytes x = *b;
            x[i] ^= 0x5a;
            Decoded d(x);
            if (d.rc == 0) ASSERT_TRUE(d.im.c >= 1 && d.im.h >= 1 && d.im.h <= DS_MAX_SIDE && d.im.pixels);
        }
    }
}

// ------------------------------------------------------------------ image folders

TEST_F(Images, ImportLabelsOrderAndProvenance) {
    // Class folders made out of order; labels follow the byte order of their names.
    png("set/train/zebra/x.png", 3, 4, 6, 10);
    jpeg("set/train/mole/a.png", 3, 4, 6, 11);         // a JPEG named .png: told by content
    png("set/train/ant/2.png", 3, 4, 6, 12);
    png("set/train/ant/10.jpg", 3, 4, 6, 13);          // a PNG named .jpg; "10.jpg" sorts before "2.png"
    ASSERT_EQ(dsfx_write_file(path("set/train/ant/.DS_Store").c_str(), "junk", 4), 0);   // skipped
    for (const char *c : {"ant", "mole", "zebra"}) png(std::string("set/test/") + c + "/0.png", 3, 4, 6, 20);
    ASSERT_EQ(import(path("set")), 0) << err_;
    ds_dataset ds;
    ASSERT_EQ(ds_load_h5(path("out.h5").c_str(), &ds, err_, sizeof err_), 0) << err_;
    EXPECT_STREQ(ds.name, "set");
    EXPECT_EQ(ds.c, 3);
    EXPECT_EQ(ds.h, 4);
    EXPECT_EQ(ds.w, 6);
    ASSERT_EQ(ds.n_classes, 3);
    EXPECT_STREQ(ds.class_names[0], "ant");
    EXPECT_STREQ(ds.class_names[1], "mole");
    EXPECT_STREQ(ds.class_names[2], "zebra");
    ASSERT_EQ(ds.train.n, 4u);
    ASSERT_EQ(ds.test.n, 3u);
    EXPECT_EQ(Bytes(ds.train.labels, ds.train.labels + 4), (Bytes{0, 0, 1, 2}));
    EXPECT_EQ(Bytes(ds.test.labels, ds.test.labels + 3), (Bytes{0, 1, 2}));
    // Store order: ant/10.jpg, ant/2.png, mole/a.png, zebra/x.png.
    int c, h, w;
    uint8_t *mole = imfx_read_jpeg(path("set/train/mole/a.png").c_str(), &c, &h, &w);
    ASSERT_NE(mole, nullptr);
    Bytes train = planar(picture(3, 4, 6, 13), 3, 4, 6), more = planar(picture(3, 4, 6, 12), 3, 4, 6);
    train.insert(train.end(), more.begin(), more.end());
    more = planar(Bytes(mole, mole + 72), 3, 4, 6);
    free(mole);
    train.insert(train.end(), more.begin(), more.end());
    more = planar(picture(3, 4, 6, 10), 3, 4, 6);
    train.insert(train.end(), more.begin(), more.end());
    EXPECT_EQ(Bytes(ds.train.images, ds.train.images + train.size()), train);
    // Mean/std of the training pixels per channel.
    for (int k = 0; k < 3; k++) {
        double s1 = 0, s2 = 0;
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 24; j++) {
                double v = train[(size_t)(i * 3 + k) * 24 + j] / 255.0;
                s1 += v, s2 += v * v;
            }
        double mean = s1 / 96, sd = std::sqrt(s2 / 96 - mean * mean);
        EXPECT_NEAR(ds.mean[k], mean, 1e-6);
        EXPECT_NEAR(ds.std[k], sd, 1e-6);
    }
    // Provenance: per split, the files' total size and a CRC-32 over (path, 0, bytes) in store order.
    ASSERT_EQ(ds.n_sources, 2);
    EXPECT_STREQ(ds.sources[0].file, "train/");
    EXPECT_STREQ(ds.sources[1].file, "test/");
    uLong crc = crc32(0L, Z_NULL, 0);
    uint64_t total = 0;
    for (const char *rel : {"ant/10.jpg", "ant/2.png", "mole/a.png", "zebra/x.png"}) {
        Bytes b = slurp(path("set/train/") + rel);
        crc = crc32(crc, (const Bytef *)rel, (uInt)strlen(rel) + 1);
        crc = crc32(crc, b.data(), (uInt)b.size());
        total += b.size();
    }
    EXPECT_EQ(ds.sources[0].bytes, total);
    EXPECT_EQ(ds.sources[0].crc32, (uint32_t)crc);
    ds_free(&ds);
}

TEST_F(Images, ReimportIsByteIdentical) {
    std::string tree = small_tree("t");
    jpeg("t/train/a/1.jpg", 3, 6, 5, 4);
    ASSERT_EQ(import(tree), 0) << err_;
    Bytes first = slurp(path("out.h5"));
    sleep(1);   // a stored timestamp would show
    ASSERT_EQ(import(tree), 0) << err_;
    EXPECT_EQ(slurp(path("out.h5")), first);
    // One changed pixel changes the file (pixels and provenance).
    png("t/test/b/0.png", 3, 6, 5, 2);
    ASSERT_EQ(import(tree), 0) << err_;
    EXPECT_NE(slurp(path("out.h5")), first);
}

TEST_F(Images, DifferentShapesNameBothFiles) {
    std::string tree = small_tree("s");
    png("s/test/b/1.png", 3, 6, 4, 1);
    EXPECT_NE(import(tree), 0);
    EXPECT_HAS(err_, path("s/test/b/1.png") + ": 3x6x4 (channels x height x width), but " + path("s/train/a/0.png") +
                         " is 3x6x5; every image must have the same size and channel count");
    EXPECT_NE(access(path("out.h5").c_str(), F_OK), 0);
    tree = small_tree("g");
    png("g/train/b/1.png", 1, 6, 5, 1);
    EXPECT_NE(import(tree), 0);
    EXPECT_HAS(err_, path("g/train/b/1.png") + ": 1x6x5 (channels x height x width), but");
}

TEST_F(Images, BadFilesNameTheFile) {
    std::string tree = small_tree("c");
    Bytes b = slurp(path("c/train/b/0.png"));
    ASSERT_EQ(dsfx_write_file(path("c/train/b/0.png").c_str(), b.data(), b.size() / 2), 0);
    EXPECT_NE(import(tree), 0);
    EXPECT_HAS(err_, path("c/train/b/0.png") + ": PNG: ");
    b = slurp(jpeg("j/x.jpg", 3, 6, 5, 1));
    ASSERT_EQ(dsfx_write_file(path("c/train/b/0.png").c_str(), b.data(), b.size() - 30), 0);
    EXPECT_NE(import(tree), 0);
    EXPECT_HAS(err_, path("c/train/b/0.png") + ": JPEG: Premature end of JPEG file");
    ASSERT_EQ(dsfx_write_file(path("c/train/b/0.png").c_str(), "GIF89a", 6), 0);
    EXPECT_NE(import(tree), 0);
    EXPECT_HAS(err_, path("c/train/b/0.png") + ": not a PNG or JPEG image (it starts with bytes 47 49 46 38 39 61;");
    EXPECT_NE(access(path("out.h5").c_str(), F_OK), 0);
}

TEST_F(Images, BadTreesAreRefused) {
    // No test folder.
    png("n/train/a/0.png", 3, 2, 2, 1);
    png("n/train/b/0.png", 3, 2, 2, 1);
    EXPECT_NE(import(path("n")), 0);
    EXPECT_HAS(err_, path("n") + ": no test/ folder; an image folder holds train/<class>/<image> and test/<class>/<image>");
    // Different class sets: both sides named.
    std::string tree = small_tree("d");
    png("d/train/c/0.png", 3, 6, 5, 1);
    png("d/test/e/0.png", 3, 6, 5, 1);
    png("d/test/f/0.png", 3, 6, 5, 1);
    EXPECT_NE(import(tree), 0);
    EXPECT_HAS(err_, path("d") + "/train and " + path("d") + "/test must hold the same class folders: only in train: c; "
                     "only in test: e, f");
    // An empty class folder.
    tree = small_tree("e");
    dirs("e/train/c");
    dirs("e/test/c");
    png("e/train/c/0.png", 3, 6, 5, 1);
    EXPECT_NE(import(tree), 0);
    EXPECT_HAS(err_, path("e/test/c") + ": no images; every class needs at least one in train and one in test");
    // A stray file beside the class folders, a folder inside a class folder.
    tree = small_tree("f");
    ASSERT_EQ(dsfx_write_file(path("f/test/README").c_str(), "x", 1), 0);
    EXPECT_NE(import(tree), 0);
    EXPECT_HAS(err_, path("f/test/README") + ": not a folder; " + path("f/test") + " may hold only class folders");
    tree = small_tree("h");
    dirs("h/train/a/more");
    EXPECT_NE(import(tree), 0);
    EXPECT_HAS(err_, path("h/train/a/more") + ": not a regular file; class folders hold only image files");
    // One class only.
    png("o/train/a/0.png", 3, 2, 2, 1);
    png("o/test/a/0.png", 3, 2, 2, 1);
    EXPECT_NE(import(path("o")), 0);
    EXPECT_HAS(err_, path("o") + "/train: 1 class folder; a classification set needs 2..256");
    // A name that is not a file name; a folder that does not exist.
    EXPECT_NE(import(small_tree("k"), "a/b"), 0);
    EXPECT_HAS(err_, "dataset name \"a/b\"");
    EXPECT_NE(import(path("none")), 0);
    EXPECT_HAS(err_, path("none") + ": no train/ folder");
    EXPECT_NE(access(path("out.h5").c_str(), F_OK), 0);
}

// ------------------------------------------------------------------ cifar10 from an image folder

const char *const kCifar[] = {"airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"};

TEST_F(Images, Cifar10FromImageFolder) {
    for (int k = 0; k < 10; k++) {
        png(std::string("cf/train/") + kCifar[k] + "/0.png", 3, 32, 32, (uint32_t)k);
        jpeg(std::string("cf/test/") + kCifar[k] + "/0.jpg", 3, 32, 32, (uint32_t)k);
    }
    std::string out = path("cifar10.h5");
    ASSERT_EQ(ds_prepare("cifar10", path("cf").c_str(), out.c_str(), err_, sizeof err_), 0) << err_;
    ds_dataset ds;
    ASSERT_EQ(ds_load_h5(out.c_str(), &ds, err_, sizeof err_), 0) << err_;
    EXPECT_STREQ(ds.name, "cifar10");
    EXPECT_EQ(ds.train.n, 10u);
    EXPECT_EQ(ds.test.n, 10u);
    EXPECT_STREQ(ds.class_names[9], "truck");
    EXPECT_EQ(ds.train.labels[9], 9);
    EXPECT_STREQ(ds.sources[0].file, "train/");
    ds_free(&ds);
    // The binary files win when both are there.
    Bytes lb(10);
    for (int i = 0; i < 10; i++) lb[i] = (uint8_t)i;
    for (const char *f : {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin",
                          "data_batch_5.bin", "test_batch.bin"})
        ASSERT_EQ(dsfx_write_cifar(path(std::string("cf/") + f).c_str(), 3, lb.data(), 1, 0), 0);
    ASSERT_EQ(ds_prepare("cifar10", path("cf").c_str(), out.c_str(), err_, sizeof err_), 0) << err_;
    ASSERT_EQ(ds_load_h5(out.c_str(), &ds, err_, sizeof err_), 0) << err_;
    EXPECT_EQ(ds.train.n, 15u);
    EXPECT_STREQ(ds.sources[0].file, "data_batch_1.bin");
    ds_free(&ds);
}

TEST_F(Images, Cifar10FolderMustBeCifar10) {
    for (int k = 0; k < 10; k++)
        for (const char *s : {"train", "test"})
            png(std::string("cw/") + s + "/" + (k == 0 ? "plane" : kCifar[k]) + "/0.png", 3, 32, 32, 1);
    EXPECT_NE(ds_prepare("cifar10", path("cw").c_str(), path("c.h5").c_str(), err_, sizeof err_), 0);
    EXPECT_HAS(err_, "cifar10: the class folders in " + path("cw") + "/train are automobile, bird, cat, deer, dog, frog, "
                     "horse, plane, ship, truck; cifar10 needs exactly airplane, automobile, bird, cat, deer, dog, "
                     "frog, horse, ship, truck");
    for (int k = 0; k < 10; k++)
        for (const char *s : {"train", "test"}) png(std::string("cs/") + s + "/" + kCifar[k] + "/0.png", 3, 28, 28, 1);
    EXPECT_NE(ds_prepare("cifar10", path("cs").c_str(), path("c.h5").c_str(), err_, sizeof err_), 0);
    EXPECT_HAS(err_, "cifar10: the images in " + path("cs") + " are 3x28x28 (channels x height x width); CIFAR-10 "
                     "images are 3x32x32");
    dirs("empty");
    EXPECT_NE(ds_prepare("cifar10", path("empty").c_str(), path("c.h5").c_str(), err_, sizeof err_), 0);
    EXPECT_HAS(err_, "and for train/ and test/ image folders");
    EXPECT_NE(access(path("c.h5").c_str(), F_OK), 0);
}

}  // namespace
