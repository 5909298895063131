/* Per-epoch metrics of a run (no timings: the same config and seed give a byte-identical file), kept in memory and rewritten atomically as metrics.csv after
 * every epoch (so an interrupted run's file is always whole). */
#ifndef HARNESS_METRICS_H
#define HARNESS_METRICS_H
#include <stddef.h>

typedef struct hx_metrics_row {
    int round, epoch;
    double lr, train_loss, train_acc, val_loss, val_acc, test_loss, test_acc, nonzero;
} hx_metrics_row;

typedef struct hx_metrics { hx_metrics_row *rows; int n, cap; } hx_metrics;

void hx_metrics_add(hx_metrics *, const hx_metrics_row *);
int  hx_metrics_save(const hx_metrics *, const char *path, char *err, size_t errlen);
/* Reads path back, keeping rows up to and including (round, epoch) (0-based). */
int  hx_metrics_load(hx_metrics *, const char *path, int round, int epoch, char *err, size_t errlen);
void hx_metrics_free(hx_metrics *);

#endif
