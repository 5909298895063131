/* Training and inference throughput of the engine on LeNet-5 / MNIST, side by side with PyTorch
 * (bench/peer_torch.py, run as a subprocess when /usr/bin/python3 can import torch) on the same
 * model, images, batch, optimizer and thread count.
 *
 *   train_throughput [--h5 data/mnist.h5] [--raw data/raw/mnist] [--arch lenet5]
 *                    [--threads 2] [--batch 64] [--limit N] [--peer bench/peer_torch.py] [--no-peer]
 *
 * One epoch of SGD (momentum 0.9, lr 0.01) at batch 64, then inference at batch 1000 over the
 * test split; both sides get a few untimed warm-up steps. The harness side's time includes its
 * batch loader (uint8 -> normalized float), as the peer's includes its batch indexing. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "datasets/dataset.h"
#include "harness/omp_env.h"
#include "nn/loss.h"
#include "nn/model.h"
#include "nn/optim.h"

enum { WARMUP_STEPS = 3, SPEC_MAX = 4096 };

typedef struct {
    const char *h5, *raw, *arch, *peer;
    int threads, batch, eval_batch, no_peer;
    long limit;
} bench_opts;

typedef struct { double train_ips, infer_ips, test_acc; } bench_result;

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int file_exists(const char *p) { struct stat st; return stat(p, &st) == 0; }

static int parse_args(int argc, char **argv, bench_opts *o)
{
    *o = (bench_opts){ .h5 = "data/mnist.h5", .raw = "data/raw/mnist", .arch = "lenet5",
                       .peer = NULL, .threads = 2, .batch = 64, .eval_batch = 1000 };
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--no-peer")) { o->no_peer = 1; continue; }
        if (!v) { fprintf(stderr, "train_throughput: %s needs a value\n", a); return -1; }
        if (!strcmp(a, "--h5")) o->h5 = v;
        else if (!strcmp(a, "--raw")) o->raw = v;
        else if (!strcmp(a, "--arch")) o->arch = v;
        else if (!strcmp(a, "--peer")) o->peer = v;
        else if (!strcmp(a, "--threads")) o->threads = atoi(v);
        else if (!strcmp(a, "--batch")) o->batch = atoi(v);
        else if (!strcmp(a, "--limit")) o->limit = atol(v);
        else { fprintf(stderr, "train_throughput: unknown option %s\n", a); return -1; }
        i++;
    }
    if (o->threads < 1 || o->batch < 1 || o->limit < 0) {
        fprintf(stderr, "train_throughput: --threads and --batch must be >= 1, --limit >= 0\n");
        return -1;
    }
    return 0;
}

/* Loads MNIST from the HDF5 store, preparing it from the raw IDX files when only those exist. */
static int load_mnist(const bench_opts *o, ds_dataset *ds)
{
    char err[DS_ERR_MAX];
    if (!file_exists(o->h5)) {
        if (!file_exists(o->raw)) {
            fprintf(stderr, "train_throughput: MNIST not found (%s, nor raw files in %s); run "
                    "scripts/fetch_mnist.sh or `harness data mnist` first\n", o->h5, o->raw);
            return -1;
        }
        fprintf(stderr, "train_throughput: preparing %s from %s\n", o->h5, o->raw);
        if (ds_prepare("mnist", o->raw, o->h5, err, sizeof err) != 0) {
            fprintf(stderr, "train_throughput: %s\n", err);
            return -1;
        }
    }
    if (ds_load_h5(o->h5, ds, err, sizeof err) != 0) {
        fprintf(stderr, "train_throughput: %s\n", err);
        return -1;
    }
    return 0;
}

