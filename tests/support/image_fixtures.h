/* Test fixtures for the image readers: tiny PNG and JPEG files written with libpng and
 * libjpeg-turbo directly (every colour type the reader converts, interlacing, quality), and a
 * plain libjpeg decode to hold ds_decode_image to. Return 0 on success, -1 on failure. */
#ifndef TESTS_SUPPORT_IMAGE_FIXTURES_H
#define TESTS_SUPPORT_IMAGE_FIXTURES_H
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A PNG of libpng colour type `color` (PNG_COLOR_TYPE_*: 0 gray, 2 RGB, 3 palette, 4 gray+alpha,
 * 6 RGBA) and bit depth `depth`; rows holds h rows of packed samples exactly as PNG stores them
 * (16-bit samples big-endian, sub-byte samples packed). palette: n_palette RGB triples for type 3.
 * trns: n_trns tRNS alpha entries for type 3 (NULL for none). interlace: Adam7 when 1. */
int imfx_write_png(const char *path, int color, int depth, int h, int w, const uint8_t *rows,
                   const uint8_t *palette, int n_palette, const uint8_t *trns, int n_trns, int interlace);
/* 8-bit gray (c = 1) or RGB (c = 3) from interleaved pixels. */
int imfx_write_png8(const char *path, int c, int h, int w, const uint8_t *interleaved);
/* A baseline JPEG of gray (c = 1) or RGB (c = 3) interleaved pixels; no chroma subsampling. */
int imfx_write_jpeg(const char *path, int c, int h, int w, const uint8_t *interleaved, int quality);
/* Decodes path with libjpeg's defaults (stdio source); interleaved pixels, malloc'ed; NULL on any error. */
uint8_t *imfx_read_jpeg(const char *path, int *c, int *h, int *w);
/* Interleaved h x w x c -> channel-major planes (out has c*h*w bytes). */
void imfx_planar(const uint8_t *interleaved, int c, int h, int w, uint8_t *out);
/* A smooth test picture (gradients, a per-channel and a seed-dependent offset), interleaved. */
void imfx_picture(uint8_t *out, int c, int h, int w, uint32_t seed);
/* The whole file in a malloc'ed buffer; *len its size. NULL on failure. */
uint8_t *imfx_slurp(const char *path, size_t *len);

#ifdef __cplusplus
}
#endif
#endif
