/* Batch-norm folding (Jacob et al. 2018 §3.2; Gholami et al. 2021 Eq. 3): a batch norm whose
 * only input is a conv or linear layer that feeds nothing else is merged into it, with its
 * running statistics: w' = w * gamma / sqrt(var + eps) per output channel, b' = (b - mean) *
 * gamma / sqrt(var + eps) + beta. */
#ifndef METHODS_BN_FOLD_H
#define METHODS_BN_FOLD_H
#include <stddef.h>
#include "nn/model.h"

/* The network without the foldable batch norms (the layers before them gain a bias), computing
 * in evaluation mode what m computes. Other nodes, names, kernels, masks are kept; nodes
 * carrying a weight or input transform are refused. *n_folded (may be NULL) = how many were
 * merged. NULL with a message in err. */
nn_model *mt_bn_fold(const nn_model *m, int *n_folded, char *err, size_t errlen);

#endif
