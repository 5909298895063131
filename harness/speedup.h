/* A run's measured speedup: `harness eval RUN_DIR/model.packed.h5 --data NAME --record` times the
 * packed model against model.h5 beside it (packed_eval.c) and keeps the figures in
 * RUN_DIR/speedup.json, a side record of the run folder. result.json is never touched: it holds
 * what the seed decides, a speedup is what one machine measured once.
 *
 * speedup.json:
 *   run_id, dataset, packed_model, float_model   which run and files were timed
 *   cpu, isa, threads, repetitions               where and how (isa: the level deploy/'s kernels
 *                                                dispatched to, deploy/isa.h)
 *   date (UTC, ISO 8601), code_version, git      when and by which code
 *   latency    {batch: 1,  packed: {min, median, max}, fp32: {...}, speedup}   images/s
 *   throughput {batch: 64, packed: {min, median, max}, fp32: {...}, speedup}
 * speedup is the ratio of the medians (packed / fp32). */
#ifndef HARNESS_SPEEDUP_H
#define HARNESS_SPEEDUP_H
#include <stddef.h>

enum { HX_SPEED_LATENCY, HX_SPEED_THROUGHPUT, HX_SPEED_COUNT };
enum { HX_SPEED_TEXT = 128 };

typedef struct hx_spread { double min, median, max; } hx_spread;

typedef struct hx_speed_point {
    int batch;
    hx_spread packed, fp32;   /* images/s over the repetitions */
    double speedup;           /* packed.median / fp32.median */
} hx_speed_point;

typedef struct hx_speedup {
    char run_id[HX_SPEED_TEXT], dataset[HX_SPEED_TEXT];
    char packed_model[HX_SPEED_TEXT], float_model[HX_SPEED_TEXT];   /* file names inside the run folder */
    char cpu[HX_SPEED_TEXT], isa[16];
    int threads, repetitions;
    char date[32], code_version[HX_SPEED_TEXT], git[HX_SPEED_TEXT];
    hx_speed_point point[HX_SPEED_COUNT];   /* [HX_SPEED_LATENCY] batch 1, [HX_SPEED_THROUGHPUT] batch 64 */
} hx_speedup;

/* The batch of each point, and its key in speedup.json ("latency", "throughput"). */
extern const int hx_speed_batch[HX_SPEED_COUNT];
extern const char *const hx_speed_key[HX_SPEED_COUNT];

/* "<run_dir>/speedup.json". */
void hx_speedup_path(const char *run_dir, char *out, size_t outlen);

/* Writes s to <run_dir>/speedup.json atomically. 0, or -1 with err naming the file. */
int hx_speedup_save(const char *run_dir, const hx_speedup *s, char *err, size_t errlen);

/* Reads <run_dir>/speedup.json when there is one: 1 = read into *s, 0 = no such file, -1 = a bad
 * file (err names it and the field: not JSON, a field missing or of the wrong type, a
 * non-positive figure, min > median > max, a speedup that is not the medians' ratio, or a run_id
 * other than run_id, the run's own, when run_id is not NULL). */
int hx_speedup_read(const char *run_dir, const char *run_id, hx_speedup *s, char *err, size_t errlen);

/* This machine's CPU model ("model name" of /proc/cpuinfo; "unknown CPU" when there is none). */
void hx_cpu_model(char *out, size_t outlen);

#endif
