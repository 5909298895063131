/* Attributes and datasets of the harness's HDF5 files, written and read with every check in
 * one place (see h5io.h): dataset stores and checkpoints share these. */
#include "base/h5io.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { CHUNK_BYTES = 1 << 20 };   /* checksummed units of at most 1 MiB */

int h5io_fail(h5io_ctx *c, const char *fmt, ...)
{
    if (c->bad) return -1;
    c->bad = 1;
    if (!c->err || !c->errlen) return -1;
    int k = snprintf(c->err, c->errlen, "%s: ", c->path);
    if (k < 0 || (size_t)k >= c->errlen) return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err + k, c->errlen - (size_t)k, fmt, ap);
    va_end(ap);
    return -1;
}

void h5io_close_ids(const hid_t *ids, int n)
{
    for (int i = 0; i < n; i++)
        if (ids[i] >= 0) H5Idec_ref(ids[i]);
}

hid_t h5io_str_type(size_t bytes)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    if (t >= 0 && (H5Tset_size(t, bytes) < 0 || H5Tset_strpad(t, H5T_STR_NULLTERM) < 0)) {
        H5Tclose(t);
        return -1;
    }
    return t;
}

static const char *class_name(H5T_class_t cls)
{
    return cls == H5T_STRING ? "fixed-length string" : cls == H5T_FLOAT ? "float" : "integer";
}

/* ---- writing ---------------------------------------------------------------------------- */

int h5io_put_attr(h5io_ctx *c, hid_t loc, const char *name, hid_t ftype, hid_t mtype, int rank, hsize_t n,
                  const void *v)
{
    if (c->bad) return -1;
    char why[H5IO_REASON_MAX];
    hid_t space = rank == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &n, NULL);
    hid_t a = space >= 0 && ftype >= 0 ? H5Acreate2(loc, name, ftype, space, H5P_DEFAULT, H5P_DEFAULT) : -1;
    int ok = a >= 0 && H5Awrite(a, mtype, v) >= 0;
    const hid_t ids[] = {a, space};
    h5io_close_ids(ids, 2);
    return ok ? 0 : h5io_fail(c, "cannot write attribute '%s': %s", name, h5io_reason(why));
}

int h5io_put_attr_str(h5io_ctx *c, hid_t loc, const char *name, const char *s)
{
    hid_t t = h5io_str_type(strlen(s) + 1);
    int rc = h5io_put_attr(c, loc, name, t, t, 0, 1, s);
    if (t >= 0) H5Tclose(t);
    return rc;
}

int h5io_put_data(h5io_ctx *c, hid_t loc, const char *name, hid_t ftype, hid_t mtype, int rank,
                  const hsize_t *dims, const void *v, int deflate)
{
    if (c->bad) return -1;
    if (rank < 1 || rank > H5IO_RANK_MAX) return h5io_fail(c, "dataset '%s': rank %d is not 1..%d", name, rank, H5IO_RANK_MAX);
    char why[H5IO_REASON_MAX];
    hsize_t n = 1, chunk[H5IO_RANK_MAX];
    for (int i = 0; i < rank; i++) { n *= dims[i]; chunk[i] = dims[i]; }
    hid_t space = H5Screate_simple(rank, dims, NULL), dcpl = H5Pcreate(H5P_DATASET_CREATE);
    int ok = space >= 0 && dcpl >= 0 && H5Pset_obj_track_times(dcpl, 0) >= 0;   /* same content, same bytes */
    if (ok && n > 0) {
        /* Whole rows of the leading dimension per chunk, at most CHUNK_BYTES. */
        hsize_t row = n / dims[0] * H5Tget_size(ftype), rows = CHUNK_BYTES / (row ? row : 1);
        chunk[0] = rows < 1 ? 1 : rows < dims[0] ? rows : dims[0];
        ok = H5Pset_chunk(dcpl, rank, chunk) >= 0 && H5Pset_fletcher32(dcpl) >= 0 &&
             (deflate <= 0 || H5Pset_deflate(dcpl, (unsigned)deflate) >= 0);
    }
    hid_t ds = ok ? H5Dcreate2(loc, name, ftype, space, H5P_DEFAULT, dcpl, H5P_DEFAULT) : -1;
    ok = ds >= 0 && (n == 0 || H5Dwrite(ds, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) >= 0);
    const hid_t ids[] = {ds, dcpl, space};
    h5io_close_ids(ids, 3);
    return ok ? 0 : h5io_fail(c, "cannot write dataset '%s': %s", name, h5io_reason(why));
}

