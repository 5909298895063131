/* `harness eval` on a model.packed.h5: the packed model's test accuracy through deploy/'s
 * kernels (runtime/), and its agreement with the float model beside it (model.h5 in the same
 * folder): how many test images the two predict differently; --bench times both, --record keeps
 * the timing in the run folder. */
#ifndef HARNESS_PACKED_EVAL_H
#define HARNESS_PACKED_EVAL_H
#include <stdint.h>
#include <stdio.h>
#include "datasets/dataset.h"
#include "harness/speedup.h"

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
/* The same on a dataset already open (`data` names it in the summary): what `harness run` does
 * after exporting, so every run's result.json carries its packed model's agreement. */
int hx_packed_eval_ds(const char *path, const ds_dataset *ds, const char *data, int batch, int threads, FILE *out,
                      hx_packed_eval *res, char *err, size_t errlen);

enum { HX_BENCH_MAX_REPS = 64 };

/* Images per second of the packed model and of model.h5 beside it, at batch 1 (latency) and 64
 * (throughput), over `reps` repetitions of at least 0.2 s each, alternating the two so both see
 * the same load: min / median / max printed to out with the median images per CPU second (less
 * disturbed by a loaded machine than wall time), and, when res is not NULL, kept in *res (the
 * figures, dataset, threads, repetitions and the kernels' instruction-set level; the rest of the
 * record is hx_packed_record's). Timings of a loaded machine say little; the numbers are
 * measured, not checked. 0, or -1 with err. */
int hx_packed_bench(const char *path, const char *data, int threads, int reps, FILE *out, hx_speedup *res,
                    char *err, size_t errlen);

/* `harness eval RUN_DIR/model.packed.h5 --data NAME --record`: hx_packed_eval_run (batches of
 * `batch`) and hx_packed_bench, then the figures with the run id, CPU model, date and code
 * version written to RUN_DIR/speedup.json (speedup.h). RUN_DIR must hold a finished run (its
 * result.json) and model.h5; both are checked before anything runs. 0, or -1 with err naming
 * the file. */
int hx_packed_record(const char *path, const char *data, int batch, int threads, int reps, FILE *out, char *err,
                     size_t errlen);

#endif
