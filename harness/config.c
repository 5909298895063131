/* INI configuration: harness/ini_strict.c reads the file (every byte accounted for), the tables
 * below decide what is allowed. */
#include "harness/config.h"
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include "base/fileio.h"
#include "harness/ini_strict.h"

#define F(field) offsetof(hx_config, field)

static const opt_spec run_keys[] = {
    {"name", OPT_STR, F(name), "run", 0, 0, 0, 0, NULL, "prefix of the run id (results/runs/<name>-<hash>)"},
    {"seed", OPT_INT, F(seed), "1", 0, 2147483647, 0, 0, NULL, "seed of every random draw"},
    {"threads", OPT_INT, F(threads), "2", 1, 64, 0, 0, NULL, "threads for GEMM and kernels"},
    {"suite", OPT_STR, F(suite), "", 0, 0, 0, 0, NULL,
     "the suite this config belongs to (harness reproduce --suite NAME runs them all); empty = none"},
};
static const opt_spec data_keys[] = {
    {"dataset", OPT_STR, F(dataset), NULL, 0, 0, 0, 0, NULL, "mnist | fashion-mnist | cifar10 | an imported name (data/<name>.h5)"},
    {"train_subset", OPT_INT, F(train_subset), "0", 0, 1e9, 0, 0, NULL, "train on N training images drawn with the run seed, not the first N: a store may keep its classes in blocks (0 = all)"},
    {"val_size", OPT_INT, F(val_size), "0", 0, 1e9, 0, 0, NULL, "hold out N training images for validation / early stopping"},
    {"augment", OPT_BOOL, F(augment), "false", 0, 0, 0, 0, NULL, "4-pixel pad + random crop, horizontal flip"},
    {"cutout", OPT_INT, F(cutout), "0", 0, 1024, 0, 0, NULL,
     "side of a square zeroed at a random centre of each training image (DeVries & Taylor 2017: 16 on CIFAR-10); 0 = off"},
};
static const opt_spec model_keys[] = {
    {"arch", OPT_STR, F(arch), NULL, 0, 0, 0, 0, NULL, "architecture (harness archs lists them)"},
    {"init", OPT_CHOICE, F(init), "kaiming-normal", 0, 0, 0, 0,
     "kaiming-normal|kaiming-uniform|glorot-normal|glorot-uniform", "weight initialisation"},
    {"pretrained", OPT_STR, F(pretrained), "", 0, 0, 0, 0, NULL,
     "baseline config whose trained model this run starts from (trained once, cached)"},
};
static const opt_spec train_keys[] = {
    {"epochs", OPT_INT, F(epochs), "10", 0, 100000, 0, 0, NULL, "epochs (per round, for iterative methods; 0 only for a post-training method such as ptq)"},
    {"batch", OPT_INT, F(batch), "64", 1, 65536, 0, 0, NULL, "training batch size"},
    {"optimizer", OPT_CHOICE, F(optimizer), "sgd", 0, 0, 0, 0, "sgd|adam", "optimizer"},
    {"lr", OPT_FLOAT, F(lr), "0.01", 0, 100, 1, 0, NULL, "base learning rate"},
    {"momentum", OPT_FLOAT, F(momentum), "0.9", 0, 1, 0, 1, NULL, "SGD momentum"},
    {"nesterov", OPT_BOOL, F(nesterov), "false", 0, 0, 0, 0, NULL, "Nesterov momentum"},
    {"weight_decay", OPT_FLOAT, F(weight_decay), "0", 0, 1, 0, 0, NULL, "L2 weight decay (conv/linear weights)"},
    {"schedule", OPT_CHOICE, F(schedule), "const", 0, 0, 0, 0, "const|step|multistep|cosine", "learning-rate schedule"},
    {"milestones", OPT_INTS, F(milestones), "", 1, 100000, 0, 0, NULL, "multistep: epochs where the LR is multiplied by gamma"},
    {"gamma", OPT_FLOAT, F(gamma), "0.1", 0, 1, 1, 0, NULL, "step/multistep LR factor"},
    {"step_size", OPT_INT, F(step_size), "10", 1, 100000, 0, 0, NULL, "step: epochs between LR drops"},
    {"min_lr", OPT_FLOAT, F(min_lr), "0", 0, 100, 0, 0, NULL, "cosine: final learning rate"},
    {"warmup_epochs", OPT_INT, F(warmup_epochs), "0", 0, 1000, 0, 0, NULL, "linear warm-up epochs"},
    {"eval_batch", OPT_INT, F(eval_batch), "256", 1, 65536, 0, 0, NULL, "evaluation batch size"},
    {"adam_beta1", OPT_FLOAT, F(adam_beta1), "0.9", 0, 1, 0, 1, NULL, "Adam beta1"},
    {"adam_beta2", OPT_FLOAT, F(adam_beta2), "0.999", 0, 1, 0, 1, NULL, "Adam beta2"},
};
static const opt_spec method_keys[] = {
    {"name", OPT_STR, F(method_name), "", 0, 0, 0, 0, NULL, "method (harness methods lists them); empty = plain training"},
};

