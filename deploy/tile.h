/* Internal to deploy/: splitting a kernel call into tiles over threads. */
#ifndef DP_TILE_H
#define DP_TILE_H
#include <stddef.h>

/* Work on items [start, start + len) with a scratch buffer of the requested size (64-byte
 * aligned, private to the calling thread, uninitialized). */
typedef void (*dp_tile_fn)(const void *args, int start, int len, void *scratch);

/* Cuts [0, count) into tiles of `step` items (the last may be shorter) and runs them on up to
 * `threads` OpenMP threads, statically: each tile's result never depends on which thread ran
 * it, so outputs are identical for every thread count. Returns -1 if scratch allocation fails. */
int dp_run_tiles(int count, int step, size_t scratch_bytes, const void *args, dp_tile_fn fn,
                 int threads);

#endif
