/* Deep Compression (Han, Mao & Dally, ICLR 2016), with the pruning of Han et al. (NeurIPS 2015).
 *
 * Rounds 0 .. prune_rounds-1: prune each layer below quality x std (of the layer's weights
 * before any pruning), the threshold growing linearly to its final value when pruning is
 * iterative, then retrain with the mask at LR x retrain_lr_scale (paper: 1/10).
 * Last round: per-layer 1-D k-means over the kept weights (linear initialisation, 2^bits
 * shared values), then fine-tune the shared values: a weight transform maps every weight to
 * its centroid, and its backward sums each cluster's gradients into the centroid (the latent
 * weights are frozen), which after_backward applies with the run's LR.
 * finish: pack every layer (relative indices, codes, Huffman), check that it decodes back to
 * the weights, and report the sizes per stage (dc_layers.csv, footprint extras). */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/fileio.h"
#include "methods/deep_compression_pack.h"
#include "methods/footprint.h"
#include "methods/kmeans.h"
#include "methods/method.h"
#include "methods/prune.h"

typedef struct {
    double quality_conv, quality_fc;
    opt_floats quality;             /* per weighted layer, overrides the two above */
    int prune_rounds, retrain_epochs;
    double retrain_lr_scale;
    int bits_conv, bits_fc, index_bits_conv, index_bits_fc;
    int quant_epochs;
    double quant_lr_scale;
    int kmeans_iters;
} dc_config;

#define F(field) offsetof(dc_config, field)
static const opt_spec options[] = {
    { "quality_conv", OPT_FLOAT, F(quality_conv), "1.0", 0, 10, 1, 0, NULL,
      "conv threshold = quality x std of the layer's weights" },
    { "quality_fc", OPT_FLOAT, F(quality_fc), "1.5", 0, 10, 1, 0, NULL,
      "linear threshold = quality x std of the layer's weights" },
    { "quality", OPT_FLOATS, F(quality), "", 0, 10, 1, 0, NULL,
      "per-layer qualities in model order (one per conv/linear layer); empty = by type" },
    { "prune_rounds", OPT_INT, F(prune_rounds), "1", 1, 20, 0, 0, NULL,
      "prune+retrain rounds; the threshold reaches quality x std in the last" },
    { "retrain_epochs", OPT_INT, F(retrain_epochs), "0", 0, 100000, 0, 0, NULL,
      "epochs of each retraining round (0 = [train] epochs)" },
    { "retrain_lr_scale", OPT_FLOAT, F(retrain_lr_scale), "0.1", 0, 1, 1, 0, NULL,
      "retraining LR = [train] lr schedule x this (paper: 1/10)" },
    { "bits_conv", OPT_INT, F(bits_conv), "8", 1, 8, 0, 0, NULL,
      "shared-weight bits of conv layers (2^bits values)" },
    { "bits_fc", OPT_INT, F(bits_fc), "5", 1, 8, 0, 0, NULL,
      "shared-weight bits of linear layers" },
    { "index_bits_conv", OPT_INT, F(index_bits_conv), "8", 1, 8, 0, 0, NULL,
      "relative-index bits of conv layers" },
    { "index_bits_fc", OPT_INT, F(index_bits_fc), "5", 1, 8, 0, 0, NULL,
      "relative-index bits of linear layers" },
    { "quant_epochs", OPT_INT, F(quant_epochs), "0", 0, 100000, 0, 0, NULL,
      "epochs of centroid fine-tuning (0 = [train] epochs)" },
    { "quant_lr_scale", OPT_FLOAT, F(quant_lr_scale), "0.1", 0, 1, 1, 0, NULL,
      "centroid fine-tuning LR = [train] lr schedule x this" },
    { "kmeans_iters", OPT_INT, F(kmeans_iters), "100", 1, 10000, 0, 0, NULL,
      "maximum Lloyd iterations of the per-layer k-means" },
};
#undef F

typedef struct {
    int node, bits, index_bits, k, zero_code;
    double quality, std0;
    float centroid[256];
    double cgrad[256];
    uint8_t *assign;                /* nw cluster ids */
    mt_dc_packed packed;            /* after finish */
    size_t n_bias;
} dc_layer;

typedef struct {
    dc_config cfg;
    int n_layers;
    dc_layer *layers;
    int quantized, packed;
    double acc_pruned, acc_quantized;
} dc_state;

