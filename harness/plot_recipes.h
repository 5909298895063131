/* Recipes for the accuracy-vs-compression figure: the runs of one method group split by their
 * recipe hash (result.json's recipe_hash: the config hash without the seed), so runs that differ
 * only in their seed are one point (mean ± std over those seeds) and two settings of a method
 * (sparsity 0.8 and 0.9) are two points. Records from before the recipe hash share one recipe
 * per method group. */
#ifndef HARNESS_PLOT_RECIPES_H
#define HARNESS_PLOT_RECIPES_H
#include <stddef.h>
#include "harness/report_runs.h"

typedef struct hx_recipe {
    int group;                 /* index into rr_set.groups (the method key) */
    char label[128];           /* its first run's id without the trailing -<hash>: the config's name */
    int n_runs;                /* seeds */
    rr_stat acc, compression;  /* final top-1 (%) and compression ×, over the seeds */
    rr_bits w, a;              /* its first run's weight and activation bit-widths */
} hx_recipe;

/* The recipes of groups g0 .. g1-1 of s into *out (malloc'd, free it), in group order, then by
 * mean compression, then label. Returns their count. */
int hx_plot_recipes(const rr_set *s, int g0, int g1, hx_recipe **out);

#endif
