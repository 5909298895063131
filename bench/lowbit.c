/* Low-bit kernel rates (deploy/): each packed format's GEMM against fp32 CBLAS sgemm on the
 * same shape, measured in the same run, for the GEMM shapes of the networks' layers:
 *
 *   resnet20 s3   64-channel 3x3 stage:  M = 64,  K = 576, N = 64 positions x batch
 *   resnet20 s1   16-channel 3x3 stage:  M = 16,  K = 144, N = 1024 positions x batch
 *   lenet5 conv2                         M = 50,  K = 500, N = 64 positions x batch
 *   lenet300 fc1                         M = 300, K = 784, N = batch
 *
 *   lowbit [--batch 64] [--reps 7] [--threads 1,2] [--isa avx512|avx2|portable] [--density 0.1]
 *          [--shape SUBSTRING] [--kernel SUBSTRING]   (f32 sgemm always runs: the ratios need it)
 *
 * Rates are GFLOP-equivalent: 2 M N K per call whatever the kernel does (CSR too, so its
 * ratio is its speed-up over the dense GEMM). Each call is timed alone; min / median / max
 * over --reps calls after one warm-up. "vs f32" divides fp32 sgemm's median time by the
 * kernel's; "cpu" is the same ratio from process CPU time (getrusage) over all the calls,
 * which a loaded machine disturbs less than wall time. Weights follow the methods: binary =
 * signs of N(0,1) with per-row mean |w|; ternary = TWN threshold 0.7 mean |w| (about 42 %
 * zeros); pow2 = N(0,1) rounded to the nearest of 7 powers of two (INQ-like); CSR = the
 * largest |w| at --density. Activations N(0,1); XNOR packs their signs (its "+pack" row
 * includes that packing, the GEMM row does not); shift-i32 gets 16.16 fixed point. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <cblas.h>
#include "deploy/format.h"
#include "deploy/kernels.h"
#include "harness/omp_env.h"
#include "nn/rng.h"

typedef struct { const char *label; int m, k, per_sample; } shape;

static const shape shapes[] = {
    { "resnet20 s3", 64, 576, 64 },
    { "resnet20 s1", 16, 144, 1024 },
    { "lenet5 conv2", 50, 500, 64 },
    { "lenet300 fc1", 300, 784, 1 },
};

typedef enum { K_F32, K_XNOR, K_XNOR_PACK, K_BINARY, K_TERNARY, K_POW2, K_SHIFT_I32, K_CSR, K_COUNT } kernel_id;
static const char *const kernel_names[K_COUNT] = {
    [K_F32] = "f32 sgemm", [K_XNOR] = "xnor", [K_XNOR_PACK] = "xnor+pack", [K_BINARY] = "binary",
    [K_TERNARY] = "ternary", [K_POW2] = "pow2-4 shift", [K_SHIFT_I32] = "shift-i32", [K_CSR] = "csr",
};
_Static_assert(sizeof kernel_names / sizeof kernel_names[0] == K_COUNT, "one name per kernel");

typedef struct {
    const shape *s;
    int n;
    dp_exec ex;
    dp_matrix w[K_COUNT];
    float *x, *y, *kcol;
    int32_t *xi, *yi;
    uint64_t *xb;
} bench_ctx;

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static double cpu_s(void)
{
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return (double)u.ru_utime.tv_sec + (double)u.ru_stime.tv_sec +
           1e-6 * ((double)u.ru_utime.tv_usec + (double)u.ru_stime.tv_usec);
}

static void die(const char *what) { fprintf(stderr, "lowbit: %s\n", what); exit(1); }

static void run(bench_ctx *c, kernel_id k)
{
    const int n = c->n, kk = c->s->k;
    char err[256];
    switch (k) {
    case K_F32: case K_BINARY: case K_TERNARY: case K_POW2: case K_CSR:
        dp_gemm(&c->w[k], n, c->x, n, c->y, n, &c->ex);
        break;
    case K_XNOR_PACK:
        dp_bits_pack_cols(kk, n, c->x, n, c->xb, n, &c->ex);
        /* fall through */
    case K_XNOR: {
        const dp_xnor_epilogue e = { .kcol = c->kcol };
        dp_xnor_gemm(&c->w[K_BINARY], n, c->xb, n, &e, c->y, n, &c->ex);
        break;
    }
    case K_SHIFT_I32:
        if (dp_shift_gemm_i32(&c->w[K_POW2], n, c->xi, n, c->yi, n, &c->ex, err, sizeof err)) die(err);
        break;
    default: break;
    }
}

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef struct { double min, med, max, cpu; } timing;   /* seconds per call */

