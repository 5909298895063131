/* The divergence rule: a run stops, with a message, when its training loss
 *   - is not finite (NaN or infinite), at once;
 *   - is above HX_DIVERGE_FACTOR x its start in HX_DIVERGE_OVER of the last HX_DIVERGE_STEPS
 *     steps, where the start is the round's first batch loss, or ln(classes) (the loss of a
 *     uniform guess) if that is larger: a few spikes are not divergence, nor do a few dips
 *     hide a loss that stays up;
 *   - has an epoch mean above HX_DIVERGE_FACTOR x the round's first epoch mean (or ln(classes)).
 * A round (Lottery Ticket rewinds, Deep Compression prunes) starts the reference again. */
#ifndef HARNESS_DIVERGE_H
#define HARNESS_DIVERGE_H
#include <stddef.h>

enum { HX_DIVERGE_FACTOR = 10, HX_DIVERGE_STEPS = 50, HX_DIVERGE_OVER = 40 };

typedef struct hx_diverge {
    double floor;          /* ln(classes) */
    double start;          /* the round's first batch loss (0 = not seen yet) */
    double first_epoch;    /* the round's first epoch mean (0 = not seen yet) */
    unsigned char window[HX_DIVERGE_STEPS];   /* 1 = that step was above the limit */
    long steps, over;      /* steps seen this round; how many of the window's were above */
} hx_diverge;

/* A new round of a model with n_classes outputs. */
void hx_diverge_round(hx_diverge *, int n_classes);
/* One step's loss; 1 = diverged, with why ("the loss is nan", "the loss stayed above ...").
 * Steps of a resumed run count from the first step after resuming. */
int hx_diverge_step(hx_diverge *, double loss, char *why, size_t whylen);
/* An epoch's mean training loss; 1 = diverged, with why. */
int hx_diverge_epoch(hx_diverge *, double mean_loss, char *why, size_t whylen);

#endif
