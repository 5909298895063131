/* The checkpoint's shorthands over base/h5io.h (see ckpt_io.h). */
#include "harness/ckpt_io.h"

#include <stdlib.h>
#include <string.h>

#include "datasets/dataset.h"

int ck_check_ranges(ck *c, const ck_range *r, int n)
{
    for (int i = 0; i < n && !c->bad; i++)
        if (r[i].v < r[i].lo || r[i].v > r[i].hi)
            return ck_fail(c, "%s: %lld is out of range (allowed %lld..%lld)", r[i].what, r[i].v, r[i].lo, r[i].hi);
    return c->bad ? -1 : 0;
}

int ck_get_header(ck *c, hid_t file, const char *format, long long v_lo, long long v_hi, double params_per_byte,
                  const ckpt_expect *expect, ck_header *h)
{
    memset(h, 0, sizeof *h);
    char got[32] = "";
    long long n_classes = 0, n_params = 0, n_state = 0;
    int dims[3] = {0, 0, 0};
    if (c->bad) return -1;
    if (H5Aexists(file, "format") <= 0) return ck_fail(c, "format: missing attribute (not a %s file)", format);
    if (h5io_get_attr_str(c, file, "", "format", got, sizeof got) != 0) return -1;
    if (strcmp(got, format)) return ck_fail(c, "format: '%s' is not '%s'", got, format);
    ck_get_i64(c, file, "", "version", &h->version);
    const ck_range version = {"version", h->version, v_lo, v_hi};
    if (ck_check_ranges(c, &version, 1) != 0) return -1;
    h5io_get_attr_str(c, file, "", "arch", h->arch, sizeof h->arch);
    h5io_get_attr(c, file, "", "in_dims", H5T_NATIVE_INT, 1, 3, dims);
    ck_get_i64(c, file, "", "n_classes", &n_classes);
    ck_get_i64(c, file, "", "n_params", &n_params);
    ck_get_i64(c, file, "", "n_state", &n_state);
    if (!c->bad && H5Fget_filesize(file, &h->file_bytes) < 0) ck_fail(c, "cannot tell the file's size");
    /* everything the model's size follows from, bounded by what a file of this size can hold */
    const double bytes = (double)h->file_bytes;
    const ck_range shape[] = {
        {"in_dims[0] (channels)", dims[0], 1, DS_MAX_CHANNELS}, {"in_dims[1] (height)", dims[1], 1, CKPT_MAX_SIDE},
        {"in_dims[2] (width)", dims[2], 1, CKPT_MAX_SIDE}, {"n_classes", n_classes, 2, DS_MAX_CLASSES},
        {"n_params", n_params, 1, (long long)(params_per_byte * bytes)},
        {"n_state", n_state, 0, (long long)(bytes / sizeof(float))},
    };
    if (c->bad || ck_check_ranges(c, shape, (int)(sizeof shape / sizeof shape[0])) != 0) return -1;
    if (expect && (dims[0] != expect->in_dims.c || dims[1] != expect->in_dims.h || dims[2] != expect->in_dims.w ||
                   n_classes != expect->n_classes))
        return ck_fail(c, "in_dims: a model of %dx%dx%d inputs and %lld classes, the data has %dx%dx%d and %d",
                       dims[0], dims[1], dims[2], n_classes, expect->in_dims.c, expect->in_dims.h, expect->in_dims.w,
                       expect->n_classes);
    h->in = (nn_dims){dims[0], dims[1], dims[2]};
    h->n_classes = (int)n_classes;
    h->n_params = (size_t)n_params;
    h->n_state = (size_t)n_state;
    return 0;
}

void ck_put_header(ck *c, hid_t file, const char *format, long long version, const nn_model *m)
{
    int dims[3] = {m->in_dims.c, m->in_dims.h, m->in_dims.w};
    h5io_put_attr_str(c, file, "format", format);
    ck_put_i64(c, file, "version", version);
    h5io_put_attr_str(c, file, "arch", m->arch);
    h5io_put_attr(c, file, "in_dims", H5T_STD_I32LE, H5T_NATIVE_INT, 1, 3, dims);
    ck_put_i64(c, file, "n_classes", m->n_classes);
    ck_put_i64(c, file, "n_params", (long long)m->n_params);
    ck_put_i64(c, file, "n_state", (long long)m->n_state);
}