typedef struct { const char *name; const opt_spec *keys; int n; } cfg_section;
#define SECTION(s, k) {s, k, (int)(sizeof k / sizeof k[0])}
static const cfg_section sections[] = {
    SECTION("run", run_keys), SECTION("data", data_keys), SECTION("model", model_keys),
    SECTION("train", train_keys), SECTION("method", method_keys),
};
enum { N_SECTIONS = sizeof sections / sizeof sections[0] };

static const cfg_section *find_section(const char *name)
{
    for (int i = 0; i < N_SECTIONS; i++)
        if (strcmp(sections[i].name, name) == 0) return &sections[i];
    return NULL;
}

/* [method] keys other than name wait until the whole file is read: name may come last. key and
 * value point into the file's text (or a --set copy), so nothing is cut short. */
typedef struct { const char *key, *value; char where[PATH_MAX + 32]; } pending_kv;

typedef struct {
    hx_config *cfg;
    char *err; size_t errlen;
    pending_kv method_kv[128]; int n_method_kv;
    int seen[N_SECTIONS][64];        /* line (or -1 for --set) each key was given at; 0 = not given */
    int method_name_line;
    char *sets[CFG_MAX_SETS]; int n_sets;   /* copies of the --set texts the pending keys point into */
} load_ctx;

/* Keys whose values become parts of paths (results/runs/<name>-<hash>, data/<dataset>.h5). */
static const struct { const char *section, *key; } name_keys[] = {{"run", "name"}, {"run", "suite"}, {"data", "dataset"}};

static void allowed_keys(const cfg_section *s, char *out, size_t n)
{
    size_t used = 0;
    out[0] = 0;
    for (int i = 0; i < s->n && used < n; i++)
        used += (size_t)snprintf(out + used, n - used, "%s%s", i ? ", " : "", s->keys[i].key);
}

static int set_key(load_ctx *c, const char *where, int line, const char *section, const char *key, const char *value)
{
    const cfg_section *s = find_section(section);
    if (!s) {
        snprintf(c->err, c->errlen, "%s: unknown section [%s]; allowed: [run] [data] [model] [train] [method]",
                 where, section);
        return -1;
    }
    if (strcmp(section, "method") == 0 && strcmp(key, "name") != 0) {
        if (c->n_method_kv >= (int)(sizeof c->method_kv / sizeof c->method_kv[0])) {
            snprintf(c->err, c->errlen, "%s: too many [method] keys", where);
            return -1;
        }
        pending_kv *kv = &c->method_kv[c->n_method_kv++];
        kv->key = key;
        kv->value = value;
        snprintf(kv->where, sizeof kv->where, "%s", where);
        return 0;
    }
    const opt_spec *o = opt_find(s->keys, s->n, key);
    if (!o) {
        char keys[512];
        allowed_keys(s, keys, sizeof keys);
        snprintf(c->err, c->errlen, "%s: unknown key '%s' in [%s]; allowed: %s", where, key, section, keys);
        return -1;
    }
    char msg[CFG_ERR_MAX];
    if (opt_parse(o, c->cfg, value, msg, sizeof msg) != 0) {
        snprintf(c->err, c->errlen, "%s: [%s] %s", where, section, msg);
        return -1;
    }
    for (size_t i = 0; i < sizeof name_keys / sizeof name_keys[0]; i++)
        if (!strcmp(section, name_keys[i].section) && !strcmp(key, name_keys[i].key) && !fio_safe_name(value)) {
            snprintf(c->err, c->errlen, "%s: [%s] %s = %s: use letters, digits, '.', '_' and '-' only, not "
                     "starting with '.' and without '..' (it names a folder or file)", where, section, key, value);
            return -1;
        }
    c->seen[s - sections][o - s->keys] = line;
    if (!strcmp(section, "method")) c->method_name_line = line;
    return 0;
}

