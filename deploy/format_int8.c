/* INT8: 8-bit weights with one scale per output row, and the 8-bit input grid the kernel
 * quantizes its input to (PTQ's layers: per-channel or per-tensor, symmetric or asymmetric
 * weights whose integers fit int8; the input's uniform transform). */
#include "deploy/format_impl.h"
#include "deploy/simd.h"
#include <math.h>

size_t dp_int8_bytes(int rows, int cols, size_t nnz)
{
    (void)nnz;
    return sizeof(dp_head_int8) + (size_t)rows * sizeof(float) + (size_t)rows * cols;
}

/* int32 sums cannot overflow: 255 * 128 * cols < 2^31. */
static int too_wide(int cols, char *err, size_t errlen)
{
    if ((double)cols * 255 * 128 < 2147483648.0) return 0;
    return dp_fail(err, errlen, "int8: %d columns could overflow the int32 sums (at most 65792)", cols);
}

/* 1 when every w[c] is exactly fl(q s) for an integer q in int8's range. */
static int on_grid(const float *w, int cols, float s)
{
    if (!(s > 0) || !isfinite(s)) return 0;
    for (int c = 0; c < cols; c++) {
        const float q = nearbyintf(w[c] / s);
        if (q < -128 || q > 127 || q * s != w[c]) return 0;
    }
    return 1;
}

/* The smallest scale below s giving the same values fl(q s): one canonical (scale, q) per row,
 * so pack(unpack(pack(w))) == pack(w) whichever candidate found the grid. */
static float canonical(const float *w, int cols, float s)
{
    for (int step = 0; step < 64; step++) {
        const float d = nextafterf(s, 0.0f);
        if (!on_grid(w, cols, d)) break;
        s = d;
    }
    return s;
}

/* Scales a k-bit grid can have produced w's values with: max|w| / (2^(k-1) - 1) (symmetric)
 * or (max - min) / (2^k - 1) (asymmetric), k = 2..8, each +-3 ulps (the grid's own scale was
 * rounded from a range that is not w's). 0 when none reproduces w. */
static float grid_scale(const float *w, int cols, float lo, float hi)
{
    const float amax = fmaxf(-lo, hi);
    for (int k = 8; k >= 2; k--) {
        const float cand[2] = { amax / (float)((1 << (k - 1)) - 1), (hi - lo) / (float)((1 << k) - 1) };
        for (int i = 0; i < 2; i++) {
            float s = cand[i];
            for (int d = 0; d < 3; d++) s = nextafterf(s, 0.0f);
            for (int d = 0; d < 7; d++, s = nextafterf(s, INFINITY))
                if (on_grid(w, cols, s)) return s;
        }
    }
    return 0.0f;
}

/* Per row: the grid the weights are on, else the nearest symmetric 8-bit one. Rows of a
 * per-tensor grid whose own extremes are smaller find the layer's scale from the whole matrix. */
int dp_int8_pack(dp_matrix *m, const float *w, char *err, size_t errlen)
{
    if (too_wide(m->cols, err, errlen)) return -1;
    if (dp_alloc_payload(m, (size_t)m->rows * m->cols, err, errlen) != 0) return -1;
    const int cols = m->cols;
    float glo = 0, ghi = 0;
    for (size_t i = 0; i < (size_t)m->rows * cols; i++) { glo = fminf(glo, w[i]); ghi = fmaxf(ghi, w[i]); }
    *dp_int8_head(m) = (dp_head_int8){ 1.0f, 0, 255 };
    for (int r = 0; r < m->rows; r++) {
        const float *wr = w + (size_t)r * cols;
        float lo = 0, hi = 0;
        for (int c = 0; c < cols; c++) { lo = fminf(lo, wr[c]); hi = fmaxf(hi, wr[c]); }
        float s = 1.0f;   /* an all-zero row */
        if (lo < 0 || hi > 0) {
            s = grid_scale(wr, cols, lo, hi);
            if (s == 0) s = grid_scale(wr, cols, glo, ghi);
            if (s == 0) {   /* not on any grid: nearest, then the values it gives are */
                s = fmaxf(-lo, hi) / 127.0f;
                for (int c = 0; c < cols; c++)
                    dp_int8_q(m)[(size_t)r * cols + c] = (int8_t)fmaxf(-127.0f, fminf(127.0f, nearbyintf(wr[c] / s)));
                float *v = malloc((size_t)cols * sizeof *v);
                if (!v) return dp_fail(err, errlen, "int8: out of memory");
                for (int c = 0; c < cols; c++) v[c] = (float)dp_int8_q(m)[(size_t)r * cols + c] * s;
                s = canonical(v, cols, s);
                free(v);
            } else {
                s = canonical(wr, cols, s);
            }
        }
        dp_int8_scale(m)[r] = s;
        for (int c = 0; c < cols; c++) dp_int8_q(m)[(size_t)r * cols + c] = (int8_t)nearbyintf(wr[c] / s);
    }
    return 0;
}

void dp_int8_unpack(const dp_matrix *m, float *w)
{
    for (int r = 0; r < m->rows; r++)
        for (int c = 0; c < m->cols; c++)
            w[(size_t)r * m->cols + c] = (float)dp_int8_q(m)[(size_t)r * m->cols + c] * dp_int8_scale(m)[r];
}

static int check_input(float x_scale, int x_zero, int x_qmax, char *err, size_t errlen)
{
    if (!isfinite(x_scale) || !(x_scale > 0))
        return dp_fail(err, errlen, "int8: input scale %g must be finite and > 0", x_scale);
    if (x_qmax < 1 || x_qmax > 255 || x_zero < 0 || x_zero > x_qmax)
        return dp_fail(err, errlen, "int8: input zero point %d, top level %d (allowed 0 <= zero <= top, 1 <= top <= 255)",
                       x_zero, x_qmax);
    return 0;
}

int dp_int8_check(const dp_matrix *m, char *err, size_t errlen)
{
    const dp_head_int8 *h = dp_int8_head(m);
    if (check_input(h->x_scale, h->x_zero, h->x_qmax, err, errlen) != 0) return -1;
    for (int r = 0; r < m->rows; r++) {
        const float s = dp_int8_scale(m)[r];
        if (!isfinite(s) || !(s > 0)) return dp_fail(err, errlen, "int8: row %d scale %g must be finite and > 0", r, s);
    }
    return too_wide(m->cols, err, errlen) ? -1 : 0;   /* every int8 is a weight */
}

int dp_int8_set_input(dp_matrix *m, float x_scale, int x_zero, int x_qmax, char *err, size_t errlen)
{
    DP_ASSERT(m->format == DP_FORMAT_INT8 && m->payload);
    if (check_input(x_scale, x_zero, x_qmax, err, errlen) != 0) return -1;
    *dp_int8_head(m) = (dp_head_int8){ x_scale, x_zero, x_qmax };
    if (m->plan) dp_int8_release(m->plan);
    m->plan = NULL;
    return dp_int8_prepare(m, err, errlen);
}
