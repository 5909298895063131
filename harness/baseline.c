/* The baseline cache (see baseline.h): a full-precision model trained once per (dataset,
 * architecture, recipe, seed) — the config hash covers all of them — and reused by every run
 * that starts from it. Training a missing baseline goes through hx_run, handed its own starting
 * model when the baseline config names one (resolved here first), so a run never calls back up
 * into this file. Runs started side by side (harness sweep, Slurm tasks) that need the same
 * baseline take turns on <cache>.lock: the first trains it, the others wait and then load it. */
#include "harness/baseline.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>
#include "base/fileio.h"
#include "base/json.h"
#include "harness/checkpoint.h"
#include "harness/roots.h"
#include "harness/run.h"
#include "harness/run_dir.h"

enum { MODEL_FILE_MAX = 1u << 30 };

/* An exclusive flock on <cache>.lock, waited for (saying so) when another run holds it; -1 + err. */
static int lock_cache(const char *dir, const char *cache, FILE *log, char *err, size_t errlen)
{
    char lock[2 * PATH_MAX + 8];
    snprintf(lock, sizeof lock, "%s.lock", cache);
    if (fio_mkdir_p(dir, err, errlen) != 0) return -1;
    int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (fd < 0) {
        snprintf(err, errlen, "%s: cannot open the baseline cache's lock: %s", lock, strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        if (log) fprintf(log, "baseline %s is being trained by another harness run: waiting for it\n", cache);
        while (flock(fd, LOCK_EX) != 0)
            if (errno != EINTR) {
                snprintf(err, errlen, "%s: cannot lock the baseline cache: %s", lock, strerror(errno));
                close(fd);
                return -1;
            }
    }
    return fd;
}

/* Copies a finished run's model.h5 to the cache. */
static int cache_from(const char *src, const char *dir, const char *cache, char *err, size_t errlen)
{
    char *buf;
    size_t len;
    if (fio_mkdir_p(dir, err, errlen) != 0 || fio_read_all(src, MODEL_FILE_MAX, &buf, &len, err, errlen) != 0)
        return -1;
    int rc = fio_write_atomic(cache, buf, len, err, errlen);
    free(buf);
    return rc;
}

/* final_acc of a finished run's result.json (NAN if unreadable). */
static double recorded_acc(const char *run_dir)
{
    char path[PATH_MAX + 16], err[256], *text = NULL;
    snprintf(path, sizeof path, "%s/result.json", run_dir);
    double acc = NAN;
    if (json_load(path, 1u << 22, &text, err, sizeof err) == 0) json_get_num(text, "final_acc", &acc);
    free(text);
    return acc;
}

typedef struct where { char hash[17], dir[PATH_MAX], cache[2 * PATH_MAX], run_id[OPT_STR_MAX + 32], run_dir[PATH_MAX]; } where;

/* Holding the cache's lock: the cached model, else the finished run's (copied to the cache),
 * else trained once from `start` (NULL: from scratch) and cached. */
static nn_model *cached_or_trained(const char *path, const where *w, const nn_model *start, int threads, FILE *log,
                                   char *err, size_t errlen)
{
    char src[PATH_MAX + 16];
    snprintf(src, sizeof src, "%s/model.h5", w->run_dir);
    if (!fio_exists(w->cache) && hx_run_dir_finished(w->run_dir, w->run_id, w->hash, NULL, NULL, 0) && fio_exists(src)) {
        if (cache_from(src, w->dir, w->cache, err, errlen) != 0) return NULL;
        if (log) fprintf(log, "baseline %s: reusing the finished run %s\n", path, src);
    }
    if (!fio_exists(w->cache)) {
        if (log) fprintf(log, "baseline %s is not cached yet: training it once (cached as %s)\n", path, w->cache);
        char set[64];
        snprintf(set, sizeof set, "run.threads=%d", threads);
        const char *sets[] = {set};
        /* Not finished with its model (else it would be reused above). A finished record without
         * its model (results/ keeps records, not models) stays as it is: the model is trained again
         * in a folder of the cache's, and a record that differs from it is said (another machine's
         * BLAS kernels, another code). An interrupted or damaged folder is cleared and trained again. */
        double recorded = NAN;
        int keep = hx_run_dir_finished(w->run_dir, w->run_id, w->hash, NULL, NULL, 0);
        char retrain[PATH_MAX + 16];
        snprintf(retrain, sizeof retrain, "%s/retrained", w->dir);
        if (keep) recorded = recorded_acc(w->run_dir);
        hx_run_opts o = {.sets = sets, .n_sets = 1, .log = log, .rerun = 1, .pretrained = start,
                         .runs_dir = keep ? retrain : NULL};
        hx_run_result res;
        if (hx_run(path, &o, &res, err, errlen) != 0) return NULL;
        snprintf(src, sizeof src, "%s/model.h5", res.run_dir);
        if (cache_from(src, w->dir, w->cache, err, errlen) != 0) return NULL;
        if (log) fprintf(log, "baseline cached: %s (%.2f%% test accuracy)\n", w->cache, res.final_acc);
        if (keep && res.final_acc != recorded)
            fprintf(log ? log : stderr, "baseline %s: note: the model trained here scores %.2f%%, its record %s/result.json "
                    "says %.2f%% (kept): runs starting from it start from this model\n", path, res.final_acc,
                    w->run_dir, recorded);
    } else if (log) {
        fprintf(log, "baseline: %s (cached)\n", w->cache);
    }
    ckpt_meta meta;
    memset(&meta, 0, sizeof meta);
    nn_model *m = ckpt_load(w->cache, NULL, &meta, err, errlen);
    if (m && strcmp(meta.config_hash, w->hash) != 0) {
        snprintf(err, errlen, "%s: cached baseline does not match its config (hash %s, expected %s); delete it",
                 w->cache, meta.config_hash, w->hash);
        nn_model_free(m);
        m = NULL;
    }
    ckpt_meta_free(&meta);
    return m;
}

/* Where the model of the baseline config at path lives, and the config's own [model] pretrained. */
static int locate(const char *path, where *w, char *pretrained, size_t pretrained_len, char *err, size_t errlen)
{
    hx_config c;
    if (cfg_load(path, NULL, 0, &c, err, errlen) != 0) return -1;
    if (c.method) {
        snprintf(err, errlen, "%s: a baseline config trains the full-precision model; it must not name a "
                 "method ([method] name = %s)", path, c.method->name);
        cfg_free(&c);
        return -1;
    }
    hx_run_locate(&c, w->hash, w->run_id, sizeof w->run_id, w->run_dir, sizeof w->run_dir);
    snprintf(w->dir, sizeof w->dir, "%s/baselines", hx_results_root());
    snprintf(w->cache, sizeof w->cache, "%s/%s-%s-%s.h5", w->dir, c.arch, c.dataset, w->hash);
    snprintf(pretrained, pretrained_len, "%s", c.pretrained);
    cfg_free(&c);
    return 0;
}

static nn_model *resolve(const char *path, int threads, FILE *log, int depth, char *err, size_t errlen)
{
    where w;
    char pretrained[OPT_STR_MAX];
    if (locate(path, &w, pretrained, sizeof pretrained, err, errlen) != 0) return NULL;
    /* A baseline that may have to be trained and starts from another: that one first, before
     * this cache's lock is taken (baselines naming each other would otherwise wait on themselves). */
    nn_model *start = NULL;
    if (pretrained[0] && !fio_exists(w.cache)) {
        if (depth + 1 >= HX_BASELINE_DEPTH_MAX) {
            snprintf(err, errlen, "%s: [model] pretrained = %s: baselines start from baselines more than %d deep "
                     "(do they name each other?)", path, pretrained, HX_BASELINE_DEPTH_MAX);
            return NULL;
        }
        char perr[1024];
        start = resolve(pretrained, threads, log, depth + 1, perr, sizeof perr);
        if (!start) {
            snprintf(err, errlen, "%s: [model] pretrained = %s: %s", path, pretrained, perr);
            return NULL;
        }
    }
    int lock = lock_cache(w.dir, w.cache, log, err, errlen);
    nn_model *m = lock < 0 ? NULL : cached_or_trained(path, &w, start, threads, log, err, errlen);
    if (lock >= 0) close(lock);   /* releases the flock */
    nn_model_free(start);
    return m;
}

nn_model *hx_baseline(const char *path, int threads, FILE *log, char *err, size_t errlen)
{
    return resolve(path, threads, log, 0, err, errlen);
}

int hx_baseline_files(const char *path, char *cache, size_t cache_len, char *run_dir, size_t run_dir_len,
                      char hash[17], char *err, size_t errlen)
{
    where w;
    char pretrained[OPT_STR_MAX];
    if (locate(path, &w, pretrained, sizeof pretrained, err, errlen) != 0) return -1;
    snprintf(cache, cache_len, "%s", w.cache);
    snprintf(run_dir, run_dir_len, "%s", w.run_dir);
    memcpy(hash, w.hash, sizeof w.hash);
    return 0;
}
