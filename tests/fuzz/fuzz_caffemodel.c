/* libFuzzer harness for the .caffemodel reader: the input is the weights of a fixed small
 * net (every layer kind whose blobs are checked: Convolution, BatchNorm + Scale, PReLU,
 * InnerProduct), read and checked against the layers' parameters; no memory limit, as reading
 * must allocate no more than the bytes hold. */
#include <string.h>

#include "fuzz_common.h"
#include "onnxtrain/caffe_io.h"

static const char fuzz_caffemodel_net[] =
    "name: \"fuzz\" input: \"data\" input_shape { dim: 1 dim: 2 dim: 5 dim: 5 }\n"
    "layer { name: \"conv\" type: \"Convolution\" bottom: \"data\" top: \"conv\"\n"
    "  convolution_param { num_output: 2 kernel_size: 3 } }\n"
    "layer { name: \"bn\" type: \"BatchNorm\" bottom: \"conv\" top: \"conv\" }\n"
    "layer { name: \"scale\" type: \"Scale\" bottom: \"conv\" top: \"conv\" scale_param { bias_term: true } }\n"
    "layer { name: \"prelu\" type: \"PReLU\" bottom: \"conv\" top: \"conv\" }\n"
    "layer { name: \"ip\" type: \"InnerProduct\" bottom: \"conv\" top: \"ip\" inner_product_param { num_output: 3 } }\n";

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    fuzz_init();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ot_model *m = NULL;
    if (ot_caffe_load_buffers(NULL, fuzz_caffemodel_net, strlen(fuzz_caffemodel_net), "fuzz.prototxt", data, size,
                              "fuzz.caffemodel", &m) == OT_OK)
        ot_model_free(m);
    return 0;
}
