/* IDX reader (MNIST's format): a 4-byte magic (0, 0, element type, number of dimensions),
 * big-endian u32 dimensions, then the elements. Only unsigned bytes (type 0x08) are accepted:
 * images have 3 dimensions (n x h x w), labels 1. zlib's gzread reads plain files unchanged and
 * decompresses gzip ones (detected by their magic), so one path serves both. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>
#include "datasets/ds_internal.h"

enum { IDX_TYPE_U8 = 0x08, IDX_MAX_SIDE = 4096 };
/* Plain files: the header's size is checked against the file's before allocating. Gzip: the
 * buffer grows towards the header's size as data arrives, so a lying header costs little. */
enum { IDX_FIRST_CHUNK = 1 << 20 };

typedef struct idx_file {
    gzFile gz;
    const char *path;
    char *err;
    size_t errlen;
    int gz_cut;            /* the gzip stream ended before its trailer */
} idx_file;

/* Reads up to n bytes; returns bytes read, or -1 after writing a message for corrupt gzip data. */
static int64_t idx_read(idx_file *f, void *buf, size_t n) {
    size_t done = 0;
    while (done < n) {
        size_t want = n - done > (1u << 30) ? (1u << 30) : n - done;
        int got = gzread(f->gz, (unsigned char *)buf + done, (unsigned)want);
        if (got < 0) {
            int code;
            const char *msg = gzerror(f->gz, &code);
            ds_fail(f->err, f->errlen, "%s: corrupt gzip data: %s", f->path, msg);
            return -1;
        }
        if (got == 0) {
            int code;
            gzerror(f->gz, &code);
            if (code == Z_BUF_ERROR) f->gz_cut = 1;
            break;
        }
        done += (size_t)got;
    }
    return (int64_t)done;
}

static const char *idx_unit(const idx_file *f) {
    if (f->gz_cut) return " (decompressed; the gzip stream itself is cut short)";
    return gzdirect(f->gz) ? "" : " (decompressed)";
}

/* Reads and checks the header; dims gets ndim values. */
static int idx_header(idx_file *f, int ndim, const char *kind, uint32_t magic_want, uint32_t *dims) {
    unsigned char m[4];
    int64_t got = idx_read(f, m, 4);
    if (got < 0) return -1;
    if (got < 4)
        return ds_fail(f->err, f->errlen, "%s: too short for an IDX header (%lld bytes)", f->path, (long long)got);
    uint32_t magic = (uint32_t)m[0] << 24 | (uint32_t)m[1] << 16 | (uint32_t)m[2] << 8 | m[3];
    if (m[0] != 0 || m[1] != 0)
        return ds_fail(f->err, f->errlen, "%s: bad magic 0x%08x: not an IDX file (expected 0x%08x, IDX %s)",
                       f->path, magic, magic_want, kind);
    if (m[2] != IDX_TYPE_U8)
        return ds_fail(f->err, f->errlen,
                       "%s: bad magic 0x%08x: element type 0x%02x is not supported, only unsigned bytes (0x08)",
                       f->path, magic, m[2]);
    if (m[3] != ndim)
        return ds_fail(f->err, f->errlen, "%s: wrong dims: magic 0x%08x says %d dimensions, IDX %s have %d (magic 0x%08x)",
                       f->path, magic, m[3], kind, ndim, magic_want);
    unsigned char d[12];
    got = idx_read(f, d, (size_t)ndim * 4);
    if (got < 0) return -1;
    if (got < ndim * 4)
        return ds_fail(f->err, f->errlen, "%s: truncated header: %d dimensions need %d bytes, file has %lld",
                       f->path, ndim, ndim * 4, (long long)got);
    for (int i = 0; i < ndim; i++) {
        dims[i] = (uint32_t)d[4 * i] << 24 | (uint32_t)d[4 * i + 1] << 16 | (uint32_t)d[4 * i + 2] << 8 | d[4 * i + 3];
        if (dims[i] == 0)
            return ds_fail(f->err, f->errlen, "%s: wrong dims: dimension %d is 0", f->path, i);
    }
    return 0;
}

