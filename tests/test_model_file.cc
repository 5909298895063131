// The model file is the whole result (and so is its packed form, model.packed.h5): for every method, a tiny run on MNIST-shaped data the test
// writes, then the run's model.h5 loaded back on its own must evaluate to exactly the final
// accuracy and loss result.json holds (XNOR-Net's and BNN's binarized inputs, DeepShift's fixed point,
// DoReFa's grid, PACT's learned clip, LSQ's learned step, SFP's smaller network and AdderNet's kernel included), and `harness eval` prints that accuracy. The loss is compared bit for bit: a dropped transform that happens to keep
// every prediction still moves it.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <ostream>
#include <sstream>
#include <string>
extern "C" {
#include "harness/checkpoint.h"
#include "harness/data_store.h"
#include "harness/experiment.h"
#include "harness/packed_eval.h"
#include "harness/packed_file.h"
#include "base/json.h"
#include "harness/run.h"
#include "methods/input_transforms.h"
}
#include "support/synth_data.h"

namespace {

std::string g_root;

struct Case {
    const char *name, *arch, *method, *train, *baseline;
};

// Each run trains one short round (or the fewest the method allows) on 600 images.
const Case kCases[] = {
    {"baseline", "lenet5", "", "", nullptr},
    {"magnitude", "lenet5", "name = magnitude\nsparsity = 0.8\n", "", "lenet5"},
    {"dc", "lenet5", "name = deep-compression\nprune_rounds = 1\nretrain_epochs = 1\nquant_epochs = 1\n", "",
     "lenet5"},
    {"sfp", "lenet5", "name = sfp\nrate = 0.5\n", "", nullptr},
    {"lottery", "lenet300", "name = lottery\nrounds = 2\ncontrol = false\n", "", nullptr},
    {"inq", "lenet5", "name = inq\nportions = 0.5, 1\n", "", "lenet5"},
    {"xnor", "lenet5-xnor", "name = xnor\nmode = xnor\n", "", nullptr},
    {"bwn", "lenet5", "name = xnor\nmode = bwn\n", "", nullptr},
    {"ttq", "lenet5", "name = ttq\n", "optimizer = adam\nlr = 0.0001\n", "lenet5"},
    {"addernet", "lenet5-bn", "name = addernet\n", "", nullptr},
    {"deepshift-q", "lenet5", "name = deepshift\nmode = q\nact_bits = 6\nact_int_bits = 4\n", "", nullptr},
    {"deepshift-ps", "lenet5", "name = deepshift\nmode = ps\n", "optimizer = adam\nlr = 0.001\n", nullptr},
    {"twn", "lenet5", "name = twn\n", "", nullptr},
    {"binaryconnect", "lenet5-bn", "name = binaryconnect\n", "", nullptr},
    {"binaryconnect-stochastic", "lenet5-bn", "name = binaryconnect\nmode = stochastic\n", "", nullptr},
    {"bnn", "lenet5-xnor", "name = bnn\n", "", nullptr},
    {"dorefa", "lenet5", "name = dorefa\nw_bits = 3\na_bits = 4\n", "", nullptr},
    {"pact", "lenet5", "name = pact\n", "", nullptr},
    {"lsq", "lenet5", "name = lsq\n", "", "lenet5"},
    {"l1-filter", "lenet5", "name = l1-filter\nratio = 0.5\n", "", "lenet5"},
    {"slimming", "lenet5-bn", "name = slimming\nlambda = 1e-3\nratio = 0.5\nfinetune_epochs = 1\n", "", nullptr},
    {"ptq", "lenet5-bn", "name = ptq\ncalibration = kl\ncalibration_batches = 2\n", "", "lenet5-bn"},
};

void PrintTo(const Case &c, std::ostream *os) { *os << c.name; }

std::string write_config(const std::string &name, const char *arch, const char *method, const char *train,
                         const char *baseline)
{
    std::string p = g_root + "/" + name + ".ini";
    std::ofstream f(p);
    f << "[run]\nname = " << name << "\nseed = 3\nthreads = 1\n\n[data]\ndataset = mnistlike\n\n[model]\narch = "
      << arch << "\n";
    if (baseline) f << "pretrained = " << g_root << "/base-" << baseline << ".ini\n";
    f << "\n[train]\nepochs = 1\nbatch = 32\n" << (train[0] ? train : "lr = 0.005\nmomentum = 0.9\n");
    if (method[0]) f << "\n[method]\n" << method;
    return p;
}

class ModelFile : public ::testing::TestWithParam<Case> {
protected:
    static void SetUpTestSuite()
    {
        char tmpl[] = "/tmp/hx_model_file_XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr);
        g_root = tmpl;
        setenv("HARNESS_DATA_DIR", (g_root + "/data").c_str(), 1);
        setenv("HARNESS_RESULTS", (g_root + "/results").c_str(), 1);
        ASSERT_EQ(0, system(("mkdir -p " + g_root + "/data").c_str()));
        // MNIST's shape: 1x28x28, 10 classes
        ASSERT_EQ(0, synth_dataset_save((g_root + "/data").c_str(), "mnistlike", 1, 28, 28, 10, 600, 300, 9));
        write_config("base-lenet5", "lenet5", "", "", nullptr);
        write_config("base-lenet5-bn", "lenet5-bn", "", "", nullptr);
    }
    static void TearDownTestSuite() { (void)!system(("rm -rf " + g_root).c_str()); }
};

// What each method's layers must be packed as (at least one layer), and how many of the 300 test
// predictions the packed model may give differently from model.h5.
struct PackedWant {
    const char *name, *format;
    unsigned max_differ;
};
const PackedWant kPacked[] = {
    {"baseline", "f32", 0}, {"magnitude", "csr16", 0}, {"dc", "dc->csr16", 0}, {"sfp", "f32", 0},
    {"lottery", "f32", 0} /* 2 rounds leave 64 % of the weights: CSR would be larger */, {"inq", "pow2-", 0}, {"xnor", "binary", 0}, {"bwn", "binary", 0},
    {"ttq", "ternary", 0}, {"addernet", "f32(adder)", 0}, {"deepshift-q", "pow2-", 0}, {"deepshift-ps", "pow2-", 0},
    {"twn", "ternary", 0}, {"binaryconnect", "binary+bn", 0}, {"binaryconnect-stochastic", "binary+bn", 0},
    {"bnn", "binary", 0},
    // k-bit grids stored as k-bit codes, run on the int8 kernels with the input rounded to its grid;
    // PTQ's 8-bit layers are int8
    {"dorefa", "lut4->int8", 0}, {"pact", "lut2->int8", 0}, {"lsq", "lut2->int8", 0}, {"ptq", "int8", 0},
    {"l1-filter", "f32", 0}, {"slimming", "f32+bn", 0},
};

// The run's model.packed.h5 (written at its end) runs through deploy/'s kernels to the same
// predictions as model.h5, and result.json's packed size is what the file's payloads weigh.
void check_packed(const Case &c, const hx_run_result &res)
{
    char err[4096] = "";
    const PackedWant *want = nullptr;
    for (const PackedWant &p : kPacked)
        if (std::string(p.name) == c.name) want = &p;
    ASSERT_NE(want, nullptr);

    std::string packed = std::string(res.run_dir) + "/model.packed.h5";
    hx_packed_eval pe{};
    ASSERT_EQ(0, hx_packed_eval_run(packed.c_str(), "mnistlike", 256, 1, nullptr, &pe, err, sizeof err)) << err;
    ASSERT_TRUE(pe.have_float);
    printf("packed %s: top-1 %.2f%% (model.h5 %.2f%%), %u of %u predictions differ, %zu + %zu payload bytes\n", c.name,
           pe.acc, pe.float_acc, pe.differ, pe.n, pe.weight_bytes, pe.param_bytes);
    EXPECT_LE(pe.differ, want->max_differ) << c.name;
    EXPECT_NEAR(pe.acc, pe.float_acc, 100.0 * pe.differ / pe.n + 1e-9);

    char *text = nullptr;
    ASSERT_EQ(0, json_load((std::string(res.run_dir) + "/result.json").c_str(), 1 << 20, &text, err, sizeof err));
    double bytes = 0, wbytes = 0, fbytes = 0;
    EXPECT_EQ(JSON_OK, json_get_num(text, "footprint.packed_bytes", &bytes));
    EXPECT_EQ(JSON_OK, json_get_num(text, "footprint.packed_weight_bytes", &wbytes));
    EXPECT_EQ(JSON_OK, json_get_num(text, "footprint.packed_file_bytes", &fbytes));
    free(text);
    EXPECT_EQ(bytes, (double)(pe.weight_bytes + pe.param_bytes));
    EXPECT_EQ(wbytes, (double)pe.weight_bytes);
    struct stat st{};
    ASSERT_EQ(0, stat(packed.c_str(), &st));
    EXPECT_EQ(fbytes, (double)st.st_size);
    EXPECT_LT(bytes, fbytes);

    // the command prints the formats and the agreement
    std::string out = g_root + "/" + c.name + ".packed.out";
    std::string cmd = std::string(HARNESS_BIN) + " eval " + packed + " --data mnistlike > " + out + " 2>&1";
    EXPECT_EQ(0, system(cmd.c_str()));
    std::ifstream f(out);
    std::stringstream s;
    s << f.rdbuf();
    EXPECT_NE(std::string::npos, s.str().find(std::string("=") + want->format)) << s.str();
    char line[160];
    snprintf(line, sizeof line, "packed top-1 %.2f%%", pe.acc);
    EXPECT_NE(std::string::npos, s.str().find(line)) << s.str();
    snprintf(line, sizeof line, ": %u of %u predictions differ", pe.differ, pe.n);
    EXPECT_NE(std::string::npos, s.str().find(line)) << s.str();
}

TEST_P(ModelFile, EvaluatesToTheRunsFinalAccuracyAndLoss)
{
    const Case &c = GetParam();
    std::string cfg = write_config(c.name, c.arch, c.method, c.train, c.baseline);
    hx_run_result res{};
    char err[4096] = "";
    FILE *log = fopen("/dev/null", "w");
    hx_run_opts o{};
    o.quiet = 1;
    o.log = log;
    ASSERT_EQ(0, hx_experiment(cfg.c_str(), &o, &res, err, sizeof err)) << err;
    fclose(log);

    char *text = nullptr;
    ASSERT_EQ(0, json_load((std::string(res.run_dir) + "/result.json").c_str(), 1 << 20, &text, err, sizeof err));
    double acc = 0, loss = 0;
    ASSERT_EQ(JSON_OK, json_get_num(text, "final_acc", &acc));
    ASSERT_EQ(JSON_OK, json_get_num(text, "final_loss", &loss));
    free(text);

    ds_dataset ds;
    ASSERT_EQ(0, hx_dataset_open("mnistlike", &ds, nullptr, err, sizeof err)) << err;
    std::string model = std::string(res.run_dir) + "/model.h5";
    ckpt_expect want = {{ds.c, ds.h, ds.w}, ds.n_classes};
    nn_model *m = ckpt_load_expect(model.c_str(), &want, nullptr, nullptr, err, sizeof err);
    ASSERT_NE(m, nullptr) << err;
    nn_model_set_threads(m, 1);
    double got_loss = 0, got = hx_evaluate(m, &ds, &ds.test, 0, 256, &got_loss);
    EXPECT_EQ(acc, got);
    EXPECT_EQ(loss, got_loss);
    // what the method left in the file
    int xt = 0, wform = 0, adder = 0;
    for (int i = 0; i < m->n_nodes; i++) {
        xt += m->nodes[i].xt != nullptr;
        wform += m->nodes[i].wform.kind != NN_WFORM_DENSE;
        adder += m->nodes[i].kernel == NN_KERNEL_ADDER;
    }
    std::string name = c.name;
    const bool lowbit = name == "twn" || name.rfind("binaryconnect", 0) == 0 || name == "bnn" || name == "dorefa" ||
                        name == "pact" || name == "lsq";
    EXPECT_EQ(xt > 0, name == "xnor" || name.rfind("deepshift", 0) == 0 || name == "bnn" || name == "dorefa" ||
                          name == "pact" || name == "lsq" || name == "ptq")
        << name;
    EXPECT_EQ(wform > 0, name == "xnor" || name == "bwn" || name == "ttq" || name == "inq" || name == "dc" ||
                             name.rfind("deepshift", 0) == 0 || lowbit)
        << name;
    EXPECT_EQ(adder > 0, name == "addernet") << name;
    if (name == "sfp" || name == "l1-filter" || name == "slimming" || name == "ptq") {   // ptq: BN folded
        nn_model *full = nn_model_create(c.arch, m->in_dims, m->n_classes, err, sizeof err);
        ASSERT_NE(full, nullptr) << err;
        EXPECT_LT(m->n_params, full->n_params) << "the smaller network";
        nn_model_free(full);
    }
    nn_model_free(m);
    ds_free(&ds);

    // the command a user types prints the same numbers
    std::string out = g_root + "/" + name + ".out";
    std::string cmd = std::string(HARNESS_BIN) + " eval " + model + " --data mnistlike > " + out + " 2>&1";
    EXPECT_EQ(0, system(cmd.c_str()));
    std::ifstream f(out);
    std::stringstream s;
    s << f.rdbuf();
    char want_line[128];
    snprintf(want_line, sizeof want_line, "top-1 %.2f%%,", acc);   // its batch of 1000 sums the loss otherwise
    EXPECT_NE(std::string::npos, s.str().find(want_line)) << s.str() << "\nwanted: " << want_line;

    check_packed(c, res);
}

INSTANTIATE_TEST_SUITE_P(EveryMethod, ModelFile, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<Case> &i) {
                             std::string n = i.param.name;
                             for (char &ch : n)
                                 if (ch == '-') ch = '_';
                             return n;
                         });

}  // namespace
