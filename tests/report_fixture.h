/* Synthetic run folders for the report tests (table, plot): result.json, config.ini and
 * metrics.csv written the way harness run writes them. These are test inputs, not results. */
#ifndef TESTS_REPORT_FIXTURE_H
#define TESTS_REPORT_FIXTURE_H
#include <string>
#include <vector>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <sys/stat.h>
#include <unistd.h>

struct fx_layer { const char *name; int w_bits, a_bits; double weights; };

struct fx_run {
    std::string id, method = "none", mode, arch = "lenet5", dataset = "mnist";
    int seed = 1, epochs = 3;
    double acc = 99.0, bytes = 1000, bytes_fp32 = 32000, macs_dense = 1000, macs_needed = 1000;
    double packed_bytes = 0;   /* footprint.packed_bytes; 0 = left out, as in a run never exported */
    int agree_differ = -1, agree_images = 0;   /* result.json "agreement"; -1 = left out (older records) */
    std::vector<fx_layer> layers{{"conv1", 32, 32, 500}, {"fc1", 32, 32, 4000}};
    std::vector<double> curve;   /* test_acc per epoch for metrics.csv; empty = no metrics.csv */
    std::string recipe, code_version, pretrained_hash;   /* empty = left out, as in records from before them */
    std::vector<std::string> data_crcs;   /* data_sources' crc32s; empty = left out, as in older records */
};


inline std::string fx_tempdir(const char *tag)
{
    const char *t = getenv("TMPDIR");
    std::string tmpl = std::string(t && *t ? t : "/tmp") + "/hx_" + tag + "_XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    if (!mkdtemp(buf.data())) throw std::runtime_error("mkdtemp failed");
    return buf.data();
}

inline void fx_rmtree(const std::string &dir)
{
    if (dir.size() < 8 || dir.find("/hx_") == std::string::npos) return;   /* only our own folders */
    std::string cmd = "rm -rf '" + dir + "'";
    if (system(cmd.c_str()) != 0) fprintf(stderr, "could not remove %s\n", dir.c_str());
}

inline void fx_write(const std::string &path, const std::string &text)
{
    std::ofstream f(path, std::ios::binary);
    if (!f) throw std::runtime_error("cannot write " + path);
    f << text;
}

inline std::string fx_read(const std::string &path)
{
    std::ifstream f(path, std::ios::binary);
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
}

inline void fx_write_run(const std::string &root, const fx_run &r)
{
    std::string dir = root + "/" + r.id;
    mkdir(dir.c_str(), 0777);
    std::ostringstream j;
    j.precision(17);
    j << "{\n\"run_id\": \"" << r.id << "\",\n\"config\": \"configs/x.ini\",\n\"config_hash\": \"0123\",\n";
    if (!r.recipe.empty()) j << "\"recipe_hash\": \"" << r.recipe << "\",\n";
    if (!r.code_version.empty()) j << "\"code_version\": \"" << r.code_version << "\",\n";
    if (!r.pretrained_hash.empty()) j << "\"pretrained_hash\": \"" << r.pretrained_hash << "\",\n";
    if (!r.data_crcs.empty()) {
        j << "\"data_sources\": [";
        for (size_t i = 0; i < r.data_crcs.size(); i++)
            j << (i ? ", " : "") << "{\"file\": \"f" << i << "\", \"bytes\": 1, \"crc32\": \"" << r.data_crcs[i] << "\"}";
        j << "],\n";
    }
    j
      << "\"method\": \"" << r.method << "\",\n\"method_title\": \""
      << (r.method == "none" ? "Full precision" : r.method == "xnor" ? "XNOR-Net" : r.method) << "\",\n"
      << "\"arch\": \"" << r.arch << "\",\n\"dataset\": \"" << r.dataset << "\",\n\"seed\": " << r.seed
      << ",\n\"threads\": 2,\n\"epochs\": " << r.epochs << ",\n\"rounds\": 1,\n\"final_acc\": " << r.acc
      << ",\n\"final_loss\": 0.1,\n\"best_acc\": " << r.acc << ",\n\"best_epoch\": 1,\n\"wall_s\": 1,\n"
      << "\"train_s\": 1,\n\"images_per_s\": 100,\n\"params\": 10,\n\"weights\": 10,\n\"nonzero_weights\": 10,\n"
      << "\"peak_rss_mib\": 10,\n\"footprint\": {\n\"bytes_fp32\": " << r.bytes_fp32 << ",\n\"bytes\": " << r.bytes
      << ",\n\"compression\": " << r.bytes_fp32 / r.bytes << ",\n\"macs_dense\": " << r.macs_dense
      << ",\n\"macs_needed\": " << r.macs_needed << ",\n\"layers\": [\n";
    for (size_t i = 0; i < r.layers.size(); i++) {
        const fx_layer &l = r.layers[i];
        j << (i ? ",\n" : "") << "{\"name\": \"" << l.name << "\", \"w_bits\": " << l.w_bits << ", \"a_bits\": "
          << l.a_bits << ", \"weights\": " << l.weights << ", \"nonzero\": " << l.weights
          << ", \"bytes\": 1, \"macs_dense\": 1, \"macs_needed\": 1}";
    }
    j << "\n],\n\"extra\": {}";
    if (r.packed_bytes > 0) j << ",\n\"packed_bytes\": " << r.packed_bytes;
    j << "\n}";
    if (r.agree_differ >= 0)
        j << ",\n\"agreement\": {\"packed_acc\": 1, \"float_acc\": 1, \"differ\": " << r.agree_differ
          << ", \"images\": " << r.agree_images << "}";
    j << ",\n\"versions\": {\"harness\": \"0.1.0\"}\n}\n";
    fx_write(dir + "/result.json", j.str());
    std::string ini = "[run]\nname = " + r.id + "\nseed = " + std::to_string(r.seed) + "\n\n[method]\nname = " +
                      (r.method == "none" ? "" : r.method) + "\n";
    if (!r.mode.empty()) ini += "mode = " + r.mode + "\n";
    fx_write(dir + "/config.ini", ini);
    if (!r.curve.empty()) {
        std::ostringstream m;
        m << "round,epoch,lr,train_loss,train_acc,val_loss,val_acc,test_loss,test_acc,nonzero_weights,images_per_s\n";
        for (size_t e = 0; e < r.curve.size(); e++)
            m << "1," << e + 1 << ",0.01,0.5,90.0,,,0.4," << r.curve[e] << ",100,1000.0\n";
        fx_write(dir + "/metrics.csv", m.str());
    }
}

