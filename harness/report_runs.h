/* Finished runs read back for reports (harness table / plot): every <dir>/<run>/result.json,
 * grouped by (arch, dataset, method key, typical W and A bits) with mean ± std over seeds: a
 * bit-width sweep of one method is one row per bit-width.
 *
 * A row is meant to hold seeds of one config run by one code: each run's recipe hash (the config
 * hash without the seed) and code version are read, and a group that mixes several is flagged.
 *
 * The method key is the method name, plus ":<mode>" when the run's config.ini has a
 * [method] mode (xnor:bwn, xnor:xnor, deepshift:q, deepshift:ps); plain training is "none".
 * Reports read files only: they never link the trainer. */
#ifndef HARNESS_REPORT_RUNS_H
#define HARNESS_REPORT_RUNS_H
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include "harness/speedup.h"

enum { RR_NAME_MAX = 64, RR_KEY_MAX = 2 * RR_NAME_MAX + 2, RR_PATH_MAX = 4096, RR_MAX_SEEDS = 64 };

/* Per-layer bit-widths summarised over a model's weighted layers. */
typedef struct rr_bits {
    int typical;          /* the bit-width held by the most weights */
    double mean;          /* weight-count-weighted mean bit-width */
    int fp_first, fp_last;/* first / last layer stays 32-bit while most weights do not */
    int mixed;            /* some other layer differs from typical */
} rr_bits;

typedef struct rr_run {
    char dir[RR_PATH_MAX];
    char run_id[128];
    char method[RR_NAME_MAX], mode[RR_NAME_MAX], key[RR_KEY_MAX], title[RR_NAME_MAX];
    char arch[RR_NAME_MAX], dataset[RR_NAME_MAX];
    int seed, epochs, rounds;
    char recipe[24];      /* config hash without the seed ("" in records from before it) */
    char code_version[128];   /* which code ran it ("" in records from before it) */
    char pretrained_hash[24]; /* config hash of the baseline it started from ("" for none, and in
                                 records from before it was kept) */
    char data_id[96];     /* data_sources' crc32s joined by '+': which store of the dataset it
                             trained on ("" in records from before it was kept) */
    double final_acc, best_acc, images_per_s;
    /* bytes: what model.packed.h5 stores (footprint.packed_bytes) where the run was exported, else
     * bytes_bits; bytes_bits: the bit-width accounting (weights × bits + overheads, footprint.bytes);
     * compression: bytes_fp32 / bytes. */
    double bytes, bytes_bits, bytes_fp32, compression, macs_dense, macs_needed;
    int packed;           /* 1: bytes are the stored payload of model.packed.h5 */
    int agreed;           /* 1: result.json holds the packed model's agreement (runs since it was recorded) */
    double agree_differ, agree_images;   /* predictions differing from model.h5's, of the test images */
    rr_bits w, a;         /* weighted by each layer's weight count */
    int has_speed;        /* 1: the folder holds a speedup.json (read by rr_read_speed) */
    double speedup[HX_SPEED_COUNT];   /* its median ratios, packed / fp32: batch 1, batch 64 */
    char speed_where[2 * HX_SPEED_TEXT];   /* "<cpu> (<isa>), <n> thread(s)" */
} rr_run;

typedef struct rr_stat { double mean, std; int n; } rr_stat;   /* std: sample (n-1); 0 if n = 1 */

typedef struct rr_group {
    char key[RR_KEY_MAX], method[RR_NAME_MAX], title[RR_NAME_MAX];
    char label[RR_KEY_MAX + 24];   /* figures' name: "fp32", the key, or "key W2A2" where a model has the key at several bits */
    char arch[RR_NAME_MAX], dataset[RR_NAME_MAX];
    int is_baseline;      /* method "none" */
    int baseline;         /* index of the (arch, dataset, none) group, or -1 */
    int n_runs, *runs;    /* indices into rr_set.runs */
    rr_stat acc, bytes, bytes_bits, compression, macs_ratio;
    int n_packed;         /* runs whose bytes are stored bytes (< n_runs: some fell back to bytes_bits) */
    int n_agreed;         /* runs whose result.json holds the packed model's agreement */
    double agree_differ, agree_images;   /* summed over those runs */
    rr_bits w, a;         /* of the group's first run (typical bits are the same for all) */
    int epochs_min, epochs_max;  /* differ: the group mixes recipes (a note says so) */
    int n_recipes, n_code_versions, n_baselines;   /* distinct values over the runs ("" counts): > 1 is flagged */
    rr_stat speedup[HX_SPEED_COUNT], speed_acc;   /* over the runs with a speedup.json (n = their count) */
    int n_speed_wheres;   /* distinct speed_where over those runs: > 1 mixes machines or threads */
} rr_group;

typedef struct rr_set {
    rr_run *runs; int n_runs;
    rr_group *groups; int n_groups;   /* sorted by dataset, arch, baseline first, key, W bits, A bits */
    int n_unfinished;                 /* run folders without result.json */
    int n_skipped;                    /* bad result.json left out (skip_bad) */
    int n_speed_skipped;              /* bad speedup.json left out, its run kept (skip_bad) */
} rr_set;

/* Reads every run under dir (sorted by folder name) and groups them. A bad result.json is an
 * error naming the file and key, unless skip_bad: then a warning goes to warn (may be NULL). A
 * bad speedup.json likewise, except that under skip_bad only the speedup is left out, the run kept. */
int rr_load(const char *dir, int skip_bad, FILE *warn, rr_set *, char *err, size_t errlen);
/* The same for the given run folders only (in that order; harness reproduce: one suite's runs). */
int rr_load_dirs(const char *const *run_dirs, int n, int skip_bad, FILE *warn, rr_set *, char *err, size_t errlen);
/* Reads one result.json (and the mode from config.ini beside it). */
int rr_read_run(const char *run_dir, rr_run *, char *err, size_t errlen);
/* Adds the run's speedup.json, when its folder (run->dir) has one, to a run rr_read_run read:
 * 0 (has_speed says whether there was one), or -1 with err naming the file and field. */
int rr_read_speed(rr_run *, char *err, size_t errlen);
void rr_free(rr_set *);

rr_stat rr_stats(const double *v, int n);
/* "1", "1 (fp first/last)", "5 (mean 5.2)". */
void rr_bits_text(const rr_bits *, char *out, size_t outlen);
/* Default folders under $HARNESS_RESULTS (default "results"): "<root>/<leaf>". */
void rr_results_path(const char *leaf, char *out, size_t outlen);

/* A growable text buffer (reports are built in memory, then written atomically). */
typedef struct rr_buf { char *s; size_t len, cap; } rr_buf;
void rr_printf(rr_buf *, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
void rr_puts(rr_buf *, const char *s);
void rr_buf_free(rr_buf *);
/* "a (2 runs); b (1 run)": the distinct strings of v[0..n-1] in first-seen order, with their counts. */
void rr_count_list(const char *const *v, int n, rr_buf *b);

#endif
