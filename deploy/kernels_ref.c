#include "deploy/kernels_ref.h"
#include <math.h>

static int bit_at(const uint64_t *row_words, int c) { return (int)((row_words[c / 64] >> (c % 64)) & 1); }

void dp_ref_gemm_f32(const dp_matrix *w, int n, const float *x, size_t ldx, float *y, size_t ldy)
{
    const float *wv = w->payload;
    for (int r = 0; r < w->rows; r++)
        for (int j = 0; j < n; j++) {
            double s = 0;
            for (int c = 0; c < w->cols; c++) s += (double)wv[(size_t)r * w->cols + c] * x[(size_t)c * ldx + j];
            y[(size_t)r * ldy + j] = (float)s;
        }
}

void dp_ref_gemm_lut(const dp_matrix *w, int n, const float *x, size_t ldx, float *y, size_t ldy)
{
    const float *t = dp_lut_table(w);
    for (int r = 0; r < w->rows; r++)
        for (int j = 0; j < n; j++) {
            double s = 0;
            for (int c = 0; c < w->cols; c++) s += (double)t[dp_lut_code(w, r, c)] * x[(size_t)c * ldx + j];
            y[(size_t)r * ldy + j] = (float)s;
        }
}

void dp_ref_gemm_binary(const dp_matrix *w, int n, const float *x, size_t ldx, float *y, size_t ldy)
{
    const int kw = dp_matrix_words(w);
    for (int r = 0; r < w->rows; r++) {
        const uint64_t *bits = &dp_binary_blocks(w)[(size_t)r * kw].pos;
        for (int j = 0; j < n; j++) {
            double s = 0;
            for (int c = 0; c < w->cols; c++) {
                const double xv = x[(size_t)c * ldx + j];
                s += bit_at(bits, c) ? xv : -xv;
            }
            y[(size_t)r * ldy + j] = (float)(dp_binary_alpha(w)[r] * s);
        }
    }
}

void dp_ref_gemm_ternary(const dp_matrix *w, int n, const float *x, size_t ldx, float *y, size_t ldy)
{
    const int kw = dp_matrix_words(w);
    const dp_head_ternary *h = dp_ternary_head(w);
    for (int r = 0; r < w->rows; r++)
        for (int j = 0; j < n; j++) {
            double s = 0;
            for (int c = 0; c < w->cols; c++) {
                const dp_block_ternary *b = &dp_ternary_blocks(w)[(size_t)r * kw + c / 64];
                const double xv = x[(size_t)c * ldx + j];
                if ((b->plus >> (c % 64)) & 1) s += (double)h->wp * xv;
                else if ((b->minus >> (c % 64)) & 1) s -= (double)h->wn * xv;
            }
            y[(size_t)r * ldy + j] = (float)s;
        }
}

int dp_ref_pow2_weight(const dp_matrix *w, int r, int c, int *p)
{
    const int planes = dp_pow2_planes(w->format);
    const uint64_t *b = dp_pow2_words(w) + ((size_t)r * dp_matrix_words(w) + c / 64) * (1 + planes);
    int code = 0;
    for (int j = 0; j < planes; j++) code |= (int)((b[1 + j] >> (c % 64)) & 1) << j;
    if (!code) return 0;
    *p = dp_pow2_head(w)->pmin + code - 1;
    return (b[0] >> (c % 64)) & 1 ? -1 : 1;
}

void dp_ref_gemm_pow2(const dp_matrix *w, int n, const float *x, size_t ldx, float *y, size_t ldy)
{
    for (int r = 0; r < w->rows; r++)
        for (int j = 0; j < n; j++) {
            double s = 0;
            for (int c = 0; c < w->cols; c++) {
                int p;
                const int sign = dp_ref_pow2_weight(w, r, c, &p);
                if (sign) s += sign * ldexp(x[(size_t)c * ldx + j], p);
            }
            y[(size_t)r * ldy + j] = (float)s;
        }
}

