/* Network surgery for filter pruning: which convs can lose output channels without breaking
 * the graph, folding what the removed channels still contribute, and building the smaller
 * dense network with the surviving weights. */
#ifndef METHODS_SURGERY_H
#define METHODS_SURGERY_H
#include <stddef.h>
#include "nn/model.h"

/* Kept output channels per node: keep[i] (n_keep[i] entries, ascending) for the convs being
 * shrunk; NULL = all channels kept. */
typedef struct mt_channel_plan {
    int n_keep[NN_MAX_NODES];
    const int *keep[NN_MAX_NODES];
} mt_channel_plan;

/* A conv's output channels can be removed when its output reaches exactly one conv or linear
 * layer through a chain of channel-wise nodes (bn, relu, hardtanh, pools, gap, flatten) and
 * never an add or a branch. Returns the consumer's index and the chain's last node in
 * *chain_end (the node the consumer reads), or -1 with the reason in why. */
int mt_surgery_consumer(const nn_model *, int conv, int *chain_end, char *why, size_t whylen);

/* Makes every removed channel contribute nothing, in place: its constant output (the channel's
 * filter is zero, so the chain yields one value everywhere) is folded into the consumer's
 * bias (or the batch norm after a bias-free consumer) when that is exact (a linear consumer,
 * or a conv without padding), and the channel's bias and batch-norm affine are zeroed.
 * Returns the number of channels whose constant had to be dropped instead of folded. */
int mt_surgery_fold(nn_model *, const mt_channel_plan *);

/* The smaller network: same nodes and names, shrunk channels, surviving weights, biases and
 * batch-norm statistics copied. NULL with a message in err. */
nn_model *mt_surgery_shrink(const nn_model *, const mt_channel_plan *, char *err, size_t errlen);

#endif