static void dc_forward(void *ctx, const nn_node *n, const float *w, float *w_eff, size_t nw)
{
    const dc_layer *l = ctx;
    (void)w;
    for (size_t j = 0; j < nw; j++)
        w_eff[j] = !n->mask || n->mask[j] ? l->centroid[l->assign[j]] : 0.0f;
}

/* Each centroid's gradient is the sum of its members' gradients (Han et al. 2016, eq. 3). */
static void dc_backward(void *ctx, const nn_node *n, const float *w, const float *w_eff,
                        const float *g_eff, float *g_w, size_t nw)
{
    dc_layer *l = ctx;
    (void)w; (void)w_eff;
    for (size_t j = 0; j < nw; j++) {
        if (!n->mask || n->mask[j]) l->cgrad[l->assign[j]] += g_eff[j];
        g_w[j] = 0.0f;
    }
}

static const nn_wtransform dc_transform = { "deep-compression", dc_forward, dc_backward };

static int check(const void *config, char *err, size_t errlen)
{
    const dc_config *c = config;
    if (c->quality.n > MT_MAX_LAYERS) {
        snprintf(err, errlen, "quality: %d values; at most %d layers", c->quality.n, MT_MAX_LAYERS);
        return 1;
    }
    return 0;
}

static double layer_std(const nn_node *n)
{
    double s = 0, s2 = 0;
    size_t k = 0;
    for (size_t j = 0; j < n->nw; j++) {
        if (n->mask && !n->mask[j]) continue;
        s += n->w[j]; s2 += (double)n->w[j] * n->w[j]; k++;
    }
    if (k == 0) return 0.0;
    double mean = s / (double)k, var = s2 / (double)k - mean * mean;
    return var > 0 ? sqrt(var) : 0.0;
}

static void free_state(void *state)
{
    dc_state *s = state;
    if (!s) return;
    for (int i = 0; i < s->n_layers; i++) {
        free(s->layers[i].assign);
        mt_dc_packed_free(&s->layers[i].packed);
    }
    free(s->layers);
    free(s);
}

static int setup(mt_run *run, const void *config, void **state, char *err, size_t errlen)
{
    const dc_config *c = config;
    int nodes[NN_MAX_NODES];
    int n = mt_weighted_nodes(run->model, nodes);
    if (c->quality.n && c->quality.n != n) {
        snprintf(err, errlen, "quality: %d values given, but %s has %d conv/linear layers",
                 c->quality.n, run->model->arch, n);
        return 1;
    }
    dc_state *s = calloc(1, sizeof *s);
    if (s) s->layers = calloc((size_t)(n ? n : 1), sizeof *s->layers);
    if (!s || !s->layers) { free(s); snprintf(err, errlen, "deep-compression: out of memory"); return 1; }
    s->cfg = *c;
    s->n_layers = n;
    for (int i = 0; i < n; i++) {
        dc_layer *l = &s->layers[i];
        const nn_node *nd = &run->model->nodes[nodes[i]];
        int conv = nd->kind == NN_CONV;
        l->node = nodes[i];
        l->quality = c->quality.n ? c->quality.v[i] : conv ? c->quality_conv : c->quality_fc;
        l->bits = conv ? c->bits_conv : c->bits_fc;
        l->index_bits = conv ? c->index_bits_conv : c->index_bits_fc;
        l->std0 = layer_std(nd);
        l->n_bias = nd->nb;
    }
    *state = s;
    run->n_rounds = c->prune_rounds + 1;
    return 0;
}

static void prune_round(mt_run *run, dc_state *s, int r)
{
    double frac = (double)(r + 1) / s->cfg.prune_rounds;
    size_t kept_all = 0, total = 0;
    for (int i = 0; i < s->n_layers; i++) {
        dc_layer *l = &s->layers[i];
        nn_node *n = &run->model->nodes[l->node];
        uint8_t *mask = nn_node_mask(run->model, n);
        float thr = (float)(l->quality * frac * l->std0);
        for (size_t j = 0; j < n->nw; j++)
            if (fabsf(n->w[j]) < thr) mask[j] = 0;
        nn_apply_masks(run->model);
        size_t kept = mt_kept(n);
        kept_all += kept; total += n->nw;
        fprintf(run->log, "deep-compression: round %d: %s threshold %.4g keeps %.2f%%\n", r, n->name, thr,
                100.0 * (double)kept / (double)n->nw);
    }
    fprintf(run->log, "deep-compression: pruned to %.2f%% of weights (%.1fx)\n", 100.0 * (double)kept_all / (double)total,
            kept_all ? (double)total / (double)kept_all : 0.0);
}

