/* Shared by the libFuzzer targets: the readers take file names, so each input is written to a
 * file of this process first. HX_FUZZ_RESEAL=1 seals HDF5 inputs again after mutation (see
 * base/h5io.h), to fuzz what lies behind the seal: HDF5's own parsing of files in the
 * checksummed format. */
#ifndef TESTS_FUZZ_INPUT_H
#define TESTS_FUZZ_INPUT_H
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "base/h5io.h"

static char fuzz_input_path[256];
static void fuzz_input_remove(void) { unlink(fuzz_input_path); }

static const char *fuzz_input_file(const uint8_t *data, size_t size, const char *seal_kind)
{
    char *path = fuzz_input_path;
    if (!path[0]) {
        const char *dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
        snprintf(path, sizeof fuzz_input_path, "%s/harness-fuzz-%ld.in", dir, (long)getpid());
        atexit(fuzz_input_remove);
    }
    uint8_t *copy = NULL;
    const char *reseal = getenv("HX_FUZZ_RESEAL");
    if (seal_kind && reseal && *reseal == '1' && size >= H5IO_USERBLOCK && (copy = malloc(size))) {
        memcpy(copy, data, size);
        h5io_seal(copy, size, seal_kind);
        data = copy;
    }
    FILE *f = fopen(path, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0) abort();
    free(copy);
    return path;
}

#endif
