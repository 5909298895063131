/* libFuzzer target: the config loader (strict INI reader, key tables, method options) on
 * arbitrary bytes; a config it accepts is also rendered and hashed. */
#include <stdint.h>
#include <stdlib.h>
#include "harness/config.h"
#include "fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_input_file(data, size, NULL);
    hx_config c;
    char err[CFG_ERR_MAX], hash[17];
    if (cfg_load(path, NULL, 0, &c, err, sizeof err) == 0) {
        free(cfg_resolved(&c));
        cfg_hash(&c, hash);
        cfg_free(&c);
    }
    return 0;
}
