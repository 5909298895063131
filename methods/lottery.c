/* Lottery Ticket Hypothesis (Frankle & Carbin, ICLR 2019): iterative magnitude pruning with
 * rewinding. Each ticket round trains; its round_end prunes, per layer, a fraction of the
 * weights that layer still has (rate_conv / rate_fc, rate_out for the output layer) and
 * rewinds the survivors, and every other parameter, to their values at initialisation (or at
 * step `rewind_iter` of round 0). With `control`, each pruned level also gets the paper's
 * random-reinitialisation control in the same run: the same mask trained from a fresh draw
 * of the initialisation; pruning then continues from the ticket, not the control.
 * Rounds: T0 (dense), T1, C1, T2, C2, ...; rounds.csv gets one row per round. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/fileio.h"
#include "methods/footprint.h"
#include "methods/method.h"
#include "methods/prune.h"

typedef struct {
    int rounds;                 /* ticket rounds: the dense one plus rounds-1 pruned levels */
    double rate_conv, rate_fc, rate_out;
    int rewind_iter;
    int control;
    int init;                   /* nn_init of the control's fresh weights */
    int index_bits;
} lth_config;

#define F(field) offsetof(lth_config, field)
static const opt_spec options[] = {
    { "rounds", OPT_INT, F(rounds), "5", 1, 100, 0, 0, NULL,
      "ticket rounds (pruning levels, the dense network included)" },
    { "rate_conv", OPT_FLOAT, F(rate_conv), "0.1", 0, 1, 0, 1, NULL,
      "fraction of a conv layer's remaining weights pruned per level (paper: 0.1; conv-6 0.15)" },
    { "rate_fc", OPT_FLOAT, F(rate_fc), "0.2", 0, 1, 0, 1, NULL,
      "fraction of a linear layer's remaining weights pruned per level (paper: 0.2)" },
    { "rate_out", OPT_FLOAT, F(rate_out), "0.1", 0, 1, 0, 1, NULL,
      "same for the output layer (paper: half of rate_fc)" },
    { "rewind_iter", OPT_INT, F(rewind_iter), "0", 0, 100000000, 0, 0, NULL,
      "rewind to the weights after this many steps of round 0 (0 = initialisation)" },
    { "control", OPT_BOOL, F(control), "true", 0, 0, 0, 0, NULL,
      "also train each pruned mask from a fresh random initialisation" },
    { "init", OPT_CHOICE, F(init), "glorot-normal", 0, 0, 0, 0,
      "kaiming-normal|kaiming-uniform|glorot-normal|glorot-uniform",
      "initialisation of the control's fresh weights: set it to [model] init" },
    { "index_bits", OPT_INT, F(index_bits), "5", 1, 16, 0, 0, NULL,
      "bits per relative index in the reported sparse size" },
};
#undef F
/* The choice order above is nn_init's order. */
_Static_assert(NN_INIT_KAIMING_NORMAL == 0 && NN_INIT_KAIMING_UNIFORM == 1 &&
               NN_INIT_GLOROT_NORMAL == 2 && NN_INIT_GLOROT_UNIFORM == 3, "init choices follow nn_init");

typedef struct {
    lth_config cfg;
    int n_layers, nodes[NN_MAX_NODES];
    float *rewind_p, *rewind_s;     /* parameters / BN statistics to rewind to */
    float *ticket_p, *ticket_s;     /* trained ticket, kept while its control trains */
    int have_rewind;
    double *epoch_acc; int epoch_cap;
    char *csv; size_t csv_len;      /* rounds.csv so far, rewritten whole (atomically) every round */
} lth_state;

static int level_of(const lth_config *c, int round) { return c->control ? (round + 1) / 2 : round; }
static int is_control(const lth_config *c, int round) { return c->control && round > 0 && round % 2 == 0; }

static void free_state(void *state)
{
    lth_state *s = state;
    if (!s) return;
    free(s->rewind_p); free(s->rewind_s); free(s->ticket_p); free(s->ticket_s); free(s->epoch_acc);
    free(s->csv);
    free(s);
}

static void snapshot(const nn_model *m, float *p, float *st)
{
    memcpy(p, m->params, m->n_params * sizeof *p);
    if (m->n_state) memcpy(st, m->state, m->n_state * sizeof *st);
}

static void restore(nn_model *m, const float *p, const float *st)
{
    memcpy(m->params, p, m->n_params * sizeof *p);
    if (m->n_state) memcpy(m->state, st, m->n_state * sizeof *st);
    nn_apply_masks(m);
}

