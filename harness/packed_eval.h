/* `harness eval` on a model.packed.h5: the packed model's test accuracy through deploy/'s
 * kernels (runtime/), and its agreement with the float model beside it (model.h5 in the same
 * folder): how many test images the two predict differently. */
#ifndef HARNESS_PACKED_EVAL_H
#define HARNESS_PACKED_EVAL_H
#include <stdint.h>
#include <stdio.h>

typedef struct hx_packed_eval {
    uint32_t n;                  /* test images */
    double acc, loss;            /* the packed model */
    int have_float;              /* 1: model.h5 was beside it */
    double float_acc;
    uint32_t differ;             /* predictions that differ from model.h5's */
    size_t weight_bytes, param_bytes;   /* the packed payloads (rt_model_bytes) */
} hx_packed_eval;

/* Evaluates packed file `path` on dataset `data` (batches of `batch`, `threads` threads); prints a
 * summary to out when not NULL. 0, or -1 with err. */
int hx_packed_eval_run(const char *path, const char *data, int batch, int threads, FILE *out, hx_packed_eval *res,
                       char *err, size_t errlen);

/* Images per second of the packed model and of model.h5 beside it, at batch 1 (latency) and 64
 * (throughput), over `reps` repetitions alternating the two: min / median / max printed to out,
 * and the median images per CPU second of the process (less disturbed by a loaded machine than
 * wall time). The numbers are measured, not checked. 0, or -1 with err. */
int hx_packed_bench(const char *path, const char *data, int threads, int reps, FILE *out, char *err, size_t errlen);

#endif
