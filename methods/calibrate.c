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

/* Normalises p to sum 1, then moves eps of mass onto each empty bin from the others. 0, or -1
 * when p is all zero (or has nothing to give). */
static int smooth(double *p, int n)
{
    const double eps = 1e-4;
    double sum = 0;
    int zeros = 0;
    for (int k = 0; k < n; k++) { sum += p[k]; zeros += p[k] == 0; }
    if (sum <= 0 || zeros == n) return -1;
    double take = eps * zeros / (n - zeros);
    for (int k = 0; k < n; k++) {
        p[k] /= sum;
        if (p[k] == 0) p[k] = eps;
        else if ((p[k] -= take) <= 0) return -1;
    }
    return 0;
}

int mt_kl_bins(const double *hist, int nb, int levels)
{
    assert(levels >= 1 && nb >= 1);
    if (levels >= nb) return nb;
    double *p = malloc((size_t)nb * sizeof *p), *q = malloc((size_t)nb * sizeof *q);
    assert(p && q);
    double beyond = 0;
    for (int k = levels; k < nb; k++) beyond += hist[k];
    int best = nb;
    double best_kl = INFINITY;
    for (int i = levels; i <= nb; i++) {
        if (i > levels) beyond -= hist[i - 1];      /* mass past bin i - 1 */
        for (int k = 0; k < i; k++) p[k] = hist[k];
        p[i - 1] += beyond;
        /* Q: `levels` merged bins over the first i (the last takes the remainder), each one's
         * mass (without the clipped outliers) spread evenly over the bins where P is not empty */
        int per = i / levels;
        for (int j = 0; j < levels; j++) {
            int a = j * per, e = j == levels - 1 ? i : a + per, used = 0;
            double mass = 0;
            for (int k = a; k < e; k++) { mass += hist[k]; used += p[k] != 0; }
            for (int k = a; k < e; k++) q[k] = p[k] != 0 ? mass / used : 0.0;
        }
        if (smooth(p, i) != 0 || smooth(q, i) != 0) continue;
        double kl = 0;
        for (int k = 0; k < i; k++) kl += p[k] * log(p[k] / q[k]);
        if (kl < best_kl) { best_kl = kl; best = i; }
    }
    free(p);
    free(q);
    return best;
}
