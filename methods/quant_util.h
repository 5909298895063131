/* Helpers shared by the quantization methods (INQ, XNOR-Net/BWN, TTQ, DeepShift, TWN,
 * BinaryConnect, BNN, DoReFa-Net, PACT, LSQ): which layers to quantize, power-of-two and uniform
 * rounding, straight-through gradients, a small optimizer for a method's own learned parameters,
 * and per-layer footprint rows. */
#ifndef METHODS_QUANT_UTIL_H
#define METHODS_QUANT_UTIL_H
#include <stddef.h>
#include <stdint.h>
#include "methods/method.h"

/* Marks sel[i] = 1 for every weighted node i to quantize; with first_last_fp the first and the
 * last weighted layers (topological order) stay full precision. Returns how many are marked. */
int qu_select(const nn_model *, int first_last_fp, uint8_t sel[NN_MAX_NODES]);

/* Weights per output filter (conv: in_c*k*k; linear: in features). */
size_t qu_filter_size(const nn_node *);

/* The node feeding layer i once pooling/flatten/GAP are looked through (they keep the sign of
 * what they pass on); -1 for the model's input. */
int qu_input_source(const nn_model *, int i);

/* Largest |v| over n values. */
float qu_max_abs(const float *v, size_t n);

/* INQ's rule (reference code): e = floor(log2(4|x|/3)), clamped above at n1;
 * sign(x)*2^e when e >= n2, else 0. */
float qu_inq_round(float x, int n1, int n2);

/* DeepShift-Q: sign(x)*2^round(log2|x|) with the exponent clamped above at pmax; 0 when the
 * rounded exponent falls below pmin (or x is 0). */
float qu_pow2_round(float x, int pmin, int pmax);

/* Round x to the fixed-point grid with frac_bits fractional and int_bits integer bits (sign
 * included): nearest multiple of 2^-frac_bits, saturated to [-2^(int_bits-1), 2^(int_bits-1) - ulp]. */
float qu_fixed_round(float x, int int_bits, int frac_bits);
/* qu_fixed_round over an array, y[i] = qu_fixed_round(x[i]) bit for bit; vectorised and split over
 * the OpenMP threads (DeepShift rounds every layer's input each step). */
void qu_fixed_round_array(const float *x, float *y, size_t n, int int_bits, int frac_bits);

/* DoReFa's q_k on [0, 1]: round(x (2^bits - 1)) / (2^bits - 1), halves rounded up. */
float qu_unit_round(float x, int bits);

/* Straight-through gradient of sign and clip to [-1, 1] (hardtanh): g_x = g where |x| <= 1, else 0. */
void qu_ste_hardtanh(const float *x, const float *g, float *g_x, size_t n);

/* w = clamp(w, -lim, lim): BinaryConnect's and BNN's clipping of the real-valued weights. */
void qu_clip(float *w, size_t n, float lim);

/* Weight transforms shared by several methods.
 * qu_wt_sign (methods/binaryconnect.c): w_eff = sign(w) (sign(0) = +1), no scale; backward
 *   straight through, cancelled where |w| > 1 (BinaryConnect's and BNN's clipped weights never are).
 * qu_wt_dorefa (methods/dorefa.c): DoReFa-Net's k-bit weights; ctx points to an int holding k. */
extern const nn_wtransform qu_wt_sign, qu_wt_dorefa;

/* Uniform quantization to `bits` bits (Jacob et al. 2018; Gholami et al. 2021, §3): x_hat =
 * scale * (clamp(round(x / scale) + zero, qmin, qmax) - zero). Symmetric: zero 0, q in
 * [-(2^(b-1) - 1), 2^(b-1) - 1] (the restricted range: -0 and +0 alike, int8 weights in
 * [-127, 127]), scale = max(|lo|, |hi|) / qmax. Asymmetric (affine): the range widened to hold
 * 0, q in [0, 2^b - 1], scale = (hi - lo) / (2^b - 1), zero = round(-lo / scale), so 0 is exact.
 * Within [lo, hi] the error is at most scale / 2. */
typedef struct qu_uniform {
    float scale;
    int zero, qmin, qmax;
} qu_uniform;

qu_uniform qu_uniform_range(float lo, float hi, int bits, int symmetric);
float qu_uniform_fake(const qu_uniform *, float x);     /* quantize and dequantize */

/* A method's own learned parameters (TTQ's scales, DeepShift-PS's signs) follow the run's
 * optimizer: the same kind, momentum / Adam betas and the same step counter convention. */
typedef struct qu_params {
    size_t n;
    float *m, *v;          /* optimizer state, n each */
    long t;                /* Adam step count */
} qu_params;

int  qu_params_init(qu_params *, size_t n);            /* 0 = ok */
void qu_params_reset(qu_params *);
void qu_params_free(qu_params *);
/* Saves or restores the moments and step count as "<layer>.<what>.m", ".v", ".t" (resume). */
int  qu_params_checkpoint(qu_params *, mt_ckpt *io, const char *layer, const char *what);
/* p -= update(g) with learning rate lr; decay = L2 coefficient (0 = none). */
void qu_params_step(qu_params *, const nn_optim *, float lr, float decay, float *p, const float *g);

/* Replaces the footprint row of layer `node` (found by name): bits, A bits, bytes =
 * w_bits*nw/8 + extra_bytes + fp32 bias; keeps fp->bytes consistent. 0 = ok, -1 = no row. */
int qu_fp_set(mt_footprint *, const nn_node *, int w_bits, int a_bits, double extra_bytes);

/* The deployable form of a layer: w = transform(w), then the weight transform is removed.
 * 0 = ok, -1 = out of memory. No-op without a transform. */
int qu_bake(nn_node *);

#endif
