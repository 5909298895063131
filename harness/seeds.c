/* Several seeds of one config (see seeds.h). */
#include "harness/seeds.h"
#include "harness/experiment.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int parse_seed(const char *s, const char **end, int *out)
{
    if (*s < '0' || *s > '9') return -1;
    errno = 0;
    char *e;
    long v = strtol(s, &e, 10);
    if (errno || v < 0 || v > 2147483647L) return -1;
    *end = e;
    *out = (int)v;
    return 0;
}

static int seeds_count(const char *text, hx_seeds *s, char *err, size_t errlen)
{
    const char *end;
    int n;
    if (!text || parse_seed(text, &end, &n) != 0 || *end || n < 1 || n > HX_SEEDS_MAX) {
        snprintf(err, errlen, "--seeds %s: give how many seeds to run, a whole number from 1 to %d (seeds 1..N)",
                 text ? text : "(missing)", HX_SEEDS_MAX);
        return -1;
    }
    s->n = n;
    for (int i = 0; i < n; i++) s->v[i] = i + 1;
    return 0;
}

static int seeds_list(const char *text, hx_seeds *s, char *err, size_t errlen)
{
    s->n = 0;
    const char *p = text ? text : "";
    for (;;) {
        const char *end;
        int v;
        if (parse_seed(p, &end, &v) != 0 || (*end && *end != ',') || s->n == HX_SEEDS_MAX) {
            snprintf(err, errlen, "--seed-list %s: give up to %d seeds as whole numbers from 0 to 2147483647 "
                     "separated by commas, e.g. 1,4,7", text ? text : "(missing)", HX_SEEDS_MAX);
            return -1;
        }
        for (int i = 0; i < s->n; i++)
            if (s->v[i] == v) {
                snprintf(err, errlen, "--seed-list %s: seed %d is given twice", text, v);
                return -1;
            }
        s->v[s->n++] = v;
        if (!*end) return 0;
        p = end + 1;
    }
}

int hx_seeds_option(const char *opt, const char *value, hx_seeds *s, int *used, char *err, size_t errlen)
{
    static const struct { const char *name; int (*parse)(const char *, hx_seeds *, char *, size_t); } kinds[] = {
        {"--seeds", seeds_count}, {"--seed-list", seeds_list}};
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        size_t len = strlen(kinds[k].name);
        if (strncmp(opt, kinds[k].name, len) != 0 || (opt[len] && opt[len] != '=')) continue;
        if (s->n) {
            snprintf(err, errlen, "%s: the seeds are given already (one --seeds or --seed-list)", opt);
            return -1;
        }
        *used = opt[len] ? 1 : 2;
        return kinds[k].parse(opt[len] ? opt + len + 1 : value, s, err, errlen) == 0 ? 1 : -1;
    }
    return 0;
}

void hx_seeds_text(const hx_seeds *s, char *out, size_t outlen)
{
    size_t used = 0;
    out[0] = 0;
    for (int i = 0; i < s->n && used < outlen; i++)
        used += (size_t)snprintf(out + used, outlen - used, "%s%d", i ? "," : "", s->v[i]);
}

int hx_run_seeds(const char *config, const hx_run_opts *base, const hx_seeds *s, hx_run_result *results, char *err,
                 size_t errlen)
{
    const char *sets[CFG_MAX_SETS];
    if (base->n_sets >= CFG_MAX_SETS) {
        snprintf(err, errlen, "too many --set (at most %d with seeds)", CFG_MAX_SETS - 1);
        return -1;
    }
    for (int i = 0; i < base->n_sets; i++) {
        if (strncmp(base->sets[i], "run.seed=", 9) == 0) {
            snprintf(err, errlen, "--set %s: the seeds come from --seeds/--seed-list; give one or the other",
                     base->sets[i]);
            return -1;
        }
        sets[i] = base->sets[i];
    }
    hx_run_opts o = *base;
    o.sets = sets;
    o.n_sets = base->n_sets + 1;
    char set[32], msg[4096];
    for (int i = 0; i < s->n; i++) {
        snprintf(set, sizeof set, "run.seed=%d", s->v[i]);
        sets[base->n_sets] = set;
        hx_run_result res;
        if (hx_experiment(config, &o, &res, msg, sizeof msg) != 0) {
            snprintf(err, errlen, "%s, seed %d: %s", config, s->v[i], msg);
            return -1;
        }
        if (results) results[i] = res;
    }
    return 0;
}