/* The model as a layer list for the peer; -1 when it is not a plain chain (e.g. residual). */
static int model_spec(const nn_model *m, char *out, size_t len)
{
    size_t o = 0;
    int prev = -1;
    out[0] = 0;
    for (int i = 0; i < m->n_nodes; i++) {
        const nn_node *n = &m->nodes[i];
        if (n->kind == NN_INPUT) { prev = i; continue; }
        if (n->n_in != 1 || n->in[0] != prev) return -1;
        prev = i;
        int w = 0;
        const char *sep = o ? "," : "";
        switch (n->kind) {
        case NN_CONV:
            w = snprintf(out + o, len - o, "%sconv:%d:%d:%d:%d:%d", sep, n->out_c, n->k, n->stride,
                         n->pad, n->has_bias);
            break;
        case NN_LINEAR:
            w = snprintf(out + o, len - o, "%slinear:%zu:%d:%d", sep, nn_dims_size(n->in_dims),
                         n->out_c, n->has_bias);
            break;
        case NN_MAXPOOL: w = snprintf(out + o, len - o, "%smaxpool:%d:%d", sep, n->k, n->stride); break;
        case NN_AVGPOOL: w = snprintf(out + o, len - o, "%savgpool:%d:%d", sep, n->k, n->stride); break;
        case NN_GAP: w = snprintf(out + o, len - o, "%sgap", sep); break;
        case NN_BATCHNORM: w = snprintf(out + o, len - o, "%sbn", sep); break;
        case NN_RELU: w = snprintf(out + o, len - o, "%srelu", sep); break;
        case NN_HARDTANH: w = snprintf(out + o, len - o, "%shardtanh:%g", sep, (double)n->clip); break;
        case NN_FLATTEN: w = snprintf(out + o, len - o, "%sflatten", sep); break;
        default: return -1;
        }
        if (w < 0 || (size_t)w >= len - o) return -1;
        o += (size_t)w;
    }
    return 0;
}

/* Normalizes a whole split through the loader (so inference timing covers the model only,
 * as on the peer's side). */
static int load_split(const ds_dataset *ds, const ds_split *sp, size_t px, float **x, uint8_t **y)
{
    ds_loader ld;
    *x = malloc((size_t)sp->n * px * sizeof **x);
    *y = malloc(sp->n ? sp->n : 1);
    if (!*x || !*y || ds_loader_init(&ld, ds, sp, 0, sp->n, 1000, 0, 0, 1) != 0) return -1;
    int got;
    for (size_t off = 0; (got = ds_loader_next(&ld, *x + off * px, *y + off)) > 0; off += (size_t)got) {}
    ds_loader_free(&ld);
    return 0;
}

static void train_step(nn_model *m, nn_optim *opt, const float *x, const uint8_t *y, int b,
                       int n_classes, float *dl)
{
    int correct;
    nn_zero_grad(m);
    nn_softmax_xent(nn_forward(m, x, b, 1), y, b, n_classes, dl, &correct);
    nn_backward(m, dl, b);
    nn_optim_step(opt, m, 0.01f);
}

