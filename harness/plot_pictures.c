/* harness plot --pictures / --samples (see plot.h): a run's files turned into PNG pictures by
 * harness/pictures.c. Nothing is trained here: a baseline that was never cached is reported,
 * not made. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "harness/checkpoint.h"
#include "harness/data_store.h"
#include "base/fileio.h"
#include "harness/baseline.h"
#include "harness/ini_strict.h"
#include "harness/pictures.h"
#include "harness/plot.h"

enum { CONFIG_MAX_BYTES = 1 << 20 };

static int save_picture(const char *out_dir, const char *kind, const char *a, const char *b, hx_picture *p,
                        FILE *out, const char *about, char *err, size_t errlen)
{
    char sa[RR_PATH_MAX], sb[RR_PATH_MAX], path[3 * RR_PATH_MAX];
    hx_plot_file_name(a, sa, sizeof sa);
    hx_plot_file_name(b, sb, sizeof sb);
    snprintf(path, sizeof path, "%s/%s_%s%s%s.png", out_dir, kind, sa, *sb ? "_" : "", sb);
    int rc = pic_write(path, p, err, errlen);
    if (rc == 0) fprintf(out, "  %s (%dx%d): %s\n", path, p->w, p->h, about);
    pic_free(p);
    return rc;
}

int hx_plot_samples(const char *dataset, const char *out_dir, int per_class, FILE *out, char *err, size_t errlen)
{
    ds_dataset ds;
    if (fio_mkdir_p(out_dir, err, errlen) != 0 || hx_dataset_open(dataset, &ds, out, err, errlen) != 0) return -1;
    hx_picture p;
    int rc = pic_samples(&ds.test, ds.c, ds.h, ds.w, ds.n_classes, per_class, &p, err, errlen);
    if (rc == 0) {
        char about[DS_MAX_CLASSES * 34 + 128];
        int at = snprintf(about, sizeof about, "the first %d test images of each class, one row per class:", per_class);
        for (int k = 0; k < ds.n_classes && at < (int)sizeof about; k++)
            at += snprintf(about + at, sizeof about - (size_t)at, " %s", ds.class_names[k]);
        rc = save_picture(out_dir, "samples", ds.name, "", &p, out, about, err, errlen);
    }
    ds_free(&ds);
    return rc;
}

/* --- the run's models ------------------------------------------------------------------------ */
static int ini_pretrained(void *user, int line, const char *section, const char *name, const char *value, char *err,
                          size_t errlen)
{
    (void)line; (void)err; (void)errlen;
    if (strcmp(section, "model") == 0 && strcmp(name, "pretrained") == 0) snprintf(user, RR_PATH_MAX, "%s", value);
    return 0;
}

/* [model] pretrained of the run's resolved config.ini ("" when it has none). */
static int read_pretrained(const char *run_dir, char *pretrained, char *err, size_t errlen)
{
    char path[RR_PATH_MAX + 16], *text;
    size_t len;
    snprintf(path, sizeof path, "%s/config.ini", run_dir);
    pretrained[0] = '\0';
    if (fio_read_all(path, CONFIG_MAX_BYTES, &text, &len, err, errlen) != 0) return -1;
    int rc = ini_strict_parse(text, len, path, ini_pretrained, pretrained, err, errlen);
    free(text);
    return rc;
}

/* The model the run started from: the cached baseline, else the baseline run's own model.h5.
 * NULL with a note in why when it is not there (never trained, or cleared). */
static nn_model *load_baseline(const char *pretrained, char *from, size_t fromlen, char *why, size_t whylen)
{
    char cache[RR_PATH_MAX], run_dir[RR_PATH_MAX], hash[17];
    if (hx_baseline_files(pretrained, cache, sizeof cache, run_dir, sizeof run_dir, hash, why, whylen) != 0)
        return NULL;
    snprintf(from, fromlen, "%s", cache);
    if (!fio_exists(from)) snprintf(from, fromlen, "%s/model.h5", run_dir);
    if (!fio_exists(from)) {
        snprintf(why, whylen, "its model is neither cached (%s) nor in %s", cache, run_dir);
        return NULL;
    }
    return ckpt_load(from, NULL, NULL, why, whylen);
}

static const nn_node *first_weighted(const nn_model *m)
{
    for (int i = 0; i < m->n_nodes; i++)
        if (nn_is_weighted(&m->nodes[i])) return &m->nodes[i];
    return NULL;
}

/* A first layer's filters as n x c x kh x kw: a conv's kernels, or a linear layer reading the
 * whole input (an MLP) with each output's weights laid out as an input image. */
static int filter_shape(const nn_model *m, const nn_node *n, int shape[4])
{
    if (n->kind == NN_CONV) {
        shape[0] = n->out_c; shape[1] = n->in_dims.c; shape[2] = shape[3] = n->k;
    } else if (n->nw == (size_t)n->out_c * nn_dims_size(m->in_dims)) {
        shape[0] = n->out_c; shape[1] = m->in_dims.c; shape[2] = m->in_dims.h; shape[3] = m->in_dims.w;
    } else {
        return -1;
    }
    return 0;
}

