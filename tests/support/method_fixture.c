/* The fake runner of method_fixture.h. It follows the runner's loop (docs/ARCHITECTURE.md) step for step, with a
 * constant LR and the test split standing in for validation. */
#include "method_fixture.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "nn/loss.h"

enum { MF_CLASSES = 4 };

nn_model *mf_build(const char *kind, uint64_t seed, char *err, size_t errlen)
{
    nn_builder *b = NULL;
    if (strcmp(kind, "mlp") == 0) {
        b = nn_builder_new("mf-mlp", (nn_dims){ 1, 8, 8 }, MF_CLASSES);
        int x = nn_add_flatten(b, "flatten", -1);
        x = nn_add_relu(b, "relu1", nn_add_linear(b, "fc1", x, 24, 1));
        x = nn_add_relu(b, "relu2", nn_add_linear(b, "fc2", x, 16, 1));
        nn_add_linear(b, "fc3", x, MF_CLASSES, 1);
    } else if (strcmp(kind, "lenet") == 0) {
        b = nn_builder_new("mf-lenet", (nn_dims){ 1, 14, 14 }, MF_CLASSES);
        int x = nn_add_conv(b, "conv1", -1, 6, 3, 1, 0, 1);
        x = nn_add_maxpool(b, "pool1", nn_add_relu(b, "relu1", x), 2, 2);
        x = nn_add_conv(b, "conv2", x, 8, 3, 1, 0, 1);
        x = nn_add_maxpool(b, "pool2", nn_add_relu(b, "relu2", x), 2, 2);
        x = nn_add_flatten(b, "flatten", x);
        x = nn_add_relu(b, "relu3", nn_add_linear(b, "fc1", x, 16, 1));
        nn_add_linear(b, "fc2", x, MF_CLASSES, 1);
    } else if (strcmp(kind, "resblock") == 0) {
        b = nn_builder_new("mf-resblock", (nn_dims){ 3, 8, 8 }, MF_CLASSES);
        int s = nn_add_conv(b, "conv0", -1, 4, 3, 1, 1, 0);
        s = nn_add_relu(b, "relu0", nn_add_bn(b, "bn0", s));
        int x = nn_add_relu(b, "b.relu1", nn_add_bn(b, "b.bn1", nn_add_conv(b, "b.conv1", s, 4, 3, 1, 1, 0)));
        x = nn_add_bn(b, "b.bn2", nn_add_conv(b, "b.conv2", x, 4, 3, 1, 1, 0));
        x = nn_add_relu(b, "b.relu2", nn_add_add(b, "b.add", x, s));
        nn_add_linear(b, "fc", nn_add_gap(b, "gap", x), MF_CLASSES, 1);
    }
    nn_model *m;
    if (b) {
        m = nn_builder_finish(b, err, errlen);
    } else {        /* an architecture of nn/arch.c, on CIFAR- or MNIST-shaped input, 10 classes */
        int colour = strncmp(kind, "resnet", 6) == 0 || strncmp(kind, "vgg", 3) == 0 || strncmp(kind, "conv", 4) == 0;
        m = nn_model_create(kind, colour ? (nn_dims){ 3, 32, 32 } : (nn_dims){ 1, 28, 28 }, 10, err, errlen);
    }
    if (!m) return NULL;
    nn_rng rng;
    nn_rng_seed(&rng, seed, 1);
    nn_model_init(m, NN_INIT_KAIMING_NORMAL, &rng);
    return m;
}

/* Class k is a fixed random pattern; a sample is its pattern plus noise. */
static void make_data(mf_fixture *f, nn_dims d, uint64_t seed)
{
    size_t per = nn_dims_size(d);
    nn_rng r;
    nn_rng_seed(&r, seed, 2);
    float *pat = malloc(per * MF_CLASSES * sizeof *pat);
    for (size_t j = 0; j < per * MF_CLASSES; j++) pat[j] = nn_rng_normal(&r);
    f->xtr = malloc(per * (size_t)f->n_train * sizeof(float));
    f->xte = malloc(per * (size_t)f->n_test * sizeof(float));
    f->ytr = malloc((size_t)f->n_train);
    f->yte = malloc((size_t)f->n_test);
    for (int split = 0; split < 2; split++) {
        int n = split ? f->n_test : f->n_train;
        float *x = split ? f->xte : f->xtr;
        uint8_t *y = split ? f->yte : f->ytr;
        for (int i = 0; i < n; i++) {
            y[i] = (uint8_t)nn_rng_below(&r, MF_CLASSES);
            for (size_t j = 0; j < per; j++)
                x[(size_t)i * per + j] = pat[y[i] * per + j] + 1.2f * nn_rng_normal(&r);
        }
    }
    free(pat);
}