void dp_ref_gemm_csr(const dp_matrix *w, int n, const float *x, size_t ldx, float *y, size_t ldy)
{
    const uint32_t *rowptr = dp_csr_rowptr(w);
    const float *val = dp_csr_val(w);
    for (int r = 0; r < w->rows; r++)
        for (int j = 0; j < n; j++) {
            double s = 0;
            for (uint32_t e = rowptr[r]; e < rowptr[r + 1]; e++) {
                const uint32_t c = w->format == DP_FORMAT_CSR16 ? ((const uint16_t *)dp_csr_col(w))[e]
                                                                : ((const uint32_t *)dp_csr_col(w))[e];
                s += (double)val[e] * x[(size_t)c * ldx + j];
            }
            y[(size_t)r * ldy + j] = (float)s;
        }
}

void dp_ref_bits_pack_cols(int k, int n, const float *x, size_t ldx, uint64_t *out, size_t ldo)
{
    for (int p = 0; p < (k + 63) / 64; p++)
        for (int j = 0; j < n; j++) {
            uint64_t word = 0;
            for (int i = 0; i < 64 && 64 * p + i < k; i++)
                if (x[(size_t)(64 * p + i) * ldx + j] >= 0.0f) word |= UINT64_C(1) << i;
            out[(size_t)p * ldo + j] = word;
        }
}

void dp_ref_xnor_gemm(const dp_matrix *w, int n, const uint64_t *xb, size_t ldb, const dp_xnor_epilogue *e,
                      float *y, size_t ldy)
{
    const int kw = dp_matrix_words(w);
    const dp_xnor_epilogue none = { 0 };
    if (!e) e = &none;
    for (int r = 0; r < w->rows; r++)
        for (int j = 0; j < n; j++) {
            int64_t agree = 0;   /* +-1 dot product, one input at a time */
            for (int c = 0; c < w->cols; c++) {
                const int wb = bit_at(&dp_binary_blocks(w)[(size_t)r * kw].pos, c);
                const int xbit = (int)((xb[(size_t)(c / 64) * ldb + j] >> (c % 64)) & 1);
                agree += wb == xbit ? 1 : -1;
            }
            const float a = dp_binary_alpha(w)[r], s = e->kcol ? a * e->kcol[j] : a;
            const float d = e->corr ? (float)agree - e->corr[(size_t)r * e->ldc + j] : (float)agree;
            float v = s * d;
            if (e->scale) v = v * e->scale[r] + e->shift[r];
            else if (e->shift) v = v + e->shift[r];
            y[(size_t)r * ldy + j] = v;
        }
}

/* Straight from the definition: one bit per (row, column), the tap found by division. */
void dp_ref_xnor_pack_conv(const dp_conv_shape *s, const float *x, uint64_t *out, size_t ldo)
{
    const int oh = dp_conv_out(s->h, s->k, s->stride, s->pad), ow = dp_conv_out(s->w, s->k, s->stride, s->pad);
    const int rows = s->c * s->k * s->k, n = oh * ow;
    for (int p = 0; p < (rows + 63) / 64; p++)
        for (int j = 0; j < n; j++) {
            uint64_t word = 0;
            for (int i = 0; i < 64 && 64 * p + i < rows; i++) {
                const int row = 64 * p + i, tap = row / s->c, ch = row % s->c;
                const int iy = j / ow * s->stride - s->pad + tap / s->k;
                const int ix = j % ow * s->stride - s->pad + tap % s->k;
                const int inside = iy >= 0 && iy < s->h && ix >= 0 && ix < s->w;
                if (!inside || x[((size_t)ch * s->h + iy) * s->w + ix] >= 0.0f) word |= UINT64_C(1) << i;
            }
            out[(size_t)p * ldo + j] = word;
        }
}

