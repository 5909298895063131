/* Calibration thresholds from histograms (see calibrate.h). */
#include "methods/calibrate.h"
#include <assert.h>
#include <math.h>
#include <stdlib.h>

double mt_hist_quantile(const double *hist, int nb, double lo, double hi, double q)
{
    double total = 0;
    for (int k = 0; k < nb; k++) total += hist[k];
    if (total <= 0) return lo;
    double want = q * total, acc = 0, w = (hi - lo) / nb;
    for (int k = 0; k < nb; k++) {
        if (acc + hist[k] >= want && hist[k] > 0) return lo + w * (k + (want - acc) / hist[k]);
        acc += hist[k];
    }
    return hi;
}

int mt_kl_bins(const double *hist, int nb, int levels)
{
    assert(levels >= 1 && nb >= 2);
    if (levels >= nb) return nb;
    double *h = malloc((size_t)nb * sizeof *h), *q = malloc((size_t)levels * sizeof *q);
    int *used = malloc((size_t)levels * sizeof *used);
    assert(h && q && used);
    for (int k = 0; k < nb; k++) h[k] = hist[k];
    h[0] = h[1];            /* zeros are exact on the grid: their spike says nothing about the range */
    double beyond = 0, total = 0;
    for (int k = 0; k < nb; k++) total += h[k];
    for (int k = levels; k < nb; k++) beyond += h[k];
    int best = nb;
    double best_kl = INFINITY;
    for (int i = levels; i <= nb; i++) {
        if (i > levels) beyond -= h[i - 1];      /* mass past bin i - 1 */
        /* Q: bin k < i goes to quantization bin floor(k * levels / i); each one's mass is spread
         * evenly over its nonempty bins (an empty bin stays empty) */
        for (int j = 0; j < levels; j++) { q[j] = 0; used[j] = 0; }
        for (int k = 0; k < i; k++) {
            int j = (int)((long long)k * levels / i);
            q[j] += h[k];
            used[j] += h[k] != 0;
        }
        double qsum = 0;
        for (int k = 0; k < i; k++) if (h[k] != 0) qsum += q[(long long)k * levels / i] / used[(long long)k * levels / i];
        if (total <= 0 || qsum <= 0) continue;
        double kl = 0;
        for (int k = 0; k < i; k++) {
            double p = (h[k] + (k == i - 1 ? beyond : 0)) / total;
            if (p == 0) continue;
            int j = (int)((long long)k * levels / i);
            double qk = h[k] != 0 ? q[j] / used[j] / qsum : 0;
            if (qk == 0) { kl = INFINITY; break; }
            kl += p * log(p / qk);
        }
        if (kl <= best_kl) { best_kl = kl; best = i; }   /* ties: the widest range */
    }
    free(h);
    free(q);
    free(used);
    return best;
}
