/* harness compare: a new method against the surveyed ones, on equal terms.
 *
 *   harness compare CONFIG [--against METHOD,...|all] [--seeds N | --seed-list S,...]
 *                          [--configs DIR] [--out FILE] [--quiet]
 *
 * The surveyed methods are the configs under DIR (default configs/, see config_scan.h) with the
 * same [model] arch and [data] dataset as CONFIG and a method (all of them, or those whose
 * method name or name:mode is listed); the baseline is CONFIG's [model] pretrained config, else
 * the first plain-training config of that arch and dataset. Every one of them is run (or reused:
 * a finished seed is never trained again) for each seed (default --seeds 3), then one Markdown
 * table is printed: top-1 mean ± std, Δ vs the baseline, size, compression, the measured speedup
 * of the seeds whose run folder holds a speedup.json (speedup.h; — where none does), and the
 * two-sided Welch's t-test p-value of CONFIG's seeds against each row's (harness/welch.h). */
#ifndef HARNESS_COMPARE_H
#define HARNESS_COMPARE_H
#include <stddef.h>
#include <stdio.h>

/* CLI entry; 0 = ok, else err says what is wrong. Progress goes to log, the table to out. */
int hx_compare_main(int argc, char **argv, FILE *out, FILE *log, char *err, size_t errlen);

#endif