static int setup(mt_run *run, const void *config, void **state, char *err, size_t errlen)
{
    const lth_config *c = config;
    nn_model *m = run->model;
    long steps = (long)run->epochs * run->steps_per_epoch;
    if (c->rewind_iter > 0 && run->steps_per_epoch > 0 && c->rewind_iter > steps) {
        snprintf(err, errlen, "rewind_iter = %d: round 0 has only %ld steps", c->rewind_iter, steps);
        return 1;
    }
    lth_state *s = calloc(1, sizeof *s);
    if (!s) { snprintf(err, errlen, "out of memory"); return 1; }
    *state = s;
    s->cfg = *c;
    size_t np = m->n_params ? m->n_params : 1, ns = m->n_state ? m->n_state : 1;
    s->rewind_p = malloc(np * sizeof(float)); s->rewind_s = malloc(ns * sizeof(float));
    s->ticket_p = malloc(np * sizeof(float)); s->ticket_s = malloc(ns * sizeof(float));
    if (!s->rewind_p || !s->rewind_s || !s->ticket_p || !s->ticket_s) {
        snprintf(err, errlen, "out of memory");
        return 1;
    }
    s->n_layers = mt_weighted_nodes(m, s->nodes);
    for (int i = 0; i < s->n_layers; i++) nn_node_mask(m, &m->nodes[s->nodes[i]]);
    if (c->rewind_iter == 0) { snapshot(m, s->rewind_p, s->rewind_s); s->have_rewind = 1; }
    run->n_rounds = c->control ? 2 * c->rounds - 1 : c->rounds;

    return 0;
}

static void round_begin(mt_run *run, void *state)
{
    lth_state *s = state;
    if (s->epoch_cap < run->round_epochs) {
        free(s->epoch_acc);
        s->epoch_acc = calloc((size_t)run->round_epochs, sizeof *s->epoch_acc);
        s->epoch_cap = s->epoch_acc ? run->round_epochs : 0;
    }
    for (int e = 0; e < s->epoch_cap; e++) s->epoch_acc[e] = 0.0;
}

static void step_end(mt_run *run, void *state)
{
    lth_state *s = state;
    if (!s->have_rewind && run->round == 0 && run->step == s->cfg.rewind_iter) {
        snapshot(run->model, s->rewind_p, s->rewind_s);
        s->have_rewind = 1;
    }
}

/* The runner's evaluation follows epoch_end; this one records the test accuracy per epoch so
 * the early-stopping epoch's accuracy can be reported. */
static void epoch_end(mt_run *run, void *state)
{
    lth_state *s = state;
    if (run->evaluate && run->epoch < s->epoch_cap)
        s->epoch_acc[run->epoch] = run->evaluate(run, run->model, NULL);
}

static double remaining_pct(const nn_model *m, const lth_state *s)
{
    size_t kept = 0, total = 0;
    for (int i = 0; i < s->n_layers; i++) {
        kept += mt_kept(&m->nodes[s->nodes[i]]);
        total += m->nodes[s->nodes[i]].nw;
    }
    return total ? 100.0 * (double)kept / (double)total : 0.0;
}

static void prune_level(nn_model *m, const lth_state *s)
{
    for (int i = 0; i < s->n_layers; i++) {
        const nn_node *n = &m->nodes[s->nodes[i]];
        double rate = i == s->n_layers - 1 ? s->cfg.rate_out : n->kind == NN_CONV ? s->cfg.rate_conv : s->cfg.rate_fc;
        size_t count = (size_t)(rate * (double)mt_kept(n) + 0.5);
        mt_prune_smallest(m, &s->nodes[i], 1, count);
    }
}

static const char csv_header[] = "round,level,kind,weights_remaining_pct,test_acc_end,best_test_acc,best_epoch,"
                                 "early_stop_epoch,early_stop_iter,early_stop_test_acc\n";

/* Adds this round's row to rounds.csv and writes the whole file again, atomically: a reader
 * (harness plot while the run goes on) sees the rows so far, never half a row. */
static void write_row(const mt_run *run, lth_state *s)
{
    if (!run->run_dir) return;
    int e = run->round_min_val_epoch;
    double es_acc = e >= 0 && e < s->epoch_cap ? s->epoch_acc[e] : 0.0;
    char row[256];
    int n = snprintf(row, sizeof row, "%d,%d,%s,%.4f,%.2f,%.2f,%d,%d,%ld,%.2f\n", run->round,
                     level_of(&s->cfg, run->round), is_control(&s->cfg, run->round) ? "control" : "ticket",
                     remaining_pct(run->model, s), run->round_test_acc, run->round_best_acc, run->round_best_epoch,
                     e, (long)(e + 1) * run->steps_per_epoch, es_acc);
    size_t head = s->csv ? 0 : sizeof csv_header - 1;
    char *grown = n > 0 && (size_t)n < sizeof row ? realloc(s->csv, s->csv_len + head + (size_t)n + 1) : NULL;
    if (!grown) { fprintf(run->log, "lottery: out of memory for rounds.csv\n"); return; }
    if (head) memcpy(grown, csv_header, head);
    memcpy(grown + s->csv_len + head, row, (size_t)n + 1);
    s->csv = grown;
    s->csv_len += head + (size_t)n;
    char path[4096], err[4200];
    snprintf(path, sizeof path, "%s/rounds.csv", run->run_dir);
    if (fio_write_atomic(path, s->csv, s->csv_len, err, sizeof err) != 0) fprintf(run->log, "lottery: %s\n", err);
}

