/* PNG output (libpng), written atomically via fileio: single images and grids of small images
 * (dataset samples, conv filters, masks). Functions return 0, or -1 with a message naming the
 * path in err. */
#ifndef HARNESS_PNG_OUT_H
#define HARNESS_PNG_OUT_H
#include <stddef.h>
#include <stdint.h>

/* px: h rows of w bytes. */
int png_write_gray(const char *path, int w, int h, const uint8_t *px, char *err, size_t errlen);
/* rgb: h rows of w interleaved R,G,B bytes. */
int png_write_rgb(const char *path, int w, int h, const uint8_t *rgb, char *err, size_t errlen);

/* Tiles n images of c x h x w (planar, c = 1 or 3) into a grid `cols` wide, with `pad` pixels
 * of value `bg` between and around tiles. Returns a malloc'd image (gray for c = 1, interleaved
 * RGB for c = 3) of *out_w x *out_h, or NULL when out of memory. */
uint8_t *png_tile(const uint8_t *imgs, int n, int c, int h, int w, int cols, int pad, uint8_t bg,
                  int *out_w, int *out_h);
/* Nearest-neighbour enlargement by a whole factor s >= 1: every pixel of the w x h image (bpp
 * interleaved bytes each) becomes an s x s block. Planar images enlarge the same way when
 * passed as one gray image of w x (planes * h). Returns a malloc'd (w*s) x (h*s) image, or NULL
 * when out of memory. */
uint8_t *png_upscale(const uint8_t *px, int w, int h, int bpp, int s);
/* Signed values onto gray: -absmax -> 0, 0 -> 128, +absmax -> 255 (linear, rounded, clamped),
 * so zeros (pruned weights) are mid-gray and two pictures given the same absmax compare. An
 * absmax of 0 maps everything to 128; non-finite values map to 0. */
void png_signed_to_u8(const float *x, size_t n, float absmax, uint8_t *out);

#endif
