/* Published numbers (results/reference.csv) for the reports.
 *
 * Columns (any order, by header name): method, arch, dataset, setting, w_bits, a_bits,
 * baseline_top1, top1, delta, compression, compression_of, confirmed, source, notes.
 * method is a method key as in report_runs.h (xnor:bwn, deepshift:q, ...). Numbers may be
 * empty (not reported). confirmed: yes | no | partial | secondary. Fields may be quoted ("..."
 * with "" for a quote). Several rows may share (method, arch, dataset): the first is the one
 * a run of that setting is compared with, the others are listed as "reported only". */
#ifndef HARNESS_REPORT_REF_H
#define HARNESS_REPORT_REF_H
#include <stddef.h>

enum { RF_FIELD_MAX = 256 };

typedef enum { RF_YES, RF_NO, RF_PARTIAL, RF_SECONDARY, RF_CONFIRMED_COUNT } rf_confirmed;

typedef struct rf_row {
    char method[64], arch[64], dataset[64];
    char setting[RF_FIELD_MAX], w_bits[64], a_bits[64], compression_of[64];
    char source[RF_FIELD_MAX], notes[RF_FIELD_MAX];
    double baseline, top1, delta, compression;   /* NAN when not reported */
    rf_confirmed confirmed;
    int line;                                     /* in the file, for messages */
} rf_row;

typedef struct rf_table { rf_row *rows; int n; } rf_table;

/* 0 = ok; errors name the file, the line and the column. */
int rf_load(const char *path, rf_table *, char *err, size_t errlen);
void rf_free(rf_table *);
/* The row for a run group on (arch, dataset): exact method key, else (for key "m:mode") a row
 * whose method is the bare "m"; within each, first a row stating the group's typical W/A bits
 * (or no bits), then any. -1 if none. */
int rf_match(const rf_table *, const char *key, const char *arch, const char *dataset, int w_bits, int a_bits);
/* Mark shown next to a reported number: "" (confirmed), "*" (unconfirmed or partly), "†" (secondary). */
const char *rf_mark(rf_confirmed);

#endif
