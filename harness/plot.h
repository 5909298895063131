/* harness plot: gnuplot figures of finished runs, and PNG pictures of a run or a dataset.
 *
 *   harness plot [--runs DIR] [--out DIR] [--ref FILE] [--skip-bad] [--no-gnuplot]
 *   harness plot --pictures RUN_DIR [--out DIR] [--per-class N]
 *   harness plot --samples DATASET [--out DIR] [--per-class N]
 *
 * For every (arch, dataset) it writes into the out folder (default plots/out) a data file and a
 * self-contained gnuplot script for: top-1 vs weight bits (bits_<arch>_<dataset>), top-1 vs
 * compression ratio on a log axis with the Pareto front (compression_...), and the test
 * accuracy per epoch of every run from its metrics.csv (curves_...), and, when some of its runs
 * hold a speedup.json (speedup.h), top-1 vs measured speedup at batch 64 on a log axis, one point
 * per method over those runs (speedup_...). Published numbers from
 * reference.csv are drawn as open red points. Every run folder with a rounds.csv (Lottery Ticket)
 * gets lottery_<run-id>: two panels, test accuracy at the early-stop iteration and that
 * iteration, against weights remaining (log axis, 100% on the left), winning ticket vs random
 * re-init, like Frankle & Carbin's Fig. 3/4. Then it runs gnuplot there to make the PNGs; when
 * gnuplot is missing it says so and keeps the .dat/.gp files (run `gnuplot NAME.gp` later). */
#ifndef HARNESS_PLOT_H
#define HARNESS_PLOT_H
#include <stddef.h>
#include <stdio.h>
#include "harness/report_ref.h"
#include "harness/report_runs.h"

/* File-name-safe copy: letters, digits, '.', '-' kept; anything else becomes '_'. */
void hx_plot_file_name(const char *s, char *out, size_t n);

/* CLI entry; 0 = ok (also when gnuplot is missing: the message goes to out). */
int hx_plot_main(int argc, char **argv, FILE *out, char *err, size_t errlen);

/* Writes the .dat and .gp files for all groups of runs into dir (created if needed); the
 * script names are appended to scripts, one per line. Returns the number of scripts, -1 on error.
 * A run's unreadable metrics.csv is an error naming it, unless skip_bad (then its curve is left out). */
int hx_plot_write(const rr_set *runs, const rf_table *ref, const char *dir, int skip_bad, rr_buf *scripts,
                  char *err, size_t errlen);

/* Writes lottery_<run-id>.dat/.gp for every folder under runs_dir holding a rounds.csv (one with
 * no finished round yet gets none); script names are appended to scripts. Returns their number,
 * -1 on error. A malformed rounds.csv is an error naming file and line, unless skip_bad. */
int hx_plot_lottery(const char *runs_dir, const char *dir, int skip_bad, rr_buf *scripts, char *err, size_t errlen);

/* Runs `gnuplot` on the newline-separated scripts inside dir (output in dir/gnuplot.log).
 * 0 = ok, 1 = gnuplot is not installed, -1 = it failed (err quotes the log). */
int hx_plot_gnuplot(const char *dir, const char *scripts, char *err, size_t errlen);

/* Pareto front of points (x[i], y[i]), both larger-is-better: the indices of the points no
 * other point dominates, sorted by x ascending, into front. Returns their count. */
int hx_plot_pareto(const double *x, const double *y, int n, int *front);

/* Pictures through libpng (harness/pictures.h), into out_dir (created if needed); each file
 * written gets a line on out saying what it shows.
 * hx_plot_samples: samples_<dataset>.png, the first per_class test images of every class, one row
 * per class in label order.
 * hx_plot_pictures: for the finished run in run_dir, the samples of its dataset, then
 * filters_<run-id>_final.png (its first weighted layer after compression) and, when the run
 * started from [model] pretrained, filters_<run-id>_baseline.png on the same scale (when that
 * baseline's model is not there, a note says so: nothing is trained), and
 * masks_<run-id>_<NN>-<layer>.png for every layer of the final model with a pruning mask.
 * 0, or -1 with err naming the file. */
int hx_plot_samples(const char *dataset, const char *out_dir, int per_class, FILE *out, char *err, size_t errlen);
int hx_plot_pictures(const char *run_dir, const char *out_dir, int per_class, FILE *out, char *err, size_t errlen);

#endif
