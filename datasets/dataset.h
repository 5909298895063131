/* Image-classification datasets: raw readers (IDX, gzip IDX, CIFAR-10 binary, folders of PNG and
 * JPEG images), the HDF5 store
 * (one file per dataset), and the batch loader. Images stay uint8 in memory; the loader
 * normalizes per batch. */
#ifndef DATASETS_DATASET_H
#define DATASETS_DATASET_H
#include <stddef.h>
#include <stdint.h>
#include "nn/rng.h"

enum { DS_ERR_MAX = 1024, DS_MAX_CLASSES = 256, DS_MAX_CHANNELS = 4, DS_MAX_SOURCES = 8, DS_MAX_SIDE = 4096 };

typedef struct ds_split {
    uint8_t *images;       /* n x c x h x w */
    uint8_t *labels;       /* n */
    uint32_t n;
} ds_split;

/* A raw file the dataset was prepared from: its name (no folder), on-disk size and zlib crc32
 * (of the bytes on disk, i.e. of the .gz when the file is compressed). An image folder gives one
 * record per split instead, named "train/" or "test/": bytes is the sum of its image files' sizes
 * and crc32 runs over each file's path below the split folder ("cat/0001.png"), a 0 byte, and the
 * file's bytes, file after file in store order. */
typedef struct ds_source {
    char file[128];
    uint64_t bytes;
    uint32_t crc32;
} ds_source;

typedef struct ds_dataset {
    char name[64];
    int c, h, w, n_classes;
    char class_names[DS_MAX_CLASSES][32];
    float mean[DS_MAX_CHANNELS], std[DS_MAX_CHANNELS];   /* per channel, over train, in [0,1] units */
    ds_split train, test;
    ds_source sources[DS_MAX_SOURCES];   /* raw files it came from */
    int n_sources;
} ds_dataset;

void ds_free(ds_dataset *);        /* frees both splits; the struct may be reused after */
void ds_split_free(ds_split *);

/* --- raw readers: 0 = ok, else err names the file and what is wrong --- */
/* IDX images (magic 0x00000803, u8, n x h x w) or labels (0x00000801); gzip is detected. */
int ds_read_idx_images(const char *path, uint8_t **out, uint32_t *n, int *h, int *w, char *err, size_t errlen);
int ds_read_idx_labels(const char *path, uint8_t **out, uint32_t *n, char *err, size_t errlen);
/* CIFAR-10 binary: records of 1 label byte + 3072 image bytes; a file must hold whole records. */
int ds_read_cifar_bin(const char *path, ds_split *append_to, char *err, size_t errlen);

/* One decoded image, channel-major: c planes (1 = gray, 3 = RGB) of h x w bytes. */
typedef struct ds_image {
    uint8_t *pixels;
    int c, h, w;
} ds_image;
/* Decodes a PNG or JPEG held in memory, told apart by their magic bytes (never by a file name);
 * both sides at most DS_MAX_SIDE. 0 = ok (free out with ds_image_free), else err says what is
 * wrong (without a file name: callers prefix it) and out is empty. Never exits, whatever the bytes.
 *   PNG: gray stays 1 channel, RGB 3; palette images become RGB, 1/2/4-bit gray 8-bit, 16-bit
 *        samples are scaled to 8 bits (rounded); an alpha channel (or tRNS transparency) is dropped
 *        when every pixel is opaque (255) and refused otherwise. Stored values are kept: no gamma
 *        or colour-profile conversion. Anything libpng reports as an error is one (CRC, truncation).
 *   JPEG: libjpeg-turbo with its defaults made explicit (integer slow IDCT, fancy upsampling), gray
 *        -> 1 channel, YCbCr/RGB -> 3; CMYK/YCCK are refused; an EXIF orientation is not applied.
 *        libjpeg's warnings about the compressed data (premature end, corrupt Huffman data, ...)
 *        are errors too; those about metadata only (JFIF version, Adobe transform, ICC) are not. */
int ds_decode_image(const uint8_t *data, size_t len, ds_image *out, char *err, size_t errlen);
void ds_image_free(ds_image *);

