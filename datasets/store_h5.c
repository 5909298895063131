/* HDF5 store, one file per dataset:
 *   /train/images  uint8 N x C x H x W  (chunked, deflate, fletcher32 so corruption is caught)
 *   /train/labels  uint8 N
 *   /test/images, /test/labels likewise
 *   root attributes: format, format_version, name, n_classes, class_names[n_classes], mean[C],
 *   std[C], source_files[S], source_bytes[S], source_crc32[S].
 * The file is sealed and written atomically (base/h5io.h): a reader never sees half a file,
 * and a file changed after it was written is refused by its checksum before HDF5 reads it. No
 * object timestamps are stored, so the same dataset always gives the same bytes. Loading checks
 * every field, and every declared size against the bytes the file holds before allocating, and
 * names the file and the field when something is wrong. */
#include <errno.h>
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "datasets/ds_internal.h"
#include "base/fileio.h"
#include "base/h5io.h"

#define DS_H5_FORMAT "harness-dataset"
/* Deflate cannot shrink data more than 1032:1, so a chunked dataset occupying S bytes in the
 * file holds at most S * 1032 bytes: declared sizes beyond that are lies, refused before
 * allocating. */
enum { DS_DEFLATE_MAX_RATIO = 1032 };
enum { DS_H5_VERSION = 2, DS_H5_DEFLATE = 4 };
enum { NAME_LEN = sizeof(((ds_dataset *)0)->name), CLASS_LEN = sizeof(((ds_dataset *)0)->class_names[0]),
       FILE_LEN = sizeof(((ds_source *)0)->file) };

/* ------------------------------------------------------------------ saving */

static int put_split(h5io_ctx *c, hid_t file, const char *gname, const ds_dataset *ds, const ds_split *s) {
    hid_t gcpl = H5Pcreate(H5P_GROUP_CREATE);
    hid_t g = gcpl >= 0 && H5Pset_obj_track_times(gcpl, 0) >= 0
                  ? H5Gcreate2(file, gname, H5P_DEFAULT, gcpl, H5P_DEFAULT) : -1;
    if (gcpl >= 0) H5Pclose(gcpl);
    char why[H5IO_REASON_MAX];
    if (g < 0) return h5io_fail(c, "cannot create group '%s': %s", gname, h5io_reason(why));
    hsize_t idims[4] = {s->n, (hsize_t)ds->c, (hsize_t)ds->h, (hsize_t)ds->w}, ldims[1] = {s->n};
    h5io_put_data(c, g, "images", H5T_STD_U8LE, H5T_NATIVE_UINT8, 4, idims, s->images, DS_H5_DEFLATE);
    h5io_put_data(c, g, "labels", H5T_STD_U8LE, H5T_NATIVE_UINT8, 1, ldims, s->labels, DS_H5_DEFLATE);
    int rc = c->bad ? -1 : 0;
    H5Gclose(g);
    return rc;
}

static int put_attrs(h5io_ctx *c, hid_t file, const ds_dataset *ds) {
    int version = DS_H5_VERSION;
    hid_t fmt = h5io_str_type(sizeof DS_H5_FORMAT), name = h5io_str_type(NAME_LEN), cls = h5io_str_type(CLASS_LEN),
          src = h5io_str_type(FILE_LEN);
    char files[DS_MAX_SOURCES][FILE_LEN];
    uint64_t bytes[DS_MAX_SOURCES];
    uint32_t crcs[DS_MAX_SOURCES];
    for (int i = 0; i < ds->n_sources; i++) {
        memcpy(files[i], ds->sources[i].file, FILE_LEN);
        bytes[i] = ds->sources[i].bytes;
        crcs[i] = ds->sources[i].crc32;
    }
    hsize_t ns = (hsize_t)ds->n_sources;
    const struct { const char *name; hid_t type; int rank; hsize_t n; const void *v; } attrs[] = {
        {"format", fmt, 0, 1, DS_H5_FORMAT},
        {"format_version", H5T_NATIVE_INT, 0, 1, &version},
        {"name", name, 0, 1, ds->name},
        {"n_classes", H5T_NATIVE_INT, 0, 1, &ds->n_classes},
        {"class_names", cls, 1, (hsize_t)ds->n_classes, ds->class_names},
        {"mean", H5T_NATIVE_FLOAT, 1, (hsize_t)ds->c, ds->mean},
        {"std", H5T_NATIVE_FLOAT, 1, (hsize_t)ds->c, ds->std},
        {"source_files", src, 1, ns, files},
        {"source_bytes", H5T_NATIVE_UINT64, 1, ns, bytes},
        {"source_crc32", H5T_NATIVE_UINT32, 1, ns, crcs},
    };
    for (size_t i = 0; i < sizeof attrs / sizeof attrs[0]; i++)
        h5io_put_attr(c, file, attrs[i].name, attrs[i].type, attrs[i].type, attrs[i].rank, attrs[i].n, attrs[i].v);
    const hid_t ids[] = {fmt, name, cls, src};
    h5io_close_ids(ids, 4);
    return c->bad ? -1 : 0;
}

