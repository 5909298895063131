/* The network a model file describes: /graph, written and read field by field from one table
 * (see ckpt_graph.h). */
#include "harness/ckpt_graph.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "methods/input_transforms.h"

/* Per-sample activations a loaded network may have in all (floats): far above any network
 * here, far below what a damaged count would ask for. */
#define CKG_MAX_ACTIVATIONS (1LL << 28)

typedef struct graph_row {
    int kind, in0, in1, out_c, k, stride, pad, has_bias, kernel, frozen, xt, wform, e_min, e_max, bits,
        index_bits;
    float clip, xt_arg[NN_XT_ARGS], wp, wn;
} graph_row;

/* One dataset per field; ints are range-checked against lo..hi, floats must be finite. */
typedef struct graph_field {
    const char *name;
    size_t off;
    int is_float;
    long long lo, hi;
    int optional;       /* files written before the field existed lack it: read as 0 */
} graph_field;

#define I(f, lo, hi) { #f, offsetof(graph_row, f), 0, lo, hi, 0 }
static const graph_field graph_fields[] = {
    I(kind, 0, NN_KIND_COUNT - 1),
    I(in0, -1, NN_MAX_NODES - 2),
    I(in1, -1, NN_MAX_NODES - 2),
    I(out_c, 0, 1 << 24),
    I(k, 0, 255),
    I(stride, 0, 255),
    I(pad, 0, 255),
    I(has_bias, 0, 1),
    { "clip", offsetof(graph_row, clip), 1, 0, 0, 0 },
    I(kernel, 0, NN_KERNEL_COUNT - 1),
    I(frozen, 0, 1),
    { "input_transform", offsetof(graph_row, xt), 0, 0, MT_XT_COUNT - 1, 0 },
    { "input_arg0", offsetof(graph_row, xt_arg[0]), 1, 0, 0, 0 },
    { "input_arg1", offsetof(graph_row, xt_arg[1]), 1, 0, 0, 0 },
    { "input_arg2", offsetof(graph_row, xt_arg[2]), 1, 0, 0, 1 },
    I(wform, 0, NN_WFORM_COUNT - 1),
    { "wform_e_min", offsetof(graph_row, e_min), 0, -149, 127, 0 },   /* float's exponent range */
    { "wform_e_max", offsetof(graph_row, e_max), 0, -149, 127, 0 },
    { "wform_bits", offsetof(graph_row, bits), 0, 0, 8, 0 },
    { "wform_index_bits", offsetof(graph_row, index_bits), 0, 0, 8, 0 },
    { "wform_wp", offsetof(graph_row, wp), 1, 0, 0, 0 },
    { "wform_wn", offsetof(graph_row, wn), 1, 0, 0, 0 },
};
#undef I
enum { N_FIELDS = (int)(sizeof graph_fields / sizeof graph_fields[0]) };

static const char *const wform_names[NN_WFORM_COUNT] = {
    [NN_WFORM_DENSE] = "dense", [NN_WFORM_BINARY] = "binary", [NN_WFORM_TERNARY] = "ternary",
    [NN_WFORM_POW2] = "pow2", [NN_WFORM_CODEBOOK] = "codebook",
};

static int *ifield(graph_row *r, const graph_field *f) { return (int *)((char *)r + f->off); }
static float *ffield(graph_row *r, const graph_field *f) { return (float *)((char *)r + f->off); }

/* ---- writing ---------------------------------------------------------------------------- */

static graph_row row_of(const nn_node *n)
{
    graph_row r = {
        .kind = n->kind, .in0 = n->in[0], .in1 = n->n_in == 2 ? n->in[1] : -1, .out_c = n->out_c, .k = n->k,
        .stride = n->stride, .pad = n->pad, .has_bias = n->has_bias, .kernel = n->kernel, .frozen = n->frozen,
        .xt = mt_xt_kind_of(n), .wform = n->wform.kind, .e_min = n->wform.e_min, .e_max = n->wform.e_max,
        .bits = n->wform.bits, .index_bits = n->wform.index_bits, .clip = n->clip, .wp = n->wform.wp,
        .wn = n->wform.wn,
    };
    memcpy(r.xt_arg, n->xt_arg, sizeof r.xt_arg);
    return r;
}