double mf_evaluate(mf_fixture *f, nn_model *m, double *loss)
{
    f->evaluations++;
    nn_model_reserve(m, f->batch);
    size_t per = nn_dims_size(m->in_dims);
    double lsum = 0;
    int correct = 0;
    for (int i = 0; i < f->n_test; i += f->batch) {
        int nb = f->n_test - i < f->batch ? f->n_test - i : f->batch, ok = 0;
        const float *logits = nn_forward(m, f->xte + (size_t)i * per, nb, 0);
        lsum += nn_softmax_xent(logits, f->yte + i, nb, m->n_classes, NULL, &ok) * nb;
        correct += ok;
    }
    if (loss) *loss = lsum / f->n_test;
    return 100.0 * correct / f->n_test;
}

static double run_evaluate(mt_run *run, nn_model *m, double *loss)
{
    return mf_evaluate(run->runner, m, loss);
}

/* The training data in stored order, batch by batch. */
static int run_train_batch(mt_run *run, long i, float *x)
{
    mf_fixture *f = run->runner;
    long first = i * f->batch;
    if (i < 0 || first >= f->n_train) return 0;
    int nb = f->n_train - first < f->batch ? (int)(f->n_train - first) : f->batch;
    size_t per = nn_dims_size(run->model->in_dims);
    memcpy(x, f->xtr + (size_t)first * per, (size_t)nb * per * sizeof *x);
    return nb;
}

static int fixture_batch_at(void *ctx, long i, float *x)
{
    return run_train_batch(ctx, i, x);
}

static void run_recalibrate_bn(mt_run *run, int batches)
{
    nn_bn_recalibrate(run->model, fixture_batch_at, run, batches);
}

static void run_replace_model(mt_run *run, nn_model *m)
{
    mf_fixture *f = run->runner;
    nn_model_free(run->model);
    run->model = m;
    nn_model_reserve(m, f->batch);
    nn_optim_free(&f->optim);
    nn_optim_init(&f->optim, f->opt_kind, m);
    f->optim.momentum = f->momentum;
    f->optim.weight_decay = f->weight_decay;
}

int mf_open(mf_fixture *f, const char *model_kind, const method *m, const char *const *kv,
            uint64_t seed, char *err, size_t errlen)
{
    memset(f, 0, sizeof *f);
    f->m = m;
    f->n_train = 256; f->n_test = 128; f->batch = 32; f->epochs = 2;
    f->lr = 0.05; f->opt_kind = NN_SGD; f->momentum = 0.9f; f->weight_decay = 0.0f;
    snprintf(f->dir, sizeof f->dir, "/tmp/mf-run-XXXXXX");
    if (!mkdtemp(f->dir)) { snprintf(err, errlen, "mkdtemp failed"); return 1; }
    nn_model *model = mf_build(model_kind, seed, err, errlen);
    if (!model) return 1;
    nn_model_reserve(model, f->batch);
    make_data(f, model->in_dims, seed);
    nn_rng_seed(&f->rng, seed, 3);
    mt_run *r = &f->run;
    r->model = model;
    r->optim = &f->optim;
    r->rng = &f->rng;
    r->run_dir = f->dir;
    r->log = stderr;
    r->n_rounds = 1;
    r->steps_per_epoch = (f->n_train + f->batch - 1) / f->batch;
    r->evaluate = run_evaluate;
    r->replace_model = run_replace_model;
    r->train_batch = run_train_batch;
    r->recalibrate_bn = run_recalibrate_bn;
    r->batch = f->batch;
    r->runner = f;
    nn_optim_init(&f->optim, f->opt_kind, model);
    f->optim.momentum = f->momentum;
    f->config = calloc(1, m->config_size ? m->config_size : 1);
    opt_defaults(m->options, m->n_options, f->config);
    for (int i = 0; kv && kv[i]; i += 2) {
        const opt_spec *sp = opt_find(m->options, m->n_options, kv[i]);
        if (!sp) { snprintf(err, errlen, "unknown key %s", kv[i]); return 1; }
        if (opt_parse(sp, f->config, kv[i + 1], err, errlen) != 0) return 1;
    }
    if (m->check && m->check(f->config, err, errlen) != 0) return 1;
    return 0;
}

