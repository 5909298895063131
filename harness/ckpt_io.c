/* The HDF5 reading and writing steps of model files (harness/checkpoint.c, ckpt_graph.c). */
#include "harness/ckpt_io.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/h5io.h"

enum { CHUNK_MAX = 1 << 20 };   /* elements per chunk: checksummed units of about 4 MB */

/* ---- error context ---------------------------------------------------------------------- */


/* Records the first failure as "<path>: <message>". Returns -1 for convenience. */
int ck_fail(ck *c, const char *fmt, ...)
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


int ck_check_ranges(ck *c, const ck_range *r, int n)
{
    for (int i = 0; i < n && !c->bad; i++)
        if (r[i].v < r[i].lo || r[i].v > r[i].hi)
            return ck_fail(c, "%s: %lld is out of range (allowed %lld..%lld)", r[i].what, r[i].v, r[i].lo, r[i].hi);
    return c->bad ? -1 : 0;
}

/* ---- writing ---------------------------------------------------------------------------- */

void ck_put_data(ck *c, hid_t loc, const char *name, hid_t ftype, hid_t mtype, int rank,
                     const hsize_t *dims, const void *data)
{
    if (c->bad) return;
    hsize_t n = 1, chunk[4];
    assert(rank >= 1 && rank <= 4);
    for (int i = 0; i < rank; i++) { n *= dims[i]; chunk[i] = dims[i]; }
    hid_t space = H5Screate_simple(rank, dims, NULL);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    if (n > 0) {
        /* Whole rows of the leading dimension per chunk, at most CHUNK_MAX elements. */
        hsize_t row = n / dims[0], rows = CHUNK_MAX / row;
        chunk[0] = rows < 1 ? 1 : rows < dims[0] ? rows : dims[0];
        H5Pset_chunk(dcpl, rank, chunk);
        H5Pset_fletcher32(dcpl);
    }
    hid_t ds = H5Dcreate2(loc, name, ftype, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    herr_t rc = ds < 0 ? -1 : n ? H5Dwrite(ds, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) : 0;
    if (ds >= 0) H5Dclose(ds);
    H5Pclose(dcpl);
    H5Sclose(space);
    if (rc < 0) ck_fail(c, "cannot write dataset '%s'", name);
}

void ck_put_floats(ck *c, hid_t loc, const char *name, const float *v, size_t n)
{
    hsize_t dims[1] = {n};
    ck_put_data(c, loc, name, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 1, dims, v);
}

void ck_put_bytes(ck *c, hid_t loc, const char *name, const uint8_t *v, size_t n)
{
    hsize_t dims[1] = {n};
    ck_put_data(c, loc, name, H5T_STD_U8LE, H5T_NATIVE_UINT8, 1, dims, v);
}

/* n = 0: a scalar attribute. */
void ck_put_attr(ck *c, hid_t loc, const char *name, hid_t ftype, hid_t mtype, hsize_t n,
                     const void *v)
{
    if (c->bad) return;
    hid_t space = n ? H5Screate_simple(1, &n, NULL) : H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(loc, name, ftype, space, H5P_DEFAULT, H5P_DEFAULT);
    herr_t rc = a < 0 ? -1 : H5Awrite(a, mtype, v);
    if (a >= 0) H5Aclose(a);
    H5Sclose(space);
    if (rc < 0) ck_fail(c, "cannot write attribute '%s'", name);
}

void ck_put_i64(ck *c, hid_t loc, const char *name, long long v)
{
    ck_put_attr(c, loc, name, H5T_STD_I64LE, H5T_NATIVE_LLONG, 0, &v);
}

void ck_put_f64(ck *c, hid_t loc, const char *name, double v)
{
    ck_put_attr(c, loc, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 0, &v);
}

hid_t ck_str_type(size_t len)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, len + 1);
    H5Tset_strpad(t, H5T_STR_NULLTERM);
    return t;
}

void ck_put_attr_str(ck *c, hid_t loc, const char *name, const char *s)
{
    hid_t t = ck_str_type(strlen(s));
    ck_put_attr(c, loc, name, t, t, 0, s);
    H5Tclose(t);
}

