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
#include "base/h5io.h"

#define DS_H5_FORMAT "harness-dataset"
/* Deflate cannot shrink data more than 1032:1, so a chunked dataset occupying S bytes in the
 * file holds at most S * 1032 bytes: declared sizes beyond that are lies, refused before
 * allocating. */
enum { DS_DEFLATE_MAX_RATIO = 1032 };
enum { DS_H5_VERSION = 2, DS_H5_DEFLATE = 4, DS_H5_CHUNK_BYTES = 1 << 20 };
enum { NAME_LEN = sizeof(((ds_dataset *)0)->name), CLASS_LEN = sizeof(((ds_dataset *)0)->class_names[0]),
       FILE_LEN = sizeof(((ds_source *)0)->file) };

static void h5_close_all(hid_t *ids, int n) {
    for (int i = 0; i < n; i++)
        if (ids[i] >= 0) H5Idec_ref(ids[i]);
}

/* ------------------------------------------------------------------ saving */

static int put_attr(hid_t loc, const char *name, hid_t type, int rank, hsize_t count, const void *data) {
    hid_t space = rank == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &count, NULL);
    hid_t attr = space >= 0 ? H5Acreate2(loc, name, type, space, H5P_DEFAULT, H5P_DEFAULT) : -1;
    int rc = attr >= 0 && H5Awrite(attr, type, data) >= 0 ? 0 : -1;
    hid_t ids[] = {attr, space};
    h5_close_all(ids, 2);
    return rc;
}

static hid_t str_type(size_t len) {
    hid_t t = H5Tcopy(H5T_C_S1);
    if (t >= 0 && (H5Tset_size(t, len) < 0 || H5Tset_strpad(t, H5T_STR_NULLTERM) < 0)) {
        H5Tclose(t);
        return -1;
    }
    return t;
}

static int put_u8(hid_t group, const char *name, int rank, const hsize_t *dims, const uint8_t *data) {
    size_t per_item = 1;
    for (int i = 1; i < rank; i++) per_item *= (size_t)dims[i];
    hsize_t chunk[4];
    for (int i = 0; i < rank; i++) chunk[i] = dims[i];
    size_t items = DS_H5_CHUNK_BYTES / per_item;
    chunk[0] = items < 1 ? 1 : items < dims[0] ? items : dims[0];
    hid_t space = H5Screate_simple(rank, dims, NULL);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    int ok = space >= 0 && dcpl >= 0 && H5Pset_chunk(dcpl, rank, chunk) >= 0 && H5Pset_fletcher32(dcpl) >= 0 &&
             H5Pset_deflate(dcpl, DS_H5_DEFLATE) >= 0 && H5Pset_obj_track_times(dcpl, 0) >= 0;
    hid_t dset = ok ? H5Dcreate2(group, name, H5T_STD_U8LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT) : -1;
    int rc = dset >= 0 && H5Dwrite(dset, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0 ? 0 : -1;
    hid_t ids[] = {dset, dcpl, space};
    h5_close_all(ids, 3);
    return rc;
}

static int put_split(hid_t file, const char *gname, const ds_dataset *ds, const ds_split *s) {
    hid_t gcpl = H5Pcreate(H5P_GROUP_CREATE);
    hid_t g = gcpl >= 0 && H5Pset_obj_track_times(gcpl, 0) >= 0
                  ? H5Gcreate2(file, gname, H5P_DEFAULT, gcpl, H5P_DEFAULT) : -1;
    if (gcpl >= 0) H5Pclose(gcpl);
    if (g < 0) return -1;
    hsize_t idims[4] = {s->n, (hsize_t)ds->c, (hsize_t)ds->h, (hsize_t)ds->w}, ldims[1] = {s->n};
    int rc = put_u8(g, "images", 4, idims, s->images) || put_u8(g, "labels", 1, ldims, s->labels) ? -1 : 0;
    H5Gclose(g);
    return rc;
}

static int put_attrs(hid_t file, const ds_dataset *ds) {
    int rc = 0, version = DS_H5_VERSION;
    hid_t fmt = str_type(sizeof DS_H5_FORMAT), name = str_type(NAME_LEN), cls = str_type(CLASS_LEN),
          src = str_type(FILE_LEN);
    char files[DS_MAX_SOURCES][FILE_LEN];
    uint64_t bytes[DS_MAX_SOURCES];
    uint32_t crcs[DS_MAX_SOURCES];
    for (int i = 0; i < ds->n_sources; i++) {
        memcpy(files[i], ds->sources[i].file, FILE_LEN);
        bytes[i] = ds->sources[i].bytes;
        crcs[i] = ds->sources[i].crc32;
    }
    hsize_t ns = (hsize_t)ds->n_sources;
    if (fmt < 0 || name < 0 || cls < 0 || src < 0) rc = -1;
    rc = rc || put_attr(file, "format", fmt, 0, 1, DS_H5_FORMAT);
    rc = rc || put_attr(file, "format_version", H5T_NATIVE_INT, 0, 1, &version);
    rc = rc || put_attr(file, "name", name, 0, 1, ds->name);
    rc = rc || put_attr(file, "n_classes", H5T_NATIVE_INT, 0, 1, &ds->n_classes);
    rc = rc || put_attr(file, "class_names", cls, 1, (hsize_t)ds->n_classes, ds->class_names);
    rc = rc || put_attr(file, "mean", H5T_NATIVE_FLOAT, 1, (hsize_t)ds->c, ds->mean);
    rc = rc || put_attr(file, "std", H5T_NATIVE_FLOAT, 1, (hsize_t)ds->c, ds->std);
    rc = rc || put_attr(file, "source_files", src, 1, ns, files);
    rc = rc || put_attr(file, "source_bytes", H5T_NATIVE_UINT64, 1, ns, bytes);
    rc = rc || put_attr(file, "source_crc32", H5T_NATIVE_UINT32, 1, ns, crcs);
    hid_t ids[] = {fmt, name, cls, src};
    h5_close_all(ids, 4);
    return rc ? -1 : 0;
}

/* mkdir -p for the folder holding path. */
static int make_parent(const char *path, char *err, size_t errlen) {
    char dir[4096];
    if (snprintf(dir, sizeof dir, "%s", path) >= (int)sizeof dir)
        return ds_fail(err, errlen, "%s: path too long", path);
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir) return 0;
    *slash = 0;
    for (char *p = dir + 1; ; p++) {
        if (*p != '/' && *p != 0) continue;
        char keep = *p;
        *p = 0;
        if (mkdir(dir, 0777) != 0 && errno != EEXIST)
            return ds_fail(err, errlen, "%s: cannot create folder %s: %s", path, dir, strerror(errno));
        *p = keep;
        if (!keep) break;
    }
    return 0;
}

