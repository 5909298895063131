/* The layer table: one row per kind, indexed by nn_kind. */
#include <assert.h>
#include <cblas.h>
#include <omp.h>
#include "nn/layer_kinds.h"

#define ROW(kind, label, nin, p, cache, ws) \
    [kind] = { label, nin, p##_infer, cache, ws, p##_forward, p##_backward }

const nn_layer_ops nn_layer_table[] = {
    ROW(NN_INPUT,     "input",     0, nn_input,    NULL,                   NULL),
    ROW(NN_CONV,      "conv",      1, nn_conv,     NULL,                   nn_conv_ws_floats),
    ROW(NN_LINEAR,    "linear",    1, nn_linear,   NULL,                   NULL),
    ROW(NN_MAXPOOL,   "maxpool",   1, nn_maxpool,  nn_maxpool_cache_bytes, NULL),
    ROW(NN_AVGPOOL,   "avgpool",   1, nn_avgpool,  NULL,                   NULL),
    ROW(NN_GAP,       "gap",       1, nn_gap,      NULL,                   NULL),
    ROW(NN_BATCHNORM, "batchnorm", 1, nn_bn,       nn_bn_cache_bytes,      NULL),
    ROW(NN_RELU,      "relu",      1, nn_relu,     NULL,                   NULL),
    ROW(NN_HARDTANH,  "hardtanh",  1, nn_hardtanh, NULL,                   NULL),
    ROW(NN_FLATTEN,   "flatten",   1, nn_flatten,  NULL,                   NULL),
    ROW(NN_ADD,       "add",       2, nn_add,      NULL,                   NULL),
    ROW(NN_EDGEBIAS,  "edgebias",  1, nn_edgebias, NULL,                   NULL),
};
/* The array's length comes from its highest row: a kind added to nn_kind without a row fails here. */
static_assert(sizeof nn_layer_table / sizeof nn_layer_table[0] == NN_KIND_COUNT,
              "one layer-table row per nn_kind");

int nn_layer_threads(const nn_model *m)
{
    return m->threads > 0 ? m->threads : omp_get_max_threads();
}

void nn_blas_serial(void)
{
    if (openblas_get_num_threads() != 1) openblas_set_num_threads(1);
}

int nn_layer_ws_threads(void)
{
    return omp_get_max_threads();
}

int nn_layer_fail(const nn_node *n, char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        int w = snprintf(err, errlen, "%s: ", n->name);
        if (w >= 0 && (size_t)w < errlen) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(err + w, errlen - (size_t)w, fmt, ap);
            va_end(ap);
        }
    }
    return -1;
}

int nn_layer_check_input(const nn_node *n, char *err, size_t errlen)
{
    nn_dims in = n->in_dims;
    if (in.c <= 0 || in.h <= 0 || in.w <= 0)
        return nn_layer_fail(n, err, errlen, "input shape %dx%dx%d has a zero or negative size",
                             in.c, in.h, in.w);
    return 0;
}

int nn_layer_same_shape(nn_node *n, char *err, size_t errlen)
{
    if (nn_layer_check_input(n, err, errlen) != 0) return -1;
    n->out_dims = n->in_dims;
    n->nw = n->nb = 0;
    return 0;
}

void nn_dx_put(const nn_model *m, int fresh, float *dx, const float *g, size_t len)
{
    if (fresh) {
        #pragma omp parallel for simd num_threads(nn_layer_threads(m)) schedule(static)
        for (size_t i = 0; i < len; i++) dx[i] = g[i];
    } else {
        #pragma omp parallel for simd num_threads(nn_layer_threads(m)) schedule(static)
        for (size_t i = 0; i < len; i++) dx[i] += g[i];
    }
}
