/* libFuzzer target: the checkpoint loader on arbitrary bytes, with and without optimizer state
 * and with an expected input shape. */
#include <stdint.h>
#include "harness/checkpoint.h"
#include "nn/optim.h"
#include "fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_input_file(data, size, "harness-checkpoint");
    char err[1024];
    ckpt_meta meta = {0};
    nn_model *m = ckpt_load(path, NULL, &meta, err, sizeof err);
    nn_model_free(m);
    ckpt_meta_free(&meta);
    nn_optim opt = {0};
    ckpt_expect want = {{1, 1, 1}, 2};
    m = ckpt_load_expect(path, &want, &opt, NULL, err, sizeof err);
    nn_model_free(m);
    nn_optim_free(&opt);
    return 0;
}