int ds_save_h5(const ds_dataset *ds, const char *path, char *err, size_t errlen) {
    if (ds->c < 1 || ds->c > DS_MAX_CHANNELS || ds->n_classes < 2 || ds->n_classes > DS_MAX_CLASSES ||
        ds->n_sources < 0 || ds->n_sources > DS_MAX_SOURCES || !ds->train.n || !ds->test.n)
        return ds_fail(err, errlen, "%s: dataset %s is incomplete (c=%d, n_classes=%d, train=%u, test=%u)",
                       path, ds->name, ds->c, ds->n_classes, ds->train.n, ds->test.n);
    if (make_parent(path, err, errlen)) return -1;
    char why[H5IO_REASON_MAX];
    h5io_quiet q = h5io_hush();
    h5io_writer w;
    int rc = h5io_create(&w, path, err, errlen);
    if (!rc && (put_attrs(w.file, ds) || put_split(w.file, "train", ds, &ds->train) ||
                put_split(w.file, "test", ds, &ds->test))) {
        rc = ds_fail(err, errlen, "%s: writing failed: %s", path, h5io_reason(why));
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
    const char *path;
    char *err;
    size_t errlen;
} h5_in;

/* Reads attribute `name` of count elements into buf as mem type; class is the expected type class. */
static int get_attr(h5_in *in, const char *name, H5T_class_t cls, hid_t mem, hssize_t count, int scalar, void *buf) {
    char why[H5IO_REASON_MAX];
    if (H5Aexists(in->file, name) <= 0)
        return ds_fail(in->err, in->errlen, "%s: attribute %s is missing", in->path, name);
    hid_t attr = H5Aopen(in->file, name, H5P_DEFAULT);
    hid_t type = attr >= 0 ? H5Aget_type(attr) : -1;
    hid_t space = attr >= 0 ? H5Aget_space(attr) : -1;
    int rc = 0;
    if (type < 0 || space < 0) {
        rc = ds_fail(in->err, in->errlen, "%s: attribute %s unreadable: %s", in->path, name, h5io_reason(why));
    } else if (H5Tget_class(type) != cls || (cls == H5T_STRING && H5Tis_variable_str(type) > 0)) {
        rc = ds_fail(in->err, in->errlen, "%s: attribute %s has the wrong type (expected %s)", in->path, name,
                     cls == H5T_STRING ? "fixed-length string" : cls == H5T_FLOAT ? "float" : "integer");
    } else if (H5Sget_simple_extent_npoints(space) != count ||
               (H5Sget_simple_extent_type(space) == H5S_SCALAR) != (scalar != 0)) {
        rc = ds_fail(in->err, in->errlen, "%s: attribute %s has %lld elements, expected %s%lld", in->path, name,
                     (long long)H5Sget_simple_extent_npoints(space), scalar ? "a scalar, " : "", (long long)count);
    } else if (cls == H5T_STRING && H5Tget_size(type) > H5Tget_size(mem)) {
        rc = ds_fail(in->err, in->errlen, "%s: attribute %s: strings of %zu bytes, at most %zu allowed", in->path,
                     name, H5Tget_size(type), H5Tget_size(mem));
    } else if (count > 0 && H5Aread(attr, mem, buf) < 0) {
        rc = ds_fail(in->err, in->errlen, "%s: attribute %s unreadable: %s", in->path, name, h5io_reason(why));
    }
    hid_t ids[] = {space, type, attr};
    h5_close_all(ids, 3);
    return rc;
}

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
        return ds_fail(in->err, in->errlen, "%s: %s is missing", in->path, where);
    hid_t dset = H5Dopen2(in->file, where, H5P_DEFAULT);
    hid_t type = dset >= 0 ? H5Dget_type(dset) : -1;
    hid_t space = dset >= 0 ? H5Dget_space(dset) : -1;
    int rc = 0;
    if (type < 0 || space < 0) {
        rc = ds_fail(in->err, in->errlen, "%s: %s unreadable: %s", in->path, where, h5io_reason(why));
    } else if (H5Tget_class(type) != H5T_INTEGER || H5Tget_size(type) != 1 || H5Tget_sign(type) != H5T_SGN_NONE) {
        rc = ds_fail(in->err, in->errlen, "%s: %s must hold uint8 values", in->path, where);
    } else if (H5Sget_simple_extent_ndims(space) != rank) {
        rc = ds_fail(in->err, in->errlen, "%s: %s has %d dimensions, expected %d", in->path, where,
                     H5Sget_simple_extent_ndims(space), rank);
    } else {
        H5Sget_simple_extent_dims(space, dims, NULL);
        *total = 1;
        for (int i = 0; i < rank && !rc; i++) {
            if (dims[i] == 0 || dims[i] > dim_cap(rank, i))
                rc = ds_fail(in->err, in->errlen, "%s: %s: dimension %d is %llu, allowed 1..%llu", in->path, where,
                             i, (unsigned long long)dims[i], (unsigned long long)dim_cap(rank, i));
            *total *= dims[i];   /* at most 2^32 * 4 * 4096 * 4096: no overflow */
        }
        uint64_t stored = H5Dget_storage_size(dset);
        if (!rc && (*total > SIZE_MAX || *total / DS_DEFLATE_MAX_RATIO > stored))
            rc = ds_fail(in->err, in->errlen, "%s: %s declares %llu bytes but holds %llu bytes of data in the file "
                         "(at most %llu once decompressed)", in->path, where, (unsigned long long)*total,
                         (unsigned long long)stored, (unsigned long long)stored * DS_DEFLATE_MAX_RATIO);
    }
    hid_t ids[] = {space, type};
    h5_close_all(ids, 2);
    if (rc && dset >= 0) H5Dclose(dset);
    return rc ? -1 : dset;
}

