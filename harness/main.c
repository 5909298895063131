/* harness: the command-line entry. One row per command; only main decides the exit status. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "datasets/dataset.h"
#include "harness/checkpoint.h"
#include "harness/packed_eval.h"
#include "harness/packed_file.h"
#include "harness/compare.h"
#include "harness/config.h"
#include "harness/data_store.h"
#include "base/fileio.h"
#include "harness/omp_env.h"
#include "harness/experiment.h"
#include "harness/roots.h"
#include "harness/plot.h"
#include "harness/report_runs.h"
#include "harness/seeds.h"
#include "harness/suite.h"
#include "harness/sweep.h"
#include "harness/table.h"
#include "methods/method.h"

enum { ERR_MAX = 4096 };

static int usage_error(const char *msg)
{
    fprintf(stderr, "harness: %s; see harness help\n", msg);
    return 2;
}

/* Edit distance (insertions, deletions, substitutions, adjacent swaps) of two short words. */
static int distance(const char *a, const char *b)
{
    enum { W = 64 };
    size_t n = strlen(a), m = strlen(b);
    if (n >= W || m >= W) return W;
    int d[W][W];
    for (size_t i = 0; i <= n; i++) d[i][0] = (int)i;
    for (size_t j = 0; j <= m; j++) d[0][j] = (int)j;
    for (size_t i = 1; i <= n; i++)
        for (size_t j = 1; j <= m; j++) {
            int best = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            if (d[i - 1][j] + 1 < best) best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best) best = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    return d[n][m];
}

/* "<what> <got> (did you mean <nearest>?)" when a known word is within two edits. */
static int unknown(const char *what, const char *got, const char *const *known, size_t n)
{
    const char *near = NULL;
    int best = 3;
    for (size_t i = 0; i < n; i++) {
        int d = distance(got, known[i]);
        if (d < best) { best = d; near = known[i]; }
    }
    char msg[512];
    if (near) snprintf(msg, sizeof msg, "%s %s (did you mean %s?)", what, got, near);
    else snprintf(msg, sizeof msg, "%s %s", what, got);
    return usage_error(msg);
}

static const char *const run_options[] = {"--set", "--resume", "--rerun", "--quiet", "--seeds", "--seed-list"};
static const char *const eval_options[] = {"--data", "--batch", "--bench", "--record", "--threads", "--reps"};

/* Every seed's run, then one line: the seeds' mean ± std and how many were trained or reused. */
static int run_seeds(const char *config, const hx_run_opts *o, const hx_seeds *seeds)
{
    char err[ERR_MAX], list[HX_SEEDS_MAX * 12];
    hx_run_result res[HX_SEEDS_MAX];
    if (hx_run_seeds(config, o, seeds, res, err, sizeof err) != 0) {
        fprintf(stderr, "harness: %s\n", err);
        return 1;
    }
    double acc[HX_SEEDS_MAX];
    int reused = 0;
    for (int i = 0; i < seeds->n; i++) { acc[i] = res[i].final_acc; reused += res[i].reused; }
    rr_stat st = rr_stats(acc, seeds->n);
    hx_seeds_text(seeds, list, sizeof list);
    printf("%s, seeds %s: final test acc %.2f ± %.2f%% over %d run(s) (%d trained, %d reused)\n", config, list,
           st.mean, st.std, seeds->n, seeds->n - reused, reused);
    return 0;
}

static int cmd_run(int argc, char **argv)
{
    const char *config = NULL;
    const char *sets[CFG_MAX_SETS];
    hx_run_opts o = {.sets = sets};
    hx_seeds seeds = {0};
    char err[ERR_MAX];
    for (int i = 0; i < argc; i++) {
        int used = 0, k = hx_seeds_option(argv[i], i + 1 < argc ? argv[i + 1] : NULL, &seeds, &used, err, sizeof err);
        if (k < 0) return usage_error(err);
        if (k > 0) { i += used - 1; continue; }
        if (strcmp(argv[i], "--set") == 0 && i + 1 < argc) {
            if (o.n_sets == CFG_MAX_SETS) return usage_error("too many --set");
            sets[o.n_sets++] = argv[++i];
        } else if (strncmp(argv[i], "--set=", 6) == 0) {
            if (o.n_sets == CFG_MAX_SETS) return usage_error("too many --set");
            sets[o.n_sets++] = argv[i] + 6;
        } else if (strcmp(argv[i], "--resume") == 0) o.resume = 1;
        else if (strcmp(argv[i], "--rerun") == 0) o.rerun = 1;
        else if (strcmp(argv[i], "--quiet") == 0) o.quiet = 1;
        else if (argv[i][0] == '-')
            return unknown("run: unknown option", argv[i], run_options, sizeof run_options / sizeof *run_options);
        else if (!config) config = argv[i];
        else return usage_error("run takes one config file");
    }
    if (!config) return usage_error("run: which config? e.g. harness run configs/xnor.ini");
    if (seeds.n) {   /* finished seeds reused; with --resume, interrupted ones continued */
        o.reuse = 1;
        return run_seeds(config, &o, &seeds);
    }
    if (hx_experiment(config, &o, NULL, err, sizeof err) != 0) {
        fprintf(stderr, "harness: %s\n", err);
        return 1;
    }
    return 0;
}

