/* Runs grouped into recipes (see plot_recipes.h): same method group, same recipe hash. */
#include "harness/plot_recipes.h"
#include <stdlib.h>
#include <string.h>

enum { HASH_HEX = 16 };   /* a run id ends in -<16 hex digits of the config hash> */

static void name_of(const char *run_id, char *out, size_t n)
{
    const char *dash = strrchr(run_id, '-');
    int hashed = dash && strlen(dash + 1) == HASH_HEX && strspn(dash + 1, "0123456789abcdef") == HASH_HEX;
    snprintf(out, n, "%.*s", hashed ? (int)(dash - run_id) : (int)strlen(run_id), run_id);
}

static int cmp_recipe(const void *pa, const void *pb)
{
    const hx_recipe *a = pa, *b = pb;
    if (a->group != b->group) return a->group < b->group ? -1 : 1;
    if (a->compression.mean != b->compression.mean) return a->compression.mean < b->compression.mean ? -1 : 1;
    return strcmp(a->label, b->label);
}

int hx_plot_recipes(const rr_set *s, int g0, int g1, hx_recipe **out)
{
    int n_runs = 0;
    for (int g = g0; g < g1; g++) n_runs += s->groups[g].n_runs;
    hx_recipe *rs = calloc((size_t)n_runs + 1, sizeof *rs);
    const rr_run **first = calloc((size_t)n_runs + 1, sizeof *first);   /* per recipe: its first run */
    double *acc = malloc(sizeof *acc * ((size_t)n_runs + 1)), *comp = malloc(sizeof *comp * ((size_t)n_runs + 1));
    if (!rs || !first || !acc || !comp) abort();   /* reports are small */
    int n = 0;
    for (int g = g0; g < g1; g++)
        for (int j = 0; j < s->groups[g].n_runs; j++) {
            const rr_run *r = &s->runs[s->groups[g].runs[j]];
            int k = 0;
            while (k < n && !(rs[k].group == g && strcmp(first[k]->recipe, r->recipe) == 0)) k++;
            if (k == n) {
                rs[n].group = g;
                rs[n].w = r->w;
                rs[n].a = r->a;
                name_of(r->run_id, rs[n].label, sizeof rs[n].label);
                first[n++] = r;
            }
        }
    for (int k = 0; k < n; k++) {   /* each recipe's seeds, in group order */
        const rr_group *G = &s->groups[rs[k].group];
        for (int j = 0; j < G->n_runs; j++) {
            const rr_run *r = &s->runs[G->runs[j]];
            if (strcmp(r->recipe, first[k]->recipe) != 0) continue;
            acc[rs[k].n_runs] = r->final_acc;
            comp[rs[k].n_runs++] = r->compression;
        }
        rs[k].acc = rr_stats(acc, rs[k].n_runs);
        rs[k].compression = rr_stats(comp, rs[k].n_runs);
    }
    free(first);
    free(acc);
    free(comp);
    qsort(rs, (size_t)n, sizeof *rs, cmp_recipe);
    *out = rs;
    return n;
}
