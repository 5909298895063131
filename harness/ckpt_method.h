/* A method run's checkpoint beyond the model, for harness run --resume (harness/run.c).
 *
 *   /method                 group, attribute name = the method's registry name
 *   /method/latent_params   float32[n_params]: the parameters the optimizer trains, written when a
 *                           weight transform makes the file's /params (what the network computes
 *                           with) differ from them
 *   /method/<array>         each array the method's checkpoint hook names (methods/method.h)
 *
 * It is written by ckpt_save into the same file as the model (ckpt_meta.put_extra), so the model
 * and the method's state are sealed and renamed into place together. */
#ifndef HARNESS_CKPT_METHOD_H
#define HARNESS_CKPT_METHOD_H
#include <stddef.h>
#include "base/h5io.h"
#include "methods/method.h"

typedef struct ckm_source {
    const method *method;
    mt_run *run;
    void *state;
} ckm_source;

/* ckpt_meta.put_extra of a method run: arg is a ckm_source. */
void ckm_put(void *arg, h5io_ctx *c, hid_t file);

/* Copies the model of a checkpoint (src, as ckpt_load built it) into dst, the model a fresh setup
 * of the same method made: parameters, batch-norm statistics, masks, freeze flags, kernels,
 * frozen flags, input-transform arguments and value sets, node by node. What the method attached
 * to dst (weight transforms, transform contexts) stays. 0, or -1 with "<path>: <node>: <problem>"
 * in err when the two networks differ. */
int ckm_restore_model(nn_model *dst, const nn_model *src, const char *path, char *err, size_t errlen);

/* Reads path's /method into the run: the latent parameters over the model's, then the method's
 * checkpoint hook in loading mode. 0, or -1 with the reason in err. */
int ckm_load(const char *path, const ckm_source *src, char *err, size_t errlen);

#endif
