/* model.packed.h5: a run's network in its deployable form (runtime/packed.h), and `harness
 * export`, which writes it from the run's model.h5.
 *
 * Layout (sealed like every harness HDF5 file, base/h5io.h, kind "harness-packed"):
 *   /              attributes: format, version, arch, in_dims[3], n_classes, n_params, n_state
 *   /graph/...     the node list, exactly as in model.h5 (harness/ckpt_graph.h)
 *   /layers/<node> per weighted node: attributes format (deploy/format.h's dp_format), encoding
 *                  (raw, dc), engine (1: adder kernel), rows, cols, nnz, folds (the batch-norm
 *                  node folded in, -1); datasets
 *                    raw: payload uint8[bytes]   the dp_matrix payload (deploy/format.h layouts)
 *                    dc:  dc_codebook float32, dc_wlen, dc_ilen uint8 (Huffman code lengths),
 *                         dc_wstream, dc_istream uint8, attributes dc_n, dc_kept, dc_entries,
 *                         dc_bits, dc_index_bits, dc_zero_code, dc_n_centroids, dc_wbits, dc_ibits
 *                    scale, shift float32[rows]  the per-row affine (bias, folded batch norm)
 *                  per batch norm not folded: gamma, beta, running_mean, running_var;
 *                  per edge bias: bias.
 * No float copy of a packed layer's weights is stored: the payloads are the footprint. Loading
 * checks every attribute's range, every payload against its format (dp_matrix_load), Deep
 * Compression's streams by decoding them, and every layer against its node (rt_attach); each
 * failure names the layer and the field. */
#ifndef HARNESS_PACKED_FILE_H
#define HARNESS_PACKED_FILE_H
#include <stddef.h>
#include "harness/checkpoint.h"
#include "runtime/packed.h"

enum { HX_PACKED_VERSION = 1 };

/* What a packed file's payloads weigh, measured from the bytes written. */
typedef struct hx_packed_size {
    size_t weight_bytes;    /* packed weights (payloads, Deep Compression's streams + tables + codebook) */
    size_t param_bytes;     /* fp32 rest: per-row affines, batch norms not folded, edge biases */
    size_t file_bytes;      /* the file on disk (HDF5 structure and the seal included) */
} hx_packed_size;

int hx_packed_save(const char *path, const rt_model *rt, hx_packed_size *size, char *err, size_t errlen);
/* Loads and checks path (expect may be NULL), ready to run on `threads` threads. */
int hx_packed_load(const char *path, const ckpt_expect *expect, int threads, rt_model *rt, char *err,
                   size_t errlen);
/* 1 when path is a sealed packed file (by its seal's kind), 0 otherwise. */
int hx_packed_is(const char *path);

/* Packs run_dir/model.h5 into run_dir/model.packed.h5 (the run calls it holding its folder). */
int hx_export(const char *run_dir, hx_packed_size *size, char *err, size_t errlen);

/* What harness export did to the run's result.json. */
typedef enum { HX_RESULT_NONE, HX_RESULT_AGREES, HX_RESULT_UPDATED, HX_RESULT_ADDED } hx_result_edit;
/* harness export: takes the run folder's lock, packs it (hx_export) and rewrites the packed
 * figures of its result.json (footprint.packed_*) where they differ from the file just written, or
 * adds them where missing, so the record states the file's payload (after a code change, a model.h5
 * replaced, or a record older than packed models). */
int hx_export_run(const char *run_dir, hx_packed_size *size, hx_result_edit *edit, char *err, size_t errlen);

#endif
