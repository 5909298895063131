/* BINARY: sign bits + per-row alpha (BWN / XNOR-Net weights, w = +-alpha[row]). */
#include "deploy/format_impl.h"
#include "deploy/kernels.h"
#include "deploy/simd.h"
#include <math.h>

size_t dp_binary_bytes(int rows, int cols, size_t nnz)
{
    (void)nnz;
    return (size_t)rows * dp_words(cols) * sizeof(dp_block_binary) + (size_t)rows * sizeof(float);
}

/* alpha = mean |w| of the row (sum in double: a row of +-a gives back exactly a), sign(0) = +1. */
int dp_binary_pack(dp_matrix *m, const float *w, char *err, size_t errlen)
{
    if (dp_alloc_payload(m, (size_t)m->rows * m->cols, err, errlen) != 0) return -1;
    dp_bits_pack_rows(m->rows, m->cols, w, m->cols, &dp_binary_blocks(m)->pos);
    float *alpha = dp_binary_alpha(m);
    for (int r = 0; r < m->rows; r++) {
        double s = 0;
        for (int c = 0; c < m->cols; c++) s += fabs(w[(size_t)r * m->cols + c]);
        alpha[r] = (float)(s / m->cols);
    }
    return 0;
}

void dp_binary_unpack(const dp_matrix *m, float *w)
{
    const int kw = dp_matrix_words(m);
    const dp_block_binary *b = dp_binary_blocks(m);
    const float *alpha = dp_binary_alpha(m);
    for (int r = 0; r < m->rows; r++)
        for (int c = 0; c < m->cols; c++)
            w[(size_t)r * m->cols + c] =
                (b[(size_t)r * kw + c / 64].pos >> (c % 64)) & 1 ? alpha[r] : -alpha[r];
}

int dp_binary_check(const dp_matrix *m, char *err, size_t errlen)
{
    const int kw = dp_matrix_words(m);
    const dp_block_binary *b = dp_binary_blocks(m);
    const float *alpha = dp_binary_alpha(m);
    for (int r = 0; r < m->rows; r++) {
        if (!isfinite(alpha[r]) || alpha[r] < 0)
            return dp_fail(err, errlen, "binary: alpha of row %d is %g, not a finite scale >= 0", r, alpha[r]);
        if (b[(size_t)r * kw + kw - 1].pos & ~dp_tail_mask(m->cols))
            return dp_fail(err, errlen, "binary: row %d has bits set past column %d", r, m->cols);
    }
    return 0;
}
