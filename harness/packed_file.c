/* model.packed.h5, written and read (see packed_file.h). */
#include "harness/packed_file.h"

#include <hdf5.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/h5io.h"
#include "datasets/dataset.h"
#include "harness/ckpt_graph.h"
#include "harness/ckpt_io.h"
#include "harness/run_dir.h"
#include "base/json.h"

#define PACKED_FORMAT "harness-packed"

/* ---- writing ---------------------------------------------------------------------------- */

static void put_u8(ck *c, hid_t g, const char *name, const void *v, size_t n, size_t *bytes)
{
    if (n == 0) return;   /* an empty stream (a layer without entries) is not stored */
    ck_put_bytes(c, g, name, v, n);
    *bytes += n;
}

static void put_f32(ck *c, hid_t g, const char *name, const float *v, size_t n, size_t *bytes)
{
    if (!v) return;
    ck_put_floats(c, g, name, v, n);
    *bytes += n * sizeof *v;
}

static void put_dc(ck *c, hid_t g, const mt_dc_packed *p, size_t *bytes)
{
    const struct { const char *name; long long v; } attrs[] = {
        {"dc_n", (long long)p->n}, {"dc_kept", (long long)p->kept}, {"dc_entries", (long long)p->entries},
        {"dc_bits", p->bits}, {"dc_index_bits", p->index_bits}, {"dc_zero_code", p->zero_code},
        {"dc_n_centroids", p->n_centroids}, {"dc_wbits", (long long)p->wbits}, {"dc_ibits", (long long)p->ibits},
    };
    for (size_t i = 0; i < sizeof attrs / sizeof attrs[0]; i++) ck_put_i64(c, g, attrs[i].name, attrs[i].v);
    put_f32(c, g, "dc_codebook", p->codebook, (size_t)(p->n_centroids + p->zero_code), bytes);
    put_u8(c, g, "dc_wlen", p->wlen, (size_t)1 << p->bits, bytes);
    put_u8(c, g, "dc_ilen", p->ilen, (size_t)1 << p->index_bits, bytes);
    put_u8(c, g, "dc_wstream", p->wstream, (size_t)((p->wbits + 7) / 8), bytes);
    put_u8(c, g, "dc_istream", p->istream, (size_t)((p->ibits + 7) / 8), bytes);
}

static void put_node(ck *c, hid_t layers, const rt_model *rt, int i, hx_packed_size *sz)
{
    const nn_node *n = &rt->m->nodes[i];
    const rt_layer *l = &rt->layer[i];
    int bn = n->kind == NN_BATCHNORM && !rt->folded[i];
    if (!l->present && !bn && n->kind != NN_EDGEBIAS) return;
    hid_t g = ck_put_group(c, layers, n->name);
    if (l->present) {
        const struct { const char *name; long long v; } attrs[] = {
            {"format", l->w.format}, {"encoding", l->enc}, {"engine", l->engine}, {"rows", l->w.rows},
            {"cols", l->w.cols}, {"nnz", (long long)l->w.nnz}, {"folds", l->folds},
        };
        for (size_t k = 0; k < sizeof attrs / sizeof attrs[0]; k++) ck_put_i64(c, g, attrs[k].name, attrs[k].v);
        if (l->enc == RT_ENC_RAW) put_u8(c, g, "payload", l->w.payload, l->w.bytes, &sz->weight_bytes);
        else put_dc(c, g, &l->dc, &sz->weight_bytes);
        put_f32(c, g, "scale", l->scale, (size_t)l->w.rows, &sz->param_bytes);
        put_f32(c, g, "shift", l->shift, (size_t)l->w.rows, &sz->param_bytes);
    } else if (bn) {
        put_f32(c, g, "gamma", n->w, n->nw, &sz->param_bytes);
        put_f32(c, g, "beta", n->b, n->nb, &sz->param_bytes);
        put_f32(c, g, "running_mean", n->run_mean, n->nw, &sz->param_bytes);
        put_f32(c, g, "running_var", n->run_var, n->nw, &sz->param_bytes);
    } else {
        put_f32(c, g, "bias", n->b, n->nb, &sz->param_bytes);
    }
    ck_close_group(g);
}

