/* harness compare (see compare.h). */
#include "harness/compare.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "harness/config_scan.h"
#include "harness/report_runs.h"
#include "harness/run.h"
#include "harness/seeds.h"
#include "harness/welch.h"

enum { CMP_MAX_AGAINST = 64 };

typedef struct entry {
    hx_found_config cfg;
    const char *role;            /* "new", "baseline", "surveyed" */
    rr_stat acc, bytes, compression;
    rr_stat speedup[HX_SPEED_COUNT];   /* over the seeds with a speedup.json (n = their count) */
    char where[HX_SEEDS_MAX][2 * HX_SPEED_TEXT];   /* where each of those was measured */
    char title[RR_NAME_MAX];
} entry;

typedef struct compare_args {
    const char *config, *configs_dir, *out_path;
    char against[CMP_MAX_AGAINST][OPT_STR_MAX]; int n_against;   /* 0 = all */
    hx_seeds seeds;
    int quiet, resume;
} compare_args;

static int usage(char *err, size_t errlen, const char *what)
{
    snprintf(err, errlen, "compare: %s; usage: harness compare CONFIG [--against METHOD,...|all] "
             "[--seeds N | --seed-list S,...] [--configs DIR] [--out FILE] [--quiet] [--resume]", what);
    return -1;
}

static int parse_against(compare_args *a, const char *v, char *err, size_t errlen)
{
    if (strcmp(v, "all") == 0) { a->n_against = 0; return 0; }
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", v);
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (a->n_against == CMP_MAX_AGAINST) return usage(err, errlen, "--against names too many methods");
        snprintf(a->against[a->n_against++], OPT_STR_MAX, "%s", t);
    }
    return a->n_against ? 0 : usage(err, errlen, "--against needs method names or all");
}

static int parse_args(int argc, char **argv, compare_args *a, char *err, size_t errlen)
{
    memset(a, 0, sizeof *a);
    a->configs_dir = "configs";
    for (int i = 0; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int used = 0, k = hx_seeds_option(argv[i], v, &a->seeds, &used, err, errlen);
        if (k < 0) return -1;
        if (k > 0) { i += used - 1; continue; }
        if (strcmp(argv[i], "--quiet") == 0) { a->quiet = 1; continue; }
        if (strcmp(argv[i], "--resume") == 0) { a->resume = 1; continue; }
        if (argv[i][0] != '-') {
            if (a->config) return usage(err, errlen, "one CONFIG only");
            a->config = argv[i];
            continue;
        }
        if (!v) return usage(err, errlen, "an option without its value");
        i++;
        if (strcmp(argv[i - 1], "--against") == 0) { if (parse_against(a, v, err, errlen) != 0) return -1; }
        else if (strcmp(argv[i - 1], "--configs") == 0) a->configs_dir = v;
        else if (strcmp(argv[i - 1], "--out") == 0) a->out_path = v;
        else {
            char what[256];
            snprintf(what, sizeof what, "unknown option %s", argv[i - 1]);
            return usage(err, errlen, what);
        }
    }
    if (!a->config) return usage(err, errlen, "which CONFIG?");
    if (!a->seeds.n) {   /* one seed gives no p-value; three is the least that says something */
        a->seeds.n = 3;
        for (int i = 0; i < 3; i++) a->seeds.v[i] = i + 1;
    }
    return 0;
}

static int wanted(const compare_args *a, const hx_found_config *f, int *hit)
{
    if (!a->n_against) return 1;
    for (int i = 0; i < a->n_against; i++)
        if (strcmp(a->against[i], f->method) == 0 || strcmp(a->against[i], f->key) == 0) { hit[i] = 1; return 1; }
    return 0;
}

