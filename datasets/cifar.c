/* CIFAR-10 binary version: each record is 1 label byte then 3072 pixel bytes (3 x 32 x 32,
 * channel-major: the red plane, then green, then blue), which is already our N x C x H x W. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "datasets/ds_internal.h"

enum { CIFAR_SIDE = 32, CIFAR_IMAGE = 3 * CIFAR_SIDE * CIFAR_SIDE, CIFAR_RECORD = 1 + CIFAR_IMAGE,
       CIFAR_CLASSES = 10 };

int ds_read_cifar_bin(const char *path, ds_split *s, char *err, size_t errlen) {
    FILE *f = fopen(path, "rb");
    if (!f) return ds_fail(err, errlen, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return ds_fail(err, errlen, "%s: %s", path, S_ISDIR(st.st_mode) ? "a directory, not a CIFAR-10 .bin file"
                                                                         : "not a regular file");
    }
    uint64_t size = (uint64_t)st.st_size;
    if (size == 0 || size % CIFAR_RECORD != 0) {
        fclose(f);
        return ds_fail(err, errlen,
                       "%s: %s: %llu bytes is not a whole number of %d-byte records (1 label + 3x32x32 pixels); "
                       "%llu whole records and %llu bytes left over",
                       path, size ? "truncated or padded" : "empty", (unsigned long long)size, CIFAR_RECORD,
                       (unsigned long long)(size / CIFAR_RECORD), (unsigned long long)(size % CIFAR_RECORD));
    }
    uint64_t k = size / CIFAR_RECORD;
    if (ds_split_reserve(s, k, CIFAR_IMAGE, err, errlen)) {
        fclose(f);
        return -1;
    }
    unsigned char rec[CIFAR_RECORD];
    for (uint64_t i = 0; i < k; i++) {
        if (fread(rec, 1, CIFAR_RECORD, f) != CIFAR_RECORD) {
            fclose(f);
            return ds_fail(err, errlen, "%s: read error at record %llu", path, (unsigned long long)i);
        }
        if (rec[0] >= CIFAR_CLASSES) {
            fclose(f);
            return ds_fail(err, errlen, "%s: record %llu (byte offset %llu) has label %d; CIFAR-10 labels are 0..9",
                           path, (unsigned long long)i, (unsigned long long)(i * CIFAR_RECORD), rec[0]);
        }
        /* Only commit the record once it is known good, so a failure leaves s as it was. */
        s->labels[s->n + i] = rec[0];
        memcpy(s->images + (size_t)(s->n + i) * CIFAR_IMAGE, rec + 1, CIFAR_IMAGE);
    }
    fclose(f);
    s->n += (uint32_t)k;
    return 0;
}
