// ds_prepare for the IDX datasets (MNIST, Fashion-MNIST) and ds_import_idx on small fake folders:
// the .h5 loads back with the same pixels, the right class names, exact mean/std and the raw
// files' checksums; bad sets are refused with a message naming the file and the problem.
#include <gtest/gtest.h>
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
}

namespace {

#define EXPECT_HAS(msg, part) EXPECT_NE(std::string(msg).find(part), std::string::npos) << "message: " << (msg)

std::vector<uint8_t> cycle(uint32_t n, int k) {
    std::vector<uint8_t> v(n);
    for (uint32_t i = 0; i < n; i++) v[i] = (uint8_t)((i * 7 + 3) % k);
    return v;
}

std::vector<uint8_t> slurp(const std::string &p) {
    std::vector<uint8_t> v;
    FILE *f = fopen(p.c_str(), "rb");
    if (!f) return v;
    int c;
    while ((c = fgetc(f)) != EOF) v.push_back((uint8_t)c);
    fclose(f);
    return v;
}

class Prepare : public DsTempDirTest {
  protected:
    void TearDown() override {
        unsetenv("HARNESS_DATA_DIR");
        DsTempDirTest::TearDown();
    }
    // A fake MNIST-like folder: train 40 and test 12 images of 7 x 9.
    std::string fake(const std::string &name, int gzip, int k = 10, const char *test_prefix = "t10k") {
        std::string d = path(name);
        mkdir(d.c_str(), 0777);
        EXPECT_EQ(dsfx_write_idx_pair(d.c_str(), "train", 40, 7, 9, cycle(40, k).data(), 1, gzip), 0);
        EXPECT_EQ(dsfx_write_idx_pair(d.c_str(), test_prefix, 12, 7, 9, cycle(12, k).data(), 2, gzip), 0);
        return d;
    }
};

TEST_F(Prepare, FakeMnistRoundTrip) {
    std::string src = fake("mnist", 0), out = path("out/mnist.h5");  // out/ does not exist yet
    char err[DS_ERR_MAX] = "";
    ASSERT_EQ(ds_prepare("mnist", src.c_str(), out.c_str(), err, sizeof err), 0) << err;
    EXPECT_NE(access((out + ".tmp").c_str(), F_OK), 0);
    ds_dataset ds;
    ASSERT_EQ(ds_load_h5(out.c_str(), &ds, err, sizeof err), 0) << err;
    EXPECT_STREQ(ds.name, "mnist");
    EXPECT_EQ(ds.c, 1);
    EXPECT_EQ(ds.h, 7);
    EXPECT_EQ(ds.w, 9);
    EXPECT_EQ(ds.n_classes, 10);
    EXPECT_STREQ(ds.class_names[3], "3");
    ASSERT_EQ(ds.train.n, 40u);
    ASSERT_EQ(ds.test.n, 12u);
    std::vector<uint8_t> train(40 * 63), test(12 * 63);
    dsfx_idx_images(train.data(), 40, 7, 9, 1);
    dsfx_idx_images(test.data(), 12, 7, 9, 2);
    EXPECT_EQ(std::vector<uint8_t>(ds.train.images, ds.train.images + train.size()), train);
    EXPECT_EQ(std::vector<uint8_t>(ds.test.images, ds.test.images + test.size()), test);
    EXPECT_EQ(std::vector<uint8_t>(ds.train.labels, ds.train.labels + 40), cycle(40, 10));
    // Mean/std over the training pixels in [0,1] units, recomputed here in double.
    double s1 = 0, s2 = 0;
    for (uint8_t p : train) s1 += p / 255.0, s2 += (p / 255.0) * (p / 255.0);
    double mean = s1 / train.size(), sd = std::sqrt(s2 / train.size() - mean * mean);
    EXPECT_NEAR(ds.mean[0], mean, 1e-6);
    EXPECT_NEAR(ds.std[0], sd, 1e-6);
    // Provenance: name, size and crc32 of each raw file.
    ASSERT_EQ(ds.n_sources, 4);
    const char *names[4] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                            "t10k-labels-idx1-ubyte"};
    for (int i = 0; i < 4; i++) {
        EXPECT_STREQ(ds.sources[i].file, names[i]);
        std::vector<uint8_t> raw = slurp(src + "/" + names[i]);
        EXPECT_EQ(ds.sources[i].bytes, raw.size());
        EXPECT_EQ(ds.sources[i].crc32, (uint32_t)crc32(0, raw.data(), (uInt)raw.size()));
    }
    ds_free(&ds);
}

