/* Test helpers for sealed HDF5 files (base/h5io.h): tests that edit a saved file with the
 * HDF5 API, or damage its bytes on purpose, seal it again so the check under test is reached. */
#ifndef TESTS_SUPPORT_H5_FIXTURE_H
#define TESTS_SUPPORT_H5_FIXTURE_H
#ifdef __cplusplus
extern "C" {
#endif

/* Rewrites path's seal for its current bytes, as kind ("harness-dataset", "harness-checkpoint"). 0 = ok. */
int h5fx_reseal(const char *path, const char *kind);

/* Runs fn(arg) in a child process whose files may not grow beyond max_bytes (RLIMIT_FSIZE, so
 * writes fail with EFBIG as on a full disk). The child exits with fn's return value, through
 * exit() so HDF5's exit handlers run. Returns the child's exit status, or 128 + signal when it
 * was killed (a crash), or -1 when it could not be started. */
int h5fx_run_with_file_limit(long max_bytes, int (*fn)(void *), void *arg);

#ifdef __cplusplus
}
#endif
#endif
