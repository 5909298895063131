/* POW2_4 / POW2_8: power-of-two weights (INQ, DeepShift), w = 0 or +-2^p. A block holds 64
 * weights bit-sliced: a sign plane and 3 (7) planes of the exponent code c, p = pmin + c - 1;
 * the matrix head keeps the range of exponents in use, pmin..pmax, -126 <= p <= 127 so every
 * weight is a normal float. */
#include "deploy/format_impl.h"
#include "deploy/simd.h"
#include <math.h>

static int levels(dp_format f) { return (1 << dp_pow2_planes(f)) - 1; }   /* 7 or 127 exponents */

static size_t bytes_for(dp_format f, int rows, int cols)
{
    return sizeof(dp_head_pow2) + (size_t)rows * dp_words(cols) * (1 + dp_pow2_planes(f)) * sizeof(uint64_t);
}
size_t dp_pow2_4_bytes(int rows, int cols, size_t nnz) { (void)nnz; return bytes_for(DP_FORMAT_POW2_4, rows, cols); }
size_t dp_pow2_8_bytes(int rows, int cols, size_t nnz) { (void)nnz; return bytes_for(DP_FORMAT_POW2_8, rows, cols); }

/* The exponent of the power of two nearest to |v| > 0 (ties up): |v| = f 2^e, f in [0.5, 1). */
static int nearest_exponent(float v)
{
    int e;
    const float f = frexpf(fabsf(v), &e);
    return f >= 0.75f ? e : e - 1;
}

/* Nearest value of the format: the exponents it can hold are the `levels` below the largest
 * weight's (and not below -126); smaller weights round to the bottom one or to zero. */
int dp_pow2_pack(dp_matrix *m, const float *w, char *err, size_t errlen)
{
    if (dp_alloc_payload(m, (size_t)m->rows * m->cols, err, errlen) != 0) return -1;
    const size_t n = (size_t)m->rows * m->cols;
    int top = INT32_MIN;
    for (size_t i = 0; i < n; i++)
        if (w[i] != 0 && nearest_exponent(w[i]) > top) top = nearest_exponent(w[i]);
    if (top == INT32_MIN) top = 0;      /* all zero: any range will do */
    if (top > 127) top = 127;
    int lo = top - levels(m->format) + 1;
    if (lo < -126) lo = -126;
    const double zero_below = ldexp(1.0, lo - 1);    /* halfway between 0 and 2^lo */
    int pmin = INT32_MAX, pmax = INT32_MIN;
    for (size_t i = 0; i < n; i++) {
        if (w[i] == 0 || fabs(w[i]) < zero_below) continue;
        int p = nearest_exponent(w[i]);
        p = p < lo ? lo : p > top ? top : p;
        pmin = p < pmin ? p : pmin;
        pmax = p > pmax ? p : pmax;
    }
    if (pmin > pmax) pmin = pmax = 0;   /* all zero */
    dp_pow2_head(m)->pmin = pmin;
    dp_pow2_head(m)->pmax = pmax;
    const int kw = dp_matrix_words(m), planes = dp_pow2_planes(m->format);
    uint64_t *words = dp_pow2_words(m);
    for (int r = 0; r < m->rows; r++)
        for (int c = 0; c < m->cols; c++) {
            const float v = w[(size_t)r * m->cols + c];
            if (v == 0 || fabs(v) < zero_below) continue;
            int p = nearest_exponent(v);
            p = p < pmin ? pmin : p > pmax ? pmax : p;
            const unsigned code = (unsigned)(p - pmin + 1);
            uint64_t *blk = words + ((size_t)r * kw + c / 64) * (1 + planes);
            const uint64_t bit = UINT64_C(1) << (c % 64);
            if (v < 0) blk[0] |= bit;
            for (int j = 0; j < planes; j++)
                if ((code >> j) & 1) blk[1 + j] |= bit;
        }
    return 0;
}

void dp_pow2_unpack(const dp_matrix *m, float *w)
{
    const int kw = dp_matrix_words(m), planes = dp_pow2_planes(m->format);
    const uint64_t *words = dp_pow2_words(m);
    const int pmin = dp_pow2_head(m)->pmin;
    for (int r = 0; r < m->rows; r++)
        for (int c = 0; c < m->cols; c++) {
            const uint64_t *blk = words + ((size_t)r * kw + c / 64) * (1 + planes);
            const int s = c % 64;
            int code = 0;
            for (int j = 0; j < planes; j++) code |= (int)((blk[1 + j] >> s) & 1) << j;
            const float mag = code ? ldexpf(1.0f, pmin + code - 1) : 0.0f;
            w[(size_t)r * m->cols + c] = (blk[0] >> s) & 1 ? -mag : mag;
        }
}

int dp_pow2_check(const dp_matrix *m, char *err, size_t errlen)
{
    const char *name = dp_format_name(m->format);
    const dp_head_pow2 *h = dp_pow2_head(m);
    if (h->pmin < -126 || h->pmax > 127 || h->pmin > h->pmax || h->pmax - h->pmin >= levels(m->format))
        return dp_fail(err, errlen, "%s: exponent range %d..%d must lie in -126..127 and span "
                       "at most %d exponents", name, h->pmin, h->pmax, levels(m->format));
    const int kw = dp_matrix_words(m), planes = dp_pow2_planes(m->format);
    const unsigned top = (unsigned)(h->pmax - h->pmin + 1);
    const uint64_t *words = dp_pow2_words(m);
    for (int r = 0; r < m->rows; r++)
        for (int i = 0; i < kw; i++) {
            const uint64_t *blk = words + ((size_t)r * kw + i) * (1 + planes);
            uint64_t any = 0;
            for (int j = 0; j < planes; j++) any |= blk[1 + j];
            if (blk[0] & ~any)
                return dp_fail(err, errlen, "%s: row %d, block %d has a sign on a zero weight", name, r, i);
            if (i == kw - 1 && (any & ~dp_tail_mask(m->cols)))
                return dp_fail(err, errlen, "%s: row %d has bits set past column %d", name, r, m->cols);
            for (int s = 0; s < 64; s++) {
                unsigned code = 0;
                for (int j = 0; j < planes; j++) code |= (unsigned)((blk[1 + j] >> s) & 1) << j;
                if (code > top)
                    return dp_fail(err, errlen, "%s: weight [%d][%d] has exponent code %u beyond "
                                   "the head's range %d..%d", name, r, 64 * i + s, code, h->pmin, h->pmax);
            }
        }
    return 0;
}
