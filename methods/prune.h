/* Mask helpers shared by the pruning methods (magnitude, Lottery Ticket, Deep Compression). */
#ifndef METHODS_PRUNE_H
#define METHODS_PRUNE_H
#include <stddef.h>
#include "nn/model.h"

/* Indices of the conv/linear nodes in model order; returns their count (<= NN_MAX_NODES). */
int mt_weighted_nodes(const nn_model *, int *idx);

/* Weights a layer still keeps (mask 1, or all when it has no mask). */
size_t mt_kept(const nn_node *);

/* Prunes the `count` smallest-magnitude kept weights pooled over the given nodes (one global
 * threshold; ties broken by node order, then position), creating masks as needed and zeroing
 * the pruned latent weights. Returns the number pruned (count, or fewer if fewer are kept). */
size_t mt_prune_smallest(nn_model *, const int *nodes, int n_nodes, size_t count);

#endif
