/* harness sweep: a grid of independent runs, run here or written out for an engine.
 *
 *   harness sweep CONFIG... [--seeds N | --seed-list S,...] [--set section.key[+key]=v1,v2,...]...
 *                 [--jobs J] [--emit parallel|slurm] [--out FILE] [--quiet] [--resume]
 *
 * The grid is every CONFIG × every combination of the --set values × every seed (default
 * seed: the config's own); keys joined by '+' in one --set (method.w_bits+method.a_bits=2,4,8)
 * take each value together, as one axis. Each point is a run spec: an ordinary `harness run CONFIG
 * --seed-list S [--set k=v]...` (reuse mode: a finished run is reused, and a run whose folder
 * another process holds is waited for, then reused). Every spec's config is loaded first, so a
 * bad key or value stops the sweep before anything runs; specs with the same run id are run once
 * (the duplicates are named).
 *
 * Without --emit the specs run here as child processes, at most J (default 1) at a time, each
 * logging to $HARNESS_RESULTS/sweep-logs/<run-id>.log; finished runs are not started at all.
 * --emit parallel writes FILE (default sweep.parallel) with one command per line for
 * `parallel --jobs J < FILE`; --emit slurm writes one job-array script (default sweep.sbatch,
 * one task per spec, at most J at once when --jobs is given) for `sbatch FILE`. Both cd to the
 * current folder and call this harness binary by its absolute path. A value with a comma cannot
 * be swept (the comma separates values): give list-valued keys in the config instead. */
#ifndef HARNESS_SWEEP_H
#define HARNESS_SWEEP_H
#include <stddef.h>
#include <stdio.h>
#include "harness/config.h"

enum { SWEEP_MAX_AXES = 16, SWEEP_MAX_SPECS = 4096 };

/* One run of the grid: harness run <config> [--seed-list <seed>] [--set <sets[i]>]... */
typedef struct sweep_spec {
    const char *config;
    char sets[SWEEP_MAX_AXES][OPT_STR_MAX + 64]; int n_sets;
    int seed;                  /* -1: the config's own */
    int resume;                /* --resume: an interrupted run is continued (seeded specs only) */
    int threads;               /* the config's [run] threads (Slurm's --cpus-per-task) */
    char run_id[OPT_STR_MAX + 32], hash[17];
} sweep_spec;

/* CLI entry; 0 = ok (every run finished or was reused, or the file was written), else err. */
int hx_sweep_main(int argc, char **argv, FILE *out, char *err, size_t errlen);

/* --- emit.c: the specs as engine input ----------------------------------------------------- */
/* One spec as a shell command line: '<harness>' run '<config>' ... --quiet. */
void sweep_command(const sweep_spec *, const char *harness, char *out, size_t outlen);
/* The GNU parallel command file / the Slurm array script (written atomically). jobs 0 = no
 * limit. log_dir: where Slurm writes each task's log (created). */
int sweep_emit_parallel(const sweep_spec *, int n, const char *harness, const char *cwd, const char *path,
                        char *err, size_t errlen);
int sweep_emit_slurm(const sweep_spec *, int n, int jobs, const char *harness, const char *cwd, const char *log_dir,
                     const char *path, char *err, size_t errlen);

#endif
