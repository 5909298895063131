/* The steps model files are written and read with (harness/checkpoint.c and ckpt_graph.c):
 * one error context per file that keeps the first failure as "<file>: <field>: <problem>",
 * chunked, Fletcher-32-checksummed datasets, scalar and small-array attributes, and readers that
 * check each stored object's type and count before reading it. Every step does nothing once
 * the context has failed, so a sequence of them needs one check at its end. Internal to harness/. */
#ifndef HARNESS_CKPT_IO_H
#define HARNESS_CKPT_IO_H
#include <hdf5.h>
#include <stddef.h>
#include <stdint.h>

typedef struct { const char *path; char *err; size_t errlen; int bad; } ck;

/* Records the first failure as "<path>: <message>". Returns -1 for convenience. */
int ck_fail(ck *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A stored integer and the values it may take. */
typedef struct { const char *what; long long v, lo, hi; } ck_range;
int ck_check_ranges(ck *c, const ck_range *r, int n);

/* ---- writing ---- */
void ck_put_data(ck *c, hid_t loc, const char *name, hid_t ftype, hid_t mtype, int rank,
                 const hsize_t *dims, const void *data);
void ck_put_floats(ck *c, hid_t loc, const char *name, const float *v, size_t n);
void ck_put_bytes(ck *c, hid_t loc, const char *name, const uint8_t *v, size_t n);
void ck_put_attr(ck *c, hid_t loc, const char *name, hid_t ftype, hid_t mtype, hsize_t n, const void *v);
void ck_put_i64(ck *c, hid_t loc, const char *name, long long v);
void ck_put_f64(ck *c, hid_t loc, const char *name, double v);
hid_t ck_str_type(size_t len);
void ck_put_attr_str(ck *c, hid_t loc, const char *name, const char *s);
void ck_put_str_data(ck *c, hid_t loc, const char *name, const char *s);
hid_t ck_put_group(ck *c, hid_t loc, const char *name);
void ck_close_group(hid_t g);

/* ---- reading: `where` prefixes the name in messages ("optim/") ---- */
int ck_get_attr(ck *c, hid_t loc, const char *where, const char *name, hid_t mtype, hsize_t n, void *v);
int ck_get_i64(ck *c, hid_t loc, const char *where, const char *name, long long *v);
int ck_get_attr_str(ck *c, hid_t loc, const char *name, char *out, size_t outlen);
char *ck_get_str_data(ck *c, hid_t loc, const char *name);
/* Dataset `name` of class cls holding exactly n values, into buf. */
int ck_get_data(ck *c, hid_t loc, const char *where, const char *name, hid_t mtype, H5T_class_t cls,
                size_t n, void *buf);

#endif