static int on_key(void *user, int line, const char *section, const char *key, const char *value, char *err,
                  size_t errlen)
{
    load_ctx *c = user;
    (void)err; (void)errlen;   /* set_key writes c->err, which is err */
    char where[PATH_MAX + 32];
    snprintf(where, sizeof where, "%s:%d", c->cfg->path, line);
    return set_key(c, where, line, section, key, value);
}

static char *read_text(const char *path, size_t *len, char *err, size_t errlen)
{
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "%s: a directory, not a config file (give the .ini file, e.g. configs/xnor.ini)", path);
        return NULL;
    }
    char *t = NULL;
    if (fio_read_all(path, CFG_FILE_MAX, &t, len, err, errlen) != 0) return NULL;
    return t;
}

/* --set section.key=value; the same key twice on the command line is an error. */
static int apply_set(load_ctx *c, const char *set)
{
    char where[64 + OPT_STR_MAX];
    snprintf(where, sizeof where, "--set %s", set);
    char *buf = strdup(set);
    if (!buf) { snprintf(c->err, c->errlen, "%s: out of memory", where); return -1; }
    c->sets[c->n_sets++] = buf;
    char *dot = strchr(buf, '.'), *eq = strchr(buf, '=');
    if (!dot || !eq || dot > eq) {
        snprintf(c->err, c->errlen, "--set %s: expected section.key=value", set);
        return -1;
    }
    *dot = 0; *eq = 0;
    for (int i = 0; i + 1 < c->n_sets; i++) {
        const char *o = c->sets[i];
        if (!strcmp(o, buf) && !strcmp(o + strlen(o) + 1, dot + 1)) {
            snprintf(c->err, c->errlen, "%s: %s.%s is given twice on the command line", where, buf, dot + 1);
            return -1;
        }
    }
    /* A --set replaces the file's value: forget the file's [method] key of that name. */
    if (!strcmp(buf, "method"))
        for (int i = 0; i < c->n_method_kv; i++)
            if (!strcmp(c->method_kv[i].key, dot + 1)) c->method_kv[i] = c->method_kv[--c->n_method_kv];
    return set_key(c, where, -1, buf, dot + 1, eq + 1);
}

