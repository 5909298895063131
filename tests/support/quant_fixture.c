#include "support/quant_fixture.h"
#include "nn/loss.h"
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { QF_CLASSES = 3, QF_BATCH = 16 };
static const nn_dims qf_in = { 1, 8, 8 };

nn_model *qf_model(qf_arch arch, unsigned seed)
{
    nn_builder *b = nn_builder_new(arch == QF_BN_CNN ? "qf-bn-cnn" : arch == QF_RELU_CNN
                                   ? "qf-relu-cnn" : "qf-mlp", qf_in, QF_CLASSES);
    int t = -1;
    switch (arch) {
    case QF_BN_CNN:
        t = nn_add_conv(b, "conv1", -1, 4, 3, 1, 1, 1);
        t = nn_add_bn(b, "bn1", t);
        t = nn_add_conv(b, "conv2", t, 6, 3, 1, 1, 1);
        t = nn_add_relu(b, "relu2", t);
        t = nn_add_maxpool(b, "pool2", t, 2, 2);
        t = nn_add_bn(b, "bn2", t);
        t = nn_add_conv(b, "conv3", t, 5, 3, 1, 1, 1);
        t = nn_add_relu(b, "relu3", t);
        t = nn_add_flatten(b, "flat", t);
        t = nn_add_linear(b, "fc", t, QF_CLASSES, 1);
        break;
    case QF_RELU_CNN:
        t = nn_add_conv(b, "conv1", -1, 4, 3, 1, 1, 1);
        t = nn_add_relu(b, "relu1", t);
        t = nn_add_conv(b, "conv2", t, 6, 3, 1, 1, 1);
        t = nn_add_relu(b, "relu2", t);
        t = nn_add_maxpool(b, "pool2", t, 2, 2);
        t = nn_add_flatten(b, "flat", t);
        t = nn_add_linear(b, "fc", t, QF_CLASSES, 1);
        break;
    case QF_MLP:
        t = nn_add_flatten(b, "flat", -1);
        t = nn_add_linear(b, "fc1", t, 12, 1);
        t = nn_add_relu(b, "relu1", t);
        t = nn_add_linear(b, "fc2", t, 10, 1);
        t = nn_add_relu(b, "relu2", t);
        t = nn_add_linear(b, "fc3", t, QF_CLASSES, 1);
        break;
    }
    char err[NN_ERR_MAX];
    nn_model *m = t >= 0 ? nn_builder_finish(b, err, sizeof err) : NULL;
    if (t < 0) nn_builder_free(b);
    if (!m) return NULL;
    nn_rng r;
    nn_rng_seed(&r, seed, 7);
    nn_model_init(m, NN_INIT_KAIMING_NORMAL, &r);
    if (nn_model_reserve(m, QF_BATCH) != 0) { nn_model_free(m); return NULL; }
    return m;
}

static int qf_parse_into(const method *m, void *cfg, const char *const *kv, char *err, size_t errlen)
{
    opt_defaults(m->options, m->n_options, cfg);
    for (int i = 0; kv && kv[i]; i += 2) {
        const opt_spec *s = opt_find(m->options, m->n_options, kv[i]);
        if (!s) { snprintf(err, errlen, "%s: unknown key", kv[i]); return -1; }
        if (opt_parse(s, cfg, kv[i + 1], err, errlen) != 0) return -1;
    }
    return m->check ? m->check(cfg, err, errlen) : 0;
}

int qf_parse(const method *m, const char *key, const char *value, char *err, size_t errlen)
{
    unsigned char cfg[1024];
    assert(m->config_size <= sizeof cfg);
    memset(cfg, 0, sizeof cfg);
    const char *kv[] = { key, value, NULL };
    return qf_parse_into(m, cfg, kv, err, errlen);
}

int qf_start(qf *f, const method *m, qf_arch arch, nn_optim_kind opt, const char *const *kv)
{
    memset(f, 0, sizeof *f);
    assert(m->config_size <= sizeof f->config);
    f->m = m;
    f->batch = QF_BATCH;
    nn_rng_seed(&f->rng, 1, 1);
    nn_model *model = qf_model(arch, 1);
    if (!model) { snprintf(f->err, sizeof f->err, "model build failed"); return -1; }
    f->run.model = model;
    f->run.rng = &f->rng;
    f->run.optim = &f->optim;
    f->run.log = NULL;
    f->run.epochs = 1;
    f->run.n_rounds = 1;
    if (nn_optim_init(&f->optim, opt, model) != 0) return -1;
    f->optim.momentum = opt == NN_SGD ? 0.9f : 0;
    /* a fixed synthetic batch whose class shows in the mean of a quadrant */
    size_t per = nn_dims_size(qf_in);
    f->x = malloc(per * QF_BATCH * sizeof *f->x);
    f->y = malloc(QF_BATCH);
    if (!f->x || !f->y) return -1;
    for (int b = 0; b < QF_BATCH; b++) {
        f->y[b] = (unsigned char)(b % QF_CLASSES);
        for (size_t i = 0; i < per; i++) {
            float v = nn_rng_normal(&f->rng) * 0.5f;
            int row = (int)(i / 8), col = (int)(i % 8);
            if ((row < 4) == (f->y[b] != 1) && (col < 4) == (f->y[b] != 2)) v += 1.0f;
            f->x[(size_t)b * per + i] = v;
        }
    }
    if (qf_parse_into(m, f->config, kv, f->err, sizeof f->err) != 0) return -1;
    return m->setup ? m->setup(&f->run, f->config, &f->state, f->err, sizeof f->err) : 0;
}

void qf_round(qf *f, int steps, float lr)
{
    mt_run *r = &f->run;
    const method *m = f->m;
    r->round_epochs = 1; r->lr_scale = 1; r->reset_optimizer = 1; r->step = 0;
    r->steps_per_epoch = steps;
    if (m->round_begin) m->round_begin(r, f->state);
    if (r->reset_optimizer) nn_optim_reset(&f->optim);
    float dl[QF_BATCH * QF_CLASSES];
    for (r->epoch = 0; r->epoch < r->round_epochs; r->epoch++) {
        if (m->epoch_begin) m->epoch_begin(r, f->state);
        for (int s = 0; s < steps; s++) {
            nn_zero_grad(r->model);
            const float *logits = nn_forward(r->model, f->x, f->batch, 1);
            int correct = 0;
            nn_softmax_xent(logits, f->y, f->batch, QF_CLASSES, dl, &correct);
            nn_backward(r->model, dl, f->batch);
            if (m->after_backward) m->after_backward(r, f->state);
            r->lr = lr * r->lr_scale;
            nn_optim_step(&f->optim, r->model, (float)r->lr);
            r->step++;
            if (m->step_end) m->step_end(r, f->state);
        }
        if (m->epoch_end) m->epoch_end(r, f->state);
    }
    if (m->round_end) m->round_end(r, f->state);
    r->round++;
}

nn_node *qf_node(qf *f, const char *name)
{
    for (int i = 0; i < f->run.model->n_nodes; i++)
        if (strcmp(f->run.model->nodes[i].name, name) == 0) return &f->run.model->nodes[i];
    return NULL;
}

int qf_finish(qf *f)
{
    return f->m->finish ? f->m->finish(&f->run, f->state, f->err, sizeof f->err) : 0;
}

void qf_free(qf *f)
{
    if (f->m && f->m->free_state && f->state) f->m->free_state(f->state);
    f->state = NULL;
    if (f->run.model) nn_model_free(f->run.model);
    f->run.model = NULL;
    nn_optim_free(&f->optim);
    free(f->x); free(f->y);
    f->x = NULL; f->y = NULL;
}
