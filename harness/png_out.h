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
/* png_tile, then write it (gray or RGB by c). */
int png_write_grid(const char *path, const uint8_t *imgs, int n, int c, int h, int w, int cols,
                   int pad, char *err, size_t errlen);
/* Linearly maps x[0..n) onto 0..255 (min -> 0, max -> 255; a constant input maps to 128),
 * for picturing weights or activations. Non-finite values map to 0. */
void png_scale_to_u8(const float *x, size_t n, uint8_t *out);

#endif
