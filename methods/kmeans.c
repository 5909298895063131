/* 1-D k-means. In one dimension the nearest centroid of sorted values is found by one merge
 * against the sorted centroids (boundaries at midpoints), so an iteration is O(n + k log k). */
#include "methods/kmeans.h"
#include <assert.h>
#include <stdlib.h>
#include <string.h>

typedef struct { float v; uint32_t i; } keyed;

static int cmp_keyed(const void *a, const void *b)
{
    const keyed *x = a, *y = b;
    if (x->v != y->v) return x->v < y->v ? -1 : 1;
    return (x->i > y->i) - (x->i < y->i);
}

int mt_kmeans_1d(const float *x, size_t n, int k, int max_iter, float *c, uint8_t *assign)
{
    assert(k >= 1 && k <= 256 && n <= UINT32_MAX);
    float lo = 0.0f, hi = 0.0f;
    for (size_t j = 0; j < n; j++) {
        if (j == 0 || x[j] < lo) lo = x[j];
        if (j == 0 || x[j] > hi) hi = x[j];
    }
    for (int j = 0; j < k; j++)
        c[j] = k == 1 ? 0.5f * (lo + hi) : lo + (hi - lo) * (float)j / (float)(k - 1);
    if (n == 0) return 0;

    keyed *xs = malloc(n * sizeof *xs);
    double *sum = malloc((size_t)k * sizeof *sum);
    size_t *cnt = malloc((size_t)k * sizeof *cnt);
    assert(xs && sum && cnt);
    for (size_t j = 0; j < n; j++) xs[j] = (keyed){ x[j], (uint32_t)j };
    qsort(xs, n, sizeof *xs, cmp_keyed);
    memset(assign, 0, n);

    int it = 0;
    for (; it < max_iter; it++) {
        keyed cs[256];
        for (int j = 0; j < k; j++) cs[j] = (keyed){ c[j], (uint32_t)j };
        qsort(cs, (size_t)k, sizeof *cs, cmp_keyed);
        int changed = 0, p = 0;
        for (size_t j = 0; j < n; j++) {
            while (p + 1 < k && xs[j].v > 0.5f * (cs[p].v + cs[p + 1].v)) p++;
            uint8_t a = (uint8_t)cs[p].i;
            changed |= it == 0 || assign[xs[j].i] != a;
            assign[xs[j].i] = a;
        }
        if (!changed) break;
        memset(sum, 0, (size_t)k * sizeof *sum);
        memset(cnt, 0, (size_t)k * sizeof *cnt);
        for (size_t j = 0; j < n; j++) { sum[assign[j]] += x[j]; cnt[assign[j]]++; }
        for (int j = 0; j < k; j++)
            if (cnt[j]) c[j] = (float)(sum[j] / (double)cnt[j]);
    }
    free(xs); free(sum); free(cnt);
    return it;
}
