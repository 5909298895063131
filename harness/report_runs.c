/* Finished runs read back and grouped over seeds (see report_runs.h). */
#include "harness/report_runs.h"
#include <dirent.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "base/fileio.h"
#include "harness/ini_strict.h"
#include "base/json.h"

enum { RESULT_MAX_BYTES = 4 << 20 };

/* --- text buffer ------------------------------------------------------------------------ */
static void buf_reserve(rr_buf *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap) return;
    size_t cap = b->cap ? b->cap : 1024;
    while (cap < b->len + extra + 1) cap *= 2;
    char *s = realloc(b->s, cap);
    if (!s) abort();   /* reports are small; out of memory here is not recoverable */
    b->s = s;
    b->cap = cap;
}

void rr_printf(rr_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n <= 0) { buf_reserve(b, 0); b->s[b->len] = '\0'; return; }
    buf_reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void rr_puts(rr_buf *b, const char *s) { rr_printf(b, "%s", s); }

void rr_buf_free(rr_buf *b)
{
    free(b->s);
    memset(b, 0, sizeof *b);
}

void rr_count_list(const char *const *v, int n, rr_buf *b)
{
    for (int i = 0; i < n; i++) {
        int seen = 0, count = 0;
        for (int k = 0; k < i && !seen; k++) seen = strcmp(v[k], v[i]) == 0;
        if (seen) continue;
        for (int k = i; k < n; k++) count += strcmp(v[k], v[i]) == 0;
        rr_printf(b, "%s%s (%d run%s)", i ? "; " : "", v[i], count, count == 1 ? "" : "s");
    }
}

void rr_results_path(const char *leaf, char *out, size_t outlen)
{
    /* Same root as the runner (hx_results_root), read here so reports need not link it. */
    const char *e = getenv("HARNESS_RESULTS");
    snprintf(out, outlen, "%s/%s", e && *e ? e : "results", leaf);
}

/* --- statistics and bit summaries ----------------------------------------------------------- */
rr_stat rr_stats(const double *v, int n)
{
    rr_stat s = {0, 0, n};
    if (n <= 0) return s;
    for (int i = 0; i < n; i++) s.mean += v[i];
    s.mean /= n;
    if (n > 1) {
        double ss = 0;
        for (int i = 0; i < n; i++) ss += (v[i] - s.mean) * (v[i] - s.mean);
        s.std = sqrt(ss / (n - 1));
    }
    return s;
}

static rr_bits summarise_bits(const int *bits, const double *weights, int n)
{
    rr_bits r = {32, 32, 0, 0, 0};
    double total = 0, sum = 0, best = -1;
    for (int i = 0; i < n; i++) {
        total += weights[i];
        sum += weights[i] * bits[i];
        double held = 0;
        for (int j = 0; j < n; j++) held += bits[j] == bits[i] ? weights[j] : 0;
        if (held > best) { best = held; r.typical = bits[i]; }
    }
    if (total > 0) r.mean = sum / total;
    for (int i = 0; i < n; i++) {
        if (bits[i] == r.typical) continue;
        if (bits[i] == 32 && i == 0) r.fp_first = 1;
        else if (bits[i] == 32 && i == n - 1) r.fp_last = 1;
        else r.mixed = 1;
    }
    if (r.mixed) r.fp_first = r.fp_last = 0;   /* the mean then says it all */
    return r;
}

void rr_bits_text(const rr_bits *b, char *out, size_t outlen)
{
    if (b->mixed) snprintf(out, outlen, "%d (mean %.1f)", b->typical, b->mean);
    else if (b->fp_first && b->fp_last) snprintf(out, outlen, "%d (fp first/last)", b->typical);
    else if (b->fp_first) snprintf(out, outlen, "%d (fp first)", b->typical);
    else if (b->fp_last) snprintf(out, outlen, "%d (fp last)", b->typical);
    else snprintf(out, outlen, "%d", b->typical);
}

/* --- one run ---------------------------------------------------------------------------- */
typedef struct { const char *path; char *err; size_t errlen; const char *text; } reader;

static int key_error(reader *r, const char *key, json_status st, const char *want)
{
    snprintf(r->err, r->errlen, "%s: key \"%s\" %s (expected %s; result.json is written by harness run)", r->path,
             key, st == JSON_MISSING ? "is missing" : st == JSON_TOO_LONG ? "is too long" : "has the wrong type", want);
    return -1;
}

