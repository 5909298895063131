/* Accounting helpers shared by the pruning methods: the relative sparse index of Han et al.
 * and the sparse footprint built on it (see also mt_footprint_dense in method.h). */
#ifndef METHODS_FOOTPRINT_H
#define METHODS_FOOTPRINT_H
#include <stddef.h>
#include <stdint.h>
#include "methods/method.h"

/* Relative indexing: each stored entry records its distance to the previous one in index_bits
 * bits (distances 1 .. 2^index_bits, stored minus one); a gap too long for that gets filler
 * zero entries every 2^index_bits positions. Kept = mask (NULL: all) and w != 0 (w NULL: the
 * mask alone). Returns the
 * number of stored entries (kept + fillers, never more than n); their positions go to pos
 * (capacity n) when non-NULL, and the kept count to *kept when non-NULL. */
size_t mt_sparse_entries(const float *w, const uint8_t *mask, size_t n, int index_bits,
                         size_t *pos, size_t *kept);

/* Bytes of one layer in sparse form: entries x (value_bits + index_bits) plus fp32 biases. */
double mt_sparse_bytes(size_t entries, int value_bits, int index_bits, size_t n_bias);

/* Rewrites every weighted layer of fp (from mt_footprint_dense) as a 32-bit sparse layer:
 * nonzero, bytes (values + relative index, fillers included), macs_needed = the MACs of the
 * nonzero weights; then re-totals fp->bytes. */
void mt_footprint_sparse(const nn_model *, mt_footprint *, int index_bits_conv, int index_bits_fc);

/* fp->bytes = the layers' bytes + the fp32 bytes of parameters outside weighted layers. */
void mt_footprint_retotal(const nn_model *, mt_footprint *);

#endif