static int quantize(mt_run *run, dc_state *s)
{
    for (int i = 0; i < s->n_layers; i++) {
        dc_layer *l = &s->layers[i];
        nn_node *n = &run->model->nodes[l->node];
        uint8_t *mask = nn_node_mask(run->model, n);
        size_t kept = 0, entries = mt_sparse_entries(NULL, mask, n->nw, l->index_bits, NULL, &kept);
        /* Filler zeros need a code of their own; it comes out of the 2^bits budget. */
        l->zero_code = entries > kept;
        l->k = (1 << l->bits) - l->zero_code;
        float *vals = malloc((kept ? kept : 1) * sizeof *vals);
        uint8_t *va = malloc(kept ? kept : 1);
        l->assign = calloc(n->nw ? n->nw : 1, 1);
        if (!vals || !va || !l->assign) { free(vals); free(va); return -1; }
        size_t k = 0;
        for (size_t j = 0; j < n->nw; j++) if (mask[j]) vals[k++] = n->w[j];
        mt_kmeans_1d(vals, kept, l->k, s->cfg.kmeans_iters, l->centroid, va);
        k = 0;
        for (size_t j = 0; j < n->nw; j++) if (mask[j]) l->assign[j] = va[k++];
        free(vals); free(va);
        memset(l->cgrad, 0, sizeof l->cgrad);
        n->wt = &dc_transform;
        n->wt_ctx = l;
        n->frozen = 1;              /* only the centroids learn now */
    }
    s->quantized = 1;
    return 0;
}

static void round_begin(mt_run *run, void *state)
{
    dc_state *s = state;
    const dc_config *c = &s->cfg;
    if (run->round < c->prune_rounds) {
        prune_round(run, s, run->round);
        run->round_epochs = c->retrain_epochs ? c->retrain_epochs : run->epochs;
        run->lr_scale = c->retrain_lr_scale;
        return;
    }
    if (quantize(run, s) != 0) {
        fprintf(run->log, "deep-compression: out of memory while quantizing; continuing unquantized\n");
        return;
    }
    if (run->evaluate) {
        s->acc_quantized = run->evaluate(run, run->model, NULL);
        fprintf(run->log, "deep-compression: quantized (%d-bit conv, %d-bit fc): test acc %.2f%% before fine-tuning\n",
                c->bits_conv, c->bits_fc, s->acc_quantized);
    }
    run->round_epochs = c->quant_epochs ? c->quant_epochs : run->epochs;
    run->lr_scale = c->quant_lr_scale;
}

static void after_backward(mt_run *run, void *state)
{
    dc_state *s = state;
    if (!s->quantized) return;
    for (int i = 0; i < s->n_layers; i++) {
        dc_layer *l = &s->layers[i];
        for (int c = 0; c < l->k; c++) {
            l->centroid[c] -= (float)(run->lr * l->cgrad[c]);
            l->cgrad[c] = 0.0;
        }
    }
}

static void round_end(mt_run *run, void *state)
{
    dc_state *s = state;
    if (run->round == s->cfg.prune_rounds - 1) s->acc_pruned = run->round_test_acc;
}

/* The pruning stage lives in the model (masks). From the quantization round on: each layer's
 * codebook, cluster ids and centroid gradients; on load the codebook transform is attached again
 * as quantize() attached it (the layer's frozen flag comes back with the model). */
static int checkpoint(mt_run *run, void *state, mt_ckpt *io)
{
    dc_state *s = state;
    int rc = mt_ckpt_array(io, MT_I32, &s->quantized, 1, "quantized");
    rc |= mt_ckpt_array(io, MT_F64, &s->acc_pruned, 1, "acc_pruned");
    rc |= mt_ckpt_array(io, MT_F64, &s->acc_quantized, 1, "acc_quantized");
    for (int i = 0; i < s->n_layers && !rc; i++) {
        dc_layer *l = &s->layers[i];
        nn_node *n = &run->model->nodes[l->node];
        rc |= mt_ckpt_array(io, MT_F64, &l->std0, 1, "%s.std0", n->name);
        if (!s->quantized) continue;
        rc |= mt_ckpt_array(io, MT_I32, &l->k, 1, "%s.k", n->name);
        rc |= mt_ckpt_array(io, MT_I32, &l->zero_code, 1, "%s.zero_code", n->name);
        rc |= mt_ckpt_array(io, MT_F32, l->centroid, 256, "%s.centroid", n->name);
        rc |= mt_ckpt_array(io, MT_F64, l->cgrad, 256, "%s.centroid_grad", n->name);
        if (io->loading && !l->assign && !(l->assign = calloc(n->nw ? n->nw : 1, 1))) return -1;
        rc |= mt_ckpt_array(io, MT_U8, l->assign, n->nw, "%s.assign", n->name);
        if (io->loading && !rc) { n->wt = &dc_transform; n->wt_ctx = l; }
    }
    return rc ? -1 : 0;
}

