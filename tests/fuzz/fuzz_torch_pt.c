/* libFuzzer harness for PyTorch torch.save archives (oti_torch_pt_parse: zip reader,
 * restricted unpickler, storage views). */
#include "fuzz_common.h"
#include "onnxtrain/weights.h"
#include "weights/weights_internal.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    fuzz_init();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ot_weights w = {0};
    oti_torch_pt_parse(NULL, data, size, "fuzz.pt", &w);
    ot_weights_free(&w);
    return 0;
}
