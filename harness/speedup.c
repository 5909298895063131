/* speedup.json: written once per measurement, read back by the reports (see speedup.h). */
#include "harness/speedup.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/fileio.h"
#include "base/json.h"

enum { SPEEDUP_MAX_BYTES = 64 << 10 };

const int hx_speed_batch[HX_SPEED_COUNT] = {[HX_SPEED_LATENCY] = 1, [HX_SPEED_THROUGHPUT] = 64};
const char *const hx_speed_key[HX_SPEED_COUNT] = {[HX_SPEED_LATENCY] = "latency",
                                                  [HX_SPEED_THROUGHPUT] = "throughput"};

/* The three figures of a spread, in the order they are written and read. */
static const char *const spread_keys[] = {"min", "median", "max"};
static double *spread_at(hx_spread *s, int k) { return k == 0 ? &s->min : k == 1 ? &s->median : &s->max; }

void hx_speedup_path(const char *run_dir, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s/speedup.json", run_dir);
}

/* --- writing ------------------------------------------------------------------------------ */
static void put_spread(json_w *j, const char *key, hx_spread s)
{
    json_obj_begin(j, key);
    for (int k = 0; k < 3; k++) json_num(j, spread_keys[k], *spread_at(&s, k));
    json_obj_end(j);
}

int hx_speedup_save(const char *run_dir, const hx_speedup *s, char *err, size_t errlen)
{
    json_w j;
    json_init(&j);
    json_obj_begin(&j, NULL);
    json_str(&j, "run_id", s->run_id);
    json_str(&j, "dataset", s->dataset);
    json_str(&j, "packed_model", s->packed_model);
    json_str(&j, "float_model", s->float_model);
    json_str(&j, "unit", "images_per_s");
    json_str(&j, "cpu", s->cpu);
    json_str(&j, "isa", s->isa);
    json_int(&j, "threads", s->threads);
    json_int(&j, "repetitions", s->repetitions);
    json_str(&j, "date", s->date);
    json_str(&j, "code_version", s->code_version);
    json_str(&j, "git", s->git);
    for (int p = 0; p < HX_SPEED_COUNT; p++) {
        const hx_speed_point *pt = &s->point[p];
        json_obj_begin(&j, hx_speed_key[p]);
        json_int(&j, "batch", pt->batch);
        put_spread(&j, "packed", pt->packed);
        put_spread(&j, "fp32", pt->fp32);
        json_num(&j, "speedup", pt->speedup);
        json_obj_end(&j);
    }
    json_obj_end(&j);
    char path[FIO_PATH_MAX];
    hx_speedup_path(run_dir, path, sizeof path);
    int rc = json_save(&j, path, err, errlen);
    json_free(&j);
    return rc;
}

/* --- reading ------------------------------------------------------------------------------ */
typedef struct { const char *path, *text; char *err; size_t errlen; } reader;

static int bad(reader *r, const char *key, const char *what)
{
    snprintf(r->err, r->errlen, "%s: \"%s\" %s (speedup.json is written by harness eval RUN_DIR/model.packed.h5 "
             "--data NAME --record; measure again or delete the file)", r->path, key, what);
    return -1;
}

static int status_error(reader *r, const char *key, json_status st, const char *want)
{
    char what[128];
    snprintf(what, sizeof what, "%s (expected %s)", st == JSON_MISSING ? "is missing" : st == JSON_TOO_LONG ?
             "is too long" : "has the wrong type", want);
    return bad(r, key, what);
}

static int get_str(reader *r, const char *key, char *out, size_t n)
{
    json_status st = json_get_str(r->text, key, out, n);
    return st == JSON_OK ? 0 : status_error(r, key, st, "a string");
}

/* A figure that must be finite and > 0 (images/s, ratios). */
static int get_pos(reader *r, const char *key, double *out)
{
    json_status st = json_get_num(r->text, key, out);
    if (st != JSON_OK) return status_error(r, key, st, "a number");
    return isfinite(*out) && *out > 0 ? 0 : bad(r, key, "is not a positive number");
}

static int get_count(reader *r, const char *key, int lo, int hi, int *out)
{
    double v;
    json_status st = json_get_num(r->text, key, &v);
    if (st != JSON_OK) return status_error(r, key, st, "a whole number");
    if (v != floor(v) || v < lo || v > hi) {
        char what[96];
        snprintf(what, sizeof what, "is %g, not a whole number from %d to %d", v, lo, hi);
        return bad(r, key, what);
    }
    *out = (int)v;
    return 0;
}

