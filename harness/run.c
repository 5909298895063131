/* The experiment runner: the one training loop every method hooks into (see methods/method.h). */
#include "harness/run.h"
#include "harness/footprint_json.h"
#include "harness/packed_eval.h"
#include "harness/packed_file.h"
#include "harness/speedup.h"
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <hdf5.h>
#include <cblas.h>
#include "datasets/dataset.h"
#include "harness/checkpoint.h"
#include "harness/ckpt_method.h"
#include "harness/code_version.h"
#include "harness/data_store.h"
#include "harness/diverge.h"
#include "base/fileio.h"
#include "base/json.h"
#include "harness/metrics.h"
#include "harness/roots.h"
#include "harness/run_dir.h"
#include "methods/method.h"
#include "nn/loss.h"
#include "nn/optim.h"
#include "nn/schedule.h"

/* The round in progress, as the runner hands it to round_end (mt_run's round_* fields); kept in
 * the checkpoint so a round resumed in its middle reports the whole round. */
typedef struct round_stats {
    double best, min_val, last;    /* test accuracy: best and last; the selection loss's minimum */
    int best_epoch, min_val_epoch;
} round_stats;

typedef struct runner {
    hx_config cfg;
    char hash[17];
    char run_id[OPT_STR_MAX + 32], run_dir[PATH_MAX], ckpt_path[PATH_MAX + 16];
    hx_run_dir dir;            /* the run folder, locked while the run writes it */
    FILE *log;
    int quiet;
    const nn_model *pretrained;   /* the caller's baseline model ([model] pretrained) */
    ds_dataset ds;
    ds_split train, val;       /* views into ds (train may be a subset) */
    nn_model *model;
    nn_optim optim;
    nn_schedule sched;
    nn_rng method_rng;
    mt_run mt;
    void *mstate;
    hx_metrics metrics;
    float *x; uint8_t *y; float *dlogits;
    double train_seconds; long train_images;
    double best_acc; int best_epoch, best_round;
    long stop_after;           /* HARNESS_STOP_AFTER_EPOCHS: simulate an interruption (tests) */
    hx_diverge div;            /* the divergence rule's state for this round */
    int saved_round, saved_epoch;   /* position of model.h5 on disk (-1: none from this run) */
    round_stats rs;
    int finished;              /* every round ended (and the method's finish ran): model.h5 is final */
    mt_footprint *final_fp;    /* the finished model's footprint, kept in its checkpoint for the report */
    int resumed_final;         /* resumed from a finished checkpoint: only the report is due */
    nn_model *setup_model;     /* the model the method set up, kept for its state when resumed_final */
} runner;

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static double peak_rss_mib(void)
{
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return (double)u.ru_maxrss / 1024.0;   /* ru_maxrss is KiB on Linux */
}

/* Each epoch's shuffle and augmentation draw from a seed that is a pure function of
 * (run seed, round, epoch): an interrupted run resumes to exactly the same numbers. */
static uint64_t epoch_seed(const runner *r, int round, int epoch)
{
    uint64_t h = 0x9E3779B97F4A7C15ULL ^ (uint64_t)r->cfg.seed;
    h = (h ^ (uint64_t)(round + 1)) * 0xBF58476D1CE4E5B9ULL;
    h = (h ^ (uint64_t)(epoch + 1)) * 0x94D049BB133111EBULL;
    return h ^ (h >> 31);
}

static int setup_optimizer(runner *r)
{
    const hx_config *c = &r->cfg;
    nn_optim_free(&r->optim);
    memset(&r->optim, 0, sizeof r->optim);
    if (nn_optim_init(&r->optim, c->optimizer == CFG_OPT_ADAM ? NN_ADAM : NN_SGD, r->model) != 0) return -1;
    r->optim.momentum = (float)c->momentum;
    r->optim.nesterov = c->nesterov;
    r->optim.beta1 = (float)c->adam_beta1;
    r->optim.beta2 = (float)c->adam_beta2;
    r->optim.weight_decay = (float)c->weight_decay;
    r->mt.optim = &r->optim;
    return 0;
}

static void setup_schedule(runner *r)
{
    const hx_config *c = &r->cfg;
    static const nn_sched_kind kinds[] = {NN_SCHED_CONST, NN_SCHED_STEP, NN_SCHED_MULTISTEP, NN_SCHED_COSINE};
    nn_schedule *s = &r->sched;
    memset(s, 0, sizeof *s);
    s->kind = kinds[c->schedule];
    s->base_lr = (float)c->lr;
    s->gamma = (float)c->gamma;
    s->step_size = c->step_size;
    s->n_milestones = c->milestones.n < NN_SCHED_MAX_MILESTONES ? c->milestones.n : NN_SCHED_MAX_MILESTONES;
    for (int i = 0; i < s->n_milestones; i++) s->milestones[i] = c->milestones.v[i];
    s->epochs = c->epochs;
    s->min_lr = (float)c->min_lr;
    s->warmup_epochs = c->warmup_epochs;
}

/* --- hooks offered to methods ----------------------------------------------------------- */
static double mt_evaluate(mt_run *mt, nn_model *m, double *loss)
{
    runner *r = mt->runner;
    return hx_evaluate(m, &r->ds, &r->ds.test, 0, r->cfg.eval_batch, loss);
}

static int mt_train_batch(mt_run *mt, long i, float *x)
{
    runner *r = mt->runner;
    const hx_config *c = &r->cfg;
    uint64_t first = (uint64_t)i * (uint64_t)c->batch;
    if (i < 0 || first >= r->train.n) return 0;
    ds_loader ld;
    if (ds_loader_init(&ld, &r->ds, &r->train, 0, r->train.n, c->batch, 1, 0, epoch_seed(r, -1, -1)) != 0) return 0;
    int got = 0;
    for (long b = 0; b <= i; b++) got = ds_loader_next(&ld, x, r->y);
    ds_loader_free(&ld);
    return got > 0 ? got : 0;
}

