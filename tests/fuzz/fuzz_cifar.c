/* libFuzzer target: the CIFAR-10 binary reader on arbitrary bytes. */
#include <stdint.h>
#include "datasets/dataset.h"
#include "fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_input_file(data, size, NULL);
    ds_split s = {0};
    char err[DS_ERR_MAX];
    ds_read_cifar_bin(path, &s, err, sizeof err);
    ds_split_free(&s);
    return 0;
}
