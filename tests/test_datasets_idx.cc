// IDX reader: plain and gzip round trips, and each kind of broken file gives a message that
// names the file and the problem.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cstring>
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

class Idx : public DsTempDirTest {
  protected:
    // Writes an image file whose header says n x h x w but which holds `bytes` of data.
    std::string images(const char *name, uint32_t n, uint32_t h, uint32_t w, size_t bytes, int gzip = 0,
                       uint32_t magic = 0x803) {
        std::vector<uint8_t> data(bytes + 1);
        dsfx_pattern(data.data(), bytes, 7, 0);
        uint32_t dims[3] = {n, h, w};
        std::string p = path(name);
        EXPECT_EQ(dsfx_write_idx(p.c_str(), magic, 3, dims, data.data(), bytes, gzip), 0);
        return p;
    }
    // Reads images expecting failure; returns the message.
    std::string image_error(const std::string &p) {
        uint8_t *im = nullptr;
        uint32_t n = 0;
        int h = 0, w = 0;
        char err[DS_ERR_MAX] = "";
        EXPECT_NE(ds_read_idx_images(p.c_str(), &im, &n, &h, &w, err, sizeof err), 0);
        EXPECT_EQ(im, nullptr);
        return err;
    }
};

#define EXPECT_HAS(msg, part) EXPECT_NE((msg).find(part), std::string::npos) << "message: " << (msg)

void round_trip(const std::string &p, uint32_t n, int h, int w, uint32_t seed) {
    uint8_t *im = nullptr;
    uint32_t got_n = 0;
    int got_h = 0, got_w = 0;
    char err[DS_ERR_MAX] = "";
    ASSERT_EQ(ds_read_idx_images(p.c_str(), &im, &got_n, &got_h, &got_w, err, sizeof err), 0) << err;
    EXPECT_EQ(got_n, n);
    EXPECT_EQ(got_h, h);
    EXPECT_EQ(got_w, w);
    std::vector<uint8_t> want((size_t)n * h * w);
    dsfx_idx_images(want.data(), n, h, w, seed);
    EXPECT_EQ(std::vector<uint8_t>(im, im + want.size()), want);
    free(im);
}

TEST_F(Idx, PlainAndGzipRoundTrip) {
    std::vector<uint8_t> labels = {3, 1, 4, 1, 5};
    for (int gzip = 0; gzip < 2; gzip++) {
        ASSERT_EQ(dsfx_write_idx_pair(dir_, gzip ? "gz" : "plain", 5, 3, 7, labels.data(), 11, gzip), 0);
        std::string pre = path(gzip ? "gz" : "plain"), suf = gzip ? ".gz" : "";
        round_trip(pre + "-images-idx3-ubyte" + suf, 5, 3, 7, 11);
        uint8_t *lb = nullptr;
        uint32_t n = 0;
        char err[DS_ERR_MAX] = "";
        ASSERT_EQ(ds_read_idx_labels((pre + "-labels-idx1-ubyte" + suf).c_str(), &lb, &n, err, sizeof err), 0) << err;
        EXPECT_EQ(std::vector<uint8_t>(lb, lb + n), labels);
        free(lb);
    }
}

TEST_F(Idx, NonSquareLargerImages) {
    std::vector<uint8_t> labels(3, 0);
    ASSERT_EQ(dsfx_write_idx_pair(dir_, "big", 3, 40, 17, labels.data(), 5, 1), 0);
    round_trip(path("big-images-idx3-ubyte.gz"), 3, 40, 17, 5);
}

TEST_F(Idx, TruncatedNamesFileAndSizes) {
    std::string msg = image_error(images("train-images-idx3-ubyte", 6, 4, 5, 100));
    EXPECT_HAS(msg, "train-images-idx3-ubyte");
    EXPECT_HAS(msg, "truncated");
    EXPECT_HAS(msg, "6x4x5 = 120 bytes");
    EXPECT_HAS(msg, "file has 100 after the header");
}

TEST_F(Idx, TruncatedGzipPayload) {
    std::string msg = image_error(images("t.gz", 6, 4, 5, 119, 1));
    EXPECT_HAS(msg, "t.gz: truncated");
    EXPECT_HAS(msg, "119 after the header (decompressed)");
}

TEST_F(Idx, CutGzipStream) {
    std::string p = images("cut.gz", 50, 20, 20, 20000, 1);
    FILE *f = fopen(p.c_str(), "rb");
    ASSERT_NE(f, nullptr);
    std::vector<uint8_t> gz(1 << 16);
    size_t n = fread(gz.data(), 1, gz.size(), f);
    fclose(f);
    ASSERT_EQ(dsfx_write_file(p.c_str(), gz.data(), n / 2), 0);
    std::string msg = image_error(p);
    EXPECT_HAS(msg, "cut.gz");
    EXPECT_TRUE(msg.find("truncated") != std::string::npos || msg.find("corrupt gzip") != std::string::npos) << msg;
}

TEST_F(Idx, OverLong) {
    std::string msg = image_error(images("long", 2, 3, 3, 21));
    EXPECT_HAS(msg, "long: over-long");
    EXPECT_HAS(msg, "2x3x3 = 18 bytes");
    EXPECT_HAS(msg, "(3 extra)");
    msg = image_error(images("long.gz", 2, 3, 3, 19, 1));
    EXPECT_HAS(msg, "long.gz: over-long");
    EXPECT_HAS(msg, "(1 extra)");
}

