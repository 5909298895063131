/* Where the harness keeps what it makes: results (runs, baselines) and prepared datasets. */
#ifndef HARNESS_ROOTS_H
#define HARNESS_ROOTS_H

/* $HARNESS_RESULTS (default "results") and $HARNESS_DATA_DIR (default "data"). */
const char *hx_results_root(void);
const char *hx_data_root(void);

#endif