int ds_save_h5(const ds_dataset *ds, const char *path, char *err, size_t errlen) {
    if (ds->c < 1 || ds->c > DS_MAX_CHANNELS || ds->n_classes < 2 || ds->n_classes > DS_MAX_CLASSES ||
        ds->n_sources < 0 || ds->n_sources > DS_MAX_SOURCES || !ds->train.n || !ds->test.n)
        return ds_fail(err, errlen, "%s: dataset %s is incomplete (c=%d, n_classes=%d, train=%u, test=%u)",
                       path, ds->name, ds->c, ds->n_classes, ds->train.n, ds->test.n);
    if (fio_mkdir_parent(path, err, errlen)) return -1;
    h5io_quiet q = h5io_hush();
    h5io_writer w;
    h5io_ctx c = {.path = path, .err = err, .errlen = errlen};
    int rc = h5io_create(&w, path, err, errlen);
    if (!rc && (put_attrs(&c, w.file, ds) || put_split(&c, w.file, "train", ds, &ds->train) ||
                put_split(&c, w.file, "test", ds, &ds->test))) {
        rc = -1;
        h5io_discard(&w);
    } else if (!rc) {
        rc = h5io_commit(&w, DS_H5_FORMAT, path, err, errlen);
    }
    h5io_unhush(q);
    return rc ? -1 : 0;
}

/* ------------------------------------------------------------------ loading */

typedef struct h5_in {
    hid_t file;
    h5io_ctx c;   /* path and error message */
} h5_in;

/* Largest value allowed for dimension i of an images (rank 4) or labels (rank 1) dataset. */
static uint64_t dim_cap(int rank, int i) {
    static const uint64_t image_caps[4] = {UINT32_MAX, DS_MAX_CHANNELS, DS_MAX_SIDE, DS_MAX_SIDE};
    return rank == 4 ? image_caps[i] : UINT32_MAX;
}

/* Opens where, checks it holds uint8 of the given rank, sane dimensions and enough bytes in the
 * file for them; dims gets its shape, *total its size in bytes. The open dataset, or -1. */
static hid_t open_u8(h5_in *in, const char *where, int rank, hsize_t *dims, uint64_t *total) {
    char why[H5IO_REASON_MAX];
    if (H5Lexists(in->file, where, H5P_DEFAULT) <= 0)
        return h5io_fail(&in->c, "%s is missing", where);
    hid_t dset = H5Dopen2(in->file, where, H5P_DEFAULT);
    hid_t type = dset >= 0 ? H5Dget_type(dset) : -1;
    hid_t space = dset >= 0 ? H5Dget_space(dset) : -1;
    int rc = 0;
    if (type < 0 || space < 0) {
        rc = h5io_fail(&in->c, "%s unreadable: %s", where, h5io_reason(why));
    } else if (H5Tget_class(type) != H5T_INTEGER || H5Tget_size(type) != 1 || H5Tget_sign(type) != H5T_SGN_NONE) {
        rc = h5io_fail(&in->c, "%s must hold uint8 values", where);
    } else if (H5Sget_simple_extent_ndims(space) != rank) {
        rc = h5io_fail(&in->c, "%s has %d dimensions, expected %d", where,
                     H5Sget_simple_extent_ndims(space), rank);
    } else {
        H5Sget_simple_extent_dims(space, dims, NULL);
        *total = 1;
        for (int i = 0; i < rank && !rc; i++) {
            if (dims[i] == 0 || dims[i] > dim_cap(rank, i))
                rc = h5io_fail(&in->c, "%s: dimension %d is %llu, allowed 1..%llu", where,
                             i, (unsigned long long)dims[i], (unsigned long long)dim_cap(rank, i));
            *total *= dims[i];   /* at most 2^32 * 4 * 4096 * 4096: no overflow */
        }
        uint64_t stored = H5Dget_storage_size(dset);
        if (!rc && (*total > SIZE_MAX || *total / DS_DEFLATE_MAX_RATIO > stored))
            rc = h5io_fail(&in->c, "%s declares %llu bytes but holds %llu bytes of data in the file "
                         "(at most %llu once decompressed)", where, (unsigned long long)*total,
                         (unsigned long long)stored, (unsigned long long)stored * DS_DEFLATE_MAX_RATIO);
    }
    const hid_t ids[] = {space, type};
    h5io_close_ids(ids, 2);
    if (rc && dset >= 0) H5Dclose(dset);
    return rc ? -1 : dset;
}

