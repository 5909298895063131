/* OpenMP's idle threads spin by default (libgomp: hundreds of thousands of iterations), which on
 * a small, shared machine starves the thread doing the work: measured, 61 % of a 2-thread
 * training run's CPU went to spinning. libgomp reads OMP_WAIT_POLICY once, when the process
 * starts, so executables re-exec themselves with it set to passive unless the user chose. */
#ifndef HARNESS_OMP_ENV_H
#define HARNESS_OMP_ENV_H

/* Call first thing in main. Returns only when the environment is already right (or exec failed). */
void hx_omp_passive(char **argv);

#endif
