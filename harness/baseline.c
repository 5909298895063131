/* The baseline cache (see baseline.h). Training a missing baseline goes through hx_run; a
 * baseline that itself starts from a baseline is resolved here first, so the run is always
 * handed its starting model and never calls back up into this file. Runs started side by side
 * (harness sweep, Slurm tasks) that need the same baseline take turns on <cache>.lock: the first
 * trains it, the others wait and then load it. */
#include "harness/baseline.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>
#include "base/fileio.h"
#include "harness/checkpoint.h"
#include "harness/roots.h"
#include "harness/run.h"
#include "harness/run_dir.h"

enum { MODEL_FILE_MAX = 1u << 30 };

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

static nn_model *resolve(const char *path, int threads, FILE *log, int depth, char *err, size_t errlen);

/* Trains the baseline config at path once (its folder cleared first: it is not a finished run
 * with its model, else it would have been reused) and caches its model. */
static int train(const char *path, const char *pretrained, int threads, FILE *log, int depth, const char *dir,
                 const char *cache, char *err, size_t errlen)
{
    nn_model *start = NULL;
    if (pretrained[0]) {
        char perr[1024];
        if (depth + 1 >= HX_BASELINE_DEPTH_MAX) {
            snprintf(err, errlen, "%s: [model] pretrained = %s: baselines start from baselines more than %d deep "
                     "(do they name each other?)", path, pretrained, HX_BASELINE_DEPTH_MAX);
            return -1;
        }
        start = resolve(pretrained, threads, log, depth + 1, perr, sizeof perr);
        if (!start) {
            snprintf(err, errlen, "%s: [model] pretrained = %s: %s", path, pretrained, perr);
            return -1;
        }
    }
    if (log) fprintf(log, "baseline %s is not cached yet: training it once (cached as %s)\n", path, cache);
    char set[64];
    snprintf(set, sizeof set, "run.threads=%d", threads);
    const char *sets[] = {set};
    hx_run_opts o = {.sets = sets, .n_sets = 1, .log = log, .rerun = 1, .pretrained = start};
    hx_run_result res;
    int rc = hx_run(path, &o, &res, err, errlen);
    nn_model_free(start);
    if (rc != 0) return -1;
    char src[sizeof res.run_dir + 16];
    snprintf(src, sizeof src, "%s/model.h5", res.run_dir);
    if (cache_from(src, dir, cache, err, errlen) != 0) return -1;
    if (log) fprintf(log, "baseline cached: %s (%.2f%% test accuracy)\n", cache, res.final_acc);
    return 0;
}

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

static nn_model *resolve(const char *path, int threads, FILE *log, int depth, char *err, size_t errlen)
{
    hx_config c;
    if (cfg_load(path, NULL, 0, &c, err, errlen) != 0) return NULL;
    if (c.method) {
        snprintf(err, errlen, "%s: a baseline config trains the full-precision model; it must not name a "
                 "method ([method] name = %s)", path, c.method->name);
        cfg_free(&c);
        return NULL;
    }
    char hash[17], dir[PATH_MAX], cache[2 * PATH_MAX], run_id[OPT_STR_MAX + 32], run_dir[PATH_MAX],
        pretrained[OPT_STR_MAX];
    hx_run_locate(&c, hash, run_id, sizeof run_id, run_dir, sizeof run_dir);
    snprintf(dir, sizeof dir, "%s/baselines", hx_results_root());
    snprintf(cache, sizeof cache, "%s/%s-%s-%s.h5", dir, c.arch, c.dataset, hash);
    snprintf(pretrained, sizeof pretrained, "%s", c.pretrained);
    cfg_free(&c);
    int lock = lock_cache(dir, cache, log, err, errlen);
    if (lock < 0) return NULL;
    /* A finished run of the same config (same hash: same run folder) is the baseline already. */
    char src[PATH_MAX + 16];
    snprintf(src, sizeof src, "%s/model.h5", run_dir);
    int rc = 0;
    if (!fio_exists(cache) && hx_run_dir_finished(run_dir, run_id, hash, NULL, NULL, 0) && fio_exists(src)) {
        rc = cache_from(src, dir, cache, err, errlen);
        if (rc == 0 && log) fprintf(log, "baseline %s: reusing the finished run %s\n", path, src);
    }
    if (rc == 0 && !fio_exists(cache)) rc = train(path, pretrained, threads, log, depth, dir, cache, err, errlen);
    else if (rc == 0 && log) fprintf(log, "baseline: %s (cached)\n", cache);
    close(lock);   /* releases the flock */
    if (rc != 0) return NULL;
    ckpt_meta meta;
    memset(&meta, 0, sizeof meta);
    nn_model *m = ckpt_load(cache, NULL, &meta, err, errlen);
    if (m && strcmp(meta.config_hash, hash) != 0) {
        snprintf(err, errlen, "%s: cached baseline does not match its config (hash %s, expected %s); delete it",
                 cache, meta.config_hash, hash);
        nn_model_free(m);
        m = NULL;
    }
    ckpt_meta_free(&meta);
    return m;
}

nn_model *hx_baseline(const char *path, int threads, FILE *log, char *err, size_t errlen)
{
    return resolve(path, threads, log, 0, err, errlen);
}