void ckg_put(ck *c, hid_t file, const nn_model *m)
{
    int n = m->n_nodes;
    graph_row *rows = calloc((size_t)n, sizeof *rows);
    char (*names)[NN_NAME_MAX] = calloc((size_t)n, NN_NAME_MAX);
    void *col = malloc((size_t)n * sizeof(int));
    if (!rows || !names || !col) ck_fail(c, "graph: out of memory");
    for (int i = 0; i < n && !c->bad; i++) {
        rows[i] = row_of(&m->nodes[i]);
        memcpy(names[i], m->nodes[i].name, NN_NAME_MAX);
        if (rows[i].xt < 0)
            ck_fail(c, "graph: node %d '%s': input transform '%s' cannot be written to a model file "
                    "(methods/input_transforms.c lists those that can)", i, m->nodes[i].name, m->nodes[i].xt->name);
    }
    hid_t g = ck_put_group(c, file, "graph");
    hsize_t dims[2] = {(hsize_t)n, NN_NAME_MAX};
    h5io_put_data(c, g, "names", H5T_STD_U8LE, H5T_NATIVE_UINT8, 2, dims, names ? names[0] : NULL, 0);
    for (int f = 0; f < N_FIELDS && !c->bad; f++) {
        const graph_field *gf = &graph_fields[f];
        for (int i = 0; i < n; i++) {
            if (gf->is_float) ((float *)col)[i] = *ffield(&rows[i], gf);
            else ((int *)col)[i] = *ifield(&rows[i], gf);
        }
        if (gf->is_float) h5io_put_data(c, g, gf->name, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 1, dims, col, 0);
        else h5io_put_data(c, g, gf->name, H5T_STD_I32LE, H5T_NATIVE_INT, 1, dims, col, 0);
    }
    ck_close_group(g);
    free(rows);
    free(names);
    free(col);
}

/* ---- reading ---------------------------------------------------------------------------- */

/* "graph/<field>: node <i> '<name>': " before a message. */
#define NODE_FAIL(c, field, i, name, ...)                                                            \
    do {                                                                                             \
        char m_[512];                                                                                \
        snprintf(m_, sizeof m_, __VA_ARGS__);                                                        \
        ck_fail(c, "graph/%s: node %d '%s': %s", field, i, name, m_);                                \
    } while (0)

static int read_rows(ck *c, hid_t g, int n, graph_row *rows, char (*names)[NN_NAME_MAX])
{
    void *col = malloc((size_t)n * sizeof(int));
    if (!col) return ck_fail(c, "graph: out of memory");
    h5io_get_data(c, g, "graph/", "names", H5T_NATIVE_UINT8, (size_t)n * NN_NAME_MAX, names);
    for (int i = 0; i < n && !c->bad; i++) {
        size_t len = strnlen(names[i], NN_NAME_MAX);
        if (len == 0 || len == NN_NAME_MAX)
            ck_fail(c, "graph/names: node %d: the name is %s (1..%d characters)", i, len ? "not terminated" : "empty",
                    NN_NAME_MAX - 1);
        else if (strchr(names[i], '/') || !strcmp(names[i], "."))
            ck_fail(c, "graph/names: node %d: '%s' cannot be an HDF5 link name", i, names[i]);
    }
    for (int f = 0; f < N_FIELDS && !c->bad; f++) {
        const graph_field *gf = &graph_fields[f];
        if (gf->optional && H5Lexists(g, gf->name, H5P_DEFAULT) <= 0) continue;   /* rows are zeroed */
        if (gf->is_float) h5io_get_data(c, g, "graph/", gf->name, H5T_NATIVE_FLOAT, (size_t)n, col);
        else h5io_get_data(c, g, "graph/", gf->name, H5T_NATIVE_INT, (size_t)n, col);
        for (int i = 0; i < n && !c->bad; i++) {
            if (gf->is_float) {
                float v = ((float *)col)[i];
                if (!isfinite(v)) NODE_FAIL(c, gf->name, i, names[i], "%g is not finite", v);
                *ffield(&rows[i], gf) = v;
            } else {
                int v = ((int *)col)[i];
                if (v < gf->lo || v > gf->hi)
                    NODE_FAIL(c, gf->name, i, names[i], "%d is out of range (allowed %lld..%lld)", v, gf->lo, gf->hi);
                *ifield(&rows[i], gf) = v;
            }
        }
    }
    free(col);
    return c->bad ? -1 : 0;
}