/* ---- storage: pack, verify, report ------------------------------------------------------ */

typedef struct { double fp32, pruned, quantized, huffman; size_t weights, kept, entries;
                 uint64_t wbits, ibits; } dc_sizes;

static dc_sizes layer_sizes(const dc_layer *l)
{
    const mt_dc_packed *p = &l->packed;
    return (dc_sizes){ .fp32 = 4.0 * (double)(p->n + l->n_bias),
                       .pruned = mt_dc_bytes_pruned(p, l->n_bias),
                       .quantized = mt_dc_bytes_quantized(p, l->n_bias),
                       .huffman = mt_dc_bytes_huffman(p, l->n_bias),
                       .weights = p->n, .kept = p->kept, .entries = p->entries,
                       .wbits = p->wbits, .ibits = p->ibits };
}

/* Whole model: the weighted layers plus every other parameter (e.g. batch norm) at fp32. */
static dc_sizes total_sizes(const nn_model *m, const dc_state *s)
{
    dc_sizes t = { 0 };
    size_t in_layers = 0;
    for (int i = 0; i < s->n_layers; i++) {
        dc_sizes l = layer_sizes(&s->layers[i]);
        t.fp32 += l.fp32; t.pruned += l.pruned; t.quantized += l.quantized; t.huffman += l.huffman;
        t.weights += l.weights; t.kept += l.kept; t.entries += l.entries;
        t.wbits += l.wbits; t.ibits += l.ibits;
        in_layers += l.weights + s->layers[i].n_bias;
    }
    double other = 4.0 * (double)(m->n_params - in_layers);
    t.fp32 += other; t.pruned += other; t.quantized += other; t.huffman += other;
    return t;
}

static double per_entry(uint64_t bits, size_t entries) { return entries ? (double)bits / (double)entries : 0.0; }

static void csv_row(FILE *f, const char *name, int bits, int ib, dc_sizes z)
{
    fprintf(f, "%s,%zu,%.3f,%d,%.3f,%d,%.3f,%.0f,%.1f,%.1f,%.1f,%.3f,%.3f,%.2f\n", name, z.weights,
            100.0 * (double)z.kept / (double)z.weights, bits, per_entry(z.wbits, z.entries), ib,
            per_entry(z.ibits, z.entries), z.fp32, z.pruned, z.quantized, z.huffman,
            100.0 * z.quantized / z.fp32, 100.0 * z.huffman / z.fp32, z.fp32 / z.huffman);
}

static void write_csv(const mt_run *run, const dc_state *s)
{
    if (!run->run_dir) return;
    char path[4096], tmp[4200], err[4400];
    snprintf(path, sizeof path, "%s/dc_layers.csv", run->run_dir);
    FILE *f = fio_open_tmp(path, tmp, sizeof tmp, err, sizeof err);   /* written whole or not at all */
    if (!f) { fprintf(run->log, "deep-compression: %s\n", err); return; }
    fprintf(f, "layer,weights,kept_pct,w_bits,w_bits_huffman,index_bits,index_bits_huffman,"
               "bytes_fp32,bytes_pruned,bytes_quantized,bytes_huffman,pct_pq,pct_pqh,ratio_pqh\n");
    for (int i = 0; i < s->n_layers; i++) {
        const dc_layer *l = &s->layers[i];
        csv_row(f, run->model->nodes[l->node].name, l->bits, l->index_bits, layer_sizes(l));
    }
    csv_row(f, "total", 0, 0, total_sizes(run->model, s));
    if (fio_close_commit(f, tmp, path, err, sizeof err) != 0) fprintf(run->log, "deep-compression: %s\n", err);
}