TEST_F(Prepare, FashionGzipAndDefaultMnistFolder) {
    std::string src = fake("fashion", 1);
    char err[DS_ERR_MAX] = "";
    ASSERT_EQ(ds_prepare("fashion-mnist", src.c_str(), path("f.h5").c_str(), err, sizeof err), 0) << err;
    ds_dataset ds;
    ASSERT_EQ(ds_load_h5(path("f.h5").c_str(), &ds, err, sizeof err), 0) << err;
    EXPECT_STREQ(ds.class_names[0], "T-shirt/top");
    EXPECT_STREQ(ds.class_names[9], "Ankle boot");
    EXPECT_STREQ(ds.sources[0].file, "train-images-idx3-ubyte.gz");
    std::vector<uint8_t> train(40 * 63);
    dsfx_idx_images(train.data(), 40, 7, 9, 1);
    EXPECT_EQ(std::vector<uint8_t>(ds.train.images, ds.train.images + train.size()), train);
    ds_free(&ds);
    // With no source, mnist looks in $HARNESS_DATA_DIR/raw/mnist.
    mkdir(path("raw").c_str(), 0777);
    fake("raw/mnist", 0);
    setenv("HARNESS_DATA_DIR", dir_, 1);
    ASSERT_EQ(ds_prepare("mnist", nullptr, path("m.h5").c_str(), err, sizeof err), 0) << err;
}

TEST_F(Prepare, MissingFilesSayWhatToDo) {
    std::string src = fake("partial", 0);
    remove((src + "/t10k-labels-idx1-ubyte").c_str());
    char err[DS_ERR_MAX] = "";
    EXPECT_NE(ds_prepare("mnist", src.c_str(), path("m.h5").c_str(), err, sizeof err), 0);
    EXPECT_HAS(err, "raw files missing in " + src + ": t10k-labels-idx1-ubyte[.gz].");
    EXPECT_HAS(err, "scripts/fetch_mnist.sh");
    EXPECT_HAS(err, "must be provided");
    EXPECT_NE(ds_prepare("fashion-mnist", path("none").c_str(), path("m.h5").c_str(), err, sizeof err), 0);
    EXPECT_HAS(err, "train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz]");
    EXPECT_HAS(err, "apt-get install dataset-fashion-mnist");
    EXPECT_NE(access(path("m.h5").c_str(), F_OK), 0);
    EXPECT_NE(ds_prepare("svhn", src.c_str(), path("m.h5").c_str(), err, sizeof err), 0);
    EXPECT_HAS(err, "unknown dataset \"svhn\"");
}