/* What each node may carry beyond the builder's own shape checks. */
static int check_row(ck *c, int i, const graph_row *r, const char *name)
{
    int weighted = r->kind == NN_CONV || r->kind == NN_LINEAR;
    if (r->in0 >= i) NODE_FAIL(c, "in0", i, name, "input %d is not an earlier node (-1..%d)", r->in0, i - 1);
    else if (r->kind == NN_ADD && (r->in1 < 0 || r->in1 >= i))
        NODE_FAIL(c, "in1", i, name, "an addition's second input %d is not an earlier node (0..%d)", r->in1, i - 1);
    else if (r->kind != NN_ADD && r->in1 != -1)
        NODE_FAIL(c, "in1", i, name, "a %s node has one input; in1 must be -1, not %d", nn_kind_name(r->kind), r->in1);
    else if (!weighted && r->kernel != NN_KERNEL_MAC)
        NODE_FAIL(c, "kernel", i, name, "a %s node has no kernel to choose", nn_kind_name(r->kind));
    else if (!weighted && r->frozen)
        NODE_FAIL(c, "frozen", i, name, "a %s node has no weights to freeze", nn_kind_name(r->kind));
    else if (!weighted && r->wform != NN_WFORM_DENSE)
        NODE_FAIL(c, "wform", i, name, "a %s node has no weights", nn_kind_name(r->kind));
    else if (r->wform == NN_WFORM_POW2 && r->e_min > r->e_max)
        NODE_FAIL(c, "wform_e_min", i, name, "exponent range %d..%d is empty", r->e_min, r->e_max);
    else if (r->wform == NN_WFORM_CODEBOOK && r->bits < 1)
        NODE_FAIL(c, "wform_bits", i, name, "a codebook needs 1..8 value bits (and 0..8 index bits), not %d and %d", r->bits,
                  r->index_bits);
    else if (r->wform == NN_WFORM_TERNARY && !(r->wp > 0 && r->wn > 0))
        NODE_FAIL(c, "wform_wp", i, name, "ternary scales Wp %g, Wn %g must be positive", r->wp, r->wn);
    return c->bad ? -1 : 0;
}

