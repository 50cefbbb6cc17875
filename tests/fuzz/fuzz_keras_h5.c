/* libFuzzer harness for Keras 2 HDF5 weights: libhdf5 reads files only, so the input is
 * written to a temporary file and loaded with oti_keras_h5_load. */
#include "fuzz_common.h"
#include "onnxtrain/weights.h"
#include "weights/weights_internal.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    fuzz_init();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_write(0, "weights.h5", data, size);
    ot_weights w = {0};
    oti_keras_h5_load(NULL, path, &w);
    ot_weights_free(&w);
    return 0;
}