void ck_put_floats(ck *c, hid_t loc, const char *name, const float *v, size_t n)
{
    hsize_t dims[1] = {n};
    h5io_put_data(c, loc, name, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 1, dims, v, 0);
}

void ck_put_bytes(ck *c, hid_t loc, const char *name, const uint8_t *v, size_t n)
{
    hsize_t dims[1] = {n};
    h5io_put_data(c, loc, name, H5T_STD_U8LE, H5T_NATIVE_UINT8, 1, dims, v, 0);
}

void ck_put_i64(ck *c, hid_t loc, const char *name, long long v)
{
    h5io_put_attr(c, loc, name, H5T_STD_I64LE, H5T_NATIVE_LLONG, 0, 1, &v);
}

void ck_put_f64(ck *c, hid_t loc, const char *name, double v)
{
    h5io_put_attr(c, loc, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 0, 1, &v);
}

void ck_put_str_data(ck *c, hid_t loc, const char *name, const char *s)
{
    if (c->bad) return;
    hid_t t = h5io_str_type(strlen(s) + 1), space = H5Screate(H5S_SCALAR);
    hid_t ds = H5Dcreate2(loc, name, t, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    herr_t rc = ds < 0 ? -1 : H5Dwrite(ds, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, s);
    const hid_t ids[] = {ds, space, t};
    h5io_close_ids(ids, 3);
    if (rc < 0) ck_fail(c, "cannot write dataset '%s'", name);
}

hid_t ck_put_group(ck *c, hid_t loc, const char *name)
{
    if (c->bad) return -1;
    /* No time stamps (as h5io's datasets and root group): the same content gives the same bytes. */
    hid_t gcpl = H5Pcreate(H5P_GROUP_CREATE);
    hid_t g = gcpl >= 0 && H5Pset_obj_track_times(gcpl, 0) >= 0 ? H5Gcreate2(loc, name, H5P_DEFAULT, gcpl, H5P_DEFAULT) : -1;
    if (gcpl >= 0) H5Pclose(gcpl);
    if (g < 0) ck_fail(c, "cannot create group '%s'", name);
    return g;
}

void ck_close_group(hid_t g) { if (g >= 0) H5Gclose(g); }

int ck_get_i64(ck *c, hid_t loc, const char *where, const char *name, long long *v)
{
    return h5io_get_attr(c, loc, where, name, H5T_NATIVE_LLONG, 0, 1, v);
}

char *ck_get_str_data(ck *c, hid_t loc, const char *name, uint64_t max_bytes)
{
    if (c->bad) return NULL;
    if (H5Lexists(loc, name, H5P_DEFAULT) <= 0) { ck_fail(c, "%s: missing dataset", name); return NULL; }
    hid_t ds = H5Dopen2(loc, name, H5P_DEFAULT);
    hid_t ft = ds < 0 ? -1 : H5Dget_type(ds), space = ds < 0 ? -1 : H5Dget_space(ds);
    size_t size = ft < 0 ? 0 : H5Tget_size(ft);
    char *buf = NULL;
    if (ft < 0 || space < 0 || H5Tget_class(ft) != H5T_STRING || H5Tis_variable_str(ft) > 0 ||
        H5Sget_simple_extent_type(space) != H5S_SCALAR) {
        ck_fail(c, "%s: expected one fixed-length string", name);
    } else if (size > max_bytes) {
        ck_fail(c, "%s: a string of %zu bytes in a file of %llu", name, size, (unsigned long long)max_bytes);
    } else {
        buf = calloc(1, size + 1);
        if (!buf || H5Dread(ds, ft, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) {
            ck_fail(c, "%s: dataset cannot be read", name);
            free(buf);
            buf = NULL;
        }
    }
    const hid_t ids[] = {space, ft, ds};
    h5io_close_ids(ids, 3);
    return buf;
}
