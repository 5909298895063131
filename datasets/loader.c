/* Batch loader: gathers uint8 images by index, normalizes them per batch into float NCHW, and
 * optionally augments (4-pixel zero pad + random crop, horizontal flip; cutout). Also the
 * validation split and the training subset. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include "datasets/ds_internal.h"

enum { DS_PAD = 4 };
static const uint64_t DS_LOADER_STREAM = 0x6c6f61646572ull;   /* "loader": own stream of the seed */
static const uint64_t DS_SPLIT_STREAM = 0x76616c696461ull;    /* "valida" */
static const uint64_t DS_SUBSET_STREAM = 0x737562736574ull;   /* "subset" */

int ds_loader_init(ds_loader *L, const ds_dataset *ds, const ds_split *split, uint32_t first, uint32_t n,
                   int batch, int shuffle, int augment, uint64_t seed) {
    assert(L && ds && split);
    assert(ds->c >= 1 && ds->c <= DS_MAX_CHANNELS && "ds_loader_next normalises through one table per channel");
    memset(L, 0, sizeof *L);
    if (batch < 1 || n == 0 || first > split->n || n > split->n - first) return -1;
    L->order = malloc((size_t)n * sizeof *L->order);
    if (!L->order) return -1;
    for (uint32_t i = 0; i < n; i++) L->order[i] = first + i;
    L->ds = ds;
    L->split = split;
    L->n = n;
    L->batch = batch;
    L->shuffle = shuffle;
    L->augment = augment;
    nn_rng_seed(&L->rng, seed, DS_LOADER_STREAM);
    ds_loader_rewind(L);
    return 0;
}

void ds_loader_free(ds_loader *L) {
    if (!L) return;
    free(L->order);
    L->order = NULL;
    L->n = L->pos = 0;
}

void ds_loader_rewind(ds_loader *L) {
    L->pos = 0;
    if (L->shuffle) nn_rng_shuffle(&L->rng, L->order, L->n);
}

/* One image: lut maps a raw byte to its normalized value for the channel. (dx, dy) is the crop
 * offset into the padded image minus the pad, so source pixel = (y + dy, x + dx). */
static void put_image(const uint8_t *src, float *dst, int c, int h, int w, float lut[][256],
                      int dx, int dy, int flip) {
    for (int ch = 0; ch < c; ch++) {
        const uint8_t *s = src + (size_t)ch * h * w;
        float *d = dst + (size_t)ch * h * w;
        const float *t = lut[ch];
        for (int y = 0; y < h; y++) {
            int sy = y + dy;
            for (int x = 0; x < w; x++) {
                int sx = (flip ? w - 1 - x : x) + dx;
                int inside = sy >= 0 && sy < h && sx >= 0 && sx < w;
                d[(size_t)y * w + x] = t[inside ? s[(size_t)sy * w + sx] : 0];
            }
        }
    }
}

/* Zeroes the size x size square whose top-left is (cy - size/2, cx - size/2), clipped to the
 * image, in every channel: the official Cutout's mask (zero is the normalized channel mean). */
static void cut_square(float *img, int c, int h, int w, int cy, int cx, int size) {
    int y0 = cy - size / 2, x0 = cx - size / 2, y1 = y0 + size, x1 = x0 + size;
    if (y0 < 0) y0 = 0;
    if (x0 < 0) x0 = 0;
    if (y1 > h) y1 = h;
    if (x1 > w) x1 = w;
    for (int ch = 0; ch < c; ch++)
        for (int y = y0; y < y1; y++)
            for (int x = x0; x < x1; x++) img[((size_t)ch * h + y) * w + x] = 0.0f;
}

