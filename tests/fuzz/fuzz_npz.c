/* libFuzzer harness for the .npz reader (ot_npz_parse, and the zip reader under it); archives
 * that parse are also loaded as an npz: dataset (x/y arrays, labels, per-class filter). */
#include <stdlib.h>
#include <stdio.h>

#include "fuzz_common.h"
#include "onnxtrain/dataset.h"
#include "onnxtrain/weights.h"
#include "weights/weights_internal.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    fuzz_init();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ot_weights w = {0};
    ot_status status = oti_weights_parse_npz(NULL, data, size, "fuzz.npz", &w);
    int has_xy = status == OT_OK && ot_weights_find(&w, "x") >= 0 && ot_weights_find(&w, "y") >= 0;
    ot_weights_free(&w);
    if (!has_xy) return 0;
    const char *path = fuzz_write(0, "data.npz", data, size);
    char spec[800];
    snprintf(spec, sizeof spec, "npz:%s", path);
    ot_data_options options = {.per_class = 2};
    ot_dataset *d = NULL;
    if (ot_dataset_load(spec, &options, &d) == OT_OK) {
        ot_dataset *val = NULL;
        if (d->n >= 2 && ot_dataset_split(d, 0.5, NULL, &val) == OT_OK) ot_dataset_free(val);
        ot_dataset_free(d);
    }
    return 0;
}