void dp_ref_shift_gemm_i32(const dp_matrix *w, int n, const int32_t *x, size_t ldx, int32_t *y,
                           size_t ldy)
{
    const int pmin = dp_pow2_head(w)->pmin;
    for (int r = 0; r < w->rows; r++)
        for (int j = 0; j < n; j++) {
            uint32_t s = 0;   /* modulo 2^32 */
            for (int c = 0; c < w->cols; c++) {
                int p = pmin;
                const int sign = dp_ref_pow2_weight(w, r, c, &p);
                const uint32_t t = (uint32_t)x[(size_t)c * ldx + j] << (p - pmin);
                if (sign > 0) s += t;
                else if (sign < 0) s -= t;
            }
            y[(size_t)r * ldy + j] = (int32_t)s;
        }
}

void dp_ref_gemm_int8(const dp_matrix *w, int n, const float *x, size_t ldx, float *y, size_t ldy)
{
    const dp_head_int8 *h = dp_int8_head(w);
    for (int r = 0; r < w->rows; r++) {
        const float out_scale = dp_int8_scale(w)[r] * h->x_scale;
        for (int j = 0; j < n; j++) {
            int64_t s = 0;
            for (int c = 0; c < w->cols; c++)
                s += (int64_t)dp_int8_q(w)[(size_t)r * w->cols + c] * (dp_int8_level(h, x[(size_t)c * ldx + j]) - h->x_zero);
            y[(size_t)r * ldy + j] = (float)s * out_scale;
        }
    }
}

/* One output of the INT8 conv after its integer sum: the scale, then the per-channel affine. */
static float int8_epilogue(int64_t sum, float out_scale, const float *a_scale, const float *a_shift, int r)
{
    const float v = (float)sum * out_scale;
    if (a_scale) return v * a_scale[r] + a_shift[r];
    return a_shift ? v + a_shift[r] : v;
}

void dp_ref_conv_int8(const dp_matrix *w, const dp_conv_shape *s, const float *x, float *y, const float *a_scale,
                      const float *a_shift)
{
    const dp_head_int8 *h = dp_int8_head(w);
    const int oh = dp_conv_out(s->h, s->k, s->stride, s->pad), ow = dp_conv_out(s->w, s->k, s->stride, s->pad);
    for (int b = 0; b < s->n; b++)
        for (int r = 0; r < w->rows; r++) {
            const float out_scale = dp_int8_scale(w)[r] * h->x_scale;
            const int8_t *q = dp_int8_q(w) + (size_t)r * w->cols;
            for (int oy = 0; oy < oh; oy++)
                for (int ox = 0; ox < ow; ox++) {
                    int64_t sum = 0;
                    for (int c = 0; c < s->c; c++)
                        for (int ky = 0; ky < s->k; ky++)
                            for (int kx = 0; kx < s->k; kx++) {
                                const int iy = oy * s->stride - s->pad + ky, ix = ox * s->stride - s->pad + kx;
                                if (iy < 0 || iy >= s->h || ix < 0 || ix >= s->w) continue;   /* reads 0: u = x_zero */
                                const float xv = x[(((size_t)b * s->c + c) * s->h + iy) * s->w + ix];
                                sum += (int64_t)q[((size_t)c * s->k + ky) * s->k + kx] * (dp_int8_level(h, xv) - h->x_zero);
                            }
                    y[(((size_t)b * w->rows + r) * oh + oy) * ow + ox] = int8_epilogue(sum, out_scale, a_scale, a_shift, r);
                }
        }
}

void dp_ref_linear_int8(const dp_matrix *w, int n, const float *x, float *y, const float *a_scale,
                        const float *a_shift)
{
    const dp_head_int8 *h = dp_int8_head(w);
    for (int j = 0; j < n; j++)
        for (int r = 0; r < w->rows; r++) {
            int64_t sum = 0;
            for (int c = 0; c < w->cols; c++)
                sum += (int64_t)dp_int8_q(w)[(size_t)r * w->cols + c] * (dp_int8_level(h, x[(size_t)j * w->cols + c]) - h->x_zero);
            y[(size_t)j * w->rows + r] = int8_epilogue(sum, dp_int8_scale(w)[r] * h->x_scale, a_scale, a_shift, r);
        }
}
