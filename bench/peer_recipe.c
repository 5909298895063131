/* The accuracy half of the PyTorch comparison: trains the network of a baseline config with the
 * config's whole recipe in PyTorch (bench/peer_torch_train.py), on the same prepared images, so a
 * harness run's accuracy can be set beside PyTorch's on the same recipe, data and thread count.
 *
 *   peer_recipe CONFIG.ini [--set section.key=value ...] [--resume] [--out DIR]
 *
 * The record lands in <results>/peers/<run id>/ (the harness run id of the same config, so the two
 * sit side by side by name): config.ini (resolved), metrics.csv (one row per epoch), result.json;
 * a per-epoch checkpoint (checkpoint.pt, not committed) lets --resume continue an interrupted
 * training from its last finished epoch. Only what PyTorch can do the same way is accepted: a
 * baseline (no [method]), no pretrained start, no validation split or training subset, Kaiming
 * initialisation, SGD or Adam; anything else is refused naming the key. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "bench/peer/peer_io.h"
#include "harness/config.h"
#include "harness/data_store.h"
#include "base/fileio.h"
#include "harness/roots.h"
#include "nn/schedule.h"

enum { ARGV_MAX = 96 };

static int usage(void)
{
    fprintf(stderr, "usage: peer_recipe CONFIG.ini [--set section.key=value ...] [--resume] [--out DIR]\n");
    return 2;
}

/* The one reason the config cannot be trained the same way in PyTorch, or NULL. */
static const char *refusal(const hx_config *c)
{
    if (c->method) return "[method]: the peer trains baselines only (no compression method)";
    if (c->pretrained[0]) return "[model] pretrained: the peer trains from scratch";
    if (c->train_subset) return "[data] train_subset: the peer trains on the whole training split";
    if (c->val_size) return "[data] val_size: the peer has no validation split";
    if (c->init != NN_INIT_KAIMING_NORMAL && c->init != NN_INIT_KAIMING_UNIFORM)
        return "[model] init: the peer knows kaiming-normal and kaiming-uniform";
    return NULL;
}

int main(int argc, char **argv)
{
    const char *cfg_path = NULL, *out = NULL, *sets[CFG_MAX_SETS];
    int n_sets = 0, resume = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--set") && i + 1 < argc && n_sets < CFG_MAX_SETS) sets[n_sets++] = argv[++i];
        else if (!strcmp(argv[i], "--out") && i + 1 < argc) out = argv[++i];
        else if (!strcmp(argv[i], "--resume")) resume = 1;
        else if (argv[i][0] != '-' && !cfg_path) cfg_path = argv[i];
        else { fprintf(stderr, "peer_recipe: unknown or incomplete option '%s'\n", argv[i]); return usage(); }
    }
    if (!cfg_path) return usage();

    char err[CFG_ERR_MAX];
    hx_config c;
    if (cfg_load(cfg_path, sets, n_sets, &c, err, sizeof err) != 0) {
        fprintf(stderr, "peer_recipe: %s\n", err);
        return 2;
    }
    const char *why = refusal(&c);
    if (why) { fprintf(stderr, "peer_recipe: %s: %s\n", cfg_path, why); cfg_free(&c); return 2; }

    int rc = 1;
    ds_dataset ds;
    nn_model *m = NULL;
    char *resolved = NULL, dump[64] = "";
    static char spec[PEER_SPEC_MAX];
    if (hx_dataset_open(c.dataset, &ds, stderr, err, sizeof err) != 0) {
        fprintf(stderr, "peer_recipe: %s\n", err);
        cfg_free(&c);
        return 1;
    }
    m = nn_model_create(c.arch, (nn_dims){ ds.c, ds.h, ds.w }, ds.n_classes, err, sizeof err);
    if (!m) { fprintf(stderr, "peer_recipe: %s\n", err); goto done; }
    if (peer_model_spec(m, spec, sizeof spec) != 0) {
        fprintf(stderr, "peer_recipe: %s: arch %s has a layer the peer does not build\n", cfg_path, c.arch);
        goto done;
    }

    char hash[17], dir[PATH_MAX], path[PATH_MAX + 32];
    cfg_hash(&c, hash);
    if (out) snprintf(dir, sizeof dir, "%s", out);
    else snprintf(dir, sizeof dir, "%s/peers/%s-%s", hx_results_root(), c.name, hash);
    resolved = cfg_resolved(&c);
    snprintf(path, sizeof path, "%s/config.ini", dir);
    if (!resolved || fio_mkdir_p(dir, err, sizeof err) != 0 ||
        fio_write_atomic(path, resolved, strlen(resolved), err, sizeof err) != 0) {
        fprintf(stderr, "peer_recipe: %s\n", resolved ? err : "out of memory");
        goto done;
    }
    if (peer_write_dump(&ds, ds.train.n, ds.test.n, dump, sizeof dump) != 0) {
        fprintf(stderr, "peer_recipe: cannot write the data dump in /tmp: %s\n", strerror(errno));
        dump[0] = 0;
        goto done;
    }

    char sbuf[1024], shape[96], mean[128], std[128], ms[256], num[24][32];
    const char *script = peer_find_script("peer_torch_train.py", argv[0], sbuf, sizeof sbuf);
    if (!script) { fprintf(stderr, "peer_recipe: bench/peer_torch_train.py not found\n"); goto done; }
    snprintf(shape, sizeof shape, "%u,%u,%d,%d,%d", ds.train.n, ds.test.n, ds.c, ds.h, ds.w);
    peer_join_list(mean, sizeof mean, ds.mean, NULL, ds.c);
    peer_join_list(std, sizeof std, ds.std, NULL, ds.c);
    peer_join_list(ms, sizeof ms, NULL, c.milestones.v, c.milestones.n);
    const char *av[ARGV_MAX];
    int n = 0, k = 0;
