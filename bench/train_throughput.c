/* Training and inference throughput of the engine, side by side with PyTorch (bench/peer_torch.py,
 * run as a subprocess when /usr/bin/python3 can import torch) on the same network, images, batch,
 * optimizer, augmentation and thread count. Two presets, one row each in `presets` below:
 *
 *   lenet5    LeNet-5 on MNIST, batch 64, SGD momentum 0.9 lr 0.01, no augmentation
 *   resnet20  ResNet-20 on CIFAR-10, batch 128, SGD momentum 0.9 lr 0.1 weight decay 5e-4,
 *             4-pixel pad + random crop and horizontal flip (the harness loader's augmentation)
 *
 *   train_throughput [--model lenet5|resnet20|all|NAME,NAME] [option VALUE ...]   (--help lists them)
 *
 * Each figure is measured `--reps` times: a training rep is `--steps` SGD steps at the training
 * batch, an inference rep is one pass over `--eval-images` test images at each `--eval-batch`;
 * both sides first run a few untimed warm-up steps. Figures are printed as min / median / max img/s
 * per side, the ratio is harness median / PyTorch median, and the output ends with a Markdown table
 * of them. A training step's time includes the batch loader on both sides (uint8 gather, per-batch
 * normalization, augmentation); inference runs over images normalized beforehand on both sides.
 * Several models run one after another, each in its own child process, so that the peak resident
 * memory printed for the harness side (ru_maxrss) is that model's alone. */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "datasets/dataset.h"
#include "harness/omp_env.h"
#include "nn/loss.h"
#include "nn/model.h"
#include "nn/optim.h"
#include "bench/peer/peer_io.h"

enum { WARMUP_STEPS = 3, MAX_REPS = 64, MAX_EVAL = 8, MAX_MODELS = 8 };

/* One model's settings: a preset row, then the command line's options applied over it. */
typedef struct {
    const char *model, *title;       /* --model name; name in the output */
    const char *arch, *dataset;      /* nn_model_create name; ds_prepare name */
    const char *h5, *raw, *peer;     /* raw: source folder for ds_prepare (NULL = its default) */
    int batch, augment, steps, reps, eval_images, threads, no_peer, adder;
    int eval_batch[MAX_EVAL], n_eval;
    long limit;                      /* 0 = all images */
    float lr, momentum, weight_decay;
} bench_cfg;

static const bench_cfg presets[] = {
    { .model = "lenet5", .title = "LeNet-5", .arch = "lenet5", .dataset = "mnist",
      .h5 = "data/mnist.h5", .batch = 64, .lr = 0.01f, .momentum = 0.9f,
      .threads = 2, .steps = 200, .reps = 5, .eval_images = 10000, .eval_batch = { 64, 256 },
      .n_eval = 2 },
    { .model = "resnet20", .title = "ResNet-20", .arch = "resnet20", .dataset = "cifar10",
      .h5 = "data/cifar10.h5", .batch = 128, .lr = 0.1f, .momentum = 0.9f, .weight_decay = 5e-4f,
      .augment = 1, .threads = 2, .steps = 20, .reps = 3, .eval_images = 2048,
      .eval_batch = { 64, 256 }, .n_eval = 2 },
};
enum { PRESET_COUNT = sizeof presets / sizeof presets[0] };

/* Command-line options: each sets one field of bench_cfg, checked against [lo, hi]. */
typedef enum { ARG_STR, ARG_INT, ARG_LONG, ARG_FLOAT, ARG_INTS, ARG_FLAG } arg_type;
typedef struct {
    const char *name;
    arg_type type;
    size_t off;
    double lo, hi;
    const char *help;
} arg_row;

