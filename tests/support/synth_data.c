#include "synth_data.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void fill(ds_split *s, const uint8_t *patterns, size_t per, int n_classes, uint32_t n, nn_rng *rng)
{
    s->n = n;
    s->images = malloc(per * n);
    s->labels = malloc(n);
    for (uint32_t i = 0; i < n; i++) {
        int y = (int)nn_rng_below(rng, (uint32_t)n_classes);
        s->labels[i] = (uint8_t)y;
        for (size_t k = 0; k < per; k++) {
            int v = patterns[(size_t)y * per + k] + (int)(nn_rng_normal(rng) * 60.0f);
            s->images[i * per + k] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
        }
    }
}

void synth_dataset(ds_dataset *ds, const char *name, int c, int h, int w, int n_classes,
                   uint32_t n_train, uint32_t n_test, uint64_t seed)
{
    memset(ds, 0, sizeof *ds);
    snprintf(ds->name, sizeof ds->name, "%s", name);
    ds->c = c; ds->h = h; ds->w = w; ds->n_classes = n_classes;
    for (int k = 0; k < n_classes; k++) snprintf(ds->class_names[k], sizeof ds->class_names[k], "class%d", k);
    nn_rng rng;
    nn_rng_seed(&rng, seed, 7);
    size_t per = (size_t)c * h * w;
    uint8_t *patterns = malloc(per * (size_t)n_classes);
    for (size_t k = 0; k < per * (size_t)n_classes; k++) patterns[k] = nn_rng_uniform(&rng) < 0.5f ? 40 : 215;
    fill(&ds->train, patterns, per, n_classes, n_train, &rng);
    fill(&ds->test, patterns, per, n_classes, n_test, &rng);
    free(patterns);
    ds_compute_stats(ds);
}

int synth_dataset_save(const char *dir, const char *name, int c, int h, int w, int n_classes,
                       uint32_t n_train, uint32_t n_test, uint64_t seed)
{
    ds_dataset ds;
    synth_dataset(&ds, name, c, h, w, n_classes, n_train, n_test, seed);
    /* Its provenance, as a prepared store records its raw files: the generator and its seed. */
    snprintf(ds.sources[0].file, sizeof ds.sources[0].file, "synth-seed-%llu", (unsigned long long)seed);
    ds.sources[0].bytes = (uint64_t)(n_train + n_test) * (uint64_t)(c * h * w);
    ds.sources[0].crc32 = (uint32_t)seed;
    ds.n_sources = 1;
    char path[1024], err[1024];
    snprintf(path, sizeof path, "%s/%s.h5", dir, name);
    int rc = ds_save_h5(&ds, path, err, sizeof err);
    if (rc != 0) fprintf(stderr, "synth_dataset_save: %s\n", err);
    ds_free(&ds);
    return rc;
}