TEST_F(Prepare, BadSetsNameTheFile) {
    char err[DS_ERR_MAX] = "";
    // A label of 10 in a 10-class set.
    std::string d = fake("badlabel", 0, 11);
    EXPECT_NE(ds_prepare("mnist", d.c_str(), path("x.h5").c_str(), err, sizeof err), 0);
    EXPECT_HAS(err, "train-labels-idx1-ubyte: label 10 at index");
    EXPECT_HAS(err, "out of range");
    // Fewer labels than images.
    d = fake("count", 0);
    EXPECT_EQ(dsfx_write_idx_pair(d.c_str(), "train", 40, 7, 9, cycle(40, 10).data(), 1, 0), 0);
    uint32_t n = 39;
    EXPECT_EQ(dsfx_write_idx((d + "/train-labels-idx1-ubyte").c_str(), 0x801, 1, &n, cycle(39, 10).data(), 39, 0), 0);
    EXPECT_NE(ds_prepare("mnist", d.c_str(), path("x.h5").c_str(), err, sizeof err), 0);
    EXPECT_HAS(err, "train-labels-idx1-ubyte: count mismatch: 39 labels");
    EXPECT_HAS(err, "train-images-idx3-ubyte has 40 images");
    // Test images of another size.
    d = fake("size", 0);
    EXPECT_EQ(dsfx_write_idx_pair(d.c_str(), "t10k", 12, 8, 9, cycle(12, 10).data(), 2, 0), 0);
    EXPECT_NE(ds_prepare("mnist", d.c_str(), path("x.h5").c_str(), err, sizeof err), 0);
    EXPECT_HAS(err, "t10k-images-idx3-ubyte: images are 8x9, the training images are 7x9");
    // A truncated raw file stops preparation with the reader's message.
    d = fake("trunc", 0);
    std::vector<uint8_t> raw = slurp(d + "/train-images-idx3-ubyte");
    EXPECT_EQ(dsfx_write_file((d + "/train-images-idx3-ubyte").c_str(), raw.data(), raw.size() - 5), 0);
    EXPECT_NE(ds_prepare("mnist", d.c_str(), path("x.h5").c_str(), err, sizeof err), 0);
    EXPECT_HAS(err, "train-images-idx3-ubyte: truncated: header says 40x7x9 = 2520 bytes, file has 2515");
    EXPECT_NE(access(path("x.h5").c_str(), F_OK), 0);
}

TEST_F(Prepare, ImportOwnIdxSet) {
    std::string d = fake("own", 1, 3, "test");  // gzip, labels 0..2, test-* names
    char err[DS_ERR_MAX] = "";
    ASSERT_EQ(ds_import_idx("tiny-set", d.c_str(), path("own.h5").c_str(), err, sizeof err), 0) << err;
    ds_dataset ds;
    ASSERT_EQ(ds_load_h5(path("own.h5").c_str(), &ds, err, sizeof err), 0) << err;
    EXPECT_STREQ(ds.name, "tiny-set");
    EXPECT_EQ(ds.n_classes, 3);
    EXPECT_STREQ(ds.class_names[2], "2");
    EXPECT_STREQ(ds.sources[2].file, "test-images-idx3-ubyte.gz");
    ds_free(&ds);

    // One class only.
    d = fake("oneclass", 0, 1);
    EXPECT_NE(ds_import_idx("one", d.c_str(), path("o.h5").c_str(), err, sizeof err), 0);
    EXPECT_HAS(err, "train-labels-idx1-ubyte: all training labels are 0; a classification set needs at least 2");
    // A test label the training labels do not cover.
    d = fake("testlabel", 0, 3);
    std::vector<uint8_t> lb = cycle(12, 3);
    lb[5] = 7;
    EXPECT_EQ(dsfx_write_idx_pair(d.c_str(), "t10k", 12, 7, 9, lb.data(), 2, 0), 0);
    EXPECT_NE(ds_import_idx("t", d.c_str(), path("o.h5").c_str(), err, sizeof err), 0);
    EXPECT_HAS(err, "t10k-labels-idx1-ubyte: label 7 at index 5 is out of range: 3 classes allow 0..2");
    // Names must be usable as file names; missing files are listed.
    EXPECT_NE(ds_import_idx("a/b", d.c_str(), path("o.h5").c_str(), err, sizeof err), 0);
    EXPECT_HAS(err, "dataset name \"a/b\"");
    EXPECT_NE(ds_import_idx("x", dir_, path("o.h5").c_str(), err, sizeof err), 0);
    EXPECT_HAS(err, "IDX files missing in");
}

TEST(PrepareNames, KnownDatasets) {
    ASSERT_EQ(ds_known_count(), 3);
    EXPECT_STREQ(ds_known_name(0), "mnist");
    EXPECT_STREQ(ds_known_name(1), "fashion-mnist");
    EXPECT_STREQ(ds_known_name(2), "cifar10");
}

}  // namespace
