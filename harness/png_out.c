/* PNG writing through libpng's simplified API, atomically via fileio (see png_out.h). */
#include "harness/png_out.h"

#include <assert.h>
#include <math.h>
#include <png.h>
#include <stdlib.h>
#include <string.h>

#include "base/fileio.h"

static int write_png(const char *path, int w, int h, const uint8_t *px, png_uint_32 format,
                     char *err, size_t errlen)
{
    assert(w > 0 && h > 0 && px);
    char tmp[FIO_PATH_MAX];
    FILE *f = fio_open_tmp(path, tmp, sizeof tmp, err, errlen);
    if (!f) return -1;
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    img.width = (png_uint_32)w;
    img.height = (png_uint_32)h;
    img.format = format;
    if (!png_image_write_to_stdio(&img, f, 0, px, 0, NULL)) {
        snprintf(err, errlen, "%s: cannot write PNG: %s", path, img.message);
        png_image_free(&img);
        fio_close_discard(f, tmp);
        return -1;
    }
    return fio_close_commit(f, tmp, path, err, errlen);
}

int png_write_gray(const char *path, int w, int h, const uint8_t *px, char *err, size_t errlen)
{
    return write_png(path, w, h, px, PNG_FORMAT_GRAY, err, errlen);
}

int png_write_rgb(const char *path, int w, int h, const uint8_t *rgb, char *err, size_t errlen)
{
    return write_png(path, w, h, rgb, PNG_FORMAT_RGB, err, errlen);
}

uint8_t *png_tile(const uint8_t *imgs, int n, int c, int h, int w, int cols, int pad, uint8_t bg,
                  int *out_w, int *out_h)
{
    assert((c == 1 || c == 3) && n > 0 && h > 0 && w > 0 && cols > 0 && pad >= 0);
    if (cols > n) cols = n;
    int rows = (n + cols - 1) / cols;
    int W = cols * (w + pad) + pad, H = rows * (h + pad) + pad;
    uint8_t *out = malloc((size_t)W * (size_t)H * (size_t)c);
    if (!out) return NULL;
    memset(out, bg, (size_t)W * (size_t)H * (size_t)c);
    size_t plane = (size_t)h * (size_t)w;
    for (int i = 0; i < n; i++) {
        const uint8_t *src = imgs + (size_t)i * (size_t)c * plane;
        int x0 = pad + (i % cols) * (w + pad), y0 = pad + (i / cols) * (h + pad);
        for (int ch = 0; ch < c; ch++)
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                    out[((size_t)(y0 + y) * (size_t)W + (size_t)(x0 + x)) * (size_t)c + (size_t)ch] =
                        src[(size_t)ch * plane + (size_t)y * (size_t)w + (size_t)x];
    }
    *out_w = W;
    *out_h = H;
    return out;
}

uint8_t *png_upscale(const uint8_t *px, int w, int h, int bpp, int s)
{
    assert(w > 0 && h > 0 && bpp > 0 && s >= 1);
    size_t row = (size_t)w * (size_t)s * (size_t)bpp;
    uint8_t *out = malloc(row * (size_t)h * (size_t)s);
    if (!out) return NULL;
    for (int y = 0; y < h; y++) {
        uint8_t *dst = out + (size_t)y * (size_t)s * row;
        const uint8_t *src = px + (size_t)y * (size_t)w * (size_t)bpp;
        for (int x = 0; x < w; x++)
            for (int r = 0; r < s; r++) memcpy(dst + ((size_t)x * (size_t)s + (size_t)r) * (size_t)bpp,
                                               src + (size_t)x * (size_t)bpp, (size_t)bpp);
        for (int r = 1; r < s; r++) memcpy(dst + (size_t)r * row, dst, row);   /* the row, s times */
    }
    return out;
}

void png_signed_to_u8(const float *x, size_t n, float absmax, uint8_t *out)
{
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(x[i])) { out[i] = 0; continue; }
        double v = absmax > 0 ? 127.5 + 127.5 * (double)x[i] / (double)absmax : 128;
        out[i] = (uint8_t)(v <= 0 ? 0 : v >= 255 ? 255 : lrint(v));
    }
}