/* Reads the whole of dset (total bytes, checked by open_u8) and closes it. */
static int read_u8(h5_in *in, hid_t dset, const char *where, uint64_t total, uint8_t **out) {
    char why[H5IO_REASON_MAX];
    uint8_t *buf = malloc((size_t)total);
    int rc = 0;
    if (!buf)
        rc = h5io_fail(&in->c, "%s: out of memory for %llu bytes", where,
                     (unsigned long long)total);
    else if (H5Dread(dset, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0)
        rc = h5io_fail(&in->c, "%s cannot be read (file corrupted or truncated?): %s",
                     where, h5io_reason(why));
    H5Dclose(dset);
    if (rc) free(buf);
    else *out = buf;
    return rc;
}

/* Checks the shapes of /<gname>/images and labels against each other and the training images,
 * then reads them. */
static int get_split(h5_in *in, ds_dataset *ds, const char *gname, ds_split *s) {
    char where[32], lwhere[32];
    hsize_t idims[4], ldims[1];
    uint64_t ibytes, lbytes;
    snprintf(where, sizeof where, "/%s/images", gname);
    snprintf(lwhere, sizeof lwhere, "/%s/labels", gname);
    hid_t images = open_u8(in, where, 4, idims, &ibytes);
    if (images < 0) return -1;
    int rc = 0;
    if (ds->c != 0 && (idims[1] != (hsize_t)ds->c || idims[2] != (hsize_t)ds->h || idims[3] != (hsize_t)ds->w))
        rc = h5io_fail(&in->c, "%s are %llux%llux%llu, the training images are %dx%dx%d",
                     where, (unsigned long long)idims[1], (unsigned long long)idims[2],
                     (unsigned long long)idims[3], ds->c, ds->h, ds->w);
    hid_t labels = rc ? -1 : open_u8(in, lwhere, 1, ldims, &lbytes);
    if (labels < 0) rc = -1;
    if (!rc && ldims[0] != idims[0])
        rc = h5io_fail(&in->c, "%s has %llu labels for %llu images", lwhere,
                     (unsigned long long)ldims[0], (unsigned long long)idims[0]);
    if (rc) {
        H5Dclose(images);
        if (labels >= 0) H5Dclose(labels);
        return -1;
    }
    if (ds->c == 0) {
        ds->c = (int)idims[1];
        ds->h = (int)idims[2];
        ds->w = (int)idims[3];
    }
    rc = read_u8(in, images, where, ibytes, &s->images);
    if (rc) H5Dclose(labels);
    else rc = read_u8(in, labels, lwhere, lbytes, &s->labels);
    if (rc) return -1;
    s->n = (uint32_t)idims[0];
    char what[4200];
    snprintf(what, sizeof what, "%s: %s", in->c.path, lwhere);
    return ds_check_labels(s, ds->n_classes, what, in->c.err, in->c.errlen);
}

static int get_all(h5_in *in, ds_dataset *ds) {
    char fmt[sizeof DS_H5_FORMAT + 16] = "";
    int version = 0;
    hid_t fmt_t = h5io_str_type(sizeof fmt), name_t = h5io_str_type(NAME_LEN), cls_t = h5io_str_type(CLASS_LEN),
          src_t = h5io_str_type(FILE_LEN);
    const hid_t types[] = {fmt_t, name_t, cls_t, src_t};
    int rc = h5io_get_attr(&in->c, in->file, "", "format", fmt_t, 0, 1, fmt);
    if (!rc && strcmp(fmt, DS_H5_FORMAT) != 0)
        rc = h5io_fail(&in->c, "attribute format is \"%s\", expected \"%s\"", fmt, DS_H5_FORMAT);
    rc = rc || h5io_get_attr(&in->c, in->file, "", "format_version", H5T_NATIVE_INT, 0, 1, &version);
    if (!rc && version != DS_H5_VERSION) {
        h5io_fail(&in->c, "format_version %d, this build reads %d (prepare the dataset again)", version, DS_H5_VERSION);
        h5io_close_ids(types, 4);
        return DS_LOAD_OLD_FORMAT;
    }
    rc = rc || h5io_get_attr(&in->c, in->file, "", "name", name_t, 0, 1, ds->name);
    rc = rc || h5io_get_attr(&in->c, in->file, "", "n_classes", H5T_NATIVE_INT, 0, 1, &ds->n_classes);
    if (!rc && (ds->n_classes < 2 || ds->n_classes > DS_MAX_CLASSES))
        rc = h5io_fail(&in->c, "attribute n_classes is %d, must be 2..%d", ds->n_classes,
                     DS_MAX_CLASSES);
    rc = rc || h5io_get_attr(&in->c, in->file, "", "class_names", cls_t, 1, ds->n_classes, ds->class_names);
    rc = rc || get_split(in, ds, "train", &ds->train) || get_split(in, ds, "test", &ds->test);
    rc = rc || h5io_get_attr(&in->c, in->file, "", "mean", H5T_NATIVE_FLOAT, 1, ds->c, ds->mean);
    rc = rc || h5io_get_attr(&in->c, in->file, "", "std", H5T_NATIVE_FLOAT, 1, ds->c, ds->std);
    for (int c = 0; !rc && c < ds->c; c++)
        if (!isfinite(ds->mean[c]) || !isfinite(ds->std[c]) || ds->std[c] <= 0 || ds->mean[c] < 0 || ds->mean[c] > 1)
            rc = h5io_fail(&in->c, "attribute mean/std of channel %d is %g/%g; need a finite mean in [0,1] "
                         "and std > 0", c, ds->mean[c], ds->std[c]);
    /* Sources: three parallel arrays of the same length. */
    if (!rc && H5Aexists(in->file, "source_files") > 0) {
        hid_t a = H5Aopen(in->file, "source_files", H5P_DEFAULT), sp = a >= 0 ? H5Aget_space(a) : -1;
        hssize_t ns = sp >= 0 ? H5Sget_simple_extent_npoints(sp) : -1;
        const hid_t ids[] = {sp, a};
        h5io_close_ids(ids, 2);
        if (ns < 0 || ns > DS_MAX_SOURCES)
            rc = h5io_fail(&in->c, "attribute source_files must list 0..%d files", DS_MAX_SOURCES);
        ds->n_sources = (int)ns;
    }
    char files[DS_MAX_SOURCES][FILE_LEN];
    uint64_t bytes[DS_MAX_SOURCES];
    uint32_t crcs[DS_MAX_SOURCES];
    rc = rc || h5io_get_attr(&in->c, in->file, "", "source_files", src_t, 1, ds->n_sources, files);
    rc = rc || h5io_get_attr(&in->c, in->file, "", "source_bytes", H5T_NATIVE_UINT64, 1, ds->n_sources, bytes);
    rc = rc || h5io_get_attr(&in->c, in->file, "", "source_crc32", H5T_NATIVE_UINT32, 1, ds->n_sources, crcs);
    for (int i = 0; !rc && i < ds->n_sources; i++) {
        memcpy(ds->sources[i].file, files[i], FILE_LEN);
        ds->sources[i].file[FILE_LEN - 1] = 0;
        ds->sources[i].bytes = bytes[i];
        ds->sources[i].crc32 = crcs[i];
    }
    h5io_close_ids(types, 4);
    return rc;
}

int ds_load_h5(const char *path, ds_dataset *ds, char *err, size_t errlen) {
    memset(ds, 0, sizeof *ds);
    struct stat st;
    if (stat(path, &st) != 0 && errno == ENOENT)
        return ds_fail(err, errlen, "%s: no such file (prepare the dataset first)", path);
    h5io_quiet q = h5io_hush();
    h5_in in = {.file = -1, .c = {.path = path, .err = err, .errlen = errlen}};
    h5io_status s = h5io_open(path, DS_H5_FORMAT, &in.file, err, errlen);
    if (s == H5IO_UNSEALED) {
        size_t n = strlen(err);
        snprintf(err + n, errlen > n ? errlen - n : 0, "; prepare the dataset again (harness data NAME, or data "
                 "import) to rewrite it in this harness's format");
    }
    int rc = s == H5IO_OK ? get_all(&in, ds) : s == H5IO_UNSEALED ? DS_LOAD_OLD_FORMAT : -1;
    if (rc > 0) rc = -1;
    if (in.file >= 0) H5Fclose(in.file);
    H5Eclear2(H5E_DEFAULT);
    h5io_unhush(q);
    if (rc) ds_free(ds);
    return rc;
}
