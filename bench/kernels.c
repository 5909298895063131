/* Kernel rates: the engine's conv layer (im2col + GEMM for multiply-accumulate, nn/adder.c for
 * AdderNet) against the plain scalar references of nn/kernels_ref.c, forward and backward, on
 * layer shapes from LeNet-5 and ResNet-20. Also checks that each fast result matches its
 * reference. Then the packed INT8 layers (oneDNN's int8 convolution and matmul, deploy/) against
 * the fp32 im2col + OpenBLAS path the runtime runs an F32 layer with, in the same run.
 *
 *   kernels [--threads 2] [--min-time 0.3] [--reps 7] [--part all|engine|int8] [--cpu]
 *
 * --cpu times the engine part by the process's CPU time (all threads) instead of wall time: on a
 * machine another job keeps busy, a pass's CPU time barely changes while its wall time follows
 * the other job, so rates per CPU-second are comparable between runs (a 2-thread pass's ideal
 * wall time is half its CPU time; idle OpenMP threads wait passively and cost none).
 *
 * Operations are counted as 2 per (output, weight) term and pass: multiply + add for MAC,
 * subtract + accumulate for the adder kernel (the abs is free, as the paper counts it). The
 * backward pass computes dW and dX, so it counts twice the forward's terms; the dW row times a
 * backward without dX (a first layer's), the dX row the difference. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include "harness/omp_env.h"
#include "deploy/format.h"
#include "deploy/kernels.h"
#include "nn/im2col.h"
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

/* ---- INT8: the packed layers of PTQ against the runtime's fp32 path ----
 * int8: dp_int8_conv over the batch (input rounding to the grid, oneDNN's u8 x s8 convolution,
 * the output scales, back to NCHW), or dp_int8_linear (oneDNN's matmul on the sample-major
 * batch) for a linear layer. f32: per sample, im2col + F32 dp_gemm (CBLAS sgemm), as runtime/exec.c runs an F32
 * layer; a linear layer one sgemm. engine: the engine's own fp32 conv layer (oneDNN's fp32
 * convolution for kernels up to 3x3, else im2col + GEMM), what the simulated model runs.
 * int8 gemm: the per-sample path INT8 conv layers had before (im2col + oneDNN's int8 matmul).
 * Both fp32 paths get the input already on the grid, so all three compute the same layer
 * ("max rel" compares int8 to f32; the two int8 paths must agree bit for bit, else the row
 * says so). Repetitions alternate the paths, each at least min_time / reps long; a ratio is the
 * other path's median time over int8's; "cpu vs f32" and "cpu vs eng" the same from process
 * CPU time over all repetitions, which a loaded machine disturbs less than wall time. */
enum { KI_MAX_REPS = 64 };

typedef struct {
    const char *label;
    int n, c, h, w, o, k, stride, pad, linear;
} ki_shape;

static const ki_shape ki_shapes[] = {
    { "lenet5 conv1", 64, 1, 28, 28, 20, 5, 1, 0, 0 },
    { "lenet5 conv2", 64, 20, 12, 12, 50, 5, 1, 0, 0 },
    { "resnet20 s1", 64, 16, 32, 32, 16, 3, 1, 1, 0 },
    { "resnet20 s2", 64, 32, 16, 16, 32, 3, 1, 1, 0 },
    { "resnet20 s3", 64, 64, 8, 8, 64, 3, 1, 1, 0 },
    { "resnet20 s2 down", 64, 16, 32, 32, 32, 3, 2, 1, 0 },
    { "lenet5 fc1", 64, 800, 1, 1, 500, 1, 1, 0, 1 },
    { "lenet5 fc2", 64, 500, 1, 1, 10, 1, 1, 0, 1 },
    { "resnet20 fc", 64, 64, 1, 1, 10, 1, 1, 0, 1 },
};

enum { KI_INT8, KI_F32, KI_ENGINE, KI_INT8_GEMM, KI_PATHS };