static void round_end(mt_run *run, void *state)
{
    lth_state *s = state;
    nn_model *m = run->model;
    const lth_config *c = &s->cfg;
    write_row(run, s);
    int r = run->round, control = is_control(c, r);
    fprintf(run->log, "lottery: level %d %s at %.2f%% weights: test acc %.2f%% (best %.2f%%)\n",
            level_of(c, r), control ? "control" : "ticket", remaining_pct(m, s), run->round_test_acc,
            run->round_best_acc);
    if (r == run->n_rounds - 1) {           /* the run's model is the last ticket */
        if (control) restore(m, s->ticket_p, s->ticket_s);
        return;
    }
    if (is_control(c, r + 1)) {             /* train this mask from a fresh draw next */
        snapshot(m, s->ticket_p, s->ticket_s);
        nn_model_init(m, (nn_init)c->init, run->rng);
        return;
    }
    if (control) restore(m, s->ticket_p, s->ticket_s);
    prune_level(m, s);
    if (!s->have_rewind) {                  /* rewind_iter beyond round 0: use where it ended */
        fprintf(run->log, "lottery: step %d never reached; rewinding to the end of round 0\n", c->rewind_iter);
        snapshot(m, s->rewind_p, s->rewind_s);
        s->have_rewind = 1;
    }
    restore(m, s->rewind_p, s->rewind_s);
}

/* The rewind point once taken, the trained ticket while its control trains, this round's test
 * accuracy per epoch (early stopping's accuracy) and rounds.csv so far. The masks are the model's. */
static int checkpoint(mt_run *run, void *state, mt_ckpt *io)
{
    lth_state *s = state;
    const nn_model *m = run->model;
    int rc = mt_ckpt_array(io, MT_I32, &s->have_rewind, 1, "have_rewind");
    if (!rc && s->have_rewind) {
        rc |= mt_ckpt_array(io, MT_F32, s->rewind_p, m->n_params, "rewind_params");
        rc |= mt_ckpt_array(io, MT_F32, s->rewind_s, m->n_state, "rewind_state");
    }
    if (s->cfg.control) {
        rc |= mt_ckpt_array(io, MT_F32, s->ticket_p, m->n_params, "ticket_params");
        rc |= mt_ckpt_array(io, MT_F32, s->ticket_s, m->n_state, "ticket_state");
    }
    int cap = s->epoch_cap;
    long long csv_len = (long long)s->csv_len;
    rc |= mt_ckpt_array(io, MT_I32, &cap, 1, "epoch_acc_len");
    rc |= mt_ckpt_array(io, MT_I64, &csv_len, 1, "rounds_csv_len");
    if (rc || cap < 0 || csv_len < 0) return -1;
    if (io->loading) {
        free(s->epoch_acc);
        free(s->csv);
        s->epoch_acc = calloc(cap ? (size_t)cap : 1, sizeof *s->epoch_acc);
        s->csv = csv_len ? malloc((size_t)csv_len + 1) : NULL;
        s->epoch_cap = s->epoch_acc ? cap : 0;
        s->csv_len = s->csv ? (size_t)csv_len : 0;
        if (!s->epoch_acc || (csv_len && !s->csv)) return -1;
        if (s->csv) s->csv[csv_len] = 0;
    }
    rc |= mt_ckpt_array(io, MT_F64, s->epoch_acc, (size_t)cap, "epoch_acc");
    if (csv_len) rc |= mt_ckpt_array(io, MT_U8, s->csv, (size_t)csv_len, "rounds_csv");
    return rc ? -1 : 0;
}

static void account(const mt_run *run, void *state, mt_footprint *fp)
{
    const lth_state *s = state;
    mt_footprint_sparse(run->model, fp, s->cfg.index_bits, s->cfg.index_bits);
    double pct = remaining_pct(run->model, s);
    mt_footprint_extra(fp, "lth.weights_remaining_pct", pct);
    mt_footprint_extra(fp, "lth.ratio", pct > 0 ? 100.0 / pct : 0.0);
}

const method method_lottery = {
    .name = "lottery",
    .title = "Lottery Ticket",
    .paper = "Frankle & Carbin, The Lottery Ticket Hypothesis, ICLR 2019",
    .options = options, .n_options = (int)(sizeof options / sizeof *options),
    .config_size = sizeof(lth_config),
    .setup = setup,
    .round_begin = round_begin,
    .step_end = step_end,
    .epoch_end = epoch_end,
    .round_end = round_end,
    .account = account,
    .free_state = free_state,
    .checkpoint = checkpoint,
};
