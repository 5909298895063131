/* Helpers shared by the datasets/ files; not part of the public contract. */
#ifndef DATASETS_DS_INTERNAL_H
#define DATASETS_DS_INTERNAL_H
#include <stddef.h>
#include <stdint.h>
#include "datasets/dataset.h"

#if defined(__GNUC__)
#define DS_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define DS_PRINTF(f, a)
#endif

/* Writes a message into err (if non-NULL) and returns -1, so errors read `return ds_fail(...)`. */
int ds_fail(char *err, size_t errlen, const char *fmt, ...) DS_PRINTF(3, 4);

/* The last path component (for messages and source records). */
const char *ds_basename(const char *path);
int ds_file_exists(const char *path);
int ds_dir_exists(const char *path);

/* A dataset name usable as a file name: 1..63 letters, digits, '.', '_' or '-'. */
int ds_check_name(const char *name, char *err, size_t errlen);

/* Size and zlib crc32 of the bytes on disk, recorded as the dataset's provenance. */
int ds_source_of(const char *path, ds_source *out, char *err, size_t errlen);

/* Appends k records (k x item image bytes, k labels) worth of room; split->n is unchanged. */
int ds_split_reserve(ds_split *s, uint64_t extra, size_t image_bytes, char *err, size_t errlen);

/* Checks every label < n_classes; names the file/role and the first offending index. */
int ds_check_labels(const ds_split *s, int n_classes, const char *what, char *err, size_t errlen);

/* Fills class_names with "0", "1", ... */
void ds_numeric_class_names(ds_dataset *ds);

/* The format decoders behind ds_decode_image (same contract; data starts with their magic). */
int ds_decode_png(const uint8_t *data, size_t len, ds_image *out, char *err, size_t errlen);
int ds_decode_jpeg(const uint8_t *data, size_t len, ds_image *out, char *err, size_t errlen);
/* Interleaved rows (h x w x c_in) -> out->pixels (c_out planes of h x w, c_out <= c_in: the
 * first c_out samples of each pixel); allocates out->pixels. 0, or -1 when memory runs out. */
int ds_image_from_interleaved(const uint8_t *rows, int c_in, int c_out, int h, int w, ds_image *out);

/* Reads an image folder (see ds_import_images) into ds: c/h/w, classes, both splits, sources. With
 * want != NULL the class folders must be exactly want[0..n_want-1], in that order (what names the
 * dataset in the message). */
int ds_read_image_folder(ds_dataset *ds, const char *dir, const char *const *want, int n_want, const char *what,
                       char *err, size_t errlen);

#endif
