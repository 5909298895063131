/* Test fixture for the AdderNet suite: a tiny model with batch norm after every hidden
 * weighted layer (or, on request, without one after the second conv), a method config from
 * "key=value" overrides, and a minimal mt_run around a model. */
#ifndef TESTS_SUPPORT_ADDER_FIXTURE_H
#define TESTS_SUPPORT_ADDER_FIXTURE_H
#include "methods/method.h"

/* input 2x6x6 -> c1 conv 3 k3 p1 (bias) -> bn -> relu -> c2 conv 4 k3 p1 -> [bn] -> relu
 * -> c3 conv 4 k3 s2 p1 (bias) -> bn -> relu -> flatten -> fc1 linear 6 -> bn -> relu
 * -> fc2 linear 3. bn_after_c2 = 0 leaves c2 without batch norm. Initialised from seed. */
nn_model *adfx_model(int bn_after_c2, uint64_t seed);

/* Defaults of m's options, then each "key=value" override (NULL-terminated list). Returns a
 * malloc'd config, or NULL with a message in err. */
void *adfx_config(const method *m, const char *const *overrides, char *err, size_t errlen);

/* A run around model with a seeded rng; no optimizer, no log. */
void adfx_run(mt_run *run, nn_model *model, nn_rng *rng);

/* Node index by name, -1 when absent. */
int adfx_node(const nn_model *m, const char *name);

#endif
