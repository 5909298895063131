// Config loading: every bad input stops before any work with a message naming the file, the
// line, the key and what is allowed.
#include <gtest/gtest.h>
#include <cstdio>
#include <string>
#include <cstring>
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

std::string load_error(const std::string &text, const char *set = nullptr, const char *set2 = nullptr)
{
    std::string p = write_ini(text);
    hx_config c;
    char err[CFG_ERR_MAX] = "";
    const char *sets[] = {set, set2};
    int rc = cfg_load(p.c_str(), sets, set2 ? 2 : set ? 1 : 0, &c, err, sizeof err);
    unlink(p.c_str());
    if (rc == 0) { cfg_free(&c); return ""; }
    return std::string(err).substr(std::string(err).find(p) == 0 ? p.size() : 0);   // from ":line: ..."
}

// kGood with `line` added as the last key of [section] (a new [section] at the end if absent).
std::string with(const std::string &section, const std::string &line)
{
    std::string t = kGood, head = "[" + section + "]\n";
    size_t at = t.find(head);
    if (at == std::string::npos) return t + head + line + "\n";
    size_t end = t.find("\n\n", at);   // sections end with a blank line, the last one with the file
    if (end == std::string::npos) return t + line + "\n";
    return t.insert(end + 1, line + "\n");
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
    EXPECT_EQ(0u, e.find(":17:")) << e;
}

TEST(Config, MethodKeysAreValidatedByTheMethodsTable)
{
    if (!method_find("magnitude")) GTEST_SKIP() << "magnitude method not registered";
    std::string base = with("model", "pretrained = configs/baseline-lenet5.ini") + "[method]\nname = magnitude\n";
    EXPECT_EQ("", load_error(base));
    std::string e = load_error(base + "sparsty = 0.5\n");
    EXPECT_NE(std::string::npos, e.find("unknown key 'sparsty' for method magnitude")) << e;
    e = load_error(base + "sparsity = 1.5\n");
    EXPECT_NE(std::string::npos, e.find("method magnitude: sparsity = 1.5")) << e;
}

// Zero epochs: only a post-training method (ptq) trains nothing; any other config is refused.
TEST(Config, ZeroEpochsOnlyForAPostTrainingMethod)
{
    std::string e = load_error(kGood, "train.epochs=0");
    EXPECT_NE(std::string::npos, e.find("[train] epochs = 0: only a post-training method")) << e;
    std::string ptq = with("model", "pretrained = configs/baseline-lenet5.ini") + "[method]\nname = ptq\n";
    EXPECT_EQ("", load_error(ptq, "train.epochs=0"));
    std::string mag = with("model", "pretrained = configs/baseline-lenet5.ini") + "[method]\nname = magnitude\n";
    EXPECT_NE(std::string::npos, load_error(mag, "train.epochs=0").find("only a post-training method"));
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
    EXPECT_EQ(a, hash(with("run", "threads = 1")));
    std::string other = kGood;
    other.replace(other.find("name = t"), 8, "name = other");
    EXPECT_EQ(a, hash(other));
    std::string seed = kGood;
    seed.replace(seed.find("seed = 3"), 8, "seed = 4");
    EXPECT_NE(a, hash(seed));
    // A key added after records were committed counts only when set: earlier run ids stay.
    EXPECT_EQ(a, hash(with("data", "cutout = 0")));
    EXPECT_NE(a, hash(with("data", "cutout = 16")));
}

// --- every byte of the file is read as what it is ---------------------------------------

TEST(ConfigStrict, WithHelperAddsToTheSection)
{
    EXPECT_EQ("", load_error(with("train", "batch = 32")));
    EXPECT_EQ("", load_error(with("method", "name =")));
}

TEST(ConfigStrict, NulByteIsAnErrorNotTheEndOfTheFile)
{
    std::string t = std::string(kGood) + std::string("\0", 1) + "\nepochs = 99\n";
    EXPECT_EQ(":16: NUL byte at column 1: a config is text", load_error(t));
    t = std::string(kGood);
    t.insert(t.find("lr = 0.05") + 9, std::string("\0", 1));
    EXPECT_EQ(":13: NUL byte at column 10: a config is text", load_error(t));
}

TEST(ConfigStrict, LongLinesAreReadWholeOrRefusedNeverSplit)
{
    // inih cut lines at 199 characters and read the tail as a line of its own: a long comment
    // ending in "seed = 7" set the seed.
    std::string comment = "; " + std::string(250, 'x') + " seed = 7\n";
    std::string p = write_ini(comment + kGood);
    hx_config c;
    char err[CFG_ERR_MAX];
    ASSERT_EQ(0, cfg_load(p.c_str(), nullptr, 0, &c, err, sizeof err)) << err;
    EXPECT_EQ(3, c.seed);
    cfg_free(&c);
    unlink(p.c_str());
    std::string huge = "; " + std::string(5000, 'x') + "\n";
    EXPECT_EQ(":1: line of 5002 characters; at most 4096", load_error(huge + kGood));
}

