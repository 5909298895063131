// Opening a dataset by name: a known dataset whose store is in an older format (or not the
// harness's) is prepared again from its raw files; an imported one is refused with the reason.
#include <gtest/gtest.h>
#include <hdf5.h>
#include <cstdio>
#include <cstdlib>
#include <string>
extern "C" {
#include "harness/data_store.h"
#include "support/ds_fixtures.h"
}

namespace {

class DataStore : public ::testing::Test {
protected:
    char *root = nullptr;
    void SetUp() override
    {
        root = dsfx_tempdir();
        ASSERT_NE(root, nullptr);
        setenv("HARNESS_DATA_DIR", root, 1);
    }
    void TearDown() override
    {
        unsetenv("HARNESS_DATA_DIR");
        dsfx_rmtree(root);
        free(root);
    }
    void old_store(const std::string &name)
    {
        hid_t h = H5Fcreate((std::string(root) + "/" + name + ".h5").c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
        ASSERT_GE(h, 0);
        H5Fclose(h);
    }
};

TEST_F(DataStore, KnownDatasetInAnOlderFormatIsPreparedAgain)
{
    std::string raw = std::string(root) + "/raw/mnist";
    ASSERT_EQ(0, system(("mkdir -p " + raw).c_str()));
    uint8_t lb[6] = {0, 1, 2, 3, 4, 5};
    ASSERT_EQ(0, dsfx_write_idx_pair(raw.c_str(), "train", 6, 28, 28, lb, 1, 0));
    ASSERT_EQ(0, dsfx_write_idx_pair(raw.c_str(), "t10k", 3, 28, 28, lb, 2, 0));
    old_store("mnist");
    char log_buf[4096] = "", err[DS_ERR_MAX] = "";
    FILE *log = fmemopen(log_buf, sizeof log_buf, "w");
    ds_dataset ds;
    ASSERT_EQ(0, hx_dataset_open("mnist", &ds, log, err, sizeof err)) << err;
    fclose(log);
    EXPECT_EQ(6u, ds.train.n);
    EXPECT_NE(std::string::npos, std::string(log_buf).find("preparing mnist again")) << log_buf;
    ds_free(&ds);
}

TEST_F(DataStore, ImportedDatasetInAnOlderFormatIsRefused)
{
    old_store("mine");
    char err[DS_ERR_MAX] = "";
    ds_dataset ds;
    EXPECT_EQ(-1, hx_dataset_open("mine", &ds, nullptr, err, sizeof err));
    EXPECT_NE(std::string::npos, std::string(err).find("mine.h5: an HDF5 file without the harness seal")) << err;
    EXPECT_NE(std::string::npos, std::string(err).find("prepare the dataset again")) << err;
}

}  // namespace
