// Deep Compression: k-means, Huffman and the packed format on their own, then the whole
// method on a tiny LeNet: threshold pruning, weight sharing kept through centroid fine-tuning,
// lossless packing and consistent size accounting.
#include <gtest/gtest.h>
#include <cmath>
#include <fstream>
#include <set>
#include <string>
#include <vector>
extern "C" {
#include "methods/deep_compression_pack.h"
#include "methods/footprint.h"
#include "methods/huffman.h"
#include "methods/kmeans.h"
#include "methods/method.h"
}
#include "support/method_fixture.h"

namespace {

TEST(DcKmeans, LinearInitAndNearestAssignment)
{
    nn_rng r;
    nn_rng_seed(&r, 3, 0);
    std::vector<float> x;
    for (float c : { -2.0f, 0.5f, 3.0f })
        for (int i = 0; i < 200; i++) x.push_back(c + 0.05f * nn_rng_normal(&r));
    float cent[256];
    std::vector<uint8_t> a(x.size());
    // zero iterations leave the linear grid between min and max
    mt_kmeans_1d(x.data(), x.size(), 4, 0, cent, a.data());
    float lo = *std::min_element(x.begin(), x.end()), hi = *std::max_element(x.begin(), x.end());
    EXPECT_FLOAT_EQ(cent[0], lo);
    EXPECT_FLOAT_EQ(cent[3], hi);
    EXPECT_NEAR(cent[1], lo + (hi - lo) / 3, 1e-5);
    int it = mt_kmeans_1d(x.data(), x.size(), 3, 100, cent, a.data());
    EXPECT_LT(it, 100);
    std::vector<float> c(cent, cent + 3);
    std::sort(c.begin(), c.end());
    EXPECT_NEAR(c[0], -2.0f, 0.02f); EXPECT_NEAR(c[1], 0.5f, 0.02f); EXPECT_NEAR(c[2], 3.0f, 0.02f);
    for (size_t j = 0; j < x.size(); j++)       // converged: every value at its nearest centroid
        for (int k = 0; k < 3; k++) EXPECT_LE(std::fabs(x[j] - cent[a[j]]), std::fabs(x[j] - cent[k]) + 1e-6f);
}

TEST(DcHuffman, RoundTripAndKraft)
{
    nn_rng r;
    nn_rng_seed(&r, 5, 0);
    for (int n_sym : { 1, 2, 32, 256 }) {
        std::vector<uint32_t> s(3000);
        uint64_t freq[256] = { 0 };
        for (auto &v : s) { v = (uint32_t)std::min<double>(n_sym - 1, std::fabs(nn_rng_normal(&r)) * n_sym / 8); freq[v]++; }
        uint8_t len[256];
        uint64_t code[256];
        mt_huff_lengths(freq, n_sym, len);
        mt_huff_codes(len, n_sym, code);
        double kraft = 0;
        int used = 0;
        for (int k = 0; k < n_sym; k++) if (len[k]) { kraft += std::ldexp(1.0, -len[k]); used++; }
        if (used > 1) { EXPECT_DOUBLE_EQ(kraft, 1.0) << n_sym; }   // a full prefix code
        uint64_t bits = mt_huff_bits(freq, len, n_sym);
        std::vector<uint8_t> buf(bits / 8 + 1, 0);
        EXPECT_EQ(bits, mt_huff_encode(s.data(), s.size(), len, code, buf.data()));
        std::vector<uint32_t> back(s.size());
        ASSERT_EQ(0, mt_huff_decode(buf.data(), bits, len, n_sym, back.data(), back.size()));
        EXPECT_EQ(back, s);
        if (used > 1) { EXPECT_NE(0, mt_huff_decode(buf.data(), bits - 1, len, n_sym, back.data(), back.size())); }
    }
}

TEST(DcPack, SparseLayerWithFillersDecodes)
{
    nn_rng r;
    nn_rng_seed(&r, 9, 0);
    const size_t n = 5000;
    std::vector<uint8_t> mask(n), assign(n);
    float cent[7];
    for (int k = 0; k < 7; k++) cent[k] = 0.1f * (k - 3) + 0.01f;
    for (size_t j = 0; j < n; j++) {
        mask[j] = nn_rng_uniform(&r) < (j < 2000 ? 0.02f : 0.5f);   // long gaps early
        assign[j] = (uint8_t)nn_rng_below(&r, 7);
    }
    size_t kept = 0, entries = mt_sparse_entries(nullptr, mask.data(), n, 3, nullptr, &kept);
    ASSERT_GT(entries, kept);                   // 3-bit gaps need fillers here
    mt_dc_packed p;
    ASSERT_EQ(0, mt_dc_pack(mask.data(), assign.data(), n, cent, 7, 1, 3, 3, &p));
    EXPECT_EQ(p.entries, entries);
    std::vector<float> w(n);
    ASSERT_EQ(0, mt_dc_unpack(&p, w.data()));
    for (size_t j = 0; j < n; j++) ASSERT_EQ(w[j], mask[j] ? cent[assign[j]] : 0.0f) << j;
    EXPECT_LE(mt_dc_bytes_huffman(&p, 0), mt_dc_bytes_quantized(&p, 0) + 6.0 * (8 + 8) / 8);
    EXPECT_LT(mt_dc_bytes_quantized(&p, 0), mt_dc_bytes_pruned(&p, 0));
    mt_dc_packed_free(&p);
}

struct Watch {
    std::vector<std::vector<float>> w0;         // weights at setup
    std::vector<std::vector<uint8_t>> mask1;    // mask after pruning
    std::vector<std::vector<float>> q0, q1;     // effective weights at quant start / end
    int bits[8];
};

std::vector<float> effective(const nn_node *n)
{
    std::vector<float> e(n->w, n->w + n->nw);
    if (n->wt) n->wt->forward(n->wt_ctx, n, n->w, e.data(), n->nw);
    if (n->mask) for (size_t j = 0; j < n->nw; j++) if (!n->mask[j]) e[j] = 0;
    return e;
}

void watch(mf_fixture *f, const char *ev, void *user)
{
    Watch *w = static_cast<Watch *>(user);
    std::string e = ev;
    const nn_model *m = f->run.model;
    for (int i = 0, l = 0; i < m->n_nodes; i++) {
        const nn_node *n = &m->nodes[i];
        if (!nn_is_weighted(n)) continue;
        if (e == "setup") w->w0.emplace_back(n->w, n->w + n->nw);
        if (e == "round_begin" && f->run.round == 0) w->mask1.emplace_back(n->mask, n->mask + n->nw);
        if (e == "round_begin" && f->run.round == 1) w->q0.push_back(effective(n));
        if (e == "round_end" && f->run.round == 1) w->q1.push_back(effective(n));
        l++;
    }
}

size_t distinct_nonzero(const std::vector<float> &v)
{
    std::set<float> s;
    for (float x : v) if (x != 0) s.insert(x);
    return s.size();
}

TEST(DeepCompression, PruneShareFineTunePackAccount)
{
    const method *m = method_find("deep-compression");
    ASSERT_NE(m, nullptr);
    mf_fixture f;
    char err[512] = "";
    const char *kv[] = { "quality_conv", "0.5", "quality_fc", "1.2", "bits_conv", "3", "bits_fc", "2",
                         "index_bits_conv", "3", "index_bits_fc", "2", nullptr };
    ASSERT_EQ(0, mf_open(&f, "lenet", m, kv, 11, err, sizeof err)) << err;
    mf_pretrain(&f, 3);
    double acc_base = mf_evaluate(&f, f.run.model, nullptr);
    Watch w;
    f.observe = watch; f.user = &w;
    ASSERT_EQ(0, mf_setup(&f, err, sizeof err)) << err;
    ASSERT_EQ(f.run.n_rounds, 2);
    mf_train(&f);
    ASSERT_EQ(0, mf_finish(&f, err, sizeof err)) << err;

    const double q[] = { 0.5, 0.5, 1.2, 1.2 };
    const int bits[] = { 3, 3, 2, 2 };
    const nn_model *md = f.run.model;
    int l = 0;
    for (int i = 0; i < md->n_nodes; i++) {
        const nn_node *n = &md->nodes[i];
        if (!nn_is_weighted(n)) continue;
        // mask = |w| >= quality x std of the layer's weights at setup
        double s = 0, s2 = 0;
        for (float v : w.w0[l]) { s += v; s2 += (double)v * v; }
        double mean = s / n->nw, sd = std::sqrt(s2 / n->nw - mean * mean);
        float thr = (float)(q[l] * sd);
        size_t kept = 0;
        for (size_t j = 0; j < n->nw; j++) {
            EXPECT_EQ(w.mask1[l][j], std::fabs(w.w0[l][j]) >= thr ? 1 : 0) << n->name << " " << j;
            kept += w.mask1[l][j];
        }
        EXPECT_LT(kept, n->nw);
        // weight sharing: at most 2^bits values, before and after fine-tuning and in the final model
        EXPECT_LE(distinct_nonzero(w.q0[l]), (size_t)1 << bits[l]) << n->name;
        EXPECT_LE(distinct_nonzero(w.q1[l]), (size_t)1 << bits[l]) << n->name;
        std::vector<float> fin(n->w, n->w + n->nw);
        EXPECT_EQ(n->wt, nullptr);              // deployable: values stored directly
        EXPECT_EQ(fin, w.q1[l]) << n->name;
        EXPECT_NE(w.q0[l], w.q1[l]) << n->name << ": centroids did not move";
        // members of one cluster stay equal: same value before => same value after
        for (size_t j = 0; j < n->nw; j++)
            for (size_t k = j + 1; k < std::min<size_t>(n->nw, j + 40); k++)
                if (w.q0[l][j] == w.q0[l][k]) { EXPECT_EQ(w.q1[l][j], w.q1[l][k]); }
        for (size_t j = 0; j < n->nw; j++) { if (!w.mask1[l][j]) EXPECT_EQ(fin[j], 0.0f); }
        l++;
    }
    // accounting: the stages shrink in order, the footprint is the Huffman stage
    auto extra = [&](const char *k) {
        for (int i = 0; i < f.fp.n_extras; i++) if (std::string(f.fp.extra_key[i]) == k) return f.fp.extra_val[i];
        ADD_FAILURE() << "missing extra " << k;
        return 0.0;
    };
    double fp32 = extra("dc.bytes_fp32"), p = extra("dc.bytes_pruned"), qz = extra("dc.bytes_quantized"),
           h = extra("dc.bytes_huffman");
    EXPECT_DOUBLE_EQ(fp32, f.fp.bytes_fp32);
    EXPECT_LT(p, fp32);
    EXPECT_LT(qz, p);
    EXPECT_LE(h, qz);
    EXPECT_NEAR(f.fp.bytes, h, 1e-6);
    EXPECT_NEAR(extra("dc.ratio_huffman"), fp32 / h, 1e-9);
    EXPECT_EQ(f.fp.layers[0].w_bits, 3);
    EXPECT_EQ(f.fp.layers[3].w_bits, 2);
    std::ifstream csv(std::string(f.dir) + "/dc_layers.csv");
    std::string line;
    int lines = 0;
    while (std::getline(csv, line)) lines++;
    EXPECT_EQ(lines, 1 + 4 + 1);                // header, layers, total
    EXPECT_GT(f.final_acc, acc_base - 25.0);    // compressed, not destroyed
    mf_close(&f);
}

TEST(DeepCompression, IterativePruningTightensTheMask)
{
    const method *m = method_find("deep-compression");
    mf_fixture f;
    char err[512] = "";
    const char *kv[] = { "prune_rounds", "3", "quality_fc", "1.0", nullptr };
    ASSERT_EQ(0, mf_open(&f, "mlp", m, kv, 4, err, sizeof err)) << err;
    f.epochs = 1;
    mf_pretrain(&f, 2);
    ASSERT_EQ(0, mf_run(&f, err, sizeof err)) << err;
    EXPECT_EQ(f.run.n_rounds, 4);
    size_t nz = 0, total = 0;
    for (int i = 0; i < f.fp.n_layers; i++) { nz += f.fp.layers[i].nonzero; total += f.fp.layers[i].n_weights; }
    EXPECT_LT(nz, total * 6 / 10);              // quality 1 x std removes well over a third
    mf_close(&f);
}

TEST(DeepCompression, RejectsBadOptions)
{
    const method *m = method_find("deep-compression");
    std::vector<char> cfg(m->config_size);
    const char *bad[][2] = { { "bits_fc", "0" }, { "bits_conv", "9" }, { "prune_rounds", "0" },
                             { "quality_conv", "-1" }, { "retrain_lr_scale", "0" }, { "index_bits_fc", "0" },
                             { "quality", "1, -2" } };
    for (auto &b : bad) {
        char err[256] = "";
        const opt_spec *sp = opt_find(m->options, m->n_options, b[0]);
        ASSERT_NE(sp, nullptr) << b[0];
        EXPECT_NE(0, opt_parse(sp, cfg.data(), b[1], err, sizeof err)) << b[0] << " = " << b[1];
        EXPECT_NE(std::string(err).find(b[0]), std::string::npos) << err;
    }
    // a per-layer quality list must match the model
    mf_fixture f;
    char err[512] = "";
    const char *kv[] = { "quality", "1, 1", nullptr };
    ASSERT_EQ(0, mf_open(&f, "lenet", m, kv, 1, err, sizeof err)) << err;
    EXPECT_NE(0, mf_setup(&f, err, sizeof err));
    EXPECT_NE(std::string(err).find("quality"), std::string::npos) << err;
    mf_close(&f);
}

}  // namespace