/* Reads exactly `expect` bytes after the header; a shorter or longer file is an error. */
static int idx_body(idx_file *f, uint64_t expect, const char *shape, uint8_t **out) {
    if (expect > SIZE_MAX) return ds_fail(f->err, f->errlen, "%s: header says %s: too large", f->path, shape);
    struct stat st;
    z_off_t header = gztell(f->gz);
    if (gzdirect(f->gz) && stat(f->path, &st) == 0 && header >= 0 && (uint64_t)st.st_size - (uint64_t)header != expect) {
        uint64_t have = (uint64_t)st.st_size - (uint64_t)header;
        if (have < expect)
            return ds_fail(f->err, f->errlen, "%s: truncated: header says %s = %llu bytes, file has %llu after the header",
                           f->path, shape, (unsigned long long)expect, (unsigned long long)have);
        return ds_fail(f->err, f->errlen,
                       "%s: over-long: header says %s = %llu bytes, file has %llu after the header (%llu extra)",
                       f->path, shape, (unsigned long long)expect, (unsigned long long)have,
                       (unsigned long long)(have - expect));
    }
    size_t cap = expect < IDX_FIRST_CHUNK ? (size_t)expect : IDX_FIRST_CHUNK, have = 0;
    uint8_t *buf = malloc(cap);
    if (!buf) return ds_fail(f->err, f->errlen, "%s: out of memory for %s", f->path, shape);
    for (;;) {
        int64_t got = idx_read(f, buf + have, cap - have);
        if (got < 0) { free(buf); return -1; }
        have += (size_t)got;
        if (have < cap || cap == expect) break;
        size_t next = cap > expect / 2 ? (size_t)expect : cap * 2;
        uint8_t *grown = realloc(buf, next);
        if (!grown) { free(buf); return ds_fail(f->err, f->errlen, "%s: out of memory for %s", f->path, shape); }
        buf = grown;
        cap = next;
    }
    if (have < expect) {
        free(buf);
        return ds_fail(f->err, f->errlen, "%s: truncated: header says %s = %llu bytes, file has %llu after the header%s",
                       f->path, shape, (unsigned long long)expect, (unsigned long long)have, idx_unit(f));
    }
    uint64_t extra = 0;
    unsigned char scratch[4096];
    int64_t got;
    while ((got = idx_read(f, scratch, sizeof scratch)) > 0) extra += (uint64_t)got;
    if (got < 0) { free(buf); return -1; }
    if (extra) {
        free(buf);
        return ds_fail(f->err, f->errlen,
                       "%s: over-long: header says %s = %llu bytes, file has %llu after the header%s (%llu extra)",
                       f->path, shape, (unsigned long long)expect, (unsigned long long)(expect + extra), idx_unit(f),
                       (unsigned long long)extra);
    }
    *out = buf;
    return 0;
}

static int idx_open(idx_file *f, const char *path, char *err, size_t errlen) {
    f->gz_cut = 0;
    f->path = path;
    f->err = err;
    f->errlen = errlen;
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return ds_fail(err, errlen, "%s: a directory, not an IDX file", path);
    errno = 0;
    f->gz = gzopen(path, "rb");
    if (!f->gz) return ds_fail(err, errlen, "%s: cannot open: %s", path, errno ? strerror(errno) : "zlib error");
    gzbuffer(f->gz, 1 << 17);
    return 0;
}

int ds_read_idx_images(const char *path, uint8_t **out, uint32_t *n, int *h, int *w, char *err, size_t errlen) {
    idx_file f;
    if (idx_open(&f, path, err, errlen)) return -1;
    uint32_t dims[3];
    int rc = idx_header(&f, 3, "images (n x h x w)", 0x00000803u, dims);
    if (rc == 0 && (dims[1] > IDX_MAX_SIDE || dims[2] > IDX_MAX_SIDE))
        rc = ds_fail(err, errlen, "%s: wrong dims: images of %ux%u pixels; at most %dx%d are supported",
                     path, dims[1], dims[2], IDX_MAX_SIDE, IDX_MAX_SIDE);
    if (rc == 0) {
        char shape[64];
        snprintf(shape, sizeof shape, "%ux%ux%u", dims[0], dims[1], dims[2]);
        rc = idx_body(&f, (uint64_t)dims[0] * dims[1] * dims[2], shape, out);
    }
    gzclose(f.gz);
    if (rc) return -1;
    *n = dims[0];
    *h = (int)dims[1];
    *w = (int)dims[2];
    return 0;
}

int ds_read_idx_labels(const char *path, uint8_t **out, uint32_t *n, char *err, size_t errlen) {
    idx_file f;
    if (idx_open(&f, path, err, errlen)) return -1;
    uint32_t dims[1];
    int rc = idx_header(&f, 1, "labels (n)", 0x00000801u, dims);
    if (rc == 0) {
        char shape[32];
        snprintf(shape, sizeof shape, "%u", dims[0]);
        rc = idx_body(&f, dims[0], shape, out);
    }
    gzclose(f.gz);
    if (rc) return -1;
    *n = dims[0];
    return 0;
}
