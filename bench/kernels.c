/* Kernel rates: the engine's conv layer (im2col + GEMM for multiply-accumulate, nn/adder.c for
 * AdderNet) against the plain scalar references of nn/kernels_ref.c, forward and backward, on
 * layer shapes from LeNet-5 and ResNet-20. Also checks that each fast result matches its
 * reference.
 *
 *   kernels [--threads 2] [--min-time 0.3] [--cpu]
 *
 * --cpu times by the process's CPU time (all threads) instead of wall time: on a machine another
 * job keeps busy, a pass's CPU time barely changes while its wall time follows the other job, so
 * rates per CPU-second are comparable between runs (a 2-thread pass's ideal wall time is half
 * its CPU time; idle OpenMP threads wait passively and cost none).
 *
 * Operations are counted as 2 per (output, weight) term and pass: multiply + add for MAC,
 * subtract + accumulate for the adder kernel (the abs is free, as the paper counts it). The
 * backward pass computes dW and dX, so it counts twice the forward's terms; the dW row times a
 * backward without dX (a first layer's), the dX row the difference. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "harness/omp_env.h"
#include "nn/kernels_ref.h"
#include "nn/layer.h"
#include "nn/model.h"

typedef struct {
    const char *label;
    int n, c, h, w, o, k, stride, pad;
} shape;

static const shape shapes[] = {
    { "lenet5 conv2", 64, 20, 12, 12, 50, 5, 1, 0 },
    { "resnet20 s1", 64, 16, 32, 32, 16, 3, 1, 1 },
    { "resnet20 s2", 64, 32, 16, 16, 32, 3, 1, 1 },
    { "resnet20 s3", 64, 64, 8, 8, 64, 3, 1, 1 },
};

static clockid_t bench_clock = CLOCK_MONOTONIC;

static double now_s(void)
{
    struct timespec t;
    clock_gettime(bench_clock, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void fill(float *v, size_t n, nn_rng *r, float scale)
{
    for (size_t i = 0; i < n; i++) v[i] = scale * nn_rng_normal(r);
}

static double max_rel_diff(const float *a, const float *b, size_t n)
{
    double d = 0, s = 1e-12;
    for (size_t i = 0; i < n; i++) {
        d = fmax(d, fabs((double)a[i] - b[i]));
        s = fmax(s, fabs((double)b[i]));
    }
    return d / s;
}

/* A model holding just the conv under test (plus a head so it is a classifier). */
static nn_model *one_conv(const shape *s, nn_kernel kernel, int threads, nn_node **conv)
{
    nn_builder *b = nn_builder_new("bench", (nn_dims){ s->c, s->h, s->w }, 10);
    int x = nn_add_conv(b, "conv", -1, s->o, s->k, s->stride, s->pad, 0);
    x = nn_add_linear(b, "head", nn_add_flatten(b, "flat", x), 10, 1);
    char err[NN_ERR_MAX];
    nn_model *m = x >= 0 ? nn_builder_finish(b, err, sizeof err) : NULL;
    if (!m) { fprintf(stderr, "kernels: cannot build %s\n", s->label); exit(1); }
    nn_rng rng;
    nn_rng_seed(&rng, 3, 0);
    nn_model_init(m, NN_INIT_KAIMING_NORMAL, &rng);
    nn_model_set_threads(m, threads);
    *conv = NULL;
    for (int i = 0; i < m->n_nodes; i++)
        if (m->nodes[i].kind == NN_CONV) *conv = &m->nodes[i];
    (*conv)->kernel = kernel;
    if (nn_model_reserve(m, s->n) != 0) { fprintf(stderr, "kernels: out of memory\n"); exit(1); }
    return m;
}

typedef struct { double fast_s, ref_s, diff; } timing;   /* ref_s, diff: 0 when not measured */

typedef struct { nn_model *m; nn_node *cv; const float *x; float *dx; int n; } pass_ctx;

static void pass_fwd(const pass_ctx *c) { nn_layer_table[NN_CONV].forward(c->m, c->cv, c->x, NULL, c->n, 1); }
static void pass_bwd(const pass_ctx *c) { nn_layer_table[NN_CONV].backward(c->m, c->cv, c->x, NULL, c->dx, NULL, c->n); }
/* A first layer's backward: weight gradients only, so dX's share is bwd - dW. */
static void pass_dw(const pass_ctx *c) { nn_layer_table[NN_CONV].backward(c->m, c->cv, c->x, NULL, NULL, NULL, c->n); }

/* Repeats a pass until min_time has passed; returns seconds per call. */
static double time_pass(void (*fn)(const pass_ctx *), const pass_ctx *c, double min_time)
{
    double t0 = now_s(), e;
    int reps = 0;
    do { fn(c); reps++; } while ((e = now_s() - t0) < min_time);
    return e / reps;
}