static int parse_method(load_ctx *c)
{
    hx_config *cfg = c->cfg;
    if (cfg->method_name[0] == 0) {
        if (c->n_method_kv > 0) {
            snprintf(c->err, c->errlen, "%s: [method] key '%s' given but no method name; set [method] name",
                     c->method_kv[0].where, c->method_kv[0].key);
            return -1;
        }
        return 0;
    }
    cfg->method = method_find(cfg->method_name);
    if (!cfg->method) {
        char names[512] = "";
        size_t used = 0;
        for (int i = 0; i < method_count() && used < sizeof names; i++)
            used += (size_t)snprintf(names + used, sizeof names - used, "%s%s", i ? ", " : "", method_at(i)->name);
        snprintf(c->err, c->errlen, "%s:%d: [method] name = %s: unknown method; allowed: %s", cfg->path,
                 c->method_name_line, cfg->method_name, names);
        return -1;
    }
    const method *m = cfg->method;
    cfg->method_config = calloc(1, m->config_size ? m->config_size : 1);
    opt_defaults(m->options, m->n_options, cfg->method_config);
    unsigned char seen[OPT_LIST_MAX * 4] = {0};
    for (int i = 0; i < c->n_method_kv; i++) {
        const pending_kv *kv = &c->method_kv[i];
        const opt_spec *o = opt_find(m->options, m->n_options, kv->key);
        if (!o) {
            char keys[512] = "name";
            size_t used = 4;
            for (int k = 0; k < m->n_options && used < sizeof keys; k++)
                used += (size_t)snprintf(keys + used, sizeof keys - used, ", %s", m->options[k].key);
            snprintf(c->err, c->errlen, "%s: unknown key '%s' for method %s; allowed: %s", kv->where, kv->key,
                     m->name, keys);
            return -1;
        }
        char msg[CFG_ERR_MAX];
        if (opt_parse(o, cfg->method_config, kv->value, msg, sizeof msg) != 0) {
            snprintf(c->err, c->errlen, "%s: method %s: %s", kv->where, m->name, msg);
            return -1;
        }
        if ((size_t)(o - m->options) < sizeof seen) seen[o - m->options] = 1;
    }
    for (int k = 0; k < m->n_options; k++)
        if (!m->options[k].def && !seen[k]) {
            snprintf(c->err, c->errlen, "%s: method %s: missing required key '%s' (%s)", cfg->path, m->name,
                     m->options[k].key, m->options[k].help);
            return -1;
        }
    if (m->check) {
        char msg[CFG_ERR_MAX];
        if (m->check(cfg->method_config, msg, sizeof msg) != 0) {
            snprintf(c->err, c->errlen, "%s: method %s: %s", cfg->path, m->name, msg);
            return -1;
        }
    }
    if (m->needs_baseline && cfg->pretrained[0] == 0) {
        snprintf(c->err, c->errlen, "%s: method %s starts from a trained model: set [model] pretrained = "
                 "<baseline config>", cfg->path, m->name);
        return -1;
    }
    return 0;
}

int cfg_load(const char *path, const char *const *sets, int n_sets, hx_config *cfg, char *err, size_t errlen)
{
    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->path, sizeof cfg->path, "%s", path);
    for (int s = 0; s < N_SECTIONS; s++) opt_defaults(sections[s].keys, sections[s].n, cfg);
    if (n_sets > CFG_MAX_SETS) { snprintf(err, errlen, "more than %d --set", CFG_MAX_SETS); return -1; }
    size_t len = 0;
    char *text = read_text(path, &len, err, errlen);
    if (!text) return -1;
    load_ctx *c = calloc(1, sizeof *c);
    c->cfg = cfg; c->err = err; c->errlen = errlen;
    int failed = ini_strict_parse(text, len, path, on_key, c, err, errlen) != 0;
    for (int i = 0; i < n_sets && !failed; i++)
        if (apply_set(c, sets[i]) != 0) failed = 1;
    for (int s = 0; s < N_SECTIONS && !failed; s++)
        for (int k = 0; k < sections[s].n; k++)
            if (!sections[s].keys[k].def && !c->seen[s][k]) {
                snprintf(err, errlen, "%s: missing required key [%s] %s (%s)", path, sections[s].name,
                         sections[s].keys[k].key, sections[s].keys[k].help);
                failed = 1;
                break;
            }
    if (!failed && parse_method(c) != 0) failed = 1;
    if (!failed && cfg->epochs == 0 && !(cfg->method && cfg->method->post_training)) {
        snprintf(err, errlen, "%s: [train] epochs = 0: only a post-training method (ptq) trains no epochs; "
                 "give 1 or more", path);
        failed = 1;
    }
    for (int i = 0; i < c->n_sets; i++) free(c->sets[i]);
    free(c);
    free(text);
    if (failed) { cfg_free(cfg); return -1; }
    return 0;
}