int hx_packed_save(const char *path, const rt_model *rt, hx_packed_size *size, char *err, size_t errlen)
{
    const nn_model *m = rt->m;
    hx_packed_size sz = {0, 0, 0};
    ck c = {path, err, errlen, 0};
    h5io_quiet q = h5io_hush();
    h5io_writer w;
    if (h5io_create(&w, path, err, errlen) != 0) {
        c.bad = 1;
    } else {
        ck_put_header(&c, w.file, PACKED_FORMAT, HX_PACKED_VERSION, m);
        ckg_put(&c, w.file, m);
        hid_t layers = ck_put_group(&c, w.file, "layers");
        for (int i = 0; i < m->n_nodes && !c.bad; i++) put_node(&c, layers, rt, i, &sz);
        ck_close_group(layers);
        if (c.bad) h5io_discard(&w);
        else if (h5io_commit(&w, PACKED_FORMAT, path, err, errlen) != 0) c.bad = 1;
    }
    h5io_unhush(q);
    struct stat st;
    if (!c.bad && stat(path, &st) == 0) sz.file_bytes = (size_t)st.st_size;
    if (size) *size = sz;
    return c.bad ? -1 : 0;
}

/* ---- reading ---------------------------------------------------------------------------- */

/* "layers/<node>/" */
typedef struct { char where[NN_NAME_MAX + 16]; } node_where;

static long long get_int(ck *c, hid_t g, const node_where *w, const char *name, long long lo, long long hi)
{
    long long v = 0;
    if (ck_get_i64(c, g, w->where, name, &v) == 0 && (v < lo || v > hi))
        ck_fail(c, "%s%s: %lld is out of range (allowed %lld..%lld)", w->where, name, v, lo, hi);
    return v;
}

/* A float vector of n finite values, or NULL without the dataset when optional. */
static float *get_floats(ck *c, hid_t g, const node_where *w, const char *name, size_t n, int optional)
{
    if (c->bad || (optional && H5Lexists(g, name, H5P_DEFAULT) <= 0)) return NULL;
    float *v = malloc((n ? n : 1) * sizeof *v);
    if (!v) { ck_fail(c, "%s%s: out of memory", w->where, name); return NULL; }
    if (h5io_get_data(c, g, w->where, name, H5T_NATIVE_FLOAT, n, v) == 0)
        for (size_t i = 0; i < n; i++)
            if (!isfinite(v[i])) { ck_fail(c, "%s%s: [%zu] = %g is not finite", w->where, name, i, v[i]); break; }
    if (c->bad) { free(v); return NULL; }
    return v;
}

static void get_bytes(ck *c, hid_t g, const node_where *w, const char *name, size_t n, uint8_t **out)
{
    *out = NULL;
    if (c->bad || n == 0) return;
    *out = malloc(n);
    if (!*out) { ck_fail(c, "%s%s: out of memory", w->where, name); return; }
    h5io_get_data(c, g, w->where, name, H5T_NATIVE_UINT8, n, *out);
}