#define F(field) offsetof(bench_cfg, field)
static const arg_row arg_table[] = {
    { "--h5", ARG_STR, F(h5), 0, 0, "HDF5 store (prepared from --raw when absent)" },
    { "--raw", ARG_STR, F(raw), 0, 0, "raw files to prepare the store from (default: ds_prepare's)" },
    { "--arch", ARG_STR, F(arch), 0, 0, "architecture (`harness archs`)" },
    { "--threads", ARG_INT, F(threads), 1, 256, "threads on both sides" },
    { "--batch", ARG_INT, F(batch), 1, 65536, "training batch" },
    { "--lr", ARG_FLOAT, F(lr), 0, 100, "SGD learning rate" },
    { "--momentum", ARG_FLOAT, F(momentum), 0, 0.999, "SGD momentum" },
    { "--wd", ARG_FLOAT, F(weight_decay), 0, 1, "weight decay (conv/linear weights, both sides)" },
    { "--augment", ARG_INT, F(augment), 0, 1, "1 = pad-4 random crop + flip" },
    { "--steps", ARG_INT, F(steps), 1, 1e7, "training steps per rep" },
    { "--reps", ARG_INT, F(reps), 1, MAX_REPS, "repetitions of every figure" },
    { "--eval-batch", ARG_INTS, F(eval_batch), 1, 65536, "inference batches, comma-separated" },
    { "--eval-images", ARG_INT, F(eval_images), 1, 1e7, "test images per inference rep" },
    { "--limit", ARG_LONG, F(limit), 0, 1e9, "use only the first N train (and test) images" },
    { "--peer", ARG_STR, F(peer), 0, 0, "peer script (default bench/peer_torch.py)" },
    { "--no-peer", ARG_FLAG, F(no_peer), 0, 0, "harness side only" },
    { "--adder", ARG_FLAG, F(adder), 0, 0, "AdderNet's layers: every conv but the first runs the "
      "adder kernel (harness side only)" },
};
#undef F
enum { ARG_COUNT = sizeof arg_table / sizeof arg_table[0] };

typedef struct { double v[MAX_REPS]; int n; } series;   /* img/s of each rep */

typedef struct {
    series train, infer[MAX_EVAL];
    double test_acc;
    long maxrss_kib, n_params;
} side_result;

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int file_exists(const char *p) { struct stat st; return stat(p, &st) == 0; }

static long maxrss_kib(void)
{
    struct rusage ru;
    return getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_maxrss : 0;   /* KiB on Linux */
}

/* --- options ----------------------------------------------------------------------------- */

static void usage(FILE *f)
{
    fprintf(f, "usage: train_throughput [--model NAME[,NAME...]] [option VALUE ...]\n"
               "  --model        ");
    for (int i = 0; i < PRESET_COUNT; i++) fprintf(f, "%s%s", i ? " | " : "", presets[i].model);
    fprintf(f, " | all (default %s); options below override the model's preset\n", presets[0].model);
    for (int i = 0; i < ARG_COUNT; i++)
        fprintf(f, "  %-14s %s\n", arg_table[i].name, arg_table[i].help);
    for (int i = 0; i < PRESET_COUNT; i++) {
        const bench_cfg *p = &presets[i];
        fprintf(f, "preset %s: %s on %s, batch %d, lr %g, wd %g, augment %d, %d steps x %d reps, "
                "%d inference images\n", p->model, p->arch, p->h5, p->batch, (double)p->lr,
                (double)p->weight_decay, p->augment, p->steps, p->reps, p->eval_images);
    }
}

static const arg_row *find_arg(const char *name)
{
    for (int i = 0; i < ARG_COUNT; i++)
        if (!strcmp(arg_table[i].name, name)) return &arg_table[i];
    return NULL;
}

static int in_range(const arg_row *a, double v, const char *text)
{
    if (v >= a->lo && v <= a->hi) return 0;
    fprintf(stderr, "train_throughput: %s %s: must be in [%g, %g]\n", a->name, text, a->lo, a->hi);
    return -1;
}

static int parse_number(const arg_row *a, const char *s, double *v, char **end)
{
    errno = 0;
    *v = strtod(s, end);
    if (*end == s || errno) {
        fprintf(stderr, "train_throughput: %s %s: not a number\n", a->name, s);
        return -1;
    }
    return in_range(a, *v, s);
}

