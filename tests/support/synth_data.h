/* A small synthetic image-classification set for end-to-end tests: each class is a fixed random
 * pattern, each image that pattern plus noise. Learnable in a few epochs by any of the small nets. */
#ifndef TESTS_SYNTH_DATA_H
#define TESTS_SYNTH_DATA_H
#include "datasets/dataset.h"
#ifdef __cplusplus
extern "C" {
#endif

/* Fills ds (allocating its splits) with n_train/n_test images of c x h x w, n_classes classes. */
void synth_dataset(ds_dataset *ds, const char *name, int c, int h, int w, int n_classes,
                   uint32_t n_train, uint32_t n_test, uint64_t seed);
/* Writes it as <dir>/<name>.h5. 0 = ok. */
int synth_dataset_save(const char *dir, const char *name, int c, int h, int w, int n_classes,
                       uint32_t n_train, uint32_t n_test, uint64_t seed);

#ifdef __cplusplus
}
#endif
#endif
