/* Learning-rate schedules as pure functions of the (fractional) epoch. */
#include "nn/schedule.h"
#include <assert.h>
#include <math.h>

static const char *const sched_names[] = {
    [NN_SCHED_CONST] = "const", [NN_SCHED_STEP] = "step",
    [NN_SCHED_MULTISTEP] = "multistep", [NN_SCHED_COSINE] = "cosine",
};
_Static_assert(sizeof sched_names / sizeof *sched_names == NN_SCHED_COUNT, "one name per schedule");

const char *nn_sched_name(nn_sched_kind k)
{
    assert(k >= 0 && k < NN_SCHED_COUNT);
    return sched_names[k];
}

static double sched_const(const nn_schedule *s, double e) { (void)e; return s->base_lr; }

static double sched_step(const nn_schedule *s, double e)
{
    assert(s->step_size > 0);
    return s->base_lr * pow(s->gamma, floor(e / s->step_size));
}

static double sched_multistep(const nn_schedule *s, double e)
{
    assert(s->n_milestones >= 0 && s->n_milestones <= NN_SCHED_MAX_MILESTONES);
    int passed = 0;
    for (int i = 0; i < s->n_milestones; i++) passed += e >= s->milestones[i];
    return s->base_lr * pow(s->gamma, passed);
}

static double sched_cosine(const nn_schedule *s, double e)
{
    assert(s->epochs > 0);
    double t = e < s->epochs ? e / s->epochs : 1.0;
    const double pi = 3.14159265358979323846;
    return s->min_lr + (s->base_lr - s->min_lr) * 0.5 * (1.0 + cos(pi * t));
}

static double (*const sched_fns[])(const nn_schedule *, double) = {
    [NN_SCHED_CONST] = sched_const, [NN_SCHED_STEP] = sched_step,
    [NN_SCHED_MULTISTEP] = sched_multistep, [NN_SCHED_COSINE] = sched_cosine,
};
_Static_assert(sizeof sched_fns / sizeof *sched_fns == NN_SCHED_COUNT, "one function per schedule");

float nn_schedule_lr(const nn_schedule *s, double epoch)
{
    assert(s->kind >= 0 && s->kind < NN_SCHED_COUNT);
    if (epoch < 0) epoch = 0;
    double lr = sched_fns[s->kind](s, epoch);
    /* Warm-up scales the schedule linearly from 1/10 at epoch 0 to 1 at warmup_epochs. */
    if (s->warmup_epochs > 0 && epoch < s->warmup_epochs)
        lr *= 0.1 + 0.9 * epoch / s->warmup_epochs;
    return (float)lr;
}