static int run_harness(const bench_opts *o, const ds_dataset *ds, nn_model *m, uint32_t n_train,
                       bench_result *r)
{
    int nc = ds->n_classes, cap = o->batch > o->eval_batch ? o->batch : o->eval_batch;
    size_t px = nn_dims_size(m->in_dims);
    nn_optim opt;
    ds_loader ld;
    if (nn_model_reserve(m, cap) != 0 || nn_optim_init(&opt, NN_SGD, m) != 0) {
        fprintf(stderr, "train_throughput: out of memory\n");
        return -1;
    }
    opt.momentum = 0.9f;
    float *x = malloc((size_t)o->batch * px * sizeof *x);
    float *dl = malloc((size_t)cap * (size_t)nc * sizeof *dl);
    uint8_t *y = malloc((size_t)o->batch);
    float *xt = NULL;
    uint8_t *yt = NULL;
    int rc = -1;
    if (!x || !dl || !y || load_split(ds, &ds->test, px, &xt, &yt) != 0 ||
        ds_loader_init(&ld, ds, &ds->train, 0, n_train, o->batch, 1, 0, 1) != 0) {
        fprintf(stderr, "train_throughput: out of memory\n");
        goto done;
    }

    int got;
    for (int s = 0; s < WARMUP_STEPS && (got = ds_loader_next(&ld, x, y)) > 0; s++)
        train_step(m, &opt, x, y, got, nc, dl);
    ds_loader_rewind(&ld);
    double t0 = now_s();
    long seen = 0;
    while ((got = ds_loader_next(&ld, x, y)) > 0) {
        train_step(m, &opt, x, y, got, nc, dl);
        seen += got;
    }
    r->train_ips = (double)seen / (now_s() - t0);
    ds_loader_free(&ld);

    uint32_t n_test = ds->test.n;
    int eb = o->eval_batch < (int)n_test ? o->eval_batch : (int)n_test;
    nn_forward(m, xt, eb, 0);   /* warm-up */
    long hits = 0;
    t0 = now_s();
    for (uint32_t off = 0; off < n_test; off += (uint32_t)eb) {
        int b = n_test - off < (uint32_t)eb ? (int)(n_test - off) : eb;
        const float *logits = nn_forward(m, xt + (size_t)off * px, b, 0);
        for (int i = 0; i < b; i++) hits += nn_argmax(logits + (size_t)i * nc, nc) == yt[off + i];
    }
    r->infer_ips = (double)n_test / (now_s() - t0);
    r->test_acc = 100.0 * (double)hits / (double)n_test;
    rc = 0;
done:
    free(x); free(dl); free(y); free(xt); free(yt);
    nn_optim_free(&opt);
    return rc;
}

