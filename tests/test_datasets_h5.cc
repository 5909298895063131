// HDF5 store: byte-for-byte round trip, atomic replacement, and rejection (with a message naming
// the file and field) of truncated, corrupted and inconsistent files.
#include <gtest/gtest.h>
#include <hdf5.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>
extern "C" {
#include "datasets/dataset.h"
#include "support/ds_fixtures.h"
#include "support/ds_tempdir_test.h"
#include "support/h5_fixture.h"
}

namespace {

#define EXPECT_HAS(msg, part) EXPECT_NE(std::string(msg).find(part), std::string::npos) << "message: " << (msg)

// A small 3-channel dataset filled from fixed patterns.
void make(ds_dataset *ds, uint32_t n_train, uint32_t n_test) {
    memset(ds, 0, sizeof *ds);
    snprintf(ds->name, sizeof ds->name, "toy");
    ds->c = 3, ds->h = 5, ds->w = 4, ds->n_classes = 7;
    for (int k = 0; k < 7; k++) snprintf(ds->class_names[k], sizeof ds->class_names[k], "class %c", 'A' + k);
    size_t img = 3 * 5 * 4;
    ds->train = {(uint8_t *)malloc(n_train * img), (uint8_t *)malloc(n_train), n_train};
    ds->test = {(uint8_t *)malloc(n_test * img), (uint8_t *)malloc(n_test), n_test};
    dsfx_pattern(ds->train.images, n_train * img, 1, 0);
    dsfx_pattern(ds->test.images, n_test * img, 2, 0);
    for (uint32_t i = 0; i < n_train; i++) ds->train.labels[i] = (uint8_t)(i % 7);
    for (uint32_t i = 0; i < n_test; i++) ds->test.labels[i] = (uint8_t)((i * 3) % 7);
    ds_compute_stats(ds);
    ds->n_sources = 2;
    ds->sources[0] = {"train.bin", 12345678901ull, 0xdeadbeefu};
    ds->sources[1] = {"test.bin", 42, 7};
}

void expect_same(const ds_dataset &a, const ds_dataset &b) {
    EXPECT_STREQ(a.name, b.name);
    EXPECT_EQ(a.c, b.c);
    EXPECT_EQ(a.h, b.h);
    EXPECT_EQ(a.w, b.w);
    ASSERT_EQ(a.n_classes, b.n_classes);
    for (int k = 0; k < a.n_classes; k++) EXPECT_STREQ(a.class_names[k], b.class_names[k]);
    EXPECT_EQ(memcmp(a.mean, b.mean, sizeof(float) * a.c), 0);
    EXPECT_EQ(memcmp(a.std, b.std, sizeof(float) * a.c), 0);
    size_t img = (size_t)a.c * a.h * a.w;
    for (const auto &[x, y] : {std::pair{&a.train, &b.train}, std::pair{&a.test, &b.test}}) {
        ASSERT_EQ(x->n, y->n);
        EXPECT_EQ(memcmp(x->images, y->images, x->n * img), 0);
        EXPECT_EQ(memcmp(x->labels, y->labels, x->n), 0);
    }
    ASSERT_EQ(a.n_sources, b.n_sources);
    for (int i = 0; i < a.n_sources; i++) {
        EXPECT_STREQ(a.sources[i].file, b.sources[i].file);
        EXPECT_EQ(a.sources[i].bytes, b.sources[i].bytes);
        EXPECT_EQ(a.sources[i].crc32, b.sources[i].crc32);
    }
}

class Store : public DsTempDirTest {
  protected:
    void SetUp() override {
        DsTempDirTest::SetUp();
        make(&ds_, 300, 50);
        file_ = path("toy.h5");
        char err[DS_ERR_MAX] = "";
        ASSERT_EQ(ds_save_h5(&ds_, file_.c_str(), err, sizeof err), 0) << err;
    }
    void TearDown() override {
        ds_free(&ds_);
        DsTempDirTest::TearDown();
    }
    std::string load_error() {
        ds_dataset back;
        char err[DS_ERR_MAX] = "";
        EXPECT_NE(ds_load_h5(file_.c_str(), &back, err, sizeof err), 0);
        EXPECT_EQ(back.train.images, nullptr);  // nothing left allocated on failure
        EXPECT_HAS(err, file_);
        return err;
    }
    // Runs f on the file opened read-write with HDF5's own error printing off.
    template <class F> void edit(F f) {
        H5E_auto2_t old;
        void *data;
        H5Eget_auto2(H5E_DEFAULT, &old, &data);
        H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
        hid_t file = H5Fopen(file_.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
        ASSERT_GE(file, 0);
        f(file);
        H5Fclose(file);
        H5Eset_auto2(H5E_DEFAULT, old, data);
        ASSERT_EQ(h5fx_reseal(file_.c_str(), "harness-dataset"), 0);
    }
    ds_dataset ds_;
    std::string file_;
};

TEST_F(Store, RoundTripByteForByte) {
    ds_dataset back;
    char err[DS_ERR_MAX] = "";
    ASSERT_EQ(ds_load_h5(file_.c_str(), &back, err, sizeof err), 0) << err;
    expect_same(ds_, back);
    ds_free(&back);
}

TEST_F(Store, ChunkedLargeAndSingleChannel) {
    // 1 x 40 x 30 images: 1000 of them span two 1 MB chunks.
    ds_dataset big;
    memset(&big, 0, sizeof big);
    snprintf(big.name, sizeof big.name, "gray");
    big.c = 1, big.h = 40, big.w = 30, big.n_classes = 2;
    strcpy(big.class_names[0], "no");
    strcpy(big.class_names[1], "yes");
    std::vector<uint8_t> im(1000 * 1200), lb(1000);
    dsfx_pattern(im.data(), im.size(), 9, 0);
    for (size_t i = 0; i < lb.size(); i++) lb[i] = i & 1;
    big.train = {im.data(), lb.data(), 1000};
    big.test = {im.data(), lb.data(), 3};
    ds_compute_stats(&big);
    char err[DS_ERR_MAX] = "";
    std::string p = path("sub/dir/gray.h5");  // parent folders are created
    ASSERT_EQ(ds_save_h5(&big, p.c_str(), err, sizeof err), 0) << err;
    ds_dataset back;
    ASSERT_EQ(ds_load_h5(p.c_str(), &back, err, sizeof err), 0) << err;
    expect_same(big, back);
    EXPECT_EQ(back.n_sources, 0);
    ds_free(&back);
}

TEST_F(Store, SaveReplacesAtomically) {
    ds_.train.labels[0] = 6;
    char err[DS_ERR_MAX] = "";
    ASSERT_EQ(ds_save_h5(&ds_, file_.c_str(), err, sizeof err), 0) << err;
    std::string tmp = file_ + ".tmp." + std::to_string(getpid());
    EXPECT_NE(access(tmp.c_str(), F_OK), 0);
    ds_dataset back;
    ASSERT_EQ(ds_load_h5(file_.c_str(), &back, err, sizeof err), 0) << err;
    EXPECT_EQ(back.train.labels[0], 6);
    ds_free(&back);
    // A failed save (folder in the way of the temp file) leaves the old file intact.
    ASSERT_EQ(mkdir(tmp.c_str(), 0777), 0);
    EXPECT_NE(ds_save_h5(&ds_, file_.c_str(), err, sizeof err), 0);
    EXPECT_HAS(err, tmp);
    rmdir(tmp.c_str());
    ASSERT_EQ(ds_load_h5(file_.c_str(), &back, err, sizeof err), 0) << err;
    ds_free(&back);
}

TEST_F(Store, MissingGarbageAndTruncatedFiles) {
    ds_dataset back;
    char err[DS_ERR_MAX] = "";
    EXPECT_NE(ds_load_h5(path("absent.h5").c_str(), &back, err, sizeof err), 0);
    EXPECT_HAS(err, "absent.h5: no such file");
    std::vector<uint8_t> raw(1 << 20);
    FILE *f = fopen(file_.c_str(), "rb");
    ASSERT_NE(f, nullptr);
    size_t n = fread(raw.data(), 1, raw.size(), f);
    fclose(f);
    ASSERT_EQ(dsfx_write_file(file_.c_str(), raw.data(), n / 2), 0);
    EXPECT_HAS(load_error(), ": truncated: the file has " + std::to_string(n / 2) + " bytes, it was written with " +
                                 std::to_string(n));
    ASSERT_EQ(dsfx_write_file(file_.c_str(), "this is not HDF5\n", 17), 0);
    EXPECT_HAS(load_error(), ": not a harness-dataset file (no seal, no HDF5 signature)");
    // A directory where the store should be.
    ASSERT_EQ(remove(file_.c_str()), 0);
    ASSERT_EQ(mkdir(file_.c_str(), 0777), 0);
    EXPECT_HAS(load_error(), ": cannot open: Is a directory");
}

// Stores the harness did not write (older format without the seal, another program's HDF5) are
// refused with a name for what they are and what to do.
TEST_F(Store, UnsealedFilesAreRefused) {
    hid_t h = H5Fcreate(file_.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    ASSERT_GE(h, 0);
    H5Fclose(h);
    std::string e = load_error();
    EXPECT_HAS(e, ": an HDF5 file without the harness seal (written by another program or an older harness)");
    EXPECT_HAS(e, "prepare the dataset again");
}

// Any changed byte is caught by the seal's checksum before HDF5 parses the file.
TEST_F(Store, AnyChangedByteIsAChecksumError) {
    std::vector<uint8_t> raw(1 << 20);
    FILE *f = fopen(file_.c_str(), "rb");
    ASSERT_NE(f, nullptr);
    size_t n = fread(raw.data(), 1, raw.size(), f);
    fclose(f);
    for (size_t at : {size_t(0), size_t(70), size_t(512), size_t(520), size_t(600), n / 2, n - 1}) {
        std::vector<uint8_t> bad(raw.begin(), raw.begin() + n);
        bad[at] ^= 0x01;
        ASSERT_EQ(dsfx_write_file(file_.c_str(), bad.data(), n), 0);
        std::string e = load_error();
        EXPECT_TRUE(e.find("damaged") != std::string::npos || e.find("not a harness-dataset file") != std::string::npos)
            << "byte " << at << ": " << e;
    }
}

// A write that fails (file-size limit, as on a full disk) names the file and the reason, and
// leaves the previous store as it was.
TEST_F(Store, WriteFailureIsNamedAndKeepsThePreviousFile) {
    struct stat st;
    ASSERT_EQ(stat(file_.c_str(), &st), 0);
    struct Args { ds_dataset *ds; std::string path; } args{&ds_, file_};
    ds_.train.labels[0] = 5;
    int rc = h5fx_run_with_file_limit(st.st_size / 2, [](void *a) -> int {
        Args *x = (Args *)a;
        char err[DS_ERR_MAX] = "";
        if (ds_save_h5(x->ds, x->path.c_str(), err, sizeof err) == 0) return 2;
        return std::string(err).find(x->path + ": cannot write: File too large") == 0 ? 0 : 3;
    }, &args);
    EXPECT_EQ(rc, 0) << "child exit status (139 = crashed)";
    ds_dataset back;
    char err[DS_ERR_MAX] = "";
    ASSERT_EQ(ds_load_h5(file_.c_str(), &back, err, sizeof err), 0) << err;
    EXPECT_EQ(back.train.labels[0], 0);
    ds_free(&back);
    EXPECT_NE(access((file_ + ".tmp." + std::to_string(getpid())).c_str(), F_OK), 0);
}

// Declared sizes are checked against the bytes the file holds before anything is allocated
// (a crafted 18 KB store used to ask for 19.3 GB).
TEST_F(Store, DeclaredSizesBeyondTheFileAreRefusedBeforeAllocating) {
    edit([](hid_t file) {
        ASSERT_GE(H5Ldelete(file, "/test/images", H5P_DEFAULT), 0);
        hsize_t dims[4] = {4000000, 3, 40, 40}, chunk[4] = {1, 3, 40, 40};
        hid_t s = H5Screate_simple(4, dims, nullptr);
        hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
        H5Pset_chunk(dcpl, 4, chunk);
        H5Pset_deflate(dcpl, 4);
        hid_t d = H5Dcreate2(file, "/test/images", H5T_STD_U8LE, s, H5P_DEFAULT, dcpl, H5P_DEFAULT);
        std::vector<uint8_t> one(3 * 40 * 40, 7);
        hsize_t start[4] = {0, 0, 0, 0}, count[4] = {1, 3, 40, 40};
        hid_t ms = H5Screate_simple(4, count, nullptr);
        H5Sselect_hyperslab(s, H5S_SELECT_SET, start, nullptr, count, nullptr);
        H5Dwrite(d, H5T_NATIVE_UINT8, ms, s, H5P_DEFAULT, one.data());   // one chunk of 4 million
        H5Sclose(ms);
        H5Dclose(d);
        H5Pclose(dcpl);
        H5Sclose(s);
    });
    EXPECT_HAS(load_error(), "/test/images declares 19200000000 bytes but holds");
}

TEST_F(Store, CorruptedChunkCaughtByChecksum) {
    haddr_t addr = 0;
    hsize_t size = 0;
    edit([&](hid_t file) {
        hid_t d = H5Dopen2(file, "/train/images", H5P_DEFAULT);
        hid_t space = H5Dget_space(d);
        hsize_t offset[4];
        unsigned mask;
        ASSERT_GE(H5Dget_chunk_info(d, space, 0, offset, &mask, &addr, &size), 0);
        H5Sclose(space);
        H5Dclose(d);
    });
    ASSERT_GT(size, 16u);
    FILE *f = fopen(file_.c_str(), "r+b");
    ASSERT_NE(f, nullptr);
    fseek(f, (long)(addr + size / 2), SEEK_SET);
    int c = fgetc(f);
    fseek(f, (long)(addr + size / 2), SEEK_SET);
    fputc(c ^ 0x5a, f);
    fclose(f);
    EXPECT_HAS(load_error(), ": damaged: checksum mismatch (the file changed after it was written)");
    // Behind the seal, the chunk's own Fletcher-32 checksum catches it too.
    ASSERT_EQ(h5fx_reseal(file_.c_str(), "harness-dataset"), 0);
    std::string msg = load_error();
    EXPECT_HAS(msg, "/train/images cannot be read");
}

TEST_F(Store, MissingAttributeOrDataset) {
    edit([](hid_t file) { ASSERT_GE(H5Adelete(file, "mean"), 0); });
    EXPECT_HAS(load_error(), ": attribute mean is missing");
    edit([](hid_t file) { ASSERT_GE(H5Ldelete(file, "/test/labels", H5P_DEFAULT), 0); });
    EXPECT_HAS(load_error(), ": /test/labels is missing");
}

TEST_F(Store, NonFiniteStdAndBadClassCount) {
    edit([](hid_t file) {
        float bad[3] = {0.2f, NAN, 0.3f};
        hid_t a = H5Aopen(file, "std", H5P_DEFAULT);
        H5Awrite(a, H5T_NATIVE_FLOAT, bad);
        H5Aclose(a);
    });
    EXPECT_HAS(load_error(), "attribute mean/std of channel 1");
    edit([](hid_t file) {
        int one = 1;
        hid_t a = H5Aopen(file, "n_classes", H5P_DEFAULT);
        H5Awrite(a, H5T_NATIVE_INT, &one);
        H5Aclose(a);
    });
    EXPECT_HAS(load_error(), "attribute n_classes is 1, must be 2..256");
}

TEST_F(Store, LabelOutOfRange) {
    edit([&](hid_t file) {
        std::vector<uint8_t> lb(ds_.test.labels, ds_.test.labels + ds_.test.n);
        lb[17] = 7;
        hid_t d = H5Dopen2(file, "/test/labels", H5P_DEFAULT);
        H5Dwrite(d, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, lb.data());
        H5Dclose(d);
    });
    EXPECT_HAS(load_error(), "/test/labels: label 7 at index 17 is out of range: 7 classes allow 0..6");
}

// Replaces /test/<what> with a dataset of the given shape.
void replace(hid_t file, const char *where, int rank, const hsize_t *dims) {
    ASSERT_GE(H5Ldelete(file, where, H5P_DEFAULT), 0);
    hid_t s = H5Screate_simple(rank, dims, nullptr);
    hid_t d = H5Dcreate2(file, where, H5T_STD_U8LE, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    size_t n = 1;
    for (int i = 0; i < rank; i++) n *= dims[i];
    std::vector<uint8_t> zeros(n);
    H5Dwrite(d, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, zeros.data());
    H5Dclose(d);
    H5Sclose(s);
}

TEST_F(Store, ShapeMismatches) {
    edit([](hid_t file) {
        hsize_t dims[4] = {50, 3, 6, 4};
        replace(file, "/test/images", 4, dims);
    });
    EXPECT_HAS(load_error(), "/test/images are 3x6x4, the training images are 3x5x4");
    edit([](hid_t file) {
        hsize_t dims[4] = {50, 3, 5, 4};
        replace(file, "/test/images", 4, dims);
        hsize_t n[1] = {49};
        replace(file, "/test/labels", 1, n);
    });
    EXPECT_HAS(load_error(), "/test/labels has 49 labels for 50 images");
    edit([](hid_t file) {
        hsize_t dims[3] = {50, 5, 4};
        replace(file, "/train/images", 3, dims);
    });
    EXPECT_HAS(load_error(), "/train/images has 3 dimensions, expected 4");
}

}  // namespace
