/* Runs grouped into recipes (see plot_recipes.h): two runs share a recipe when their method
 * group and their config.ini, read key by key without the keys below, are the same. */
#include "harness/plot_recipes.h"
#include <stdlib.h>
#include <string.h>
#include "base/fileio.h"
#include "harness/ini_strict.h"

enum { CONFIG_MAX_BYTES = 1 << 20 };

/* [run] keys that do not change what is trained: the seed is what the error bars are over. */
static const char *const ignored_run_keys[] = {"seed", "name", "threads"};

typedef struct { rr_buf text; char name[128]; } recipe_key;   /* name: as long as rr_run.run_id */

static int add_key(void *user, int line, const char *section, const char *key, const char *value, char *err,
                   size_t errlen)
{
    (void)line; (void)err; (void)errlen;
    recipe_key *k = user;
    if (strcmp(section, "run") == 0) {
        if (strcmp(key, "name") == 0) snprintf(k->name, sizeof k->name, "%s", value);
        for (size_t i = 0; i < sizeof ignored_run_keys / sizeof *ignored_run_keys; i++)
            if (strcmp(key, ignored_run_keys[i]) == 0) return 0;
    }
    rr_printf(&k->text, "%s.%s=%s\n", section, key, value);
    return 0;
}

/* The run's config.ini as "section.key=value" lines without the ignored keys ("" without a file). */
static int read_key(const rr_run *r, recipe_key *k, char *err, size_t errlen)
{
    char path[RR_PATH_MAX + 16], *text;
    size_t len;
    memset(k, 0, sizeof *k);
    snprintf(k->name, sizeof k->name, "%s", r->run_id);
    snprintf(path, sizeof path, "%s/config.ini", r->dir);
    rr_puts(&k->text, "");
    if (!fio_exists(path)) return 0;
    if (fio_read_all(path, CONFIG_MAX_BYTES, &text, &len, err, errlen) != 0) return -1;
    int rc = ini_strict_parse(text, len, path, add_key, k, err, errlen);
    free(text);
    return rc;
}

static int cmp_recipe(const void *pa, const void *pb)
{
    const hx_recipe *a = pa, *b = pb;
    if (a->group != b->group) return a->group < b->group ? -1 : 1;
    if (a->compression.mean != b->compression.mean) return a->compression.mean < b->compression.mean ? -1 : 1;
    return strcmp(a->label, b->label);
}

int hx_plot_recipes(const rr_set *s, int g0, int g1, hx_recipe **out, char *err, size_t errlen)
{
    int n_runs = 0;
    for (int g = g0; g < g1; g++) n_runs += s->groups[g].n_runs;
    hx_recipe *rs = calloc((size_t)n_runs + 1, sizeof *rs);
    recipe_key *keys = calloc((size_t)n_runs + 1, sizeof *keys);   /* one per recipe */
    int *member = malloc(sizeof *member * ((size_t)n_runs + 1));   /* run -> recipe, in group order */
    double *acc = malloc(sizeof *acc * ((size_t)n_runs + 1)), *comp = malloc(sizeof *comp * ((size_t)n_runs + 1));
    if (!rs || !keys || !member || !acc || !comp) abort();   /* reports are small */
    int n = 0, rc = 0, at = 0;
    for (int g = g0; g < g1 && rc == 0; g++)
        for (int j = 0; j < s->groups[g].n_runs && rc == 0; j++, at++) {
            recipe_key k;
            rc = read_key(&s->runs[s->groups[g].runs[j]], &k, err, errlen);
            int r = 0;
            while (rc == 0 && r < n && !(rs[r].group == g && strcmp(keys[r].text.s, k.text.s) == 0)) r++;
            if (rc == 0 && r == n) {
                rs[n].group = g;
                snprintf(rs[n].label, sizeof rs[n].label, "%s", k.name);
                keys[n++] = k;
            } else {
                rr_buf_free(&k.text);
            }
            member[at] = r;
        }
    for (int r = 0; r < n && rc == 0; r++) {
        at = 0;
        for (int g = g0; g < g1; g++)
            for (int j = 0; j < s->groups[g].n_runs; j++, at++) {
                if (member[at] != r) continue;
                const rr_run *run = &s->runs[s->groups[g].runs[j]];
                acc[rs[r].n_runs] = run->final_acc;
                comp[rs[r].n_runs++] = run->compression;
            }
        rs[r].acc = rr_stats(acc, rs[r].n_runs);
        rs[r].compression = rr_stats(comp, rs[r].n_runs);
    }
    for (int r = 0; r < n; r++) rr_buf_free(&keys[r].text);
    free(keys);
    free(member);
    free(acc);
    free(comp);
    if (rc != 0) { free(rs); return -1; }
    qsort(rs, (size_t)n, sizeof *rs, cmp_recipe);
    *out = rs;
    return n;
}