static int finish(mt_run *run, void *state, char *err, size_t errlen)
{
    dc_state *s = state;
    if (!s->quantized) { snprintf(err, errlen, "deep-compression: the model was never quantized"); return 1; }
    for (int i = 0; i < s->n_layers; i++) {
        dc_layer *l = &s->layers[i];
        nn_node *n = &run->model->nodes[l->node];
        float *eff = malloc(n->nw * sizeof *eff), *back = malloc(n->nw * sizeof *back);
        int bad = !eff || !back ||
                  mt_dc_pack(n->mask, l->assign, n->nw, l->centroid, l->k, l->zero_code, l->bits,
                             l->index_bits, &l->packed) != 0;
        if (!bad) {
            dc_forward(l, n, n->w, eff, n->nw);
            bad = mt_dc_unpack(&l->packed, back) != 0 || memcmp(eff, back, n->nw * sizeof *eff) != 0;
            if (bad) snprintf(err, errlen, "deep-compression: layer %s: packed form does not decode "
                              "to the layer's weights", n->name);
        } else {
            snprintf(err, errlen, "deep-compression: out of memory packing layer %s", n->name);
        }
        /* The deployable model holds the shared values directly: no transform, no state. */
        if (eff && !bad) memcpy(n->w, eff, n->nw * sizeof *eff);
        n->wt = NULL; n->wt_ctx = NULL; n->frozen = 0;
        n->wform = (nn_wform){ .kind = NN_WFORM_CODEBOOK, .bits = l->bits, .index_bits = l->index_bits };
        free(eff); free(back);
        if (bad) return 1;
    }
    s->packed = 1;
    dc_sizes t = total_sizes(run->model, s);
    fprintf(run->log, "deep-compression: %.0f B fp32 -> pruned %.0f B (%.1fx) -> quantized %.0f B (%.1fx) -> "
            "huffman %.0f B (%.1fx)\n", t.fp32, t.pruned, t.fp32 / t.pruned, t.quantized,
            t.fp32 / t.quantized, t.huffman, t.fp32 / t.huffman);
    write_csv(run, s);
    return 0;
}

static void account(const mt_run *run, void *state, mt_footprint *fp)
{
    const dc_state *s = state;
    if (!s->packed) return;         /* finish failed: the dense footprint stands */
    for (int i = 0; i < s->n_layers; i++) {
        const dc_layer *l = &s->layers[i];
        mt_layer_fp *f = &fp->layers[i];
        dc_sizes z = layer_sizes(l);
        f->w_bits = l->bits;
        f->nonzero = z.kept;
        f->bytes = z.huffman;
        f->macs_needed = z.weights ? f->macs_dense * (double)z.kept / (double)z.weights : 0.0;
    }
    mt_footprint_retotal(run->model, fp);
    dc_sizes t = total_sizes(run->model, s);
    mt_footprint_extra(fp, "dc.bytes_fp32", t.fp32);
    mt_footprint_extra(fp, "dc.bytes_pruned", t.pruned);
    mt_footprint_extra(fp, "dc.bytes_quantized", t.quantized);
    mt_footprint_extra(fp, "dc.bytes_huffman", t.huffman);
    mt_footprint_extra(fp, "dc.ratio_pruned", t.fp32 / t.pruned);
    mt_footprint_extra(fp, "dc.ratio_quantized", t.fp32 / t.quantized);
    mt_footprint_extra(fp, "dc.ratio_huffman", t.fp32 / t.huffman);
    mt_footprint_extra(fp, "dc.kept_pct", 100.0 * (double)t.kept / (double)t.weights);
    mt_footprint_extra(fp, "dc.w_bits_huffman", per_entry(t.wbits, t.entries));
    mt_footprint_extra(fp, "dc.index_bits_huffman", per_entry(t.ibits, t.entries));
    mt_footprint_extra(fp, "dc.acc_pruned", s->acc_pruned);
    mt_footprint_extra(fp, "dc.acc_quantized", s->acc_quantized);
}

const method method_deep_compression = {
    .name = "deep-compression",
    .title = "Deep Compression",
    .paper = "Han, Mao & Dally, Deep Compression, ICLR 2016 (pruning: Han et al., NeurIPS 2015)",
    .options = options, .n_options = (int)(sizeof options / sizeof *options),
    .config_size = sizeof(dc_config),
    .needs_baseline = 1,
    .check = check,
    .setup = setup,
    .round_begin = round_begin,
    .after_backward = after_backward,
    .round_end = round_end,
    .finish = finish,
    .account = account,
    .free_state = free_state,
    .checkpoint = checkpoint,
};