static int get_num(reader *r, const char *key, double *out)
{
    json_status st = json_get_num(r->text, key, out);
    return st == JSON_OK ? 0 : key_error(r, key, st, "a number");
}

static int get_int(reader *r, const char *key, int *out)
{
    double v;
    if (get_num(r, key, &v) != 0) return -1;
    *out = (int)v;
    return 0;
}

static int get_str(reader *r, const char *key, char *out, size_t n)
{
    json_status st = json_get_str(r->text, key, out, n);
    return st == JSON_OK ? 0 : key_error(r, key, st, "a string");
}

static int ini_mode(void *user, int line, const char *section, const char *name, const char *value, char *err,
                    size_t errlen)
{
    (void)line; (void)err; (void)errlen;
    if (strcmp(section, "method") == 0 && strcmp(name, "mode") == 0) snprintf(user, RR_NAME_MAX, "%s", value);
    return 0;
}

/* [method] mode of the run's resolved config.ini, when it has one (an unreadable file: none). */
static void read_mode(const char *path, char *mode)
{
    char *text, ignored[256];
    size_t len;
    if (fio_read_all(path, 1u << 20, &text, &len, ignored, sizeof ignored) != 0) return;
    ini_strict_parse(text, len, path, ini_mode, mode, ignored, sizeof ignored);
    free(text);
}

static int read_layers(reader *r, rr_run *run)
{
    int n;
    json_status st = json_get_count(r->text, "footprint.layers", &n);
    if (st != JSON_OK) return key_error(r, "footprint.layers", st, "an array of layers");
    if (n == 0) { run->w = run->a = (rr_bits){32, 32, 0, 0, 0}; return 0; }
    int *wb = malloc(sizeof *wb * (size_t)n * 2);
    double *wc = malloc(sizeof *wc * (size_t)n);
    int rc = 0;
    char key[96];
    for (int i = 0; i < n && rc == 0; i++) {
        snprintf(key, sizeof key, "footprint.layers.%d.w_bits", i);
        rc = get_int(r, key, &wb[i]);
        snprintf(key, sizeof key, "footprint.layers.%d.a_bits", i);
        if (rc == 0) rc = get_int(r, key, &wb[n + i]);
        snprintf(key, sizeof key, "footprint.layers.%d.weights", i);
        if (rc == 0) rc = get_num(r, key, &wc[i]);
    }
    if (rc == 0) {
        run->w = summarise_bits(wb, wc, n);
        run->a = summarise_bits(wb + n, wc, n);
    }
    free(wb);
    free(wc);
    return rc;
}

/* data_sources' crc32s joined by '+' ("" when the record has none). */
static void data_id(const char *text, char *out, size_t outlen)
{
    out[0] = 0;
    int n = 0;
    if (json_get_count(text, "data_sources", &n) != JSON_OK) return;
    size_t at = 0;
    for (int i = 0; i < n; i++) {
        char path[48], crc[16];
        snprintf(path, sizeof path, "data_sources.%d.crc32", i);
        if (json_get_str(text, path, crc, sizeof crc) != JSON_OK) continue;
        int w = snprintf(out + at, outlen - at, "%s%s", at ? "+" : "", crc);
        if (w < 0 || (size_t)w >= outlen - at) break;
        at += (size_t)w;
    }
}

