/* libFuzzer target: the IDX reader (plain and gzip-compressed) on arbitrary bytes. */
#include <stdint.h>
#include <stdlib.h>
#include "datasets/dataset.h"
#include "fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_input_file(data, size, NULL);
    uint8_t *out = NULL;
    uint32_t n = 0;
    int h = 0, w = 0;
    char err[DS_ERR_MAX];
    if (ds_read_idx_images(path, &out, &n, &h, &w, err, sizeof err) == 0) free(out);
    out = NULL;
    if (ds_read_idx_labels(path, &out, &n, err, sizeof err) == 0) free(out);
    return 0;
}