/* The training split as an epoch of training draws it: shuffled by seed, with the config's
 * augmentation and Cutout. */
static int training_loader(const runner *r, ds_loader *ld, uint64_t seed)
{
    const hx_config *c = &r->cfg;
    if (ds_loader_init(ld, &r->ds, &r->train, 0, r->train.n, c->batch, 1, c->augment, seed) != 0) return -1;
    ld->cutout = c->cutout;
    return 0;
}

/* batch_at for nn_bn_recalibrate: training_loader's batches, read in sequence */
typedef struct { ds_loader ld; uint8_t *y; } train_reader;

static int next_train_batch(void *ctx, long i, float *x)
{
    (void)i;
    train_reader *t = ctx;
    int got = ds_loader_next(&t->ld, x, t->y);
    return got > 0 ? got : 0;
}

static void mt_recalibrate_bn(mt_run *mt, int batches)
{
    runner *r = mt->runner;
    train_reader t = {.y = r->y};
    if (training_loader(r, &t.ld, epoch_seed(r, -1, -1)) != 0) return;
    nn_bn_recalibrate(r->model, next_train_batch, &t, batches);
    ds_loader_free(&t.ld);
}

static void mt_replace_model(mt_run *mt, nn_model *m)
{
    runner *r = mt->runner;
    nn_model_free(r->model);
    r->model = m;
    mt->model = m;
    nn_model_set_threads(m, r->cfg.threads);
    setup_optimizer(r);
}

#define HOOK(r, name) do { if ((r)->cfg.method && (r)->cfg.method->name) (r)->cfg.method->name(&(r)->mt, (r)->mstate); } while (0)

/* --- set-up --------------------------------------------------------------------------- */
/* Starts from the baseline the caller resolved (harness/experiment.c). */
static int load_pretrained(runner *r, char *err, size_t errlen)
{
    const nn_model *b = r->pretrained;
    if (!b) {
        snprintf(err, errlen, "%s: [model] pretrained = %s: no baseline model was handed to the run (hx_experiment "
                 "resolves it)", r->cfg.path, r->cfg.pretrained);
        return -1;
    }
    if (strcmp(b->arch, r->model->arch) != 0 || b->n_params != r->model->n_params ||
        b->n_state != r->model->n_state || b->n_classes != r->model->n_classes) {
        snprintf(err, errlen, "%s: [model] pretrained = %s trains arch %s (%zu params) but this run uses %s (%zu params)",
                 r->cfg.path, r->cfg.pretrained, b->arch, b->n_params, r->model->arch, r->model->n_params);
        return -1;
    }
    memcpy(r->model->params, b->params, sizeof(float) * b->n_params);
    if (b->n_state) memcpy(r->model->state, b->state, sizeof(float) * b->n_state);
    return 0;
}

void hx_run_locate(const hx_config *c, char hash[17], char *run_id, size_t id_len, char *run_dir, size_t dir_len)
{
    cfg_hash(c, hash);
    snprintf(run_id, id_len, "%s-%s", c->name, hash);
    snprintf(run_dir, dir_len, "%s/runs/%s", hx_results_root(), run_id);
}

static int setup(runner *r, rd_mode mode, const char *runs_dir, char *err, size_t errlen)
{
    hx_config *c = &r->cfg;
    hx_run_locate(c, r->hash, r->run_id, sizeof r->run_id, r->run_dir, sizeof r->run_dir);
    if (runs_dir) snprintf(r->run_dir, sizeof r->run_dir, "%s/%s", runs_dir, r->run_id);
    snprintf(r->ckpt_path, sizeof r->ckpt_path, "%s/model.h5", r->run_dir);
    if (hx_run_dir_take(&r->dir, r->run_dir, r->run_id, r->hash, mode, err, errlen) != 0) return -1;
    if (r->dir.reuse) return 0;   /* finished already: hx_run reads its result */
    int resume = r->dir.resume;
    if (mode == RD_RESUME && !resume)   /* the folder held nothing: nothing to continue */
        fprintf(r->log, "--resume: %s was never started; starting it\n", r->run_id);

    if (hx_dataset_open(c->dataset, &r->ds, r->log, err, errlen) != 0) return -1;
    r->train = r->ds.train;
    if (c->val_size > 0) {
        if ((uint32_t)c->val_size >= r->ds.train.n) {
            snprintf(err, errlen, "%s: [data] val_size = %d: must be below the %u training images", c->path,
                     c->val_size, r->ds.train.n);
            return -1;
        }
        if (ds_split_validation(&r->ds, (uint32_t)c->val_size, (uint64_t)c->seed, &r->val, err, errlen) != 0) return -1;
        r->train = r->ds.train;
    }
    if (c->train_subset > 0 && (uint32_t)c->train_subset < r->ds.train.n) {
        if (ds_split_subset(&r->ds, (uint32_t)c->train_subset, (uint64_t)c->seed, err, errlen) != 0) return -1;
        r->train = r->ds.train;
    }

    nn_dims in = {r->ds.c, r->ds.h, r->ds.w};
    char merr[NN_ERR_MAX];
    r->model = nn_model_create(c->arch, in, r->ds.n_classes, merr, sizeof merr);
    if (!r->model) { snprintf(err, errlen, "%s: [model] arch = %s: %s", c->path, c->arch, merr); return -1; }
    nn_model_set_threads(r->model, c->threads);
    nn_rng init_rng;
    nn_rng_seed(&init_rng, (uint64_t)c->seed, 1);
    nn_model_init(r->model, (nn_init)c->init, &init_rng);
    nn_rng_seed(&r->method_rng, (uint64_t)c->seed, 2);
    /* A resumed method run sets its method up on the same starting model as the first start did
     * (setup derives thresholds, selections, scales from it), then the checkpoint overwrites the rest. */
    if (c->pretrained[0] && (!resume || c->method) && load_pretrained(r, err, errlen) != 0) return -1;

    if (setup_optimizer(r) != 0) { snprintf(err, errlen, "out of memory (optimizer)"); return -1; }
    setup_schedule(r);
    if (nn_model_reserve(r->model, c->batch > c->eval_batch ? c->batch : c->eval_batch) != 0) {
        snprintf(err, errlen, "out of memory (activations for batch %d)", c->batch);
        return -1;
    }
    size_t per = nn_dims_size(in);
    r->x = malloc(sizeof(float) * per * (size_t)c->batch);
    r->y = malloc((size_t)c->batch);
    r->dlogits = malloc(sizeof(float) * (size_t)r->model->n_classes * (size_t)c->batch);

    mt_run *mt = &r->mt;
    mt->model = r->model;
    mt->optim = &r->optim;
    mt->rng = &r->method_rng;
    mt->run_dir = r->run_dir;
    mt->log = r->log;
    mt->epochs = c->epochs;
    mt->n_rounds = 1;
    mt->steps_per_epoch = (long)((r->train.n + (uint32_t)c->batch - 1) / (uint32_t)c->batch);
    mt->evaluate = mt_evaluate;
    mt->replace_model = mt_replace_model;
    mt->train_batch = mt_train_batch;
    mt->recalibrate_bn = mt_recalibrate_bn;
    mt->batch = c->batch;
    mt->runner = r;
    if (c->method && c->method->setup) {
        char msg[1024];
        if (c->method->setup(mt, c->method_config, &r->mstate, msg, sizeof msg) != 0) {
            snprintf(err, errlen, "%s: method %s: %s", c->path, c->method->name, msg);
            return -1;
        }
    }
    if (hx_run_dir_begin(&r->dir, err, errlen) != 0) return -1;
    char *resolved = cfg_resolved(c);
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/config.ini", r->run_dir);
    int rc = fio_write_string(path, resolved, err, errlen);
    free(resolved);
    return rc;
}

