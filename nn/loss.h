#ifndef NN_LOSS_H
#define NN_LOSS_H
#include <stdint.h>

/* Softmax cross-entropy, mean over the batch. Writes dlogits (may be NULL) = (softmax - onehot)/batch
 * and counts correct top-1 predictions. Returns the mean loss. */
float nn_softmax_xent(const float *logits, const uint8_t *labels, int batch, int n_classes,
                      float *dlogits, int *correct);
int nn_argmax(const float *v, int n);

#endif
