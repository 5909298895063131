/* One-dimensional k-means for Deep Compression's weight sharing. */
#ifndef METHODS_KMEANS_H
#define METHODS_KMEANS_H
#include <stddef.h>
#include <stdint.h>

/* Lloyd's algorithm on x[0..n) with k <= 256 clusters, centroids initialised linearly between
 * min(x) and max(x) (Han et al.'s "linear" initialisation). Writes k centroids and each value's
 * cluster. An empty cluster keeps its centroid. Stops when no assignment changes or after
 * max_iter rounds; returns the rounds run. n = 0 leaves the linear grid (all zero). */
int mt_kmeans_1d(const float *x, size_t n, int k, int max_iter, float *centroids, uint8_t *assign);

#endif
