/* Magnitude pruning: the smallest example of a method, and the one docs/ADDING_A_METHOD.md
 * walks through. One global threshold over all conv/linear weights removes the `sparsity`
 * fraction with the smallest |w| from a trained baseline, once, at setup; the run's ordinary
 * training then fine-tunes the survivors with the mask fixed (the engine masks gradients and
 * re-applies masks after every step, so the method needs no training hooks at all). */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include "methods/footprint.h"
#include "methods/method.h"
#include "methods/prune.h"

/* The [method] keys, parsed into this struct through the option table below. */
typedef struct {
    double sparsity;        /* fraction of weights removed */
    int index_bits;         /* relative-index width used when accounting the sparse form */
} magnitude_config;

static const opt_spec options[] = {
    { .key = "sparsity", .type = OPT_FLOAT, .offset = offsetof(magnitude_config, sparsity),
      .def = "0.9", .lo = 0, .hi = 1, .hi_open = 1,
      .help = "fraction of all conv/linear weights pruned (global magnitude threshold)" },
    { .key = "index_bits", .type = OPT_INT, .offset = offsetof(magnitude_config, index_bits),
      .def = "5", .lo = 1, .hi = 16,
      .help = "bits per relative index in the reported sparse size" },
};

static int setup(mt_run *run, const void *config, void **state, char *err, size_t errlen)
{
    const magnitude_config *c = config;
    magnitude_config *s = malloc(sizeof *s);   /* account() needs the options later */
    if (!s) { snprintf(err, errlen, "magnitude: out of memory"); return 1; }
    *s = *c;
    *state = s;

    int nodes[NN_MAX_NODES];
    int n = mt_weighted_nodes(run->model, nodes);
    size_t total = nn_count_weights(run->model);
    size_t count = (size_t)(c->sparsity * (double)total);
    size_t pruned = mt_prune_smallest(run->model, nodes, n, count);
    fprintf(run->log, "magnitude: pruned %zu of %zu weights (%.2f%%), fine-tuning with the mask\n",
            pruned, total, total ? 100.0 * (double)pruned / (double)total : 0.0);
    run->n_rounds = 1;
    return 0;
}

static void account(const mt_run *run, void *state, mt_footprint *fp)
{
    const magnitude_config *c = state;
    mt_footprint_sparse(run->model, fp, c->index_bits, c->index_bits);
}

/* Resume: no checkpoint hook. The mask is set once in setup and lives in the model. */
const method method_magnitude = {
    .name = "magnitude",
    .title = "Magnitude pruning",
    .paper = "Han et al., Learning both Weights and Connections for Efficient Neural Networks, NeurIPS 2015",
    .options = options, .n_options = (int)(sizeof options / sizeof *options),
    .config_size = sizeof(magnitude_config),
    .needs_baseline = 1,
    .setup = setup,
    .account = account,
    .free_state = free,
};
