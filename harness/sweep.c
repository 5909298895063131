/* harness sweep (see sweep.h): the grid, its checks, and the local runner. */
#include "harness/sweep.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "base/fileio.h"
#include "harness/roots.h"
#include "harness/run.h"
#include "harness/run_dir.h"
#include "harness/seeds.h"

enum { SWEEP_MAX_CONFIGS = 256, SWEEP_MAX_VALUES = 64, SWEEP_EMIT_NONE = 0, SWEEP_EMIT_PARALLEL, SWEEP_EMIT_SLURM };

typedef struct axis { char key[OPT_STR_MAX]; char values[SWEEP_MAX_VALUES][OPT_STR_MAX]; int n; } axis;

typedef struct sweep_args {
    const char *configs[SWEEP_MAX_CONFIGS]; int n_configs;
    axis axes[SWEEP_MAX_AXES]; int n_axes;
    hx_seeds seeds;
    int jobs, emit, quiet, resume;
    const char *out_path;
} sweep_args;

static int usage(char *err, size_t errlen, const char *what)
{
    snprintf(err, errlen, "sweep: %s; usage: harness sweep CONFIG... [--seeds N | --seed-list S,...] "
             "[--set section.key[+section.key]=v1,v2,...]... [--jobs J] [--emit parallel|slurm] [--out FILE] [--quiet] [--resume]", what);
    return -1;
}

/* The key after k in an axis's "key+key+..." list, or NULL. */
static const char *next_key(const char *k)
{
    const char *plus = strchr(k, '+');
    return plus ? plus + 1 : NULL;
}

/* "section.key=v1,v2" into an axis; "s.k1+s.k2=v1,v2" ties keys: each value goes to all of them
 * (w_bits = a_bits = 2, then 4, ...), one axis instead of a grid of them. */
static int parse_axis(sweep_args *a, const char *text, char *err, size_t errlen)
{
    const char *eq = strchr(text, '=');
    if (a->n_axes == SWEEP_MAX_AXES) return usage(err, errlen, "too many --set");
    if (!eq || eq == text || !eq[1] || (size_t)(eq - text) >= OPT_STR_MAX) {
        char what[512];
        snprintf(what, sizeof what, "--set %s: give section.key=value[,value...] (or key+key=...)", text);
        return usage(err, errlen, what);
    }
    axis *x = &a->axes[a->n_axes++];
    memset(x, 0, sizeof *x);
    memcpy(x->key, text, (size_t)(eq - text));
    int keys = 0;
    for (int i = 0; i < a->n_axes; i++)
        for (const char *k = a->axes[i].key; k; k = next_key(k)) keys++;
    if (keys > SWEEP_MAX_AXES) return usage(err, errlen, "too many swept keys");
    for (const char *k = x->key; k; k = next_key(k)) {
        size_t len = strcspn(k, "+");
        int seen = !len;
        for (int i = 0; i < a->n_axes && !seen; i++)
            for (const char *o = a->axes[i].key; o && !seen; o = next_key(o))
                seen = (o != k && strcspn(o, "+") == len && !strncmp(o, k, len));
        if (seen) {
            char what[512];
            snprintf(what, sizeof what, "--set %s: %.*s is %s (give all its values in one --set)", text, (int)len, k,
                     len ? "swept already" : "empty");
            return usage(err, errlen, what);
        }
    }
    const char *p = eq + 1;
    for (;;) {
        size_t len = strcspn(p, ",");
        if (!len || len >= OPT_STR_MAX || x->n == SWEEP_MAX_VALUES) {
            char what[512];
            snprintf(what, sizeof what, "--set %s: values are separated by single commas, at most %d of them",
                     text, SWEEP_MAX_VALUES);
            return usage(err, errlen, what);
        }
        memcpy(x->values[x->n++], p, len);
        if (!p[len]) return 0;
        p += len + 1;
    }
}