/* --- training ------------------------------------------------------------------------- */
/* "training diverged at ...: <why>; lower [train] lr (now X); <where the last good model is>". */
static int diverged(const runner *r, int round, int epoch, long batch, const char *why, char *err, size_t errlen)
{
    char at[64] = "", saved[PATH_MAX + 96];
    if (batch > 0) snprintf(at, sizeof at, " batch %ld", batch);
    if (r->saved_round >= 0)
        snprintf(saved, sizeof saved, "the last checkpoint is %s (round %d epoch %d)", r->ckpt_path,
                 r->saved_round + 1, r->saved_epoch + 1);
    else
        snprintf(saved, sizeof saved, "no checkpoint was written before it diverged");
    snprintf(err, errlen, "%s: training diverged at round %d epoch %d%s: %s; lower [train] lr (now %g); %s",
             r->cfg.path, round + 1, epoch + 1, at, why, r->cfg.lr, saved);
    return -1;
}

static void progress(runner *r, int round, int epoch, long batch, long n_batches, double loss, double acc,
                     double ips, double eta_s)
{
    if (r->quiet || !isatty(fileno(r->log))) return;
    fprintf(r->log, "\r  round %d epoch %d/%d batch %ld/%ld  loss %.4f  acc %.2f%%  %.0f img/s  ETA %dm%02ds   ",
            round + 1, epoch + 1, r->mt.round_epochs, batch, n_batches, loss, acc, ips, (int)eta_s / 60,
            (int)eta_s % 60);
    fflush(r->log);
}

static int train_epoch(runner *r, int round, int epoch, double *train_loss, double *train_acc, double *ips,
                       char *err, size_t errlen)
{
    const hx_config *c = &r->cfg;
    mt_run *mt = &r->mt;
    ds_loader ld;
    if (training_loader(r, &ld, epoch_seed(r, round, epoch)) != 0) {
        snprintf(err, errlen, "out of memory (loader)");
        return -1;
    }
    long n_batches = mt->steps_per_epoch, b = 0, seen = 0, correct = 0;
    double loss_sum = 0, t0 = now_s();
    int got;
    while ((got = ds_loader_next(&ld, r->x, r->y)) > 0) {
        nn_model *m = r->model;
        const float *logits = nn_forward(m, r->x, got, 1);
        int ok = 0;
        float loss = nn_softmax_xent(logits, r->y, got, m->n_classes, r->dlogits, &ok);
        char why[256];
        if (hx_diverge_step(&r->div, loss, why, sizeof why)) {
            ds_loader_free(&ld);
            return diverged(r, round, epoch, b + 1, why, err, errlen);
        }
        nn_zero_grad(m);
        nn_backward(m, r->dlogits, got);
        double frac = (double)epoch + (double)b / (double)n_batches;
        mt->lr = nn_schedule_lr(&r->sched, frac) * mt->lr_scale;
        HOOK(r, after_backward);
        nn_optim_step(&r->optim, r->model, (float)mt->lr);
        mt->step++;
        HOOK(r, step_end);
        loss_sum += (double)loss * got;
        correct += ok;
        seen += got;
        b++;
        if (b % 50 == 0 || b == n_batches) {
            double dt = now_s() - t0;
            double rate = seen / (dt > 0 ? dt : 1e-9);
            double left = (double)(n_batches - b) * c->batch / rate +
                          (double)(mt->round_epochs - epoch - 1) * n_batches * c->batch / rate;
            progress(r, round, epoch, b, n_batches, loss_sum / seen, 100.0 * correct / seen, rate, left);
        }
    }
    ds_loader_free(&ld);
    double dt = now_s() - t0;
    r->train_seconds += dt;
    r->train_images += seen;
    *train_loss = seen ? loss_sum / seen : 0;
    *train_acc = seen ? 100.0 * correct / seen : 0;
    *ips = seen / (dt > 0 ? dt : 1e-9);
    if (!r->quiet && isatty(fileno(r->log))) fprintf(r->log, "\r%120s\r", "");
    char why[256];
    if (hx_diverge_epoch(&r->div, *train_loss, why, sizeof why)) return diverged(r, round, epoch, 0, why, err, errlen);
    return 0;
}

