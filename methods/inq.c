/* Incremental Network Quantization (Zhou et al., ICLR 2017).
 *
 * Starting from the trained baseline, each round quantizes the next partition of every weighted
 * layer, the largest |w| not yet quantized, so that the accumulated fraction equals that round's
 * portion, freezes it (node->wfreeze) and retrains the rest. Values are {0, +-2^n} with
 * n in [n2, n1], n1 = floor(log2(4*max|W|/3)), n2 = n1 + 1 - 2^(b-1)/2, fixed per layer from
 * the baseline. The rounding is the reference code's: e = floor(log2(4|w|/3)) (the nearest
 * power of two in the ratio sense), 0 when e < n2. (The paper's text would map
 * [2^(n2-1), 3*2^(n2-2)) to 2^n2; the code maps it to 0.) The last portion (1.0) leaves nothing
 * to train, so its round has no epochs. Biases stay full precision, as in the reference code. */
#include "methods/quant_util.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct { int bits; opt_floats portions; } inq_config;

typedef struct {
    opt_floats portions;
    int n1[NN_MAX_NODES], n2[NN_MAX_NODES];
    size_t nq[NN_MAX_NODES];          /* weights quantized so far, per layer */
    int bits;
    uint8_t sel[NN_MAX_NODES];
} inq_state;

static const opt_spec inq_opts[] = {
    { .key = "bits", .type = OPT_INT, .offset = offsetof(inq_config, bits), .def = "5",
      .lo = 2, .hi = 8, .help = "bits per weight: zero plus 2^(bits-2) powers of two per sign" },
    { .key = "portions", .type = OPT_FLOATS, .offset = offsetof(inq_config, portions),
      .def = "0.5, 0.75, 0.875, 1", .lo = 0, .hi = 1, .lo_open = 1,
      .help = "accumulated fraction quantized after each round, increasing, ending with 1" },
};

static int inq_check(const void *config, char *err, size_t errlen)
{
    const inq_config *c = config;
    const opt_floats *p = &c->portions;
    int ok = p->n > 0 && p->v[p->n - 1] == 1.0;
    for (int i = 0; i < p->n; i++)
        if (p->v[i] <= 0 || p->v[i] > 1 || (i > 0 && p->v[i] <= p->v[i - 1])) ok = 0;
    if (ok) return 0;
    char list[256] = "";
    size_t len = 0;
    for (int i = 0; i < p->n && len < sizeof list; i++)
        len += (size_t)snprintf(list + len, sizeof list - len, "%s%g", i ? ", " : "", p->v[i]);
    snprintf(err, errlen, "portions = %s: expected increasing values in (0, 1] ending with 1", list);
    return -1;
}

static int inq_setup(mt_run *run, const void *config, void **state, char *err, size_t errlen)
{
    const inq_config *c = config;
    nn_model *m = run->model;
    inq_state *s = calloc(1, sizeof *s);
    if (!s) { snprintf(err, errlen, "inq: out of memory"); return -1; }
    s->portions = c->portions;
    s->bits = c->bits;
    if (qu_select(m, 0, s->sel) == 0) {
        snprintf(err, errlen, "inq: architecture '%s' has no weighted layer", m->arch);
        free(s); return -1;
    }
    for (int i = 0; i < m->n_nodes; i++) {
        nn_node *n = &m->nodes[i];
        if (!s->sel[i]) continue;
        if (!nn_node_wfreeze(m, n)) {
            snprintf(err, errlen, "inq: out of memory");
            free(s); return -1;
        }
        float mx = qu_max_abs(n->w, n->nw);
        s->n1[i] = mx > 0 ? (int)floor(log2(4.0 * mx / 3.0)) : 0;
        s->n2[i] = s->n1[i] + 1 - (1 << (c->bits - 1)) / 2;
        if (run->log) fprintf(run->log, "inq: %s powers of two 2^%d .. 2^%d\n", n->name,
                              s->n2[i], s->n1[i]);
    }
    run->n_rounds = c->portions.n;
    *state = s;
    return 0;
}

typedef struct { float a; size_t i; } inq_key;

static int inq_key_cmp(const void *x, const void *y)   /* |w| descending, index ascending */
{
    const inq_key *p = x, *q = y;
    if (p->a != q->a) return p->a < q->a ? 1 : -1;
    return p->i < q->i ? -1 : p->i > q->i;
}

