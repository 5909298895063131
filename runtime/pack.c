/* From a trained float model to its packed layers: which format each layer goes to, packing
 * (checked lossless), Deep Compression's bytes, batch norm folded into the per-row affine. */
#include "runtime/packed.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "methods/footprint.h"
#include "methods/input_transforms.h"
#include "methods/quant_util.h"

int rt_node_rows(const nn_node *n) { return n->out_c; }
int rt_node_cols(const nn_node *n) { return n->out_c > 0 ? (int)(n->nw / (size_t)n->out_c) : 0; }

static int fail(char *err, size_t errlen, const char *fmt, const char *layer, const char *what)
{
    snprintf(err, errlen, fmt, layer, what);
    return -1;
}

int rt_int8_grid(const nn_node *n, dp_head_int8 *h)
{
    if (mt_xt_kind_of(n) != MT_XT_UNIFORM || n->xt_arg[0] > 8) return 0;
    qu_uniform q = qu_uniform_range(n->xt_arg[1], n->xt_arg[2], (int)n->xt_arg[0], 0);
    *h = (dp_head_int8){ q.scale, q.zero, q.qmax };
    return 1;
}

/* An unmasked dense layer with an 8-bit input grid whose weights are on an int8 grid (PTQ's):
 * INT8 with that input grid. 1 done, 0 not such a layer (l->w left empty), -1 error. */
static int pack_int8(rt_layer *l, const nn_node *n, const float *w, char *err, size_t errlen)
{
    dp_head_int8 h;
    if (n->mask || n->wform.kind != NN_WFORM_DENSE || n->kernel == NN_KERNEL_ADDER || !rt_int8_grid(n, &h)) return 0;
    if (dp_matrix_pack(&l->w, DP_FORMAT_INT8, rt_node_rows(n), rt_node_cols(n), w, err, errlen) != 0 ||
        dp_int8_set_input(&l->w, h.x_scale, h.x_zero, h.x_qmax, err, errlen) != 0) {
        dp_matrix_free(&l->w);
        return -1;
    }
    float *back = malloc(n->nw * sizeof *back);
    if (!back) { dp_matrix_free(&l->w); snprintf(err, errlen, "out of memory"); return -1; }
    dp_format_table[DP_FORMAT_INT8].unpack(&l->w, back);
    size_t same = 0;
    while (same < n->nw && back[same] == w[same]) same++;
    free(back);
    if (same == n->nw) return 1;
    dp_matrix_free(&l->w);   /* not on an int8 grid (e.g. more than 8 weight bits): fp32 */
    return 0;
}

/* A masked layer goes to CSR when that is smaller than dense fp32. */
static dp_format sparse_or_dense(const float *w, int rows, int cols)
{
    size_t nnz = 0, n = (size_t)rows * cols;
    for (size_t i = 0; i < n; i++) nnz += w[i] != 0;
    dp_format csr = cols <= 65536 ? DP_FORMAT_CSR16 : DP_FORMAT_CSR32;
    return dp_format_table[csr].bytes(rows, cols, nnz) < dp_format_table[DP_FORMAT_F32].bytes(rows, cols, n)
               ? csr : DP_FORMAT_F32;
}

