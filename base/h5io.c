/* Sealed HDF5 files (see h5io.h). */
#include "base/h5io.h"
#include "base/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define SEAL_MAGIC "HXH5SEAL"
enum { SEAL_VERSION = 1, OFF_VERSION = 8, OFF_KIND = 12, OFF_LEN = 44, OFF_CRC = 52, OFF_HCRC = 56,
       SEAL_BYTES = 60, IO_CHUNK = 1 << 20 };
static const unsigned char hdf5_signature[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};

static int fail(char *err, size_t errlen, const char *fmt, const char *a, const char *b)
{
    if (err && errlen) snprintf(err, errlen, fmt, a, b);
    return -1;
}

h5io_quiet h5io_hush(void)
{
    h5io_quiet q;
    H5Eget_auto2(H5E_DEFAULT, &q.fn, &q.data);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    return q;
}

void h5io_unhush(h5io_quiet q) { H5Eset_auto2(H5E_DEFAULT, q.fn, q.data); }

static herr_t keep_innermost(unsigned n, const H5E_error2_t *e, void *out)
{
    if (n == 0 && e->desc && e->desc[0]) snprintf(out, H5IO_REASON_MAX, "%s", e->desc);
    return 0;
}

const char *h5io_reason(char buf[H5IO_REASON_MAX])
{
    buf[0] = 0;
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, keep_innermost, buf);
    H5Eclear2(H5E_DEFAULT);
    if (!buf[0]) snprintf(buf, H5IO_REASON_MAX, "unknown HDF5 error");
    return buf;
}

/* ---- little-endian fields ------------------------------------------------------------- */

static void put_le(uint8_t *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, int bytes)
{
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

static uint32_t crc_of(const uint8_t *p, size_t n)
{
    uLong c = crc32(0L, Z_NULL, 0);
    while (n > 0) {
        uInt k = n > (1u << 30) ? (1u << 30) : (uInt)n;
        c = crc32(c, p, k);
        p += k;
        n -= k;
    }
    return (uint32_t)c;
}

/* CRC-32 of the whole 512-byte block with its own checksum field read as zero. */
static uint32_t block_crc(const uint8_t *head)
{
    static const uint8_t zero[4] = {0, 0, 0, 0};
    uLong c = crc32(crc32(0L, Z_NULL, 0), head, OFF_HCRC);
    c = crc32(c, zero, 4);
    return (uint32_t)crc32(c, head + OFF_HCRC + 4, H5IO_USERBLOCK - OFF_HCRC - 4);
}

static void seal(uint8_t *head, const uint8_t *body, size_t len, const char *kind)
{
    memset(head, 0, SEAL_BYTES);
    memcpy(head, SEAL_MAGIC, 8);
    put_le(head + OFF_VERSION, SEAL_VERSION, 4);
    snprintf((char *)head + OFF_KIND, H5IO_KIND_MAX, "%s", kind);
    put_le(head + OFF_LEN, len, 8);
    put_le(head + OFF_CRC, crc_of(body, len), 4);
    put_le(head + OFF_HCRC, block_crc(head), 4);
}

void h5io_seal(uint8_t *buf, size_t len, const char *kind)
{
    if (len >= H5IO_USERBLOCK) seal(buf, buf + H5IO_USERBLOCK, len - H5IO_USERBLOCK, kind);
}

/* ---- writing ---------------------------------------------------------------------------- */

/* The core driver allocates the file's bytes through these callbacks, so at H5Fclose (when HDF5
 * has written its final superblock) the buffer can be kept instead of freed. One image_keep per
 * file, reference-counted because HDF5 copies the callbacks' user data with every access list. */
struct image_keep { int refs, want; uint8_t *buf; };
typedef struct image_keep image_keep;

static void keep_release(image_keep *k)
{
    if (--k->refs > 0) return;
    free(k->buf);
    free(k);
}
static void *cb_malloc(size_t n, H5FD_file_image_op_t op, void *k) { (void)op; (void)k; return malloc(n); }
static void *cb_memcpy(void *d, const void *s, size_t n, H5FD_file_image_op_t op, void *k)
{
    (void)op; (void)k;
    return memcpy(d, s, n);
}
static void *cb_realloc(void *p, size_t n, H5FD_file_image_op_t op, void *k) { (void)op; (void)k; return realloc(p, n); }
static herr_t cb_free(void *p, H5FD_file_image_op_t op, void *udata)
{
    image_keep *k = udata;
    if (op == H5FD_FILE_IMAGE_OP_FILE_CLOSE && k->want && !k->buf) k->buf = p;
    else free(p);
    return 0;
}
static void *cb_udata_copy(void *udata) { ((image_keep *)udata)->refs++; return udata; }
static herr_t cb_udata_free(void *udata) { keep_release(udata); return 0; }

int h5io_create(h5io_writer *w, const char *name, char *err, size_t errlen)
{
    w->file = -1;
    w->keep = NULL;
    /* HDF5 refuses two open files of one name: the writer's address tells open ones apart. */
    char mem_name[4200], why[H5IO_REASON_MAX];
    snprintf(mem_name, sizeof mem_name, "%s (in memory at %p)", name, (void *)w);
    image_keep *k = calloc(1, sizeof *k);
    if (!k) return fail(err, errlen, "%s: %s", name, strerror(ENOMEM));
    k->refs = 1;
    H5FD_file_image_callbacks_t cb = {cb_malloc, cb_memcpy, cb_realloc, cb_free, cb_udata_copy, cb_udata_free, k};
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS), fcpl = H5Pcreate(H5P_FILE_CREATE);
    int ok = fapl >= 0 && H5Pset_fapl_core(fapl, IO_CHUNK, 0) >= 0 && H5Pset_file_image_callbacks(fapl, &cb) >= 0 &&
             H5Pset_libver_bounds(fapl, H5F_LIBVER_V110, H5F_LIBVER_LATEST) >= 0 &&
             H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG) >= 0 &&
             fcpl >= 0 && H5Pset_obj_track_times(fcpl, 0) >= 0;   /* no time stamp on the root group */
    hid_t file = ok ? H5Fcreate(mem_name, H5F_ACC_TRUNC, fcpl, fapl) : -1;
    if (file < 0) fail(err, errlen, "%s: cannot create the HDF5 file in memory: %s", name, h5io_reason(why));
    if (fapl >= 0) H5Pclose(fapl);
    if (fcpl >= 0) H5Pclose(fcpl);
    if (file < 0) { keep_release(k); return -1; }
    w->file = file;
    w->keep = k;   /* our reference; HDF5 holds its own */
    return 0;
}