/* The runner's own state beside the model: the best so far, the time spent, the round in
 * progress (its plan and results so far) and whether the method's finish ran. */
static char *state_json(const runner *r)
{
    json_w j;
    json_init(&j);
    json_obj_begin(&j, NULL);
    json_int(&j, "best_epoch", r->best_epoch);
    json_int(&j, "best_round", r->best_round);
    json_num(&j, "train_seconds", r->train_seconds);
    json_int(&j, "train_images", r->train_images);
    json_int(&j, "round_epochs", r->mt.round_epochs);
    json_num(&j, "lr_scale", r->mt.lr_scale);
    json_num(&j, "round_best_acc", r->rs.best);
    json_int(&j, "round_best_epoch", r->rs.best_epoch);
    json_num(&j, "round_min_val_loss", r->rs.min_val);      /* null while infinite */
    json_int(&j, "round_min_val_epoch", r->rs.min_val_epoch);
    json_num(&j, "round_last_acc", r->rs.last);
    json_int(&j, "finished", r->finished);
    if (r->final_fp) hx_fp_put_final(&j, "final_footprint", r->final_fp);
    json_obj_end(&j);
    char *text = strdup(json_text(&j));
    json_free(&j);
    return text;
}

/* Reads state_json back; a key that is missing (a file of an older harness) keeps its value. */
static void load_state_json(runner *r, const char *text)
{
    char verr[256];
    if (!text || json_validate(text, verr, sizeof verr) != 0) return;
    const struct { const char *key; double *d; int *i; long *l; } keys[] = {
        {"best_epoch", NULL, &r->best_epoch, NULL},       {"best_round", NULL, &r->best_round, NULL},
        {"train_seconds", &r->train_seconds, NULL, NULL}, {"train_images", NULL, NULL, &r->train_images},
        {"round_epochs", NULL, &r->mt.round_epochs, NULL}, {"lr_scale", &r->mt.lr_scale, NULL, NULL},
        {"round_best_acc", &r->rs.best, NULL, NULL},      {"round_best_epoch", NULL, &r->rs.best_epoch, NULL},
        {"round_min_val_loss", &r->rs.min_val, NULL, NULL}, {"round_min_val_epoch", NULL, &r->rs.min_val_epoch, NULL},
        {"round_last_acc", &r->rs.last, NULL, NULL},      {"finished", NULL, &r->finished, NULL},
    };
    for (size_t k = 0; k < sizeof keys / sizeof *keys; k++) {
        double v;
        if (json_get_num(text, keys[k].key, &v) != JSON_OK) continue;
        if (keys[k].d) *keys[k].d = v;
        else if (keys[k].i) *keys[k].i = (int)v;
        else *keys[k].l = (long)v;
    }
    free(r->final_fp);
    r->final_fp = r->finished ? hx_fp_get_final(text, "final_footprint") : NULL;
}

static int save_checkpoint(runner *r, int round, int epoch, char *err, size_t errlen)
{
    ckpt_meta meta;
    memset(&meta, 0, sizeof meta);
    snprintf(meta.arch, sizeof meta.arch, "%s", r->model->arch);
    meta.in_dims = r->model->in_dims;
    meta.n_classes = r->model->n_classes;
    meta.round = round;
    meta.epoch = epoch;
    meta.step = r->mt.step;
    meta.seed = (uint64_t)r->cfg.seed;
    meta.rng = r->method_rng;
    meta.best_acc = r->best_acc;
    snprintf(meta.config_hash, sizeof meta.config_hash, "%s", r->hash);
    meta.json = state_json(r);
    if (!meta.json) { snprintf(err, errlen, "%s: out of memory", r->ckpt_path); return -1; }
    /* A finished model no longer has the method's training state (transforms baked, filters
     * removed): nothing to resume from it, so no method group. */
    ckm_source src = {r->cfg.method, &r->mt, r->mstate};
    if (r->cfg.method && !r->finished) { meta.put_extra = ckm_put; meta.extra_arg = &src; }
    int rc = ckpt_save(r->ckpt_path, r->model, &r->optim, &meta, err, errlen);
    free(meta.json);
    if (rc != 0) return -1;
    r->saved_round = round;
    r->saved_epoch = epoch;
    return 0;
}

/* Why a method run cannot continue from its checkpoint, or NULL. */
static const char *unresumable(const runner *r)
{
    if (r->finished && !r->final_fp)   /* a checkpoint of an older harness */
        return "finished training (model.h5 is its final model, the rounds' ends and finish ran), but its "
               "checkpoint holds no footprint for the missing report: run it again with --rerun";
    if (r->cfg.method->post_training && !r->finished)
        return "trains nothing, so it saves no epoch to continue from; run it again with --rerun";
    return NULL;
}

/* Restores an interrupted run: model, optimizer, position, the runner's round in progress and,
 * for a method run, the method's state over a fresh setup (ckpt_method.h). Returns the round and
 * epoch to continue at; start_epoch may equal the round's epochs (the round's end is due). */
