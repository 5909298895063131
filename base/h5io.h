/* Sealed HDF5 files: how the harness writes and reads its dataset stores and checkpoints.
 *
 * Writing builds the file in memory (HDF5 core driver) in the newest format this HDF5 knows
 * (H5Pset_libver_bounds(V110, LATEST): version-3 superblock, checksummed object headers, groups
 * and chunk indexes; no time stamp on the root group, so the same content gives the same bytes),
 * puts a 512-byte block holding a seal in front of it (HDF5 reads such a
 * block as a user block, h5py and h5dump included), and writes the bytes to
 * path atomically (base/fileio.h: a temporary name, flushed, renamed). HDF5 never writes to disk, so a
 * full disk is an ordinary write error (named, the temporary file removed, the previous file
 * untouched) instead of a failed H5Fclose that leaves the library in a state that crashes at exit.
 *
 * The seal (bytes 0..63 of the user block, little-endian):
 *   0  "HXH5SEAL"   8  u32 seal version (1)   12  kind, 32 bytes NUL-padded
 *   44 u64 body length (the bytes after the user block)   52 u32 CRC-32 of the body
 *   56 u32 CRC-32 of the whole 512-byte block, this field read as zero
 * Reading checks the seal against the whole file before HDF5 parses a byte of it, so a file that
 * was changed, cut short or not written by the harness is refused with a named reason. */
#ifndef BASE_H5IO_H
#define BASE_H5IO_H
#include <stddef.h>
#include <stdint.h>
#include <hdf5.h>

enum { H5IO_USERBLOCK = 512, H5IO_REASON_MAX = 160, H5IO_KIND_MAX = 32 };

/* HDF5 prints its error stack to stderr by default; the harness reports its own messages. */
typedef struct h5io_quiet { H5E_auto2_t fn; void *data; } h5io_quiet;
h5io_quiet h5io_hush(void);
void h5io_unhush(h5io_quiet);
/* The most specific description on HDF5's error stack (then cleared), or "unknown HDF5 error". */
const char *h5io_reason(char buf[H5IO_REASON_MAX]);

/* A file being written: write into w.file with the HDF5 API, then commit or discard. */
typedef struct h5io_writer { hid_t file; struct image_keep *keep; } h5io_writer;
/* A new in-memory HDF5 file (named `name` in messages only). 0, or -1 with err. */
int h5io_create(h5io_writer *w, const char *name, char *err, size_t errlen);
/* Closes w.file (and every object still open in it), seals its bytes as `kind` and writes
 * them to path atomically. Always releases w. 0, or -1 with "<path>: <what>: <reason>" in err. */
int h5io_commit(h5io_writer *w, const char *kind, const char *path, char *err, size_t errlen);
/* Closes and forgets w without writing anything. */
void h5io_discard(h5io_writer *w);

typedef enum { H5IO_OK = 0, H5IO_ERROR = -1, H5IO_UNSEALED = -2 } h5io_status;
/* Checks path's seal (kind, length, both checksums) and opens it read-only. H5IO_UNSEALED: a
 * file without a seal (another program's, or an older harness's); err says which. */
h5io_status h5io_open(const char *path, const char *kind, hid_t *file, char *err, size_t errlen);
/* Seals a file's bytes in place (buf holds the 512-byte block, then the HDF5 body): for tests
 * and fuzzers. */
void h5io_seal(uint8_t *buf, size_t len, const char *kind);

/* ---- attributes and datasets (h5io_rw.c) -------------------------------------------------
 * The one place that reads and writes the harness's HDF5 objects. Failures are recorded in an
 * h5io_ctx: the first one wins, as "<path>: <message>", and every later call does nothing and
 * returns -1, so a sequence of reads needs one check at its end. `where` prefixes names in
 * messages ("" or "optim/"). */
enum { H5IO_RANK_MAX = 4 };
typedef struct h5io_ctx { const char *path; char *err; size_t errlen; int bad; } h5io_ctx;
int h5io_fail(h5io_ctx *, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Releases each id that is >= 0. */
void h5io_close_ids(const hid_t *ids, int n);
/* A fixed-length, NUL-terminated string type of `bytes` bytes (NUL included); -1 on failure. */
hid_t h5io_str_type(size_t bytes);

/* rank 0: a scalar; rank 1: n values. ftype is the type in the file, mtype in memory. */
int h5io_put_attr(h5io_ctx *, hid_t loc, const char *name, hid_t ftype, hid_t mtype, int rank, hsize_t n,
                  const void *v);
int h5io_put_attr_str(h5io_ctx *, hid_t loc, const char *name, const char *s);
/* A chunked dataset (whole rows of dims[0] per chunk, at most 1 MiB), Fletcher-32 checksummed,
 * deflated at level `deflate` (0: not compressed), without time stamps. */
int h5io_put_data(h5io_ctx *, hid_t loc, const char *name, hid_t ftype, hid_t mtype, int rank,
                  const hsize_t *dims, const void *v, int deflate);

/* Reads an attribute of mtype's class: a scalar (rank 0) or exactly n values (rank 1); a string
 * must be fixed-length and fit mtype's size. */
int h5io_get_attr(h5io_ctx *, hid_t loc, const char *where, const char *name, hid_t mtype, int rank, hsize_t n,
                  void *v);
/* A fixed-length string attribute into out[outlen] (NUL included). */
int h5io_get_attr_str(h5io_ctx *, hid_t loc, const char *where, const char *name, char *out, size_t outlen);
/* Reads a dataset of mtype's class holding exactly n values. */
int h5io_get_data(h5io_ctx *, hid_t loc, const char *where, const char *name, hid_t mtype, size_t n, void *v);

#endif
