// Lottery Ticket: per-layer pruning of the remaining weights, rewinding to the initial (or
// early) weights under the mask, the random-reinitialisation control in the same run, and
// rounds.csv.
#include <gtest/gtest.h>
#include <cmath>
#include <fstream>
#include <string>
#include <vector>
extern "C" {
#include "methods/method.h"
#include "methods/prune.h"
}
#include "support/method_fixture.h"

namespace {

struct Trace {
    std::vector<float> p0;                           // parameters to rewind to
    int capture_epoch_end = -1;                      // round-0 epoch whose end is the rewind point
    std::vector<std::vector<size_t>> kept;           // per round_begin: kept per layer
    std::vector<float> ticket_trained;               // after the last ticket round
    int rewinds_checked = 0, controls_checked = 0;
    std::vector<std::vector<uint8_t>> last_ticket_mask;
};

std::vector<uint8_t> all_masks(const nn_model *m)
{
    std::vector<uint8_t> v;
    for (int i = 0; i < m->n_nodes; i++)
        if (nn_is_weighted(&m->nodes[i])) v.insert(v.end(), m->nodes[i].mask, m->nodes[i].mask + m->nodes[i].nw);
    return v;
}

void trace(mf_fixture *f, const char *ev, void *user)
{
    Trace *t = static_cast<Trace *>(user);
    nn_model *m = f->run.model;
    std::string e = ev;
    int r = f->run.round;
    if (e == "setup" && t->capture_epoch_end < 0) t->p0.assign(m->params, m->params + m->n_params);
    if (e == "epoch_end" && r == 0 && f->run.epoch == t->capture_epoch_end)
        t->p0.assign(m->params, m->params + m->n_params);
    if (e == "round_begin") {
        std::vector<size_t> k;
        for (int i = 0; i < m->n_nodes; i++) if (nn_is_weighted(&m->nodes[i])) k.push_back(mt_kept(&m->nodes[i]));
        t->kept.push_back(k);
        bool control = r > 0 && r % 2 == 0;
        if (r > 0 && !control) {
            // ticket: every parameter is its rewind value, pruned weights zero
            for (int i = 0; i < m->n_nodes; i++) {
                const nn_node *n = &m->nodes[i];
                for (size_t j = 0; j < n->nw; j++) {
                    float want = (nn_is_weighted(n) && !n->mask[j]) ? 0.0f : t->p0[n->w_off + j];
                    ASSERT_EQ(n->w[j], want) << n->name << " " << j;
                }
                for (size_t j = 0; j < n->nb; j++) ASSERT_EQ(n->b[j], t->p0[n->b_off + j]);
            }
            t->rewinds_checked++;
            t->last_ticket_mask = { all_masks(m) };
        }
        if (control) {
            ASSERT_EQ(all_masks(m), t->last_ticket_mask[0]);   // same mask as its ticket
            size_t same = 0, kept = 0;
            for (int i = 0; i < m->n_nodes; i++) {
                const nn_node *n = &m->nodes[i];
                if (!nn_is_weighted(n)) continue;
                for (size_t j = 0; j < n->nw; j++) {
                    if (!n->mask[j]) { ASSERT_EQ(n->w[j], 0.0f); continue; }
                    kept++;
                    same += n->w[j] == t->p0[n->w_off + j];
                }
            }
            EXPECT_LT(same, kept / 20 + 1);               // a fresh draw, not the ticket's init
            t->controls_checked++;
        }
    }
    // the last ticket as trained (round_end already swaps in its control's fresh weights)
    if (e == "epoch_end" && r == f->run.n_rounds - 2 && f->run.epoch == f->run.round_epochs - 1)
        t->ticket_trained.assign(m->params, m->params + m->n_params);
}

TEST(Lottery, PrunesRewindsAndControls)
{
    const method *m = method_find("lottery");
    mf_fixture f;
    char err[512] = "";
    const char *kv[] = { "rounds", "3", "rate_fc", "0.2", "rate_out", "0.1", "init", "kaiming-normal", nullptr };
    ASSERT_EQ(0, mf_open(&f, "mlp", m, kv, 21, err, sizeof err)) << err;
    Trace t;
    f.observe = trace; f.user = &t;
    ASSERT_EQ(0, mf_run(&f, err, sizeof err)) << err;
    ASSERT_EQ(f.run.n_rounds, 5);                       // T0 T1 C1 T2 C2
    EXPECT_EQ(t.rewinds_checked, 2);
    EXPECT_EQ(t.controls_checked, 2);
    // kept per layer: each level removes round(rate x remaining)
    const size_t nw[] = { 64 * 24, 24 * 16, 16 * 4 };
    const double rate[] = { 0.2, 0.2, 0.1 };
    size_t want[3] = { nw[0], nw[1], nw[2] };
    const int level_of_round[] = { 0, 1, 1, 2, 2 };
    int level = 0;
    for (int r = 0; r < 5; r++) {
        while (level < level_of_round[r]) {
            for (int l = 0; l < 3; l++) want[l] -= (size_t)(rate[l] * (double)want[l] + 0.5);
            level++;
        }
        for (int l = 0; l < 3; l++) EXPECT_EQ(t.kept[r][l], want[l]) << "round " << r << " layer " << l;
    }
    // the run ends on the last ticket, not its control
    std::vector<float> fin(f.run.model->params, f.run.model->params + f.run.model->n_params);
    EXPECT_EQ(fin, t.ticket_trained);
    // rounds.csv: one row per round, kinds and remaining weights
    std::ifstream csv(std::string(f.dir) + "/rounds.csv");
    std::string line;
    std::vector<std::string> rows;
    while (std::getline(csv, line)) rows.push_back(line);
    ASSERT_EQ(rows.size(), 6u);
    const char *kinds[] = { "ticket", "ticket", "control", "ticket", "control" };
    for (int r = 0; r < 5; r++) EXPECT_NE(rows[r + 1].find(kinds[r]), std::string::npos) << rows[r + 1];
    double total = nw[0] + nw[1] + nw[2];
    char pct[32];
    snprintf(pct, sizeof pct, ",%.4f,", 100.0 * (want[0] + want[1] + want[2]) / total);
    EXPECT_NE(rows[4].find(pct), std::string::npos) << rows[4] << " lacks " << pct;
    mf_close(&f);
}

TEST(Lottery, RewindsToAnEarlyIteration)
{
    const method *m = method_find("lottery");
    mf_fixture f;
    char err[512] = "";
    const char *kv[] = { "rounds", "2", "control", "false", "rewind_iter", "8", nullptr };   // 8 steps = 1 epoch
    ASSERT_EQ(0, mf_open(&f, "mlp", m, kv, 2, err, sizeof err)) << err;
    Trace t;
    t.capture_epoch_end = 0;
    f.observe = trace; f.user = &t;
    ASSERT_EQ(0, mf_run(&f, err, sizeof err)) << err;
    EXPECT_EQ(f.run.n_rounds, 2);
    EXPECT_EQ(t.rewinds_checked, 1);
    mf_close(&f);
}

TEST(Lottery, RejectsBadOptions)
{
    const method *m = method_find("lottery");
    std::vector<char> cfg(m->config_size);
    const char *bad[][2] = { { "rounds", "0" }, { "rate_fc", "1" }, { "rate_conv", "-0.1" }, { "init", "zeros" } };
    for (auto &b : bad) {
        char err[256] = "";
        const opt_spec *sp = opt_find(m->options, m->n_options, b[0]);
        ASSERT_NE(sp, nullptr);
        EXPECT_NE(0, opt_parse(sp, cfg.data(), b[1], err, sizeof err)) << b[0];
        EXPECT_NE(std::string(err).find(b[0]), std::string::npos) << err;
    }
    mf_fixture f;
    char err[512] = "";
    const char *kv[] = { "rewind_iter", "1000", nullptr };
    ASSERT_EQ(0, mf_open(&f, "mlp", m, kv, 1, err, sizeof err)) << err;
    EXPECT_NE(0, mf_setup(&f, err, sizeof err));
    EXPECT_NE(std::string(err).find("rewind_iter"), std::string::npos) << err;
    mf_close(&f);
}

}  // namespace
