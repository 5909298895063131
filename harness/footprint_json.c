/* Footprints in JSON (see footprint_json.h). */
#include "harness/footprint_json.h"
#include <stdio.h>
#include <stdlib.h>

void hx_fp_put_layers(json_w *j, const mt_footprint *fp)
{
    json_arr_begin(j, "layers");
    for (int i = 0; i < fp->n_layers; i++) {
        const mt_layer_fp *l = &fp->layers[i];
        json_obj_begin(j, NULL);
        json_str(j, "name", l->name);
        json_int(j, "w_bits", l->w_bits);
        json_int(j, "a_bits", l->a_bits);
        json_int(j, "weights", (long long)l->n_weights);
        json_int(j, "nonzero", (long long)l->nonzero);
        json_num(j, "bytes", l->bytes);
        json_num(j, "macs_dense", l->macs_dense);
        json_num(j, "macs_needed", l->macs_needed);
        json_obj_end(j);
    }
    json_arr_end(j);
}

void hx_fp_put_final(json_w *j, const char *key, const mt_footprint *fp)
{
    json_obj_begin(j, key);
    json_num(j, "bytes_fp32", fp->bytes_fp32);
    json_num(j, "bytes", fp->bytes);
    hx_fp_put_layers(j, fp);
    json_arr_begin(j, "extras");
    for (int i = 0; i < fp->n_extras; i++) {
        json_obj_begin(j, NULL);
        json_str(j, "key", fp->extra_key[i]);
        json_num(j, "value", fp->extra_val[i]);
        json_obj_end(j);
    }
    json_arr_end(j);
    json_obj_end(j);
}

mt_footprint *hx_fp_get_final(const char *text, const char *key)
{
    int nl, ne;
    char path[160];
    snprintf(path, sizeof path, "%s.layers", key);
    if (json_get_count(text, path, &nl) != JSON_OK || nl > MT_MAX_LAYERS) return NULL;
    snprintf(path, sizeof path, "%s.extras", key);
    if (json_get_count(text, path, &ne) != JSON_OK || ne > MT_MAX_EXTRAS) return NULL;
    mt_footprint *fp = calloc(1, sizeof *fp);
    if (!fp) return NULL;
    fp->n_layers = nl;
    fp->n_extras = ne;
    snprintf(path, sizeof path, "%s.bytes_fp32", key);
    int bad = json_get_num(text, path, &fp->bytes_fp32) != JSON_OK;
    snprintf(path, sizeof path, "%s.bytes", key);
    bad |= json_get_num(text, path, &fp->bytes) != JSON_OK;
    for (int i = 0; i < nl && !bad; i++) {
        mt_layer_fp *l = &fp->layers[i];
        const struct { const char *name; double *d; int *i; size_t *z; } f[] = {
            {"w_bits", NULL, &l->w_bits, NULL}, {"a_bits", NULL, &l->a_bits, NULL}, {"weights", NULL, NULL, &l->n_weights},
            {"nonzero", NULL, NULL, &l->nonzero}, {"bytes", &l->bytes, NULL, NULL},
            {"macs_dense", &l->macs_dense, NULL, NULL}, {"macs_needed", &l->macs_needed, NULL, NULL},
        };
        snprintf(path, sizeof path, "%s.layers.%d.name", key, i);
        bad |= json_get_str(text, path, l->name, sizeof l->name) != JSON_OK;
        for (size_t k = 0; k < sizeof f / sizeof *f && !bad; k++) {
            double v;
            snprintf(path, sizeof path, "%s.layers.%d.%s", key, i, f[k].name);
            bad |= json_get_num(text, path, &v) != JSON_OK;
            if (f[k].d) *f[k].d = v;
            else if (f[k].i) *f[k].i = (int)v;
            else *f[k].z = (size_t)v;
        }
    }
    for (int i = 0; i < ne && !bad; i++) {
        snprintf(path, sizeof path, "%s.extras.%d.key", key, i);
        bad |= json_get_str(text, path, fp->extra_key[i], sizeof fp->extra_key[i]) != JSON_OK;
        snprintf(path, sizeof path, "%s.extras.%d.value", key, i);
        bad |= json_get_num(text, path, &fp->extra_val[i]) != JSON_OK;
    }
    if (bad) { free(fp); return NULL; }
    return fp;
}