static void get_dc(ck *c, hid_t g, const node_where *w, rt_layer *l, int rows, int cols, uint64_t file_bytes)
{
    mt_dc_packed *p = &l->dc;
    memset(p, 0, sizeof *p);
    size_t n = (size_t)rows * cols;
    p->n = (size_t)get_int(c, g, w, "dc_n", (long long)n, (long long)n);
    p->entries = (size_t)get_int(c, g, w, "dc_entries", 0, (long long)n);
    p->kept = (size_t)get_int(c, g, w, "dc_kept", 0, (long long)p->entries);
    p->bits = (int)get_int(c, g, w, "dc_bits", 1, 8);
    p->index_bits = (int)get_int(c, g, w, "dc_index_bits", 1, 8);
    p->zero_code = (int)get_int(c, g, w, "dc_zero_code", 0, 1);
    if (c->bad) return;
    p->n_centroids = (int)get_int(c, g, w, "dc_n_centroids", 0, (1LL << p->bits) - p->zero_code);
    /* a code is at most 2^bits - 1 bits long (canonical Huffman over 2^bits symbols) */
    p->wbits = (uint64_t)get_int(c, g, w, "dc_wbits", 0, (long long)(8 * file_bytes));
    p->ibits = (uint64_t)get_int(c, g, w, "dc_ibits", 0, (long long)(8 * file_bytes));
    float *book = get_floats(c, g, w, "dc_codebook", (size_t)(p->n_centroids + p->zero_code), 0);
    if (book) memcpy(p->codebook, book, (size_t)(p->n_centroids + p->zero_code) * sizeof *book);
    free(book);
    uint8_t *wlen = NULL, *ilen = NULL;
    get_bytes(c, g, w, "dc_wlen", (size_t)1 << p->bits, &wlen);
    get_bytes(c, g, w, "dc_ilen", (size_t)1 << p->index_bits, &ilen);
    if (wlen) memcpy(p->wlen, wlen, (size_t)1 << p->bits);
    if (ilen) memcpy(p->ilen, ilen, (size_t)1 << p->index_bits);
    free(wlen);
    free(ilen);
    for (int s = 0; s < (1 << p->bits) && !c->bad; s++)
        if (p->wlen[s] > 32) ck_fail(c, "%sdc_wlen: [%d] = %d is longer than 32 bits", w->where, s, p->wlen[s]);
    for (int s = 0; s < (1 << p->index_bits) && !c->bad; s++)
        if (p->ilen[s] > 32) ck_fail(c, "%sdc_ilen: [%d] = %d is longer than 32 bits", w->where, s, p->ilen[s]);
    get_bytes(c, g, w, "dc_wstream", (size_t)((p->wbits + 7) / 8), &p->wstream);
    get_bytes(c, g, w, "dc_istream", (size_t)((p->ibits + 7) / 8), &p->istream);
    char why[256];
    if (!c->bad && rt_dc_decode(l, rows, cols, why, sizeof why) != 0) ck_fail(c, "%s%s", w->where, why);
}

static void get_layer(ck *c, hid_t g, const node_where *w, nn_node *n, rt_layer *l, int n_nodes, uint64_t file_bytes)
{
    int rows = rt_node_rows(n), cols = rt_node_cols(n);
    l->present = 1;
    int format = (int)get_int(c, g, w, "format", 0, DP_FORMAT_COUNT - 1);
    l->enc = (rt_encoding)get_int(c, g, w, "encoding", 0, RT_ENC_COUNT - 1);
    l->engine = (int)get_int(c, g, w, "engine", 0, 1);
    get_int(c, g, w, "rows", rows, rows);
    get_int(c, g, w, "cols", cols, cols);
    long long nnz = get_int(c, g, w, "nnz", 0, (long long)rows * cols);
    l->folds = (int)get_int(c, g, w, "folds", -1, n_nodes - 1);
    if (c->bad) return;
    char why[256];
    if (l->enc == RT_ENC_RAW) {
        size_t want = dp_format_table[format].bytes(rows, cols, (size_t)nnz);
        if (want > file_bytes) { ck_fail(c, "%snnz: a %s payload of %zu bytes in a file of %llu", w->where,
                                         dp_format_name(format), want, (unsigned long long)file_bytes); return; }
        uint8_t *payload = NULL;
        get_bytes(c, g, w, "payload", want, &payload);
        if (!c->bad && dp_matrix_load(&l->w, format, rows, cols, (size_t)nnz, payload, want, why, sizeof why) != 0)
            ck_fail(c, "%spayload: %s", w->where, why);
        free(payload);
    } else {
        get_dc(c, g, w, l, rows, cols, file_bytes);
        if (!c->bad && (int)l->w.format != format)
            ck_fail(c, "%sformat: Deep Compression's layers run as %s, not %s", w->where, dp_format_name(l->w.format),
                    dp_format_name(format));
    }
    l->scale = get_floats(c, g, w, "scale", (size_t)rows, 1);
    l->shift = get_floats(c, g, w, "shift", (size_t)rows, 1);
}

