/* Test fixtures for datasets/: temp folders and writers of small valid or deliberately broken
 * IDX (plain or gzip) and CIFAR-10 files. */
#ifndef TESTS_SUPPORT_DS_FIXTURES_H
#define TESTS_SUPPORT_DS_FIXTURES_H
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A fresh folder under $TMPDIR (or /tmp); the caller frees the string and removes the tree. */
char *dsfx_tempdir(void);
int dsfx_rmtree(const char *dir);

/* Deterministic bytes in [lo, 255] from a seed (lo > 0 keeps pixels distinguishable from padding). */
void dsfx_pattern(uint8_t *buf, size_t n, uint32_t seed, int lo);

int dsfx_write_file(const char *path, const void *data, size_t n);
/* An IDX file: magic, ndim big-endian dims, then `bytes` of data (which may disagree with the
 * dims on purpose), plain or gzip-compressed. */
int dsfx_write_idx(const char *path, uint32_t magic, int ndim, const uint32_t *dims, const uint8_t *data,
                   size_t bytes, int gzip);
/* Writes dir/<prefix>-images-idx3-ubyte[.gz] and dir/<prefix>-labels-idx1-ubyte[.gz] with n
 * images of h x w (pattern from seed) and labels[i]; prefix is "train", "t10k" or "test". */
int dsfx_write_idx_pair(const char *dir, const char *prefix, uint32_t n, int h, int w, const uint8_t *labels,
                        uint32_t seed, int gzip);
/* The image bytes dsfx_write_idx_pair writes for (n, h, w, seed). */
void dsfx_idx_images(uint8_t *out, uint32_t n, int h, int w, uint32_t seed);
/* CIFAR-10 records: n x (label, 3072 pixels from seed), then `extra` stray bytes. */
int dsfx_write_cifar(const char *path, uint32_t n, const uint8_t *labels, uint32_t seed, size_t extra);
void dsfx_cifar_images(uint8_t *out, uint32_t n, uint32_t seed);

#ifdef __cplusplus
}
#endif
#endif