/* The new config, its baseline and the surveyed configs, in that order. */
static int pick(const compare_args *a, entry **out, int *n_out, char *err, size_t errlen)
{
    hx_found_config self, *all = NULL;
    int n_all = 0;
    if (hx_config_describe(a->config, &self, err, errlen) != 0) return -1;
    if (hx_config_scan(a->configs_dir, &all, &n_all, err, errlen) != 0) return -1;
    entry *e = calloc((size_t)n_all + 2, sizeof *e);
    int n = 0, hit[CMP_MAX_AGAINST] = {0};
    e[n].cfg = self;
    e[n++].role = "new";
    if (self.pretrained[0]) {
        if (hx_config_describe(self.pretrained, &e[n].cfg, err, errlen) != 0) { free(all); free(e); return -1; }
        e[n++].role = "baseline";
    } else {
        for (int i = 0; i < n_all; i++)
            if (!strcmp(all[i].method, "none") && !strcmp(all[i].arch, self.arch) && !strcmp(all[i].dataset, self.dataset)) {
                e[n].cfg = all[i];
                e[n++].role = "baseline";
                break;
            }
    }
    for (int i = 0; i < n_all; i++) {
        const hx_found_config *f = &all[i];
        if (!strcmp(f->method, "none") || strcmp(f->arch, self.arch) || strcmp(f->dataset, self.dataset)) continue;
        int dup = 0;   /* the same experiment under another name (e.g. xnor.ini, xnor-lenet5.ini) */
        for (int j = 0; j < n && !dup; j++) dup = !strcmp(e[j].cfg.hash, f->hash);
        if (dup || !wanted(a, f, hit)) continue;
        e[n].cfg = *f;
        e[n++].role = "surveyed";
    }
    for (int i = 0; i < a->n_against; i++)
        if (!hit[i]) {
            snprintf(err, errlen, "compare: --against %s: no config in %s with a method of that name (or name:mode) "
                     "on %s / %s", a->against[i], a->configs_dir, self.arch, self.dataset);
            free(all);
            free(e);
            return -1;
        }
    free(all);
    *out = e;
    *n_out = n;
    return 0;
}

/* Runs (or reuses) every seed of e, then reads the runs back. */
static int run_entry(entry *e, const compare_args *a, FILE *log, char *err, size_t errlen)
{
    hx_run_result res[HX_SEEDS_MAX];
    hx_run_opts o = {.reuse = 1, .resume = a->resume, .quiet = a->quiet, .log = log};
    fprintf(log, "compare: %s (%s, %s)\n", e->cfg.path, e->role, e->cfg.key);
    if (hx_run_seeds(e->cfg.path, &o, &a->seeds, res, err, errlen) != 0) return -1;
    double acc[HX_SEEDS_MAX], bytes[HX_SEEDS_MAX], comp[HX_SEEDS_MAX], speed[HX_SPEED_COUNT][HX_SEEDS_MAX];
    int n_speed = 0;
    for (int i = 0; i < a->seeds.n; i++) {
        rr_run r;
        if (rr_read_run(res[i].run_dir, &r, err, errlen) != 0 || rr_read_speed(&r, err, errlen) != 0) return -1;
        if (r.has_speed) {
            for (int p = 0; p < HX_SPEED_COUNT; p++) speed[p][n_speed] = r.speedup[p];
            snprintf(e->where[n_speed++], sizeof e->where[0], "%s", r.speed_where);
        }
        acc[i] = r.final_acc;
        bytes[i] = r.bytes;
        comp[i] = r.compression;
        snprintf(e->title, sizeof e->title, "%s", r.title);
    }
    e->acc = rr_stats(acc, a->seeds.n);
    e->bytes = rr_stats(bytes, a->seeds.n);
    e->compression = rr_stats(comp, a->seeds.n);
    for (int p = 0; p < HX_SPEED_COUNT; p++) e->speedup[p] = rr_stats(speed[p], n_speed);
    return 0;
}

