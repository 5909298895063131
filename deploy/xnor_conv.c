/* XNOR-Net convolution input, binarized and packed without an im2col (deploy/kernels.h):
 * dp_xnor_pack_conv and the weight permutation to its (ki, kj, c) row order.
 *
 * im2col's row order (c, ki, kj) puts the k k taps of one channel side by side, so a column's
 * bits come from c k k scattered floats. With the channel fastest, one tap of a column is the
 * c sign bits of one pixel: the sign image (dp_bits_pack_cols on the sample as a c x hw matrix,
 * run at the machine's level) is built once, c / 64 words per pixel, and each column appends
 * k k such chunks with shifts. A 3x3 layer of 16 channels on 32x32 reads 16 K floats instead
 * of writing and re-reading 147 K, and builds each column from 9 chunks instead of 144 bits. */
#include "deploy/kernels.h"
#include "deploy/simd.h"
#include "deploy/tile.h"

size_t dp_xnor_image_words(const dp_conv_shape *s)
{
    return (size_t)dp_words(s->c) * s->h * s->w;
}

/* Appends runs of bits to one column's words (stride ld, one plane to the next). */
typedef struct {
    uint64_t *dst;
    size_t ld;
    uint64_t cur;
    int fill;   /* bits of cur in use, 0..63 */
} bit_writer;

/* v: nb bits (1..64), nothing above them. */
static inline void put_bits(bit_writer *b, uint64_t v, int nb)
{
    b->cur |= v << b->fill;
    const int f = b->fill + nb;
    if (f >= 64) {
        *b->dst = b->cur;
        b->dst += b->ld;
        b->cur = b->fill ? v >> (64 - b->fill) : 0;
        b->fill = f - 64;
    } else {
        b->fill = f;
    }
}

typedef struct {
    dp_conv_shape s;
    int ow, cw, last;      /* output width; words per pixel; bits in a pixel's last word */
    const uint64_t *img;   /* cw planes of h w words */
    uint64_t *out;
    size_t ldo;
} gather_args;

static void gather_cols(const void *args, int j0, int len, void *scratch)
{
    (void)scratch;
    const gather_args *a = args;
    const dp_conv_shape *s = &a->s;
    const size_t hw = (size_t)s->h * s->w;
    const uint64_t ones_last = a->last == 64 ? ~UINT64_C(0) : (UINT64_C(1) << a->last) - 1;
    for (int j = j0; j < j0 + len; j++) {
        const int y0 = j / a->ow * s->stride - s->pad, x0 = j % a->ow * s->stride - s->pad;
        bit_writer b = { a->out + j, a->ldo, 0, 0 };
        for (int ki = 0; ki < s->k; ki++) {
            const int iy = y0 + ki;
            for (int kj = 0; kj < s->k; kj++) {
                const int ix = x0 + kj;
                if (iy < 0 || iy >= s->h || ix < 0 || ix >= s->w) {   /* padding reads 0: sign +1 */
                    for (int q = 0; q < a->cw - 1; q++) put_bits(&b, ~UINT64_C(0), 64);
                    put_bits(&b, ones_last, a->last);
                    continue;
                }
                const uint64_t *px = a->img + (size_t)iy * s->w + ix;
                for (int q = 0; q < a->cw - 1; q++) put_bits(&b, px[q * hw], 64);
                put_bits(&b, px[(a->cw - 1) * hw], a->last);
            }
        }
        if (b.fill) *b.dst = b.cur;
    }
}

enum { GATHER_TILE = 64 };   /* columns per tile */

void dp_xnor_pack_conv(const dp_conv_shape *s, const float *x, uint64_t *img, uint64_t *out, size_t ldo,
                       const dp_exec *ex)
{
    DP_ASSERT(s->c >= 1 && s->h >= 1 && s->w >= 1 && s->k >= 1 && s->stride >= 1 && s->pad >= 0);
    const int oh = dp_conv_out(s->h, s->k, s->stride, s->pad), ow = dp_conv_out(s->w, s->k, s->stride, s->pad);
    DP_ASSERT(oh >= 1 && ow >= 1 && ldo >= (size_t)oh * ow);
    const int hw = s->h * s->w;
    dp_bits_pack_cols(s->c, hw, x, (size_t)hw, img, (size_t)hw, ex);
    const gather_args a = { *s, ow, dp_words(s->c), s->c - 64 * (dp_words(s->c) - 1), img, out, ldo };
    DP_ASSERT(dp_run_tiles(oh * ow, GATHER_TILE, 0, &a, gather_cols, ex->threads) == 0);
}

int dp_binary_permute_taps(const dp_matrix *w, int c, int k, dp_matrix *out, char *err, size_t errlen)
{
    DP_ASSERT(w->format == DP_FORMAT_BINARY && w->payload && c >= 1 && k >= 1 && w->cols == c * k * k);
    if (dp_matrix_load(out, DP_FORMAT_BINARY, w->rows, w->cols, w->nnz, w->payload, w->bytes, err, errlen) != 0)
        return -1;   /* the alphas come along unchanged */
    const int kw = dp_matrix_words(w), taps = k * k;
    const uint64_t *src = &dp_binary_blocks(w)->pos;
    uint64_t *dst = &dp_binary_blocks(out)->pos;
    for (int r = 0; r < w->rows; r++) {
        const uint64_t *sr = src + (size_t)r * kw;
        uint64_t *dr = dst + (size_t)r * kw;
        for (int q = 0; q < kw; q++) dr[q] = 0;
        for (int ch = 0; ch < c; ch++)
            for (int t = 0; t < taps; t++) {
                const int from = ch * taps + t, to = t * c + ch;
                dr[to / 64] |= ((sr[from / 64] >> (from % 64)) & 1) << (to % 64);
            }
    }
    return 0;
}
