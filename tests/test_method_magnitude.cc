// Magnitude pruning: exact global sparsity from one threshold, the mask held through
// fine-tuning, sparse accounting, and range checks on its options.
#include <gtest/gtest.h>
#include <cmath>
#include <string>
#include <vector>
extern "C" {
#include "methods/method.h"
#include "methods/prune.h"
}
#include "support/method_fixture.h"

namespace {

struct Saved { std::vector<std::vector<float>> w; };

void save_weights(mf_fixture *f, const char *ev, void *user)
{
    if (std::string(ev) != "round_begin") return;   // after setup pruned, before training
    Saved *s = static_cast<Saved *>(user);
    s->w.clear();
    for (int i = 0; i < f->run.model->n_nodes; i++) {
        const nn_node *n = &f->run.model->nodes[i];
        if (nn_is_weighted(n)) s->w.emplace_back(n->w, n->w + n->nw);
    }
}

TEST(Magnitude, GlobalThresholdExactSparsityMaskHeld)
{
    const method *m = method_find("magnitude");
    ASSERT_NE(m, nullptr);
    mf_fixture f;
    char err[512] = "";
    const char *kv[] = { "sparsity", "0.8", nullptr };
    ASSERT_EQ(0, mf_open(&f, "mlp", m, kv, 7, err, sizeof err)) << err;
    mf_pretrain(&f, 2);
    std::vector<float> before;            // |w| of all weights before pruning
    for (int i = 0; i < f.run.model->n_nodes; i++) {
        const nn_node *n = &f.run.model->nodes[i];
        if (nn_is_weighted(n)) for (size_t j = 0; j < n->nw; j++) before.push_back(std::fabs(n->w[j]));
    }
    Saved saved;
    f.observe = save_weights; f.user = &saved;
    ASSERT_EQ(0, mf_run(&f, err, sizeof err)) << err;

    size_t total = before.size(), pruned = 0, k = 0;
    float max_pruned = 0, min_kept = INFINITY;
    for (int i = 0; i < f.run.model->n_nodes; i++) {
        const nn_node *n = &f.run.model->nodes[i];
        if (!nn_is_weighted(n)) continue;
        ASSERT_NE(n->mask, nullptr);
        for (size_t j = 0; j < n->nw; j++, k++) {
            if (!n->mask[j]) { pruned++; max_pruned = std::fmax(max_pruned, before[k]); EXPECT_EQ(n->w[j], 0.0f); }
            else min_kept = std::fmin(min_kept, before[k]);
        }
    }
    EXPECT_EQ(pruned, (size_t)(0.8 * (double)total));
    EXPECT_LE(max_pruned, min_kept);      // one global threshold
    // fine-tuning moved the survivors
    size_t moved = 0, l = 0;
    for (int i = 0; i < f.run.model->n_nodes; i++) {
        const nn_node *n = &f.run.model->nodes[i];
        if (!nn_is_weighted(n)) continue;
        for (size_t j = 0; j < n->nw; j++) moved += n->mask[j] && n->w[j] != saved.w[l][j];
        l++;
    }
    EXPECT_GT(moved, (total - pruned) / 2);
    // accounting: sparse layers, fewer bytes, MACs of the nonzero weights
    size_t nz = 0;
    for (int i = 0; i < f.fp.n_layers; i++) {
        nz += f.fp.layers[i].nonzero;
        EXPECT_NEAR(f.fp.layers[i].macs_needed,
                    f.fp.layers[i].macs_dense * f.fp.layers[i].nonzero / f.fp.layers[i].n_weights, 1e-6);
    }
    EXPECT_EQ(nz, total - pruned);
    EXPECT_LT(f.fp.bytes, 0.5 * f.fp.bytes_fp32);
    EXPECT_GT(f.final_acc, 40.0);
    mf_close(&f);
}

TEST(Magnitude, RejectsSparsityOutsideRange)
{
    const method *m = method_find("magnitude");
    const opt_spec *sp = opt_find(m->options, m->n_options, "sparsity");
    ASSERT_NE(sp, nullptr);
    std::vector<char> cfg(m->config_size);
    char err[256] = "";
    for (const char *bad : { "1", "1.5", "-0.1", "x" }) {
        err[0] = 0;
        EXPECT_NE(0, opt_parse(sp, cfg.data(), bad, err, sizeof err)) << bad;
        EXPECT_NE(std::string(err).find("sparsity"), std::string::npos) << err;
    }
    EXPECT_EQ(0, opt_parse(sp, cfg.data(), "0.95", err, sizeof err)) << err;
}

}  // namespace