/* Quantize and freeze the largest not-yet-quantized weights until `target` are quantized. */
static int inq_partition(nn_node *n, size_t have, size_t target, int n1, int n2)
{
    size_t left = n->nw - have, take = target - have;
    inq_key *k = malloc((left ? left : 1) * sizeof *k);
    if (!k) return -1;
    size_t c = 0;
    for (size_t i = 0; i < n->nw; i++)
        if (!n->wfreeze[i]) k[c++] = (inq_key){ fabsf(n->w[i]), i };
    qsort(k, c, sizeof *k, inq_key_cmp);
    for (size_t j = 0; j < take && j < c; j++) {
        n->w[k[j].i] = qu_inq_round(n->w[k[j].i], n1, n2);
        n->wfreeze[k[j].i] = 1;
    }
    free(k);
    return 0;
}

static void inq_round_begin(mt_run *run, void *state)
{
    inq_state *s = state;
    double portion = s->portions.v[run->round];
    for (int i = 0; i < run->model->n_nodes; i++) {
        nn_node *n = &run->model->nodes[i];
        if (!s->sel[i]) continue;
        size_t target = portion >= 1.0 ? n->nw : (size_t)llround(portion * (double)n->nw);
        if (target <= s->nq[i]) continue;
        if (inq_partition(n, s->nq[i], target, s->n1[i], s->n2[i]) != 0) {
            /* out of memory: leave this layer's partition for the next round */
            if (run->log) fprintf(run->log, "inq: out of memory quantizing %s\n", n->name);
            continue;
        }
        s->nq[i] = target;
    }
    if (portion >= 1.0) run->round_epochs = 0;   /* everything is frozen */
    if (run->log) fprintf(run->log, "inq: round %d: %.4g of the weights quantized%s\n",
                          run->round, portion, portion >= 1.0 ? ", nothing left to train" : "");
}

/* How many weights of each layer are quantized so far (which ones: the model's freeze flags) and
 * the exponent range setup took from the starting weights. */
static int inq_checkpoint(mt_run *run, void *state, mt_ckpt *io)
{
    inq_state *s = state;
    int rc = 0;
    for (int i = 0; i < run->model->n_nodes; i++) {
        if (!s->sel[i]) continue;
        const char *name = run->model->nodes[i].name;
        long long nq = (long long)s->nq[i];
        rc |= mt_ckpt_array(io, MT_I64, &nq, 1, "%s.quantized", name);
        rc |= mt_ckpt_array(io, MT_I32, &s->n1[i], 1, "%s.n1", name);
        rc |= mt_ckpt_array(io, MT_I32, &s->n2[i], 1, "%s.n2", name);
        if (nq < 0 || (size_t)nq > run->model->nodes[i].nw) return -1;
        s->nq[i] = (size_t)nq;
    }
    return rc ? -1 : 0;
}

/* The weights are all quantized now: the model says so (its file and the exporter read it). */
static int inq_finish(mt_run *run, void *state, char *err, size_t errlen)
{
    (void)err; (void)errlen;
    inq_state *s = state;
    for (int i = 0; i < run->model->n_nodes; i++)
        if (s->sel[i]) run->model->nodes[i].wform = (nn_wform){ .kind = NN_WFORM_POW2, .e_min = s->n2[i], .e_max = s->n1[i] };
    return 0;
}

static void inq_account(const mt_run *run, void *state, mt_footprint *fp)
{
    const inq_state *s = state;
    double macs = 0;
    for (int i = 0; i < run->model->n_nodes; i++) {
        const nn_node *n = &run->model->nodes[i];
        if (!s->sel[i]) continue;
        qu_fp_set(fp, n, s->bits, 32, 1.0);          /* b-bit codes + the exponent n1 */
        macs += nn_node_macs(n);
    }
    mt_footprint_extra(fp, "inq.shift_macs", macs);   /* power-of-two weights: shift-adds */
}

static void inq_free(void *state) { free(state); }

const method method_inq = {
    .name = "inq", .title = "INQ",
    .paper = "Zhou et al., Incremental Network Quantization: Towards Lossless CNNs with "
             "Low-Precision Weights, ICLR 2017",
    .options = inq_opts, .n_options = (int)(sizeof inq_opts / sizeof inq_opts[0]),
    .config_size = sizeof(inq_config), .needs_baseline = 1,
    .check = inq_check, .setup = inq_setup, .round_begin = inq_round_begin,
    .finish = inq_finish, .account = inq_account, .free_state = inq_free,
    .checkpoint = inq_checkpoint,
};
