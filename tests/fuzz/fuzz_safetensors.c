/* libFuzzer harness for the safetensors reader (oti_safetensors_parse and its JSON parser);
 * what parses is serialised again and must parse to the same tensors. */
#include <stdlib.h>
#include <string.h>

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
    if (oti_safetensors_parse(NULL, data, size, "fuzz.safetensors", &w) == OT_OK) {
        unsigned char *out;
        size_t out_size;
        if (oti_safetensors_serialize(&w, &out, &out_size) == OT_OK) {
            ot_weights again = {0};
            if (oti_safetensors_parse(NULL, out, out_size, "again.safetensors", &again) != OT_OK ||
                again.count != w.count)
                abort();
            for (int i = 0; i < w.count; i++) {
                int j = ot_weights_find(&again, w.items[i].name);
                if (j < 0 || !ot_tensor_same_shape(&w.items[i].tensor, &again.items[j].tensor)) abort();
            }
            ot_weights_free(&again);
            free(out);
        }
    }
    ot_weights_free(&w);
    return 0;
}