/* Sets the option's field in c from v (NULL for a flag). */
static int apply_arg(bench_cfg *c, const arg_row *a, const char *v)
{
    char *field = (char *)c + a->off, *end;
    double x;
    switch (a->type) {
    case ARG_FLAG: *(int *)field = 1; return 0;
    case ARG_STR: *(const char **)field = v; return 0;
    case ARG_INTS: {   /* the one list option: its count goes to n_eval */
        int n = 0;
        const char *s = v;
        do {
            if (parse_number(a, s, &x, &end) != 0) return -1;
            if (n == MAX_EVAL || x != floor(x) || (*end && *end != ',')) {
                fprintf(stderr, "train_throughput: %s %s: not a list of at most %d comma-separated "
                        "integers\n", a->name, v, MAX_EVAL);
                return -1;
            }
            ((int *)field)[n++] = (int)x;
            s = end + 1;
        } while (*end == ',');
        c->n_eval = n;
        return 0;
    }
    default:
        if (parse_number(a, v, &x, &end) != 0) return -1;
        if (*end || (a->type != ARG_FLOAT && x != floor(x))) {
            fprintf(stderr, "train_throughput: %s %s: not %s\n", a->name, v,
                    a->type == ARG_FLOAT ? "a number" : "an integer");
            return -1;
        }
        if (a->type == ARG_INT) *(int *)field = (int)x;
        else if (a->type == ARG_LONG) *(long *)field = (long)x;
        else *(float *)field = (float)x;
        return 0;
    }
}

/* The models named by --model (a comma-separated list, or all). */
static int select_models(const char *list, int *idx)
{
    if (!strcmp(list, "all")) {
        for (int i = 0; i < PRESET_COUNT; i++) idx[i] = i;
        return PRESET_COUNT;
    }
    int n = 0;
    for (const char *s = list; *s && n < MAX_MODELS; ) {
        size_t len = strcspn(s, ",");
        int k = 0;
        while (k < PRESET_COUNT && (strlen(presets[k].model) != len || strncmp(presets[k].model, s, len)))
            k++;
        if (k == PRESET_COUNT) {
            fprintf(stderr, "train_throughput: --model %s: unknown model '%.*s'\n", list, (int)len, s);
            usage(stderr);
            return -1;
        }
        idx[n++] = k;
        s += len + (s[len] == ',');
    }
    return n;
}

/* Builds one model's settings: its preset, then every option of the command line in order. */
static int model_cfg(int preset, int argc, char **argv, bench_cfg *c)
{
    *c = presets[preset];
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--model")) { i++; continue; }
        const arg_row *a = find_arg(argv[i]);
        if (!a) {
            fprintf(stderr, "train_throughput: unknown option %s\n", argv[i]);
            usage(stderr);
            return -1;
        }
        const char *v = a->type == ARG_FLAG ? NULL : i + 1 < argc ? argv[++i] : NULL;
        if (a->type != ARG_FLAG && !v) {
            fprintf(stderr, "train_throughput: %s needs a value\n", a->name);
            return -1;
        }
        if (apply_arg(c, a, v) != 0) return -1;
    }
    if (strcmp(c->arch, presets[preset].arch)) c->title = c->arch;   /* not the preset's network */
    return 0;
}

/* --- data and model ---------------------------------------------------------------------- */

/* Loads the store, preparing it from the raw files when only those exist. */
static int load_data(const bench_cfg *c, ds_dataset *ds)
{
    char err[DS_ERR_MAX];
    if (!file_exists(c->h5)) {
        fprintf(stderr, "train_throughput: %s: %s is absent; preparing it from the raw %s files\n",
                c->title, c->h5, c->dataset);
        if (ds_prepare(c->dataset, c->raw, c->h5, err, sizeof err) != 0) {
            fprintf(stderr, "train_throughput: %s: cannot run without %s: %s\n  Give --h5 PATH of a "
                    "prepared store, or prepare one with `harness data %s --src DIR`.\n", c->title,
                    c->h5, err, c->dataset);
            return -1;
        }
    }
    if (ds_load_h5(c->h5, ds, err, sizeof err) != 0) {
        fprintf(stderr, "train_throughput: %s\n", err);
        return -1;
    }
    return 0;
}

/* --- harness side ------------------------------------------------------------------------ */

/* AdderNet's default layer choice (methods/addernet.c: first_fp on, adder_fc off): every
 * convolution but the first runs the adder kernel; linear layers stay multiply ones. */
static void set_adder(nn_model *m)
{
    int first = 1;
    for (int i = 0; i < m->n_nodes; i++)
        if (m->nodes[i].kind == NN_CONV) {
            if (!first) m->nodes[i].kernel = NN_KERNEL_ADDER;
            first = 0;
        }
}