TEST(ConfigStrict, RepeatedKeysAndSectionsNameBothLines)
{
    EXPECT_EQ(":16: [train] lr again (first at line 13): give each key once", load_error(with("train", "lr = 0.1")));
    EXPECT_EQ(":16: section [run] again (first at line 1): give each section once",
              load_error(std::string(kGood) + "[run]\nseed = 7\n"));
    EXPECT_EQ(":10: [model] arch again (first at line 9): give each key once",
              load_error(with("model", "arch = lenet300")));
}

TEST(ConfigStrict, NoContinuationLinesNoInlineCommentsNoKeysOutsideSections)
{
    EXPECT_EQ(":16: expected [section], key = value, or a comment (; or #)", load_error(with("train", "   0.2")));
    std::string e = load_error(with("train", "batch = 32 ; smaller"));
    EXPECT_NE(std::string::npos, e.find(":16: [train] batch = 32 ; smaller: expected an integer")) << e;
    EXPECT_EQ(":1: key 'seed' before any [section]", load_error("seed = 1\n" + std::string(kGood)));
    EXPECT_EQ(":16: a section header is [name] and nothing else", load_error(std::string(kGood) + "[method] x\n"));
    // Line endings and a byte-order mark are fine.
    std::string crlf;
    for (char ch : std::string(kGood)) crlf += ch == '\n' ? std::string("\r\n") : std::string(1, ch);
    EXPECT_EQ("", load_error("\xEF\xBB\xBF" + crlf));
}

TEST(ConfigStrict, SetGivenTwiceIsAnError)
{
    std::string e = load_error(kGood, "train.lr=0.1", "train.lr=0.2");
    EXPECT_NE(std::string::npos, e.find("--set train.lr=0.2: train.lr is given twice on the command line")) << e;
}

TEST(ConfigStrict, MethodValuesAreNeverCut)
{
    if (!method_find("deep-compression")) GTEST_SKIP() << "deep-compression not registered";
    // 4 qualities spread over 300 characters: a 255-character copy used to drop the last one.
    std::string q = "quality = 0.5," + std::string(100, ' ') + "0.6," + std::string(100, ' ') + "0.7," +
                    std::string(80, ' ') + "0.8";
    std::string t = with("model", "pretrained = configs/baseline-lenet5.ini") + "[method]\nname = deep-compression\n" +
                    q + "\n";
    std::string p = write_ini(t);
    hx_config c;
    char err[CFG_ERR_MAX];
    ASSERT_EQ(0, cfg_load(p.c_str(), nullptr, 0, &c, err, sizeof err)) << err;
    char *r = cfg_resolved(&c);
    EXPECT_NE(nullptr, strstr(r, "quality = 0.5, 0.6, 0.7, 0.8\n")) << r;
    free(r);
    cfg_free(&c);
    unlink(p.c_str());
    // A text value longer than allowed is refused, not cut.
    std::string e = load_error(with("model", "pretrained = " + std::string(300, 'p')));
    EXPECT_NE(std::string::npos, e.find("expected text of at most 255 characters")) << e;
}

TEST(ConfigStrict, NamesThatBecomePathsAreRestricted)
{
    for (const char *bad : {"../../x", "a/b", ".hidden", "x..y", "caf\xc3\xa9", "n\xff", "a b"}) {
        std::string t = kGood;
        t.replace(t.find("name = t"), 8, std::string("name = ") + bad);
        std::string e = load_error(t);
        EXPECT_NE(std::string::npos, e.find(std::string(":2: [run] name = ") + bad + ": use letters, digits")) << e;
    }
    std::string t = kGood;
    t.replace(t.find("dataset = mnist"), 15, "dataset = ../../etc/x");
    EXPECT_NE(std::string::npos, load_error(t).find("[data] dataset = ../../etc/x: use letters")) << load_error(t);
    EXPECT_EQ("", load_error(kGood, "run.name=ok-name_1.2"));
}

TEST(ConfigStrict, DirectoryIsNamedAsSuch)
{
    hx_config c;
    char err[CFG_ERR_MAX];
    EXPECT_EQ(-1, cfg_load("/tmp", nullptr, 0, &c, err, sizeof err));
    EXPECT_EQ(std::string("/tmp: a directory, not a config file (give the .ini file, e.g. configs/xnor.ini)"), err);
}

}  // namespace