static void train_epochs(mf_fixture *f, int epochs, int with_hooks)
{
    mt_run *r = &f->run;
    const method *m = with_hooks ? f->m : NULL;
    size_t per = nn_dims_size(r->model->in_dims);
    float *dlogits = malloc((size_t)f->batch * r->model->n_classes * sizeof *dlogits);
    double best = -1, min_loss = 1e300, last = 0;
    for (int e = 0; e < epochs; e++) {
        r->epoch = e;
        if (m && m->epoch_begin) m->epoch_begin(r, f->state);
        for (int i = 0; i < f->n_train; i += f->batch) {
            nn_model *model = r->model;
            int nb = f->n_train - i < f->batch ? f->n_train - i : f->batch, ok = 0;
            const float *logits = nn_forward(model, f->xtr + (size_t)i * per, nb, 1);
            nn_softmax_xent(logits, f->ytr + i, nb, model->n_classes, dlogits, &ok);
            nn_zero_grad(model);
            nn_backward(model, dlogits, nb);
            r->lr = f->lr * r->lr_scale;
            if (m && m->after_backward) m->after_backward(r, f->state);
            nn_optim_step(&f->optim, model, (float)r->lr);
            r->step++;
            if (m && m->step_end) m->step_end(r, f->state);
        }
        if (m && f->observe) f->observe(f, "epoch_trained", f->user);
        if (m && m->epoch_end) m->epoch_end(r, f->state);
        if (m && f->observe) f->observe(f, "epoch_end", f->user);
        double loss;
        double acc = mf_evaluate(f, r->model, &loss);
        if (acc > best) { best = acc; r->round_best_epoch = e; }
        if (loss < min_loss) { min_loss = loss; r->round_min_val_epoch = e; }
        last = acc;
    }
    r->round_test_acc = last;
    r->round_best_acc = best;
    r->round_min_val_loss = min_loss;
    free(dlogits);
}

void mf_pretrain(mf_fixture *f, int epochs)
{
    f->run.lr_scale = 1.0;
    train_epochs(f, epochs, 0);
    nn_optim_reset(&f->optim);
}

int mf_setup(mf_fixture *f, char *err, size_t errlen)
{
    mt_run *r = &f->run;
    r->epochs = f->epochs;
    r->n_rounds = 1;
    if (f->m->setup && f->m->setup(r, f->config, &f->state, err, errlen) != 0) return 1;
    if (f->observe) f->observe(f, "setup", f->user);
    return 0;
}

void mf_train(mf_fixture *f)
{
    mt_run *r = &f->run;
    const method *m = f->m;
    for (int round = 0; round < r->n_rounds; round++) {
        r->round = round;
        r->round_epochs = f->epochs;
        r->lr_scale = 1.0;
        r->reset_optimizer = 1;
        r->step = 0;
        if (m->round_begin) m->round_begin(r, f->state);
        if (f->observe) f->observe(f, "round_begin", f->user);
        if (r->reset_optimizer) nn_optim_reset(&f->optim);
        train_epochs(f, r->round_epochs, 1);
        if (m->round_end) m->round_end(r, f->state);
        if (f->observe) f->observe(f, "round_end", f->user);
    }
}

int mf_finish(mf_fixture *f, char *err, size_t errlen)
{
    mt_run *r = &f->run;
    if (f->m->finish && f->m->finish(r, f->state, err, errlen) != 0) return 1;
    if (f->observe) f->observe(f, "finish", f->user);
    f->final_acc = mf_evaluate(f, r->model, NULL);
    mt_footprint_dense(r->model, &f->fp);
    if (f->m->account) f->m->account(r, f->state, &f->fp);
    return 0;
}

int mf_run(mf_fixture *f, char *err, size_t errlen)
{
    if (mf_setup(f, err, errlen) != 0) return 1;
    mf_train(f);
    return mf_finish(f, err, errlen);
}

void mf_close(mf_fixture *f)
{
    if (f->m && f->m->free_state && f->state) f->m->free_state(f->state);
    nn_optim_free(&f->optim);
    nn_model_free(f->run.model);
    free(f->config);
    free(f->xtr); free(f->xte); free(f->ytr); free(f->yte);
    if (f->dir[0]) {
        char cmd[512];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
        if (system(cmd) != 0) fprintf(stderr, "mf_close: could not remove %s\n", f->dir);
    }
    memset(f, 0, sizeof *f);
}

void mf_randomize_bn(nn_model *m, uint64_t seed, int scales)
{
    nn_rng r;
    nn_rng_seed(&r, seed, 9);
    for (int i = 0; i < m->n_nodes; i++) {
        nn_node *n = &m->nodes[i];
        if (n->kind != NN_BATCHNORM) continue;
        for (size_t c = 0; c < n->nw; c++) {
            n->w[c] = scales == MF_BN_SIGNED_SCALES ? (c % 7 == 3 ? 0.0f : nn_rng_normal(&r)) : 0.5f + nn_rng_uniform(&r);
            n->b[c] = 0.6f * nn_rng_normal(&r);
            n->run_mean[c] = 0.3f * nn_rng_normal(&r);
            n->run_var[c] = 0.5f + nn_rng_uniform(&r);
        }
    }
}