static void render(const entry *e, int n, const compare_args *a, rr_buf *b)
{
    const entry *base = n > 1 && !strcmp(e[1].role, "baseline") ? &e[1] : NULL;
    char seeds[HX_SEEDS_MAX * 12];
    hx_seeds_text(&a->seeds, seeds, sizeof seeds);
    rr_printf(b, "# %s against %d surveyed method config(s) on %s / %s, seeds %s\n\n", e[0].cfg.path,
              n - 1 - (base != NULL), e[0].cfg.arch, e[0].cfg.dataset, seeds);
    rr_puts(b, "| Method | Config | Top-1 | Seeds | Δ vs baseline | Size (KB) | Compression × | Speedup × b64 / b1 "
               "| p vs new |\n|---|---|---|---|---|---|---|---|---|\n");
    const char **where = malloc(sizeof *where * ((size_t)n * HX_SEEDS_MAX + 1));
    int n_where = 0;
    for (int i = 0; i < n; i++) {
        const entry *r = &e[i];
        char delta[32] = "—", p[32] = "—", speed[64] = "—";
        const rr_stat *b64 = &r->speedup[HX_SPEED_THROUGHPUT], *b1 = &r->speedup[HX_SPEED_LATENCY];
        if (b64->n) {
            int k = snprintf(speed, sizeof speed, "%.2f / %.2f", b64->mean, b1->mean);
            if (b64->n < r->acc.n) snprintf(speed + k, sizeof speed - (size_t)k, " (%d of %d seeds)", b64->n, r->acc.n);
        }
        for (int k = 0; k < b64->n; k++) where[n_where++] = r->where[k];
        if (base && r != base) snprintf(delta, sizeof delta, "%+.2f", r->acc.mean - base->acc.mean);
        if (i > 0) {
            hx_welch w = hx_welch_test(e[0].acc.mean, e[0].acc.std, e[0].acc.n, r->acc.mean, r->acc.std, r->acc.n);
            if (!isnan(w.p)) snprintf(p, sizeof p, "%.3g", w.p);
        }
        const char *mode = strchr(r->cfg.key, ':');
        rr_printf(b, "| %s%s%s%s%s | %s | %.2f ± %.2f | %d | %s | %.1f | %.1f | %s | %s |\n",
                  !strcmp(r->role, "baseline") ? "Full precision" : r->title, mode ? " (" : "", mode ? mode + 1 : "",
                  mode ? ")" : "", !strcmp(r->role, "new") ? " **new**" : "", r->cfg.path, r->acc.mean, r->acc.std,
                  r->acc.n, delta, r->bytes.mean / 1000, r->compression.mean, speed, p);
    }
    rr_puts(b, "\nNotes:\n"
               "- Top-1: final test accuracy (%), mean ± sample standard deviation over the seeds; Δ: minus the "
               "baseline's mean (percentage points).\n"
               "- p vs new: two-sided Welch's t-test of the new method's seeds against that row's (— with fewer than "
               "two seeds a side or no spread at all); it tests the means differ, not which is better.\n"
               "- Size: the payload bytes of model.packed.h5 (the weights and parameters as stored in their packed "
               "formats; the bit-width accounting where a run was never exported), KB = 1000 bytes; compression × = "
               "fp32 bytes / Size.\n"
               "- Speedup × b64 / b1: images/s of model.packed.h5 through the packed kernels over model.h5 in fp32, "
               "ratio of the medians, at batch 64 / batch 1; mean over the seeds whose run folder holds a "
               "speedup.json (harness eval RUN_DIR/model.packed.h5 --data NAME --record); — where none was "
               "measured.\n");
    if (n_where) {
        rr_puts(b, "- Speedups measured on: ");
        rr_count_list(where, n_where, b);
        rr_puts(b, ".\n");
    } else rr_puts(b, "- No run here has a speedup.json: the speedup column is empty.\n");
    free(where);
    if (!base) rr_puts(b, "- No baseline: no plain-training config of this arch and dataset, so no Δ.\n");
}

int hx_compare_main(int argc, char **argv, FILE *out, FILE *log, char *err, size_t errlen)
{
    compare_args a;
    if (parse_args(argc, argv, &a, err, errlen) != 0) return -1;
    entry *e = NULL;
    int n = 0;
    if (pick(&a, &e, &n, err, errlen) != 0) return -1;
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) rc = run_entry(&e[i], &a, log, err, errlen);
    if (rc == 0) {
        rr_buf b = {0};
        render(e, n, &a, &b);
        if (a.out_path) {
            rc = fio_write_string(a.out_path, b.s, err, errlen);
            if (rc == 0) fprintf(out, "wrote %s\n", a.out_path);
        }
        if (rc == 0) fputs(b.s, out);
        rr_buf_free(&b);
    }
    free(e);
    return rc;
}