static float abs_max(const float *w, const uint8_t *mask, size_t n, float m)
{
    for (size_t i = 0; i < n; i++)
        if (!(mask && !mask[i]) && fabsf(w[i]) > m) m = fabsf(w[i]);
    return m;
}

static int draw_filters(const nn_model *final, const nn_model *base, const char *run_id, const char *out_dir,
                        FILE *out, char *err, size_t errlen)
{
    const nn_node *f = first_weighted(final), *b = base ? first_weighted(base) : NULL;
    int shape[4];
    if (!f || filter_shape(final, f, shape) != 0) {
        fprintf(out, "  no filters drawn: the first weighted layer of %s neither convolves nor reads the input whole\n",
                run_id);
        return 0;
    }
    if (b && (strcmp(b->name, f->name) != 0 || b->nw != f->nw)) {
        fprintf(out, "  the baseline's first layer (%s, %zu weights) differs from the final one (%s, %zu): drawn "
                     "after compression only\n", b->name, b->nw, f->name, f->nw);
        b = NULL;
    }
    float absmax = abs_max(f->w, f->mask, f->nw, b ? abs_max(b->w, b->mask, b->nw, 0) : 0);
    char about[256];
    hx_picture p;
    for (int k = b ? 0 : 1; k < 2; k++) {
        const nn_node *n = k ? f : b;
        if (pic_filters(n->w, n->mask, shape[0], shape[1], shape[2], shape[3], absmax, &p, err, errlen) != 0)
            return -1;
        snprintf(about, sizeof about, "%s %s: %d filters of %dx%dx%d, gray = 0, black/white = -/+%.4g%s", n->name,
                 k ? "after compression (final model)" : "before (the baseline it started from)", shape[0],
                 shape[1], shape[2], shape[3], absmax, b ? " (one scale for both)" : "");
        if (save_picture(out_dir, "filters", run_id, k ? "final" : "baseline", &p, out, about, err, errlen) != 0)
            return -1;
    }
    return 0;
}

static int draw_masks(const nn_model *m, const char *run_id, const char *out_dir, FILE *out, char *err, size_t errlen)
{
    int drawn = 0;
    for (int i = 0; i < m->n_nodes; i++) {
        const nn_node *n = &m->nodes[i];
        if (!nn_is_weighted(n) || !n->mask) continue;
        int conv = n->kind == NN_CONV, k = conv ? n->k : 1;
        int in = (int)(n->nw / ((size_t)n->out_c * (size_t)k * (size_t)k));
        size_t kept = 0;
        for (size_t j = 0; j < n->nw; j++) kept += n->mask[j] != 0;
        hx_picture p;
        if (pic_mask(n->mask, n->out_c, in, k, k, &p, err, errlen) != 0) return -1;
        char about[256];
        snprintf(about, sizeof about, "%s: %zu of %zu weights kept (%.2f%%), rows = %d outputs, columns = %d inputs%s",
                 n->name, kept, n->nw, 100.0 * (double)kept / (double)n->nw, n->out_c, in,
                 conv ? ", one cell per kernel" : "");
        char name[RR_NAME_MAX + 8];
        snprintf(name, sizeof name, "%02d-%s", drawn + 1, n->name);
        if (save_picture(out_dir, "masks", run_id, name, &p, out, about, err, errlen) != 0) return -1;
        drawn++;
    }
    if (!drawn) fprintf(out, "  no pruning masks in the final model of %s: none drawn\n", run_id);
    return 0;
}

int hx_plot_pictures(const char *run_dir, const char *out_dir, int per_class, FILE *out, char *err, size_t errlen)
{
    rr_run run;
    char pretrained[RR_PATH_MAX], model_path[RR_PATH_MAX + 16];
    if (rr_read_run(run_dir, &run, err, errlen) != 0 || read_pretrained(run_dir, pretrained, err, errlen) != 0)
        return -1;
    snprintf(model_path, sizeof model_path, "%s/model.h5", run_dir);
    nn_model *final = ckpt_load(model_path, NULL, NULL, err, errlen);
    if (!final) return -1;
    fprintf(out, "pictures of run %s (%s on %s):\n", run.run_id, run.arch, run.dataset);
    int rc = hx_plot_samples(run.dataset, out_dir, per_class, out, err, errlen);
    nn_model *base = NULL;
    if (rc == 0 && pretrained[0]) {
        char from[RR_PATH_MAX + 16], why[3 * RR_PATH_MAX];
        base = load_baseline(pretrained, from, sizeof from, why, sizeof why);
        if (!base) fprintf(out, "  the baseline [model] pretrained = %s is not drawn: %s\n", pretrained, why);
    } else if (rc == 0) {
        fprintf(out, "  no [model] pretrained: the run trained from its seed, so only its final filters are drawn\n");
    }
    if (rc == 0) rc = draw_filters(final, base, run.run_id, out_dir, out, err, errlen);
    if (rc == 0) rc = draw_masks(final, run.run_id, out_dir, out, err, errlen);
    nn_model_free(base);
    nn_model_free(final);
    return rc;
}
