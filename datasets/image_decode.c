/* Decoding one image held in memory: the format is told by its magic bytes (one row per format),
 * the decoders (image_png.c, image_jpeg.c) hand back interleaved rows, and the store wants
 * channel-major planes. */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "datasets/ds_internal.h"

static const struct image_format {
    uint8_t magic[8];
    size_t magic_len;
    int (*decode)(const uint8_t *data, size_t len, ds_image *out, char *err, size_t errlen);
} FORMATS[] = {
    {{0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'}, 8, ds_decode_png},
    {{0xff, 0xd8, 0xff}, 3, ds_decode_jpeg},
};
enum { FORMAT_COUNT = sizeof FORMATS / sizeof FORMATS[0] };

int ds_decode_image(const uint8_t *data, size_t len, ds_image *out, char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    for (int i = 0; i < FORMAT_COUNT; i++)
        if (len >= FORMATS[i].magic_len && memcmp(data, FORMATS[i].magic, FORMATS[i].magic_len) == 0)
            return FORMATS[i].decode(data, len, out, err, errlen);
    if (len == 0) return ds_fail(err, errlen, "empty file, not a PNG or JPEG image");
    char head[32] = "";
    size_t used = 0;
    for (size_t i = 0; i < len && i < 8; i++)
        used += (size_t)snprintf(head + used, sizeof head - used, "%s%02x", i ? " " : "", data[i]);
    return ds_fail(err, errlen, "not a PNG or JPEG image (it starts with bytes %s; told by content, not by name)",
                   head);
}

void ds_image_free(ds_image *im) {
    if (!im) return;
    free(im->pixels);
    memset(im, 0, sizeof *im);
}

int ds_image_from_interleaved(const uint8_t *rows, int c_in, int c_out, int h, int w, ds_image *out) {
    assert(c_out >= 1 && c_out <= c_in && h >= 1 && w >= 1);
    size_t plane = (size_t)h * (size_t)w;
    uint8_t *px = malloc(plane * (size_t)c_out);
    if (!px) return -1;
    for (int c = 0; c < c_out; c++) {
        const uint8_t *src = rows + c;
        uint8_t *dst = px + (size_t)c * plane;
        for (size_t j = 0; j < plane; j++) dst[j] = src[j * (size_t)c_in];
    }
    out->pixels = px;
    out->c = c_out;
    out->h = h;
    out->w = w;
    return 0;
}
