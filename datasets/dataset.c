/* Dataset lifetime and small helpers shared by the readers and the store. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>
#include "datasets/ds_internal.h"

int ds_fail(char *err, size_t errlen, const char *fmt, ...) {
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

const char *ds_basename(const char *path) {
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

int ds_file_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int ds_dir_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int ds_check_name(const char *name, char *err, size_t errlen) {
    size_t len = strlen(name);
    if (len == 0 || len >= sizeof ((ds_dataset *)0)->name)
        return ds_fail(err, errlen, "dataset name \"%s\": must be 1..63 characters", name);
    for (size_t i = 0; i < len; i++)
        if (!isalnum((unsigned char)name[i]) && !strchr("._-", name[i]))
            return ds_fail(err, errlen, "dataset name \"%s\": only letters, digits, '.', '_' and '-' are allowed", name);
    return 0;
}

int ds_source_of(const char *path, ds_source *out, char *err, size_t errlen) {
    FILE *f = fopen(path, "rb");
    if (!f) return ds_fail(err, errlen, "%s: cannot open: %s", path, strerror(errno));
    enum { CHUNK = 1 << 20 };
    unsigned char *buf = malloc(CHUNK);
    if (!buf) { fclose(f); return ds_fail(err, errlen, "%s: out of memory", path); }
    uLong crc = crc32(0L, Z_NULL, 0);
    uint64_t total = 0;
    size_t got;
    while ((got = fread(buf, 1, CHUNK, f)) > 0) {
        crc = crc32(crc, buf, (uInt)got);
        total += got;
    }
    int bad = ferror(f);
    free(buf);
    fclose(f);
    if (bad) return ds_fail(err, errlen, "%s: read error", path);
    memset(out, 0, sizeof *out);
    snprintf(out->file, sizeof out->file, "%s", ds_basename(path));
    out->bytes = total;
    out->crc32 = (uint32_t)crc;
    return 0;
}

int ds_split_reserve(ds_split *s, uint64_t extra, size_t image_bytes, char *err, size_t errlen) {
    uint64_t n = (uint64_t)s->n + extra;
    if (n > UINT32_MAX || n > SIZE_MAX / image_bytes)
        return ds_fail(err, errlen, "too many images (%llu)", (unsigned long long)n);
    size_t bytes = (size_t)n * image_bytes;
    uint8_t *im = realloc(s->images, bytes ? bytes : 1);
    if (!im) return ds_fail(err, errlen, "out of memory for %llu images", (unsigned long long)n);
    s->images = im;
    uint8_t *lb = realloc(s->labels, n ? (size_t)n : 1);
    if (!lb) return ds_fail(err, errlen, "out of memory for %llu labels", (unsigned long long)n);
    s->labels = lb;
    return 0;
}

int ds_check_labels(const ds_split *s, int n_classes, const char *what, char *err, size_t errlen) {
    for (uint32_t i = 0; i < s->n; i++)
        if (s->labels[i] >= n_classes)
            return ds_fail(err, errlen, "%s: label %d at index %u is out of range: %d classes allow 0..%d",
                           what, s->labels[i], i, n_classes, n_classes - 1);
    return 0;
}

void ds_numeric_class_names(ds_dataset *ds) {
    for (int k = 0; k < ds->n_classes && k < DS_MAX_CLASSES; k++)
        snprintf(ds->class_names[k], sizeof ds->class_names[k], "%d", k);
}

void ds_split_free(ds_split *s) {
    if (!s) return;
    free(s->images);
    free(s->labels);
    s->images = s->labels = NULL;
    s->n = 0;
}

void ds_free(ds_dataset *ds) {
    if (!ds) return;
    ds_split_free(&ds->train);
    ds_split_free(&ds->test);
}
