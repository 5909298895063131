/* Test fixtures for datasets/ (see ds_fixtures.h). */
#include "support/ds_fixtures.h"
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

char *dsfx_tempdir(void) {
    const char *base = getenv("TMPDIR");
    char templ[1024];
    snprintf(templ, sizeof templ, "%s/harness-ds-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(templ)) return NULL;
    size_t len = strlen(templ) + 1;
    char *out = malloc(len);
    if (out) memcpy(out, templ, len);
    return out;
}

int dsfx_rmtree(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return -1;
    struct dirent *e;
    char path[2048];
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode)) dsfx_rmtree(path);
        else unlink(path);
    }
    closedir(d);
    return rmdir(dir);
}

void dsfx_pattern(uint8_t *buf, size_t n, uint32_t seed, int lo) {
    uint32_t x = seed * 2654435761u + 12345u;
    for (size_t i = 0; i < n; i++) {
        x = x * 1664525u + 1013904223u;
        buf[i] = (uint8_t)(lo + (int)((x >> 24) % (uint32_t)(256 - lo)));
    }
}

int dsfx_write_file(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    int rc = fwrite(data, 1, n, f) == n ? 0 : -1;
    return fclose(f) || rc ? -1 : 0;
}

int dsfx_write_idx(const char *path, uint32_t magic, int ndim, const uint32_t *dims, const uint8_t *data,
                   size_t bytes, int gzip) {
    size_t head = 4 + 4 * (size_t)ndim, total = head + bytes;
    uint8_t *buf = malloc(total ? total : 1);
    if (!buf) return -1;
    uint32_t words[1 + 8];
    words[0] = magic;
    for (int i = 0; i < ndim && i < 8; i++) words[1 + i] = dims[i];
    for (size_t i = 0; i < head; i++) buf[i] = (uint8_t)(words[i / 4] >> (24 - 8 * (i % 4)));
    if (bytes) memcpy(buf + head, data, bytes);
    int rc;
    if (gzip) {
        gzFile gz = gzopen(path, "wb");
        rc = gz && gzwrite(gz, buf, (unsigned)total) == (int)total ? 0 : -1;
        if (gz && gzclose(gz) != Z_OK) rc = -1;
    } else {
        rc = dsfx_write_file(path, buf, total);
    }
    free(buf);
    return rc;
}

void dsfx_idx_images(uint8_t *out, uint32_t n, int h, int w, uint32_t seed) {
    dsfx_pattern(out, (size_t)n * h * w, seed, 0);
}

int dsfx_write_idx_pair(const char *dir, const char *prefix, uint32_t n, int h, int w, const uint8_t *labels,
                        uint32_t seed, int gzip) {
    char path[2048];
    size_t bytes = (size_t)n * h * w;
    uint8_t *im = malloc(bytes ? bytes : 1);
    if (!im) return -1;
    dsfx_idx_images(im, n, h, w, seed);
    uint32_t idims[3] = {n, (uint32_t)h, (uint32_t)w};
    snprintf(path, sizeof path, "%s/%s-images-idx3-ubyte%s", dir, prefix, gzip ? ".gz" : "");
    int rc = dsfx_write_idx(path, 0x803, 3, idims, im, bytes, gzip);
    free(im);
    snprintf(path, sizeof path, "%s/%s-labels-idx1-ubyte%s", dir, prefix, gzip ? ".gz" : "");
    return rc || dsfx_write_idx(path, 0x801, 1, &n, labels, n, gzip) ? -1 : 0;
}

enum { CIFAR_IMAGE = 3072 };

void dsfx_cifar_images(uint8_t *out, uint32_t n, uint32_t seed) {
    dsfx_pattern(out, (size_t)n * CIFAR_IMAGE, seed, 0);
}

int dsfx_write_cifar(const char *path, uint32_t n, const uint8_t *labels, uint32_t seed, size_t extra) {
    size_t total = (size_t)n * (CIFAR_IMAGE + 1) + extra;
    uint8_t *im = malloc((size_t)n * CIFAR_IMAGE + 1), *buf = malloc(total + 1);
    if (!im || !buf) {
        free(im);
        free(buf);
        return -1;
    }
    dsfx_cifar_images(im, n, seed);
    for (uint32_t i = 0; i < n; i++) {
        buf[(size_t)i * (CIFAR_IMAGE + 1)] = labels[i];
        memcpy(buf + (size_t)i * (CIFAR_IMAGE + 1) + 1, im + (size_t)i * CIFAR_IMAGE, CIFAR_IMAGE);
    }
    memset(buf + (size_t)n * (CIFAR_IMAGE + 1), 7, extra);
    int rc = dsfx_write_file(path, buf, total);
    free(im);
    free(buf);
    return rc;
}
