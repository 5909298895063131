/* JPEG from memory through libjpeg-turbo: gray -> 1 channel, YCbCr/RGB -> 3 (see ds_decode_image).
 * libjpeg's error_exit would call exit(); ours longjmps back here with the message instead, and
 * warnings about the compressed data take the same way, so a damaged file is an error, not a
 * picture with gray blocks in it. What must survive the jump lives in a heap context. */
#include <stdio.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <jpeglib.h>
#include <jerror.h>
#include "datasets/ds_internal.h"

typedef struct jpeg_ctx {
    struct jpeg_decompress_struct cinfo;
    struct jpeg_error_mgr jerr;
    jmp_buf jump;
    uint8_t *rows;          /* h x w x c, interleaved */
    char msg[JMSG_LENGTH_MAX + 32];
} jpeg_ctx;

static void on_error(j_common_ptr cinfo) {
    jpeg_ctx *ctx = cinfo->client_data;
    char text[JMSG_LENGTH_MAX];
    cinfo->err->format_message(cinfo, text);
    snprintf(ctx->msg, sizeof ctx->msg, "%s", text);
    longjmp(ctx->jump, 1);
}

/* Warnings about metadata only; the pixels are sound. */
static int harmless(int code) {
    return code == JWRN_JFIF_MAJOR || code == JWRN_ADOBE_XFORM || code == JWRN_BOGUS_ICC;
}

/* level < 0: a warning (corrupt data, premature end); >= 0: trace output, ignored. */
static void on_message(j_common_ptr cinfo, int level) {
    if (level < 0 && !harmless(cinfo->err->msg_code)) on_error(cinfo);
}

/* Everything libjpeg may jump out of. */
static void decode(jpeg_ctx *ctx, const uint8_t *data, size_t len) {
    j_decompress_ptr cinfo = &ctx->cinfo;
    jpeg_create_decompress(cinfo);
    cinfo->client_data = ctx;
    jpeg_mem_src(cinfo, data, (unsigned long)len);
    jpeg_read_header(cinfo, TRUE);
    if (cinfo->image_width > DS_MAX_SIDE || cinfo->image_height > DS_MAX_SIDE) {
        snprintf(ctx->msg, sizeof ctx->msg, "%ux%u pixels, at most %dx%d allowed", cinfo->image_width,
                 cinfo->image_height, DS_MAX_SIDE, DS_MAX_SIDE);
        longjmp(ctx->jump, 1);
    }
    switch (cinfo->jpeg_color_space) {
    case JCS_GRAYSCALE: cinfo->out_color_space = JCS_GRAYSCALE; break;
    case JCS_YCbCr:
    case JCS_RGB: cinfo->out_color_space = JCS_RGB; break;
    default:
        snprintf(ctx->msg, sizeof ctx->msg, "colour space %s is not supported (only gray and YCbCr/RGB)",
                 cinfo->jpeg_color_space == JCS_CMYK || cinfo->jpeg_color_space == JCS_YCCK ? "CMYK/YCCK" : "unknown");
        longjmp(ctx->jump, 1);
    }
    cinfo->dct_method = JDCT_ISLOW;
    cinfo->do_fancy_upsampling = TRUE;
    jpeg_start_decompress(cinfo);
    size_t stride = (size_t)cinfo->output_width * (size_t)cinfo->output_components;
    ctx->rows = malloc(stride * cinfo->output_height);
    if (!ctx->rows) ERREXIT1(cinfo, JERR_OUT_OF_MEMORY, 0);
    while (cinfo->output_scanline < cinfo->output_height) {
        JSAMPROW row = ctx->rows + stride * cinfo->output_scanline;
        jpeg_read_scanlines(cinfo, &row, 1);
    }
    jpeg_finish_decompress(cinfo);
}

int ds_decode_jpeg(const uint8_t *data, size_t len, ds_image *out, char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    jpeg_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx) return ds_fail(err, errlen, "JPEG: out of memory");
    ctx->cinfo.err = jpeg_std_error(&ctx->jerr);
    ctx->jerr.error_exit = on_error;
    ctx->jerr.emit_message = on_message;
    ctx->cinfo.client_data = ctx;
    int rc = 0;
    if (setjmp(ctx->jump)) rc = ds_fail(err, errlen, "JPEG: %s", ctx->msg);
    else decode(ctx, data, len);
    /* Reached once, by return or by jump; jpeg_destroy does not report errors. */
    j_decompress_ptr cinfo = &ctx->cinfo;
    if (!rc && ds_image_from_interleaved(ctx->rows, cinfo->output_components, cinfo->output_components,
                                         (int)cinfo->output_height, (int)cinfo->output_width, out))
        rc = ds_fail(err, errlen, "JPEG: out of memory");
    jpeg_destroy_decompress(cinfo);
    free(ctx->rows);
    free(ctx);
    return rc;
}