TEST_F(Idx, BadMagic) {
    std::string msg = image_error(images("notidx", 2, 3, 3, 18, 0, 0x12345678));
    EXPECT_HAS(msg, "notidx: bad magic 0x12345678");
    msg = image_error(images("floats", 2, 3, 3, 18, 0, 0x00000D03));
    EXPECT_HAS(msg, "floats: bad magic 0x00000d03");
    EXPECT_HAS(msg, "element type 0x0d");
}

TEST_F(Idx, WrongDims) {
    // A label file (1 dimension) given where images are expected.
    std::string p = path("labels-as-images");
    uint8_t lb[4] = {1, 2, 3, 4};
    uint32_t n = 4;
    ASSERT_EQ(dsfx_write_idx(p.c_str(), 0x801, 1, &n, lb, 4, 0), 0);
    std::string msg = image_error(p);
    EXPECT_HAS(msg, "labels-as-images: wrong dims");
    EXPECT_HAS(msg, "1 dimensions");
    // And images given where labels are expected.
    std::string q = images("images-as-labels", 2, 2, 2, 8);
    uint8_t *out = nullptr;
    char err[DS_ERR_MAX] = "";
    EXPECT_NE(ds_read_idx_labels(q.c_str(), &out, &n, err, sizeof err), 0);
    EXPECT_HAS(std::string(err), "images-as-labels: wrong dims");
    // A zero dimension.
    msg = image_error(images("zero", 3, 0, 4, 0));
    EXPECT_HAS(msg, "zero: wrong dims: dimension 1 is 0");
}

TEST_F(Idx, ShortHeaderAndMissingFile) {
    std::string p = path("tiny");
    uint8_t two[2] = {0, 0};
    ASSERT_EQ(dsfx_write_file(p.c_str(), two, 2), 0);
    EXPECT_HAS(image_error(p), "tiny: too short for an IDX header");
    uint8_t head[8] = {0, 0, 8, 3, 0, 0, 0, 1};  // magic + only one of three dims
    ASSERT_EQ(dsfx_write_file(p.c_str(), head, 8), 0);
    EXPECT_HAS(image_error(p), "tiny: truncated header");
    EXPECT_HAS(image_error(path("nope")), "nope: cannot open");
}

TEST_F(Idx, LabelsTruncatedAndOverLong) {
    uint8_t lb[12] = {0};
    uint32_t n = 10, got;
    std::string p = path("train-labels-idx1-ubyte");
    for (size_t bytes : {size_t(7), size_t(12)}) {
        ASSERT_EQ(dsfx_write_idx(p.c_str(), 0x801, 1, &n, lb, bytes, 0), 0);
        uint8_t *out = nullptr;
        char err[DS_ERR_MAX] = "";
        EXPECT_NE(ds_read_idx_labels(p.c_str(), &out, &got, err, sizeof err), 0);
        std::string msg = err;
        EXPECT_HAS(msg, "train-labels-idx1-ubyte: ");
        EXPECT_HAS(msg, bytes < 10 ? "truncated: header says 10 = 10 bytes, file has 7" : "over-long");
    }
}

// A plain file's header is checked against the file's size before anything is allocated: a
// 16-byte file claiming 2^32-1 images of 4096x4096 used to get a 64 MB buffer first.
TEST_F(Idx, HeaderCheckedAgainstTheFileBeforeAllocating) {
#if defined(__SANITIZE_ADDRESS__)
    GTEST_SKIP() << "address-space limits do not mix with ASan";
#else
    std::string p = path("liar-idx3-ubyte");
    uint32_t dims[3] = {0xffffffffu, 4096, 4096};
    ASSERT_EQ(dsfx_write_idx(p.c_str(), 0x803, 3, dims, nullptr, 0, 0), 0);
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {   // with at most 48 MB more address space than now, as if memory were short
        struct rlimit lim;
        getrlimit(RLIMIT_AS, &lim);
        FILE *m = fopen("/proc/self/statm", "r");
        unsigned long pages = 0;
        if (!m || fscanf(m, "%lu", &pages) != 1) _exit(3);
        fclose(m);
        lim.rlim_cur = (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) + (48u << 20);
        setrlimit(RLIMIT_AS, &lim);
        uint8_t *im = nullptr;
        uint32_t n;
        int h, w;
        char err[DS_ERR_MAX] = "";
        int rc = ds_read_idx_images(p.c_str(), &im, &n, &h, &w, err, sizeof err);
        _exit(rc != 0 && strstr(err, "truncated: header says 4294967295x4096x4096 = 72057594021150720 bytes, "
                                     "file has 0 after the header") ? 0 : 1);
    }
    int st = 0;
    ASSERT_EQ(waitpid(pid, &st, 0), pid);
    EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << "status " << st;
#endif
}

// A directory given as an images or labels file is named as such (it used to read as "corrupt gzip data").
TEST_F(Idx, DirectoryIsNamed) {
    std::string d = path("train-labels-idx1-ubyte");
    ASSERT_EQ(mkdir(d.c_str(), 0777), 0);
    uint8_t *out = nullptr;
    uint32_t n = 0;
    char err[DS_ERR_MAX] = "";
    EXPECT_NE(ds_read_idx_labels(d.c_str(), &out, &n, err, sizeof err), 0);
    EXPECT_EQ(std::string(err), d + ": a directory, not an IDX file");
    EXPECT_EQ(image_error(d), d + ": a directory, not an IDX file");
}

}  // namespace
