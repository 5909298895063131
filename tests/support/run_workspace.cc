#include "support/run_workspace.h"
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <sys/stat.h>
#include "support/synth_data.h"

std::string rw_slurp(const std::string &path)
{
    std::ifstream f(path, std::ios::binary);
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
}

int RunWorkspace::open(const char *tag, int n_train, int n_test)
{
    std::string tmpl = std::string("/tmp/harness-") + tag + "-XXXXXX";
    if (!mkdtemp(&tmpl[0])) return -1;
    root = tmpl;
    setenv("HARNESS_DATA_DIR", (root + "/data").c_str(), 1);
    setenv("HARNESS_RESULTS", (root + "/results").c_str(), 1);
    unsetenv("HARNESS_STOP_AFTER_EPOCHS");
    if (mkdir((root + "/data").c_str(), 0777) != 0) return -1;
    return synth_dataset_save((root + "/data").c_str(), "synth", 1, 16, 16, 4, n_train, n_test, 5);
}

void RunWorkspace::close()
{
    unsetenv("HARNESS_STOP_AFTER_EPOCHS");
    if (root.empty()) return;
    std::string cmd = "rm -rf '" + root + "'";
    (void)system(cmd.c_str());
    root.clear();
}

std::string RunWorkspace::write(const std::string &name, const std::string &text) const
{
    std::string p = root + "/" + name;
    std::ofstream(p) << text;
    return p;
}

int RunWorkspace::run(int (*entry)(const char *, const hx_run_opts *, hx_run_result *, char *, size_t),
                      const std::string &cfg, hx_run_opts o, hx_run_result *res, const std::string &log_path)
{
    FILE *log = fopen(log_path.empty() ? "/dev/null" : log_path.c_str(), "w");
    o.quiet = 1;
    o.log = log;
    char err[4096] = "";
    int rc = entry(cfg.c_str(), &o, res, err, sizeof err);
    if (log) fclose(log);
    last_err = err;
    return rc;
}