void h5io_discard(h5io_writer *w)
{
    if (w->file >= 0) H5Fclose(w->file);
    if (w->keep) keep_release(w->keep);
    w->file = -1;
    w->keep = NULL;
}

/* The file's length: the end-of-file address in its version 2/3 superblock (8-byte addresses,
 * created by h5io_create), or 0 when the bytes are not such a superblock. */
static uint64_t image_length(const uint8_t *buf)
{
    if (memcmp(buf, hdf5_signature, 8) != 0 || buf[8] < 2 || buf[9] != 8) return 0;
    return get_le(buf + 28, 8);
}

int h5io_commit(h5io_writer *w, const char *kind, const char *path, char *err, size_t errlen)
{
    char why[H5IO_REASON_MAX] = "";
    image_keep *k = w->keep;
    k->want = 1;
    int ok = H5Fflush(w->file, H5F_SCOPE_GLOBAL) >= 0;
    if (!ok) h5io_reason(why);
    if (H5Fclose(w->file) < 0 && ok) { ok = 0; h5io_reason(why); }
    w->file = -1;
    uint8_t *body = k->buf;
    uint64_t len = ok && body ? image_length(body) : 0;
    int rc;
    if (!len) {
        rc = fail(err, errlen, "%s: cannot build the HDF5 file: %s", path, why[0] ? why : "no image");
    } else {
        uint8_t head[H5IO_USERBLOCK];
        memset(head, 0, sizeof head);
        seal(head, body, (size_t)len, kind);
        const fio_span parts[2] = {{head, sizeof head}, {body, (size_t)len}};
        rc = fio_write_spans(path, parts, 2, err, errlen);
    }
    h5io_discard(w);
    return rc;
}

/* ---- reading ---------------------------------------------------------------------------- */

static int read_full(int fd, uint8_t *buf, size_t n)
{
    size_t done = 0;
    while (done < n) {
        ssize_t k = read(fd, buf + done, n - done);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return -1;
        done += (size_t)k;
    }
    return 0;
}

