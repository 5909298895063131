/* harness reproduce: every config of a suite, then its table and plots.
 *
 *   harness reproduce --suite NAME [--seeds N | --seed-list S,...] [--configs DIR] [--quiet]
 *                     [--no-gnuplot]
 *
 * A suite is the configs under DIR (default configs/, see config_scan.h) whose [run] suite is
 * NAME (mnist, fashion-mnist and cifar10 ship). Each is run for each seed (default: seed 1),
 * or reused when it has finished already, so a second call trains nothing. Then the suite's own
 * report is written from exactly those runs: $HARNESS_RESULTS/suites/NAME/table.md and table.csv
 * (harness table's format, with results/reference.csv beside them) and plots/ (harness plot's
 * figures, PNGs when gnuplot is installed). */
#ifndef HARNESS_SUITE_H
#define HARNESS_SUITE_H
#include <stddef.h>
#include <stdio.h>

/* CLI entry; 0 = ok, else err says what is wrong. Progress goes to log, the summary to out. */
int hx_reproduce_main(int argc, char **argv, FILE *out, FILE *log, char *err, size_t errlen);

#endif