static int resume_from(runner *r, int *start_round, int *start_epoch, char *err, size_t errlen)
{
    if (!fio_exists(r->ckpt_path)) {
        if (!r->cfg.method || !r->cfg.method->post_training)
            snprintf(err, errlen, "--resume: %s has no checkpoint to resume from", r->run_dir);
        else
            snprintf(err, errlen, "--resume: %s has no checkpoint: method %s trains nothing, so there is no "
                     "epoch to continue from; run it again with --rerun", r->run_dir, r->cfg.method->name);
        return -1;
    }
    ckpt_meta meta;
    memset(&meta, 0, sizeof meta);
    nn_optim *opt = &r->optim;
    nn_optim_free(opt);
    memset(opt, 0, sizeof *opt);
    ckpt_expect want = {{r->ds.c, r->ds.h, r->ds.w}, r->ds.n_classes};
    nn_model *m = ckpt_load_expect(r->ckpt_path, &want, opt, &meta, err, errlen);
    if (!m) return -1;
    r->mt.round_epochs = r->cfg.epochs;
    r->mt.lr_scale = 1.0;
    load_state_json(r, meta.json);
    const char *why = r->cfg.method ? unresumable(r) : NULL;
    int rc = 0;
    if (why) {
        snprintf(err, errlen, "--resume: %s: method %s %s", r->ckpt_path, r->cfg.method->name, why);
        rc = -1;
    } else if (strcmp(meta.config_hash, r->hash) != 0) {
        snprintf(err, errlen, "--resume: %s was written by a different config (hash %s, this config %s)",
                 r->ckpt_path, meta.config_hash, r->hash);
        rc = -1;
    } else if (!r->finished &&
               (meta.round >= r->mt.n_rounds || meta.epoch >= r->mt.round_epochs || r->mt.round_epochs > CKPT_MAX_EPOCHS)) {
        snprintf(err, errlen, "--resume: %s is at round %d epoch %d, but this config runs %d round(s) of %d epochs",
                 r->ckpt_path, meta.round + 1, meta.epoch + 1, r->mt.n_rounds, r->mt.round_epochs);
        rc = -1;
    }
    if (rc == 0 && r->finished) {
        /* Only the report is due: it reads the final model as saved (a method's may have lost
         * filters or had its transforms baked in) and the footprint saved with it. The set-up
         * model stays alive for the method's state until the end. */
        r->setup_model = r->model;
        r->model = m;
        r->mt.model = m;
        r->resumed_final = 1;
        nn_model_set_threads(m, r->cfg.threads);
        nn_model_reserve(m, r->cfg.eval_batch);
    } else if (rc == 0 && r->cfg.method) {
        /* The set-up model keeps what the method attached to it; the checkpoint's values go into it. */
        ckm_source src = {r->cfg.method, &r->mt, r->mstate};
        if (ckm_restore_model(r->model, m, r->ckpt_path, err, errlen) != 0 ||
            ckm_load(r->ckpt_path, &src, err, errlen) != 0)
            rc = -1;
        nn_model_free(m);
    } else if (rc == 0) {
        nn_model_free(r->model);
        r->model = m;
        r->mt.model = m;
        nn_model_set_threads(m, r->cfg.threads);
        nn_model_reserve(m, r->cfg.batch > r->cfg.eval_batch ? r->cfg.batch : r->cfg.eval_batch);
    } else {
        nn_model_free(m);
    }
    if (rc != 0) {
        ckpt_meta_free(&meta);
        return -1;
    }
    r->mt.optim = &r->optim;
    r->method_rng = meta.rng;
    r->best_acc = meta.best_acc;
    r->mt.step = meta.step;
    char mpath[PATH_MAX + 16];
    snprintf(mpath, sizeof mpath, "%s/metrics.csv", r->run_dir);
    if (hx_metrics_load(&r->metrics, mpath, r->finished ? INT_MAX : meta.round, meta.epoch, err, errlen) != 0) {
        ckpt_meta_free(&meta);
        return -1;
    }
    *start_round = r->finished ? r->mt.n_rounds : meta.round;   /* finished: just the report */
    *start_epoch = meta.epoch + 1;
    r->saved_round = meta.round;
    r->saved_epoch = meta.epoch;
    if (r->resumed_final) fprintf(r->log, "resuming %s: training had finished, writing its report\n", r->run_id);
    else fprintf(r->log, "resuming %s after round %d epoch %d\n", r->run_id, meta.round + 1, meta.epoch + 1);
    ckpt_meta_free(&meta);
    return 0;
}

/* The config hash of the baseline config at path (0), or -1 when it no longer loads. */
static int pretrained_hash(const char *path, char out[17])
{
    hx_config b;
    char err[1024];
    if (cfg_load(path, NULL, 0, &b, err, sizeof err) != 0) return -1;
    cfg_hash(&b, out);
    cfg_free(&b);
    return 0;
}