static int get_spread(reader *r, const char *point, const char *which, hx_spread *s)
{
    char key[96];
    for (int k = 0; k < 3; k++) {
        snprintf(key, sizeof key, "%s.%s.%s", point, which, spread_keys[k]);
        if (get_pos(r, key, spread_at(s, k)) != 0) return -1;
    }
    if (s->min <= s->median && s->median <= s->max) return 0;
    snprintf(key, sizeof key, "%s.%s", point, which);
    return bad(r, key, "does not hold min <= median <= max");
}

static int get_point(reader *r, int p, hx_speed_point *pt)
{
    const char *name = hx_speed_key[p];
    char key[96];
    snprintf(key, sizeof key, "%s.batch", name);
    if (get_count(r, key, 1, 1 << 16, &pt->batch) != 0) return -1;
    if (pt->batch != hx_speed_batch[p]) {
        char what[64];
        snprintf(what, sizeof what, "is %d, not %d", pt->batch, hx_speed_batch[p]);
        return bad(r, key, what);
    }
    if (get_spread(r, name, "packed", &pt->packed) != 0 || get_spread(r, name, "fp32", &pt->fp32) != 0) return -1;
    snprintf(key, sizeof key, "%s.speedup", name);
    if (get_pos(r, key, &pt->speedup) != 0) return -1;
    double ratio = pt->packed.median / pt->fp32.median;
    if (fabs(pt->speedup - ratio) > 1e-9 * ratio) {
        char what[128];
        snprintf(what, sizeof what, "is %g, not packed.median / fp32.median = %g", pt->speedup, ratio);
        return bad(r, key, what);
    }
    return 0;
}

int hx_speedup_read(const char *run_dir, const char *run_id, hx_speedup *s, char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    char path[FIO_PATH_MAX];
    hx_speedup_path(run_dir, path, sizeof path);
    if (!fio_exists(path)) return 0;
    char *text = NULL;
    if (json_load(path, SPEEDUP_MAX_BYTES, &text, err, errlen) != 0) return -1;
    reader r = {path, text, err, errlen};
    int rc = get_str(&r, "run_id", s->run_id, sizeof s->run_id);
    if (rc == 0 && run_id && strcmp(s->run_id, run_id) != 0) {
        char what[2 * HX_SPEED_TEXT + 64];
        snprintf(what, sizeof what, "is %s, but the run in this folder is %s", s->run_id, run_id);
        rc = bad(&r, "run_id", what);
    }
    if (rc == 0) rc = get_str(&r, "dataset", s->dataset, sizeof s->dataset);
    if (rc == 0) rc = get_str(&r, "packed_model", s->packed_model, sizeof s->packed_model);
    if (rc == 0) rc = get_str(&r, "float_model", s->float_model, sizeof s->float_model);
    if (rc == 0) rc = get_str(&r, "cpu", s->cpu, sizeof s->cpu);
    if (rc == 0) rc = get_str(&r, "isa", s->isa, sizeof s->isa);
    if (rc == 0) rc = get_count(&r, "threads", 1, 1024, &s->threads);
    if (rc == 0) rc = get_count(&r, "repetitions", 1, 1024, &s->repetitions);
    if (rc == 0) rc = get_str(&r, "date", s->date, sizeof s->date);
    if (rc == 0) rc = get_str(&r, "code_version", s->code_version, sizeof s->code_version);
    if (rc == 0) rc = get_str(&r, "git", s->git, sizeof s->git);
    for (int p = 0; p < HX_SPEED_COUNT && rc == 0; p++) rc = get_point(&r, p, &s->point[p]);
    free(text);
    return rc == 0 ? 1 : -1;
}

void hx_cpu_model(char *out, size_t outlen)
{
    snprintf(out, outlen, "unknown CPU");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10) != 0) continue;
        const char *v = strchr(line, ':');
        if (!v) continue;
        for (v++; *v == ' ' || *v == '\t'; v++) {
        }
        size_t n = strcspn(v, "\r\n");
        if (n) snprintf(out, outlen, "%.*s", (int)n, v);
        break;
    }
    fclose(f);
}
