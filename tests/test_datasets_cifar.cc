// CIFAR-10 binary reader and ds_prepare("cifar10"): whole records, label range, both folder
// layouts, class names from batches.meta.txt, and the message when files are missing.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>
#include <algorithm>
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
constexpr int kImage = 3 * 32 * 32;

class Cifar : public DsTempDirTest {
  protected:
    void TearDown() override {
        unsetenv("HARNESS_CIFAR10_DIR");
        DsTempDirTest::TearDown();
    }
    // Six batch files in folder: train batches of n_train records, test of n_test.
    void write_batches(const std::string &folder, uint32_t n_train, uint32_t n_test) {
        mkdir(folder.c_str(), 0777);
        std::vector<uint8_t> lb(std::max(n_train, n_test));
        for (size_t i = 0; i < lb.size(); i++) lb[i] = (uint8_t)(i % 10);
        for (int b = 1; b <= 5; b++)
            ASSERT_EQ(dsfx_write_cifar((folder + "/data_batch_" + std::to_string(b) + ".bin").c_str(), n_train,
                                       lb.data(), 100 + b, 0), 0);
        ASSERT_EQ(dsfx_write_cifar((folder + "/test_batch.bin").c_str(), n_test, lb.data(), 200, 0), 0);
    }
};

TEST_F(Cifar, ValidFilesAppend) {
    uint8_t la[3] = {9, 0, 4}, lb[2] = {1, 2};
    ASSERT_EQ(dsfx_write_cifar(path("a.bin").c_str(), 3, la, 1, 0), 0);
    ASSERT_EQ(dsfx_write_cifar(path("b.bin").c_str(), 2, lb, 2, 0), 0);
    ds_split s = {};
    char err[DS_ERR_MAX] = "";
    ASSERT_EQ(ds_read_cifar_bin(path("a.bin").c_str(), &s, err, sizeof err), 0) << err;
    ASSERT_EQ(ds_read_cifar_bin(path("b.bin").c_str(), &s, err, sizeof err), 0) << err;
    ASSERT_EQ(s.n, 5u);
    std::vector<uint8_t> want(5 * kImage);
    dsfx_cifar_images(want.data(), 3, 1);
    dsfx_cifar_images(want.data() + 3 * kImage, 2, 2);
    EXPECT_EQ(std::vector<uint8_t>(s.images, s.images + want.size()), want);
    EXPECT_EQ(std::vector<uint8_t>(s.labels, s.labels + 5), (std::vector<uint8_t>{9, 0, 4, 1, 2}));
    ds_split_free(&s);
}

TEST_F(Cifar, PartialRecordRejectedAndSplitUnchanged) {
    uint8_t lb[2] = {1, 2};
    ASSERT_EQ(dsfx_write_cifar(path("data_batch_3.bin").c_str(), 2, lb, 1, 100), 0);
    ds_split s = {};
    char err[DS_ERR_MAX] = "";
    EXPECT_NE(ds_read_cifar_bin(path("data_batch_3.bin").c_str(), &s, err, sizeof err), 0);
    EXPECT_HAS(err, "data_batch_3.bin: truncated or padded");
    EXPECT_HAS(err, "2 whole records and 100 bytes left over");
    EXPECT_EQ(s.n, 0u);
    ASSERT_EQ(dsfx_write_file(path("empty.bin").c_str(), "", 0), 0);
    EXPECT_NE(ds_read_cifar_bin(path("empty.bin").c_str(), &s, err, sizeof err), 0);
    EXPECT_HAS(err, "empty.bin: empty");
    ds_split_free(&s);
}

TEST_F(Cifar, BadLabel) {
    uint8_t lb[3] = {1, 10, 2};
    ASSERT_EQ(dsfx_write_cifar(path("test_batch.bin").c_str(), 3, lb, 1, 0), 0);
    ds_split s = {};
    char err[DS_ERR_MAX] = "";
    EXPECT_NE(ds_read_cifar_bin(path("test_batch.bin").c_str(), &s, err, sizeof err), 0);
    EXPECT_HAS(err, "test_batch.bin: record 1 (byte offset 3073) has label 10");
    EXPECT_EQ(s.n, 0u);
    ds_split_free(&s);
}