/* Reads the whole of dset (total bytes, checked by open_u8) and closes it. */
static int read_u8(h5_in *in, hid_t dset, const char *where, uint64_t total, uint8_t **out) {
    char why[H5IO_REASON_MAX];
    uint8_t *buf = malloc((size_t)total);
    int rc = 0;
    if (!buf)
        rc = ds_fail(in->err, in->errlen, "%s: %s: out of memory for %llu bytes", in->path, where,
                     (unsigned long long)total);
    else if (H5Dread(dset, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0)
        rc = ds_fail(in->err, in->errlen, "%s: %s cannot be read (file corrupted or truncated?): %s", in->path,
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
        rc = ds_fail(in->err, in->errlen, "%s: %s are %llux%llux%llu, the training images are %dx%dx%d", in->path,
                     where, (unsigned long long)idims[1], (unsigned long long)idims[2],
                     (unsigned long long)idims[3], ds->c, ds->h, ds->w);
    hid_t labels = rc ? -1 : open_u8(in, lwhere, 1, ldims, &lbytes);
    if (labels < 0) rc = -1;
    if (!rc && ldims[0] != idims[0])
        rc = ds_fail(in->err, in->errlen, "%s: %s has %llu labels for %llu images", in->path, lwhere,
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
    snprintf(what, sizeof what, "%s: %s", in->path, lwhere);
    return ds_check_labels(s, ds->n_classes, what, in->err, in->errlen);
}

static int get_all(h5_in *in, ds_dataset *ds) {
    char fmt[sizeof DS_H5_FORMAT + 16] = "";
    int version = 0;
    hid_t fmt_t = str_type(sizeof fmt), name_t = str_type(NAME_LEN), cls_t = str_type(CLASS_LEN),
          src_t = str_type(FILE_LEN);
    hid_t types[] = {fmt_t, name_t, cls_t, src_t};
    int rc = get_attr(in, "format", H5T_STRING, fmt_t, 1, 1, fmt);
    if (!rc && strcmp(fmt, DS_H5_FORMAT) != 0)
        rc = ds_fail(in->err, in->errlen, "%s: attribute format is \"%s\", expected \"%s\"", in->path, fmt, DS_H5_FORMAT);
    rc = rc || get_attr(in, "format_version", H5T_INTEGER, H5T_NATIVE_INT, 1, 1, &version);
    if (!rc && version != DS_H5_VERSION) {
        ds_fail(in->err, in->errlen, "%s: format_version %d, this build reads %d (prepare the dataset again)",
                in->path, version, DS_H5_VERSION);
        h5_close_all(types, 4);
        return DS_LOAD_OLD_FORMAT;
    }
    rc = rc || get_attr(in, "name", H5T_STRING, name_t, 1, 1, ds->name);
    rc = rc || get_attr(in, "n_classes", H5T_INTEGER, H5T_NATIVE_INT, 1, 1, &ds->n_classes);
    if (!rc && (ds->n_classes < 2 || ds->n_classes > DS_MAX_CLASSES))
        rc = ds_fail(in->err, in->errlen, "%s: attribute n_classes is %d, must be 2..%d", in->path, ds->n_classes,
                     DS_MAX_CLASSES);
    rc = rc || get_attr(in, "class_names", H5T_STRING, cls_t, ds->n_classes, 0, ds->class_names);
    rc = rc || get_split(in, ds, "train", &ds->train) || get_split(in, ds, "test", &ds->test);
    rc = rc || get_attr(in, "mean", H5T_FLOAT, H5T_NATIVE_FLOAT, ds->c, 0, ds->mean);
    rc = rc || get_attr(in, "std", H5T_FLOAT, H5T_NATIVE_FLOAT, ds->c, 0, ds->std);
    for (int c = 0; !rc && c < ds->c; c++)
        if (!isfinite(ds->mean[c]) || !isfinite(ds->std[c]) || ds->std[c] <= 0 || ds->mean[c] < 0 || ds->mean[c] > 1)
            rc = ds_fail(in->err, in->errlen, "%s: attribute mean/std of channel %d is %g/%g; need a finite mean in [0,1] "
                         "and std > 0", in->path, c, ds->mean[c], ds->std[c]);
    /* Sources: three parallel arrays of the same length. */
    if (!rc && H5Aexists(in->file, "source_files") > 0) {
        hid_t a = H5Aopen(in->file, "source_files", H5P_DEFAULT), sp = a >= 0 ? H5Aget_space(a) : -1;
        hssize_t ns = sp >= 0 ? H5Sget_simple_extent_npoints(sp) : -1;
        hid_t ids[] = {sp, a};
        h5_close_all(ids, 2);
        if (ns < 0 || ns > DS_MAX_SOURCES)
            rc = ds_fail(in->err, in->errlen, "%s: attribute source_files must list 0..%d files", in->path, DS_MAX_SOURCES);
        ds->n_sources = (int)ns;
    }
    char files[DS_MAX_SOURCES][FILE_LEN];
    uint64_t bytes[DS_MAX_SOURCES];
    uint32_t crcs[DS_MAX_SOURCES];
    rc = rc || get_attr(in, "source_files", H5T_STRING, src_t, ds->n_sources, 0, files);
    rc = rc || get_attr(in, "source_bytes", H5T_INTEGER, H5T_NATIVE_UINT64, ds->n_sources, 0, bytes);
    rc = rc || get_attr(in, "source_crc32", H5T_INTEGER, H5T_NATIVE_UINT32, ds->n_sources, 0, crcs);
    for (int i = 0; !rc && i < ds->n_sources; i++) {
        memcpy(ds->sources[i].file, files[i], FILE_LEN);
        ds->sources[i].file[FILE_LEN - 1] = 0;
        ds->sources[i].bytes = bytes[i];
        ds->sources[i].crc32 = crcs[i];
    }
    h5_close_all(types, 4);
    return rc;
}

int ds_load_h5(const char *path, ds_dataset *ds, char *err, size_t errlen) {
    memset(ds, 0, sizeof *ds);
    struct stat st;
    if (stat(path, &st) != 0 && errno == ENOENT)
        return ds_fail(err, errlen, "%s: no such file (prepare the dataset first)", path);
    h5io_quiet q = h5io_hush();
    h5_in in = {.file = -1, .path = path, .err = err, .errlen = errlen};
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