static timing measure(bench_ctx *c, kernel_id k, int reps)
{
    double t[64];
    run(c, k);   /* warm-up: caches, OpenMP threads, pages */
    const double c0 = cpu_s();
    for (int i = 0; i < reps; i++) {
        const double t0 = now_s();
        run(c, k);
        t[i] = now_s() - t0;
    }
    const double cpu = (cpu_s() - c0) / reps;
    qsort(t, (size_t)reps, sizeof t[0], cmp_double);
    return (timing){ t[0], t[reps / 2], t[reps - 1], cpu };
}

static void pack_or_die(dp_matrix *m, dp_format f, const shape *s, const float *w)
{
    char err[256];
    if (dp_matrix_pack(m, f, s->m, s->k, w, err, sizeof err)) die(err);
}

static int cmp_abs_desc(const void *a, const void *b)
{
    const float x = fabsf(*(const float *)a), y = fabsf(*(const float *)b);
    return x > y ? -1 : x < y;
}

static void setup(bench_ctx *c, const shape *s, int batch, double density, nn_rng *rng)
{
    memset(c, 0, sizeof *c);
    c->s = s;
    c->n = s->per_sample * batch;
    const size_t nw = (size_t)s->m * s->k, nx = (size_t)s->k * c->n;
    float *w = malloc(nw * sizeof *w), *t = malloc(nw * sizeof *t), *sorted = malloc(nw * sizeof *t);
    c->x = malloc(nx * sizeof *c->x);
    c->y = malloc((size_t)s->m * c->n * sizeof *c->y);
    c->kcol = malloc((size_t)c->n * sizeof *c->kcol);
    c->xi = malloc(nx * sizeof *c->xi);
    c->yi = malloc((size_t)s->m * c->n * sizeof *c->yi);
    c->xb = malloc((size_t)((s->k + 63) / 64) * c->n * sizeof *c->xb);
    if (!w || !t || !sorted || !c->x || !c->y || !c->kcol || !c->xi || !c->yi || !c->xb) die("out of memory");
    for (size_t i = 0; i < nw; i++) w[i] = nn_rng_normal(rng);
    for (size_t i = 0; i < nx; i++) {
        c->x[i] = nn_rng_normal(rng);
        c->xi[i] = (int32_t)lrintf(c->x[i] * 65536.0f);
    }
    for (int j = 0; j < c->n; j++) c->kcol[j] = 0.8f;
    const dp_exec one = { DP_ISA_PORTABLE, 1 };
    dp_bits_pack_cols(s->k, c->n, c->x, c->n, c->xb, c->n, &one);
    pack_or_die(&c->w[K_F32], DP_FORMAT_F32, s, w);
    pack_or_die(&c->w[K_BINARY], DP_FORMAT_BINARY, s, w);
    double mean_abs = 0;
    for (size_t i = 0; i < nw; i++) mean_abs += fabsf(w[i]);
    mean_abs /= nw;
    for (size_t i = 0; i < nw; i++) t[i] = fabsf(w[i]) < 0.7 * mean_abs ? 0.0f : w[i];
    pack_or_die(&c->w[K_TERNARY], DP_FORMAT_TERNARY, s, t);
    pack_or_die(&c->w[K_POW2], DP_FORMAT_POW2_4, s, w);
    memcpy(sorted, w, nw * sizeof *w);
    qsort(sorted, nw, sizeof *sorted, cmp_abs_desc);
    const size_t keep = (size_t)(density * nw);
    const float cut = keep ? fabsf(sorted[keep - 1]) : INFINITY;
    for (size_t i = 0; i < nw; i++) t[i] = fabsf(w[i]) >= cut ? w[i] : 0.0f;
    pack_or_die(&c->w[K_CSR], s->k <= 65536 ? DP_FORMAT_CSR16 : DP_FORMAT_CSR32, s, t);
    free(w); free(t); free(sorted);
}

