/* Test fixtures for the image readers (see image_fixtures.h). */
#include "support/image_fixtures.h"
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jpeglib.h>

int imfx_write_png(const char *path, int color, int depth, int h, int w, const uint8_t *rows,
                   const uint8_t *palette, int n_palette, const uint8_t *trns, int n_trns, int interlace) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    png_bytep *ptrs = malloc(sizeof *ptrs * (size_t)h);
    if (!info || !ptrs || setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        free(ptrs);
        fclose(f);
        return -1;
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, depth, color,
                 interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    if (palette) {
        png_color pal[256];
        for (int i = 0; i < n_palette; i++) {
            pal[i].red = palette[3 * i];
            pal[i].green = palette[3 * i + 1];
            pal[i].blue = palette[3 * i + 2];
        }
        png_set_PLTE(png, info, pal, n_palette);
    }
    if (trns) png_set_tRNS(png, info, trns, n_trns, NULL);
    png_write_info(png, info);
    int channels = color == PNG_COLOR_TYPE_RGB ? 3 : color == PNG_COLOR_TYPE_RGBA ? 4
                 : color == PNG_COLOR_TYPE_GRAY_ALPHA ? 2 : 1;
    size_t rowbytes = ((size_t)w * (size_t)channels * (size_t)depth + 7) / 8;
    for (int y = 0; y < h; y++) ptrs[y] = (png_bytep)rows + (size_t)y * rowbytes;
    png_write_image(png, ptrs);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    free(ptrs);
    return fclose(f) ? -1 : 0;
}

int imfx_write_png8(const char *path, int c, int h, int w, const uint8_t *interleaved) {
    return imfx_write_png(path, c == 1 ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_RGB, 8, h, w, interleaved, NULL, 0,
                          NULL, 0, 0);
}

int imfx_write_jpeg(const char *path, int c, int h, int w, const uint8_t *interleaved, int quality) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    struct jpeg_compress_struct cinfo;
    struct jpeg_error_mgr jerr;
    cinfo.err = jpeg_std_error(&jerr);   /* valid input only: the default handler may exit */
    jpeg_create_compress(&cinfo);
    jpeg_stdio_dest(&cinfo, f);
    cinfo.image_width = (JDIMENSION)w;
    cinfo.image_height = (JDIMENSION)h;
    cinfo.input_components = c;
    cinfo.in_color_space = c == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, quality, TRUE);
    for (int i = 0; i < cinfo.num_components; i++) cinfo.comp_info[i].h_samp_factor = cinfo.comp_info[i].v_samp_factor = 1;
    jpeg_start_compress(&cinfo, TRUE);
    while (cinfo.next_scanline < cinfo.image_height) {
        JSAMPROW row = (JSAMPROW)interleaved + (size_t)cinfo.next_scanline * (size_t)w * (size_t)c;
        jpeg_write_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    return fclose(f) ? -1 : 0;
}

typedef struct ref_err {
    struct jpeg_error_mgr mgr;
    jmp_buf jump;
} ref_err;

static void ref_error_exit(j_common_ptr cinfo) {
    longjmp(((ref_err *)cinfo->err)->jump, 1);
}

uint8_t *imfx_read_jpeg(const char *path, int *c, int *h, int *w) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    struct jpeg_decompress_struct cinfo;
    ref_err jerr;
    uint8_t *volatile px = NULL;
    cinfo.err = jpeg_std_error(&jerr.mgr);
    jerr.mgr.error_exit = ref_error_exit;
    if (setjmp(jerr.jump)) {
        jpeg_destroy_decompress(&cinfo);
        fclose(f);
        free(px);
        return NULL;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_stdio_src(&cinfo, f);
    jpeg_read_header(&cinfo, TRUE);
    jpeg_start_decompress(&cinfo);
    *c = cinfo.output_components;
    *h = (int)cinfo.output_height;
    *w = (int)cinfo.output_width;
    size_t stride = (size_t)*w * (size_t)*c;
    px = malloc(stride * (size_t)*h);
    while (px && cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW row = px + stride * cinfo.output_scanline;
        jpeg_read_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    fclose(f);
    return px;
}

void imfx_planar(const uint8_t *interleaved, int c, int h, int w, uint8_t *out) {
    size_t plane = (size_t)h * (size_t)w;
    for (int k = 0; k < c; k++)
        for (size_t j = 0; j < plane; j++) out[(size_t)k * plane + j] = interleaved[j * (size_t)c + (size_t)k];
}

void imfx_picture(uint8_t *out, int c, int h, int w, uint32_t seed) {
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int k = 0; k < c; k++) {
                int v = 20 + ((y * 4 + x * 3) & 127) + k * 40 + (int)(seed % 32u);
                out[((size_t)y * (size_t)w + (size_t)x) * (size_t)c + (size_t)k] = (uint8_t)(v > 255 ? 255 : v);
            }
}

uint8_t *imfx_slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 4096, n = 0, got;
    uint8_t *buf = malloc(cap);
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            uint8_t *b = realloc(buf, cap *= 2);
            if (!b) free(buf);
            buf = b;
        }
    }
    fclose(f);
    *len = n;
    return buf;
}
