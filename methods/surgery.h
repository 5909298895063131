/* Network surgery for filter pruning: which convs can lose output channels, and which must
 * lose the same ones (residual additions sum their outputs channel by channel); building the
 * smaller dense network that computes exactly what the network with zeroed filters computes. */
#ifndef METHODS_SURGERY_H
#define METHODS_SURGERY_H
#include <stddef.h>
#include "nn/model.h"

enum { MT_GROUP_MAX = 64 };

/* The one node reading `node`'s output, or -1 when none or several do. */
int mt_only_consumer(const nn_model *, int node);

/* Convs whose output channels are removed together: a conv alone, or every conv whose output
 * reaches the same residual addition, directly or through a chain of them (in a ResNet stage:
 * the stem or the projection shortcut and the second conv of each block). */
typedef struct mt_channel_group {
    int n;                      /* members */
    int conv[MT_GROUP_MAX];     /* node indices, ascending */
    int channels;               /* their common number of output channels */
} mt_channel_group;

/* The group `conv` belongs to. 0, or -1 with the reason its channels cannot be removed in why:
 * a group member or a layer reading the channels carries a weight or input transform or the
 * adder kernel, the channels reach the network output, or an addition ties them to the model
 * input, a linear layer's output or a flattened tensor. */
int mt_surgery_group(const nn_model *, int conv, mt_channel_group *, char *why, size_t whylen);

/* Kept output channels per node: keep[i] (n_keep[i] entries, ascending) for the convs being
 * shrunk; NULL = all channels kept. The members of a group must keep the same channels. */
typedef struct mt_channel_plan {
    int n_keep[NN_MAX_NODES];
    const int *keep[NN_MAX_NODES];
} mt_channel_plan;

typedef struct mt_shrink_info {
    int folded;                 /* layers whose bias or following batch norm took removed channels' constants */
    int edge_nodes;             /* edgebias nodes added after padded convs for them */
} mt_shrink_info;

/* The smaller network: the same nodes and names with fewer channels and the surviving weights,
 * biases and batch-norm state, computing in evaluation mode what m computes. A removed channel
 * (its filter must be zero) still carries a constant, its bias or batch-norm shift through the
 * layers after it; each layer reading it gets that constant's contribution folded in: into its
 * bias or the batch norm right after it when the contribution is the same at every output
 * position (a linear layer, a conv without padding), else into an edgebias node inserted right
 * after it, named "<layer>.fold" (a zero-padded conv sees fewer taps of the constant at the
 * border). NULL with a message in err. info may be NULL. */
nn_model *mt_surgery_shrink(const nn_model *, const mt_channel_plan *, mt_shrink_info *info,
                            char *err, size_t errlen);

#endif