/* Checks the seal of the open file fd of size bytes. */
static h5io_status check_seal(int fd, uint64_t size, const char *path, const char *kind, char *err, size_t errlen)
{
    uint8_t head[H5IO_USERBLOCK];
    if (size < H5IO_USERBLOCK || read_full(fd, head, H5IO_USERBLOCK) != 0 || memcmp(head, SEAL_MAGIC, 8) != 0) {
        if (size >= 8 && pread(fd, head, 8, 0) == 8 && memcmp(head, hdf5_signature, 8) == 0) {
            fail(err, errlen, "%s: an HDF5 file without the harness seal (written by another program or an "
                 "older harness)%s", path, "");
            return H5IO_UNSEALED;
        }
        return fail(err, errlen, "%s: not a %s file (no seal, no HDF5 signature)", path, kind);
    }
    char got_kind[H5IO_KIND_MAX + 1];
    memcpy(got_kind, head + OFF_KIND, H5IO_KIND_MAX);
    got_kind[H5IO_KIND_MAX] = 0;
    uint64_t body = get_le(head + OFF_LEN, 8), version = get_le(head + OFF_VERSION, 4);
    char msg[256];
    if (block_crc(head) != (uint32_t)get_le(head + OFF_HCRC, 4))
        return fail(err, errlen, "%s: damaged: the checksum of its first %s bytes does not match", path, "512");
    if (version != SEAL_VERSION) {
        snprintf(msg, sizeof msg, "seal version %llu, this build reads %d", (unsigned long long)version, SEAL_VERSION);
        return fail(err, errlen, "%s: %s", path, msg);
    }
    if (strcmp(got_kind, kind) != 0) {
        snprintf(msg, sizeof msg, "a %s file, expected a %s file", got_kind, kind);
        return fail(err, errlen, "%s: %s", path, msg);
    }
    if (size - H5IO_USERBLOCK != body) {
        snprintf(msg, sizeof msg, "%s: the file has %llu bytes, it was written with %llu",
                 size - H5IO_USERBLOCK < body ? "truncated" : "damaged", (unsigned long long)size,
                 (unsigned long long)(body + H5IO_USERBLOCK));
        return fail(err, errlen, "%s: %s", path, msg);
    }
    uint8_t *buf = malloc(IO_CHUNK);
    if (!buf) return fail(err, errlen, "%s: %s", path, strerror(ENOMEM));
    uLong c = crc32(0L, Z_NULL, 0);
    int bad = 0;
    for (uint64_t left = body; !bad && left > 0;) {
        size_t k = left > IO_CHUNK ? IO_CHUNK : (size_t)left;
        bad = read_full(fd, buf, k) != 0;
        if (!bad) c = crc32(c, buf, (uInt)k);
        left -= k;
    }
    free(buf);
    if (bad) return fail(err, errlen, "%s: read error: %s", path, strerror(errno ? errno : EIO));
    if ((uint32_t)c != (uint32_t)get_le(head + OFF_CRC, 4))
        return fail(err, errlen, "%s: damaged: checksum mismatch (the file changed after it was written)%s", path, "");
    return H5IO_OK;
}

h5io_status h5io_open(const char *path, const char *kind, hid_t *file, char *err, size_t errlen)
{
    *file = -1;
    int fd = open(path, O_RDONLY);
    if (fd < 0) return fail(err, errlen, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    int e = fstat(fd, &st) != 0 ? errno : S_ISDIR(st.st_mode) ? EISDIR : 0;
    if (e || !S_ISREG(st.st_mode)) {
        close(fd);
        return fail(err, errlen, "%s: cannot open: %s", path, e ? strerror(e) : "not a regular file");
    }
    h5io_status s = check_seal(fd, (uint64_t)st.st_size, path, kind, err, errlen);
    close(fd);
    if (s != H5IO_OK) return s;
    char why[H5IO_REASON_MAX];
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl >= 0) H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG);
    *file = fapl < 0 ? -1 : H5Fopen(path, H5F_ACC_RDONLY, fapl);
    if (fapl >= 0) H5Pclose(fapl);
    if (*file < 0) return fail(err, errlen, "%s: HDF5 cannot open it: %s", path, h5io_reason(why));
    H5F_info2_t info;
    if (H5Fget_info2(*file, &info) < 0 || info.super.version < 2) {
        H5Fclose(*file);
        *file = -1;
        return fail(err, errlen, "%s: %s", path, "an HDF5 superblock older than version 2 (no metadata checksums)");
    }
    return H5IO_OK;
}
