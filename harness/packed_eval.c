/* The packed model against its float twin (see packed_eval.h). */
#include "harness/packed_eval.h"

#include <libgen.h>
#include <math.h>
#include <sys/resource.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness/checkpoint.h"
#include "harness/data_store.h"
#include "harness/packed_file.h"

/* "<folder of path>/model.h5" */
static void float_twin(const char *path, char *out, size_t outlen)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    snprintf(out, outlen, "%s/model.h5", dirname(dir));
}

static void print_layers(FILE *out, const rt_model *rt)
{
    fprintf(out, "layers:");
    for (int i = 0; i < rt->m->n_nodes; i++) {
        const rt_layer *l = &rt->layer[i];
        if (!l->present) continue;
        fprintf(out, " %s=%s%s%s", rt->m->nodes[i].name, l->enc == RT_ENC_DC ? "dc->" : "", dp_format_name(l->w.format),
                l->engine ? "(adder)" : l->folds >= 0 ? "+bn" : "");
    }
    fprintf(out, "\n");
}

int hx_packed_eval_run(const char *path, const char *data, int batch, int threads, FILE *out, hx_packed_eval *res,
                       char *err, size_t errlen)
{
    hx_packed_eval r;
    memset(&r, 0, sizeof r);
    ds_dataset ds;
    if (hx_dataset_open(data, &ds, out ? stderr : NULL, err, errlen) != 0) return -1;
    ckpt_expect want = {{ds.c, ds.h, ds.w}, ds.n_classes};
    rt_model rt;
    int rc = -1;
    uint8_t *pred = malloc(ds.test.n ? ds.test.n : 1), *fpred = malloc(ds.test.n ? ds.test.n : 1);
    if (!pred || !fpred) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    if (hx_packed_load(path, &want, threads, &rt, err, errlen) != 0) goto done;
    r.n = ds.test.n;
    r.acc = hx_predict(rt.m, &ds, &ds.test, 0, batch, &r.loss, pred);
    rt_model_bytes(&rt, &r.weight_bytes, &r.param_bytes);
    if (out) print_layers(out, &rt);
    rt_free(&rt);

    char twin[PATH_MAX + 16];
    float_twin(path, twin, sizeof twin);
    if (access(twin, R_OK) == 0) {
        nn_model *m = ckpt_load_expect(twin, &want, NULL, NULL, err, errlen);
        if (!m) goto done;
        nn_model_set_threads(m, threads);
        r.float_acc = hx_predict(m, &ds, &ds.test, 0, batch, NULL, fpred);
        nn_model_free(m);
        r.have_float = 1;
        for (uint32_t i = 0; i < r.n; i++) r.differ += pred[i] != fpred[i];
    }
    if (out) {
        fprintf(out, "%s on %s test (%u images): packed top-1 %.2f%%, loss %.4f; %zu bytes of packed weights + %zu of "
                "fp32 parameters\n", path, data, r.n, r.acc, r.loss, r.weight_bytes, r.param_bytes);
        if (r.have_float)
            fprintf(out, "agreement with %s (top-1 %.2f%%): %u of %u predictions differ\n", twin, r.float_acc, r.differ,
                    r.n);
        else
            fprintf(out, "agreement: no %s beside it to compare with\n", twin);
    }
    if (res) *res = r;
    rc = 0;
done:
    free(pred);
    free(fpred);
    ds_free(&ds);
    return rc;
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double cpu_s(void)
{
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return (double)u.ru_utime.tv_sec + (double)u.ru_stime.tv_sec +
           1e-6 * ((double)u.ru_utime.tv_usec + (double)u.ru_stime.tv_usec);
}

/* One repetition: m on x (batch images) for at least 0.2 s; images per wall second and per
 * CPU second of the process (all threads), which a loaded machine disturbs less. */
static void time_rep(nn_model *m, const float *x, int batch, double *ips, double *ipc)
{
    long images = 0;
    double t0 = now_s(), c0 = cpu_s(), t;
    do {
        nn_forward(m, x, batch, 0);
        images += batch;
    } while ((t = now_s() - t0) < 0.2);
    *ips = (double)images / t;
    *ipc = (double)images / fmax(cpu_s() - c0, 1e-9);
}

int hx_packed_bench(const char *path, const char *data, int threads, int reps, FILE *out, char *err, size_t errlen)
{
    enum { MAX_REPS = 64 };
    static const int batches[] = {1, 64};
    if (reps < 1 || reps > MAX_REPS) return snprintf(err, errlen, "bench: 1..%d repetitions", MAX_REPS), -1;
    ds_dataset ds;
    if (hx_dataset_open(data, &ds, stderr, err, errlen) != 0) return -1;
    ckpt_expect want = {{ds.c, ds.h, ds.w}, ds.n_classes};
    char twin[PATH_MAX + 16];
    float_twin(path, twin, sizeof twin);
    rt_model rt;
    nn_model *f = NULL;
    int rc = -1;
    size_t per = (size_t)ds.c * ds.h * ds.w;
    float *x = malloc(per * 64 * sizeof *x);
    uint8_t y[64];
    ds_loader ld;
    if (!x || ds.test.n < 64 || ds_loader_init(&ld, &ds, &ds.test, 0, 64, 64, 0, 0, 0) != 0) {
        snprintf(err, errlen, "bench: needs 64 test images of %s", data);
        free(x);
        ds_free(&ds);
        return -1;
    }
    ds_loader_next(&ld, x, y);
    ds_loader_free(&ld);
    if (hx_packed_load(path, &want, threads, &rt, err, errlen) != 0) goto done;
    f = ckpt_load_expect(twin, &want, NULL, NULL, err, errlen);
    if (!f) { rt_free(&rt); goto done; }
    nn_model_set_threads(f, threads);
    fprintf(out, "images/s over %d repetitions (min / median / max), %d thread(s); %s vs %s\n", reps, threads, path, twin);
    for (size_t b = 0; b < sizeof batches / sizeof batches[0]; b++) {
        double p[MAX_REPS], q[MAX_REPS], pc[MAX_REPS], qc[MAX_REPS];
        nn_forward(rt.m, x, batches[b], 0);   /* warm: buffers, plans */
        nn_forward(f, x, batches[b], 0);
        for (int r = 0; r < reps; r++) {   /* alternating, so both see the same load */
            time_rep(rt.m, x, batches[b], &p[r], &pc[r]);
            time_rep(f, x, batches[b], &q[r], &qc[r]);
        }
        qsort(p, (size_t)reps, sizeof *p, cmp_double);
        qsort(q, (size_t)reps, sizeof *q, cmp_double);
        qsort(pc, (size_t)reps, sizeof *pc, cmp_double);
        qsort(qc, (size_t)reps, sizeof *qc, cmp_double);
        fprintf(out, "batch %2d: packed %.0f / %.0f / %.0f, fp32 %.0f / %.0f / %.0f, median ratio %.2fx; "
                "per CPU second: packed %.0f, fp32 %.0f (medians), ratio %.2fx\n", batches[b], p[0], p[reps / 2],
                p[reps - 1], q[0], q[reps / 2], q[reps - 1], p[reps / 2] / q[reps / 2], pc[reps / 2], qc[reps / 2],
                pc[reps / 2] / qc[reps / 2]);
    }
    rt_free(&rt);
    nn_model_free(f);
    rc = 0;
done:
    free(x);
    ds_free(&ds);
    return rc;
}