static void bench_shape(const shape *s, nn_kernel kernel, int threads, double min_time,
                        timing *fwd, timing *bwd, timing *dw)
{
    nn_node *cv;
    nn_model *m = one_conv(s, kernel, threads, &cv);
    const size_t nx = (size_t)s->n * nn_dims_size(cv->in_dims);
    const size_t ny = (size_t)s->n * nn_dims_size(cv->out_dims);
    float *x = malloc(nx * sizeof *x), *dx = calloc(nx, sizeof *dx), *dxr = calloc(nx, sizeof *dxr);
    float *yr = malloc(ny * sizeof *yr), *dwr = calloc(cv->nw, sizeof *dwr);
    if (!x || !dx || !dxr || !yr || !dwr) { fprintf(stderr, "kernels: out of memory\n"); exit(1); }
    nn_rng rng;
    nn_rng_seed(&rng, 4, 0);
    fill(x, nx, &rng, 1.0f);
    nn_forward(m, x, s->n, 1);            /* lets the driver set up w_eff and buffers */
    fill(cv->dout, ny, &rng, 0.01f);
    const nn_layer_ops *ops = &nn_layer_table[NN_CONV];
    nn_ref_conv geo = { s->n, s->c, s->h, s->w, s->o, s->k, s->stride, s->pad, kernel };

    /* one checked pass each */
    ops->forward(m, cv, x, NULL, s->n, 1);
    double t0 = now_s();
    nn_ref_conv_forward(&geo, x, cv->w_eff, NULL, yr);
    fwd->ref_s = now_s() - t0;
    fwd->diff = max_rel_diff(cv->out, yr, ny);
    memset(cv->gw, 0, cv->nw * sizeof *cv->gw);
    ops->backward(m, cv, x, NULL, dx, NULL, s->n);
    t0 = now_s();
    nn_ref_conv_backward(&geo, x, cv->w_eff, cv->dout, dxr, dwr, NULL);
    bwd->ref_s = now_s() - t0;
    bwd->diff = fmax(max_rel_diff(cv->gw, dwr, cv->nw), max_rel_diff(dx, dxr, nx));

    const pass_ctx pc = { m, cv, x, dx, s->n };
    fwd->fast_s = time_pass(pass_fwd, &pc, min_time);
    bwd->fast_s = time_pass(pass_bwd, &pc, min_time);
    *dw = (timing){ time_pass(pass_dw, &pc, min_time), 0, 0 };
    free(x); free(dx); free(dxr); free(yr); free(dwr);
    nn_model_free(m);
}

int main(int argc, char **argv)
{
    hx_omp_passive(argv);
    int threads = 2;
    double min_time = 0.3;
    for (int i = 1; i < argc; i++) {
        const int has_value = i + 1 < argc;
        if (!strcmp(argv[i], "--cpu")) bench_clock = CLOCK_PROCESS_CPUTIME_ID;
        else if (has_value && !strcmp(argv[i], "--threads")) threads = atoi(argv[++i]);
        else if (has_value && !strcmp(argv[i], "--min-time")) min_time = atof(argv[++i]);
        else { fprintf(stderr, "kernels: unknown option or missing value: %s\n", argv[i]); return 2; }
    }
    if (threads < 1) { fprintf(stderr, "kernels: --threads must be >= 1\n"); return 2; }
    static const char *const kname[NN_KERNEL_COUNT] = { [NN_KERNEL_MAC] = "mac",
                                                         [NN_KERNEL_ADDER] = "adder" };
    printf("fast: engine conv layer, %d threads; ref: scalar reference, 1 thread; rates per %s "
           "second\n", threads, bench_clock == CLOCK_MONOTONIC ? "wall-clock" : "CPU");
    printf("%-6s %-5s %-14s %-26s %9s %9s %8s %9s\n", "kernel", "pass", "layer", "shape n,c,hxw->o,k",
           "fast GF/s", "ref GF/s", "ratio", "max rel");
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
        for (int kern = 0; kern < NN_KERNEL_COUNT; kern++) {
            const shape *s = &shapes[i];
            timing f, b, d;
            bench_shape(s, (nn_kernel)kern, threads, min_time, &f, &b, &d);
            int oh = nn_ref_conv_out(s->h, s->k, s->stride, s->pad);
            int ow = nn_ref_conv_out(s->w, s->k, s->stride, s->pad);
            double terms = (double)s->n * s->o * oh * ow * s->c * s->k * s->k;
            char sh[64];
            snprintf(sh, sizeof sh, "%d,%d,%dx%d->%d,k%d", s->n, s->c, s->h, s->w, s->o, s->k);
            const timing *t[2] = { &f, &b };
            const char *pass[2] = { "fwd", "bwd" };
            for (int p = 0; p < 2; p++) {
                double ops = 2 * terms * (p ? 2 : 1);
                printf("%-6s %-5s %-14s %-26s %9.2f %9.2f %7.1fx %9.1e\n", kname[kern], pass[p],
                       s->label, sh, ops / t[p]->fast_s * 1e-9, ops / t[p]->ref_s * 1e-9,
                       t[p]->ref_s / t[p]->fast_s, t[p]->diff);
            }
            /* the backward's two halves: dW alone, dX = bwd - dW (no reference timing) */
            printf("%-6s %-5s %-14s %-26s %9.2f %9s\n", kname[kern], "dW", s->label, sh,
                   2 * terms / d.fast_s * 1e-9, "-");
            if (b.fast_s > d.fast_s)
                printf("%-6s %-5s %-14s %-26s %9.2f %9s\n", kname[kern], "dX", s->label, sh,
                       2 * terms / (b.fast_s - d.fast_s) * 1e-9, "-");
        }
    return 0;
}
