// C++ helpers the method tests share: find a node, read a footprint extra, run a model on inputs.
#ifndef TESTS_SUPPORT_METHOD_CHECKS_H
#define TESTS_SUPPORT_METHOD_CHECKS_H
#include <gtest/gtest.h>
#include <string>
#include <vector>
extern "C" {
#include "nn/model.h"
#include "support/method_fixture.h"
}

// Index of the node called name, or -1.
inline int node_of(const nn_model *m, const char *name)
{
    for (int i = 0; i < m->n_nodes; i++) if (std::string(m->nodes[i].name) == name) return i;
    return -1;
}

// The footprint extra called key of a finished fixture run (a test failure when absent).
inline double extra(const mf_fixture &f, const char *key)
{
    for (int i = 0; i < f.fp.n_extras; i++) if (std::string(f.fp.extra_key[i]) == key) return f.fp.extra_val[i];
    ADD_FAILURE() << "no footprint extra " << key;
    return 0;
}

// The logits of an inference forward of batch inputs x.
inline std::vector<float> logits(nn_model *m, const std::vector<float> &x, int batch)
{
    nn_model_reserve(m, batch);
    const float *y = nn_forward(m, x.data(), batch, 0);
    return std::vector<float>(y, y + (size_t)batch * m->n_classes);
}

// batch standard-normal inputs of the model's input shape.
inline std::vector<float> random_inputs(const nn_model *m, int batch, uint64_t seed)
{
    nn_rng r;
    nn_rng_seed(&r, seed, 1);
    std::vector<float> x((size_t)batch * nn_dims_size(m->in_dims));
    for (auto &v : x) v = nn_rng_normal(&r);
    return x;
}
#endif
