/* The input transforms a model file can name (see input_transforms.h). */
#include "methods/input_transforms.h"
#include <math.h>
#include <stdio.h>
#include <string.h>

const mt_xt_row mt_xt_table[MT_XT_COUNT] = {
    [MT_XT_NONE] = { "none", NULL, 0, {NULL, NULL}, {0, 0}, {0, 0}, {0, 0} },
    [MT_XT_SIGN_MEAN] = { "xnor-sign", &mt_xt_sign_mean, 0, {NULL, NULL}, {0, 0}, {0, 0}, {0, 0} },
    /* methods/deepshift.c's act_int_bits and act_bits options, same ranges */
    [MT_XT_FIXED_POINT] = { "fixed-point", &mt_xt_fixed_point, 2, {"int_bits", "frac_bits"}, {2, 1}, {24, 24}, {0, 0} },
    [MT_XT_SIGN] = { "sign", &mt_xt_sign, 0, {NULL, NULL}, {0, 0}, {0, 0}, {0, 0} },
    /* the a_bits options of dorefa.c, pact.c and lsq.c, same ranges */
    [MT_XT_UNIT_UNIFORM] = { "unit-uniform", &mt_xt_unit_uniform, 1, {"bits", NULL}, {1, 0}, {16, 0}, {0, 0} },
    [MT_XT_PACT] = { "pact", &mt_xt_pact, 2, {"bits", "alpha"}, {1, 0}, {16, 1e6f}, {0, 1} },
    [MT_XT_LSQ] = { "lsq", &mt_xt_lsq, 2, {"bits", "step"}, {1, 0}, {16, 1e6f}, {0, 1} },
    /* methods/ptq.c: bits, and the calibrated range, which always holds 0 (hi's lower bound
     * is just below 0 because real arguments are checked on a half-open interval) */
    [MT_XT_UNIFORM] = { "uniform", &mt_xt_uniform, 3, {"bits", "lo", "hi"}, {2, -1e30f, -1e-30f}, {16, 0, 1e30f}, {0, 1, 1} },
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
        if (r->arg_real[i] && !(v > r->arg_lo[i] && v <= r->arg_hi[i])) {
            snprintf(why, whylen, "input transform %s: %s = %g (allowed: numbers in (%g, %g])", r->name,
                     r->arg_name[i], v, r->arg_lo[i], r->arg_hi[i]);
            return -1;
        }
        if (!r->arg_real[i] && (!(v >= r->arg_lo[i] && v <= r->arg_hi[i]) || v != floorf(v))) {
            snprintf(why, whylen, "input transform %s: %s = %g (allowed: whole numbers %g..%g)", r->name,
                     r->arg_name[i], v, r->arg_lo[i], r->arg_hi[i]);
            return -1;
        }
    }
    n->xt = r->xt;
    n->xt_ctx = NULL;
    memcpy(n->xt_arg, args, sizeof n->xt_arg);
    return 0;
}