static void get_node(ck *c, hid_t file, rt_model *rt, int i, uint64_t file_bytes)
{
    nn_node *n = &rt->m->nodes[i];
    node_where w;
    snprintf(w.where, sizeof w.where, "layers/%s/", n->name);
    char gpath[NN_NAME_MAX + 16];
    snprintf(gpath, sizeof gpath, "layers/%s", n->name);
    int exists = H5Lexists(file, gpath, H5P_DEFAULT) > 0;
    int wanted = nn_is_weighted(n) || n->kind == NN_BATCHNORM || n->kind == NN_EDGEBIAS;
    if (!exists) {
        /* a folded batch norm has no group; rt_attach checks that a layer folds it */
        if (wanted && n->kind != NN_BATCHNORM) ck_fail(c, "%s: missing group", gpath);
        return;
    }
    if (!wanted) { ck_fail(c, "%s: a %s node stores nothing", gpath, nn_kind_name(n->kind)); return; }
    hid_t g = H5Gopen2(file, gpath, H5P_DEFAULT);
    if (g < 0) { ck_fail(c, "%s: group cannot be opened", gpath); return; }
    if (nn_is_weighted(n)) {
        get_layer(c, g, &w, n, &rt->layer[i], rt->m->n_nodes, file_bytes);
    } else {
        const char *names[4] = {"gamma", "beta", "running_mean", "running_var"};
        float *dst[4] = {n->w, n->b, n->run_mean, n->run_var};
        size_t cnt[4] = {n->nw, n->nb, n->nw, n->nw};
        int k = n->kind == NN_BATCHNORM ? 4 : 1;
        if (n->kind == NN_EDGEBIAS) { names[0] = "bias"; dst[0] = n->b; cnt[0] = n->nb; }
        for (int j = 0; j < k && !c->bad; j++) {
            float *v = get_floats(c, g, &w, names[j], cnt[j], 0);
            if (v) memcpy(dst[j], v, cnt[j] * sizeof *v);
            free(v);
        }
        for (size_t j = 0; n->kind == NN_BATCHNORM && j < n->nw && !c->bad; j++)
            if (n->run_var[j] < 0) ck_fail(c, "%srunning_var: [%zu] = %g is negative", w.where, j, n->run_var[j]);
    }
    ck_close_group(g);
}

static int load(ck *c, hid_t file, const ckpt_expect *expect, int threads, rt_model *rt)
{
    /* n_params counts the float model's parameters (the graph's), which the file holds packed:
     * at most 64 per stored byte (a binary layer stores 8, CSR less the sparser it is), so a
     * damaged count cannot make the builder allocate more than the file could describe. */
    ck_header h;
    if (ck_get_header(c, file, PACKED_FORMAT, HX_PACKED_VERSION, HX_PACKED_VERSION, 64.0, expect, &h) != 0) return -1;
    const hsize_t file_bytes = h.file_bytes;
    memset(rt, 0, sizeof *rt);
    rt->m = ckg_build(c, file, h.arch, h.in, h.n_classes, h.n_params, h.n_state);
    if (!rt->m) return -1;
    for (int i = 0; i < rt->m->n_nodes; i++) rt->layer[i].folds = -1;
    if (!c->bad && H5Lexists(file, "layers", H5P_DEFAULT) <= 0) ck_fail(c, "layers: missing group");
    hid_t layers = c->bad ? -1 : H5Gopen2(file, "layers", H5P_DEFAULT);
    H5G_info_t info;
    if (!c->bad && (layers < 0 || H5Gget_info(layers, &info) < 0)) ck_fail(c, "layers: group cannot be read");
    int stored = 0;
    for (int i = 0; i < rt->m->n_nodes && !c->bad; i++) {
        char gpath[NN_NAME_MAX + 16];
        snprintf(gpath, sizeof gpath, "layers/%s", rt->m->nodes[i].name);
        stored += H5Lexists(file, gpath, H5P_DEFAULT) > 0;
        get_node(c, file, rt, i, file_bytes);
    }
    if (!c->bad && info.nlinks != (hsize_t)stored)
        ck_fail(c, "layers: %llu groups, but only %d name a node of the graph", (unsigned long long)info.nlinks, stored);
    ck_close_group(layers);
    char why[512];
    if (!c->bad && rt_attach(rt, threads, why, sizeof why) != 0) ck_fail(c, "layers/%s", why);
    return c->bad ? -1 : 0;
}

