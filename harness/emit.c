/* harness sweep --emit: run specs as a GNU parallel command file or a Slurm job-array script
 * (see sweep.h). Every word is single-quoted, so paths and values reach harness as given. */
#include <stdlib.h>
#include <string.h>
#include "base/fileio.h"
#include "harness/report_runs.h"
#include "harness/sweep.h"

static void quote(rr_buf *b, const char *s)
{
    rr_puts(b, "'");
    for (; *s; s++) rr_puts(b, *s == '\'' ? "'\\''" : (char[]){*s, 0});
    rr_puts(b, "'");
}

static void command(rr_buf *b, const sweep_spec *s, const char *harness)
{
    quote(b, harness);
    rr_puts(b, " run ");
    quote(b, s->config);
    if (s->seed >= 0) rr_printf(b, " --seed-list %d", s->seed);
    for (int i = 0; i < s->n_sets; i++) {
        rr_puts(b, " --set ");
        quote(b, s->sets[i]);
    }
    rr_puts(b, " --quiet");
    if (s->resume) rr_puts(b, " --resume");
}

void sweep_command(const sweep_spec *s, const char *harness, char *out, size_t outlen)
{
    rr_buf b = {0};
    command(&b, s, harness);
    snprintf(out, outlen, "%s", b.s);
    rr_buf_free(&b);
}

/* The variables that decide where runs and data live, as they are now, so a task started
 * elsewhere (a Slurm node, a parallel job) writes where this sweep would. */
static void exports(rr_buf *b, const char *sep)
{
    static const char *const vars[] = {"HARNESS_RESULTS", "HARNESS_DATA_DIR"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        const char *v = getenv(vars[i]);
        if (!v || !*v) continue;
        rr_printf(b, "export %s=", vars[i]);
        quote(b, v);
        rr_puts(b, sep);
    }
}

int sweep_emit_parallel(const sweep_spec *s, int n, const char *harness, const char *cwd, const char *path,
                        char *err, size_t errlen)
{
    rr_buf b = {0};
    for (int i = 0; i < n; i++) {
        rr_puts(&b, "cd ");
        quote(&b, cwd);
        rr_puts(&b, " && ");
        exports(&b, " && ");
        command(&b, &s[i], harness);
        rr_puts(&b, "\n");
    }
    int rc = fio_write_string(path, b.s ? b.s : "", err, errlen);
    rr_buf_free(&b);
    return rc;
}

int sweep_emit_slurm(const sweep_spec *s, int n, int jobs, const char *harness, const char *cwd, const char *log_dir,
                     const char *path, char *err, size_t errlen)
{
    if (fio_mkdir_p(log_dir, err, errlen) != 0) return -1;   /* Slurm does not create it */
    int cpus = 1;
    for (int i = 0; i < n; i++) cpus = s[i].threads > cpus ? s[i].threads : cpus;
    rr_buf b = {0};
    rr_puts(&b, "#!/bin/bash\n");
    rr_printf(&b, "# harness sweep: %d run(s), one array task each; submit with: sbatch %s\n", n, path);
    rr_puts(&b, "#SBATCH --job-name=harness-sweep\n");
    rr_printf(&b, "#SBATCH --array=0-%d", n - 1);
    if (jobs > 0) rr_printf(&b, "%%%d", jobs);
    rr_printf(&b, "\n#SBATCH --cpus-per-task=%d\n#SBATCH --ntasks=1\n", cpus);
    rr_printf(&b, "#SBATCH --output=%s/slurm-%%A_%%a.log\n", log_dir);
    rr_puts(&b, "set -euo pipefail\ncd ");
    quote(&b, cwd);
    rr_puts(&b, "\n");
    exports(&b, "\n");
    rr_puts(&b, "case \"${SLURM_ARRAY_TASK_ID:?this script is a Slurm job array: sbatch it}\" in\n");
    for (int i = 0; i < n; i++) {
        rr_printf(&b, "  %d) exec ", i);
        command(&b, &s[i], harness);
        rr_puts(&b, " ;;\n");
    }
    rr_puts(&b, "  *) echo \"harness sweep: no task $SLURM_ARRAY_TASK_ID\" >&2; exit 2 ;;\nesac\n");
    int rc = fio_write_string(path, b.s, err, errlen);
    rr_buf_free(&b);
    return rc;
}
