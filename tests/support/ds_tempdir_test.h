// Base fixture of the dataset tests: a fresh temporary folder per test, removed afterwards.
#ifndef TESTS_DS_TEMPDIR_TEST_H
#define TESTS_DS_TEMPDIR_TEST_H
#include <gtest/gtest.h>
#include <cstdlib>
#include <string>
#include "support/ds_fixtures.h"

class DsTempDirTest : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ = dsfx_tempdir();
        ASSERT_NE(dir_, nullptr);
    }
    void TearDown() override {
        dsfx_rmtree(dir_);
        free(dir_);
        dir_ = nullptr;
    }
    std::string path(const std::string &name) const { return std::string(dir_) + "/" + name; }
    char *dir_ = nullptr;
};

#endif