TEST_F(Cifar, PrepareBothLayoutsAndMetaNames) {
    // Layout 1: batches directly in the source folder, no meta file -> standard names.
    write_batches(path("flat"), 3, 2);
    char err[DS_ERR_MAX] = "";
    ASSERT_EQ(ds_prepare("cifar10", path("flat").c_str(), path("c.h5").c_str(), err, sizeof err), 0) << err;
    ds_dataset ds;
    ASSERT_EQ(ds_load_h5(path("c.h5").c_str(), &ds, err, sizeof err), 0) << err;
    EXPECT_EQ(ds.c, 3);
    EXPECT_EQ(ds.h, 32);
    EXPECT_EQ(ds.train.n, 15u);
    EXPECT_EQ(ds.test.n, 2u);
    EXPECT_STREQ(ds.class_names[0], "airplane");
    EXPECT_STREQ(ds.class_names[9], "truck");
    EXPECT_EQ(ds.n_sources, 6);
    std::vector<uint8_t> want(3 * kImage);
    dsfx_cifar_images(want.data(), 3, 104);  // data_batch_4 is train records 9..11
    EXPECT_EQ(std::vector<uint8_t>(ds.train.images + 9 * kImage, ds.train.images + 12 * kImage), want);
    ds_free(&ds);

    // Layout 2: the extracted cifar-10-batches-bin folder inside the source, named by the env var,
    // with a meta file whose names are used.
    write_batches(path("cifar-10-batches-bin"), 2, 2);
    std::string meta = "a0\na1\na2\na3\na4\na5\na6\na7\na8\r\nlast one\n\n";
    ASSERT_EQ(dsfx_write_file(path("cifar-10-batches-bin/batches.meta.txt").c_str(), meta.data(), meta.size()), 0);
    setenv("HARNESS_CIFAR10_DIR", dir_, 1);
    ASSERT_EQ(ds_prepare("cifar10", nullptr, path("c2.h5").c_str(), err, sizeof err), 0) << err;
    ASSERT_EQ(ds_load_h5(path("c2.h5").c_str(), &ds, err, sizeof err), 0) << err;
    EXPECT_EQ(ds.train.n, 10u);
    EXPECT_STREQ(ds.class_names[0], "a0");
    EXPECT_STREQ(ds.class_names[8], "a8");
    EXPECT_STREQ(ds.class_names[9], "last one");
    EXPECT_EQ(ds.n_sources, 7);
    ds_free(&ds);
}

TEST_F(Cifar, BadMetaFile) {
    write_batches(path("cifar-10-batches-bin"), 1, 1);
    ASSERT_EQ(dsfx_write_file(path("cifar-10-batches-bin/batches.meta.txt").c_str(), "x\ny\n", 4), 0);
    char err[DS_ERR_MAX] = "";
    EXPECT_NE(ds_prepare("cifar10", dir_, path("c.h5").c_str(), err, sizeof err), 0);
    EXPECT_HAS(err, "batches.meta.txt: 2 class names, CIFAR-10 has 10");
}

TEST_F(Cifar, MissingFilesSayWhatAndWhere) {
    write_batches(path("cifar-10-batches-bin"), 1, 1);
    remove(path("cifar-10-batches-bin/data_batch_2.bin").c_str());
    remove(path("cifar-10-batches-bin/test_batch.bin").c_str());
    char err[DS_ERR_MAX] = "";
    EXPECT_NE(ds_prepare("cifar10", dir_, path("c.h5").c_str(), err, sizeof err), 0);
    EXPECT_HAS(err, "data_batch_2.bin, test_batch.bin");
    EXPECT_HAS(err, "cifar-10-binary.tar.gz");
    EXPECT_HAS(err, "HARNESS_CIFAR10_DIR");
    EXPECT_HAS(err, "must be provided");
    unsetenv("HARNESS_CIFAR10_DIR");
    EXPECT_NE(ds_prepare("cifar10", nullptr, path("c.h5").c_str(), err, sizeof err), 0);
    EXPECT_HAS(err, "HARNESS_CIFAR10_DIR is not set");
    EXPECT_NE(access(path("c.h5").c_str(), F_OK), 0);  // nothing written on failure
}

TEST_F(Cifar, DirectoryIsNamed) {
    std::string d = path("data_batch_1.bin");
    ASSERT_EQ(mkdir(d.c_str(), 0777), 0);
    ds_split s{};
    char err[DS_ERR_MAX] = "";
    EXPECT_NE(ds_read_cifar_bin(d.c_str(), &s, err, sizeof err), 0);
    EXPECT_EQ(std::string(err), d + ": a directory, not a CIFAR-10 .bin file");
    ds_split_free(&s);
}

}  // namespace