/* A speedup.json as harness eval --record writes it, by hand: speedups b64 (batch 64) and b1
 * (batch 1), the fp32 medians 1000 images/s, measured on cpu with threads. */
inline void fx_write_speedup(const std::string &root, const std::string &id, double b64, double b1,
                             const std::string &cpu = "Test CPU", int threads = 2)
{
    std::ostringstream j;
    j.precision(17);
    j << "{\n\"run_id\": \"" << id << "\",\n\"dataset\": \"mnist\",\n\"packed_model\": \"model.packed.h5\",\n"
      << "\"float_model\": \"model.h5\",\n\"unit\": \"images_per_s\",\n\"cpu\": \"" << cpu << "\",\n"
      << "\"isa\": \"avx2\",\n\"threads\": " << threads << ",\n\"repetitions\": 5,\n"
      << "\"date\": \"2026-01-01T00:00:00Z\",\n\"code_version\": \"0.1.0+src.1\",\n\"git\": \"\"";
    const char *keys[] = {"latency", "throughput"};
    const int batch[] = {1, 64};
    const double ratio[] = {b1, b64};
    for (int p = 0; p < 2; p++) {
        double f = 1000, m = f * ratio[p];
        j << ",\n\"" << keys[p] << "\": {\"batch\": " << batch[p] << ", \"packed\": {\"min\": " << m * 0.9
          << ", \"median\": " << m << ", \"max\": " << m * 1.1 << "}, \"fp32\": {\"min\": 900, \"median\": " << f
          << ", \"max\": 1100}, \"speedup\": " << m / f << "}";
    }
    j << "\n}\n";
    fx_write(root + "/" + id + "/speedup.json", j.str());
}

/* The cells (trimmed) of the Markdown table row of doc that starts with "| " + prefix; empty when
 * there is none. */
inline std::vector<std::string> fx_md_row(const std::string &doc, const std::string &prefix)
{
    size_t at = doc.find("| " + prefix);
    if (at == std::string::npos) return {};
    std::string line = doc.substr(at + 1, doc.find('\n', at) - at - 2);
    std::vector<std::string> cells;
    std::stringstream in(line);
    for (std::string c; std::getline(in, c, '|');) {
        size_t b = c.find_first_not_of(' '), e = c.find_last_not_of(' ');
        cells.push_back(b == std::string::npos ? "" : c.substr(b, e - b + 1));
    }
    return cells;
}

#endif
