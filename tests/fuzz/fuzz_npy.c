/* libFuzzer harness for the .npy reader (oti_npy_parse); what parses is written back and must
 * parse again to the same dtype and shape. */
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "formats/npy.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    fuzz_init();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ot_tensor t = {0};
    if (oti_npy_parse(NULL, data, size, "fuzz.npy", &t) != OT_OK) return 0;
    unsigned char *out;
    size_t out_size;
    if (oti_npy_serialize(&t, &out, &out_size) == OT_OK) {
        ot_tensor again = {0};
        if (oti_npy_parse(NULL, out, out_size, "again.npy", &again) != OT_OK || !ot_tensor_same_shape(&t, &again) ||
            again.dtype != t.dtype ||
            memcmp(again.data, t.data, (size_t)ot_tensor_numel(&t) * ot_dtype_size(t.dtype)) != 0)
            abort();
        ot_tensor_free(&again);
        free(out);
    }
    ot_tensor_free(&t);
    return 0;
}
