/* What the filter-pruning methods (SFP, L1-norm filter pruning, Network Slimming) share: which
 * convs they prune (every removable one, or a list; residual groups together), ranking a group's
 * filters by their norm, zeroing and masking filters, and the final physical removal into the
 * smaller network (methods/surgery.c) with its accounting. */
#ifndef METHODS_FILTER_REMOVAL_H
#define METHODS_FILTER_REMOVAL_H
#include <stdio.h>
#include "methods/method.h"
#include "methods/surgery.h"

typedef struct {
    mt_channel_group g;
    int *keep, n_keep;          /* surviving filters, ascending (all until a selection) */
} mt_pruned_group;

typedef struct {
    int n_groups;
    mt_pruned_group groups[MT_MAX_LAYERS];
    /* filled by mt_filter_removal_finish */
    double macs_before, macs_after, acc_soft;
    double layer_macs_before[MT_MAX_LAYERS];   /* per conv/linear layer, model order */
    size_t params_before, params_after;
    int removed, finished;
    mt_shrink_info shrink;
} mt_filter_removal;

/* The groups to prune: layers = "auto" (every conv whose filters can be removed; the others are
 * named in the log after "<tag>: not pruned") or a comma-separated list of conv names (every
 * member of a named conv's residual group must be listed too). 0, or 1 with err. */
int mt_filter_groups(mt_filter_removal *, const nn_model *, const char *layers, FILE *log,
                     const char *tag, char *err, size_t errlen);
void mt_filter_removal_free(mt_filter_removal *);   /* the keep lists; not the struct */

/* Saves or restores each group's current selection (keep, n_keep) under "<first conv>.keep": the
 * filters finish removes. 0 = ok. */
int mt_filter_removal_checkpoint(mt_filter_removal *, const nn_model *, mt_ckpt *io);

/* The Lp norm (p = 1 or 2) of filter c of a conv. */
double mt_filter_norm(const nn_node *, int c, int p);

/* Keeps the group's filters with the largest score (the Lp norm summed over the members),
 * dropping the n_prune lowest, ties to the lower index: sets keep/n_keep. */
void mt_group_rank(const nn_model *, mt_pruned_group *, int p, int n_prune);

/* Zeroes every member's filters that are not kept; with mask = 1 also masks them (the engine
 * then keeps them zero while the rest trains). */
void mt_group_zero(nn_model *, const mt_pruned_group *, int mask);

/* The physical removal: zeroes the dropped filters once more, records the accuracy of the
 * zeroed network (acc_soft), builds the smaller network that computes what it does and hands it
 * to the run. Logs one line after "<tag>: ". 0, or 1 with err. */
int mt_filter_removal_finish(mt_run *, mt_filter_removal *, const char *tag, char *err, size_t errlen);

/* The footprint of the smaller network against the original (MACs, params, sizes) and the
 * extras "<tag>.macs_before", ".macs_after", ".flops_reduction_pct", ".params_before",
 * ".params_after", ".filters_removed", ".acc_soft", ".edgebias_nodes". */
void mt_filter_removal_account(const mt_filter_removal *, mt_footprint *, const char *tag);

#endif
