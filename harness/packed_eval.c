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

#include "base/fileio.h"
#include "deploy/isa.h"
#include "harness/checkpoint.h"
#include "harness/code_version.h"
#include "harness/data_store.h"
#include "harness/packed_file.h"
#include "harness/report_runs.h"
#include "harness/run_dir.h"

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
        fprintf(out, " %s=%s%s%s%s", rt->m->nodes[i].name, l->enc == RT_ENC_DC ? "dc->" : "", dp_format_name(l->w.format),
                l->qw.payload ? "->int8" : "", l->engine ? "(adder)" : l->folds >= 0 ? "+bn" : "");
    }
    fprintf(out, "\n");
}

int hx_packed_eval_ds(const char *path, const ds_dataset *ds, const char *data, int batch, int threads, FILE *out,
                      hx_packed_eval *res, char *err, size_t errlen)
{
    hx_packed_eval r;
    memset(&r, 0, sizeof r);
    ckpt_expect want = {{ds->c, ds->h, ds->w}, ds->n_classes};
    rt_model rt;
    int rc = -1;
    uint8_t *pred = malloc(ds->test.n ? ds->test.n : 1), *fpred = malloc(ds->test.n ? ds->test.n : 1);
    if (!pred || !fpred) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    if (hx_packed_load(path, &want, threads, &rt, err, errlen) != 0) goto done;
    nn_model_set_inference_only(rt.m);     /* a few activations' memory, not every node's */
    r.n = ds->test.n;
    r.acc = hx_predict(rt.m, ds, &ds->test, 0, batch, &r.loss, pred);
    rt_model_bytes(&rt, &r.weight_bytes, &r.param_bytes);
    if (out) print_layers(out, &rt);
    rt_free(&rt);

    char twin[PATH_MAX + 16];
    float_twin(path, twin, sizeof twin);
    if (access(twin, R_OK) == 0) {
        nn_model *m = ckpt_load_expect(twin, &want, NULL, NULL, err, errlen);
        if (!m) goto done;
        nn_model_set_threads(m, threads);
        nn_model_set_inference_only(m);
        r.float_acc = hx_predict(m, ds, &ds->test, 0, batch, NULL, fpred);
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
    return rc;
}

int hx_packed_eval_run(const char *path, const char *data, int batch, int threads, FILE *out, hx_packed_eval *res,
                       char *err, size_t errlen)
{
    ds_dataset ds;
    if (hx_dataset_open(data, &ds, out ? stderr : NULL, err, errlen) != 0) return -1;
    const int rc = hx_packed_eval_ds(path, &ds, data, batch, threads, out, res, err, errlen);
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

int hx_packed_bench(const char *path, const char *data, int threads, int reps, FILE *out, hx_speedup *res,
                    char *err, size_t errlen)
{
    if (reps < 1 || reps > HX_BENCH_MAX_REPS)
        return snprintf(err, errlen, "bench: 1..%d repetitions", HX_BENCH_MAX_REPS), -1;
    ds_dataset ds;
    if (hx_dataset_open(data, &ds, stderr, err, errlen) != 0) return -1;
    ckpt_expect want = {{ds.c, ds.h, ds.w}, ds.n_classes};
    char twin[PATH_MAX + 16];
    float_twin(path, twin, sizeof twin);
    rt_model rt;
    nn_model *f = NULL;
    int rc = -1, most = hx_speed_batch[HX_SPEED_THROUGHPUT];
    size_t per = (size_t)ds.c * ds.h * ds.w;
    float *x = malloc(per * (size_t)most * sizeof *x);
    uint8_t *y = malloc((size_t)most);
    ds_loader ld;
    if (!x || !y || ds.test.n < (uint32_t)most || ds_loader_init(&ld, &ds, &ds.test, 0, most, most, 0, 0, 0) != 0) {
        snprintf(err, errlen, "bench: needs %d test images of %s", most, data);
        free(x);
        free(y);
        ds_free(&ds);
        return -1;
    }
    ds_loader_next(&ld, x, y);
    ds_loader_free(&ld);
    if (hx_packed_load(path, &want, threads, &rt, err, errlen) != 0) goto done;
    f = ckpt_load_expect(twin, &want, NULL, NULL, err, errlen);
    if (!f) { rt_free(&rt); goto done; }
    nn_model_set_threads(f, threads);
    hx_speedup s;
    memset(&s, 0, sizeof s);
    snprintf(s.dataset, sizeof s.dataset, "%s", data);
    snprintf(s.isa, sizeof s.isa, "%s", dp_isa_name(rt.ex.isa));
    s.threads = threads;
    s.repetitions = reps;
    fprintf(out, "images/s over %d repetitions (min / median / max), %d thread(s), kernels at %s; %s vs %s\n", reps,
            threads, s.isa, path, twin);
    for (int b = 0; b < HX_SPEED_COUNT; b++) {
        hx_speed_point *pt = &s.point[b];
        double p[HX_BENCH_MAX_REPS], q[HX_BENCH_MAX_REPS], pc[HX_BENCH_MAX_REPS], qc[HX_BENCH_MAX_REPS];
        pt->batch = hx_speed_batch[b];
        nn_forward(rt.m, x, pt->batch, 0);   /* warm: buffers, plans */
        nn_forward(f, x, pt->batch, 0);
        for (int r = 0; r < reps; r++) {     /* alternating, so both see the same load */
            time_rep(rt.m, x, pt->batch, &p[r], &pc[r]);
            time_rep(f, x, pt->batch, &q[r], &qc[r]);
        }
        qsort(p, (size_t)reps, sizeof *p, cmp_double);
        qsort(q, (size_t)reps, sizeof *q, cmp_double);
        qsort(pc, (size_t)reps, sizeof *pc, cmp_double);
        qsort(qc, (size_t)reps, sizeof *qc, cmp_double);
        pt->packed = (hx_spread){p[0], p[reps / 2], p[reps - 1]};
        pt->fp32 = (hx_spread){q[0], q[reps / 2], q[reps - 1]};
        pt->speedup = pt->packed.median / pt->fp32.median;
        fprintf(out, "batch %2d: packed %.0f / %.0f / %.0f, fp32 %.0f / %.0f / %.0f, median ratio %.2fx; "
                "per CPU second: packed %.0f, fp32 %.0f (medians), ratio %.2fx\n", pt->batch, p[0], p[reps / 2],
                p[reps - 1], q[0], q[reps / 2], q[reps - 1], pt->speedup, pc[reps / 2], qc[reps / 2],
                pc[reps / 2] / qc[reps / 2]);
    }
    if (res) *res = s;
    rt_free(&rt);
    nn_model_free(f);
    rc = 0;
done:
    free(x);
    free(y);
    ds_free(&ds);
    return rc;
}

int hx_packed_record(const char *path, const char *data, int batch, int threads, int reps, FILE *out, char *err,
                     size_t errlen)
{
    char dir[PATH_MAX], base[PATH_MAX], scratch[PATH_MAX], twin[PATH_MAX + 16];
    snprintf(scratch, sizeof scratch, "%s", path);   /* dirname and basename may write into it */
    snprintf(dir, sizeof dir, "%s", dirname(scratch));
    snprintf(scratch, sizeof scratch, "%s", path);
    snprintf(base, sizeof base, "%s", basename(scratch));
    float_twin(path, twin, sizeof twin);
    /* Checked before anything is timed: a record belongs to a finished run with both models. */
    rr_run run;
    char why[2048];
    if (rr_read_run(dir, &run, why, sizeof why) != 0)
        return snprintf(err, errlen, "--record: %s is not a finished run folder: %s (the record is "
                        "RUN_DIR/speedup.json beside the run's result.json)", dir, why), -1;
    if (!fio_exists(twin))
        return snprintf(err, errlen, "--record: no %s beside %s: the speedup is the packed model's against it", twin,
                        path), -1;
    /* The folder's lock, as harness export takes it: no rerun clears it or export rewrites the
     * packed model while it is timed. */
    hx_run_dir lock;
    if (hx_run_dir_open(&lock, dir, err, errlen) != 0) return -1;
    hx_speedup s;
    int rc = hx_packed_eval_run(path, data, batch, threads, out, NULL, err, errlen);
    if (rc == 0) rc = hx_packed_bench(path, data, threads, reps, out, &s, err, errlen);
    if (rc != 0) {
        hx_run_dir_release(&lock, 0);
        return -1;
    }
    snprintf(s.run_id, sizeof s.run_id, "%s", run.run_id);
    snprintf(s.packed_model, sizeof s.packed_model, "%.*s", (int)sizeof s.packed_model - 1, base);
    snprintf(s.float_model, sizeof s.float_model, "model.h5");
    hx_cpu_model(s.cpu, sizeof s.cpu);
    time_t now = time(NULL);
    struct tm tm;
    strftime(s.date, sizeof s.date, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
    snprintf(s.code_version, sizeof s.code_version, "%s", hx_code_version);
    snprintf(s.git, sizeof s.git, "%s", hx_code_git);
    rc = hx_speedup_save(dir, &s, err, errlen);
    hx_run_dir_release(&lock, 0);
    if (rc != 0) return -1;
    char saved[PATH_MAX + 16];
    hx_speedup_path(dir, saved, sizeof saved);
    fprintf(out, "recorded %s: %.2fx at batch %d, %.2fx at batch %d (%s, %s, %d thread(s))\n", saved,
            s.point[HX_SPEED_THROUGHPUT].speedup, s.point[HX_SPEED_THROUGHPUT].batch, s.point[HX_SPEED_LATENCY].speedup,
            s.point[HX_SPEED_LATENCY].batch, s.cpu, s.isa, s.threads);
    return 0;
}