static int write_result(runner *r, double final_acc, double final_loss, double wall, const mt_footprint *fp,
                        const hx_packed_size *packed, const hx_packed_eval *agree, char *err, size_t errlen)
{
    const hx_config *c = &r->cfg;
    json_w j;
    json_init(&j);
    json_obj_begin(&j, NULL);
    json_str(&j, "run_id", r->run_id);
    json_str(&j, "config", c->path);
    json_str(&j, "config_hash", r->hash);
    char recipe[17];
    cfg_recipe_hash(c, recipe);
    json_str(&j, "recipe_hash", recipe);
    /* The baseline it started from: its run id hashes [model] pretrained's path, not what the
     * baseline config says, so a changed baseline shows here (harness table flags the mix). */
    char base_hash[17];
    if (c->pretrained[0] && pretrained_hash(c->pretrained, base_hash) == 0) json_str(&j, "pretrained_hash", base_hash);
    json_str(&j, "code_version", hx_code_version);
    json_str(&j, "method", c->method ? c->method->name : "none");
    json_str(&j, "method_title", c->method ? c->method->title : "Full precision");
    json_str(&j, "arch", c->arch);
    json_str(&j, "dataset", c->dataset);
    /* The raw files its store was prepared from (datasets/dataset.h: ds_source): two stores of one
     * dataset may hold the same images in another order (an image-folder import keeps classes in
     * blocks; the binary files mix them), and a seed's numbers follow the order. */
    json_arr_begin(&j, "data_sources");
    for (int i = 0; i < r->ds.n_sources; i++) {
        const ds_source *src = &r->ds.sources[i];
        char crc[16];
        snprintf(crc, sizeof crc, "%08x", (unsigned)src->crc32);
        json_obj_begin(&j, NULL);
        json_str(&j, "file", src->file);
        json_int(&j, "bytes", (long long)src->bytes);
        json_str(&j, "crc32", crc);
        json_obj_end(&j);
    }
    json_arr_end(&j);
    json_int(&j, "seed", c->seed);
    json_int(&j, "threads", c->threads);
    json_int(&j, "epochs", c->epochs);
    json_int(&j, "rounds", r->mt.n_rounds);
    json_num(&j, "final_acc", final_acc);
    json_num(&j, "final_loss", final_loss);
    json_num(&j, "best_acc", r->best_acc);
    json_int(&j, "best_epoch", r->best_epoch + 1);
    json_num(&j, "wall_s", wall);
    json_num(&j, "train_s", r->train_seconds);
    json_num(&j, "images_per_s", r->train_seconds > 0 ? r->train_images / r->train_seconds : 0);
    json_int(&j, "params", (long long)r->model->n_params);
    json_int(&j, "weights", (long long)nn_count_weights(r->model));
    json_int(&j, "nonzero_weights", (long long)nn_count_nonzero(r->model));
    json_num(&j, "peak_rss_mib", peak_rss_mib());
    json_obj_begin(&j, "footprint");
    json_num(&j, "bytes_fp32", fp->bytes_fp32);
    json_num(&j, "bytes", fp->bytes);
    json_num(&j, "compression", fp->bytes > 0 ? fp->bytes_fp32 / fp->bytes : 0);
    double md = 0, mn = 0;
    for (int i = 0; i < fp->n_layers; i++) { md += fp->layers[i].macs_dense; mn += fp->layers[i].macs_needed; }
    json_num(&j, "macs_dense", md);
    json_num(&j, "macs_needed", mn);
    hx_fp_put_layers(&j, fp);
    json_obj_begin(&j, "extra");
    for (int i = 0; i < fp->n_extras; i++) json_num(&j, fp->extra_key[i], fp->extra_val[i]);
    json_obj_end(&j);
    /* measured: the payloads model.packed.h5 holds (harness/packed_file.h), beside the formula above */
    if (packed) {
        json_int(&j, "packed_bytes", (long long)(packed->weight_bytes + packed->param_bytes));
        json_int(&j, "packed_weight_bytes", (long long)packed->weight_bytes);
        json_int(&j, "packed_file_bytes", (long long)packed->file_bytes);
    }
    json_obj_end(&j);
    /* the packed model run through deploy/'s kernels on the test split, against model.h5 */
    if (agree) {
        json_obj_begin(&j, "agreement");
        json_num(&j, "packed_acc", agree->acc);
        json_num(&j, "float_acc", agree->float_acc);
        json_int(&j, "differ", agree->differ);
        json_int(&j, "images", agree->n);
        json_obj_end(&j);
    }
    json_obj_begin(&j, "versions");
    json_str(&j, "harness", HARNESS_VERSION);
    json_str(&j, "git", hx_code_git);
    unsigned maj, min, rel;
    H5get_libversion(&maj, &min, &rel);
    char v[64];
    snprintf(v, sizeof v, "%u.%u.%u", maj, min, rel);
    json_str(&j, "hdf5", v);
    json_str(&j, "openblas", openblas_get_config());
    char backend[128];
    nn_backend_describe(backend, sizeof backend);
    json_str(&j, "onednn", backend);
    char cpu[128];
    hx_cpu_model(cpu, sizeof cpu);      /* the machine a record's last bits came from */
    json_str(&j, "cpu", cpu);
    json_str(&j, "compiler", __VERSION__);
    json_obj_end(&j);
    json_obj_end(&j);
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/result.json", r->run_dir);
    int rc = json_save(&j, path, err, errlen);
    json_free(&j);
    return rc;
}