int hx_packed_load(const char *path, const ckpt_expect *expect, int threads, rt_model *rt, char *err, size_t errlen)
{
    ck c = {path, err, errlen, 0};
    memset(rt, 0, sizeof *rt);
    h5io_quiet q = h5io_hush();
    hid_t file;
    if (h5io_open(path, PACKED_FORMAT, &file, err, errlen) != H5IO_OK) {
        c.bad = 1;
    } else {
        load(&c, file, expect, threads, rt);
        H5Fclose(file);
    }
    h5io_unhush(q);
    if (c.bad) rt_free(rt);
    return c.bad ? -1 : 0;
}

int hx_packed_is(const char *path)
{
    uint8_t head[44];
    FILE *f = fopen(path, "rb");
    size_t got = f ? fread(head, 1, sizeof head, f) : 0;
    if (f) fclose(f);
    char kind[H5IO_KIND_MAX + 1] = "";
    if (got == sizeof head) memcpy(kind, head + 12, H5IO_KIND_MAX);
    return got == sizeof head && !memcmp(head, "HXH5SEAL", 8) && !strcmp(kind, PACKED_FORMAT);
}

int hx_export(const char *run_dir, hx_packed_size *size, char *err, size_t errlen)
{
    char in[PATH_MAX], out[PATH_MAX];
    snprintf(in, sizeof in, "%s/model.h5", run_dir);
    snprintf(out, sizeof out, "%s/model.packed.h5", run_dir);
    nn_model *m = ckpt_load(in, NULL, NULL, err, errlen);
    if (!m) return -1;
    rt_model rt;
    char why[512] = "";
    if (rt_from_model(&rt, m, 1, why, sizeof why) != 0) {
        snprintf(err, errlen, "%s: cannot pack: %s", in, why);
        return -1;
    }
    int rc = hx_packed_save(out, &rt, size, err, errlen);
    rt_free(&rt);
    return rc;
}

/* Sets result.json's packed figures to sz's, adding them to records written before packed models;
 * *edit says what changed. */
static int record_packed(const char *run_dir, const hx_packed_size *sz, hx_result_edit *edit, char *err, size_t errlen)
{
    char path[PATH_MAX], *text = NULL;
    snprintf(path, sizeof path, "%s/result.json", run_dir);
    *edit = HX_RESULT_NONE;
    if (!fio_exists(path)) return 0;          /* an unfinished run: nothing recorded yet */
    if (json_load(path, 1 << 24, &text, err, errlen) != 0) return -1;
    const struct { const char *key; long long v; } fig[] = {
        { "packed_bytes", (long long)(sz->weight_bytes + sz->param_bytes) },
        { "packed_weight_bytes", (long long)sz->weight_bytes },
        { "packed_file_bytes", (long long)sz->file_bytes },
    };
    *edit = HX_RESULT_AGREES;
    for (size_t i = 0; i < sizeof fig / sizeof fig[0]; i++) {
        char key[64];
        snprintf(key, sizeof key, "footprint.%s", fig[i].key);
        double was;
        json_status st = json_get_num(text, key, &was);
        if (st == JSON_OK && was == (double)fig[i].v) continue;
        if (st == JSON_MISSING) {
            st = json_add_int(&text, "footprint", fig[i].key, fig[i].v);
            *edit = HX_RESULT_ADDED;
        } else {
            if (st == JSON_OK) st = json_set_int(&text, key, fig[i].v);
            if (*edit != HX_RESULT_ADDED) *edit = HX_RESULT_UPDATED;
        }
        if (st != JSON_OK) {
            snprintf(err, errlen, "%s: field %s is not a number (or footprint is not an object)", path, key);
            free(text);
            return -1;
        }
    }
    int rc = *edit != HX_RESULT_AGREES ? fio_write_atomic(path, text, strlen(text), err, errlen) : 0;
    free(text);
    return rc;
}

int hx_export_run(const char *run_dir, hx_packed_size *size, hx_result_edit *edit, char *err, size_t errlen)
{
    hx_run_dir d;
    if (hx_run_dir_open(&d, run_dir, err, errlen) != 0) return -1;
    int rc = hx_export(run_dir, size, err, errlen);
    if (rc == 0) rc = record_packed(run_dir, size, edit, err, errlen);
    hx_run_dir_release(&d, 0);
    return rc;
}