/* The format a weighted node's wform, mask and kernel call for; -1 for Deep Compression's bytes. */
static int format_of(const nn_node *n, const float *w, char *err, size_t errlen)
{
    int rows = rt_node_rows(n), cols = rt_node_cols(n);
    if (n->kernel == NN_KERNEL_ADDER) return DP_FORMAT_F32;
    switch (n->wform.kind) {
    case NN_WFORM_BINARY: return DP_FORMAT_BINARY;
    case NN_WFORM_TERNARY: return DP_FORMAT_TERNARY;
    case NN_WFORM_POW2: {
        int span = n->wform.e_max - n->wform.e_min + 1;
        if (span <= 7) return DP_FORMAT_POW2_4;
        if (span <= 127) return DP_FORMAT_POW2_8;
        snprintf(err, errlen, "layer '%s': wform: %d exponents do not fit a pow2 format (at most 127)", n->name, span);
        return -2;
    }
    /* A dense k-bit grid (DoReFa, PACT, LSQ: a codebook without index bits): k-bit codes into
     * the layer's table of values. */
    case NN_WFORM_CODEBOOK:
        if (n->wform.index_bits) return -1;
        return n->wform.bits <= 2 ? DP_FORMAT_LUT2 : n->wform.bits <= 4 ? DP_FORMAT_LUT4
             : n->wform.bits <= 8 ? DP_FORMAT_LUT8 : DP_FORMAT_F32;
    default: return n->mask ? sparse_or_dense(w, rows, cols) : DP_FORMAT_F32;
    }
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* Deep Compression's stored form of a codebook layer: the kept weights' distinct values are the
 * centroids, each kept position coded by its value. */
static int dc_encode(const nn_node *n, const float *w, mt_dc_packed *out, char *err, size_t errlen)
{
    size_t nw = n->nw, kept = 0;
    float *vals = malloc((nw ? nw : 1) * sizeof *vals);
    uint8_t *assign = calloc(nw ? nw : 1, 1);
    int rc = -1;
    if (!vals || !assign) { snprintf(err, errlen, "layer '%s': out of memory", n->name); goto done; }
    for (size_t j = 0; j < nw; j++)
        if (!n->mask || n->mask[j]) vals[kept++] = w[j];
    qsort(vals, kept, sizeof *vals, cmp_float);
    size_t k = 0;
    for (size_t j = 0; j < kept; j++)
        if (k == 0 || vals[j] != vals[k - 1]) vals[k++] = vals[j];
    size_t kept2 = 0, entries = mt_sparse_entries(NULL, n->mask, nw, n->wform.index_bits, NULL, &kept2);
    int zero_code = entries > kept2;
    if (k + (size_t)zero_code > ((size_t)1 << n->wform.bits)) {
        snprintf(err, errlen, "layer '%s': wform: %zu shared values%s do not fit %d-bit codes", n->name, k,
                 zero_code ? " and the filler code" : "", n->wform.bits);
        goto done;
    }
    for (size_t j = 0; j < nw; j++) {
        if (n->mask && !n->mask[j]) continue;
        const float *at = bsearch(&w[j], vals, k, sizeof *vals, cmp_float);
        assign[j] = (uint8_t)(at - vals);
    }
    if (mt_dc_pack(n->mask, assign, nw, vals, (int)k, zero_code, n->wform.bits, n->wform.index_bits, out) != 0)
        snprintf(err, errlen, "layer '%s': out of memory", n->name);
    else rc = 0;
done:
    free(vals);
    free(assign);
    return rc;
}

int rt_dc_decode(rt_layer *l, int rows, int cols, char *err, size_t errlen)
{
    const mt_dc_packed *p = &l->dc;
    if (p->n != (size_t)rows * cols)
        return snprintf(err, errlen, "dc_n: %zu weights, the layer has %d x %d", p->n, rows, cols), -1;
    float *w = malloc((p->n ? p->n : 1) * sizeof *w);
    if (!w) return snprintf(err, errlen, "out of memory"), -1;
    int rc = -1;
    if (mt_dc_unpack(p, w) != 0) snprintf(err, errlen, "dc_wstream: the coded streams do not decode to %zu entries", p->entries);
    else rc = dp_matrix_pack(&l->w, cols <= 65536 ? DP_FORMAT_CSR16 : DP_FORMAT_CSR32, rows, cols, w, err, errlen);
    free(w);
    return rc;
}

/* Packs and checks the round trip: the stored form must give back exactly the weights. */
static int pack_layer(rt_layer *l, const nn_node *n, const float *w, char *err, size_t errlen)
{
    int rows = rt_node_rows(n), cols = rt_node_cols(n);
    char why[256];
    int f = format_of(n, w, err, errlen), i8 = f >= 0 ? pack_int8(l, n, w, why, sizeof why) : 0;
    if (f == -2) return -1;
    if (i8 != 0) {
        l->enc = RT_ENC_RAW;
        return i8 < 0 ? fail(err, errlen, "layer '%s': %s", n->name, why) : 0;
    }
    if (f == -1) {
        l->enc = RT_ENC_DC;
        if (dc_encode(n, w, &l->dc, err, errlen) != 0) return -1;
        if (rt_dc_decode(l, rows, cols, why, sizeof why) != 0) return fail(err, errlen, "layer '%s': %s", n->name, why);
    } else {
        l->enc = RT_ENC_RAW;
        if (dp_matrix_pack(&l->w, (dp_format)f, rows, cols, w, why, sizeof why) != 0)
            return fail(err, errlen, "layer '%s': %s", n->name, why);
    }
    float *back = malloc(n->nw * sizeof *back);
    if (!back) return fail(err, errlen, "layer '%s': %s", n->name, "out of memory");
    dp_format_table[l->w.format].unpack(&l->w, back);
    size_t bad = 0;
    while (bad < n->nw && back[bad] == w[bad]) bad++;
    if (bad < n->nw)
        snprintf(why, sizeof why, "weight[%zu] = %g is stored as %g in %s (not in the format's value set)", bad,
                 w[bad], back[bad], dp_format_name(l->w.format));
    free(back);
    return bad < n->nw ? fail(err, errlen, "layer '%s': %s", n->name, why) : 0;
}

static float *copy_floats(const float *v, size_t n)
{
    float *c = malloc((n ? n : 1) * sizeof *c);
    if (c) memcpy(c, v, n * sizeof *c);
    return c;
}

/* Number of nodes reading node i's output. */
static int readers(const nn_model *m, int i)
{
    int r = 0;
    for (int j = i + 1; j < m->n_nodes; j++)
        for (int k = 0; k < m->nodes[j].n_in; k++) r += m->nodes[j].in[k] == i;
    return r;
}

/* A batch norm whose input is a layer the runtime computes, read by nothing else, becomes that
 * layer's per-row affine: y = (W x + b) s + t = W x s + (b s + t). */
static int fold_bn(rt_model *rt, int j, char *err, size_t errlen)
{
    nn_model *m = rt->m;
    nn_node *bn = &m->nodes[j];
    int i = bn->in[0];
    if (i < 0 || !nn_is_weighted(&m->nodes[i]) || rt->layer[i].engine || readers(m, i) != 1) return 0;
    rt_layer *l = &rt->layer[i];
    int rows = rt_node_rows(&m->nodes[i]);
    float *s = malloc((size_t)rows * sizeof *s), *t = malloc((size_t)rows * sizeof *t);
    if (!s || !t) { free(s); free(t); return fail(err, errlen, "layer '%s': %s", bn->name, "out of memory"); }
    nn_bn_affine(bn, s, t);
    if (l->shift)
        for (int r = 0; r < rows; r++) t[r] = l->shift[r] * s[r] + t[r];
    free(l->shift);
    l->scale = s;
    l->shift = t;
    l->folds = j;
    return 0;
}

int rt_from_model(rt_model *rt, nn_model *m, int threads, char *err, size_t errlen)
{
    memset(rt, 0, sizeof *rt);
    rt->m = m;
    float *w = NULL;
    size_t wcap = 0;
    for (int i = 0; i < m->n_nodes; i++) {
        const nn_node *n = &m->nodes[i];
        rt_layer *l = &rt->layer[i];
        l->folds = -1;
        if (!nn_is_weighted(n)) continue;
        l->present = 1;
        l->engine = n->kernel == NN_KERNEL_ADDER;
        if (n->nw > wcap) {
            free(w);
            wcap = n->nw;
            w = malloc(wcap * sizeof *w);
            if (!w) { rt_free(rt); return fail(err, errlen, "layer '%s': %s", n->name, "out of memory"); }
        }
        for (size_t j = 0; j < n->nw; j++) w[j] = n->mask && !n->mask[j] ? 0.0f : n->w[j];
        if (pack_layer(l, n, w, err, errlen) != 0 || (n->has_bias && !(l->shift = copy_floats(n->b, n->nb)))) {
            if (!err[0]) snprintf(err, errlen, "layer '%s': out of memory", n->name);
            free(w);
            rt_free(rt);
            return -1;
        }
    }
    free(w);
    for (int j = 0; j < m->n_nodes; j++)
        if (m->nodes[j].kind == NN_BATCHNORM && fold_bn(rt, j, err, errlen) != 0) { rt_free(rt); return -1; }
    if (rt_attach(rt, threads, err, errlen) != 0) { rt_free(rt); return -1; }
    return 0;
}

size_t rt_layer_weight_bytes(const rt_layer *l)
{
    if (!l->present) return 0;
    if (l->enc == RT_ENC_RAW) return l->w.bytes;
    const mt_dc_packed *p = &l->dc;
    return (size_t)((p->wbits + 7) / 8 + (p->ibits + 7) / 8) + ((size_t)1 << p->bits) +
           ((size_t)1 << p->index_bits) + sizeof(float) * (size_t)(p->n_centroids + p->zero_code);
}

size_t rt_layer_affine_bytes(const rt_layer *l)
{
    size_t rows = l->present ? (size_t)l->w.rows : 0;
    return sizeof(float) * rows * ((l->scale != NULL) + (l->shift != NULL));
}

void rt_model_bytes(const rt_model *rt, size_t *weight_bytes, size_t *param_bytes)
{
    size_t w = 0, p = 0;
    for (int i = 0; i < rt->m->n_nodes; i++) {
        const nn_node *n = &rt->m->nodes[i];
        w += rt_layer_weight_bytes(&rt->layer[i]);
        p += rt_layer_affine_bytes(&rt->layer[i]);
        if (n->kind == NN_BATCHNORM && !rt->folded[i]) p += sizeof(float) * (3 * n->nw + n->nb);
        if (n->kind == NN_EDGEBIAS) p += sizeof(float) * n->nb;
    }
    *weight_bytes = w;
    *param_bytes = p;
}

void rt_free(rt_model *rt)
{
    for (int i = 0; i < NN_MAX_NODES; i++) {
        rt_layer *l = &rt->layer[i];
        dp_matrix_free(&l->w);
        dp_matrix_free(&l->xw);
        dp_matrix_free(&l->qw);
        mt_dc_packed_free(&l->dc);
        free(l->scale);
        free(l->shift);
        free(l->pad_corr);
    }
    free(rt->ws.f);
    free(rt->ws.bits);
    nn_model_free(rt->m);
    memset(rt, 0, sizeof *rt);
}
