/* Model checkpoints in HDF5, written atomically (temporary file + rename).
 *
 * Layout (readable with h5py):
 *   /              attributes: format="harness-checkpoint", version, arch, in_dims[3], n_classes,
 *                  epoch, round, step, seed, rng[2] (state, inc), best_acc, config_hash,
 *                  n_params, n_state
 *   /params        float32[n_params]  all parameters: the source of truth
 *   /state         float32[n_state]   batch-norm running statistics
 *   /state_json    string             free-form runner state (position in the round, best so far)
 *   /method/...                       a method run's own state (harness/ckpt_method.h): the
 *                  latent parameters behind weight transforms and what the method names
 *   /masks/<node>  uint8[nw]          pruning masks of nodes that have one
 *   /wfreeze/<node> uint8[nw]         per-weight freeze flags (INQ) of nodes that have them
 *   /optim/m, /optim/v  float32[n_params], attributes kind, step and the hyper-parameters
 *   /graph/...                        the network: every node with its hyper-parameters and
 *                  attachments (harness/ckpt_graph.h); the model is built from it, arch is a label
 *   /layers/<node>/weight, bias (conv weights shaped out x in x k x k), running_mean,
 *                  running_var; attributes kind, kernel, frozen. A copy for other tools (version 2
 *                  files: kernel and frozen are read back from here).
 * /params holds the weights the network computes with: a node carrying a weight transform
 * contributes transform(w); its latent weights are in /method/latent_params for --resume.
 * Every dataset carries a Fletcher-32 checksum, and the whole file is sealed (base/h5io.h:
 * newest HDF5 format, CRC-32 of the file checked before HDF5 reads it), so a damaged, cut or
 * foreign file is refused on load with the reason. Every stored count and position is range-
 * checked before anything is allocated from it. A failed save (a full disk) leaves the previous
 * file as it was. */
#ifndef HARNESS_CHECKPOINT_H
#define HARNESS_CHECKPOINT_H
#include <stddef.h>
#include <stdint.h>
#include "base/h5io.h"
#include "nn/model.h"
#include "nn/optim.h"
#include "nn/rng.h"

/* Version 3 holds the network's graph (harness/ckpt_graph.h); version 2 files, which name an
 * architecture instead, are still read (cached baselines are of that version). */
#define CKPT_FORMAT "harness-checkpoint"   /* the seal's kind (base/h5io.h) */
enum { CKPT_HASH_LEN = 64, CKPT_VERSION = 3, CKPT_VERSION_ARCH = 2 };
/* What a checkpoint may hold: the largest input side the datasets allow, [train] epochs' range,
 * rounds no method comes near, steps below 2^53. */
enum { CKPT_MAX_SIDE = 4096, CKPT_MAX_EPOCHS = 100000, CKPT_MAX_ROUNDS = 10000 };
#define CKPT_MAX_STEP (1LL << 53)

typedef struct ckpt_meta {
    /* Filled by ckpt_load from the file; ckpt_save writes the model's own values instead. */
    char arch[NN_NAME_MAX];
    nn_dims in_dims;
    int n_classes;
    /* Written by ckpt_save, read back by ckpt_load. */
    int epoch, round;
    long step;
    uint64_t seed;
    nn_rng rng;
    double best_acc;
    char config_hash[CKPT_HASH_LEN + 1];
    char *json;             /* save: may be NULL (= ""); load: malloc'd, see ckpt_meta_free */
    /* save only: writes more into the same file before it is sealed (a method's state,
     * harness/ckpt_method.h); NULL = nothing more. */
    void (*put_extra)(void *arg, h5io_ctx *c, hid_t file);
    void *extra_arg;
} ckpt_meta;

void ckpt_meta_free(ckpt_meta *);   /* frees json */

/* Save model m (and opt's state when opt is not NULL; meta may be NULL = zeros) to path.
 * 0 = ok; -1 with a message naming the file in err. */
int ckpt_save(const char *path, const nn_model *m, const nn_optim *opt, const ckpt_meta *meta,
              char *err, size_t errlen);

/* Rebuild the model from the file's graph (version 2: from its arch, input dims and classes), then
 * restore params, state, masks, wfreeze, node kernel/frozen flags, input transforms and wforms,
 * and check the weights against their wform. When opt is not NULL
 * (zeroed or initialised) the file must hold optimizer state, and on success opt's buffers are
 * freed and replaced by the saved kind, hyper-parameters and state. meta (when not NULL) is
 * filled on success. On failure opt and meta are left untouched and NULL is returned with
 * "<file>: <field>: <problem>" in err: a missing, truncated or damaged file, a size mismatch,
 * a non-finite parameter, an unknown arch. */
nn_model *ckpt_load(const char *path, nn_optim *opt, ckpt_meta *meta, char *err, size_t errlen);

/* What the caller knows the model must take (the dataset it will see): checked against the
 * file before the model is built, so a file declaring other dimensions allocates nothing. */
typedef struct ckpt_expect { nn_dims in_dims; int n_classes; } ckpt_expect;
nn_model *ckpt_load_expect(const char *path, const ckpt_expect *expect, nn_optim *opt, ckpt_meta *meta,
                           char *err, size_t errlen);

#endif
