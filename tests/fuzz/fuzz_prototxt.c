/* libFuzzer harness for the Caffe network reader: the input is a .prototxt, parsed as
 * protobuf text and converted layer by layer without weights (every layer with weights is
 * then an error, after its parameters were read), under FUZZ_MEMORY_LIMIT (shape inference
 * plans the net built so far). */
#include "fuzz_common.h"
#include "onnxtrain/caffe_io.h"
#include "onnxtrain/context.h"

#include <pthread.h>
#include <stdlib.h>

static ot_context *prototxt_context;

static void make_prototxt_context(void) {
    ot_context_options options = {.threads = 1, .memory_limit = FUZZ_MEMORY_LIMIT};
    if (ot_context_create(&options, &prototxt_context) != OT_OK) abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    fuzz_init();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, make_prototxt_context);
    ot_model *m = NULL;
    if (ot_caffe_load_buffers(prototxt_context, (const char *)data, size, "fuzz.prototxt", NULL, 0,
                              NULL, &m) == OT_OK)
        ot_model_free(m);
    return 0;
}
