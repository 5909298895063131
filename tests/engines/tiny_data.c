/* Writes the engines tests' dataset: DIR/tiny.h5, MNIST-shaped (1x28x28, 10 classes), 256
 * training and 128 test images of the synthetic kind the unit tests use. */
#include <stdio.h>
#include "support/synth_data.h"

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR  (writes DIR/tiny.h5)\n", argv[0]);
        return 2;
    }
    if (synth_dataset_save(argv[1], "tiny", 1, 28, 28, 10, 256, 128, 7) != 0) {
        fprintf(stderr, "%s: cannot write %s/tiny.h5\n", argv[0], argv[1]);
        return 1;
    }
    return 0;
}
