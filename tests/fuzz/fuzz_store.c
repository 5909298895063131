/* libFuzzer target: the HDF5 dataset store loader on arbitrary bytes. */
#include <stdint.h>
#include "datasets/dataset.h"
#include "fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_input_file(data, size, "harness-dataset");
    ds_dataset ds;
    char err[DS_ERR_MAX];
    if (ds_load_h5(path, &ds, err, sizeof err) == 0) ds_free(&ds);
    return 0;
}