void cfg_free(hx_config *cfg)
{
    free(cfg->method_config);
    cfg->method_config = NULL;
}

typedef struct { char *buf; size_t len, cap; } sbuf;

static void sb_put(sbuf *b, const char *s)
{
    size_t n = strlen(s);
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->buf = realloc(b->buf, b->cap);
    }
    memcpy(b->buf + b->len, s, n + 1);
    b->len += n;
}

/* Keys added after run records were committed: a hash renders them only where they differ
 * from their default, so every earlier config keeps its run id. */
static const char *const hashed_when_set[] = {"cutout", NULL};

static int named(const char *key, const char *const *names)
{
    for (const char *const *s = names; s && *s; s++)
        if (strcmp(key, *s) == 0) return 1;
    return 0;
}

/* Writes every key but those named in skip (NULL-terminated, may be NULL); for a hash, also
 * leaves out hashed_when_set keys at their default. */
static void put_keys(sbuf *b, const opt_spec *keys, int n, const void *obj, const char *const *skip, int hashing)
{
    char line[OPT_STR_MAX * 2];
    for (int k = 0; k < n; k++) {
        if (named(keys[k].key, skip)) continue;
        opt_format(&keys[k], obj, line, sizeof line);
        if (hashing && named(keys[k].key, hashed_when_set) && keys[k].def) {
            char def[OPT_STR_MAX * 2];
            snprintf(def, sizeof def, "%s = %s", keys[k].key, keys[k].def);
            if (strcmp(line, def) == 0) continue;
        }
        sb_put(b, line);
        sb_put(b, "\n");
    }
}

/* [run] keys left out of a hash: they do not decide the numbers (name, threads, suite) or,
 * for the recipe hash, are the one thing seeds vary (seed). */
static const char *const run_not_hashed[] = {"name", "threads", "suite", NULL};
static const char *const run_not_in_recipe[] = {"name", "threads", "suite", "seed", NULL};

static char *render(const hx_config *cfg, const char *const *run_skip)
{
    sbuf b = {0};
    for (int s = 0; s < N_SECTIONS; s++) {
        char head[80];
        snprintf(head, sizeof head, "%s[%s]\n", s ? "\n" : "", sections[s].name);
        sb_put(&b, head);
        int is_run = strcmp(sections[s].name, "run") == 0;
        put_keys(&b, sections[s].keys, sections[s].n, cfg, is_run ? run_skip : NULL, run_skip != NULL);
        if (strcmp(sections[s].name, "method") == 0 && cfg->method)
            put_keys(&b, cfg->method->options, cfg->method->n_options, cfg->method_config, NULL, run_skip != NULL);
    }
    return b.buf;
}

char *cfg_resolved(const hx_config *cfg) { return render(cfg, NULL); }

static void hash_of(const hx_config *cfg, const char *const *run_skip, char out[17])
{
    char *t = render(cfg, run_skip);
    uint64_t h = 1469598103934665603ULL;   /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)t; *p; p++) h = (h ^ *p) * 1099511628211ULL;
    free(t);
    snprintf(out, 17, "%016llx", (unsigned long long)h);
}

void cfg_hash(const hx_config *cfg, char out[17]) { hash_of(cfg, run_not_hashed, out); }
void cfg_recipe_hash(const hx_config *cfg, char out[17]) { hash_of(cfg, run_not_in_recipe, out); }

void cfg_print_schema(FILE *f)
{
    char desc[256];
    for (int s = 0; s < N_SECTIONS; s++) {
        fprintf(f, "[%s]\n", sections[s].name);
        for (int k = 0; k < sections[s].n; k++) {
            const opt_spec *o = &sections[s].keys[k];
            opt_describe(o, desc, sizeof desc);
            fprintf(f, "  %-14s %-40s default %-16s %s\n", o->key, desc, o->def ? (o->def[0] ? o->def : "\"\"") : "(required)", o->help);
        }
    }
}