static int train_all(runner *r, int start_round, int start_epoch, char *err, size_t errlen)
{
    const hx_config *c = &r->cfg;
    mt_run *mt = &r->mt;
    char mpath[PATH_MAX + 16];
    snprintf(mpath, sizeof mpath, "%s/metrics.csv", r->run_dir);
    for (int round = start_round; round < mt->n_rounds; round++) {
        mt->round = round;
        /* A resumed round continues with the plan, step count and results its checkpoint holds. */
        if (round != start_round || start_epoch == 0) {
            mt->round_epochs = c->epochs;
            mt->lr_scale = 1.0;
            mt->reset_optimizer = 1;
            mt->step = 0;
            r->rs = (round_stats){-1, INFINITY, 0, 0, 0};
            HOOK(r, round_begin);
            if (mt->reset_optimizer) nn_optim_reset(&r->optim);
        }
        hx_diverge_round(&r->div, r->model->n_classes);
        /* A cosine decays over the round the method planned, not over [train] epochs. */
        r->sched.epochs = mt->round_epochs > 0 ? mt->round_epochs : c->epochs;
        round_stats *rs = &r->rs;
        for (int epoch = round == start_round ? start_epoch : 0; epoch < mt->round_epochs; epoch++) {
            mt->epoch = epoch;
            HOOK(r, epoch_begin);
            double tl, ta, ips;
            if (train_epoch(r, round, epoch, &tl, &ta, &ips, err, errlen) != 0) return -1;
            HOOK(r, epoch_end);
            double test_loss, val_loss = NAN, val_acc = NAN;
            double test_acc = hx_evaluate(r->model, &r->ds, &r->ds.test, 0, c->eval_batch, &test_loss);
            if (r->val.n) val_acc = hx_evaluate(r->model, &r->ds, &r->val, 0, c->eval_batch, &val_loss);
            double sel_loss = r->val.n ? val_loss : test_loss;
            if (sel_loss < rs->min_val) { rs->min_val = sel_loss; rs->min_val_epoch = epoch; }
            if (test_acc > rs->best) { rs->best = test_acc; rs->best_epoch = epoch; }
            if (test_acc > r->best_acc) { r->best_acc = test_acc; r->best_epoch = epoch; r->best_round = round; }
            rs->last = test_acc;
            double lr = nn_schedule_lr(&r->sched, epoch) * mt->lr_scale;
            hx_metrics_row row = {round + 1, epoch + 1, lr, tl, ta, val_loss, val_acc, test_loss, test_acc,
                                  (double)nn_count_nonzero(r->model)};
            hx_metrics_add(&r->metrics, &row);
            if (hx_metrics_save(&r->metrics, mpath, err, errlen) != 0) return -1;
            char val[64] = "";
            if (r->val.n) snprintf(val, sizeof val, "  val loss %.4f acc %6.2f%%", val_loss, val_acc);
            fprintf(r->log, "round %d epoch %3d/%d  lr %.5g  train loss %.4f acc %6.2f%%%s  test loss %.4f acc %6.2f%%  %6.0f img/s\n",
                    round + 1, epoch + 1, mt->round_epochs, lr, tl, ta, val, test_loss, test_acc, ips);
            fflush(r->log);
            if (save_checkpoint(r, round, epoch, err, errlen) != 0) return -1;
            if (--r->stop_after == 0) {
                snprintf(err, errlen, "stopped after epoch %d as HARNESS_STOP_AFTER_EPOCHS asked (a test of "
                         "--resume); continue with harness run --resume %s", epoch + 1, c->path);
                return -1;
            }
        }
        mt->round_test_acc = rs->last;
        mt->round_best_acc = rs->best;
        mt->round_best_epoch = rs->best_epoch;
        mt->round_min_val_loss = rs->min_val;
        mt->round_min_val_epoch = rs->min_val_epoch;
        HOOK(r, round_end);
    }
    return 0;
}

static void runner_free(runner *r)
{
    hx_run_dir_release(&r->dir, 0);
    if (r->cfg.method && r->cfg.method->free_state && r->mstate) r->cfg.method->free_state(r->mstate);
    nn_optim_free(&r->optim);
    nn_model_free(r->model);
    nn_model_free(r->setup_model);
    free(r->final_fp);
    ds_split_free(&r->val);
    ds_free(&r->ds);
    hx_metrics_free(&r->metrics);
    free(r->x); free(r->y); free(r->dlogits);
    cfg_free(&r->cfg);
    free(r);
}

/* Reuse mode found the run finished: its result.json answers, nothing is trained. */
static int report_reused(runner *r, hx_run_result *res, char *err, size_t errlen)
{
    char path[PATH_MAX + 16], *text = NULL;
    snprintf(path, sizeof path, "%s/result.json", r->run_dir);
    if (json_load(path, 1u << 22, &text, err, errlen) != 0) return -1;
    double acc = NAN, best = NAN, wall = 0, ips = 0;
    /* A record of another baseline (its config edited in place since: the run id hashes the
     * path only) is not this config's result: said, and nothing is overwritten. */
    char was[24], now[17];
    if (r->cfg.pretrained[0] && json_get_str(text, "pretrained_hash", was, sizeof was) == JSON_OK &&
        pretrained_hash(r->cfg.pretrained, now) == 0 && strcmp(was, now) != 0) {
        snprintf(err, errlen, "%s was trained from [model] pretrained = %s when that config hashed %s; it hashes %s "
                 "now, so the record is not this config's result: restore the baseline config, or train this run "
                 "again with --rerun (which clears the folder)", path, r->cfg.pretrained, was, now);
        free(text);
        return -1;
    }
    json_get_num(text, "final_acc", &acc);   /* hx_run_dir_finished checked it is there */
    json_get_num(text, "best_acc", &best);
    json_get_num(text, "wall_s", &wall);
    json_get_num(text, "images_per_s", &ips);
    free(text);
    fprintf(r->log, "reused %s: finished already (final test acc %.2f%%), not trained again; results in %s\n",
            r->run_id, acc, r->run_dir);
    if (res) {
        memset(res, 0, sizeof *res);
        snprintf(res->run_id, sizeof res->run_id, "%s", r->run_id);
        snprintf(res->run_dir, sizeof res->run_dir, "%s", r->run_dir);
        res->final_acc = acc;
        res->best_acc = best;
        res->wall_s = wall;
        res->train_images_per_s = ips;
        res->reused = 1;
    }
    return 0;
}