/* A whole number from lo to hi for option name, or a usage error's message in msg. */
static int whole_number(const char *name, const char *text, long lo, long hi, int *out, char *msg, size_t msglen)
{
    char *end = NULL;
    long v = strtol(text, &end, 10);
    if (end == text || *end || v < lo || v > hi) {
        snprintf(msg, msglen, "eval: %s takes a whole number from %ld to %ld", name, lo, hi);
        return -1;
    }
    *out = (int)v;
    return 0;
}

static int cmd_eval(int argc, char **argv)
{
    const char *model = NULL, *data = NULL;
    int batch = 1000, bench = 0, record = 0, threads = 2, reps = 5;
    char msg[256];
    for (int i = 0; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int bad = 0;
        if (strcmp(argv[i], "--data") == 0 && v) data = argv[++i];
        else if (strcmp(argv[i], "--bench") == 0) bench = 1;
        else if (strcmp(argv[i], "--record") == 0) bench = record = 1;
        else if (strcmp(argv[i], "--batch") == 0 && v)
            bad = whole_number("--batch", argv[++i], 1, 65536, &batch, msg, sizeof msg);
        else if (strcmp(argv[i], "--threads") == 0 && v)
            bad = whole_number("--threads", argv[++i], 1, 64, &threads, msg, sizeof msg);
        else if (strcmp(argv[i], "--reps") == 0 && v)
            bad = whole_number("--reps", argv[++i], 1, HX_BENCH_MAX_REPS, &reps, msg, sizeof msg);
        else if (argv[i][0] == '-')
            return unknown("eval: unknown option", argv[i], eval_options, sizeof eval_options / sizeof *eval_options);
        else if (!model) model = argv[i];
        else return usage_error("eval: unexpected argument");
        if (bad) return usage_error(msg);
    }
    if (!model || !data) return usage_error("eval: usage: harness eval MODEL.h5 --data NAME");
    char err[ERR_MAX];
    if (bench && !hx_packed_is(model))
        return usage_error(record ? "eval: --record times a RUN_DIR/model.packed.h5 against model.h5 beside it"
                                  : "eval: --bench times a model.packed.h5 against model.h5");
    if (hx_packed_is(model)) {   /* through the packed formats' kernels, against model.h5 beside it */
        int rc = record ? hx_packed_record(model, data, batch, threads, reps, stdout, err, sizeof err)
                        : hx_packed_eval_run(model, data, batch, threads, stdout, NULL, err, sizeof err);
        if (rc == 0 && bench && !record)
            rc = hx_packed_bench(model, data, threads, reps, stdout, NULL, err, sizeof err);
        if (rc != 0) {
            fprintf(stderr, "harness: %s\n", err);
            return 1;
        }
        return 0;
    }
    ds_dataset ds;
    if (hx_dataset_open(data, &ds, stderr, err, sizeof err) != 0) {
        fprintf(stderr, "harness: %s\n", err);
        return 1;
    }
    /* The dataset's shape is checked against the file before the model is built from it. */
    ckpt_expect want = {{ds.c, ds.h, ds.w}, ds.n_classes};
    nn_model *m = ckpt_load_expect(model, &want, NULL, NULL, err, sizeof err);
    int rc = 0;
    if (!m) {
        fprintf(stderr, "harness: %s\n", err);
        rc = 1;
    } else {
        nn_model_set_threads(m, threads);
        nn_model_set_inference_only(m);
        double loss;
        double acc = hx_evaluate(m, &ds, &ds.test, 0, batch, &loss);
        printf("%s on %s test (%u images): top-1 %.2f%%, loss %.4f, %zu nonzero of %zu weights\n", model, data,
               ds.test.n, acc, loss, nn_count_nonzero(m), nn_count_weights(m));
    }
    ds_free(&ds);
    nn_model_free(m);
    return rc;
}

