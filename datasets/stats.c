/* Per-channel mean and standard deviation of the training images, in [0,1] units. Sums of
 * pixel values and their squares are exact in 64-bit integers (MNIST: < 2^44), so the result
 * depends only on the data, not on summation order. */
#include <assert.h>
#include <math.h>
#include "datasets/dataset.h"

void ds_compute_stats(ds_dataset *ds) {
    assert(ds->c >= 1 && ds->c <= DS_MAX_CHANNELS);
    size_t plane = (size_t)ds->h * (size_t)ds->w;
    for (int c = 0; c < ds->c; c++) {
        uint64_t s1 = 0, s2 = 0;
        for (uint32_t i = 0; i < ds->train.n; i++) {
            const uint8_t *p = ds->train.images + ((size_t)i * ds->c + c) * plane;
            uint64_t a = 0, b = 0;   /* per image: at most 4096^2 * 255^2 < 2^49 */
            for (size_t j = 0; j < plane; j++) {
                a += p[j];
                b += (uint64_t)p[j] * p[j];
            }
            s1 += a;
            s2 += b;
        }
        double count = (double)ds->train.n * (double)plane;
        double mean = count > 0 ? (double)s1 / count : 0.0;
        double var = count > 0 ? (double)s2 / count - mean * mean : 0.0;
        ds->mean[c] = (float)(mean / 255.0);
        ds->std[c] = (float)(sqrt(var > 0 ? var : 0.0) / 255.0);
    }
}
