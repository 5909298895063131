#include "support/adder_fixture.h"
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

nn_model *adfx_model(int bn_after_c2, uint64_t seed)
{
    nn_builder *b = nn_builder_new("adfx", (nn_dims){ 2, 6, 6 }, 3);
    int x = -1;
    x = nn_add_conv(b, "c1", x, 3, 3, 1, 1, 1);
    x = nn_add_bn(b, "bn1", x);
    x = nn_add_relu(b, "r1", x);
    x = nn_add_conv(b, "c2", x, 4, 3, 1, 1, 0);
    if (bn_after_c2) x = nn_add_bn(b, "bn2", x);
    x = nn_add_relu(b, "r2", x);
    x = nn_add_conv(b, "c3", x, 4, 3, 2, 1, 1);
    x = nn_add_bn(b, "bn3", x);
    x = nn_add_relu(b, "r3", x);
    x = nn_add_flatten(b, "flat", x);
    x = nn_add_linear(b, "fc1", x, 6, 1);
    x = nn_add_bn(b, "bnf", x);
    x = nn_add_relu(b, "rf", x);
    x = nn_add_linear(b, "fc2", x, 3, 1);
    assert(x >= 0);
    char err[NN_ERR_MAX];
    nn_model *m = nn_builder_finish(b, err, sizeof err);
    assert(m);
    nn_rng rng;
    nn_rng_seed(&rng, seed, 7);
    nn_model_init(m, NN_INIT_KAIMING_NORMAL, &rng);
    nn_model_set_threads(m, 1);    /* tiny layers: threads would only add waiting */
    return m;
}

void *adfx_config(const method *m, const char *const *overrides, char *err, size_t errlen)
{
    void *cfg = calloc(1, m->config_size ? m->config_size : 1);
    assert(cfg);
    opt_defaults(m->options, m->n_options, cfg);
    for (const char *const *kv = overrides; kv && *kv; kv++) {
        char key[64];
        const char *eq = strchr(*kv, '=');
        assert(eq && (size_t)(eq - *kv) < sizeof key);
        memcpy(key, *kv, (size_t)(eq - *kv));
        key[eq - *kv] = 0;
        const opt_spec *s = opt_find(m->options, m->n_options, key);
        if (!s || opt_parse(s, cfg, eq + 1, err, errlen) != 0) {
            if (!s) snprintf(err, errlen, "unknown key %s", key);
            free(cfg);
            return NULL;
        }
    }
    if (m->check && m->check(cfg, err, errlen) != 0) { free(cfg); return NULL; }
    return cfg;
}

void adfx_run(mt_run *run, nn_model *model, nn_rng *rng)
{
    memset(run, 0, sizeof *run);
    run->model = model;
    run->rng = rng;
    run->run_dir = ".";
    run->epochs = 1;
    run->n_rounds = 1;
    run->round_epochs = 1;
    run->lr_scale = 1;
    run->reset_optimizer = 1;
}

int adfx_node(const nn_model *m, const char *name)
{
    for (int i = 0; i < m->n_nodes; i++)
        if (strcmp(m->nodes[i].name, name) == 0) return i;
    return -1;
}