static int parse_args(int argc, char **argv, sweep_args *a, char *err, size_t errlen)
{
    memset(a, 0, sizeof *a);
    a->jobs = 0;
    for (int i = 0; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int used = 0, k = hx_seeds_option(argv[i], v, &a->seeds, &used, err, errlen);
        if (k < 0) return -1;
        if (k > 0) { i += used - 1; continue; }
        if (strcmp(argv[i], "--quiet") == 0) a->quiet = 1;
        else if (strcmp(argv[i], "--resume") == 0) a->resume = 1;
        else if (strcmp(argv[i], "--set") == 0 && v) { if (parse_axis(a, argv[++i], err, errlen) != 0) return -1; }
        else if (strcmp(argv[i], "--out") == 0 && v) a->out_path = argv[++i];
        else if (strcmp(argv[i], "--jobs") == 0 && v) {
            char *end;
            long j = strtol(argv[++i], &end, 10);
            if (*end || j < 1 || j > 256) return usage(err, errlen, "--jobs takes a whole number from 1 to 256");
            a->jobs = (int)j;
        } else if (strcmp(argv[i], "--emit") == 0 && v) {
            i++;
            if (!strcmp(v, "parallel")) a->emit = SWEEP_EMIT_PARALLEL;
            else if (!strcmp(v, "slurm")) a->emit = SWEEP_EMIT_SLURM;
            else return usage(err, errlen, "--emit takes parallel or slurm");
        } else if (argv[i][0] == '-') {
            char what[256];
            snprintf(what, sizeof what, "unknown option %s", argv[i]);
            return usage(err, errlen, what);
        } else if (a->n_configs == SWEEP_MAX_CONFIGS) return usage(err, errlen, "too many configs");
        else a->configs[a->n_configs++] = argv[i];
    }
    if (!a->n_configs) return usage(err, errlen, "which configs?");
    if (a->out_path && !a->emit) return usage(err, errlen, "--out names the file --emit writes");
    if (a->resume && !a->seeds.n)
        return usage(err, errlen, "--resume continues the interrupted runs of seeded runs: give --seeds or --seed-list");
    return 0;
}

/* Loads a spec's config as its run would (so every error shows now) and fills its run id. */
static int check_spec(sweep_spec *s, char *err, size_t errlen)
{
    const char *sets[SWEEP_MAX_AXES + 1];
    char seed[32];
    int n = 0;
    for (int i = 0; i < s->n_sets; i++) sets[n++] = s->sets[i];
    if (s->seed >= 0) {
        snprintf(seed, sizeof seed, "run.seed=%d", s->seed);
        sets[n++] = seed;
    }
    hx_config c;
    char msg[2048];
    if (cfg_load(s->config, sets, n, &c, msg, sizeof msg) != 0) {
        snprintf(err, errlen, "sweep: %s", msg);
        return -1;
    }
    cfg_hash(&c, s->hash);
    snprintf(s->run_id, sizeof s->run_id, "%s-%s", c.name, s->hash);
    s->threads = c.threads;
    cfg_free(&c);
    return 0;
}

/* The grid in order config, then the axes (last varies fastest), then seed; duplicates of an
 * earlier run id are dropped and named on log. */
static int expand(const sweep_args *a, sweep_spec **out, int *n_out, FILE *log, char *err, size_t errlen)
{
    long total = a->n_configs * (long)(a->seeds.n ? a->seeds.n : 1);
    for (int x = 0; x < a->n_axes; x++) total *= a->axes[x].n;
    if (total > SWEEP_MAX_SPECS) {
        snprintf(err, errlen, "sweep: the grid has %ld runs, more than %d; split it", total, SWEEP_MAX_SPECS);
        return -1;
    }
    sweep_spec *s = calloc((size_t)total, sizeof *s);
    int n = 0, idx[SWEEP_MAX_AXES] = {0};
    for (int c = 0; c < a->n_configs; c++)
        for (long g = 0; g < total / a->n_configs / (a->seeds.n ? a->seeds.n : 1); g++) {
            long rest = g;   /* g in mixed radix over the axes */
            for (int x = a->n_axes - 1; x >= 0; x--) { idx[x] = (int)(rest % a->axes[x].n); rest /= a->axes[x].n; }
            for (int k = 0; k < (a->seeds.n ? a->seeds.n : 1); k++) {
                sweep_spec *p = &s[n];
                p->config = a->configs[c];
                p->seed = a->seeds.n ? a->seeds.v[k] : -1;
                p->resume = a->resume;
                for (int x = 0; x < a->n_axes; x++)
                    for (const char *k = a->axes[x].key; k; k = next_key(k))
                        snprintf(p->sets[p->n_sets++], sizeof p->sets[0], "%.*s=%s", (int)strcspn(k, "+"), k,
                                 a->axes[x].values[idx[x]]);
                if (check_spec(p, err, errlen) != 0) { free(s); return -1; }
                int dup = -1;
                for (int j = 0; j < n && dup < 0; j++) dup = strcmp(s[j].run_id, p->run_id) ? -1 : j;
                if (dup >= 0) {
                    fprintf(log, "sweep: %s %s gives run %s again (as %s): run once\n", p->config,
                            p->n_sets ? p->sets[0] : "", p->run_id, s[dup].config);
                    memset(p, 0, sizeof *p);
                    continue;
                }
                n++;
            }
        }
    *out = s;
    *n_out = n;
    return 0;
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Starts `harness run` for s with its output in log_path; the child's pid, or -1. */
static pid_t start(const sweep_spec *s, const char *harness, const char *log_path, char *err, size_t errlen)
{
    char seed[32], *argv[4 + 2 * SWEEP_MAX_AXES + 5];
    int n = 0;
    argv[n++] = (char *)harness;
    argv[n++] = "run";
    argv[n++] = (char *)s->config;
    if (s->seed >= 0) {
        snprintf(seed, sizeof seed, "%d", s->seed);
        argv[n++] = "--seed-list";
        argv[n++] = seed;
    }
    for (int i = 0; i < s->n_sets; i++) { argv[n++] = "--set"; argv[n++] = (char *)s->sets[i]; }
    argv[n++] = "--quiet";
    if (s->resume) argv[n++] = "--resume";
    argv[n] = NULL;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(err, errlen, "sweep: cannot start a run: %s", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        int fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
        if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0) _exit(126);
        execv(harness, argv);
        dprintf(2, "harness sweep: cannot run %s: %s\n", harness, strerror(errno));
        _exit(127);
    }
    return pid;
}

