/* Activation-range calibration for post-training quantization, from histograms of what a layer
 * saw on calibration batches: a quantile (the percentile calibrator) and the threshold of
 * TensorRT's entropy calibration (Migacz, "8-bit Inference with TensorRT", GTC 2017). */
#ifndef METHODS_CALIBRATE_H
#define METHODS_CALIBRATE_H

enum { MT_KL_BINS = 2048 };     /* TensorRT's histogram of |x| */

/* The value below which a fraction q (0..1) of a histogram's mass lies: hist has nb bins evenly
 * over [lo, hi], mass spread evenly within a bin. */
double mt_hist_quantile(const double *hist, int nb, double lo, double hi, double q);

/* Entropy calibration on a histogram of |x| (nb bins from 0; TensorRT's calibrator as NVIDIA's
 * pytorch-quantization computes it): bin 0 (the zeros, exact on any grid) is replaced by bin 1;
 * for every candidate i in [levels, nb] the reference P is the first i bins with the mass beyond
 * them added to bin i - 1, and Q the first i bins merged into `levels` quantization bins (bin k
 * into floor(k levels / i)), each one's mass spread back evenly over its nonempty bins; returns
 * the i with the smallest KL(P || Q) (the largest on ties), so the threshold is i bin widths.
 * levels >= nb: returns nb (no clipping). */
int mt_kl_bins(const double *hist, int nb, int levels);

#endif