/* Builds the rows through the engine's builder; bounded before nn_builder_finish allocates. */
static nn_model *build_rows(ck *c, const graph_row *rows, char (*names)[NN_NAME_MAX], int n, const char *arch,
                            nn_dims in, int n_classes, size_t n_params, size_t n_state)
{
    nn_builder *b = nn_builder_new(arch, in, n_classes);
    if (!b) { ck_fail(c, "graph: out of memory"); return NULL; }
    for (int i = 0; i < n && !c->bad; i++) {
        nn_node t;
        memset(&t, 0, sizeof t);
        const graph_row *r = &rows[i];
        t.kind = (nn_kind)r->kind;
        memcpy(t.name, names[i], NN_NAME_MAX);
        t.out_c = r->out_c; t.k = r->k; t.stride = r->stride; t.pad = r->pad; t.has_bias = r->has_bias;
        t.clip = r->clip;
        if (nn_add_like(b, &t, r->in0, r->in1) < 0) {
            char msg[NN_ERR_MAX] = "";
            nn_model_free(nn_builder_finish(b, msg, sizeof msg));   /* collects the message, frees b */
            ck_fail(c, "graph: node %d '%s': %s", i, names[i], msg);
            return NULL;
        }
    }
    const nn_model *p = c->bad ? NULL : nn_builder_model(b);
    size_t np = 0, ns = 0;
    long long act = 0;
    for (int i = 0; p && i < p->n_nodes; i++) {
        np += p->nodes[i].nw + p->nodes[i].nb;
        if (p->nodes[i].kind == NN_BATCHNORM) ns += 2 * p->nodes[i].nw;
        act += (long long)nn_dims_size(p->nodes[i].out_dims);
    }
    if (p && (np != n_params || ns != n_state))
        ck_fail(c, "n_params: the file has %zu parameters and %zu state values, its graph has %zu and %zu", n_params,
                n_state, np, ns);
    else if (p && act > CKG_MAX_ACTIVATIONS)
        ck_fail(c, "graph: the nodes' outputs hold %lld values per sample, more than the %lld allowed", act,
                CKG_MAX_ACTIVATIONS);
    if (c->bad) { nn_builder_free(b); return NULL; }
    char msg[NN_ERR_MAX] = "";
    nn_model *m = nn_builder_finish(b, msg, sizeof msg);
    if (!m) ck_fail(c, "graph: %s", msg);
    return m;
}

nn_model *ckg_build(ck *c, hid_t file, const char *arch, nn_dims in, int n_classes, size_t n_params,
                    size_t n_state)
{
    if (c->bad) return NULL;
    if (H5Lexists(file, "graph", H5P_DEFAULT) <= 0) { ck_fail(c, "graph: missing group"); return NULL; }
    hid_t g = H5Gopen2(file, "graph", H5P_DEFAULT);
    long long n = 0;
    hid_t ds = H5Lexists(g, "kind", H5P_DEFAULT) > 0 ? H5Dopen2(g, "kind", H5P_DEFAULT) : -1;
    hid_t sp = ds >= 0 ? H5Dget_space(ds) : -1;
    n = sp >= 0 ? (long long)H5Sget_simple_extent_npoints(sp) : -1;
    if (sp >= 0) H5Sclose(sp);
    if (ds >= 0) H5Dclose(ds);
    const ck_range count = {"graph/kind (nodes)", n, 1, NN_MAX_NODES};
    graph_row *rows = NULL;
    char (*names)[NN_NAME_MAX] = NULL;
    nn_model *m = NULL;
    if (ck_check_ranges(c, &count, 1) == 0) {
        rows = calloc((size_t)n, sizeof *rows);
        names = calloc((size_t)n, NN_NAME_MAX);
        if (!rows || !names) ck_fail(c, "graph: out of memory");
    }
    if (!c->bad && read_rows(c, g, (int)n, rows, names) == 0) {
        for (int i = 0; i < n && !c->bad; i++) check_row(c, i, &rows[i], names[i]);
        if (!c->bad) m = build_rows(c, rows, names, (int)n, arch, in, n_classes, n_params, n_state);
    }
    for (int i = 0; m && i < m->n_nodes && !c->bad; i++) {
        nn_node *nd = &m->nodes[i];
        const graph_row *r = &rows[i];
        char why[256];
        nd->kernel = (nn_kernel)r->kernel;
        nd->frozen = r->frozen;
        nd->wform = (nn_wform){ .kind = (nn_wform_kind)r->wform, .e_min = r->e_min, .e_max = r->e_max,
                                .bits = r->bits, .index_bits = r->index_bits, .wp = r->wp, .wn = r->wn };
        if (mt_xt_install(nd, r->xt, r->xt_arg, why, sizeof why) != 0)
            NODE_FAIL(c, "input_transform", i, nd->name, "%s", why);
    }
    if (c->bad) { nn_model_free(m); m = NULL; }
    free(rows);
    free(names);
    H5Gclose(g);
    return m;
}