static int cmd_export(int argc, char **argv)
{
    if (argc != 1 || argv[0][0] == '-') return usage_error("export: usage: harness export RUN_DIR");
    char err[ERR_MAX];
    hx_packed_size sz;
    hx_result_edit edit;
    if (hx_export_run(argv[0], &sz, &edit, err, sizeof err) != 0) {
        fprintf(stderr, "harness: %s\n", err);
        return 1;
    }
    static const char *said[] = {
        [HX_RESULT_NONE] = "no result.json (an unfinished run): nothing recorded",
        [HX_RESULT_AGREES] = "result.json already records these figures",
        [HX_RESULT_UPDATED] = "result.json's packed figures rewritten to these",
        [HX_RESULT_ADDED] = "result.json had no packed figures (written before packed models): added",
    };
    printf("%s/model.packed.h5: %zu bytes of packed weights + %zu of fp32 parameters = %zu bytes of payload, "
           "%zu bytes on disk; %s\n", argv[0], sz.weight_bytes, sz.param_bytes, sz.weight_bytes + sz.param_bytes,
           sz.file_bytes, said[edit]);
    return 0;
}

static int cmd_data(int argc, char **argv)
{
    char err[ERR_MAX], out[PATH_MAX];
    if (argc >= 1 && strcmp(argv[0], "import") == 0) {
        int idx = argc == 4 && strcmp(argv[2], "--idx") == 0, images = argc == 4 && strcmp(argv[2], "--images") == 0;
        if (!idx && !images)
            return usage_error("data import: usage: harness data import NAME --idx DIR | --images DIR");
        if (!fio_safe_name(argv[1]))
            return usage_error("data import: NAME becomes data/NAME.h5: use letters, digits, '.', '_' and '-' only, "
                               "not starting with '.' and without '..'");
        hx_dataset_path(argv[1], out, sizeof out);
        if (fio_mkdir_p(hx_data_root(), err, sizeof err) != 0 ||
            (idx ? ds_import_idx : ds_import_images)(argv[1], argv[3], out, err, sizeof err) != 0) {
            fprintf(stderr, "harness: %s\n", err);
            return 1;
        }
    } else {
        if (argc != 1 && !(argc == 3 && strcmp(argv[1], "--src") == 0))
            return usage_error("data: usage: harness data NAME [--src DIR]  (mnist, fashion-mnist, cifar10)");
        hx_dataset_path(argv[0], out, sizeof out);
        if (fio_mkdir_p(hx_data_root(), err, sizeof err) != 0 ||
            ds_prepare(argv[0], argc == 3 ? argv[2] : NULL, out, err, sizeof err) != 0) {
            fprintf(stderr, "harness: %s\n", err);
            return 1;
        }
    }
    ds_dataset ds;
    if (ds_load_h5(out, &ds, err, sizeof err) != 0) { fprintf(stderr, "harness: %s\n", err); return 1; }
    printf("%s: %s, %u train / %u test images of %dx%dx%d, %d classes, mean", out, ds.name, ds.train.n, ds.test.n,
           ds.c, ds.h, ds.w, ds.n_classes);
    for (int c = 0; c < ds.c; c++) printf(" %.4f", ds.mean[c]);
    printf(", std");
    for (int c = 0; c < ds.c; c++) printf(" %.4f", ds.std[c]);
    printf("\n");
    ds_free(&ds);
    return 0;
}

static void print_method(const method *m, int full)
{
    printf("%-18s %-24s %s\n", m->name, m->title, m->paper);
    if (!full) return;
    printf("  starts from a trained baseline: %s\n  options ([method] section):\n", m->needs_baseline ? "yes" : "no");
    char desc[256];
    for (int i = 0; i < m->n_options; i++) {
        const opt_spec *o = &m->options[i];
        opt_describe(o, desc, sizeof desc);
        printf("    %-16s %-44s default %-12s %s\n", o->key, desc, o->def ? o->def : "(required)", o->help);
    }
}

static int cmd_methods(int argc, char **argv)
{
    if (argc == 1) {
        const method *m = method_find(argv[0]);
        if (!m) return usage_error("methods: no such method (harness methods lists them)");
        print_method(m, 1);
        return 0;
    }
    for (int i = 0; i < method_count(); i++) print_method(method_at(i), 0);
    return 0;
}

static int cmd_archs(int argc, char **argv)
{
    (void)argc; (void)argv;
    for (int i = 0; i < nn_arch_count(); i++) printf("%-14s %s\n", nn_arch_name(i), nn_arch_help(i));
    return 0;
}

static int cmd_config(int argc, char **argv)
{
    (void)argc; (void)argv;
    cfg_print_schema(stdout);
    return 0;
}

static int cmd_table(int argc, char **argv)
{
    char err[ERR_MAX];
    if (hx_table_main(argc, argv, stdout, err, sizeof err) != 0) {
        fprintf(stderr, "harness: %s\n", err);
        return 1;
    }
    return 0;
}

static int cmd_plot(int argc, char **argv)
{
    char err[ERR_MAX];
    if (hx_plot_main(argc, argv, stdout, err, sizeof err) != 0) {
        fprintf(stderr, "harness: %s\n", err);
        return 1;
    }
    return 0;
}