typedef struct {
    const ki_shape *s;
    dp_conv_shape cs;
    nn_conv_geom g;
    dp_matrix q, f;            /* INT8 and F32 weights: the same values */
    nn_model *m;               /* the engine's conv (NULL for a linear layer) */
    nn_node *cv;
    float *x, *xq, *xt, *y, *yf, *col;   /* raw input, on the grid, transposed (linear), outputs, im2col */
    dp_exec ex;
} ki_ctx;

static void ki_die(const char *what) { fprintf(stderr, "kernels: %s\n", what); exit(1); }

static void ki_run(ki_ctx *c, int path)
{
    const ki_shape *s = c->s;
    const size_t per_in = (size_t)s->c * s->h * s->w, npix = nn_conv_geom_cols(&c->g), per_out = (size_t)s->o * npix;
    if (s->linear) {   /* columns = samples, as runtime/exec.c hands a linear layer to the GEMM */
        if (path == KI_INT8) dp_int8_linear(&c->q, s->n, c->x, c->y, NULL, NULL, &c->ex);   /* y: n x o */
        else dp_gemm(&c->f, s->n, c->xt, (size_t)s->n, c->yf, (size_t)s->n, &c->ex);            /* yf: o x n */
        return;
    }
    if (path == KI_INT8) {
        dp_int8_conv(&c->q, &c->cs, c->x, c->y, NULL, NULL, &c->ex);
    } else if (path == KI_F32 || path == KI_INT8_GEMM) {
        const float *x = path == KI_F32 ? c->xq : c->x;
        float *y = path == KI_F32 ? c->yf : c->y;
        for (int b = 0; b < s->n; b++) {
            nn_im2col(&c->g, x + b * per_in, c->col, npix);
            dp_gemm(path == KI_F32 ? &c->f : &c->q, (int)npix, c->col, npix, y + b * per_out, npix, &c->ex);
        }
    } else {
        nn_layer_table[NN_CONV].forward(c->m, c->cv, c->xq, NULL, s->n, 0);
    }
}

static void ki_setup(ki_ctx *c, const ki_shape *s, int threads)
{
    memset(c, 0, sizeof *c);
    c->s = s;
    c->ex = dp_exec_default(threads);
    c->cs = (dp_conv_shape){ s->n, s->c, s->h, s->w, s->k, s->stride, s->pad };
    c->g = (nn_conv_geom){ s->c, s->h, s->w, s->k, s->stride, s->pad, dp_conv_out(s->h, s->k, s->stride, s->pad),
                           dp_conv_out(s->w, s->k, s->stride, s->pad) };
    const int cols = s->c * s->k * s->k;
    nn_rng rng;
    nn_rng_seed(&rng, 5, 0);
    float *w = malloc((size_t)s->o * cols * sizeof *w);
    if (!w) ki_die("out of memory");
    for (int r = 0; r < s->o; r++) {   /* per-channel symmetric 8-bit grid, as PTQ leaves them */
        const float step = 0.02f / (1 + r % 7);
        for (int i = 0; i < cols; i++) {
            float v = nearbyintf(40.0f * nn_rng_normal(&rng));
            w[(size_t)r * cols + i] = step * fmaxf(-127.0f, fminf(127.0f, v));
        }
    }
    char err[256];
    if (dp_matrix_pack(&c->q, DP_FORMAT_INT8, s->o, cols, w, err, sizeof err) ||
        dp_int8_set_input(&c->q, 0.02f, 17, 255, err, sizeof err))
        ki_die(err);
    dp_format_table[DP_FORMAT_INT8].unpack(&c->q, w);
    if (dp_matrix_pack(&c->f, DP_FORMAT_F32, s->o, cols, w, err, sizeof err)) ki_die(err);
    const size_t nx = (size_t)s->n * s->c * s->h * s->w, ny = (size_t)s->n * s->o * nn_conv_geom_cols(&c->g);
    c->x = malloc(nx * sizeof *c->x);
    c->xq = malloc(nx * sizeof *c->xq);
    c->xt = malloc(nx * sizeof *c->xt);
    c->y = malloc(ny * sizeof *c->y);
    c->yf = malloc(ny * sizeof *c->yf);
    c->col = malloc((size_t)cols * nn_conv_geom_cols(&c->g) * sizeof *c->col);
    if (!c->x || !c->xq || !c->xt || !c->y || !c->yf || !c->col) ki_die("out of memory");
    const dp_head_int8 *h = dp_int8_head(&c->q);
    for (size_t i = 0; i < nx; i++) {   /* activations after a ReLU: half zeros, some past the grid's top */
        c->x[i] = fmaxf(0.0f, 2.0f * nn_rng_normal(&rng));
        c->xq[i] = (float)(dp_int8_level(h, c->x[i]) - h->x_zero) * h->x_scale;
    }
    for (int b = 0; b < s->n; b++)
        for (int i = 0; i < cols; i++) c->xt[(size_t)i * s->n + b] = c->xq[(size_t)b * cols + i];
    if (!s->linear) {
        const shape es = { s->label, s->n, s->c, s->h, s->w, s->o, s->k, s->stride, s->pad };
        c->m = one_conv(&es, NN_KERNEL_MAC, threads, &c->cv);
        memcpy(c->cv->w, w, (size_t)s->o * cols * sizeof *w);
        nn_forward(c->m, c->xq, s->n, 0);   /* sets up w_eff and the oneDNN plan */
    }
    free(w);
}

