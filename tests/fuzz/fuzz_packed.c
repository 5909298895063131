/* libFuzzer target: the packed model reader (model.packed.h5) on arbitrary bytes, with and without
 * an expected input shape; what loads is run once on one sample, through the packed kernels. */
#include <stdint.h>
#include <stdlib.h>
#include "harness/packed_file.h"
#include "fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_input_file(data, size, "harness-packed");
    char err[1024];
    rt_model rt;
    if (hx_packed_load(path, NULL, 1, &rt, err, sizeof err) == 0) {
        size_t n = nn_dims_size(rt.m->in_dims), act = 0;
        for (int i = 0; i < rt.m->n_nodes; i++) act += nn_dims_size(rt.m->nodes[i].out_dims);
        float *x = calloc(n, sizeof *x);
        for (size_t i = 0; x && i < n; i++) x[i] = (float)(i % 7) - 3.0f;
        if (x && n <= 4096 && act <= (1u << 22)) nn_forward(rt.m, x, 1, 0);
        free(x);
        rt_free(&rt);
    }
    ckpt_expect want = {{1, 4, 4}, 2};
    if (hx_packed_load(path, &want, 1, &rt, err, sizeof err) == 0) rt_free(&rt);
    return 0;
}