/* A scalar string dataset (no 64 KB limit, unlike attributes). */
void ck_put_str_data(ck *c, hid_t loc, const char *name, const char *s)
{
    if (c->bad) return;
    hid_t t = ck_str_type(strlen(s)), space = H5Screate(H5S_SCALAR);
    hid_t ds = H5Dcreate2(loc, name, t, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    herr_t rc = ds < 0 ? -1 : H5Dwrite(ds, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, s);
    if (ds >= 0) H5Dclose(ds);
    H5Sclose(space);
    H5Tclose(t);
    if (rc < 0) ck_fail(c, "cannot write dataset '%s'", name);
}

hid_t ck_put_group(ck *c, hid_t loc, const char *name)
{
    if (c->bad) return -1;
    hid_t g = H5Gcreate2(loc, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (g < 0) ck_fail(c, "cannot create group '%s'", name);
    return g;
}

void ck_close_group(hid_t g) { if (g >= 0) H5Gclose(g); }

/* ---- reading ---------------------------------------------------------------------------- */

/* Reads attribute `name` of loc (shown as where+name) holding n values (0 = scalar). */
int ck_get_attr(ck *c, hid_t loc, const char *where, const char *name, hid_t mtype,
                    hsize_t n, void *v)
{
    if (c->bad) return -1;
    if (H5Aexists(loc, name) <= 0) return ck_fail(c, "%s%s: missing attribute", where, name);
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
    hid_t space = a < 0 ? -1 : H5Aget_space(a);
    hssize_t got = space < 0 ? -1 : H5Sget_simple_extent_npoints(space);
    int rc = 0;
    if (got != (hssize_t)(n ? n : 1))
        rc = ck_fail(c, "%s%s: attribute has %lld values, expected %llu", where, name,
                     (long long)got, (unsigned long long)(n ? n : 1));
    else if (H5Aread(a, mtype, v) < 0)
        rc = ck_fail(c, "%s%s: attribute cannot be read", where, name);
    if (space >= 0) H5Sclose(space);
    if (a >= 0) H5Aclose(a);
    return rc;
}

int ck_get_i64(ck *c, hid_t loc, const char *where, const char *name, long long *v)
{
    return ck_get_attr(c, loc, where, name, H5T_NATIVE_LLONG, 0, v);
}

/* A fixed-length string attribute that must fit out[outlen] (NUL included). */
int ck_get_attr_str(ck *c, hid_t loc, const char *name, char *out, size_t outlen)
{
    if (c->bad) return -1;
    if (H5Aexists(loc, name) <= 0) return ck_fail(c, "%s: missing attribute", name);
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
    hid_t ft = a < 0 ? -1 : H5Aget_type(a);
    int rc = 0;
    if (ft < 0 || H5Tget_class(ft) != H5T_STRING || H5Tis_variable_str(ft) > 0) {
        rc = ck_fail(c, "%s: expected a fixed-length string attribute", name);
    } else {
        size_t size = H5Tget_size(ft);
        char *buf = calloc(1, size + 1);
        hid_t mt = H5Tcopy(ft);
        if (!buf || H5Aread(a, mt, buf) < 0) rc = ck_fail(c, "%s: attribute cannot be read", name);
        else if (strlen(buf) >= outlen) rc = ck_fail(c, "%s: '%s' is longer than %zu characters", name, buf, outlen - 1);
        else memcpy(out, buf, strlen(buf) + 1);
        H5Tclose(mt);
        free(buf);
    }
    if (ft >= 0) H5Tclose(ft);
    if (a >= 0) H5Aclose(a);
    return rc;
}

char *ck_get_str_data(ck *c, hid_t loc, const char *name)
{
    if (c->bad) return NULL;
    if (H5Lexists(loc, name, H5P_DEFAULT) <= 0) { ck_fail(c, "%s: missing dataset", name); return NULL; }
    hid_t ds = H5Dopen2(loc, name, H5P_DEFAULT);
    hid_t ft = ds < 0 ? -1 : H5Dget_type(ds);
    char *buf = NULL;
    if (ft < 0 || H5Tget_class(ft) != H5T_STRING || H5Tis_variable_str(ft) > 0) {
        ck_fail(c, "%s: expected a fixed-length string dataset", name);
    } else {
        hid_t mt = H5Tcopy(ft);
        buf = calloc(1, H5Tget_size(ft) + 1);
        if (!buf || H5Dread(ds, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) {
            ck_fail(c, "%s: dataset cannot be read", name);
            free(buf);
            buf = NULL;
        }
        H5Tclose(mt);
    }
    if (ft >= 0) H5Tclose(ft);
    if (ds >= 0) H5Dclose(ds);
    return buf;
}

/* Reads dataset `name` (of class cls) holding exactly n values into buf. */
int ck_get_data(ck *c, hid_t loc, const char *where, const char *name, hid_t mtype,
                    H5T_class_t cls, size_t n, void *buf)
{
    if (c->bad) return -1;
    if (H5Lexists(loc, name, H5P_DEFAULT) <= 0) return ck_fail(c, "%s%s: missing dataset", where, name);
    hid_t ds = H5Dopen2(loc, name, H5P_DEFAULT);
    hid_t ft = ds < 0 ? -1 : H5Dget_type(ds), space = ds < 0 ? -1 : H5Dget_space(ds);
    hssize_t got = space < 0 ? -1 : H5Sget_simple_extent_npoints(space);
    char why[H5IO_REASON_MAX];
    int rc = 0;
    if (ds < 0 || ft < 0 || space < 0)
        rc = ck_fail(c, "%s%s: dataset cannot be opened (%s)", where, name, h5io_reason(why));
    else if (H5Tget_class(ft) != cls)
        rc = ck_fail(c, "%s%s: dataset has the wrong type (expected %s)", where, name,
                     cls == H5T_FLOAT ? "float" : "integer");
    else if (got != (hssize_t)n)
        rc = ck_fail(c, "%s%s: dataset has %lld values, expected %zu", where, name, (long long)got, n);
    else if (n && H5Dread(ds, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0)
        rc = ck_fail(c, "%s%s: data is damaged (%s)", where, name, h5io_reason(why));
    if (space >= 0) H5Sclose(space);
    if (ft >= 0) H5Tclose(ft);
    if (ds >= 0) H5Dclose(ds);
    return rc;
}

