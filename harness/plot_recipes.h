/* Recipes for the accuracy-vs-compression figure: the runs of one method group split by their
 * resolved config.ini with [run] seed, name and threads left out, so runs that differ only in
 * their seed are one point (mean ± std over those seeds) and two settings of a method (sparsity
 * 0.8 and 0.9) are two points. A run without config.ini falls into its method group's
 * recipe of runs without one. */
#ifndef HARNESS_PLOT_RECIPES_H
#define HARNESS_PLOT_RECIPES_H
#include <stddef.h>
#include "harness/report_runs.h"

typedef struct hx_recipe {
    int group;                 /* index into rr_set.groups (the method key) */
    char label[128];           /* [run] name of its first run (the run id when there is none) */
    int n_runs;                /* seeds */
    rr_stat acc, compression;  /* final top-1 (%) and compression ×, over the seeds */
} hx_recipe;

/* The recipes of groups g0 .. g1-1 of s into *out (malloc'd, free it), in group order, then by
 * mean compression, then label. Returns their count, or -1 with err naming a config.ini that
 * is not a valid INI file (file:line). */
int hx_plot_recipes(const rr_set *s, int g0, int g1, hx_recipe **out, char *err, size_t errlen);

#endif
