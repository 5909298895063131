/* Run folders are owned: one process writes a folder at a time, and a folder holds the files of
 * one run, never a mix of two.
 *
 * Taking a folder creates it (and its parents) or opens it, and takes an exclusive flock on
 * <folder>/.lock (pid inside) held until the folder is released; a second run of the same id is
 * refused while the first holds it. Then what the folder holds decides:
 *   nothing                         the run starts (with resume too: there is nothing to continue)
 *   a finished run                  refused (its result.json is what this config gives), or, with
 *                                   rerun, the folder is cleared and the run starts again
 *   an unfinished run (no result)   resume continues it; rerun clears it; otherwise refused
 *   a result.json of another run    refused as damaged; rerun clears it
 * In reuse mode (harness run --seeds, sweep, compare, reproduce) a finished run is reused, not
 * refused: the folder is left as it is and the caller reads its result.json. Continue mode (the
 * same commands with --resume) reuses a finished run too, resumes an unfinished one from its
 * checkpoint, and clears an unfinished one that has none yet (stopped in its first epoch), so
 * a suite stopped part-way is completed by calling it again. A reuse that finds
 * the lock held waits for it (saying so on stderr) instead of giving up, so of two processes
 * asked for the same run one trains it and the other then reuses it (continue mode waits too).
 * A finished run is one whose result.json names this run id and config hash, next to its
 * metrics.csv (model.h5 too, unless the folder is a committed record without its model).
 * result.json is written last, so a folder without it is unfinished. */
#ifndef HARNESS_RUN_DIR_H
#define HARNESS_RUN_DIR_H
#include <stddef.h>
#include "base/fileio.h"

typedef enum { RD_START = 0, RD_RESUME = 1, RD_RERUN = 2, RD_REUSE = 3, RD_CONTINUE = 4, RD_MODE_COUNT } rd_mode;

typedef struct hx_run_dir {
    char path[FIO_PATH_MAX];
    int lock_fd;      /* -1 when not held */
    int created;      /* this process created the folder */
    int clear;        /* --rerun: clear the folder in hx_run_dir_begin */
    int reuse;        /* reuse mode found the finished run: nothing to write, read its result.json */
    int resume;       /* an unfinished run to continue from its checkpoint (resume mode: always,
                       * so a missing checkpoint is reported; continue mode: where one exists) */
} hx_run_dir;

/* 0 = the folder is this run's to write (from hx_run_dir_begin on); -1 with the reason (and
 * what to do) in err. */
int hx_run_dir_take(hx_run_dir *, const char *dir, const char *run_id, const char *hash, rd_mode mode,
                    char *err, size_t errlen);
/* Takes the lock of an existing run folder to write beside its run (harness export): no run-id
 * checks, no waiting; -1 with the reason when dir is not a folder or a run is writing it. */
int hx_run_dir_open(hx_run_dir *, const char *dir, char *err, size_t errlen);
/* Called once set-up has succeeded, before the run writes its first file: clears the folder
 * when rerun asked for it (so a set-up that fails loses nothing). */
int hx_run_dir_begin(hx_run_dir *, char *err, size_t errlen);
/* Releases the lock. failed_setup: the run wrote nothing of its own, so a folder this process
 * created is removed again (no empty run folders from a bad dataset or config). */
void hx_run_dir_release(hx_run_dir *, int failed_setup);
/* 1 when dir holds the finished run run_id/hash (see above); otherwise 0 and why says what is
 * missing or different (may be NULL). final_acc (may be NULL) gets result.json's final_acc. */
int hx_run_dir_finished(const char *dir, const char *run_id, const char *hash, double *final_acc, char *why,
                        size_t whylen);

#endif