/* ---- reading ---------------------------------------------------------------------------- */

int h5io_get_attr(h5io_ctx *c, hid_t loc, const char *where, const char *name, hid_t mtype, int rank, hsize_t n,
                  void *v)
{
    if (c->bad) return -1;
    char why[H5IO_REASON_MAX];
    if (H5Aexists(loc, name) <= 0) return h5io_fail(c, "attribute %s%s is missing", where, name);
    H5T_class_t cls = H5Tget_class(mtype);
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
    hid_t type = a >= 0 ? H5Aget_type(a) : -1, space = a >= 0 ? H5Aget_space(a) : -1;
    hsize_t want = rank == 0 ? 1 : n;
    if (type < 0 || space < 0) {
        h5io_fail(c, "attribute %s%s unreadable: %s", where, name, h5io_reason(why));
    } else if (H5Tget_class(type) != cls || (cls == H5T_STRING && H5Tis_variable_str(type) > 0)) {
        h5io_fail(c, "attribute %s%s has the wrong type (expected %s)", where, name, class_name(cls));
    } else if (H5Sget_simple_extent_npoints(space) != (hssize_t)want ||
               (H5Sget_simple_extent_type(space) == H5S_SCALAR) != (rank == 0)) {
        h5io_fail(c, "attribute %s%s has %lld values, expected %s%llu", where, name,
                  (long long)H5Sget_simple_extent_npoints(space), rank == 0 ? "a scalar, " : "",
                  (unsigned long long)want);
    } else if (cls == H5T_STRING && H5Tget_size(type) > H5Tget_size(mtype)) {
        h5io_fail(c, "attribute %s%s: strings of %zu bytes, at most %zu allowed", where, name, H5Tget_size(type),
                  H5Tget_size(mtype));
    } else if (want > 0 && H5Aread(a, mtype, v) < 0) {
        h5io_fail(c, "attribute %s%s unreadable: %s", where, name, h5io_reason(why));
    }
    const hid_t ids[] = {space, type, a};
    h5io_close_ids(ids, 3);
    return c->bad ? -1 : 0;
}

int h5io_get_attr_str(h5io_ctx *c, hid_t loc, const char *where, const char *name, char *out, size_t outlen)
{
    hid_t t = h5io_str_type(outlen);
    if (t < 0) return h5io_fail(c, "attribute %s%s: cannot make a string type", where, name);
    int rc = h5io_get_attr(c, loc, where, name, t, 0, 1, out);
    H5Tclose(t);
    if (rc == 0) out[outlen - 1] = '\0';
    return rc;
}

int h5io_get_data(h5io_ctx *c, hid_t loc, const char *where, const char *name, hid_t mtype, size_t n, void *v)
{
    if (c->bad) return -1;
    if (H5Lexists(loc, name, H5P_DEFAULT) <= 0) return h5io_fail(c, "%s%s: missing dataset", where, name);
    H5T_class_t cls = H5Tget_class(mtype);
    hid_t ds = H5Dopen2(loc, name, H5P_DEFAULT);
    hid_t ft = ds < 0 ? -1 : H5Dget_type(ds), space = ds < 0 ? -1 : H5Dget_space(ds);
    hssize_t got = space < 0 ? -1 : H5Sget_simple_extent_npoints(space);
    char why[H5IO_REASON_MAX];
    if (ds < 0 || ft < 0 || space < 0)
        h5io_fail(c, "%s%s: dataset cannot be opened (%s)", where, name, h5io_reason(why));
    else if (H5Tget_class(ft) != cls)
        h5io_fail(c, "%s%s: dataset has the wrong type (expected %s)", where, name, class_name(cls));
    else if (got != (hssize_t)n)
        h5io_fail(c, "%s%s: dataset has %lld values, expected %zu", where, name, (long long)got, n);
    else if (n && H5Dread(ds, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) < 0)
        h5io_fail(c, "%s%s: data is damaged (%s)", where, name, h5io_reason(why));
    const hid_t ids[] = {space, ft, ds};
    h5io_close_ids(ids, 3);
    return c->bad ? -1 : 0;
}