#define ARG(flag, fmt, val) (snprintf(num[k], sizeof num[k], fmt, val), av[n++] = flag, av[n++] = num[k++])
    av[n++] = "/usr/bin/python3"; av[n++] = script;
    av[n++] = "--data"; av[n++] = dump; av[n++] = "--shape"; av[n++] = shape;
    av[n++] = "--mean"; av[n++] = mean; av[n++] = "--std"; av[n++] = std; av[n++] = "--spec"; av[n++] = spec;
    av[n++] = "--out"; av[n++] = dir; av[n++] = "--config-hash"; av[n++] = hash;
    av[n++] = "--optimizer"; av[n++] = c.optimizer == CFG_OPT_ADAM ? "adam" : "sgd";
    av[n++] = "--schedule"; av[n++] = nn_sched_name((nn_sched_kind)c.schedule);
    av[n++] = "--init"; av[n++] = c.init == NN_INIT_KAIMING_NORMAL ? "kaiming-normal" : "kaiming-uniform";
    if (c.milestones.n) { av[n++] = "--milestones"; av[n++] = ms; }
    ARG("--epochs", "%d", c.epochs);
    ARG("--batch", "%d", c.batch);
    ARG("--eval-batch", "%d", c.eval_batch);
    ARG("--threads", "%d", c.threads);
    ARG("--seed", "%d", c.seed);
    ARG("--augment", "%d", c.augment);
    ARG("--cutout", "%d", c.cutout);
    ARG("--nesterov", "%d", c.nesterov);
    ARG("--warmup", "%d", c.warmup_epochs);
    ARG("--step-size", "%d", c.step_size);
    ARG("--lr", "%.9g", c.lr);
    ARG("--momentum", "%.9g", c.momentum);
    ARG("--wd", "%.9g", c.weight_decay);
    ARG("--gamma", "%.9g", c.gamma);
    ARG("--min-lr", "%.9g", c.min_lr);
    snprintf(num[k], sizeof num[k], "%.9g,%.9g", c.adam_beta1, c.adam_beta2);
    av[n++] = "--betas"; av[n++] = num[k++];
#undef ARG
    if (resume) av[n++] = "--resume";
    av[n] = NULL;

    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) { perror("peer_recipe: fork"); goto done; }
    if (pid == 0) {
        execv(av[0], (char *const *)av);
        fprintf(stderr, "peer_recipe: cannot run %s: %s\n", av[0], strerror(errno));
        _exit(127);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
    rc = WIFEXITED(st) ? WEXITSTATUS(st) : 1;
    if (rc == 0) printf("peer record: %s\n", dir);
done:
    if (dump[0]) unlink(dump);
    free(resolved);
    nn_model_free(m);
    ds_free(&ds);
    cfg_free(&c);
    return rc;
}
