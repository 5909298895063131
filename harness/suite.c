/* harness reproduce (see suite.h). */
#include "harness/suite.h"
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "harness/config_scan.h"
#include "harness/plot.h"
#include "harness/report_ref.h"
#include "harness/report_runs.h"
#include "harness/roots.h"
#include "harness/run.h"
#include "harness/seeds.h"
#include "harness/table.h"

typedef struct suite_args {
    const char *suite, *configs_dir;
    hx_seeds seeds;
    int quiet, gnuplot, resume;
} suite_args;

static int usage(char *err, size_t errlen, const char *what)
{
    snprintf(err, errlen, "reproduce: %s; usage: harness reproduce --suite NAME [--seeds N | --seed-list S,...] "
             "[--configs DIR] [--quiet] [--no-gnuplot] [--resume]", what);
    return -1;
}

static int parse_args(int argc, char **argv, suite_args *a, char *err, size_t errlen)
{
    memset(a, 0, sizeof *a);
    a->configs_dir = "configs";
    a->gnuplot = 1;
    for (int i = 0; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int used = 0, k = hx_seeds_option(argv[i], v, &a->seeds, &used, err, errlen);
        if (k < 0) return -1;
        if (k > 0) { i += used - 1; continue; }
        if (strcmp(argv[i], "--quiet") == 0) a->quiet = 1;
        else if (strcmp(argv[i], "--no-gnuplot") == 0) a->gnuplot = 0;
        else if (strcmp(argv[i], "--resume") == 0) a->resume = 1;
        else if (strcmp(argv[i], "--suite") == 0 && v) a->suite = argv[++i];
        else if (strcmp(argv[i], "--configs") == 0 && v) a->configs_dir = argv[++i];
        else {
            char what[256];
            snprintf(what, sizeof what, "unexpected '%s'", argv[i]);
            return usage(err, errlen, what);
        }
    }
    if (!a->suite) return usage(err, errlen, "which suite? (--suite mnist, fashion-mnist, cifar10)");
    if (!a->seeds.n) { a->seeds.n = 1; a->seeds.v[0] = 1; }
    return 0;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The suites that exist (sorted), for the error when the asked one does not. */
static void known_suites(const hx_found_config *f, int n, char *out, size_t outlen)
{
    const char **names = calloc((size_t)n + 1, sizeof *names);
    int k = 0;
    for (int i = 0; i < n; i++) {
        int seen = !f[i].suite[0];
        for (int j = 0; j < k && !seen; j++) seen = !strcmp(names[j], f[i].suite);
        if (!seen) names[k++] = f[i].suite;
    }
    qsort(names, (size_t)k, sizeof *names, cmp_str);
    size_t used = 0;
    out[0] = 0;
    for (int i = 0; i < k && used < outlen; i++)
        used += (size_t)snprintf(out + used, outlen - used, "%s%s", i ? ", " : "", names[i]);
    if (!k) snprintf(out, outlen, "none (no config has a [run] suite key)");
    free(names);
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* table.md, table.csv and plots/ of the suite's runs, in dir. */
static int report(const suite_args *a, const char *const *dirs, int n, const char *dir, FILE *out, char *err,
                  size_t errlen)
{
    char ref_path[RR_PATH_MAX], path[RR_PATH_MAX + 32];
    rr_results_path("reference.csv", ref_path, sizeof ref_path);
    rf_table ref = {0};
    if (fio_exists(ref_path) && rf_load(ref_path, &ref, err, errlen) != 0) return -1;
    rr_set s;
    if (rr_load_dirs(dirs, n, 0, NULL, &s, err, errlen) != 0) { rf_free(&ref); return -1; }
    int rc = fio_mkdir_p(dir, err, errlen);
    static const struct { hx_table_format fmt; const char *file; } outputs[] = {
        {HX_TABLE_MD, "table.md"}, {HX_TABLE_CSV, "table.csv"}};
    for (size_t k = 0; k < sizeof outputs / sizeof outputs[0] && rc == 0; k++) {
        rr_buf b = {0};
        char source[RR_NAME_MAX + 32];
        snprintf(source, sizeof source, "suite %s", a->suite);
        hx_table_render(&s, &ref, outputs[k].fmt, source, &b);
        snprintf(path, sizeof path, "%s/%s", dir, outputs[k].file);
        rc = fio_write_string(path, b.s ? b.s : "", err, errlen);
        if (rc == 0) fprintf(out, "table: %s\n", path);
        rr_buf_free(&b);
    }
    rr_buf scripts = {0};
    snprintf(path, sizeof path, "%s/plots", dir);
    int n_plots = rc == 0 ? hx_plot_write(&s, &ref, path, 0, &scripts, err, errlen) : -1;
    if (n_plots < 0) rc = -1;
    else if (n_plots > 0) {
        int g = a->gnuplot ? hx_plot_gnuplot(path, scripts.s, err, errlen) : 2;
        if (g < 0) rc = -1;
        else fprintf(out, "plots: %d figure(s) in %s%s\n", n_plots, path,
                     g == 1 ? " (gnuplot is not installed: .gp and .dat files only)" : g == 2 ? " (.gp and .dat; "
                     "--no-gnuplot)" : "");
    }
    rr_buf_free(&scripts);
    rr_free(&s);
    rf_free(&ref);
    return rc;
}

int hx_reproduce_main(int argc, char **argv, FILE *out, FILE *log, char *err, size_t errlen)
{
    suite_args a;
    if (parse_args(argc, argv, &a, err, errlen) != 0) return -1;
    double t0 = now_s();
    hx_found_config *all = NULL;
    int n_all = 0;
    if (hx_config_scan(a.configs_dir, &all, &n_all, err, errlen) != 0) return -1;
    int n_cfg = 0;
    for (int i = 0; i < n_all; i++) n_cfg += !strcmp(all[i].suite, a.suite);
    if (!n_cfg) {
        char known[1024];
        known_suites(all, n_all, known, sizeof known);
        snprintf(err, errlen, "reproduce: no config in %s has [run] suite = %s; suites there: %s", a.configs_dir,
                 a.suite, known);
        free(all);
        return -1;
    }
    int n_runs = n_cfg * a.seeds.n, n_dirs = 0, trained = 0, rc = 0;
    char **dirs = calloc((size_t)n_runs, sizeof *dirs);
    hx_run_opts o = {.reuse = 1, .resume = a.resume, .quiet = a.quiet, .log = log};
    hx_run_result res[HX_SEEDS_MAX];
    for (int i = 0; i < n_all && rc == 0; i++) {
        if (strcmp(all[i].suite, a.suite) != 0) continue;
        fprintf(log, "reproduce %s: %s\n", a.suite, all[i].path);
        rc = hx_run_seeds(all[i].path, &o, &a.seeds, res, err, errlen);
        for (int k = 0; rc == 0 && k < a.seeds.n; k++) {
            dirs[n_dirs++] = strdup(res[k].run_dir);
            trained += !res[k].reused;
        }
    }
    char dir[RR_PATH_MAX];
    snprintf(dir, sizeof dir, "%s/suites/%s", hx_results_root(), a.suite);
    if (rc == 0) rc = report(&a, (const char *const *)dirs, n_dirs, dir, out, err, errlen);
    if (rc == 0)
        fprintf(out, "suite %s: %d config(s) x %d seed(s) = %d runs (%d trained, %d reused) in %.1f s\n", a.suite,
                n_cfg, a.seeds.n, n_runs, trained, n_runs - trained, now_s() - t0);
    for (int i = 0; i < n_dirs; i++) free(dirs[i]);
    free(dirs);
    free(all);
    return rc;
}