int rr_read_run(const char *run_dir, rr_run *run, char *err, size_t errlen)
{
    memset(run, 0, sizeof *run);
    snprintf(run->dir, sizeof run->dir, "%s", run_dir);
    char path[RR_PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/result.json", run_dir);
    char *text = NULL;
    if (json_load(path, RESULT_MAX_BYTES, &text, err, errlen) != 0) return -1;
    reader r = {path, err, errlen, text};
    int rc = get_str(&r, "run_id", run->run_id, sizeof run->run_id);
    if (rc == 0) rc = get_str(&r, "method", run->method, sizeof run->method);
    if (rc == 0) rc = get_str(&r, "arch", run->arch, sizeof run->arch);
    if (rc == 0) rc = get_str(&r, "dataset", run->dataset, sizeof run->dataset);
    if (rc == 0) rc = get_int(&r, "seed", &run->seed);
    if (rc == 0) rc = get_num(&r, "final_acc", &run->final_acc);
    if (rc == 0) rc = get_num(&r, "footprint.bytes", &run->bytes);
    if (rc == 0) rc = get_num(&r, "footprint.bytes_fp32", &run->bytes_fp32);
    if (rc == 0) rc = get_num(&r, "footprint.compression", &run->compression);
    if (rc == 0) rc = get_num(&r, "footprint.macs_dense", &run->macs_dense);
    if (rc == 0) rc = get_num(&r, "footprint.macs_needed", &run->macs_needed);
    if (rc == 0) rc = read_layers(&r, run);
    if (rc == 0) {
        /* Optional: older or hand-made files may lack them. */
        if (json_get_str(text, "method_title", run->title, sizeof run->title) != JSON_OK)
            snprintf(run->title, sizeof run->title, "%s", run->method);
        double v;
        run->bytes_bits = run->bytes;
        run->packed = json_get_num(text, "footprint.packed_bytes", &v) == JSON_OK && v > 0;
        if (run->packed) {
            run->bytes = v;
            run->compression = run->bytes_fp32 / v;
        }
        run->agreed = json_get_num(text, "agreement.differ", &run->agree_differ) == JSON_OK &&
                      json_get_num(text, "agreement.images", &run->agree_images) == JSON_OK;
        run->best_acc = json_get_num(text, "best_acc", &v) == JSON_OK ? v : run->final_acc;
        run->epochs = json_get_num(text, "epochs", &v) == JSON_OK ? (int)v : 0;
        run->rounds = json_get_num(text, "rounds", &v) == JSON_OK ? (int)v : 1;
        run->images_per_s = json_get_num(text, "images_per_s", &v) == JSON_OK ? v : 0;
        if (json_get_str(text, "recipe_hash", run->recipe, sizeof run->recipe) != JSON_OK) run->recipe[0] = 0;
        if (json_get_str(text, "code_version", run->code_version, sizeof run->code_version) != JSON_OK)
            run->code_version[0] = 0;
        if (json_get_str(text, "pretrained_hash", run->pretrained_hash, sizeof run->pretrained_hash) != JSON_OK)
            run->pretrained_hash[0] = 0;
        data_id(text, run->data_id, sizeof run->data_id);
        snprintf(path, sizeof path, "%s/config.ini", run_dir);
        if (fio_exists(path)) read_mode(path, run->mode);
        if (run->mode[0]) snprintf(run->key, sizeof run->key, "%s:%s", run->method, run->mode);
        else snprintf(run->key, sizeof run->key, "%s", run->method);
    }
    free(text);
    return rc;
}

int rr_read_speed(rr_run *run, char *err, size_t errlen)
{
    hx_speedup sp;
    int got = hx_speedup_read(run->dir, run->run_id, &sp, err, errlen);
    run->has_speed = got == 1;
    if (got != 1) return got;
    for (int p = 0; p < HX_SPEED_COUNT; p++) run->speedup[p] = sp.point[p].speedup;
    snprintf(run->speed_where, sizeof run->speed_where, "%s (%s), %d thread%s", sp.cpu, sp.isa, sp.threads,
             sp.threads == 1 ? "" : "s");
    return 0;
}

/* --- folder and grouping -------------------------------------------------------------------- */
static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int cmp_group(const void *pa, const void *pb)
{
    const rr_group *a = pa, *b = pb;
    int c = strcmp(a->dataset, b->dataset);
    if (c == 0) c = strcmp(a->arch, b->arch);
    if (c == 0) c = b->is_baseline - a->is_baseline;
    if (c == 0) c = strcmp(a->key, b->key);
    if (c == 0) c = (a->w.typical > b->w.typical) - (a->w.typical < b->w.typical);
    if (c == 0) c = (a->a.typical > b->a.typical) - (a->a.typical < b->a.typical);
    return c;
}

/* How many distinct values field (at offset off in rr_run) takes over the group's runs. */
static int distinct(const rr_set *s, const rr_group *G, size_t off)
{
    int n = 0;
    for (int j = 0; j < G->n_runs; j++) {
        const char *v = (const char *)&s->runs[G->runs[j]] + off;
        int seen = 0;
        for (int k = 0; k < j && !seen; k++) seen = strcmp(v, (const char *)&s->runs[G->runs[k]] + off) == 0;
        n += !seen;
    }
    return n;
}

/* The group's speedups and their runs' accuracy, over the runs that have a speedup.json
 * (v: HX_SPEED_COUNT + 1 scratch arrays of n_runs). */
static void speed_stats(const rr_set *s, rr_group *G, double **v)
{
    int n = 0, wheres = 0;
    for (int j = 0; j < G->n_runs; j++) {
        const rr_run *r = &s->runs[G->runs[j]];
        if (!r->has_speed) continue;
        for (int p = 0; p < HX_SPEED_COUNT; p++) v[p][n] = r->speedup[p];
        v[HX_SPEED_COUNT][n++] = r->final_acc;
        int seen = 0;
        for (int k = 0; k < j && !seen; k++) {
            const rr_run *q = &s->runs[G->runs[k]];
            seen = q->has_speed && strcmp(q->speed_where, r->speed_where) == 0;
        }
        wheres += !seen;
    }
    for (int p = 0; p < HX_SPEED_COUNT; p++) G->speedup[p] = rr_stats(v[p], n);
    G->speed_acc = rr_stats(v[HX_SPEED_COUNT], n);
    G->n_speed_wheres = wheres;
}

static void make_groups(rr_set *s)
{
    s->groups = calloc((size_t)s->n_runs + 1, sizeof *s->groups);
    for (int i = 0; i < s->n_runs; i++) {
        const rr_run *r = &s->runs[i];
        int g = 0;
        while (g < s->n_groups && !(strcmp(s->groups[g].key, r->key) == 0 && strcmp(s->groups[g].arch, r->arch) == 0 &&
                                     strcmp(s->groups[g].dataset, r->dataset) == 0 &&
                                     s->groups[g].w.typical == r->w.typical && s->groups[g].a.typical == r->a.typical))
            g++;
        rr_group *G = &s->groups[g];
        if (g == s->n_groups) {
            s->n_groups++;
            snprintf(G->key, sizeof G->key, "%s", r->key);
            snprintf(G->method, sizeof G->method, "%s", r->method);
            snprintf(G->title, sizeof G->title, "%s", r->title);
            snprintf(G->arch, sizeof G->arch, "%s", r->arch);
            snprintf(G->dataset, sizeof G->dataset, "%s", r->dataset);
            G->is_baseline = strcmp(r->method, "none") == 0;
            G->runs = malloc(sizeof *G->runs * (size_t)s->n_runs);
            G->w = r->w;
            G->a = r->a;
            G->epochs_min = G->epochs_max = r->epochs;
        }
        G->runs[G->n_runs++] = i;
        if (r->epochs < G->epochs_min) G->epochs_min = r->epochs;
        if (r->epochs > G->epochs_max) G->epochs_max = r->epochs;
    }
    enum { N_SCRATCH = HX_SPEED_COUNT + 1 > 5 ? HX_SPEED_COUNT + 1 : 5 };
    double *v[N_SCRATCH];
    for (int k = 0; k < N_SCRATCH; k++) v[k] = malloc(sizeof(double) * ((size_t)s->n_runs + 1));
    for (int g = 0; g < s->n_groups; g++) {
        rr_group *G = &s->groups[g];
        for (int j = 0; j < G->n_runs; j++) {
            const rr_run *r = &s->runs[G->runs[j]];
            v[0][j] = r->final_acc;
            v[1][j] = r->bytes;
            v[2][j] = r->compression;
            v[3][j] = r->macs_dense > 0 ? r->macs_needed / r->macs_dense : 1;
            v[4][j] = r->bytes_bits;
            G->n_packed += r->packed;
            if (r->agreed) {
                G->n_agreed++;
                G->agree_differ += r->agree_differ;
                G->agree_images += r->agree_images;
            }
        }
        G->acc = rr_stats(v[0], G->n_runs);
        G->bytes = rr_stats(v[1], G->n_runs);
        G->compression = rr_stats(v[2], G->n_runs);
        G->bytes_bits = rr_stats(v[4], G->n_runs);
        G->macs_ratio = rr_stats(v[3], G->n_runs);
        G->n_recipes = distinct(s, G, offsetof(rr_run, recipe));
        G->n_code_versions = distinct(s, G, offsetof(rr_run, code_version));
        G->n_baselines = distinct(s, G, offsetof(rr_run, pretrained_hash));
        speed_stats(s, G, v);
    }
    for (int k = 0; k < N_SCRATCH; k++) free(v[k]);
    qsort(s->groups, (size_t)s->n_groups, sizeof *s->groups, cmp_group);
    for (int g = 0; g < s->n_groups; g++) {
        rr_group *G = &s->groups[g];
        /* a key with several bit-width rows on one model (a sweep) names its bits in figures */
        int shared = 0;
        for (int h = 0; h < s->n_groups; h++)
            shared |= h != g && strcmp(s->groups[h].key, G->key) == 0 && strcmp(s->groups[h].arch, G->arch) == 0 &&
                      strcmp(s->groups[h].dataset, G->dataset) == 0;
        if (G->is_baseline) snprintf(G->label, sizeof G->label, "fp32");
        else if (shared) snprintf(G->label, sizeof G->label, "%s W%dA%d", G->key, G->w.typical, G->a.typical);
        else snprintf(G->label, sizeof G->label, "%s", G->key);
        G->baseline = -1;
        for (int h = 0; h < s->n_groups; h++)
            if (s->groups[h].is_baseline && strcmp(s->groups[h].arch, G->arch) == 0 &&
                strcmp(s->groups[h].dataset, G->dataset) == 0)
                G->baseline = h;
    }
}

int rr_load_dirs(const char *const *run_dirs, int n, int skip_bad, FILE *warn, rr_set *s, char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    s->runs = calloc((size_t)n + 1, sizeof *s->runs);
    int rc = 0;
    char path[RR_PATH_MAX + 32], msg[1024];
    for (int i = 0; i < n && rc == 0; i++) {
        snprintf(path, sizeof path, "%s/result.json", run_dirs[i]);
        if (!fio_exists(path)) {
            snprintf(path, sizeof path, "%s/metrics.csv", run_dirs[i]);   /* a run folder still going */
            s->n_unfinished += fio_exists(path);
            continue;
        }
        if (rr_read_run(run_dirs[i], &s->runs[s->n_runs], msg, sizeof msg) == 0) {
            /* A bad side record costs its speedup, not the run's accuracy. */
            if (rr_read_speed(&s->runs[s->n_runs], msg, sizeof msg) == 0) s->n_runs++;
            else if (skip_bad) {
                s->n_speed_skipped++;
                s->n_runs++;
                if (warn) fprintf(warn, "warning: speedup left out: %s\n", msg);
            } else {
                snprintf(err, errlen, "%s (--skip-bad leaves such files out)", msg);
                rc = -1;
            }
        } else if (skip_bad) {
            s->n_skipped++;
            if (warn) fprintf(warn, "warning: skipped %s\n", msg);
        } else {
            snprintf(err, errlen, "%s (--skip-bad leaves such runs out)", msg);
            rc = -1;
        }
    }
    if (rc != 0) { rr_free(s); return -1; }
    make_groups(s);
    return 0;
}

int rr_load(const char *dir, int skip_bad, FILE *warn, rr_set *s, char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    DIR *d = opendir(dir);
    if (!d) {
        snprintf(err, errlen, "%s: cannot read the runs folder (harness run writes results/runs/<run>/; "
                              "name another with --runs DIR)", dir);
        return -1;
    }
    char **dirs = NULL;
    int n = 0, cap = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.') continue;
        if (n == cap) dirs = realloc(dirs, sizeof *dirs * (size_t)(cap = cap ? cap * 2 : 64));
        size_t len = strlen(dir) + strlen(e->d_name) + 2;
        dirs[n] = malloc(len);
        snprintf(dirs[n++], len, "%s/%s", dir, e->d_name);
    }
    closedir(d);
    if (n) qsort(dirs, (size_t)n, sizeof *dirs, cmp_str);   /* readdir order is arbitrary */
    int rc = rr_load_dirs((const char *const *)dirs, n, skip_bad, warn, s, err, errlen);
    for (int i = 0; i < n; i++) free(dirs[i]);
    free(dirs);
    return rc;
}

void rr_free(rr_set *s)
{
    for (int g = 0; g < s->n_groups; g++) free(s->groups[g].runs);
    free(s->groups);
    free(s->runs);
    memset(s, 0, sizeof *s);
}