static void ki_free(ki_ctx *c)
{
    dp_matrix_free(&c->q);
    dp_matrix_free(&c->f);
    if (c->m) nn_model_free(c->m);
    free(c->x); free(c->xq); free(c->xt); free(c->y); free(c->yf); free(c->col);
}

static double ki_cpu_s(void)
{
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return (double)u.ru_utime.tv_sec + (double)u.ru_stime.tv_sec +
           1e-6 * ((double)u.ru_utime.tv_usec + (double)u.ru_stime.tv_usec);
}

static int ki_cmp(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int ki_bench_int8(int threads, int reps, double min_time)
{
    printf("\nINT8 (%s) vs fp32, %d threads, batch 64, %d repetitions (ms per call: min / median / max)\n",
           dp_int8_conv_onednn() ? "oneDNN int8" : "no VNNI: scalar reference", threads, reps);
    printf("%-17s %-22s %-24s %-24s %-24s %-24s %8s %8s %8s %9s %10s %10s  %s\n", "layer", "shape n,c,hxw->o,k,s", "int8",
           "f32 im2col+sgemm", "engine fp32 conv", "int8 gemm (before)", "vs f32", "vs eng", "vs gemm", "max rel",
           "cpu vs f32", "cpu vs eng", "int8 implementation");
    for (size_t i = 0; i < sizeof ki_shapes / sizeof ki_shapes[0]; i++) {
        ki_ctx c;
        ki_setup(&c, &ki_shapes[i], threads);
        const ki_shape *s = c.s;
        double t[KI_PATHS][KI_MAX_REPS], cpu[KI_PATHS] = { 0 };
        long calls_all[KI_PATHS] = { 0 };
        const int paths = s->linear ? KI_ENGINE : KI_PATHS;
        for (int p = 0; p < paths; p++) ki_run(&c, p);   /* warm: primitives, pages */
        for (int r = 0; r < reps; r++)
            for (int p = 0; p < paths; p++) {
                int calls = 0;
                double t0 = now_s(), c0 = ki_cpu_s(), e;
                do { ki_run(&c, p); calls++; } while ((e = now_s() - t0) < min_time / reps);
                t[p][r] = e / calls;
                cpu[p] += ki_cpu_s() - c0;
                calls_all[p] += calls;
            }
        for (int p = 0; p < paths; p++) qsort(t[p], (size_t)reps, sizeof t[p][0], ki_cmp);
        const size_t ny = (size_t)s->n * s->o * nn_conv_geom_cols(&c.g);
        ki_run(&c, KI_INT8);
        if (s->linear) {   /* int8's y is sample-major: compare it as f32's o x n */
            float *t = malloc(ny * sizeof *t);
            if (!t) ki_die("out of memory");
            for (int b = 0; b < s->n; b++)
                for (int r = 0; r < s->o; r++) t[(size_t)r * s->n + b] = c.y[(size_t)b * s->o + r];
            memcpy(c.y, t, ny * sizeof *t);
            free(t);
        }
        const double diff = max_rel_diff(c.y, c.yf, ny);
        int same = 1;   /* the batched conv gives the per-sample path's numbers, bit for bit */
        if (paths == KI_PATHS) {
            float *y1 = malloc(ny * sizeof *y1);
            if (!y1) ki_die("out of memory");
            memcpy(y1, c.y, ny * sizeof *y1);
            ki_run(&c, KI_INT8_GEMM);
            same = !memcmp(y1, c.y, ny * sizeof *y1);
            free(y1);
        }
        char sh[64], cell[KI_PATHS][32];
        snprintf(sh, sizeof sh, "%d,%d,%dx%d->%d,k%d,s%d", s->n, s->c, s->h, s->w, s->o, s->k, s->stride);
        for (int p = 0; p < KI_PATHS; p++)
            if (p < paths) snprintf(cell[p], sizeof cell[p], "%.3f/%.3f/%.3f", 1e3 * t[p][0], 1e3 * t[p][reps / 2],
                                    1e3 * t[p][reps - 1]);
            else snprintf(cell[p], sizeof cell[p], "-");
        char veng[16] = "-", vgemm[16] = "-", ceng[16] = "-";
        if (paths == KI_PATHS) {
            snprintf(ceng, sizeof ceng, "%.2fx", (cpu[KI_ENGINE] / calls_all[KI_ENGINE]) / (cpu[KI_INT8] / calls_all[KI_INT8]));
            snprintf(veng, sizeof veng, "%.2fx", t[KI_ENGINE][reps / 2] / t[KI_INT8][reps / 2]);
            snprintf(vgemm, sizeof vgemm, "%.2fx", t[KI_INT8_GEMM][reps / 2] / t[KI_INT8][reps / 2]);
        }
        printf("%-17s %-22s %-24s %-24s %-24s %-24s %7.2fx %8s %8s %9.1e %9.2fx %10s  %s%s\n", s->label, sh,
               cell[KI_INT8], cell[KI_F32], cell[KI_ENGINE], cell[KI_INT8_GEMM], t[KI_F32][reps / 2] / t[KI_INT8][reps / 2],
               veng, vgemm, diff, (cpu[KI_F32] / calls_all[KI_F32]) / (cpu[KI_INT8] / calls_all[KI_INT8]), ceng,
               s->linear ? "matmul (dp_int8_linear)" : dp_int8_conv_impl(&c.q, &c.cs), same ? "" : " DIFFERS from the per-sample path");
        ki_free(&c);
    }
    return 0;
}

int main(int argc, char **argv)
{
    hx_omp_passive(argv);
    int threads = 2, reps = 7;
    double min_time = 0.3;
    const char *part = "all";
    for (int i = 1; i < argc; i++) {
        const int has_value = i + 1 < argc;
        if (!strcmp(argv[i], "--cpu")) bench_clock = CLOCK_PROCESS_CPUTIME_ID;
        else if (has_value && !strcmp(argv[i], "--threads")) threads = atoi(argv[++i]);
        else if (has_value && !strcmp(argv[i], "--min-time")) min_time = atof(argv[++i]);
        else if (has_value && !strcmp(argv[i], "--reps")) reps = atoi(argv[++i]);
        else if (has_value && !strcmp(argv[i], "--part")) part = argv[++i];
        else { fprintf(stderr, "kernels: unknown option or missing value: %s\n", argv[i]); return 2; }
    }
    if (threads < 1) { fprintf(stderr, "kernels: --threads must be >= 1\n"); return 2; }
    if (reps < 1 || reps > KI_MAX_REPS) { fprintf(stderr, "kernels: --reps must be 1..%d\n", KI_MAX_REPS); return 2; }
    if (strcmp(part, "all") && strcmp(part, "engine") && strcmp(part, "int8")) {
        fprintf(stderr, "kernels: --part is all, engine or int8, not %s\n", part);
        return 2;
    }
    if (!strcmp(part, "int8")) return ki_bench_int8(threads, reps, min_time);
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
    return strcmp(part, "all") ? 0 : ki_bench_int8(threads, reps, min_time);
}