/* Raw dump for the peer: train images, train labels, test images, test labels (uint8). */
static int write_dump(const ds_dataset *ds, uint32_t n_train, char *path, size_t len)
{
    snprintf(path, len, "/tmp/hx_peer_XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0) return -1;
    FILE *f = fdopen(fd, "wb");
    if (!f) { close(fd); unlink(path); return -1; }
    size_t px = (size_t)ds->c * (size_t)ds->h * (size_t)ds->w;
    int ok = fwrite(ds->train.images, px, n_train, f) == n_train &&
             fwrite(ds->train.labels, 1, n_train, f) == n_train &&
             fwrite(ds->test.images, px, ds->test.n, f) == ds->test.n &&
             fwrite(ds->test.labels, 1, ds->test.n, f) == ds->test.n;
    if (fclose(f) != 0 || !ok) { unlink(path); return -1; }
    return 0;
}

/* The peer script: --peer, else bench/peer_torch.py from the working directory, else next to
 * the source tree as seen from build/bench/<exe>. */
static const char *find_peer(const bench_opts *o, const char *argv0, char *buf, size_t len)
{
    if (o->peer) return o->peer;
    if (file_exists("bench/peer_torch.py")) return "bench/peer_torch.py";
    const char *slash = strrchr(argv0, '/');
    if (slash) {
        snprintf(buf, len, "%.*s/../../bench/peer_torch.py", (int)(slash - argv0), argv0);
        if (file_exists(buf)) return buf;
    }
    return NULL;
}

/* Runs the peer; 0 with its numbers, else a reason in why. */
static int run_peer(const bench_opts *o, const char *script, const ds_dataset *ds,
                    const char *spec, uint32_t n_train, bench_result *r, char *why, size_t wlen)
{
    char dump[64], cmd[SPEC_MAX + 1024], line[512];
    if (write_dump(ds, n_train, dump, sizeof dump) != 0) {
        snprintf(why, wlen, "cannot write the data dump in /tmp: %s", strerror(errno));
        return -1;
    }
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 '%s' --data %s --shape %u,%u,%d,%d,%d --mean %.9g --std %.9g "
             "--spec '%s' --threads %d --batch %d --eval-batch %d --lr 0.01 --momentum 0.9 "
             "--warmup %d 2>&1",
             script, dump, n_train, ds->test.n, ds->c, ds->h, ds->w, (double)ds->mean[0],
             (double)ds->std[0], spec, o->threads, o->batch, o->eval_batch, WARMUP_STEPS);
    FILE *p = popen(cmd, "r");
    if (!p) { unlink(dump); snprintf(why, wlen, "cannot start /usr/bin/python3"); return -1; }
    int have = 0;
    why[0] = 0;
    while (fgets(line, sizeof line, p)) {
        double v;
        if (sscanf(line, "train_ips %lf", &v) == 1) { r->train_ips = v; have |= 1; }
        else if (sscanf(line, "infer_ips %lf", &v) == 1) { r->infer_ips = v; have |= 2; }
        else if (sscanf(line, "test_acc %lf", &v) == 1) r->test_acc = v;
        else if (!strncmp(line, "version ", 8)) printf("peer   torch %s", line + 8);
        else if (!why[0]) { snprintf(why, wlen, "%s", line); why[strcspn(why, "\n")] = 0; }
    }
    int st = pclose(p);
    unlink(dump);
    if (have != 3) {
        if (!why[0]) snprintf(why, wlen, "peer exited with status %d", st);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    hx_omp_passive(argv);
    setvbuf(stdout, NULL, _IOLBF, 0);   /* progress shows up when piped to a file */
    bench_opts o;
    if (parse_args(argc, argv, &o) != 0) return 2;
    ds_dataset ds;
    memset(&ds, 0, sizeof ds);
    if (load_mnist(&o, &ds) != 0) return 1;
    if (ds.c != 1) {
        fprintf(stderr, "train_throughput: %s has %d channels; the bench normalizes one\n", o.h5, ds.c);
        return 1;
    }
    uint32_t n_train = o.limit && (uint32_t)o.limit < ds.train.n ? (uint32_t)o.limit : ds.train.n;

    char err[NN_ERR_MAX], spec[SPEC_MAX];
    nn_model *m = nn_model_create(o.arch, (nn_dims){ ds.c, ds.h, ds.w }, ds.n_classes, err, sizeof err);
    if (!m) { fprintf(stderr, "train_throughput: %s\n", err); return 1; }
    nn_rng rng;
    nn_rng_seed(&rng, 1, 0);
    nn_model_init(m, NN_INIT_KAIMING_NORMAL, &rng);
    nn_model_set_threads(m, o.threads);
    int chain = model_spec(m, spec, sizeof spec) == 0;

    printf("bench  %s on %s: %u train / %u test images, batch %d, SGD momentum 0.9 lr 0.01, "
           "%d threads; inference batch %d\n", o.arch, ds.name, n_train, ds.test.n, o.batch,
           o.threads, o.eval_batch);
    bench_result h = { 0 }, t = { 0 };
    if (run_harness(&o, &ds, m, n_train, &h) != 0) { nn_model_free(m); ds_free(&ds); return 1; }

    char why[512] = "", pbuf[1024];
    const char *script = find_peer(&o, argv[0], pbuf, sizeof pbuf);
    int peer_ok = 0;
    if (o.no_peer) snprintf(why, sizeof why, "--no-peer");
    else if (!chain) snprintf(why, sizeof why, "arch %s is not a plain chain of layers", o.arch);
    else if (!script) snprintf(why, sizeof why, "bench/peer_torch.py not found (give --peer)");
    else peer_ok = run_peer(&o, script, &ds, spec, n_train, &t, why, sizeof why) == 0;

    if (peer_ok) {
        printf("train  harness %.0f img/s  torch %.0f img/s  ratio %.2fx\n", h.train_ips,
               t.train_ips, h.train_ips / t.train_ips);
        printf("infer  harness %.0f img/s  torch %.0f img/s  ratio %.2fx\n", h.infer_ips,
               t.infer_ips, h.infer_ips / t.infer_ips);
        printf("acc    harness %.2f%%  torch %.2f%%  (test, after the timed epoch)\n", h.test_acc,
               t.test_acc);
    } else {
        printf("train  harness %.0f img/s  (no torch peer: %s)\n", h.train_ips, why);
        printf("infer  harness %.0f img/s\n", h.infer_ips);
        printf("acc    harness %.2f%%  (test, after the timed epoch)\n", h.test_acc);
    }
    nn_model_free(m);
    ds_free(&ds);
    return 0;
}
