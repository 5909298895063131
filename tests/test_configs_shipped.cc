// Every config the project ships loads: keys and ranges valid, the method and its options
// accepted (including the method's cross-key check), the architecture known, and a named
// baseline config present and loadable itself. Long runs fail late; their configs fail here.
#include <gtest/gtest.h>
#include <dirent.h>
#include <sys/stat.h>
#include <string>
#include <vector>

extern "C" {
#include "harness/config.h"
#include "nn/model.h"
}

namespace {

void collect(const std::string &dir, std::vector<std::string> *out)
{
    DIR *d = opendir(dir.c_str());
    ASSERT_NE(d, nullptr) << dir;
    while (struct dirent *e = readdir(d)) {
        std::string name = e->d_name, path = dir + "/" + name;
        if (name[0] == '.') continue;
        struct stat st;
        if (stat(path.c_str(), &st) != 0) continue;
        if (S_ISDIR(st.st_mode)) collect(path, out);
        else if (name.size() > 4 && name.compare(name.size() - 4, 4, ".ini") == 0) out->push_back(path);
    }
    closedir(d);
}

bool arch_known(const char *arch)
{
    for (int i = 0; i < nn_arch_count(); i++)
        if (std::string(nn_arch_name(i)) == arch) return true;
    return false;
}

}  // namespace

TEST(ShippedConfigs, EveryConfigLoads)
{
    std::vector<std::string> files;
    collect(HARNESS_SOURCE_DIR "/configs", &files);
    ASSERT_GT(files.size(), 10u);
    for (const std::string &f : files) {
        SCOPED_TRACE(f);
        hx_config c;
        char err[CFG_ERR_MAX] = "";
        ASSERT_EQ(cfg_load(f.c_str(), nullptr, 0, &c, err, sizeof err), 0) << err;
        EXPECT_TRUE(arch_known(c.arch)) << "unknown arch " << c.arch;
        if (c.pretrained[0]) {
            std::string base = std::string(HARNESS_SOURCE_DIR) + "/" + c.pretrained;
            hx_config b;
            char berr[CFG_ERR_MAX] = "";
            ASSERT_EQ(cfg_load(base.c_str(), nullptr, 0, &b, berr, sizeof berr), 0) << berr;
            EXPECT_EQ(std::string(b.arch), std::string(c.arch)) << "baseline trains another arch";
            EXPECT_EQ(std::string(b.dataset), std::string(c.dataset)) << "baseline uses another dataset";
            cfg_free(&b);
        }
        cfg_free(&c);
    }
}

// One name per method: a config's file is named after its registry name (optionally followed by
// the variant and the setting, "xnor-bwn-lenet5", "deep-compression-lenet300"), its [run] name
// is the file's name (with the folder's suite prefix, "c10-" for configs/cifar10/), and a
// config without a method is a baseline.
TEST(ShippedConfigs, FileRunAndRegistryNamesAgree)
{
    const struct { const char *dir, *prefix; } folders[] = {{"", ""}, {"cifar10/", "c10-"}};
    std::vector<std::string> files;
    const std::string root = HARNESS_SOURCE_DIR "/configs/";
    collect(HARNESS_SOURCE_DIR "/configs", &files);
    ASSERT_GT(files.size(), 10u);
    for (const std::string &f : files) {
        SCOPED_TRACE(f);
        std::string rel = f.substr(root.size()), dir = rel.substr(0, rel.rfind('/') + 1);
        std::string stem = rel.substr(dir.size(), rel.size() - dir.size() - 4);
        const char *prefix = nullptr;
        for (const auto &d : folders)
            if (dir == d.dir) prefix = d.prefix;
        ASSERT_NE(prefix, nullptr) << "configs/" << dir << ": a new folder; give its run-name prefix here";
        hx_config c;
        char err[CFG_ERR_MAX] = "";
        ASSERT_EQ(cfg_load(f.c_str(), nullptr, 0, &c, err, sizeof err), 0) << err;
        EXPECT_EQ(std::string(c.name), prefix + stem) << "[run] name differs from the file's name";
        std::string method = c.method ? c.method->name : "baseline";
        EXPECT_TRUE(stem == method || stem.compare(0, method.size() + 1, method + "-") == 0)
            << "file named " << stem << " but its method is " << method;
        cfg_free(&c);
    }
}
