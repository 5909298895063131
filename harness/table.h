/* harness table: the Table-4-style report of finished runs next to the published numbers.
 *
 *   harness table [--runs DIR] [--format md|csv|tex] [--out FILE] [--ref FILE] [--skip-bad]
 *
 * Runs are read from DIR (default $HARNESS_RESULTS/runs, i.e. results/runs) and grouped by
 * (arch, dataset, method key) over seeds (report_runs.h); published numbers come from FILE
 * (default results/reference.csv, report_ref.h). Without --out the table goes to out; with
 * it the file is written atomically. */
#ifndef HARNESS_TABLE_H
#define HARNESS_TABLE_H
#include <stddef.h>
#include <stdio.h>
#include "harness/report_ref.h"
#include "harness/report_runs.h"

typedef enum { HX_TABLE_MD, HX_TABLE_CSV, HX_TABLE_TEX, HX_TABLE_FORMAT_COUNT } hx_table_format;

/* CLI entry; 0 = ok, else err says what is wrong (file, key, allowed values). */
int hx_table_main(int argc, char **argv, FILE *out, char *err, size_t errlen);

/* The report of runs against ref (ref may be empty) in one format, appended to buf.
 * source names the runs folder in the heading. */
void hx_table_render(const rr_set *runs, const rf_table *ref, hx_table_format, const char *source, rr_buf *buf);

#endif