/* --- preparing datasets: raw files -> HDF5 --- */
/* name: "mnist" | "fashion-mnist" | "cifar10". src: a folder holding the raw files, or NULL
 * for the default place: $HARNESS_DATA_DIR/raw/mnist (else data/raw/mnist, filled by
 * scripts/fetch_mnist.sh) / /usr/share/datasets/fashion-mnist (Debian dataset-fashion-mnist) /
 * $HARNESS_CIFAR10_DIR (the binary version's files, or the cifar-10-batches-bin folder inside; when
 * neither holds them but the folder holds train/ and test/, it is read as an image folder like
 * ds_import_images, whose class folders must be CIFAR-10's ten classes and images 3x32x32).
 * IDX files may be gzip-compressed (name.gz). Nothing is downloaded: missing files give a message
 * saying which files go where. The output is written atomically (out_h5.tmp, then renamed). */
int ds_prepare(const char *name, const char *src, const char *out_h5, char *err, size_t errlen);
/* A researcher's own IDX set: train-images/labels and t10k-/test- images/labels in dir. The
 * class count is the largest training label + 1 (at least 2); class names are "0", "1", ... */
int ds_import_idx(const char *name, const char *dir, const char *out_h5, char *err, size_t errlen);
/* A researcher's own image set: dir/train/<class>/<image> and dir/test/<class>/<image>, PNG or
 * JPEG (ds_decode_image). The class folders, sorted by name (byte order), give labels 0..K-1 and
 * the class names; train and test must hold the same class folders, each with at least one image,
 * and every image must have the same size and channel count. Names starting with '.' are skipped;
 * anything else that is not a class folder (in train/, test/) or an image file (in a class
 * folder) is an error. Images are stored class by class, files sorted by name, so the same tree
 * gives the same file. Every failure names the file or folder. */
int ds_import_images(const char *name, const char *dir, const char *out_h5, char *err, size_t errlen);
int ds_known_count(void);
const char *ds_known_name(int i);

/* --- HDF5 store --- */
int ds_save_h5(const ds_dataset *, const char *path, char *err, size_t errlen);     /* atomic */
int ds_load_h5(const char *path, ds_dataset *, char *err, size_t errlen);           /* validates */
/* ds_load_h5's result for a store this harness did not write in its current format (no seal,
 * or another format_version): prepare it again. */
enum { DS_LOAD_OLD_FORMAT = -2 };
void ds_compute_stats(ds_dataset *);   /* per-channel mean/std from train */

/* --- loading batches --- */
typedef struct ds_loader {
    const ds_dataset *ds;
    const ds_split *split;
    uint32_t *order;       /* indices into split, length n */
    uint32_t n, pos;
    int batch, shuffle, augment;     /* augment: 4-pixel pad + random crop, horizontal flip */
    int cutout;            /* > 0: a cutout x cutout square of each image zeroed after normalizing
                              (the channel mean), centred on a uniform pixel, clipped at the
                              borders (DeVries & Taylor 2017); set after ds_loader_init */
    nn_rng rng;
} ds_loader;

/* Indices [first, first+n) of split (a subset or validation slice). Shuffling and augmentation
 * draw from the loader's own rng seeded with seed (same seed, same batches). Augmentation pads
 * with black pixels (raw 0) before normalizing. Returns 0, or -1 when the range exceeds the
 * split, batch < 1, or memory runs out. */
int  ds_loader_init(ds_loader *, const ds_dataset *, const ds_split *, uint32_t first, uint32_t n,
                    int batch, int shuffle, int augment, uint64_t seed);
void ds_loader_free(ds_loader *);
void ds_loader_rewind(ds_loader *);     /* new epoch: reshuffle when shuffle is set */
/* Next batch: x (batch x c x h x w normalized floats), y. Returns samples written (0 = epoch done).
 * The last batch of an epoch may be short. */
int  ds_loader_next(ds_loader *, float *x, uint8_t *y);

/* Split off n_val training images as a validation set (for early stopping): the training
 * indices are shuffled with seed and the last n_val go to val (in their original order); train
 * keeps the rest, also in original order. val is allocated (free with ds_split_free); the mean/std
 * are not recomputed. 0 < n_val < train.n is required. */
int ds_split_validation(ds_dataset *, uint32_t n_val, uint64_t seed, ds_split *val, char *err, size_t errlen);
/* Keep n_keep training images drawn at random with seed (in their original order), dropping the
 * rest: a subset as mixed as the whole, whatever order the store keeps (an image-folder import
 * stores class by class). No-op when n_keep is 0 or not below train.n. */
int ds_split_subset(ds_dataset *, uint32_t n_keep, uint64_t seed, char *err, size_t errlen);

#endif
