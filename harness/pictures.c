/* Pictures of samples, filters and masks (see pictures.h): planar tiles are gathered, enlarged
 * together (png_upscale of the tile stack), then laid out by png_tile. */
#include "harness/pictures.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "harness/png_out.h"

int pic_scale_for(int side, int target)
{
    int s = side > 0 ? (target + side - 1) / side : 1;
    return s < 1 ? 1 : s > PIC_MAX_SCALE ? PIC_MAX_SCALE : s;
}

static int near_square_cols(int n)
{
    int cols = 1;
    while (cols * cols < n) cols++;
    return cols;
}

static int oom(char *err, size_t errlen, const char *what)
{
    snprintf(err, errlen, "out of memory drawing %s", what);
    return -1;
}

/* n planar tiles of c x h x w enlarged by s, then tiled `cols` wide (gray for c = 1, RGB for 3). */
static int lay_out(const uint8_t *tiles, int n, int c, int h, int w, int s, int cols, int pad, uint8_t bg,
                   hx_picture *out, char *err, size_t errlen, const char *what)
{
    memset(out, 0, sizeof *out);
    uint8_t *big = png_upscale(tiles, w, n * c * h, 1, s);   /* planes stack: one gray image */
    if (!big) return oom(err, errlen, what);
    out->px = png_tile(big, n, c, h * s, w * s, cols, pad, bg, &out->w, &out->h);
    free(big);
    if (!out->px) return oom(err, errlen, what);
    out->c = c;
    return 0;
}

int pic_samples(const ds_split *split, int c, int h, int w, int n_classes, int per_class, hx_picture *out,
                char *err, size_t errlen)
{
    if (c != 1 && c != 3) {
        snprintf(err, errlen, "sample pictures take gray (1) or RGB (3) images, not %d channels", c);
        return -1;
    }
    size_t img = (size_t)c * (size_t)h * (size_t)w, n = (size_t)n_classes * (size_t)per_class;
    uint8_t *tiles = malloc(img * n);
    int *filled = calloc((size_t)n_classes, sizeof *filled);
    if (!tiles || !filled) { free(tiles); free(filled); return oom(err, errlen, "dataset samples"); }
    memset(tiles, PIC_BG, img * n);
    for (uint32_t i = 0; i < split->n; i++) {
        int k = split->labels[i];
        if (k >= n_classes || filled[k] == per_class) continue;
        memcpy(tiles + ((size_t)k * (size_t)per_class + (size_t)filled[k]++) * img, split->images + i * img, img);
    }
    free(filled);
    int rc = lay_out(tiles, (int)n, c, h, w, pic_scale_for(h > w ? h : w, PIC_TILE_PX), per_class, PIC_PAD, PIC_BG,
                     out, err, errlen, "dataset samples");
    free(tiles);
    return rc;
}

int pic_filters(const float *w, const uint8_t *mask, int n, int c, int kh, int kw, float absmax, hx_picture *out,
                char *err, size_t errlen)
{
    size_t count = (size_t)n * (size_t)c * (size_t)kh * (size_t)kw;
    float *v = malloc(sizeof *v * count);
    uint8_t *tiles = malloc(count);
    if (!v || !tiles) { free(v); free(tiles); return oom(err, errlen, "filters"); }
    for (size_t i = 0; i < count; i++) v[i] = mask && !mask[i] ? 0.0f : w[i];
    png_signed_to_u8(v, count, absmax, tiles);
    free(v);
    int colour = c == 1 || c == 3;   /* else each input channel is a gray tile of its own */
    int tiles_n = colour ? n : n * c, tile_c = colour ? c : 1;
    int cols = colour ? near_square_cols(n) : c;
    int rc = lay_out(tiles, tiles_n, tile_c, kh, kw, pic_scale_for(kh > kw ? kh : kw, PIC_TILE_PX), cols, PIC_PAD,
                     PIC_BG, out, err, errlen, "filters");
    free(tiles);
    return rc;
}

/* Enlargement of a mask whose content is longer x shorter pixels: the longer side to
 * PIC_MASK_PX, and a thin layer (a classifier's 10 x 500) further, up to PIC_MASK_MAX_PX. */
static int mask_scale(int longer, int shorter)
{
    int s = pic_scale_for(longer, PIC_MASK_PX), thin = pic_scale_for(shorter, PIC_MASK_MIN_PX);
    int room = PIC_MASK_MAX_PX / longer;
    if (thin > s && room > s) s = thin < room ? thin : room;
    return s;
}

int pic_mask(const uint8_t *mask, int out_c, int in_c, int kh, int kw, hx_picture *out, char *err, size_t errlen)
{
    size_t count = (size_t)out_c * (size_t)in_c * (size_t)kh * (size_t)kw;
    uint8_t *px = malloc(count);
    if (!px) return oom(err, errlen, "a mask");
    for (size_t i = 0; i < count; i++) px[i] = mask[i] ? PIC_KEPT : PIC_REMOVED;
    int rc;
    if (kh * kw == 1) {   /* a plain matrix: rows = outputs, columns = inputs */
        int s = out_c > in_c ? mask_scale(out_c, in_c) : mask_scale(in_c, out_c);
        rc = lay_out(px, 1, 1, out_c, in_c, s, 1, 0, PIC_GRID, out, err, errlen, "a mask");
    } else {
        int rows = out_c * kh, cols = in_c * kw;
        int s = rows > cols ? mask_scale(rows, cols) : mask_scale(cols, rows);
        rc = lay_out(px, out_c * in_c, 1, kh, kw, s, in_c, 1, PIC_GRID, out, err, errlen, "a mask");
    }
    free(px);
    return rc;
}

int pic_write(const char *path, const hx_picture *p, char *err, size_t errlen)
{
    return p->c == 3 ? png_write_rgb(path, p->w, p->h, p->px, err, errlen)
                     : png_write_gray(path, p->w, p->h, p->px, err, errlen);
}

void pic_free(hx_picture *p)
{
    free(p->px);
    memset(p, 0, sizeof *p);
}