/* The first n images of a split, normalized through the loader (so inference timing covers the
 * model only, as on the peer's side). */
static int load_split(const ds_dataset *ds, const ds_split *sp, uint32_t n, size_t px, float **x,
                      uint8_t **y)
{
    ds_loader ld;
    *x = malloc((size_t)n * px * sizeof **x);
    *y = malloc(n);
    if (!*x || !*y || ds_loader_init(&ld, ds, sp, 0, n, 1000, 0, 0, 1) != 0) return -1;
    int got;
    for (size_t off = 0; (got = ds_loader_next(&ld, *x + off * px, *y + off)) > 0; off += (size_t)got) {}
    ds_loader_free(&ld);
    return 0;
}

/* The next full batch; a new epoch (reshuffled) when less than a batch is left. */
static void next_batch(ds_loader *ld, float *x, uint8_t *y)
{
    if (ds_loader_next(ld, x, y) < ld->batch) {
        ds_loader_rewind(ld);
        ds_loader_next(ld, x, y);
    }
}

static void train_steps(const bench_cfg *c, nn_model *m, nn_optim *opt, ds_loader *ld, int steps,
                        float *x, uint8_t *y, float *dl)
{
    int correct;
    for (int s = 0; s < steps; s++) {
        next_batch(ld, x, y);
        nn_zero_grad(m);
        nn_softmax_xent(nn_forward(m, x, c->batch, 1), y, c->batch, m->n_classes, dl, &correct);
        nn_backward(m, dl, c->batch);
        nn_optim_step(opt, m, c->lr);
    }
}

/* One inference pass over n images at batch eb; returns the top-1 hits. */
static long infer_pass(nn_model *m, const float *x, const uint8_t *y, uint32_t n, int eb)
{
    size_t px = nn_dims_size(m->in_dims);
    long hits = 0;
    for (uint32_t off = 0; off < n; off += (uint32_t)eb) {
        int b = n - off < (uint32_t)eb ? (int)(n - off) : eb;
        const float *logits = nn_forward(m, x + (size_t)off * px, b, 0);
        for (int i = 0; i < b; i++) hits += nn_argmax(logits + (size_t)i * m->n_classes, m->n_classes) == y[off + i];
    }
    return hits;
}

static int run_harness(const bench_cfg *c, const ds_dataset *ds, nn_model *m, uint32_t n_train,
                       uint32_t n_eval, side_result *r)
{
    int cap = c->batch;
    for (int e = 0; e < c->n_eval; e++) cap = c->eval_batch[e] > cap ? c->eval_batch[e] : cap;
    size_t px = nn_dims_size(m->in_dims);
    nn_optim opt;
    ds_loader ld = { 0 };
    if (nn_model_reserve(m, cap) != 0 || nn_optim_init(&opt, NN_SGD, m) != 0) {
        fprintf(stderr, "train_throughput: out of memory\n");
        return -1;
    }
    opt.momentum = c->momentum;
    opt.weight_decay = c->weight_decay;
    float *x = malloc((size_t)c->batch * px * sizeof *x);
    float *dl = malloc((size_t)c->batch * (size_t)m->n_classes * sizeof *dl);
    uint8_t *y = malloc((size_t)c->batch);
    float *xt = NULL;
    uint8_t *yt = NULL;
    int rc = -1;
    if (!x || !dl || !y || load_split(ds, &ds->test, n_eval, px, &xt, &yt) != 0 ||
        ds_loader_init(&ld, ds, &ds->train, 0, n_train, c->batch, 1, c->augment, 1) != 0) {
        fprintf(stderr, "train_throughput: out of memory\n");
        goto done;
    }

    train_steps(c, m, &opt, &ld, WARMUP_STEPS, x, y, dl);
    for (int rep = 0; rep < c->reps; rep++) {
        double t0 = now_s();
        train_steps(c, m, &opt, &ld, c->steps, x, y, dl);
        r->train.v[r->train.n++] = (double)c->steps * c->batch / (now_s() - t0);
    }
    for (int e = 0; e < c->n_eval; e++) {
        int eb = c->eval_batch[e];
        nn_forward(m, xt, eb < (int)n_eval ? eb : (int)n_eval, 0);   /* warm-up */
        for (int rep = 0; rep < c->reps; rep++) {
            double t0 = now_s();
            long hits = infer_pass(m, xt, yt, n_eval, eb);
            r->infer[e].v[r->infer[e].n++] = (double)n_eval / (now_s() - t0);
            r->test_acc = 100.0 * (double)hits / (double)n_eval;
        }
    }
    r->n_params = (long)m->n_params;
    r->maxrss_kib = maxrss_kib();
    rc = 0;
done:
    free(x); free(dl); free(y); free(xt); free(yt);
    ds_loader_free(&ld);
    nn_optim_free(&opt);
    return rc;
}

