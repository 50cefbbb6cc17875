/* libFuzzer harness for the .caffemodel reader: the input is the weights of a fixed small
 * net (every layer kind whose blobs are checked: Convolution, BatchNorm + Scale, PReLU,
 * InnerProduct), read and checked against the layers' parameters; no memory limit, as reading
 * must allocate no more than the bytes hold. */
#include <string.h>

#include "fuzz_caffe_net.h"
#include "fuzz_common.h"
#include "onnxtrain/caffe_io.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    fuzz_init();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ot_model *m = NULL;
    if (ot_caffe_load_buffers(NULL, fuzz_caffemodel_net, strlen(fuzz_caffemodel_net),
                              "fuzz.prototxt", data, size, "fuzz.caffemodel", &m) == OT_OK)
        ot_model_free(m);
    return 0;
}
