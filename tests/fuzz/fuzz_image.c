/* libFuzzer target: the PNG and JPEG decoders (ds_decode_image) on arbitrary bytes in memory. */
#include <stdint.h>
#include "datasets/dataset.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ds_image im;
    char err[DS_ERR_MAX];
    if (ds_decode_image(data, size, &im, err, sizeof err) == 0) ds_image_free(&im);
    return 0;
}
