/* The checkpoint's own shorthands over base/h5io.h, shared by harness/checkpoint.c and
 * ckpt_graph.c: 64-bit integer and double attributes, float and byte vectors, groups, range
 * checks and the state-JSON string. Every step does nothing once the context has failed, so a
 * sequence of them needs one check at its end. Internal to harness/. */
#ifndef HARNESS_CKPT_IO_H
#define HARNESS_CKPT_IO_H
#include <hdf5.h>
#include <stddef.h>
#include <stdint.h>

#include "base/h5io.h"
#include "harness/checkpoint.h"

/* Failures: the first one wins, as "<path>: <message>". */
typedef h5io_ctx ck;
#define ck_fail h5io_fail

/* A stored integer and the values it may take. */
typedef struct { const char *what; long long v, lo, hi; } ck_range;
int ck_check_ranges(ck *c, const ck_range *r, int n);

/* What every model file (checkpoint, packed model) states at its root, read and range-checked
 * before anything is allocated from it. */
typedef struct {
    long long version;
    char arch[NN_NAME_MAX];
    nn_dims in;
    int n_classes;
    size_t n_params, n_state;
    hsize_t file_bytes;
} ck_header;

/* Reads the root attributes: format (must be `format`), version (v_lo..v_hi), arch, in_dims,
 * n_classes, n_params (at most params_per_byte x the file's size: 0.25 for raw float32, more for
 * packed codes), n_state (raw float32); given expect, in_dims and n_classes must be the data's.
 * 0, or -1 with the first failure in c. */
int ck_get_header(ck *c, hid_t file, const char *format, long long v_lo, long long v_hi, double params_per_byte,
                  const ckpt_expect *expect, ck_header *h);

/* ---- writing ---- */
/* The root attributes ck_get_header reads, for model m. */
void ck_put_header(ck *c, hid_t file, const char *format, long long version, const nn_model *m);
void ck_put_floats(ck *c, hid_t loc, const char *name, const float *v, size_t n);
void ck_put_bytes(ck *c, hid_t loc, const char *name, const uint8_t *v, size_t n);
void ck_put_i64(ck *c, hid_t loc, const char *name, long long v);
void ck_put_f64(ck *c, hid_t loc, const char *name, double v);
/* A scalar string dataset (no 64 KB limit, unlike attributes). */
void ck_put_str_data(ck *c, hid_t loc, const char *name, const char *s);
hid_t ck_put_group(ck *c, hid_t loc, const char *name);
void ck_close_group(hid_t g);

/* ---- reading: `where` prefixes the name in messages ("optim/") ---- */
int ck_get_i64(ck *c, hid_t loc, const char *where, const char *name, long long *v);
/* A scalar fixed-length string dataset of at most max_bytes bytes (the file's size: a string
 * without filters cannot be longer than the file holding it); malloc'd, NULL on failure. */
char *ck_get_str_data(ck *c, hid_t loc, const char *name, uint64_t max_bytes);

#endif
