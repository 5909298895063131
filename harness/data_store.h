/* Finding a dataset's HDF5 file by name, preparing it from raw files on first use. */
#ifndef HARNESS_DATA_STORE_H
#define HARNESS_DATA_STORE_H
#include <stdio.h>
#include "datasets/dataset.h"
#include "nn/model.h"

/* Loads data/<name>.h5; when missing and name is a known dataset, prepares it first. */
int hx_dataset_open(const char *name, ds_dataset *, FILE *log, char *err, size_t errlen);
void hx_dataset_path(const char *name, char *out, size_t outlen);

/* Top-1 accuracy (%) and mean loss of model on `split` (first n images; 0 = all). */
double hx_evaluate(nn_model *, const ds_dataset *, const ds_split *, uint32_t n, int batch, double *loss);
/* The same, and each image's predicted class (the first largest logit) into pred[n] when not NULL. */
double hx_predict(nn_model *, const ds_dataset *, const ds_split *, uint32_t n, int batch, double *loss,
                  uint8_t *pred);

#endif