int hx_run(const char *config_path, const hx_run_opts *o, hx_run_result *res, char *err, size_t errlen)
{
    hx_run_opts def = {0};
    if (!o) o = &def;
    runner *r = calloc(1, sizeof *r);
    r->dir.lock_fd = -1;
    r->saved_round = r->saved_epoch = -1;
    r->log = o->log ? o->log : stdout;
    r->quiet = o->quiet;
    r->pretrained = o->pretrained;
    r->best_acc = -1;
    r->rs = (round_stats){-1, INFINITY, 0, 0, 0};
    const char *stop = getenv("HARNESS_STOP_AFTER_EPOCHS");
    r->stop_after = stop && *stop ? atol(stop) : -1;
    double t0 = now_s();
    if (cfg_load(config_path, o->sets, o->n_sets, &r->cfg, err, errlen) != 0) { free(r); return -1; }
    if (o->resume && o->rerun) {
        snprintf(err, errlen, "--resume continues a run, --rerun starts it again: give one of them");
        cfg_free(&r->cfg);
        free(r);
        return -1;
    }
    /* resume with reuse (seeds, suites, sweeps): finished runs reused, interrupted ones continued */
    rd_mode mode = o->rerun ? RD_RERUN : o->resume && o->reuse ? RD_CONTINUE : o->resume ? RD_RESUME
                 : o->reuse ? RD_REUSE : RD_START;
    int rc = setup(r, mode, o->runs_dir, err, errlen);
    if (rc != 0) hx_run_dir_release(&r->dir, 1);
    else if (r->dir.reuse) {
        rc = report_reused(r, res, err, errlen);
        runner_free(r);
        return rc;
    }
    int start_round = 0, start_epoch = 0;
    if (rc == 0 && r->dir.resume) rc = resume_from(r, &start_round, &start_epoch, err, errlen);
    if (rc == 0) {
        fprintf(r->log, "run %s: %s on %s (%u train / %u test images), %zu params, method %s, %d round(s) x %d epochs\n",
                r->run_id, r->cfg.arch, r->cfg.dataset, r->train.n, r->ds.test.n, r->model->n_params,
                r->cfg.method ? r->cfg.method->name : "none", r->mt.n_rounds, r->cfg.epochs);
        rc = train_all(r, start_round, start_epoch, err, errlen);
        r->finished = rc == 0;
    }
    if (rc == 0 && r->cfg.method && r->cfg.method->finish && !r->resumed_final) {
        char msg[1024];
        if (r->cfg.method->finish(&r->mt, r->mstate, msg, sizeof msg) != 0) {
            snprintf(err, errlen, "method %s: finish: %s", r->cfg.method->name, msg);
            rc = -1;
        }

    }
    if (rc == 0) {
        double final_loss;
        double final_acc = hx_evaluate(r->model, &r->ds, &r->ds.test, 0, r->cfg.eval_batch, &final_loss);
        if (r->best_acc < 0) { r->best_acc = final_acc; r->best_epoch = -1; }   /* no epoch evaluated (ptq) */
        if (!r->final_fp) {   /* kept in the checkpoint below, for a report resumed from it */
            r->final_fp = calloc(1, sizeof *r->final_fp);
            mt_footprint_dense(r->model, r->final_fp);
            if (r->cfg.method && r->cfg.method->account) r->cfg.method->account(&r->mt, r->mstate, r->final_fp);
        }
        const mt_footprint *fp = r->final_fp;
        double wall = now_s() - t0;
        rc = save_checkpoint(r, r->mt.n_rounds - 1, r->mt.round_epochs > 0 ? r->mt.round_epochs - 1 : 0, err, errlen);
        if (rc == 0 && r->metrics.n == 0) {     /* no epoch ran (ptq): the header alone marks the record */
            char mpath[PATH_MAX + 16];
            snprintf(mpath, sizeof mpath, "%s/metrics.csv", r->run_dir);
            rc = hx_metrics_save(&r->metrics, mpath, err, errlen);
        }
        /* Training is over: its activations and gradients (~250 MiB for ResNet-20 at batch 128)
         * would otherwise sit beside the two models the packed check below loads. */
        nn_model_release(r->model);
        /* A layer that cannot be packed does not cost the trained run: said, and left out. */
        hx_packed_size packed = {0, 0, 0};
        char why[1024];
        int exported = rc == 0 && hx_export(r->run_dir, &packed, why, sizeof why) == 0;
        if (rc == 0 && !exported)
            fprintf(stderr, "harness: warning: %s: no model.packed.h5, result.json without packed sizes: %s\n",
                    r->run_id, why);
        /* Every run proves its packed model: the same test split through the packed kernels,
         * prediction by prediction against model.h5 (a few seconds beside the training). */
        hx_packed_eval agree;
        int agreed = 0;
        if (exported) {
            char ppath[PATH_MAX + 24];
            snprintf(ppath, sizeof ppath, "%s/model.packed.h5", r->run_dir);
            agreed = hx_packed_eval_ds(ppath, &r->ds, r->cfg.dataset, r->cfg.eval_batch, r->cfg.threads, NULL, &agree,
                                       why, sizeof why) == 0 && agree.have_float;
            if (agreed)
                fprintf(r->log, "packed model: top-1 %.2f%% through the packed kernels, %u of %u predictions differ "
                        "from model.h5 (%.2f%%)\n", agree.acc, agree.differ, agree.n, agree.float_acc);
            else
                fprintf(stderr, "harness: warning: %s: packed model not evaluated: %s\n", r->run_id, why);
            if (agreed && agree.float_acc != final_acc)   /* the checkpoint must reload as trained */
                fprintf(stderr, "harness: warning: %s: model.h5 reloaded scores %.2f%%, the run measured %.2f%%\n",
                        r->run_id, agree.float_acc, final_acc);
        }
        if (rc == 0)
            rc = write_result(r, final_acc, final_loss, wall, fp, exported ? &packed : NULL, agreed ? &agree : NULL, err,
                              errlen);
        if (rc == 0) {
            fprintf(r->log, "done %s: final test acc %.2f%% (best %.2f%%), %.1f s, %.0f img/s, compression %.1fx, peak %.0f MiB\n",
                    r->run_id, final_acc, r->best_acc, wall,
                    r->train_seconds > 0 ? r->train_images / r->train_seconds : 0,
                    fp->bytes > 0 ? fp->bytes_fp32 / fp->bytes : 0, peak_rss_mib());
            fprintf(r->log, "results in %s\n", r->run_dir);
        }
        if (res) {
            memset(res, 0, sizeof *res);
            snprintf(res->run_id, sizeof res->run_id, "%s", r->run_id);
            snprintf(res->run_dir, sizeof res->run_dir, "%s", r->run_dir);
            res->final_acc = final_acc;
            res->best_acc = r->best_acc;
            res->wall_s = wall;
            res->train_images_per_s = r->train_seconds > 0 ? r->train_images / r->train_seconds : 0;
        }
    }
    runner_free(r);
    return rc;
}