/* --- peer side --------------------------------------------------------------------------- */

/* Space-separated img/s of each rep; 1 when there is one per rep. */
static int parse_series(const char *s, int reps, series *out)
{
    char *end;
    out->n = 0;
    for (double v; out->n < MAX_REPS && (v = strtod(s, &end), end != s); s = end) out->v[out->n++] = v;
    return out->n == reps;
}

/* One line of the peer's output into r; 0 = not one of its `key value` lines. */
static int peer_line(const bench_cfg *c, const char *line, side_result *r, int *have)
{
    int eb, k;
    if (!strncmp(line, "train_ips ", 10)) {
        *have |= parse_series(line + 10, c->reps, &r->train);
        return 1;
    }
    if (sscanf(line, "infer_ips %d %n", &eb, &k) == 1) {
        for (int e = 0; e < c->n_eval; e++)
            if (c->eval_batch[e] == eb) *have |= parse_series(line + k, c->reps, &r->infer[e]) << (e + 1);
        return 1;
    }
    if (sscanf(line, "test_acc %lf", &r->test_acc) == 1) return 1;
    if (sscanf(line, "maxrss_kib %ld", &r->maxrss_kib) == 1) return 1;
    if (sscanf(line, "params %ld", &r->n_params) == 1) return 1;
    if (!strncmp(line, "version ", 8)) { printf("peer   torch %s", line + 8); return 1; }
    return 0;
}

/* Runs the peer; 0 with its numbers, else a reason in why. */
static int run_peer(const bench_cfg *c, const char *script, const ds_dataset *ds, const char *spec,
                    uint32_t n_train, uint32_t n_eval, side_result *r, char *why, size_t wlen)
{
    char dump[64], mean[128], std[128], ebs[128], line[1024];
    static char cmd[PEER_SPEC_MAX + 2048];
    if (peer_write_dump(ds, n_train, n_eval, dump, sizeof dump) != 0) {
        snprintf(why, wlen, "cannot write the data dump in /tmp: %s", strerror(errno));
        return -1;
    }
    peer_join_list(mean, sizeof mean, ds->mean, NULL, ds->c);
    peer_join_list(std, sizeof std, ds->std, NULL, ds->c);
    peer_join_list(ebs, sizeof ebs, NULL, c->eval_batch, c->n_eval);
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 '%s' --data %s --shape %u,%u,%d,%d,%d --mean %s --std %s --spec '%s' "
             "--threads %d --batch %d --lr %.9g --momentum %.9g --wd %.9g --augment %d --steps %d "
             "--reps %d --warmup %d --eval-batch %s 2>&1",
             script, dump, n_train, n_eval, ds->c, ds->h, ds->w, mean, std, spec, c->threads,
             c->batch, (double)c->lr, (double)c->momentum, (double)c->weight_decay, c->augment,
             c->steps, c->reps, WARMUP_STEPS, ebs);
    FILE *p = popen(cmd, "r");
    if (!p) { unlink(dump); snprintf(why, wlen, "cannot start /usr/bin/python3"); return -1; }
    int have = 0, want = (2 << c->n_eval) - 1;
    why[0] = 0;
    while (fgets(line, sizeof line, p))
        if (!peer_line(c, line, r, &have)) {   /* keep the last: a traceback ends with the error */
            snprintf(why, wlen, "%s", line);
            why[strcspn(why, "\n")] = 0;
        }
    int st = pclose(p);
    unlink(dump);
    if (have != want) {
        if (!why[0]) snprintf(why, wlen, "peer exited with status %d", st);
        return -1;
    }
    return 0;
}

