/* A network in its deployable form, and the executor that runs it through deploy/'s kernels.
 *
 * rt_model holds the engine's model of the network (graph, biases, batch-norm statistics, input
 * transforms: what the kernels do not replace) and, per weighted layer, its weights in one packed
 * format of deploy/format.h plus a per-output-row affine (its bias, and the batch norm that
 * follows it folded in). rt_attach installs an inference hook (nn_node.run) on each layer the
 * runtime computes: im2col + the format's GEMM, XNOR-popcount on bit-packed activations where
 * the layer's input transform is XNOR-Net's sign x K (a conv's receptive fields packed straight
 * from its float input, the transform never written out), the int32 shift GEMM on DeepShift's fixed
 * point where it cannot overflow, oneDNN's int8 convolution and matmul over the whole batch for
 * PTQ's 8-bit layers (INT8: the input quantized to the uniform transform's grid inside the
 * kernel) and for the k-bit grids of DoReFa, PACT and LSQ where their levels fit int8 (the input
 * rounded to the transform's grid by the kernel instead of the transform: the same levels but at
 * rounding ties), fp32 sgemm for dense layers. AdderNet's layers keep the
 * engine's adder kernel (their weights unpacked from F32). Everything else (pooling, ReLU,
 * residual additions, edge biases, batch norms not folded) runs through the engine, so
 * nn_forward on rt->m is the packed model's forward pass.
 *
 * Where a layer's weights come from: rt_from_model packs a trained float model (the exporter),
 * harness/packed_file.c fills the layers from a model.packed.h5. */
#ifndef RUNTIME_PACKED_H
#define RUNTIME_PACKED_H
#include <stddef.h>
#include <stdint.h>
#include "deploy/format.h"
#include "methods/deep_compression_pack.h"
#include "nn/model.h"

/* How a layer's weights are stored. Values are written to files: never renumber. */
typedef enum {
    RT_ENC_RAW = 0,   /* the dp_matrix payload itself */
    RT_ENC_DC = 1,    /* Deep Compression's bytes (methods/deep_compression_pack.h: codebook,
                       * Huffman-coded codes and relative indices), decoded to CSR to run */
    RT_ENC_COUNT
} rt_encoding;

typedef struct rt_layer {
    int present;            /* 1 for every weighted node */
    int engine;             /* 1: the engine computes it (adder kernel) from w unpacked */
    rt_encoding enc;
    dp_matrix w;            /* what the kernel reads; the stored bytes when enc is RAW */
    mt_dc_packed dc;        /* RT_ENC_DC: the stored form w was decoded from */
    float *scale, *shift;   /* rows values each, or NULL: y = y scale + shift per output row */
    int folds;              /* the batch-norm node folded into this layer, -1 = none */
    /* built by rt_attach for XNOR convolutions (w stays as stored): */
    dp_matrix xw;           /* w with its columns in dp_xnor_pack_conv's (ki, kj, c) order */
    float *pad_corr;        /* with zero padding, rows x output positions: what the padded taps add to d */
    /* built by rt_attach for a k-bit grid (LUT) whose table is s times integers of int8 and whose
     * input transform is a uniform grid of at most 8 bits (DoReFa, PACT, LSQ): the same weights
     * as INT8 with that input grid, which the int8 kernels run instead of w */
    dp_matrix qw;
} rt_layer;

/* Growable scratch of one thread of the hooks. */
typedef struct rt_scratch {
    float *f; size_t f_len;
    uint64_t *bits; size_t bits_len;
} rt_scratch;

typedef struct rt_model {
    nn_model *m;                         /* owned */
    rt_layer layer[NN_MAX_NODES];
    uint8_t folded[NN_MAX_NODES];        /* 1: a batch norm folded into its producer (identity) */
    dp_exec ex;
    rt_scratch ws;                       /* the hooks' scratch when the threads split columns */
} rt_model;

/* Rows (outputs) and columns (inputs per output) of weighted node n's matrix. */
int rt_node_rows(const nn_node *n);
int rt_node_cols(const nn_node *n);

/* The 8-bit input grid of node n's uniform input transform (PTQ), which an INT8 layer quantizes
 * its input to: 1 with *h filled when n has one of at most 8 bits, else 0. */
int rt_int8_grid(const nn_node *n, dp_head_int8 *h);

/* Packs float model m (taking ownership, also on failure) into rt: per weighted layer the
 * format its wform and mask call for (binary, ternary, pow2, Deep Compression's bytes, CSR where
 * a mask makes it smaller, int8 where the input has a uniform grid of <= 8 bits and the weights
 * are on an int8 grid, else f32; adder layers f32), its bias and a following batch norm
 * folded into the per-row affine. Then rt_attach. 0, or -1 naming the layer in err. */
int rt_from_model(rt_model *rt, nn_model *m, int threads, char *err, size_t errlen);

/* Checks every layer against its node (shapes, affine sizes, what the layer's input transform
 * needs of the format), sets rt->folded, builds the XNOR padding planes and installs the hooks.
 * Expects rt->m, rt->layer[] filled. 0, or -1 naming the layer and field in err. */
int rt_attach(rt_model *rt, int threads, char *err, size_t errlen);

/* Bytes the stored weights of layer i take (payload, or Deep Compression's streams, tables and
 * codebook), and of its affine. */
size_t rt_layer_weight_bytes(const rt_layer *l);
size_t rt_layer_affine_bytes(const rt_layer *l);

/* The whole model's payload: packed weights, and the fp32 rest (per-row affines, batch norms not
 * folded, edge biases): what model.packed.h5 stores beside its structure. */
void rt_model_bytes(const rt_model *rt, size_t *weight_bytes, size_t *param_bytes);

/* Decodes RT_ENC_DC's bytes (l->dc, validated) into l->w (CSR). */
int rt_dc_decode(rt_layer *l, int rows, int cols, char *err, size_t errlen);

void rt_free(rt_model *rt);

#endif
