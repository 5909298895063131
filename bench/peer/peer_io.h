/* What the benches hand to a PyTorch peer script: the network as a layer list, the images as a raw
 * dump, and where the script is. Shared by bench/train_throughput (speed) and bench/peer_recipe
 * (accuracy of a whole training recipe). */
#ifndef BENCH_PEER_IO_H
#define BENCH_PEER_IO_H
#include <stddef.h>
#include <stdint.h>
#include "datasets/dataset.h"
#include "nn/model.h"

enum { PEER_SPEC_MAX = 16384 };

/* The model as one token per node, `kind:hyper-parameters`, followed by `@a` or `@a+b` (producer
 * token indices, -1 = the model input) unless its one input is the token before it (the format
 * bench/peer_torch.py parses). -1 for a layer the peer does not build. */
int peer_model_spec(const nn_model *, char *out, size_t len);

/* Raw uint8 dump in /tmp: n_train train images, their labels, n_test test images, their labels. */
int peer_write_dump(const ds_dataset *, uint32_t n_train, uint32_t n_test, char *path, size_t len);

/* bench/<script> from the working directory, else next to the source tree as seen from
 * build/bench/<exe>; NULL when neither exists. */
const char *peer_find_script(const char *script, const char *argv0, char *buf, size_t len);

/* "v0,v1,..." of n floats (f) or ints (d). */
void peer_join_list(char *out, size_t len, const float *f, const int *d, int n);

#endif
