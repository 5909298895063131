/* PNG from memory through libpng: gray or RGB, 8 bits per sample, no transparency (see
 * ds_decode_image for what is converted and what is refused). libpng reports errors by longjmp;
 * everything that must survive the jump lives in a heap context whose pointer never changes. */
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "datasets/ds_internal.h"

typedef struct png_ctx {
    const uint8_t *data;
    size_t len, pos;
    uint8_t *rows;          /* h x rowbytes, interleaved */
    png_bytep *row_ptrs;
    int c, h, w;            /* channels libpng delivers (1..4), rows, columns */
    char msg[256];
} png_ctx;

static void on_error(png_structp png, png_const_charp msg) {
    png_ctx *ctx = png_get_error_ptr(png);
    snprintf(ctx->msg, sizeof ctx->msg, "%s", msg);
    png_longjmp(png, 1);
}

/* Warnings (an odd colour profile, a bad ancillary chunk) do not change the pixels. */
static void on_warning(png_structp png, png_const_charp msg) {
    (void)png, (void)msg;
}

static void on_read(png_structp png, png_bytep out, size_t n) {
    png_ctx *ctx = png_get_io_ptr(png);
    if (n > ctx->len - ctx->pos) png_error(png, "truncated (the file ends early)");
    memcpy(out, ctx->data + ctx->pos, n);
    ctx->pos += n;
}

/* Asks libpng for 8-bit gray, gray+alpha, RGB or RGBA; returns the channel count it will give. */
static int set_transforms(png_structp png, png_infop info) {
    int color = png_get_color_type(png, info), depth = png_get_bit_depth(png, info);
    if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (color == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (png_get_valid(png, info, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(png);
    if (depth == 16) png_set_scale_16(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    return png_get_channels(png, info);
}

/* 1 when every alpha sample (the last of each pixel) is 255. */
static int all_opaque(const uint8_t *rows, int c, size_t pixels) {
    for (size_t j = 0; j < pixels; j++)
        if (rows[j * (size_t)c + (size_t)(c - 1)] != 255) return 0;
    return 1;
}

int ds_decode_png(const uint8_t *data, size_t len, ds_image *out, char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    png_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx) return ds_fail(err, errlen, "PNG: out of memory");
    ctx->data = data;
    ctx->len = len;
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, ctx, on_error, on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) {
        png_destroy_read_struct(png ? &png : NULL, NULL, NULL);
        free(ctx);
        return ds_fail(err, errlen, "PNG: out of memory");
    }
    int rc = 0;
    if (setjmp(png_jmpbuf(png))) {
        rc = ds_fail(err, errlen, "PNG: %s", ctx->msg);
    } else {
        png_set_read_fn(png, ctx, on_read);
        png_set_user_limits(png, DS_MAX_SIDE, DS_MAX_SIDE);
        png_read_info(png, info);
        ctx->c = set_transforms(png, info);
        ctx->h = (int)png_get_image_height(png, info);
        ctx->w = (int)png_get_image_width(png, info);
        size_t rowbytes = png_get_rowbytes(png, info);
        if (ctx->c < 1 || ctx->c > 4 || rowbytes != (size_t)ctx->w * (size_t)ctx->c)
            png_error(png, "unexpected sample layout");
        ctx->rows = malloc((size_t)ctx->h * rowbytes);
        ctx->row_ptrs = malloc((size_t)ctx->h * sizeof *ctx->row_ptrs);
        if (!ctx->rows || !ctx->row_ptrs) png_error(png, "out of memory");
        for (int y = 0; y < ctx->h; y++) ctx->row_ptrs[y] = ctx->rows + (size_t)y * rowbytes;
        png_read_image(png, ctx->row_ptrs);
        png_read_end(png, NULL);
    }
    /* Reached once, by return or by jump; png_destroy_read_struct reports no errors. */
    png_destroy_read_struct(&png, &info, NULL);
    int c = ctx->c, alpha = c == 2 || c == 4;
    if (!rc && alpha && !all_opaque(ctx->rows, c, (size_t)ctx->h * (size_t)ctx->w))
        rc = ds_fail(err, errlen, "PNG: has transparent pixels (alpha < 255); flatten it onto a background first, "
                     "only gray and RGB images are stored");
    if (!rc && ds_image_from_interleaved(ctx->rows, c, alpha ? c - 1 : c, ctx->h, ctx->w, out))
        rc = ds_fail(err, errlen, "PNG: out of memory for %dx%d pixels", ctx->w, ctx->h);
    free(ctx->rows);
    free(ctx->row_ptrs);
    free(ctx);
    return rc;
}
