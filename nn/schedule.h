/* Learning-rate schedules, evaluated at a fractional epoch. */
#ifndef NN_SCHEDULE_H
#define NN_SCHEDULE_H

typedef enum { NN_SCHED_CONST = 0, NN_SCHED_STEP = 1, NN_SCHED_MULTISTEP = 2, NN_SCHED_COSINE = 3,
               NN_SCHED_COUNT } nn_sched_kind;

enum { NN_SCHED_MAX_MILESTONES = 16 };

typedef struct nn_schedule {
    nn_sched_kind kind;
    float base_lr;
    float gamma;                                  /* step / multistep factor */
    int step_size;                                /* step: every step_size epochs */
    int n_milestones; int milestones[NN_SCHED_MAX_MILESTONES];   /* multistep */
    int epochs;                                   /* cosine: period */
    float min_lr;                                 /* cosine floor */
    int warmup_epochs;                            /* linear warm-up from base_lr/10 */
} nn_schedule;

float nn_schedule_lr(const nn_schedule *, double epoch);
const char *nn_sched_name(nn_sched_kind);

#endif
