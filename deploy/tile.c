#include "deploy/tile.h"
#include "deploy/simd.h"

int dp_run_tiles(int count, int step, size_t scratch_bytes, const void *args, dp_tile_fn fn,
                 int threads)
{
    if (count <= 0) return 0;
    const int tiles = (count + step - 1) / step;
    if (threads > tiles) threads = tiles;
    if (threads <= 1) {
        void *s = scratch_bytes ? dp_alloc(scratch_bytes) : NULL;
        if (scratch_bytes && !s) return -1;
        for (int t = 0; t < tiles; t++) {
            int start = t * step, len = count - start < step ? count - start : step;
            fn(args, start, len, s);
        }
        free(s);
        return 0;
    }
    int failed = 0;
#pragma omp parallel num_threads(threads) reduction(| : failed)
    {
        void *s = scratch_bytes ? dp_alloc(scratch_bytes) : NULL;
        int ok = !scratch_bytes || s;
        failed |= !ok;
#pragma omp for schedule(static)
        for (int t = 0; t < tiles; t++) {
            int start = t * step, len = count - start < step ? count - start : step;
            if (ok) fn(args, start, len, s);
        }
        free(s);
    }
    return failed ? -1 : 0;
}