/* --- report ------------------------------------------------------------------------------ */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct { double min, med, max; } summary;

static summary summarize(const series *s)
{
    double v[MAX_REPS];
    memcpy(v, s->v, (size_t)s->n * sizeof *v);
    qsort(v, (size_t)s->n, sizeof *v, cmp_double);
    int h = s->n / 2;
    return (summary){ v[0], s->n % 2 ? v[h] : 0.5 * (v[h - 1] + v[h]), v[s->n - 1] };
}

/* One figure: a console line, and a Markdown table row into rows. */
static void report_figure(const bench_cfg *c, const char *what, int batch, const series *h,
                          const series *t, FILE *rows)
{
    summary a = summarize(h), b = t ? summarize(t) : (summary){ 0 };
    printf("%-6s batch %-5d harness %6.0f / %6.0f / %6.0f img/s", what, batch, a.min, a.med, a.max);
    if (t) printf("   torch %6.0f / %6.0f / %6.0f img/s   ratio %.2fx", b.min, b.med, b.max, a.med / b.med);
    printf("\n");
    fprintf(rows, "| %s, %s, batch %d | %.0f / %.0f / %.0f |", c->title,
            !strcmp(what, "train") ? "training" : "inference", batch, a.min, a.med, a.max);
    if (t) fprintf(rows, " %.0f / %.0f / %.0f | %.2f× |\n", b.min, b.med, b.max, a.med / b.med);
    else fprintf(rows, " — | — |\n");
}

static void report(const bench_cfg *c, const side_result *h, const side_result *t, uint32_t n_eval,
                   const char *why, FILE *rows)
{
    printf("       (img/s as min / median / max of %d reps; ratio = harness median / torch median)\n",
           c->reps);
    report_figure(c, "train", c->batch, &h->train, t ? &t->train : NULL, rows);
    for (int e = 0; e < c->n_eval; e++)
        report_figure(c, "infer", c->eval_batch[e], &h->infer[e], t ? &t->infer[e] : NULL, rows);
    printf("rss    harness %.0f MiB", (double)h->maxrss_kib / 1024.0);
    if (t) printf("  torch %.0f MiB", (double)t->maxrss_kib / 1024.0);
    printf("  (peak resident, ru_maxrss of each process)\n");
    printf("acc    harness %.2f%%", h->test_acc);
    if (t) printf("  torch %.2f%%", t->test_acc);
    printf("  (top-1 on the %u inference images after the timed steps: a liveness check only)\n", n_eval);
    if (t && t->n_params != h->n_params)
        printf("WARNING: the peer's model has %ld parameters, the harness's %ld: not the same network\n",
               t->n_params, h->n_params);
    if (!t) printf("peer   none: %s\n", why);
}

/* --- one model --------------------------------------------------------------------------- */

