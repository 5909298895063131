/* The baseline cache: a full-precision model trained once per (dataset, architecture, recipe,
 * seed) — the config hash covers all of them — and reused by every run that starts from it.
 * Runs started side by side (harness sweep, Slurm tasks) that need the same baseline take turns
 * on <cache>.lock: the first trains it, the others wait and then load it. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>
#include "harness/checkpoint.h"
#include "base/fileio.h"
#include "harness/run.h"
#include "harness/run_dir.h"

static nn_model *cached_or_trained(const char *path, const char *dir, const char *cache, const char *hash,
                                   const char *run_id, const char *run_dir, int threads, FILE *log, char *err,
                                   size_t errlen);

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

int hx_baseline_files(const char *path, char *cache, size_t cache_len, char *run_dir, size_t run_dir_len,
                      char hash[17], char *err, size_t errlen)
{
    hx_config c;
    if (cfg_load(path, NULL, 0, &c, err, errlen) != 0) return -1;
    if (c.method) {
        snprintf(err, errlen, "%s: a baseline config trains the full-precision model; it must not name a "
                 "method ([method] name = %s)", path, c.method->name);
        cfg_free(&c);
        return -1;
    }
    cfg_hash(&c, hash);
    snprintf(cache, cache_len, "%s/baselines/%s-%s-%s.h5", hx_results_root(), c.arch, c.dataset, hash);
    /* A finished run of the same config (same hash: same run folder) is the baseline already. */
    snprintf(run_dir, run_dir_len, "%s/runs/%s-%s", hx_results_root(), c.name, hash);
    cfg_free(&c);
    return 0;
}

nn_model *hx_baseline(const char *path, int threads, FILE *log, char *err, size_t errlen)
{
    char hash[17], dir[PATH_MAX], cache[2 * PATH_MAX], run_dir[2 * PATH_MAX];
    if (hx_baseline_files(path, cache, sizeof cache, run_dir, sizeof run_dir, hash, err, errlen) != 0) return NULL;
    snprintf(dir, sizeof dir, "%s/baselines", hx_results_root());
    const char *run_id = strrchr(run_dir, '/') + 1;
    int lock = lock_cache(dir, cache, log, err, errlen);
    if (lock < 0) return NULL;
    nn_model *m = cached_or_trained(path, dir, cache, hash, run_id, run_dir, threads, log, err, errlen);
    close(lock);   /* releases the flock */
    return m;
}

static nn_model *cached_or_trained(const char *path, const char *dir, const char *cache, const char *hash,
                                   const char *run_id, const char *run_dir, int threads, FILE *log, char *err,
                                   size_t errlen)
{
    char src[2 * PATH_MAX + 16];
    snprintf(src, sizeof src, "%s/model.h5", run_dir);
    if (!fio_exists(cache) && hx_run_dir_finished(run_dir, run_id, hash, NULL, NULL, 0) && fio_exists(src)) {
        char *buf;
        size_t len;
        if (fio_mkdir_p(dir, err, errlen) != 0 || fio_read_all(src, 1u << 30, &buf, &len, err, errlen) != 0)
            return NULL;
        int rc = fio_write_atomic(cache, buf, len, err, errlen);
        free(buf);
        if (rc != 0) return NULL;
        if (log) fprintf(log, "baseline %s: reusing the finished run %s\n", path, src);
    }
    if (!fio_exists(cache)) {
        if (log) fprintf(log, "baseline %s is not cached yet: training it once (cached as %s)\n", path, cache);
        char set[64];
        snprintf(set, sizeof set, "run.threads=%d", threads);
        const char *sets[] = {set};
        /* Not finished with its model (else it would be reused above): an interrupted or damaged
         * folder of the baseline's run, or a record without its model, is cleared and trained again. */
        hx_run_opts o = {.sets = sets, .n_sets = 1, .log = log, .rerun = 1};
        hx_run_result res;
        if (hx_run(path, &o, &res, err, errlen) != 0) return NULL;
        char *buf;
        size_t len;
        snprintf(src, sizeof src, "%s/model.h5", res.run_dir);
        if (fio_mkdir_p(dir, err, errlen) != 0) return NULL;
        if (fio_read_all(src, 1u << 30, &buf, &len, err, errlen) != 0) return NULL;
        int rc = fio_write_atomic(cache, buf, len, err, errlen);
        free(buf);
        if (rc != 0) return NULL;
        if (log) fprintf(log, "baseline cached: %s (%.2f%% test accuracy)\n", cache, res.final_acc);
    } else if (log) {
        fprintf(log, "baseline: %s (cached)\n", cache);
    }
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
