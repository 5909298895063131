/* Image-classification datasets: raw readers (IDX, gzip IDX, CIFAR-10 binary), the HDF5 store
 * (one file per dataset), and the batch loader. Images stay uint8 in memory; the loader
 * normalizes per batch. */
#ifndef DATASETS_DATASET_H
#define DATASETS_DATASET_H
#include <stddef.h>
#include <stdint.h>
#include "nn/rng.h"

enum { DS_ERR_MAX = 1024, DS_MAX_CLASSES = 256, DS_MAX_CHANNELS = 4, DS_MAX_SOURCES = 8 };

typedef struct ds_split {
    uint8_t *images;       /* n x c x h x w */
    uint8_t *labels;       /* n */
    uint32_t n;
} ds_split;

/* A raw file the dataset was prepared from: its name (no folder), on-disk size and zlib crc32
 * (of the bytes on disk, i.e. of the .gz when the file is compressed). */
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

/* --- preparing datasets: raw files -> HDF5 --- */
/* name: "mnist" | "fashion-mnist" | "cifar10". src: a folder holding the raw files, or NULL
 * for the default place: $HARNESS_DATA_DIR/raw/mnist (else data/raw/mnist, filled by
 * scripts/fetch_mnist.sh) / /usr/share/datasets/fashion-mnist (Debian dataset-fashion-mnist) /
 * $HARNESS_CIFAR10_DIR (the binary version's files, or the cifar-10-batches-bin folder inside).
 * IDX files may be gzip-compressed (name.gz). Nothing is downloaded: missing files give a message
 * saying which files go where. The output is written atomically (out_h5.tmp, then renamed). */
int ds_prepare(const char *name, const char *src, const char *out_h5, char *err, size_t errlen);
/* A researcher's own IDX set: train-images/labels and t10k-/test- images/labels in dir. The
 * class count is the largest training label + 1 (at least 2); class names are "0", "1", ... */
int ds_import_idx(const char *name, const char *dir, const char *out_h5, char *err, size_t errlen);
int ds_known_count(void);
const char *ds_known_name(int i);

/* --- HDF5 store --- */
int ds_save_h5(const ds_dataset *, const char *path, char *err, size_t errlen);     /* atomic */
int ds_load_h5(const char *path, ds_dataset *, char *err, size_t errlen);           /* validates */
void ds_compute_stats(ds_dataset *);   /* per-channel mean/std from train */

/* --- loading batches --- */
typedef struct ds_loader {
    const ds_dataset *ds;
    const ds_split *split;
    uint32_t *order;       /* indices into split, length n */
    uint32_t n, pos;
    int batch, shuffle, augment;     /* augment: 4-pixel pad + random crop, horizontal flip */
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

#endif