/* Runs the specs here, at most jobs at a time; finished ones are not started. */
static int run_local(const sweep_spec *s, int n, int jobs, const char *harness, FILE *out, char *err, size_t errlen)
{
    char logs[PATH_MAX];
    snprintf(logs, sizeof logs, "%s/sweep-logs", hx_results_root());
    if (fio_mkdir_p(logs, err, errlen) != 0) return -1;
    pid_t *pids = calloc((size_t)n, sizeof *pids);
    double *t0 = calloc((size_t)n, sizeof *t0);
    int next = 0, running = 0, done = 0, failed = 0, reused = 0;
    double start_all = now_s();
    while (done < n) {
        while (next < n && running < (jobs > 0 ? jobs : 1)) {
            const sweep_spec *p = &s[next];
            char dir[PATH_MAX], log_path[PATH_MAX + 64];
            snprintf(dir, sizeof dir, "%s/runs/%s", hx_results_root(), p->run_id);
            if (hx_run_dir_finished(dir, p->run_id, p->hash, NULL, NULL, 0)) {
                fprintf(out, "[%d/%d] reused %s: finished already, not started\n", ++done, n, p->run_id);
                reused++;
                next++;
                continue;
            }
            snprintf(log_path, sizeof log_path, "%s/%s.log", logs, p->run_id);
            pids[next] = start(p, harness, log_path, err, errlen);
            if (pids[next] < 0) { failed++; done++; next++; continue; }
            t0[next++] = now_s();
            running++;
        }
        if (!running) continue;
        int status;
        pid_t pid = wait(&status);
        if (pid < 0) { if (errno == EINTR) continue; break; }
        for (int i = 0; i < next; i++) {
            if (pids[i] != pid) continue;
            int ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
            failed += !ok;
            fprintf(out, "[%d/%d] %s %s in %.1f s (log: %s/%s.log)\n", ++done, n, ok ? "finished" : "FAILED",
                    s[i].run_id, now_s() - t0[i], logs, s[i].run_id);
            running--;
        }
    }
    fprintf(out, "sweep: %d run(s): %d ran, %d reused, %d failed, in %.1f s\n", n, n - reused - failed, reused,
            failed, now_s() - start_all);
    free(pids);
    free(t0);
    if (failed) {
        snprintf(err, errlen, "sweep: %d of %d run(s) failed; their logs are in %s", failed, n, logs);
        return -1;
    }
    return 0;
}

int hx_sweep_main(int argc, char **argv, FILE *out, char *err, size_t errlen)
{
    sweep_args a;
    if (parse_args(argc, argv, &a, err, errlen) != 0) return -1;
    char harness[PATH_MAX], cwd[PATH_MAX];
    ssize_t k = readlink("/proc/self/exe", harness, sizeof harness - 1);
    if (k <= 0 || !getcwd(cwd, sizeof cwd)) {
        snprintf(err, errlen, "sweep: cannot find the harness binary or the current folder: %s", strerror(errno));
        return -1;
    }
    harness[k] = 0;
    sweep_spec *s = NULL;
    int n = 0;
    if (expand(&a, &s, &n, out, err, errlen) != 0) return -1;
    int rc;
    if (a.emit == SWEEP_EMIT_NONE) rc = run_local(s, n, a.jobs, harness, out, err, errlen);
    else {
        int slurm = a.emit == SWEEP_EMIT_SLURM;
        const char *path = a.out_path ? a.out_path : slurm ? "sweep.sbatch" : "sweep.parallel";
        char logs[PATH_MAX + 16];
        const char *root = hx_results_root();
        snprintf(logs, sizeof logs, "%s%s%s/sweep-logs", root[0] == '/' ? "" : cwd, root[0] == '/' ? "" : "/", root);
        rc = slurm ? sweep_emit_slurm(s, n, a.jobs, harness, cwd, logs, path, err, errlen)
                   : sweep_emit_parallel(s, n, harness, cwd, path, err, errlen);
        if (rc == 0 && slurm) fprintf(out, "wrote %s: %d array task(s); submit with: sbatch %s\n", path, n, path);
        else if (rc == 0)
            fprintf(out, "wrote %s: %d command(s); run with: parallel --jobs %d < %s\n", path, n, a.jobs ? a.jobs : 2,
                    path);
    }
    free(s);
    return rc;
}
