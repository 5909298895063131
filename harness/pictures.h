/* Pictures of data and weights, built in memory from plain arrays and written as PNG through
 * libpng (png_out.h): dataset samples by class, conv filters, pruning masks. Small sources are
 * enlarged nearest-neighbour by a whole factor so they are visible; the same input always gives
 * the same bytes. harness/plot_pictures.c feeds them a run's files (harness plot --pictures). */
#ifndef HARNESS_PICTURES_H
#define HARNESS_PICTURES_H
#include <stddef.h>
#include <stdint.h>
#include "datasets/dataset.h"

/* h rows of w pixels, c bytes each: 1 = gray, 3 = interleaved RGB. */
typedef struct hx_picture { uint8_t *px; int w, h, c; } hx_picture;

enum {
    PIC_TILE_PX = 48,    /* a sample or filter tile is enlarged to at least this many pixels a side */
    PIC_MASK_PX = 256,   /* a layer's mask to at least this many pixels on its longer side, */
    PIC_MASK_MIN_PX = 32,  /* a thin one to this many on its shorter side ... */
    PIC_MASK_MAX_PX = 2048,/* ... while the longer side stays within this many */
    PIC_MAX_SCALE = 16,  /* ... but never by more than this factor */
    PIC_PAD = 2,         /* pixels between and around sample and filter tiles (white) */
};
/* Pixel values of mask pictures: kept weights white, removed black, the grid between gray. */
enum { PIC_KEPT = 255, PIC_REMOVED = 0, PIC_GRID = 128, PIC_BG = 255 };

/* The whole factor in [1, PIC_MAX_SCALE] that brings `side` pixels to at least `target`. */
int pic_scale_for(int side, int target);

/* A grid of per_class images per class from split (c x h x w each, c = 1 or 3): row k holds the
 * first per_class images labelled k in store order, rows in label order. A class with fewer
 * images leaves its remaining tiles blank (PIC_BG). 0, or -1 with err. */
int pic_samples(const ds_split *split, int c, int h, int w, int n_classes, int per_class, hx_picture *out,
                char *err, size_t errlen);

/* n filters of c x kh x kw weights (w, the layer's row-major weights; mask may be NULL, a
 * removed weight shows as 0) on a shared signed scale: -absmax black, 0 mid-gray, +absmax white
 * (png_signed_to_u8), so two pictures given the same absmax compare. c = 3: one RGB tile per
 * filter; c = 1: one gray tile per filter; both in a near-square grid. Any other c: one row per
 * filter, one gray tile per input channel. 0, or -1 with err. */
int pic_filters(const float *w, const uint8_t *mask, int n, int c, int kh, int kw, float absmax, hx_picture *out,
                char *err, size_t errlen);

/* One layer's mask (out_c x in_c x kh x kw, row-major, 1 = kept): a grid with one row per output
 * and one column per input, each cell a kh x kw tile, 1 pixel of PIC_GRID between cells; a
 * layer without a spatial kernel (kh = kw = 1: linear, 1x1 conv) is one out_c x in_c image. 0, or
 * -1 with err. */
int pic_mask(const uint8_t *mask, int out_c, int in_c, int kh, int kw, hx_picture *out, char *err, size_t errlen);

/* Writes the picture as a gray or RGB PNG, atomically. 0, or -1 with err naming path. */
int pic_write(const char *path, const hx_picture *, char *err, size_t errlen);
void pic_free(hx_picture *);

#endif
