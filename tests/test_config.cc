// Config loading: every bad input stops before any work with a message naming the file, the
// line, the key and what is allowed.
#include <gtest/gtest.h>
#include <cstdio>
#include <string>
#include <unistd.h>
extern "C" {
#include "harness/config.h"
}

namespace {

std::string write_ini(const std::string &text)
{
    char path[] = "/tmp/harness-cfg-XXXXXX.ini";
    int fd = mkstemps(path, 4);
    EXPECT_GE(fd, 0);
    EXPECT_EQ((ssize_t)text.size(), write(fd, text.data(), text.size()));
    close(fd);
    return path;
}

const char *kGood =
    "[run]\nname = t\nseed = 3\n\n[data]\ndataset = mnist\n\n[model]\narch = lenet5\n\n"
    "[train]\nepochs = 2\nlr = 0.05\nschedule = multistep\nmilestones = 1, 2\n";

std::string load_error(const std::string &text, const char *set = nullptr)
{
    std::string p = write_ini(text);
    hx_config c;
    char err[CFG_ERR_MAX] = "";
    const char *sets[] = {set};
    int rc = cfg_load(p.c_str(), sets, set ? 1 : 0, &c, err, sizeof err);
    unlink(p.c_str());
    if (rc == 0) { cfg_free(&c); return ""; }
    return std::string(err);
}

TEST(Config, GoodFileParsesWithDefaults)
{
    std::string p = write_ini(kGood);
    hx_config c;
    char err[CFG_ERR_MAX];
    ASSERT_EQ(0, cfg_load(p.c_str(), nullptr, 0, &c, err, sizeof err)) << err;
    EXPECT_EQ(3, c.seed);
    EXPECT_STREQ("mnist", c.dataset);
    EXPECT_EQ(2, c.epochs);
    EXPECT_DOUBLE_EQ(0.05, c.lr);
    EXPECT_EQ(64, c.batch);                 // default
    EXPECT_EQ(2, c.milestones.n);
    EXPECT_EQ(nullptr, c.method);
    cfg_free(&c);
    unlink(p.c_str());
}

TEST(Config, UnknownKeyNamesFileLineAndAllowedKeys)
{
    std::string e = load_error(std::string(kGood) + "lrr = 0.1\n");
    EXPECT_NE(std::string::npos, e.find(":16: unknown key 'lrr' in [train]")) << e;
    EXPECT_NE(std::string::npos, e.find("allowed: epochs, batch")) << e;
}

TEST(Config, UnknownSection)
{
    std::string e = load_error(std::string(kGood) + "[trian]\nepochs = 1\n");
    EXPECT_NE(std::string::npos, e.find("unknown section [trian]")) << e;
}

TEST(Config, OutOfRangeAndWrongType)
{
    std::string e = load_error(std::string(kGood) + "batch = 0\n");
    EXPECT_NE(std::string::npos, e.find("[train] batch = 0")) << e;
    EXPECT_NE(std::string::npos, e.find("1, 65536")) << e;
    e = load_error(std::string(kGood) + "momentum = fast\n");
    EXPECT_NE(std::string::npos, e.find("momentum = fast")) << e;
    e = load_error(std::string(kGood) + "optimizer = rmsprop\n");
    EXPECT_NE(std::string::npos, e.find("sgd|adam")) << e;
}

TEST(Config, MissingRequiredKey)
{
    std::string e = load_error("[data]\ndataset = mnist\n");
    EXPECT_NE(std::string::npos, e.find("missing required key [model] arch")) << e;
}

TEST(Config, SetOverridesAndIsValidated)
{
    EXPECT_EQ("", load_error(kGood, "train.epochs=5"));
    std::string e = load_error(kGood, "train.epochs=-1");
    EXPECT_NE(std::string::npos, e.find("--set train.epochs=-1")) << e;
    e = load_error(kGood, "trainepochs=1");
    EXPECT_NE(std::string::npos, e.find("expected section.key=value")) << e;
}

TEST(Config, UnknownMethodListsTheRegistered)
{
    std::string e = load_error(std::string(kGood) + "[method]\nname = magic\n");
    EXPECT_NE(std::string::npos, e.find("unknown method")) << e;
    EXPECT_NE(std::string::npos, e.find(":17:")) << e;
}

TEST(Config, MethodKeysAreValidatedByTheMethodsTable)
{
    if (!method_find("magnitude")) GTEST_SKIP() << "magnitude method not registered";
    std::string base = std::string(kGood) + "[model]\npretrained = configs/baseline-lenet5.ini\n[method]\nname = magnitude\n";
    EXPECT_EQ("", load_error(base));
    std::string e = load_error(base + "sparsty = 0.5\n");
    EXPECT_NE(std::string::npos, e.find("unknown key 'sparsty' for method magnitude")) << e;
    e = load_error(base + "sparsity = 1.5\n");
    EXPECT_NE(std::string::npos, e.find("method magnitude: sparsity = 1.5")) << e;
}

TEST(Config, HashIgnoresNameAndThreadsButNotSeed)
{
    auto hash = [](const std::string &text) {
        std::string p = write_ini(text);
        hx_config c;
        char err[CFG_ERR_MAX], h[17];
        EXPECT_EQ(0, cfg_load(p.c_str(), nullptr, 0, &c, err, sizeof err)) << err;
        cfg_hash(&c, h);
        cfg_free(&c);
        unlink(p.c_str());
        return std::string(h);
    };
    std::string a = hash(kGood);
    EXPECT_EQ(a, hash(std::string(kGood) + "[run]\nthreads = 1\nname = other\n"));
    EXPECT_NE(a, hash(std::string(kGood) + "[run]\nseed = 4\n"));
}

}  // namespace
