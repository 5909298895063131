// A throw-away workspace for end-to-end runs: a /tmp folder that HARNESS_DATA_DIR and
// HARNESS_RESULTS point into, holding a synthetic dataset "synth" (1x16x16, 4 classes), and the
// helpers the run tests share (config files, whole-file reads, a run with its error kept).
#ifndef TESTS_RUN_WORKSPACE_H
#define TESTS_RUN_WORKSPACE_H
#include <string>
extern "C" {
#include "harness/run.h"
}

// The bytes of a file ("" when it cannot be read).
std::string rw_slurp(const std::string &path);

class RunWorkspace {
  public:
    std::string root;      // the workspace folder
    std::string last_err;  // the error text of the last run ("" when it succeeded)

    // Creates /tmp/harness-<tag>-XXXXXX with data/synth.h5 of n_train/n_test images; 0 on success.
    int open(const char *tag, int n_train, int n_test);
    // Removes the folder and unsets the environment the runs read.
    void close();
    // Writes text to root/name; returns the path.
    std::string write(const std::string &name, const std::string &text) const;
    // One run of cfg through entry (hx_run or hx_experiment), its log to log_path or /dev/null.
    int run(int (*entry)(const char *, const hx_run_opts *, hx_run_result *, char *, size_t),
            const std::string &cfg, hx_run_opts o, hx_run_result *res, const std::string &log_path = "");
};

#endif
