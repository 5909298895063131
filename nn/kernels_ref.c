#include "nn/kernels_ref.h"
#include <math.h>

int nn_ref_conv_out(int in, int k, int stride, int pad) { return (in + 2 * pad - k) / stride + 1; }

static double clamp1(double v) { return v < -1.0 ? -1.0 : v > 1.0 ? 1.0 : v; }

void nn_ref_conv_forward(const nn_ref_conv *s, const float *x, const float *w, const float *b, float *y)
{
    const int oh = nn_ref_conv_out(s->h, s->k, s->stride, s->pad);
    const int ow = nn_ref_conv_out(s->w, s->k, s->stride, s->pad);
    for (int n = 0; n < s->n; n++)
        for (int o = 0; o < s->o; o++)
            for (int i = 0; i < oh; i++)
                for (int j = 0; j < ow; j++) {
                    double acc = 0.0;
                    for (int c = 0; c < s->c; c++)
                        for (int ki = 0; ki < s->k; ki++)
                            for (int kj = 0; kj < s->k; kj++) {
                                int ih = i * s->stride - s->pad + ki, iw = j * s->stride - s->pad + kj;
                                double xv = (ih < 0 || ih >= s->h || iw < 0 || iw >= s->w) ? 0.0
                                          : x[((n * s->c + c) * s->h + ih) * s->w + iw];
                                double wv = w[((o * s->c + c) * s->k + ki) * s->k + kj];
                                acc += s->kernel == NN_KERNEL_ADDER ? -fabs(xv - wv) : xv * wv;
                            }
                    if (b) acc += b[o];
                    y[((n * s->o + o) * oh + i) * ow + j] = (float)acc;
                }
}

void nn_ref_conv_backward(const nn_ref_conv *s, const float *x, const float *w, const float *dy,
                          float *dx, float *dw, float *db)
{
    const int oh = nn_ref_conv_out(s->h, s->k, s->stride, s->pad);
    const int ow = nn_ref_conv_out(s->w, s->k, s->stride, s->pad);
    for (int n = 0; n < s->n; n++)
        for (int o = 0; o < s->o; o++)
            for (int i = 0; i < oh; i++)
                for (int j = 0; j < ow; j++) {
                    const double g = dy[((n * s->o + o) * oh + i) * ow + j];
                    if (db) db[o] += (float)g;
                    for (int c = 0; c < s->c; c++)
                        for (int ki = 0; ki < s->k; ki++)
                            for (int kj = 0; kj < s->k; kj++) {
                                int ih = i * s->stride - s->pad + ki, iw = j * s->stride - s->pad + kj;
                                int inside = ih >= 0 && ih < s->h && iw >= 0 && iw < s->w;
                                size_t xi = inside ? (size_t)((n * s->c + c) * s->h + ih) * s->w + iw : 0;
                                size_t wi = (size_t)((o * s->c + c) * s->k + ki) * s->k + kj;
                                double xv = inside ? x[xi] : 0.0, wv = w[wi];
                                if (s->kernel == NN_KERNEL_ADDER) {
                                    dw[wi] += (float)((xv - wv) * g);
                                    if (dx && inside) dx[xi] += (float)(clamp1(wv - xv) * g);
                                } else {
                                    dw[wi] += (float)(xv * g);
                                    if (dx && inside) dx[xi] += (float)(wv * g);
                                }
                            }
                }
}

void nn_ref_linear_forward(int n, int in, int out, nn_kernel kernel, const float *x,
                           const float *w, const float *b, float *y)
{
    for (int i = 0; i < n; i++)
        for (int o = 0; o < out; o++) {
            double acc = b ? b[o] : 0.0;
            for (int q = 0; q < in; q++) {
                double xv = x[(size_t)i * in + q], wv = w[(size_t)o * in + q];
                acc += kernel == NN_KERNEL_ADDER ? -fabs(xv - wv) : xv * wv;
            }
            y[(size_t)i * out + o] = (float)acc;
        }
}

void nn_ref_linear_backward(int n, int in, int out, nn_kernel kernel, const float *x,
                            const float *w, const float *dy, float *dx, float *dw, float *db)
{
    for (int i = 0; i < n; i++)
        for (int o = 0; o < out; o++) {
            const double g = dy[(size_t)i * out + o];
            if (db) db[o] += (float)g;
            for (int q = 0; q < in; q++) {
                double xv = x[(size_t)i * in + q], wv = w[(size_t)o * in + q];
                if (kernel == NN_KERNEL_ADDER) {
                    dw[(size_t)o * in + q] += (float)((xv - wv) * g);
                    if (dx) dx[(size_t)i * in + q] += (float)(clamp1(wv - xv) * g);
                } else {
                    dw[(size_t)o * in + q] += (float)(xv * g);
                    if (dx) dx[(size_t)i * in + q] += (float)(wv * g);
                }
            }
        }
}