static int bench_model(const bench_cfg *c, const char *argv0, FILE *rows)
{
    ds_dataset ds;
    memset(&ds, 0, sizeof ds);
    if (load_data(c, &ds) != 0) return 1;
    uint32_t n_train = c->limit && (uint32_t)c->limit < ds.train.n ? (uint32_t)c->limit : ds.train.n;
    uint32_t n_eval = (uint32_t)c->eval_images < ds.test.n ? (uint32_t)c->eval_images : ds.test.n;
    if (c->limit && (uint32_t)c->limit < n_eval) n_eval = (uint32_t)c->limit;
    if (n_train < (uint32_t)c->batch || n_eval == 0) {
        fprintf(stderr, "train_throughput: %s: %u training images, fewer than a batch of %d\n",
                c->h5, n_train, c->batch);
        ds_free(&ds);
        return 1;
    }

    char err[NN_ERR_MAX];
    static char spec[PEER_SPEC_MAX];
    nn_model *m = nn_model_create(c->arch, (nn_dims){ ds.c, ds.h, ds.w }, ds.n_classes, err, sizeof err);
    if (!m) { fprintf(stderr, "train_throughput: %s\n", err); ds_free(&ds); return 1; }
    nn_rng rng;
    nn_rng_seed(&rng, 1, 0);
    nn_model_init(m, NN_INIT_KAIMING_NORMAL, &rng);
    nn_model_set_threads(m, c->threads);
    if (c->adder) set_adder(m);

    const char *omp = getenv("OMP_WAIT_POLICY");
    printf("\nbench  %s (%s, %zu parameters), batch %d, SGD momentum %g lr %g weight decay %g, "
           "augmentation %s, %d threads (OMP_WAIT_POLICY=%s on both sides)\n", c->title, c->arch,
           m->n_params, c->batch, (double)c->momentum, (double)c->lr, (double)c->weight_decay,
           c->augment ? "pad-4 crop + flip" : "none", c->threads, omp ? omp : "unset");
    printf("data   %s: %s, %dx%dx%d, %u of %u train images, %u of %u test images for inference%s\n",
           c->h5, ds.name, ds.c, ds.h, ds.w, n_train, ds.train.n, n_eval, ds.test.n,
           ds.n_sources ? "" : " (no raw-file provenance: not a prepared public dataset)");
    printf("reps   %d x %d training steps, %d x %u inference images per batch size, after %d "
           "untimed warm-up steps\n", c->reps, c->steps, c->reps, n_eval, WARMUP_STEPS);

    side_result h = { 0 }, t = { 0 };
    int rc = 1;
    if (run_harness(c, &ds, m, n_train, n_eval, &h) != 0) goto done;

    char why[1024] = "", pbuf[1024];
    const char *script = c->peer ? c->peer : peer_find_script("peer_torch.py", argv0, pbuf, sizeof pbuf);
    int peer_ok = 0;
    if (c->no_peer) snprintf(why, sizeof why, "--no-peer");
    else if (c->adder) snprintf(why, sizeof why, "--adder: the peer has no adder layer");
    else if (peer_model_spec(m, spec, sizeof spec) != 0)
        snprintf(why, sizeof why, "arch %s has a layer the peer does not build", c->arch);
    else if (!script) snprintf(why, sizeof why, "bench/peer_torch.py not found (give --peer)");
    else peer_ok = run_peer(c, script, &ds, spec, n_train, n_eval, &t, why, sizeof why) == 0;
    report(c, &h, peer_ok ? &t : NULL, n_eval, why, rows);
    rc = 0;
done:
    nn_model_free(m);
    ds_free(&ds);
    return rc;
}

/* Runs a model in a child process (so its ru_maxrss is its own); returns its exit status. */
static int bench_child(const bench_cfg *c, const char *argv0, FILE *rows)
{
    fflush(stdout);
    fflush(rows);
    pid_t pid = fork();
    if (pid < 0) { perror("train_throughput: fork"); return 1; }
    if (pid == 0) {
        int rc = bench_model(c, argv0, rows);
        fflush(rows);
        exit(rc);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
    return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}

int main(int argc, char **argv)
{
    hx_omp_passive(argv);
    setvbuf(stdout, NULL, _IOLBF, 0);   /* progress shows up when piped to a file */
    const char *list = presets[0].model;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) { usage(stdout); return 0; }
        if (!strcmp(argv[i], "--model")) {
            if (i + 1 == argc) { fprintf(stderr, "train_throughput: --model needs a value\n"); return 2; }
            list = argv[++i];
        }
    }
    int idx[MAX_MODELS];
    int n = select_models(list, idx);
    if (n <= 0) return 2;
    bench_cfg cfg[MAX_MODELS];
    for (int i = 0; i < n; i++)
        if (model_cfg(idx[i], argc, argv, &cfg[i]) != 0) return 2;

    FILE *rows = tmpfile();
    if (!rows) { perror("train_throughput: tmpfile"); return 1; }
    int failed = 0;
    for (int i = 0; i < n; i++)
        failed |= (n == 1 ? bench_model(&cfg[i], argv[0], rows) : bench_child(&cfg[i], argv[0], rows)) != 0;

    rewind(rows);
    char line[512];
    for (int k = 0; fgets(line, sizeof line, rows); k++) {
        if (!k) printf("\n| mode | harness img/s (min / median / max) | PyTorch img/s (min / median / max) | "
                       "ratio (of medians) |\n| --- | --- | --- | --- |\n");
        fputs(line, stdout);
    }
    fclose(rows);
    return failed;
}