int ds_loader_next(ds_loader *L, float *x, uint8_t *y) {
    assert(L && L->order && x && y);
    const ds_dataset *ds = L->ds;
    uint32_t left = L->n - L->pos;
    int k = left < (uint32_t)L->batch ? (int)left : L->batch;
    if (k == 0) return 0;
    float lut[DS_MAX_CHANNELS][256];
    for (int ch = 0; ch < ds->c; ch++)
        for (int p = 0; p < 256; p++) lut[ch][p] = ((float)p / 255.0f - ds->mean[ch]) / ds->std[ch];
    size_t img = (size_t)ds->c * ds->h * ds->w;
    for (int b = 0; b < k; b++) {
        uint32_t idx = L->order[L->pos + (uint32_t)b];
        int dx = 0, dy = 0, flip = 0;
        if (L->augment) {
            dx = (int)nn_rng_below(&L->rng, 2 * DS_PAD + 1) - DS_PAD;
            dy = (int)nn_rng_below(&L->rng, 2 * DS_PAD + 1) - DS_PAD;
            flip = nn_rng_uniform(&L->rng) < 0.5f;
        }
        put_image(L->split->images + (size_t)idx * img, x + (size_t)b * img, ds->c, ds->h, ds->w, lut, dx, dy, flip);
        if (L->cutout > 0) {   /* drawn only then: runs without it keep their random streams */
            int cy = (int)nn_rng_below(&L->rng, (uint32_t)ds->h), cx = (int)nn_rng_below(&L->rng, (uint32_t)ds->w);
            cut_square(x + (size_t)b * img, ds->c, ds->h, ds->w, cy, cx, L->cutout);
        }
        y[b] = L->split->labels[idx];
    }
    L->pos += (uint32_t)k;
    return k;
}

/* 1 for n_pick of n indices, the last n_pick of a shuffle drawn from (seed, stream); NULL when
 * out of memory. */
static uint8_t *draw_marks(uint32_t n, uint32_t n_pick, uint64_t seed, uint64_t stream) {
    uint32_t *perm = malloc((size_t)n * sizeof *perm);
    uint8_t *marked = calloc(n, 1);
    if (!perm || !marked) {
        free(perm);
        free(marked);
        return NULL;
    }
    nn_rng rng;
    nn_rng_seed(&rng, seed, stream);
    for (uint32_t i = 0; i < n; i++) perm[i] = i;
    nn_rng_shuffle(&rng, perm, n);
    for (uint32_t i = n - n_pick; i < n; i++) marked[perm[i]] = 1;
    free(perm);
    return marked;
}

/* Moves the marked images of s to the end of `to` (NULL: drops them); both keep store order.
 * Compacts in place (the write index never passes the read index), then shrinks s. */
static void move_marked(ds_split *s, size_t img, const uint8_t *marked, ds_split *to) {
    uint32_t kept = 0;
    for (uint32_t i = 0; i < s->n; i++) {
        if (marked[i] && !to) continue;
        ds_split *dst = marked[i] ? to : s;
        uint32_t at = marked[i] ? to->n++ : kept++;
        if (dst == s && at == i) continue;
        memmove(dst->images + (size_t)at * img, s->images + (size_t)i * img, img);
        dst->labels[at] = s->labels[i];
    }
    s->n = kept;
    uint8_t *im = realloc(s->images, (size_t)kept * img);   /* shrinking: failure keeps the old block */
    if (im) s->images = im;
    uint8_t *lb = realloc(s->labels, kept);
    if (lb) s->labels = lb;
}

int ds_split_validation(ds_dataset *ds, uint32_t n_val, uint64_t seed, ds_split *val, char *err, size_t errlen) {
    assert(ds && val);
    memset(val, 0, sizeof *val);
    uint32_t n = ds->train.n;
    if (n_val == 0 || n_val >= n)
        return ds_fail(err, errlen, "%s: validation size %u must be between 1 and %u (the training set has %u images)",
                       ds->name, n_val, n ? n - 1 : 0, n);
    size_t img = (size_t)ds->c * ds->h * ds->w;
    uint8_t *is_val = draw_marks(n, n_val, seed, DS_SPLIT_STREAM);
    if (!is_val || ds_split_reserve(val, n_val, img, err, errlen)) {
        free(is_val);
        ds_split_free(val);
        return ds_fail(err, errlen, "%s: out of memory for a validation split of %u images", ds->name, n_val);
    }
    move_marked(&ds->train, img, is_val, val);
    free(is_val);
    return 0;
}

int ds_split_subset(ds_dataset *ds, uint32_t n_keep, uint64_t seed, char *err, size_t errlen) {
    assert(ds);
    uint32_t n = ds->train.n;
    if (n_keep == 0 || n_keep >= n) return 0;
    uint8_t *drop = draw_marks(n, n - n_keep, seed, DS_SUBSET_STREAM);
    if (!drop) return ds_fail(err, errlen, "%s: out of memory drawing a training subset of %u images", ds->name, n_keep);
    move_marked(&ds->train, (size_t)ds->c * ds->h * ds->w, drop, NULL);
    free(drop);
    return 0;
}
