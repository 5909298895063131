/* TERNARY: two bit planes + per-matrix scales (TTQ weights, w in {-Wn, 0, +Wp}). */
#include "deploy/format_impl.h"
#include "deploy/simd.h"
#include <math.h>

size_t dp_ternary_bytes(int rows, int cols, size_t nnz)
{
    (void)nnz;
    return sizeof(dp_head_ternary) + (size_t)rows * dp_words(cols) * sizeof(dp_block_ternary);
}

/* Wp = mean of the positive weights, Wn = mean |negative weights| (exact when they are all
 * equal, as TTQ's effective weights are); zeros stay zero. */
int dp_ternary_pack(dp_matrix *m, const float *w, char *err, size_t errlen)
{
    if (dp_alloc_payload(m, (size_t)m->rows * m->cols, err, errlen) != 0) return -1;
    const int kw = dp_matrix_words(m);
    dp_block_ternary *b = dp_ternary_blocks(m);
    double sp = 0, sn = 0;
    size_t np = 0, nn = 0;
    for (int r = 0; r < m->rows; r++)
        for (int c = 0; c < m->cols; c++) {
            const float v = w[(size_t)r * m->cols + c];
            const uint64_t bit = UINT64_C(1) << (c % 64);
            if (v > 0) b[(size_t)r * kw + c / 64].plus |= bit, sp += v, np++;
            else if (v < 0) b[(size_t)r * kw + c / 64].minus |= bit, sn -= v, nn++;
        }
    dp_ternary_head(m)->wp = np ? (float)(sp / np) : 0.0f;
    dp_ternary_head(m)->wn = nn ? (float)(sn / nn) : 0.0f;
    return 0;
}

void dp_ternary_unpack(const dp_matrix *m, float *w)
{
    const int kw = dp_matrix_words(m);
    const dp_block_ternary *b = dp_ternary_blocks(m);
    const dp_head_ternary *h = dp_ternary_head(m);
    for (int r = 0; r < m->rows; r++)
        for (int c = 0; c < m->cols; c++) {
            const dp_block_ternary *blk = &b[(size_t)r * kw + c / 64];
            const int s = c % 64;
            w[(size_t)r * m->cols + c] = (blk->plus >> s) & 1 ? h->wp : (blk->minus >> s) & 1 ? -h->wn : 0.0f;
        }
}

int dp_ternary_check(const dp_matrix *m, char *err, size_t errlen)
{
    const dp_head_ternary *h = dp_ternary_head(m);
    if (!isfinite(h->wp) || !isfinite(h->wn) || h->wp < 0 || h->wn < 0)
        return dp_fail(err, errlen, "ternary: scales Wp = %g, Wn = %g must be finite and >= 0", h->wp, h->wn);
    const int kw = dp_matrix_words(m);
    const dp_block_ternary *b = dp_ternary_blocks(m);
    for (int r = 0; r < m->rows; r++)
        for (int i = 0; i < kw; i++) {
            const dp_block_ternary *blk = &b[(size_t)r * kw + i];
            if (blk->plus & blk->minus)
                return dp_fail(err, errlen, "ternary: row %d, block %d has weights both + and -", r, i);
            if (i == kw - 1 && ((blk->plus | blk->minus) & ~dp_tail_mask(m->cols)))
                return dp_fail(err, errlen, "ternary: row %d has bits set past column %d", r, m->cols);
        }
    return 0;
}