/* ---- the weights against their declared value set ---------------------------------------- */

/* 0, or -1 with the reason, naming the first weight that is off, in why. */
typedef int (*wform_check_fn)(const nn_node *, char *why, size_t whylen);

static int check_binary(const nn_node *n, char *why, size_t whylen)
{
    size_t fs = n->nw / (size_t)n->out_c;
    for (size_t i = 0; i < n->nw; i++) {
        float a = fabsf(n->w[i - i % fs]);
        if (fabsf(n->w[i]) != a) {
            snprintf(why, whylen, "weight[%zu] = %g, but filter %zu's weights are +-%g", i, n->w[i], i / fs, a);
            return -1;
        }
    }
    return 0;
}

static int check_ternary(const nn_node *n, char *why, size_t whylen)
{
    for (size_t i = 0; i < n->nw; i++)
        if (n->w[i] != 0 && n->w[i] != n->wform.wp && n->w[i] != -n->wform.wn) {
            snprintf(why, whylen, "weight[%zu] = %g is not one of +Wp = %g, 0, -Wn = %g", i, n->w[i], n->wform.wp, -n->wform.wn);
            return -1;
        }
    return 0;
}

static int check_pow2(const nn_node *n, char *why, size_t whylen)
{
    for (size_t i = 0; i < n->nw; i++) {
        int e;
        float f = frexpf(fabsf(n->w[i]), &e);   /* |w| = f 2^e, f in [0.5, 1) */
        if (n->w[i] != 0 && (f != 0.5f || e - 1 < n->wform.e_min || e - 1 > n->wform.e_max)) {
            snprintf(why, whylen, "weight[%zu] = %g is not 0 or +-2^e with e in %d..%d", i, n->w[i], n->wform.e_min, n->wform.e_max);
            return -1;
        }
    }
    return 0;
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

static int check_codebook(const nn_node *n, char *why, size_t whylen)
{
    float *v = malloc((n->nw ? n->nw : 1) * sizeof *v);
    if (!v) { snprintf(why, whylen, "out of memory"); return -1; }
    size_t kept = 0;
    for (size_t i = 0; i < n->nw; i++) {
        if (!n->mask || n->mask[i]) v[kept++] = n->w[i];
        else if (n->w[i] != 0) {
            snprintf(why, whylen, "weight[%zu] = %g off the mask (pruned weights are 0)", i, n->w[i]);
            free(v);
            return -1;
        }
    }
    qsort(v, kept, sizeof *v, cmp_float);
    size_t distinct = kept ? 1 : 0;
    for (size_t i = 1; i < kept; i++) distinct += v[i] != v[i - 1];
    free(v);
    if (distinct > (size_t)1 << n->wform.bits) {
        snprintf(why, whylen, "the kept weights take %zu values, more than 2^%d", distinct, n->wform.bits);
        return -1;
    }
    return 0;
}

static const wform_check_fn wform_checks[NN_WFORM_COUNT] = {
    [NN_WFORM_DENSE] = NULL, [NN_WFORM_BINARY] = check_binary, [NN_WFORM_TERNARY] = check_ternary,
    [NN_WFORM_POW2] = check_pow2, [NN_WFORM_CODEBOOK] = check_codebook,
};

int ckg_check_weights(ck *c, const nn_model *m)
{
    for (int i = 0; i < m->n_nodes && !c->bad; i++) {
        const nn_node *n = &m->nodes[i];
        wform_check_fn fn = wform_checks[n->wform.kind];
        char why[256];
        if (fn && fn(n, why, sizeof why) != 0)
            ck_fail(c, "params: node %d '%s' (wform %s): %s", i, n->name, wform_names[n->wform.kind], why);
    }
    return c->bad ? -1 : 0;
}