static void teardown(bench_ctx *c)
{
    for (int k = 0; k < K_COUNT; k++) dp_matrix_free(&c->w[k]);
    free(c->x); free(c->y); free(c->kcol); free(c->xi); free(c->yi); free(c->xb);
}

int main(int argc, char **argv)
{
    hx_omp_passive(argv);
    int batch = 64, reps = 7, isa = dp_isa_best(), thread_list[2] = { 1, 2 }, n_threads = 2;
    double density = 0.1;
    const char *only = "", *only_kernel = "";
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--batch")) batch = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--reps")) reps = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--density")) density = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--shape")) only = argv[i + 1];
        else if (!strcmp(argv[i], "--kernel")) only_kernel = argv[i + 1];
        else if (!strcmp(argv[i], "--isa")) isa = dp_isa_parse(argv[i + 1]);
        else if (!strcmp(argv[i], "--threads")) {
            n_threads = sscanf(argv[i + 1], "%d,%d", &thread_list[0], &thread_list[1]);
        } else { fprintf(stderr, "lowbit: unknown option %s\n", argv[i]); return 2; }
    }
    if (batch < 1 || reps < 1 || reps > 64 || density <= 0 || density > 1 || n_threads < 1)
        die("--batch >= 1, --reps 1..64, --density in (0, 1], --threads a or a,b");
    if (isa < 0 || !dp_isa_supported((dp_isa)isa)) die("--isa: not a level this CPU runs");
    openblas_set_num_threads(1);
    printf("deploy levels here:");
    for (int l = 0; l < DP_ISA_COUNT; l++)
        if (dp_isa_supported((dp_isa)l)) printf(" %s", dp_isa_name((dp_isa)l));
    printf("; measuring %s, batch %d, %d reps, CSR density %.2f\n", dp_isa_name((dp_isa)isa),
           batch, reps, density);
    printf("%-13s %-7s %2s %-13s %8s %8s %8s %8s %7s %7s\n", "layer", "M,K", "th", "kernel",
           "min GF/s", "med GF/s", "max GF/s", "cpu ms", "vs f32", "cpu");
    nn_rng rng;
    nn_rng_seed(&rng, 7, 0);
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
        if (!strstr(shapes[si].label, only)) continue;
        bench_ctx c;
        setup(&c, &shapes[si], batch, density, &rng);
        const double flop = 2.0 * c.s->m * (double)c.s->k * c.n;
        for (int ti = 0; ti < n_threads; ti++) {
            c.ex = (dp_exec){ (dp_isa)isa, thread_list[ti] };
            timing base = { 0 };
            for (int k = 0; k < K_COUNT; k++) {
                if (k != K_F32 && !strstr(kernel_names[k], only_kernel)) continue;
                const timing t = measure(&c, (kernel_id)k, reps);
                if (k == K_F32) base = t;
                char mk[24];
                snprintf(mk, sizeof mk, "%d,%d", c.s->m, c.s->k);
                printf("%-13s %-7s %2d %-13s %8.1f %8.1f %8.1f %8.3f %6.2fx %6.2fx\n", c.s->label, mk,
                       thread_list[ti], kernel_names[k], flop / t.max * 1e-9, flop / t.med * 1e-9,
                       flop / t.min * 1e-9, t.cpu * 1e3, base.med / t.med, base.cpu / t.cpu);
            }
        }
        teardown(&c);
    }
    return 0;
}
