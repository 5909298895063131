/* The network a model file describes (format version 3 on): the node list itself, not an
 * architecture name, so a network a method changed (SFP's smaller one, with its edgebias
 * nodes) loads, and every attachment that decides what the network computes comes back: the
 * kernel kind (MAC, adder), frozen flags, input transforms with their parameters (XNOR's sign
 * times mean |x|, DeepShift's fixed point; methods/input_transforms.h) and the value set the
 * weights are in (node->wform: binary, ternary Wp/Wn, power-of-two range, codebook bits).
 *
 *   /graph/names       uint8[n][NN_NAME_MAX]  node names, NUL-padded
 *   /graph/<field>     int32[n] or float32[n] one value per node, fields in graph_fields
 *                      (ckpt_graph.c): kind, in0, in1, out_c, k, stride, pad, has_bias, clip,
 *                      kernel, frozen, input_transform, input_arg0/1, wform, wform_e_min/e_max,
 *                      wform_bits, wform_index_bits, wform_wp, wform_wn
 * Internal to harness/ (checkpoint.c). */
#ifndef HARNESS_CKPT_GRAPH_H
#define HARNESS_CKPT_GRAPH_H
#include "harness/ckpt_io.h"
#include "nn/model.h"

/* Writes /graph for m. Fails on an input transform the table cannot name. */
void ckg_put(ck *c, hid_t file, const nn_model *m);

/* Reads and checks /graph (every field's range, inputs earlier in the list, the attachments
 * each kind may carry), builds the network through the engine's builder (its shape checks),
 * refusing before any buffer is allocated when it would hold other than n_params parameters
 * and n_state state values, and restores kernel, frozen, input transforms and wform. NULL
 * (c failed, naming the node and field) on any problem. */
nn_model *ckg_build(ck *c, hid_t file, const char *arch, nn_dims in, int n_classes, size_t n_params,
                    size_t n_state);

/* After the parameters and masks are read: each node's weights lie in the value set its wform
 * declares (every weight of a binary filter +-the same alpha, ternary ones in {Wp, 0, -Wn},
 * powers of two in the range, at most 2^bits shared values and zeros off the mask). */
int ckg_check_weights(ck *c, const nn_model *m);

#endif
