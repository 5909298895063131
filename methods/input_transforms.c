/* The input transforms a model file can name (see input_transforms.h). */
#include "methods/input_transforms.h"
#include <math.h>
#include <stdio.h>
#include <string.h>

const mt_xt_row mt_xt_table[MT_XT_COUNT] = {
    [MT_XT_NONE] = { "none", NULL, 0, 0, {NULL}, {0}, {0} },
    [MT_XT_SIGN_MEAN] = { "xnor-sign", &mt_xt_sign_mean, 0, 0, {NULL}, {0}, {0} },
    /* methods/deepshift.c's act_int_bits and act_bits options, same ranges */
    [MT_XT_FIXED_POINT] = { "fixed-point", &mt_xt_fixed_point, 2, 2, {"int_bits", "frac_bits"}, {2, 1}, {24, 24} },
    /* methods/ptq.c: bits, and the calibrated range (it always holds 0) */
    [MT_XT_UNIFORM] = { "uniform", &mt_xt_uniform, 3, 1, {"bits", "lo", "hi"}, {2, -1e30, 0}, {16, 0, 1e30} },
};

int mt_xt_kind_of(const nn_node *n)
{
    for (int k = 0; k < MT_XT_COUNT; k++)
        if (mt_xt_table[k].xt == n->xt) return k;
    return -1;
}

int mt_xt_install(nn_node *n, int kind, const float *args, char *why, size_t whylen)
{
    if (kind < 0 || kind >= MT_XT_COUNT) {
        snprintf(why, whylen, "input transform %d is not known (0..%d)", kind, MT_XT_COUNT - 1);
        return -1;
    }
    const mt_xt_row *r = &mt_xt_table[kind];
    if (kind != MT_XT_NONE && !nn_is_weighted(n)) {
        snprintf(why, whylen, "input transform %s: only conv and linear layers take one, not %s",
                 r->name, nn_kind_name(n->kind));
        return -1;
    }
    for (int i = 0; i < NN_XT_ARGS; i++) {
        float v = args[i];
        if (i >= r->n_args) {
            if (v != 0) { snprintf(why, whylen, "input transform %s takes %d parameter(s); parameter %d is %g, not 0", r->name, r->n_args, i, v); return -1; }
            continue;
        }
        int whole = i < r->n_whole;
        if (!(v >= r->arg_lo[i] && v <= r->arg_hi[i]) || (whole && v != floorf(v))) {
            snprintf(why, whylen, "input transform %s: %s = %g (allowed: %s %g..%g)", r->name, r->arg_name[i], v,
                     whole ? "whole numbers" : "numbers", r->arg_lo[i], r->arg_hi[i]);
            return -1;
        }
    }
    n->xt = r->xt;
    n->xt_ctx = NULL;
    memcpy(n->xt_arg, args, sizeof n->xt_arg);
    return 0;
}
