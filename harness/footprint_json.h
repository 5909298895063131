/* A method's footprint (methods/method.h) in JSON: the per-layer array result.json holds, and
 * the whole footprint kept in a finished checkpoint's runner state. A method's `account` needs
 * its training state, which a finished checkpoint no longer holds, so a report resumed from
 * that checkpoint (harness/run.c) reads the footprint back instead of computing it. */
#ifndef HARNESS_FOOTPRINT_JSON_H
#define HARNESS_FOOTPRINT_JSON_H
#include "base/json.h"
#include "methods/method.h"

/* "layers": [{name, w_bits, a_bits, weights, nonzero, bytes, macs_dense, macs_needed}, ...] */
void hx_fp_put_layers(json_w *, const mt_footprint *);
/* key: {bytes_fp32, bytes, layers, extras: [{key, value}, ...]}, every number exact. */
void hx_fp_put_final(json_w *, const char *key, const mt_footprint *);
/* Reads hx_fp_put_final's object at key (a dotted path) back: a new footprint (free it), or
 * NULL when the text has none or a broken one. */
mt_footprint *hx_fp_get_final(const char *text, const char *key);

#endif
