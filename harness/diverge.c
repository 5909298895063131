/* The divergence rule (see diverge.h). */
#include "harness/diverge.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

void hx_diverge_round(hx_diverge *d, int n_classes)
{
    d->floor = log(n_classes > 1 ? (double)n_classes : 2.0);
    d->start = 0;
    d->first_epoch = 0;
    d->over = 0;
    d->steps = 0;
    memset(d->window, 0, sizeof d->window);
}

int hx_diverge_step(hx_diverge *d, double loss, char *why, size_t whylen)
{
    if (!isfinite(loss)) {
        snprintf(why, whylen, "the loss is %s", isnan(loss) ? "NaN" : "infinite");
        return 1;
    }
    if (d->start == 0) d->start = loss > d->floor ? loss : d->floor;
    double limit = HX_DIVERGE_FACTOR * d->start;
    int slot = (int)(d->steps++ % HX_DIVERGE_STEPS), above = loss > limit;
    d->over += above - d->window[slot];
    d->window[slot] = (unsigned char)above;
    if (d->over < HX_DIVERGE_OVER) return 0;
    snprintf(why, whylen, "the loss was above %.4g (%dx its start, %.4g) in %ld of the last %d steps, now %.4g",
             limit, HX_DIVERGE_FACTOR, d->start, d->over, HX_DIVERGE_STEPS, loss);
    return 1;
}

int hx_diverge_epoch(hx_diverge *d, double mean_loss, char *why, size_t whylen)
{
    if (!isfinite(mean_loss)) {
        snprintf(why, whylen, "the epoch's mean loss is %s", isnan(mean_loss) ? "NaN" : "infinite");
        return 1;
    }
    if (d->first_epoch == 0) {
        d->first_epoch = mean_loss > d->floor ? mean_loss : d->floor;
        return 0;
    }
    double limit = HX_DIVERGE_FACTOR * d->first_epoch;
    if (mean_loss <= limit) return 0;
    snprintf(why, whylen, "the epoch's mean loss %.4g is above %.4g (%dx the round's first epoch, %.4g)", mean_loss,
             limit, HX_DIVERGE_FACTOR, d->first_epoch);
    return 1;
}