static int cmd_compare(int argc, char **argv)
{
    char err[ERR_MAX];
    if (hx_compare_main(argc, argv, stdout, stdout, err, sizeof err) != 0) {
        fprintf(stderr, "harness: %s\n", err);
        return 1;
    }
    return 0;
}

static int cmd_reproduce(int argc, char **argv)
{
    char err[ERR_MAX];
    if (hx_reproduce_main(argc, argv, stdout, stdout, err, sizeof err) != 0) {
        fprintf(stderr, "harness: %s\n", err);
        return 1;
    }
    return 0;
}

static int cmd_sweep(int argc, char **argv)
{
    char err[ERR_MAX];
    if (hx_sweep_main(argc, argv, stdout, err, sizeof err) != 0) {
        fprintf(stderr, "harness: %s\n", err);
        return 1;
    }
    return 0;
}

static int cmd_help(int argc, char **argv);

typedef struct { const char *name, *args, *help; int (*fn)(int, char **); } command;
static const command commands[] = {
    {"run", "CONFIG.ini [--set section.key=value ...] [--resume | --rerun] [--quiet] [--seeds N | --seed-list S,S,...]",
     "train / compress as the config says; with seeds, one run per seed (finished ones are reused)", cmd_run},
    {"eval", "MODEL.h5 --data NAME [--batch N] [--threads N] [--bench | --record] [--reps N]",
     "test accuracy of a saved model; of a model.packed.h5: through the packed kernels, with its agreement with "
     "model.h5 beside it (--bench: images/s of both at batch 1 and 64; --record: the same kept in "
     "RUN_DIR/speedup.json for table, compare and plot)", cmd_eval},
    {"export", "RUN_DIR", "write RUN_DIR/model.packed.h5: every layer in its deployable packed format (harness run "
     "does this at its end)", cmd_export},
    {"data", "NAME [--src DIR] | import NAME --idx DIR | import NAME --images DIR",
     "turn raw dataset files into data/NAME.h5: IDX, CIFAR-10 binary, or DIR/{train,test}/<class>/ PNG/JPEG images", cmd_data},
    {"methods", "[NAME]", "list the compression methods, or one with its options", cmd_methods},
    {"archs", "", "list the architectures", cmd_archs},
    {"config", "", "list every config section and key with its range and default", cmd_config},
    {"table", "[--runs DIR] [--format md|csv|tex] [--out FILE] [--ref FILE] [--skip-bad]", "Table-4-style report of finished runs vs. published numbers", cmd_table},
    {"plot", "[--runs DIR] [--out DIR] [--ref FILE] [--skip-bad] [--no-gnuplot] | --pictures RUN_DIR | --samples NAME [--out DIR] [--per-class N]",
     "gnuplot figures: accuracy vs bits / compression, training curves, Lottery Ticket rounds; PNG pictures: "
     "dataset samples, first-layer filters before/after compression, pruning masks", cmd_plot},
    {"compare", "CONFIG [--against METHOD,...|all] [--seeds N | --seed-list S,...] [--configs DIR] [--out FILE] [--quiet] [--resume]",
     "run or reuse a method and the surveyed ones on its arch and data; top-1 ± std, Δ, size, Welch's t-test p", cmd_compare},
    {"reproduce", "--suite NAME [--seeds N | --seed-list S,...] [--configs DIR] [--quiet] [--no-gnuplot] [--resume]",
     "run or reuse every config of a suite ([run] suite), then its table and plots in results/suites/NAME/ "
     "(--resume, here and in run --seeds, compare, sweep: runs stopped part-way continue from their checkpoint)",
     cmd_reproduce},
    {"sweep", "CONFIG... [--seeds N | --seed-list S,...] [--set section.key[+key]=v1,v2,...]... [--jobs J] "
     "[--emit parallel|slurm] [--out FILE] [--quiet] [--resume]",
     "a grid of runs: here with at most J processes, or as a GNU parallel file / one Slurm array script", cmd_sweep},
    {"help", "", "this list", cmd_help},
};

static int cmd_help(int argc, char **argv)
{
    (void)argc; (void)argv;
    printf("harness %s — pruning and quantization benchmark\n\nusage:\n", HARNESS_VERSION);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        printf("  harness %-9s %s\n  %11s %s\n", commands[i].name, commands[i].args, "", commands[i].help);
    return 0;
}

int main(int argc, char **argv)
{
    hx_omp_passive(argv);
    if (argc < 2) return cmd_help(0, NULL);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0) return commands[i].fn(argc - 2, argv + 2);
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) return cmd_help(0, NULL);
    const char *names[sizeof commands / sizeof commands[0]];
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) names[i] = commands[i].name;
    return unknown("unknown command", argv[1], names, sizeof names / sizeof names[0]);
}
